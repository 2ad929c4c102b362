/* Tests of the model arithmetic (src/model): parameter counts of published
 * models from their own config.json against the published totals, exact
 * KV-cache sizes, a small hand-computed model, the FLOPs and bytes of
 * single ops, and bad configs each rejected naming file and field. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/modelfile.h"
#include "model/mops.h"
#include "test_assert.h"

static int load(const char *path, model *m)
{
    char warn[MODELFILE_WARN_MAX];
    ms_err err = {0};
    int rc = modelfile_load(path, m, warn, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    return rc;
}

/* Published totals: DeepSeek-V3 report §4.2 (671B total, 37B activated);
 * Llama 3.1 405B; Mixtral-8x7B 46.7B total, 12.9B active (Mistral AI's
 * announcement); GPT-2 small 124M. */
static void test_published_totals(void)
{
    static const struct {
        const char *file;
        double total, total_tol, active, active_tol;
    } cases[] = {
        {"workloads/deepseek-v3/config.json", 671e9, 0.01, 37e9, 0.02},
        {"workloads/llama-3.1-405b/config.json", 405e9, 0.01, 0, 0},
        {"workloads/mixtral-8x7b/config.json", 46.7e9, 0.01, 12.9e9, 0.01},
        {"workloads/gpt2/config.json", 124e6, 0.01, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        model m;
        CU_ASSERT_FATAL(load(cases[i].file, &m) == MS_OK);
        model_params p = model_param_counts(&m);
        MS_ASSERT_NEAR_AS(cases[i].file, p.total, cases[i].total, cases[i].total_tol);
        if (cases[i].active > 0)
            MS_ASSERT_NEAR_AS(cases[i].file, p.active, cases[i].active, cases[i].active_tol);
    }
    /* V3 both conventions, worked in models.md §2.3: 37.55B with the input
     * embedding, 36.63B without; the MTP module 11.61B unique. */
    model v3;
    CU_ASSERT_FATAL(load("workloads/deepseek-v3/config.json", &v3) == MS_OK);
    model_params p = model_param_counts(&v3);
    MS_ASSERT_NEAR_AS("V3 active incl. embedding", p.active, 37.55e9, 0.001);
    MS_ASSERT_NEAR_AS("V3 active excl. embedding", p.active_excl_embedding, 36.63e9, 0.001);
    MS_ASSERT_EXACT_AS("V3 embedding", p.embedding, 129280.0 * 7168);
    MS_ASSERT_NEAR_AS("V3 MTP", p.mtp, 11.61e9, 0.002);
}

/* DeepSeek-V3's checkpoint is FP8 in 128 x 128 blocks (its
 * quantization_config); Llama 3's config has none. */
static void test_fp8_block(void)
{
    model v3, l3;
    CU_ASSERT_FATAL(load("workloads/deepseek-v3/config.json", &v3) == MS_OK);
    CU_ASSERT_FATAL(load("workloads/llama-3-70b/config.json", &l3) == MS_OK);
    CU_ASSERT_EQUAL(v3.fp8_block, 128);
    CU_ASSERT_EQUAL(l3.fp8_block, 0);
}

static void test_kv_cache_exact(void)
{
    model v3, l70;
    CU_ASSERT_FATAL(load("workloads/deepseek-v3/config.json", &v3) == MS_OK);
    CU_ASSERT_FATAL(load("workloads/llama-3-70b/config.json", &l70) == MS_OK);
    /* (kv_lora_rank + qk_rope_head_dim) x layers x 2 bytes */
    MS_ASSERT_EXACT_AS("V3 KV bf16", model_kv_bytes_per_token(&v3, MS_BF16), (512 + 64) * 61 * 2.0);
    MS_ASSERT_EXACT_AS("V3 KV fp8", model_kv_bytes_per_token(&v3, MS_FP8), (512 + 64) * 61 * 1.0);
    /* 2 x kv_heads x head_dim x layers x 2 bytes */
    MS_ASSERT_EXACT_AS("Llama-3-70B KV bf16", model_kv_bytes_per_token(&l70, MS_BF16),
                       2.0 * 8 * 128 * 80 * 2);
    MS_ASSERT_EXACT_AS("V3 KV = 70,272 B", model_kv_bytes_per_token(&v3, MS_BF16), 70272);
}

/* V3's per-layer figures from models.md §2.1-2.2, recomputed by hand:
 * MLA wq_a 11,010,048 + wq_b 37,748,736 + wkv_a 4,128,768 + wkv_b
 * 16,777,216 + wo 117,440,512 = 187,105,280, plus 1,536 + 512 norm weights;
 * one expert 3 x 7168 x 2048; a MoE layer 257 experts + a 256 x 7168
 * router + 256 biases. The whole model: 671,026,419,200 (models.md §2.3). */
static void test_v3_per_layer(void)
{
    model v3;
    CU_ASSERT_FATAL(load("workloads/deepseek-v3/config.json", &v3) == MS_OK);
    MS_ASSERT_EXACT_AS("V3 attention", model_attn_params(&v3), 187105280.0 + 2048);
    MS_ASSERT_EXACT_AS("V3 total", model_param_counts(&v3).total, 671026419200.0);
    MS_ASSERT_EXACT_AS("V3 expert", model_expert_params(&v3), 44040192);
    MS_ASSERT_EXACT_AS("V3 MoE layer", model_moe_params(&v3), 11320164608.0);
    MS_ASSERT_EXACT_AS("V3 MoE active", model_moe_active_params(&v3), 398196992);
    MS_ASSERT_EXACT_AS("V3 dense FFN", model_dense_ffn_params(&v3), 396361728);
    CU_ASSERT_EQUAL(model_moe_layers(&v3), 58);
    /* Attention per key: 2 n_h (d_h + d_r + d_v) = 81,920 in the training
     * form; 2 n_h (2 d_c + d_r) = 278,528 absorbed (FlashMLA's count). */
    model_flops f = model_forward_flops(&v3, 1, 0), fa = model_forward_flops(&v3, 1, 1);
    MS_ASSERT_EXACT_AS("V3 attention per key", f.attention, 61 * 81920.0);
    MS_ASSERT_EXACT_AS("V3 absorbed per key", fa.attention, 61 * 278528.0);
    MS_ASSERT_EXACT_AS("same GEMMs in both forms", f.gemm, fa.gemm);
    /* Training at 4096: 6 x 36.6B matmul + 3 x 61 x 81,920 x 2048.5 =
     * about 250 GFLOP per token, ISCA'25 Table 2's figure. */
    model_train_flops t = model_training_flops(&v3, 4096);
    MS_ASSERT_EXACT_AS("V3 training attention", 3 * t.forward.attention, 3 * 61 * 81920.0 * 2048.5);
    MS_ASSERT_NEAR_AS("V3 training FLOPs", t.training, 250e9, 0.01);
    MS_ASSERT_EXACT_AS("recompute is one more forward", t.training_recompute, 4 * t.forward.total);
}

/* tests/data/models/tiny_mla.json, every figure worked by hand:
 * attention 16384 + 64 + 6144 + 10240 + 32 + 4096 + 16384 = 53,344;
 * dense FFN 3 x 256 x 512 = 393,216; expert 3 x 256 x 64 = 49,152;
 * MoE 9 x 49,152 + 8 x 256 + 8 = 444,424 (active 3 x 49,152 + 2,056);
 * total 2 x 256,000 + 4 x 53,344 + 4 x 512 + 256 + 393,216 + 3 x 444,424. */
static void test_tiny_model(void)
{
    model m;
    CU_ASSERT_FATAL(load("tests/data/models/tiny_mla.json", &m) == MS_OK);
    model_params p = model_param_counts(&m);
    MS_ASSERT_EXACT_AS("tiny attention", model_attn_params(&m), 53344);
    MS_ASSERT_EXACT_AS("tiny MoE", model_moe_params(&m), 444424);
    MS_ASSERT_EXACT_AS("tiny MoE active", model_moe_active_params(&m), 149512);
    MS_ASSERT_EXACT_AS("tiny total", p.total, 2454168);
    MS_ASSERT_EXACT_AS("tiny active", p.active, 1569432);
    MS_ASSERT_EXACT_AS("tiny MTP", p.mtp, 498280 + 131840);
    MS_ASSERT_EXACT_AS("tiny matmul", p.matmul_active, 1310720);
    MS_ASSERT_EXACT_AS("tiny forward GEMM FLOPs", model_forward_flops(&m, 1, 0).gemm, 2621440);
    MS_ASSERT_EXACT_AS("tiny KV", model_kv_bytes_per_token(&m, MS_BF16), (32 + 8) * 4 * 2.0);
    /* bf16 recipe: 16 bytes per parameter, MTP included. */
    model_memory mem = model_training_memory(&m, model_recipe_find("bf16"));
    MS_ASSERT_EXACT_AS("tiny bf16 state", mem.weights_B + mem.grads_B + mem.optimizer_B,
                       16.0 * (2454168 + 630120));
    CU_ASSERT(model_recipe_find("fp16") == NULL);
}

static const mop *find_op(const mop *ops, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    printf("\n    no op %s\n", name);
    return NULL;
}

/* Op FLOPs and bytes worked by hand. */
static void test_ops(void)
{
    model l70, v3;
    ms_err err = {0};
    mop ops[MOPS_MAX];
    size_t n;
    CU_ASSERT_FATAL(load("workloads/llama-3-70b/config.json", &l70) == MS_OK);
    CU_ASSERT_FATAL(load("workloads/deepseek-v3/config.json", &v3) == MS_OK);

    /* Llama-3-70B decode, 8 sequences, 1024 cached tokens, bf16. */
    CU_ASSERT_FATAL(mops_layer(&l70, 0, MOPS_DECODE, 8, 1024, MS_BF16, ops, &n, &err) == MS_OK);
    const mop *o = find_op(ops, n, "qkv_proj");
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT(o->m == 8 && o->n == 10240 && o->k == 8192);
    MS_ASSERT_EXACT_AS("qkv FLOPs", o->flops, 2.0 * 8 * 10240 * 8192);
    MS_ASSERT_EXACT_AS("qkv bytes", o->bytes, (10240.0 * 8192 + 8 * 8192 + 8 * 10240) * 2);
    o = find_op(ops, n, "attn_core");
    CU_ASSERT_FATAL(o != NULL);
    MS_ASSERT_EXACT_AS("attn FLOPs", o->flops, 8 * 4.0 * 64 * 128 * 1024);
    MS_ASSERT_EXACT_AS("attn bytes (KV read)", o->bytes,
                       (8 * 1024 * 2.0 * 8 * 128 + 8 * 2.0 * 64 * 128) * 2);
    o = find_op(ops, n, "ffn_gate_up");
    CU_ASSERT_FATAL(o != NULL);
    MS_ASSERT_EXACT_AS("gate_up FLOPs", o->flops, 2.0 * 8 * 57344 * 8192);
    o = find_op(ops, n, "ffn_down");
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT(o->m == 8 && o->n == 8192 && o->k == 28672);

    /* Llama prefill of 2 x 100 tokens: causal, 50.5 keys on average. */
    CU_ASSERT_FATAL(mops_layer(&l70, 0, MOPS_PREFILL, 2, 100, MS_BF16, ops, &n, &err) == MS_OK);
    o = find_op(ops, n, "attn_core");
    CU_ASSERT_FATAL(o != NULL);
    MS_ASSERT_EXACT_AS("prefill attn FLOPs", o->flops, 200 * 4.0 * 64 * 128 * 50.5);
    CU_ASSERT(find_op(ops, n, "qkv_proj")->m == 200);

    /* DeepSeek-V3 decode, absorbed MLA, 1 sequence, 1000 cached tokens. */
    CU_ASSERT_FATAL(mops_layer(&v3, 1, MOPS_DECODE, 1, 1000, MS_BF16, ops, &n, &err) == MS_OK);
    o = find_op(ops, n, "attn_core_absorbed");
    CU_ASSERT_FATAL(o != NULL);
    MS_ASSERT_EXACT_AS("MLA absorbed FLOPs", o->flops, (2.0 * 128 * 576 + 2.0 * 128 * 512) * 1000);
    MS_ASSERT_EXACT_AS("MLA absorbed bytes", o->bytes, (1000.0 * 576 + 128.0 * (576 + 512)) * 2);
    o = find_op(ops, n, "q_absorb_uk");
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT(o->count == 128 && o->n == 512 && o->k == 128);
    MS_ASSERT_EXACT_AS("W_UK absorb FLOPs", o->flops, 2.0 * 512 * 128 * 128);
    o = find_op(ops, n, "experts_gate_up");
    CU_ASSERT_FATAL(o != NULL);
    MS_ASSERT_NEAR_AS("routed expert FLOPs: 8 tokens' worth", o->flops, 2.0 * 8 * 4096 * 7168,
                      1e-12);
    MS_ASSERT_NEAR_AS("experts touched by 8 routed tokens", o->count,
                      256 * (1 - pow(255.0 / 256, 8)), 1e-12);
    /* One layer's decode GEMM FLOPs equal 2 x its active matmul weights. */
    double g = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].kind, "gemm") == 0)
            g += ops[i].flops;
    MS_ASSERT_NEAR_AS("layer GEMMs = 2 x active weights", g,
                      2 * (model_attn_params(&v3) - 2048 + model_moe_active_params(&v3) - 256),
                      1e-12);

    CU_ASSERT_EQUAL(mops_layer(&l70, 1, MOPS_DECODE, 1, 1, MS_BF16, ops, &n, &err), MS_EINVAL);
    CU_ASSERT_EQUAL(mops_layer(&l70, 0, MOPS_DECODE, 0, 1, MS_BF16, ops, &n, &err), MS_EINVAL);
}

static void test_bad_configs(void)
{
    static const struct {
        const char *file, *expect;
        int code;
    } cases[] = {
        {"not_json.json", "not_json.json:2: not valid JSON", MS_EPARSE},
        {"no_hidden_size.json", "field 'hidden_size': missing", MS_EINVAL},
        {"zero_layers.json", "field 'num_hidden_layers': expected a positive whole number, got 0",
         MS_EINVAL},
        {"negative_layers.json",
         "field 'num_hidden_layers': expected a positive whole number, got -4", MS_EINVAL},
        {"text_layers.json", "field 'num_hidden_layers': expected a whole number, got eighty",
         MS_EINVAL},
        {"too_many_experts_per_token.json", "field 'num_experts_per_tok': 9 is more than the 8",
         MS_EINVAL},
        {"unknown_attention_kind.json",
         "field 'attention.kind': expected mha, gqa, mqa or mla, got 'linear'", MS_EINVAL},
        {"unknown_model_type.json", "field 'model_type': 'mamba' is not a layout", MS_EINVAL},
        {"bad_fp8_block.json",
         "field 'quantization_config.weight_block_size': expected two whole numbers", MS_EINVAL},
        {"native_unknown_field.json", "field 'attention.heads': unknown", MS_EINVAL},
        {"no_such_file.json", "no_such_file.json: cannot open", MS_EIO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], warn[MODELFILE_WARN_MAX];
        snprintf(path, sizeof path, "tests/data/models/%s", cases[i].file);
        model m;
        ms_err err = {0};
        int rc = modelfile_load(path, &m, warn, &err);
        int ok = rc == cases[i].code && strstr(err.msg, cases[i].expect) && strstr(err.msg, path);
        if (!ok)
            printf("\n    %s: rc %d \"%s\"; expected %d \"%s\"\n", cases[i].file, rc, err.msg,
                   cases[i].code, cases[i].expect);
        CU_ASSERT(ok);
    }
}

static void test_warnings(void)
{
    char warn[MODELFILE_WARN_MAX];
    model m;
    ms_err err = {0};
    CU_ASSERT_FATAL(modelfile_load("tests/data/models/unknown_fields.json", &m, warn, &err) ==
                    MS_OK);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(warn, "2 fields not understood, ignored: foo_bar, sliding_window_pattern"));
    /* Published configs read clean: every field is understood. */
    static const char *const clean[] = {"deepseek-v3",  "deepseek-v2-lite", "llama-3-70b",
                                        "mixtral-8x7b", "qwen3-235b-a22b",  "gpt2",
                                        "gpt-neox-20b"};
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "workloads/%s/config.json", clean[i]);
        CU_ASSERT_FATAL(modelfile_load(path, &m, warn, &err) == MS_OK);
        if (warn[0])
            printf("\n    %s warns: %s", clean[i], warn);
        CU_ASSERT(warn[0] == '\0');
    }
    /* The 405B copy lacks model_type and tie_word_embeddings: both said. */
    CU_ASSERT_FATAL(modelfile_load("workloads/llama-3.1-405b/config.json", &m, warn, &err) ==
                    MS_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(warn, "no 'model_type'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(warn, "'tie_word_embeddings' absent"));
}

/* Megatron-LM's FLOP counts, by hand from the formulas: eq. 3 of
 * Narayanan et al. 2021 for GPT-3 175B (l 96, h 12288, V 50257, s 2048):
 * 96 l h^2 (1 + s/(6h) + V/(16 l h)) = 1.43393e12 per token, and
 * Megatron-Core's 72 l h^2 (1 + s/(6h) + V/(12 l h)) = 1.07637e12; for
 * Llama-2-13B (gated FFN 13824, l 40, h 5120, V 32000, s 4096):
 * 12 l h^2 ((2 + s/h) + 1.5 x 13824/h) + 6 V h = 8.71760e10. */
static void test_megatron_flops(void)
{
    model m;
    CU_ASSERT_FATAL(load("workloads/gpt-3-175b.json", &m) == MS_OK);
    MS_ASSERT_NEAR_AS("eq. 3", model_megatron_flops_per_token(&m, 2048, 1), 1.4339294576640e12,
                      1e-12);
    MS_ASSERT_NEAR_AS("megatron-core", model_megatron_flops_per_token(&m, 2048, 0),
                      1.0763734302720e12, 1e-12);
    CU_ASSERT_FATAL(load("workloads/llama-2-13b.json", &m) == MS_OK);
    MS_ASSERT_NEAR_AS("gated", model_megatron_flops_per_token(&m, 4096, 0), 8.71759872e10, 1e-12);
}

static CU_TestInfo model_tests[] = {
    {"Megatron-LM FLOP counts", test_megatron_flops},
    {"published totals from config.json", test_published_totals},
    {"an FP8 checkpoint in blocks", test_fp8_block},
    {"KV cache exactly", test_kv_cache_exact},
    {"DeepSeek-V3 per layer", test_v3_per_layer},
    {"hand-computed tiny MLA+MoE model", test_tiny_model},
    {"op shapes, FLOPs and bytes", test_ops},
    {"bad configs", test_bad_configs},
    {"warnings", test_warnings},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "model", .pTests = model_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_model");
}
