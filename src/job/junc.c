/* junc: see junc.h. The draws are kept whole (nkeys x ndraws numbers) and
 * sorted for each band; at the N of a user's run (tens to hundreds) that
 * is nothing beside the runs themselves. */
#include "job/junc.h"

#include <gsl/gsl_rng.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/jsonfile.h"

struct junc {
    const junc_key *keys;
    size_t nkeys, ndraws;
    double *v; /* v[k * ndraws + d]: key k in draw d; NAN where the draw lacks it */
};

int junc_new(const junc_key *keys, size_t nkeys, size_t ndraws, junc **out, ms_err *err)
{
    *out = NULL;
    junc *u = calloc(1, sizeof *u);
    if (u)
        u->v = malloc((nkeys * ndraws > 0 ? nkeys * ndraws : 1) * sizeof *u->v);
    if (!u || !u->v) {
        junc_free(u);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    u->keys = keys;
    u->nkeys = nkeys;
    u->ndraws = ndraws;
    for (size_t i = 0; i < nkeys * ndraws; i++)
        u->v[i] = NAN;
    *out = u;
    return MS_OK;
}

void junc_free(junc *u)
{
    if (!u)
        return;
    free(u->v);
    free(u);
}

size_t junc_draws(const junc *u)
{
    return u->ndraws;
}

int junc_calib(const calib *cal, uint64_t seed, size_t d, calib **out, ms_err *err)
{
    rng *g = NULL;
    int rc = rng_new_stream(&g, seed, JUNC_STREAM + (uint64_t)d, err);
    if (!rc)
        rc = calib_draw(cal, g, out, err);
    rng_free(g);
    return rc;
}

int junc_net(const coll_params *net, uint64_t seed, size_t d, coll_params *out, ms_err *err)
{
    rng *g = NULL;
    int rc = rng_new_stream(&g, seed, JUNC_NET_STREAM + (uint64_t)d, err);
    if (!rc)
        coll_params_draw(net, rng_gsl(g), out);
    rng_free(g);
    return rc;
}

int junc_power_u(uint64_t seed, size_t d, double *u, ms_err *err)
{
    rng *g = NULL;
    int rc = rng_new_stream(&g, seed, JUNC_POWER_STREAM + (uint64_t)d, err);
    *u = rc ? NAN : gsl_rng_uniform(rng_gsl(g));
    rng_free(g);
    return rc;
}

void junc_add(junc *u, size_t d, const cJSON *run)
{
    if (d >= u->ndraws)
        return;
    for (size_t k = 0; k < u->nkeys; k++)
        u->v[k * u->ndraws + d] = jsonfile_num_at(run, u->keys[k].path);
}

int junc_add_report(junc *u, size_t d, const report *r, ms_err *err)
{
    cJSON *js = report_json(r);
    if (!js)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    junc_add(u, d, js);
    cJSON_Delete(js);
    return MS_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double junc_quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

static const char *band_name(const junc_key *k)
{
    return k->band ? k->band : k->path;
}

size_t junc_band(const junc *u, const char *key, double *p10, double *p50, double *p90)
{
    *p10 = *p50 = *p90 = NAN;
    size_t k = 0;
    while (k < u->nkeys && strcmp(band_name(&u->keys[k]), key) != 0)
        k++;
    if (k == u->nkeys)
        return 0;
    double *x = malloc((u->ndraws ? u->ndraws : 1) * sizeof *x);
    size_t n = 0;
    for (size_t d = 0; x && d < u->ndraws; d++)
        if (isfinite(u->v[k * u->ndraws + d]))
            x[n++] = u->v[k * u->ndraws + d];
    if (n) {
        *p10 = junc_quantile(x, n, 0.1);
        *p50 = junc_quantile(x, n, 0.5);
        *p90 = junc_quantile(x, n, 0.9);
    }
    free(x);
    return n;
}

void junc_report(const junc *u, uint64_t seed, report *r)
{
    char title[200];
    snprintf(title, sizeof title,
             "uncertainty: 10th, 50th and 90th percentiles over %zu draws of every kernel "
             "and network efficiency",
             u->ndraws);
    report_begin(r, NULL, title);
    report_int(r, "uncertainty_draws", "draws", (int64_t)u->ndraws, "");
    report_int(r, "uncertainty_seed", "seed", (int64_t)seed, "");
    static const char *const suffix[3] = {"p10", "p50", "p90"};
    for (size_t k = 0; k < u->nkeys; k++) {
        const junc_key *key = &u->keys[k];
        double p[3];
        if (!junc_band(u, band_name(key), &p[0], &p[1], &p[2]))
            continue;
        for (int i = 0; i < 3; i++) {
            char name[160], label[200];
            snprintf(name, sizeof name, "%s_%s", band_name(key), suffix[i]);
            snprintf(label, sizeof label, "%s, %s", key->label, suffix[i]);
            report_num(r, name, label, p[i], key->unit);
        }
    }
    report_end(r);
}
