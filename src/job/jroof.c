/* jroof: see jroof.h. */
#include "job/jroof.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"
#include "core/num.h"
#include "core/vec.h"
#include "hw/calib.h"
#include "hw/chip.h"
#include "hw/roofline.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "model/mops.h"

#define CHIPS_HELP      "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"
#define EFFICIENCY_HELP "calibration to read (default: hwdb/efficiency.csv)"
#define PEAK_HELP       "ignore calibration: time everything at datasheet peaks"
#define KEEP_HELP       "keep the plot's .dat and .gp files beside it"

static const jopt rows[] = {
    {"chip", JOPT_LIST, "LIST", NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, chip),
     "chips to compare, comma-separated (repeatable)"},
    {"gemm", JOPT_LIST, "M,N,K,PREC", NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, gemm),
     "a matrix product C[M,N] = A[M,K] B[K,N] (repeatable)"},
    {"op", JOPT_LIST, "FLOPS,BYTES,PREC[,KIND]", NULL, NULL, NAN, NAN, NULL,
     offsetof(jroof_job, op), "any operation; KIND gemm|stream|attention (repeatable)"},
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, model),
     "place one layer of this model's ops (config.json or megasim JSON)"},
    {"phase", JOPT_CHOICE, "PHASE", NULL, "decode", NAN, NAN, "prefill|decode",
     offsetof(jroof_job, phase), "with --model: the prompt's prefill or one decode step"},
    {"batch", JOPT_STR, "LIST", NULL, "1,8,64,256", NAN, NAN, NULL, offsetof(jroof_job, batch),
     "with --model: sequences in flight, comma-separated, at most 16"},
    {"context", JOPT_INT, "N", NULL, "4096", 1, 1e12, NULL, offsetof(jroof_job, context),
     "with --model: prompt length (prefill) or cached tokens (decode)"},
    {"precision", JOPT_STR, "PREC", NULL, "bf16", NAN, NAN, NULL, offsetof(jroof_job, precision),
     "with --model: weights, activations and KV cache"},
    {"layer", JOPT_CHOICE, "KIND", NULL, NULL, NAN, NAN, "moe|dense", offsetof(jroof_job, layer),
     "with --model: the layer to place; when not given, MoE where the model has one"},
    {"plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, plot),
     "draw a log-log roofline to FILE (.png or .svg) with gnuplot"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL,
     offsetof(jroof_job, keep_plot_data), KEEP_HELP},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, json),
     "print JSON: the inputs and one object per chip and operation"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, chips),
     CHIPS_HELP},
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, efficiency),
     EFFICIENCY_HELP},
    {"peak", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jroof_job, peak), PEAK_HELP},
};

const jopt_table jroof_options = {.rows = rows,
                                  .n = sizeof rows / sizeof rows[0],
                                  .track_given = 1,
                                  .given_off = offsetof(jroof_job, given)};

static const jopt default_rows[] = {
    {"plot", JOPT_STR, "FILE", NULL, "megasim-default.png", NAN, NAN, NULL,
     offsetof(jroof_default_job, plot), "where to draw the roofline (.png or .svg)"},
    {"no-plot", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jroof_default_job, no_plot),
     "print the table only"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL,
     offsetof(jroof_default_job, keep_plot_data), KEEP_HELP},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jroof_default_job, json),
     "print JSON: the inputs and one object per chip and operation"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jroof_default_job, chips),
     CHIPS_HELP},
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL,
     offsetof(jroof_default_job, efficiency), EFFICIENCY_HELP},
    {"peak", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jroof_default_job, peak),
     PEAK_HELP},
};

const jopt_table jroof_default_options = {.rows = default_rows,
                                          .n = sizeof default_rows / sizeof default_rows[0],
                                          .track_given = 1,
                                          .given_off = offsetof(jroof_default_job, given)};

/* ---- the study ---- */

typedef struct op_spec {
    char label[96];
    char plot_label[32]; /* shorter, for the plot; "" for the label itself */
    int no_plot;         /* left out of the plot (a model's element-wise ops) */
    roof_op op;
} op_spec;

typedef struct cell {
    roof_eff eff; /* sources borrowed from the calibration */
    roof_result res;
    int memory_from_stream; /* the kind has no memory figure: the family's stream one */
} cell;

/* What is timed, where, and the times; chips borrowed from the database. */
typedef struct study {
    const chip *chips[JROOF_MAX_CHIPS];
    size_t nchips;
    op_spec ops[JROOF_MAX_OPS];
    size_t nops;
    cell cells[JROOF_MAX_CHIPS][JROOF_MAX_OPS];
    /* With a model: one layer's ops per batch size, in consecutive runs. */
    char title[256];
    size_t nbatches;
    int64_t batch[JROOF_MAX_BATCHES];
    size_t batch_first[JROOF_MAX_BATCHES], batch_nops[JROOF_MAX_BATCHES];
} study;

/* What a study is asked for, by roofline or default. */
typedef struct request {
    const jopt_list *chip, *gemm, *op, *chips;
    const char *efficiency;
    int peak;
    const jroof_job *model; /* its model options; NULL: no model */
    const char *heading;    /* a line above the text; NULL: none */
} request;

/* Splits text at commas into at most max parts (copied into buf). */
static int split(const char *text, char *buf, size_t cap, char **parts, int max)
{
    if (strlen(text) >= cap)
        return -1;
    strcpy(buf, text);
    int n = 0;
    char *p = buf;
    for (;;) {
        if (n == max)
            return -1;
        parts[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* A whole number from 1 to 2^40, all of text. */
static int whole(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || errno || v < 1 || v > (INT64_C(1) << 40))
        return -1;
    *out = v;
    return 0;
}

static int parse_gemm(const char *text, op_spec *o, ms_err *err)
{
    char buf[128], *f[5] = {0};
    int64_t m, n, k;
    ms_prec prec;
    int nf = split(text, buf, sizeof buf, f, 5);
    if (nf != 4 || whole(f[0], &m) || whole(f[1], &n) || whole(f[2], &k))
        return ms_errf(err, MS_EUSAGE,
                       "--gemm '%s': expected M,N,K,PRECISION with M, N, K positive integers "
                       "(e.g. --gemm 8192,8192,8192,bf16)",
                       text);
    if (ms_prec_parse(f[3], &prec))
        return ms_errf(err, MS_EUSAGE, "--gemm '%s': unknown precision '%s'; expected one of %s",
                       text, f[3], ms_prec_list());
    o->op = roof_gemm(m, n, k, prec);
    snprintf(o->label, sizeof o->label, "gemm %sx%sx%s", f[0], f[1], f[2]);
    return MS_OK;
}

static int parse_op(const char *text, op_spec *o, ms_err *err)
{
    char buf[128], *f[5] = {0};
    int nf = split(text, buf, sizeof buf, f, 5);
    if (nf != 3 && nf != 4)
        return ms_errf(err, MS_EUSAGE,
                       "--op '%s': expected FLOPS,BYTES,PRECISION[,KIND] (e.g. --op 0,1e9,bf16)",
                       text);
    char *end;
    double flops = num_strtod(f[0], &end);
    if (end == f[0] || *end || !isfinite(flops) || flops < 0)
        return ms_errf(err, MS_EUSAGE, "--op '%s': FLOPS must be a number >= 0, got '%s'", text,
                       f[0]);
    double bytes = num_strtod(f[1], &end);
    if (end == f[1] || *end || !isfinite(bytes) || bytes <= 0)
        return ms_errf(err, MS_EUSAGE, "--op '%s': BYTES must be a number > 0, got '%s'", text,
                       f[1]);
    ms_prec prec;
    if (ms_prec_parse(f[2], &prec))
        return ms_errf(err, MS_EUSAGE, "--op '%s': unknown precision '%s'; expected one of %s",
                       text, f[2], ms_prec_list());
    const char *kind = nf == 4 ? f[3] : "stream";
    if (!calib_kind_ok(kind))
        return ms_errf(err, MS_EUSAGE, "--op '%s': unknown kind '%s'; expected one of %s", text,
                       kind, calib_kinds());
    /* kind must outlive buf: point at the static name calib knows. */
    o->op = (roof_op){.kind = calib_kind_find(kind), .prec = prec, .flops = flops, .bytes = bytes};
    snprintf(o->label, sizeof o->label, "op %s,%s", f[0], f[1]);
    return MS_OK;
}

/* --batch: whole numbers >= 1, comma-separated, at most JROOF_MAX_BATCHES. */
static int parse_batches(const char *text, study *s, ms_err *err)
{
    const char *p = text;
    s->nbatches = 0;
    for (;;) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ',') || errno || v < 1 || v > (INT64_C(1) << 40))
            return ms_errf(err, MS_EUSAGE,
                           "--batch '%s': expected whole numbers >= 1 separated by commas", text);
        if (s->nbatches >= JROOF_MAX_BATCHES)
            return ms_errf(err, MS_EUSAGE, "--batch: at most %d values", JROOF_MAX_BATCHES);
        s->batch[s->nbatches++] = v;
        if (!*end)
            return MS_OK;
        p = end + 1;
    }
}

/* One batch's ops of one layer, appended to the study. */
static int add_batch(study *s, size_t b, const mop *ops, size_t nops, ms_prec prec, ms_err *err)
{
    if (s->nops + nops > JROOF_MAX_OPS)
        return ms_errf(err, MS_EUSAGE, "too many operations: use fewer batch sizes");
    s->batch_first[b] = s->nops;
    s->batch_nops[b] = nops;
    for (size_t i = 0; i < nops; i++) {
        op_spec *o = &s->ops[s->nops++];
        snprintf(o->label, sizeof o->label, "b%lld %.31s", (long long)s->batch[b], ops[i].name);
        o->op = (roof_op){
            .kind = ops[i].kind, .prec = prec, .flops = ops[i].flops, .bytes = ops[i].bytes};
        /* GEMMs of one batch share an intensity: label them by batch. */
        int attn = strcmp(ops[i].kind, "attention") == 0;
        snprintf(o->plot_label, sizeof o->plot_label, "b%lld%s", (long long)s->batch[b],
                 attn ? " attention" : "");
        o->no_plot = strcmp(ops[i].kind, "stream") == 0;
    }
    return MS_OK;
}

/* --model FILE --phase P --batch LIST: one layer's ops at each batch size. */
static int add_model_ops(study *s, const jroof_job *j, const jenv *env, char *warn, ms_err *err)
{
    char path[4096];
    mops_phase phase = j->phase == 0 ? MOPS_PREFILL : MOPS_DECODE;
    ms_prec prec;
    int rc;
    if ((rc = parse_batches(j->batch, s, err)))
        return rc;
    if (ms_prec_parse(j->precision, &prec))
        return ms_errf(err, MS_EUSAGE, "--precision '%s': expected one of %s", j->precision,
                       ms_prec_list());
    model m;
    if ((rc = modelfile_load(jenv_find(env, j->model, path, sizeof path), &m, warn, err)))
        return rc;
    int moe = j->layer >= 0 ? j->layer == 0 : m.num_experts > 0;
    snprintf(s->title, sizeof s->title, "%s, one %s layer, %s, context %lld, %s", m.name,
             moe ? "MoE" : "dense", mops_phase_name(phase), (long long)j->context,
             ms_prec_name(prec));
    for (size_t b = 0; b < s->nbatches; b++) {
        mop ops[MOPS_MAX];
        size_t nops;
        if ((rc = mops_layer(&m, moe, phase, s->batch[b], j->context, prec, ops, &nops, err)) ||
            (rc = add_batch(s, b, ops, nops, prec, err)))
            return rc;
    }
    return MS_OK;
}

static int compute(study *s, const calib *cal, ms_err *err)
{
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++) {
            cell *c = &s->cells[i][j];
            const roof_op *op = &s->ops[j].op;
            /* As train and serve time it: a kind with no memory figure
             * reads HBM as the family's streams do. */
            c->eff = calib_eff_hbm(cal, s->chips[i], op->kind, op->prec);
            c->memory_from_stream = c->eff.memory_source &&
                                    !calib_eff(cal, s->chips[i], op->kind, op->prec).memory_source;
            int rc = roof_time(s->chips[i], op, &c->eff, &c->res, err);
            if (rc) {
                char msg[MS_ERR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", err->msg);
                return ms_errf(err, rc, "%s %s: %s", s->ops[j].label, ms_prec_name(op->prec), msg);
            }
        }
    return MS_OK;
}

/* The calibration asked for: NULL with --peak. */
static int load_calib(const request *q, const jenv *env, calib **cal, ms_err *err)
{
    char path[4096];
    const char *file = path;
    int rc;
    *cal = NULL;
    if (q->peak)
        return MS_OK;
    if (q->efficiency)
        file = jenv_find(env, q->efficiency, path, sizeof path);
    else if ((rc = jenv_path(env, "hwdb/efficiency.csv", path, sizeof path, err)))
        return rc;
    return calib_load(file, cal, err);
}

/* Reads the chips, builds the ops and times them. */
static int build(study *s, const request *q, const jenv *env, char *warn, chip_db **db, calib **cal,
                 ms_err *err)
{
    int rc = jenv_load_chips(env, q->chips, db, err);
    if (!rc)
        rc = jenv_select_chips(*db, q->chip, s->chips, JROOF_MAX_CHIPS, &s->nchips, err);
    for (int i = 0; !rc && i < q->gemm->n; i++)
        rc = parse_gemm(q->gemm->v[i], &s->ops[s->nops++], err);
    for (int i = 0; !rc && i < q->op->n; i++)
        rc = parse_op(q->op->v[i], &s->ops[s->nops++], err);
    if (!rc && q->model)
        rc = add_model_ops(s, q->model, env, warn, err);
    if (!rc)
        rc = load_calib(q, env, cal, err);
    return rc ? rc : compute(s, *cal, err);
}

/* ---- the report ---- */

/* A block of lines the text shows and JSON leaves out (the title of a
 * group without a key or values), after a blank line unless at the top. */
typedef struct lines {
    char *text;
    size_t len, cap; /* bytes used (no NUL counted) and allocated */
    int failed;
} lines;

static void line_add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_add(lines *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    /* Room for a newline, the line and its NUL. */
    char *grown = n >= 0 ? vec_grow(l->text, &l->cap, l->len + (size_t)n + 2, 256, 1) : NULL;
    if (!grown) {
        l->failed = 1;
        return;
    }
    l->text = grown;
    if (l->len)
        l->text[l->len++] = '\n';
    va_start(ap, fmt);
    vsnprintf(l->text + l->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    l->len += (size_t)n;
}

/* Puts the block in r (if it has lines) and empties it. */
static int lines_flush(lines *l, report *r)
{
    int failed = l->failed;
    if (l->len && !failed) {
        report_begin(r, NULL, l->text);
        report_end(r);
    }
    free(l->text);
    *l = (lines){0};
    return failed ? MS_ENOMEM : MS_OK;
}

/* One row of "results": the keys roofline --json has always given, in
 * its order; those a person compares are shown, the rest are JSON only. */
static void report_cell(report *r, const study *s, size_t i, size_t j)
{
    const cell *c = &s->cells[i][j];
    const roof_op *op = &s->ops[j].op;
    report_row(r);
    report_str(r, "chip", NULL, s->chips[i]->name);
    report_str(r, "op", "operation", s->ops[j].label);
    report_begin_hidden(r, NULL);
    report_str(r, "kind", NULL, op->kind);
    report_end(r);
    report_str(r, "precision", "prec", ms_prec_name(op->prec));
    report_begin_hidden(r, NULL);
    report_num(r, "flops", NULL, op->flops, "FLOP");
    report_num(r, "bytes", NULL, op->bytes, "B");
    report_end(r);
    report_num(r, "time_s", "time", c->res.time_s, "s");
    if (s->nchips > 1) {
        char vs[96];
        snprintf(vs, sizeof vs, "time vs %s", s->chips[0]->name);
        report_num(r, "time_vs_first_chip", vs, c->res.time_s / s->cells[0][j].res.time_s, "");
    }
    report_str(r, "bound", NULL, roof_bound_name(c->res.bound));
    report_num(r, "attained_flop_per_s", "attained", c->res.attained_flop_per_s, "FLOP/s");
    report_begin_hidden(r, NULL);
    report_num(r, "attained_bytes_per_s", NULL, c->res.attained_bytes_per_s, "B/s");
    report_end(r);
    report_num(r, "intensity_flop_per_byte", "intensity", c->res.intensity_flop_per_byte, "FLOP/B");
    report_num(r, "ridge_flop_per_byte", "ridge", c->res.ridge_flop_per_byte, "FLOP/B");
    report_begin_hidden(r, NULL);
    report_num(r, "compute_time_s", NULL, c->res.compute_time_s, "s");
    report_num(r, "memory_time_s", NULL, c->res.memory_time_s, "s");
    report_end(r);
    report_num(r, "compute_efficiency", "compute eff", c->eff.compute, "%");
    report_num(r, "memory_efficiency", "memory eff", c->eff.memory, "%");
    report_begin_hidden(r, NULL);
    report_str(r, "compute_efficiency_source", NULL,
               c->eff.compute_source && c->eff.compute_source[0] ? c->eff.compute_source : NULL);
    report_str(r, "memory_efficiency_source", NULL,
               c->eff.memory_source && c->eff.memory_source[0] ? c->eff.memory_source : NULL);
    report_bool(r, "memory_efficiency_from_stream", NULL, c->memory_from_stream);
    report_end(r);
}

static void report_results(report *r, const study *s, int calibrated)
{
    report_table(r, "results",
                 calibrated ? "Each operation on each chip, calibrated by hwdb/efficiency.csv "
                              "(100% eff: the datasheet peak)"
                            : "Each operation on each chip, at datasheet peaks (--peak)");
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++)
            report_cell(r, s, i, j);
    report_table_end(r);
}

/* With a model: one layer's time per chip and batch, the ops' times added. */
static void report_layer_times(report *r, const study *s)
{
    char title[320];
    snprintf(title, sizeof title, "One layer of %s, op times added", s->title);
    report_table(r, "layer_times", title);
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t b = 0; b < s->nbatches; b++) {
            double t = 0, tm = 0;
            for (size_t j = s->batch_first[b]; j < s->batch_first[b] + s->batch_nops[b]; j++) {
                t += s->cells[i][j].res.time_s;
                if (s->cells[i][j].res.bound == ROOF_MEMORY)
                    tm += s->cells[i][j].res.time_s;
            }
            report_row(r);
            report_str(r, "chip", NULL, s->chips[i]->name);
            report_int(r, "batch", NULL, s->batch[b], "");
            report_num(r, "layer_time_s", "layer time", t, "s");
            report_num(r, "time_per_sequence_s", "per sequence", t / (double)s->batch[b], "s");
            report_num(r, "memory_bound_fraction", "time memory-bound", tm / t, "%");
        }
    report_table_end(r);
}

/* With several chips: where a chip's times against the first's mix
 * calibrated and peak efficiencies, once per chip. */
static int note_mixed(report *r, const study *s)
{
    lines l = {0};
    for (size_t i = 1; i < s->nchips; i++) {
        size_t n = 0;
        for (size_t j = 0; j < s->nops; j++) {
            const roof_eff *a = &s->cells[i][j].eff, *b = &s->cells[0][j].eff;
            n += a->compute != b->compute || a->memory != b->memory;
        }
        if (n)
            line_add(&l,
                     "note: %s's efficiencies differ from %s's on %zu of %zu operations (one may "
                     "be calibrated, the other at peak); --peak compares datasheet against "
                     "datasheet",
                     s->chips[i]->name, s->chips[0]->name, n, s->nops);
    }
    return lines_flush(&l, r);
}

/* Where a chip borrows figures measured on others, once per chip and key. */
static int note_borrowed(report *r, const study *s)
{
    lines l = {0};
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++) {
            const cell *c = &s->cells[i][j];
            const roof_op *op = &s->ops[j].op;
            const char *on = c->eff.measured_on, *name = s->chips[i]->name;
            if (!on || names_has(on, name))
                continue;
            int seen = 0;
            for (size_t j2 = 0; j2 < j && !seen; j2++)
                seen = strcmp(s->ops[j2].op.kind, op->kind) == 0 && s->ops[j2].op.prec == op->prec;
            if (!seen)
                line_add(&l, "note: %s borrows the %s %s %s figures measured on %s", name,
                         s->chips[i]->family, op->kind, ms_prec_name(op->prec), on);
        }
    return lines_flush(&l, r);
}

/* Whether (family, kind, precision) of cell (i, j) came up before it. */
static int seen_before(const study *s, size_t i, size_t j)
{
    const roof_op *op = &s->ops[j].op;
    for (size_t i2 = 0; i2 <= i; i2++)
        for (size_t j2 = 0; j2 < s->nops; j2++) {
            if (i2 == i && j2 >= j)
                return 0;
            if (strcmp(s->chips[i2]->family, s->chips[i]->family) == 0 &&
                strcmp(s->ops[j2].op.kind, op->kind) == 0 && s->ops[j2].op.prec == op->prec)
                return 1;
        }
    return 0;
}

/* Where peak stood in for a measurement, once per (family, kind, precision). */
static int note_peak(report *r, const study *s, int calibrated)
{
    lines l = {0};
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++) {
            const cell *c = &s->cells[i][j];
            const roof_op *op = &s->ops[j].op;
            int need_c = op->flops > 0 && !c->eff.compute_source;
            int need_m = !c->eff.memory_source;
            if (seen_before(s, i, j))
                continue;
            if (c->memory_from_stream)
                line_add(&l,
                         "note: hwdb/efficiency.csv has no memory figure for %s %s %s: HBM "
                         "read at the family's stream figure, as train and serve read it",
                         s->chips[i]->family, op->kind, ms_prec_name(op->prec));
            if (!need_c && !need_m)
                continue;
            line_add(&l, "note: %s: no calibration for %s %s %s%s%s: using datasheet peak",
                     calibrated ? "hwdb/efficiency.csv" : "--peak", s->chips[i]->family, op->kind,
                     ms_prec_name(op->prec), need_c ? " compute" : "",
                     need_m ? (need_c ? " and memory" : " memory") : "");
        }
    return lines_flush(&l, r);
}

/* ---- the run ---- */

static void fill_out(const study *s, jroof_out *out)
{
    out->nchips = s->nchips;
    for (size_t i = 0; i < s->nchips; i++) {
        jroof_chip *c = &out->chips[i];
        snprintf(c->name, sizeof c->name, "%s", s->chips[i]->name);
        for (int p = 0; p < MS_PREC_COUNT; p++)
            c->peak_flop_per_s[p] = chip_peak(s->chips[i], (ms_prec)p);
        c->hbm_bw_Bps = s->chips[i]->hbm_bw_Bps;
    }
    out->nops = s->nops;
    for (size_t j = 0; j < s->nops; j++) {
        jroof_opinfo *o = &out->ops[j];
        snprintf(o->label, sizeof o->label, "%s", s->ops[j].label);
        snprintf(o->plot_label, sizeof o->plot_label, "%s", s->ops[j].plot_label);
        o->no_plot = s->ops[j].no_plot;
        o->prec = s->ops[j].op.prec;
        o->flops = s->ops[j].op.flops;
        o->bytes = s->ops[j].op.bytes;
        for (size_t i = 0; i < s->nchips; i++)
            out->at[i][j] = (jroof_point){s->cells[i][j].res.intensity_flop_per_byte,
                                          s->cells[i][j].res.attained_flop_per_s};
    }
    snprintf(out->title, sizeof out->title, "%s", s->title);
    out->nbatches = s->nbatches;
}

/* The study q asks for, into r (after the inputs) and out. */
static int run_study(const request *q, const jenv *env, report *r, jroof_out *out, ms_err *err)
{
    chip_db *db = NULL;
    calib *cal = NULL;
    study *s = calloc(1, sizeof *s);
    int rc =
        s ? build(s, q, env, out->warn, &db, &cal, err) : ms_errf(err, MS_ENOMEM, "out of memory");
    if (!rc) {
        lines l = {0};
        if (q->heading)
            line_add(&l, "%s", q->heading);
        rc = lines_flush(&l, r);
    }
    if (!rc) {
        report_results(r, s, cal != NULL);
        if (s->nbatches > 0)
            report_layer_times(r, s);
        rc = note_mixed(r, s);
    }
    if (!rc)
        rc = note_borrowed(r, s);
    if (!rc)
        rc = note_peak(r, s, cal != NULL);
    if (!rc)
        fill_out(s, out);
    if (rc == MS_ENOMEM && !err->msg[0])
        ms_errf(err, rc, "out of memory");
    calib_free(cal);
    chip_db_free(db);
    free(s);
    return rc;
}

/* out, or a scratch one the caller frees (NULL when out of memory). */
static jroof_out *out_or_scratch(jroof_out *out, jroof_out **scratch)
{
    *scratch = out ? NULL : malloc(sizeof **scratch);
    out = out ? out : *scratch;
    if (out) {
        out->nchips = out->nops = out->nbatches = 0;
        out->title[0] = out->warn[0] = '\0';
    }
    return out;
}

int jroof_run(const jroof_job *j, const jenv *env, report *r, jroof_out *out, ms_err *err)
{
    static const char *const model_only[] = {"phase", "batch", "context", "precision", "layer"};
    if (j->chip.n == 0)
        return ms_errf(err, MS_EUSAGE,
                       "name the chips to compare with --chip (e.g. --chip H100,H20; "
                       "'megasim chips' lists them)");
    if (j->gemm.n + j->op.n == 0 && !j->model)
        return ms_errf(err, MS_EUSAGE, "give at least one --gemm, --op or --model");
    for (size_t i = 0; i < sizeof model_only / sizeof model_only[0]; i++)
        if (!j->model && jopt_given(&jroof_options, j, model_only[i]))
            return ms_errf(err, MS_EUSAGE, "--%s goes with --model", model_only[i]);
    jroof_out *scratch;
    if (!(out = out_or_scratch(out, &scratch)))
        return ms_errf(err, MS_ENOMEM, "out of memory");
    report_version(r, env->version);
    jopt_report_inputs(&jroof_options, j, r);
    request q = {.chip = &j->chip,
                 .gemm = &j->gemm,
                 .op = &j->op,
                 .chips = &j->chips,
                 .efficiency = j->efficiency,
                 .peak = j->peak,
                 .model = j->model ? j : NULL};
    int rc = run_study(&q, env, r, out, err);
    free(scratch);
    return rc;
}

int jroof_default_run(const jroof_default_job *j, const jenv *env, report *r, jroof_out *out,
                      ms_err *err)
{
    /* A big training GEMM at two precisions, a decode-sized one (64 tokens
     * against an 8192x8192 weight), and a 1 GB copy. */
    static const jopt_list chip = {.v = {"H100,H800,H20,H200,B200"}, .n = 1};
    static const jopt_list gemm = {
        .v = {"8192,8192,8192,bf16", "8192,8192,8192,fp8", "64,8192,8192,bf16"}, .n = 3};
    static const jopt_list op = {.v = {"0,1e9,bf16"}, .n = 1};
    jroof_out *scratch;
    if (!(out = out_or_scratch(out, &scratch)))
        return ms_errf(err, MS_ENOMEM, "out of memory");
    report_version(r, env->version);
    jopt_report_inputs(&jroof_default_options, j, r);
    request q = {
        .chip = &chip,
        .gemm = &gemm,
        .op = &op,
        .chips = &j->chips,
        .efficiency = j->efficiency,
        .peak = j->peak,
        .heading = "megasim default: a roofline comparison of the H100, H800, H20, H200 and B200"};
    int rc = run_study(&q, env, r, out, err);
    free(scratch);
    return rc;
}

/* ---- the plot ---- */

/* One roof of the plot: a precision and the chips whose datasheets give
 * it the same peak and bandwidth (drawn once, under all their names). */
typedef struct roof_key {
    ms_prec prec;
    size_t chips[JROOF_MAX_CHIPS];
    size_t nchips;
} roof_key;

static size_t roof_keys(const jroof_out *s, roof_key *keys, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nchips; i++)
        for (int p = 0; p < MS_PREC_COUNT; p++) {
            int used = 0;
            for (size_t j = 0; j < s->nops; j++)
                used |= s->ops[j].prec == (ms_prec)p && s->ops[j].flops > 0;
            if (!used)
                continue;
            const jroof_chip *c = &s->chips[i];
            size_t k = 0;
            while (k < n && !(keys[k].prec == (ms_prec)p &&
                              s->chips[keys[k].chips[0]].peak_flop_per_s[keys[k].prec] ==
                                  c->peak_flop_per_s[keys[k].prec] &&
                              s->chips[keys[k].chips[0]].hbm_bw_Bps == c->hbm_bw_Bps))
                k++;
            if (k == n && n == cap)
                continue;
            if (k == n)
                keys[n++] = (roof_key){.prec = (ms_prec)p};
            keys[k].chips[keys[k].nchips++] = i;
        }
    return n;
}

static const char *op_plot_label(const jroof_opinfo *o)
{
    return o->plot_label[0] ? o->plot_label : o->label;
}

/* The key entry (1-based) of op j: ops of the same label share one. */
static size_t op_entry(const jroof_out *s, size_t j)
{
    size_t e = 0;
    for (size_t i = 0; i <= j; i++) {
        int first = 1;
        for (size_t q = 0; q < i && first; q++)
            first = strcmp(op_plot_label(&s->ops[q]), op_plot_label(&s->ops[i])) != 0;
        e += first;
    }
    return e;
}

/* Filled, then open, point types of gnuplot: one per op in the key. */
static const int op_pts[] = {7, 5, 9, 11, 13, 15, 6, 4, 8, 10, 12, 14};
#define NPTS (sizeof op_pts / sizeof op_pts[0])

static int plotted(const jroof_opinfo *o)
{
    return o->flops > 0 && !o->no_plot;
}

/* Block 2k: roof k at datasheet peaks; block 2k+1: the ops on it at their
 * attained rates, with the point type of their key entry. */
static int write_roof_data(const jroof_out *s, const roof_key *keys, size_t nkeys, double xmin,
                           double xmax, const char *path, ms_err *err)
{
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    FILE *dat = afile_stream(af);
    fprintf(dat, "# megasim roofline data: intensity_flop_per_byte  tflop_per_s  point_type\n");
    for (size_t k = 0; k < nkeys; k++) {
        const jroof_chip *c = &s->chips[keys[k].chips[0]];
        double peak = c->peak_flop_per_s[keys[k].prec];
        fprintf(dat, "# roof %s %s (datasheet)\n", c->name, ms_prec_name(keys[k].prec));
        for (int q = 0; q <= 200; q++) {
            double x = xmin * pow(xmax / xmin, q / 200.0);
            fprintf(dat, "%.6g %.6g 0\n", x, fmin(peak, x * c->hbm_bw_Bps) / 1e12);
        }
        fprintf(dat, "\n\n# ops on that roof (attained)\n");
        int npts = 0;
        for (size_t m = 0; m < keys[k].nchips; m++)
            for (size_t j = 0; j < s->nops; j++) {
                const jroof_point *pt = &s->at[keys[k].chips[m]][j];
                if (s->ops[j].prec != keys[k].prec || !plotted(&s->ops[j]))
                    continue;
                fprintf(dat, "%.6g %.6g %d\n", pt->intensity_flop_per_byte,
                        pt->attained_flop_per_s / 1e12, op_pts[(op_entry(s, j) - 1) % NPTS]);
                npts++;
            }
        if (!npts) /* keep block numbering intact */
            fprintf(dat, "NaN NaN 0\n");
        fprintf(dat, "\n\n");
    }
    return afile_commit(af, err);
}

/* The variables roofline.gp draws from: roofs, their titles, the ops' key. */
static void write_roof_vars(FILE *gp, const jroof_out *s, const roof_key *keys, size_t nkeys)
{
    fprintf(gp, "nroofs = %zu\narray roof_title[%zu]\n", nkeys, nkeys ? nkeys : 1);
    for (size_t k = 0; k < nkeys; k++) {
        char t[400] = "";
        size_t used = 0;
        for (size_t m = 0; m < keys[k].nchips && used < sizeof t; m++)
            used += (size_t)snprintf(t + used, sizeof t - used, "%s%s", m ? ", " : "",
                                     s->chips[keys[k].chips[m]].name);
        if (used < sizeof t)
            snprintf(t + used, sizeof t - used, " %s", ms_prec_name(keys[k].prec));
        fprintf(gp, "roof_title[%zu] = ", k + 1);
        gp_write_string(gp, t);
        fprintf(gp, "\n");
    }
    size_t nentries = 0;
    for (size_t j = 0; j < s->nops; j++)
        if (plotted(&s->ops[j]) && op_entry(s, j) > nentries)
            nentries = op_entry(s, j);
    fprintf(gp, "nops = %zu\narray op_title[%zu]\narray op_pt[%zu]\n", nentries,
            nentries ? nentries : 1, nentries ? nentries : 1);
    for (size_t j = 0, e = 0; j < s->nops; j++)
        if (plotted(&s->ops[j]) && op_entry(s, j) > e) {
            e = op_entry(s, j);
            fprintf(gp, "op_pt[%zu] = %d\nop_title[%zu] = ", e, op_pts[(e - 1) % NPTS], e);
            gp_write_string(gp, op_plot_label(&s->ops[j]));
            fprintf(gp, "\n");
        }
}

/* Writes the plot's data and script (gp_plot_paths says where), then
 * draws with gnuplot if it is installed. *drawn says whether the image
 * was made. */
int jroof_plot(const jroof_out *s, const jenv *env, const char *out, int *drawn, ms_err *err)
{
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, rc;
    *drawn = 0;
    if ((rc = gp_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = jenv_path(env, "plots/roofline.gp", tmpl_path, sizeof tmpl_path, err)))
        return rc;
    roof_key keys[JROOF_MAX_CHIPS * MS_PREC_COUNT];
    size_t nkeys = roof_keys(s, keys, sizeof keys / sizeof keys[0]);
    double xmin = 0.1, xmax = 1e4;
    for (size_t j = 0; j < s->nops; j++) {
        double x = s->ops[j].flops / s->ops[j].bytes;
        if (x > 0) {
            xmin = fmin(xmin, x / 3);
            xmax = fmax(xmax, x * 3);
        }
    }
    if ((rc = write_roof_data(s, keys, nkeys, xmin, xmax, dat_path, err)))
        return rc;

    char title[800], names[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < s->nchips && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 s->chips[i].name);
    snprintf(title, sizeof title,
             "roofline of %s%s%s\nlines: datasheet peaks; points: attained (calibrated) rates",
             names, s->title[0] ? ": " : "", s->title);
    afile *af;
    if ((rc = afile_open(gp_path, &af, err)))
        return rc;
    FILE *gp = afile_stream(af);
    gp_write_header(gp, "megasim roofline", gp_path, dat_path, out, svg, title);
    fprintf(gp, "xmin = %g\nxmax = %g\n", xmin, xmax);
    write_roof_vars(gp, s, keys, nkeys);
    if ((rc = gp_append_template(gp, tmpl_path, err)))
        afile_abort(af);
    else
        rc = afile_commit(af, err);
    return rc ? rc : gp_plot_draw(gp_path, dat_path, out, drawn, err);
}
