/* jpower: see jpower.h. */
#include "job/jpower.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/names.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "job/jplot.h"

static const jopt rows[] = {JPOWER_ROWS(0)};
const jopt_table jpower_options = {.rows = rows, .n = sizeof rows / sizeof rows[0]};

/* A key of hwdb/costs.csv for this chip ("server_usd.H100"). */
static int chip_value(const pdb *db, const char *key, const char *chip, double *out, ms_err *err)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", key, chip);
    return pdb_value(db, k, out, NULL, err);
}

/* v when given (not NAN), else the database's value. */
static void override(double *field, double v)
{
    if (!isnan(v))
        *field = v;
}

/* Ownership: a server's price over its GPUs (or a rack's over its). */
static int load_tco(const jpower_opts *o, const chip *c, double gpus, jpower *out, ms_err *err)
{
    tco_inputs *t = &out->tco;
    double server, rack, rack_gpus;
    if (chip_value(out->db, "server_usd", c->name, &server, err) == MS_OK)
        t->server_usd_per_gpu = server / out->lv.node_gpus;
    else if (chip_value(out->db, "rack_usd", c->name, &rack, err) == MS_OK &&
             chip_value(out->db, "rack_gpus", c->name, &rack_gpus, err) == MS_OK)
        t->server_usd_per_gpu = rack / rack_gpus;
    else /* unknown: capital is not reported unless an option gives it */
        t->server_usd_per_gpu = NAN;
    *err = (ms_err){0};
    if (!isnan(o->server_usd))
        t->server_usd_per_gpu = o->server_usd / out->lv.node_gpus;
    int rc;
    if ((rc = pdb_value(out->db, "network_usd_per_gpu", &t->network_usd_per_gpu, NULL, err)) ||
        (rc = pdb_value(out->db, "facility_usd_per_W", &t->facility_usd_per_w, NULL, err)) ||
        (rc = pdb_value(out->db, "life_years", &t->life_years, NULL, err)) ||
        (rc = pdb_value(out->db, "facility_life_years", &t->facility_life_years, NULL, err)) ||
        (rc = pdb_value(out->db, "energy_usd_per_kWh", &t->energy_usd_per_kwh, NULL, err)))
        return rc;
    override(&t->life_years, o->life_years);
    override(&t->energy_usd_per_kwh, o->energy_usd_per_kwh);
    t->it_w_per_gpu = prun_provisioned_w_per_gpu(&out->lv, &out->site, gpus);
    double rent;
    if (isfinite(out->price_per_gpu_hour)) {
        snprintf(out->price_basis, sizeof out->price_basis,
                 "rented at $%g a GPU-hour (--price-per-gpu-hour)", out->price_per_gpu_hour);
    } else if (isnan(t->server_usd_per_gpu) &&
               chip_value(out->db, "gpu_hour_usd", c->name, &rent, err) == MS_OK) {
        /* No purchase price (TPUs are not sold): the cloud's price. */
        out->price_per_gpu_hour = rent;
        snprintf(out->price_basis, sizeof out->price_basis,
                 "rented at $%g a GPU-hour (hwdb/costs.csv gpu_hour_usd.%s: no server price)", rent,
                 c->name);
    } else if (isnan(t->server_usd_per_gpu)) {
        snprintf(out->unpriced, sizeof out->unpriced,
                 "hwdb/costs.csv has no server_usd.%s, rack_usd.%s or gpu_hour_usd.%s: give "
                 "--server-usd (one %g-GPU server) or --price-per-gpu-hour",
                 c->name, c->name, c->name, out->lv.node_gpus);
    }
    *err = (ms_err){0};
    return tco_check(t, err);
}

double jpower_node_other_drawn(double node_other_w, double node_other_idle_w, const char *estimated,
                               double u)
{
    if (!names_has(estimated, "node_other_W") || !(u >= 0 && u <= 1))
        return node_other_w;
    return node_other_idle_w + u * (node_other_w - node_other_idle_w);
}

int jpower_load(const jpower_opts *o, const jenv *env, const chip *c, double gpus, int64_t switches,
                double price, jpower *out, ms_err *err)
{
    *out = (jpower){.price_per_gpu_hour = price, .chip = c->name};
    char pw[4096], co[4096];
    int rc;
    if ((rc = jenv_path(env, "hwdb/power.csv", pw, sizeof pw, err)) ||
        (rc = jenv_path(env, "hwdb/costs.csv", co, sizeof co, err)) ||
        (rc = pdb_load(pw, co, &out->db, err)))
        return rc;
    const pdb_chip *pc = pdb_chip_find(out->db, c->name);
    if (!pc) /* MS_ENOTFOUND: the one failure jpower_load_optional may turn into a note */
        return ms_errf(err, MS_ENOTFOUND,
                       "%s has no row for %s: its power levels are unknown (add one, with its "
                       "source)",
                       pw, c->name);
    out->lv = (pwr_levels){.matrix_w = pc->matrix_W,
                           .memory_w = pc->memory_W,
                           .comm_w = pc->comm_W,
                           .idle_w = pc->idle_W,
                           .node_gpus = pc->node_gpus,
                           .node_other_w = pc->node_other_W,
                           .node_other_idle_w = pc->node_other_idle_W,
                           .limit_w = isnan(o->gpu_power_limit_w) ? 0 : o->gpu_power_limit_w};
    out->estimated = pc->estimated ? pc->estimated : "";
    /* Where hwdb/power.csv only bounds the rest of a node under load (its
     * idle figure below, the rating less the GPUs above), the prediction
     * takes the middle of the bounds, as a band's draws centre on it. */
    double u = isnan(o->node_power_fraction) ? JPOWER_NODE_FRACTION : o->node_power_fraction;
    out->lv.node_other_w =
        jpower_node_other_drawn(out->lv.node_other_w, out->lv.node_other_idle_w, out->estimated, u);
    out->site.switches = switches;
    if ((rc = pdb_value(out->db, "pue", &out->site.pue, NULL, err)) ||
        (rc = pdb_value(out->db, "switch_W", &out->site.switch_w, NULL, err)))
        return rc;
    override(&out->site.pue, o->pue);
    override(&out->site.floor_frac, o->power_floor);
    if ((rc = pwr_check(&out->lv, &out->site, c->name, err)))
        return rc;
    return load_tco(o, c, gpus, out, err);
}

int jpower_load_optional(const jpower_opts *o, const jenv *env, const chip *c, double gpus,
                         int64_t switches, double price, jpower *out, int *loaded, char *why,
                         size_t why_cap, ms_err *err)
{
    *loaded = 0;
    why[0] = '\0';
    int rc = jpower_load(o, env, c, gpus, switches, price, out, err);
    if (rc == MS_OK) {
        *loaded = 1;
        return MS_OK;
    }
    /* Only a chip without power levels is left unpriced with a note; a
     * power file that cannot be read, or a power option given for a run
     * that cannot use it, ends the run. */
    if (rc != MS_ENOTFOUND || o->power_trace || o->power_plot || !isnan(o->power_floor) ||
        !isnan(o->gpu_power_limit_w) || !isnan(o->pue) || !isnan(o->energy_usd_per_kwh) ||
        !isnan(o->server_usd) || !isnan(o->life_years) || !isnan(o->node_power_fraction))
        return rc;
    snprintf(why, why_cap, "%s", err->msg);
    *err = (ms_err){0};
    return MS_OK;
}

int jpower_limit_chip(const jpower_opts *o, const jenv *env, const chip *c, chip *out, ms_err *err)
{
    *out = *c;
    if (isnan(o->gpu_power_limit_w))
        return MS_OK;
    jpower p;
    int rc = jpower_load(o, env, c, 1, 0, NAN, &p, err);
    if (rc == MS_OK) {
        double clock_frac = pwr_limit_clock_frac(&p.lv);
        for (int i = 0; i < MS_PREC_COUNT; i++)
            out->peak_flop_per_s[i] = c->peak_flop_per_s[i] * clock_frac;
    } else if (rc == MS_ENOTFOUND) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        rc = ms_errf(err, MS_EUSAGE, "--gpu-power-limit: %s", msg);
    }
    jpower_free(&p);
    return rc;
}

void jpower_free(jpower *p)
{
    if (p)
        pdb_free(p->db);
}

prun_basis jpower_basis(const jpower *p)
{
    return (prun_basis){.lv = p->lv,
                        .site = p->site,
                        .tco = p->tco,
                        .price_per_gpu_hour = p->price_per_gpu_hour,
                        .price_basis = p->price_basis,
                        .estimated = p->estimated};
}

void jpower_report(report *r, const prun *run, const char *title)
{
    report_begin(r, NULL, title);
    report_strs_split(r, "power_levels_estimated", "levels that are estimates (hwdb/power.csv)",
                      run->estimated);
    report_num(r, "it_power_mean_w", "IT power, mean", run->it_mean_w, "W");
    report_num(r, "it_power_peak_w", "IT power, peak", run->it_peak_w, "W");
    report_num(r, "it_power_min_w", "IT power, minimum", run->it_min_w, "W");
    report_num(r, "facility_power_mean_w", "facility power, mean", run->facility_mean_w, "W");
    report_num(r, "node_power_mean_w", "a server at the wall, mean", run->node_mean_w, "W");
    report_num(r, "node_power_peak_w", "a server at the wall, peak", run->node_peak_w, "W");
    report_num(r, "gpu_power_mean_w", "a GPU, mean", run->gpu_mean_w, "W");
    report_num(r, "energy_j", "energy at the meter", run->energy_j, "J");
    report_num(r, "power_swing_max_w", "largest drop", run->swing_max_w, "W");
    report_num(r, "ramp_max_w_per_s", "steepest ramp", run->ramp_max_w_per_s, "W/s");
    if (run->smoothed) {
        report_num(r, "power_swing_unsmoothed_w", "largest drop, unsmoothed",
                   run->swing_unsmoothed_w, "W");
        report_num(r, "smoothing_extra_energy_fraction", "energy smoothing adds",
                   run->floor_energy_frac, "%");
    }
    if (run->gpu_limit_w > 0) {
        report_num(r, "gpu_power_limit_w", "power limit on each GPU", run->gpu_limit_w, "W");
        report_num(r, "gpu_limit_clock_frac", "clock under the limit (an estimate)",
                   run->limit_clock_frac, "%");
    }
    if (run->price_basis[0])
        report_str(r, "price_basis", "priced", run->price_basis);
    report_num(r, "run_duration_s", "run", run->duration_s, "s");
    report_num(r, "gpu_hours_total", "GPU-hours", run->gpu_hours, "GPU-hours");
    report_num(r, "usd_total", "cost", run->usd_total, "USD");
    report_num(r, "usd_capital", "capital", run->usd_capital, "USD");
    report_num(r, "usd_energy", "energy", run->usd_energy, "USD");
    report_num(r, "usd_per_gpu_hour_all_in", "per GPU-hour, all in", run->usd_per_gpu_hour, "USD");
    report_end(r);
}

int jpower_write_series(const jenv *env, const char *trace, const char *plot, double floor_frac,
                        const pseries *it, const pseries *smooth, const char *title, ms_err *err)
{
    if (!trace && !plot)
        return MS_OK;
    char dat[4200], gp[4200], tmpl[4096];
    int svg = 0, rc;
    if (plot && (rc = gp_plot_paths(plot, dat, sizeof dat, gp, sizeof gp, &svg, err)))
        return rc;
    const char *csv = trace ? trace : dat;
    const pseries *cols[2] = {it, smooth};
    const char *names[2] = {"it_w", "it_smoothed_w"};
    size_t n = smooth ? 2 : 1;
    if ((rc = pseries_write_csv(csv, cols, names, n, err)))
        return rc;
    if (!plot)
        return MS_OK;
    if ((rc = jenv_path(env, "plots/power.gp", tmpl, sizeof tmpl, err)))
        return rc;
    FILE *t = fopen(tmpl, "r");
    if (!t)
        return ms_errf(err, MS_EIO, "%s: cannot read the plot template: %s", tmpl, strerror(errno));
    afile *af;
    if ((rc = afile_open(gp, &af, err))) {
        fclose(t);
        return rc;
    }
    FILE *g = afile_stream(af);
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
    if (bad) {
        afile_abort(af);
        return ms_errf(err, MS_EIO, "%s: read failed", tmpl);
    }
    if ((rc = afile_commit(af, err)))
        return rc;
    int drawn;
    return gp_plot_draw(gp, csv, plot, &drawn, err);
}

int jpower_write_spectrum(const jenv *env, const char *plot, const double *share, size_t n,
                          double df_hz, double lo_hz, double hi_hz, const char *title, ms_err *err)
{
    jplot p;
    FILE *d;
    int rc = jplot_begin(env, plot, "spectrum", &p, &d, err);
    if (rc)
        return rc;
    fprintf(d, "frequency_hz,share\n");
    for (size_t k = 1; k < n; k++)
        fprintf(d, "%.9g,%.9g\n", (double)k * df_hz, share[k]);
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.9g", fmax(lo_hz, df_hz)); /* a log axis starts above 0 */
    snprintf(hi, sizeof hi, "%.9g", hi_hz);
    const char *const vars[][2] = {{"band_lo", lo}, {"band_hi", hi}};
    return jplot_end(&p, 1, title, vars, 2, err);
}
