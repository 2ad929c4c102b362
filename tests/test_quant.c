/* Tests of src/core/quant: selection puts the k-th smallest in place,
 * and the quantiles equal GSL's on the sorted sample bit for bit, on
 * samples with many ties, sorted, reversed and tiny ones. */
#include <CUnit/Basic.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"

enum { MAXN = 2001 };

/* kind 0: uniform; 1: eight distinct values; 2: ascending; 3: descending;
 * 4: all equal. */
static void fill(double *a, size_t n, int kind, gsl_rng *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = kind == 0   ? gsl_rng_uniform(r) * 100
               : kind == 1 ? (double)gsl_rng_uniform_int(r, 8)
               : kind == 2 ? (double)i
               : kind == 3 ? (double)(n - i)
                           : 3.5;
}

static void test_select(void)
{
    static double a[MAXN], s[MAXN];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    for (int kind = 0; kind < 5; kind++)
        for (size_t n = 1; n < MAXN; n = n * 3 + 1)
            for (size_t k = 0; k < n; k += 1 + n / 7) {
                fill(a, n, kind, r);
                memcpy(s, a, n * sizeof *a);
                gsl_sort(s, 1, n);
                quant_select(a, n, k);
                int ok = a[k] == s[k];
                for (size_t i = 0; i < k; i++)
                    ok &= a[i] <= a[k];
                for (size_t i = k + 1; i < n; i++)
                    ok &= a[i] >= a[k];
                CU_ASSERT(ok);
                if (!ok)
                    fprintf(stderr, "    kind %d n %zu k %zu\n", kind, n, k);
            }
    gsl_rng_free(r);
}

static void test_quantiles(void)
{
    static double a[MAXN], s[MAXN];
    double f[] = {0, 0.5, 0.9, 0.99, 1, 0};
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    for (int trial = 0; trial < 500; trial++) {
        int kind = trial % 5;
        size_t n = 1 + gsl_rng_uniform_int(r, MAXN - 1);
        fill(a, n, kind, r);
        memcpy(s, a, n * sizeof *a);
        gsl_sort(s, 1, n);
        f[5] = gsl_rng_uniform(r); /* one at random, with a fresh cursor */
        size_t from = 0;
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
            if (i == 5)
                from = 0;
            double want = gsl_stats_quantile_from_sorted_data(s, 1, n, f[i]);
            double got = quant_at(a, n, f[i], &from);
            CU_ASSERT(got == want);
            if (got != want)
                fprintf(stderr, "    kind %d n %zu f %g: %.17g, GSL %.17g\n", kind, n, f[i], got,
                        want);
        }
        /* The sample is reordered, not changed. */
        gsl_sort(a, 1, n);
        CU_ASSERT(memcmp(a, s, n * sizeof *a) == 0);
    }
    gsl_rng_free(r);
}

static CU_TestInfo tests[] = {
    {"the k-th smallest in place, smaller before, larger after", test_select},
    {"quantiles equal GSL's on the sorted sample", test_quantiles},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "quant", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_quant");
}
