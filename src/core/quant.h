/* quant: quantiles of a large sample without sorting it. The serving
 * simulator reports three percentiles of a million latencies; a selection
 * finds each in linear time where a full sort costs n log n. The values
 * equal gsl_stats_quantile_from_sorted_data's on the sorted sample, to
 * the bit. */
#ifndef MS_QUANT_H
#define MS_QUANT_H

#include <stddef.h>

/* Moves the k-th smallest of a[0, n) (k < n, counting from 0) to a[k],
 * with none larger before it and none smaller after. NaNs are not
 * ordered: a sample holding them has no defined result. */
void quant_select(double *a, size_t n, size_t k);

/* The quantile at fraction f in [0, 1] of a[0, n), n > 0, interpolated as
 * GSL interpolates between the two sorted values around f (n - 1),
 * reordering a. For several quantiles of one sample ask in increasing f
 * with one cursor, *from = 0 at first: each selection then starts where
 * the last one ended. */
double quant_at(double *a, size_t n, double f, size_t *from);

#endif
