/* jroof: the roofline job and the default scenario. Operations (GEMMs,
 * any FLOPs-and-bytes op, or one layer of a model at several batch sizes)
 * timed on chips by the roofline, calibrated by hwdb/efficiency.csv or at
 * datasheet peaks: the time, the bound, the attained rate, the intensity
 * and the ridge of each, per chip and operation. The default scenario is
 * the same study for a fixed set of chips and operations. The command
 * layer draws the plot from what jroof_run hands back. */
#ifndef MS_JROOF_H
#define MS_JROOF_H

#include <stddef.h>
#include <stdint.h>

#include "core/prec.h"
#include "job/jenv.h"
#include "job/jopt.h"
#include "model/modelfile.h"
#include "report/report.h"

#define JROOF_MAX_CHIPS   32
#define JROOF_MAX_OPS     (2 * JOPT_MAX_LIST)
#define JROOF_MAX_BATCHES 16

typedef struct jroof_job {
    jopt_list chip; /* comma-separated lists of chip names, in order */
    jopt_list gemm; /* "M,N,K,PREC" each */
    jopt_list op;   /* "FLOPS,BYTES,PREC[,KIND]" each */
    const char *model;
    int phase;             /* with model: "prefill|decode" index, as mops_phase counts them */
    const char *batch;     /* with model: batch sizes, comma-separated */
    int64_t context;       /* with model: prompt length (prefill) or cached tokens (decode) */
    const char *precision; /* with model: as ms_prec_parse reads it */
    int layer;             /* with model: "moe|dense" index; -1: MoE when the model has one */
    const char *plot;      /* drawn by the command layer */
    int keep_plot_data;
    int json;
    jopt_list chips;        /* chip files; none: hwdb/chips.csv and the derived chips */
    const char *efficiency; /* calibration file; NULL: hwdb/efficiency.csv */
    int peak;               /* no calibration: datasheet peaks */
    jopt_given_set given;
} jroof_job;

extern const jopt_table jroof_options;

/* megasim default: the roofline of H100, H800, H20, H200 and B200 on a
 * big training GEMM in bf16 and fp8, a decode-sized GEMM and a 1 GB copy. */
typedef struct jroof_default_job {
    const char *plot; /* drawn by the command layer unless no_plot */
    int no_plot;
    int keep_plot_data;
    int json;
    jopt_list chips;
    const char *efficiency;
    int peak;
    jopt_given_set given;
} jroof_default_job;

extern const jopt_table jroof_default_options;

/* What a plot of the study needs: the chips' datasheet roofs, the
 * operations and where each landed on each chip. */
typedef struct jroof_chip {
    char name[64];
    double peak_flop_per_s[MS_PREC_COUNT]; /* datasheet, dense; NAN where none */
    double hbm_bw_Bps;
} jroof_chip;

typedef struct jroof_opinfo {
    char label[96];      /* as the results name it: "gemm 8192x8192x8192", "b8 q_proj" */
    char plot_label[32]; /* shorter, for the plot's key; "" for the label itself */
    int no_plot;         /* left out of the plot (a model's element-wise ops) */
    ms_prec prec;
    double flops, bytes;
} jroof_opinfo;

typedef struct jroof_point {
    double intensity_flop_per_byte;
    double attained_flop_per_s;
} jroof_point;

typedef struct jroof_out {
    jroof_chip chips[JROOF_MAX_CHIPS];
    size_t nchips;
    jroof_opinfo ops[JROOF_MAX_OPS];
    size_t nops;
    jroof_point at[JROOF_MAX_CHIPS][JROOF_MAX_OPS]; /* [chip][op] */
    char title[256]; /* with a model: the layer studied ("deepseek-v3, one MoE layer, ..."); "" */
    size_t nbatches; /* with a model: the batch sizes studied; 0 otherwise */
    /* The model file's warnings (fields the importer did not understand),
     * one per line; "" when none. Filled even when the run fails after
     * loading the model. */
    char warn[MODELFILE_WARN_MAX];
} jroof_out;

/* Runs j: loads the chips and the calibration, times every operation on
 * every chip and fills r with the inputs, the table "results" (a row per
 * chip and operation, chip by chip, with the keys roofline --json has
 * always given, and with several chips "time_vs_first_chip": the time
 * over the first chip's on the same operation), with a model the table
 * "layer_times" (one layer's time per chip and batch, the ops' times
 * added), and notes for the text only (where a chip's efficiencies differ
 * from the first's, where figures are borrowed from another chip, where
 * the datasheet peak stands in for a calibration). out (may be NULL;
 * large: allocate it) receives what a plot needs. Fails with MS_EUSAGE
 * for a missing or bad option value (naming it), or with the error of the
 * chip, calibration or model file, or of the roofline (a precision a chip
 * has no peak for); r is then not to be rendered. */
int jroof_run(const jroof_job *j, const jenv *env, report *r, jroof_out *out, ms_err *err);

/* Runs the default scenario as jroof_run runs its study, with a line
 * naming the scenario at the top of the text. */
int jroof_default_run(const jroof_default_job *j, const jenv *env, report *r, jroof_out *out,
                      ms_err *err);

/* Draws s's roofline to out (.png or .svg) with plots/roofline.gp, log-log:
 * each chip's roof per precision and the operations placed under it.
 * *drawn is 0 when gnuplot is missing (the data and script are left, and
 * said on stderr). */
int jroof_plot(const jroof_out *s, const jenv *env, const char *out, int *drawn, ms_err *err);

#endif
