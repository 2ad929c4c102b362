/* jgoodput: a training run with failures (src/train/goodput) as options of
 * train (JGOODPUT_ROWS) and a report: the rates of hwdb/failures.csv
 * scaled by what the cluster holds (GPUs, NIC links, fabric switches,
 * 8-GPU servers, the job), run --runs times over the run's token budget or
 * a wall-clock window; the effective training time ratio (ETTR),
 * interruptions, days and cost with failures, their percentiles over the
 * runs; the checkpoint interval that keeps the most work (simulated, on
 * the same failures for every interval) beside Young's and Daly's. */
#ifndef MS_JGOODPUT_H
#define MS_JGOODPUT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/chip.h"
#include "job/jenv.h"
#include "job/jopt.h"
#include "report/report.h"

typedef struct jgoodput_opts {
    int64_t runs;              /* JOPT_NO_INT: no failures */
    double window_days;        /* NAN: until the token budget is done */
    const char *failure_rates; /* NULL: hwdb/failures.csv */
    int async_checkpoint;
    double snapshot_s;        /* async: the pause to copy state aside; NAN: over the host link */
    double detect_s;          /* from a failure that raises an error to the job's stop */
    double hang_detect_s;     /* from one that hangs the job to its stop */
    double restart_s;         /* NAN: 300 s + 3.1 ms a GPU (see jgoodput.c) */
    int64_t hot_spares;       /* JOPT_NO_INT: a spare is always there */
    double repair_hours;      /* NAN: none given (needed with --hot-spares) */
    double straggler_per_day; /* of the whole job; NAN: none */
    double straggler_slowdown, straggler_minutes;
    const char *scale_plot; /* .png or .svg of the ETTR against the cluster's size, or NULL */
    const char
        *published; /* a published breakdown of the interruptions (src/train/fpub), or NULL */
} jgoodput_opts;

/* The rows of a job whose jgoodput_opts sits at byte offset base. */
#define JGOODPUT_ROWS(base)                                                                        \
    {"runs",                                                                                       \
     JOPT_INT,                                                                                     \
     "N",                                                                                          \
     NULL,                                                                                         \
     NULL,                                                                                         \
     1,                                                                                            \
     100000,                                                                                       \
     NULL,                                                                                         \
     (base) + offsetof(jgoodput_opts, runs),                                                       \
     "simulate the whole run N times with failures (hwdb/failures.csv): goodput"},                 \
        {"window-days",                                                                            \
         JOPT_POS,                                                                                 \
         "D",                                                                                      \
         "days",                                                                                   \
         NULL,                                                                                     \
         1e-3,                                                                                     \
         1e5,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, window_days),                                            \
         "with --runs: a wall-clock window instead of the token budget"},                          \
        {"failure-rates",                                                                          \
         JOPT_STR,                                                                                 \
         "FILE",                                                                                   \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NAN,                                                                                      \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, failure_rates),                                          \
         "with --runs: failure rates to use (default: hwdb/failures.csv)"},                        \
        {"async-checkpoint",                                                                       \
         JOPT_FLAG,                                                                                \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NAN,                                                                                      \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, async_checkpoint),                                       \
         "with --runs: checkpoints written behind the job, which pauses only to snapshot"},        \
        {"snapshot-s",                                                                             \
         JOPT_NUM,                                                                                 \
         "S",                                                                                      \
         "s",                                                                                      \
         NULL,                                                                                     \
         0,                                                                                        \
         1e6,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, snapshot_s),                                             \
         "with --async-checkpoint: the pause (default: the state over the host link)"},            \
        {"detect-s",                                                                               \
         JOPT_NUM,                                                                                 \
         "S",                                                                                      \
         "s",                                                                                      \
         "30",                                                                                     \
         0,                                                                                        \
         1e6,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, detect_s),                                               \
         "with --runs: from a failure that raises an error to the job's stop (NCCL's transport: "  \
         "7 retries of 4.096 us x 2^20)"},                                                         \
        {"hang-detect-s",                                                                          \
         JOPT_NUM,                                                                                 \
         "S",                                                                                      \
         "s",                                                                                      \
         "600",                                                                                    \
         0,                                                                                        \
         1e6,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, hang_detect_s),                                          \
         "with --runs: from a failure that hangs the job to its stop (PyTorch's NCCL timeout)"},   \
        {"restart-s",                                                                              \
         JOPT_NUM,                                                                                 \
         "S",                                                                                      \
         "s",                                                                                      \
         NULL,                                                                                     \
         0,                                                                                        \
         1e7,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, restart_s),                                              \
         "with --runs: relaunch and initialisation (default: 300 s + 3.1 ms a GPU)"},              \
        {"hot-spares",                                                                             \
         JOPT_INT,                                                                                 \
         "N",                                                                                      \
         NULL,                                                                                     \
         NULL,                                                                                     \
         0,                                                                                        \
         1e9,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, hot_spares),                                             \
         "with --runs: spare parts at hand (default: always one)"},                                \
        {"repair-hours",                                                                           \
         JOPT_POS,                                                                                 \
         "H",                                                                                      \
         "hours",                                                                                  \
         NULL,                                                                                     \
         1e-3,                                                                                     \
         1e5,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, repair_hours),                                           \
         "with --hot-spares: a part replaced by hand"},                                            \
        {"stragglers-per-day",                                                                     \
         JOPT_POS,                                                                                 \
         "X",                                                                                      \
         NULL,                                                                                     \
         NULL,                                                                                     \
         1e-6,                                                                                     \
         1e5,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, straggler_per_day),                                      \
         "with --runs: slow GPUs holding every step, arriving X a day"},                           \
        {"straggler-slowdown",                                                                     \
         JOPT_NUM,                                                                                 \
         "F",                                                                                      \
         NULL,                                                                                     \
         "0.1",                                                                                    \
         0,                                                                                        \
         100,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, straggler_slowdown),                                     \
         "with --stragglers-per-day: the job runs 1 + F times slower"},                            \
        {"straggler-minutes",                                                                      \
         JOPT_POS,                                                                                 \
         "M",                                                                                      \
         "minutes",                                                                                \
         "60",                                                                                     \
         1e-3,                                                                                     \
         1e6,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, straggler_minutes),                                      \
         "with --stragglers-per-day: until one is found and removed"},                             \
        {"goodput-scale-plot",                                                                     \
         JOPT_STR,                                                                                 \
         "FILE",                                                                                   \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NAN,                                                                                      \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jgoodput_opts, scale_plot),                                             \
         "with --runs: the ETTR from 1,024 to 1,048,576 GPUs, each GPU's share of the job as "     \
         "here (.png or .svg; also the table goodput_by_scale)"},                                  \
    {                                                                                              \
        "published-interruptions", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL,                   \
            (base) + offsetof(jgoodput_opts, published),                                           \
            "with --runs: a published breakdown of the run's interruptions (CSV: category, "       \
            "interruptions, components, source) set beside megasim's, group by group (table "      \
            "interruptions_published)"                                                             \
    }

/* What the run gives the goodput: one step and its checkpoint. */
typedef struct jgoodput_run_in {
    double gpus, step_s, tokens_per_s;
    double tokens;             /* NAN: none (a window is then needed) */
    double price_per_gpu_hour; /* NAN: none */
    double ckpt_bytes_per_gpu;
    double ckpt_write_Bps;    /* a GPU's write to storage, and read back; NAN: none given */
    int64_t ckpt_every_steps; /* JOPT_NO_INT: the best simulated */
    const chip *c;
} jgoodput_run_in;

/* The ETTR against the cluster's size (--goodput-scale-plot): GPU counts
 * from 1,024 to 1,048,576 (and the run's own), each GPU's share of the job
 * as in the run (the same step, checkpoint and window), the failures and
 * the restart growing with the count, at Daly's interval. */
#define JGOODPUT_MAX_SCALES 24
typedef struct jgoodput_scale {
    size_t n;
    double gpus[JGOODPUT_MAX_SCALES];
    double mtbi_s[JGOODPUT_MAX_SCALES];
    double interval_s[JGOODPUT_MAX_SCALES];
    double ettr[JGOODPUT_MAX_SCALES], ettr_p10[JGOODPUT_MAX_SCALES],
        ettr_p90[JGOODPUT_MAX_SCALES]; /* NAN where a run cannot end */
    double run_gpus;                   /* the run's own count */
    char title[300];
} jgoodput_scale;

/* Draws s to plot (.png or .svg). */
int jgoodput_write_scale_plot(const jenv *env, const char *plot, const jgoodput_scale *s,
                              ms_err *err);

/* MS_EUSAGE, naming the options, for goodput options without --runs and
 * --repair-hours without --hot-spares and the like. */
int jgoodput_check(const jgoodput_opts *o, ms_err *err);

/* Runs the goodput of o over in, adding the group "goodput" and the table
 * "interruptions" to r; with o->scale_plot also the table
 * "goodput_by_scale", its figures into *scale (not NULL then). Fails naming the option or file at
 * fault: no
 * --tokens nor --window-days, no --checkpoint-GBps, a checkpoint interval
 * no longer than a checkpoint, bad rows in the failure rates, a run that
 * cannot end. */
int jgoodput_run(const jgoodput_opts *o, const jenv *env, const jgoodput_run_in *in, report *r,
                 jgoodput_scale *scale, ms_err *err);

#endif
