/* megasim validate / megasim calibrate: megasim's predictions held against
 * kernel measurements (ours and published), collectives and published
 * whole systems, and the calibration fitted to the measurements. The jobs
 * are src/job/jvalid and src/job/jsystem; this is their command line and
 * their plots. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "job/jsystem.h"
#include "job/jvalid.h"
#include "report/report.h"

/* The points per kind: measured, calibrated and peak predictions. */
static int write_points(const jvalid_out *o, const char *dat, int has[JVALID_KINDS], ms_err *err)
{
    afile *af;
    int rc = afile_open(dat, &af, err);
    if (rc)
        return rc;
    FILE *f = afile_stream(af);
    fprintf(f, "# measured predicted (calibrated) predicted (peak), per kind; FLOP/s, B/s or s\n");
    for (int k = 0; k < JVALID_KINDS; k++) {
        fprintf(f, "# %s\n", jvalid_kind(k));
        has[k] = 0;
        for (size_t i = 0; i < o->n; i++)
            if (o->points[i].kind == k && !isnan(o->points[i].predicted)) {
                fprintf(f, "%.6g %.6g %.6g\n", o->points[i].measured, o->points[i].predicted,
                        o->points[i].predicted_at_peak);
                has[k] = 1;
            }
        if (!has[k])
            fprintf(f, "NaN NaN NaN\n");
        fprintf(f, "\n\n");
    }
    return afile_commit(af, err);
}

/* Predicted against measured, each kind in its own unit, on log axes. */
static int write_plot(const jvalid_out *o, const char *out, int *drawn, ms_err *err)
{
    char dat[4200], gp[4200];
    int svg, has[JVALID_KINDS], rc = gp_plot_paths(out, dat, sizeof dat, gp, sizeof gp, &svg, err);
    if (rc || (rc = write_points(o, dat, has, err)))
        return rc;
    afile *g_af;
    if ((rc = afile_open(gp, &g_af, err)))
        return rc;
    FILE *g = afile_stream(g_af);
    fprintf(g, "# written by megasim validate; draw with: gnuplot %s\n", gp);
    if (svg)
        fprintf(g, "set terminal svg size 900,800 dynamic noenhanced\n");
    else
        fprintf(g, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo size "
                   "900,800 noenhanced } else { set terminal png size 900,800 noenhanced }\n");
    gp_write_style(g);
    fprintf(g, "set output ");
    gp_write_string(g, out);
    fprintf(g, "\nset title \"megasim validate: predicted against measured (each in its own "
               "unit)\"\nset logscale xy\nset xlabel \"measured\"\nset ylabel \"predicted\"\n"
               "set key top left\nset grid\nset datafile missing \"NaN\"\n"
               "plot x title \"exact\" lc rgb \"#888888\", 1.25*x notitle dt 2 lc rgb "
               "\"#bbbbbb\", 0.8*x notitle dt 2 lc rgb \"#bbbbbb\"");
    for (int k = 0; k < JVALID_KINDS; k++)
        if (has[k])
            fprintf(g, ", \"%s\" index %d using 1:2 with points pt 7 title \"%s (calibrated)\"",
                    dat, k, jvalid_kind(k));
    if (has[0])
        fprintf(g, ", \"%s\" index 0 using 1:3 with points pt 6 title \"gemm (peak)\"", dat);
    fprintf(g, "\n");
    if ((rc = afile_commit(g_af, err)))
        return rc;
    return gp_plot_draw(gp, dat, out, drawn, err);
}

/* "[3/22] t5-gpt-1t.json", the cases done and the last of them, redrawn
 * in place on a terminal. */
static void progress(void *ctx, size_t done, size_t total, const char *name)
{
    (void)ctx;
    fprintf(stderr, "\r[%zu/%zu] %s\033[K", done, total, name);
}

/* Elsewhere (a pipe, a log): a line every few seconds once the suite has
 * run for 2 s, as every long command reports. */
static void progress_lines(void *ctx, size_t done, size_t total, const char *name)
{
    cli_progress_update(ctx, (double)done, (double)total, "cases run", name);
}

/* The system suite: the report (or the Markdown table), the plot, then
 * each failed case and a breached threshold on stderr; exit 1 for either. */
static int run_system(const cli_cmd *cmd, jvalid_job *j)
{
    ms_err err = {0};
    int tty = !j->json && isatty(fileno(stderr)), drawn;
    cli_progress lines;
    cli_progress_start(&lines, "validate");
    j->progress = tty ? progress : progress_lines;
    j->progress_ctx = tty ? NULL : &lines;
    report *r = report_new();
    jsystem_out o;
    int rc = r ? jsystem_run(j, cli_env(), r, &o, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (tty)
        fprintf(stderr, "\r\033[K");
    else
        cli_progress_end(&lines);
    fputs(r ? o.warnings : "", stderr);
    if (!rc)
        rc = j->markdown ? jsystem_markdown(&o, stdout, &err) : cli_emit_report(r, j->json, &err);
    if (!rc && j->plot && !(rc = jsystem_plot(&o, j->plot, &drawn, &err)) && drawn)
        fprintf(j->json ? stderr : stdout, "plot: %s\n", j->plot);
    int ex = rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
    for (size_t i = 0; !rc && i < o.n; i++)
        if (o.cases[i].error[0])
            fprintf(stderr, "megasim %s: %s\n", cmd->name, o.cases[i].error);
    if (!rc && o.breach)
        fprintf(stderr, "megasim %s: the median or worst error of a kind exceeds the thresholds\n",
                cmd->name);
    if (!rc && (o.failed || o.breach))
        ex = CLI_EXIT_FAIL;
    if (r)
        jsystem_out_free(&o);
    report_free(r);
    return ex;
}

static int run_validate(const cli_cmd *cmd, int argc, char **argv)
{
    jvalid_job j = {0};
    int npos, drawn, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    gp_keep_plot_data(j.keep_plot_data);
    if (j.system)
        return run_system(cmd, &j);
    ms_err err = {0};
    report *r = report_new();
    jvalid_out o = {0};
    int rc = r ? jvalid_run(&j, cli_env(), r, &o, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    /* --network draws nothing: its points are too many kinds of curve. */
    if (!rc && j.plot && !j.network && !(rc = write_plot(&o, j.plot, &drawn, &err)) && drawn)
        fprintf(j.json ? stderr : stdout, "plot: %s\n", j.plot);
    jvalid_out_free(&o);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static int run_calibrate(const cli_cmd *cmd, int argc, char **argv)
{
    jvalid_calibrate_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    report *r = report_new();
    int rc = r ? jvalid_calibrate_run(&j, cli_env(), r, &err)
               : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_validate = {
    .name = "validate",
    .run = run_validate,
    .summary = "hold megasim's predictions against measured kernels (ours and published)",
    .usage =
        "  megasim validate [--results FILE]... [--json] [--plot FILE.png]\n"
        "  megasim validate --network [--json]\n"
        "  megasim validate --system [--cases DIR] [--max-median X] [--max-worst Y]\n"
        "                   [--uncertainty N [--seed S]] [--json | --markdown] [--plot FILE.png]\n",
    .details =
        "Every row (a GEMM, a bandwidth sweep point, an attention kernel, a launch) is predicted\n"
        "with the chip's database entry twice: at datasheet peak and with hwdb/efficiency.csv,\n"
        "and the relative error of each is printed, with the median and worst per kind. Rows\n"
        "held out of the calibration fit (one in five per group) are marked and summarized\n"
        "apart. A chip whose family's figures were measured on other chips is marked as\n"
        "borrowing them. Published rows: validation/published.csv; ours: validation/results/.\n"
        "\n"
        "--system runs the published whole-system cases of validation/system/ (one JSON file\n"
        "each: a train scenario, the published figure with its unit, source and confidence,\n"
        "and how the source counts it) and prints predicted against published with the\n"
        "relative error and the two largest parts of each step, then the median and worst\n"
        "|error| per kind (train, power). These are predictions, never calibration targets.\n"
        "A case that cannot run is reported with its file and field and the others still\n"
        "run; the exit status is 1 when a case failed or a kind's median or worst error\n"
        "exceeds --max-median or --max-worst (one figure for every kind, or train=X,power=Y).\n"
        "--json prints an object: the cases under \"results\" (case, kind, metric, predicted,\n"
        "published, rel_error, ...) and the summary under \"summary\"; --markdown the table.\n"
        "--uncertainty N runs each case N more times with every kernel efficiency drawn from\n"
        "the spread of its fit (hwdb/efficiency.csv's log_sd; network efficiencies are not\n"
        "drawn), gives each its 10th-90th percentile band (predicted_p10, predicted_p90,\n"
        "covered) and reports the share of published figures inside their band, per kind and\n"
        "over all (coverage): how often the bands tell the truth.\n",
    .table = &jvalid_options,
};

const cli_cmd cmd_calibrate = {
    .name = "calibrate",
    .run = run_calibrate,
    .summary = "fit the efficiency figures of hwdb/efficiency.csv to kernel measurements",
    .usage = "  megasim calibrate [--results FILE]... [--efficiency FILE] [--dry-run] [--json]\n"
             "  megasim calibrate --network [--dry-run] [--json]\n",
    .details = "Fits, per chip family, operation kind and precision, the compute and memory\n"
               "efficiency and a fixed overhead per operation by least squares on the log of\n"
               "predicted over measured (GSL), leaving one row in five out. Figures the rows do\n"
               "not pin down (no compute-bound row, say) are left blank. How compute and\n"
               "memory time combine, (tc^p + tm^p)^(1/p), is fitted too: one p for the groups\n"
               "of fewer than 100 rows, scanned over a grid, refined between the best point's\n"
               "neighbours (GSL's Brent minimizer) and stored to the nearest eighth; a larger\n"
               "group takes the grid's best for its own rows. Rows of the file that no fit\n"
               "replaces are kept as they are. The file is written whole or not at all.\n",
    .table = &jvalid_calibrate_options,
};
