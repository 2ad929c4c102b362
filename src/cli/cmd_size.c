/* megasim size: how many accelerators a power budget holds, or how much
 * power a fleet needs; its servers, racks, switches, FLOP/s, HBM and cost;
 * and how long a model's training would take on it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/cpow.h"
#include "model/model.h"

static const cli_opt opts[] = {
    {"--chip", "LIST", "chip, or a mixed fleet NAME:COUNT,NAME:COUNT (H100:100000,H200:100000)"},
    {"--power", "P", "a site's power at the meter (2.2GW, 150MW, 20e6): the GPUs it holds"},
    {"--gpus", "N", "GPUs of one chip: the power they need"},
    {"--it-fraction", "F", "with --power: the share that reaches IT (default: hwdb/costs.csv)"},
    {"--model", "FILE", "a model to train on the fleet (with --tokens, --seq and --mfu)"},
    {"--tokens", "N", "training tokens (14.8e12)"},
    {"--seq", "N", "tokens per sequence (default 4096)"},
    {"--mfu", "F", "model FLOPs utilization to assume (megasim train computes it for a plan)"},
    {"--precision", "P", "the peak --mfu is a fraction of: bf16 (default) or fp8"},
    {"--price-per-gpu-hour", "USD", "a flat price instead of owning the fleet"},
    CLI_POWER_OPTS{"--chips", "FILE",
                   "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"--json", NULL, "print JSON"},
};

#define MAX_KINDS 8

typedef struct kind {
    const chip *c;
    double gpus;
    cpow pw;
    int loaded;
} kind;

/* Parses "A100" or "H100:100000,H200:100000". */
static int parse_fleet(const char *text, const chip_db *db, kind *k, size_t *n, int *counted,
                       ms_err *err)
{
    *n = 0;
    *counted = -1;
    char buf[512];
    if (strlen(text) >= sizeof buf)
        return ms_errf(err, MS_EUSAGE, "--chip: list too long");
    strcpy(buf, text);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_KINDS)
            return ms_errf(err, MS_EUSAGE, "--chip: at most %d kinds in one fleet", MAX_KINDS);
        char *colon = strchr(tok, ':');
        int has = colon != NULL;
        if (*counted >= 0 && has != *counted)
            return ms_errf(err, MS_EUSAGE,
                           "--chip '%s': give every kind a count (NAME:COUNT) or none", text);
        *counted = has;
        double count = NAN;
        if (colon) {
            *colon = 0;
            char *end;
            count = strtod(colon + 1, &end);
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
        k[(*n)++] = (kind){.c = c, .gpus = count};
    }
    if (*n == 0)
        return ms_errf(err, MS_EUSAGE, "--chip: name a chip");
    if (*n > 1 && !*counted)
        return ms_errf(err, MS_EUSAGE,
                       "--chip '%s': a mixed fleet needs a count of each kind (H100:100000,...)",
                       text);
    return MS_OK;
}

/* "2.2GW", "150MW", "20e6" or "20e6W". */
static int parse_watts(const char *opt, const char *text, double *out, ms_err *err)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"", 1}, {"W", 1}, {"kW", 1e3}, {"MW", 1e6}, {"GW", 1e9}};
    char *end;
    double v = strtod(text, &end);
    for (size_t i = 0; end != text && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            if (!(v > 0) || !isfinite(v))
                break;
            *out = v * units[i].scale;
            return MS_OK;
        }
    return ms_errf(err, MS_EUSAGE, "%s '%s': expected a positive power such as 2.2GW, 150MW or 2e7",
                   opt, text);
}

typedef struct fleet_out {
    double gpus, servers, racks;
    int64_t switches, radix;
    double it_w, meter_w, pue;
    double peak[MS_PREC_COUNT];
    double hbm_B;
    double capex_servers, capex_network, capex_facility;
    double usd_capital_per_hour, usd_energy_per_hour; /* the whole fleet at full load */
    double train_days, tokens, mfu;
} fleet_out;

static int run_size(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(cmd, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ms_err err = {0};
    chip_db *db = NULL;
    kind k[MAX_KINDS];
    size_t n = 0;
    int counted;
    fleet_out f = {0};
    double price = NAN, site_w = NAN, it_frac = NAN;
    if ((rc = cli_need(&a, "--chip", &err)) || (rc = cli_load_chips(&a, &db, &err)) ||
        (rc = parse_fleet(cli_get(&a, "--chip"), db, k, &n, &counted, &err)) ||
        (rc = cli_positive_double(&a, "--price-per-gpu-hour", &price, &err)))
        goto out;
    int by_power = cli_get(&a, "--power") != NULL, by_gpus = cli_get(&a, "--gpus") != NULL;
    if (by_power + by_gpus + counted != 1) {
        rc = ms_errf(&err, MS_EUSAGE,
                     "give one of --power P (the GPUs it holds), --gpus N, or counts in --chip "
                     "(the power they need)");
        goto out;
    }
    if (by_power && n > 1) {
        rc = ms_errf(&err, MS_EUSAGE, "--power sizes one kind of chip; a mixed fleet takes counts");
        goto out;
    }
    if (by_gpus) {
        int64_t g;
        if ((rc = cli_int_opt(&a, "--gpus", 1, 1, &g, &err)))
            goto out;
        k[0].gpus = (double)g;
    }
    if (by_power && (rc = parse_watts("--power", cli_get(&a, "--power"), &site_w, &err)))
        goto out;

    /* Load each kind's power and prices; the fabric is one, its switches
     * shared out by GPUs. */
    for (size_t i = 0; i < n; i++) {
        rc = cpow_load(&a, k[i].c, 1, 0, price, &k[i].pw, &err);
        k[i].loaded = 1; /* freed whatever happened */
        if (rc)
            goto out;
    }
    f.pue = k[0].pw.site.pue;
    double sw_w = k[0].pw.site.switch_w;
    if (by_power) {
        if (cli_get(&a, "--it-fraction")) {
            if ((rc = cli_parse_double("--it-fraction", cli_get(&a, "--it-fraction"), &it_frac,
                                       &err)))
                goto out;
        } else if ((rc = pdb_value(k[0].pw.db, "it_fraction", &it_frac, NULL, &err))) {
            goto out;
        }
        if (!(it_frac > 0 && it_frac <= 1)) {
            rc = ms_errf(&err, MS_EUSAGE,
                         "--it-fraction %g: expected the share of site power that reaches IT, in "
                         "(0, 1]",
                         it_frac);
            goto out;
        }
        /* GPUs at full load with their server share and the switches a
         * fabric of that many needs; twice, as the switches depend on it. */
        double per = pwr_it_per_gpu_w(&k[0].pw.lv, k[0].pw.lv.matrix_w), it_w = site_w * it_frac;
        double g = floor(it_w / per);
        for (int iter = 0; iter < 3; iter++) {
            int64_t radix, sw = topo_fattree_switches(g, &radix);
            g = floor((it_w - (double)sw * sw_w) / per);
        }
        if (g < 1) {
            rc = ms_errf(&err, MS_EINVAL,
                         "--power %s at IT fraction %g holds no %s: one draws %.0f W with its "
                         "server share",
                         cli_get(&a, "--power"), it_frac, k[0].c->name, per);
            goto out;
        }
        k[0].gpus = g;
    }
    for (size_t i = 0; i < n; i++)
        f.gpus += k[i].gpus;
    f.switches = topo_fattree_switches(f.gpus, &f.radix);
    for (size_t i = 0; i < n; i++) {
        const pwr_levels *lv = &k[i].pw.lv;
        double g = k[i].gpus, share = g / f.gpus;
        f.servers += g / lv->node_gpus;
        double rack_gpus;
        char key[96];
        ms_err e2;
        snprintf(key, sizeof key, "rack_gpus.%s", k[i].c->name);
        if (pdb_value(k[i].pw.db, key, &rack_gpus, NULL, &e2) != MS_OK)
            rack_gpus = NAN; /* racks unknown */
        f.racks += g / rack_gpus;
        f.it_w += g * pwr_it_per_gpu_w(lv, lv->matrix_w) + share * (double)f.switches * sw_w;
        for (int p = 0; p < MS_PREC_COUNT; p++)
            f.peak[p] += g * chip_peak(k[i].c, (ms_prec)p);
        f.hbm_B += g * k[i].c->hbm_bytes;
        /* Ownership at this fleet's scale. */
        tco_inputs t = k[i].pw.tco;
        t.it_w_per_gpu = pwr_it_per_gpu_w(lv, lv->matrix_w) + (double)f.switches * sw_w / f.gpus;
        tco_rate r = tco_capital_rate(&t);
        f.capex_servers += g * t.server_usd_per_gpu;
        f.capex_network += g * t.network_usd_per_gpu;
        f.capex_facility += g * t.it_w_per_gpu * t.facility_usd_per_w;
        f.usd_capital_per_hour += g * r.capital_usd_per_gpu_hour;
        f.usd_energy_per_hour += tco_energy_usd(&t, g * t.it_w_per_gpu * k[i].pw.site.pue * 3600);
    }
    f.meter_w = by_power ? site_w : f.it_w * f.pue;
    if (isfinite(price))
        f.usd_capital_per_hour = price * f.gpus - f.usd_energy_per_hour;
    f.train_days = NAN;
    if (cli_get(&a, "--model")) {
        model m;
        int64_t seq;
        double tokens, mfu;
        ms_prec prec = MS_BF16;
        if ((rc = cli_need(&a, "--tokens", &err)) || (rc = cli_need(&a, "--mfu", &err)) ||
            (rc = cli_positive_double(&a, "--tokens", &tokens, &err)) ||
            (rc = cli_positive_double(&a, "--mfu", &mfu, &err)) ||
            (rc = cli_int_opt(&a, "--seq", 1, 4096, &seq, &err)) ||
            (rc = cli_load_model(cli_get(&a, "--model"), &m, &err)))
            goto out;
        if (mfu > 1) {
            rc = ms_errf(&err, MS_EUSAGE, "--mfu %g: expected a fraction of peak, at most 1", mfu);
            goto out;
        }
        const char *pp = cli_get(&a, "--precision");
        if (pp && (ms_prec_parse(pp, &prec) != 0 || (prec != MS_BF16 && prec != MS_FP8))) {
            rc = ms_errf(&err, MS_EUSAGE, "--precision '%s': expected bf16 or fp8", pp);
            goto out;
        }
        model_train_flops tf = model_training_flops(&m, seq);
        f.train_days = tokens * tf.training / (f.peak[prec] * mfu) / 86400;
        f.tokens = tokens;
        f.mfu = mfu;
    }

    char b[6][32];
    if (cli_has(&a, "--json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON *fl = cJSON_AddArrayToObject(o, "fleet");
        for (size_t i = 0; i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "chip", k[i].c->name);
            cli_json_num(x, "gpus", k[i].gpus);
            cJSON_AddItemToArray(fl, x);
        }
        cli_json_num(o, "gpus", f.gpus);
        cli_json_num(o, "servers", f.servers);
        cli_json_num(o, "racks", f.racks);
        cli_json_num(o, "switches", (double)f.switches);
        cli_json_num(o, "switch_radix", (double)f.radix);
        cli_json_num(o, "it_power_w", f.it_w);
        cli_json_num(o, "facility_power_w", f.meter_w);
        cli_json_num(o, "pue", by_power ? 1 / it_frac : f.pue);
        cJSON *pk = cJSON_AddObjectToObject(o, "peak_flop_per_s");
        for (int p = 0; p < MS_PREC_COUNT; p++)
            cli_json_num(pk, ms_prec_name((ms_prec)p), f.peak[p] > 0 ? f.peak[p] : NAN);
        cli_json_num(o, "hbm_bytes", f.hbm_B);
        cli_json_num(o, "usd_capital_servers", f.capex_servers);
        cli_json_num(o, "usd_capital_network", f.capex_network);
        cli_json_num(o, "usd_capital_facility", f.capex_facility);
        cli_json_num(o, "usd_per_gpu_hour_capital", f.usd_capital_per_hour / f.gpus);
        cli_json_num(o, "usd_per_gpu_hour_energy", f.usd_energy_per_hour / f.gpus);
        cli_json_num(o, "train_days", f.train_days);
        rc = cli_json_emit(o, &err);
        goto out;
    }
    printf("%s", by_power ? "What the power holds: " : "The fleet: ");
    for (size_t i = 0; i < n; i++)
        printf("%s%.0f x %s", i ? " + " : "", k[i].gpus, k[i].c->name);
    if (by_power)
        printf(" in %s at the meter (%.0f%% to IT)", cli_si(b[0], 32, site_w, "W"), 100 * it_frac);
    printf("\n\n");
    printf("  servers, racks         %.0f servers (%g GPUs each), %.0f racks\n", f.servers,
           k[0].pw.lv.node_gpus, f.racks);
    printf("  network                %lld fat-tree switches of %lld ports (non-blocking, one NIC a "
           "GPU)\n",
           (long long)f.switches, (long long)f.radix);
    printf("  power at full load     %s IT, %s at the meter\n", cli_si(b[0], 32, f.it_w, "W"),
           cli_si(b[1], 32, f.meter_w, "W"));
    printf("  compute                %s BF16, %s FP8 (dense peaks)\n",
           cli_si(b[0], 32, f.peak[MS_BF16], "FLOP/s"),
           f.peak[MS_FP8] > 0 ? cli_si(b[1], 32, f.peak[MS_FP8], "FLOP/s") : "no");
    printf("  HBM                    %s\n", cli_si(b[0], 32, f.hbm_B, "B"));
    const char *why = NULL;
    for (size_t i = 0; i < n && !why; i++)
        if (k[i].pw.unpriced[0] && !isfinite(price))
            why = k[i].pw.unpriced;
    if (why)
        printf("  capital                unknown: %s\n", why);
    else
        printf("  capital                $%s servers, $%s network, $%s facility\n",
               cli_si(b[0], 32, f.capex_servers, ""), cli_si(b[1], 32, f.capex_network, ""),
               cli_si(b[2], 32, f.capex_facility, ""));
    if (why)
        printf("  per GPU-hour           $%.3f energy at full load\n",
               f.usd_energy_per_hour / f.gpus);
    else
        printf("  per GPU-hour           $%.3f capital + $%.3f energy at full load\n",
               f.usd_capital_per_hour / f.gpus, f.usd_energy_per_hour / f.gpus);
    if (isfinite(f.train_days))
        printf("  training               %.2g days for %s tokens at %.0f%% MFU\n", f.train_days,
               cli_si(b[0], 32, f.tokens, ""), 100 * f.mfu);
out:
    for (size_t i = 0; i < n; i++)
        if (k[i].loaded)
            cpow_free(&k[i].pw);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_size = {
    .name = "size",
    .run = run_size,
    .summary = "size a cluster: GPUs a power budget holds, or power a fleet needs; cost",
    .usage = "  megasim size --chip NAME --power P [--it-fraction F]\n"
             "  megasim size --chip NAME --gpus N\n"
             "  megasim size --chip NAME:COUNT,NAME:COUNT [options]\n",
    .details =
        "Each GPU counts at full load (its matrix power in hwdb/power.csv) with its share of\n"
        "its server's other parts and of a non-blocking fat-tree of one NIC a GPU; the meter\n"
        "adds the facility (PUE, or the share of site power that reaches IT with --power).\n"
        "Capital comes from hwdb/costs.csv (servers, network, facility per watt) spread over\n"
        "its life; energy at the price per kWh. --model with --tokens and --mfu gives\n"
        "training days; megasim train computes MFU for a plan from first principles.\n"
        "Example: megasim size --chip GB200 --power 2.2GW --it-fraction 0.82\n",
    .opts = opts,
    .nopts = sizeof opts / sizeof opts[0],
};
