/* jsweep: see jsweep.h. */
#define _GNU_SOURCE /* open_memstream */
#include "job/jsweep.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_qrng.h>
#include <gsl/gsl_rng.h>

#ifdef MEGASIM_MPI
#include <mpi.h>
#endif

#include "io/afile.h"
#include "io/csvtab.h"
#include "io/jsonfile.h"
#include "job/jscen.h"
#include "job/jwork.h"

#define W(f) offsetof(jsweep_job, f)

static const jopt rows[] = {
    {"jobs", JOPT_INT, "N", NULL, NULL, 1, 64, NULL, W(jobs),
     "worker processes (default: the CPUs online)"},
    {"out", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, W(out),
     "the CSV to write, instead of the spec's \"out\""},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, W(json), "print the counts as JSON"},
};

const jopt_table jsweep_options = {.rows = rows,
                                   .n = sizeof rows / sizeof rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jsweep_job, given)};

#define MAX_AXES    40 /* GSL's Sobol sequence has at most 40 dimensions */
#define MAX_OUTPUTS 128
#define MAX_POINTS  1000000

typedef enum design { GRID, RANDOM, SOBOL } design;

typedef struct axis {
    const char *key;
    const cJSON *values; /* an array, or NULL for a range */
    double min, max;
    int log, integer;
} axis;

typedef struct sweep {
    const char *shown; /* the spec as the user named it */
    cJSON *spec, *base;
    axis ax[MAX_AXES];
    int nax;
    design kind;
    int64_t points;
    cJSON *vals; /* an array per point of its values, one per axis */
    const char *outputs[MAX_OUTPUTS];
    int nout, outputs_given;
    char outputs_text[8192]; /* holds outputs read back from a CSV header */
    char out[4096], partial[4200];
} sweep;

static int field_err(const sweep *s, const char *field, const char *what, ms_err *err)
{
    return ms_errf(err, MS_EINVAL, "%s: field '%s': %s", s->shown, field, what);
}

/* ---- the spec ---- */

static int read_axis(sweep *s, const cJSON *item, axis *a, ms_err *err)
{
    char field[200];
    snprintf(field, sizeof field, "vary.%s", item->string);
    a->key = item->string;
    if (cJSON_IsArray(item)) {
        int n = cJSON_GetArraySize(item);
        if (n < 1)
            return field_err(s, field, "expected at least one value", err);
        for (const cJSON *v = item->child; v; v = v->next)
            if (!cJSON_IsNumber(v) && !cJSON_IsString(v))
                return field_err(s, field, "expected numbers or strings", err);
        a->values = item;
        return MS_OK;
    }
    if (!cJSON_IsObject(item))
        return field_err(s, field, "expected a list of values or {\"min\": X, \"max\": Y}", err);
    if (s->kind == GRID)
        return field_err(s, field,
                         "a grid takes a list of values; a range is for random and sobol designs",
                         err);
    const cJSON *mn = NULL, *mx = NULL;
    for (const cJSON *k = item->child; k; k = k->next) {
        if (strcmp(k->string, "min") == 0)
            mn = k;
        else if (strcmp(k->string, "max") == 0)
            mx = k;
        else if (strcmp(k->string, "log") == 0 && cJSON_IsBool(k))
            a->log = cJSON_IsTrue(k);
        else if (strcmp(k->string, "integer") == 0 && cJSON_IsBool(k))
            a->integer = cJSON_IsTrue(k);
        else {
            snprintf(field, sizeof field, "vary.%s.%s", item->string, k->string);
            return field_err(s, field, "expected min, max, log (true/false) or integer", err);
        }
    }
    if (!cJSON_IsNumber(mn) || !cJSON_IsNumber(mx) || !isfinite(mn->valuedouble) ||
        !isfinite(mx->valuedouble) || !(mn->valuedouble <= mx->valuedouble))
        return field_err(s, field, "expected finite \"min\" and \"max\" numbers, min <= max", err);
    a->min = mn->valuedouble, a->max = mx->valuedouble;
    if (a->log && !(a->min > 0))
        return field_err(s, field, "a log range needs min > 0", err);
    return MS_OK;
}

static int read_spec(sweep *s, const jsweep_job *j, const jenv *env, ms_err *err)
{
    char path[4096];
    s->shown = j->spec;
    if (!(s->spec = jsonfile_read_object(jenv_find(env, j->spec, path, sizeof path), j->spec, err)))
        return err->code;
    const cJSON *scen = NULL, *vary = NULL, *outs = NULL, *out = NULL, *pts = NULL, *seed = NULL;
    s->kind = GRID;
    for (const cJSON *k = s->spec->child; k; k = k->next) {
        if (strcmp(k->string, "scenario") == 0)
            scen = k;
        else if (strcmp(k->string, "design") == 0) {
            const char *d = cJSON_GetStringValue(k);
            if (!d || (strcmp(d, "grid") && strcmp(d, "random") && strcmp(d, "sobol")))
                return field_err(s, "design", "expected \"grid\", \"random\" or \"sobol\"", err);
            s->kind = strcmp(d, "grid") == 0 ? GRID : strcmp(d, "random") == 0 ? RANDOM : SOBOL;
        } else if (strcmp(k->string, "points") == 0)
            pts = k;
        else if (strcmp(k->string, "seed") == 0)
            seed = k;
        else if (strcmp(k->string, "vary") == 0)
            vary = k;
        else if (strcmp(k->string, "outputs") == 0)
            outs = k;
        else if (strcmp(k->string, "out") == 0)
            out = k;
        else if (strcmp(k->string, "description") != 0 && strcmp(k->string, "source") != 0)
            return field_err(s, k->string,
                             "not a field of a sweep (scenario, design, points, seed, vary, "
                             "outputs, out, description, source)",
                             err);
    }
    if (!cJSON_IsString(scen))
        return field_err(s, "scenario", "expected the path of a train, serve or rl scenario", err);
    char sp[4096];
    if (!(s->base = jsonfile_read_object(jenv_find(env, scen->valuestring, sp, sizeof sp),
                                         scen->valuestring, err)))
        return err->code;
    if (s->kind == GRID && pts)
        return field_err(s, "points", "a grid has as many points as its combinations", err);
    if (s->kind != GRID) {
        if (!cJSON_IsNumber(pts) || pts->valuedouble != floor(pts->valuedouble) ||
            pts->valuedouble < 1 || pts->valuedouble > MAX_POINTS)
            return field_err(s, "points", "expected a whole number from 1 to 1000000", err);
        s->points = (int64_t)pts->valuedouble;
    }
    if (seed && (s->kind != RANDOM || !cJSON_IsNumber(seed) || seed->valuedouble < 0 ||
                 seed->valuedouble != floor(seed->valuedouble) || seed->valuedouble > 4e9))
        return field_err(s, "seed", "a random design's seed: a whole number from 0 to 4e9", err);
    if (!cJSON_IsObject(vary) || !vary->child)
        return field_err(s, "vary", "expected an object of the scenario keys to vary", err);
    for (const cJSON *k = vary->child; k; k = k->next) {
        if (s->nax == MAX_AXES)
            return field_err(s, "vary", "at most 40 keys", err);
        if (strcmp(k->string, "command") == 0)
            return field_err(s, "vary.command", "the command is the scenario's", err);
        int rc = read_axis(s, k, &s->ax[s->nax++], err);
        if (rc)
            return rc;
    }
    if (s->kind == GRID) {
        double n = 1;
        for (int a = 0; a < s->nax; a++)
            n *= cJSON_GetArraySize(s->ax[a].values);
        if (n > MAX_POINTS)
            return field_err(s, "vary", "the grid has more than 1,000,000 points", err);
        s->points = (int64_t)n;
    }
    if (outs) {
        if (!cJSON_IsArray(outs) || !outs->child)
            return field_err(s, "outputs", "expected a list of the result's keys", err);
        for (const cJSON *o = outs->child; o; o = o->next) {
            if (!cJSON_IsString(o) || !o->valuestring[0] || s->nout == MAX_OUTPUTS)
                return field_err(s, "outputs", "expected at most 128 keys, each a string", err);
            s->outputs[s->nout++] = o->valuestring;
        }
        s->outputs_given = 1;
    }
    const char *o = j->out ? j->out : cJSON_GetStringValue(out);
    if (!o || !o[0])
        return j->out ? ms_errf(err, MS_EUSAGE, "--out: expected a file")
                      : field_err(s, "out", "expected the CSV to write (or give --out)", err);
    snprintf(s->out, sizeof s->out, "%s", o);
    snprintf(s->partial, sizeof s->partial, "%s.partial", o);
    return MS_OK;
}

/* ---- the points ---- */

static cJSON *range_value(const axis *a, double u)
{
    double v = a->log ? exp(log(a->min) + u * (log(a->max) - log(a->min)))
                      : a->min + u * (a->max - a->min);
    if (a->integer)
        v = round(v);
    return cJSON_CreateNumber(v);
}

static int make_points(sweep *s, const cJSON *seed, ms_err *err)
{
    if (!(s->vals = cJSON_CreateArray()))
        return ms_errf(err, MS_ENOMEM, "out of memory");
    gsl_rng *g = NULL;
    gsl_qrng *q = NULL;
    if (s->kind == RANDOM) {
        g = gsl_rng_alloc(gsl_rng_mt19937);
        if (g)
            gsl_rng_set(g, seed ? (unsigned long)seed->valuedouble : 1);
    } else if (s->kind == SOBOL) {
        q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)s->nax);
    }
    if ((s->kind == RANDOM && !g) || (s->kind == SOBOL && !q))
        return ms_errf(err, MS_ENOMEM, "out of memory");
    int rc = MS_OK;
    double u[MAX_AXES];
    for (int64_t i = 0; i < s->points && !rc; i++) {
        cJSON *p = cJSON_CreateArray();
        if (!p) {
            rc = ms_errf(err, MS_ENOMEM, "out of memory");
            break;
        }
        cJSON_AddItemToArray(s->vals, p);
        if (q)
            gsl_qrng_get(q, u);
        int64_t rest = i;
        for (int a = s->nax - 1; a >= 0; a--) { /* grid: the last key fastest */
            const axis *x = &s->ax[a];
            if (s->kind == GRID) {
                int n = cJSON_GetArraySize(x->values);
                u[a] = (double)(rest % n);
                rest /= n;
            }
        }
        for (int a = 0; a < s->nax; a++) {
            const axis *x = &s->ax[a];
            double ua = s->kind == RANDOM ? gsl_rng_uniform(g) : u[a];
            cJSON *v;
            if (x->values) {
                int n = cJSON_GetArraySize(x->values);
                int k = s->kind == GRID ? (int)ua : (int)floor(ua * n);
                v = cJSON_Duplicate(cJSON_GetArrayItem(x->values, k < n ? k : n - 1), 1);
            } else {
                v = range_value(x, ua);
            }
            if (!v) {
                rc = ms_errf(err, MS_ENOMEM, "out of memory");
                break;
            }
            cJSON_AddItemToArray(p, v);
        }
    }
    gsl_rng_free(g);
    if (q)
        gsl_qrng_free(q);
    return rc;
}

/* The scenario with point i's values set (the caller deletes it). */
static cJSON *point_obj(const sweep *s, int64_t i)
{
    cJSON *o = cJSON_Duplicate(s->base, 1);
    const cJSON *p = cJSON_GetArrayItem(s->vals, (int)i);
    int a = 0;
    for (const cJSON *v = p ? p->child : NULL; o && v; v = v->next, a++) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, s->ax[a].key);
        cJSON *dup = cJSON_Duplicate(v, 1);
        if (!dup || !cJSON_AddItemToObject(o, s->ax[a].key, dup)) {
            cJSON_Delete(dup);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

/* ---- rows ---- */

static void put_value(FILE *f, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        fprintf(f, "%.10g", v->valuedouble);
    else
        csvtab_put_field(f, cJSON_GetStringValue(v));
}

static int header_text(const sweep *s, char **out)
{
    size_t len;
    FILE *f = open_memstream(out, &len);
    if (!f)
        return -1;
    fputs("point", f);
    for (int a = 0; a < s->nax; a++) {
        fputc(',', f);
        csvtab_put_field(f, s->ax[a].key);
    }
    for (int k = 0; k < s->nout; k++) {
        fputc(',', f);
        csvtab_put_field(f, s->outputs[k]);
    }
    fputs(",error\n", f);
    return fclose(f) ? -1 : 0;
}

/* Point i run: its result (the caller deletes it), or NULL with e set. */
static cJSON *run_obj(const sweep *s, const jenv *env, int64_t i, ms_err *e)
{
    cJSON *o = point_obj(s, i), *res = NULL;
    char label[4300];
    snprintf(label, sizeof label, "%s point %lld", s->shown, (long long)i);
    int rc = o ? jscen_run_obj(o, label, 0, NULL, NULL, env, &res, e)
               : ms_errf(e, MS_ENOMEM, "out of memory");
    cJSON_Delete(o);
    return rc ? NULL : res;
}

/* Point i's row text into *row (malloc'd, newline-terminated) from its
 * result res, or from its error e when res is NULL. Returns 0, 1 for a
 * failed point, -1 when memory runs out. */
static int format_row(const sweep *s, int64_t i, const cJSON *res, const ms_err *e, char **row)
{
    int rc = res == NULL;
    size_t len;
    FILE *f = open_memstream(row, &len);
    if (!f)
        return -1;
    fprintf(f, "%lld", (long long)i);
    const cJSON *p = cJSON_GetArrayItem(s->vals, (int)i);
    for (const cJSON *v = p->child; v; v = v->next) {
        fputc(',', f);
        put_value(f, v);
    }
    for (int k = 0; k < s->nout; k++) {
        double v = rc ? NAN : jsonfile_num_at(res, s->outputs[k]);
        if (isnan(v))
            fputc(',', f);
        else
            fprintf(f, ",%.10g", v);
    }
    fputc(',', f);
    if (rc) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.299s", e->msg[0] ? e->msg : "failed");
        csvtab_put_field(f, msg);
    }
    fputc('\n', f);
    if (fclose(f))
        return -1;
    return rc;
}

/* Point i run and its row formatted. */
static int run_point(const sweep *s, const jenv *env, int64_t i, char **row)
{
    ms_err e = {0};
    cJSON *res = run_obj(s, env, i, &e);
    int v = format_row(s, i, res, &e, row);
    cJSON_Delete(res);
    return v;
}

/* The outputs when the spec names none: the top-level numbers of result,
 * their names copied into s. */
static void outputs_of(sweep *s, const cJSON *result)
{
    size_t used = 0;
    for (const cJSON *k = result ? result->child : NULL; k && s->nout < MAX_OUTPUTS; k = k->next) {
        size_t len = strlen(k->string) + 1;
        if (!cJSON_IsNumber(k) || used + len > sizeof s->outputs_text)
            continue;
        memcpy(s->outputs_text + used, k->string, len);
        s->outputs[s->nout++] = s->outputs_text + used;
        used += len;
    }
}

/* ---- resuming ---- */

/* The outputs named by a header line: the columns between the values and
 * "error". */
static void outputs_from_header(sweep *s, const char *line)
{
    size_t n = strlen(line);
    const char *p = line;
    for (int a = 0; a <= s->nax && p; a++)
        p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    size_t tail = strlen(",error\n");
    if (!p || n - (size_t)(p - line) <= tail)
        return;
    size_t m = n - (size_t)(p - line) - tail;
    if (m >= sizeof s->outputs_text)
        return;
    memcpy(s->outputs_text, p, m);
    s->outputs_text[m] = 0;
    char *save = NULL;
    for (char *t = strtok_r(s->outputs_text, ",", &save); t && s->nout < MAX_OUTPUTS;
         t = strtok_r(NULL, ",", &save))
        s->outputs[s->nout++] = t;
}

/* Rows already in path (OUT.partial or OUT) into done[] (malloc'd text
 * per point); a last line cut short by a kill is dropped. When the spec
 * names no outputs, the file's header gives them. */
static int read_done(sweep *s, const char *path, char **done, int64_t *ndone, ms_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return MS_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    int rc = MS_OK;
    if (n <= 0 || line[n - 1] != '\n') {
        rc = ms_errf(err, MS_EINVAL, "%s: no header: remove it to start the sweep again", path);
        goto out;
    }
    if (!s->outputs_given && s->nout == 0)
        outputs_from_header(s, line);
    char *want = NULL;
    if (header_text(s, &want) || strcmp(want, line) != 0) {
        free(want);
        rc = ms_errf(err, MS_EINVAL,
                     "%s: its columns are not this sweep's: remove it, or give the sweep "
                     "another out",
                     path);
        goto out;
    }
    free(want);
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* cut short */
        char *end;
        long long i = strtoll(line, &end, 10);
        if (end == line || *end != ',' || i < 0 || i >= s->points)
            continue;
        if (!done[i]) {
            if (!(done[i] = strdup(line))) {
                rc = ms_errf(err, MS_ENOMEM, "out of memory");
                goto out;
            }
            ++*ndone;
        }
    }
out:
    free(line);
    fclose(f);
    return rc;
}

/* ---- running ---- */

static void tell(const jsweep_job *j, int64_t done, int64_t total)
{
    if (j->progress)
        j->progress(j->progress_ctx, (double)done, (double)total, "points");
}

static int keep_row(FILE *journal, char **done, int64_t i, char *row, ms_err *err)
{
    done[i] = row;
    if (fputs(row, journal) < 0 || fflush(journal) != 0)
        return ms_errf(err, MS_EIO, "cannot append to the sweep's journal: %s", strerror(errno));
    return MS_OK;
}

/* What run_points' workers and collector share. */
typedef struct points_ctx {
    const jsweep_job *j;
    const sweep *s;
    const jenv *env;
    FILE *journal;
    char **done;
    int64_t *finished;
    jsweep_out *out;
} points_ctx;

static size_t point_work(void *ctx, size_t item, char *rec, size_t cap)
{
    points_ctx *c = ctx;
    char *row = NULL;
    if (run_point(c->s, c->env, (int64_t)item, &row) < 0)
        return (size_t)-1;
    size_t len = strlen(row);
    if (len > cap) { /* cut, still a line */
        len = cap;
        row[len - 1] = '\n';
    }
    memcpy(rec, row, len);
    free(row);
    return len;
}

static int point_take(void *ctx, size_t item, const char *rec, size_t len, ms_err *err)
{
    points_ctx *c = ctx;
    char *row = strndup(rec, len);
    if (!row)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    c->out->failed +=
        len >= 2 && row[len - 2] != ','; /* a failed point's row ends with its error */
    c->out->ran++;
    free(c->done[item]);
    int rc = keep_row(c->journal, c->done, (int64_t)item, row, err);
    tell(c->j, ++*c->finished, c->s->points);
    return rc;
}

/* Runs the points todo[0..n) in jobs worker processes (jwork), each row
 * kept as it arrives. */
static int run_points(const jsweep_job *j, const sweep *s, const jenv *env, const int64_t *todo,
                      int64_t n, int jobs, FILE *journal, char **done, int64_t *finished,
                      jsweep_out *out, ms_err *err)
{
    size_t *items = malloc((size_t)(n > 0 ? n : 1) * sizeof *items);
    if (!items)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    for (int64_t k = 0; k < n; k++)
        items[k] = (size_t)todo[k];
    points_ctx c = {.j = j,
                    .s = s,
                    .env = env,
                    .journal = journal,
                    .done = done,
                    .finished = finished,
                    .out = out};
    int rc = jwork_run(items, (size_t)n, jobs, point_work, point_take, &c, err);
    free(items);
    return rc;
}

/* Rank 0's part before the points run: the rows already done (from
 * OUT.partial or OUT), point 0 first when the outputs come from its
 * result, the journal opened (and started), the points left in todo. */
static int prepare(sweep *s, const jsweep_job *j, const jenv *env, char **done, int64_t *todo,
                   int64_t *n, int64_t *finished, FILE **journal, char **header, jsweep_out *out,
                   ms_err *err)
{
    int64_t ndone = 0;
    int have_partial = access(s->partial, F_OK) == 0;
    int rc = read_done(s, have_partial ? s->partial : s->out, done, &ndone, err);
    if (rc)
        return rc;
    out->resumed = ndone;
    *finished = ndone;
    cJSON *res0 = NULL;
    ms_err e0 = {0};
    int first = !s->outputs_given && s->nout == 0 && !done[0];
    if (first) {
        if (!(res0 = run_obj(s, env, 0, &e0)))
            return ms_errf(err, MS_EINVAL,
                           "%s: point 0 failed, so it cannot give the outputs: name them in "
                           "\"outputs\" (%s)",
                           s->shown, e0.msg);
        outputs_of(s, res0);
    }
    if (header_text(s, header)) {
        cJSON_Delete(res0);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    if (!(*journal = fopen(s->partial, "a"))) {
        cJSON_Delete(res0);
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", s->partial, strerror(errno));
    }
    if (!have_partial) { /* a new journal: the header, then any rows of OUT */
        fputs(*header, *journal);
        for (int64_t i = 0; i < s->points; i++)
            if (done[i])
                fputs(done[i], *journal);
        fflush(*journal);
    }
    if (first) { /* point 0's row, now that the outputs are known */
        char *row0 = NULL;
        int v = format_row(s, 0, res0, &e0, &row0);
        cJSON_Delete(res0);
        if (v < 0)
            return ms_errf(err, MS_ENOMEM, "out of memory");
        out->failed += v;
        out->ran++;
        if ((rc = keep_row(*journal, done, 0, row0, err)))
            return rc;
        tell(j, ++*finished, s->points);
    }
    *n = 0;
    for (int64_t i = 0; i < s->points; i++)
        if (!done[i])
            todo[(*n)++] = i;
    return MS_OK;
}

#ifdef MEGASIM_MPI
/* Rank 0's status, header and points left, to every rank; the others take
 * their outputs from the header. */
static int mpi_share(sweep *s, int rank, int status, const char *header, int64_t *todo, int64_t *n,
                     ms_err *err)
{
    int st = status;
    MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (st)
        return rank == 0 ? status : ms_errf(err, MS_EINVAL, "rank 0 stopped the sweep");
    long long len = rank == 0 ? (long long)strlen(header) + 1 : 0, nn = *n;
    MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    char *h = rank == 0 ? (char *)header : malloc((size_t)len);
    if (!h)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Bcast(h, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank != 0) {
        if (!s->outputs_given)
            outputs_from_header(s, h);
        free(h);
    }
    MPI_Bcast(&nn, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    *n = nn;
    MPI_Bcast(todo, (int)nn, MPI_INT64_T, 0, MPI_COMM_WORLD);
    return MS_OK;
}

/* Rank r runs todo[k] for every k = r mod size; the others send their
 * rows to rank 0, which keeps its own and theirs as they come. */
static int mpi_run(const jsweep_job *j, const sweep *s, const jenv *env, int rank, int size,
                   const int64_t *todo, int64_t n, FILE *journal, char **done, int64_t *finished,
                   jsweep_out *out, ms_err *err)
{
    int64_t others = 0;
    for (int64_t k = 0; k < n; k++) {
        if (k % size != rank) {
            others += k % size != 0;
            continue;
        }
        char *row = NULL;
        int v = run_point(s, env, todo[k], &row);
        if (v < 0)
            MPI_Abort(MPI_COMM_WORLD, 1);
        if (rank != 0) {
            MPI_Send(row, (int)strlen(row) + 1, MPI_CHAR, 0, 7, MPI_COMM_WORLD);
            free(row);
            continue;
        }
        out->failed += v;
        out->ran++;
        int rc = keep_row(journal, done, todo[k], row, err);
        if (rc)
            return rc;
        tell(j, ++*finished, s->points);
    }
    for (int64_t i = 0; rank == 0 && i < others; i++) {
        MPI_Status st;
        int count;
        MPI_Probe(MPI_ANY_SOURCE, 7, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_CHAR, &count);
        char *row = malloc((size_t)count + 1);
        if (!row)
            return ms_errf(err, MS_ENOMEM, "out of memory");
        MPI_Recv(row, count, MPI_CHAR, st.MPI_SOURCE, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        row[count] = 0;
        long long idx = strtoll(row, NULL, 10);
        size_t len = strlen(row);
        if (idx < 0 || idx >= s->points || len < 2) {
            free(row);
            return ms_errf(err, MS_EIO, "rank %d sent a row of no point", st.MPI_SOURCE);
        }
        out->failed += row[len - 2] != ','; /* a failed point's row ends with its error */
        out->ran++;
        free(done[idx]);
        int rc = keep_row(journal, done, idx, row, err);
        if (rc)
            return rc;
        tell(j, ++*finished, s->points);
    }
    return MS_OK;
}
#endif

int jsweep_run(const jsweep_job *j, const jenv *env, report *r, jsweep_out *out, ms_err *err)
{
    *out = (jsweep_out){0};
    sweep s = {0};
    char **done = NULL;
    int64_t *todo = NULL;
    FILE *journal = NULL;
    int rc = j->spec
                 ? read_spec(&s, j, env, err)
                 : ms_errf(err, MS_EUSAGE, "expected the sweep's spec: megasim sweep SPEC.json");
    if (!rc)
        rc = make_points(&s, cJSON_GetObjectItemCaseSensitive(s.spec, "seed"), err);
    /* Every point checked before any runs: a key no option has, a value
     * the option refuses. */
    for (int64_t i = 0; !rc && i < s.points; i++) {
        cJSON *o = point_obj(&s, i);
        char label[4300];
        snprintf(label, sizeof label, "%s (point %lld)", s.shown, (long long)i);
        rc = o ? jscen_check_obj(o, label, err) : ms_errf(err, MS_ENOMEM, "out of memory");
        cJSON_Delete(o);
    }
    if (!rc && (!(done = calloc((size_t)s.points, sizeof *done)) ||
                !(todo = malloc((size_t)s.points * sizeof *todo))))
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
    if (rc)
        goto out;
    int rank = 0, size = 1;
#ifdef MEGASIM_MPI
    int init = 0;
    MPI_Initialized(&init);
    if (init) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
#endif
    out->rank = rank;
    snprintf(out->out, sizeof out->out, "%s", s.out);
    out->points = s.points;
    int64_t n = 0, finished = 0;
    char *header = NULL;
    if (rank == 0) /* the files are rank 0's */
        rc = prepare(&s, j, env, done, todo, &n, &finished, &journal, &header, out, err);
#ifdef MEGASIM_MPI
    if (size > 1)
        rc = mpi_share(&s, rank, rc, header, todo, &n, err);
#endif
    free(header);
    if (rc)
        goto out;
    int jobs = j->jobs != JOPT_NO_INT ? (int)j->jobs : jwork_default_jobs();
#ifdef MEGASIM_MPI
    if (size > 1)
        rc = mpi_run(j, &s, env, rank, size, todo, n, journal, done, &finished, out, err);
    else
#endif
        rc = run_points(j, &s, env, todo, n, jobs, journal, done, &finished, out, err);
    if (rc || rank != 0)
        goto out;
    fclose(journal);
    journal = NULL;
    /* OUT whole, in point order; then the journal goes. */
    afile *af;
    if ((rc = afile_open(s.out, &af, err)))
        goto out;
    FILE *f = afile_stream(af);
    if (header_text(&s, &header)) {
        afile_abort(af);
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    fputs(header, f);
    free(header);
    for (int64_t i = 0; i < s.points; i++)
        fputs(done[i], f);
    if ((rc = afile_commit(af, err)))
        goto out;
    unlink(s.partial);
    report_version(r, env->version);
    jopt_report_inputs(&jsweep_options, j, r);
    report_begin(r, "sweep", "the sweep");
    report_int(r, "points", "points", out->points, "");
    report_int(r, "resumed", "finished before (resumed)", out->resumed, "");
    report_int(r, "ran", "run now", out->ran, "");
    report_int(r, "failed", "of those, failed (the row says why)", out->failed, "");
    report_int(r, "outputs", "outputs per row", s.nout, "");
    report_int(r, "ranks", "MPI ranks", size, "");
    report_str(r, "out", "written", s.out);
    report_end(r);
out:
    if (journal)
        fclose(journal);
    for (int64_t i = 0; done && i < s.points; i++)
        free(done[i]);
    free(done);
    free(todo);
    cJSON_Delete(s.vals);
    cJSON_Delete(s.base);
    cJSON_Delete(s.spec);
    return rc;
}
