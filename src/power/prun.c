/* prun: see prun.h. */
#include "power/prun.h"

#include <math.h>
#include <stdio.h>

void prun_summarize(const prun_basis *b, const pseries *it, const pseries *smooth,
                    const pseries *gpu_s, double gpus, double duration_s, prun *out)
{
    const pseries *run = smooth ? smooth : it;
    pseries_stats st = pseries_stats_of(run), raw = pseries_stats_of(it);
    pseries_stats g = pseries_stats_of(gpu_s);
    double switches_w = (double)b->site.switches * b->site.switch_w;
    *out = (prun){.gpus = gpus,
                  .duration_s = duration_s,
                  .it_mean_w = st.mean_w,
                  .it_peak_w = st.peak_w,
                  .it_min_w = st.min_w,
                  .facility_mean_w = st.mean_w * b->site.pue,
                  .node_mean_w = (st.mean_w - switches_w) / gpus * b->lv.node_gpus,
                  .node_peak_w = (st.peak_w - switches_w) / gpus * b->lv.node_gpus,
                  .gpu_mean_w = g.mean_w / gpus,
                  .swing_max_w = st.swing_max_w,
                  .ramp_max_w_per_s = st.ramp_max_w_per_s,
                  .smoothed = smooth != NULL,
                  .swing_unsmoothed_w = raw.swing_max_w,
                  .it_unsmoothed_mean_w = raw.mean_w};
    snprintf(out->estimated, sizeof out->estimated, "%s", b->estimated ? b->estimated : "");
    snprintf(out->price_basis, sizeof out->price_basis, "%s", b->price_basis ? b->price_basis : "");
    out->gpu_limit_w = b->lv.limit_w;
    out->limit_clock_frac = pwr_limit_clock_frac(&b->lv);
    prun_costs(b, out);
}

void prun_mix(const prun_basis *b, prun *run, const prun *pause, double pause_frac,
              const prun *shown)
{
    double w = pause_frac;
    run->it_mean_w = (1 - w) * run->it_mean_w + w * pause->it_mean_w;
    run->it_unsmoothed_mean_w =
        (1 - w) * run->it_unsmoothed_mean_w + w * pause->it_unsmoothed_mean_w;
    run->facility_mean_w = (1 - w) * run->facility_mean_w + w * pause->facility_mean_w;
    run->node_mean_w = (1 - w) * run->node_mean_w + w * pause->node_mean_w;
    run->gpu_mean_w = (1 - w) * run->gpu_mean_w + w * pause->gpu_mean_w;
    run->it_peak_w = shown->it_peak_w;
    run->node_peak_w = shown->node_peak_w;
    run->it_min_w = shown->it_min_w;
    run->swing_max_w = shown->swing_max_w;
    run->ramp_max_w_per_s = shown->ramp_max_w_per_s;
    run->swing_unsmoothed_w = shown->swing_unsmoothed_w;
    prun_costs(b, run);
}

/* Energy and costs from the means and the duration. */
void prun_costs(const prun_basis *b, prun *out)
{
    double duration_s = out->duration_s;
    if (out->smoothed)
        out->floor_energy_frac = out->it_mean_w / out->it_unsmoothed_mean_w - 1;
    out->energy_j = out->facility_mean_w * duration_s;
    out->gpu_hours = out->gpus * duration_s / 3600;
    out->usd_energy = tco_energy_usd(&b->tco, out->energy_j);
    if (isfinite(b->price_per_gpu_hour)) {
        /* A flat price: energy is what the run drew; capital what is left. */
        out->usd_total = b->price_per_gpu_hour * out->gpu_hours;
        out->usd_capital = out->usd_total - out->usd_energy;
    } else {
        /* NAN when the server price is unknown. */
        out->usd_capital = tco_capital_rate(&b->tco).capital_usd_per_gpu_hour * out->gpu_hours;
        out->usd_total = out->usd_capital + out->usd_energy;
    }
    out->usd_per_gpu_hour = out->gpu_hours > 0 ? out->usd_total / out->gpu_hours : NAN;
}

double prun_provisioned_w_per_gpu(const pwr_levels *l, const pwr_site *s, double gpus)
{
    /* Facility capacity is provisioned for every GPU at full load. */
    return pwr_it_per_gpu_w(l, l->matrix_w) +
           (gpus > 0 ? (double)s->switches * s->switch_w / gpus : 0);
}

double prun_ckpt_s(double bytes_per_gpu, double write_Bps)
{
    return bytes_per_gpu / write_Bps;
}

double prun_ckpt_run_factor(double ckpt_s, int64_t every_steps, double step_s)
{
    return 1 + ckpt_s / ((double)every_steps * step_s);
}

double prun_pause_frac(double run_factor)
{
    return 1 - 1 / run_factor;
}

double prun_train_duration_s(double tokens, double tokens_per_s, double run_factor)
{
    return tokens / tokens_per_s * run_factor;
}

prun_budget prun_budget_of(double gpu_hours_per_trillion_tokens, double tokens, double gpus,
                           double price_per_gpu_hour)
{
    double hours = gpu_hours_per_trillion_tokens * tokens / 1e12;
    return (prun_budget){.gpu_hours = hours,
                         .days = hours / gpus / 24,
                         .cost_usd =
                             isfinite(price_per_gpu_hour) ? hours * price_per_gpu_hour : NAN};
}
