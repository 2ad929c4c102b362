/* icost: the time one GPU of a serving instance takes for one iteration of
 * continuous batching, a batch that mixes decode steps (one token per
 * sequence, or one plus a multi-token-prediction draft) with chunks of
 * prompts being prefilled. Each operation of each layer is timed by the
 * calibrated roofline, combine(FLOPs / (peak x eta_c), bytes / (HBM bw x
 * eta_m)) + the kernel's fixed cost, and the instance's tensor- and
 * expert-parallel traffic by coll's analytical model on its topology.
 *
 * An instance is tp x dp GPUs. Attention runs tensor-parallel over tp and
 * data-parallel over dp (each dp rank holds its own sequences and their
 * KV cache; decode sequences are taken as evenly split over the ranks,
 * and a prompt sits on one rank, so the iteration, which waits for its
 * busiest rank at every expert exchange, takes at least one rank's whole
 * share of prompt tokens). Dense
 * FFNs and shared experts follow attention (tp-way split on each dp
 * rank). Routed experts are spread over ep GPUs, each expert split
 * tp x dp / ep ways; when ep does not divide the experts each GPU holds
 * ceil(E / ep) of them, the spare slots redundant copies of busy experts
 * (DeepSeek serves 256 experts and 32 redundant ones over EP144: the V3
 * inference overview, 2025), and routed tokens still spread evenly. MLA's latent cache cannot be
 * split by head, so every tp rank holds (and reads) all of its sequences' latents, which is why
 * DeepSeek serves MLA with dp attention; GQA's KV heads split over tp
 * (replicated when there are fewer than tp).
 *
 * With pp pipeline stages (TensorRT-LLM's pipeline parallelism), each
 * stage holds ceil(layers / pp) layers and their KV cache, the first the
 * embedding and the last the head, and the instance keeps pp
 * micro-batches in flight, one a stage: every sequence of an iteration's
 * batch advances once in pp stage steps, each stage working on a 1/pp
 * share of the batch a step and then sending its activations (BF16, the
 * whole hidden state from each tp rank) to the next stage's GPU. So an
 * iteration takes the time of the whole model on 1/pp of the batch, plus
 * pp of those sends. Simplifications, each an estimate: the micro-batches
 * are even and the stages balanced (no bubble), and a send does not hide
 * under the next micro-batch's compute.
 *
 * Decode uses MLA's absorbed form and prefill its training form, as
 * model/mops does; at tp = dp = ep = 1 and BF16 the per-layer operations
 * are mops's (tests check it). Speed: the operations are stored as linear
 * forms in a few batch aggregates, so one evaluation costs some hundred
 * multiply-adds whatever the batch, and a run of millions of iterations
 * stays cheap. Simplifications, each an estimate: the KV writes of new
 * tokens are not counted (one token against a whole cache); activations
 * between operations are BF16; the router and the output head run in
 * BF16 (as DeepSeek-V3 keeps them); attention computes in BF16 whatever
 * the KV precision. */
#ifndef MS_ICOST_H
#define MS_ICOST_H

#include <stdint.h>

#include "core/err.h"
#include "core/prec.h"
#include "hw/calib.h"
#include "hw/chip.h"
#include "model/model.h"
#include "net/coll.h"
#include "net/topo.h"

#define ICOST_MAX_DRAFT  8
#define ICOST_MAX_GRAPHS 32
#define ICOST_UNCAL_CAP  256

typedef struct icost_config {
    int64_t tp, dp, ep;       /* a pipeline stage = tp x dp GPUs; ep divides tp x dp; ep = 1 for
                                 dense */
    int64_t pp;               /* pipeline stages, each ceil(layers / pp) of the layers (0 or 1:
                                 none); instance = tp x dp x pp GPUs */
    ms_prec weight_prec;      /* stored weights and GEMM inputs: fp8, bf16 or fp4 */
    ms_prec kv_prec;          /* KV cache elements */
    int mtp_draft;            /* draft tokens per decode step, 0 to ICOST_MAX_DRAFT: from the MTP
                                 module, run once for each, or from draft_model */
    const model *draft_model; /* NULL: the MTP module drafts; else a dense model of the same
                                 vocabulary, at the same tp and dp, with its own weights and
                                 cache, run layer by layer for each drafted token */
    int overlap;              /* 1: two micro-batches, one's expert exchange beside the other's
                                 compute; needs ep > 1 */
    double moe_imbalance;     /* busiest GPU's routed tokens over the mean, >= 1 */
    int tp_overlap;           /* 1: each tensor-parallel all-reduce runs inside the GEMM whose
                                 output it sums (TensorRT-LLM's gemm_allreduce_plugin: the
                                 GEMM's epilogue stores its tiles as NVLink multicast reductions),
                                 so it costs only what it takes beyond that GEMM; dense models
                                 without drafts */
    int act_quant;            /* 1: each FP8 GEMM's input is quantized (1 x 128 tiles, a scale
                                 per tile) by a kernel of its own, as a checkpoint scaled in
                                 blocks is run (DeepSeek-V3); 0: the casts are fused into the
                                 kernels before the GEMMs. Needs fp8 weights */
    int64_t graph_sizes[ICOST_MAX_GRAPHS]; /* decode-only iterations run as CUDA graphs
                                              captured at these sequences a dp rank, ascending:
                                              the batch padded up to the next (TensorRT-LLM's
                                              cuda_graph_batch_sizes with
                                              cuda_graph_padding_enabled); one above the
                                              largest runs as it is */
    int ngraphs;                           /* 0: none */
} icost_config;

/* One iteration of a whole instance (all its dp ranks). */
typedef struct icost_batch {
    double decode_seqs;    /* sequences taking a decode step */
    double decode_ctx;     /* sum of their cached tokens */
    double prefill_tokens; /* prompt tokens computed */
    double prefill_seqs;   /* prompts they belong to (each on one dp rank) */
    double prefill_keys;   /* sum over those tokens of the keys each attends */
    double prefill_done;   /* prompts that end here: their last token goes through the head */
} icost_batch;

typedef struct icost_time {
    double time_s;      /* the iteration: compute plus (or, overlapped, beside) communication */
    double compute_s;   /* operations back to back */
    double comm_s;      /* tensor- and expert-parallel traffic */
    double hbm_bound_s; /* of compute_s: operations their bytes bound */
    double flops;       /* per GPU */
    double hbm_bytes;   /* per GPU */
} icost_time;

typedef struct icost icost;

/* Prepares the operations of m on c for cfg. t and cp time the
 * instance's collectives (t with at least tp x dp GPUs; both may be NULL
 * when the instance is one GPU). cal may be NULL (peaks). Fails with
 * MS_EINVAL naming the option: tp, dp or ep < 1, ep not dividing tp x dp,
 * pp < 0 or above the layers, pp > 1 with ep > 1, overlap or drafts,
 * ep > 1 for a dense model, overlap with ep = 1, tp_overlap with experts or drafts, heads not
 * divisible by tp, a precision the chip
 * has no peak for, mtp without MTP modules in the model (and no draft
 * model), a draft model with experts, another vocabulary or heads tp does
 * not divide, imbalance < 1. Free with icost_free. */
int icost_new(const model *m, const chip *c, const calib *cal, const icost_config *cfg,
              const topo *t, const coll_params *cp, icost **out, ms_err *err);

void icost_free(icost *ic); /* NULL is a no-op */

/* The time of iteration b; asserts every figure of b is >= 0 and that
 * some token is computed. The last four batches are remembered, so asking
 * again costs nothing (ic is written to, though const: not thread-safe).
 * With overlap, a batch that icost_splits runs as two micro-batches of
 * half of it each: compute and communication are each twice the half
 * batch's (weights read and fixed costs paid twice); each MoE layer takes
 * icost_overlap_layer_s of the half batch's figures, and the rest (dense
 * layers, head, MTP module, tensor-parallel all-reduces) runs twice
 * without overlap; where that is slower than the batch whole (weights
 * read twice at a small batch), it runs whole. A batch too small to split
 * runs as one, its communication after its compute. */
icost_time icost_eval(const icost *ic, const icost_batch *b);

/* The sequences a decode-only iteration of b runs its GEMMs, experts and
 * head on under cfg's CUDA graphs: each dp rank's share (rounded up)
 * padded to the smallest captured size that holds it, times the ranks
 * holding sequences; b's own count with no graphs, with prompt tokens in
 * the iteration (those run without graphs) or above the largest size.
 * Attention reads only the real sequences' cache. */
double icost_graph_seqs(const icost_config *cfg, const icost_batch *b);

/* With tp_overlap: what a dense model's tensor-parallel all-reduces leave
 * exposed, tp_s in all over `layers` layers, each layer's two of equal
 * size each inside its GEMM (attn_out_s, ffn_down_s: one layer's output
 * projection and down projection): layers x (max(0, tp_s / (2 layers) -
 * attn_out_s) + max(0, tp_s / (2 layers) - ffn_down_s)). tp_s itself when
 * there are no layers. */
double icost_tp_overlap_exposed_s(double tp_s, double layers, double attn_out_s, double ffn_down_s);

/* 1 if cfg.overlap is on, ep > 1 and b has at least two decode sequences
 * or two prompt tokens per dp rank: enough for two micro-batches. */
int icost_splits(const icost *ic, const icost_batch *b);

/* One MoE layer of two micro-batches A and B, each computing before_s
 * until its dispatch and between_s between dispatch and combine: four
 * stages, each as long as the longer of what computes and what is in
 * flight (DeepSeek's decode profile: the SMs run one micro-batch while the
 * other's exchange is in flight, then wait for it). B's attention beside
 * A's dispatch, A's experts beside B's dispatch, B's experts beside A's
 * combine, A's next attention beside B's combine. While an exchange is in
 * flight the compute has sm_share (0, 1] of the SMs (DeepEP's normal
 * kernels occupy some; its low-latency ones none: 1); after it, all. */
double icost_overlap_layer_s(double before_s, double between_s, double dispatch_s, double combine_s,
                             double sm_share);

/* Bytes of weights each GPU holds (the busiest: every GPU holds as much
 * but for rounding). */
double icost_weights_B_per_gpu(const icost *ic);

/* KV-cache bytes one token of a sequence takes on each GPU of its dp
 * rank (all layers, the MTP module's too when it drafts). */
double icost_kv_B_per_token_per_gpu(const icost *ic);

/* KV-cache bytes of one token over the whole dp rank (what moves when a
 * prefilled sequence goes to a decode instance): the latent once for
 * MLA, every KV head once for GQA. */
double icost_kv_B_per_token(const icost *ic);

/* What runs at a datasheet peak for want of a kernel measurement in the
 * calibration, "kind precision figure" joined by "; " ("attention_decode
 * bf16 memory"); empty when every figure has a row, or when the
 * calibration is NULL (the peak was asked for). A kind with no memory
 * figure of its own takes its family's stream one first, as train does. */
const char *icost_uncalibrated(const icost *ic);

/* GPUs per instance: tp x dp x pp. */
int64_t icost_gpus(const icost *ic);

/* Pipeline stages of cfg: pp, or 1 where pp is 0 (none given). */
int64_t icost_config_stages(const icost_config *cfg);

/* GPUs per instance of cfg: tp x dp x its stages. */
int64_t icost_config_gpus(const icost_config *cfg);

#endif
