/* serve KV cache: the decode set of an instance, oldest first, with the
 * heaps of the steps at which its chains finish or outgrow their blocks;
 * growing a chain into a new block, and preempting the newest chains
 * (swapped out or recomputed) when none is free. See serve_int.h. */
#include <assert.h>
#include <math.h>

#include "serve/serve_int.h"

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

/* ---- decode set ---- */

void servei_join_decode(fleet *f, int64_t i, uint32_t cid)
{
    inst *I = &f->in[i];
    chain *c = &f->ch[cid];
    servei_chain_to(c, CH_DECODE);
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
    if (servei_heap_push(&I->fin, fin) ||
        (j >= 0 &&
         servei_heap_push(&I->cross, (hent){.key = j - c->jbase, .seq = cid, .gen = c->gen})))
        servei_oom(f);
}

void servei_leave_decode(fleet *f, inst *I, uint32_t cid)
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
    servei_leave_decode(f, I, cid);
    servei_uncharge(f, c);
    f->rq[c->rq].preemptions++;
    f->res->preemptions++;
    if (f->cfg->preempt == SERVE_SWAP) {
        double B = (double)(c->own * f->bs) * servei_lay(f, I)->kv_B_per_token_per_gpu;
        I->stall_s += B / f->cfg->swap_Bps;
        c->swapped = 1;
        c->swap_own = c->own;
        kvc_free(&I->kv, c->own, now);
        c->own = 0;
        servei_chain_to(c, CH_READY);
        if (servei_dq_push_front(&I->ready, cid))
            servei_oom(f);
        return;
    }
    kvc_free(&I->kv, c->own, now);
    c->own = 0;
    servei_chain_to(c, CH_WAIT);
    c->pf_done = c->base * f->bs;
    c->pf_target = c->jdone > 0 ? servei_kv_after(f, c, c->jdone - 1) : c->p;
    if (servei_dq_push_front(&I->wait, cid))
        servei_oom(f);
}

/* Blocks for the decoding chains that grow into a new one this
 * iteration; when none is free, the newest chains are preempted. */
void servei_grow(fleet *f, int64_t i, double now)
{
    inst *I = &f->in[i];
    while (I->cross.n > 0 && I->cross.a[0].key <= I->it) {
        hent e = servei_heap_pop(&I->cross);
        chain *c = &f->ch[e.seq];
        if (c->gen != e.gen || c->state != CH_DECODE)
            continue;
        int64_t need = servei_own_needed(f, c, I->it + c->jbase) - c->own;
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
            servei_heap_push(&I->cross, (hent){.key = j - c->jbase, .seq = e.seq, .gen = c->gen}))
            servei_oom(f);
    }
}
