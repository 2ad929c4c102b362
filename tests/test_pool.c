/* Tests of the free-list pool (src/core/pool): the order slots are handed
 * out in (fresh 0, 1, 2 ..., then the last given back first), what a slot
 * holds when handed out, growth that keeps contents and indices, and that
 * a refused growth changes nothing. */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "test_assert.h"

/* A slot as the serving fleet's chains use one: a generation counted
 * across reuse, and a payload. */
typedef struct slot {
    uint32_t gen;
    uint32_t tag;
    double x;
} slot;

/* Hands out one slot of *a, failing the test if the pool refuses. */
static uint32_t get(pool *p, slot **a, size_t first)
{
    uint32_t id = UINT32_MAX;
    slot *g = pool_get(p, *a, first, sizeof *g, &id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    *a = g;
    CU_ASSERT_FATAL(id < p->n);
    return id;
}

/* Fresh slots come as 0, 1, 2 ... and are zero; the buffer grows by
 * doubling from first. */
static void test_fresh_in_order(void)
{
    static const struct {
        size_t count, first, cap;
    } cases[] = {
        {1, 4, 4}, {4, 4, 4}, {5, 4, 8}, {100, 4, 128}, {3, 1, 4}, {1024, 1024, 1024},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        pool p = {0};
        slot *a = NULL;
        for (size_t k = 0; k < cases[c].count; k++) {
            uint32_t id = get(&p, &a, cases[c].first);
            if (!MS_ASSERT_INT_EQ(id, k))
                fprintf(stderr, "    case %zu\n", c);
            MS_ASSERT_INT_EQ(a[id].gen, 0);
            MS_ASSERT_INT_EQ(a[id].tag, 0);
            MS_ASSERT_EXACT(a[id].x, 0.0);
            a[id].tag = (uint32_t)k + 1;
        }
        MS_ASSERT_INT_EQ(p.n, cases[c].count);
        if (!MS_ASSERT_INT_EQ(p.cap, cases[c].cap))
            fprintf(stderr, "    case %zu\n", c);
        MS_ASSERT_INT_EQ(p.nfree, 0);
        free(a);
        pool_free(&p);
    }
}

/* Given back, slots come out again last first, before any fresh slot,
 * holding what they held: a generation bumped on release survives. */
static void test_lifo_reuse(void)
{
    pool p = {0};
    slot *a = NULL;
    for (uint32_t k = 0; k < 6; k++) {
        uint32_t id = get(&p, &a, 4);
        a[id].gen = 1;
        a[id].tag = 100 + k;
    }
    static const uint32_t back[] = {2, 5, 0, 3};
    for (size_t i = 0; i < 4; i++) {
        a[back[i]].gen++;
        pool_put(&p, back[i]);
    }
    MS_ASSERT_INT_EQ(p.nfree, 4);
    static const uint32_t expect[] = {3, 0, 5, 2, 6, 7};
    for (size_t i = 0; i < 6; i++) {
        uint32_t id = get(&p, &a, 4);
        MS_ASSERT_INT_EQ(id, expect[i]);
        if (id < 6) {
            MS_ASSERT_INT_EQ(a[id].gen, 2);
            MS_ASSERT_INT_EQ(a[id].tag, 100 + id);
        } else {
            MS_ASSERT_INT_EQ(a[id].gen, 0); /* fresh once the given-back ones are used */
        }
    }
    /* Interleaved: one back, one out, again and again: always that one. */
    for (int r = 0; r < 5; r++) {
        pool_put(&p, 4);
        MS_ASSERT_INT_EQ(get(&p, &a, 4), 4);
    }
    MS_ASSERT_INT_EQ(p.n, 8);
    free(a);
    pool_free(&p);
}

/* Growth moves the buffer but keeps every slot's contents and index,
 * slots given back included, and the free order. */
static void test_growth_keeps_contents(void)
{
    pool p = {0};
    slot *a = NULL;
    for (uint32_t k = 0; k < 4; k++) {
        uint32_t id = get(&p, &a, 4); /* a moves: index it after the call */
        a[id].tag = k * k;
    }
    pool_put(&p, 1);
    pool_put(&p, 3);
    MS_ASSERT_INT_EQ(get(&p, &a, 4), 3);
    MS_ASSERT_INT_EQ(get(&p, &a, 4), 1);
    for (uint32_t k = 4; k < 1000; k++) {
        uint32_t id = get(&p, &a, 4);
        MS_ASSERT_INT_EQ(id, k);
        a[id].tag = k * k;
        a[id].x = k / 2.0;
    }
    MS_ASSERT_INT_EQ(p.cap, 1024);
    for (uint32_t k = 0; k < 1000; k++)
        if (!MS_ASSERT_INT_EQ(a[k].tag, k * k))
            break;
    for (uint32_t k = 4; k < 1000; k++)
        if (!MS_ASSERT_EXACT(a[k].x, k / 2.0))
            break;
    a[p.cap - 1].x = 1; /* the whole capacity is usable (ASan would say otherwise) */
    free(a);
    pool_free(&p);
}

/* A growth the pool refuses (here: past PTRDIFF_MAX bytes, checked before
 * any allocation) returns NULL and leaves the buffer, its contents and
 * the pool as they were; after it the pool works on. */
static void test_failure_changes_nothing(void)
{
    pool p = {0};
    slot *a = NULL;
    uint32_t id;
    for (uint32_t k = 0; k < 4; k++) {
        id = get(&p, &a, 4);
        a[id].tag = 7 * k;
    }
    pool_put(&p, 2);
    MS_ASSERT_INT_EQ(get(&p, &a, 4), 2); /* the stack is empty again, the pool full */
    pool before = p;
    /* Slots of a size that 8 of would pass PTRDIFF_MAX bytes: 4 fitted. */
    id = 12345;
    CU_ASSERT_PTR_NULL(pool_get(&p, a, 4, PTRDIFF_MAX / 4, &id));
    MS_ASSERT_INT_EQ(id, 12345);
    MS_ASSERT_INT_EQ(p.n, before.n);
    MS_ASSERT_INT_EQ(p.cap, before.cap);
    MS_ASSERT_INT_EQ(p.nfree, before.nfree);
    for (uint32_t k = 0; k < 4; k++)
        MS_ASSERT_INT_EQ(a[k].tag, 7 * k);
    /* And from nothing: 2 slots of more than PTRDIFF_MAX / 2 bytes. */
    pool q = {0};
    CU_ASSERT_PTR_NULL(pool_get(&q, NULL, 2, PTRDIFF_MAX / 2 + 1, &id));
    MS_ASSERT_INT_EQ(q.n, 0);
    MS_ASSERT_INT_EQ(q.cap, 0);
    pool_free(&q);
    /* The pool goes on: a slot given back, then fresh ones that grow it. */
    pool_put(&p, 0);
    MS_ASSERT_INT_EQ(get(&p, &a, 4), 0);
    MS_ASSERT_INT_EQ(get(&p, &a, 4), 4);
    MS_ASSERT_INT_EQ(p.cap, 8);
    for (uint32_t k = 0; k < 4; k++)
        MS_ASSERT_INT_EQ(a[k].tag, 7 * k);
    free(a);
    pool_free(&p);
}

/* Everything given back comes out again, in reverse order of giving back,
 * with no fresh slot and no growth; then fresh slots resume at n. */
static void test_free_all_and_again(void)
{
    pool p = {0};
    slot *a = NULL;
    for (int k = 0; k < 20; k++)
        get(&p, &a, 8);
    slot *held = a;
    for (uint32_t k = 0; k < 20; k++)
        pool_put(&p, k);
    MS_ASSERT_INT_EQ(p.nfree, 20);
    for (uint32_t k = 0; k < 20; k++)
        MS_ASSERT_INT_EQ(get(&p, &a, 8), 19 - k);
    CU_ASSERT_PTR_EQUAL(a, held); /* no growth while reusing */
    MS_ASSERT_INT_EQ(p.n, 20);
    MS_ASSERT_INT_EQ(p.cap, 32);
    MS_ASSERT_INT_EQ(get(&p, &a, 8), 20);
    free(a);
    /* pool_free empties it; an empty pool starts over at 0. */
    pool_free(&p);
    MS_ASSERT_INT_EQ(p.n, 0);
    CU_ASSERT_PTR_NULL(p.free);
    pool_free(&p);
    a = NULL;
    MS_ASSERT_INT_EQ(get(&p, &a, 8), 0);
    free(a);
    pool_free(&p);
}

static CU_TestInfo tests[] = {
    {"fresh slots 0, 1, 2 ..., zeroed", test_fresh_in_order},
    {"given back: reused last first, contents kept", test_lifo_reuse},
    {"growth keeps contents and indices", test_growth_keeps_contents},
    {"a failed growth changes nothing", test_failure_changes_nothing},
    {"free everything, hand out again", test_free_all_and_again},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "pool", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_pool");
}
