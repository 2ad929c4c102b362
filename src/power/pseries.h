/* pseries: the power a device, a rack or a whole cluster draws over time,
 * held on a fixed grid of bins as the energy that falls in each, so that
 * integrals are exact: the series' energy is the sum of watts x seconds of
 * everything added, to rounding. Adding a draw over a long interval costs
 * O(1): whole bins go into a difference array of power and only the two
 * partial bins at the ends are touched; the difference array is folded
 * into the bins the first time the series is read after an add. Reading
 * then costs O(bins) once, so a caller that interleaves adds and reads
 * pays that per read; build first, then read. Rounding never makes a bin
 * negative, but a bin no draw covers may hold about 1e-18 of the peak
 * power rather than exactly 0 after many long adds.
 *
 * Reading functions take a const series but may fold pending adds into
 * it (the series is logically unchanged): a series with pending adds must
 * not be read from two threads at once. */
#ifndef MS_PSERIES_H
#define MS_PSERIES_H

#include <stddef.h>

#include "core/err.h"

typedef struct pseries pseries;

/* Most bins a series may have (8 + 8 bytes each: 1.6 GB). */
#define PSERIES_MAX_BINS 100000000

/* A series of zero power over [t0_s, t1_s) in bins of dt_s: bin i starts
 * at t0_s + i dt_s and the last bin ends at t1_s, so it may be shorter. A
 * span within a millionth of a bin of a whole number of bins has that
 * many (the last one ending at t1_s), not an extra sliver of a bin.
 * Fails with MS_EINVAL when a value is not finite, t1_s <= t0_s, dt_s <= 0
 * or the span needs more than PSERIES_MAX_BINS bins (the message says
 * what to change); MS_ENOMEM. The caller frees *out with pseries_free. */
int pseries_new(double t0_s, double t1_s, double dt_s, pseries **out, ms_err *err);

/* NULL is a no-op. */
void pseries_free(pseries *ps);

/* Adds a constant draw of watts over [start_s, end_s), clipped to the
 * series' span: each bin gains watts x the part of the interval inside
 * it. Either end may be infinite (from the start, to the end); an empty
 * interval or one outside the span adds nothing. O(1 + partial bins): two
 * at most. Asserts watts is finite and >= 0 and start_s <= end_s (neither
 * NaN). */
void pseries_add(pseries *ps, double start_s, double end_s, double watts);

/* Adds k x other (e.g. k identical devices) to ps, bin by bin; other may
 * be ps itself. O(bins). Fails with MS_EINVAL, leaving ps unchanged, when
 * the grids differ (t0, t1 and dt must be equal) or k is negative or not
 * finite. */
int pseries_add_series(pseries *ps, const pseries *other, double k, ms_err *err);

/* The grid. */
size_t pseries_bins(const pseries *ps);
double pseries_t0(const pseries *ps);
double pseries_t1(const pseries *ps);
double pseries_dt(const pseries *ps);
/* Asserts i < bins. */
double pseries_bin_start_s(const pseries *ps, size_t i);
double pseries_bin_len_s(const pseries *ps, size_t i); /* dt, or less for the last */

/* Energy in bin i (J) and the mean power over it (W): energy / length.
 * Asserts i < bins. */
double pseries_bin_energy_j(const pseries *ps, size_t i);
double pseries_power_w(const pseries *ps, size_t i);

/* Sum of all bins' energy (J). */
double pseries_energy_j(const pseries *ps);

typedef struct pseries_stats {
    double mean_w;           /* energy / span */
    double peak_w, min_w;    /* highest and lowest bin mean power */
    double energy_j;         /* as pseries_energy_j */
    double swing_max_w;      /* largest fall from a bin to any later bin: max over i < j of
                                P_i - P_j (maximum drawdown), 0 if power never falls */
    double ramp_max_w_per_s; /* steepest change between consecutive bins, up or down:
                                max |P_{i+1} - P_i| / dt (dt also for the short last bin) */
} pseries_stats;

/* The series' summary over its bins in one O(bins) pass. With one bin,
 * swing and ramp are 0. */
pseries_stats pseries_stats_of(const pseries *ps);

/* Writes path as CSV: a header "time_s,NAME..." then one row per bin,
 * the bin's start and the mean power (W) of each of the n >= 1 series,
 * which must share one grid. names[k] heads column k+1 (quoted if it
 * holds a comma, quote or newline); names may be NULL, giving power_w,
 * power_w_2, ... Fails with MS_EINVAL (nothing written) when n is 0 or a
 * grid differs, MS_EIO naming the path when it cannot be written. The
 * file appears whole or not at all (src/io/afile). */
int pseries_write_csv(const char *path, const pseries *const *series, const char *const *names,
                      size_t n, ms_err *err);

#endif
