/* Tests of jpower_load_optional: which failures may leave a run without
 * power (a note) and which end it. Only a chip without a row in
 * hwdb/power.csv, with no power option given, is a note; a malformed power
 * file, or a power option given for such a chip, is an error. Each case
 * runs on a data directory of its own made in a temporary directory. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/chip.h"
#include "job/jenv.h"
#include "job/jpower.h"
#include "test_assert.h"

static char home[64];

/* Copies src (a file of the repository) to home/hwdb/name. */
static void put(const char *src, const char *name)
{
    char dst[128];
    snprintf(dst, sizeof dst, "%s/hwdb/%s", home, name);
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    CU_ASSERT_FATAL(in != NULL && out != NULL);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        CU_ASSERT_FATAL(fwrite(buf, 1, n, out) == n);
    fclose(in);
    CU_ASSERT_FATAL(fclose(out) == 0);
}

static int suite_init(void)
{
    strcpy(home, "/tmp/megasim_test_jpower_XXXXXX");
    if (!mkdtemp(home))
        return 1;
    char dir[96];
    snprintf(dir, sizeof dir, "%s/hwdb", home);
    return mkdir(dir, 0700) != 0;
}

static int suite_clean(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/hwdb/power.csv", home);
    unlink(path);
    snprintf(path, sizeof path, "%s/hwdb/costs.csv", home);
    unlink(path);
    snprintf(path, sizeof path, "%s/hwdb", home);
    rmdir(path);
    return rmdir(home) != 0;
}

/* No option given: every field "not given". */
static jpower_opts no_opts(void)
{
    return (jpower_opts){.pue = NAN,
                         .power_floor = NAN,
                         .energy_usd_per_kwh = NAN,
                         .server_usd = NAN,
                         .life_years = NAN,
                         .gpu_power_limit_w = NAN,
                         .node_power_fraction = NAN};
}

static void test_optional(void)
{
    chip_db *db = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(chip_db_load("hwdb/chips.csv", &db, &err) == MS_OK);
    const chip *h100 = chip_db_find(db, "H100");
    CU_ASSERT_FATAL(h100 != NULL);
    jenv env = {.home = home};
    static const struct {
        const char *what, *power;
        int explicit_option; /* --life-years given */
        int rc, loaded;
        const char *has; /* in the note (MS_OK) or the error */
    } cases[] = {
        {"a chip the power file lacks: a note", "tests/data/power/power_good.csv", 0, MS_OK, 0,
         "has no row for H100"},
        {"the same with a power option given: an error", "tests/data/power/power_good.csv", 1,
         MS_ENOTFOUND, 0, "has no row for H100"},
        {"a malformed power file: an error", "tests/data/power/power_text_in_number.csv", 0,
         MS_EINVAL, 0, "column 'memory_W'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put(cases[i].power, "power.csv");
        put("tests/data/power/costs_good.csv", "costs.csv");
        jpower_opts o = no_opts();
        if (cases[i].explicit_option)
            o.life_years = 5;
        jpower pw = {0};
        int loaded = -1;
        char why[512] = "";
        ms_err e = {0};
        int rc = jpower_load_optional(&o, &env, h100, 8, 0, NAN, &pw, &loaded, why, sizeof why, &e);
        const char *said = rc ? e.msg : why;
        int ok = MS_ASSERT_INT_EQ(rc, cases[i].rc);
        ok &= MS_ASSERT_INT_EQ(loaded, cases[i].loaded);
        ok &= MS_ASSERT_STR_HAS(said, cases[i].has);
        if (!ok)
            fprintf(stderr, "    case %s: '%s'\n", cases[i].what, said);
        jpower_free(&pw);
    }
    chip_db_free(db);
}

/* The rest of the node's power in a band's draw, by hand: between the
 * idle figure and the rating's bound where the file calls it an estimate,
 * untouched where it does not. */
static void test_node_other_drawn(void)
{
    const char *est = "comm_W;node_other_W;node_other_idle_W";
    MS_ASSERT_WITHIN(jpower_node_other_drawn(4600, 2200, est, 0), 2200, 0);
    MS_ASSERT_WITHIN(jpower_node_other_drawn(4600, 2200, est, 1), 4600, 0);
    MS_ASSERT_WITHIN(jpower_node_other_drawn(4600, 2200, est, 0.25), 2800, 1e-9);
    /* Measured, not estimated: no draw (a name that only starts alike is
     * not it). */
    MS_ASSERT_WITHIN(jpower_node_other_drawn(4600, 2200, "comm_W;node_other_idle_W", 0.25), 4600,
                     0);
    MS_ASSERT_WITHIN(jpower_node_other_drawn(4600, 2200, "node_other_Wx", 0.25), 4600, 0);
    MS_ASSERT_WITHIN(jpower_node_other_drawn(4600, 2200, "", 0.25), 4600, 0);
    MS_ASSERT_WITHIN(jpower_node_other_drawn(4600, 2200, est, 1.5), 4600, 0); /* no draw */
    /* Through the power file: a draw loads the drawn figure, its level
     * checked as any (H100's row estimates it: 1750 to 4600 W). Unless
     * told, the load figure is the middle of the two; 1 is the rating
     * bound. */
    chip_db *db = NULL;
    ms_err e = {0};
    CU_ASSERT_FATAL(chip_db_load("hwdb/chips.csv", &db, &e) == MS_OK);
    const chip *h100 = chip_db_find(db, "H100");
    jenv env = {.home = "."};
    jpower_opts o = no_opts();
    jpower pw, drawn, bound;
    CU_ASSERT_FATAL(jpower_load(&o, &env, h100, 8, 0, NAN, &pw, &e) == MS_OK);
    MS_ASSERT_WITHIN(pw.lv.node_other_w, 3175, 1e-9); /* 1750 + 0.5 x 2850 */
    /* The help texts say the default the code takes. */
    MS_ASSERT_WITHIN(strtod(JPOWER_NODE_FRACTION_TEXT, NULL), JPOWER_NODE_FRACTION, 0);
    MS_ASSERT_WITHIN(pw.lv.node_other_idle_w, 1750, 0);
    o.node_power_fraction = 1;
    CU_ASSERT_FATAL(jpower_load(&o, &env, h100, 8, 0, NAN, &bound, &e) == MS_OK);
    MS_ASSERT_WITHIN(bound.lv.node_other_w, 4600, 0);
    o.node_power_fraction = 0.25;
    CU_ASSERT_FATAL(jpower_load(&o, &env, h100, 8, 0, NAN, &drawn, &e) == MS_OK);
    MS_ASSERT_WITHIN(drawn.lv.node_other_w, 2462.5, 1e-9); /* 1750 + 0.25 x 2850 */
    CU_ASSERT(drawn.lv.node_other_w < pw.lv.node_other_w);
    jpower_free(&pw);
    jpower_free(&drawn);
    jpower_free(&bound);
    chip_db_free(db);
}

static CU_TestInfo tests[] = {
    {"which power failures are notes and which end the run", test_optional},
    {"the node's estimated power drawn between its bounds", test_node_other_drawn},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jpower", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jpower");
}
