/* jcoll: the collective job. One collective, or a sweep of sizes, on a
 * cluster of each chip named, timed analytically or with flows, reported
 * as nccl-tests reports it: time, algorithm bandwidth and bus bandwidth. */
#ifndef MS_JCOLL_H
#define MS_JCOLL_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "job/jtopo.h"
#include "report/report.h"

#define JCOLL_MAX_CHIPS 16
#define JCOLL_MAX_SIZES 64

typedef struct jcoll_job {
    jopt_list chip;
    int64_t gpus;            /* JOPT_NO_INT: one scale-up domain of each chip */
    const char *op;          /* a coll_op name */
    double bytes;            /* as nccl-tests counts them */
    const char *sweep_bytes; /* "A..B": every power of two from A to B */
    int algo;                /* JCOLL_ALGOS index; -1: the op's usual one */
    int fidelity;            /* 0 analytical, 1 flow */
    int64_t ep_nodes_limit;  /* alltoall/dispatch/combine: nodes one GPU's tokens reach */
    jtopo_opts topo;
    int ideal;
    const char *plot;
    int keep_plot_data;
    int json;
    const char *csv; /* the results table as CSV */
    jopt_list chips;
    jopt_given_set given;
} jcoll_job;

extern const jopt_table jcoll_options;

/* Each chip's bus bandwidth against size, for a plot. */
typedef struct jcoll_series {
    char chip[64];
    double bytes[JCOLL_MAX_SIZES], busbw_Bps[JCOLL_MAX_SIZES];
    size_t n;
} jcoll_series;

typedef struct jcoll_out {
    jcoll_series series[JCOLL_MAX_CHIPS];
    size_t nchips;
    char op[32]; /* the op run, by its name */
} jcoll_out;

/* Runs j, filling r with the inputs, the table "results" (one row per
 * chip and size) and the group "cluster" (the last chip's), and out (may
 * be NULL) with the series. Fails naming the option or file at fault. */
int jcoll_run(const jcoll_job *j, const jenv *env, report *r, jcoll_out *out, ms_err *err);

#endif
