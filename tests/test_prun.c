/* Tests of a run's power and cost (src/power/prun): the figures of a
 * three-point series, energy at the meter and capital by ownership or at a
 * flat price, smoothing's extra energy, a run mixed with its checkpoint
 * pauses, how checkpoints stretch a run, a token budget and the IT
 * capacity provisioned per GPU, each against values worked by hand. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "power/prun.h"
#include "test_assert.h"

/* Round figures that make capital $1.00 a GPU-hour: with a one-year life
 * (8,766 h), a server share of $4,383 is $0.50/h, $876.60 of network
 * $0.10/h, and 1,000 W of facility at $3.5064 a W ($3,506.40) $0.40/h.
 * Energy at $0.08 a kWh. 16 GPUs, 8 a server, 2 switches of 100 W, PUE
 * 1.25. */
static prun_basis basis(void)
{
    return (prun_basis){.lv = {.node_gpus = 8},
                        .site = {.pue = 1.25, .switch_w = 100, .switches = 2},
                        .tco = {.server_usd_per_gpu = 4383,
                                .network_usd_per_gpu = 876.6,
                                .facility_usd_per_w = 3.5064,
                                .it_w_per_gpu = 1000,
                                .life_years = 1,
                                .facility_life_years = 1,
                                .energy_usd_per_kwh = 0.08},
                        .price_per_gpu_hour = NAN,
                        .estimated = "matrix_W;idle_W"};
}

/* A series of 1 s bins holding the given watts. */
static pseries *series(const double *w, size_t n)
{
    pseries *ps = NULL;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(pseries_new(0, (double)n, 1, &ps, &err), MS_OK);
    for (size_t i = 0; i < n; i++)
        pseries_add(ps, (double)i, (double)i + 1, w[i]);
    return ps;
}

/* IT 1,000, 3,000, 2,000 W; the GPUs alone 800, 1,600, 1,200 W. */
static const double it_w[] = {1000, 3000, 2000}, gpu_w[] = {800, 1600, 1200};

static void test_summarize_by_hand(void)
{
    prun_basis b = basis();
    pseries *it = series(it_w, 3), *gpu = series(gpu_w, 3);
    prun r;
    /* 10 hours of 16 GPUs: 160 GPU-hours. */
    prun_summarize(&b, it, NULL, gpu, 16, 36000, &r);
    /* Mean (1,000 + 3,000 + 2,000) / 3 = 2,000 W; peak 3,000; min 1,000;
     * largest fall 3,000 -> 2,000 = 1,000 W; steepest ramp 1,000 -> 3,000
     * in 1 s = 2,000 W/s. */
    MS_ASSERT_NEAR_AS("it mean", r.it_mean_w, 2000, 1e-9);
    MS_ASSERT_NEAR_AS("it peak", r.it_peak_w, 3000, 1e-9);
    MS_ASSERT_NEAR_AS("it min", r.it_min_w, 1000, 1e-9);
    MS_ASSERT_NEAR_AS("swing", r.swing_max_w, 1000, 1e-9);
    MS_ASSERT_NEAR_AS("ramp", r.ramp_max_w_per_s, 2000, 1e-9);
    CU_ASSERT_EQUAL(r.smoothed, 0);
    MS_ASSERT_NEAR_AS("unsmoothed swing", r.swing_unsmoothed_w, 1000, 1e-9);
    MS_ASSERT_NEAR_AS("unsmoothed mean", r.it_unsmoothed_mean_w, 2000, 1e-9);
    MS_ASSERT_WITHIN_AS("floor energy", r.floor_energy_frac, 0, 0);
    /* Facility 2,000 x 1.25 = 2,500 W. A server: (2,000 - 2 x 100) / 16 x
     * 8 = 900 W mean, (3,000 - 200) / 16 x 8 = 1,400 W at the peak. A GPU:
     * 1,200 / 16 = 75 W. */
    MS_ASSERT_NEAR_AS("facility mean", r.facility_mean_w, 2500, 1e-9);
    MS_ASSERT_NEAR_AS("node mean", r.node_mean_w, 900, 1e-9);
    MS_ASSERT_NEAR_AS("node peak", r.node_peak_w, 1400, 1e-9);
    MS_ASSERT_NEAR_AS("gpu mean", r.gpu_mean_w, 75, 1e-9);
    /* Energy 2,500 W x 36,000 s = 9e7 J = 25 kWh: $2.00. Capital $1.00 x
     * 160 GPU-hours = $160; total $162, $1.0125 a GPU-hour. */
    MS_ASSERT_NEAR_AS("energy", r.energy_j, 9e7, 1e-9);
    MS_ASSERT_NEAR_AS("gpu hours", r.gpu_hours, 160, 1e-9);
    MS_ASSERT_NEAR_AS("usd energy", r.usd_energy, 2, 1e-9);
    MS_ASSERT_NEAR_AS("usd capital", r.usd_capital, 160, 1e-9);
    MS_ASSERT_NEAR_AS("usd total", r.usd_total, 162, 1e-9);
    MS_ASSERT_NEAR_AS("usd per gpu hour", r.usd_per_gpu_hour, 1.0125, 1e-9);
    MS_ASSERT_NEAR_AS("gpus", r.gpus, 16, 1e-9);
    MS_ASSERT_NEAR_AS("duration", r.duration_s, 36000, 1e-9);
    CU_ASSERT_STRING_EQUAL(r.estimated, "matrix_W;idle_W");
    b.estimated = NULL;
    prun_summarize(&b, it, NULL, gpu, 16, 36000, &r);
    CU_ASSERT_STRING_EQUAL(r.estimated, "");
    pseries_free(it);
    pseries_free(gpu);
}

/* A flat price replaces ownership; an unknown server price leaves capital
 * unknown; no GPU-hours leave the all-in price unknown. */
static void test_prices(void)
{
    static const struct {
        const char *name;
        double price, server, duration_s;
        double capital, total, per_hour; /* NAN: unknown */
    } cases[] = {
        /* $2.50 x 160 GPU-hours = $400 of which $2 energy, $398 capital. */
        {"flat price", 2.5, 4383, 36000, 398, 400, 2.5},
        /* Capital and so the total unknown; energy still $2. */
        {"unknown server", NAN, NAN, 36000, NAN, NAN, NAN},
        /* No time: nothing spent, the price per GPU-hour undefined. */
        {"no time", NAN, 4383, 0, 0, 0, NAN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prun_basis b = basis();
        b.price_per_gpu_hour = cases[i].price;
        b.tco.server_usd_per_gpu = cases[i].server;
        prun r = {.gpus = 16, .duration_s = cases[i].duration_s, .facility_mean_w = 2500};
        prun_costs(&b, &r);
        MS_ASSERT_NEAR_AS(cases[i].name, r.usd_energy, cases[i].duration_s > 0 ? 2 : 0, 1e-9);
        double got[] = {r.usd_capital, r.usd_total, r.usd_per_gpu_hour};
        double want[] = {cases[i].capital, cases[i].total, cases[i].per_hour};
        for (size_t k = 0; k < 3; k++) {
            if (isnan(want[k])) {
                CU_ASSERT(isnan(got[k]));
            } else {
                MS_ASSERT_NEAR_AS(cases[i].name, got[k], want[k], 1e-9);
            }
        }
    }
}

/* With a floor the run's figures are the smoothed series'; the extra
 * energy is over the unsmoothed mean. */
static void test_smoothed(void)
{
    static const double smooth_w[] = {2000, 3000, 2500};
    prun_basis b = basis();
    pseries *it = series(it_w, 3), *sm = series(smooth_w, 3), *gpu = series(gpu_w, 3);
    prun r;
    prun_summarize(&b, it, sm, gpu, 16, 36000, &r);
    /* Smoothed: mean 2,500 W, peak 3,000, min 2,000, fall 500, ramp 1,000
     * W/s; unsmoothed fall 1,000 W, mean 2,000: 2,500 / 2,000 - 1 = 25%
     * more energy. Facility 3,125 W x 36,000 s = 1.125e8 J = 31.25 kWh:
     * $2.50. */
    CU_ASSERT_EQUAL(r.smoothed, 1);
    MS_ASSERT_NEAR_AS("it mean", r.it_mean_w, 2500, 1e-9);
    MS_ASSERT_NEAR_AS("it peak", r.it_peak_w, 3000, 1e-9);
    MS_ASSERT_NEAR_AS("it min", r.it_min_w, 2000, 1e-9);
    MS_ASSERT_NEAR_AS("swing", r.swing_max_w, 500, 1e-9);
    MS_ASSERT_NEAR_AS("ramp", r.ramp_max_w_per_s, 1000, 1e-9);
    MS_ASSERT_NEAR_AS("unsmoothed swing", r.swing_unsmoothed_w, 1000, 1e-9);
    MS_ASSERT_NEAR_AS("unsmoothed mean", r.it_unsmoothed_mean_w, 2000, 1e-9);
    MS_ASSERT_NEAR_AS("floor energy", r.floor_energy_frac, 0.25, 1e-9);
    MS_ASSERT_NEAR_AS("energy", r.energy_j, 1.125e8, 1e-9);
    MS_ASSERT_NEAR_AS("usd energy", r.usd_energy, 2.5, 1e-9);
    MS_ASSERT_NEAR_AS("usd total", r.usd_total, 162.5, 1e-9);
    pseries_free(it);
    pseries_free(sm);
    pseries_free(gpu);
}

/* The steps above, with a fifth of the run spent in pauses of all GPUs
 * idle (IT 1,000 W, the GPUs 400 W). */
static void test_mix(void)
{
    static const double pause_w[] = {1000, 1000}, pause_gpu_w[] = {400, 400};
    prun_basis b = basis();
    pseries *it = series(it_w, 3), *gpu = series(gpu_w, 3);
    pseries *pit = series(pause_w, 2), *pgpu = series(pause_gpu_w, 2);
    prun run, pause;
    prun_summarize(&b, it, NULL, gpu, 16, 36000, &run);
    prun_summarize(&b, pit, NULL, pgpu, 16, 36000, &pause);
    /* The pause: facility 1,250 W, a server (1,000 - 200) / 16 x 8 = 400
     * W, a GPU 400 / 16 = 25 W. */
    MS_ASSERT_NEAR_AS("pause node", pause.node_mean_w, 400, 1e-9);
    MS_ASSERT_NEAR_AS("pause gpu", pause.gpu_mean_w, 25, 1e-9);
    prun shown = {.it_peak_w = 3100,
                  .node_peak_w = 1450,
                  .it_min_w = 950,
                  .swing_max_w = 2150,
                  .ramp_max_w_per_s = 4000,
                  .swing_unsmoothed_w = 2200};
    prun_mix(&b, &run, &pause, 0.2, &shown);
    /* Means 0.8 x steps + 0.2 x pause: IT 1,600 + 200 = 1,800 W; facility
     * 2,000 + 250 = 2,250; server 720 + 80 = 800; GPU 60 + 5 = 65. */
    MS_ASSERT_NEAR_AS("it mean", run.it_mean_w, 1800, 1e-9);
    MS_ASSERT_NEAR_AS("unsmoothed mean", run.it_unsmoothed_mean_w, 1800, 1e-9);
    MS_ASSERT_NEAR_AS("facility mean", run.facility_mean_w, 2250, 1e-9);
    MS_ASSERT_NEAR_AS("node mean", run.node_mean_w, 800, 1e-9);
    MS_ASSERT_NEAR_AS("gpu mean", run.gpu_mean_w, 65, 1e-9);
    /* Peaks, swings and ramps are the shown series'. */
    MS_ASSERT_NEAR_AS("it peak", run.it_peak_w, 3100, 1e-9);
    MS_ASSERT_NEAR_AS("node peak", run.node_peak_w, 1450, 1e-9);
    MS_ASSERT_NEAR_AS("it min", run.it_min_w, 950, 1e-9);
    MS_ASSERT_NEAR_AS("swing", run.swing_max_w, 2150, 1e-9);
    MS_ASSERT_NEAR_AS("ramp", run.ramp_max_w_per_s, 4000, 1e-9);
    MS_ASSERT_NEAR_AS("unsmoothed swing", run.swing_unsmoothed_w, 2200, 1e-9);
    /* 2,250 W x 36,000 s = 8.1e7 J = 22.5 kWh: $1.80; + $160 capital =
     * $161.80, $1.01125 a GPU-hour. */
    MS_ASSERT_NEAR_AS("energy", run.energy_j, 8.1e7, 1e-9);
    MS_ASSERT_NEAR_AS("usd energy", run.usd_energy, 1.8, 1e-9);
    MS_ASSERT_NEAR_AS("usd total", run.usd_total, 161.8, 1e-9);
    MS_ASSERT_NEAR_AS("usd per gpu hour", run.usd_per_gpu_hour, 1.01125, 1e-9);
    pseries_free(it);
    pseries_free(gpu);
    pseries_free(pit);
    pseries_free(pgpu);
}

static void test_checkpoints(void)
{
    static const struct {
        double bytes, Bps;
        int64_t every;
        double step_s;
        double ckpt_s, factor, pause_frac;
    } cases[] = {
        /* 120 GB a GPU at 2 GB/s: 60 s; every 100 steps of 12 s (1,200 s):
         * 1 + 60 / 1,200 = 1.05; pauses 1 - 1 / 1.05 = 1/21 of the run. */
        {1.2e11, 2e9, 100, 12, 60, 1.05, 1.0 / 21},
        /* 10 GB at 5 GB/s: 2 s after every 2 s step: twice as long, half
         * in pauses. */
        {1e10, 5e9, 1, 2, 2, 2, 0.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double s = prun_ckpt_s(cases[i].bytes, cases[i].Bps);
        double f = prun_ckpt_run_factor(s, cases[i].every, cases[i].step_s);
        MS_ASSERT_NEAR_AS("checkpoint s", s, cases[i].ckpt_s, 1e-9);
        MS_ASSERT_NEAR_AS("run factor", f, cases[i].factor, 1e-9);
        MS_ASSERT_NEAR_AS("pause fraction", prun_pause_frac(f), cases[i].pause_frac, 1e-9);
    }
    MS_ASSERT_WITHIN_AS("no checkpoints", prun_pause_frac(1), 0, 0);
    /* 1e12 tokens at 1e6 a second: 1e6 s, 1.05e6 s with the checkpoints. */
    MS_ASSERT_NEAR_AS("duration", prun_train_duration_s(1e12, 1e6, 1), 1e6, 1e-9);
    MS_ASSERT_NEAR_AS("duration, checkpoints", prun_train_duration_s(1e12, 1e6, 1.05), 1.05e6,
                      1e-9);
}

static void test_budget(void)
{
    /* 14.8e12 tokens at 200,000 GPU-hours per 1e12: 2.96e6 GPU-hours; on
     * 2,048 GPUs 1,445.3125 h = 60.2213541666... days; $5.92e6 at $2. */
    prun_budget bu = prun_budget_of(2e5, 14.8e12, 2048, 2);
    MS_ASSERT_NEAR_AS("gpu hours", bu.gpu_hours, 2.96e6, 1e-9);
    MS_ASSERT_NEAR_AS("days", bu.days, 1445.3125 / 24, 1e-9);
    MS_ASSERT_NEAR_AS("days, decimal", bu.days, 60.22135416666667, 1e-9);
    MS_ASSERT_NEAR_AS("cost", bu.cost_usd, 5.92e6, 1e-9);
    bu = prun_budget_of(2e5, 14.8e12, 2048, NAN);
    MS_ASSERT_NEAR_AS("gpu hours, no price", bu.gpu_hours, 2.96e6, 1e-9);
    CU_ASSERT(isnan(bu.cost_usd));
}

static void test_provisioned(void)
{
    /* test_pwr's levels: a GPU at 700 W, its server's other 2,400-4,800 W
     * over 8 GPUs: 700 + 600 = 1,300 W at full load. 64 switches of 500 W
     * over 1,024 GPUs add 31.25 W a GPU. */
    pwr_levels l = {.matrix_w = 700,
                    .memory_w = 400,
                    .comm_w = 200,
                    .idle_w = 100,
                    .node_gpus = 8,
                    .node_other_w = 4800,
                    .node_other_idle_w = 2400};
    pwr_site s = {.pue = 1.2, .switch_w = 500, .switches = 64};
    MS_ASSERT_NEAR_AS("with switches", prun_provisioned_w_per_gpu(&l, &s, 1024), 1331.25, 1e-9);
    MS_ASSERT_NEAR_AS("no GPUs", prun_provisioned_w_per_gpu(&l, &s, 0), 1300, 1e-9);
    s.switches = 0;
    MS_ASSERT_NEAR_AS("no switches", prun_provisioned_w_per_gpu(&l, &s, 1024), 1300, 1e-9);
}

static CU_TestInfo tests[] = {
    {"a three-point series' figures and costs by hand", test_summarize_by_hand},
    {"flat price, unknown server price, no time", test_prices},
    {"smoothing: the smoothed figures and its extra energy", test_smoothed},
    {"steps mixed with checkpoint pauses", test_mix},
    {"checkpoint time, run factor, pause fraction", test_checkpoints},
    {"a token budget's GPU-hours, days and cost", test_budget},
    {"IT capacity provisioned per GPU", test_provisioned},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "prun", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_prun");
}
