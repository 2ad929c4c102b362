/* Tests of jvalid and jsystem (src/job): the system summary's median and
 * worst over a hand-made set of cases (one failed), the thresholds'
 * parsing, a kernel row's predictions held to the datasheet and to
 * hwdb/efficiency.csv by hand, the bad case files of tests/data/system_bad
 * (one predicted, five failed with their messages), calibrate's dry run
 * (nothing written) and the modes that do not go together. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/roofline.h"
#include "job/jsystem.h"
#include "job/jvalid.h"
#include "test_assert.h"
#include "test_calib.h"

/* The tests run in the source tree. */
static const jenv env = {.home = ".", .derived_path = NULL, .version = "test"};

static int parse(const jopt_table *t, void *job, int argc, char **argv, ms_err *err)
{
    int npos, help;
    return jopt_parse(t, job, argc, argv, NULL, 0, &npos, &help, err);
}

static void test_median_worst(void)
{
    static const struct {
        double x[5];
        size_t n;
        double median, worst;
    } cases[] = {
        {{0.3, -0.1, 0.2}, 3, 0.2, 0.3},
        {{-0.4, 0.1, 0.2, -0.05}, 4, 0.15, 0.4},
        {{-0.25}, 1, 0.25, 0.25},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double x[5], median, worst;
        memcpy(x, cases[i].x, sizeof x);
        jvalid_median_worst(x, cases[i].n, &median, &worst);
        MS_ASSERT_NEAR(median, cases[i].median, 1e-12);
        MS_ASSERT_NEAR(worst, cases[i].worst, 1e-12);
    }
    double median, worst;
    jvalid_median_worst(NULL, 0, &median, &worst);
    CU_ASSERT(isnan(median) && isnan(worst));
}

/* A case of kind with rel_error e (NAN: failed). */
static jsystem_case made(const char *kind, double e)
{
    jsystem_case c = {.published = 100,
                      .predicted = 100 * (1 + e),
                      .rel_error = e,
                      .p10 = NAN,
                      .p90 = NAN,
                      .fits = -1};
    snprintf(c.kind, sizeof c.kind, "%s", kind);
    if (isnan(e))
        snprintf(c.error, sizeof c.error, "x.json: field 'published': missing");
    return c;
}

static void test_system_summary(void)
{
    jsystem_case cs[] = {made("train", 0.1),   made("train", -0.3), made("power", 0.188),
                         made("train", NAN),   made("train", 0.2),  made("train", -0.05),
                         made("power", -0.02), made("", NAN)};
    size_t n = sizeof cs / sizeof cs[0];
    jsystem_stats t = jsystem_stats_of(cs, n, "train"), p = jsystem_stats_of(cs, n, "power");
    /* train: |errors| 0.05 0.1 0.2 0.3, one failed */
    CU_ASSERT_EQUAL(t.n, 4);
    CU_ASSERT_EQUAL(t.failed, 1);
    MS_ASSERT_NEAR(t.median, 0.15, 1e-12);
    MS_ASSERT_NEAR(t.worst, 0.3, 1e-12);
    /* power: 0.02 and 0.188 */
    CU_ASSERT_EQUAL(p.n, 2);
    CU_ASSERT_EQUAL(p.failed, 0);
    MS_ASSERT_NEAR(p.median, 0.104, 1e-12);
    MS_ASSERT_NEAR(p.worst, 0.188, 1e-12);
    MS_ASSERT_NEAR(jsystem_rel_error(9979, 8400), 9979.0 / 8400 - 1, 1e-15);
    CU_ASSERT(t.banded == 0 && isnan(t.coverage)); /* no band without --uncertainty */
}

/* Coverage: the published figure (100) inside [p10, p90], edges included;
 * a failed case and one without a band count for nothing. */
static void test_system_coverage(void)
{
    CU_ASSERT_EQUAL(jsystem_covered(100, 90, 110), 1);
    CU_ASSERT_EQUAL(jsystem_covered(100, 100, 110), 1);
    CU_ASSERT_EQUAL(jsystem_covered(100, 90, 100), 1);
    CU_ASSERT_EQUAL(jsystem_covered(100, 101, 110), 0);
    CU_ASSERT_EQUAL(jsystem_covered(100, 80, 99.9), 0);
    CU_ASSERT_EQUAL(jsystem_covered(100, NAN, 110), -1);
    static const double band[][2] = {{90, 110}, {101, 120}, {95, 105}, {50, 99}, {NAN, NAN}};
    jsystem_case cs[7];
    for (int i = 0; i < 5; i++) {
        cs[i] = made(i < 3 ? "train" : "serve", 0.1);
        cs[i].p10 = band[i][0];
        cs[i].p90 = band[i][1];
    }
    cs[5] = made("serve", NAN);
    cs[6] = made("power", 0.2);
    jsystem_stats t = jsystem_stats_of(cs, 7, "train"), v = jsystem_stats_of(cs, 7, "serve"),
                  a = jsystem_stats_of(cs, 7, NULL);
    /* train: 2 of 3; serve: 0 of 1 (one without a band, one failed); all: 2 of 4. */
    CU_ASSERT(t.banded == 3 && t.covered == 2);
    MS_ASSERT_NEAR(t.coverage, 2.0 / 3, 1e-12);
    CU_ASSERT(v.banded == 1 && v.covered == 0 && v.n == 2 && v.failed == 1);
    MS_ASSERT_WITHIN(v.coverage, 0, 0);
    CU_ASSERT(a.banded == 4 && a.covered == 2 && a.n == 6 && a.failed == 1);
    MS_ASSERT_NEAR(a.coverage, 0.5, 1e-12);
}

/* Little's law on a run's log: 10 requests/s, first token after 0.5 s and
 * 299 more tokens 0.1 s apart: 10 x (0.5 + 29.9) = 304 in flight. */
static void test_system_in_flight(void)
{
    MS_ASSERT_NEAR(jsystem_in_flight(10, 0.5, 0.1, 300), 304, 1e-9);
    MS_ASSERT_NEAR(jsystem_in_flight(2, 0.25, 0.05, 1), 0.5, 1e-12); /* one token: its TTFT */
    CU_ASSERT(isnan(jsystem_in_flight(0, 0.5, 0.1, 300)));
    CU_ASSERT(isnan(jsystem_in_flight(10, -1, 0.1, 300)));
    CU_ASSERT(isnan(jsystem_in_flight(10, 0.5, 0.1, 0.5)));
    CU_ASSERT(isnan(jsystem_in_flight(10, 0.5, NAN, 300)));
    CU_ASSERT(isnan(jsystem_in_flight(1e308, 0.5, 0.1, 300)));
}

static void test_limits(void)
{
    double l[JSYSTEM_KINDS];
    ms_err err = {0};
    CU_ASSERT_EQUAL(jsystem_limits("--max-median", NULL, l, &err), MS_OK);
    CU_ASSERT(isinf(l[0]) && isinf(l[1]));
    CU_ASSERT_EQUAL(jsystem_limits("--max-median", "train=0.12,power=0.19", l, &err), MS_OK);
    CU_ASSERT_STRING_EQUAL(jsystem_kind(0), "train");
    CU_ASSERT(l[0] == 0.12 && l[1] == 0.19);
    CU_ASSERT_EQUAL(jsystem_limits("--max-worst", "0.5", l, &err), MS_OK);
    CU_ASSERT(l[0] == 0.5 && l[1] == 0.5);
    CU_ASSERT_EQUAL(jsystem_limits("--max-worst", "serve=0.3", l, &err), MS_OK);
    CU_ASSERT_STRING_EQUAL(jsystem_kind(2), "serve");
    CU_ASSERT(isinf(l[0]) && isinf(l[1]) && l[2] == 0.3);
    CU_ASSERT_EQUAL(jsystem_limits("--max-worst", "decode=0.1", l, &err), MS_EUSAGE);
    MS_ASSERT_STR_HAS(err.msg,
                      "--max-worst: unknown kind 'decode' (train, power, serve or goodput)");
    CU_ASSERT_EQUAL(jsystem_limits("--max-worst", "-1", l, &err), MS_EUSAGE);
    CU_ASSERT_EQUAL(jsystem_limits("--max-worst", "train=", l, &err), MS_EUSAGE);
}

static const cJSON *kernel_row(const cJSON *json, const char *chip, const char *kernel,
                               const char *shape)
{
    const cJSON *rows = NULL, *x, *o;
    cJSON_ArrayForEach(x, json) /* "rows" is there twice: a count, then the array */
    {
        if (x->string && strcmp(x->string, "rows") == 0 && cJSON_IsArray(x))
            rows = x;
    }
    cJSON_ArrayForEach(o, rows)
    {
        if (strcmp(cJSON_GetObjectItem(o, "chip")->valuestring, chip) == 0 &&
            strstr(cJSON_GetObjectItem(o, "kernel")->valuestring, kernel) &&
            strcmp(cJSON_GetObjectItem(o, "shape")->valuestring, shape) == 0)
            return o;
    }
    return NULL;
}

static void test_kernel_row(void)
{
    jvalid_job j = {0};
    jvalid_out out;
    ms_err err = {0};
    char *argv[] = {"--json"};
    report *r = report_new();
    CU_ASSERT_EQUAL_FATAL(parse(&jvalid_options, &j, 1, argv, &err), MS_OK);
    int rc = jvalid_run(&j, &env, r, &out, &err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, MS_OK);
    cJSON *json = report_json(r);
    const cJSON *row = kernel_row(json, "H100", "cuBLAS bf16 gemm", "M=8192 N=8192 K=8192");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    /* A large bf16 GEMM is compute-bound: at peak, the H100's dense bf16
     * 989.4 TFLOP/s (datasheet); calibrated, that times hopper's bf16
     * GEMM efficiency, its memory time (402.7 MB at 3.35 TB/s times the
     * row's memory efficiency) combined with the compute time by the
     * row's exponent, and the row's overhead a call. */
    double peak = cJSON_GetObjectItem(row, "predicted_at_peak")->valuedouble;
    double cal = cJSON_GetObjectItem(row, "predicted")->valuedouble;
    double measured = cJSON_GetObjectItem(row, "measured")->valuedouble;
    MS_ASSERT_NEAR(peak, 989.4e12, 1e-9);
    double ce = NAN, me = NAN, over_s = NAN, p = NAN;
    CU_ASSERT_EQUAL_FATAL(test_eff_row("hopper,gemm,bf16,", &ce, &me, &over_s, &p), 0);
    if (isnan(me)) /* blank: validate holds a kernel row's bytes at the peak */
        me = 1;
    double flops = 2 * 8192.0 * 8192 * 8192, bytes = 3 * 8192.0 * 8192 * 2;
    MS_ASSERT_NEAR(
        cal, flops / (roof_combine(flops / (989.4e12 * ce), bytes / (3.35e12 * me), p) + over_s),
        1e-6);
    MS_ASSERT_NEAR(cJSON_GetObjectItem(row, "rel_error")->valuedouble, cal / measured - 1, 1e-12);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(row, "unit")->valuestring, "FLOP/s");
    CU_ASSERT_EQUAL(out.n, (size_t)cJSON_GetObjectItem(json, "rows")->valueint);
    cJSON_Delete(json);
    jvalid_out_free(&out);
    report_free(r);
}

static void test_system_bad(void)
{
    jvalid_job j = {0};
    jsystem_out out;
    ms_err err = {0};
    char *argv[] = {"--system", "--cases", "tests/data/system_bad", "--max-median", "train=0.5"};
    report *r = report_new();
    CU_ASSERT_EQUAL_FATAL(parse(&jvalid_options, &j, 5, argv, &err), MS_OK);
    int rc = jsystem_run(&j, &env, r, &out, &err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, MS_OK);
    CU_ASSERT_EQUAL(out.n, 6);
    CU_ASSERT_EQUAL(out.failed, 5);
    CU_ASSERT(out.cases[0].error[0] == '\0' && out.cases[0].predicted > 0);
    CU_ASSERT(out.max_median[0] == 0.5 && isinf(out.max_median[1]) && isinf(out.max_worst[0]));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.cases[1].error, "field 'published': expected a positive"));
    cJSON *json = report_json(r);
    const cJSON *sum = cJSON_GetObjectItem(json, "summary");
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(sum, "pass")));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(json, "results")), 6);
    cJSON_Delete(json);
    jsystem_out_free(&out);
    report_free(r);
}

/* The cases run in worker processes come back in file-name order, each
 * as it runs alone: --jobs 3 gives what --jobs 1 gives. */
static void test_system_jobs(void)
{
    jsystem_out out[2];
    for (int k = 0; k < 2; k++) {
        jvalid_job j = {0};
        ms_err err = {0};
        char *argv[] = {"--system", "--cases", "tests/data/system_bad", "--jobs", k ? "3" : "1"};
        report *r = report_new();
        CU_ASSERT_EQUAL_FATAL(parse(&jvalid_options, &j, 5, argv, &err), MS_OK);
        CU_ASSERT_EQUAL_FATAL(jsystem_run(&j, &env, r, &out[k], &err), MS_OK);
        report_free(r);
    }
    CU_ASSERT_EQUAL_FATAL(out[0].n, 6);
    CU_ASSERT_EQUAL_FATAL(out[1].n, out[0].n);
    CU_ASSERT_EQUAL(out[1].failed, out[0].failed);
    for (size_t i = 0; i < out[0].n; i++) {
        CU_ASSERT_STRING_EQUAL(out[1].cases[i].file, out[0].cases[i].file);
        CU_ASSERT_STRING_EQUAL(out[1].cases[i].error, out[0].cases[i].error);
        CU_ASSERT(out[1].cases[i].predicted == out[0].cases[i].predicted ||
                  (isnan(out[1].cases[i].predicted) && isnan(out[0].cases[i].predicted)));
    }
    CU_ASSERT(strcmp(out[0].cases[0].file, out[0].cases[1].file) < 0);
    CU_ASSERT_STRING_EQUAL(out[1].warnings, out[0].warnings);
    jsystem_out_free(&out[0]);
    jsystem_out_free(&out[1]);
}

static void test_modes(void)
{
    static struct {
        int argc;
        char *argv[4];
        const char *says;
    } bad[] = {
        {2, {"--network", "--system"}, "separate suites"},
        {2, {"--cases", "x"}, "go with --system"},
        {2, {"--kind", "serve"}, "go with --system"},
        {1, {"--markdown"}, "go with --system"},
        {2, {"--jobs", "2"}, "go with --system"},
        {3, {"--system", "--json", "--markdown"}, "choose one"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jvalid_job j = {0};
        jvalid_out out;
        ms_err err = {0};
        report *r = report_new();
        CU_ASSERT_EQUAL_FATAL(parse(&jvalid_options, &j, bad[i].argc, bad[i].argv, &err), MS_OK);
        CU_ASSERT_EQUAL(jvalid_run(&j, &env, r, &out, &err), MS_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].says));
        jvalid_out_free(&out);
        report_free(r);
    }
    jvalid_job j = {0};
    ms_err err = {0};
    char *misspelt[] = {"--max-medain", "0.1"};
    CU_ASSERT_EQUAL(parse(&jvalid_options, &j, 2, misspelt, &err), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "did you mean --max-median?"));
}

static void test_calibrate_dry_run(void)
{
    char path[] = "/tmp/megasim-test-jvalid-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    static const char text[] = "family,op_kind,precision,compute_eff,memory_eff,overhead_us,"
                               "measured_on,source\n";
    CU_ASSERT_EQUAL(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    jvalid_calibrate_job j;
    ms_err err = {0};
    char *argv[] = {"--efficiency", path, "--dry-run"};
    report *r = report_new();
    CU_ASSERT_EQUAL_FATAL(parse(&jvalid_calibrate_options, &j, 3, argv, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(jvalid_calibrate_run(&j, &env, r, &err), MS_OK);
    cJSON *json = report_json(r);
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(json, "written")));
    CU_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(json, "groups")) > 5);
    FILE *f = fopen(path, "r");
    char back[512] = "";
    size_t got = f ? fread(back, 1, sizeof back - 1, f) : 0;
    back[got] = '\0';
    if (f)
        fclose(f);
    CU_ASSERT_STRING_EQUAL(back, text); /* nothing written */
    cJSON_Delete(json);
    report_free(r);
    remove(path);
}

static CU_TestInfo tests[] = {
    {"median and worst |error|", test_median_worst},
    {"system summary of hand-made cases", test_system_summary},
    {"system coverage of hand-made bands", test_system_coverage},
    {"system: requests in flight by Little's law", test_system_in_flight},
    {"thresholds", test_limits},
    {"kernel row against datasheet and efficiency.csv", test_kernel_row},
    {"system suite: bad case files", test_system_bad},
    {"system suite: the same cases in worker processes", test_system_jobs},
    {"modes that do not go together", test_modes},
    {"calibrate --dry-run writes nothing", test_calibrate_dry_run},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jvalid", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jvalid");
}
