/* Tests of --uncertainty in the train and serve jobs (src/job/jtrain,
 * src/job/jserve, through src/job/junc): the same seed gives the same
 * bytes, another seed another band, the job's own figures do not move,
 * the band holds its draws in order, and N below 1 is refused naming the
 * option. The runs are DeepSeek-V3 on 2,048 H800s (its scenario's plan)
 * and a small MLA model served on one H100. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/jserve.h"
#include "job/jtrain.h"
#include "test_assert.h"
#include "test_json.h"

/* The tests run in the source tree. */
static const jenv env = {.home = ".", .derived_path = NULL, .version = "test"};

static char *const v3[] = {
    "--model",        "workloads/deepseek-v3/config.json",
    "--chip",         "H800",
    "--gpus",         "2048",
    "--pp",           "16",
    "--ep",           "64",
    "--seq",          "4096",
    "--global-batch", "15360",
    "--precision",    "fp8",
    "--schedule",     "dualpipe",
    "--recompute",    "selective",
    "--stack",        "deepseek-v3",
    "--comm-sms",     "20",
};
#define NV3 (sizeof v3 / sizeof v3[0])

/* The train job on v3 and extra's options, as printed JSON (the caller
 * frees it); NULL on failure, with *rc and err set. */
static char *train_text(int nextra, char **extra, int *rc, ms_err *err)
{
    char *argv[NV3 + 8];
    memcpy(argv, v3, sizeof v3);
    for (int i = 0; i < nextra; i++)
        argv[NV3 + (size_t)i] = extra[i];
    jtrain_job j = {0};
    int npos, help;
    *rc = jopt_parse(&jtrain_options, &j, (int)NV3 + nextra, argv, NULL, 0, &npos, &help, err);
    if (*rc)
        return NULL;
    report *r = report_new();
    jtrain_out out = {0};
    char *text = NULL;
    if (!(*rc = jtrain_run(&j, &env, r, &out, err))) {
        cJSON *json = report_json(r);
        text = cJSON_PrintUnformatted(json);
        cJSON_Delete(json);
    }
    jtrain_out_free(&out);
    report_free(r);
    return text;
}

static void test_train_bands(void)
{
    int rc;
    ms_err err = {0};
    char *a = train_text(4, (char *[]){"--uncertainty", "16", "--seed", "5"}, &rc, &err);
    char *b = train_text(4, (char *[]){"--uncertainty", "16", "--seed", "5"}, &rc, &err);
    char *c = train_text(4, (char *[]){"--uncertainty", "16", "--seed", "6"}, &rc, &err);
    char *plain = train_text(0, NULL, &rc, &err);
    CU_ASSERT_FATAL(a && b && c && plain);
    CU_ASSERT(strcmp(a, b) == 0); /* same seed, same bytes */
    cJSON *ja = cJSON_Parse(a), *jc = cJSON_Parse(c), *jp = cJSON_Parse(plain);
    CU_ASSERT_FATAL(ja && jc && jp);
    double p10 = ms_json_num(ja, "step_time_s_p10"), p50 = ms_json_num(ja, "step_time_s_p50"),
           p90 = ms_json_num(ja, "step_time_s_p90");
    CU_ASSERT(p10 < p50 && p50 < p90);
    CU_ASSERT(p10 != ms_json_num(jc, "step_time_s_p10")); /* another seed, another band */
    /* The job's own figure is the undrawn calibration's. */
    CU_ASSERT(ms_json_num(ja, "step_time_s") == ms_json_num(jp, "step_time_s"));
    CU_ASSERT(ms_json_num(ja, "uncertainty_draws") == 16);
    CU_ASSERT(cJSON_GetObjectItem(jp, "step_time_s_p10") == NULL);
    /* Throughput moves against the step time. */
    CU_ASSERT(ms_json_num(ja, "tokens_per_s_p10") < ms_json_num(ja, "tokens_per_s_p90"));
    cJSON_Delete(ja);
    cJSON_Delete(jc);
    cJSON_Delete(jp);
    free(a);
    free(b);
    free(c);
    free(plain);
}

static void test_train_bad(void)
{
    static char *const bad[][2] = {{"--uncertainty", "0"}, {"--uncertainty", "-3"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        ms_err err = {0};
        char *t = train_text(2, (char **)bad[i], &rc, &err);
        CU_ASSERT(t == NULL && rc == MS_EUSAGE);
        MS_ASSERT_STR_HAS(err.msg, "--uncertainty");
        free(t);
    }
    int rc;
    ms_err err = {0};
    char *t = train_text(3, (char *[]){"--uncertainty", "2", "--peak"}, &rc, &err);
    CU_ASSERT(t == NULL && rc == MS_EUSAGE);
    MS_ASSERT_STR_HAS(err.msg, "--peak");
    free(t);
}

/* Serving: a small MLA model on one H100, 200 requests at time zero. */
static char *serve_text(int nextra, char **extra, int *rc, ms_err *err)
{
    char *argv[32] = {"--model",      "tests/data/models/tiny_mla.json",
                      "--chip",       "H100",
                      "--gpus",       "1",
                      "--input-len",  "fixed:500",
                      "--output-len", "fixed:100",
                      "--requests",   "200",
                      "--rate",       "inf"};
    int n = 14;
    for (int i = 0; i < nextra; i++)
        argv[n++] = extra[i];
    jserve_job j = {0};
    int npos, help;
    *rc = jopt_parse(&jserve_options, &j, n, argv, NULL, 0, &npos, &help, err);
    if (*rc)
        return NULL;
    report *r = report_new();
    jserve_out out = {0};
    char *text = NULL;
    if (!(*rc = jserve_run(&j, &env, r, &out, err))) {
        cJSON *json = report_json(r);
        text = cJSON_PrintUnformatted(json);
        cJSON_Delete(json);
    }
    jserve_out_free(&out);
    report_free(r);
    return text;
}

static void test_serve_bands(void)
{
    int rc;
    ms_err err = {0};
    char *a = serve_text(2, (char *[]){"--uncertainty", "8"}, &rc, &err);
    if (!a)
        printf("\n    %s\n", err.msg);
    char *b = serve_text(2, (char *[]){"--uncertainty", "8"}, &rc, &err);
    char *plain = serve_text(0, NULL, &rc, &err);
    CU_ASSERT_FATAL(a && b && plain);
    CU_ASSERT(strcmp(a, b) == 0);
    cJSON *ja = cJSON_Parse(a), *jp = cJSON_Parse(plain);
    CU_ASSERT_FATAL(ja && jp);
    double p10 = ms_json_num(ja, "output_tokens_per_s_p10"),
           p90 = ms_json_num(ja, "output_tokens_per_s_p90");
    CU_ASSERT(p10 > 0 && p10 < p90);
    CU_ASSERT(ms_json_num(ja, "output_tokens_per_s") == ms_json_num(jp, "output_tokens_per_s"));
    CU_ASSERT(ms_json_num(ja, "ttft_p50_s_p10") < ms_json_num(ja, "ttft_p50_s_p90"));
    cJSON_Delete(ja);
    cJSON_Delete(jp);
    free(a);
    free(b);
    free(plain);
    char *t = serve_text(2, (char *[]){"--uncertainty", "0"}, &rc, &err);
    CU_ASSERT(t == NULL && rc == MS_EUSAGE);
    MS_ASSERT_STR_HAS(err.msg, "--uncertainty");
    free(t);
}

static CU_TestInfo tests[] = {
    {"train: bands repeat for a seed, own figures unmoved", test_train_bands},
    {"train: --uncertainty below 1, or with --peak", test_train_bad},
    {"serve: bands repeat, own figures unmoved, 0 refused", test_serve_bands},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jtrain and jserve --uncertainty", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jtrain");
}
