/* report: see report.h. */
#include "report/report.h"

#include <csv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"

typedef enum { RI_VALUE, RI_BEGIN, RI_END, RI_TABLE, RI_ROW, RI_TABLE_END } ri_kind;
typedef enum { RV_NUM, RV_INT, RV_STR, RV_BOOL, RV_STRS } rv_kind;

typedef struct ritem {
    ri_kind kind;
    rv_kind vkind;
    char *key, *label, *unit, *str; /* owned; NULL where not given */
    double num;
    int64_t i;
    int hidden; /* RI_BEGIN: left out of the text */
} ritem;

struct report {
    ritem *items;
    size_t n, cap;
    char *version;
    int failed;
};

report *report_new(void)
{
    return calloc(1, sizeof(report));
}

void report_free(report *r)
{
    if (!r)
        return;
    for (size_t k = 0; k < r->n; k++) {
        free(r->items[k].key);
        free(r->items[k].label);
        free(r->items[k].unit);
        free(r->items[k].str);
    }
    free(r->items);
    free(r->version);
    free(r);
}

int report_failed(const report *r)
{
    return r->failed;
}

static char *dup(report *r, const char *s)
{
    if (!s)
        return NULL;
    char *d = malloc(strlen(s) + 1);
    if (!d)
        r->failed = 1;
    else
        strcpy(d, s);
    return d;
}

/* Appends an item with copies of its strings; NULL when memory ran out. */
static ritem *add(report *r, ri_kind kind, const char *key, const char *label, const char *unit)
{
    if (r->failed)
        return NULL;
    ritem *grown = vec_grow(r->items, &r->cap, r->n + 1, 32, sizeof *grown);
    if (!grown) {
        r->failed = 1;
        return NULL;
    }
    r->items = grown;
    ritem *it = &r->items[r->n++];
    *it = (ritem){
        .kind = kind, .key = dup(r, key), .label = dup(r, label), .unit = dup(r, unit ? unit : "")};
    return r->failed ? NULL : it;
}

double report_find_num(const report *r, const char *key)
{
    int depth = 0;
    for (size_t k = 0; k < r->n; k++) {
        const ritem *it = &r->items[k];
        depth += it->kind == RI_TABLE ? 1 : it->kind == RI_TABLE_END ? -1 : 0;
        if (depth == 0 && it->kind == RI_VALUE && it->key && strcmp(it->key, key) == 0)
            return it->vkind == RV_NUM ? it->num : it->vkind == RV_INT ? (double)it->i : NAN;
    }
    return NAN;
}

void report_append(report *dst, const report *src)
{
    for (size_t k = 0; k < src->n && !dst->failed; k++) {
        const ritem *s = &src->items[k];
        ritem *it = add(dst, s->kind, s->key, s->label, s->unit);
        if (!it)
            return;
        it->vkind = s->vkind;
        it->num = s->num;
        it->i = s->i;
        it->hidden = s->hidden;
        if (s->str && !(it->str = dup(dst, s->str)))
            return;
    }
}

void report_version(report *r, const char *version)
{
    free(r->version);
    r->version = dup(r, version);
}

void report_begin(report *r, const char *key, const char *title)
{
    add(r, RI_BEGIN, key, title, NULL);
}

void report_begin_hidden(report *r, const char *key)
{
    ritem *it = add(r, RI_BEGIN, key, NULL, NULL);
    if (it)
        it->hidden = 1;
}

void report_end(report *r)
{
    add(r, RI_END, NULL, NULL, NULL);
}

void report_num(report *r, const char *key, const char *label, double v, const char *unit)
{
    ritem *it = add(r, RI_VALUE, key, label, unit);
    if (it) {
        it->vkind = RV_NUM;
        it->num = v;
    }
}

void report_int(report *r, const char *key, const char *label, int64_t v, const char *unit)
{
    ritem *it = add(r, RI_VALUE, key, label, unit);
    if (it) {
        it->vkind = RV_INT;
        it->i = v;
    }
}

void report_str(report *r, const char *key, const char *label, const char *s)
{
    ritem *it = add(r, RI_VALUE, key, label, NULL);
    if (it) {
        it->vkind = RV_STR;
        it->str = dup(r, s);
    }
}

void report_bool(report *r, const char *key, const char *label, int v)
{
    ritem *it = add(r, RI_VALUE, key, label, NULL);
    if (it) {
        it->vkind = RV_BOOL;
        it->i = v != 0;
    }
}

void report_strs(report *r, const char *key, const char *label, const char *const *s, size_t n)
{
    ritem *it = add(r, RI_VALUE, key, label, NULL);
    if (!it)
        return;
    it->vkind = RV_STRS;
    it->i = (int64_t)n;
    size_t len = 1;
    for (size_t k = 0; k < n; k++)
        len += strlen(s[k]) + 1;
    if (!(it->str = malloc(len))) {
        r->failed = 1;
        return;
    }
    it->str[0] = '\0';
    for (size_t k = 0; k < n; k++) /* held '\n'-separated */
        strcat(strcat(it->str, k ? "\n" : ""), s[k]);
}

void report_strs_split(report *r, const char *key, const char *label, const char *list)
{
    ritem *it = add(r, RI_VALUE, key, label, NULL);
    if (!it)
        return;
    it->vkind = RV_STRS;
    it->i = 0;
    if (!(it->str = malloc(strlen(list) + 1))) {
        r->failed = 1;
        return;
    }
    char *o = it->str;
    *o = '\0';
    for (const char *p = list; *p;) {
        p += strspn(p, " ");
        size_t len = strcspn(p, ";");
        if (len > 0) { /* held '\n'-separated, as report_strs holds them */
            if (it->i++ > 0)
                *o++ = '\n';
            memcpy(o, p, len);
            o += len;
            *o = '\0';
        }
        p += len + (p[len] == ';');
    }
}

/* s's k-th item of a list held '\n'-separated, copied into buf. */
static const char *strs_item(const char *s, int64_t k, char *buf, size_t cap)
{
    for (int64_t i = 0; i < k && s; i++) {
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    snprintf(buf, cap, "%.*s", s ? (int)strcspn(s, "\n") : 0, s ? s : "");
    return buf;
}

/* The list joined by sep into buf. */
static void strs_join(const ritem *it, const char *sep, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int64_t k = 0; k < it->i && used < cap; k++) {
        char item[256];
        int w = snprintf(buf + used, cap - used, "%s%s", k ? sep : "",
                         strs_item(it->str, k, item, sizeof item));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

void report_table(report *r, const char *key, const char *title)
{
    add(r, RI_TABLE, key, title, NULL);
}

void report_row(report *r)
{
    add(r, RI_ROW, NULL, NULL, NULL);
}

void report_table_end(report *r)
{
    add(r, RI_TABLE_END, NULL, NULL, NULL);
}

int report_has(const report *r, const char *key)
{
    for (size_t k = 0; k < r->n; k++)
        if (r->items[k].kind == RI_VALUE && r->items[k].key && strcmp(r->items[k].key, key) == 0)
            return 1;
    return 0;
}

/* ---- formatting a value with its unit ---- */

/* v with a decimal SI prefix and 4 significant digits: "989.4 T" + unit. */
static void si(double v, const char *unit, char *buf, size_t cap)
{
    static const char *const up[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const down[] = {"", "m", "u", "n", "p"};
    double a = fabs(v);
    int e = 0;
    for (; a >= 999.95 && e < 8; e++)
        a /= 1000;
    for (; a > 0 && a < 0.99995 && e > -4; e--)
        a *= 1000;
    /* A word for a unit takes a space after its prefix: "14.8 T tokens". */
    int word = (strlen(unit) >= 3 && unit[0] >= 'a' && unit[0] <= 'z') || strchr(unit, '-');
    const char *pre = e >= 0 ? up[e] : down[-e];
    snprintf(buf, cap, "%.4g %s%s%s", v < 0 ? -a : a, pre, word && pre[0] ? " " : "", unit);
}

/* 1234567 -> "1,234,567" (|v| < 1e15, whole). */
static void grouped(double v, char *buf, size_t cap)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t n = strlen(digits), o = 0;
    if (v < 0 && o + 1 < cap)
        buf[o++] = '-';
    for (size_t k = 0; k < n && o + 2 < cap; k++) {
        if (k && (n - k) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[k];
    }
    buf[o] = '\0';
}

static void duration(double s, char *buf, size_t cap)
{
    double a = fabs(s);
    if (a < 1 && a > 0)
        si(s, "s", buf, cap);
    else if (a < 120)
        snprintf(buf, cap, "%.4g s", s);
    else if (a < 2 * 3600)
        snprintf(buf, cap, "%.4g min", s / 60);
    else if (a < 2 * 86400)
        snprintf(buf, cap, "%.4g h", s / 3600);
    else
        snprintf(buf, cap, "%.4g days", s / 86400);
}

static void binary_bytes(double v, char *buf, size_t cap)
{
    static const char *const pre[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double a = fabs(v);
    int e = 0;
    for (; a >= 1023.95 && e < 6; e++)
        a /= 1024;
    snprintf(buf, cap, "%.4g %s", v < 0 ? -a : a, pre[e]);
}

static void money(double v, char *buf, size_t cap)
{
    double a = fabs(v);
    const char *sign = v < 0 ? "-" : "";
    if (a >= 1e12)
        snprintf(buf, cap, "%s$%.3g trillion", sign, a / 1e12);
    else if (a >= 1e9)
        snprintf(buf, cap, "%s$%.3g billion", sign, a / 1e9);
    else if (a >= 1e6)
        snprintf(buf, cap, "%s$%.3g million", sign, a / 1e6);
    else if (a >= 1000) {
        char g[32];
        grouped(a, g, sizeof g);
        snprintf(buf, cap, "%s$%s", sign, g);
    } else if (a >= 1 || a == 0) {
        snprintf(buf, cap, "%s$%.2f", sign, a);
    } else { /* cents and less: three significant digits, not "$0.00" */
        snprintf(buf, cap, "%s$%.3g", sign, a);
    }
}

const char *report_format(double v, const char *unit, char *buf, size_t cap)
{
    unit = unit ? unit : "";
    if (isnan(v))
        snprintf(buf, cap, "-");
    else if (isinf(v))
        snprintf(buf, cap, "%sinf", v < 0 ? "-" : "");
    else if (strcmp(unit, "s") == 0)
        duration(v, buf, cap);
    else if (strcmp(unit, "B") == 0)
        binary_bytes(v, buf, cap);
    else if (strcmp(unit, "USD") == 0)
        money(v, buf, cap);
    else if (strcmp(unit, "J") == 0) /* energy reads best in watt-hours */
        si(v / 3600, "Wh", buf, cap);
    else if (strcmp(unit, "%") == 0)
        snprintf(buf, cap, "%.3g%%", 100 * v);
    else if (strcmp(unit, "days") == 0 && fabs(v) < 1) /* not "246 m days" */
        snprintf(buf, cap, "%.3g days", v);
    else if (strcmp(unit, "plain") == 0) /* a year, an id: digits as they are */
        snprintf(buf, cap, "%.15g", v);
    else if (unit[0] == '\0' && fabs(v) < 1e15 && (v == floor(v) || fabs(v) >= 1e3))
        grouped(round(v), buf, cap); /* counts; a large figure needs no decimals */
    else if (unit[0] == '\0')
        snprintf(buf, cap, "%.4g", v);
    else
        si(v, unit, buf, cap);
    return buf;
}

/* ---- text ---- */

static void cell(const ritem *it, char *buf, size_t cap)
{
    switch (it->vkind) {
    case RV_NUM:
        report_format(it->num, it->unit, buf, cap);
        break;
    case RV_INT:
        report_format((double)it->i, it->unit, buf, cap);
        break;
    case RV_STR:
        snprintf(buf, cap, "%s", it->str ? it->str : "-");
        break;
    case RV_BOOL:
        snprintf(buf, cap, "%s", it->i ? "yes" : "no");
        break;
    case RV_STRS:
        strs_join(it, ", ", buf, cap);
        if (!buf[0])
            snprintf(buf, cap, "-");
        break;
    }
}

static const char *label_of(const ritem *it)
{
    return it->label ? it->label : it->key ? it->key : "";
}

/* The index after the END (or TABLE_END) that closes the group or table
 * opened at k. */
static size_t skip(const report *r, size_t k)
{
    int depth = 0;
    for (; k < r->n; k++) {
        ri_kind kd = r->items[k].kind;
        depth += kd == RI_BEGIN || kd == RI_TABLE;
        depth -= kd == RI_END || kd == RI_TABLE_END;
        if (depth == 0)
            return k + 1;
    }
    return r->n;
}

#define MAX_COLS  48
#define CELL_MAX  256  /* a table cell as text, at most */
#define VALUE_MAX 4096 /* a value as text, at most (a source, a list) */

/* The next item of a table's own level after q: a nested table or group
 * is stepped over whole. */
static size_t next_own(const report *r, size_t q)
{
    ri_kind kd = r->items[q].kind;
    return kd == RI_TABLE || kd == RI_BEGIN ? skip(r, q) : q + 1;
}

/* A table from k (its RI_TABLE) as aligned columns; returns the index after
 * it. Columns are the keys of the rows' own values in the order rows first
 * give them; a table inside a row is drawn under that row, indented. */
static size_t text_table(const report *r, size_t k, int indent, FILE *f, int *printed)
{
    size_t end = skip(r, k) - 1; /* its RI_TABLE_END */
    const ritem *cols[MAX_COLS];
    size_t ncols = 0, width[MAX_COLS];
    for (size_t q = k + 1; q < end; q = next_own(r, q)) {
        const ritem *it = &r->items[q];
        if (it->kind != RI_VALUE)
            continue;
        size_t c = 0;
        while (c < ncols && strcmp(cols[c]->key, it->key) != 0)
            c++;
        if (c == ncols && ncols < MAX_COLS) {
            cols[ncols] = it;
            width[ncols++] = strlen(label_of(it));
        }
        if (c < ncols) {
            char b[CELL_MAX];
            cell(it, b, sizeof b);
            if (strlen(b) > width[c])
                width[c] = strlen(b);
        }
    }
    if (r->items[k].label) /* a blank line before a heading, but not at the top */
        fprintf(f, "%s%*s%s\n", *printed ? "\n" : "", indent, "", r->items[k].label);
    *printed = 1;
    /* Numbers right-aligned under a right-aligned heading, text left. */
    fprintf(f, "%*s", indent, "");
    for (size_t c = 0; c < ncols; c++) {
        int num = cols[c]->vkind == RV_NUM || cols[c]->vkind == RV_INT, last = c + 1 == ncols;
        fprintf(f, num ? "%*s%s" : "%-*s%s", num || !last ? (int)width[c] : 0, label_of(cols[c]),
                last ? "" : "  ");
    }
    fprintf(f, "\n");
    for (size_t q = k + 1; q < end; q = next_own(r, q)) {
        if (r->items[q].kind != RI_ROW)
            continue;
        static char cells[MAX_COLS][CELL_MAX]; /* per row; rendering is single-threaded */
        memset(cells, 0, sizeof cells);
        int num[MAX_COLS] = {0};
        size_t v = q + 1;
        for (; v < end && r->items[v].kind != RI_ROW; v = next_own(r, v))
            for (size_t c = 0; c < ncols && r->items[v].kind == RI_VALUE; c++)
                if (strcmp(cols[c]->key, r->items[v].key) == 0) {
                    cell(&r->items[v], cells[c], sizeof cells[c]);
                    num[c] = r->items[v].vkind == RV_NUM || r->items[v].vkind == RV_INT;
                }
        fprintf(f, "%*s", indent, "");
        for (size_t c = 0; c < ncols; c++) {
            int last = c + 1 == ncols;
            fprintf(f, num[c] ? "%*s%s" : "%-*s%s", num[c] || !last ? (int)width[c] : 0,
                    cells[c][0] ? cells[c] : "-", last ? "" : "  ");
        }
        fprintf(f, "\n");
        for (size_t t = q + 1; t < v; t = next_own(r, t))
            if (r->items[t].kind == RI_TABLE)
                text_table(r, t, indent + 2, f, printed);
    }
    return end + 1;
}

/* The widest label of the values from k to end, those of untitled groups
 * among them included (they are drawn in the same column). */
static size_t label_width(const report *r, size_t k, size_t end)
{
    size_t width = 0;
    while (k < end) {
        const ritem *it = &r->items[k];
        if (it->kind == RI_VALUE && strlen(label_of(it)) > width)
            width = strlen(label_of(it));
        if (it->kind == RI_BEGIN && !it->label && !it->hidden) {
            size_t w = label_width(r, k + 1, skip(r, k) - 1);
            width = w > width ? w : width;
        }
        k = it->kind == RI_VALUE ? k + 1 : skip(r, k);
    }
    return width;
}

/* The values, groups and tables from k to end at indent, labels padded to
 * width (0: their own widest). */
static void text_items(const report *r, size_t k, size_t end, int indent, size_t width, FILE *f,
                       int *printed)
{
    if (!width)
        width = label_width(r, k, end);
    while (k < end) {
        const ritem *it = &r->items[k];
        if (it->kind == RI_VALUE) {
            char b[VALUE_MAX];
            cell(it, b, sizeof b);
            fprintf(f, "%*s%-*s  %s\n", indent, "", (int)width, label_of(it), b);
            *printed = 1;
            k++;
        } else if (it->kind == RI_TABLE) {
            k = text_table(r, k, indent, f, printed);
        } else if (it->kind == RI_BEGIN) {
            size_t close = skip(r, k);
            if (!it->hidden && it->label) { /* a blank line before a heading, not at the top */
                fprintf(f, "%s%*s%s\n", *printed ? "\n" : "", indent, "", it->label);
                *printed = 1;
                text_items(r, k + 1, close - 1, indent + 2, 0, f, printed);
            } else if (!it->hidden) {
                text_items(r, k + 1, close - 1, indent, width, f, printed);
            }
            k = close;
        } else {
            k++;
        }
    }
}

int report_write_text(const report *r, FILE *f, ms_err *err)
{
    if (r->failed)
        return ms_errf(err, MS_ENOMEM, "out of memory while building the report");
    int printed = 0;
    text_items(r, 0, r->n, 0, 0, f, &printed);
    if (ferror(f))
        return ms_errf(err, MS_EIO, "write error on the report");
    return MS_OK;
}

/* ---- HTML and Markdown ---- */

/* One walk draws both documents; a format is this row of hooks. */
typedef struct doc_ops {
    void (*section)(FILE *f, int level, const char *title); /* a titled group opens */
    void (*section_end)(FILE *f);
    void (*kv_begin)(FILE *f); /* before a group's first value */
    void (*kv_row)(FILE *f, const char *label, const char *value, int num);
    void (*kv_end)(FILE *f);
    void (*table_begin)(FILE *f, const char *title, const ritem *const *cols, size_t ncols);
    void (*cell)(FILE *f, const char *text, int num, size_t c, size_t ncols);
    void (*table_end)(FILE *f);
} doc_ops;

#define DOC_LEVEL_MAX 6 /* <h6>, "######": the deepest heading either has */

static int is_num(const ritem *it)
{
    return it->vkind == RV_NUM || it->vkind == RV_INT;
}

/* The values from k to end, those of shown untitled groups among them
 * (text draws them in the enclosing column), as one kv table opened at the
 * first; tables and titled groups are stepped over, for doc_blocks. */
static void doc_values(const report *r, size_t k, size_t end, const doc_ops *d, FILE *f, int *open)
{
    while (k < end) {
        const ritem *it = &r->items[k];
        if (it->kind == RI_VALUE) {
            char b[VALUE_MAX];
            cell(it, b, sizeof b);
            if (!*open)
                d->kv_begin(f);
            *open = 1;
            d->kv_row(f, label_of(it), b, is_num(it));
            k++;
        } else if (it->kind == RI_BEGIN && !it->label && !it->hidden) {
            doc_values(r, k + 1, skip(r, k) - 1, d, f, open);
            k = skip(r, k);
        } else {
            k = next_own(r, k);
        }
    }
}

/* A table from k (its RI_TABLE) as a grid with the columns text_table
 * finds; a table inside a row follows the grid as a grid of its own, in
 * row order. Returns the index after it. */
static size_t doc_table(const report *r, size_t k, const doc_ops *d, FILE *f)
{
    size_t end = skip(r, k) - 1; /* its RI_TABLE_END */
    const ritem *cols[MAX_COLS];
    size_t ncols = 0;
    for (size_t q = k + 1; q < end; q = next_own(r, q)) {
        const ritem *it = &r->items[q];
        if (it->kind != RI_VALUE)
            continue;
        size_t c = 0;
        while (c < ncols && strcmp(cols[c]->key, it->key) != 0)
            c++;
        if (c == ncols && ncols < MAX_COLS)
            cols[ncols++] = it;
    }
    if (ncols > 0) { /* a table of nothing but inner tables has no grid of its own */
        d->table_begin(f, r->items[k].label, cols, ncols);
        for (size_t q = k + 1; q < end; q = next_own(r, q)) {
            if (r->items[q].kind != RI_ROW)
                continue;
            for (size_t c = 0; c < ncols; c++) {
                /* Scanning the row per column keeps no per-row buffer; as in
                 * text, the row's last value under the key wins. */
                const ritem *v = NULL;
                for (size_t t = q + 1; t < end && r->items[t].kind != RI_ROW; t = next_own(r, t))
                    if (r->items[t].kind == RI_VALUE && strcmp(cols[c]->key, r->items[t].key) == 0)
                        v = &r->items[t];
                char b[CELL_MAX] = "-";
                if (v)
                    cell(v, b, sizeof b);
                d->cell(f, b[0] ? b : "-", v && is_num(v), c, ncols);
            }
        }
        d->table_end(f);
    }
    for (size_t q = k + 1; q < end; q = next_own(r, q))
        if (r->items[q].kind == RI_TABLE)
            doc_table(r, q, d, f);
    return end + 1;
}

static void doc_group(const report *r, size_t k, size_t end, int level, const doc_ops *d, FILE *f);

/* The tables and titled groups from k to end, in order, those of shown
 * untitled groups among them; hidden groups are left out, as in text. */
static void doc_blocks(const report *r, size_t k, size_t end, int level, const doc_ops *d, FILE *f)
{
    while (k < end) {
        const ritem *it = &r->items[k];
        if (it->kind == RI_TABLE) {
            k = doc_table(r, k, d, f);
        } else if (it->kind == RI_BEGIN) {
            size_t close = skip(r, k);
            if (!it->hidden && it->label) {
                d->section(f, level, it->label);
                doc_group(r, k + 1, close - 1, level < DOC_LEVEL_MAX ? level + 1 : level, d, f);
                d->section_end(f);
            } else if (!it->hidden) {
                doc_blocks(r, k + 1, close - 1, level, d, f);
            }
            k = close;
        } else {
            k++;
        }
    }
}

/* A group's body: its values first, in one kv table, then its tables and
 * titled groups, whose headings are at level. */
static void doc_group(const report *r, size_t k, size_t end, int level, const doc_ops *d, FILE *f)
{
    int open = 0;
    doc_values(r, k, end, d, f, &open);
    if (open)
        d->kv_end(f);
    doc_blocks(r, k, end, level, d, f);
}

static int doc_write(const report *r, FILE *f, int level, const doc_ops *d, ms_err *err)
{
    if (r->failed)
        return ms_errf(err, MS_ENOMEM, "out of memory while building the report");
    level = level < 1 ? 1 : level > DOC_LEVEL_MAX ? DOC_LEVEL_MAX : level;
    doc_group(r, 0, r->n, level, d, f);
    if (ferror(f))
        return ms_errf(err, MS_EIO, "write error on the report");
    return MS_OK;
}

void report_html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static void html_section(FILE *f, int level, const char *title)
{
    fprintf(f, "<section>\n<h%d>", level);
    report_html_escape(f, title);
    fprintf(f, "</h%d>\n", level);
}

static void html_section_end(FILE *f)
{
    fputs("</section>\n", f);
}

static void html_kv_begin(FILE *f)
{
    fputs("<table class=\"kv\">\n", f);
}

static void html_kv_row(FILE *f, const char *label, const char *value, int num)
{
    fputs("<tr><th scope=\"row\">", f);
    report_html_escape(f, label);
    fputs(num ? "</th><td class=\"num\">" : "</th><td>", f);
    report_html_escape(f, value);
    fputs("</td></tr>\n", f);
}

static void html_kv_end(FILE *f)
{
    fputs("</table>\n", f);
}

static void html_table_begin(FILE *f, const char *title, const ritem *const *cols, size_t ncols)
{
    fputs("<table>\n", f);
    if (title) {
        fputs("<caption>", f);
        report_html_escape(f, title);
        fputs("</caption>\n", f);
    }
    fputs("<thead><tr>", f);
    for (size_t c = 0; c < ncols; c++) {
        fputs(is_num(cols[c]) ? "<th class=\"num\">" : "<th>", f);
        report_html_escape(f, label_of(cols[c]));
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
}

static void html_cell(FILE *f, const char *text, int num, size_t c, size_t ncols)
{
    fputs(c == 0 ? "<tr>" : "", f);
    fputs(num ? "<td class=\"num\">" : "<td>", f);
    report_html_escape(f, text);
    fputs(c + 1 == ncols ? "</td></tr>\n" : "</td>", f);
}

static void html_table_end(FILE *f)
{
    fputs("</tbody>\n</table>\n", f);
}

static const doc_ops html_ops = {
    .section = html_section,
    .section_end = html_section_end,
    .kv_begin = html_kv_begin,
    .kv_row = html_kv_row,
    .kv_end = html_kv_end,
    .table_begin = html_table_begin,
    .cell = html_cell,
    .table_end = html_table_end,
};

int report_write_html(const report *r, FILE *f, int level, ms_err *err)
{
    return doc_write(r, f, level, &html_ops, err);
}

/* s with '|' as "\|" (it would end a pipe-table cell) and a line break as a
 * blank (it would end the row); other Markdown syntax passes as it is. */
static void md_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

/* Every block ends with a blank line, which Markdown needs between blocks. */
static void md_section(FILE *f, int level, const char *title)
{
    fprintf(f, "%.*s ", level, "######");
    md_esc(f, title);
    fputs("\n\n", f);
}

static void md_nothing(FILE *f)
{
    (void)f;
}

static void md_kv_begin(FILE *f)
{
    fputs("| quantity | value |\n| --- | --- |\n", f);
}

static void md_kv_row(FILE *f, const char *label, const char *value, int num)
{
    (void)num; /* a column of mixed values stays left-aligned */
    fputs("| ", f);
    md_esc(f, label);
    fputs(" | ", f);
    md_esc(f, value);
    fputs(" |\n", f);
}

static void md_blank(FILE *f)
{
    fputc('\n', f);
}

static void md_table_begin(FILE *f, const char *title, const ritem *const *cols, size_t ncols)
{
    if (title) {
        fputs("**", f);
        md_esc(f, title);
        fputs("**\n\n", f);
    }
    for (size_t c = 0; c < ncols; c++) {
        fputs("| ", f);
        md_esc(f, label_of(cols[c]));
        fputs(" ", f);
    }
    fputs("|\n", f);
    for (size_t c = 0; c < ncols; c++) /* numbers right-aligned, as in text */
        fputs(is_num(cols[c]) ? "| ---: " : "| --- ", f);
    fputs("|\n", f);
}

static void md_cell(FILE *f, const char *text, int num, size_t c, size_t ncols)
{
    (void)num; /* the column's alignment is in its header */
    fputs("| ", f);
    md_esc(f, text);
    fputs(c + 1 == ncols ? " |\n" : " ", f);
}

static const doc_ops md_ops = {
    .section = md_section,
    .section_end = md_nothing,
    .kv_begin = md_kv_begin,
    .kv_row = md_kv_row,
    .kv_end = md_blank,
    .table_begin = md_table_begin,
    .cell = md_cell,
    .table_end = md_blank,
};

int report_write_markdown(const report *r, FILE *f, int level, ms_err *err)
{
    return doc_write(r, f, level, &md_ops, err);
}

/* ---- JSON ---- */

/* v in the fewest digits that read back as exactly v (cJSON's own
 * printing accepts a last-bit error, which breaks relations between
 * figures such as busbw = algbw x factor). */
static cJSON *exact_number(double v)
{
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

static cJSON *json_value(const ritem *it)
{
    switch (it->vkind) {
    case RV_NUM:
        return isfinite(it->num) ? cJSON_CreateNumber(it->num) : cJSON_CreateNull();
    case RV_INT:
        return cJSON_CreateNumber((double)it->i);
    case RV_STR:
        return it->str ? cJSON_CreateString(it->str) : cJSON_CreateNull();
    case RV_BOOL:
        return cJSON_CreateBool((int)it->i);
    case RV_STRS: {
        cJSON *a = cJSON_CreateArray();
        for (int64_t k = 0; a && k < it->i; k++) {
            char item[256];
            cJSON *s = cJSON_CreateString(strs_item(it->str, k, item, sizeof item));
            if (!s || !cJSON_AddItemToArray(a, s)) {
                cJSON_Delete(s);
                cJSON_Delete(a);
                return NULL;
            }
        }
        return a;
    }
    }
    return NULL;
}

cJSON *report_json(const report *r)
{
    if (r->failed)
        return NULL;
    cJSON *root = cJSON_CreateObject(), *stack[64];
    int top = 0, ok = root != NULL;
    stack[0] = root;
    if (ok && r->version)
        ok = cJSON_AddStringToObject(root, "megasim_version", r->version) != NULL;
    for (size_t k = 0; k < r->n && ok; k++) {
        const ritem *it = &r->items[k];
        cJSON *cur = stack[top], *made = NULL;
        switch (it->kind) {
        case RI_VALUE:
            made = json_value(it);
            ok = made && (cJSON_IsArray(cur) ? cJSON_AddItemToArray(cur, made)
                                             : cJSON_AddItemToObject(cur, it->key, made));
            break;
        case RI_BEGIN:
        case RI_TABLE:
            if (it->kind == RI_BEGIN && !it->key) {
                made = cur; /* its values go in the enclosing object */
            } else {
                made = it->kind == RI_TABLE ? cJSON_CreateArray() : cJSON_CreateObject();
                ok = made && cJSON_AddItemToObject(cur, it->key, made);
            }
            ok = ok && top + 1 < 64;
            if (ok)
                stack[++top] = made;
            break;
        case RI_ROW:
            if (cJSON_IsObject(cur) && top > 0 && cJSON_IsArray(stack[top - 1]))
                cur = stack[--top]; /* the previous row ends */
            made = cJSON_CreateObject();
            ok = made && cJSON_AddItemToArray(cur, made) && top + 1 < 64;
            if (ok)
                stack[++top] = made;
            break;
        case RI_TABLE_END:
            if (cJSON_IsObject(cur) && top > 0 && cJSON_IsArray(stack[top - 1]))
                top--;
            top -= top > 0;
            break;
        case RI_END:
            top -= top > 0;
            break;
        }
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int report_json_exact(cJSON *j)
{
    for (cJSON *it = j ? j->child : NULL, *next; it; it = next) {
        next = it->next;
        if (cJSON_IsNumber(it)) {
            cJSON *raw = exact_number(it->valuedouble);
            if (raw) { /* its key moves to the replacement */
                raw->string = it->string;
                raw->type |= it->type & cJSON_StringIsConst;
                it->string = NULL;
            }
            if (!raw || !cJSON_ReplaceItemViaPointer(j, it, raw)) {
                cJSON_Delete(raw);
                return MS_ENOMEM;
            }
        } else if (report_json_exact(it)) {
            return MS_ENOMEM;
        }
    }
    return MS_OK;
}

int report_write_json(const report *r, FILE *f, ms_err *err)
{
    cJSON *j = report_json(r);
    char *text = j && !report_json_exact(j) ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return ms_errf(err, MS_ENOMEM, "out of memory while writing JSON");
    fprintf(f, "%s\n", text);
    cJSON_free(text);
    if (ferror(f))
        return ms_errf(err, MS_EIO, "write error on the JSON report");
    return MS_OK;
}

/* ---- CSV ---- */

static void csv_cell(FILE *f, const ritem *it)
{
    char b[64];
    switch (it->vkind) {
    case RV_NUM:
        if (isfinite(it->num))
            fprintf(f, "%.15g", it->num);
        break;
    case RV_INT:
        fprintf(f, "%lld", (long long)it->i);
        break;
    case RV_STR:
        if (it->str)
            csv_fwrite(f, it->str, strlen(it->str));
        break;
    case RV_BOOL:
        snprintf(b, sizeof b, "%s", it->i ? "true" : "false");
        fputs(b, f);
        break;
    case RV_STRS: {
        char joined[1024];
        strs_join(it, ";", joined, sizeof joined);
        csv_fwrite(f, joined, strlen(joined));
        break;
    }
    }
}

int report_write_csv(const report *r, const char *table_key, FILE *f, ms_err *err)
{
    if (r->failed)
        return ms_errf(err, MS_ENOMEM, "out of memory while building the report");
    size_t k = 0;
    while (k < r->n && !(r->items[k].kind == RI_TABLE &&
                         (!table_key || (r->items[k].key && !strcmp(r->items[k].key, table_key)))))
        k++;
    if (k == r->n)
        return ms_errf(err, MS_EINVAL, "the result has no table '%s' to write as CSV",
                       table_key ? table_key : "(any)");
    size_t end = skip(r, k);
    const char *cols[MAX_COLS];
    size_t ncols = 0;
    for (size_t q = k + 1; q < end; q++) {
        const ritem *it = &r->items[q];
        if (it->kind != RI_VALUE)
            continue;
        size_t c = 0;
        while (c < ncols && strcmp(cols[c], it->key) != 0)
            c++;
        if (c == ncols && ncols < MAX_COLS)
            cols[ncols++] = it->key;
    }
    for (size_t c = 0; c < ncols; c++) {
        if (c)
            fputc(',', f);
        csv_fwrite(f, cols[c], strlen(cols[c]));
    }
    fputc('\n', f);
    for (size_t q = k + 1; q < end; q++) {
        if (r->items[q].kind != RI_ROW)
            continue;
        for (size_t c = 0; c < ncols; c++) {
            if (c)
                fputc(',', f);
            for (size_t v = q + 1; v < end && r->items[v].kind == RI_VALUE; v++)
                if (strcmp(cols[c], r->items[v].key) == 0) {
                    csv_cell(f, &r->items[v]);
                    break;
                }
        }
        fputc('\n', f);
    }
    if (ferror(f))
        return ms_errf(err, MS_EIO, "write error on the CSV");
    return MS_OK;
}
