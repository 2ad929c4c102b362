/* Tests of parallel plans (src/train/plan): checks with clear messages,
 * rank mapping, and memory per rank worked by hand on a tiny model. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/modelfile.h"
#include "train/plan.h"
#include "test_assert.h"

static model tiny, v3;

static int setup(void)
{
    char warn[MODELFILE_WARN_MAX];
    ms_err err = {0};
    return modelfile_load("tests/data/models/tiny_mla.json", &tiny, warn, &err) ||
           modelfile_load("workloads/deepseek-v3/config.json", &v3, warn, &err);
}

static plan base(void)
{
    return (plan){.gpus = 1,
                  .tp = 1,
                  .pp = 1,
                  .vpp = 1,
                  .dp = 1,
                  .ep = 1,
                  .cp = 1,
                  .seq_len = 128,
                  .global_batch = 8,
                  .micro_batch = 1,
                  .recipe = "bf16"};
}

static void test_checks(void)
{
    static const struct {
        const char *what, *expect;
        int64_t gpus, tp, pp, dp, ep, cp, gb, mb;
        const char *recipe;
        int zero;
    } cases[] = {
        {"degrees", "= 8, not the 16 GPUs", 16, 2, 2, 2, 1, 1, 8, 1, "bf16", 0},
        {"micro-batch", "does not divide the global batch of 8", 2, 1, 1, 2, 1, 1, 8, 3, "bf16", 0},
        {"recipe", "field 'precision'", 1, 1, 1, 1, 1, 1, 8, 1, "fp6", 0},
        {"zero", "field 'zero'", 1, 1, 1, 1, 1, 1, 8, 1, "bf16", 4},
        {"heads", "does not divide the 4 attention heads", 8, 8, 1, 1, 1, 1, 8, 1, "bf16", 0},
        {"experts", "does not divide the 8 experts", 3, 1, 1, 3, 3, 1, 9, 1, "bf16", 0},
        {"ep from dp x tp", "which 4 does not divide", 2, 1, 1, 2, 4, 1, 8, 1, "bf16", 0},
        {"stages", "5 stages for 4 layers", 5, 1, 5, 1, 1, 1, 8, 1, "bf16", 0},
        {"cp", "field 'cp': 3 does not divide the sequence", 3, 1, 1, 1, 1, 3, 8, 1, "bf16", 0},
        {"zero degree", "field 'tp'", 1, 0, 1, 1, 1, 1, 8, 1, "bf16", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plan p = base();
        p.gpus = cases[i].gpus, p.tp = cases[i].tp, p.pp = cases[i].pp, p.dp = cases[i].dp;
        p.ep = cases[i].ep, p.cp = cases[i].cp, p.global_batch = cases[i].gb;
        p.micro_batch = cases[i].mb, p.recipe = cases[i].recipe, p.zero = cases[i].zero;
        ms_err err = {0};
        int rc = plan_check(&p, &tiny, &err);
        int ok = rc == MS_EINVAL && strstr(err.msg, cases[i].expect);
        if (!ok)
            printf("\n    %s: rc %d \"%s\"\n", cases[i].what, rc, err.msg);
        CU_ASSERT(ok);
    }
    plan good = base();
    ms_err err = {0};
    CU_ASSERT_EQUAL(plan_check(&good, &tiny, &err), MS_OK);
}

/* DeepSeek-V3's layout (V3 report §3.2): PP 16, EP 64, DP 128, no TP, on
 * 2,048 GPUs; 15,360 sequences a step in micro-batches of one: 120 per
 * pipeline. */
static void test_v3_plan(void)
{
    plan p = {.gpus = 2048,
              .tp = 1,
              .pp = 16,
              .vpp = 1,
              .dp = 128,
              .ep = 64,
              .cp = 1,
              .zero = 1,
              .seq_len = 4096,
              .global_batch = 15360,
              .micro_batch = 1,
              .recipe = "fp8"};
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(plan_check(&p, &v3, &err), MS_OK);
    CU_ASSERT_EQUAL(plan_microbatches(&p), 120);
    plan_memory m = plan_memory_per_rank(&p, &v3);
    printf("\n    V3 on 2,048 GPUs: %.1f GB a rank (weights %.1f, grads %.1f, optimizer %.1f, "
           "activations %.1f), %.2fB params\n",
           m.total_B / 1e9, m.weights_B / 1e9, m.grads_B / 1e9, m.optimizer_B / 1e9,
           m.activations_B / 1e9, m.params_per_rank / 1e9);
    /* FP8 recipe, ZeRO 1 over 128 ranks: weights at 1 byte and gradients at
     * 4 unsharded; master, m and v (4 + 2 + 2 bytes) sharded over dp 128 for
     * dense parameters and over dp x tp / ep = 2 for experts, so the state
     * lies between those two bounds. */
    MS_ASSERT_NEAR(m.params_per_rank, m.weights_B, 1e-3);
    MS_ASSERT_NEAR(4 * m.params_per_rank, m.grads_B, 1e-3);
    CU_ASSERT(m.optimizer_B < 8 * m.params_per_rank / 2 &&
              m.optimizer_B > 8 * m.params_per_rank / 128);
    /* The busiest stage is the first: ceil(61 / 16) = 4 layers (3 dense,
     * 1 MoE) and the embedding. Attention and norms 187,107,328 + 14,336 a
     * layer; dense FFN 396,361,728; the MoE layer's shared expert and router
     * 45,875,456 and its 256 routed experts 11,274,289,152 over EP 64;
     * embedding 926,679,040: 2,910,126,336 + 176,160,768. */
    CU_ASSERT(m.params_per_rank == 2910126336.0 + 176160768.0);
    CU_ASSERT(m.framework_B == PLAN_FRAMEWORK_B);
    MS_ASSERT_NEAR(m.weights_B + m.grads_B + m.optimizer_B + m.activations_B + m.framework_B,
                   m.total_B, 1e-6);
}

/* The stack's activations, by hand, on GPT-3 175B (h 12288, 96 heads, 96
 * layers) over one sequence of 2,048 on 8 tensor-parallel ranks. Full
 * recompute keeps each layer's input, 2 h = 24,576 bytes a token: split
 * over the ranks with sequence parallelism, 3,072 x 96 x 2,048 =
 * 603,979,776 bytes; whole on each rank without it (2021): eight times.
 * Without recompute, 2021's stack adds Korthikanti's 10 h (1 - 1/8) =
 * 107,520 bytes of norms and dropouts and 5 a s / t = 122,880 bytes of
 * scores, a token a layer: 45,298,483,200 bytes. The interleaved
 * schedule's first stage (pp 4, vpp 2) holds 1 + 3/8 times 1F1B's. */
static void test_stack_memory(void)
{
    model g;
    char warn[MODELFILE_WARN_MAX];
    ms_err err = {0};
    CU_ASSERT_FATAL(modelfile_load("workloads/gpt-3-175b.json", &g, warn, &err) == MS_OK);
    plan p = {.gpus = 8,
              .tp = 8,
              .pp = 1,
              .vpp = 1,
              .dp = 1,
              .ep = 1,
              .cp = 1,
              .zero = 0,
              .seq_len = 2048,
              .global_batch = 1,
              .micro_batch = 1,
              .recipe = "bf16",
              .recompute = PLAN_RECOMPUTE_FULL,
              .stack = "plain"};
    MS_ASSERT_WITHIN(plan_memory_per_rank(&p, &g).activations_B, 603979776.0, 1);
    p.stack = "megatron-2021";
    MS_ASSERT_WITHIN(plan_memory_per_rank(&p, &g).activations_B, 8 * 603979776.0, 1);
    p.recompute = PLAN_RECOMPUTE_NONE;
    double old = plan_memory_per_rank(&p, &g).activations_B;
    p.stack = "plain";
    MS_ASSERT_WITHIN(old - plan_memory_per_rank(&p, &g).activations_B, 45298483200.0, 1);
    p.gpus = 32, p.pp = 4, p.recompute = PLAN_RECOMPUTE_FULL;
    double one = plan_memory_per_rank(&p, &g).activations_B;
    p.vpp = 2;
    MS_ASSERT_WITHIN(plan_memory_per_rank(&p, &g).activations_B, one * 1.375, 1e-6 * one);
}

static void test_coords(void)
{
    plan p = base();
    p.gpus = 64, p.tp = 8, p.pp = 2, p.dp = 4, p.ep = 4, p.global_batch = 8;
    /* 37 = 5 + 8 x (0 + 4 x 1): tp 5, dp 0, stage 1. */
    plan_coords c = plan_rank_coords(&p, 37);
    CU_ASSERT(c.tp == 5 && c.cp == 0 && c.dp == 0 && c.pp == 1);
    c = plan_rank_coords(&p, 63);
    CU_ASSERT(c.tp == 7 && c.dp == 3 && c.pp == 1);
    /* Tensor groups are consecutive GPUs: ranks 8..15 share dp 1, stage 0. */
    for (int64_t r = 8; r < 16; r++) {
        c = plan_rank_coords(&p, r);
        CU_ASSERT(c.dp == 1 && c.pp == 0 && c.tp == r - 8);
    }
}

/* tiny_mla.json by hand (see test_model.c): attention + norms 53,856 a
 * layer; dense FFN 393,216; a MoE layer's routed experts 393,216 and its
 * shared expert and router 51,208; embedding and head 256,000 each; final
 * norm 256; the MTP module 630,120 of which 393,216 routed experts. */
static void test_memory_by_hand(void)
{
    plan p = base();
    plan_memory m = plan_memory_per_rank(&p, &tiny);
    CU_ASSERT(m.params_per_rank == 2454168.0 + 630120.0);
    CU_ASSERT(m.weights_B + m.grads_B + m.optimizer_B == 16.0 * (2454168.0 + 630120.0));
    CU_ASSERT(m.checkpoint_B == 14.0 * (2454168.0 + 630120.0));

    /* Two stages: layers 0-1 (dense, MoE) with the embedding; layers 2-3
     * (MoE, MoE) with the head, final norm and MTP: the second is bigger:
     * dense 107,712 + 102,416 + 256,000 + 256 + 236,904 = 703,288,
     * experts 3 x 393,216 = 1,179,648. */
    p.gpus = 2, p.pp = 2;
    m = plan_memory_per_rank(&p, &tiny);
    CU_ASSERT(m.params_per_rank == 703288.0 + 1179648.0);

    /* ZeRO 1 over dp 2 halves the optimizer state; ep 2 halves experts. */
    p = base();
    p.gpus = 2, p.dp = 2, p.zero = 1;
    plan_memory z = plan_memory_per_rank(&p, &tiny);
    CU_ASSERT(z.optimizer_B == 12.0 * (2454168.0 + 630120.0) / 2);
    CU_ASSERT(z.grads_B == 2.0 * (2454168.0 + 630120.0));
    /* A checkpoint writes the weights (2 bytes) and state (12) once,
     * half on each data-parallel rank, though both hold the weights; the
     * two stages of m write half each too. */
    CU_ASSERT(z.checkpoint_B == 14.0 * (2454168.0 + 630120.0) / 2);
    CU_ASSERT(m.checkpoint_B == z.checkpoint_B);
    p.ep = 2;
    plan_memory e = plan_memory_per_rank(&p, &tiny);
    CU_ASSERT(e.params_per_rank == 2454168.0 + 630120.0 - 4 * 393216.0 / 2);

    /* Full recompute keeps less than none; selective (DeepSeek-V3's, for
     * MLA) drops q, k, v of the up-projections and the norm outputs:
     * 4 x (2 x (16 + 8) + 16) + 256 + 64 + 32 = 608 elements a token a
     * layer, x 4 layers x 128 tokens x 1 micro-batch x 2 bytes = 622,592. */
    p = base();
    plan_memory none = plan_memory_per_rank(&p, &tiny);
    p.recompute = PLAN_RECOMPUTE_FULL;
    plan_memory full = plan_memory_per_rank(&p, &tiny);
    p.recompute = PLAN_RECOMPUTE_SELECTIVE;
    plan_memory sel = plan_memory_per_rank(&p, &tiny);
    CU_ASSERT(full.activations_B < sel.activations_B);
    MS_ASSERT_WITHIN(none.activations_B - sel.activations_B, 622592.0, 1e-6);
}

static void test_fits(void)
{
    chip c = {.name = "X", .hbm_bytes = 80e9};
    plan_memory m = {.total_B = 100e9};
    double s;
    CU_ASSERT(!plan_fits(&m, &c, &s) && s == 20e9);
    m.total_B = 60e9;
    CU_ASSERT(plan_fits(&m, &c, &s) && s == 0);
}

static CU_TestInfo tests[] = {
    {"activations by the plan's stack", test_stack_memory},
    {"checks name the field", test_checks},
    {"DeepSeek-V3 layout", test_v3_plan},
    {"rank coordinates", test_coords},
    {"memory by hand", test_memory_by_hand},
    {"fits and shortfall", test_fits},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "plan", .pInitFunc = setup, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_plan");
}
