/* Tests of jchips (src/job): the chip job for H100 from the source tree's
 * hwdb/, its JSON held to the datasheet figures of hwdb/chips.csv and to
 * ridge points computed by hand; the list job; the unhappy paths. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/jchips.h"
#include "test_json.h"
#include "test_assert.h"

/* The tests run in the source tree. */
static const jenv env = {.home = ".", .derived_path = NULL, .version = "test"};

/* The chip job for name with argv's options, as JSON (NULL on failure,
 * with *rc set). */
static cJSON *chip_json(const char *name, int argc, char **argv, int *rc, ms_err *err)
{
    jchip_job j;
    const char *pos[1];
    int npos, help;
    *rc = jopt_parse(&jchip_options, &j, argc, argv, pos, 0, &npos, &help, err);
    if (*rc)
        return NULL;
    j.name = name;
    report *r = report_new();
    cJSON *json = NULL;
    if (!(*rc = jchip_run(&j, &env, r, err)))
        json = report_json(r);
    report_free(r);
    return json;
}

/* H100's row of hwdb/chips.csv (bf16 989.4 TFLOPS, hbm 80 GB at 3350
 * GB/s, NVLink 450 GB/s per direction, NIC 400 Gb/s, 700 W) and the
 * hopper gemm row of hwdb/efficiency.csv (bf16: compute 0.7837, memory
 * blank, so 1). */
static void test_h100(void)
{
    static const struct {
        const char *path;
        double want;
    } cases[] = {
        {"peak_flop_per_s.bf16", 989.4e12},
        {"peak_flop_per_s.fp8", 1978.9e12},
        {"peak_flop_per_s.int8", 1978.9e12},
        {"hbm_bw_bytes_per_s", 3350e9},
        {"hbm_bytes", 80e9},
        {"l2_bytes", 50e6},
        {"scale_up_bytes_per_s_per_direction", 450e9},
        {"scale_up_domain_chips", 8},
        {"scale_out_bytes_per_s_per_direction", 400e9 / 8},
        {"tdp_W", 700},
        {"year", 2022},
        {"ridge_flop_per_byte.bf16", 989.4 / 3.35}, /* 295.3 FLOP/B */
        {"ridge_flop_per_byte.fp8", 1978.9 / 3.35}, /* 590.7 FLOP/B */
        {"ridge_flop_per_byte_gemm_calibrated.bf16", 989.4 * 0.8124 / (3.35 * 1.0)}, /* 239.9 */
    };
    ms_err err = {0};
    int rc;
    cJSON *json = chip_json("H100", 0, NULL, &rc, &err);
    if (rc)
        fprintf(stderr, "\n  chip H100: %s", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = ms_json_num(json, cases[i].path);
        MS_ASSERT_NEAR_AS(cases[i].path, got, cases[i].want, 1e-12);
    }
    /* Blank in the database: unknown, never zero. */
    CU_ASSERT(
        cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "peak_flop_per_s"), "fp4")));
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(json, "idle_W")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(json, "megasim_version")->valuestring, "test");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(json, "name")->valuestring, "H100");
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "inputs"), "peak")));
    /* The table holds the same figures as the objects, by precision. */
    cJSON *rows = cJSON_GetObjectItem(json, "precisions");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(rows), MS_PREC_COUNT);
    cJSON *bf16 = cJSON_GetArrayItem(rows, MS_BF16);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(bf16, "precision")->valuestring, "bf16");
    CU_ASSERT_EQUAL(ms_json_num(bf16, "ridge_flop_per_byte"),
                    ms_json_num(json, "ridge_flop_per_byte.bf16"));
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(bf16, "gemm_calibrated")));
    CU_ASSERT(
        cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, MS_FP64), "gemm_calibrated")));
    cJSON_Delete(json);
}

/* --peak: the calibrated ridge is the datasheet one. */
static void test_peak(void)
{
    ms_err err = {0};
    int rc;
    char *argv[] = {"--peak"};
    cJSON *json = chip_json("h100", 1, argv, &rc, &err); /* names are case-insensitive */
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_EQUAL(ms_json_num(json, "ridge_flop_per_byte_gemm_calibrated.bf16"),
                    ms_json_num(json, "ridge_flop_per_byte.bf16"));
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "inputs"), "peak")));
    cJSON_Delete(json);
}

static void test_errors(void)
{
    ms_err err = {0};
    int rc;
    CU_ASSERT_PTR_NULL(chip_json("H900", 0, NULL, &rc, &err));
    CU_ASSERT_EQUAL(rc, MS_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "H100")); /* the names the database has */
    CU_ASSERT_PTR_NULL(chip_json(NULL, 0, NULL, &rc, &err));
    CU_ASSERT_EQUAL(rc, MS_EUSAGE);
    char *misspelt[] = {"--peek"};
    CU_ASSERT_PTR_NULL(chip_json("H100", 1, misspelt, &rc, &err));
    CU_ASSERT_EQUAL(rc, MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "did you mean --peak"));
    char *nofile[] = {"--efficiency", "no-such-file.csv"};
    CU_ASSERT_PTR_NULL(chip_json("H100", 2, nofile, &rc, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no-such-file.csv"));
}

/* The list: every chip of the database in both tables, H100's figures as
 * the chip job gives them, and text a person reads. */
static void test_list(void)
{
    jchips_job j;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(jopt_defaults(&jchips_options, &j, &err), MS_OK);
    report *r = report_new();
    CU_ASSERT_EQUAL_FATAL(jchips_run(&j, &env, r, &err), MS_OK);
    cJSON *json = report_json(r);
    cJSON *results = cJSON_GetObjectItem(json, "results"),
          *summary = cJSON_GetObjectItem(json, "summary");
    CU_ASSERT(cJSON_GetArraySize(results) >= 13);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(results), cJSON_GetArraySize(summary));
    cJSON *h100 = cJSON_GetArrayItem(results, 1), *row = cJSON_GetArrayItem(summary, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(h100, "name")->valuestring, "H100");
    CU_ASSERT_EQUAL(ms_json_num(h100, "peak_flop_per_s.bf16"), 989.4e12);
    CU_ASSERT_EQUAL(ms_json_num(row, "bf16_flop_per_s"), 989.4e12);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(row, "year")->valuestring, "2022");
    cJSON_Delete(json);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_EQUAL(report_write_text(r, f, &err), MS_OK);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "989.4 TFLOP/s"));
    CU_ASSERT_PTR_NULL(strstr(text, "2,022"));                   /* a year, not a count */
    CU_ASSERT_PTR_NULL(strstr(text, "datasheet as reproduced")); /* sources: chip NAME */
    free(text);
    report_free(r);
}

static CU_TestInfo tests[] = {
    {"chip H100 against the datasheet", test_h100},
    {"chip --peak", test_peak},
    {"chip errors", test_errors},
    {"chips", test_list},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jchips", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jchips");
}
