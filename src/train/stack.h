/* stack: the training software a plan runs on, as the things it does
 * that change a step's time: how attention is computed (materialized
 * scores or a fused flash kernel), whether dropout kernels run, whether
 * norms and dropouts are split over the tensor-parallel ranks (sequence
 * parallelism), and which communication it overlaps with compute
 * (tensor-parallel collectives with the GEMMs they feed, data-parallel
 * gradient reduction with the backward and the parameter all-gather with
 * the next forward, in buckets). Each stack is a row of a table with the
 * sources that say what that software does; the same GPU trains at
 * different speeds under each. */
#ifndef MS_STACK_H
#define MS_STACK_H

#include "hw/chip.h"

typedef enum stack_attn {
    STACK_ATTN_FLASH,        /* fused kernel, scores never in HBM (FlashAttention) */
    STACK_ATTN_MATERIALIZED, /* Q K^T to HBM, softmax kernel, P V: as 2021 Megatron-LM ran */
} stack_attn;

typedef struct stack {
    const char *name;
    stack_attn attention;
    /* The calibration kinds of its fused attention's forward and backward
     * kernels, where the stack's release has rows of its own (NULL:
     * "attention" and "attention_bwd", the best kernels measured). */
    const char *attn_fwd_kind, *attn_bwd_kind;
    /* The calibration kind of its BF16 and FP16 training GEMMs where its
     * libraries' release has rows of its own (NULL: "gemm_train", the
     * sustained GEMMs of current libraries). */
    const char *gemm_train_kind;
    int dropout;             /* attention-probability and hidden dropout kernels run */
    int sequence_parallel;   /* norms and dropouts on tokens / tp (else every TP rank runs all) */
    int tp_overlap;          /* tensor-parallel collectives pipelined with their GEMMs */
    double tp_overlap_sms;   /* SMs those collectives' kernels hold meanwhile (0: none known) */
    int dp_overlap;          /* gradient reduce under the backward, weight gather under the forward;
                                ZeRO-3 prefetches each layer's weights under the previous one */
    double dp_bucket_params; /* parameters per overlapped bucket (dp_overlap) */
    double dp_bucket_per_rank; /* and at least this many per data-parallel rank (0: none) */
    int p2p_blocking;          /* pipeline sends hold the sender until they complete */
    double grad_B; /* bytes of a gradient as accumulated and reduced (0: the recipe's) */
    /* Bytes per parameter that adding each micro-batch's weight gradient
     * to the earlier ones' moves in a kernel of its own (0: none), and
     * bytes per weight-gradient element of a GEMM that adds its result to
     * the gradient buffer itself (0: it writes its output precision). */
    double grad_accum_B, wgrad_out_B;
    /* The loss's HBM traffic per logit, forward and backward, where the
     * stack's code says it (0: megasim's default of one FP32 write and
     * read forward, twice that backward). */
    double loss_fp32_B_fwd, loss_fp32_B_bwd;
    /* Bytes per element of the rank's embedding table that each
     * micro-batch's embedding backward moves outside any GEMM (0: none
     * counted), and bytes per parameter the stack moves over the rank's
     * whole gradient buffer once a step beside the optimizer's shard
     * (zeroing it, checking it): both where the stack's code says so. */
    double embed_grad_B, grad_buffer_step_B;
    const char *summary; /* one line for listings */
    const char *source;
} stack;

/* The stack named name, or NULL. */
const stack *stack_find(const char *name);
/* The stack a plan runs on when it names none: the one of the chip's era
 * (Ampere: megatron-2021; Hopper, Blackwell and Blackwell Ultra:
 * megatron-core-2024;
 * anything else: plain). */
const stack *stack_default(const chip *c);
/* The stack of plan field name, NULL meaning plain (fused attention, no
 * overlap): what code that builds plans by hand gets. */
const stack *stack_or_plain(const char *name);
/* Bytes per parameter of the gradients the stack accumulates and reduces
 * under a recipe whose own figure is recipe_grad_B. */
double stack_grad_B(const stack *s, double recipe_grad_B);
/* "megatron-2021, megatron-core-2024, ...": for messages. */
const char *stack_list(void);

#endif
