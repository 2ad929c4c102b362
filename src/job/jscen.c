/* jscen: see jscen.h. */
#include "job/jscen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/jsonfile.h"
#include "job/jcompare.h"
#include "job/jexport.h"
#include "job/jfleet.h"
#include "job/jrl.h"
#include "job/jfrontier.h"
#include "job/jroof.h"
#include "job/jsearch.h"
#include "job/jserve.h"
#include "job/jsize.h"
#include "job/jsystem.h"
#include "job/jtrain.h"
#include "job/jvalid.h"
#include "report/report.h"

/* The JSON object in path (as given, else under the data directory);
 * shown gets the path read, for messages. */
static cJSON *parse_file(const char *path, const jenv *env, char *shown, size_t cap, ms_err *err)
{
    char buf[4096];
    snprintf(shown, cap, "%s", jenv_find(env, path, buf, sizeof buf));
    return jsonfile_read_object(shown, NULL, err);
}

/* Texts made from a scenario's numbers: options keep (borrow) their text
 * until the job has run, so each is a copy of its own. */
typedef struct texts {
    char *v[JOPT_MAX_ROWS * 2];
    int n;
} texts;

static void texts_free(texts *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->v[i]);
    t->n = 0;
}

/* One field's value as an option's text, for jopt_set; NULL for a flag
 * given false. A number's text is kept in own. */
static int field_text(const cJSON *v, const jopt *o, const char *label, const char *field,
                      texts *own, const char **out, ms_err *err)
{
    *out = NULL;
    if (o->type == JOPT_FLAG) {
        if (!cJSON_IsBool(v))
            return ms_errf(err, MS_EINVAL, "%s: field '%s': expected true or false", label, field);
        if (cJSON_IsTrue(v))
            *out = "";
        return MS_OK;
    }
    if (cJSON_IsString(v)) {
        *out = v->valuestring;
    } else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        double x = v->valuedouble;
        char buf[64];
        snprintf(buf, sizeof buf, x == floor(x) && fabs(x) < 9e15 ? "%.0f" : "%.17g", x);
        if (own->n == (int)(sizeof own->v / sizeof own->v[0]) ||
            !(own->v[own->n] = malloc(strlen(buf) + 1)))
            return ms_errf(err, MS_ENOMEM, "%s: field '%s': out of memory", label, field);
        *out = strcpy(own->v[own->n++], buf);
    } else {
        return ms_errf(err, MS_EINVAL, "%s: field '%s': expected %s as a number or a string", label,
                       field, o->arg ? o->arg : "a value");
    }
    return MS_OK;
}

/* Fills job from obj's fields, the keys being option names. */
static int fill(const jopt_table *t, void *job, const cJSON *obj, const char *label,
                const char *cmd, texts *own, ms_err *err)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, obj)
    {
        if (!strcmp(f->string, "command") || !strcmp(f->string, "description") ||
            !strcmp(f->string, "source"))
            continue;
        const jopt *o = jopt_find(t, f->string);
        if (!o)
            return ms_errf(err, MS_EINVAL,
                           "%s: field '%s': not an option of megasim %s (see megasim %s --help)",
                           label, f->string, cmd, cmd);
        if (cJSON_IsArray(f) && (o->type != JOPT_LIST || !f->child))
            return ms_errf(err, MS_EINVAL,
                           f->child ? "%s: field '%s': expected %s as a number or a string (a "
                                      "list only for a repeatable option)"
                                    : "%s: field '%s': an empty list",
                           label, f->string, o->arg ? o->arg : "true or false");
        for (const cJSON *v = cJSON_IsArray(f) ? f->child : f; v;
             v = cJSON_IsArray(f) ? v->next : NULL) {
            const char *text;
            int rc = field_text(v, o, label, f->string, own, &text, err);
            if (!rc && text)
                rc = jopt_set_from(t, job, o->name, o->type == JOPT_FLAG ? NULL : text, label, err);
            if (rc)
                return rc;
        }
    }
    return MS_OK;
}

/* The job of cmd filled from obj then extra, run, its JSON handed back. */
static int run_job(const char *cmd, const cJSON *obj, const char *label, int nextra, char **extra,
                   const jenv *env, cJSON **json, ms_err *err)
{
    const char *pos[1];
    int npos, help, rc;
    texts own = {.n = 0};
    report *r = report_new();
    if (!r)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    if (strcmp(cmd, "train") == 0) {
        jtrain_job j = {0};
        jtrain_out o = {0};
        if (!(rc = jopt_defaults(&jtrain_options, &j, err)) &&
            !(rc = fill(&jtrain_options, &j, obj, label, cmd, &own, err)) &&
            !(rc = jopt_apply(&jtrain_options, &j, nextra, extra, pos, 0, &npos, &help, err))) {
            if (j.chip && strchr(j.chip, ','))
                rc = ms_errf(err, MS_EUSAGE, "%s: one chip at a time here, not the list '%s'",
                             label, j.chip);
            jtrain_job run = j;
            jsearch_out so;
            if (!rc && j.best_plan) /* the chip's fastest plan, run as train runs it */
                rc = jcompare_best_plan(&j, env, &run, &so, err);
            if (!rc)
                rc = jtrain_run(&run, env, r, &o, err);
        }
        jtrain_out_free(&o);
    } else if (strcmp(cmd, "rl") == 0) {
        jrl_job j = {0};
        if (!(rc = jopt_defaults(&jrl_options, &j, err)) &&
            !(rc = fill(&jrl_options, &j, obj, label, cmd, &own, err)) &&
            !(rc = jopt_apply(&jrl_options, &j, nextra, extra, pos, 0, &npos, &help, err)))
            rc = jrl_run(&j, env, r, err);
    } else {
        jserve_job j = {0};
        jserve_out o = {0};
        if (!(rc = jopt_defaults(&jserve_options, &j, err)) &&
            !(rc = fill(&jserve_options, &j, obj, label, cmd, &own, err)) &&
            !(rc = jopt_apply(&jserve_options, &j, nextra, extra, pos, 0, &npos, &help, err)))
            rc = jserve_run(&j, env, r, &o, err);
        jserve_out_free(&o);
    }
    if (!rc && !(*json = report_json(r)))
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
    report_free(r);
    texts_free(&own);
    return rc;
}

/* The command of obj ("train", "serve" or "rl", need_cmd when not NULL), or
 * NULL with err filled. */
static const char *command_of(const cJSON *obj, const char *label, const char *need_cmd,
                              ms_err *err)
{
    if (!cJSON_IsObject(obj)) {
        ms_errf(err, MS_EINVAL, "%s: expected a JSON object", label);
        return NULL;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "command");
    if (!cJSON_IsString(c)) {
        ms_errf(err, MS_EINVAL,
                "%s: field 'command': expected a string naming the command (\"train\", "
                "\"serve\" or \"rl\")",
                label);
        return NULL;
    }
    const char *cmd = c->valuestring;
    if (need_cmd && strcmp(cmd, need_cmd) != 0) {
        ms_errf(err, MS_EINVAL, "%s: field 'command': expected %s, got '%s'", label, need_cmd, cmd);
        return NULL;
    }
    if (strcmp(cmd, "train") != 0 && strcmp(cmd, "serve") != 0 && strcmp(cmd, "rl") != 0) {
        ms_errf(err, MS_EINVAL,
                "%s: field 'command': '%s' cannot run inside another command; a train, "
                "serve or rl scenario can",
                label, cmd);
        return NULL;
    }
    return cmd;
}

int jscen_check_obj(const cJSON *obj, const char *label, ms_err *err)
{
    const char *cmd = command_of(obj, label, NULL, err);
    if (!cmd)
        return err->code;
    texts own = {.n = 0};
    int rc;
    if (strcmp(cmd, "train") == 0) {
        jtrain_job j = {0};
        if (!(rc = jopt_defaults(&jtrain_options, &j, err)))
            rc = fill(&jtrain_options, &j, obj, label, cmd, &own, err);
    } else if (strcmp(cmd, "rl") == 0) {
        jrl_job j = {0};
        if (!(rc = jopt_defaults(&jrl_options, &j, err)))
            rc = fill(&jrl_options, &j, obj, label, cmd, &own, err);
    } else {
        jserve_job j = {0};
        if (!(rc = jopt_defaults(&jserve_options, &j, err)))
            rc = fill(&jserve_options, &j, obj, label, cmd, &own, err);
    }
    texts_free(&own);
    if (rc) /* as jscen_run_obj says it */
        rc = err->code = MS_EINVAL;
    return rc;
}

int jscen_run_obj(const cJSON *obj, const char *label, int nextra, char **extra,
                  const char *need_cmd, const jenv *env, cJSON **json, ms_err *err)
{
    *json = NULL;
    const char *cmd = command_of(obj, label, need_cmd, err);
    if (!cmd)
        return err->code;
    int rc = run_job(cmd, obj, label, nextra, extra, env, json, err);
    if (rc) /* as a failed run inside another command has always been reported */
        err->code = MS_EINVAL;
    return rc;
}

int jscen_run_file(const char *path, int nextra, char **extra, const char *need_cmd,
                   const jenv *env, cJSON **json, ms_err *err)
{
    char shown[4096];
    *json = NULL;
    cJSON *root = parse_file(path, env, shown, sizeof shown, err);
    if (!root)
        return err->code;
    int rc = jscen_run_obj(root, shown, nextra, extra, need_cmd, env, json, err);
    cJSON_Delete(root);
    return rc;
}

int jscen_command(const char *path, const jenv *env, char *name, size_t cap, ms_err *err)
{
    char shown[4096];
    cJSON *root = parse_file(path, env, shown, sizeof shown, err);
    if (!root)
        return err->code;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "command");
    int rc = cJSON_IsString(c) ? MS_OK
                               : ms_errf(err, MS_EINVAL,
                                         "%s: field 'command': expected a string naming the "
                                         "command",
                                         shown);
    if (!rc)
        snprintf(name, cap, "%s", c->valuestring);
    cJSON_Delete(root);
    return rc;
}

/* ---- any command, into a report ---- */

/* The PNG twin of an SVG plot path ("x.svg" -> "x.png") in buf; NULL when
 * path is not an SVG. A study's report draws both: the page holds the
 * SVG, the Markdown the PNG. */
static const char *png_twin(const char *path, char *buf, size_t cap)
{
    size_t len = path ? strlen(path) : 0;
    if (len < 5 || strcmp(path + len - 4, ".svg") != 0 || len >= cap)
        return NULL;
    snprintf(buf, cap, "%.*s.png", (int)len - 4, path);
    return buf;
}

/* job (of table t) at its defaults, then obj's fields, then extra. */
static int fill_job(const jopt_table *t, void *job, const cJSON *obj, const char *label,
                    const char *cmd, int nextra, char **extra, texts *own, ms_err *err)
{
    const char *pos[1];
    int npos, help, rc;
    if ((rc = jopt_defaults(t, job, err)) || (rc = fill(t, job, obj, label, cmd, own, err)))
        return rc;
    if ((rc = jopt_apply(t, job, nextra, extra, pos, 0, &npos, &help, err)))
        return ms_errf(err, rc, "%s: %s", label, err->msg);
    return MS_OK;
}

static int report_train(const cJSON *obj, const char *label, int nextra, char **extra,
                        const jenv *env, texts *own, report *r, ms_err *err)
{
    jtrain_job j = {0};
    jtrain_out o = {0};
    int rc = fill_job(&jtrain_options, &j, obj, label, "train", nextra, extra, own, err);
    if (!rc && jcompare_wanted(&j)) {
        char warnings[2048];
        rc = jcompare_run(&j, env, r, warnings, sizeof warnings, err);
    } else if (!rc) {
        jtrain_job run = j;
        jsearch_out so;
        if (j.best_plan)
            rc = jcompare_best_plan(&j, env, &run, &so, err);
        if (!rc)
            rc = jtrain_run(&run, env, r, &o, err);
        if (!rc && j.trace)
            rc = jtrain_write_trace(j.trace, &o, err);
        char png[4200];
        if (!rc && o.power_it)
            rc = jpower_write_series(env, j.power.power_trace, j.power.power_plot, o.floor_frac,
                                     o.power_it, o.power_smooth, o.power_title, err);
        if (!rc && o.power_it && png_twin(j.power.power_plot, png, sizeof png))
            rc = jpower_write_series(env, NULL, png, o.floor_frac, o.power_it, o.power_smooth,
                                     o.power_title, err);
        if (!rc)
            rc = jtrain_write_plots(env, &j, &o, 1, err);
    }
    jtrain_out_free(&o);
    return rc;
}

static int report_serve(const cJSON *obj, const char *label, int nextra, char **extra,
                        const jenv *env, texts *own, report *r, ms_err *err)
{
    jserve_job j = {0};
    jserve_out o = {0};
    int rc = fill_job(&jserve_options, &j, obj, label, "serve", nextra, extra, own, err);
    if (!rc && j.chip && strchr(j.chip, ',')) {
        char warnings[2048];
        rc = jcompare_serve_run(&j, env, r, warnings, sizeof warnings, err);
    } else if (!rc) {
        rc = jserve_run(&j, env, r, &o, err);
        if (!rc && o.power_it)
            rc = jpower_write_series(env, j.power.power_trace, j.power.power_plot, o.floor_frac,
                                     o.power_it, o.power_smooth, o.power_title, err);
    }
    jserve_out_free(&o);
    return rc;
}

static int report_rl(const cJSON *obj, const char *label, int nextra, char **extra, const jenv *env,
                     texts *own, report *r, ms_err *err)
{
    jrl_job j = {0};
    int rc = fill_job(&jrl_options, &j, obj, label, "rl", nextra, extra, own, err);
    j.png_twin = 1;
    return rc ? rc : jrl_run(&j, env, r, err);
}

static int report_size(const cJSON *obj, const char *label, int nextra, char **extra,
                       const jenv *env, texts *own, report *r, ms_err *err)
{
    jsize_job j = {0};
    jsize_out o;
    int rc = fill_job(&jsize_options, &j, obj, label, "size", nextra, extra, own, err);
    return rc ? rc : jsize_run(&j, env, r, &o, err);
}

static int report_roofline(const cJSON *obj, const char *label, int nextra, char **extra,
                           const jenv *env, texts *own, report *r, ms_err *err)
{
    jroof_job j = {0};
    int rc = fill_job(&jroof_options, &j, obj, label, "roofline", nextra, extra, own, err);
    if (rc)
        return rc;
    jroof_out *o = calloc(1, sizeof *o); /* large: its points and curves */
    if (!o)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    int drawn;
    rc = jroof_run(&j, env, r, o, err);
    char png[4200];
    if (!rc && j.plot)
        rc = jroof_plot(o, env, j.plot, &drawn, err);
    if (!rc && png_twin(j.plot, png, sizeof png))
        rc = jroof_plot(o, env, png, &drawn, err);
    free(o);
    return rc;
}

static int report_export_check(const cJSON *obj, const char *label, int nextra, char **extra,
                               const jenv *env, texts *own, report *r, ms_err *err)
{
    jexport_check_job j = {0};
    int rc =
        fill_job(&jexport_check_options, &j, obj, label, "export-check", nextra, extra, own, err);
    return rc ? rc : jexport_check_run(&j, env, r, err);
}

static int report_frontier(const cJSON *obj, const char *label, int nextra, char **extra,
                           const jenv *env, texts *own, report *r, ms_err *err)
{
    jfrontier_job j = {0};
    jfrontier_out o = {0};
    int rc =
        fill_job(&jfrontier_options, &j, obj, label, "export-frontier", nextra, extra, own, err);
    char png[4200];
    if (!rc)
        rc = jfrontier_run(&j, env, r, &o, err);
    if (!rc && j.plot)
        rc = jfrontier_plot(env, j.plot, &o, j.metric, err);
    if (!rc && png_twin(j.plot, png, sizeof png))
        rc = jfrontier_plot(env, png, &o, j.metric, err);
    jfrontier_out_free(&o);
    return rc;
}

static int report_search_train(const cJSON *obj, const char *label, int nextra, char **extra,
                               const jenv *env, texts *own, report *r, ms_err *err)
{
    jsearch_job j = {0};
    jsearch_out o;
    int rc = fill_job(&jsearch_options, &j, obj, label, "search train", nextra, extra, own, err);
    j.what = "train";
    return rc ? rc : jsearch_run(&j, env, r, &o, err);
}

static int report_search_serve(const cJSON *obj, const char *label, int nextra, char **extra,
                               const jenv *env, texts *own, report *r, ms_err *err)
{
    jfleet_job j = {0};
    int rc = fill_job(&jfleet_options, &j, obj, label, "search serve", nextra, extra, own, err);
    return rc ? rc : jfleet_run(&j, env, r, err);
}

static int report_validate(const cJSON *obj, const char *label, int nextra, char **extra,
                           const jenv *env, texts *own, report *r, ms_err *err)
{
    jvalid_job j = {0};
    int rc = fill_job(&jvalid_options, &j, obj, label, "validate", nextra, extra, own, err);
    if (!rc)
        rc = jvalid_check(&j, err);
    if (rc)
        return rc;
    if (j.system) {
        jsystem_out o = {0};
        int drawn;
        rc = jsystem_run(&j, env, r, &o, err);
        char png[4200];
        if (!rc && j.plot)
            rc = jsystem_plot(&o, j.plot, &drawn, err);
        if (!rc && png_twin(j.plot, png, sizeof png))
            rc = jsystem_plot(&o, png, &drawn, err);
        jsystem_out_free(&o);
    } else {
        jvalid_out o = {0};
        rc = jvalid_run(&j, env, r, &o, err);
        jvalid_out_free(&o);
    }
    return rc;
}

typedef int (*report_fn)(const cJSON *obj, const char *label, int nextra, char **extra,
                         const jenv *env, texts *own, report *r, ms_err *err);

static const struct {
    const char *cmd;
    report_fn run;
} reporters[] = {
    {"train", report_train},
    {"serve", report_serve},
    {"rl", report_rl},
    {"size", report_size},
    {"roofline", report_roofline},
    {"export-check", report_export_check},
    {"export-frontier", report_frontier},
    {"search train", report_search_train},
    {"search serve", report_search_serve},
    {"validate", report_validate},
};

const char *jscen_report_commands(void)
{
    return "train, serve, rl, size, roofline, export-check, export-frontier, search train, search "
           "serve, validate";
}

int jscen_report_obj(const cJSON *obj, const char *label, int nextra, char **extra, const jenv *env,
                     report *r, ms_err *err)
{
    if (!cJSON_IsObject(obj))
        return ms_errf(err, MS_EINVAL, "%s: expected a JSON object", label);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "command");
    if (!cJSON_IsString(c))
        return ms_errf(err, MS_EINVAL, "%s: field 'command': expected a string, one of %s", label,
                       jscen_report_commands());
    for (size_t i = 0; i < sizeof reporters / sizeof reporters[0]; i++)
        if (strcmp(reporters[i].cmd, c->valuestring) == 0) {
            texts own = {.n = 0};
            int rc = reporters[i].run(obj, label, nextra, extra, env, &own, r, err);
            texts_free(&own);
            return rc;
        }
    return ms_errf(err, MS_EINVAL, "%s: field 'command': '%s' is not one of %s", label,
                   c->valuestring, jscen_report_commands());
}
