/* jserve: the serving job. A request stream on a fleet of instances
 * (continuous batching, paged KV cache, chunked prefill, disaggregation,
 * MTP, best-of-N), a sweep of arrival rates, or one of MLPerf Inference's
 * scenarios (Offline: every request there at time zero; Server: the
 * highest Poisson rate whose p99 time to first token and p99 time per
 * output token meet their limits, found by search): throughput, latency
 * percentiles, KV cache, cost per million tokens, and the fleet's power. */
#ifndef MS_JSERVE_H
#define MS_JSERVE_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "job/jpower.h"
#include "job/jtopo.h"
#include "model/modelfile.h"
#include "power/pseries.h"
#include "report/report.h"
#include "serve/serve.h"

enum { JSERVE_OFFLINE = 0, JSERVE_SERVER = 1 }; /* jserve_job.scenario */

typedef struct jserve_job {
    const char *model, *chip;
    int64_t gpus, tp, dp, ep, pp;
    const char *disaggregate;
    int64_t prefill_gpus, prefill_tp, prefill_dp, prefill_ep;
    const char *input_len, *output_len, *rate;
    double burstiness;
    int64_t concurrency;
    const char *replay;
    int64_t requests;
    double duration_s;
    int64_t best_of;
    const char *mtp_accept;
    const char *draft_model, *draft_accept;
    const char *precision, *kv_precision;
    int64_t block_tokens, max_batch, max_tokens;
    double mem_reserve;
    int admission, preempt; /* planned|greedy, recompute|swap */
    double swap_GBps;
    int64_t shared_prefix;
    double cache_hit, cache_load_GBps;
    double moe_imbalance;
    int overlap;
    int tp_overlap;
    const char *cuda_graphs;
    double tpot_target_s;
    int scenario; /* -1 when not given, JSERVE_OFFLINE or JSERVE_SERVER */
    double p99_ttft_s, p99_tpot_s;
    int64_t seed;
    int64_t uncertainty; /* draws of the calibration for a band; JOPT_NO_INT: none */
    double price_per_gpu_hour, power_resolution_s;
    double years; /* the horizon the fleet's cost is summed over; NAN: none */
    jpower_opts power;
    const char *csv, *sweep_rate, *plot;
    jtopo_opts topo;
    int ideal, peak;
    const char *efficiency;
    jopt_list chips;
    int json, keep_plot_data;
    jopt_given_set given;
    /* Not options: what the caller wants to hear during the run. */
    void (*on_record)(void *ctx, const serve_record *r, double rate_per_s);
    void *record_ctx;
    serve_progress_fn progress;
    void *progress_ctx;
} jserve_job;

extern const jopt_table jserve_options;

/* What a run gives beyond its report: each rate's result of a sweep (for
 * its plot), the power series to write and draw, and notes. */
typedef struct jserve_out {
    double *rates;       /* a sweep's rates; NULL for one run */
    serve_result *sweep; /* their results */
    size_t nrates;
    char title[300];       /* "model on N x chip" */
    char power_title[310]; /* the power plot's: "serving model on N x chip" */
    double gpus;
    pseries *power_it, *power_smooth; /* NULL when power is not reported */
    double floor_frac;
    char warnings[MODELFILE_WARN_MAX];
    char power_note[MS_ERR_MSG_MAX];
} jserve_out;

/* Runs j, filling r and out (free with jserve_out_free, also after a
 * failure). Errors name the option or file at fault. With --uncertainty N
 * the run (or the Server search) is also run N times with drawn
 * calibrations (src/job/junc), the same requests each time, and the
 * report adds the 10th, 50th and 90th percentiles of its headline figures
 * ("output_tokens_per_s_p10", "server_output_tokens_per_s_p90", ...); its
 * own figures stay the undrawn ones. Not with --sweep-rate. */
int jserve_run(const jserve_job *j, const jenv *env, report *r, jserve_out *out, ms_err *err);
void jserve_out_free(jserve_out *out);

#endif
