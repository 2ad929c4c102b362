/* pwr: the power a cluster draws, from what its GPUs do. A GPU draws one
 * level while its work is bound by FLOPs (dense matrix work, near its
 * TDP), another while bound by HBM traffic, another while it
 * communicates, and its idle level otherwise; an interval of mixed work
 * draws the time-weighted mean. The rest of a server (CPUs, memory, NICs,
 * NVSwitch, fans, power-supply losses) draws between its idle and loaded
 * levels in proportion to how busy its GPUs are; network switches draw a
 * constant; the facility multiplies IT power by its PUE.
 *
 * A power limit set on each GPU (nvidia-smi -pl; MLPerf's MaxQ runs)
 * caps every level; the GPU meets it by lowering its clock, which
 * pwr_limit_clock_frac estimates. The server's other parts follow the
 * power the GPUs actually draw.
 *
 * Smoothing (Meta's Llama 3 practice: keep GPUs busy with dummy work
 * while they would idle, so that a synchronous pause does not jolt the
 * grid) is a floor: a GPU never draws less than floor_w while the job
 * runs, and the server follows its GPUs.
 *
 * A series is built as a baseline (every GPU at its idle level or the
 * floor, servers and switches with it) plus, for each interval of work,
 * what it draws above the baseline, times the GPUs that do that work
 * (the ranks a symmetric plan makes identical). Pure arithmetic over
 * pseries. */
#ifndef MS_PWR_H
#define MS_PWR_H

#include <stdint.h>

#include "core/err.h"
#include "power/pseries.h"

typedef struct pwr_levels {
    double matrix_w, memory_w, comm_w, idle_w; /* one GPU */
    double node_gpus;                          /* GPUs per server */
    double node_other_w;                       /* the rest of a server, GPUs at matrix_w */
    double node_other_idle_w;                  /* and with its GPUs idle */
    double limit_w;                            /* a power limit set on each GPU; 0: none */
} pwr_levels;

typedef struct pwr_site {
    double pue;        /* facility power over IT power, >= 1 */
    double switch_w;   /* one network switch */
    int64_t switches;  /* in the cluster */
    double floor_frac; /* smoothing: GPUs at least at floor_frac x matrix_w; 0: none */
} pwr_site;

/* Checks the levels are positive and ordered (idle <= comm, memory <=
 * matrix), the server figures positive, a limit (where set) finite and
 * above idle, pue >= 1 and finite, floor_frac in [0, 1], switches >= 0.
 * what names the chip (or site) in messages; fails naming the field (a
 * file's figure: MS_EINVAL) or the option (MS_EUSAGE) and what was
 * expected. */
int pwr_check(const pwr_levels *l, const pwr_site *s, const char *what, ms_err *err);

/* The clock, as a fraction of the unlimited one, at which a GPU doing
 * matrix work draws no more than limit_w: 1 without a limit or with one
 * at or above matrix_w. Dynamic power (above idle_w) goes as the clock
 * times the voltage squared, and the voltage falls with the clock, so
 * as its cube (the CMOS relation, Hennessy and Patterson, Computer
 * Architecture: A Quantitative Approach, 6th ed., section 1.5): the
 * clock is ((limit_w - idle_w) / (matrix_w - idle_w))^(1/3). An
 * estimate: no measured clock-against-limit curve is used. */
double pwr_limit_clock_frac(const pwr_levels *l);

/* A GPU's highest draw: matrix_w, or the limit where that is lower. */
double pwr_peak_gpu_w(const pwr_levels *l);

/* The floor a GPU is held at: max(idle_w, floor_frac x matrix_w), no
 * more than limit_w. */
double pwr_floor_w(const pwr_levels *l, const pwr_site *s);

/* Mean draw of one GPU over dur_s of which matrix_s, memory_s and comm_s
 * are spent on each kind of work and the rest idle (at least floor_w).
 * The three are clipped to dur_s together. */
double pwr_gpu_w(const pwr_levels *l, double floor_w, double matrix_s, double memory_s,
                 double comm_s, double dur_s);

/* One GPU's share of IT power (its server's other parts included) when
 * the GPU draws gpu_w: gpu_w plus the server's other power per GPU,
 * linear between its idle and loaded levels as gpu_w goes from idle_w to
 * matrix_w. */
double pwr_it_per_gpu_w(const pwr_levels *l, double gpu_w);

/* Adds the baseline of gpus GPUs over [t0_s, t1_s): each GPU and its
 * server share at the floor, plus the switches. gpu_only, if not NULL,
 * gets the GPUs' draw alone. */
void pwr_add_baseline(pseries *it, pseries *gpu_only, const pwr_levels *l, const pwr_site *s,
                      double gpus, double t0_s, double t1_s);

/* What one GPU doing an interval of work draws above the baseline, its
 * server share included (*it_above_w) and alone (*gpu_above_w). */
void pwr_work_w(const pwr_levels *l, const pwr_site *s, double dur_s, double matrix_s,
                double memory_s, double comm_s, double *it_above_w, double *gpu_above_w);

/* Adds, for gpus identical GPUs, an interval of work above the baseline:
 * the interval's mean draw (pwr_gpu_w) less the floor, with the server
 * share that follows it. */
void pwr_add_work(pseries *it, pseries *gpu_only, const pwr_levels *l, const pwr_site *s,
                  double gpus, double start_s, double dur_s, double matrix_s, double memory_s,
                  double comm_s);

#endif
