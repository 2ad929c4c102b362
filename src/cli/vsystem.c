/* vsystem: see vsystem.h. */
#include "cli/vsystem.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "cli/cli.h"
#include "io/afile.h"
#include "io/gnuplot.h"

enum { MAXP = 16 }; /* panels a plot draws at most */

typedef char vs_panel[JSYSTEM_TEXT + 24];

/* The panel a case is drawn in: its family (the first word of its name,
 * "T5") and its unit, so that clusters of one source stay readable. */
static void panel_key(const jsystem_case *c, char *buf, size_t cap)
{
    size_t w = strcspn(c->name, " ");
    snprintf(buf, cap, "%.*s: %s", (int)(w < 16 ? w : 16), c->name, c->unit);
}

/* A tick label: v to two significant figures with an SI prefix ("14k"). */
static void tick_label(double v, char *buf, size_t cap)
{
    static const char *const prefix[] = {"", "k", "M", "G", "T"};
    int p = 0;
    while (p < 4 && fabs(v) >= 1000) {
        v /= 1000;
        p++;
    }
    snprintf(buf, cap, "%.3g%s", v, prefix[p]);
}

/* Writes "set NAMEtics (...)" with about six ticks at round values
 * spaced evenly on a log axis from a to b. */
static void log_ticks(FILE *g, const char *axis, double a, double b)
{
    double step = pow(b / a, 1.0 / 6);
    fprintf(g, "set %stics (", axis);
    for (int i = 0; i <= 6; i++) {
        double v = a * pow(step, i + 0.5);
        double mag = pow(10, floor(log10(v)) - 1);
        v = round(v / mag) * mag; /* two significant figures */
        char label[32];
        tick_label(v, label, sizeof label);
        fprintf(g, "%s\"%s\" %.6g", i ? ", " : "", label, v);
    }
    fprintf(g, ")\n");
}

/* The panels of the cases that ran, in order of first appearance; says
 * on stderr how many cases fall beyond MAXP of them. */
static size_t panels_of(const jsystem_out *o, vs_panel *panels)
{
    size_t np = 0, unplotted = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (o->cases[i].error[0])
            continue;
        vs_panel key;
        panel_key(&o->cases[i], key, sizeof key);
        size_t u = 0;
        while (u < np && strcmp(panels[u], key) != 0)
            u++;
        if (u == np && np < MAXP)
            snprintf(panels[np++], sizeof panels[0], "%s", key);
        else if (u == np)
            unplotted++;
    }
    if (unplotted)
        fprintf(stderr,
                "megasim validate: the plot draws at most %d panels (family: unit); %zu case(s) of "
                "further panels are in the table only\n",
                MAXP, unplotted);
    return np;
}

/* The script's head: terminal, style, output, the multiplot's layout. */
static void plot_head(FILE *g, const char *gp, const char *out, int svg, size_t np)
{
    int cols = np > 1 ? 2 : 1, rows = (int)((np + 1) / 2);
    if (rows < 1)
        rows = 1;
    int wpx = 820 * cols, hpx = 520 * rows + 40;
    fprintf(g, "# written by megasim validate --system; draw with: gnuplot %s\n", gp);
    if (svg)
        fprintf(g, "set terminal svg size %d,%d dynamic noenhanced font \"sans,11\"\n", wpx, hpx);
    else
        fprintf(g,
                "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo size "
                "%d,%d noenhanced font \"sans,11\" } else { set terminal png size %d,%d "
                "noenhanced }\n",
                wpx, hpx, wpx, hpx);
    gp_write_style(g);
    fprintf(g, "set output ");
    gp_write_string(g, out);
    fprintf(g,
            "\nset multiplot layout %d,%d title \"megasim validate --system: predicted "
            "against published (grey band: within 10%%)\"\n",
            rows, cols);
    fprintf(g, "set logscale xy\nset grid\nset key top left\nset xlabel \"published\"\n"
               "set ylabel \"predicted\"\nset mxtics default\nset rmargin 30\n");
}

/* One panel: its points in block u of f, its list of cases and its plot
 * command in g. */
static void plot_panel(FILE *f, FILE *g, const jsystem_out *o, const char *panel, size_t u,
                       const char *dat)
{
    fprintf(f, "# %s\n", panel);
    double lo = INFINITY, hi = 0;
    int k = 0;
    fprintf(g, "unset label\n");
    for (size_t i = 0; i < o->n; i++) {
        const jsystem_case *c = &o->cases[i];
        vs_panel key;
        if (c->error[0])
            continue;
        panel_key(c, key, sizeof key);
        if (strcmp(key, panel) != 0)
            continue;
        /* The list: the name without its family, up to a comma. */
        char label[JSYSTEM_NAME];
        const char *start = c->name + strcspn(c->name, " ");
        snprintf(label, sizeof label, "%s", *start ? start + 1 : c->name);
        label[strcspn(label, ",")] = 0;
        k++;
        int band = !isnan(c->p10) && !isnan(c->p90);
        fprintf(f, "%.6g %.6g %d %.6g %.6g\n", c->published, c->predicted, k,
                band ? c->p10 : c->predicted, band ? c->p90 : c->predicted);
        char item[JSYSTEM_NAME + 48];
        snprintf(item, sizeof item, "%d  %s  %+.1f%%", k, label, 100 * c->rel_error);
        fprintf(g, "set label %d ", k);
        gp_write_string(g, item);
        fprintf(g, " at graph 1.04, graph %.3f left font \",9\"\n", 0.97 - 0.075 * (k - 1));
        lo = fmin(lo, fmin(c->published, band ? fmin(c->predicted, c->p10) : c->predicted));
        hi = fmax(hi, fmax(c->published, band ? fmax(c->predicted, c->p90) : c->predicted));
    }
    fprintf(f, "\n\n");
    double a = lo / 1.3, b = hi * 1.3;
    fprintf(g, "set title ");
    gp_write_string(g, panel);
    fprintf(g, "\nset xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n", a, b, a, b);
    log_ticks(g, "x", a, b);
    log_ticks(g, "y", a, b);
    fprintf(g, "plot '+' using 1:(0.9*$1):(1.1*$1) with filledcurves lc rgb \"#dddddd\" "
               "title \"+-10%%\", x with lines lc rgb \"#555555\" title \"y = x\", ");
    if (o->all.banded) /* --uncertainty: each case's 10th-90th percentile band as a bar */
        fprintf(g,
                "\"%s\" index %zu using 1:2:4:5 with yerrorbars pt 0 lc rgb \"#ff7f0e\" "
                "title \"p10-p90\", ",
                dat, u);
    fprintf(g,
            "\"%s\" index %zu using 1:2 with points pt 7 ps 1.1 lc rgb \"#1f77b4\" "
            "title \"cases\", \"%s\" index %zu using 1:2:3 with labels font \",8\" "
            "offset char 0.9,0.4 left notitle\n",
            dat, u, dat, u);
}

int vs_plot(const jsystem_out *o, const char *out, int *drawn, ms_err *err)
{
    char dat[4200], gp[4200];
    int svg, rc = cli_plot_paths(out, dat, sizeof dat, gp, sizeof gp, &svg, err);
    if (rc)
        return rc;
    vs_panel panels[MAXP];
    size_t np = panels_of(o, panels);
    afile *f_af = NULL, *g_af = NULL;
    if ((rc = afile_open(dat, &f_af, err)) || (rc = afile_open(gp, &g_af, err))) {
        afile_abort(f_af);
        return rc;
    }
    FILE *f = afile_stream(f_af), *g = afile_stream(g_af);
    plot_head(g, gp, out, svg, np);
    fprintf(f, "# published predicted number p10 p90 (p10 and p90: the band with "
               "--uncertainty, else the prediction), one block per panel (family: unit)\n");
    for (size_t u = 0; u < np; u++)
        plot_panel(f, g, o, panels[u], u, dat);
    fprintf(g, "unset multiplot\n");
    rc = afile_commit(f_af, err);
    if (rc)
        afile_abort(g_af);
    else
        rc = afile_commit(g_af, err);
    return rc ? rc : cli_plot_draw(gp, dat, out, drawn, err);
}

/* One case's row of the Markdown table; with its band (p10 to p90 and
 * whether the published figure is inside) when banded. */
static void markdown_case(const jsystem_case *c, int banded, FILE *f)
{
    char mem[48] = "-", parts[200] = "", band[96] = "";
    if (banded) {
        int in = jsystem_covered(c->published, c->p10, c->p90);
        if (in < 0)
            snprintf(band, sizeof band, " - | - |");
        else
            snprintf(band, sizeof band, " %.4g to %.4g | %s |", c->p10, c->p90, in ? "yes" : "no");
    }
    if (c->error[0]) {
        fprintf(f, "| %s | %s | failed | %.4g | - |%s - | %s |\n", c->name, c->metric, c->published,
                band, c->error);
        return;
    }
    if (isfinite(c->memory_B))
        snprintf(mem, sizeof mem, "%.1f GB%s", c->memory_B / 1e9,
                 c->fits == 1   ? " (fits)"
                 : c->fits == 0 ? " (does not fit)"
                                : "");
    for (int k = 0; k < 2; k++)
        if (!isnan(c->parts_frac[k]))
            snprintf(parts + strlen(parts), sizeof parts - strlen(parts), "%s%s %.0f%%",
                     k ? ", " : "", c->parts[k], 100 * c->parts_frac[k]);
    fprintf(f, "| %s | %s (%s) | %.4g | %.4g | %+.1f%% |%s %s | %s |\n", c->name, c->metric,
            c->unit, c->predicted, c->published, 100 * c->rel_error, band, mem, parts);
}

int vs_markdown(const jsystem_out *o, FILE *f, ms_err *err)
{
    int banded = o->all.banded > 0;
    fprintf(f,
            "| case | metric (unit) | predicted | published | error |%s memory per GPU | largest "
            "parts of the step |\n|---|---|---:|---:|---:|%s---:|---|\n",
            banded ? " p10 to p90 | in band |" : "", banded ? "---:|:---:|" : "");
    for (size_t i = 0; i < o->n; i++)
        markdown_case(&o->cases[i], banded, f);
    fprintf(f,
            "\n| kind | cases | failed | median \\|error\\| | worst \\|error\\| |%s\n"
            "|---|---:|---:|---:|---:|%s\n",
            banded ? " in band |" : "", banded ? "---:|" : "");
    for (int k = 0; k < JSYSTEM_KINDS; k++) {
        const jsystem_stats *st = &o->stats[k];
        char cov[48] = "";
        if (banded)
            snprintf(cov, sizeof cov, " %zu of %zu (%.0f%%) |", st->covered, st->banded,
                     100 * st->coverage);
        if (st->n || st->failed)
            fprintf(f, "| %s | %zu | %zu | %.1f%% | %.1f%% |%s\n", jsystem_kind(k), st->n,
                    st->failed, 100 * st->median, 100 * st->worst, cov);
    }
    if (banded)
        fprintf(f, "| all | %zu | %zu | | | %zu of %zu (%.0f%%) |\n", o->all.n, o->all.failed,
                o->all.covered, o->all.banded, 100 * o->all.coverage);
    if (ferror(f))
        return ms_errf(err, MS_EIO, "write error on the Markdown table");
    return MS_OK;
}
