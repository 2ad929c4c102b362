/* kmeas: see kmeas.h. */
#include "hw/kmeas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/num.h"
#include "core/vec.h"
#include "hw/calib.h"
#include "io/csvtab.h"

typedef struct devmap_entry {
    char device[96];
    const chip *chip;
} devmap_entry;

struct kmeas_set {
    const chip_db *db;
    devmap_entry *devs;
    size_t ndevs;
    kmeas_row *rows;
    size_t n, cap;
};

static int load_devices(kmeas_set *set, const char *path, ms_err *err)
{
    csvtab *t = NULL;
    int rc = csvtab_read(path, &t, err);
    if (rc)
        return rc;
    int cd = csvtab_find_col(t, "device_name"), cc = csvtab_find_col(t, "chip");
    if (cd < 0 || cc < 0) {
        rc = ms_errf(err, MS_EPARSE, "%s:1: expected columns device_name and chip", path);
        goto out;
    }
    set->devs = calloc(csvtab_nrows(t) + 1, sizeof *set->devs);
    if (!set->devs) {
        rc = ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (size_t r = 0; r < csvtab_nrows(t); r++) {
        const char *dev = csvtab_field(t, r, (size_t)cd), *name = csvtab_field(t, r, (size_t)cc);
        const chip *c = name ? chip_db_find(set->db, name) : NULL;
        if (!dev || !c) {
            rc = ms_errf(err, MS_EINVAL, "%s:%d: column 'chip': '%s' is not in the chip database",
                         path, csvtab_row_line(t, r), name ? name : "");
            goto out;
        }
        snprintf(set->devs[set->ndevs].device, sizeof set->devs[0].device, "%s", dev);
        set->devs[set->ndevs++].chip = c;
    }
out:
    csvtab_free(t);
    return rc;
}

int kmeas_new(const chip_db *db, const char *devices_csv, kmeas_set **out, ms_err *err)
{
    kmeas_set *set = calloc(1, sizeof *set);
    *out = NULL;
    if (!set)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    set->db = db;
    int rc = load_devices(set, devices_csv, err);
    if (rc) {
        kmeas_free(set);
        return rc;
    }
    *out = set;
    return MS_OK;
}

void kmeas_free(kmeas_set *set)
{
    if (!set)
        return;
    free(set->devs);
    free(set->rows);
    free(set);
}

size_t kmeas_count(const kmeas_set *set)
{
    return set->n;
}
const kmeas_row *kmeas_at(const kmeas_set *set, size_t i)
{
    return &set->rows[i];
}

/* A row being read: its table, row index and position for messages. */
typedef struct cursor {
    const csvtab *t;
    size_t r;
    const char *path;
    int line;
    ms_err *err;
} cursor;

static const char *text(const cursor *c, const char *col)
{
    int i = csvtab_find_col(c->t, col);
    const char *v = i >= 0 ? csvtab_field(c->t, c->r, (size_t)i) : NULL;
    return v ? v : "";
}

/* A non-negative number, NAN when blank. */
static int number(const cursor *c, const char *col, double *out)
{
    const char *s = text(c, col);
    if (!s[0]) {
        *out = NAN;
        return MS_OK;
    }
    char *end;
    double v = num_strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0)
        return ms_errf(c->err, MS_EINVAL,
                       "%s:%d: column '%s': expected a number >= 0 or blank, got \"%s\"", c->path,
                       c->line, col, s);
    *out = v;
    return MS_OK;
}

static int read_row(kmeas_set *set, const cursor *c, int published, kmeas_row *row)
{
    int rc;
    *row = (kmeas_row){.line = c->line};
    snprintf(row->file, sizeof row->file, "%s", c->path);
    if (published) {
        const char *name = text(c, "chip");
        row->chip = chip_db_find(set->db, name);
        if (!row->chip)
            return ms_errf(c->err, MS_EINVAL,
                           "%s:%d: column 'chip': unknown chip '%s' (see 'megasim chips')", c->path,
                           c->line, name);
        snprintf(row->source, sizeof row->source, "%s", text(c, "source"));
    } else {
        const char *dev = text(c, "device");
        for (size_t i = 0; i < set->ndevs && !row->chip; i++)
            if (strcasecmp(set->devs[i].device, dev) == 0)
                row->chip = set->devs[i].chip;
        if (!row->chip)
            return ms_errf(c->err, MS_EINVAL,
                           "%s:%d: column 'device': unknown device '%s'; add it to "
                           "hwdb/devices.csv with the chip it is",
                           c->path, c->line, dev);
        snprintf(row->source, sizeof row->source, "measured by validation/run, %s",
                 text(c, "date"));
    }
    snprintf(row->kernel, sizeof row->kernel, "%s", text(c, "kernel"));
    snprintf(row->shape, sizeof row->shape, "%s", text(c, "shape"));
    snprintf(row->kind, sizeof row->kind, "%s", text(c, "kind"));
    const char *prec = text(c, "precision");
    if (ms_prec_parse(prec, &row->prec))
        return ms_errf(c->err, MS_EINVAL,
                       "%s:%d: column 'precision': expected one of %s, got \"%s\"", c->path,
                       c->line, ms_prec_list(), prec);
    double time_s, fr, br;
    if ((rc = number(c, "m", &row->m)) || (rc = number(c, "n", &row->n)) ||
        (rc = number(c, "k", &row->k)) || (rc = number(c, "count", &row->count)) ||
        (rc = number(c, "flops", &row->flops)) || (rc = number(c, "bytes", &row->bytes)) ||
        (rc = number(c, "time_s", &time_s)) || (rc = number(c, "achieved_flop_per_s", &fr)) ||
        (rc = number(c, "achieved_bytes_per_s", &br)))
        return rc;
    if (isnan(row->count))
        row->count = 1;
    /* A streaming kernel's rate at a stated size is a timed row: the size
     * over the rate is its time, so a fixed cost per launch can be told
     * from bandwidth (the small kernels of gpu-benches' gpu-small-kernels). */
    if (isnan(time_s) && !isnan(row->bytes) && row->bytes > 0 && !isnan(br) && br > 0 &&
        strcmp(row->kind, "stream") == 0)
        time_s = row->bytes / br;

    const char *base = calib_kind_base(row->kind);
    if (!base)
        return ms_errf(c->err, MS_EINVAL, "%s:%d: column 'kind': expected one of %s, got \"%s\"",
                       c->path, c->line, calib_kinds(), row->kind);
    int is_gemm = strcmp(base, "gemm") == 0, is_stream = strcmp(base, "stream") == 0;
    /* A refined GEMM kind may be a class of products of many shapes,
     * given by its FLOPs or by its rate alone. */
    int shaped = !isnan(row->m) || !isnan(row->n) || !isnan(row->k);
    if (is_gemm && (shaped || strcmp(row->kind, "gemm") == 0)) {
        if (!(row->m >= 1) || !(row->n >= 1) || !(row->k >= 1))
            return ms_errf(c->err, MS_EINVAL,
                           "%s:%d: columns 'm', 'n', 'k': a GEMM row needs its "
                           "shape, each at least 1",
                           c->path, c->line);
        /* Whole, and far below int64's range, which keeps the conversion
         * below defined: no GEMM has a side of more than 1e9 (a billion
         * tokens in one product). */
        const double dims[3] = {row->m, row->n, row->k};
        for (int d = 0; d < 3; d++)
            if (dims[d] != floor(dims[d]) || dims[d] > 1e9)
                return ms_errf(c->err, MS_EINVAL,
                               "%s:%d: column '%c': expected a whole number from 1 to 1e9, got "
                               "%s",
                               c->path, c->line, "mnk"[d],
                               text(c, d == 0   ? "m"
                                       : d == 1 ? "n"
                                                : "k"));
        roof_op op = roof_gemm((int64_t)row->m, (int64_t)row->n, (int64_t)row->k, row->prec);
        if (isnan(row->flops))
            row->flops = op.flops * row->count;
        if (isnan(row->bytes))
            row->bytes = op.bytes * row->count;
    } else if (is_stream && isnan(row->flops)) {
        row->flops = 0;
    }

    if (strcmp(base, "launch") == 0) {
        row->metric = KMEAS_TIME;
        row->measured = time_s;
        row->flops = row->bytes = NAN;
    } else if (is_stream) {
        row->metric = KMEAS_BYTE_RATE;
        row->measured = !isnan(time_s) && !isnan(row->bytes) ? row->bytes / time_s : br;
        if (isnan(time_s))
            row->bytes = NAN; /* a best case: held against bandwidth x eta */
    } else if (!isnan(time_s) && !isnan(row->flops) && !isnan(row->bytes)) {
        row->metric = KMEAS_FLOP_RATE;
        row->measured = row->flops / time_s;
    } else if (!isnan(fr)) {
        row->metric = KMEAS_FLOP_RATE;
        row->measured = fr;
        if (!is_gemm || !shaped)
            row->flops = row->bytes = NAN;
    } else if (!isnan(br) && !is_gemm) {
        row->metric = KMEAS_BYTE_RATE;
        row->measured = br;
        row->flops = row->bytes = NAN;
    } else {
        row->measured = NAN;
    }
    /* Kernels that ran on fewer SMs than the chip has (communication held
     * the rest, as in DeepSeek's overlapped training) are scaled to the
     * whole chip, as the engine slows compute by the SMs it loses. */
    double sms;
    if ((rc = number(c, "sms_used", &sms)))
        return rc;
    if (!isnan(sms)) {
        if (!(sms >= 1) || !(sms <= row->chip->compute_units) || row->metric == KMEAS_TIME)
            return ms_errf(c->err, MS_EINVAL,
                           "%s:%d: column 'sms_used': expected 1 to the SMs of the chip (%g), on "
                           "a row with a rate, got \"%s\"",
                           c->path, c->line, row->chip->compute_units, text(c, "sms_used"));
        row->measured *= row->chip->compute_units / sms;
    }
    if (!(row->measured > 0))
        return ms_errf(c->err, MS_EINVAL,
                       "%s:%d: the row has nothing measured: give time_s (with flops and bytes), "
                       "achieved_flop_per_s or achieved_bytes_per_s",
                       c->path, c->line);
    return MS_OK;
}

int kmeas_add_file(kmeas_set *set, const char *path, ms_err *err)
{
    csvtab *t = NULL;
    int rc = csvtab_read(path, &t, err);
    if (rc)
        return rc;
    int published = csvtab_find_col(t, "chip") >= 0;
    static const char *const need[] = {"kind", "precision", "kernel", "shape"};
    if (!published && csvtab_find_col(t, "device") < 0) {
        rc = ms_errf(err, MS_EPARSE,
                     "%s:1: missing column 'chip' (a published table) or 'device' (a results "
                     "file of validation/run)",
                     path);
        goto out;
    }
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (csvtab_find_col(t, need[i]) < 0) {
            rc = ms_errf(err, MS_EPARSE, "%s:1: missing column '%s'", path, need[i]);
            goto out;
        }
    if (published && csvtab_find_col(t, "source") < 0) {
        rc = ms_errf(err, MS_EPARSE,
                     "%s:1: missing column 'source': every published figure names where it is from",
                     path);
        goto out;
    }
    for (size_t r = 0; r < csvtab_nrows(t); r++) {
        cursor c = {.t = t, .r = r, .path = path, .line = csvtab_row_line(t, r), .err = err};
        if (csvtab_row_nfields(t, r) != csvtab_ncols(t)) {
            rc = ms_errf(err, MS_EPARSE, "%s:%d: row has %zu fields, the header has %zu", path,
                         c.line, csvtab_row_nfields(t, r), csvtab_ncols(t));
            goto out;
        }
        kmeas_row *rows = vec_grow(set->rows, &set->cap, set->n + 1, 64, sizeof *rows);
        if (!rows) {
            rc = ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        set->rows = rows;
        if ((rc = read_row(set, &c, published, &set->rows[set->n])))
            goto out;
        set->n++;
    }
out:
    csvtab_free(t);
    return rc;
}

int kmeas_prec_key(const kmeas_row *r)
{
    const char *base = calib_kind_base(r->kind);
    return strcmp(base, "stream") == 0 || strcmp(base, "launch") == 0 ? -1 : (int)r->prec;
}

double kmeas_predict(const kmeas_row *r, const roof_eff *eff)
{
    const chip *c = r->chip;
    if (r->metric == KMEAS_TIME)
        return eff->overhead_source ? eff->overhead_s : NAN;
    if (isnan(r->bytes) || isnan(r->flops)) { /* a best case: the plateau */
        if (r->metric == KMEAS_BYTE_RATE)
            return c->hbm_bw_Bps * eff->memory;
        double peak = chip_peak(c, r->prec);
        return isnan(peak) ? NAN : peak * eff->compute;
    }
    roof_op op = {.kind = r->kind, .prec = r->prec, .flops = r->flops, .bytes = r->bytes};
    roof_result res;
    if (roof_time(c, &op, eff, &res, NULL) != MS_OK)
        return NAN;
    return r->metric == KMEAS_BYTE_RATE ? r->bytes / res.time_s : r->flops / res.time_s;
}
