/* goodput: a training run that things break in, on the engine. Components
 * fail at random (a Poisson process per kind, at its rate times its count
 * in the cluster); each interruption stops the job, loses the work done
 * since the last durable checkpoint, and costs a detection, a wait for a
 * replacement (a hot spare, or a repair), a restart and a restore before
 * the job runs again. Checkpoints are taken every so much work, blocking
 * the job while they are written (synchronous) or only while they are
 * snapshotted, the write going on behind the job (asynchronous: it is
 * durable only once written). Stragglers (a slow GPU holding every step)
 * arrive at their own rate and slow the job until they are found.
 *
 * A run ends when its work is done, or at a wall-clock window (a snapshot
 * of a longer run, as Meta's 54 days of Llama 3). Its effective training
 * time ratio (ETTR) is the work kept over the wall time. Runs are seeded:
 * run k of a seed draws the same failures whatever else is asked, so two
 * checkpoint intervals are compared on the same failures (common random
 * numbers).
 *
 * Young's and Daly's formulas give the checkpoint interval beside the
 * simulated best. */
#ifndef MS_GOODPUT_H
#define MS_GOODPUT_H

#include <stdint.h>

#include "core/err.h"

#define GOODPUT_MAX_KINDS 24

/* One kind of interruption: how often it comes to the whole job. */
typedef struct goodput_kind {
    const char *name;  /* borrowed */
    double rate_per_s; /* of the whole job: per-unit rate x units; >= 0 */
    int needs_spare;   /* a part to replace (a hot spare or a repair); 0: a restart fixes it */
    int hangs;         /* found by hang_detect_s's timeout; 0: by an error, detect_s */
} goodput_kind;

typedef struct goodput_cfg {
    double work_s;   /* the run's useful time: its steps alone, > 0 */
    double window_s; /* > 0: stop at this wall time, done or not; 0: when the work is done */
    goodput_kind kinds[GOODPUT_MAX_KINDS];
    int nkinds;
    double ckpt_every_s;    /* work between checkpoints, > 0 */
    double ckpt_write_s;    /* a checkpoint's write to storage, >= 0 */
    int ckpt_async;         /* the job runs on while it is written */
    double ckpt_snapshot_s; /* async: the job's pause to copy its state aside, >= 0 */
    double restore_s;       /* reading the last checkpoint back, >= 0 */
    double detect_s;        /* from a failure that raises an error to the job's stop, >= 0 */
    double hang_detect_s;   /* from one that hangs the job to its stop (a timeout), >= 0 */
    double restart_s;       /* relaunch and initialisation of the whole job, >= 0 */
    double repair_s;        /* a failed part replaced by hand, >= 0 */
    double swap_s;          /* a hot spare swapped in, >= 0 */
    int64_t spares;         /* hot spares; one is used per part to replace, back after repair_s */
    double straggler_rate_per_s; /* of the whole job, >= 0 */
    double straggler_slowdown;   /* the job runs 1 + this times slower while one is present */
    double straggler_s;          /* until it is found and removed */
    uint64_t seed;
} goodput_cfg;

/* One run. */
typedef struct goodput_run {
    double wall_s;      /* until done or the window's end */
    double work_kept_s; /* work done and kept (the window may end before all of it) */
    double lost_s;      /* work done and lost to interruptions */
    double down_s;      /* stopped: detection, waits for parts, restarts, restores */
    double ckpt_s;      /* paused for checkpoints */
    double slow_s;      /* wall time lost to stragglers */
    int64_t interruptions;
    int64_t by_kind[GOODPUT_MAX_KINDS];
    int64_t checkpoints;
    double ettr; /* work_kept_s / wall_s */
    int done;    /* the work was all done */
} goodput_run;

/* Checks cfg: MS_EINVAL naming the field and what was expected (a
 * negative or non-finite rate or time, a checkpoint interval no longer
 * than the checkpoint's own pause, no kind at all). */
int goodput_check(const goodput_cfg *cfg, ms_err *err);

/* Runs run number k of cfg (the draws of stream k of cfg->seed). Fails
 * with MS_EINVAL when cfg does not pass goodput_check, or when the run
 * cannot end (interruptions come so fast that no checkpoint is ever
 * reached: it stops after 1,000 times its work), saying so; MS_ENOMEM. */
int goodput_run_one(const goodput_cfg *cfg, uint64_t k, goodput_run *out, ms_err *err);

/* The job's mean time between interruptions, 1 / the sum of the rates
 * (INFINITY with none). */
double goodput_mtbi_s(const goodput_cfg *cfg);

/* Young (1974): the checkpoint interval sqrt(2 delta M) for a checkpoint
 * of delta seconds and a mean time between interruptions of M. */
double goodput_young_s(double ckpt_s, double mtbi_s);

/* Daly (2006), his higher-order estimate: sqrt(2 delta M) [1 + (1/3)
 * sqrt(delta / 2M) + (1/9) (delta / 2M)] - delta for delta < 2M, else M. */
double goodput_daly_s(double ckpt_s, double mtbi_s);

#endif
