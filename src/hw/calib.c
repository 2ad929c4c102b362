/* calib: see calib.h. */
#include "hw/calib.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsl/gsl_randist.h>

#include "core/num.h"
#include "io/csvtab.h"

typedef struct calib_row {
    const char *family;
    const char *kind;
    int any_prec; /* precision '*' */
    ms_prec prec;
    double compute;    /* NAN when blank */
    double memory;     /* NAN when blank */
    double overhead_s; /* NAN when blank */
    double log_sd;     /* spread of the fit's residuals; NAN when blank */
    double log_cov[6]; /* the fit's (J^T J)^-1 on the figures' logs (cc, cm, co, mm, mo, oo) */
    int has_cov;       /* log_cov given */
    double overlap_p;  /* roofline's combine exponent (hw/roofline); NAN when blank */
    const char *measured_on;
    const char *source;
} calib_row;

/* calib_eff's answers, remembered: a training step or a search asks the
 * same few (family, kind, precision) questions millions of times, and
 * each answer is a scan of every row. Keyed by content (the family as
 * calibration matches it, case-insensitively), so the chips asking may
 * come and go. */
#define MEMO_SLOTS 256
#define MEMO_TEXT  48
typedef struct memo {
    char family[MEMO_TEXT], kind[MEMO_TEXT];
    int prec, used;
    roof_eff eff;
} memo;

struct calib {
    csvtab *csv; /* owns the strings; NULL in a drawn copy, which borrows its original's */
    calib_row *rows;
    size_t n;
    memo *memo; /* MEMO_SLOTS, or NULL (then nothing is remembered) */
};

/* Each kind with the kind it refines ("" for none): a refined kind is a
 * class of kernels of the kind it refines measured on its own (the GEMMs
 * of a training step, attention's backward, FP8 quantization, one
 * software release's attention kernels), and where it has no figure of
 * its own the figure of the kind it refines is used, and so on up. */
static const struct {
    const char *kind, *parent;
} kinds[] = {
    {"gemm", ""},
    {"stream", ""},
    {"attention", ""},
    {"launch", ""},
    {"gemm_train", "gemm"},
    {"gemm_train_cuda11", "gemm_train"},
    {"attention_bwd", "attention"},
    {"quant", "stream"},
    {"attention_decode", "attention"},
    {"attention_te2024", "attention"},
    {"attention_bwd_te2024", "attention_bwd"},
};

/* The kind kind refines, or NULL for a base or unknown kind. */
static const char *kind_parent(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i].kind) == 0)
            return kinds[i].parent[0] ? kinds[i].parent : NULL;
    return NULL;
}
static const char *const col_names[] = {"family",     "op_kind",     "precision",   "compute_eff",
                                        "memory_eff", "overhead_us", "measured_on", "source"};
enum {
    C_FAMILY,
    C_KIND,
    C_PREC,
    C_COMPUTE,
    C_MEMORY,
    C_OVERHEAD,
    C_MEASURED_ON,
    C_SOURCE,
    C_COUNT
};

const char *calib_kind_base(const char *kind)
{
    const char *k = calib_kind_find(kind);
    for (const char *p = k ? kind_parent(k) : NULL; p; p = kind_parent(k))
        k = p;
    return k;
}

const char *calib_kind_find(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i].kind) == 0)
            return kinds[i].kind;
    return NULL;
}

int calib_kind_ok(const char *kind)
{
    return calib_kind_find(kind) != NULL;
}

const char *calib_kinds(void)
{
    return "gemm, stream, attention, launch, gemm_train, attention_bwd, quant, attention_decode, "
           "attention_te2024, attention_bwd_te2024, gemm_train_cuda11";
}

static int parse_eff(const char *path, int line, const char *col, const char *text, double *out,
                     ms_err *err)
{
    if (text[0] == '\0') {
        *out = NAN;
        return MS_OK;
    }
    char *end;
    double v = num_strtod(text, &end);
    if (end == text || *end != '\0' || !(v > 0 && v <= 1.0))
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: column '%s': expected a fraction of peak in (0, 1] or blank, "
                       "got \"%s\"",
                       path, line, col, text);
    *out = v;
    return MS_OK;
}

int calib_cov_at(int i, int j)
{
    static const int at[3][3] = {{0, 1, 2}, {1, 3, 4}, {2, 4, 5}};
    return at[i][j];
}

/* Six numbers joined by ';' that make a covariance: a diagonal >= 0 and
 * no correlation beyond +-1 (a rounding's worth allowed). */
static int parse_cov(const char *text, double cov[6])
{
    const char *p = text;
    for (int i = 0; i < 6; i++) {
        char *end;
        cov[i] = num_strtod(p, &end);
        if (end == p || !isfinite(cov[i]) || *end != (i < 5 ? ';' : '\0'))
            return -1;
        p = end + (i < 5);
    }
    for (int i = 0; i < 3; i++) {
        if (!(cov[calib_cov_at(i, i)] >= 0))
            return -1;
        for (int j = i + 1; j < 3; j++)
            if (fabs(cov[calib_cov_at(i, j)]) >
                sqrt(cov[calib_cov_at(i, i)] * cov[calib_cov_at(j, j)]) * (1 + 1e-3) + 1e-12)
                return -1;
    }
    return 0;
}

static int load_rows(calib *cal, const int map[C_COUNT], int sd_col, int cov_col, int p_col,
                     ms_err *err)
{
    const csvtab *t = cal->csv;
    const char *path = csvtab_path(t);
    for (size_t r = 0; r < cal->n; r++) {
        int line = csvtab_row_line(t, r);
        if (csvtab_row_nfields(t, r) != csvtab_ncols(t))
            return ms_errf(err, MS_EPARSE, "%s:%d: row has %zu fields, the header has %zu", path,
                           line, csvtab_row_nfields(t, r), csvtab_ncols(t));
        const char *f[C_COUNT];
        for (int c = 0; c < C_COUNT; c++)
            f[c] = csvtab_field(t, r, (size_t)map[c]);
        calib_row *row = &cal->rows[r];
        row->family = f[C_FAMILY];
        row->kind = f[C_KIND];
        row->source = f[C_SOURCE];
        if (!row->family[0])
            return ms_errf(err, MS_EINVAL, "%s:%d: column 'family': required, but blank", path,
                           line);
        if (!calib_kind_ok(row->kind))
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'op_kind': expected one of %s, got \"%s\"", path, line,
                           calib_kinds(), row->kind);
        row->any_prec = strcmp(f[C_PREC], "*") == 0;
        if (!row->any_prec && ms_prec_parse(f[C_PREC], &row->prec) != 0)
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'precision': expected one of %s or '*', got \"%s\"", path,
                           line, ms_prec_list(), f[C_PREC]);
        int rc = parse_eff(path, line, "compute_eff", f[C_COMPUTE], &row->compute, err);
        if (!rc)
            rc = parse_eff(path, line, "memory_eff", f[C_MEMORY], &row->memory, err);
        if (rc)
            return rc;
        row->overhead_s = NAN;
        if (f[C_OVERHEAD][0]) {
            char *end;
            double us = num_strtod(f[C_OVERHEAD], &end);
            if (end == f[C_OVERHEAD] || *end || !(us >= 0) || us > 1e6)
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column 'overhead_us': expected microseconds >= 0 or blank, "
                               "got \"%s\"",
                               path, line, f[C_OVERHEAD]);
            row->overhead_s = us * 1e-6;
        }
        row->log_sd = NAN;
        const char *sd = sd_col >= 0 ? csvtab_field(t, r, (size_t)sd_col) : "";
        if (sd[0]) {
            char *end;
            double v = num_strtod(sd, &end);
            if (end == sd || *end || !(v >= 0) || !isfinite(v))
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column 'log_sd': expected the spread of log(predicted / "
                               "measured), a number >= 0, or blank, got \"%s\"",
                               path, line, sd);
            row->log_sd = v;
        }
        const char *cov = cov_col >= 0 ? csvtab_field(t, r, (size_t)cov_col) : "";
        row->has_cov = cov[0] != '\0';
        if (row->has_cov && parse_cov(cov, row->log_cov))
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: column 'log_cov': expected the fit's covariance of log "
                           "compute_eff, log memory_eff and log overhead as six numbers joined by "
                           "';' (cc;cm;co;mm;mo;oo: a diagonal >= 0, no correlation beyond 1), or "
                           "blank, got \"%s\"",
                           path, line, cov);
        row->overlap_p = NAN;
        const char *op = p_col >= 0 ? csvtab_field(t, r, (size_t)p_col) : "";
        if (op[0]) {
            char *end;
            double v = num_strtod(op, &end);
            if (end == op || *end || !(v >= 1 && v <= 1e3))
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column 'overlap_p': expected the exponent that combines "
                               "compute and memory time, a number from 1 to 1000, or blank (the "
                               "roofline's max), got \"%s\"",
                               path, line, op);
            row->overlap_p = v;
        }
        row->measured_on = f[C_MEASURED_ON];
        if (isnan(row->compute) && isnan(row->memory) && isnan(row->overhead_s))
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: compute_eff, memory_eff and overhead_us are all blank: the row "
                           "says nothing",
                           path, line);
        if (!f[C_MEASURED_ON][0] || !row->source[0])
            return ms_errf(err, MS_EINVAL,
                           "%s:%d: columns 'measured_on' and 'source' are required: every "
                           "efficiency names the kernel measurement it comes from",
                           path, line);
        /* Each figure once per family, kind and precision (two rows may
         * split the compute and memory figures): a second would be ignored,
         * as lookups take the first, without a word. */
        for (size_t q = 0; q < r; q++) {
            const calib_row *o = &cal->rows[q];
            const char *both = !isnan(o->compute) && !isnan(row->compute)         ? "compute_eff"
                               : !isnan(o->memory) && !isnan(row->memory)         ? "memory_eff"
                               : !isnan(o->overhead_s) && !isnan(row->overhead_s) ? "overhead_us"
                               : !isnan(o->overlap_p) && !isnan(row->overlap_p)   ? "overlap_p"
                                                                                  : NULL;
            if (both && strcmp(o->family, row->family) == 0 && strcmp(o->kind, row->kind) == 0 &&
                o->any_prec == row->any_prec && (row->any_prec || o->prec == row->prec))
                return ms_errf(err, MS_EINVAL,
                               "%s:%d: column '%s': family %s, op_kind %s, precision %s already "
                               "has one on line %d: expected each figure once",
                               path, line, both, row->family, row->kind, f[C_PREC],
                               csvtab_row_line(t, q));
        }
    }
    return MS_OK;
}

int calib_load(const char *path, calib **out, ms_err *err)
{
    int rc;
    int map[C_COUNT];
    calib *cal = calloc(1, sizeof *cal);

    *out = NULL;
    if (!cal)
        return ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
    if ((rc = csvtab_read(path, &cal->csv, err)))
        goto out;
    for (int c = 0; c < C_COUNT; c++) {
        map[c] = csvtab_find_col(cal->csv, col_names[c]);
        if (map[c] < 0) {
            rc = ms_errf(err, MS_EPARSE, "%s:1: missing column '%s' in the header", path,
                         col_names[c]);
            goto out;
        }
    }
    int sd_col = csvtab_find_col(cal->csv, "log_sd");
    int cov_col = csvtab_find_col(cal->csv, "log_cov");
    int p_col = csvtab_find_col(cal->csv, "overlap_p");
    if (csvtab_ncols(cal->csv) !=
        (size_t)(C_COUNT + (sd_col >= 0) + (cov_col >= 0) + (p_col >= 0))) {
        rc = ms_errf(err, MS_EPARSE,
                     "%s:1: expected exactly the columns family, op_kind, precision, "
                     "compute_eff, memory_eff, overhead_us, measured_on, source (and "
                     "optionally log_sd, log_cov and overlap_p)",
                     path);
        goto out;
    }
    cal->n = csvtab_nrows(cal->csv);
    if (cal->n == 0) {
        rc = ms_errf(err, MS_EPARSE,
                     "%s: a header and no rows: expected calibration rows (to run at datasheet "
                     "peaks, give --peak instead)",
                     path);
        goto out;
    }
    cal->rows = calloc(cal->n ? cal->n : 1, sizeof *cal->rows);
    cal->memo = calloc(MEMO_SLOTS, sizeof *cal->memo); /* none: nothing remembered */
    if (!cal->rows) {
        rc = ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((rc = load_rows(cal, map, sd_col, cov_col, p_col, err)))
        goto out;
    *out = cal;
    cal = NULL;
out:
    calib_free(cal);
    return rc;
}

void calib_free(calib *cal)
{
    if (!cal)
        return;
    csvtab_free(cal->csv);
    free(cal->rows);
    free(cal->memo);
    free(cal);
}

double calib_pooled_sd(const calib *cal)
{
    double ss = 0;
    size_t n = 0;
    for (size_t i = 0; i < cal->n; i++)
        if (!isnan(cal->rows[i].log_sd)) {
            ss += cal->rows[i].log_sd * cal->rows[i].log_sd;
            n++;
        }
    return n ? sqrt(ss / (double)n) : NAN;
}

double calib_row_sd(const calib *cal, size_t i, int *estimated)
{
    double sd = cal->rows[i].log_sd, pooled = calib_pooled_sd(cal);
    *estimated = isnan(sd);
    return !isnan(sd) ? sd : !isnan(pooled) ? pooled : 0;
}

size_t calib_count(const calib *cal)
{
    return cal->n;
}

double calib_scale_eff(double eff, double factor)
{
    if (isnan(eff))
        return eff;
    double v = eff * factor;
    return v < 1 ? v : 1;
}

void calib_cov_draw(const double cov[6], double sd, rng *g, double out[3])
{
    /* The Cholesky factor L of cov (cov = L L^T), a figure of no variance
     * left out; out = sd L z for z ~ N(0, I). */
    double L[3][3] = {{0}};
    for (int i = 0; i < 3; i++) {
        double d = cov[calib_cov_at(i, i)];
        for (int k = 0; k < i; k++)
            d -= L[i][k] * L[i][k];
        if (!(d > 1e-15))
            continue;
        L[i][i] = sqrt(d);
        for (int j = i + 1; j < 3; j++) {
            double v = cov[calib_cov_at(j, i)];
            for (int k = 0; k < i; k++)
                v -= L[j][k] * L[i][k];
            L[j][i] = v / L[i][i];
        }
    }
    double z[3];
    for (int i = 0; i < 3; i++)
        z[i] = gsl_ran_gaussian(rng_gsl(g), 1.0);
    for (int i = 0; i < 3; i++) {
        out[i] = 0;
        for (int k = 0; k <= i; k++)
            out[i] += sd * L[i][k] * z[k];
    }
}

int calib_draw(const calib *cal, rng *g, calib **out, ms_err *err)
{
    calib *d = calloc(1, sizeof *d);
    *out = NULL;
    if (d)
        d->rows = malloc((cal->n ? cal->n : 1) * sizeof *d->rows);
    if (d)
        d->memo = calloc(MEMO_SLOTS, sizeof *d->memo); /* its own: its rows are drawn */
    if (!d || !d->rows) {
        calib_free(d);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    d->n = cal->n;
    double pooled = calib_pooled_sd(cal);
    for (size_t i = 0; i < cal->n; i++) {
        calib_row *r = &d->rows[i];
        *r = cal->rows[i];
        double sd = !isnan(r->log_sd) ? r->log_sd : !isnan(pooled) ? pooled : 0;
        double z = gsl_ran_gaussian(rng_gsl(g), 1.0); /* one draw a row, always */
        double e[3] = {0, 0, 0};
        if (r->has_cov) /* and three more where the fit's covariance is known */
            calib_cov_draw(r->log_cov, sd, g, e);
        /* The kernels' spread about the curve moves every figure alike; the
         * fit's own uncertainty moves each figure by its own amount. */
        r->compute = calib_scale_eff(r->compute, exp(z * sd + e[0]));
        r->memory = calib_scale_eff(r->memory, exp(z * sd + e[1]));
        r->overhead_s *= exp(e[2] - z * sd);
    }
    *out = d;
    return MS_OK;
}

/* Fills *val, *src and *on from rows matching family and kind whose
 * precision matches exactly (pass 0) or is the wildcard (pass 1); first
 * match wins. what: 0 compute, 1 memory, 2 overhead, 3 overlap exponent. */
static void pick(const calib *cal, const chip *c, const char *kind, ms_prec prec, int what,
                 double *val, const char **src, const char **on)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cal->n; i++) {
            const calib_row *r = &cal->rows[i];
            double v = what == 0   ? r->compute
                       : what == 1 ? r->memory
                       : what == 2 ? r->overhead_s
                                   : r->overlap_p;
            int prec_match = pass == 0 ? (!r->any_prec && r->prec == prec) : r->any_prec;
            if (prec_match && !isnan(v) && strcasecmp(r->family, c->family) == 0 &&
                strcmp(r->kind, kind) == 0) {
                *val = v;
                *src = r->source;
                if (!*on)
                    *on = r->measured_on;
                return;
            }
        }
}

static roof_eff eff_of(const calib *cal, const chip *c, const char *kind, ms_prec prec);

roof_eff calib_eff(const calib *cal, const chip *c, const char *kind, ms_prec prec)
{
    if (!cal)
        return ROOF_EFF_PEAK;
    size_t nf = strlen(c->family), nk = strlen(kind);
    if (!cal->memo || nf >= MEMO_TEXT || nk >= MEMO_TEXT)
        return eff_of(cal, c, kind, prec);
    char fam[MEMO_TEXT];
    unsigned h = 2166136261u ^ (unsigned)prec;
    for (size_t i = 0; i <= nf; i++) {
        fam[i] = (char)tolower((unsigned char)c->family[i]);
        h = (h ^ (unsigned char)fam[i]) * 16777619u;
    }
    for (size_t i = 0; i < nk; i++)
        h = (h ^ (unsigned char)kind[i]) * 16777619u;
    memo *m = &cal->memo[h % MEMO_SLOTS];
    if (m->used && m->prec == (int)prec && strcmp(m->family, fam) == 0 &&
        strcmp(m->kind, kind) == 0)
        return m->eff;
    roof_eff e = eff_of(cal, c, kind, prec);
    memcpy(m->family, fam, nf + 1);
    memcpy(m->kind, kind, nk + 1);
    m->prec = (int)prec;
    m->eff = e;
    m->used = 1;
    return e;
}

void calib_peak_list_add(char *list, size_t cap, const char *item)
{
    size_t used = strlen(list);
    if (!strstr(list, item) && used + strlen(item) + 3 <= cap)
        snprintf(list + used, cap - used, "%s%s", used ? "; " : "", item);
}

roof_eff calib_eff_hbm(const calib *cal, const chip *c, const char *kind, ms_prec prec)
{
    roof_eff e = calib_eff(cal, c, kind, prec);
    if (!e.memory_source) {
        roof_eff s = calib_eff(cal, c, "stream", prec);
        if (s.memory_source) {
            e.memory = s.memory;
            e.memory_source = s.memory_source;
        }
    }
    return e;
}

static roof_eff eff_of(const calib *cal, const chip *c, const char *kind, ms_prec prec)
{
    roof_eff e = ROOF_EFF_PEAK;
    const char *p_source = NULL;
    for (int what = 0; what < 4; what++) {
        double *val = what == 0   ? &e.compute
                      : what == 1 ? &e.memory
                      : what == 2 ? &e.overhead_s
                                  : &e.overlap_p;
        const char **src = what == 0   ? &e.compute_source
                           : what == 1 ? &e.memory_source
                           : what == 2 ? &e.overhead_source
                                       : &p_source;
        pick(cal, c, kind, prec, what, val, src, &e.measured_on);
        for (const char *k = kind_parent(kind); !*src && k; k = kind_parent(k))
            pick(cal, c, k, prec, what, val, src, &e.measured_on);
    }
    return e;
}
