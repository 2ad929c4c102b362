/* megasim roofline: operations timed on chips by the roofline, as a table,
 * JSON and a log-log plot; megasim default: the same for a fixed set of
 * chips and operations (the default scenario for now). The work is the
 * roofline job (src/job/jroof); this is its command line and its plot. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "job/jroof.h"
#include "report/report.h"

/* The plot and what it leaves out, said on stdout beside the table or on
 * stderr beside JSON. */
static int plot_study(const jroof_out *o, const char *plot, int json, ms_err *err)
{
    int drawn, rc = jroof_plot(o, cli_env(), plot, &drawn, err);
    FILE *f = json ? stderr : stdout;
    if (!rc && drawn)
        fprintf(f, "\nplot: %s\n", plot);
    if (!rc && o->nbatches)
        fprintf(f, "note: the plot shows the GEMMs (labelled by batch) and the attention; "
                   "element-wise ops are in the table only\n");
    for (size_t j = 0; !rc && j < o->nops; j++)
        if (o->ops[j].flops == 0)
            fprintf(f,
                    "note: '%s' has no FLOPs, so a log-log roofline has no place for it; "
                    "it is in the table only\n",
                    o->ops[j].label);
    return rc;
}

/* Runs either job (one of j, d) and renders it: the results first, so a
 * failed plot never loses them. */
static int run_job(const cli_cmd *cmd, const jroof_job *j, const jroof_default_job *d)
{
    ms_err err = {0};
    report *r = report_new();
    jroof_out *o = malloc(sizeof *o);
    int json = j ? j->json : d->json;
    const char *plot = j ? j->plot : d->no_plot ? NULL : d->plot;
    gp_keep_plot_data(j ? j->keep_plot_data : d->keep_plot_data);
    int rc = !r || !o ? ms_errf(&err, MS_ENOMEM, "out of memory")
             : j      ? jroof_run(j, cli_env(), r, o, &err)
                      : jroof_default_run(d, cli_env(), r, o, &err);
    if (o && o->warn[0]) /* fields the model importer did not understand */
        fprintf(stderr, "%s", o->warn);
    if (!rc)
        rc = cli_emit_report(r, json, &err);
    if (!rc && plot)
        rc = plot_study(o, plot, json, &err);
    free(o);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static int run_roofline(const cli_cmd *cmd, int argc, char **argv)
{
    jroof_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    return ex >= 0 ? ex : run_job(cmd, &j, NULL);
}

const cli_cmd cmd_roofline = {
    .name = "roofline",
    .run = run_roofline,
    .summary = "time operations on chips by the roofline: bound, attained FLOP/s, plot",
    .usage =
        "  megasim roofline --chip LIST (--gemm M,N,K,PREC | --op FLOPS,BYTES,PREC[,KIND])...\n"
        "                   [--plot FILE.png] [--json] [--peak]\n"
        "  megasim roofline --chip LIST --model FILE [--phase P] [--batch LIST] [--context N]\n",
    .details =
        "Each operation takes (tc^p + tm^p)^(1/p), tc = FLOPs / (peak x eta_c) and tm = bytes /\n"
        "(HBM bandwidth x eta_m). eta are fractions of peak that real kernels reach, from\n"
        "hwdb/efficiency.csv per chip family, operation kind and precision; where it has none,\n"
        "the datasheet peak is used and a note says so (the 'eff' columns show 100%). p says\n"
        "how far a kernel's memory traffic hides under its arithmetic, fitted to every kernel\n"
        "measurement together by 'megasim calibrate' (the overlap_p column; blank, or --peak:\n"
        "the textbook max(tc, tm)): near the ridge point real kernels reach neither roof.\n"
        "A GEMM moves A and B once and writes C once (C in bf16 for fp8/fp4 inputs, int32 for\n"
        "int8). PREC is one of fp64, fp32, tf32, bf16 (or fp16), fp8, fp4, int8.\n\n"
        "With --model, the ops of one layer (a MoE layer where there is one) are placed for\n"
        "each batch size: decode GEMMs slide from memory-bound to compute-bound as the batch\n"
        "grows, and MLA's absorbed attention does so at a different batch than GQA's.\n\n"
        "Examples:\n"
        "  megasim roofline --chip H100,H20 --gemm 8192,8192,8192,bf16 --op 0,1e9,bf16 \\\n"
        "                   --plot roofline.png\n"
        "  megasim roofline --chip H100,H20 --model workloads/deepseek-v3/config.json \\\n"
        "                   --phase decode --batch 1,8,64,256\n",
    .table = &jroof_options,
};

static int run_default(const cli_cmd *cmd, int argc, char **argv)
{
    jroof_default_job d = {0};
    int npos, ex = cli_parse_job(cmd, &d, argc, argv, NULL, &npos);
    return ex >= 0 ? ex : run_job(cmd, NULL, &d);
}

const cli_cmd cmd_default = {
    .name = "default",
    .run = run_default,
    .summary = "run the default scenario (a roofline comparison of H100, H800, H20, H200, B200)",
    .usage = "  megasim default [--plot FILE | --no-plot] [--json] [--peak]\n",
    .details = "The same as:\n"
               "  megasim roofline --chip H100,H800,H20,H200,B200 --gemm 8192,8192,8192,bf16 \\\n"
               "    --gemm 8192,8192,8192,fp8 --gemm 64,8192,8192,bf16 --op 0,1e9,bf16 \\\n"
               "    --plot megasim-default.png\n",
    .table = &jroof_default_options,
};
