/* step: one training step of a parallel plan, run on the engine.
 *
 * Every pipeline rank runs its schedule's task list (sched); each task's
 * time is its compute (tcost: roofline with calibrated efficiencies) plus
 * the communication it waits for: tensor-parallel all-reduces, expert-
 * parallel dispatch and combine, ZeRO-3 weight gathers, each timed on
 * the cluster's topology by the network model (coll, analytical, with the
 * calibrated link efficiencies and per-step costs). A task waits for its
 * inputs: the previous stage's forward, the next stage's backward, sent
 * point to point (coll sendrecv) when they come from another rank. In an
 * overlapped forward-backward pair (DualPipe, DualPipeV) the expert-
 * parallel communication of each half runs under the other half's
 * compute, which runs on the SMs the communication kernels leave free:
 * the pair lasts max(compute x SMs / (SMs - comm_sms), communication),
 * tensor-parallel all-reduces added (they are not overlapped). Elsewhere
 * communication is not overlapped. After its last backward a rank reduces
 * its gradients over its data-parallel group (reduce-scatter from ZeRO 1,
 * all-reduce at ZeRO 0; experts over their own expert-data-parallel
 * group), steps the optimizer (an HBM-bound pass over the optimizer
 * state it holds) and all-gathers the updated weights (ZeRO 1 and 2).
 *
 * Symmetry: data-parallel replicas of a pipeline run identical task lists,
 * and the ranks of a tensor-parallel group identical work, so by default
 * one pipeline is simulated, with the busiest expert-parallel rank's load
 * (MoE imbalance). every_replica simulates every data-parallel replica,
 * each with its own load (the first rank of each expert-parallel group
 * the busiest, the others sharing the rest evenly), an expert-parallel
 * task starting on all ranks of its group together and lasting as long as
 * the slowest; a test shows both give the same step time. */
#ifndef MS_STEP_H
#define MS_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "hw/calib.h"
#include "hw/chip.h"
#include "model/model.h"
#include "net/coll.h"
#include "net/topo.h"
#include "train/plan.h"
#include "train/sched.h"
#include "train/tcost.h"

typedef struct step_config {
    sched_kind schedule;
    int64_t comm_sms;    /* SMs communication kernels hold while overlapping compute */
    double moe_load;     /* busiest expert-parallel rank's routed tokens over the mean, >= 1 */
    int every_replica;   /* simulate every data-parallel replica, not one */
    uint64_t trace_mask; /* pipeline ranks (bit r: rank r of replica 0, r < 64) to trace */
} step_config;

/* The cluster a chip's database row implies for gpus GPUs: its scale-up
 * domain and bandwidth, its NIC per GPU on a rail-optimized non-blocking
 * fat-tree of 64-port switches, two tiers (three when two cannot hold
 * them: see topo_build). Link latencies are 0: the calibrated per-step
 * cost carries them. */
topo_spec step_default_topo(const chip *c, int64_t gpus);

/* X(enum, name, bound): what a step's time is spent on, and the limit
 * that bounds each kind of time (for compute it depends on the roofline:
 * the phase reports it). */
#define STEP_PART_MAP(X)                                                                           \
    X(STEP_COMPUTE_GEMM, "compute: gemm")                                                          \
    X(STEP_COMPUTE_ATTENTION, "compute: attention")                                                \
    X(STEP_COMPUTE_OTHER, "compute: elementwise")                                                  \
    X(STEP_COMPUTE_QUANT, "compute: fp8 quantize")                                                 \
    X(STEP_COMM_TP, "exposed comm: tp all-reduce")                                                 \
    X(STEP_COMM_EP, "exposed comm: ep dispatch/combine")                                           \
    X(STEP_COMM_ZERO3, "exposed comm: zero-3 weight all-gather")                                   \
    X(STEP_COMM_PP, "exposed comm: pp send/recv")                                                  \
    X(STEP_COMM_DP, "exposed comm: dp gradient reduce and weight all-gather")                      \
    X(STEP_OPTIMIZER, "optimizer step")                                                            \
    X(STEP_BUBBLE, "pipeline bubble and waits")

typedef enum step_part {
#define STEP_PART_ENUM(e, name) e,
    STEP_PART_MAP(STEP_PART_ENUM)
#undef STEP_PART_ENUM
        STEP_PARTS
} step_part;

const char *step_part_name(step_part p);

/* A phase of the step, how long one instance takes and what bounds it:
 * "FLOPs", "HBM", "scale-up link", "scale-out link", "pipeline
 * dependency". */
typedef struct step_phase {
    const char *name;
    double time_s; /* one instance: one micro-batch of one stage, one collective */
    double count;  /* instances per rank per step */
    const char *bound;
} step_phase;

#define STEP_MAX_PHASES 12

/* One span of a rank's timeline, for traces. */
typedef struct step_span {
    int32_t rank; /* pipeline rank */
    int32_t lane; /* 0 compute, 1 communication */
    double start_s, dur_s;
    char name[40];
} step_span;

/* What one simulated GPU of a pipeline rank does over an interval of the
 * step, for power: seconds of compute bound by FLOPs, of compute bound by
 * HBM traffic, and of communication (the rest, waiting). Replica 0's
 * ranks; each stands for the tp x cp x dp GPUs of its stage. */
typedef struct step_activity {
    int32_t rank;
    double start_s, dur_s;
    double matrix_s, memory_s, comm_s;
} step_activity;

typedef struct step_result {
    double step_time_s;
    double pipeline_s; /* start to the last backward */
    double tokens_per_step, tokens_per_s;
    double model_flops_per_token; /* 3 x forward, what MFU counts */
    double mfu_bf16, mfu_fp8;     /* NAN when the chip has no such peak */
    double gpu_hours_per_trillion_tokens;

    plan_memory memory; /* the busiest rank's */
    int fits;
    double short_B;

    double part_s[STEP_PARTS]; /* mean pipeline rank; sums to step_time_s */
    double bubble_fraction;    /* part_s[STEP_BUBBLE] / step_time_s */
    double exposed_comm_fraction;

    step_phase phases[STEP_MAX_PHASES];
    size_t nphases;

    tcost_stage stage0; /* costs of the first stage, for reports */
    int64_t microbatches, stages, ranks_simulated;
    uint64_t events;

    step_span *spans; /* traced ranks, in start order per rank */
    size_t nspans;

    step_activity *acts; /* every rank of replica 0, every task and the step's tail */
    size_t nacts;
} step_result;

/* Runs one step of plan p (checked with plan_check against m) for model m
 * on chips c connected by topology t (of p->gpus GPUs),
 * with calibration cal (NULL: peaks) and network parameters net. The plan
 * must fit in memory: a plan that does not is MS_EINVAL naming the
 * shortfall per rank, with out->memory, fits and short_B filled so the
 * caller can report it. Other failures: MS_EINVAL for a schedule the plan
 * cannot run (vpp, micro-batch counts), collectives the topology cannot
 * place, a bad config field; MS_ENOMEM. Caller frees with
 * step_result_free. */
int step_run(const model *m, const chip *c, const calib *cal, const plan *p, const topo *t,
             const coll_params *net, const step_config *cfg, step_result *out, ms_err *err);

void step_result_free(step_result *r);

/* What one micro-batch costs on a rank through every stage of the model,
 * summed (tcost and the collectives are additive over layers): compute,
 * expert-parallel dispatch and combine, and tensor-parallel all-reduces
 * at the least the stack's overlap can leave exposed. For a lower bound
 * on step_run, which search uses to skip plans. */
typedef struct step_work {
    double compute_s, ep_s, tp_s;
} step_work;

/* p checked with plan_check; moe_load as step_config's. Fails as the
 * step's collectives and tcost fail (MS_EINVAL). */
int step_work_of(const model *m, const chip *c, const calib *cal, const plan *p, const topo *t,
                 const coll_params *net, double moe_load, step_work *out, ms_err *err);

/* A step of p under schedule s lasts at least this: each pipeline rank
 * runs its tasks one after another, and together they run every micro-
 * batch's work w once; expert-parallel traffic is exposed in every task
 * except the overlapped pairs of dualpipe and dualpipev (where it counts
 * nothing). Bubbles, pipeline sends, ZeRO-3 gathers, the gradient reduce
 * and the optimizer only add. */
double step_lower_bound(const step_work *w, const plan *p, sched_kind s);

#endif
