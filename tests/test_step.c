/* Tests of one training step (src/train/tcost, src/train/step): FLOPs of a
 * stage against the model's own count, the symmetric shortcut against
 * simulating every replica, what overlap and imbalance do, a breakdown
 * that adds up, and a plan that does not fit. */
#include <CUnit/Basic.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/modelfile.h"
#include "train/stack.h"
#include "train/step.h"

#include "test_assert.h"
#include "test_calib.h"

static model tiny, gpt2; /* GPT-2 small: 12 layers, d 768, 12 heads of 64 */

static int setup(void)
{
    char warn[MODELFILE_WARN_MAX];
    ms_err err = {0};
    return modelfile_load("tests/data/models/tiny_mla.json", &tiny, warn, &err) ||
           modelfile_load("workloads/gpt2/config.json", &gpt2, warn, &err);
}

/* A made-up chip with round figures. */
static chip test_chip(void)
{
    chip c = {.name = "X", .family = "x", .compute_units = 100};
    for (int i = 0; i < MS_PREC_COUNT; i++)
        c.peak_flop_per_s[i] = NAN;
    c.peak_flop_per_s[MS_BF16] = 1e15;
    c.peak_flop_per_s[MS_FP8] = 2e15;
    c.peak_flop_per_s[MS_FP32] = 5e13;
    c.hbm_bytes = 80e9;
    c.hbm_bw_Bps = 2e12;
    c.scale_up_bw_Bps = 100e9;
    c.scale_up_domain_chips = 4;
    c.scale_out_bw_Bps = 25e9;
    return c;
}

static plan small_plan(void)
{
    return (plan){.gpus = 16,
                  .tp = 1,
                  .pp = 2,
                  .vpp = 1,
                  .dp = 8,
                  .ep = 4,
                  .cp = 1,
                  .zero = 1,
                  .seq_len = 256,
                  .global_batch = 64,
                  .micro_batch = 1,
                  .recipe = "bf16"};
}

static void test_expected_nodes(void)
{
    /* 8 experts over 8 nodes: 8 (1 - (7/8)^8) = 5.25113...; V3 caps it at 4. */
    MS_ASSERT_WITHIN(tcost_expected_nodes(8, 8, 0), 8 * (1 - pow(7.0 / 8, 8)), 1e-12);
    MS_ASSERT_WITHIN(tcost_expected_nodes(8, 8, 0), 5.2511286736, 1e-9);
    CU_ASSERT(tcost_expected_nodes(8, 8, 4) == 4);
    CU_ASSERT(tcost_expected_nodes(1, 8, 0) == 1);
}

static void test_stage_flops(void)
{
    /* One stage holding the whole model: its weight-gradient FLOPs are
     * those of every product with weights, 2 x matmul parameters per
     * token, plus the MTP module's projection, block and head. */
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1;
    tcost_stage st;
    ms_err err = {0};
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_OK);
    model_params mp = model_param_counts(&tiny);
    double T = 256, d = (double)tiny.hidden_size;
    /* MTP: the projection 2d x d; a MoE block: attention 256x64 + 64x96 +
     * 256x40 + 32x128 + 64x256 = 53,248, experts (2 routed + 1 shared) x
     * 3 x 256 x 64 + router 8 x 256 = 149,504; the head again. */
    double expect = 2 * T * (mp.matmul_active + 2 * d * d + 53248 + 149504 + mp.head);
    MS_ASSERT_WITHIN(st.w.flops, expect, expect * 1e-12);
    /* Forward GEMMs equal the weight gradients'; the input gradient adds
     * 2.5 x attention and 2 x element-wise work. */
    CU_ASSERT(st.f.flops > st.w.flops && st.b.flops > st.f.flops);
    CU_ASSERT(st.layers == 4 && st.embedding && st.head && st.mtp_modules == 1);
    CU_ASSERT(st.moe_layers == 4); /* layers 1-3 and the MTP block */
    /* Every part of the time has a bound. */
    MS_ASSERT_WITHIN(st.f.flop_bound_s + st.f.hbm_bound_s, st.f.time_s, 1e-15);

    /* fp8 on a chip without an fp8 peak names both. */
    c.peak_flop_per_s[MS_FP8] = NAN;
    p.recipe = "fp8";
    CU_ASSERT(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "fp8") && strstr(err.msg, "X"));
}

/* An attention span (samples of spread lengths, length-weighted) moves
 * only attention: each query reads (span + 1) / 2 keys instead of
 * (seq + 1) / 2. tiny_mla's 5 attention blocks (4 layers and the MTP
 * block) each do 2 x 96 + 2 x 64 = 320 FLOPs a token a key in the
 * forward: a span of 768 on 256-token sequences adds 256 keys, so
 * 5 x 256 x 320 x 256 FLOPs; the input gradient adds 2.5 times that. */
static void test_attention_span_by_hand(void)
{
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1;
    tcost_stage base, wide;
    ms_err err = {0};
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &base, &err) == MS_OK);
    p.attn_span = 768;
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &wide, &err) == MS_OK);
    double extra = 5.0 * 256 * 320 * 256;
    MS_ASSERT_WITHIN(wide.f.flops - base.f.flops, extra, 1e-6);
    MS_ASSERT_WITHIN(wide.b.flops - base.b.flops, 2.5 * extra, 1e-6);
    MS_ASSERT_WITHIN(wide.w.flops, base.w.flops, 0);
    CU_ASSERT(wide.f.by_kind_s[TCOST_GEMM] == base.f.by_kind_s[TCOST_GEMM]);
    /* (its time need not grow: at 256 tokens this attention is bound by its bytes) */
    CU_ASSERT(wide.f.by_kind_s[TCOST_ATTENTION] >= base.f.by_kind_s[TCOST_ATTENTION]);
    /* the span as the sequence: nothing moves */
    p.attn_span = 256;
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &wide, &err) == MS_OK);
    MS_ASSERT_WITHIN(wide.f.flops, base.f.flops, 0);
    /* 2021 Megatron's materialized attention writes a score for every key
     * of the span too: GPT-2's scores over a span of 1,024 on 512-token
     * sequences take about twice the time (its Q, K, V reads do not grow) */
    plan q = small_plan();
    q.gpus = 1, q.pp = 1, q.dp = 1, q.ep = 1, q.global_batch = 1, q.seq_len = 512;
    q.stack = "megatron-2021";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &q, 0, 1, 1, &base, &err) == MS_OK);
    q.attn_span = 1024;
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &q, 0, 1, 1, &wide, &err) == MS_OK);
    double ratio = wide.f.by_kind_s[TCOST_ATTENTION] / base.f.by_kind_s[TCOST_ATTENTION];
    CU_ASSERT(ratio > 1.8 && ratio <= 2);
    /* a span below a token is refused by the plan */
    p.attn_span = 0.5;
    CU_ASSERT(plan_check(&p, &tiny, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "attention_span") != NULL);
}

/* HBM bytes of FP8 quantization for one GEMM as tcost.h states the rules:
 * x cast BF16 -> FP8 (2 + q bytes an element, q = 1 + 4/128 with the
 * scale), the output gradient cast in both layouts (2 + 2q) or, where it
 * was cast elsewhere, in one (2 + q) with its 128x1 copy re-tiled (2q),
 * and X re-tiled for the weight gradient (2q). */
static double quant_bytes(double m, double n, double k, double count, double x, double dy)
{
    double q = 1 + 4.0 / 128, X = x < 0 ? m * k * count : x;
    double B = X * (2 + q) + m * k * count * 2 * q;
    return B + (dy < 0 ? m * n * count * (2 + 2 * q) : dy * (2 + q) + m * n * count * 2 * q);
}

static void test_fp8_quantization_bytes(void)
{
    /* tiny-mla at 256 tokens, one stage, ep 1: 8 experts of 64 routed
     * rows each. Each attention block: q_down 256x64, q_up 64x96, kv_down
     * 256x40 (x already cast), kv_up 32x128, o 64x256; layer 0's dense FFN
     * 256x1024, 512x256; each MoE block: experts up with x cast once per
     * token before the dispatch, down with its gradient cast once per
     * token, the shared expert reusing both casts; the MTP projection. */
    double T = 256, d = 256;
    double attn = quant_bytes(T, 64, 256, 1, -1, -1) + quant_bytes(T, 96, 64, 1, -1, -1) +
                  quant_bytes(T, 40, 256, 1, 0, -1) + quant_bytes(T, 128, 32, 1, -1, -1) +
                  quant_bytes(T, 256, 64, 1, -1, -1);
    double dense = quant_bytes(T, 1024, 256, 1, -1, -1) + quant_bytes(T, 256, 512, 1, -1, -1);
    double moe = quant_bytes(64, 128, 256, 8, T * d, -1) + quant_bytes(64, 256, 64, 8, -1, T * d) +
                 quant_bytes(T, 128, 256, 1, 0, -1) + quant_bytes(T, 256, 64, 1, -1, 0);
    double expect = 5 * attn + dense + 4 * moe + quant_bytes(T, 256, 512, 1, -1, -1);

    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1, p.recipe = "fp8";
    tcost_stage st;
    ms_err err = {0};
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_OK);
    double got = st.f.quant_B + st.b.quant_B + st.w.quant_B;
    MS_ASSERT_WITHIN(got, expect, expect * 1e-12);
    /* At peak they are bound by HBM: bytes over bandwidth, in their own kind. */
    double t =
        st.f.by_kind_s[TCOST_QUANT] + st.b.by_kind_s[TCOST_QUANT] + st.w.by_kind_s[TCOST_QUANT];
    MS_ASSERT_WITHIN(t, expect / c.hbm_bw_Bps, t * 1e-12);
    /* Selective recompute reuses the cached FP8 inputs: no more bytes. */
    p.recompute = PLAN_RECOMPUTE_SELECTIVE;
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_OK);
    MS_ASSERT_WITHIN(st.f.quant_B + st.b.quant_B + st.w.quant_B, expect, expect * 1e-12);
    /* BF16 has none. */
    p.recipe = "bf16";
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_OK);
    CU_ASSERT(st.f.quant_B + st.b.quant_B + st.w.quant_B == 0);
    CU_ASSERT(st.b.by_kind_s[TCOST_QUANT] == 0);
}

/* The forward's element-wise traffic of tiny-mla at 256 tokens (BF16, one
 * stage, ep 1), by hand: norms, activations, the weighted sum of expert
 * outputs and the permutes of routed rows into expert order and back. */
static void test_elementwise_bytes(void)
{
    double T = 256, d = 256, V = 1000, routed = 2 * T, fe = 64;
    /* Each sub-layer's norm and residual add: 5 passes of 2 bytes forward;
     * MLA's rope on 4 heads' and the shared key's 8 rope dimensions, read
     * and written. */
    double norms = 2 * 5 * T * d * 2 + T * (4 + 1) * 8 * 2 * 2;
    double dense_act = T * 512 * 3 * 2;
    double moe = routed * fe * 3 * 2 + T * fe * 3 * 2 /* routed and shared SwiGLU */
                 + (routed + T) * d * 2               /* weighted sum */
                 + 2 * routed * d * (2 + 2);          /* permute and unpermute, BF16 */
    double head = 4 * T * d + 2 * T * V * 4;          /* final norm; FP32 logits and loss */
    double expect = 5 * norms + dense_act + 4 * moe + 4 * T * d /* embedding gather */
                    + 2 * head + 8 * T * d;                     /* MTP's two norms */
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1;
    tcost_stage st;
    ms_err err = {0};
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_OK);
    double t = st.f.by_kind_s[TCOST_OTHER];
    MS_ASSERT_WITHIN(t, expect / c.hbm_bw_Bps, t * 1e-12);
}

/* GPT-2 small (12 layers, d 768, 12 heads of 64, biases, learned
 * positions) on one GPU, 512 tokens: rotary positions add a read and a
 * write of every query and key element each way; a sub-layer without
 * a bias on its output projection saves one backward pass, the bias's
 * gradient sum (test chip, no calibration: bytes over the HBM rate). */
static void test_rope_and_bias_passes(void)
{
    chip c = test_chip();
    double T = 512, d = 768, L = 12, bw = c.hbm_bw_Bps;
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1, p.seq_len = (int64_t)T;
    tcost_stage base, rot, nobias;
    ms_err err = {0};
    model m = gpt2;
    CU_ASSERT(m.learned_positions && m.o_bias && m.mlp_bias);
    CU_ASSERT_FATAL(tcost_stage_compute(&m, &c, NULL, &p, 0, 1, 1, &base, &err) == MS_OK);
    m.learned_positions = 0;
    CU_ASSERT_FATAL(tcost_stage_compute(&m, &c, NULL, &p, 0, 1, 1, &rot, &err) == MS_OK);
    double rope_B = L * T * (12 + 12) * 64 * 2 * 2;
    MS_ASSERT_WITHIN(rot.f.by_kind_s[TCOST_OTHER] - base.f.by_kind_s[TCOST_OTHER], rope_B / bw,
                     1e-9 * rope_B / bw);
    MS_ASSERT_WITHIN(rot.b.by_kind_s[TCOST_OTHER] - base.b.by_kind_s[TCOST_OTHER], rope_B / bw,
                     1e-9 * rope_B / bw);
    m = gpt2;
    m.o_bias = m.mlp_bias = 0;
    CU_ASSERT_FATAL(tcost_stage_compute(&m, &c, NULL, &p, 0, 1, 1, &nobias, &err) == MS_OK);
    MS_ASSERT_WITHIN(nobias.f.by_kind_s[TCOST_OTHER], base.f.by_kind_s[TCOST_OTHER],
                     1e-12 * base.f.by_kind_s[TCOST_OTHER]);
    double bias_B = L * 2 * T * d * 2;
    MS_ASSERT_WITHIN(base.b.by_kind_s[TCOST_OTHER] - nobias.b.by_kind_s[TCOST_OTHER], bias_B / bw,
                     1e-9 * bias_B / bw);
}

static int run(const plan *p, sched_kind k, double load, int every, step_result *r)
{
    chip c = test_chip();
    topo_spec ts = step_default_topo(&c, p->gpus);
    coll_params net = COLL_PARAMS_IDEAL;
    step_config cfg = {.schedule = k, .moe_load = load, .every_replica = every, .comm_sms = 10};
    ms_err err = {0};
    topo *t = NULL;
    int rc = topo_build(&ts, &t, &err);
    if (rc == MS_OK)
        rc = step_run(&tiny, &c, NULL, p, t, &net, &cfg, r, &err);
    topo_free(t);
    if (rc)
        fprintf(stderr, "\n    step_run: %s\n", err.msg);
    return rc;
}

static void test_symmetry(void)
{
    /* One pipeline with the busiest load gives the step time of every
     * replica simulated, each with its own load, expert tasks waiting for
     * the slowest rank of their group. */
    const sched_kind kinds[] = {SCHED_1F1B, SCHED_DUALPIPE, SCHED_ZB1P, SCHED_GPIPE};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        for (int skew = 0; skew < 2; skew++) {
            plan p = small_plan();
            double load = skew ? 1.6 : 1.0;
            step_result one, all;
            CU_ASSERT_FATAL(run(&p, kinds[i], load, 0, &one) == MS_OK);
            CU_ASSERT_FATAL(run(&p, kinds[i], load, 1, &all) == MS_OK);
            CU_ASSERT(one.ranks_simulated == 2 && all.ranks_simulated == 16);
            CU_ASSERT(all.events > one.events);
            MS_ASSERT_WITHIN(one.step_time_s, all.step_time_s, 1e-12 * one.step_time_s);
            if (fabs(one.step_time_s - all.step_time_s) > 1e-12 * one.step_time_s)
                fprintf(stderr, "\n    %s load %g: one %.9g all %.9g\n", sched_name(kinds[i]), load,
                        one.step_time_s, all.step_time_s);
            step_result_free(&one);
            step_result_free(&all);
        }
}

static void test_imbalance_and_overlap(void)
{
    plan p = small_plan();
    step_result f1b, skew, dual;
    CU_ASSERT_FATAL(run(&p, SCHED_1F1B, 1.0, 0, &f1b) == MS_OK);
    CU_ASSERT_FATAL(run(&p, SCHED_1F1B, 2.0, 0, &skew) == MS_OK);
    CU_ASSERT(skew.step_time_s > f1b.step_time_s);
    CU_ASSERT(skew.part_s[STEP_COMM_EP] > f1b.part_s[STEP_COMM_EP]);
    CU_ASSERT_FATAL(run(&p, SCHED_DUALPIPE, 1.0, 0, &dual) == MS_OK);
    /* DualPipe hides expert-parallel traffic under compute; 1F1B does not. */
    CU_ASSERT(dual.part_s[STEP_COMM_EP] < f1b.part_s[STEP_COMM_EP]);
    CU_ASSERT(f1b.part_s[STEP_COMM_EP] > 0);
    step_result_free(&skew);
    step_result_free(&f1b);
    step_result_free(&dual);
}

static void test_breakdown_adds_up(void)
{
    const sched_kind kinds[] = {SCHED_1F1B, SCHED_DUALPIPE, SCHED_INTERLEAVED};
    for (size_t i = 0; i < 3; i++) {
        plan p = small_plan();
        if (kinds[i] == SCHED_INTERLEAVED)
            p.vpp = 2;
        step_result r;
        CU_ASSERT_FATAL(run(&p, kinds[i], 1.0, 0, &r) == MS_OK);
        double sum = 0;
        for (int k = 0; k < STEP_PARTS; k++) {
            CU_ASSERT(r.part_s[k] >= 0);
            sum += r.part_s[k];
        }
        MS_ASSERT_WITHIN(sum, r.step_time_s, 1e-9 * r.step_time_s);
        CU_ASSERT(r.mfu_bf16 > 0 && r.mfu_bf16 < 1 && r.mfu_fp8 < r.mfu_bf16);
        MS_ASSERT_WITHIN(r.gpu_hours_per_trillion_tokens, 1e12 / r.tokens_per_s * 16 / 3600, 1e-6);
        step_result_free(&r);
    }
}

static void test_one_gpu_by_hand(void)
{
    /* One GPU, no pipeline, no network: the step is its micro-batches'
     * forward and backward back to back, then the optimizer. */
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 3;
    step_result r;
    CU_ASSERT_FATAL(run(&p, SCHED_1F1B, 1.0, 0, &r) == MS_OK);
    const tcost_stage *s = &r.stage0;
    double work = 3 * (s->f.time_s + s->b.time_s + s->w.time_s);
    CU_ASSERT(r.part_s[STEP_OPTIMIZER] > 0);
    MS_ASSERT_WITHIN(r.step_time_s, work + r.part_s[STEP_OPTIMIZER], 1e-11);
    CU_ASSERT(r.part_s[STEP_BUBBLE] < 1e-11);
    step_result_free(&r);
}

static void test_does_not_fit(void)
{
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1;
    p.seq_len = 4096, p.micro_batch = 1;
    chip c = test_chip();
    c.hbm_bytes = 1e8; /* 100 MB */
    topo_spec ts = step_default_topo(&c, 1);
    coll_params net = COLL_PARAMS_IDEAL;
    step_config cfg = {.schedule = SCHED_1F1B, .moe_load = 1};
    step_result r;
    ms_err err = {0};
    topo *t = NULL;
    CU_ASSERT_FATAL(topo_build(&ts, &t, &err) == MS_OK);
    CU_ASSERT(step_run(&tiny, &c, NULL, &p, t, &net, &cfg, &r, &err) == MS_EINVAL);
    topo_free(t);
    CU_ASSERT(!r.fits && r.short_B > 0);
    MS_ASSERT_WITHIN(r.short_B, r.memory.total_B - 1e8, 1);
    CU_ASSERT(strstr(err.msg, "does not fit") && strstr(err.msg, "short"));
}

/* 2021 Megatron-LM's attention on GPT-2 small (12 heads of 64), one
 * sequence of 512, at the test chip's peaks (1 PFLOP/s, 2 TB/s), by hand:
 * E = 512 x 12 x 512 = 3,145,728 scores; Q, K, V and the output 3,145,728
 * bytes (io). Forward: Q K^T writes 2E and reads io/2 = 7,864,320 B
 * (3.93216 us, its 0.403 GFLOP take 0.40 us); softmax reads and writes
 * 4E = 12,582,912 B (6.291456 us); dropout 5E (7.86432 us); P V as Q K^T
 * (3.93216 us): 22.020096 us a layer. Backward: four products of 2E +
 * io/4 = 7,077,888 B (3.538944 us each), dropout 5E (7.86432 us), softmax
 * 6E (9.437184 us): 31.45728 us. Twelve layers. */
static void test_materialized_attention_by_hand(void)
{
    ms_err err = {0};
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1, p.seq_len = 512;
    p.stack = "megatron-2021";
    tcost_stage st, flash;
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_OK);
    MS_ASSERT_WITHIN(st.f.by_kind_s[TCOST_ATTENTION], 12 * 22.020096e-6, 1e-15);
    MS_ASSERT_WITHIN(st.b.by_kind_s[TCOST_ATTENTION], 12 * 31.45728e-6, 1e-15);
    /* Full recompute runs the forward again in the backward. */
    p.recompute = PLAN_RECOMPUTE_FULL;
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &st, &err) == MS_OK);
    MS_ASSERT_WITHIN(st.b.by_kind_s[TCOST_ATTENTION], 12 * (22.020096e-6 + 31.45728e-6), 1e-15);
    /* A fused kernel keeps the scores out of HBM: far less time. */
    p.stack = "plain";
    p.recompute = PLAN_RECOMPUTE_NONE;
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &flash, &err) == MS_OK);
    CU_ASSERT(flash.f.by_kind_s[TCOST_ATTENTION] < st.f.by_kind_s[TCOST_ATTENTION] / 4);
}

/* Megatron's FP32 cross entropy against megasim's default, by hand: the
 * tiny model's two heads (main and MTP) over T = 256 tokens and V = 1000
 * logits; 38 bytes a logit forward instead of 8, 14 backward instead of
 * 16, at the test chip's 2 TB/s. */
static void test_megatron_loss_bytes(void)
{
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1;
    tcost_stage plain, core;
    ms_err err = {0};
    p.stack = "plain";
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &plain, &err) == MS_OK);
    p.stack = "megatron-core-2024";
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 1, 1, &core, &err) == MS_OK);
    double L = 256 * 1000;
    MS_ASSERT_WITHIN(core.f.by_kind_s[TCOST_OTHER] - plain.f.by_kind_s[TCOST_OTHER],
                     2 * (38 - 8) * L / 2e12, 1e-15);
    MS_ASSERT_WITHIN(core.b.by_kind_s[TCOST_OTHER] - plain.b.by_kind_s[TCOST_OTHER],
                     2 * (14 - 16) * L / 2e12, 1e-15);
}

/* Attention by the stack's release: Megatron-Core 2024 times its fused
 * attention by the rows of the kernels Transformer Engine ran then
 * (attention_te2024), falling back to the general ones where a family has
 * none. GPT-2 small at 2,048 tokens, whose attention is bound by its
 * FLOPs: the forward at half the efficiency takes twice as long; the
 * backward, with no row of its own at either level, is attention's. */
static void test_attention_by_release(void)
{
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1, p.seq_len = 2048;
    calib *cal = test_calib_text(
        "family,op_kind,precision,compute_eff,memory_eff,overhead_us,measured_on,source\n"
        "x,attention,bf16,0.8,,,X,best\n"
        "x,attention_te2024,bf16,0.4,,,X,release\n");
    tcost_stage plain, core;
    ms_err err = {0};
    p.stack = "plain";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, cal, &p, 0, 1, 1, &plain, &err) == MS_OK);
    p.stack = "megatron-core-2024";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, cal, &p, 0, 1, 1, &core, &err) == MS_OK);
    /* 12 layers x 2048 tokens x 4 x 768 x 1024.5 keys at 1e15 x eff */
    double flops = 12 * 2048 * 4 * 768 * 1024.5;
    MS_ASSERT_WITHIN(plain.f.by_kind_s[TCOST_ATTENTION], flops / 0.8e15, 1e-12);
    MS_ASSERT_WITHIN(core.f.by_kind_s[TCOST_ATTENTION], flops / 0.4e15, 1e-12);
    MS_ASSERT_WITHIN(core.b.by_kind_s[TCOST_ATTENTION], plain.b.by_kind_s[TCOST_ATTENTION], 1e-12);
    MS_ASSERT_WITHIN(plain.b.by_kind_s[TCOST_ATTENTION], 2.5 * flops / 0.8e15, 1e-12);
    calib_free(cal);
}

/* Training GEMMs by the stack's libraries: SC21's Megatron times its BF16
 * and FP16 GEMMs by rows measured with CUDA 11's libraries
 * (gemm_train_cuda11), the others by gemm_train's, each falling back to the
 * kind it refines where a family has no row of its own. GPT-2 small's
 * forward at 512 tokens: the two stacks run the same forward GEMMs, so
 * SC21's at the CUDA 11 row's 0.4 take what Megatron-Core's take at a
 * gemm_train of 0.4, longer than at 0.8 (not twice: on the test chip
 * these small products are partly bound by HBM). */
static void test_gemm_by_release(void)
{
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1, p.seq_len = 512;
    const char *head = "family,op_kind,precision,compute_eff,memory_eff,overhead_us,measured_on,"
                       "source\n";
    char text[512];
    snprintf(text, sizeof text,
             "%sx,gemm_train,bf16,0.8,,,X,current\n"
             "x,gemm_train_cuda11,bf16,0.4,,,X,cuda11\n",
             head);
    calib *both = test_calib_text(text);
    snprintf(text, sizeof text, "%sx,gemm_train,bf16,0.4,,,X,slow\n", head);
    calib *slow = test_calib_text(text);
    snprintf(text, sizeof text, "%sx,gemm_train,bf16,0.8,,,X,current\n", head);
    calib *current = test_calib_text(text);
    tcost_stage sc21, core, core_slow, sc21_current;
    ms_err err = {0};
    p.stack = "megatron-2021";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, both, &p, 0, 1, 1, &sc21, &err) == MS_OK);
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, current, &p, 0, 1, 1, &sc21_current, &err) ==
                    MS_OK);
    p.stack = "megatron-core-2024";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, both, &p, 0, 1, 1, &core, &err) == MS_OK);
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, slow, &p, 0, 1, 1, &core_slow, &err) == MS_OK);
    MS_ASSERT_WITHIN(sc21.f.by_kind_s[TCOST_GEMM], core_slow.f.by_kind_s[TCOST_GEMM], 1e-12);
    CU_ASSERT(sc21.f.by_kind_s[TCOST_GEMM] > 1.2 * core.f.by_kind_s[TCOST_GEMM]);
    /* Where a family has only gemm_train, SC21's GEMMs are timed by it. */
    MS_ASSERT_WITHIN(sc21_current.f.by_kind_s[TCOST_GEMM], core.f.by_kind_s[TCOST_GEMM], 1e-12);
    calib_free(both);
    calib_free(slow);
    calib_free(current);
}

/* FP8 recipes as distinct things, on GPT-2 small (12 layers, d 768) over
 * T = 512 tokens at the test chip's 2 TB/s. Transformer Engine's per-tensor
 * recipe casts in the kernels before its GEMMs, writing each input in two
 * layouts, a byte each: the forward's inputs are 7 T d a layer (q/k/v,
 * projection and up-projection read d wide, the down-projection 4d), 12 x
 * 7 x 512 x 768 x 2 B = 33.03 us; the backward's output gradients 9 T d a
 * layer, 42.47 us. No quantization kernel of its own; DeepSeek's recipe has
 * them, and MXFP8 adds a scale byte per 32 values. */
static void test_fp8_recipes(void)
{
    ms_err err = {0};
    chip c = test_chip();
    plan p = small_plan();
    p.gpus = 1, p.pp = 1, p.dp = 1, p.ep = 1, p.global_batch = 1, p.seq_len = 512;
    tcost_stage te, ds, bf;
    p.recipe = "fp8-tensor";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &te, &err) == MS_OK);
    MS_ASSERT_WITHIN(te.f.by_kind_s[TCOST_QUANT], 12 * 7 * 512 * 768 * 2 / 2e12, 1e-15);
    MS_ASSERT_WITHIN(te.b.by_kind_s[TCOST_QUANT], 12 * 9 * 512 * 768 * 2 / 2e12, 1e-15);
    CU_ASSERT(te.w.by_kind_s[TCOST_QUANT] == 0);
    p.recipe = "fp8";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &ds, &err) == MS_OK);
    CU_ASSERT(ds.f.by_kind_s[TCOST_QUANT] > te.f.by_kind_s[TCOST_QUANT]);
    CU_ASSERT(ds.w.by_kind_s[TCOST_QUANT] > 0); /* re-tiling for the weight gradient */
    p.recipe = "bf16";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &bf, &err) == MS_OK);
    CU_ASSERT(bf.f.by_kind_s[TCOST_QUANT] == 0);
    CU_ASSERT(te.f.by_kind_s[TCOST_GEMM] < bf.f.by_kind_s[TCOST_GEMM]); /* 2x the FLOP/s */
    /* MXFP8 runs only where tensor cores read block scales. */
    p.recipe = "mxfp8";
    CU_ASSERT(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &te, &err) == MS_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mxfp8 needs"));
    c.family = "blackwell";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &te, &err) == MS_OK);
    MS_ASSERT_WITHIN(te.f.by_kind_s[TCOST_QUANT], 12 * 7 * 512 * 768 * 2 * (1 + 1.0 / 32) / 2e12,
                     1e-15);
}

/* How stacks keep gradients, by hand on the test chip (2 TB/s, no
 * calibration: a kernel takes the larger of its two roofline times).
 * SC21's Megatron adds each micro-batch's FP16 gradient to the earlier
 * ones' in a kernel of its own: 6 bytes a parameter, for M - 1 of M
 * micro-batches. Megatron-Core's weight-gradient GEMMs add into the FP32
 * buffer themselves: 8 bytes an element of the gradient, where the plain
 * stack writes 2; its forward and input gradient are untouched. */
static void test_gradient_accumulation(void)
{
    chip c = test_chip();
    ms_err err = {0};
    plan p = small_plan();
    p.pp = 1, p.dp = 16, p.ep = 1, p.stack = "megatron-2021";
    tcost_stage one, four;
    p.global_batch = 16; /* one micro-batch a step */
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &one, &err) == MS_OK);
    p.global_batch = 64; /* four */
    CU_ASSERT_EQUAL_FATAL(plan_microbatches(&p), 4);
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &four, &err) == MS_OK);
    double params = one.dense_params + one.expert_params;
    CU_ASSERT(params > 1.2e8 && params < 1.3e8); /* GPT-2 small, 124M */
    MS_ASSERT_WITHIN(four.w.by_kind_s[TCOST_OTHER] - one.w.by_kind_s[TCOST_OTHER],
                     params * 6 * 3.0 / 4 / 2e12, 1e-12);
    MS_ASSERT_WITHIN(four.w.by_kind_s[TCOST_GEMM], one.w.by_kind_s[TCOST_GEMM], 0);
    MS_ASSERT_WITHIN(four.b.time_s, one.b.time_s, 0);

    /* GPT-2's 768 x 3072 MLP up-projection, its weight gradient over 256
     * tokens: 2 x 256 x 768 x 3072 = 1.21 GFLOP, 1.21 us at 1 PFLOP/s;
     * bytes 256 x 3072 x 2 + 256 x 768 x 2 + 768 x 3072 x (2 or 8) =
     * 6.29 MB (plain: 3.01 us at 2 TB/s) or 20.45 MB (core: 10.22 us).
     * Every weight-gradient GEMM of the model is that memory-bound, so the
     * difference is 6 bytes a weight element at 2 TB/s, summed. */
    tcost_stage core, plain;
    p.stack = "megatron-core-2024";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &core, &err) == MS_OK);
    p.stack = "plain";
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &plain, &err) == MS_OK);
    MS_ASSERT_WITHIN(core.f.by_kind_s[TCOST_GEMM], plain.f.by_kind_s[TCOST_GEMM], 0);
    MS_ASSERT_WITHIN(core.b.by_kind_s[TCOST_GEMM], plain.b.by_kind_s[TCOST_GEMM], 0);
    /* The layers' weights: 12 x (4 d^2 + 8 d^2) in the GEMMs, and the
     * 50,257 x 768 output head (tied to the embedding). */
    double d = 768, weights = 12 * 12 * d * d + 50257 * d;
    MS_ASSERT_WITHIN(core.w.by_kind_s[TCOST_GEMM] - plain.w.by_kind_s[TCOST_GEMM],
                     weights * 6 / 2e12, 1e-3 * weights * 6 / 2e12);
    /* No add of its own, but Megatron-Core's embedding backward fills a
     * dense BF16 gradient of the table and adds it to the FP32 one (12
     * bytes an element a micro-batch), and each step zeroes and checks
     * the whole FP32 buffer (8 bytes a parameter, a quarter of it on each
     * of the 4 micro-batches), all at 2 TB/s. */
    double table = model_param_counts(&gpt2).embedding;
    CU_ASSERT(table > 50257 * d); /* the vocabulary, and the learned positions */
    MS_ASSERT_WITHIN(core.w.by_kind_s[TCOST_OTHER] - plain.w.by_kind_s[TCOST_OTHER],
                     (table * 12 + params * 8 / 4) / 2e12, 1e-15);
    p.stack = "megatron-2021";
    tcost_stage sc21;
    CU_ASSERT_FATAL(tcost_stage_compute(&gpt2, &c, NULL, &p, 0, 1, 1, &sc21, &err) == MS_OK);
    MS_ASSERT_WITHIN(sc21.w.by_kind_s[TCOST_OTHER] - plain.w.by_kind_s[TCOST_OTHER],
                     params * 6 * 3.0 / 4 / 2e12, 1e-15); /* its own add only */
}

/* GPT-2 small's step under plan q, 1F1B on ideal links, by the plain
 * stack and by Megatron-Core's. */
static void plain_and_core(plan *q, const chip *c, step_result *plain, step_result *core)
{
    topo_spec ts = step_default_topo(c, q->gpus);
    coll_params net = COLL_PARAMS_IDEAL;
    step_config cfg = {.schedule = SCHED_1F1B, .moe_load = 1};
    topo *t = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(topo_build(&ts, &t, &err) == MS_OK);
    q->stack = "plain";
    CU_ASSERT_FATAL(step_run(&gpt2, c, NULL, q, t, &net, &cfg, plain, &err) == MS_OK);
    q->stack = "megatron-core-2024";
    CU_ASSERT_FATAL(step_run(&gpt2, c, NULL, q, t, &net, &cfg, core, &err) == MS_OK);
    topo_free(t);
}

/* What the stacks change: full recompute repeats the TP all-reduces,
 * Megatron-Core overlaps TP with GEMMs and DP with the backward. */
static void test_stack_overlaps(void)
{
    CU_ASSERT_PTR_NOT_NULL(stack_find("megatron-2021"));
    CU_ASSERT_PTR_NULL(stack_find("megatron-2099"));
    chip a100 = test_chip(), h100 = test_chip();
    a100.family = "ampere", h100.family = "hopper";
    CU_ASSERT_STRING_EQUAL(stack_default(&a100)->name, "megatron-2021");
    CU_ASSERT_STRING_EQUAL(stack_default(&h100)->name, "megatron-core-2024");
    CU_ASSERT_STRING_EQUAL(stack_default(&(chip){.family = "tpu-v5p"})->name, "plain");

    plan p = small_plan();
    p.tp = 2, p.dp = 4, p.global_batch = 32;
    p.recompute = PLAN_RECOMPUTE_FULL;
    tcost_stage st;
    chip c = test_chip();
    ms_err err = {0};
    CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, 0, 2, 1, &st, &err) == MS_OK);
    CU_ASSERT(st.tp_allreduces > 0 && st.tp_allreduces_bwd == 2 * st.tp_allreduces);

    step_result plain, core;
    p.stack = "plain";
    CU_ASSERT_FATAL(run(&p, SCHED_1F1B, 1.0, 0, &plain) == MS_OK);
    p.stack = "megatron-core-2024";
    CU_ASSERT_FATAL(run(&p, SCHED_1F1B, 1.0, 0, &core) == MS_OK);
    CU_ASSERT(plain.part_s[STEP_COMM_TP] > 0 && plain.part_s[STEP_COMM_DP] > 0);
    CU_ASSERT(core.part_s[STEP_COMM_TP] < plain.part_s[STEP_COMM_TP]);
    CU_ASSERT(core.part_s[STEP_COMM_TP] > 0); /* the first chunk stays exposed */
    /* Its collectives hold 16 of the test chip's 100 SMs: every GEMM a
     * tensor-parallel task runs takes 100/84 as long, beside what its
     * weight-gradient GEMMs pay for adding into the FP32 buffer (the
     * stages' own GEMM time under each stack, from tcost). */
    double g_core = 0, g_plain = 0;
    for (int64_t s = 0; s < 2; s++) {
        tcost_stage a, b;
        p.stack = "megatron-core-2024";
        CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, s, 2, 1, &a, &err) == MS_OK);
        p.stack = "plain";
        CU_ASSERT_FATAL(tcost_stage_compute(&tiny, &c, NULL, &p, s, 2, 1, &b, &err) == MS_OK);
        g_core += a.f.by_kind_s[TCOST_GEMM] + a.b.by_kind_s[TCOST_GEMM] + a.w.by_kind_s[TCOST_GEMM];
        g_plain +=
            b.f.by_kind_s[TCOST_GEMM] + b.b.by_kind_s[TCOST_GEMM] + b.w.by_kind_s[TCOST_GEMM];
    }
    CU_ASSERT(g_core > g_plain);
    MS_ASSERT_WITHIN(core.part_s[STEP_COMPUTE_GEMM] / plain.part_s[STEP_COMPUTE_GEMM],
                     100.0 / 84.0 * g_core / g_plain, 1e-9);
    /* Megatron reduces BF16 training's gradients in FP32: twice the bytes.
     * The tiny model's gradients fit in one 40M-parameter bucket, so the
     * reduction cannot start before the backward ends; the second pipeline
     * stage's weight gather runs under the next step's first forward on
     * stage 0: less than twice the plain stack's exposed traffic, and more
     * than it. */
    CU_ASSERT(stack_grad_B(stack_find("megatron-core-2024"), 2) == 4);
    CU_ASSERT(stack_grad_B(stack_find("plain"), 2) == 2);
    CU_ASSERT(stack_grad_B(stack_find("megatron-core-2024"), 4) == 4); /* never less */
    CU_ASSERT(core.part_s[STEP_COMM_DP] < 2 * plain.part_s[STEP_COMM_DP]);
    CU_ASSERT(core.part_s[STEP_COMM_DP] > plain.part_s[STEP_COMM_DP]);
    /* The overlaps win back more than the stretched GEMMs and the FP32
     * weight gradients cost. */
    CU_ASSERT(core.step_time_s -
                  (core.part_s[STEP_COMPUTE_GEMM] - plain.part_s[STEP_COMPUTE_GEMM]) <
              plain.step_time_s);
    /* Megatron's pipeline sends hold their rank: exposed pipeline traffic
     * where the plain stack only delays the next stage. Each TP rank sends
     * its 1/tp shard of the activation: T d 2 / tp = 256 x 256 x 2 / 2. */
    CU_ASSERT(core.part_s[STEP_COMM_PP] > 0 && plain.part_s[STEP_COMM_PP] == 0);
    CU_ASSERT(core.stage0.pp_B == 256.0 * 256 * 2 / 2);
    step_result_free(&plain);
    step_result_free(&core);

    /* ZeRO-3: the stack that overlaps data-parallel traffic prefetches
     * each layer's weights under the previous layer's compute. */
    p.zero = 3;
    p.stack = "plain";
    CU_ASSERT_FATAL(run(&p, SCHED_1F1B, 1.0, 0, &plain) == MS_OK);
    p.stack = "megatron-core-2024";
    CU_ASSERT_FATAL(run(&p, SCHED_1F1B, 1.0, 0, &core) == MS_OK);
    CU_ASSERT(plain.part_s[STEP_COMM_ZERO3] > 0);
    CU_ASSERT(core.part_s[STEP_COMM_ZERO3] < plain.part_s[STEP_COMM_ZERO3]);
    CU_ASSERT(core.part_s[STEP_COMM_ZERO3] > 0); /* the first layer's gather */
    step_result_free(&plain);
    step_result_free(&core);

    /* GPT-2 small (124M parameters, 62M a TP rank: two buckets' worth):
     * the reduction overlaps the backward and only one bucket stays. */
    plan q = {.gpus = 16,
              .tp = 2,
              .pp = 1,
              .vpp = 1,
              .dp = 8,
              .ep = 1,
              .cp = 1,
              .zero = 1,
              .seq_len = 512,
              .global_batch = 16,
              .micro_batch = 1,
              .recipe = "bf16"};
    plain_and_core(&q, &c, &plain, &core);
    /* Twice the bytes (FP32 gradients), yet well under twice the plain
     * stack's exposed traffic: most of it hides under the backward. */
    CU_ASSERT(plain.part_s[STEP_COMM_DP] > 0);
    CU_ASSERT(core.part_s[STEP_COMM_DP] < 1.4 * plain.part_s[STEP_COMM_DP]);
    CU_ASSERT(core.part_s[STEP_COMM_DP] > 0);
    step_result_free(&plain);
    step_result_free(&core);

    /* The window that traffic hides under is the last backward (and the
     * first forward) as long as it runs: its GEMMs stretched by the SMs TP
     * overlap holds and its exposed all-reduces, not its bare compute. One
     * micro-batch of 32 tokens, gradients kept in FP32 by both stacks (the
     * fp8 recipe): the plain stack exposes all the traffic, Megatron-Core
     * all but the forward and backward the rank ran, which is the whole of
     * its pipeline, longer than their bare compute. */
    q.seq_len = 32, q.global_batch = 8, q.recipe = "fp8";
    plain_and_core(&q, &c, &plain, &core);
    CU_ASSERT(core.microbatches == 1);
    double bare = core.stage0.f.time_s + core.stage0.b.time_s + core.stage0.w.time_s;
    CU_ASSERT(core.pipeline_s > bare * 1.01);
    MS_ASSERT_WITHIN(plain.part_s[STEP_COMM_DP] - core.part_s[STEP_COMM_DP], core.pipeline_s,
                     1e-9 * core.pipeline_s);
    step_result_free(&plain);
    step_result_free(&core);
}

/* A cluster built with smaller scale-up domains than the chip's (a partly
 * used rack, --domain) spreads an expert-parallel group over more nodes:
 * the tokens' fanout follows the cluster, not the chip's row. */
static void test_domain_override(void)
{
    chip c = test_chip();  /* domains of 4 */
    plan p = small_plan(); /* ep 4 */
    coll_params net = COLL_PARAMS_IDEAL;
    step_config cfg = {.schedule = SCHED_1F1B, .moe_load = 1};
    ms_err err = {0};
    double fanout[2];
    for (int i = 0; i < 2; i++) {
        topo_spec ts = step_default_topo(&c, p.gpus);
        ts.domain_size = i == 0 ? 4 : 2;
        topo *t = NULL;
        step_result r;
        CU_ASSERT_FATAL(topo_build(&ts, &t, &err) == MS_OK);
        CU_ASSERT_FATAL(step_run(&tiny, &c, NULL, &p, t, &net, &cfg, &r, &err) == MS_OK);
        fanout[i] = r.stage0.ep_fanout;
        step_result_free(&r);
        topo_free(t);
    }
    /* One domain holds the group: GPUs reached; two domains: nodes reached. */
    MS_ASSERT_WITHIN(fanout[0], tcost_expected_nodes(4, (double)tiny.experts_per_token, 0), 1e-12);
    MS_ASSERT_WITHIN(fanout[1], tcost_expected_nodes(2, (double)tiny.experts_per_token, 0), 1e-12);
}

/* step_lower_bound never exceeds the step step_run simulates, over
 * schedules, layouts, ZeRO stages, recompute, stacks with and without
 * overlaps, and a skewed expert load; and it is no trivial bound: half the
 * cases are bounded to more than a third of their step (the search's
 * pruning rests on both). */
static void test_lower_bound(void)
{
    const sched_kind kinds[] = {SCHED_1F1B,     SCHED_GPIPE,     SCHED_ZB1P,
                                SCHED_DUALPIPE, SCHED_DUALPIPEV, SCHED_INTERLEAVED};
    const char *stacks[] = {NULL, "megatron-core-2024", "deepseek-v3"};
    chip c = test_chip();
    coll_params net = COLL_PARAMS_IDEAL;
    net.alpha_s[TOPO_LINK_SCALEUP] = 3e-6;
    net.alpha_s[TOPO_LINK_NIC] = 9e-6;
    int checked = 0;
    static double ratio[4096];
    for (int64_t tp = 1; tp <= 2; tp *= 2)
        for (int64_t pp = 1; pp <= 4; pp *= 2)
            for (int64_t ep = 1; ep <= 8; ep *= 2)
                for (int zero = 0; zero <= 3; zero += 3)
                    for (int rc = 0; rc < 3; rc += 2)
                        for (size_t sk = 0; sk < 3; sk++)
                            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                                plan p = small_plan();
                                p.tp = tp, p.pp = pp, p.ep = ep, p.zero = zero;
                                p.dp = p.gpus / (tp * pp);
                                p.recompute = (plan_recompute)rc;
                                p.stack = stacks[sk];
                                p.vpp = kinds[k] == SCHED_INTERLEAVED ? 2 : 1;
                                double load = ep > 1 && zero ? 1.6 : 1.0;
                                ms_err err = {0};
                                if (plan_check(&p, &tiny, &err) != MS_OK)
                                    continue;
                                topo_spec ts = step_default_topo(&c, p.gpus);
                                topo *t = NULL;
                                CU_ASSERT_FATAL(topo_build(&ts, &t, &err) == MS_OK);
                                step_config cfg = {
                                    .schedule = kinds[k], .moe_load = load, .comm_sms = 10};
                                step_result r;
                                step_work w;
                                int ran = step_run(&tiny, &c, NULL, &p, t, &net, &cfg, &r, &err);
                                CU_ASSERT_FATAL(step_work_of(&tiny, &c, NULL, &p, t, &net, load, &w,
                                                             &err) == MS_OK);
                                topo_free(t);
                                if (ran == MS_OK) {
                                    double b = step_lower_bound(&w, &p, kinds[k]);
                                    CU_ASSERT(b <= r.step_time_s);
                                    if (!(b <= r.step_time_s))
                                        fprintf(stderr,
                                                "\n    tp %lld pp %lld ep %lld zero %d %s %s: "
                                                "bound %.9g > step %.9g\n",
                                                (long long)tp, (long long)pp, (long long)ep, zero,
                                                sched_name(kinds[k]), p.stack ? p.stack : "plain",
                                                b, r.step_time_s);
                                    if (checked < 4096)
                                        ratio[checked++] = b / r.step_time_s;
                                }
                                step_result_free(&r);
                            }
    CU_ASSERT_FATAL(checked > 200);
    gsl_sort(ratio, 1, (size_t)checked);
    double median = gsl_stats_median_from_sorted_data(ratio, 1, (size_t)checked);
    CU_ASSERT(median > 1.0 / 3);
    if (!(median > 1.0 / 3))
        fprintf(stderr, "\n    bound over step: median %.3g, loosest %.3g\n", median, ratio[0]);
}

static CU_TestInfo tests[] = {
    {"an attention span, by hand", test_attention_span_by_hand},
    {"a cluster's smaller domains decide the expert fanout", test_domain_override},
    {"materialized attention by hand", test_materialized_attention_by_hand},
    {"software stacks: recompute, TP and DP overlap", test_stack_overlaps},
    {"gradients summed by a kernel, or by the GEMM", test_gradient_accumulation},
    {"Megatron's FP32 loss bytes by hand", test_megatron_loss_bytes},
    {"attention timed by the stack's release, falling back to the general rows",
     test_attention_by_release},
    {"training GEMMs timed by the stack's libraries, falling back to gemm_train",
     test_gemm_by_release},
    {"FP8 recipes: fused casts, quantization kernels, MXFP8", test_fp8_recipes},
    {"expected nodes a token reaches", test_expected_nodes},
    {"FP8 quantization bytes by hand", test_fp8_quantization_bytes},
    {"element-wise bytes by hand", test_elementwise_bytes},
    {"rotary positions and biases by hand", test_rope_and_bias_passes},
    {"stage FLOPs against the model", test_stage_flops},
    {"one replica equals every replica", test_symmetry},
    {"imbalance costs, DualPipe hides EP", test_imbalance_and_overlap},
    {"breakdown adds up to the step", test_breakdown_adds_up},
    {"one GPU by hand", test_one_gpu_by_hand},
    {"a plan that does not fit", test_does_not_fit},
    {"the lower bound never exceeds the simulated step", test_lower_bound},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "step", .pInitFunc = setup, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_step");
}
