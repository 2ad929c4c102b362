/* Tests of the growable-array helper (src/core/vec): the capacities it
 * grows to, that a failed growth changes nothing, and the zero- and
 * one-element edges. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/vec.h"

/* A buffer of exactly cap elements of elem bytes, made by vec_grow itself. */
static void *make(size_t *cap, size_t n, size_t elem)
{
    *cap = 0;
    void *p = vec_grow(NULL, cap, n, n, elem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(*cap, n);
    return p;
}

static void test_growth_sizes(void)
{
    static const struct {
        size_t cap, need, first, expect;
    } cases[] = {
        /* From nothing: first, doubled until need fits. */
        {0, 1, 16, 16},
        {0, 16, 16, 16},
        {0, 17, 16, 32},
        {0, 100, 16, 128},
        {0, 1, 1, 1},
        {0, 3, 1, 4},
        /* Room already: unchanged. */
        {16, 1, 16, 16},
        {16, 16, 64, 16},
        {1, 1, 1, 1},
        /* Doubling from the capacity held, whatever first says. */
        {16, 17, 64, 32},
        {16, 33, 64, 64},
        {16, 1000, 2, 1024},
        {24, 25, 16, 48},
        {1, 2, 1, 2},
        {2, 3, 1, 4},
        {1, 2, 1024, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t cap = 0;
        double *a = cases[i].cap ? make(&cap, cases[i].cap, sizeof *a) : NULL;
        double *g = vec_grow(a, &cap, cases[i].need, cases[i].first, sizeof *g);
        CU_ASSERT_PTR_NOT_NULL(g);
        if (cap != cases[i].expect)
            fprintf(stderr, "\ncase %zu: cap %zu need %zu first %zu: grew to %zu, expected %zu\n",
                    i, cases[i].cap, cases[i].need, cases[i].first, cap, cases[i].expect);
        CU_ASSERT_EQUAL(cap, cases[i].expect);
        if (cases[i].cap >= cases[i].need)
            CU_ASSERT_PTR_EQUAL(g, a); /* nothing to grow: the same buffer */
        if (g)
            g[cap - 1] = 1; /* the whole capacity is usable (ASan would say otherwise) */
        free(g ? g : a);
    }
}

/* Appending one at a time keeps what was written and doubles: 8, 16, 32, 64. */
static void test_appends_keep_contents(void)
{
    int *a = NULL;
    size_t n = 0, cap = 0, grew = 0, last = 0;
    for (int v = 0; v < 50; v++) {
        int *g = vec_grow(a, &cap, n + 1, 8, sizeof *g);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        a = g;
        a[n++] = v * v;
        if (cap != last) {
            grew++;
            last = cap;
        }
    }
    CU_ASSERT_EQUAL(cap, 64);
    CU_ASSERT_EQUAL(grew, 4);
    for (int v = 0; v < 50; v++)
        CU_ASSERT_EQUAL(a[v], v * v);
    free(a);
}

/* need 0 is need 1: a first growth still allocates, so success is never
 * NULL; with room it is the buffer itself. */
static void test_zero_and_one(void)
{
    size_t cap = 0;
    char *a = vec_grow(NULL, &cap, 0, 4, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(cap, 4);
    CU_ASSERT_PTR_EQUAL(vec_grow(a, &cap, 0, 4, 1), a);
    CU_ASSERT_EQUAL(cap, 4);
    free(a);

    /* One element of one byte, then a second. */
    cap = 0;
    a = vec_grow(NULL, &cap, 1, 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(cap, 1);
    a[0] = 'x';
    char *g = vec_grow(a, &cap, 2, 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(cap, 2);
    CU_ASSERT_EQUAL(g[0], 'x');
    free(g);
}

/* Sizes past PTRDIFF_MAX bytes (and doublings past SIZE_MAX) fail before
 * any allocation is tried: NULL, the buffer untouched and still the
 * caller's, the capacity unchanged. */
static void test_failure_changes_nothing(void)
{
    static const struct {
        size_t need, first, elem;
    } cases[] = {
        {PTRDIFF_MAX / 8 + 1, 4, 8}, /* need * elem passes PTRDIFF_MAX */
        {SIZE_MAX, 4, 8},            /* doubling would wrap */
        {SIZE_MAX, 4, 1},
        {(size_t)PTRDIFF_MAX + 1, 4, 1},
        {PTRDIFF_MAX / 64 + 1, 4, 64},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t elem = cases[i].elem, cap;
        unsigned char *a = make(&cap, 4, elem);
        for (size_t k = 0; k < 4 * elem; k++)
            a[k] = (unsigned char)k;
        CU_ASSERT_PTR_NULL(vec_grow(a, &cap, cases[i].need, cases[i].first, elem));
        CU_ASSERT_EQUAL(cap, 4);
        for (size_t k = 0; k < 4 * elem; k++)
            CU_ASSERT_EQUAL(a[k], (unsigned char)k);
        /* From nothing as well. */
        size_t zero = 0;
        CU_ASSERT_PTR_NULL(vec_grow(NULL, &zero, cases[i].need, cases[i].first, elem));
        CU_ASSERT_EQUAL(zero, 0);
        /* And the buffer still grows normally afterwards. */
        unsigned char *g = vec_grow(a, &cap, 5, 4, elem);
        CU_ASSERT_PTR_NOT_NULL(g);
        CU_ASSERT_EQUAL(cap, 8);
        free(g ? g : a);
    }
}

static CU_TestInfo tests[] = {
    {"growth sizes", test_growth_sizes},
    {"appends keep contents and double", test_appends_keep_contents},
    {"zero and one element", test_zero_and_one},
    {"a failed growth changes nothing", test_failure_changes_nothing},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "vec", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_vec");
}
