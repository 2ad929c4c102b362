/* megasim collective: one collective (or a sweep of sizes) on a cluster of
 * one chip, timed analytically or with flows, reported as nccl-tests does:
 * time, algorithm bandwidth and bus bandwidth. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "job/jcoll.h"
#include "report/report.h"
#include "net/coll.h"
#include "net/topo.h"

/* Bus bandwidth against size, one line per chip. */
static int write_plot(const jcoll_out *o, const char *out, ms_err *err)
{
    char dat_path[4200], gp_path[4200];
    int svg, drawn,
        rc = gp_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err);
    if (rc)
        return rc;
    afile *dat_af;
    if ((rc = afile_open(dat_path, &dat_af, err)))
        return rc;
    FILE *dat = afile_stream(dat_af);
    for (size_t ci = 0; ci < o->nchips; ci++) {
        fprintf(dat, "# %s\n", o->series[ci].chip);
        for (size_t k = 0; k < o->series[ci].n; k++)
            fprintf(dat, "%.6g %.6g\n", o->series[ci].bytes[k], o->series[ci].busbw_Bps[k] / 1e9);
        fprintf(dat, "\n\n");
    }
    if ((rc = afile_commit(dat_af, err)))
        return rc;
    afile *g_af;
    if ((rc = afile_open(gp_path, &g_af, err)))
        return rc;
    FILE *g = afile_stream(g_af);
    if (svg)
        fprintf(g, "set terminal svg size 900,600 dynamic noenhanced\n");
    else
        fprintf(g, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo "
                   "size 900,600 noenhanced } else { set terminal png size 900,600 "
                   "noenhanced }\n");
    gp_write_style(g);
    fprintf(g, "set output ");
    gp_write_string(g, out);
    fprintf(g,
            "\nset title \"megasim collective: %s, bus bandwidth against size\"\n"
            "set logscale x 2\nset format x \"%%.0b%%BB\"\nset xlabel \"message size\"\n"
            "set ylabel \"bus bandwidth (GB/s)\"\nset grid\nset key top left\nplot ",
            o->op);
    for (size_t ci = 0; ci < o->nchips; ci++) {
        fprintf(g, "%s", ci ? ", " : "");
        gp_write_string(g, dat_path);
        fprintf(g, " index %zu using 1:2 with linespoints title ", ci);
        gp_write_string(g, o->series[ci].chip);
    }
    fprintf(g, "\n");
    if ((rc = afile_commit(g_af, err)))
        return rc;
    rc = gp_plot_draw(gp_path, dat_path, out, &drawn, err);
    if (!rc && drawn)
        fprintf(stderr, "plot: %s\n", out);
    return rc;
}

static int run_collective(const cli_cmd *cmd, int argc, char **argv)
{
    jcoll_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    gp_keep_plot_data(j.keep_plot_data);
    ms_err err = {0};
    report *r = report_new();
    jcoll_out out;
    int rc =
        r ? jcoll_run(&j, cli_env(), r, &out, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    if (!rc && j.csv)
        rc = cli_write_report_csv(r, "results", j.csv, &err);
    if (!rc && j.plot)
        rc = write_plot(&out, j.plot, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_collective = {
    .name = "collective",
    .run = run_collective,
    .summary = "time a collective on a cluster: time, algbw and busbw as nccl-tests reports them",
    .usage = "  megasim collective --chip LIST [--gpus N] [--op OP] [--bytes SIZE | --sweep-bytes "
             "A..B]\n"
             "                     [--algo ring|tree|hier] [--fidelity analytical|flow] [--json]\n",
    .details =
        "The cluster: the chip's scale-up domain (NVSwitch of 8, NVL72) at its scale-up "
        "bandwidth,\n"
        "and across domains a rail-optimized 2-tier non-blocking fat-tree of 64-port switches at\n"
        "the chip's NIC rate, unless options say otherwise. Link efficiencies and the fixed cost\n"
        "of a step come from hwdb/network.csv (fitted to published nccl-tests and DeepEP "
        "figures).\n"
        "busbw is algbw x 2(n-1)/n for all-reduce and x (n-1)/n for all-gather, reduce-scatter\n"
        "and all-to-all, as nccl-tests defines it.\n\n"
        "Example:\n"
        "  megasim collective --chip H100,H800 --gpus 8 --op allreduce --sweep-bytes 1KiB..8GiB "
        "\\\n"
        "                     --plot busbw.png\n",
    .table = &jcoll_options,
};
