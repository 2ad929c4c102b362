/* Tests of the paged KV-cache pool (src/serve/kvc): blocks never go over
 * capacity, a refused allocation takes nothing, the books balance, and
 * the time-weighted occupancy is the integral it should be. */
#include <CUnit/Basic.h>

#include "serve/kvc.h"
#include "test_assert.h"

static void test_blocks_for(void)
{
    static const struct {
        int64_t tokens, block, blocks;
    } cases[] = {{0, 16, 0},  {1, 16, 1},  {16, 16, 1},    {17, 16, 2},
                 {64, 64, 1}, {65, 64, 2}, {1000, 1, 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = kvc_blocks_for(cases[i].tokens, cases[i].block);
        if (got != cases[i].blocks)
            printf("\n  %lld tokens in blocks of %lld: got %lld, expected %lld\n",
                   (long long)cases[i].tokens, (long long)cases[i].block, (long long)got,
                   (long long)cases[i].blocks);
        CU_ASSERT_EQUAL(got, cases[i].blocks);
    }
}

static void test_capacity(void)
{
    kvc k;
    kvc_init(&k, 10);
    CU_ASSERT_EQUAL(kvc_free_blocks(&k), 10);
    CU_ASSERT(kvc_alloc(&k, 6, 0));
    CU_ASSERT(!kvc_alloc(&k, 5, 1)); /* refused: takes nothing */
    CU_ASSERT_EQUAL(k.used, 6);
    CU_ASSERT_EQUAL(k.allocated, 6);
    CU_ASSERT(kvc_alloc(&k, 4, 1));
    CU_ASSERT_EQUAL(kvc_free_blocks(&k), 0);
    CU_ASSERT(!kvc_alloc(&k, 1, 2));
    CU_ASSERT(kvc_alloc(&k, 0, 2)); /* nothing is always there */
    kvc_free(&k, 7, 3);
    CU_ASSERT_EQUAL(k.used, 3);
    CU_ASSERT_EQUAL(k.peak, 10);
    kvc_free(&k, 3, 4);
    CU_ASSERT_EQUAL(k.allocated, k.freed);
    CU_ASSERT_EQUAL(k.allocated, 10);
    CU_ASSERT(k.peak <= k.capacity);
}

static void test_mean_used(void)
{
    kvc k;
    kvc_init(&k, 100);
    MS_ASSERT_EXACT(kvc_mean_used(&k, 0), 0);
    kvc_alloc(&k, 10, 1.0); /* 0 for 1 s, 10 for 2 s, 4 for 1 s: 24 block-s over 4 s */
    kvc_free(&k, 6, 3.0);
    MS_ASSERT_WITHIN(kvc_mean_used(&k, 4.0), 24.0 / 4, 1e-12);
    kvc_free(&k, 4, 4.0);
    MS_ASSERT_WITHIN(kvc_mean_used(&k, 8.0), 24.0 / 8, 1e-12);
}

/* A random walk of allocations and frees: the books always balance. */
static void test_random_walk(void)
{
    kvc k;
    kvc_init(&k, 37);
    uint64_t x = 12345;
    int64_t held = 0;
    for (int i = 0; i < 10000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t n = (int64_t)(x >> 59); /* 0 .. 31 */
        if ((x >> 40) & 1) {
            int ok = kvc_alloc(&k, n, i);
            CU_ASSERT_EQUAL(ok, n <= 37 - held);
            held += ok ? n : 0;
        } else {
            int64_t f = n < held ? n : held;
            kvc_free(&k, f, i);
            held -= f;
        }
        CU_ASSERT_EQUAL(k.used, held);
        CU_ASSERT(k.used <= k.capacity);
        CU_ASSERT_EQUAL(k.allocated - k.freed, held);
    }
}

static CU_TestInfo tests[] = {
    {"blocks for tokens", test_blocks_for},
    {"capacity never exceeded, refusal takes nothing", test_capacity},
    {"time-weighted occupancy", test_mean_used},
    {"random walk keeps the books", test_random_walk},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "kvc", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_kvc");
}
