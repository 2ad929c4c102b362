/* Tests of the power and cost database (src/power/pdb): the shipped
 * hwdb/power.csv and hwdb/costs.csv load and agree with hwdb/chips.csv; a
 * good fixture is read field by field; bad files and rows are each
 * rejected with a message naming file, line and column. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "power/pdb.h"
#include "test_assert.h"
#include "test_tmp.h"

#define DATA "tests/data/power/"

static const char *const power_header =
    "chip,matrix_W,memory_W,comm_W,idle_W,node_gpus,node_other_W,node_other_idle_W,estimated,"
    "source\n";
static const char *const costs_header = "key,value,unit,estimated,source\n";

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *temp_csv(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/megasim_test_pdb_XXXXXX");
    test_write_tmp(path, text);
    return path;
}

/* Loads the pair; checks the code, that nothing is returned, and that the
 * message holds want_path and expect. */
static void expect_rejected(const char *what, const char *power, const char *costs, int code,
                            const char *want_path, const char *expect)
{
    pdb *db = (pdb *)1;
    ms_err err = {0};
    int rc = pdb_load(power, costs, &db, &err);
    int ok = rc == code && db == NULL && strstr(err.msg, expect) && strstr(err.msg, want_path);
    if (!ok)
        printf("\n    case '%s': rc %d, message \"%s\"; expected rc %d and \"%s\" in %s\n", what,
               rc, err.msg, code, expect, want_path);
    CU_ASSERT(ok);
    if (rc == MS_OK)
        pdb_free(db); /* only when the case fails */
}

static pdb *load_ok(const char *power, const char *costs)
{
    pdb *db = NULL;
    ms_err err = {0};
    int rc = pdb_load(power, costs, &db, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK && db != NULL);
    return db;
}

static void test_good_fixture(void)
{
    pdb *db = load_ok(DATA "power_good.csv", DATA "costs_good.csv");
    CU_ASSERT_EQUAL(pdb_chip_count(db), 3);

    const pdb_chip *x = pdb_chip_find(db, "x100");
    CU_ASSERT_FATAL(x != NULL);
    CU_ASSERT_STRING_EQUAL(x->chip, "X100");
    CU_ASSERT_EQUAL(x->line, 2);
    MS_ASSERT_NEAR(x->matrix_W, 700, 0);
    MS_ASSERT_NEAR(x->memory_W, 400, 0);
    MS_ASSERT_NEAR(x->comm_W, 200, 0);
    MS_ASSERT_NEAR(x->idle_W, 80, 0);
    MS_ASSERT_NEAR(x->node_gpus, 8, 0);
    MS_ASSERT_NEAR(x->node_other_W, 4000, 0);
    MS_ASSERT_NEAR(x->node_other_idle_W, 2000, 0);
    CU_ASSERT_STRING_EQUAL(x->estimated, "");
    CU_ASSERT_STRING_EQUAL(x->source, "hand-made test row, full"); /* quoted comma */

    const pdb_chip *y = pdb_chip_find(db, "Y10");
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(isnan(y->memory_W) && isnan(y->comm_W) && isnan(y->node_other_W) &&
              isnan(y->node_other_idle_W));
    CU_ASSERT_STRING_EQUAL(y->estimated, "idle_W");

    const pdb_chip *t = pdb_chip_at(db, 2);
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_STRING_EQUAL(t->chip, "tpu1");
    CU_ASSERT_EQUAL(t->line, 5); /* after a blank line */
    CU_ASSERT(isnan(t->matrix_W));
    MS_ASSERT_NEAR(t->idle_W, 90, 0);
    CU_ASSERT(pdb_chip_at(db, 3) == NULL);
    CU_ASSERT(pdb_chip_find(db, "Z9") == NULL);

    double v = 0;
    const char *src = NULL;
    ms_err err = {0};
    CU_ASSERT_EQUAL(pdb_value(db, "pue", &v, &src, &err), MS_OK);
    MS_ASSERT_NEAR(v, 1.2, 0);
    CU_ASSERT(src && strcmp(src, "hand-made test row") == 0);
    CU_ASSERT(pdb_value_estimated(db, "pue"));
    CU_ASSERT(!pdb_value_estimated(db, "it_fraction"));
    CU_ASSERT_EQUAL(pdb_value(db, "SERVER_USD.x100", &v, NULL, &err), MS_OK); /* any case */
    MS_ASSERT_NEAR(v, 250000, 0);
    CU_ASSERT_EQUAL(pdb_value(db, "rack_gpus.Y10", &v, NULL, &err), MS_OK);
    MS_ASSERT_NEAR(v, 32, 0);
    CU_ASSERT(pdb_has(db, "energy_usd_per_kWh.TX"));
    CU_ASSERT(!pdb_has(db, "energy_usd_per_kWh"));
    pdb_free(db);
}

static void test_missing_key(void)
{
    pdb *db = load_ok(DATA "power_good.csv", DATA "costs_good.csv");
    double v = 42;
    ms_err err = {0};
    CU_ASSERT_EQUAL(pdb_value(db, "life_years", &v, NULL, &err), MS_EINVAL);
    CU_ASSERT_EQUAL(v, 42); /* untouched */
    const char *want = DATA "costs_good.csv has no 'life_years' (it has: pue, it_fraction";
    if (!strstr(err.msg, want))
        printf("\n    message \"%s\", expected \"%s\"\n", err.msg, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    CU_ASSERT(!pdb_has(db, "life_years"));
    pdb_free(NULL); /* a no-op */
    pdb_free(db);
}

/* Bad fixture files: each rejected with the file, line and column named. */
static void test_bad_files(void)
{
    static const struct {
        const char *what, *power, *costs;
        int code;
        const char *in; /* the file the message must name */
        const char *expect;
    } cases[] = {
        {"missing column", DATA "power_missing_column.csv", DATA "costs_good.csv", MS_EPARSE,
         DATA "power_missing_column.csv", ":1: missing column 'comm_W' in the header"},
        {"text in a number", DATA "power_text_in_number.csv", DATA "costs_good.csv", MS_EINVAL,
         DATA "power_text_in_number.csv",
         ":2: column 'memory_W' (field 3) of 'X100': expected a number in W, got \"lots\""},
        {"negative watts", DATA "power_negative.csv", DATA "costs_good.csv", MS_EINVAL,
         DATA "power_negative.csv",
         ":2: column 'idle_W' (field 5) of 'X100': expected a positive number in W, got -80"},
        {"duplicate chip", DATA "power_duplicate_chip.csv", DATA "costs_good.csv", MS_EINVAL,
         DATA "power_duplicate_chip.csv",
         ":4: column 'chip' (field 1): 'x100' is already used on line 2"},
        {"unknown key", DATA "power_good.csv", DATA "costs_unknown_key.csv", MS_EINVAL,
         DATA "costs_unknown_key.csv", ":3: column 'key' (field 1): unknown key 'pue_of_mars'"},
        {"wrong unit", DATA "power_good.csv", DATA "costs_bad_unit.csv", MS_EINVAL,
         DATA "costs_bad_unit.csv",
         ":3: column 'unit' (field 3) of 'switch_W': expected 'W', got \"kW\""},
        {"duplicate key", DATA "power_good.csv", DATA "costs_duplicate_key.csv", MS_EINVAL,
         DATA "costs_duplicate_key.csv",
         ":4: column 'key' (field 1): 'SERVER_USD.x100' is already used on line 2"},
        {"PUE below 1", DATA "power_good.csv", DATA "costs_out_of_range.csv", MS_EINVAL,
         DATA "costs_out_of_range.csv",
         ":2: column 'value' (field 2) of 'pue': 0.9 ratio is outside the plausible range [1, 3]"},
        {"missing power file", DATA "no-such.csv", DATA "costs_good.csv", MS_EIO,
         DATA "no-such.csv", "cannot open"},
        {"missing costs file", DATA "power_good.csv", DATA "no-such.csv", MS_EIO,
         DATA "no-such.csv", "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_rejected(cases[i].what, cases[i].power, cases[i].costs, cases[i].code, cases[i].in,
                        cases[i].expect);
}

/* One power row, written after the header to a temporary file. */
static void power_row_rejected(const char *what, const char *row, int code, const char *expect)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s\n", power_header, row);
    const char *path = temp_csv(text);
    expect_rejected(what, path, DATA "costs_good.csv", code, path, expect);
    unlink(path);
}

static void cost_row_rejected(const char *what, const char *row, int code, const char *expect)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s\n", costs_header, row);
    const char *path = temp_csv(text);
    expect_rejected(what, DATA "power_good.csv", path, code, path, expect);
    unlink(path);
}

static void test_bad_rows(void)
{
    static const struct {
        const char *what, *row;
        int code;
        const char *expect;
    } power[] = {
        {"idle above memory", "A1,700,300,,400,,,,,s", MS_EINVAL,
         ":2: column 'idle_W' (field 5) of 'A1': 400 W exceeds memory_W 300 W"},
        {"comm above matrix", "A1,700,,800,,,,,,s", MS_EINVAL,
         ":2: column 'comm_W' (field 4) of 'A1': 800 W exceeds matrix_W 700 W"},
        {"server idle above load", "A1,700,,,,8,3000,4000,,s", MS_EINVAL,
         "column 'node_other_idle_W' (field 8) of 'A1': 4000 W exceeds node_other_W 3000 W"},
        {"unit slip", "A1,700000,,,,,,,,s", MS_EINVAL,
         "column 'matrix_W' (field 2) of 'A1': 700000 W is outside the plausible range"},
        {"fractional GPUs", "A1,700,,,,7.5,,,,s", MS_EINVAL,
         "column 'node_gpus' (field 6) of 'A1': expected a whole number, got 7.5"},
        {"zero GPUs", "A1,700,,,,0,,,,s", MS_EINVAL,
         "column 'node_gpus' (field 6) of 'A1': expected a positive number"},
        {"infinity", "A1,inf,,,,,,,,s", MS_EINVAL,
         "column 'matrix_W' (field 2) of 'A1': expected a number in W, got \"inf\""},
        {"server power without GPUs", "A1,700,,,,,3000,,,s", MS_EINVAL,
         ":2: column 'node_gpus' (field 6) of 'A1': required when"},
        {"estimated names no column", "A1,700,,,,,,,speed,s", MS_EINVAL,
         "column 'estimated' (field 9) of 'A1': 'speed' is not a numeric column"},
        {"estimated names a blank", "A1,700,,,,,,,matrix_W;idle_W,s", MS_EINVAL,
         "column 'estimated' (field 9) of 'A1': lists 'idle_W', which is blank"},
        {"blank source", "A1,700,,,,,,,,", MS_EINVAL,
         ":2: column 'source' (field 10) of 'A1': required, but blank"},
        {"blank chip", ",700,,,,,,,,s", MS_EINVAL, "column 'chip' (field 1) of '': required"},
        {"space in chip", "A 1,700,,,,,,,,s", MS_EINVAL, "without spaces or commas"},
        {"says nothing", "A1,,,,,,,,,s", MS_EINVAL, ":2: row 'A1': every figure is blank"},
        {"one field too many", "A1,700,,,,,,,,s,extra", MS_EPARSE,
         ":2: row 'A1' has 11 fields, the header has 10"},
        {"one field short", "A1,700,,,,,,,", MS_EPARSE,
         "has 9 fields, the header has 10: column 'source' (field 10) is missing"},
    };
    for (size_t i = 0; i < sizeof power / sizeof power[0]; i++)
        power_row_rejected(power[i].what, power[i].row, power[i].code, power[i].expect);

    static const struct {
        const char *what, *row;
        int code;
        const char *expect;
    } costs[] = {
        {"blank value", "pue,,ratio,,s", MS_EINVAL,
         ":2: column 'value' (field 2) of 'pue': required, but blank"},
        {"text value", "life_years,six,years,,s", MS_EINVAL,
         "column 'value' (field 2) of 'life_years': expected a number in years, got \"six\""},
        {"negative price", "server_usd.X100,-5,USD,,s", MS_EINVAL,
         "column 'value' (field 2) of 'server_usd.X100': expected a positive number"},
        {"fraction above 1", "it_fraction,1.5,fraction,,s", MS_EINVAL,
         "1.5 fraction is outside the plausible range (0, 1]"},
        {"fractional rack", "rack_gpus.X100,31.5,GPUs,,s", MS_EINVAL, "expected a whole number"},
        {"prefix without a name", "server_usd.,100,USD,,s", MS_EINVAL,
         ":2: column 'key' (field 1): 'server_usd.' needs a name"},
        {"estimated not yes", "pue,1.2,ratio,maybe,s", MS_EINVAL,
         "column 'estimated' (field 4) of 'pue': expected 'yes' or blank, got \"maybe\""},
        {"blank source", "pue,1.2,ratio,,", MS_EINVAL,
         "column 'source' (field 5) of 'pue': required, but blank"},
        {"blank unit", "pue,1.2,,,s", MS_EINVAL,
         "column 'unit' (field 3) of 'pue': required, but blank"},
    };
    for (size_t i = 0; i < sizeof costs / sizeof costs[0]; i++)
        cost_row_rejected(costs[i].what, costs[i].row, costs[i].code, costs[i].expect);
}

static void test_bad_headers(void)
{
    char text[1024];
    const char *path;
    int hlen = (int)strlen(power_header) - 1; /* without its newline */

    snprintf(text, sizeof text, "%.*s,colour\nA1,700,,,,,,,,s,red\n", hlen, power_header);
    path = temp_csv(text);
    expect_rejected("unknown column", path, DATA "costs_good.csv", MS_EPARSE, path,
                    ":1: unknown column 'colour' (field 11)");
    unlink(path);

    snprintf(text, sizeof text, "%.*s,idle_W\nA1,700,,,,,,,,s,60\n", hlen, power_header);
    path = temp_csv(text);
    expect_rejected("column twice", path, DATA "costs_good.csv", MS_EPARSE, path,
                    ":1: column 'idle_W' appears twice");
    unlink(path);

    path = temp_csv(power_header);
    expect_rejected("header only", path, DATA "costs_good.csv", MS_EPARSE, path, "no chips");
    unlink(path);

    path = temp_csv("key,value,source\npue,1.2,s\n");
    expect_rejected("costs short header", DATA "power_good.csv", path, MS_EPARSE, path,
                    ":1: missing column 'unit' in the header");
    unlink(path);
}

static chip_db *load_chips(const char *path)
{
    chip_db *chips = NULL;
    ms_err err = {0};
    int rc = chip_db_load(path, &chips, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    return chips;
}

static void test_check_chips(void)
{
    chip_db *chips = load_chips("tests/data/chips_small.csv");
    static const struct {
        const char *what, *power, *costs;
        int code;
        const char *expect;
    } cases[] = {
        {"good", DATA "power_good.csv", DATA "costs_good.csv", MS_OK, ""},
        {"above TDP", DATA "power_over_tdp.csv", DATA "costs_good.csv", MS_EINVAL,
         DATA "power_over_tdp.csv:3: column 'matrix_W' (field 2) of 'Y10': 450 W exceeds the "
              "chip's tdp_W 400 W (chips.csv line 3)"},
        {"unknown chip", DATA "power_unknown_chip.csv", DATA "costs_good.csv", MS_EINVAL,
         DATA "power_unknown_chip.csv:3: column 'chip' (field 1): 'Z9' is not in the chip "
              "database (it has: X100, Y10, tpu1)"},
        {"cost names no chip", DATA "power_good.csv", DATA "costs_unknown_chip.csv", MS_EINVAL,
         DATA "costs_unknown_chip.csv:3: column 'key' (field 1): 'server_usd.Z9' names no chip"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pdb *db = load_ok(cases[i].power, cases[i].costs);
        ms_err err = {0};
        int rc = pdb_check_chips(db, chips, &err);
        int ok = rc == cases[i].code && strstr(err.msg, cases[i].expect);
        if (!ok)
            printf("\n    case '%s': rc %d, message \"%s\"; expected rc %d and \"%s\"\n",
                   cases[i].what, rc, err.msg, cases[i].code, cases[i].expect);
        CU_ASSERT(ok);
        pdb_free(db);
    }
    chip_db_free(chips);
}

/* The shipped database loads, agrees with hwdb/chips.csv, covers the
 * chips issue 8 needs, and holds every key a cost of ownership reads. */
static void test_shipped(void)
{
    pdb *db = load_ok("hwdb/power.csv", "hwdb/costs.csv");
    chip_db *chips = load_chips("hwdb/chips.csv");
    ms_err err = {0};
    int rc = pdb_check_chips(db, chips, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, MS_OK);

    static const char *const required[] = {"A100", "H100", "H800", "H20", "H200", "B200", "GB200"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const pdb_chip *p = pdb_chip_find(db, required[i]);
        if (!p)
            printf("\n    hwdb/power.csv has no %s\n", required[i]);
        CU_ASSERT_FATAL(p != NULL);
        const chip *c = chip_db_find(chips, required[i]);
        CU_ASSERT_FATAL(c != NULL);
        /* Every figure given, ordered, and within the chip's TDP. */
        CU_ASSERT(p->idle_W <= p->comm_W && p->comm_W <= p->matrix_W);
        CU_ASSERT(p->idle_W <= p->memory_W && p->memory_W <= p->matrix_W);
        CU_ASSERT(p->matrix_W <= c->tdp_W);
        CU_ASSERT(p->node_gpus >= 1 && p->node_other_idle_W <= p->node_other_W);
        CU_ASSERT(p->source[0] != '\0');
    }
    const pdb_chip *h100 = pdb_chip_find(db, "h100"), *gb200 = pdb_chip_find(db, "GB200");
    MS_ASSERT_NEAR(h100->matrix_W, 700, 0);      /* Splitwise prompt phase = TDP */
    MS_ASSERT_NEAR(h100->memory_W, 380, 0);      /* Splitwise token phase */
    MS_ASSERT_NEAR(h100->idle_W, 75, 0);         /* Splitwise idle */
    MS_ASSERT_NEAR(h100->node_other_W, 4600, 0); /* DGX H100 10.2 kW - 8 x 700 */
    MS_ASSERT_NEAR(gb200->node_gpus, 72, 0);     /* the NVL72 rack is the node */
    CU_ASSERT_STRING_EQUAL(h100->estimated, "comm_W;node_other_W;node_other_idle_W");

    static const char *const keys[] = {"pue",
                                       "it_fraction",
                                       "switch_W",
                                       "network_usd_per_gpu",
                                       "facility_usd_per_W",
                                       "life_years",
                                       "facility_life_years",
                                       "energy_usd_per_kWh",
                                       "server_usd.H100",
                                       "rack_usd.GB200",
                                       "rack_gpus.GB200",
                                       "gpu_hour_usd.H800"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double v = NAN;
        const char *src = NULL;
        rc = pdb_value(db, keys[i], &v, &src, &err);
        if (rc)
            printf("\n    %s\n", err.msg);
        CU_ASSERT(rc == MS_OK && v > 0 && src && src[0]);
    }
    double v;
    CU_ASSERT_EQUAL(pdb_value(db, "gpu_hour_usd.H800", &v, NULL, &err), MS_OK);
    MS_ASSERT_NEAR(v, 2, 0); /* DeepSeek-V3 Table 1 */
    CU_ASSERT_EQUAL(pdb_value(db, "network_usd_per_gpu", &v, NULL, &err), MS_OK);
    MS_ASSERT_NEAR(v, 4390, 0); /* DeepSeek ISCA'25 Table 3 */
    CU_ASSERT_EQUAL(pdb_value(db, "pue_industry_average", &v, NULL, &err), MS_OK);
    MS_ASSERT_NEAR(v, 1.56, 0); /* Uptime 2024 */
    chip_db_free(chips);
    pdb_free(db);
}

static CU_TestInfo pdb_tests[] = {
    {"good fixture, field by field", test_good_fixture},
    {"a missing key names the file and the keys", test_missing_key},
    {"bad files name file, line and column", test_bad_files},
    {"bad rows name file, line and column", test_bad_rows},
    {"bad headers", test_bad_headers},
    {"check against the chip database", test_check_chips},
    {"shipped hwdb/power.csv and hwdb/costs.csv", test_shipped},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "pdb", .pTests = pdb_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_pdb");
}
