/* megasim export-frontier: the best chip an export rule allows for a
 * workload. Sweeps what-if chips derived from one (a grid of factors on
 * FLOPs, interconnect, memory), keeps the designs the rule does not
 * control, runs the workload scenario on each and reports the best and
 * the trade-off (a table, CSV, JSON and a gnuplot plot). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cexport.h"
#include "cli/commands.h"
#include "io/csvtab.h"
#include "io/gnuplot.h"
#include "policy/derive.h"
#include "policy/xrule.h"

static const cli_opt opts[] = {
    {"--rule", "NAME", "the export rule designs must pass (megasim export-check lists them)"},
    {"--from", "CHIP", "the chip designs are derived from"},
    {"--vary", "LIST",
     "knobs, comma-separated: FIELD or FIELD=LO:HI[:N], factors of the chip's figure"},
    {"--steps", "N", "points per knob given without N (default 5)"},
    {"--workload", "FILE",
     "a train or serve scenario to run on each design (as given, else under the data directory)"},
    {"--metric", "KEY", "the number in the workload's JSON to rank by (tokens_per_s, ...)"},
    {"--minimize", NULL, "smaller is better (a cost); default: larger is better"},
    {"--workload-arg", "ARGS", "options for the workload, after its fields (repeatable)"},
    {"--all-designs", NULL, "run the designs the rule controls too (for the plot)"},
    {"--jobs", "N", "processes running designs at once (default: the CPUs online)"},
    CEXPORT_RULES_OPT,
    CEXPORT_CHIPS_OPT,
    {"--csv", "FILE", "write every design: factors, metrics, verdict, result"},
    {"--plot", "FILE", "draw the trade-off (.png or .svg) with gnuplot"},
    {"--json", NULL, "print JSON"},
};

#define MAX_KNOBS   6
#define MAX_DESIGNS 2000
#define MAX_EXTRA   48
#define MAX_STEPS   50

typedef struct knob {
    derive_field field;
    double lo, hi;
    int n;
} knob;

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

typedef struct design {
    double factor[MAX_KNOBS];
    derive_chip d;
    xrule_verdict v;
    int ran;       /* the workload ran on it */
    double metric; /* NAN when it did not run or failed */
    char error[200];
} design;

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
            kn.lo = strtod(eq + 1, &end);
            int ok = end != eq + 1 && *end == ':';
            if (ok) {
                char *s2 = end + 1;
                kn.hi = strtod(s2, &end);
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

/* A number of the workload's JSON by key, "a.b" for nested objects. */
static double json_metric(const cJSON *o, const char *key)
{
    char part[64];
    const char *p = key;
    while (o && *p) {
        size_t len = strcspn(p, ".");
        if (len >= sizeof part)
            return NAN;
        memcpy(part, p, len);
        part[len] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, part);
        p += len + (p[len] == '.');
    }
    return cJSON_IsNumber(o) ? o->valuedouble : NAN;
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

static int build_extra(const cli_args *a, const chip_db *db, const char *designs_path, char *split,
                       size_t split_cap, extra *x, ms_err *err)
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
    if (!rc)
        rc = add_arg(x, "--json", err);
    /* Each --workload-arg may hold several arguments split at spaces. */
    const char *const *vals;
    int nv = cli_values(a, "--workload-arg", &vals);
    size_t used = 0;
    for (int i = 0; i < nv && !rc; i++) {
        size_t len = strlen(vals[i]);
        if (used + len + 1 > split_cap)
            return ms_errf(err, MS_EUSAGE, "--workload-arg: too long");
        char *s = split + used;
        memcpy(s, vals[i], len + 1);
        used += len + 1;
        for (char *tok = strtok(s, " "); tok && !rc; tok = strtok(NULL, " "))
            rc = add_arg(x, tok, err);
    }
    return rc;
}

static int run_one(const char *workload, extra *x, const char *chip_name, const char *key,
                   double *metric, char *error, size_t error_cap)
{
    x->arg[x->chip_at] = (char *)chip_name;
    cJSON *out = NULL;
    ms_err err = {0};
    int rc = cli_run_scenario_json(workload, x->n, x->arg, NULL, &out, &err);
    *metric = NAN;
    if (rc) {
        snprintf(error, error_cap, "%.199s", err.msg);
    } else {
        *metric = json_metric(out, key);
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

static int write_csv(const char *path, const design *ds, size_t n, const knob *k, int nk,
                     const char *key, ms_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "design");
    for (int i = 0; i < nk; i++)
        fprintf(f, ",%s_factor", derive_field_name(k[i].field));
    fprintf(f, ",tpp,performance_density,io_GBps,hbm_bw_GBps,hbm_GB,controlled,clause,%s,error\n",
            key);
    for (size_t j = 0; j < n; j++) {
        const design *d = &ds[j];
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
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return ms_errf(err, MS_EIO, "%s: write failed", path);
    return MS_OK;
}

static int write_plot(const char *out, const design *ds, size_t n, const design *best,
                      const char *base, double base_metric, const char *rule, const char *key,
                      ms_err *err)
{
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, drawn, rc;
    if ((rc = cli_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = cli_home_path(tmpl_path, sizeof tmpl_path, "plots/frontier.gp", err)))
        return rc;
    FILE *dat = fopen(dat_path, "w");
    if (!dat)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", dat_path, strerror(errno));
    ms_prec at;
    int shown[3] = {0};
    /* Three blocks: allowed designs, controlled ones, the best. */
    fprintf(dat, "# megasim export-frontier: tpp %s (allowed designs)\n", key);
    for (int block = 0; block < 3; block++) {
        if (block)
            fprintf(dat, "\n\n");
        fprintf(dat, "NaN NaN\n"); /* an empty block would stop gnuplot */
        for (size_t j = 0; j < n; j++) {
            const design *d = &ds[j];
            int show = block == 0   ? d->v.controlled == XRULE_FALSE
                       : block == 1 ? d->v.controlled != XRULE_FALSE
                                    : d == best;
            if (show && !isnan(d->metric)) {
                fprintf(dat, "%.6g %.10g\n", xrule_tpp(&d->d.c, &at), d->metric);
                shown[block]++;
            }
        }
    }
    if (fclose(dat) != 0)
        return ms_errf(err, MS_EIO, "%s: write failed", dat_path);
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
    return cli_plot_draw(gp_path, dat_path, out, &drawn, err);
}

static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* What a worker sends back for one design. */
typedef struct result_rec {
    size_t index;
    double metric;
    char error[200];
} result_rec;

static cli_progress prog;

static void progress(size_t done, size_t total, double t0)
{
    (void)t0;
    cli_progress_update(&prog, (double)done, (double)total, "designs run", NULL);
}

/* Runs the workload on every design to run, in jobs processes (fork:
 * each worker runs every jobs-th design and writes a record per design
 * to its pipe). */
static int run_designs(design *ds, size_t total, int all, int jobs, const char *workload, extra *x,
                       const char *key, size_t *done, double t0, ms_err *err)
{
    size_t *todo = malloc(total * sizeof *todo), n = 0;
    if (!todo)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    for (size_t j = 0; j < total; j++)
        if (all || ds[j].v.controlled == XRULE_FALSE)
            todo[n++] = j;
    *done = 0;
    if ((size_t)jobs > n)
        jobs = n ? (int)n : 1;
    if (jobs <= 1) {
        for (size_t i = 0; i < n; i++) {
            design *d = &ds[todo[i]];
            run_one(workload, x, d->d.c.name, key, &d->metric, d->error, sizeof d->error);
            d->ran = 1;
            progress(++*done, n, t0);
        }
        free(todo);
        return MS_OK;
    }
    int fds[64];
    pid_t pids[64];
    int started = 0, rc = MS_OK;
    fflush(NULL); /* children must not flush copies of our buffers */
    for (int w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) != 0) {
            rc = ms_errf(err, MS_EIO, "pipe: %s", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            rc = ms_errf(err, MS_EIO, "fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) {
            close(p[0]);
            for (int k = 0; k < started; k++)
                close(fds[k]);
            for (size_t i = (size_t)w; i < n; i += (size_t)jobs) {
                result_rec r = {.index = todo[i]};
                run_one(workload, x, ds[todo[i]].d.c.name, key, &r.metric, r.error, sizeof r.error);
                if (write(p[1], &r, sizeof r) != (ssize_t)sizeof r)
                    _exit(2);
            }
            _exit(0);
        }
        close(p[1]);
        fds[started] = p[0];
        pids[started++] = pid;
    }
    /* Records as they come, from whichever worker has one. */
    int open_n = started;
    while (open_n > 0) {
        struct pollfd pf[64];
        for (int w = 0; w < started; w++)
            pf[w] = (struct pollfd){.fd = fds[w], .events = POLLIN};
        if (poll(pf, (nfds_t)started, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = ms_errf(err, MS_EIO, "poll: %s", strerror(errno));
            break;
        }
        for (int w = 0; w < started; w++) {
            if (fds[w] < 0 || !(pf[w].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            result_rec r;
            size_t got = 0;
            while (got < sizeof r) {
                ssize_t k = read(fds[w], (char *)&r + got, sizeof r - got);
                if (k <= 0)
                    break;
                got += (size_t)k;
            }
            if (got < sizeof r) { /* the worker is done (or died) */
                close(fds[w]);
                fds[w] = -1;
                pf[w].fd = -1;
                open_n--;
                continue;
            }
            if (r.index < total) {
                design *d = &ds[r.index];
                d->metric = r.metric;
                d->ran = 1;
                r.error[sizeof r.error - 1] = '\0';
                snprintf(d->error, sizeof d->error, "%s", r.error);
                progress(++*done, n, t0);
            }
        }
    }
    for (int w = 0; w < started; w++) {
        int status;
        if (fds[w] >= 0)
            close(fds[w]);
        if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            if (!rc)
                rc = ms_errf(err, MS_EIO, "a worker running the workload failed");
    }
    if (!rc && *done < n)
        rc = ms_errf(err, MS_EIO, "workers ran %zu of %zu designs", *done, n);
    free(todo);
    return rc;
}

static int run_frontier(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    chip_db *db = NULL;
    xrule_set *rules = NULL;
    const xrule_rule *rule = NULL;
    const chip *base = NULL;
    design *ds = NULL;
    knob k[MAX_KNOBS];
    int nk = 0;
    int64_t steps = 5;
    char designs_path[] = "/tmp/megasim_frontier_XXXXXX";
    int designs_fd = -1;
    char split[4096];
    extra x = {0};
    int rc = MS_OK;
    static const char *const need[] = {"--rule", "--from", "--vary", "--workload", "--metric"};
    for (size_t i = 0; i < sizeof need / sizeof need[0] && !rc; i++)
        rc = cli_need(&a, need[i], &err);
    if (!rc)
        rc = cli_int_opt(&a, "--steps", 1, 5, &steps, &err);
    if (!rc && steps > MAX_STEPS)
        rc = ms_errf(&err, MS_EUSAGE, "--steps %lld: at most %d", (long long)steps, MAX_STEPS);
    if (!rc)
        rc = parse_knobs(cli_get(&a, "--vary"), (int)steps, k, &nk, &err);
    const char *wcmd = NULL;
    char workload_buf[4096];
    const char *workload = cli_get(&a, "--workload");
    if (workload)
        workload = cli_data_path(workload, workload_buf, sizeof workload_buf);
    if (!rc)
        rc = cli_scenario_command(workload, &wcmd, &err);
    if (!rc && strcmp(wcmd, "train") != 0 && strcmp(wcmd, "serve") != 0)
        rc = ms_errf(&err, MS_EINVAL,
                     "--workload %s: runs '%s'; expected a train or serve "
                     "scenario",
                     workload, wcmd);
    if (!rc)
        rc = cli_load_chips(&a, &db, &err);
    if (!rc)
        rc = chip_db_lookup(db, cli_get(&a, "--from"), &base, &err);
    if (!rc)
        rc = cexport_load_rules(&a, &rules, &err);
    if (!rc)
        rc = xrule_find(rules, cli_get(&a, "--rule"), &rule, &err);
    if (rc)
        goto out;

    size_t total = 1;
    for (int i = 0; i < nk; i++)
        total *= (size_t)k[i].n;
    if (total > MAX_DESIGNS) {
        rc = ms_errf(&err, MS_EUSAGE, "--vary: %zu designs; at most %d (fewer knobs or steps)",
                     total, MAX_DESIGNS);
        goto out;
    }
    ds = calloc(total, sizeof *ds);
    if (!ds) {
        rc = ms_errf(&err, MS_ENOMEM, "out of memory");
        goto out;
    }
    /* The grid, each design derived and judged. */
    int all = cli_has(&a, "--all-designs");
    size_t to_run = 0;
    for (size_t j = 0; j < total && !rc; j++) {
        design *d = &ds[j];
        derive_change ch[MAX_KNOBS];
        char name[64];
        int w = snprintf(name, sizeof name, "%s~", base->name);
        size_t idx = j;
        for (int i = nk - 1; i >= 0; i--) {
            int s = (int)(idx % (size_t)k[i].n);
            idx /= (size_t)k[i].n;
            d->factor[i] = grid_point(&k[i], s);
            ch[i] = (derive_change){.field = k[i].field, .scale = 1, .value = d->factor[i]};
        }
        for (int i = 0; i < nk && w > 0 && (size_t)w < sizeof name; i++)
            w += snprintf(name + w, sizeof name - (size_t)w, "%c%.3g", knob_code(k[i].field),
                          d->factor[i]);
        if (w < 0 || (size_t)w >= sizeof name) {
            rc = ms_errf(&err, MS_EUSAGE, "design names grow too long for chip %s", base->name);
            break;
        }
        rc = derive_apply(base, name, ch, (size_t)nk, &d->d, &err);
        d->metric = NAN;
        if (!rc) {
            d->v = xrule_check(rule, &d->d.c);
            to_run += all || d->v.controlled == XRULE_FALSE;
        }
    }
    if (rc)
        goto out;

    /* The designs to run, as a chip file the workload reads. */
    designs_fd = mkstemp(designs_path);
    FILE *df = designs_fd >= 0 ? fdopen(designs_fd, "w") : NULL;
    if (!df) {
        rc = ms_errf(&err, MS_EIO, "%s: cannot write: %s", designs_path, strerror(errno));
        goto out;
    }
    chip_csv_header(df);
    for (size_t j = 0; j < total; j++)
        if (all || ds[j].v.controlled == XRULE_FALSE)
            chip_csv_row(df, &ds[j].d.c);
    if (fclose(df) != 0) {
        rc = ms_errf(&err, MS_EIO, "%s: write failed", designs_path);
        goto out;
    }
    if ((rc = build_extra(&a, db, to_run ? designs_path : NULL, split, sizeof split, &x, &err)))
        goto out;

    const char *key = cli_get(&a, "--metric");
    int minimize = cli_has(&a, "--minimize");
    /* The parent itself first, whatever the rule says: the reference. */
    double base_metric;
    char base_error[200] = "";
    if (run_one(workload, &x, base->name, key, &base_metric, base_error, sizeof base_error) &&
        isnan(base_metric)) {
        rc = ms_errf(&err, MS_EINVAL, "--workload %s on %s: %s", workload, base->name, base_error);
        goto out;
    }
    if (isnan(base_metric)) {
        rc = ms_errf(&err, MS_EINVAL, "--metric %s: %s", key, base_error);
        goto out;
    }
    int64_t jobs;
    if ((rc = cli_int_opt(&a, "--jobs", 1, default_jobs(), &jobs, &err)))
        goto out;
    double t0 = now_s();
    size_t done = 0, failed = 0;
    cli_progress_start(&prog, "export-frontier");
    rc = run_designs(ds, total, all, (int)jobs, workload, &x, key, &done, t0, &err);
    cli_progress_end(&prog);
    if (rc)
        goto out;
    design *best = NULL;
    for (size_t j = 0; j < total; j++) {
        const design *d = &ds[j];
        failed += d->ran && isnan(d->metric);
        if (d->v.controlled == XRULE_FALSE && better(d, best, nk, minimize))
            best = &ds[j];
    }
    double elapsed = now_s() - t0;
    size_t allowed = 0, undecided = 0;
    for (size_t j = 0; j < total; j++) {
        allowed += ds[j].v.controlled == XRULE_FALSE;
        undecided += ds[j].v.controlled == XRULE_UNDECIDED;
    }

    if (cli_get(&a, "--csv") && (rc = write_csv(cli_get(&a, "--csv"), ds, total, k, nk, key, &err)))
        goto out;
    if (cli_get(&a, "--plot") && (rc = write_plot(cli_get(&a, "--plot"), ds, total, best,
                                                  base->name, base_metric, rule->name, key, &err)))
        goto out;

    if (cli_has(&a, "--json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "rule", rule->name);
        cJSON_AddStringToObject(o, "from", base->name);
        cJSON_AddStringToObject(o, "workload", workload);
        cJSON_AddStringToObject(o, "metric", key);
        cJSON_AddBoolToObject(o, "minimize", minimize);
        cli_json_num(o, "base_metric", base_metric);
        xrule_verdict bv = xrule_check(rule, base);
        cJSON_AddBoolToObject(o, "base_controlled", bv.controlled == XRULE_TRUE);
        cli_json_num(o, "designs", (double)total);
        cli_json_num(o, "allowed", (double)allowed);
        cli_json_num(o, "undecided", (double)undecided);
        cli_json_num(o, "runs_failed", (double)failed);
        cli_json_num(o, "run_s", elapsed);
        cJSON *list = cJSON_AddArrayToObject(o, "results");
        for (size_t j = 0; j < total; j++) {
            const design *d = &ds[j];
            cJSON *e = cJSON_CreateObject();
            cexport_verdict_json(e, rule, &d->d.c, &d->v);
            cJSON *fj = cJSON_AddObjectToObject(e, "factors");
            for (int i = 0; i < nk; i++)
                cli_json_num(fj, derive_field_name(k[i].field), d->factor[i]);
            cJSON_AddBoolToObject(e, "ran", d->ran);
            cli_json_num(e, "metric", d->metric);
            if (d->error[0])
                cJSON_AddStringToObject(e, "error", d->error);
            cJSON_AddItemToArray(list, e);
            if (d == best)
                cJSON_AddItemReferenceToObject(o, "best", e);
        }
        if (!best)
            cJSON_AddNullToObject(o, "best");
        rc = cli_json_emit(o, &err);
        goto out;
    }
    printf("export-frontier: %s under %s, %s from %s (%s is better)\n", key, rule->name, workload,
           base->name, minimize ? "smaller" : "larger");
    printf(
        "  %zu designs, %zu allowed by %s%s; %zu run in %.1f s (%.2f s of wall time a design)%s\n",
        total, allowed, rule->name, undecided ? " (some undecided: not run)" : "", done, elapsed,
        done ? elapsed / (double)done : 0.0, failed ? "; some failed (see --csv)" : "");
    printf("  %s itself (%s under %s): %s = %.6g\n", base->name,
           cexport_verdict_word(xrule_check(rule, base).controlled), rule->name, key, base_metric);
    if (!best) {
        printf("  no allowed design ran: the rule leaves nothing in this grid, or every run "
               "failed\n");
        goto out;
    }
    ms_prec at;
    printf("\nbest allowed design: %s\n", best->d.c.derivation);
    printf("  %s = %.6g, %.1f%% of %s; TPP %.0f\n", key, best->metric,
           100 * best->metric / base_metric, base->name, xrule_tpp(&best->d.c, &at));
    printf("  %s: %s\n", rule->name, best->v.why);
    /* The top of the allowed designs. */
    printf("\n%-28s %8s %14s  %s\n", "allowed design", "TPP", key, "factors");
    /* Sort indices of allowed designs by metric (insertion sort: a few hundred). */
    size_t *order = malloc(total * sizeof *order);
    size_t no = 0;
    for (size_t j = 0; order && j < total; j++) {
        if (ds[j].v.controlled != XRULE_FALSE || isnan(ds[j].metric))
            continue;
        size_t at_ = no++;
        while (at_ > 0 && better(&ds[j], &ds[order[at_ - 1]], nk, minimize)) {
            order[at_] = order[at_ - 1];
            at_--;
        }
        order[at_] = j;
    }
    for (size_t i = 0; i < no && i < 10; i++) {
        const design *d = &ds[order[i]];
        char f[128] = "";
        size_t used = 0;
        for (int q = 0; q < nk && used < sizeof f; q++)
            used += (size_t)snprintf(f + used, sizeof f - used, "%s%s x%.3g", q ? ", " : "",
                                     derive_field_name(k[q].field), d->factor[q]);
        printf("%-28s %8.0f %14.6g  %s\n", d->d.c.name, xrule_tpp(&d->d.c, &at), d->metric, f);
    }
    free(order);
    if (cli_get(&a, "--csv"))
        printf("\ncsv: %s\n", cli_get(&a, "--csv"));
    if (cli_get(&a, "--plot"))
        printf("plot: %s\n", cli_get(&a, "--plot"));
out:
    if (designs_fd >= 0)
        unlink(designs_path);
    free(ds);
    xrule_free(rules);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_export_frontier = {
    .name = "export-frontier",
    .run = run_frontier,
    .summary = "the best chip an export rule allows for a workload, and the trade-off",
    .usage = "  megasim export-frontier --rule NAME --from CHIP --vary LIST --workload FILE\n"
             "                          --metric KEY [--steps N] [--minimize] [--csv FILE]\n"
             "                          [--plot FILE] [--json]\n",
    .details =
        "Derives a grid of chips from CHIP (each knob a factor of its figure: flops 0.1-1,\n"
        "scale_up_bw 0.25-1, hbm_bw 0.5-1.25, hbm_capacity 0.5-1.5, ... unless LO:HI[:N]\n"
        "is given), judges each under the rule (megasim export-check), runs the workload\n"
        "scenario on every design the rule does not control, and ranks them by KEY of the\n"
        "workload's JSON (train: tokens_per_s, mfu_bf16, ...; serve: output_tokens_per_s,\n"
        "usd_per_million_output_tokens with --minimize, ...). CHIP itself is run too, as\n"
        "the reference. The grid is every combination: 3 knobs of 5 steps are 125\n"
        "designs. Designs the database leaves undecided are not run.\n"
        "Example: megasim export-frontier --rule oct2022 --from H100\n"
        "           --vary flops,scale_up_bw --workload scenarios/deepseek-v3-pretrain-h800.json\n"
        "           --metric tokens_per_s\n",
    .opts = opts,
    .nopts = sizeof opts / sizeof opts[0],
    .max_pos = 0,
};
