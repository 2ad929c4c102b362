/* serve: see serve.h. The fleet's run: its setup, the pools of chains and
 * requests, waking instances, the iteration (admit, run one step, finish
 * what is done) and arrivals. The pieces share serve_int.h: admission and
 * prefill scheduling in serve_admit.c, the decode set's KV cache and
 * preemption in serve_kv.c, disaggregation in serve_disagg.c, records and
 * results in serve_stats.c. */
#include "serve/serve.h"

#include <math.h>
#include <stdlib.h>

#include "serve/serve_int.h"

static void start(fleet *f, int64_t i);
static void iteration_end(sim *s, void *ctx, sim_payload p);
static void next_arrival(fleet *f, double now);
static void arrival(sim *s, void *ctx, sim_payload p);

static void fail(fleet *f, int rc, const char *msg)
{
    if (!f->failed)
        ms_errf(f->err, rc, "%s", msg);
    f->failed = 1;
    sim_stop(f->s);
}

void servei_oom(fleet *f)
{
    fail(f, MS_ENOMEM, "out of memory simulating the serving fleet");
}

uint32_t servei_chain_new(fleet *f)
{
    uint32_t id;
    chain *a = pool_get(&f->ch_pool, f->ch, 1024, sizeof *a, &id);
    if (!a) {
        servei_oom(f);
        return NONE;
    }
    f->ch = a;
    /* A fresh slot is zero, a reused one keeps the gen its release left. */
    uint32_t gen = a[id].gen + 1;
    a[id] = (chain){.gen = gen, .prev = NONE, .next = NONE, .src = -1, .exp_inst = -1};
    return id;
}

void servei_chain_release(fleet *f, uint32_t id)
{
    servei_chain_to(&f->ch[id], CH_FREE);
    f->ch[id].gen++;
    pool_put(&f->ch_pool, id);
}

static uint32_t rq_new(fleet *f)
{
    uint32_t id;
    rqst *a = pool_get(&f->rq_pool, f->rq, 1024, sizeof *a, &id);
    if (!a) {
        servei_oom(f);
        return NONE;
    }
    f->rq = a;
    a[id] = (rqst){.shared_inst = -1, .inst = -1};
    return id;
}

void servei_rq_release(fleet *f, uint32_t id)
{
    free(f->rq[id].chain_out);
    f->rq[id].chain_out = NULL; /* fleet_free frees every slot's */
    pool_put(&f->rq_pool, id);
}

/* ---- waking instances ---- */

static int can_take(const fleet *f, const inst *I)
{
    return servei_room(f, I) && kvc_free_blocks(&I->kv) > servei_lay(f, I)->watermark;
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

void servei_kick(fleet *f, int64_t i)
{
    if (f->in[i].idle && !f->in[i].busy)
        start(f, i);
}

/* Wakes one idle instance of the kind that can take work. */
void servei_wake_one(fleet *f, int decode)
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

/* ---- best-of-N ---- */

void servei_spawn_siblings(fleet *f, uint32_t cid, int64_t i)
{
    chain *c0 = &f->ch[cid];
    uint32_t rid = c0->rq;
    int64_t n = f->rq[rid].chains;
    for (int64_t k = 1; k < n && !f->failed; k++) {
        uint32_t sid = servei_chain_new(f);
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
        servei_chain_to(s, CH_READY);
        if (servei_dq_push_back(&f->in[i].ready, sid))
            servei_oom(f);
    }
}

/* ---- finishing ---- */

void servei_chain_done(fleet *f, int64_t i, uint32_t cid, double now)
{
    inst *I = &f->in[i];
    chain *c = &f->ch[cid];
    if (c->state == CH_DECODE)
        servei_leave_decode(f, I, cid);
    kvc_free(&I->kv, c->own, now);
    servei_uncharge(f, c);
    I->out_tok += (double)c->out;
    uint32_t rid = c->rq;
    rqst *q = &f->rq[rid];
    q->out_total += c->out;
    servei_chain_release(f, cid);
    if (--q->chains_left > 0)
        return;
    if (q->shared > 0 && q->shared_inst >= 0)
        kvc_free(&f->in[q->shared_inst].kv, q->shared, now);
    servei_finish_request(f, rid, now);
    if (f->cfg->concurrency > 0)
        next_arrival(f, now);
}

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
        servei_watch(f, q->first_s - q->arrival_s, f->cfg->stop_p99_ttft_s, &f->late_ttft, now);
        I->prompt_tok += (double)q->input;
        I->hit_tok += (double)q->loaded;
    }
    if (c->steps == 0 && q->chains == 1) { /* one token: the prefill made it */
        servei_chain_done(f, i, cid, now);
        return;
    }
    if (I->kind == INST_PREFILL) {
        servei_park(f, cid);
        return;
    }
    if (first && q->chains > 1) {
        /* The full prompt blocks become the request's, shared. */
        c->own -= q->shared;
        c->base += q->shared;
        q->shared_inst = (int32_t)i;
        servei_spawn_siblings(f, cid, i);
        c = &f->ch[cid]; /* the pool may have moved */
    }
    if (c->steps == 0) {
        servei_chain_done(f, i, cid, now);
        return;
    }
    servei_chain_to(c, CH_READY);
    if (servei_dq_push_front(&I->ready, cid))
        servei_oom(f);
}

/* ---- the iteration ---- */

static void start(fleet *f, int64_t i)
{
    inst *I = &f->in[i];
    if (I->busy || f->failed)
        return;
    const layout *L = servei_lay(f, I);
    double now = sim_time_to_s(sim_now(f->s));
    I->idle = 0;
    servei_grow(f, i, now);
    servei_join_ready(f, i, now);
    if (I->kind == INST_DECODE)
        servei_pull_parked(f, i, now);
    int64_t cap = servei_rank_budget(f, I), budget = cap * L->dp;
    if (I->kind != INST_DECODE || I->wait.n > 0 || I->npf > 0)
        servei_schedule_prefill(f, i, &budget, cap, now);
    if (f->failed)
        return;
    icost_batch b = {.decode_seqs = (double)I->n_dec, .decode_ctx = servei_ctx_now(f, I)};
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
    icost_time it = icost_eval(L->ic, &b);
    double t = fmax(it.time_s, I->load_s);
    I->load_s = 0;
    I->cur_memory_s = it.hbm_bound_s;
    I->cur_matrix_s = it.compute_s - it.hbm_bound_s;
    I->cur_comm_s = t - it.compute_s + I->stall_s;
    /* Decode is the base load; prompt chunks riding on a decode step cost
     * what they add to it (the saving chunked prefill is built for). */
    I->frac_prefill = b.decode_seqs == 0 ? 1 : 0;
    if (b.decode_seqs > 0 && b.prefill_tokens > 0) {
        icost_batch bd = {.decode_seqs = b.decode_seqs, .decode_ctx = b.decode_ctx};
        I->frac_prefill = fmax(0, t - icost_eval(L->ic, &bd).time_s) / t;
    }
    if (I->n_dec > I->max_dec)
        I->max_dec = I->n_dec;
    t += I->stall_s;
    I->stall_s = 0;
    I->busy = 1;
    I->t_start_s = now;
    sim_after_s(f->s, t, iteration_end, f, (sim_payload){.i64 = {i, 0}});
}

static void iteration_end(sim *s, void *ctx, sim_payload p)
{
    fleet *f = ctx;
    int64_t i = p.i64[0];
    inst *I = &f->in[i];
    double now = sim_time_to_s(sim_now(s));
    int64_t gpus = servei_lay(f, I)->gpus;
    double dt = now - I->t_start_s, g = (double)gpus;
    I->busy = 0;
    I->busy_s += dt;
    I->matrix_s += I->cur_matrix_s;
    I->memory_s += I->cur_memory_s;
    I->comm_s += I->cur_comm_s;
    I->gpu_s_in += dt * g * I->frac_prefill;
    I->gpu_s_out += dt * g * (1 - I->frac_prefill);
    if (I->kind == INST_DECODE && f->max_batch > 0 &&
        (double)I->n_dec >= SERVE_FULL_BATCH * (double)f->max_batch) {
        I->full_tok += (double)I->n_dec * f->r;
        I->full_s += dt;
    }
    f->res->iterations++;
    if (f->cfg->on_iteration)
        f->cfg->on_iteration(f->cfg->iter_ctx, i, gpus, I->t_start_s, dt, I->cur_matrix_s,
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
        hent e = servei_heap_pop(&I->fin);
        chain *c = &f->ch[e.seq];
        if (c->gen != e.gen || c->state != CH_DECODE)
            continue;
        servei_chain_done(f, i, e.seq, now);
    }
    if (++f->ticks % 4096 == 0 && f->cfg->progress)
        f->cfg->progress(f->cfg->progress_ctx, now, f->done, f->total);
    start(f, i);
}

/* ---- arrivals ---- */

static uint32_t admit_req(fleet *f, const req *r, double arrival_s)
{
    if (f->cfg->shared_prefix > 0 && r->input_tokens <= f->cfg->shared_prefix) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "request %lld has a prompt of %lld tokens, not longer than --shared-prefix %lld: "
                 "every prompt starts with the shared prefix and adds to it",
                 (long long)f->next_id + 1, (long long)r->input_tokens,
                 (long long)f->cfg->shared_prefix);
        fail(f, MS_EINVAL, msg);
        return NONE;
    }
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
    if (cfg->cache_hit > 0) { /* the last token is always computed, for its logits */
        int64_t cached = (int64_t)floor(cfg->cache_hit * (double)q->input);
        cached = cached < q->input - 1 ? cached : q->input - 1;
        q->loaded = cached > q->hit * f->bs ? cached - q->hit * f->bs : 0;
    }
    if (q->chains > 1) {
        q->shared = q->input / f->bs - q->hit;
        q->chain_out = malloc((size_t)q->chains * sizeof *q->chain_out);
        if (!q->chain_out) {
            servei_oom(f);
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

uint32_t servei_queue_front(fleet *f)
{
    if (f->queue.n > 0)
        return servei_dq_front(&f->queue);
    if (!f->at_zero || f->stream_done)
        return NONE;
    req r;
    if (!reqs_next(f->stream, &r)) {
        f->stream_done = 1;
        return NONE;
    }
    uint32_t rid = admit_req(f, &r, 0);
    if (rid == NONE || servei_dq_push_back(&f->queue, rid)) {
        servei_oom(f);
        return NONE;
    }
    return rid;
}

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
    sim_at_plus_s(f->s, 0, t, arrival, f, (sim_payload){.u64 = {rid, 0}});
}

static void arrival(sim *s, void *ctx, sim_payload p)
{
    fleet *f = ctx;
    uint32_t rid = (uint32_t)p.u64[0];
    if (servei_dq_push_back(&f->queue, rid)) {
        servei_oom(f);
        return;
    }
    if (f->cfg->concurrency == 0)
        next_arrival(f, sim_time_to_s(sim_now(s)));
    servei_wake_one(f, 0);
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

/* ---- setup ---- */

icost_config serve_prefill_par(const serve_config *c)
{
    icost_config p = c->par;
    if (c->prefill_tp > 0)
        p.tp = c->prefill_tp;
    if (c->prefill_dp > 0)
        p.dp = c->prefill_dp;
    if (c->prefill_ep > 0)
        p.ep = c->prefill_ep;
    return p;
}

/* The fleet's GPUs against its pools: every instance whole, no pool empty. */
static int check_pools(const serve_config *c, ms_err *err)
{
    if (c->gpus < 1)
        return ms_errf(err, MS_EUSAGE, "--gpus must be at least 1, got %lld", (long long)c->gpus);
    if (c->prefill_tp < 0 || c->prefill_dp < 0 || c->prefill_ep < 0)
        return ms_errf(err, MS_EUSAGE,
                       "--prefill-tp, --prefill-dp and --prefill-ep: expected >= 1");
    int own = c->prefill_tp > 0 || c->prefill_dp > 0 || c->prefill_ep > 0;
    if (own && c->prefill_instances == 0)
        return ms_errf(err, MS_EUSAGE,
                       "--prefill-tp, --prefill-dp and --prefill-ep lay out a prefill pool; give "
                       "its GPUs with --prefill-gpus");
    int64_t g = icost_config_gpus(&c->par);
    icost_config pp = serve_prefill_par(c);
    int64_t pg = icost_config_gpus(&pp), pgpus = c->prefill_instances * pg;
    if (c->par.pp > 1 && (c->prefill_instances > 0 || own))
        return ms_errf(err, MS_EUSAGE,
                       "--pp %lld: pipeline stages are modelled in instances that prefill and "
                       "decode alike, not with a disaggregated prefill pool",
                       (long long)c->par.pp);
    if (g < 1 || pg < 1)
        return ms_errf(err, MS_EUSAGE, "--tp and --dp: expected >= 1");
    if (c->prefill_instances < 0 || pgpus >= c->gpus)
        return ms_errf(err, MS_EINVAL,
                       "the prefill pool's %lld GPUs (%lld instances of %lld) leave none of the "
                       "fleet's %lld for decode",
                       (long long)pgpus, (long long)c->prefill_instances, (long long)pg,
                       (long long)c->gpus);
    if ((c->gpus - pgpus) % g && c->prefill_instances > 0)
        return ms_errf(err, MS_EUSAGE,
                       "--gpus %lld less the prefill pool's %lld must be a multiple of a decode "
                       "instance's GPUs, --tp x --dp = %lld",
                       (long long)c->gpus, (long long)pgpus, (long long)g);
    if (c->gpus % g && c->prefill_instances == 0)
        return ms_errf(err, MS_EUSAGE,
                       "--gpus %lld must be a multiple of an instance's GPUs, --tp x --dp%s = "
                       "%lld",
                       (long long)c->gpus, c->par.pp > 1 ? " x --pp" : "", (long long)g);
    return MS_OK;
}

static int check_config(const serve_config *c, ms_err *err)
{
    int rc = check_pools(c, err);
    if (rc)
        return rc;
    if (!(c->cache_hit >= 0 && c->cache_hit < 1))
        return ms_errf(err, MS_EUSAGE,
                       "--cache-hit: expected the share of prompt tokens a prefix cache holds, in "
                       "[0, 1), got %g",
                       c->cache_hit);
    if (c->cache_hit > 0 && !(c->cache_load_Bps > 0 && isfinite(c->cache_load_Bps)))
        return ms_errf(err, MS_EUSAGE,
                       "--cache-hit needs --cache-load-GBps, what a GPU reads the cache's KV at "
                       "(its host link for host memory, its share of the storage's read "
                       "bandwidth for disk)");
    if (c->prefill_instances > 0 && !(c->kv_link_Bps > 0))
        return ms_errf(err, MS_EUSAGE,
                       "--disaggregate needs a network to move KV caches over: the chip has no "
                       "NIC figure; give --nic-Gbps");
    if (c->block_tokens < 1 || c->block_tokens > 4096)
        return ms_errf(err, MS_EUSAGE, "--block-tokens: expected 1 to 4096, got %lld",
                       (long long)c->block_tokens);
    if (c->max_batch < 0)
        return ms_errf(err, MS_EUSAGE, "--max-batch: expected >= 1 (or 0 for no limit), got %lld",
                       (long long)c->max_batch);
    if (c->max_tokens < 1)
        return ms_errf(err, MS_EUSAGE, "--max-tokens: expected >= 1, got %lld",
                       (long long)c->max_tokens);
    if (!(c->mem_reserve >= 0 && c->mem_reserve < 1))
        return ms_errf(err, MS_EUSAGE, "--mem-reserve: expected a fraction in [0, 1), got %g",
                       c->mem_reserve);
    if (c->preempt == SERVE_SWAP && !(c->swap_Bps > 0))
        return ms_errf(err, MS_EUSAGE,
                       "--preempt swap needs --swap-GBps, the host link per GPU (64 for PCIe "
                       "Gen5 x16 per direction)");
    if (c->shared_prefix < 0)
        return ms_errf(err, MS_EUSAGE, "--shared-prefix: expected >= 0 tokens, got %lld",
                       (long long)c->shared_prefix);
    if (c->best_of < 1 || c->best_of > 1000000)
        return ms_errf(err, MS_EUSAGE, "--best-of: expected 1 to 1000000, got %lld",
                       (long long)c->best_of);
    if (c->mtp_depth < 0 || c->mtp_depth > SERVE_MAX_DRAFT)
        return ms_errf(err, MS_EUSAGE, "--mtp-accept: expected 1 to %d rates, got %d",
                       SERVE_MAX_DRAFT, c->mtp_depth);
    for (int i = 0; i < c->mtp_depth; i++)
        if (!(c->mtp_accept[i] >= 0 && c->mtp_accept[i] <= 1))
            return ms_errf(err, MS_EUSAGE,
                           "--mtp-accept: expected rates in [0, 1], got %g for draft %d",
                           c->mtp_accept[i], i + 1);
    if (c->step_target_s < 0 || !isfinite(c->step_target_s))
        return ms_errf(err, MS_EUSAGE, "--tpot-target: expected seconds >= 0, got %g",
                       c->step_target_s);
    if (!(c->stop_p99_ttft_s >= 0 && c->stop_p99_ttft_s < INFINITY) ||
        !(c->stop_p99_tpot_s >= 0 && c->stop_p99_tpot_s < INFINITY))
        return ms_errf(err, MS_EINVAL, "a search's p99 limits: expected >= 0 s and finite");
    if ((c->stop_p99_ttft_s > 0 || c->stop_p99_tpot_s > 0) && c->concurrency > 0)
        return ms_errf(err, MS_EINVAL,
                       "a search's p99 limits stop open-loop runs only, not --concurrency");
    if (c->concurrency < 0)
        return ms_errf(err, MS_EUSAGE, "--concurrency: expected >= 1, got %lld",
                       (long long)c->concurrency);
    return MS_OK;
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
    pool_free(&f->ch_pool);
    for (size_t k = 0; f->rq && k < f->rq_pool.n; k++)
        free(f->rq[k].chain_out);
    free(f->rq);
    pool_free(&f->rq_pool);
    free(f->queue.a);
    free(f->parked.a);
    free(f->idle_mixed);
    free(f->idle_decode);
    free(f->ttft.a);
    free(f->tpot.a);
    free(f->e2e.a);
    rng_free(f->chain_rng);
    reqs_free(f->stream);
    icost_free(f->lay[0].ic);
    icost_free(f->lay[1].ic);
    sim_free(f->s);
}

/* A pool's layout: its operations and what its GPUs hold. The KV cache
 * is what HBM holds beyond the reserve and the weights; prefill names the
 * pool's own options in the message when the model does not fit. */
static int layout_new(const serve_config *cfg, const icost_config *par, const topo *t, int64_t bs,
                      int prefill, layout *L, ms_err *err)
{
    int rc = icost_new(cfg->m, cfg->c, cfg->cal, par, t, cfg->cp, &L->ic, err);
    if (rc)
        return rc;
    L->tp = par->tp;
    L->dp = par->dp;
    L->ep = par->ep;
    L->gpus = icost_config_gpus(par);
    double w = icost_weights_B_per_gpu(L->ic), hbm = cfg->c->hbm_bytes;
    double free_B = hbm * (1 - cfg->mem_reserve) - w;
    double per_tok = icost_kv_B_per_token_per_gpu(L->ic);
    L->weights_B = w;
    L->kv_B_per_token_per_gpu = per_tok;
    L->kv_free_B_per_gpu = free_B;
    L->blocks = free_B > 0 ? (int64_t)floor(free_B / (per_tok * (double)bs)) * par->dp : 0;
    if (L->blocks <= cfg->shared_prefix / bs) {
        const char *o = prefill ? "--prefill-" : "--";
        return ms_errf(err, MS_EINVAL,
                       "the model does not fit: %s needs %.1f GB of weights per GPU at %stp %lld "
                       "%sdp %lld %sep %lld%s, and each %s holds %.1f GB, of which %.0f%% is kept "
                       "back (--mem-reserve), leaving %.1f GB for KV cache (%.0f KB a token); use "
                       "more GPUs per instance, a lower --precision or a bigger chip",
                       cfg->m->name, w / 1e9, o, (long long)par->tp, o, (long long)par->dp, o,
                       (long long)par->ep, par->pp > 1 ? " with --pp" : "", cfg->c->name, hbm / 1e9,
                       cfg->mem_reserve * 100, free_B / 1e9, per_tok / 1e3);
    }
    L->watermark = (int64_t)floor(0.01 * (double)L->blocks);
    return MS_OK;
}

double serve_tokens_per_step(const double *accept, int depth)
{
    double r = 1, all = 1;
    for (int i = 0; i < depth; i++)
        r += all *= accept[i];
    return r;
}

/* Requests a stream that runs until a duration will give: it is drawn
 * through once. */
static int count_stream(const reqs_spec *spec, int64_t *n, ms_err *err)
{
    reqs *r;
    int rc = reqs_new(spec, &r, err);
    if (rc)
        return rc;
    req q;
    for (*n = 0; reqs_next(r, &q);)
        ++*n;
    reqs_free(r);
    return MS_OK;
}

int serve_run(const serve_config *cfg, serve_result *out, ms_err *err)
{
    *out = (serve_result){0};
    int rc = check_config(cfg, err);
    if (rc)
        return rc;
    fleet f = {.cfg = cfg, .err = err, .res = out};
    icost_config par = cfg->par, ppar = serve_prefill_par(cfg);
    par.mtp_draft = ppar.mtp_draft = cfg->mtp_depth;
    f.r = serve_tokens_per_step(cfg->mtp_accept, cfg->mtp_depth);
    f.qpk = 1 + par.mtp_draft;
    f.bs = cfg->block_tokens;
    int64_t stages = icost_config_stages(&par);
    f.max_tokens = cfg->max_tokens * stages;
    f.max_batch = cfg->max_batch * stages;
    int disagg = cfg->prefill_instances > 0;
    int64_t decode_gpus = cfg->gpus - cfg->prefill_instances * icost_config_gpus(&ppar);
    f.ninst = cfg->prefill_instances + decode_gpus / icost_config_gpus(&par);
    const topo *ptopo =
        cfg->prefill_tp > 0 || cfg->prefill_dp > 0 ? cfg->prefill_topo : cfg->instance_topo;
    if ((rc = layout_new(cfg, disagg ? &ppar : &par, disagg ? ptopo : cfg->instance_topo, f.bs,
                         disagg, &f.lay[0], err)) ||
        (disagg && (rc = layout_new(cfg, &par, cfg->instance_topo, f.bs, 0, &f.lay[1], err))))
        goto out;
    const layout *D = &f.lay[disagg];
    out->weights_B_per_gpu = D->weights_B;
    out->kv_B_per_token_per_gpu = D->kv_B_per_token_per_gpu;
    out->kv_free_B_per_gpu = D->kv_free_B_per_gpu;
    out->kv_capacity_tokens = D->blocks * f.bs;
    /* Both pools' kinds at a datasheet peak, each named once. */
    for (int k = 0; k <= disagg; k++) {
        char list[ICOST_UNCAL_CAP];
        snprintf(list, sizeof list, "%s", icost_uncalibrated(f.lay[k].ic));
        for (char *save = NULL, *it = strtok_r(list, ";", &save); it;
             it = strtok_r(NULL, ";", &save)) {
            it += *it == ' ';
            calib_peak_list_add(out->uncalibrated, sizeof out->uncalibrated, it);
        }
    }
    f.pinned = cfg->shared_prefix / f.bs;
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
        kvc_init(&I->kv, servei_lay(&f, I)->blocks);
        kvc_alloc(&I->kv, f.pinned, 0);
        I->idle = 1;
    }
    f.total = reqs_total(f.stream);
    if (cfg->stop_p99_ttft_s > 0 || cfg->stop_p99_tpot_s > 0) {
        int64_t n = f.total;
        if (n < 0 && (rc = count_stream(cfg->stream, &n, err)))
            goto out;
        f.stop_count = serve_p99_over_count(n);
    }
    f.mean_out = reqs_mean_output(f.stream);
    f.biased_mid_out = f.mean_out > 0 ? reqs_mean_output_square(f.stream) / (2 * f.mean_out) : 0;
    f.at_zero = cfg->stream->kind == REQS_AT_ZERO && cfg->concurrency == 0;
    if (f.at_zero) {
        sim_at(f.s, 0, kickoff, &f, (sim_payload){{0}});
    } else if (cfg->concurrency > 0) {
        /* At most one request a slot, and no more than the stream holds:
         * a concurrency above the request count must not spin. */
        for (int64_t k = 0; k < cfg->concurrency && !f.stream_done && !f.failed; k++)
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
    if (f.done < f.arrived && !out->stopped) {
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
    servei_collect(&f);
    if (cfg->progress)
        cfg->progress(cfg->progress_ctx, f.last_done_s, f.done, f.total);
out:
    fleet_free(&f);
    return rc;
}
