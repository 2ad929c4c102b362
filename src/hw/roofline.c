/* roofline: see roofline.h. */
#include "hw/roofline.h"

#include <assert.h>
#include <math.h>

double roof_gemm_out_bytes(ms_prec prec)
{
    return ms_prec_gemm_out_bytes(prec);
}

roof_op roof_gemm(int64_t m, int64_t n, int64_t k, ms_prec prec)
{
    assert(m > 0 && n > 0 && k > 0);
    double M = (double)m, N = (double)n, K = (double)k;
    return (roof_op){
        .kind = "gemm",
        .prec = prec,
        .flops = 2.0 * M * N * K,
        .bytes = (M * K + K * N) * ms_prec_bytes(prec) + M * N * roof_gemm_out_bytes(prec),
    };
}

static int eff_ok(double e)
{
    return e > 0 && e <= 1.0;
}

double roof_ridge(const chip *c, ms_prec prec, const roof_eff *eff)
{
    double peak = chip_peak(c, prec);
    if (isnan(peak))
        return NAN;
    return peak * eff->compute / (c->hbm_bw_Bps * eff->memory);
}

int roof_overlap_ok(double p)
{
    return p == 0 || (p >= 1 && isfinite(p));
}

int roof_time(const chip *c, const roof_op *op, const roof_eff *eff, roof_result *out, ms_err *err)
{
    if (!(op->flops >= 0) || !isfinite(op->flops))
        return ms_errf(err, MS_EINVAL, "operation FLOPs must be a finite number >= 0, got %g",
                       op->flops);
    if (!(op->bytes > 0) || !isfinite(op->bytes))
        return ms_errf(err, MS_EINVAL,
                       "operation bytes must be a finite number > 0 (every operation reads "
                       "its inputs), got %g",
                       op->bytes);
    if (!eff_ok(eff->compute) || !eff_ok(eff->memory))
        return ms_errf(err, MS_EINVAL, "efficiencies must be in (0, 1], got compute %g memory %g",
                       eff->compute, eff->memory);
    if (!(eff->overhead_s >= 0) || !isfinite(eff->overhead_s))
        return ms_errf(err, MS_EINVAL, "overhead must be a time >= 0, got %g s", eff->overhead_s);
    if (!roof_overlap_ok(eff->overlap_p))
        return ms_errf(err, MS_EINVAL,
                       "the overlap exponent must be 0 (max) or a number >= 1, got %g",
                       eff->overlap_p);
    double peak = chip_peak(c, op->prec);
    if (op->flops > 0 && isnan(peak))
        return ms_errf(err, MS_EINVAL, "chip %s has no %s peak in the database", c->name,
                       ms_prec_name(op->prec));

    roof_result r = {0};
    r.compute_time_s = op->flops > 0 ? op->flops / (peak * eff->compute) : 0.0;
    r.memory_time_s = op->bytes / (c->hbm_bw_Bps * eff->memory);
    r.bound = r.compute_time_s >= r.memory_time_s ? ROOF_COMPUTE : ROOF_MEMORY;
    r.time_s = roof_combine(r.compute_time_s, r.memory_time_s, eff->overlap_p) + eff->overhead_s;
    r.attained_flop_per_s = op->flops / r.time_s;
    r.attained_bytes_per_s = op->bytes / r.time_s;
    r.intensity_flop_per_byte = op->flops / op->bytes;
    r.ridge_flop_per_byte = roof_ridge(c, op->prec, eff);
    *out = r;
    return MS_OK;
}

const char *roof_bound_name(roof_bound b)
{
    return b == ROOF_COMPUTE ? "compute" : "memory";
}
