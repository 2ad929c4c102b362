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

/* One roof of the plot: a precision and the chips whose datasheets give
 * it the same peak and bandwidth (drawn once, under all their names). */
typedef struct roof_key {
    ms_prec prec;
    size_t chips[JROOF_MAX_CHIPS];
    size_t nchips;
} roof_key;

static size_t roof_keys(const jroof_out *s, roof_key *keys, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nchips; i++)
        for (int p = 0; p < MS_PREC_COUNT; p++) {
            int used = 0;
            for (size_t j = 0; j < s->nops; j++)
                used |= s->ops[j].prec == (ms_prec)p && s->ops[j].flops > 0;
            if (!used)
                continue;
            const jroof_chip *c = &s->chips[i];
            size_t k = 0;
            while (k < n && !(keys[k].prec == (ms_prec)p &&
                              s->chips[keys[k].chips[0]].peak_flop_per_s[keys[k].prec] ==
                                  c->peak_flop_per_s[keys[k].prec] &&
                              s->chips[keys[k].chips[0]].hbm_bw_Bps == c->hbm_bw_Bps))
                k++;
            if (k == n && n == cap)
                continue;
            if (k == n)
                keys[n++] = (roof_key){.prec = (ms_prec)p};
            keys[k].chips[keys[k].nchips++] = i;
        }
    return n;
}

static const char *op_plot_label(const jroof_opinfo *o)
{
    return o->plot_label[0] ? o->plot_label : o->label;
}

/* The key entry (1-based) of op j: ops of the same label share one. */
static size_t op_entry(const jroof_out *s, size_t j)
{
    size_t e = 0;
    for (size_t i = 0; i <= j; i++) {
        int first = 1;
        for (size_t q = 0; q < i && first; q++)
            first = strcmp(op_plot_label(&s->ops[q]), op_plot_label(&s->ops[i])) != 0;
        e += first;
    }
    return e;
}

/* Filled, then open, point types of gnuplot: one per op in the key. */
static const int op_pts[] = {7, 5, 9, 11, 13, 15, 6, 4, 8, 10, 12, 14};
#define NPTS (sizeof op_pts / sizeof op_pts[0])

static int plotted(const jroof_opinfo *o)
{
    return o->flops > 0 && !o->no_plot;
}

/* Block 2k: roof k at datasheet peaks; block 2k+1: the ops on it at their
 * attained rates, with the point type of their key entry. */
static int write_roof_data(const jroof_out *s, const roof_key *keys, size_t nkeys, double xmin,
                           double xmax, const char *path, ms_err *err)
{
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    FILE *dat = afile_stream(af);
    fprintf(dat, "# megasim roofline data: intensity_flop_per_byte  tflop_per_s  point_type\n");
    for (size_t k = 0; k < nkeys; k++) {
        const jroof_chip *c = &s->chips[keys[k].chips[0]];
        double peak = c->peak_flop_per_s[keys[k].prec];
        fprintf(dat, "# roof %s %s (datasheet)\n", c->name, ms_prec_name(keys[k].prec));
        for (int q = 0; q <= 200; q++) {
            double x = xmin * pow(xmax / xmin, q / 200.0);
            fprintf(dat, "%.6g %.6g 0\n", x, fmin(peak, x * c->hbm_bw_Bps) / 1e12);
        }
        fprintf(dat, "\n\n# ops on that roof (attained)\n");
        int npts = 0;
        for (size_t m = 0; m < keys[k].nchips; m++)
            for (size_t j = 0; j < s->nops; j++) {
                const jroof_point *pt = &s->at[keys[k].chips[m]][j];
                if (s->ops[j].prec != keys[k].prec || !plotted(&s->ops[j]))
                    continue;
                fprintf(dat, "%.6g %.6g %d\n", pt->intensity_flop_per_byte,
                        pt->attained_flop_per_s / 1e12, op_pts[(op_entry(s, j) - 1) % NPTS]);
                npts++;
            }
        if (!npts) /* keep block numbering intact */
            fprintf(dat, "NaN NaN 0\n");
        fprintf(dat, "\n\n");
    }
    return afile_commit(af, err);
}

/* The variables roofline.gp draws from: roofs, their titles, the ops' key. */
static void write_roof_vars(FILE *gp, const jroof_out *s, const roof_key *keys, size_t nkeys)
{
    fprintf(gp, "nroofs = %zu\narray roof_title[%zu]\n", nkeys, nkeys ? nkeys : 1);
    for (size_t k = 0; k < nkeys; k++) {
        char t[400] = "";
        size_t used = 0;
        for (size_t m = 0; m < keys[k].nchips && used < sizeof t; m++)
            used += (size_t)snprintf(t + used, sizeof t - used, "%s%s", m ? ", " : "",
                                     s->chips[keys[k].chips[m]].name);
        if (used < sizeof t)
            snprintf(t + used, sizeof t - used, " %s", ms_prec_name(keys[k].prec));
        fprintf(gp, "roof_title[%zu] = ", k + 1);
        gp_write_string(gp, t);
        fprintf(gp, "\n");
    }
    size_t nentries = 0;
    for (size_t j = 0; j < s->nops; j++)
        if (plotted(&s->ops[j]) && op_entry(s, j) > nentries)
            nentries = op_entry(s, j);
    fprintf(gp, "nops = %zu\narray op_title[%zu]\narray op_pt[%zu]\n", nentries,
            nentries ? nentries : 1, nentries ? nentries : 1);
    for (size_t j = 0, e = 0; j < s->nops; j++)
        if (plotted(&s->ops[j]) && op_entry(s, j) > e) {
            e = op_entry(s, j);
            fprintf(gp, "op_pt[%zu] = %d\nop_title[%zu] = ", e, op_pts[(e - 1) % NPTS], e);
            gp_write_string(gp, op_plot_label(&s->ops[j]));
            fprintf(gp, "\n");
        }
}

/* Writes the plot's data and script (cli_plot_paths says where), then
 * draws with gnuplot if it is installed. *drawn says whether the image
 * was made. */
static int write_plot(const jroof_out *s, const char *out, int *drawn, ms_err *err)
{
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, rc;
    *drawn = 0;
    if ((rc = cli_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = cli_home_path(tmpl_path, sizeof tmpl_path, "plots/roofline.gp", err)))
        return rc;
    roof_key keys[JROOF_MAX_CHIPS * MS_PREC_COUNT];
    size_t nkeys = roof_keys(s, keys, sizeof keys / sizeof keys[0]);
    double xmin = 0.1, xmax = 1e4;
    for (size_t j = 0; j < s->nops; j++) {
        double x = s->ops[j].flops / s->ops[j].bytes;
        if (x > 0) {
            xmin = fmin(xmin, x / 3);
            xmax = fmax(xmax, x * 3);
        }
    }
    if ((rc = write_roof_data(s, keys, nkeys, xmin, xmax, dat_path, err)))
        return rc;

    char title[800], names[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < s->nchips && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 s->chips[i].name);
    snprintf(title, sizeof title,
             "roofline of %s%s%s\nlines: datasheet peaks; points: attained (calibrated) rates",
             names, s->title[0] ? ": " : "", s->title);
    afile *af;
    if ((rc = afile_open(gp_path, &af, err)))
        return rc;
    FILE *gp = afile_stream(af);
    gp_write_header(gp, "megasim roofline", gp_path, dat_path, out, svg, title);
    fprintf(gp, "xmin = %g\nxmax = %g\n", xmin, xmax);
    write_roof_vars(gp, s, keys, nkeys);
    if ((rc = gp_append_template(gp, tmpl_path, err)))
        afile_abort(af);
    else
        rc = afile_commit(af, err);
    return rc ? rc : cli_plot_draw(gp_path, dat_path, out, drawn, err);
}

/* The plot and what it leaves out, said on stdout beside the table or on
 * stderr beside JSON. */
static int plot_study(const jroof_out *o, const char *plot, int json, ms_err *err)
{
    int drawn, rc = write_plot(o, plot, &drawn, err);
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
    cli_keep_plot_data(j ? j->keep_plot_data : d->keep_plot_data);
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
    jroof_job j;
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
        "Each operation takes max(FLOPs / (peak x eta_c), bytes / (HBM bandwidth x eta_m)).\n"
        "eta are fractions of peak that real kernels reach, from hwdb/efficiency.csv per chip\n"
        "family, operation kind and precision; where it has none, the datasheet peak is used\n"
        "and a note says so (the 'eff' columns show 100%).\n"
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
    jroof_default_job d;
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
