/* Tests of max-min fair sharing (src/net/flow) on hand-solved cases, and
 * of flows on the engine: rates recomputed when a flow starts or ends. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>

#include "core/sim.h"
#include "net/flow.h"
#include "test_assert.h"

static void test_maxmin_cases(void)
{
    static const struct {
        const char *what;
        double cap[4];
        size_t nlinks;
        int32_t path[8];
        size_t off[6];
        size_t nflows;
        double expect[5];
    } cases[] = {
        /* B is held to 4 by link 1; A takes what B leaves of link 0. */
        {"bottleneck elsewhere", {10, 4}, 2, {0, 0, 1}, {0, 1, 3}, 2, {6, 4}},
        /* Every link shared by two flows: all get half. */
        {"parking lot", {1, 1, 1}, 3, {0, 1, 2, 0, 1, 2}, {0, 3, 4, 5, 6}, 4, {0.5, 0.5, 0.5, 0.5}},
        /* Flow 2 held to 0.1 by link 1; the others split the 0.9 left. */
        {"one slow path", {1, 0.1}, 2, {0, 0, 0, 1}, {0, 1, 2, 4}, 3, {0.45, 0.45, 0.1}},
        /* A local copy crosses no link. */
        {"no links", {1}, 1, {0}, {0, 0, 1}, 2, {INFINITY, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double rates[5];
        ms_err err = {0};
        CU_ASSERT_FATAL(flow_maxmin(cases[i].cap, cases[i].nlinks, cases[i].path, cases[i].off,
                                    cases[i].nflows, rates, &err) == MS_OK);
        for (size_t f = 0; f < cases[i].nflows; f++) {
            /* An infinite rate (no link crossed) is met only by itself. */
            if (!MS_ASSERT_CLOSE(rates[f], cases[i].expect[f], 1e-9, 1e-9))
                fprintf(stderr, "    case %s: flow %zu\n", cases[i].what, f);
        }
    }
}

typedef struct done_log {
    double t[4];
    int n;
} done_log;

static void record(sim *s, void *ctx, int64_t id)
{
    done_log *l = ctx;
    if (id >= 0 && id < 4)
        l->t[id] = sim_time_to_s(sim_now(s));
    l->n++;
}

/* 1 GB and 2 GB on one 1 GB/s link: both at 0.5 GB/s until the first is
 * done at 2 s, then the second alone at 1 GB/s: done at 3 s. A third flow
 * with 1 us of latency on another link is not slowed. */
static void test_engine_rates(void)
{
    sim *s;
    flow_net *n;
    ms_err err = {0};
    double cap[2] = {1e9, 1e9};
    CU_ASSERT_FATAL(sim_new(&s, &err) == MS_OK);
    CU_ASSERT_FATAL(flow_net_new(s, cap, 2, &n, &err) == MS_OK);
    done_log l = {{0}, 0};
    int32_t p0[] = {0}, p1[] = {1};
    CU_ASSERT(flow_start(n, p0, 1, 1e9, 0, record, &l) == 0);
    CU_ASSERT(flow_start(n, p0, 1, 2e9, 0, record, &l) == 1);
    CU_ASSERT(flow_start(n, p1, 1, 1e9, 1e-6, record, &l) == 2);
    MS_ASSERT_CLOSE(flow_rate(n, 0), 0.5e9, 1e-9, 1e-9);
    MS_ASSERT_CLOSE(flow_rate(n, 1), 0.5e9, 1e-9, 1e-9);
    CU_ASSERT(flow_rate(n, 2) == 0); /* still waiting out its latency */
    CU_ASSERT_FATAL(sim_run(s, &err) == MS_OK);
    CU_ASSERT_EQUAL(l.n, 3);
    MS_ASSERT_WITHIN(l.t[0], 2.0, 1e-9);
    MS_ASSERT_WITHIN(l.t[1], 3.0, 1e-9);
    MS_ASSERT_WITHIN(l.t[2], 1.000001, 1e-9);
    CU_ASSERT_EQUAL(flow_active(n), 0);
    CU_ASSERT_EQUAL(flow_net_error(n, &err), MS_OK);
    flow_net_free(n);
    sim_free(s);
}

static void test_bad_capacity(void)
{
    sim *s;
    flow_net *n = (flow_net *)1;
    ms_err err = {0};
    double cap[2] = {1e9, 0};
    CU_ASSERT_FATAL(sim_new(&s, &err) == MS_OK);
    CU_ASSERT_EQUAL(flow_net_new(s, cap, 2, &n, &err), MS_EINVAL);
    CU_ASSERT(n == NULL);
    sim_free(s);
}

static CU_TestInfo tests[] = {
    {"max-min on hand-solved cases", test_maxmin_cases},
    {"rates recomputed on the engine", test_engine_rates},
    {"a zero bandwidth is refused", test_bad_capacity},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "flow", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_flow");
}
