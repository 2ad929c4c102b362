/* megasim sweep: a design over a scenario's options, one CSV row a point,
 * in worker processes, resumable. The job is src/job/jsweep; this is its
 * command line. */
#include <stdio.h>
#include <stdlib.h>

#ifdef MEGASIM_MPI
#include <mpi.h>
#endif

#include "cli/commands.h"
#include "job/jsweep.h"
#include "report/report.h"

static void progress(void *ctx, double done, double total, const char *units)
{
    cli_progress_update(ctx, done, total, units, NULL);
}

static int run_sweep(const cli_cmd *cmd, int argc, char **argv)
{
    jsweep_job j = {0};
    const char *pos[1] = {NULL};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, pos, &npos);
    if (ex >= 0)
        return ex;
    if (npos != 1)
        return cli_usage_error(cmd, "expected the sweep's spec: megasim sweep SPEC.json");
    j.spec = pos[0];
#ifdef MEGASIM_MPI
    /* Started by mpirun: the ranks share the points (src/job/jsweep). */
    int mpi = getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL;
    if (mpi)
        MPI_Init(NULL, NULL);
#endif
    cli_progress bar;
    cli_progress_start(&bar, "sweep");
    j.progress = progress;
    j.progress_ctx = &bar;
    ms_err err = {0};
    report *r = report_new();
    jsweep_out out = {0};
    int rc =
        r ? jsweep_run(&j, cli_env(), r, &out, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&bar);
    if (!rc && out.rank == 0) /* the other ranks say nothing */
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
#ifdef MEGASIM_MPI
    if (mpi)
        MPI_Finalize();
#endif
    if (rc && out.rank != 0)
        return CLI_EXIT_FAIL;
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_sweep = {
    .name = "sweep",
    .run = run_sweep,
    .summary = "run a grid, random or Sobol design over a scenario's options into one CSV",
    .usage = "  megasim sweep SPEC.json [--jobs N] [--out FILE.csv] [--json]\n",
    .details =
        "SPEC.json names a train or serve scenario and the keys to vary:\n"
        "  {\"scenario\": \"scenarios/deepseek-v3-pretrain-h800.json\", \"design\": \"grid\",\n"
        "   \"vary\": {\"chip\": [\"H100\", \"H800\"], \"gpus\": [1024, 2048]}, \"out\": "
        "\"s.csv\"}\n"
        "A grid runs every combination (the last key fastest); \"design\": \"random\" or\n"
        "\"sobol\" with \"points\": N draws N points, a key taking a list of values or a\n"
        "range {\"min\": X, \"max\": Y, \"log\": true, \"integer\": true} (random: \"seed\").\n"
        "\"outputs\" lists the result's keys to keep (default: every top-level number of\n"
        "the first point's result). Each row: the point's index and values, its outputs,\n"
        "and the error of a point that failed. Rows are appended to OUT.partial as they\n"
        "finish, so a sweep stopped and run again runs only the points left; OUT is\n"
        "written whole at the end, the same bytes whatever --jobs.\n"
        "Built with MPI (-DMEGASIM_MPI=ON, the default when OpenMPI is installed),\n"
        "mpirun -n N megasim sweep SPEC.json shares the points over N ranks; rank 0\n"
        "writes the same CSV.\n",
    .table = &jsweep_options,
    .max_pos = 1,
};
