/* jchips: see jchips.h. */
#include "job/jchips.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/calib.h"
#include "hw/chip.h"
#include "hw/roofline.h"

#define CHIPS_ROW "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"

static const jopt chips_rows[] = {
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jchips_job, json),
     "print JSON (SI units, unit in every key) instead of a table"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jchips_job, chips),
     CHIPS_ROW},
};

const jopt_table jchips_options = {.rows = chips_rows,
                                   .n = sizeof chips_rows / sizeof chips_rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jchips_job, given)};

static const jopt chip_rows[] = {
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jchip_job, json),
     "print JSON instead of text"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jchip_job, chips), CHIPS_ROW},
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jchip_job, efficiency),
     "calibration to read (default: hwdb/efficiency.csv)"},
    {"peak", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jchip_job, peak),
     "ignore calibration: ridge points at datasheet peaks only"},
};

const jopt_table jchip_options = {.rows = chip_rows,
                                  .n = sizeof chip_rows / sizeof chip_rows[0],
                                  .track_given = 1,
                                  .given_off = offsetof(jchip_job, given)};

/* Peaks are FLOP/s, int8's OP/s. */
static const char *peak_unit(ms_prec p)
{
    return p == MS_INT8 ? "OP/s" : "FLOP/s";
}

/* A line the text shows and JSON leaves out: the title of a group without
 * a key or values. MS_ENOMEM when out of memory. */
static int text_line(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int text_line(report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *line = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!line)
        return MS_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(line, (size_t)len + 1, fmt, ap);
    va_end(ap);
    report_begin(r, NULL, line);
    report_end(r);
    free(line);
    return MS_OK;
}

/* The columns a row lists as estimates ("a;b" or "a b"), as a list. */
static void report_estimated(report *r, const chip *c)
{
    char cols[32][64];
    const char *names[32];
    size_t n = 0;
    for (const char *p = c->estimated; *p && n < 32;) {
        p += strspn(p, " ;");
        size_t len = strcspn(p, " ;");
        if (len) {
            snprintf(cols[n], sizeof cols[n], "%.*s", (int)len, p);
            names[n] = cols[n];
            n++;
        }
        p += len;
    }
    report_strs(r, "estimated", NULL, names, n);
}

/* c's figures under the keys `chips --json` has always given, in its
 * order. Those a person reads as a value have labels and are shown; the
 * rest (names, which the heading says; sources, too long for a value;
 * objects by precision, which the table "precisions" shows) are JSON only. */
static void report_chip(report *r, const chip *c)
{
    report_begin_hidden(r, NULL);
    report_str(r, "name", NULL, c->name);
    report_str(r, "full_name", NULL, c->full_name);
    report_str(r, "vendor", NULL, c->vendor);
    report_str(r, "family", NULL, c->family);
    report_num(r, "year", NULL, c->year, "");
    report_end(r);
    report_str(r, "process_node", "process", c->process_node[0] ? c->process_node : NULL);
    report_num(r, "die_area_mm2", "die area (mm^2)", c->die_area_mm2, "");
    char units[96];
    snprintf(units, sizeof units, "compute units%s%s%s", c->compute_unit_kind[0] ? " (" : "",
             c->compute_unit_kind, c->compute_unit_kind[0] ? ")" : "");
    report_num(r, "compute_units", units, c->compute_units, "");
    report_begin_hidden(r, NULL);
    report_str(r, "compute_unit_kind", NULL, c->compute_unit_kind[0] ? c->compute_unit_kind : NULL);
    report_end(r);
    report_begin_hidden(r, "peak_flop_per_s");
    for (int p = 0; p < MS_PREC_COUNT; p++)
        report_num(r, ms_prec_name((ms_prec)p), NULL, chip_peak(c, (ms_prec)p),
                   peak_unit((ms_prec)p));
    report_end(r);
    report_num(r, "hbm_bytes", "HBM", c->hbm_bytes, "B");
    report_num(r, "hbm_bw_bytes_per_s", "HBM bandwidth", c->hbm_bw_Bps, "B/s");
    report_num(r, "l2_bytes", "L2/SRAM", c->l2_bytes, "B");
    report_num(r, "scale_up_bytes_per_s_per_direction", "scale-up, per direction",
               c->scale_up_bw_Bps, "B/s");
    report_num(r, "scale_up_domain_chips", "scale-up domain (chips)", c->scale_up_domain_chips, "");
    report_num(r, "scale_out_bytes_per_s_per_direction", "scale-out NIC, per direction",
               c->scale_out_bw_Bps, "B/s");
    report_num(r, "host_io_bytes_per_s_per_direction", "host interface, per direction",
               c->host_io_bw_Bps, "B/s");
    report_num(r, "tdp_W", "TDP", c->tdp_W, "W");
    report_num(r, "idle_W", "idle power", c->idle_W, "W");
    report_begin_hidden(r, NULL);
    report_estimated(r, c);
    report_str(r, "source", NULL, c->source);
    if (c->derived_from[0]) {
        report_str(r, "derived_from", NULL, c->derived_from);
        report_str(r, "derivation", NULL, c->derivation);
    }
    report_end(r);
}

/* One row of the table the text shows. */
static void report_summary_row(report *r, const chip *c)
{
    char year[16];
    snprintf(year, sizeof year, "%.0f", c->year);
    report_row(r);
    report_str(r, "chip", NULL, c->name);
    report_str(r, "vendor", NULL, c->vendor);
    /* A string: a year is not a count to group as "2,022". */
    report_str(r, "year", NULL, isnan(c->year) ? NULL : year);
    report_num(r, "bf16_flop_per_s", "bf16", chip_peak(c, MS_BF16), "FLOP/s");
    report_num(r, "fp8_flop_per_s", "fp8", chip_peak(c, MS_FP8), "FLOP/s");
    report_num(r, "fp4_flop_per_s", "fp4", chip_peak(c, MS_FP4), "FLOP/s");
    report_num(r, "hbm_bytes", "HBM", c->hbm_bytes, "B");
    report_num(r, "hbm_bw_bytes_per_s", "HBM bw", c->hbm_bw_Bps, "B/s");
    report_num(r, "scale_up_bytes_per_s_per_direction", "scale-up/dir", c->scale_up_bw_Bps, "B/s");
    report_num(r, "scale_up_domain_chips", "domain", c->scale_up_domain_chips, "");
    report_num(r, "scale_out_bytes_per_s_per_direction", "NIC/dir", c->scale_out_bw_Bps, "B/s");
    report_num(r, "tdp_W", "TDP", c->tdp_W, "W");
}

int jchips_run(const jchips_job *j, const jenv *env, report *r, ms_err *err)
{
    chip_db *db = NULL;
    int rc = jenv_load_chips(env, &j->chips, &db, err);
    if (rc)
        return rc;
    size_t n = chip_db_count(db);
    report_version(r, env->version);
    jopt_report_inputs(&jchips_options, j, r);
    report_begin_hidden(r, NULL);
    report_table(r, "results", NULL);
    for (size_t i = 0; i < n; i++) {
        report_row(r);
        report_chip(r, chip_db_at(db, i));
    }
    report_table_end(r);
    report_end(r);
    report_table(r, "summary", NULL);
    for (size_t i = 0; i < n; i++)
        report_summary_row(r, chip_db_at(db, i));
    report_table_end(r);
    rc = text_line(r,
                   "%zu chips; '-' is blank in the database (unknown, or the chip has none). "
                   "Sources: 'megasim chip NAME'.",
                   n);
    chip_db_free(db);
    return rc ? ms_errf(err, rc, "out of memory") : MS_OK;
}

/* The calibration j asks for: NULL with --peak. */
static int load_calib(const jchip_job *j, const jenv *env, calib **cal, ms_err *err)
{
    char path[4096];
    const char *file = path;
    int rc;
    *cal = NULL;
    if (j->peak)
        return MS_OK;
    if (j->efficiency)
        file = jenv_find(env, j->efficiency, path, sizeof path);
    else if ((rc = jenv_path(env, "hwdb/efficiency.csv", path, sizeof path, err)))
        return rc;
    return calib_load(file, cal, err);
}

/* The ridge points of c per precision, at datasheet peaks and with cal's
 * gemm efficiencies: the objects JSON has always had, then the table. */
static void report_ridges(report *r, const chip *c, const calib *cal)
{
    static const roof_eff peak = ROOF_EFF_PEAK;
    double r0[MS_PREC_COUNT], r1[MS_PREC_COUNT];
    int calibrated[MS_PREC_COUNT];
    for (int p = 0; p < MS_PREC_COUNT; p++) {
        roof_eff eff = calib_eff(cal, c, "gemm", (ms_prec)p);
        r0[p] = roof_ridge(c, (ms_prec)p, &peak);
        r1[p] = roof_ridge(c, (ms_prec)p, &eff);
        calibrated[p] = eff.compute_source || eff.memory_source;
    }
    report_begin_hidden(r, "ridge_flop_per_byte");
    for (int p = 0; p < MS_PREC_COUNT; p++)
        report_num(r, ms_prec_name((ms_prec)p), NULL, r0[p], "");
    report_end(r);
    report_begin_hidden(r, "ridge_flop_per_byte_gemm_calibrated");
    for (int p = 0; p < MS_PREC_COUNT; p++)
        report_num(r, ms_prec_name((ms_prec)p), NULL, r1[p], "");
    report_end(r);
    /* FLOP/B as plain numbers: an SI prefix would make 0.25 "250 mFLOP/B". */
    report_table(r, "precisions", "per precision");
    for (int p = 0; p < MS_PREC_COUNT; p++) {
        report_row(r);
        report_str(r, "precision", "prec", ms_prec_name((ms_prec)p));
        report_num(r, "peak_flop_per_s", "dense peak", chip_peak(c, (ms_prec)p),
                   peak_unit((ms_prec)p));
        report_num(r, "ridge_flop_per_byte", "ridge (FLOP/B)", r0[p], "");
        report_bool(r, "gemm_calibrated", "gemm calibrated", calibrated[p]);
        report_num(r, "ridge_flop_per_byte_gemm_calibrated", "calibrated ridge (FLOP/B)", r1[p],
                   "");
    }
    report_table_end(r);
}

/* c in full under a heading, with the lines only the text has. */
static int report_one(report *r, const chip *c, const calib *cal)
{
    char year[32] = "";
    if (!isnan(c->year))
        snprintf(year, sizeof year, ", %.0f", c->year);
    /* The heading: a group without a key, so JSON has its values at the
     * top level. */
    char *head = malloc(strlen(c->name) + strlen(c->full_name) + strlen(c->vendor) +
                        strlen(c->family) + sizeof year + 32);
    if (!head)
        return MS_ENOMEM;
    sprintf(head, "%s: %s (%s, %s family%s)", c->name, c->full_name, c->vendor, c->family, year);
    report_begin(r, NULL, head);
    free(head);
    report_chip(r, c);
    report_ridges(r, c, cal);
    char est[1024] = "none";
    for (size_t i = 0, o = 0; c->estimated[i] && o + 3 < sizeof est; i++) {
        if (c->estimated[i] == ';') { /* "a;b" as "a, b" */
            est[o++] = ',';
            est[o++] = ' ';
        } else if (c->estimated[i] != ' ') {
            est[o++] = c->estimated[i];
        }
        est[o] = '\0';
    }
    int rc = text_line(r, "estimated: %s", est);
    if (!rc)
        rc = text_line(r, "source (%s line %d): %s", c->file, c->line, c->source);
    if (!rc && c->derived_from[0])
        rc = text_line(r, "derived from %s: %s", c->derived_from, c->derivation);
    report_end(r);
    return rc;
}

int jchip_run(const jchip_job *j, const jenv *env, report *r, ms_err *err)
{
    if (!j->name)
        return ms_errf(err, MS_EUSAGE, "name one chip, e.g. 'megasim chip H100'");
    chip_db *db = NULL;
    calib *cal = NULL;
    const chip *c = NULL;
    int rc = jenv_load_chips(env, &j->chips, &db, err);
    if (!rc)
        rc = chip_db_lookup(db, j->name, &c, err);
    if (!rc)
        rc = load_calib(j, env, &cal, err);
    if (!rc) {
        report_version(r, env->version);
        jopt_report_inputs(&jchip_options, j, r);
        if ((rc = report_one(r, c, cal)))
            ms_errf(err, rc, "out of memory");
    }
    calib_free(cal);
    chip_db_free(db);
    return rc;
}
