/* jsystem: megasim validate --system, the suite of published whole-system
 * outcomes (a training run's GPU-hours, Megatron's teraFLOP/s per GPU, a
 * node's power, a serving system's tokens per second) held against what
 * megasim predicts for the same plan. One JSON file per case under
 * validation/system/: the scenario (a train or serve scenario, run through
 * src/job/jtrain or jserve), the published figure with its unit, source
 * and confidence, and how the source counts it. These are predictions to
 * check, never targets: nothing here feeds calibration.
 *
 * The report's JSON: "cases_from" (the directory), "results" (one object
 * per case: case, kind, metric, predicted, published, rel_error, unit,
 * file, largest_parts [{part, fraction_of_step}], memory_per_gpu_bytes,
 * fits where the run says, error (null unless the case failed), note,
 * alternatives [{name, predicted, rel_error}] where the case names any,
 * latency_at_rate {rate_per_s, and for each of ttft_p50_s, ttft_p99_s,
 * tpot_p50_s and tpot_p99_s the predicted and logged figure} where it
 * gives one), "alternatives" (the same, one row per case and
 * alternative), "latency_at_rate" (one row per case that gives one),
 * "units" and "summary" {cases, failed, per_kind {KIND: {cases, failed,
 * median_abs_rel_error, worst_abs_rel_error, max_median, max_worst}},
 * kinds (the same as a table, for the text), pass}.
 *
 * With --uncertainty N each case's scenario runs with --uncertainty N
 * --seed S (src/job/junc), and each result adds predicted_p10 and
 * predicted_p90 (its metric's 10th and 90th percentiles over the draws;
 * a FLOP rate's from the step time's) and covered (the published figure
 * inside [p10, p90]); per_kind adds banded, covered and coverage, and the
 * summary the same over every kind. */
#ifndef MS_JSYSTEM_H
#define MS_JSYSTEM_H

#include <stdio.h>

#include <stddef.h>

#include "core/err.h"
#include "job/jenv.h"
#include "job/jvalid.h"
#include "report/report.h"

/* The kinds of case: "train" (a train scenario), "serve" (a serve
 * scenario), "power" (a node's power, in either). */
#define JSYSTEM_KINDS 4
const char *jsystem_kind(int k);

#define JSYSTEM_NAME 128
#define JSYSTEM_TEXT 96
#define JSYSTEM_ALTS 4

/* An alternative a case file names for what its source leaves open
 * ("alternatives": [{"name": what differs, "set": {scenario fields}}]):
 * the same scenario with those fields changed, run once without draws.
 * It is reported beside the case and counts in no statistic. */
typedef struct jsystem_alt {
    char name[JSYSTEM_TEXT];
    double predicted, rel_error;
} jsystem_alt;

/* A serving case's latencies at its published run's own rate
 * ("latency_at_rate": {"rate", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s",
 * "tpot_p99_s"}, as the run's log gives them): the case's scenario run
 * once more, without draws, as a Poisson stream at that rate in place of
 * MLPerf's search (at most 600 s of arrivals, MLPerf's minimum), its
 * percentiles beside the log's, and once more as a closed loop of as
 * many sequences as the run kept in flight. This separates what an
 * iteration costs from where the search stops. In no statistic. */
#define JSYSTEM_LAT 4 /* TTFT p50, TTFT p99, TPOT p50, TPOT p99 */
enum { JSYSTEM_TTFT_P50, JSYSTEM_TTFT_P99, JSYSTEM_TPOT_P50, JSYSTEM_TPOT_P99 }; /* their index */
typedef struct jsystem_at_rate {
    double rate_per_s;                                      /* NAN: the case gives none */
    double logged_s[JSYSTEM_LAT], predicted_s[JSYSTEM_LAT]; /* NAN where unknown */
    /* The sequences the run kept in flight by Little's law
     * (jsystem_in_flight, from the log's rate, p50s and the mean output of
     * the run at that rate), and megasim's TPOT p50 in a closed loop of
     * that many: what one decode step costs at the run's own batch, apart
     * from the rate the queue settles at. NAN where unknown. */
    double in_flight, tpot_p50_in_flight_s;
} jsystem_at_rate;

/* Requests in flight by Little's law: rate_per_s times a request's time
 * in the system, its first token after ttft_s and each of the other
 * mean_out - 1 tokens after tpot_s. NAN unless every figure is positive
 * and finite and mean_out >= 1. */
double jsystem_in_flight(double rate_per_s, double ttft_s, double tpot_s, double mean_out);

typedef struct jsystem_case {
    char file[600];          /* as shown: validation/system/x.json */
    char name[JSYSTEM_NAME]; /* "case"; the file until it is read */
    char kind[16], metric[48], unit[JSYSTEM_TEXT];
    double published, predicted, rel_error; /* NAN where unknown */
    double p10, p90;            /* --uncertainty: the band of predicted over the draws; NAN: none */
    char parts[2][64];          /* the two largest parts of the step */
    double parts_frac[2];       /* of the step; NAN where none */
    double memory_B;            /* per GPU, where the run reports it; else NAN */
    int fits;                   /* 1, 0, or -1 unknown */
    char error[MS_ERR_MSG_MAX]; /* non-empty: the case failed */
    jsystem_alt alts[JSYSTEM_ALTS];
    int n_alts;
    jsystem_at_rate at_rate;
} jsystem_case;

typedef struct jsystem_stats {
    size_t n, failed;     /* cases of the kind predicted, and failed */
    double median, worst; /* |relative error| of those predicted; NAN for none */
    size_t banded;        /* of the n, those with a band (--uncertainty) */
    size_t covered;       /* of those, the ones whose published figure is inside it */
    double coverage;      /* covered / banded; NAN when none is banded */
} jsystem_stats;

typedef struct jsystem_out {
    jsystem_case *cases; /* in file-name order; owned (jsystem_out_free) */
    size_t n, failed;
    jsystem_stats stats[JSYSTEM_KINDS];
    jsystem_stats all; /* every kind together: only the coverage fields */
    double max_median[JSYSTEM_KINDS], max_worst[JSYSTEM_KINDS]; /* INFINITY: no threshold */
    int breach;                                                 /* a kind exceeds one */
    char warnings[4096]; /* the model files', one per line; "" for none */
} jsystem_out;

/* Runs every case (*.json) of j->cases (default home/validation/system),
 * telling j->progress before each. A case that cannot run is kept with
 * its error, naming its file and field, and the others still run: the run
 * then succeeds, and out->failed counts it. Fills r (see above) and out
 * (the caller's; free with jsystem_out_free, also after a failure). Fails
 * with MS_EUSAGE for bad thresholds or mode options, otherwise when the
 * directory cannot be read or holds no case. */
int jsystem_run(const jvalid_job *j, const jenv *env, report *r, jsystem_out *out, ms_err *err);
void jsystem_out_free(jsystem_out *out);

/* Parses a threshold option opt ("--max-median"): X for every kind, or
 * KIND=X,KIND=X; kinds not named get INFINITY, as all do for NULL. */
int jsystem_limits(const char *opt, const char *text, double limit[JSYSTEM_KINDS], ms_err *err);

/* The median and worst |rel_error| of the cases of kind that ran, the
 * count of those that failed, and the coverage of those with a band;
 * kind NULL: every kind. */
jsystem_stats jsystem_stats_of(const jsystem_case *cs, size_t n, const char *kind);

/* 1 if published is inside [p10, p90], 0 if not, -1 when there is no
 * band (either is NAN). */
int jsystem_covered(double published, double p10, double p90);

/* predicted / published - 1. */
double jsystem_rel_error(double predicted, double published);

/* Draws o's cases to out (.png or .svg): one panel per family (the first
 * word of a case's name) and unit, predicted against published on
 * log-log axes with y = x and a +-10% band. *drawn is 0 when gnuplot is
 * missing (the files are then left, and said on stderr). */
int jsystem_plot(const jsystem_out *o, const char *out, int *drawn, ms_err *err);

/* The table as Markdown: one row per case with its memory per GPU and
 * the two largest parts of its step, then the summary per kind, then the
 * cases' alternatives where any case names one, then the latencies at
 * the published rates where any case gives them. */
int jsystem_markdown(const jsystem_out *o, FILE *f, ms_err *err);

#endif
