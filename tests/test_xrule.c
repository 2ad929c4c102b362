/* Tests of export rules (src/policy/xrule): TPP and performance density
 * of the shipped chips against hand arithmetic, the verdicts the public
 * story needs (H800 passes October 2022 and is caught by October 2023,
 * H20 passes October 2023, H100 is caught by both), metrics left open by
 * blank figures, and bad rule files rejected with file, line and column. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/xrule.h"
#include "test_assert.h"

static chip_db *db;
static xrule_set *rules;

static int setup(void)
{
    ms_err err = {0};
    return chip_db_load("hwdb/chips.csv", &db, &err) != MS_OK ||
           xrule_load("hwdb/export_rules.csv", &rules, &err) != MS_OK;
}

static int teardown(void)
{
    chip_db_free(db);
    xrule_free(rules);
    return 0;
}

static const chip *chip_named(const char *name)
{
    const chip *c = chip_db_find(db, name);
    CU_ASSERT_FATAL(c != NULL);
    return c;
}

static const xrule_rule *rule_named(const char *name)
{
    const xrule_rule *r = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(xrule_find(rules, name, &r, &err) == MS_OK);
    return r;
}

static void test_tpp_and_density(void)
{
    ms_prec at;
    /* H100: 1,978.9 dense FP8 TFLOPS x 8 bits = 15,831.2 (= 989.4 x 16 +
     * a rounding); density over 814 mm2 = 19.449. */
    const chip *h100 = chip_named("H100"), *h20 = chip_named("H20"), *a100 = chip_named("A100");
    MS_ASSERT_NEAR(xrule_tpp(h100, &at), 15831.2, 1e-9);
    CU_ASSERT(at == MS_FP8);
    xrule_range pd = xrule_metric_of(h100, XRULE_PD);
    CU_ASSERT(pd.lo == pd.hi);
    MS_ASSERT_NEAR(pd.lo, 15831.2 / 814, 1e-9);
    /* H20: 296 x 8 = 2,368, density 2.909; A100: 624 INT8 TOPS x 8 = 4,992. */
    MS_ASSERT_NEAR(xrule_tpp(h20, &at), 2368, 1e-9);
    MS_ASSERT_NEAR(xrule_metric_of(h20, XRULE_PD).lo, 2368.0 / 814, 1e-9);
    MS_ASSERT_NEAR(xrule_tpp(a100, &at), 4992, 1e-9);
    /* I/O: NVLink both ways plus PCIe both ways: H800 400 + 128 = 528. */
    xrule_range io = xrule_metric_of(chip_named("H800"), XRULE_IO);
    CU_ASSERT(io.lo == io.hi);
    MS_ASSERT_NEAR(io.lo, 528, 1e-9);
    MS_ASSERT_NEAR(xrule_metric_of(h100, XRULE_IO).lo, 1028, 1e-9);
    /* H20: no host figure: at least its 900 GB/s of NVLink, no upper bound. */
    io = xrule_metric_of(h20, XRULE_IO);
    MS_ASSERT_NEAR(io.lo, 900, 1e-9);
    CU_ASSERT(isinf(io.hi));
    /* B200: no die area, so no density. */
    pd = xrule_metric_of(chip_named("B200"), XRULE_PD);
    CU_ASSERT(pd.lo == 0 && isinf(pd.hi));
}

typedef struct expect {
    const char *chip, *rule;
    xrule_tri controlled;
    const char *clause; /* NULL: none */
} expect;

static void test_story_verdicts(void)
{
    static const expect cases[] = {
        {"H100", "oct2022", XRULE_TRUE, "3A090.a"},
        {"H800", "oct2022", XRULE_FALSE, NULL},
        {"H20", "oct2022", XRULE_FALSE, NULL},
        {"A100", "oct2022", XRULE_TRUE, "3A090.a"},
        {"H100", "oct2023", XRULE_TRUE, "3A090.a.1"},
        {"H800", "oct2023", XRULE_TRUE, "3A090.a.1"},
        {"H20", "oct2023", XRULE_FALSE, NULL},
        {"A100", "oct2023", XRULE_TRUE, "3A090.a.1"},
        {"H20", "dec2024-hbm", XRULE_FALSE, NULL},
        {"H200", "dec2024-hbm", XRULE_TRUE, "3A090.a.1"},
        /* TPU v4: TPP 4,400 and no die area: the density clauses stay open. */
        {"TPUv4", "oct2023", XRULE_UNDECIDED, NULL},
        /* January 2026: case by case below TPP 21,000 and 6,500 GB/s. */
        {"H200", "jan2026-china", XRULE_FALSE, NULL},
        {"B200", "jan2026-china", XRULE_TRUE, "denial.tpp"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const expect *e = &cases[i];
        xrule_verdict v = xrule_check(rule_named(e->rule), chip_named(e->chip));
        int ok = v.controlled == e->controlled &&
                 (e->clause ? v.clause && strcmp(v.clause->name, e->clause) == 0 : !v.clause);
        if (!ok)
            printf("\n    %s under %s: %d (%s)\n", e->chip, e->rule, v.controlled, v.why);
        CU_ASSERT(ok);
    }
    /* The numbers are in the words. */
    xrule_verdict v = xrule_check(rule_named("oct2022"), chip_named("H800"));
    MS_ASSERT_STR_HAS(v.why, "io_GBps 528 < 600");
    v = xrule_check(rule_named("oct2023"), chip_named("H20"));
    MS_ASSERT_STR_HAS(v.why, "3A090.b.1: tpp 2368 < 2400");
    MS_ASSERT_STR_HAS(v.why, "3A090.b.2: performance_density 2.9");
    /* TPU v4 without a die area: density 1.6 at 4400 / 1.6 = 2750 mm2. */
    v = xrule_check(rule_named("oct2023"), chip_named("TPUv4"));
    MS_ASSERT_STR_HAS(v.why, "controlled for an applicable die area up to 2750 mm2");
    v = xrule_check(rule_named("dec2024-hbm"), chip_named("H20"));
    MS_ASSERT_STR_HAS(v.why, "3A090.c: controls HBM on its own");
}

/* A condition on a range: true for every value, false for none, else open. */
static void test_ranges(void)
{
    chip c = *chip_named("H100");
    c.host_io_bw_Bps = NAN; /* I/O at least 900 */
    xrule_cond io600 = {XRULE_IO, 'G', 600}, io1000 = {XRULE_IO, 'G', 1000};
    xrule_cond io_below = {XRULE_IO, 'l', 800};
    CU_ASSERT(xrule_cond_eval(&io600, &c) == XRULE_TRUE);
    CU_ASSERT(xrule_cond_eval(&io1000, &c) == XRULE_UNDECIDED);
    CU_ASSERT(xrule_cond_eval(&io_below, &c) == XRULE_FALSE);
    c.die_area_mm2 = NAN;
    xrule_cond pd = {XRULE_PD, 'G', 5.92};
    CU_ASSERT(xrule_cond_eval(&pd, &c) == XRULE_UNDECIDED);
    /* Strict and non-strict at the threshold itself. */
    c = *chip_named("H800");
    xrule_cond ge = {XRULE_IO, 'G', 528}, gt = {XRULE_IO, 'g', 528};
    CU_ASSERT(xrule_cond_eval(&ge, &c) == XRULE_TRUE && xrule_cond_eval(&gt, &c) == XRULE_FALSE);
}

static const char *temp_csv(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/megasim_test_xrule_XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

#define HEAD "rule,clause,item,metric,op,threshold,citation\n"

static void test_bad_files(void)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {HEAD "r,c,ic,flops_density,>=,1,x\n",
         ":2: column 'metric': expected one of tpp, performance_density"},
        {HEAD "r,c,ic,tpp,=>,1,x\n", ":2: column 'op': expected >=, >, < or <="},
        {HEAD "r,c,ic,tpp,>=,-4800,x\n", ":2: column 'threshold': expected a number >= 0"},
        {HEAD "r,c,ic,tpp,>=,lots,x\n", ":2: column 'threshold'"},
        {HEAD "r,c,chip,tpp,>=,1,x\n", ":2: column 'item': expected ic"},
        {HEAD "r,c,ic,tpp,>=,1,\n", ":2: column 'citation': required, but blank"},
        {HEAD "r,,ic,tpp,>=,1,x\n", ":2: column 'clause': required, but blank"},
        {HEAD "r,c,ic,tpp,>=,1,x\nr,c,hbm,tpp,>=,1,x\n", ":3: column 'item': clause c of rule r"},
        {"rule,clause,item,metric,op,citation\nr,c,ic,tpp,>=,x\n",
         ":1: missing column 'threshold'"},
        {HEAD, "no rules"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = temp_csv(cases[i].text);
        xrule_set *s = NULL;
        ms_err err = {0};
        int rc = xrule_load(path, &s, &err);
        int ok = rc != MS_OK && !s && strstr(err.msg, cases[i].expect) && strstr(err.msg, path);
        if (!ok)
            printf("\n    case %zu: rc %d \"%s\"\n", i, rc, err.msg);
        CU_ASSERT(ok);
        unlink(path);
    }
    /* An unknown rule lists the known ones. */
    const xrule_rule *r;
    ms_err err = {0};
    CU_ASSERT(xrule_find(rules, "oct2099", &r, &err) == MS_ENOTFOUND);
    MS_ASSERT_STR_HAS(err.msg, "oct2022, oct2023, dec2024-hbm");
}

static CU_TestInfo xrule_tests[] = {
    {"TPP and performance density by hand", test_tpp_and_density},
    {"H800, H20 and H100 under each rule", test_story_verdicts},
    {"conditions on ranges", test_ranges},
    {"bad rule files name file, line and column", test_bad_files},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "xrule", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = xrule_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_xrule");
}
