/* pmit: what it takes to hold a site's power to a ramp limit. The power is
 * one period of a repeating load (training steps back to back), n points
 * of dt seconds, as the grid sees it; the period wraps, so the last point
 * is followed by the first. Each mitigation gives the grid's draw after
 * it and what it costs:
 *
 * - a power floor: GPUs never draw less than a level, so the site never
 *   falls below F; the smallest F whose clipped series keeps every step
 *   between points within the limit. It burns the energy between the load
 *   and F.
 * - software fill: dummy work before and after each swing, scheduled from
 *   the known step, so that the draw rises and falls no faster than the
 *   limit: the smallest series at or above the load whose ramps all keep
 *   to the limit (its upper envelope of slope ramp). It burns the energy
 *   it adds and needs no store.
 * - energy storage (in the racks or at the site): the grid draws a series
 *   that keeps to the limit and has the load's mean, the store makes up
 *   the difference. The grid's series is the mean of the load followed at
 *   the limit forwards and backwards in time (centred on each swing, as a
 *   known schedule allows), shifted to the load's mean; the store needs
 *   the range of its energy and the largest power it gives or takes.
 *
 * Pure arithmetic; nothing is allocated but what a function says. */
#ifndef MS_PMIT_H
#define MS_PMIT_H

#include <stddef.h>

#include "core/err.h"

typedef struct pmit_result {
    double peak_w, min_w, mean_w; /* the grid's draw after the mitigation */
    double ramp_max_w_per_s;      /* its steepest step between points, the wrap included */
    double added_w;               /* mean power burnt on top of the load (floor, fill) */
    double store_j;               /* energy the store must hold: its swing (storage) */
    double store_w;               /* the most it gives or takes at once (storage) */
    double discharged_w;          /* mean power it gives back (storage): its throughput */
} pmit_result;

/* The steepest step between consecutive points of p, the wrap from the
 * last to the first included, in W/s. n >= 2, dt > 0. */
double pmit_ramp_max(const double *p, size_t n, double dt);

/* The peak, lowest point, mean and steepest ramp of p (the rest of *out
 * 0): the load before any mitigation. n >= 2, dt > 0. */
void pmit_describe(const double *p, size_t n, double dt, pmit_result *out);

/* The lowest floor F such that max(p, F) keeps to ramp_w_per_s; *out
 * describes max(p, F), and g (n points, may be NULL) receives it.
 * Returns F. n >= 2, dt > 0, ramp > 0. */
double pmit_floor(const double *p, size_t n, double dt, double ramp_w_per_s, double *g,
                  pmit_result *out);

/* Software fill: g (n points, not NULL) receives the smallest series >= p
 * keeping to ramp_w_per_s over the wrapped period; *out describes it. */
void pmit_fill(const double *p, size_t n, double dt, double ramp_w_per_s, double *g,
               pmit_result *out);

/* Storage: g (n points, not NULL) receives the grid's draw, keeping to
 * ramp_w_per_s with p's mean; *out describes it and the store it needs.
 * MS_ENOMEM. */
int pmit_store(const double *p, size_t n, double dt, double ramp_w_per_s, double *g,
               pmit_result *out, ms_err *err);

#endif
