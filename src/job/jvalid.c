/* jvalid: see jvalid.h. */
#include "job/jvalid.h"

#include <glob.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"
#include "hw/calib.h"
#include "hw/kfit.h"
#include "hw/kmeas.h"
#include "net/coll.h"
#include "net/netfit.h"

#define CHIPS_ROW(T)                                                                               \
    {                                                                                              \
        "chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(T, chips),                \
            "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"                 \
    }

static const jopt validate_rows[] = {
    {"results", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, results),
     "measurements to use (repeatable; default: validation/published.csv and "
     "validation/results/*.csv)"},
    {"plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, plot),
     "draw predicted against measured (--system: against published) to FILE (.png or .svg)"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, json), "print JSON"},
    CHIPS_ROW(jvalid_job),
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, efficiency),
     "calibration to read (default: hwdb/efficiency.csv)"},
    {"network", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, network),
     "collectives instead: validation/published_net.csv against hwdb/network.csv"},
    {"system", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, system),
     "whole systems instead: published training runs and node power (validation/system/)"},
    {"cases", JOPT_STR, "DIR", NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, cases),
     "with --system: the case files to run (default: validation/system)"},
    {"kind", JOPT_STR, "K[,K]", NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, kinds),
     "with --system: only the cases of these kinds (train, power, serve, goodput)"},
    {"max-median", JOPT_STR, "X", NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, max_median),
     "with --system: fail when a kind's median |relative error| exceeds X (0.08 = 8%; or "
     "train=X,power=Y)"},
    {"max-worst", JOPT_STR, "X", NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, max_worst),
     "with --system: fail when a kind's worst |relative error| exceeds X"},
    {"markdown", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_job, markdown),
     "with --system: print the table as Markdown (for validation/system/README.md)"},
    {"uncertainty", JOPT_INT, "N", NULL, NULL, 1, 1e6, NULL, offsetof(jvalid_job, uncertainty),
     "with --system: run each case N more times with every kernel efficiency drawn from its "
     "fitted spread; give each its 10th-90th percentile band and the share of published "
     "figures inside their band (coverage)"},
    {"seed", JOPT_INT, "N", NULL, "1", 0, NAN, NULL, offsetof(jvalid_job, seed),
     "with --system --uncertainty: random seed of the draws"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL,
     offsetof(jvalid_job, keep_plot_data), "keep the plot's .dat and .gp files beside it"},
    {"jobs", JOPT_INT, "N", NULL, NULL, 1, 64, NULL, offsetof(jvalid_job, jobs),
     "with --system: cases run at a time, in worker processes (default: the processors online)"},
};

const jopt_table jvalid_options = {.rows = validate_rows,
                                   .n = sizeof validate_rows / sizeof validate_rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jvalid_job, given)};

static const jopt calibrate_rows[] = {
    {"results", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL,
     offsetof(jvalid_calibrate_job, results),
     "measurements to fit (repeatable; default as for validate)"},
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL,
     offsetof(jvalid_calibrate_job, efficiency),
     "calibration to update (default: hwdb/efficiency.csv)"},
    {"dry-run", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL,
     offsetof(jvalid_calibrate_job, dry_run), "print the fitted figures, write nothing"},
    {"network", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL,
     offsetof(jvalid_calibrate_job, network),
     "fit hwdb/network.csv to validation/published_net.csv instead"},
    CHIPS_ROW(jvalid_calibrate_job),
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jvalid_calibrate_job, json),
     "print the fitted figures as JSON"},
};

const jopt_table jvalid_calibrate_options = {.rows = calibrate_rows,
                                             .n = sizeof calibrate_rows / sizeof calibrate_rows[0],
                                             .track_given = 1,
                                             .given_off = offsetof(jvalid_calibrate_job, given)};

/* Every calibration kind, refined ones after their base. */
static const char *const kinds[JVALID_KINDS] = {
    "gemm",      "gemm_train",    "stream",           "quant",
    "attention", "attention_bwd", "attention_decode", "launch"};

const char *jvalid_kind(int k)
{
    return k >= 0 && k < JVALID_KINDS ? kinds[k] : NULL;
}

int jvalid_check(const jvalid_job *j, ms_err *err)
{
    if (j->network && j->system)
        return ms_errf(err, MS_EUSAGE,
                       "--network and --system are separate suites: give one (see 'megasim "
                       "validate --help')");
    if (!j->system && (j->cases || j->kinds || j->max_median || j->max_worst || j->markdown ||
                       j->uncertainty > 0 || j->jobs > 0))
        return ms_errf(err, MS_EUSAGE,
                       "--cases, --kind, --max-median, --max-worst, --markdown, --uncertainty "
                       "and --jobs go with --system (see 'megasim validate --help')");
    if (j->json && j->markdown)
        return ms_errf(err, MS_EUSAGE, "--json and --markdown: choose one");
    return MS_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void jvalid_median_worst(double *x, size_t n, double *median, double *worst)
{
    *median = *worst = NAN;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = fabs(x[i]);
    qsort(x, n, sizeof *x, cmp_double);
    *median = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
    *worst = x[n - 1];
}

/* Appends text to what (cap bytes), after ", " unless it is empty. */
static void append(char *what, size_t cap, const char *text)
{
    size_t used = strlen(what);
    snprintf(what + used, cap - used, "%s%s", used ? ", " : "", text);
}

/* The chip database and every measurement file of results, or the
 * defaults; what receives the files' names as a user reads them. */
static int load_rows(const jenv *env, const jopt_list *chips, const jopt_list *results,
                     chip_db **db, kmeas_set **set, char *what, size_t cap, ms_err *err)
{
    char devices[4096], path[4096];
    int rc = jenv_load_chips(env, chips, db, err);
    if (!rc)
        rc = jenv_path(env, "hwdb/devices.csv", devices, sizeof devices, err);
    if (!rc)
        rc = kmeas_new(*db, devices, set, err);
    if (rc)
        return rc;
    what[0] = '\0';
    for (int i = 0; i < results->n && !rc; i++) {
        rc = kmeas_add_file(*set, results->v[i], err);
        append(what, cap, results->v[i]);
    }
    if (results->n || rc)
        return rc;
    if ((rc = jenv_path(env, "validation/published.csv", path, sizeof path, err)) ||
        (rc = kmeas_add_file(*set, path, err)))
        return rc;
    append(what, cap, "validation/published.csv");
    if ((rc = jenv_path(env, "validation/results/*.csv", path, sizeof path, err)))
        return rc;
    glob_t g;
    if (glob(path, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
            rc = kmeas_add_file(*set, g.gl_pathv[i], err);
            const char *base = strstr(g.gl_pathv[i], "validation/results/");
            append(what, cap, base ? base : g.gl_pathv[i]);
        }
        globfree(&g);
    }
    return rc;
}

/* ---- validate: kernels ---- */

typedef struct verdict {
    double peak, cal;         /* predictions */
    double err_peak, err_cal; /* relative errors, NAN when no prediction */
    int held_out, borrowed;
    const char *measured_on;
} verdict;

static const char *unit_of(const kmeas_row *r)
{
    return r->metric == KMEAS_TIME ? "s" : r->metric == KMEAS_BYTE_RATE ? "B/s" : "FLOP/s";
}

/* Summary of the rows whose kind is kind (NULL: all) and, if held >= 0,
 * whose held-out flag is held. */
typedef struct stats {
    size_t n, npeak;
    double median, worst, median_peak, worst_peak;
} stats;

static stats collect(const kmeas_set *set, const verdict *v, const char *kind, int held)
{
    size_t n = kmeas_count(set);
    double *e = malloc((n ? n : 1) * sizeof *e), *ep = malloc((n ? n : 1) * sizeof *ep);
    stats st = {.median = NAN, .worst = NAN, .median_peak = NAN, .worst_peak = NAN};
    if (e && ep) {
        for (size_t i = 0; i < n; i++) {
            if ((kind && strcmp(kmeas_at(set, i)->kind, kind) != 0) ||
                (held >= 0 && v[i].held_out != held))
                continue;
            if (!isnan(v[i].err_cal))
                e[st.n++] = v[i].err_cal;
            if (!isnan(v[i].err_peak))
                ep[st.npeak++] = v[i].err_peak;
        }
        jvalid_median_worst(e, st.n, &st.median, &st.worst);
        jvalid_median_worst(ep, st.npeak, &st.median_peak, &st.worst_peak);
    }
    free(e);
    free(ep);
    return st;
}

/* The keys validate's JSON has always given a summary. */
static void stats_values(report *r, const stats *st)
{
    report_int(r, "rows", NULL, (int64_t)st->n, "");
    report_num(r, "median_rel_error", "median |error|", st->median, "%");
    report_num(r, "worst_rel_error", "worst |error|", st->worst, "%");
    report_num(r, "median_rel_error_at_peak", "median |error| at peak", st->median_peak, "%");
    report_num(r, "worst_rel_error_at_peak", "worst |error| at peak", st->worst_peak, "%");
}

/* The JSON's summary: every row, the held-out ones, each kind. */
static void kernel_stats(report *r, const kmeas_set *set, const verdict *v)
{
    stats all = collect(set, v, NULL, -1), held = collect(set, v, NULL, 1);
    report_begin_hidden(r, NULL);
    report_num(r, "median_rel_error", NULL, all.median, "%");
    report_num(r, "worst_rel_error", NULL, all.worst, "%");
    report_num(r, "median_rel_error_at_peak", NULL, all.median_peak, "%");
    report_num(r, "worst_rel_error_at_peak", NULL, all.worst_peak, "%");
    report_begin(r, "held_out", NULL);
    stats_values(r, &held);
    report_end(r);
    report_begin(r, "per_kind", NULL);
    for (int k = 0; k < JVALID_KINDS; k++) {
        stats st = collect(set, v, kinds[k], -1);
        if (!st.n && !st.npeak)
            continue;
        report_begin(r, kinds[k], NULL);
        stats_values(r, &st);
        report_end(r);
    }
    report_end(r);
    report_end(r);
}

static void kernel_row(report *r, const kmeas_row *row, const verdict *v)
{
    char note[96];
    snprintf(note, sizeof note, "%s%s%s", v->held_out ? "held out" : "",
             v->held_out && v->borrowed ? "; " : "",
             v->borrowed ? "borrows its family's figures" : "");
    report_row(r);
    report_str(r, "chip", NULL, row->chip->name);
    report_str(r, "kind", NULL, row->kind);
    report_str(r, "kernel", NULL, row->kernel);
    report_str(r, "shape", NULL, row->shape);
    report_str(r, "precision", "prec", ms_prec_name(row->prec));
    report_begin_hidden(r, NULL);
    report_str(r, "unit", NULL, unit_of(row));
    report_end(r);
    report_num(r, "measured", NULL, row->measured, unit_of(row));
    report_num(r, "predicted_at_peak", "at peak", v->peak, unit_of(row));
    report_num(r, "predicted", "calibrated", v->cal, unit_of(row));
    report_num(r, "rel_error_at_peak", "error at peak", v->err_peak, "%");
    report_num(r, "rel_error", "error", v->err_cal, "%");
    report_begin_hidden(r, NULL);
    report_bool(r, "held_out", NULL, v->held_out);
    report_str(r, "calibrated_on", NULL,
               v->measured_on && v->measured_on[0] ? v->measured_on : NULL);
    report_str(r, "source", NULL, row->source);
    report_end(r);
    report_str(r, "note", NULL, note[0] ? note : NULL);
}

/* The text's summary: per kind, every row, the rows fitted, held out. */
static void summary_row(report *r, const char *name, const stats *st)
{
    report_row(r);
    report_str(r, "kind", NULL, name);
    report_int(r, "rows", NULL, (int64_t)st->n, "");
    report_num(r, "median_rel_error_at_peak", "median |error| at peak", st->median_peak, "%");
    report_num(r, "median_rel_error", "median |error| calibrated", st->median, "%");
    report_num(r, "worst_rel_error_at_peak", "worst |error| at peak", st->worst_peak, "%");
    report_num(r, "worst_rel_error", "worst |error| calibrated", st->worst, "%");
}

static void kernel_summary(report *r, const kmeas_set *set, const verdict *v)
{
    report_table(r, "summary",
                 "median and worst |error| per kind, at datasheet peak and calibrated (held out: "
                 "one row in five per group, never fitted)");
    for (int k = 0; k <= JVALID_KINDS; k++) {
        stats st = collect(set, v, k < JVALID_KINDS ? kinds[k] : NULL, -1);
        if (st.n || st.npeak)
            summary_row(r, k < JVALID_KINDS ? kinds[k] : "all", &st);
    }
    stats fit = collect(set, v, NULL, 0), held = collect(set, v, NULL, 1);
    summary_row(r, "in the fit", &fit);
    summary_row(r, "held out", &held);
    report_table_end(r);
}

static int validate_kernels(const jvalid_job *j, const jenv *env, report *r, jvalid_out *out,
                            ms_err *err)
{
    chip_db *db = NULL;
    kmeas_set *set = NULL;
    calib *cal = NULL;
    verdict *v = NULL;
    char what[1024], path[4096];
    int rc = load_rows(env, &j->chips, &j->results, &db, &set, what, sizeof what, err);
    const char *eff = j->efficiency ? jenv_find(env, j->efficiency, path, sizeof path) : NULL;
    if (!rc && !eff && !(rc = jenv_path(env, "hwdb/efficiency.csv", path, sizeof path, err)))
        eff = path;
    if (!rc)
        rc = calib_load(eff, &cal, err);
    size_t n = rc ? 0 : kmeas_count(set);
    if (!rc &&
        (!(v = calloc(n + 1, sizeof *v)) || !(out->points = calloc(n + 1, sizeof *out->points))))
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const kmeas_row *row = kmeas_at(set, i);
        roof_eff peak = ROOF_EFF_PEAK, e = calib_eff(cal, row->chip, row->kind, row->prec);
        v[i].peak = kmeas_predict(row, &peak);
        v[i].cal = kmeas_predict(row, &e);
        v[i].err_peak = (v[i].peak - row->measured) / row->measured;
        v[i].err_cal = (v[i].cal - row->measured) / row->measured;
        v[i].held_out = kfit_held_out(set, i);
        v[i].measured_on = e.measured_on;
        v[i].borrowed = e.measured_on && !names_has(e.measured_on, row->chip->name);
        jvalid_point *p = &out->points[out->n++];
        *p = (jvalid_point){.kind = -1,
                            .measured = row->measured,
                            .predicted = v[i].cal,
                            .predicted_at_peak = v[i].peak};
        for (int k = 0; k < JVALID_KINDS; k++)
            if (strcmp(row->kind, kinds[k]) == 0)
                p->kind = k;
    }
    report_version(r, env->version);
    jopt_report_inputs(&jvalid_options, j, r);
    report_str(r, "results", "measurements from", what);
    report_int(r, "rows", "kernel rows", (int64_t)n, "");
    kernel_stats(r, set, v);
    report_table(r, "rows",
                 "each row predicted with the chip's datasheet peaks and with the calibration");
    for (size_t i = 0; i < n; i++)
        kernel_row(r, kmeas_at(set, i), &v[i]);
    report_table_end(r);
    kernel_summary(r, set, v);
out:
    free(v);
    calib_free(cal);
    kmeas_free(set);
    chip_db_free(db);
    return rc;
}

/* ---- validate --network ---- */

/* Network rows: validation/published_net.csv, with the chips. */
static int load_net(const jenv *env, const jopt_list *chips, chip_db **db, netfit **nf, ms_err *err)
{
    char path[4096];
    int rc = jenv_load_chips(env, chips, db, err);
    if (!rc)
        rc = jenv_path(env, "validation/published_net.csv", path, sizeof path, err);
    if (!rc)
        rc = netfit_load(path, *db, nf, err);
    return rc;
}

/* What the text shows beside a network row: fitted or held out, and how
 * it was predicted; or why it is not. */
static void net_note(const netfit *nf, size_t i, const coll_params *cp, char *buf, size_t cap)
{
    const netfit_row *row = netfit_at(nf, i);
    const char *as = netfit_algo(nf, i, cp);
    if (row->why_not) {
        snprintf(buf, cap, "%s", row->why_not);
        return;
    }
    snprintf(buf, cap, "%s%s%s",
             row->held_out ? "held out; "
             : row->fit    ? "fitted; "
                           : "",
             strcmp(row->algo, "default") == 0 ? "NCCL's default as " : "as ", as ? as : "-");
    if (row->at_why) { /* a figure given in prose: the size it is predicted at, and why */
        char b[32];
        snprintf(buf + strlen(buf), cap - strlen(buf), " at %s (%s)",
                 report_format(row->at_bytes, "B", b, sizeof b), row->at_why);
    }
}

static void net_row(report *r, const netfit *nf, size_t i, const coll_params *cp)
{
    const coll_params ideal = COLL_PARAMS_IDEAL;
    const netfit_row *row = netfit_at(nf, i);
    double p = netfit_predict(nf, i, cp), p0 = netfit_predict(nf, i, &ideal);
    char note[160];
    net_note(nf, i, cp, note, sizeof note);
    report_row(r);
    report_str(r, "chip", NULL, row->chip->name);
    report_int(r, "gpus", NULL, row->gpus, "");
    report_str(r, "op", NULL, row->op);
    report_str(r, "algo", NULL, row->algo);
    report_begin_hidden(r, NULL);
    const char *as = netfit_algo(nf, i, cp);
    report_str(r, "predicted_as", NULL, as && as[0] ? as : NULL);
    report_end(r);
    report_num(r, "bytes", NULL, row->bytes, "B");
    report_begin_hidden(r, NULL);
    report_num(r, "predicted_at_bytes", NULL, row->at_bytes, "B");
    report_end(r);
    report_num(r, "busbw_Bps", "measured", row->busbw_Bps, "B/s");
    report_num(r, "ideal_busbw_Bps", "ideal", p0, "B/s");
    report_num(r, "predicted_busbw_Bps", "calibrated", p, "B/s");
    report_num(r, "rel_error_ideal", "error ideal", (p0 - row->busbw_Bps) / row->busbw_Bps, "%");
    report_num(r, "rel_error", "error", (p - row->busbw_Bps) / row->busbw_Bps, "%");
    report_begin_hidden(r, NULL);
    report_bool(r, "fitted", NULL, row->fit && !row->held_out);
    report_bool(r, "held_out", NULL, row->held_out);
    report_str(r, "not_modelled", NULL, row->why_not && row->why_not[0] ? row->why_not : NULL);
    report_str(r, "source", NULL, row->source);
    report_end(r);
    report_str(r, "note", NULL, note);
}

/* The medians and worst over the predicted rows: calibrated (rows not
 * held out), with ideal links (every row), held out. */
static int net_summary(report *r, const netfit *nf, const coll_params *cp, ms_err *err)
{
    const coll_params ideal = COLL_PARAMS_IDEAL;
    size_t n = netfit_count(nf), ne = 0, ne0 = 0, neh = 0;
    double *e = calloc(n + 1, sizeof *e), *e0 = calloc(n + 1, sizeof *e0),
           *eh = calloc(n + 1, sizeof *eh);
    int rc = e && e0 && eh ? MS_OK : ms_errf(err, MS_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        const netfit_row *row = netfit_at(nf, i);
        double p = netfit_predict(nf, i, cp), p0 = netfit_predict(nf, i, &ideal);
        if (isnan(p) || !(row->busbw_Bps > 0))
            continue;
        if (row->held_out)
            eh[neh++] = (p - row->busbw_Bps) / row->busbw_Bps;
        else
            e[ne++] = (p - row->busbw_Bps) / row->busbw_Bps;
        e0[ne0++] = (p0 - row->busbw_Bps) / row->busbw_Bps;
    }
    double med, worst, med0, worst0, medh, worsth;
    if (!rc) {
        jvalid_median_worst(e, ne, &med, &worst);
        jvalid_median_worst(e0, ne0, &med0, &worst0);
        jvalid_median_worst(eh, neh, &medh, &worsth);
        report_begin(r, NULL, "summary");
        report_int(r, "rows_compared", "rows predicted and compared (held out apart)", (int64_t)ne,
                   "");
        report_num(r, "median_rel_error", "median |error|, calibrated", med, "%");
        report_num(r, "worst_rel_error", "worst |error|, calibrated", worst, "%");
        report_num(r, "median_rel_error_ideal", "median |error|, ideal links", med0, "%");
        report_int(r, "held_out_rows", "rows held out of the fit", (int64_t)neh, "");
        report_num(r, "held_out_median_rel_error", "median |error|, held out", medh, "%");
        report_end(r);
    }
    free(e);
    free(e0);
    free(eh);
    return rc;
}

static int validate_network(const jvalid_job *j, const jenv *env, report *r, ms_err *err)
{
    chip_db *db = NULL;
    netfit *nf = NULL;
    char path[4096];
    coll_params cp = COLL_PARAMS_IDEAL;
    int rc = load_net(env, &j->chips, &db, &nf, err);
    if (!rc)
        rc = jenv_path(env, "hwdb/network.csv", path, sizeof path, err);
    if (!rc)
        rc = coll_params_load(path, &cp, err);
    if (!rc) {
        report_version(r, env->version);
        jopt_report_inputs(&jvalid_options, j, r);
        report_table(r, "rows",
                     "bus bandwidth measured (validation/published_net.csv) and predicted with "
                     "ideal links and with hwdb/network.csv");
        for (size_t i = 0; i < netfit_count(nf); i++)
            net_row(r, nf, i, &cp);
        report_table_end(r);
        rc = net_summary(r, nf, &cp, err);
    }
    netfit_free(nf);
    chip_db_free(db);
    return rc;
}

int jvalid_run(const jvalid_job *j, const jenv *env, report *r, jvalid_out *out, ms_err *err)
{
    *out = (jvalid_out){0};
    int rc = jvalid_check(j, err);
    if (rc)
        return rc;
    if (j->system)
        return ms_errf(err, MS_EINVAL, "validate --system runs through jsystem_run");
    return j->network ? validate_network(j, env, r, err) : validate_kernels(j, env, r, out, err);
}

void jvalid_out_free(jvalid_out *out)
{
    free(out->points);
    *out = (jvalid_out){0};
}

/* ---- calibrate ---- */

/* Where the fit goes, and whether it went. */
static void written(report *r, const char *file, int dry_run, const char *check)
{
    report_str(r, "file", dry_run ? "not written (dry run)" : "written to", file);
    report_bool(r, "written", NULL, !dry_run);
    if (!dry_run)
        report_str(r, "check_with", "see the errors before and after with", check);
}

static int calibrate_network(const jvalid_calibrate_job *j, const jenv *env, report *r, ms_err *err)
{
    chip_db *db = NULL;
    netfit *nf = NULL;
    coll_params cp;
    char path[4096];
    int rc = load_net(env, &j->chips, &db, &nf, err);
    if (!rc)
        rc = netfit_run(nf, &cp, err);
    if (!rc)
        rc = jenv_path(env, "hwdb/network.csv", path, sizeof path, err);
    if (!rc && !j->dry_run)
        rc = netfit_write(path, &cp, nf, err);
    if (!rc) {
        report_version(r, env->version);
        jopt_report_inputs(&jvalid_calibrate_options, j, r);
        report_num(r, "scale_up_efficiency", "scale-up links: efficiency",
                   cp.eff[TOPO_LINK_SCALEUP], "%");
        report_num(r, "scale_up_step_s", "scale-up links: cost of a step",
                   cp.alpha_s[TOPO_LINK_SCALEUP], "s");
        report_num(r, "nic_efficiency", "NIC and fabric links: efficiency", cp.eff[TOPO_LINK_NIC],
                   "%");
        report_num(r, "nic_step_s", "NIC and fabric links: cost of a step",
                   cp.alpha_s[TOPO_LINK_NIC], "s");
        report_num(r, "nvls_efficiency", "NVLS (in-switch reduction) on scale-up links",
                   cp.eff[COLL_EFF_NVLS], "%");
        report_num(r, "nccl_channel_Bps", "one NCCL channel through a NIC, at most", cp.chan_Bps,
                   "B/s");
        report_num(r, "deepep_ll_efficiency", "DeepEP low-latency kernels: share of link rates",
                   cp.ll_eff, "%");
        report_num(r, "deepep_ll_fixed_s", "DeepEP low-latency kernels: fixed cost", cp.ll_alpha_s,
                   "s");
        report_num(r, "bandwidth_log_sd",
                   "spread of log(predicted / measured), fitted rows of 64 MiB and up",
                   cp.eff_log_sd[TOPO_LINK_NIC], "");
        report_num(r, "deepep_ll_log_sd", "the same over DeepEP's low-latency rows", cp.ll_log_sd,
                   "");
        written(r, path, j->dry_run, "megasim validate --network");
    }
    netfit_free(nf);
    chip_db_free(db);
    return rc;
}

/* An overlap exponent as calibrate prints it: "max" for 0 (the roofline's
 * max), else the number. */
static const char *overlap_name(double p, char *buf, size_t cap)
{
    snprintf(buf, cap, p > 0 ? "%g" : "max", p);
    return buf;
}

static void group_row(report *r, const kfit_group *g)
{
    report_row(r);
    report_str(r, "family", NULL, g->family);
    report_str(r, "kind", NULL, g->kind);
    report_str(r, "precision", "prec", g->prec_key < 0 ? "*" : ms_prec_name((ms_prec)g->prec_key));
    report_num(r, "compute", NULL, g->has_compute ? g->eff.compute : NAN, "%");
    report_num(r, "memory", NULL, g->has_memory ? g->eff.memory : NAN, "%");
    report_num(r, "overhead_s", "overhead", g->has_overhead ? g->eff.overhead_s : NAN, "s");
    char p_text[16];
    report_str(r, "overlap_p", "p", overlap_name(g->eff.overlap_p, p_text, sizeof p_text));
    report_num(r, "log_sd", "spread", g->log_sd, "");
    /* How far the fit itself may be off, each figure: its log's standard
     * error, the spread times the root of its variance in log_cov. */
    double cse = g->has_compute ? g->log_sd * sqrt(g->log_cov[calib_cov_at(0, 0)]) : NAN;
    double mse = g->has_memory ? g->log_sd * sqrt(g->log_cov[calib_cov_at(1, 1)]) : NAN;
    report_num(r, "compute_log_se", "compute +-", cse, "");
    report_num(r, "memory_log_se", "memory +-", mse, "");
    report_int(r, "rows", NULL, (int64_t)g->ntrain, "");
    report_int(r, "held_out", "held", (int64_t)g->nheld, "");
    report_str(r, "measured_on", "measured on", g->measured_on);
}

/* The overlap table's description, which names the threshold. */
_Static_assert(KFIT_OWN_P_ROWS == 100, "overlap_table_what says 100 rows");
_Static_assert(KFIT_P_PER_UNIT == 8, "overlap_table_what says the nearest eighth");
static const char overlap_table_what[] =
    "how compute and memory time combine, (tc^p + tm^p)^(1/p), one p shared by every group of "
    "fewer than 100 fitted rows: each tried, with the sum over their rows of log(predicted / "
    "measured)^2; 'max' is the roofline's (perfect overlap); the best of the grid is refined "
    "between its neighbours and rounded to the nearest eighth (the last rows). A group of more "
    "rows picks its own of the grid (column p below)";

int jvalid_calibrate_run(const jvalid_calibrate_job *j, const jenv *env, report *r, ms_err *err)
{
    if (j->network)
        return calibrate_network(j, env, r, err);
    chip_db *db = NULL;
    kmeas_set *set = NULL;
    kfit_group *groups = NULL;
    size_t ng = 0;
    kfit_overlap ov = {0};
    char what[1024], path[4096];
    int rc = load_rows(env, &j->chips, &j->results, &db, &set, what, sizeof what, err);
    if (!rc)
        rc = kfit_run(set, &groups, &ng, &ov, err);
    if (!rc && !j->efficiency)
        rc = jenv_path(env, "hwdb/efficiency.csv", path, sizeof path, err);
    const char *eff = j->efficiency ? j->efficiency : path;
    if (!rc && !j->dry_run)
        rc = kfit_write(eff, eff, groups, ng, what, err);
    if (!rc) {
        report_version(r, env->version);
        jopt_report_inputs(&jvalid_calibrate_options, j, r);
        report_str(r, "results", "measurements from", what);
        written(r, eff, j->dry_run, "megasim validate");
        report_table(r, "overlap", overlap_table_what);
        for (size_t i = 0; i < KFIT_OVERLAP_N; i++) {
            char p_text[16];
            double p = kfit_overlap_grid[i];
            report_row(r);
            report_str(r, "p", NULL, overlap_name(p, p_text, sizeof p_text));
            report_num(r, "sum_sq_log_error", "sum of squares", ov.ss[i], "");
            report_str(r, "chosen", NULL,
                       p == ov.p        ? "yes"
                       : p == ov.p_grid ? "the grid's best"
                                        : "");
        }
        if (ov.p_refined != ov.p_grid) {
            char p_text[16];
            report_row(r);
            report_str(r, "p", NULL, overlap_name(ov.p_refined, p_text, sizeof p_text));
            report_num(r, "sum_sq_log_error", "sum of squares", ov.ss_refined, "");
            report_str(r, "chosen", NULL, ov.p == ov.p_refined ? "yes, refined" : "the least");
        }
        if (ov.p != ov.p_grid && ov.p != ov.p_refined) {
            char p_text[16];
            report_row(r);
            report_str(r, "p", NULL, overlap_name(ov.p, p_text, sizeof p_text));
            report_num(r, "sum_sq_log_error", "sum of squares", ov.ss_p, "");
            report_str(r, "chosen", NULL, "yes, the least to the nearest eighth");
        }
        report_table_end(r);
        report_table(r, "groups",
                     "fitted per chip family, kind and precision (compute and memory: "
                     "efficiency against datasheet peak; overhead: per operation; spread: standard "
                     "deviation of log(predicted / measured), blank for too few rows; +-: "
                     "the standard error of the figure's log, the spread times the root of its "
                     "variance in the fit's covariance, log_cov)");
        for (size_t i = 0; i < ng; i++)
            group_row(r, &groups[i]);
        report_table_end(r);
    }
    free(groups);
    kmeas_free(set);
    chip_db_free(db);
    return rc;
}
