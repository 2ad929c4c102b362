/* test_assert: the checks every CUnit suite shares. Each one records a
 * CUnit assertion (so the suite's counts and failure list see it) and, when
 * it fails, prints to stderr the file, line, the expression (or the label
 * the caller gave), the actual value and the expected one, so a failure
 * says what it got without a debugger. Each returns 1 when the check holds
 * and 0 when it fails, so a table loop can add the case's name:
 *
 *     if (!MS_ASSERT_NEAR(r.time_s, c->time_s, 1e-9))
 *         fprintf(stderr, "    case %s\n", c->what);
 *
 * Tolerances: NEAR is relative (|a - e| <= rel |e|), WITHIN absolute
 * (|a - e| <= tol), CLOSE passes under either (|a - e| <= max(tol, rel |e|)).
 * Equal values always pass (so an expected infinity can be met); a NaN on
 * either side never does. The _AS forms take a label in place of the
 * expression text. */
#ifndef MS_TEST_ASSERT_H
#define MS_TEST_ASSERT_H

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Room for the expression, the label and both values. */
#define MS_ASSERT_TEXT_MAX 1200

/* Marks text cut short by snprintf (n: what it would have written). */
static inline void ms_assert_cut(int n, char *text, size_t cap)
{
    if (n >= (int)cap)
        memcpy(text + cap - 4, "...", 4);
}

/* Records ok with CUnit under text, and prints text to stderr if !ok. */
static inline int ms_assert_record(int ok, const char *text, const char *file, int line)
{
    if (!ok)
        fprintf(stderr, "\n    %s:%d: %s\n", file, line, text);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, text, file, "", CU_FALSE);
    return ok;
}

/* |actual - expected| <= max(tol, rel * |expected|), or the two are equal. */
static inline int ms_close(double actual, double expected, double rel, double tol)
{
    if (actual == expected)
        return 1;
    double bound = rel * fabs(expected);
    if (!(bound >= tol)) /* also when rel * |expected| is NaN (0 * inf) */
        bound = tol;
    return fabs(actual - expected) <= bound;
}

static inline int ms_check_close(const char *check, const char *what, double actual,
                                 double expected, double rel, double tol, const char *file,
                                 int line)
{
    int ok = ms_close(actual, expected, rel, tol);
    char text[MS_ASSERT_TEXT_MAX];
    ms_assert_cut(snprintf(text, sizeof text,
                           "%s(%s): actual %.17g, expected %.17g (rel %g, abs %g)", check, what,
                           actual, expected, rel, tol),
                  text, sizeof text);
    return ms_assert_record(ok, text, file, line);
}

static inline int ms_check_int_eq(const char *what, long long actual, long long expected,
                                  const char *file, int line)
{
    char text[MS_ASSERT_TEXT_MAX];
    ms_assert_cut(snprintf(text, sizeof text, "MS_ASSERT_INT_EQ(%s): actual %lld, expected %lld",
                           what, actual, expected),
                  text, sizeof text);
    return ms_assert_record(actual == expected, text, file, line);
}

/* NULL strings never pass and print as (null). */
static inline int ms_check_str_eq(const char *what, const char *actual, const char *expected,
                                  const char *file, int line)
{
    int ok = actual && expected && strcmp(actual, expected) == 0;
    char text[MS_ASSERT_TEXT_MAX];
    ms_assert_cut(snprintf(text, sizeof text,
                           "MS_ASSERT_STR_EQ(%s): actual \"%s\", expected \"%s\"", what,
                           actual ? actual : "(null)", expected ? expected : "(null)"),
                  text, sizeof text);
    return ms_assert_record(ok, text, file, line);
}

static inline int ms_check_str_has(const char *what, const char *haystack, const char *needle,
                                   const char *file, int line)
{
    int ok = haystack && needle && strstr(haystack, needle) != NULL;
    char text[MS_ASSERT_TEXT_MAX];
    ms_assert_cut(snprintf(text, sizeof text,
                           "MS_ASSERT_STR_HAS(%s): actual \"%s\", expected to contain \"%s\"", what,
                           haystack ? haystack : "(null)", needle ? needle : "(null)"),
                  text, sizeof text);
    return ms_assert_record(ok, text, file, line);
}

/* Relative: |actual - expected| <= rel * |expected|. rel 0 is exact. */
#define MS_ASSERT_NEAR(actual, expected, rel)                                                      \
    ms_check_close("MS_ASSERT_NEAR", #actual ", " #expected, (actual), (expected), (rel), 0,       \
                   __FILE__, __LINE__)
#define MS_ASSERT_NEAR_AS(what, actual, expected, rel)                                             \
    ms_check_close("MS_ASSERT_NEAR", (what), (actual), (expected), (rel), 0, __FILE__, __LINE__)

/* Absolute: |actual - expected| <= tol. */
#define MS_ASSERT_WITHIN(actual, expected, tol)                                                    \
    ms_check_close("MS_ASSERT_WITHIN", #actual ", " #expected, (actual), (expected), 0, (tol),     \
                   __FILE__, __LINE__)
#define MS_ASSERT_WITHIN_AS(what, actual, expected, tol)                                           \
    ms_check_close("MS_ASSERT_WITHIN", (what), (actual), (expected), 0, (tol), __FILE__, __LINE__)

/* Either: |actual - expected| <= max(tol, rel * |expected|). */
#define MS_ASSERT_CLOSE(actual, expected, rel, tol)                                                \
    ms_check_close("MS_ASSERT_CLOSE", #actual ", " #expected, (actual), (expected), (rel), (tol),  \
                   __FILE__, __LINE__)

/* Exactly equal doubles (printed in full). */
#define MS_ASSERT_EXACT(actual, expected)                                                          \
    ms_check_close("MS_ASSERT_EXACT", #actual ", " #expected, (actual), (expected), 0, 0,          \
                   __FILE__, __LINE__)
#define MS_ASSERT_EXACT_AS(what, actual, expected)                                                 \
    ms_check_close("MS_ASSERT_EXACT", (what), (actual), (expected), 0, 0, __FILE__, __LINE__)

/* Equal integers (compared as long long). */
#define MS_ASSERT_INT_EQ(actual, expected)                                                         \
    ms_check_int_eq(#actual ", " #expected, (long long)(actual), (long long)(expected), __FILE__,  \
                    __LINE__)
#define MS_ASSERT_INT_EQ_AS(what, actual, expected)                                                \
    ms_check_int_eq((what), (long long)(actual), (long long)(expected), __FILE__, __LINE__)

/* Equal strings; haystack holds needle. */
#define MS_ASSERT_STR_EQ(actual, expected)                                                         \
    ms_check_str_eq(#actual ", " #expected, (actual), (expected), __FILE__, __LINE__)
#define MS_ASSERT_STR_HAS(haystack, needle)                                                        \
    ms_check_str_has(#haystack ", " #needle, (haystack), (needle), __FILE__, __LINE__)

#endif
