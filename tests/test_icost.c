/* Tests of a serving iteration's cost (src/serve/icost): a decode step
 * against a roofline computed by hand, the operations against model/mops
 * at one GPU, how tensor parallelism splits work and KV cache, and the
 * errors that name the option at fault. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hw/calib.h"
#include "hw/roofline.h"
#include "model/modelfile.h"
#include "model/mops.h"
#include "serve/icost.h"
#include "test_assert.h"
#include "test_calib.h"
#include "test_domain.h"

static model tiny_mla;

static int setup(void)
{
    char warn[MODELFILE_WARN_MAX];
    ms_err err = {0};
    return modelfile_load("tests/data/models/tiny_mla.json", &tiny_mla, warn, &err);
}

/* One dense GQA layer, small enough to count by hand. */
static model tiny_gqa(void)
{
    return (model){.name = "hand",
                   .vocab_size = 100,
                   .hidden_size = 64,
                   .num_layers = 1,
                   .max_positions = 1024,
                   .attn = MODEL_ATTN_GQA,
                   .num_heads = 4,
                   .num_kv_heads = 2,
                   .head_dim = 16,
                   .ffn_kind = MODEL_FFN_GATED,
                   .ffn_dim = 128};
}

static chip round_chip(double peak, double bw)
{
    chip c = {.name = "X", .family = "x"};
    for (int i = 0; i < MS_PREC_COUNT; i++)
        c.peak_flop_per_s[i] = NAN;
    c.peak_flop_per_s[MS_BF16] = peak;
    c.peak_flop_per_s[MS_FP8] = 2 * peak;
    c.hbm_bytes = 80e9;
    c.hbm_bw_Bps = bw;
    return c;
}

static icost_config one_gpu(void)
{
    return (icost_config){
        .tp = 1, .dp = 1, .ep = 1, .weight_prec = MS_BF16, .kv_prec = MS_BF16, .moe_imbalance = 1};
}

/* Two sequences decoding with 10 cached tokens each, BF16, at a peak of
 * 1.5 GFLOP/s and 1 GB/s (ridge 1.5 FLOP/B): every figure below is
 * d = 64, 4 heads of 16, 2 KV heads, gated FFN of 128, vocabulary 100. */
static void test_decode_by_hand(void)
{
    model m = tiny_gqa();
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(model_validate(&m, &err), MS_OK);
    chip c = round_chip(1.5e9, 1e9);
    icost_config cfg = one_gpu();
    icost *ic;
    CU_ASSERT_EQUAL_FATAL(icost_new(&m, &c, NULL, &cfg, NULL, NULL, &ic, &err), MS_OK);
    static const struct {
        const char *op;
        double flops, bytes;
    } ops[] = {
        {"residual add and attention norm: 5Td, 4Td x 2 B", 5 * 2 * 64, 4 * 2 * 64 * 2},
        {"qkv 2x128x64: weights 128x64x2, in 2x64x2, out 2x128x2", 2 * 2 * 128 * 64,
         128 * 64 * 2 + 2 * 64 * 2 + 2 * 128 * 2},
        {"attention: 20 keys x 4 x 4 x 16; KV 20 x 2 x 2 x 16 x 2, q and o 2 x 2 x 4 x 16 x 2",
         20 * 4 * 4 * 16, 20 * 2 * 2 * 16 * 2 + 2 * 2 * 4 * 16 * 2},
        {"o_proj 2x64x64", 2 * 2 * 64 * 64, 64 * 64 * 2 + 2 * 64 * 2 + 2 * 64 * 2},
        {"residual add and ffn norm: 5Td, 4Td x 2 B", 5 * 2 * 64, 4 * 2 * 64 * 2},
        {"gate and up 2x256x64", 2 * 2 * 256 * 64, 256 * 64 * 2 + 2 * 64 * 2 + 2 * 256 * 2},
        {"SiLU and multiply: 5 a element, 3 x 2 x 128 x 2 B", 5 * 2 * 128, 2 * 128 * 3 * 2},
        {"down 2x64x128", 2 * 2 * 64 * 128, 64 * 128 * 2 + 2 * 128 * 2 + 2 * 64 * 2},
        {"final norm", 4 * 2 * 64, 2 * 2 * 64 * 2},
        {"head 2x100x64", 2 * 2 * 100 * 64, 100 * 64 * 2 + 2 * 64 * 2 + 2 * 100 * 2},
    };
    double want = 0, want_hbm = 0, flops = 0, bytes = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        double tc = ops[i].flops / 1.5e9, tm = ops[i].bytes / 1e9;
        want += fmax(tc, tm);
        want_hbm += tm > tc ? tm : 0;
        flops += ops[i].flops;
        bytes += ops[i].bytes;
    }
    icost_batch b = {.decode_seqs = 2, .decode_ctx = 20};
    icost_time t = icost_eval(ic, &b);
    MS_ASSERT_WITHIN(t.compute_s, want, 1e-15);
    MS_ASSERT_WITHIN(t.hbm_bound_s, want_hbm, 1e-15);
    MS_ASSERT_WITHIN(t.flops, flops, 1e-6);
    MS_ASSERT_WITHIN(t.hbm_bytes, bytes, 1e-6);
    CU_ASSERT(t.hbm_bound_s > 0 && t.hbm_bound_s < t.compute_s); /* both bounds occur */
    MS_ASSERT_EXACT(t.comm_s, 0);
    MS_ASSERT_EXACT(t.time_s, t.compute_s);
    /* Weights: qkv, o, gate-up, down, head (untied) and the embedding, BF16. */
    double w = 2.0 * (128 * 64 + 64 * 64 + 256 * 64 + 64 * 128 + 100 * 64 + 100 * 64);
    MS_ASSERT_WITHIN(icost_weights_B_per_gpu(ic), w, 1e-6);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(ic), 2 * 2 * 16 * 2, 1e-12);
    icost_free(ic);
}

/* A checkpoint scaled in blocks runs each FP8 GEMM on activations a
 * kernel of its own quantizes: the two-sequence decode step of the
 * hand-counted GQA layer gains four such kernels (the normed input of
 * qkv, the attention output, the normed input of gate-up, the SiLU
 * output: 2 x 64, 2 x 64, 2 x 64, 2 x 128 elements), each reading BF16
 * and writing FP8 with a 4-byte scale per 128: 3.03125 bytes an element,
 * 1,940 bytes, 1.94 us at 1 GB/s. Not FP8 weights: an error. */
static void test_activation_quantization(void)
{
    model m = tiny_gqa();
    chip c = round_chip(1.5e9, 1e9);
    ms_err err = {0};
    icost_config cfg = one_gpu();
    cfg.weight_prec = MS_FP8;
    icost *plain, *quant;
    CU_ASSERT_EQUAL_FATAL(icost_new(&m, &c, NULL, &cfg, NULL, NULL, &plain, &err), MS_OK);
    cfg.act_quant = 1;
    CU_ASSERT_EQUAL_FATAL(icost_new(&m, &c, NULL, &cfg, NULL, NULL, &quant, &err), MS_OK);
    icost_batch b = {.decode_seqs = 2, .decode_ctx = 20};
    icost_time t0 = icost_eval(plain, &b), t1 = icost_eval(quant, &b);
    double bytes = (2 * 64 + 2 * 64 + 2 * 64 + 2 * 128) * (2 + 1 + 4.0 / 128);
    MS_ASSERT_WITHIN(t1.hbm_bytes - t0.hbm_bytes, bytes, 1e-6);
    MS_ASSERT_WITHIN(t1.compute_s - t0.compute_s, bytes / 1e9, 1e-15);
    MS_ASSERT_WITHIN(t1.hbm_bound_s - t0.hbm_bound_s, bytes / 1e9, 1e-15);
    MS_ASSERT_EXACT(t1.flops, t0.flops);
    icost_free(plain);
    icost_free(quant);

    cfg.weight_prec = MS_BF16;
    CU_ASSERT_EQUAL(icost_new(&m, &c, NULL, &cfg, NULL, NULL, &quant, &err), MS_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "FP8 GEMMs only"));
}

/* Sum of the roofline times of mops's operations for `layers` layers. */
static double mops_time(const model *m, const chip *c, const calib *cal, int moe, mops_phase ph,
                        int64_t batch, int64_t ctx)
{
    mop ops[MOPS_MAX];
    size_t n;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(mops_layer(m, moe, ph, batch, ctx, MS_BF16, ops, &n, &err), MS_OK);
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        roof_op op = {
            .kind = ops[i].kind, .prec = MS_BF16, .flops = ops[i].flops, .bytes = ops[i].bytes};
        roof_eff eff = calib_eff_hbm(cal, c, ops[i].kind, MS_BF16);
        roof_result r;
        CU_ASSERT_EQUAL_FATAL(roof_time(c, &op, &eff, &r, &err), MS_OK);
        t += r.time_s;
    }
    return t;
}

static double head_time(const model *m, const chip *c, const calib *cal, double tokens)
{
    double d = (double)m->hidden_size;
    roof_op norm = {
        .kind = "stream", .prec = MS_BF16, .flops = 4 * tokens * d, .bytes = 2 * tokens * d * 2};
    roof_op head = roof_gemm((int64_t)tokens, m->vocab_size, m->hidden_size, MS_BF16);
    head.kind = "gemm";
    roof_result r1, r2;
    ms_err err = {0};
    roof_eff e1 = calib_eff_hbm(cal, c, "stream", MS_BF16),
             e2 = calib_eff_hbm(cal, c, "gemm", MS_BF16);
    CU_ASSERT_EQUAL_FATAL(roof_time(c, &norm, &e1, &r1, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(roof_time(c, &head, &e2, &r2, &err), MS_OK);
    return r1.time_s + r2.time_s;
}

/* At one GPU and BF16, a step is mops's layers (with the real H100 row
 * and calibration) plus the head: the shortcut of linear forms gives the
 * same answer as building the operations. */
static void test_matches_mops(void)
{
    ms_err err = {0};
    chip_db *db;
    calib *cal;
    CU_ASSERT_EQUAL_FATAL(chip_db_load("hwdb/chips.csv", &db, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(calib_load("hwdb/efficiency.csv", &cal, &err), MS_OK);
    const chip *c = chip_db_find(db, "H100");
    const model *m = &tiny_mla;
    icost_config cfg = one_gpu();
    icost *ic;
    CU_ASSERT_EQUAL_FATAL(icost_new(m, c, cal, &cfg, NULL, NULL, &ic, &err), MS_OK);
    int64_t moe = model_moe_layers(m), dense = m->num_layers - moe;
    static const struct {
        int64_t batch, ctx;
    } cases[] = {{1, 1}, {4, 100}, {64, 2000}, {300, 37}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t B = cases[i].batch, S = cases[i].ctx;
        double want = (double)dense * mops_time(m, c, cal, 0, MOPS_DECODE, B, S) +
                      (double)moe * mops_time(m, c, cal, 1, MOPS_DECODE, B, S) +
                      head_time(m, c, cal, (double)B);
        icost_batch b = {.decode_seqs = (double)B, .decode_ctx = (double)(B * S)};
        double got = icost_eval(ic, &b).compute_s;
        if (!MS_ASSERT_NEAR(got, want, 1e-12))
            fprintf(stderr, "    decode B %lld S %lld (expected: mops)\n", (long long)B,
                    (long long)S);
        want = (double)dense * mops_time(m, c, cal, 0, MOPS_PREFILL, B, S) +
               (double)moe * mops_time(m, c, cal, 1, MOPS_PREFILL, B, S) +
               head_time(m, c, cal, (double)B);
        b = (icost_batch){.prefill_tokens = (double)(B * S),
                          .prefill_keys = (double)B * (double)S * (double)(S + 1) / 2,
                          .prefill_done = (double)B};
        got = icost_eval(ic, &b).compute_s;
        if (!MS_ASSERT_NEAR(got, want, 1e-12))
            fprintf(stderr, "    prefill B %lld S %lld (expected: mops)\n", (long long)B,
                    (long long)S);
    }
    icost_free(ic);
    calib_free(cal);
    chip_db_free(db);
}

/* Tensor parallelism splits heads and weights; MLA's latent cache stays
 * whole on every rank, GQA's KV heads split until there is one a rank. */
static void test_tp_split(void)
{
    ms_err err = {0};
    model g = tiny_gqa();
    chip c = round_chip(1e12, 1e9);
    icost_config c1 = one_gpu(), c2 = one_gpu(), c4 = one_gpu();
    c2.tp = 2;
    c4.tp = 4;
    icost *g1, *g2, *g4, *m1, *m2;
    topo *t4 = test_domain(4);
    coll_params cp = COLL_PARAMS_IDEAL;
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &c1, NULL, NULL, &g1, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &c2, t4, &cp, &g2, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &c4, t4, &cp, &g4, &err), MS_OK);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(g2), icost_kv_B_per_token_per_gpu(g1) / 2, 1e-12);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(g4), icost_kv_B_per_token_per_gpu(g2), 1e-12);
    MS_ASSERT_WITHIN(icost_kv_B_per_token(g4), icost_kv_B_per_token(g1), 1e-12);
    CU_ASSERT(icost_weights_B_per_gpu(g2) < 0.51 * icost_weights_B_per_gpu(g1));
    icost_batch b = {.decode_seqs = 8, .decode_ctx = 8000};
    CU_ASSERT(icost_eval(g2, &b).flops < 0.51 * icost_eval(g1, &b).flops);
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &c1, NULL, NULL, &m1, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &c2, t4, &cp, &m2, &err), MS_OK);
    /* Two all-reduces a layer of 8 tokens x 64 x 2 B over 2 GPUs: time. */
    icost_time t2 = icost_eval(m2, &b);
    CU_ASSERT(t2.comm_s > 0);
    MS_ASSERT_WITHIN(t2.time_s, t2.compute_s + t2.comm_s, 1e-15);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(m2), icost_kv_B_per_token_per_gpu(m1), 1e-12);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(m1), 4 * (32 + 8) * 2.0, 1e-12);
    CU_ASSERT_EQUAL(icost_gpus(m2), 2);
    icost_free(g1);
    icost_free(g2);
    icost_free(g4);
    icost_free(m1);
    icost_free(m2);
    topo_free(t4);
}

/* tp_overlap (TensorRT-LLM's gemm_allreduce_plugin): a layer's two
 * all-reduces, each of tp_s / (2 layers), cost what they take beyond the
 * GEMM they sit in. By hand: 8 ms over 2 layers is 2 ms each; beside a
 * 1 ms output projection 1 ms shows, beside a 3 ms down projection none:
 * 2 ms in all. Then the hand-counted GQA layer at tp 2 on 8 decode
 * tokens, its own all-reduces: the iteration's communication is that
 * formula of the plain one and the two GEMMs' times (memory-bound at 1
 * GB/s: the output projection 64 x 32 weights, 8 x 32 in, 8 x 64 out, 2
 * bytes each, 5,632 bytes; the down projection 64 x 64, 8 x 64, 8 x 64:
 * 10,240 bytes), never more than the plain one; compute is unchanged. A
 * model with experts: an error naming the option. */
static void test_tp_overlap(void)
{
    MS_ASSERT_WITHIN(icost_tp_overlap_exposed_s(8e-3, 2, 1e-3, 3e-3), 2e-3, 1e-15);
    MS_ASSERT_WITHIN(icost_tp_overlap_exposed_s(8e-3, 2, 5e-3, 5e-3), 0, 0);
    MS_ASSERT_WITHIN(icost_tp_overlap_exposed_s(8e-3, 0, 1e-3, 1e-3), 8e-3, 0);
    ms_err err = {0};
    model g = tiny_gqa();
    chip c = round_chip(1e12, 1e9);
    icost_config plain = one_gpu(), fused = one_gpu();
    plain.tp = fused.tp = 2;
    fused.tp_overlap = 1;
    /* A slow link (1 MB/s), so that each all-reduce outlasts both GEMMs
     * and the result depends on their times. */
    topo_spec ts = {
        .gpus = 2, .domain_size = 2, .scaleup_bw_Bps = 1e6, .sites = 1, .fabric = TOPO_FABRIC_NONE};
    topo *t2 = NULL;
    CU_ASSERT_EQUAL_FATAL(topo_build(&ts, &t2, &err), MS_OK);
    coll_params cp = COLL_PARAMS_IDEAL;
    icost *a = NULL, *b = NULL, *x = NULL;
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &plain, t2, &cp, &a, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &fused, t2, &cp, &b, &err), MS_OK);
    icost_batch bt = {.decode_seqs = 8, .decode_ctx = 800};
    icost_time ta = icost_eval(a, &bt), tb = icost_eval(b, &bt);
    CU_ASSERT(ta.comm_s > 0);
    MS_ASSERT_WITHIN(tb.compute_s, ta.compute_s, 1e-18);
    MS_ASSERT_WITHIN(tb.comm_s, icost_tp_overlap_exposed_s(ta.comm_s, 1, 5632e-9, 10240e-9), 1e-15);
    CU_ASSERT(tb.comm_s < ta.comm_s && ta.comm_s / 2 > 10240e-9); /* partly hidden */
    MS_ASSERT_WITHIN(tb.time_s, tb.compute_s + tb.comm_s, 1e-15);
    fused.tp = 1;
    CU_ASSERT_EQUAL(icost_new(&tiny_mla, &c, NULL, &fused, NULL, NULL, &x, &err), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--tp-overlap"));
    CU_ASSERT_PTR_NULL(x);
    icost_free(a);
    icost_free(b);
    topo_free(t2);
}

/* With overlap, a batch of two or more sequences a rank runs as two
 * micro-batches: each half pays the weights and the exchanges' fixed
 * costs, and the iteration lies between the longer and the sum of compute
 * and communication; one sequence a rank cannot split, and its exchange
 * follows its compute. */
static void test_two_micro_batches(void)
{
    ms_err err = {0};
    chip c = round_chip(1e12, 1e9);
    icost_config one = one_gpu(), two = one_gpu();
    one.dp = two.dp = 2;
    one.ep = two.ep = 2;
    two.overlap = 1;
    topo *t4 = test_domain(4);
    coll_params cp = COLL_PARAMS_IDEAL;
    cp.ll_alpha_s = 5e-6; /* a fixed cost an exchange, so halves pay it twice */
    cp.ll_eff = 1e-5;     /* an exchange slow enough for the split to pay */
    icost *a, *b;
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &one, t4, &cp, &a, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &two, t4, &cp, &b, &err), MS_OK);
    icost_batch full = {.decode_seqs = 8, .decode_ctx = 8000};
    icost_batch half = {.decode_seqs = 4, .decode_ctx = 4000};
    CU_ASSERT(icost_splits(b, &full));
    CU_ASSERT(!icost_splits(a, &full));
    icost_time h = icost_eval(a, &half), t = icost_eval(b, &full), f = icost_eval(a, &full);
    MS_ASSERT_WITHIN(t.compute_s, 2 * h.compute_s, 1e-15);
    MS_ASSERT_WITHIN(t.comm_s, 2 * h.comm_s, 1e-15);
    MS_ASSERT_WITHIN(t.hbm_bytes, 2 * h.hbm_bytes, 1e-9);
    CU_ASSERT(t.time_s >= fmax(t.compute_s, t.comm_s) - 1e-15);
    CU_ASSERT(t.time_s < t.compute_s + t.comm_s);
    /* Weights read twice: more bytes than one batch of eight, but the
     * exchange hidden: faster. */
    CU_ASSERT(t.hbm_bytes > f.hbm_bytes * 1.2);
    CU_ASSERT(t.comm_s > f.comm_s);
    CU_ASSERT(t.time_s < f.time_s);
    /* With a fast exchange the split does not pay, and the batch runs whole. */
    icost *fa, *fb;
    cp.ll_eff = 1;
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &one, t4, &cp, &fa, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &two, t4, &cp, &fb, &err), MS_OK);
    icost_time wa = icost_eval(fa, &full), wb = icost_eval(fb, &full);
    MS_ASSERT_WITHIN(wb.time_s, wa.time_s, 1e-15);
    MS_ASSERT_WITHIN(wb.hbm_bytes, wa.hbm_bytes, 1e-9);
    icost_free(fa);
    icost_free(fb);
    /* Two sequences over two ranks, one a rank: no split, compute then
     * communication. */
    icost_batch single = {.decode_seqs = 2, .decode_ctx = 2000};
    CU_ASSERT(!icost_splits(b, &single));
    icost_time s1 = icost_eval(b, &single), s0 = icost_eval(a, &single);
    MS_ASSERT_WITHIN(s1.time_s, s0.time_s, 1e-15);
    MS_ASSERT_WITHIN(s1.time_s, s1.compute_s + s1.comm_s, 1e-15);
    /* Four prompt tokens, two a rank, are enough to split a prefill. */
    icost_batch p = {.prefill_tokens = 4, .prefill_seqs = 2, .prefill_keys = 6, .prefill_done = 2};
    CU_ASSERT(icost_splits(b, &p));
    icost_free(a);
    icost_free(b);
    /* Overlap without experts to exchange is an error naming the option. */
    icost_config bad = one_gpu();
    bad.overlap = 1;
    icost *x = NULL;
    CU_ASSERT_EQUAL(icost_new(&tiny_mla, &c, NULL, &bad, NULL, NULL, &x, &err), MS_EUSAGE);
    CU_ASSERT(strstr(err.msg, "--overlap") != NULL && strstr(err.msg, "--ep") != NULL);
    topo_free(t4);
}

/* The four stages of a MoE layer by hand: attention 3, experts 1,
 * dispatch 2, combine 4 (any unit): 3 + 2 + 4 + 4. Compute-bound: the
 * sum of both micro-batches' compute; exchange-bound: the sum of theirs. */
static void test_overlap_layer_by_hand(void)
{
    MS_ASSERT_WITHIN(icost_overlap_layer_s(3, 1, 2, 4, 1), 13, 1e-15);
    MS_ASSERT_WITHIN(icost_overlap_layer_s(3, 2, 1, 1, 1), 10, 1e-15);
    MS_ASSERT_WITHIN(icost_overlap_layer_s(1, 1, 3, 3, 1), 12, 1e-15);
    MS_ASSERT_WITHIN(icost_overlap_layer_s(2, 0, 0, 0, 1), 4, 1e-15);
    /* Half the SMs while in flight: attention 3 beside a dispatch of 2
     * does 1 in it and 2 after (4); experts 1 beside it need 2 (= the
     * dispatch); beside a combine of 4, 1 needs 2 of its 4 (4); attention
     * 3 beside 4 needs 6 > 4: 3 + 0.5 x 4 = 5. */
    MS_ASSERT_WITHIN(icost_overlap_layer_s(3, 1, 2, 4, 0.5), 4 + 2 + 4 + 5, 1e-15);
}

/* Drafting a token runs the MTP module and doubles the verified queries;
 * each further draft runs it again. */
static void test_mtp(void)
{
    ms_err err = {0};
    chip c = round_chip(1e12, 1e9);
    icost_config c0 = one_gpu(), c1 = one_gpu();
    c1.mtp_draft = 1;
    icost *a, *b;
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &c0, NULL, NULL, &a, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &c1, NULL, NULL, &b, &err), MS_OK);
    icost_batch x = {.decode_seqs = 16, .decode_ctx = 16000};
    icost_time ta = icost_eval(a, &x), tb = icost_eval(b, &x);
    CU_ASSERT(tb.time_s > ta.time_s);
    CU_ASSERT(tb.flops > 2 * ta.flops * 0.9);
    CU_ASSERT(icost_weights_B_per_gpu(b) > icost_weights_B_per_gpu(a));
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(b), icost_kv_B_per_token_per_gpu(a) * 5.0 / 4,
                     1e-9);
    /* Two drafts: the module runs twice and three queries a sequence are
     * verified, with the same weights and the module's one cache. */
    icost_config c2 = one_gpu();
    c2.mtp_draft = 2;
    icost *d;
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny_mla, &c, NULL, &c2, NULL, NULL, &d, &err), MS_OK);
    icost_time td = icost_eval(d, &x);
    CU_ASSERT(td.time_s > tb.time_s);
    CU_ASSERT(td.flops > tb.flops * 1.3);
    MS_ASSERT_WITHIN(icost_weights_B_per_gpu(d), icost_weights_B_per_gpu(b), 1e-9);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(d), icost_kv_B_per_token_per_gpu(b), 1e-9);
    icost_free(d);
    icost_free(a);
    icost_free(b);
}

/* A draft model: its weights and its cache beside the target's, its layers
 * and head run for each drafted token, its layers over every prompt, and
 * the target verifies 1 + K queries a sequence. */
static void test_draft_model(void)
{
    ms_err err = {0};
    chip c = round_chip(1e12, 1e9);
    model target = tiny_gqa(), draft = tiny_gqa();
    target.num_layers = 4;
    snprintf(draft.name, sizeof draft.name, "draft");
    draft.hidden_size = 32;
    draft.head_dim = 8;
    draft.ffn_dim = 64;
    icost_config c0 = one_gpu(), c1 = one_gpu(), c3 = one_gpu(), solo = one_gpu();
    c1.mtp_draft = 1;
    c3.mtp_draft = 3;
    c1.draft_model = c3.draft_model = &draft;
    icost *a, *b1, *b3, *d;
    CU_ASSERT_EQUAL_FATAL(icost_new(&target, &c, NULL, &c0, NULL, NULL, &a, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&target, &c, NULL, &c1, NULL, NULL, &b1, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&target, &c, NULL, &c3, NULL, NULL, &b3, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&draft, &c, NULL, &solo, NULL, NULL, &d, &err), MS_OK);
    /* Held once: the draft's own weights (its layer, head and embedding). */
    MS_ASSERT_WITHIN(icost_weights_B_per_gpu(b3), icost_weights_B_per_gpu(b1), 1e-9);
    MS_ASSERT_WITHIN(icost_weights_B_per_gpu(b1) - icost_weights_B_per_gpu(a),
                     icost_weights_B_per_gpu(d), 1e-9);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(b1),
                     icost_kv_B_per_token_per_gpu(a) + icost_kv_B_per_token_per_gpu(d), 1e-9);
    /* A decode step: the draft's one-token step K times on top of the
     * target's verification; 1 + K queries cost the target more. */
    icost_batch x = {.decode_seqs = 8, .decode_ctx = 8000};
    icost_time t0 = icost_eval(a, &x), t1 = icost_eval(b1, &x), t3 = icost_eval(b3, &x);
    icost_time dstep = icost_eval(d, &x);
    CU_ASSERT(t1.flops > t0.flops + dstep.flops);
    /* two more draft steps, and two more queries a sequence to verify */
    CU_ASSERT(t3.flops - t1.flops > 2 * dstep.flops);
    CU_ASSERT(t3.time_s > t1.time_s + 1.5 * dstep.time_s);
    /* A prompt runs the draft's layers too (not its head). */
    icost_batch p = {.prefill_tokens = 100, .prefill_seqs = 1, .prefill_keys = 5050};
    CU_ASSERT(icost_eval(b1, &p).flops > icost_eval(a, &p).flops);
    /* Errors: a draft with experts, another vocabulary. */
    icost_config bad = c1;
    bad.draft_model = &tiny_mla;
    icost *x2 = NULL;
    CU_ASSERT_EQUAL(icost_new(&target, &c, NULL, &bad, NULL, NULL, &x2, &err), MS_EUSAGE);
    CU_ASSERT(strstr(err.msg, "--draft-model") != NULL && strstr(err.msg, "experts") != NULL);
    draft.vocab_size = 99;
    CU_ASSERT_EQUAL(icost_new(&target, &c, NULL, &c1, NULL, NULL, &x2, &err), MS_EUSAGE);
    CU_ASSERT(strstr(err.msg, "vocabulary") != NULL);
    icost_free(a);
    icost_free(b1);
    icost_free(b3);
    icost_free(d);
}

/* Pipeline stages: a 4-layer model over pp 2 holds two layers, and the
 * embedding or the head (each 100 x 64 x 2 bytes), a GPU, and half the
 * cache; over pp 3, ceil(4 / 3) = 2 layers, as much. An iteration of b at
 * pp 2 is the whole model on half of b, plus two sends of that half's
 * activations (4 tokens x 64 x 2 bytes at 100 GB/s, no latency in the
 * ideal parameters) from one GPU to the next. */
static void test_pipeline_stages(void)
{
    ms_err err = {0};
    model g = tiny_gqa();
    g.num_layers = 4;
    chip c = round_chip(1e12, 1e9);
    icost_config c1 = one_gpu(), c2 = one_gpu(), c3 = one_gpu();
    c2.pp = 2;
    c3.pp = 3;
    topo *t3 = test_domain(3);
    coll_params cp = COLL_PARAMS_IDEAL;
    icost *p1, *p2, *p3;
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &c1, NULL, NULL, &p1, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &c2, t3, &cp, &p2, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &c3, t3, &cp, &p3, &err), MS_OK);
    double E = 100 * 64 * 2, w1 = icost_weights_B_per_gpu(p1);
    MS_ASSERT_WITHIN(icost_weights_B_per_gpu(p2), (w1 - 2 * E) / 2 + E, 1e-9);
    MS_ASSERT_WITHIN(icost_weights_B_per_gpu(p3), icost_weights_B_per_gpu(p2), 1e-9);
    double kv1 = icost_kv_B_per_token_per_gpu(p1);
    MS_ASSERT_WITHIN(kv1, 4 * 2 * 2 * 16 * 2.0, 1e-12);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(p2), kv1 / 2, 1e-12);
    MS_ASSERT_WITHIN(icost_kv_B_per_token_per_gpu(p3), kv1 / 2, 1e-12);
    MS_ASSERT_WITHIN(icost_kv_B_per_token(p2), icost_kv_B_per_token(p1), 1e-12);
    CU_ASSERT_EQUAL(icost_gpus(p2), 2);
    CU_ASSERT_EQUAL(icost_gpus(p3), 3);
    icost_config six = one_gpu();
    six.tp = 2;
    six.pp = 3;
    CU_ASSERT_EQUAL(icost_config_gpus(&six), 6);
    six.pp = 0; /* none */
    CU_ASSERT_EQUAL(icost_config_gpus(&six), 2);

    icost_batch b = {.decode_seqs = 8, .decode_ctx = 8000},
                half = {.decode_seqs = 4, .decode_ctx = 4000};
    icost_time whole = icost_eval(p2, &b), one = icost_eval(p1, &half);
    double send_s = 4 * 64 * 2 / 100e9;
    MS_ASSERT_WITHIN(whole.time_s, one.time_s + 2 * send_s, 1e-6 * whole.time_s);
    MS_ASSERT_WITHIN(whole.comm_s, 2 * send_s, 1e-6 * send_s);
    MS_ASSERT_WITHIN(whole.flops, one.flops, 1e-9 * one.flops);
    CU_ASSERT(whole.time_s < icost_eval(p1, &b).time_s);
    icost_free(p1);
    icost_free(p2);
    icost_free(p3);
    topo_free(t3);
}

/* CUDA graphs: a decode-only batch runs at the captured size above each
 * dp rank's share; prompts, or a share above the largest size, run as
 * they are; sizes must ascend. */
static void test_cuda_graphs(void)
{
    icost_config cfg = one_gpu();
    cfg.dp = 8;
    const int64_t sizes[] = {128, 256, 384, 512};
    for (int i = 0; i < 4; i++)
        cfg.graph_sizes[i] = sizes[i];
    icost_batch b = {.decode_seqs = 760, .decode_ctx = 760 * 1000.0};
    MS_ASSERT_EXACT_AS("none given yet", icost_graph_seqs(&cfg, &b), 760);
    cfg.ngraphs = 4;
    MS_ASSERT_EXACT_AS("95 a rank pad to 128", icost_graph_seqs(&cfg, &b), 8 * 128.0);
    b.decode_seqs = 8 * 257;
    MS_ASSERT_EXACT_AS("257 a rank pad to 384", icost_graph_seqs(&cfg, &b), 8 * 384.0);
    b.decode_seqs = 5; /* five ranks hold one each */
    MS_ASSERT_EXACT_AS("5 ranks of 1", icost_graph_seqs(&cfg, &b), 5 * 128.0);
    b.decode_seqs = 4100; /* 513 a rank: above the largest, no graph */
    MS_ASSERT_EXACT_AS("above 512", icost_graph_seqs(&cfg, &b), 4100);
    b = (icost_batch){.decode_seqs = 760, .prefill_tokens = 100, .prefill_seqs = 1};
    MS_ASSERT_EXACT_AS("with a prompt", icost_graph_seqs(&cfg, &b), 760);

    /* The padded rows cost GEMM and head time, not cache reads. */
    chip c = round_chip(1e12, 1e9);
    model g = tiny_gqa();
    ms_err err = {0};
    icost *plain, *graphs;
    icost_config one = one_gpu();
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &one, NULL, NULL, &plain, &err), MS_OK);
    one.ngraphs = 1, one.graph_sizes[0] = 64;
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, NULL, &one, NULL, NULL, &graphs, &err), MS_OK);
    icost_batch d = {.decode_seqs = 40, .decode_ctx = 40 * 500.0};
    icost_batch d64 = {.decode_seqs = 64, .decode_ctx = 40 * 500.0};
    MS_ASSERT_NEAR(icost_eval(graphs, &d).time_s, icost_eval(plain, &d64).time_s, 1e-12);
    CU_ASSERT(icost_eval(graphs, &d).time_s > icost_eval(plain, &d).time_s);
    icost_batch pf = {.decode_seqs = 40,
                      .decode_ctx = 40 * 500.0,
                      .prefill_tokens = 10,
                      .prefill_seqs = 1,
                      .prefill_keys = 55,
                      .prefill_done = 1};
    MS_ASSERT_NEAR(icost_eval(graphs, &pf).time_s, icost_eval(plain, &pf).time_s, 1e-12);
    icost_free(plain);
    icost_free(graphs);

    /* Sizes out of order are refused, naming the option. */
    one.ngraphs = 2, one.graph_sizes[0] = 64, one.graph_sizes[1] = 32;
    CU_ASSERT_EQUAL(icost_new(&g, &c, NULL, &one, NULL, NULL, &graphs, &err), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--cuda-graphs"));
}

static void test_errors(void)
{
    chip c = round_chip(1e12, 1e9);
    model g = tiny_gqa();
    static const struct {
        int64_t tp, dp, ep;
        int mtp, fp4, use_gqa;
        const char *has;
        int64_t pp;
    } cases[] = {
        {3, 1, 1, 0, 0, 0, "--tp 3 must divide the 4 attention heads", 0},
        {2, 2, 3, 0, 0, 0, "--ep 3 must divide", 0},
        {1, 1, 2, 0, 0, 1, "has no experts", 0},
        {2, 2, 4, 0, 0, 0, NULL, 0},
        {1, 1, 1, 1, 0, 1, "--mtp-accept", 0},
        {1, 1, 1, 0, 1, 0, "--precision fp4", 0},
        {0, 1, 1, 0, 0, 0, "at least 1", 0},
        {1, 1, 1, 0, 0, 1, "--pp 2: expected 1 to the 1 layers", 2},
        {1, 1, 1, 0, 0, 1, "--pp -1", -1},
        {1, 1, 1, 1, 0, 0, "without expert parallelism, --overlap or draft tokens", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        icost_config cfg = one_gpu();
        cfg.tp = cases[i].tp;
        cfg.dp = cases[i].dp;
        cfg.ep = cases[i].ep;
        cfg.mtp_draft = cases[i].mtp;
        cfg.pp = cases[i].pp;
        if (cases[i].fp4)
            cfg.weight_prec = MS_FP4;
        icost *ic = NULL;
        ms_err err = {0};
        int rc =
            icost_new(cases[i].use_gqa ? &g : &tiny_mla, &c, NULL, &cfg, NULL, NULL, &ic, &err);
        if (!cases[i].has) {
            CU_ASSERT_EQUAL(rc, MS_EINVAL); /* 4 GPUs need a topology for their collectives */
            CU_ASSERT(strstr(err.msg, "needs a topology") != NULL);
            continue;
        }
        if (rc == MS_OK || !strstr(err.msg, cases[i].has))
            printf("\n  case %zu: rc %d, message '%s', expected '%s'\n", i, rc, err.msg,
                   cases[i].has);
        /* An error that names an option is bad usage; any other, a bad value. */
        CU_ASSERT_EQUAL(rc, err.msg[0] == '-' ? MS_EUSAGE : MS_EINVAL);
        CU_ASSERT(strstr(err.msg, cases[i].has) != NULL);
        CU_ASSERT_PTR_NULL(ic);
    }
}

/* A kind with no memory figure takes the family's stream one, as train
 * does: on a chip of 1 GB/s whose streams reach half of it, a decode step
 * whose GEMMs have only a compute figure (1.0) takes what it takes at
 * 0.5 GB/s uncalibrated. Attention has no row: its compute runs at the
 * peak, and the instance says so; without the stream row, every memory
 * figure is at the peak too. */
static void test_stream_fallback_and_uncalibrated(void)
{
    static const char head[] =
        "family,op_kind,precision,compute_eff,memory_eff,overhead_us,measured_on,source\n"
        "x,gemm,bf16,1.0,,,X,a\n";
    char with_stream[512];
    snprintf(with_stream, sizeof with_stream, "%sx,stream,*,,0.5,,X,b\n", head);
    ms_err err = {0};
    model g = tiny_gqa();
    chip c = round_chip(1.5e9, 1e9), half = round_chip(1.5e9, 0.5e9);
    icost_config cfg = one_gpu();
    calib *cal = test_calib_text(with_stream);
    icost *a, *b;
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, cal, &cfg, NULL, NULL, &a, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &half, NULL, &cfg, NULL, NULL, &b, &err), MS_OK);
    icost_batch batch = {.decode_seqs = 2,
                         .decode_ctx = 20,
                         .prefill_tokens = 5,
                         .prefill_seqs = 1,
                         .prefill_keys = 15,
                         .prefill_done = 1};
    MS_ASSERT_NEAR(icost_eval(a, &batch).compute_s, icost_eval(b, &batch).compute_s, 1e-12);
    CU_ASSERT_STRING_EQUAL(icost_uncalibrated(a),
                           "attention bf16 compute; attention_decode bf16 compute");
    CU_ASSERT_STRING_EQUAL(icost_uncalibrated(b), ""); /* the peak was asked for */
    icost_free(a);
    calib_free(cal);
    cal = test_calib_text(head);
    CU_ASSERT_EQUAL_FATAL(icost_new(&g, &c, cal, &cfg, NULL, NULL, &a, &err), MS_OK);
    const char *u = icost_uncalibrated(a);
    CU_ASSERT(strstr(u, "stream bf16 memory") && strstr(u, "gemm bf16 memory") &&
              strstr(u, "attention_decode bf16 memory") && !strstr(u, "gemm bf16 compute") &&
              !strstr(u, "stream bf16 compute"));
    icost_free(a);
    icost_free(b);
    calib_free(cal);
}

static CU_TestInfo tests[] = {
    {"decode step against a hand-computed roofline", test_decode_by_hand},
    {"activations quantized by kernels of their own", test_activation_quantization},
    {"decode and prefill equal mops at one GPU", test_matches_mops},
    {"tensor parallelism splits heads, weights, GQA cache", test_tp_split},
    {"MTP drafting", test_mtp},
    {"two micro-batches with overlap", test_two_micro_batches},
    {"tensor-parallel all-reduces inside their GEMMs", test_tp_overlap},
    {"a draft model's weights, cache and steps", test_draft_model},
    {"an overlapped MoE layer's four stages by hand", test_overlap_layer_by_hand},
    {"pipeline stages: weights, cache, micro-batches and sends", test_pipeline_stages},
    {"CUDA graphs pad decode batches", test_cuda_graphs},
    {"errors name the option", test_errors},
    {"the stream fallback and what runs at a peak", test_stream_fallback_and_uncalibrated},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "icost", .pInitFunc = setup, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_icost");
}
