/* jfleet: the search for the cheapest serving fleet that meets a demand
 * under latency limits (megasim search serve), on each of several chips.
 *
 * For each chip, each instance layout is tried: instances of 1, 2, 4, ...
 * GPUs up to a limit, attention tensor parallel over 1, 2, 4 or 8 of them
 * and data parallel over the rest, a MoE model's experts over all of the
 * instance's GPUs. One instance is simulated under MLPerf's Server
 * scenario (serve's search for the highest Poisson rate whose p99 time to
 * first token and per output token stay within the limits); a layout that
 * does not fit or meets no rate is set aside with its reason. The demand
 * (output tokens a day, or requests a second) then takes ceil(demand /
 * one instance's rate) instances; their GPUs, IT power (the instance run's
 * mean, its share of the network included) and cost a day (GPU-hours at
 * the run's all-in price) follow. With --disaggregate, each layout is also
 * tried as groups of P prefill and D decode instances (serve
 * --disaggregate P:D, the group simulated as one run), the demand taking
 * whole groups. A fleet over the GPUs allowed is set
 * aside. Each chip's best layout is the one with
 * the lowest objective: cost a day, GPUs, or power. */
#ifndef MS_JFLEET_H
#define MS_JFLEET_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "report/report.h"

typedef struct jfleet_job {
    const char *model, *chip;                 /* chip: "H20,H800,H100" */
    double demand_tokens_per_day, rate_per_s; /* one of them; NAN: not given */
    const char *input_len, *output_len;
    double p99_ttft_s, p99_tpot_s, tokens_per_user_s; /* tpot or tokens a user a second */
    const char *precision, *kv_precision;
    double duration_s;         /* of arrivals, per trial of an instance's Server search */
    int64_t max_instance_gpus; /* the largest instance tried */
    int64_t max_gpus;          /* the largest fleet allowed; JOPT_NO_INT: none */
    const char *disaggregate;  /* "1:1,1:3": prefill:decode groups to try too; NULL: none */
    int objective;             /* 0 cost, 1 GPUs, 2 power */
    jopt_list serve_arg;       /* more serve options for every run ("--mtp-accept 0.85") */
    jopt_list chips;
    int json;
    jopt_given_set given;
    /* Not an option: told of each layout tried (may be NULL). */
    void (*progress)(void *ctx, double done, double total, const char *units);
    void *progress_ctx;
} jfleet_job;

extern const jopt_table jfleet_options;

/* Runs the search, filling r with the inputs, the table "best" (each
 * chip's cheapest fleet: its layout, instances, GPUs, IT power, cost a
 * day, dollars per million output and input tokens) and "layouts" (every
 * layout tried, its rate or why it has none). Fails with MS_EUSAGE for
 * missing or contradicting options, or MS_EINVAL naming a chip on which
 * no layout meets the limits (with the last layout's reason) or none
 * within --max-gpus (with the smallest fleet and how far over it is). */
int jfleet_run(const jfleet_job *j, const jenv *env, report *r, ms_err *err);

#endif
