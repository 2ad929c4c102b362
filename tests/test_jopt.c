/* Tests of jopt (src/job): a job filled from its option table, the
 * defaults and ranges the table states, the message for each kind of bad
 * value, "did you mean", and the inputs a result echoes. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "job/jopt.h"
#include "test_assert.h"

typedef struct tjob {
    int64_t gpus;
    double bytes, pue, nic_Gbps;
    int algo, json;
    const char *plot;
    jopt_list chip;
    jopt_given_set given;
} tjob;

static const jopt rows[] = {
    {"gpus", JOPT_INT, "N", NULL, "8", 2, 1e6, NULL, offsetof(tjob, gpus), "GPUs taking part"},
    {"bytes", JOPT_BYTES, "SIZE", "B", "1GiB", NAN, NAN, NULL, offsetof(tjob, bytes),
     "message size"},
    {"pue", JOPT_NUM, "X", NULL, NULL, 1, 3, NULL, offsetof(tjob, pue), "facility over IT power"},
    {"nic-Gbps", JOPT_NUM, "X", "Gb/s", NULL, 0, NAN, NULL, offsetof(tjob, nic_Gbps),
     "NIC line rate"},
    {"algo", JOPT_CHOICE, "ALGO", NULL, NULL, NAN, NAN, "ring|tree|hier", offsetof(tjob, algo),
     "algorithm"},
    {"plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(tjob, plot), "draw to FILE"},
    {"chip", JOPT_LIST, "LIST", NULL, NULL, NAN, NAN, NULL, offsetof(tjob, chip), "chips"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(tjob, json), "print JSON"},
};
static const jopt_table table = {rows, sizeof rows / sizeof rows[0], 1, offsetof(tjob, given)};

static void test_defaults_and_values(void)
{
    tjob j;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(jopt_defaults(&table, &j, &err), MS_OK);
    CU_ASSERT_EQUAL(j.gpus, 8);
    MS_ASSERT_EXACT(j.bytes, 1073741824.0);
    CU_ASSERT(isnan(j.pue) && isnan(j.nic_Gbps));
    CU_ASSERT_EQUAL(j.algo, -1);
    CU_ASSERT_PTR_NULL(j.plot);
    CU_ASSERT_EQUAL(j.chip.n, 0);
    CU_ASSERT_EQUAL(j.json, 0);
    CU_ASSERT(jopt_is_set(&table, &j, "gpus"));
    CU_ASSERT(!jopt_given(&table, &j, "gpus")); /* only defaulted */
    CU_ASSERT(!jopt_is_set(&table, &j, "pue"));

    char *argv[] = {"--gpus", "16",   "--bytes=64MB", "--algo", "tree",       "--chip", "H100",
                    "--chip", "H800", "--json",       "extra",  "--nic-Gbps", "400"};
    const char *pos[2];
    int npos, help;
    CU_ASSERT_EQUAL_FATAL(jopt_parse(&table, &j, 13, argv, pos, 2, &npos, &help, &err), MS_OK);
    CU_ASSERT_EQUAL(j.gpus, 16);
    MS_ASSERT_EXACT(j.bytes, 64e6);
    CU_ASSERT_EQUAL(j.algo, 1);
    CU_ASSERT_EQUAL(j.chip.n, 2);
    CU_ASSERT_STRING_EQUAL(j.chip.v[1], "H800");
    CU_ASSERT_EQUAL(j.json, 1);
    /* Given, against defaulted or absent. */
    CU_ASSERT(jopt_given(&table, &j, "gpus") && jopt_given(&table, &j, "chip"));
    CU_ASSERT(!jopt_given(&table, &j, "pue") && !jopt_given(&table, &j, "plot"));
    CU_ASSERT_EQUAL(npos, 1);
    CU_ASSERT_STRING_EQUAL(pos[0], "extra");
    MS_ASSERT_EXACT(j.nic_Gbps, 400);
    CU_ASSERT_EQUAL(help, 0);
    /* A scenario key with '_' for '-'. */
    CU_ASSERT_EQUAL(jopt_set(&table, &j, "nic_Gbps", "200", &err), MS_OK);
    MS_ASSERT_EXACT(j.nic_Gbps, 200);

    char *h[] = {"--gpus", "4", "-h", "--nonsense"};
    CU_ASSERT_EQUAL(jopt_parse(&table, &j, 4, h, pos, 2, &npos, &help, &err), MS_OK);
    CU_ASSERT_EQUAL(help, 1);
}

static void test_errors(void)
{
    static struct {
        int argc;
        char *argv[3];
        const char *has;
    } cases[] = {
        {2, {"--gpus", "1"}, "--gpus '1': expected a whole number from 2 to 1e+06"},
        {2, {"--gpus", "8.5"}, "--gpus '8.5': expected a whole number"},
        {2, {"--gpu", "4"}, "unknown option '--gpu' (did you mean --gpus?)"},
        {1, {"--zzzzzz"}, "unknown option '--zzzzzz'"},
        {2, {"--algo", "star"}, "--algo 'star': expected one of ring,tree,hier"},
        {2, {"--pue", "0.5"}, "--pue '0.5': expected a number from 1 to 3"},
        {2, {"--pue", "1e999"}, "--pue '1e999': expected a number"},
        {2, {"--bytes", "lots"}, "--bytes 'lots': expected a size such as 1GiB"},
        {2, {"--bytes", "-5"}, "--bytes '-5': expected a size"},
        {1, {"--json=1"}, "--json takes no value"},
        {1, {"--gpus"}, "--gpus needs a value (--gpus N)"},
        {2, {"a", "b"}, "unexpected argument 'b'"},
        {2, {"--plot", ""}, "--plot: expected a value, got an empty one"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tjob j;
        ms_err err = {0};
        const char *pos[1];
        int npos, help;
        int rc = jopt_parse(&table, &j, cases[i].argc, cases[i].argv, pos, 1, &npos, &help, &err);
        if (rc != MS_EUSAGE || !strstr(err.msg, cases[i].has))
            fprintf(stderr, "\n  case %zu: rc %d, message '%s', expected '%s'", i, rc, err.msg,
                    cases[i].has);
        CU_ASSERT_EQUAL(rc, MS_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].has));
    }
}

static void test_help_and_inputs(void)
{
    char buf[200];
    CU_ASSERT_STRING_EQUAL(jopt_help_text(&rows[0], buf, sizeof buf),
                           "GPUs taking part (default 8; from 2 to 1e+06)");
    CU_ASSERT_STRING_EQUAL(jopt_help_text(&rows[2], buf, sizeof buf),
                           "facility over IT power (from 1 to 3)");
    CU_ASSERT_STRING_EQUAL(jopt_help_text(&rows[7], buf, sizeof buf), "print JSON");
    CU_ASSERT_STRING_EQUAL(jopt_suggest(&table, "chips"), "chip");
    CU_ASSERT_PTR_NULL(jopt_suggest(&table, "frobnicate"));

    tjob j;
    ms_err err = {0};
    char *argv[] = {"--algo", "hier", "--chip", "H20"};
    const char *pos[1];
    int npos, help;
    CU_ASSERT_EQUAL_FATAL(jopt_parse(&table, &j, 4, argv, pos, 0, &npos, &help, &err), MS_OK);
    report *r = report_new();
    jopt_report_inputs(&table, &j, r);
    cJSON *json = report_json(r), *in = cJSON_GetObjectItem(json, "inputs");
    MS_ASSERT_EXACT(cJSON_GetObjectItem(in, "gpus")->valuedouble, 8);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(in, "algo")->valuestring, "hier");
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(in, "pue")));
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(in, "plot")));
    CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItem(in, "nic_Gbps")); /* the scenario key */
    cJSON *chips = cJSON_GetObjectItem(in, "chip");
    CU_ASSERT(cJSON_IsArray(chips) && cJSON_GetArraySize(chips) == 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(chips, 0)->valuestring, "H20");
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(in, "json")));
    cJSON_Delete(json);
    report_free(r);
}

/* A table of 100 rows keeps track of which were given, the last too
 * (a 64-bit set once lost rows past 64 silently). */
typedef struct wide_job {
    int flag[100];
    jopt_given_set given;
} wide_job;

static void test_wide_table(void)
{
    static char names[100][16]; /* room for any int, which GCC -O1 checks */
    static jopt wide[100];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "o%d", i);
        wide[i] = (jopt){names[i], JOPT_FLAG, NULL,
                         NULL,     NULL,      NAN,
                         NAN,      NULL,      offsetof(wide_job, flag) + (size_t)i * sizeof(int),
                         "a flag"};
    }
    jopt_table t = {wide, 100, 1, offsetof(wide_job, given)};
    wide_job j;
    ms_err err = {0};
    char *argv[] = {"--o3", "--o70", "--o99"};
    const char *pos[1];
    int npos, help;
    CU_ASSERT_EQUAL_FATAL(jopt_parse(&t, &j, 3, argv, pos, 1, &npos, &help, &err), MS_OK);
    CU_ASSERT(jopt_given(&t, &j, "o3") && jopt_given(&t, &j, "o70") && jopt_given(&t, &j, "o99"));
    CU_ASSERT(!jopt_given(&t, &j, "o6") && !jopt_given(&t, &j, "o64") &&
              !jopt_given(&t, &j, "o98"));
    CU_ASSERT(j.flag[70] == 1 && j.flag[69] == 0);
}

static CU_TestInfo tests[] = {
    {"more than 64 rows", test_wide_table},
    {"defaults and values", test_defaults_and_values},
    {"bad values", test_errors},
    {"help and inputs", test_help_and_inputs},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jopt", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jopt");
}
