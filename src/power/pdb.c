/* pdb: see pdb.h. Each file's columns, and costs.csv's keys, are tables
 * below: name, kind, whether blank is allowed and the plausible range.
 * Loading walks them for every row, so a new column or key is one line.
 * Lookups are linear scans: the files hold tens of rows. */
#include "power/pdb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/num.h"
#include "io/csvtab.h"

/* ---- shared helpers ---------------------------------------------------- */

/* Maps the header to the expected columns (map[i] = file field of
 * names[i]); a missing, unknown or repeated column is an error. */
static int map_header(const csvtab *t, const char *const *names, size_t n, size_t *map, ms_err *err)
{
    const char *path = csvtab_path(t);
    for (size_t i = 0; i < n; i++) {
        int c = csvtab_find_col(t, names[i]);
        if (c < 0)
            return ms_errf(err, MS_EPARSE, "%s:1: missing column '%s' in the header", path,
                           names[i]);
        map[i] = (size_t)c;
    }
    for (size_t c = 0; c < csvtab_ncols(t); c++) {
        const char *name = csvtab_colname(t, c);
        size_t i = 0;
        while (i < n && strcmp(names[i], name) != 0)
            i++;
        if (i == n)
            return ms_errf(err, MS_EPARSE,
                           "%s:1: unknown column '%s' (field %zu); see hwdb/README.md for the "
                           "columns",
                           path, name, c + 1);
        if (map[i] != c)
            return ms_errf(err, MS_EPARSE, "%s:1: column '%s' appears twice", path, name);
    }
    return MS_OK;
}

/* A row must have exactly as many fields as the header. */
static int check_width(const csvtab *t, size_t r, const char *who, ms_err *err)
{
    size_t have = csvtab_row_nfields(t, r), want = csvtab_ncols(t);
    if (have < want)
        return ms_errf(err, MS_EPARSE,
                       "%s:%d: row '%s' has %zu fields, the header has %zu: column '%s' "
                       "(field %zu) is missing",
                       csvtab_path(t), csvtab_row_line(t, r), who, have, want,
                       csvtab_colname(t, have), have + 1);
    if (have > want)
        return ms_errf(err, MS_EPARSE, "%s:%d: row '%s' has %zu fields, the header has %zu",
                       csvtab_path(t), csvtab_row_line(t, r), who, have, want);
    return MS_OK;
}

/* Where a figure is in the files, for messages. */
typedef struct at {
    const char *path;
    int line;
    const char *col;
    size_t field; /* 1-based */
    const char *who;
} at;

/* A number in (min, max] (or [min, max] when min_incl), whole when
 * integer; blank is NAN when allowed. unit names the unit in messages. */
static int parse_num(const at *a, const char *text, int blank_ok, double min, int min_incl,
                     double max, int integer, const char *unit, double *out, ms_err *err)
{
    if (text[0] == '\0') {
        if (!blank_ok)
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column '%s' (field %zu) of '%s': required, but blank", a->path,
                           a->line, a->col, a->field, a->who);
        *out = NAN;
        return MS_OK;
    }
    char *end;
    double v = num_strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of '%s': expected a number in %s, got "
                       "\"%s\"",
                       a->path, a->line, a->col, a->field, a->who, unit, text);
    if (v <= 0)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of '%s': expected a positive number in %s, "
                       "got %s%s",
                       a->path, a->line, a->col, a->field, a->who, unit, text,
                       blank_ok ? " (leave it blank if unknown)" : "");
    if (integer && v != floor(v))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of '%s': expected a whole number, got %s",
                       a->path, a->line, a->col, a->field, a->who, text);
    if ((min_incl ? v < min : v <= min) || v > max)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of '%s': %s %s is outside the plausible "
                       "range %c%g, %g] (check the unit)",
                       a->path, a->line, a->col, a->field, a->who, text, unit, min_incl ? '[' : '(',
                       min, max);
    *out = v;
    return MS_OK;
}

/* ---- power.csv --------------------------------------------------------- */

enum pkind { PK_TEXT, PK_GPU_W, PK_COUNT, PK_NODE_W };

typedef struct pcol {
    const char *name;
    enum pkind kind;
    int required;
    size_t offset; /* in pdb_chip */
} pcol;

/* Upper bounds catch unit slips (kW typed as W), not engineering limits. */
#define GPU_W_MAX  1e4 /* one accelerator */
#define NODE_W_MAX 1e7 /* a server or a rack */
#define GPUS_MAX   1e4 /* accelerators in one node */

static const pcol pcols[] = {
    {"chip", PK_TEXT, 1, offsetof(pdb_chip, chip)},
    {"matrix_W", PK_GPU_W, 0, offsetof(pdb_chip, matrix_W)},
    {"memory_W", PK_GPU_W, 0, offsetof(pdb_chip, memory_W)},
    {"comm_W", PK_GPU_W, 0, offsetof(pdb_chip, comm_W)},
    {"idle_W", PK_GPU_W, 0, offsetof(pdb_chip, idle_W)},
    {"node_gpus", PK_COUNT, 0, offsetof(pdb_chip, node_gpus)},
    {"node_other_W", PK_NODE_W, 0, offsetof(pdb_chip, node_other_W)},
    {"node_other_idle_W", PK_NODE_W, 0, offsetof(pdb_chip, node_other_idle_W)},
    {"estimated", PK_TEXT, 0, offsetof(pdb_chip, estimated)},
    {"source", PK_TEXT, 1, offsetof(pdb_chip, source)},
};
#define NPCOLS (sizeof pcols / sizeof pcols[0])
enum {
    PC_CHIP,
    PC_MATRIX,
    PC_MEMORY,
    PC_COMM,
    PC_IDLE,
    PC_NODE_GPUS,
    PC_OTHER,
    PC_OTHER_IDLE,
    PC_EST,
    PC_SOURCE
};
_Static_assert(PC_SOURCE + 1 == NPCOLS, "the enum follows pcols");

static double *pnum(pdb_chip *c, size_t col)
{
    return (double *)((char *)c + pcols[col].offset);
}

static const char **ptext(pdb_chip *c, size_t col)
{
    return (const char **)((char *)c + pcols[col].offset);
}

/* ---- costs.csv --------------------------------------------------------- */

typedef struct cost_spec {
    const char *key; /* exact key, or a prefix ending in '.' */
    int chip_suffix; /* the part after the prefix names a chip */
    const char *unit;
    double min;
    int min_incl;
    double max;
    int integer;
} cost_spec;

/* The keys costs.csv may hold, with the unit its 'unit' column must give
 * and the plausible range of the value. */
static const cost_spec cost_specs[] = {
    {"pue", 0, "ratio", 1, 1, 3, 0},
    {"pue_industry_average", 0, "ratio", 1, 1, 3, 0},
    {"pue_hyperscale", 0, "ratio", 1, 1, 3, 0},
    {"it_fraction", 0, "fraction", 0, 0, 1, 0},
    {"switch_W", 0, "W", 0, 0, 1e5, 0},
    {"switch_passive_W", 0, "W", 0, 0, 1e5, 0},
    {"transceiver_W", 0, "W", 0, 0, 1e3, 0},
    {"transceiver_800G_W", 0, "W", 0, 0, 1e3, 0},
    {"server_usd.", 1, "USD", 0, 0, 1e8, 0},
    {"rack_usd.", 1, "USD", 0, 0, 1e9, 0},
    {"rack_gpus.", 1, "GPUs", 1, 1, 1e6, 1},
    {"gpu_hour_usd.", 1, "USD/h", 0, 0, 1e4, 0},
    {"network_usd_per_gpu", 0, "USD", 0, 0, 1e6, 0},
    {"network_usd_per_gpu.", 0, "USD", 0, 0, 1e6, 0},
    {"facility_usd_per_W", 0, "USD/W", 0, 0, 1e3, 0},
    {"life_years", 0, "years", 0, 0, 100, 0},
    {"facility_life_years", 0, "years", 0, 0, 200, 0},
    {"energy_usd_per_kWh", 0, "USD/kWh", 0, 0, 10, 0},
    {"energy_usd_per_kWh.", 0, "USD/kWh", 0, 0, 10, 0},
    {"battery_kW", 0, "kW", 0, 0, 1e6, 0},
    {"battery_kWh", 0, "kWh", 0, 0, 1e7, 0},
    {"battery_usd", 0, "USD", 0, 0, 1e9, 0},
    {"battery_round_trip", 0, "fraction", 0, 0, 1, 0},
    {"rack_storage_J_per_gpu.", 1, "J", 0, 0, 1e9, 0},
};
#define NSPECS (sizeof cost_specs / sizeof cost_specs[0])

static const char *const ccol_names[] = {"key", "value", "unit", "estimated", "source"};
enum { CC_KEY, CC_VALUE, CC_UNIT, CC_EST, CC_SOURCE, NCCOLS };

typedef struct pdb_cost {
    const char *key, *unit, *source;
    double value;
    int estimated;
    int line;
    const cost_spec *spec;
} pdb_cost;

struct pdb {
    csvtab *power_csv, *costs_csv; /* own every string the rows point to */
    pdb_chip *chips;
    size_t nchips;
    size_t pfield[NPCOLS]; /* file field (0-based) of each power column */
    pdb_cost *costs;
    size_t ncosts;
    size_t cfield[NCCOLS];
};

/* The spec of key (case-insensitive, as lookups are), or NULL. */
static const cost_spec *spec_of(const char *key)
{
    for (size_t i = 0; i < NSPECS; i++) {
        const cost_spec *s = &cost_specs[i];
        size_t len = strlen(s->key);
        if (s->key[len - 1] == '.' ? strncasecmp(key, s->key, len) == 0
                                   : strcasecmp(key, s->key) == 0)
            return s;
    }
    return NULL;
}

/* ---- loading power.csv ------------------------------------------------- */

/* Each token of 'estimated' must name a numeric column the row fills. */
static int check_estimated(pdb *db, const at *a, pdb_chip *c, ms_err *err)
{
    const char *p = c->estimated;
    while (*p) {
        p += strspn(p, " ;");
        size_t len = strcspn(p, " ;");
        if (!len)
            break;
        size_t i = PC_MATRIX;
        while (i <= PC_OTHER_IDLE &&
               !(strlen(pcols[i].name) == len && strncmp(pcols[i].name, p, len) == 0))
            i++;
        if (i > PC_OTHER_IDLE)
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'estimated' (field %zu) of '%s': '%.*s' is not a "
                           "numeric column of power.csv",
                           a->path, a->line, db->pfield[PC_EST] + 1, a->who, (int)len, p);
        if (isnan(*pnum(c, i)))
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'estimated' (field %zu) of '%s': lists '%s', which is "
                           "blank",
                           a->path, a->line, db->pfield[PC_EST] + 1, a->who, pcols[i].name);
        p += len;
    }
    return MS_OK;
}

/* lo <= hi where both are given; false (no error) when either is NAN. */
static int check_order(pdb *db, const at *a, pdb_chip *c, size_t lo, size_t hi, ms_err *err)
{
    double l = *pnum(c, lo), h = *pnum(c, hi);
    if (l > h)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s' (field %zu) of '%s': %g W exceeds %s %g W", a->path,
                       a->line, pcols[lo].name, db->pfield[lo] + 1, a->who, l, pcols[hi].name, h);
    return MS_OK;
}

static int load_power_row(pdb *db, size_t r, pdb_chip *c, ms_err *err)
{
    const csvtab *t = db->power_csv;
    const char *name = csvtab_field(t, r, db->pfield[PC_CHIP]);
    int rc = check_width(t, r, name ? name : "?", err);
    if (rc)
        return rc;
    *c = (pdb_chip){.line = csvtab_row_line(t, r)};
    at a = {.path = csvtab_path(t), .line = c->line, .who = name};
    int any = 0;
    for (size_t i = 0; i < NPCOLS; i++) {
        const pcol *s = &pcols[i];
        const char *text = csvtab_field(t, r, db->pfield[i]);
        a.col = s->name;
        a.field = db->pfield[i] + 1;
        switch (s->kind) {
        case PK_TEXT:
            if (s->required && !text[0])
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column '%s' (field %zu) of '%s': required, but blank",
                               a.path, a.line, s->name, a.field, name);
            *ptext(c, i) = text;
            continue;
        case PK_GPU_W:
            rc = parse_num(&a, text, 1, 0, 0, GPU_W_MAX, 0, "W", pnum(c, i), err);
            break;
        case PK_COUNT:
            rc = parse_num(&a, text, 1, 1, 1, GPUS_MAX, 1, "GPUs", pnum(c, i), err);
            break;
        case PK_NODE_W:
            rc = parse_num(&a, text, 1, 0, 0, NODE_W_MAX, 0, "W", pnum(c, i), err);
            break;
        }
        if (rc)
            return rc;
        any |= !isnan(*pnum(c, i));
    }
    if (strpbrk(c->chip, " ,\t"))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'chip' (field %zu) of '%s': expected a chip name without "
                       "spaces or commas",
                       a.path, a.line, db->pfield[PC_CHIP] + 1, name);
    if (!any)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: row '%s': every figure is blank: the row says nothing", a.path,
                       a.line, name);
    /* A GPU draws least idle and most in matrix work; communication and
     * memory-bound work lie between. */
    static const size_t order[][2] = {{PC_IDLE, PC_COMM},     {PC_IDLE, PC_MEMORY},
                                      {PC_IDLE, PC_MATRIX},   {PC_COMM, PC_MATRIX},
                                      {PC_MEMORY, PC_MATRIX}, {PC_OTHER_IDLE, PC_OTHER}};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        if ((rc = check_order(db, &a, c, order[k][0], order[k][1], err)))
            return rc;
    if (isnan(c->node_gpus) && !(isnan(c->node_other_W) && isnan(c->node_other_idle_W)))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'node_gpus' (field %zu) of '%s': required when a server's "
                       "other power is given, but blank",
                       a.path, a.line, db->pfield[PC_NODE_GPUS] + 1, name);
    return check_estimated(db, &a, c, err);
}

static int load_power(pdb *db, const char *path, ms_err *err)
{
    const char *names[NPCOLS];
    for (size_t i = 0; i < NPCOLS; i++)
        names[i] = pcols[i].name;
    int rc = csvtab_read(path, &db->power_csv, err);
    if (!rc)
        rc = map_header(db->power_csv, names, NPCOLS, db->pfield, err);
    if (rc)
        return rc;
    size_t n = csvtab_nrows(db->power_csv);
    if (n == 0)
        return ms_errf(err, MS_EPARSE, "%s: no chips: the file has a header and no rows", path);
    db->chips = calloc(n, sizeof *db->chips);
    if (!db->chips)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
    for (size_t r = 0; r < n; r++) {
        pdb_chip *c = &db->chips[r];
        if ((rc = load_power_row(db, r, c, err)))
            return rc;
        for (size_t q = 0; q < r; q++)
            if (strcasecmp(db->chips[q].chip, c->chip) == 0)
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column 'chip' (field %zu): '%s' is already used on line %d",
                               path, c->line, db->pfield[PC_CHIP] + 1, c->chip, db->chips[q].line);
        db->nchips = r + 1;
    }
    return MS_OK;
}

/* ---- loading costs.csv ------------------------------------------------- */

static int load_cost_row(pdb *db, size_t r, pdb_cost *c, ms_err *err)
{
    const csvtab *t = db->costs_csv;
    const char *path = csvtab_path(t);
    const char *f[NCCOLS];
    const char *key = csvtab_field(t, r, db->cfield[CC_KEY]);
    int rc = check_width(t, r, key ? key : "?", err);
    if (rc)
        return rc;
    for (int i = 0; i < NCCOLS; i++)
        f[i] = csvtab_field(t, r, db->cfield[i]);
    *c = (pdb_cost){
        .key = key, .unit = f[CC_UNIT], .source = f[CC_SOURCE], .line = csvtab_row_line(t, r)};
    at a = {.path = path, .line = c->line, .who = key};
    for (int i = 0; i < NCCOLS; i++)
        if (i != CC_EST && !f[i][0])
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column '%s' (field %zu) of '%s': required, but blank", path,
                           c->line, ccol_names[i], db->cfield[i] + 1, key);
    c->spec = spec_of(key);
    if (!c->spec)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'key' (field %zu): unknown key '%s'; see hwdb/README.md "
                       "for the keys",
                       path, c->line, db->cfield[CC_KEY] + 1, key);
    size_t plen = strlen(c->spec->key);
    if (c->spec->key[plen - 1] == '.' && (!key[plen] || strpbrk(key + plen, " ,\t")))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'key' (field %zu): '%s' needs a name without spaces after "
                       "'%s'",
                       path, c->line, db->cfield[CC_KEY] + 1, key, c->spec->key);
    if (strcmp(c->unit, c->spec->unit) != 0)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'unit' (field %zu) of '%s': expected '%s', got \"%s\"", path,
                       c->line, db->cfield[CC_UNIT] + 1, key, c->spec->unit, c->unit);
    a.col = "value";
    a.field = db->cfield[CC_VALUE] + 1;
    if ((rc = parse_num(&a, f[CC_VALUE], 0, c->spec->min, c->spec->min_incl, c->spec->max,
                        c->spec->integer, c->spec->unit, &c->value, err)))
        return rc;
    if (f[CC_EST][0] && strcmp(f[CC_EST], "yes") != 0)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'estimated' (field %zu) of '%s': expected 'yes' or blank, "
                       "got \"%s\"",
                       path, c->line, db->cfield[CC_EST] + 1, key, f[CC_EST]);
    c->estimated = f[CC_EST][0] != '\0';
    return MS_OK;
}

static int load_costs(pdb *db, const char *path, ms_err *err)
{
    int rc = csvtab_read(path, &db->costs_csv, err);
    if (!rc)
        rc = map_header(db->costs_csv, ccol_names, NCCOLS, db->cfield, err);
    if (rc)
        return rc;
    size_t n = csvtab_nrows(db->costs_csv);
    if (n == 0)
        return ms_errf(err, MS_EPARSE, "%s: no keys: the file has a header and no rows", path);
    db->costs = calloc(n, sizeof *db->costs);
    if (!db->costs)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
    for (size_t r = 0; r < n; r++) {
        pdb_cost *c = &db->costs[r];
        if ((rc = load_cost_row(db, r, c, err)))
            return rc;
        for (size_t q = 0; q < r; q++)
            if (strcasecmp(db->costs[q].key, c->key) == 0)
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column 'key' (field %zu): '%s' is already used on line %d",
                               path, c->line, db->cfield[CC_KEY] + 1, c->key, db->costs[q].line);
        db->ncosts = r + 1;
    }
    return MS_OK;
}

/* ---- the API ----------------------------------------------------------- */

int pdb_load(const char *power_csv, const char *costs_csv, pdb **out, ms_err *err)
{
    int rc;
    pdb *db = calloc(1, sizeof *db);

    *out = NULL;
    if (!db)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", power_csv);
    if ((rc = load_power(db, power_csv, err)) || (rc = load_costs(db, costs_csv, err)))
        goto out;
    *out = db;
    db = NULL;
out:
    pdb_free(db);
    return rc;
}

void pdb_free(pdb *db)
{
    if (!db)
        return;
    csvtab_free(db->power_csv);
    csvtab_free(db->costs_csv);
    free(db->chips);
    free(db->costs);
    free(db);
}

const pdb_chip *pdb_chip_find(const pdb *db, const char *chip)
{
    for (size_t i = 0; i < db->nchips; i++)
        if (strcasecmp(db->chips[i].chip, chip) == 0)
            return &db->chips[i];
    return NULL;
}

size_t pdb_chip_count(const pdb *db)
{
    return db->nchips;
}

const pdb_chip *pdb_chip_at(const pdb *db, size_t i)
{
    return i < db->nchips ? &db->chips[i] : NULL;
}

static const pdb_cost *cost_find(const pdb *db, const char *key)
{
    for (size_t i = 0; i < db->ncosts; i++)
        if (strcasecmp(db->costs[i].key, key) == 0)
            return &db->costs[i];
    return NULL;
}

int pdb_value(const pdb *db, const char *key, double *out, const char **source, ms_err *err)
{
    const pdb_cost *c = cost_find(db, key);
    if (c) {
        *out = c->value;
        if (source)
            *source = c->source;
        return MS_OK;
    }
    char keys[320];
    size_t used = 0;
    keys[0] = '\0';
    for (size_t i = 0; i < db->ncosts && used < sizeof keys; i++) {
        int w = snprintf(keys + used, sizeof keys - used, "%s%s", i ? ", " : "", db->costs[i].key);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used >= sizeof keys)
        strcpy(keys + sizeof keys - 5, "...");
    return ms_errf(err, MS_EINVAL, "%s has no '%s' (it has: %s)", csvtab_path(db->costs_csv), key,
                   keys);
}

int pdb_has(const pdb *db, const char *key)
{
    return cost_find(db, key) != NULL;
}

int pdb_value_estimated(const pdb *db, const char *key)
{
    const pdb_cost *c = cost_find(db, key);
    return c && c->estimated;
}

int pdb_check_chips(const pdb *db, const chip_db *chips, ms_err *err)
{
    const char *ppath = csvtab_path(db->power_csv);
    for (size_t i = 0; i < db->nchips; i++) {
        pdb_chip *pc = &db->chips[i];
        const chip *c = chip_db_find(chips, pc->chip);
        if (!c) {
            char names[300];
            chip_db_names(chips, names, sizeof names);
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'chip' (field %zu): '%s' is not in the chip database "
                           "(it has: %s)",
                           ppath, pc->line, db->pfield[PC_CHIP] + 1, pc->chip, names);
        }
        for (size_t col = PC_MATRIX; col <= PC_IDLE; col++) {
            double w = *pnum(pc, col);
            if (w > c->tdp_W) /* false when either is NAN */
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column '%s' (field %zu) of '%s': %g W exceeds the chip's "
                               "tdp_W %g W (chips.csv line %d)",
                               ppath, pc->line, pcols[col].name, db->pfield[col] + 1, pc->chip, w,
                               c->tdp_W, c->line);
        }
    }
    for (size_t i = 0; i < db->ncosts; i++) {
        const pdb_cost *k = &db->costs[i];
        const char *name = k->key + strlen(k->spec->key);
        if (k->spec->chip_suffix && !chip_db_find(chips, name))
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'key' (field %zu): '%s' names no chip of the chip "
                           "database",
                           csvtab_path(db->costs_csv), k->line, db->cfield[CC_KEY] + 1, k->key);
    }
    return MS_OK;
}
