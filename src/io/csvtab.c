/* csvtab: see csvtab.h. */
#include "io/csvtab.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "io/rfile.h"

typedef struct row {
    char **fields;
    size_t nfields, cap;
    int line;
} row;

struct csvtab {
    char *path;
    row *rows; /* rows[0] is the header */
    size_t nrows, cap;
};

/* Parser state shared with libcsv's callbacks. */
typedef struct reader {
    csvtab *t;
    row cur;
    int line; /* line being fed to the parser */
    int oom;
} reader;

static void on_field(void *data, size_t len, void *ctx)
{
    reader *r = ctx;
    if (r->oom)
        return;
    if (r->cur.nfields == 0) {
        /* The field ended on this line; a quoted one may have begun lines
         * before, and every line break it spans is in its text. */
        int breaks = 0;
        for (size_t i = 0; i < len; i++)
            breaks += ((const char *)data)[i] == '\n';
        r->cur.line = r->line - breaks;
    }
    char *s = malloc(len + 1);
    char **fields =
        s ? vec_grow(r->cur.fields, &r->cur.cap, r->cur.nfields + 1, 16, sizeof *fields) : NULL;
    if (!fields) {
        free(s);
        r->oom = 1;
        return;
    }
    r->cur.fields = fields;
    if (len)
        memcpy(s, data, len);
    s[len] = '\0';
    r->cur.fields[r->cur.nfields++] = s;
}

static void free_row(row *w)
{
    for (size_t i = 0; i < w->nfields; i++)
        free(w->fields[i]);
    free(w->fields);
    *w = (row){0};
}

static void on_row(int term, void *ctx)
{
    (void)term;
    reader *r = ctx;
    if (r->oom)
        return;
    if (r->cur.nfields == 0) /* libcsv reports nothing for blank lines, but be safe */
        return;
    csvtab *t = r->t;
    row *rows = vec_grow(t->rows, &t->cap, t->nrows + 1, 16, sizeof *rows);
    if (!rows) {
        free_row(&r->cur);
        r->oom = 1;
        return;
    }
    t->rows = rows;
    t->rows[t->nrows++] = r->cur;
    r->cur = (row){0};
}

/* Every row as wide as the header (a field too many is a shifted row or
 * a stray comma, not data to drop), and the header's names non-empty and
 * each used once. */
static int check_shape(const csvtab *t, ms_err *err)
{
    const row *h = &t->rows[0];
    for (size_t c = 0; c < h->nfields; c++) {
        if (!h->fields[c][0])
            return ms_errf(err, MS_EPARSE, "%s:%d: header column %zu has no name", t->path, h->line,
                           c + 1);
        for (size_t d = 0; d < c; d++)
            if (strcmp(h->fields[c], h->fields[d]) == 0)
                return ms_errf(err, MS_EPARSE, "%s:%d: column '%s' appears twice", t->path, h->line,
                               h->fields[c]);
    }
    for (size_t i = 1; i < t->nrows; i++)
        if (t->rows[i].nfields > h->nfields)
            return ms_errf(err, MS_EPARSE, "%s:%d: row '%s' has %zu fields, the header has %zu",
                           t->path, t->rows[i].line, t->rows[i].fields[0], t->rows[i].nfields,
                           h->nfields);
    return MS_OK;
}

int csvtab_read(const char *path, csvtab **out, ms_err *err)
{
    int rc = MS_OK;
    char *text = NULL;
    size_t len = 0;
    struct csv_parser p;
    int parser_ready = 0;
    reader r = {0};

    *out = NULL;
    r.t = calloc(1, sizeof *r.t);
    if (!r.t || !(r.t->path = strdup(path))) {
        rc = ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (!(text = rfile_slurp(path, NULL, &len, err))) {
        rc = err ? err->code : MS_EIO;
        goto out;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        rc = ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    parser_ready = 1;
    /* Fed line by line so each record knows the line it started on. */
    for (size_t at = 0; at < len && !r.oom;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) + 1 : len - at;
        r.line++;
        if (csv_parse(&p, text + at, n, on_field, on_row, &r) != n) {
            rc = ms_errf(err, MS_EPARSE, "%s:%d: malformed CSV: %s", path, r.line,
                         csv_strerror(csv_error(&p)));
            goto out;
        }
        at += n;
    }
    if (!r.oom && csv_fini(&p, on_field, on_row, &r) != 0) {
        rc = ms_errf(err, MS_EPARSE, "%s:%d: malformed CSV: %s", path, r.line,
                     csv_strerror(csv_error(&p)));
        goto out;
    }
    if (r.oom) {
        rc = ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (r.t->nrows == 0) {
        rc = ms_errf(err, MS_EPARSE, "%s: empty file: expected a header row", path);
        goto out;
    }
    if ((rc = check_shape(r.t, err)))
        goto out;
    *out = r.t;
    r.t = NULL;
out:
    if (parser_ready)
        csv_free(&p);
    free_row(&r.cur);
    free(text);
    csvtab_free(r.t);
    return rc;
}

void csvtab_free(csvtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows; i++)
        free_row(&t->rows[i]);
    free(t->rows);
    free(t->path);
    free(t);
}

const char *csvtab_path(const csvtab *t)
{
    return t->path;
}
size_t csvtab_ncols(const csvtab *t)
{
    return t->rows[0].nfields;
}

const char *csvtab_colname(const csvtab *t, size_t col)
{
    return col < t->rows[0].nfields ? t->rows[0].fields[col] : NULL;
}

int csvtab_find_col(const csvtab *t, const char *name)
{
    for (size_t i = 0; i < t->rows[0].nfields; i++)
        if (strcmp(t->rows[0].fields[i], name) == 0)
            return (int)i;
    return -1;
}

int csvtab_map_cols(const csvtab *t, const char *const *cols, size_t n, size_t *map,
                    const char *hint, ms_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int c = csvtab_find_col(t, cols[i]);
        if (c < 0)
            return ms_errf(err, MS_EPARSE, "%s:1: missing column '%s' in the header; %s", t->path,
                           cols[i], hint);
        map[i] = (size_t)c;
    }
    for (size_t c = 0; c < csvtab_ncols(t); c++) {
        size_t i = 0;
        while (i < n && strcmp(cols[i], csvtab_colname(t, c)) != 0)
            i++;
        if (i == n)
            return ms_errf(err, MS_EPARSE, "%s:1: unknown column '%s' (field %zu); %s", t->path,
                           csvtab_colname(t, c), c + 1, hint);
    }
    return MS_OK;
}

size_t csvtab_nrows(const csvtab *t)
{
    return t->nrows - 1;
}
size_t csvtab_row_nfields(const csvtab *t, size_t row)
{
    return t->rows[row + 1].nfields;
}
int csvtab_row_line(const csvtab *t, size_t row)
{
    return t->rows[row + 1].line;
}

const char *csvtab_field(const csvtab *t, size_t row, size_t col)
{
    const struct row *w = &t->rows[row + 1];
    return col < w->nfields ? w->fields[col] : NULL;
}

/* libcsv trims spaces and tabs from both ends of an unquoted field. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

void csvtab_put_field(FILE *f, const char *text)
{
    size_t len = strlen(text);
    int blank_end = len > 0 && (is_blank(text[0]) || is_blank(text[len - 1]));
    if (!blank_end && !strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', f);
        fputc(*text, f);
    }
    fputc('"', f);
}
