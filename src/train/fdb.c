/* fdb: see fdb.h. The file holds a handful of rows: a linear scan. */
#include "train/fdb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/csvtab.h"

enum { C_COMPONENT, C_PER, C_RATE, C_SPARE, C_SURFACES, C_MEASURED, C_ESTIMATED, C_SOURCE, NCOLS };

static const char *const cols[NCOLS] = {"component",   "per",      "failures_per_1000_per_day",
                                        "needs_spare", "surfaces", "measured_on",
                                        "estimated",   "source"};

static const char *const pers[FDB_PERS] = {"gpu", "node", "link", "switch", "job"};

#define MAX_ROWS 64

struct fdb {
    csvtab *csv; /* owns the strings */
    fdb_row rows[MAX_ROWS];
    size_t n;
};

const char *fdb_per_name(fdb_per per)
{
    return per >= 0 && per < FDB_PERS ? pers[per] : "?";
}

/* Row r into *w, its fields checked. */
static int read_row(const csvtab *t, const size_t *map, size_t r, fdb_row *w, ms_err *err)
{
    const char *path = csvtab_path(t);
    int line = csvtab_row_line(t, r);
    if (csvtab_row_nfields(t, r) != csvtab_ncols(t))
        return ms_errf(err, MS_EPARSE, "%s:%d: the row has %zu fields, the header %zu", path, line,
                       csvtab_row_nfields(t, r), csvtab_ncols(t));
    const char *f[NCOLS];
    for (int i = 0; i < NCOLS; i++)
        f[i] = csvtab_field(t, r, map[i]);
    *w = (fdb_row){.component = f[C_COMPONENT],
                   .measured_on = f[C_MEASURED],
                   .source = f[C_SOURCE],
                   .line = line};
    const int text[] = {C_COMPONENT, C_MEASURED, C_SOURCE};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (!f[text[i]][0])
            return ms_errf(err, MS_EINVAL, "%s:%d: column '%s': required, but blank", path, line,
                           cols[text[i]]);
    int per = 0;
    while (per < FDB_PERS && strcmp(pers[per], f[C_PER]) != 0)
        per++;
    if (per == FDB_PERS)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'per' of '%s': expected gpu, node, link, switch or job, "
                       "got '%s'",
                       path, line, w->component, f[C_PER]);
    w->per = (fdb_per)per;
    char *end;
    double v = strtod(f[C_RATE], &end);
    if (!f[C_RATE][0] || *end || !isfinite(v) || v <= 0 || v >= 1000)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'failures_per_1000_per_day' of '%s': expected a number "
                       "above 0 and below 1000 (each unit failing every day), got '%s'",
                       path, line, w->component, f[C_RATE]);
    w->per_1000_day = v;
    if (strcmp(f[C_SPARE], "yes") && strcmp(f[C_SPARE], "no"))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'needs_spare' of '%s': expected yes or no, got '%s'", path,
                       line, w->component, f[C_SPARE]);
    w->needs_spare = strcmp(f[C_SPARE], "yes") == 0;
    if (strcmp(f[C_SURFACES], "error") && strcmp(f[C_SURFACES], "hang"))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'surfaces' of '%s': expected error (the job stops on an "
                       "error it sees) or hang (it waits for a timeout), got '%s'",
                       path, line, w->component, f[C_SURFACES]);
    w->hangs = strcmp(f[C_SURFACES], "hang") == 0;
    if (f[C_ESTIMATED][0] && strcmp(f[C_ESTIMATED], cols[C_RATE]))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'estimated' of '%s': expected blank or "
                       "failures_per_1000_per_day, got '%s'",
                       path, line, w->component, f[C_ESTIMATED]);
    w->estimated = f[C_ESTIMATED][0] != '\0';
    return MS_OK;
}

int fdb_load(const char *path, fdb **out, ms_err *err)
{
    *out = NULL;
    fdb *db = calloc(1, sizeof *db);
    if (!db)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    size_t map[NCOLS];
    int rc = csvtab_read(path, &db->csv, err);
    if (!rc)
        rc = csvtab_map_cols(db->csv, cols, NCOLS, map, "see hwdb/README.md", err);
    size_t n = rc ? 0 : csvtab_nrows(db->csv);
    if (!rc && n == 0)
        rc = ms_errf(err, MS_EINVAL, "%s: no rows: at least one kind of failure is needed", path);
    if (!rc && n > MAX_ROWS)
        rc = ms_errf(err, MS_EINVAL, "%s: %zu rows, at most %d", path, n, MAX_ROWS);
    for (size_t r = 0; !rc && r < n; r++) {
        fdb_row *w = &db->rows[db->n];
        if ((rc = read_row(db->csv, map, r, w, err)))
            break;
        for (size_t k = 0; k < db->n; k++)
            if (strcasecmp(db->rows[k].component, w->component) == 0)
                rc = ms_errf(err, MS_EINVAL, "%s:%d: component '%s' is named again (line %d)", path,
                             w->line, w->component, db->rows[k].line);
        db->n += !rc;
    }
    if (rc) {
        fdb_free(db);
        return rc;
    }
    *out = db;
    return MS_OK;
}

void fdb_free(fdb *db)
{
    if (!db)
        return;
    csvtab_free(db->csv);
    free(db);
}

const char *fdb_path(const fdb *db)
{
    return csvtab_path(db->csv);
}

size_t fdb_count(const fdb *db)
{
    return db->n;
}

const fdb_row *fdb_at(const fdb *db, size_t i)
{
    return i < db->n ? &db->rows[i] : NULL;
}
