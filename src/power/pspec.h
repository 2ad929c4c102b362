/* pspec: the spectrum of a power series as the grid sees it. The series'
 * swings about its mean (its AC part) are split by frequency with GSL's
 * real FFT; what a utility watches is the share of that energy in a band
 * (0.1-20 Hz, where grid oscillations and generator shafts respond), the
 * frequency that carries the most, and how far and how fast the power
 * moves (dynamic range, steepest ramp). */
#ifndef MS_PSPEC_H
#define MS_PSPEC_H

#include <stddef.h>

#include "core/err.h"
#include "power/pseries.h"

typedef struct pspec_stats {
    size_t points;     /* bins transformed: the whole ones, cut to a length GSL factors fast */
    double df_hz;      /* frequency resolution: 1 / the span transformed */
    double nyquist_hz; /* 1 / (2 dt): the highest frequency the series holds */
    double band_lo_hz, band_hi_hz; /* the band asked, its top cut at the Nyquist frequency */
    double band_fraction;          /* of the AC energy, in the band; NAN when there is no AC part */
    double dominant_hz;            /* the frequency with the most energy; NAN without AC part */
    double dominant_fraction;      /* its share of the AC energy */
    double ac_rms_w;               /* root mean square of the swings about the mean */
    double range_w;                /* highest bin less lowest */
    double ramp_max_w_per_s;       /* steepest change between consecutive bins */
} pspec_stats;

/* The spectrum of ps over its whole bins (at least 16) in the band
 * [lo_hz, hi_hz]. Fails with MS_EINVAL for a band that is empty, negative
 * or above the series' Nyquist frequency, or a series too short;
 * MS_ENOMEM. If psd is not NULL, *psd (the caller frees) receives the
 * one-sided energy of each frequency k df, k = 0 .. *npsd - 1, as shares
 * of the AC energy (k = 0, the mean, is 0). */
int pspec_of(const pseries *ps, double lo_hz, double hi_hz, pspec_stats *out, double **psd,
             size_t *npsd, ms_err *err);

/* The largest n' <= n whose only prime factors are 2, 3 and 5 (n >= 1). */
size_t pspec_smooth_len(size_t n);

#endif
