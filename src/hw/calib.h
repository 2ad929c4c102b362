/* calib: efficiency factors (the fraction of datasheet peak a real kernel
 * reaches) per chip family, operation kind and precision, read from
 * hwdb/efficiency.csv. Each row carries the kernel-level measurement it
 * comes from; whole-system results never go in here. */
#ifndef MS_CALIB_H
#define MS_CALIB_H

#include "core/err.h"
#include "core/prec.h"
#include "core/rng.h"
#include "hw/chip.h"
#include "hw/roofline.h"

typedef struct calib calib;

/* Loads and validates an efficiency CSV (columns family, op_kind,
 * precision, compute_eff, memory_eff, overhead_us, measured_on, source,
 * and optionally log_sd, log_cov and overlap_p, in any order).
 * Efficiencies are in (0, 1] or blank; overhead_us >= 0 or blank; log_sd
 * (the spread of the fit's residuals, see kfit.h) >= 0 or blank; log_cov
 * (the fit's covariance, see kfit.h) six numbers joined by ';' that make
 * a covariance, or blank; overlap_p (how compute
 * and memory time combine, see roofline.h) from 1 to 1000, or blank for
 * the roofline's max; op_kind is one of calib_kinds();
 * precision is a precision name or '*'. Errors name file, line and
 * column. */
int calib_load(const char *path, calib **out, ms_err *err);

void calib_free(calib *cal); /* NULL is a no-op */

/* Rows in cal. */
size_t calib_count(const calib *cal);

/* The pooled spread of cal: the root mean square of the log_sd of the
 * rows that have one (each row weighed alike, whatever its number of
 * measurements); NAN when none has. */
double calib_pooled_sd(const calib *cal);

/* The spread calib_draw uses for row i (file order): its log_sd, else the
 * pooled spread (an estimate: *estimated is then 1), else 0. */
double calib_row_sd(const calib *cal, size_t i, int *estimated);

/* eff x factor, at most 1; NAN (blank) stays NAN. */
double calib_scale_eff(double eff, double factor);

/* Index of entry (i, j), i and j in 0..2 (compute, memory, overhead), of
 * a symmetric 3 x 3 matrix kept as its upper triangle in six numbers:
 * cc, cm, co, mm, mo, oo (log_cov's order). */
int calib_cov_at(int i, int j);

/* sd L z, for z three N(0, 1) draws from g and L the Cholesky factor of
 * cov (cc, cm, co, mm, mo, oo; a figure of no variance left out): a draw
 * of the logs of compute_eff, memory_eff and overhead about the fitted
 * ones, of covariance sd^2 cov. */
void calib_cov_draw(const double cov[6], double sd, rng *g, double out[3]);

/* A drawn copy of cal, for a band around a prediction: each row, in file
 * order, draws z ~ N(0, 1) from g and runs its kernels at exp(z x sd)
 * times its fitted rate, sd as calib_row_sd gives it: compute_eff and
 * memory_eff times exp(z x sd) (calib_scale_eff: at most 1), overhead
 * divided by it. A row with a log_cov (the fit's covariance, see kfit.h)
 * then draws its figures' own uncertainty too, calib_cov_draw(log_cov,
 * sd): compute_eff, memory_eff and overhead further times exp(e[0]),
 * exp(e[1]), exp(e[2]), with one cap at 1. Blanks stay blank (operations
 * with no calibration stay at the datasheet peak, undrawn). Every row
 * draws once, and a row with a log_cov three times more, so the same
 * state of g gives the same copy. The copy borrows cal's strings: free it
 * (calib_free) before cal. MS_ENOMEM when out of memory. */
int calib_draw(const calib *cal, rng *g, calib **out, ms_err *err);

/* Efficiencies for an op of kind at prec on c: each of compute, memory,
 * overhead and overlap exponent from the row for (c->family, kind,
 * prec), else the row for (family, kind, any precision), else, for a
 * refined kind, the same two lookups for the kind it refines, and so on
 * up to its base kind, else 1 (or 0 s,
 * or 0 for the max) with a NULL source. cal
 * may be NULL (no calibration: peak everywhere). measured_on names the
 * chips of the first row used, so a caller can say when a chip borrows
 * its family's figures. Strings are borrowed from cal. */
roof_eff calib_eff(const calib *cal, const chip *c, const char *kind, ms_prec prec);

/* calib_eff, with the memory figure (and its source) of the family's
 * "stream" row where kind has none of its own: a kernel bound by HBM
 * traffic reaches at most what the family's streaming kernels reach (a
 * BF16 GEMM benchmarked only where compute binds it, an attention kernel
 * measured only in FLOP/s). As calib_eff where the family has no stream
 * row either. What train and serve time their operations with. */
roof_eff calib_eff_hbm(const calib *cal, const chip *c, const char *kind, ms_prec prec);

/* Adds item ("kind precision figure", say "attention_decode bf16
 * memory") to list, a "; "-separated list of what runs at a datasheet peak
 * for want of a row, cap bytes with its terminator, unless it is there
 * already; an item that would not fit whole is left out. */
void calib_peak_list_add(char *list, size_t cap, const char *item);

/* 1 if kind is an operation kind calibration knows. */
int calib_kind_ok(const char *kind);

/* kind's name as a string that lives as long as the program, or NULL
 * for an unknown kind. */
const char *calib_kind_find(const char *kind);

/* The base kind of kind: itself for gemm, stream, attention and launch;
 * for a refined kind, the base kind it is a class of, through the kinds it
 * refines (gemm_train: the GEMMs of a training step, forward and
 * backward, -> gemm; attention_bwd -> attention; attention_decode: decode
 * steps' attention over a paged KV cache, one or two queries a sequence
 * (FlashMLA's kind) -> attention; quant: FP8 cast, transpose and quantize
 * kernels -> stream; attention_te2024 and attention_bwd_te2024: the fused
 * attention forward and backward Transformer Engine ran in 2024, cuDNN
 * 9.1 on Hopper (see train/stack.h), -> attention, the backward through
 * attention_bwd). NULL for an unknown kind. */
const char *calib_kind_base(const char *kind);

/* "gemm, stream, attention, ...": for messages. */
const char *calib_kinds(void);

#endif
