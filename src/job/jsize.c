/* jsize: see jsize.h. */
#include "job/jsize.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"
#include "model/model.h"
#include "net/topo.h"
#include "power/pdb.h"
#include "power/pwr.h"
#include "power/tco.h"

#define S(f) offsetof(jsize_job, f)

static const jopt rows[] = {
    {"chip", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, S(chip),
     "chip, or a mixed fleet NAME:COUNT,NAME:COUNT (H100:100000,H200:100000)"},
    {"power", JOPT_STR, "P", NULL, NULL, NAN, NAN, NULL, S(power),
     "a site's power at the meter (2.2GW, 150MW, 20e6): the GPUs it holds"},
    {"gpus", JOPT_INT, "N", NULL, NULL, 1, 1e9, NULL, S(gpus),
     "GPUs of one chip: the power they need"},
    {"it-fraction", JOPT_POS, "F", NULL, NULL, NAN, 1, NULL, S(it_fraction),
     "with --power: the share of it that reaches IT, > 0 (default: hwdb/costs.csv)"},
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, S(model),
     "a model to train on the fleet (with --tokens, --seq and --mfu)"},
    {"tokens", JOPT_POS, "N", NULL, NULL, NAN, NAN, NULL, S(tokens), "training tokens (14.8e12)"},
    {"seq", JOPT_INT, "N", NULL, "4096", 1, NAN, NULL, S(seq), "tokens per sequence"},
    {"mfu", JOPT_POS, "F", NULL, NULL, NAN, 1, NULL, S(mfu),
     "model FLOPs utilization to assume, > 0 (megasim train computes it for a plan)"},
    {"precision", JOPT_CHOICE, "P", NULL, "bf16", NAN, NAN, "bf16|fp8", S(precision),
     "the peak --mfu is a fraction of"},
    {"price-per-gpu-hour", JOPT_POS, "USD", "USD", NULL, NAN, NAN, NULL, S(price_per_gpu_hour),
     "a flat price instead of owning the fleet"},
    {"years", JOPT_POS, "Y", NULL, NULL, NAN, 100, NULL, S(years),
     "the horizon the cost of ownership is summed over, servers and network straight-line over "
     "their life (default: their life, hwdb/costs.csv life_years)"},
    JPOWER_ROWS(S(pw)),
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, S(chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, S(json), "print JSON"},
};

const jopt_table jsize_options = {.rows = rows,
                                  .n = sizeof rows / sizeof rows[0],
                                  .track_given = 1,
                                  .given_off = offsetof(jsize_job, given)};

/* One kind of chip in the fleet: what was read for it and its figures. */
typedef struct kind {
    const chip *c;
    double gpus;
    jpower pw;
    int loaded;
    double servers, racks, it_w, it_per_gpu_w; /* it_w and it_per_gpu_w with the fabric's share */
    double usd_capital_per_hour, usd_energy_per_hour;
    tco_horizon life; /* over the fleet's horizon, at full load */
} kind;

/* The whole fleet at full load. */
typedef struct fleet {
    kind k[JSIZE_MAX_KINDS];
    size_t n;
    int counted; /* the kinds came with counts */
    int by_power;
    double site_w, it_frac; /* with --power */
    double gpus, servers, racks;
    int64_t switches, radix;
    double it_w, meter_w, pue;
    double peak[MS_PREC_COUNT];
    double hbm_B;
    double capex_servers, capex_network, capex_facility;
    double usd_capital_per_hour, usd_energy_per_hour; /* the whole fleet at full load */
    tco_horizon life;                                 /* the kinds' summed */
    char price_basis[300];                            /* the first rented kind's, or "" */
    double train_days;
    char model[96];     /* the model's name, with --model */
    char unpriced[300]; /* why capital is unknown; "" when it is known */
} fleet;

/* Parses "A100" or "H100:100000,H200:100000" into f's kinds. */
static int parse_fleet(const char *text, const chip_db *db, fleet *f, ms_err *err)
{
    f->n = 0;
    f->counted = -1;
    char buf[512];
    if (strlen(text) >= sizeof buf)
        return ms_errf(err, MS_EUSAGE, "--chip: list too long");
    strcpy(buf, text);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (f->n == JSIZE_MAX_KINDS)
            return ms_errf(err, MS_EUSAGE, "--chip: at most %d kinds in one fleet",
                           JSIZE_MAX_KINDS);
        char *colon = strchr(tok, ':');
        int has = colon != NULL;
        if (f->counted >= 0 && has != f->counted)
            return ms_errf(err, MS_EUSAGE,
                           "--chip '%s': give every kind a count (NAME:COUNT) or none", text);
        f->counted = has;
        double count = NAN;
        if (colon) {
            *colon = 0;
            char *end;
            count = num_strtod(colon + 1, &end);
            if (end == colon + 1 || *end || !(count >= 1) || count != floor(count))
                return ms_errf(err, MS_EUSAGE, "--chip '%s': count '%s' is not a whole number >= 1",
                               text, colon + 1);
        }
        const chip *c;
        int rc = chip_db_lookup(db, tok, &c, err);
        if (rc) {
            char inner[sizeof err->msg];
            snprintf(inner, sizeof inner, "%s", err->msg);
            return ms_errf(err, rc, "--chip '%s': %s", text, inner);
        }
        f->k[f->n++] = (kind){.c = c, .gpus = count};
    }
    if (f->n == 0)
        return ms_errf(err, MS_EUSAGE, "--chip: name a chip");
    if (f->n > 1 && !f->counted)
        return ms_errf(err, MS_EUSAGE,
                       "--chip '%s': a mixed fleet needs a count of each kind (H100:100000,...)",
                       text);
    return MS_OK;
}

/* The largest site --power may give: 1 TW, a third of the world's mean
 * electricity generation; far past any planned site, and it keeps the
 * GPU and switch counts sized from it well inside int64. */
#define JSIZE_MAX_SITE_W 1e12

/* "2.2GW", "150MW", "20e6" or "20e6W". */
static int parse_watts(const char *opt, const char *text, double *out, ms_err *err)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"", 1}, {"W", 1}, {"kW", 1e3}, {"MW", 1e6}, {"GW", 1e9}};
    char *end;
    double v = num_strtod(text, &end);
    for (size_t i = 0; end != text && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            if (!(v > 0) || !isfinite(v))
                break;
            if (v * units[i].scale > JSIZE_MAX_SITE_W)
                return ms_errf(err, MS_EUSAGE,
                               "%s '%s': more than 1 TW, past any site (and the counts megasim "
                               "sizes): expected at most 1000GW",
                               opt, text);
            *out = v * units[i].scale;
            return MS_OK;
        }
    return ms_errf(err, MS_EUSAGE, "%s '%s': expected a positive power such as 2.2GW, 150MW or 2e7",
                   opt, text);
}

/* The options that go together, and the one way of sizing given. */
static int check_options(const jsize_job *j, const fleet *f, ms_err *err)
{
    static const char *const with_model[] = {"tokens", "mfu", "seq", "precision"};
    int by_gpus = j->gpus != JOPT_NO_INT;
    if (!!j->power + by_gpus + f->counted != 1)
        return ms_errf(err, MS_EUSAGE,
                       "give one of --power P (the GPUs it holds), --gpus N, or counts in --chip "
                       "(the power they need)");
    if (j->power && f->n > 1)
        return ms_errf(err, MS_EUSAGE,
                       "--power sizes one kind of chip; a mixed fleet takes counts");
    if (!j->power && !isnan(j->it_fraction))
        return ms_errf(err, MS_EUSAGE, "--it-fraction goes with --power");
    for (size_t i = 0; i < sizeof with_model / sizeof with_model[0]; i++)
        if (!j->model && jopt_given(&jsize_options, j, with_model[i]))
            return ms_errf(err, MS_EUSAGE, "--%s goes with --model", with_model[i]);
    if (j->model && (isnan(j->tokens) || isnan(j->mfu)))
        return ms_errf(err, MS_EUSAGE, "--model needs --tokens and --mfu");
    if (j->pw.power_trace || j->pw.power_plot)
        return ms_errf(err, MS_EUSAGE,
                       "--%s: size has no power over time (megasim train and serve write one)",
                       j->pw.power_trace ? "power-trace" : "power-plot");
    return MS_OK;
}

/* With --power: the GPUs of the one kind it holds at full load with their
 * server share and the switches a fabric of that many needs (iterated, as
 * the switches depend on the GPUs). */
static int gpus_for_power(const jsize_job *j, fleet *f, ms_err *err)
{
    kind *k = &f->k[0];
    int rc;
    if ((rc = parse_watts("--power", j->power, &f->site_w, err)))
        return rc;
    f->it_frac = j->it_fraction;
    if (isnan(f->it_frac) && (rc = pdb_value(k->pw.db, "it_fraction", &f->it_frac, NULL, err)))
        return rc;
    if (!(f->it_frac > 0 && f->it_frac <= 1))
        return ms_errf(err, MS_EINVAL,
                       "hwdb/costs.csv: it_fraction %g: expected the share of site power that "
                       "reaches IT, in (0, 1]",
                       f->it_frac);
    double sw_w = k->pw.site.switch_w;
    double per = pwr_it_per_gpu_w(&k->pw.lv, pwr_peak_gpu_w(&k->pw.lv)),
           it_w = f->site_w * f->it_frac;
    double g = floor(it_w / per);
    for (int iter = 0; iter < 3; iter++) {
        int64_t radix, sw = topo_fattree_switches(g, &radix);
        g = floor((it_w - (double)sw * sw_w) / per);
    }
    if (g < 1)
        return ms_errf(err, MS_EUSAGE,
                       "--power %s at IT fraction %g holds no %s: one draws %.0f W with its "
                       "server share",
                       j->power, f->it_frac, k->c->name, per);
    k->gpus = g;
    return MS_OK;
}

/* a + b where a part is known in either (an owned kind has no rent, a
 * rented one no servers); NAN when neither. */
static double add_known(double a, double b)
{
    return isnan(a) ? b : isnan(b) ? a : a + b;
}

/* The fleet's horizon: the kinds' parts summed, the total unknown when
 * any kind's is. */
static void sum_horizons(fleet *f)
{
    tco_horizon *h = &f->life;
    *h = (tco_horizon){.years = f->k[0].life.years,
                       .servers_usd = NAN,
                       .network_usd = NAN,
                       .facility_usd = NAN,
                       .rent_usd = NAN};
    for (size_t i = 0; i < f->n; i++) {
        const tco_horizon *k = &f->k[i].life;
        h->servers_usd = add_known(h->servers_usd, k->servers_usd);
        h->network_usd = add_known(h->network_usd, k->network_usd);
        h->facility_usd = add_known(h->facility_usd, k->facility_usd);
        h->rent_usd = add_known(h->rent_usd, k->rent_usd);
        h->energy_usd += k->energy_usd;
        h->total_usd += k->total_usd; /* NAN stays */
    }
}

/* The fleet's servers, racks, power, peaks, HBM and ownership, kind by
 * kind; the fabric is one, its switches shared out by GPUs. */
static void tally(fleet *f)
{
    double sw_w = f->k[0].pw.site.switch_w;
    for (size_t i = 0; i < f->n; i++)
        f->gpus += f->k[i].gpus;
    f->switches = topo_fattree_switches(f->gpus, &f->radix);
    for (size_t i = 0; i < f->n; i++) {
        kind *k = &f->k[i];
        const pwr_levels *lv = &k->pw.lv;
        double g = k->gpus, share = g / f->gpus;
        k->servers = g / lv->node_gpus;
        f->servers += k->servers;
        double rack_gpus;
        char key[96];
        ms_err e2;
        snprintf(key, sizeof key, "rack_gpus.%s", k->c->name);
        if (pdb_value(k->pw.db, key, &rack_gpus, NULL, &e2) != MS_OK)
            rack_gpus = NAN; /* racks unknown */
        k->racks = g / rack_gpus;
        f->racks += k->racks;
        k->it_w = g * pwr_it_per_gpu_w(lv, pwr_peak_gpu_w(lv)) + share * (double)f->switches * sw_w;
        f->it_w += k->it_w;
        double clock_frac = pwr_limit_clock_frac(lv);
        for (int p = 0; p < MS_PREC_COUNT; p++)
            f->peak[p] += g * chip_peak(k->c, (ms_prec)p) * clock_frac;
        f->hbm_B += g * k->c->hbm_bytes;
        /* Ownership at this fleet's scale. */
        tco_inputs t = k->pw.tco;
        t.it_w_per_gpu =
            pwr_it_per_gpu_w(lv, pwr_peak_gpu_w(lv)) + (double)f->switches * sw_w / f->gpus;
        k->it_per_gpu_w = t.it_w_per_gpu;
        tco_rate r = tco_capital_rate(&t);
        f->capex_servers += g * t.server_usd_per_gpu;
        f->capex_network += g * t.network_usd_per_gpu;
        f->capex_facility += g * t.it_w_per_gpu * t.facility_usd_per_w;
        k->usd_energy_per_hour = tco_energy_usd(&t, g * t.it_w_per_gpu * k->pw.site.pue * 3600);
        f->usd_energy_per_hour += k->usd_energy_per_hour;
        double price = k->pw.price_per_gpu_hour; /* a flat or rental price; NAN: owned */
        k->usd_capital_per_hour =
            isfinite(price) ? price * g - k->usd_energy_per_hour : g * r.capital_usd_per_gpu_hour;
        f->usd_capital_per_hour += k->usd_capital_per_hour;
        double years = isnan(f->life.years) ? t.life_years : f->life.years;
        k->life = tco_over_years(&t, price, g, g * t.it_w_per_gpu * k->pw.site.pue, years);
        if (k->pw.unpriced[0] && !f->unpriced[0])
            snprintf(f->unpriced, sizeof f->unpriced, "%s", k->pw.unpriced);
        if (k->pw.price_basis[0] && !f->price_basis[0])
            snprintf(f->price_basis, sizeof f->price_basis, "%s: %s", k->c->name,
                     k->pw.price_basis);
    }
    sum_horizons(f);
    f->pue = f->k[0].pw.site.pue;
    f->meter_w = f->by_power ? f->site_w : f->it_w * f->pue;
}

/* Days to train j's model on the fleet at j's MFU. */
static int train_days(const jsize_job *j, const jenv *env, fleet *f, jsize_out *out, ms_err *err)
{
    char path[4096];
    model m;
    int rc = modelfile_load(jenv_find(env, j->model, path, sizeof path), &m, out->warnings, err);
    if (rc)
        return rc;
    ms_prec prec = j->precision == 1 ? MS_FP8 : MS_BF16;
    model_train_flops tf = model_training_flops(&m, j->seq);
    f->train_days = j->tokens * tf.training / (f->peak[prec] * j->mfu) / 86400;
    snprintf(f->model, sizeof f->model, "%s", m.name);
    return MS_OK;
}

/* "1,061,012 x GB200 in 2.2 GW at the meter, 82% of it to IT". */
static void summary(const fleet *f, char *buf, size_t cap)
{
    size_t used = 0;
    char a[64], b[64];
    for (size_t i = 0; i < f->n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s x %s", i ? " + " : "",
                                 report_format(f->k[i].gpus, "", a, sizeof a), f->k[i].c->name);
    if (f->by_power && used < cap)
        snprintf(buf + used, cap - used, " in %s at the meter, %s of it to IT",
                 report_format(f->site_w, "W", a, sizeof a),
                 report_format(f->it_frac, "%", b, sizeof b));
}

/* One row per kind: servers and racks whole, as they are bought. */
static void report_kinds(report *r, const fleet *f)
{
    report_table(r, "fleet", "by chip");
    for (size_t i = 0; i < f->n; i++) {
        const kind *k = &f->k[i];
        double capital = k->usd_capital_per_hour;
        report_row(r);
        report_str(r, "chip", NULL, k->c->name);
        report_num(r, "gpus", "GPUs", k->gpus, "");
        report_num(r, "gpus_per_server", "GPUs a server", k->pw.lv.node_gpus, "");
        report_num(r, "servers", NULL, ceil(k->servers), "");
        report_num(r, "racks", NULL, ceil(k->racks), "");
        report_num(r, "it_power_per_gpu_w", "IT power a GPU", k->it_per_gpu_w, "W");
        report_num(r, "it_power_w", "IT power", k->it_w, "W");
        report_num(r, "usd_per_gpu_hour_capital", "capital a GPU-hour", capital / k->gpus, "USD");
        report_num(r, "usd_per_gpu_hour_energy", "energy a GPU-hour",
                   k->usd_energy_per_hour / k->gpus, "USD");
    }
    report_table_end(r);
}

static void report_fleet(report *r, const jsize_job *j, const fleet *f)
{
    char line[600];
    summary(f, line, sizeof line);
    report_str(r, "summary", f->by_power ? "what the power holds" : "the fleet", line);
    report_kinds(r, f);
    report_begin(r, NULL, "the cluster at full load");
    report_num(r, "gpus", "GPUs", f->gpus, "");
    report_begin_hidden(r, NULL); /* fractions of a server or rack: by chip, whole, in text */
    report_num(r, "servers", NULL, f->servers, "");
    report_num(r, "racks", NULL, f->racks, "");
    report_end(r);
    report_int(r, "switches", "switches (non-blocking fat-tree)", f->switches, "");
    report_int(r, "switch_radix", "ports a switch", f->radix, "");
    report_num(r, "it_power_w", "IT power", f->it_w, "W");
    report_num(r, "facility_power_w", "power at the meter", f->meter_w, "W");
    report_num(r, "pue", "PUE (meter over IT)", f->by_power ? 1 / f->it_frac : f->pue, "");
    report_num(r, "hbm_bytes", "HBM", f->hbm_B, "B");
    if (!isnan(j->pw.gpu_power_limit_w)) { /* every chip of the fleet under the same limit */
        report_num(r, "gpu_power_limit_w", "power limit on each GPU", j->pw.gpu_power_limit_w, "W");
        report_str(r, "gpu_power_limit_note", "under the limit",
                   "each GPU counted at its limit, its FLOP peaks at the clock that meets it (an "
                   "estimate: hwdb/README.md)");
    }
    report_end(r);
    report_begin(r, "peak_flop_per_s", "dense peaks");
    for (int p = 0; p < MS_PREC_COUNT; p++) {
        char label[16];
        snprintf(label, sizeof label, "%s", ms_prec_name((ms_prec)p));
        for (char *q = label; *q; q++)
            *q = (char)toupper((unsigned char)*q);
        report_num(r, ms_prec_name((ms_prec)p), label, f->peak[p] > 0 ? f->peak[p] : NAN, "FLOP/s");
    }
    report_end(r);
    report_begin(r, NULL, "cost of ownership");
    report_num(r, "usd_capital_servers", "servers", f->capex_servers, "USD");
    report_num(r, "usd_capital_network", "network", f->capex_network, "USD");
    report_num(r, "usd_capital_facility", "facility", f->capex_facility, "USD");
    report_num(r, "usd_per_gpu_hour_capital", "capital a GPU-hour",
               f->usd_capital_per_hour / f->gpus, "USD");
    report_num(r, "usd_per_gpu_hour_energy", "energy a GPU-hour at full load",
               f->usd_energy_per_hour / f->gpus, "USD");
    if (f->unpriced[0])
        report_str(r, "capital_unknown", "capital unknown", f->unpriced);
    if (f->price_basis[0])
        report_str(r, "price_basis", "priced", f->price_basis);
    report_end(r);
    char title[96], a[32];
    snprintf(title, sizeof title, "cost over %s years at full load%s",
             report_format(f->life.years, "", a, sizeof a),
             isnan(j->years) ? " (the servers' life)" : "");
    report_begin(r, "over_years", title);
    report_num(r, "years", "years", f->life.years, "");
    /* The parts this fleet has: owned kinds have no rent, rented ones no
     * servers, network or facility. */
    const struct {
        const char *key, *label;
        double v;
    } parts[] = {{"usd_servers", "servers", f->life.servers_usd},
                 {"usd_network", "network", f->life.network_usd},
                 {"usd_facility", "facility", f->life.facility_usd},
                 {"usd_rent", "rent, less its energy", f->life.rent_usd},
                 {"usd_energy", "energy", f->life.energy_usd}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (!isnan(parts[i].v) || (i < 3 && isnan(f->life.rent_usd)))
            report_num(r, parts[i].key, parts[i].label, parts[i].v, "USD");
    report_num(r, "usd_total", "total", f->life.total_usd, "USD");
    report_end(r);
    if (j->model) {
        char a[64], b[64];
        snprintf(line, sizeof line, "days to train %s on %s at %s MFU (%s)", f->model,
                 report_format(j->tokens, "tokens", a, sizeof a),
                 report_format(j->mfu, "%", b, sizeof b), j->precision == 1 ? "FP8" : "BF16");
        report_begin(r, NULL, "training");
    } else {
        report_begin_hidden(r, NULL);
    }
    report_num(r, "train_days", j->model ? line : NULL, f->train_days, "");
    report_end(r);
}

int jsize_run(const jsize_job *j, const jenv *env, report *r, jsize_out *out, ms_err *err)
{
    jsize_out scratch;
    out = out ? out : &scratch;
    *out = (jsize_out){0};
    if (!j->chip)
        return ms_errf(
            err, MS_EUSAGE,
            "name the chip with --chip (e.g. --chip H100 or --chip H100:1000,H200:1000)");
    fleet fl = {0}, *f = &fl;
    f->by_power = j->power != NULL;
    f->train_days = NAN;
    chip_db *db = NULL;
    int rc = jenv_load_chips(env, &j->chips, &db, err);
    if (!rc)
        rc = parse_fleet(j->chip, db, f, err);
    if (!rc)
        rc = check_options(j, f, err);
    if (!rc && j->gpus != JOPT_NO_INT)
        f->k[0].gpus = (double)j->gpus;
    /* A power budget is provisioned for the rating: each server's other
     * parts count at their bound (1), not at the draw train and serve
     * predict (JPOWER_NODE_FRACTION), unless --node-power-fraction says
     * otherwise. */
    jpower_opts po = j->pw;
    if (isnan(po.node_power_fraction))
        po.node_power_fraction = 1;
    for (size_t i = 0; i < f->n && !rc; i++) {
        rc = jpower_load(&po, env, f->k[i].c, 1, 0, j->price_per_gpu_hour, &f->k[i].pw, err);
        f->k[i].loaded = 1; /* freed whatever happened */
    }
    if (!rc && f->by_power)
        rc = gpus_for_power(j, f, err);
    if (!rc) {
        f->life.years = j->years;
        tally(f);
    }
    if (!rc && j->model)
        rc = train_days(j, env, f, out, err);
    if (!rc) {
        report_version(r, env->version);
        jopt_report_inputs(&jsize_options, j, r);
        report_fleet(r, j, f);
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->k[i].loaded)
            jpower_free(&f->k[i].pw);
    chip_db_free(db);
    return rc;
}
