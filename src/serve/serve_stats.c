/* serve stats: each request's record as it ends (or is rejected), and the
 * run's results: latency percentiles, throughput, KV cache use and GPU time
 * per pool. See serve_int.h. */
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>

#include "core/quant.h"
#include "serve/serve_int.h"

static int dv_push(dvec *v, double x)
{
    double *a = vec_grow(v->a, &v->cap, v->n + 1, 1024, sizeof *a);
    if (!a)
        return -1;
    v->a = a;
    v->a[v->n++] = x;
    return 0;
}

/* ---- records ---- */

int64_t serve_p99_over_count(int64_t n)
{
    if (n <= 1)
        return 1;
    return n - (int64_t)floor(0.99 * (double)(n - 1));
}

static void stop_run(fleet *f, double now)
{
    if (f->res->stopped)
        return;
    f->res->stopped = 1;
    f->res->stopped_s = now;
    sim_stop(f->s);
}

void servei_watch(fleet *f, double value_s, double limit_s, int64_t *late, double now)
{
    /* The margin keeps a value equal to the limit, give or take the
     * rounding of the percentile's interpolation, from stopping a run that
     * meets it. */
    if (f->stop_count == 0 || !(limit_s > 0) || !(value_s > limit_s * (1 + 1e-9)))
        return;
    if (++*late >= f->stop_count)
        stop_run(f, now);
}

void servei_finish_request(fleet *f, uint32_t rid, double now)
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
        servei_oom(f);
        return;
    }
    double tpot_s = q->max_out > 1 ? (now - q->first_s) / (double)(q->max_out - 1) : NAN;
    if (q->max_out > 1 && dv_push(&f->tpot, tpot_s)) {
        servei_oom(f);
        return;
    }
    if (now > f->last_done_s)
        f->last_done_s = now;
    f->done++;
    if (f->cfg->on_record)
        f->cfg->on_record(f->cfg->record_ctx, &rec);
    if (q->max_out > 1)
        servei_watch(f, tpot_s, f->cfg->stop_p99_tpot_s, &f->late_tpot, now);
    servei_rq_release(f, rid);
}

void servei_reject_request(fleet *f, uint32_t rid)
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
    servei_rq_release(f, rid);
    if (f->stop_count > 0) /* a rejection misses every limit */
        stop_run(f, sim_time_to_s(sim_now(f->s)));
}

/* ---- results ---- */

static serve_pcts pcts(dvec *v)
{
    serve_pcts p = {NAN, NAN, NAN, NAN};
    if (v->n == 0)
        return p;
    p.mean = gsl_stats_mean(v->a, 1, v->n); /* before the selections reorder v */
    size_t from = 0;
    p.p50 = quant_at(v->a, v->n, 0.50, &from);
    p.p90 = quant_at(v->a, v->n, 0.90, &from);
    p.p99 = quant_at(v->a, v->n, 0.99, &from);
    return p;
}

void servei_collect(fleet *f)
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
        const layout *L = servei_lay(f, I);
        serve_pool *pl = &r->pool[r->pools == 2 && I->kind == INST_DECODE ? 1 : 0];
        pl->instances++;
        pl->gpus += L->gpus;
        pl->tp = L->tp;
        pl->dp = L->dp;
        pl->ep = L->ep;
        pl->kv_capacity_tokens = L->blocks * f->bs;
        pl->weights_B_per_gpu = L->weights_B;
        pl->input_tokens += I->in_tok;
        pl->output_tokens += I->out_tok;
        pl->prompt_tokens += I->prompt_tok;
        pl->busy_s += I->busy_s;
        pl->busy_gpu_s += I->busy_s * (double)L->gpus;
        pl->matrix_s += I->matrix_s;
        pl->memory_s += I->memory_s;
        pl->comm_s += I->comm_s;
        pl->full_batch_tokens += I->full_tok;
        pl->full_batch_s += I->full_s;
        r->cache_hit_tokens += I->hit_tok;
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
