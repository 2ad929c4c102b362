/* megasim size: how many accelerators a power budget holds, or how much
 * power a fleet needs; its servers, racks, switches, FLOP/s, HBM and cost;
 * and how long a model's training would take on it. The job is
 * src/job/jsize; this is its command line. */
#include <stdio.h>

#include "cli/commands.h"
#include "job/jsize.h"
#include "report/report.h"

static int run_size(const cli_cmd *cmd, int argc, char **argv)
{
    jsize_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    report *r = report_new();
    jsize_out out = {0};
    int rc =
        r ? jsize_run(&j, cli_env(), r, &out, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (out.warnings[0])
        fprintf(stderr, "%s", out.warnings);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_size = {
    .name = "size",
    .run = run_size,
    .summary = "size a cluster: GPUs a power budget holds, or power a fleet needs; cost",
    .usage = "  megasim size --chip NAME --power P [--it-fraction F]\n"
             "  megasim size --chip NAME --gpus N\n"
             "  megasim size --chip NAME:COUNT,NAME:COUNT [options]\n",
    .details =
        "Each GPU counts at full load (its matrix power in hwdb/power.csv) with its share of\n"
        "its server's other parts at the server's rating "
        "(--node-power-fraction " JPOWER_NODE_FRACTION_TEXT " counts\n"
        "them at the draw train and serve predict) and of a non-blocking fat-tree of one NIC\n"
        "a GPU; the meter adds the facility (PUE, or the share of site power that reaches IT\n"
        "with --power). Capital comes from hwdb/costs.csv (servers, network, facility per\n"
        "watt) spread over its life; energy at the price per kWh. --model with --tokens and\n"
        "--mfu gives training days; megasim train computes MFU for a plan from first\n"
        "principles.\n"
        "Scenario files (megasim run scenarios/X.json) set the same options.\n"
        "Example: megasim size --chip GB200 --power 2.2GW --it-fraction 0.82\n",
    .table = &jsize_options,
    .max_pos = 0,
};
