/* tco: the cost of owning and running GPUs, as a price per GPU-hour and
 * as dollars for a run. Capital (servers, network, facility) is spread
 * evenly over its life, every hour of it (a GPU-hour carries its share of
 * idle hours only through the utilization a caller divides by); energy
 * is what the run's simulated power costs at the meter. Pure arithmetic. */
#ifndef MS_TCO_H
#define MS_TCO_H

#include "core/err.h"

#define TCO_HOURS_PER_YEAR 8766.0 /* 365.25 days */

typedef struct tco_inputs {
    double server_usd_per_gpu;  /* a server's price over its GPUs; NAN: unknown */
    double network_usd_per_gpu; /* scale-out network per GPU (endpoint) */
    double facility_usd_per_w;  /* building, power and cooling per W of IT capacity */
    double it_w_per_gpu;        /* IT capacity provisioned per GPU (its share at full load) */
    double life_years;          /* servers and network */
    double facility_life_years;
    double energy_usd_per_kwh;
} tco_inputs;

typedef struct tco_rate {
    double servers_usd_per_gpu_hour;
    double network_usd_per_gpu_hour;
    double facility_usd_per_gpu_hour;
    double capital_usd_per_gpu_hour; /* the three together */
} tco_rate;

/* Checks every figure is positive and finite (life at least 0.5 years),
 * naming the key of hwdb/costs.csv (or option) at fault. An unknown (NAN)
 * server price passes: the capital rate is then NAN. */
int tco_check(const tco_inputs *in, ms_err *err);

tco_rate tco_capital_rate(const tco_inputs *in);

/* Dollars of energy_j joules at the meter. */
double tco_energy_usd(const tco_inputs *in, double energy_j);

/* What gpus GPUs cost over a horizon of years. Owned (price NAN): each
 * purchase counted straight-line, years / its life of its price (a
 * horizon past a life pays for the replacements, one short of it leaves
 * the rest of the value unspent), rent NAN. Rented at price a GPU-hour:
 * rent is what the price leaves after the energy it includes, servers,
 * network and facility NAN. Energy at meter_mean_w all along either way. */
typedef struct tco_horizon {
    double years;
    double servers_usd, network_usd, facility_usd; /* owned */
    double rent_usd;                               /* rented, less its energy */
    double energy_usd;
    double total_usd; /* NAN when the server price is unknown */
} tco_horizon;

tco_horizon tco_over_years(const tco_inputs *in, double price_per_gpu_hour, double gpus,
                           double meter_mean_w, double years);

#endif
