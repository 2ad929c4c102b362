/* jstudy: see jstudy.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "job/jstudy.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/jsonfile.h"
#include "job/jscen.h"

#define J(f) offsetof(jstudy_job, f)

static const jopt rows[] = {
    {"study", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, J(study),
     "the study to run (default: scenarios/story.json, the whole story)"},
    {"out", JOPT_STR, "DIR", NULL, "megasim-report", NAN, NAN, NULL, J(out),
     "the report directory, replaced whole at the end"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, J(json), "print the summary as JSON"},
    {"quick", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, J(quick),
     "leave out the entries marked slow (the page names each and its command)"},
};

const jopt_table jstudy_options = {.rows = rows,
                                   .n = sizeof rows / sizeof rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jstudy_job, given)};

/* ---- the study file ---- */

#define MAX_ENTRIES   64
#define MAX_HEADLINES 8

typedef struct headline {
    const char *key, *label, *unit, *source; /* borrowed from the study's JSON */
    double published;                        /* NAN: none */
    int summary;                             /* in the terminal's summary */
    double value;                            /* megasim's; NAN: not in the report */
} headline;

typedef struct entry {
    int section;
    const char *label, *text;
    const char *short_name;  /* in the summary; the label when not given */
    const cJSON *scenario;   /* the object run (owned by file, or the study's "run") */
    cJSON *file;             /* a "scenario" file read, owned */
    const char *path;        /* that file as named in the study, or NULL */
    char *args[40];          /* borrowed from the study, then the files' options */
    char file_args[8][4400]; /* those options and their paths in the report being written */
    int nargs;
    const cJSON *tries;
    const cJSON *files; /* {"trace": "v3-step.json", ...}: options writing into the report */
    headline h[MAX_HEADLINES];
    int nh;
    int slow;           /* "slow": true, left out by --quick */
    int left_out;       /* it was */
    char command[1024]; /* the command line that reproduces it */
    char slug[64];      /* file names: "03-deepseek-v3-on-2048-h800" */
    report *r;          /* owned; NULL when it failed */
    cJSON *json;        /* r as JSON, owned */
    char error[1024];   /* why it failed, or "" */
} entry;

typedef struct study {
    cJSON *root;
    const char *title, *intro;
    const cJSON *sections;
    entry e[MAX_ENTRIES];
    int n;
    char dir[4200]; /* the report being written */
} study;

static void study_free(study *s)
{
    for (int i = 0; i < s->n; i++) {
        cJSON_Delete(s->e[i].file);
        cJSON_Delete(s->e[i].json);
        report_free(s->e[i].r);
    }
    cJSON_Delete(s->root);
}

/* The string field key of o; NULL when absent. A present field of
 * another type is an error naming where. */
static int opt_str(const cJSON *o, const char *key, const char *file, const char *where,
                   int required, const char **out, ms_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v && !required)
        return MS_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return ms_errf(err, MS_EINVAL, "%s: %s.%s: expected a non-empty string", file, where, key);
    *out = v->valuestring;
    return MS_OK;
}

static void make_slug(entry *x, int index)
{
    size_t n = (size_t)snprintf(x->slug, sizeof x->slug, "%02d-", index + 1);
    int dash = 1;
    for (const char *p = x->label; *p && n + 2 < sizeof x->slug; p++) {
        if (isalnum((unsigned char)*p)) {
            x->slug[n++] = (char)tolower((unsigned char)*p);
            dash = 0;
        } else if (!dash) {
            x->slug[n++] = '-';
            dash = 1;
        }
    }
    while (n > 3 && x->slug[n - 1] == '-')
        n--;
    x->slug[n] = '\0';
}

/* "megasim run FILE ARGS" or "megasim CMD --key value ... ARGS". */
static void make_command(entry *x)
{
    size_t n = 0, cap = sizeof x->command;
    char *b = x->command;
    if (x->path) {
        n += (size_t)snprintf(b + n, cap - n, "megasim run %s", x->path);
    } else {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(x->scenario, "command");
        n += (size_t)snprintf(b + n, cap - n, "megasim %s", c->valuestring);
        const cJSON *f;
        cJSON_ArrayForEach(f, x->scenario)
        {
            if (n >= cap || !strcmp(f->string, "command"))
                continue;
            char opt[64];
            snprintf(opt, sizeof opt, "%s", f->string);
            for (char *p = opt; *p; p++)
                *p = *p == '_' ? '-' : *p;
            for (const cJSON *v = cJSON_IsArray(f) ? f->child : f; v && n < cap;
                 v = cJSON_IsArray(f) ? v->next : NULL) {
                if (cJSON_IsTrue(v))
                    n += (size_t)snprintf(b + n, cap - n, " --%s", opt);
                else if (cJSON_IsString(v))
                    n += (size_t)snprintf(b + n, cap - n,
                                          strchr(v->valuestring, ' ') ? " --%s \"%s\"" : " --%s %s",
                                          opt, v->valuestring);
                else if (cJSON_IsNumber(v))
                    n += (size_t)snprintf(b + n, cap - n, " --%s %.15g", opt, v->valuedouble);
            }
        }
    }
    for (int i = 0; i < x->nargs && n < cap; i++)
        n += (size_t)snprintf(b + n, cap - n, strchr(x->args[i], ' ') ? " \"%s\"" : " %s",
                              x->args[i]);
}

static int read_headlines(entry *x, const cJSON *hs, const char *file, const char *where,
                          ms_err *err)
{
    if (!hs)
        return MS_OK;
    if (!cJSON_IsArray(hs))
        return ms_errf(err, MS_EINVAL, "%s: %s.headline: expected a list of figures", file, where);
    const cJSON *h;
    cJSON_ArrayForEach(h, hs)
    {
        char w[160];
        snprintf(w, sizeof w, "%s.headline[%d]", where, x->nh);
        if (x->nh == MAX_HEADLINES)
            return ms_errf(err, MS_EINVAL, "%s: %s: at most %d headline figures an entry", file, w,
                           MAX_HEADLINES);
        if (!cJSON_IsObject(h))
            return ms_errf(err, MS_EINVAL, "%s: %s: expected an object", file, w);
        headline *y = &x->h[x->nh];
        int rc;
        if ((rc = opt_str(h, "key", file, w, 1, &y->key, err)) ||
            (rc = opt_str(h, "label", file, w, 1, &y->label, err)) ||
            (rc = opt_str(h, "unit", file, w, 0, &y->unit, err)) ||
            (rc = opt_str(h, "source", file, w, 0, &y->source, err)))
            return rc;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(h, "published");
        if (p && !(cJSON_IsNumber(p) && isfinite(p->valuedouble) && p->valuedouble != 0))
            return ms_errf(err, MS_EINVAL, "%s: %s.published: expected a non-zero number", file, w);
        y->published = p ? p->valuedouble : NAN;
        const cJSON *sum = cJSON_GetObjectItemCaseSensitive(h, "summary");
        if (sum && !cJSON_IsBool(sum))
            return ms_errf(err, MS_EINVAL, "%s: %s.summary: expected true or false", file, w);
        y->summary = sum ? cJSON_IsTrue(sum) : p != NULL; /* a published figure is shown */
        if (p && !y->source)
            return ms_errf(err, MS_EINVAL, "%s: %s.source: a published figure needs its source",
                           file, w);
        y->unit = y->unit ? y->unit : "";
        x->nh++;
    }
    return MS_OK;
}

/* One entry of section si; a scenario file is read later, when it runs. */
static int read_entry(study *s, int si, const cJSON *o, const char *file, const char *where,
                      ms_err *err)
{
    if (s->n == MAX_ENTRIES)
        return ms_errf(err, MS_EINVAL, "%s: %s: at most %d entries a study", file, where,
                       MAX_ENTRIES);
    if (!cJSON_IsObject(o))
        return ms_errf(err, MS_EINVAL, "%s: %s: expected an object", file, where);
    entry *x = &s->e[s->n];
    *x = (entry){.section = si};
    int rc;
    if ((rc = opt_str(o, "label", file, where, 1, &x->label, err)) ||
        (rc = opt_str(o, "text", file, where, 0, &x->text, err)) ||
        (rc = opt_str(o, "short", file, where, 0, &x->short_name, err)) ||
        (rc = opt_str(o, "scenario", file, where, 0, &x->path, err)))
        return rc;
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
    if (!x->path == !run)
        return ms_errf(err, MS_EINVAL,
                       "%s: %s: give the job as \"scenario\": FILE or \"run\": {\"command\": ...}, "
                       "one of them",
                       file, where);
    if (run && !cJSON_IsObject(run))
        return ms_errf(err, MS_EINVAL, "%s: %s.run: expected a scenario object", file, where);
    if (run && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(run, "command")))
        return ms_errf(err, MS_EINVAL, "%s: %s.run.command: expected a string, one of %s", file,
                       where, jscen_report_commands());
    x->scenario = run;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "args"), *a;
    if (args && !cJSON_IsArray(args))
        return ms_errf(err, MS_EINVAL, "%s: %s.args: expected a list of strings", file, where);
    cJSON_ArrayForEach(a, args)
    {
        if (!cJSON_IsString(a) || x->nargs == 32)
            return ms_errf(err, MS_EINVAL, "%s: %s.args: expected at most 32 strings", file, where);
        x->args[x->nargs++] = a->valuestring;
    }
    x->files = cJSON_GetObjectItemCaseSensitive(o, "files");
    if (x->files && (!cJSON_IsObject(x->files) || cJSON_GetArraySize(x->files) > 4))
        return ms_errf(err, MS_EINVAL,
                       "%s: %s.files: expected an object of at most 4 option: file name pairs",
                       file, where);
    const cJSON *fl;
    cJSON_ArrayForEach(fl, x->files)
    {
        int ok = cJSON_IsString(fl) && fl->valuestring[0] && fl->valuestring[0] != '.';
        for (const char *c = ok ? fl->valuestring : ""; *c && ok; c++)
            ok = isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == '_';
        if (!ok)
            return ms_errf(err, MS_EINVAL,
                           "%s: %s.files.%s: expected a file name of letters, digits, '.', '-' "
                           "and '_' (it is written inside the report)",
                           file, where, fl->string);
    }
    const cJSON *slow = cJSON_GetObjectItemCaseSensitive(o, "slow");
    if (slow && !cJSON_IsBool(slow))
        return ms_errf(err, MS_EINVAL, "%s: %s.slow: expected true or false", file, where);
    x->slow = cJSON_IsTrue(slow);
    x->tries = cJSON_GetObjectItemCaseSensitive(o, "try");
    const cJSON *t;
    if (x->tries && !cJSON_IsArray(x->tries))
        return ms_errf(err, MS_EINVAL, "%s: %s.try: expected a list of command lines", file, where);
    cJSON_ArrayForEach(t, x->tries) if (!cJSON_IsString(t)) return ms_errf(
        err, MS_EINVAL, "%s: %s.try: expected a list of command lines", file, where);
    if ((rc = read_headlines(x, cJSON_GetObjectItemCaseSensitive(o, "headline"), file, where, err)))
        return rc;
    x->short_name = x->short_name ? x->short_name : x->label;
    make_slug(x, s->n);
    s->n++;
    return MS_OK;
}

static int read_study(const char *file, study *s, ms_err *err)
{
    *s = (study){0};
    if (!(s->root = jsonfile_read_object(file, NULL, err)))
        return err->code;
    int rc;
    if ((rc = opt_str(s->root, "title", file, "study", 1, &s->title, err)) ||
        (rc = opt_str(s->root, "intro", file, "study", 0, &s->intro, err)))
        return rc;
    s->sections = cJSON_GetObjectItemCaseSensitive(s->root, "sections");
    if (!cJSON_IsArray(s->sections) || !s->sections->child)
        return ms_errf(err, MS_EINVAL, "%s: sections: expected a non-empty list of sections", file);
    int si = 0;
    const cJSON *sec;
    cJSON_ArrayForEach(sec, s->sections)
    {
        char where[64];
        snprintf(where, sizeof where, "sections[%d]", si);
        const char *title, *text;
        if (!cJSON_IsObject(sec))
            return ms_errf(err, MS_EINVAL, "%s: %s: expected an object", file, where);
        if ((rc = opt_str(sec, "title", file, where, 1, &title, err)) ||
            (rc = opt_str(sec, "text", file, where, 0, &text, err)))
            return rc;
        const cJSON *es = cJSON_GetObjectItemCaseSensitive(sec, "entries"), *o;
        if (!cJSON_IsArray(es) || !es->child)
            return ms_errf(err, MS_EINVAL, "%s: %s.entries: expected a non-empty list", file,
                           where);
        int ei = 0;
        cJSON_ArrayForEach(o, es)
        {
            char w[96];
            snprintf(w, sizeof w, "%s.entries[%d]", where, ei++);
            if ((rc = read_entry(s, si, o, file, w, err)))
                return rc;
        }
        si++;
    }
    return MS_OK;
}

/* ---- running ---- */

/* Runs x, its files (--OPTION FILE) written into dir; only makes its
 * command when leave_out. */
static void run_entry(entry *x, const char *dir, const jenv *env, int leave_out)
{
    ms_err err = {0};
    char label[256], found[4096];
    snprintf(label, sizeof label, "entry '%s'", x->label);
    int rc = MS_OK;
    if (x->path) {
        if (!(x->file =
                  jsonfile_read_object(jenv_find(env, x->path, found, sizeof found), NULL, &err)))
            rc = err.code;
        x->scenario = x->file;
    }
    make_command(x);
    const cJSON *fl;
    int nf = 0;
    cJSON_ArrayForEach(fl, x->files)
    {
        /* The command shown writes the file where the reader runs it. */
        size_t n = strlen(x->command);
        snprintf(x->command + n, sizeof x->command - n, " --%s %s", fl->string, fl->valuestring);
        for (char *c = x->command + n + 3; *c && *c != ' '; c++)
            *c = *c == '_' ? '-' : *c;
        snprintf(x->file_args[nf], sizeof x->file_args[nf], "--%s", fl->string);
        for (char *c = x->file_args[nf]; *c; c++)
            *c = *c == '_' ? '-' : *c;
        x->args[x->nargs++] = x->file_args[nf];
        snprintf(x->file_args[nf + 1], sizeof x->file_args[nf + 1], "%s/%s", dir, fl->valuestring);
        x->args[x->nargs++] = x->file_args[nf + 1];
        nf += 2;
    }
    if (!rc && leave_out) {
        x->left_out = 1;
        return;
    }
    if (!rc && !(x->r = report_new()))
        rc = ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = jscen_report_obj(x->scenario, label, x->nargs, x->args, env, x->r, &err);
    if (!rc && !(x->json = report_json(x->r)))
        rc = ms_errf(&err, MS_ENOMEM, "out of memory");
    if (rc) {
        /* Every message names the entry, whichever part of it failed. */
        const char *msg = err.msg[0] ? err.msg : "failed";
        snprintf(x->error, sizeof x->error,
                 strncmp(msg, label, strlen(label)) ? "%s: %s" : "%.0s%s", label, msg);
        report_free(x->r);
        x->r = NULL;
        return;
    }
    for (int k = 0; k < x->nh; k++)
        x->h[k].value = jsonfile_num_at(x->json, x->h[k].key);
}

/* ---- writing ---- */

static const char *section_title(const study *s, int si)
{
    const cJSON *sec = cJSON_GetArrayItem(s->sections, si);
    return cJSON_GetObjectItemCaseSensitive(sec, "title")->valuestring;
}

static const char *section_text(const study *s, int si)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(s->sections, si), "text");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static double rel_error(const headline *h)
{
    return isfinite(h->published) && isfinite(h->value) ? h->value / h->published - 1 : NAN;
}

static const char page_style[] =
    "body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b;line-height:1.45}"
    "h1{font-size:1.9rem}h2{margin-top:2.5rem;border-bottom:2px solid #ccc}"
    "table{border-collapse:collapse;margin:.6rem 0}td,th{padding:.2rem .6rem;"
    "border-bottom:1px solid #e2e2e2;text-align:left;vertical-align:top}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "pre{background:#f4f4f4;padding:.5rem;overflow-x:auto;white-space:pre-wrap}"
    ".failed{color:#a40000;font-weight:bold}.err-bad{color:#a40000}.left-out{color:#555}"
    "details{margin:.5rem 0 1.5rem}summary{cursor:pointer;color:#333}"
    "nav ol{columns:2}"
    "@media print{details{display:block}body{max-width:none}a{color:inherit}}";

static void html_headlines(FILE *f, const entry *x)
{
    if (!x->nh)
        return;
    fputs("<table class=\"headline\"><thead><tr><th>quantity</th><th class=\"num\">megasim</th>"
          "<th class=\"num\">published</th><th class=\"num\">error</th><th>source</th></tr>"
          "</thead><tbody>\n",
          f);
    for (int k = 0; k < x->nh; k++) {
        const headline *h = &x->h[k];
        char a[64], b[64];
        double e = rel_error(h);
        fputs("<tr><td>", f);
        report_html_escape(f, h->label);
        fprintf(f, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td>",
                report_format(h->value, h->unit, a, sizeof a),
                isfinite(h->published) ? report_format(h->published, h->unit, b, sizeof b) : "-");
        if (isfinite(e))
            fprintf(f, "<td class=\"num%s\">%+.1f%%</td><td>", fabs(e) > 0.25 ? " err-bad" : "",
                    100 * e);
        else
            fputs("<td class=\"num\">-</td><td>", f);
        report_html_escape(f, h->source ? h->source : "");
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

/* x's files: an SVG drawn in the page (its own file kept beside it), any
 * other file linked. */
static void write_files_html(FILE *f, const char *dir, const entry *x)
{
    const cJSON *fl;
    cJSON_ArrayForEach(fl, x->files)
    {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, fl->valuestring);
        size_t len = strlen(fl->valuestring);
        char *svg = NULL;
        if (len > 4 && strcmp(fl->valuestring + len - 4, ".svg") == 0)
            svg = jsonfile_slurp(path, NULL, &(ms_err){0});
        const char *start = svg ? strstr(svg, "<svg") : NULL;
        if (start) {
            fputs("<figure>", f);
            fputs(start, f);
            fprintf(f,
                    "<figcaption>As files: <a href=\"%s\">%s</a>, <a href=\"%.*s.png\">%.*s.png"
                    "</a></figcaption></figure>\n",
                    fl->valuestring, fl->valuestring, (int)len - 4, fl->valuestring, (int)len - 4,
                    fl->valuestring);
        } else if (access(path, F_OK) == 0) {
            fprintf(f, "<p>Written by --%s: <a href=\"%s\">%s</a>%s</p>\n", fl->string,
                    fl->valuestring, fl->valuestring,
                    strcmp(fl->string, "trace") == 0 ? " (a Chrome trace: open it in Perfetto, "
                                                       "ui.perfetto.dev)"
                                                     : "");
        }
        free(svg);
    }
}

static int write_html(const study *s, FILE *f, ms_err *err)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    report_html_escape(f, s->title);
    fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<h1>", page_style);
    report_html_escape(f, s->title);
    fputs("</h1>\n", f);
    if (s->intro) {
        fputs("<p>", f);
        report_html_escape(f, s->intro);
        fputs("</p>\n", f);
    }
    fputs("<h2 id=\"glance\">At a glance</h2>\n<table class=\"headline\"><thead><tr>"
          "<th>quantity</th><th class=\"num\">megasim</th><th class=\"num\">published</th>"
          "<th class=\"num\">error</th></tr></thead><tbody>\n",
          f);
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < s->e[i].nh && s->e[i].r; k++) {
            const headline *h = &s->e[i].h[k];
            if (!h->summary)
                continue;
            char a[64], b[64];
            double e = rel_error(h);
            fprintf(f, "<tr><td><a href=\"#%s\">", s->e[i].slug);
            report_html_escape(f, s->e[i].short_name);
            fputs("</a>: ", f);
            report_html_escape(f, h->label);
            fprintf(f, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td>",
                    report_format(h->value, h->unit, a, sizeof a),
                    isfinite(h->published) ? report_format(h->published, h->unit, b, sizeof b)
                                           : "-");
            if (isfinite(e))
                fprintf(f, "<td class=\"num\">%+.1f%%</td></tr>\n", 100 * e);
            else
                fputs("<td class=\"num\">-</td></tr>\n", f);
        }
    fputs("</tbody></table>\n<nav><ol>\n", f);
    for (int si = 0; si < cJSON_GetArraySize(s->sections); si++) {
        fprintf(f, "<li><a href=\"#s%d\">", si + 1);
        report_html_escape(f, section_title(s, si));
        fputs("</a></li>\n", f);
    }
    fputs("</ol></nav>\n", f);
    int last = -1;
    for (int i = 0; i < s->n; i++) {
        const entry *x = &s->e[i];
        if (x->section != last) {
            last = x->section;
            fprintf(f, "<h2 id=\"s%d\">", last + 1);
            report_html_escape(f, section_title(s, last));
            fputs("</h2>\n", f);
            if (section_text(s, last)) {
                fputs("<p>", f);
                report_html_escape(f, section_text(s, last));
                fputs("</p>\n", f);
            }
        }
        fprintf(f, "<section id=\"%s\"><h3>", x->slug);
        report_html_escape(f, x->label);
        fputs("</h3>\n", f);
        if (x->text) {
            fputs("<p>", f);
            report_html_escape(f, x->text);
            fputs("</p>\n", f);
        }
        fputs("<pre>", f);
        report_html_escape(f, x->command);
        fputs("</pre>\n", f);
        if (x->error[0]) {
            fputs("<p class=\"failed\">This entry failed: ", f);
            report_html_escape(f, x->error);
            fputs("</p>\n", f);
        } else if (x->left_out) {
            fputs("<p class=\"left-out\">Left out of this report by --quick, as it takes "
                  "longer than the rest: the command above runs it.</p>\n",
                  f);
        } else {
            html_headlines(f, x);
            fputs("<details><summary>the whole report</summary>\n", f);
            int rc = report_write_html(x->r, f, 4, err);
            if (rc)
                return rc;
            fprintf(f, "<p>As data: <a href=\"%s.json\">%s.json</a></p>\n</details>\n", x->slug,
                    x->slug);
        }
        if (!x->error[0] && !x->left_out)
            write_files_html(f, s->dir, x);
        const cJSON *t;
        if (x->tries && x->tries->child) {
            fputs("<p>Try next:</p><pre>", f);
            cJSON_ArrayForEach(t, x->tries)
            {
                report_html_escape(f, t->valuestring);
                fputc('\n', f);
            }
            fputs("</pre>\n", f);
        }
        fputs("</section>\n", f);
    }
    fputs("</body></html>\n", f);
    return MS_OK;
}

static int write_md(const study *s, FILE *f, ms_err *err)
{
    fprintf(f, "# %s\n\n", s->title);
    if (s->intro)
        fprintf(f, "%s\n\n", s->intro);
    int last = -1;
    for (int i = 0; i < s->n; i++) {
        const entry *x = &s->e[i];
        if (x->section != last) {
            last = x->section;
            fprintf(f, "## %s\n\n", section_title(s, last));
            if (section_text(s, last))
                fprintf(f, "%s\n\n", section_text(s, last));
        }
        fprintf(f, "### %s\n\n", x->label);
        if (x->text)
            fprintf(f, "%s\n\n", x->text);
        fprintf(f, "```sh\n%s\n```\n\n", x->command);
        if (x->error[0]) {
            fprintf(f, "**This entry failed:** %s\n\n", x->error);
            continue;
        }
        if (x->left_out) {
            fputs("Left out of this report by --quick, as it takes longer than the rest: the "
                  "command above runs it.\n\n",
                  f);
            continue;
        }
        if (x->nh) {
            fputs("| quantity | megasim | published | error | source |\n|---|---:|---:|---:|---|\n",
                  f);
            for (int k = 0; k < x->nh; k++) {
                const headline *h = &x->h[k];
                char a[64], b[64];
                double e = rel_error(h);
                fprintf(f, "| %s | %s | %s | ", h->label,
                        report_format(h->value, h->unit, a, sizeof a),
                        isfinite(h->published) ? report_format(h->published, h->unit, b, sizeof b)
                                               : "-");
                if (isfinite(e))
                    fprintf(f, "%+.1f%%", 100 * e);
                else
                    fputs("-", f);
                fprintf(f, " | %s |\n", h->source ? h->source : "");
            }
            fputs("\n", f);
        }
        const cJSON *fl;
        cJSON_ArrayForEach(fl, x->files)
        {
            size_t len = strlen(fl->valuestring);
            if (len > 4 && strcmp(fl->valuestring + len - 4, ".svg") == 0)
                fprintf(f, "![%s](%.*s.png)\n\n(also as [%s](%s))\n\n", x->label, (int)len - 4,
                        fl->valuestring, fl->valuestring, fl->valuestring);
            else
                fprintf(f, "Written by --%s: [%s](%s)\n\n", fl->string, fl->valuestring,
                        fl->valuestring);
        }
        int rc = report_write_markdown(x->r, f, 4, err);
        if (rc)
            return rc;
        fputs("\n", f);
    }
    return MS_OK;
}

/* One file of the report directory, through fn. */
static int write_file(const char *dir, const char *name, const study *s,
                      int (*fn)(const study *, FILE *, ms_err *), ms_err *err)
{
    char path[4352];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    int rc = fn(s, f, err);
    if (fclose(f) != 0 && !rc)
        rc = ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    return rc;
}

/* Each entry's JSON, and a CSV for each table at the top of its report. */
static int write_data(const char *dir, const study *s, ms_err *err)
{
    char path[4352];
    for (int i = 0; i < s->n; i++) {
        const entry *x = &s->e[i];
        if (!x->json)
            continue;
        snprintf(path, sizeof path, "%s/%s.json", dir, x->slug);
        FILE *f = fopen(path, "w");
        if (!f)
            return ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
        int rc = report_write_json(x->r, f, err);
        if (fclose(f) != 0 && !rc)
            rc = ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
        if (rc)
            return rc;
        const cJSON *t;
        cJSON_ArrayForEach(t, x->json)
        {
            if (!cJSON_IsArray(t) || !cJSON_IsObject(t->child))
                continue;
            snprintf(path, sizeof path, "%s/%s-%s.csv", dir, x->slug, t->string);
            if (!(f = fopen(path, "w")))
                return ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
            rc = report_write_csv(x->r, t->string, f, err);
            if (fclose(f) != 0 && !rc)
                rc = ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
            if (rc)
                return rc;
        }
    }
    return MS_OK;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A directory and all it holds; nothing when it does not exist. */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The directory the report is written in, beside out, until it is whole. */
static int make_partial(const char *out, char *tmp, size_t cap, ms_err *err)
{
    snprintf(tmp, cap, "%s.partial-%ld", out, (long)getpid());
    remove_tree(tmp);
    if (mkdir(tmp, 0777) != 0)
        return ms_errf(err, MS_EIO, "%s: cannot create the report directory: %s", tmp,
                       strerror(errno));
    return MS_OK;
}

/* The report written in tmp, then renamed into place as out: the old one
 * is moved aside and removed only once the new one is whole. */
static int write_dir(const char *tmp, const char *out, const study *s, char *written, size_t cap,
                     ms_err *err)
{
    char old[4200];
    snprintf(old, sizeof old, "%s.old-%ld", out, (long)getpid());
    int rc;
    if ((rc = write_file(tmp, "index.html", s, write_html, err)) ||
        (rc = write_file(tmp, "report.md", s, write_md, err)) || (rc = write_data(tmp, s, err))) {
        remove_tree(tmp);
        return rc;
    }
    struct stat st;
    int had = stat(out, &st) == 0;
    if (had && !S_ISDIR(st.st_mode)) {
        remove_tree(tmp);
        return ms_errf(err, MS_EIO, "--out %s: exists and is not a directory", out);
    }
    if ((had && rename(out, old) != 0) || rename(tmp, out) != 0) {
        rc = ms_errf(err, MS_EIO, "%s: cannot put the report in place: %s", out, strerror(errno));
        if (had)
            rename(old, out);
        remove_tree(tmp);
        return rc;
    }
    if (had)
        remove_tree(old);
    snprintf(written, cap, "%s", out);
    return MS_OK;
}

/* ---- the summary ---- */

/* The headline rows of the entries: those marked for the summary, or
 * every one. */
static void headline_rows(const study *s, report *r, int all)
{
    for (int i = 0; i < s->n; i++) {
        const entry *x = &s->e[i];
        for (int k = 0; k < x->nh && x->r; k++) {
            const headline *h = &x->h[k];
            if (!all && !h->summary)
                continue;
            char q[256];
            snprintf(q, sizeof q, "%s: %s", x->short_name, h->label);
            report_row(r);
            report_str(r, "quantity", NULL, q);
            report_num(r, "megasim", NULL, h->value, h->unit);
            report_num(r, "published", NULL, h->published, h->unit);
            report_num(r, "error", NULL, rel_error(h), "%");
        }
    }
}

static void summarize(const study *s, report *r)
{
    report_str(r, "title", NULL, s->title);
    report_table(r, "headlines", "headline figures (error: megasim against the published figure)");
    headline_rows(s, r, 0);
    report_table_end(r);
    report_begin_hidden(r, NULL); /* every figure, in JSON */
    report_table(r, "all_headlines", NULL);
    headline_rows(s, r, 1);
    report_table_end(r);
    report_end(r);
    int failed = 0;
    for (int i = 0; i < s->n; i++)
        failed += s->e[i].error[0] != '\0';
    /* A table with no rows would print its heading alone: hidden then. */
    if (failed)
        report_begin(r, NULL, NULL);
    else
        report_begin_hidden(r, NULL);
    report_table(r, "failed", "entries that failed");
    for (int i = 0; i < s->n; i++)
        if (s->e[i].error[0]) {
            report_row(r);
            report_str(r, "entry", NULL, s->e[i].label);
            report_str(r, "error", NULL, s->e[i].error);
        }
    report_table_end(r);
    report_end(r);
    char left[1024] = "";
    size_t n = 0;
    for (int i = 0; i < s->n && n < sizeof left; i++)
        if (s->e[i].left_out)
            n += (size_t)snprintf(left + n, sizeof left - n, "%s%s", n ? "; " : "",
                                  s->e[i].short_name);
    if (n)
        report_str(r, "left_out", "left out by --quick", left);
}

/* The summary as --json prints it, into dir/summary.json. */
static int write_summary(const char *dir, const study *s, const jenv *env, ms_err *err)
{
    char path[4352];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    report *r = report_new();
    if (!r)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    report_version(r, env->version);
    summarize(s, r);
    FILE *f = fopen(path, "w");
    int rc = f ? report_write_json(r, f, err)
               : ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    if (f && fclose(f) != 0 && !rc)
        rc = ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    report_free(r);
    return rc;
}

int jstudy_run(const jstudy_job *j, const jenv *env, report *r, jstudy_out *out, ms_err *err)
{
    *out = (jstudy_out){0};
    char found[4096];
    const char *file =
        jenv_find(env, j->study ? j->study : "scenarios/story.json", found, sizeof found);
    study s;
    char tmp[4200];
    int rc = read_study(file, &s, err);
    if (!rc)
        rc = make_partial(j->out, tmp, sizeof tmp, err);
    if (!rc)
        snprintf(s.dir, sizeof s.dir, "%s", tmp);
    for (int i = 0; !rc && i < s.n; i++) {
        if (j->progress)
            j->progress(j->progress_ctx, (double)i, (double)s.n, "entries", s.e[i].short_name);
        run_entry(&s.e[i], tmp, env, j->quick && s.e[i].slow);
        out->entries++;
        out->left_out += s.e[i].left_out;
        if (s.e[i].error[0] && out->failed++ == 0)
            snprintf(out->first_failure, sizeof out->first_failure, "%s", s.e[i].error);
    }
    if (!rc && (rc = write_summary(tmp, &s, env, err)))
        remove_tree(tmp);
    if (!rc)
        rc = write_dir(tmp, j->out, &s, out->dir, sizeof out->dir, err);
    if (!rc) {
        report_version(r, env->version);
        summarize(&s, r);
        report_str(r, "report", "the report", out->dir);
    }
    study_free(&s);
    return rc;
}
