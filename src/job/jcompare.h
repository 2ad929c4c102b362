/* jcompare: one training job on several chips, side by side, each on the
 * plan given or, with best_plan, on its own fastest plan (jsearch): the
 * fair comparison, since a plan held fixed favours the chip it was made
 * for. Each chip after the first is set against the first: its step and
 * cost relative to it, and the datasheet figures in which the two chips
 * differ (for the H800 against the H100, only scale-up bandwidth: what
 * the NVLink cut costs). */
#ifndef MS_JCOMPARE_H
#define MS_JCOMPARE_H

#include "job/jenv.h"
#include "job/jsearch.h"
#include "job/jserve.h"
#include "job/jtrain.h"
#include "report/report.h"

#define JCOMPARE_MAX_CHIPS 16

/* Whether j asks for a comparison: a list of chips (A,B) or --best-plan. */
int jcompare_wanted(const jtrain_job *j);

/* One chip's fastest plan: out is j on chip j->chip (one name), its plan
 * (tp, pp, vpp, cp, ep, ZeRO, micro-batch, schedule, recompute,
 * precision) set to the best jsearch finds for j's model, GPUs, sequence,
 * batch, stack, comm_sms, load, cluster and calibration, and best_plan
 * cleared; so is the search's out. Fails as jsearch_run fails. */
int jcompare_best_plan(const jtrain_job *j, const jenv *env, jtrain_job *out, jsearch_out *so,
                       ms_err *err);

/* Runs j once per chip of j->chip ("H100,H800,H20"), with each chip's best
 * plan when j->best_plan, filling r: the inputs, the table "chips" (one row
 * per chip: plan, step, tokens/s, MFU, memory, GPU-hours, days and cost of
 * --tokens), "against" (each chip against the first, and how their
 * datasheets differ) and, in JSON only, "runs" (each chip's whole train
 * report under its name, with its search's counts). warnings gets the
 * model file's. Fails with MS_EUSAGE for options that need one run (a
 * trace, a power trace or plot, --uncertainty), an empty or repeated
 * name, or more than JCOMPARE_MAX_CHIPS chips; otherwise as jtrain_run and
 * jsearch_run fail, naming the chip. */
int jcompare_run(const jtrain_job *j, const jenv *env, report *r, char *warnings, size_t cap,
                 ms_err *err);

/* The same for a serving job: j once per chip of j->chip, side by side:
 * the table "chips" (GPUs, output and input tokens/s per GPU, p99 time to
 * first token and per output token, GPU-hours and dollars per million
 * output tokens), "against" and, in JSON only, "runs". Fails with
 * MS_EUSAGE for options that need one run (--csv, --plot, --sweep-rate,
 * a power trace or plot, --uncertainty), or as split and jserve_run do. */
int jcompare_serve_run(const jserve_job *j, const jenv *env, report *r, char *warnings, size_t cap,
                       ms_err *err);

#endif
