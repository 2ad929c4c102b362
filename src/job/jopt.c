/* jopt: see jopt.h. */
#include "job/jopt.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"

/* The field of o in job. */
#define FIELD(job, o, T) ((T *)((char *)(job) + (o)->off))

/* name with '_' read as '-': scenario keys and option names alike. */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '_' || *a == '-') && (*b == '_' || *b == '-')))
            return 0;
    return *a == *b;
}

const jopt *jopt_find(const jopt_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (same_name(t->rows[i].name, name))
            return &t->rows[i];
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *cur);
    }
    return prev[lb];
}

const char *jopt_suggest(const jopt_table *t, const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < t->n; i++) {
        size_t d = edit_distance(t->rows[i].name, name);
        if (d < best_d) {
            best = t->rows[i].name;
            best_d = d;
        }
    }
    return best;
}

/* "1GiB", "64MB", "1e9": bytes, > 0. */
static int parse_bytes(const char *text, double *out)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KB", 1e3},
                 {"MB", 1e6},
                 {"GB", 1e9},
                 {"TB", 1e12},
                 {"KiB", 1024.0},
                 {"MiB", 1048576.0},
                 {"GiB", 1073741824.0},
                 {"TiB", 1099511627776.0}};
    char *end;
    errno = 0;
    double v = num_strtod(text, &end);
    if (end == text || errno || !isfinite(v))
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            *out = v * units[i].scale;
            return *out > 0 ? 0 : -1;
        }
    return -1;
}

/* The index of word in the '|'-separated choices, or -1. */
static int choice_index(const char *choices, const char *word)
{
    int k = 0;
    for (const char *p = choices; p && *p; k++) {
        size_t len = strcspn(p, "|");
        if (strlen(word) == len && strncmp(p, word, len) == 0)
            return k;
        p += len + (p[len] == '|');
    }
    return -1;
}

/* "2 to 1e+06", ">= 2", "<= 1": the range of o, for messages and help. */
static void range_text(const jopt *o, char *buf, size_t cap)
{
    if (!isnan(o->min) && !isnan(o->max))
        snprintf(buf, cap, "from %g to %g", o->min, o->max);
    else if (!isnan(o->min))
        snprintf(buf, cap, ">= %g", o->min);
    else if (!isnan(o->max))
        snprintf(buf, cap, "<= %g", o->max);
    else
        buf[0] = '\0';
}

static int in_range(const jopt *o, double v)
{
    return (isnan(o->min) || v >= o->min) && (isnan(o->max) || v <= o->max);
}

/* How messages name o: "--global-batch" on the command line, "FILE: field
 * 'global_batch'" for a scenario file's field (file not NULL). */
static const char *shown_name(const jopt *o, const char *file, char *buf, size_t cap)
{
    if (!file) {
        snprintf(buf, cap, "--%s", o->name);
        return buf;
    }
    int n = snprintf(buf, cap, "%s: field '", file);
    for (const char *p = o->name; *p && n > 0 && (size_t)n + 2 < cap; p++)
        buf[n++] = *p == '-' ? '_' : *p;
    if (n > 0 && (size_t)n + 2 < cap)
        buf[n++] = '\'', buf[n] = '\0';
    return buf;
}

/* A bad value is bad usage on the command line, bad data in a file. */
static int from_code(const char *file)
{
    return file ? MS_EINVAL : MS_EUSAGE;
}

static int bad_value(const jopt *o, const char *value, const char *what, const char *file,
                     ms_err *err)
{
    char range[64], name[300];
    range_text(o, range, sizeof range);
    shown_name(o, file, name, sizeof name);
    if (file)
        return ms_errf(err, MS_EINVAL, "%s: expected %s%s%s, got %s", name, what,
                       range[0] ? " " : "", range, value);
    return ms_errf(err, MS_EUSAGE, "%s '%s': expected %s%s%s", name, value, what,
                   range[0] ? " " : "", range);
}

/* Stores value (a flag's NULL) in o's field. */
static int store(const jopt *o, void *job, const char *value, const char *file, ms_err *err)
{
    char *end, name[300];
    shown_name(o, file, name, sizeof name);
    switch (o->type) {
    case JOPT_FLAG:
        *FIELD(job, o, int) = 1;
        return MS_OK;
    case JOPT_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno || !in_range(o, (double)v))
            return bad_value(o, value, "a whole number", file, err);
        *FIELD(job, o, int64_t) = v;
        return MS_OK;
    }
    case JOPT_NUM:
    case JOPT_POS: {
        errno = 0;
        double v = num_strtod(value, &end);
        if (o->type == JOPT_POS && !(v > 0))
            return bad_value(o, value, "a number > 0", file, err);
        if (end == value || *end || errno || !isfinite(v) || !in_range(o, v))
            return bad_value(o, value, "a number", file, err);
        *FIELD(job, o, double) = v;
        return MS_OK;
    }
    case JOPT_BYTES: {
        double v;
        if (parse_bytes(value, &v) || !in_range(o, v))
            return bad_value(o, value, "a size such as 1GiB, 64MB or 1e9 (bytes)", file, err);
        *FIELD(job, o, double) = v;
        return MS_OK;
    }
    case JOPT_STR:
        if (!value[0])
            return ms_errf(err, from_code(file), "%s: expected a value, got an empty one", name);
        *FIELD(job, o, const char *) = value;
        return MS_OK;
    case JOPT_CHOICE: {
        int k = choice_index(o->choices, value);
        if (k < 0) {
            char list[256];
            snprintf(list, sizeof list, "%s", o->choices);
            for (char *p = list; *p; p++)
                if (*p == '|')
                    *p = ',';
            return file ? ms_errf(err, MS_EINVAL, "%s: expected one of %s, got %s", name, list,
                                  value)
                        : ms_errf(err, MS_EUSAGE, "%s '%s': expected one of %s", name, value, list);
        }
        *FIELD(job, o, int) = k;
        return MS_OK;
    }
    case JOPT_LIST: {
        jopt_list *l = FIELD(job, o, jopt_list);
        if (l->n == JOPT_MAX_LIST)
            return ms_errf(err, from_code(file), "%s given more than %d times", name,
                           JOPT_MAX_LIST);
        l->v[l->n++] = value;
        return MS_OK;
    }
    }
    return ms_errf(err, MS_EUSAGE, "--%s: unknown option type", o->name);
}

static jopt_given_set *given_mask(const jopt_table *t, const void *job)
{
    return t->track_given ? (jopt_given_set *)((char *)job + t->given_off) : NULL;
}

int jopt_defaults(const jopt_table *t, void *job, ms_err *err)
{
    /* The given set has a bit a row: a longer table would lose track of
     * some rows silently. */
    assert(!t->track_given || t->n <= JOPT_MAX_ROWS);
    if (given_mask(t, job))
        *given_mask(t, job) = (jopt_given_set){{0}};
    for (size_t i = 0; i < t->n; i++) {
        const jopt *o = &t->rows[i];
        switch (o->type) {
        case JOPT_FLAG:
            *FIELD(job, o, int) = 0;
            break;
        case JOPT_INT:
            *FIELD(job, o, int64_t) = JOPT_NO_INT;
            break;
        case JOPT_NUM:
        case JOPT_POS:
        case JOPT_BYTES:
            *FIELD(job, o, double) = NAN;
            break;
        case JOPT_STR:
            *FIELD(job, o, const char *) = NULL;
            break;
        case JOPT_CHOICE:
            *FIELD(job, o, int) = -1;
            break;
        case JOPT_LIST:
            FIELD(job, o, jopt_list)->n = 0;
            break;
        }
        int rc;
        if (o->def && o->type != JOPT_FLAG && (rc = store(o, job, o->def, NULL, err)))
            return rc; /* a table whose default is out of its own range */
    }
    return MS_OK;
}

int jopt_set(const jopt_table *t, void *job, const char *name, const char *value, ms_err *err)
{
    return jopt_set_from(t, job, name, value, NULL, err);
}

int jopt_set_from(const jopt_table *t, void *job, const char *name, const char *value,
                  const char *file, ms_err *err)
{
    const jopt *o = jopt_find(t, name);
    if (!o) {
        const char *near = jopt_suggest(t, name);
        return ms_errf(err, MS_EUSAGE, "unknown option '--%s'%s%s%s", name,
                       near ? " (did you mean --" : "", near ? near : "", near ? "?)" : "");
    }
    if (o->type == JOPT_FLAG && value)
        return ms_errf(err, MS_EUSAGE, "--%s takes no value", o->name);
    if (o->type != JOPT_FLAG && !value)
        return ms_errf(err, MS_EUSAGE, "--%s needs a value (--%s %s)", o->name, o->name,
                       o->arg ? o->arg : "VALUE");
    size_t row = (size_t)(o - t->rows);
    if (given_mask(t, job) && row < JOPT_MAX_ROWS)
        given_mask(t, job)->bits[row / 64] |= UINT64_C(1) << row % 64;
    return store(o, job, value, file, err);
}

int jopt_given(const jopt_table *t, const void *job, const char *name)
{
    const jopt *o = jopt_find(t, name);
    size_t row = o ? (size_t)(o - t->rows) : 64;
    return o && given_mask(t, job) && row < JOPT_MAX_ROWS &&
           (given_mask(t, job)->bits[row / 64] >> row % 64 & 1);
}

int jopt_parse(const jopt_table *t, void *job, int argc, char **argv, const char **pos, int max_pos,
               int *npos, int *help, ms_err *err)
{
    return jopt_parse_from(t, job, argc, argv, NULL, pos, max_pos, npos, help, err);
}

int jopt_parse_from(const jopt_table *t, void *job, int argc, char **argv, const jopt_origin *from,
                    const char **pos, int max_pos, int *npos, int *help, ms_err *err)
{
    *npos = *help = 0;
    int rc = jopt_defaults(t, job, err);
    return rc ? rc : jopt_apply_from(t, job, argc, argv, from, pos, max_pos, npos, help, err);
}

int jopt_apply(const jopt_table *t, void *job, int argc, char **argv, const char **pos, int max_pos,
               int *npos, int *help, ms_err *err)
{
    return jopt_apply_from(t, job, argc, argv, NULL, pos, max_pos, npos, help, err);
}

int jopt_apply_from(const jopt_table *t, void *job, int argc, char **argv, const jopt_origin *from,
                    const char **pos, int max_pos, int *npos, int *help, ms_err *err)
{
    int rc = MS_OK;
    *npos = 0;
    *help = 0;
    for (int i = 0; i < argc && !rc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *help = 1;
            return MS_OK;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (*npos >= max_pos)
                return ms_errf(err, MS_EUSAGE, "unexpected argument '%s'", arg);
            pos[(*npos)++] = arg;
            continue;
        }
        char name[64];
        const char *body = arg + (arg[1] == '-' ? 2 : 1), *eq = strchr(body, '=');
        size_t len = eq ? (size_t)(eq - body) : strlen(body);
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), body);
        const jopt *o = jopt_find(t, name);
        const char *value = eq ? eq + 1 : NULL;
        const char *file = from && i < from->nargs ? from->file : NULL;
        if (o && o->type != JOPT_FLAG && !eq && i + 1 < argc)
            value = argv[++i];
        rc = jopt_set_from(t, job, name, value, file, err);
    }
    return rc;
}

int jopt_is_set(const jopt_table *t, const void *job, const char *name)
{
    const jopt *o = jopt_find(t, name);
    if (!o)
        return 0;
    switch (o->type) {
    case JOPT_FLAG:
        return *FIELD(job, o, const int) != 0;
    case JOPT_INT:
        return *FIELD(job, o, const int64_t) != JOPT_NO_INT;
    case JOPT_NUM:
    case JOPT_POS:
    case JOPT_BYTES:
        return !isnan(*FIELD(job, o, const double));
    case JOPT_STR:
        return *FIELD(job, o, const char *const) != NULL;
    case JOPT_CHOICE:
        return *FIELD(job, o, const int) >= 0;
    case JOPT_LIST:
        return FIELD(job, o, const jopt_list)->n > 0;
    }
    return 0;
}

int jopt_split_list(const jopt_list *l, const char *opt, char *buf, size_t cap, char **words,
                    int max, int *n, ms_err *err)
{
    size_t used = 0;
    *n = 0;
    for (int i = 0; i < l->n; i++) {
        size_t len = strlen(l->v[i]);
        if (used + len + 1 > cap)
            return ms_errf(err, MS_EUSAGE, "--%s: too long (at most %zu characters in all)", opt,
                           cap - 1);
        char *s = buf + used;
        memcpy(s, l->v[i], len + 1);
        used += len + 1;
        for (char *save = NULL, *t = strtok_r(s, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            if (*n == max)
                return ms_errf(err, MS_EUSAGE, "--%s: too many words (at most %d)", opt, max);
            words[(*n)++] = t;
        }
    }
    return MS_OK;
}

const char *jopt_help_text(const jopt *o, char *buf, size_t cap)
{
    char range[256], extra[320] = "";
    range_text(o, range, sizeof range);
    if (o->type == JOPT_CHOICE) {
        snprintf(range, sizeof range, "one of %s", o->choices);
        for (char *p = range; *p; p++)
            if (*p == '|')
                *p = ',';
    }
    if (o->def && range[0])
        snprintf(extra, sizeof extra, " (default %s; %s)", o->def, range);
    else if (o->def)
        snprintf(extra, sizeof extra, " (default %s)", o->def);
    else if (range[0])
        snprintf(extra, sizeof extra, " (%s)", range);
    snprintf(buf, cap, "%s%s", o->help, extra);
    return buf;
}

/* The choice k of '|'-separated choices, copied into buf. */
static const char *choice_name(const char *choices, int k, char *buf, size_t cap)
{
    const char *p = choices;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, '|');
        p = p ? p + 1 : NULL;
    }
    if (!p)
        return NULL;
    snprintf(buf, cap, "%.*s", (int)strcspn(p, "|"), p);
    return buf;
}

void jopt_report_inputs(const jopt_table *t, const void *job, report *r)
{
    report_begin_hidden(r, "inputs");
    for (size_t i = 0; i < t->n; i++) {
        const jopt *o = &t->rows[i];
        char key[64], word[64];
        snprintf(key, sizeof key, "%s", o->name);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        switch (o->type) {
        case JOPT_FLAG:
            report_bool(r, key, NULL, *FIELD(job, o, const int));
            break;
        case JOPT_INT: {
            int64_t v = *FIELD(job, o, const int64_t);
            if (v == JOPT_NO_INT)
                report_num(r, key, NULL, NAN, o->unit);
            else
                report_int(r, key, NULL, v, o->unit);
            break;
        }
        case JOPT_NUM:
        case JOPT_POS:
        case JOPT_BYTES:
            report_num(r, key, NULL, *FIELD(job, o, const double), o->unit);
            break;
        case JOPT_STR:
            report_str(r, key, NULL, *FIELD(job, o, const char *const));
            break;
        case JOPT_CHOICE: {
            int k = *FIELD(job, o, const int);
            report_str(r, key, NULL, k < 0 ? NULL : choice_name(o->choices, k, word, sizeof word));
            break;
        }
        case JOPT_LIST: {
            const jopt_list *l = FIELD(job, o, const jopt_list);
            report_strs(r, key, NULL, l->v, (size_t)l->n);
            break;
        }
        }
    }
    report_end(r);
}
