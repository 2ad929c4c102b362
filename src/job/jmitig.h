/* jmitig: the mitigations a ramp limit asks of a training run's site, sized
 * and costed (train's --ramp-limit): a power floor, software fill, energy
 * storage in the racks and batteries at the site (src/power/pmit.h), each
 * with the grid's draw after it, the energy it burns or the store it needs,
 * and what that costs at hwdb/costs.csv's prices; and the plot of the
 * site's power with and without each. */
#ifndef MS_JMITIG_H
#define MS_JMITIG_H

#include <stddef.h>

#include "core/err.h"
#include "job/jenv.h"
#include "job/jopt.h"
#include "power/pdb.h"
#include "power/pmit.h"
#include "power/pseries.h"
#include "report/report.h"

typedef struct jmitig_opts {
    double rack_j_per_gpu; /* storage a rack holds per GPU; NAN: costs.csv's for the chip */
    double rack_w_per_gpu; /* the most power it gives per GPU; NAN: unknown (unbounded) */
    const char *plot;      /* .png or .svg of the site's power with and without, or NULL */
} jmitig_opts;

#define JMITIG_ROWS(base)                                                                          \
    {"rack-storage-J-per-gpu",                                                                     \
     JOPT_POS,                                                                                     \
     "J",                                                                                          \
     "J",                                                                                          \
     NULL,                                                                                         \
     1e-6,                                                                                         \
     1e9,                                                                                          \
     NULL,                                                                                         \
     (base) + offsetof(jmitig_opts, rack_j_per_gpu),                                               \
     "energy storage a rack holds per GPU, judged against the ramp limit (default: "               \
     "hwdb/costs.csv's for the chip)"},                                                            \
        {"rack-storage-W-per-gpu",                                                                 \
         JOPT_POS,                                                                                 \
         "W",                                                                                      \
         "W",                                                                                      \
         NULL,                                                                                     \
         1e-6,                                                                                     \
         1e6,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jmitig_opts, rack_w_per_gpu),                                           \
         "the most power that storage gives or takes per GPU (default: no bound)"},                \
    {                                                                                              \
        "mitigation-plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL,                           \
            (base) + offsetof(jmitig_opts, plot),                                                  \
            "draw the site's power over the power steps at 1 ms with and without each mitigation " \
            "of --ramp-limit (.png or .svg)"                                                       \
    }

/* The four mitigations of one run. */
typedef struct jmitig_out {
    int have;
    double ramp_w_per_s, pue, gpus;
    size_t n;
    double dt_s;
    double *load_w, *floor_w, *fill_w, *store_w; /* the site's draw: without, and after each */
    pmit_result none, floor, fill, store;
    double floor_level_w;
    double idle_w;        /* the site with its job stopped (a failure, a restart) */
    double fail_drop_w;   /* the fall at a failure: the step's peak to idle, at once */
    double fail_ramp_s;   /* how long the grid takes to follow it at the limit */
    double fail_energy_j; /* what storage takes in, or fill burns, meanwhile */
    double energy_usd_per_kwh;
    double battery_kw, battery_kwh, battery_usd, battery_round_trip; /* NAN: unknown */
    double rack_j_per_gpu, rack_w_per_gpu;                           /* NAN: unknown */
    int rack_from_db;
    char title[300];
} jmitig_out;

/* Sizes the mitigations of site power it x pue (W, the IT draw of gpus
 * GPUs of chip, one or more repeating steps) for ramp_w_per_s at the
 * site, and for a failure that drops the site from its peak to
 * idle_it_w x pue at once (and the restart that brings it back); energy
 * at energy_usd_per_kwh. db gives the battery and rack
 * storage figures (missing ones are unknown, not errors). MS_ENOMEM. Free
 * out with jmitig_free, also after a failure. */
int jmitig_size(const jmitig_opts *o, const pdb *db, const char *chip, const pseries *it,
                double idle_it_w, double pue, double gpus, double ramp_w_per_s,
                double energy_usd_per_kwh, const char *title, jmitig_out *out, ms_err *err);

/* The group "mitigations" and the table "mitigation_costs". */
void jmitig_report(report *r, const jmitig_out *m);

/* The plot of o->plot: the site's power over one repeat of its steps with
 * and without each mitigation. */
int jmitig_write_plot(const jenv *env, const char *plot, const jmitig_out *m, ms_err *err);

void jmitig_free(jmitig_out *m);

#endif
