/* Tests of junc (src/job/junc): quantiles worked by hand, figures read from
 * a run's JSON at dotted paths, bands reported under their keys, and draws
 * of the calibration that repeat for a seed. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/jsonfile.h"
#include "job/junc.h"
#include "test_assert.h"
#include "test_calib.h"

/* Type 7: h = (n - 1) q, between the order statistics around h. */
static void test_quantile(void)
{
    static const struct {
        double v[6];
        size_t n;
        double q, want;
    } cases[] = {
        {{5, 1, 4, 2, 3}, 5, 0.1, 1.4},  /* h = 0.4: 1 + 0.4 x (2 - 1) */
        {{5, 1, 4, 2, 3}, 5, 0.5, 3},    /* h = 2 */
        {{5, 1, 4, 2, 3}, 5, 0.9, 4.6},  /* h = 3.6: 4 + 0.6 x (5 - 4) */
        {{10, 20}, 2, 0.1, 11},          /* h = 0.1 */
        {{10, 20}, 2, 0.9, 19},          /* h = 0.9 */
        {{7}, 1, 0.1, 7},                /* one draw is every quantile */
        {{7}, 1, 0.9, 7},                /* */
        {{3, 3, 3, 9, 9, 9}, 6, 0.5, 6}, /* h = 2.5: 3 + 0.5 x 6 */
        {{3, 3, 3, 9, 9, 9}, 6, 1, 9},   /* the largest */
        {{3, 3, 3, 9, 9, 9}, 6, 0, 3},   /* the smallest */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v[6];
        memcpy(v, cases[i].v, sizeof v);
        char what[64];
        snprintf(what, sizeof what, "case %zu, q %g", i, cases[i].q);
        MS_ASSERT_WITHIN_AS(what, junc_quantile(v, cases[i].n, cases[i].q), cases[i].want, 1e-12);
    }
}

static const junc_key keys[] = {
    {"step_time_s", NULL, "step time", "s"},
    {"server_search.output_tokens_per_s", "server_output_tokens_per_s", "server output",
     "tokens/s"},
    {"absent_s", NULL, "never there", "s"},
};

/* Five draws of a run whose step time is 1..5 s and whose server figure
 * is in a group; one draw without it. */
static junc *five_draws(void)
{
    junc *u = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(junc_new(keys, 3, 5, &u, &err) == MS_OK);
    for (size_t d = 0; d < 5; d++) {
        char text[200];
        if (d == 2)
            snprintf(text, sizeof text, "{\"step_time_s\": %zu}", d + 1);
        else
            snprintf(text, sizeof text,
                     "{\"step_time_s\": %zu, \"server_search\": {\"output_tokens_per_s\": %zu}}",
                     d + 1, 100 * (d + 1));
        cJSON *j = cJSON_Parse(text);
        CU_ASSERT_FATAL(j != NULL);
        junc_add(u, d, j);
        cJSON_Delete(j);
    }
    return u;
}

static void test_bands(void)
{
    junc *u = five_draws();
    double a, b, c;
    CU_ASSERT_EQUAL(junc_band(u, "step_time_s", &a, &b, &c), 5);
    MS_ASSERT_WITHIN(a, 1.4, 1e-12);
    MS_ASSERT_WITHIN(b, 3, 1e-12);
    MS_ASSERT_WITHIN(c, 4.6, 1e-12);
    /* 100, 200, 400, 500: h = 0.3, 1.5, 2.7. */
    CU_ASSERT_EQUAL(junc_band(u, "server_output_tokens_per_s", &a, &b, &c), 4);
    MS_ASSERT_WITHIN(a, 130, 1e-9);
    MS_ASSERT_WITHIN(b, 300, 1e-9);
    MS_ASSERT_WITHIN(c, 470, 1e-9);
    CU_ASSERT_EQUAL(junc_band(u, "absent_s", &a, &b, &c), 0);
    CU_ASSERT(isnan(a) && isnan(b) && isnan(c));
    CU_ASSERT_EQUAL(junc_band(u, "not_a_key", &a, &b, &c), 0);
    CU_ASSERT_EQUAL(junc_draws(u), 5);
    junc_free(u);
    junc_free(NULL);
}

/* The report: draws, seed and each band's three keys; none for a figure
 * no draw had. */
static void test_report(void)
{
    junc *u = five_draws();
    report *r = report_new();
    junc_report(u, 42, r);
    cJSON *j = report_json(r);
    CU_ASSERT_FATAL(j != NULL);
    MS_ASSERT_WITHIN(jsonfile_num_at(j, "uncertainty_draws"), 5, 0);
    MS_ASSERT_WITHIN(jsonfile_num_at(j, "uncertainty_seed"), 42, 0);
    MS_ASSERT_WITHIN(jsonfile_num_at(j, "step_time_s_p10"), 1.4, 1e-12);
    MS_ASSERT_WITHIN(jsonfile_num_at(j, "step_time_s_p50"), 3, 1e-12);
    MS_ASSERT_WITHIN(jsonfile_num_at(j, "step_time_s_p90"), 4.6, 1e-12);
    MS_ASSERT_WITHIN(jsonfile_num_at(j, "server_output_tokens_per_s_p90"), 470, 1e-9);
    CU_ASSERT(cJSON_GetObjectItem(j, "absent_s_p10") == NULL);
    CU_ASSERT(isnan(jsonfile_num_at(j, "step_time_s.p10")));
    cJSON_Delete(j);
    report_free(r);
    junc_free(u);
}

/* Draw d of a seed is the same whenever it is drawn; other draws and
 * other seeds differ. */
static void test_calib_draws(void)
{
    static const char text[] =
        "family,op_kind,precision,compute_eff,memory_eff,overhead_us,log_sd,measured_on,source\n"
        "hopper,gemm,bf16,0.5,,,0.2,X100,a\n";
    calib *cal = test_calib_text(text);
    ms_err err = {0};
    chip c = {.name = "X100", .family = "hopper"};
    double e[4];
    const struct {
        uint64_t seed;
        size_t d;
    } at[4] = {{1, 0}, {1, 3}, {1, 0}, {2, 0}};
    for (int i = 0; i < 4; i++) {
        calib *d = NULL;
        CU_ASSERT_FATAL(junc_calib(cal, at[i].seed, at[i].d, &d, &err) == MS_OK);
        e[i] = calib_eff(d, &c, "gemm", MS_BF16).compute;
        calib_free(d);
    }
    CU_ASSERT(e[0] == e[2]);
    CU_ASSERT(e[0] != e[1] && e[0] != e[3]);
    CU_ASSERT(e[0] > 0 && e[0] <= 1 && e[0] != 0.5);
    calib_free(cal);
}

/* The node power's draw: in [0, 1), the same for a seed and draw,
 * another for another draw or seed, and apart from the kernels' stream. */
static void test_power_draws(void)
{
    ms_err err = {0};
    double a = NAN, b = NAN, c = NAN, d = NAN;
    CU_ASSERT_FATAL(junc_power_u(1, 0, &a, &err) == MS_OK);
    CU_ASSERT_FATAL(junc_power_u(1, 0, &b, &err) == MS_OK);
    CU_ASSERT_FATAL(junc_power_u(1, 1, &c, &err) == MS_OK);
    CU_ASSERT_FATAL(junc_power_u(2, 0, &d, &err) == MS_OK);
    CU_ASSERT(a >= 0 && a < 1 && c >= 0 && c < 1 && d >= 0 && d < 1);
    CU_ASSERT(a == b && a != c && a != d);
    /* Over 2,000 draws, about uniform: mean 1/2, a quarter below 1/4. */
    double sum = 0;
    int low = 0;
    for (size_t i = 0; i < 2000; i++) {
        double u = NAN;
        CU_ASSERT_FATAL(junc_power_u(7, i, &u, &err) == MS_OK);
        sum += u;
        low += u < 0.25;
    }
    MS_ASSERT_WITHIN(sum / 2000, 0.5, 0.03);
    CU_ASSERT(low > 420 && low < 580);
}

static CU_TestInfo tests[] = {
    {"quantiles by hand", test_quantile},
    {"the node power's draws", test_power_draws},
    {"bands over draws, figures in groups, figures missing", test_bands},
    {"the bands in a report", test_report},
    {"drawn calibrations repeat for a seed", test_calib_draws},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "junc", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_junc");
}
