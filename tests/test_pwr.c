/* Tests of the power model (src/power/pwr): a GPU's mean draw over mixed
 * work by hand, the server share, a series whose energy is the integral
 * of what was added, per-GPU energy never above TDP x time, smoothing
 * raising the floor and shrinking the swing, and the errors. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "power/pwr.h"
#include "test_assert.h"

/* The H100 row of hwdb/power.csv's shape with round figures. */
static pwr_levels levels(void)
{
    return (pwr_levels){.matrix_w = 700,
                        .memory_w = 400,
                        .comm_w = 200,
                        .idle_w = 100,
                        .node_gpus = 8,
                        .node_other_w = 4800,
                        .node_other_idle_w = 2400};
}

static void test_gpu_by_hand(void)
{
    pwr_levels l = levels();
    /* 1 s of matrix, 2 s of memory, 1 s of comm, 6 s idle: (700 + 800 +
     * 200 + 600) / 10 = 230 W. */
    MS_ASSERT_WITHIN(pwr_gpu_w(&l, 100, 1, 2, 1, 10), 230, 1e-12);
    /* Busy beyond the interval is clipped to it, shares kept. */
    MS_ASSERT_WITHIN(pwr_gpu_w(&l, 100, 2, 2, 0, 2), 550, 1e-12);
    /* A floor of 350 W: idle and comm rise to it, memory stays 400. */
    MS_ASSERT_WITHIN(pwr_gpu_w(&l, 350, 1, 2, 1, 10), (700 + 800 + 350 + 6 * 350) / 10.0, 1e-12);
    /* The server's 2,400-4,800 W over 8 GPUs follows the GPU: at idle 300
     * W a GPU, at matrix 600, halfway (400 W GPU) 450. */
    MS_ASSERT_WITHIN(pwr_it_per_gpu_w(&l, 100), 100 + 300, 1e-12);
    MS_ASSERT_WITHIN(pwr_it_per_gpu_w(&l, 700), 700 + 600, 1e-12);
    MS_ASSERT_WITHIN(pwr_it_per_gpu_w(&l, 400), 400 + 450, 1e-12);
    pwr_site s = {.pue = 1.2, .floor_frac = 0.5};
    MS_ASSERT_WITHIN(pwr_floor_w(&l, &s), 350, 1e-12);
    s.floor_frac = 0.1;
    MS_ASSERT_WITHIN(pwr_floor_w(&l, &s), 100, 1e-12); /* never below idle */
}

/* A limit of 500 W on the round H100: levels above it capped, the
 * server following what the GPU draws, the clock the cube root of the
 * dynamic power left, (400 / 600)^(1/3). */
static void test_limit(void)
{
    pwr_levels l = levels();
    MS_ASSERT_WITHIN(pwr_limit_clock_frac(&l), 1, 0); /* no limit */
    l.limit_w = 500;
    MS_ASSERT_WITHIN(pwr_limit_clock_frac(&l), 0.8735804647362989, 1e-12);
    /* 1 s of matrix (capped 500), 2 s of memory (400), 1 s comm, 6 s idle. */
    MS_ASSERT_WITHIN(pwr_gpu_w(&l, 100, 1, 2, 1, 10), (500 + 800 + 200 + 600) / 10.0, 1e-12);
    /* The server at a 500 W GPU: two thirds of the way from idle, 2,400 + 2,400 x 2/3. */
    MS_ASSERT_WITHIN(pwr_it_per_gpu_w(&l, 500), 500 + 4000 / 8.0, 1e-12);
    pwr_site s = {.pue = 1.2, .floor_frac = 0.9};
    MS_ASSERT_WITHIN(pwr_floor_w(&l, &s), 500, 1e-12); /* a floor no higher than the limit */
    l.limit_w = 800;                                   /* above matrix power: no effect */
    MS_ASSERT_WITHIN(pwr_limit_clock_frac(&l), 1, 0);
    MS_ASSERT_WITHIN(pwr_gpu_w(&l, 100, 1, 2, 1, 10), 230, 1e-12);
}

typedef struct work {
    double start, dur, matrix, memory, comm, gpus;
} work;

static const work jobs[] = {
    {0.00, 0.40, 0.30, 0.05, 0.05, 64},  {0.10, 0.25, 0.00, 0.20, 0.05, 32},
    {0.55, 0.30, 0.10, 0.10, 0.10, 128}, {0.95, 0.20, 0.00, 0.00, 0.20, 128},
    {1.20, 0.10, 0.10, 0.00, 0.00, 16},  {1.40, 0.75, 0.50, 0.30, 0.00, 64}, /* past the end */
};

static void build(pseries *it, pseries *gpu, const pwr_site *s, double gpus, double span)
{
    pwr_levels l = levels();
    pwr_add_baseline(it, gpu, &l, s, gpus, 0, span);
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++)
        pwr_add_work(it, gpu, &l, s, jobs[i].gpus, jobs[i].start, jobs[i].dur, jobs[i].matrix,
                     jobs[i].memory, jobs[i].comm);
}

/* The series' energy is the baseline's plus each interval's, worked out
 * from the levels; no GPU ever draws above its matrix power (its TDP). */
static void test_energy_integral(void)
{
    pwr_levels l = levels();
    pwr_site s = {.pue = 1.3, .switch_w = 1000, .switches = 3};
    double span = 2.0, gpus = 256;
    pseries *it, *gpu;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(pseries_new(0, span, 0.03, &it, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(pseries_new(0, span, 0.03, &gpu, &err), MS_OK);
    build(it, gpu, &s, gpus, span);
    double e_it = span * (gpus * pwr_it_per_gpu_w(&l, 100) + 3000), e_gpu = span * gpus * 100;
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        const work *j = &jobs[i];
        double w = pwr_gpu_w(&l, 100, j->matrix, j->memory, j->comm, j->dur);
        double inside = fmin(j->start + j->dur, span) - j->start; /* clipped to the span */
        e_gpu += j->gpus * (w - 100) * inside;
        e_it += j->gpus * (pwr_it_per_gpu_w(&l, w) - pwr_it_per_gpu_w(&l, 100)) * inside;
    }
    MS_ASSERT_NEAR(pseries_energy_j(it), e_it, 1e-6);
    MS_ASSERT_NEAR(pseries_energy_j(gpu), e_gpu, 1e-6);
    double sum = 0;
    for (size_t i = 0; i < pseries_bins(it); i++)
        sum += pseries_power_w(it, i) * pseries_bin_len_s(it, i);
    MS_ASSERT_NEAR(pseries_energy_j(it), sum, 1e-9);
    /* Per GPU: never above 700 W in any bin, so energy <= TDP x time. */
    for (size_t i = 0; i < pseries_bins(gpu); i++)
        CU_ASSERT(pseries_power_w(gpu, i) <= gpus * 700 * (1 + 1e-12));
    CU_ASSERT(pseries_energy_j(gpu) <= gpus * 700 * span);
    pseries_free(it);
    pseries_free(gpu);
}

/* A floor at half of matrix power costs energy and shrinks the drops. */
static void test_smoothing(void)
{
    pwr_site raw = {.pue = 1.2}, smooth = {.pue = 1.2, .floor_frac = 0.5};
    pseries *a, *b;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(pseries_new(0, 2, 0.01, &a, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(pseries_new(0, 2, 0.01, &b, &err), MS_OK);
    build(a, NULL, &raw, 128, 2);
    build(b, NULL, &smooth, 128, 2);
    pseries_stats sa = pseries_stats_of(a), sb = pseries_stats_of(b);
    CU_ASSERT(sb.energy_j > sa.energy_j);
    CU_ASSERT(sb.min_w > sa.min_w);
    CU_ASSERT(sb.swing_max_w < sa.swing_max_w);
    CU_ASSERT(sb.peak_w >= sa.peak_w); /* a floor only adds: idle GPUs beside busy ones rise */
    for (size_t i = 0; i < pseries_bins(a); i++)
        CU_ASSERT(pseries_power_w(b, i) >= pseries_power_w(a, i) - 1e-9);
    pseries_free(a);
    pseries_free(b);
}

static void test_errors(void)
{
    static const struct {
        int what;
        double v;
        const char *has;
    } cases[] = {
        {0, 0, "matrix_W"},
        {1, 800, "memory_W <= matrix_W"},
        {2, 0.9, "--pue"},
        {3, 1.5, "--power-floor"},
        {4, 9000, "node_other_idle_W"},
        {5, 100, "--gpu-power-limit"},
        {5, INFINITY, "--gpu-power-limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pwr_levels l = levels();
        pwr_site s = {.pue = 1.2};
        switch (cases[i].what) {
        case 0:
            l.matrix_w = cases[i].v;
            break;
        case 1:
            l.memory_w = cases[i].v;
            break;
        case 2:
            s.pue = cases[i].v;
            break;
        case 3:
            s.floor_frac = cases[i].v;
            break;
        case 4:
            l.node_other_idle_w = cases[i].v;
            break;
        default:
            l.limit_w = cases[i].v;
        }
        ms_err err = {0};
        /* An error that names an option is bad usage; any other, a bad value. */
        CU_ASSERT_EQUAL(pwr_check(&l, &s, "X", &err), err.msg[0] == '-' ? MS_EUSAGE : MS_EINVAL);
        CU_ASSERT(strstr(err.msg, cases[i].has) != NULL);
    }
    pwr_levels l = levels();
    pwr_site s = {.pue = 1.2};
    ms_err err = {0};
    CU_ASSERT_EQUAL(pwr_check(&l, &s, "X", &err), MS_OK);
}

static CU_TestInfo tests[] = {
    {"a GPU's mean draw and its server share by hand", test_gpu_by_hand},
    {"a power limit caps the levels and lowers the clock", test_limit},
    {"energy is the integral; per GPU at most TDP x time", test_energy_integral},
    {"smoothing raises the floor and shrinks drops", test_smoothing},
    {"errors name the figure", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "pwr", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_pwr");
}
