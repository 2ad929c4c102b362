/* jsearch: the search for the best training plan of a model on a number
 * of GPUs of one chip.
 *
 * Every plan that divides is a candidate: tensor parallel (powers of two
 * up to the scale-up domain), context parallel (1, 2, 4, 8), pipeline
 * stages (the divisors left, up to the layers) with each schedule (gpipe,
 * 1f1b, zb1p, dualpipe, dualpipev, and interleaved with 2 and 4 chunks a
 * rank), expert parallel (powers of two that divide the experts), ZeRO
 * 0-3, micro-batches of 1, 2, 4 and 8 sequences, each recompute policy and
 * each precision the chip has (bf16, fp8). A candidate that plan_check
 * refuses is no candidate. The rest are pruned, first by memory (the
 * rank's bytes without the schedule's extras, which only add), then by a
 * lower bound on the step: the compute of every stage of the model for
 * every micro-batch, shared evenly over the pipeline ranks, which no
 * schedule can beat (no rank computes two things at once, communication
 * and bubbles only add). Candidates are simulated (train/step) in the
 * order of their bound; one whose bound is above the K-th best step found
 * (and above the compared plan's step) and above the step of a simulated
 * plan that needs no more memory and costs no more is neither in the top
 * K nor in the Pareto set of step time, memory and cost (of step time and
 * memory when the chip's power or price is unknown), and is not simulated.
 *
 * With --objective cost or energy the plans are ranked by what a step
 * costs (ownership or a price per GPU-hour, with its energy at the meter)
 * or the energy it draws at the meter, from the step's activity on the
 * chip's power levels (hwdb/power.csv) as train draws it. The bound then
 * prunes through the least a step can draw: every GPU, its server share
 * and the switches at their floor for the bound's time. */
#ifndef MS_JSEARCH_H
#define MS_JSEARCH_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "job/jpower.h"
#include "job/jtopo.h"
#include "model/modelfile.h"
#include "report/report.h"
#include "train/plan.h"
#include "train/sched.h"

typedef struct jsearch_job {
    const char *what; /* "train": the positional argument */
    const char *model, *chip;
    int64_t gpus, seq, global_batch;
    const char *precisions; /* "bf16,fp8"; NULL: every one the chip has */
    const char *stack;      /* NULL: the chip's era */
    int64_t comm_sms;       /* for the overlapped schedules (dualpipe, dualpipev) */
    double moe_imbalance;
    int64_t max_cp; /* context-parallel degrees tried: powers of two up to it */
    int64_t top;
    double pareto_within; /* the Pareto set's plans are at most this much slower than the best */
    const char *compare_plan;          /* "tp=1,pp=16,..." or NULL */
    int exhaustive;                    /* simulate every plan that fits */
    double tokens, price_per_gpu_hour; /* NAN: none */
    int objective;                     /* 0 step time, 1 cost, 2 energy (a step's) */
    jpower_opts power;                 /* prices, PUE and lives, for cost and energy */
    jtopo_opts topo;
    int ideal, peak;
    const char *efficiency;
    jopt_list chips;
    const char *csv;
    int json;
    jopt_given_set given;
    /* Called now and then with candidates done and in all (not an option). */
    void (*progress)(void *ctx, double done, double total, const char *units);
    void *progress_ctx;
} jsearch_job;

extern const jopt_table jsearch_options;

/* One plan of the search: what it sets beyond the model, GPUs, sequence
 * and batch (dp is what is left: gpus / (tp x pp x cp)). */
typedef struct jsearch_plan {
    int64_t tp, pp, vpp, cp, ep, zero, micro_batch;
    sched_kind schedule;
    plan_recompute recompute;
    const char *precision; /* a static string: "bf16", "fp8", ... */
} jsearch_plan;

/* "tp=1,pp=16,vpp=1,cp=1,ep=64,zero=1,mb=1,schedule=dualpipe,
 * recompute=selective,precision=fp8": what --compare-plan takes. */
void jsearch_plan_format(const jsearch_plan *p, char *buf, size_t cap);
/* Parses that form; keys may come in any order and those left out take
 * tp=1 pp=1 vpp=1 cp=1 ep=1 zero=1 mb=1 schedule=1f1b recompute=none
 * precision=bf16. MS_EUSAGE naming opt ("--compare-plan"), the key and
 * what was expected. */
int jsearch_plan_parse(const char *opt, const char *text, jsearch_plan *out, ms_err *err);

/* What a search gives beyond its report. */
typedef struct jsearch_out {
    int64_t enumerated;    /* plans the loops made */
    int64_t candidates;    /* of them, valid for the model (plan_check) */
    int64_t pruned_memory; /* do not fit, before any schedule's extras */
    int64_t pruned_bound;  /* their bound says they cannot place */
    int64_t simulated;     /* run on the engine */
    int64_t failed;        /* of those simulated: the schedule cannot run it, or it does not fit */
    double best_step_s;    /* NAN: none found */
    double best_energy_j;  /* of a step at the meter; NAN: power unknown */
    double best_usd;       /* a step's cost; NAN: unpriced */
    jsearch_plan best;
    double compare_step_s; /* NAN: no compared plan */
    int64_t compare_rank;  /* 1-based among the plans simulated; 0: none */
    char warnings[MODELFILE_WARN_MAX];
} jsearch_out;

/* Runs the search j (what "train"), filling r: the inputs, "search" (the
 * counts), "best", the tables "top" (the K best by the objective) and
 * "pareto" (step time, memory per GPU and cost), "compare" (the compared plan and its
 * rank), and the table "simulated" (every plan run, what --csv writes).
 * Fails naming the option at fault (MS_EUSAGE), or MS_EINVAL when no plan
 * fits (saying the closest and by how much). */
int jsearch_run(const jsearch_job *j, const jenv *env, report *r, jsearch_out *out, ms_err *err);

#endif
