/* fpub: see fpub.h. A published table has a few dozen rows at most, and
 * fdb at most 64 components: a component set is a 64-bit mask. */
#include "train/fpub.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/csvtab.h"

enum { C_CATEGORY, C_COUNT, C_COMPONENTS, C_SOURCE, NCOLS };

static const char *const cols[NCOLS] = {"category", "interruptions", "components", "source"};

#define MAX_ROWS 256

typedef struct row {
    const char *category, *components;
    double count;
    int line;
} row;

struct fpub {
    csvtab *csv; /* owns the strings */
    row rows[MAX_ROWS];
    size_t n;
};

static int read_rows(fpub *p, ms_err *err)
{
    const csvtab *t = p->csv;
    const char *path = csvtab_path(t);
    size_t map[NCOLS];
    int rc = csvtab_map_cols(t, cols, NCOLS, map,
                             "expected category, interruptions, components, source", err);
    if (rc)
        return rc;
    size_t n = csvtab_nrows(t);
    if (n == 0)
        return ms_errf(err, MS_EINVAL, "%s: no rows: at least one published category is needed",
                       path);
    if (n > MAX_ROWS)
        return ms_errf(err, MS_EINVAL, "%s: %zu rows, at most %d", path, n, MAX_ROWS);
    for (size_t r = 0; r < n; r++) {
        int line = csvtab_row_line(t, r);
        if (csvtab_row_nfields(t, r) != csvtab_ncols(t))
            return ms_errf(err, MS_EPARSE, "%s:%d: the row has %zu fields, the header %zu", path,
                           line, csvtab_row_nfields(t, r), csvtab_ncols(t));
        const char *f[NCOLS];
        for (int i = 0; i < NCOLS; i++)
            f[i] = csvtab_field(t, r, map[i]);
        const int text[] = {C_CATEGORY, C_SOURCE};
        for (size_t i = 0; i < 2; i++)
            if (!f[text[i]][0])
                return ms_errf(err, MS_EINVAL, "%s:%d: column '%s': required, but blank", path,
                               line, cols[text[i]]);
        char *end;
        double v = strtod(f[C_COUNT], &end);
        if (!f[C_COUNT][0] || *end || !isfinite(v) || v < 0)
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'interruptions' of '%s': expected a number >= 0, got "
                           "'%s'",
                           path, line, f[C_CATEGORY], f[C_COUNT]);
        p->rows[p->n++] = (row){
            .category = f[C_CATEGORY], .components = f[C_COMPONENTS], .count = v, .line = line};
    }
    return MS_OK;
}

int fpub_load(const char *path, fpub **out, ms_err *err)
{
    *out = NULL;
    fpub *p = calloc(1, sizeof *p);
    if (!p)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    int rc = csvtab_read(path, &p->csv, err);
    if (!rc)
        rc = read_rows(p, err);
    if (rc) {
        fpub_free(p);
        return rc;
    }
    *out = p;
    return MS_OK;
}

void fpub_free(fpub *p)
{
    if (!p)
        return;
    csvtab_free(p->csv);
    free(p);
}

const char *fpub_path(const fpub *p)
{
    return csvtab_path(p->csv);
}

double fpub_total(const fpub *p)
{
    double sum = 0;
    for (size_t i = 0; i < p->n; i++)
        sum += p->rows[i].count;
    return sum;
}

/* The components of row w as a mask of db's rows; 0 for a blank field. */
static int mask_of(const fpub *p, const row *w, const fdb *db, uint64_t *mask, ms_err *err)
{
    *mask = 0;
    const char *s = w->components;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return MS_OK;
    for (;;) {
        const char *e = strchr(s, '+');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        while (len > 0 && isspace((unsigned char)s[len - 1]))
            len--;
        size_t k = 0;
        while (k < fdb_count(db) && !(strlen(fdb_at(db, k)->component) == len &&
                                      strncasecmp(fdb_at(db, k)->component, s, len) == 0))
            k++;
        if (len == 0 || k == fdb_count(db)) {
            char names[512] = "";
            for (size_t j = 0; j < fdb_count(db); j++) {
                size_t used = strlen(names);
                snprintf(names + used, sizeof names - used, "%s%s", j ? ", " : "",
                         fdb_at(db, j)->component);
            }
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'components' of '%s': '%.*s' is not a component of "
                           "the failure rates (%s), joined by '+', or blank for a category "
                           "megasim has no rate for",
                           fpub_path(p), w->line, w->category, (int)len, s, names);
        }
        *mask |= UINT64_C(1) << k;
        if (!e)
            return MS_OK;
        s = e + 1;
        while (isspace((unsigned char)*s))
            s++;
    }
}

static void append(char *buf, size_t cap, const char *sep, const char *text, double count)
{
    size_t used = strlen(buf);
    if (used + 1 < cap)
        snprintf(buf + used, cap - used, "%s%s %g", used ? sep : "", text, count);
}

int fpub_compare(const fpub *p, const fdb *db, const double *predicted_by_kind, fpub_group *g,
                 size_t cap, size_t *ng, ms_err *err)
{
    uint64_t rm[MAX_ROWS];         /* each row's components; 0: not modelled */
    uint64_t masks[MAX_ROWS + 64]; /* the groups, in the order they are shown */
    int first_line[64] = {0};      /* the line whose group holds component k */
    uint64_t group_of[64] = {0};
    size_t n = 0;
    int blank = 0;
    *ng = 0;
    for (size_t i = 0; i < p->n; i++) {
        const row *w = &p->rows[i];
        int rc = mask_of(p, w, db, &rm[i], err);
        if (rc)
            return rc;
        uint64_t m = rm[i];
        blank |= m == 0;
        for (size_t k = 0; k < fdb_count(db); k++)
            if (m >> k & 1) {
                if (first_line[k] && group_of[k] != m)
                    return ms_errf(err, MS_EINVAL,
                                   "%s:%d: column 'components' of '%s': '%s' is already compared "
                                   "in another group (line %d); a component belongs to one "
                                   "group: name the same components on both rows",
                                   fpub_path(p), w->line, w->category, fdb_at(db, k)->component,
                                   first_line[k]);
                first_line[k] = w->line;
                group_of[k] = m;
            }
        size_t j = 0;
        while (j < n && masks[j] != m)
            j++;
        if (m && j == n)
            masks[n++] = m;
    }
    for (size_t k = 0; k < fdb_count(db); k++)
        if (!first_line[k])
            masks[n++] = UINT64_C(1) << k;
    if (blank)
        masks[n++] = 0; /* the rows megasim has no rate for, last */
    if (n > cap)
        return ms_errf(err, MS_EINVAL, "%s: %zu groups to compare, at most %zu", fpub_path(p), n,
                       cap);
    for (size_t j = 0; j < n; j++) {
        fpub_group *o = &g[j];
        *o = (fpub_group){
            .published = NAN, .predicted = masks[j] ? 0 : NAN, .modelled = masks[j] != 0};
        if (!masks[j])
            snprintf(o->components, sizeof o->components, "not modelled");
        for (size_t k = 0; k < fdb_count(db); k++)
            if (masks[j] >> k & 1) {
                size_t used = strlen(o->components);
                snprintf(o->components + used, sizeof o->components - used, "%s%s",
                         used ? " + " : "", fdb_at(db, k)->component);
                o->predicted += predicted_by_kind[k];
            }
        for (size_t i = 0; i < p->n; i++)
            if (rm[i] == masks[j]) {
                o->published = (isnan(o->published) ? 0 : o->published) + p->rows[i].count;
                append(o->categories, sizeof o->categories, ", ", p->rows[i].category,
                       p->rows[i].count);
            }
    }
    *ng = n;
    return MS_OK;
}
