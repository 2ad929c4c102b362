/* flow: see flow.h. Rates are recomputed from scratch (progressive filling
 * over the links that carry flows) whenever the set of draining flows
 * changes: once per batch of starts (flow_hold/flow_release) and once per
 * batch of ends (ends within 0.01% of each other together). Simple; at large scale (an all-to-all
 * among thousands of GPUs, millions of flows ending at many distinct times) an incremental update
 * touching only the links of the flows that changed, or simulating one group of a symmetric plan,
 * would be much faster. */
#include "net/flow.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"

typedef struct flw {
    size_t path_off, len; /* into flow_net.paths */
    double bytes, remaining;
    double rate;
    double began_s; /* when it started draining */
    flow_done_fn done;
    void *ctx;
    int state; /* 0 waiting, 1 draining, 2 done */
} flw;

struct flow_net {
    sim *s;
    double *cap;
    size_t nlinks;
    flw *flows;
    size_t nflows, flows_cap;
    int32_t *paths;
    size_t npaths, paths_cap;
    int64_t *active; /* ids of draining flows */
    size_t nactive, active_cap;
    sim_time last_update;
    sim_event_id next;
    int held;  /* > 0: starts wait for flow_release to recompute */
    int dirty; /* a start happened while held */
    int err_code;
    char err_msg[MS_ERR_MSG_MAX];
};

int flow_maxmin(const double *cap_Bps, size_t nlinks, const int32_t *path, const size_t *off,
                size_t nflows, double *rates, ms_err *err)
{
    int rc = MS_OK;
    double *rem = malloc((nlinks + 1) * sizeof *rem);
    size_t *count = calloc(nlinks + 1, sizeof *count);
    size_t *start = calloc(nlinks + 2, sizeof *start); /* CSR: link -> flows */
    size_t *members = malloc((off[nflows] + 1) * sizeof *members);
    int32_t *used = malloc((nlinks + 1) * sizeof *used);
    char *frozen = calloc(nflows + 1, 1);
    if (!rem || !count || !start || !members || !used || !frozen) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory in the max-min solver");
        goto out;
    }
    size_t nused = 0;
    for (size_t i = 0; i < off[nflows]; i++)
        if (count[path[i]]++ == 0)
            used[nused++] = path[i];
    for (size_t l = 0; l < nlinks; l++) {
        start[l + 1] = start[l] + count[l];
        rem[l] = cap_Bps[l];
    }
    {
        size_t *fill = calloc(nlinks + 1, sizeof *fill);
        if (!fill) {
            rc = ms_errf(err, MS_ENOMEM, "out of memory in the max-min solver");
            goto out;
        }
        for (size_t f = 0; f < nflows; f++)
            for (size_t i = off[f]; i < off[f + 1]; i++)
                members[start[path[i]] + fill[path[i]]++] = f;
        free(fill);
    }
    size_t left = 0;
    for (size_t f = 0; f < nflows; f++) {
        rates[f] = off[f + 1] == off[f] ? INFINITY : 0;
        left += off[f + 1] > off[f];
    }
    while (left > 0) {
        /* The tightest link: least capacity left per unfrozen flow. */
        double best = INFINITY;
        int32_t bl = -1;
        for (size_t u = 0; u < nused; u++) {
            int32_t l = used[u];
            if (count[l] == 0)
                continue;
            double share = fmax(rem[l], 0) / (double)count[l];
            if (share < best) {
                best = share;
                bl = l;
            }
        }
        if (bl < 0) /* cannot be: every flow left crosses a link with flows */
            break;
        /* Freeze the flows of every link as tight as the tightest: in a
         * symmetric collective that is all of them, in one pass. */
        for (size_t u = 0; u < nused; u++) {
            int32_t l = used[u];
            if (count[l] == 0 || fmax(rem[l], 0) / (double)count[l] > best * (1 + 1e-12))
                continue;
            for (size_t m = start[l]; m < start[l + 1]; m++) {
                size_t f = members[m];
                if (frozen[f])
                    continue;
                frozen[f] = 1;
                rates[f] = best;
                left--;
                for (size_t i = off[f]; i < off[f + 1]; i++) {
                    rem[path[i]] -= best;
                    count[path[i]]--;
                }
            }
        }
    }
out:
    free(rem);
    free(count);
    free(start);
    free(members);
    free(used);
    free(frozen);
    return rc;
}

int flow_net_new(sim *s, const double *link_bw_Bps, size_t nlinks, flow_net **out, ms_err *err)
{
    *out = NULL;
    for (size_t l = 0; l < nlinks; l++)
        if (!(link_bw_Bps[l] > 0) || !isfinite(link_bw_Bps[l]))
            return ms_errf(err, MS_EINVAL, "link %zu: bandwidth must be > 0, got %g", l,
                           link_bw_Bps[l]);
    flow_net *n = calloc(1, sizeof *n);
    if (!n || !(n->cap = malloc((nlinks + 1) * sizeof *n->cap))) {
        free(n);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    memcpy(n->cap, link_bw_Bps, nlinks * sizeof *n->cap);
    n->nlinks = nlinks;
    n->s = s;
    n->next = SIM_EVENT_NONE;
    n->last_update = sim_now(s);
    *out = n;
    return MS_OK;
}

void flow_net_free(flow_net *n)
{
    if (!n)
        return;
    if (!sim_event_is_none(n->next))
        sim_cancel(n->s, n->next);
    free(n->cap);
    free(n->flows);
    free(n->paths);
    free(n->active);
    free(n);
}

static void fail(flow_net *n, const char *msg)
{
    if (!n->err_code) {
        n->err_code = MS_ENOMEM;
        snprintf(n->err_msg, sizeof n->err_msg, "%s", msg);
    }
}

/* Drains every active flow up to now. */
static void advance(flow_net *n)
{
    sim_time now = sim_now(n->s);
    double dt = sim_time_to_s(now - n->last_update);
    n->last_update = now;
    if (dt <= 0)
        return;
    for (size_t i = 0; i < n->nactive; i++) {
        flw *f = &n->flows[n->active[i]];
        f->remaining -= f->rate * dt;
    }
}

static void on_next(sim *s, void *ctx, sim_payload p);

/* New rates for the active flows, and the event of the next completion. */
static void reschedule(flow_net *n)
{
    if (!sim_event_is_none(n->next)) {
        sim_cancel(n->s, n->next);
        n->next = SIM_EVENT_NONE;
    }
    if (n->nactive == 0)
        return;
    size_t total = 0;
    for (size_t i = 0; i < n->nactive; i++)
        total += n->flows[n->active[i]].len;
    int32_t *path = malloc((total + 1) * sizeof *path);
    size_t *off = malloc((n->nactive + 1) * sizeof *off);
    double *rates = malloc((n->nactive + 1) * sizeof *rates);
    ms_err err = {0};
    if (!path || !off || !rates) {
        fail(n, "out of memory in the flow network");
        goto out;
    }
    off[0] = 0;
    for (size_t i = 0; i < n->nactive; i++) {
        const flw *f = &n->flows[n->active[i]];
        memcpy(path + off[i], n->paths + f->path_off, f->len * sizeof *path);
        off[i + 1] = off[i] + f->len;
    }
    if (flow_maxmin(n->cap, n->nlinks, path, off, n->nactive, rates, &err)) {
        fail(n, err.msg);
        goto out;
    }
    double soonest = INFINITY;
    for (size_t i = 0; i < n->nactive; i++) {
        flw *f = &n->flows[n->active[i]];
        f->rate = rates[i];
        soonest = fmin(soonest, fmax(f->remaining, 0) / f->rate);
    }
    /* Round up to the next picosecond, so the flow is surely done then. */
    double dt_ps = ceil(soonest * (double)SIM_PS_PER_S);
    if (!(dt_ps < (double)(SIM_TIME_MAX - sim_now(n->s)))) {
        sim_time_overflow(n->s, sim_time_to_s(sim_now(n->s)) + soonest);
        goto out;
    }
    n->next = sim_after(n->s, (sim_time)dt_ps, on_next, n, (sim_payload){0});
    if (sim_event_is_none(n->next))
        fail(n, "out of memory scheduling a flow");
out:
    free(path);
    free(off);
    free(rates);
}

static void on_next(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    flow_net *n = ctx;
    n->next = SIM_EVENT_NONE;
    advance(n);
    /* Done: within a millionth of the flow or a thousandth of a byte, or
     * due within a ten-thousandth of the time it has drained so far: flows
     * a hair apart end in one event, not one each (the simple way to keep
     * thousands of near-equal ends from costing a recomputation each; the
     * error is below 0.01% of any flow's time). The done ids are collected
     * before callbacks run (which may start flows and grow the arrays). */
    double now_s = sim_time_to_s(sim_now(n->s));
    size_t kept = 0, ndone = 0;
    int64_t *done = malloc((n->nactive + 1) * sizeof *done);
    if (!done) {
        fail(n, "out of memory in the flow network");
        return;
    }
    for (size_t i = 0; i < n->nactive; i++) {
        flw *f = &n->flows[n->active[i]];
        if (f->remaining <= fmax(1e-6 * f->bytes, 1e-3) ||
            f->remaining <= f->rate * 1e-4 * (now_s - f->began_s)) {
            f->state = 2;
            f->rate = 0;
            done[ndone++] = n->active[i];
        } else {
            n->active[kept++] = n->active[i];
        }
    }
    n->nactive = kept;
    reschedule(n);
    for (size_t i = 0; i < ndone; i++) {
        flw *f = &n->flows[done[i]];
        if (f->done)
            f->done(n->s, f->ctx, done[i]);
    }
    free(done);
}

static void finish_now(flow_net *n, int64_t id)
{
    flw *f = &n->flows[id];
    f->state = 2;
    if (f->done)
        f->done(n->s, f->ctx, id);
}

/* The flow's latency is over: it starts draining. */
static void activate(flow_net *n, int64_t id)
{
    if (n->flows[id].len == 0) { /* a local copy: nothing to share */
        finish_now(n, id);
        return;
    }
    advance(n);
    int64_t *active = vec_grow(n->active, &n->active_cap, n->nactive + 1, 64, sizeof *active);
    if (!active) {
        fail(n, "out of memory in the flow network");
        return;
    }
    n->active = active;
    n->flows[id].state = 1;
    n->flows[id].began_s = sim_time_to_s(sim_now(n->s));
    n->active[n->nactive++] = id;
    if (n->held)
        n->dirty = 1;
    else
        reschedule(n);
}

void flow_hold(flow_net *n)
{
    n->held++;
}

void flow_release(flow_net *n)
{
    assert(n->held > 0);
    if (--n->held == 0 && n->dirty) {
        n->dirty = 0;
        reschedule(n);
    }
}

static void on_arrive(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    activate(ctx, p.i64[0]);
}

int64_t flow_start(flow_net *n, const int32_t *path, size_t len, double bytes, double latency_s,
                   flow_done_fn done, void *ctx)
{
    assert(bytes > 0 && latency_s >= 0);
    flw *flows = vec_grow(n->flows, &n->flows_cap, n->nflows + 1, 64, sizeof *flows);
    int32_t *paths = NULL;
    if (flows) {
        n->flows = flows;
        paths = vec_grow(n->paths, &n->paths_cap, n->npaths + len + 1, 64, sizeof *paths);
    }
    if (!paths) {
        fail(n, "out of memory in the flow network");
        return -1;
    }
    n->paths = paths;
    int64_t id = (int64_t)n->nflows++;
    for (size_t i = 0; i < len; i++)
        assert(path[i] >= 0 && (size_t)path[i] < n->nlinks);
    memcpy(n->paths + n->npaths, path, len * sizeof *path);
    n->flows[id] = (flw){.path_off = n->npaths,
                         .len = len,
                         .bytes = bytes,
                         .remaining = bytes,
                         .done = done,
                         .ctx = ctx};
    n->npaths += len;
    sim_time delay;
    if (sim_time_try_from_s(latency_s, &delay) || delay > SIM_TIME_MAX - sim_now(n->s)) {
        sim_time_overflow(n->s, sim_time_to_s(sim_now(n->s)) + latency_s);
        return -1;
    }
    if (delay == 0) {
        activate(n, id);
    } else if (sim_event_is_none(
                   sim_after(n->s, delay, on_arrive, n, (sim_payload){.i64 = {id}}))) {
        fail(n, "out of memory scheduling a flow");
        return -1;
    }
    return id;
}

double flow_rate(const flow_net *n, int64_t flow_id)
{
    assert(flow_id >= 0 && (size_t)flow_id < n->nflows);
    const flw *f = &n->flows[flow_id];
    return f->state == 1 ? f->rate : 0;
}

size_t flow_active(const flow_net *n)
{
    return n->nactive;
}

int flow_net_error(const flow_net *n, ms_err *err)
{
    if (n->err_code)
        return ms_errf(err, n->err_code, "%s", n->err_msg);
    return MS_OK;
}
