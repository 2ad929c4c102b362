/* megasim search train: the best training plan of a model on a number of
 * GPUs of a chip, by enumeration, pruning and simulation. The job is
 * src/job/jsearch; this is its command line. */
#include <stdio.h>

#include "cli/commands.h"
#include "job/jsearch.h"
#include "report/report.h"

static void progress(void *ctx, double done, double total, const char *units)
{
    cli_progress_update(ctx, done, total, units, NULL);
}

static int run_search(const cli_cmd *cmd, int argc, char **argv)
{
    jsearch_job j;
    const char *pos[1] = {NULL};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, pos, &npos);
    if (ex >= 0)
        return ex;
    if (npos != 1)
        return cli_usage_error(cmd, "expected what to search: megasim search train ...");
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
    .summary = "search every training plan of a model on a chip for the fastest",
    .usage =
        "  megasim search train --model FILE --chip NAME --gpus N --seq N --global-batch N\n"
        "                       [--precision LIST] [--top K] [--compare-plan PLAN]\n"
        "                       [--tokens N [--price-per-gpu-hour USD]] [--json] [--csv FILE]\n",
    .details =
        "Enumerates every plan that divides the GPUs: tensor parallel (powers of two up to\n"
        "the scale-up domain), context parallel (1-8), pipeline stages with each schedule\n"
        "(gpipe, 1f1b, zb1p, interleaved with 2 or 4 chunks, dualpipe, dualpipev), expert\n"
        "parallel, ZeRO 0-3, micro-batches of 1-8 sequences, each recompute policy and\n"
        "precision. Plans that do not fit in memory are pruned, then every plan whose lower\n"
        "bound (its compute alone, shared over the pipeline ranks) cannot place in the top K\n"
        "or the Pareto set of step time and memory; the rest are simulated as megasim train\n"
        "runs them, fastest first. The counts of each are printed. A plan's text, as the\n"
        "tables print it, is what --compare-plan takes; its keys are megasim train's options.\n"
        "Example: megasim search train --model workloads/deepseek-v3/config.json --chip H800\n"
        "  --gpus 2048 --seq 4096 --global-batch 15360 --compare-plan tp=1,pp=16,ep=64,\\\n"
        "  zero=1,mb=1,schedule=dualpipe,recompute=selective,precision=fp8\n",
    .table = &jsearch_options,
    .max_pos = 1,
};
