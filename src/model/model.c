/* model: see model.h. Formulas follow the published architectures:
 * MLA per DeepSeek-V2 (arXiv:2405.04434) eqs. 9-11 and Appendix C and
 * DeepSeek-V3 (arXiv:2412.19437) §2.1; MoE per DeepSeek-V3 §2.1.2 and the
 * Hugging Face modeling code of each layout (which layer is MoE, what a
 * shared expert is). */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const attn_names[] = {
#define MODEL_ATTN_NAME(e, name) name,
    MODEL_ATTN_MAP(MODEL_ATTN_NAME)
#undef MODEL_ATTN_NAME
};

const char *model_attn_name(model_attn a)
{
    return attn_names[a];
}

int model_attn_parse(const char *name, model_attn *out)
{
    if (strcmp(name, "mqa") == 0) {
        *out = MODEL_ATTN_GQA;
        return 0;
    }
    for (size_t i = 0; i < sizeof attn_names / sizeof attn_names[0]; i++)
        if (strcmp(name, attn_names[i]) == 0) {
            *out = (model_attn)i;
            return 0;
        }
    return -1;
}

/* The most any size may be: far past every published model (the largest
 * have about 100 layers, 30,000 hidden and 1,000,000 positions), and small
 * enough that the counts and loops built on them stay bounded. */
static int need_at_most(const char *field, int64_t v, double max, ms_err *err)
{
    if ((double)v > max)
        return ms_errf(err, MS_EINVAL, "field '%s': %lld is past any model: expected at most %.0f",
                       field, (long long)v, max);
    return MS_OK;
}

static int need_positive(const char *field, int64_t v, double max, ms_err *err)
{
    if (v <= 0)
        return ms_errf(err, MS_EINVAL, "field '%s': expected a positive whole number, got %lld",
                       field, (long long)v);
    return need_at_most(field, v, max, err);
}

static int need_nonneg(const char *field, int64_t v, double max, ms_err *err)
{
    if (v < 0)
        return ms_errf(err, MS_EINVAL, "field '%s': expected a whole number >= 0, got %lld", field,
                       (long long)v);
    return need_at_most(field, v, max, err);
}

int model_validate(const model *m, ms_err *err)
{
    int rc;
    if ((rc = need_positive("vocab_size", m->vocab_size, 1e8, err)) ||
        (rc = need_positive("hidden_size", m->hidden_size, 1e6, err)) ||
        (rc = need_positive("num_layers", m->num_layers, 1e5, err)) ||
        (rc = need_positive("attention.num_heads", m->num_heads, 1e5, err)) ||
        (rc = need_nonneg("ffn.dim", m->ffn_dim, 1e7, err)) ||
        (rc = need_nonneg("moe.num_experts", m->num_experts, 1e6, err)) ||
        (rc = need_nonneg("moe.num_shared_experts", m->num_shared_experts, 1e4, err)) ||
        (rc = need_nonneg("moe.first_dense_layers", m->first_dense_layers, 1e5, err)) ||
        (rc = need_nonneg("moe.expert_groups", m->expert_groups, 1e6, err)) ||
        (rc = need_nonneg("moe.groups_per_token", m->groups_per_token, 1e6, err)) ||
        (rc = need_nonneg("mtp_layers", m->mtp_layers, 1e3, err)) ||
        (rc = need_nonneg("fp8_block", m->fp8_block, 65536, err)) ||
        (rc = need_nonneg("max_positions", m->max_positions, 1e9, err)))
        return rc;
    if (m->learned_positions && m->max_positions <= 0)
        return ms_errf(err, MS_EINVAL,
                       "field 'max_positions': learned positions need a positive table size");
    if (m->attn == MODEL_ATTN_MLA) {
        if ((rc = need_positive("attention.kv_lora_rank", m->kv_lora_rank, 1e6, err)) ||
            (rc = need_nonneg("attention.q_lora_rank", m->q_lora_rank, 1e6, err)) ||
            (rc = need_positive("attention.qk_nope_head_dim", m->qk_nope_head_dim, 1e5, err)) ||
            (rc = need_positive("attention.qk_rope_head_dim", m->qk_rope_head_dim, 1e5, err)) ||
            (rc = need_positive("attention.v_head_dim", m->v_head_dim, 1e5, err)))
            return rc;
    } else {
        if ((rc = need_positive("attention.num_kv_heads", m->num_kv_heads, 1e5, err)) ||
            (rc = need_positive("attention.head_dim", m->head_dim, 1e5, err)))
            return rc;
        if (m->num_kv_heads > m->num_heads || m->num_heads % m->num_kv_heads != 0)
            return ms_errf(err, MS_EINVAL,
                           "field 'attention.num_kv_heads': %lld must divide num_heads %lld",
                           (long long)m->num_kv_heads, (long long)m->num_heads);
        if (m->attn == MODEL_ATTN_MHA && m->num_kv_heads != m->num_heads)
            return ms_errf(err, MS_EINVAL,
                           "field 'attention.num_kv_heads': MHA has as many KV heads as heads "
                           "(%lld), got %lld; use kind gqa",
                           (long long)m->num_heads, (long long)m->num_kv_heads);
    }
    if (m->num_experts > 0) {
        if ((rc = need_positive("moe.experts_per_token", m->experts_per_token, 1e6, err)) ||
            (rc = need_positive("moe.expert_dim", m->expert_dim, 1e7, err)) ||
            (rc = need_positive("moe.layer_freq", m->moe_layer_freq, 1e5, err)))
            return rc;
        if (m->experts_per_token > m->num_experts)
            return ms_errf(err, MS_EINVAL,
                           "field 'moe.experts_per_token': %lld is more than the %lld experts",
                           (long long)m->experts_per_token, (long long)m->num_experts);
        if (m->first_dense_layers > m->num_layers)
            return ms_errf(err, MS_EINVAL,
                           "field 'moe.first_dense_layers': %lld is more than the %lld layers",
                           (long long)m->first_dense_layers, (long long)m->num_layers);
        if (m->expert_groups > 0 &&
            (m->num_experts % m->expert_groups != 0 || m->groups_per_token > m->expert_groups ||
             m->groups_per_token <= 0))
            return ms_errf(err, MS_EINVAL,
                           "fields 'moe.expert_groups' (%lld) and 'moe.groups_per_token' (%lld): "
                           "groups must divide the %lld experts and 1 <= groups_per_token <= "
                           "groups",
                           (long long)m->expert_groups, (long long)m->groups_per_token,
                           (long long)m->num_experts);
    }
    if (model_moe_layers(m) < m->num_layers && m->ffn_dim <= 0)
        return ms_errf(err, MS_EINVAL,
                       "field 'ffn.dim': the model has dense layers, so it needs a positive "
                       "FFN width, got %lld",
                       (long long)m->ffn_dim);
    return MS_OK;
}

int model_layer_is_moe(const model *m, int64_t layer)
{
    return m->num_experts > 0 && layer >= m->first_dense_layers && m->moe_layer_freq > 0 &&
           layer % m->moe_layer_freq == 0;
}

int64_t model_moe_layers(const model *m)
{
    int64_t n = 0;
    for (int64_t i = 0; i < m->num_layers; i++)
        n += model_layer_is_moe(m, i);
    return n;
}

/* Weight-matrix parameters of the attention projections (no biases, norms). */
static double attn_matmul_params(const model *m)
{
    double d = (double)m->hidden_size, nh = (double)m->num_heads;
    if (m->attn == MODEL_ATTN_MLA) {
        double dq = (double)m->q_lora_rank, dc = (double)m->kv_lora_rank;
        double dn = (double)m->qk_nope_head_dim, dr = (double)m->qk_rope_head_dim;
        double dv = (double)m->v_head_dim;
        double q = dq > 0 ? d * dq + dq * nh * (dn + dr) : d * nh * (dn + dr);
        return q + d * (dc + dr) + dc * nh * (dn + dv) + nh * dv * d;
    }
    double hd = (double)m->head_dim, nkv = (double)m->num_kv_heads;
    return d * nh * hd + 2 * d * nkv * hd + nh * hd * d;
}

double model_attn_params(const model *m)
{
    double p = attn_matmul_params(m);
    if (m->attn == MODEL_ATTN_MLA) {
        p += (double)m->q_lora_rank + (double)m->kv_lora_rank; /* q_norm, kv_norm */
        return p;
    }
    double hd = (double)m->head_dim;
    if (m->qkv_bias)
        p += ((double)m->num_heads + 2.0 * (double)m->num_kv_heads) * hd;
    if (m->o_bias)
        p += (double)m->hidden_size;
    if (m->qk_norm)
        p += 2 * hd;
    return p;
}

static double ffn_matrices(const model *m)
{
    return m->ffn_kind == MODEL_FFN_GATED ? 3.0 : 2.0;
}

double model_dense_ffn_params(const model *m)
{
    double d = (double)m->hidden_size, f = (double)m->ffn_dim;
    double p = ffn_matrices(m) * d * f;
    if (m->mlp_bias)
        p += (ffn_matrices(m) - 1) * f + d;
    return p;
}

double model_expert_params(const model *m)
{
    return ffn_matrices(m) * (double)m->hidden_size * (double)m->expert_dim;
}

static double router_params(const model *m)
{
    return (double)m->num_experts * (double)m->hidden_size +
           (m->expert_bias ? (double)m->num_experts : 0);
}

double model_moe_params(const model *m)
{
    return (double)(m->num_experts + m->num_shared_experts) * model_expert_params(m) +
           router_params(m);
}

double model_moe_active_params(const model *m)
{
    return (double)(m->experts_per_token + m->num_shared_experts) * model_expert_params(m) +
           router_params(m);
}

double model_layer_norm_params(const model *m)
{
    return (m->norm == MODEL_NORM_LAYER ? 4.0 : 2.0) * (double)m->hidden_size;
}

static double final_norm_params(const model *m)
{
    return model_layer_norm_params(m) / 2;
}

model_params model_param_counts(const model *m)
{
    model_params p = {0};
    double d = (double)m->hidden_size, V = (double)m->vocab_size;
    int64_t moe = model_moe_layers(m), dense = m->num_layers - moe;

    p.embedding = V * d + (m->learned_positions ? (double)m->max_positions * d : 0);
    p.head = m->tied_embeddings ? 0 : V * d;
    p.attention = (double)m->num_layers * model_attn_params(m);
    p.ffn_dense = (double)dense * model_dense_ffn_params(m);
    p.moe = (double)moe * model_moe_params(m);
    p.norms = (double)m->num_layers * model_layer_norm_params(m) + final_norm_params(m);
    p.total = p.embedding + p.head + p.attention + p.ffn_dense + p.moe + p.norms;

    double moe_active = (double)moe * model_moe_active_params(m);
    p.active_excl_embedding = p.head + p.attention + p.ffn_dense + moe_active + p.norms;
    p.active = p.active_excl_embedding + p.embedding;

    /* The head is a product even when tied; the input embedding is a gather. */
    double dense_mm = ffn_matrices(m) * d * (double)m->ffn_dim;
    double moe_mm =
        (double)(m->experts_per_token + m->num_shared_experts) * model_expert_params(m) +
        (double)m->num_experts * d;
    p.matmul_active = (double)m->num_layers * attn_matmul_params(m) + (double)dense * dense_mm +
                      (double)moe * moe_mm + V * d;

    /* A DeepSeek MTP module: the projection of [h; emb] (2d x d), two
     * norms on its inputs, one transformer block (MoE where the main
     * model's later layers are), and a norm before the shared head. */
    if (m->mtp_layers > 0) {
        int last_moe = model_layer_is_moe(m, m->num_layers - 1);
        double block = model_attn_params(m) + model_layer_norm_params(m) +
                       (last_moe ? model_moe_params(m) : model_dense_ffn_params(m));
        double block_active = model_attn_params(m) + model_layer_norm_params(m) +
                              (last_moe ? model_moe_active_params(m) : model_dense_ffn_params(m));
        double extra = 2 * d * d + 3 * final_norm_params(m);
        p.mtp = (double)m->mtp_layers * (block + extra);
        p.mtp_active = (double)m->mtp_layers * (block_active + extra);
    }
    return p;
}

double model_kv_elems_per_token_layer(const model *m)
{
    if (m->attn == MODEL_ATTN_MLA)
        return (double)(m->kv_lora_rank + m->qk_rope_head_dim);
    return 2.0 * (double)m->num_kv_heads * (double)m->head_dim;
}

double model_kv_bytes_per_token(const model *m, ms_prec prec)
{
    return model_kv_elems_per_token_layer(m) * (double)m->num_layers * ms_prec_bytes(prec);
}

/* Attention-core FLOPs per token per key attended, per layer: QK^T and PV,
 * 2 FLOPs per multiply-add. MLA's training form is MHA with 192-wide keys
 * and 128-wide values; its absorbed form is MQA over the 576-wide latent
 * (512 + 64) with 512-wide values (FlashMLA's count). */
static double attn_flops_per_key(const model *m, int absorbed)
{
    double nh = (double)m->num_heads;
    if (m->attn == MODEL_ATTN_MLA) {
        double dc = (double)m->kv_lora_rank, dr = (double)m->qk_rope_head_dim;
        if (absorbed)
            return 2 * nh * (dc + dr) + 2 * nh * dc;
        return 2 * nh * ((double)m->qk_nope_head_dim + dr) + 2 * nh * (double)m->v_head_dim;
    }
    return 4 * nh * (double)m->head_dim;
}

/* Element-wise work per token, an estimate with these per-element costs:
 * a norm 4 FLOPs, a residual add 1, SiLU-and-multiply 5, GELU 8, softmax 5
 * per score, RoPE 3 per rotated element, routing 5 per expert score plus
 * 2 per combined output element. */
static double other_flops(const model *m, double keys, int moe_layer)
{
    double d = (double)m->hidden_size, nh = (double)m->num_heads, f = 0;
    f += 2 * 4 * d + 2 * d; /* two norms, two residual adds */
    f += 5 * nh * keys;     /* softmax */
    if (m->attn == MODEL_ATTN_MLA) {
        f += 3 * (nh + 1) * (double)m->qk_rope_head_dim;
        f += 4 * ((double)m->q_lora_rank + (double)m->kv_lora_rank);
    } else if (!m->learned_positions) {
        f += 3 * (nh + (double)m->num_kv_heads) * (double)m->head_dim;
    }
    double act = model_act_flops(m);
    if (moe_layer) {
        f += act * (double)(m->experts_per_token + m->num_shared_experts) * (double)m->expert_dim;
        f += 5 * (double)m->num_experts + 2 * (double)m->experts_per_token * d;
    } else {
        f += act * (double)m->ffn_dim;
    }
    return f;
}

double model_act_flops(const model *m)
{
    return m->ffn_kind == MODEL_FFN_GATED ? 5 : 8;
}

model_flops model_forward_flops(const model *m, double keys, int absorbed)
{
    model_flops fl = {0};
    model_params p = model_param_counts(m);
    int64_t moe = model_moe_layers(m), dense = m->num_layers - moe;
    fl.gemm = 2 * p.matmul_active;
    fl.attention = (double)m->num_layers * attn_flops_per_key(m, absorbed) * keys;
    fl.other = (double)moe * other_flops(m, keys, 1) + (double)dense * other_flops(m, keys, 0) +
               4 * (double)m->hidden_size; /* final norm */
    fl.total = fl.gemm + fl.attention + fl.other;
    return fl;
}

model_train_flops model_training_flops(const model *m, int64_t seq_len)
{
    model_train_flops t = {0};
    t.forward = model_forward_flops(m, ((double)seq_len + 1) / 2, 0);
    t.training = 3 * t.forward.total;
    t.training_recompute = 4 * t.forward.total;
    return t;
}

double model_megatron_flops_per_token(const model *m, int64_t seq_len, int recompute_counted)
{
    double h = (double)m->hidden_size, l = (double)m->num_layers, s = (double)seq_len;
    double heads = (double)m->num_heads;
    double head_dim = m->attn == MODEL_ATTN_MLA ? (double)m->v_head_dim : (double)m->head_dim;
    double groups = m->attn == MODEL_ATTN_MLA ? heads : (double)m->num_kv_heads;
    double q_ratio = heads * head_dim / h;
    double gated = m->ffn_kind == MODEL_FFN_GATED ? 1.5 : 1.0;
    double ffn = (double)m->ffn_dim;
    if (m->num_experts > 0) /* every layer counted as MoE, as the formula does */
        ffn = (double)m->expert_dim * (double)(m->experts_per_token + m->num_shared_experts);
    /* 12 l h^2 x (attention projections and core + FFN): forward, input
     * gradient and weight gradient, 2 FLOPs a multiply-add. */
    double layers = 12 * l * h * h * ((1 + groups / heads + s / h) * q_ratio + ffn / h * gated);
    double logits = 6 * (double)m->vocab_size * h;
    return (recompute_counted ? layers * 4 / 3 : layers) + logits;
}

static const model_recipe recipes[] = {
    {"bf16", MODEL_SCALING_NONE, 2, 2, 4, 4, 4, 2,
     "mixed-precision Adam: bf16 weights and gradients, fp32 master weights and moments, "
     "16 bytes per parameter (Rajbhandari et al., ZeRO, SC'20, §3.1)"},
    {"fp8", MODEL_SCALING_FINE, 1, 4, 4, 2, 2, 1,
     "DeepSeek-V3 FP8 recipe (arXiv:2412.19437 §3.3): FP32 master weights and weight "
     "gradients, BF16 AdamW moments, FP8 cached activations; the FP8 working copy of the "
     "weights (1 byte) is an estimate"},
    {"fp8-tensor", MODEL_SCALING_PER_TENSOR, 4, 2, 4, 4, 4, 2,
     "Transformer Engine's FP8 with delayed per-tensor scaling: BF16 weights and gradients, "
     "FP32 master weights and moments as the bf16 recipe, plus the FP8 copy of each weight "
     "and of its transpose that TE caches between micro-batches "
     "(transformer_engine/pytorch/module/base.py set_fp8_weights: weight_fp8 and weight_t_fp8); "
     "activations kept in BF16 (an upper bound: TE can keep FP8 inputs for the backward)"},
    {"mxfp8", MODEL_SCALING_MX, 4.0625, 2, 4, 4, 4, 2,
     "MXFP8 (OCP Microscaling Formats v1.0: E4M3 elements with one E8M0 scale per 32) as "
     "Transformer Engine runs it on Blackwell: as fp8-tensor, the cached FP8 weight copies "
     "carrying a one-byte scale per 32 values"},
};

const model_recipe *model_recipe_find(const char *name)
{
    for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++)
        if (strcmp(recipes[i].name, name) == 0)
            return &recipes[i];
    return NULL;
}

const char *model_recipe_list(void)
{
    return "bf16, fp8, fp8-tensor, mxfp8";
}

/* Elements per token one layer keeps for its backward pass (an estimate):
 * the input of every weight product, the attention's q, k, v and output
 * (FlashAttention keeps no S x S matrix), the inputs of the activation
 * function. */
static double stored_elems(const model *m, int moe_layer)
{
    double d = (double)m->hidden_size, nh = (double)m->num_heads, e = 2 * d; /* norm inputs */
    if (m->attn == MODEL_ATTN_MLA) {
        double dn = (double)m->qk_nope_head_dim, dr = (double)m->qk_rope_head_dim;
        double dv = (double)m->v_head_dim;
        e += d + (double)m->q_lora_rank + (double)m->kv_lora_rank + dr; /* projection inputs */
        e += 2 * nh * (dn + dr) + 2 * nh * dv;                          /* q, k, v, o */
    } else {
        double hd = (double)m->head_dim;
        e += d + 2 * nh * hd + 2 * (double)m->num_kv_heads * hd; /* x, q, o, k, v */
    }
    double per_ffn_elem = m->ffn_kind == MODEL_FFN_GATED ? 3 : 2;
    if (moe_layer) {
        double k = (double)(m->experts_per_token + m->num_shared_experts);
        e += d + (double)m->num_experts + k * (d + per_ffn_elem * (double)m->expert_dim);
    } else {
        e += d + per_ffn_elem * (double)m->ffn_dim;
    }
    return e;
}

model_memory model_training_memory(const model *m, const model_recipe *r)
{
    model_memory mem = {0};
    model_params p = model_param_counts(m);
    double n = p.total + p.mtp;
    int64_t moe = model_moe_layers(m), dense = m->num_layers - moe;
    mem.weights_B = n * r->weight_B;
    mem.grads_B = n * r->grad_B;
    mem.optimizer_B = n * (r->master_B + r->adam_m_B + r->adam_v_B);
    mem.activations_B_per_token =
        ((double)moe * stored_elems(m, 1) + (double)dense * stored_elems(m, 0)) * r->activation_B;
    /* Selective recompute for MLA is DeepSeek-V3's (report §3.2.3): RMSNorm
     * outputs and the MLA up-projections (q, k, v) are recomputed in the
     * backward, not stored. Elsewhere it is Korthikanti et al.'s: the
     * attention scores, which FlashAttention never stores, so it saves
     * nothing here. */
    double saved = 0;
    if (m->attn == MODEL_ATTN_MLA)
        saved = (double)m->num_heads * (2 * (double)(m->qk_nope_head_dim + m->qk_rope_head_dim) +
                                        (double)m->v_head_dim) +
                (double)(m->hidden_size + m->q_lora_rank + m->kv_lora_rank);
    mem.activations_selective_B_per_token =
        mem.activations_B_per_token - (double)m->num_layers * saved * r->activation_B;
    mem.activations_recompute_B_per_token =
        (double)m->num_layers * (double)m->hidden_size * r->activation_B;
    return mem;
}
