/* megasim chips / megasim chip NAME: the chip database as a table or
 * JSON, and one chip in full with its ridge points (src/job/jchips). */
#include "cli/commands.h"
#include "job/jchips.h"
#include "report/report.h"

static int run_chips(const cli_cmd *cmd, int argc, char **argv)
{
    jchips_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    report *r = report_new();
    int rc = r ? jchips_run(&j, cli_env(), r, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static int run_chip(const cli_cmd *cmd, int argc, char **argv)
{
    jchip_job j = {0};
    const char *pos[1];
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, pos, &npos);
    if (ex >= 0)
        return ex;
    if (npos != 1)
        return cli_usage_error(cmd, "name one chip, e.g. 'megasim chip H100'");
    j.name = pos[0];
    ms_err err = {0};
    report *r = report_new();
    int rc = r ? jchip_run(&j, cli_env(), r, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_chips = {
    .name = "chips",
    .run = run_chips,
    .summary = "list the chips in the database",
    .usage = "  megasim chips [--json] [--chips FILE]\n",
    .details = "Figures are dense peaks (vendor figures quoted with sparsity are halved);\n"
               "scale-up and NIC bandwidths are per chip and per direction.\n",
    .table = &jchips_options,
};

const cli_cmd cmd_chip = {
    .name = "chip",
    .run = run_chip,
    .summary = "one chip in full, with its ridge points per precision",
    .usage = "  megasim chip NAME [--json] [--chips FILE] [--efficiency FILE | --peak]\n",
    .details = "The ridge point is the arithmetic intensity (FLOP per byte of HBM traffic) above\n"
               "which an operation is compute-bound: peak FLOP/s over HBM bytes/s.\n",
    .max_pos = 1,
    .table = &jchip_options,
};
