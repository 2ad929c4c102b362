/* megasim chips / megasim chip NAME: the chip database as a table or
 * JSON, and one chip in full with its ridge points. */
#include <math.h>
#include <string.h>

#include "cli/commands.h"
#include "hw/roofline.h"

static const cli_opt chips_opts[] = {
    {"--json", NULL, "print JSON (SI units, unit in every key) instead of a table"},
    {"--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
};

static const cli_opt chip_opts[] = {
    {"--json", NULL, "print JSON instead of text"},
    {"--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"--efficiency", "FILE", "calibration to read (default: hwdb/efficiency.csv)"},
    {"--peak", NULL, "ignore calibration: ridge points at datasheet peaks only"},
};

static cJSON *chip_json(const chip *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "full_name", c->full_name);
    cJSON_AddStringToObject(o, "vendor", c->vendor);
    cJSON_AddStringToObject(o, "family", c->family);
    cli_json_num(o, "year", c->year);
    cli_json_str(o, "process_node", c->process_node);
    cli_json_num(o, "die_area_mm2", c->die_area_mm2);
    cli_json_num(o, "compute_units", c->compute_units);
    cli_json_str(o, "compute_unit_kind", c->compute_unit_kind);
    cJSON *peaks = cJSON_AddObjectToObject(o, "peak_flop_per_s");
    for (int p = 0; p < MS_PREC_COUNT; p++)
        cli_json_num(peaks, ms_prec_name((ms_prec)p), chip_peak(c, (ms_prec)p));
    cli_json_num(o, "hbm_bytes", c->hbm_bytes);
    cli_json_num(o, "hbm_bw_bytes_per_s", c->hbm_bw_Bps);
    cli_json_num(o, "l2_bytes", c->l2_bytes);
    cli_json_num(o, "scale_up_bytes_per_s_per_direction", c->scale_up_bw_Bps);
    cli_json_num(o, "scale_up_domain_chips", c->scale_up_domain_chips);
    cli_json_num(o, "scale_out_bytes_per_s_per_direction", c->scale_out_bw_Bps);
    cli_json_num(o, "host_io_bytes_per_s_per_direction", c->host_io_bw_Bps);
    cli_json_num(o, "tdp_W", c->tdp_W);
    cli_json_num(o, "idle_W", c->idle_W);
    cJSON *est = cJSON_AddArrayToObject(o, "estimated");
    const char *p = c->estimated;
    while (*p) {
        p += strspn(p, " ;");
        size_t len = strcspn(p, " ;");
        if (len) {
            char col[64];
            snprintf(col, sizeof col, "%.*s", (int)len, p);
            cJSON_AddItemToArray(est, cJSON_CreateString(col));
        }
        p += len;
    }
    cJSON_AddStringToObject(o, "source", c->source);
    if (c->derived_from[0]) {
        cJSON_AddStringToObject(o, "derived_from", c->derived_from);
        cJSON_AddStringToObject(o, "derivation", c->derivation);
    }
    return o;
}

/* A figure in the given unit, or "-" when blank. */
static const char *fig(char *buf, size_t cap, double v, double unit, const char *fmt)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, fmt, v / unit);
    return buf;
}

static int run_chips(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    chip_db *db = NULL;
    if (cli_load_chips(&a, &db, &err))
        return cli_fail(cmd, &err);

    if (cli_has(&a, "--json")) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < chip_db_count(db); i++)
            cJSON_AddItemToArray(arr, chip_json(chip_db_at(db, i)));
        int rc = cli_json_emit(arr, &err);
        chip_db_free(db);
        return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
    }
    printf("%-11s %-8s %4s %9s %9s %9s %7s %8s %10s %6s %7s %6s\n", "chip", "vendor", "year",
           "bf16", "fp8", "fp4", "HBM", "HBM bw", "scale-up", "domain", "NIC", "TDP");
    printf("%-11s %-8s %4s %9s %9s %9s %7s %8s %10s %6s %7s %6s\n", "", "", "", "TFLOP/s",
           "TFLOP/s", "TFLOP/s", "GB", "TB/s", "GB/s/dir", "chips", "Gb/s", "W");
    for (size_t i = 0; i < chip_db_count(db); i++) {
        const chip *c = chip_db_at(db, i);
        char b[12][32];
        printf("%-11s %-8s %4s %9s %9s %9s %7s %8s %10s %6s %7s %6s\n", c->name, c->vendor,
               fig(b[0], 32, c->year, 1, "%.0f"),
               fig(b[1], 32, chip_peak(c, MS_BF16), 1e12, "%.1f"),
               fig(b[2], 32, chip_peak(c, MS_FP8), 1e12, "%.1f"),
               fig(b[3], 32, chip_peak(c, MS_FP4), 1e12, "%.1f"),
               fig(b[4], 32, c->hbm_bytes, 1e9, "%.1f"), fig(b[5], 32, c->hbm_bw_Bps, 1e12, "%.2f"),
               fig(b[6], 32, c->scale_up_bw_Bps, 1e9, "%.0f"),
               fig(b[7], 32, c->scale_up_domain_chips, 1, "%.0f"),
               fig(b[8], 32, c->scale_out_bw_Bps, 1e9 / 8, "%.0f"),
               fig(b[9], 32, c->tdp_W, 1, "%.0f"));
    }
    printf("\n%zu chips; '-' is blank in the database (unknown, or the chip has none). Sources: "
           "'megasim chip NAME'.\n",
           chip_db_count(db));
    chip_db_free(db);
    return CLI_EXIT_OK;
}

static int run_chip(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    if (a.npos != 1)
        return cli_usage_error(cmd, "name one chip, e.g. 'megasim chip H100'");
    ms_err err = {0};
    chip_db *db = NULL;
    calib *cal = NULL;
    const chip *c;
    int rc = cli_load_chips(&a, &db, &err);
    if (!rc)
        rc = chip_db_lookup(db, a.pos[0], &c, &err);
    if (!rc)
        rc = cli_load_calib(&a, &cal, &err);
    if (rc) {
        ex = cli_fail(cmd, &err);
        goto out;
    }

    if (cli_has(&a, "--json")) {
        cJSON *o = chip_json(c);
        cJSON *ridges = cJSON_AddObjectToObject(o, "ridge_flop_per_byte");
        cJSON *ridges_gemm = cJSON_AddObjectToObject(o, "ridge_flop_per_byte_gemm_calibrated");
        for (int p = 0; p < MS_PREC_COUNT; p++) {
            roof_eff peak = ROOF_EFF_PEAK;
            roof_eff eff = calib_eff(cal, c, "gemm", (ms_prec)p);
            cli_json_num(ridges, ms_prec_name((ms_prec)p), roof_ridge(c, (ms_prec)p, &peak));
            cli_json_num(ridges_gemm, ms_prec_name((ms_prec)p), roof_ridge(c, (ms_prec)p, &eff));
        }
        ex = cli_json_emit(o, &err) ? cli_fail(cmd, &err) : CLI_EXIT_OK;
        goto out;
    }

    char s1[32], s2[32], s3[32];
    printf("%s: %s (%s, %s family)\n", c->name, c->full_name, c->vendor, c->family);
    printf("  year %s, process %s, die %s mm^2, %s %s\n", fig(s1, 32, c->year, 1, "%.0f"),
           c->process_node[0] ? c->process_node : "-", fig(s2, 32, c->die_area_mm2, 1, "%.0f"),
           fig(s3, 32, c->compute_units, 1, "%.0f"),
           c->compute_unit_kind[0] ? c->compute_unit_kind : "compute units");
    printf("  HBM %s at %s; L2/SRAM %s\n", cli_si(s1, 32, c->hbm_bytes, "B"),
           cli_si(s2, 32, c->hbm_bw_Bps, "B/s"), cli_si(s3, 32, c->l2_bytes, "B"));
    printf("  scale-up %s per direction in domains of %s; scale-out NIC %s per direction\n",
           cli_si(s1, 32, c->scale_up_bw_Bps, "B/s"),
           fig(s2, 32, c->scale_up_domain_chips, 1, "%.0f"),
           cli_si(s3, 32, c->scale_out_bw_Bps * 8, "b/s"));
    if (!isnan(c->host_io_bw_Bps))
        printf("  host interface %s per direction\n", cli_si(s1, 32, c->host_io_bw_Bps, "B/s"));
    printf("  TDP %s W, idle %s W\n", fig(s1, 32, c->tdp_W, 1, "%.0f"),
           fig(s2, 32, c->idle_W, 1, "%.0f"));
    printf("\n  %-6s %16s %18s %22s\n", "prec", "dense peak", "ridge (datasheet)",
           "ridge (gemm, calib.)");
    for (int p = 0; p < MS_PREC_COUNT; p++) {
        roof_eff peak = ROOF_EFF_PEAK;
        roof_eff eff = calib_eff(cal, c, "gemm", (ms_prec)p);
        double r0 = roof_ridge(c, (ms_prec)p, &peak), r1 = roof_ridge(c, (ms_prec)p, &eff);
        int calibrated = eff.compute_source || eff.memory_source;
        printf("  %-6s %16s %19s %22s\n", ms_prec_name((ms_prec)p),
               cli_si(s1, 32, chip_peak(c, (ms_prec)p), p == MS_INT8 ? "OP/s" : "FLOP/s"),
               fig(s2, 32, r0, 1, "%.1f FLOP/B"),
               calibrated && !isnan(r1) ? fig(s3, 32, r1, 1, "%.1f FLOP/B") : "(peak)");
    }
    printf("\n  estimated: %s\n  source: %s\n", c->estimated[0] ? c->estimated : "none", c->source);
    if (c->derived_from[0])
        printf("  derived from %s: %s\n", c->derived_from, c->derivation);
    printf("  (%s line %d)\n", c->file, c->line);
    ex = CLI_EXIT_OK;
out:
    calib_free(cal);
    chip_db_free(db);
    return ex;
}

const cli_cmd cmd_chips = {
    .name = "chips",
    .run = run_chips,
    .summary = "list the chips in the database",
    .usage = "  megasim chips [--json] [--chips FILE]\n",
    .details = "Figures are dense peaks (vendor figures quoted with sparsity are halved);\n"
               "scale-up bandwidth is per chip and per direction.\n",
    .opts = chips_opts,
    .nopts = sizeof chips_opts / sizeof chips_opts[0],
};

const cli_cmd cmd_chip = {
    .name = "chip",
    .run = run_chip,
    .summary = "one chip in full, with its ridge points per precision",
    .usage = "  megasim chip NAME [--json] [--chips FILE] [--efficiency FILE | --peak]\n",
    .details = "The ridge point is the arithmetic intensity (FLOP per byte of HBM traffic) above\n"
               "which an operation is compute-bound: peak FLOP/s over HBM bytes/s.\n",
    .opts = chip_opts,
    .nopts = sizeof chip_opts / sizeof chip_opts[0],
    .max_pos = 1,
};
