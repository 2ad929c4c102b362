/* Tests of the engine (src/core/sim) and the random streams (src/core/rng):
 * execution order against sorted references and a naive reference queue,
 * ties (also scheduled at different moments), scheduling and cancelling
 * from handlers, run_until, stop, running out of memory at each allocation
 * in turn, determinism, time conversion, and the rng's reproducibility and
 * rough distributions. */
#include <CUnit/Basic.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/sim.h"
#include "test_assert.h"

/* ---- helpers --------------------------------------------------------------- */

/* What ran: one (time, tag) per event, in execution order. */
typedef struct rec {
    sim_time t;
    uint64_t tag;
} rec;

typedef struct trace {
    rec *v;
    size_t n, cap;
} trace;

static void trace_push(trace *tr, sim_time t, uint64_t tag)
{
    if (tr->n == tr->cap) {
        tr->cap = tr->cap ? 2 * tr->cap : 256;
        tr->v = realloc(tr->v, tr->cap * sizeof *tr->v);
        CU_ASSERT_FATAL(tr->v != NULL);
    }
    tr->v[tr->n++] = (rec){t, tag};
}

/* Compares two traces; on the first difference prints the case name and
 * both sides. */
static void check_traces_equal(const char *name, const trace *actual, const trace *expected)
{
    if (actual->n != expected->n)
        printf("\n    %s: %zu events ran, expected %zu\n", name, actual->n, expected->n);
    CU_ASSERT(actual->n == expected->n);
    size_t n = actual->n < expected->n ? actual->n : expected->n;
    for (size_t i = 0; i < n; i++) {
        if (actual->v[i].t != expected->v[i].t || actual->v[i].tag != expected->v[i].tag) {
            printf("\n    %s: event %zu ran (t=%" PRId64 ", tag=%" PRIu64 "), expected (t=%" PRId64
                   ", tag=%" PRIu64 ")\n",
                   name, i, actual->v[i].t, actual->v[i].tag, expected->v[i].t, expected->v[i].tag);
            CU_FAIL("traces differ");
            return;
        }
    }
}

static bool traces_equal(const trace *a, const trace *b)
{
    return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof *a->v) == 0;
}

/* The handler most tests use: appends (now, p.u64[0]) to the trace in ctx. */
static void record(sim *s, void *ctx, sim_payload p)
{
    trace_push(ctx, sim_now(s), p.u64[0]);
}

static sim_payload tag(uint64_t t)
{
    return (sim_payload){.u64 = {t, 0}};
}

static sim *new_sim(void)
{
    sim *s = NULL;
    ms_err err = {0};
    int rc = sim_new(&s, &err);
    if (rc)
        printf("\n    sim_new: %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    return s;
}

static rng *new_rng(uint64_t seed, uint64_t stream)
{
    rng *r = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new_stream(&r, seed, stream, &err) == MS_OK);
    return r;
}

static void run_ok(sim *s)
{
    ms_err err = {0};
    int rc = sim_run(s, &err);
    if (rc)
        printf("\n    sim_run: %s\n", err.msg);
    CU_ASSERT(rc == MS_OK);
}

static void run_until_ok(sim *s, sim_time t_end)
{
    ms_err err = {0};
    int rc = sim_run_until(s, t_end, &err);
    if (rc)
        printf("\n    sim_run_until: %s\n", err.msg);
    CU_ASSERT(rc == MS_OK);
}

static int cmp_rec(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->tag < y->tag ? -1 : x->tag > y->tag;
}

/* ---- order ------------------------------------------------------------------ */

/* Thousands of events at random times, many tied, scheduled before the run:
 * they must run sorted by (time, insertion index). */
static void test_random_order(void)
{
    static const struct {
        const char *name;
        size_t n;
        uint64_t range; /* times drawn in [0, range) ps: small ranges tie a lot */
    } cases[] = {
        {"5000 events, few ties", 5000, UINT64_C(1) << 40},
        {"5000 events, many ties", 5000, 100},
        {"20000 events, all tied", 20000, 1},
        {"100000 events", 100000, 1000000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sim *s = new_sim();
        rng *r = new_rng(7, c);
        trace ran = {0}, ref = {0};
        for (size_t i = 0; i < cases[c].n; i++) {
            sim_time t = (sim_time)rng_below(r, cases[c].range);
            CU_ASSERT(!sim_event_is_none(sim_at(s, t, record, &ran, tag(i))));
            trace_push(&ref, t, i);
        }
        qsort(ref.v, ref.n, sizeof *ref.v, cmp_rec);
        MS_ASSERT_INT_EQ(sim_pending(s), cases[c].n);
        run_ok(s);
        check_traces_equal(cases[c].name, &ran, &ref);
        MS_ASSERT_INT_EQ(sim_pending(s), 0);
        MS_ASSERT_INT_EQ(sim_events_run(s), cases[c].n);
        MS_ASSERT_INT_EQ(sim_now(s), ref.v[ref.n - 1].t);
        free(ran.v);
        free(ref.v);
        rng_free(r);
        sim_free(s);
    }
}

/* Small hand-written cases: ties run in insertion order. */
static void test_ties(void)
{
    enum { MAXN = 8 };
    static const struct {
        const char *name;
        size_t n;
        sim_time t[MAXN];
        uint64_t order[MAXN]; /* insertion indices in expected run order */
    } cases[] = {
        {"one event", 1, {5}, {0}},
        {"all equal", 5, {7, 7, 7, 7, 7}, {0, 1, 2, 3, 4}},
        {"all at zero", 3, {0, 0, 0}, {0, 1, 2}},
        {"descending", 4, {4, 3, 2, 1}, {3, 2, 1, 0}},
        {"interleaved ties", 6, {3, 1, 3, 1, 2, 3}, {1, 3, 4, 0, 2, 5}},
        {"ties at the end", 5, {9, 1, 9, 9, 1}, {1, 4, 0, 2, 3}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sim *s = new_sim();
        trace ran = {0}, ref = {0};
        for (size_t i = 0; i < cases[c].n; i++)
            sim_at(s, cases[c].t[i], record, &ran, tag(i));
        for (size_t i = 0; i < cases[c].n; i++)
            trace_push(&ref, cases[c].t[cases[c].order[i]], cases[c].order[i]);
        run_ok(s);
        check_traces_equal(cases[c].name, &ran, &ref);
        free(ran.v);
        free(ref.v);
        sim_free(s);
    }
}

/* A handler that schedules more events at the current time. Tags are
 * letters; 'A' spawns 'D' (sim_at now) and 'E' (sim_after 0), 'D' spawns 'F'
 * at now and 'G' one picosecond later. */
static void spawner(sim *s, void *ctx, sim_payload p)
{
    record(s, ctx, p);
    switch (p.u64[0]) {
    case 'A':
        sim_at(s, sim_now(s), spawner, ctx, tag('D'));
        sim_after(s, 0, spawner, ctx, tag('E'));
        break;
    case 'D':
        sim_at(s, sim_now(s), spawner, ctx, tag('F'));
        sim_after(s, 1, spawner, ctx, tag('G'));
        break;
    }
}

static void test_schedule_from_handler(void)
{
    sim *s = new_sim();
    trace ran = {0}, ref = {0};
    sim_at(s, 10, spawner, &ran, tag('A'));
    sim_at(s, 10, spawner, &ran, tag('B'));
    sim_at(s, 11, spawner, &ran, tag('H'));
    sim_at(s, 10, spawner, &ran, tag('C'));
    run_ok(s);
    /* Same-time events made in handlers run after every earlier-scheduled
     * event at that time, in the order they were made. */
    const rec want[] = {{10, 'A'}, {10, 'B'}, {10, 'C'}, {10, 'D'},
                        {10, 'E'}, {10, 'F'}, {11, 'H'}, {11, 'G'}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        trace_push(&ref, want[i].t, want[i].tag);
    check_traces_equal(__func__, &ran, &ref);
    free(ran.v);
    free(ref.v);
    sim_free(s);
}

/* ---- cancel ----------------------------------------------------------------- */

static void test_cancel(void)
{
    sim *s = new_sim();
    trace ran = {0};
    sim_event_id a = sim_at(s, 10, record, &ran, tag(1));
    sim_event_id b = sim_at(s, 20, record, &ran, tag(2));
    sim_event_id c = sim_at(s, 30, record, &ran, tag(3));
    CU_ASSERT(!sim_event_is_none(a) && !sim_event_is_none(b) && !sim_event_is_none(c));
    MS_ASSERT_INT_EQ(sim_pending(s), 3);

    CU_ASSERT(sim_cancel(s, b) == true); /* pending */
    MS_ASSERT_INT_EQ(sim_pending(s), 2);
    CU_ASSERT(sim_cancel(s, b) == false); /* already cancelled */
    MS_ASSERT_INT_EQ(sim_pending(s), 2);
    CU_ASSERT(sim_cancel(s, SIM_EVENT_NONE) == false);
    CU_ASSERT(sim_cancel(s, (sim_event_id){.slot = 1000000, .gen = 1}) == false);

    run_ok(s);
    MS_ASSERT_INT_EQ(ran.n, 2);
    MS_ASSERT_INT_EQ(ran.v[0].tag, 1);
    MS_ASSERT_INT_EQ(ran.v[1].tag, 3);
    MS_ASSERT_INT_EQ(sim_events_run(s), 2);
    MS_ASSERT_INT_EQ(sim_pending(s), 0);
    CU_ASSERT(sim_cancel(s, a) == false); /* already ran */
    CU_ASSERT(sim_cancel(s, c) == false);

    /* A stale id must not cancel the event that recycled its slot. */
    sim_event_id d = sim_at(s, 40, record, &ran, tag(4));
    CU_ASSERT(d.slot == c.slot || d.slot == b.slot || d.slot == a.slot); /* recycled */
    CU_ASSERT(sim_cancel(s, a) == false);
    CU_ASSERT(sim_cancel(s, b) == false);
    CU_ASSERT(sim_cancel(s, c) == false);
    MS_ASSERT_INT_EQ(sim_pending(s), 1);
    run_ok(s);
    MS_ASSERT_INT_EQ(ran.n, 3);
    MS_ASSERT_INT_EQ(ran.v[2].tag, 4);

    /* A cancelled event last in the queue does not move the clock, and
     * events can still be scheduled between now and its time. */
    sim_event_id late = sim_at(s, 100, record, &ran, tag(5));
    sim_at(s, 50, record, &ran, tag(6));
    CU_ASSERT(sim_cancel(s, late));
    run_ok(s);
    MS_ASSERT_INT_EQ(sim_now(s), 50);
    sim_at(s, 60, record, &ran, tag(7));
    sim_at(s, 55, record, &ran, tag(8));
    run_ok(s);
    MS_ASSERT_INT_EQ(ran.n, 6);
    MS_ASSERT_INT_EQ(ran.v[4].tag, 8);
    MS_ASSERT_INT_EQ(ran.v[5].tag, 7);
    MS_ASSERT_INT_EQ(sim_now(s), 60);
    free(ran.v);
    sim_free(s);
}

/* Handlers that cancel: 'x' cancels the id in ctx->victim; 's' tries to
 * cancel its own (running) event. */
typedef struct cancel_ctx {
    trace tr;
    sim_event_id victim, self;
    int results[4];
    int nresults;
} cancel_ctx;

static void canceller(sim *s, void *ctx, sim_payload p)
{
    cancel_ctx *cc = ctx;
    trace_push(&cc->tr, sim_now(s), p.u64[0]);
    if (p.u64[0] == 'x')
        cc->results[cc->nresults++] = sim_cancel(s, cc->victim);
    if (p.u64[0] == 's')
        cc->results[cc->nresults++] = sim_cancel(s, cc->self);
}

static void test_cancel_from_handler(void)
{
    sim *s = new_sim();
    cancel_ctx cc = {0};
    sim_at(s, 5, canceller, &cc, tag('x'));
    cc.victim = sim_at(s, 5, canceller, &cc, tag('v')); /* same time, after x */
    cc.self = sim_at(s, 6, canceller, &cc, tag('s'));
    sim_at(s, 7, canceller, &cc, tag('x')); /* victim already cancelled */
    run_ok(s);
    MS_ASSERT_INT_EQ(cc.tr.n, 3);
    MS_ASSERT_INT_EQ(cc.tr.v[0].tag, 'x');
    MS_ASSERT_INT_EQ(cc.tr.v[1].tag, 's');
    MS_ASSERT_INT_EQ(cc.tr.v[2].tag, 'x');
    MS_ASSERT_INT_EQ(cc.nresults, 3);
    MS_ASSERT_INT_EQ(cc.results[0], 1); /* pending: cancelled */
    MS_ASSERT_INT_EQ(cc.results[1], 0); /* an event cannot cancel itself */
    MS_ASSERT_INT_EQ(cc.results[2], 0); /* double cancel */
    MS_ASSERT_INT_EQ(sim_pending(s), 0);
    free(cc.tr.v);
    sim_free(s);
}

/* Cancel most of many events, enough to make the queue compact away its
 * tombstones several times; the survivors still run in order. */
static void test_cancel_many(void)
{
    enum { N = 20000 };
    sim *s = new_sim();
    rng *r = new_rng(11, 0);
    trace ran = {0}, ref = {0};
    sim_event_id *ids = malloc(N * sizeof *ids);
    sim_time *t = malloc(N * sizeof *t);
    bool *gone = calloc(N, sizeof *gone);
    CU_ASSERT_FATAL(ids && t && gone);
    for (size_t i = 0; i < N; i++) {
        t[i] = (sim_time)rng_below(r, 5000);
        ids[i] = sim_at(s, t[i], record, &ran, tag(i));
    }
    size_t cancelled = 0;
    for (size_t k = 0; k < 3 * N; k++) { /* many repeats: double cancels too */
        size_t i = rng_below(r, N);
        bool want = !gone[i] && cancelled < N - 500;
        if (!want && !gone[i])
            continue;
        CU_ASSERT(sim_cancel(s, ids[i]) == want);
        if (want) {
            gone[i] = true;
            cancelled++;
        }
    }
    MS_ASSERT_INT_EQ(sim_pending(s), N - cancelled);
    for (size_t i = 0; i < N; i++)
        if (!gone[i])
            trace_push(&ref, t[i], i);
    qsort(ref.v, ref.n, sizeof *ref.v, cmp_rec);
    run_ok(s);
    check_traces_equal(__func__, &ran, &ref);
    MS_ASSERT_INT_EQ(sim_events_run(s), N - cancelled);
    free(ids);
    free(t);
    free(gone);
    free(ran.v);
    free(ref.v);
    rng_free(r);
    sim_free(s);
}

/* Compaction while the current time step is half run: tag 5 of 3000 events
 * at t=10 cancels 2000 of the rest. The survivors run once each, and the
 * slots the compaction frees are handed out once each (2100 new events
 * get 2100 distinct ids). */
typedef struct midstep_ctx {
    trace tr;
    sim_event_id ids[3000];
    sim_event_id fresh[2100];
} midstep_ctx;

static int cmp_id(const void *a, const void *b)
{
    const sim_event_id *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return x->gen < y->gen ? -1 : x->gen > y->gen;
}

static void midstep(sim *s, void *ctx, sim_payload p)
{
    midstep_ctx *mc = ctx;
    trace_push(&mc->tr, sim_now(s), p.u64[0]);
    if (p.u64[0] != 5)
        return;
    int cancelled = 0;
    for (int i = 1000; i < 3000; i++)
        cancelled += sim_cancel(s, mc->ids[i]);
    MS_ASSERT_INT_EQ(cancelled, 2000);
    for (int i = 0; i < 2100; i++)
        mc->fresh[i] = sim_at(s, 20, record, &mc->tr, tag(10000 + (uint64_t)i));
}

static void test_compact_mid_step(void)
{
    sim *s = new_sim();
    midstep_ctx *mc = calloc(1, sizeof *mc);
    CU_ASSERT_FATAL(mc != NULL);
    for (uint64_t i = 0; i < 3000; i++)
        mc->ids[i] = sim_at(s, 10, midstep, mc, tag(i));
    run_ok(s);
    MS_ASSERT_INT_EQ(mc->tr.n, 1000 + 2100);
    for (size_t i = 0; i < mc->tr.n; i++) {
        uint64_t want = i < 1000 ? i : 10000 + (i - 1000);
        if (mc->tr.v[i].tag != want) {
            printf("\n    event %zu: tag %" PRIu64 ", expected %" PRIu64 "\n", i, mc->tr.v[i].tag,
                   want);
            CU_FAIL("wrong event");
            break;
        }
    }
    qsort(mc->fresh, 2100, sizeof *mc->fresh, cmp_id);
    int dups = 0;
    for (int i = 1; i < 2100; i++)
        dups += cmp_id(&mc->fresh[i - 1], &mc->fresh[i]) == 0;
    MS_ASSERT_INT_EQ(dups, 0);
    free(mc->tr.v);
    free(mc);
    sim_free(s);
}

/* ---- run_until and stop ----------------------------------------------------- */

static void test_run_until(void)
{
    sim *s = new_sim();
    trace ran = {0};
    sim_at(s, 10, record, &ran, tag(1));
    sim_at(s, 20, record, &ran, tag(2));
    sim_at(s, 30, record, &ran, tag(3));

    run_until_ok(s, 20); /* an event exactly at t_end runs */
    MS_ASSERT_INT_EQ(ran.n, 2);
    MS_ASSERT_INT_EQ(sim_now(s), 20);
    MS_ASSERT_INT_EQ(sim_pending(s), 1);

    run_until_ok(s, 25); /* nothing due: only the clock moves */
    MS_ASSERT_INT_EQ(ran.n, 2);
    MS_ASSERT_INT_EQ(sim_now(s), 25);

    sim_at(s, 25, record, &ran, tag(4)); /* at the new now is allowed */
    run_ok(s);
    MS_ASSERT_INT_EQ(ran.n, 4);
    MS_ASSERT_INT_EQ(ran.v[2].tag, 4);
    MS_ASSERT_INT_EQ(ran.v[3].tag, 3);
    MS_ASSERT_INT_EQ(sim_now(s), 30);

    run_until_ok(s, 1000); /* empty queue: the clock still moves */
    MS_ASSERT_INT_EQ(sim_now(s), 1000);
    MS_ASSERT_INT_EQ(sim_events_run(s), 4);
    free(ran.v);
    sim_free(s);
}

/* Records, and stops the run at tag 's'. */
static void stopper(sim *s, void *ctx, sim_payload p)
{
    record(s, ctx, p);
    if (p.u64[0] == 's')
        sim_stop(s);
}

static void test_stop(void)
{
    sim *s = new_sim();
    trace ran = {0};
    sim_stop(s); /* outside a run: no effect */
    sim_at(s, 10, stopper, &ran, tag('a'));
    sim_at(s, 20, stopper, &ran, tag('s'));
    sim_at(s, 20, stopper, &ran, tag('b'));
    sim_at(s, 30, stopper, &ran, tag('s'));
    sim_at(s, 40, stopper, &ran, tag('c'));

    run_ok(s);
    MS_ASSERT_INT_EQ(ran.n, 2);
    MS_ASSERT_INT_EQ(sim_now(s), 20);
    MS_ASSERT_INT_EQ(sim_pending(s), 3);

    run_until_ok(s, 100); /* stopped again at 30: the clock stays there */
    MS_ASSERT_INT_EQ(ran.n, 4);
    MS_ASSERT_INT_EQ(ran.v[2].tag, 'b');
    MS_ASSERT_INT_EQ(sim_now(s), 30);

    run_ok(s); /* goes on from where it stopped */
    MS_ASSERT_INT_EQ(ran.n, 5);
    MS_ASSERT_INT_EQ(ran.v[4].tag, 'c');
    MS_ASSERT_INT_EQ(sim_now(s), 40);
    free(ran.v);
    sim_free(s);
}

/* ---- unhappy paths ---------------------------------------------------------- */

/* Schedules two more events at later times. */
static void grow(sim *s, void *ctx, sim_payload p)
{
    record(s, ctx, p);
    sim_after(s, 100, record, ctx, p);
    sim_after(s, 100, record, ctx, p);
}

static void test_out_of_memory(void)
{
    ms_err err = {0};

    /* The very first allocation fails: no event, a sticky error. */
    sim *s = new_sim();
    sim_test_fail_alloc_after(s, 0);
    CU_ASSERT(sim_event_is_none(sim_at(s, 1, record, NULL, tag(0))));
    MS_ASSERT_INT_EQ(sim_pending(s), 0);
    MS_ASSERT_INT_EQ(sim_run(s, &err), MS_ENOMEM);
    CU_ASSERT(strstr(err.msg, "out of memory") != NULL);
    printf("\n    message: %s", err.msg);
    ms_err_clear(&err);
    MS_ASSERT_INT_EQ(sim_run_until(s, 10, &err), MS_ENOMEM); /* sticky */
    MS_ASSERT_INT_EQ(err.code, MS_ENOMEM);
    sim_free(s);

    /* Fail at each allocation in turn while scheduling 5000 events: what
     * was scheduled stays pending, nothing runs, nothing leaks (ASan). */
    bool all_fit = false;
    for (long n = 1; !all_fit; n++) {
        CU_ASSERT_FATAL(n < 100);
        s = new_sim();
        trace ran = {0};
        sim_test_fail_alloc_after(s, n);
        size_t ok = 0;
        for (int i = 0; i < 5000; i++)
            ok += !sim_event_is_none(sim_at(s, 5000 - i, record, &ran, tag(i)));
        MS_ASSERT_INT_EQ(sim_pending(s), ok);
        all_fit = ok == 5000;
        if (all_fit) {
            run_ok(s);
            MS_ASSERT_INT_EQ(ran.n, 5000);
        } else {
            MS_ASSERT_INT_EQ(sim_run(s, &err), MS_ENOMEM);
            MS_ASSERT_INT_EQ(ran.n, 0);
        }
        free(ran.v);
        sim_free(s);
    }

    /* Failing inside a handler stops the run right after that handler.
     * First find how many allocations the first event needs, and how many
     * events then fit. */
    trace ran = {0};
    long first = 0;
    size_t full = 0;
    for (; full == 0; first++) {
        CU_ASSERT_FATAL(first < 100);
        s = new_sim();
        sim_test_fail_alloc_after(s, first);
        while (!sim_event_is_none(sim_at(s, 1, grow, &ran, tag(full))))
            full++;
        sim_free(s);
    }
    s = new_sim(); /* again, exactly full */
    sim_test_fail_alloc_after(s, first - 1);
    for (size_t i = 0; i < full; i++)
        sim_at(s, 1, grow, &ran, tag(i));
    MS_ASSERT_INT_EQ(sim_run(s, &err), MS_ENOMEM);
    MS_ASSERT_INT_EQ(sim_events_run(s), 1); /* its second scheduling had no room */
    MS_ASSERT_INT_EQ(ran.n, 1);
    free(ran.v);
    sim_free(s);
}

/* Ties scheduled at different moments (so, inside the engine, relative to
 * different minima) still run in scheduling order. Tickers at random
 * moments before 4000 ps each schedule one event at one of a few target
 * times; the first event at each target also schedules one more there. */
typedef struct ticker_ctx {
    trace ran, ref;
    rng *r;
    uint64_t count; /* events scheduled at the targets so far */
    int ticks_left;
    bool extra_done[3];
} ticker_ctx;

static const sim_time tick_targets[3] = {5000, 5001, 8192};

static void at_target(sim *s, void *ctx, sim_payload p)
{
    ticker_ctx *tc = ctx;
    trace_push(&tc->ran, sim_now(s), p.u64[0]);
    uint64_t which = p.u64[1];
    if (!tc->extra_done[which]) {
        tc->extra_done[which] = true;
        sim_at(s, sim_now(s), at_target, tc, (sim_payload){.u64 = {tc->count, which}});
        trace_push(&tc->ref, sim_now(s), tc->count++);
    }
}

static void ticker(sim *s, void *ctx, sim_payload p)
{
    ticker_ctx *tc = ctx;
    uint64_t which = rng_below(tc->r, 3);
    sim_at(s, tick_targets[which], at_target, tc, (sim_payload){.u64 = {tc->count, which}});
    trace_push(&tc->ref, tick_targets[which], tc->count++);
    sim_time next = sim_now(s) + (sim_time)rng_below(tc->r, 8);
    if (--tc->ticks_left > 0 && next < 4000)
        sim_after(s, next - sim_now(s), ticker, tc, p);
}

static void test_ties_across_time(void)
{
    sim *s = new_sim();
    ticker_ctx tc = {.r = new_rng(3, 0), .ticks_left = 3000};
    for (uint64_t which = 0; which < 3; which++) { /* some scheduled at time 0 */
        sim_at(s, tick_targets[which], at_target, &tc, (sim_payload){.u64 = {tc.count, which}});
        trace_push(&tc.ref, tick_targets[which], tc.count++);
    }
    sim_at(s, 0, ticker, &tc, tag(0));
    run_ok(s);
    /* Expected: by target time, then scheduling order; the extra events
     * were scheduled last at their time, so a stable order is by count. */
    qsort(tc.ref.v, tc.ref.n, sizeof *tc.ref.v, cmp_rec);
    check_traces_equal(__func__, &tc.ran, &tc.ref);
    CU_ASSERT(tc.ran.n > 1000);
    free(tc.ran.v);
    free(tc.ref.v);
    rng_free(tc.r);
    sim_free(s);
}

/* ---- a random model against a naive reference queue ------------------------- */

/* K agents, each with at most one pending event. When agent k's event
 * runs it may reschedule itself, and wakes a random agent j: cancels j's
 * pending event (if any) and schedules j anew. Both the engine and a naive
 * queue (scan all agents for the least (time, seq)) run it; the traces,
 * cancel results included, must match. The same code is the determinism
 * test: same seed, same trace; another seed, another trace. */
typedef struct model_case {
    const char *name;
    size_t agents;
    uint64_t self_range; /* self delay in [0, self_range) ps */
    uint64_t wake_range; /* wake delay in [0, wake_range) ps */
    uint64_t events;     /* stop after this many */
} model_case;

typedef struct decision {
    bool again; /* reschedule self after self_delay */
    sim_time self_delay;
    size_t victim; /* the running agent itself: nobody */
    sim_time wake_delay;
} decision;

static decision decide(rng *r, const model_case *mc)
{
    decision d;
    d.again = rng_below(r, 4) != 0;
    d.self_delay = (sim_time)rng_below(r, mc->self_range);
    d.victim = rng_below(r, mc->agents);
    d.wake_delay = (sim_time)rng_below(r, mc->wake_range);
    return d;
}

typedef struct model {
    const model_case *mc;
    rng *r;
    trace tr;
    sim_event_id *ids;
} model;

static void agent(sim *s, void *ctx, sim_payload p)
{
    model *m = ctx;
    size_t k = p.u64[0];
    decision d = decide(m->r, m->mc);
    uint64_t cancelled = 2; /* no cancel tried */
    if (d.again)
        m->ids[k] = sim_after(s, d.self_delay, agent, m, p);
    if (d.victim != k) {
        cancelled = sim_cancel(s, m->ids[d.victim]);
        m->ids[d.victim] = sim_after(s, d.wake_delay, agent, m, tag(d.victim));
    }
    trace_push(&m->tr, sim_now(s), k * 4 + cancelled);
    if (sim_events_run(s) == m->mc->events)
        sim_stop(s);
}

/* The model on the engine; returns its trace (caller frees .v). */
static trace model_on_sim(const model_case *mc, uint64_t seed)
{
    sim *s = new_sim();
    model m = {.mc = mc, .r = new_rng(seed, 0)};
    m.ids = calloc(mc->agents, sizeof *m.ids);
    CU_ASSERT_FATAL(m.ids != NULL);
    for (size_t k = 0; k < mc->agents; k++)
        m.ids[k] = sim_at(s, (sim_time)rng_below(m.r, mc->self_range), agent, &m, tag(k));
    run_ok(s);
    free(m.ids);
    rng_free(m.r);
    sim_free(s);
    return m.tr;
}

/* The same model on a naive queue. */
static trace model_on_reference(const model_case *mc, uint64_t seed)
{
    typedef struct {
        bool pending;
        sim_time t;
        uint64_t seq;
    } slot;
    rng *r = new_rng(seed, 0);
    slot *a = calloc(mc->agents, sizeof *a);
    CU_ASSERT_FATAL(a != NULL);
    uint64_t seq = 0;
    trace tr = {0};
    for (size_t k = 0; k < mc->agents; k++)
        a[k] = (slot){true, (sim_time)rng_below(r, mc->self_range), seq++};
    for (uint64_t ev = 0; ev < mc->events; ev++) {
        size_t k = SIZE_MAX;
        for (size_t j = 0; j < mc->agents; j++)
            if (a[j].pending &&
                (k == SIZE_MAX || a[j].t < a[k].t || (a[j].t == a[k].t && a[j].seq < a[k].seq)))
                k = j;
        if (k == SIZE_MAX)
            break;
        sim_time now = a[k].t;
        a[k].pending = false;
        decision d = decide(r, mc);
        uint64_t cancelled = 2;
        if (d.again)
            a[k] = (slot){true, now + d.self_delay, seq++};
        if (d.victim != k) {
            cancelled = a[d.victim].pending;
            a[d.victim] = (slot){true, now + d.wake_delay, seq++};
        }
        trace_push(&tr, now, k * 4 + cancelled);
    }
    free(a);
    rng_free(r);
    return tr;
}

static const model_case model_cases[] = {
    {"64 agents, many ties", 64, 100, 50, 20000},
    {"1000 agents, few ties", 1000, UINT64_C(1) << 30, UINT64_C(1) << 20, 20000},
    /* Wakes cancel far-future events: tombstones pile up and compact. */
    {"3000 agents, far self, near wake", 3000, 1000000000, 1000, 30000},
};

static void test_model_vs_reference(void)
{
    for (size_t c = 0; c < sizeof model_cases / sizeof model_cases[0]; c++) {
        trace a = model_on_sim(&model_cases[c], 2024 + c);
        trace b = model_on_reference(&model_cases[c], 2024 + c);
        check_traces_equal(model_cases[c].name, &a, &b);
        MS_ASSERT_INT_EQ(a.n, model_cases[c].events);
        free(a.v);
        free(b.v);
    }
}

static void test_determinism(void)
{
    const model_case *mc = &model_cases[0];
    trace a = model_on_sim(mc, 99);
    trace b = model_on_sim(mc, 99);
    trace c = model_on_sim(mc, 100);
    CU_ASSERT(traces_equal(&a, &b));  /* same seed: identical */
    CU_ASSERT(!traces_equal(&a, &c)); /* other seed: different */
    free(a.v);
    free(b.v);
    free(c.v);
}

/* ---- time conversion -------------------------------------------------------- */

static void test_time_conversion(void)
{
    static const struct {
        double s;
        sim_time ps;
    } cases[] = {
        {0.0, 0},
        {1e-12, 1},
        {0.4e-12, 0}, /* rounds to nearest */
        {0.6e-12, 1},
        {1.5e-9, 1500},
        {1.0, SIM_PS_PER_S},
        {86400.0, 86400 * SIM_PS_PER_S},
        {1e6, INT64_C(1000000000000000000)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        MS_ASSERT_INT_EQ(sim_time_from_s(cases[i].s), cases[i].ps);
        MS_ASSERT_WITHIN(sim_time_to_s(cases[i].ps), cases[i].s, 0.5e-12 + 1e-15 * cases[i].s);
    }
    /* ps -> s -> ps is exact well past a day of simulated time. */
    static const sim_time round_trips[] = {0, 1, 999, 123456789, 123456789012345, INT64_C(1) << 50};
    for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++)
        MS_ASSERT_INT_EQ(sim_time_from_s(sim_time_to_s(round_trips[i])), round_trips[i]);
    /* s -> ps -> s is within half a picosecond. */
    static const double seconds[] = {1e-9, 3.7e-6, 0.125, 42.0, 1234.5678};
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++)
        MS_ASSERT_WITHIN(sim_time_to_s(sim_time_from_s(seconds[i])), seconds[i],
                         0.5e-12 + 1e-15 * seconds[i]);
}

/* ---- rng -------------------------------------------------------------------- */

static void test_rng_determinism(void)
{
    rng *a = new_rng(42, 0), *b = new_rng(42, 0), *c = new_rng(43, 0);
    rng *d = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new(&d, 42, &err) == MS_OK); /* == stream 0 */
    int same_ab = 1, same_ad = 1, same_ac = 1;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_u64(a), y = rng_u64(b), z = rng_u64(c), w = rng_u64(d);
        same_ab &= x == y;
        same_ad &= x == w;
        same_ac &= x == z;
    }
    CU_ASSERT(same_ab);
    CU_ASSERT(same_ad);
    CU_ASSERT(!same_ac);

    /* The stream a sequence belongs to does not depend on what else was
     * created, or in what order. */
    rng *s5 = new_rng(42, 5);
    rng *others[5];
    for (int i = 0; i < 5; i++)
        others[i] = new_rng(42, (uint64_t)i);
    rng *s5b = new_rng(42, 5);
    int same_5 = 1, same_01 = 1;
    for (int i = 0; i < 1000; i++) {
        same_5 &= rng_u64(s5) == rng_u64(s5b);
        same_01 &= rng_u64(others[0]) == rng_u64(others[1]);
    }
    CU_ASSERT(same_5);
    CU_ASSERT(!same_01);

    /* Pinned outputs, from this implementation: if they change, every
     * seeded result in the project changes, so it must be on purpose. */
    static const struct {
        uint64_t seed, stream, first[3];
    } pinned[] = {
        {1,
         0,
         {UINT64_C(0xa42f370f4f3e6190), UINT64_C(0x45e571af977ba0f4),
          UINT64_C(0x9377f4cd1e203441)}},
        {1, 7, {UINT64_C(0xf906811dc6f3dc71)}},
    };
    for (size_t c = 0; c < sizeof pinned / sizeof pinned[0]; c++) {
        rng *p = new_rng(pinned[c].seed, pinned[c].stream);
        for (int i = 0; i < 3 && pinned[c].first[i]; i++) {
            uint64_t x = rng_u64(p);
            if (x != pinned[c].first[i])
                printf("\n    seed %" PRIu64 " stream %" PRIu64 " draw %d: 0x%016" PRIx64
                       ", expected 0x%016" PRIx64 "\n",
                       pinned[c].seed, pinned[c].stream, i, x, pinned[c].first[i]);
            CU_ASSERT(x == pinned[c].first[i]);
        }
        rng_free(p);
    }
    rng *g = new_rng(1, 0);

    /* GSL sees it as a generator: 32-bit gets, uniform doubles. */
    gsl_rng *gr = rng_gsl(g);
    for (int i = 0; i < 1000; i++) {
        unsigned long v = gsl_rng_get(gr);
        double u = gsl_rng_uniform(gr);
        CU_ASSERT(v <= 0xffffffffUL);
        CU_ASSERT(u >= 0.0 && u < 1.0);
        CU_ASSERT(gsl_rng_uniform_int(gr, 6) < 6);
    }
    rng_free(g);
    rng_free(a);
    rng_free(b);
    rng_free(c);
    rng_free(d);
    rng_free(s5);
    rng_free(s5b);
    for (int i = 0; i < 5; i++)
        rng_free(others[i]);
    rng_free(NULL);
}

static void test_rng_distributions(void)
{
    enum { N = 100000 };
    rng *r = new_rng(2025, 0);

    double sum = 0;
    int in_range = 1;
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(r);
        in_range &= u >= 0.0 && u < 1.0;
        sum += u;
    }
    CU_ASSERT(in_range);
    MS_ASSERT_WITHIN(sum / N, 0.5, 5 * sqrt(1.0 / 12 / N)); /* 5 standard errors */

    static const double means[] = {1e-6, 0.5, 1.0, 2.5, 1e3};
    for (size_t c = 0; c < sizeof means / sizeof means[0]; c++) {
        sum = 0;
        int positive = 1;
        for (int i = 0; i < N; i++) {
            double x = rng_exponential(r, means[c]);
            positive &= x >= 0 && isfinite(x);
            sum += x;
        }
        CU_ASSERT(positive);
        MS_ASSERT_WITHIN(sum / N, means[c], 5 * means[c] / sqrt(N)); /* sd = mean */
    }

    static const uint64_t bounds[] = {1, 2, 3, 7, 10, 1000, (UINT64_C(1) << 63) + 1, UINT64_MAX};
    for (size_t c = 0; c < sizeof bounds / sizeof bounds[0]; c++) {
        uint64_t n = bounds[c];
        long counts[10] = {0};
        int below = 1;
        uint64_t top = 0;
        for (int i = 0; i < N; i++) {
            uint64_t x = rng_below(r, n);
            below &= x < n;
            if (x > top)
                top = x;
            if (n <= 10)
                counts[x]++;
        }
        if (!below)
            printf("\n    rng_below(%" PRIu64 ") returned a value >= n\n", n);
        CU_ASSERT(below);
        if (n > 1000) /* the draws reach the top half of the range */
            CU_ASSERT(top > n / 2);
        for (uint64_t v = 0; n <= 10 && v < n; v++) /* each value near N/n */
            MS_ASSERT_WITHIN((double)counts[v], (double)N / n, 0.1 * N / n);
    }
    rng_free(r);
}

static CU_TestInfo sim_tests[] = {
    {"random times run in sorted order", test_random_order},
    {"ties run in insertion order", test_ties},
    {"scheduling at now from a handler", test_schedule_from_handler},
    {"cancel: pending, ran, twice, stale", test_cancel},
    {"cancel from a handler", test_cancel_from_handler},
    {"cancel most of 20000 events", test_cancel_many},
    {"compaction in the middle of a time step", test_compact_mid_step},
    {"run_until", test_run_until},
    {"stop", test_stop},
    {"out of memory is a sticky error", test_out_of_memory},
    {"ties scheduled at different moments", test_ties_across_time},
    {"random model vs naive queue", test_model_vs_reference},
    {"same seed, same trace", test_determinism},
    {"time conversion", test_time_conversion},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo rng_tests[] = {
    {"same seed, same sequence; streams", test_rng_determinism},
    {"uniform, exponential, below", test_rng_distributions},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "sim", .pTests = sim_tests},
    {.pName = "rng", .pTests = rng_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_sim");
}
