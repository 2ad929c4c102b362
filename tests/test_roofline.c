/* Tests of the roofline arithmetic (src/hw/roofline) against hand-computed
 * cases, and of the calibration file (src/hw/calib). The test chip X100
 * has round figures: 1000 TFLOP/s bf16, 2000 fp8, 2 TB/s HBM. */
#include <CUnit/Basic.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/calib.h"
#include "hw/chip.h"
#include "hw/roofline.h"
#include "test_assert.h"
#include "test_calib.h"
#include "test_tmp.h"

static chip_db *db;
static const chip *x100;

static int setup(void)
{
    ms_err err = {0};
    if (chip_db_load("tests/data/chips_small.csv", &db, &err) != MS_OK) {
        printf("%s\n", err.msg);
        return 1;
    }
    x100 = chip_db_find(db, "X100");
    return x100 == NULL;
}

static int teardown(void)
{
    chip_db_free(db);
    return 0;
}

/* Each case worked by hand:
 *  8192^3 bf16: 2*8192^3 = 1.099511627776e12 FLOP; 3*8192^2*2 B = 402653184 B.
 *    compute 1.0995e12/1e15 = 1.099511627776e-3 s > memory 4.0265e8/2e12 = 2.01e-4 s.
 *  64x8192x8192 bf16: 8589934592 FLOP; (64*8192 + 8192^2 + 64*8192)*2 = 136314880 B.
 *    memory 6.815744e-5 s > compute 8.589934592e-6 s; intensity 63.015...
 *  copy of 1 GB: 0 FLOP, memory 1e9/2e12 = 5e-4 s.
 *  1e12 FLOP over 2e9 B: both bounds 1e-3 s exactly: a tie reads compute.
 *  fp8 8192^3 at 2000 TFLOP/s with C in bf16: (2*8192^2*1 + 8192^2*2) B. */
static void test_hand_cases(void)
{
    static const struct {
        const char *what;
        roof_op op;
        roof_eff eff;
        double time_s, intensity;
        roof_bound bound;
    } cases[] = {
        {"8192^3 bf16",
         {"gemm", MS_BF16, 1099511627776.0, 402653184.0},
         ROOF_EFF_PEAK,
         1.099511627776e-3,
         2730.6666667,
         ROOF_COMPUTE},
        {"64x8192x8192 bf16",
         {"gemm", MS_BF16, 8589934592.0, 136314880.0},
         ROOF_EFF_PEAK,
         6.815744e-5,
         63.0153846,
         ROOF_MEMORY},
        {"1 GB copy", {"stream", MS_BF16, 0, 1e9}, ROOF_EFF_PEAK, 5e-4, 0, ROOF_MEMORY},
        {"tie", {"stream", MS_BF16, 1e12, 2e9}, ROOF_EFF_PEAK, 1e-3, 500, ROOF_COMPUTE},
        {"8192^3 bf16 at half compute efficiency",
         {"gemm", MS_BF16, 1099511627776.0, 402653184.0},
         {.compute = 0.5, .memory = 1.0},
         2.199023255552e-3,
         2730.6666667,
         ROOF_COMPUTE},
        {"1 GB copy at 0.8 memory efficiency",
         {"stream", MS_BF16, 0, 1e9},
         {.compute = 1.0, .memory = 0.8},
         6.25e-4,
         0,
         ROOF_MEMORY},
        {"8192^3 fp8",
         {"gemm", MS_FP8, 1099511627776.0, 268435456.0},
         ROOF_EFF_PEAK,
         5.49755813888e-4,
         4096,
         ROOF_COMPUTE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        roof_result r;
        ms_err err = {0};
        int rc = roof_time(x100, &cases[i].op, &cases[i].eff, &r, &err);
        if (!MS_ASSERT_INT_EQ(rc, MS_OK)) {
            fprintf(stderr, "    case %s: %s\n", cases[i].what, err.msg);
            continue;
        }
        int ok = MS_ASSERT_NEAR(r.time_s, cases[i].time_s, 1e-9);
        ok &= MS_ASSERT_NEAR(r.intensity_flop_per_byte, cases[i].intensity, 1e-7);
        ok &= MS_ASSERT_STR_EQ(roof_bound_name(r.bound), roof_bound_name(cases[i].bound));
        ok &= MS_ASSERT_NEAR(r.attained_flop_per_s, cases[i].op.flops / cases[i].time_s, 1e-9);
        if (!ok)
            fprintf(stderr, "    case %s\n", cases[i].what);
    }
}

static void test_gemm_shapes(void)
{
    static const struct {
        int64_t m, n, k;
        ms_prec prec;
        double flops, bytes;
    } cases[] = {
        {8192, 8192, 8192, MS_BF16, 1099511627776.0, 402653184.0},
        {64, 8192, 8192, MS_BF16, 8589934592.0, 136314880.0},
        {1, 1, 1, MS_FP8, 2, 1 + 1 + 2}, /* C written in bf16 */
        {1, 1, 1, MS_FP4, 2, 0.5 + 0.5 + 2},
        {1, 1, 1, MS_INT8, 2, 1 + 1 + 4}, /* int32 accumulators */
        {2, 3, 4, MS_FP32, 48, (8 + 12 + 6) * 4.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        roof_op op = roof_gemm(cases[i].m, cases[i].n, cases[i].k, cases[i].prec);
        int ok = MS_ASSERT_NEAR(op.flops, cases[i].flops, 1e-15);
        ok &= MS_ASSERT_NEAR(op.bytes, cases[i].bytes, 1e-15);
        ok &= MS_ASSERT_INT_EQ(op.prec, cases[i].prec);
        ok &= MS_ASSERT_STR_EQ(op.kind, "gemm");
        if (!ok)
            fprintf(stderr, "    case gemm %lldx%lldx%lld %s\n", (long long)cases[i].m,
                    (long long)cases[i].n, (long long)cases[i].k, ms_prec_name(cases[i].prec));
    }
}

static void test_ridge(void)
{
    roof_eff peak = ROOF_EFF_PEAK, eff = {.compute = 0.5, .memory = 0.8};
    MS_ASSERT_NEAR(roof_ridge(x100, MS_BF16, &peak), 500, 1e-12);
    MS_ASSERT_NEAR(roof_ridge(x100, MS_FP8, &peak), 1000, 1e-12);
    MS_ASSERT_NEAR(roof_ridge(x100, MS_BF16, &eff), 312.5, 1e-12); /* 500e12 / 1.6e12 */
    CU_ASSERT(isnan(roof_ridge(x100, MS_FP4, &peak)));
}

/* The p-norm by hand: 3 and 4 at p = 2 is 5; at p = 1 their sum; 0 the
 * max; equal times at p = 1.5 are 2^(2/3) = 1.5874 of either. roof_time
 * applies it: an 8192^3 BF16 product on X100 (1.0995 ms of compute at
 * 1 PFLOP/s, 0.2013 ms of memory at 2 TB/s) at p = 2 takes
 * sqrt(1.0995^2 + 0.2013^2) = 1.1178 ms. */
static void test_combine(void)
{
    MS_ASSERT_NEAR(roof_combine(3, 4, 2), 5, 1e-12);
    MS_ASSERT_NEAR(roof_combine(3, 4, 1), 7, 1e-12);
    MS_ASSERT_NEAR(roof_combine(3, 4, 0), 4, 1e-12);
    MS_ASSERT_NEAR(roof_combine(2, 2, 1.5), 2 * pow(2, 2.0 / 3), 1e-10);
    MS_ASSERT_NEAR(roof_combine(2, 2, 3), 2 * cbrt(2), 1e-14);
    MS_ASSERT_NEAR(roof_combine(2, 2, 1.25), 2 * pow(2, 0.8), 1e-10);
    MS_ASSERT_NEAR(roof_combine(2, 2, 1.375), 2 * pow(2, 8.0 / 11), 1e-10);
    /* The shortcuts for 1.25 (within 3.4e-11), 1.375 (4.9e-11), 1.5 (6.3e-11), 2 and 3
     * agree with the general form. */
    for (double lo = 0; lo <= 1; lo += 1.0 / 1024) {
        double p15 = pow(1 + pow(lo, 1.5), 1 / 1.5), p2 = pow(1 + lo * lo, 0.5);
        MS_ASSERT_NEAR(roof_combine(lo * 3, 3, 1.5), 3 * p15, 1e-10); /* a polynomial */
        MS_ASSERT_NEAR(roof_combine(3, lo * 3, 2), 3 * p2, 1e-14);
        MS_ASSERT_NEAR(roof_combine(lo * 3, 3, 3), 3 * pow(1 + pow(lo, 3), 1 / 3.0), 1e-14);
        MS_ASSERT_NEAR(roof_combine(3, lo * 3, 1.25), 3 * pow(1 + pow(lo, 1.25), 0.8), 1.1e-10);
        MS_ASSERT_NEAR(roof_combine(lo * 3, 3, 1.375), 3 * pow(1 + pow(lo, 1.375), 1 / 1.375),
                       1.5e-10);
        for (int j = 1; j < 8; j++) { /* every eighth between 1 and 2 */
            double p = 1 + j / 8.0;
            MS_ASSERT_NEAR(roof_combine(3, lo * 3, p), 3 * pow(1 + pow(lo, p), 1 / p), 3e-10);
        }
    }
    CU_ASSERT_EQUAL(roof_combine(0, 5e-6, 1.5), 5e-6); /* a copy: its memory time alone */
    CU_ASSERT_EQUAL(roof_combine(0, 0, 2), 0);
    CU_ASSERT(roof_overlap_ok(0) && roof_overlap_ok(1) && roof_overlap_ok(40));
    CU_ASSERT(!roof_overlap_ok(0.5) && !roof_overlap_ok(-1) && !roof_overlap_ok(INFINITY) &&
              !roof_overlap_ok(NAN));
    roof_op op = {"gemm", MS_BF16, 1099511627776.0, 402653184.0};
    roof_eff eff = {.compute = 1, .memory = 1, .overlap_p = 2};
    roof_result r;
    CU_ASSERT_FATAL(roof_time(x100, &op, &eff, &r, NULL) == MS_OK);
    double tc = 1099511627776.0 / 1e15, tm = 402653184.0 / 2e12;
    MS_ASSERT_NEAR(r.time_s, sqrt(tc * tc + tm * tm), 1e-12);
    MS_ASSERT_NEAR(r.time_s, 1.1178e-3, 1e-4);
    CU_ASSERT_EQUAL(r.bound, ROOF_COMPUTE);
}

static void test_errors(void)
{
    static const struct {
        const char *what;
        roof_op op;
        roof_eff eff;
        const char *expect;
    } cases[] = {
        {"precision the chip lacks",
         {"gemm", MS_FP4, 1e9, 1e6},
         ROOF_EFF_PEAK,
         "X100 has no fp4 peak"},
        {"no bytes", {"gemm", MS_BF16, 1e9, 0}, ROOF_EFF_PEAK, "bytes must be"},
        {"negative FLOPs", {"gemm", MS_BF16, -1, 1e6}, ROOF_EFF_PEAK, "FLOPs must be"},
        {"NaN FLOPs", {"gemm", MS_BF16, NAN, 1e6}, ROOF_EFF_PEAK, "FLOPs must be"},
        {"zero efficiency",
         {"gemm", MS_BF16, 1e9, 1e6},
         {.compute = 0, .memory = 1},
         "efficiencies"},
        {"efficiency above 1",
         {"gemm", MS_BF16, 1e9, 1e6},
         {.compute = 1, .memory = 1.2},
         "efficiencies"},
        {"negative overhead",
         {"gemm", MS_BF16, 1e9, 1e6},
         {.compute = 1, .memory = 1, .overhead_s = -1e-6},
         "overhead"},
        {"overlap exponent below 1",
         {"gemm", MS_BF16, 1e9, 1e6},
         {.compute = 1, .memory = 1, .overlap_p = 0.5},
         "overlap exponent must be 0 (max) or a number >= 1, got 0.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        roof_result r;
        ms_err err = {0};
        int rc = roof_time(x100, &cases[i].op, &cases[i].eff, &r, &err);
        int ok = rc == MS_EINVAL && strstr(err.msg, cases[i].expect);
        if (!ok)
            printf("\n    %s: rc %d, \"%s\"\n", cases[i].what, rc, err.msg);
        CU_ASSERT(ok);
    }
    /* A zero-FLOP copy at a precision the chip lacks needs no compute peak. */
    roof_op copy = {"stream", MS_FP4, 0, 1e9};
    roof_result r;
    roof_eff peak = ROOF_EFF_PEAK;
    CU_ASSERT_EQUAL(roof_time(x100, &copy, &peak, &r, NULL), MS_OK);
}

/* Lookup rules on a fixed calibration file (the hand-derived figures the
 * project started with); the shipped one changes with each calibrate. */
static void test_calibration_lookup(void)
{
    calib *cal = NULL;
    ms_err err = {0};
    int rc = calib_load("tests/data/efficiency_small.csv", &cal, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    const chip *y10 = chip_db_find(db, "Y10"), *tpu = chip_db_find(db, "tpu1");
    /* DeepGEMM FP8: 1358 / 1978.9 and 2668 / 3350. */
    roof_eff e = calib_eff(cal, x100, "gemm", MS_FP8);
    MS_ASSERT_NEAR(e.compute, 1358 / 1978.9, 1e-3);
    MS_ASSERT_NEAR(e.memory, 2668.0 / 3350, 1e-3);
    MS_ASSERT_STR_HAS(e.compute_source, "DeepGEMM");
    /* Stream on Hopper: a memory figure for every precision, no compute one. */
    e = calib_eff(cal, y10, "stream", MS_BF16);
    CU_ASSERT(e.compute == 1.0 && e.compute_source == NULL);
    MS_ASSERT_NEAR(e.memory, 3888.0 / 4800, 2e-3);
    CU_ASSERT(e.memory_source != NULL);
    /* Attention: compute and memory from two different rows. */
    e = calib_eff(cal, x100, "attention", MS_BF16);
    MS_ASSERT_NEAR(e.compute, 740 / 989.4, 1e-3);
    MS_ASSERT_NEAR(e.memory, 3000.0 / 3350, 1e-3);
    CU_ASSERT(e.compute_source != e.memory_source);
    /* Nothing for bf16 GEMMs on Hopper, nor for this family: peak, said so. */
    e = calib_eff(cal, x100, "gemm", MS_BF16);
    CU_ASSERT(e.compute == 1.0 && e.memory == 1.0 && !e.compute_source && !e.memory_source);
    e = calib_eff(cal, tpu, "stream", MS_BF16);
    CU_ASSERT(e.memory == 1.0 && !e.memory_source);
    e = calib_eff(NULL, x100, "gemm", MS_FP8);
    CU_ASSERT(e.compute == 1.0 && !e.compute_source);
    /* A refined kind: its own compute figure, memory from its base kind;
     * one with no row at all is its base kind's. */
    e = calib_eff(cal, x100, "gemm_train", MS_FP8);
    MS_ASSERT_NEAR(e.compute, 0.473, 1e-9);
    MS_ASSERT_STR_HAS(e.compute_source, "profile-data");
    MS_ASSERT_NEAR(e.memory, 2668.0 / 3350, 1e-3);
    MS_ASSERT_STR_HAS(e.memory_source, "DeepGEMM");
    e = calib_eff(cal, y10, "quant", MS_FP8);
    MS_ASSERT_NEAR(e.memory, 3888.0 / 4800, 2e-3);
    CU_ASSERT(e.compute_source == NULL);
    e = calib_eff(cal, x100, "attention_bwd", MS_BF16);
    MS_ASSERT_NEAR(e.compute, 740 / 989.4, 1e-3);
    CU_ASSERT(calib_kind_base("gemm_train") && strcmp(calib_kind_base("gemm_train"), "gemm") == 0);
    CU_ASSERT(strcmp(calib_kind_base("stream"), "stream") == 0 && !calib_kind_base("conv"));
    /* A kind two levels down: one release's attention backward, with no
     * row of its own nor of attention_bwd, is attention's; its base kind
     * is the root. */
    e = calib_eff(cal, x100, "attention_bwd_te2024", MS_BF16);
    MS_ASSERT_NEAR(e.compute, 740 / 989.4, 1e-3);
    MS_ASSERT_NEAR(e.memory, 3000.0 / 3350, 1e-3);
    CU_ASSERT(strcmp(calib_kind_base("attention_bwd_te2024"), "attention") == 0);
    CU_ASSERT(strcmp(calib_kind_base("attention_te2024"), "attention") == 0);
    CU_ASSERT(strcmp(calib_kind_base("gemm_train_cuda11"), "gemm") == 0);
    /* CUDA 11's training GEMMs with no row of their own are gemm_train's. */
    e = calib_eff(cal, x100, "gemm_train_cuda11", MS_FP8);
    MS_ASSERT_NEAR(e.compute, 0.473, 1e-9);
    calib_free(cal);
    /* With rows at each level, the nearest one answers. */
    cal = test_calib_text(
        "family,op_kind,precision,compute_eff,memory_eff,overhead_us,measured_on,source\n"
        "hopper,attention,bf16,0.7,,,H100,fwd\n"
        "hopper,attention_bwd,bf16,0.5,,,H100,bwd\n"
        "hopper,attention_bwd_te2024,bf16,0.4,,,H200,te\n");
    e = calib_eff(cal, x100, "attention_bwd_te2024", MS_BF16);
    CU_ASSERT(e.compute == 0.4 && strcmp(e.compute_source, "te") == 0);
    e = calib_eff(cal, x100, "attention_te2024", MS_BF16);
    CU_ASSERT(e.compute == 0.7 && strcmp(e.compute_source, "fwd") == 0);
    e = calib_eff(cal, x100, "attention_bwd", MS_BF16);
    CU_ASSERT(e.compute == 0.5);
    calib_free(cal);
}

/* The shipped file loads, and a Hopper chip gets calibrated GEMM figures. */
static void test_shipped_calibration(void)
{
    calib *cal = NULL;
    ms_err err = {0};
    int rc = calib_load("hwdb/efficiency.csv", &cal, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    roof_eff e = calib_eff(cal, x100, "gemm", MS_FP8);
    CU_ASSERT(e.compute_source != NULL && e.compute > 0.3 && e.compute < 1);
    CU_ASSERT(e.measured_on != NULL);
    calib_free(cal);
}

static void test_bad_calibration(void)
{
    static const char *const head =
        "family,op_kind,precision,compute_eff,memory_eff,overhead_us,measured_on,source\n";
    static const struct {
        const char *what, *row;
        const char *expect;
    } cases[] = {
        {"efficiency above 1", "hopper,gemm,bf16,1.3,,,H100,src",
         ":2: column 'compute_eff': expected a fraction"},
        {"text efficiency", "hopper,gemm,bf16,high,,,H100,src", "got \"high\""},
        {"unknown kind", "hopper,conv,bf16,0.5,,,H100,src",
         "column 'op_kind': expected one of gemm"},
        {"unknown precision", "hopper,gemm,fp7,0.5,,,H100,src", "column 'precision'"},
        {"all blank", "hopper,gemm,bf16,,,,H100,src", "the row says nothing"},
        {"negative overhead", "hopper,gemm,bf16,0.5,,-3,H100,src", "column 'overhead_us'"},
        {"no source", "hopper,gemm,bf16,0.5,,,H100,", "'source' are required"},
        {"short row", "hopper,gemm,bf16,0.5", "row has 4 fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[] = "/tmp/megasim_cal_XXXXXX";
        int fd = mkstemp(path);
        CU_ASSERT_FATAL(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fprintf(f, "%s%s\n", head, cases[i].row);
        fclose(f);
        calib *cal = (calib *)1;
        ms_err err = {0};
        int rc = calib_load(path, &cal, &err);
        int ok =
            rc != MS_OK && cal == NULL && strstr(err.msg, cases[i].expect) && strstr(err.msg, path);
        if (!ok)
            printf("\n    %s: rc %d, \"%s\"\n", cases[i].what, rc, err.msg);
        CU_ASSERT(ok);
        unlink(path);
    }
}

/* log_sd: optional, >= 0 or blank, named when wrong. */
static void test_spread_column(void)
{
    static const struct {
        const char *what, *row, *expect;
    } cases[] = {
        {"negative spread", "hopper,gemm,bf16,0.5,,,-0.1,H100,src", "column 'log_sd'"},
        {"text spread", "hopper,gemm,bf16,0.5,,,wide,H100,src", "got \"wide\""},
        {"infinite spread", "hopper,gemm,bf16,0.5,,,inf,H100,src", "column 'log_sd'"},
        {"overlap below 1", "hopper,gemm,bf16,0.5,,,0.1,0.5,H100,src",
         "column 'overlap_p': expected the exponent"},
        {"text overlap", "hopper,gemm,bf16,0.5,,,0.1,max,H100,src", "got \"max\""},
        {"covariance of five", "hopper,gemm,bf16,0.5,,,0.1,0.2;0;0;0.1;0,H100,src",
         "column 'log_cov': expected the fit's covariance"},
        {"covariance in words", "hopper,gemm,bf16,0.5,,,0.1,wide,H100,src", "got \"wide\""},
        {"covariance of seven", "hopper,gemm,bf16,0.5,,,0.1,0.2;0;0;0.1;0;0;1,H100,src",
         "column 'log_cov'"},
        {"covariance negative", "hopper,gemm,bf16,0.5,,,0.1,-0.2;0;0;0.1;0;0,H100,src",
         "column 'log_cov'"},
        {"covariance correlated past 1", "hopper,gemm,bf16,0.5,,,0.1,0.01;0.5;0;0.01;0;0,H100,src",
         "no correlation beyond 1"},
        {"covariance infinite", "hopper,gemm,bf16,0.5,,,0.1,inf;0;0;0.1;0;0,H100,src",
         "column 'log_cov'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[] = "/tmp/megasim_cal_XXXXXX", text[512];
        /* The overlap and covariance rows carry one more column. */
        int with_p = strstr(cases[i].what, "overlap") != NULL;
        int with_cov = strstr(cases[i].what, "covariance") != NULL;
        snprintf(text, sizeof text,
                 "family,op_kind,precision,compute_eff,memory_eff,overhead_us,log_sd,%s%s"
                 "measured_on,source\n%s\n",
                 with_p ? "overlap_p," : "", with_cov ? "log_cov," : "", cases[i].row);
        test_write_tmp(path, text);
        calib *cal = (calib *)1;
        ms_err err = {0};
        int rc = calib_load(path, &cal, &err);
        int ok = rc == MS_EINVAL && cal == NULL && strstr(err.msg, cases[i].expect) &&
                 strstr(err.msg, ":2:");
        if (!ok)
            printf("\n    %s: rc %d, \"%s\"\n", cases[i].what, rc, err.msg);
        CU_ASSERT(ok);
        unlink(path);
    }
}

/* overlap_p is looked up as the efficiencies are: a refined kind without
 * one takes its base kind's; a kind with none is the max (0). */
static void test_overlap_lookup(void)
{
    char path[] = "/tmp/megasim_cal_XXXXXX";
    test_write_tmp(path, "family,op_kind,precision,compute_eff,memory_eff,overhead_us,overlap_p,"
                         "measured_on,source\n"
                         "hopper,gemm,fp8,0.7,0.8,,1.5,X100,a\n"
                         "hopper,gemm_train,fp8,0.5,,,,X100,b\n"
                         "hopper,stream,*,,0.9,,,X100,c\n");
    calib *cal = NULL;
    ms_err err = {0};
    int rc = calib_load(path, &cal, &err);
    unlink(path);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    CU_ASSERT_EQUAL(calib_eff(cal, x100, "gemm", MS_FP8).overlap_p, 1.5);
    roof_eff e = calib_eff(cal, x100, "gemm_train", MS_FP8);
    CU_ASSERT(e.overlap_p == 1.5 && e.compute == 0.5);
    CU_ASSERT_EQUAL(calib_eff(cal, x100, "stream", MS_BF16).overlap_p, 0);
    CU_ASSERT_EQUAL(calib_eff(cal, x100, "gemm", MS_BF16).overlap_p, 0);
    calib_free(cal);
}

/* The list of what runs at a peak: each item once, "; " between, and an
 * item that would not fit whole left out. */
static void test_peak_list(void)
{
    char list[24] = "";
    calib_peak_list_add(list, sizeof list, "gemm bf16 memory");
    calib_peak_list_add(list, sizeof list, "gemm bf16 memory");
    CU_ASSERT_STRING_EQUAL(list, "gemm bf16 memory");
    calib_peak_list_add(list, sizeof list, "a b c"); /* 16 + 2 + 5 + 1 = 24 bytes: fits */
    CU_ASSERT_STRING_EQUAL(list, "gemm bf16 memory; a b c");
    calib_peak_list_add(list, sizeof list, "x");
    CU_ASSERT_STRING_EQUAL(list, "gemm bf16 memory; a b c");
}

/* A calibration with spreads 0.3 and 0.4 and one row without: the pooled
 * spread is sqrt((0.09 + 0.16) / 2) = 0.35355. */
static const char spread_file[] =
    "family,op_kind,precision,compute_eff,memory_eff,overhead_us,log_sd,measured_on,source\n"
    "hopper,gemm,bf16,0.5,0.6,2,0.3,X100,a\n"
    "hopper,stream,*,,0.95,,0.4,X100,b\n"
    "hopper,attention,bf16,0.7,,,,X100,c\n";

static calib *load_spread(const char *text)
{
    char path[] = "/tmp/megasim_cal_XXXXXX";
    test_write_tmp(path, text);
    calib *cal = NULL;
    ms_err err = {0};
    int rc = calib_load(path, &cal, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    unlink(path);
    CU_ASSERT_FATAL(rc == MS_OK);
    return cal;
}

static void test_pooled_spread(void)
{
    calib *cal = load_spread(spread_file);
    int est = -1;
    MS_ASSERT_WITHIN(calib_pooled_sd(cal), sqrt(0.125), 1e-12);
    MS_ASSERT_WITHIN(calib_row_sd(cal, 0, &est), 0.3, 1e-12);
    CU_ASSERT(est == 0);
    MS_ASSERT_WITHIN(calib_row_sd(cal, 2, &est), 0.35355339, 1e-8);
    CU_ASSERT(est == 1);
    calib_free(cal);
    MS_ASSERT_WITHIN(calib_scale_eff(0.5, 1.2), 0.6, 1e-12);
    MS_ASSERT_WITHIN(calib_scale_eff(0.9, 1.5), 1.0, 0); /* never above peak */
    CU_ASSERT(isnan(calib_scale_eff(NAN, 2)));
}

/* The draw by hand: row i takes the i-th N(0, 1) draw of the stream. */
static void test_draw(void)
{
    calib *cal = load_spread(spread_file), *d = NULL, *d2 = NULL, *d3 = NULL;
    rng *g = NULL, *h = NULL, *k = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new(&g, 7, &err) == MS_OK && rng_new(&h, 7, &err) == MS_OK);
    CU_ASSERT_FATAL(calib_draw(cal, g, &d, &err) == MS_OK);
    double z[3];
    for (int i = 0; i < 3; i++)
        z[i] = gsl_ran_gaussian(rng_gsl(h), 1.0);
    roof_eff e = calib_eff(d, x100, "gemm", MS_BF16);
    MS_ASSERT_WITHIN(e.compute, fmin(0.5 * exp(0.3 * z[0]), 1), 1e-12);
    MS_ASSERT_WITHIN(e.memory, fmin(0.6 * exp(0.3 * z[0]), 1), 1e-12);
    MS_ASSERT_WITHIN(e.overhead_s, 2e-6 / exp(0.3 * z[0]), 1e-18);
    CU_ASSERT(e.compute_source && strcmp(e.compute_source, "a") == 0);
    e = calib_eff(d, x100, "stream", MS_FP8);
    MS_ASSERT_WITHIN(e.memory, fmin(0.95 * exp(0.4 * z[1]), 1), 1e-12);
    CU_ASSERT(e.compute == 1.0); /* blank stays blank: peak, undrawn */
    e = calib_eff(d, x100, "attention", MS_BF16);
    MS_ASSERT_WITHIN(e.compute, fmin(0.7 * exp(sqrt(0.125) * z[2]), 1), 1e-12);
    /* The same seed, the same copy; another seed, another. */
    rng_free(h);
    h = NULL;
    CU_ASSERT_FATAL(rng_new(&h, 7, &err) == MS_OK && rng_new(&k, 8, &err) == MS_OK);
    CU_ASSERT_FATAL(calib_draw(cal, h, &d2, &err) == MS_OK);
    CU_ASSERT_FATAL(calib_draw(cal, k, &d3, &err) == MS_OK);
    double a = calib_eff(d, x100, "gemm", MS_BF16).compute;
    CU_ASSERT(a == calib_eff(d2, x100, "gemm", MS_BF16).compute);
    CU_ASSERT(a != calib_eff(d3, x100, "gemm", MS_BF16).compute);
    calib_free(d);
    calib_free(d2);
    calib_free(d3);
    rng_free(g);
    rng_free(h);
    rng_free(k);
    calib_free(cal);
}

/* A row with the fit's covariance draws it after its own z, by hand:
 * cov cc 0.25, cm 0.1, mm 0.16 (no overhead figure) has the Cholesky
 * factor L00 0.5, L10 0.2, L11 sqrt(0.12); e = sd L z over the row's
 * next three draws. The row after takes the stream's fifth draw. */
static void test_draw_covariance(void)
{
    calib *cal = load_spread(
              "family,op_kind,precision,compute_eff,memory_eff,overhead_us,log_sd,log_cov,"
              "measured_on,source\n"
              "hopper,gemm,bf16,0.5,0.6,2,0.3,0.25;0.1;0;0.16;0;0,X100,a\n"
              "hopper,stream,*,,0.6,,0.4,,X100,b\n"),
          *d = NULL;
    rng *g = NULL, *h = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new(&g, 11, &err) == MS_OK && rng_new(&h, 11, &err) == MS_OK);
    CU_ASSERT_FATAL(calib_draw(cal, g, &d, &err) == MS_OK);
    double z[5];
    for (int i = 0; i < 5; i++)
        z[i] = gsl_ran_gaussian(rng_gsl(h), 1.0);
    double e0 = 0.3 * 0.5 * z[1], e1 = 0.3 * (0.2 * z[1] + sqrt(0.12) * z[2]);
    roof_eff e = calib_eff(d, x100, "gemm", MS_BF16);
    MS_ASSERT_WITHIN(e.compute, fmin(0.5 * exp(0.3 * z[0] + e0), 1), 1e-12);
    MS_ASSERT_WITHIN(e.memory, fmin(0.6 * exp(0.3 * z[0] + e1), 1), 1e-12);
    MS_ASSERT_WITHIN(e.overhead_s, 2e-6 * exp(-0.3 * z[0]), 1e-18); /* no variance of its own */
    e = calib_eff(d, x100, "stream", MS_FP8);
    MS_ASSERT_WITHIN(e.memory, fmin(0.6 * exp(0.4 * z[4]), 1), 1e-12);
    calib_free(d);
    rng_free(g);
    rng_free(h);
    calib_free(cal);
}

/* calib_cov_draw's draws have the covariance sd^2 cov: over 20,000 of
 * them the sample covariance is within a few standard errors of it,
 * correlations and a figure of no variance included. */
static void test_cov_draw_spread(void)
{
    static const double cov[6] = {0.25, -0.12, 0.05, 0.16, 0, 0.09};
    const double sd = 0.5;
    const int n = 20000;
    rng *g = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new(&g, 3, &err) == MS_OK);
    double sum[3] = {0}, prod[3][3] = {{0}};
    for (int t = 0; t < n; t++) {
        double e[3];
        calib_cov_draw(cov, sd, g, e);
        for (int i = 0; i < 3; i++) {
            sum[i] += e[i];
            for (int j = 0; j < 3; j++)
                prod[i][j] += e[i] * e[j];
        }
    }
    for (int i = 0; i < 3; i++) {
        MS_ASSERT_WITHIN(sum[i] / n, 0, 0.01);
        for (int j = 0; j < 3; j++)
            MS_ASSERT_WITHIN(prod[i][j] / n, sd * sd * cov[calib_cov_at(i, j)], 0.004);
    }
    static const double flat[6] = {0, 0, 0, 0.04, 0, 0}; /* memory alone */
    double e[3];
    calib_cov_draw(flat, 1, g, e);
    CU_ASSERT(e[0] == 0 && e[2] == 0 && e[1] != 0);
    rng_free(g);
}

/* With every spread 0 the drawn copy is the calibration itself. */
static void test_draw_zero_spread(void)
{
    calib *
        cal = load_spread(
           "family,op_kind,precision,compute_eff,memory_eff,overhead_us,log_sd,measured_on,source\n"
           "hopper,gemm,bf16,0.5,0.6,2,0,X100,a\n"
           "hopper,stream,*,,0.95,,0,X100,b\n"
           "hopper,attention,bf16,0.7,,,,X100,c\n"),
       *d = NULL;
    rng *g = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new(&g, 1, &err) == MS_OK);
    CU_ASSERT_FATAL(calib_draw(cal, g, &d, &err) == MS_OK);
    CU_ASSERT(calib_pooled_sd(cal) == 0);
    static const char *const kinds[] = {"gemm", "stream", "attention", "gemm_train"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        roof_eff a = calib_eff(cal, x100, kinds[i], MS_BF16),
                 b = calib_eff(d, x100, kinds[i], MS_BF16);
        CU_ASSERT(a.compute == b.compute && a.memory == b.memory && a.overhead_s == b.overhead_s);
    }
    calib_free(d);
    rng_free(g);
    calib_free(cal);
}

static CU_TestInfo roofline_tests[] = {
    {"hand-computed cases", test_hand_cases},
    {"GEMM FLOPs and bytes", test_gemm_shapes},
    {"ridge points", test_ridge},
    {"compute and memory time combined", test_combine},
    {"bad operations", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo calib_tests[] = {
    {"lookup rules", test_calibration_lookup},
    {"shipped hwdb/efficiency.csv", test_shipped_calibration},
    {"bad calibration files", test_bad_calibration},
    {"the spread column", test_spread_column},
    {"the overlap exponent's lookup", test_overlap_lookup},
    {"the list of what runs at a peak", test_peak_list},
    {"pooled spread and clamping", test_pooled_spread},
    {"a drawn calibration, by hand", test_draw},
    {"zero spread draws the calibration itself", test_draw_zero_spread},
    {"the fit's covariance drawn, by hand", test_draw_covariance},
    {"covariance draws have their covariance", test_cov_draw_spread},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "roofline", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = roofline_tests},
    {.pName = "calib", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = calib_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_roofline");
}
