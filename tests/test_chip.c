/* Tests of the chip database loader (src/hw/chip, src/io/csvtab): a good
 * file read field by field into SI units, bad files each rejected with a
 * message naming file, line and column, and the shipped hwdb/chips.csv. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/chip.h"
#include "test_assert.h"
#include "test_tmp.h"

static const char *const header =
    "name,full_name,vendor,family,year,process_node,die_area_mm2,compute_units,"
    "compute_unit_kind,fp64_TFLOPS,fp32_TFLOPS,tf32_TFLOPS,bf16_TFLOPS,fp8_TFLOPS,fp4_TFLOPS,"
    "int8_TOPS,hbm_GB,hbm_bw_GBps,l2_MB,scale_up_GBps_per_dir,scale_up_domain_chips,"
    "scale_out_Gbps_per_chip,tdp_W,idle_W,estimated,source\n";

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *temp_csv(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/megasim_test_XXXXXX");
    test_write_tmp(path, text);
    return path;
}

static void test_good_file(void)
{
    chip_db *db = NULL;
    ms_err err = {0};
    int rc = chip_db_load("tests/data/chips_small.csv", &db, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    CU_ASSERT_EQUAL(chip_db_count(db), 3);

    const chip *x = chip_db_find(db, "x100");
    CU_ASSERT_FATAL(x != NULL);
    CU_ASSERT_STRING_EQUAL(x->name, "X100");
    CU_ASSERT_STRING_EQUAL(x->full_name, "Test chip X100, round numbers"); /* quoted comma */
    CU_ASSERT_STRING_EQUAL(x->family, "hopper");
    CU_ASSERT_EQUAL(x->line, 2);
    MS_ASSERT_NEAR(chip_peak(x, MS_BF16), 1000e12, 1e-12);
    MS_ASSERT_NEAR(chip_peak(x, MS_FP8), 2000e12, 1e-12);
    MS_ASSERT_NEAR(chip_peak(x, MS_FP64), 50e12, 1e-12);
    CU_ASSERT(isnan(chip_peak(x, MS_FP4))); /* blank: the chip has none */
    MS_ASSERT_NEAR(x->hbm_bytes, 80e9, 1e-12);
    MS_ASSERT_NEAR(x->hbm_bw_Bps, 2000e9, 1e-12);
    MS_ASSERT_NEAR(x->l2_bytes, 50e6, 1e-12);
    MS_ASSERT_NEAR(x->scale_up_bw_Bps, 450e9, 1e-12);
    MS_ASSERT_NEAR(x->scale_up_domain_chips, 8, 0);
    MS_ASSERT_NEAR(x->scale_out_bw_Bps, 50e9, 1e-12); /* 400 Gb/s */
    MS_ASSERT_NEAR(x->tdp_W, 700, 0);
    CU_ASSERT(isnan(x->idle_W));
    CU_ASSERT_STRING_EQUAL(x->estimated, "");

    const chip *y = chip_db_find(db, "Y10");
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT_EQUAL(y->line, 3);
    CU_ASSERT_STRING_EQUAL(y->estimated, "fp64_TFLOPS;tdp_W");
    CU_ASSERT(isnan(y->die_area_mm2));
    CU_ASSERT(isnan(y->scale_out_bw_Bps));

    const chip *t = chip_db_find(db, "TPU1");
    CU_ASSERT_FATAL(t != NULL);
    MS_ASSERT_NEAR(t->idle_W, 90, 0);
    CU_ASSERT(isnan(t->tdp_W));
    CU_ASSERT(chip_db_find(db, "Z9") == NULL);
    chip_db_free(db);
}

static void test_lookup_lists_names(void)
{
    chip_db *db = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(chip_db_load("tests/data/chips_small.csv", &db, &err) == MS_OK);
    const chip *c = (const chip *)1;
    CU_ASSERT_EQUAL(chip_db_lookup(db, "H999", &c, &err), MS_ENOTFOUND);
    CU_ASSERT(c == NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'H999'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "X100, Y10, tpu1"));
    CU_ASSERT_EQUAL(chip_db_lookup(db, "y10", &c, &err), MS_OK);
    CU_ASSERT(c != NULL && strcmp(c->name, "Y10") == 0);
    chip_db_free(db);
}

/* A good row whose field col is replaced by value. */
static const char *const good_row[] = {
    "X100", "Test", "Acme", "hopper", "2022", "4N", "800", "100", "SM",  "50",  "50", "500", "1000",
    "2000", "",     "2000", "80",     "2000", "50", "450", "8",   "400", "700", "",   "",    "src"};

/* Writes the good row, with field col set to value, into buf (no newline). */
static char *row_with(char *buf, size_t cap, const char *col, const char *value)
{
    char names[1024];
    snprintf(names, sizeof names, "%s", header);
    buf[0] = '\0';
    int i = 0;
    for (char *tok = strtok(names, ",\n"); tok; tok = strtok(NULL, ",\n"), i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", i ? "," : "",
                 strcmp(tok, col) == 0 ? value : good_row[i]);
    }
    return buf;
}

/* Loads text as a chips file; checks the code, that nothing is returned,
 * and that the message names the file and holds expect. */
static void expect_rejected(const char *what, const char *text, int code, const char *expect)
{
    chip_db *db = (chip_db *)1;
    ms_err err = {0};
    const char *path = temp_csv(text);
    int rc = chip_db_load(path, &db, &err);
    int ok = rc == code && db == NULL && strstr(err.msg, expect) && strstr(err.msg, path);
    if (!ok)
        printf("\n    case '%s': rc %d, message \"%s\"; expected rc %d and \"%s\"\n", what, rc,
               err.msg, code, expect);
    CU_ASSERT(ok);
    unlink(path);
}

static void test_bad_rows(void)
{
    static const struct {
        const char *what, *col, *value;
        int code;
        const char *expect; /* substring of the message */
    } cases[] = {
        {"text in a number", "hbm_bw_GBps", "fast", MS_EINVAL,
         ":2: column 'hbm_bw_GBps' (field 18) of 'X100': expected a number in GB/s, got \"fast\""},
        {"negative bandwidth", "hbm_bw_GBps", "-3350", MS_EINVAL,
         "expected a positive number in GB/s"},
        {"zero peak", "fp8_TFLOPS", "0", MS_EINVAL, "column 'fp8_TFLOPS' (field 14)"},
        {"required blank", "bf16_TFLOPS", "", MS_EINVAL,
         "column 'bf16_TFLOPS' (field 13) of 'X100': required"},
        {"blank source", "source", "", MS_EINVAL, "column 'source' (field 26) of 'X100': required"},
        {"unit slip", "hbm_bw_GBps", "3.35e6", MS_EINVAL, "beyond any real chip"},
        {"year too early", "year", "1850", MS_EINVAL, "expected a year of at least 1990"},
        {"fractional count", "scale_up_domain_chips", "7.5", MS_EINVAL, "expected a whole number"},
        {"infinity", "tdp_W", "inf", MS_EINVAL, "expected a number in W"},
        {"trailing junk", "tdp_W", "700W", MS_EINVAL, "got \"700W\""},
        {"idle above TDP", "idle_W", "800", MS_EINVAL, "idle power 800 W exceeds tdp_W 700 W"},
        {"estimated names no column", "estimated", "fp64_TFLOPS;speed", MS_EINVAL,
         "'speed' is not a column name"},
        {"space in name", "name", "X 100", MS_EINVAL, "without spaces, commas or quotes"},
        {"line break in name", "name", "\"X\n100\"", MS_EINVAL,
         "column 'name': expected printable ASCII"},
        {"one field too many", "source", "src,extra", MS_EPARSE,
         "has 27 fields, the header has 26"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char row[1024], text[2048];
        snprintf(text, sizeof text, "%s%s\n", header,
                 row_with(row, sizeof row, cases[i].col, cases[i].value));
        expect_rejected(cases[i].what, text, cases[i].code, cases[i].expect);
    }
}

static void test_bad_files(void)
{
    char text[4096], row1[1024], row2[1024];
    int hlen = (int)strlen(header) - 1; /* without its newline */

    expect_rejected("empty file", "", MS_EPARSE, "empty file: expected a header row");
    expect_rejected("header only", header, MS_EPARSE, "no chips");
    expect_rejected("stray quote", "name,\"full\"x\n", MS_EPARSE, ":1: malformed CSV");
    expect_rejected("short header", "name,x\n", MS_EPARSE, ":1: missing column 'full_name'");

    snprintf(text, sizeof text, "%.*s,tdp_W\n%s,700\n", hlen, header,
             row_with(row1, sizeof row1, "name", "X1"));
    expect_rejected("column twice", text, MS_EPARSE, ":1: column 'tdp_W' appears twice");

    snprintf(text, sizeof text, "%.*s,colour\n%s,red\n", hlen, header,
             row_with(row1, sizeof row1, "name", "X1"));
    expect_rejected("unknown column", text, MS_EPARSE, ":1: unknown column 'colour' (field 27)");

    snprintf(text, sizeof text, "%s%s\n\n%s\n", header, row_with(row1, sizeof row1, "name", "A1"),
             row_with(row2, sizeof row2, "name", "a1"));
    expect_rejected("same name in another case", text, MS_EINVAL,
                    ":4: column 'name': 'a1' is already used on line 2");
}

static void test_missing_file(void)
{
    chip_db *db = (chip_db *)1;
    ms_err err = {0};
    CU_ASSERT_EQUAL(chip_db_load("tests/data/no-such.csv", &db, &err), MS_EIO);
    CU_ASSERT(db == NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tests/data/no-such.csv: cannot open"));
}

/* The shipped database loads, holds every chip the foundation names, and
 * a few figures match their datasheets (sources in the file). */
static void test_shipped_database(void)
{
    chip_db *db = NULL;
    ms_err err = {0};
    int rc = chip_db_load("hwdb/chips.csv", &db, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    static const char *const required[] = {"A100",   "H100",   "H800",      "H20",    "H200",
                                           "B200",   "GB200",  "TPUv4",     "TPUv5e", "TPUv5p",
                                           "TPUv6e", "MI300X", "Ascend910B"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const chip *c = chip_db_find(db, required[i]);
        if (!c)
            printf("\n    missing chip %s\n", required[i]);
        CU_ASSERT(c != NULL);
        if (c)
            CU_ASSERT(c->source[0] != '\0');
    }
    const chip *h100 = chip_db_find(db, "H100"), *h800 = chip_db_find(db, "H800");
    const chip *h20 = chip_db_find(db, "H20");
    CU_ASSERT_FATAL(h100 && h800 && h20);
    MS_ASSERT_NEAR(chip_peak(h100, MS_BF16), 989.4e12, 1e-9);
    MS_ASSERT_NEAR(h100->hbm_bw_Bps, 3.35e12, 1e-9);
    MS_ASSERT_NEAR(h100->scale_up_bw_Bps, 450e9, 1e-9); /* 900 GB/s both ways */
    MS_ASSERT_NEAR(h800->scale_up_bw_Bps, 200e9, 1e-9); /* cut to 400 GB/s both ways */
    MS_ASSERT_NEAR(chip_peak(h800, MS_BF16), chip_peak(h100, MS_BF16), 0);
    MS_ASSERT_NEAR(chip_peak(h20, MS_BF16), 148e12, 1e-9);
    MS_ASSERT_NEAR(h20->hbm_bw_Bps, 4.0e12, 1e-9);
    chip_db_free(db);
}

static CU_TestInfo chip_tests[] = {
    {"good file, field by field", test_good_file},
    {"unknown name lists the chips", test_lookup_lists_names},
    {"bad rows name file, line and column", test_bad_rows},
    {"bad files", test_bad_files},
    {"missing file", test_missing_file},
    {"shipped hwdb/chips.csv", test_shipped_database},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "chip_db", .pTests = chip_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_chip");
}
