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

static int write_csv(const char *path, const jfrontier_out *o, const char *key, ms_err *err)
{
    const jfrontier_design *ds = o->ds;
    size_t n = o->n;
    const jfrontier_knob *k = o->knobs;
    int nk = o->nknobs;
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    FILE *f = afile_stream(af);
    fprintf(f, "design");
    for (int i = 0; i < nk; i++)
        fprintf(f, ",%s_factor", derive_field_name(k[i].field));
    fprintf(f, ",tpp,performance_density,io_GBps,hbm_bw_GBps,hbm_GB,controlled,clause,%s,error\n",
            key);
    for (size_t j = 0; j < n; j++) {
        const jfrontier_design *d = &ds[j];
        fprintf(f, "%s", d->d.c.name);
        for (int i = 0; i < nk; i++)
            fprintf(f, ",%.6g", d->factor[i]);
        xrule_range r[5] = {xrule_metric_of(&d->d.c, XRULE_TPP), xrule_metric_of(&d->d.c, XRULE_PD),
                            xrule_metric_of(&d->d.c, XRULE_IO),
                            xrule_metric_of(&d->d.c, XRULE_HBM_BW),
                            xrule_metric_of(&d->d.c, XRULE_HBM_GB)};
        for (int i = 0; i < 5; i++) {
            if (r[i].lo == r[i].hi)
                fprintf(f, ",%.6g", r[i].lo);
            else
                fprintf(f, ",");
        }
        fprintf(f, ",%s,",
                d->v.controlled == XRULE_TRUE    ? "true"
                : d->v.controlled == XRULE_FALSE ? "false"
                                                 : "");
        csvtab_put_field(f, d->v.clause ? d->v.clause->name : "");
        fputc(',', f);
        if (!isnan(d->metric))
            fprintf(f, "%.10g", d->metric);
        fputc(',', f);
        csvtab_put_field(f, d->error);
        fputc('\n', f);
    }
    return afile_commit(af, err);
}

static int write_plot(const char *out, const jfrontier_out *o, const char *key, ms_err *err)
{
    const jfrontier_design *ds = o->ds, *best = o->best;
    size_t n = o->n;
    const char *base = o->base, *rule = o->rule;
    double base_metric = o->base_metric;
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, drawn, rc;
    if ((rc = gp_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = cli_home_path(tmpl_path, sizeof tmpl_path, "plots/frontier.gp", err)))
        return rc;
    afile *dat_af;
    if ((rc = afile_open(dat_path, &dat_af, err)))
        return rc;
    FILE *dat = afile_stream(dat_af);
    ms_prec at;
    int shown[3] = {0};
    /* Three blocks: allowed designs, controlled ones, the best. */
    fprintf(dat, "# megasim export-frontier: tpp %s (allowed designs)\n", key);
    for (int block = 0; block < 3; block++) {
        if (block)
            fprintf(dat, "\n\n");
        fprintf(dat, "NaN NaN\n"); /* an empty block would stop gnuplot */
        for (size_t j = 0; j < n; j++) {
            const jfrontier_design *d = &ds[j];
            int show = block == 0   ? d->v.controlled == XRULE_FALSE
                       : block == 1 ? d->v.controlled != XRULE_FALSE
                                    : d == best;
            if (show && !isnan(d->metric)) {
                fprintf(dat, "%.6g %.10g\n", xrule_tpp(&d->d.c, &at), d->metric);
                shown[block]++;
            }
        }
    }
    if ((rc = afile_commit(dat_af, err)))
        return rc;
    char title[300];
    snprintf(title, sizeof title, "designs derived from %s under %s (%s itself: %.4g %s)", base,
             rule, base, base_metric, key);
    /* Blocks with no point are not drawn: gnuplot would warn. */
    char ylabel[200], counts[3][16];
    snprintf(ylabel, sizeof ylabel, "%s (the workload's result)", key);
    for (int b = 0; b < 3; b++)
        snprintf(counts[b], sizeof counts[b], "%d", shown[b]);
    const char *vars[][2] = {{"ylabel_text", ylabel},
                             {"nallowed_text", counts[0]},
                             {"ncontrolled_text", counts[1]},
                             {"nbest_text", counts[2]}};
    if ((rc = gp_write_script(gp_path, tmpl_path, "megasim export-frontier", dat_path, out, svg,
                              title, vars, 4, err)))
        return rc;
    return gp_plot_draw(gp_path, dat_path, out, &drawn, err);
}

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
    if (!rc && j.csv && !(rc = write_csv(j.csv, &out, j.metric, &err)))
        fprintf(j.json ? stderr : stdout, "csv: %s\n", j.csv);
    if (!rc && j.plot && !(rc = write_plot(j.plot, &out, j.metric, &err)))
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
