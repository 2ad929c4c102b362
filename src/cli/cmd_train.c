/* megasim train: one training step of a parallel plan on the engine, and
 * what it implies: throughput, MFU, memory, GPU-hours, days and cost. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "job/jpower.h"
#include "io/gnuplot.h"
#include "job/jcompare.h"
#include "job/jtrain.h"
#include "report/report.h"

/* What the run leaves besides its report: a trace, the power series. */
static int write_outputs(const jtrain_job *j, const jtrain_out *o, ms_err *err)
{
    int rc = MS_OK;
    if (j->trace && !(rc = jtrain_write_trace(j->trace, o, err)))
        fprintf(j->json ? stderr : stdout,
                "trace: %s (%zu spans; open in https://ui.perfetto.dev)\n", j->trace,
                o->step.nspans);
    if (!rc && o->power_it)
        rc = jpower_write_series(cli_env(), j->power.power_trace, j->power.power_plot,
                                 o->floor_frac, o->power_it, o->power_smooth, o->power_title, err);
    if (!rc)
        rc = jtrain_write_plots(cli_env(), j, o, 0, err);
    return rc;
}

static void progress(void *ctx, double done, double total, const char *units)
{
    cli_progress_update(ctx, done, total, units, NULL);
}

/* Several chips, or --best-plan: side by side (src/job/jcompare). */
static int run_compare(const cli_cmd *cmd, jtrain_job *j)
{
    cli_progress bar;
    cli_progress_start(&bar, "train");
    j->progress = progress;
    j->progress_ctx = &bar;
    ms_err err = {0};
    char warnings[MODELFILE_WARN_MAX];
    report *r = report_new();
    int rc = r ? jcompare_run(j, cli_env(), r, warnings, sizeof warnings, &err)
               : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&bar);
    if (r && warnings[0])
        fprintf(stderr, "%s", warnings);
    if (!rc)
        rc = cli_emit_report(r, j->json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static int run_train(const cli_cmd *cmd, int argc, char **argv)
{
    jtrain_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    gp_keep_plot_data(j.keep_plot_data);
    if (jcompare_wanted(&j))
        return run_compare(cmd, &j);
    ms_err err = {0}, e2;
    report *r = report_new();
    jtrain_out out = {0};
    int rc =
        r ? jtrain_run(&j, cli_env(), r, &out, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (out.warnings[0])
        fprintf(stderr, "%s", out.warnings);
    if (out.power_note[0])
        fprintf(stderr, "megasim train: power and ownership cost not reported: %s\n",
                out.power_note);
    if (rc && j.json && r && report_has(r, "short_bytes")) /* how short a plan is */
        cli_emit_report(r, 1, &e2);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    if (!rc)
        rc = write_outputs(&j, &out, &err);
    jtrain_out_free(&out);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_train = {
    .name = "train",
    .run = run_train,
    .summary = "one training step of a parallel plan: time, tokens/s, MFU, memory, GPU-hours",
    .usage = "  megasim train --model FILE --chip NAME --gpus N --seq N --global-batch N\n"
             "                [--tp N] [--pp N] [--vpp N] [--dp N] [--ep N] [--cp N] [--zero N]\n"
             "                [--micro-batch N] [--precision RECIPE] [--schedule NAME]\n"
             "                [--recompute none|selective|full] [--trace FILE] [--json]\n",
    .details = "Runs one step on the engine: each pipeline rank runs its schedule's task list;\n"
               "compute is timed by the roofline with hwdb/efficiency.csv, communication (TP\n"
               "all-reduce, EP dispatch/combine, PP send/recv, DP/ZeRO reduce-scatter and\n"
               "all-gather) by the network model with hwdb/network.csv on the cluster the chip's\n"
               "row implies (its scale-up domain and NIC on a rail-optimized non-blocking\n"
               "fat-tree; the topology options change it). DualPipe and DualPipeV overlap the\n"
               "expert-parallel traffic of each forward-backward pair with its compute, on the\n"
               "SMs --comm-sms leaves free; other schedules do not overlap it.\n"
               "The software stack (--stack; default: the chip's era) is part of the plan:\n"
               "megatron-2021 writes attention scores to HBM, runs dropout and overlaps no\n"
               "communication; megatron-core-2024 fuses attention, overlaps tensor-parallel\n"
               "collectives with their GEMMs (on the SMs its communication kernels leave) and\n"
               "data-parallel traffic with the backward and forward in buckets, and prefetches\n"
               "ZeRO-3 weights; deepseek-v3 and plain fuse attention and overlap nothing.\n"
               "One pipeline is simulated (data-parallel replicas are identical) with the\n"
               "busiest expert rank's load; --every-replica simulates them all.\n"
               "A plan that does not fit in HBM is not run: the error says how short it is.\n"
               "MFU counts model FLOPs, 3 x the forward (GEMMs with weights, causal attention,\n"
               "element-wise), without recompute or MTP, against the dense BF16 and FP8 peaks.\n"
               "--chip A,B,C runs the same job on each chip and prints them side by side, each\n"
               "against the first with the datasheet figures they differ in; --best-plan runs\n"
               "each chip on its own fastest plan (megasim search train), the fair comparison.\n"
               "Scenario files (megasim run scenarios/X.json) set the same options.\n",
    .table = &jtrain_options,
    .max_pos = 0,
};
