/* Tests of kernel measurements (src/hw/kmeas) and the calibration fit
 * (src/hw/kfit): rows read and predicted by hand, bad files rejected, and
 * a fit that recovers the efficiencies and overhead that generated
 * synthetic measurements. Test chip X100: 1000 TFLOP/s bf16, 2 TB/s. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/calib.h"
#include "hw/kfit.h"
#include "hw/kmeas.h"
#include "test_assert.h"

static chip_db *db;

static int setup(void)
{
    ms_err err = {0};
    return chip_db_load("tests/data/chips_small.csv", &db, &err) != MS_OK;
}

static int teardown(void)
{
    chip_db_free(db);
    return 0;
}

static const char *temp_file(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/megasim_kmeas_XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static kmeas_set *load_text(const char *text, int expect_rc, const char *expect_msg)
{
    kmeas_set *set = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(kmeas_new(db, "tests/data/devices_small.csv", &set, &err) == MS_OK);
    const char *path = temp_file(text);
    int rc = kmeas_add_file(set, path, &err);
    int ok =
        rc == expect_rc && (!expect_msg || (strstr(err.msg, expect_msg) && strstr(err.msg, path)));
    if (!ok)
        printf("\n    rc %d \"%s\"; expected %d \"%s\"\n", rc, err.msg, expect_rc,
               expect_msg ? expect_msg : "");
    CU_ASSERT(ok);
    unlink(path);
    return set;
}

#define PUB_HEAD                                                                                   \
    "chip,kernel,kind,shape,precision,m,n,k,count,flops,bytes,time_s,achieved_flop_per_s,"         \
    "achieved_bytes_per_s,source\n"
#define PUB_HEAD_SMS                                                                               \
    "chip,kernel,kind,shape,precision,m,n,k,count,achieved_flop_per_s,achieved_bytes_per_s,"       \
    "source,sms_used\n"
#define RES_HEAD                                                                                   \
    "device,driver,cuda_runtime,sm_clock_MHz,mem_clock_MHz,date,kernel,kind,shape,precision,m,n,"  \
    "k,flops,bytes,time_s,achieved_flop_per_s,achieved_bytes_per_s,runs\n"

/* By hand, at peak: a 4096^3 bf16 GEMM is 137,438,953,472 FLOP over
 * 100,663,296 B: compute-bound, 137.4 us, 1000 TFLOP/s. A best-case
 * bandwidth row is held against 2 TB/s. A measured 1 GB copy at 1 ms
 * (2e9 bytes moved) is 2 TB/s measured, predicted 2 TB/s at peak. */
static void test_rows_and_predictions(void)
{
    kmeas_set *set = load_text(PUB_HEAD "X100,g,gemm,s,bf16,4096,4096,4096,,,,,800e12,,paper A\n"
                                        "X100,b,stream,best,fp32,,,,,,,,,1.5e12,paper B\n"
                                        "X100,a,attention,best,bf16,,,,,,,,600e12,,paper C\n",
                               MS_OK, NULL);
    CU_ASSERT_EQUAL_FATAL(kmeas_count(set), 3);
    const kmeas_row *g = kmeas_at(set, 0), *b = kmeas_at(set, 1), *a = kmeas_at(set, 2);
    CU_ASSERT(g->flops == 2.0 * 4096 * 4096 * 4096 && g->bytes == 3.0 * 4096 * 4096 * 2);
    CU_ASSERT(g->metric == KMEAS_FLOP_RATE && g->measured == 800e12);
    roof_eff peak = ROOF_EFF_PEAK, half = {.compute = 0.5, .memory = 0.5};
    MS_ASSERT_WITHIN(kmeas_predict(g, &peak), 1000e12, 1e3);
    MS_ASSERT_WITHIN(kmeas_predict(g, &half), 500e12, 1e3);
    CU_ASSERT(b->metric == KMEAS_BYTE_RATE && isnan(b->bytes));
    CU_ASSERT(kmeas_predict(b, &peak) == 2e12 && kmeas_predict(b, &half) == 1e12);
    CU_ASSERT(a->metric == KMEAS_FLOP_RATE && kmeas_predict(a, &half) == 500e12);
    CU_ASSERT_STRING_EQUAL(g->source, "paper A");
    kmeas_free(set);

    set = load_text(
        RES_HEAD "Test X100 80GB,1,1,1,1,2026-11-23,copy,stream,bytes=1e9,fp32,,,,0,2e9,1e-3,,,5\n"
                 "Test X100 80GB,1,1,1,1,2026-11-23,empty,launch,-,fp32,,,,0,0,4e-6,,,5\n",
        MS_OK, NULL);
    CU_ASSERT_EQUAL_FATAL(kmeas_count(set), 2);
    const kmeas_row *c = kmeas_at(set, 0), *l = kmeas_at(set, 1);
    CU_ASSERT(c->chip == chip_db_find(db, "X100") && c->measured == 2e12);
    MS_ASSERT_WITHIN(kmeas_predict(c, &peak), 2e12, 1);
    roof_eff oh = {.compute = 1, .memory = 1, .overhead_s = 1e-3, .overhead_source = "x"};
    MS_ASSERT_WITHIN(kmeas_predict(c, &oh), 1e12, 1); /* 1 ms + 1 ms */
    CU_ASSERT(l->metric == KMEAS_TIME && l->measured == 4e-6);
    CU_ASSERT(isnan(kmeas_predict(l, &peak))); /* no overhead calibrated */
    CU_ASSERT(kmeas_predict(l, &oh) == 1e-3);
    kmeas_free(set);

    /* A published streaming rate at a stated size is timed: 64 KiB at
     * 26.2144 GB/s is 2.5 us, and a 2 us launch cost at peak (2 TB/s:
     * 0.032768 us of traffic) predicts 65536 B / 2.032768 us. The same
     * rate without a size stays a best case against bandwidth alone. */
    set = load_text(PUB_HEAD "X100,s,stream,small,fp64,,,,,,65536,,,26.2144e9,paper D\n"
                             "X100,s,stream,best,fp64,,,,,,,,,26.2144e9,paper D\n",
                    MS_OK, NULL);
    CU_ASSERT_EQUAL_FATAL(kmeas_count(set), 2);
    const kmeas_row *sm = kmeas_at(set, 0), *bc = kmeas_at(set, 1);
    CU_ASSERT(sm->metric == KMEAS_BYTE_RATE && sm->bytes == 65536);
    MS_ASSERT_WITHIN(sm->measured, 26.2144e9, 1);
    roof_eff launch = {.compute = 1, .memory = 1, .overhead_s = 2e-6, .overhead_source = "x"};
    MS_ASSERT_WITHIN(kmeas_predict(sm, &launch), 65536 / 2.032768e-6, 1);
    CU_ASSERT(isnan(bc->bytes) && kmeas_predict(bc, &launch) == 2e12);
    kmeas_free(set);
}

/* Refined kinds: a class of GEMMs given by its rate alone, and kernels
 * that ran on 75 of X100's 100 SMs, scaled to the whole chip. */
static void test_refined_kinds_and_sms(void)
{
    kmeas_set *set = load_text(PUB_HEAD_SMS "X100,t,gemm_train,layers,fp8,,,,,600e12,,profile,75\n"
                                            "X100,q,quant,layers,fp8,,,,,,0.6e12,profile,75\n"
                                            "X100,g,gemm,s,bf16,4096,4096,4096,,800e12,,paper A,\n",
                               MS_OK, NULL);
    CU_ASSERT_EQUAL_FATAL(kmeas_count(set), 3);
    const kmeas_row *t = kmeas_at(set, 0), *q = kmeas_at(set, 1), *g = kmeas_at(set, 2);
    CU_ASSERT(t->metric == KMEAS_FLOP_RATE);
    MS_ASSERT_WITHIN(t->measured, 800e12, 1);
    CU_ASSERT(isnan(t->flops) && kmeas_prec_key(t) == MS_FP8);
    roof_eff half = {.compute = 0.5, .memory = 0.5};
    CU_ASSERT(kmeas_predict(t, &half) == 1000e12); /* 2000 TFLOP/s fp8 peak x 0.5 */
    CU_ASSERT(q->metric == KMEAS_BYTE_RATE);
    MS_ASSERT_WITHIN(q->measured, 0.8e12, 1);
    CU_ASSERT(kmeas_prec_key(q) == -1 && kmeas_predict(q, &half) == 1e12);
    CU_ASSERT(g->measured == 800e12); /* blank: all SMs */
    kmeas_free(set);
    kmeas_free(load_text(PUB_HEAD_SMS "X100,t,gemm_train,l,fp8,,,,,600e12,,p,101\n", MS_EINVAL,
                         "column 'sms_used': expected 1 to the SMs of the chip (100)"));
    kmeas_free(load_text(PUB_HEAD_SMS "X100,t,gemm_train,l,fp8,,,,,600e12,,p,0\n", MS_EINVAL,
                         "column 'sms_used'"));
    kmeas_free(load_text(PUB_HEAD_SMS "Y10,t,gemm_train,l,bf16,,,,,60e12,,p,1\n", MS_EINVAL,
                         "column 'sms_used'")); /* no SM count known */
}

static void test_bad_files(void)
{
    kmeas_free(load_text(RES_HEAD "NVIDIA Q999,1,1,1,1,d,copy,stream,s,fp32,,,,0,2e9,1e-3,,,5\n",
                         MS_EINVAL, ":2: column 'device': unknown device 'NVIDIA Q999'"));
    kmeas_free(load_text("device,kernel,shape,precision\nTest X100 80GB,k,s,fp32\n", MS_EPARSE,
                         ":1: missing column 'kind'"));
    kmeas_free(load_text("kernel,kind,shape,precision\nk,gemm,s,bf16\n", MS_EPARSE,
                         "missing column 'chip' (a published table) or 'device'"));
    kmeas_free(load_text(PUB_HEAD "Y99,g,gemm,s,bf16,1,1,1,,,,,1e12,,p\n", MS_EINVAL,
                         ":2: column 'chip': unknown chip 'Y99'"));
    kmeas_free(load_text(PUB_HEAD "X100,g,gemm,s,bf16,,1,1,,,,,1e12,,p\n", MS_EINVAL,
                         "a GEMM row needs its shape"));
    /* Found by fuzz/fuzz_kmeas: a side beyond int64_t was converted to it. */
    kmeas_free(load_text(PUB_HEAD "X100,g,gemm,s,bf16,1e31,1,1,,,,,1e12,,p\n", MS_EINVAL,
                         ":2: column 'm': expected a whole number from 1 to 1e9, got 1e31"));
    kmeas_free(load_text(PUB_HEAD "X100,g,gemm,s,bf16,1,64.5,1,,,,,1e12,,p\n", MS_EINVAL,
                         ":2: column 'n': expected a whole number from 1 to 1e9, got 64.5"));
    kmeas_free(load_text(PUB_HEAD "X100,g,gemm,s,bf16,1,1,1,,,,,-5,,p\n", MS_EINVAL,
                         "column 'achieved_flop_per_s': expected a number >= 0"));
    kmeas_free(load_text(PUB_HEAD "X100,g,stream,s,fp32,,,,,,,,,,p\n", MS_EINVAL,
                         "the row has nothing measured"));
    kmeas_free(load_text(PUB_HEAD "X100,g,conv,s,fp32,,,,,,,,,1e12,p\n", MS_EINVAL,
                         "column 'kind': expected one of gemm, stream"));
    kmeas_free(load_text("chip,kernel,kind,shape,precision\nX100,g,stream,s,fp32\n", MS_EPARSE,
                         "missing column 'source'"));
}

/* Synthetic GEMMs timed with eta_c 0.7, eta_m 0.6, 3 us of overhead and
 * the overlap exponent truth_p: the fit must give them back, exponent
 * included. Shapes span memory- and compute-bound, and the ridge. */
static void fit_recovers(double truth_p)
{
    static const int shapes[][3] = {{1, 8192, 8192},    {8, 8192, 8192},    {64, 8192, 8192},
                                    {256, 8192, 8192},  {1024, 8192, 8192}, {4096, 4096, 4096},
                                    {8192, 8192, 8192}, {16, 4096, 7168},   {32, 7168, 2048},
                                    {2048, 2048, 2048}, {512, 512, 512},    {128, 128, 128}};
    roof_eff truth = {.compute = 0.7, .memory = 0.6, .overhead_s = 3e-6, .overlap_p = truth_p};
    char text[8192] = PUB_HEAD;
    const chip *x = chip_db_find(db, "X100");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        roof_op op = roof_gemm(shapes[i][0], shapes[i][1], shapes[i][2], MS_BF16);
        roof_result r;
        CU_ASSERT_FATAL(roof_time(x, &op, &truth, &r, NULL) == MS_OK);
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "X100,g,gemm,s,bf16,%d,%d,%d,,,,%.17g,,,synthetic\n", shapes[i][0], shapes[i][1],
                 shapes[i][2], r.time_s);
    }
    kmeas_set *set = load_text(text, MS_OK, NULL);
    kfit_group *groups = NULL;
    size_t n = 0;
    ms_err err = {0};
    kfit_overlap ov = {0};
    CU_ASSERT_FATAL(kfit_run(set, &groups, &n, &ov, &err) == MS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    const kfit_group *g = &groups[0];
    /* On the grid the truth alone leaves (next to) no residual; off it,
     * the refinement between the grid's best and its neighbours finds it,
     * and leaves less than any of the grid. */
    CU_ASSERT_EQUAL(ov.p, truth_p); /* on the grid, or on an eighth: rounded back to it */
    CU_ASSERT_EQUAL(g->eff.overlap_p, truth_p);
    MS_ASSERT_WITHIN(ov.p_refined, truth_p, 2 * KFIT_P_TOL);
    CU_ASSERT(ov.ss_p < 1e-7);
    for (size_t i = 0; i < KFIT_OVERLAP_N; i++) {
        int truth = kfit_overlap_grid[i] == truth_p;
        /* p = 6 is near the max: 1e-6 from it, still a hundred times
         * the truth's. */
        CU_ASSERT(truth ? ov.ss[i] < 1e-8 : ov.ss[i] > 5e-7 && ov.ss[i] > 10 * ov.ss_p);
    }
    CU_ASSERT(g->ntrain == 10 && g->nheld == 2); /* rows 5 and 10 held out */
    CU_ASSERT(kfit_held_out(set, 4) && kfit_held_out(set, 9) && !kfit_held_out(set, 3));
    CU_ASSERT(g->has_compute && g->has_memory && g->has_overhead);
    int ok = fabs(g->eff.compute - 0.7) < 1e-3 && fabs(g->eff.memory - 0.6) < 1e-3 &&
             fabs(g->eff.overhead_s - 3e-6) < 3e-8;
    if (!ok)
        printf("\n    fit %.5f %.5f %.4g s; expected 0.7 0.6 3e-6\n", g->eff.compute, g->eff.memory,
               g->eff.overhead_s);
    CU_ASSERT(ok);
    CU_ASSERT_STRING_EQUAL(g->measured_on, "X100");
    CU_ASSERT(g->log_sd >= 0 && g->log_sd < 1e-3); /* the rows are the model's own times */
    /* Every figure pinned down: a covariance with three positive variances
     * and correlations within +-1. */
    for (int i = 0; i < 3; i++) {
        CU_ASSERT(g->log_cov[calib_cov_at(i, i)] > 0);
        for (int j = i + 1; j < 3; j++)
            CU_ASSERT(fabs(g->log_cov[calib_cov_at(i, j)]) <=
                      sqrt(g->log_cov[calib_cov_at(i, i)] * g->log_cov[calib_cov_at(j, j)]));
    }

    /* Written over a copy of a calibration file: the hopper gemm bf16 row
     * is added, the others kept, and roof lookups then use the fit. */
    char out[] = "/tmp/megasim_eff_XXXXXX";
    int fd = mkstemp(out);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(
        kfit_write("tests/data/efficiency_small.csv", out, groups, n, "synthetic", &err) == MS_OK);
    calib *cal = NULL;
    CU_ASSERT_FATAL(calib_load(out, &cal, &err) == MS_OK);
    roof_eff e = calib_eff(cal, x, "gemm", MS_BF16);
    MS_ASSERT_WITHIN(e.compute, 0.7, 1e-3);
    MS_ASSERT_WITHIN(e.overlap_p, truth_p, 2 * KFIT_P_TOL); /* blank (max) when 0 */
    MS_ASSERT_WITHIN(e.overhead_s, 3e-6, 1e-8);
    CU_ASSERT(e.compute_source && strstr(e.compute_source, "fitted by 'megasim calibrate'"));
    e = calib_eff(cal, x, "gemm", MS_FP8); /* kept from the original file */
    CU_ASSERT(e.compute_source && strstr(e.compute_source, "DeepGEMM"));
    /* The original has no log_sd column: its rows keep theirs blank (an
     * estimate, the pooled spread, is then used), the fitted row has one. */
    int est = 0;
    size_t last = calib_count(cal) - 1;
    MS_ASSERT_WITHIN(calib_row_sd(cal, last, &est), g->log_sd, 1e-4);
    CU_ASSERT(!est);
    calib_row_sd(cal, 0, &est);
    CU_ASSERT(est);
    calib_free(cal);
    unlink(out);
    free(groups);
    kmeas_free(set);
}

static void test_fit_recovers(void)
{
    fit_recovers(0); /* the roofline's max */
    fit_recovers(2);
    fit_recovers(1.375); /* between the grid's 1.25 and 1.5 */
}

static double parabola(double p, void *arg)
{
    int *calls = arg;
    (*calls)++;
    return (p - 1.6) * (p - 1.6) + 0.1;
}

/* The exponent's refinement by hand: a parabola's least between three
 * values that bracket it, and the middle one back where they do not. */
static void test_refine_exponent(void)
{
    int calls = 0;
    double lo = parabola(1.25, &calls), mid = parabola(1.5, &calls), hi = parabola(1.75, &calls);
    calls = 0;
    double least = NAN;
    double p = kfit_refine_p(1.25, lo, 1.5, mid, 1.75, hi, parabola, &calls, &least);
    MS_ASSERT_WITHIN(p, 1.6, KFIT_P_TOL);
    MS_ASSERT_WITHIN(least, 0.1, 1e-6); /* the parabola's value there, (p - 1.6)^2 + 0.1 */
    CU_ASSERT(calls > 0 && calls <= 60);
    /* 1.75's value is not above both ends' when the middle is 2: no
     * bracket, the middle comes back, and nothing is evaluated. */
    calls = 0;
    CU_ASSERT_EQUAL(kfit_refine_p(1.5, parabola(1.5, &calls), 1.75, parabola(1.75, &calls), 2,
                                  parabola(2, &calls), parabola, &calls, &least),
                    1.75);
    CU_ASSERT_EQUAL(calls, 3);
    CU_ASSERT_EQUAL(least, parabola(1.75, &calls)); /* the middle's own value */
    /* An end below p = 1 (the grid's max and 1 are not a continuum). */
    CU_ASSERT_EQUAL(kfit_refine_p(0, 1, 1.5, mid, 1.75, hi, parabola, &calls, &least), 1.5);
    CU_ASSERT_EQUAL(least, mid);
}

/* Rows of X100 GEMMs of each shape of m, n, k in sides[] at prec, timed
 * with eta_c 0.7, eta_m 0.6, 3 us of overhead and exponent p, appended
 * to text (room cap). */
static void add_gemm_rows(char *text, size_t cap, ms_prec prec, double p, const int *sides,
                          size_t nsides)
{
    roof_eff truth = {.compute = 0.7, .memory = 0.6, .overhead_s = 3e-6, .overlap_p = p};
    const chip *x = chip_db_find(db, "X100");
    for (size_t a = 0; a < nsides; a++)
        for (size_t b = 0; b < nsides; b++)
            for (size_t c = 0; c < nsides; c++) {
                roof_op op = roof_gemm(sides[a], sides[b], sides[c], prec);
                roof_result r;
                CU_ASSERT_FATAL(roof_time(x, &op, &truth, &r, NULL) == MS_OK);
                size_t used = strlen(text);
                snprintf(text + used, cap - used,
                         "X100,g,gemm,s,%s,%d,%d,%d,,,,%.17g,,,synthetic\n", ms_prec_name(prec),
                         sides[a], sides[b], sides[c], r.time_s);
            }
}

/* A group of KFIT_OWN_P_ROWS fitted rows or more picks its own exponent;
 * the groups of fewer share theirs, which the big one does not sway. */
static void test_fit_own_exponent(void)
{
    static const int big[] = {64, 256, 1024, 4096, 16384}; /* 125 shapes, 100 fitted */
    static const int small[] = {16, 1024, 8192};           /* 27 shapes */
    size_t cap = 64 * 1024;
    char *text = calloc(cap, 1);
    CU_ASSERT_FATAL(text != NULL);
    strcpy(text, PUB_HEAD);
    add_gemm_rows(text, cap, MS_BF16, 3, big, 5);
    add_gemm_rows(text, cap, MS_FP8, 2, small, 3);
    kmeas_set *set = load_text(text, MS_OK, NULL);
    free(text);
    kfit_group *groups = NULL;
    size_t n = 0;
    ms_err err = {0};
    kfit_overlap ov = {0};
    CU_ASSERT_FATAL(kfit_run(set, &groups, &n, &ov, &err) == MS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    const kfit_group *g16 = groups[0].prec_key == MS_BF16 ? &groups[0] : &groups[1];
    const kfit_group *g8 = g16 == &groups[0] ? &groups[1] : &groups[0];
    CU_ASSERT(g16->ntrain == 100 && g16->nheld == 25);
    CU_ASSERT(g8->ntrain < KFIT_OWN_P_ROWS);
    /* Each group at its own truth: had the shared exponent been chosen
     * over every row, the 100 rows at p = 3 would have decided it. */
    CU_ASSERT_EQUAL(g16->eff.overlap_p, 3);
    CU_ASSERT_EQUAL(g8->eff.overlap_p, 2);
    CU_ASSERT_EQUAL(ov.p, 2);
    CU_ASSERT_EQUAL(ov.own, 1);
    /* The shared sums are the small group's alone: next to nothing at its
     * truth, more elsewhere. */
    for (size_t i = 0; i < KFIT_OVERLAP_N; i++)
        CU_ASSERT(kfit_overlap_grid[i] == 2 ? ov.ss[i] < 1e-8 : ov.ss[i] > 1e-8);
    MS_ASSERT_WITHIN(g16->eff.compute, 0.7, 1e-3);
    MS_ASSERT_WITHIN(g8->eff.compute, 0.7, 1e-3);
    free(groups);
    kmeas_free(set);
}

/* Only best-case bandwidth rows: the fit pins down memory, leaves compute. */
static void test_fit_leaves_unknowns_blank(void)
{
    kmeas_set *set = load_text(PUB_HEAD "X100,s,stream,best,fp32,,,,,,,,,1.6e12,p\n"
                                        "X100,s,stream,best,fp32,,,,,,,,,1.5e12,p\n",
                               MS_OK, NULL);
    kfit_group *groups = NULL;
    size_t n = 0;
    ms_err err = {0};
    CU_ASSERT_FATAL(kfit_run(set, &groups, &n, NULL, &err) == MS_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT(groups[0].has_memory && !groups[0].has_compute && !groups[0].has_overhead);
    /* The geometric mean of 0.8 and 0.75, what least squares on logs gives. */
    MS_ASSERT_WITHIN(groups[0].eff.memory, sqrt(0.8 * 0.75), 1e-4);
    /* Residuals +-ln(0.8 / 0.75) / 2, one figure fitted to two rows:
     * sqrt(2 (ln(16/15) / 2)^2 / (2 - 1)) = ln(16/15) / sqrt(2) = 0.045636. */
    MS_ASSERT_WITHIN(groups[0].log_sd, log(16.0 / 15) / sqrt(2), 1e-4);
    /* Each row's log(predicted / measured) moves one for one with log
     * memory_eff: J = (1, 1), (J^T J)^-1 = 1/2; nothing else pinned down. */
    MS_ASSERT_WITHIN(groups[0].log_cov[calib_cov_at(1, 1)], 0.5, 1e-6);
    for (int i = 0; i < 3; i++)
        for (int j = i; j < 3; j++)
            if (i != 1 || j != 1)
                CU_ASSERT(groups[0].log_cov[calib_cov_at(i, j)] == 0);
    CU_ASSERT(groups[0].prec_key == -1);
    free(groups);
    kmeas_free(set);
}

/* The spread with one degree of freedom taken per fitted figure. */
static void test_spread(void)
{
    MS_ASSERT_WITHIN(kfit_spread(0.08, 4, 2), 0.2, 1e-12); /* sqrt(0.08 / 2) */
    MS_ASSERT_WITHIN(kfit_spread(0.09, 10, 1), 0.1, 1e-12);
    CU_ASSERT(isnan(kfit_spread(0.5, 2, 2)) && isnan(kfit_spread(0, 1, 3)));
}

static CU_TestInfo tests[] = {
    {"residual spread by hand", test_spread},
    {"rows and hand-computed predictions", test_rows_and_predictions},
    {"refined kinds and kernels on fewer SMs", test_refined_kinds_and_sms},
    {"bad measurement files", test_bad_files},
    {"fit recovers known efficiencies", test_fit_recovers},
    {"the shared exponent refined between grid points", test_refine_exponent},
    {"fit leaves what rows do not say blank", test_fit_leaves_unknowns_blank},
    {"a group of many rows picks its own exponent", test_fit_own_exponent},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "kmeas", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_kmeas");
}
