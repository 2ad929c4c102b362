/* Tests of derived chips (src/policy/derive) and of chip files added to a
 * database (src/hw/chip): an H800 made from an H100 by its NVLink cut, a
 * derivation of a derivation keeping its lineage, a derived row written
 * and read back, and bad derivations rejected. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/derive.h"
#include "policy/xrule.h"
#include "test_assert.h"

static chip_db *db;

static int setup(void)
{
    ms_err err = {0};
    return chip_db_load("hwdb/chips.csv", &db, &err) != MS_OK;
}

static int teardown(void)
{
    chip_db_free(db);
    return 0;
}

static derive_change parse(const char *text, int scale)
{
    derive_change ch = {0};
    ms_err err = {0};
    int rc = derive_parse(text, scale, &ch, &err);
    if (rc)
        printf("\n    %s: %s\n", text, err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    return ch;
}

static void test_h800_from_h100(void)
{
    const chip *h100 = chip_db_find(db, "H100"), *h800 = chip_db_find(db, "H800");
    derive_change ch = parse("scale_up_bw=400GB/s", 0);
    CU_ASSERT(ch.field == DERIVE_SCALE_UP_BW && ch.value == 400e9);
    derive_chip d;
    ms_err err = {0};
    CU_ASSERT_FATAL(derive_apply(h100, "H800x", &ch, 1, &d, &err) == MS_OK);
    /* Per direction, as chips.csv holds it: the H800's own row. */
    CU_ASSERT(d.c.scale_up_bw_Bps == h800->scale_up_bw_Bps);
    CU_ASSERT(d.c.peak_flop_per_s[MS_FP8] == h100->peak_flop_per_s[MS_FP8]);
    CU_ASSERT(strcmp(d.c.name, "H800x") == 0 && strcmp(d.c.family, "hopper") == 0);
    CU_ASSERT(strcmp(d.c.derived_from, "H100") == 0);
    CU_ASSERT(strcmp(d.c.derivation, "H100: scale_up_bw=400GB/s") == 0);

    /* A derivation of it: a third of the FLOPs and 4 TB/s, lineage kept. */
    derive_change more[2] = {parse("flops=0.3333", 1), parse("hbm_bw=4TB/s", 0)};
    derive_chip d2;
    CU_ASSERT_FATAL(derive_apply(&d.c, "H20x", more, 2, &d2, &err) == MS_OK);
    MS_ASSERT_WITHIN(d2.c.peak_flop_per_s[MS_BF16], 0.3333 * 989.4e12, 1e6);
    MS_ASSERT_WITHIN(d2.c.peak_flop_per_s[MS_INT8], 0.3333 * 1978.9e12, 1e6);
    CU_ASSERT(isnan(d2.c.peak_flop_per_s[MS_FP4]));
    CU_ASSERT(d2.c.hbm_bw_Bps == 4e12);
    CU_ASSERT(strcmp(d2.c.derived_from, "H800x") == 0);
    CU_ASSERT(strcmp(d2.c.derivation,
                     "H100: scale_up_bw=400GB/s; H800x: flops*0.3333, hbm_bw=4000GB/s") == 0);

    /* Setting FLOPs sets the BF16 peak and keeps the ratios: 148 TFLOPS
     * BF16 gives 296 FP8, the H20's figures. */
    derive_change f = parse("flops=148TFLOPS", 0);
    CU_ASSERT_FATAL(derive_apply(h100, "H20y", &f, 1, &d2, &err) == MS_OK);
    MS_ASSERT_WITHIN(d2.c.peak_flop_per_s[MS_FP8], 148e12 * 1978.9 / 989.4, 1e3);
    ms_prec at;
    MS_ASSERT_WITHIN(xrule_tpp(&d2.c, &at), 8 * 148 * 1978.9 / 989.4, 1e-9);
}

static void test_round_trip(void)
{
    const chip *h100 = chip_db_find(db, "H100");
    derive_change ch[2] = {parse("scale_up_bw=400GB/s", 0), parse("hbm_capacity=96GB", 0)};
    derive_chip d;
    ms_err err = {0};
    CU_ASSERT_FATAL(derive_apply(h100, "H800x", ch, 2, &d, &err) == MS_OK);
    char path[] = "/tmp/megasim_test_derive_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    chip_csv_header(f);
    chip_csv_row(f, &d.c);
    fclose(f);

    chip_db *both = NULL;
    CU_ASSERT_FATAL(chip_db_load("hwdb/chips.csv", &both, &err) == MS_OK);
    int rc = chip_db_add_file(both, path, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    const chip *back = chip_db_find(both, "h800x");
    CU_ASSERT_FATAL(back != NULL);
    CU_ASSERT(back->scale_up_bw_Bps == 200e9 && back->hbm_bytes == 96e9);
    CU_ASSERT(back->peak_flop_per_s[MS_FP8] == h100->peak_flop_per_s[MS_FP8]);
    CU_ASSERT(back->host_io_bw_Bps == 64e9 && isnan(back->peak_flop_per_s[MS_FP4]));
    CU_ASSERT(strcmp(back->derivation, d.c.derivation) == 0);
    CU_ASSERT(strcmp(back->source, d.c.source) == 0); /* quoted commas survive */
    CU_ASSERT(chip_db_count(both) == chip_db_count(db) + 1);
    /* The same file again: its name is taken. */
    CU_ASSERT(chip_db_add_file(both, path, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "'H800x' is already used") != NULL);
    chip_db_free(both);

    /* Alone, without its parent: the lineage is broken. */
    chip_db *alone = NULL;
    CU_ASSERT(chip_db_load(path, &alone, &err) == MS_EINVAL && !alone);
    CU_ASSERT(strstr(err.msg, "column 'derived_from' of 'H800x': no chip 'H100' before it") !=
              NULL);
    unlink(path);
}

static void test_bad_derivations(void)
{
    static const struct {
        const char *text;
        int scale;
        const char *expect;
    } cases[] = {
        {"nvlink=400GB/s", 0, "unknown field 'nvlink'; expected one of flops, scale_up_bw"},
        {"flops=-0.5", 1, "expected a factor > 0"},
        {"flops=0", 1, "expected a factor > 0"},
        {"hbm_bw=4", 0, "expected hbm_bw in GB/s or TB/s"},
        {"hbm_bw=4TB/s", 1, "a factor has no unit"},
        {"hbm_bw=-4TB/s", 0, "expected a positive hbm_bw"},
        {"hbm_bw=4000TB/s", 0, "expected a positive hbm_bw below"},
        {"scale_up_bw", 0, "expected FIELD=VALUE"},
        {"tdp=abc", 0, "expected a number after '='"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        derive_change ch;
        ms_err err = {0};
        int rc = derive_parse(cases[i].text, cases[i].scale, &ch, &err);
        int ok = rc == MS_EUSAGE && strstr(err.msg, cases[i].expect);
        if (!ok)
            printf("\n    %s: rc %d \"%s\"\n", cases[i].text, rc, err.msg);
        CU_ASSERT(ok);
    }
    /* Scaling what the parent leaves blank, a bad name, nothing to do. */
    derive_change area = parse("die_area=0.9", 1);
    derive_chip d;
    ms_err err = {0};
    CU_ASSERT(derive_apply(chip_db_find(db, "B200"), "B200x", &area, 1, &d, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "B200 has no die_area in the database to scale; set it instead") !=
              NULL);
    CU_ASSERT(derive_apply(chip_db_find(db, "H100"), "my chip", &area, 1, &d, &err) == MS_EUSAGE);
    CU_ASSERT(strstr(err.msg, "--name 'my chip'") != NULL);
    CU_ASSERT(derive_apply(chip_db_find(db, "H100"), "X", NULL, 0, &d, &err) == MS_EINVAL);
    /* A TDP below the idle power the parent has. */
    derive_change tdp = parse("tdp=50W", 0);
    CU_ASSERT(derive_apply(chip_db_find(db, "TPUv4"), "T", &tdp, 1, &d, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "below the idle power") != NULL);
}

static CU_TestInfo derive_tests[] = {
    {"an H800 from an H100, and a derivation of it", test_h800_from_h100},
    {"a derived row written and read back", test_round_trip},
    {"bad derivations", test_bad_derivations},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "derive", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = derive_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_derive");
}
