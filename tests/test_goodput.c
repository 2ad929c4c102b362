/* Tests of goodput (src/train): a run with nothing failing, by hand; the
 * wall time split whole into work kept, work lost, stops, checkpoints and
 * stragglers; interruptions as many as their rate says over a window; the
 * mean ETTR against first-order arithmetic; the stop of a part with and
 * without a hot spare; Young's and Daly's intervals by hand; the same
 * failures for the same seed; bad configurations and a run that cannot
 * end; a published breakdown of interruptions grouped against the
 * failure rates, by hand, and its bad files. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_assert.h"
#include "test_tmp.h"
#include "train/fdb.h"
#include "train/fpub.h"
#include "train/goodput.h"

static goodput_cfg base(void)
{
    return (goodput_cfg){.work_s = 10000,
                         .kinds = {{.name = "gpu", .rate_per_s = 0, .needs_spare = 1}},
                         .nkinds = 1,
                         .ckpt_every_s = 1000,
                         .ckpt_write_s = 10,
                         .seed = 7};
}

static void test_nothing_fails(void)
{
    goodput_cfg c = base();
    goodput_run r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 0, &r, &err), MS_OK);
    /* Checkpoints at 1,000 ... 9,000 s of work; at 10,000 the work is done. */
    MS_ASSERT_INT_EQ(r.checkpoints, 9);
    MS_ASSERT_NEAR(r.wall_s, 10000 + 9 * 10, 1e-9);
    MS_ASSERT_NEAR(r.ettr, 10000.0 / 10090, 1e-9);
    MS_ASSERT_INT_EQ(r.interruptions, 0);
    CU_ASSERT(r.done);
    /* Asynchronous: the job pauses 1 s for each snapshot. */
    c.ckpt_async = 1, c.ckpt_snapshot_s = 1;
    CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 0, &r, &err), MS_OK);
    MS_ASSERT_NEAR(r.wall_s, 10000 + 9 * 1, 1e-9);
}

/* Every second of wall time is one of: work kept, work lost, stopped,
 * paused for a checkpoint, lost to a straggler. */
static void test_wall_splits_whole(void)
{
    goodput_cfg c = base();
    c.work_s = 5e6, c.ckpt_every_s = 2000, c.ckpt_write_s = 30;
    c.kinds[0].rate_per_s = 1 / 20000.0;
    c.kinds[1] = (goodput_kind){.name = "software", .rate_per_s = 1 / 50000.0};
    c.nkinds = 2;
    c.detect_s = 60, c.restart_s = 600, c.restore_s = 120, c.repair_s = 7200, c.swap_s = 300;
    c.spares = 2;
    c.straggler_rate_per_s = 1 / 40000.0, c.straggler_slowdown = 0.5, c.straggler_s = 1800;
    for (int async = 0; async < 2; async++) {
        c.ckpt_async = async, c.ckpt_snapshot_s = 5;
        goodput_run r;
        ms_err err = {0};
        CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 3, &r, &err), MS_OK);
        CU_ASSERT(r.done && r.interruptions > 100 && r.lost_s > 0 && r.slow_s > 0);
        MS_ASSERT_NEAR(r.work_kept_s, c.work_s, 1e-12);
        MS_ASSERT_NEAR(r.work_kept_s + r.lost_s + r.down_s + r.ckpt_s + r.slow_s, r.wall_s, 1e-9);
        MS_ASSERT_INT_EQ(r.by_kind[0] + r.by_kind[1], r.interruptions);
    }
}

/* Over a window, interruptions come at the sum of the rates: 100 days at
 * one an hour is 2,400, and a fifth of them software. */
static void test_rate_over_window(void)
{
    goodput_cfg c = base();
    c.work_s = 1e9, c.window_s = 100 * 86400.0;
    c.kinds[0].rate_per_s = 0.8 / 3600;
    c.kinds[1] = (goodput_kind){.name = "software", .rate_per_s = 0.2 / 3600};
    c.nkinds = 2;
    c.restart_s = 600;
    double n = 0, sw = 0;
    const int runs = 20;
    for (int k = 0; k < runs; k++) {
        goodput_run r;
        ms_err err = {0};
        CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, (uint64_t)k, &r, &err), MS_OK);
        MS_ASSERT_NEAR(r.wall_s, c.window_s, 1e-12);
        CU_ASSERT(!r.done);
        n += (double)r.interruptions / runs;
        sw += (double)r.by_kind[1] / runs;
    }
    /* sd of the mean: sqrt(2400 / 20) = 11 */
    MS_ASSERT_WITHIN(n, 2400, 50);
    MS_ASSERT_WITHIN(sw / n, 0.2, 0.02);
}

/* Rare failures: ETTR = 1 / (1 + delta/tau) less, per interruption, half
 * an interval lost and the stop, each over the mean time between them:
 * (1 - (tau/2 + stop) / M) / (1 + delta / tau). */
static void test_ettr_first_order(void)
{
    goodput_cfg c = base();
    c.work_s = 2e7, c.ckpt_every_s = 3000, c.ckpt_write_s = 60;
    c.kinds[0].rate_per_s = 1e-5, c.kinds[0].needs_spare = 0;
    c.detect_s = 100, c.restart_s = 400, c.restore_s = 100;
    double mean = 0;
    const int runs = 10;
    for (int k = 0; k < runs; k++) {
        goodput_run r;
        ms_err err = {0};
        CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, (uint64_t)k, &r, &err), MS_OK);
        mean += r.ettr / runs;
    }
    double expect = (1 - (1500 + 600) / 1e5) / (1 + 60 / 3000.0);
    MS_ASSERT_WITHIN(mean, expect, 0.003);
}

/* A part to replace: a hot spare is swapped in, else the job waits for
 * the repair. Failures rare beside the stop, so stops do not overlap. */
static void test_spares(void)
{
    goodput_cfg c = base();
    c.work_s = 1e8, c.window_s = 1e8;
    c.kinds[0].rate_per_s = 1e-6;
    c.detect_s = 10, c.restart_s = 100, c.restore_s = 50, c.repair_s = 3000, c.swap_s = 200;
    for (int spares = 0; spares < 2; spares++) {
        c.spares = spares;
        goodput_run r;
        ms_err err = {0};
        CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 1, &r, &err), MS_OK);
        CU_ASSERT_FATAL(r.interruptions > 50);
        double per = r.down_s / (double)r.interruptions;
        MS_ASSERT_NEAR(per, 10 + (spares ? 200 : 3000) + 100 + 50, 0.02);
    }
    /* A failure that hangs the job waits for the hang's timeout instead. */
    c.kinds[0].hangs = 1, c.hang_detect_s = 500, c.spares = 1;
    goodput_run r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 1, &r, &err), MS_OK);
    MS_ASSERT_NEAR(r.down_s / (double)r.interruptions, 500 + 200 + 100 + 50, 0.02);
}

static void test_young_daly(void)
{
    /* a 60 s checkpoint, an interruption an hour */
    MS_ASSERT_NEAR(goodput_young_s(60, 3600), sqrt(432000.0), 1e-12);
    double r = 60 / 7200.0;
    MS_ASSERT_NEAR(goodput_daly_s(60, 3600), sqrt(432000.0) * (1 + sqrt(r) / 3 + r / 9) - 60,
                   1e-12);
    MS_ASSERT_NEAR(goodput_daly_s(60, 3600), 617.88, 1e-4);
    MS_ASSERT_EXACT(goodput_daly_s(8000, 3600), 3600); /* delta >= 2M: M */
    goodput_cfg c = base();
    c.kinds[0].rate_per_s = 1 / 7200.0;
    c.kinds[1] = (goodput_kind){.name = "b", .rate_per_s = 1 / 7200.0};
    c.nkinds = 2;
    MS_ASSERT_NEAR(goodput_mtbi_s(&c), 3600, 1e-12);
}

/* The same seed and run number, the same failures; another run number,
 * others. */
static void test_seeded(void)
{
    goodput_cfg c = base();
    c.work_s = 1e6;
    c.kinds[0].rate_per_s = 1e-4;
    c.restart_s = 300;
    goodput_run a, b, d;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 5, &a, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 5, &b, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(goodput_run_one(&c, 6, &d, &err), MS_OK);
    CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
    CU_ASSERT(a.wall_s != d.wall_s);
}

static void test_bad(void)
{
    static const struct {
        const char *field;
        double value;
        const char *says;
    } bad[] = {
        {"rate", -1e-5, "rate_per_s: expected a finite number >= 0"},
        {"rate", NAN, "rate_per_s: expected a finite number >= 0"},
        {"work", 0, "work_s: expected a finite number > 0"},
        {"every", 5, "no longer than the 10 s it pauses the job"},
        {"restart", -3, "restart_s: expected a finite number >= 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        goodput_cfg c = base();
        if (strcmp(bad[i].field, "rate") == 0)
            c.kinds[0].rate_per_s = bad[i].value;
        else if (strcmp(bad[i].field, "work") == 0)
            c.work_s = bad[i].value;
        else if (strcmp(bad[i].field, "every") == 0)
            c.ckpt_every_s = bad[i].value;
        else
            c.restart_s = bad[i].value;
        goodput_run r;
        ms_err err = {0};
        CU_ASSERT_EQUAL(goodput_run_one(&c, 0, &r, &err), MS_EINVAL);
        MS_ASSERT_STR_HAS(err.msg, bad[i].says);
    }
    /* An interruption every 100 s, a checkpoint every 1,000 s of work:
     * no checkpoint is ever reached. */
    goodput_cfg c = base();
    c.kinds[0].rate_per_s = 1e-2;
    c.work_s = 5000;
    goodput_run r;
    ms_err err = {0};
    CU_ASSERT_EQUAL(goodput_run_one(&c, 0, &r, &err), MS_EINVAL);
    MS_ASSERT_STR_HAS(err.msg, "the run does not end");
}

static const char rates_csv[] =
    "component,per,failures_per_1000_per_day,needs_spare,surfaces,measured_on,estimated,source\n"
    "gpu,gpu,0.5,yes,error,a,,s\n"
    "link,link,0.02,no,error,b,,s\n"
    "switch,switch,0.02,yes,error,c,,s\n"
    "host,node,0.1,yes,error,d,,s\n";

/* Rows naming the same components form one group (case and spaces
 * aside), in the order the file first names them; a component no row
 * names stands alone with no published figure; blank rows are the
 * not-modelled group, last. Sums by hand. */
static void test_published_groups(void)
{
    char rates[] = "/tmp/megasim_test_fdbXXXXXX", pubp[] = "/tmp/megasim_test_fpubXXXXXX";
    test_write_tmp(rates, rates_csv);
    test_write_tmp(pubp, "category,interruptions,components,source\n"
                         "faulty GPU,148,gpu,t\n"
                         "switch/cable,35,link+switch,t\n"
                         "software,54,,t\n"
                         "HBM,72,GPU,t\n"
                         "NIC,7, switch + link ,t\n"
                         "CPU,2,,t\n");
    fdb *db = NULL;
    fpub *pub = NULL;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(fdb_load(rates, &db, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(fpub_load(pubp, &pub, &err), MS_OK);
    double predicted[] = {400, 10, 2, 30};
    fpub_group g[8];
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(fpub_compare(pub, db, predicted, g, 8, &n, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(g[0].components, "gpu");
    MS_ASSERT_WITHIN(g[0].published, 220, 0);
    MS_ASSERT_WITHIN(g[0].predicted, 400, 0);
    CU_ASSERT_STRING_EQUAL(g[0].categories, "faulty GPU 148, HBM 72");
    CU_ASSERT_STRING_EQUAL(g[1].components, "link + switch");
    MS_ASSERT_WITHIN(g[1].published, 42, 0);
    MS_ASSERT_WITHIN(g[1].predicted, 12, 0);
    CU_ASSERT_STRING_EQUAL(g[2].components, "host");
    CU_ASSERT(isnan(g[2].published) && g[2].modelled);
    MS_ASSERT_WITHIN(g[2].predicted, 30, 0);
    CU_ASSERT_STRING_EQUAL(g[3].components, "not modelled");
    CU_ASSERT(!g[3].modelled && isnan(g[3].predicted));
    MS_ASSERT_WITHIN(g[3].published, 56, 0);
    CU_ASSERT_STRING_EQUAL(g[3].categories, "software 54, CPU 2");
    MS_ASSERT_WITHIN(fpub_total(pub), 318, 0);
    /* too few slots: an error, not a short table */
    CU_ASSERT_EQUAL(fpub_compare(pub, db, predicted, g, 3, &n, &err), MS_EINVAL);
    fpub_free(pub);
    fdb_free(db);
    remove(rates);
    remove(pubp);
}

/* Each bad file: one message naming the file's line and column. */
static void test_published_bad(void)
{
    static const struct {
        const char *text, *want;
        int at_compare; /* found when grouped against the rates, not on loading */
    } bad[] = {
        {"category,interruptions,source\nx,1,t\n", "missing column 'components'", 0},
        {"category,interruptions,components,source,extra\nx,1,gpu,t,1\n", "unknown column 'extra'",
         0},
        {"category,interruptions,components,source\n", "no rows", 0},
        {"category,interruptions,components,source\nx,-1,gpu,t\n", ":2: column 'interruptions'", 0},
        {"category,interruptions,components,source\nx,lots,gpu,t\n", ":2: column 'interruptions'",
         0},
        {"category,interruptions,components,source\n,1,gpu,t\n", ":2: column 'category'", 0},
        {"category,interruptions,components,source\nx,1,gpu,\n", ":2: column 'source'", 0},
        {"category,interruptions,components,source\nx,1,gpu,t\ny,1,tpu,t\n",
         ":3: column 'components' of 'y': 'tpu' is not a component", 1},
        {"category,interruptions,components,source\nx,1,gpu+,t\n", ":2: column 'components'", 1},
        {"category,interruptions,components,source\nx,1,link,t\ny,2,link+switch,t\n",
         ":3: column 'components' of 'y': 'link' is already compared in another group (line 2)", 1},
    };
    char rates[] = "/tmp/megasim_test_fdbXXXXXX";
    test_write_tmp(rates, rates_csv);
    fdb *db = NULL;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(fdb_load(rates, &db, &err), MS_OK);
    double predicted[4] = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char pubp[] = "/tmp/megasim_test_fpubXXXXXX";
        test_write_tmp(pubp, bad[i].text);
        fpub *pub = NULL;
        fpub_group g[8];
        size_t n;
        err = (ms_err){0};
        int rc = fpub_load(pubp, &pub, &err);
        if (bad[i].at_compare) {
            CU_ASSERT_EQUAL(rc, MS_OK);
            if (!rc)
                rc = fpub_compare(pub, db, predicted, g, 8, &n, &err);
        }
        CU_ASSERT_NOT_EQUAL(rc, MS_OK);
        if (!strstr(err.msg, bad[i].want) || !strstr(err.msg, pubp))
            printf("\n    case %zu: got '%s'\n", i, err.msg);
        CU_ASSERT(strstr(err.msg, bad[i].want) != NULL && strstr(err.msg, pubp) != NULL);
        fpub_free(pub);
        remove(pubp);
    }
    fdb_free(db);
    remove(rates);
}

static CU_TestInfo tests[] = {
    {"nothing fails: checkpoints alone, by hand", test_nothing_fails},
    {"the wall time splits whole", test_wall_splits_whole},
    {"interruptions at their rate over a window", test_rate_over_window},
    {"mean ETTR against first-order arithmetic", test_ettr_first_order},
    {"a part replaced: hot spare or repair", test_spares},
    {"Young's and Daly's intervals", test_young_daly},
    {"the same seed, the same failures", test_seeded},
    {"bad configurations and a run that cannot end", test_bad},
    {"a published breakdown grouped against the rates", test_published_groups},
    {"bad published breakdowns", test_published_bad},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "goodput", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_goodput");
}
