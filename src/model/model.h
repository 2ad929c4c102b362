/* model: the arithmetic of a transformer: dense or Mixture-of-Experts FFN,
 * MHA/GQA/MQA or Multi-head Latent Attention, embeddings, multi-token
 * prediction. From one description it gives parameters (total and per
 * token), FLOPs per token (forward, training, with recompute), KV-cache
 * bytes, and training memory per precision recipe. Pure arithmetic: no
 * I/O; loading lives in modelfile. Counts are doubles: 671e9 is exact in
 * a double, and FLOPs overflow 64-bit integers at long contexts. */
#ifndef MS_MODEL_H
#define MS_MODEL_H

#include <stdint.h>

#include "core/err.h"
#include "core/prec.h"

/* X(enum, name) */
#define MODEL_ATTN_MAP(X) X(MODEL_ATTN_MHA, "mha") X(MODEL_ATTN_GQA, "gqa") X(MODEL_ATTN_MLA, "mla")

typedef enum model_attn {
#define MODEL_ATTN_ENUM(e, name) e,
    MODEL_ATTN_MAP(MODEL_ATTN_ENUM)
#undef MODEL_ATTN_ENUM
} model_attn;

typedef enum model_ffn_kind {
    MODEL_FFN_GATED, /* SwiGLU: gate, up and down matrices */
    MODEL_FFN_PLAIN, /* GELU MLP: up and down */
} model_ffn_kind;

typedef enum model_norm { MODEL_NORM_RMS, MODEL_NORM_LAYER } model_norm;

/* A model. Every dimension is in elements; 0 means "none" where a comment
 * says so. Filled by modelfile or by hand with designated initializers. */
typedef struct model {
    char name[96];
    int64_t vocab_size;
    int64_t hidden_size;
    int64_t num_layers;
    int64_t max_positions;
    int tied_embeddings;   /* output head shares the input embedding */
    int learned_positions; /* a max_positions x hidden table (GPT-2); else RoPE */
    model_norm norm;

    model_attn attn;
    int64_t num_heads;
    int64_t num_kv_heads;     /* GQA (1 is MQA); equals num_heads for MHA */
    int64_t head_dim;         /* MHA/GQA */
    int qkv_bias, o_bias;     /* biases on the attention projections */
    int qk_norm;              /* per-head RMSNorm of q and k (Qwen3) */
    int64_t q_lora_rank;      /* MLA: 0 = queries not compressed */
    int64_t kv_lora_rank;     /* MLA: d_c, the cached latent */
    int64_t qk_nope_head_dim; /* MLA: d_h */
    int64_t qk_rope_head_dim; /* MLA: d_r, the shared rope key is cached too */
    int64_t v_head_dim;       /* MLA: d_v */

    model_ffn_kind ffn_kind;
    int mlp_bias;
    int64_t ffn_dim; /* dense FFN width; 0 if every layer is MoE */

    int64_t num_experts; /* routed experts; 0 = dense model */
    int64_t num_shared_experts;
    int64_t experts_per_token;
    int64_t expert_dim; /* width of one expert (and of one shared expert) */
    int64_t first_dense_layers;
    int64_t moe_layer_freq;   /* layer i >= first_dense is MoE when i % freq == 0 */
    int64_t expert_groups;    /* node-limited routing: groups (nodes) ... */
    int64_t groups_per_token; /* ... and how many of them one token may reach; 0 = no limit */
    int expert_bias;          /* a per-expert routing bias (DeepSeek-V3) */

    int64_t mtp_layers; /* multi-token-prediction modules (DeepSeek-V3) */
    int64_t fp8_block;  /* an FP8 checkpoint scaled in blocks of this many values along K
                           (DeepSeek-V3: 128x128 weight blocks, 1x128 activation tiles that
                           kernels of their own quantize); 0: per tensor, or not FP8 */
} model;

/* Checks every dimension: positive where needed, consistent (experts per
 * token <= experts, kv heads divide heads, ...). Fails with MS_EINVAL and
 * a message naming the field (as in the model JSON) and what was expected. */
int model_validate(const model *m, ms_err *err);

const char *model_attn_name(model_attn a);
/* Parses "mha", "gqa", "mqa" (GQA with one KV head is set by the caller)
 * or "mla"; returns 0 or -1. */
int model_attn_parse(const char *name, model_attn *out);

/* 1 if layer i (0-based) has a MoE FFN. */
int model_layer_is_moe(const model *m, int64_t layer);
int64_t model_moe_layers(const model *m);

/* Parameters of one layer's parts. */
double model_attn_params(const model *m); /* projections, biases, q/k norms, MLA norms */
double model_dense_ffn_params(const model *m);
double model_expert_params(const model *m);     /* one routed expert */
double model_moe_params(const model *m);        /* routed + shared + router */
double model_moe_active_params(const model *m); /* experts_per_token + shared + router */
double model_layer_norm_params(const model *m); /* the two norms around attention and FFN */

typedef struct model_params {
    double total;                 /* main model, without MTP modules */
    double active;                /* per token, input embedding included */
    double active_excl_embedding; /* per token, input embedding excluded (it is a gather) */
    double matmul_active;         /* weight-matrix parameters per token: what 2 x FLOPs counts */
    double embedding;             /* input embedding (and learned positions) */
    double head;                  /* output head; 0 when tied */
    double attention;             /* all layers */
    double ffn_dense;             /* all dense FFN layers */
    double moe;                   /* all MoE layers */
    double norms;                 /* all norms, final norm included */
    double mtp;                   /* MTP modules: unique parameters (embedding and head shared) */
    double mtp_active;            /* MTP modules: per token, shared embedding and head excluded */
} model_params;

model_params model_param_counts(const model *m);

/* KV-cache elements per token per layer: 2 n_kv h_d (MHA/GQA),
 * d_c + d_r (MLA: the latent and the shared rope key). */
double model_kv_elems_per_token_layer(const model *m);
/* KV-cache bytes per token over all layers at prec. */
double model_kv_bytes_per_token(const model *m, ms_prec prec);

/* FLOPs of the FFN activation per element of the FFN width (an estimate):
 * 5 for SiLU-and-multiply (gated), 8 for GELU (plain). */
double model_act_flops(const model *m);

/* Forward FLOPs per token, split: matrix products with weights; the
 * attention core (QK^T and PV), which grows with the keys attended; and the
 * rest (norms, activations, softmax, rope, residuals, routing), counted
 * with the per-element costs documented in model.c (an estimate). */
typedef struct model_flops {
    double gemm;
    double attention;
    double other;
    double total;
} model_flops;

/* FLOPs per token of a forward pass attending `keys` keys per layer.
 * absorbed selects MLA's absorbed-weight decode form (ignored otherwise);
 * its per-key attention is larger and its extra per-token products are
 * the same parameters, so GEMM FLOPs do not change. */
model_flops model_forward_flops(const model *m, double keys, int absorbed);

/* Per token of training on sequences of seq_len (causal: (seq_len+1)/2
 * keys on average): forward + backward, backward counted as twice the
 * forward (input and weight gradients). With recompute, one more forward
 * (full activation recomputation). MTP modules are not included. */
typedef struct model_train_flops {
    model_flops forward;
    double training;           /* 3 x forward */
    double training_recompute; /* 4 x forward */
} model_train_flops;

model_train_flops model_training_flops(const model *m, int64_t seq_len);

/* Training FLOPs per token as Megatron-LM counts them when it reports
 * teraFLOP/s per GPU or MFU, for sequences of seq_len (full, non-causal
 * attention; logits counted once forward and twice backward):
 *  - recompute_counted = 1: Narayanan et al. 2021 (arXiv:2104.04473),
 *    eq. 3, which counts the recomputed forward: per token
 *    96 l h^2 (1 + s/(6h) + V/(16 l h)) for a GPT model;
 *  - recompute_counted = 0: Megatron-Core's num_floating_point_operations
 *    (megatron/training/training.py), three passes: 72 l h^2 (1 + s/(6h)
 *    + V/(12 l h)) for a GPT model, with the query-group, gated-FFN and
 *    routed-expert terms it adds for other layouts (an MLA model is
 *    counted as if its heads were MHA heads of head_dim, as the formula
 *    knows no MLA). */
double model_megatron_flops_per_token(const model *m, int64_t seq_len, int recompute_counted);

/* How a recipe scales its FP8 tensors, which decides the kernels around
 * its GEMMs. */
typedef enum model_scaling {
    MODEL_SCALING_NONE,       /* BF16 GEMMs */
    MODEL_SCALING_FINE,       /* DeepSeek-V3: 1x128 activation tiles, 128x128 weight blocks,
                                 quantization kernels of their own, FP32 promotion in the GEMM */
    MODEL_SCALING_PER_TENSOR, /* Transformer Engine's delayed scaling: one scale per tensor,
                                 casts fused into the kernels before the GEMMs */
    MODEL_SCALING_MX,         /* MXFP8 (OCP microscaling): an E8M0 scale per 32 values, cast
                                 fused as above; Blackwell's tensor cores read the scales */
} model_scaling;

/* Bytes per parameter of training state, per precision recipe. */
typedef struct model_recipe {
    const char *name;
    model_scaling scaling;
    double weight_B; /* working weights used by the GEMMs */
    double grad_B;
    double master_B; /* higher-precision master copy; 0 if none */
    double adam_m_B;
    double adam_v_B;
    double activation_B; /* bytes of one stored activation element */
    const char *source;
} model_recipe;

/* The recipe named name ("bf16", "fp8"), or NULL. */
const model_recipe *model_recipe_find(const char *name);
/* "bf16, fp8" for messages. */
const char *model_recipe_list(void);

typedef struct model_memory {
    double weights_B, grads_B, optimizer_B;   /* whole model, not sharded */
    double activations_B_per_token;           /* all layers, no recompute */
    double activations_recompute_B_per_token; /* full recompute: layer inputs only */
    double activations_selective_B_per_token; /* selective recompute (see model.c) */
} model_memory;

/* Training memory of the whole model under recipe; activations stored in
 * the recipe's working precision (an estimate: see model.c). */
model_memory model_training_memory(const model *m, const model_recipe *r);

#endif
