/* Tests of jmodel (src/job): the model job run on DeepSeek-V3's published
 * config.json, its report held to figures known by hand and from the
 * DeepSeek-V3 technical report (arXiv:2412.19437); the options its table
 * states and the errors it returns; the importer's warnings handed back,
 * not printed. Run from the source tree (data found with home "."). */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "job/jmodel.h"
#include "test_assert.h"
#include "test_json.h"

#define V3 "workloads/deepseek-v3/config.json"

static const jenv env = {.home = ".", .derived_path = NULL, .version = "9.9.9"};

/* Parses argv (options and the model file) with the job's table and runs
 * it; *json (the caller deletes it) is the report's JSON when it ran. */
static int run(int argc, char **argv, char *warn, cJSON **json, ms_err *err)
{
    jmodel_job j;
    const char *pos[1];
    int npos, help;
    *json = NULL;
    int rc = jopt_parse(&jmodel_options, &j, argc, argv, pos, 1, &npos, &help, err);
    if (rc)
        return rc;
    if (npos == 1)
        j.model = pos[0];
    j.warn = warn;
    report *r = report_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    rc = jmodel_run(&j, &env, r, err);
    if (!rc)
        *json = report_json(r);
    report_free(r);
    return rc;
}

/* DeepSeek-V3 with the defaults (context 4096, bf16). */
static void test_deepseek_v3(void)
{
    /* The report gives 671B total and 37B activated, each rounded to a
     * whole billion: total within 0.5B (0.075%); activated within 2%, as
     * the report does not say whether the input embedding (0.93B) is
     * counted, and the two conventions give 37.55B and 36.63B. The KV
     * cache is exact: (kv_lora_rank 512 + rope 64) x 61 layers x 2 bytes;
     * the GEMM FLOPs are exactly 2 per weight a token meets; training is
     * 3x the forward pass, 4x with full recompute (jmodel.h). */
    static const struct {
        const char *path;
        double want, rel;
    } cases[] = {
        {"params_total", 671e9, 0.5e9 / 671e9},
        {"params_active", 37e9, 0.02},
        {"params_active_excl_embedding", 37e9, 0.02},
        {"params_embedding", 129280.0 * 7168, 0},           /* vocab x hidden */
        {"per_layer.kv_cache_bytes_per_token", 576 * 2, 0}, /* one layer */
        {"kv_cache_bytes_per_token", 576 * 61 * 2, 0},
        {"kv_cache_bytes_at_context", 576 * 61 * 2 * 4096.0, 0},
        {"context", 4096, 0},
        {"inputs.context", 4096, 0},
        {"inputs.batch", 1, 0},
    };
    char warn[JMODEL_WARN_MAX];
    cJSON *j;
    ms_err err = {0};
    char *argv[] = {V3};
    CU_ASSERT_EQUAL_FATAL(run(1, argv, warn, &j, &err), MS_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        MS_ASSERT_NEAR_AS(cases[i].path, ms_json_num(j, cases[i].path), cases[i].want,
                          cases[i].rel);
    MS_ASSERT_NEAR_AS("61 layers", ms_json_num(j, "kv_cache_bytes_per_token"),
                      61 * ms_json_num(j, "per_layer.kv_cache_bytes_per_token"), 0);
    MS_ASSERT_NEAR_AS("GEMM FLOPs", ms_json_num(j, "flops_per_token_forward_gemm"),
                      2 * ms_json_num(j, "params_matmul_active"), 1e-12);
    MS_ASSERT_NEAR_AS("training", ms_json_num(j, "flops_per_token_training"),
                      3 * ms_json_num(j, "flops_per_token_forward"), 1e-12);
    MS_ASSERT_NEAR_AS("recompute", ms_json_num(j, "flops_per_token_training_recompute"),
                      4 * ms_json_num(j, "flops_per_token_forward"), 1e-12);
    /* bf16 recipe: 2-byte weights and gradients, 12 bytes of fp32 master
     * weights and Adam moments per parameter (ZeRO, section 3.1), for the
     * main model and the MTP module it trains beside it. */
    MS_ASSERT_NEAR_AS("optimizer", ms_json_num(j, "training_memory.optimizer_bytes"),
                      12 * (ms_json_num(j, "params_total") + ms_json_num(j, "params_mtp")), 1e-12);
    MS_ASSERT_NEAR_AS("weights", ms_json_num(j, "training_memory.weights_bytes"),
                      2 * (ms_json_num(j, "params_total") + ms_json_num(j, "params_mtp")), 1e-12);
    CU_ASSERT_STRING_EQUAL(j->child->string, "megasim_version");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "megasim_version")->valuestring, "9.9.9");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "attention")->valuestring, "mla");
    CU_ASSERT_PTR_NOT_NULL(strstr(cJSON_GetObjectItem(j, "description")->valuestring, "61 layers"));
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "attention_comparison")); /* not asked for */
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "layer_ops"));
    CU_ASSERT_STRING_EQUAL(warn, ""); /* V3's config.json is understood in full */
    cJSON_Delete(j);
}

/* MLA against MHA of 128 heads of 128 and GQA of 8 such heads. */
static void test_compare_attention(void)
{
    cJSON *j;
    ms_err err = {0};
    char *argv[] = {V3, "--compare-attention", "--precision", "fp8"};
    CU_ASSERT_EQUAL_FATAL(run(4, argv, NULL, &j, &err), MS_OK);
    cJSON *rows = cJSON_GetObjectItem(j, "attention_comparison");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(rows), 4);
    MS_ASSERT_NEAR_AS("MHA bytes",
                      ms_json_num(cJSON_GetArrayItem(rows, 0), "kv_cache_bytes_per_token"),
                      2.0 * 128 * 128 * 61, 0); /* fp8: one byte */
    MS_ASSERT_NEAR_AS("MLA vs MHA", ms_json_num(cJSON_GetArrayItem(rows, 2), "ratio_to_mha"),
                      576.0 / 32768, 0);
    MS_ASSERT_NEAR_AS("MLA vs GQA", ms_json_num(cJSON_GetArrayItem(rows, 2), "ratio_to_gqa"),
                      576.0 / 2048, 0);
    MS_ASSERT_NEAR_AS("saving", ms_json_num(j, "mla_saving_vs_mha"), 1 - 576.0 / 32768, 1e-15);
    cJSON_Delete(j);
}

/* One layer's ops in prefill: the query down-projection of 2 x 512 tokens. */
static void test_ops(void)
{
    cJSON *j;
    ms_err err = {0};
    char *argv[] = {V3, "--ops", "--phase", "prefill", "--batch", "2", "--context", "512"};
    CU_ASSERT_EQUAL_FATAL(run(8, argv, NULL, &j, &err), MS_OK);
    cJSON *layers = cJSON_GetObjectItem(j, "layer_ops");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(layers), 2); /* 3 dense layers, 58 MoE */
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 0), "layer")->valuestring,
                           "dense");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "ops_phase")->valuestring, "prefill");
    const cJSON *op, *q = NULL;
    cJSON_ArrayForEach(op, cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 1), "ops"))
    {
        if (strcmp(cJSON_GetObjectItem(op, "name")->valuestring, "q_down") == 0)
            q = op;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    MS_ASSERT_NEAR_AS("M", ms_json_num(q, "m"), 1024, 0);
    MS_ASSERT_NEAR_AS("N", ms_json_num(q, "n"), 1536, 0); /* q_lora_rank */
    MS_ASSERT_NEAR_AS("K", ms_json_num(q, "k"), 7168, 0); /* hidden */
    MS_ASSERT_NEAR_AS("FLOPs", ms_json_num(q, "flops"), 2.0 * 1024 * 1536 * 7168, 0);
    cJSON_Delete(j);
}

/* Each bad request fails with its code and a message naming the fault. */
static void test_errors(void)
{
    static struct { /* not const: argv is jopt_parse's char ** */
        int argc;
        char *argv[4];
        int code;
        const char *says;
        int ran; /* 0: the table refused it before the job ran */
    } cases[] = {
        {0, {NULL}, MS_EUSAGE, "name one model file", 1},
        {3, {V3, "--precision", "fp7"}, MS_EUSAGE, "--precision 'fp7'", 1},
        {3, {V3, "--recipe", "fp9"}, MS_EUSAGE, "--recipe 'fp9'", 1},
        {3, {V3, "--phase", "prefill"}, MS_EUSAGE, "go with --ops", 1},
        {3, {V3, "--context", "0"}, MS_EUSAGE, "from 1 to 1e+12", 0},
        {2, {V3, "--compare-atention"}, MS_EUSAGE, "did you mean --compare-attention?", 0},
        {1, {"workloads/none.json"}, MS_EIO, "workloads/none.json", 1},
        {1, {"tests/data/models/zero_layers.json"}, MS_EINVAL, "num_hidden_layers", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char warn[JMODEL_WARN_MAX] = "stale";
        cJSON *j;
        ms_err err = {0};
        int rc = run(cases[i].argc, cases[i].argv, warn, &j, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].says))
            fprintf(stderr, "\n  case %zu: got %d '%s', want %d '%s'", i, rc, err.msg,
                    cases[i].code, cases[i].says);
        CU_ASSERT_EQUAL(rc, cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].says));
        CU_ASSERT_PTR_NULL(j);
        /* A job that ran and failed leaves no warnings, stale or partial. */
        CU_ASSERT_STRING_EQUAL(warn, cases[i].ran ? "" : "stale");
    }
}

/* Fields the importer does not know come back to the caller. */
static void test_warnings(void)
{
    char warn[JMODEL_WARN_MAX];
    cJSON *j;
    ms_err err = {0};
    char *argv[] = {"tests/data/models/unknown_fields.json"};
    CU_ASSERT_EQUAL_FATAL(run(1, argv, warn, &j, &err), MS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(warn, "foo_bar"));
    CU_ASSERT_PTR_NOT_NULL(strstr(warn, "sliding_window_pattern"));
    cJSON_Delete(j);
}

static CU_TestInfo tests[] = {
    {"DeepSeek-V3 against its report", test_deepseek_v3},
    {"attention compared", test_compare_attention},
    {"one layer's ops", test_ops},
    {"errors", test_errors},
    {"importer warnings handed back", test_warnings},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jmodel", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jmodel");
}
