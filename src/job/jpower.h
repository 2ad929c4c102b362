/* jpower: the options of power and cost of ownership (--pue, --power-floor,
 * prices and lives, where to write the power series) as rows of an option
 * table (JPOWER_ROWS); reading hwdb/power.csv and hwdb/costs.csv for a chip
 * with their overrides; and a run's power and cost as report values. */
#ifndef MS_JPOWER_H
#define MS_JPOWER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/chip.h"
#include "job/jenv.h"
#include "job/jopt.h"
#include "power/pdb.h"
#include "power/prun.h"
#include "power/pseries.h"
#include "report/report.h"

typedef struct jpower_opts {
    double pue;                /* NAN: hwdb/costs.csv's */
    double power_floor;        /* smoothing floor, a fraction of matrix power; NAN: none */
    double energy_usd_per_kwh; /* NAN: hwdb/costs.csv's */
    double server_usd;         /* one server; NAN: hwdb/costs.csv's for the chip */
    double life_years;         /* NAN: hwdb/costs.csv's */
    const char *power_trace;   /* CSV of the cluster's power over time, or NULL */
    const char *power_plot;    /* .png or .svg of it, or NULL */
    double gpu_power_limit_w;  /* a limit set on each GPU (jpower_limit_chip); NAN: none */
    /* The rest of a node's power under load, from its idle figure (0) to
     * hwdb/power.csv's bound (1), where the file estimates it
     * (jpower_node_other_drawn); NAN: JPOWER_NODE_FRACTION. A band draws
     * it. */
    double node_power_fraction;
} jpower_opts;

/* Where a node's non-GPU power under load is only bounded, the
 * prediction takes the middle of its bounds: its idle figure (hwdb/
 * power.csv's node_other_idle_W; fans and CPUs draw more when the GPUs
 * work) and the rating less its GPUs. */
#define JPOWER_NODE_FRACTION      0.5
#define JPOWER_NODE_FRACTION_TEXT "0.5" /* the same, for help texts */

/* The rest of a node's power under load (not its GPUs) at fraction u in
 * [0, 1] (--node-power-fraction, or a band's draw), where hwdb/power.csv
 * marks node_other_W an estimate: the
 * sources bound it between the node's idle figure and the rating less
 * its GPUs' (node_other_W), and a draw takes
 * node_other_idle_W + u (node_other_W - node_other_idle_W). Where the
 * figure is not an estimate (its list, estimated, does not name it), it
 * stays node_other_W. */
double jpower_node_other_drawn(double node_other_w, double node_other_idle_w, const char *estimated,
                               double u);

/* The rows of a job whose jpower_opts sits at byte offset base. */
#define JPOWER_ROWS(base)                                                                          \
    {"pue",                                                                                        \
     JOPT_NUM,                                                                                     \
     "X",                                                                                          \
     NULL,                                                                                         \
     NULL,                                                                                         \
     1,                                                                                            \
     NAN,                                                                                          \
     NULL,                                                                                         \
     (base) + offsetof(jpower_opts, pue),                                                          \
     "facility power over IT power (default: hwdb/costs.csv)"},                                    \
        {"power-floor",                                                                            \
         JOPT_NUM,                                                                                 \
         "F",                                                                                      \
         NULL,                                                                                     \
         NULL,                                                                                     \
         0,                                                                                        \
         1,                                                                                        \
         NULL,                                                                                     \
         (base) + offsetof(jpower_opts, power_floor),                                              \
         "smoothing: idle GPUs run dummy work at F x their matrix power"},                         \
        {"energy-usd-per-kwh",                                                                     \
         JOPT_NUM,                                                                                 \
         "X",                                                                                      \
         "USD/kWh",                                                                                \
         NULL,                                                                                     \
         0,                                                                                        \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jpower_opts, energy_usd_per_kwh),                                       \
         "price of energy at the meter (default: hwdb/costs.csv)"},                                \
        {"server-usd",                                                                             \
         JOPT_NUM,                                                                                 \
         "X",                                                                                      \
         "USD",                                                                                    \
         NULL,                                                                                     \
         0,                                                                                        \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jpower_opts, server_usd),                                               \
         "price of one server (default: hwdb/costs.csv for the chip)"},                            \
        {"life-years",                                                                             \
         JOPT_NUM,                                                                                 \
         "X",                                                                                      \
         NULL,                                                                                     \
         NULL,                                                                                     \
         0.5,                                                                                      \
         100,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jpower_opts, life_years),                                               \
         "years servers and network are paid off over (default: hwdb/costs.csv)"},                 \
        {"gpu-power-limit",                                                                        \
         JOPT_NUM,                                                                                 \
         "W",                                                                                      \
         "W",                                                                                      \
         NULL,                                                                                     \
         1,                                                                                        \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jpower_opts, gpu_power_limit_w),                                        \
         "a power limit set on every GPU (nvidia-smi -pl, MLPerf MaxQ): each level capped, the "   \
         "clock and so the FLOP peaks lowered to meet it (an estimate; see hwdb/README.md)"},      \
        {"node-power-fraction",                                                                    \
         JOPT_NUM,                                                                                 \
         "F",                                                                                      \
         NULL,                                                                                     \
         NULL,                                                                                     \
         0,                                                                                        \
         1,                                                                                        \
         NULL,                                                                                     \
         (base) + offsetof(jpower_opts, node_power_fraction),                                      \
         "a node's non-GPU power under load where hwdb/power.csv estimates it: F of the way from " \
         "its idle figure (0) to the rating less its GPUs (1, an upper bound); "                   \
         "default " JPOWER_NODE_FRACTION_TEXT},                                                    \
        {"power-trace",                                                                            \
         JOPT_STR,                                                                                 \
         "FILE",                                                                                   \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NAN,                                                                                      \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jpower_opts, power_trace),                                              \
         "write the cluster's power over time (CSV)"},                                             \
    {                                                                                              \
        "power-plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL,                                \
            (base) + offsetof(jpower_opts, power_plot),                                            \
            "draw the power over time (.png or .svg) with gnuplot"                                 \
    }

/* The rows above over a jpower_opts of its own. */
extern const jopt_table jpower_options;

/* A chip's power levels, the site and the prices of ownership. */
typedef struct jpower {
    pdb *db;
    pwr_levels lv;
    pwr_site site;
    tco_inputs tco;
    double price_per_gpu_hour; /* a flat price instead of ownership; NAN: none */
    const char *chip;
    const char *estimated; /* power.csv's estimated columns for the chip ("" when measured) */
    char unpriced[300];    /* why cost is unknown (no server price, no rental); "" if known */
    char price_basis[200]; /* "" when owned at a server price; else how it is priced */
} jpower;

/* Reads the databases and o for chip c in a cluster of gpus GPUs with
 * switches network switches; price is a flat price per GPU-hour (NAN:
 * none). A chip with no server or rack price (and no --server-usd) is
 * rented at hwdb/costs.csv's gpu_hour_usd for it when there is one:
 * price_per_gpu_hour is then that, and price_basis says so. Errors name
 * the file and key or the option. Free with jpower_free, also after a
 * failure. */
int jpower_load(const jpower_opts *o, const jenv *env, const chip *c, double gpus, int64_t switches,
                double price, jpower *out, ms_err *err);

/* jpower_load for a run whose power is a by-product: when hwdb/power.csv
 * has no row for the chip and o gives no power option, *loaded is 0, why
 * says what was missing, and MS_OK is returned; otherwise (a file that
 * cannot be read or is malformed, a bad value, a power option given) as
 * jpower_load, *loaded 1 on success. */
int jpower_load_optional(const jpower_opts *o, const jenv *env, const chip *c, double gpus,
                         int64_t switches, double price, jpower *out, int *loaded, char *why,
                         size_t why_cap, ms_err *err);
void jpower_free(jpower *p);

/* Chip c run under o's --gpu-power-limit: *out is c with every FLOP peak
 * times pwr_limit_clock_frac of c's levels in hwdb/power.csv (memory and
 * links as they are); without a limit, c itself. Fails naming the option
 * or the file when the chip has no power levels or the limit is at or
 * below its idle power. */
int jpower_limit_chip(const jpower_opts *o, const jenv *env, const chip *c, chip *out, ms_err *err);

/* What prun computes a run's figures from (borrowing p's strings). */
prun_basis jpower_basis(const jpower *p);

/* Writes a run's power over time to trace (CSV) and draws it to plot
 * (.png or .svg; either may be NULL) with plots/power.gp: the IT series
 * and, with a floor (floor_frac > 0), the smoothed one. */
int jpower_write_series(const jenv *env, const char *trace, const char *plot, double floor_frac,
                        const pseries *it, const pseries *smooth, const char *title, ms_err *err);

/* A run's power and cost as report values (their JSON keys flat in the
 * enclosing object), under the text heading title. */
void jpower_report(report *r, const prun *run, const char *title);

/* Draws a spectrum to plot (.png or .svg) with plots/spectrum.gp: share[k]
 * of the swings' energy at k x df_hz (k = 1 .. n - 1), the band lo_hz to
 * hi_hz shaded, on log axes; without gnuplot the .dat and .gp are kept
 * and a note says so (gp_plot_draw). */
int jpower_write_spectrum(const jenv *env, const char *plot, const double *share, size_t n,
                          double df_hz, double lo_hz, double hi_hz, const char *title, ms_err *err);

#endif
