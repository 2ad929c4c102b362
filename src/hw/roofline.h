/* roofline: the time of one operation on one chip, as
 *   time = combine(flops / (peak * eta_c), bytes / (hbm_bw * eta_m)) + t0
 * with eta the fraction of peak a real kernel reaches and t0 its fixed
 * cost (launch, tail), from calibration: eta 1 and t0 0 when there is
 * none. combine is the p-norm (tc^p + tm^p)^(1/p): how far a kernel's
 * memory traffic hides under its arithmetic. p = infinity (written 0) is
 * the textbook roofline's max, a perfect overlap; p = 1 no overlap at
 * all. Measured kernels near their ridge point reach neither roof (a
 * DeepGEMM FP8 product of 4096 x 32768 x 512 on H800 sits at 30% of the
 * FLOP peak and 37% of HBM's), which max cannot express; calibration
 * fits p to every kernel row together (hw/kfit). Pure arithmetic: no
 * I/O, no allocation. */
#ifndef MS_ROOFLINE_H
#define MS_ROOFLINE_H

#include <assert.h>
#include <math.h>
#include <stdint.h>

#include "core/err.h"
#include "core/prec.h"
#include "hw/chip.h"

typedef enum roof_bound { ROOF_COMPUTE, ROOF_MEMORY } roof_bound;

/* An operation as the roofline sees it. */
typedef struct roof_op {
    const char *kind; /* calibration op kind: "gemm", "stream", "attention" */
    ms_prec prec;     /* precision of the math (and of the inputs) */
    double flops;     /* FLOP (or OP for int8), >= 0 */
    double bytes;     /* bytes moved to and from HBM, > 0 */
} roof_op;

/* Fractions of datasheet peak; a NULL source means none was calibrated
 * and the figure is 1 (peak). Sources are borrowed. */
typedef struct roof_eff {
    double compute;
    double memory;
    double overhead_s; /* fixed time per operation, >= 0 */
    double overlap_p;  /* combine's exponent, >= 1; 0 for max (perfect overlap) */
    const char *compute_source;
    const char *memory_source;
    const char *overhead_source;
    const char *measured_on; /* chips the figures were measured on; NULL if none */
} roof_eff;

#define ROOF_EFF_PEAK                                                                              \
    ((roof_eff){.compute = 1.0, .memory = 1.0, .overhead_s = 0.0, .overlap_p = 0.0})

typedef struct roof_result {
    double time_s;                  /* the two bounds combined, plus the overhead */
    double compute_time_s;          /* flops / (peak * eta_c) */
    double memory_time_s;           /* bytes / (hbm_bw * eta_m) */
    double attained_flop_per_s;     /* flops / time_s */
    double attained_bytes_per_s;    /* bytes / time_s */
    double intensity_flop_per_byte; /* flops / bytes */
    double ridge_flop_per_byte;     /* intensity where the two bounds meet, at eta */
    roof_bound bound;               /* the larger of the two times; compute on a tie */
} roof_result;

/* A dense matrix product C[M,N] = A[M,K] B[K,N]: 2MNK FLOP, and A, B read
 * once and C written once. Inputs are stored at prec; the output at the
 * precision kernels write: bf16 for fp8/fp4 inputs, int32 for int8,
 * prec otherwise (see roof_gemm_out_bytes). Asserts m, n, k > 0. */
roof_op roof_gemm(int64_t m, int64_t n, int64_t k, ms_prec prec);

/* Bytes of one output element of a GEMM with inputs at prec. */
double roof_gemm_out_bytes(ms_prec prec);

/* The two bounds' times combined: max(tc, tm) when p is 0, else
 * (tc^p + tm^p)^(1/p). Asserts tc, tm >= 0 and p 0 or >= 1. Defined
 * here, inline, because serving calls it for every operation of every
 * iteration (below). */
static inline double roof_combine(double compute_s, double memory_s, double p);

/* 1 if p is a valid overlap exponent: 0 (max) or a finite p >= 1. */
int roof_overlap_ok(double p);

/* Times op on c. Fails with MS_EINVAL if op has FLOPs at a precision the
 * chip has no peak for, or if flops < 0, bytes <= 0, an efficiency is
 * outside (0, 1], the overhead is negative or the overlap exponent is
 * neither 0 nor >= 1. */
int roof_time(const chip *c, const roof_op *op, const roof_eff *eff, roof_result *out, ms_err *err);

/* The ridge point of c at prec in FLOP/byte: peak*eta_c / (bw*eta_m);
 * NAN if the chip has no peak at prec. */
double roof_ridge(const chip *c, ms_prec prec, const roof_eff *eff);

/* "compute" or "memory". */
const char *roof_bound_name(roof_bound b);

/* sum_j c_j t^j at t = 2x - 1 (a degree-10 interpolant on x in [0, 1]),
 * by Estrin's scheme, whose products run side by side. The coefficients
 * come as arguments, literals at each call, not an array: sanitizer
 * builds check every load from an array. */
static inline double roof_cheb10(double x, double c0, double c1, double c2, double c3, double c4,
                                 double c5, double c6, double c7, double c8, double c9, double c10)
{
    double t = 2 * x - 1, t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
    double q0 = (c0 + c1 * t) + (c2 + c3 * t) * t2;
    double q1 = (c4 + c5 * t) + (c6 + c7 * t) * t2;
    double q2 = (c8 + c9 * t) + c10 * t2;
    return (q0 + q1 * t4) + q2 * t8;
}

/* (1 + x)^(2/3) for x in [0, 1]: a polynomial of degree 10 in t = 2x - 1
 * interpolating it at the Chebyshev nodes (within 6.3e-11 of it
 * everywhere on [0, 1], far below any calibration's spread), by Estrin's
 * scheme, whose products run side by side. pow, or cbrt, costs several
 * times as much, and serving calls this for every operation of every
 * iteration. */
static inline double roof_one_plus_pow_two_thirds(double x)
{
    return roof_cheb10(x, 1.310370697104448, 0.2911934887315904, -0.01617741615394858,
                       0.0023966445420311256, -0.00046601330490357964, 0.0001036127672639447,
                       -2.4946377277437005e-05, 6.211717671466101e-06, -1.6362651755550606e-06,
                       5.681772615224129e-07, -1.5900508287813864e-07);
}

/* (1 + x)^(4/5) for x in [0, 1], the same way (within 3.4e-11), for
 * p = 1.25. roof_combine has such shortcuts for every eighth from 1 to 2
 * and for 3 (what calibration stores; 2 and 1 need none); any other
 * exponent takes pow twice an operation, which doubles a serving run's
 * time. */
static inline double roof_one_plus_pow_four_fifths(double x)
{
    return roof_cheb10(x, 1.3831618672225918, 0.36884316485628627, -0.012294772228215784,
                       0.0016392977035059948, -0.0003005373786165419, 6.414405101021455e-05,
                       -1.4968445600580729e-05, 3.639330429259438e-06, -9.384404519737059e-07,
                       3.173287707754339e-07, -8.742612387570924e-08);
}

/* (1 + x)^(8/11) for x in [0, 1], the same way (within 4.9e-11), for
 * p = 1.375 (11/8): the eighth calibration rounds its exponent to. */
static inline double roof_one_plus_pow_eight_elevenths(double x)
{
    return roof_cheb10(x, 1.342970182301874, 0.32556852942522335, -0.014798569611668949,
                       0.0020927193852506468, -0.00039634762559346615, 8.651851029540734e-05,
                       -2.05393103527086e-05, 5.059651679140958e-06, -1.320015260299355e-06,
                       4.528744295693419e-07, -1.2584328009484594e-07);
}

/* (1 + x)^(8/(8 + j)) for x in [0, 1], the same way, for the other
 * eighths p = 1 + j/8 between 1 and 2 (j = 1, 5, 6, 7; within 1.7e-11,
 * 7.4e-11, 8.4e-11 and 9.2e-11), so that every exponent calibration
 * stores in [1, 2] (it rounds to the nearest eighth) skips pow. */
static inline double roof_one_plus_pow_eight_ninths(double x)
{
    return roof_cheb10(x, 1.4339221176344625, 0.42486581276560637, -0.007867885456751223,
                       0.0009713412262167347, -0.00017088382176681717, 3.545742666218667e-05,
                       -8.099096192591873e-06, 1.937294493195152e-06, -4.923813035419744e-07,
                       1.635611342809924e-07, -4.458742627463726e-08);
}

static inline double roof_one_plus_pow_eight_thirteenths(double x)
{
    return roof_cheb10(x, 1.2834053688209055, 0.2632626403328294, -0.016875810407569768,
                       0.002596267053573136, -0.0005159238187324135, 0.00011647772110275995,
                       -2.837571466508449e-05, 7.129378264811543e-06, -1.89323118808134e-06,
                       6.641250963552202e-07, -1.8696416622472927e-07);
}

static inline double roof_one_plus_pow_four_sevenths(double x)
{
    return roof_cheb10(x, 1.260734323321362, 0.24013987175776405, -0.017152848125307846,
                       0.00272266135257627, -0.0005510136501417783, 0.00012601841013906817,
                       -3.100775541055273e-05, 7.850229150106162e-06, -2.0990417600310683e-06,
                       7.427542985431243e-07, -2.1016143674406478e-07);
}

static inline double roof_one_plus_pow_eight_fifteenths(double x)
{
    return roof_cheb10(x, 1.2414102821370439, 0.22069516197920705, -0.017165179417396124,
                       0.002797274317137856, -0.0005749940505214339, 0.00013296681330139792,
                       -3.2998914856583323e-05, 8.409130850945937e-06, -2.261842614890081e-06,
                       8.06408987070277e-07, -2.2917076610788487e-07);
}

static inline double roof_combine(double compute_s, double memory_s, double p)
{
    assert(compute_s >= 0 && memory_s >= 0 && (p == 0 || p >= 1));
    double hi = compute_s > memory_s ? compute_s : memory_s;
    if (p == 0 || hi == 0)
        return hi;
    /* Scaled by the larger, so the powers stay in [0, 1]; the exponents
     * calibration picks most often skip pow. */
    double lo = (compute_s < memory_s ? compute_s : memory_s) / hi;
    if (lo == 0)
        return hi;
    if (p == 1.5)
        return hi * roof_one_plus_pow_two_thirds(lo * sqrt(lo));
    if (p == 1.25)
        return hi * roof_one_plus_pow_four_fifths(lo * sqrt(sqrt(lo)));
    if (p == 1.125 || p == 1.375 || p == 1.625 || p == 1.75 || p == 1.875) {
        /* r = lo^(1/8), so lo^(1 + j/8) = lo r^j */
        double r = sqrt(sqrt(sqrt(lo))), r2 = r * r, r4 = r2 * r2;
        if (p == 1.375)
            return hi * roof_one_plus_pow_eight_elevenths(lo * r2 * r);
        if (p == 1.125)
            return hi * roof_one_plus_pow_eight_ninths(lo * r);
        if (p == 1.625)
            return hi * roof_one_plus_pow_eight_thirteenths(lo * r4 * r);
        if (p == 1.75)
            return hi * roof_one_plus_pow_four_sevenths(lo * r4 * r2);
        return hi * roof_one_plus_pow_eight_fifteenths(lo * r4 * r2 * r);
    }
    if (p == 2)
        return hi * sqrt(1 + lo * lo);
    if (p == 3)
        return hi * cbrt(1 + lo * lo * lo);
    return hi * pow(1 + pow(lo, p), 1 / p);
}

#endif
