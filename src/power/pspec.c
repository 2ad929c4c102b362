/* pspec: see pspec.h. */
#include "power/pspec.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fft_real.h>
#include <math.h>
#include <stdlib.h>

size_t pspec_smooth_len(size_t n)
{
    for (; n > 1; n--) {
        size_t m = n;
        while (m % 2 == 0)
            m /= 2;
        while (m % 3 == 0)
            m /= 3;
        while (m % 5 == 0)
            m /= 5;
        if (m == 1)
            return n;
    }
    return 1;
}

int pspec_of(const pseries *ps, double lo_hz, double hi_hz, pspec_stats *out, double **psd,
             size_t *npsd, ms_err *err)
{
    *out = (pspec_stats){.band_fraction = NAN, .dominant_hz = NAN, .dominant_fraction = NAN};
    if (psd)
        *psd = NULL, *npsd = 0;
    double dt = pseries_dt(ps);
    size_t bins = pseries_bins(ps);
    /* A short last bin is left out: the grid must be even. */
    if (bins > 0 && pseries_bin_len_s(ps, bins - 1) < dt * (1 - 1e-9))
        bins--;
    if (bins < 16)
        return ms_errf(err, MS_EINVAL,
                       "the power series has %zu whole points: a spectrum needs at least 16 (a "
                       "finer --power-resolution or more --power-steps)",
                       bins);
    double nyq = 1 / (2 * dt);
    if (!(isfinite(lo_hz) && isfinite(hi_hz) && lo_hz >= 0 && hi_hz > lo_hz))
        return ms_errf(err, MS_EINVAL, "the band %g-%g Hz: expected 0 <= low < high", lo_hz, hi_hz);
    if (lo_hz >= nyq)
        return ms_errf(err, MS_EINVAL,
                       "the band starts at %g Hz, above the %g Hz a series of %g s points holds: "
                       "a finer --power-resolution",
                       lo_hz, nyq, dt);
    size_t n = pspec_smooth_len(bins);
    double *x = malloc(n * sizeof *x);
    gsl_fft_real_wavetable *wt = gsl_fft_real_wavetable_alloc(n);
    gsl_fft_real_workspace *ws = gsl_fft_real_workspace_alloc(n);
    int rc = MS_OK;
    if (!x || !wt || !ws) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory for the spectrum of %zu points", n);
        goto out;
    }
    double mean = 0, lo_w = INFINITY, hi_w = -INFINITY, ramp = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = pseries_power_w(ps, i);
        mean += x[i] / (double)n;
        lo_w = fmin(lo_w, x[i]);
        hi_w = fmax(hi_w, x[i]);
        if (i)
            ramp = fmax(ramp, fabs(x[i] - x[i - 1]) / dt);
    }
    double ac = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] -= mean;
        ac += x[i] * x[i];
    }
    *out = (pspec_stats){.points = n,
                         .df_hz = 1 / ((double)n * dt),
                         .nyquist_hz = nyq,
                         .band_lo_hz = lo_hz,
                         .band_hi_hz = fmin(hi_hz, nyq),
                         .band_fraction = NAN,
                         .dominant_hz = NAN,
                         .dominant_fraction = NAN,
                         .ac_rms_w = sqrt(ac / (double)n),
                         .range_w = hi_w - lo_w,
                         .ramp_max_w_per_s = ramp};
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int g = gsl_fft_real_transform(x, 1, n, wt, ws);
    gsl_set_error_handler(old);
    if (g) {
        rc = ms_errf(err, MS_EINVAL, "the FFT of %zu points failed: %s", n, gsl_strerror(g));
        goto out;
    }
    /* Half-complex: x[0] the mean (0 here); frequency k in x[2k-1] (real)
     * and x[2k] (imaginary) below n/2; for even n, x[n-1] the Nyquist
     * term. One-sided energies: twice |X_k|^2 but the Nyquist once. */
    size_t nk = n / 2 + 1;
    double *e = calloc(nk, sizeof *e);
    if (!e) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory for the spectrum of %zu points", n);
        goto out;
    }
    double total = 0;
    for (size_t k = 1; k < nk; k++) {
        double v;
        if (2 * k == n)
            v = x[n - 1] * x[n - 1];
        else
            v = 2 * (x[2 * k - 1] * x[2 * k - 1] + x[2 * k] * x[2 * k]);
        e[k] = v;
        total += v;
    }
    /* Swings of a billionth of the mean are rounding: no AC part. */
    if (total > 0 && out->ac_rms_w > 1e-9 * fabs(mean)) {
        double band = 0, best = -1;
        for (size_t k = 1; k < nk; k++) {
            double f = (double)k * out->df_hz;
            if (f >= lo_hz && f <= hi_hz)
                band += e[k];
            if (e[k] > best)
                best = e[k], out->dominant_hz = f;
            e[k] /= total;
        }
        out->band_fraction = band / total;
        out->dominant_fraction = best / total;
    }
    if (psd)
        *psd = e, *npsd = nk;
    else
        free(e);
out:
    free(x);
    gsl_fft_real_wavetable_free(wt);
    gsl_fft_real_workspace_free(ws);
    return rc;
}
