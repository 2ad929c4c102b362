/* jsystem: see jsystem.h. */
#include "job/jsystem.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"
#include "core/vec.h"
#include "io/afile.h"
#include "io/gnuplot.h"
#include "io/jsonfile.h"
#include "job/jscen.h"
#include "job/jwork.h"
#include "model/model.h"
#include "model/modelfile.h"

/* X(enum, key, needs a counting convention) */
#define JS_METRIC_MAP(X)                                                                           \
    X(JS_STEP_TIME, "step_time_s", 0)                                                              \
    X(JS_GPUH_PER_T, "gpu_hours_per_trillion_tokens", 0)                                           \
    X(JS_GPUH, "gpu_hours", 0)                                                                     \
    X(JS_TOKENS_PER_GPU, "tokens_per_s_per_gpu", 0)                                                \
    X(JS_TFLOPS, "tflops_per_gpu", 1)                                                              \
    X(JS_NODE_PEAK, "node_power_peak_w", 0)                                                        \
    X(JS_NODE_MEAN, "node_power_mean_w", 0)                                                        \
    X(JS_OUT_TPS, "output_tokens_per_s", 0)                                                        \
    X(JS_OUT_TPS_NODE, "output_tokens_per_s_per_node", 0)                                          \
    X(JS_SERVER_TPS, "server_output_tokens_per_s", 0)                                              \
    X(JS_PREFILL_NODE, "prefill_input_tokens_per_s_per_busy_node", 0)                              \
    X(JS_PREFILL_NODE_COMPUTED, "prefill_computed_tokens_per_s_per_busy_node", 0)                  \
    X(JS_DECODE_NODE, "decode_output_tokens_per_s_per_busy_node", 0)                               \
    X(JS_DECODE_NODE_FULL, "decode_output_tokens_per_s_per_node_full_batch", 0)                    \
    X(JS_INTERRUPTIONS, "interruptions", 0)                                                        \
    X(JS_ETTR, "ettr", 0)

typedef enum js_metric {
#define JS_ENUM(e, key, c) e,
    JS_METRIC_MAP(JS_ENUM)
#undef JS_ENUM
        JS_METRICS
} js_metric;

static const char *const metric_keys[] = {
#define JS_KEY(e, key, c) key,
    JS_METRIC_MAP(JS_KEY)
#undef JS_KEY
};
static const int metric_counted[] = {
#define JS_COUNTED(e, key, c) c,
    JS_METRIC_MAP(JS_COUNTED)
#undef JS_COUNTED
};

/* How a source counts FLOPs: model_megatron_flops_per_token's flag. */
static const struct {
    const char *name;
    int recompute_counted;
} countings[] = {{"megatron-2021", 1}, {"megatron-core", 0}};

static const char *const kinds[JSYSTEM_KINDS] = {"train", "power", "serve", "goodput"};

/* The command a kind's scenario runs: train for train and goodput (a run
 * with failures), serve for serve, either for power (a node's power in
 * training or in serving); cmd is the scenario's own. NULL when cmd is
 * not one the kind runs. */
static const char *kind_command(const char *kind, const char *cmd)
{
    int power = strcmp(kind, "power") == 0, serve = strcmp(kind, "serve") == 0;
    if (cmd && strcmp(cmd, "serve") == 0 && (serve || power))
        return "serve";
    if (cmd && strcmp(cmd, "train") == 0 && !serve)
        return "train";
    return NULL;
}

/* "train, power, serve or goodput", for messages. */
static const char *kind_list(void)
{
    return "train, power, serve or goodput";
}

static const char *const known_fields[] = {
    "case",       "kind",        "metric", "counting",     "published",       "unit",    "counts",
    "confidence", "assumptions", "source", "alternatives", "latency_at_rate", "scenario"};

/* The keys of latency_at_rate's percentiles, which the serve report uses too. */
static const char *const lat_keys[JSYSTEM_LAT] = {"ttft_p50_s", "ttft_p99_s", "tpot_p50_s",
                                                  "tpot_p99_s"};

const char *jsystem_kind(int k)
{
    return k >= 0 && k < JSYSTEM_KINDS ? kinds[k] : NULL;
}

int jsystem_covered(double published, double p10, double p90)
{
    if (isnan(p10) || isnan(p90))
        return -1;
    return published >= p10 && published <= p90;
}

double jsystem_rel_error(double predicted, double published)
{
    return predicted / published - 1;
}

/* ---- one case ---- */

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

/* The case's scenario as an object: inline, or the file it names (as
 * given, else under the data directory); *owned is what to delete. */
static int case_scenario(const cJSON *root, const char *file, const jenv *env, const cJSON **sc,
                         cJSON **owned, ms_err *err)
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
    ms_err read_err = {0};
    *owned =
        jsonfile_read_object(jenv_find(env, v->valuestring, path, sizeof path), NULL, &read_err);
    if (!*owned)
        return ms_errf(err, read_err.code, "%s: field 'scenario': %s", file, read_err.msg);
    *sc = *owned;
    return MS_OK;
}

/* Appends text to the warnings of out, as much as fits. */
static void add_warnings(jsystem_out *out, const char *text)
{
    size_t used = strlen(out->warnings);
    snprintf(out->warnings + used, sizeof out->warnings - used, "%s", text);
}

/* Runs scenario sc of command cmd (through src/job/jscen) with the suite's
 * chips and calibration; *run receives its report as JSON (the caller
 * deletes it). */
static int run_scenario(const cJSON *sc, const char *cmd, const char *label, const jvalid_job *j,
                        const jenv *env, cJSON **run, ms_err *err)
{
    char *extra[2 * JOPT_MAX_LIST + 7] = {"--json"};
    char n[32], seed[32];
    int nextra = 1;
    if (j->uncertainty > 0) {
        snprintf(n, sizeof n, "%lld", (long long)j->uncertainty);
        snprintf(seed, sizeof seed, "%lld", (long long)j->seed);
        extra[nextra++] = "--uncertainty";
        extra[nextra++] = n;
        extra[nextra++] = "--seed";
        extra[nextra++] = seed;
    }
    for (int i = 0; i < j->chips.n; i++) {
        extra[nextra++] = "--chips";
        extra[nextra++] = (char *)j->chips.v[i];
    }
    if (j->efficiency) {
        extra[nextra++] = "--efficiency";
        extra[nextra++] = (char *)j->efficiency;
    }
    return jscen_run_obj(sc, label, nextra, extra, cmd, env, run, err);
}

/* The two largest parts of breakdown_s, as fractions of the step (of
 * their sum where the run has no step: serving's iterations). */
static void largest_parts(const cJSON *run, jsystem_case *c)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(run, "breakdown_s");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(run, "step_time_s");
    double sum = 0;
    const cJSON *top[2] = {NULL, NULL}, *x;
    cJSON_ArrayForEach(x, b)
    {
        if (!cJSON_IsNumber(x))
            continue;
        sum += x->valuedouble;
        if (!top[0] || x->valuedouble > top[0]->valuedouble) {
            top[1] = top[0];
            top[0] = x;
        } else if (!top[1] || x->valuedouble > top[1]->valuedouble) {
            top[1] = x;
        }
    }
    double step = cJSON_IsNumber(st) ? st->valuedouble : sum;
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

/* Every field of root is one a case has. */
static int known(const cJSON *root, const char *shown, ms_err *err)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, root)
    {
        size_t k = 0;
        while (k < sizeof known_fields / sizeof known_fields[0] &&
               strcmp(known_fields[k], x->string) != 0)
            k++;
        if (k == sizeof known_fields / sizeof known_fields[0])
            return field_err(err, shown, x->string,
                             "not a field of a case (case, kind, metric, counting, published, "
                             "unit, counts, source, confidence, assumptions, alternatives, "
                             "latency_at_rate, scenario)");
    }
    return MS_OK;
}

/* The metric (*metric) and, for a FLOP rate, the counting (*counting). */
static int metric_of(const cJSON *root, const char *shown, jsystem_case *c, int *metric,
                     int *counting, ms_err *err)
{
    const char *s = NULL;
    int rc = need_string(root, shown, "metric", &s, err);
    if (rc)
        return rc;
    *metric = *counting = -1;
    for (int k = 0; k < JS_METRICS; k++)
        if (strcmp(metric_keys[k], s) == 0)
            *metric = k;
    if (*metric < 0) {
        char list[512] = "";
        for (int k = 0; k < JS_METRICS; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                     metric_keys[k]);
        return ms_errf(err, MS_EINVAL, "%s: field 'metric': unknown metric '%s' (known: %s)", shown,
                       s, list);
    }
    snprintf(c->metric, sizeof c->metric, "%s", s);
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive(root, "counting");
    if (!metric_counted[*metric])
        return cv ? field_err(err, shown, "counting", "only a FLOP-rate metric takes a counting")
                  : MS_OK;
    if (!cJSON_IsString(cv))
        return field_err(err, shown, "counting",
                         "expected how the source counts FLOPs: megatron-2021 or megatron-core");
    for (size_t k = 0; k < sizeof countings / sizeof countings[0]; k++)
        if (strcmp(countings[k].name, cv->valuestring) == 0)
            *counting = (int)k;
    if (*counting < 0)
        return ms_errf(err, MS_EINVAL,
                       "%s: field 'counting': unknown '%s' (megatron-2021 or megatron-core)", shown,
                       cv->valuestring);
    return MS_OK;
}

/* The case's fields before its scenario: name, kind, metric, published,
 * unit, source. */
static int case_fields(const cJSON *root, const char *shown, jsystem_case *c, int *metric,
                       int *counting, ms_err *err)
{
    const char *s = NULL;
    int rc;
    if ((rc = known(root, shown, err)) || (rc = need_string(root, shown, "case", &s, err)))
        return rc;
    snprintf(c->name, sizeof c->name, "%s", s);
    if ((rc = need_string(root, shown, "kind", &s, err)))
        return rc;
    size_t k = 0;
    while (k < JSYSTEM_KINDS && strcmp(kinds[k], s) != 0)
        k++;
    if (k == JSYSTEM_KINDS) {
        char what[64];
        snprintf(what, sizeof what, "expected %s", kind_list());
        return field_err(err, shown, "kind", what);
    }
    snprintf(c->kind, sizeof c->kind, "%s", s);
    if ((rc = metric_of(root, shown, c, metric, counting, err)))
        return rc;
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(root, "published");
    if (!cJSON_IsNumber(pv) || !isfinite(pv->valuedouble) || pv->valuedouble <= 0)
        return field_err(err, shown, "published",
                         pv ? "expected a positive number (the published figure in the case's "
                              "unit)"
                            : "missing: the published figure is what the case checks");
    c->published = pv->valuedouble;
    if ((rc = need_string(root, shown, "unit", &s, err)))
        return rc;
    snprintf(c->unit, sizeof c->unit, "%s", s);
    return need_string(root, shown, "source", &s, err);
}

/* teraFLOP/s per GPU as the source counts them, from the run's step. */
static int tflops(const cJSON *sc, const cJSON *run, int counting, const char *shown,
                  const jenv *env, jsystem_out *out, double *v, ms_err *err)
{
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(sc, "model");
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(run, "plan");
    char path[4096], warn[MODELFILE_WARN_MAX];
    model m;
    if (!cJSON_IsString(mv))
        return ms_errf(err, MS_EINVAL, "%s: scenario field 'model': expected a model file", shown);
    int rc = modelfile_load(jenv_find(env, mv->valuestring, path, sizeof path), &m, warn, err);
    if (rc)
        return rc;
    add_warnings(out, warn);
    double seq = num(plan, "seq"), batch = num(plan, "global_batch"), gpus = num(plan, "gpus");
    double flops =
        model_megatron_flops_per_token(&m, (int64_t)seq, countings[counting].recompute_counted);
    *v = flops * seq * batch / num(run, "step_time_s") / gpus / 1e12;
    return MS_OK;
}

/* The case's band from its run's draws, where it has one: the metric's
 * "<key>_p10" and "_p90"; for a FLOP rate (the step's FLOPs over its
 * time) the step time's, inverted; for MLPerf Server the search's. */
static void band(const cJSON *run, int metric, double v, jsystem_case *c)
{
    char k10[96], k90[96];
    const char *key = metric == JS_TFLOPS ? "step_time_s" : metric_keys[metric];
    snprintf(k10, sizeof k10, "%s_p10", key);
    snprintf(k90, sizeof k90, "%s_p90", key);
    double lo = num(run, k10), hi = num(run, k90);
    if (metric == JS_TFLOPS) {
        double step = num(run, "step_time_s");
        c->p10 = v * step / hi;
        c->p90 = v * step / lo;
    } else {
        c->p10 = lo;
        c->p90 = hi;
    }
    if (!(isfinite(c->p10) && isfinite(c->p90)))
        c->p10 = c->p90 = NAN;
}

/* The case's metric from run, the report of scenario sc. */
static int measure(const cJSON *sc, const cJSON *run, int metric, int counting, const char *shown,
                   const jenv *env, jsystem_out *out, double *v, ms_err *err)
{
    int rc = MS_OK;
    *v = NAN;
    if (metric == JS_TFLOPS)
        rc = tflops(sc, run, counting, shown, env, out, v, err);
    else if (metric == JS_INTERRUPTIONS || metric == JS_ETTR) /* the runs with failures */
        *v = num(cJSON_GetObjectItemCaseSensitive(run, "goodput"), metric_keys[metric]);
    else if (metric == JS_SERVER_TPS) /* the search's own figure */
        *v = num(cJSON_GetObjectItemCaseSensitive(run, "server_search"), "output_tokens_per_s");
    else
        *v = num(run, metric_keys[metric]);
    if (!rc && (!isfinite(*v) || *v <= 0))
        rc = ms_errf(err, MS_EINVAL,
                     "%s: field 'metric': the run reports no %s (is its power database "
                     "missing the chip, or a server_ metric given without --scenario server?)",
                     shown, metric_keys[metric]);
    return rc;
}

/* Scenario sc with the fields of set put in its place (a new object). */
static cJSON *with_fields(const cJSON *sc, const cJSON *set)
{
    cJSON *dup = cJSON_Duplicate(sc, 1);
    const cJSON *x;
    cJSON_ArrayForEach(x, set)
    {
        cJSON *v = dup ? cJSON_Duplicate(x, 1) : NULL;
        if (!v) {
            cJSON_Delete(dup);
            return NULL;
        }
        if (cJSON_GetObjectItemCaseSensitive(dup, x->string))
            cJSON_ReplaceItemInObjectCaseSensitive(dup, x->string, v);
        else
            cJSON_AddItemToObject(dup, x->string, v);
    }
    return dup;
}

/* Runs scenario sc once, without draws (an alternative or a rerun at a
 * published rate beside the case); a failure names the case's field,
 * what (" (the alternative's name)" or ""), and when (" at its rate" or
 * ""), before the command's own message. */
static int run_undrawn(const cJSON *sc, const char *cmd, const char *shown, const char *field,
                       const char *what, const char *when, const jvalid_job *j, const jenv *env,
                       cJSON **run, ms_err *err)
{
    jvalid_job once = *j;
    once.uncertainty = 0;
    char label[700];
    snprintf(label, sizeof label, "%s: %s", shown, field);
    int rc = run_scenario(sc, cmd, label, &once, env, run, err);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        rc = ms_errf(err, MS_EINVAL, "%s: field '%s'%s: scenario failed%s: %s", shown, field, what,
                     when, msg);
    }
    return rc;
}

/* Runs each of the case's "alternatives" (at most JSYSTEM_ALTS, each
 * {"name": ..., "set": {...}}) once, without draws, into c->alts. */
static int run_alternatives(const cJSON *root, const cJSON *sc, const char *cmd, int metric,
                            int counting, const char *shown, const jvalid_job *j, const jenv *env,
                            jsystem_out *out, jsystem_case *c, ms_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "alternatives");
    if (!a)
        return MS_OK;
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n < 1 || n > JSYSTEM_ALTS)
        return ms_errf(err, MS_EINVAL,
                       "%s: field 'alternatives': expected an array of 1 to %d objects, each "
                       "{\"name\": what differs, \"set\": {the scenario's fields as the "
                       "alternative has them}}",
                       shown, JSYSTEM_ALTS);
    int rc = MS_OK, i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        char field[48], what[JSYSTEM_TEXT + 4];
        snprintf(field, sizeof field, "alternatives[%d]", i);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, "name");
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(x, "set");
        int fields = cJSON_GetArraySize(x);
        if (!cJSON_IsObject(x) || fields != 2 || !cJSON_IsString(name) || !name->valuestring[0] ||
            strlen(name->valuestring) >= JSYSTEM_TEXT || !cJSON_IsObject(set) || !set->child)
            return ms_errf(err, MS_EINVAL,
                           "%s: field '%s': expected {\"name\": what differs (1 to %d "
                           "characters), \"set\": an object of the scenario's fields to change} "
                           "and nothing else",
                           shown, field, JSYSTEM_TEXT - 1);
        if (cJSON_GetObjectItemCaseSensitive(set, "command"))
            return field_err(err, shown, field,
                             "an alternative runs the case's own command: 'set' cannot change "
                             "'command'");
        cJSON *alt = with_fields(sc, set), *run = NULL;
        if (!alt)
            return ms_errf(err, MS_ENOMEM, "out of memory");
        snprintf(what, sizeof what, " (%s)", name->valuestring);
        double v = NAN;
        rc = run_undrawn(alt, cmd, shown, field, what, "", j, env, &run, err);
        if (!rc)
            rc = measure(alt, run, metric, counting, shown, env, out, &v, err);
        cJSON_Delete(run);
        cJSON_Delete(alt);
        if (rc)
            return rc;
        snprintf(c->alts[i].name, sizeof c->alts[i].name, "%s", name->valuestring);
        c->alts[i].predicted = v;
        c->alts[i].rel_error = jsystem_rel_error(v, c->published);
        c->n_alts = ++i;
    }
    return MS_OK;
}

#define AT_RATE_MAX_S 600.0
/* Requests a closed loop at the run's concurrency issues, per sequence
 * kept in flight: enough for each slot to turn over a few times. */
#define IN_FLIGHT_TURNS 4

double jsystem_in_flight(double rate_per_s, double ttft_s, double tpot_s, double mean_out)
{
    if (!(rate_per_s > 0 && ttft_s > 0 && tpot_s > 0 && mean_out >= 1))
        return NAN;
    double n = rate_per_s * (ttft_s + (mean_out - 1) * tpot_s);
    return isfinite(n) ? n : NAN;
}

/* A copy of object o without the fields keys[0..n) (those it lacks are
 * skipped); NULL when out of memory. */
static cJSON *copy_without(const cJSON *o, const char *const *keys, size_t n)
{
    cJSON *c = cJSON_Duplicate(o, 1);
    for (size_t i = 0; c && i < n; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(c, keys[i]);
    return c;
}

/* Runs open (a case's scenario as a stream, its "rate" set) once more as
 * a closed loop of n sequences in flight, n rounded and at least one,
 * IN_FLIGHT_TURNS x n requests, into c->at_rate's in-flight figures. */
static int run_in_flight(const cJSON *open, const char *cmd, const char *shown, const char *field,
                         double n, const jvalid_job *j, const jenv *env, jsystem_case *c,
                         ms_err *err)
{
    double slots = fmax(1, round(n));
    static const char *const open_only[] = {"rate", "duration", "requests"};
    cJSON *closed = copy_without(open, open_only, sizeof open_only / sizeof open_only[0]),
          *run = NULL;
    if (!closed)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    if (!cJSON_AddNumberToObject(closed, "concurrency", slots) ||
        !cJSON_AddNumberToObject(closed, "requests", IN_FLIGHT_TURNS * slots)) {
        cJSON_Delete(closed);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    char when[80];
    snprintf(when, sizeof when, " with %.0f sequences in flight", slots);
    int rc = run_undrawn(closed, cmd, shown, field, "", when, j, env, &run, err);
    if (!rc) { /* the run at the rate, of the same lengths, had a TPOT: this one has too */
        c->at_rate.in_flight = slots;
        c->at_rate.tpot_p50_in_flight_s = num(run, lat_keys[JSYSTEM_TPOT_P50]);
    }
    cJSON_Delete(run);
    cJSON_Delete(closed);
    return rc;
}

/* Runs a serving case's scenario once, without draws, as a Poisson stream
 * at the rate its "latency_at_rate" gives (MLPerf's search and its limits
 * left out), into c->at_rate beside the logged latencies. */
static int run_at_rate(const cJSON *root, const cJSON *sc, const char *cmd, const char *shown,
                       const jvalid_job *j, const jenv *env, jsystem_case *c, ms_err *err)
{
    const char *field = "latency_at_rate";
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!a)
        return MS_OK;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(sc, "scenario");
    if (strcmp(cmd, "serve") != 0 || !cJSON_IsString(mode) ||
        strcmp(mode->valuestring, "server") != 0)
        return field_err(err, shown, field,
                         "only a serving case whose scenario is MLPerf's server (\"scenario\": "
                         "\"server\") has a rate of its own");
    if (!cJSON_IsObject(a))
        return field_err(err, shown, field,
                         "expected {\"rate\": requests/s, \"ttft_p50_s\", \"ttft_p99_s\", "
                         "\"tpot_p50_s\", \"tpot_p99_s\": seconds}, as the run's log gives "
                         "them");
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        int k = strcmp(x->string, "rate") == 0 ? JSYSTEM_LAT : -1;
        for (int i = 0; k < 0 && i < JSYSTEM_LAT; i++)
            k = strcmp(x->string, lat_keys[i]) == 0 ? i : -1;
        char sub[80];
        snprintf(sub, sizeof sub, "%s.%.40s", field, x->string);
        if (k < 0)
            return field_err(err, shown, sub,
                             "not a field of latency_at_rate (rate, ttft_p50_s, ttft_p99_s, "
                             "tpot_p50_s, tpot_p99_s)");
        double lim = k == JSYSTEM_LAT ? 1e9 : 86400;
        if (!cJSON_IsNumber(x) || !(x->valuedouble > 0) || x->valuedouble > lim)
            return field_err(err, shown, sub,
                             k == JSYSTEM_LAT
                                 ? "expected the requests per second the run was scheduled at, "
                                   "> 0 and at most 1e9"
                                 : "expected the run's logged percentile in seconds, > 0 and at "
                                   "most 86400");
        if (k < JSYSTEM_LAT)
            c->at_rate.logged_s[k] = x->valuedouble;
    }
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(a, "rate");
    for (int i = 0; i <= JSYSTEM_LAT; i++) {
        const char *key = i < JSYSTEM_LAT ? lat_keys[i] : "rate";
        char sub[80];
        snprintf(sub, sizeof sub, "%s.%s", field, key);
        if (!cJSON_GetObjectItemCaseSensitive(a, key))
            return field_err(err, shown, sub,
                             "missing: the run's log gives the rate it was scheduled at and "
                             "all four percentiles, and latency_at_rate needs each of them");
    }
    static const char *const search_only[] = {"scenario", "p99_ttft", "p99_tpot", "rate"};
    cJSON *open = copy_without(sc, search_only, sizeof search_only / sizeof search_only[0]),
          *run = NULL;
    if (!open)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    /* At most MLPerf's minimum 600 s of arrivals: a steady stream's
     * percentiles have settled long before, and the suite stays fast. */
    cJSON *dur = cJSON_GetObjectItemCaseSensitive(open, "duration");
    if (cJSON_IsNumber(dur) && dur->valuedouble > AT_RATE_MAX_S)
        cJSON_SetNumberValue(dur, AT_RATE_MAX_S);
    if (!cJSON_AddNumberToObject(open, "rate", rate->valuedouble)) {
        cJSON_Delete(open);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    int rc = run_undrawn(open, cmd, shown, field, "", " at its rate", j, env, &run, err);
    for (int i = 0; !rc && i < JSYSTEM_LAT; i++)
        if (isnan(c->at_rate.predicted_s[i] = num(run, lat_keys[i])))
            rc = ms_errf(err, MS_EINVAL,
                         "%s: field '%s': the run at that rate reports no %s (no request "
                         "finished?)",
                         shown, field, lat_keys[i]);
    double n = NAN;
    if (!rc) {
        c->at_rate.rate_per_s = rate->valuedouble;
        double reqs = num(run, "requests"), out_tok = num(run, "output_tokens");
        n = jsystem_in_flight(rate->valuedouble, c->at_rate.logged_s[JSYSTEM_TTFT_P50],
                              c->at_rate.logged_s[JSYSTEM_TPOT_P50],
                              reqs > 0 ? out_tok / reqs : NAN);
    }
    cJSON_Delete(run);
    run = NULL;
    if (!rc && !isnan(n))
        rc = run_in_flight(open, cmd, shown, field, n, j, env, c, err);
    cJSON_Delete(open);
    return rc;
}

/* Reads, runs and measures one case; rc as the case's error. */
static int case_body(const cJSON *root, const char *shown, const jvalid_job *j, const jenv *env,
                     jsystem_out *out, jsystem_case *c, ms_err *err)
{
    cJSON *owned = NULL, *run = NULL;
    const cJSON *sc = NULL;
    int metric = -1, counting = -1;
    int rc = case_fields(root, shown, c, &metric, &counting, err);
    if (!rc)
        rc = case_scenario(root, shown, env, &sc, &owned, err);
    const cJSON *cmdv = rc ? NULL : cJSON_GetObjectItemCaseSensitive(sc, "command");
    const char *cmd = rc ? NULL : kind_command(c->kind, cJSON_GetStringValue(cmdv));
    if (!rc && !cmd) {
        int serve = strcmp(c->kind, "serve") == 0, power = strcmp(c->kind, "power") == 0;
        rc = ms_errf(
            err, MS_EINVAL,
            "%s: scenario field 'command': expected %s (a %s case runs %s), got %s%s%s", shown,
            serve   ? "\"serve\""
            : power ? "\"train\" or \"serve\""
                    : "\"train\"",
            c->kind,
            serve   ? "a serving fleet"
            : power ? "a training step or a serving fleet"
                    : "a training step",
            cJSON_IsString(cmdv) ? "\"" : "", cJSON_IsString(cmdv) ? cmdv->valuestring : "none",
            cJSON_IsString(cmdv) ? "\"" : "");
    }
    char label[640];
    snprintf(label, sizeof label, "%s: scenario", shown);
    if (!rc && (rc = run_scenario(sc, cmd, label, j, env, &run, err))) {
        char msg[sizeof err->msg]; /* the command's own message, with the case it came from */
        snprintf(msg, sizeof msg, "%s", err->msg);
        rc = ms_errf(err, MS_EINVAL, "%s: scenario failed: %s", shown, msg);
    }
    double v = NAN;
    if (!rc) {
        largest_parts(run, c);
        c->memory_B = num(run, "memory_per_gpu_bytes");
        const cJSON *fits = cJSON_GetObjectItemCaseSensitive(run, "fits");
        c->fits = cJSON_IsBool(fits) ? cJSON_IsTrue(fits) : -1;
        rc = measure(sc, run, metric, counting, shown, env, out, &v, err);
    }
    if (!rc) {
        c->predicted = v;
        c->rel_error = jsystem_rel_error(v, c->published);
        band(run, metric, v, c);
    }
    cJSON_Delete(run);
    if (!rc &&
        ((rc = run_alternatives(root, sc, cmd, metric, counting, shown, j, env, out, c, err)) ||
         (rc = run_at_rate(root, sc, cmd, shown, j, env, c,
                           err)))) { /* a bad case file reports no figure */
        c->predicted = c->rel_error = c->p10 = c->p90 = c->memory_B = NAN;
        c->parts_frac[0] = c->parts_frac[1] = NAN;
        c->fits = -1;
        c->at_rate.rate_per_s = c->at_rate.in_flight = c->at_rate.tpot_p50_in_flight_s = NAN;
    }
    cJSON_Delete(owned);
    return rc;
}

/* Whether root is of a kind not in want (a case without a readable kind
 * runs, so that its error is shown). */
static int unwanted(const cJSON *root, const int want[JSYSTEM_KINDS])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "kind");
    for (int k = 0; cJSON_IsString(v) && k < JSYSTEM_KINDS; k++)
        if (strcmp(kinds[k], v->valuestring) == 0)
            return !want[k];
    return 0;
}

/* Runs one case file; a failure is kept in c->error, not returned.
 * Returns 1, running nothing, when the case is of a kind not in want. */
static int run_case(const char *path, const char *shown, const jvalid_job *j, const jenv *env,
                    const int want[JSYSTEM_KINDS], jsystem_out *out, jsystem_case *c)
{
    ms_err err = {0};
    *c = (jsystem_case){.published = NAN,
                        .predicted = NAN,
                        .rel_error = NAN,
                        .p10 = NAN,
                        .p90 = NAN,
                        .memory_B = NAN,
                        .fits = -1,
                        .parts_frac = {NAN, NAN},
                        .at_rate = {.rate_per_s = NAN,
                                    .logged_s = {NAN, NAN, NAN, NAN},
                                    .predicted_s = {NAN, NAN, NAN, NAN},
                                    .in_flight = NAN,
                                    .tpot_p50_in_flight_s = NAN}};
    snprintf(c->file, sizeof c->file, "%s", shown);
    snprintf(c->name, sizeof c->name, "%.127s", shown);
    cJSON *root = NULL;
    int rc = MS_OK;
    if (!(root = jsonfile_read_object(path, shown, &err))) /* named as listed */
        rc = err.code;
    int skip = !rc && unwanted(root, want);
    if (!rc && !skip)
        rc = case_body(root, shown, j, env, out, c, &err);
    if (rc)
        snprintf(c->error, sizeof c->error, "%s", err.msg[0] ? err.msg : "failed");
    cJSON_Delete(root);
    return skip;
}

/* want[k]: kind k is in text ("train,serve"); every kind for NULL. */
static int kinds_wanted(const char *text, int want[JSYSTEM_KINDS], ms_err *err)
{
    for (int k = 0; k < JSYSTEM_KINDS; k++)
        want[k] = text == NULL;
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, ",");
        int k = 0;
        while (k < JSYSTEM_KINDS && (strlen(kinds[k]) != len || strncmp(kinds[k], p, len) != 0))
            k++;
        if (k == JSYSTEM_KINDS)
            return ms_errf(err, MS_EUSAGE,
                           "--kind '%s': expected kinds from %s, such as train,power", text,
                           kind_list());
        want[k] = 1;
        p += len + (p[len] == ',');
    }
    return MS_OK;
}

/* ---- the suite ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

jsystem_stats jsystem_stats_of(const jsystem_case *cs, size_t n, const char *kind)
{
    jsystem_stats st = {.median = NAN, .worst = NAN, .coverage = NAN};
    double *e = malloc((n + 1) * sizeof *e);
    if (!e)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (kind && strcmp(cs[i].kind, kind) != 0)
            continue;
        if (cs[i].error[0]) {
            st.failed++;
            continue;
        }
        e[st.n++] = cs[i].rel_error;
        int in = jsystem_covered(cs[i].published, cs[i].p10, cs[i].p90);
        st.banded += in >= 0;
        st.covered += in == 1;
    }
    if (st.banded)
        st.coverage = (double)st.covered / (double)st.banded;
    jvalid_median_worst(e, st.n, &st.median, &st.worst);
    free(e);
    return st;
}

int jsystem_limits(const char *opt, const char *text, double limit[JSYSTEM_KINDS], ms_err *err)
{
    for (size_t k = 0; k < JSYSTEM_KINDS; k++)
        limit[k] = INFINITY;
    if (!text)
        return MS_OK;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '='), *end;
        const char *value = eq ? eq + 1 : item;
        errno = 0;
        double x = num_strtod(value, &end);
        if (end == value || *end || errno || !isfinite(x) || x < 0)
            return ms_errf(err, MS_EUSAGE,
                           "%s: expected a relative error >= 0 (0.08 for 8%%), or KIND=X,... "
                           "with kinds %s; got '%s'",
                           opt, kind_list(), text);
        if (!eq) {
            for (size_t k = 0; k < JSYSTEM_KINDS; k++)
                limit[k] = x;
            continue;
        }
        *eq = 0;
        size_t k = 0;
        while (k < JSYSTEM_KINDS && strcmp(kinds[k], item) != 0)
            k++;
        if (k == JSYSTEM_KINDS)
            return ms_errf(err, MS_EUSAGE, "%s: unknown kind '%s' (%s)", opt, item, kind_list());
        limit[k] = x;
    }
    return MS_OK;
}

/* The case files of dir (shown as shown), sorted; *names for the caller
 * to free, each and all. */
static int list_cases(const char *dir, const char *shown, char ***names, size_t *n, ms_err *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ms_errf(err, MS_EIO, "%s: cannot open the case directory: %s", shown,
                       strerror(errno));
    int rc = MS_OK;
    size_t cap = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        char **t = vec_grow(*names, &cap, *n + 1, 16, sizeof **names);
        if (t)
            *names = t;
        if (!t || !((*names)[*n] = strdup(e->d_name)))
            rc = ms_errf(err, MS_ENOMEM, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (!rc && *n == 0)
        rc = ms_errf(err, MS_ENOTFOUND, "%s: no case files (*.json)", shown);
    if (!rc)
        qsort(*names, *n, sizeof **names, cmp_str);
    return rc;
}

/* ---- the report ---- */

/* What the text shows beside a case: its two largest parts, or that it
 * failed (the message follows the table). */
static void case_note(const jsystem_case *c, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (c->error[0]) {
        snprintf(buf, cap, "FAILED (below)");
        return;
    }
    for (int k = 0; k < 2; k++)
        if (!isnan(c->parts_frac[k]))
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s %.0f%%", k ? ", " : "",
                     c->parts[k], 100 * c->parts_frac[k]);
}

static void case_row(report *r, const jsystem_case *c, int banded)
{
    char note[200];
    case_note(c, note, sizeof note);
    report_row(r);
    report_str(r, "case", NULL, c->name);
    report_str(r, "kind", NULL, c->kind[0] ? c->kind : NULL);
    report_str(r, "metric", NULL, c->metric[0] ? c->metric : NULL);
    report_num(r, "predicted", NULL, c->predicted, "");
    report_num(r, "published", NULL, c->published, "");
    report_num(r, "rel_error", "error", c->rel_error, "%");
    if (banded) {
        int in = jsystem_covered(c->published, c->p10, c->p90);
        report_num(r, "predicted_p10", "p10", c->p10, "");
        report_num(r, "predicted_p90", "p90", c->p90, "");
        if (in >= 0)
            report_bool(r, "covered", "in band", in);
        else
            report_str(r, "covered", "in band", NULL);
    }
    report_begin_hidden(r, NULL);
    report_str(r, "unit", NULL, c->unit[0] ? c->unit : NULL);
    report_str(r, "file", NULL, c->file);
    report_table(r, "largest_parts", NULL);
    for (int i = 0; i < 2; i++)
        if (!isnan(c->parts_frac[i])) {
            report_row(r);
            report_str(r, "part", NULL, c->parts[i]);
            report_num(r, "fraction_of_step", NULL, c->parts_frac[i], "%");
        }
    report_table_end(r);
    report_end(r);
    report_num(r, "memory_per_gpu_bytes", "memory per GPU", c->memory_B, "B");
    if (c->fits >= 0)
        report_bool(r, "fits", NULL, c->fits);
    report_begin_hidden(r, NULL);
    report_str(r, "error", NULL, c->error[0] ? c->error : NULL);
    if (c->n_alts > 0) {
        report_table(r, "alternatives", NULL);
        for (int i = 0; i < c->n_alts; i++) {
            report_row(r);
            report_str(r, "name", NULL, c->alts[i].name);
            report_num(r, "predicted", NULL, c->alts[i].predicted, "");
            report_num(r, "rel_error", NULL, c->alts[i].rel_error, "%");
        }
        report_table_end(r);
    }
    if (!isnan(c->at_rate.rate_per_s)) {
        report_begin_hidden(r, "latency_at_rate");
        report_num(r, "rate_per_s", NULL, c->at_rate.rate_per_s, "");
        for (int i = 0; i < JSYSTEM_LAT; i++) {
            report_begin_hidden(r, lat_keys[i]);
            report_num(r, "predicted", NULL, c->at_rate.predicted_s[i], "s");
            report_num(r, "logged", NULL, c->at_rate.logged_s[i], "s");
            report_end(r);
        }
        report_num(r, "in_flight", NULL, c->at_rate.in_flight, "");
        report_num(r, "tpot_p50_in_flight_s", NULL, c->at_rate.tpot_p50_in_flight_s, "s");
        report_end(r);
    }
    report_end(r);
    report_str(r, "note", "largest parts of the step", note[0] ? note : NULL);
}

/* Whether c has latencies at its published rate to show. */
static int has_at_rate(const jsystem_case *c)
{
    return !c->error[0] && !isnan(c->at_rate.rate_per_s);
}

/* One row per serving case that gives its run's latencies: megasim's at
 * the run's own rate beside the log's. */
static void at_rate_table(report *r, const jsystem_out *o)
{
    size_t any = 0;
    for (size_t i = 0; i < o->n; i++)
        any += has_at_rate(&o->cases[i]);
    if (!any)
        return;
    report_table(r, "latency_at_rate",
                 "at each published run's own rate: megasim's latencies against the run's log, a "
                 "Poisson stream at that rate in place of MLPerf's search; and megasim's TPOT p50 "
                 "with as many sequences in flight as the run kept by Little's law, against the "
                 "logged TPOT p50 (in no statistic)");
    static const char *const labels[JSYSTEM_LAT] = {"TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99"};
    for (size_t i = 0; i < o->n; i++) {
        const jsystem_case *c = &o->cases[i];
        if (!has_at_rate(c))
            continue;
        report_row(r);
        report_str(r, "case", NULL, c->name);
        report_num(r, "rate_per_s", "rate, requests/s", c->at_rate.rate_per_s, "");
        for (int k = 0; k < JSYSTEM_LAT; k++) {
            char key[40];
            report_num(r, lat_keys[k], labels[k], c->at_rate.predicted_s[k], "s");
            snprintf(key, sizeof key, "%s_logged", lat_keys[k]);
            report_num(r, key, "logged", c->at_rate.logged_s[k], "s");
        }
        report_num(r, "in_flight", "sequences in flight (Little's law)", c->at_rate.in_flight, "");
        report_num(r, "tpot_p50_in_flight_s", "TPOT p50 at that many",
                   c->at_rate.tpot_p50_in_flight_s, "s");
    }
    report_table_end(r);
}

/* One row per case and alternative, beside the case's own prediction. */
static void alternatives_table(report *r, const jsystem_out *o)
{
    size_t any = 0;
    for (size_t i = 0; i < o->n; i++)
        any += o->cases[i].n_alts > 0 && !o->cases[i].error[0];
    if (!any)
        return;
    report_table(r, "alternatives",
                 "what the sources leave open: each case's own alternatives, run once (in no "
                 "statistic)");
    for (size_t i = 0; i < o->n; i++) {
        const jsystem_case *c = &o->cases[i];
        for (int k = 0; !c->error[0] && k < c->n_alts; k++) {
            report_row(r);
            report_str(r, "case", NULL, c->name);
            report_str(r, "alternative", NULL, c->alts[k].name);
            report_num(r, "predicted", NULL, c->alts[k].predicted, "");
            report_num(r, "published", NULL, c->published, "");
            report_num(r, "rel_error", "error", c->alts[k].rel_error, "%");
            report_num(r, "case_rel_error", "the case's error", c->rel_error, "%");
        }
    }
    report_table_end(r);
}

/* "metric in unit; ..." once per metric. */
static void units_text(const jsystem_out *o, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < o->n; i++) {
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= strcmp(o->cases[k].metric, o->cases[i].metric) == 0;
        if (!seen && o->cases[i].metric[0])
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s in %s", buf[0] ? "; " : "",
                     o->cases[i].metric, o->cases[i].unit);
    }
}

static int over(double x, double limit)
{
    return isfinite(limit) && !(x <= limit);
}

/* A threshold as the report gives it: none is null. */
static double limit_value(double x)
{
    return isfinite(x) ? x : NAN;
}

static void summary(report *r, const jsystem_out *o, int banded)
{
    report_begin(r, "summary", "summary");
    report_int(r, "cases", NULL, (int64_t)o->n, "");
    report_int(r, "failed", NULL, (int64_t)o->failed, "");
    report_bool(r, "pass", NULL, !o->failed && !o->breach);
    if (banded) {
        report_int(r, "banded", "cases with a band", (int64_t)o->all.banded, "");
        report_int(r, "covered", "published inside its band", (int64_t)o->all.covered, "");
        report_num(r, "coverage", "coverage of the 10th-90th percentile bands", o->all.coverage,
                   "%");
    }
    report_begin_hidden(r, NULL);
    report_begin(r, "per_kind", NULL);
    for (int k = 0; k < JSYSTEM_KINDS; k++) {
        const jsystem_stats *st = &o->stats[k];
        if (!st->n && !st->failed)
            continue;
        report_begin(r, kinds[k], NULL);
        report_int(r, "cases", NULL, (int64_t)st->n, "");
        report_int(r, "failed", NULL, (int64_t)st->failed, "");
        report_num(r, "median_abs_rel_error", NULL, st->median, "%");
        report_num(r, "worst_abs_rel_error", NULL, st->worst, "%");
        report_num(r, "max_median", NULL, limit_value(o->max_median[k]), "%");
        report_num(r, "max_worst", NULL, limit_value(o->max_worst[k]), "%");
        if (banded) {
            report_int(r, "banded", NULL, (int64_t)st->banded, "");
            report_int(r, "covered", NULL, (int64_t)st->covered, "");
            report_num(r, "coverage", NULL, st->coverage, "%");
        }
        report_end(r);
    }
    report_end(r);
    report_end(r);
    report_table(r, "kinds", "per kind");
    for (int k = 0; k < JSYSTEM_KINDS; k++) {
        const jsystem_stats *st = &o->stats[k];
        if (!st->n && !st->failed)
            continue;
        int limited = isfinite(o->max_median[k]) || isfinite(o->max_worst[k]);
        report_row(r);
        report_str(r, "kind", NULL, kinds[k]);
        report_int(r, "cases", NULL, (int64_t)st->n, "");
        report_int(r, "failed", NULL, (int64_t)st->failed, "");
        report_num(r, "median_abs_rel_error", "median |error|", st->median, "%");
        report_num(r, "worst_abs_rel_error", "worst |error|", st->worst, "%");
        report_num(r, "max_median", "threshold median", limit_value(o->max_median[k]), "%");
        report_num(r, "max_worst", "threshold worst", limit_value(o->max_worst[k]), "%");
        if (banded)
            report_num(r, "coverage", "in band", st->coverage, "%");
        report_str(r, "thresholds", NULL,
                   !limited ? NULL
                   : over(st->median, o->max_median[k]) || over(st->worst, o->max_worst[k])
                       ? "EXCEEDED"
                       : "held");
    }
    report_table_end(r);
    report_end(r);
}

static void fill_report(report *r, const jvalid_job *j, const jenv *env, const char *shown,
                        const jsystem_out *o)
{
    char units[1024];
    units_text(o, units, sizeof units);
    report_version(r, env->version);
    jopt_report_inputs(&jvalid_options, j, r);
    report_str(r, "cases_from", "published whole-system cases from", shown);
    report_str(r, "units", NULL, units);
    report_table(r, "results", "predicted against published, each in its metric's unit");
    for (size_t i = 0; i < o->n; i++)
        case_row(r, &o->cases[i], j->uncertainty > 0);
    report_table_end(r);
    alternatives_table(r, o);
    at_rate_table(r, o);
    summary(r, o, j->uncertainty > 0);
}

/* What a worker sends back for one case: whether it was skipped, the
 * case, and the model files' warnings (text to the end of the record). */
typedef struct case_rec {
    int skipped;
    jsystem_case c;
} case_rec;

/* What run_cases' workers and collector share. */
typedef struct cases_ctx {
    const jvalid_job *j;
    const jenv *env;
    const char *dir, *shown;
    char **names;
    const int *want;
    case_rec *got; /* [item]: in file-name order, whichever worker ran it */
    jsystem_out *out;
    size_t n, done;
} cases_ctx;

static size_t case_work(void *ctx, size_t item, char *rec, size_t cap)
{
    cases_ctx *x = ctx;
    char path[4700], shown_file[600];
    snprintf(path, sizeof path, "%s/%s", x->dir, x->names[item]);
    snprintf(shown_file, sizeof shown_file, "%s/%s", x->shown, x->names[item]);
    jsystem_out *o = calloc(1, sizeof *o); /* for the warnings alone */
    case_rec *cr = malloc(sizeof *cr);
    size_t len = (size_t)-1;
    if (o && cr) {
        cr->skipped = run_case(path, shown_file, x->j, x->env, x->want, o, &cr->c);
        size_t w = strlen(o->warnings);
        if (sizeof *cr + w <= cap) {
            memcpy(rec, cr, sizeof *cr);
            memcpy(rec + sizeof *cr, o->warnings, w);
            len = sizeof *cr + w;
        }
    }
    free(o);
    free(cr);
    return len;
}

static int case_take(void *ctx, size_t item, const char *rec, size_t len, ms_err *err)
{
    cases_ctx *x = ctx;
    if (len < sizeof *x->got)
        return ms_errf(err, MS_EIO, "a worker sent a record of %zu bytes", len);
    memcpy(&x->got[item], rec, sizeof *x->got);
    size_t used = strlen(x->out->warnings), w = len - sizeof *x->got;
    if (used + w < sizeof x->out->warnings) {
        memcpy(x->out->warnings + used, rec + sizeof *x->got, w);
        x->out->warnings[used + w] = '\0';
    }
    x->done++;
    if (x->j->progress)
        x->j->progress(x->j->progress_ctx, x->done, x->n, x->names[item]);
    return MS_OK;
}

/* Runs the cases names[0..nn) of dir in worker processes (jwork), at most
 * j->jobs at a time, into out in file-name order. */
static int run_cases(const jvalid_job *j, const jenv *env, const char *dir, const char *shown,
                     char **names, size_t nn, const int *want, jsystem_out *out, ms_err *err)
{
    size_t *items = malloc(nn * sizeof *items);
    case_rec *got = calloc(nn, sizeof *got);
    int rc = items && got ? MS_OK : ms_errf(err, MS_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < nn; i++)
        items[i] = i;
    cases_ctx x = {.j = j,
                   .env = env,
                   .dir = dir,
                   .shown = shown,
                   .names = names,
                   .want = want,
                   .got = got,
                   .out = out,
                   .n = nn};
    if (!rc)
        rc = jwork_run(items, nn, j->jobs > 0 ? (int)j->jobs : jwork_default_jobs(), case_work,
                       case_take, &x, err);
    for (size_t i = 0; !rc && i < nn; i++) {
        if (got[i].skipped)
            continue;
        out->cases[out->n] = got[i].c;
        out->failed += out->cases[out->n++].error[0] != 0;
    }
    free(items);
    free(got);
    return rc;
}

int jsystem_run(const jvalid_job *j, const jenv *env, report *r, jsystem_out *out, ms_err *err)
{
    memset(out, 0, sizeof *out);
    char **names = NULL, dir[4096];
    size_t nn = 0;
    const char *shown = j->cases ? j->cases : "validation/system";
    int rc = jvalid_check(j, err);
    if (!rc && !j->system)
        rc = ms_errf(err, MS_EINVAL, "jsystem_run: not --system");
    int want[JSYSTEM_KINDS];
    if (!rc && !(rc = jsystem_limits("--max-median", j->max_median, out->max_median, err)))
        rc = jsystem_limits("--max-worst", j->max_worst, out->max_worst, err);
    if (!rc)
        rc = kinds_wanted(j->kinds, want, err);
    if (!rc && j->cases)
        snprintf(dir, sizeof dir, "%s", j->cases);
    else if (!rc)
        rc = jenv_path(env, "validation/system", dir, sizeof dir, err);
    if (!rc)
        rc = list_cases(dir, shown, &names, &nn, err);
    if (!rc && !(out->cases = calloc(nn, sizeof *out->cases)))
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = run_cases(j, env, dir, shown, names, nn, want, out, err);
    for (int k = 0; !rc && k < JSYSTEM_KINDS; k++) {
        jsystem_stats *st = &out->stats[k];
        *st = jsystem_stats_of(out->cases, out->n, kinds[k]);
        if (k == 0)
            out->all = jsystem_stats_of(out->cases, out->n, NULL);
        out->breach |=
            st->n && (over(st->median, out->max_median[k]) || over(st->worst, out->max_worst[k]));
    }
    if (!rc)
        fill_report(r, j, env, shown, out);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    return rc;
}

void jsystem_out_free(jsystem_out *out)
{
    free(out->cases);
    out->cases = NULL;
    out->n = 0;
}

/* ---- the plot and the Markdown table ---- */

enum { MAXP = 16 }; /* panels a plot draws at most */

typedef char vs_panel[JSYSTEM_TEXT + 24];

/* The panel a case is drawn in: its family (the first word of its name,
 * "T5") and its unit, so that clusters of one source stay readable. */
static void panel_key(const jsystem_case *c, char *buf, size_t cap)
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

/* The panels of the cases that ran, in order of first appearance; says
 * on stderr how many cases fall beyond MAXP of them. */
static size_t panels_of(const jsystem_out *o, vs_panel *panels)
{
    size_t np = 0, unplotted = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (o->cases[i].error[0])
            continue;
        vs_panel key;
        panel_key(&o->cases[i], key, sizeof key);
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
    return np;
}

/* Cases drawn in panel. */
static int panel_cases(const jsystem_out *o, const char *panel)
{
    int k = 0;
    for (size_t i = 0; i < o->n; i++) {
        vs_panel key;
        panel_key(&o->cases[i], key, sizeof key);
        k += !o->cases[i].error[0] && strcmp(key, panel) == 0;
    }
    return k;
}

/* Pixels a row of panels takes: enough for the longest list of cases
 * beside a panel (17 px a line at its 9-point font), at least 520. */
static int row_px(int most_cases)
{
    int px = 150 + 17 * most_cases;
    return px > 520 ? px : 520;
}

/* The script's head: terminal, style, output, the multiplot's layout;
 * most_cases is the longest list of cases beside a panel. */
static void plot_head(FILE *g, const char *gp, const char *out, int svg, size_t np, int most_cases)
{
    int cols = np > 1 ? 2 : 1, rows = (int)((np + 1) / 2);
    if (rows < 1)
        rows = 1;
    int wpx = 820 * cols, hpx = row_px(most_cases) * rows + 40;
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
               "set ylabel \"predicted\"\nset mxtics default\nset rmargin 36\n");
}

/* One panel: its points in block u of f, its list of cases and its plot
 * command in g, the list's lines spaced to fit most_cases of them. */
static void plot_panel(FILE *f, FILE *g, const jsystem_out *o, const char *panel, size_t u,
                       const char *dat, int most_cases)
{
    double line = most_cases > 12 ? 0.96 / most_cases : 0.075; /* of the graph's height */
    fprintf(f, "# %s\n", panel);
    double lo = INFINITY, hi = 0;
    int k = 0;
    fprintf(g, "unset label\n");
    for (size_t i = 0; i < o->n; i++) {
        const jsystem_case *c = &o->cases[i];
        vs_panel key;
        if (c->error[0])
            continue;
        panel_key(c, key, sizeof key);
        if (strcmp(key, panel) != 0)
            continue;
        /* The list: the name without its family, up to a comma. */
        char label[JSYSTEM_NAME];
        const char *start = c->name + strcspn(c->name, " ");
        snprintf(label, sizeof label, "%s", *start ? start + 1 : c->name);
        label[strcspn(label, ",")] = 0;
        k++;
        int band = !isnan(c->p10) && !isnan(c->p90);
        fprintf(f, "%.6g %.6g %d %.6g %.6g\n", c->published, c->predicted, k,
                band ? c->p10 : c->predicted, band ? c->p90 : c->predicted);
        char item[JSYSTEM_NAME + 48];
        snprintf(item, sizeof item, "%d  %s  %+.1f%%", k, label, 100 * c->rel_error);
        fprintf(g, "set label %d ", k);
        gp_write_string(g, item);
        fprintf(g, " at graph 1.04, graph %.4f left font \",9\"\n", 0.97 - line * (k - 1));
        lo = fmin(lo, fmin(c->published, band ? fmin(c->predicted, c->p10) : c->predicted));
        hi = fmax(hi, fmax(c->published, band ? fmax(c->predicted, c->p90) : c->predicted));
    }
    fprintf(f, "\n\n");
    double a = lo / 1.3, b = hi * 1.3;
    fprintf(g, "set title ");
    gp_write_string(g, panel);
    fprintf(g, "\nset xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n", a, b, a, b);
    log_ticks(g, "x", a, b);
    log_ticks(g, "y", a, b);
    fprintf(g, "plot '+' using 1:(0.9*$1):(1.1*$1) with filledcurves lc rgb \"#dddddd\" "
               "title \"+-10%%\", x with lines lc rgb \"#555555\" title \"y = x\", ");
    if (o->all.banded) /* --uncertainty: each case's 10th-90th percentile band as a bar */
        fprintf(g,
                "\"%s\" index %zu using 1:2:4:5 with yerrorbars pt 0 lc rgb \"#ff7f0e\" "
                "title \"p10-p90\", ",
                dat, u);
    fprintf(g,
            "\"%s\" index %zu using 1:2 with points pt 7 ps 1.1 lc rgb \"#1f77b4\" "
            "title \"cases\", \"%s\" index %zu using 1:2:3 with labels font \",8\" "
            "offset char 0.9,0.4 left notitle\n",
            dat, u, dat, u);
}

int jsystem_plot(const jsystem_out *o, const char *out, int *drawn, ms_err *err)
{
    char dat[4200], gp[4200];
    int svg, rc = gp_plot_paths(out, dat, sizeof dat, gp, sizeof gp, &svg, err);
    if (rc)
        return rc;
    vs_panel panels[MAXP];
    size_t np = panels_of(o, panels);
    afile *f_af = NULL, *g_af = NULL;
    if ((rc = afile_open(dat, &f_af, err)) || (rc = afile_open(gp, &g_af, err))) {
        afile_abort(f_af);
        return rc;
    }
    FILE *f = afile_stream(f_af), *g = afile_stream(g_af);
    int most = 0;
    for (size_t u = 0; u < np; u++) {
        int k = panel_cases(o, panels[u]);
        most = k > most ? k : most;
    }
    plot_head(g, gp, out, svg, np, most);
    fprintf(f, "# published predicted number p10 p90 (p10 and p90: the band with "
               "--uncertainty, else the prediction), one block per panel (family: unit)\n");
    for (size_t u = 0; u < np; u++)
        plot_panel(f, g, o, panels[u], u, dat, most);
    fprintf(g, "unset multiplot\n");
    rc = afile_commit(f_af, err);
    if (rc)
        afile_abort(g_af);
    else
        rc = afile_commit(g_af, err);
    return rc ? rc : gp_plot_draw(gp, dat, out, drawn, err);
}

/* One case's row of the Markdown table; with its band (p10 to p90 and
 * whether the published figure is inside) when banded. */
static void markdown_case(const jsystem_case *c, int banded, FILE *f)
{
    char mem[48] = "-", parts[200] = "", band[96] = "";
    if (banded) {
        int in = jsystem_covered(c->published, c->p10, c->p90);
        if (in < 0)
            snprintf(band, sizeof band, " - | - |");
        else
            snprintf(band, sizeof band, " %.4g to %.4g | %s |", c->p10, c->p90, in ? "yes" : "no");
    }
    if (c->error[0]) {
        fprintf(f, "| %s | %s | failed | %.4g | - |%s - | %s |\n", c->name, c->metric, c->published,
                band, c->error);
        return;
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
    fprintf(f, "| %s | %s (%s) | %.4g | %.4g | %+.1f%% |%s %s | %s |\n", c->name, c->metric,
            c->unit, c->predicted, c->published, 100 * c->rel_error, band, mem, parts);
}

int jsystem_markdown(const jsystem_out *o, FILE *f, ms_err *err)
{
    int banded = o->all.banded > 0;
    fprintf(f,
            "| case | metric (unit) | predicted | published | error |%s memory per GPU | largest "
            "parts of the step |\n|---|---|---:|---:|---:|%s---:|---|\n",
            banded ? " p10 to p90 | in band |" : "", banded ? "---:|:---:|" : "");
    for (size_t i = 0; i < o->n; i++)
        markdown_case(&o->cases[i], banded, f);
    fprintf(f,
            "\n| kind | cases | failed | median \\|error\\| | worst \\|error\\| |%s\n"
            "|---|---:|---:|---:|---:|%s\n",
            banded ? " in band |" : "", banded ? "---:|" : "");
    for (int k = 0; k < JSYSTEM_KINDS; k++) {
        const jsystem_stats *st = &o->stats[k];
        char cov[48] = "";
        if (banded && st->banded)
            snprintf(cov, sizeof cov, " %zu of %zu (%.0f%%) |", st->covered, st->banded,
                     100 * st->coverage);
        else if (banded) /* goodput cases have no band: none was drawn */
            snprintf(cov, sizeof cov, " - |");
        if (st->n || st->failed)
            fprintf(f, "| %s | %zu | %zu | %.1f%% | %.1f%% |%s\n", jsystem_kind(k), st->n,
                    st->failed, 100 * st->median, 100 * st->worst, cov);
    }
    if (banded)
        fprintf(f, "| all | %zu | %zu | | | %zu of %zu (%.0f%%) |\n", o->all.n, o->all.failed,
                o->all.covered, o->all.banded, 100 * o->all.coverage);
    int head = 0;
    for (size_t i = 0; i < o->n; i++) {
        const jsystem_case *c = &o->cases[i];
        for (int k = 0; !c->error[0] && k < c->n_alts; k++) {
            if (!head++)
                fprintf(f, "\n| case | alternative | predicted | published | error | the case's "
                           "error |\n|---|---|---:|---:|---:|---:|\n");
            fprintf(f, "| %s | %s | %.4g | %.4g | %+.1f%% | %+.1f%% |\n", c->name, c->alts[k].name,
                    c->alts[k].predicted, c->published, 100 * c->alts[k].rel_error,
                    100 * c->rel_error);
        }
    }
    head = 0;
    for (size_t i = 0; i < o->n; i++) {
        const jsystem_case *c = &o->cases[i];
        if (!has_at_rate(c))
            continue;
        if (!head++)
            fprintf(
                f,
                "\n| case | rate, requests/s | TTFT p50, ms (log) | TTFT p99, ms (log) | "
                "TPOT p50, ms (log) | TPOT p99, ms (log) | sequences in flight (Little's law) "
                "| TPOT p50 at that many, ms (log) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        fprintf(f, "| %s | %.4g |", c->name, c->at_rate.rate_per_s);
        for (int k = 0; k < JSYSTEM_LAT; k++)
            fprintf(f, " %.4g (%.4g) |", 1e3 * c->at_rate.predicted_s[k],
                    1e3 * c->at_rate.logged_s[k]);
        if (isnan(c->at_rate.in_flight))
            fprintf(f, " - | - |\n");
        else
            fprintf(f, " %.0f | %.4g (%.4g) |\n", c->at_rate.in_flight,
                    1e3 * c->at_rate.tpot_p50_in_flight_s,
                    1e3 * c->at_rate.logged_s[JSYSTEM_TPOT_P50]);
    }
    if (ferror(f))
        return ms_errf(err, MS_EIO, "write error on the Markdown table");
    return MS_OK;
}
