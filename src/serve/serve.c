/* serve: see serve.h. */
#include "serve/serve.h"

#include <assert.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sim.h"
#include "serve/kvc.h"

#define NONE UINT32_MAX

/* ---- small containers ---- */

typedef struct hent {
    int64_t key; /* an iteration index */
    uint32_t seq, gen;
} hent;

typedef struct heap {
    hent *a;
    size_t n, cap;
} heap;

static int hless(const hent *x, const hent *y)
{
    return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static int heap_push(heap *h, hent e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        hent *a = realloc(h->a, cap * sizeof *a);
        if (!a)
            return -1;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&e, &h->a[p]))
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = e;
    return 0;
}

static hent heap_pop(heap *h)
{
    hent top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= h->n)
            break;
        if (l + 1 < h->n && hless(&h->a[l + 1], &h->a[l]))
            m = l + 1;
        if (!hless(&h->a[m], &last))
            break;
        h->a[i] = h->a[m];
        i = m;
    }
    if (h->n)
        h->a[i] = last;
    return top;
}

typedef struct deque {
    uint32_t *a;
    size_t head, n, cap;
} deque;

static int dq_grow(deque *d)
{
    size_t cap = d->cap ? 2 * d->cap : 64;
    uint32_t *a = malloc(cap * sizeof *a);
    if (!a)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        a[i] = d->a[(d->head + i) % d->cap];
    free(d->a);
    d->a = a;
    d->head = 0;
    d->cap = cap;
    return 0;
}

static int dq_push_back(deque *d, uint32_t v)
{
    if (d->n == d->cap && dq_grow(d))
        return -1;
    d->a[(d->head + d->n++) % d->cap] = v;
    return 0;
}

static int dq_push_front(deque *d, uint32_t v)
{
    if (d->n == d->cap && dq_grow(d))
        return -1;
    d->head = (d->head + d->cap - 1) % d->cap;
    d->a[d->head] = v;
    d->n++;
    return 0;
}

static uint32_t dq_front(const deque *d)
{
    return d->a[d->head];
}

static uint32_t dq_pop_front(deque *d)
{
    uint32_t v = d->a[d->head];
    d->head = (d->head + 1) % d->cap;
    d->n--;
    return v;
}

typedef struct dvec {
    double *a;
    size_t n, cap;
} dvec;

static int dv_push(dvec *v, double x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 1024;
        double *a = realloc(v->a, cap * sizeof *a);
        if (!a)
            return -1;
        v->a = a;
        v->cap = cap;
    }
    v->a[v->n++] = x;
    return 0;
}

/* ---- the fleet's state ---- */

enum { CH_FREE, CH_WAIT, CH_PREFILL, CH_READY, CH_DECODE, CH_PARKED, CH_MOVING };
enum { INST_MIXED, INST_PREFILL, INST_DECODE };

typedef struct chain {
    uint32_t rq, gen;
    uint32_t prev, next; /* the instance's decode list, oldest first */
    int32_t inst, src;   /* where it is; where its KV comes from while moving */
    uint8_t state, swapped;
    int64_t p;         /* prompt tokens */
    int64_t out;       /* tokens this chain outputs, the first (from prefill) included */
    int64_t steps;     /* decode steps in all */
    int64_t jdone;     /* steps done when it last left decode */
    int64_t jbase;     /* while decoding: step = instance iteration + jbase */
    int64_t base;      /* blocks before its own: the cached prefix and the request's shared ones */
    int64_t own;       /* blocks it holds */
    int64_t own_src;   /* blocks it holds on src while moving */
    int64_t swap_own;  /* blocks it had when swapped out */
    int64_t pf_done;   /* tokens in its cache while prefilling, base included */
    int64_t pf_target; /* tokens its prefill ends at */
    int64_t chunk;     /* tokens it prefills in the running iteration */
    int64_t exp;       /* blocks admission counts it for (see charge) */
    double exp_ctx;    /* and the mean context it will decode at */
    int32_t exp_inst;  /* the instance they are counted on; -1: none */
    double ctx0;       /* p + 1 + r x jbase: its context is ctx0 + r x iteration */
} chain;

typedef struct rqst {
    int64_t id;
    double arrival_s, first_s;
    int64_t input, out0;
    int64_t hit;    /* blocks of the cached prefix it starts with */
    int64_t shared; /* full prompt blocks its chains share (best-of-N) */
    int32_t shared_inst, inst;
    int64_t chains, chains_left, out_total, max_out, preemptions;
    int64_t *chain_out; /* best-of-N: each chain's length (owned) */
    int first_done;
} rqst;

typedef struct inst {
    int kind, busy, idle, listed;
    kvc kv;
    int64_t it; /* iterations run */
    int64_t n_dec;
    double S0; /* sum of the decoding chains' ctx0 */
    uint32_t head, tail;
    heap fin, cross;
    uint32_t *pf; /* chains prefilling, oldest first */
    size_t npf, cappf;
    int64_t pf_target_sum;
    deque ready, wait;
    int64_t incoming;
    double incoming_ctx; /* tokens of the chains moving in */
    int64_t exp_blocks;  /* what admission counts its admitted chains for */
    int64_t exp_n;       /* chains counted */
    double exp_ctx;      /* their mean contexts over their decode, summed */
    double stall_s, link_free_s;
    double t_start_s, frac_prefill;
    double cur_matrix_s, cur_memory_s, cur_comm_s; /* the running iteration's work */
    int64_t max_dec;
    double busy_s, gpu_s_in, gpu_s_out, in_tok, out_tok;
} inst;

typedef struct fleet {
    const serve_config *cfg;
    sim *s;
    icost *ic;
    reqs *stream;
    rng *chain_rng;
    ms_err *err;
    int failed;
    int64_t ninst, inst_gpus, dp, bs, pinned, watermark, max_tokens;
    double mean_out;       /* the workload's mean output length */
    double biased_mid_out; /* E[L^2] / (2 E[L]) of output lengths */
    double r;              /* tokens a decode step makes */
    double qpk;            /* tokens a decode step computes per sequence: 1 + draft */
    inst *in;
    chain *ch;
    size_t nch, capch;
    uint32_t free_ch;
    rqst *rq;
    size_t nrq, caprq;
    uint32_t free_rq;
    deque queue;  /* requests waiting for an instance */
    deque parked; /* disaggregation: prefilled chains waiting for a decode instance */
    uint32_t *idle_mixed, *idle_decode;
    size_t nidle_mixed, nidle_decode;
    int stream_done, at_zero;
    int64_t next_id, arrived, done, total, clients_left;
    double first_arrival_s, last_done_s;
    dvec ttft, tpot, e2e;
    serve_result *res;
    uint64_t ticks;
} fleet;

static void fail(fleet *f, int rc, const char *msg)
{
    if (!f->failed)
        ms_errf(f->err, rc, "%s", msg);
    f->failed = 1;
    sim_stop(f->s);
}

static void oom(fleet *f)
{
    fail(f, MS_ENOMEM, "out of memory simulating the serving fleet");
}

static uint32_t chain_new(fleet *f)
{
    uint32_t id;
    if (f->free_ch != NONE) {
        id = f->free_ch;
        f->free_ch = f->ch[id].next;
    } else {
        if (f->nch == f->capch) {
            size_t cap = f->capch ? 2 * f->capch : 1024;
            chain *a = realloc(f->ch, cap * sizeof *a);
            if (!a) {
                oom(f);
                return NONE;
            }
            f->ch = a;
            f->capch = cap;
        }
        id = (uint32_t)f->nch++;
        f->ch[id].gen = 0;
    }
    uint32_t gen = f->ch[id].gen + 1;
    f->ch[id] = (chain){.gen = gen, .prev = NONE, .next = NONE, .src = -1, .exp_inst = -1};
    return id;
}

static void chain_release(fleet *f, uint32_t id)
{
    f->ch[id].state = CH_FREE;
    f->ch[id].gen++;
    f->ch[id].next = f->free_ch;
    f->free_ch = id;
}

static uint32_t rq_new(fleet *f)
{
    uint32_t id;
    if (f->free_rq != NONE) {
        id = f->free_rq;
        f->free_rq = (uint32_t)f->rq[id].id;
    } else {
        if (f->nrq == f->caprq) {
            size_t cap = f->caprq ? 2 * f->caprq : 1024;
            rqst *a = realloc(f->rq, cap * sizeof *a);
            if (!a) {
                oom(f);
                return NONE;
            }
            f->rq = a;
            f->caprq = cap;
        }
        id = (uint32_t)f->nrq++;
    }
    f->rq[id] = (rqst){.shared_inst = -1, .inst = -1};
    return id;
}

static void rq_release(fleet *f, uint32_t id)
{
    free(f->rq[id].chain_out);
    f->rq[id].chain_out = NULL;
    f->rq[id].id = f->free_rq;
    f->free_rq = id;
}

/* ---- arithmetic of a chain ---- */

/* Cache tokens after decode step j. */
static int64_t kv_after(const fleet *f, const chain *c, int64_t j)
{
    int64_t t = c->p + (int64_t)ceil(f->r * (double)(j + 1) - 1e-9);
    return t < c->p + c->out ? t : c->p + c->out;
}

/* Blocks of its own a chain needs to run step j. */
static int64_t own_needed(const fleet *f, const chain *c, int64_t j)
{
    int64_t b = kvc_blocks_for(kv_after(f, c, j), f->bs) - c->base;
    return b > 0 ? b : 0;
}

/* The first step at which the chain's blocks are not enough, or -1. */
static int64_t next_crossing(const fleet *f, const chain *c)
{
    int64_t cap = (c->base + c->own) * f->bs;
    if (cap >= c->p + c->out)
        return -1;
    int64_t j = (int64_t)floor((double)(cap - c->p) / f->r + 1e-9);
    if (j < 0)
        j = 0;
    return j < c->steps ? j : -1;
}

static double ctx_now(const fleet *f, const inst *I)
{
    return I->S0 + f->r * (double)I->n_dec * (double)I->it;
}

/* ---- admission that plans for growth ---- */

/* Blocks of its own a chain is expected to hold at its end: its prompt
 * and the workload's mean output (or what it has made, if more); on a
 * prefill-only instance, its prompt. */
static int64_t expected_blocks(const fleet *f, const chain *c, int prefill_only)
{
    double made = (double)c->jdone * f->r + 1;
    double end = prefill_only ? (double)c->p : (double)c->p + fmax(f->mean_out, made);
    int64_t b = kvc_blocks_for((int64_t)ceil(end), f->bs) - c->base;
    return b > 0 ? b : 0;
}

/* What a chain adds to the context of a typical decode step from now to
 * its end. Long outputs spend longer in the batch, so a step's sequences
 * are on average E[L^2] / (2 E[L]) into their outputs, not E[L] / 2 (a
 * length-biased mean: 1.6 times as far for lognormal sigma 0.7). */
static double expected_mid_ctx(const fleet *f, const chain *c)
{
    double made = (double)c->jdone * f->r + 1;
    return (double)c->p + fmax(made, f->biased_mid_out);
}

static void charge(fleet *f, int64_t i, chain *c)
{
    assert(c->exp_inst < 0);
    c->exp = expected_blocks(f, c, f->in[i].kind == INST_PREFILL);
    c->exp_ctx = expected_mid_ctx(f, c);
    c->exp_inst = (int32_t)i;
    f->in[i].exp_blocks += c->exp;
    f->in[i].exp_n++;
    f->in[i].exp_ctx += c->exp_ctx;
}

static void uncharge(fleet *f, chain *c)
{
    if (c->exp_inst < 0)
        return;
    inst *I = &f->in[c->exp_inst];
    I->exp_blocks -= c->exp;
    I->exp_ctx -= c->exp_ctx;
    if (--I->exp_n == 0)
        I->exp_ctx = 0; /* no drift */
    c->exp_inst = -1;
}

/* May instance i admit chain c? Greedy admission (vLLM's) asks only for
 * blocks now; planned admission also wants every admitted chain to fit at
 * its expected end. An empty instance takes anything. */
static int admit_ok(const fleet *f, const inst *I, const chain *c)
{
    if (f->cfg->admission == SERVE_ADMIT_GREEDY || I->n_dec + (int64_t)I->npf + I->incoming == 0)
        return 1;
    int64_t room = I->kv.capacity - f->pinned - f->watermark;
    return I->exp_blocks + expected_blocks(f, c, I->kind == INST_PREFILL) <= room;
}

/* ---- records ---- */

static void finish_request(fleet *f, uint32_t rid, double now)
{
    rqst *q = &f->rq[rid];
    serve_record rec = {.id = q->id,
                        .arrival_s = q->arrival_s,
                        .first_token_s = q->first_s,
                        .done_s = now,
                        .input_tokens = q->input,
                        .output_tokens = q->out_total,
                        .chains = q->chains,
                        .instance = q->inst,
                        .preemptions = q->preemptions};
    serve_result *res = f->res;
    res->requests++;
    res->input_tokens += (double)q->input;
    res->output_tokens += (double)q->out_total;
    if (dv_push(&f->ttft, q->first_s - q->arrival_s) || dv_push(&f->e2e, now - q->arrival_s)) {
        oom(f);
        return;
    }
    if (q->max_out > 1 && dv_push(&f->tpot, (now - q->first_s) / (double)(q->max_out - 1))) {
        oom(f);
        return;
    }
    if (now > f->last_done_s)
        f->last_done_s = now;
    f->done++;
    if (f->cfg->on_record)
        f->cfg->on_record(f->cfg->record_ctx, &rec);
    rq_release(f, rid);
}

static void reject_request(fleet *f, uint32_t rid)
{
    rqst *q = &f->rq[rid];
    serve_record rec = {.id = q->id,
                        .arrival_s = q->arrival_s,
                        .first_token_s = NAN,
                        .done_s = NAN,
                        .input_tokens = q->input,
                        .output_tokens = 0,
                        .chains = q->chains,
                        .instance = -1,
                        .rejected = 1};
    f->res->rejected++;
    f->done++;
    if (f->cfg->on_record)
        f->cfg->on_record(f->cfg->record_ctx, &rec);
    rq_release(f, rid);
}

/* ---- waking instances ---- */

static void start(fleet *f, int64_t i);

static int room(const fleet *f, const inst *I)
{
    int64_t mb = f->cfg->max_batch;
    return mb == 0 || I->n_dec + (int64_t)I->npf + I->incoming < mb;
}

static int can_take(const fleet *f, const inst *I)
{
    return room(f, I) && kvc_free_blocks(&I->kv) > f->watermark;
}

static void go_idle(fleet *f, int64_t i)
{
    inst *I = &f->in[i];
    I->idle = 1;
    if (I->listed)
        return;
    I->listed = 1;
    if (I->kind == INST_DECODE)
        f->idle_decode[f->nidle_decode++] = (uint32_t)i;
    else
        f->idle_mixed[f->nidle_mixed++] = (uint32_t)i;
}

static void kick(fleet *f, int64_t i)
{
    if (f->in[i].idle && !f->in[i].busy)
        start(f, i);
}

/* Wakes one idle instance of the kind that can take work. */
static void wake_one(fleet *f, int decode)
{
    uint32_t *stack = decode ? f->idle_decode : f->idle_mixed;
    size_t *n = decode ? &f->nidle_decode : &f->nidle_mixed;
    while (*n > 0) {
        uint32_t i = stack[--*n];
        inst *I = &f->in[i];
        I->listed = 0;
        if (!I->idle || I->busy)
            continue;
        if (can_take(f, I)) {
            start(f, i);
            return;
        }
    }
}

/* ---- decode set ---- */

static void join_decode(fleet *f, int64_t i, uint32_t cid)
{
    inst *I = &f->in[i];
    chain *c = &f->ch[cid];
    c->state = CH_DECODE;
    c->inst = (int32_t)i;
    c->jbase = c->jdone - I->it;
    c->ctx0 = (double)c->p + 1 + f->r * (double)c->jbase;
    I->S0 += c->ctx0;
    I->n_dec++;
    c->prev = I->tail;
    c->next = NONE;
    if (I->tail != NONE)
        f->ch[I->tail].next = cid;
    else
        I->head = cid;
    I->tail = cid;
    hent fin = {.key = c->steps - 1 - c->jbase, .seq = cid, .gen = c->gen};
    int64_t j = next_crossing(f, c);
    if (heap_push(&I->fin, fin) ||
        (j >= 0 && heap_push(&I->cross, (hent){.key = j - c->jbase, .seq = cid, .gen = c->gen})))
        oom(f);
}

static void leave_decode(fleet *f, inst *I, uint32_t cid)
{
    chain *c = &f->ch[cid];
    I->S0 -= c->ctx0;
    I->n_dec--;
    if (c->prev != NONE)
        f->ch[c->prev].next = c->next;
    else
        I->head = c->next;
    if (c->next != NONE)
        f->ch[c->next].prev = c->prev;
    else
        I->tail = c->prev;
    c->jdone = I->it + c->jbase;
    c->gen++; /* its heap entries go stale */
    if (I->n_dec == 0)
        I->S0 = 0; /* no drift */
}

static void preempt(fleet *f, int64_t i, uint32_t cid, double now)
{
    inst *I = &f->in[i];
    chain *c = &f->ch[cid];
    leave_decode(f, I, cid);
    uncharge(f, c);
    f->rq[c->rq].preemptions++;
    f->res->preemptions++;
    if (f->cfg->preempt == SERVE_SWAP) {
        double B = (double)(c->own * f->bs) * icost_kv_B_per_token_per_gpu(f->ic);
        I->stall_s += B / f->cfg->swap_Bps;
        c->swapped = 1;
        c->swap_own = c->own;
        kvc_free(&I->kv, c->own, now);
        c->own = 0;
        c->state = CH_READY;
        if (dq_push_front(&I->ready, cid))
            oom(f);
        return;
    }
    kvc_free(&I->kv, c->own, now);
    c->own = 0;
    c->state = CH_WAIT;
    c->pf_done = c->base * f->bs;
    c->pf_target = c->jdone > 0 ? kv_after(f, c, c->jdone - 1) : c->p;
    if (dq_push_front(&I->wait, cid))
        oom(f);
}

/* Blocks for the decoding chains that grow into a new one this
 * iteration; when none is free, the newest chains are preempted. */
static void grow(fleet *f, int64_t i, double now)
{
    inst *I = &f->in[i];
    while (I->cross.n > 0 && I->cross.a[0].key <= I->it) {
        hent e = heap_pop(&I->cross);
        chain *c = &f->ch[e.seq];
        if (c->gen != e.gen || c->state != CH_DECODE)
            continue;
        int64_t need = own_needed(f, c, I->it + c->jbase) - c->own;
        int gone = 0;
        while (need > 0 && !kvc_alloc(&I->kv, need, now)) {
            uint32_t victim = I->tail;
            preempt(f, i, victim, now);
            if (victim == e.seq) {
                gone = 1;
                break;
            }
        }
        if (gone || f->failed)
            continue;
        if (need > 0)
            c->own += need;
        int64_t j = next_crossing(f, c);
        if (j >= 0 &&
            heap_push(&I->cross, (hent){.key = j - c->jbase, .seq = e.seq, .gen = c->gen}))
            oom(f);
    }
}

/* Would one more sequence of ctx tokens make the time per output token
 * (a decode step over the tokens it yields) longer than the target? */
static int over_target_n(const fleet *f, const inst *I, const chain *c, double n)
{
    double target = f->cfg->step_target_s;
    if (!(target > 0) || I->kind == INST_PREFILL || I->n_dec + (int64_t)I->npf + I->incoming == 0)
        return 0;
    icost_batch b;
    if (f->cfg->admission == SERVE_ADMIT_PLANNED) {
        /* Every admitted chain at the mean context of its remaining decode. */
        b = (icost_batch){.decode_seqs = (double)I->exp_n + n,
                          .decode_ctx = I->exp_ctx + n * expected_mid_ctx(f, c)};
    } else {
        b = (icost_batch){.decode_seqs = (double)(I->n_dec + (int64_t)I->npf + I->incoming) + n,
                          .decode_ctx = ctx_now(f, I) + (double)I->pf_target_sum + I->incoming_ctx +
                                        n * (double)kv_after(f, c, c->jdone)};
    }
    return icost_eval(f->ic, &b).time_s / f->r > target;
}

static int over_target(const fleet *f, const inst *I, const chain *c)
{
    return over_target_n(f, I, c, 1);
}

/* Prompt tokens one dp rank may take this iteration (a prompt sits on
 * one rank, so this also caps one prompt's chunk): the token budget less
 * the rank's share of decode tokens, and with a time-per-output-token
 * target, as many as keep the step within it (Sarathi-Serve's way of
 * sizing chunks), at least a block so prompts always move. The cost of a
 * prompt token is taken as that of a 1,024-token chunk at the start of a
 * prompt. The instance may take dp times as many. */
static int64_t rank_budget(const fleet *f, const inst *I)
{
    int64_t budget = f->max_tokens - (int64_t)ceil((double)I->n_dec * f->qpk / (double)f->dp);
    double target = f->cfg->step_target_s;
    if (!(target > 0) || I->n_dec == 0 || budget <= 0)
        return budget;
    icost_batch b = {.decode_seqs = (double)I->n_dec, .decode_ctx = ctx_now(f, I)};
    double t_dec = icost_eval(f->ic, &b).time_s;
    b.prefill_tokens = 1024;
    b.prefill_seqs = 1;
    b.prefill_keys = 1024.0 * 1025 / 2;
    double per_token = (icost_eval(f->ic, &b).time_s - t_dec) / 1024;
    double room_s = target * f->r - t_dec;
    int64_t fit = per_token > 0 && room_s > 0 ? (int64_t)floor(room_s / per_token) : 0;
    if (fit < f->bs)
        fit = f->bs;
    return fit < budget ? fit : budget;
}

/* Chains ready to decode (prefilled, siblings, swapped out) join. */
static void join_ready(fleet *f, int64_t i, double now)
{
    inst *I = &f->in[i];
    while (I->ready.n > 0 && !f->failed) {
        uint32_t cid = dq_front(&I->ready);
        chain *c = &f->ch[cid];
        int fresh = c->own == 0; /* not yet counted in the batch */
        if (fresh && (!room(f, I) || over_target(f, I, c) || !admit_ok(f, I, c)))
            break;
        int64_t need = own_needed(f, c, c->jdone) - c->own;
        if (need > 0 && !kvc_alloc(&I->kv, need, now))
            break;
        dq_pop_front(&I->ready);
        if (c->exp_inst < 0)
            charge(f, i, c);
        if (need > 0)
            c->own += need;
        if (c->swapped) {
            double B = (double)(c->swap_own * f->bs) * icost_kv_B_per_token_per_gpu(f->ic);
            I->stall_s += B / f->cfg->swap_Bps;
            c->swapped = 0;
        }
        join_decode(f, i, cid);
    }
}

/* ---- prefill ---- */

static int pf_push(fleet *f, inst *I, uint32_t cid)
{
    if (I->npf == I->cappf) {
        size_t cap = I->cappf ? 2 * I->cappf : 16;
        uint32_t *a = realloc(I->pf, cap * sizeof *a);
        if (!a) {
            oom(f);
            return -1;
        }
        I->pf = a;
        I->cappf = cap;
    }
    I->pf[I->npf++] = cid;
    I->pf_target_sum += f->ch[cid].pf_target;
    return 0;
}

/* Takes as many of the chain's remaining prompt tokens as the budget and
 * the free blocks allow; returns them. */
static int64_t take_chunk(fleet *f, inst *I, chain *c, int64_t budget, double now)
{
    int64_t chunk = c->pf_target - c->pf_done;
    if (chunk > budget)
        chunk = budget;
    if (chunk <= 0)
        return 0;
    int64_t need = kvc_blocks_for(c->pf_done + chunk, f->bs) - c->base - c->own;
    if (need > kvc_free_blocks(&I->kv)) {
        int64_t fit = (c->base + c->own + kvc_free_blocks(&I->kv)) * f->bs - c->pf_done;
        chunk = fit < chunk ? fit : chunk;
        if (chunk <= 0)
            return 0;
        need = kvc_blocks_for(c->pf_done + chunk, f->bs) - c->base - c->own;
    }
    if (need > 0) {
        int ok = kvc_alloc(&I->kv, need, now);
        assert(ok);
        (void)ok;
        c->own += need;
    }
    return chunk;
}

/* The next request of the fleet-wide queue (or of a stream that is all
 * there at time zero), or NONE. */
static uint32_t queue_front(fleet *f);

static void make_chain0(fleet *f, uint32_t rid, int64_t i, uint32_t *out)
{
    rqst *q = &f->rq[rid];
    *out = NONE;
    uint32_t cid = chain_new(f);
    if (cid == NONE)
        return;
    q = &f->rq[rid];
    chain *c = &f->ch[cid];
    c->rq = rid;
    c->inst = (int32_t)i;
    c->p = q->input;
    c->out = q->out0;
    c->steps = (int64_t)ceil((double)(c->out - 1) / f->r - 1e-9);
    c->base = q->hit;
    c->pf_done = q->hit * f->bs;
    c->pf_target = q->input;
    c->state = CH_PREFILL;
    q->inst = (int32_t)i;
    *out = cid;
}

/* Blocks a request needs on an instance at its largest: its prompt and
 * the longest chain, beyond the cached prefix. */
static int64_t request_blocks(const fleet *f, const rqst *q)
{
    int64_t shared = q->chains > 1 ? q->input / f->bs - q->hit : 0;
    int64_t own = kvc_blocks_for(q->input + q->max_out, f->bs) - q->hit - shared;
    return shared + own;
}

/* With data-parallel attention a prompt sits on one rank and the others
 * wait for it at every expert exchange, so while sequences decode, new
 * prompts start as a gang, one a rank, when planned admission and the
 * time-per-output-token target have room for that many (or for all that
 * wait): a lone prompt would stall the whole instance's decode for one
 * rank's work. */
static int gang_wait(const fleet *f, const inst *I, const rqst *head, const chain *like)
{
    if (f->cfg->admission == SERVE_ADMIT_GREEDY || f->dp == 1 || I->n_dec == 0 || I->npf > 0)
        return 0;
    int64_t per = kvc_blocks_for(head->input + (int64_t)ceil(f->mean_out), f->bs) - head->hit;
    int64_t room = I->kv.capacity - f->pinned - f->watermark - I->exp_blocks;
    int64_t waiting = (int64_t)f->queue.n + (f->at_zero && !f->stream_done ? f->dp : 0);
    int64_t gang = waiting < f->dp ? waiting : f->dp;
    return (per > 0 && room / per < gang) || over_target_n(f, I, like, (double)gang);
}

static void schedule_prefill(fleet *f, int64_t i, int64_t *budget, int64_t cap, double now)
{
    inst *I = &f->in[i];
    for (size_t k = 0; *budget > 0 && k < I->npf; k++) {
        chain *c = &f->ch[I->pf[k]];
        c->chunk = take_chunk(f, I, c, *budget < cap ? *budget : cap, now);
        *budget -= c->chunk;
    }
    /* Chains preempted for recompute, then new requests. */
    while (*budget > 0 && !f->failed && room(f, I) && kvc_free_blocks(&I->kv) > f->watermark) {
        uint32_t cid = NONE;
        if (I->wait.n > 0) {
            chain *c = &f->ch[dq_front(&I->wait)];
            if (over_target(f, I, c) || !admit_ok(f, I, c))
                break;
            cid = dq_pop_front(&I->wait);
            f->ch[cid].state = CH_PREFILL;
        } else if (I->kind != INST_DECODE) {
            uint32_t rid = queue_front(f);
            if (rid == NONE)
                break;
            rqst *q = &f->rq[rid];
            chain probe = {.p = q->input, .out = q->out0, .base = q->hit};
            if (gang_wait(f, I, q, &probe))
                break;
            dq_pop_front(&f->queue);
            if (request_blocks(f, q) > I->kv.capacity - f->pinned) {
                reject_request(f, rid);
                continue;
            }
            make_chain0(f, rid, i, &cid);
            if (cid == NONE)
                return;
            if (over_target(f, I, &f->ch[cid]) || !admit_ok(f, I, &f->ch[cid])) {
                /* Back to the queue's head, as it was. */
                chain_release(f, cid);
                if (dq_push_front(&f->queue, rid))
                    oom(f);
                break;
            }
        } else {
            break;
        }
        chain *c = &f->ch[cid];
        charge(f, i, c);
        c->chunk = take_chunk(f, I, c, *budget < cap ? *budget : cap, now);
        *budget -= c->chunk;
        if (pf_push(f, I, cid))
            return;
    }
}

/* ---- disaggregation: moving a prefilled chain ---- */

static void moved(sim *s, void *ctx, sim_payload p);

static void pull_parked(fleet *f, int64_t i, double now)
{
    inst *I = &f->in[i];
    while (f->parked.n > 0 && room(f, I) && !f->failed) {
        uint32_t cid = dq_front(&f->parked);
        chain *c = &f->ch[cid];
        rqst *q = &f->rq[c->rq];
        int64_t base_src = c->base;
        c->base = q->hit + (q->chains > 1 ? q->shared : 0); /* as it will be here */
        int ok = !over_target(f, I, c) && admit_ok(f, I, c);
        c->base = base_src;
        if (!ok)
            break;
        /* Here the chain's base is the instance's cached prefix plus the
         * request's shared blocks, which this instance now holds. */
        int64_t shared = q->chains > 1 ? q->shared : 0;
        int64_t total = kvc_blocks_for(kv_after(f, c, 0), f->bs) - q->hit;
        if (!kvc_alloc(&I->kv, total, now))
            break;
        dq_pop_front(&f->parked);
        c->own_src = c->own;
        c->src = c->inst;
        c->inst = (int32_t)i;
        c->base = q->hit + shared;
        c->own = total - shared;
        c->state = CH_MOVING;
        uncharge(f, c);
        charge(f, i, c);
        if (shared > 0)
            q->shared_inst = (int32_t)i;
        I->incoming++;
        I->incoming_ctx += (double)c->p;
        inst *S = &f->in[c->src];
        double B = (double)(c->p - q->hit * f->bs) * icost_kv_B_per_token_per_gpu(f->ic);
        double t0 = fmax(now, fmax(S->link_free_s, I->link_free_s));
        double t1 = t0 + f->cfg->kv_link_latency_s + B / (f->cfg->kv_link_Bps * (double)f->dp);
        S->link_free_s = I->link_free_s = t1;
        sim_payload pl = {.u64 = {cid, c->gen}};
        sim_at(f->s, sim_time_from_s(t1), moved, f, pl);
    }
}

/* ---- best-of-N ---- */

static void spawn_siblings(fleet *f, uint32_t cid, int64_t i)
{
    chain *c0 = &f->ch[cid];
    uint32_t rid = c0->rq;
    int64_t n = f->rq[rid].chains;
    for (int64_t k = 1; k < n && !f->failed; k++) {
        uint32_t sid = chain_new(f);
        if (sid == NONE)
            return;
        c0 = &f->ch[cid];
        rqst *q = &f->rq[rid];
        chain *s = &f->ch[sid];
        s->rq = rid;
        s->inst = (int32_t)i;
        s->p = c0->p;
        s->out = q->chain_out[k];
        s->steps = (int64_t)ceil((double)(s->out - 1) / f->r - 1e-9);
        s->base = c0->base;
        s->state = CH_READY;
        if (dq_push_back(&f->in[i].ready, sid))
            oom(f);
    }
}

static void chain_done(fleet *f, int64_t i, uint32_t cid, double now);

/* A chain's prompt is in its cache and its first token out. */
static void prefilled(fleet *f, int64_t i, uint32_t cid, double now)
{
    inst *I = &f->in[i];
    chain *c = &f->ch[cid];
    rqst *q = &f->rq[c->rq];
    I->pf_target_sum -= c->pf_target;
    int first = !q->first_done;
    if (first) {
        q->first_done = 1;
        q->first_s = now;
    }
    if (c->steps == 0 && q->chains == 1) { /* one token: the prefill made it */
        chain_done(f, i, cid, now);
        return;
    }
    if (I->kind == INST_PREFILL) {
        c->state = CH_PARKED;
        if (dq_push_back(&f->parked, cid))
            oom(f);
        wake_one(f, 1);
        return;
    }
    if (first && q->chains > 1) {
        /* The full prompt blocks become the request's, shared. */
        c->own -= q->shared;
        c->base += q->shared;
        q->shared_inst = (int32_t)i;
        spawn_siblings(f, cid, i);
        c = &f->ch[cid]; /* the pool may have moved */
    }
    if (c->steps == 0) {
        chain_done(f, i, cid, now);
        return;
    }
    c->state = CH_READY;
    if (dq_push_front(&I->ready, cid))
        oom(f);
}

static void moved(sim *s, void *ctx, sim_payload p)
{
    fleet *f = ctx;
    uint32_t cid = (uint32_t)p.u64[0];
    chain *c = &f->ch[cid];
    assert(c->gen == p.u64[1] && c->state == CH_MOVING);
    double now = sim_time_to_s(sim_now(s));
    inst *S = &f->in[c->src], *D = &f->in[c->inst];
    kvc_free(&S->kv, c->own_src, now);
    c->own_src = 0;
    D->incoming--;
    D->incoming_ctx -= (double)c->p;
    if (D->incoming == 0)
        D->incoming_ctx = 0;
    int64_t i = c->inst;
    int32_t src = c->src;
    if (f->rq[c->rq].chains > 1)
        spawn_siblings(f, cid, i);
    c = &f->ch[cid];
    if (c->steps == 0) {
        chain_done(f, i, cid, now);
    } else {
        c->state = CH_READY;
        if (dq_push_front(&D->ready, cid))
            oom(f);
    }
    kick(f, src);
    kick(f, i);
}

/* ---- finishing ---- */

static void next_arrival(fleet *f, double now);

static void chain_done(fleet *f, int64_t i, uint32_t cid, double now)
{
    inst *I = &f->in[i];
    chain *c = &f->ch[cid];
    if (c->state == CH_DECODE)
        leave_decode(f, I, cid);
    kvc_free(&I->kv, c->own, now);
    uncharge(f, c);
    I->out_tok += (double)c->out;
    uint32_t rid = c->rq;
    rqst *q = &f->rq[rid];
    q->out_total += c->out;
    chain_release(f, cid);
    if (--q->chains_left > 0)
        return;
    if (q->shared > 0 && q->shared_inst >= 0)
        kvc_free(&f->in[q->shared_inst].kv, q->shared, now);
    finish_request(f, rid, now);
    if (f->cfg->concurrency > 0)
        next_arrival(f, now);
}

/* ---- the iteration ---- */

static void iteration_end(sim *s, void *ctx, sim_payload p);

static void start(fleet *f, int64_t i)
{
    inst *I = &f->in[i];
    if (I->busy || f->failed)
        return;
    double now = sim_time_to_s(sim_now(f->s));
    I->idle = 0;
    grow(f, i, now);
    join_ready(f, i, now);
    if (I->kind == INST_DECODE)
        pull_parked(f, i, now);
    int64_t cap = rank_budget(f, I), budget = cap * f->dp;
    if (I->kind != INST_DECODE || I->wait.n > 0 || I->npf > 0)
        schedule_prefill(f, i, &budget, cap, now);
    if (f->failed)
        return;
    icost_batch b = {.decode_seqs = (double)I->n_dec, .decode_ctx = ctx_now(f, I)};
    for (size_t k = 0; k < I->npf; k++) {
        chain *c = &f->ch[I->pf[k]];
        double n = (double)c->chunk, done = (double)c->pf_done;
        b.prefill_tokens += n;
        b.prefill_seqs += c->chunk > 0;
        b.prefill_keys += n * done + n * (n + 1) / 2;
        if (c->chunk > 0 && c->pf_done + c->chunk == c->pf_target)
            b.prefill_done += 1;
    }
    if (b.decode_seqs == 0 && b.prefill_tokens == 0) {
        go_idle(f, i);
        return;
    }
    icost_time it = icost_eval(f->ic, &b);
    double t = it.time_s;
    I->cur_memory_s = it.hbm_bound_s;
    I->cur_matrix_s = it.compute_s - it.hbm_bound_s;
    I->cur_comm_s = t - it.compute_s + I->stall_s;
    /* Decode is the base load; prompt chunks riding on a decode step cost
     * what they add to it (the saving chunked prefill is built for). */
    I->frac_prefill = b.decode_seqs == 0 ? 1 : 0;
    if (b.decode_seqs > 0 && b.prefill_tokens > 0) {
        icost_batch bd = {.decode_seqs = b.decode_seqs, .decode_ctx = b.decode_ctx};
        I->frac_prefill = fmax(0, t - icost_eval(f->ic, &bd).time_s) / t;
    }
    if (I->n_dec > I->max_dec)
        I->max_dec = I->n_dec;
    t += I->stall_s;
    I->stall_s = 0;
    I->busy = 1;
    I->t_start_s = now;
    sim_after(f->s, sim_time_from_s(t), iteration_end, f, (sim_payload){.i64 = {i, 0}});
}

static void iteration_end(sim *s, void *ctx, sim_payload p)
{
    fleet *f = ctx;
    int64_t i = p.i64[0];
    inst *I = &f->in[i];
    double now = sim_time_to_s(sim_now(s));
    double dt = now - I->t_start_s, g = (double)f->inst_gpus;
    I->busy = 0;
    I->busy_s += dt;
    I->gpu_s_in += dt * g * I->frac_prefill;
    I->gpu_s_out += dt * g * (1 - I->frac_prefill);
    f->res->iterations++;
    if (f->cfg->on_iteration)
        f->cfg->on_iteration(f->cfg->iter_ctx, i, I->t_start_s, dt, I->cur_matrix_s,
                             I->cur_memory_s, I->cur_comm_s);
    /* Prefill chunks: the chains that finished their prompt go on. */
    size_t keep = 0, npf = I->npf;
    for (size_t k = 0; k < npf && !f->failed; k++) {
        uint32_t cid = I->pf[k];
        chain *c = &f->ch[cid];
        c->pf_done += c->chunk;
        I->in_tok += (double)c->chunk;
        c->chunk = 0;
        if (c->pf_done < c->pf_target)
            I->pf[keep++] = cid;
        else
            prefilled(f, i, cid, now);
    }
    I->npf = keep;
    /* Decode: one step for every decoding chain. */
    I->it++;
    while (I->fin.n > 0 && I->fin.a[0].key < I->it && !f->failed) {
        hent e = heap_pop(&I->fin);
        chain *c = &f->ch[e.seq];
        if (c->gen != e.gen || c->state != CH_DECODE)
            continue;
        chain_done(f, i, e.seq, now);
    }
    if (++f->ticks % 4096 == 0 && f->cfg->progress)
        f->cfg->progress(f->cfg->progress_ctx, now, f->done, f->total);
    start(f, i);
}

/* ---- arrivals ---- */

static uint32_t admit_req(fleet *f, const req *r, double arrival_s)
{
    uint32_t rid = rq_new(f);
    if (rid == NONE)
        return NONE;
    rqst *q = &f->rq[rid];
    const serve_config *cfg = f->cfg;
    q->id = f->next_id++;
    q->arrival_s = arrival_s;
    q->input = r->input_tokens;
    q->out0 = r->output_tokens;
    q->chains = q->chains_left = cfg->best_of;
    q->max_out = q->out0;
    int64_t prefix_blocks = cfg->shared_prefix / f->bs;
    int64_t hit = (q->input - 1) / f->bs;
    q->hit = hit < prefix_blocks ? hit : prefix_blocks;
    if (q->chains > 1) {
        q->shared = q->input / f->bs - q->hit;
        q->chain_out = malloc((size_t)q->chains * sizeof *q->chain_out);
        if (!q->chain_out) {
            oom(f);
            return NONE;
        }
        q->chain_out[0] = q->out0;
        for (int64_t k = 1; k < q->chains; k++) {
            q->chain_out[k] = cfg->chain_len ? dist_sample(cfg->chain_len, f->chain_rng) : q->out0;
            if (q->chain_out[k] > q->max_out)
                q->max_out = q->chain_out[k];
        }
    }
    if (f->arrived++ == 0 || arrival_s < f->first_arrival_s)
        f->first_arrival_s = arrival_s;
    return rid;
}

static uint32_t queue_front(fleet *f)
{
    if (f->queue.n > 0)
        return dq_front(&f->queue);
    if (!f->at_zero || f->stream_done)
        return NONE;
    req r;
    if (!reqs_next(f->stream, &r)) {
        f->stream_done = 1;
        return NONE;
    }
    uint32_t rid = admit_req(f, &r, 0);
    if (rid == NONE || dq_push_back(&f->queue, rid)) {
        oom(f);
        return NONE;
    }
    return rid;
}

static void arrival(sim *s, void *ctx, sim_payload p);

/* Open loop: schedules the stream's next request. Closed loop: a client
 * whose request ended sends the next one now. */
static void next_arrival(fleet *f, double now)
{
    if (f->stream_done)
        return;
    req r;
    if (!reqs_next(f->stream, &r)) {
        f->stream_done = 1;
        return;
    }
    double t = f->cfg->concurrency > 0 ? now : r.arrival_s;
    uint32_t rid = admit_req(f, &r, t);
    if (rid == NONE)
        return;
    sim_at(f->s, sim_time_from_s(t), arrival, f, (sim_payload){.u64 = {rid, 0}});
}

static void arrival(sim *s, void *ctx, sim_payload p)
{
    fleet *f = ctx;
    uint32_t rid = (uint32_t)p.u64[0];
    if (dq_push_back(&f->queue, rid)) {
        oom(f);
        return;
    }
    if (f->cfg->concurrency == 0)
        next_arrival(f, sim_time_to_s(sim_now(s)));
    wake_one(f, 0);
}

/* Bootstraps the instances at time zero (a stream all there at zero). */
static void kickoff(sim *s, void *ctx, sim_payload p)
{
    (void)s;
    (void)p;
    fleet *f = ctx;
    for (int64_t i = 0; i < f->ninst && !f->failed; i++)
        if (f->in[i].kind != INST_DECODE)
            start(f, i);
}

/* ---- setup and results ---- */

static int check_config(const serve_config *c, ms_err *err)
{
    if (c->gpus < 1)
        return ms_errf(err, MS_EINVAL, "--gpus must be at least 1, got %lld", (long long)c->gpus);
    int64_t g = c->par.tp * c->par.dp;
    if (g < 1 || c->gpus % g)
        return ms_errf(err, MS_EINVAL,
                       "--gpus %lld must be a multiple of an instance's GPUs, --tp x --dp = %lld",
                       (long long)c->gpus, (long long)g);
    int64_t n = c->gpus / g;
    if (c->prefill_instances < 0 || (c->prefill_instances > 0 && c->prefill_instances >= n))
        return ms_errf(err, MS_EINVAL,
                       "--disaggregate: %lld prefill instances of %lld leave no decode instance",
                       (long long)c->prefill_instances, (long long)n);
    if (c->prefill_instances > 0 && !(c->kv_link_Bps > 0))
        return ms_errf(err, MS_EINVAL,
                       "--disaggregate needs a network to move KV caches over: the chip has no "
                       "NIC figure; give --nic-Gbps");
    if (c->block_tokens < 1 || c->block_tokens > 4096)
        return ms_errf(err, MS_EINVAL, "--block-tokens: expected 1 to 4096, got %lld",
                       (long long)c->block_tokens);
    if (c->max_batch < 0)
        return ms_errf(err, MS_EINVAL, "--max-batch: expected >= 1 (or 0 for no limit), got %lld",
                       (long long)c->max_batch);
    if (c->max_tokens < 1)
        return ms_errf(err, MS_EINVAL, "--max-tokens: expected >= 1, got %lld",
                       (long long)c->max_tokens);
    if (!(c->mem_reserve >= 0 && c->mem_reserve < 1))
        return ms_errf(err, MS_EINVAL, "--mem-reserve: expected a fraction in [0, 1), got %g",
                       c->mem_reserve);
    if (c->preempt == SERVE_SWAP && !(c->swap_Bps > 0))
        return ms_errf(err, MS_EINVAL,
                       "--preempt swap needs --swap-GBps, the host link per GPU (64 for PCIe "
                       "Gen5 x16 per direction)");
    if (c->shared_prefix < 0)
        return ms_errf(err, MS_EINVAL, "--shared-prefix: expected >= 0 tokens, got %lld",
                       (long long)c->shared_prefix);
    if (c->best_of < 1 || c->best_of > 1000000)
        return ms_errf(err, MS_EINVAL, "--best-of: expected 1 to 1000000, got %lld",
                       (long long)c->best_of);
    if (!(c->mtp_accept >= 0 && c->mtp_accept <= 1))
        return ms_errf(err, MS_EINVAL, "--mtp-accept: expected a rate in [0, 1], got %g",
                       c->mtp_accept);
    if (c->step_target_s < 0 || !isfinite(c->step_target_s))
        return ms_errf(err, MS_EINVAL, "--tpot-target: expected seconds >= 0, got %g",
                       c->step_target_s);
    if (c->concurrency < 0)
        return ms_errf(err, MS_EINVAL, "--concurrency: expected >= 1, got %lld",
                       (long long)c->concurrency);
    return MS_OK;
}

static serve_pcts pcts(dvec *v)
{
    serve_pcts p = {NAN, NAN, NAN, NAN};
    if (v->n == 0)
        return p;
    gsl_sort(v->a, 1, v->n);
    p.p50 = gsl_stats_quantile_from_sorted_data(v->a, 1, v->n, 0.50);
    p.p90 = gsl_stats_quantile_from_sorted_data(v->a, 1, v->n, 0.90);
    p.p99 = gsl_stats_quantile_from_sorted_data(v->a, 1, v->n, 0.99);
    p.mean = gsl_stats_mean(v->a, 1, v->n);
    return p;
}

static void collect(fleet *f)
{
    serve_result *r = f->res;
    r->makespan_s = f->done > r->rejected ? f->last_done_s - f->first_arrival_s : 0;
    double span = r->makespan_s;
    r->ttft_s = pcts(&f->ttft);
    r->tpot_s = pcts(&f->tpot);
    r->e2e_s = pcts(&f->e2e);
    if (span > 0) {
        r->input_tps = r->input_tokens / span;
        r->output_tps = r->output_tokens / span;
    }
    double peak = 0, mean = 0, busy_in = 0, busy_out = 0;
    r->pools = f->cfg->prefill_instances > 0 ? 2 : 1;
    for (int64_t i = 0; i < f->ninst; i++) {
        inst *I = &f->in[i];
        r->blocks_allocated += I->kv.allocated;
        r->blocks_freed += I->kv.freed;
        if (I->kv.peak > I->kv.capacity)
            r->over_capacity = 1;
        if (I->kv.capacity > 0) {
            peak = fmax(peak, (double)I->kv.peak / (double)I->kv.capacity);
            mean += kvc_mean_used(&I->kv, f->last_done_s) / (double)I->kv.capacity;
        }
        if (I->max_dec > r->max_batch_seen)
            r->max_batch_seen = I->max_dec;
        busy_in += I->gpu_s_in;
        busy_out += I->gpu_s_out;
        serve_pool *pl = &r->pool[r->pools == 2 && I->kind == INST_DECODE ? 1 : 0];
        pl->instances++;
        pl->gpus += f->inst_gpus;
        pl->input_tokens += I->in_tok;
        pl->output_tokens += I->out_tok;
        pl->busy_s += I->busy_s;
    }
    for (int k = 0; k < r->pools && span > 0; k++) {
        r->pool[k].input_tps = r->pool[k].input_tokens / span;
        r->pool[k].output_tps = r->pool[k].output_tokens / span;
    }
    r->blocks_pinned = f->pinned * f->ninst;
    r->kv_peak_frac = peak;
    r->kv_mean_frac = f->ninst > 0 ? mean / (double)f->ninst : 0;
    /* The fleet's GPU time over the run, idle time shared out as busy
     * time is. */
    double total = (double)f->cfg->gpus * span, busy = busy_in + busy_out;
    if (r->pools == 2) {
        r->gpu_s_input = (double)r->pool[0].gpus * span;
        r->gpu_s_output = (double)r->pool[1].gpus * span;
    } else if (busy > 0) {
        r->gpu_s_input = total * busy_in / busy;
        r->gpu_s_output = total * busy_out / busy;
    }
    r->events = sim_events_run(f->s);
}

static void fleet_free(fleet *f)
{
    for (int64_t i = 0; f->in && i < f->ninst; i++) {
        free(f->in[i].fin.a);
        free(f->in[i].cross.a);
        free(f->in[i].pf);
        free(f->in[i].ready.a);
        free(f->in[i].wait.a);
    }
    free(f->in);
    free(f->ch);
    for (size_t k = 0; f->rq && k < f->nrq; k++)
        free(f->rq[k].chain_out);
    free(f->rq);
    free(f->queue.a);
    free(f->parked.a);
    free(f->idle_mixed);
    free(f->idle_decode);
    free(f->ttft.a);
    free(f->tpot.a);
    free(f->e2e.a);
    rng_free(f->chain_rng);
    reqs_free(f->stream);
    icost_free(f->ic);
    sim_free(f->s);
}

int serve_run(const serve_config *cfg, serve_result *out, ms_err *err)
{
    *out = (serve_result){0};
    int rc = check_config(cfg, err);
    if (rc)
        return rc;
    fleet f = {.cfg = cfg, .err = err, .res = out, .free_ch = NONE, .free_rq = NONE};
    icost_config par = cfg->par;
    par.mtp_draft = cfg->mtp_accept > 0;
    f.r = 1 + cfg->mtp_accept;
    f.qpk = 1 + par.mtp_draft;
    f.dp = par.dp;
    f.bs = cfg->block_tokens;
    f.inst_gpus = par.tp * par.dp;
    f.ninst = cfg->gpus / f.inst_gpus;
    f.max_tokens = cfg->max_tokens;
    if ((rc = icost_new(cfg->m, cfg->c, cfg->cal, &par, cfg->instance_topo, cfg->cp, &f.ic, err)))
        goto out;
    /* KV cache: what HBM holds beyond the reserve and the weights. */
    double w = icost_weights_B_per_gpu(f.ic), hbm = cfg->c->hbm_bytes;
    double free_B = hbm * (1 - cfg->mem_reserve) - w;
    double per_tok = icost_kv_B_per_token_per_gpu(f.ic);
    out->weights_B_per_gpu = w;
    out->kv_B_per_token_per_gpu = per_tok;
    out->kv_free_B_per_gpu = free_B;
    int64_t blocks = free_B > 0 ? (int64_t)floor(free_B / (per_tok * (double)f.bs)) : 0;
    blocks *= par.dp;
    int64_t prefix_blocks = cfg->shared_prefix / f.bs;
    if (blocks <= prefix_blocks) {
        rc = ms_errf(err, MS_EINVAL,
                     "the model does not fit: %s needs %.1f GB of weights per GPU at --tp %lld "
                     "--dp %lld --ep %lld, and each %s holds %.1f GB, of which %.0f%% is kept back "
                     "(--mem-reserve), leaving %.1f GB for KV cache (%.0f KB a token); use more "
                     "GPUs per instance, a lower --precision or a bigger chip",
                     cfg->m->name, w / 1e9, (long long)par.tp, (long long)par.dp, (long long)par.ep,
                     cfg->c->name, hbm / 1e9, cfg->mem_reserve * 100, free_B / 1e9, per_tok / 1e3);
        goto out;
    }
    out->kv_capacity_tokens = blocks * f.bs;
    f.pinned = prefix_blocks;
    f.watermark = (int64_t)floor(0.01 * (double)blocks);
    if ((rc = sim_new(&f.s, err)) || (rc = reqs_new(cfg->stream, &f.stream, err)) ||
        (rc = rng_new_stream(&f.chain_rng, cfg->seed, 7, err)))
        goto out;
    f.in = calloc((size_t)f.ninst, sizeof *f.in);
    f.idle_mixed = malloc((size_t)f.ninst * sizeof *f.idle_mixed);
    f.idle_decode = malloc((size_t)f.ninst * sizeof *f.idle_decode);
    if (!f.in || !f.idle_mixed || !f.idle_decode) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory for %lld instances", (long long)f.ninst);
        goto out;
    }
    for (int64_t i = 0; i < f.ninst; i++) {
        inst *I = &f.in[i];
        I->kind = cfg->prefill_instances == 0  ? INST_MIXED
                  : i < cfg->prefill_instances ? INST_PREFILL
                                               : INST_DECODE;
        I->head = I->tail = NONE;
        kvc_init(&I->kv, blocks);
        kvc_alloc(&I->kv, f.pinned, 0);
        I->idle = 1;
    }
    f.total = reqs_total(f.stream);
    f.mean_out = reqs_mean_output(f.stream);
    f.biased_mid_out = f.mean_out > 0 ? reqs_mean_output_square(f.stream) / (2 * f.mean_out) : 0;
    f.at_zero = cfg->stream->kind == REQS_AT_ZERO && cfg->concurrency == 0;
    if (f.at_zero) {
        sim_at(f.s, 0, kickoff, &f, (sim_payload){{0}});
    } else if (cfg->concurrency > 0) {
        for (int64_t k = 0; k < cfg->concurrency; k++)
            next_arrival(&f, 0);
    } else {
        next_arrival(&f, 0);
    }
    for (int64_t i = 0; i < f.ninst; i++)
        go_idle(&f, i);
    if (!f.failed)
        rc = sim_run(f.s, err);
    if (f.failed)
        rc = err->code ? err->code : MS_ENOMEM;
    if (rc)
        goto out;
    if (f.done < f.arrived) {
        rc = ms_errf(err, MS_EINVAL,
                     "%lld of %lld requests could not finish: their KV caches no longer fit "
                     "the instances' free blocks (raise --max-batch limits or use more GPUs "
                     "per instance)",
                     (long long)(f.arrived - f.done), (long long)f.arrived);
        goto out;
    }
    /* Mean final context: what a sequence holds when it ends. */
    double mean_ctx =
        out->requests > 0 ? (out->input_tokens + out->output_tokens) / (double)out->requests : 0;
    if (mean_ctx > 0)
        out->batch_fit = (int64_t)floor((double)(out->kv_capacity_tokens - f.pinned * f.bs) /
                                        (mean_ctx / (double)cfg->best_of));
    collect(&f);
    if (cfg->progress)
        cfg->progress(cfg->progress_ctx, f.last_done_s, f.done, f.total);
out:
    fleet_free(&f);
    return rc;
}
