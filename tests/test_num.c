/* Tests of src/core/num: the one reader of numbers in text, pinned case
 * by case, the forms strtod alone would take (hex, inf, nan, blanks)
 * refused. */
#include <CUnit/Basic.h>
#include <math.h>

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

static CU_TestInfo tests[] = {
    {"decimal numbers only, whole", test_parse},
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
