/* megasim export-frontier: the best chip an export rule allows for a
 * workload (src/job/jfrontier runs it); here the CSV and the plot of the
 * trade-off. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "io/csvtab.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "job/jfrontier.h"
#include "report/report.h"

static void progress(void *ctx, size_t done, size_t total)
{
    cli_progress_update(ctx, (double)done, (double)total, "designs run", NULL);
}

static int run_frontier(const cli_cmd *cmd, int argc, char **argv)
{
    jfrontier_job j = {0}; /* its progress callback is not an option */
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    gp_keep_plot_data(j.keep_plot_data);
    ms_err err = {0};
    cli_progress prog;
    jfrontier_out out = {0};
    report *r = report_new();
    cli_progress_start(&prog, "export-frontier");
    j.progress = progress;
    j.progress_ctx = &prog;
    int rc =
        r ? jfrontier_run(&j, cli_env(), r, &out, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&prog);
    if (!rc && j.csv && !(rc = jfrontier_write_csv(j.csv, &out, j.metric, &err)))
        fprintf(j.json ? stderr : stdout, "csv: %s\n", j.csv);
    if (!rc && j.plot && !(rc = jfrontier_plot(cli_env(), j.plot, &out, j.metric, &err)))
        fprintf(j.json ? stderr : stdout, "plot: %s\n", j.plot);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    jfrontier_out_free(&out);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_export_frontier = {
    .name = "export-frontier",
    .run = run_frontier,
    .summary = "the best chip an export rule allows for a workload, and the trade-off",
    .usage = "  megasim export-frontier --rule NAME --from CHIP --vary LIST --workload FILE\n"
             "                          --metric KEY [--steps N] [--minimize] [--csv FILE]\n"
             "                          [--plot FILE] [--json]\n",
    .details =
        "Derives a grid of chips from CHIP (each knob a factor of its figure: flops 0.1-1,\n"
        "scale_up_bw 0.25-1, hbm_bw 0.5-1.25, hbm_capacity 0.5-1.5, ... unless LO:HI[:N]\n"
        "is given), judges each under the rule (megasim export-check), runs the workload\n"
        "scenario on every design the rule does not control, and ranks them by KEY of the\n"
        "workload's JSON (train: tokens_per_s, mfu_bf16, ...; serve: output_tokens_per_s,\n"
        "usd_per_million_output_tokens with --minimize, ...). CHIP itself is run too, as\n"
        "the reference. The grid is every combination: 3 knobs of 5 steps are 125\n"
        "designs. Designs the database leaves undecided are not run.\n"
        "Example: megasim export-frontier --rule oct2022 --from H100\n"
        "           --vary flops,scale_up_bw --workload scenarios/deepseek-v3-pretrain-h800.json\n"
        "           --metric tokens_per_s\n",
    .table = &jfrontier_options,
    .max_pos = 0,
};
