/* Tests of pipeline schedules (src/train/sched): every stage of every
 * micro-batch runs forward and backward once, on the rank the layout
 * says; the simulated idle time of a balanced pipeline equals each
 * schedule's published bubble formula; bad inputs and orders that
 * deadlock are refused.
 *
 * Notation of the formulas: F forward, B the whole backward (DeepSeek-V3
 * Table 2 form), W its weight-gradient part, F&B an overlapped pair, all
 * per stage; in sched_times terms B = b_s + w_s, F&B = fb_s. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_assert.h"
#include "train/sched.h"

/* Builds and simulates; fills res and idle (ranks entries, may be NULL). */
static int run(sched_kind k, int p, int m, int v, const sched_times *t, sched_result *res,
               double *idle)
{
    sched *s;
    ms_err err = {0};
    if (sched_build(k, p, m, v, &s, &err) != MS_OK) {
        printf("\n    %s p=%d m=%d v=%d: %s\n", sched_name(k), p, m, v, err.msg);
        return -1;
    }
    int rc = sched_simulate(s, t, idle, res, &err);
    if (rc != MS_OK)
        printf("\n    %s p=%d m=%d v=%d: %s\n", sched_name(k), p, m, v, err.msg);
    sched_free(s);
    return rc;
}

static void test_names(void)
{
    for (int k = 0; k < SCHED_KIND_COUNT; k++) {
        sched_kind got;
        CU_ASSERT(sched_parse(sched_name((sched_kind)k), &got) == 0 && got == (sched_kind)k);
        CU_ASSERT(strstr(sched_list(), sched_name((sched_kind)k)) != NULL);
        CU_ASSERT(strlen(sched_help((sched_kind)k)) > 0);
    }
    sched_kind got;
    CU_ASSERT(sched_parse("DualPipeV", &got) == 0 && got == SCHED_DUALPIPEV);
    CU_ASSERT(sched_parse("chimera", &got) == -1);
    CU_ASSERT(sched_parse(NULL, &got) == -1);
    CU_ASSERT_STRING_EQUAL(sched_list(), "gpipe, 1f1b, interleaved, zb1p, dualpipe, dualpipev");
    CU_ASSERT_STRING_EQUAL(sched_op_name(SCHED_FB), "F&B");
}

/* The rank the layout of sched.h puts stage of mb on. */
static int layout_rank(sched_kind k, int p, int m, int mb, int stage)
{
    switch (k) {
    case SCHED_INTERLEAVED:
        return stage % p;
    case SCHED_DUALPIPE:
        return mb < m / 2 ? stage : p - 1 - stage;
    case SCHED_DUALPIPEV:
        return stage < p ? stage : 2 * p - 1 - stage;
    default:
        return stage;
    }
}

/* Counted here, apart from the checker inside sched_build. */
static void test_every_chunk_once(void)
{
    static const struct {
        sched_kind k;
        int p, m, v, stages;
    } cases[] = {
        {SCHED_GPIPE, 4, 6, 1, 4},       {SCHED_1F1B, 4, 2, 1, 4},
        {SCHED_1F1B, 8, 20, 1, 8},       {SCHED_INTERLEAVED, 4, 8, 3, 12},
        {SCHED_INTERLEAVED, 4, 4, 2, 8}, {SCHED_ZB1P, 4, 3, 1, 4},
        {SCHED_ZB1P, 8, 20, 1, 8},       {SCHED_DUALPIPE, 2, 4, 1, 2},
        {SCHED_DUALPIPE, 8, 20, 1, 8},   {SCHED_DUALPIPE, 16, 32, 1, 16},
        {SCHED_DUALPIPEV, 1, 2, 1, 2},   {SCHED_DUALPIPEV, 3, 7, 1, 6},
        {SCHED_DUALPIPEV, 8, 20, 1, 16},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int p = cases[c].p, m = cases[c].m, S = cases[c].stages;
        sched *s;
        ms_err err = {0};
        CU_ASSERT_FATAL(sched_build(cases[c].k, p, m, cases[c].v, &s, &err) == MS_OK);
        CU_ASSERT_EQUAL(sched_ranks(s), p);
        CU_ASSERT_EQUAL(sched_stages(s), S);
        CU_ASSERT_EQUAL(sched_microbatches(s), m);
        int *nf = calloc((size_t)(m * S), sizeof *nf), *nb = calloc((size_t)(m * S), sizeof *nb);
        int *nsplit = calloc((size_t)(m * S), sizeof *nsplit),
            *nw = calloc((size_t)(m * S), sizeof *nw);
        int wrong_rank = 0;
        for (int r = 0; r < p; r++) {
            for (size_t i = 0; i < sched_ntasks(s, r); i++) {
                const sched_task *t = sched_task_at(s, r, i);
                int at = t->mb * S + t->stage;
                if (layout_rank(cases[c].k, p, m, t->mb, t->stage) != r)
                    wrong_rank++;
                switch (t->op) {
                case SCHED_F:
                    nf[at]++;
                    break;
                case SCHED_B:
                    nb[at]++;
                    nsplit[at]++;
                    break;
                case SCHED_BW:
                    nb[at]++;
                    break;
                case SCHED_W:
                    nw[at]++;
                    break;
                case SCHED_FB:
                    nf[at]++;
                    nb[t->mb2 * S + t->stage2]++;
                    if (layout_rank(cases[c].k, p, m, t->mb2, t->stage2) != r)
                        wrong_rank++;
                    break;
                default:
                    wrong_rank++;
                }
            }
        }
        int bad = 0;
        for (int i = 0; i < m * S; i++)
            bad += nf[i] != 1 || nb[i] != 1 || nw[i] != nsplit[i];
        for (int mb = 0; mb < m; mb++)
            for (int st = 0; st < S; st++)
                bad += sched_rank_of(s, mb, st) != layout_rank(cases[c].k, p, m, mb, st);
        if (bad || wrong_rank)
            printf("\n    %s p=%d m=%d: %d chunks not run exactly once, %d tasks off their rank\n",
                   sched_name(cases[c].k), p, m, bad, wrong_rank);
        CU_ASSERT(bad == 0 && wrong_rank == 0);
        free(nf);
        free(nb);
        free(nsplit);
        free(nw);
        sched_free(s);
    }
}

/* 1F1B, p=2, m=2, F=1, B=2 by hand: rank 1 runs F0 [1,2] BW0 [2,4] F1
 * [4,5] BW1 [5,7]; rank 0 F0 [0,1] F1 [1,2] BW0 [4,6] BW1 [7,9]. */
static void test_by_hand(void)
{
    sched_times t = {.f_s = 1, .b_s = 2};
    sched_result res;
    double idle[2];
    CU_ASSERT_FATAL(run(SCHED_1F1B, 2, 2, 1, &t, &res, idle) == MS_OK);
    MS_ASSERT_CLOSE(res.makespan_s, 9, 1e-9, 1e-9);
    MS_ASSERT_CLOSE(idle[0], 3, 1e-9, 1e-9);
    MS_ASSERT_CLOSE(idle[1], 3, 1e-9, 1e-9);
    MS_ASSERT_CLOSE(res.bubble_s, 3, 1e-9, 1e-9);
}

/* Checks the bubble of kind for every (p, m) of the tables below that the
 * kind accepts, against expect(p). */
typedef double (*formula_fn)(int p, const sched_times *t, int v);

static void check_bubbles(sched_kind k, const int *ps, size_t nps, int v, const sched_times *times,
                          size_t ntimes, formula_fn expect)
{
    int checked = 0;
    for (size_t i = 0; i < ntimes; i++) {
        for (size_t j = 0; j < nps; j++) {
            int p = ps[j];
            int ms[] = {p, 2 * p, 4 * p, 20};
            for (size_t a = 0; a < 4; a++) {
                int m = ms[a];
                if (a == 3 && (m == p || m == 2 * p || m == 4 * p))
                    continue;
                if (k == SCHED_INTERLEAVED && m % p != 0)
                    continue;
                if ((k == SCHED_DUALPIPE || k == SCHED_DUALPIPEV) && m < 2 * p)
                    continue;
                sched_result res;
                if (run(k, p, m, v, &times[i], &res, NULL) != MS_OK) {
                    CU_FAIL("schedule did not run");
                    continue;
                }
                double e = expect(p, &times[i], v);
                if (!MS_ASSERT_CLOSE(res.bubble_s, e, 1e-9, 1e-9))
                    fprintf(stderr, "    %s p=%d m=%d v=%d f=%g b=%g w=%g fb=%g\n", sched_name(k),
                            p, m, v, times[i].f_s, times[i].b_s, times[i].w_s, times[i].fb_s);
                checked++;
            }
        }
    }
    CU_ASSERT(checked > 0);
}

static const int ps[] = {2, 4, 8, 16};
#define NPS (sizeof ps / sizeof ps[0])

/* (p-1)(F+B), B whole (GPipe paper; DeepSeek-V3 Table 2). */
static double f_1f1b(int p, const sched_times *t, int v)
{
    (void)v;
    return (p - 1) * (t->f_s + t->b_s + t->w_s);
}

static const sched_times plain_times[] = {
    {.f_s = 1, .b_s = 2},
    {.f_s = 1, .b_s = 1.5, .w_s = 0.5},
    {.f_s = 0.3, .b_s = 0.25, .w_s = 0.35},
};

static void test_bubble_gpipe(void)
{
    check_bubbles(SCHED_GPIPE, ps, NPS, 1, plain_times, 3, f_1f1b);
}

static void test_bubble_1f1b(void)
{
    check_bubbles(SCHED_1F1B, ps, NPS, 1, plain_times, 3, f_1f1b);
}

/* (p-1)(F+B)/v with F, B of a whole stage (Narayanan et al., SC'21, §2.2),
 * the per-chunk times being F/v, (B-W)/v, W/v. */
static double f_interleaved(int p, const sched_times *t, int v)
{
    double F = v * t->f_s, B = v * (t->b_s + t->w_s);
    return (p - 1) * (F + B) / v;
}

static void test_bubble_interleaved(void)
{
    static const double stage[][3] = {{3, 6, 1.5}, {2, 4, 0}, {1, 1.7, 0.6}}; /* F, B, W */
    for (int v = 2; v <= 4; v++) {
        for (size_t i = 0; i < 3; i++) {
            sched_times t = {.f_s = stage[i][0] / v,
                             .b_s = (stage[i][1] - stage[i][2]) / v,
                             .w_s = stage[i][2] / v};
            check_bubbles(SCHED_INTERLEAVED, ps, NPS, v, &t, 1, f_interleaved);
        }
    }
}

/* (p-1)(F+B-2W), B whole (DeepSeek-V3 Table 2); (p-1)(F+B-W) with B the
 * input gradient in Qi et al. 2023. Holds for W <= F and W <= B-W: a
 * longer W no longer fits the gaps it fills. */
static double f_zb1p(int p, const sched_times *t, int v)
{
    (void)v;
    double B = t->b_s + t->w_s;
    return (p - 1) * (t->f_s + B - 2 * t->w_s);
}

static void test_bubble_zb1p(void)
{
    static const sched_times times[] = {
        {.f_s = 1, .b_s = 1, .w_s = 1},
        {.f_s = 1, .b_s = 1.5, .w_s = 0.5},
        {.f_s = 1.2, .b_s = 1, .w_s = 0.7},
        {.f_s = 1, .b_s = 2},
    };
    check_bubbles(SCHED_ZB1P, ps, NPS, 1, times, 4, f_zb1p);
}

/* (PP/2-1)(F&B+B-3W), B whole (DeepSeek-V3 Table 2, DualPipe README),
 * with PP the number of stages: the ranks for DualPipe, twice them for
 * DualPipeV. Exact in our simulation when the forward chunk takes as long
 * as the input-gradient chunk (F = B-W, as in the zero-bubble papers'
 * analysis), W <= F and max(F, B) <= F&B <= F+B. The bubble is the
 * middle ranks' (ranks/2-1 and ranks/2; DualPipeV: the last); the outer
 * ranks idle less unless F&B = F+B. */
static double f_dualpipe(int pp, const sched_times *t)
{
    double B = t->b_s + t->w_s;
    return (pp / 2 - 1) * (t->fb_s + B - 3 * t->w_s);
}

static double f_dualpipe_ranks(int p, const sched_times *t, int v)
{
    (void)v;
    return f_dualpipe(p, t);
}

static double f_dualpipev_ranks(int p, const sched_times *t, int v)
{
    (void)v;
    return f_dualpipe(2 * p, t);
}

static const sched_times dual_times[] = {
    {.f_s = 1, .b_s = 1, .w_s = 1, .fb_s = 3},       /* no overlap gain: F&B = F+B */
    {.f_s = 1, .b_s = 1, .w_s = 1, .fb_s = 2},       /* F&B = B: perfect overlap */
    {.f_s = 1, .b_s = 1, .w_s = 0.5, .fb_s = 2.5},   /* F&B = F+B */
    {.f_s = 1, .b_s = 1, .w_s = 0.5, .fb_s = 2},     /* in between */
    {.f_s = 1, .b_s = 1, .w_s = 0.25, .fb_s = 1.25}, /* F&B = B */
};

static void test_bubble_dualpipe(void)
{
    check_bubbles(SCHED_DUALPIPE, ps, NPS, 1, dual_times, 5, f_dualpipe_ranks);
}

static void test_bubble_dualpipev(void)
{
    static const int pv[] = {1, 2, 3, 4, 8, 16};
    check_bubbles(SCHED_DUALPIPEV, pv, 6, 1, dual_times, 5, f_dualpipev_ranks);
}

/* Which ranks carry DualPipe's bubble: with F&B < F+B the outer ranks run
 * fewer pairs' worth of waiting; the middle two carry the formula. */
static void test_dualpipe_bubble_ranks(void)
{
    sched_times t = {.f_s = 1, .b_s = 1, .w_s = 1, .fb_s = 2};
    double idle[8];
    sched_result res;
    CU_ASSERT_FATAL(run(SCHED_DUALPIPE, 8, 20, 1, &t, &res, idle) == MS_OK);
    static const double expect[8] = {1, 2, 3, 3, 3, 3, 2, 1};
    for (int r = 0; r < 8; r++) {
        if (!MS_ASSERT_CLOSE(idle[r], expect[r], 1e-9, 1e-9))
            fprintf(stderr, "    rank %d idle\n", r);
    }
    MS_ASSERT_CLOSE(res.bubble_s, f_dualpipe(8, &t), 1e-9, 1e-9);
}

/* Found here, not published: when the forward chunk is the longer
 * (F >= B-W), W <= B-W and max(F, B) <= F&B <= F+B, the bubble is
 * (PP/2-1)(F&B + F - 2W), which is DeepSeek's form when F = B-W. When F
 * is the shorter, DeepSeek's form overstates it (DualPipe, F 1, B-W 2,
 * W 1, F&B 4: 3 at p 4 where the form says 4, 11 at p 8 for 12, 27 at
 * p 16 for 28), and it is not one linear form in the times. */
static double f_dual_long_f(int pp, const sched_times *t)
{
    return (pp / 2 - 1) * (t->fb_s + t->f_s - 2 * t->w_s);
}

static double f_dualpipe_long_f(int p, const sched_times *t, int v)
{
    (void)v;
    return f_dual_long_f(p, t);
}

static double f_dualpipev_long_f(int p, const sched_times *t, int v)
{
    (void)v;
    return f_dual_long_f(2 * p, t);
}

static void test_bubble_dual_long_forward(void)
{
    static const sched_times times[] = {
        {.f_s = 1.5, .b_s = 1, .w_s = 0.5, .fb_s = 2.5},
        {.f_s = 2, .b_s = 1, .w_s = 1, .fb_s = 3.5},
        {.f_s = 1.3, .b_s = 0.8, .w_s = 0.2, .fb_s = 1.6},
    };
    check_bubbles(SCHED_DUALPIPE, ps, NPS, 1, times, 3, f_dualpipe_long_f);
    check_bubbles(SCHED_DUALPIPEV, ps, NPS, 1, times, 3, f_dualpipev_long_f);
}

/* GPipe with a transfer time c between ranks: every chain is delayed
 * alike, (p-1)(F+B+2c). 1F1B's grows with m instead (the round trip
 * is not hidden in the steady state), so only its lower bound is checked. */
static void test_p2p(void)
{
    sched_times t = {.f_s = 1, .b_s = 1.5, .w_s = 0.5, .p2p_s = 0.1};
    for (int p = 2; p <= 8; p *= 2) {
        for (int m = p; m <= 4 * p; m *= 2) {
            sched_result g, o;
            CU_ASSERT_FATAL(run(SCHED_GPIPE, p, m, 1, &t, &g, NULL) == MS_OK);
            CU_ASSERT_FATAL(run(SCHED_1F1B, p, m, 1, &t, &o, NULL) == MS_OK);
            MS_ASSERT_CLOSE(g.bubble_s, (p - 1) * (3.0 + 0.2), 1e-9, 1e-9);
            CU_ASSERT(o.bubble_s >= g.bubble_s - 1e-9);
        }
    }
    for (int k = 0; k < SCHED_KIND_COUNT; k++) {
        sched_times d = {.f_s = 1, .b_s = 1, .w_s = 0.5, .fb_s = 2, .p2p_s = 0.05};
        sched_result res;
        CU_ASSERT(run((sched_kind)k, 4, 8, k == SCHED_INTERLEAVED ? 2 : 1, &d, &res, NULL) ==
                  MS_OK);
    }
}

/* A schedule rebuilt from its own lists runs the same. */
static void test_from_lists_roundtrip(void)
{
    sched *s, *c;
    ms_err err = {0};
    CU_ASSERT_FATAL(sched_build(SCHED_DUALPIPE, 4, 10, 1, &s, &err) == MS_OK);
    const sched_task *lists[4];
    size_t counts[4];
    for (int r = 0; r < 4; r++) {
        counts[r] = sched_ntasks(s, r);
        lists[r] = sched_task_at(s, r, 0);
    }
    CU_ASSERT_FATAL(sched_from_lists(4, 4, 10, lists, counts, &c, &err) == MS_OK);
    sched_times t = {.f_s = 1, .b_s = 1.2, .w_s = 0.4, .fb_s = 2.1, .p2p_s = 0.01};
    sched_result a, b;
    CU_ASSERT(sched_simulate(s, &t, NULL, &a, &err) == MS_OK);
    CU_ASSERT(sched_simulate(c, &t, NULL, &b, &err) == MS_OK);
    CU_ASSERT(a.makespan_s == b.makespan_s && a.bubble_s == b.bubble_s);
    for (int mb = 0; mb < 10; mb++)
        for (int st = 0; st < 4; st++)
            CU_ASSERT(sched_rank_of(c, mb, st) == sched_rank_of(s, mb, st));
    sched_free(c);
    sched_free(s);
}

/* ---- the dependency rules, task by task ---- */

/* A task of schedule (k, p, m, v) on rank, and its inputs and outputs as
 * "F5* G10": F a chunk's forward, G its input gradient, the chunk
 * numbered mb * stages + stage, * when the other end is on another rank. */
typedef struct dep_case {
    sched_kind k;
    int p, m, v, rank;
    sched_op op;
    int mb, stage, mb2, stage2;
    const char *in, *out, *what;
} dep_case;

/* Worked by hand from the layouts of sched.h. 1f1b, zb1p p=4 m=4: S=4,
 * stage s on rank s, chunk = mb*4 + s. interleaved p=2 v=2: S=4, stage s
 * on rank s%2. dualpipev p=2: S=4, stages 0 1 2 3 on ranks 0 1 1 0.
 * dualpipe p=4 m=8: S=4, mb 0-3 stage s on rank s, mb 4-7 on rank 3-s. */
static const dep_case dep_cases[] = {
    {SCHED_1F1B, 4, 4, 1, 0, SCHED_F, 1, 0, -1, -1, "", "F4*", "F of stage 0 needs nothing"},
    {SCHED_1F1B, 4, 4, 1, 2, SCHED_F, 1, 2, -1, -1, "F5*", "F6*", "F of stage s needs F of s-1"},
    {SCHED_1F1B, 4, 4, 1, 3, SCHED_F, 1, 3, -1, -1, "F6*", "F7", "F of the last stage"},
    {SCHED_1F1B, 4, 4, 1, 3, SCHED_BW, 1, 3, -1, -1, "F7", "G7*", "BW of the last stage"},
    {SCHED_1F1B, 4, 4, 1, 1, SCHED_BW, 2, 1, -1, -1, "F9 G10*", "G9*", "BW: own F, B of s+1"},
    {SCHED_1F1B, 4, 4, 1, 0, SCHED_BW, 2, 0, -1, -1, "F8 G9*", "G8", "BW of stage 0"},
    {SCHED_ZB1P, 4, 4, 1, 2, SCHED_B, 0, 2, -1, -1, "F2 G3*", "G2*", "B: own F, B of s+1"},
    {SCHED_ZB1P, 4, 4, 1, 2, SCHED_W, 0, 2, -1, -1, "G2", "", "W needs its own B"},
    {SCHED_GPIPE, 1, 2, 1, 0, SCHED_BW, 1, 0, -1, -1, "F1", "G1", "one rank: nothing crosses"},
    {SCHED_INTERLEAVED, 2, 2, 2, 0, SCHED_F, 1, 2, -1, -1, "F5*", "F6*", "interleaved F"},
    {SCHED_INTERLEAVED, 2, 2, 2, 1, SCHED_BW, 0, 1, -1, -1, "F1 G2*", "G1*", "interleaved BW"},
    {SCHED_DUALPIPEV, 2, 4, 1, 1, SCHED_F, 0, 2, -1, -1, "F1", "F2*", "V: F at the turn"},
    {SCHED_DUALPIPEV, 2, 4, 1, 1, SCHED_BW, 2, 1, -1, -1, "F9 G10", "G9*", "V: BW at the turn"},
    {SCHED_DUALPIPEV, 2, 4, 1, 1, SCHED_FB, 3, 1, 1, 2, "F12* F6 G7*", "F13 G6", "F&B: union"},
    {SCHED_DUALPIPEV, 2, 4, 1, 0, SCHED_FB, 3, 0, 1, 3, "F7", "F12* G7*", "F&B at both ends"},
    {SCHED_DUALPIPE, 4, 8, 1, 1, SCHED_FB, 6, 2, 0, 1, "F25* F1 G2*", "F26* G1*", "DualPipe F&B"},
};

/* Writes a list in the notation of dep_case. */
static void deps_text(const sched_dep *d, int n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%c%d%s", i ? " " : "",
                                d[i].grad ? 'G' : 'F', d[i].chunk, d[i].remote ? "*" : "");
}

static void test_deps_by_hand(void)
{
    for (size_t i = 0; i < sizeof dep_cases / sizeof dep_cases[0]; i++) {
        const dep_case *c = &dep_cases[i];
        sched *s;
        ms_err err = {0};
        CU_ASSERT_FATAL(sched_build(c->k, c->p, c->m, c->v, &s, &err) == MS_OK);
        sched_task task = {c->op, c->mb, c->stage, c->mb2, c->stage2};
        int found = 0; /* it is one of the rank's tasks */
        for (size_t j = 0; j < sched_ntasks(s, c->rank) && !found; j++) {
            const sched_task *t = sched_task_at(s, c->rank, j);
            found = t->op == task.op && t->mb == task.mb && t->stage == task.stage &&
                    t->mb2 == task.mb2 && t->stage2 == task.stage2;
        }
        CU_ASSERT(found);
        sched_dep in[SCHED_MAX_INPUTS], out[SCHED_MAX_OUTPUTS];
        char in_text[64], out_text[64];
        deps_text(in, sched_task_inputs(s, c->rank, &task, in), in_text, sizeof in_text);
        deps_text(out, sched_task_outputs(s, c->rank, &task, out), out_text, sizeof out_text);
        int ok = MS_ASSERT_STR_EQ(in_text, c->in);
        ok &= MS_ASSERT_STR_EQ(out_text, c->out);
        if (!ok || !found)
            fprintf(stderr, "    case %s (%s p=%d m=%d, rank %d)\n", c->what, sched_name(c->k),
                    c->p, c->m, c->rank);
        sched_free(s);
    }
}

/* Over whole schedules: every completion is made by exactly one task;
 * every input is one of them, remote exactly when its maker is on another
 * rank; an output is remote exactly when a task on another rank waits for
 * it. */
static void test_deps_agree(void)
{
    static const struct {
        sched_kind k;
        int p, m, v;
    } cases[] = {
        {SCHED_GPIPE, 4, 6, 1},     {SCHED_1F1B, 8, 20, 1},     {SCHED_INTERLEAVED, 4, 8, 3},
        {SCHED_ZB1P, 8, 20, 1},     {SCHED_DUALPIPE, 8, 20, 1}, {SCHED_DUALPIPEV, 3, 7, 1},
        {SCHED_DUALPIPEV, 1, 2, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sched *s;
        ms_err err = {0};
        CU_ASSERT_FATAL(sched_build(cases[c].k, cases[c].p, cases[c].m, cases[c].v, &s, &err) ==
                        MS_OK);
        size_t n = 2 * (size_t)sched_microbatches(s) * (size_t)sched_stages(s);
        int *maker = malloc(n * sizeof *maker), *made = calloc(n, sizeof *made);
        int *out_remote = calloc(n, sizeof *out_remote),
            *waits_remote = calloc(n, sizeof *waits_remote);
        CU_ASSERT_FATAL(maker && made && out_remote && waits_remote);
        int bad = 0;
        for (size_t at = 0; at < n; at++)
            maker[at] = -1;
        for (int r = 0; r < sched_ranks(s); r++)
            for (size_t i = 0; i < sched_ntasks(s, r); i++) {
                sched_dep out[SCHED_MAX_OUTPUTS];
                int k = sched_task_outputs(s, r, sched_task_at(s, r, i), out);
                for (int j = 0; j < k; j++) {
                    size_t at = 2 * (size_t)out[j].chunk + out[j].grad;
                    bad += made[at]++ != 0;
                    maker[at] = r;
                    out_remote[at] = out[j].remote;
                }
            }
        for (size_t at = 0; at < n; at++)
            bad += made[at] != 1;
        for (int r = 0; r < sched_ranks(s); r++)
            for (size_t i = 0; i < sched_ntasks(s, r); i++) {
                sched_dep in[SCHED_MAX_INPUTS];
                int k = sched_task_inputs(s, r, sched_task_at(s, r, i), in);
                for (int j = 0; j < k; j++) {
                    size_t at = 2 * (size_t)in[j].chunk + in[j].grad;
                    bad += in[j].remote != (maker[at] != r);
                    waits_remote[at] |= maker[at] != r;
                }
            }
        for (size_t at = 0; at < n; at++)
            bad += out_remote[at] != waits_remote[at];
        if (bad)
            printf("\n    %s p=%d m=%d: %d disagreements\n", sched_name(cases[c].k), cases[c].p,
                   cases[c].m, bad);
        CU_ASSERT(bad == 0);
        free(maker);
        free(made);
        free(out_remote);
        free(waits_remote);
        sched_free(s);
    }
}

static void test_bad_build(void)
{
    static const struct {
        sched_kind k;
        int p, m, v;
        const char *says;
    } cases[] = {
        {SCHED_DUALPIPE, 5, 20, 1, "even number"},
        {SCHED_DUALPIPE, 4, 9, 1, "even number, at least"},
        {SCHED_DUALPIPE, 4, 6, 1, "at least 2 * 4 ranks = 8"},
        {SCHED_DUALPIPEV, 4, 7, 1, "at least 2 * 4 ranks = 8"},
        {SCHED_INTERLEAVED, 4, 6, 2, "multiple of the 4 ranks"},
        {SCHED_INTERLEAVED, 4, 8, 1, "2 or more model chunks"},
        {SCHED_1F1B, 4, 8, 2, "only the interleaved schedule"},
        {SCHED_ZB1P, 0, 8, 1, "0 ranks"},
        {SCHED_GPIPE, 4, 0, 1, "0 micro-batches"},
        {SCHED_GPIPE, 4, 4, 0, "vpp 0"},
        {SCHED_GPIPE, 100000, 4, 1, "100000 ranks"},
        {SCHED_GPIPE, 4096, 4096, 1, "stage chunks"},
        {(sched_kind)42, 4, 4, 1, "schedule kind 42"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sched *s = (sched *)1;
        ms_err err = {0};
        int rc = sched_build(cases[i].k, cases[i].p, cases[i].m, cases[i].v, &s, &err);
        int ok = rc == MS_EINVAL && s == NULL && strstr(err.msg, cases[i].says) != NULL;
        if (!ok)
            printf("\n    case %zu: rc %d, message \"%s\", expected to say \"%s\"\n", i, rc,
                   err.msg, cases[i].says);
        CU_ASSERT(ok);
    }
}

static void test_bad_times(void)
{
    sched *s, *d;
    ms_err err = {0};
    CU_ASSERT_FATAL(sched_build(SCHED_1F1B, 2, 4, 1, &s, &err) == MS_OK);
    CU_ASSERT_FATAL(sched_build(SCHED_DUALPIPE, 2, 4, 1, &d, &err) == MS_OK);
    sched_result res;
    static const sched_times bad[] = {
        {.f_s = -1, .b_s = 1},
        {.f_s = 1, .b_s = 0},
        {.f_s = 1, .b_s = 1, .w_s = NAN},
        {.f_s = 1, .b_s = 1, .p2p_s = INFINITY},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT(sched_simulate(s, &bad[i], NULL, &res, &err) == MS_EINVAL);
    sched_times no_pair = {.f_s = 1, .b_s = 1, .w_s = 0.5};
    CU_ASSERT(sched_simulate(s, &no_pair, NULL, &res, &err) == MS_OK);
    CU_ASSERT(sched_simulate(d, &no_pair, NULL, &res, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "fb_s > 0") != NULL);
    sched_free(s);
    sched_free(d);
}

/* Lists that cover every stage but in an order that cannot run. */
static void test_deadlock(void)
{
    /* rank 0 wants micro-batch 1's backward before micro-batch 0's, but
     * rank 1 runs micro-batch 0's first and waits for micro-batch 1's F
     * which rank 0 runs only after: a cycle. */
    const sched_task r0[] = {
        {SCHED_F, 0, 0, -1, -1},
        {SCHED_BW, 1, 0, -1, -1},
        {SCHED_F, 1, 0, -1, -1},
        {SCHED_BW, 0, 0, -1, -1},
    };
    const sched_task r1[] = {
        {SCHED_F, 0, 1, -1, -1},
        {SCHED_F, 1, 1, -1, -1},
        {SCHED_BW, 0, 1, -1, -1},
        {SCHED_BW, 1, 1, -1, -1},
    };
    const sched_task *lists[] = {r0, r1};
    size_t counts[] = {4, 4};
    sched *s;
    ms_err err = {0};
    CU_ASSERT_FATAL(sched_from_lists(2, 2, 2, lists, counts, &s, &err) == MS_OK);
    sched_times t = {.f_s = 1, .b_s = 1};
    sched_result res;
    CU_ASSERT(sched_simulate(s, &t, NULL, &res, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "deadlock") != NULL &&
              strstr(err.msg, "rank 0 waits at task 1") != NULL);
    sched_free(s);
}

static void test_bad_lists(void)
{
    static const struct {
        sched_task r0[4], r1[4];
        size_t n0, n1;
        const char *says;
    } cases[] = {
        {{{SCHED_F, 0, 0, -1, -1}, {SCHED_F, 0, 0, -1, -1}},
         {{SCHED_F, 0, 1, -1, -1}, {SCHED_BW, 0, 1, -1, -1}},
         2,
         2,
         "forward appears twice"},
        {{{SCHED_F, 0, 0, -1, -1}},
         {{SCHED_F, 0, 1, -1, -1}, {SCHED_BW, 0, 1, -1, -1}},
         1,
         2,
         "micro-batch 0 stage 0 has no backward"},
        {{{SCHED_F, 0, 0, -1, -1}, {SCHED_B, 0, 0, -1, -1}},
         {{SCHED_F, 0, 1, -1, -1}, {SCHED_BW, 0, 1, -1, -1}},
         2,
         2,
         "has a B but no W"},
        {{{SCHED_F, 0, 0, -1, -1}, {SCHED_W, 0, 0, -1, -1}, {SCHED_B, 0, 0, -1, -1}},
         {{SCHED_F, 0, 1, -1, -1}, {SCHED_BW, 0, 1, -1, -1}},
         3,
         2,
         "W before"},
        {{{SCHED_F, 0, 0, -1, -1}, {SCHED_BW, 0, 1, -1, -1}},
         {{SCHED_F, 0, 1, -1, -1}, {SCHED_BW, 0, 0, -1, -1}},
         2,
         2,
         "not on the rank of its forward"},
        {{{SCHED_F, 0, 0, -1, -1}, {SCHED_BW, 0, 0, -1, -1}},
         {{SCHED_F, 0, 2, -1, -1}, {SCHED_BW, 0, 1, -1, -1}},
         2,
         2,
         "out of range"},
        {{{SCHED_F, 0, 0, -1, -1}, {SCHED_BW, 0, 0, -1, -1}},
         {{SCHED_FB, 0, 1, 0, 1}},
         2,
         1,
         "one micro-batch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sched_task *lists[] = {cases[i].r0, cases[i].r1};
        size_t counts[] = {cases[i].n0, cases[i].n1};
        sched *s = (sched *)1;
        ms_err err = {0};
        int rc = sched_from_lists(2, 2, 1, lists, counts, &s, &err);
        int ok = rc == MS_EINVAL && s == NULL && strstr(err.msg, cases[i].says) != NULL;
        if (!ok)
            printf("\n    case %zu: rc %d, message \"%s\", expected to say \"%s\"\n", i, rc,
                   err.msg, cases[i].says);
        CU_ASSERT(ok);
    }
}

static CU_TestInfo tests[] = {
    {"names, parsing and the list", test_names},
    {"every stage's F and backward run once, on its rank", test_every_chunk_once},
    {"1F1B p=2 m=2 by hand", test_by_hand},
    {"GPipe bubble (p-1)(F+B)", test_bubble_gpipe},
    {"1F1B bubble (p-1)(F+B)", test_bubble_1f1b},
    {"interleaved bubble (p-1)(F+B)/v", test_bubble_interleaved},
    {"ZB1P bubble (p-1)(F+B-2W)", test_bubble_zb1p},
    {"DualPipe bubble (p/2-1)(F&B+B-3W)", test_bubble_dualpipe},
    {"DualPipeV bubble (PP/2-1)(F&B+B-3W), PP = 2 ranks", test_bubble_dualpipev},
    {"DualPipe's bubble is on the middle ranks", test_dualpipe_bubble_ranks},
    {"DualPipe with F > B-W: (PP/2-1)(F&B+F-2W)", test_bubble_dual_long_forward},
    {"p2p delays", test_p2p},
    {"a schedule rebuilt from its lists", test_from_lists_roundtrip},
    {"each task's inputs and outputs, by hand", test_deps_by_hand},
    {"inputs and outputs agree over whole schedules", test_deps_agree},
    {"bad sizes are refused", test_bad_build},
    {"bad task times are refused", test_bad_times},
    {"an order that deadlocks is refused", test_deadlock},
    {"lists that do not cover are refused", test_bad_lists},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "sched", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_sched");
}
