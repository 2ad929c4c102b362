/* xrule: see xrule.h. */
#include "policy/xrule.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/num.h"
#include "core/vec.h"
#include "io/csvtab.h"

struct xrule_set {
    xrule_rule *rules;
    size_t n, cap;
};

static const char *const metric_names[XRULE_METRICS] = {
    "tpp",    "performance_density", "io_GBps", "scale_up_GBps", "hbm_bw_GBps",
    "hbm_GB", "memory_bw_density",
};

const char *xrule_metric_name(xrule_metric m)
{
    return metric_names[m];
}

const char *xrule_metric_list(void)
{
    return "tpp, performance_density, io_GBps, scale_up_GBps, hbm_bw_GBps, hbm_GB, "
           "memory_bw_density";
}

/* Bit length of an operation at p. TF32 is counted at its 32-bit storage
 * width; at half the BF16 rate it never sets a chip's TPP. */
static double bits(ms_prec p)
{
    switch (p) {
    case MS_FP64:
        return 64;
    case MS_FP32:
    case MS_TF32:
        return 32;
    case MS_BF16:
        return 16;
    case MS_FP8:
    case MS_INT8:
        return 8;
    case MS_FP4:
        return 4;
    default:
        return NAN;
    }
}

double xrule_tpp(const chip *c, ms_prec *at)
{
    double best = NAN;
    *at = MS_PREC_COUNT;
    for (int p = 0; p < MS_PREC_COUNT; p++) {
        double tops = chip_peak(c, (ms_prec)p) / 1e12;
        double tpp = tops * bits((ms_prec)p);
        if (isfinite(tpp) && !(tpp <= best)) {
            best = tpp;
            *at = (ms_prec)p;
        }
    }
    return best;
}

static xrule_range exact(double v)
{
    return isfinite(v) ? (xrule_range){v, v} : (xrule_range){0, INFINITY};
}

xrule_range xrule_metric_of(const chip *c, xrule_metric m)
{
    ms_prec at;
    switch (m) {
    case XRULE_TPP:
        return exact(xrule_tpp(c, &at));
    case XRULE_PD: {
        double tpp = xrule_tpp(c, &at);
        if (isfinite(tpp) && isfinite(c->die_area_mm2))
            return exact(tpp / c->die_area_mm2);
        return (xrule_range){0, INFINITY};
    }
    case XRULE_IO: {
        double up = c->scale_up_bw_Bps, host = c->host_io_bw_Bps;
        double lo = 2 * ((isfinite(up) ? up : 0) + (isfinite(host) ? host : 0)) / 1e9;
        return isfinite(up) && isfinite(host) ? exact(lo) : (xrule_range){lo, INFINITY};
    }
    case XRULE_SCALE_UP:
        return exact(2 * c->scale_up_bw_Bps / 1e9);
    case XRULE_HBM_BW:
        return exact(c->hbm_bw_Bps / 1e9);
    case XRULE_HBM_GB:
        return exact(c->hbm_bytes / 1e9);
    default:
        return (xrule_range){0, INFINITY};
    }
}

static const char *op_text(int op)
{
    return op == 'g' ? ">" : op == 'G' ? ">=" : op == 'l' ? "<" : "<=";
}

/* The op that holds when op does not. */
static int op_negated(int op)
{
    return op == 'g' ? 'L' : op == 'G' ? 'l' : op == 'l' ? 'G' : 'g';
}

static int holds(int op, double v, double t)
{
    return op == 'g' ? v > t : op == 'G' ? v >= t : op == 'l' ? v < t : v <= t;
}

xrule_tri xrule_cond_eval(const xrule_cond *k, const chip *c)
{
    xrule_range r = xrule_metric_of(c, k->metric);
    /* Every value in [lo, hi] holds, or none does; otherwise undecided. */
    int at_lo = holds(k->op, r.lo, k->threshold), at_hi = holds(k->op, r.hi, k->threshold);
    if (at_lo && at_hi)
        return XRULE_TRUE;
    if (!at_lo && !at_hi)
        return XRULE_FALSE;
    return XRULE_UNDECIDED;
}

static int ic_item(const xrule_clause *cl)
{
    return strcmp(cl->item, "ic") == 0;
}

xrule_tri xrule_clause_eval(const xrule_clause *cl, const chip *c)
{
    if (!ic_item(cl))
        return XRULE_FALSE;
    xrule_tri all = XRULE_TRUE;
    for (size_t i = 0; i < cl->ncond; i++) {
        xrule_tri t = xrule_cond_eval(&cl->cond[i], c);
        if (t == XRULE_FALSE)
            return XRULE_FALSE;
        if (t == XRULE_UNDECIDED)
            all = XRULE_UNDECIDED;
    }
    return all;
}

/* Appends printf-style text to buf of cap, keeping it terminated. */
static void add(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

static void say_cond(char *buf, size_t cap, const xrule_cond *k, const chip *c, int op)
{
    xrule_range r = xrule_metric_of(c, k->metric);
    const char *name = metric_names[k->metric];
    if (r.lo == r.hi)
        add(buf, cap, "%s %.6g %s %g", name, r.lo, op_text(op), k->threshold);
    else if (r.lo > 0)
        add(buf, cap, "%s unknown (at least %.6g) against %s %g", name, r.lo, op_text(k->op),
            k->threshold);
    else
        add(buf, cap, "%s unknown against %s %g", name, op_text(k->op), k->threshold);
}

static xrule_verdict check(const xrule_rule *r, const chip *c, int explain_area);

xrule_verdict xrule_check(const xrule_rule *r, const chip *c)
{
    return check(r, c, 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* When only the die area is missing, says for which areas the rule would
 * control the chip: the verdict is constant between the areas where the
 * density crosses one of the rule's thresholds. */
static void explain_die_area(const xrule_rule *r, const chip *c, char *why, size_t cap)
{
    ms_prec at;
    double tpp = xrule_tpp(c, &at), cuts[XRULE_MAX_CLAUSES * XRULE_MAX_CONDS + 2];
    size_t n = 0;
    if (!isfinite(tpp) || !isnan(c->die_area_mm2))
        return;
    for (size_t i = 0; i < r->nclause; i++)
        for (size_t k = 0; k < r->clause[i].ncond; k++)
            if (r->clause[i].cond[k].metric == XRULE_PD && r->clause[i].cond[k].threshold > 0)
                cuts[n++] = tpp / r->clause[i].cond[k].threshold;
    if (n == 0)
        return;
    qsort(cuts, n, sizeof cuts[0], cmp_double);
    chip probe = *c;
    char text[200] = "";
    double from = 0;
    int state = -2;
    for (size_t i = 0; i <= n; i++) {
        /* A point inside the segment (cuts[i-1], cuts[i]); past the last, beyond it. */
        double lo = i ? cuts[i - 1] : 0, hi = i < n ? cuts[i] : 2 * cuts[n - 1];
        probe.die_area_mm2 = i < n ? (lo + hi) / 2 : hi;
        xrule_verdict v = check(r, &probe, 0);
        if (v.controlled == XRULE_UNDECIDED)
            return; /* something else is missing too */
        if (v.controlled != state && state == XRULE_TRUE && from == 0)
            add(text, sizeof text, "%sup to %.0f mm2", text[0] ? ", " : "", lo);
        else if (v.controlled != state && state == XRULE_TRUE)
            add(text, sizeof text, "%s%.0f to %.0f mm2", text[0] ? ", " : "", from, lo);
        if (v.controlled != state)
            from = lo;
        state = v.controlled;
    }
    if (state == XRULE_TRUE)
        add(text, sizeof text, "%sabove %.0f mm2", text[0] ? ", " : "", from);
    if (text[0])
        add(why, cap, "; the database has no die area: controlled for an applicable die area %s",
            text);
    else
        add(why, cap, "; the database has no die area: not controlled whatever it is");
}

static xrule_verdict check(const xrule_rule *r, const chip *c, int explain_area)
{
    xrule_verdict v = {.controlled = XRULE_FALSE};
    for (size_t i = 0; i < r->nclause && !v.clause; i++) {
        const xrule_clause *cl = &r->clause[i];
        xrule_tri t = xrule_clause_eval(cl, c);
        if (t == XRULE_TRUE) {
            v.controlled = XRULE_TRUE;
            v.clause = cl;
        } else if (t == XRULE_UNDECIDED) {
            v.controlled = XRULE_UNDECIDED;
        }
    }
    if (v.clause) {
        add(v.why, sizeof v.why, "%s: ", v.clause->name);
        for (size_t k = 0; k < v.clause->ncond; k++) {
            add(v.why, sizeof v.why, "%s", k ? " and " : "");
            say_cond(v.why, sizeof v.why, &v.clause->cond[k], c, v.clause->cond[k].op);
        }
        return v;
    }
    for (size_t i = 0; i < r->nclause; i++) {
        const xrule_clause *cl = &r->clause[i];
        add(v.why, sizeof v.why, "%s%s: ", i ? "; " : "", cl->name);
        if (!ic_item(cl)) {
            add(v.why, sizeof v.why, "controls %s on its own, not a chip it is packaged with",
                strcmp(cl->item, "hbm") == 0 ? "HBM" : cl->item);
            continue;
        }
        /* The first condition that fails, else the first undecided one. */
        const xrule_cond *fail = NULL, *open = NULL;
        for (size_t k = 0; k < cl->ncond; k++) {
            xrule_tri t = xrule_cond_eval(&cl->cond[k], c);
            if (t == XRULE_FALSE && !fail)
                fail = &cl->cond[k];
            if (t == XRULE_UNDECIDED && !open)
                open = &cl->cond[k];
        }
        if (fail)
            say_cond(v.why, sizeof v.why, fail, c, op_negated(fail->op));
        else if (open)
            say_cond(v.why, sizeof v.why, open, c, open->op);
    }
    if (explain_area && v.controlled == XRULE_UNDECIDED)
        explain_die_area(r, c, v.why, sizeof v.why);
    return v;
}

/* Loading. */

enum { C_RULE, C_CLAUSE, C_ITEM, C_METRIC, C_OP, C_THRESHOLD, C_CITATION, C_COUNT };
static const char *const col_names[C_COUNT] = {"rule", "clause",    "item",    "metric",
                                               "op",   "threshold", "citation"};

static int parse_op(const char *s)
{
    return strcmp(s, ">") == 0    ? 'g'
           : strcmp(s, ">=") == 0 ? 'G'
           : strcmp(s, "<") == 0  ? 'l'
           : strcmp(s, "<=") == 0 ? 'L'
                                  : 0;
}

static int copy(char *dst, size_t cap, const char *src, const char *path, int line, const char *col,
                ms_err *err)
{
    if (!src[0])
        return ms_errf(err, MS_EINVAL, "%s:%d: column '%s': required, but blank", path, line, col);
    if (strlen(src) >= cap)
        return ms_errf(err, MS_EINVAL, "%s:%d: column '%s': longer than %zu characters", path, line,
                       col, cap - 1);
    snprintf(dst, cap, "%s", src);
    return MS_OK;
}

static int load_row(xrule_set *s, const csvtab *t, size_t r, const int map[C_COUNT], ms_err *err)
{
    const char *path = csvtab_path(t);
    int line = csvtab_row_line(t, r);
    if (csvtab_row_nfields(t, r) != csvtab_ncols(t))
        return ms_errf(err, MS_EPARSE, "%s:%d: row has %zu fields, the header has %zu", path, line,
                       csvtab_row_nfields(t, r), csvtab_ncols(t));
    const char *f[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        f[c] = csvtab_field(t, r, (size_t)map[c]);
    char rule[32], clause[32], item[8], citation[256];
    int rc;
    if ((rc = copy(rule, sizeof rule, f[C_RULE], path, line, "rule", err)) ||
        (rc = copy(clause, sizeof clause, f[C_CLAUSE], path, line, "clause", err)) ||
        (rc = copy(item, sizeof item, f[C_ITEM], path, line, "item", err)) ||
        (rc = copy(citation, sizeof citation, f[C_CITATION], path, line, "citation", err)))
        return rc;
    if (strcmp(item, "ic") != 0 && strcmp(item, "hbm") != 0)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'item': expected ic (an integrated circuit) or hbm (memory "
                       "sold on its own), got \"%s\"",
                       path, line, item);
    xrule_cond k = {0};
    int m = -1;
    for (int i = 0; i < XRULE_METRICS; i++)
        if (strcmp(f[C_METRIC], metric_names[i]) == 0)
            m = i;
    if (m < 0)
        return ms_errf(err, MS_EINVAL, "%s:%d: column 'metric': expected one of %s, got \"%s\"",
                       path, line, xrule_metric_list(), f[C_METRIC]);
    k.metric = (xrule_metric)m;
    if (!(k.op = parse_op(f[C_OP])))
        return ms_errf(err, MS_EINVAL, "%s:%d: column 'op': expected >=, >, < or <=, got \"%s\"",
                       path, line, f[C_OP]);
    char *end;
    k.threshold = num_strtod(f[C_THRESHOLD], &end);
    if (end == f[C_THRESHOLD] || *end || !isfinite(k.threshold) || k.threshold < 0)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'threshold': expected a number >= 0 in the metric's unit, "
                       "got \"%s\"",
                       path, line, f[C_THRESHOLD]);

    xrule_rule *ru = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->rules[i].name, rule) == 0)
            ru = &s->rules[i];
    if (!ru) {
        xrule_rule *grown = vec_grow(s->rules, &s->cap, s->n + 1, 4, sizeof *grown);
        if (!grown)
            return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
        s->rules = grown;
        ru = &s->rules[s->n++];
        *ru = (xrule_rule){0};
        snprintf(ru->name, sizeof ru->name, "%s", rule);
    }
    xrule_clause *cl = NULL;
    for (size_t i = 0; i < ru->nclause; i++)
        if (strcmp(ru->clause[i].name, clause) == 0)
            cl = &ru->clause[i];
    if (!cl) {
        if (ru->nclause == XRULE_MAX_CLAUSES)
            return ms_errf(err, MS_EINVAL, "%s:%d: rule '%s' has more than %d clauses", path, line,
                           rule, XRULE_MAX_CLAUSES);
        cl = &ru->clause[ru->nclause++];
        *cl = (xrule_clause){0};
        snprintf(cl->name, sizeof cl->name, "%s", clause);
        snprintf(cl->item, sizeof cl->item, "%s", item);
        snprintf(cl->citation, sizeof cl->citation, "%s", citation);
    } else if (strcmp(cl->item, item) != 0) {
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column 'item': clause %s of rule %s is on '%s' in an earlier row, "
                       "here '%s'",
                       path, line, clause, rule, cl->item, item);
    }
    if (cl->ncond == XRULE_MAX_CONDS)
        return ms_errf(err, MS_EINVAL, "%s:%d: clause %s of rule %s has more than %d conditions",
                       path, line, clause, rule, XRULE_MAX_CONDS);
    cl->cond[cl->ncond++] = k;
    return MS_OK;
}

int xrule_load(const char *path, xrule_set **out, ms_err *err)
{
    csvtab *t = NULL;
    xrule_set *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
    int rc = csvtab_read(path, &t, err);
    int map[C_COUNT];
    for (int c = 0; c < C_COUNT && !rc; c++)
        if ((map[c] = csvtab_find_col(t, col_names[c])) < 0)
            rc = ms_errf(err, MS_EPARSE, "%s:1: missing column '%s' in the header", path,
                         col_names[c]);
    for (size_t r = 0; !rc && r < csvtab_nrows(t); r++)
        rc = load_row(s, t, r, map, err);
    if (!rc && s->n == 0)
        rc = ms_errf(err, MS_EPARSE, "%s: no rules: the file has a header and no rows", path);
    csvtab_free(t);
    if (rc) {
        xrule_free(s);
        return rc;
    }
    *out = s;
    return MS_OK;
}

void xrule_free(xrule_set *s)
{
    if (!s)
        return;
    free(s->rules);
    free(s);
}

size_t xrule_count(const xrule_set *s)
{
    return s->n;
}

const xrule_rule *xrule_at(const xrule_set *s, size_t i)
{
    return i < s->n ? &s->rules[i] : NULL;
}

int xrule_find(const xrule_set *s, const char *name, const xrule_rule **out, ms_err *err)
{
    char names[256] = "";
    for (size_t i = 0; i < s->n; i++) {
        if (strcasecmp(s->rules[i].name, name) == 0) {
            *out = &s->rules[i];
            return MS_OK;
        }
        add(names, sizeof names, "%s%s", i ? ", " : "", s->rules[i].name);
    }
    *out = NULL;
    return ms_errf(err, MS_ENOTFOUND, "unknown rule '%s'; the rules file has: %s", name, names);
}
