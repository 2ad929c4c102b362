/* kfit: see kfit.h. Parameters are kept in range by construction:
 * eta = 1 / (1 + exp(-u)) is in (0, 1), overhead = v^2 microseconds is
 * >= 0. A weak pull (1e-3) towards the starting point keeps the problem
 * well posed when the rows say nothing about a parameter (all of them
 * memory-bound, say); such a parameter is then left blank, not written.
 * A fixed cost per operation can only be told apart from a rate when the
 * rows include a timed launch or kernels whose times differ by ten times
 * or more; otherwise the overhead is held at zero (two large GEMMs of
 * slightly different rates would else be "explained" by a cost of tens
 * of microseconds each). */
#include "hw/kfit.h"

#include <csv.h>
#include <errno.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"
#include "hw/calib.h"
#include "io/afile.h"
#include "io/csvtab.h"

#define PRIOR_WEIGHT 1e-3
static const double u0 = 1.3862943611198906; /* eta = 0.8 */
static const double v0 = 1.0;                /* 1 us */

static int same_group(const kmeas_row *a, const kmeas_row *b)
{
    return strcmp(a->chip->family, b->chip->family) == 0 && strcmp(a->kind, b->kind) == 0 &&
           kmeas_prec_key(a) == kmeas_prec_key(b);
}

int kfit_held_out(const kmeas_set *set, size_t i)
{
    size_t before = 0;
    for (size_t j = 0; j < i; j++)
        before += same_group(kmeas_at(set, j), kmeas_at(set, i));
    return before % 5 == 4;
}

static roof_eff eff_of(const gsl_vector *x, double overlap_p)
{
    double v = gsl_vector_get(x, 2);
    return (roof_eff){.compute = 1 / (1 + exp(-gsl_vector_get(x, 0))),
                      .memory = 1 / (1 + exp(-gsl_vector_get(x, 1))),
                      .overhead_s = v * v * 1e-6,
                      .overlap_p = overlap_p,
                      .overhead_source = "fit"};
}

typedef struct fit_ctx {
    const kmeas_row **rows;
    size_t n;
    int overhead_free; /* the rows can pin a fixed cost down */
    double overlap_p;  /* the exponent every group is fitted at */
} fit_ctx;

/* 1 if rows[0..n) can tell a fixed cost from a rate: a timed row, or
 * shaped rows whose times at peak span a factor of ten or more. */
static int overhead_identifiable(const kmeas_row *const *rows, size_t n)
{
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < n; i++) {
        const kmeas_row *r = rows[i];
        if (r->metric == KMEAS_TIME)
            return 1;
        if (isnan(r->bytes) || isnan(r->flops))
            continue;
        roof_op op = {.kind = r->kind, .prec = r->prec, .flops = r->flops, .bytes = r->bytes};
        roof_eff peak = ROOF_EFF_PEAK;
        roof_result res;
        if (roof_time(r->chip, &op, &peak, &res, NULL) != MS_OK || !(res.time_s > 0))
            continue;
        lo = fmin(lo, res.time_s);
        hi = fmax(hi, res.time_s);
    }
    return hi >= 10 * lo;
}

/* log(predicted / measured) of row r at e; 10 (a large miss) where the
 * prediction is no positive number. */
static double log_error(const kmeas_row *r, const roof_eff *e)
{
    double p = kmeas_predict(r, e);
    return isfinite(p) && p > 0 ? log(p / r->measured) : 10.0;
}

static int residuals(const gsl_vector *x, void *data, gsl_vector *f)
{
    const fit_ctx *ctx = data;
    roof_eff e = eff_of(x, ctx->overlap_p);
    for (size_t i = 0; i < ctx->n; i++)
        gsl_vector_set(f, i, log_error(ctx->rows[i], &e));
    gsl_vector_set(f, ctx->n + 0, PRIOR_WEIGHT * (gsl_vector_get(x, 0) - u0));
    gsl_vector_set(f, ctx->n + 1, PRIOR_WEIGHT * (gsl_vector_get(x, 1) - u0));
    gsl_vector_set(f, ctx->n + 2,
                   ctx->overhead_free ? PRIOR_WEIGHT * (gsl_vector_get(x, 2) - v0)
                                      : 1e3 * gsl_vector_get(x, 2)); /* held at zero */
    return GSL_SUCCESS;
}

/* Which of the three figures the rows pin down at the fitted point. */
static void identified(kfit_group *g, const fit_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n; i++) {
        const kmeas_row *r = ctx->rows[i];
        if (r->metric == KMEAS_TIME) {
            g->has_overhead = 1;
            continue;
        }
        if (isnan(r->bytes) || isnan(r->flops)) {
            if (r->metric == KMEAS_BYTE_RATE)
                g->has_memory = 1;
            else
                g->has_compute = 1;
            continue;
        }
        roof_op op = {.kind = r->kind, .prec = r->prec, .flops = r->flops, .bytes = r->bytes};
        roof_result res;
        if (roof_time(r->chip, &op, &g->eff, &res, NULL) != MS_OK)
            continue;
        if (res.bound == ROOF_COMPUTE)
            g->has_compute = 1;
        else
            g->has_memory = 1;
        g->has_overhead |= ctx->overhead_free;
    }
}

/* g's figure d (0 compute, 1 memory, 2 overhead in s) times exp(t). */
static roof_eff scaled(const roof_eff *e, int d, double t)
{
    roof_eff s = *e;
    if (d == 0)
        s.compute *= exp(t);
    else if (d == 1)
        s.memory *= exp(t);
    else
        s.overhead_s *= exp(t);
    return s;
}

/* g->log_cov: GSL's (J^T J)^-1 over the rows fitted, J by central
 * differences in the logs of the figures the rows pin down (one-sided
 * where a step up would pass the peak). */
static void fit_covariance(kfit_group *g, const fit_ctx *ctx)
{
    const double step = 1e-4;
    int dims[3], k = 0;
    int pinned[3] = {g->has_compute, g->has_memory, g->has_overhead && g->eff.overhead_s > 0};
    for (int d = 0; d < 3; d++)
        if (pinned[d])
            dims[k++] = d;
    for (int i = 0; i < 6; i++)
        g->log_cov[i] = NAN;
    if (k == 0 || ctx->n == 0)
        return;
    gsl_matrix *J = gsl_matrix_alloc(ctx->n, (size_t)k),
               *C = gsl_matrix_alloc((size_t)k, (size_t)k);
    if (!J || !C)
        goto out;
    for (int c = 0; c < k; c++) {
        int d = dims[c];
        double eta = d == 0 ? g->eff.compute : g->eff.memory;
        double up = d == 2 || eta * exp(step) <= 1 ? step : 0; /* efficiencies stay at most 1 */
        roof_eff hi = scaled(&g->eff, d, up), lo = scaled(&g->eff, d, -step);
        double most = 0;
        for (size_t i = 0; i < ctx->n; i++) {
            double dj = (log_error(ctx->rows[i], &hi) - log_error(ctx->rows[i], &lo)) / (up + step);
            gsl_matrix_set(J, i, (size_t)c, dj);
            most = fmax(most, fabs(dj));
        }
        /* A figure that moves no row's time by a thousandth per unit of its
         * log (an overhead fitted to next to nothing) is not pinned down:
         * its column would only say so with a variance past any meaning. */
        if (most < 1e-3) {
            for (int m = c + 1; m < k; m++)
                dims[m - 1] = dims[m];
            k--;
            c--;
        }
    }
    if (k == 0)
        goto out;
    gsl_matrix_view Jk = gsl_matrix_submatrix(J, 0, 0, ctx->n, (size_t)k);
    gsl_matrix_view Ck = gsl_matrix_submatrix(C, 0, 0, (size_t)k, (size_t)k);
    if (gsl_multifit_nlinear_covar(&Jk.matrix, 1e-10, &Ck.matrix) != GSL_SUCCESS)
        goto out;
    for (int i = 0; i < 6; i++)
        g->log_cov[i] = 0;
    for (int a = 0; a < k; a++)
        for (int b = a; b < k; b++)
            g->log_cov[calib_cov_at(dims[a], dims[b])] =
                gsl_matrix_get(&Ck.matrix, (size_t)a, (size_t)b);
out:
    if (J)
        gsl_matrix_free(J);
    if (C)
        gsl_matrix_free(C);
}

static int fit_group(kfit_group *g, const fit_ctx *ctx, ms_err *err)
{
    const size_t p = 3, n = ctx->n + p;
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, n, p);
    gsl_vector *x = gsl_vector_alloc(p);
    int rc = MS_OK;
    if (!w || !x) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    gsl_vector_set(x, 0, u0);
    gsl_vector_set(x, 1, u0);
    gsl_vector_set(x, 2, ctx->overhead_free ? v0 : 0);
    gsl_multifit_nlinear_fdf fdf = {
        .f = residuals, .df = NULL, .fvv = NULL, .n = n, .p = p, .params = (void *)ctx};
    int info;
    gsl_multifit_nlinear_init(x, &fdf, w);
    int status = gsl_multifit_nlinear_driver(500, 1e-10, 1e-10, 1e-10, NULL, NULL, &info, w);
    if (status != GSL_SUCCESS && status != GSL_EMAXITER) {
        rc = ms_errf(err, MS_EINVAL, "fit of %s %s failed: %s", g->family, g->kind,
                     gsl_strerror(status));
        goto out;
    }
    g->eff = eff_of(gsl_multifit_nlinear_position(w), ctx->overlap_p);
    g->eff.overhead_source = NULL;
    identified(g, ctx);
    fit_covariance(g, ctx);
    g->ss = 0;
    for (size_t i = 0; i < ctx->n; i++) {
        double e = log_error(ctx->rows[i], &g->eff);
        g->ss += e * e;
    }
out:
    gsl_vector_free(x);
    if (w)
        gsl_multifit_nlinear_free(w);
    return rc;
}

double kfit_spread(double ss, size_t n, size_t p)
{
    return n > p ? sqrt(ss / (double)(n - p)) : NAN;
}

/* The spread of the residuals of the group of set's row first at g's
 * fitted figures: every row of the group, held out or not. */
static double group_spread(const kmeas_set *set, size_t first, const kfit_group *g)
{
    const kmeas_row *a = kmeas_at(set, first);
    double ss = 0;
    size_t n = 0;
    for (size_t j = first; j < kmeas_count(set); j++) {
        const kmeas_row *r = kmeas_at(set, j);
        if (!same_group(r, a))
            continue;
        double p = kmeas_predict(r, &g->eff);
        if (!(isfinite(p) && p > 0))
            continue;
        double e = log(p / r->measured);
        ss += e * e;
        n++;
    }
    return kfit_spread(ss, n, (size_t)(g->has_compute + g->has_memory + g->has_overhead));
}

static void add_chip(char *list, size_t cap, const char *name)
{
    if (names_has(list, name))
        return;
    size_t used = strlen(list);
    snprintf(list + used, cap - used, "%s%s", used ? ";" : "", name);
}

/* Fits every group of set at overlap exponent p into g (room for every
 * row), their count in *ng; *ss the sum of squared log residuals over
 * the rows fitted. rows: scratch room for every row. */
static int fit_all(const kmeas_set *set, double p, kfit_group *g, size_t *ng, double *ss,
                   const kmeas_row **rows, ms_err *err)
{
    size_t n = kmeas_count(set), k = 0;
    int rc = MS_OK;
    *ss = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const kmeas_row *first = kmeas_at(set, i);
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_group(kmeas_at(set, j), first);
        if (seen)
            continue;
        kfit_group *grp = &g[k++];
        memset(grp, 0, sizeof *grp);
        snprintf(grp->family, sizeof grp->family, "%s", first->chip->family);
        snprintf(grp->kind, sizeof grp->kind, "%s", first->kind);
        grp->prec_key = kmeas_prec_key(first);
        fit_ctx ctx = {.rows = rows, .n = 0, .overlap_p = p};
        for (size_t j = i; j < n; j++) {
            const kmeas_row *r = kmeas_at(set, j);
            if (!same_group(r, first))
                continue;
            if (kfit_held_out(set, j)) {
                grp->nheld++;
                continue;
            }
            rows[ctx.n++] = r;
            add_chip(grp->measured_on, sizeof grp->measured_on, r->chip->name);
        }
        grp->ntrain = ctx.n;
        ctx.overhead_free = overhead_identifiable(ctx.rows, ctx.n);
        rc = fit_group(grp, &ctx, err);
        if (!rc) {
            grp->log_sd = group_spread(set, i, grp);
            *ss += grp->ss;
        }
    }
    *ng = k;
    return rc;
}

const double kfit_overlap_grid[KFIT_OVERLAP_N] = {0, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 6};

/* The shared exponent's sum of squares at p, for GSL's minimizer: every
 * group fitted at p into g, the sum over the groups of few rows. */
typedef struct shared_ctx {
    const kmeas_set *set;
    const kmeas_row **rows;
    kfit_group *g;
    const kfit_group *grid0; /* the fit at the grid's first exponent: which groups are few */
    int rc;
    ms_err *err;
} shared_ctx;

static double shared_ss(double p, void *arg)
{
    shared_ctx *c = arg;
    size_t ng = 0;
    double all = 0, ss = 0;
    if (c->rc || (c->rc = fit_all(c->set, p, c->g, &ng, &all, c->rows, c->err)))
        return GSL_POSINF;
    for (size_t g = 0; g < ng; g++)
        if (c->grid0[g].ntrain < KFIT_OWN_P_ROWS)
            ss += c->g[g].ss;
    return ss;
}

double kfit_refine_p(double p_lo, double ss_lo, double p_mid, double ss_mid, double p_hi,
                     double ss_hi, double (*ss_at)(double p, void *arg), void *arg,
                     double *ss_least)
{
    *ss_least = ss_mid;
    if (!(p_lo >= 1 && p_lo < p_mid && p_mid < p_hi && ss_mid < ss_lo && ss_mid < ss_hi))
        return p_mid;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_min_fminimizer *m = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    gsl_function f = {.function = ss_at, .params = arg};
    double p = p_mid;
    if (m && gsl_min_fminimizer_set_with_values(m, &f, p_mid, ss_mid, p_lo, ss_lo, p_hi, ss_hi) ==
                 GSL_SUCCESS) {
        for (int it = 0; it < 60; it++) {
            if (gsl_min_fminimizer_iterate(m) != GSL_SUCCESS)
                break;
            p = gsl_min_fminimizer_x_minimum(m);
            *ss_least = gsl_min_fminimizer_f_minimum(m);
            if (gsl_min_test_interval(gsl_min_fminimizer_x_lower(m), gsl_min_fminimizer_x_upper(m),
                                      KFIT_P_TOL, 0) == GSL_SUCCESS)
                break;
        }
    }
    if (m)
        gsl_min_fminimizer_free(m);
    gsl_set_error_handler(old);
    return p;
}

int kfit_run(const kmeas_set *set, kfit_group **groups, size_t *ngroups, kfit_overlap *ov,
             ms_err *err)
{
    size_t n = kmeas_count(set), ng = 0;
    /* at[i]: every group fitted at the grid's exponent i; the groups come
     * in file order whatever the exponent. */
    kfit_group *at[KFIT_OVERLAP_N] = {0};
    const kmeas_row **rows = calloc(n ? n : 1, sizeof *rows);
    kfit_overlap o = {0};
    int rc = rows ? MS_OK : ms_errf(err, MS_ENOMEM, "out of memory");
    *groups = NULL;
    *ngroups = 0;
    for (size_t i = 0; i < KFIT_OVERLAP_N && !rc; i++) {
        double ss;
        if (!(at[i] = calloc(n ? n : 1, sizeof *at[i])))
            rc = ms_errf(err, MS_ENOMEM, "out of memory");
        else
            rc = fit_all(set, kfit_overlap_grid[i], at[i], &ng, &ss, rows, err);
    }
    if (rc)
        goto out;
    /* One exponent for the groups of few rows: few of them hold rows near
     * their ridge point, where alone it shows, and the rest would take
     * any; the grid's least sum of squares over their rows wins, the
     * first (max) on a tie. A group of many rows across shapes (a GEMM
     * table over a grid of sizes) shows its own and takes it, so that it
     * neither decides the others' nor is held to theirs. */
    size_t bi = 0;
    for (size_t i = 0; i < KFIT_OVERLAP_N; i++) {
        for (size_t g = 0; g < ng; g++)
            if (at[0][g].ntrain < KFIT_OWN_P_ROWS)
                o.ss[i] += at[i][g].ss;
        if (i > 0 && o.ss[i] < o.ss[bi] - 1e-12)
            bi = i;
    }
    o.p_grid = kfit_overlap_grid[bi];
    /* The exponent is a continuous figure: between the grid's neighbours
     * of the best, GSL's Brent minimizer finds the least sum of squares,
     * so that two nearly equal sums on the grid do not flip every
     * group's figures from one calibration to the next. */
    kfit_group *refit = calloc(n ? n : 1, sizeof *refit);
    if (!refit) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    o.p = o.p_refined = o.p_grid;
    o.ss_p = o.ss_refined = o.ss[bi];
    if (bi >= 2 && bi + 1 < KFIT_OVERLAP_N) {
        shared_ctx sc = {.set = set, .rows = rows, .g = refit, .grid0 = at[0], .err = err};
        o.p_refined =
            kfit_refine_p(kfit_overlap_grid[bi - 1], o.ss[bi - 1], kfit_overlap_grid[bi], o.ss[bi],
                          kfit_overlap_grid[bi + 1], o.ss[bi + 1], shared_ss, &sc, &o.ss_refined);
        /* Stored to the nearest step: roofline times an operation at
         * such an exponent without pow (roof_combine), and the sums
         * differ in the third digit across a step. */
        o.p = round(o.p_refined / KFIT_P_STEP) * KFIT_P_STEP;
        rc = sc.rc;
    }
    if (!rc && o.p != o.p_grid) {
        size_t ng2 = 0;
        double all = 0;
        rc = fit_all(set, o.p, refit, &ng2, &all, rows, err);
        o.ss_p = 0;
        for (size_t g = 0; g < ng && !rc; g++)
            if (at[0][g].ntrain < KFIT_OWN_P_ROWS)
                o.ss_p += refit[g].ss;
    }
    kfit_group *chosen = rc ? NULL : calloc(ng ? ng : 1, sizeof *chosen);
    if (!chosen) {
        free(refit);
        if (!rc)
            rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t g = 0; g < ng; g++) {
        if (at[0][g].ntrain < KFIT_OWN_P_ROWS && o.p != o.p_grid) {
            chosen[g] = refit[g];
            continue;
        }
        size_t best = bi;
        if (at[0][g].ntrain >= KFIT_OWN_P_ROWS) {
            best = 0;
            for (size_t i = 1; i < KFIT_OVERLAP_N; i++)
                if (at[i][g].ss < at[best][g].ss - 1e-12)
                    best = i;
            o.own++;
        }
        chosen[g] = at[best][g];
    }
    free(refit);
    *groups = chosen;
    *ngroups = ng;
    if (ov)
        *ov = o;
out:
    for (size_t i = 0; i < KFIT_OVERLAP_N; i++)
        free(at[i]);
    free(rows);
    return rc;
}

/* One CSV field, quoted only when it must be. */
static void put(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\n"))
        csv_fwrite(f, s, strlen(s));
    else
        fputs(s, f);
    fputc(last ? '\n' : ',', f);
}

static int replaced(const kfit_group *groups, size_t n, const char *family, const char *kind,
                    const char *prec)
{
    for (size_t i = 0; i < n; i++) {
        const char *gp = groups[i].prec_key < 0 ? "*" : ms_prec_name((ms_prec)groups[i].prec_key);
        if (strcmp(groups[i].family, family) == 0 && strcmp(groups[i].kind, kind) == 0 &&
            strcmp(gp, prec) == 0)
            return 1;
    }
    return 0;
}

int kfit_write(const char *in_path, const char *out_path, const kfit_group *groups, size_t n,
               const char *what, ms_err *err)
{
    csvtab *t = NULL;
    afile *af = NULL;
    /* Read, kept and written back: the output's directory is locked from
     * the read to the write, so two calibrations take turns. */
    int lock = -1, rc = afile_lock(out_path, &lock, err);
    if (!rc)
        rc = csvtab_read(in_path, &t, err);
    if (rc)
        goto out;
    static const char *const cols[] = {"family",     "op_kind",     "precision", "compute_eff",
                                       "memory_eff", "overhead_us", "log_sd",    "log_cov",
                                       "overlap_p",  "measured_on", "source"};
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    int at[NCOLS];
    for (size_t c = 0; c < NCOLS; c++)
        at[c] = csvtab_find_col(t, cols[c]);
    for (size_t c = 0; c < 3; c++)
        if (at[c] < 0) {
            rc = ms_errf(err, MS_EPARSE, "%s:1: missing column '%s' in the header", in_path,
                         cols[c]);
            goto out;
        }
    if ((rc = afile_open(out_path, &af, err)))
        goto out;
    FILE *f = afile_stream(af);
    for (size_t c = 0; c < NCOLS; c++)
        put(f, cols[c], c + 1 == NCOLS);
    for (size_t r = 0; r < csvtab_nrows(t); r++) {
        if (replaced(groups, n, csvtab_field(t, r, (size_t)at[0]),
                     csvtab_field(t, r, (size_t)at[1]), csvtab_field(t, r, (size_t)at[2])))
            continue;
        for (size_t c = 0; c < NCOLS; c++) {
            const char *v = at[c] >= 0 ? csvtab_field(t, r, (size_t)at[c]) : NULL;
            put(f, v ? v : "", c + 1 == NCOLS);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const kfit_group *g = &groups[i];
        char ce[32] = "", me[32] = "", oh[32] = "", sd[32] = "", op[32] = "", cov[128] = "",
             src[512];
        if (g->has_compute)
            snprintf(ce, sizeof ce, "%.4f", g->eff.compute);
        if (g->has_memory)
            snprintf(me, sizeof me, "%.4f", g->eff.memory);
        if (g->has_overhead)
            snprintf(oh, sizeof oh, "%.3f", g->eff.overhead_s * 1e6);
        if (!isnan(g->log_sd))
            snprintf(sd, sizeof sd, "%.4f", g->log_sd);
        if (g->eff.overlap_p > 0)
            snprintf(op, sizeof op, "%g", g->eff.overlap_p);
        if (!isnan(g->log_cov[0]))
            for (int c = 0; c < 6; c++)
                snprintf(cov + strlen(cov), sizeof cov - strlen(cov), "%s%.4g", c ? ";" : "",
                         g->log_cov[c]);
        if (!g->has_compute && !g->has_memory && !g->has_overhead)
            continue;
        snprintf(src, sizeof src,
                 "fitted by 'megasim calibrate' (GSL least squares on log rates) to %zu kernel "
                 "rows of %s, %zu more held out; each row's own source is in that file",
                 g->ntrain, what, g->nheld);
        put(f, g->family, 0);
        put(f, g->kind, 0);
        put(f, g->prec_key < 0 ? "*" : ms_prec_name((ms_prec)g->prec_key), 0);
        put(f, ce, 0);
        put(f, me, 0);
        put(f, oh, 0);
        put(f, sd, 0);
        put(f, cov, 0);
        put(f, op, 0);
        put(f, g->measured_on, 0);
        put(f, src, 1);
    }
    rc = afile_commit(af, err);
    af = NULL;
out:
    afile_abort(af);
    afile_unlock(lock);
    csvtab_free(t);
    return rc;
}
