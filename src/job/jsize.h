/* jsize: the size job. How many accelerators a site's power holds, or how
 * much power a fleet (one chip, or a mix with a count of each) needs at
 * full load; its servers, racks and fat-tree switches, FLOP/s, HBM and
 * cost of ownership; and, given a model, how long training it would take
 * at an assumed MFU. */
#ifndef MS_JSIZE_H
#define MS_JSIZE_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "job/jpower.h"
#include "model/modelfile.h"
#include "report/report.h"

#define JSIZE_MAX_KINDS 8 /* chips in one mixed fleet */

typedef struct jsize_job {
    const char *chip;          /* "H100", or "H100:100000,H200:100000" (a count of each) */
    const char *power;         /* a site's power at the meter ("2.2GW"); NULL: none */
    int64_t gpus;              /* JOPT_NO_INT: none */
    double it_fraction;        /* with power: the share reaching IT; NAN: hwdb/costs.csv's */
    const char *model;         /* a model to train on the fleet, or NULL */
    double tokens;             /* training tokens; NAN: none */
    int64_t seq;               /* tokens per sequence */
    double mfu;                /* assumed model FLOPs utilization; NAN: none */
    int precision;             /* the peak mfu is a fraction of: 0 bf16, 1 fp8 */
    double price_per_gpu_hour; /* a flat price instead of ownership; NAN: none */
    double years;              /* the cost horizon; NAN: the servers' life */
    jpower_opts pw;
    jopt_list chips;
    int json;
    jopt_given_set given;
} jsize_job;

extern const jopt_table jsize_options;

/* What a run gives beyond its report. */
typedef struct jsize_out {
    char warnings[MODELFILE_WARN_MAX]; /* the model file's, one per line, or "" */
} jsize_out;

/* Runs j, filling r with the inputs, the line "summary", the table "fleet"
 * (one row per chip; its servers and racks whole, as they are bought) and
 * the fleet's figures (their JSON keys at the top level, servers and racks
 * as fractions, the peaks under "peak_flop_per_s"), and out (may be NULL) with
 * the model file's warnings. Fails naming the option or file at fault:
 * MS_EUSAGE for options that contradict each other, MS_EINVAL when the
 * power holds no GPU. */
int jsize_run(const jsize_job *j, const jenv *env, report *r, jsize_out *out, ms_err *err);

#endif
