/* jsweep: a design over the options of a scenario, run point by point.
 *
 * A spec (JSON) names a train, serve or rl scenario, the keys to vary and how:
 *   {"scenario": "scenarios/deepseek-v3-pretrain-h800.json",
 *    "design": "grid" | "random" | "sobol",
 *    "points": 64,              (random and sobol: how many)
 *    "seed": 1,                 (random: of its draws)
 *    "vary": {"chip": ["H100", "H800"],           (any design: these values)
 *             "gpus": {"min": 1024, "max": 4096, "log": true, "integer": true}},
 *                                                 (random, sobol: a range)
 *    "outputs": ["step_time_s", "tokens_per_s"],  (default: every top-level
 *                                                  number of the first point)
 *    "out": "sweep.csv"}
 * A grid is every combination, the last key fastest; random draws each
 * point's values uniformly (log-uniformly with "log") from GSL's MT19937;
 * sobol takes the points of GSL's Sobol sequence. Each point is the
 * scenario with the point's values set, run as `megasim run` runs it. The
 * CSV has a row per point: its index, its values, the outputs (blank where
 * the run has no such number) and the error of a point that failed.
 *
 * Rows are appended to OUT.partial as they finish; a sweep run again
 * takes the points already there (or in OUT) and runs only the others;
 * OUT is written whole, in point order, at the end and OUT.partial
 * removed. The same spec gives the same OUT byte for byte, whatever the
 * number of worker processes.
 *
 * Built with MPI (MEGASIM_MPI) and started by mpirun, the ranks share the
 * points (rank r runs every size-th point left, from the r-th): rank 0
 * reads and writes the files and receives the other ranks' rows; MPI does
 * the placing, launching and gathering. The CSV is the same as one
 * process writes. */
#ifndef MS_JSWEEP_H
#define MS_JSWEEP_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "report/report.h"

typedef struct jsweep_job {
    const char *spec; /* the positional argument */
    int64_t jobs;     /* worker processes; JOPT_NO_INT: the CPUs online */
    const char *out;  /* instead of the spec's "out" */
    int json;
    jopt_given_set given;
    /* Not options: told of each point finished (may be NULL). */
    void (*progress)(void *ctx, double done, double total, const char *units);
    void *progress_ctx;
} jsweep_job;

extern const jopt_table jsweep_options;

typedef struct jsweep_out {
    int64_t points, resumed, ran, failed;
    char out[4096];
    int rank; /* under MPI: this process's rank; only rank 0 writes and reports */
} jsweep_out;

/* Runs the sweep j: every point not already in OUT.partial or OUT, then
 * OUT written whole. Fills r with the counts. Fails with MS_EINVAL naming
 * the spec file and field (an unknown field, a key that is not an option
 * of the scenario's command, a value it does not accept, a range without
 * min or max, a grid with a range), MS_EIO when OUT cannot be written;
 * a point that fails is a row with its error, not a failure. */
int jsweep_run(const jsweep_job *j, const jenv *env, report *r, jsweep_out *out, ms_err *err);

#endif
