/* sched: pipeline-parallel schedules. For r ranks and m micro-batches
 * (and v virtual stages per rank where the schedule has them), the
 * ordered list of tasks each rank runs: GPipe, 1F1B, interleaved 1F1B,
 * ZB-H1 and DualPipe/DualPipeV. The dependency rules between those tasks
 * (what each waits for, what each makes), written once here for both
 * timers: a small simulator that runs the lists with given task
 * durations, to measure each rank's idle time (the pipeline bubble), and
 * the training step's engine run (train/step).
 *
 * A micro-batch passes through S stages in order, forward 0..S-1, then
 * backward S-1..0; stage s of a micro-batch runs on one rank:
 *   gpipe, 1f1b, zb1p    S = ranks;        stage s on rank s
 *   interleaved          S = ranks * vpp;  stage s on rank s % ranks
 *   dualpipe             S = ranks;        micro-batches 0..m/2-1 enter at
 *                        rank 0 (stage s on rank s), m/2..m-1 at the last
 *                        rank (stage s on rank ranks-1-s): rank r holds the
 *                        layers of stages r and ranks-1-r
 *   dualpipev            S = 2 * ranks;    the V: stage s on rank s for
 *                        s < ranks, on rank 2*ranks-1-s after
 * A stage's backward is either whole (BW) or split, as in zero-bubble
 * schedules, into B (gradient of the input: what the stage before waits
 * for) and W (gradient of the weights: nothing waits for it). */
#ifndef MS_SCHED_H
#define MS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* X(enum, name, what it is) */
#define SCHED_KIND_MAP(X)                                                                          \
    X(SCHED_GPIPE, "gpipe", "all forwards, then all backwards (Huang et al. 2019)")                \
    X(SCHED_1F1B, "1f1b",                                                                          \
      "PipeDream-flush: ranks-1-r warm-up forwards, then one forward, one "                        \
      "backward (Narayanan et al. 2021)")                                                          \
    X(SCHED_INTERLEAVED, "interleaved",                                                            \
      "Megatron-LM interleaved 1F1B, vpp model chunks per rank (Narayanan et al., SC'21)")         \
    X(SCHED_ZB1P, "zb1p",                                                                          \
      "zero-bubble ZB-H1: 1F1B with W split off and rank r deferring r of them (Qi et al. 2023)")  \
    X(SCHED_DUALPIPE, "dualpipe",                                                                  \
      "DeepSeek DualPipe: bidirectional, overlapped forward-backward pairs (DeepSeek-V3, 2024)")   \
    X(SCHED_DUALPIPEV, "dualpipev",                                                                \
      "DeepSeek DualPipeV: DualPipe cut in half, 2 stages per rank in a V (deepseek-ai/DualPipe)")

typedef enum sched_kind {
#define SCHED_KIND_ENUM(e, name, help) e,
    SCHED_KIND_MAP(SCHED_KIND_ENUM)
#undef SCHED_KIND_ENUM
        SCHED_KIND_COUNT
} sched_kind;

/* "1f1b" for SCHED_1F1B, and its one-line description; assert k is valid. */
const char *sched_name(sched_kind k);
const char *sched_help(sched_kind k);

/* Parses a schedule name, case-insensitively. Returns 0 and sets *out, or
 * -1 if the name is not a schedule. */
int sched_parse(const char *name, sched_kind *out);

/* "gpipe, 1f1b, interleaved, zb1p, dualpipe, dualpipev": for messages. */
const char *sched_list(void);

/* X(enum, name) */
#define SCHED_OP_MAP(X)                                                                            \
    X(SCHED_F, "F")    /* forward of (mb, stage) */                                                \
    X(SCHED_B, "B")    /* input gradient of (mb, stage); its W comes later */                      \
    X(SCHED_W, "W")    /* weight gradient of (mb, stage), after its B */                           \
    X(SCHED_BW, "BW")  /* whole backward of (mb, stage) */                                         \
    X(SCHED_FB, "F&B") /* forward of (mb, stage) overlapped with BW of (mb2, stage2) */

typedef enum sched_op {
#define SCHED_OP_ENUM(e, name) e,
    SCHED_OP_MAP(SCHED_OP_ENUM)
#undef SCHED_OP_ENUM
        SCHED_OP_COUNT
} sched_op;

/* "F&B" for SCHED_FB; asserts op is valid. */
const char *sched_op_name(sched_op op);

typedef struct sched_task {
    sched_op op;
    int32_t mb, stage;   /* the forward's for F&B */
    int32_t mb2, stage2; /* F&B only: the backward's; another micro-batch */
} sched_task;

typedef struct sched sched;

/* Builds the task lists of schedule k for ranks ranks (>= 1), microbatches
 * micro-batches (>= 1) and vpp model chunks per rank (2 or more for
 * interleaved, 1 for every other kind). Fails with MS_EINVAL and a message
 * naming what does not fit: vpp given to a schedule without virtual
 * stages, microbatches not a multiple of ranks (interleaved), an odd
 * number of ranks or micro-batches or fewer than 2 * ranks micro-batches
 * (dualpipe), fewer than 2 * ranks micro-batches (dualpipev), sizes over
 * the limits (ranks <= 65536, vpp <= 1024, microbatches * stages <= 2^22);
 * MS_ENOMEM. On failure *out is NULL. Caller frees with sched_free.
 *
 * What each rank runs (r its index, p ranks, m micro-batches):
 *   gpipe        F of every micro-batch, then BW of every micro-batch.
 *   1f1b         min(p-1-r, m) forwards, then F and BW alternating, then
 *                the BW left (Megatron-LM's schedule without interleaving).
 *   interleaved  Megatron-LM's order: forwards go through the rank's
 *                chunks p micro-batches at a time; (p-1-r)*2 + (vpp-1)*p
 *                warm-up forwards, or all of them when m == p; then F and
 *                BW alternating; then the BW left.
 *   zb1p         1f1b with each backward split into B then W, rank r
 *                holding back its last r W: in the steady state F, B, and
 *                the W of the micro-batch r backwards earlier; the held
 *                W at the end. At most p micro-batches in flight per rank
 *                (1F1B's peak, on rank 0).
 *   dualpipe,    the eight phases of dualpipe.py / dualpipev.py (deepseek-
 *   dualpipev    ai/DualPipe), task for task: a _forward_backward_chunk is
 *                one F&B, a _backward_chunk with zero-bubble on is a B
 *                whose W is the next _weight_chunk (FIFO), without it a BW;
 *                on the middle ranks the first pair of phase 4 is an F and
 *                a BW, not overlapped, as in the code. */
int sched_build(sched_kind k, int ranks, int microbatches, int vpp, sched **out, ms_err *err);

/* Makes a schedule from task lists given by the caller: lists[r] holds
 * counts[r] tasks of rank r (copied). Checks that every (mb, stage) has
 * exactly one F, then exactly one backward (a BW, a B and one W, or the
 * backward half of an F&B) on the rank of its F, and that an F&B pairs two
 * micro-batches; it does not check the order (sched_simulate finds orders
 * that deadlock). MS_EINVAL naming the rank and task that is wrong;
 * MS_ENOMEM. Caller frees with sched_free. */
int sched_from_lists(int ranks, int stages, int microbatches, const sched_task *const *lists,
                     const size_t *counts, sched **out, ms_err *err);

void sched_free(sched *s); /* NULL is a no-op */

int sched_ranks(const sched *s);
int sched_stages(const sched *s); /* stages a micro-batch passes */
int sched_microbatches(const sched *s);

/* The rank that runs stage of micro-batch mb (both in range: asserted). */
int sched_rank_of(const sched *s, int mb, int stage);

/* The length of rank's list and its i-th task: borrowed, valid until
 * sched_free. rank and i are asserted to be in range. */
size_t sched_ntasks(const sched *s, int rank);
const sched_task *sched_task_at(const sched *s, int rank, size_t i);

/* The pipeline's dependency rules, the one place they are written: what
 * a task waits for and what its end makes. sched_simulate and the step's
 * engine-driven runner (train/step) both time tasks from these lists,
 * each with its own clock.
 *
 * A chunk is stage `stage` of micro-batch `mb`, numbered
 * mb * sched_stages(s) + stage within one pipeline (a caller simulating
 * several replicas adds its replica's offset). Each chunk completes twice:
 * its forward (F, or the forward half of an F&B) and its input gradient
 * (B, BW, or the backward half of an F&B); a W completes nothing anyone
 * waits for except the order of its own rank. */
typedef struct sched_dep {
    int32_t chunk;  /* mb * stages + stage */
    uint8_t grad;   /* 0: the chunk's forward; 1: its input gradient */
    uint8_t remote; /* the other end is on another rank: p2p_s applies */
} sched_dep;

/* Bounds on the lists: an F&B waits for its forward's input and for its
 * backward's own forward and the gradient from the stage after; it makes
 * a forward and an input gradient. */
#define SCHED_MAX_INPUTS  3
#define SCHED_MAX_OUTPUTS 2

/* Fills in[] with the completions task k of rank's list waits for and
 * returns how many (0 to SCHED_MAX_INPUTS); remote says the input is made
 * on another rank, so it arrives p2p_s after it is made. The rules:
 *   F  of (mb, s)   the forward of (mb, s-1); nothing for s = 0
 *   B, BW of (mb, s) its own forward, and the input gradient of
 *                   (mb, s+1) unless s is the last stage
 *   W  of (mb, s)   the input gradient of (mb, s) (its own B)
 *   F&B             the union: the F rule for (mb, stage), then the
 *                   B rule for (mb2, stage2)
 * The task may start once every input has arrived (at 0 with none). k must
 * be one of rank's tasks (sched_task_at); a few table reads, no allocation. */
int sched_task_inputs(const sched *s, int rank, const sched_task *k,
                      sched_dep in[SCHED_MAX_INPUTS]);

/* Fills out[] with the completions task k of rank's list makes when it
 * ends and returns how many (0 to SCHED_MAX_OUTPUTS): F the forward of
 * (mb, stage); B and BW the input gradient of (mb, stage); W none; F&B the
 * forward of (mb, stage), then the input gradient of (mb2, stage2). Here
 * remote says a task on another rank waits for it, so it is sent there
 * (the forward of (mb, s) to the F of (mb, s+1), the gradient of (mb, s)
 * to the backward of (mb, s-1)). No allocation. */
int sched_task_outputs(const sched *s, int rank, const sched_task *k,
                       sched_dep out[SCHED_MAX_OUTPUTS]);

/* Durations of one stage's chunk of one micro-batch, in seconds; for
 * interleaved a stage is one model chunk (a rank's layers / vpp), for
 * dualpipev half a rank's layers. b_s is the input gradient only: a BW
 * costs b_s + w_s. fb_s is an overlapped F&B pair (a forward and a whole
 * backward), used by dualpipe and dualpipev only; physically between
 * max(f_s, b_s + w_s) and f_s + b_s + w_s, but not checked against them.
 * p2p_s is added when a stage's output goes to another rank. */
typedef struct sched_times {
    double f_s, b_s, w_s, fb_s;
    double p2p_s;
} sched_times;

typedef struct sched_result {
    double makespan_s;   /* first task start (0) to last task end, over all ranks */
    double bubble_s;     /* max over ranks of idle time: makespan_s - that rank's busy time */
    int32_t bubble_rank; /* the first rank with that idle time */
} sched_result;

/* Runs the lists: each rank runs its tasks in order, each as soon as the
 * rank is free and its inputs are ready, by the rules of
 * sched_task_inputs and sched_task_outputs: F of (mb, s) after F of
 * (mb, s-1); B or BW of (mb, s) after its F and after B or BW of
 * (mb, s+1); W after its B; an F&B after the inputs of both its halves,
 * both halves done at its end. An input from another rank arrives p2p_s
 * after it is made. Compute on a rank never overlaps: that is what the
 * busy time counts (F&B once, at fb_s). idle_s, if not NULL, receives
 * sched_ranks(s) idle times. Fails with MS_EINVAL when a time is negative
 * or not finite, f_s or b_s is 0, fb_s is 0 for a schedule with F&B pairs,
 * or the order deadlocks (the message names the task each rank waits at);
 * MS_ENOMEM. A simple sweep over the ranks until no task can start: it
 * costs O(tasks + sweeps * ranks); a ready queue would make it O(tasks). */
int sched_simulate(const sched *s, const sched_times *t, double *idle_s, sched_result *out,
                   ms_err *err);

#endif
