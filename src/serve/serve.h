/* serve: a serving fleet simulated request by request on the engine
 * (core/sim). The fleet is gpus / (tp x dp x pp) identical instances, each
 * running continuous batching over a paged KV cache:
 *  - requests wait in one fleet-wide queue (a work-conserving load
 *    balancer) and an instance takes the oldest when it has room: fewer
 *    than max_batch sequences, KV blocks above a 1% watermark (vLLM's
 *    default), room for the sequences' expected growth (unless admission
 *    is greedy), the iteration's token budget, and, when a time-per-
 *    output-token target is set, a predicted decode step within it;
 *  - every iteration runs one decode step of every running sequence and
 *    chunks of prompts (chunked prefill) up to the token budget, timed
 *    by icost;
 *  - KV blocks are taken as sequences grow; when a growing sequence finds
 *    none free, the newest running sequence is preempted (vLLM's policy)
 *    and either recomputed later (its prompt and the tokens it had made
 *    are prefilled again) or swapped to host memory and back (a stall of
 *    its bytes over the host link);
 *  - with disaggregation, prefill instances only prefill and decode
 *    instances only decode, each pool with its own layout (tp, dp, ep:
 *    DeepSeek prefills on EP32 instances and decodes on EP144 ones); a
 *    decode instance pulls a prefilled sequence when it has room and its
 *    KV cache moves over the network (each instance's link a FIFO, the
 *    move as long as the slower end takes), the prefill instance freeing
 *    its blocks when the move ends;
 *  - a shared prefix (a system prompt) is cached once per instance and
 *    skipped by every prefill; a prefix cache (in host memory or on disk)
 *    holds a given share of every prompt, whose KV cache is loaded
 *    instead of computed: the load runs beside the iteration that starts
 *    the prompt (engines prefetch it layer by layer), which lasts at least
 *    as long as the instance's loads over its GPUs' links (an estimate:
 *    no engine's overlap has been measured); best-of-N prefills a prompt once and
 *    decodes N chains that share its full KV blocks, the request ending
 *    with its last chain;
 *  - multi-token prediction drafts one token per step, accepted at a
 *    given rate: a step yields 1 + rate tokens on average (taken as its
 *    mean, the same for every sequence).
 * Same configuration and seed, same results, byte for byte. */
#ifndef MS_SERVE_H
#define MS_SERVE_H

#include <stdint.h>

#include "core/err.h"
#include "serve/icost.h"
#include "serve/reqs.h"

typedef enum serve_preempt { SERVE_RECOMPUTE, SERVE_SWAP } serve_preempt;

/* A decode batch this share of max_batch or more counts as full (a few
 * slots are always on their way in from prefill). */
#define SERVE_FULL_BATCH 0.95

/* PLANNED: admit a sequence only if every admitted one still fits the KV
 * cache at its expected end (its prompt and the workload's mean output),
 * as SGLang's scheduler estimates growth; GREEDY: only blocks for now, as
 * vLLM does, preempting when growth runs out of blocks. */
typedef enum serve_admission { SERVE_ADMIT_PLANNED, SERVE_ADMIT_GREEDY } serve_admission;

/* One finished request, handed to the caller as it ends. */
typedef struct serve_record {
    int64_t id; /* 0-based, in arrival order */
    double arrival_s, first_token_s, done_s;
    int64_t input_tokens;
    int64_t output_tokens; /* all chains together */
    int64_t chains;
    int64_t instance; /* where it was prefilled */
    int64_t preemptions;
    int rejected; /* 1: it could never fit an instance's KV cache; times are then NAN */
} serve_record;

typedef void (*serve_record_fn)(void *ctx, const serve_record *r);
/* Called as each iteration of an instance ends: the instance's GPUs, when
 * it ran, and how long of it each GPU spent bound by FLOPs, by HBM
 * traffic and communicating (host-link swaps and cache loads count as
 * communication); for power. */
typedef void (*serve_iter_fn)(void *ctx, int64_t instance, int64_t gpus, double start_s,
                              double dur_s, double matrix_s, double memory_s, double comm_s);
/* Called every few thousand events and at the end: simulated time,
 * requests finished, and requests in all (-1 when the stream runs until a
 * duration). */
typedef void (*serve_progress_fn)(void *ctx, double sim_s, int64_t done, int64_t total);

/* The most tokens the MTP module drafts a step (--mtp-accept's list). */
#define SERVE_MAX_DRAFT ICOST_MAX_DRAFT

/* Tokens a decode step yields on average: the verified one and each draft
 * accepted with all before it, 1 + a1 + a1 a2 + ... (accept[0..depth)). */
double serve_tokens_per_step(const double *accept, int depth);

typedef struct serve_config {
    const model *m;
    const chip *c;
    const calib *cal;          /* may be NULL */
    icost_config par;          /* par.mtp_draft is set from mtp_depth */
    const topo *instance_topo; /* one instance's GPUs, for its collectives; NULL for one GPU */
    const coll_params *cp;
    int64_t gpus;              /* the fleet, a multiple of tp x dp */
    int64_t prefill_instances; /* > 0: disaggregated, the rest decode */
    /* Disaggregated: the prefill pool's layout; 0: the decode pool's
     * (par's). Precision, overlap and imbalance are par's. */
    int64_t prefill_tp, prefill_dp, prefill_ep;
    const topo *prefill_topo; /* one prefill instance's GPUs; NULL for one GPU */
    double kv_link_Bps;       /* disaggregation: per GPU, what the KV moves at */
    double kv_link_latency_s;
    int64_t block_tokens; /* tokens per KV block, >= 1 */
    /* Sequences per instance, and tokens per iteration per dp rank
     * (prefill and decode); with pipeline stages (par.pp), per
     * micro-batch, the instance taking pp times as many (TensorRT-LLM's
     * max_batch_size and max_num_tokens: its capacity scheduler admits
     * max_batch_size x the micro-batches, one a stage,
     * cpp/tensorrt_llm/batch_manager/trtGptModelInflightBatching.cpp). */
    int64_t max_batch; /* 0 = as many as the KV cache holds */
    int64_t max_tokens;
    double mem_reserve; /* fraction of HBM kept for activations and workspace, [0, 1) */
    serve_admission admission;
    serve_preempt preempt;
    double swap_Bps;       /* SWAP: host link per GPU, per direction */
    int64_t shared_prefix; /* tokens every prompt starts with, cached once per instance */
    double cache_hit;      /* share of every prompt's tokens a prefix cache holds, [0, 1) */
    double cache_load_Bps; /* per GPU: what a cache hit's KV loads at; > 0 with hits */
    int64_t best_of;       /* chains per request, >= 1 */
    const dist *chain_len; /* output lengths of chains 2..N (borrowed); NULL: the request's */
    int mtp_depth;         /* tokens the MTP module drafts a step, 0 to SERVE_MAX_DRAFT */
    double mtp_accept[SERVE_MAX_DRAFT]; /* [i]: draft i+1 accepted, given all before it were,
                                           in [0, 1] */
    double step_target_s;    /* > 0: admit no sequence that would make a decode step longer */
    const reqs_spec *stream; /* borrowed */
    int64_t concurrency;     /* > 0: closed loop, each finished request sends the next */
    /* > 0: a trial of a search for the highest rate within p99 limits (open
     * loop only). The run stops as soon as it is certain to miss one: a
     * request is rejected, or more requests have taken longer than the
     * limit to their first token (or per output token) than a p99 within it
     * allows of the stream's requests (counted first when the stream runs
     * until a duration). serve_result.stopped then says so. */
    double stop_p99_ttft_s, stop_p99_tpot_s;
    uint64_t seed;
    serve_record_fn on_record;
    void *record_ctx;
    serve_progress_fn progress;
    void *progress_ctx;
    serve_iter_fn on_iteration;
    void *iter_ctx;
} serve_config;

/* Percentiles 50, 90, 99 of a latency (NAN when there is none). */
typedef struct serve_pcts {
    double p50, p90, p99, mean;
} serve_pcts;

/* A pool's layout, throughput and where its GPU time went. */
typedef struct serve_pool {
    int64_t instances, gpus;
    int64_t tp, dp, ep;         /* an instance's layout */
    int64_t kv_capacity_tokens; /* one instance */
    double weights_B_per_gpu;
    double input_tokens, output_tokens; /* computed by the pool */
    double prompt_tokens; /* prompts it prefilled, whole: cache hits and shared prefix too */
    double busy_s;        /* instance-seconds iterating */
    double busy_gpu_s;    /* GPU-seconds iterating */
    /* Of busy_s, instance-seconds of work bound by FLOPs, by HBM, and of
     * tensor- and expert-parallel traffic, KV loads and stalls left
     * exposed: the three add up to busy_s. */
    double matrix_s, memory_s, comm_s;
    /* Decode iterations at a full batch (at least FULL_BATCH of max_batch
     * sequences; none without max_batch): tokens made and instance-seconds,
     * what a profile of a decode step at a given batch measures. */
    double full_batch_tokens, full_batch_s;
    double input_tps, output_tps; /* over the run */
} serve_pool;

typedef struct serve_result {
    int64_t requests, rejected, preemptions, iterations;
    uint64_t events;
    double makespan_s; /* first arrival to last finish */
    double input_tokens, output_tokens;
    double input_tps, output_tps; /* the fleet */
    serve_pcts ttft_s, tpot_s, e2e_s;
    int64_t max_batch_seen;            /* most sequences decoding at once on one instance */
    int64_t kv_capacity_tokens;        /* one instance (of the decode pool) */
    int64_t batch_fit;                 /* sequences one instance holds at the mean final context */
    double kv_peak_frac, kv_mean_frac; /* of the blocks, busiest peak; fleet mean */
    double weights_B_per_gpu, kv_B_per_token_per_gpu, kv_free_B_per_gpu; /* the decode pool's */
    double gpu_s_input, gpu_s_output; /* GPU-seconds attributed to prefill and decode */
    int pools;                        /* 1, or 2 with disaggregation: [0] prefill, [1] decode */
    double cache_hit_tokens;          /* prompt tokens loaded from the prefix cache */
    serve_pool pool[2];
    /* What ran at a datasheet peak for want of a kernel measurement, both
     * pools together (icost_uncalibrated); empty when nothing did. */
    char uncalibrated[ICOST_UNCAL_CAP];
    /* The books of the KV caches over all instances, for tests. */
    int64_t blocks_allocated, blocks_freed, blocks_pinned;
    int over_capacity; /* 1 if any cache ever held more than its capacity */
    /* 1: stopped early, certain to miss a stop_p99 limit, at stopped_s of
     * simulated time; every figure above covers only what ran. */
    int stopped;
    double stopped_s;
} serve_result;

/* Of n values, how many above a limit make the p99 (interpolated between
 * order statistics, as GSL's quantile) certainly above it: the value at
 * floor(0.99 (n - 1)) is then above the limit. */
int64_t serve_p99_over_count(int64_t n);

/* The prefill pool's layout: cfg's prefill_tp, prefill_dp and prefill_ep
 * where set (> 0), else par's, with par's precision and the rest. */
icost_config serve_prefill_par(const serve_config *cfg);

/* Runs the fleet until the stream is exhausted and every request has
 * finished, or until a stop_p99 limit is certain to be missed. Fails with
 * MS_EINVAL naming the option when the model's weights leave no room for
 * KV cache on a GPU (with the numbers), a count or fraction is out of
 * range, the pools' instances do not fill gpus, or disaggregation leaves a
 * pool empty; MS_ENOMEM if memory runs out. */
int serve_run(const serve_config *cfg, serve_result *out, ms_err *err);

#endif
