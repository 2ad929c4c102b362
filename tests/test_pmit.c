/* Tests of pmit (src/power): a square wave of 100 W for 5 s and 0 W for
 * 5 s, at 1 s points, held to 10 W/s by each mitigation, worked by hand;
 * a load already within the limit needs nothing; the period wraps. */
#include <CUnit/Basic.h>
#include <math.h>

#include "power/pmit.h"
#include "test_assert.h"

static const double SQUARE[10] = {100, 100, 100, 100, 100, 0, 0, 0, 0, 0};

static void test_ramp(void)
{
    MS_ASSERT_NEAR(pmit_ramp_max(SQUARE, 10, 1), 100, 1e-12);
    MS_ASSERT_NEAR(pmit_ramp_max(SQUARE, 10, 0.5), 200, 1e-12);
    /* The wrap counts: 0 .. 30 rises by 10 a point and falls 30 back. */
    static const double saw[4] = {0, 10, 20, 30};
    MS_ASSERT_NEAR(pmit_ramp_max(saw, 4, 1), 30, 1e-12);
    pmit_result d;
    pmit_describe(SQUARE, 10, 1, &d);
    MS_ASSERT_NEAR(d.peak_w, 100, 1e-12);
    MS_ASSERT_NEAR(d.min_w, 0, 1e-12);
    MS_ASSERT_NEAR(d.mean_w, 50, 1e-12);
    MS_ASSERT_NEAR(d.ramp_max_w_per_s, 100, 1e-12);
}

/* Both drops of 100 W need a floor within 10 W of the top: 90 W, burning
 * 90 W for half the period, 45 W on average. */
static void test_floor(void)
{
    double g[10];
    pmit_result r;
    MS_ASSERT_NEAR(pmit_floor(SQUARE, 10, 1, 10, g, &r), 90, 1e-12);
    MS_ASSERT_NEAR(r.added_w, 45, 1e-12);
    MS_ASSERT_NEAR(r.min_w, 90, 1e-12);
    MS_ASSERT_NEAR(r.peak_w, 100, 1e-12);
    MS_ASSERT_NEAR(r.ramp_max_w_per_s, 10, 1e-12);
    MS_ASSERT_NEAR(g[7], 90, 1e-12);
    /* A limit the load keeps already: the floor is its lowest point. */
    MS_ASSERT_NEAR(pmit_floor(SQUARE, 10, 1, 100, NULL, &r), 0, 1e-12);
    MS_ASSERT_NEAR(r.added_w, 0, 1e-12);
}

/* Fill falls 10 W a second after the top and rises 10 W a second before
 * it: 90, 80, 70, 80, 90 in the gap, 41 W added on average. */
static void test_fill(void)
{
    double g[10];
    pmit_result r;
    pmit_fill(SQUARE, 10, 1, 10, g, &r);
    static const double want[10] = {100, 100, 100, 100, 100, 90, 80, 70, 80, 90};
    for (int i = 0; i < 10; i++)
        MS_ASSERT_NEAR(g[i], want[i], 1e-12);
    MS_ASSERT_NEAR(r.added_w, 41, 1e-12);
    MS_ASSERT_NEAR(r.ramp_max_w_per_s, 10, 1e-12);
    MS_ASSERT_NEAR(r.min_w, 70, 1e-12);
}

/* Storage: forwards the follower climbs 10 W a second from 0 to 50 and
 * back; backwards from 100 to 50 and back; their mean is 55 W while the
 * load is on and 45 W while off (mean 50, no shift). The store gives
 * 45 W for 5 s and takes 45 W for 5 s: 225 J of swing. */
static void test_store(void)
{
    double g[10];
    pmit_result r;
    ms_err err = {0};
    CU_ASSERT_FATAL(pmit_store(SQUARE, 10, 1, 10, g, &r, &err) == MS_OK);
    for (int i = 0; i < 10; i++)
        MS_ASSERT_NEAR(g[i], i < 5 ? 55 : 45, 1e-9);
    MS_ASSERT_NEAR(r.mean_w, 50, 1e-9);
    MS_ASSERT_NEAR(r.peak_w, 55, 1e-9);
    MS_ASSERT_NEAR(r.store_j, 225, 1e-9);
    MS_ASSERT_NEAR(r.store_w, 45, 1e-9);
    MS_ASSERT_NEAR(r.discharged_w, 22.5, 1e-9);
    CU_ASSERT(r.ramp_max_w_per_s <= 10 + 1e-9);
    /* A looser limit needs a smaller store, a limit already kept none. */
    pmit_result loose;
    CU_ASSERT_FATAL(pmit_store(SQUARE, 10, 1, 40, g, &loose, &err) == MS_OK);
    CU_ASSERT(loose.store_j < r.store_j);
    CU_ASSERT(loose.ramp_max_w_per_s <= 40 + 1e-9);
    CU_ASSERT_FATAL(pmit_store(SQUARE, 10, 1, 100, g, &loose, &err) == MS_OK);
    MS_ASSERT_NEAR(loose.store_j, 0, 1e-9);
    MS_ASSERT_NEAR(loose.added_w, 0, 1e-9);
}

static CU_TestInfo tests[] = {
    {"steepest ramp, the wrap included", test_ramp},
    {"a power floor, by hand", test_floor},
    {"software fill, by hand", test_fill},
    {"storage, by hand", test_store},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "pmit", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_pmit");
}
