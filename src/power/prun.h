/* prun: what a simulated run drew and what it cost, from its power
 * series, its length and the site's prices: the means, peaks, swings and
 * ramps of the series; energy at the meter; capital and energy cost by
 * ownership (tco) or at a flat price per GPU-hour. Also how checkpoints
 * (all GPUs idle while each writes its share) stretch a training run, and
 * what a token budget takes in GPU-hours, days and dollars. Pure
 * arithmetic over pseries, pwr and tco: nothing is read or printed. */
#ifndef MS_PRUN_H
#define MS_PRUN_H

#include <stdint.h>

#include "power/pseries.h"
#include "power/pwr.h"
#include "power/tco.h"

/* What a run's figures are computed from. */
typedef struct prun_basis {
    pwr_levels lv;             /* the chip's levels (node_gpus: GPUs per server) */
    pwr_site site;             /* pue, switches and switch_w */
    tco_inputs tco;            /* ownership, and the price of energy */
    double price_per_gpu_hour; /* a flat price instead of ownership; NAN: none */
    const char *estimated;     /* power levels that are estimates, ';'-separated; NULL: none
                                  (borrowed; copied into prun.estimated) */
    const char *price_basis;   /* how the run is priced when not by owning at a known server
                                  price ("rented at ..."); NULL or "": owned (borrowed; copied
                                  into prun.price_basis) */
} prun_basis;

/* What a run drew and cost. */
typedef struct prun {
    double gpus;
    double duration_s; /* of the whole run the costs are for */
    double it_mean_w, it_peak_w, it_min_w;
    double facility_mean_w; /* it_mean_w x pue */
    char estimated[160];    /* the power levels that are estimates, ';'-separated */
    char price_basis[200];  /* prun_basis.price_basis, or "" */
    double node_mean_w;     /* one server at the wall, mean */
    double node_peak_w;     /* a server's share of the IT peak (switches excluded): the mean
                               server at the cluster's busiest moment */
    double gpu_mean_w;      /* one GPU, mean */
    double energy_j;        /* at the meter, the whole run */
    double swing_max_w, ramp_max_w_per_s; /* IT, at the series' resolution */
    double gpu_hours;
    double usd_capital, usd_energy, usd_total;
    double usd_per_gpu_hour;
    int smoothed;             /* a floor was applied */
    double floor_energy_frac; /* smoothing's extra energy over the unsmoothed run */
    double swing_unsmoothed_w;
    double it_unsmoothed_mean_w;
    double gpu_limit_w;      /* the basis's power limit on each GPU; 0: none */
    double limit_clock_frac; /* pwr_limit_clock_frac of the basis */
} prun;

/* Stats of a series and the run's costs: it is the IT series (unsmoothed
 * as run), smooth the same with the floor (NULL when none); gpu_s the GPU
 * draw alone; the costs cover duration_s of gpus GPUs (gpus > 0). The
 * run's figures (means, peak, minimum, swing, ramp) come from smooth when
 * given, else from it; node figures exclude the switches and scale one
 * GPU's share by node_gpus. Fills *out whole, then as prun_costs. */
void prun_summarize(const prun_basis *b, const pseries *it, const pseries *smooth,
                    const pseries *gpu_s, double gpus, double duration_s, prun *out);

/* A run that spends pause_frac of its time in pauses (checkpoints): the
 * means of *run (its steps) become the time-weighted means of those of
 * *run and *pause, and peak, minimum, swings and ramps are taken from
 * *shown (the series that was written and drawn, pauses in it); then
 * energy and costs again, as prun_costs. */
void prun_mix(const prun_basis *b, prun *run, const prun *pause, double pause_frac,
              const prun *shown);

/* Energy and costs of *r from its means, gpus and duration_s: energy =
 * facility mean x duration; GPU-hours = gpus x duration / 3600; energy at
 * the basis' price per kWh; with a flat price the total is price x
 * GPU-hours and capital what energy leaves of it, else capital is the
 * ownership rate x GPU-hours (NAN when the server price is unknown) and
 * the total capital + energy; the all-in price per GPU-hour (NAN with no
 * GPU-hours). When smoothed, floor_energy_frac = mean / unsmoothed mean -
 * 1. */
void prun_costs(const prun_basis *b, prun *r);

/* The IT capacity provisioned per GPU of a cluster of gpus GPUs (the
 * tco_inputs.it_w_per_gpu facility capital is paid on): every GPU with its
 * server share at full load (pwr_it_per_gpu_w at matrix_w) plus its share
 * of the site's switches (none when gpus is 0). */
double prun_provisioned_w_per_gpu(const pwr_levels *l, const pwr_site *s, double gpus);

/* Seconds a checkpoint of bytes_per_gpu takes when each GPU writes at
 * write_Bps (bytes per second) to storage, all GPUs at once. */
double prun_ckpt_s(double bytes_per_gpu, double write_Bps);

/* How much checkpoints stretch a run: a pause of ckpt_s after every
 * every_steps steps of step_s each makes the run 1 + ckpt_s / (every_steps
 * x step_s) times as long as its steps alone. every_steps > 0, step_s > 0. */
double prun_ckpt_run_factor(double ckpt_s, int64_t every_steps, double step_s);

/* The fraction of a run stretched by run_factor (>= 1) that is spent in
 * its pauses: 1 - 1 / run_factor. */
double prun_pause_frac(double run_factor);

/* Seconds to train on tokens at tokens_per_s, stretched by run_factor
 * (1: no checkpoints). */
double prun_train_duration_s(double tokens, double tokens_per_s, double run_factor);

/* A token budget on a cluster of gpus GPUs. */
typedef struct prun_budget {
    double gpu_hours;
    double days;     /* wall-clock, all GPUs at once */
    double cost_usd; /* at price_per_gpu_hour; NAN when no price */
} prun_budget;

/* What tokens take at gpu_hours_per_trillion_tokens on gpus GPUs and,
 * with a finite price_per_gpu_hour, what they cost at it. */
prun_budget prun_budget_of(double gpu_hours_per_trillion_tokens, double tokens, double gpus,
                           double price_per_gpu_hour);

#endif
