/* plan: a parallel training plan (tensor, pipeline with virtual stages,
 * data with a ZeRO stage, expert and context parallelism; batch, micro-
 * batch, sequence length; precision recipe and recompute policy), its
 * checks against a model and a cluster, how ranks map onto GPUs, and the
 * memory each rank needs. */
#ifndef MS_PLAN_H
#define MS_PLAN_H

#include <stdint.h>

#include "core/err.h"
#include "hw/chip.h"
#include "model/model.h"

typedef enum plan_recompute {
    PLAN_RECOMPUTE_NONE,
    PLAN_RECOMPUTE_SELECTIVE,
    PLAN_RECOMPUTE_FULL
} plan_recompute;

typedef struct plan {
    int64_t gpus;
    int64_t tp, pp, vpp, dp, ep, cp;
    int zero;             /* ZeRO stage 0-3, over the data-parallel group */
    int64_t seq_len;      /* tokens per sequence */
    double attn_span;     /* tokens attention spans, length-weighted (E[L^2] / E[L] of samples
                             of lengths L): causal attention reads half on average; 0: seq_len */
    int64_t global_batch; /* sequences per step */
    int64_t micro_batch;  /* sequences per micro-batch */
    const char *recipe;   /* "bf16" or "fp8": see model_recipe_find */
    const char *stack;    /* software stack (stack_find); NULL: plain */
    plan_recompute recompute;
    int64_t inflight_microbatches; /* held per first stage; 0 = the 1F1B count, pp */
} plan;

/* Checks p against m on GPUs whose scale-up domains hold domain_size
 * GPUs. Fails with MS_EINVAL naming the field: degrees that do not
 * multiply to the GPUs (tp x pp x cp x dp), experts not divisible by ep
 * or ep not dividing dp x tp, heads not divisible by tp, more stages than
 * layers, a sequence not divisible by cp, a global batch not divisible by
 * micro-batch x dp, an unknown recipe or stack, a ZeRO stage outside 0-3. */
int plan_check(const plan *p, const model *m, ms_err *err);

/* Micro-batches each pipeline runs per step: global / (micro x dp). */
int64_t plan_microbatches(const plan *p);

/* Where rank r sits: tensor rank innermost (so a TP group is consecutive
 * GPUs, inside one scale-up domain when tp <= its size), then context,
 * then data, then pipeline stage outermost. Expert-parallel groups are
 * ep consecutive ranks of the tp x dp plane. */
typedef struct plan_coords {
    int64_t tp, cp, dp, pp, ep;
} plan_coords;

plan_coords plan_rank_coords(const plan *p, int64_t rank);

/* Bytes one rank of the busiest pipeline stage needs. */
typedef struct plan_memory {
    double weights_B, grads_B, optimizer_B, activations_B;
    double framework_B; /* a stated allowance (PLAN_FRAMEWORK_B), not a measurement */
    double total_B;
    double params_per_rank; /* of the busiest stage */
    /* A checkpoint's bytes per GPU: the model's weights and optimizer
     * state once, spread over every GPU. Replicas are not written twice:
     * Megatron-Core's fully parallel save and PyTorch's distributed
     * checkpoint deduplicate them and let each data-parallel rank write a
     * share (Llama 3, arXiv:2407.21783, 3.3.1: "1 MB to 4 GB per GPU"). */
    double checkpoint_B;
} plan_memory;

/* What a rank holds beyond the model's state and activations: the CUDA
 * context, cuBLAS and cuDNN workspaces, NCCL's buffers, the caching
 * allocator's fragmentation. An allowance, an estimate: no measurement
 * of it is in the reference. */
#define PLAN_FRAMEWORK_B 2e9

/* Memory per rank of p for m: parameters of the stage with the most layers
 * (the first, with the embedding, or the last, with the head and the MTP
 * modules), dense parts split by tp, experts by ep; gradients split over
 * data-parallel ranks from ZeRO 2, optimizer states from ZeRO 1, weights
 * from ZeRO 3 (experts over their own data-parallel group, dp x tp / ep);
 * activations of the micro-batches the first stage holds (1F1B: pp of
 * them) under the recompute policy, split by tp and cp. Selective
 * recompute is DeepSeek-V3's for MLA models (norm outputs and MLA up-
 * projections recomputed, not stored) and Korthikanti et al.'s elsewhere
 * (the attention scores, which FlashAttention never stores: it saves
 * nothing); full keeps layer inputs only. The plan's stack decides the
 * rest (Korthikanti et al., arXiv:2205.05198, §4): without sequence
 * parallelism the norms' and dropouts' 10 bytes a token a layer stay on
 * every tensor-parallel rank, as do full recompute's layer inputs; a
 * materialized attention that is not recomputed keeps its scores,
 * softmax output and dropout mask, 5 bytes a score; the interleaved
 * schedule's first stage holds 1 + (pp - 1) / (pp vpp) times the
 * activations of 1F1B. The framework allowance is added. p must have
 * passed plan_check. */
plan_memory plan_memory_per_rank(const plan *p, const model *m);

/* 1 if the rank fits in the chip's HBM; *short_B is what is missing
 * (0 when it fits). */
int plan_fits(const plan_memory *mem, const chip *c, double *short_B);

const char *plan_recompute_name(plan_recompute r);
int plan_recompute_parse(const char *name, plan_recompute *out);

#endif
