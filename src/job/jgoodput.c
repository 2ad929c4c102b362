/* jgoodput: see jgoodput.h. */
#include "job/jgoodput.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/jplot.h"
#include "net/topo.h"
#include "train/fdb.h"
#include "train/fpub.h"
#include "train/goodput.h"

/* Detection (--detect-s, --hang-detect-s; the defaults are in jgoodput.h).
 * A failure that raises an error (a GPU's Xid ending its process, a link
 * or switch going down) reaches every rank as an error of NCCL's
 * InfiniBand transport once a peer's queue pair gives up: NCCL sets 7
 * retries of 4.096 us x 2^20 (NCCL_IB_RETRY_CNT and NCCL_IB_TIMEOUT, 20
 * since NCCL 2.20; 18 before: 7.5 s), 30 s, and PyTorch's asynchronous
 * error handling then stops the job. A failure that leaves the job
 * hanging waits for PyTorch's NCCL timeout, 10 minutes (pytorch/pytorch
 * PR 110947). hwdb/failures.csv says which a component does. */

/* A server of 8 GPUs, as an HGX board: what a "node" row counts. */
#define NODE_GPUS 8

/* The restart when none is given: relaunching the job (Kokolis et al.,
 * "Revisiting Reliability in Large-Scale ML Research Clusters", arXiv
 * 2410.21680, take 5 to 20 minutes of restart overhead: 5 minutes here)
 * and an initialisation that grows with the GPUs (MegaScale, arXiv
 * 2402.15627 section 3.5: under 5 s on 2,048 GPUs, under 30 s on more
 * than 10,000 after their fixes: about 3.1 ms a GPU). An estimate. */
#define RESTART_BASE_S    300.0
#define RESTART_PER_GPU_S 0.0031

/* Checkpoint intervals searched, as factors of Daly's. */
static const double factors[] = {0.25, 0.35, 0.5, 0.7, 1, 1.4, 2, 2.8, 4};
#define NFACTORS (sizeof factors / sizeof factors[0])

/* The intervals are compared on the first SEARCH_RUNS runs: every
 * interval sees the same failures (common random numbers), so the
 * difference between two intervals varies far less than either's ETTR,
 * and 20 runs rank them as 100 would at a fifth of the cost. The run's
 * own figures then come from all its runs at the interval chosen. */
#define SEARCH_RUNS 20

/* A published breakdown's groups: one per failure-rate row at most, and
 * the rows megasim does not model. */
#define MAX_GROUPS 65

int jgoodput_check(const jgoodput_opts *o, ms_err *err)
{
    int runs = o->runs != JOPT_NO_INT;
    if (!runs && (!isnan(o->window_days) || o->failure_rates || o->async_checkpoint ||
                  !isnan(o->snapshot_s) || !isnan(o->restart_s) || o->hot_spares != JOPT_NO_INT ||
                  !isnan(o->repair_hours) || !isnan(o->straggler_per_day)))
        return ms_errf(err, MS_EUSAGE,
                       "--window-days, --failure-rates, --async-checkpoint, --snapshot-s, "
                       "--restart-s, --hot-spares, --repair-hours and --stragglers-per-day go "
                       "with --runs N (the run simulated N times with failures)");
    if ((o->hot_spares != JOPT_NO_INT) != !isnan(o->repair_hours))
        return ms_errf(err, MS_EUSAGE,
                       "--hot-spares and --repair-hours go together: how many spare parts, and "
                       "how long a failed one takes to replace by hand");
    if (!isnan(o->snapshot_s) && !o->async_checkpoint)
        return ms_errf(err, MS_EUSAGE, "--snapshot-s goes with --async-checkpoint");
    if (o->scale_plot && !runs)
        return ms_errf(err, MS_EUSAGE,
                       "--goodput-scale-plot goes with --runs N: each size is simulated N times");
    if (o->published && !runs)
        return ms_errf(err, MS_EUSAGE,
                       "--published-interruptions goes with --runs N: megasim's interruptions "
                       "come from the runs");
    return MS_OK;
}

static double units_of(fdb_per per, double gpus)
{
    int64_t radix;
    switch (per) {
    case FDB_GPU:
    case FDB_LINK: /* a NIC per GPU */
        return gpus;
    case FDB_NODE:
        return ceil(gpus / NODE_GPUS);
    case FDB_SWITCH:
        return (double)topo_fattree_switches(gpus, &radix);
    default:
        return 1;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (sorted in place), linearly interpolated. */
static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    double at = q * (double)(n - 1);
    size_t i = (size_t)at;
    return i + 1 < n ? v[i] + (at - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* What runs of one interval give. */
typedef struct tally {
    double *ettr, *wall, *intr; /* per run */
    double mean_ettr, mean_wall, mean_intr;
    double lost, down, ckpt, slow; /* means, of the wall time */
    double by_kind[GOODPUT_MAX_KINDS];
    int all_done;
} tally;

static int run_all(const goodput_cfg *c, int64_t runs, tally *t, ms_err *err)
{
    memset(t->by_kind, 0, sizeof t->by_kind);
    t->mean_ettr = t->mean_wall = t->mean_intr = t->lost = t->down = t->ckpt = t->slow = 0;
    t->all_done = 1;
    double n = (double)runs;
    for (int64_t k = 0; k < runs; k++) {
        goodput_run g;
        int rc = goodput_run_one(c, (uint64_t)k, &g, err);
        if (rc)
            return rc;
        t->ettr[k] = g.ettr, t->wall[k] = g.wall_s, t->intr[k] = (double)g.interruptions;
        t->mean_ettr += g.ettr / n, t->mean_wall += g.wall_s / n;
        t->mean_intr += (double)g.interruptions / n;
        t->lost += g.lost_s / g.wall_s / n, t->down += g.down_s / g.wall_s / n;
        t->ckpt += g.ckpt_s / g.wall_s / n, t->slow += g.slow_s / g.wall_s / n;
        for (int i = 0; i < c->nkinds; i++)
            t->by_kind[i] += (double)g.by_kind[i] / n;
        t->all_done &= g.done;
    }
    return MS_OK;
}

/* cfg from o, in and the rates of db. */
static int make_cfg(const jgoodput_opts *o, const jgoodput_run_in *in, const fdb *db,
                    goodput_cfg *c, ms_err *err)
{
    *c = (goodput_cfg){.seed = 1};
    if (isnan(in->tokens) && isnan(o->window_days))
        return ms_errf(err, MS_EUSAGE,
                       "--runs needs the run's length: --tokens N (the budget) or --window-days D "
                       "(a wall-clock window)");
    if (isnan(in->ckpt_write_Bps))
        return ms_errf(err, MS_EUSAGE,
                       "--runs needs --checkpoint-GBps: how fast each GPU writes its checkpoint "
                       "(and reads it back after a failure)");
    /* Without a budget the window bounds the run: work it cannot finish. */
    c->work_s = isnan(in->tokens) ? 1e3 * o->window_days * 86400 : in->tokens / in->tokens_per_s;
    c->window_s = isnan(o->window_days) ? 0 : o->window_days * 86400;
    if (fdb_count(db) > GOODPUT_MAX_KINDS)
        return ms_errf(err, MS_EINVAL, "%s: %zu kinds of failure, at most %d are simulated",
                       fdb_path(db), fdb_count(db), GOODPUT_MAX_KINDS);
    for (size_t i = 0; i < fdb_count(db); i++) {
        const fdb_row *w = fdb_at(db, i);
        c->kinds[c->nkinds++] = (goodput_kind){.name = w->component,
                                               .rate_per_s = w->per_1000_day / 1000 / 86400 *
                                                             units_of(w->per, in->gpus),
                                               .needs_spare = w->needs_spare,
                                               .hangs = w->hangs};
    }
    c->ckpt_write_s = in->ckpt_bytes_per_gpu / in->ckpt_write_Bps;
    c->restore_s = c->ckpt_write_s;
    c->ckpt_async = o->async_checkpoint;
    if (o->async_checkpoint) {
        c->ckpt_snapshot_s = o->snapshot_s;
        if (isnan(c->ckpt_snapshot_s) && in->c && in->c->host_io_bw_Bps > 0)
            c->ckpt_snapshot_s = in->ckpt_bytes_per_gpu / in->c->host_io_bw_Bps;
        if (isnan(c->ckpt_snapshot_s))
            return ms_errf(err, MS_EUSAGE,
                           "--async-checkpoint: the chip has no host link figure to time its "
                           "snapshot: give --snapshot-s");
    }
    c->detect_s = o->detect_s;
    c->hang_detect_s = o->hang_detect_s;
    c->restart_s =
        isnan(o->restart_s) ? RESTART_BASE_S + RESTART_PER_GPU_S * in->gpus : o->restart_s;
    c->spares = o->hot_spares == JOPT_NO_INT ? INT64_MAX : o->hot_spares;
    c->repair_s = isnan(o->repair_hours) ? 0 : o->repair_hours * 3600;
    if (!isnan(o->straggler_per_day)) {
        c->straggler_rate_per_s = o->straggler_per_day / 86400;
        c->straggler_slowdown = o->straggler_slowdown;
        c->straggler_s = o->straggler_minutes * 60;
    }
    return MS_OK;
}

/* How long the job pauses for a checkpoint: its snapshot when it is
 * written behind the job, else its whole write. */
static double pause_s(const goodput_cfg *c)
{
    return c->ckpt_async ? c->ckpt_snapshot_s : c->ckpt_write_s;
}

/* The smallest whole number of steps longer than what a checkpoint
 * pauses the job (and, async, than its write), at least 1. */
static int64_t min_steps(const goodput_cfg *c, double step_s)
{
    double pause = c->ckpt_async ? fmax(c->ckpt_snapshot_s, c->ckpt_write_s) : c->ckpt_write_s;
    return (int64_t)floor(pause / step_s) + 1;
}

static void report_tally(report *r, const goodput_cfg *c, const jgoodput_run_in *in, const tally *t,
                         int64_t runs)
{
    /* The per-run arrays are the caller's scratch: sorted in place. */
    size_t n = (size_t)runs;
    double e[3] = {quantile(t->ettr, n, 0.1), quantile(t->ettr, n, 0.5), quantile(t->ettr, n, 0.9)};
    double w[2] = {quantile(t->wall, n, 0.1), quantile(t->wall, n, 0.9)};
    double i[2] = {quantile(t->intr, n, 0.1), quantile(t->intr, n, 0.9)};
    report_num(r, "ettr", "effective training time ratio, mean", t->mean_ettr, "%");
    report_num(r, "ettr_p10", "  10th percentile", e[0], "%");
    report_num(r, "ettr_p50", "  median", e[1], "%");
    report_num(r, "ettr_p90", "  90th percentile", e[2], "%");
    report_num(r, "interruptions", "interruptions, mean", t->mean_intr, "");
    report_num(r, "interruptions_p10", "  10th percentile", i[0], "");
    report_num(r, "interruptions_p90", "  90th percentile", i[1], "");
    if (c->window_s <= 0) { /* a window's runs all last the window */
        report_num(r, "wall_days", "wall-clock, mean", t->mean_wall / 86400, "days");
        report_num(r, "wall_days_p10", "  10th percentile", w[0] / 86400, "days");
        report_num(r, "wall_days_p90", "  90th percentile", w[1] / 86400, "days");
    }
    report_num(r, "lost_work_fraction", "of the wall time: work lost", t->lost, "%");
    report_num(r, "stopped_fraction", "  stopped (detect, wait, restart, restore)", t->down, "%");
    report_num(r, "checkpoint_fraction", "  paused for checkpoints", t->ckpt, "%");
    if (c->straggler_rate_per_s > 0)
        report_num(r, "straggler_fraction", "  slowed by stragglers", t->slow, "%");
    if (!isnan(in->tokens) && c->window_s <= 0) {
        double gpu_hours = t->mean_wall / 3600 * in->gpus;
        report_num(r, "gpu_hours", "GPU-hours with failures, mean", gpu_hours, "GPU-hours");
        if (!isnan(in->price_per_gpu_hour))
            report_num(r, "cost_usd", "cost with failures, mean",
                       gpu_hours * in->price_per_gpu_hour, "USD");
    }
}

/* The sizes of --goodput-scale-plot: powers of two from 1,024 to 2^20,
 * the run's own count among them. */
static size_t scale_counts(double own, double *gpus)
{
    size_t n = 0;
    int placed = 0;
    for (double g = 1024; g <= 1048576; g *= 2) {
        if (!placed && own <= g) {
            if (own < g)
                gpus[n++] = own;
            placed = 1;
        }
        gpus[n++] = g;
    }
    if (!placed)
        gpus[n++] = own;
    return n;
}

/* The table goodput_by_scale and *out: the run's options at each size,
 * the same work per GPU, at Daly's interval (whole steps). */
static int by_scale(const jgoodput_opts *o, const jgoodput_run_in *in, const fdb *db, tally *t,
                    report *r, jgoodput_scale *out, ms_err *err)
{
    *out = (jgoodput_scale){.run_gpus = in->gpus};
    out->n = scale_counts(in->gpus, out->gpus);
    report_table(r, "goodput_by_scale",
                 "ETTR against the cluster's size (each GPU's share of the job as here, "
                 "Daly's interval)");
    for (size_t k = 0; k < out->n; k++) {
        jgoodput_run_in at = *in;
        at.gpus = out->gpus[k];
        goodput_cfg c;
        int rc = make_cfg(o, &at, db, &c, err);
        if (rc)
            return rc;
        out->mtbi_s[k] = goodput_mtbi_s(&c);
        double daly = goodput_daly_s(pause_s(&c), out->mtbi_s[k]);
        double steps = fmax(round((isfinite(daly) ? daly : 86400) / in->step_s),
                            (double)min_steps(&c, in->step_s));
        c.ckpt_every_s = steps * in->step_s;
        out->interval_s[k] = c.ckpt_every_s;
        ms_err why = {0};
        rc = run_all(&c, o->runs, t, &why);
        if (rc == MS_ENOMEM)
            return ms_errf(err, rc, "%s", why.msg);
        size_t n = (size_t)o->runs;
        out->ettr[k] = rc ? NAN : t->mean_ettr; /* MS_EINVAL: a run that cannot end */
        out->ettr_p10[k] = rc ? NAN : quantile(t->ettr, n, 0.1);
        out->ettr_p90[k] = rc ? NAN : quantile(t->ettr, n, 0.9);
        report_row(r);
        report_num(r, "gpus", "GPUs", out->gpus[k], "");
        report_num(r, "mtbi_s", "an interruption every", out->mtbi_s[k], "s");
        report_num(r, "restart_s", "restart", c.restart_s, "s");
        report_num(r, "interval_s", "checkpoint every", out->interval_s[k], "s");
        report_num(r, "ettr", "ETTR, mean", out->ettr[k], "%");
        report_num(r, "ettr_p10", "10th percentile", out->ettr_p10[k], "%");
        report_num(r, "ettr_p90", "90th percentile", out->ettr_p90[k], "%");
    }
    report_table_end(r);
    char own[64];
    report_format(in->gpus, "", own, sizeof own);
    snprintf(out->title, sizeof out->title,
             "ETTR against the cluster's size: %lld runs of %s each, every GPU's share as at "
             "%s GPUs",
             (long long)o->runs, isnan(o->window_days) ? "the token budget" : "the window", own);
    return MS_OK;
}

int jgoodput_write_scale_plot(const jenv *env, const char *plot, const jgoodput_scale *s,
                              ms_err *err)
{
    jplot p;
    FILE *d;
    int rc = jplot_begin(env, plot, "goodput_scale", &p, &d, err);
    if (rc)
        return rc;
    fprintf(d, "gpus,ettr_pct,ettr_p10_pct,ettr_p90_pct,this_run\n");
    for (size_t k = 0; k < s->n; k++) {
        if (isnan(s->ettr[k]))
            fprintf(d, "%.0f,NaN,NaN,NaN,%d\n", s->gpus[k], s->gpus[k] == s->run_gpus);
        else
            fprintf(d, "%.0f,%.6g,%.6g,%.6g,%d\n", s->gpus[k], 100 * s->ettr[k],
                    100 * s->ettr_p10[k], 100 * s->ettr_p90[k], s->gpus[k] == s->run_gpus);
    }
    return jplot_end(&p, 1, s->title, NULL, 0, err);
}

/* The table interruptions_published: megasim's mean interruptions beside
 * a published breakdown, group by group, and in all. */
static int report_published(report *r, const char *shown, const fpub *pub, const fdb *db,
                            const tally *t, fpub_group *g, size_t *ng, ms_err *err)
{
    int rc = fpub_compare(pub, db, t->by_kind, g, MAX_GROUPS, ng, err);
    if (rc)
        return rc;
    char title[4200];
    snprintf(title, sizeof title, "interruptions beside the published breakdown (%s)", shown);
    report_table(r, "interruptions_published", title);
    for (size_t i = 0; i <= *ng; i++) {
        int all = i == *ng;
        double pred = all ? t->mean_intr : g[i].predicted;
        double publ = all ? fpub_total(pub) : g[i].published;
        report_row(r);
        report_str(r, "components", "megasim's components", all ? "all" : g[i].components);
        report_num(r, "predicted", "megasim", pred, "");
        report_num(r, "published", NULL, publ, "");
        report_num(r, "rel_error", "error", publ > 0 ? pred / publ - 1 : NAN, "%");
        report_str(r, "categories", "published rows", all ? "" : g[i].categories);
    }
    report_table_end(r);
    return MS_OK;
}

int jgoodput_run(const jgoodput_opts *o, const jenv *env, const jgoodput_run_in *in, report *r,
                 jgoodput_scale *scale, ms_err *err)
{
    int rc = jgoodput_check(o, err);
    if (rc)
        return rc;
    char found[4096], shown[4200];
    const char *path = o->failure_rates;
    if (path)
        snprintf(found, sizeof found, "%s", path);
    else if ((rc = jenv_path(env, "hwdb/failures.csv", found, sizeof found, err)))
        return rc;
    snprintf(shown, sizeof shown, "%s", path ? path : "hwdb/failures.csv");
    fdb *db = NULL;
    goodput_cfg c;
    tally t = {0};
    int64_t runs = o->runs;
    fpub *pub = NULL;
    fpub_group groups[MAX_GROUPS];
    size_t ngroups = 0;
    if ((rc = fdb_load(found, &db, err)) || (rc = make_cfg(o, in, db, &c, err)))
        goto out;
    if (o->published) {
        /* checked against the rates now, before the runs */
        char pubpath[4096];
        double zero[GOODPUT_MAX_KINDS] = {0}; /* make_cfg has refused more kinds */
        if ((rc = fpub_load(jenv_find(env, o->published, pubpath, sizeof pubpath), &pub, err)) ||
            (rc = fpub_compare(pub, db, zero, groups, MAX_GROUPS, &ngroups, err)))
            goto out;
    }
    t.ettr = malloc((size_t)runs * sizeof *t.ettr);
    t.wall = malloc((size_t)runs * sizeof *t.wall);
    t.intr = malloc((size_t)runs * sizeof *t.intr);
    if (!t.ettr || !t.wall || !t.intr) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    double mtbi = goodput_mtbi_s(&c);
    double pause = pause_s(&c);
    double daly = goodput_daly_s(pause, mtbi);
    int64_t search_runs = runs < SEARCH_RUNS ? runs : SEARCH_RUNS;
    int64_t lo = min_steps(&c, in->step_s);
    if (in->ckpt_every_steps != JOPT_NO_INT && in->ckpt_every_steps < lo) {
        rc = ms_errf(err, MS_EUSAGE,
                     "--checkpoint-every %lld: %.4g s of steps is no longer than a checkpoint "
                     "(%.4g s to write%s): at least %lld steps",
                     (long long)in->ckpt_every_steps, (double)in->ckpt_every_steps * in->step_s,
                     c.ckpt_write_s, c.ckpt_async ? ", written behind the job" : "", (long long)lo);
        goto out;
    }
    /* The intervals around Daly's, on the same failures (run k draws the
     * same whatever the interval). */
    int64_t steps[NFACTORS];
    double mean[NFACTORS];
    size_t ns = 0, best = 0;
    for (size_t f = 0; f < NFACTORS; f++) {
        double want = isfinite(daly) ? factors[f] * daly : factors[f] * 86400;
        int64_t k = (int64_t)llround(fmax(want / in->step_s, (double)lo));
        if (ns && steps[ns - 1] == k)
            continue;
        c.ckpt_every_s = (double)k * in->step_s;
        ms_err why = {0};
        int v = run_all(&c, search_runs, &t, &why);
        if (v == MS_ENOMEM) {
            rc = ms_errf(err, v, "%s", why.msg);
            goto out;
        }
        /* MS_EINVAL: at this interval a run cannot end; others may. */
        steps[ns] = k, mean[ns] = v ? -1 : t.mean_ettr;
        if (mean[ns] > mean[best])
            best = ns;
        ns++;
    }
    int64_t used = in->ckpt_every_steps != JOPT_NO_INT ? in->ckpt_every_steps : steps[best];
    c.ckpt_every_s = (double)used * in->step_s;
    if ((rc = run_all(&c, runs, &t, err)))
        goto out;

    char title[200];
    snprintf(title, sizeof title, "goodput: the run with failures, %lld runs%s", (long long)runs,
             c.window_s > 0 ? " of its window" : "");
    report_begin(r, "goodput", title);
    report_int(r, "runs", NULL, runs, "");
    if (c.window_s > 0)
        report_num(r, "window_days", "wall-clock window", c.window_s / 86400, "days");
    else
        report_num(r, "work_days", "the steps alone", c.work_s / 86400, "days");
    report_num(r, "mtbi_s", "an interruption every", mtbi, "s");
    report_tally(r, &c, in, &t, runs);
    report_int(r, "checkpoint_every_steps",
               in->ckpt_every_steps != JOPT_NO_INT ? "checkpoint every (given)"
                                                   : "checkpoint every (the best simulated)",
               used, "steps");
    report_num(r, "checkpoint_interval_s", "  that is", c.ckpt_every_s, "s");
    report_num(r, "checkpoint_pause_s", "  the job paused for each", pause, "s");
    report_num(r, "checkpoint_write_s", "  written in", c.ckpt_write_s, "s");
    report_num(r, "best_checkpoint_interval_s", "best interval simulated",
               (double)steps[best] * in->step_s, "s");
    report_num(r, "best_ettr", "  its ETTR, over the runs compared", mean[best], "%");
    report_int(r, "search_runs", "  runs the intervals were compared on", search_runs, "");
    report_num(r, "young_interval_s", "Young's interval", goodput_young_s(pause, mtbi), "s");
    report_num(r, "daly_interval_s", "Daly's interval", daly, "s");
    report_num(r, "detect_s", "detection of a failure that raises an error", c.detect_s, "s");
    report_num(r, "hang_detect_s", "  of one that hangs the job", c.hang_detect_s, "s");
    char restart[120];
    snprintf(restart, sizeof restart, "restart (%g s + %g ms a GPU, an estimate)", RESTART_BASE_S,
             RESTART_PER_GPU_S * 1e3);
    report_num(r, "restart_s", isnan(o->restart_s) ? restart : "restart", c.restart_s, "s");
    report_num(r, "restore_s", "restore (the checkpoint read back)", c.restore_s, "s");
    if (o->hot_spares != JOPT_NO_INT) {
        report_int(r, "hot_spares", NULL, o->hot_spares, "");
        report_num(r, "repair_s", "a part replaced by hand", c.repair_s, "s");
    }
    report_str(r, "failure_rates", "failure rates from", shown);
    report_end(r);

    report_table(r, "interruptions", "interruptions by component (mean over the runs)");
    for (int k = 0; k < c.nkinds; k++) {
        const fdb_row *w = fdb_at(db, (size_t)k);
        report_row(r);
        report_str(r, "component", NULL, w->component);
        report_str(r, "per", NULL, fdb_per_name(w->per));
        report_num(r, "units", NULL, units_of(w->per, in->gpus), "");
        report_num(r, "per_1000_per_day", "per 1000 a day", w->per_1000_day, "");
        report_num(r, "expected", "interruptions", t.by_kind[k], "");
        report_num(r, "share", NULL, t.mean_intr > 0 ? t.by_kind[k] / t.mean_intr : NAN, "%");
        report_str(r, "measured_on", "measured on", w->measured_on);
    }
    report_table_end(r);
    if (pub && (rc = report_published(r, o->published, pub, db, &t, groups, &ngroups, err)))
        goto out;
    char ttl[160];
    snprintf(ttl, sizeof ttl,
             "ETTR against the checkpoint interval (the same failures: the first %lld runs)",
             (long long)search_runs);
    report_table(r, "checkpoint_intervals", ttl);
    for (size_t s = 0; s < ns; s++) {
        report_row(r);
        report_int(r, "every_steps", "every", steps[s], "steps");
        report_num(r, "interval_s", "interval", (double)steps[s] * in->step_s, "s");
        report_num(r, "ettr", "ETTR, mean", mean[s], "%");
    }
    report_table_end(r);
    if (o->scale_plot)
        rc = by_scale(o, in, db, &t, r, scale, err);
out:
    free(t.ettr);
    free(t.wall);
    free(t.intr);
    fpub_free(pub);
    fdb_free(db);
    return rc;
}
