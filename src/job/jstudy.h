/* jstudy: a study, the report a person opens in a browser. A study file
 * (JSON) is a title, an introduction and sections; each section a title,
 * its text and entries; each entry a job (a scenario file, or a scenario
 * object of any command jscen_report_obj runs) with extra options, the
 * headline figures to take from its report (a dotted path into its JSON,
 * with the published figure and its source where there is one), and the
 * what-ifs a reader might try next:
 *
 *   {"title": "...", "intro": "...",
 *    "sections": [{"title": "...", "text": "...",
 *      "entries": [{"label": "DeepSeek-V3 on 2,048 H800",
 *                   "scenario": "scenarios/deepseek-v3-pretrain-h800.json",
 *                   "args": ["--chip", "H100"],
 *                   "text": "...",
 *                   "headline": [{"key": "step_time_s", "label": "step",
 *                                 "unit": "s", "published": 19.93,
 *                                 "source": "..."}],
 *                   "try": ["megasim run ... --chip H100"]}]}]}
 *
 * ("run": {"command": "size", ...} instead of "scenario"; "slow": true
 * marks an entry that --quick leaves out.) Every entry runs, in order;
 * one that fails (an unknown command, a bad option, a
 * missing model) is marked with its message and the others still run.
 * The directory OUT then holds index.html (one self-contained page: no
 * scripts, no network), report.md (the same as Markdown), one JSON file
 * per entry, one CSV per table of its report and summary.json (the
 * summary, as --json prints it). It is written beside OUT
 * and renamed into place at the end, so an interrupted run leaves the
 * previous report as it was. */
#ifndef MS_JSTUDY_H
#define MS_JSTUDY_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "report/report.h"

typedef struct jstudy_job {
    const char *study; /* the study file; NULL: scenarios/story.json */
    const char *out;   /* the report directory */
    int json;
    int quick; /* leave out the entries marked "slow" */
    jopt_given_set given;
    /* Not options: told before each entry runs, with its label (may be
     * NULL). */
    void (*progress)(void *ctx, double done, double total, const char *units, const char *label);
    void *progress_ctx;
} jstudy_job;

extern const jopt_table jstudy_options;

typedef struct jstudy_out {
    int64_t entries, failed;
    int64_t left_out;         /* slow entries --quick did not run */
    char first_failure[1024]; /* the first failed entry's message, or "" */
    char dir[4096];           /* the directory written */
} jstudy_out;

/* Runs the study of j and writes its directory, filling r with the
 * summary (the table "headlines": section, entry, quantity, megasim's
 * figure, the published one and the relative error, "failed" for the
 * entries that failed, and "left_out" naming those --quick left out). Returns MS_OK even when
 * entries failed (out counts them; the directory marks them); fails, writing nothing, on a study
 * file that cannot be read or is malformed (naming the file and field), and when the directory
 * cannot be written. */
int jstudy_run(const jstudy_job *j, const jenv *env, report *r, jstudy_out *out, ms_err *err);

#endif
