/* Tests of the training-plan search (src/job/jsearch): a plan's text read
 * back as written, its errors, and the search itself on a small MoE model:
 * what it prunes by its bound never holds a faster plan than it finds (the
 * same top plans as simulating every plan that fits), the compared plan is
 * ranked among them, and a cluster too small for the model says the
 * closest plan and by how much. Ranked by cost or energy, the bound prunes
 * no plan of the top either, and a plan's energy a step is what train
 * draws for it. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/jsearch.h"
#include "job/jtrain.h"
#include "test_assert.h"
#include "test_json.h"

static const jenv env = {.home = ".", .derived_path = NULL, .version = "test"};

static void test_plan_text(void)
{
    jsearch_plan p;
    ms_err err = {0};
    CU_ASSERT_FATAL(jsearch_plan_parse("--x",
                                       "pp=16,ep=64,schedule=dualpipe,recompute=selective,"
                                       "precision=fp8,zero=1,mb=2",
                                       &p, &err) == MS_OK);
    CU_ASSERT(p.tp == 1 && p.pp == 16 && p.vpp == 1 && p.cp == 1 && p.ep == 64);
    CU_ASSERT(p.zero == 1 && p.micro_batch == 2 && p.schedule == SCHED_DUALPIPE);
    CU_ASSERT(p.recompute == PLAN_RECOMPUTE_SELECTIVE && strcmp(p.precision, "fp8") == 0);
    char text[200];
    jsearch_plan_format(&p, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "tp=1,pp=16,vpp=1,cp=1,ep=64,zero=1,mb=2,schedule=dualpipe,"
                                 "recompute=selective,precision=fp8");
    jsearch_plan q;
    CU_ASSERT_FATAL(jsearch_plan_parse("--x", text, &q, &err) == MS_OK);
    CU_ASSERT(memcmp(&p, &q, sizeof p) == 0);
    /* Left out: the defaults. */
    CU_ASSERT_FATAL(jsearch_plan_parse("--x", "tp=2", &q, &err) == MS_OK);
    CU_ASSERT(q.tp == 2 && q.pp == 1 && q.zero == 1 && q.schedule == SCHED_1F1B &&
              q.recompute == PLAN_RECOMPUTE_NONE && strcmp(q.precision, "bf16") == 0);

    static const struct {
        const char *text, *has;
    } bad[] = {
        {"tp=2,tq=1", "unknown key 'tq'"},
        {"tp=2,tp=4", "'tp' is given twice"},
        {"tp=0", "tp=0: expected a whole number from 1"},
        {"zero=4", "zero=4: expected a whole number from 0 to 3"},
        {"pp=2.5", "pp=2.5: expected a whole number"},
        {"tp", "'tp' is not KEY=VALUE"},
        {"tp=1,", "a comma ends it"},
        {",tp=1", "expected KEY=VALUE items"},
        {"schedule=round", "schedule=round: expected one of"},
        {"recompute=some", "expected none, selective or full"},
        {"precision=fp4", "precision=fp4: expected bf16, fp8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_err e = {0};
        int rc = jsearch_plan_parse("--compare-plan", bad[i].text, &q, &e);
        CU_ASSERT_EQUAL(rc, MS_EUSAGE);
        CU_ASSERT(strstr(e.msg, "--compare-plan") != NULL);
        CU_ASSERT(strstr(e.msg, bad[i].has) != NULL);
        if (!strstr(e.msg, bad[i].has))
            printf("\n    '%s': %s\n", bad[i].text, e.msg);
    }
}

/* The search of tiny-mla on gpus H100 with extra options, as JSON (the
 * caller frees it); NULL on failure, with *rc and err set. */
static cJSON *search(const char *gpus, int nextra, char **extra, jsearch_out *out, int *rc,
                     ms_err *err)
{
    char *argv[32] = {"--model",        "tests/data/models/tiny_mla.json",
                      "--chip",         "H100",
                      "--gpus",         (char *)gpus,
                      "--seq",          "1024",
                      "--global-batch", "64",
                      "--top",          "5"};
    int n = 12;
    for (int i = 0; i < nextra; i++)
        argv[n++] = extra[i];
    jsearch_job j = {0};
    int npos, help;
    *rc = jopt_parse(&jsearch_options, &j, n, argv, NULL, 0, &npos, &help, err);
    if (*rc)
        return NULL;
    j.what = "train";
    report *r = report_new();
    cJSON *json = NULL;
    if (!(*rc = jsearch_run(&j, &env, r, out, err)))
        json = report_json(r);
    report_free(r);
    return json;
}

static void test_pruning_loses_nothing(void)
{
    jsearch_out a, b;
    int rc;
    ms_err err = {0};
    char *cmp[] = {"--compare-plan", "tp=1,pp=2,ep=4,zero=1,mb=1,schedule=1f1b"};
    cJSON *pruned = search("16", 2, cmp, &a, &rc, &err);
    if (!pruned)
        printf("\n    search: %s\n", err.msg);
    char *all_args[] = {"--compare-plan", "tp=1,pp=2,ep=4,zero=1,mb=1,schedule=1f1b",
                        "--exhaustive"};
    cJSON *all = search("16", 3, all_args, &b, &rc, &err);
    CU_ASSERT_FATAL(pruned && all);
    CU_ASSERT(a.candidates > 1000 && a.candidates == b.candidates);
    CU_ASSERT(a.pruned_bound > 0 && b.pruned_bound == 0);
    CU_ASSERT(a.simulated < b.simulated);
    /* The same five fastest plans, the same steps, the same rank. */
    const cJSON *ta = cJSON_GetObjectItem(pruned, "top"), *tb = cJSON_GetObjectItem(all, "top");
    CU_ASSERT_FATAL(cJSON_GetArraySize(ta) == 5 && cJSON_GetArraySize(tb) == 5);
    for (int i = 0; i < 5; i++) {
        const cJSON *x = cJSON_GetArrayItem(ta, i), *y = cJSON_GetArrayItem(tb, i);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(x, "plan")->valuestring,
                               cJSON_GetObjectItem(y, "plan")->valuestring);
        CU_ASSERT(ms_json_num(x, "step_time_s") == ms_json_num(y, "step_time_s"));
        if (i > 0) /* fastest first */
            CU_ASSERT(ms_json_num(cJSON_GetArrayItem(ta, i - 1), "step_time_s") <=
                      ms_json_num(x, "step_time_s"));
    }
    CU_ASSERT(a.best_step_s == b.best_step_s);
    CU_ASSERT(a.compare_rank == b.compare_rank && a.compare_rank > 1);
    CU_ASSERT(a.compare_step_s > a.best_step_s);
    /* Every plan of the Pareto set is on it in the full set too. */
    const cJSON *pa = cJSON_GetObjectItem(pruned, "pareto"),
                *pb = cJSON_GetObjectItem(all, "pareto");
    CU_ASSERT(cJSON_GetArraySize(pa) >= 1 && cJSON_GetArraySize(pa) == cJSON_GetArraySize(pb));
    for (int i = 0; i < cJSON_GetArraySize(pa) && i < cJSON_GetArraySize(pb); i++)
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(pa, i), "plan")->valuestring,
                               cJSON_GetObjectItem(cJSON_GetArrayItem(pb, i), "plan")->valuestring);
    cJSON_Delete(pruned);
    cJSON_Delete(all);
}

/* energy_j of one step of tiny-mla on 16 H100 with the plan's options. */
static double train_energy_j(int n, char **plan_args)
{
    char *argv[32] = {"--model",        "tests/data/models/tiny_mla.json",
                      "--chip",         "H100",
                      "--gpus",         "16",
                      "--seq",          "1024",
                      "--global-batch", "64"};
    int argc = 10;
    for (int i = 0; i < n; i++)
        argv[argc++] = plan_args[i];
    jtrain_job j = {0};
    int npos, help;
    ms_err err = {0};
    if (jopt_parse(&jtrain_options, &j, argc, argv, NULL, 0, &npos, &help, &err))
        return NAN;
    report *r = report_new();
    jtrain_out o = {0};
    double e = NAN;
    if (jtrain_run(&j, &env, r, &o, &err) == MS_OK) {
        cJSON *json = report_json(r);
        e = ms_json_num(json, "energy_j");
        cJSON_Delete(json);
    } else {
        printf("\n    train: %s\n", err.msg);
    }
    jtrain_out_free(&o);
    report_free(r);
    return e;
}

static void test_objectives(void)
{
    const char *objectives[] = {"energy", "cost"};
    const char *keys[] = {"energy_per_step_j", "usd_per_step"};
    for (int k = 0; k < 2; k++) {
        jsearch_out a, b;
        int rc;
        ms_err err = {0};
        char *args[] = {"--objective", (char *)objectives[k], "--compare-plan",
                        "tp=1,pp=2,ep=4,zero=1,mb=1,schedule=1f1b", "--exhaustive"};
        cJSON *pruned = search("16", 4, args, &a, &rc, &err);
        if (!pruned)
            printf("\n    search: %s\n", err.msg);
        cJSON *all = search("16", 5, args, &b, &rc, &err);
        CU_ASSERT_FATAL(pruned && all);
        CU_ASSERT(a.pruned_bound > 0 && a.simulated < b.simulated);
        const cJSON *ta = cJSON_GetObjectItem(pruned, "top"), *tb = cJSON_GetObjectItem(all, "top");
        CU_ASSERT_FATAL(cJSON_GetArraySize(ta) == 5 && cJSON_GetArraySize(tb) == 5);
        for (int i = 0; i < 5; i++) {
            const cJSON *x = cJSON_GetArrayItem(ta, i), *y = cJSON_GetArrayItem(tb, i);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(x, "plan")->valuestring,
                                   cJSON_GetObjectItem(y, "plan")->valuestring);
            CU_ASSERT(ms_json_num(x, keys[k]) == ms_json_num(y, keys[k]));
            if (i > 0) /* the least first */
                CU_ASSERT(ms_json_num(cJSON_GetArrayItem(ta, i - 1), keys[k]) <=
                          ms_json_num(x, keys[k]));
        }
        CU_ASSERT(a.compare_rank == b.compare_rank && a.compare_rank > 1);
        /* The compared plan's energy a step is train's for it. */
        const cJSON *cmp = cJSON_GetObjectItem(pruned, "compare");
        char *plan_args[] = {"--tp",   "1", "--pp",          "2", "--ep",       "4",
                             "--zero", "1", "--micro-batch", "1", "--schedule", "1f1b"};
        double e = train_energy_j(12, plan_args);
        MS_ASSERT_WITHIN(ms_json_num(cmp, "energy_per_step_j"), e, 1e-9 * e);
        CU_ASSERT(ms_json_num(cmp, keys[k]) >
                  ms_json_num(cJSON_GetObjectItem(pruned, "best"), keys[k]));
        cJSON_Delete(pruned);
        cJSON_Delete(all);
    }
}

static void test_nothing_fits(void)
{
    jsearch_out o;
    int rc;
    ms_err err = {0};
    /* GPT-3 175B on two GPUs: nothing fits; the closest is named. */
    char *argv[] = {"--model",        "workloads/gpt-3-175b.json",
                    "--chip",         "H100",
                    "--gpus",         "2",
                    "--seq",          "2048",
                    "--global-batch", "8"};
    jsearch_job j = {0};
    int npos, help;
    CU_ASSERT_FATAL(jopt_parse(&jsearch_options, &j, 10, argv, NULL, 0, &npos, &help, &err) ==
                    MS_OK);
    j.what = "train";
    report *r = report_new();
    rc = jsearch_run(&j, &env, r, &o, &err);
    report_free(r);
    CU_ASSERT_EQUAL(rc, MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "no plan of the") != NULL);
    CU_ASSERT(strstr(err.msg, "the closest, tp=") != NULL);
    CU_ASSERT(strstr(err.msg, "GB more than its") != NULL);
    CU_ASSERT(o.pruned_memory == o.candidates && o.simulated == 0);
}

static CU_TestInfo tests[] = {
    {"a plan's text reads back as written; its errors", test_plan_text},
    {"pruning by the bound loses no plan of the top or the Pareto set", test_pruning_loses_nothing},
    {"ranked by energy or cost: pruning loses nothing, train's energy", test_objectives},
    {"nothing fits: the closest plan and by how much", test_nothing_fits},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jsearch", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jsearch");
}
