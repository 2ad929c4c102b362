/* icost: see icost.h. */
#include "serve/icost.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "hw/roofline.h"

/* The aggregates an operation's FLOPs and bytes are linear in, for the
 * busiest dp rank (per GPU for the expert terms): a prompt sits on one
 * rank, so with fewer prompts than ranks the busiest holds a whole one. */
enum {
    V_ONE,    /* 1 */
    V_TD,     /* decode query tokens: sequences x (1 + draft) / dp */
    V_SD,     /* cached tokens of the decoding sequences / dp */
    V_TP,     /* prefill tokens / dp */
    V_KP,     /* keys the prefill tokens attend / dp */
    V_HEAD,   /* tokens through the output head / dp */
    V_TOUCH,  /* routed experts this GPU runs */
    V_PAIRS,  /* token-expert pairs this GPU's experts run */
    V_DS,     /* sequences drafting, the input of each draft pass (MTP or a draft model) / dp */
    V_DTOUCH, /* routed experts this GPU runs for the draft */
    V_DPAIRS, /* token-expert pairs this GPU runs for the draft */
    NV
};

typedef struct lin {
    double c[NV];
} lin;

static lin var(int v, double scale)
{
    lin l = {{0}};
    l.c[v] = scale;
    return l;
}

static lin add(lin a, lin b)
{
    for (int i = 0; i < NV; i++)
        a.c[i] += b.c[i];
    return a;
}

static lin scale(lin a, double s)
{
    for (int i = 0; i < NV; i++)
        a.c[i] *= s;
    return a;
}

/* A linear form kept as its non-zero terms: an operation's forms have at
 * most three, so evaluating one costs a few multiply-adds, not NV. */
#define TERMS 4

typedef struct sparse {
    int n;
    int v[TERMS];
    double c[TERMS];
} sparse;

static sparse compress(lin l)
{
    sparse s = {0};
    for (int i = 0; i < NV; i++)
        if (l.c[i] != 0) {
            assert(s.n < TERMS);
            s.v[s.n] = i;
            s.c[s.n++] = l.c[i];
        }
    return s;
}

static double sdot(const sparse *s, const double *x)
{
    double r = 0;
    for (int i = 0; i < s->n; i++)
        r += s->c[i] * x[s->v[i]];
    return r;
}

typedef struct op {
    sparse flops, bytes;
    sparse gate;          /* runs only when gate . x > 0 */
    double inv_flop_rate; /* 1 / (peak x eta_c) */
    double inv_bw;        /* 1 / (hbm bw x eta_m) */
    double overhead_s;
    double overlap_p; /* roof_combine's exponent */
    int side;   /* of a MoE layer: 0 before the expert dispatch, 1 between dispatch and combine */
    int rowpar; /* the GEMM whose output a tp all-reduce sums: 1 attention's output projection,
                   2 the FFN's down projection; 0 none */
} op;

/* Operations of one kind of layer, run `count` times per iteration. */
typedef struct oplist {
    op *ops;
    size_t n, cap;
    double count;
} oplist;

/* L_DRAFT: the MTP module, or one layer of a draft model run for each
 * drafted token; L_DHEAD: the draft model's head; L_DPRE: one layer of the
 * draft model over the prompt tokens (its own cache of them). */
enum { L_DENSE, L_MOE, L_HEAD, L_DRAFT, L_DHEAD, L_DPRE, L_KINDS };

#define DEEPEP_NORMAL_SMS 20.0

enum { MEMO = 4 };

struct icost {
    icost_config cfg;
    oplist lists[L_KINDS];
    double E, k, log_miss; /* experts, per token; log(1 - 1/E) */
    double weights_B, kv_B_per_token_gpu, kv_B_per_token;
    /* Communication per iteration, linear in the dp rank's tokens: the
     * tensor-parallel all-reduces of every layer, and one MoE layer's
     * expert exchange, [0] dispatch and [1] combine, which ep_layers
     * layers run (the MTP module's included). */
    double tp_fixed_s, tp_token_s;
    double tp_draft_token_s, tp_dpre_token_s; /* a draft model's, a draft and a prompt token */
    double ep_fixed_s[2], ep_prefill_token_s[2], ep_decode_token_s[2];
    double ep_layers;
    /* Pipeline stages (1: none), and one stage's send of its activations
     * to the next, linear in a micro-batch's tokens. */
    int64_t pp;
    double pp_fixed_s, pp_token_s;
    double normal_sm_share;      /* of the SMs, what compute keeps beside DeepEP's normal kernels */
    char uncal[ICOST_UNCAL_CAP]; /* icost_uncalibrated */
    /* The last batches timed and their times: an iteration asks for the
     * same decode batch more than once (its prompt budget, then its
     * prompts' share), admission asks about the same candidate iteration
     * after iteration while the batch is at its target, and the answer
     * depends on the batch alone. An iteration asks about four batches
     * at most, so four are kept. */
    icost_batch memo_b[MEMO];
    icost_time memo_t[MEMO];
    int memo_n, memo_next;
};

typedef struct builder {
    icost *ic;
    const chip *c;
    const calib *cal;
    oplist *l;
    double weights_B; /* of the layer being built, one copy */
    int side;         /* given to the operations pushed: see op.side */
    int rowpar;       /* given to the operations pushed: see op.rowpar */
    int failed;
    ms_err *err;
} builder;

static void push(builder *b, const char *kind, ms_prec prec, lin flops, lin bytes, lin gate)
{
    if (b->failed)
        return;
    /* As train/tcost: where a kind has no memory figure, the family's
     * streaming one. */
    roof_eff eff = calib_eff_hbm(b->cal, b->c, kind, prec);
    /* What runs at a datasheet peak for want of a row: the memory figure
     * of every kind, the compute one of every kind but streams and their
     * refinements (whose FLOPs never bind). */
    if (b->cal) {
        for (int what = 0; what < 2; what++) {
            if (what == 0 ? eff.compute_source || strcmp(calib_kind_base(kind), "stream") == 0
                          : eff.memory_source != NULL)
                continue;
            char item[64];
            snprintf(item, sizeof item, "%s %s %s", kind, ms_prec_name(prec),
                     what == 0 ? "compute" : "memory");
            calib_peak_list_add(b->ic->uncal, sizeof b->ic->uncal, item);
        }
    }
    double peak = chip_peak(b->c, prec);
    /* roof_time checks the chip has the precision and the calibration is sane. */
    roof_op probe = {.kind = kind, .prec = prec, .flops = 1, .bytes = 1};
    roof_result r;
    if (roof_time(b->c, &probe, &eff, &r, b->err) != MS_OK) {
        b->failed = 1;
        return;
    }
    oplist *l = b->l;
    op *p = vec_grow(l->ops, &l->cap, l->n + 1, 32, sizeof *p);
    if (!p) {
        b->failed = 1;
        ms_errf(b->err, MS_ENOMEM, "out of memory building the serving operations");
        return;
    }
    l->ops = p;
    l->ops[l->n++] = (op){.flops = compress(flops),
                          .bytes = compress(bytes),
                          .gate = compress(gate),
                          .inv_flop_rate = 1 / (peak * eff.compute),
                          .inv_bw = 1 / (b->c->hbm_bw_Bps * eff.memory),
                          .overhead_s = eff.overhead_s,
                          .overlap_p = eff.overlap_p,
                          .side = b->side,
                          .rowpar = b->rowpar};
}

/* count products of M x K activations by K x N weights at prec, M x count
 * = rows (a linear form): weights read once, inputs read and outputs
 * written once. count is a linear form too (experts touched); held is
 * how many such weight matrices the GPU stores. */
static void gemm_n(builder *b, ms_prec prec, lin rows, lin count, double held, double n, double k)
{
    double wb = ms_prec_bytes(prec), ob = ms_prec_gemm_out_bytes(prec);
    lin bytes = add(scale(count, n * k * wb), scale(rows, k * wb + n * ob));
    push(b, "gemm", prec, scale(rows, 2 * n * k), bytes, rows);
    b->weights_B += held * n * k * wb;
}

static void gemm(builder *b, ms_prec prec, lin rows, double n, double k)
{
    gemm_n(b, prec, rows, var(V_ONE, 1), 1, n, k);
}

/* Bytes of one FP8 element written with its share of a 1 x 128 tile's
 * FP32 scale (as train/tcost counts DeepSeek's quantization). */
static const double quant_out_B = 1 + 4.0 / 128;

/* With act_quant, the kernel that quantizes elems BF16 activations (rows
 * x width, a linear form) to FP8 for the GEMMs that read them: read at 2
 * bytes, written at quant_out_B, timed by the family's quant row (its
 * fixed cost per launch the stream row's). rows gates it. */
static void quantize(builder *b, lin rows, double width)
{
    if (!b->ic->cfg.act_quant)
        return;
    push(b, "quant", MS_FP8, var(V_ONE, 0), scale(rows, width * (2 + quant_out_B)), rows);
}

static void stream(builder *b, lin flops, lin bytes, lin gate)
{
    push(b, "stream", MS_BF16, flops, bytes, gate);
}

static void attention(builder *b, lin flops, lin bytes, lin gate)
{
    push(b, "attention", MS_BF16, flops, bytes, gate);
}

/* A decode step's attention over its paged cache (FlashMLA's kind). */
static void attention_decode(builder *b, lin flops, lin bytes, lin gate)
{
    push(b, "attention_decode", MS_BF16, flops, bytes, gate);
}

/* What one layer sees, as linear forms per dp rank. */
typedef struct layer_in {
    lin T;       /* every token through the layer's GEMMs */
    lin Td;      /* decode queries */
    lin Sd;      /* cached tokens attended by the decode queries */
    double qpk;  /* decode queries per sequence (1 + draft) */
    lin Tp, Kp;  /* prefill tokens and their keys; zero forms for a draft layer */
    lin pairs;   /* token-expert pairs this GPU's experts run */
    lin touched; /* experts this GPU runs */
} layer_in;

static void layer(builder *b, const model *m, const layer_in *in, int moe)
{
    const icost_config *cfg = &b->ic->cfg;
    ms_prec wp = cfg->weight_prec;
    double ab = 2, kvb = ms_prec_bytes(cfg->kv_prec);
    double tp = (double)cfg->tp, d = (double)m->hidden_size, nh = (double)m->num_heads / tp;
    lin T = in->T;
    /* Each norm runs fused with the residual add before it, in place: the
     * sub-layer's output and the residual read, both written (vLLM's
     * fused_add_rms_norm, vllm/model_executor/layers/layernorm.py; taken
     * for every engine, an estimate where its kernels are not read). The
     * first layer's norm has no add before it: 2 passes counted as 4, once
     * a model. */
    stream(b, scale(T, 5 * d), scale(T, 4 * d * ab), T); /* residual add and attention norm */
    if (m->attn == MODEL_ATTN_MLA) {
        double dq = (double)m->q_lora_rank, dc = (double)m->kv_lora_rank;
        double dn = (double)m->qk_nope_head_dim, dr = (double)m->qk_rope_head_dim;
        double dv = (double)m->v_head_dim;
        /* Down-projections replicated on every tp rank (as train/tcost).
         * The normed input is quantized once for both down-projections,
         * the normed query latent for the query's up-projection, the
         * prompt's key-value latent for its decompression. */
        quantize(b, T, d);
        if (dq > 0) {
            gemm(b, wp, T, dq, d);
            quantize(b, T, dq);
            gemm(b, wp, T, nh * (dn + dr), dq);
        } else {
            gemm(b, wp, T, nh * (dn + dr), d);
        }
        gemm(b, wp, T, dc + dr, d);
        /* Prefill: keys and values decompressed, MHA with causal keys. */
        quantize(b, in->Tp, dc);
        gemm(b, wp, in->Tp, nh * (dn + dv), dc);
        double per_key = 2 * nh * (dn + dr) + 2 * nh * dv;
        attention(b, scale(in->Kp, per_key), scale(in->Tp, per_key * ab), in->Tp);
        /* Decode: absorbed form, MQA over the cached latent. */
        /* W_UK and W_UV are kv_up's weights, already counted as held. */
        gemm_n(b, wp, scale(in->Td, nh), var(V_ONE, nh), 0, dc, dn);
        attention_decode(
            b, scale(in->Sd, in->qpk * (2 * nh * (dc + dr) + 2 * nh * dc)),
            add(scale(in->Sd, (dc + dr) * kvb), scale(in->Td, nh * (dc + dr + dc) * ab)), in->Td);
        gemm_n(b, wp, scale(in->Td, nh), var(V_ONE, nh), 0, dv, dc);
        quantize(b, T, nh * dv);
        b->rowpar = 1;
        gemm(b, wp, T, d, nh * dv);
        b->rowpar = 0;
    } else {
        double hd = (double)m->head_dim, nkv = fmax(1, (double)m->num_kv_heads / tp);
        quantize(b, T, d);
        gemm(b, wp, T, (nh + 2 * nkv) * hd, d);
        attention(b, scale(in->Kp, 4 * nh * hd), scale(in->Tp, (2 * nh * hd + 2 * nkv * hd) * ab),
                  in->Tp);
        attention_decode(b, scale(in->Sd, in->qpk * 4 * nh * hd),
                         add(scale(in->Sd, 2 * nkv * hd * kvb), scale(in->Td, 2 * nh * hd * ab)),
                         in->Td);
        quantize(b, T, nh * hd);
        b->rowpar = 1;
        gemm(b, wp, T, d, nh * hd);
        b->rowpar = 0;
    }
    stream(b, scale(T, 5 * d), scale(T, 4 * d * ab), T); /* residual add and FFN norm */
    int gated = m->ffn_kind == MODEL_FFN_GATED;
    double up = gated ? 2 : 1, act = model_act_flops(m);
    if (!moe) {
        double f = (double)m->ffn_dim / tp;
        quantize(b, T, d);
        gemm(b, wp, T, up * f, d);
        stream(b, scale(T, act * f), scale(T, f * (up + 1) * ab), T);
        quantize(b, T, f);
        b->rowpar = 2;
        gemm(b, wp, T, d, f);
        b->rowpar = 0;
        return;
    }
    double E = (double)m->num_experts, k = (double)m->experts_per_token;
    double etp = (double)(cfg->tp * cfg->dp / cfg->ep);
    double fe = (double)m->expert_dim / etp;
    double held =
        ceil(E / (double)cfg->ep); /* the rest redundant copies when ep does not divide E */
    gemm(b, MS_BF16, T, E, d);     /* the router */
    /* Quantized once before the dispatch, which sends FP8 (DeepEP), and
     * read by the shared experts too. */
    quantize(b, T, d);
    /* The routed and shared experts run between dispatch and combine;
     * the rest of the layer before the dispatch (the weighted sum after
     * the combine is counted there too: it runs before the next layer's
     * attention). */
    b->side = 1;
    gemm_n(b, wp, in->pairs, in->touched, held, up * fe, d);
    stream(b, scale(in->pairs, act * fe), scale(in->pairs, fe * (up + 1) * ab), in->pairs);
    quantize(b, in->pairs, fe);
    gemm_n(b, wp, in->pairs, in->touched, held, d, fe);
    if (m->num_shared_experts > 0) {
        double fs = (double)m->num_shared_experts * (double)m->expert_dim / tp;
        gemm(b, wp, T, up * fs, d);
        stream(b, scale(T, act * fs), scale(T, fs * (up + 1) * ab), T);
        quantize(b, T, fs);
        gemm(b, wp, T, d, fs);
    }
    b->side = 0;
    /* The weighted sum of each token's expert outputs. */
    stream(b, scale(T, 2 * k * d), scale(T, (k + 1) * d * ab), T);
}

/* Final norm and output head (a vocabulary slice per tp rank, BF16). */
static void head(builder *b, const model *m, lin H)
{
    double d = (double)m->hidden_size, V = (double)m->vocab_size / (double)b->ic->cfg.tp;
    stream(b, scale(H, 4 * d), scale(H, 2 * d * 2), H);
    gemm(b, MS_BF16, H, V, d);
}

/* Communication of one iteration per dp rank token, fitted as a + b x
 * tokens from coll's analytical times at two sizes (the model is linear
 * in bytes). */
static int line_at(const topo *t, const coll_params *cp, coll_op op, int64_t n, int64_t stride,
                   double bytes_per_token, double *a_s, double *b_s, const char *what, ms_err *err)
{
    *a_s = *b_s = 0;
    if (n < 2 || !(bytes_per_token > 0))
        return MS_OK;
    if (!t)
        return ms_errf(err, MS_EINVAL, "%s over %lld GPUs needs a topology", what, (long long)n);
    int ring = op == COLL_ALLREDUCE;
    double tok[2] = {256, 1280}, s[2];
    for (int i = 0; i < 2; i++) {
        coll_spec cs = {.op = op,
                        .algo = ring ? COLL_RING : COLL_DIRECT,
                        .bytes = tok[i] * bytes_per_token,
                        .gpus = n,
                        .stride = stride};
        coll_plan pl;
        coll_result r;
        int rc = coll_plan_build(t, &cs, &pl, err);
        if (rc == MS_OK) {
            rc = coll_time_analytical(t, &cs, &pl, cp, &r, err);
            coll_plan_free(&pl);
        }
        if (rc != MS_OK) {
            char inner[sizeof err->msg];
            memcpy(inner, err->msg, sizeof inner);
            return ms_errf(err, rc, "%s (%s over %lld GPUs): %s", what, coll_op_name(op),
                           (long long)n, inner);
        }
        s[i] = r.time_s;
    }
    *b_s = (s[1] - s[0]) / (tok[1] - tok[0]);
    *a_s = s[0] - *b_s * tok[0];
    return MS_OK;
}

static int comm_line(const topo *t, const coll_params *cp, coll_op op, int64_t n,
                     double bytes_per_token, double *a_s, double *b_s, const char *what,
                     ms_err *err)
{
    return line_at(t, cp, op, n, 1, bytes_per_token, a_s, b_s, what, err);
}

/* A pipeline stage's send to the next stage: from a GPU to the one
 * stage_gpus further on (the stages lie one after another). */
static int p2p_line(const topo *t, const coll_params *cp, int64_t stage_gpus,
                    double bytes_per_token, double *a_s, double *b_s, ms_err *err)
{
    return line_at(t, cp, COLL_SENDRECV, 2, stage_gpus, bytes_per_token, a_s, b_s,
                   "pipeline-parallel send between stages", err);
}

/* The same line for DeepEP's low-latency kernels (coll_ep_ll_time):
 * their fixed cost, and the bytes of a token over the links' rates. */
static int ll_line(const topo *t, const coll_params *cp, int64_t n, double bytes_per_token,
                   double *a_s, double *b_s, const char *what, ms_err *err)
{
    *a_s = *b_s = 0;
    if (n < 2 || !(bytes_per_token > 0))
        return MS_OK;
    if (!t || !cp)
        return ms_errf(err, MS_EINVAL, "%s over %lld GPUs needs a topology", what, (long long)n);
    const topo_spec *ts = topo_get_spec(t);
    *a_s = coll_ep_ll_time(cp, 0, n, ts->domain_size, ts->scaleup_bw_Bps, ts->nic_bw_Bps);
    *b_s = coll_ep_ll_time(cp, bytes_per_token, n, ts->domain_size, ts->scaleup_bw_Bps,
                           ts->nic_bw_Bps) -
           *a_s;
    return MS_OK;
}

/* KV-cache bytes of one token over layers of m: on each GPU of its dp rank
 * (MLA's latent whole on every tp rank, GQA's KV heads split) and over the
 * whole rank. */
static void kv_per_token(const model *m, double layers, const icost_config *cfg, double *gpu_B,
                         double *rank_B)
{
    double kvb = ms_prec_bytes(cfg->kv_prec);
    *rank_B = layers * model_kv_elems_per_token_layer(m) * kvb;
    if (m->attn == MODEL_ATTN_MLA) {
        *gpu_B = *rank_B;
    } else {
        double nkv = fmax(1, (double)m->num_kv_heads / (double)cfg->tp);
        *gpu_B = layers * 2 * nkv * (double)m->head_dim * kvb;
    }
}

static int check(const model *m, const chip *c, const icost_config *cfg, ms_err *err)
{
    if (cfg->tp < 1 || cfg->dp < 1 || cfg->ep < 1)
        return ms_errf(err, MS_EUSAGE,
                       "--tp, --dp and --ep must be at least 1, got %lld, %lld, %lld",
                       (long long)cfg->tp, (long long)cfg->dp, (long long)cfg->ep);
    if (m->num_experts == 0 && cfg->ep > 1)
        return ms_errf(err, MS_EUSAGE, "--ep %lld: %s has no experts", (long long)cfg->ep, m->name);
    if (cfg->pp < 0 || cfg->pp > m->num_layers)
        return ms_errf(err, MS_EUSAGE, "--pp %lld: expected 1 to the %lld layers of %s",
                       (long long)cfg->pp, (long long)m->num_layers, m->name);
    if (cfg->pp > 1 && (cfg->ep > 1 || cfg->overlap || cfg->mtp_draft > 0 || cfg->draft_model))
        return ms_errf(err, MS_EUSAGE,
                       "--pp %lld: pipeline stages are modelled without expert parallelism, "
                       "--overlap or draft tokens (%s given)",
                       (long long)cfg->pp,
                       cfg->ep > 1    ? "--ep above 1"
                       : cfg->overlap ? "--overlap"
                                      : "draft tokens");
    if (cfg->ngraphs < 0 || cfg->ngraphs > ICOST_MAX_GRAPHS)
        return ms_errf(err, MS_EUSAGE, "--cuda-graphs: expected at most %d sizes, got %d",
                       ICOST_MAX_GRAPHS, cfg->ngraphs);
    for (int i = 0; i < cfg->ngraphs; i++)
        if (cfg->graph_sizes[i] < 1 || (i > 0 && cfg->graph_sizes[i] <= cfg->graph_sizes[i - 1]))
            return ms_errf(err, MS_EUSAGE,
                           "--cuda-graphs: expected sequence counts of at least 1 in ascending "
                           "order, got %lld after %lld",
                           (long long)cfg->graph_sizes[i],
                           (long long)(i > 0 ? cfg->graph_sizes[i - 1] : 0));
    if ((cfg->tp * cfg->dp) % cfg->ep)
        return ms_errf(err, MS_EUSAGE,
                       "--ep %lld must divide the instance's GPUs, --tp x --dp = %lld",
                       (long long)cfg->ep, (long long)(cfg->tp * cfg->dp));
    if (cfg->tp_overlap && (m->num_experts > 0 || cfg->mtp_draft > 0 || cfg->draft_model))
        return ms_errf(err, MS_EUSAGE,
                       "--tp-overlap runs each tensor-parallel all-reduce inside the GEMM before "
                       "it: dense models without drafts only (%s%s)",
                       m->name,
                       m->num_experts > 0 ? " has experts" : " is served with draft tokens");
    if (cfg->overlap && cfg->ep < 2)
        return ms_errf(err, MS_EUSAGE,
                       "--overlap hides the expert exchange of one micro-batch under the other's "
                       "compute: it needs --ep 2 or more, got --ep %lld",
                       (long long)cfg->ep);
    if (m->num_heads % cfg->tp)
        return ms_errf(err, MS_EUSAGE, "--tp %lld must divide the %lld attention heads of %s",
                       (long long)cfg->tp, (long long)m->num_heads, m->name);
    if (cfg->act_quant && cfg->weight_prec != MS_FP8)
        return ms_errf(err, MS_EINVAL,
                       "activations are quantized by kernels of their own for FP8 GEMMs only, "
                       "not %s",
                       ms_prec_name(cfg->weight_prec));
    if (cfg->mtp_draft < 0 || cfg->mtp_draft > ICOST_MAX_DRAFT)
        return ms_errf(err, MS_EINVAL, "draft tokens per step must be 0 to %d, got %d",
                       ICOST_MAX_DRAFT, cfg->mtp_draft);
    const model *dm = cfg->draft_model;
    if (dm && dm->num_experts > 0)
        return ms_errf(err, MS_EUSAGE, "--draft-model: %s has experts; a draft model is dense",
                       dm->name);
    if (dm && dm->vocab_size != m->vocab_size)
        return ms_errf(err, MS_EUSAGE,
                       "--draft-model: %s has a vocabulary of %lld tokens and %s of %lld; a draft "
                       "model shares its target's",
                       dm->name, (long long)dm->vocab_size, m->name, (long long)m->vocab_size);
    if (dm && dm->num_heads % cfg->tp)
        return ms_errf(err, MS_EUSAGE,
                       "--tp %lld must divide the %lld attention heads of the draft model %s",
                       (long long)cfg->tp, (long long)dm->num_heads, dm->name);
    if (cfg->mtp_draft && !dm && m->mtp_layers < 1)
        return ms_errf(err, MS_EUSAGE,
                       "--mtp-accept: %s has no multi-token-prediction module to draft with",
                       m->name);
    if (!(cfg->moe_imbalance >= 1) || !isfinite(cfg->moe_imbalance))
        return ms_errf(err, MS_EUSAGE,
                       "--moe-imbalance: expected the busiest GPU's routed tokens over the "
                       "mean, >= 1, got %g",
                       cfg->moe_imbalance);
    if (cfg->ep > 1 && cfg->moe_imbalance > (double)cfg->ep)
        return ms_errf(err, MS_EUSAGE,
                       "--moe-imbalance %g: more than the %lld GPUs of --ep, and the busiest "
                       "cannot take more than all routed tokens",
                       cfg->moe_imbalance, (long long)cfg->ep);
    if (isnan(chip_peak(c, cfg->weight_prec)))
        return ms_errf(err, MS_EUSAGE, "--precision %s: %s has no %s peak in the database",
                       ms_prec_name(cfg->weight_prec), c->name, ms_prec_name(cfg->weight_prec));
    return MS_OK;
}

int icost_new(const model *m, const chip *c, const calib *cal, const icost_config *cfg,
              const topo *t, const coll_params *cp, icost **out, ms_err *err)
{
    *out = NULL;
    int rc = check(m, c, cfg, err);
    if (rc)
        return rc;
    icost *ic = calloc(1, sizeof *ic);
    if (!ic)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    ic->cfg = *cfg;
    ic->pp = icost_config_stages(cfg);
    double tp = (double)cfg->tp;
    double qpk = 1 + cfg->mtp_draft;
    ic->E = (double)m->num_experts;
    ic->k = (double)m->experts_per_token;
    ic->log_miss = ic->E > 0 ? log1p(-1 / ic->E) : 0;

    builder b = {.ic = ic, .c = c, .cal = cal, .err = err};
    layer_in main = {.T = add(var(V_TD, 1), var(V_TP, 1)),
                     .Td = var(V_TD, 1),
                     .Sd = var(V_SD, 1),
                     .qpk = qpk,
                     .Tp = var(V_TP, 1),
                     .Kp = var(V_KP, 1),
                     .pairs = var(V_PAIRS, 1),
                     .touched = var(V_TOUCH, 1)};
    int64_t moe_layers = model_moe_layers(m);
    double layer_w[2] = {0, 0};
    for (int moe = 0; moe < 2; moe++) {
        b.l = &ic->lists[moe ? L_MOE : L_DENSE];
        b.l->count = (double)(moe ? moe_layers : m->num_layers - moe_layers);
        if (b.l->count == 0)
            continue;
        b.weights_B = 0;
        layer(&b, m, &main, moe);
        layer_w[moe] = b.weights_B * b.l->count;
    }
    b.l = &ic->lists[L_HEAD];
    b.l->count = 1;
    b.weights_B = 0;
    head(&b, m, var(V_HEAD, 1));
    double head_w = b.weights_B * (m->tied_embeddings ? 0 : 1);
    double embed_w = (double)m->vocab_size * (double)m->hidden_size / tp * 2;
    double draft_w = 0;
    const model *dm = cfg->draft_model;
    if (cfg->mtp_draft && dm) {
        /* A draft model (speculative decoding): each drafted token runs
         * every layer and the head on one token a sequence, reading the
         * draft's own cache; each prompt runs its layers once too, to
         * build that cache. Same tp and dp as the target. */
        double Ld = (double)dm->num_layers, K = (double)cfg->mtp_draft;
        layer_in step = {.T = var(V_DS, 1), .Td = var(V_DS, 1), .Sd = var(V_SD, 1), .qpk = 1};
        layer_in pre = {.T = var(V_TP, 1), .Tp = var(V_TP, 1), .Kp = var(V_KP, 1), .qpk = 1};
        b.l = &ic->lists[L_DRAFT];
        b.l->count = K * Ld;
        b.weights_B = 0;
        layer(&b, dm, &step, 0);
        draft_w = b.weights_B * Ld;
        b.l = &ic->lists[L_DPRE];
        b.l->count = Ld;
        layer(&b, dm, &pre, 0);
        b.l = &ic->lists[L_DHEAD];
        b.l->count = K;
        b.weights_B = 0;
        head(&b, dm, var(V_DS, 1));
        draft_w += b.weights_B * (dm->tied_embeddings ? 1 : 2); /* head and embedding */
    } else if (cfg->mtp_draft) {
        /* The MTP module (DeepSeek-V3 §2.2): a projection of [h; embedding]
         * (2d -> d) and one MoE layer on the draft tokens, then the
         * shared head. Its attention reads its own cache. Run once a
         * drafted token, each on the one before (as engines chain it). */
        b.l = &ic->lists[L_DRAFT];
        b.l->count = (double)cfg->mtp_draft;
        b.weights_B = 0;
        double d = (double)m->hidden_size;
        gemm(&b, cfg->weight_prec, var(V_DS, 1), d, 2 * d);
        layer_in draft = {.T = var(V_DS, 1),
                          .Td = var(V_DS, 1),
                          .Sd = var(V_SD, 1),
                          .qpk = 1,
                          .pairs = var(V_DPAIRS, 1),
                          .touched = var(V_DTOUCH, 1)};
        layer(&b, m, &draft, m->num_experts > 0);
        draft_w = b.weights_B;     /* held once, however often it runs */
        head(&b, m, var(V_DS, 1)); /* the main model's head, shared */
    }
    if (b.failed) {
        icost_free(ic);
        return err->code ? err->code : MS_EINVAL;
    }
    ic->weights_B = layer_w[0] + layer_w[1] + head_w + embed_w + draft_w;
    double stage_layers = (double)m->num_layers;
    if (ic->pp > 1) {
        /* The busiest stage: its share of the layers, rounded up, and the
         * embedding (the first stage) or the head (the last), whichever
         * is bigger; a tied head is a copy of the embedding. */
        stage_layers = ceil((double)m->num_layers / (double)ic->pp);
        ic->weights_B = (layer_w[0] + layer_w[1]) * stage_layers / (double)m->num_layers +
                        fmax(embed_w, head_w);
    }

    double kv_layers = (double)m->num_layers + (cfg->mtp_draft > 0 && !dm); /* MTP's own cache */
    kv_per_token(m, kv_layers, cfg, &ic->kv_B_per_token_gpu, &ic->kv_B_per_token);
    /* A stage holds the cache of its own layers (TensorRT-LLM's
     * KVCacheManager takes the stage's local range of layers). */
    ic->kv_B_per_token_gpu *= stage_layers / (double)m->num_layers;
    if (cfg->mtp_draft && dm) { /* and the draft model's cache */
        double g, all;
        kv_per_token(dm, (double)dm->num_layers, cfg, &g, &all);
        ic->kv_B_per_token_gpu += g;
        ic->kv_B_per_token += all;
    }

    /* Communication: two tp all-reduces of the rank's activations (BF16)
     * a layer. Each MoE layer's dispatch (FP8 with a scale per 128 values
     * in an FP8 deployment, else BF16) and combine (BF16) of the rank's
     * 1/tp share of tokens, as DeepEP moves them: prompt tokens with its
     * normal kernels, once to each node their experts sit on and on over
     * scale-up (node-limited when the model's expert groups are the
     * nodes); decode tokens with its low-latency kernels, straight to each
     * of their k experts (DeepEP README), timed by their own fit
     * (coll_ep_ll_time). */
    double d = (double)m->hidden_size, a, s;
    double layers = (double)m->num_layers + (dm ? 0 : cfg->mtp_draft); /* MTP runs as layers */
    if ((rc = comm_line(t, cp, COLL_ALLREDUCE, cfg->tp, d * 2, &a, &s, "tensor-parallel all-reduce",
                        err)))
        goto fail;
    /* DeepEP's normal kernels run on 20 SMs by default (deepseek-ai/DeepEP
     * deep_ep/buffer.py, Buffer.num_sms); a chip without an SM count in
     * the database keeps them all. */
    ic->normal_sm_share =
        c->compute_units > DEEPEP_NORMAL_SMS ? 1 - DEEPEP_NORMAL_SMS / c->compute_units : 1;
    ic->tp_fixed_s = 2 * layers * a;
    ic->tp_token_s = 2 * layers * s;
    if (ic->pp > 1 &&
        (rc = p2p_line(t, cp, cfg->tp * cfg->dp, d * 2, &ic->pp_fixed_s, &ic->pp_token_s, err)))
        goto fail;
    if (cfg->mtp_draft && dm) { /* the draft model's two all-reduces a layer, of its width */
        double Ld = (double)dm->num_layers, K = (double)cfg->mtp_draft;
        if ((rc = comm_line(t, cp, COLL_ALLREDUCE, cfg->tp, (double)dm->hidden_size * 2, &a, &s,
                            "the draft model's tensor-parallel all-reduce", err)))
            goto fail;
        ic->tp_fixed_s += 2 * Ld * K * a;
        ic->tp_draft_token_s = 2 * Ld * K * s;
        ic->tp_dpre_token_s = 2 * Ld * s;
    }
    if (cfg->ep > 1) {
        double imb = cfg->moe_imbalance;
        ic->ep_layers = (double)moe_layers + (dm ? 0 : cfg->mtp_draft);
        double disp_B = cfg->weight_prec == MS_BF16 ? 2 : 1 + 4.0 / 128;
        double domain = (double)topo_get_spec(t)->domain_size;
        double nodes = fmax(1, (double)cfg->ep / domain);
        double limit = m->groups_per_token > 0 && m->expert_groups == (int64_t)nodes
                           ? (double)m->groups_per_token
                           : 0;
        double fan = nodes > 1 ? coll_ep_fanout(nodes, ic->k, limit)
                               : coll_ep_fanout((double)cfg->ep, ic->k, 0);
        struct {
            coll_op op;
            int which, decode; /* 0 dispatch, 1 combine; decode tokens or prompts */
            double B;
            const char *what;
        } parts[] = {
            {COLL_DISPATCH, 0, 0, fan * d * disp_B / tp, "expert-parallel dispatch of prompts"},
            {COLL_COMBINE, 1, 0, fan * d * 2 / tp, "expert-parallel combine of prompts"},
            {COLL_ALLTOALL, 0, 1, ic->k * d * disp_B / tp,
             "expert-parallel dispatch of decode tokens"},
            {COLL_ALLTOALL, 1, 1, ic->k * d * 2 / tp, "expert-parallel combine of decode tokens"},
        };
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
            int w = parts[k].which;
            if ((rc = parts[k].decode
                          ? ll_line(t, cp, cfg->ep, parts[k].B, &a, &s, parts[k].what, err)
                          : comm_line(t, cp, parts[k].op, cfg->ep, parts[k].B, &a, &s,
                                      parts[k].what, err)))
                goto fail;
            /* Prompts and decode tokens share one exchange a layer: its
             * fixed cost is counted once, with the decode pair. */
            if (parts[k].decode) {
                ic->ep_fixed_s[w] = a;
                ic->ep_decode_token_s[w] = s * imb;
            } else {
                ic->ep_prefill_token_s[w] = s * imb;
            }
        }
    }
    *out = ic;
    return MS_OK;
fail:
    icost_free(ic);
    return rc;
}

void icost_free(icost *ic)
{
    if (!ic)
        return;
    for (int i = 0; i < L_KINDS; i++)
        free(ic->lists[i].ops);
    free(ic);
}

/* Adds list l at x to t; side_s, when not NULL, receives one layer's time
 * on each side of the expert dispatch, and rowpar_s, when not NULL, each
 * tagged GEMM's time a layer by op.rowpar. */
static void eval_list(const oplist *l, const double *x, icost_time *t, double *side_s,
                      double *rowpar_s)
{
    if (l->count == 0)
        return;
    double time = 0, hbm = 0, flops = 0, bytes = 0;
    for (size_t i = 0; i < l->n; i++) {
        const op *o = &l->ops[i];
        if (!(sdot(&o->gate, x) > 0))
            continue;
        double f = sdot(&o->flops, x), by = sdot(&o->bytes, x);
        double tc = f * o->inv_flop_rate, tm = by * o->inv_bw;
        double ti = roof_combine(tc, tm, o->overlap_p) + o->overhead_s;
        time += ti;
        if (side_s)
            side_s[o->side] += ti;
        if (rowpar_s)
            rowpar_s[o->rowpar] += ti;
        if (tm > tc)
            hbm += ti;
        flops += f;
        bytes += by;
    }
    t->compute_s += time * l->count;
    t->hbm_bound_s += hbm * l->count;
    t->flops += flops * l->count;
    t->hbm_bytes += bytes * l->count;
}

/* Experts this GPU runs when the instance routes `tokens` tokens: of its
 * E / ep experts, those some token picked, E (1 - (1 - 1/E)^(tokens k)). */
static double touched(const icost *ic, double tokens)
{
    if (ic->E == 0 || tokens <= 0)
        return 0;
    double miss = exp(tokens * ic->k * ic->log_miss);
    return ceil(ic->E / (double)ic->cfg.ep) * (1 - miss);
}

/* One batch's figures, run as one: compute, then communication. */
typedef struct parts {
    icost_time t;         /* time_s = compute_s + comm_s */
    double moe_side_s[2]; /* one MoE layer's compute before the dispatch, and between
                             dispatch and combine */
    double ep_s[2];       /* one MoE layer's dispatch and combine */
    double tp_s;          /* every tensor-parallel all-reduce */
} parts;

static parts eval_parts(const icost *ic, const icost_batch *b)
{
    const icost_config *cfg = &ic->cfg;
    double dp = (double)cfg->dp, qpk = 1 + cfg->mtp_draft;
    /* Ranks the decode sequences and the prompts spread over. */
    double dpd = fmin(dp, fmax(1, b->decode_seqs));
    double dpp = fmin(dp, fmax(1, b->prefill_seqs));
    double per_pair = ic->k / (double)cfg->ep * cfg->moe_imbalance;
    double seqs = icost_graph_seqs(cfg, b);
    double x[NV] = {0};
    x[V_ONE] = 1;
    x[V_TD] = seqs * qpk / dpd;
    x[V_SD] = b->decode_ctx / dpd;
    x[V_TP] = b->prefill_tokens / dpp;
    x[V_KP] = b->prefill_keys / dpp;
    x[V_HEAD] = seqs * qpk / dpd + b->prefill_done / dpp;
    x[V_TOUCH] = touched(ic, seqs * qpk + b->prefill_tokens);
    x[V_PAIRS] = (seqs * qpk + b->prefill_tokens) * per_pair;
    if (cfg->mtp_draft) {
        x[V_DS] = seqs / dpd;
        x[V_DTOUCH] = touched(ic, seqs);
        x[V_DPAIRS] = seqs * per_pair;
    }
    parts p = {0};
    double rowpar_s[3] = {0};
    for (int i = 0; i < L_KINDS; i++)
        eval_list(&ic->lists[i], x, &p.t, i == L_MOE ? p.moe_side_s : NULL,
                  i == L_DENSE ? rowpar_s : NULL);
    double decode_tokens = x[V_TD] + x[V_DS];
    if (cfg->draft_model) /* a draft model's tokens do not go through the target */
        decode_tokens = x[V_TD];
    p.tp_s = ic->tp_fixed_s + ic->tp_token_s * (x[V_TP] + decode_tokens) +
             ic->tp_draft_token_s * x[V_DS] + ic->tp_dpre_token_s * x[V_TP];
    for (int w = 0; w < 2; w++)
        if (ic->ep_layers > 0)
            p.ep_s[w] = ic->ep_fixed_s[w] + ic->ep_prefill_token_s[w] * x[V_TP] +
                        ic->ep_decode_token_s[w] * decode_tokens;
    if (cfg->tp_overlap)
        p.tp_s =
            icost_tp_overlap_exposed_s(p.tp_s, ic->lists[L_DENSE].count, rowpar_s[1], rowpar_s[2]);
    p.t.comm_s = p.tp_s + ic->ep_layers * (p.ep_s[0] + p.ep_s[1]);
    p.t.time_s = p.t.compute_s + p.t.comm_s;
    return p;
}

double icost_graph_seqs(const icost_config *cfg, const icost_batch *b)
{
    double seqs = b->decode_seqs;
    if (cfg->ngraphs <= 0 || b->prefill_tokens > 0 || !(seqs > 0))
        return seqs;
    double dpd = fmin((double)cfg->dp, fmax(1, seqs)), per = ceil(seqs / dpd);
    for (int i = 0; i < cfg->ngraphs; i++)
        if ((double)cfg->graph_sizes[i] >= per)
            return (double)cfg->graph_sizes[i] * dpd;
    return seqs;
}

double icost_tp_overlap_exposed_s(double tp_s, double layers, double attn_out_s, double ffn_down_s)
{
    if (!(layers > 0) || !(tp_s > 0))
        return tp_s > 0 ? tp_s : 0;
    double each = tp_s / (2 * layers); /* a layer's two all-reduces move the same activations */
    return layers * (fmax(0, each - attn_out_s) + fmax(0, each - ffn_down_s));
}

int icost_splits(const icost *ic, const icost_batch *b)
{
    double dp = (double)ic->cfg.dp;
    return ic->cfg.overlap && ic->cfg.ep > 1 &&
           (b->decode_seqs >= 2 * dp || b->prefill_tokens >= 2 * dp);
}

/* A stage: compute_s of work at share r of the SMs while xfer_s is in
 * flight, at all of them after. */
static double stage_s(double compute_s, double xfer_s, double r)
{
    return compute_s <= r * xfer_s ? xfer_s : compute_s + (1 - r) * xfer_s;
}

double icost_overlap_layer_s(double before_s, double between_s, double dispatch_s, double combine_s,
                             double sm_share)
{
    assert(sm_share > 0 && sm_share <= 1);
    return stage_s(before_s, dispatch_s, sm_share) + stage_s(between_s, dispatch_s, sm_share) +
           stage_s(between_s, combine_s, sm_share) + stage_s(before_s, combine_s, sm_share);
}

static icost_time eval_batch(const icost *ic, const icost_batch *b);

/* pp micro-batches of 1/pp of b each, one a stage: in pp stage steps
 * each stage runs its layers on each micro-batch once and sends it on,
 * so the whole model runs once on a micro-batch, and pp sends are made
 * one after another (icost.h). */
static icost_time eval_pipeline(const icost *ic, const icost_batch *b)
{
    double pp = (double)ic->pp;
    icost_batch mb = {.decode_seqs = b->decode_seqs / pp,
                      .decode_ctx = b->decode_ctx / pp,
                      .prefill_tokens = b->prefill_tokens / pp,
                      .prefill_seqs = b->prefill_seqs / pp,
                      .prefill_keys = b->prefill_keys / pp,
                      .prefill_done = b->prefill_done / pp};
    icost_time t = eval_batch(ic, &mb);
    double tokens = (mb.decode_seqs + mb.prefill_tokens) / (double)ic->cfg.dp;
    double send_s = pp * (ic->pp_fixed_s + ic->pp_token_s * tokens);
    t.comm_s += send_s;
    t.time_s += send_s;
    return t;
}

icost_time icost_eval(const icost *ic, const icost_batch *b)
{
    /* The memo is no part of what the instance promises: written through
     * a cast, as the object itself (from icost_new's calloc) is not const. */
    icost *m = (icost *)ic;
    for (int i = 0; i < m->memo_n; i++)
        if (memcmp(&m->memo_b[i], b, sizeof *b) == 0)
            return m->memo_t[i];
    icost_time t = ic->pp > 1 ? eval_pipeline(ic, b) : eval_batch(ic, b);
    m->memo_b[m->memo_next] = *b;
    m->memo_t[m->memo_next] = t;
    m->memo_next = (m->memo_next + 1) % MEMO;
    if (m->memo_n < MEMO)
        m->memo_n++;
    return t;
}

static icost_time eval_batch(const icost *ic, const icost_batch *b)
{
    assert(b->decode_seqs >= 0 && b->decode_ctx >= 0 && b->prefill_tokens >= 0 &&
           b->prefill_keys >= 0 && b->prefill_done >= 0);
    assert(b->decode_seqs > 0 || b->prefill_tokens > 0);
    if (!icost_splits(ic, b))
        return eval_parts(ic, b).t;
    /* Two micro-batches of half the batch each (DeepSeek's profiles:
     * deepseek-ai/profile-data README; SGLang's two-batch overlap). Each
     * runs every kernel of every layer, so the weights stream from HBM
     * twice and every kernel's and exchange's fixed cost is paid twice. In
     * each MoE layer one micro-batch's exchange runs while the other
     * computes, in four stages (icost_overlap_layer_s); the dense layers,
     * the head, the MTP module and the tensor-parallel all-reduces do not
     * overlap. */
    icost_batch h = {.decode_seqs = b->decode_seqs / 2,
                     .decode_ctx = b->decode_ctx / 2,
                     .prefill_tokens = b->prefill_tokens / 2,
                     .prefill_seqs = b->prefill_seqs / 2,
                     .prefill_keys = b->prefill_keys / 2,
                     .prefill_done = b->prefill_done / 2};
    parts p = eval_parts(ic, &h), whole = eval_parts(ic, b);
    double L = ic->lists[L_MOE].count;
    double moe_compute = L * (p.moe_side_s[0] + p.moe_side_s[1]);
    double moe_comm = L * (p.ep_s[0] + p.ep_s[1]);
    double rest = (p.t.compute_s - moe_compute) + (p.t.comm_s - moe_comm);
    icost_time t = p.t;
    /* Prompts go by DeepEP's normal kernels, whose SMs the compute beside
     * them cannot use; decode's low-latency kernels leave every SM free. */
    double r = b->prefill_tokens > 0 ? ic->normal_sm_share : 1;
    t.time_s =
        L * icost_overlap_layer_s(p.moe_side_s[0], p.moe_side_s[1], p.ep_s[0], p.ep_s[1], r) +
        2 * rest;
    /* Where splitting costs more than it hides (a small batch reading its
     * weights twice), the engine runs the batch whole. */
    if (t.time_s >= whole.t.time_s)
        return whole.t;
    t.compute_s *= 2;
    t.comm_s *= 2;
    t.hbm_bound_s *= 2;
    t.flops *= 2;
    t.hbm_bytes *= 2;
    return t;
}

double icost_weights_B_per_gpu(const icost *ic)
{
    return ic->weights_B;
}

double icost_kv_B_per_token_per_gpu(const icost *ic)
{
    return ic->kv_B_per_token_gpu;
}

double icost_kv_B_per_token(const icost *ic)
{
    return ic->kv_B_per_token;
}

const char *icost_uncalibrated(const icost *ic)
{
    return ic->uncal;
}

int64_t icost_gpus(const icost *ic)
{
    return icost_config_gpus(&ic->cfg);
}

int64_t icost_config_stages(const icost_config *cfg)
{
    return cfg->pp > 1 ? cfg->pp : 1;
}

int64_t icost_config_gpus(const icost_config *cfg)
{
    return cfg->tp * cfg->dp * icost_config_stages(cfg);
}
