/* jtrain: see jtrain.h. */
#include "job/jtrain.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hw/calib.h"
#include "io/trace.h"
#include "job/junc.h"
#include "train/plan.h"
#include "train/sched.h"
#include "net/coll.h"
#include "power/prun.h"
#include "train/stack.h"

#define T(f) offsetof(jtrain_job, f)

static const jopt rows[] = {
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, T(model),
     "model JSON (workloads/*.json or a Hugging Face config.json)"},
    {"chip", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, T(chip),
     "chip from hwdb/chips.csv (megasim chips lists them), or a list A,B,C side by side"},
    {"best-plan", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, T(best_plan),
     "run each chip on its own fastest plan (megasim search train), not the plan given"},
    {"gpus", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, T(gpus), "GPUs in the job"},
    {"tp", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, T(tp), "tensor-parallel degree"},
    {"pp", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, T(pp), "pipeline-parallel stages"},
    {"vpp", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, T(vpp),
     "model chunks per pipeline rank, interleaved schedule only"},
    {"dp", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, T(dp),
     "data-parallel degree (default: gpus / (tp x pp x cp))"},
    {"ep", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, T(ep),
     "expert-parallel degree, taken from dp x tp"},
    {"cp", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, T(cp), "context-parallel degree"},
    {"zero", JOPT_INT, "N", NULL, "1", 0, 3, NULL, T(zero),
     "ZeRO stage over the data-parallel group"},
    {"seq", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, T(seq), "tokens per sequence"},
    {"attention-span", JOPT_POS, "N", "tokens", NULL, 1, 1e9, NULL, T(attention_span),
     "the tokens each sequence's attention spans, length-weighted (E[L^2] / E[L] over samples "
     "of lengths L) where samples vary in length or documents are packed (default: --seq)"},
    {"global-batch", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, T(global_batch),
     "sequences per step"},
    {"micro-batch", JOPT_INT, "N", NULL, "1", 1, NAN, NULL, T(micro_batch),
     "sequences per micro-batch"},
    {"precision", JOPT_STR, "RECIPE", NULL, "bf16", NAN, NAN, NULL, T(precision),
     "bf16, fp8 (DeepSeek-V3's fine-grained recipe), fp8-tensor (Transformer Engine's "
     "per-tensor scaling) or mxfp8 (Blackwell)"},
    {"schedule", JOPT_STR, "NAME", NULL, "1f1b", NAN, NAN, NULL, T(schedule),
     "gpipe, 1f1b, interleaved, zb1p, dualpipe or dualpipev"},
    {"recompute", JOPT_STR, "POLICY", NULL, "none", NAN, NAN, NULL, T(recompute),
     "none, selective or full"},
    {"stack", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, T(stack),
     "software stack: megatron-2021, megatron-core-2024, deepseek-v3 or plain (default: the "
     "chip's era)"},
    {"comm-sms", JOPT_INT, "N", NULL, "0", 0, NAN, NULL, T(comm_sms),
     "SMs communication holds while it overlaps compute (DeepSeek: 20)"},
    {"moe-imbalance", JOPT_NUM, "X", NULL, "1", 1, 1e6, NULL, T(moe_imbalance),
     "busiest expert rank's tokens over the mean (1: balanced)"},
    {"every-replica", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, T(every_replica),
     "simulate every data-parallel replica (small plans; for checks)"},
    {"tokens", JOPT_POS, "N", NULL, NULL, NAN, NAN, NULL, T(tokens),
     "a token budget: days and cost to train on it (e.g. 14.8e12)"},
    {"price-per-gpu-hour", JOPT_POS, "USD", "USD", NULL, NAN, NAN, NULL, T(price_per_gpu_hour),
     "a flat price of one GPU-hour instead of owning the cluster (hwdb/costs.csv)"},
    {"power-steps", JOPT_INT, "N", NULL, "3", 1, NAN, NULL, T(power_steps),
     "steps in the power series"},
    {"checkpoint-every", JOPT_INT, "N", NULL, NULL, 1, NAN, NULL, T(checkpoint_every),
     "save weights and optimizer state every N steps, GPUs idle meanwhile"},
    {"checkpoint-GBps", JOPT_POS, "X", "GB/s", NULL, 1e-3, 1e6, NULL, T(checkpoint_GBps),
     "write bandwidth to storage per GPU for checkpoints (GB/s)"},
    {"power-resolution", JOPT_POS, "S", "s", NULL, 1e-6, 3600, NULL, T(power_resolution_s),
     "seconds per point of the power series (default: step / 200; 0.001 for the grid's band)"},
    {"band-low-hz", JOPT_NUM, "F", "Hz", "0.1", 0, 1e6, NULL, T(band_low_hz),
     "the grid's band of the power spectrum, from F (oscillations utilities watch: 0.1-20 Hz)"},
    {"band-high-hz", JOPT_POS, "F", "Hz", "20", 1e-6, 1e6, NULL, T(band_high_hz), "the band's top"},
    {"ramp-limit", JOPT_POS, "X", "MW/s", NULL, 1e-9, 1e9, NULL, T(ramp_limit_MW_per_s),
     "the steepest ramp the grid allows the facility, MW/s: whether the run holds it, and each "
     "mitigation (floor, fill, storage) sized for it with its cost"},
    {"band-limit", JOPT_NUM, "F", NULL, NULL, 0, 1, NULL, T(band_limit),
     "the most of the power's swings (AC energy) allowed in the band, a fraction"},
    {"spectrum-plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, T(spectrum_plot),
     "draw the spectrum of the facility's power, the band shaded (.png or .svg; at 1 ms)"},
    JPOWER_ROWS(T(power)),
    JGOODPUT_ROWS(T(goodput)),
    JMITIG_ROWS(T(mitig)),
    {"trace", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, T(trace),
     "write a Chrome trace (open in Perfetto) of one step"},
    {"trace-ranks", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, T(trace_ranks),
     "pipeline ranks to trace: 0,3,5-7 (default: all, up to 64)"},
    JTOPO_ROWS(T(topo)),
    {"ideal", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, T(ideal),
     "ignore hwdb/network.csv: links at full bandwidth, no per-step cost"},
    {"peak", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, T(peak),
     "ignore hwdb/efficiency.csv: operations at datasheet peak"},
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, T(efficiency),
     "calibration to read (default: hwdb/efficiency.csv)"},
    {"uncertainty", JOPT_INT, "N", NULL, NULL, 1, 1e6, NULL, T(uncertainty), JUNC_HELP},
    {"seed", JOPT_INT, "N", NULL, "1", 0, NAN, NULL, T(seed),
     "random seed of --uncertainty's draws"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, T(chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, T(json), "print JSON"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, T(keep_plot_data),
     "keep the power plot's .dat and .gp files beside it"},
};

const jopt_table jtrain_options = {.rows = rows,
                                   .n = sizeof rows / sizeof rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jtrain_job, given)};

static int parse_ranks(const char *text, int64_t pp, uint64_t *mask, ms_err *err)
{
    *mask = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p)
            goto bad;
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 10);
            if (end == p)
                goto bad;
        }
        if (lo < 0 || hi < lo || hi >= pp || hi >= 64)
            return ms_errf(err, MS_EUSAGE,
                           "--trace-ranks '%s': ranks must be 0 to %lld (pipeline ranks, at most "
                           "64)",
                           text, (long long)(pp < 64 ? pp - 1 : 63));
        for (long r = lo; r <= hi; r++)
            *mask |= UINT64_C(1) << r;
        if (*end == ',')
            end++;
        else if (*end)
            goto bad;
        p = end;
    }
    return MS_OK;
bad:
    return ms_errf(err, MS_EUSAGE, "--trace-ranks '%s': expected a list such as 0,3,5-7", text);
}

/* The plan and step configuration the options describe (before the model
 * and chip are known). */
static int plan_of(const jtrain_job *j, plan *p, step_config *cfg, ms_err *err)
{
    static const char *const need[] = {"model", "chip", "gpus", "seq", "global-batch"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!jopt_is_set(&jtrain_options, j, need[i]))
            return ms_errf(err, MS_EUSAGE, "--%s is required", need[i]);
    if (j->best_plan || strchr(j->chip, ','))
        return ms_errf(err, MS_EUSAGE, "a list of chips and --best-plan run in jcompare_run");
    *p = (plan){.gpus = j->gpus,
                .tp = j->tp,
                .pp = j->pp,
                .vpp = j->vpp,
                .ep = j->ep,
                .cp = j->cp,
                .zero = (int)j->zero,
                .seq_len = j->seq,
                .attn_span = isnan(j->attention_span) ? 0 : j->attention_span,
                .global_batch = j->global_batch,
                .micro_batch = j->micro_batch,
                .recipe = j->precision};
    *cfg = (step_config){.moe_load = j->moe_imbalance,
                         .comm_sms = j->comm_sms,
                         .every_replica = j->every_replica,
                         .trace_mask = ~UINT64_C(0)};
    int64_t mp = p->tp * p->pp * p->cp;
    if (j->dp != JOPT_NO_INT)
        p->dp = j->dp;
    else if (p->gpus % mp != 0)
        return ms_errf(err, MS_EUSAGE,
                       "--gpus %lld is not a multiple of tp x pp x cp = %lld x %lld x %lld = %lld",
                       (long long)p->gpus, (long long)p->tp, (long long)p->pp, (long long)p->cp,
                       (long long)mp);
    else
        p->dp = p->gpus / mp;
    if (strcmp(j->schedule, "interleaved-1f1b") == 0) /* the name for it */
        cfg->schedule = SCHED_INTERLEAVED;
    else if (sched_parse(j->schedule, &cfg->schedule) != 0)
        return ms_errf(err, MS_EUSAGE,
                       "--schedule '%s': expected one of %s (interleaved is interleaved 1F1B; "
                       "interleaved-1f1b is accepted too)",
                       j->schedule, sched_list());
    if (plan_recompute_parse(j->recompute, &p->recompute) != 0)
        return ms_errf(err, MS_EUSAGE, "--recompute '%s': expected none, selective or full",
                       j->recompute);
    if (j->trace_ranks) {
        int rc = parse_ranks(j->trace_ranks, p->pp, &cfg->trace_mask, err);
        if (rc)
            return rc;
    }
    if (!j->trace)
        cfg->trace_mask = 0;
    if (!(j->band_low_hz < j->band_high_hz))
        return ms_errf(err, MS_EUSAGE, "--band-low-hz %g is not below --band-high-hz %g",
                       j->band_low_hz, j->band_high_hz);
    if (!isnan(j->band_limit) && !isnan(j->power_resolution_s) &&
        1 / (2 * j->power_resolution_s) < j->band_high_hz)
        return ms_errf(err, MS_EUSAGE,
                       "--band-limit: points of %g s hold frequencies up to %g Hz, below the "
                       "band's %g Hz: a --power-resolution of %g s or finer",
                       j->power_resolution_s, 1 / (2 * j->power_resolution_s), j->band_high_hz,
                       1 / (2 * j->band_high_hz));
    if (isnan(j->ramp_limit_MW_per_s) &&
        (j->mitig.plot || !isnan(j->mitig.rack_j_per_gpu) || !isnan(j->mitig.rack_w_per_gpu)))
        return ms_errf(err, MS_EUSAGE,
                       "--mitigation-plot, --rack-storage-J-per-gpu and --rack-storage-W-per-gpu "
                       "go with --ramp-limit MW/s: the limit the mitigations are sized for");
    /* With --runs the interval may be left to the search for the best. */
    if (j->checkpoint_every != JOPT_NO_INT && isnan(j->checkpoint_GBps))
        return ms_errf(err, MS_EUSAGE,
                       "--checkpoint-every needs --checkpoint-GBps: how fast each GPU writes");
    if (j->checkpoint_every == JOPT_NO_INT && !isnan(j->checkpoint_GBps) &&
        j->goodput.runs == JOPT_NO_INT)
        return ms_errf(err, MS_EUSAGE,
                       "--checkpoint-GBps needs --checkpoint-every N (how often), or --runs N "
                       "(which finds the best interval)");
    return jgoodput_check(&j->goodput, err);
}

/* The model, chip, calibration and network the step runs on. */
typedef struct inputs {
    model m;
    chip_db *db;
    const chip *c;
    chip limited; /* the chip under --gpu-power-limit (c points here) */
    calib *cal;
    coll_params net;
    topo *cluster;
} inputs;

static void inputs_free(inputs *in)
{
    topo_free(in->cluster);
    calib_free(in->cal);
    chip_db_free(in->db);
}

static int load_inputs(const jtrain_job *j, const jenv *env, plan *p, inputs *in, jtrain_out *out,
                       ms_err *err)
{
    char path[4096];
    int rc;
    if ((rc = modelfile_load(jenv_find(env, j->model, path, sizeof path), &in->m, out->warnings,
                             err)) ||
        (rc = jenv_load_chips(env, &j->chips, &in->db, err)) ||
        (rc = chip_db_lookup(in->db, j->chip, &in->c, err)))
        return rc;
    if ((rc = jpower_limit_chip(&j->power, env, in->c, &in->limited, err)))
        return rc;
    in->c = &in->limited;
    if (!j->peak) {
        const char *file = j->efficiency ? jenv_find(env, j->efficiency, path, sizeof path) : NULL;
        if (!file && (rc = jenv_path(env, "hwdb/efficiency.csv", path, sizeof path, err)))
            return rc;
        if ((rc = calib_load(file ? file : path, &in->cal, err)))
            return rc;
    }
    p->stack = j->stack ? j->stack : stack_default(in->c)->name;
    if (!stack_find(p->stack))
        return ms_errf(err, MS_EUSAGE, "--stack '%s': expected one of %s", p->stack, stack_list());
    if ((rc = plan_check(p, &in->m, err)))
        return rc;
    in->net = COLL_PARAMS_IDEAL;
    if (!j->ideal && ((rc = jenv_path(env, "hwdb/network.csv", path, sizeof path, err)) ||
                      (rc = coll_params_load(path, &in->net, err))))
        return rc;
    topo_spec ts;
    if ((rc = jtopo_spec(&j->topo, in->c, p->gpus, &ts, err)) ||
        (rc = jtopo_build(&j->topo, &ts, &in->cluster, err)))
        return rc;
    return MS_OK;
}

/* The series of a run's power: the steps back to back (it, smooth, gpu);
 * with checkpoints also a pause (all GPUs idle) and the steps with a pause
 * after the first (show), for the trace, plot and swings. */
typedef struct series {
    pseries *it, *smooth, *gpu, *it_pause, *smooth_pause, *gpu_pause, *show, *show_smooth,
        *show_gpu;
} series;

static void series_free(series *s)
{
    pseries *all[] = {s->it,        s->smooth, s->gpu,         s->it_pause, s->smooth_pause,
                      s->gpu_pause, s->show,   s->show_smooth, s->show_gpu};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        pseries_free(all[i]);
}

static int series_new(series *s, double span, double res_s, double ckpt_s, int sm, ms_err *err)
{
    int ck = ckpt_s > 0, rc;
    double pres = fmin(res_s, ckpt_s);
    *s = (series){0};
    if ((rc = pseries_new(0, span, res_s, &s->it, err)) ||
        (rc = pseries_new(0, span, res_s, &s->gpu, err)) ||
        (sm && (rc = pseries_new(0, span, res_s, &s->smooth, err))) ||
        (ck && (rc = pseries_new(0, ckpt_s, pres, &s->it_pause, err))) ||
        (ck && (rc = pseries_new(0, ckpt_s, pres, &s->gpu_pause, err))) ||
        (ck && sm && (rc = pseries_new(0, ckpt_s, pres, &s->smooth_pause, err))) ||
        (ck && (rc = pseries_new(0, span + ckpt_s, res_s, &s->show, err))) ||
        (ck && (rc = pseries_new(0, span + ckpt_s, res_s, &s->show_gpu, err))) ||
        (ck && sm && (rc = pseries_new(0, span + ckpt_s, res_s, &s->show_smooth, err))))
        return rc;
    return MS_OK;
}

/* Replica 0's pipeline ranks standing for every GPU of their stage, steps
 * repeated; pass 0: the steps; 1: the pause; 2: the steps around a pause. */
static void series_fill(series *s, const jpower *pw, const plan *p, const step_result *r,
                        int64_t steps, double ckpt_s)
{
    double span = (double)steps * r->step_time_s, per_rank = (double)(p->gpus / p->pp);
    pwr_site plain = pw->site;
    plain.floor_frac = 0;
    for (int pass = 0; pass < (ckpt_s > 0 ? 3 : 1); pass++) {
        pseries *a_it = pass == 0 ? s->it : pass == 1 ? s->it_pause : s->show;
        pseries *a_sm = pass == 0 ? s->smooth : pass == 1 ? s->smooth_pause : s->show_smooth;
        pseries *a_gpu = pass == 0 ? s->gpu : pass == 1 ? s->gpu_pause : s->show_gpu;
        double len = pass == 0 ? span : pass == 1 ? ckpt_s : span + ckpt_s;
        pwr_add_baseline(a_it, a_sm ? NULL : a_gpu, &pw->lv, &plain, (double)p->gpus, 0, len);
        if (a_sm)
            pwr_add_baseline(a_sm, a_gpu, &pw->lv, &pw->site, (double)p->gpus, 0, len);
        for (int64_t k = 0; pass != 1 && k < steps; k++)
            for (size_t i = 0; i < r->nacts; i++) {
                const step_activity *x = &r->acts[i];
                double t0 =
                    (double)k * r->step_time_s + x->start_s + (pass == 2 && k > 0 ? ckpt_s : 0);
                pwr_add_work(a_it, a_sm ? NULL : a_gpu, &pw->lv, &plain, per_rank, t0, x->dur_s,
                             x->matrix_s, x->memory_s, x->comm_s);
                if (a_sm)
                    pwr_add_work(a_sm, a_gpu, &pw->lv, &pw->site, per_rank, t0, x->dur_s,
                                 x->matrix_s, x->memory_s, x->comm_s);
            }
    }
}

/* The group "grid": the facility's swings, their spectrum and the
 * limits given. */
static void report_grid(report *r, const jtrain_job *j, const jtrain_out *o)
{
    char title[200];
    const pspec_stats *g = &o->grid;
    snprintf(title, sizeof title, "the facility's power as the grid sees it (%lld steps)",
             (long long)j->power_steps);
    report_begin(r, "grid", title);
    if (!o->have_grid) {
        report_str(r, "note", NULL, o->grid_note);
        report_end(r);
        return;
    }
    char band[120];
    snprintf(band, sizeof band, "of the swings' energy in %g-%g Hz", g->band_lo_hz, g->band_hi_hz);
    report_num(r, "resolution_s", "points every", 1 / (2 * g->nyquist_hz), "s");
    report_num(r, "swing_rms_w", "swings about the mean, RMS", g->ac_rms_w, "W");
    report_num(r, "dynamic_range_w", "dynamic range (highest less lowest)", g->range_w, "W");
    report_num(r, "ramp_max_w_per_s", "steepest ramp", g->ramp_max_w_per_s, "W/s");
    report_num(r, "band_fraction", band, g->band_fraction, "%");
    report_num(r, "dominant_hz", "the strongest frequency", g->dominant_hz, "Hz");
    report_num(r, "dominant_fraction", "  its share of the swings' energy", g->dominant_fraction,
               "%");
    report_num(r, "frequency_resolution_hz", "frequency resolution", g->df_hz, "Hz");
    if (!isnan(j->ramp_limit_MW_per_s)) {
        report_num(r, "ramp_limit_w_per_s", "ramp limit", j->ramp_limit_MW_per_s * 1e6, "W/s");
        report_bool(r, "ramp_within", "  the ramp within it",
                    g->ramp_max_w_per_s <= j->ramp_limit_MW_per_s * 1e6);
    }
    if (!isnan(j->band_limit)) {
        report_num(r, "band_limit", "band limit", j->band_limit, "%");
        report_bool(r, "band_within", "  the band within it", g->band_fraction <= j->band_limit);
    }
    report_end(r);
}

/* The facility's power (IT x pue) as the grid sees it, into out->grid;
 * a series too coarse for the band gets a note instead. */
static void grid_spectrum(const jtrain_job *j, const pseries *it, double pue, jtrain_out *out)
{
    ms_err why = {0};
    out->have_grid = 0;
    out->grid_note[0] = 0;
    if (1 / (2 * pseries_dt(it)) < j->band_high_hz) {
        snprintf(out->grid_note, sizeof out->grid_note,
                 "points of %.3g s hold frequencies up to %.3g Hz, below the band's %g Hz: "
                 "--power-resolution 0.001 for the spectrum",
                 pseries_dt(it), 1 / (2 * pseries_dt(it)), j->band_high_hz);
        return;
    }
    if (pspec_of(it, j->band_low_hz, j->band_high_hz, &out->grid, &out->grid_psd, &out->grid_npsd,
                 &why)) {
        snprintf(out->grid_note, sizeof out->grid_note, "%s", why.msg);
        return;
    }
    out->grid.ac_rms_w *= pue, out->grid.range_w *= pue, out->grid.ramp_max_w_per_s *= pue;
    out->have_grid = 1;
}

/* The run's power and cost: the token budget (else one step), stretched by
 * run_factor for checkpoints of ckpt_s each. *have is 0 when the chip's
 * power levels are unknown and nothing asked for them. */
static int train_power(const jtrain_job *j, const jenv *env, const inputs *in, const plan *p,
                       const step_result *r, double ckpt_s, double run_factor, prun *run, int *have,
                       jtrain_out *out, ms_err *err)
{
    *have = 0;
    topo_size sz = topo_get_size(in->cluster);
    int64_t switches = sz.switches[1] + sz.switches[2] + sz.switches[3];
    jpower pw;
    int loaded;
    /* A limit for the grid is judged at 1 ms, as the grid sees the power. */
    int limits = !isnan(j->ramp_limit_MW_per_s) || !isnan(j->band_limit) || j->spectrum_plot ||
                 j->mitig.plot;
    double res_s = !isnan(j->power_resolution_s) ? j->power_resolution_s
                   : limits                      ? 0.001
                                                 : r->step_time_s / 200;
    int rc = jpower_load_optional(&j->power, env, in->c, (double)p->gpus, switches,
                                  j->price_per_gpu_hour, &pw, &loaded, out->power_note,
                                  sizeof out->power_note, err);
    if (rc || !loaded) {
        jpower_free(&pw);
        return rc;
    }
    series s;
    int ck = ckpt_s > 0;
    if (!(rc = series_new(&s, (double)j->power_steps * r->step_time_s, res_s, ckpt_s,
                          pw.site.floor_frac > 0, err))) {
        series_fill(&s, &pw, p, r, j->power_steps, ckpt_s);
        prun_basis b = jpower_basis(&pw);
        double duration = isfinite(j->tokens)
                              ? prun_train_duration_s(j->tokens, r->tokens_per_s, run_factor)
                              : r->step_time_s;
        prun_summarize(&b, s.it, s.smooth, s.gpu, (double)p->gpus, duration, run);
        if (ck) {
            prun pause, shown;
            prun_summarize(&b, s.it_pause, s.smooth_pause, s.gpu_pause, (double)p->gpus, duration,
                           &pause);
            prun_summarize(&b, s.show, s.show_smooth, s.show_gpu, (double)p->gpus, duration,
                           &shown);
            prun_mix(&b, run, &pause, prun_pause_frac(run_factor), &shown);
        }
        /* The series written and drawn move to out. */
        pseries **keep_it = ck ? &s.show : &s.it, **keep_sm = ck ? &s.show_smooth : &s.smooth;
        out->power_it = *keep_it;
        out->power_smooth = *keep_sm;
        *keep_it = *keep_sm = NULL;
        out->floor_frac = pw.site.floor_frac;
        grid_spectrum(j, out->power_smooth ? out->power_smooth : out->power_it, pw.site.pue, out);
        snprintf(out->power_title, sizeof out->power_title, "%lld x %s, %lld training steps%s",
                 (long long)p->gpus, in->c->name, (long long)j->power_steps,
                 ck ? ", a checkpoint after the first" : "");
        /* Mitigations start from the load itself, without the site's floor. */
        if (out->have_grid && !isnan(j->ramp_limit_MW_per_s)) {
            char title[300];
            snprintf(title, sizeof title, "%s: the site's power at %.3g ms points",
                     out->power_title, res_s * 1e3);
            double idle_it_w = (double)p->gpus * pwr_it_per_gpu_w(&pw.lv, pw.lv.idle_w) +
                               (double)pw.site.switches * pw.site.switch_w;
            rc = jmitig_size(&j->mitig, pw.db, in->c->name, out->power_it, idle_it_w, pw.site.pue,
                             (double)p->gpus, j->ramp_limit_MW_per_s * 1e6,
                             pw.tco.energy_usd_per_kwh, title, &out->mitig, err);
        }
        *have = 1;
    }
    series_free(&s);
    jpower_free(&pw);
    return rc;
}

static void report_plan(report *r, const plan *p, const step_config *cfg)
{
    report_begin(r, "plan", "plan");
    report_int(r, "gpus", "GPUs", p->gpus, "");
    report_int(r, "tp", "tensor parallel", p->tp, "");
    report_int(r, "pp", "pipeline stages", p->pp, "");
    report_int(r, "vpp", "chunks per pipeline rank", p->vpp, "");
    report_int(r, "dp", "data parallel", p->dp, "");
    report_int(r, "ep", "expert parallel", p->ep, "");
    report_int(r, "cp", "context parallel", p->cp, "");
    report_int(r, "zero", "ZeRO stage", p->zero, "");
    report_int(r, "seq", "tokens per sequence", p->seq_len, "");
    if (p->attn_span > 0)
        report_num(r, "attention_span", "attention spans, length-weighted", p->attn_span, "tokens");
    report_int(r, "global_batch", "sequences per step", p->global_batch, "");
    report_int(r, "micro_batch", "sequences per micro-batch", p->micro_batch, "");
    report_str(r, "precision", NULL, p->recipe);
    report_str(r, "schedule", NULL, sched_name(cfg->schedule));
    report_str(r, "recompute", NULL, plan_recompute_name(p->recompute));
    report_str(r, "stack", "software stack", p->stack);
    report_str(r, "stack_summary", "what the stack does", stack_or_plain(p->stack)->summary);
    report_int(r, "comm_sms", "SMs held by overlapped communication", cfg->comm_sms, "");
    report_num(r, "moe_imbalance", "busiest expert rank over the mean", cfg->moe_load, "");
    report_end(r);
}

static void report_step(report *r, const plan *p, const step_result *s)
{
    report_begin(r, NULL, "one step");
    report_num(r, "step_time_s", "step time", s->step_time_s, "s");
    report_num(r, "pipeline_s", "last backward ends at", s->pipeline_s, "s");
    report_num(r, "tokens_per_s", "throughput", s->tokens_per_s, "tokens/s");
    report_num(r, "tokens_per_s_per_gpu", "throughput per GPU", s->tokens_per_s / (double)p->gpus,
               "tokens/s");
    report_num(r, "model_flops_per_token", "model FLOPs per token (3 x forward)",
               s->model_flops_per_token, "FLOP");
    report_num(r, "mfu_bf16", "MFU against the BF16 peak", s->mfu_bf16, "%");
    report_num(r, "mfu_fp8", "MFU against the FP8 peak", s->mfu_fp8, "%");
    report_num(r, "gpu_hours_per_trillion_tokens", "per 1e12 tokens",
               s->gpu_hours_per_trillion_tokens, "GPU-hours");
    report_int(r, "microbatches", "micro-batches per pipeline", s->microbatches, "");
    report_num(r, "bubble_fraction", "pipeline bubble and waits", s->bubble_fraction, "%");
    report_num(r, "exposed_comm_fraction", "exposed communication", s->exposed_comm_fraction, "%");
    report_int(r, "ranks_simulated", "ranks simulated", s->ranks_simulated, "");
    report_int(r, "events", "engine events", (int64_t)s->events, "");
    report_end(r);
}

static void report_budget(report *r, const jtrain_job *j, const jtrain_out *o, int64_t every,
                          double ckpt_s, double ckpt_B, double run_factor)
{
    const step_result *s = &o->step;
    if (every != JOPT_NO_INT) {
        report_begin(r, NULL, "checkpoints (GPUs idle while each writes its share)");
        report_int(r, "checkpoint_every_steps", "every", every, "steps");
        report_num(r, "checkpoint_s", "each takes", ckpt_s, "s");
        report_num(r, "checkpoint_bytes_per_gpu", "written per GPU", ckpt_B, "B");
        report_num(r, "checkpoint_overhead_fraction", "added to the run (in the GPU-hours)",
                   run_factor - 1, "%");
        report_end(r);
    }
    if (isfinite(j->tokens)) {
        prun_budget bu = prun_budget_of(s->gpu_hours_per_trillion_tokens, j->tokens,
                                        (double)o->plan.gpus, j->price_per_gpu_hour);
        report_begin(r, NULL, "the token budget");
        report_num(r, "tokens", NULL, j->tokens, "tokens");
        report_num(r, "days", NULL, bu.days, "days");
        report_num(r, "gpu_hours", "GPU-hours", bu.gpu_hours, "GPU-hours");
        if (isfinite(j->price_per_gpu_hour))
            report_num(r, "cost_usd", "cost at the flat price", bu.cost_usd, "USD");
        report_end(r);
    } else if (isfinite(j->price_per_gpu_hour)) {
        report_num(r, "cost_usd_per_trillion_tokens", "cost per 1e12 tokens",
                   s->gpu_hours_per_trillion_tokens * j->price_per_gpu_hour, "USD");
    }
}

static void report_memory(report *r, const step_result *s, const chip *c)
{
    report_begin(r, NULL, "memory per GPU");
    report_num(r, "memory_per_gpu_bytes", "total", s->memory.total_B, "B");
    report_begin(r, "memory_bytes", NULL);
    report_num(r, "weights", NULL, s->memory.weights_B, "B");
    report_num(r, "gradients", NULL, s->memory.grads_B, "B");
    report_num(r, "optimizer", NULL, s->memory.optimizer_B, "B");
    report_num(r, "activations", NULL, s->memory.activations_B, "B");
    report_num(r, "framework_allowance", "framework (an allowance)", s->memory.framework_B, "B");
    report_num(r, "hbm", "HBM", c->hbm_bytes, "B");
    report_end(r);
    report_bool(r, "fits", NULL, s->fits);
    report_end(r);
}

static void report_parts(report *r, const step_result *s)
{
    report_begin(r, "breakdown_s", "where the step goes (mean pipeline rank)");
    for (int i = 0; i < STEP_PARTS; i++)
        report_num(r, step_part_name((step_part)i), NULL, s->part_s[i], "s");
    report_end(r);
    report_table(r, "phases", "phases and what bounds them");
    for (size_t i = 0; i < s->nphases; i++) {
        report_row(r);
        report_str(r, "name", "phase", s->phases[i].name);
        report_num(r, "time_s", "time", s->phases[i].time_s, "s");
        report_num(r, "count", "times", s->phases[i].count, "");
        report_str(r, "bound", "bound by", s->phases[i].bound);
    }
    report_table_end(r);
}

/* The calibration behind the figures, and what ran at a datasheet peak. */
static void report_calibration(report *r, const step_result *s, int calibrated, int net)
{
    report_begin(r, NULL, "calibration");
    report_str(r, "compute_calibration", "compute",
               calibrated ? "hwdb/efficiency.csv" : "datasheet peak (--peak)");
    report_str(r, "network_calibration", "network",
               net ? "hwdb/network.csv" : "ideal links (--ideal)");
    report_strs_split(r, "uncalibrated", "at the datasheet peak for want of a kernel measurement",
                      s->stage0.uncalibrated);
    report_end(r);
}

/* A plan that does not fit: how short it is. */
static void report_short(report *r, const step_result *s, const chip *c, const ms_err *err)
{
    report_bool(r, "fits", NULL, 0);
    report_num(r, "memory_per_gpu_bytes", "memory per GPU", s->memory.total_B, "B");
    report_num(r, "hbm_bytes", "HBM", c->hbm_bytes, "B");
    report_num(r, "short_bytes", "short by", s->short_B, "B");
    report_str(r, "error", NULL, err->msg);
}

/* The figures a band is given for. */
static const junc_key band_keys[] = {
    {"step_time_s", NULL, "step time", "s"},
    {"tokens_per_s", NULL, "throughput", "tokens/s"},
    {"tokens_per_s_per_gpu", NULL, "throughput per GPU", "tokens/s"},
    {"mfu_bf16", NULL, "MFU against the BF16 peak", "%"},
    {"mfu_fp8", NULL, "MFU against the FP8 peak", "%"},
    {"gpu_hours_per_trillion_tokens", NULL, "per 1e12 tokens", "GPU-hours"},
    {"days", NULL, "days of the token budget", "days"},
    {"gpu_hours", NULL, "GPU-hours of the token budget", "GPU-hours"},
    {"cost_usd", NULL, "cost at the flat price", "USD"},
    {"node_power_mean_w", NULL, "a server at the wall, mean", "W"},
    {"node_power_peak_w", NULL, "a server at the wall, peak", "W"},
    {"facility_power_mean_w", NULL, "facility power, mean", "W"},
};

/* One prediction with the calibration in in: the step, its power and its
 * report; bands (NULL: none) go after the step's figures. */
static int train_once(const jtrain_job *j, const jenv *env, inputs *in, const step_config *cfg,
                      const junc *bands, report *r, jtrain_out *out, ms_err *err)
{
    report_version(r, env->version);
    jopt_report_inputs(&jtrain_options, j, r);
    report_str(r, "model", NULL, in->m.name);
    report_str(r, "chip", NULL, in->c->name);
    const plan *p = &out->plan;
    step_result *s = &out->step;
    int rc = step_run(&in->m, in->c, in->cal, p, in->cluster, &in->net, cfg, s, err);
    if (rc && !s->fits && s->memory.total_B > 0)
        report_short(r, s, in->c, err);
    if (rc)
        return rc;
    /* Checkpoints: the run's GPUs idle while each writes its share of the
     * weights and optimizer state; GPU-hours and days include them. */
    double ckpt_B = s->memory.checkpoint_B, ckpt_s = 0, run_factor = 1;
    if (j->checkpoint_every != JOPT_NO_INT) {
        ckpt_s = prun_ckpt_s(ckpt_B, j->checkpoint_GBps * 1e9);
        run_factor = prun_ckpt_run_factor(ckpt_s, j->checkpoint_every, s->step_time_s);
        s->gpu_hours_per_trillion_tokens *= run_factor;
    }
    prun pr;
    int have_power;
    rc = train_power(j, env, in, p, s, ckpt_s, run_factor, &pr, &have_power, out, err);
    if (!rc) {
        char line[400];
        snprintf(line, sizeof line,
                 "%lld x %s: tp %lld, pp %lld%s, dp %lld, ep %lld, cp %lld, ZeRO %d, %s, %s, "
                 "recompute %s; %lld micro-batches per pipeline over %lld stages",
                 (long long)p->gpus, in->c->name, (long long)p->tp, (long long)p->pp,
                 p->vpp > 1 ? " (interleaved)" : "", (long long)p->dp, (long long)p->ep,
                 (long long)p->cp, p->zero, p->recipe, sched_name(cfg->schedule),
                 plan_recompute_name(p->recompute), (long long)s->microbatches,
                 (long long)s->stages);
        report_str(r, "summary", "run", line);
        report_plan(r, p, cfg);
        report_step(r, p, s);
        if (bands)
            junc_report(bands, (uint64_t)j->seed, r);
        report_budget(r, j, out, j->checkpoint_every, ckpt_s, ckpt_B, run_factor);
        report_memory(r, s, in->c);
        report_parts(r, s);
        report_calibration(r, s, in->cal != NULL, !j->ideal);
        if (have_power)
            jpower_report(r, &pr,
                          isfinite(j->tokens)
                              ? "power and cost of the token budget (facility = IT x PUE)"
                              : "power and cost of one step (facility = IT x PUE)");
        if (have_power)
            report_grid(r, j, out);
        jmitig_report(r, &out->mitig);
    }
    return rc;
}

/* --uncertainty: the prediction again with each draw of the calibration,
 * its figures into *bands (the caller's to free). */
static int train_draws(const jtrain_job *j, const jenv *env, inputs *in, const step_config *cfg,
                       const plan *p, junc **bands, ms_err *err)
{
    size_t n = (size_t)j->uncertainty;
    int rc = junc_new(band_keys, sizeof band_keys / sizeof band_keys[0], n, bands, err);
    step_config quiet = *cfg;
    quiet.trace_mask = 0;
    calib *cal = in->cal;
    for (size_t d = 0; !rc && d < n; d++) {
        calib *drawn = NULL;
        report *r = report_new();
        jtrain_out o = {.plan = *p};
        if (!r)
            rc = ms_errf(err, MS_ENOMEM, "out of memory");
        coll_params net0 = in->net; /* the undrawn figures, put back after the run */
        if (!rc)
            rc = junc_calib(cal, (uint64_t)j->seed, d, &drawn, err);
        if (!rc)
            rc = junc_net(&net0, (uint64_t)j->seed, d, &in->net, err);
        jtrain_job jd = *j; /* the node's estimated power drawn too, unless given */
        if (!rc && isnan(j->power.node_power_fraction))
            rc = junc_power_u((uint64_t)j->seed, d, &jd.power.node_power_fraction, err);
        if (!rc) {
            in->cal = drawn;
            rc = train_once(&jd, env, in, &quiet, NULL, r, &o, err);
            in->cal = cal;
        }
        in->net = net0;
        if (!rc)
            rc = junc_add_report(*bands, d, r, err);
        jtrain_out_free(&o);
        report_free(r);
        calib_free(drawn);
    }
    return rc;
}

int jtrain_run(const jtrain_job *j, const jenv *env, report *r, jtrain_out *out, ms_err *err)
{
    *out = (jtrain_out){0};
    step_config cfg;
    inputs in = {0};
    junc *bands = NULL;
    int rc = plan_of(j, &out->plan, &cfg, err);
    if (!rc && j->uncertainty != JOPT_NO_INT && j->peak)
        rc = ms_errf(err, MS_EUSAGE,
                     "--uncertainty draws the calibration's efficiencies, which --peak ignores: "
                     "give one of them");
    if (!rc)
        rc = load_inputs(j, env, &out->plan, &in, out, err);
    int drc = MS_OK;
    if (!rc && j->uncertainty != JOPT_NO_INT)
        drc = rc = train_draws(j, env, &in, &cfg, &out->plan, &bands, err);
    /* A draw that fails (a plan that does not fit fails in every draw)
     * still leaves the undrawn run's report, saying why. */
    if (!rc || drc) {
        int mrc = train_once(j, env, &in, &cfg, drc ? NULL : bands, r, out, err);
        rc = drc ? drc : mrc;
    }
    if (!rc && j->goodput.runs != JOPT_NO_INT) {
        const step_result *s = &out->step;
        jgoodput_run_in gi = {.gpus = (double)out->plan.gpus,
                              .step_s = s->step_time_s,
                              .tokens_per_s = s->tokens_per_s,
                              .tokens = j->tokens,
                              .price_per_gpu_hour = j->price_per_gpu_hour,
                              .ckpt_bytes_per_gpu = s->memory.checkpoint_B,
                              .ckpt_write_Bps = j->checkpoint_GBps * 1e9,
                              .ckpt_every_steps = j->checkpoint_every,
                              .c = in.c};
        rc = jgoodput_run(&j->goodput, env, &gi, r, &out->goodput_scale, err);
    }
    junc_free(bands);
    inputs_free(&in);
    return rc;
}

void jtrain_out_free(jtrain_out *out)
{
    step_result_free(&out->step);
    pseries_free(out->power_it);
    pseries_free(out->power_smooth);
    out->power_it = out->power_smooth = NULL;
    free(out->grid_psd);
    out->grid_psd = NULL;
    jmitig_free(&out->mitig);
    out->grid_npsd = 0;
}

int jtrain_write_spectrum(const jenv *env, const jtrain_job *j, const jtrain_out *o,
                          const char *plot, ms_err *err)
{
    if (!o->grid_psd)
        return ms_errf(err, MS_EINVAL, "--spectrum-plot: no spectrum: %s",
                       o->grid_note[0] ? o->grid_note : "the run reports no power");
    char title[300];
    snprintf(title, sizeof title,
             "%s: the facility's power, its swings by frequency (%.3g ms points)", o->power_title,
             1e3 / (2 * o->grid.nyquist_hz));
    return jpower_write_spectrum(env, plot, o->grid_psd, o->grid_npsd, o->grid.df_hz,
                                 j->band_low_hz, o->grid.band_hi_hz, title, err);
}

enum { PLOT_SPECTRUM, PLOT_MITIGATION, PLOT_GOODPUT_SCALE, NPLOTS };

/* One plot of a run to path; with png_twins, an SVG's PNG twin beside it. */
static int plot_one(const jenv *env, const jtrain_job *j, const jtrain_out *o, int which,
                    const char *path, int png_twins, ms_err *err)
{
    char png[4200];
    size_t len = strlen(path);
    int twin = png_twins && len > 4 && len < sizeof png && strcmp(path + len - 4, ".svg") == 0;
    if (twin)
        snprintf(png, sizeof png, "%.*s.png", (int)len - 4, path);
    if (which == PLOT_MITIGATION && !o->mitig.have)
        return ms_errf(err, MS_EINVAL, "--mitigation-plot: nothing sized: %s",
                       o->grid_note[0] ? o->grid_note : "the run reports no power");
    int rc = MS_OK;
    for (int k = 0; k < 1 + twin && !rc; k++) {
        const char *to = k ? png : path;
        rc = which == PLOT_SPECTRUM ? jtrain_write_spectrum(env, j, o, to, err)
             : which == PLOT_MITIGATION
                 ? jmitig_write_plot(env, to, &o->mitig, err)
                 : jgoodput_write_scale_plot(env, to, &o->goodput_scale, err);
    }
    return rc;
}

int jtrain_write_plots(const jenv *env, const jtrain_job *j, const jtrain_out *o, int png_twins,
                       ms_err *err)
{
    const char *paths[NPLOTS] = {[PLOT_SPECTRUM] = j->spectrum_plot,
                                 [PLOT_MITIGATION] = j->mitig.plot,
                                 [PLOT_GOODPUT_SCALE] = j->goodput.scale_plot};
    int rc = MS_OK;
    for (int k = 0; k < NPLOTS && !rc; k++)
        if (paths[k])
            rc = plot_one(env, j, o, k, paths[k], png_twins, err);
    return rc;
}

int jtrain_write_trace(const char *path, const jtrain_out *o, ms_err *err)
{
    const step_result *r = &o->step;
    const plan *p = &o->plan;
    trace_writer *w;
    int rc = trace_open(path, &w, err);
    if (rc)
        return rc;
    uint64_t named = 0;
    for (size_t i = 0; i < r->nspans; i++) {
        const step_span *s = &r->spans[i];
        if (!(named >> s->rank & 1)) {
            char name[64];
            snprintf(name, sizeof name, "pipeline rank %d (GPU %lld)", s->rank,
                     (long long)((int64_t)s->rank * p->tp * p->cp * p->dp));
            trace_name_process(w, s->rank, name);
            trace_name_thread(w, s->rank, 0, "compute");
            trace_name_thread(w, s->rank, 1, "communication");
            named |= UINT64_C(1) << s->rank;
        }
        trace_span(w, s->rank, s->lane, s->name, s->lane ? "comm" : "compute", s->start_s,
                   s->dur_s);
    }
    return trace_close(w, err);
}
