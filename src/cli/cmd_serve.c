/* megasim serve: a serving fleet simulated request by request: throughput,
 * latency percentiles, KV-cache occupancy, the largest batch, and the cost
 * of an input and an output token; a sweep of arrival rates gives the
 * latency-throughput curve. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/cpow.h"
#include "io/gnuplot.h"
#include "serve/serve.h"

static const cli_opt opts[] = {
    {"--model", "FILE", "model JSON (workloads/*.json or a Hugging Face config.json)"},
    {"--chip", "NAME", "chip from hwdb/chips.csv (megasim chips lists them)"},
    {"--gpus", "N", "GPUs in the fleet, a multiple of tp x dp"},
    {"--tp", "N", "tensor-parallel degree of attention (default 1)"},
    {"--dp", "N", "attention data-parallel ranks per instance (default 1)"},
    {"--ep", "N", "expert-parallel degree, dividing tp x dp (default 1)"},
    {"--disaggregate", "P:D", "split the instances P to D into prefill and decode pools"},
    {"--input-len", "DIST",
     "prompt lengths: fixed:N, uniform:A:B, lognormal:MEDIAN:SIGMA, table:FILE"},
    {"--output-len", "DIST", "output lengths, the same forms"},
    {"--rate", "R|inf", "requests per second (Poisson), or inf: all there at time zero"},
    {"--burstiness", "CV",
     "gaps' coefficient of variation, gamma distributed (default 1: Poisson)"},
    {"--concurrency", "C", "closed loop: C clients, each sending a request when its last ends"},
    {"--replay", "FILE", "requests from a CSV trace: arrival_s,input_tokens,output_tokens"},
    {"--requests", "N", "requests to simulate"},
    {"--duration", "S", "simulate arrivals for S seconds (open loop)"},
    {"--best-of", "N", "chains per request sharing the prompt's KV cache (default 1)"},
    {"--mtp-accept", "A", "draft one token per step with the MTP module, accepted at rate A"},
    {"--precision", "P", "weights and GEMMs: fp8, bf16 (default) or fp4"},
    {"--kv-precision", "P", "KV cache: bf16 (default) or fp8"},
    {"--block-tokens", "N", "tokens per KV block (default 64, FlashMLA's)"},
    {"--max-batch", "N", "sequences per instance (default: as many as the KV cache holds)"},
    {"--max-tokens", "N", "tokens per iteration per dp rank, prefill and decode (default 8192)"},
    {"--mem-reserve", "F", "HBM fraction kept for activations and workspace (default 0.1)"},
    {"--admission", "MODE",
     "planned (default): admitted sequences must fit at their expected end; greedy: vLLM's"},
    {"--preempt", "MODE", "recompute (default) or swap, when the KV cache runs out"},
    {"--swap-GBps", "X", "host link per GPU for --preempt swap"},
    {"--shared-prefix", "N", "tokens every prompt starts with, cached once per instance"},
    {"--moe-imbalance", "X", "busiest GPU's routed tokens over the mean (default 1)"},
    {"--overlap", NULL, "hide communication under compute (two micro-batches, as DeepSeek)"},
    {"--tpot-target", "S", "admit no sequence that would make the time per output token exceed S"},
    {"--seed", "N", "random seed (default 1)"},
    {"--price-per-gpu-hour", "USD",
     "a flat price of one GPU-hour instead of owning the fleet (hwdb/costs.csv)"},
    {"--power-resolution", "S", "seconds per point of the power series (default 1)"},
    CLI_POWER_OPTS{"--csv", "FILE", "write one row per request"},
    {"--sweep-rate", "LIST", "run once per rate (1,2,4,...) for the latency-throughput curve"},
    {"--plot", "FILE", "with --sweep-rate: draw the curve (.png or .svg) with gnuplot"},
    CLI_TOPO_OPTS CLI_CALIB_OPTS{"--json", NULL, "print JSON"},
};

typedef struct run_in {
    serve_config cfg;
    reqs_spec spec;
    dist in_len, out_len;
    double price;     /* --price-per-gpu-hour, NAN when not given */
    double price_eff; /* what a GPU-hour costs: the flat price or ownership, NAN: unknown */
    int have_power;
    cpow_run power;
    const char *rate_text;
} run_in;

/* ---- per-request CSV and progress ---- */

typedef struct csv_out {
    FILE *f;
    int failed;
    double rate; /* of the run the rows belong to (a sweep has several); NAN: none */
} csv_out;

static void write_record(void *ctx, const serve_record *r)
{
    csv_out *o = ctx;
    if (!o->f || o->failed)
        return;
    double ttft = r->first_token_s - r->arrival_s, e2e = r->done_s - r->arrival_s;
    double tpot = r->output_tokens > r->chains
                      ? (r->done_s - r->first_token_s) / ((double)r->output_tokens / r->chains - 1)
                      : NAN;
    char rate[32] = "";
    if (!isnan(o->rate))
        snprintf(rate, sizeof rate, "%.9g", o->rate);
    if (fprintf(o->f, "%s,%lld,%.9g,%lld,%lld,%lld,%lld,%.9g,%.9g,%.9g,%lld,%d\n", rate,
                (long long)r->id, r->arrival_s, (long long)r->instance, (long long)r->input_tokens,
                (long long)r->output_tokens, (long long)r->chains, ttft, tpot, e2e,
                (long long)r->preemptions, r->rejected) < 0)
        o->failed = 1;
}

static void progress(void *ctx, double sim_s, int64_t done, int64_t total)
{
    char note[48];
    snprintf(note, sizeof note, "%.0f s simulated", sim_s);
    cli_progress_update(ctx, (double)done, (double)total, "requests done", note);
}

/* ---- power: each iteration's work above the baseline, in bins ---- */

typedef struct pacc {
    const cpow *pw;
    pwr_site plain; /* the site without a floor */
    double inst_gpus, dt;
    double *e[3]; /* energy above the baseline per bin: IT, IT smoothed, GPUs alone */
    size_t n, cap;
    int failed;
} pacc;

static void pacc_put(pacc *p, int k, double t0, double t1, double w)
{
    for (size_t b = (size_t)(t0 / p->dt); (double)b * p->dt < t1 && !p->failed; b++) {
        if (b >= p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 1024;
            while (cap <= b)
                cap *= 2;
            for (int i = 0; i < 3; i++) {
                double *a = realloc(p->e[i], cap * sizeof *a);
                if (!a) {
                    p->failed = 1;
                    return;
                }
                memset(a + p->cap, 0, (cap - p->cap) * sizeof *a);
                p->e[i] = a;
            }
            p->cap = cap;
        }
        double lo = fmax(t0, (double)b * p->dt), hi = fmin(t1, (double)(b + 1) * p->dt);
        p->e[k][b] += w * (hi - lo);
        if (b + 1 > p->n)
            p->n = b + 1;
    }
}

static void on_iteration(void *ctx, int64_t instance, double start_s, double dur_s, double matrix_s,
                         double memory_s, double comm_s)
{
    (void)instance;
    pacc *p = ctx;
    double it, gpu, it_s, gpu_s;
    pwr_work_w(&p->pw->lv, &p->plain, dur_s, matrix_s, memory_s, comm_s, &it, &gpu);
    pacc_put(p, 0, start_s, start_s + dur_s, p->inst_gpus * it);
    if (p->pw->site.floor_frac > 0) {
        pwr_work_w(&p->pw->lv, &p->pw->site, dur_s, matrix_s, memory_s, comm_s, &it_s, &gpu_s);
        pacc_put(p, 1, start_s, start_s + dur_s, p->inst_gpus * it_s);
        pacc_put(p, 2, start_s, start_s + dur_s, p->inst_gpus * gpu_s);
    } else {
        pacc_put(p, 2, start_s, start_s + dur_s, p->inst_gpus * gpu);
    }
}

/* The fleet's series over the run, and its energy and cost. */
static int serve_power(const cli_args *a, run_in *in, const serve_result *r, pacc *p, ms_err *err)
{
    double span = r->makespan_s > 0 ? r->makespan_s : p->dt;
    double gpus = (double)in->cfg.gpus;
    pseries *it = NULL, *smooth = NULL, *gpu = NULL;
    int rc;
    if (p->failed)
        return ms_errf(err, MS_ENOMEM, "out of memory recording power");
    if ((rc = pseries_new(0, span, p->dt, &it, err)) ||
        (rc = pseries_new(0, span, p->dt, &gpu, err)) ||
        (p->pw->site.floor_frac > 0 && (rc = pseries_new(0, span, p->dt, &smooth, err))))
        goto out;
    pwr_add_baseline(it, smooth ? NULL : gpu, &p->pw->lv, &p->plain, gpus, 0, span);
    if (smooth)
        pwr_add_baseline(smooth, gpu, &p->pw->lv, &p->pw->site, gpus, 0, span);
    for (size_t b = 0; b < p->n; b++) {
        double t0 = (double)b * p->dt, t1 = t0 + p->dt;
        pseries_add(it, t0, t1, p->e[0][b] / p->dt);
        if (smooth)
            pseries_add(smooth, t0, t1, p->e[1][b] / p->dt);
        pseries_add(gpu, t0, t1, p->e[2][b] / p->dt);
    }
    cpow_summarize(p->pw, it, smooth, gpu, gpus, r->makespan_s, &in->power);
    in->have_power = 1;
    char title[200];
    snprintf(title, sizeof title, "serving %s on %lld x %s", in->cfg.m->name,
             (long long)in->cfg.gpus, in->cfg.c->name);
    rc = cpow_write(a, p->pw, it, smooth, title, err);
out:
    pseries_free(it);
    pseries_free(smooth);
    pseries_free(gpu);
    return rc;
}

/* ---- options ---- */

static int parse_prec(const cli_args *a, const char *opt, ms_prec def, ms_prec *out, ms_err *err)
{
    *out = def;
    const char *v = cli_get(a, opt);
    if (!v)
        return MS_OK;
    if (ms_prec_parse(v, out) != 0 || (*out != MS_FP8 && *out != MS_BF16 && *out != MS_FP4))
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected fp8, bf16 or fp4", opt, v);
    return MS_OK;
}

static int parse_rate(const char *text, double *rate, ms_err *err)
{
    if (strcmp(text, "inf") == 0) {
        *rate = INFINITY;
        return MS_OK;
    }
    int rc = cli_parse_double("--rate", text, rate, err);
    if (rc == MS_OK && !(*rate > 0))
        rc = ms_errf(err, MS_EUSAGE,
                     "--rate '%s': expected requests per second > 0, or inf (a rate of zero "
                     "sends nothing)",
                     text);
    return rc;
}

static int parse_disagg(const char *text, int64_t instances, int64_t *prefill, ms_err *err)
{
    char *end;
    long p = strtol(text, &end, 10);
    if (end == text || *end != ':')
        goto bad;
    const char *q = end + 1;
    long d = strtol(q, &end, 10);
    if (end == q || *end || p < 1 || d < 1)
        goto bad;
    if (instances % (p + d))
        return ms_errf(err, MS_EUSAGE,
                       "--disaggregate %s: the fleet's %lld instances do not split %ld:%ld", text,
                       (long long)instances, p, d);
    *prefill = instances / (p + d) * p;
    return MS_OK;
bad:
    return ms_errf(err, MS_EUSAGE,
                   "--disaggregate '%s': expected P:D, instances for prefill to instances "
                   "for decode, such as 1:3",
                   text);
}

/* Fills in from the command line, but for the rate (set per run). */
static int setup(const cli_args *a, run_in *in, ms_err *err)
{
    serve_config *cfg = &in->cfg;
    reqs_spec *sp = &in->spec;
    int rc;
    int64_t v;
    if ((rc = cli_int_opt(a, "--gpus", 1, 1, &cfg->gpus, err)) ||
        (rc = cli_int_opt(a, "--tp", 1, 1, &cfg->par.tp, err)) ||
        (rc = cli_int_opt(a, "--dp", 1, 1, &cfg->par.dp, err)) ||
        (rc = cli_int_opt(a, "--ep", 1, 1, &cfg->par.ep, err)) ||
        (rc = cli_int_opt(a, "--best-of", 1, 1, &cfg->best_of, err)) ||
        (rc = cli_int_opt(a, "--block-tokens", 1, 64, &cfg->block_tokens, err)) ||
        (rc = cli_int_opt(a, "--max-batch", 1, 0, &cfg->max_batch, err)) ||
        (rc = cli_int_opt(a, "--max-tokens", 1, 8192, &cfg->max_tokens, err)) ||
        (rc = cli_int_opt(a, "--shared-prefix", 0, 0, &cfg->shared_prefix, err)) ||
        (rc = cli_int_opt(a, "--concurrency", 1, 0, &cfg->concurrency, err)) ||
        (rc = cli_int_opt(a, "--requests", 1, 0, &sp->count, err)) ||
        (rc = cli_int_opt(a, "--seed", 0, 1, &v, err)) ||
        (rc = cli_positive_double(a, "--price-per-gpu-hour", &in->price, err)))
        return rc;
    cfg->seed = sp->seed = (uint64_t)v;
    if ((rc = parse_prec(a, "--precision", MS_BF16, &cfg->par.weight_prec, err)) ||
        (rc = parse_prec(a, "--kv-precision", MS_BF16, &cfg->par.kv_prec, err)))
        return rc;
    cfg->par.overlap = cli_has(a, "--overlap");
    cfg->par.moe_imbalance = 1;
    cfg->mem_reserve = 0.1;
    double x;
    if (cli_get(a, "--moe-imbalance") &&
        (rc = cli_parse_double("--moe-imbalance", cli_get(a, "--moe-imbalance"),
                               &cfg->par.moe_imbalance, err)))
        return rc;
    if (cli_get(a, "--mem-reserve") &&
        (rc = cli_parse_double("--mem-reserve", cli_get(a, "--mem-reserve"), &cfg->mem_reserve,
                               err)))
        return rc;
    if (cli_get(a, "--mtp-accept") &&
        (rc = cli_parse_double("--mtp-accept", cli_get(a, "--mtp-accept"), &cfg->mtp_accept, err)))
        return rc;
    if (cli_get(a, "--mtp-accept") && !(cfg->mtp_accept > 0 && cfg->mtp_accept <= 1))
        return ms_errf(err, MS_EUSAGE, "--mtp-accept '%s': expected an acceptance rate in (0, 1]",
                       cli_get(a, "--mtp-accept"));
    if ((rc = cli_positive_double(a, "--tpot-target", &x, err)))
        return rc;
    cfg->step_target_s = isnan(x) ? 0 : x;
    if ((rc = cli_positive_double(a, "--swap-GBps", &x, err)))
        return rc;
    cfg->swap_Bps = isnan(x) ? 0 : x * 1e9;
    const char *am = cli_get(a, "--admission");
    if (am && strcmp(am, "greedy") == 0)
        cfg->admission = SERVE_ADMIT_GREEDY;
    else if (am && strcmp(am, "planned") != 0)
        return ms_errf(err, MS_EUSAGE, "--admission '%s': expected planned or greedy", am);
    const char *pm = cli_get(a, "--preempt");
    if (pm && strcmp(pm, "swap") == 0)
        cfg->preempt = SERVE_SWAP;
    else if (pm && strcmp(pm, "recompute") != 0)
        return ms_errf(err, MS_EUSAGE, "--preempt '%s': expected recompute or swap", pm);
    if ((rc = cli_positive_double(a, "--duration", &sp->duration_s, err)))
        return rc;
    if (isnan(sp->duration_s))
        sp->duration_s = 0;
    if ((rc = cli_positive_double(a, "--burstiness", &sp->burst_cv, err)))
        return rc;

    /* The workload. */
    int replay = cli_get(a, "--replay") != NULL;
    int given = (cli_get(a, "--rate") != NULL) + (cli_get(a, "--concurrency") != NULL) + replay +
                (cli_get(a, "--sweep-rate") != NULL);
    if (given != 1)
        return ms_errf(err, MS_EUSAGE,
                       "give one of --rate R|inf, --concurrency C, --replay FILE or --sweep-rate "
                       "LIST (see megasim serve --help)");
    if (replay) {
        sp->kind = REQS_TRACE;
        sp->trace_path = cli_get(a, "--replay");
        if (cfg->best_of > 1)
            cfg->chain_len = NULL;
    } else {
        char dir[4096];
        if ((rc = cli_need(a, "--input-len", err)) || (rc = cli_need(a, "--output-len", err)) ||
            (rc = cli_home_path(dir, sizeof dir, "workloads", err)) ||
            (rc = dist_parse(cli_get(a, "--input-len"), "--input-len", dir, &in->in_len, err)) ||
            (rc = dist_parse(cli_get(a, "--output-len"), "--output-len", dir, &in->out_len, err)))
            return rc == MS_EINVAL ? (err->code = MS_EUSAGE) : rc; /* a bad spec is a bad option */
        sp->input_len = &in->in_len;
        sp->output_len = &in->out_len;
        cfg->chain_len = &in->out_len;
        if (sp->count == 0 && sp->duration_s == 0)
            return ms_errf(err, MS_EUSAGE, "give --requests N or --duration S");
    }
    if (cfg->concurrency > 0) {
        if (sp->count == 0)
            return ms_errf(err, MS_EUSAGE, "--concurrency needs --requests N");
        sp->kind = REQS_AT_ZERO;
    }
    return MS_OK;
}

/* ---- output ---- */

static double per_million(double gpu_s, double tokens, double price)
{
    return tokens > 0 ? gpu_s / 3600 * price / (tokens / 1e6) : NAN;
}

static void print_text(const run_in *in, const serve_result *r, int64_t node)
{
    const serve_config *cfg = &in->cfg;
    const icost_config *p = &cfg->par;
    char b1[32], b2[32], b3[32];
    double g = (double)cfg->gpus;
    int64_t inst = cfg->gpus / (p->tp * p->dp);
    printf("%s on %lld x %s: %lld instance%s of %lld GPU%s (tp %lld, dp %lld, ep %lld), %s "
           "weights, %s KV cache%s\n",
           cfg->m->name, (long long)cfg->gpus, cfg->c->name, (long long)inst, inst == 1 ? "" : "s",
           (long long)(p->tp * p->dp), p->tp * p->dp == 1 ? "" : "s", (long long)p->tp,
           (long long)p->dp, (long long)p->ep, ms_prec_name(p->weight_prec),
           ms_prec_name(p->kv_prec), p->overlap ? ", communication overlapped" : "");
    if (r->pools == 2)
        printf("disaggregated: %lld prefill and %lld decode instances\n",
               (long long)r->pool[0].instances, (long long)r->pool[1].instances);
    if (in->spec.kind == REQS_TRACE)
        printf("workload: replay of %s", in->spec.trace_path);
    else
        printf("workload: input %s, output %s", in->in_len.spec, in->out_len.spec);
    if (cfg->concurrency > 0)
        printf(", %lld clients in a closed loop", (long long)cfg->concurrency);
    else if (in->spec.kind == REQS_AT_ZERO)
        printf(", all at time zero (--rate inf)");
    else if (in->spec.kind != REQS_TRACE)
        printf(", %g requests/s%s", in->spec.rate_per_s,
               in->spec.kind == REQS_BURSTY ? " (bursty)" : " (Poisson)");
    if (cfg->best_of > 1)
        printf(", best-of-%lld", (long long)cfg->best_of);
    if (cfg->mtp_accept > 0)
        printf(", MTP drafts accepted at %.0f%%", 100 * cfg->mtp_accept);
    printf("\nadmission %s, preemption by %s",
           cfg->admission == SERVE_ADMIT_GREEDY ? "greedy (blocks for now)"
                                                : "planned (room for the mean output)",
           cfg->preempt == SERVE_SWAP ? "swap" : "recompute");
    if (cfg->step_target_s > 0)
        printf(", time-per-output-token target %s",
               cli_si((char[32]){0}, 32, cfg->step_target_s, "s"));
    printf("\n\n");
    printf("  requests               %lld finished, %lld rejected (too long for an instance), "
           "%lld preemptions, in %s\n",
           (long long)r->requests, (long long)r->rejected, (long long)r->preemptions,
           cli_si(b1, 32, r->makespan_s, "s"));
    printf("  output tokens/s        %s: %.1f per GPU, %.0f per %lld-GPU node\n",
           cli_si(b1, 32, r->output_tps, ""), r->output_tps / g, r->output_tps / g * (double)node,
           (long long)node);
    printf("  input tokens/s         %s: %.1f per GPU, %.0f per node\n",
           cli_si(b1, 32, r->input_tps, ""), r->input_tps / g, r->input_tps / g * (double)node);
    if (r->pools == 2) {
        printf("  prefill pool           %.1f input tokens/s per GPU (%lld GPUs)\n",
               r->pool[0].input_tps / (double)r->pool[0].gpus, (long long)r->pool[0].gpus);
        printf("  decode pool            %.1f output tokens/s per GPU (%lld GPUs)\n",
               r->pool[1].output_tps / (double)r->pool[1].gpus, (long long)r->pool[1].gpus);
    }
    const char *names[] = {"time to first token", "time per output token", "end to end"};
    const serve_pcts *ps[] = {&r->ttft_s, &r->tpot_s, &r->e2e_s};
    for (int k = 0; k < 3; k++)
        printf("  %-22s p50 %-10s p90 %-10s p99 %s\n", names[k], cli_si(b1, 32, ps[k]->p50, "s"),
               cli_si(b2, 32, ps[k]->p90, "s"), cli_si(b3, 32, ps[k]->p99, "s"));
    printf("  largest batch          %lld sequences decoding on one instance; %lld fit at the "
           "mean final context\n",
           (long long)r->max_batch_seen, (long long)r->batch_fit);
    printf("  KV cache per GPU       %s free after %s of weights (%s a token): %s tokens an "
           "instance\n",
           cli_si(b1, 32, r->kv_free_B_per_gpu, "B"), cli_si(b2, 32, r->weights_B_per_gpu, "B"),
           cli_si(b3, 32, r->kv_B_per_token_per_gpu, "B"),
           cli_si((char[32]){0}, 32, (double)r->kv_capacity_tokens, ""));
    printf("  KV cache occupancy     peak %.0f%%, mean %.0f%%\n", 100 * r->kv_peak_frac,
           100 * r->kv_mean_frac);
    double gh_in = r->input_tokens > 0 ? r->gpu_s_input / 3600 / (r->input_tokens / 1e6) : NAN;
    double gh_out = r->output_tokens > 0 ? r->gpu_s_output / 3600 / (r->output_tokens / 1e6) : NAN;
    printf("  GPU-hours per million  %.3g input tokens, %.3g output tokens (output %.1fx input)\n",
           gh_in, gh_out, gh_out / gh_in);
    double gpu_h = g * r->makespan_s / 3600;
    printf("  the run                %.4g GPU-hours", gpu_h);
    if (isfinite(in->price_eff))
        printf(", $%.4g at $%.2f per GPU-hour ($%.4g a request)", gpu_h * in->price_eff,
               in->price_eff, gpu_h * in->price_eff / (double)r->requests);
    printf("\n");
    if (isfinite(in->price_eff))
        printf("  cost per million       $%.3f input tokens, $%.3f output tokens at $%.2f per "
               "GPU-hour\n",
               gh_in * in->price_eff, gh_out * in->price_eff, in->price_eff);
    if (in->have_power) {
        printf("\nPower and cost (the run; facility = IT x PUE; %s):\n",
               isfinite(in->price) ? "a flat price per GPU-hour" : "owning the fleet");
        cpow_print(&in->power);
    }
    printf("\n%lld iterations, %llu events; decode steps timed by the calibrated roofline "
           "(hwdb/efficiency.csv) unless --peak.\n",
           (long long)r->iterations, (unsigned long long)r->events);
}

static cJSON *result_json(const run_in *in, const serve_result *r)
{
    const serve_config *cfg = &in->cfg;
    double g = (double)cfg->gpus, price = in->price_eff;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", cfg->m->name);
    cJSON_AddStringToObject(o, "chip", cfg->c->name);
    cli_json_num(o, "gpus", g);
    cli_json_num(o, "tp", (double)cfg->par.tp);
    cli_json_num(o, "dp", (double)cfg->par.dp);
    cli_json_num(o, "ep", (double)cfg->par.ep);
    cli_json_num(o, "rate_per_s", in->spec.kind == REQS_AT_ZERO ? NAN : in->spec.rate_per_s);
    cli_json_num(o, "requests", (double)r->requests);
    cli_json_num(o, "rejected", (double)r->rejected);
    cli_json_num(o, "preemptions", (double)r->preemptions);
    cli_json_num(o, "makespan_s", r->makespan_s);
    cli_json_num(o, "input_tokens", r->input_tokens);
    cli_json_num(o, "output_tokens", r->output_tokens);
    cli_json_num(o, "output_tokens_per_s", r->output_tps);
    cli_json_num(o, "input_tokens_per_s", r->input_tps);
    cli_json_num(o, "output_tokens_per_s_per_gpu", r->output_tps / g);
    cli_json_num(o, "input_tokens_per_s_per_gpu", r->input_tps / g);
    cli_json_num(o, "ttft_p50_s", r->ttft_s.p50);
    cli_json_num(o, "ttft_p90_s", r->ttft_s.p90);
    cli_json_num(o, "ttft_p99_s", r->ttft_s.p99);
    cli_json_num(o, "tpot_p50_s", r->tpot_s.p50);
    cli_json_num(o, "tpot_p90_s", r->tpot_s.p90);
    cli_json_num(o, "tpot_p99_s", r->tpot_s.p99);
    cli_json_num(o, "e2e_p50_s", r->e2e_s.p50);
    cli_json_num(o, "e2e_p90_s", r->e2e_s.p90);
    cli_json_num(o, "e2e_p99_s", r->e2e_s.p99);
    cli_json_num(o, "e2e_mean_s", r->e2e_s.mean);
    cli_json_num(o, "max_batch", (double)r->max_batch_seen);
    cli_json_num(o, "batch_fit", (double)r->batch_fit);
    cli_json_num(o, "kv_capacity_tokens_per_instance", (double)r->kv_capacity_tokens);
    cli_json_num(o, "kv_peak_fraction", r->kv_peak_frac);
    cli_json_num(o, "kv_mean_fraction", r->kv_mean_frac);
    cli_json_num(o, "weights_bytes_per_gpu", r->weights_B_per_gpu);
    cli_json_num(o, "kv_bytes_per_token_per_gpu", r->kv_B_per_token_per_gpu);
    cli_json_num(o, "kv_free_bytes_per_gpu", r->kv_free_B_per_gpu);
    cli_json_num(o, "gpu_hours", g * r->makespan_s / 3600);
    cli_json_num(o, "usd_total", g * r->makespan_s / 3600 * price);
    cli_json_num(o, "usd_per_request", g * r->makespan_s / 3600 * price / (double)r->requests);
    cli_json_num(o, "gpu_hours_per_million_input_tokens",
                 per_million(r->gpu_s_input, r->input_tokens, 1));
    cli_json_num(o, "gpu_hours_per_million_output_tokens",
                 per_million(r->gpu_s_output, r->output_tokens, 1));
    cli_json_num(o, "usd_per_million_input_tokens",
                 per_million(r->gpu_s_input, r->input_tokens, price));
    cli_json_num(o, "usd_per_million_output_tokens",
                 per_million(r->gpu_s_output, r->output_tokens, price));
    if (r->pools == 2) {
        cli_json_num(o, "prefill_gpus", (double)r->pool[0].gpus);
        cli_json_num(o, "decode_gpus", (double)r->pool[1].gpus);
        cli_json_num(o, "prefill_input_tokens_per_s_per_gpu",
                     r->pool[0].input_tps / (double)r->pool[0].gpus);
        cli_json_num(o, "decode_output_tokens_per_s_per_gpu",
                     r->pool[1].output_tps / (double)r->pool[1].gpus);
    }
    if (in->have_power)
        cpow_json(o, &in->power);
    cli_json_num(o, "iterations", (double)r->iterations);
    cli_json_num(o, "events", (double)r->events);
    return o;
}

/* ---- the sweep ---- */

static int write_sweep_plot(const char *out, const double *rates, const serve_result *res, size_t n,
                            const run_in *in, ms_err *err)
{
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, drawn, rc;
    if ((rc = cli_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = cli_home_path(tmpl_path, sizeof tmpl_path, "plots/serve-sweep.gp", err)))
        return rc;
    FILE *dat = fopen(dat_path, "w");
    if (!dat)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", dat_path, strerror(errno));
    fprintf(dat, "# megasim serve sweep: rate_per_s output_tok_per_s_per_gpu tpot_p50_ms "
                 "tpot_p99_ms ttft_p50_s ttft_p99_s\n");
    for (size_t k = 0; k < n; k++)
        fprintf(dat, "%.6g %.6g %.6g %.6g %.6g %.6g\n", rates[k],
                res[k].output_tps / (double)in->cfg.gpus, 1e3 * res[k].tpot_s.p50,
                1e3 * res[k].tpot_s.p99, res[k].ttft_s.p50, res[k].ttft_s.p99);
    if (fclose(dat) != 0)
        return ms_errf(err, MS_EIO, "%s: write failed", dat_path);
    char title[300];
    snprintf(title, sizeof title, "%s on %lld x %s", in->cfg.m->name, (long long)in->cfg.gpus,
             in->cfg.c->name);
    if ((rc = gp_write_script(gp_path, tmpl_path, "megasim serve", dat_path, out, svg, title, NULL,
                              0, err)))
        return rc;
    return cli_plot_draw(gp_path, dat_path, out, &drawn, err);
}

static int parse_rates(const char *text, double **out, size_t *n, ms_err *err)
{
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    *out = malloc(cap * sizeof **out);
    if (!*out)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    char buf[64];
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof buf)
            return ms_errf(err, MS_EUSAGE, "--sweep-rate '%s': expected rates such as 1,2,4,8",
                           text);
        memcpy(buf, p, len);
        buf[len] = 0;
        double r;
        int rc = parse_rate(buf, &r, err);
        if (rc == MS_OK && !isfinite(r))
            rc = ms_errf(err, MS_EUSAGE, "--sweep-rate: give finite rates (inf is --rate inf)");
        if (rc)
            return rc;
        (*out)[(*n)++] = r;
        p += len + (p[len] == ',');
    }
    return MS_OK;
}

static void set_rate(run_in *in, double rate)
{
    reqs_spec *sp = &in->spec;
    if (sp->kind == REQS_TRACE || in->cfg.concurrency > 0)
        return;
    if (isinf(rate)) {
        sp->kind = REQS_AT_ZERO;
        return;
    }
    sp->rate_per_s = rate;
    sp->kind = !isnan(sp->burst_cv) && sp->burst_cv != 1 ? REQS_BURSTY : REQS_POISSON;
    if (isnan(sp->burst_cv))
        sp->burst_cv = 1;
}

static int run_serve(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(cmd, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ms_err err = {0};
    chip_db *db = NULL;
    calib *cal = NULL;
    topo *t = NULL;
    model m;
    run_in in = {0};
    csv_out csv = {0};
    cli_progress prog = {0};
    double *rates = NULL;
    serve_result *sweep = NULL;
    size_t nrates = 0;
    cpow pw = {0};
    pacc pa = {0};
    int power_ok = 0;
    if ((rc = cli_need(&a, "--model", &err)) || (rc = cli_need(&a, "--chip", &err)) ||
        (rc = cli_need(&a, "--gpus", &err)) || (rc = setup(&a, &in, &err)))
        goto out;
    if (cli_get(&a, "--plot") && !cli_get(&a, "--sweep-rate")) {
        rc = ms_errf(&err, MS_EUSAGE, "--plot draws a --sweep-rate; give both");
        goto out;
    }
    const char *rt = cli_get(&a, "--rate");
    if (rt && (rc = parse_rate(rt, &in.spec.rate_per_s, &err)))
        goto out;
    if (rt && isinf(in.spec.rate_per_s) && in.spec.count == 0) {
        rc = ms_errf(&err, MS_EUSAGE, "--rate inf needs --requests N");
        goto out;
    }
    if (cli_get(&a, "--sweep-rate") &&
        (rc = parse_rates(cli_get(&a, "--sweep-rate"), &rates, &nrates, &err)))
        goto out;
    if ((rc = cli_load_model(cli_get(&a, "--model"), &m, &err)) ||
        (rc = cli_load_chips(&a, &db, &err)) ||
        (rc = chip_db_lookup(db, cli_get(&a, "--chip"), &in.cfg.c, &err)) ||
        (rc = cli_load_calib(&a, &cal, &err)))
        goto out;
    in.cfg.m = &m;
    in.cfg.cal = cal;
    coll_params net = COLL_PARAMS_IDEAL;
    if (!cli_has(&a, "--ideal")) {
        char path[4096];
        if ((rc = cli_home_path(path, sizeof path, "hwdb/network.csv", &err)) ||
            (rc = coll_params_load(path, &net, &err)))
            goto out;
    }
    in.cfg.cp = &net;
    int64_t ig = in.cfg.par.tp * in.cfg.par.dp;
    topo_spec ts;
    if ((rc = cli_topo_spec(&a, in.cfg.c, ig, &ts, &err)))
        goto out;
    if (ig > 1 && (rc = cli_topo_build(&a, &ts, &t, &err)))
        goto out;
    in.cfg.instance_topo = t;
    int64_t node = ts.domain_size > 1 ? ts.domain_size : 1;
    if (!isnan(in.cfg.c->scale_up_domain_chips) && !cli_get(&a, "--domain"))
        node = (int64_t)in.cfg.c->scale_up_domain_chips;
    const char *dg = cli_get(&a, "--disaggregate");
    if (dg) {
        if (in.cfg.gpus % ig) {
            rc = ms_errf(&err, MS_EUSAGE, "--gpus %lld must be a multiple of tp x dp = %lld",
                         (long long)in.cfg.gpus, (long long)ig);
            goto out;
        }
        if ((rc = parse_disagg(dg, in.cfg.gpus / ig, &in.cfg.prefill_instances, &err)))
            goto out;
        in.cfg.kv_link_Bps = ts.nic_bw_Bps * net.eff[TOPO_LINK_NIC];
        in.cfg.kv_link_latency_s = net.alpha_s[TOPO_LINK_NIC];
    }
    in.cfg.stream = &in.spec;
    in.price_eff = in.price;
    /* Power: the fleet's GPUs and the fat-tree joining its servers. */
    int64_t radix,
        switches = in.cfg.gpus > node ? topo_fattree_switches((double)in.cfg.gpus, &radix) : 0;
    if (nrates == 0) {
        if ((rc = cpow_load_optional(&a, in.cfg.c, (double)in.cfg.gpus, switches, in.price, &pw,
                                     &power_ok, &err)))
            goto out;
        if (power_ok) {
            pa = (pacc){.pw = &pw, .plain = pw.site, .inst_gpus = (double)ig, .dt = 1};
            pa.plain.floor_frac = 0;
            if (cli_get(&a, "--power-resolution") &&
                (rc = cli_positive_double(&a, "--power-resolution", &pa.dt, &err)))
                goto out;
        }
    }
    cli_progress_start(&prog, "serve");
    in.cfg.progress = progress;
    in.cfg.progress_ctx = &prog;
    if (cli_get(&a, "--csv")) {
        if (!(csv.f = fopen(cli_get(&a, "--csv"), "w"))) {
            rc = ms_errf(&err, MS_EIO, "%s: cannot write: %s", cli_get(&a, "--csv"),
                         strerror(errno));
            goto out;
        }
        fprintf(csv.f,
                "rate_per_s,id,arrival_s,instance,input_tokens,output_tokens,chains,ttft_s,tpot_s,"
                "e2e_s,preemptions,rejected\n");
        in.cfg.on_record = write_record;
        in.cfg.record_ctx = &csv;
    }

    if (nrates == 0) {
        serve_result r;
        set_rate(&in, rt ? in.spec.rate_per_s : NAN);
        csv.rate =
            in.spec.kind == REQS_POISSON || in.spec.kind == REQS_BURSTY ? in.spec.rate_per_s : NAN;
        if (power_ok) {
            in.cfg.on_iteration = on_iteration;
            in.cfg.iter_ctx = &pa;
        }
        rc = serve_run(&in.cfg, &r, &err);
        cli_progress_end(&prog);
        if (rc)
            goto out;
        if (power_ok && (rc = serve_power(&a, &in, &r, &pa, &err)))
            goto out;
        if (in.have_power && !isfinite(in.price))
            in.price_eff = in.power.usd_per_gpu_hour;
        if (cli_has(&a, "--json"))
            rc = cli_json_emit(result_json(&in, &r), &err);
        else
            print_text(&in, &r, node);
    } else {
        if (!(sweep = calloc(nrates, sizeof *sweep))) {
            rc = ms_errf(&err, MS_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t k = 0; k < nrates; k++) {
            set_rate(&in, rates[k]);
            csv.rate = rates[k];
            rc = serve_run(&in.cfg, &sweep[k], &err);
            cli_progress_end(&prog);
            if (rc)
                goto out;
        }
        if (cli_has(&a, "--json")) {
            cJSON *arr = cJSON_CreateArray();
            for (size_t k = 0; k < nrates; k++) {
                in.spec.rate_per_s = rates[k];
                cJSON_AddItemToArray(arr, result_json(&in, &sweep[k]));
            }
            rc = cli_json_emit(arr, &err);
        } else {
            printf("%s on %lld x %s: latency against throughput\n\n", m.name,
                   (long long)in.cfg.gpus, in.cfg.c->name);
            printf("%10s %14s %12s %12s %12s %12s\n", "rate/s", "out tok/s/GPU", "TPOT p50",
                   "TPOT p99", "TTFT p50", "TTFT p99");
            char b[4][32];
            for (size_t k = 0; k < nrates; k++)
                printf("%10g %14.1f %12s %12s %12s %12s\n", rates[k],
                       sweep[k].output_tps / (double)in.cfg.gpus,
                       cli_si(b[0], 32, sweep[k].tpot_s.p50, "s"),
                       cli_si(b[1], 32, sweep[k].tpot_s.p99, "s"),
                       cli_si(b[2], 32, sweep[k].ttft_s.p50, "s"),
                       cli_si(b[3], 32, sweep[k].ttft_s.p99, "s"));
        }
        if (!rc && cli_get(&a, "--plot") &&
            (rc = write_sweep_plot(cli_get(&a, "--plot"), rates, sweep, nrates, &in, &err)) ==
                MS_OK)
            fprintf(cli_has(&a, "--json") ? stderr : stdout, "plot: %s\n", cli_get(&a, "--plot"));
    }
    if (!rc && csv.f) {
        FILE *f = csv.f;
        csv.f = NULL;
        if (fclose(f) != 0 || csv.failed)
            rc = ms_errf(&err, MS_EIO, "%s: write failed", cli_get(&a, "--csv"));
    }
out:
    cpow_free(&pw);
    for (int k = 0; k < 3; k++)
        free(pa.e[k]);
    if (csv.f)
        fclose(csv.f);
    free(rates);
    free(sweep);
    dist_free(&in.in_len);
    dist_free(&in.out_len);
    topo_free(t);
    calib_free(cal);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_serve = {
    .name = "serve",
    .run = run_serve,
    .summary = "simulate a serving fleet request by request: throughput, latency, KV cache, cost",
    .usage = "  megasim serve --model FILE --chip NAME --gpus N [--tp N --dp N --ep N]\n"
             "                --input-len DIST --output-len DIST (--rate R|inf | --concurrency C\n"
             "                | --sweep-rate LIST) (--requests N | --duration S) [options]\n"
             "  megasim serve --model FILE --chip NAME --gpus N --replay TRACE.csv [options]\n",
    .details =
        "An instance is tp x dp GPUs: attention tensor-parallel over tp and data-parallel\n"
        "over dp, routed experts over ep GPUs. Each iteration runs one decode step of every\n"
        "running sequence and chunks of waiting prompts, timed by the calibrated roofline\n"
        "over the model's operations at that batch and context, plus tensor- and expert-\n"
        "parallel traffic. The KV cache is paged and bounded by HBM less the weights and\n"
        "--mem-reserve. Admission leaves room for each sequence's expected output (the\n"
        "workload's mean; --admission greedy admits on blocks for now, as vLLM does); when\n"
        "the cache runs out the newest sequence is preempted. --tpot-target sizes batches\n"
        "and prompt chunks to a time per output token.\n"
        "Costs: decode is the base load of an iteration and prompt chunks riding on it are\n"
        "charged what they add, so GPU-hours (and dollars, with --price-per-gpu-hour) per\n"
        "million input and output tokens come from first principles.\n"
        "DIST is fixed:N, uniform:A:B, lognormal:MEDIAN:SIGMA or table:FILE (a CSV with\n"
        "columns tokens and weight, read as given or under workloads/).\n"
        "Example: megasim serve --model workloads/deepseek-v3/config.json --chip H800\n"
        "  --gpus 32 --dp 32 --ep 32 --precision fp8 --input-len lognormal:1000:1\n"
        "  --output-len lognormal:8000:0.7 --rate inf --requests 2000 --tpot-target 0.05\n",
    .opts = opts,
    .nopts = sizeof opts / sizeof opts[0],
};
