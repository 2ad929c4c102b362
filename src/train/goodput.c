/* goodput: see goodput.h. */
#include "train/goodput.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "core/sim.h"

/* The engine's clock holds picoseconds up to about 106 days; a run with
 * failures can last years. It counts the run's seconds as microseconds:
 * events stay exact to a microsecond of the run, and 290,000 years fit. */
#define TIME_SCALE 1e-6

/* A run that has not ended after this many times its work never will. */
#define MAX_STRETCH 1000.0

typedef enum { RUNNING, PAUSED, DOWN } phase;

typedef struct state {
    const goodput_cfg *cfg;
    sim *s;
    rng *fails, *slows; /* separate streams: stragglers do not move failures */
    goodput_run *out;
    double total_rate;
    phase ph;
    double work;      /* done so far, kept or not */
    double durable;   /* in the last checkpoint written */
    double pending;   /* async: the checkpoint being written, or -1 */
    double next_ckpt; /* work at which the next checkpoint is taken */
    double t_mark;    /* wall time work was last brought up to date, or a pause began */
    double rate;      /* work a wall second while running: 1, less with a straggler */
    int stragglers;   /* present now */
    int64_t spares_free;
    sim_event_id milestone, write_done, resume;
    int stuck; /* ran past MAX_STRETCH */
} state;

static double now_s(const state *x)
{
    return sim_time_to_s(sim_now(x->s)) / TIME_SCALE;
}

static sim_event_id at(state *x, double wall_s, sim_handler h, double arg)
{
    return sim_at_plus_s(x->s, 0, wall_s * TIME_SCALE, h, x, (sim_payload){.f64 = {arg, 0}});
}

/* Brings work up to now while running, counting what stragglers cost
 * (paused or down, t_mark keeps the pause's or the stop's start). */
static void advance(state *x)
{
    if (x->ph != RUNNING)
        return;
    double t = now_s(x), dt = t - x->t_mark;
    x->work = fmin(x->work + dt * x->rate, x->cfg->work_s);
    x->out->slow_s += dt * (1 - x->rate);
    x->t_mark = t;
}

static void on_milestone(sim *s, void *ctx, sim_payload p);

/* The next checkpoint or the end of the work, whichever comes first
 * (the event's argument: 1 for the end). */
static void plan_milestone(state *x)
{
    sim_cancel(x->s, x->milestone);
    int end = x->cfg->work_s <= x->next_ckpt;
    double target = end ? x->cfg->work_s : x->next_ckpt;
    x->milestone = at(x, now_s(x) + fmax(0, target - x->work) / x->rate, on_milestone, end);
}

static void on_write_done(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    state *x = ctx;
    x->durable = x->pending;
    x->pending = -1;
    x->write_done = SIM_EVENT_NONE;
}

/* End of a pause: a synchronous checkpoint written, or an asynchronous one
 * snapshotted (its write then goes on behind the job). */
static void on_pause_end(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    state *x = ctx;
    x->milestone = SIM_EVENT_NONE;
    x->out->ckpt_s += now_s(x) - x->t_mark;
    if (x->cfg->ckpt_async) {
        x->pending = x->work;
        x->write_done = at(x, now_s(x) + x->cfg->ckpt_write_s, on_write_done, 0);
    } else {
        x->durable = x->work;
    }
    x->ph = RUNNING;
    x->t_mark = now_s(x);
    plan_milestone(x);
}

static void on_milestone(sim *s, void *ctx, sim_payload p)
{
    state *x = ctx;
    x->milestone = SIM_EVENT_NONE;
    advance(x);
    if (p.f64[0] == 1) {
        x->work = x->cfg->work_s; /* exact, whatever the rounding of the clock */
        x->out->done = 1;
        sim_stop(s);
        return;
    }
    /* A checkpoint: the job pauses to write it, or to snapshot it. */
    x->work = x->next_ckpt;
    x->next_ckpt += x->cfg->ckpt_every_s;
    x->out->checkpoints++;
    x->ph = PAUSED;
    x->milestone =
        at(x, now_s(x) + (x->cfg->ckpt_async ? x->cfg->ckpt_snapshot_s : x->cfg->ckpt_write_s),
           on_pause_end, 0);
}

static void on_resume(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    state *x = ctx;
    x->resume = SIM_EVENT_NONE;
    x->out->down_s += now_s(x) - x->t_mark;
    x->ph = RUNNING;
    x->t_mark = now_s(x);
    plan_milestone(x);
}

static void on_spare_back(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    ((state *)ctx)->spares_free++;
}

static void on_fail(sim *s, void *ctx, sim_payload p);

static void next_failure(state *x)
{
    if (x->total_rate > 0)
        at(x, now_s(x) + rng_exponential(x->fails, 1 / x->total_rate), on_fail, 0);
}

static void on_fail(sim *s, void *ctx, sim_payload p)
{
    (void)p;
    state *x = ctx;
    const goodput_cfg *c = x->cfg;
    double t = now_s(x);
    if (x->cfg->window_s <= 0 && t > MAX_STRETCH * c->work_s) {
        x->stuck = 1;
        sim_stop(s);
        return;
    }
    /* Which kind, in proportion to its rate. */
    double u = rng_uniform(x->fails) * x->total_rate, acc = 0;
    int k = 0;
    for (; k < c->nkinds - 1; k++) {
        acc += c->kinds[k].rate_per_s;
        if (u < acc)
            break;
    }
    x->out->interruptions++;
    x->out->by_kind[k]++;
    if (x->ph == DOWN) { /* during a recovery: it starts over from here */
        sim_cancel(s, x->resume);
        x->out->down_s += t - x->t_mark;
    } else {
        if (x->ph == PAUSED)
            x->out->ckpt_s += t - x->t_mark;
        advance(x);
        sim_cancel(s, x->milestone);
        sim_cancel(s, x->write_done); /* a write under way is lost */
        x->milestone = x->write_done = SIM_EVENT_NONE;
        x->pending = -1;
        x->out->lost_s += x->work - x->durable;
        x->work = x->durable;
        x->next_ckpt = x->durable + c->ckpt_every_s;
    }
    x->ph = DOWN;
    x->t_mark = t;
    double wait = 0;
    if (c->kinds[k].needs_spare) {
        if (x->spares_free > 0) {
            x->spares_free--;
            wait = c->swap_s;
            at(x, t + c->repair_s, on_spare_back, 0);
        } else {
            wait = c->repair_s;
        }
    }
    double detect = c->kinds[k].hangs ? c->hang_detect_s : c->detect_s;
    x->resume = at(x, t + detect + wait + c->restart_s + c->restore_s, on_resume, 0);
    next_failure(x);
}

static void on_straggler_end(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    state *x = ctx;
    advance(x);
    if (--x->stragglers == 0)
        x->rate = 1;
    if (x->ph == RUNNING)
        plan_milestone(x);
}

static void on_straggler(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    state *x = ctx;
    advance(x);
    x->stragglers++;
    x->rate = 1 / (1 + x->cfg->straggler_slowdown);
    if (x->ph == RUNNING)
        plan_milestone(x);
    at(x, now_s(x) + x->cfg->straggler_s, on_straggler_end, 0);
    at(x, now_s(x) + rng_exponential(x->slows, 1 / x->cfg->straggler_rate_per_s), on_straggler, 0);
}

static void on_window_end(sim *s, void *ctx, sim_payload p)
{
    (void)p;
    state *x = ctx;
    double t = now_s(x);
    if (x->ph == RUNNING)
        advance(x);
    else if (x->ph == PAUSED)
        x->out->ckpt_s += t - x->t_mark;
    else
        x->out->down_s += t - x->t_mark;
    sim_stop(s);
}

/* A time or rate of cfg: finite and >= 0 (> 0 when positive). */
static int field_ok(double v, int positive)
{
    return isfinite(v) && (positive ? v > 0 : v >= 0);
}

int goodput_check(const goodput_cfg *c, ms_err *err)
{
    static const struct {
        const char *name;
        size_t off;
        int positive;
    } fields[] = {
        {"work_s", offsetof(goodput_cfg, work_s), 1},
        {"window_s", offsetof(goodput_cfg, window_s), 0},
        {"ckpt_every_s", offsetof(goodput_cfg, ckpt_every_s), 1},
        {"ckpt_write_s", offsetof(goodput_cfg, ckpt_write_s), 0},
        {"ckpt_snapshot_s", offsetof(goodput_cfg, ckpt_snapshot_s), 0},
        {"restore_s", offsetof(goodput_cfg, restore_s), 0},
        {"detect_s", offsetof(goodput_cfg, detect_s), 0},
        {"hang_detect_s", offsetof(goodput_cfg, hang_detect_s), 0},
        {"restart_s", offsetof(goodput_cfg, restart_s), 0},
        {"repair_s", offsetof(goodput_cfg, repair_s), 0},
        {"swap_s", offsetof(goodput_cfg, swap_s), 0},
        {"straggler_rate_per_s", offsetof(goodput_cfg, straggler_rate_per_s), 0},
        {"straggler_slowdown", offsetof(goodput_cfg, straggler_slowdown), 0},
        {"straggler_s", offsetof(goodput_cfg, straggler_s), 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        double v = *(const double *)((const char *)c + fields[i].off);
        if (!field_ok(v, fields[i].positive))
            return ms_errf(err, MS_EINVAL, "goodput: %s: expected a finite number %s 0, got %g",
                           fields[i].name, fields[i].positive ? ">" : ">=", v);
    }
    if (c->nkinds < 1 || c->nkinds > GOODPUT_MAX_KINDS)
        return ms_errf(err, MS_EINVAL, "goodput: expected 1 to %d kinds of interruption, got %d",
                       GOODPUT_MAX_KINDS, c->nkinds);
    for (int k = 0; k < c->nkinds; k++)
        if (!field_ok(c->kinds[k].rate_per_s, 0))
            return ms_errf(err, MS_EINVAL,
                           "goodput: %s: rate_per_s: expected a finite number >= 0, got %g",
                           c->kinds[k].name, c->kinds[k].rate_per_s);
    if (c->spares < 0)
        return ms_errf(err, MS_EINVAL, "goodput: spares: expected a whole number >= 0");
    double pause_s = c->ckpt_async ? c->ckpt_snapshot_s : c->ckpt_write_s;
    if (c->ckpt_every_s <= pause_s)
        return ms_errf(err, MS_EINVAL,
                       "goodput: a checkpoint every %g s of work is no longer than the %g s it "
                       "pauses the job: the job would checkpoint more than it trains",
                       c->ckpt_every_s, pause_s);
    if (c->ckpt_async && c->ckpt_write_s >= c->ckpt_every_s)
        return ms_errf(err, MS_EINVAL,
                       "goodput: an asynchronous checkpoint written in %g s is not done before "
                       "the next, %g s of work later: write faster or checkpoint less often",
                       c->ckpt_write_s, c->ckpt_every_s);
    if (c->straggler_rate_per_s > 0 && !(c->straggler_s > 0))
        return ms_errf(err, MS_EINVAL,
                       "goodput: stragglers arrive but straggler_s, how long one lasts, is 0");
    return MS_OK;
}

double goodput_mtbi_s(const goodput_cfg *c)
{
    double sum = 0;
    for (int k = 0; k < c->nkinds; k++)
        sum += c->kinds[k].rate_per_s;
    return sum > 0 ? 1 / sum : INFINITY;
}

double goodput_young_s(double ckpt_s, double mtbi_s)
{
    return sqrt(2 * ckpt_s * mtbi_s);
}

double goodput_daly_s(double ckpt_s, double mtbi_s)
{
    if (ckpt_s >= 2 * mtbi_s)
        return mtbi_s;
    double r = ckpt_s / (2 * mtbi_s);
    return sqrt(2 * ckpt_s * mtbi_s) * (1 + sqrt(r) / 3 + r / 9) - ckpt_s;
}

int goodput_run_one(const goodput_cfg *c, uint64_t k, goodput_run *out, ms_err *err)
{
    *out = (goodput_run){0};
    int rc = goodput_check(c, err);
    if (rc)
        return rc;
    state x = {.cfg = c,
               .out = out,
               .total_rate = 1 / goodput_mtbi_s(c),
               .ph = RUNNING,
               .pending = -1,
               .next_ckpt = c->ckpt_every_s,
               .rate = 1,
               .spares_free = c->spares};
    if (!isfinite(x.total_rate))
        x.total_rate = 0;
    if ((rc = sim_new(&x.s, err)) || (rc = rng_new_stream(&x.fails, c->seed, 2 * k, err)) ||
        (rc = rng_new_stream(&x.slows, c->seed, 2 * k + 1, err)))
        goto out;
    plan_milestone(&x);
    next_failure(&x);
    if (c->straggler_rate_per_s > 0)
        at(&x, rng_exponential(x.slows, 1 / c->straggler_rate_per_s), on_straggler, 0);
    if (c->window_s > 0)
        at(&x, c->window_s, on_window_end, 0);
    if ((rc = sim_run(x.s, err)))
        goto out;
    if (x.stuck) {
        rc = ms_errf(err, MS_EINVAL,
                     "goodput: the run does not end: after %.3g times its work in wall time it "
                     "has done %.1f%% of it (an interruption every %.3g s, a checkpoint every "
                     "%.3g s of work)",
                     MAX_STRETCH, 100 * x.work / c->work_s, goodput_mtbi_s(c), c->ckpt_every_s);
        goto out;
    }
    out->wall_s = now_s(&x);
    out->work_kept_s = x.work;
    out->ettr = out->wall_s > 0 ? out->work_kept_s / out->wall_s : NAN;
out:
    rng_free(x.fails);
    rng_free(x.slows);
    sim_free(x.s);
    return rc;
}
