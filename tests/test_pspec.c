/* Tests of pspec (src/power): lengths GSL factors fast; a square wave of
 * power, whose fundamental carries 8/pi^2 of its swings' energy and whose
 * range and ramp are known by hand; a constant draw, which has no swings;
 * bands and series it cannot judge. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>

#include "power/pspec.h"
#include "test_assert.h"

static const double PI = 3.14159265358979323846;

static void test_smooth_len(void)
{
    static const size_t cases[][2] = {{1, 1},       {7, 6},       {17, 16},     {97, 96},
                                      {1000, 1000}, {1001, 1000}, {4096, 4096}, {4099, 4096}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        MS_ASSERT_INT_EQ(pspec_smooth_len(cases[i][0]), cases[i][1]);
}

/* 64 s at 1/64 s: a draw of 10 W for a second, 4 W the next, 32 times. */
static pseries *square(void)
{
    pseries *ps;
    ms_err err = {0};
    CU_ASSERT_FATAL(pseries_new(0, 64, 1 / 64.0, &ps, &err) == MS_OK);
    for (int k = 0; k < 64; k++)
        pseries_add(ps, k, k + 1, k % 2 ? 4 : 10);
    return ps;
}

static void test_square_wave(void)
{
    pseries *ps = square();
    pspec_stats st;
    double *psd;
    size_t n;
    ms_err err = {0};
    CU_ASSERT_FATAL(pspec_of(ps, 0.1, 0.6, &st, &psd, &n, &err) == MS_OK);
    MS_ASSERT_INT_EQ(st.points, 4096);
    MS_ASSERT_NEAR(st.df_hz, 1 / 64.0, 1e-12);
    MS_ASSERT_NEAR(st.nyquist_hz, 32, 1e-12);
    MS_ASSERT_NEAR(st.dominant_hz, 0.5, 1e-12);
    /* A square wave's fundamental holds 8/pi^2 of its AC energy; sampled,
     * a little less goes to harmonics above the Nyquist frequency. */
    MS_ASSERT_NEAR(st.dominant_fraction, 8 / (PI * PI), 0.01);
    MS_ASSERT_NEAR(st.band_fraction, st.dominant_fraction, 1e-12); /* only it in 0.1-0.6 Hz */
    MS_ASSERT_NEAR(st.ac_rms_w, 3, 1e-9);                          /* +-3 W about 7 W */
    MS_ASSERT_NEAR(st.range_w, 6, 1e-9);
    MS_ASSERT_NEAR(st.ramp_max_w_per_s, 6 * 64, 1e-6);
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += psd[k];
    MS_ASSERT_NEAR(sum, 1, 1e-9);
    MS_ASSERT_EXACT(psd[0], 0);
    MS_ASSERT_NEAR(psd[32], st.dominant_fraction, 1e-12); /* 0.5 Hz = 32 df */
    /* 0.1-20 Hz takes the odd harmonics up to 19.5 Hz too. */
    CU_ASSERT_FATAL(pspec_of(ps, 0.1, 20, &st, NULL, NULL, &err) == MS_OK);
    CU_ASSERT(st.band_fraction > 0.97 && st.band_fraction < 1);
    free(psd);
    pseries_free(ps);
}

static void test_flat(void)
{
    pseries *ps;
    ms_err err = {0};
    CU_ASSERT_FATAL(pseries_new(0, 10, 0.01, &ps, &err) == MS_OK);
    pseries_add(ps, 0, 10, 500);
    pspec_stats st;
    CU_ASSERT_FATAL(pspec_of(ps, 0.1, 20, &st, NULL, NULL, &err) == MS_OK);
    CU_ASSERT(isnan(st.band_fraction) && isnan(st.dominant_hz));
    CU_ASSERT(st.ac_rms_w < 1e-6 && st.range_w < 1e-6);
    pseries_free(ps);
}

static void test_bad(void)
{
    pseries *ps = square(), *tiny;
    pspec_stats st;
    ms_err err = {0};
    CU_ASSERT_EQUAL(pspec_of(ps, 40, 50, &st, NULL, NULL, &err), MS_EINVAL);
    MS_ASSERT_STR_HAS(err.msg, "above the 32 Hz");
    CU_ASSERT_EQUAL(pspec_of(ps, 5, 1, &st, NULL, NULL, &err), MS_EINVAL);
    MS_ASSERT_STR_HAS(err.msg, "expected 0 <= low < high");
    CU_ASSERT_FATAL(pseries_new(0, 1, 0.1, &tiny, &err) == MS_OK);
    CU_ASSERT_EQUAL(pspec_of(tiny, 0.1, 1, &st, NULL, NULL, &err), MS_EINVAL);
    MS_ASSERT_STR_HAS(err.msg, "at least 16");
    pseries_free(tiny);
    pseries_free(ps);
}

static CU_TestInfo tests[] = {
    {"lengths GSL factors fast", test_smooth_len},
    {"a square wave of power, by hand", test_square_wave},
    {"a constant draw has no swings", test_flat},
    {"bands and series it cannot judge", test_bad},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "pspec", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_pspec");
}
