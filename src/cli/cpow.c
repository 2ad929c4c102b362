/* cpow: see cpow.h. */
#include "cli/cpow.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/gnuplot.h"

static int opt_double(const cli_args *a, const char *opt, double *inout, ms_err *err)
{
    const char *v = cli_get(a, opt);
    return v ? cli_parse_double(opt, v, inout, err) : MS_OK;
}

/* A key of hwdb/costs.csv for this chip ("server_usd.H100"). */
static int chip_value(const pdb *db, const char *key, const char *chip, double *out, ms_err *err)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", key, chip);
    return pdb_value(db, k, out, NULL, err);
}

int cpow_load(const cli_args *a, const chip *c, double gpus, int64_t switches, double price,
              cpow *out, ms_err *err)
{
    *out = (cpow){.price_per_gpu_hour = price, .chip = c->name};
    char pw[4096], co[4096];
    int rc;
    if ((rc = cli_home_path(pw, sizeof pw, "hwdb/power.csv", err)) ||
        (rc = cli_home_path(co, sizeof co, "hwdb/costs.csv", err)) ||
        (rc = pdb_load(pw, co, &out->db, err)))
        return rc;
    const pdb_chip *pc = pdb_chip_find(out->db, c->name);
    if (!pc)
        return ms_errf(err, MS_EINVAL,
                       "%s has no row for %s: its power levels are unknown (add one, with its "
                       "source)",
                       pw, c->name);
    out->lv = (pwr_levels){.matrix_w = pc->matrix_W,
                           .memory_w = pc->memory_W,
                           .comm_w = pc->comm_W,
                           .idle_w = pc->idle_W,
                           .node_gpus = pc->node_gpus,
                           .node_other_w = pc->node_other_W,
                           .node_other_idle_w = pc->node_other_idle_W};
    out->estimated = pc->estimated ? pc->estimated : "";
    out->site.switches = switches;
    if ((rc = pdb_value(out->db, "pue", &out->site.pue, NULL, err)) ||
        (rc = pdb_value(out->db, "switch_W", &out->site.switch_w, NULL, err)) ||
        (rc = opt_double(a, "--pue", &out->site.pue, err)) ||
        (rc = opt_double(a, "--power-floor", &out->site.floor_frac, err)))
        return rc;
    if (cli_get(a, "--pue") && !(out->site.pue >= 1))
        return ms_errf(err, MS_EUSAGE, "--pue %g: expected facility power over IT power, >= 1",
                       out->site.pue);
    if (cli_get(a, "--power-floor") && !(out->site.floor_frac >= 0 && out->site.floor_frac <= 1))
        return ms_errf(err, MS_EUSAGE,
                       "--power-floor %g: expected a fraction of matrix power from 0 to 1",
                       out->site.floor_frac);
    if ((rc = pwr_check(&out->lv, &out->site, c->name, err)))
        return rc;
    /* Ownership: a server's price over its GPUs (or a rack's over its). */
    tco_inputs *t = &out->tco;
    double server;
    if (chip_value(out->db, "server_usd", c->name, &server, err) == MS_OK) {
        t->server_usd_per_gpu = server / out->lv.node_gpus;
    } else {
        double rack, rack_gpus;
        if (chip_value(out->db, "rack_usd", c->name, &rack, err) == MS_OK &&
            chip_value(out->db, "rack_gpus", c->name, &rack_gpus, err) == MS_OK)
            t->server_usd_per_gpu = rack / rack_gpus;
        else /* unknown: capital is not reported unless an option gives it */
            t->server_usd_per_gpu = NAN;
        *err = (ms_err){0};
    }
    if (cli_get(a, "--server-usd")) {
        double s;
        if ((rc = cli_parse_double("--server-usd", cli_get(a, "--server-usd"), &s, err)))
            return rc;
        t->server_usd_per_gpu = s / out->lv.node_gpus;
    }
    if ((rc = pdb_value(out->db, "network_usd_per_gpu", &t->network_usd_per_gpu, NULL, err)) ||
        (rc = pdb_value(out->db, "facility_usd_per_W", &t->facility_usd_per_w, NULL, err)) ||
        (rc = pdb_value(out->db, "life_years", &t->life_years, NULL, err)) ||
        (rc = pdb_value(out->db, "facility_life_years", &t->facility_life_years, NULL, err)) ||
        (rc = pdb_value(out->db, "energy_usd_per_kWh", &t->energy_usd_per_kwh, NULL, err)) ||
        (rc = opt_double(a, "--life-years", &t->life_years, err)) ||
        (rc = opt_double(a, "--energy-usd-per-kwh", &t->energy_usd_per_kwh, err)))
        return rc;
    t->it_w_per_gpu = prun_provisioned_w_per_gpu(&out->lv, &out->site, gpus);
    if (isnan(t->server_usd_per_gpu))
        snprintf(out->unpriced, sizeof out->unpriced,
                 "hwdb/costs.csv has no server_usd.%s or rack_usd.%s: give --server-usd (one "
                 "%g-GPU server) or --price-per-gpu-hour",
                 c->name, c->name, out->lv.node_gpus);
    return tco_check(t, err);
}

int cpow_load_optional(const cli_args *a, const chip *c, double gpus, int64_t switches,
                       double price, cpow *out, int *loaded, ms_err *err)
{
    *loaded = 0;
    int rc = cpow_load(a, c, gpus, switches, price, out, err);
    if (rc == MS_OK) {
        *loaded = 1;
        return MS_OK;
    }
    if (cli_get(a, "--power-trace") || cli_get(a, "--power-plot") || cli_get(a, "--power-floor") ||
        cli_get(a, "--pue"))
        return rc;
    if (!cli_capturing())
        fprintf(stderr, "megasim %s: power and ownership cost not reported: %s\n", a->cmd->name,
                err->msg);
    *err = (ms_err){0};
    return MS_OK;
}

void cpow_free(cpow *p)
{
    if (p)
        pdb_free(p->db);
}

/* What prun computes a run's figures from; estimated is borrowed. */
static prun_basis basis(const cpow *p)
{
    return (prun_basis){.lv = p->lv,
                        .site = p->site,
                        .tco = p->tco,
                        .price_per_gpu_hour = p->price_per_gpu_hour,
                        .estimated = p->estimated};
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
    const char *trace = cli_get(a, "--power-trace"), *plot = cli_get(a, "--power-plot");
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
                100 * p->site.floor_frac);
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
