/* junc: a prediction's band (--uncertainty N). A job re-runs its
 * prediction N times, each with a calibration drawn from the spreads of
 * hwdb/efficiency.csv (calib_draw), and hands each run's report, as JSON,
 * to a junc; the junc then reports, beside the job's own figures (which
 * stay those of the undrawn calibration), the 10th, 50th and 90th
 * percentiles of each headline figure over the draws: "<key>_p10",
 * "<key>_p50", "<key>_p90". Kernel efficiencies (hwdb/efficiency.csv)
 * and network efficiencies (hwdb/network.csv, coll_params_draw) are
 * drawn; operations with no calibration (at the datasheet peak) are not.
 * The rest of a node's power (not its GPUs), where hwdb/power.csv only
 * estimates it, is drawn between the bounds its sources give
 * (jpower_node_other_drawn). Draw d is random stream JUNC_STREAM + d of
 * --seed for the kernels, JUNC_NET_STREAM + d for the network and
 * JUNC_POWER_STREAM + d for the node's power, so a run is the same for
 * the same seed and a larger N keeps the draws of a smaller one. */
#ifndef MS_JUNC_H
#define MS_JUNC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "hw/calib.h"
#include "net/coll.h"
#include "report/report.h"

/* The first random stream of the draws ("unc" in its high bytes), away
 * from the streams a serving run's requests use. */
#define JUNC_STREAM (UINT64_C(0x756e63) << 40)
/* And of the network's draws ("net"). */
#define JUNC_NET_STREAM (UINT64_C(0x6e6574) << 40)
/* And of the estimated node power's ("pwr"). */
#define JUNC_POWER_STREAM (UINT64_C(0x707772) << 40)

/* The option's row, the same in every job that takes it. */
#define JUNC_HELP                                                                                  \
    "re-run N times with every kernel and network efficiency drawn from its fitted spread (and "   \
    "a node's estimated non-GPU power between its bounds); report the 10th, 50th and 90th "        \
    "percentiles of the headline figures (<key>_p10, _p50, _p90)"

/* A headline figure: where a run's JSON has it ("step_time_s", or
 * "server_search.output_tokens_per_s" in a group), the key its band
 * takes (NULL: path), what the text calls it and its unit. */
typedef struct junc_key {
    const char *path, *band, *label, *unit;
} junc_key;

typedef struct junc junc;

/* A junc for ndraws draws (>= 1) of the nkeys figures of keys (borrowed:
 * they must outlive it). MS_ENOMEM when out of memory. */
int junc_new(const junc_key *keys, size_t nkeys, size_t ndraws, junc **out, ms_err *err);
void junc_free(junc *u); /* NULL is a no-op */

/* The draws junc was made for. */
size_t junc_draws(const junc *u);

/* Draw d's calibration: cal drawn with random stream JUNC_STREAM + d of
 * seed (calib_draw). Free it (calib_free) before cal. */
int junc_calib(const calib *cal, uint64_t seed, size_t d, calib **out, ms_err *err);

/* Draw d's network efficiencies: net drawn with random stream
 * JUNC_NET_STREAM + d of seed (coll_params_draw). */
int junc_net(const coll_params *net, uint64_t seed, size_t d, coll_params *out, ms_err *err);

/* Draw d's u ~ U(0, 1) for the estimated node power
 * (jpower_node_other_drawn): random stream JUNC_POWER_STREAM + d of
 * seed. MS_ENOMEM when out of memory. */
int junc_power_u(uint64_t seed, size_t d, double *u, ms_err *err);

/* Records draw d's figures from its report as JSON; a figure the run
 * does not have (or not as a number) is left out of that draw. */
void junc_add(junc *u, size_t d, const cJSON *run);

/* junc_add of draw d's report r, through its JSON; MS_ENOMEM if that
 * cannot be made. */
int junc_add_report(junc *u, size_t d, const report *r, ms_err *err);

/* The q-quantile (0 <= q <= 1) of v[0..n), n >= 1, by linear
 * interpolation between order statistics (Hyndman and Fan's type 7, the
 * default of R and NumPy): with v sorted, h = (n - 1) q and the result
 * v[floor h] + (h - floor h) (v[floor h + 1] - v[floor h]). Sorts v. */
double junc_quantile(double *v, size_t n, double q);

/* The band of key (its band name, or its path) as *p10, *p50 and *p90
 * over the draws that have it; 0 when none has (the three are then NAN),
 * else the number of draws that have it. */
size_t junc_band(const junc *u, const char *key, double *p10, double *p50, double *p90);

/* Adds to r a group (title) holding "uncertainty_draws", "uncertainty_seed"
 * and, for each key some draw has, its band's three values; in JSON they
 * sit beside the job's own figures. */
void junc_report(const junc *u, uint64_t seed, report *r);

#endif
