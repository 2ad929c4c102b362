#include "job/jmitig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/jplot.h"
#include "power/tco.h"

/* A key of costs.csv, or NAN when it has none. */
static double db_or_nan(const pdb *db, const char *key)
{
    double v;
    ms_err ignored = {0};
    return db && pdb_has(db, key) && pdb_value(db, key, &v, NULL, &ignored) == MS_OK ? v : NAN;
}

int jmitig_size(const jmitig_opts *o, const pdb *db, const char *chip, const pseries *it,
                double idle_it_w, double pue, double gpus, double ramp_w_per_s,
                double energy_usd_per_kwh, const char *title, jmitig_out *out, ms_err *err)
{
    *out = (jmitig_out){.ramp_w_per_s = ramp_w_per_s,
                        .pue = pue,
                        .gpus = gpus,
                        .energy_usd_per_kwh = energy_usd_per_kwh};
    size_t n = pseries_bins(it);
    /* A last bin shorter than the rest would be a different point: drop it. */
    if (n > 2 && pseries_bin_len_s(it, n - 1) < pseries_dt(it) * (1 - 1e-9))
        n--;
    if (n < 2)
        return ms_errf(err, MS_EINVAL,
                       "--ramp-limit: the power series has %zu points; "
                       "at least 2 are needed to size mitigations",
                       n);
    out->n = n;
    out->dt_s = pseries_dt(it);
    double **arrays[] = {&out->load_w, &out->floor_w, &out->fill_w, &out->store_w};
    for (size_t a = 0; a < 4; a++)
        if (!(*arrays[a] = malloc(n * sizeof(double))))
            return ms_errf(err, MS_ENOMEM, "--ramp-limit: out of memory for %zu points", n);
    for (size_t i = 0; i < n; i++)
        out->load_w[i] = pseries_power_w(it, i) * pue;
    double dt = out->dt_s;
    pmit_describe(out->load_w, n, dt, &out->none);
    out->floor_level_w = pmit_floor(out->load_w, n, dt, ramp_w_per_s, out->floor_w, &out->floor);
    pmit_fill(out->load_w, n, dt, ramp_w_per_s, out->fill_w, &out->fill);
    int rc = pmit_store(out->load_w, n, dt, ramp_w_per_s, out->store_w, &out->store, err);
    if (rc)
        return rc;
    /* A failure: the grid can only follow the fall at the limit, a ramp
     * of drop / limit seconds, the area of its triangle taken in by a
     * store (or burnt by fill); a restart is the same in reverse. */
    out->idle_w = idle_it_w * pue;
    out->fail_drop_w = fmax(0, out->none.peak_w - out->idle_w);
    out->fail_ramp_s = out->fail_drop_w / ramp_w_per_s;
    out->fail_energy_j = out->fail_drop_w * out->fail_drop_w / (2 * ramp_w_per_s);

    out->battery_kw = db_or_nan(db, "battery_kW");
    out->battery_kwh = db_or_nan(db, "battery_kWh");
    out->battery_usd = db_or_nan(db, "battery_usd");
    out->battery_round_trip = db_or_nan(db, "battery_round_trip");
    char key[200];
    snprintf(key, sizeof key, "rack_storage_J_per_gpu.%s", chip);
    out->rack_j_per_gpu = o->rack_j_per_gpu;
    if (isnan(out->rack_j_per_gpu)) {
        out->rack_j_per_gpu = db_or_nan(db, key);
        out->rack_from_db = !isnan(out->rack_j_per_gpu);
    }
    out->rack_w_per_gpu = o->rack_w_per_gpu;
    snprintf(out->title, sizeof out->title, "%s", title);
    out->have = 1;
    return MS_OK;
}

void jmitig_free(jmitig_out *m)
{
    free(m->load_w), free(m->floor_w), free(m->fill_w), free(m->store_w);
    m->load_w = m->floor_w = m->fill_w = m->store_w = NULL;
    m->have = 0;
}

/* A year of a mean power (W), in watt-hours at the meter. */
static double year_wh(double w)
{
    return w * TCO_HOURS_PER_YEAR;
}

static void row_common(report *r, const char *name, const pmit_result *x, double ramp_limit)
{
    report_row(r);
    report_str(r, "mitigation", NULL, name);
    report_num(r, "grid_peak_w", "grid peak", x->peak_w, "W");
    report_num(r, "grid_min_w", "grid low", x->min_w, "W");
    report_num(r, "grid_ramp_w_per_s", "steepest ramp", x->ramp_max_w_per_s, "W/s");
    report_bool(r, "meets", NULL, x->ramp_max_w_per_s <= ramp_limit * (1 + 1e-9));
}

void jmitig_report(report *r, const jmitig_out *m)
{
    if (!m->have)
        return;
    double price = m->energy_usd_per_kwh, lim = m->ramp_w_per_s;
    report_begin(r, "mitigations", "holding the site to the ramp limit: each mitigation sized");
    report_num(r, "ramp_limit_w_per_s", "ramp limit", lim, "W/s");
    report_num(r, "ramp_without_w_per_s", "steepest ramp without", m->none.ramp_max_w_per_s, "W/s");
    report_num(r, "peak_without_w", "peak without", m->none.peak_w, "W");
    report_num(r, "mean_w", "mean", m->none.mean_w, "W");
    report_num(r, "energy_usd_per_kwh", "energy priced at, a kWh", price, "USD");

    report_num(r, "floor_w", "power floor: the site never below", m->floor_level_w, "W");
    report_num(r, "floor_fraction_of_peak", "  that is, of the peak",
               m->floor_level_w / m->none.peak_w, "%");
    report_num(r, "floor_added_w", "  burnt on top of the load, mean", m->floor.added_w, "W");
    report_num(r, "floor_energy_wh_per_year", "  a year", year_wh(m->floor.added_w), "Wh");
    report_num(r, "floor_usd_per_year", "  its energy a year",
               year_wh(m->floor.added_w) / 1e3 * price, "USD");

    report_num(r, "fill_added_w", "software fill: burnt on top of the load, mean", m->fill.added_w,
               "W");
    report_num(r, "fill_energy_wh_per_year", "  a year", year_wh(m->fill.added_w), "Wh");
    report_num(r, "fill_usd_per_year", "  its energy a year",
               year_wh(m->fill.added_w) / 1e3 * price, "USD");

    /* Rack storage smooths the IT draw, before the facility's PUE. */
    double need_j = m->store.store_j / m->pue / m->gpus,
           need_w = m->store.store_w / m->pue / m->gpus;
    report_num(r, "storage_j", "storage: energy it must hold", m->store.store_j, "J");
    report_num(r, "storage_w", "  power it gives or takes, at most", m->store.store_w, "W");
    report_num(r, "storage_grid_peak_w", "  the grid's peak with it", m->store.peak_w, "W");
    report_num(r, "rack_storage_j_per_gpu_needed", "in the racks: per GPU", need_j, "J/GPU");
    report_num(r, "rack_storage_w_per_gpu_needed", "  power per GPU", need_w, "W/GPU");
    if (!isnan(m->rack_j_per_gpu)) {
        report_num(r, "rack_storage_j_per_gpu",
                   m->rack_from_db ? "  a rack holds (hwdb/costs.csv)" : "  a rack holds (given)",
                   m->rack_j_per_gpu, "J/GPU");
    }
    char verdict[400];
    double fail_j = m->fail_energy_j / m->pue / m->gpus;
    if (!isnan(m->rack_w_per_gpu) && need_w > m->rack_w_per_gpu)
        snprintf(verdict, sizeof verdict,
                 "no size meets this: the swings need %.4g W a GPU from the store, more than the "
                 "%.4g W it can give, whatever it holds",
                 need_w, m->rack_w_per_gpu);
    else if (isnan(m->rack_j_per_gpu))
        snprintf(
            verdict, sizeof verdict,
            "the rack's storage is unknown for this chip: --rack-storage-J-per-gpu to judge it");
    else
        snprintf(verdict, sizeof verdict,
                 "the steps: %s (%.3g J a GPU needed of %.3g); a failure: %s (%.3g J a GPU)",
                 need_j <= m->rack_j_per_gpu ? "meets them" : "falls short", need_j,
                 m->rack_j_per_gpu, fail_j <= m->rack_j_per_gpu ? "meets it" : "falls short",
                 fail_j);
    report_str(r, "rack_storage_verdict", "  the rack's storage", verdict);

    report_num(r, "failure_drop_w", "a failure: the site falls at once by", m->fail_drop_w, "W");
    report_num(r, "idle_w", "  to, the job stopped", m->idle_w, "W");
    report_num(r, "failure_ramp_s", "  the grid follows it at the limit in", m->fail_ramp_s, "s");
    report_num(r, "failure_energy_j", "  storage takes in (or fill burns) meanwhile",
               m->fail_energy_j, "J");
    report_num(r, "failure_energy_per_gpu_j", "  per GPU", fail_j, "J/GPU");

    /* Site batteries: whole units, enough for both the energy (the steps'
     * swing and a failure's fall) and the power (the steps' or the fall). */
    if (!isnan(m->battery_kw) && !isnan(m->battery_kwh)) {
        double units = ceil(fmax((m->store.store_j + m->fail_energy_j) / 3.6e6 / m->battery_kwh,
                                 fmax(m->store.store_w, m->fail_drop_w) / 1e3 / m->battery_kw) -
                            1e-9);
        report_num(r, "battery_units", "site batteries: units", units, "");
        report_num(r, "battery_capital_usd", "  their price", units * m->battery_usd, "USD");
        double loss_w = isnan(m->battery_round_trip)
                            ? NAN
                            : m->store.discharged_w * (1 / m->battery_round_trip - 1);
        report_num(r, "battery_loss_w", "  lost in their round trips, mean", loss_w, "W");
        report_num(r, "battery_loss_usd_per_year", "  that energy a year",
                   year_wh(loss_w) / 1e3 * price, "USD");
    }
    report_end(r);

    report_table(r, "mitigation_grid", "the grid's draw after each mitigation");
    row_common(r, "none", &m->none, lim);
    row_common(r, "power floor", &m->floor, lim);
    row_common(r, "software fill", &m->fill, lim);
    row_common(r, "storage (racks or site)", &m->store, lim);
    report_table_end(r);
}

int jmitig_write_plot(const jenv *env, const char *plot, const jmitig_out *m, ms_err *err)
{
    if (!m->have)
        return ms_errf(err, MS_EUSAGE, "--mitigation-plot needs --ramp-limit: what to hold to");
    jplot p;
    FILE *d;
    int rc = jplot_begin(env, plot, "mitigation", &p, &d, err);
    if (rc)
        return rc;
    fprintf(d, "time_s,without_MW,floor_MW,fill_MW,storage_MW\n");
    for (size_t i = 0; i < m->n; i++)
        fprintf(d, "%.9g,%.9g,%.9g,%.9g,%.9g\n", ((double)i + 0.5) * m->dt_s, m->load_w[i] / 1e6,
                m->floor_w[i] / 1e6, m->fill_w[i] / 1e6, m->store_w[i] / 1e6);
    char lim[64];
    snprintf(lim, sizeof lim, "%.6g", m->ramp_w_per_s / 1e6);
    const char *const vars[][2] = {{"ramp_limit_MW_per_s", lim}};
    return jplot_end(&p, 1, m->title, vars, 1, err);
}
