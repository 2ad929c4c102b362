/* jfrontier: the export-frontier job. Derives a grid of what-if chips from
 * one (factors on FLOPs, interconnect, memory...), judges each under an
 * export rule, runs a train, serve or rl scenario on every design the rule
 * does not control (in worker processes), and ranks them by a number of
 * the scenario's result: the best chip the rule allows, and the
 * trade-off. */
#ifndef MS_JFRONTIER_H
#define MS_JFRONTIER_H

#include <stddef.h>
#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "policy/derive.h"
#include "policy/xrule.h"
#include "report/report.h"

#define JFRONTIER_MAX_KNOBS 6

typedef struct jfrontier_job {
    const char *rule, *from, *vary;
    int64_t steps;
    const char *workload, *metric;
    int minimize;
    jopt_list workload_arg;
    int all_designs;
    int best_plan; /* a train workload runs each design on its own fastest plan */
    int64_t jobs;  /* JOPT_NO_INT: the CPUs online */
    const char *rules;
    jopt_list chips;
    const char *csv, *plot;
    int json, keep_plot_data;
    jopt_given_set given;
    /* Not an option: told of each design run (may be NULL). */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
} jfrontier_job;

extern const jopt_table jfrontier_options;

typedef struct jfrontier_knob {
    derive_field field;
    double lo, hi;
    int n;
} jfrontier_knob;

typedef struct jfrontier_design {
    double factor[JFRONTIER_MAX_KNOBS];
    derive_chip d;
    xrule_verdict v;
    int ran;       /* the workload ran on it */
    double metric; /* NAN when it did not run or failed */
    char error[200];
} jfrontier_design;

/* The grid and its results, for a CSV and a plot. */
typedef struct jfrontier_out {
    jfrontier_design *ds;
    size_t n;
    jfrontier_knob knobs[JFRONTIER_MAX_KNOBS];
    int nknobs;
    const jfrontier_design *best; /* NULL when no allowed design ran */
    double base_metric;
    char base[64], rule[64];
    /* What the designs' chips and verdicts point into (their parent's
     * strings, the rule's clauses): kept until jfrontier_out_free. */
    chip_db *db;
    xrule_set *rules;
} jfrontier_out;

/* Runs j, filling r and out (free with jfrontier_out_free, also after a
 * failure). Errors name the option or file at fault. */
int jfrontier_run(const jfrontier_job *j, const jenv *env, report *r, jfrontier_out *out,
                  ms_err *err);
void jfrontier_out_free(jfrontier_out *out);

/* Writes every design run to path as CSV: its factors, its figures under
 * the rule, whether the rule controls it and its metric key. */
int jfrontier_write_csv(const char *path, const jfrontier_out *o, const char *key, ms_err *err);

/* Draws the trade-off to out (.png or .svg) with plots/frontier.gp: each
 * design's metric against its TPP, the controlled ones apart, the best
 * marked. */
int jfrontier_plot(const jenv *env, const char *out, const jfrontier_out *o, const char *key,
                   ms_err *err);

#endif
