/* step: see step.h. */
#include "train/step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sim.h"
#include "core/vec.h"
#include "hw/roofline.h"
#include "net/netfit.h"
#include "train/stack.h"

static const char *const part_names[] = {
#define STEP_PART_NAME(e, name) name,
    STEP_PART_MAP(STEP_PART_NAME)
#undef STEP_PART_NAME
};

const char *step_part_name(step_part p)
{
    return part_names[p];
}

topo_spec step_default_topo(const chip *c, int64_t gpus)
{
    topo_spec ts = {.gpus = gpus,
                    .sites = 1,
                    .tiers = 2,
                    .oversubscription = 1,
                    .switch_radix = 64,
                    .fabric = TOPO_FABRIC_FATTREE};
    ts.domain_size = isnan(c->scale_up_domain_chips) ? 1 : (int64_t)c->scale_up_domain_chips;
    if (ts.domain_size > gpus)
        ts.domain_size = gpus;
    ts.scaleup_bw_Bps = c->scale_up_bw_Bps;
    ts.nic_bw_Bps = c->scale_out_bw_Bps;
    if (ts.domain_size >= gpus)
        ts.fabric = TOPO_FABRIC_NONE;
    return ts;
}

/* ---- collectives ---- */

/* A collective already timed in this step: the same group and size recur
 * across stages and ranks, and each costs a plan over the whole group per
 * algorithm NCCL could pick. */
typedef struct coll_memo {
    coll_op op;
    int64_t n, stride;
    double bytes, time_s;
} coll_memo;

#define NET_MEMO 32

typedef struct net_ctx {
    const topo *t;
    const coll_params *cp;
    int64_t domain;
    int nvls; /* the domains reduce in the switch (NCCL's NVLS) */
    coll_memo memo[NET_MEMO];
    int nmemo;
} net_ctx;

/* Time of one collective over n participants at stride; 0 when there is
 * nothing to do. */
static int coll_s(net_ctx *nc, coll_op op, int64_t n, int64_t stride, double bytes, double *out_s,
                  const char *what, ms_err *err)
{
    *out_s = 0;
    if (n < 2 || !(bytes > 0))
        return MS_OK;
    for (int i = 0; i < nc->nmemo; i++) {
        const coll_memo *mm = &nc->memo[i];
        if (mm->op == op && mm->n == n && mm->stride == stride && mm->bytes == bytes) {
            *out_s = mm->time_s;
            return MS_OK;
        }
    }
    int ring = op == COLL_ALLREDUCE || op == COLL_ALLGATHER || op == COLL_REDUCESCATTER;
    coll_spec cs = {.op = op,
                    .algo = ring ? COLL_RING : COLL_DIRECT,
                    .bytes = bytes,
                    .gpus = n,
                    .stride = stride};
    coll_result r;
    int rc;
    if (ring) { /* NCCL's own choice: ring, or in-switch reduction where the domain has it */
        rc = coll_time_default(nc->t, &cs, nc->nvls, nc->cp, &r, err);
    } else {
        coll_plan pl;
        rc = coll_plan_build(nc->t, &cs, &pl, err);
        if (rc == MS_OK) {
            rc = coll_time_analytical(nc->t, &cs, &pl, nc->cp, &r, err);
            coll_plan_free(&pl);
        }
    }
    if (rc != MS_OK) {
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        return ms_errf(err, rc, "%s (%s over %lld GPUs at stride %lld): %s", what, coll_op_name(op),
                       (long long)n, (long long)stride, inner);
    }
    *out_s = r.time_s;
    if (nc->nmemo < NET_MEMO)
        nc->memo[nc->nmemo++] =
            (coll_memo){.op = op, .n = n, .stride = stride, .bytes = bytes, .time_s = r.time_s};
    return MS_OK;
}

/* "scale-up link" when n participants at stride sit in one domain. */
static const char *link_bound(const net_ctx *nc, int64_t n, int64_t stride)
{
    return (n - 1) * stride < nc->domain ? "scale-up link" : "scale-out link";
}

/* ---- the engine run ---- */

/* Times of one stage's tasks for one load class. */
typedef struct stage_times {
    tcost_stage tc;
    double tp_f_s; /* all tensor-parallel all-reduces of the forward */
    double tp_b_s; /* and of the backward (full recompute runs the forward's again) */
    double ep_f_s; /* expert-parallel dispatch + combine, forward, all MoE layers */
    double ep_b_s; /* and backward */
    double z3_s;   /* ZeRO-3 weight all-gather, one direction */
} stage_times;

typedef struct barrier {
    int64_t arrived;
    sim_time start;
    sim_time dur;
} barrier;

typedef struct runner {
    sim *s;
    const sched *sc;
    int pp, S, M, reps;
    int64_t group_reps;       /* replicas in one expert-parallel group (barrier size) */
    const stage_times *st[2]; /* [class][stage] */
    double slow;              /* compute stretch in overlapped pairs */
    double tp_chunks;         /* TP traffic pipelined with GEMMs in this many chunks; 0: not */
    int z3_prefetch;          /* ZeRO-3 gathers the next layer's weights under this one's compute */
    double tp_gemm_stretch;   /* GEMMs under TP overlap: SMs / (SMs - the ones comm holds) */
    int p2p_blocking;         /* a task waits for its own pipeline send (Megatron's p2p) */
    sim_time p2p;
    size_t *next;
    int *busy;
    sim_time *last_end, *cur_start, *cur_dur;
    double *cur_ep_exposed;          /* of the current task */
    double *cur_ep;                  /* its expert-parallel traffic, hidden or not */
    double *cur_matrix, *cur_memory; /* its compute bound by FLOPs and by HBM */
    sim_time *f_done, *b_done;       /* [rep][mb][stage] */
    barrier *bar;                    /* [group][rank] */
    double (*part_s)[STEP_PARTS];    /* replica 0's ranks */
    uint64_t trace_mask;
    step_span *spans;
    size_t nspans, spans_cap;
    step_activity *acts;
    size_t nacts, acts_cap;
    int oom;
} runner;

static size_t chunk(const runner *R, int rep, int mb, int stage)
{
    return ((size_t)rep * (size_t)R->M + (size_t)mb) * (size_t)R->S + (size_t)stage;
}

static int load_class(const runner *R, int rep)
{
    return R->reps > 1 && rep % R->group_reps != 0 ? 1 : 0;
}

/* When task k of (rep, rank) can start: the latest arrival of its inputs
 * (sched_task_inputs; 0 with none), or -1 while one is not made yet.
 * Blocking sends have already waited for the transfer: no p2p on top. */
static sim_time ready_at(const runner *R, int rep, int rank, const sched_task *k)
{
    sched_dep in[SCHED_MAX_INPUTS];
    int n = sched_task_inputs(R->sc, rank, k, in);
    size_t base = chunk(R, rep, 0, 0);
    sim_time p2p = R->p2p_blocking ? 0 : R->p2p, ready = 0;
    for (int i = 0; i < n; i++) {
        sim_time t = (in[i].grad ? R->b_done : R->f_done)[base + (size_t)in[i].chunk];
        if (t < 0)
            return -1;
        if (in[i].remote)
            t += p2p;
        ready = t > ready ? t : ready;
    }
    return ready;
}

/* Duration of task k for class cls, and its parts. */
static double task_time(const runner *R, int cls, int rank, const sched_task *k, double *parts,
                        double *ep_exposed, double *ep_s, int *has_ep, double *matrix_s,
                        double *memory_s)
{
    const stage_times *a = &R->st[cls][k->stage];
    double comp = 0, comm = 0, tp = 0, z3 = 0, stretch = 1;
    const tcost_work *w[3] = {NULL, NULL, NULL};
    switch (k->op) {
    case SCHED_F:
        w[0] = &a->tc.f;
        comm = a->ep_f_s, tp = a->tp_f_s, z3 = a->z3_s;
        break;
    case SCHED_B:
        w[0] = &a->tc.b;
        comm = a->ep_b_s, tp = a->tp_b_s, z3 = a->z3_s;
        break;
    case SCHED_W:
        w[0] = &a->tc.w;
        break;
    case SCHED_BW:
        w[0] = &a->tc.b, w[1] = &a->tc.w;
        comm = a->ep_b_s, tp = a->tp_b_s, z3 = a->z3_s;
        break;
    default: { /* F&B: the expert-parallel traffic of each half under the other's compute */
        const stage_times *b = &R->st[cls][k->stage2];
        w[0] = &a->tc.f, w[1] = &b->tc.b, w[2] = &b->tc.w;
        comm = a->ep_f_s + b->ep_b_s;
        tp = a->tp_f_s + b->tp_b_s;
        z3 = a->z3_s + b->z3_s;
        stretch = R->slow;
        break;
    }
    }
    *matrix_s = *memory_s = 0;
    double gemm_s = 0;
    for (int i = 0; i < 3; i++)
        if (w[i]) {
            comp += w[i]->time_s * stretch;
            gemm_s += w[i]->by_kind_s[TCOST_GEMM] * stretch;
            *matrix_s += w[i]->flop_bound_s * stretch;
            *memory_s += w[i]->hbm_bound_s * stretch;
            for (int kind = 0; kind < TCOST_KINDS; kind++)
                parts[STEP_COMPUTE_GEMM + kind] += w[i]->by_kind_s[kind] * stretch;
        }
    double exposed = k->op == SCHED_FB ? fmax(0, comm - comp) : comm;
    /* TP overlap: the all-gathers and reduce-scatters run in chunks under
     * the GEMMs they feed or follow; the first chunk, and whatever the
     * GEMMs cannot cover, stays exposed. */
    if (R->tp_chunks > 0 && tp > 0) {
        /* ... and the communication kernels hold SMs meanwhile, so the
         * GEMMs they overlap run on the rest. */
        double slower = gemm_s * (R->tp_gemm_stretch - 1);
        comp += slower;
        *matrix_s += slower;
        parts[STEP_COMPUTE_GEMM] += slower;
        tp = fmax(tp / R->tp_chunks, tp - gemm_s - slower);
    }
    /* Prefetching ZeRO-3 (FSDP's forward and backward prefetch): each
     * layer's weights are gathered while the layer before computes, so
     * only the first layer's gather, and what compute cannot cover, waits. */
    if (R->z3_prefetch && z3 > 0) {
        double layers = (double)(a->tc.layers + a->tc.mtp_modules);
        z3 = fmax(z3 / fmax(1, layers), z3 - comp);
    }
    /* Blocking pipeline sends: the task ends when its output (a forward's
     * activation, a backward's gradient) has reached the next rank. */
    double pp = 0;
    if (R->p2p_blocking && R->p2p > 0) {
        sched_dep made[SCHED_MAX_OUTPUTS];
        int n = sched_task_outputs(R->sc, rank, k, made), sends = 0;
        for (int i = 0; i < n; i++)
            sends += made[i].remote;
        pp = (double)sends * sim_time_to_s(R->p2p);
    }
    parts[STEP_COMM_EP] += exposed;
    parts[STEP_COMM_TP] += tp;
    parts[STEP_COMM_ZERO3] += z3;
    parts[STEP_COMM_PP] += pp;
    *ep_exposed = exposed;
    *ep_s = comm;
    *has_ep = comm > 0;
    return comp + exposed + tp + z3 + pp;
}

/* How long one micro-batch's task op of stage s keeps its rank busy, as
 * the engine runs it (class 0): its compute, with the GEMMs that TP
 * overlap stretches, and its exposed tensor-parallel all-reduces, which
 * use the scale-up links. Not a blocking pipeline send, expert-parallel
 * traffic or a ZeRO-3 gather: those may cross the NICs the data-parallel
 * traffic needs. The window that traffic runs under in the last backward
 * and first forward. */
static double task_wall_s(const runner *R, int s, sched_op op)
{
    runner Q = *R;
    Q.p2p_blocking = 0;
    sched_task k = {.op = op, .mb = 0, .stage = s};
    double parts[STEP_PARTS] = {0}, ep_exposed, ep_s, matrix_s, memory_s;
    int has_ep;
    double wall_s =
        task_time(&Q, 0, 0, &k, parts, &ep_exposed, &ep_s, &has_ep, &matrix_s, &memory_s);
    return wall_s - ep_exposed - parts[STEP_COMM_ZERO3];
}

static void add_act(runner *R, int rank, double start_s, double dur_s, double matrix_s,
                    double memory_s, double comm_s)
{
    if (R->oom || !(dur_s > 0))
        return;
    step_activity *a = vec_grow(R->acts, &R->acts_cap, R->nacts + 1, 256, sizeof *a);
    if (!a) {
        R->oom = 1;
        return;
    }
    R->acts = a;
    R->acts[R->nacts++] = (step_activity){.rank = rank,
                                          .start_s = start_s,
                                          .dur_s = dur_s,
                                          .matrix_s = matrix_s,
                                          .memory_s = memory_s,
                                          .comm_s = comm_s};
}

static void add_span(runner *R, int rank, int lane, double start_s, double dur_s, const char *name)
{
    if (R->oom || rank >= 64 || !(R->trace_mask >> rank & 1) || !(dur_s > 0))
        return;
    step_span *spans = vec_grow(R->spans, &R->spans_cap, R->nspans + 1, 256, sizeof *spans);
    if (!spans) {
        R->oom = 1;
        return;
    }
    R->spans = spans;
    step_span *sp = &R->spans[R->nspans++];
    *sp = (step_span){.rank = rank, .lane = lane, .start_s = start_s, .dur_s = dur_s};
    snprintf(sp->name, sizeof sp->name, "%s", name);
}

static void on_end(sim *s, void *ctx, sim_payload pl);

static void schedule_end(runner *R, int id, sim_time start, sim_time dur)
{
    R->cur_start[id] = start;
    R->cur_dur[id] = dur;
    if (sim_event_is_none(sim_at(R->s, start + dur, on_end, R, (sim_payload){.i64 = {id, 0}})))
        R->oom = 1;
}

static void try_start(runner *R, int id)
{
    int rep = id / R->pp, rank = id % R->pp;
    if (R->busy[id] || R->next[id] == sched_ntasks(R->sc, rank))
        return;
    const sched_task *k = sched_task_at(R->sc, rank, R->next[id]);
    sim_time ready = ready_at(R, rep, rank, k);
    if (ready < 0)
        return;
    sim_time now = sim_now(R->s);
    sim_time start = ready > now ? ready : now;
    double parts[STEP_PARTS] = {0};
    int has_ep;
    double dur_s = task_time(R, load_class(R, rep), rank, k, parts, &R->cur_ep_exposed[id],
                             &R->cur_ep[id], &has_ep, &R->cur_matrix[id], &R->cur_memory[id]);
    sim_time dur;
    if (sim_time_try_from_s(dur_s, &dur) || dur > SIM_TIME_MAX - start) {
        sim_time_overflow(R->s, sim_time_to_s(start) + dur_s);
        return;
    }
    R->busy[id] = 1;
    /* Counted now, before a barrier may hold the task back; time a barrier
     * adds counts as waiting. */
    if (rep == 0)
        for (int i = 0; i < STEP_PARTS; i++)
            R->part_s[rank][i] += parts[i];
    if (R->reps > 1 && R->group_reps > 1 && has_ep) {
        /* Every rank of the expert-parallel group starts together and
         * waits for the slowest. */
        barrier *b = &R->bar[(size_t)(rep / R->group_reps) * (size_t)R->pp + (size_t)rank];
        b->start = b->arrived == 0 || start > b->start ? start : b->start;
        b->dur = b->arrived == 0 || dur > b->dur ? dur : b->dur;
        if (++b->arrived < R->group_reps)
            return;
        int first = rep / (int)R->group_reps * (int)R->group_reps;
        for (int m = first; m < first + R->group_reps; m++)
            schedule_end(R, m * R->pp + rank, b->start, b->dur);
        *b = (barrier){0};
    } else {
        schedule_end(R, id, start, dur);
    }
}

static void on_end(sim *s, void *ctx, sim_payload pl)
{
    runner *R = ctx;
    int id = (int)pl.i64[0], rep = id / R->pp, rank = id % R->pp;
    const sched_task *k = sched_task_at(R->sc, rank, R->next[id]);
    sim_time now = sim_now(s);
    sched_dep made[SCHED_MAX_OUTPUTS];
    int nmade = sched_task_outputs(R->sc, rank, k, made);
    size_t base = chunk(R, rep, 0, 0);
    for (int i = 0; i < nmade; i++)
        (made[i].grad ? R->b_done : R->f_done)[base + (size_t)made[i].chunk] = now;
    if (rep == 0) {
        /* The task's compute, then its communication (hidden traffic runs
         * beside compute and is counted as compute time); a barrier's wait
         * is left idle. */
        double dur = sim_time_to_s(R->cur_dur[id]), m = R->cur_matrix[id], mem = R->cur_memory[id];
        add_act(R, rank, sim_time_to_s(R->cur_start[id]), dur, m, mem,
                fmax(0, fmin(dur - m - mem, dur)));
    }
    if (rep == 0 && rank < 64 && (R->trace_mask >> rank & 1)) {
        char name[40];
        if (k->op == SCHED_FB)
            snprintf(name, sizeof name, "F%d.%d & BW%d.%d", k->mb, k->stage, k->mb2, k->stage2);
        else
            snprintf(name, sizeof name, "%s%d.%d", sched_op_name(k->op), k->mb, k->stage);
        double start = sim_time_to_s(R->cur_start[id]), dur = sim_time_to_s(R->cur_dur[id]);
        add_span(R, rank, 0, start, dur, name);
        if (k->op == SCHED_FB)
            add_span(R, rank, 1, start, R->cur_ep[id], "ep dispatch/combine (overlapped)");
        else if (R->cur_ep_exposed[id] > 0)
            add_span(R, rank, 1, start + dur - R->cur_ep_exposed[id], R->cur_ep_exposed[id],
                     "ep dispatch/combine");
    }
    R->busy[id] = 0;
    R->next[id]++;
    R->last_end[id] = now;
    for (int r = 0; r < R->pp; r++)
        try_start(R, rep * R->pp + r);
}

/* ---- the step ---- */

static int stage_times_compute(const model *m, const chip *c, const calib *cal, const plan *p,
                               net_ctx *nc, int64_t stage, int64_t stages, double load,
                               stage_times *out, ms_err *err)
{
    *out = (stage_times){0};
    int rc = tcost_stage_compute(m, c, cal, p, stage, stages, load, &out->tc, err);
    if (rc)
        return rc;
    const tcost_stage *t = &out->tc;
    double ar;
    if ((rc = coll_s(nc, COLL_ALLREDUCE, p->tp, 1, t->tp_allreduce_B, &ar,
                     "tensor-parallel all-reduce", err)))
        return rc;
    out->tp_f_s = ar * (double)t->tp_allreduces;
    out->tp_b_s = ar * (double)t->tp_allreduces_bwd;
    if (t->ep_dispatch_B > 0 && t->moe_layers > 0) {
        double disp, comb;
        if ((rc = coll_s(nc, COLL_DISPATCH, p->ep, 1, t->ep_dispatch_B, &disp,
                         "expert-parallel dispatch", err)) ||
            (rc = coll_s(nc, COLL_COMBINE, p->ep, 1, t->ep_combine_B, &comb,
                         "expert-parallel combine", err)))
            return rc;
        /* The busiest rank receives load times the mean traffic. Backward:
         * the combine's gradient goes the dispatch's way and the dispatch's
         * back, both in BF16: two combines' worth. */
        out->ep_f_s = (disp + comb) * load * (double)t->moe_layers;
        out->ep_b_s = 2 * comb * load * (double)t->moe_layers;
    }
    if (p->zero >= 3) {
        const model_recipe *r = model_recipe_find(p->recipe);
        double dense, experts;
        int64_t edp = p->dp * p->tp * p->cp / p->ep;
        if ((rc = coll_s(nc, COLL_ALLGATHER, p->dp * p->cp, p->tp, t->dense_params * r->weight_B,
                         &dense, "ZeRO-3 weight all-gather", err)) ||
            (rc = coll_s(nc, COLL_ALLGATHER, edp, p->ep, t->expert_params * r->weight_B, &experts,
                         "ZeRO-3 expert weight all-gather", err)))
            return rc;
        out->z3_s = dense + experts;
    }
    return MS_OK;
}

int step_work_of(const model *m, const chip *c, const calib *cal, const plan *p, const topo *t,
                 const coll_params *net, double moe_load, step_work *out, ms_err *err)
{
    *out = (step_work){0};
    const topo_spec *ts = topo_get_spec(t);
    net_ctx nc = {.t = t, .cp = net, .domain = ts->domain_size, .nvls = netfit_chip_has_nvls(c)};
    chip c_dom = *c; /* as step_run sees it */
    c_dom.scale_up_domain_chips = (double)ts->domain_size;
    /* The whole model as one stage: the sum of any split into stages. */
    stage_times st;
    plan whole = *p;
    whole.zero = 0; /* ZeRO-3's gathers are not counted */
    int rc = stage_times_compute(m, &c_dom, cal, &whole, &nc, 0, 1, moe_load, &st, err);
    if (rc)
        return rc;
    const stack *sk = stack_or_plain(p->stack);
    double tp_chunks = sk->tp_overlap && p->tp > 1 ? (double)p->tp : 1;
    out->compute_s = st.tc.f.time_s + st.tc.b.time_s + st.tc.w.time_s;
    out->ep_s = st.ep_f_s + st.ep_b_s;
    out->tp_s = (st.tp_f_s + st.tp_b_s) / tp_chunks;
    return MS_OK;
}

double step_lower_bound(const step_work *w, const plan *p, sched_kind s)
{
    int overlapped = s == SCHED_DUALPIPE || s == SCHED_DUALPIPEV;
    double per_mb = w->compute_s + w->tp_s + (overlapped ? 0 : w->ep_s);
    /* Less a rounding's worth: the stages' sum and the whole differ in
     * their last bits. */
    return (double)plan_microbatches(p) * per_mb / (double)p->pp * (1 - 1e-9);
}

void step_result_free(step_result *r)
{
    if (!r)
        return;
    free(r->spans);
    r->spans = NULL;
    r->nspans = 0;
    free(r->acts);
    r->acts = NULL;
    r->nacts = 0;
}

static void add_phase(step_result *out, const char *name, double time_s, double count,
                      const char *bound)
{
    if (out->nphases < STEP_MAX_PHASES && time_s > 0)
        out->phases[out->nphases++] = (step_phase){name, time_s, count, bound};
}

static const char *work_bound(const tcost_work *w)
{
    return w->flop_bound_s >= w->hbm_bound_s ? "FLOPs" : "HBM";
}

int step_run(const model *m, const chip *c, const calib *cal, const plan *p0, const topo *t,
             const coll_params *net, const step_config *cfg, step_result *out, ms_err *err)
{
    *out = (step_result){0};
    plan pl = *p0;
    const plan *p = &pl;
    int rc;
    if (!(cfg->moe_load >= 1) || !isfinite(cfg->moe_load))
        return ms_errf(err, MS_EINVAL,
                       "field 'moe_imbalance': expected the busiest rank's routed tokens over the "
                       "mean, >= 1, got %g",
                       cfg->moe_load);
    if (cfg->comm_sms > 0 && isnan(c->compute_units))
        return ms_errf(err, MS_EINVAL,
                       "field 'comm_sms': the %s has no SM count in the database, so %lld SMs "
                       "for communication cannot be taken from its compute; give 0",
                       c->name, (long long)cfg->comm_sms);
    if (cfg->comm_sms < 0 || (cfg->comm_sms > 0 && (double)cfg->comm_sms >= c->compute_units))
        return ms_errf(err, MS_EINVAL,
                       "field 'comm_sms': expected 0 to %g SMs (the %s has %g), got %lld",
                       c->compute_units - 1, c->name, c->compute_units, (long long)cfg->comm_sms);
    const topo_spec *ts = topo_get_spec(t);
    if (ts->gpus != p->gpus)
        return ms_errf(err, MS_EINVAL, "the topology has %lld GPUs, the plan %lld",
                       (long long)ts->gpus, (long long)p->gpus);
    if (cfg->every_replica && p->dp * p->pp > 4096)
        return ms_errf(err, MS_EINVAL,
                       "every_replica simulates dp x pp = %lld ranks; it is meant for small "
                       "plans (at most 4096)",
                       (long long)(p->dp * p->pp));
    const model_recipe *recipe = model_recipe_find(p->recipe);
    int dual = cfg->schedule == SCHED_DUALPIPE;

    /* Memory first: a plan that does not fit is not run. DualPipe keeps
     * PP + 1 micro-batches of activations in flight and two copies of the
     * parameters (DeepSeek-V3 report, Table 2); GPipe keeps them all. */
    if (pl.inflight_microbatches == 0 && (dual || cfg->schedule == SCHED_DUALPIPEV))
        pl.inflight_microbatches = p->pp + 1;
    if (pl.inflight_microbatches == 0 && cfg->schedule == SCHED_GPIPE)
        pl.inflight_microbatches = plan_microbatches(p); /* every forward before any backward */
    out->memory = plan_memory_per_rank(p, m);
    if (dual) {
        out->memory.weights_B *= 2;
        out->memory.grads_B *= 2;
        out->memory.optimizer_B *= 2;
        out->memory.params_per_rank *= 2;
        out->memory.total_B = out->memory.weights_B + out->memory.grads_B +
                              out->memory.optimizer_B + out->memory.activations_B +
                              out->memory.framework_B;
    }
    out->fits = plan_fits(&out->memory, c, &out->short_B);
    if (!out->fits)
        return ms_errf(err, MS_EINVAL,
                       "the plan does not fit: each rank of the busiest stage needs %.1f GB "
                       "(weights %.1f, gradients %.1f, optimizer %.1f, activations %.1f, "
                       "framework allowance %.1f) of the %s's %.1f GB, %.1f GB short",
                       out->memory.total_B / 1e9, out->memory.weights_B / 1e9,
                       out->memory.grads_B / 1e9, out->memory.optimizer_B / 1e9,
                       out->memory.activations_B / 1e9, out->memory.framework_B / 1e9, c->name,
                       c->hbm_bytes / 1e9, out->short_B / 1e9);

    int64_t M = plan_microbatches(p);
    if (M > INT32_MAX || p->pp > 65536)
        return ms_errf(err, MS_EINVAL, "%lld micro-batches on %lld stages is beyond the limits",
                       (long long)M, (long long)p->pp);
    sched *sc = NULL;
    if ((rc = sched_build(cfg->schedule, (int)p->pp, (int)M,
                          cfg->schedule == SCHED_INTERLEAVED ? (int)p->vpp : 1, &sc, err)))
        return rc;
    if (cfg->schedule != SCHED_INTERLEAVED && p->vpp != 1) {
        sched_free(sc);
        return ms_errf(err, MS_EINVAL,
                       "field 'vpp': %lld virtual stages need the interleaved schedule, not %s",
                       (long long)p->vpp, sched_name(cfg->schedule));
    }
    int S = sched_stages(sc);
    if (S > m->num_layers) {
        sched_free(sc);
        return ms_errf(err, MS_EINVAL, "schedule %s needs %d stages of layers, the model has %lld",
                       sched_name(cfg->schedule), S, (long long)m->num_layers);
    }

    runner R = {0};
    stage_times *st = NULL;
    double *dense = NULL, *experts = NULL, *fwd_s = NULL, *bwd_s = NULL;
    const stack *sk = stack_or_plain(p->stack);
    net_ctx nc = {.t = t, .cp = net, .domain = ts->domain_size, .nvls = netfit_chip_has_nvls(c)};
    /* The work of a stage sees the domain the cluster was built with (a
     * partly used NVL72 rack under --domain), not the chip's full one:
     * it decides how many nodes an expert-parallel group spans. */
    chip c_dom = *c;
    c_dom.scale_up_domain_chips = (double)ts->domain_size;

    /* Per-stage costs, for the busiest load and (every_replica) the rest. */
    int64_t group_reps = p->ep > p->tp ? p->ep / p->tp : 1;
    int reps = cfg->every_replica ? (int)p->dp : 1;
    int classes = reps > 1 && group_reps > 1 && cfg->moe_load > 1 ? 2 : 1;
    double other_load = classes == 2
                            ? ((double)group_reps - cfg->moe_load) / (double)(group_reps - 1)
                            : cfg->moe_load;
    if (classes == 2 && !(other_load > 0)) {
        rc = ms_errf(err, MS_EINVAL,
                     "field 'moe_imbalance': %g is more than the %lld ranks of an expert group "
                     "can carry",
                     cfg->moe_load, (long long)group_reps);
        goto out;
    }
    st = calloc((size_t)S * 2, sizeof *st);
    dense = calloc((size_t)p->pp, sizeof *dense);
    experts = calloc((size_t)p->pp, sizeof *experts);
    fwd_s = calloc((size_t)p->pp, sizeof *fwd_s);
    bwd_s = calloc((size_t)p->pp, sizeof *bwd_s);
    if (!st || !dense || !experts || !fwd_s || !bwd_s) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    for (int cls = 0; cls < classes; cls++)
        for (int s = 0; s < S; s++) {
            double load = cls == 0 ? cfg->moe_load : other_load;
            if ((rc = stage_times_compute(m, &c_dom, cal, p, &nc, s, S, load, &st[cls * S + s],
                                          err)))
                goto out;
        }
    if (classes == 1)
        memcpy(st + S, st, (size_t)S * sizeof *st);
    out->stage0 = st[0].tc;

    double p2p_s;
    int64_t pp_stride = p->tp * p->cp * p->dp;
    if (p->pp > 1 && (rc = coll_s(&nc, COLL_SENDRECV, 2, pp_stride, st[0].tc.pp_B, &p2p_s,
                                  "pipeline send/recv", err)))
        goto out;
    if (p->pp == 1)
        p2p_s = 0;

    /* The engine run. */
    size_t ids = (size_t)reps * (size_t)p->pp;
    size_t chunks = (size_t)reps * (size_t)M * (size_t)S;
    R = (runner){.sc = sc,
                 .pp = (int)p->pp,
                 .S = S,
                 .M = (int)M,
                 .reps = reps,
                 .group_reps = group_reps,
                 .st = {st, st + S},
                 .slow = cfg->comm_sms > 0
                             ? c->compute_units / (c->compute_units - (double)cfg->comm_sms)
                             : 1,
                 .tp_chunks = sk->tp_overlap && p->tp > 1 ? (double)p->tp : 0,
                 .z3_prefetch = sk->dp_overlap,
                 .p2p_blocking = sk->p2p_blocking,
                 .tp_gemm_stretch = sk->tp_overlap_sms > 0 && c->compute_units > sk->tp_overlap_sms
                                        ? c->compute_units / (c->compute_units - sk->tp_overlap_sms)
                                        : 1,
                 .p2p = sim_time_from_s(p2p_s),
                 .trace_mask = cfg->trace_mask};
    R.next = calloc(ids, sizeof *R.next);
    R.busy = calloc(ids, sizeof *R.busy);
    R.last_end = calloc(ids, sizeof *R.last_end);
    R.cur_start = calloc(ids, sizeof *R.cur_start);
    R.cur_dur = calloc(ids, sizeof *R.cur_dur);
    R.cur_ep_exposed = calloc(ids, sizeof *R.cur_ep_exposed);
    R.cur_ep = calloc(ids, sizeof *R.cur_ep);
    R.cur_matrix = calloc(ids, sizeof *R.cur_matrix);
    R.cur_memory = calloc(ids, sizeof *R.cur_memory);
    R.part_s = calloc((size_t)p->pp, sizeof *R.part_s);
    R.f_done = malloc(chunks * sizeof *R.f_done);
    R.b_done = malloc(chunks * sizeof *R.b_done);
    R.bar = calloc((size_t)(reps / group_reps + 1) * (size_t)p->pp, sizeof *R.bar);
    if (!R.next || !R.busy || !R.last_end || !R.cur_start || !R.cur_dur || !R.cur_ep_exposed ||
        !R.cur_ep || !R.cur_matrix || !R.cur_memory || !R.f_done || !R.b_done || !R.bar) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory for %zu stage chunks", chunks);
        goto out;
    }
    for (size_t i = 0; i < chunks; i++)
        R.f_done[i] = R.b_done[i] = -1;
    if ((rc = sim_new(&R.s, err)))
        goto out;
    for (size_t id = 0; id < ids; id++)
        try_start(&R, (int)id);
    if ((rc = sim_run(R.s, err)))
        goto out;
    if (R.oom) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory during the step");
        goto out;
    }
    for (size_t id = 0; id < ids; id++)
        if (R.next[id] != sched_ntasks(sc, (int)(id % (size_t)p->pp))) {
            rc = ms_errf(err, MS_EINVAL, "the step deadlocked: rank %zu stopped at task %zu", id,
                         R.next[id]);
            goto out;
        }
    out->events = sim_events_run(R.s);

    /* Which stages each rank holds: DualPipe holds stage r and PP-1-r. */
    for (int s = 0; s < S; s++) {
        int r1 = sched_rank_of(sc, 0, s), r2 = sched_rank_of(sc, (int)M - 1, s);
        double f_wall = task_wall_s(&R, s, SCHED_F), b_wall = task_wall_s(&R, s, SCHED_BW);
        dense[r1] += st[s].tc.dense_params;
        experts[r1] += st[s].tc.expert_params;
        fwd_s[r1] += f_wall;
        bwd_s[r1] += b_wall;
        if (r2 != r1) {
            dense[r2] += st[s].tc.dense_params;
            experts[r2] += st[s].tc.expert_params;
            fwd_s[r2] += f_wall;
            bwd_s[r2] += b_wall;
        }
    }

    /* After the last backward: gradients over the data-parallel groups,
     * the optimizer, the weights gathered back. */
    int64_t dp_n = p->dp * p->cp, edp_n = p->dp * p->tp * p->cp / p->ep;
    double step_s = 0, *end_s = calloc((size_t)p->pp, sizeof *end_s);
    double *tail_dp = calloc((size_t)p->pp, sizeof *tail_dp);
    double *tail_opt = calloc((size_t)p->pp, sizeof *tail_opt);
    if (!end_s || !tail_dp || !tail_opt) {
        free(end_s);
        free(tail_dp);
        free(tail_opt);
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    double rs_dense0 = 0, rs_exp0 = 0, ag0 = 0, opt0 = 0;
    double fwd_before_s = 0; /* one micro-batch's forward on the ranks before r */
    for (int r = 0; r < p->pp && rc == MS_OK; r++) {
        sim_time last = 0;
        for (int rep = 0; rep < reps; rep++)
            if (R.last_end[rep * p->pp + r] > last)
                last = R.last_end[rep * p->pp + r];
        coll_op grad_op = p->zero >= 1 ? COLL_REDUCESCATTER : COLL_ALLREDUCE;
        double rs_d, rs_e, ag_d = 0, ag_e = 0;
        double grad_B = stack_grad_B(sk, recipe->grad_B);
        if ((rc = coll_s(&nc, grad_op, dp_n, p->tp, dense[r] * grad_B, &rs_d,
                         "data-parallel gradient reduction", err)) ||
            (rc = coll_s(&nc, grad_op, edp_n, p->ep, experts[r] * grad_B, &rs_e,
                         "expert data-parallel gradient reduction", err)))
            break;
        if (p->zero == 1 || p->zero == 2) {
            if ((rc = coll_s(&nc, COLL_ALLGATHER, dp_n, p->tp, dense[r] * recipe->weight_B, &ag_d,
                             "data-parallel weight all-gather", err)) ||
                (rc = coll_s(&nc, COLL_ALLGATHER, edp_n, p->ep, experts[r] * recipe->weight_B,
                             &ag_e, "expert data-parallel weight all-gather", err)))
                break;
        }
        if (sk->dp_overlap) {
            /* Buckets of gradients are reduced as the last micro-batch's
             * backward produces them, and the updated weights gathered as
             * the next step's first forward needs them: only what one
             * micro-batch's backward (forward) cannot cover stays exposed,
             * and never less than one bucket. Megatron-Core buckets only
             * the first pipeline stage (distributed_data_parallel.py: "Turn
             * off bucketing if we are on a pipeline stage that is not the
             * first (since data-parallel communication on these stages is
             * not on the critical path)"): a later stage reduces all its
             * gradients after its last backward, and gathers its weights
             * while the next step's first forwards run on the stages
             * before it. */
            double params = dense[r] + experts[r];
            double bucket = fmax(sk->dp_bucket_params, sk->dp_bucket_per_rank * (double)dp_n);
            double frac = params > 0 ? fmin(1, bucket / params) : 1;
            double rs = rs_d + rs_e, ag = ag_d + ag_e, rs_x, ag_x;
            if (r == 0) {
                rs_x = fmax(rs * frac, rs - bwd_s[r]);
                ag_x = fmax(ag * frac, ag - fwd_s[r]);
            } else {
                rs_x = rs;
                ag_x = fmax(0, ag - fwd_before_s);
            }
            if (rs > 0)
                rs_d *= rs_x / rs, rs_e *= rs_x / rs;
            if (ag > 0)
                ag_d *= ag_x / ag, ag_e *= ag_x / ag;
        }
        fwd_before_s += fwd_s[r];
        /* The optimizer reads the gradient, reads and writes master weights
         * and both moments, writes the working weights. */
        double held = dense[r] / (p->zero >= 1 ? (double)dp_n : 1) +
                      experts[r] / (p->zero >= 1 && edp_n > 1 ? (double)edp_n : 1);
        double per_param_B = grad_B + 2 * (recipe->master_B + recipe->adam_m_B + recipe->adam_v_B) +
                             recipe->weight_B;
        roof_op op = {.kind = "stream", .prec = MS_FP32, .flops = 0, .bytes = held * per_param_B};
        roof_eff eff = calib_eff(cal, c, "stream", MS_FP32);
        roof_result rr = {0};
        if (op.bytes > 0 && (rc = roof_time(c, &op, &eff, &rr, err)))
            break;
        double start = sim_time_to_s(last);
        tail_dp[r] = rs_d + rs_e + ag_d + ag_e;
        tail_opt[r] = rr.time_s;
        end_s[r] = start + tail_dp[r] + tail_opt[r];
        add_act(&R, r, start, rs_d + rs_e, 0, 0, rs_d + rs_e);
        add_act(&R, r, start + rs_d + rs_e, rr.time_s, 0, rr.time_s, 0);
        add_act(&R, r, start + rs_d + rs_e + rr.time_s, ag_d + ag_e, 0, 0, ag_d + ag_e);
        add_span(&R, r, 1, start, rs_d + rs_e, "dp grad reduce");
        add_span(&R, r, 0, start + rs_d + rs_e, rr.time_s, "optimizer");
        add_span(&R, r, 1, start + rs_d + rs_e + rr.time_s, ag_d + ag_e, "dp weight all-gather");
        if (end_s[r] > step_s)
            step_s = end_s[r];
        if (r == 0)
            rs_dense0 = rs_d, rs_exp0 = rs_e, ag0 = ag_d + ag_e, opt0 = rr.time_s;
        if (sim_time_to_s(last) > out->pipeline_s)
            out->pipeline_s = sim_time_to_s(last);
    }
    if (rc == MS_OK && R.oom)
        rc = ms_errf(err, MS_ENOMEM, "out of memory recording the trace");
    if (rc != MS_OK) {
        free(end_s);
        free(tail_dp);
        free(tail_opt);
        goto out;
    }

    /* The mean pipeline rank's breakdown: what the ranks did, and the rest
     * of the step waiting. */
    for (int r = 0; r < p->pp; r++) {
        R.part_s[r][STEP_COMM_DP] = tail_dp[r];
        R.part_s[r][STEP_OPTIMIZER] = tail_opt[r];
        double busy = 0;
        for (int i = 0; i < STEP_BUBBLE; i++)
            busy += R.part_s[r][i];
        R.part_s[r][STEP_BUBBLE] = fmax(0, step_s - busy);
        for (int i = 0; i < STEP_PARTS; i++)
            out->part_s[i] += R.part_s[r][i] / (double)p->pp;
    }
    free(end_s);
    free(tail_dp);
    free(tail_opt);

    out->step_time_s = step_s;
    out->microbatches = M;
    out->stages = S;
    out->ranks_simulated = (int64_t)ids;
    out->tokens_per_step = (double)p->global_batch * (double)p->seq_len;
    out->tokens_per_s = out->tokens_per_step / step_s;
    out->model_flops_per_token = model_training_flops(m, p->seq_len).training;
    double achieved = out->tokens_per_s * out->model_flops_per_token / (double)p->gpus;
    out->mfu_bf16 = achieved / chip_peak(c, MS_BF16);
    out->mfu_fp8 = achieved / chip_peak(c, MS_FP8);
    out->gpu_hours_per_trillion_tokens = 1e12 / out->tokens_per_s * (double)p->gpus / 3600;
    out->bubble_fraction = out->part_s[STEP_BUBBLE] / step_s;
    out->exposed_comm_fraction = (out->part_s[STEP_COMM_TP] + out->part_s[STEP_COMM_EP] +
                                  out->part_s[STEP_COMM_ZERO3] + out->part_s[STEP_COMM_DP]) /
                                 step_s;

    /* Phases and what bounds each. */
    const stage_times *s0 = &st[0];
    double Md = (double)M;
    add_phase(out, "forward, one micro-batch of stage 0", s0->tc.f.time_s, Md,
              work_bound(&s0->tc.f));
    add_phase(out, "input gradient, one micro-batch of stage 0", s0->tc.b.time_s, Md,
              work_bound(&s0->tc.b));
    add_phase(out, "weight gradient, one micro-batch of stage 0", s0->tc.w.time_s, Md,
              work_bound(&s0->tc.w));
    if (s0->tp_f_s > 0) {
        add_phase(out, "tp all-reduces, forward of stage 0", s0->tp_f_s, Md,
                  link_bound(&nc, p->tp, 1));
        add_phase(out, "tp all-reduces, backward of stage 0", s0->tp_b_s, Md,
                  link_bound(&nc, p->tp, 1));
    }
    if (s0->ep_f_s > 0) {
        add_phase(out, "ep dispatch+combine forward, stage 0", s0->ep_f_s, Md,
                  link_bound(&nc, p->ep, 1));
        add_phase(out, "ep dispatch+combine backward, stage 0", s0->ep_b_s, Md,
                  link_bound(&nc, p->ep, 1));
    }
    if (s0->z3_s > 0)
        add_phase(out, "zero-3 weight all-gather, stage 0", s0->z3_s, 2 * Md,
                  link_bound(&nc, dp_n, p->tp));
    if (p2p_s > 0)
        add_phase(out, "pp send/recv of one activation", p2p_s, 2 * Md,
                  link_bound(&nc, 2, pp_stride));
    add_phase(out, "dp gradient reduction, stage 0 (dense)", rs_dense0, 1,
              link_bound(&nc, dp_n, p->tp));
    add_phase(out, "expert-dp gradient reduction, stage 0", rs_exp0, 1,
              link_bound(&nc, edp_n, p->ep));
    add_phase(out, "dp weight all-gather, stage 0", ag0, 1, link_bound(&nc, dp_n, p->tp));
    add_phase(out, "optimizer step, stage 0", opt0, 1, "HBM");
    add_phase(out, "pipeline bubble and waits (mean rank)", out->part_s[STEP_BUBBLE], 1,
              "pipeline dependency");
    out->spans = R.spans;
    out->nspans = R.nspans;
    R.spans = NULL;
    out->acts = R.acts;
    out->nacts = R.nacts;
    R.acts = NULL;

out:
    sim_free(R.s);
    free(R.next);
    free(R.busy);
    free(R.last_end);
    free(R.cur_start);
    free(R.cur_dur);
    free(R.cur_ep_exposed);
    free(R.cur_ep);
    free(R.cur_matrix);
    free(R.cur_memory);
    free(R.acts);
    free(R.part_s);
    free(R.f_done);
    free(R.b_done);
    free(R.bar);
    free(R.spans);
    free(st);
    free(dense);
    free(experts);
    free(fwd_s);
    free(bwd_s);
    sched_free(sc);
    return rc;
}
