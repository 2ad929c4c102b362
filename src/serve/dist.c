/* dist: see dist.h. A spec is split at its colons; each kind is one row
 * of the kinds table (name, the form shown in messages, its parser). A
 * table is read with io/csvtab into two arrays, the tokens and the
 * cumulative weights, and a draw is a binary search of the latter:
 * O(log n) per draw. (Walker's alias method would be O(1), at the cost of
 * a second table; lengths are drawn once per request, so the search is
 * not where a run spends its time.) */
#include "serve/dist.h"

#include <assert.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/num.h"
#include "io/csvtab.h"

#define MAX_TOKENS 1e8 /* no parameter or table row beyond 10^8 tokens */
/* A lognormal draw is capped here so that the conversion to int64_t is
 * defined whatever the tail gives. The cap is ln(10^15 / MEDIAN) / SIGMA
 * standard deviations of the underlying normal out: at least 4 at the
 * extremes allowed (MEDIAN 10^8, SIGMA 4), over 6 for MEDIAN <= 10^4.
 * dist_mean ignores it. */
#define MAX_DRAW   1e15
#define MAX_PARAMS 3 /* numbers after the kind */

/* The spec split at its colons: the kind and up to MAX_PARAMS numbers
 * as text (pointers into a copy of the spec). */
typedef struct fields {
    char buf[sizeof((dist *)0)->spec];
    const char *kind;
    const char *param[MAX_PARAMS];
    int nparams;      /* > MAX_PARAMS when there were too many */
    const char *rest; /* everything after "kind:", for table:FILE */
} fields;

typedef int (*parse_fn)(const fields *f, const char *what, const char *table_dir, dist *out,
                        ms_err *err);

static int parse_fixed(const fields *f, const char *what, const char *table_dir, dist *out,
                       ms_err *err);
static int parse_uniform(const fields *f, const char *what, const char *table_dir, dist *out,
                         ms_err *err);
static int parse_lognormal(const fields *f, const char *what, const char *table_dir, dist *out,
                           ms_err *err);
static int parse_table(const fields *f, const char *what, const char *table_dir, dist *out,
                       ms_err *err);
static int parse_scaled(const fields *f, const char *what, const char *table_dir, dist *out,
                        ms_err *err);

/* One list: the enum value, the name before the first colon, the form
 * shown in messages and the parser. dist_kinds() is built from it. */
#define DIST_KIND_MAP(X)                                                                           \
    X(DIST_FIXED, "fixed", "fixed:N", parse_fixed)                                                 \
    X(DIST_UNIFORM, "uniform", "uniform:A:B", parse_uniform)                                       \
    X(DIST_LOGNORMAL, "lognormal", "lognormal:MEDIAN:SIGMA[:MAX]", parse_lognormal)                \
    X(DIST_TABLE, "table", "table:FILE", parse_table)                                              \
    X(DIST_TABLE, "scaled", "scaled:MEAN:FILE", parse_scaled)

static const struct {
    dist_kind kind;
    const char *name, *form;
    parse_fn parse;
} kinds[] = {
#define KIND_ROW(k, name, form, fn) {k, name, form, fn},
    DIST_KIND_MAP(KIND_ROW)
#undef KIND_ROW
};

/* ", fixed:N, uniform:A:B, ..."; dist_kinds() skips the first ", ". */
static const char kinds_text[] =
#define KIND_TEXT(k, name, form, fn) ", " form
    DIST_KIND_MAP(KIND_TEXT)
#undef KIND_TEXT
    ;

const char *dist_kinds(void)
{
    return kinds_text + 2;
}

/* Parses text as a finite number with nothing before or after it. */
static int parse_number(const char *text, double *out)
{
    char *end;
    if (!text || !text[0] || text[0] == ' ' || text[0] == '\t')
        return -1;
    double v = num_strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Parses text as a whole number of tokens in [1, MAX_TOKENS]. */
static int parse_tokens(const char *text, double *out)
{
    double v;
    if (parse_number(text, &v) || v != floor(v) || v < 1 || v > MAX_TOKENS)
        return -1;
    *out = v;
    return 0;
}

/* Parses nparams numbers; fails when there are more or fewer. */
static int parse_params(const fields *f, int nparams, double *v)
{
    if (f->nparams != nparams)
        return -1;
    for (int i = 0; i < nparams; i++)
        if (parse_number(f->param[i], &v[i]))
            return -1;
    return 0;
}

static int parse_fixed(const fields *f, const char *what, const char *table_dir, dist *out,
                       ms_err *err)
{
    (void)table_dir;
    double v[1];
    if (f->nparams != 1 || parse_tokens(f->param[0], &v[0]))
        return ms_errf(err, MS_EINVAL,
                       "%s: expected fixed:N with N a whole number of tokens from 1 to 10^8, "
                       "got '%s'",
                       what, out->spec);
    out->a = out->b = v[0];
    return MS_OK;
}

static int parse_uniform(const fields *f, const char *what, const char *table_dir, dist *out,
                         ms_err *err)
{
    (void)table_dir;
    double v[2];
    if (f->nparams != 2 || parse_tokens(f->param[0], &v[0]) || parse_tokens(f->param[1], &v[1]))
        return ms_errf(err, MS_EINVAL,
                       "%s: expected uniform:A:B with A and B whole numbers of tokens from 1 to "
                       "10^8, got '%s'",
                       what, out->spec);
    if (v[1] < v[0])
        return ms_errf(err, MS_EINVAL, "%s: expected uniform:A:B with B >= A, got '%s'", what,
                       out->spec);
    out->a = v[0];
    out->b = v[1];
    return MS_OK;
}

static int parse_lognormal(const fields *f, const char *what, const char *table_dir, dist *out,
                           ms_err *err)
{
    (void)table_dir;
    double v[3] = {0, 0, INFINITY};
    if ((f->nparams != 2 && f->nparams != 3) || parse_params(f, f->nparams, v))
        return ms_errf(err, MS_EINVAL,
                       "%s: expected lognormal:MEDIAN:SIGMA or lognormal:MEDIAN:SIGMA:MAX with "
                       "numbers, got '%s'",
                       what, out->spec);
    if (v[0] < 1)
        return ms_errf(err, MS_EINVAL,
                       "%s: expected lognormal:MEDIAN:SIGMA with MEDIAN >= 1, got '%s'", what,
                       out->spec);
    if (v[0] > MAX_TOKENS)
        return ms_errf(err, MS_EINVAL,
                       "%s: expected lognormal:MEDIAN:SIGMA with MEDIAN <= 10^8 tokens, got '%s'",
                       what, out->spec);
    if (v[1] < 0 || v[1] > 4)
        return ms_errf(err, MS_EINVAL,
                       "%s: expected lognormal:MEDIAN:SIGMA with 0 <= SIGMA <= 4, got '%s'", what,
                       out->spec);
    if (f->nparams == 3 && (v[2] != floor(v[2]) || v[2] < 1 || v[2] > MAX_TOKENS))
        return ms_errf(err, MS_EINVAL,
                       "%s: expected lognormal:MEDIAN:SIGMA:MAX with MAX a whole number of tokens "
                       "from 1 to 10^8, got '%s'",
                       what, out->spec);
    out->a = v[0];
    out->b = v[1];
    out->cap = v[2];
    return MS_OK;
}

/* Reads the table's rows into out->tokens and out->cdf. */
static int load_table(const csvtab *t, dist *out, ms_err *err)
{
    const char *path = csvtab_path(t);
    int col_tokens = csvtab_find_col(t, "tokens");
    int col_weight = csvtab_find_col(t, "weight");
    if (col_tokens < 0 || col_weight < 0)
        return ms_errf(err, MS_EPARSE,
                       "%s:1: missing column '%s' in the header (a length table has columns "
                       "tokens, weight)",
                       path, col_tokens < 0 ? "tokens" : "weight");
    size_t n = csvtab_nrows(t);
    if (n == 0)
        return ms_errf(err, MS_EPARSE, "%s: no rows: a length table needs at least one", path);
    out->tokens = malloc(n * sizeof *out->tokens);
    out->cdf = malloc(n * sizeof *out->cdf);
    if (!out->tokens || !out->cdf)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
    out->n = n;
    double total = 0;
    for (size_t r = 0; r < n; r++) {
        int line = csvtab_row_line(t, r);
        if (csvtab_row_nfields(t, r) != csvtab_ncols(t))
            return ms_errf(err, MS_EPARSE, "%s:%d: row has %zu fields, the header has %zu", path,
                           line, csvtab_row_nfields(t, r), csvtab_ncols(t));
        const char *tok = csvtab_field(t, r, (size_t)col_tokens);
        const char *wt = csvtab_field(t, r, (size_t)col_weight);
        double tokens, weight;
        if (parse_tokens(tok, &tokens))
            return ms_errf(err, MS_EPARSE,
                           "%s:%d: column 'tokens': expected a whole number of tokens from 1 to "
                           "10^8, got \"%s\"",
                           path, line, tok);
        if (parse_number(wt, &weight) || weight < 0)
            return ms_errf(err, MS_EPARSE,
                           "%s:%d: column 'weight': expected a number >= 0, got \"%s\"", path, line,
                           wt);
        out->tokens[r] = (int64_t)tokens;
        total += weight;
        out->cdf[r] = total;
    }
    if (!(total > 0) || !isfinite(total))
        return ms_errf(err, MS_EPARSE,
                       "%s: column 'weight': the weights sum to %g: expected a positive, finite "
                       "total",
                       path, total);
    for (size_t r = 0; r < n; r++)
        out->cdf[r] /= total;
    /* Exactly 1, so that a uniform draw in [0, 1) always finds a row. */
    out->cdf[n - 1] = 1.0;
    return MS_OK;
}

/* Finds file (as given; else, for a relative path, under table_dir) and
 * reads it into out's rows. */
static int read_table(const char *file, const char *what, const char *table_dir, dist *out,
                      ms_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", file);
    if (access(file, F_OK) != 0 && file[0] != '/' && table_dir && table_dir[0]) {
        int len = snprintf(path, sizeof path, "%s/%s", table_dir, file);
        if (len < 0 || (size_t)len >= sizeof path)
            return ms_errf(err, MS_EINVAL, "%s: table path '%s/%s' is too long", what, table_dir,
                           file);
        if (access(path, F_OK) != 0)
            return ms_errf(err, MS_EIO, "%s: cannot find the table '%s' (nor '%s')", what, file,
                           path);
    }
    csvtab *t = NULL;
    int rc = csvtab_read(path, &t, err);
    if (!rc)
        rc = load_table(t, out, err);
    csvtab_free(t);
    return rc;
}

static int parse_table(const fields *f, const char *what, const char *table_dir, dist *out,
                       ms_err *err)
{
    const char *file = f->rest;
    if (!file || !file[0])
        return ms_errf(err, MS_EINVAL, "%s: expected table:FILE with a file name, got '%s'", what,
                       out->spec);
    return read_table(file, what, table_dir, out, err);
}

int64_t dist_scaled_tokens(int64_t tokens, double factor)
{
    double v = nearbyint((double)tokens * factor);
    return v < 1 ? 1 : v > MAX_TOKENS ? (int64_t)MAX_TOKENS : (int64_t)v;
}

/* scaled:MEAN:FILE: the table's rows, each length times MEAN over the
 * table's own mean, rounded and kept in [1, 10^8]. The number comes
 * first so that the rest, a file name, may hold colons. */
static int parse_scaled(const fields *f, const char *what, const char *table_dir, dist *out,
                        ms_err *err)
{
    const char *rest = f->rest ? f->rest : "";
    const char *colon = strchr(rest, ':');
    char num[64];
    double mean;
    if (!colon || colon == rest || (size_t)(colon - rest) >= sizeof num || !colon[1])
        return ms_errf(err, MS_EINVAL,
                       "%s: expected scaled:MEAN:FILE (a mean in tokens, then a length table), "
                       "got '%s'",
                       what, out->spec);
    memcpy(num, rest, (size_t)(colon - rest));
    num[colon - rest] = '\0';
    if (parse_number(num, &mean) || mean < 1 || mean > MAX_TOKENS)
        return ms_errf(err, MS_EINVAL,
                       "%s: expected scaled:MEAN:FILE with MEAN a number of tokens from 1 to "
                       "10^8, got '%s'",
                       what, out->spec);
    int rc = read_table(colon + 1, what, table_dir, out, err);
    if (rc)
        return rc;
    double factor = mean / dist_mean(out);
    for (size_t i = 0; i < out->n; i++)
        out->tokens[i] = dist_scaled_tokens(out->tokens[i], factor);
    return MS_OK;
}

/* Splits spec (already copied to out->spec) at its colons into *f. */
static void split(const char *spec, fields *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->buf, sizeof f->buf, "%s", spec);
    f->kind = f->buf;
    char *colon = strchr(f->buf, ':');
    if (!colon)
        return;
    *colon = '\0';
    f->rest = spec + (colon - f->buf) + 1;
    for (char *p = colon + 1;; f->nparams++) {
        char *next = strchr(p, ':');
        if (f->nparams < MAX_PARAMS)
            f->param[f->nparams] = p;
        if (!next) {
            f->nparams++;
            break;
        }
        *next = '\0';
        p = next + 1;
    }
}

int dist_parse(const char *spec, const char *what, const char *table_dir, dist *out, ms_err *err)
{
    fields f;
    memset(out, 0, sizeof *out);
    if (!what)
        what = "length";
    if (!spec)
        spec = "";
    if (strlen(spec) >= sizeof out->spec)
        return ms_errf(err, MS_EINVAL,
                       "%s: the distribution '%.40s...' is longer than %zu characters", what, spec,
                       sizeof out->spec - 1);
    snprintf(out->spec, sizeof out->spec, "%s", spec);
    split(out->spec, &f);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(f.kind, kinds[i].name) == 0) {
            out->kind = kinds[i].kind;
            int rc = kinds[i].parse(&f, what, table_dir, out, err);
            if (rc)
                dist_free(out);
            return rc;
        }
    return ms_errf(err, MS_EINVAL, "%s: unknown distribution '%s': expected one of %s", what, spec,
                   dist_kinds());
}

void dist_free(dist *d)
{
    if (!d)
        return;
    free(d->tokens);
    free(d->cdf);
    memset(d, 0, sizeof *d);
}

/* The first row whose cumulative weight exceeds u in [0, 1): rows of
 * zero weight are never picked. */
static size_t table_row(const dist *d, double u)
{
    size_t lo = 0, hi = d->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int64_t dist_sample(const dist *d, rng *r)
{
    switch (d->kind) {
    case DIST_FIXED:
        return (int64_t)d->a;
    case DIST_UNIFORM:
        return (int64_t)d->a + (int64_t)rng_below(r, (uint64_t)(d->b - d->a) + 1);
    case DIST_LOGNORMAL: {
        double x = gsl_ran_lognormal(rng_gsl(r), log(d->a), d->b);
        x = nearbyint(fmin(x, d->cap));
        if (!(x >= 1)) /* also catches a NaN, though none can come */
            return 1;
        return (int64_t)(x < MAX_DRAW ? x : MAX_DRAW);
    }
    case DIST_TABLE:
        assert(d->n > 0);
        return d->tokens[table_row(d, rng_uniform(r))];
    }
    assert(0 && "dist_sample: unknown kind");
    return 1;
}

double dist_lognormal_clipped_moment(double median, double sigma, double cap, int k)
{
    double mu = log(median), raw = exp(k * mu + k * k * sigma * sigma / 2);
    if (!(cap < INFINITY))
        return raw;
    double z = log(cap) - mu;
    if (sigma == 0) /* a point at the median, or at the cap below it */
        return pow(fmin(median, cap), k);
    /* E[min(X, M)^k] = E[X^k; X < M] + M^k P(X >= M), the first term the
     * k-th raw moment times Phi((ln M - mu - k sigma^2) / sigma). */
    return raw * gsl_cdf_ugaussian_P((z - k * sigma * sigma) / sigma) +
           pow(cap, k) * gsl_cdf_ugaussian_Q(z / sigma);
}

double dist_mean(const dist *d)
{
    switch (d->kind) {
    case DIST_FIXED:
        return d->a;
    case DIST_UNIFORM:
        return (d->a + d->b) / 2;
    case DIST_LOGNORMAL:
        return dist_lognormal_clipped_moment(d->a, d->b, d->cap, 1);
    case DIST_TABLE: {
        double mean = 0, prev = 0;
        for (size_t i = 0; i < d->n; i++) {
            mean += (double)d->tokens[i] * (d->cdf[i] - prev);
            prev = d->cdf[i];
        }
        return mean;
    }
    }
    assert(0 && "dist_mean: unknown kind");
    return NAN;
}

double dist_mean_square(const dist *d)
{
    double m = dist_mean(d);
    switch (d->kind) {
    case DIST_FIXED:
        return d->a * d->a;
    case DIST_UNIFORM: { /* integers a..b: variance ((b - a + 1)^2 - 1) / 12 */
        double n = d->b - d->a + 1;
        return (n * n - 1) / 12 + m * m;
    }
    case DIST_LOGNORMAL:
        return dist_lognormal_clipped_moment(d->a, d->b, d->cap, 2);
    case DIST_TABLE: {
        double s = 0, prev = 0;
        for (size_t i = 0; i < d->n; i++) {
            double t = (double)d->tokens[i];
            s += t * t * (d->cdf[i] - prev);
            prev = d->cdf[i];
        }
        return s;
    }
    }
    assert(0 && "dist_mean_square: unknown kind");
    return NAN;
}
