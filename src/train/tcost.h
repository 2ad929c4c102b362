/* tcost: what one rank computes and sends for one micro-batch of one
 * pipeline stage in training: the stage's layers split over the plan's
 * tensor, context and expert ranks, each operation timed on the chip by
 * the roofline with calibrated efficiencies, forward, input gradient and
 * weight gradient apart; and the bytes of the stage's tensor-parallel,
 * expert-parallel and pipeline transfers. Pure arithmetic on the model,
 * chip, calibration and plan: no engine, no network.
 *
 * How the work splits (Megatron-LM conventions with sequence parallelism
 * when tp > 1):
 *  - attention heads, dense FFN width and shared experts split by tp; a
 *    rank runs its own heads over all T = micro_batch x seq / cp tokens
 *    of its context slice, keys over the whole causal sequence;
 *  - MLA's down-projections (q_down, kv_down) are taken as replicated on
 *    every TP rank (an estimate of how an implementation splits them);
 *  - norms, router and routed experts see T / tp tokens (sequence
 *    parallel); routed experts are whole (no tensor split) and spread
 *    over ep ranks: a rank runs E / ep experts on T / tp x k routed
 *    tokens times its load (the busiest rank's share over the mean);
 *  - the first stage gathers the embedding, the last runs the final norm,
 *    the output head and the loss, and the multi-token-prediction modules.
 * Backward: every GEMM's input gradient (in B) and weight gradient (in W)
 * each cost what its forward costs in FLOPs; the attention core's backward
 * costs 2.5 forwards (FlashAttention's backward runs five products to the
 * forward's two, recomputing QK^T: Dao et al. 2022, §3.1); element-wise
 * operations cost twice their forward (an estimate). A MoE layer permutes
 * the routed tokens into expert order for the grouped GEMMs and back
 * (Megatron-LM's moe permute and unpermute), once each way in the forward
 * and once in the backward. Kernel classes are
 * timed with the calibration of what they are: GEMMs as gemm_train (or
 * the stack's own kind, gemm_train_cuda11 for SC21's) and the attention
 * backward as attention_bwd (each falling back to gemm and attention where
 * a chip family has no such row).
 *
 * The FP8 recipe (DeepSeek-V3 report §3.3) adds the quantization kernels
 * its GEMMs need, kind quant: the forward casts each GEMM's activation
 * input from BF16 to FP8 with a scale per 128 values; the input gradient
 * casts the output gradient to FP8 in both tile layouts (1x128 for the
 * input gradient, 128x1 for the weight gradient); the weight gradient
 * re-tiles the cached FP8 input to 128x1. Inputs quantized once serve
 * several GEMMs (x for q_down and kv_down), and routed tokens and the
 * gradients returning to them are cast once at their source rank before
 * the FP8 dispatch, not once per expert. Selective recompute
 * of an MLA model adds the forward of its norms and up-projections to B
 * (DeepSeek-V3 report, §3.2.3). Full recompute adds
 * one forward of the stage's layers to B. */
#ifndef MS_TCOST_H
#define MS_TCOST_H

#include <stdint.h>

#include "core/err.h"
#include "hw/calib.h"
#include "hw/chip.h"
#include "model/model.h"
#include "train/plan.h"

/* X(enum, name): what breakdowns count compute by. */
#define TCOST_KIND_MAP(X)                                                                          \
    X(TCOST_GEMM, "gemm")                                                                          \
    X(TCOST_ATTENTION, "attention")                                                                \
    X(TCOST_OTHER, "elementwise")                                                                  \
    X(TCOST_QUANT, "fp8 quantize")

typedef enum tcost_kind {
#define TCOST_KIND_ENUM(e, name) e,
    TCOST_KIND_MAP(TCOST_KIND_ENUM)
#undef TCOST_KIND_ENUM
        TCOST_KINDS
} tcost_kind;

const char *tcost_kind_name(tcost_kind k);

/* Compute of one task: time of its operations back to back. */
typedef struct tcost_work {
    double time_s;
    double by_kind_s[TCOST_KINDS];
    double flop_bound_s; /* of time_s: operations whose FLOPs bound them */
    double hbm_bound_s;  /* of time_s: operations whose HBM traffic bounds them */
    double flops;        /* FLOPs executed (recompute included) */
    double quant_B;      /* of the HBM traffic: FP8 quantization's */
} tcost_work;

typedef struct tcost_stage {
    int64_t first_layer, layers; /* main-model layers [first, first + layers) */
    int embedding, head;         /* holds the input embedding / final norm, head and loss */
    int64_t mtp_modules;         /* MTP modules it runs (the last stage) */
    int64_t moe_layers;          /* MoE layers among them, MTP included */

    tcost_work f, b, w; /* forward; input gradient (with recompute); weight gradient */

    /* Bytes per rank per micro-batch, one direction (forward); the
     * backward sends as many the other way. */
    double tp_allreduce_B;     /* each of tp_allreduces all-reduces of activations */
    int64_t tp_allreduces;     /* in the forward */
    int64_t tp_allreduces_bwd; /* in the backward: twice as many with full recompute */
    double ep_dispatch_B;      /* one MoE layer's dispatch from this rank (DeepEP's count) */
    double ep_combine_B;       /* and its combine */
    double ep_fanout;          /* distinct nodes (or GPUs, in one node) a token reaches */
    double pp_B;               /* activations to the next stage */

    /* Operation classes that found no calibration row and ran at the
     * datasheet peak: "attention bf16 compute; ...", empty when none (or
     * when no calibration was given). */
    char uncalibrated[160];

    double dense_params;  /* parameters of the stage a rank holds, split by tp */
    double expert_params; /* routed experts a rank holds, split by ep */
} tcost_stage;

/* The work of stage `stage` of `stages` equal blocks of layers (ceil(L /
 * stages) each, the last stages shorter) for plan p (checked with
 * plan_check) on chip c, moe_load the rank's routed tokens over the mean
 * (> 0; >= 1 for the busiest). cal may be NULL (peaks). Fails with MS_EINVAL
 * when the chip has no peak at a precision the recipe needs (fp8 on an
 * A100), naming both. */
int tcost_stage_compute(const model *m, const chip *c, const calib *cal, const plan *p,
                        int64_t stage, int64_t stages, double moe_load, tcost_stage *out,
                        ms_err *err);

/* Expected distinct nodes (groups) a token's k routed experts land in,
 * spread uniformly over `nodes` nodes: nodes (1 - (1 - 1/nodes)^k), at
 * most `limit` when node-limited routing caps it (limit 0: none). */
double tcost_expected_nodes(double nodes, double k, double limit);

#endif
