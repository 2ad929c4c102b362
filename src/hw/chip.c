/* chip: see chip.h. The columns of chips.csv are one table below: name,
 * kind, whether blank is allowed, unit conversion and plausible range.
 * Loading walks that table for every row, so adding a column is one line. */
#include "hw/chip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/num.h"
#include "core/vec.h"
#include "io/csvtab.h"

#define MAX_FILES 8

struct chip_db {
    csvtab *csv[MAX_FILES]; /* own every string the chips point to */
    size_t nfiles;
    chip *chips;
    size_t n, cap;
};

enum col_kind { COL_TEXT, COL_NUM, COL_INT };

typedef struct col_spec {
    const char *name;
    enum col_kind kind;
    int required;     /* blank is an error; -1: the header may lack the column */
    double scale;     /* file unit -> SI base unit */
    double min, max;  /* plausible range in the file's unit; min is exclusive when 0 */
    const char *unit; /* for messages */
    size_t offset;    /* where in struct chip */
} col_spec;

#define TEXT(col, req, field)                                                                      \
    {                                                                                              \
        col, COL_TEXT, req, 0, 0, 0, "", offsetof(chip, field)                                     \
    }
#define NUM(col, req, scale, max, unit, field)                                                     \
    {                                                                                              \
        col, COL_NUM, req, scale, 0, max, unit, offsetof(chip, field)                              \
    }
#define INT(col, req, min, max, unit, field)                                                       \
    {                                                                                              \
        col, COL_INT, req, 1, min, max, unit, offsetof(chip, field)                                \
    }

#define OPTIONAL (-1)

/* Upper bounds are far above any chip in sight; they catch unit slips
 * (TB/s typed as GB/s times a thousand), not engineering limits. */
static const col_spec cols[] = {
    TEXT("name", 1, name),
    TEXT("full_name", 1, full_name),
    TEXT("vendor", 1, vendor),
    TEXT("family", 1, family),
    INT("year", 1, 1990, 2100, "a year", year),
    TEXT("process_node", 0, process_node),
    NUM("die_area_mm2", 0, 1, 1e5, "mm^2", die_area_mm2),
    INT("compute_units", 0, 1, 1e6, "units", compute_units),
    TEXT("compute_unit_kind", 0, compute_unit_kind),
    NUM("fp64_TFLOPS", 0, 1e12, 1e5, "TFLOPS", peak_flop_per_s[MS_FP64]),
    NUM("fp32_TFLOPS", 0, 1e12, 1e5, "TFLOPS", peak_flop_per_s[MS_FP32]),
    NUM("tf32_TFLOPS", 0, 1e12, 1e5, "TFLOPS", peak_flop_per_s[MS_TF32]),
    NUM("bf16_TFLOPS", 1, 1e12, 1e5, "TFLOPS", peak_flop_per_s[MS_BF16]),
    NUM("fp8_TFLOPS", 0, 1e12, 1e5, "TFLOPS", peak_flop_per_s[MS_FP8]),
    NUM("fp4_TFLOPS", 0, 1e12, 1e5, "TFLOPS", peak_flop_per_s[MS_FP4]),
    NUM("int8_TOPS", 0, 1e12, 1e5, "TOPS", peak_flop_per_s[MS_INT8]),
    NUM("hbm_GB", 1, 1e9, 1e5, "GB", hbm_bytes),
    NUM("hbm_bw_GBps", 1, 1e9, 1e5, "GB/s", hbm_bw_Bps),
    NUM("l2_MB", 0, 1e6, 1e5, "MB", l2_bytes),
    NUM("scale_up_GBps_per_dir", 0, 1e9, 1e5, "GB/s", scale_up_bw_Bps),
    INT("scale_up_domain_chips", 0, 1, 1e7, "chips", scale_up_domain_chips),
    NUM("scale_out_Gbps_per_chip", 0, 1e9 / 8, 1e5, "Gb/s", scale_out_bw_Bps),
    NUM("host_io_GBps_per_dir", OPTIONAL, 1e9, 1e5, "GB/s", host_io_bw_Bps),
    NUM("tdp_W", 0, 1, 1e5, "W", tdp_W),
    NUM("idle_W", 0, 1, 1e5, "W", idle_W),
    TEXT("estimated", 0, estimated),
    TEXT("source", 1, source),
    TEXT("derived_from", OPTIONAL, derived_from),
    TEXT("derivation", OPTIONAL, derivation),
};
#define NCOLS (sizeof cols / sizeof cols[0])

static const char **text_at(chip *c, const col_spec *s)
{
    return (const char **)((char *)c + s->offset);
}

static double *num_at(chip *c, const col_spec *s)
{
    return (double *)((char *)c + s->offset);
}

/* Parses one numeric field into SI units, or NAN for an allowed blank. */
static int parse_num(const char *path, int line, const col_spec *s, size_t col, const char *who,
                     const char *text, double *out, ms_err *err)
{
    if (text[0] == '\0') {
        if (s->required > 0)
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column '%s' (field %zu) of %s: required, but blank", path, line,
                           s->name, col + 1, who);
        *out = NAN;
        return MS_OK;
    }
    char *end;
    double v = num_strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of %s: expected a number in %s, got \"%s\"",
                       path, line, s->name, col + 1, who, s->unit, text);
    if (s->kind == COL_INT && v != floor(v))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of %s: expected a whole number, got %s",
                       path, line, s->name, col + 1, who, text);
    if (s->min > 0 && v < s->min)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of %s: expected %s of at least %g, got %s",
                       path, line, s->name, col + 1, who, s->unit, s->min, text);
    if (v <= 0)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of %s: expected a positive number in %s, "
                       "got %s (leave it blank if unknown)",
                       path, line, s->name, col + 1, who, s->unit, text);
    if (v > s->max)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of %s: %s %s is beyond any real chip "
                       "(at most %g; check the unit)",
                       path, line, s->name, col + 1, who, text, s->unit, s->max);
    *out = v * s->scale;
    return MS_OK;
}

static const col_spec *spec_named(const char *name, size_t len)
{
    for (size_t i = 0; i < NCOLS; i++)
        if (strlen(cols[i].name) == len && strncmp(cols[i].name, name, len) == 0)
            return &cols[i];
    return NULL;
}

/* Every token of the 'estimated' list must name a column. */
static int check_estimated(const char *path, int line, const char *who, const char *list,
                           ms_err *err)
{
    const char *p = list;
    while (*p) {
        p += strspn(p, " ;");
        size_t len = strcspn(p, " ;");
        if (len && !spec_named(p, len))
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'estimated' of %s: '%.*s' is not a column name", path,
                           line, who, (int)len, p);
        p += len;
    }
    return MS_OK;
}

/* Maps header columns to specs: map[spec] = file column. */
static int map_header(const csvtab *t, int map[NCOLS], ms_err *err)
{
    const char *path = csvtab_path(t);
    for (size_t i = 0; i < NCOLS; i++) {
        map[i] = csvtab_find_col(t, cols[i].name);
        if (map[i] < 0 && cols[i].required != OPTIONAL)
            return ms_errf(err, MS_EPARSE, "%s:1: missing column '%s' in the header", path,
                           cols[i].name);
    }
    for (size_t c = 0; c < csvtab_ncols(t); c++) {
        const char *name = csvtab_colname(t, c);
        if (!spec_named(name, strlen(name)))
            return ms_errf(err, MS_EPARSE,
                           "%s:1: unknown column '%s' (field %zu); see hwdb/README.md for the "
                           "columns",
                           path, name, c + 1);
        if (csvtab_find_col(t, name) != (int)c)
            return ms_errf(err, MS_EPARSE, "%s:1: column '%s' appears twice", path, name);
    }
    return MS_OK;
}

static int load_row(const csvtab *t, size_t r, const int map[NCOLS], chip *c, ms_err *err)
{
    const char *path = csvtab_path(t);
    int line = csvtab_row_line(t, r);
    size_t have = csvtab_row_nfields(t, r), want = csvtab_ncols(t);
    const char *who_field = csvtab_field(t, r, (size_t)map[0]);
    char who[96];
    snprintf(who, sizeof who, "'%s'", who_field ? who_field : "?");

    if (have < want)
        return ms_errf(err, MS_EPARSE,
                       "%s:%d: row %s has %zu fields, the header has %zu: column '%s' "
                       "(field %zu) is missing",
                       path, line, who, have, want, csvtab_colname(t, have), have + 1);
    if (have > want)
        return ms_errf(err, MS_EPARSE, "%s:%d: row %s has %zu fields, the header has %zu", path,
                       line, who, have, want);

    *c = (chip){.line = line, .file = path};
    for (size_t i = 0; i < NCOLS; i++) {
        const col_spec *s = &cols[i];
        size_t col = map[i] < 0 ? 0 : (size_t)map[i];
        const char *text = map[i] < 0 ? "" : csvtab_field(t, r, col);
        if (s->kind == COL_TEXT) {
            if (s->required > 0 && text[0] == '\0')
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column '%s' (field %zu) of %s: required, but blank", path,
                               line, s->name, col + 1, who);
            *text_at(c, s) = text;
            continue;
        }
        int rc = parse_num(path, line, s, col, who, text, num_at(c, s), err);
        if (rc)
            return rc;
    }
    int printable = 1; /* a name is a table cell and a JSON string too */
    for (const char *p = c->name; *p; p++)
        printable &= *p > ' ' && *p < 0x7F && *p != ',' && *p != '"';
    if (!printable)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'name': expected printable ASCII without spaces, commas or "
                       "quotes",
                       path, line);
    if (c->idle_W > c->tdp_W) /* false when either is NAN */
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'idle_W' of %s: idle power %g W exceeds tdp_W %g W", path,
                       line, who, c->idle_W, c->tdp_W);
    if (!c->derived_from[0] != !c->derivation[0])
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: columns 'derived_from' and 'derivation' of %s: give both (the "
                       "parent chip and what was changed) or neither",
                       path, line, who);
    return check_estimated(path, line, who, c->estimated, err);
}

int chip_db_add_file(chip_db *db, const char *path, ms_err *err)
{
    int rc;
    int map[NCOLS];
    csvtab *t = NULL;
    if (db->nfiles == MAX_FILES)
        return ms_errf(err, MS_EINVAL, "%s: at most %d chip files at once", path, MAX_FILES);
    if ((rc = csvtab_read(path, &t, err)))
        return rc;
    db->csv[db->nfiles++] = t; /* freed with db from here on */
    if ((rc = map_header(t, map, err)))
        return rc;
    size_t n = csvtab_nrows(t);
    if (n == 0)
        return ms_errf(err, MS_EPARSE, "%s: no chips: the file has a header and no rows", path);
    /* The first file's rows fit exactly; later files double the array. */
    chip *grown = vec_grow(db->chips, &db->cap, db->n + n, n, sizeof *grown);
    if (!grown)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
    db->chips = grown;
    for (size_t r = 0; r < n; r++) {
        chip *c = &db->chips[db->n];
        if ((rc = load_row(t, r, map, c, err)))
            return rc;
        for (size_t q = 0; q < db->n; q++)
            if (strcasecmp(db->chips[q].name, c->name) == 0)
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column 'name': '%s' is already used on line %d of %s", path,
                               c->line, c->name, db->chips[q].line, db->chips[q].file);
        if (c->derived_from[0] && !chip_db_find(db, c->derived_from))
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'derived_from' of '%s': no chip '%s' before it; a "
                           "derived chip comes after its parent",
                           path, c->line, c->name, c->derived_from);
        db->n++;
    }
    return MS_OK;
}

int chip_db_load(const char *path, chip_db **out, ms_err *err)
{
    chip_db *db = calloc(1, sizeof *db);
    *out = NULL;
    if (!db)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
    int rc = chip_db_add_file(db, path, err);
    if (rc) {
        chip_db_free(db);
        return rc;
    }
    *out = db;
    return MS_OK;
}

void chip_db_free(chip_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->nfiles; i++)
        csvtab_free(db->csv[i]);
    free(db->chips);
    free(db);
}

size_t chip_db_count(const chip_db *db)
{
    return db->n;
}

const chip *chip_db_at(const chip_db *db, size_t i)
{
    return i < db->n ? &db->chips[i] : NULL;
}

const chip *chip_db_find(const chip_db *db, const char *name)
{
    for (size_t i = 0; i < db->n; i++)
        if (strcasecmp(db->chips[i].name, name) == 0)
            return &db->chips[i];
    return NULL;
}

void chip_db_names(const chip_db *db, char *buf, size_t cap)
{
    size_t used = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < db->n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", db->chips[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int chip_db_lookup(const chip_db *db, const char *name, const chip **out, ms_err *err)
{
    *out = chip_db_find(db, name);
    if (*out)
        return MS_OK;
    char names[400];
    chip_db_names(db, names, sizeof names);
    return ms_errf(err, MS_ENOTFOUND, "unknown chip '%s'; the database has: %s", name, names);
}

double chip_peak(const chip *c, ms_prec p)
{
    return c->peak_flop_per_s[p];
}

void chip_csv_header(FILE *f)
{
    for (size_t i = 0; i < NCOLS; i++)
        fprintf(f, "%s%s", i ? "," : "", cols[i].name);
    fputc('\n', f);
}

void chip_csv_row(FILE *f, const chip *c)
{
    for (size_t i = 0; i < NCOLS; i++) {
        const col_spec *s = &cols[i];
        if (i)
            fputc(',', f);
        if (s->kind == COL_TEXT) {
            const char *t = *text_at((chip *)c, s);
            csvtab_put_field(f, t ? t : "");
        } else {
            double v = *num_at((chip *)c, s);
            if (isfinite(v))
                fprintf(f, "%.10g", v / s->scale);
        }
    }
    fputc('\n', f);
}
