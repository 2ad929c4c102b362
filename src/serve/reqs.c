/* reqs: see reqs.h. A generated stream holds only its position (time and
 * requests made) and three random streams: gaps, prompt lengths and
 * output lengths, so a million requests cost no memory and a different
 * rate leaves the lengths drawn as they were. A trace is read whole into
 * one array of requests (24 bytes a row). */
#include "serve/reqs.h"

#include <assert.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"
#include "core/sim.h"
#include "io/csvtab.h"

#define MAX_TOKENS 1e8 /* as dist.c: no length beyond 10^8 tokens */

/* The random streams of one seed: rng_new_stream(seed, STREAM_*). */
enum { STREAM_GAPS = 0, STREAM_INPUT = 1, STREAM_OUTPUT = 2 };

struct reqs {
    reqs_kind kind;
    double mean_gap_s;  /* POISSON, BURSTY: 1 / rate */
    double gamma_shape; /* BURSTY: 1 / CV^2 */
    double gamma_scale; /* BURSTY: mean gap / shape, in seconds */
    const dist *input_len, *output_len;
    int64_t count;     /* 0 = none */
    double duration_s; /* 0 = none */
    rng *gaps, *input, *output;
    req *trace; /* TRACE: the rows, n of them (after truncation to count) */
    size_t n;
    /* Position. */
    int64_t made;
    double t_s;
    int done;
};

static int check_spec(const reqs_spec *s, ms_err *err)
{
    int open_loop = s->kind == REQS_POISSON || s->kind == REQS_BURSTY;
    if (open_loop && !(s->rate_per_s > 0 && isfinite(s->rate_per_s)))
        return ms_errf(err, MS_EUSAGE,
                       "--rate: expected a finite number of requests per second > 0, got %g",
                       s->rate_per_s);
    if (s->kind == REQS_BURSTY && !(s->burst_cv > 0 && isfinite(s->burst_cv)))
        return ms_errf(err, MS_EUSAGE,
                       "--burstiness: expected a finite coefficient of variation > 0, got %g",
                       s->burst_cv);
    if (s->count < 0)
        return ms_errf(err, MS_EUSAGE, "--requests: expected a number of requests >= 0, got %lld",
                       (long long)s->count);
    if (!(s->duration_s >= 0 && isfinite(s->duration_s)))
        return ms_errf(err, MS_EUSAGE, "--duration: expected finite seconds >= 0, got %g",
                       s->duration_s);
    if (open_loop && s->count == 0 && s->duration_s == 0)
        return ms_errf(err, MS_EUSAGE,
                       "--requests or --duration: an open-loop stream needs one of them, or it "
                       "never ends");
    if (s->kind == REQS_AT_ZERO && s->count == 0)
        return ms_errf(err, MS_EUSAGE,
                       "--requests: requests all at time zero need a count (a duration never ends "
                       "them)");
    if (s->kind == REQS_TRACE && (!s->trace_path || !s->trace_path[0]))
        return ms_errf(err, MS_EUSAGE, "--replay: expected a CSV file name");
    return MS_OK;
}

/* Parses text as a whole number of tokens in [1, MAX_TOKENS]. */
static int parse_tokens(const char *text, int64_t *out)
{
    char *end;
    if (!text[0] || text[0] == ' ' || text[0] == '\t')
        return -1;
    double v = num_strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v != floor(v) || v < 1 || v > MAX_TOKENS)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static const char *const trace_cols[] = {"arrival_s", "input_tokens", "output_tokens"};
enum { T_ARRIVAL, T_INPUT, T_OUTPUT, T_COUNT };

/* Reads the rows of t into r->trace, checking each. */
static int load_trace(reqs *r, const csvtab *t, ms_err *err)
{
    const char *path = csvtab_path(t);
    int col[T_COUNT];
    for (int c = 0; c < T_COUNT; c++) {
        col[c] = csvtab_find_col(t, trace_cols[c]);
        if (col[c] < 0)
            return ms_errf(err, MS_EPARSE,
                           "%s:1: missing column '%s' in the header (a trace has columns "
                           "arrival_s, input_tokens, output_tokens)",
                           path, trace_cols[c]);
    }
    size_t rows = csvtab_nrows(t);
    if (rows == 0)
        return ms_errf(err, MS_EPARSE, "%s: no requests: the trace has a header and no rows", path);
    r->trace = malloc(rows * sizeof *r->trace);
    if (!r->trace)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory for %zu requests", path, rows);
    for (size_t i = 0; i < rows; i++) {
        int line = csvtab_row_line(t, i);
        if (csvtab_row_nfields(t, i) != csvtab_ncols(t))
            return ms_errf(err, MS_EPARSE, "%s:%d: row has %zu fields, the header has %zu", path,
                           line, csvtab_row_nfields(t, i), csvtab_ncols(t));
        const char *f[T_COUNT];
        for (int c = 0; c < T_COUNT; c++)
            f[c] = csvtab_field(t, i, (size_t)col[c]);
        req *q = &r->trace[i];
        char *end;
        q->arrival_s = num_strtod(f[T_ARRIVAL], &end);
        if (!f[T_ARRIVAL][0] || f[T_ARRIVAL][0] == ' ' || f[T_ARRIVAL][0] == '\t' ||
            end == f[T_ARRIVAL] || *end || !isfinite(q->arrival_s) || q->arrival_s < 0)
            return ms_errf(err, MS_EPARSE,
                           "%s:%d: column 'arrival_s': expected finite seconds >= 0, got \"%s\"",
                           path, line, f[T_ARRIVAL]);
        if (q->arrival_s > SIM_TIME_MAX_S)
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'arrival_s': %s s is past the %.0f s (%.1f days) one "
                           "run can simulate",
                           path, line, f[T_ARRIVAL], SIM_TIME_MAX_S, SIM_TIME_MAX_S / 86400);
        if (i > 0 && q->arrival_s < r->trace[i - 1].arrival_s)
            return ms_errf(err, MS_EPARSE,
                           "%s:%d: column 'arrival_s': %s is earlier than %s on line %d: a "
                           "trace is sorted by arrival",
                           path, line, f[T_ARRIVAL], csvtab_field(t, i - 1, (size_t)col[T_ARRIVAL]),
                           csvtab_row_line(t, i - 1));
        for (int c = T_INPUT; c <= T_OUTPUT; c++) {
            int64_t *v = c == T_INPUT ? &q->input_tokens : &q->output_tokens;
            if (parse_tokens(f[c], v))
                return ms_errf(err, MS_EPARSE,
                               "%s:%d: column '%s': expected a whole number of tokens from 1 "
                               "to 10^8, got \"%s\"",
                               path, line, trace_cols[c], f[c]);
        }
    }
    r->n = rows;
    return MS_OK;
}

int reqs_new(const reqs_spec *spec, reqs **out, ms_err *err)
{
    int rc;
    csvtab *t = NULL;
    reqs *r = NULL;

    *out = NULL;
    if ((rc = check_spec(spec, err)))
        return rc;
    if (spec->kind != REQS_TRACE)
        assert(spec->input_len && spec->output_len);
    r = calloc(1, sizeof *r);
    if (!r)
        return ms_errf(err, MS_ENOMEM, "requests: out of memory");
    r->kind = spec->kind;
    r->count = spec->count;
    r->duration_s = spec->duration_s;
    r->input_len = spec->input_len;
    r->output_len = spec->output_len;
    switch (spec->kind) {
    case REQS_POISSON:
    case REQS_BURSTY:
        r->mean_gap_s = 1.0 / spec->rate_per_s;
        /* Gamma with mean 1/rate and CV c: shape 1/c^2, scale c^2/rate. */
        r->gamma_shape = 1.0 / (spec->burst_cv * spec->burst_cv);
        r->gamma_scale = r->mean_gap_s / r->gamma_shape;
        /* fall through */
    case REQS_AT_ZERO:
        if ((rc = rng_new_stream(&r->gaps, spec->seed, STREAM_GAPS, err)) ||
            (rc = rng_new_stream(&r->input, spec->seed, STREAM_INPUT, err)) ||
            (rc = rng_new_stream(&r->output, spec->seed, STREAM_OUTPUT, err)))
            goto out;
        break;
    case REQS_TRACE:
        if ((rc = csvtab_read(spec->trace_path, &t, err)) || (rc = load_trace(r, t, err)))
            goto out;
        if (r->count > 0 && (size_t)r->count < r->n)
            r->n = (size_t)r->count;
        break;
    }
    *out = r;
    r = NULL;
out:
    csvtab_free(t);
    reqs_free(r);
    return rc;
}

void reqs_free(reqs *r)
{
    if (!r)
        return;
    rng_free(r->gaps);
    rng_free(r->input);
    rng_free(r->output);
    free(r->trace);
    free(r);
}

int reqs_next(reqs *r, req *out)
{
    if (r->done)
        return 0;
    if (r->kind == REQS_TRACE) {
        if ((size_t)r->made >= r->n) {
            r->done = 1;
            return 0;
        }
        *out = r->trace[r->made++];
        return 1;
    }
    if (r->count > 0 && r->made >= r->count) {
        r->done = 1;
        return 0;
    }
    switch (r->kind) {
    case REQS_POISSON:
        r->t_s += rng_exponential(r->gaps, r->mean_gap_s);
        break;
    case REQS_BURSTY:
        r->t_s += gsl_ran_gamma(rng_gsl(r->gaps), r->gamma_shape, r->gamma_scale);
        break;
    case REQS_AT_ZERO:
    case REQS_TRACE:
        break;
    }
    if (r->duration_s > 0 && r->t_s > r->duration_s && r->kind != REQS_AT_ZERO) {
        r->done = 1;
        return 0;
    }
    out->arrival_s = r->t_s;
    out->input_tokens = dist_sample(r->input_len, r->input);
    out->output_tokens = dist_sample(r->output_len, r->output);
    r->made++;
    return 1;
}

int64_t reqs_total(const reqs *r)
{
    if (r->kind == REQS_TRACE)
        return (int64_t)r->n;
    if (r->kind != REQS_AT_ZERO && r->duration_s > 0)
        return -1;
    return r->count;
}

double reqs_mean_output(const reqs *r)
{
    if (r->kind != REQS_TRACE)
        return dist_mean(r->output_len);
    double s = 0;
    for (size_t i = 0; i < r->n; i++)
        s += (double)r->trace[i].output_tokens;
    return r->n > 0 ? s / (double)r->n : 0;
}

double reqs_mean_output_square(const reqs *r)
{
    if (r->kind != REQS_TRACE)
        return dist_mean_square(r->output_len);
    double s = 0;
    for (size_t i = 0; i < r->n; i++)
        s += (double)r->trace[i].output_tokens * (double)r->trace[i].output_tokens;
    return r->n > 0 ? s / (double)r->n : 0;
}
