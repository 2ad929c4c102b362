/* megasim search train: the best training plan of a model on a number of
 * GPUs of a chip, by enumeration, pruning and simulation. The job is
 * src/job/jsearch; this is its command line. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "job/jfleet.h"
#include "job/jsearch.h"
#include "report/report.h"

static void progress(void *ctx, double done, double total, const char *units)
{
    cli_progress_update(ctx, done, total, units, NULL);
}

static int run_fleet(const cli_cmd *cmd, int argc, char **argv)
{
    jfleet_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    cli_progress bar;
    cli_progress_start(&bar, "search serve");
    j.progress = progress;
    j.progress_ctx = &bar;
    ms_err err = {0};
    report *r = report_new();
    int rc = r ? jfleet_run(&j, cli_env(), r, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&bar);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static const cli_cmd cmd_search_serve = {
    .name = "search serve",
    .run = run_fleet,
    .summary = "the cheapest serving fleet for a demand, on each chip at its best layout",
    .usage = "  megasim search serve --model FILE --chip A,B,C (--demand TOKENS | --rate R)\n"
             "                       --input-len DIST --output-len DIST --p99-ttft S\n"
             "                       (--p99-tpot S | --tokens-per-user-s X) [--objective O]\n"
             "                       [--disaggregate P:D,...] [--max-gpus N]\n",
    .details =
        "For each chip, tries instances of 1, 2, 4, ... GPUs (attention tensor parallel over\n"
        "1-8 of them and data parallel over the rest; a MoE model's experts over all of\n"
        "them): one instance is simulated under MLPerf's Server scenario, the highest\n"
        "Poisson rate within the p99 limits, and the demand (output tokens a day, or\n"
        "requests a second) takes as many instances as it needs. Each chip's fleet at its\n"
        "best layout: instances, GPUs, IT power, cost a day, dollars per million output and\n"
        "input tokens; every layout tried, and why the ones that cannot serve cannot.\n"
        "--disaggregate P:D,... also tries each layout as prefill and decode pools, P and D\n"
        "instances a group; --max-gpus N sets aside fleets of more than N GPUs.\n"
        "Example: megasim search serve --model workloads/deepseek-v3/config.json\n"
        "  --chip H20,H800 --demand 1e11 --input-len lognormal:1000:1\n"
        "  --output-len lognormal:2000:0.7 --p99-ttft 10 --tokens-per-user-s 20\n"
        "  --precision fp8 --serve-arg \"--mtp-accept 0.85 --overlap --nic-Gbps 400\"\n",
    .table = &jfleet_options,
    .max_pos = 0,
};

static int run_search(const cli_cmd *cmd, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return run_fleet(&cmd_search_serve, argc - 1, argv + 1);
    jsearch_job j = {0};
    const char *pos[1] = {NULL};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, pos, &npos);
    if (ex >= 0)
        return ex;
    if (npos != 1)
        return cli_usage_error(
            cmd, "expected what to search: megasim search train ... or megasim search serve ...");
    j.what = pos[0];
    cli_progress bar;
    cli_progress_start(&bar, "search");
    j.progress = progress;
    j.progress_ctx = &bar;
    ms_err err = {0};
    report *r = report_new();
    jsearch_out out = {0};
    int rc =
        r ? jsearch_run(&j, cli_env(), r, &out, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&bar);
    if (out.warnings[0])
        fprintf(stderr, "%s", out.warnings);
    if (!rc && j.csv)
        rc = cli_write_report_csv(r, "simulated", j.csv, &err);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_search = {
    .name = "search",
    .run = run_search,
    .summary = "search the fastest training plan (train), or the cheapest serving fleet (serve)",
    .usage = "  megasim search serve ... (megasim search serve --help: the cheapest fleet)\n"
             "  megasim search train --model FILE --chip NAME --gpus N --seq N --global-batch N\n"
             "                       [--precision LIST] [--top K] [--compare-plan PLAN]\n"
             "                       [--objective time|cost|energy] [--tokens N]\n"
             "                       [--price-per-gpu-hour USD] [--json] [--csv FILE]\n",
    .details =
        "Enumerates every plan that divides the GPUs: tensor parallel (powers of two up to\n"
        "the scale-up domain), context parallel (1-8), pipeline stages with each schedule\n"
        "(gpipe, 1f1b, zb1p, interleaved with 2 or 4 chunks, dualpipe, dualpipev), expert\n"
        "parallel, ZeRO 0-3, micro-batches of 1-8 sequences, each recompute policy and\n"
        "precision. Plans that do not fit in memory are pruned, then every plan whose lower\n"
        "bound (its compute alone, shared over the pipeline ranks) cannot place in the top K\n"
        "or the Pareto set of step time, memory and cost; the rest are simulated as megasim train\n"
        "runs them, fastest first. The counts of each are printed. --objective cost or\n"
        "energy ranks by a step's cost (capital and energy, or a price per GPU-hour) or its\n"
        "energy at the meter, drawn as megasim train draws it. A plan's text, as the\n"
        "tables print it, is what --compare-plan takes; its keys are megasim train's options.\n"
        "Example: megasim search train --model workloads/deepseek-v3/config.json --chip H800\n"
        "  --gpus 2048 --seq 4096 --global-batch 15360 --compare-plan tp=1,pp=16,ep=64,\\\n"
        "  zero=1,mb=1,schedule=dualpipe,recompute=selective,precision=fp8\n",
    .table = &jsearch_options,
    .max_pos = 1,
};
