/* Tests of jroof (src/job): the roofline job held to figures computed by
 * hand from H100's datasheet (989.4 TFLOP/s dense bf16, 3.35 TB/s HBM3)
 * and to hwdb/efficiency.csv's hopper gemm bf16 row, read here from the
 * file; the default scenario; what a plot is handed; the errors. Run from
 * the source tree (data found with home "."). */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/roofline.h"
#include "job/jroof.h"
#include "test_assert.h"
#include "test_calib.h"
#include "test_json.h"

static const jenv env = {.home = ".", .derived_path = NULL, .version = "9.9.9"};

/* 2 x 8192^3 FLOP; A, B and C of 8192^2 bf16 elements, 2 bytes each. */
#define N8K   8192.0
#define FLOPS (2 * N8K * N8K * N8K)
#define BYTES (3 * N8K * N8K * 2)

/* Parses argv with the roofline's table and runs it; *json (the caller
 * deletes it) is the report's JSON when it ran; out may be NULL. */
static int run(int argc, char **argv, cJSON **json, jroof_out *out, ms_err *err)
{
    jroof_job j;
    int npos, help;
    *json = NULL;
    int rc = jopt_parse(&jroof_options, &j, argc, argv, NULL, 0, &npos, &help, err);
    if (rc)
        return rc;
    report *r = report_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    rc = jroof_run(&j, &env, r, out, err);
    if (!rc)
        *json = report_json(r);
    report_free(r);
    return rc;
}

/* One GEMM at datasheet peaks: compute-bound, time = FLOPs / peak. */
static void test_peak(void)
{
    cJSON *j;
    ms_err err = {0};
    char *argv[] = {"--chip", "H100", "--gemm", "8192,8192,8192,bf16", "--peak"};
    jroof_out *out = malloc(sizeof *out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL_FATAL(run(5, argv, &j, out, &err), MS_OK);
    CU_ASSERT_STRING_EQUAL(j->child->string, "megasim_version");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "megasim_version")->valuestring, "9.9.9");
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "inputs"), "peak")));
    cJSON *rows = cJSON_GetObjectItem(j, "results");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(rows), 1);
    cJSON *row = cJSON_GetArrayItem(rows, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(row, "chip")->valuestring, "H100");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(row, "op")->valuestring, "gemm 8192x8192x8192");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(row, "kind")->valuestring, "gemm");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(row, "bound")->valuestring, "compute");
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(row, "compute_efficiency_source")));
    MS_ASSERT_NEAR_AS("flops", ms_json_num(row, "flops"), FLOPS, 0);
    MS_ASSERT_NEAR_AS("bytes", ms_json_num(row, "bytes"), BYTES, 0);
    MS_ASSERT_NEAR_AS("time", ms_json_num(row, "time_s"), FLOPS / 989.4e12, 1e-12);
    MS_ASSERT_NEAR_AS("compute time", ms_json_num(row, "compute_time_s"), FLOPS / 989.4e12, 1e-12);
    MS_ASSERT_NEAR_AS("memory time", ms_json_num(row, "memory_time_s"), BYTES / 3.35e12, 1e-12);
    MS_ASSERT_NEAR_AS("intensity", ms_json_num(row, "intensity_flop_per_byte"), FLOPS / BYTES,
                      1e-15);
    MS_ASSERT_NEAR_AS("intensity = 8192/3", ms_json_num(row, "intensity_flop_per_byte"), N8K / 3,
                      1e-15);
    MS_ASSERT_NEAR_AS("ridge", ms_json_num(row, "ridge_flop_per_byte"), 989.4e12 / 3.35e12, 1e-12);
    MS_ASSERT_NEAR_AS("attained", ms_json_num(row, "attained_flop_per_s"), 989.4e12, 1e-12);
    MS_ASSERT_NEAR_AS("efficiency", ms_json_num(row, "compute_efficiency"), 1, 0);
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(row, "time_vs_first_chip")); /* one chip */
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "layer_times"));
    /* What the plot is handed: the roof and the point. */
    CU_ASSERT_EQUAL(out->nchips, 1);
    CU_ASSERT_EQUAL(out->nops, 1);
    CU_ASSERT_STRING_EQUAL(out->chips[0].name, "H100");
    MS_ASSERT_NEAR_AS("plot roof", out->chips[0].peak_flop_per_s[MS_BF16], 989.4e12, 1e-12);
    MS_ASSERT_NEAR_AS("plot bandwidth", out->chips[0].hbm_bw_Bps, 3.35e12, 1e-12);
    MS_ASSERT_NEAR_AS("plot x", out->at[0][0].intensity_flop_per_byte, N8K / 3, 1e-15);
    MS_ASSERT_NEAR_AS("plot y", out->at[0][0].attained_flop_per_s, 989.4e12, 1e-12);
    CU_ASSERT_STRING_EQUAL(out->title, "");
    cJSON_Delete(j);
    free(out);
}

/* The same GEMM calibrated: its time from the hopper gemm bf16 row, its
 * HBM read at the hopper stream row's figure (every precision) where the
 * GEMM row has none (as train and serve read it). */
static void test_calibrated(void)
{
    double ce = NAN, me = NAN, over_s = NAN, p = NAN;
    CU_ASSERT_EQUAL_FATAL(test_eff_row("hopper,gemm,bf16,", &ce, &me, &over_s, &p), 0);
    double sce, sme, sover, sp;
    int from_stream = isnan(me); /* blank */
    if (from_stream && test_eff_row("hopper,stream,*,", &sce, &sme, &sover, &sp) == 0)
        me = sme;
    CU_ASSERT_FATAL(!isnan(me));
    cJSON *j;
    ms_err err = {0};
    char *argv[] = {"--chip", "H100,H20", "--gemm", "8192,8192,8192,bf16"};
    CU_ASSERT_EQUAL_FATAL(run(4, argv, &j, NULL, &err), MS_OK);
    cJSON *rows = cJSON_GetObjectItem(j, "results");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(rows), 2);
    cJSON *row = cJSON_GetArrayItem(rows, 0);
    double want = roof_combine(FLOPS / (989.4e12 * ce), BYTES / (3.35e12 * me), p) + over_s;
    MS_ASSERT_NEAR_AS("calibrated time", ms_json_num(row, "time_s"), want, 1e-12);
    MS_ASSERT_NEAR_AS("compute efficiency", ms_json_num(row, "compute_efficiency"), ce, 0);
    MS_ASSERT_NEAR_AS("memory efficiency", ms_json_num(row, "memory_efficiency"), me, 0);
    CU_ASSERT_EQUAL(cJSON_IsTrue(cJSON_GetObjectItem(row, "memory_efficiency_from_stream")),
                    from_stream);
    MS_ASSERT_NEAR_AS("attained", ms_json_num(row, "attained_flop_per_s"), FLOPS / want, 1e-12);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(row, "bound")->valuestring, "compute");
    CU_ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(row, "compute_efficiency_source")));
    /* H20, the same family, takes the same row at its own peaks (148
     * TFLOP/s bf16, 4.0 TB/s), and its time is said over H100's. */
    cJSON *h20 = cJSON_GetArrayItem(rows, 1);
    double want20 = roof_combine(FLOPS / (148e12 * ce), BYTES / (4.0e12 * me), p) + over_s;
    MS_ASSERT_NEAR_AS("H20 time", ms_json_num(h20, "time_s"), want20, 1e-12);
    MS_ASSERT_NEAR_AS("H20 vs H100", ms_json_num(h20, "time_vs_first_chip"),
                      ms_json_num(h20, "time_s") / ms_json_num(row, "time_s"), 0);
    cJSON_Delete(j);
}

/* One layer of a model per batch size, and the layer's time added. */
static void test_model(void)
{
    cJSON *j;
    ms_err err = {0};
    char *argv[] = {"--chip",  "H100", "--model", "workloads/deepseek-v3/config.json",
                    "--batch", "1,64"};
    jroof_out *out = malloc(sizeof *out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL_FATAL(run(6, argv, &j, out, &err), MS_OK);
    cJSON *layers = cJSON_GetObjectItem(j, "layer_times");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(layers), 2);
    double sum = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(j, "results"))
    {
        if (strncmp(cJSON_GetObjectItem(row, "op")->valuestring, "b64 ", 4) == 0)
            sum += ms_json_num(row, "time_s");
    }
    cJSON *b64 = cJSON_GetArrayItem(layers, 1);
    MS_ASSERT_NEAR_AS("batch", ms_json_num(b64, "batch"), 64, 0);
    MS_ASSERT_NEAR_AS("layer time", ms_json_num(b64, "layer_time_s"), sum, 1e-12);
    MS_ASSERT_NEAR_AS("per sequence", ms_json_num(b64, "time_per_sequence_s"), sum / 64, 1e-12);
    CU_ASSERT_EQUAL(out->nbatches, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out->title, "deepseek-v3, one MoE layer, decode"));
    CU_ASSERT_STRING_EQUAL(out->warn, "");
    cJSON_Delete(j);
    free(out);
}

/* The default scenario: five chips, four operations, chip by chip. */
static void test_default(void)
{
    jroof_default_job d;
    int npos, help;
    ms_err err = {0};
    char *argv[] = {"--no-plot"};
    CU_ASSERT_EQUAL_FATAL(
        jopt_parse(&jroof_default_options, &d, 1, argv, NULL, 0, &npos, &help, &err), MS_OK);
    CU_ASSERT_STRING_EQUAL(d.plot, "megasim-default.png");
    report *r = report_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(jroof_default_run(&d, &env, r, NULL, &err), MS_OK);
    cJSON *j = report_json(r);
    cJSON *rows = cJSON_GetObjectItem(j, "results");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(rows), 20);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 4), "chip")->valuestring,
                           "H800");
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "inputs"), "no_plot")));
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "layer_times"));
    cJSON_Delete(j);
    report_free(r);
}

/* Each bad request fails with its code and a message naming the fault. */
static void test_errors(void)
{
    static struct { /* not const: argv is jopt_parse's char ** */
        int argc;
        char *argv[6];
        int code;
        const char *says;
    } cases[] = {
        {2, {"--gemm", "1,1,1,bf16"}, MS_EUSAGE, "name the chips to compare with --chip"},
        {2, {"--chip", "H100"}, MS_EUSAGE, "give at least one --gemm, --op or --model"},
        {4, {"--chip", "H100", "--gemm", "1,1,bf16"}, MS_EUSAGE, "expected M,N,K,PRECISION"},
        {4, {"--chip", "H100", "--gemm", "1,1,1,fp7"}, MS_EUSAGE, "unknown precision 'fp7'"},
        {4, {"--chip", "H100", "--op", "1,0,bf16"}, MS_EUSAGE, "BYTES must be a number > 0"},
        {4, {"--chip", "H100", "--op", "1,1,bf16,copy"}, MS_EUSAGE, "unknown kind 'copy'"},
        {6,
         {"--chip", "H100", "--gemm", "1,1,1,bf16", "--batch", "8"},
         MS_EUSAGE,
         "--batch goes with --model"},
        {6,
         {"--chip", "H100", "--model", "workloads/gpt2/config.json", "--batch", "0,8"},
         MS_EUSAGE,
         "--batch '0,8'"},
        {6,
         {"--chip", "H100", "--model", "workloads/gpt2/config.json", "--phase", "train"},
         MS_EUSAGE,
         "expected one of prefill,decode"},
        {5,
         {"--chip", "H100", "--gemm", "1,1,1,bf16", "--peek"},
         MS_EUSAGE,
         "did you mean --peak?"},
        {4, {"--chip", "H100,H999", "--gemm", "1,1,1,bf16"}, MS_ENOTFOUND, "unknown chip 'H999'"},
        {4, {"--chip", "H100", "--gemm", "64,64,64,fp4"}, MS_EINVAL, "no fp4 peak"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j;
        ms_err err = {0};
        int rc = run(cases[i].argc, cases[i].argv, &j, NULL, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].says))
            fprintf(stderr, "\n  case %zu: got %d '%s', want %d '%s'", i, rc, err.msg,
                    cases[i].code, cases[i].says);
        CU_ASSERT_EQUAL(rc, cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].says));
        CU_ASSERT_PTR_NULL(j);
    }
}

static CU_TestInfo tests[] = {
    {"H100 bf16 8192^3 at datasheet peak", test_peak},
    {"H100 bf16 8192^3 calibrated", test_calibrated},
    {"one layer of a model per batch", test_model},
    {"the default scenario", test_default},
    {"errors", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jroof", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jroof");
}
