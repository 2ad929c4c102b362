/* dist: distributions of token counts (prompt and output lengths),
 * written as short specs:
 *   fixed:N                 always N
 *   uniform:A:B             an integer uniform on [A, B]
 *   lognormal:MEDIAN:SIGMA  exp(N(ln MEDIAN, SIGMA^2)), rounded, at least 1
 *   lognormal:MEDIAN:SIGMA:MAX  the same, a draw above MAX taken as MAX
 *                           (a generation cut at its maximum length)
 *   table:FILE              an empirical table: a CSV with columns
 *                           `tokens` and `weight` (any non-negative
 *                           weights, not all zero); a draw picks a row
 *                           with probability weight / sum of weights
 * Draws are integers >= 1. A table's FILE is read as given, or, when
 * that does not exist and the path is relative, under the directory the
 * caller names (workloads/); its `tokens` are whole numbers from 1 to
 * 10^8, other columns are ignored, and it needs at least one row.
 * workloads/lengths/ holds published tables (workloads/README.md says
 * where each comes from). */
#ifndef MS_DIST_H
#define MS_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"

typedef enum dist_kind { DIST_FIXED, DIST_UNIFORM, DIST_LOGNORMAL, DIST_TABLE } dist_kind;

typedef struct dist {
    dist_kind kind;
    double a, b;     /* fixed: a = N; uniform: [a, b]; lognormal: median a, sigma b */
    double cap;      /* lognormal: the largest draw (INFINITY: none) */
    int64_t *tokens; /* table rows (owned) */
    double *cdf;     /* cumulative weight / total, last = 1 (owned) */
    size_t n;
    char spec[256]; /* as given, for messages and reports */
} dist;

/* Parses spec into *out. what names the option or field in messages
 * ("--output-len"). Fails with MS_EINVAL for an unknown kind (listing the
 * kinds), a missing or non-numeric parameter, N, A or B not a whole
 * number, N or A < 1, B < A, MEDIAN < 1, SIGMA < 0 or > 4, values beyond
 * 10^8 tokens (a scaled table's MEAN below 1 or beyond 10^8) or a spec of
 * 256 characters or more; with MS_EIO for a table that cannot be found
 * or read, MS_EPARSE for one with a missing column, a bad row (naming
 * file, line and column) or weights summing to zero, MS_ENOMEM when out
 * of memory. On failure *out is zeroed (and dist_free on it is
 * harmless); on success free with dist_free. */
int dist_parse(const char *spec, const char *what, const char *table_dir, dist *out, ms_err *err);

/* A scaled table's length: tokens x factor, rounded to the nearest whole
 * number, kept in [1, 10^8]. */
int64_t dist_scaled_tokens(int64_t tokens, double factor);

/* E[min(X, cap)^k] for X lognormal with this median and sigma, k 1 or
 * 2 (cap INFINITY: the raw moment median^k exp(k^2 sigma^2 / 2)). */
double dist_lognormal_clipped_moment(double median, double sigma, double cap, int k);

/* NULL-safe; leaves *d zeroed. */
void dist_free(dist *d);

/* One draw, >= 1. A lognormal draw is rounded to the nearest integer,
 * raised to 1 if below, and capped at 10^15 so that it always fits. A
 * table draw is one uniform and a binary search of the cumulative
 * weights. r is advanced; d is not changed. */
int64_t dist_sample(const dist *d, rng *r);

/* The mean of a draw (exact for fixed, uniform and table; for lognormal
 * the mean of the continuous law, median exp(sigma^2 / 2), clipped at its
 * MAX as dist_lognormal_clipped_moment gives). */
double dist_mean(const dist *d);

/* The mean of a draw's square, E[X^2] (exact as dist_mean is): with the
 * mean, what a length-biased average needs (a long request spends more
 * time in a batch). */
double dist_mean_square(const dist *d);

/* The kinds, for messages: "fixed:N, uniform:A:B, ..., scaled:MEAN:FILE". */
const char *dist_kinds(void);

#endif
