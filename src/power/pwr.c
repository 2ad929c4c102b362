/* pwr: see pwr.h. */
#include "power/pwr.h"

#include <math.h>
#include <stddef.h>

static int positive(double x)
{
    return x > 0 && isfinite(x);
}

int pwr_check(const pwr_levels *l, const pwr_site *s, const char *what, ms_err *err)
{
    const struct {
        const char *name;
        double v;
    } gpu[] = {{"matrix_W", l->matrix_w},
               {"memory_W", l->memory_w},
               {"comm_W", l->comm_w},
               {"idle_W", l->idle_w},
               {"node_gpus", l->node_gpus},
               {"node_other_W", l->node_other_w},
               {"node_other_idle_W", l->node_other_idle_w}};
    for (size_t i = 0; i < sizeof gpu / sizeof gpu[0]; i++)
        if (isnan(gpu[i].v)) /* a blank: unknown, not wrong */
            return ms_errf(err, MS_EINVAL,
                           "%s: power figure '%s' is unknown (blank in hwdb/power.csv): add it "
                           "with its source to model this chip's power",
                           what, gpu[i].name);
        else if (!positive(gpu[i].v))
            return ms_errf(err, MS_EINVAL,
                           "%s: power figure '%s' must be a positive number (hwdb/power.csv), "
                           "got %g",
                           what, gpu[i].name, gpu[i].v);
    if (l->idle_w > l->comm_w || l->idle_w > l->memory_w || l->memory_w > l->matrix_w ||
        l->comm_w > l->matrix_w)
        return ms_errf(err, MS_EINVAL,
                       "%s: expected idle_W <= comm_W, memory_W <= matrix_W (hwdb/power.csv), got "
                       "%g, %g, %g, %g",
                       what, l->idle_w, l->comm_w, l->memory_w, l->matrix_w);
    if (l->node_other_idle_w > l->node_other_w)
        return ms_errf(err, MS_EINVAL, "%s: node_other_idle_W %g exceeds node_other_W %g", what,
                       l->node_other_idle_w, l->node_other_w);
    if (l->limit_w != 0 && !(l->limit_w > l->idle_w && isfinite(l->limit_w)))
        return ms_errf(err, MS_EUSAGE,
                       "--gpu-power-limit: expected a power limit above %s's idle power of %g W "
                       "(hwdb/power.csv idle_W), got %g W",
                       what, l->idle_w, l->limit_w);
    if (!(s->pue >= 1) || !isfinite(s->pue))
        return ms_errf(err, MS_EUSAGE,
                       "--pue: expected facility power over IT power, at least 1, got %g", s->pue);
    if (!(s->floor_frac >= 0 && s->floor_frac <= 1))
        return ms_errf(err, MS_EUSAGE,
                       "--power-floor: expected a fraction of matrix power in [0, 1], got %g",
                       s->floor_frac);
    if (s->switches < 0 || !(s->switch_w >= 0) || !isfinite(s->switch_w))
        return ms_errf(err, MS_EINVAL, "switches %lld at %g W: expected non-negative figures",
                       (long long)s->switches, s->switch_w);
    return MS_OK;
}

/* A level under the GPU's power limit. */
static double limited(const pwr_levels *l, double w)
{
    return l->limit_w > 0 && w > l->limit_w ? l->limit_w : w;
}

double pwr_limit_clock_frac(const pwr_levels *l)
{
    if (!(l->limit_w > 0) || l->limit_w >= l->matrix_w)
        return 1;
    return cbrt((l->limit_w - l->idle_w) / (l->matrix_w - l->idle_w));
}

double pwr_peak_gpu_w(const pwr_levels *l)
{
    return limited(l, l->matrix_w);
}

double pwr_floor_w(const pwr_levels *l, const pwr_site *s)
{
    return limited(l, fmax(l->idle_w, s->floor_frac * l->matrix_w));
}

double pwr_gpu_w(const pwr_levels *l, double floor_w, double matrix_s, double memory_s,
                 double comm_s, double dur_s)
{
    if (!(dur_s > 0))
        return floor_w;
    double busy = matrix_s + memory_s + comm_s;
    double k = busy > dur_s ? dur_s / busy : 1;
    double e = k * (matrix_s * fmax(limited(l, l->matrix_w), floor_w) +
                    memory_s * fmax(limited(l, l->memory_w), floor_w) +
                    comm_s * fmax(limited(l, l->comm_w), floor_w)) +
               (dur_s - k * busy) * floor_w;
    return e / dur_s;
}

double pwr_it_per_gpu_w(const pwr_levels *l, double gpu_w)
{
    double g = l->node_gpus;
    double load = (gpu_w - l->idle_w) / (l->matrix_w - l->idle_w);
    double other = l->node_other_idle_w + (l->node_other_w - l->node_other_idle_w) * load;
    return gpu_w + other / g;
}

void pwr_add_baseline(pseries *it, pseries *gpu_only, const pwr_levels *l, const pwr_site *s,
                      double gpus, double t0_s, double t1_s)
{
    double floor_w = pwr_floor_w(l, s);
    pseries_add(it, t0_s, t1_s,
                gpus * pwr_it_per_gpu_w(l, floor_w) + (double)s->switches * s->switch_w);
    if (gpu_only)
        pseries_add(gpu_only, t0_s, t1_s, gpus * floor_w);
}

void pwr_work_w(const pwr_levels *l, const pwr_site *s, double dur_s, double matrix_s,
                double memory_s, double comm_s, double *it_above_w, double *gpu_above_w)
{
    double floor_w = pwr_floor_w(l, s);
    double w = pwr_gpu_w(l, floor_w, matrix_s, memory_s, comm_s, dur_s);
    *it_above_w = fmax(0, pwr_it_per_gpu_w(l, w) - pwr_it_per_gpu_w(l, floor_w));
    *gpu_above_w = fmax(0, w - floor_w);
}

void pwr_add_work(pseries *it, pseries *gpu_only, const pwr_levels *l, const pwr_site *s,
                  double gpus, double start_s, double dur_s, double matrix_s, double memory_s,
                  double comm_s)
{
    double it_w, gpu_w;
    pwr_work_w(l, s, dur_s, matrix_s, memory_s, comm_s, &it_w, &gpu_w);
    if (it_w > 0)
        pseries_add(it, start_s, start_s + dur_s, gpus * it_w);
    if (gpu_only && gpu_w > 0)
        pseries_add(gpu_only, start_s, start_s + dur_s, gpus * gpu_w);
}
