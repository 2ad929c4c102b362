/* serve admission: which chains an instance lets in and how much of each
 * prompt it prefills this iteration. Planned admission counts every
 * admitted chain at its expected end (charge, uncharge); a time-per-output-
 * token target caps the batch and sizes prompt chunks. See serve_int.h. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "serve/serve_int.h"

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

void servei_charge(fleet *f, int64_t i, chain *c)
{
    assert(c->exp_inst < 0);
    c->exp = expected_blocks(f, c, f->in[i].kind == INST_PREFILL);
    c->exp_ctx = expected_mid_ctx(f, c);
    c->exp_inst = (int32_t)i;
    f->in[i].exp_blocks += c->exp;
    f->in[i].exp_n++;
    f->in[i].exp_ctx += c->exp_ctx;
}

void servei_uncharge(fleet *f, chain *c)
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
int servei_admit_ok(const fleet *f, const inst *I, const chain *c)
{
    if (f->cfg->admission == SERVE_ADMIT_GREEDY || I->n_dec + (int64_t)I->npf + I->incoming == 0)
        return 1;
    int64_t room = I->kv.capacity - f->pinned - servei_lay(f, I)->watermark;
    return I->exp_blocks + expected_blocks(f, c, I->kind == INST_PREFILL) <= room;
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
                          .decode_ctx = servei_ctx_now(f, I) + (double)I->pf_target_sum +
                                        I->incoming_ctx +
                                        n * (double)servei_kv_after(f, c, c->jdone)};
    }
    return icost_eval(servei_lay(f, I)->ic, &b).time_s / f->r > target;
}

int servei_over_target(const fleet *f, const inst *I, const chain *c)
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
int64_t servei_rank_budget(const fleet *f, const inst *I)
{
    const layout *L = servei_lay(f, I);
    int64_t budget = f->max_tokens - (int64_t)ceil((double)I->n_dec * f->qpk / (double)L->dp);
    double target = f->cfg->step_target_s;
    if (!(target > 0) || I->n_dec == 0 || budget <= 0)
        return budget;
    icost_batch b = {.decode_seqs = (double)I->n_dec, .decode_ctx = servei_ctx_now(f, I)};
    double t_dec = icost_eval(L->ic, &b).time_s;
    b.prefill_tokens = 1024;
    b.prefill_seqs = 1;
    b.prefill_keys = 1024.0 * 1025 / 2;
    double per_token = (icost_eval(L->ic, &b).time_s - t_dec) / 1024;
    double room_s = target * f->r - t_dec;
    /* Compared as doubles first: a target of 1e30 s must not overflow. */
    double fit_tokens = per_token > 0 && room_s > 0 ? floor(room_s / per_token) : 0;
    int64_t fit = fit_tokens < (double)budget ? (int64_t)fit_tokens : budget;
    if (fit < f->bs)
        fit = f->bs;
    return fit < budget ? fit : budget;
}

/* Chains ready to decode (prefilled, siblings, swapped out) join. */
void servei_join_ready(fleet *f, int64_t i, double now)
{
    inst *I = &f->in[i];
    while (I->ready.n > 0 && !f->failed) {
        uint32_t cid = servei_dq_front(&I->ready);
        chain *c = &f->ch[cid];
        int fresh = c->own == 0; /* not yet counted in the batch */
        if (fresh &&
            (!servei_room(f, I) || servei_over_target(f, I, c) || !servei_admit_ok(f, I, c)))
            break;
        int64_t need = servei_own_needed(f, c, c->jdone) - c->own;
        if (need > 0 && !kvc_alloc(&I->kv, need, now))
            break;
        servei_dq_pop_front(&I->ready);
        if (c->exp_inst < 0)
            servei_charge(f, i, c);
        if (need > 0)
            c->own += need;
        if (c->swapped) {
            double B = (double)(c->swap_own * f->bs) * servei_lay(f, I)->kv_B_per_token_per_gpu;
            I->stall_s += B / f->cfg->swap_Bps;
            c->swapped = 0;
        }
        servei_join_decode(f, i, cid);
    }
}

/* ---- prefill ---- */

static int pf_push(fleet *f, inst *I, uint32_t cid)
{
    uint32_t *a = vec_grow(I->pf, &I->cappf, I->npf + 1, 16, sizeof *a);
    if (!a) {
        servei_oom(f);
        return -1;
    }
    I->pf = a;
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

static void make_chain0(fleet *f, uint32_t rid, int64_t i, uint32_t *out)
{
    rqst *q = &f->rq[rid];
    *out = NONE;
    uint32_t cid = servei_chain_new(f);
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
    c->pf_done = q->hit * f->bs + q->loaded;
    c->pf_target = q->input;
    servei_chain_to(c, CH_PREFILL);
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
    const layout *L = servei_lay(f, I);
    if (f->cfg->admission == SERVE_ADMIT_GREEDY || L->dp == 1 || I->n_dec == 0 || I->npf > 0)
        return 0;
    int64_t per = kvc_blocks_for(head->input + (int64_t)ceil(f->mean_out), f->bs) - head->hit;
    int64_t room = I->kv.capacity - f->pinned - L->watermark - I->exp_blocks;
    int64_t waiting = (int64_t)f->queue.n + (f->at_zero && !f->stream_done ? L->dp : 0);
    int64_t gang = waiting < L->dp ? waiting : L->dp;
    return (per > 0 && room / per < gang) || over_target_n(f, I, like, (double)gang);
}

void servei_schedule_prefill(fleet *f, int64_t i, int64_t *budget, int64_t cap, double now)
{
    inst *I = &f->in[i];
    const layout *L = servei_lay(f, I);
    for (size_t k = 0; *budget > 0 && k < I->npf; k++) {
        chain *c = &f->ch[I->pf[k]];
        c->chunk = take_chunk(f, I, c, *budget < cap ? *budget : cap, now);
        *budget -= c->chunk;
    }
    /* Chains preempted for recompute, then new requests. */
    while (*budget > 0 && !f->failed && servei_room(f, I) &&
           kvc_free_blocks(&I->kv) > L->watermark) {
        uint32_t cid = NONE;
        if (I->wait.n > 0) {
            chain *c = &f->ch[servei_dq_front(&I->wait)];
            if (servei_over_target(f, I, c) || !servei_admit_ok(f, I, c))
                break;
            cid = servei_dq_pop_front(&I->wait);
            servei_chain_to(&f->ch[cid], CH_PREFILL);
        } else if (I->kind != INST_DECODE) {
            uint32_t rid = servei_queue_front(f);
            if (rid == NONE)
                break;
            rqst *q = &f->rq[rid];
            chain probe = {.p = q->input, .out = q->out0, .base = q->hit};
            if (gang_wait(f, I, q, &probe))
                break;
            servei_dq_pop_front(&f->queue);
            if (request_blocks(f, q) > I->kv.capacity - f->pinned) {
                servei_reject_request(f, rid);
                continue;
            }
            make_chain0(f, rid, i, &cid);
            if (cid == NONE)
                return;
            if (servei_over_target(f, I, &f->ch[cid]) || !servei_admit_ok(f, I, &f->ch[cid])) {
                /* Back to the queue's head, as it was. */
                servei_chain_release(f, cid);
                if (servei_dq_push_front(&f->queue, rid))
                    servei_oom(f);
                break;
            }
            /* Its cache hits load over the instance's GPUs' links. */
            I->load_s += (double)f->rq[rid].loaded * L->kv_B_per_token_per_gpu /
                         (f->cfg->cache_load_Bps * (double)L->dp);
        } else {
            break;
        }
        chain *c = &f->ch[cid];
        servei_charge(f, i, c);
        c->chunk = take_chunk(f, I, c, *budget < cap ? *budget : cap, now);
        *budget -= c->chunk;
        if (pf_push(f, I, cid))
            return;
    }
}
