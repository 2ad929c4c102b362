/* pseries: see pseries.h. Each bin holds its energy in e_j; dp_w is a
 * difference array of power over whole bins (dp_w[i] starts a draw at bin
 * i, dp_w[j] ends it before bin j) that settle() folds into e_j as power x
 * bin length. Bin boundaries always come from bin_start(), so the pieces
 * of one interval telescope to its length exactly as the boundaries are
 * computed. */
#include "power/pseries.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/afile.h"
#include "io/csvtab.h"

struct pseries {
    double t0_s, t1_s, dt_s;
    size_t n;     /* bins */
    double *e_j;  /* n: energy settled in each bin */
    double *dp_w; /* n + 1: power over whole bins not yet settled, as differences */
    int pending;  /* dp_w may be non-zero */
};

/* Spans within this many bins of a whole number get that number. */
#define SNAP_BINS 1e-6
/* Bins must be at least this fraction of the largest time on the grid,
 * so that every bin has a length and the snap above is not lost in the
 * rounding of t0 + i dt. */
#define MIN_DT_REL 1e-9

int pseries_new(double t0_s, double t1_s, double dt_s, pseries **out, ms_err *err)
{
    *out = NULL;
    if (!isfinite(t0_s) || !isfinite(t1_s) || !isfinite(dt_s))
        return ms_errf(err, MS_EINVAL,
                       "power series: t0_s, t1_s and dt_s must be finite numbers, got %g, %g, %g",
                       t0_s, t1_s, dt_s);
    if (!(t1_s > t0_s))
        return ms_errf(err, MS_EINVAL,
                       "power series: the end t1_s (%g s) must be after the start t0_s (%g s)",
                       t1_s, t0_s);
    if (!(dt_s > 0))
        return ms_errf(err, MS_EINVAL, "power series: the bin width dt_s must be > 0, got %g s",
                       dt_s);
    double tmax = fmax(fabs(t0_s), fabs(t1_s));
    if (dt_s < MIN_DT_REL * tmax)
        return ms_errf(err, MS_EINVAL,
                       "power series: bins of %g s are too fine to tell apart at times near %g s: "
                       "use dt_s >= %g s",
                       dt_s, tmax, MIN_DT_REL * tmax);
    double q = (t1_s - t0_s) / dt_s;
    double r = nearbyint(q);
    double nb = r >= 1 && fabs(q - r) <= SNAP_BINS ? r : ceil(q);
    if (!(nb <= PSERIES_MAX_BINS))
        return ms_errf(err, MS_EINVAL,
                       "power series: [%g, %g) s in bins of %g s needs %.4g bins, more than %d: "
                       "use bins of at least %g s or a shorter span",
                       t0_s, t1_s, dt_s, nb, PSERIES_MAX_BINS, (t1_s - t0_s) / PSERIES_MAX_BINS);
    size_t n = (size_t)nb;
    pseries *ps = calloc(1, sizeof *ps);
    if (ps) {
        ps->e_j = calloc(n, sizeof *ps->e_j);
        ps->dp_w = calloc(n + 1, sizeof *ps->dp_w);
    }
    if (!ps || !ps->e_j || !ps->dp_w) {
        pseries_free(ps);
        return ms_errf(err, MS_ENOMEM, "power series: out of memory for %zu bins", n);
    }
    ps->t0_s = t0_s;
    ps->t1_s = t1_s;
    ps->dt_s = dt_s;
    ps->n = n;
    *out = ps;
    return MS_OK;
}

void pseries_free(pseries *ps)
{
    if (!ps)
        return;
    free(ps->e_j);
    free(ps->dp_w);
    free(ps);
}

/* Start of bin i, for 0 <= i <= n (bin n "starts" at t1). */
static double bin_start(const pseries *ps, size_t i)
{
    return i < ps->n ? ps->t0_s + (double)i * ps->dt_s : ps->t1_s;
}

/* The bin holding t in [t0, t1): bin_start(i) <= t < bin_start(i + 1),
 * the guess from division corrected to agree with bin_start. */
static size_t bin_of(const pseries *ps, double t)
{
    double q = (t - ps->t0_s) / ps->dt_s;
    size_t i = q <= 0 ? 0 : q >= (double)(ps->n - 1) ? ps->n - 1 : (size_t)q;
    while (i > 0 && t < bin_start(ps, i))
        i--;
    while (i + 1 < ps->n && t >= bin_start(ps, i + 1))
        i++;
    return i;
}

void pseries_add(pseries *ps, double start_s, double end_s, double watts)
{
    assert(isfinite(watts) && watts >= 0);
    assert(start_s <= end_s);
    double s = fmax(start_s, ps->t0_s), e = fmin(end_s, ps->t1_s);
    if (watts == 0 || !(s < e))
        return;
    size_t a = bin_of(ps, s), b = e >= ps->t1_s ? ps->n : bin_of(ps, e);
    if (a == b) {
        ps->e_j[a] += watts * (e - s);
        return;
    }
    ps->e_j[a] += watts * (bin_start(ps, a + 1) - s);
    if (b < ps->n)
        ps->e_j[b] += watts * (e - bin_start(ps, b));
    if (b > a + 1) {
        ps->dp_w[a + 1] += watts;
        ps->dp_w[b] -= watts;
        ps->pending = 1;
    }
}

/* Folds dp_w into e_j. The running power is summed with Neumaier's
 * compensation, so the running sum adds no error of its own; what is left
 * is the rounding of several draws landing on one dp_w element, which
 * leaves a bin that no draw covers at about 1e-18 of the peak rather than
 * 0 (a plain sum leaves about 1e-14). A running power below zero can only
 * be rounding, since no draw is negative, and adds nothing. Exact zeros
 * would need dp_w kept in two doubles per bin; not worth the memory. */
static void settle(pseries *ps)
{
    if (!ps->pending)
        return;
    double sum = 0, comp = 0;
    for (size_t i = 0; i < ps->n; i++) {
        double x = ps->dp_w[i];
        ps->dp_w[i] = 0;
        double t = sum + x;
        comp += fabs(sum) >= fabs(x) ? (sum - t) + x : (x - t) + sum;
        sum = t;
        double p = sum + comp;
        if (p > 0)
            ps->e_j[i] += p * (bin_start(ps, i + 1) - bin_start(ps, i));
    }
    ps->dp_w[ps->n] = 0;
    ps->pending = 0;
}

/* A read: the series with its pending adds settled (logically const; the
 * object itself was allocated writable by pseries_new). */
static const pseries *settled(const pseries *ps)
{
    settle((pseries *)ps);
    return ps;
}

static int same_grid(const pseries *a, const pseries *b)
{
    return a->t0_s == b->t0_s && a->t1_s == b->t1_s && a->dt_s == b->dt_s;
}

static int grid_mismatch(ms_err *err, const char *what, const pseries *a, const pseries *b)
{
    return ms_errf(err, MS_EINVAL,
                   "%s: power series on different grids: [%.9g, %.9g) s in bins of %.9g s "
                   "against [%.9g, %.9g) s in bins of %.9g s",
                   what, a->t0_s, a->t1_s, a->dt_s, b->t0_s, b->t1_s, b->dt_s);
}

int pseries_add_series(pseries *ps, const pseries *other, double k, ms_err *err)
{
    if (!same_grid(ps, other))
        return grid_mismatch(err, "adding a series", ps, other);
    if (!(isfinite(k) && k >= 0))
        return ms_errf(err, MS_EINVAL,
                       "adding a series: the scale must be a finite number >= 0, got %g", k);
    /* Both parts are linear: add them as they stand, settled or not. */
    for (size_t i = 0; i < ps->n; i++)
        ps->e_j[i] += k * other->e_j[i];
    if (other->pending && k > 0) {
        for (size_t i = 0; i <= ps->n; i++)
            ps->dp_w[i] += k * other->dp_w[i];
        ps->pending = 1;
    }
    return MS_OK;
}

size_t pseries_bins(const pseries *ps)
{
    return ps->n;
}

double pseries_t0(const pseries *ps)
{
    return ps->t0_s;
}

double pseries_t1(const pseries *ps)
{
    return ps->t1_s;
}

double pseries_dt(const pseries *ps)
{
    return ps->dt_s;
}

double pseries_bin_start_s(const pseries *ps, size_t i)
{
    assert(i < ps->n);
    return bin_start(ps, i);
}

double pseries_bin_len_s(const pseries *ps, size_t i)
{
    assert(i < ps->n);
    return bin_start(ps, i + 1) - bin_start(ps, i);
}

double pseries_bin_energy_j(const pseries *ps, size_t i)
{
    assert(i < ps->n);
    return settled(ps)->e_j[i];
}

double pseries_power_w(const pseries *ps, size_t i)
{
    return pseries_bin_energy_j(ps, i) / pseries_bin_len_s(ps, i);
}

double pseries_energy_j(const pseries *ps)
{
    settled(ps);
    double sum = 0;
    for (size_t i = 0; i < ps->n; i++)
        sum += ps->e_j[i];
    return sum;
}

pseries_stats pseries_stats_of(const pseries *ps)
{
    settled(ps);
    pseries_stats st = {0};
    double run_max = 0, prev = 0;
    for (size_t i = 0; i < ps->n; i++) {
        double p = pseries_power_w(ps, i);
        st.energy_j += ps->e_j[i];
        if (i == 0) {
            st.peak_w = st.min_w = run_max = p;
        } else {
            st.peak_w = fmax(st.peak_w, p);
            st.min_w = fmin(st.min_w, p);
            st.swing_max_w = fmax(st.swing_max_w, run_max - p);
            st.ramp_max_w_per_s = fmax(st.ramp_max_w_per_s, fabs(p - prev) / ps->dt_s);
            run_max = fmax(run_max, p);
        }
        prev = p;
    }
    st.mean_w = st.energy_j / (ps->t1_s - ps->t0_s);
    return st;
}

int pseries_write_csv(const char *path, const pseries *const *series, const char *const *names,
                      size_t n, ms_err *err)
{
    if (n == 0)
        return ms_errf(err, MS_EINVAL, "%s: no power series to write", path);
    for (size_t k = 1; k < n; k++)
        if (!same_grid(series[0], series[k]))
            return grid_mismatch(err, path, series[0], series[k]);
    for (size_t k = 0; k < n; k++)
        settled(series[k]);
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    FILE *f = afile_stream(af);
    fputs("time_s", f);
    for (size_t k = 0; k < n; k++) {
        fputc(',', f);
        if (names && names[k])
            csvtab_put_field(f, names[k]);
        else if (k == 0)
            fputs("power_w", f);
        else
            fprintf(f, "power_w_%zu", k + 1);
    }
    fputc('\n', f);
    const pseries *g = series[0];
    for (size_t i = 0; i < g->n; i++) {
        fprintf(f, "%.12g", bin_start(g, i));
        for (size_t k = 0; k < n; k++)
            fprintf(f, ",%.10g", pseries_power_w(series[k], i));
        fputc('\n', f);
    }
    return afile_commit(af, err);
}
