/* cpow: power and cost for the commands that simulate runs (train,
 * serve) and size clusters: the options they share, reading
 * hwdb/power.csv and hwdb/costs.csv with the options' overrides, and the
 * JSON, text and files that report a run's power. The arithmetic of a
 * run's figures lives in power/prun; cpow hands it what it read. */
#ifndef MS_CPOW_H
#define MS_CPOW_H

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "power/pdb.h"
#include "power/prun.h"
#include "power/pseries.h"
#include "power/pwr.h"
#include "power/tco.h"
#include "job/jpower.h"

#define CLI_POWER_OPTS                                                                             \
    {"--pue", "X", "facility power over IT power (default: hwdb/costs.csv)"},                      \
        {"--power-floor", "F",                                                                     \
         "smoothing: idle GPUs run dummy work at F x their matrix power (0 to 1)"},                \
        {"--energy-usd-per-kwh", "X", "price of energy at the meter (default: hwdb/costs.csv)"},   \
        {"--server-usd", "X", "price of one server (default: hwdb/costs.csv for the chip)"},       \
        {"--life-years", "X", "years servers and network are paid off over (default: costs.csv)"}, \
        {"--power-trace", "FILE", "write the cluster's power over time (CSV)"},                    \
        {"--power-plot", "FILE", "draw the power over time (.png or .svg) with gnuplot"},

typedef jpower cpow;

/* What a run drew and cost: see power/prun.h. */
typedef prun cpow_run;

/* Reads the databases and the options for chip c in a cluster of gpus
 * GPUs with switches network switches. price is --price-per-gpu-hour (NAN
 * when not given). Errors name the file and key or the option. */
int cpow_load(const cli_args *a, const chip *c, double gpus, int64_t switches, double price,
              cpow *out, ms_err *err);
void cpow_free(cpow *p);

/* cpow_load for a run whose power is a by-product: when the chip's power
 * levels or prices cannot be read and no power option was given, says on
 * stderr that power and cost are not reported and returns MS_OK with
 * *loaded 0; otherwise as cpow_load, *loaded 1 on success. Free with
 * cpow_free either way. */
int cpow_load_optional(const cli_args *a, const chip *c, double gpus, int64_t switches,
                       double price, cpow *out, int *loaded, ms_err *err);

/* prun_summarize with p's basis. */
void cpow_summarize(const cpow *p, const pseries *it, const pseries *smooth, const pseries *gpu_s,
                    double gpus, double duration_s, cpow_run *out);

/* prun_mix with p's basis: a run that spends pause_frac of its time in
 * pauses (checkpoints). */
void cpow_mix(const cpow *p, cpow_run *run, const cpow_run *pause, double pause_frac,
              const cpow_run *shown);

/* Adds the power and cost keys to a JSON result. */
void cpow_json(cJSON *o, const cpow_run *r);

/* Prints the power and cost lines of a text report. */
void cpow_print(const cpow_run *r);

/* Writes --power-trace and --power-plot if asked: the IT and facility
 * series (and the smoothed ones). */
/* Writes the power series to trace (CSV) and draws them to plot (either
 * may be NULL): the IT series and, with a floor, the smoothed one. */
int cli_power_write(const char *trace, const char *plot, double floor_frac, const pseries *it,
                    const pseries *smooth, const char *title, ms_err *err);

int cpow_write(const cli_args *a, const cpow *p, const pseries *it, const pseries *smooth,
               const char *title, ms_err *err);

#endif
