/* tco: see tco.h. */
#include "power/tco.h"

#include <math.h>
#include <stddef.h>

int tco_check(const tco_inputs *in, ms_err *err)
{
    const struct {
        const char *key;
        double v, min;
    } f[] = {
        {"server_usd (--server-usd)", in->server_usd_per_gpu, 0},
        {"network_usd_per_gpu", in->network_usd_per_gpu, 0},
        {"facility_usd_per_W", in->facility_usd_per_w, 0},
        {"IT watts per GPU", in->it_w_per_gpu, 0},
        {"life_years (--life-years)", in->life_years, 0.5},
        {"facility_life_years", in->facility_life_years, 0.5},
        {"energy_usd_per_kWh (--energy-usd-per-kwh)", in->energy_usd_per_kwh, 0},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (i == 0 && isnan(f[i].v)) /* an unknown server price */
            continue;
        if (!isfinite(f[i].v) || !(f[i].v > f[i].min || (f[i].min > 0 && f[i].v == f[i].min)))
            return ms_errf(err, MS_EINVAL, "cost figure %s: expected a number above %g, got %g",
                           f[i].key, f[i].min, f[i].v);
    }
    return MS_OK;
}

tco_rate tco_capital_rate(const tco_inputs *in)
{
    tco_rate r;
    double h = TCO_HOURS_PER_YEAR;
    r.servers_usd_per_gpu_hour = in->server_usd_per_gpu / (in->life_years * h);
    r.network_usd_per_gpu_hour = in->network_usd_per_gpu / (in->life_years * h);
    r.facility_usd_per_gpu_hour =
        in->facility_usd_per_w * in->it_w_per_gpu / (in->facility_life_years * h);
    r.capital_usd_per_gpu_hour =
        r.servers_usd_per_gpu_hour + r.network_usd_per_gpu_hour + r.facility_usd_per_gpu_hour;
    return r;
}

double tco_energy_usd(const tco_inputs *in, double energy_j)
{
    return energy_j / 3.6e6 * in->energy_usd_per_kwh;
}

tco_horizon tco_over_years(const tco_inputs *in, double price_per_gpu_hour, double gpus,
                           double meter_mean_w, double years)
{
    double hours = years * TCO_HOURS_PER_YEAR;
    tco_horizon h = {.years = years,
                     .servers_usd = NAN,
                     .network_usd = NAN,
                     .facility_usd = NAN,
                     .rent_usd = NAN,
                     .energy_usd = tco_energy_usd(in, meter_mean_w * hours * 3600)};
    if (isfinite(price_per_gpu_hour)) {
        h.total_usd = price_per_gpu_hour * gpus * hours;
        h.rent_usd = h.total_usd - h.energy_usd;
        return h;
    }
    h.servers_usd = gpus * in->server_usd_per_gpu * years / in->life_years;
    h.network_usd = gpus * in->network_usd_per_gpu * years / in->life_years;
    h.facility_usd =
        gpus * in->it_w_per_gpu * in->facility_usd_per_w * years / in->facility_life_years;
    h.total_usd = h.servers_usd + h.network_usd + h.facility_usd + h.energy_usd;
    return h;
}
