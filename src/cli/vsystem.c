/* megasim validate --system: published whole-system outcomes (a training
 * run's GPU-hours, Megatron's teraFLOP/s per GPU, a node's power) held
 * against what megasim predicts for the same plan. One JSON file per case
 * under validation/system/: the scenario, the published figure with its
 * unit, source and confidence, and how the source counts it. These are
 * predictions to check, never targets: nothing here feeds calibration. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/vsystem.h"
#include "cli/commands.h"
#include "io/gnuplot.h"
#include "model/model.h"

/* X(enum, key, needs a counting convention) */
#define VS_METRIC_MAP(X)                                                                           \
    X(VS_STEP_TIME, "step_time_s", 0)                                                              \
    X(VS_GPUH_PER_T, "gpu_hours_per_trillion_tokens", 0)                                           \
    X(VS_GPUH, "gpu_hours", 0)                                                                     \
    X(VS_TOKENS_PER_GPU, "tokens_per_s_per_gpu", 0)                                                \
    X(VS_TFLOPS, "tflops_per_gpu", 1)                                                              \
    X(VS_NODE_PEAK, "node_power_peak_w", 0)                                                        \
    X(VS_NODE_MEAN, "node_power_mean_w", 0)

typedef enum vs_metric {
#define VS_ENUM(e, key, c) e,
    VS_METRIC_MAP(VS_ENUM)
#undef VS_ENUM
        VS_METRICS
} vs_metric;

static const char *const metric_keys[] = {
#define VS_KEY(e, key, c) key,
    VS_METRIC_MAP(VS_KEY)
#undef VS_KEY
};
static const int metric_counted[] = {
#define VS_COUNTED(e, key, c) c,
    VS_METRIC_MAP(VS_COUNTED)
#undef VS_COUNTED
};

/* How a source counts FLOPs: model_megatron_flops_per_token's flag. */
static const struct {
    const char *name;
    int recompute_counted;
} countings[] = {{"megatron-2021", 1}, {"megatron-core", 0}};

static const char *const kinds[] = {"train", "power"};

static const char *const known_fields[] = {"case",       "kind",        "metric",  "counting",
                                           "published",  "unit",        "counts",  "source",
                                           "confidence", "assumptions", "scenario"};

#define VS_NAME 128
#define VS_TEXT 96

typedef struct vs_case {
    char file[600];     /* as shown: validation/system/x.json */
    char name[VS_NAME]; /* "case" */
    char kind[16], metric[48], unit[VS_TEXT];
    double published, predicted, rel_error;
    char parts[2][64];
    double parts_frac[2];                   /* of the step */
    double memory_B;                        /* per GPU, where the run reports it */
    int fits;                               /* -1 unknown */
    char error[sizeof(((ms_err *)0)->msg)]; /* non-empty: the case failed */
} vs_case;

static int field_err(ms_err *err, const char *file, const char *field, const char *what)
{
    return ms_errf(err, MS_EINVAL, "%s: field '%s': %s", file, field, what);
}

static int need_string(const cJSON *root, const char *file, const char *key, const char **out,
                       ms_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return field_err(err, file, key, v ? "expected a non-empty string" : "missing");
    *out = v->valuestring;
    return MS_OK;
}

double vs_rel_error(double predicted, double published)
{
    return predicted / published - 1;
}

/* The case's scenario as an object: inline, or the file it names (as
 * given, else under the data directory); *owned is what to delete. */
static int case_scenario(const cJSON *root, const char *file, const cJSON **sc, cJSON **owned,
                         ms_err *err)
{
    *owned = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "scenario");
    if (cJSON_IsObject(v)) {
        *sc = v;
        return MS_OK;
    }
    if (!cJSON_IsString(v))
        return field_err(err, file, "scenario",
                         v ? "expected a scenario object or the path of a scenario file"
                           : "missing");
    char path[4096];
    const char *p = cli_data_path(v->valuestring, path, sizeof path);
    ms_err read_err = {0};
    char *text = cli_read_file(p, &read_err);
    if (!text)
        return ms_errf(err, read_err.code, "%s: field 'scenario': %s", file, read_err.msg);
    *owned = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(*owned)) {
        cJSON_Delete(*owned);
        *owned = NULL;
        return ms_errf(err, MS_EPARSE, "%s: field 'scenario': %s is not a JSON object", file,
                       v->valuestring);
    }
    *sc = *owned;
    return MS_OK;
}

/* The two largest parts of breakdown_s, as fractions of the step. */
static void largest_parts(const cJSON *run, vs_case *c)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(run, "breakdown_s");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(run, "step_time_s");
    double step = cJSON_IsNumber(st) ? st->valuedouble : NAN;
    const cJSON *top[2] = {NULL, NULL}, *x;
    cJSON_ArrayForEach(x, b)
    {
        if (!cJSON_IsNumber(x))
            continue;
        if (!top[0] || x->valuedouble > top[0]->valuedouble) {
            top[1] = top[0];
            top[0] = x;
        } else if (!top[1] || x->valuedouble > top[1]->valuedouble) {
            top[1] = x;
        }
    }
    for (int i = 0; i < 2; i++) {
        c->parts_frac[i] = NAN;
        if (top[i] && step > 0) {
            snprintf(c->parts[i], sizeof c->parts[i], "%s", top[i]->string);
            c->parts_frac[i] = top[i]->valuedouble / step;
        }
    }
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Runs one case file; a failure is kept in c->error, not returned. */
static void run_case(const char *path, const char *shown, int nextra, char **extra, vs_case *c)
{
    ms_err err = {0};
    cJSON *root = NULL, *owned = NULL, *run = NULL;
    *c = (vs_case){.published = NAN,
                   .predicted = NAN,
                   .rel_error = NAN,
                   .memory_B = NAN,
                   .fits = -1,
                   .parts_frac = {NAN, NAN}};
    snprintf(c->file, sizeof c->file, "%s", shown);
    snprintf(c->name, sizeof c->name, "%.127s", shown);
    int rc = MS_OK;
    ms_err read_err = {0};
    char *text = cli_read_file(path, &read_err);
    if (!text) {
        /* named as listed, not by the full path read */
        rc = ms_errf(&err, read_err.code, "%s: %s", shown, ms_code_text(read_err.code));
        goto out;
    }
    root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        rc = ms_errf(&err, MS_EPARSE, "%s: not a JSON object%s", shown,
                     root ? "" : " (malformed JSON)");
        goto out;
    }
    const cJSON *x;
    cJSON_ArrayForEach(x, root)
    {
        size_t k = 0;
        while (k < sizeof known_fields / sizeof known_fields[0] &&
               strcmp(known_fields[k], x->string) != 0)
            k++;
        if (k == sizeof known_fields / sizeof known_fields[0]) {
            rc = field_err(&err, shown, x->string,
                           "not a field of a case (case, kind, metric, counting, published, "
                           "unit, counts, source, confidence, assumptions, scenario)");
            goto out;
        }
    }
    const char *s = NULL;
    if ((rc = need_string(root, shown, "case", &s, &err)))
        goto out;
    snprintf(c->name, sizeof c->name, "%s", s);
    if ((rc = need_string(root, shown, "kind", &s, &err)))
        goto out;
    if (strcmp(s, "train") != 0 && strcmp(s, "power") != 0) {
        rc = field_err(&err, shown, "kind", "expected train or power");
        goto out;
    }
    snprintf(c->kind, sizeof c->kind, "%s", s);
    if ((rc = need_string(root, shown, "metric", &s, &err)))
        goto out;
    int metric = -1;
    for (int k = 0; k < VS_METRICS; k++)
        if (strcmp(metric_keys[k], s) == 0)
            metric = k;
    if (metric < 0) {
        char list[512] = "";
        for (int k = 0; k < VS_METRICS; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                     metric_keys[k]);
        rc = ms_errf(&err, MS_EINVAL, "%s: field 'metric': unknown metric '%s' (known: %s)", shown,
                     s, list);
        goto out;
    }
    snprintf(c->metric, sizeof c->metric, "%s", s);
    int counting = -1;
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive(root, "counting");
    if (metric_counted[metric]) {
        if (!cJSON_IsString(cv)) {
            rc = field_err(&err, shown, "counting",
                           "expected how the source counts FLOPs: megatron-2021 or "
                           "megatron-core");
            goto out;
        }
        for (size_t k = 0; k < sizeof countings / sizeof countings[0]; k++)
            if (strcmp(countings[k].name, cv->valuestring) == 0)
                counting = (int)k;
        if (counting < 0) {
            rc = ms_errf(&err, MS_EINVAL,
                         "%s: field 'counting': unknown '%s' (megatron-2021 or megatron-core)",
                         shown, cv->valuestring);
            goto out;
        }
    } else if (cv) {
        rc = field_err(&err, shown, "counting", "only a FLOP-rate metric takes a counting");
        goto out;
    }
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(root, "published");
    if (!cJSON_IsNumber(pv) || !isfinite(pv->valuedouble) || pv->valuedouble <= 0) {
        rc = field_err(&err, shown, "published",
                       pv ? "expected a positive number (the published figure in the case's unit)"
                          : "missing: the published figure is what the case checks");
        goto out;
    }
    c->published = pv->valuedouble;
    if ((rc = need_string(root, shown, "unit", &s, &err)))
        goto out;
    snprintf(c->unit, sizeof c->unit, "%s", s);
    if ((rc = need_string(root, shown, "source", &s, &err)))
        goto out;
    const cJSON *sc = NULL;
    if ((rc = case_scenario(root, shown, &sc, &owned, &err)))
        goto out;
    const cJSON *cmdv = cJSON_GetObjectItemCaseSensitive(sc, "command");
    if (!cJSON_IsString(cmdv) || strcmp(cmdv->valuestring, "train") != 0) {
        rc = ms_errf(&err, MS_EINVAL,
                     "%s: scenario field 'command': expected \"train\" (a system case runs a "
                     "training step), got %s%s%s",
                     shown, cJSON_IsString(cmdv) ? "\"" : "",
                     cJSON_IsString(cmdv) ? cmdv->valuestring : "none",
                     cJSON_IsString(cmdv) ? "\"" : "");
        goto out;
    }
    char label[640];
    snprintf(label, sizeof label, "%s: scenario", shown);
    if ((rc = cli_run_scenario_obj(sc, label, nextra, extra, "train", &run, &err))) {
        /* The command's own message, with the case it came from. */
        char msg[sizeof err.msg];
        snprintf(msg, sizeof msg, "%s", err.msg);
        ms_errf(&err, rc, "%s: scenario failed: %s", shown, msg);
        goto out;
    }
    largest_parts(run, c);
    c->memory_B = num(run, "memory_per_gpu_bytes");
    const cJSON *fits = cJSON_GetObjectItemCaseSensitive(run, "fits");
    c->fits = cJSON_IsBool(fits) ? cJSON_IsTrue(fits) : -1;
    double v = NAN;
    switch ((vs_metric)metric) {
    case VS_STEP_TIME:
    case VS_GPUH_PER_T:
    case VS_GPUH:
    case VS_TOKENS_PER_GPU:
    case VS_NODE_PEAK:
    case VS_NODE_MEAN:
        v = num(run, metric_keys[metric]);
        break;
    case VS_TFLOPS: {
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(sc, "model");
        const cJSON *plan = cJSON_GetObjectItemCaseSensitive(run, "plan");
        model m;
        if (!cJSON_IsString(mv)) {
            rc = ms_errf(&err, MS_EINVAL, "%s: scenario field 'model': expected a model file",
                         shown);
            goto out;
        }
        if ((rc = cli_load_model(mv->valuestring, &m, &err)))
            goto out;
        double seq = num(plan, "seq"), batch = num(plan, "global_batch"), gpus = num(plan, "gpus");
        double flops =
            model_megatron_flops_per_token(&m, (int64_t)seq, countings[counting].recompute_counted);
        v = flops * seq * batch / num(run, "step_time_s") / gpus / 1e12;
        break;
    }
    case VS_METRICS:
        break;
    }
    if (!isfinite(v) || v <= 0) {
        rc = ms_errf(&err, MS_EINVAL,
                     "%s: field 'metric': the run reports no %s (is its power database "
                     "missing the chip?)",
                     shown, metric_keys[metric]);
        goto out;
    }
    c->predicted = v;
    c->rel_error = vs_rel_error(v, c->published);
out:
    if (rc)
        snprintf(c->error, sizeof c->error, "%s", err.msg[0] ? err.msg : "failed");
    cJSON_Delete(run);
    cJSON_Delete(owned);
    cJSON_Delete(root);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void vs_summary(const double *rel_errors, size_t n, double *median, double *worst)
{
    *median = *worst = NAN;
    if (n == 0)
        return;
    double *e = malloc(n * sizeof *e);
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        e[i] = fabs(rel_errors[i]);
    qsort(e, n, sizeof *e, cmp_double);
    *median = n % 2 ? e[n / 2] : (e[n / 2 - 1] + e[n / 2]) / 2;
    *worst = e[n - 1];
    free(e);
}

typedef struct vs_stats {
    size_t n, failed;
    double median, worst;
} vs_stats;

static vs_stats stats_of(const vs_case *cs, size_t n, const char *kind)
{
    vs_stats st = {.median = NAN, .worst = NAN};
    double *e = malloc((n + 1) * sizeof *e);
    if (!e)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cs[i].kind, kind) != 0)
            continue;
        if (cs[i].error[0])
            st.failed++;
        else
            e[st.n++] = cs[i].rel_error;
    }
    vs_summary(e, st.n, &st.median, &st.worst);
    free(e);
    return st;
}

/* The panel a case is drawn in: its family (the first word of its name,
 * "T5") and its unit, so that clusters of one source stay readable. */
static void panel_key(const vs_case *c, char *buf, size_t cap)
{
    size_t w = strcspn(c->name, " ");
    snprintf(buf, cap, "%.*s: %s", (int)(w < 16 ? w : 16), c->name, c->unit);
}

/* A tick label: v to two significant figures with an SI prefix ("14k"). */
static void tick_label(double v, char *buf, size_t cap)
{
    static const char *const prefix[] = {"", "k", "M", "G", "T"};
    int p = 0;
    while (p < 4 && fabs(v) >= 1000) {
        v /= 1000;
        p++;
    }
    snprintf(buf, cap, "%.3g%s", v, prefix[p]);
}

/* Writes "set NAMEtics (...)" with about six ticks at round values
 * spaced evenly on a log axis from a to b. */
static void log_ticks(FILE *g, const char *axis, double a, double b)
{
    double step = pow(b / a, 1.0 / 6);
    fprintf(g, "set %stics (", axis);
    for (int i = 0; i <= 6; i++) {
        double v = a * pow(step, i + 0.5);
        double mag = pow(10, floor(log10(v)) - 1);
        v = round(v / mag) * mag; /* two significant figures */
        char label[32];
        tick_label(v, label, sizeof label);
        fprintf(g, "%s\"%s\" %.6g", i ? ", " : "", label, v);
    }
    fprintf(g, ")\n");
}

/* Plot: one panel per family and unit, predicted against published on
 * log-log axes, y = x and a +-10% band. Each point carries a number, and
 * a list beside the panel names the numbers with their errors, so that a
 * cluster of cases stays readable. */
static int write_plot(const vs_case *cs, size_t n, const char *out, int *drawn, ms_err *err)
{
    char dat[4200], gp[4200];
    int svg, rc = cli_plot_paths(out, dat, sizeof dat, gp, sizeof gp, &svg, err);
    if (rc)
        return rc;
    enum { MAXP = 16 };
    char panels[MAXP][VS_TEXT + 24];
    size_t np = 0, unplotted = 0;
    for (size_t i = 0; i < n; i++) {
        if (cs[i].error[0])
            continue;
        char key[sizeof panels[0]];
        panel_key(&cs[i], key, sizeof key);
        size_t u = 0;
        while (u < np && strcmp(panels[u], key) != 0)
            u++;
        if (u == np && np < MAXP)
            snprintf(panels[np++], sizeof panels[0], "%s", key);
        else if (u == np)
            unplotted++;
    }
    if (unplotted)
        fprintf(stderr,
                "megasim validate: the plot draws at most %d panels (family: unit); %zu case(s) of "
                "further panels are in the table only\n",
                MAXP, unplotted);
    FILE *f = fopen(dat, "w");
    if (!f)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", dat, strerror(errno));
    FILE *g = fopen(gp, "w");
    if (!g) {
        fclose(f);
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", gp, strerror(errno));
    }
    int cols = np > 1 ? 2 : 1, rows = (int)((np + 1) / 2);
    if (rows < 1)
        rows = 1;
    int wpx = 820 * cols, hpx = 520 * rows + 40;
    fprintf(g, "# written by megasim validate --system; draw with: gnuplot %s\n", gp);
    if (svg)
        fprintf(g, "set terminal svg size %d,%d dynamic noenhanced font \"sans,11\"\n", wpx, hpx);
    else
        fprintf(g,
                "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo size "
                "%d,%d noenhanced font \"sans,11\" } else { set terminal png size %d,%d "
                "noenhanced }\n",
                wpx, hpx, wpx, hpx);
    gp_write_style(g);
    fprintf(g, "set output ");
    gp_write_string(g, out);
    fprintf(g,
            "\nset multiplot layout %d,%d title \"megasim validate --system: predicted "
            "against published (grey band: within 10%%)\"\n",
            rows, cols);
    fprintf(g, "set logscale xy\nset grid\nset key top left\nset xlabel \"published\"\n"
               "set ylabel \"predicted\"\nset mxtics default\nset rmargin 30\n");
    fprintf(f, "# published predicted number, one block per panel (family: unit)\n");
    for (size_t u = 0; u < np; u++) {
        fprintf(f, "# %s\n", panels[u]);
        double lo = INFINITY, hi = 0;
        int k = 0;
        fprintf(g, "unset label\n");
        for (size_t i = 0; i < n; i++) {
            char key[sizeof panels[0]];
            if (cs[i].error[0])
                continue;
            panel_key(&cs[i], key, sizeof key);
            if (strcmp(key, panels[u]) != 0)
                continue;
            /* The list: the name without its family, up to a comma. */
            char label[VS_NAME];
            const char *start = cs[i].name + strcspn(cs[i].name, " ");
            snprintf(label, sizeof label, "%s", *start ? start + 1 : cs[i].name);
            label[strcspn(label, ",")] = 0;
            k++;
            fprintf(f, "%.6g %.6g %d\n", cs[i].published, cs[i].predicted, k);
            char item[VS_NAME + 48];
            snprintf(item, sizeof item, "%d  %s  %+.1f%%", k, label, 100 * cs[i].rel_error);
            fprintf(g, "set label %d ", k);
            gp_write_string(g, item);
            fprintf(g, " at graph 1.04, graph %.3f left font \",9\"\n", 0.97 - 0.075 * (k - 1));
            lo = fmin(lo, fmin(cs[i].published, cs[i].predicted));
            hi = fmax(hi, fmax(cs[i].published, cs[i].predicted));
        }
        fprintf(f, "\n\n");
        double a = lo / 1.3, b = hi * 1.3;
        fprintf(g, "set title ");
        gp_write_string(g, panels[u]);
        fprintf(g, "\nset xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n", a, b, a, b);
        log_ticks(g, "x", a, b);
        log_ticks(g, "y", a, b);
        fprintf(g,
                "plot '+' using 1:(0.9*$1):(1.1*$1) with filledcurves lc rgb \"#dddddd\" "
                "title \"+-10%%\", x with lines lc rgb \"#555555\" title \"y = x\", "
                "\"%s\" index %zu using 1:2 with points pt 7 ps 1.1 lc rgb \"#1f77b4\" "
                "title \"cases\", \"%s\" index %zu using 1:2:3 with labels font \",8\" "
                "offset char 0.9,0.4 left notitle\n",
                dat, u, dat, u);
    }
    fprintf(g, "unset multiplot\n");
    fclose(f);
    fclose(g);
    return cli_plot_draw(gp, dat, out, drawn, err);
}

static void json_case(cJSON *arr, const vs_case *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "case", c->name);
    cli_json_str(o, "kind", c->kind);
    cli_json_str(o, "metric", c->metric);
    cli_json_num(o, "predicted", c->predicted);
    cli_json_num(o, "published", c->published);
    cli_json_num(o, "rel_error", c->rel_error);
    cli_json_str(o, "unit", c->unit);
    cJSON_AddStringToObject(o, "file", c->file);
    cJSON *parts = cJSON_AddArrayToObject(o, "largest_parts");
    for (int i = 0; i < 2; i++)
        if (!isnan(c->parts_frac[i])) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "part", c->parts[i]);
            cli_json_num(p, "fraction_of_step", c->parts_frac[i]);
            cJSON_AddItemToArray(parts, p);
        }
    cli_json_num(o, "memory_per_gpu_bytes", c->memory_B);
    if (c->fits >= 0)
        cJSON_AddBoolToObject(o, "fits", c->fits);
    cli_json_str(o, "error", c->error);
    cJSON_AddItemToArray(arr, o);
}

/* A relative error as "+12.3%". */
static const char *pct(char *buf, size_t cap, double x)
{
    snprintf(buf, cap, "%+.1f%%", 100 * x);
    return buf;
}

static void print_markdown(const vs_case *cs, size_t n, const vs_stats *st);

static int over(double x, double limit)
{
    return isfinite(limit) && !(x <= limit);
}

#define VS_KINDS (sizeof kinds / sizeof kinds[0])

/* Parses a threshold option: X for every kind, or KIND=X,KIND=X; kinds
 * not named get no threshold (INFINITY). */
static int parse_limits(const char *opt, const char *text, double limit[VS_KINDS], ms_err *err)
{
    for (size_t k = 0; k < VS_KINDS; k++)
        limit[k] = INFINITY;
    if (!text)
        return MS_OK;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        const char *value = eq ? eq + 1 : item;
        char *end;
        errno = 0;
        double x = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(x) || x < 0)
            return ms_errf(err, MS_EUSAGE,
                           "%s: expected a relative error >= 0 (0.08 for 8%%), or KIND=X,... "
                           "with kinds train and power; got '%s'",
                           opt, text);
        if (!eq) {
            for (size_t k = 0; k < VS_KINDS; k++)
                limit[k] = x;
            continue;
        }
        *eq = 0;
        size_t k = 0;
        while (k < VS_KINDS && strcmp(kinds[k], item) != 0)
            k++;
        if (k == VS_KINDS)
            return ms_errf(err, MS_EUSAGE, "%s: unknown kind '%s' (train or power)", opt, item);
        limit[k] = x;
    }
    return MS_OK;
}

/* The table as Markdown: one row per case with its memory per GPU and
 * the two largest parts of its step, then the summary per kind. */
static void print_markdown(const vs_case *cs, size_t n, const vs_stats *st)
{
    printf("| case | metric (unit) | predicted | published | error | memory per GPU | largest "
           "parts of the step |\n|---|---|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const vs_case *c = &cs[i];
        char e[32], mem[48] = "-", parts[200] = "";
        if (c->error[0]) {
            printf("| %s | %s | failed | %.4g | - | - | %s |\n", c->name, c->metric, c->published,
                   c->error);
            continue;
        }
        if (isfinite(c->memory_B))
            snprintf(mem, sizeof mem, "%.1f GB%s", c->memory_B / 1e9,
                     c->fits == 1   ? " (fits)"
                     : c->fits == 0 ? " (does not fit)"
                                    : "");
        for (int k = 0; k < 2; k++)
            if (!isnan(c->parts_frac[k]))
                snprintf(parts + strlen(parts), sizeof parts - strlen(parts), "%s%s %.0f%%",
                         k ? ", " : "", c->parts[k], 100 * c->parts_frac[k]);
        printf("| %s | %s (%s) | %.4g | %.4g | %s | %s | %s |\n", c->name, c->metric, c->unit,
               c->predicted, c->published, pct(e, sizeof e, c->rel_error), mem, parts);
    }
    printf("\n| kind | cases | failed | median \\|error\\| | worst \\|error\\| |\n"
           "|---|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < VS_KINDS; k++)
        if (st[k].n || st[k].failed)
            printf("| %s | %zu | %zu | %.1f%% | %.1f%% |\n", kinds[k], st[k].n, st[k].failed,
                   100 * st[k].median, 100 * st[k].worst);
}

int vs_run(const cli_cmd *cmd, const cli_args *a)
{
    ms_err err = {0};
    int rc = MS_OK, ex = CLI_EXIT_OK;
    double max_median[VS_KINDS], max_worst[VS_KINDS];
    if ((rc = parse_limits("--max-median", cli_get(a, "--max-median"), max_median, &err)) ||
        (rc = parse_limits("--max-worst", cli_get(a, "--max-worst"), max_worst, &err)))
        return cli_fail(cmd, &err);
    char dir[4096];
    const char *shown_dir = cli_get(a, "--cases") ? cli_get(a, "--cases") : "validation/system";
    if (cli_get(a, "--cases"))
        snprintf(dir, sizeof dir, "%s", shown_dir);
    else if ((rc = cli_home_path(dir, sizeof dir, "validation/system", &err)))
        return cli_fail(cmd, &err);

    /* The options every case's run takes from this command line. */
    char *extra[8] = {"--json"};
    int nextra = 1;
    static const char *const passed[] = {"--chips", "--efficiency"};
    for (size_t k = 0; k < sizeof passed / sizeof passed[0]; k++)
        if (cli_get(a, passed[k])) {
            extra[nextra++] = (char *)passed[k];
            extra[nextra++] = (char *)cli_get(a, passed[k]);
        }

    char **names = NULL;
    size_t nn = 0;
    vs_case *cs = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        rc = ms_errf(&err, MS_EIO, "%s: cannot open the case directory: %s", shown_dir,
                     strerror(errno));
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        char **t = realloc(names, (nn + 1) * sizeof *names);
        char *dup = strdup(e->d_name);
        if (!t || !dup) {
            free(dup);
            if (t)
                names = t;
            closedir(d);
            rc = ms_errf(&err, MS_ENOMEM, "out of memory");
            goto out;
        }
        names = t;
        names[nn++] = dup;
    }
    closedir(d);
    if (nn == 0) {
        rc = ms_errf(&err, MS_ENOTFOUND, "%s: no case files (*.json)", shown_dir);
        goto out;
    }
    qsort(names, nn, sizeof *names, cmp_str);
    cs = calloc(nn, sizeof *cs);
    if (!cs) {
        rc = ms_errf(&err, MS_ENOMEM, "out of memory");
        goto out;
    }
    int json = cli_has(a, "--json");
    for (size_t i = 0; i < nn; i++) {
        char path[4600], shown[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(shown, sizeof shown, "%s/%s", shown_dir, names[i]);
        if (!json && isatty(fileno(stderr)))
            fprintf(stderr, "\r[%zu/%zu] %s\033[K", i + 1, nn, names[i]);
        run_case(path, shown, nextra, extra, &cs[i]);
    }
    if (!json && isatty(fileno(stderr)))
        fprintf(stderr, "\r\033[K");

    size_t failed = 0;
    for (size_t i = 0; i < nn; i++)
        failed += cs[i].error[0] != 0;
    vs_stats st[VS_KINDS];
    int breach = 0;
    for (size_t k = 0; k < VS_KINDS; k++) {
        st[k] = stats_of(cs, nn, kinds[k]);
        if (st[k].n && (over(st[k].median, max_median[k]) || over(st[k].worst, max_worst[k])))
            breach = 1;
    }

    if (json && cli_has(a, "--markdown")) {
        rc = ms_errf(&err, MS_EUSAGE, "--json and --markdown: choose one");
        goto out;
    }
    if (cli_has(a, "--markdown")) {
        print_markdown(cs, nn, st);
    } else if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < nn; i++)
            json_case(arr, &cs[i]);
        cJSON *sum = cJSON_CreateObject(), *s = cJSON_AddObjectToObject(sum, "summary");
        cJSON_AddNumberToObject(s, "cases", (double)nn);
        cJSON_AddNumberToObject(s, "failed", (double)failed);
        cJSON *per = cJSON_AddObjectToObject(s, "per_kind");
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            if (!st[k].n && !st[k].failed)
                continue;
            cJSON *o = cJSON_AddObjectToObject(per, kinds[k]);
            cJSON_AddNumberToObject(o, "cases", (double)st[k].n);
            cJSON_AddNumberToObject(o, "failed", (double)st[k].failed);
            cli_json_num(o, "median_abs_rel_error", st[k].median);
            cli_json_num(o, "worst_abs_rel_error", st[k].worst);
            cli_json_num(o, "max_median", max_median[k]);
            cli_json_num(o, "max_worst", max_worst[k]);
        }
        cJSON_AddBoolToObject(s, "pass", !failed && !breach);
        cJSON_AddItemToArray(arr, sum);
        if ((rc = cli_json_emit(arr, &err)))
            goto out;
    } else {
        printf("megasim validate --system: %zu published whole-system cases from %s\n\n", nn,
               shown_dir);
        printf("%-38s %-30s %12s %12s %8s  %s\n", "case", "metric", "predicted", "published",
               "error", "largest parts of the step");
        for (size_t i = 0; i < nn; i++) {
            const vs_case *c = &cs[i];
            if (c->error[0]) {
                char pub[32] = "-";
                if (!isnan(c->published))
                    snprintf(pub, sizeof pub, "%.4g", c->published);
                printf("%-38.38s %-30s %12s %12s %8s  FAILED (below)\n", c->name,
                       c->metric[0] ? c->metric : "-", "-", pub, "-");
                continue;
            }
            char parts[200] = "";
            for (int k = 0; k < 2; k++)
                if (!isnan(c->parts_frac[k]))
                    snprintf(parts + strlen(parts), sizeof parts - strlen(parts), "%s%s %.0f%%",
                             k ? ", " : "", c->parts[k], 100 * c->parts_frac[k]);
            printf("%-38.38s %-30s %12.4g %12.4g %+7.1f%%  %s\n", c->name, c->metric, c->predicted,
                   c->published, 100 * c->rel_error, parts);
        }
        printf("\nunits: ");
        for (size_t i = 0, first = 1; i < nn; i++) {
            int seen = 0;
            for (size_t j = 0; j < i; j++)
                seen |= strcmp(cs[j].metric, cs[i].metric) == 0;
            if (!seen && cs[i].metric[0]) {
                printf("%s%s in %s", first ? "" : "; ", cs[i].metric, cs[i].unit);
                first = 0;
            }
        }
        printf("\n\n%-8s %6s %8s %16s %16s\n", "kind", "cases", "failed", "median |error|",
               "worst |error|");
        for (size_t k = 0; k < VS_KINDS; k++) {
            if (!st[k].n && !st[k].failed)
                continue;
            /* no case ran: no error to state */
            char med[32] = "-", worst[32] = "-";
            if (st[k].n) {
                snprintf(med, sizeof med, "%.1f%%", 100 * st[k].median);
                snprintf(worst, sizeof worst, "%.1f%%", 100 * st[k].worst);
            }
            printf("%-8s %6zu %8zu %16s %16s", kinds[k], st[k].n, st[k].failed, med, worst);
            if (isfinite(max_median[k]) || isfinite(max_worst[k])) {
                char m[32] = "none", w[32] = "none";
                if (isfinite(max_median[k]))
                    snprintf(m, sizeof m, "%.1f%%", 100 * max_median[k]);
                if (isfinite(max_worst[k]))
                    snprintf(w, sizeof w, "%.1f%%", 100 * max_worst[k]);
                printf("   thresholds %s / %s: %s", m, w,
                       over(st[k].median, max_median[k]) || over(st[k].worst, max_worst[k])
                           ? "EXCEEDED"
                           : "held");
            }
            printf("\n");
        }
    }
    if (cli_get(a, "--plot")) {
        int drawn;
        if ((rc = write_plot(cs, nn, cli_get(a, "--plot"), &drawn, &err)))
            goto out;
        if (drawn)
            fprintf(json ? stderr : stdout, "plot: %s\n", cli_get(a, "--plot"));
    }
    for (size_t i = 0; i < nn; i++)
        if (cs[i].error[0])
            fprintf(stderr, "megasim %s: %s\n", cmd->name, cs[i].error);
    if (breach)
        fprintf(stderr, "megasim %s: the median or worst error of a kind exceeds the thresholds\n",
                cmd->name);
    ex = failed || breach ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
    if (rc)
        ex = cli_fail(cmd, &err);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    free(cs);
    return ex;
}
