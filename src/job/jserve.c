/* jserve: see jserve.h. */
#include "job/jserve.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"
#include "core/sim.h"
#include "core/vec.h"
#include "hw/calib.h"
#include "job/junc.h"
#include "net/coll.h"
#include "net/topo.h"
#include "power/prun.h"
#include "serve/dist.h"
#include "serve/reqs.h"

#define S(f) offsetof(jserve_job, f)

/* The most requests one run simulates (see --requests). */
#define REQUESTS_MAX 1e9

static const jopt rows[] = {
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, S(model),
     "model JSON (workloads/*.json or a Hugging Face config.json)"},
    {"chip", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, S(chip),
     "chip from hwdb/chips.csv, or a list A,B,C side by side"},
    {"gpus", JOPT_INT, "N", NULL, NULL, 1, 1e7, NULL, S(gpus),
     "GPUs in the fleet, a multiple of tp x dp x pp"},
    {"tp", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, S(tp), "tensor-parallel degree of attention"},
    {"dp", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, S(dp),
     "attention data-parallel ranks per instance"},
    {"ep", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, S(ep),
     "expert-parallel degree, dividing tp x dp"},
    {"pp", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, S(pp),
     "pipeline stages of an instance, each tp x dp GPUs holding its share of the layers and one "
     "micro-batch in flight (TensorRT-LLM's); not with --ep, --overlap, drafts or disaggregation"},
    {"disaggregate", JOPT_STR, "P:D", NULL, NULL, NAN, NAN, NULL, S(disaggregate),
     "split the instances P to D into prefill and decode pools of one layout"},
    {"prefill-gpus", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, S(prefill_gpus),
     "a prefill pool of N of the GPUs, laid out by --prefill-tp/dp/ep; the rest decode"},
    {"prefill-tp", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, S(prefill_tp),
     "the prefill pool's tensor-parallel degree (default: --tp)"},
    {"prefill-dp", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, S(prefill_dp),
     "the prefill pool's data-parallel ranks per instance (default: --dp)"},
    {"prefill-ep", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, S(prefill_ep),
     "the prefill pool's expert-parallel degree (default: --ep)"},
    {"input-len", JOPT_STR, "DIST", NULL, NULL, NAN, NAN, NULL, S(input_len),
     "prompt lengths: fixed:N, uniform:A:B, lognormal:MEDIAN:SIGMA, table:FILE, "
     "scaled:MEAN:FILE"},
    {"output-len", JOPT_STR, "DIST", NULL, NULL, NAN, NAN, NULL, S(output_len),
     "output lengths, the same forms"},
    {"rate", JOPT_STR, "R|inf", NULL, NULL, NAN, NAN, NULL, S(rate),
     "requests per second (Poisson), or inf: all there at time zero"},
    {"burstiness", JOPT_POS, "CV", NULL, NULL, 0.01, 100, NULL, S(burstiness),
     "gaps' coefficient of variation, gamma distributed (default 1: Poisson)"},
    {"concurrency", JOPT_INT, "C", NULL, NULL, 1, NAN, NULL, S(concurrency),
     "closed loop: C clients, each sending a request when its last ends"},
    {"replay", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, S(replay),
     "requests from a CSV trace: arrival_s,input_tokens,output_tokens"},
    /* Each request keeps its three latencies for the percentiles, 24 bytes:
     * REQUESTS_MAX of them is 24 GB, past which a run cannot finish in
     * memory. */
    {"requests", JOPT_INT, "N", NULL, NULL, 1, REQUESTS_MAX, NULL, S(requests),
     "requests to simulate (each keeps 24 bytes of latencies)"},
    {"duration", JOPT_POS, "S", "s", NULL, NAN, SIM_TIME_MAX_S, NULL, S(duration_s),
     "simulate arrivals for S seconds (open loop)"},
    {"best-of", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, S(best_of),
     "chains per request sharing the prompt's KV cache"},
    {"mtp-accept", JOPT_STR, "A[,A2...]", NULL, NULL, NAN, NAN, NULL, S(mtp_accept),
     "draft a token a step with the MTP module per rate given (up to 8), the k-th accepted at "
     "rate Ak when all before it were"},
    {"draft-model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, S(draft_model),
     "speculative decoding with a draft model of its own (a dense model of the same "
     "vocabulary) instead of the MTP module"},
    {"draft-accept", JOPT_STR, "A[,A2...]", NULL, NULL, NAN, NAN, NULL, S(draft_accept),
     "with --draft-model: a token drafted a step per rate, the k-th accepted at rate Ak when "
     "all before it were"},
    {"precision", JOPT_STR, "P", NULL, "bf16", NAN, NAN, NULL, S(precision),
     "weights and GEMMs: fp8, bf16 or fp4; fp8 on a checkpoint scaled in blocks (its "
     "quantization_config) adds a kernel quantizing each GEMM's input"},
    {"kv-precision", JOPT_STR, "P", NULL, "bf16", NAN, NAN, NULL, S(kv_precision),
     "KV cache: bf16 or fp8"},
    {"block-tokens", JOPT_INT, "N", NULL, "64", 1, NAN, NULL, S(block_tokens),
     "tokens per KV block (64 is FlashMLA's)"},
    {"max-batch", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, S(max_batch),
     "sequences per instance, per micro-batch with --pp (default: as many as the KV cache "
     "holds)"},
    {"max-tokens", JOPT_INT, "N", NULL, "8192", 1, NAN, NULL, S(max_tokens),
     "tokens per iteration per dp rank, prefill and decode (per micro-batch with --pp)"},
    {"mem-reserve", JOPT_NUM, "F", NULL, "0.1", NAN, NAN, NULL, S(mem_reserve),
     "HBM fraction kept for activations and workspace"},
    {"admission", JOPT_CHOICE, "MODE", NULL, "planned", NAN, NAN, "planned|greedy", S(admission),
     "planned: admitted sequences must fit at their expected end; greedy: vLLM's"},
    {"preempt", JOPT_CHOICE, "MODE", NULL, "recompute", NAN, NAN, "recompute|swap", S(preempt),
     "what to do when the KV cache runs out"},
    {"swap-GBps", JOPT_POS, "X", "GB/s", NULL, 1e-3, 1e6, NULL, S(swap_GBps),
     "host link per GPU for --preempt swap"},
    {"shared-prefix", JOPT_INT, "N", NULL, "0", 0, NAN, NULL, S(shared_prefix),
     "tokens every prompt starts with, cached once per instance"},
    {"cache-hit", JOPT_NUM, "F", NULL, NULL, 0, NAN, NULL, S(cache_hit),
     "share of prompt tokens a prefix cache holds, loaded instead of computed"},
    {"cache-load-GBps", JOPT_POS, "X", "GB/s", NULL, 1e-3, 1e6, NULL, S(cache_load_GBps),
     "per GPU: what the prefix cache's KV loads at (host link or storage share)"},
    {"moe-imbalance", JOPT_NUM, "X", NULL, "1", 1, 1e6, NULL, S(moe_imbalance),
     "busiest GPU's routed tokens over the mean"},
    {"overlap", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, S(overlap),
     "two micro-batches, each one's expert exchange beside the other's compute (DeepSeek, "
     "SGLang); needs --ep > 1"},
    {"tp-overlap", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, S(tp_overlap),
     "each tensor-parallel all-reduce inside the GEMM whose output it sums (TensorRT-LLM's "
     "gemm_allreduce_plugin); dense models, needs --tp > 1"},
    {"cuda-graphs", JOPT_STR, "N[,N...]", NULL, NULL, NAN, NAN, NULL, S(cuda_graphs),
     "decode-only iterations run as CUDA graphs captured at these sequences a dp rank, each "
     "rank's batch padded up to the next size (TensorRT-LLM's cuda_graph_batch_sizes with "
     "cuda_graph_padding_enabled); one above the largest, or with prompt tokens, runs as it "
     "is"},
    {"tpot-target", JOPT_POS, "S", "s", NULL, NAN, 3600, NULL, S(tpot_target_s),
     "admit no sequence that would make the time per output token exceed S"},
    {"scenario", JOPT_CHOICE, "S", NULL, NULL, NAN, NAN, "offline|server", S(scenario),
     "MLPerf's: offline, every request at time zero; server, the highest Poisson rate meeting "
     "--p99-ttft and --p99-tpot"},
    {"p99-ttft", JOPT_POS, "S", "s", NULL, NAN, 86400, NULL, S(p99_ttft_s),
     "--scenario server: the p99 time to first token allowed"},
    {"p99-tpot", JOPT_POS, "S", "s", NULL, NAN, 3600, NULL, S(p99_tpot_s),
     "--scenario server: the p99 time per output token allowed"},
    {"seed", JOPT_INT, "N", NULL, "1", 0, NAN, NULL, S(seed),
     "random seed (of the requests, and of --uncertainty's draws)"},
    {"uncertainty", JOPT_INT, "N", NULL, NULL, 1, 1e6, NULL, S(uncertainty), JUNC_HELP},
    {"price-per-gpu-hour", JOPT_POS, "USD", "USD", NULL, NAN, NAN, NULL, S(price_per_gpu_hour),
     "a flat price of one GPU-hour instead of owning the fleet (hwdb/costs.csv)"},
    {"years", JOPT_POS, "Y", NULL, NULL, NAN, 100, NULL, S(years),
     "the fleet's cost over Y years of serving as the run did, servers and network straight-line "
     "over their life, and per million tokens served in that time"},
    {"power-resolution", JOPT_POS, "S", "s", "1", 1e-6, 3600, NULL, S(power_resolution_s),
     "seconds per point of the power series"},
    JPOWER_ROWS(S(power)),
    {"csv", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, S(csv), "write one row per request"},
    {"sweep-rate", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, S(sweep_rate),
     "run once per rate (1,2,4,...) for the latency-throughput curve"},
    {"plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, S(plot),
     "with --sweep-rate: draw the curve (.png or .svg) with gnuplot"},
    JTOPO_ROWS(S(topo)),
    {"ideal", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, S(ideal),
     "ignore hwdb/network.csv: links at full bandwidth, no per-step cost"},
    {"peak", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, S(peak),
     "ignore hwdb/efficiency.csv: operations at datasheet peak"},
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, S(efficiency),
     "calibration to read (default: hwdb/efficiency.csv)"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, S(chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, S(json), "print JSON"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, S(keep_plot_data),
     "keep a plot's .dat and .gp files beside it"},
};

const jopt_table jserve_options = {.rows = rows,
                                   .n = sizeof rows / sizeof rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jserve_job, given)};

/* ---- options read into the simulator's configuration ---- */

/* Weights: fp8, bf16 or fp4; the KV cache (with_fp4 0): bf16 or fp8. */
static int parse_prec(const char *opt, const char *v, int with_fp4, ms_prec *out, ms_err *err)
{
    if (ms_prec_parse(v, out) != 0 ||
        (*out != MS_FP8 && *out != MS_BF16 && (*out != MS_FP4 || !with_fp4)))
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected %s", opt, v,
                       with_fp4 ? "fp8, bf16 or fp4" : "bf16 or fp8");
    return MS_OK;
}

/* The numbers of "X1,X2,...": at most cap of them into vals, their count
 * in *n. 0, or -1 where text is not numbers separated by commas, -2
 * where it has more than cap. */
static int parse_numbers(const char *text, double *vals, int cap, int *n)
{
    *n = 0;
    for (const char *p = text;;) {
        char *end;
        double v = num_strtod(p, &end);
        if (end == p || (*end && *end != ','))
            return -1;
        if (*n == cap)
            return -2;
        vals[(*n)++] = v;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

/* opt "A1,A2,...": one rate in [0, 1] a drafted token; NULL: none. */
static int parse_accept(const char *opt, const char *text, serve_config *cfg, ms_err *err)
{
    cfg->mtp_depth = 0;
    if (!text)
        return MS_OK;
    double a[SERVE_MAX_DRAFT];
    int n, rc = parse_numbers(text, a, SERVE_MAX_DRAFT, &n);
    if (rc == -2)
        return ms_errf(err, MS_EUSAGE, "%s '%s': at most %d drafted tokens", opt, text,
                       SERVE_MAX_DRAFT);
    for (int i = 0; rc == 0 && i < n; i++)
        if (!(a[i] >= 0 && a[i] <= 1))
            rc = -1;
    if (rc)
        return ms_errf(err, MS_EUSAGE,
                       "%s '%s': expected rates in [0, 1] separated by commas, one a "
                       "drafted token",
                       opt, text);
    for (int i = 0; i < n; i++)
        cfg->mtp_accept[cfg->mtp_depth++] = a[i];
    return MS_OK;
}

/* --cuda-graphs "N1,N2,...": ascending sequence counts of at least 1;
 * NULL: none. */
static int parse_graphs(const char *text, icost_config *par, ms_err *err)
{
    par->ngraphs = 0;
    if (!text)
        return MS_OK;
    double v[ICOST_MAX_GRAPHS];
    int n, rc = parse_numbers(text, v, ICOST_MAX_GRAPHS, &n);
    if (rc == -2)
        return ms_errf(err, MS_EUSAGE, "--cuda-graphs '%s': at most %d sizes", text,
                       ICOST_MAX_GRAPHS);
    for (int i = 0; rc == 0 && i < n; i++)
        if (!(v[i] >= 1 && v[i] <= 1e9) || v[i] != floor(v[i]) || (i > 0 && v[i] <= v[i - 1]))
            rc = -1;
    if (rc)
        return ms_errf(err, MS_EUSAGE,
                       "--cuda-graphs '%s': expected whole sequence counts from 1 to 1e9 in "
                       "ascending order, separated by commas",
                       text);
    for (int i = 0; i < n; i++)
        par->graph_sizes[par->ngraphs++] = (int64_t)v[i];
    return MS_OK;
}

static int parse_rate(const char *opt, const char *text, double *rate, ms_err *err)
{
    char *end;
    if (strcmp(text, "inf") == 0) {
        *rate = INFINITY;
        return MS_OK;
    }
    *rate = num_strtod(text, &end);
    if (end == text || *end || !(*rate > 0) || !isfinite(*rate))
        return ms_errf(err, MS_EUSAGE,
                       "%s '%s': expected requests per second > 0, or inf (a rate of zero "
                       "sends nothing)",
                       opt, text);
    return MS_OK;
}

static int parse_rates(const char *text, double **out, size_t *n, ms_err *err)
{
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    if (!(*out = malloc(cap * sizeof **out)))
        return ms_errf(err, MS_ENOMEM, "out of memory");
    char buf[64];
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof buf)
            return ms_errf(err, MS_EUSAGE, "--sweep-rate '%s': expected rates such as 1,2,4,8",
                           text);
        memcpy(buf, p, len);
        buf[len] = 0;
        double r;
        int rc = parse_rate("--sweep-rate", buf, &r, err);
        if (rc == MS_OK && !isfinite(r))
            rc = ms_errf(err, MS_EUSAGE, "--sweep-rate: give finite rates (inf is --rate inf)");
        if (rc)
            return rc;
        (*out)[(*n)++] = r;
        p += len + (p[len] == ',');
    }
    return MS_OK;
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

/* MLPerf's scenarios take a request count; the server's search needs
 * both limits, and the limits mean nothing without it. */
static int check_scenario(const jserve_job *j, ms_err *err)
{
    int server = j->scenario == JSERVE_SERVER;
    if (!server && (!isnan(j->p99_ttft_s) || !isnan(j->p99_tpot_s)))
        return ms_errf(err, MS_EUSAGE, "--%s is a limit of --scenario server; give both",
                       isnan(j->p99_ttft_s) ? "p99-tpot" : "p99-ttft");
    if (server && (isnan(j->p99_ttft_s) || isnan(j->p99_tpot_s)))
        return ms_errf(err, MS_EUSAGE,
                       "--scenario server searches for the highest rate meeting both "
                       "--p99-ttft S and --p99-tpot S; give %s",
                       isnan(j->p99_ttft_s) && isnan(j->p99_tpot_s) ? "both"
                       : isnan(j->p99_ttft_s)                       ? "--p99-ttft"
                                                                    : "--p99-tpot");
    if (j->scenario == JSERVE_OFFLINE && j->requests == JOPT_NO_INT)
        return ms_errf(err, MS_EUSAGE, "--scenario offline needs --requests N");
    if (j->scenario == JSERVE_OFFLINE && !isnan(j->duration_s))
        return ms_errf(err, MS_EUSAGE,
                       "--scenario offline sends --requests N at once; --duration is for an "
                       "arrival rate");
    if (server && (j->requests == JOPT_NO_INT) == isnan(j->duration_s))
        return ms_errf(err, MS_EUSAGE,
                       "--scenario server runs each rate for --requests N or --duration S (MLPerf: "
                       "600 s at least); give one of them");
    return MS_OK;
}

/* What a run is made of: the configuration and its inputs. */
typedef struct run {
    serve_config cfg;
    reqs_spec spec;
    dist in_len, out_len;
    model m, draft; /* draft: --draft-model's */
    chip_db *db;
    calib *cal;
    coll_params net;
    topo *t, *prefill_t;
    int64_t node;     /* GPUs a node holds, for per-node figures */
    chip limited;     /* the chip under --gpu-power-limit (cfg.c points here) */
    double price_eff; /* what a GPU-hour costs: the flat price or ownership; NAN: unknown */
    int have_power;
    prun power;
    tco_horizon life; /* with --years */
    const jserve_job *job;
    double rate; /* of the run under way, for the per-request records */
} run;

static void run_free(run *x)
{
    dist_free(&x->in_len);
    dist_free(&x->out_len);
    topo_free(x->t);
    topo_free(x->prefill_t);
    calib_free(x->cal);
    chip_db_free(x->db);
}

/* The configuration the options give, but for the rate (set per run). */
static int setup(const jserve_job *j, const jenv *env, run *x, ms_err *err)
{
    static const char *const need[] = {"model", "chip", "gpus"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!jopt_is_set(&jserve_options, j, need[i]))
            return ms_errf(err, MS_EUSAGE, "--%s is required", need[i]);
    serve_config *cfg = &x->cfg;
    reqs_spec *sp = &x->spec;
    cfg->gpus = j->gpus;
    cfg->par.tp = j->tp;
    cfg->par.dp = j->dp;
    cfg->par.ep = j->ep;
    cfg->par.pp = j->pp;
    cfg->best_of = j->best_of;
    cfg->block_tokens = j->block_tokens;
    cfg->max_batch = j->max_batch != JOPT_NO_INT ? j->max_batch : 0;
    cfg->max_tokens = j->max_tokens;
    cfg->shared_prefix = j->shared_prefix;
    cfg->cache_hit = isnan(j->cache_hit) ? 0 : j->cache_hit;
    cfg->cache_load_Bps = isnan(j->cache_load_GBps) ? 0 : j->cache_load_GBps * 1e9;
    cfg->prefill_tp = j->prefill_tp != JOPT_NO_INT ? j->prefill_tp : 0;
    cfg->prefill_dp = j->prefill_dp != JOPT_NO_INT ? j->prefill_dp : 0;
    cfg->prefill_ep = j->prefill_ep != JOPT_NO_INT ? j->prefill_ep : 0;
    cfg->concurrency = j->concurrency != JOPT_NO_INT ? j->concurrency : 0;
    sp->count = j->requests != JOPT_NO_INT ? j->requests : 0;
    cfg->seed = sp->seed = (uint64_t)j->seed;
    int rc;
    if ((rc = parse_prec("--precision", j->precision, 1, &cfg->par.weight_prec, err)) ||
        (rc = parse_prec("--kv-precision", j->kv_precision, 0, &cfg->par.kv_prec, err)))
        return rc;
    cfg->par.overlap = j->overlap;
    cfg->par.tp_overlap = j->tp_overlap;
    if (j->tp_overlap && j->tp < 2 && (j->prefill_tp == JOPT_NO_INT || j->prefill_tp < 2))
        return ms_errf(err, MS_EUSAGE,
                       "--tp-overlap hides tensor-parallel all-reduces inside GEMMs: it needs "
                       "--tp 2 or more (or --prefill-tp), got --tp %lld",
                       (long long)j->tp);
    cfg->par.moe_imbalance = j->moe_imbalance;
    if ((rc = parse_graphs(j->cuda_graphs, &cfg->par, err)))
        return rc;
    cfg->mem_reserve = j->mem_reserve;
    if (j->draft_model && j->mtp_accept)
        return ms_errf(err, MS_EUSAGE,
                       "--mtp-accept drafts with the model's MTP module and --draft-model with "
                       "a model of its own: give one of them");
    if (!j->draft_model != !j->draft_accept)
        return ms_errf(err, MS_EUSAGE,
                       "--draft-model and --draft-accept go together: the draft model and the "
                       "acceptance of each token it drafts");
    if ((rc = parse_accept(j->draft_model ? "--draft-accept" : "--mtp-accept",
                           j->draft_model ? j->draft_accept : j->mtp_accept, cfg, err)))
        return rc;
    cfg->step_target_s = isnan(j->tpot_target_s) ? 0 : j->tpot_target_s;
    cfg->swap_Bps = isnan(j->swap_GBps) ? 0 : j->swap_GBps * 1e9;
    cfg->admission = j->admission == 1 ? SERVE_ADMIT_GREEDY : cfg->admission;
    cfg->preempt = j->preempt == 1 ? SERVE_SWAP : cfg->preempt;
    sp->duration_s = isnan(j->duration_s) ? 0 : j->duration_s;
    sp->burst_cv = j->burstiness;
    /* The workload. */
    int given = (j->rate != NULL) + (j->concurrency != JOPT_NO_INT) + (j->replay != NULL) +
                (j->sweep_rate != NULL) + (j->scenario >= 0);
    if (given != 1)
        return ms_errf(err, MS_EUSAGE,
                       "give one of --rate R|inf, --concurrency C, --replay FILE, --sweep-rate "
                       "LIST or --scenario offline|server (see megasim serve --help)");
    if ((rc = check_scenario(j, err)))
        return rc;
    if (j->replay) {
        sp->kind = REQS_TRACE;
        sp->trace_path = j->replay;
        if (cfg->best_of > 1)
            cfg->chain_len = NULL;
    } else {
        char dir[4096];
        if (!j->input_len || !j->output_len)
            return ms_errf(err, MS_EUSAGE, "--%s is required",
                           j->input_len ? "output-len" : "input-len");
        if ((rc = jenv_path(env, "workloads", dir, sizeof dir, err)) ||
            (rc = dist_parse(j->input_len, "--input-len", dir, &x->in_len, err)) ||
            (rc = dist_parse(j->output_len, "--output-len", dir, &x->out_len, err)))
            return rc == MS_EINVAL ? (err->code = MS_EUSAGE) : rc; /* a bad spec is a bad option */
        sp->input_len = &x->in_len;
        sp->output_len = &x->out_len;
        cfg->chain_len = &x->out_len;
        if (sp->count == 0 && sp->duration_s == 0)
            return ms_errf(err, MS_EUSAGE, "give --requests N or --duration S");
    }
    if (cfg->concurrency > 0) {
        if (sp->count == 0)
            return ms_errf(err, MS_EUSAGE, "--concurrency needs --requests N");
        sp->kind = REQS_AT_ZERO;
    }
    if (j->prefill_gpus == JOPT_NO_INT &&
        (j->prefill_tp != JOPT_NO_INT || j->prefill_dp != JOPT_NO_INT ||
         j->prefill_ep != JOPT_NO_INT))
        return ms_errf(err, MS_EUSAGE,
                       "--prefill-tp, --prefill-dp and --prefill-ep lay out a prefill pool; give "
                       "its GPUs with --prefill-gpus N");
    if (j->plot && !j->sweep_rate)
        return ms_errf(err, MS_EUSAGE, "--plot draws a --sweep-rate; give both");
    if (!isnan(j->years) && j->sweep_rate)
        return ms_errf(err, MS_EUSAGE,
                       "--years prices one run's fleet over a horizon; a --sweep-rate is many "
                       "runs: give one of them");
    return MS_OK;
}

/* A prefill pool of its own layout: --prefill-gpus in instances of
 * --prefill-tp x --prefill-dp GPUs, each on a cluster of its own size. */
static int prefill_pool(const jserve_job *j, run *x, ms_err *err)
{
    serve_config *cfg = &x->cfg;
    if (j->disaggregate)
        return ms_errf(err, MS_EUSAGE,
                       "--disaggregate P:D splits one layout's instances; --prefill-gpus gives the "
                       "prefill pool its own: give one of them");
    icost_config pp = serve_prefill_par(cfg);
    int64_t pg = pp.tp * pp.dp, dg = cfg->par.tp * cfg->par.dp;
    if (j->prefill_gpus % pg)
        return ms_errf(err, MS_EUSAGE,
                       "--prefill-gpus %lld must be a multiple of a prefill instance's GPUs, "
                       "--prefill-tp x --prefill-dp = %lld",
                       (long long)j->prefill_gpus, (long long)pg);
    if (j->prefill_gpus >= cfg->gpus || (cfg->gpus - j->prefill_gpus) % dg)
        return ms_errf(err, MS_EUSAGE,
                       "--prefill-gpus %lld of --gpus %lld must leave the decode pool a whole "
                       "number of its instances, a multiple of --tp x --dp = %lld",
                       (long long)j->prefill_gpus, (long long)cfg->gpus, (long long)dg);
    cfg->prefill_instances = j->prefill_gpus / pg;
    topo_spec ts;
    int rc;
    if ((rc = jtopo_spec(&j->topo, cfg->c, pg, &ts, err)) ||
        (pg > 1 && (rc = jtopo_build(&j->topo, &ts, &x->prefill_t, err))))
        return rc;
    cfg->prefill_topo = x->prefill_t;
    return MS_OK;
}

/* The model, chip, calibration and instance cluster. */
static int load(const jserve_job *j, const jenv *env, run *x, jserve_out *out, ms_err *err)
{
    char path[4096];
    int rc;
    if ((rc = modelfile_load(jenv_find(env, j->model, path, sizeof path), &x->m, out->warnings,
                             err)) ||
        (rc = jenv_load_chips(env, &j->chips, &x->db, err)) ||
        (rc = chip_db_lookup(x->db, j->chip, &x->cfg.c, err)))
        return rc;
    if ((rc = jpower_limit_chip(&j->power, env, x->cfg.c, &x->limited, err)))
        return rc;
    x->cfg.c = &x->limited;
    if (!j->peak) {
        const char *file = j->efficiency ? jenv_find(env, j->efficiency, path, sizeof path) : NULL;
        if (!file && (rc = jenv_path(env, "hwdb/efficiency.csv", path, sizeof path, err)))
            return rc;
        if ((rc = calib_load(file ? file : path, &x->cal, err)))
            return rc;
    }
    x->cfg.m = &x->m;
    /* A checkpoint scaled in blocks (its quantization_config) runs its
     * FP8 GEMMs on activations quantized by kernels of their own. */
    x->cfg.par.act_quant = x->cfg.par.weight_prec == MS_FP8 && x->m.fp8_block > 0;
    if (j->draft_model) {
        char dwarn[MODELFILE_WARN_MAX];
        if ((rc = modelfile_load(jenv_find(env, j->draft_model, path, sizeof path), &x->draft,
                                 dwarn, err)))
            return rc;
        x->cfg.par.draft_model = &x->draft;
    }
    x->cfg.cal = x->cal;
    x->net = COLL_PARAMS_IDEAL;
    if (!j->ideal && ((rc = jenv_path(env, "hwdb/network.csv", path, sizeof path, err)) ||
                      (rc = coll_params_load(path, &x->net, err))))
        return rc;
    x->cfg.cp = &x->net;
    int64_t ig = icost_config_gpus(&x->cfg.par);
    topo_spec ts;
    if ((rc = jtopo_spec(&j->topo, x->cfg.c, ig, &ts, err)) ||
        (ig > 1 && (rc = jtopo_build(&j->topo, &ts, &x->t, err))))
        return rc;
    x->cfg.instance_topo = x->t;
    x->node = ts.domain_size > 1 ? ts.domain_size : 1;
    if (!isnan(x->cfg.c->scale_up_domain_chips) && j->topo.domain == JOPT_NO_INT)
        x->node = (int64_t)x->cfg.c->scale_up_domain_chips;
    if (j->disaggregate) {
        if (x->cfg.gpus % ig)
            return ms_errf(err, MS_EUSAGE, "--gpus %lld must be a multiple of tp x dp x pp = %lld",
                           (long long)x->cfg.gpus, (long long)ig);
        if ((rc = parse_disagg(j->disaggregate, x->cfg.gpus / ig, &x->cfg.prefill_instances, err)))
            return rc;
    }
    if (j->prefill_gpus != JOPT_NO_INT && (rc = prefill_pool(j, x, err)))
        return rc;
    if (x->cfg.prefill_instances > 0) {
        x->cfg.kv_link_Bps = ts.nic_bw_Bps * x->net.eff[TOPO_LINK_NIC];
        x->cfg.kv_link_latency_s = x->net.alpha_s[TOPO_LINK_NIC];
    }
    x->cfg.stream = &x->spec;
    snprintf(out->title, sizeof out->title, "%s on %lld x %s", x->m.name, (long long)x->cfg.gpus,
             x->cfg.c->name);
    snprintf(out->power_title, sizeof out->power_title, "serving %s", out->title);
    out->gpus = (double)x->cfg.gpus;
    return MS_OK;
}

/* Whether count requests at rate per second arrive, on average, within
 * the time one run can hold; the engine stops a run that still overruns. */
static int check_span(const run *x, const char *opt, double rate, ms_err *err)
{
    double count = (double)x->spec.count;
    if (!(count > 0) && x->spec.duration_s > 0 && !isinf(rate) &&
        rate * x->spec.duration_s > REQUESTS_MAX)
        return ms_errf(err, MS_EUSAGE,
                       "%s %g with --duration %g: about %.3g requests would arrive, past the %.0e "
                       "one run keeps the latencies of (24 bytes each): give a shorter duration "
                       "or a lower rate",
                       opt, rate, x->spec.duration_s, rate * x->spec.duration_s, REQUESTS_MAX);
    if (x->spec.kind == REQS_TRACE || x->cfg.concurrency > 0 || !(count > 0) || isinf(rate) ||
        count / rate <= SIM_TIME_MAX_S)
        return MS_OK;
    return ms_errf(err, MS_EUSAGE,
                   "%s %g with --requests %.0f: the arrivals would span about %.3g days, past the "
                   "%.1f days one run can simulate: give a rate of at least %.3g requests/s or "
                   "fewer requests",
                   opt, rate, count, count / rate / 86400, SIM_TIME_MAX_S / 86400,
                   count / SIM_TIME_MAX_S);
}

static void set_rate(run *x, double rate)
{
    reqs_spec *sp = &x->spec;
    if (sp->kind == REQS_TRACE || x->cfg.concurrency > 0)
        return;
    if (isinf(rate)) {
        sp->kind = REQS_AT_ZERO;
        return;
    }
    sp->rate_per_s = rate;
    sp->kind = !isnan(sp->burst_cv) && sp->burst_cv != 1 ? REQS_BURSTY : REQS_POISSON;
    if (isnan(sp->burst_cv))
        sp->burst_cv = 1;
    x->rate = rate;
}

static void on_record(void *ctx, const serve_record *r)
{
    run *x = ctx;
    x->job->on_record(x->job->record_ctx, r, x->rate);
}

/* ---- power: each iteration's work above the baseline, in bins ---- */

typedef struct pacc {
    const jpower *pw;
    pwr_site plain; /* the site without a floor */
    double dt;
    double *e[3]; /* energy above the baseline per bin: IT, IT smoothed, GPUs alone */
    size_t n, cap;
    int failed;   /* 1: out of memory; 2: more bins than a power series holds */
    double end_s; /* with failed 2: the time that needed too many bins */
} pacc;

static void pacc_put(pacc *p, int k, double t0, double t1, double w)
{
    /* Checked before the bins grow: a resolution of 1e-300 s must not
     * fill memory before the series would refuse it. */
    if (!(t1 / p->dt <= PSERIES_MAX_BINS)) {
        p->failed = 2;
        p->end_s = t1;
        return;
    }
    for (size_t b = (size_t)(t0 / p->dt); (double)b * p->dt < t1 && !p->failed; b++) {
        if (b >= p->cap) {
            /* The three series share p->cap, so each grows from a copy of
             * it (and all to the same cap); bins not yet reached hold zero. */
            size_t cap = 0;
            for (int i = 0; i < 3; i++) {
                cap = p->cap;
                double *a = vec_grow(p->e[i], &cap, b + 1, 1024, sizeof *a);
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

static void on_iteration(void *ctx, int64_t instance, int64_t gpus, double start_s, double dur_s,
                         double matrix_s, double memory_s, double comm_s)
{
    (void)instance;
    pacc *p = ctx;
    double g = (double)gpus;
    double it, gpu, it_s, gpu_s;
    pwr_work_w(&p->pw->lv, &p->plain, dur_s, matrix_s, memory_s, comm_s, &it, &gpu);
    pacc_put(p, 0, start_s, start_s + dur_s, g * it);
    if (p->pw->site.floor_frac > 0) {
        pwr_work_w(&p->pw->lv, &p->pw->site, dur_s, matrix_s, memory_s, comm_s, &it_s, &gpu_s);
        pacc_put(p, 1, start_s, start_s + dur_s, g * it_s);
        pacc_put(p, 2, start_s, start_s + dur_s, g * gpu_s);
    } else {
        pacc_put(p, 2, start_s, start_s + dur_s, g * gpu);
    }
}

/* The fleet's series over the run, and its energy and cost; the series
 * written and drawn go to out. */
static int serve_power(run *x, const serve_result *r, pacc *p, jserve_out *out, ms_err *err)
{
    double span = r->makespan_s > 0 ? r->makespan_s : p->dt, gpus = (double)x->cfg.gpus;
    pseries *it = NULL, *smooth = NULL, *gpu = NULL;
    int rc;
    if (p->failed == 2)
        return ms_errf(err, MS_EUSAGE,
                       "--power-resolution %g s: the run's %g s of simulated time need more than "
                       "%d power samples: use at least %g s",
                       p->dt, p->end_s, PSERIES_MAX_BINS, p->end_s / PSERIES_MAX_BINS);
    if (p->failed)
        return ms_errf(err, MS_ENOMEM, "out of memory recording power");
    if ((rc = pseries_new(0, span, p->dt, &it, err)) ||
        (rc = pseries_new(0, span, p->dt, &gpu, err)) ||
        (p->pw->site.floor_frac > 0 && (rc = pseries_new(0, span, p->dt, &smooth, err)))) {
        pseries_free(it);
        pseries_free(smooth);
        pseries_free(gpu);
        return rc;
    }
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
    prun_basis b = jpower_basis(p->pw);
    prun_summarize(&b, it, smooth, gpu, gpus, r->makespan_s, &x->power);
    x->have_power = 1;
    out->power_it = it;
    out->power_smooth = smooth;
    out->floor_frac = p->pw->site.floor_frac;
    pseries_free(gpu);
    return MS_OK;
}

/* ---- the report ---- */

static double per_million(double gpu_s, double tokens, double price)
{
    return tokens > 0 ? gpu_s / 3600 * price / (tokens / 1e6) : NAN;
}

/* "n <kind>instances of g GPUs (tp, dp, ep)" for a pool of layout p. */
static void describe_instances(char *buf, size_t cap, int64_t n, const char *kind,
                               const icost_config *p)
{
    int64_t g = icost_config_gpus(p);
    char stages[40] = "";
    if (p->pp > 1)
        snprintf(stages, sizeof stages, ", pp %lld", (long long)p->pp);
    snprintf(buf, cap, "%lld %sinstance%s of %lld GPU%s (tp %lld, dp %lld, ep %lld%s)",
             (long long)n, kind, n == 1 ? "" : "s", (long long)g, g == 1 ? "" : "s",
             (long long)p->tp, (long long)p->dp, (long long)p->ep, stages);
}

/* The run in words: the fleet, the workload, the policies. */
static void report_about(report *r, const run *x)
{
    const serve_config *cfg = &x->cfg;
    const icost_config *p = &cfg->par;
    char fleet[640], pre[160] = "", dec[160], work[300] = "", pol[200];
    icost_config pp = serve_prefill_par(cfg);
    int64_t pinst = cfg->prefill_instances;
    int64_t inst = (cfg->gpus - pinst * icost_config_gpus(&pp)) / icost_config_gpus(p);
    if (pinst > 0)
        describe_instances(pre, sizeof pre, pinst, "prefill ", &pp);
    describe_instances(dec, sizeof dec, inst, pinst > 0 ? "decode " : "", p);
    char quant[80] = "";
    if (p->act_quant)
        snprintf(quant, sizeof quant, " (activations quantized 1x%lld by kernels of their own)",
                 (long long)cfg->m->fp8_block);
    char graphs[64] = "";
    if (p->ngraphs > 0)
        snprintf(graphs, sizeof graphs, ", decode as CUDA graphs of up to %lld sequences a rank",
                 (long long)p->graph_sizes[p->ngraphs - 1]);
    snprintf(fleet, sizeof fleet, "%s%s%s, %s weights%s, %s KV cache%s%s", pre,
             pinst > 0 ? " and " : "", dec, ms_prec_name(p->weight_prec), quant,
             ms_prec_name(p->kv_prec),
             p->overlap      ? ", communication overlapped"
             : p->tp_overlap ? ", tensor-parallel all-reduces inside their GEMMs"
                             : "",
             graphs);
    size_t u = 0;
    if (x->spec.kind == REQS_TRACE)
        u += (size_t)snprintf(work, sizeof work, "replay of %s", x->spec.trace_path);
    else
        u += (size_t)snprintf(work, sizeof work, "input %s, output %s", x->in_len.spec,
                              x->out_len.spec);
    if (cfg->concurrency > 0 && u < sizeof work)
        u += (size_t)snprintf(work + u, sizeof work - u, ", %lld clients in a closed loop",
                              (long long)cfg->concurrency);
    if (cfg->best_of > 1 && u < sizeof work)
        u += (size_t)snprintf(work + u, sizeof work - u, ", best-of-%lld", (long long)cfg->best_of);
    const model *dm = cfg->par.draft_model;
    for (int i = 0; i < cfg->mtp_depth && u < sizeof work; i++)
        u += (size_t)snprintf(work + u, sizeof work - u, "%s%s%s%.0f%%", i ? ", " : ", ",
                              i    ? ""
                              : dm ? dm->name
                                   : "MTP",
                              i ? "" : " drafts accepted at ", 100 * cfg->mtp_accept[i]);
    if (cfg->mtp_depth > 0 && u < sizeof work)
        u += (size_t)snprintf(work + u, sizeof work - u, " (%.3g tokens a step)",
                              serve_tokens_per_step(cfg->mtp_accept, cfg->mtp_depth));
    if (cfg->cache_hit > 0 && u < sizeof work)
        snprintf(work + u, sizeof work - u,
                 ", %.1f%% of prompt tokens from a prefix cache loaded at %.3g GB/s a GPU",
                 100 * cfg->cache_hit, cfg->cache_load_Bps / 1e9);
    snprintf(pol, sizeof pol, "admission %s, preemption by %s",
             cfg->admission == SERVE_ADMIT_GREEDY ? "greedy" : "planned (room for the mean output)",
             cfg->preempt == SERVE_SWAP ? "swap" : "recompute");
    report_str(r, "model", NULL, cfg->m->name);
    report_str(r, "chip", NULL, cfg->c->name);
    report_str(r, "fleet", NULL, fleet);
    report_str(r, "workload", NULL, work);
    report_str(r, "policies", NULL, pol);
}

/* Where a result's values go: a run's report, or a row of a sweep's
 * table, whose shown columns were written first (and are skipped here)
 * and whose other values are JSON only. */
typedef struct rctx {
    report *r;
    int in_row;
} rctx;

static int shown_in_row(const char *key)
{
    static const char *const shown[] = {"rate_per_s", "output_tokens_per_s_per_gpu",
                                        "tpot_p50_s", "tpot_p99_s",
                                        "ttft_p50_s", "ttft_p99_s"};
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        if (strcmp(shown[i], key) == 0)
            return 1;
    return 0;
}

static void num(const rctx *c, const char *key, const char *label, double v, const char *unit)
{
    if (!(c->in_row && shown_in_row(key)))
        report_num(c->r, key, label, v, unit);
}

static void begin(const rctx *c, const char *title)
{
    if (!c->in_row)
        report_begin(c->r, NULL, title);
}

static void end(const rctx *c)
{
    if (!c->in_row)
        report_end(c->r);
}

/* Each pool of a disaggregated fleet: its layout and its throughput, over
 * the run and while it works (DeepSeek's per-node figures count a pool's
 * tokens over the nodes it occupies; prompts are counted whole, cache
 * hits included, as DeepSeek counts them). */
static void report_pools(const rctx *c, const serve_result *s, double node)
{
    static const char *const name[2] = {"prefill", "decode"};
    begin(c, "prefill and decode pools");
    for (int k = 0; k < 2; k++) {
        const serve_pool *p = &s->pool[k];
        char key[80], label[120];
#define POOL_NUM(suffix, what, v, unit)                                                            \
    do {                                                                                           \
        snprintf(key, sizeof key, "%s_%s", name[k], suffix);                                       \
        snprintf(label, sizeof label, "%s pool, %s", name[k], what);                               \
        num(c, key, label, v, unit);                                                               \
    } while (0)
        POOL_NUM("gpus", "GPUs", (double)p->gpus, "");
        POOL_NUM("instances", "instances", (double)p->instances, "");
        POOL_NUM("tp", "tensor parallel", (double)p->tp, "");
        POOL_NUM("dp", "data parallel", (double)p->dp, "");
        POOL_NUM("ep", "expert parallel", (double)p->ep, "");
        POOL_NUM("kv_capacity_tokens_per_instance", "KV cache, tokens an instance",
                 (double)p->kv_capacity_tokens, "");
        POOL_NUM("busy_fraction", "share of its GPU time iterating",
                 p->busy_gpu_s / ((double)p->gpus * s->makespan_s), "%");
        if (k == 0) {
            POOL_NUM("input_tokens_per_s_per_gpu", "computed input per GPU",
                     p->input_tps / (double)p->gpus, "tokens/s");
            POOL_NUM("input_tokens_per_s_per_busy_node", "input per node while busy, hits included",
                     p->prompt_tokens / p->busy_gpu_s * node, "tokens/s");
            POOL_NUM("computed_tokens_per_s_per_busy_node", "input computed per node while busy",
                     p->input_tokens / p->busy_gpu_s * node, "tokens/s");
        } else {
            POOL_NUM("output_tokens_per_s_per_gpu", "output per GPU",
                     p->output_tps / (double)p->gpus, "tokens/s");
            POOL_NUM("output_tokens_per_s_per_busy_node", "output per node while busy",
                     p->output_tokens / p->busy_gpu_s * node, "tokens/s");
            if (p->full_batch_s > 0)
                POOL_NUM("output_tokens_per_s_per_node_full_batch",
                         "output per node at a full batch (95% of --max-batch or more)",
                         p->full_batch_tokens /
                             (p->full_batch_s * (double)(p->gpus / p->instances)) * node,
                         "tokens/s");
        }
#undef POOL_NUM
    }
    end(c);
}

/* One run's figures (a sweep's rows hold the same). */
/* --years: the fleet's cost over the horizon, serving all along as in the
 * run (its mean power, its tokens a second), and per million tokens of
 * each kind, the GPU-seconds split between prefill and decode as the run
 * split them. */
static void report_horizon(report *r, const tco_horizon *h, const serve_result *s)
{
    char title[96], a[32];
    snprintf(title, sizeof title, "cost over %s years, serving as in this run",
             report_format(h->years, "", a, sizeof a));
    report_begin(r, "over_years", title);
    report_num(r, "years", "years", h->years, "");
    if (isnan(h->rent_usd)) {
        report_num(r, "usd_servers", "servers", h->servers_usd, "USD");
        report_num(r, "usd_network", "network", h->network_usd, "USD");
        report_num(r, "usd_facility", "facility", h->facility_usd, "USD");
    } else {
        report_num(r, "usd_rent", "rent, less its energy", h->rent_usd, "USD");
    }
    report_num(r, "usd_energy", "energy", h->energy_usd, "USD");
    report_num(r, "usd_total", "total", h->total_usd, "USD");
    double secs = h->years * TCO_HOURS_PER_YEAR * 3600, span = s->makespan_s;
    double in_tok = s->input_tokens / span * secs, out_tok = s->output_tokens / span * secs;
    double gpu_s = s->gpu_s_input + s->gpu_s_output;
    report_num(r, "input_tokens", "input tokens served", in_tok, "");
    report_num(r, "output_tokens", "output tokens served", out_tok, "");
    report_num(r, "usd_per_million_input_tokens", "per million input tokens",
               in_tok > 0 ? h->total_usd * s->gpu_s_input / gpu_s / (in_tok / 1e6) : NAN, "USD");
    report_num(r, "usd_per_million_output_tokens", "per million output tokens",
               out_tok > 0 ? h->total_usd * s->gpu_s_output / gpu_s / (out_tok / 1e6) : NAN, "USD");
    report_end(r);
}

static void report_result(report *r, const run *x, const serve_result *s, int in_row)
{
    rctx c = {r, in_row};
    if (in_row) { /* the columns a sweep's table shows; the rest JSON only */
        report_num(r, "rate_per_s", "rate", x->spec.rate_per_s, "requests/s");
        report_num(r, "output_tokens_per_s_per_gpu", "output per GPU",
                   s->output_tps / (double)x->cfg.gpus, "tokens/s");
        report_num(r, "tpot_p50_s", "TPOT p50", s->tpot_s.p50, "s");
        report_num(r, "tpot_p99_s", "TPOT p99", s->tpot_s.p99, "s");
        report_num(r, "ttft_p50_s", "TTFT p50", s->ttft_s.p50, "s");
        report_num(r, "ttft_p99_s", "TTFT p99", s->ttft_s.p99, "s");
        report_begin_hidden(r, NULL);
    }
    const serve_config *cfg = &x->cfg;
    double g = (double)cfg->gpus, price = x->price_eff, node = (double)x->node;
    begin(&c, "fleet and requests");
    num(&c, "gpus", "GPUs", g, "");
    num(&c, "tp", "tensor parallel", (double)cfg->par.tp, "");
    num(&c, "dp", "data parallel", (double)cfg->par.dp, "");
    num(&c, "ep", "expert parallel", (double)cfg->par.ep, "");
    num(&c, "pp", "pipeline stages", (double)icost_config_stages(&cfg->par), "");
    num(&c, "rate_per_s", "arrival rate", x->spec.kind == REQS_AT_ZERO ? NAN : x->spec.rate_per_s,
        "requests/s");
    num(&c, "requests", "finished", (double)s->requests, "");
    num(&c, "rejected", "rejected (too long for an instance)", (double)s->rejected, "");
    num(&c, "preemptions", NULL, (double)s->preemptions, "");
    num(&c, "makespan_s", "in", s->makespan_s, "s");
    num(&c, "input_tokens", "input tokens", s->input_tokens, "");
    num(&c, "output_tokens", "output tokens", s->output_tokens, "");
    end(&c);
    begin(&c, "throughput");
    num(&c, "output_tokens_per_s", "output", s->output_tps, "tokens/s");
    num(&c, "input_tokens_per_s", "input", s->input_tps, "tokens/s");
    num(&c, "output_tokens_per_s_per_gpu", "output per GPU", s->output_tps / g, "tokens/s");
    num(&c, "input_tokens_per_s_per_gpu", "input per GPU", s->input_tps / g, "tokens/s");
    num(&c, "node_gpus", "GPUs a node", node, "");
    num(&c, "output_tokens_per_s_per_node", "output per node", s->output_tps / g * node,
        "tokens/s");
    if (s->cache_hit_tokens > 0)
        num(&c, "cache_hit_fraction", "prompt tokens loaded from the prefix cache",
            s->cache_hit_tokens / s->input_tokens, "%");
    end(&c);
    if (!in_row) { /* summed over every instance's iterations, both pools */
        double part[3] = {0, 0, 0};
        for (int k = 0; k < s->pools; k++) {
            part[0] += s->pool[k].matrix_s;
            part[1] += s->pool[k].memory_s;
            part[2] += s->pool[k].comm_s;
        }
        report_begin(r, "breakdown_s", "where the instances' iterations go (instance-seconds)");
        report_num(r, "compute: bound by FLOPs", NULL, part[0], "s");
        report_num(r, "compute: bound by HBM", NULL, part[1], "s");
        report_num(r, "exposed communication, KV loads and stalls", NULL, part[2], "s");
        report_end(r);
    }
    if (s->pools == 2)
        report_pools(&c, s, node);
    begin(&c, "latency");
    static const char *const keys[][3] = {{"ttft_p50_s", "ttft_p90_s", "ttft_p99_s"},
                                          {"tpot_p50_s", "tpot_p90_s", "tpot_p99_s"},
                                          {"e2e_p50_s", "e2e_p90_s", "e2e_p99_s"}};
    static const char *const labels[][3] = {
        {"time to first token, p50", "time to first token, p90", "time to first token, p99"},
        {"time per output token, p50", "time per output token, p90", "time per output token, p99"},
        {"end to end, p50", "end to end, p90", "end to end, p99"}};
    const serve_pcts *ps[] = {&s->ttft_s, &s->tpot_s, &s->e2e_s};
    for (int k = 0; k < 3; k++) {
        num(&c, keys[k][0], labels[k][0], ps[k]->p50, "s");
        num(&c, keys[k][1], labels[k][1], ps[k]->p90, "s");
        num(&c, keys[k][2], labels[k][2], ps[k]->p99, "s");
    }
    num(&c, "e2e_mean_s", "end to end, mean", s->e2e_s.mean, "s");
    end(&c);
    begin(&c, "batch and KV cache");
    num(&c, "max_batch", "largest batch decoding on one instance", (double)s->max_batch_seen, "");
    num(&c, "batch_fit", "sequences that fit at the mean final context", (double)s->batch_fit, "");
    num(&c, "kv_capacity_tokens_per_instance", "KV cache, tokens an instance",
        (double)s->kv_capacity_tokens, "");
    num(&c, "kv_peak_fraction", "KV cache occupancy, peak", s->kv_peak_frac, "%");
    num(&c, "kv_mean_fraction", "KV cache occupancy, mean", s->kv_mean_frac, "%");
    num(&c, "weights_bytes_per_gpu", "weights per GPU", s->weights_B_per_gpu, "B");
    num(&c, "kv_bytes_per_token_per_gpu", "KV cache per token per GPU", s->kv_B_per_token_per_gpu,
        "B");
    num(&c, "kv_free_bytes_per_gpu", "KV cache free per GPU", s->kv_free_B_per_gpu, "B");
    end(&c);
    begin(&c, "cost");
    double gpu_h = g * s->makespan_s / 3600;
    num(&c, "gpu_hours", "GPU-hours", gpu_h, "GPU-hours");
    num(&c, "usd_total", "the run", gpu_h * price, "USD");
    num(&c, "usd_per_request", "a request", gpu_h * price / (double)s->requests, "USD");
    num(&c, "gpu_hours_per_million_input_tokens", "GPU-hours per million input tokens",
        per_million(s->gpu_s_input, s->input_tokens, 1), "");
    num(&c, "gpu_hours_per_million_output_tokens", "GPU-hours per million output tokens",
        per_million(s->gpu_s_output, s->output_tokens, 1), "");
    num(&c, "usd_per_million_input_tokens", "per million input tokens",
        per_million(s->gpu_s_input, s->input_tokens, price), "USD");
    num(&c, "usd_per_million_output_tokens", "per million output tokens",
        per_million(s->gpu_s_output, s->output_tokens, price), "USD");
    end(&c);
    if (x->have_power && !in_row)
        jpower_report(r, &x->power, "power and cost of the run (facility = IT x PUE)");
    if (!in_row && !isnan(x->life.years))
        report_horizon(r, &x->life, s);
    begin(&c, "engine");
    num(&c, "iterations", NULL, (double)s->iterations, "");
    num(&c, "events", NULL, (double)s->events, "");
    end(&c);
    if (!in_row) { /* as train says it */
        report_begin(r, NULL, "calibration");
        report_str(r, "compute_calibration", "compute",
                   cfg->cal ? "hwdb/efficiency.csv" : "datasheet peak (--peak)");
        report_strs_split(r, "uncalibrated",
                          "at the datasheet peak for want of a kernel measurement",
                          s->uncalibrated);
        report_end(r);
    }
    if (in_row)
        report_end(r);
}

/* One run, at rate (NAN for a closed loop or a replay), with power when
 * it can be known. */
static int run_one(const jserve_job *j, const jenv *env, run *x, double rate, report *r,
                   jserve_out *out, ms_err *err)
{
    int rc;
    if (isinf(rate) && x->spec.count == 0)
        return ms_errf(err, MS_EUSAGE, "--rate inf needs --requests N");
    /* Power: the fleet's GPUs and the fat-tree joining its servers. */
    int64_t radix,
        switches = x->cfg.gpus > x->node ? topo_fattree_switches((double)x->cfg.gpus, &radix) : 0;
    jpower pw = {0};
    pacc pa = {0};
    int loaded;
    if ((rc = jpower_load_optional(&j->power, env, x->cfg.c, (double)x->cfg.gpus, switches,
                                   j->price_per_gpu_hour, &pw, &loaded, out->power_note,
                                   sizeof out->power_note, err)))
        goto out;
    if (!loaded && !isnan(j->years)) {
        rc = ms_errf(err, MS_EINVAL, "--years needs the fleet's energy, so its power: %s",
                     out->power_note);
        goto out;
    }
    if (loaded) {
        pa = (pacc){.pw = &pw, .plain = pw.site, .dt = j->power_resolution_s};
        pa.plain.floor_frac = 0;
        x->cfg.on_iteration = on_iteration;
        x->cfg.iter_ctx = &pa;
    }
    if ((rc = check_span(x, "--rate", rate, err)))
        goto out;
    set_rate(x, rate);
    x->rate =
        x->spec.kind == REQS_POISSON || x->spec.kind == REQS_BURSTY ? x->spec.rate_per_s : NAN;
    serve_result s;
    if ((rc = serve_run(&x->cfg, &s, err)) || (loaded && (rc = serve_power(x, &s, &pa, out, err))))
        goto out;
    if (x->have_power && isnan(j->price_per_gpu_hour))
        x->price_eff = x->power.usd_per_gpu_hour;
    x->life = (tco_horizon){.years = NAN};
    if (x->have_power && !isnan(j->years))
        x->life = tco_over_years(&pw.tco, pw.price_per_gpu_hour, (double)x->cfg.gpus,
                                 x->power.facility_mean_w, j->years);
    report_result(r, x, &s, 0);
out:
    for (int k = 0; k < 3; k++)
        free(pa.e[k]);
    jpower_free(&pw);
    return rc;
}

/* A run per rate; the report holds a row per rate. */
static int run_sweep(const jserve_job *j, run *x, report *r, jserve_out *out, ms_err *err)
{
    int rc = parse_rates(j->sweep_rate, &out->rates, &out->nrates, err);
    if (rc)
        return rc;
    if (!(out->sweep = calloc(out->nrates, sizeof *out->sweep)))
        return ms_errf(err, MS_ENOMEM, "out of memory");
    for (size_t k = 0; k < out->nrates; k++)
        if ((rc = check_span(x, "--sweep-rate", out->rates[k], err)))
            return rc;
    for (size_t k = 0; k < out->nrates; k++) {
        set_rate(x, out->rates[k]);
        if ((rc = serve_run(&x->cfg, &out->sweep[k], err)))
            return rc;
    }
    report_table(r, "results", "latency against throughput");
    for (size_t k = 0; k < out->nrates; k++) {
        x->spec.rate_per_s = out->rates[k];
        report_row(r);
        report_result(r, x, &out->sweep[k], 1);
    }
    report_table_end(r);
    return MS_OK;
}

/* ---- MLPerf's Server scenario: the highest rate within the limits ---- */

/* The search starts at the offline capacity and steps the rate up or
 * down until the limits flip, then bisects until the rate found is
 * within SEARCH_REL of one that fails. The first SEARCH_FINE steps are
 * by SEARCH_FINE_FACTOR, as the answer is most often near the capacity
 * and a narrow bracket saves bisecting; then SEARCH_STEPS doublings or
 * halvings (to about 1/1000 of the capacity or 1000 times it). */
#define SEARCH_FINE        2
#define SEARCH_FINE_FACTOR 1.25
#define SEARCH_STEPS       10
/* Requests of the offline run that gives the first rate, when the runs
 * are given a --duration and not a count: at least this many, and enough
 * to fill every decode instance's batch START_FILLS times over, so that
 * the run's last batches, which drain with ever fewer sequences, take a
 * small share of it and the first rate lands near the fleet's capacity
 * (a big fleet's search then starts close to its answer). */
#define SEARCH_START_REQUESTS 1000
#define START_FILLS           4
/* and at most this many, which bounds the start run's cost for a fleet of
 * millions of sequences (its rate is then from a part of its capacity) */
#define START_MAX_REQUESTS 1e7
#define SEARCH_REL         0.01
#define SEARCH_TRIALS      48

typedef struct trial {
    double rate_per_s, ttft_p99_s, tpot_p99_s; /* NAN when stopped */
    double output_tps;                         /* output tokens completed a second over the run */
    int64_t rejected;
    int meets;
    double stopped_s; /* NAN: ran to its end; else when it was certain to fail */
} trial;

/* A request with one output token has no time per output token, so a
 * missing p99 TPOT limits nothing; a rejected request fails the run. */
static int meets_limits(const jserve_job *j, const serve_result *s)
{
    return s->rejected == 0 && s->ttft_s.p99 <= j->p99_ttft_s &&
           (isnan(s->tpot_s.p99) || s->tpot_s.p99 <= j->p99_tpot_s);
}

/* A trial stops, if stop, as soon as it is certain to miss a limit
 * (serve's stop_p99): past capacity, the queue grows and the run would
 * otherwise go on to its end only to fail. */
static int try_rate(const jserve_job *j, run *x, double rate, int stop, trial *t, ms_err *err)
{
    serve_result s;
    set_rate(x, rate);
    x->cfg.stop_p99_ttft_s = stop ? j->p99_ttft_s : 0;
    x->cfg.stop_p99_tpot_s = stop ? j->p99_tpot_s : 0;
    int rc = serve_run(&x->cfg, &s, err);
    x->cfg.stop_p99_ttft_s = x->cfg.stop_p99_tpot_s = 0;
    if (rc)
        return rc;
    *t = (trial){.rate_per_s = rate,
                 .ttft_p99_s = s.stopped ? NAN : s.ttft_s.p99,
                 .tpot_p99_s = s.stopped ? NAN : s.tpot_s.p99,
                 .output_tps = s.output_tps,
                 .rejected = s.rejected,
                 .meets = !s.stopped && meets_limits(j, &s),
                 .stopped_s = s.stopped ? s.stopped_s : NAN};
    return MS_OK;
}

static int none_meets(const jserve_job *j, const trial *t, ms_err *err)
{
    if (t->rejected > 0) /* the run stops at the first */
        return ms_errf(err, MS_EINVAL,
                       "--scenario server: some requests are too long to ever fit an "
                       "instance's KV cache, so no rate meets the limits (megasim serve at any "
                       "rate counts them as rejected)");
    return ms_errf(err, MS_EINVAL,
                   "--scenario server: no arrival rate meets --p99-ttft %g s and --p99-tpot %g "
                   "s: even at %.4g requests/s (1/%.0f of the offline rate) the p99 time to "
                   "first token is %.4g s and the p99 time per output token %.4g s",
                   j->p99_ttft_s, j->p99_tpot_s, t->rate_per_s,
                   pow(SEARCH_FINE_FACTOR, SEARCH_FINE) * (1 << SEARCH_STEPS), t->ttft_p99_s,
                   t->tpot_p99_s);
}

static void report_search(report *r, const jserve_job *j, double capacity, const trial *tr,
                          size_t n, const trial *found)
{
    report_begin(r, "server_search", "MLPerf Server: the highest rate within the p99 limits");
    report_num(r, "p99_ttft_limit_s", "p99 time to first token allowed", j->p99_ttft_s, "s");
    report_num(r, "p99_tpot_limit_s", "p99 time per output token allowed", j->p99_tpot_s, "s");
    report_num(r, "offline_rate_per_s", "offline rate, every request at time zero", capacity,
               "requests/s");
    report_num(r, "rate_found_per_s", "rate found", found->rate_per_s, "requests/s");
    /* What MLPerf reports for Server: the output tokens completed over the
     * run, from its first arrival to its last answer. */
    report_num(r, "output_tokens_per_s", "output completed a second at that rate",
               found->output_tps, "tokens/s");
    report_int(r, "trials", "runs searched", (int64_t)n, "");
    report_end(r);
    report_table(r, "server_trials", "the runs of the search");
    for (size_t i = 0; i < n; i++) {
        report_row(r);
        report_num(r, "rate_per_s", "rate", tr[i].rate_per_s, "requests/s");
        report_num(r, "ttft_p99_s", "TTFT p99", tr[i].ttft_p99_s, "s");
        report_num(r, "tpot_p99_s", "TPOT p99", tr[i].tpot_p99_s, "s");
        report_bool(r, "meets", "within the limits", tr[i].meets);
        report_num(r, "stopped_at_s", "stopped, certain to miss, at", tr[i].stopped_s, "s");
    }
    report_table_end(r);
}

/* Sequences the fleet's decode instances hold at once: each its max
 * batch (of every micro-batch) or what its cache holds at the mean final
 * context, whichever is fewer. */
static double fleet_slots(const run *x, const serve_result *s)
{
    double per = (double)s->batch_fit;
    int64_t mb = x->cfg.max_batch * icost_config_stages(&x->cfg.par);
    if (mb > 0 && (double)mb < per)
        per = (double)mb;
    return per * (double)s->pool[s->pools > 1 ? 1 : 0].instances;
}

/* The offline run's requests over its makespan give a first rate (not a
 * bound: its last minutes run small batches, and a steady stream can keep
 * batches fuller). From there the rate doubles while it meets the limits
 * or halves while it does not, then is bisected (geometrically) between
 * the highest that meets them and the lowest that does not. Arrivals at
 * every rate are the same exponential draws scaled, so the p99s move
 * with the rate and not with the luck of the draw. The rate found is
 * then run again in full for the report. */
static int run_server(const jserve_job *j, const jenv *env, run *x, report *r, jserve_out *out,
                      ms_err *err)
{
    trial tr[SEARCH_TRIALS];
    size_t n = 0;
    serve_result s;
    reqs_spec given = x->spec;
    if (given.count == 0) { /* runs by duration: the first rate from a count */
        x->spec.count = SEARCH_START_REQUESTS;
        x->spec.duration_s = 0;
    }
    set_rate(x, INFINITY);
    int rc = serve_run(&x->cfg, &s, err);
    double fills = START_FILLS * fleet_slots(x, &s);
    if (!rc && given.count == 0 && fills > SEARCH_START_REQUESTS) {
        x->spec.count = (int64_t)fmin(ceil(fills), START_MAX_REQUESTS);
        rc = serve_run(&x->cfg, &s, err);
    }
    x->spec.count = given.count;
    x->spec.duration_s = given.duration_s;
    if (rc)
        return rc;
    double capacity = s.makespan_s > 0 ? (double)s.requests / s.makespan_s : NAN;
    if (!(capacity > 0 && isfinite(capacity)))
        return ms_errf(err, MS_EINVAL,
                       "--scenario server: the offline run finished no request, so there is no "
                       "rate to search from");
    double hi = NAN, lo = NAN, rate = capacity;
    size_t best = 0; /* the trial at lo */
    for (int k = 0; k <= SEARCH_FINE + SEARCH_STEPS && (isnan(lo) || isnan(hi)); k++) {
        if ((rc = try_rate(j, x, rate, 1, &tr[n], err)))
            return rc;
        if (tr[n++].meets)
            lo = rate, best = n - 1;
        else
            hi = rate;
        double f = k < SEARCH_FINE ? SEARCH_FINE_FACTOR : 2;
        rate = isnan(hi) ? f * rate : rate / f;
        if (!isnan(lo) && !isnan(hi) && lo > hi) /* met higher up than it failed: stop there */
            break;
    }
    if (isnan(lo)) { /* the lowest rate again, to its end, for its p99s */
        trial last = tr[n - 1];
        if (!isnan(last.stopped_s) && last.rejected == 0 &&
            (rc = try_rate(j, x, last.rate_per_s, 0, &last, err)))
            return rc;
        return none_meets(j, &last, err);
    }
    if (isnan(hi) || lo > hi)
        hi = lo;
    while (lo < hi && hi / lo > 1 + SEARCH_REL && n < SEARCH_TRIALS) {
        double mid = sqrt(lo * hi);
        if ((rc = try_rate(j, x, mid, 1, &tr[n], err)))
            return rc;
        if (tr[n++].meets)
            lo = mid, best = n - 1;
        else
            hi = mid;
    }
    report_search(r, j, capacity, tr, n, &tr[best]);
    return run_one(j, env, x, lo, r, out, err);
}

/* The figures a band is given for (each where the run has it). */
static const junc_key band_keys[] = {
    {"output_tokens_per_s", NULL, "output", "tokens/s"},
    {"output_tokens_per_s_per_gpu", NULL, "output per GPU", "tokens/s"},
    {"input_tokens_per_s_per_gpu", NULL, "input per GPU", "tokens/s"},
    {"output_tokens_per_s_per_node", NULL, "output per node", "tokens/s"},
    {"ttft_p50_s", NULL, "time to first token, p50", "s"},
    {"ttft_p99_s", NULL, "time to first token, p99", "s"},
    {"tpot_p50_s", NULL, "time per output token, p50", "s"},
    {"tpot_p99_s", NULL, "time per output token, p99", "s"},
    {"e2e_p50_s", NULL, "end to end, p50", "s"},
    {"usd_per_million_input_tokens", NULL, "per million input tokens", "USD"},
    {"usd_per_million_output_tokens", NULL, "per million output tokens", "USD"},
    {"prefill_input_tokens_per_s_per_busy_node", NULL,
     "prefill pool, input per node while busy, hits included", "tokens/s"},
    {"prefill_computed_tokens_per_s_per_busy_node", NULL,
     "prefill pool, input computed per node while busy", "tokens/s"},
    {"decode_output_tokens_per_s_per_busy_node", NULL, "decode pool, output per node while busy",
     "tokens/s"},
    {"decode_output_tokens_per_s_per_node_full_batch", NULL,
     "decode pool, output per node at a full batch", "tokens/s"},
    {"server_search.rate_found_per_s", "server_rate_found_per_s", "MLPerf Server, rate found",
     "requests/s"},
    {"server_search.output_tokens_per_s", "server_output_tokens_per_s",
     "MLPerf Server, output completed a second", "tokens/s"},
    {"node_power_mean_w", NULL, "a server at the wall, mean", "W"},
    {"node_power_peak_w", NULL, "a server at the wall, peak", "W"},
};

/* One prediction with the calibration x holds; bands (NULL: none) at
 * the end of the report. */
static int serve_once(const jserve_job *j, const jenv *env, run *x, const junc *bands, report *r,
                      jserve_out *out, ms_err *err)
{
    int rc = MS_OK;
    report_version(r, env->version);
    jopt_report_inputs(&jserve_options, j, r);
    report_about(r, x);
    double rate = j->scenario == JSERVE_OFFLINE ? INFINITY : NAN;
    if (j->sweep_rate)
        rc = run_sweep(j, x, r, out, err);
    else if (j->scenario == JSERVE_SERVER)
        rc = run_server(j, env, x, r, out, err);
    else if (!(j->rate && (rc = parse_rate("--rate", j->rate, &rate, err))))
        rc = run_one(j, env, x, rate, r, out, err);
    if (!rc && bands)
        junc_report(bands, (uint64_t)j->seed, r);
    return rc;
}

/* --uncertainty: the prediction again with each draw of the calibration,
 * the same requests each time, quietly (no progress, no per-request
 * records); its figures into *bands (the caller's to free). */
static int serve_draws(const jserve_job *j, const jenv *env, run *x, junc **bands, ms_err *err)
{
    size_t n = (size_t)j->uncertainty;
    int rc = junc_new(band_keys, sizeof band_keys / sizeof band_keys[0], n, bands, err);
    /* Each draw starts from the configuration as loaded: a run leaves its
     * power hook (on_iteration) pointing into its own frame. */
    serve_config cfg0 = x->cfg, quiet = x->cfg;
    reqs_spec spec0 = x->spec;
    quiet.on_record = NULL;
    quiet.progress = NULL;
    for (size_t d = 0; !rc && d < n; d++) {
        calib *drawn = NULL;
        report *r = report_new();
        jserve_out o = {0};
        if (!r)
            rc = ms_errf(err, MS_ENOMEM, "out of memory");
        coll_params net;
        jserve_job jd = *j; /* the node's estimated power drawn too, unless given */
        if (!rc)
            rc = junc_calib(x->cal, (uint64_t)j->seed, d, &drawn, err);
        if (!rc)
            rc = junc_net(&x->net, (uint64_t)j->seed, d, &net, err);
        if (!rc && isnan(j->power.node_power_fraction))
            rc = junc_power_u((uint64_t)j->seed, d, &jd.power.node_power_fraction, err);
        if (!rc) {
            x->cfg = quiet;
            x->cfg.cal = drawn;
            x->cfg.cp = &net;
            if (x->net.eff[TOPO_LINK_NIC] > 0) /* the KV transfers ride the NIC */
                x->cfg.kv_link_Bps *= net.eff[TOPO_LINK_NIC] / x->net.eff[TOPO_LINK_NIC];
            x->spec = spec0;
            rc = serve_once(&jd, env, x, NULL, r, &o, err);
        }
        if (!rc)
            rc = junc_add_report(*bands, d, r, err);
        jserve_out_free(&o);
        report_free(r);
        calib_free(drawn);
    }
    x->cfg = cfg0;
    x->spec = spec0;
    x->price_eff = j->price_per_gpu_hour;
    x->have_power = 0;
    return rc;
}

int jserve_run(const jserve_job *j, const jenv *env, report *r, jserve_out *out, ms_err *err)
{
    *out = (jserve_out){0};
    run x = {.job = j, .price_eff = j->price_per_gpu_hour, .rate = NAN, .life = {.years = NAN}};
    junc *bands = NULL;
    int rc = setup(j, env, &x, err);
    if (!rc && j->uncertainty != JOPT_NO_INT && (j->peak || j->sweep_rate))
        rc = ms_errf(err, MS_EUSAGE,
                     j->peak ? "--uncertainty draws the calibration's efficiencies, which --peak "
                               "ignores: give one of them"
                             : "--uncertainty gives one run a band; a --sweep-rate is many runs: "
                               "give one of them");
    if (!rc)
        rc = load(j, env, &x, out, err);
    if (!rc) {
        if (j->on_record) {
            x.cfg.on_record = on_record;
            x.cfg.record_ctx = &x;
        }
        x.cfg.progress = j->progress;
        x.cfg.progress_ctx = j->progress_ctx;
        if (j->uncertainty != JOPT_NO_INT)
            rc = serve_draws(j, env, &x, &bands, err);
    }
    if (!rc)
        rc = serve_once(j, env, &x, bands, r, out, err);
    junc_free(bands);
    run_free(&x);
    return rc;
}

void jserve_out_free(jserve_out *out)
{
    free(out->rates);
    free(out->sweep);
    pseries_free(out->power_it);
    pseries_free(out->power_smooth);
    *out = (jserve_out){0};
}
