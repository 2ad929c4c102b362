/* megasim report: the whole story as a report a person opens in a
 * browser; also what megasim runs with no arguments. The job is
 * src/job/jstudy; this is its command line. */
#include <stdio.h>

#include "cli/commands.h"
#include "job/jstudy.h"
#include "report/report.h"

/* "report: 7 of 21 entries (33%), V3, each chip's best plan, 12 s": the
 * entry now running. */
static void progress(void *ctx, double done, double total, const char *units, const char *label)
{
    cli_progress_update(ctx, done, total, units, label);
}

static int run_report(const cli_cmd *cmd, int argc, char **argv)
{
    jstudy_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    cli_progress bar;
    cli_progress_start(&bar, "report");
    j.progress = progress;
    j.progress_ctx = &bar;
    ms_err err = {0};
    report *r = report_new();
    jstudy_out out = {0};
    int rc =
        r ? jstudy_run(&j, cli_env(), r, &out, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&bar);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    if (rc)
        return cli_fail(cmd, &err);
    if (!j.json)
        printf("\nOpen %s/index.html in a browser (report.md, CSV and JSON beside it).\n", out.dir);
    if (out.failed) { /* the report is written, the failure marked in it */
        fprintf(stderr, "megasim report: %lld of %lld entries failed; the first: %s\n",
                (long long)out.failed, (long long)out.entries, out.first_failure);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

const cli_cmd cmd_report = {
    .name = "report",
    .run = run_report,
    .summary = "the whole story as a report to open in a browser (megasim with no arguments)",
    .usage = "  megasim report [--study FILE.json] [--out DIR] [--quick] [--json]\n",
    .details =
        "Runs a study: the sections of scenarios/story.json by default (chips and rooflines,\n"
        "training DeepSeek-V3, reasoning inference, export rules, megaclusters and power, how\n"
        "far to trust it), or your own list with --study. Writes DIR (megasim-report/):\n"
        "index.html, one self-contained page; report.md; each entry's JSON, a CSV per table\n"
        "and summary.json. --quick leaves out the entries marked \"slow\" (about 45 s of the\n"
        "default study's 50), naming each and its command. Prints the headline figures, each "
        "beside its published counterpart and the\n"
        "error where there is one. An entry that fails is marked in the report and the others\n"
        "still run; the exit status is then 1. The directory is replaced whole at the end: an\n"
        "interrupted run leaves the previous report as it was.\n"
        "A study file: {\"title\": ..., \"sections\": [{\"title\": ..., \"entries\": [{\"label\":\n"
        "..., \"scenario\": \"scenarios/X.json\" or \"run\": {\"command\": \"size\", ...},\n"
        "\"args\": [...], \"slow\": true, \"headline\": [{\"key\": \"a.b.0.c\", \"label\": ..., "
        "\"unit\": ...,\n"
        "\"published\": N, \"source\": ...}], \"try\": [\"megasim ...\"]}]}]}\n",
    .table = &jstudy_options,
    .max_pos = 0,
};
