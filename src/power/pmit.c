#include "power/pmit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double pmit_ramp_max(const double *p, size_t n, double dt)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(p[(i + 1) % n] - p[i]));
    return worst / dt;
}

void pmit_describe(const double *g, size_t n, double dt, pmit_result *out)
{
    double peak = g[0], low = g[0], sum = 0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, g[i]), low = fmin(low, g[i]), sum += g[i];
    *out = (pmit_result){.peak_w = peak,
                         .min_w = low,
                         .mean_w = sum / (double)n,
                         .ramp_max_w_per_s = pmit_ramp_max(g, n, dt)};
}

static double mean_of(const double *p, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += p[i];
    return sum / (double)n;
}

double pmit_floor(const double *p, size_t n, double dt, double ramp_w_per_s, double *g,
                  pmit_result *out)
{
    /* A step from a down to b (a > b) keeps to the limit under a floor F
     * when a - max(b, F) <= step, i.e. when a - b <= step or F >= a - step. */
    double step = ramp_w_per_s * dt, floor_w = -INFINITY, low = p[0];
    for (size_t i = 0; i < n; i++) {
        double a = p[i], b = p[(i + 1) % n], hi = fmax(a, b);
        low = fmin(low, a);
        if (fabs(a - b) > step)
            floor_w = fmax(floor_w, hi - step);
    }
    floor_w = fmax(floor_w, low); /* no floor below the lowest point does anything */
    double added = 0, peak = p[0], sum = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fmax(p[i], floor_w), next = fmax(p[(i + 1) % n], floor_w);
        if (g)
            g[i] = v;
        added += v - p[i], sum += v, peak = fmax(peak, v);
        worst = fmax(worst, fabs(next - v));
    }
    *out = (pmit_result){.peak_w = peak,
                         .min_w = floor_w,
                         .mean_w = sum / (double)n,
                         .ramp_max_w_per_s = worst / dt,
                         .added_w = added / (double)n};
    return floor_w;
}

void pmit_fill(const double *p, size_t n, double dt, double ramp_w_per_s, double *g,
               pmit_result *out)
{
    /* The upper envelope max_s p_s - step x (distance from s): twice round
     * forwards carries every point's reach past the wrap, then twice round
     * backwards. */
    double step = ramp_w_per_s * dt;
    memcpy(g, p, n * sizeof *g);
    for (size_t k = 1; k < 2 * n; k++) {
        size_t i = k % n, prev = (k - 1) % n;
        g[i] = fmax(g[i], g[prev] - step);
    }
    for (size_t k = 2 * n - 1; k-- > 0;) {
        size_t i = k % n, next = (k + 1) % n;
        g[i] = fmax(g[i], g[next] - step);
    }
    pmit_describe(g, n, dt, out);
    out->added_w = out->mean_w - mean_of(p, n);
}

/* The load followed at the limit: each point moves towards p by at most
 * step, in the direction dir (+1 forwards, -1 backwards in time), round
 * the period until it repeats (a follower that never catches the load
 * repeats after one round). */
static void follow(const double *p, size_t n, double step, int dir, double *f)
{
    double prev = dir > 0 ? p[n - 1] : p[0], tol = 0;
    for (size_t i = 0; i < n; i++)
        tol = fmax(tol, fabs(p[i]));
    tol *= 1e-12;
    for (int round = 0; round < 200; round++) {
        double start = prev;
        for (size_t k = 0; k < n; k++) {
            size_t i = dir > 0 ? k : n - 1 - k;
            double v = fmin(fmax(p[i], prev - step), prev + step);
            f[i] = prev = v;
        }
        if (round > 0 && fabs(prev - start) <= tol)
            break;
    }
}

int pmit_store(const double *p, size_t n, double dt, double ramp_w_per_s, double *g,
               pmit_result *out, ms_err *err)
{
    double *back = malloc(n * sizeof *back);
    if (!back)
        return ms_errf(err, MS_ENOMEM, "storage sizing: out of memory for %zu points", n);
    double step = ramp_w_per_s * dt;
    follow(p, n, step, +1, g);
    follow(p, n, step, -1, back);
    for (size_t i = 0; i < n; i++)
        g[i] = (g[i] + back[i]) / 2;
    free(back);
    double shift = mean_of(p, n) - mean_of(g, n);
    /* The store's energy: what the grid draws beyond the load goes in. */
    double e = 0, e_hi = 0, e_lo = 0, flow = 0, given = 0;
    for (size_t i = 0; i < n; i++) {
        g[i] += shift;
        double in_w = g[i] - p[i];
        e += in_w * dt;
        e_hi = fmax(e_hi, e), e_lo = fmin(e_lo, e);
        flow = fmax(flow, fabs(in_w));
        if (in_w < 0)
            given -= in_w;
    }
    pmit_describe(g, n, dt, out);
    out->store_j = e_hi - e_lo;
    out->store_w = flow;
    out->discharged_w = given / (double)n;
    return MS_OK;
}
