/* jvalid: the validation jobs. validate: megasim's predictions held
 * against kernel measurements (ours in validation/results/, published
 * ones in validation/published.csv), each row predicted at datasheet peak
 * and with the calibration; --network: the collectives of
 * validation/published_net.csv against hwdb/network.csv. calibrate: the
 * efficiency figures (hwdb/efficiency.csv) or the network figures
 * (hwdb/network.csv) fitted to those measurements and written. The
 * published whole-system suite (validate --system) is src/job/jsystem.
 *
 * validate's JSON keeps the keys it has always had: the measurement files
 * ("results", a string), the summary over every row (rows, median_rel_error,
 * worst_rel_error, ..._at_peak), "held_out" and "per_kind" objects with the
 * same keys, and "rows" (an array of one object per measurement: chip,
 * kind, kernel, shape, precision, unit, measured, predicted_at_peak,
 * predicted, rel_error_at_peak, rel_error, held_out, calibrated_on,
 * source, note). Note that "rows" is given twice, a count then the array,
 * as it always was; a reader that keeps the last key sees the array. The
 * text shows the rows and the table "summary" (per kind, then every row,
 * the rows in the fit and those held out). */
#ifndef MS_JVALID_H
#define MS_JVALID_H

#include <stddef.h>
#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "report/report.h"

/* The options of megasim validate, every mode's. */
typedef struct jvalid_job {
    jopt_list results;      /* measurement files; none: the published and our own */
    const char *plot;       /* an image to draw (the CLI draws it from the out) */
    int json;               /* print JSON */
    jopt_list chips;        /* chip files; none: hwdb/chips.csv + the derived chips */
    const char *efficiency; /* calibration to read; NULL: home/hwdb/efficiency.csv */
    int network;            /* the collectives instead */
    int system;             /* the whole-system suite instead (jsystem_run) */
    const char *cases;      /* --system: the case directory; NULL: home/validation/system */
    const char *max_median; /* --system: "X" or "KIND=X,..."; NULL: no threshold */
    const char *max_worst;
    const char *kinds;   /* --system: "train,serve", the kinds of case to run; NULL: all */
    int markdown;        /* --system: the table as Markdown (the CLI prints it) */
    int64_t uncertainty; /* --system: draws for each case's band; JOPT_NO_INT: none */
    int64_t seed;        /* of the draws */
    int keep_plot_data;
    int64_t jobs; /* --system: cases at a time; JOPT_NO_INT: the processors online */
    jopt_given_set given;
    /* Not options: told as each case of --system finishes, with the cases
     * done, it among them (may be NULL). */
    void (*progress)(void *ctx, size_t done, size_t total, const char *name);
    void *progress_ctx;
} jvalid_job;

extern const jopt_table jvalid_options;

/* MS_EUSAGE when j combines modes that do not go together (--network with
 * --system; the suite's options, --uncertainty among them, without
 * --system; --json with --markdown), naming them. */
int jvalid_check(const jvalid_job *j, ms_err *err);

/* The calibration kinds validate summarizes, refined ones after their
 * base ("gemm", "gemm_train", ...): JVALID_KINDS of them. */
#define JVALID_KINDS 8
const char *jvalid_kind(int k);

/* One kernel row as a plot draws it, in the row's unit (FLOP/s, B/s, s). */
typedef struct jvalid_point {
    int kind;                                      /* index for jvalid_kind; -1 for another kind */
    double measured, predicted, predicted_at_peak; /* NAN where not predicted */
} jvalid_point;

typedef struct jvalid_out {
    jvalid_point *points; /* one per kernel row, in order; owned (jvalid_out_free) */
    size_t n;
} jvalid_out;

/* Runs validate (kernels, or with j->network the collectives; not
 * j->system: see jsystem_run). Fills r with the inputs and the comparison
 * and out (the caller's; free with jvalid_out_free, also after a failure)
 * with the kernel points (none for --network). Fails naming the file, line
 * and column at fault. */
int jvalid_run(const jvalid_job *j, const jenv *env, report *r, jvalid_out *out, ms_err *err);
void jvalid_out_free(jvalid_out *out);

/* The options of megasim calibrate. */
typedef struct jvalid_calibrate_job {
    jopt_list results;      /* as validate's */
    const char *efficiency; /* the file to update, as given; NULL: home/hwdb/efficiency.csv */
    int dry_run;            /* write nothing */
    int network;            /* fit hwdb/network.csv instead */
    jopt_list chips;
    int json;
    jopt_given_set given;
} jvalid_calibrate_job;

extern const jopt_table jvalid_calibrate_options;

/* Fits and, unless j->dry_run, writes the file (through a temporary file
 * renamed over it: whole or not at all). Fills r with the inputs, the
 * fitted figures (the table "groups", one row per family, kind and
 * precision; with --network the link figures), "file" and "written". */
int jvalid_calibrate_run(const jvalid_calibrate_job *j, const jenv *env, report *r, ms_err *err);

/* Median and largest of |x[0..n)| (both NAN for n = 0); x is reordered
 * and made absolute. */
void jvalid_median_worst(double *x, size_t n, double *median, double *worst);

#endif
