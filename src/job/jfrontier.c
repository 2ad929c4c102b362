/* jfrontier: see jfrontier.h. */
#include "job/jfrontier.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/num.h"
#include "io/afile.h"
#include "io/csvtab.h"
#include "io/gnuplot.h"
#include "io/jsonfile.h"
#include "job/jexport.h"
#include "job/jscen.h"
#include "job/jwork.h"

#define MAX_KNOBS   JFRONTIER_MAX_KNOBS
#define MAX_DESIGNS 2000
#define MAX_EXTRA   48
#define MAX_STEPS   50

typedef jfrontier_knob knob;
typedef jfrontier_design design;

#define F(f) offsetof(jfrontier_job, f)

static const jopt rows[] = {
    {"rule", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, F(rule),
     "the export rule designs must pass (megasim export-check lists them)"},
    {"from", JOPT_STR, "CHIP", NULL, NULL, NAN, NAN, NULL, F(from),
     "the chip designs are derived from"},
    {"vary", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, F(vary),
     "knobs, comma-separated: FIELD or FIELD=LO:HI[:N], factors of the chip's figure"},
    {"steps", JOPT_INT, "N", NULL, "5", 1, MAX_STEPS, NULL, F(steps),
     "points per knob given without N"},
    {"workload", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(workload),
     "a train, serve or rl scenario to run on each design (as given, else under the data "
     "directory)"},
    {"metric", JOPT_STR, "KEY", NULL, NULL, NAN, NAN, NULL, F(metric),
     "the number in the workload's JSON to rank by (tokens_per_s, ...)"},
    {"minimize", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(minimize),
     "smaller is better (a cost); default: larger is better"},
    {"best-plan", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(best_plan),
     "a train workload runs each design on its own fastest plan (megasim search train), not "
     "the scenario's: the fair ranking, a search a design"},
    {"workload-arg", JOPT_LIST, "ARGS", NULL, NULL, NAN, NAN, NULL, F(workload_arg),
     "options for the workload, after its fields (repeatable)"},
    {"all-designs", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(all_designs),
     "run the designs the rule controls too (for the plot)"},
    {"jobs", JOPT_INT, "N", NULL, NULL, 1, 64, NULL, F(jobs),
     "processes running designs at once (default: the CPUs online)"},
    {"rules", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(rules),
     "export rules to read (default: hwdb/export_rules.csv)"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, F(chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"csv", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(csv),
     "write every design: factors, metrics, verdict, result"},
    {"plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(plot),
     "draw the trade-off (.png or .svg) with gnuplot"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(json), "print JSON"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(keep_plot_data),
     "keep the plot's .dat and .gp files beside it"},
};

const jopt_table jfrontier_options = {.rows = rows,
                                      .n = sizeof rows / sizeof rows[0],
                                      .track_given = 1,
                                      .given_off = offsetof(jfrontier_job, given)};

/* What a knob sweeps when the command line gives no range: factors of
 * the parent's figure. Not physical limits; each changes one figure. */
static const struct {
    derive_field field;
    double lo, hi;
    char code; /* in design names */
} defaults[] = {
    {DERIVE_FLOPS, 0.1, 1.0, 'f'},        {DERIVE_SCALE_UP_BW, 0.25, 1.0, 'u'},
    {DERIVE_HOST_IO_BW, 0.5, 1.0, 'h'},   {DERIVE_HBM_BW, 0.5, 1.25, 'm'},
    {DERIVE_HBM_CAPACITY, 0.5, 1.5, 'c'}, {DERIVE_SCALE_OUT_BW, 0.25, 1.0, 'o'},
    {DERIVE_DIE_AREA, 0.5, 1.5, 'a'},     {DERIVE_TDP, 0.5, 1.0, 'p'},
};
#define NDEFAULTS (sizeof defaults / sizeof defaults[0])

/* Step s of a knob's grid, to 12 significant digits: the factors a user
 * typed (0.1:0.2:3 gives 0.15, not 0.15000000000000002). */
static double grid_point(const knob *k, int s)
{
    double x = k->n == 1 ? k->lo : k->lo + (k->hi - k->lo) * s / (k->n - 1);
    char buf[32];
    snprintf(buf, sizeof buf, "%.12g", x);
    return strtod(buf, NULL);
}

static int parse_knobs(const char *list, int steps, knob *k, int *n, ms_err *err)
{
    *n = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        char tok[96];
        if (len == 0 || len >= sizeof tok)
            return ms_errf(err, MS_EUSAGE,
                           "--vary '%s': expected FIELD or FIELD=LO:HI[:N], "
                           "comma-separated",
                           list);
        memcpy(tok, p, len);
        tok[len] = '\0';
        p += len + (p[len] == ',');
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        size_t d = NDEFAULTS;
        for (size_t i = 0; i < NDEFAULTS; i++)
            if (strcmp(derive_field_name(defaults[i].field), tok) == 0)
                d = i;
        if (d == NDEFAULTS)
            return ms_errf(err, MS_EUSAGE, "--vary: unknown knob '%s'; expected one of %s", tok,
                           derive_field_list());
        if (*n == MAX_KNOBS)
            return ms_errf(err, MS_EUSAGE, "--vary: at most %d knobs", MAX_KNOBS);
        for (int i = 0; i < *n; i++)
            if (k[i].field == defaults[d].field)
                return ms_errf(err, MS_EUSAGE, "--vary: '%s' is given twice", tok);
        knob kn = {defaults[d].field, defaults[d].lo, defaults[d].hi, steps};
        if (eq) {
            char *end;
            kn.lo = num_strtod(eq + 1, &end);
            int ok = end != eq + 1 && *end == ':';
            if (ok) {
                char *s2 = end + 1;
                kn.hi = num_strtod(s2, &end);
                ok = end != s2 && (*end == '\0' || *end == ':');
                if (ok && *end == ':') {
                    char *s3 = end + 1;
                    long m = strtol(s3, &end, 10);
                    ok = end != s3 && *end == '\0' && m >= 1 && m <= MAX_STEPS;
                    kn.n = (int)m;
                }
            }
            if (!ok || !(kn.lo > 0) || !(kn.hi >= kn.lo) || kn.hi > 1000 || !isfinite(kn.lo))
                return ms_errf(err, MS_EUSAGE,
                               "--vary '%s=%s': expected LO:HI[:N], factors 0 < LO <= HI <= 1000 "
                               "and 1 <= N <= %d",
                               tok, eq + 1, MAX_STEPS);
        }
        if (kn.lo == kn.hi)
            kn.n = 1;
        k[(*n)++] = kn;
    }
    if (*n == 0)
        return ms_errf(err, MS_EUSAGE, "--vary: name at least one knob (%s)", derive_field_list());
    return MS_OK;
}

static char knob_code(derive_field f)
{
    for (size_t i = 0; i < NDEFAULTS; i++)
        if (defaults[i].field == f)
            return defaults[i].code;
    return '?';
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The workload's arguments after its fields: the chip files (the
 * database's and the designs'), the chip, --json, then --workload-arg. */
typedef struct extra {
    char *arg[MAX_EXTRA];
    int n;
    int chip_at; /* where the chip's name goes */
} extra;

static int add_arg(extra *x, const char *s, ms_err *err)
{
    if (x->n + 1 >= MAX_EXTRA)
        return ms_errf(err, MS_EUSAGE, "too many workload arguments");
    x->arg[x->n++] = (char *)s;
    return MS_OK;
}

/* The workload's arguments after its fields: the chip files (the
 * database's and the designs'), the chip, then --workload-arg, each split
 * at spaces into split. */
static int build_extra(const jfrontier_job *j, const chip_db *db, const char *designs_path,
                       char *split, size_t split_cap, extra *x, ms_err *err)
{
    int rc = MS_OK;
    x->n = 0;
    const char *seen[16];
    int nseen = 0;
    for (size_t i = 0; i < chip_db_count(db) && !rc; i++) {
        const char *f = chip_db_at(db, i)->file;
        int dup = 0;
        for (int k = 0; k < nseen; k++)
            dup |= strcmp(seen[k], f) == 0;
        if (!dup && f[0] && nseen < 16) {
            seen[nseen++] = f;
            if (!(rc = add_arg(x, "--chips", err)))
                rc = add_arg(x, f, err);
        }
    }
    if (!rc && designs_path && !(rc = add_arg(x, "--chips", err)))
        rc = add_arg(x, designs_path, err);
    if (!rc && !(rc = add_arg(x, "--chip", err))) {
        x->chip_at = x->n;
        rc = add_arg(x, "", err);
    }
    if (!rc && j->best_plan)
        rc = add_arg(x, "--best-plan", err);
    size_t used = 0;
    for (int i = 0; i < j->workload_arg.n && !rc; i++) {
        size_t len = strlen(j->workload_arg.v[i]);
        if (used + len + 1 > split_cap)
            return ms_errf(err, MS_EUSAGE, "--workload-arg: too long");
        char *s = split + used;
        memcpy(s, j->workload_arg.v[i], len + 1);
        used += len + 1;
        char *save = NULL;
        for (char *tok = strtok_r(s, " ", &save); tok && !rc; tok = strtok_r(NULL, " ", &save))
            rc = add_arg(x, tok, err);
    }
    return rc;
}

/* The workload on one chip: the metric, or NAN and why. */
static int run_one(const char *workload, extra *x, const jenv *env, const char *chip_name,
                   const char *key, double *metric, char *error, size_t error_cap)
{
    x->arg[x->chip_at] = (char *)chip_name;
    cJSON *out = NULL;
    ms_err err = {0};
    int rc = jscen_run_file(workload, x->n, x->arg, NULL, env, &out, &err);
    *metric = NAN;
    if (rc) {
        snprintf(error, error_cap, "%.199s", err.msg);
    } else {
        *metric = jsonfile_num_at(out, key);
        if (isnan(*metric))
            snprintf(error, error_cap, "no number '%s' in the workload's JSON", key);
    }
    cJSON_Delete(out);
    return rc;
}

/* Distance of a design from its parent: the sum of |log factor|. */
static double distance(const design *d, int nk)
{
    double sum = 0;
    for (int i = 0; i < nk; i++)
        sum += fabs(log(d->factor[i]));
    return sum;
}

/* 1 if a ranks before b: a better metric, or an equal one with fewer
 * changes from the parent (a knob that does not matter stays as it was). */
static int better(const design *a, const design *b, int nk, int minimize)
{
    if (isnan(a->metric))
        return 0;
    if (!b || isnan(b->metric))
        return 1;
    if (fabs(a->metric - b->metric) <= 1e-12 * fabs(b->metric))
        return distance(a, nk) < distance(b, nk);
    return minimize ? a->metric < b->metric : a->metric > b->metric;
}

/* What a worker sends back for one design. */
typedef struct result_rec {
    size_t index;
    double metric;
    char error[200];
} result_rec;

static void progress(const jfrontier_job *j, size_t done, size_t total)
{
    if (j->progress)
        j->progress(j->progress_ctx, done, total);
}

/* What run_designs' workers and collector share. */
typedef struct designs_ctx {
    const jfrontier_job *j;
    const jenv *env;
    design *ds;
    extra *x;
    size_t n, *done;
} designs_ctx;

static size_t design_work(void *ctx, size_t item, char *rec, size_t cap)
{
    designs_ctx *c = ctx;
    result_rec r = {.index = item};
    run_one(c->j->workload, c->x, c->env, c->ds[item].d.c.name, c->j->metric, &r.metric, r.error,
            sizeof r.error);
    if (cap < sizeof r)
        return (size_t)-1;
    memcpy(rec, &r, sizeof r);
    return sizeof r;
}

static int design_take(void *ctx, size_t item, const char *rec, size_t len, ms_err *err)
{
    designs_ctx *c = ctx;
    result_rec r;
    if (len != sizeof r)
        return ms_errf(err, MS_EIO, "a worker sent a record of %zu bytes", len);
    memcpy(&r, rec, sizeof r);
    design *d = &c->ds[item];
    d->metric = r.metric;
    d->ran = 1;
    r.error[sizeof r.error - 1] = '\0';
    snprintf(d->error, sizeof d->error, "%s", r.error);
    progress(c->j, ++*c->done, c->n);
    return MS_OK;
}

/* Runs the workload on every design to run, in jobs processes (jwork). */
static int run_designs(const jfrontier_job *j, const jenv *env, design *ds, size_t total, int jobs,
                       extra *x, size_t *done, ms_err *err)
{
    size_t *todo = malloc(total * sizeof *todo), n = 0;
    if (!todo)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    for (size_t k = 0; k < total; k++)
        if (j->all_designs || ds[k].v.controlled == XRULE_FALSE)
            todo[n++] = k;
    *done = 0;
    designs_ctx c = {.j = j, .env = env, .ds = ds, .x = x, .n = n, .done = done};
    int rc = jwork_run(todo, n, jobs, design_work, design_take, &c, err);
    free(todo);
    return rc;
}

/* The knobs, the workload's command, the chips and the rule. */
typedef struct setup {
    knob k[MAX_KNOBS];
    int nk;
    chip_db *db;
    xrule_set *rules;
    const xrule_rule *rule;
    const chip *base;
    char designs_path[80];
    int designs_fd;
} setup;

static int prepare(const jfrontier_job *j, const jenv *env, setup *s, ms_err *err)
{
    static const char *const need[] = {"rule", "from", "vary", "workload", "metric"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!jopt_is_set(&jfrontier_options, j, need[i]))
            return ms_errf(err, MS_EUSAGE, "--%s is required", need[i]);
    int rc = parse_knobs(j->vary, (int)j->steps, s->k, &s->nk, err);
    char wcmd[64], path[4096];
    if (!rc)
        rc = jscen_command(j->workload, env, wcmd, sizeof wcmd, err);
    if (!rc && strcmp(wcmd, "train") != 0 && strcmp(wcmd, "serve") != 0 && strcmp(wcmd, "rl") != 0)
        rc = ms_errf(err, MS_EUSAGE,
                     "--workload %s: runs '%s'; expected a train, serve or rl scenario",
                     jenv_find(env, j->workload, path, sizeof path), wcmd);
    if (!rc)
        rc = jenv_load_chips(env, &j->chips, &s->db, err);
    if (!rc)
        rc = chip_db_lookup(s->db, j->from, &s->base, err);
    const char *rules = j->rules ? jenv_find(env, j->rules, path, sizeof path) : NULL;
    if (!rc && !rules && !(rc = jenv_path(env, "hwdb/export_rules.csv", path, sizeof path, err)))
        rules = path;
    if (!rc)
        rc = xrule_load(rules, &s->rules, err);
    if (!rc)
        rc = xrule_find(s->rules, j->rule, &s->rule, err);
    return rc;
}

/* The grid, each design derived and judged. */
static int grid(const jfrontier_job *j, setup *s, jfrontier_out *out, size_t *to_run, ms_err *err)
{
    size_t total = 1;
    for (int i = 0; i < s->nk; i++)
        total *= (size_t)s->k[i].n;
    if (total > MAX_DESIGNS)
        return ms_errf(err, MS_EUSAGE, "--vary: %zu designs; at most %d (fewer knobs or steps)",
                       total, MAX_DESIGNS);
    if (!(out->ds = calloc(total, sizeof *out->ds)))
        return ms_errf(err, MS_ENOMEM, "out of memory");
    out->n = total;
    *to_run = 0;
    for (size_t q = 0; q < total; q++) {
        design *d = &out->ds[q];
        derive_change ch[MAX_KNOBS];
        char name[64];
        int w = snprintf(name, sizeof name, "%s~", s->base->name);
        size_t idx = q;
        for (int i = s->nk - 1; i >= 0; i--) {
            int st = (int)(idx % (size_t)s->k[i].n);
            idx /= (size_t)s->k[i].n;
            d->factor[i] = grid_point(&s->k[i], st);
            ch[i] = (derive_change){.field = s->k[i].field, .scale = 1, .value = d->factor[i]};
        }
        for (int i = 0; i < s->nk && w > 0 && (size_t)w < sizeof name; i++)
            w += snprintf(name + w, sizeof name - (size_t)w, "%c%.3g", knob_code(s->k[i].field),
                          d->factor[i]);
        if (w < 0 || (size_t)w >= sizeof name)
            return ms_errf(err, MS_EUSAGE, "design names grow too long for chip %s", s->base->name);
        int rc = derive_apply(s->base, name, ch, (size_t)s->nk, &d->d, err);
        d->metric = NAN;
        if (rc)
            return rc;
        d->v = xrule_check(s->rule, &d->d.c);
        *to_run += j->all_designs || d->v.controlled == XRULE_FALSE;
    }
    return MS_OK;
}

/* The designs to run, as a chip file the workload reads. */
static int write_designs(const jfrontier_job *j, setup *s, const jfrontier_out *out, ms_err *err)
{
    const char *tmpdir = getenv("TMPDIR");
    snprintf(s->designs_path, sizeof s->designs_path, "%.40s/megasim_frontier_XXXXXX",
             tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    s->designs_fd = mkstemp(s->designs_path);
    FILE *df = s->designs_fd >= 0 ? fdopen(s->designs_fd, "w") : NULL;
    if (!df)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", s->designs_path, strerror(errno));
    chip_csv_header(df);
    for (size_t q = 0; q < out->n; q++)
        if (j->all_designs || out->ds[q].v.controlled == XRULE_FALSE)
            chip_csv_row(df, &out->ds[q].d.c);
    if (fclose(df) != 0)
        return ms_errf(err, MS_EIO, "%s: write failed", s->designs_path);
    return MS_OK;
}

/* The allowed designs that ran, best first (insertion sort: a few hundred). */
static size_t ranked(const jfrontier_out *out, int nk, int minimize, size_t *order)
{
    size_t no = 0;
    for (size_t q = 0; q < out->n; q++) {
        const design *d = &out->ds[q];
        if (d->v.controlled != XRULE_FALSE || isnan(d->metric))
            continue;
        size_t at = no++;
        while (at > 0 && better(d, &out->ds[order[at - 1]], nk, minimize)) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = q;
    }
    return no;
}

static void report_design(report *r, const setup *s, const jfrontier_out *out, const design *d)
{
    jexport_verdict_values(r, s->rule, &d->d.c, &d->v);
    report_begin(r, "factors", NULL);
    for (int i = 0; i < s->nk; i++)
        report_num(r, derive_field_name(s->k[i].field), NULL, d->factor[i], "");
    report_end(r);
    report_bool(r, "ran", NULL, d->ran);
    report_num(r, "metric", NULL, d->metric, "");
    if (d->error[0])
        report_str(r, "error", NULL, d->error);
    (void)out;
}

static void report_all(const jfrontier_job *j, const setup *s, const jfrontier_out *out,
                       size_t done, size_t failed, double elapsed, report *r)
{
    size_t allowed = 0, undecided = 0;
    for (size_t q = 0; q < out->n; q++) {
        allowed += out->ds[q].v.controlled == XRULE_FALSE;
        undecided += out->ds[q].v.controlled == XRULE_UNDECIDED;
    }
    xrule_verdict bv = xrule_check(s->rule, s->base);
    report_str(r, "rule", NULL, s->rule->name);
    report_str(r, "from", "derived from", s->base->name);
    report_str(r, "workload", NULL, j->workload);
    report_str(r, "metric", "ranked by", j->metric);
    report_bool(r, "minimize", "smaller is better", j->minimize);
    report_num(r, "base_metric", "the chip itself", out->base_metric, "");
    report_bool(r, "base_controlled", "the chip itself is controlled", bv.controlled == XRULE_TRUE);
    report_num(r, "designs", NULL, (double)out->n, "");
    report_num(r, "allowed", "allowed by the rule", (double)allowed, "");
    report_num(r, "undecided", "undecided (not run)", (double)undecided, "");
    report_num(r, "designs_run", "run", (double)done, "");
    report_num(r, "runs_failed", "runs that failed", (double)failed, "");
    report_num(r, "run_s", "wall time", elapsed, "s");
    if (out->best) {
        report_begin(r, "best", "best allowed design");
        report_design(r, s, out, out->best);
        report_num(r, "fraction_of_base", "of the chip itself",
                   out->best->metric / out->base_metric, "%");
        report_end(r);
    } else {
        report_str(r, "best", "best allowed design",
                   NULL); /* the rule leaves nothing in this grid, or every run failed */
    }
    /* The top allowed designs for a person; every design for a machine. */
    size_t *order = malloc(out->n * sizeof *order);
    size_t no = order ? ranked(out, s->nk, j->minimize, order) : 0;
    report_table(r, "top", "allowed designs, best first (at most 10)");
    for (size_t i = 0; i < no && i < 10; i++) {
        const design *d = &out->ds[order[i]];
        ms_prec at;
        report_row(r);
        report_str(r, "design", NULL, d->d.c.name);
        report_num(r, "tpp", "TPP", xrule_tpp(&d->d.c, &at), "");
        report_num(r, "metric", j->metric, d->metric, "");
    }
    report_table_end(r);
    free(order);
    report_begin_hidden(r, NULL);
    report_table(r, "results", NULL);
    for (size_t q = 0; q < out->n; q++) {
        report_row(r);
        report_design(r, s, out, &out->ds[q]);
    }
    report_table_end(r);
    report_end(r);
}

int jfrontier_run(const jfrontier_job *j, const jenv *env, report *r, jfrontier_out *out,
                  ms_err *err)
{
    *out = (jfrontier_out){.base_metric = NAN};
    setup s = {.designs_fd = -1};
    size_t to_run = 0, done = 0, failed = 0;
    char split[4096];
    extra x = {0};
    int rc = prepare(j, env, &s, err);
    if (!rc)
        rc = grid(j, &s, out, &to_run, err);
    if (!rc && to_run)
        rc = write_designs(j, &s, out, err);
    if (!rc)
        rc = build_extra(j, s.db, to_run ? s.designs_path : NULL, split, sizeof split, &x, err);
    char base_error[200] = "";
    /* The parent itself first, whatever the rule says: the reference. */
    if (!rc &&
        run_one(j->workload, &x, env, s.base->name, j->metric, &out->base_metric, base_error,
                sizeof base_error) &&
        isnan(out->base_metric))
        rc = ms_errf(err, MS_EUSAGE, "--workload %s on %s: %s", j->workload, s.base->name,
                     base_error);
    if (!rc && isnan(out->base_metric))
        rc = ms_errf(err, MS_EUSAGE, "--metric %s: %s", j->metric, base_error);
    double t0 = now_s();
    if (!rc)
        rc = run_designs(j, env, out->ds, out->n,
                         j->jobs != JOPT_NO_INT ? (int)j->jobs : jwork_default_jobs(), &x, &done,
                         err);
    if (!rc) {
        for (size_t q = 0; q < out->n; q++) {
            const design *d = &out->ds[q];
            failed += d->ran && isnan(d->metric);
            if (d->v.controlled == XRULE_FALSE && better(d, out->best, s.nk, j->minimize))
                out->best = d;
        }
        memcpy(out->knobs, s.k, sizeof s.k);
        out->nknobs = s.nk;
        snprintf(out->base, sizeof out->base, "%s", s.base->name);
        snprintf(out->rule, sizeof out->rule, "%s", s.rule->name);
        report_version(r, env->version);
        jopt_report_inputs(&jfrontier_options, j, r);
        report_all(j, &s, out, done, failed, now_s() - t0, r);
    }
    if (s.designs_fd >= 0)
        unlink(s.designs_path);
    out->rules = s.rules; /* the verdicts' clauses live there */
    out->db = s.db;
    return rc;
}

void jfrontier_out_free(jfrontier_out *out)
{
    free(out->ds);
    xrule_free(out->rules);
    chip_db_free(out->db);
    *out = (jfrontier_out){0};
}

/* ---- the CSV and the plot ---- */

int jfrontier_write_csv(const char *path, const jfrontier_out *o, const char *key, ms_err *err)
{
    const jfrontier_design *ds = o->ds;
    size_t n = o->n;
    const jfrontier_knob *k = o->knobs;
    int nk = o->nknobs;
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    FILE *f = afile_stream(af);
    fprintf(f, "design");
    for (int i = 0; i < nk; i++)
        fprintf(f, ",%s_factor", derive_field_name(k[i].field));
    fprintf(f, ",tpp,performance_density,io_GBps,hbm_bw_GBps,hbm_GB,controlled,clause,%s,error\n",
            key);
    for (size_t j = 0; j < n; j++) {
        const jfrontier_design *d = &ds[j];
        fprintf(f, "%s", d->d.c.name);
        for (int i = 0; i < nk; i++)
            fprintf(f, ",%.6g", d->factor[i]);
        xrule_range r[5] = {xrule_metric_of(&d->d.c, XRULE_TPP), xrule_metric_of(&d->d.c, XRULE_PD),
                            xrule_metric_of(&d->d.c, XRULE_IO),
                            xrule_metric_of(&d->d.c, XRULE_HBM_BW),
                            xrule_metric_of(&d->d.c, XRULE_HBM_GB)};
        for (int i = 0; i < 5; i++) {
            if (r[i].lo == r[i].hi)
                fprintf(f, ",%.6g", r[i].lo);
            else
                fprintf(f, ",");
        }
        fprintf(f, ",%s,",
                d->v.controlled == XRULE_TRUE    ? "true"
                : d->v.controlled == XRULE_FALSE ? "false"
                                                 : "");
        csvtab_put_field(f, d->v.clause ? d->v.clause->name : "");
        fputc(',', f);
        if (!isnan(d->metric))
            fprintf(f, "%.10g", d->metric);
        fputc(',', f);
        csvtab_put_field(f, d->error);
        fputc('\n', f);
    }
    return afile_commit(af, err);
}

int jfrontier_plot(const jenv *env, const char *out, const jfrontier_out *o, const char *key,
                   ms_err *err)
{
    const jfrontier_design *ds = o->ds, *best = o->best;
    size_t n = o->n;
    const char *base = o->base, *rule = o->rule;
    double base_metric = o->base_metric;
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, drawn, rc;
    if ((rc = gp_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = jenv_path(env, "plots/frontier.gp", tmpl_path, sizeof tmpl_path, err)))
        return rc;
    afile *dat_af;
    if ((rc = afile_open(dat_path, &dat_af, err)))
        return rc;
    FILE *dat = afile_stream(dat_af);
    ms_prec at;
    int shown[3] = {0};
    /* Three blocks: allowed designs, controlled ones, the best. */
    fprintf(dat, "# megasim export-frontier: tpp %s (allowed designs)\n", key);
    for (int block = 0; block < 3; block++) {
        if (block)
            fprintf(dat, "\n\n");
        fprintf(dat, "NaN NaN\n"); /* an empty block would stop gnuplot */
        for (size_t j = 0; j < n; j++) {
            const jfrontier_design *d = &ds[j];
            int show = block == 0   ? d->v.controlled == XRULE_FALSE
                       : block == 1 ? d->v.controlled != XRULE_FALSE
                                    : d == best;
            if (show && !isnan(d->metric)) {
                fprintf(dat, "%.6g %.10g\n", xrule_tpp(&d->d.c, &at), d->metric);
                shown[block]++;
            }
        }
    }
    if ((rc = afile_commit(dat_af, err)))
        return rc;
    char title[300];
    snprintf(title, sizeof title, "designs derived from %s under %s (%s itself: %.4g %s)", base,
             rule, base, base_metric, key);
    /* Blocks with no point are not drawn: gnuplot would warn. */
    char ylabel[200], counts[3][16];
    snprintf(ylabel, sizeof ylabel, "%s (the workload's result)", key);
    for (int b = 0; b < 3; b++)
        snprintf(counts[b], sizeof counts[b], "%d", shown[b]);
    const char *vars[][2] = {{"ylabel_text", ylabel},
                             {"nallowed_text", counts[0]},
                             {"ncontrolled_text", counts[1]},
                             {"nbest_text", counts[2]}};
    if ((rc = gp_write_script(gp_path, tmpl_path, "megasim export-frontier", dat_path, out, svg,
                              title, vars, 4, err)))
        return rc;
    return gp_plot_draw(gp_path, dat_path, out, &drawn, err);
}
