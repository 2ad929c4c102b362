/* Tests of the power time series (src/power/pseries): energy is conserved
 * bin by bin whatever the intervals (straddling, partial, outside the
 * span, empty, infinite), the grid ends in a short last bin or snaps to a
 * whole number of bins, mean power and the summary statistics match hand
 * computations, series add with a scale only on one grid, the CSV reads
 * back, and bad grids are refused with a message saying why. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "power/pseries.h"
#include "test_assert.h"

static pseries *make(double t0, double t1, double dt)
{
    pseries *ps = NULL;
    ms_err err = {0};
    int rc = pseries_new(t0, t1, dt, &ps, &err);
    if (rc)
        printf("\n  pseries_new(%g, %g, %g): %s\n", t0, t1, dt, err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, MS_OK);
    return ps;
}

static double overlap(double a0, double a1, double b0, double b1)
{
    double lo = fmax(a0, b0), hi = fmin(a1, b1);
    return hi > lo ? hi - lo : 0;
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 11;
}

static double uniform(uint64_t *x, double lo, double hi)
{
    return lo + (hi - lo) * (double)lcg(x) / 9007199254740992.0; /* 2^53 */
}

/* ---- energy ---- */

/* Fixed intervals of every shape, then random ones, on [0, 10) in bins of
 * 0.7 s (14 whole bins and one of 0.2 s): each bin's energy is the sum of
 * watts x the part of each interval inside it, computed here directly. */
static void test_energy_conserved(void)
{
    static const struct {
        double s, e, w;
    } fixed[] = {
        {-5, -1, 100},       /* wholly before the span */
        {10, 20, 100},       /* wholly after (the span is half-open) */
        {3.3, 3.3, 1e6},     /* empty */
        {0.1, 0.2, 50},      /* inside one bin */
        {0.6, 0.8, 70},      /* straddles one boundary */
        {0.35, 6.65, 13},    /* partial, whole bins, partial */
        {-3, 2.1, 20},       /* clipped at the start, ends on a boundary */
        {9.9, 12, 400},      /* clipped at the end, in the short last bin */
        {-INFINITY, 0.7, 1}, /* from the start */
        {9.75, INFINITY, 2}, /* to the end */
        {-1, 11, 1000},      /* the whole span */
        {1.4, 2.8, 0},       /* no watts */
    };
    enum { NFIXED = sizeof fixed / sizeof fixed[0], NRAND = 300 };
    struct {
        double s, e, w;
    } iv[NFIXED + NRAND];
    size_t n = 0;
    for (size_t i = 0; i < NFIXED; i++, n++) {
        iv[n].s = fixed[i].s;
        iv[n].e = fixed[i].e;
        iv[n].w = fixed[i].w;
    }
    uint64_t x = 2024;
    for (size_t i = 0; i < NRAND; i++, n++) {
        iv[n].s = uniform(&x, -3, 13);
        double len = lcg(&x) % 7 == 0 ? 0 : uniform(&x, 0, 8);
        iv[n].e = iv[n].s + len;
        iv[n].w = uniform(&x, 0, 1500);
    }

    pseries *ps = make(0, 10, 0.7);
    CU_ASSERT_EQUAL(pseries_bins(ps), 15);
    double want = 0;
    for (size_t i = 0; i < n; i++) {
        pseries_add(ps, iv[i].s, iv[i].e, iv[i].w);
        want += iv[i].w * overlap(iv[i].s, iv[i].e, 0, 10);
        if (i == n / 2) /* a read in the middle settles what is pending so far */
            MS_ASSERT_WITHIN_AS("energy halfway", pseries_energy_j(ps), want, 1e-9 * want);
    }
    MS_ASSERT_WITHIN_AS("energy", pseries_energy_j(ps), want, 1e-9 * want);
    MS_ASSERT_WITHIN_AS("stats energy", pseries_stats_of(ps).energy_j, want, 1e-9 * want);
    for (size_t b = 0; b < pseries_bins(ps); b++) {
        double b0 = pseries_bin_start_s(ps, b), b1 = b0 + pseries_bin_len_s(ps, b);
        double eb = 0;
        for (size_t i = 0; i < n; i++)
            eb += iv[i].w * overlap(iv[i].s, iv[i].e, b0, b1);
        char what[64];
        snprintf(what, sizeof what, "energy of bin %zu", b);
        MS_ASSERT_WITHIN_AS(what, pseries_bin_energy_j(ps, b), eb, 1e-9 * want);
        snprintf(what, sizeof what, "power of bin %zu", b);
        MS_ASSERT_WITHIN_AS(what, pseries_power_w(ps, b), eb / (b1 - b0), 1e-9 * want);
    }
    pseries_free(ps);
}

/* Long intervals cost O(1): 200,000 draws over most of a million bins
 * would take minutes bin by bin. Draws that all end by 600 s leave the
 * bins after empty: what rounding leaves there is never negative and
 * below 1e-16 of the peak (a plain running sum of the differences leaves
 * about 1e-14 of it). */
static void test_long_intervals(void)
{
    static const uint64_t seeds[] = {1, 5, 6};
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        pseries *ps = make(0, 1000, 0.001);
        CU_ASSERT_EQUAL(pseries_bins(ps), 1000000);
        uint64_t x = seeds[k];
        double want = 0;
        for (int i = 0; i < 200000; i++) {
            double s = uniform(&x, 0, 100), e = uniform(&x, 500, 600), w = uniform(&x, 0, 1000);
            pseries_add(ps, s, e, w);
            want += w * (e - s);
        }
        pseries_stats st = pseries_stats_of(ps);
        MS_ASSERT_WITHIN_AS("energy", st.energy_j, want, 1e-9 * want);
        CU_ASSERT(st.swing_max_w > 0);
        CU_ASSERT(st.min_w >= 0);
        double stray = 0;
        for (size_t b = 600000; b < pseries_bins(ps); b++)
            stray = fmax(stray, pseries_power_w(ps, b));
        MS_ASSERT_WITHIN_AS("stray power after every draw ended", stray, 0, 1e-16 * st.peak_w);
        pseries_free(ps);
    }
}

/* An interval of one ulp either side of each bin boundary falls in the
 * bin that bin_start says holds it, though (t - t0) / dt may round across
 * the boundary: [t-, t) in the bin before, [t, t+) in the bin from t. */
static void test_boundaries(void)
{
    static const struct {
        double t0, t1, dt;
    } grids[] = {{0, 10, 0.7}, {1000, 1010, 0.3}, {-3, 4, 0.1}};
    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        pseries *before = make(grids[g].t0, grids[g].t1, grids[g].dt);
        pseries *after = make(grids[g].t0, grids[g].t1, grids[g].dt);
        size_t n = pseries_bins(before);
        for (size_t i = 1; i < n; i++) {
            double t = pseries_bin_start_s(before, i);
            pseries_add(before, nextafter(t, -INFINITY), t, 1e15);
            pseries_add(after, t, nextafter(t, INFINITY), 1e15);
        }
        int misplaced = 0;
        for (size_t i = 0; i < n; i++) {
            /* before: bin i holds the sliver below boundary i + 1 (none for the last) */
            int want_before = i + 1 < n, want_after = i > 0;
            misplaced += (pseries_bin_energy_j(before, i) > 0) != want_before;
            misplaced += (pseries_bin_energy_j(after, i) > 0) != want_after;
        }
        if (misplaced)
            printf("\n  [%g, %g) by %g: %d slivers in the wrong bin\n", grids[g].t0, grids[g].t1,
                   grids[g].dt, misplaced);
        CU_ASSERT_EQUAL(misplaced, 0);
        pseries_free(before);
        pseries_free(after);
    }
}

/* ---- the grid ---- */

static void test_grid(void)
{
    static const struct {
        double t0, t1, dt;
        size_t bins;
        double last_len;
    } cases[] = {
        {0, 1, 0.3, 4, 0.1},            /* a short last bin */
        {0, 1, 0.25, 4, 0.25},          /* exact */
        {0, 2.1, 0.3, 7, 0.3},          /* 2.1 / 0.3 is 7.000000000000001: no sliver bin */
        {1e6, 1e6 + 0.3, 0.1, 3, 0.1},  /* 3.0000000004656613 */
        {0, 0.3, 0.1, 3, 0.1},          /* 0.3 / 0.1 is 2.9999999999999996 */
        {5, 6, 2, 1, 1},                /* one bin, shorter than dt */
        {-2, 3, 1.5, 4, 0.5},           /* negative start */
        {1e6, 1e6 + 1.1, 0.1, 11, 0.1}, /* 10.999999999767169 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pseries *ps = make(cases[i].t0, cases[i].t1, cases[i].dt);
        size_t n = pseries_bins(ps);
        if (n != cases[i].bins)
            printf("\n  [%g, %g) by %g: %zu bins, expected %zu\n", cases[i].t0, cases[i].t1,
                   cases[i].dt, n, cases[i].bins);
        CU_ASSERT_EQUAL(n, cases[i].bins);
        CU_ASSERT_EQUAL(pseries_t0(ps), cases[i].t0);
        CU_ASSERT_EQUAL(pseries_t1(ps), cases[i].t1);
        CU_ASSERT_EQUAL(pseries_dt(ps), cases[i].dt);
        MS_ASSERT_WITHIN_AS("last bin length", pseries_bin_len_s(ps, n - 1), cases[i].last_len,
                            1e-6 * cases[i].dt);
        MS_ASSERT_WITHIN_AS("last bin end",
                            pseries_bin_start_s(ps, n - 1) + pseries_bin_len_s(ps, n - 1),
                            cases[i].t1, 1e-12 * fabs(cases[i].t1) + 1e-12);
        double sum = 0;
        for (size_t b = 0; b < n; b++) {
            if (b + 1 < n)
                MS_ASSERT_WITHIN_AS("whole bin length", pseries_bin_len_s(ps, b), cases[i].dt,
                                    1e-6 * cases[i].dt);
            MS_ASSERT_WITHIN_AS("bin start", pseries_bin_start_s(ps, b),
                                cases[i].t0 + b * cases[i].dt, 1e-12 * fabs(cases[i].t0) + 1e-12);
            sum += pseries_bin_len_s(ps, b);
        }
        MS_ASSERT_WITHIN_AS("bins cover the span", sum, cases[i].t1 - cases[i].t0, 1e-9);
        /* A constant draw over everything is that power in every bin, the
         * short last one too. */
        pseries_add(ps, cases[i].t0, cases[i].t1, 250);
        for (size_t b = 0; b < n; b++)
            MS_ASSERT_WITHIN_AS("constant power", pseries_power_w(ps, b), 250, 1e-6);
        MS_ASSERT_WITHIN_AS("constant energy", pseries_energy_j(ps),
                            250 * (cases[i].t1 - cases[i].t0), 1e-6);
        pseries_free(ps);
    }
}

/* Mean power per bin on [0, 4.5) in bins of 1 s (the last 0.5 s), by hand:
 *   100 W over [0.5, 2.25):  50, 100, 25,  0,  0 J
 *    40 W over [1.5, 10):     0,  20, 40, 40, 20 J
 *     8 W over [-5, 0.25):    2,   0,  0,  0,  0 J
 *   600 W over [4.2, 4.3):    0,   0,  0,  0, 60 J
 *    10 W over [3, 3):        nothing */
static void test_power_by_hand(void)
{
    pseries *ps = make(0, 4.5, 1);
    pseries_add(ps, 0.5, 2.25, 100);
    pseries_add(ps, 1.5, 10, 40);
    pseries_add(ps, -5, 0.25, 8);
    pseries_add(ps, 4.2, 4.3, 600);
    pseries_add(ps, 3, 3, 10);
    static const double energy[] = {52, 120, 65, 40, 80};
    static const double power[] = {52, 120, 65, 40, 160}; /* the last bin is 0.5 s */
    CU_ASSERT_EQUAL_FATAL(pseries_bins(ps), 5);
    for (size_t b = 0; b < 5; b++) {
        char what[64];
        snprintf(what, sizeof what, "energy of bin %zu", b);
        MS_ASSERT_WITHIN_AS(what, pseries_bin_energy_j(ps, b), energy[b], 1e-9);
        snprintf(what, sizeof what, "power of bin %zu", b);
        MS_ASSERT_WITHIN_AS(what, pseries_power_w(ps, b), power[b], 1e-9);
    }
    MS_ASSERT_WITHIN_AS("energy", pseries_energy_j(ps), 357, 1e-9);
    pseries_free(ps);
}

/* ---- statistics ---- */

/* A step profile on [0, 4) in bins of 0.5 s, built as a 50 W floor over
 * everything plus one draw per bin:
 *   P = 50 300 300 150 250 100 400 350
 * peak 400; min 50 (the first bin, before the peak); mean 1900 / 8;
 * the largest fall is 300 -> 100 = 200, neither first-to-last (-300) nor
 * peak-to-min (350); the steepest step is 100 -> 400 in 0.5 s = 600 W/s. */
static void test_stats_steps(void)
{
    static const double P[] = {50, 300, 300, 150, 250, 100, 400, 350};
    pseries *ps = make(0, 4, 0.5);
    pseries_add(ps, 0, 4, 50);
    for (size_t b = 0; b < 8; b++)
        pseries_add(ps, 0.5 * b, 0.5 * (b + 1), P[b] - 50);
    pseries_stats st = pseries_stats_of(ps);
    MS_ASSERT_WITHIN_AS("peak", st.peak_w, 400, 1e-9);
    MS_ASSERT_WITHIN_AS("min", st.min_w, 50, 1e-9);
    MS_ASSERT_WITHIN_AS("mean", st.mean_w, 1900.0 / 8, 1e-9);
    MS_ASSERT_WITHIN_AS("energy", st.energy_j, 950, 1e-9);
    MS_ASSERT_WITHIN_AS("swing", st.swing_max_w, 200, 1e-9);
    MS_ASSERT_WITHIN_AS("ramp", st.ramp_max_w_per_s, 600, 1e-9);
    pseries_free(ps);

    /* Rising only: no swing; the ramp is the biggest step up. */
    static const double up[] = {10, 20, 20, 70};
    ps = make(0, 4, 1);
    for (size_t b = 0; b < 4; b++)
        pseries_add(ps, b, b + 1, up[b]);
    st = pseries_stats_of(ps);
    MS_ASSERT_WITHIN_AS("rising swing", st.swing_max_w, 0, 0);
    MS_ASSERT_WITHIN_AS("rising ramp", st.ramp_max_w_per_s, 50, 1e-9);
    MS_ASSERT_WITHIN_AS("rising min", st.min_w, 10, 1e-9);
    pseries_free(ps);

    /* One bin: mean = peak = min, no swing, no ramp. */
    ps = make(0, 2, 5);
    pseries_add(ps, 0.5, 1.5, 300); /* 300 J over 2 s */
    st = pseries_stats_of(ps);
    MS_ASSERT_WITHIN_AS("one-bin mean", st.mean_w, 150, 1e-9);
    MS_ASSERT_WITHIN_AS("one-bin peak", st.peak_w, 150, 1e-9);
    MS_ASSERT_WITHIN_AS("one-bin min", st.min_w, 150, 1e-9);
    CU_ASSERT_EQUAL(st.swing_max_w, 0);
    CU_ASSERT_EQUAL(st.ramp_max_w_per_s, 0);
    pseries_free(ps);
}

/* ---- adding series ---- */

/* One device on [0, 2) in bins of 0.5 s draws 700 W over [0.25, 1.75):
 * 350, 700, 700, 350 W per bin. Eight of them plus a 1 kW floor:
 * 3800, 6600, 6600, 3800 W, 10,400 J. */
static void test_add_series(void)
{
    ms_err err = {0};
    pseries *dev = make(0, 2, 0.5), *cl = make(0, 2, 0.5);
    pseries_add(dev, 0.25, 1.75, 700); /* still pending when added below */
    CU_ASSERT_EQUAL(pseries_add_series(cl, dev, 8, &err), MS_OK);
    pseries_add(cl, 0, 2, 1000);
    static const double want[] = {3800, 6600, 6600, 3800};
    for (size_t b = 0; b < 4; b++)
        MS_ASSERT_WITHIN_AS("cluster power", pseries_power_w(cl, b), want[b], 1e-9);
    MS_ASSERT_WITHIN_AS("cluster energy", pseries_energy_j(cl), 10400, 1e-9);
    MS_ASSERT_WITHIN_AS("device unchanged", pseries_energy_j(dev), 1050, 1e-9);

    /* Adding a series to itself doubles it. */
    CU_ASSERT_EQUAL(pseries_add_series(dev, dev, 1, &err), MS_OK);
    MS_ASSERT_WITHIN_AS("doubled", pseries_power_w(dev, 1), 1400, 1e-9);

    /* Different grids, or a bad scale: refused, nothing changes. */
    static const struct {
        double t0, t1, dt;
    } other[] = {{0, 2, 0.25}, {0, 2.5, 0.5}, {0.5, 2, 0.5}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        pseries *o = make(other[i].t0, other[i].t1, other[i].dt);
        pseries_add(o, 0, 2, 1);
        ms_err_clear(&err);
        CU_ASSERT_EQUAL(pseries_add_series(cl, o, 1, &err), MS_EINVAL);
        CU_ASSERT_EQUAL(err.code, MS_EINVAL);
        if (!strstr(err.msg, "different grids"))
            printf("\n  message: %s\n", err.msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "different grids"));
        pseries_free(o);
    }
    static const double bad_k[] = {-1, NAN, INFINITY};
    for (size_t i = 0; i < 3; i++) {
        ms_err_clear(&err);
        CU_ASSERT_EQUAL(pseries_add_series(cl, dev, bad_k[i], &err), MS_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "scale"));
    }
    MS_ASSERT_WITHIN_AS("cluster unchanged", pseries_energy_j(cl), 10400, 1e-9);
    pseries_free(dev);
    pseries_free(cl);
}

/* ---- CSV ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_csv(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_pseries_%ld.csv", (long)getpid());
    ms_err err = {0};
    pseries *gpu = make(0, 1.25, 0.5), *site = make(0, 1.25, 0.5);
    pseries_add(gpu, 0, 1.25, 700);
    pseries_add(gpu, 0.25, 0.5, 200); /* +100 W in the first bin */
    pseries_add(site, 0, 2, 1.5e6);
    pseries_add(site, 1, 1.125, 2e6); /* +1 MW in the last (0.25 s) bin */
    const pseries *both[] = {gpu, site};
    const char *names[] = {"gpu_w", "site, total \"W\""};
    CU_ASSERT_EQUAL_FATAL(pseries_write_csv(path, both, names, 2, &err), MS_OK);
    const char *want = "time_s,gpu_w,\"site, total \"\"W\"\"\"\n"
                       "0,800,1500000\n"
                       "0.5,700,1500000\n"
                       "1,700,2500000\n";
    const char *got = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want))
        printf("\n  got:\n%s  expected:\n%s", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);

    /* Without names; one column. */
    CU_ASSERT_EQUAL(pseries_write_csv(path, both, NULL, 2, &err), MS_OK);
    got = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "time_s,power_w,power_w_2\n0,800,1500000\n0.5,700,1500000\n"
                                "1,700,2500000\n");
    CU_ASSERT_EQUAL(pseries_write_csv(path, both, NULL, 1, &err), MS_OK);
    got = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "time_s,power_w\n0,800\n0.5,700\n1,700\n");
    remove(path);

    /* Refusals: different grids, nothing to write, a path that cannot be. */
    pseries *other = make(0, 1.5, 0.5);
    const pseries *mixed[] = {gpu, other};
    ms_err_clear(&err);
    CU_ASSERT_EQUAL(pseries_write_csv(path, mixed, NULL, 2, &err), MS_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "different grids"));
    CU_ASSERT_EQUAL(fopen(path, "r"), NULL); /* nothing written */
    CU_ASSERT_EQUAL(pseries_write_csv(path, both, NULL, 0, &err), MS_EINVAL);
    const char *bad = "/nonexistent-megasim-dir/power.csv";
    ms_err_clear(&err);
    CU_ASSERT_EQUAL(pseries_write_csv(bad, both, names, 2, &err), MS_EIO);
    if (!strstr(err.msg, bad))
        printf("\n  message: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad));
    pseries_free(other);
    pseries_free(gpu);
    pseries_free(site);
}

/* ---- bad grids ---- */

static void test_bad_grid(void)
{
    static const struct {
        const char *what;
        double t0, t1, dt;
        const char *msg; /* part of the message */
    } cases[] = {
        {"empty span", 5, 5, 1, "must be after the start"},
        {"reversed span", 5, 4, 1, "must be after the start"},
        {"zero bins", 0, 10, 0, "dt_s must be > 0"},
        {"negative bins", 0, 10, -1, "dt_s must be > 0"},
        {"NaN start", NAN, 10, 1, "must be finite"},
        {"infinite end", 0, INFINITY, 1, "must be finite"},
        {"infinite bins", 0, 10, INFINITY, "must be finite"},
        {"one bin too many", 0, 1e8 + 1, 1, "more than 100000000"},
        {"far too many", 0, 1e9, 1, "use bins of at least 10 s"},
        {"too fine for the times", 1e12, 1e12 + 1, 1e-4, "too fine"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static char sentinel;
        pseries *ps = (pseries *)&sentinel; /* must come back NULL */
        ms_err err = {0};
        int rc = pseries_new(cases[i].t0, cases[i].t1, cases[i].dt, &ps, &err);
        int ok =
            rc == MS_EINVAL && err.code == MS_EINVAL && ps == NULL && strstr(err.msg, cases[i].msg);
        if (!ok)
            printf("\n  %s: rc %d, message \"%s\", expected MS_EINVAL and \"%s\"\n", cases[i].what,
                   rc, err.msg, cases[i].msg);
        CU_ASSERT(ok);
        if (ps != (pseries *)&sentinel)
            pseries_free(ps);
    }
}

static CU_TestInfo tests[] = {
    {"energy conserved bin by bin, every interval shape", test_energy_conserved},
    {"long intervals in O(1), empty bins stay empty", test_long_intervals},
    {"slivers at bin boundaries land in the right bin", test_boundaries},
    {"grid: short last bin, snapping to whole bins", test_grid},
    {"mean power per bin by hand", test_power_by_hand},
    {"stats of a step profile: peak, min, mean, drawdown, ramp", test_stats_steps},
    {"adding series with a scale; grid mismatch refused", test_add_series},
    {"CSV reads back; refusals name the path", test_csv},
    {"bad grids refused with a reason", test_bad_grid},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "pseries", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_pseries");
}
