/* Tests of src/core/num: the one reader of numbers in text and the one
 * checked conversion of a double to int64, pinned case by case, the
 * forms strtod alone would take (hex, inf, nan, blanks) refused. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdint.h>

#include "core/num.h"
#include "test_assert.h"

static void test_parse(void)
{
    static const struct {
        const char *text;
        int ok;
        double value;
    } cases[] = {
        {"12", 1, 12},     {"-0.5", 1, -0.5}, {"+3", 1, 3},
        {".5", 1, 0.5},    {"5.", 1, 5},      {"3.35e12", 1, 3.35e12},
        {"1E-3", 1, 1e-3}, {"0", 1, 0},       {"", 0, 0},
        {"-", 0, 0},       {".", 0, 0},       {"e5", 0, 0},
        {"0x10", 0, 0},    {"inf", 0, 0},     {"-inf", 0, 0},
        {"nan", 0, 0},     {"NaN", 0, 0},     {" 1", 0, 0},
        {"1 ", 0, 0},      {"1e999", 0, 0},   {"1e", 0, 0},
        {"1,5", 0, 0},     {"1.2.3", 0, 0},   {"--1", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v = -777;
        int ok = MS_ASSERT_INT_EQ(num_parse(cases[i].text, &v) == 0, cases[i].ok);
        if (cases[i].ok)
            ok &= MS_ASSERT_NEAR(v, cases[i].value, 0);
        else
            ok &= MS_ASSERT_NEAR(v, -777, 0); /* untouched */
        if (!ok)
            fprintf(stderr, "    case \"%s\"\n", cases[i].text);
    }
    /* A prefix: the number and where it ends ("1GiB", "1e", "1.5x"). */
    double v;
    const char *end;
    CU_ASSERT(num_parse_prefix("64GiB", &v, &end) == 0 && v == 64 && *end == 'G');
    CU_ASSERT(num_parse_prefix("1e", &v, &end) == 0 && v == 1 && *end == 'e');
    CU_ASSERT(num_parse_prefix("0x10", &v, &end) == 0 && v == 0 && *end == 'x');
    CU_ASSERT(num_parse_prefix("x1", &v, &end) == -1);
    CU_ASSERT(num_parse_prefix(NULL, &v, &end) == -1);
}

static void test_parse_i64(void)
{
    static const struct {
        const char *text;
        int64_t min, max;
        int ok;
        int64_t value;
    } cases[] = {
        {"42", 0, 100, 1, 42},
        {"-3", -5, 5, 1, -3},
        {"1e6", 0, INT64_MAX, 1, 1000000},
        {"9223372036854775807", 0, INT64_MAX, 1, INT64_MAX}, /* exact, past 2^53 */
        {"9223372036854775808", 0, INT64_MAX, 0, 0},
        {"1e19", 0, INT64_MAX, 0, 0},
        {"1.5", 0, 10, 0, 0},
        {"101", 0, 100, 0, 0},
        {"-1", 0, 100, 0, 0},
        {"0x10", 0, 100, 0, 0},
        {"", 0, 100, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -777;
        int ok = MS_ASSERT_INT_EQ(num_parse_i64(cases[i].text, cases[i].min, cases[i].max, &v) == 0,
                                  cases[i].ok);
        ok &= MS_ASSERT_INT_EQ(v, cases[i].ok ? cases[i].value : -777);
        if (!ok)
            fprintf(stderr, "    case \"%s\"\n", cases[i].text);
    }
}

static void test_i64(void)
{
    static const struct {
        double x;
        int ok;
        int64_t value;
    } cases[] = {
        {0, 1, 0},
        {2.5, 1, 3}, /* half away from zero */
        {-2.5, 1, -3},
        {9.2e18, 1, INT64_C(9200000000000000000)},
        {-9223372036854775808.0, 1, INT64_MIN},
        {9223372036854775808.0, 0, 0}, /* 2^63 */
        {1e30, 0, 0},
        {-1e30, 0, 0},
        {INFINITY, 0, 0},
        {NAN, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -777;
        int ok = MS_ASSERT_INT_EQ(num_i64(cases[i].x, &v) == 0, cases[i].ok);
        ok &= MS_ASSERT_INT_EQ(num_fits_i64(cases[i].x), cases[i].ok);
        ok &= MS_ASSERT_INT_EQ(v, cases[i].ok ? cases[i].value : -777);
        if (!ok)
            fprintf(stderr, "    case %g\n", cases[i].x);
    }
}

static CU_TestInfo tests[] = {
    {"decimal numbers only, whole", test_parse},
    {"integers exact, in range", test_parse_i64},
    {"double to int64, checked", test_i64},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "num", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_num");
}
