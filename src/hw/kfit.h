/* kfit: fitting the calibration (compute and memory efficiency and a fixed
 * overhead per operation, per chip family, operation kind and precision,
 * and one exponent for how compute and memory time combine, see
 * roofline.h) to kernel measurements, by least squares on log(predicted
 * / measured) with GSL. One row in five of each group is held out of the
 * fit, so the error on those shows whether the curves predict or merely
 * memorize. */
#ifndef MS_KFIT_H
#define MS_KFIT_H

#include <stddef.h>

#include "core/err.h"
#include "hw/kmeas.h"
#include "hw/roofline.h"

typedef struct kfit_group {
    char family[32];
    char kind[24];
    int prec_key; /* an ms_prec, or -1 for every precision */
    size_t ntrain, nheld;
    roof_eff eff;    /* the fitted figures (sources NULL) */
    int has_compute; /* figures the rows pin down; the others stay blank */
    int has_memory;
    int has_overhead;
    char measured_on[128]; /* chips of the rows, ';'-separated */
    /* The spread of the group's residuals: the standard deviation of
     * log(predicted / measured) over its rows, fitted and held out, with
     * one degree of freedom taken per figure the rows pin down:
     * sqrt(sum of squares / (rows - figures)). NAN when the rows are no
     * more than the figures (a single measurement says nothing of its
     * own spread). */
    double log_sd;
    /* How well the rows pin the figures down: GSL's covariance of the fit,
     * (J^T J)^-1, with J the derivatives of each fitted row's
     * log(predicted / measured) by log compute_eff, log memory_eff and
     * log overhead (calib_cov_at's order: cc, cm, co, mm, mo, oo). Times the
     * residual variance (log_sd squared) it is the covariance of the
     * figures' logs. A figure the rows do not pin down, or an overhead of
     * zero, has zero rows and columns. All NAN when none is pinned down. */
    double log_cov[6];
    double ss; /* sum of squared log(predicted / measured) over the rows fitted */
} kfit_group;

/* The overlap exponents tried (roof_combine's p; 0 the max), and how
 * each fitted. */
#define KFIT_OVERLAP_N 10
extern const double kfit_overlap_grid[KFIT_OVERLAP_N];
/* Fitted rows from which a group picks its own exponent. */
#define KFIT_OWN_P_ROWS 100
typedef struct kfit_overlap {
    double p;                  /* the one shared by the groups of fewer rows: p_refined to the
                                  nearest KFIT_P_STEP */
    double p_grid;             /* the grid's best */
    double p_refined;          /* the least between the grid's best's neighbours */
    double ss_p, ss_refined;   /* their sum of squares at p and at p_refined */
    double ss[KFIT_OVERLAP_N]; /* their sum of squares, at each of the grid */
    size_t own;                /* groups that picked their own */
} kfit_overlap;

/* How closely the shared exponent is refined, and the step it is then
 * rounded to (roof_combine evaluates every eighth from 1 to 2 without pow). */
#define KFIT_P_TOL      1e-3
#define KFIT_P_PER_UNIT 8 /* steps of the rounding in a unit of p */
#define KFIT_P_STEP     (1.0 / KFIT_P_PER_UNIT)

/* The p between p_lo and p_hi (both >= 1) where ss_at(p, arg) is least,
 * by GSL's Brent minimizer to within KFIT_P_TOL, from the three values
 * given, and in *ss_least its value there; p_mid (and ss_mid) when they
 * do not bracket a minimum (ss_mid not below both ends) or the minimizer
 * fails before its first step. */
double kfit_refine_p(double p_lo, double ss_lo, double p_mid, double ss_mid, double p_hi,
                     double ss_hi, double (*ss_at)(double p, void *arg), void *arg,
                     double *ss_least);

/* Fits every (family, kind, precision) group of set. Groups of fewer than
 * KFIT_OWN_P_ROWS fitted rows share one overlap exponent: the one of
 * kfit_overlap_grid whose fits leave the least sum of squared log
 * residuals over their rows (the max on a tie), refined between that
 * one's neighbours on the grid by kfit_refine_p when both are finite
 * exponents and rounded to the nearest KFIT_P_STEP; a group of more
 * picks the grid's one that fits its own rows best. Each group's eff says its
 * exponent. *groups is an array of *n the caller frees; *ov (may be
 * NULL) says the shared exponent and how each fared. Fails with
 * MS_EINVAL if GSL's solver fails. */
int kfit_run(const kmeas_set *set, kfit_group **groups, size_t *n, kfit_overlap *ov, ms_err *err);

/* 1 if row i of set is held out of the fit: the 5th, 10th, ... row of
 * its group in file order. */
int kfit_held_out(const kmeas_set *set, size_t i);

/* sqrt(ss / (n - p)) for n residuals whose squares sum to ss after a
 * fit of p figures; NAN when n <= p. */
double kfit_spread(double ss, size_t n, size_t p);

/* Writes efficiency CSV out_path: the rows of in_path whose (family, kind,
 * precision) no group replaces, then one row per group (log_sd as
 * kfit_group says, blank when NAN; log_cov its six figures joined by ';',
 * blank when NAN; overlap_p the group's, blank for the
 * max). Columns are written by name, so an
 * in_path without log_sd keeps its rows with log_sd blank. what names
 * the fitted files for the source column. out_path is written whole or
 * not at all, and its directory is locked from the read of in_path to
 * the write (src/io/afile). */
int kfit_write(const char *in_path, const char *out_path, const kfit_group *groups, size_t n,
               const char *what, ms_err *err);

#endif
