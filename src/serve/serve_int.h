/* serve_int: what the pieces of the serving simulator share, private to
 * src/serve (serve.h is the public promise). The fleet holds instances,
 * each running continuous batching over chains (one output sequence of a
 * request each; best-of-N makes several); a chain's state follows the
 * transition table below. Functions one piece calls in another are named
 * servei_ and declared here, by the file that defines them; the containers
 * and a chain's arithmetic are inline because the hot loops call them. */
#ifndef MEGASIM_SERVE_INT_H
#define MEGASIM_SERVE_INT_H

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/sim.h"
#include "core/vec.h"
#include "serve/kvc.h"
#include "serve/serve.h"

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

static inline int servei_hless(const hent *x, const hent *y)
{
    return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

/* Called per event: the test for room is one compare, as in the deque. */
static inline int servei_heap_push(heap *h, hent e)
{
    if (h->n == h->cap) {
        hent *a = vec_grow(h->a, &h->cap, h->n + 1, 64, sizeof *a);
        if (!a)
            return -1;
        h->a = a;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!servei_hless(&e, &h->a[p]))
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = e;
    return 0;
}

static inline hent servei_heap_pop(heap *h)
{
    hent top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= h->n)
            break;
        if (l + 1 < h->n && servei_hless(&h->a[l + 1], &h->a[l]))
            m = l + 1;
        if (!servei_hless(&h->a[m], &last))
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

/* Room for one more (the callers test d->n == d->cap first). The ring
 * doubles in place; the part that had wrapped round to the front moves to
 * just past the old end, so the order from head on is kept. */
static inline int servei_dq_grow(deque *d)
{
    assert(d->n == d->cap);
    size_t old = d->cap;
    uint32_t *a = vec_grow(d->a, &d->cap, d->n + 1, 64, sizeof *a);
    if (!a)
        return -1;
    if (d->head + d->n > old)
        memcpy(a + old, a, (d->head + d->n - old) * sizeof *a);
    d->a = a;
    return 0;
}

static inline int servei_dq_push_back(deque *d, uint32_t v)
{
    if (d->n == d->cap && servei_dq_grow(d))
        return -1;
    d->a[(d->head + d->n++) % d->cap] = v;
    return 0;
}

static inline int servei_dq_push_front(deque *d, uint32_t v)
{
    if (d->n == d->cap && servei_dq_grow(d))
        return -1;
    d->head = (d->head + d->cap - 1) % d->cap;
    d->a[d->head] = v;
    d->n++;
    return 0;
}

static inline uint32_t servei_dq_front(const deque *d)
{
    return d->a[d->head];
}

static inline uint32_t servei_dq_pop_front(deque *d)
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

/* ---- a chain's states ---- */

/* Each state with the states that may follow it. A chain is born CH_FREE
 * (chain_new zeroes it, so CH_FREE must stay first) and becomes:
 *   WAIT     preempted for recompute, waiting to prefill again
 *   PREFILL  its prompt (or its context, recomputed) going into its cache
 *   READY    prefilled, a sibling, swapped out or moved: waiting to decode
 *   DECODE   in the instance's decode set
 *   PARKED   prefilled on a prefill instance, waiting for a decode instance
 *   MOVING   its KV cache on its way to a decode instance
 * and FREE again when it ends (or, just made, goes back to the queue). */
#define SERVEI_TO(s) (1u << (s))
#define SERVEI_CHAIN_STATES(X)                                                                     \
    X(CH_FREE, SERVEI_TO(CH_PREFILL) | SERVEI_TO(CH_READY))                                        \
    X(CH_WAIT, SERVEI_TO(CH_PREFILL))                                                              \
    X(CH_PREFILL, SERVEI_TO(CH_READY) | SERVEI_TO(CH_PARKED) | SERVEI_TO(CH_FREE))                 \
    X(CH_READY, SERVEI_TO(CH_DECODE))                                                              \
    X(CH_DECODE, SERVEI_TO(CH_READY) | SERVEI_TO(CH_WAIT) | SERVEI_TO(CH_FREE))                    \
    X(CH_PARKED, SERVEI_TO(CH_MOVING))                                                             \
    X(CH_MOVING, SERVEI_TO(CH_READY) | SERVEI_TO(CH_FREE))

#define SERVEI_STATE_ENUM(name, next) name,
enum { SERVEI_CHAIN_STATES(SERVEI_STATE_ENUM) };
#undef SERVEI_STATE_ENUM

/* The states each state may become, as bits. */
#define SERVEI_STATE_NEXT(name, next) [name] = (next),
static const unsigned servei_chain_next[] = {SERVEI_CHAIN_STATES(SERVEI_STATE_NEXT)};
#undef SERVEI_STATE_NEXT

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
    int64_t loaded; /* tokens beyond those the prefix cache gives its first prefill */
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
    double load_s; /* the running iteration's prefix-cache loads, over the instance's links */
    double t_start_s, frac_prefill;
    double cur_matrix_s, cur_memory_s, cur_comm_s; /* the running iteration's work */
    int64_t max_dec;
    double busy_s, gpu_s_in, gpu_s_out, in_tok, out_tok;
    double matrix_s, memory_s, comm_s; /* of busy_s: FLOP-bound, HBM-bound, traffic and waits */
    double prompt_tok, hit_tok;        /* prompts prefilled whole; of them, loaded from the cache */
    double full_tok, full_s;           /* decode at a full batch (see serve_pool) */
} inst;

/* A pool's layout: what its instances are made of and hold. */
typedef struct layout {
    icost *ic;
    int64_t tp, dp, ep, gpus; /* an instance's */
    int64_t blocks;           /* an instance's KV blocks */
    int64_t watermark;        /* blocks kept free: 1% of them, vLLM's default */
    double weights_B, kv_B_per_token_per_gpu, kv_free_B_per_gpu;
} layout;

typedef struct fleet {
    const serve_config *cfg;
    sim *s;
    reqs *stream;
    rng *chain_rng;
    ms_err *err;
    int failed;
    layout lay[2]; /* [0] mixed or prefill instances', [1] decode instances' */
    int64_t ninst, bs, pinned, max_tokens, max_batch; /* the instance's (x pp) */
    double mean_out;                                  /* the workload's mean output length */
    double biased_mid_out;                            /* E[L^2] / (2 E[L]) of output lengths */
    double r;                                         /* tokens a decode step makes */
    double qpk; /* tokens a decode step computes per sequence: 1 + draft */
    inst *in;
    chain *ch; /* indexed by chain id; moves when ch_pool grows it */
    pool ch_pool;
    rqst *rq; /* indexed by request id; moves when rq_pool grows it */
    pool rq_pool;
    deque queue;  /* requests waiting for an instance */
    deque parked; /* disaggregation: prefilled chains waiting for a decode instance */
    uint32_t *idle_mixed, *idle_decode;
    size_t nidle_mixed, nidle_decode;
    int stream_done, at_zero;
    int64_t next_id, arrived, done, total, clients_left;
    double first_arrival_s, last_done_s;
    dvec ttft, tpot, e2e;
    /* stop_p99_*: requests over each limit so far, and how many make the
     * p99 miss it (0: no limit is watched). */
    int64_t late_ttft, late_tpot, stop_count;
    serve_result *res;
    uint64_t ticks;
} fleet;

/* Moves a chain to state to; a move the table does not allow is a bug. */
static inline void servei_chain_to(chain *c, int to)
{
    assert(servei_chain_next[c->state] & SERVEI_TO(to));
    c->state = (uint8_t)to;
}

/* ---- arithmetic of a chain ---- */

/* Cache tokens after decode step j. */
static inline int64_t servei_kv_after(const fleet *f, const chain *c, int64_t j)
{
    int64_t t = c->p + (int64_t)ceil(f->r * (double)(j + 1) - 1e-9);
    return t < c->p + c->out ? t : c->p + c->out;
}

/* Blocks of its own a chain needs to run step j. */
static inline int64_t servei_own_needed(const fleet *f, const chain *c, int64_t j)
{
    int64_t b = kvc_blocks_for(servei_kv_after(f, c, j), f->bs) - c->base;
    return b > 0 ? b : 0;
}

/* The layout of instance I's pool. */
static inline const layout *servei_lay(const fleet *f, const inst *I)
{
    return &f->lay[I->kind == INST_DECODE];
}

static inline double servei_ctx_now(const fleet *f, const inst *I)
{
    return I->S0 + f->r * (double)I->n_dec * (double)I->it;
}

static inline int servei_room(const fleet *f, const inst *I)
{
    int64_t mb = f->max_batch;
    return mb == 0 || I->n_dec + (int64_t)I->npf + I->incoming < mb;
}

/* ---- serve.c: the pools, waking, finishing, arrivals ---- */

void servei_oom(fleet *f);
/* A fresh chain (CH_FREE), or NONE out of memory; the pool may move. */
uint32_t servei_chain_new(fleet *f);
void servei_chain_release(fleet *f, uint32_t id);
void servei_rq_release(fleet *f, uint32_t id);
void servei_kick(fleet *f, int64_t i);
/* Wakes one idle instance of the kind that can take work. */
void servei_wake_one(fleet *f, int decode);
void servei_spawn_siblings(fleet *f, uint32_t cid, int64_t i);
void servei_chain_done(fleet *f, int64_t i, uint32_t cid, double now);
/* The next request of the fleet-wide queue (or of a stream that is all
 * there at time zero), or NONE. */
uint32_t servei_queue_front(fleet *f);

/* ---- serve_admit.c: admission and prefill scheduling ---- */

void servei_charge(fleet *f, int64_t i, chain *c);
void servei_uncharge(fleet *f, chain *c);
int servei_admit_ok(const fleet *f, const inst *I, const chain *c);
int servei_over_target(const fleet *f, const inst *I, const chain *c);
int64_t servei_rank_budget(const fleet *f, const inst *I);
void servei_join_ready(fleet *f, int64_t i, double now);
void servei_schedule_prefill(fleet *f, int64_t i, int64_t *budget, int64_t cap, double now);

/* ---- serve_kv.c: the decode set, growth and preemption ---- */

void servei_join_decode(fleet *f, int64_t i, uint32_t cid);
void servei_leave_decode(fleet *f, inst *I, uint32_t cid);
void servei_grow(fleet *f, int64_t i, double now);

/* ---- serve_disagg.c: prefill and decode pools ---- */

void servei_park(fleet *f, uint32_t cid);
void servei_pull_parked(fleet *f, int64_t i, double now);

/* ---- serve_stats.c: records and results ---- */

void servei_finish_request(fleet *f, uint32_t rid, double now);
void servei_reject_request(fleet *f, uint32_t rid);
/* A latency under a stop_p99 limit: counted in *late when over it (by more
 * than rounding); the run stops once the p99 is certain to miss it. */
void servei_watch(fleet *f, double value_s, double limit_s, int64_t *late, double now);
void servei_collect(fleet *f);

#endif
