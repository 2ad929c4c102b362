/* Tests of the serving fleet (src/serve/serve): the KV books balance and
 * never go over capacity, admission and preemption (recompute and swap),
 * a request's latency against decode steps summed by hand from icost,
 * best-of-N, disaggregation (with pools of their own layouts), prefix-
 * cache hits loaded instead of computed, a closed loop, MTP, rejection of requests
 * that can never fit, determinism under a seed, and the errors. */
#include <CUnit/Basic.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/modelfile.h"
#include "net/topo.h"
#include "serve/serve.h"
#include "test_assert.h"
#include "test_domain.h"

static model tiny;

static int setup(void)
{
    char warn[MODELFILE_WARN_MAX];
    ms_err err = {0};
    return modelfile_load("tests/data/models/tiny_mla.json", &tiny, warn, &err);
}

static chip test_chip(void)
{
    chip c = {.name = "X", .family = "x"};
    for (int i = 0; i < MS_PREC_COUNT; i++)
        c.peak_flop_per_s[i] = NAN;
    c.peak_flop_per_s[MS_BF16] = 1e12;
    c.peak_flop_per_s[MS_FP8] = 2e12;
    c.hbm_bw_Bps = 1e11;
    c.hbm_bytes = 80e9;
    return c;
}

static icost_config one_gpu(void)
{
    return (icost_config){
        .tp = 1, .dp = 1, .ep = 1, .weight_prec = MS_BF16, .kv_prec = MS_BF16, .moe_imbalance = 1};
}

/* Sizes the chip's HBM so an instance's cache holds `blocks` blocks of 16
 * (the MTP layer's cache too when mtp). */
static void size_hbm(chip *c, int64_t blocks, int mtp)
{
    icost_config p = one_gpu();
    p.mtp_draft = mtp;
    icost *ic;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny, c, NULL, &p, NULL, NULL, &ic, &err), MS_OK);
    c->hbm_bytes = icost_weights_B_per_gpu(ic) +
                   ((double)blocks + 0.5) * 16 * icost_kv_B_per_token_per_gpu(ic);
    icost_free(ic);
}

typedef struct fixture {
    chip c;
    dist in, out;
    reqs_spec sp;
    serve_config cfg;
} fixture;

static void fixture_init(fixture *f, const char *in_len, const char *out_len, int64_t requests)
{
    ms_err err = {0};
    memset(f, 0, sizeof *f);
    f->c = test_chip();
    CU_ASSERT_EQUAL_FATAL(dist_parse(in_len, "--input-len", ".", &f->in, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(dist_parse(out_len, "--output-len", ".", &f->out, &err), MS_OK);
    f->sp = (reqs_spec){.kind = REQS_AT_ZERO,
                        .input_len = &f->in,
                        .output_len = &f->out,
                        .count = requests,
                        .seed = 1};
    f->cfg = (serve_config){.m = &tiny,
                            .c = &f->c,
                            .par = one_gpu(),
                            .gpus = 2,
                            .block_tokens = 16,
                            .max_tokens = 512,
                            .best_of = 1,
                            .chain_len = &f->out,
                            .stream = &f->sp,
                            .seed = 1};
}

static void fixture_free(fixture *f)
{
    dist_free(&f->in);
    dist_free(&f->out);
}

/* What the records say, gathered by the callback. */
typedef struct tally {
    int64_t n, rejected, out_tokens, chains;
    double sum_ttft, last_done, hash;
    serve_record first;
} tally;

static void count(void *ctx, const serve_record *r)
{
    tally *t = ctx;
    if (t->n == 0)
        t->first = *r;
    t->n++;
    t->rejected += r->rejected;
    t->out_tokens += r->output_tokens;
    t->chains += r->chains;
    if (!r->rejected) {
        t->sum_ttft += r->first_token_s - r->arrival_s;
        t->last_done = fmax(t->last_done, r->done_s);
        t->hash = fmod(t->hash * 31 + r->done_s * 1e6 + (double)r->id, 1e15);
    }
}

static void check_books(const serve_result *r)
{
    CU_ASSERT_EQUAL(r->blocks_allocated - r->blocks_freed, r->blocks_pinned);
    CU_ASSERT_EQUAL(r->over_capacity, 0);
    CU_ASSERT(r->kv_peak_frac <= 1.0);
}

/* A cache of 64 blocks per instance and requests of 100 + 300 tokens (25
 * blocks each): admission packs prompts in, they grow, the newest are
 * preempted and recomputed, and in the end every block comes back. */
static void test_books_and_preemption(void)
{
    for (int swap = 0; swap < 2; swap++) {
        fixture f;
        fixture_init(&f, "fixed:100", "fixed:300", 40);
        size_hbm(&f.c, 64, 0);
        f.cfg.preempt = swap ? SERVE_SWAP : SERVE_RECOMPUTE;
        f.cfg.admission = SERVE_ADMIT_GREEDY;
        f.cfg.swap_Bps = 10e9;
        tally t = {0};
        f.cfg.on_record = count;
        f.cfg.record_ctx = &t;
        serve_result r;
        ms_err err = {0};
        CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
        CU_ASSERT_EQUAL(r.requests, 40);
        CU_ASSERT_EQUAL(t.n, 40);
        CU_ASSERT_EQUAL(t.rejected, 0);
        CU_ASSERT_EQUAL(t.out_tokens, 40 * 300);
        MS_ASSERT_EXACT(r.output_tokens, 40 * 300);
        CU_ASSERT(r.preemptions > 0);
        CU_ASSERT_EQUAL(r.kv_capacity_tokens, 64 * 16);
        CU_ASSERT(r.kv_peak_frac > 0.9);
        CU_ASSERT(r.max_batch_seen >= 2 && r.max_batch_seen <= 64 / 7);
        check_books(&r);
        MS_ASSERT_WITHIN(t.last_done, r.makespan_s, 1e-12);
        fixture_free(&f);
    }
}

/* Planned admission leaves room for growth: the workload that greedy
 * admission preempts runs without a preemption, fewer at a time. */
static void test_planned_admission(void)
{
    fixture f;
    fixture_init(&f, "fixed:100", "fixed:300", 40);
    size_hbm(&f.c, 64, 0);
    serve_result g, p;
    ms_err err = {0};
    f.cfg.admission = SERVE_ADMIT_GREEDY;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &g, &err), MS_OK);
    f.cfg.admission = SERVE_ADMIT_PLANNED;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &p, &err), MS_OK);
    CU_ASSERT(g.preemptions > 0);
    CU_ASSERT_EQUAL(p.preemptions, 0);
    CU_ASSERT_EQUAL(p.requests, 40);
    /* 64 blocks less a 0 watermark hold 2 sequences of 25 blocks at their end. */
    CU_ASSERT_EQUAL(p.max_batch_seen, 2);
    check_books(&p);
    fixture_free(&f);
}

/* Admission stops at --max-batch and the cache's watermark. */
static void test_admission(void)
{
    fixture f;
    fixture_init(&f, "fixed:50", "fixed:100", 30);
    f.cfg.max_batch = 3;
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT_EQUAL(r.max_batch_seen, 3);
    CU_ASSERT_EQUAL(r.preemptions, 0);
    f.cfg.max_batch = 0;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT(r.max_batch_seen > 3);
    /* A closed loop of 2 clients never has more than 2 in flight. */
    f.cfg.concurrency = 2;
    f.cfg.gpus = 1;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT_EQUAL(r.max_batch_seen, 2);
    CU_ASSERT_EQUAL(r.requests, 30);
    check_books(&r);
    fixture_free(&f);
}

/* One request on one GPU: its first token after one prefill iteration,
 * then one decode step per token, each the roofline of its batch and
 * context as icost computes it. */
static void test_latency_by_hand(void)
{
    fixture f;
    fixture_init(&f, "fixed:50", "fixed:20", 1);
    f.cfg.gpus = 1;
    tally t = {0};
    f.cfg.on_record = count;
    f.cfg.record_ctx = &t;
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    icost *ic;
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny, &f.c, NULL, &f.cfg.par, NULL, NULL, &ic, &err), MS_OK);
    icost_batch pre = {.prefill_tokens = 50, .prefill_keys = 50 * 51 / 2.0, .prefill_done = 1};
    double ttft = icost_eval(ic, &pre).time_s, decode = 0;
    for (int j = 0; j < 19; j++) {
        icost_batch b = {.decode_seqs = 1, .decode_ctx = 51 + j};
        decode += icost_eval(ic, &b).time_s;
    }
    CU_ASSERT_EQUAL(t.n, 1);
    MS_ASSERT_WITHIN(t.first.first_token_s, ttft, 1e-11);
    MS_ASSERT_WITHIN(t.first.done_s - t.first.first_token_s, decode, 1e-10);
    MS_ASSERT_WITHIN(r.tpot_s.p50, decode / 19, 1e-11);
    CU_ASSERT_EQUAL(r.iterations, 20);
    MS_ASSERT_WITHIN(r.output_tps, 20 / (ttft + decode), 1e-6);
    /* Where the iterations went: FLOP-bound and HBM-bound work as icost
     * splits each iteration, nothing exposed on one GPU, adding up to the
     * time iterating. */
    double flop_s = 0, hbm_s = 0;
    for (int j = 0; j < 20; j++) {
        icost_batch b = j == 0 ? pre : (icost_batch){.decode_seqs = 1, .decode_ctx = 50 + j};
        icost_time it = icost_eval(ic, &b);
        flop_s += it.compute_s - it.hbm_bound_s;
        hbm_s += it.hbm_bound_s;
    }
    const serve_pool *pl = &r.pool[0];
    MS_ASSERT_WITHIN(pl->matrix_s, flop_s, 1e-12);
    MS_ASSERT_WITHIN(pl->memory_s, hbm_s, 1e-12);
    MS_ASSERT_EXACT(pl->comm_s, 0);
    MS_ASSERT_WITHIN(pl->matrix_s + pl->memory_s + pl->comm_s, pl->busy_s, 1e-12);
    icost_free(ic);
    fixture_free(&f);
}

static void run_poisson(uint64_t seed, serve_result *r, tally *t)
{
    fixture f;
    fixture_init(&f, "lognormal:200:0.8", "lognormal:100:1", 200);
    f.sp.kind = REQS_POISSON;
    f.sp.rate_per_s = 2000;
    f.sp.seed = f.cfg.seed = seed;
    f.cfg.on_record = count;
    f.cfg.record_ctx = t;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, r, &err), MS_OK);
    fixture_free(&f);
}

static void test_determinism(void)
{
    serve_result a, b, c;
    tally ta = {0}, tb = {0}, tc = {0};
    run_poisson(1, &a, &ta);
    run_poisson(1, &b, &tb);
    run_poisson(2, &c, &tc);
    CU_ASSERT_EQUAL(a.requests, 200);
    CU_ASSERT(a.makespan_s == b.makespan_s);
    CU_ASSERT(a.ttft_s.p99 == b.ttft_s.p99 && a.tpot_s.p50 == b.tpot_s.p50);
    CU_ASSERT(ta.hash == tb.hash && ta.out_tokens == tb.out_tokens);
    CU_ASSERT_EQUAL(a.events, b.events);
    CU_ASSERT(a.makespan_s != c.makespan_s);
    CU_ASSERT(ta.out_tokens != tc.out_tokens);
    check_books(&a);
}

/* Best-of-4: one prefill, four chains sharing the prompt's full blocks. */
static void test_best_of(void)
{
    fixture f;
    fixture_init(&f, "fixed:64", "fixed:30", 3);
    f.cfg.best_of = 4;
    f.cfg.gpus = 1;
    tally t = {0};
    f.cfg.on_record = count;
    f.cfg.record_ctx = &t;
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT_EQUAL(r.requests, 3);
    CU_ASSERT_EQUAL(t.out_tokens, 3 * 4 * 30);
    CU_ASSERT_EQUAL(t.chains, 12);
    CU_ASSERT_EQUAL(r.max_batch_seen, 12);
    MS_ASSERT_EXACT(r.pool[0].input_tokens, 3 * 64); /* prefilled once each */
    check_books(&r);
    fixture_free(&f);
}

/* Four GPUs, 40 requests of 200 tokens in and 50 out, prefill_instances
 * of them prefilling and KV caches moving at 1 GB/s. */
static void disagg_init(fixture *f, int64_t prefill_instances)
{
    fixture_init(f, "fixed:200", "fixed:50", 40);
    f->cfg.gpus = 4;
    f->cfg.prefill_instances = prefill_instances;
    f->cfg.kv_link_Bps = 1e9;
    f->cfg.kv_link_latency_s = 1e-5;
}

/* One prefill and three decode instances; the KV moves between them. */
static void test_disaggregation(void)
{
    fixture f;
    disagg_init(&f, 1);
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT_EQUAL(r.requests, 40);
    CU_ASSERT_EQUAL(r.pools, 2);
    CU_ASSERT_EQUAL(r.pool[0].instances, 1);
    CU_ASSERT_EQUAL(r.pool[1].instances, 3);
    MS_ASSERT_EXACT(r.pool[0].input_tokens, 40 * 200);
    MS_ASSERT_EXACT(r.pool[1].input_tokens, 0);
    MS_ASSERT_EXACT(r.pool[1].output_tokens, 40 * 50);
    check_books(&r);
    /* A slower link delays the decode, not the first token. */
    serve_result slow;
    f.cfg.kv_link_Bps = 1e6;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &slow, &err), MS_OK);
    CU_ASSERT(slow.e2e_s.p50 > r.e2e_s.p50);
    MS_ASSERT_WITHIN(slow.ttft_s.p50, r.ttft_s.p50, 1e-12);
    fixture_free(&f);
}

/* Pools of their own layouts: two one-GPU prefill instances feed one
 * decode instance of two data-parallel ranks, whose cache holds more than
 * twice a prefill instance's (each rank its own sequences, and the
 * experts split over both GPUs leave each more room). */
static void test_pool_layouts(void)
{
    fixture f;
    disagg_init(&f, 2);
    f.cfg.par.dp = 2;
    f.cfg.prefill_dp = 1;
    f.cfg.max_batch = 4;
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT_EQUAL(r.requests, 40);
    CU_ASSERT_EQUAL(r.pool[0].instances, 2);
    CU_ASSERT_EQUAL(r.pool[0].gpus, 2);
    CU_ASSERT_EQUAL(r.pool[0].dp, 1);
    CU_ASSERT_EQUAL(r.pool[1].instances, 1);
    CU_ASSERT_EQUAL(r.pool[1].gpus, 2);
    CU_ASSERT_EQUAL(r.pool[1].dp, 2);
    CU_ASSERT(r.pool[1].kv_capacity_tokens > 2 * r.pool[0].kv_capacity_tokens);
    CU_ASSERT(r.pool[1].weights_B_per_gpu < r.pool[0].weights_B_per_gpu);
    CU_ASSERT_EQUAL(r.kv_capacity_tokens, r.pool[1].kv_capacity_tokens);
    MS_ASSERT_EXACT(r.pool[0].input_tokens, 40 * 200);
    MS_ASSERT_EXACT(r.pool[0].prompt_tokens, 40 * 200);
    MS_ASSERT_EXACT(r.pool[1].output_tokens, 40 * 50);
    CU_ASSERT(r.pool[0].busy_gpu_s > 0 && r.pool[0].busy_gpu_s <= 2 * r.makespan_s);
    /* A full batch is all 4 sequences (95% of 4 rounds up to 4), a token
     * each a step: whole batches of tokens, in part of the decode's time. */
    CU_ASSERT(r.pool[1].full_batch_tokens > 0);
    MS_ASSERT_EXACT(fmod(r.pool[1].full_batch_tokens, 4), 0);
    CU_ASSERT(r.pool[1].full_batch_tokens < r.pool[1].output_tokens);
    CU_ASSERT(r.pool[1].full_batch_s > 0 && r.pool[1].full_batch_s < r.pool[1].busy_s);
    MS_ASSERT_EXACT(r.pool[0].full_batch_s, 0); /* prefill instances never count */
    check_books(&r);
    fixture_free(&f);
}

/* Half of a 1,000-token prompt is in a prefix cache: 500 tokens are
 * computed, attending all 1,000 keys, and 500 loaded beside the
 * iteration, which lasts as long as the slower of the two. */
static void test_cache_hits(void)
{
    fixture f;
    fixture_init(&f, "fixed:1000", "fixed:2", 1);
    f.cfg.gpus = 1;
    f.cfg.cache_hit = 0.5;
    f.cfg.cache_load_Bps = 1e15; /* the load hides under the compute */
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    MS_ASSERT_EXACT(r.pool[0].input_tokens, 500);
    MS_ASSERT_EXACT(r.pool[0].prompt_tokens, 1000);
    MS_ASSERT_EXACT(r.cache_hit_tokens, 500);
    icost *ic;
    icost_config par = one_gpu();
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny, &f.c, NULL, &par, NULL, NULL, &ic, &err), MS_OK);
    icost_batch b = {.prefill_tokens = 500,
                     .prefill_seqs = 1,
                     .prefill_keys = 500.0 * 500 + 500.0 * 501 / 2,
                     .prefill_done = 1};
    MS_ASSERT_NEAR(r.ttft_s.p50, icost_eval(ic, &b).time_s, 1e-9);
    /* A slow tier: the first token waits for the load. */
    f.cfg.cache_load_Bps = 1e6;
    double load_s = 500 * icost_kv_B_per_token_per_gpu(ic) / 1e6;
    CU_ASSERT_FATAL(load_s > 10 * icost_eval(ic, &b).time_s);
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    MS_ASSERT_NEAR(r.ttft_s.p50, load_s, 1e-9);
    check_books(&r);
    icost_free(ic);
    fixture_free(&f);
}

/* A 1,000-token prompt at 256 tokens an iteration takes four chunks
 * before its first token; the keys of each chunk count the chunks before. */
static void test_chunked_prefill(void)
{
    fixture f;
    fixture_init(&f, "fixed:1000", "fixed:2", 1);
    f.cfg.gpus = 1;
    f.cfg.max_tokens = 256;
    tally t = {0};
    f.cfg.on_record = count;
    f.cfg.record_ctx = &t;
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    icost *ic;
    CU_ASSERT_EQUAL_FATAL(icost_new(&tiny, &f.c, NULL, &f.cfg.par, NULL, NULL, &ic, &err), MS_OK);
    double ttft = 0;
    for (int k = 0; k < 4; k++) {
        double n = k < 3 ? 256 : 1000 - 3 * 256, done = 256.0 * k;
        icost_batch b = {.prefill_tokens = n,
                         .prefill_seqs = 1,
                         .prefill_keys = n * done + n * (n + 1) / 2,
                         .prefill_done = k == 3};
        ttft += icost_eval(ic, &b).time_s;
    }
    CU_ASSERT_EQUAL(r.iterations, 4 + 1);
    MS_ASSERT_WITHIN(t.first.first_token_s, ttft, 1e-11);
    icost_free(ic);
    fixture_free(&f);
}

/* A shared prefix is cached once per instance: prompts skip its full
 * blocks, which stay pinned. */
static void test_shared_prefix(void)
{
    fixture f;
    fixture_init(&f, "fixed:300", "fixed:10", 20);
    f.cfg.gpus = 2;
    f.cfg.shared_prefix = 100; /* 6 blocks of 16 */
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT_EQUAL(r.requests, 20);
    MS_ASSERT_EXACT(r.pool[0].input_tokens, 20 * (300 - 96));
    MS_ASSERT_EXACT(r.input_tokens, 20 * 300);
    CU_ASSERT_EQUAL(r.blocks_pinned, 2 * 6);
    check_books(&r);
    fixture_free(&f);
}

/* Accepting every draft halves the steps. */
static void test_mtp(void)
{
    fixture f;
    fixture_init(&f, "fixed:20", "fixed:101", 1);
    f.cfg.gpus = 1;
    serve_result a, b;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &a, &err), MS_OK);
    f.cfg.mtp_depth = 1;
    f.cfg.mtp_accept[0] = 1;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &b, &err), MS_OK);
    CU_ASSERT_EQUAL(a.iterations, 1 + 100);
    CU_ASSERT_EQUAL(b.iterations, 1 + 50);
    MS_ASSERT_EXACT(b.output_tokens, a.output_tokens);
    CU_ASSERT(b.e2e_s.p50 < a.e2e_s.p50);
    /* Three drafts a step, all accepted: four tokens a step, 100 / 4 steps;
     * each step runs the module three times. */
    serve_result c;
    f.cfg.mtp_depth = 3;
    f.cfg.mtp_accept[1] = f.cfg.mtp_accept[2] = 1;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &c, &err), MS_OK);
    CU_ASSERT_EQUAL(c.iterations, 1 + 25);
    MS_ASSERT_EXACT(c.output_tokens, a.output_tokens);
    fixture_free(&f);
}

/* Tokens a step by hand: 1 + a1 + a1 a2 + a1 a2 a3. */
static void test_tokens_per_step(void)
{
    double a[] = {0.8, 0.5, 0.25};
    MS_ASSERT_WITHIN(serve_tokens_per_step(a, 0), 1, 1e-15);
    MS_ASSERT_WITHIN(serve_tokens_per_step(a, 1), 1.8, 1e-15);
    MS_ASSERT_WITHIN(serve_tokens_per_step(a, 3), 1 + 0.8 + 0.4 + 0.1, 1e-15);
}

/* A request longer than a whole cache is rejected, not run forever. */
static void test_reject(void)
{
    fixture f;
    fixture_init(&f, "fixed:2000", "fixed:10", 3);
    size_hbm(&f.c, 64, 0);
    tally t = {0};
    f.cfg.on_record = count;
    f.cfg.record_ctx = &t;
    serve_result r;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &r, &err), MS_OK);
    CU_ASSERT_EQUAL(r.rejected, 3);
    CU_ASSERT_EQUAL(r.requests, 0);
    CU_ASSERT_EQUAL(t.rejected, 3);
    fixture_free(&f);
}

/* k values above a limit and n - k at or below it: GSL's p99 is above
 * the limit whenever k reaches serve_p99_over_count(n), so a run stopped
 * there was certain to miss. */
static void test_p99_over_count(void)
{
    CU_ASSERT_EQUAL(serve_p99_over_count(1), 1);
    CU_ASSERT_EQUAL(serve_p99_over_count(2), 2);     /* floor(0.99) = 0 */
    CU_ASSERT_EQUAL(serve_p99_over_count(100), 2);   /* floor(98.01) = 98 */
    CU_ASSERT_EQUAL(serve_p99_over_count(101), 2);   /* floor(99) = 99 */
    CU_ASSERT_EQUAL(serve_p99_over_count(1000), 11); /* floor(989.01) = 989 */
    static double v[3000];
    for (int64_t n = 1; n <= 3000; n += n < 300 ? 1 : 97) {
        int64_t k = serve_p99_over_count(n);
        CU_ASSERT_FATAL(k >= 1 && k <= n);
        /* The worst case for the rule: the rest exactly at the limit, the
         * k over it by as little as can be. */
        for (int64_t i = 0; i < n; i++)
            v[i] = i < n - k ? 1.0 : nextafter(1.0, 2.0);
        gsl_sort(v, 1, (size_t)n);
        CU_ASSERT(gsl_stats_quantile_from_sorted_data(v, 1, (size_t)n, 0.99) > 1.0);
    }
}

/* Trials of a search at rates below and far above what two GPUs serve: a
 * run given the limits stops only if its full run misses them, and stops
 * early past capacity. */
static void test_stop_at_limits(void)
{
    static const double rates[] = {1e3, 2.5e3, 4e3, 1e4, 1e5};
    const double ttft_limit_s = 0.01, tpot_limit_s = 0.002;
    int stopped_runs = 0, met_runs = 0;
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        fixture f;
        fixture_init(&f, "uniform:50:400", "uniform:2:60", 0);
        f.sp.kind = REQS_POISSON;
        f.sp.rate_per_s = rates[i];
        f.sp.duration_s = 2000 / rates[i];
        serve_result full, cut;
        ms_err err = {0};
        CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &full, &err), MS_OK);
        f.cfg.stop_p99_ttft_s = ttft_limit_s;
        f.cfg.stop_p99_tpot_s = tpot_limit_s;
        CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &cut, &err), MS_OK);
        CU_ASSERT_EQUAL(full.stopped, 0);
        int misses = full.ttft_s.p99 > ttft_limit_s || full.tpot_s.p99 > tpot_limit_s;
        if (cut.stopped) {
            stopped_runs++;
            CU_ASSERT(misses);
            CU_ASSERT(cut.requests < full.requests);
            CU_ASSERT(cut.stopped_s < full.makespan_s);
        } else { /* a run not stopped is the full run */
            CU_ASSERT_EQUAL(cut.requests, full.requests);
            CU_ASSERT_DOUBLE_EQUAL(cut.ttft_s.p99, full.ttft_s.p99, 0);
            met_runs += !misses;
        }
        fixture_free(&f);
    }
    CU_ASSERT(stopped_runs >= 1);
    CU_ASSERT(met_runs >= 1);
}

/* Two pipeline stages of one GPU each: one instance of 2 GPUs, which
 * admits max_batch sequences a micro-batch, 2 x 3 in all (two 1-GPU
 * instances without stages admit 3 each), holds half the layers and so
 * twice the tokens a GPU, and pays for the sends between its stages. */
static void test_pipeline(void)
{
    fixture f;
    fixture_init(&f, "fixed:50", "fixed:100", 30);
    topo *t = test_domain(2);
    ms_err err = {0};
    coll_params cp = COLL_PARAMS_IDEAL;
    f.cfg.max_batch = 3;
    serve_result flat, piped;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &flat, &err), MS_OK);
    f.cfg.par.pp = 2;
    f.cfg.instance_topo = t;
    f.cfg.cp = &cp;
    CU_ASSERT_EQUAL_FATAL(serve_run(&f.cfg, &piped, &err), MS_OK);
    CU_ASSERT_EQUAL(flat.max_batch_seen, 3);
    CU_ASSERT_EQUAL(piped.max_batch_seen, 6);
    CU_ASSERT_EQUAL(piped.requests, 30);
    CU_ASSERT(piped.weights_B_per_gpu < flat.weights_B_per_gpu);
    MS_ASSERT_WITHIN(piped.kv_B_per_token_per_gpu, flat.kv_B_per_token_per_gpu / 2, 1e-12);
    CU_ASSERT(piped.kv_capacity_tokens > 2 * flat.kv_capacity_tokens - 2 * 16);
    check_books(&piped);
    /* Not with a prefill pool; and the fleet in whole instances of 2. */
    f.cfg.prefill_instances = 1;
    CU_ASSERT_EQUAL(serve_run(&f.cfg, &piped, &err), MS_EUSAGE);
    CU_ASSERT(strstr(err.msg, "--pp 2: pipeline stages") != NULL);
    f.cfg.prefill_instances = 0;
    f.cfg.gpus = 3;
    CU_ASSERT_EQUAL(serve_run(&f.cfg, &piped, &err), MS_EUSAGE);
    CU_ASSERT(strstr(err.msg, "--tp x --dp x --pp = 2") != NULL);
    topo_free(t);
    fixture_free(&f);
}

static void test_errors(void)
{
    static const struct {
        const char *what, *has;
    } cases[] = {
        {"hbm", "does not fit"},
        {"gpus", "multiple of an instance"},
        {"disagg", "leave none of the fleet's"},
        {"pools", "less the prefill pool"},
        {"layout", "--prefill-gpus"},
        {"hit", "--cache-hit: expected"},
        {"load", "--cache-load-GBps"},
        {"swap", "--swap-GBps"},
        {"reserve", "--mem-reserve"},
        {"mtp", "--mtp-accept"},
        {"stop", "open-loop runs only"},
        {"limit", "p99 limits: expected >= 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture f;
        fixture_init(&f, "fixed:10", "fixed:10", 1);
        const char *w = cases[i].what;
        if (!strcmp(w, "hbm"))
            f.c.hbm_bytes = 1e5;
        if (!strcmp(w, "gpus")) {
            f.cfg.par.tp = 2;
            f.cfg.gpus = 3;
        }
        if (!strcmp(w, "disagg"))
            f.cfg.prefill_instances = 2;
        if (!strcmp(w, "pools")) { /* 4 GPUs less one leave 3, not whole 2-GPU instances */
            f.cfg.gpus = 4;
            f.cfg.par.dp = 2;
            f.cfg.prefill_instances = 1;
            f.cfg.prefill_dp = 1;
        }
        if (!strcmp(w, "layout"))
            f.cfg.prefill_tp = 2;
        if (!strcmp(w, "hit"))
            f.cfg.cache_hit = 1;
        if (!strcmp(w, "load"))
            f.cfg.cache_hit = 0.5;
        if (!strcmp(w, "swap"))
            f.cfg.preempt = SERVE_SWAP;
        if (!strcmp(w, "reserve"))
            f.cfg.mem_reserve = 1;
        if (!strcmp(w, "mtp"))
            f.cfg.mtp_depth = 1, f.cfg.mtp_accept[0] = 1.5;
        if (!strcmp(w, "stop"))
            f.cfg.concurrency = 1, f.cfg.stop_p99_ttft_s = 1;
        if (!strcmp(w, "limit"))
            f.cfg.stop_p99_tpot_s = NAN;
        serve_result r;
        ms_err err = {0};
        int rc = serve_run(&f.cfg, &r, &err);
        if (rc == MS_OK || !strstr(err.msg, cases[i].has))
            printf("\n  %s: rc %d, '%s'\n", w, rc, err.msg);
        /* An error that names an option is bad usage; any other, a bad value. */
        CU_ASSERT_EQUAL(rc, err.msg[0] == '-' ? MS_EUSAGE : MS_EINVAL);
        CU_ASSERT(strstr(err.msg, cases[i].has) != NULL);
        fixture_free(&f);
    }
}

static CU_TestInfo tests[] = {
    {"KV books balance under preemption (recompute, swap)", test_books_and_preemption},
    {"admission: max batch, watermark, closed loop", test_admission},
    {"planned admission leaves room to grow", test_planned_admission},
    {"latency equals icost's steps summed by hand", test_latency_by_hand},
    {"determinism under a seed", test_determinism},
    {"best-of-N shares the prompt", test_best_of},
    {"disaggregated pools and KV moves", test_disaggregation},
    {"pools of their own layouts", test_pool_layouts},
    {"prefix-cache hits loaded, not computed", test_cache_hits},
    {"MTP drafting halves the steps, three drafts quarter them", test_mtp},
    {"tokens a step from the acceptance of each draft", test_tokens_per_step},
    {"chunked prefill", test_chunked_prefill},
    {"a shared prefix is cached once", test_shared_prefix},
    {"a request too long for a cache is rejected", test_reject},
    {"p99 certain to miss: the count that makes it so", test_p99_over_count},
    {"a search's trial stops only when certain to miss", test_stop_at_limits},
    {"pipeline stages: micro-batches, cache and layers", test_pipeline},
    {"errors name the option", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "serve", .pInitFunc = setup, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_serve");
}
