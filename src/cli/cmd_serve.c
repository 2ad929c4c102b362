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
#include "job/jpower.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "job/jcompare.h"
#include "job/jserve.h"
#include "report/report.h"
#include "serve/serve.h"

/* ---- per-request CSV and progress ---- */

/* The CSV is written to an afile as the run goes and committed at its
 * end: a run that fails or is killed leaves no partial CSV. Write errors
 * are collected by the commit. */
typedef struct csv_out {
    afile *af;
    FILE *f;
} csv_out;

static void write_record(void *ctx, const serve_record *r, double rate_per_s)
{
    csv_out *o = ctx;
    if (!o->f)
        return;
    double ttft = r->first_token_s - r->arrival_s, e2e = r->done_s - r->arrival_s;
    double tpot = r->output_tokens > r->chains
                      ? (r->done_s - r->first_token_s) / ((double)r->output_tokens / r->chains - 1)
                      : NAN;
    char rate[32] = "";
    if (!isnan(rate_per_s))
        snprintf(rate, sizeof rate, "%.9g", rate_per_s);
    fprintf(o->f, "%s,%lld,%.9g,%lld,%lld,%lld,%lld,%.9g,%.9g,%.9g,%lld,%d\n", rate,
            (long long)r->id, r->arrival_s, (long long)r->instance, (long long)r->input_tokens,
            (long long)r->output_tokens, (long long)r->chains, ttft, tpot, e2e,
            (long long)r->preemptions, r->rejected);
}

static void progress(void *ctx, double sim_s, int64_t done, int64_t total)
{
    char note[48];
    snprintf(note, sizeof note, "%.0f s simulated", sim_s);
    cli_progress_update(ctx, (double)done, (double)total, "requests done", note);
}

static int write_sweep_plot(const char *out, const jserve_out *o, ms_err *err)
{
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, drawn, rc;
    if ((rc = gp_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = cli_home_path(tmpl_path, sizeof tmpl_path, "plots/serve-sweep.gp", err)))
        return rc;
    afile *dat_af;
    if ((rc = afile_open(dat_path, &dat_af, err)))
        return rc;
    FILE *dat = afile_stream(dat_af);
    fprintf(dat, "# megasim serve sweep: rate_per_s output_tok_per_s_per_gpu tpot_p50_ms "
                 "tpot_p99_ms ttft_p50_s ttft_p99_s\n");
    for (size_t k = 0; k < o->nrates; k++) {
        const serve_result *r = &o->sweep[k];
        fprintf(dat, "%.6g %.6g %.6g %.6g %.6g %.6g\n", o->rates[k], r->output_tps / o->gpus,
                1e3 * r->tpot_s.p50, 1e3 * r->tpot_s.p99, r->ttft_s.p50, r->ttft_s.p99);
    }
    if ((rc = afile_commit(dat_af, err)))
        return rc;
    if ((rc = gp_write_script(gp_path, tmpl_path, "megasim serve", dat_path, out, svg, o->title,
                              NULL, 0, err)))
        return rc;
    return gp_plot_draw(gp_path, dat_path, out, &drawn, err);
}

/* The per-request CSV, opened with its header. */
static int open_csv(const char *path, csv_out *csv, ms_err *err)
{
    int rc = afile_open(path, &csv->af, err);
    if (rc)
        return rc;
    csv->f = afile_stream(csv->af);
    fprintf(csv->f, "rate_per_s,id,arrival_s,instance,input_tokens,output_tokens,chains,ttft_s,"
                    "tpot_s,e2e_s,preemptions,rejected\n");
    return MS_OK;
}

/* What the run leaves besides its report: the power series, the curve. */
static int write_outputs(const jserve_job *j, const jserve_out *o, ms_err *err)
{
    int rc = MS_OK;
    if (o->power_it)
        rc = jpower_write_series(cli_env(), j->power.power_trace, j->power.power_plot,
                                 o->floor_frac, o->power_it, o->power_smooth, o->power_title, err);
    if (!rc && j->plot && (rc = write_sweep_plot(j->plot, o, err)) == MS_OK)
        fprintf(j->json ? stderr : stdout, "plot: %s\n", j->plot);
    return rc;
}

/* --chip A,B,C: the chips side by side (src/job/jcompare). */
static int run_compare(const cli_cmd *cmd, jserve_job *j)
{
    cli_progress prog;
    cli_progress_start(&prog, "serve");
    j->progress = progress;
    j->progress_ctx = &prog;
    ms_err err = {0};
    char warnings[MODELFILE_WARN_MAX];
    report *r = report_new();
    int rc = r ? jcompare_serve_run(j, cli_env(), r, warnings, sizeof warnings, &err)
               : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&prog);
    if (r && warnings[0])
        fprintf(stderr, "%s", warnings);
    if (!rc)
        rc = cli_emit_report(r, j->json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static int run_serve(const cli_cmd *cmd, int argc, char **argv)
{
    jserve_job j = {0}; /* its callbacks are not options: none unless set below */
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    gp_keep_plot_data(j.keep_plot_data);
    if (j.chip && strchr(j.chip, ','))
        return run_compare(cmd, &j);
    ms_err err = {0};
    csv_out csv = {0};
    cli_progress prog;
    jserve_out out = {0};
    report *r = report_new();
    int rc = r ? MS_OK : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc && j.csv && !(rc = open_csv(j.csv, &csv, &err))) {
        j.on_record = write_record;
        j.record_ctx = &csv;
    }
    cli_progress_start(&prog, "serve");
    j.progress = progress;
    j.progress_ctx = &prog;
    if (!rc)
        rc = jserve_run(&j, cli_env(), r, &out, &err);
    cli_progress_end(&prog);
    if (out.warnings[0])
        fprintf(stderr, "%s", out.warnings);
    if (out.power_note[0])
        fprintf(stderr, "megasim serve: power and ownership cost not reported: %s\n",
                out.power_note);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    if (!rc)
        rc = write_outputs(&j, &out, &err);
    if (!rc)
        rc = afile_commit(csv.af, &err);
    else
        afile_abort(csv.af);
    jserve_out_free(&out);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_serve = {
    .name = "serve",
    .run = run_serve,
    .summary = "simulate a serving fleet request by request: throughput, latency, KV cache, cost",
    .usage = "  megasim serve --model FILE --chip NAME --gpus N [--tp N --dp N --ep N]\n"
             "                --input-len DIST --output-len DIST (--rate R|inf | --concurrency C\n"
             "                | --sweep-rate LIST) (--requests N | --duration S) [options]\n"
             "  megasim serve ... --scenario offline --requests N\n"
             "  megasim serve ... --scenario server --p99-ttft S --p99-tpot S (--requests N |\n"
             "                --duration S)\n"
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
        "MLPerf Inference's scenarios: offline sends every request at time zero and reports\n"
        "the throughput; server finds, by search, the highest Poisson rate at which the p99\n"
        "time to first token and p99 time per output token stay within --p99-ttft and\n"
        "--p99-tpot, and reports that rate, each run of the search and the run at that rate\n"
        "(a run that is certain to miss a limit, more than 1% of its requests already over\n"
        "it, stops there).\n"
        "Each rate runs for --requests N or for --duration S of arrivals (MLPerf: at least\n"
        "600 s); tail latencies and the drain at the end both depend on the run's length.\n"
        "Costs: decode is the base load of an iteration and prompt chunks riding on it are\n"
        "charged what they add, so GPU-hours (and dollars, with --price-per-gpu-hour) per\n"
        "million input and output tokens come from first principles.\n"
        "DIST is fixed:N, uniform:A:B, lognormal:MEDIAN:SIGMA[:MAX], table:FILE (a CSV with\n"
        "columns tokens and weight, read as given or under workloads/) or scaled:MEAN:FILE\n"
        "(that table's lengths times MEAN over its own mean: its shape at another mean).\n"
        "Example: megasim serve --model workloads/deepseek-v3/config.json --chip H800\n"
        "  --gpus 32 --dp 32 --ep 32 --precision fp8 --input-len lognormal:1000:1\n"
        "  --output-len lognormal:8000:0.7 --rate inf --requests 2000 --tpot-target 0.05\n",
    .table = &jserve_options,
};
