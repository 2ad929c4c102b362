/* jtrain: the training job. One step of a parallel plan on the engine,
 * and what it implies: throughput, MFU, memory, GPU-hours, days and cost
 * of a token budget, checkpoints, and the cluster's power over a few
 * steps. */
#ifndef MS_JTRAIN_H
#define MS_JTRAIN_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jgoodput.h"
#include "job/jmitig.h"
#include "job/jopt.h"
#include "job/jpower.h"
#include "job/jtopo.h"
#include "model/modelfile.h"
#include "power/pseries.h"
#include "power/pspec.h"
#include "report/report.h"
#include "train/step.h"

typedef struct jtrain_job {
    const char *model, *chip;
    int64_t gpus, tp, pp, vpp, dp, ep, cp, zero, seq, global_batch, micro_batch;
    const char *precision, *schedule, *recompute, *stack;
    int64_t comm_sms;
    double moe_imbalance;
    int every_replica;
    double tokens, price_per_gpu_hour; /* NAN: none */
    int64_t power_steps, checkpoint_every;
    double checkpoint_GBps, power_resolution_s;
    double attention_span;            /* tokens, length-weighted; NAN: the sequence */
    double band_low_hz, band_high_hz; /* the grid's band of the spectrum */
    double ramp_limit_MW_per_s;       /* NAN: none */
    double band_limit;                /* most AC energy allowed in the band; NAN: none */
    const char *spectrum_plot;        /* the spectrum drawn (.png or .svg), or NULL */
    jpower_opts power;
    jgoodput_opts goodput;
    jmitig_opts mitig;
    const char *trace, *trace_ranks;
    jtopo_opts topo;
    int ideal, peak;
    const char *efficiency;
    int64_t uncertainty; /* draws of the calibration for a band; JOPT_NO_INT: none */
    int64_t seed;        /* of the draws */
    jopt_list chips;
    int json;
    int keep_plot_data;
    int best_plan; /* each chip on its fastest plan (jcompare, jsearch) */
    jopt_given_set given;
    /* A search's progress (not an option): candidates done and in all. */
    void (*progress)(void *ctx, double done, double total, const char *units);
    void *progress_ctx;
} jtrain_job;

extern const jopt_table jtrain_options;

/* What a run gives beyond its report: the step (its spans, for a trace),
 * the power series to write and draw, and notes for the user. */
typedef struct jtrain_out {
    step_result step;
    plan plan;
    pseries *power_it, *power_smooth; /* NULL when power is not reported */
    double floor_frac;
    pspec_stats grid; /* the facility's power as the grid sees it */
    double *grid_psd; /* its energy shares at k x grid.df_hz (owned), or NULL */
    size_t grid_npsd;
    int have_grid;                  /* 0: no power, or the series too coarse for the band */
    char grid_note[MS_ERR_MSG_MAX]; /* why there is no spectrum, or "" */
    jmitig_out mitig;               /* sized for --ramp-limit when the grid is judged */
    jgoodput_scale goodput_scale;   /* --goodput-scale-plot's figures */
    char power_title[200];
    char warnings[MODELFILE_WARN_MAX]; /* the model file's, one per line */
    char power_note[MS_ERR_MSG_MAX];   /* why power is not reported; "" when it is */
} jtrain_out;

/* Runs j, filling r and out (free with jtrain_out_free, also after a
 * failure). A plan that does not fit fails, its report still saying by how
 * much ("fits": false, the memory, "short_bytes", "error"). Errors name the
 * option or file at fault. With --uncertainty N the step is also run N
 * times with drawn calibrations (src/job/junc) and the report adds the
 * 10th, 50th and 90th percentiles of its headline figures
 * ("step_time_s_p10", ...); its own figures stay the undrawn ones. */
int jtrain_run(const jtrain_job *j, const jenv *env, report *r, jtrain_out *out, ms_err *err);
void jtrain_out_free(jtrain_out *out);

/* Draws o's spectrum (grid_psd) to plot (.png or .svg), the band of j
 * shaded; fails when the run has none (o->grid_note says why). */
int jtrain_write_spectrum(const jenv *env, const jtrain_job *j, const jtrain_out *o,
                          const char *plot, ms_err *err);

/* Draws the plots j asks for beyond the power series: --spectrum-plot,
 * --mitigation-plot and --goodput-scale-plot; with png_twins, each SVG
 * also as a PNG beside it (a report page links both). */
int jtrain_write_plots(const jenv *env, const jtrain_job *j, const jtrain_out *o, int png_twins,
                       ms_err *err);

/* Writes the step of o as a Chrome trace (open in Perfetto) to path: a
 * process per traced pipeline rank, its compute and communication lanes. */
int jtrain_write_trace(const char *path, const jtrain_out *o, ms_err *err);

#endif
