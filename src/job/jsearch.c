/* jsearch: see jsearch.h. */
#include "job/jsearch.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"
#include "hw/calib.h"
#include "net/coll.h"
#include "net/topo.h"
#include "train/stack.h"
#include "train/step.h"

#define J(f) offsetof(jsearch_job, f)

static const jopt rows[] = {
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, J(model),
     "model JSON (workloads/*.json or a Hugging Face config.json)"},
    {"chip", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, J(chip),
     "chip from hwdb/chips.csv (megasim chips lists them)"},
    {"gpus", JOPT_INT, "N", NULL, NULL, 2, 1e7, NULL, J(gpus), "GPUs in the job"},
    {"seq", JOPT_INT, "N", NULL, NULL, 1, 1e8, NULL, J(seq), "tokens per sequence"},
    {"global-batch", JOPT_INT, "N", NULL, NULL, 1, 1e9, NULL, J(global_batch),
     "sequences per step"},
    {"precision", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, J(precisions),
     "recipes to try: bf16, fp8, fp8-tensor, mxfp8 (default: bf16, and fp8 where the chip has "
     "an FP8 peak)"},
    {"stack", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, J(stack),
     "software stack of every plan: megatron-2021, megatron-core-2024, deepseek-v3 or plain "
     "(default: the chip's era)"},
    {"comm-sms", JOPT_INT, "N", NULL, "20", 0, 1e4, NULL, J(comm_sms),
     "SMs communication holds in the overlapped schedules, dualpipe and dualpipev "
     "(DeepSeek-V3: 20)"},
    {"moe-imbalance", JOPT_NUM, "X", NULL, "1", 1, 1e6, NULL, J(moe_imbalance),
     "busiest expert rank's tokens over the mean (1: balanced)"},
    {"max-cp", JOPT_INT, "N", NULL, "1", 1, 64, NULL, J(max_cp),
     "context-parallel degrees to try, powers of two up to N (default 1: megasim does not yet "
     "model context parallelism's exchange of keys and values, so cp > 1 would look free)"},
    {"top", JOPT_INT, "K", NULL, "10", 1, 1000, NULL, J(top), "plans to list, fastest first"},
    {"pareto-within", JOPT_NUM, "X", NULL, "0.1", 0, 10, NULL, J(pareto_within),
     "the Pareto set of step time, memory and cost holds plans up to this much slower than "
     "the fastest (0.1: 10%)"},
    {"compare-plan", JOPT_STR, "PLAN", NULL, NULL, NAN, NAN, NULL, J(compare_plan),
     "a plan to place in the ranking: tp=1,pp=16,ep=64,zero=1,mb=1,schedule=dualpipe,"
     "recompute=selective,precision=fp8 (keys left out: tp, pp, vpp, cp, ep 1, zero 1, mb 1, "
     "1f1b, none, bf16)"},
    {"exhaustive", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, J(exhaustive),
     "simulate every plan that fits, pruning none by its bound (slow; for checks)"},
    {"tokens", JOPT_POS, "N", NULL, NULL, NAN, NAN, NULL, J(tokens),
     "a token budget: GPU-hours and days of the best plan on it (e.g. 14.8e12)"},
    {"price-per-gpu-hour", JOPT_POS, "USD", "USD", NULL, NAN, NAN, NULL, J(price_per_gpu_hour),
     "what one GPU-hour costs, all in, instead of owning the GPUs (hwdb/costs.csv)"},
    {"objective", JOPT_CHOICE, "O", NULL, "time", NAN, NAN, "time|cost|energy", J(objective),
     "what the ranking minimizes: a step's time, its cost (capital and energy) or its energy at "
     "the meter"},
    JPOWER_ROWS(J(power)),
    JTOPO_ROWS(J(topo)),
    {"ideal", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, J(ideal),
     "ignore hwdb/network.csv: links at full bandwidth, no per-step cost"},
    {"peak", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, J(peak),
     "ignore hwdb/efficiency.csv: operations at datasheet peak"},
    {"efficiency", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, J(efficiency),
     "calibration to read (default: hwdb/efficiency.csv)"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, J(chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"csv", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, J(csv),
     "write every plan simulated, with its step and memory, to FILE"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, J(json), "print JSON"},
};

const jopt_table jsearch_options = {.rows = rows,
                                    .n = sizeof rows / sizeof rows[0],
                                    .track_given = 1,
                                    .given_off = offsetof(jsearch_job, given)};

/* ---- the plan as text ---- */

static const char *const recipes[] = {"bf16", "fp8", "fp8-tensor", "mxfp8"};
#define NRECIPES (sizeof recipes / sizeof recipes[0])

static const char *recipe_static(const char *name)
{
    for (size_t i = 0; i < NRECIPES; i++)
        if (strcmp(name, recipes[i]) == 0)
            return recipes[i];
    return NULL;
}

void jsearch_plan_format(const jsearch_plan *p, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "tp=%lld,pp=%lld,vpp=%lld,cp=%lld,ep=%lld,zero=%lld,mb=%lld,schedule=%s,"
             "recompute=%s,precision=%s",
             (long long)p->tp, (long long)p->pp, (long long)p->vpp, (long long)p->cp,
             (long long)p->ep, (long long)p->zero, (long long)p->micro_batch,
             sched_name(p->schedule), plan_recompute_name(p->recompute), p->precision);
}

int jsearch_plan_parse(const char *opt, const char *text, jsearch_plan *out, ms_err *err)
{
    *out = (jsearch_plan){.tp = 1,
                          .pp = 1,
                          .vpp = 1,
                          .cp = 1,
                          .ep = 1,
                          .zero = 1,
                          .micro_batch = 1,
                          .schedule = SCHED_1F1B,
                          .recompute = PLAN_RECOMPUTE_NONE,
                          .precision = recipes[0]};
    int64_t *const slot[] = {&out->tp, &out->pp,   &out->vpp,        &out->cp,
                             &out->ep, &out->zero, &out->micro_batch};
    unsigned seen = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[80];
        if (len == 0 || len >= sizeof item)
            return ms_errf(err, MS_EUSAGE, "%s '%s': expected KEY=VALUE items separated by commas",
                           opt, text);
        memcpy(item, p, len);
        item[len] = 0;
        char *eq = strchr(item, '=');
        if (!eq)
            return ms_errf(err, MS_EUSAGE, "%s: '%s' is not KEY=VALUE", opt, item);
        *eq = 0;
        const char *key = item, *val = eq + 1;
        int k = -1;
        static const char *const keys[] = {"tp",   "pp", "vpp",      "cp",        "ep",
                                           "zero", "mb", "schedule", "recompute", "precision"};
        for (int i = 0; i < 10; i++)
            if (strcmp(key, keys[i]) == 0)
                k = i;
        if (k < 0)
            return ms_errf(err, MS_EUSAGE,
                           "%s: unknown key '%s' (expected tp, pp, vpp, cp, ep, zero, mb, "
                           "schedule, recompute, precision)",
                           opt, key);
        if (seen & (1u << k))
            return ms_errf(err, MS_EUSAGE, "%s: '%s' is given twice", opt, key);
        seen |= 1u << k;
        if (k < 7) {
            double v;
            int64_t lo = k == 5 ? 0 : 1, hi = k == 5 ? 3 : 1000000000;
            if (num_parse(val, &v) || v != floor(v) || v < (double)lo || v > (double)hi)
                return ms_errf(err, MS_EUSAGE,
                               "%s: %s=%s: expected a whole number from %lld to %lld", opt, key,
                               val, (long long)lo, (long long)hi);
            *slot[k] = (int64_t)v;
        } else if (k == 7) {
            if (strcmp(val, "interleaved-1f1b") == 0)
                out->schedule = SCHED_INTERLEAVED;
            else if (sched_parse(val, &out->schedule) != 0)
                return ms_errf(err, MS_EUSAGE, "%s: schedule=%s: expected one of %s", opt, val,
                               sched_list());
        } else if (k == 8) {
            if (plan_recompute_parse(val, &out->recompute) != 0)
                return ms_errf(err, MS_EUSAGE, "%s: recompute=%s: expected none, selective or full",
                               opt, val);
        } else if (!(out->precision = recipe_static(val))) {
            return ms_errf(err, MS_EUSAGE,
                           "%s: precision=%s: expected bf16, fp8, fp8-tensor or mxfp8", opt, val);
        }
        p += len + (end ? 1 : 0);
        if (end && !*p)
            return ms_errf(err, MS_EUSAGE, "%s '%s': a comma ends it", opt, text);
    }
    return MS_OK;
}

/* ---- inputs ---- */

typedef struct inputs {
    model m;
    chip_db *db;
    const chip *c;
    chip limited; /* the chip under --gpu-power-limit (c points here) */
    calib *cal;
    coll_params net;
    topo *cluster;
    const char *stack;
    int64_t domain;
    jpower pw;
    int have_power;         /* the chip's power levels are known */
    char power_note[300];   /* why not, when not */
    double floor_meter_w;   /* the whole job at its floor, at the meter */
    double busy_meter_w;    /* the job's GPUs busy, at the least, over the floor, at the meter */
    double compute_meter_w; /* computing, at the least (memory-bound), over the floor */
    double usd_per_s_fixed; /* capital a second (the flat price's share without energy: 0) */
} inputs;

static void inputs_free(inputs *in)
{
    jpower_free(&in->pw);
    topo_free(in->cluster);
    calib_free(in->cal);
    chip_db_free(in->db);
}

/* The chip's power levels and prices as train reads them (the cluster's
 * switches included), and what the whole job draws at its floor. */
static int load_power(const jsearch_job *j, const jenv *env, inputs *in, ms_err *err)
{
    topo_size sz = topo_get_size(in->cluster);
    int64_t switches = sz.switches[1] + sz.switches[2] + sz.switches[3];
    int rc = jpower_load_optional(&j->power, env, in->c, (double)j->gpus, switches,
                                  j->price_per_gpu_hour, &in->pw, &in->have_power, in->power_note,
                                  sizeof in->power_note, err);
    if (rc)
        return rc;
    if (!in->have_power && j->objective != 0)
        return ms_errf(err, MS_EINVAL, "--objective %s needs the chip's power: %s",
                       j->objective == 1 ? "cost" : "energy", in->power_note);
    if (!in->have_power)
        return MS_OK;
    const jpower *pw = &in->pw;
    in->floor_meter_w =
        ((double)j->gpus * pwr_it_per_gpu_w(&pw->lv, pwr_floor_w(&pw->lv, &pw->site)) +
         (double)switches * pw->site.switch_w) *
        pw->site.pue;
    /* Above the floor, a second of compute draws at least memory-bound
     * power (matrix power is above it), a busy second of any kind at
     * least the lesser of that and communication power. */
    double floor_w = pwr_floor_w(&pw->lv, &pw->site), g = (double)j->gpus;
    double busy_w = fmax(floor_w, fmin(pw->lv.memory_w, pw->lv.comm_w));
    double compute_w = fmax(floor_w, pw->lv.memory_w);
    double floor_it_w = pwr_it_per_gpu_w(&pw->lv, floor_w);
    in->busy_meter_w = g * (pwr_it_per_gpu_w(&pw->lv, busy_w) - floor_it_w) * pw->site.pue;
    in->compute_meter_w = g * (pwr_it_per_gpu_w(&pw->lv, compute_w) - floor_it_w) * pw->site.pue;
    in->usd_per_s_fixed =
        isfinite(pw->price_per_gpu_hour)
            ? 0 /* the price is all in: a step's cost is its GPU-hours at it */
            : tco_capital_rate(&pw->tco).capital_usd_per_gpu_hour * (double)j->gpus / 3600;
    if (j->objective == 1 && isnan(in->usd_per_s_fixed))
        return ms_errf(err, MS_EINVAL, "--objective cost: %s", pw->unpriced);
    return MS_OK;
}

/* A step's energy at the meter: the job at its floor for the step, plus
 * what each task of replica 0's ranks draws above it, for every GPU of its
 * stage (as train's power series adds them). */
static double step_energy_j(const inputs *in, const plan *p, const step_result *s)
{
    const jpower *pw = &in->pw;
    double per_rank = (double)(p->gpus / p->pp), above_j = 0;
    for (size_t i = 0; i < s->nacts; i++) {
        const step_activity *x = &s->acts[i];
        double it_w, gpu_w;
        pwr_work_w(&pw->lv, &pw->site, x->dur_s, x->matrix_s, x->memory_s, x->comm_s, &it_w,
                   &gpu_w);
        above_j += per_rank * it_w * x->dur_s;
    }
    return in->floor_meter_w * s->step_time_s + above_j * pw->site.pue;
}

/* A step's cost: its GPU-hours at the flat price, or at the capital rate
 * with its energy at the meter's price. */
static double step_usd(const inputs *in, double gpus, double step_s, double energy_j)
{
    const jpower *pw = &in->pw;
    if (isfinite(pw->price_per_gpu_hour))
        return pw->price_per_gpu_hour * gpus * step_s / 3600;
    return in->usd_per_s_fixed * step_s + tco_energy_usd(&pw->tco, energy_j);
}

static int load_inputs(const jsearch_job *j, const jenv *env, inputs *in, jsearch_out *out,
                       ms_err *err)
{
    static const char *const need[] = {"model", "chip", "gpus", "seq", "global-batch"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!jopt_is_set(&jsearch_options, j, need[i]))
            return ms_errf(err, MS_EUSAGE, "--%s is required", need[i]);
    if (!j->what || strcmp(j->what, "train") != 0)
        return ms_errf(
            err, MS_EUSAGE,
            "expected what to search: megasim search train ... or megasim search serve ...");
    if (j->power.power_trace || j->power.power_plot)
        return ms_errf(err, MS_EUSAGE,
                       "--%s: a search draws no power over time (megasim train does, for a plan)",
                       j->power.power_trace ? "power-trace" : "power-plot");
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
    in->stack = j->stack ? j->stack : stack_default(in->c)->name;
    if (!stack_find(in->stack))
        return ms_errf(err, MS_EUSAGE, "--stack '%s': expected one of %s", in->stack, stack_list());
    in->net = COLL_PARAMS_IDEAL;
    if (!j->ideal && ((rc = jenv_path(env, "hwdb/network.csv", path, sizeof path, err)) ||
                      (rc = coll_params_load(path, &in->net, err))))
        return rc;
    topo_spec ts;
    if ((rc = jtopo_spec(&j->topo, in->c, j->gpus, &ts, err)) ||
        (rc = jtopo_build(&j->topo, &ts, &in->cluster, err)))
        return rc;
    in->domain = ts.domain_size > 0 ? ts.domain_size : 1;
    return load_power(j, env, in, err);
}

/* The recipes to try: --precision's, or bf16 and fp8 where the chip has
 * their peaks. */
static int recipes_of(const jsearch_job *j, const chip *c, const char **out, size_t *n, ms_err *err)
{
    *n = 0;
    if (!j->precisions) {
        if (!isnan(c->peak_flop_per_s[MS_BF16]))
            out[(*n)++] = recipes[0];
        if (!isnan(c->peak_flop_per_s[MS_FP8]))
            out[(*n)++] = recipes[1];
        if (*n == 0)
            return ms_errf(err, MS_EINVAL, "the %s has neither a BF16 nor an FP8 peak", c->name);
        return MS_OK;
    }
    const char *p = j->precisions;
    while (*p) {
        size_t len = strcspn(p, ",");
        char name[32];
        const char *r = NULL;
        if (len > 0 && len < sizeof name) {
            memcpy(name, p, len);
            name[len] = 0;
            r = recipe_static(name);
        }
        if (!r)
            return ms_errf(err, MS_EUSAGE,
                           "--precision '%s': expected a list of bf16, fp8, fp8-tensor, mxfp8",
                           j->precisions);
        for (size_t i = 0; i < *n; i++)
            if (out[i] == r)
                return ms_errf(err, MS_EUSAGE, "--precision '%s': %s is given twice", j->precisions,
                               r);
        out[(*n)++] = r;
        p += len + (p[len] == ',');
    }
    return MS_OK;
}

/* ---- candidates ---- */

/* A candidate, small: the search holds hundreds of thousands. */
typedef struct cand {
    int32_t tp, pp, vpp, cp, ep, mb;
    int8_t zero, recompute, schedule, recipe; /* recipe: index into the tried list */
    double bound_s;                           /* no schedule runs it faster */
    double compute_bound_s;                   /* of it, compute (the rest communication) */
    double mem_B;                             /* per rank, before a schedule's extras */
    uint32_t order;                           /* enumeration order: ties are broken by it */
} cand;

typedef struct cands {
    cand *a;
    size_t n, cap;
} cands;

static int cands_push(cands *c, const cand *x)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        cand *a = realloc(c->a, cap * sizeof *a);
        if (!a)
            return -1;
        c->a = a;
        c->cap = cap;
    }
    c->a[c->n++] = *x;
    return 0;
}

static plan plan_of(const jsearch_job *j, const inputs *in, const char *recipe, const cand *x)
{
    return (plan){.gpus = j->gpus,
                  .tp = x->tp,
                  .pp = x->pp,
                  .vpp = x->vpp,
                  .cp = x->cp,
                  .dp = j->gpus / ((int64_t)x->tp * x->pp * x->cp),
                  .ep = x->ep,
                  .zero = x->zero,
                  .seq_len = j->seq,
                  .global_batch = j->global_batch,
                  .micro_batch = x->mb,
                  .recipe = recipe,
                  .stack = in->stack,
                  .recompute = (plan_recompute)x->recompute};
}

static jsearch_plan splan_of(const char *recipe, const cand *x)
{
    return (jsearch_plan){.tp = x->tp,
                          .pp = x->pp,
                          .vpp = x->vpp,
                          .cp = x->cp,
                          .ep = x->ep,
                          .zero = x->zero,
                          .micro_batch = x->mb,
                          .schedule = (sched_kind)x->schedule,
                          .recompute = (plan_recompute)x->recompute,
                          .precision = recipe};
}

/* The work of one micro-batch through every stage of the model (step's
 * step_work_of), remembered per (tp, cp, ep, mb, recompute, recipe): pp,
 * ZeRO and the schedule do not change it. */
#define BOUND_SLOTS 4096
typedef struct bound_cache {
    struct {
        int32_t tp, cp, ep, mb;
        int8_t rc, recipe, used;
        step_work w;
    } slot[BOUND_SLOTS];
} bound_cache;

static int model_work(const jsearch_job *j, const inputs *in, const char *const *tried,
                      bound_cache *bc, const cand *x, step_work *out, ms_err *err)
{
    unsigned h = (unsigned)x->tp * 31u + (unsigned)x->cp * 131u + (unsigned)x->ep * 1009u +
                 (unsigned)x->mb * 7919u + (unsigned)x->recompute * 17u + (unsigned)x->recipe * 3u;
    for (unsigned k = 0; k < BOUND_SLOTS; k++) {
        unsigned i = (h + k) % BOUND_SLOTS;
        if (!bc->slot[i].used) {
            plan p = plan_of(j, in, tried[x->recipe], x);
            int rc = step_work_of(&in->m, in->c, in->cal, &p, in->cluster, &in->net,
                                  j->moe_imbalance, &bc->slot[i].w, err);
            if (rc)
                return rc;
            bc->slot[i].tp = x->tp, bc->slot[i].cp = x->cp, bc->slot[i].ep = x->ep;
            bc->slot[i].mb = x->mb, bc->slot[i].rc = x->recompute, bc->slot[i].recipe = x->recipe;
            bc->slot[i].used = 1;
            *out = bc->slot[i].w;
            return MS_OK;
        }
        if (bc->slot[i].tp == x->tp && bc->slot[i].cp == x->cp && bc->slot[i].ep == x->ep &&
            bc->slot[i].mb == x->mb && bc->slot[i].rc == x->recompute &&
            bc->slot[i].recipe == x->recipe) {
            *out = bc->slot[i].w;
            return MS_OK;
        }
    }
    return ms_errf(err, MS_ENOMEM, "the search's table of model costs is full");
}

/* The candidate's bound and memory; 0 when it is a valid plan, 1 when
 * plan_check refuses it or tcost cannot time it (fp8 on a chip without an
 * FP8 peak). */
static int assess(const jsearch_job *j, const inputs *in, const char *const *tried, bound_cache *bc,
                  cand *x, ms_err *err)
{
    plan p = plan_of(j, in, tried[x->recipe], x);
    ms_err e = {0};
    if (plan_check(&p, &in->m, &e))
        return 1;
    step_work w;
    int rc = model_work(j, in, tried, bc, x, &w, &e);
    if (rc == MS_ENOMEM) {
        *err = e;
        return -1;
    }
    if (rc)
        return 1;
    x->bound_s = step_lower_bound(&w, &p, (sched_kind)x->schedule);
    step_work compute_only = {.compute_s = w.compute_s};
    x->compute_bound_s = step_lower_bound(&compute_only, &p, (sched_kind)x->schedule);
    plan_memory mem = plan_memory_per_rank(&p, &in->m);
    x->mem_B = mem.total_B;
    return 0;
}

static int pow2_upto(int64_t n, int64_t limit, int32_t *out)
{
    int k = 0;
    for (int64_t v = 1; v <= n && v <= limit && k < 40; v *= 2)
        out[k++] = (int32_t)v;
    return k;
}

/* Every plan of the space into c, valid ones assessed; counts in out. */
static int enumerate(const jsearch_job *j, const inputs *in, const char *const *tried,
                     size_t ntried, bound_cache *bc, cands *c, jsearch_out *out, ms_err *err)
{
    int32_t tps[40], cps[40], eps[40], mbs[] = {1, 2, 4, 8};
    int ntp = pow2_upto(in->domain, 1 << 20, tps);
    int ncp = pow2_upto(j->max_cp, j->seq, cps);
    int64_t experts = in->m.num_experts;
    struct {
        sched_kind s;
        int vpp;
    } scheds[] = {{SCHED_1F1B, 1},        {SCHED_GPIPE, 1},       {SCHED_ZB1P, 1},
                  {SCHED_INTERLEAVED, 2}, {SCHED_INTERLEAVED, 4}, {SCHED_DUALPIPE, 1},
                  {SCHED_DUALPIPEV, 1}};
    size_t nsched = sizeof scheds / sizeof scheds[0];
    uint32_t order = 0;
    for (int a = 0; a < ntp; a++)
        for (int b = 0; b < ncp; b++) {
            int64_t tp = tps[a], cp = cps[b];
            if (j->gpus % (tp * cp) != 0)
                continue;
            int64_t rest = j->gpus / (tp * cp);
            for (int64_t pp = 1; pp <= rest && pp <= in->m.num_layers; pp++) {
                if (rest % pp != 0)
                    continue;
                int64_t dp = rest / pp;
                int nep = experts > 0 ? pow2_upto(experts, dp * tp, eps) : (eps[0] = 1, 1);
                for (size_t s = 0; s < (pp > 1 ? nsched : 1); s++)
                    for (int e = 0; e < nep; e++)
                        for (int z = 0; z <= 3; z++)
                            for (int mb = 0; mb < 4; mb++)
                                for (int rc = 0; rc < 3; rc++)
                                    for (size_t pr = 0; pr < ntried; pr++) {
                                        cand x = {.tp = (int32_t)tp,
                                                  .pp = (int32_t)pp,
                                                  .vpp = scheds[s].vpp,
                                                  .cp = (int32_t)cp,
                                                  .ep = eps[e],
                                                  .mb = mbs[mb],
                                                  .zero = (int8_t)z,
                                                  .recompute = (int8_t)rc,
                                                  .schedule = (int8_t)scheds[s].s,
                                                  .recipe = (int8_t)pr,
                                                  .order = order++};
                                        out->enumerated++;
                                        int v = assess(j, in, tried, bc, &x, err);
                                        if (v < 0)
                                            return MS_ENOMEM;
                                        if (v > 0)
                                            continue;
                                        out->candidates++;
                                        if (cands_push(c, &x))
                                            return ms_errf(err, MS_ENOMEM,
                                                           "out of memory for the candidates");
                                    }
            }
        }
    return MS_OK;
}

static int by_bound(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->bound_s != b->bound_s)
        return a->bound_s < b->bound_s ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* ---- simulation ---- */

typedef struct result {
    cand x;
    double obj; /* what the ranking minimizes */
    double step_s, tokens_per_s, mfu, mem_B, bubble, exposed, gpu_hours_per_T;
    double energy_j, usd; /* a step's; NAN when unknown */
    int on_front;         /* in the Pareto set of step time, memory and cost */
    step_part part[2];
    double part_frac[2];
} result;

typedef struct results {
    result *a;
    size_t n, cap;
} results;

static int results_push(results *r, const result *x)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        result *a = realloc(r->a, cap * sizeof *a);
        if (!a)
            return -1;
        r->a = a;
        r->cap = cap;
    }
    r->a[r->n++] = *x;
    return 0;
}

/* Runs x on the engine: MS_OK with *res, 1 when the step cannot run it
 * (the schedule refuses the shape, or it does not fit once the schedule's
 * extras count), or an error to stop the search (MS_ENOMEM). */
static int simulate(const jsearch_job *j, const inputs *in, const char *const *tried, const cand *x,
                    result *res, ms_err *why)
{
    plan p = plan_of(j, in, tried[x->recipe], x);
    int overlapped = x->schedule == SCHED_DUALPIPE || x->schedule == SCHED_DUALPIPEV;
    step_config cfg = {.schedule = (sched_kind)x->schedule,
                       .comm_sms = overlapped ? j->comm_sms : 0,
                       .moe_load = j->moe_imbalance};
    step_result s;
    int rc = step_run(&in->m, in->c, in->cal, &p, in->cluster, &in->net, &cfg, &s, why);
    if (rc) {
        step_result_free(&s);
        return rc == MS_ENOMEM ? rc : 1;
    }
    *res = (result){.x = *x,
                    .step_s = s.step_time_s,
                    .tokens_per_s = s.tokens_per_s,
                    .mfu = strcmp(p.recipe, "bf16") == 0 ? s.mfu_bf16 : s.mfu_fp8,
                    .mem_B = s.memory.total_B,
                    .bubble = s.bubble_fraction,
                    .exposed = s.exposed_comm_fraction,
                    .gpu_hours_per_T = s.gpu_hours_per_trillion_tokens,
                    .energy_j = in->have_power ? step_energy_j(in, &p, &s) : NAN,
                    .part = {STEP_PARTS, STEP_PARTS},
                    .part_frac = {NAN, NAN}};
    res->usd = in->have_power ? step_usd(in, (double)p.gpus, s.step_time_s, res->energy_j) : NAN;
    res->obj = j->objective == 0 ? res->step_s : j->objective == 1 ? res->usd : res->energy_j;
    /* The two largest parts of the step: why the plan takes what it takes. */
    for (int k = 0; k < STEP_PARTS; k++) {
        double f = s.part_s[k] / s.step_time_s;
        if (res->part[0] == STEP_PARTS || f > res->part_frac[0]) {
            res->part[1] = res->part[0], res->part_frac[1] = res->part_frac[0];
            res->part[0] = (step_part)k, res->part_frac[0] = f;
        } else if (res->part[1] == STEP_PARTS || f > res->part_frac[1]) {
            res->part[1] = (step_part)k, res->part_frac[1] = f;
        }
    }
    step_result_free(&s);
    return MS_OK;
}

/* The K best step times found so far, ascending. */
typedef struct topk {
    double *t;
    size_t n, k;
} topk;

static void topk_add(topk *tk, double t)
{
    size_t i;
    if (tk->n < tk->k)
        i = tk->n++;
    else if (t < tk->t[tk->k - 1])
        i = tk->k - 1;
    else
        return;
    tk->t[i] = t;
    while (i > 0 && tk->t[i - 1] > tk->t[i]) {
        double s = tk->t[i - 1];
        tk->t[i - 1] = tk->t[i];
        tk->t[i] = s;
        i--;
    }
}

/* Whether a plan simulated already is at least as fast as bound, with no
 * more memory than mem and costing no more than cost: then x is in no
 * Pareto set. The front keeps the plans no other dominates, sorted by
 * step time. Cost is 0 for every plan when it is unknown: the set is then
 * of step time and memory. */
typedef struct front {
    double *t, *m, *c;
    size_t n, cap;
} front;

static int front_dominates(const front *f, double bound_s, double mem_B, double cost)
{
    for (size_t i = 0; i < f->n && f->t[i] <= bound_s; i++)
        if (f->m[i] <= mem_B && f->c[i] <= cost)
            return 1;
    return 0;
}

static int front_add(front *f, double t, double m, double c)
{
    if (front_dominates(f, t, m, c))
        return 0;
    /* Drop what the new plan dominates, insert it in time order. */
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++)
        if (!(f->t[i] >= t && f->m[i] >= m && f->c[i] >= c))
            f->t[w] = f->t[i], f->m[w] = f->m[i], f->c[w] = f->c[i], w++;
    f->n = w;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        double **arrays[] = {&f->t, &f->m, &f->c};
        for (int a = 0; a < 3; a++) {
            double *grown = realloc(*arrays[a], cap * sizeof *grown);
            if (!grown)
                return -1;
            *arrays[a] = grown;
        }
        f->cap = cap;
    }
    size_t i = f->n++;
    while (i > 0 && f->t[i - 1] > t) {
        f->t[i] = f->t[i - 1], f->m[i] = f->m[i - 1], f->c[i] = f->c[i - 1];
        i--;
    }
    f->t[i] = t, f->m[i] = m, f->c[i] = c;
    return 0;
}

/* The least energy x's step can draw at the meter: the floor for the
 * step, and above it x's bound in busy seconds of each pipeline rank
 * (step_lower_bound: every task's work shared over the ranks, none of it
 * idle), its compute at least memory-bound power, the rest at least the
 * least busy power. */
static double energy_bound(const inputs *in, const cand *x)
{
    return in->floor_meter_w * x->bound_s + in->compute_meter_w * x->compute_bound_s +
           in->busy_meter_w * (x->bound_s - x->compute_bound_s);
}

/* The least cost of x's step; 0 when cost is unknown (as the front's). */
static double cost_bound(const jsearch_job *j, const inputs *in, const cand *x)
{
    return in->have_power ? step_usd(in, (double)j->gpus, x->bound_s, energy_bound(in, x)) : 0;
}

/* The least objective x can have. */
static double obj_bound(const jsearch_job *j, const inputs *in, const cand *x)
{
    return j->objective == 0   ? x->bound_s
           : j->objective == 1 ? cost_bound(j, in, x)
                               : energy_bound(in, x);
}

/* ---- the report ---- */

static void result_row(report *r, const result *x, const char *const *tried)
{
    char text[200];
    jsearch_plan sp = splan_of(tried[x->x.recipe], &x->x);
    jsearch_plan_format(&sp, text, sizeof text);
    report_str(r, "plan", NULL, text);
    report_num(r, "step_time_s", "step", x->step_s, "s");
    report_num(r, "tokens_per_s", "tokens/s", x->tokens_per_s, "tokens/s");
    report_num(r, "mfu", "MFU", x->mfu, "%");
    report_num(r, "memory_per_gpu_B", "memory/GPU", x->mem_B, "B");
    report_num(r, "bubble_fraction", "bubble", x->bubble, "%");
    report_num(r, "exposed_comm_fraction", "exposed comm", x->exposed, "%");
    snprintf(text, sizeof text, "%s %.0f%%, %s %.0f%%",
             x->part[0] < STEP_PARTS ? step_part_name(x->part[0]) : "-", 100 * x->part_frac[0],
             x->part[1] < STEP_PARTS ? step_part_name(x->part[1]) : "-", 100 * x->part_frac[1]);
    report_str(r, "largest_parts", "largest parts", text);
    report_num(r, "energy_per_step_j", "energy/step", x->energy_j, "J");
    report_num(r, "usd_per_step", "cost/step", x->usd, "USD");
}

static int by_step(const void *pa, const void *pb)
{
    const result *a = pa, *b = pb;
    if (a->step_s != b->step_s)
        return a->step_s < b->step_s ? -1 : 1;
    return a->x.order < b->x.order ? -1 : a->x.order > b->x.order;
}

static int by_obj(const void *pa, const void *pb)
{
    const result *a = pa, *b = pb;
    if (a->obj != b->obj)
        return a->obj < b->obj ? -1 : 1;
    return by_step(pa, pb);
}

/* ---- the search ---- */

int jsearch_run(const jsearch_job *j, const jenv *env, report *r, jsearch_out *out, ms_err *err)
{
    *out = (jsearch_out){
        .best_step_s = NAN, .best_energy_j = NAN, .best_usd = NAN, .compare_step_s = NAN};
    inputs in = {0};
    cands c = {0};
    results res = {0};
    front fr = {0};
    topk tk = {0};
    bound_cache *bc = NULL;
    const char *tried[NRECIPES];
    size_t ntried = 0;
    jsearch_plan cmp_plan;
    int have_cmp = 0;
    int rc = load_inputs(j, env, &in, out, err);
    if (!rc)
        rc = recipes_of(j, in.c, tried, &ntried, err);
    if (!rc && j->compare_plan) {
        if (!(rc = jsearch_plan_parse("--compare-plan", j->compare_plan, &cmp_plan, err)))
            have_cmp = 1;
    }
    if (!rc && !(bc = calloc(1, sizeof *bc)))
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
    if (!rc && !(tk.t = malloc((size_t)j->top * sizeof *tk.t)))
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
    tk.k = (size_t)j->top;
    if (!rc)
        rc = enumerate(j, &in, tried, ntried, bc, &c, out, err);
    if (rc)
        goto out;

    /* The compared plan, first: its step is a threshold of the search. */
    const char *cmp_tried[NRECIPES + 1];
    memcpy(cmp_tried, tried, ntried * sizeof *tried);
    result cmp = {0};
    if (have_cmp) {
        cmp_tried[ntried] = cmp_plan.precision;
        cand x = {.tp = (int32_t)cmp_plan.tp,
                  .pp = (int32_t)cmp_plan.pp,
                  .vpp = (int32_t)cmp_plan.vpp,
                  .cp = (int32_t)cmp_plan.cp,
                  .ep = (int32_t)cmp_plan.ep,
                  .mb = (int32_t)cmp_plan.micro_batch,
                  .zero = (int8_t)cmp_plan.zero,
                  .recompute = (int8_t)cmp_plan.recompute,
                  .schedule = (int8_t)cmp_plan.schedule,
                  .recipe = (int8_t)ntried,
                  .order = UINT32_MAX};
        if (j->gpus % ((int64_t)x.tp * x.pp * x.cp) != 0) {
            rc = ms_errf(err, MS_EUSAGE,
                         "--compare-plan: tp x pp x cp = %lld does not divide --gpus %lld",
                         (long long)x.tp * x.pp * x.cp, (long long)j->gpus);
            goto out;
        }
        plan p = plan_of(j, &in, cmp_plan.precision, &x);
        ms_err why = {0};
        if ((rc = plan_check(&p, &in.m, &why))) {
            rc = ms_errf(err, MS_EUSAGE, "--compare-plan: %s", why.msg);
            goto out;
        }
        int v = simulate(j, &in, cmp_tried, &x, &cmp, &why);
        if (v) { /* the step's own message says why */
            rc = v == MS_ENOMEM ? (*err = why, MS_ENOMEM)
                                : ms_errf(err, MS_EINVAL, "--compare-plan cannot run: %s", why.msg);
            goto out;
        }
        out->compare_step_s = cmp.step_s;
    }
    double best_t = INFINITY; /* the fastest step simulated: the Pareto set's reference */

    /* Memory first, then the bound in ascending order. */
    size_t w = 0;
    double closest_short = INFINITY;
    cand closest = {0};
    for (size_t i = 0; i < c.n; i++) {
        double short_B = c.a[i].mem_B - in.c->hbm_bytes;
        if (short_B > 0) {
            out->pruned_memory++;
            if (short_B < closest_short)
                closest_short = short_B, closest = c.a[i];
            continue;
        }
        c.a[w++] = c.a[i];
    }
    c.n = w;
    qsort(c.a, c.n, sizeof *c.a, by_bound);
    double within = 1 + j->pareto_within;
    for (size_t i = 0; i < c.n; i++) {
        const cand *x = &c.a[i];
        double keep = tk.n == tk.k ? tk.t[tk.k - 1] : INFINITY;
        if (have_cmp && cmp.obj > keep)
            keep = cmp.obj;
        double pareto_keep = within * best_t;
        if (j->exhaustive)
            keep = pareto_keep = INFINITY;
        /* The candidates after x bound no lower in time, nor in cost or
         * energy with every busy second at the least busy draw: when that
         * cannot place, stop. */
        cand least = {.bound_s = x->bound_s, .compute_bound_s = 0};
        double obj_lb = obj_bound(j, &in, x), least_lb = obj_bound(j, &in, &least);
        if (least_lb > keep && x->bound_s > pareto_keep) {
            out->pruned_bound += (int64_t)(c.n - i);
            break;
        }
        if (obj_lb > keep && (x->bound_s > pareto_keep ||
                              front_dominates(&fr, x->bound_s, x->mem_B, cost_bound(j, &in, x)))) {
            out->pruned_bound++;
            continue;
        }
        result one;
        ms_err why = {0};
        int v = simulate(j, &in, tried, x, &one, &why);
        out->simulated++;
        if (v == MS_ENOMEM) {
            *err = why;
            rc = v;
            goto out;
        }
        if (v == 1) {
            out->failed++;
            continue;
        }
        if (results_push(&res, &one) ||
            front_add(&fr, one.step_s, one.mem_B, in.have_power ? one.usd : 0)) {
            rc = ms_errf(err, MS_ENOMEM, "out of memory for the results");
            goto out;
        }
        topk_add(&tk, one.obj);
        best_t = fmin(best_t, one.step_s);
        if (j->progress && out->simulated % 16 == 0)
            j->progress(j->progress_ctx, (double)(i + 1), (double)c.n, "candidates");
    }
    if (res.n == 0) {
        char text[200];
        if (out->pruned_memory > 0 && out->simulated == 0) {
            jsearch_plan sp = splan_of(tried[closest.recipe], &closest);
            jsearch_plan_format(&sp, text, sizeof text);
            rc = ms_errf(err, MS_EINVAL,
                         "no plan of the %lld candidates fits %lld x %s: the closest, %s, needs "
                         "%.1f GB a GPU, %.1f GB more than its %.1f GB",
                         (long long)out->candidates, (long long)j->gpus, in.c->name, text,
                         closest.mem_B / 1e9, closest_short / 1e9, in.c->hbm_bytes / 1e9);
        } else {
            rc = ms_errf(err, MS_EINVAL,
                         "no plan of the %lld candidates could run on %lld x %s (%lld simulated "
                         "failed: the schedules refuse their shapes, or their weights do not fit "
                         "once a schedule keeps two copies)",
                         (long long)out->candidates, (long long)j->gpus, in.c->name,
                         (long long)out->failed);
        }
        goto out;
    }
    /* The Pareto set of step time, memory and cost (when known), among
     * plans within --pareto-within of the fastest: a plan is on it when no
     * other is at least as good in all three and better in one. One that
     * dominates it is no slower, so within the window too. */
    qsort(res.a, res.n, sizeof *res.a, by_step);
    size_t nwin = 0;
    while (nwin < res.n && res.a[nwin].step_s <= within * res.a[0].step_s)
        nwin++;
    for (size_t i = 0; i < nwin; i++) {
        const result *a = &res.a[i];
        double ca = in.have_power ? a->usd : 0;
        int dominated = 0;
        for (size_t k = 0; k < nwin && res.a[k].step_s <= a->step_s && !dominated; k++) {
            const result *b = &res.a[k];
            double cb = in.have_power ? b->usd : 0;
            dominated = b->mem_B <= a->mem_B && cb <= ca &&
                        (b->step_s < a->step_s || b->mem_B < a->mem_B || cb < ca);
        }
        res.a[i].on_front = !dominated;
    }
    qsort(res.a, res.n, sizeof *res.a, by_obj);
    const result *best = &res.a[0];
    out->best_step_s = best->step_s;
    out->best_energy_j = best->energy_j;
    out->best_usd = best->usd;
    out->best = splan_of(tried[best->x.recipe], &best->x);
    if (have_cmp) {
        size_t better = 0;
        for (size_t i = 0; i < res.n; i++)
            better += res.a[i].obj < cmp.obj;
        out->compare_rank = (int64_t)better + 1;
    }
    static const char *const obj_names[] = {"the fastest", "the cheapest", "the least energy"};

    report_version(r, env->version);
    jopt_report_inputs(&jsearch_options, j, r);
    report_str(r, "model", NULL, in.m.name);
    report_str(r, "chip", NULL, in.c->name);
    report_str(r, "stack", "software stack", in.stack);
    report_begin(r, "search", "the search");
    report_int(r, "enumerated", "plans enumerated", out->enumerated, "");
    report_int(r, "candidates", "valid for the model (candidates)", out->candidates, "");
    report_int(r, "pruned_memory", "pruned: do not fit in memory", out->pruned_memory, "");
    report_int(r, "pruned_bound", "pruned: their bound cannot place", out->pruned_bound, "");
    report_int(r, "simulated", "simulated", out->simulated, "");
    report_int(r, "failed", "of those, the schedule cannot run", out->failed, "");
    report_end(r);
    report_str(r, "objective", "ranked by",
               j->objective == 0   ? "a step's time"
               : j->objective == 1 ? "a step's cost"
                                   : "a step's energy at the meter");
    if (in.have_power && in.pw.price_basis[0])
        report_str(r, "price_basis", "priced", in.pw.price_basis);
    if (!in.have_power)
        report_str(r, "power_unknown", "energy and cost unknown", in.power_note);
    char title[160];
    snprintf(title, sizeof title, "%s plan", obj_names[j->objective]);
    report_begin(r, "best", title);
    result_row(r, best, tried);
    report_num(r, "gpu_hours_per_trillion_tokens", "GPU-hours per trillion tokens",
               best->gpu_hours_per_T, "GPU-hours");
    if (isfinite(j->tokens)) {
        double gpu_h = best->gpu_hours_per_T * j->tokens / 1e12;
        report_num(r, "gpu_hours", "GPU-hours of the token budget", gpu_h, "GPU-hours");
        report_num(r, "days", "days of the token budget", gpu_h / (double)j->gpus / 24, "days");
        double steps = j->tokens / ((double)j->global_batch * (double)j->seq);
        report_num(r, "energy_j", "energy of the token budget at the meter", best->energy_j * steps,
                   "J");
        report_num(r, "cost_usd", "cost of the token budget", best->usd * steps, "USD");
    }
    report_end(r);
    if (have_cmp) {
        char text[200];
        jsearch_plan_format(&cmp_plan, text, sizeof text);
        report_begin(r, "compare", "the compared plan");
        report_str(r, "plan", NULL, text);
        report_num(r, "step_time_s", "step", cmp.step_s, "s");
        report_num(r, "memory_per_gpu_B", "memory/GPU", cmp.mem_B, "B");
        report_num(r, "energy_per_step_j", "energy/step", cmp.energy_j, "J");
        report_num(r, "usd_per_step", "cost/step", cmp.usd, "USD");
        report_int(r, "rank", "rank among the plans simulated", out->compare_rank, "");
        report_num(r, "slower_than_best", "slower than the best", cmp.step_s / best->step_s - 1,
                   "%");
        if (j->objective != 0)
            report_num(r, "worse_than_best",
                       j->objective == 1 ? "dearer than the best" : "more energy than the best",
                       cmp.obj / best->obj - 1, "%");
        report_end(r);
    }
    snprintf(title, sizeof title, "%s plans", obj_names[j->objective]);
    report_table(r, "top", title);
    for (size_t i = 0; i < res.n && i < (size_t)j->top; i++) {
        report_row(r);
        report_int(r, "rank", "#", (int64_t)i + 1, "");
        result_row(r, &res.a[i], tried);
    }
    report_table_end(r);
    snprintf(title, sizeof title,
             in.have_power ? "Pareto set: plans within %.3g%% of the fastest step that no plan "
                             "beats in step, memory and cost at once"
                           : "Pareto set: plans within %.3g%% of the fastest step, none faster "
                             "with less memory (cost unknown)",
             100 * j->pareto_within);
    report_table(r, "pareto", title);
    qsort(res.a, res.n, sizeof *res.a, by_step);
    for (size_t i = 0; i < res.n; i++)
        if (res.a[i].on_front) {
            report_row(r);
            result_row(r, &res.a[i], tried);
        }
    report_table_end(r);
    qsort(res.a, res.n, sizeof *res.a, by_obj);
    /* Every plan simulated: in JSON and --csv, not in the text. */
    report_begin_hidden(r, NULL);
    report_table(r, "simulated", "every plan simulated, best first");
    for (size_t i = 0; i < res.n; i++) {
        report_row(r);
        result_row(r, &res.a[i], tried);
    }
    report_table_end(r);
    report_end(r);
out:
    free(res.a);
    free(fr.t);
    free(fr.m);
    free(fr.c);
    free(tk.t);
    free(c.a);
    free(bc);
    inputs_free(&in);
    return rc;
}
