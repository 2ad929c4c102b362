/* Tests of the cost of ownership (src/power/tco): a capital rate per
 * GPU-hour against one worked by hand, energy at the meter, and the
 * errors that name the figure at fault. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "power/tco.h"
#include "test_assert.h"

static tco_inputs example(void)
{
    /* An 8-GPU server at $240,000, $4,390 of network a GPU, $10 a watt of
     * facility for 1,400 W a GPU; 4 and 15 years; $0.08 a kWh. */
    return (tco_inputs){.server_usd_per_gpu = 240000.0 / 8,
                        .network_usd_per_gpu = 4390,
                        .facility_usd_per_w = 10,
                        .it_w_per_gpu = 1400,
                        .life_years = 4,
                        .facility_life_years = 15,
                        .energy_usd_per_kwh = 0.08};
}

static void test_rate_by_hand(void)
{
    tco_inputs in = example();
    ms_err err = {0};
    CU_ASSERT_EQUAL(tco_check(&in, &err), MS_OK);
    tco_rate r = tco_capital_rate(&in);
    double hours4 = 4 * 8766.0, hours15 = 15 * 8766.0;
    MS_ASSERT_WITHIN(r.servers_usd_per_gpu_hour, 30000 / hours4, 1e-12);
    MS_ASSERT_WITHIN(r.servers_usd_per_gpu_hour, 0.855578, 1e-6);
    MS_ASSERT_WITHIN(r.network_usd_per_gpu_hour, 4390 / hours4, 1e-12);
    MS_ASSERT_WITHIN(r.facility_usd_per_gpu_hour, 14000 / hours15, 1e-12);
    MS_ASSERT_WITHIN(r.capital_usd_per_gpu_hour,
                     r.servers_usd_per_gpu_hour + r.network_usd_per_gpu_hour +
                         r.facility_usd_per_gpu_hour,
                     1e-12);
    /* 3.6e9 J is 1,000 kWh. */
    MS_ASSERT_WITHIN(tco_energy_usd(&in, 3.6e9), 80, 1e-9);
    MS_ASSERT_EXACT(tco_energy_usd(&in, 0), 0);
    /* An unknown server price passes the check and makes capital unknown. */
    in.server_usd_per_gpu = NAN;
    CU_ASSERT_EQUAL(tco_check(&in, &err), MS_OK);
    CU_ASSERT(isnan(tco_capital_rate(&in).capital_usd_per_gpu_hour));
}

static void test_horizon_by_hand(void)
{
    tco_inputs in = example();
    /* 1,000 GPUs owned for 2 years, 1.5 MW at the meter: half the servers
     * and network (4-year life), 2/15 of the facility, 2 x 8766 h of 1.5 MW. */
    tco_horizon h = tco_over_years(&in, NAN, 1000, 1.5e6, 2);
    MS_ASSERT_WITHIN(h.servers_usd, 15e6, 1e-6);
    MS_ASSERT_WITHIN(h.network_usd, 2.195e6, 1e-6);
    MS_ASSERT_WITHIN(h.facility_usd, 14e6 * 2 / 15, 1e-6);
    MS_ASSERT_WITHIN(h.energy_usd, 1500 * 2 * 8766.0 * 0.08, 1e-6);
    MS_ASSERT_WITHIN(h.total_usd, h.servers_usd + h.network_usd + h.facility_usd + h.energy_usd,
                     1e-6);
    CU_ASSERT(isnan(h.rent_usd));
    /* Past the servers' life the replacements are paid for: 8 years is
     * twice their price. */
    MS_ASSERT_WITHIN(tco_over_years(&in, NAN, 1000, 1.5e6, 8).servers_usd, 60e6, 1e-6);
    /* Rented at $2 a GPU-hour: the rent is the price less its energy. */
    tco_horizon r = tco_over_years(&in, 2, 1000, 1.5e6, 2);
    MS_ASSERT_WITHIN(r.total_usd, 2 * 1000 * 2 * 8766.0, 1e-6);
    MS_ASSERT_WITHIN(r.rent_usd + r.energy_usd, r.total_usd, 1e-6);
    CU_ASSERT(isnan(r.servers_usd) && isnan(r.network_usd) && isnan(r.facility_usd));
    /* An unknown server price leaves the total unknown. */
    in.server_usd_per_gpu = NAN;
    CU_ASSERT(isnan(tco_over_years(&in, NAN, 1000, 1.5e6, 2).total_usd));
}

static void test_errors(void)
{
    static const struct {
        int field;
        double v;
        const char *has;
    } cases[] = {
        {0, -1, "server_usd"},  {1, 0, "network_usd_per_gpu"},    {2, NAN, "facility_usd_per_W"},
        {4, 0.1, "life_years"}, {6, -0.05, "energy_usd_per_kWh"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tco_inputs in = example();
        double *f[] = {&in.server_usd_per_gpu, &in.network_usd_per_gpu, &in.facility_usd_per_w,
                       &in.it_w_per_gpu,       &in.life_years,          &in.facility_life_years,
                       &in.energy_usd_per_kwh};
        *f[cases[i].field] = cases[i].v;
        ms_err err = {0};
        CU_ASSERT_EQUAL(tco_check(&in, &err), MS_EINVAL);
        CU_ASSERT(strstr(err.msg, cases[i].has) != NULL);
    }
}

static CU_TestInfo tests[] = {
    {"capital rate and energy by hand", test_rate_by_hand},
    {"cost over a horizon by hand", test_horizon_by_hand},
    {"errors name the figure", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "tco", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_tco");
}
