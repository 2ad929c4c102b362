/* serve disaggregation: prefill and decode pools. A chain prefilled on a
 * prefill instance parks until a decode instance pulls it, then its KV
 * cache moves over the network, one transfer at a time on each end's link.
 * See serve_int.h. */
#include <assert.h>
#include <math.h>

#include "serve/serve_int.h"

/* A prefill instance's chain waits, prefilled, for a decode instance. */
void servei_park(fleet *f, uint32_t cid)
{
    chain *c = &f->ch[cid];
    servei_chain_to(c, CH_PARKED);
    if (servei_dq_push_back(&f->parked, cid))
        servei_oom(f);
    servei_wake_one(f, 1);
}

/* ---- moving a prefilled chain ---- */

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
        servei_spawn_siblings(f, cid, i);
    c = &f->ch[cid];
    if (c->steps == 0) {
        servei_chain_done(f, i, cid, now);
    } else {
        servei_chain_to(c, CH_READY);
        if (servei_dq_push_front(&D->ready, cid))
            servei_oom(f);
    }
    servei_kick(f, src);
    servei_kick(f, i);
}

void servei_pull_parked(fleet *f, int64_t i, double now)
{
    inst *I = &f->in[i];
    while (f->parked.n > 0 && servei_room(f, I) && !f->failed) {
        uint32_t cid = servei_dq_front(&f->parked);
        chain *c = &f->ch[cid];
        rqst *q = &f->rq[c->rq];
        int64_t base_src = c->base;
        c->base = q->hit + (q->chains > 1 ? q->shared : 0); /* as it will be here */
        int ok = !servei_over_target(f, I, c) && servei_admit_ok(f, I, c);
        c->base = base_src;
        if (!ok)
            break;
        /* Here the chain's base is the instance's cached prefix plus the
         * request's shared blocks, which this instance now holds. */
        int64_t shared = q->chains > 1 ? q->shared : 0;
        int64_t total = kvc_blocks_for(servei_kv_after(f, c, 0), f->bs) - q->hit;
        if (!kvc_alloc(&I->kv, total, now))
            break;
        servei_dq_pop_front(&f->parked);
        c->own_src = c->own;
        c->src = c->inst;
        c->inst = (int32_t)i;
        c->base = q->hit + shared;
        c->own = total - shared;
        servei_chain_to(c, CH_MOVING);
        servei_uncharge(f, c);
        servei_charge(f, i, c);
        if (shared > 0)
            q->shared_inst = (int32_t)i;
        I->incoming++;
        I->incoming_ctx += (double)c->p;
        /* Each end moves its GPUs' share over their links, the instance's
         * links one FIFO: the move takes what the slower end needs. */
        inst *S = &f->in[c->src];
        const layout *LS = servei_lay(f, S), *LD = servei_lay(f, I);
        double tokens = (double)(c->p - q->hit * f->bs);
        double send_s = tokens * LS->kv_B_per_token_per_gpu / (double)LS->dp;
        double recv_s = tokens * LD->kv_B_per_token_per_gpu / (double)LD->dp;
        double t0 = fmax(now, fmax(S->link_free_s, I->link_free_s));
        double t1 = t0 + f->cfg->kv_link_latency_s + fmax(send_s, recv_s) / f->cfg->kv_link_Bps;
        S->link_free_s = I->link_free_s = t1;
        sim_payload pl = {.u64 = {cid, c->gen}};
        sim_at_plus_s(f->s, 0, t1, moved, f, pl);
    }
}
