/* cpow: see cpow.h. */
#include "cli/cpow.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/gnuplot.h"

/* The power options given on a's command line, as jpower reads them. */
static int power_opts(const cli_args *a, jpower_opts *o, ms_err *err)
{
    int rc = jopt_defaults(&jpower_options, o, err);
    for (size_t i = 0; i < jpower_options.n && !rc; i++) {
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", jpower_options.rows[i].name);
        if (cli_get(a, opt))
            rc = jopt_set(&jpower_options, o, jpower_options.rows[i].name, cli_get(a, opt), err);
    }
    return rc;
}

int cpow_load(const cli_args *a, const chip *c, double gpus, int64_t switches, double price,
              cpow *out, ms_err *err)
{
    jpower_opts o;
    *out = (cpow){0};
    int rc = power_opts(a, &o, err);
    return rc ? rc : jpower_load(&o, cli_env(), c, gpus, switches, price, out, err);
}

int cpow_load_optional(const cli_args *a, const chip *c, double gpus, int64_t switches,
                       double price, cpow *out, int *loaded, ms_err *err)
{
    jpower_opts o;
    char why[MS_ERR_MSG_MAX];
    *out = (cpow){0};
    *loaded = 0;
    int rc = power_opts(a, &o, err);
    if (!rc)
        rc = jpower_load_optional(&o, cli_env(), c, gpus, switches, price, out, loaded, why,
                                  sizeof why, err);
    if (!rc && !*loaded)
        fprintf(stderr, "megasim %s: power and ownership cost not reported: %s\n", a->cmd->name,
                why);
    return rc;
}

void cpow_free(cpow *p)
{
    jpower_free(p);
}

/* What prun computes a run's figures from; estimated is borrowed. */
static prun_basis basis(const cpow *p)
{
    return jpower_basis(p);
}

void cpow_summarize(const cpow *p, const pseries *it, const pseries *smooth, const pseries *gpu_s,
                    double gpus, double duration_s, cpow_run *out)
{
    prun_basis b = basis(p);
    prun_summarize(&b, it, smooth, gpu_s, gpus, duration_s, out);
}

void cpow_mix(const cpow *p, cpow_run *run, const cpow_run *pause, double pause_frac,
              const cpow_run *shown)
{
    prun_basis b = basis(p);
    prun_mix(&b, run, pause, pause_frac, shown);
}

void cpow_json(cJSON *o, const cpow_run *r)
{
    cli_json_list(o, "power_levels_estimated", r->estimated);
    cli_json_num(o, "it_power_mean_w", r->it_mean_w);
    cli_json_num(o, "it_power_peak_w", r->it_peak_w);
    cli_json_num(o, "it_power_min_w", r->it_min_w);
    cli_json_num(o, "facility_power_mean_w", r->facility_mean_w);
    cli_json_num(o, "node_power_mean_w", r->node_mean_w);
    cli_json_num(o, "node_power_peak_w", r->node_peak_w);
    cli_json_num(o, "gpu_power_mean_w", r->gpu_mean_w);
    cli_json_num(o, "energy_j", r->energy_j);
    cli_json_num(o, "power_swing_max_w", r->swing_max_w);
    cli_json_num(o, "ramp_max_w_per_s", r->ramp_max_w_per_s);
    if (r->smoothed) {
        cli_json_num(o, "power_swing_unsmoothed_w", r->swing_unsmoothed_w);
        cli_json_num(o, "smoothing_extra_energy_fraction", r->floor_energy_frac);
    }
    cli_json_num(o, "run_duration_s", r->duration_s);
    cli_json_num(o, "gpu_hours_total", r->gpu_hours);
    cli_json_num(o, "usd_total", r->usd_total);
    cli_json_num(o, "usd_capital", r->usd_capital);
    cli_json_num(o, "usd_energy", r->usd_energy);
    cli_json_num(o, "usd_per_gpu_hour_all_in", r->usd_per_gpu_hour);
}

void cpow_print(const cpow_run *r)
{
    char b1[32], b2[32], b3[32], b4[32];
    if (r->estimated[0]) {
        printf("  (power levels that are estimates, not measurements, in hwdb/power.csv: ");
        for (const char *q = r->estimated; *q; q++)
            fputs(*q == ';' ? ", " : (char[2]){*q, 0}, stdout);
        printf(")\n");
    }
    printf("  IT power               mean %s, peak %s, min %s; facility %s\n",
           cli_si(b1, 32, r->it_mean_w, "W"), cli_si(b2, 32, r->it_peak_w, "W"),
           cli_si(b3, 32, r->it_min_w, "W"), cli_si(b4, 32, r->facility_mean_w, "W"));
    printf("  per server, per GPU    %s a server at the wall, %s a GPU (means)\n",
           cli_si(b1, 32, r->node_mean_w, "W"), cli_si(b2, 32, r->gpu_mean_w, "W"));
    printf("  swings                 largest drop %s, steepest ramp %s/s",
           cli_si(b1, 32, r->swing_max_w, "W"), cli_si(b2, 32, r->ramp_max_w_per_s, "W"));
    if (r->smoothed)
        printf(" (unsmoothed drop %s; smoothing costs %.1f%% more energy)",
               cli_si(b3, 32, r->swing_unsmoothed_w, "W"), 100 * r->floor_energy_frac);
    printf("\n");
    if (isnan(r->usd_capital)) {
        printf("  energy and cost        %s at the meter over %.3g days; $%.4g of energy; capital "
               "unknown (no server price)\n",
               cli_si(b1, 32, r->energy_j / 3600, "Wh"), r->duration_s / 86400, r->usd_energy);
        return;
    }
    printf("  energy and cost        %s at the meter over %.3g days; $%.4g = $%.4g capital + $%.4g "
           "energy ($%.3f per GPU-hour)\n",
           cli_si(b1, 32, r->energy_j / 3600, "Wh"), r->duration_s / 86400, r->usd_total,
           r->usd_capital, r->usd_energy, r->usd_per_gpu_hour);
}

int cpow_write(const cli_args *a, const cpow *p, const pseries *it, const pseries *smooth,
               const char *title, ms_err *err)
{
    return cli_power_write(cli_get(a, "--power-trace"), cli_get(a, "--power-plot"),
                           p->site.floor_frac, it, smooth, title, err);
}

int cli_power_write(const char *trace, const char *plot, double floor_frac, const pseries *it,
                    const pseries *smooth, const char *title, ms_err *err)
{
    if (!trace && !plot)
        return MS_OK;
    char dat[4200], gp[4200], tmpl[4096];
    int svg = 0, rc;
    if (plot && (rc = cli_plot_paths(plot, dat, sizeof dat, gp, sizeof gp, &svg, err)))
        return rc;
    const char *csv = trace ? trace : dat;
    const pseries *cols[2] = {it, smooth};
    const char *names[2] = {"it_w", "it_smoothed_w"};
    size_t n = smooth ? 2 : 1;
    if ((rc = pseries_write_csv(csv, cols, names, n, err)))
        return rc;
    if (!plot)
        return MS_OK;
    if ((rc = cli_home_path(tmpl, sizeof tmpl, "plots/power.gp", err)))
        return rc;
    FILE *t = fopen(tmpl, "r");
    if (!t)
        return ms_errf(err, MS_EIO, "%s: cannot read the plot template: %s", tmpl, strerror(errno));
    FILE *g = fopen(gp, "w");
    if (!g) {
        fclose(t);
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", gp, strerror(errno));
    }
    fprintf(g, "# written by megasim; draw with: gnuplot %s\ndatafile = ", gp);
    gp_write_string(g, csv);
    fprintf(g, "\noutfile = ");
    gp_write_string(g, plot);
    fprintf(g, "\nformat = \"%s\"\ntitle_text = ", svg ? "svg" : "png");
    gp_write_string(g, title);
    fprintf(g, "\nncols = %zu\narray col_title[%zu]\ncol_title[1] = \"IT power\"\n", n, n);
    if (smooth)
        fprintf(g, "col_title[2] = \"IT power, smoothed (floor %.0f%% of matrix power)\"\n",
                100 * floor_frac);
    char line[512];
    while (fgets(line, sizeof line, t))
        fputs(line, g);
    int bad = ferror(t);
    fclose(t);
    if (fclose(g) != 0 || bad)
        return ms_errf(err, MS_EIO, "%s: write failed", gp);
    int drawn;
    return cli_plot_draw(gp, csv, plot, &drawn, err);
}
