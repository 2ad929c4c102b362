/* mops: see mops.h. */
#include "model/mops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct builder {
    mop *ops;
    size_t n;
    double pb; /* bytes of a weight, activation or KV element */
    double ob; /* bytes of a GEMM output element */
} builder;

static mop *push(builder *b, const char *name, const char *kind)
{
    mop *o = &b->ops[b->n++];
    *o = (mop){.kind = kind, .count = 1};
    snprintf(o->name, sizeof o->name, "%s", name);
    return o;
}

/* count products of M x K by K x N weights: every weight read once, the
 * inputs read and the outputs written once. */
static void gemm(builder *b, const char *name, double m, double n, double k, double count)
{
    mop *o = push(b, name, "gemm");
    o->m = m;
    o->n = n;
    o->k = k;
    o->count = count;
    o->flops = 2 * m * n * k * count;
    o->bytes = count * (n * k * b->pb + m * k * b->pb + m * n * b->ob);
}

static void stream(builder *b, const char *name, double flops, double elems_moved)
{
    mop *o = push(b, name, "stream");
    o->flops = flops;
    o->bytes = elems_moved * b->pb;
}

/* kind: attention, or attention_decode for a decode step's over its cache */
static void attention(builder *b, const char *name, const char *kind, double flops,
                      double elems_moved)
{
    mop *o = push(b, name, kind);
    o->flops = flops;
    o->bytes = elems_moved * b->pb;
}

static void ffn(builder *b, const model *m, int moe_layer, double T)
{
    double d = (double)m->hidden_size;
    int gated = m->ffn_kind == MODEL_FFN_GATED;
    double act_flops = model_act_flops(m), up = gated ? 2 : 1;
    if (!moe_layer) {
        double f = (double)m->ffn_dim;
        gemm(b, gated ? "ffn_gate_up" : "ffn_up", T, up * f, d, 1);
        stream(b, "ffn_act", act_flops * T * f, T * f * (up + 1));
        gemm(b, "ffn_down", T, d, f, 1);
        return;
    }
    double E = (double)m->num_experts, k = (double)m->experts_per_token;
    double fe = (double)m->expert_dim;
    double routed = T * k;
    double touched = E * (1 - pow(1 - 1 / E, routed));
    double per_expert = routed / touched;
    gemm(b, "router", T, E, d, 1);
    gemm(b, gated ? "experts_gate_up" : "experts_up", per_expert, up * fe, d, touched);
    stream(b, "experts_act", act_flops * routed * fe, routed * fe * (up + 1));
    gemm(b, "experts_down", per_expert, d, fe, touched);
    if (m->num_shared_experts > 0) {
        double fs = (double)m->num_shared_experts * fe;
        gemm(b, gated ? "shared_gate_up" : "shared_up", T, up * fs, d, 1);
        stream(b, "shared_act", act_flops * T * fs, T * fs * (up + 1));
        gemm(b, "shared_down", T, d, fs, 1);
    }
    stream(b, "moe_combine", 2 * routed * d, (routed + T) * d);
}

static void mla(builder *b, const model *m, mops_phase phase, double B, double S, double T)
{
    double d = (double)m->hidden_size, nh = (double)m->num_heads;
    double dq = (double)m->q_lora_rank, dc = (double)m->kv_lora_rank;
    double dn = (double)m->qk_nope_head_dim, dr = (double)m->qk_rope_head_dim;
    double dv = (double)m->v_head_dim;
    if (dq > 0) {
        gemm(b, "q_down", T, dq, d, 1);
        gemm(b, "q_up", T, nh * (dn + dr), dq, 1);
    } else {
        gemm(b, "q_proj", T, nh * (dn + dr), d, 1);
    }
    gemm(b, "kv_down", T, dc + dr, d, 1);
    if (phase == MOPS_PREFILL) {
        /* Training form: decompress every token's keys and values, then
         * MHA with 192-wide keys and 128-wide values, causal. */
        double keys = (S + 1) / 2;
        gemm(b, "kv_up", T, nh * (dn + dv), dc, 1);
        attention(b, "attn_core_mha_form", "attention",
                  T * (2 * nh * (dn + dr) + 2 * nh * dv) * keys,
                  T * (2 * nh * (dn + dr) + 2 * nh * dv));
    } else {
        /* Absorbed form: W_UK folded into the query, attention over the
         * cached latent (MQA, 576-wide keys, 512-wide values), W_UV
         * applied to the latent output; per head. */
        gemm(b, "q_absorb_uk", B, dc, dn, nh);
        attention(b, "attn_core_absorbed", "attention_decode",
                  B * (2 * nh * (dc + dr) + 2 * nh * dc) * S,
                  B * S * (dc + dr) + B * nh * (dc + dr + dc));
        gemm(b, "o_absorb_uv", B, dv, dc, nh);
    }
    gemm(b, "o_proj", T, d, nh * dv, 1);
}

static void gqa(builder *b, const model *m, mops_phase phase, double B, double S, double T)
{
    double d = (double)m->hidden_size, nh = (double)m->num_heads;
    double nkv = (double)m->num_kv_heads, hd = (double)m->head_dim;
    gemm(b, "qkv_proj", T, (nh + 2 * nkv) * hd, d, 1);
    if (phase == MOPS_PREFILL) {
        double keys = (S + 1) / 2;
        attention(b, "attn_core", "attention", T * 4 * nh * hd * keys,
                  T * (2 * nh * hd + 2 * nkv * hd));
    } else {
        attention(b, "attn_core", "attention_decode", B * 4 * nh * hd * S,
                  B * S * 2 * nkv * hd + B * 2 * nh * hd);
    }
    gemm(b, "o_proj", T, d, nh * hd, 1);
}

int mops_layer(const model *m, int moe_layer, mops_phase phase, int64_t batch, int64_t context,
               ms_prec prec, mop *ops, size_t *n, ms_err *err)
{
    *n = 0;
    if (batch < 1 || context < 1)
        return ms_errf(err, MS_EINVAL, "batch and context must be at least 1, got %lld and %lld",
                       (long long)batch, (long long)context);
    if (moe_layer && m->num_experts == 0)
        return ms_errf(err, MS_EINVAL, "%s has no MoE layers", m->name);
    if (!moe_layer && model_moe_layers(m) == m->num_layers)
        return ms_errf(err, MS_EINVAL, "%s has no dense layers", m->name);
    builder b = {.ops = ops, .pb = ms_prec_bytes(prec), .ob = ms_prec_gemm_out_bytes(prec)};
    double B = (double)batch, S = (double)context, d = (double)m->hidden_size;
    double T = phase == MOPS_PREFILL ? B * S : B;
    /* Each norm fused with the residual add before it, in place: the
     * sub-layer's output and the residual read, both written (vLLM's
     * fused_add_rms_norm, vllm/model_executor/layers/layernorm.py). */
    stream(&b, "attn_norm", 5 * T * d, 4 * T * d);
    if (m->attn == MODEL_ATTN_MLA)
        mla(&b, m, phase, B, S, T);
    else
        gqa(&b, m, phase, B, S, T);
    stream(&b, "ffn_norm", 5 * T * d, 4 * T * d);
    ffn(&b, m, moe_layer, T);
    *n = b.n;
    return MS_OK;
}

const char *mops_phase_name(mops_phase p)
{
    return p == MOPS_PREFILL ? "prefill" : "decode";
}
