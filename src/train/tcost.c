/* tcost: see tcost.h. */
#include "train/tcost.h"

#include <math.h>
#include <string.h>

#include "hw/roofline.h"
#include "net/coll.h"
#include "train/stack.h"

static const char *const kind_names[] = {
#define TCOST_KIND_NAME(e, name) name,
    TCOST_KIND_MAP(TCOST_KIND_NAME)
#undef TCOST_KIND_NAME
};

const char *tcost_kind_name(tcost_kind k)
{
    return kind_names[k];
}

double tcost_expected_nodes(double nodes, double k, double limit)
{
    return coll_ep_fanout(nodes, k, limit);
}

/* Accumulates one task's operations. */
typedef struct acc {
    const chip *c;
    const calib *cal;
    tcost_work *f, *b, *w; /* forward, input gradient, weight gradient */
    int recompute;         /* 1: add each forward op to b again */
    int selective;         /* MLA: recompute norms and up-projections in b */
    int quant;             /* 1: FP8 GEMMs add their quantization kernels */
    double fused_cast_B;   /* > 0: FP8 casts fused into the kernels before each GEMM, writing
                              this many bytes per element per copy (rowwise and columnwise) */
    const char *fp8_kind;  /* calibration kind of FP8 GEMMs */
    const char *gemm_kind; /* and of BF16 and FP16 ones (the stack's) */
    const char *attn_fwd_kind, *attn_bwd_kind; /* of fused attention (the stack's) */
    double wgrad_out_B; /* > 0: bytes a weight-gradient element costs its GEMM, which adds
                           it to the gradient buffer (stack.h); else the output's */
    tcost_work scratch; /* where a recompute's own backward would go: dropped */
    char *uncal;        /* tcost_stage.uncalibrated */
    size_t uncal_cap;
    int failed;
    ms_err *err;
} acc;

static void add_time(acc *a, tcost_work *t, tcost_kind k, const char *calib_kind, ms_prec prec,
                     double flops, double bytes)
{
    if (a->failed || !(bytes > 0))
        return;
    roof_op op = {.kind = calib_kind, .prec = prec, .flops = flops, .bytes = bytes};
    /* A kernel bound by HBM traffic reaches at most what the family's
     * streaming kernels reach: where a kind has no memory figure of its
     * own (a GEMM writing attention scores), the stream one is used. */
    roof_eff eff = calib_eff_hbm(a->cal, a->c, calib_kind, prec);
    roof_result r;
    if (roof_time(a->c, &op, &eff, &r, a->err) != MS_OK) {
        a->failed = 1;
        return;
    }
    /* Say which bound ran at the datasheet peak for want of a row. */
    const char *peak = r.bound == ROOF_COMPUTE ? (eff.compute_source ? NULL : "compute")
                                               : (eff.memory_source ? NULL : "memory");
    if (a->cal && a->uncal && peak) {
        const char *base = calib_kind_base(calib_kind);
        char item[48];
        snprintf(item, sizeof item, "%s %s %s", base ? base : calib_kind, ms_prec_name(prec), peak);
        calib_peak_list_add(a->uncal, a->uncal_cap, item);
    }
    t->time_s += r.time_s;
    t->by_kind_s[k] += r.time_s;
    if (r.bound == ROOF_COMPUTE)
        t->flop_bound_s += r.time_s;
    else
        t->hbm_bound_s += r.time_s;
    t->flops += flops;
    if (k == TCOST_QUANT)
        t->quant_B += bytes;
}

/* Bytes of an FP8 element with its share of a scale: one FP32 scale per
 * 128 values (1x128 activation tiles, DeepSeek-V3 §3.3.1). */
static const double fp8_elem_B = 1 + 4.0 / 128;

static void quant(acc *a, tcost_work *t, double bytes)
{
    add_time(a, t, TCOST_QUANT, "quant", MS_FP8, 0, bytes);
}

/* count products of m x k by k x n weights at prec. In FP8, x_cast and
 * dy_cast are the activation and output-gradient elements quantized for
 * them (< 0: all of the products' own, m x k x count and m x n x count;
 * less where a cast is shared or done before a dispatch). */
static void gemmq(acc *a, ms_prec prec, double m, double n, double k, double count, double x_cast,
                  double dy_cast)
{
    if (!(m > 0 && n > 0 && k > 0 && count > 0))
        return;
    double wb = ms_prec_bytes(prec), ob = ms_prec_gemm_out_bytes(prec);
    double flops = 2 * m * n * k * count;
    double fwd_B = count * (n * k * wb + m * k * wb + m * n * ob);
    double dgrad_B = count * (m * n * wb + n * k * wb + m * k * ob);
    double wgrad_B =
        count * (m * n * wb + m * k * wb + n * k * (a->wgrad_out_B > 0 ? a->wgrad_out_B : ob));
    const char *kind = prec == MS_FP8 ? a->fp8_kind : a->gemm_kind;
    add_time(a, a->f, TCOST_GEMM, kind, prec, flops, fwd_B);
    if (a->recompute)
        add_time(a, a->b, TCOST_GEMM, kind, prec, flops, fwd_B);
    add_time(a, a->b, TCOST_GEMM, kind, prec, flops, dgrad_B);
    add_time(a, a->w, TCOST_GEMM, kind, prec, flops, wgrad_B);
    if (prec == MS_FP8 && a->fused_cast_B > 0) {
        /* The kernel before each GEMM (a norm, an activation, the previous
         * backward) also writes the FP8 input in both layouts, rowwise
         * for this product and columnwise for the weight gradient (Hopper's
         * FP8 tensor cores take K-major operands only); the same for the
         * output gradient in the backward. */
        double x_B = m * k * count * 2 * a->fused_cast_B,
               dy_B = m * n * count * 2 * a->fused_cast_B;
        add_time(a, a->f, TCOST_QUANT, "stream", MS_BF16, 0, x_B);
        if (a->recompute)
            add_time(a, a->b, TCOST_QUANT, "stream", MS_BF16, 0, x_B);
        add_time(a, a->b, TCOST_QUANT, "stream", MS_BF16, 0, dy_B);
    }
    if (prec != MS_FP8 || !a->quant)
        return;
    double bf16_B = ms_prec_bytes(MS_BF16);
    double x = x_cast < 0 ? m * k * count : x_cast, dy = dy_cast < 0 ? m * n * count : dy_cast;
    double x_fwd_B = x * (bf16_B + fp8_elem_B); /* BF16 in, FP8 1x128 out */
    quant(a, a->f, x_fwd_B);
    if (a->recompute)
        quant(a, a->b, x_fwd_B);
    quant(a, a->w, m * k * count * 2 * fp8_elem_B); /* X re-tiled to 128x1 */
    if (dy_cast < 0) {                              /* both tile layouts in one pass */
        quant(a, a->b, dy * (bf16_B + 2 * fp8_elem_B));
    } else { /* cast once elsewhere (1x128); the 128x1 layout re-tiled from it here */
        quant(a, a->b, dy * (bf16_B + fp8_elem_B));
        quant(a, a->w, m * n * count * 2 * fp8_elem_B);
    }
}

static void gemm(acc *a, ms_prec prec, double m, double n, double k, double count)
{
    gemmq(a, prec, m, n, k, count, -1, -1);
}

static void attention(acc *a, double flops, double bytes)
{
    add_time(a, a->f, TCOST_ATTENTION, a->attn_fwd_kind, MS_BF16, flops, bytes);
    if (a->recompute)
        add_time(a, a->b, TCOST_ATTENTION, a->attn_fwd_kind, MS_BF16, flops, bytes);
    add_time(a, a->b, TCOST_ATTENTION, a->attn_bwd_kind, MS_BF16, 2.5 * flops, 2 * bytes);
}

/* Attention as 2021 Megatron-LM computes it, over E = T x heads x keys
 * scores (every key, the causal mask applied to a full square): Q K^T as
 * a batched GEMM writing the scores to HBM, a fused scale-mask-softmax
 * reading them and writing probabilities, dropout on the probabilities
 * (read, write, a one-byte mask) when the stack runs it, P V reading them.
 * The backward runs four batched GEMMs (dP = dO V^T writing, dV = P^T dO
 * reading P, dQ and dK each reading dS), the dropout backward (dP and the
 * mask in, the gradient out) and the softmax backward (P and dP in, dS
 * out). qk_flops is 2 T heads head_dim keys: each of the four forward and
 * backward products' FLOPs; io_B the bytes of Q, K, V and the output. */
static void attention_materialized(acc *a, double E, double qk_flops, double io_B, int dropout,
                                   double ab)
{
    double drop_B = dropout ? E * (2 * ab + 1) : 0; /* read, write, mask */
    tcost_work *passes[2] = {a->f, a->recompute ? a->b : NULL};
    for (int i = 0; i < 2; i++) {
        if (!passes[i])
            continue;
        add_time(a, passes[i], TCOST_ATTENTION, a->gemm_kind, MS_BF16, qk_flops, E * ab + io_B / 2);
        add_time(a, passes[i], TCOST_ATTENTION, "stream", MS_BF16, 5 * E, 2 * E * ab);
        if (dropout)
            add_time(a, passes[i], TCOST_ATTENTION, "stream", MS_BF16, E, drop_B);
        add_time(a, passes[i], TCOST_ATTENTION, a->gemm_kind, MS_BF16, qk_flops, E * ab + io_B / 2);
    }
    tcost_work *b = a->b;
    add_time(a, b, TCOST_ATTENTION, a->gemm_kind, MS_BF16, qk_flops, E * ab + io_B / 4); /* dP */
    add_time(a, b, TCOST_ATTENTION, a->gemm_kind, MS_BF16, qk_flops, E * ab + io_B / 4); /* dV */
    if (dropout)
        add_time(a, b, TCOST_ATTENTION, "stream", MS_BF16, E, E * (2 * ab + 1));
    add_time(a, b, TCOST_ATTENTION, "stream", MS_BF16, 4 * E, 3 * E * ab); /* softmax backward */
    add_time(a, b, TCOST_ATTENTION, a->gemm_kind, MS_BF16, qk_flops, E * ab + io_B / 4); /* dQ */
    add_time(a, b, TCOST_ATTENTION, a->gemm_kind, MS_BF16, qk_flops, E * ab + io_B / 4); /* dK */
}

/* Data movement that the backward repeats once, not twice. */
static void permute(acc *a, double bytes)
{
    add_time(a, a->f, TCOST_OTHER, "stream", MS_BF16, 0, bytes);
    add_time(a, a->b, TCOST_OTHER, "stream", MS_BF16, 0, bytes);
}

/* A streaming kernel's forward (again in the backward under recompute)
 * and its backward, each given by its FLOPs and HBM bytes. */
static void stream_fwd_bwd(acc *a, double f_flops, double f_bytes, double b_flops, double b_bytes)
{
    add_time(a, a->f, TCOST_OTHER, "stream", MS_BF16, f_flops, f_bytes);
    if (a->recompute)
        add_time(a, a->b, TCOST_OTHER, "stream", MS_BF16, f_flops, f_bytes);
    add_time(a, a->b, TCOST_OTHER, "stream", MS_BF16, b_flops, b_bytes);
}

/* An element-wise kernel, whose backward moves twice its forward's bytes. */
static void elementwise(acc *a, double flops, double bytes)
{
    stream_fwd_bwd(a, flops, bytes, 2 * flops, 2 * bytes);
}

/* A sub-layer's norm and residual add, elems activations of act_B bytes,
 * as Megatron runs them (megatron/core/transformer/transformer_layer.py
 * at f2e5db402c, input_layernorm / self_attn_bda and pre_mlp_layernorm /
 * mlp_bda; the same in 2021's ParallelTransformerLayer). Forward: the norm
 * reads its input and writes its output (Transformer Engine's
 * LayerNormLinear, apex's FusedLayerNorm), and the fused bias-dropout-add
 * reads the projection's output and the residual and writes their sum: 5
 * passes. Backward: the add hands its output's gradient to both inputs
 * as it is, a bias's gradient is a sum over it (1 pass), the norm's
 * backward reads its output's gradient and its input and writes its
 * input's (3), and autograd adds that to the residual's gradient, the
 * same tensor's other use (3): 6 passes, 7 with a bias. */
static void norm_residual(acc *a, double elems, double act_B, int bias)
{
    /* a few FLOPs an element (an estimate: these passes are bound by
     * their bytes) */
    stream_fwd_bwd(a, 5 * elems, 5 * elems * act_B, 10 * elems, (bias ? 7 : 6) * elems * act_B);
}

/* Rotary positions on elems query and key elements: one fused kernel
 * reads each and writes its rotated copy (Megatron-Core's
 * apply_rotary_pos_emb with apply_rope_fusion, on by default at
 * f2e5db402c: Transformer Engine's fused_apply_rotary_pos_emb), and the
 * backward rotates the gradients back the same way: 2 passes each way. */
static void rope(acc *a, double elems, double act_B)
{
    /* a rotation: 6 FLOPs an element (2 multiplies and an add, each half) */
    stream_fwd_bwd(a, 6 * elems, 2 * elems * act_B, 6 * elems, 2 * elems * act_B);
}

typedef struct shape {
    double T;   /* tokens of the rank's context slice in one micro-batch */
    double Tsp; /* tokens after the sequence-parallel split: T / tp */
    double Tn;  /* tokens norms and dropouts run on: Tsp, or T without sequence parallelism */
    double seq; /* tokens a query's scores run over: the sequence, or the plan's
                   length-weighted attention span */
    const stack *sk;
    double tp;    /* tensor-parallel ranks */
    double keys;  /* average keys a query attends: (seq + 1) / 2, causal */
    double load;  /* routed tokens over the mean */
    double epr;   /* routed experts per rank */
    ms_prec gp;   /* GEMM precision of the recipe */
    double act_B; /* bytes of an activation element passed between ops (bf16) */
} shape;

static void layer(acc *a, const model *m, const shape *s, int moe)
{
    double d = (double)m->hidden_size, nh = (double)m->num_heads / s->tp;
    double T = s->T, Tsp = s->Tsp, Tn = s->Tn, ab = s->act_B;
    norm_residual(a, Tn * d, ab, m->o_bias); /* attention's norm and residual add */
    if (m->attn == MODEL_ATTN_MLA) {
        double dq = (double)m->q_lora_rank, dc = (double)m->kv_lora_rank;
        double dn = (double)m->qk_nope_head_dim, dr = (double)m->qk_rope_head_dim;
        double dv = (double)m->v_head_dim;
        if (dq > 0) {
            gemm(a, s->gp, T, dq, d, 1);
            gemm(a, s->gp, T, nh * (dn + dr), dq, 1);
        } else {
            gemm(a, s->gp, T, nh * (dn + dr), d, 1);
        }
        gemmq(a, s->gp, T, dc + dr, d, 1, 0, -1); /* x was cast for q_down (q_proj) */
        gemm(a, s->gp, T, nh * (dn + dv), dc, 1);
        if (a->selective && !a->recompute) { /* V3's selective recompute: norms, up-projections */
            acc re = *a;
            re.f = a->b;
            re.b = re.w = &a->scratch;
            re.quant = 0; /* their FP8 inputs are cached */
            gemm(&re, s->gp, T, nh * (dn + dr), dq > 0 ? dq : d, 1);
            gemm(&re, s->gp, T, nh * (dn + dv), dc, 1);
            elementwise(&re, 8 * Tsp * d, 4 * Tsp * d * ab);
            a->failed |= re.failed;
        }
        rope(a, T * (nh + 1) * dr, ab); /* the queries' rope part and the shared rope key */
        attention(a, T * (2 * nh * (dn + dr) + 2 * nh * dv) * s->keys,
                  T * (2 * nh * (dn + dr) + 2 * nh * dv) * ab);
        gemm(a, s->gp, T, d, nh * dv, 1);
    } else {
        double nkv = fmax(1, (double)m->num_kv_heads / s->tp), hd = (double)m->head_dim;
        double io_B = T * (2 * nh * hd + 2 * nkv * hd) * ab;
        gemm(a, s->gp, T, (nh + 2 * nkv) * hd, d, 1);
        if (!m->learned_positions)
            rope(a, T * (nh + nkv) * hd, ab);
        if (s->sk->attention == STACK_ATTN_MATERIALIZED)
            attention_materialized(a, T * nh * s->seq, 2 * T * nh * hd * s->seq, io_B,
                                   s->sk->dropout, ab);
        else
            attention(a, T * 4 * nh * hd * s->keys, io_B);
        gemm(a, s->gp, T, d, nh * hd, 1);
    }
    norm_residual(a, Tn * d, ab, !moe && m->mlp_bias); /* the FFN's */
    if (s->sk->dropout) /* the dropout masks of both bias-dropout-adds, a byte an element */
        elementwise(a, 2 * Tn * d, 2 * Tn * d);
    int gated = m->ffn_kind == MODEL_FFN_GATED;
    double up = gated ? 2 : 1, act = model_act_flops(m);
    if (!moe) {
        double f = (double)m->ffn_dim / s->tp;
        gemm(a, s->gp, T, up * f, d, 1);
        elementwise(a, act * T * f, T * f * (up + 1) * ab);
        gemm(a, s->gp, T, d, f, 1);
        return;
    }
    double E = (double)m->num_experts, k = (double)m->experts_per_token;
    double fe = (double)m->expert_dim;
    double routed = Tsp * k * s->load; /* token-expert pairs this rank's experts run */
    /* The router stays in BF16 in DeepSeek-V3's FP8 recipe (§3.3.1). */
    gemm(a, MS_BF16, Tsp, E, d, 1);
    /* Tokens are cast once before the FP8 dispatch, and the gradients
     * coming back to the experts' outputs once before theirs (§3.3.3). */
    gemmq(a, s->gp, routed / s->epr, up * fe, d, s->epr, Tsp * d, -1);
    elementwise(a, act * routed * fe, routed * fe * (up + 1) * ab);
    gemmq(a, s->gp, routed / s->epr, d, fe, s->epr, -1, Tsp * d);
    if (m->num_shared_experts > 0) {
        double fs = (double)m->num_shared_experts * fe / s->tp;
        /* Its input and output gradient are the ones cast for the dispatches. */
        gemmq(a, s->gp, T, up * fs, d, 1, 0, -1);
        elementwise(a, act * T * fs, T * fs * (up + 1) * ab);
        gemmq(a, s->gp, T, d, fs, 1, -1, 0);
    }
    elementwise(a, 2 * routed * d, (routed + Tsp) * d * ab); /* weighted sum of expert outputs */
    /* The grouped GEMMs take each expert's rows together: received tokens
     * are permuted into that order and the outputs back (read and write
     * each), in the dispatch's precision and in BF16; the backward moves
     * the gradients the same way once. */
    double disp_B = s->gp == MS_FP8 ? fp8_elem_B : ab;
    permute(a, 2 * routed * d * (disp_B + ab));
}

/* Output head and loss: logits of a vocabulary slice per TP rank, in BF16
 * (the head stays in BF16 in DeepSeek-V3's recipe), softmax and
 * cross-entropy over FP32 logits. */
static void head(acc *a, const model *m, const shape *s)
{
    double d = (double)m->hidden_size, V = (double)m->vocab_size / s->tp;
    elementwise(a, 4 * s->Tn * d, 2 * s->Tn * d * s->act_B); /* final norm */
    gemm(a, MS_BF16, s->T, V, d, 1);
    if (s->sk->loss_fp32_B_fwd > 0) {
        /* The stack's own count of the loss's passes over the logits. */
        double L = s->T * V;
        add_time(a, a->f, TCOST_OTHER, "stream", MS_BF16, 5 * L, L * s->sk->loss_fp32_B_fwd);
        if (a->recompute)
            add_time(a, a->b, TCOST_OTHER, "stream", MS_BF16, 5 * L, L * s->sk->loss_fp32_B_fwd);
        add_time(a, a->b, TCOST_OTHER, "stream", MS_BF16, 2 * L, L * s->sk->loss_fp32_B_bwd);
        return;
    }
    elementwise(a, 5 * s->T * V, 2 * s->T * V * 4); /* 5 FLOPs a logit: an estimate */
}

int tcost_stage_compute(const model *m, const chip *c, const calib *cal, const plan *p,
                        int64_t stage, int64_t stages, double moe_load, tcost_stage *out,
                        ms_err *err)
{
    *out = (tcost_stage){0};
    const model_recipe *r = model_recipe_find(p->recipe);
    if (!r)
        return ms_errf(err, MS_EINVAL, "field 'precision': expected one of %s, got '%s'",
                       model_recipe_list(), p->recipe);
    if (!(moe_load > 0) || !isfinite(moe_load))
        return ms_errf(err, MS_EINVAL,
                       "field 'moe_imbalance': expected the rank's routed tokens over the mean, "
                       "> 0, got %g",
                       moe_load);
    ms_prec gp = r->scaling == MODEL_SCALING_NONE ? MS_BF16 : MS_FP8;
    if (isnan(chip_peak(c, gp)))
        return ms_errf(err, MS_EINVAL,
                       "field 'precision': %s has no %s peak in the database; use --precision "
                       "bf16",
                       c->name, ms_prec_name(gp));
    if (r->scaling == MODEL_SCALING_MX && strncmp(c->family, "blackwell", 9) != 0)
        return ms_errf(err, MS_EINVAL,
                       "field 'precision': mxfp8 needs tensor cores that read block scales "
                       "(Blackwell); %s is %s: use fp8-tensor or fp8",
                       c->name, c->family);
    int64_t L = m->num_layers, per = (L + stages - 1) / stages;
    out->first_layer = stage * per < L ? stage * per : L;
    out->layers = out->first_layer + per > L ? L - out->first_layer : per;
    out->embedding = stage == 0;
    out->head = stage == stages - 1;
    out->mtp_modules = out->head ? m->mtp_layers : 0;

    double span = p->attn_span > 0 ? p->attn_span : (double)p->seq_len;
    shape s = {
        .T = (double)(p->micro_batch * p->seq_len) / (double)p->cp,
        .tp = (double)p->tp,
        .keys = (span + 1) / 2,
        .load = moe_load,
        .epr = m->num_experts > 0 ? (double)m->num_experts / (double)p->ep : 1,
        .gp = gp,
        .act_B = 2,
        .seq = span,
        .sk = stack_or_plain(p->stack),
    };
    s.Tsp = s.T / s.tp;
    s.Tn = s.sk->sequence_parallel ? s.Tsp : s.T;
    acc a = {.c = c,
             .cal = cal,
             .f = &out->f,
             .b = &out->b,
             .w = &out->w,
             .recompute = p->recompute == PLAN_RECOMPUTE_FULL,
             .selective = p->recompute == PLAN_RECOMPUTE_SELECTIVE,
             .quant = r->scaling == MODEL_SCALING_FINE,
             /* One FP8 byte an element, plus an E8M0 scale per 32 for MXFP8. */
             .fused_cast_B = r->scaling == MODEL_SCALING_PER_TENSOR ? 1
                             : r->scaling == MODEL_SCALING_MX       ? 1 + 1.0 / 32
                                                                    : 0,
             /* DeepSeek's fine-grained GEMMs (FP32 promotion every 128 values on
              * CUDA cores, small grouped expert GEMMs) have their own training
              * measurement; per-tensor and MX FP8 GEMMs are what the benchmarks
              * of the chip's FP8 GEMMs measure. */
             .fp8_kind = r->scaling == MODEL_SCALING_FINE ? "gemm_train" : "gemm",
             .wgrad_out_B = s.sk->wgrad_out_B,
             .gemm_kind = s.sk->gemm_train_kind ? s.sk->gemm_train_kind : "gemm_train",
             .attn_fwd_kind = s.sk->attn_fwd_kind ? s.sk->attn_fwd_kind : "attention",
             .attn_bwd_kind = s.sk->attn_bwd_kind ? s.sk->attn_bwd_kind : "attention_bwd",
             .uncal = out->uncalibrated,
             .uncal_cap = sizeof out->uncalibrated,
             .err = err};
    double d = (double)m->hidden_size;
    for (int64_t l = out->first_layer; l < out->first_layer + out->layers; l++) {
        int moe = model_layer_is_moe(m, l);
        out->moe_layers += moe;
        layer(&a, m, &s, moe);
        out->dense_params += (model_attn_params(m) + model_layer_norm_params(m)) / s.tp;
        if (moe) {
            double routed = (double)m->num_experts * model_expert_params(m);
            out->dense_params += (model_moe_params(m) - routed) / s.tp;
            out->expert_params += routed / (double)p->ep;
        } else {
            out->dense_params += model_dense_ffn_params(m) / s.tp;
        }
    }
    a.recompute = a.selective = 0; /* embedding, head and MTP run once: what they keep is small */
    model_params mp = model_param_counts(m);
    if (out->embedding) {
        elementwise(&a, 0, 2 * s.T * d * s.act_B); /* the gather */
        out->dense_params += mp.embedding / s.tp;
        /* The stack's own passes over the whole table in its backward. */
        if (s.sk->embed_grad_B > 0)
            add_time(&a, a.w, TCOST_OTHER, "stream", MS_BF16, mp.embedding / s.tp,
                     mp.embedding / s.tp * s.sk->embed_grad_B);
    }
    if (out->head) {
        head(&a, m, &s);
        out->dense_params += (mp.head + model_layer_norm_params(m) / 2) / s.tp;
        for (int64_t i = 0; i < out->mtp_modules; i++) {
            /* DeepSeek-V3 §2.2: two norms, a projection of [h; emb] from 2d
             * to d, one transformer block, the shared head. */
            elementwise(&a, 8 * s.Tsp * d, 4 * s.Tsp * d * s.act_B);
            gemm(&a, gp, s.T, d, 2 * d, 1);
            int moe = m->num_experts > 0;
            out->moe_layers += moe;
            layer(&a, m, &s, moe);
            head(&a, m, &s);
        }
        if (out->mtp_modules > 0) {
            double routed = (double)m->mtp_layers * (double)m->num_experts * model_expert_params(m);
            out->dense_params += (mp.mtp - routed) / s.tp;
            out->expert_params += routed / (double)p->ep;
        }
    }
    /* Where the stack sums the micro-batches' weight gradients in a kernel
     * of its own: every micro-batch after the first adds its gradient to
     * the earlier ones', so a micro-batch pays (M - 1) / M of the pass on
     * average (none when the step is one micro-batch). */
    double M = (double)plan_microbatches(p);
    double params = out->dense_params + out->expert_params;
    if (s.sk->grad_accum_B > 0 && M > 1)
        add_time(&a, a.w, TCOST_OTHER, "stream", MS_BF16, params * (M - 1) / M,
                 params * s.sk->grad_accum_B * (M - 1) / M);
    /* A step's passes over the whole gradient buffer, a share to each
     * micro-batch as above. */
    if (s.sk->grad_buffer_step_B > 0)
        add_time(&a, a.w, TCOST_OTHER, "stream", MS_FP32, params / M,
                 params * s.sk->grad_buffer_step_B / M);
    if (a.failed)
        return MS_EINVAL;

    out->tp_allreduces = p->tp > 1 ? 2 * (out->layers + out->mtp_modules) : 0;
    /* Full recompute runs each layer's forward again, all-reduces and all. */
    out->tp_allreduces_bwd = out->tp_allreduces * (p->recompute == PLAN_RECOMPUTE_FULL ? 2 : 1);
    out->tp_allreduce_B = s.T * d * s.act_B;
    if (m->num_experts > 0 && p->ep > 1) {
        /* DeepEP sends a token once to each node its experts sit on, then
         * forwards it over NVLink: FP8 with one FP32 scale per 128 values
         * in the FP8 recipe, BF16 otherwise; the combine returns BF16
         * (DeepEP README: "FP8 dispatch, BF16 combine"). */
        double domain = isnan(c->scale_up_domain_chips) ? 1 : c->scale_up_domain_chips;
        double ep_nodes = fmax(1, (double)p->ep / domain);
        double k = (double)m->experts_per_token;
        double limit = m->groups_per_token > 0 && m->expert_groups == (int64_t)ep_nodes
                           ? (double)m->groups_per_token
                           : 0;
        out->ep_fanout = ep_nodes > 1 ? tcost_expected_nodes(ep_nodes, k, limit)
                                      : tcost_expected_nodes((double)p->ep, k, 0);
        double disp_elem_B = gp == MS_FP8 ? 1 + 4.0 / 128 : 2;
        out->ep_dispatch_B = s.Tsp * d * disp_elem_B * out->ep_fanout;
        out->ep_combine_B = s.Tsp * d * 2 * out->ep_fanout;
    }
    /* Each tensor-parallel rank sends its sequence shard of the activation
     * (sequence parallelism; 2021's scatter/gather, Narayanan et al. §4.1). */
    out->pp_B = s.T * d * s.act_B / s.tp;
    return MS_OK;
}
