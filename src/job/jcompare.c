/* jcompare: see jcompare.h. */
#include "job/jcompare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/chip.h"
#include "job/jsearch.h"
#include "job/jwork.h"
#include "train/sched.h"

int jcompare_wanted(const jtrain_job *j)
{
    return j->best_plan || (j->chip && strchr(j->chip, ','));
}

/* The chip names of list into names (pointers into buf). */
static int split_chips(const char *list, char *buf, size_t cap, const char **names, size_t *n,
                       ms_err *err)
{
    if (strlen(list) >= cap)
        return ms_errf(err, MS_EUSAGE, "--chip: the list is too long");
    strcpy(buf, list);
    *n = 0;
    for (char *p = buf;;) {
        char *end = strchr(p, ',');
        if (end)
            *end = 0;
        if (!*p)
            return ms_errf(err, MS_EUSAGE, "--chip '%s': an empty name in the list", list);
        for (size_t i = 0; i < *n; i++)
            if (strcmp(names[i], p) == 0)
                return ms_errf(err, MS_EUSAGE, "--chip '%s': %s is named twice", list, p);
        if (*n == JCOMPARE_MAX_CHIPS)
            return ms_errf(err, MS_EUSAGE, "--chip: at most %d chips side by side",
                           JCOMPARE_MAX_CHIPS);
        names[(*n)++] = p;
        if (!end)
            break;
        p = end + 1;
    }
    return MS_OK;
}

/* What one chip's run gives the table. */
typedef struct row {
    const char *chip;
    char plan[200];
    double step_s, tokens_per_s, mfu, memory_B, gpu_hours_per_T;
    int64_t candidates, simulated; /* its search; 0 without --best-plan */
    const chip *c;
    char note[300]; /* what was taken from the first chip, or "" */
} row;

/* Side by side, the cluster is held fixed: a chip whose row has no NIC
 * figure gets the first chip's NIC (into *nic_Gbps, unless the user gave
 * one), said in note. */
static void nic_of_first(const chip *c, const chip *first, double *nic_Gbps, char *note, size_t cap)
{
    if (isnan(c->scale_out_bw_Bps) && isnan(*nic_Gbps) && !isnan(first->scale_out_bw_Bps)) {
        *nic_Gbps = first->scale_out_bw_Bps * 8 / 1e9;
        snprintf(note, cap, "no NIC figure: the %s's %.0f Gb/s; ", first->name, *nic_Gbps);
    }
}

/* The plan b as train's options of *j (dp follows from the rest). */
static void apply_plan(jtrain_job *j, const jsearch_plan *b)
{
    j->tp = b->tp, j->pp = b->pp, j->vpp = b->vpp, j->cp = b->cp, j->ep = b->ep;
    j->zero = b->zero, j->micro_batch = b->micro_batch, j->dp = JOPT_NO_INT;
    j->schedule = sched_name(b->schedule);
    j->recompute = plan_recompute_name(b->recompute);
    j->precision = b->precision;
}

/* j as chip name runs it beside the first chip, what it took from that
 * chip said in w->note. */
static jtrain_job chip_job(const jtrain_job *j, const char *name, const chip *first, const chip *c,
                           row *w)
{
    jtrain_job one = *j;
    one.chip = name;
    one.best_plan = 0;
    *w = (row){.chip = name, .step_s = NAN, .c = c};
    /* The first chip's NIC where this one has none; a chip with no SM
     * count cannot give SMs to overlapped communication (which is then
     * free: an optimistic figure). Both are said in the row. */
    nic_of_first(c, first, &one.topo.nic_Gbps, w->note, sizeof w->note);
    if (isnan(c->compute_units) && one.comm_sms > 0) {
        size_t k = strlen(w->note);
        snprintf(w->note + k, sizeof w->note - k,
                 "no SM count: overlapped communication holds none (optimistic); ");
        one.comm_sms = 0;
    }
    size_t k = strlen(w->note);
    if (k >= 2)
        w->note[k - 2] = 0;
    return one;
}

/* A chip's search for its best plan, as a worker sends it back. */
typedef struct search_rec {
    int rc;
    char msg[MS_ERR_MSG_MAX];
    jsearch_out so;
    char best[256]; /* so.best as jsearch_plan_format writes it */
} search_rec;

/* What the searches' workers and collector share. */
typedef struct searches_ctx {
    const jtrain_job *jobs; /* [chip]: as chip_job made it */
    const jenv *env;
    jsearch_out *so; /* [chip] */
    int *rc;         /* [chip] */
    char (*msg)[MS_ERR_MSG_MAX];
    const jtrain_job *j; /* for its progress */
    size_t n, done;
} searches_ctx;

static size_t search_work(void *ctx, size_t item, char *rec, size_t cap)
{
    searches_ctx *x = ctx;
    search_rec *w = calloc(1, sizeof *w);
    if (!w || cap < sizeof *w) {
        free(w);
        return (size_t)-1;
    }
    jtrain_job in = x->jobs[item], out;
    in.best_plan = 1;
    in.progress = NULL; /* workers would write over each other */
    ms_err err = {0};
    w->rc = jcompare_best_plan(&in, x->env, &out, &w->so, &err);
    snprintf(w->msg, sizeof w->msg, "%s", err.msg);
    if (!w->rc)
        jsearch_plan_format(&w->so.best, w->best, sizeof w->best);
    w->so.best.precision = NULL; /* a pointer of the worker's */
    memcpy(rec, w, sizeof *w);
    free(w);
    return sizeof(search_rec);
}

static int search_take(void *ctx, size_t item, const char *rec, size_t len, ms_err *err)
{
    searches_ctx *x = ctx;
    search_rec *w = malloc(sizeof *w);
    if (!w)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    if (len != sizeof *w) {
        free(w);
        return ms_errf(err, MS_EIO, "a worker sent a record of %zu bytes", len);
    }
    memcpy(w, rec, sizeof *w);
    x->so[item] = w->so;
    x->rc[item] = w->rc;
    snprintf(x->msg[item], sizeof x->msg[item], "%.*s", (int)sizeof w->msg - 1, w->msg);
    if (!w->rc && jsearch_plan_parse("best plan", w->best, &x->so[item].best, err)) {
        free(w);
        return err->code;
    }
    free(w);
    x->done++;
    if (x->j->progress)
        x->j->progress(x->j->progress_ctx, (double)x->done, (double)x->n, "chips searched");
    return MS_OK;
}

/* The chips' searches for their best plans, one worker process each (at
 * most the processors online): so[i] and rc[i] for jobs[i], an error's
 * text in msg[i]. Fails only when the workers do. */
static int search_chips(const jtrain_job *j, const jtrain_job *jobs, size_t n, const jenv *env,
                        jsearch_out *so, int *rc, char (*msg)[MS_ERR_MSG_MAX], ms_err *err)
{
    size_t items[JCOMPARE_MAX_CHIPS];
    for (size_t i = 0; i < n; i++)
        items[i] = i;
    searches_ctx x = {.jobs = jobs, .env = env, .so = so, .rc = rc, .msg = msg, .j = j, .n = n};
    return jwork_run(items, n, jwork_default_jobs(), search_work, search_take, &x, err);
}

/* one (from chip_job) on its chip, on the plan searched (so) when j asks
 * for the best: its train report in r (the caller's group), its row in
 * *w. */
static int run_chip(const jtrain_job *j, const jtrain_job *one_in, const jsearch_out *so,
                    const jenv *env, report *r, row *w, char *warnings, size_t cap, ms_err *err)
{
    jtrain_job one = *one_in;
    if (j->best_plan) {
        apply_plan(&one, &so->best);
        w->candidates = so->candidates, w->simulated = so->simulated;
        report_begin(r, "search", "the search for its best plan");
        report_int(r, "candidates", "valid plans", so->candidates, "");
        report_int(r, "pruned_memory", "pruned: do not fit", so->pruned_memory, "");
        report_int(r, "pruned_bound", "pruned: their bound cannot place", so->pruned_bound, "");
        report_int(r, "simulated", "simulated", so->simulated, "");
        report_end(r);
    }
    jtrain_out out = {0};
    int rc = jtrain_run(&one, env, r, &out, err);
    if (out.warnings[0] && !warnings[0])
        snprintf(warnings, cap, "%s", out.warnings);
    if (!rc) {
        const step_result *s = &out.step;
        const plan *p = &out.plan;
        snprintf(w->plan, sizeof w->plan,
                 "tp %lld, pp %lld%s, dp %lld, ep %lld, ZeRO %d, mb %lld, %s, %s, recompute %s",
                 (long long)p->tp, (long long)p->pp, p->vpp > 1 ? " (interleaved)" : "",
                 (long long)p->dp, (long long)p->ep, p->zero, (long long)p->micro_batch, p->recipe,
                 one.schedule, plan_recompute_name(p->recompute));
        w->step_s = s->step_time_s;
        w->tokens_per_s = s->tokens_per_s;
        w->mfu = strcmp(p->recipe, "bf16") == 0 ? s->mfu_bf16 : s->mfu_fp8;
        w->memory_B = s->memory.total_B;
        w->gpu_hours_per_T = s->gpu_hours_per_trillion_tokens;
    }
    jtrain_out_free(&out);
    return rc;
}

int jcompare_best_plan(const jtrain_job *j, const jenv *env, jtrain_job *out, jsearch_out *so,
                       ms_err *err)
{
    *out = *j;
    out->best_plan = 0;
    jsearch_job s = {0};
    int rc = jopt_defaults(&jsearch_options, &s, err);
    if (rc)
        return rc;
    s.what = "train";
    s.model = j->model, s.chip = j->chip, s.gpus = j->gpus, s.seq = j->seq;
    s.global_batch = j->global_batch, s.stack = j->stack, s.comm_sms = j->comm_sms;
    /* The fastest plan alone: no Pareto set, whose plans near the best
     * would each be simulated for nothing here. */
    s.moe_imbalance = j->moe_imbalance, s.top = 1, s.pareto_within = 0, s.topo = j->topo;
    s.ideal = j->ideal;
    s.peak = j->peak, s.efficiency = j->efficiency, s.chips = j->chips;
    s.progress = j->progress, s.progress_ctx = j->progress_ctx;
    report *sr = report_new();
    rc = sr ? jsearch_run(&s, env, sr, so, err) : ms_errf(err, MS_ENOMEM, "out of memory");
    report_free(sr);
    if (rc)
        return rc;
    apply_plan(out, &so->best);
    return MS_OK;
}

/* How chips a and b differ on their datasheets, as text ("scale-up
 * bandwidth 400 GB/s against 900 GB/s"); "" when in nothing that the
 * step uses. */
static void differences(const chip *a, const chip *b, char *buf, size_t cap)
{
    static const struct {
        const char *what, *unit;
        double scale;
        size_t off;
        int prec;
    } fields[] = {
        {"dense BF16", "TFLOP/s", 1e12, offsetof(chip, peak_flop_per_s), MS_BF16},
        {"dense FP8", "TFLOP/s", 1e12, offsetof(chip, peak_flop_per_s), MS_FP8},
        {"HBM bandwidth", "TB/s", 1e12, offsetof(chip, hbm_bw_Bps), -1},
        {"HBM", "GB", 1e9, offsetof(chip, hbm_bytes), -1},
        {"scale-up bandwidth a direction", "GB/s", 1e9, offsetof(chip, scale_up_bw_Bps), -1},
        {"scale-up domain", "GPUs", 1, offsetof(chip, scale_up_domain_chips), -1},
        {"NIC", "GB/s", 1e9, offsetof(chip, scale_out_bw_Bps), -1},
    };
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const double *fa = (const double *)((const char *)a + fields[i].off),
                     *fb = (const double *)((const char *)b + fields[i].off);
        double va = fields[i].prec >= 0 ? fa[fields[i].prec] : *fa;
        double vb = fields[i].prec >= 0 ? fb[fields[i].prec] : *fb;
        if (va == vb || (isnan(va) && isnan(vb)))
            continue;
        char sa[40], sb[40];
        if (isnan(va))
            snprintf(sa, sizeof sa, "unknown");
        else
            snprintf(sa, sizeof sa, "%.4g %s", va / fields[i].scale, fields[i].unit);
        if (isnan(vb))
            snprintf(sb, sizeof sb, "unknown");
        else
            snprintf(sb, sizeof sb, "%.4g %s", vb / fields[i].scale, fields[i].unit);
        int k = snprintf(buf + used, cap - used, "%s%s %s against %s", used ? "; " : "",
                         fields[i].what, sb, sa);
        if (k < 0 || (size_t)k >= cap - used)
            break;
        used += (size_t)k;
    }
}

/* A serving run's figures for the table, from its report. */
static void serve_row(report *r, const char *chip, const report *cr, const char *note)
{
    static const struct {
        const char *key, *label, *unit;
    } cols[] = {
        {"gpus", "GPUs", ""},
        {"output_tokens_per_s_per_gpu", "output/GPU", "tokens/s"},
        {"input_tokens_per_s_per_gpu", "input/GPU", "tokens/s"},
        {"ttft_p99_s", "TTFT p99", "s"},
        {"tpot_p99_s", "TPOT p99", "s"},
        {"gpu_hours_per_million_output_tokens", "GPU-h per 1M output", "GPU-hours"},
        {"usd_per_million_output_tokens", "$ per 1M output", "USD"},
    };
    report_row(r);
    report_str(r, "chip", NULL, chip);
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        report_num(r, cols[i].key, cols[i].label, report_find_num(cr, cols[i].key), cols[i].unit);
    report_str(r, "note", NULL, note[0] ? note : "-");
}

int jcompare_serve_run(const jserve_job *j, const jenv *env, report *r, char *warnings, size_t cap,
                       ms_err *err)
{
    warnings[0] = 0;
    static const char *const single[] = {"csv",         "plot",       "sweep-rate",
                                         "power-trace", "power-plot", "uncertainty"};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++)
        if (jopt_is_set(&jserve_options, j, single[i]))
            return ms_errf(err, MS_EUSAGE, "--%s is for one run: give one chip", single[i]);
    char buf[1024];
    const char *names[JCOMPARE_MAX_CHIPS];
    size_t n = 0;
    int rc = split_chips(j->chip, buf, sizeof buf, names, &n, err);
    if (rc)
        return rc;
    chip_db *db = NULL;
    if ((rc = jenv_load_chips(env, &j->chips, &db, err)))
        return rc;
    const chip *cs[JCOMPARE_MAX_CHIPS];
    report *runs[JCOMPARE_MAX_CHIPS] = {NULL};
    char notes[JCOMPARE_MAX_CHIPS][120];
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = chip_db_lookup(db, names[i], &cs[i], err)))
            break;
        jserve_job one = *j;
        one.chip = names[i];
        notes[i][0] = 0;
        nic_of_first(cs[i], cs[0], &one.topo.nic_Gbps, notes[i], sizeof notes[i]);
        size_t k = strlen(notes[i]);
        if (k >= 2) /* the "; " that ends it */
            notes[i][k - 2] = 0;
        jserve_out o = {0};
        if (!(runs[i] = report_new()))
            rc = ms_errf(err, MS_ENOMEM, "out of memory");
        else
            rc = jserve_run(&one, env, runs[i], &o, err);
        if (o.warnings[0] && !warnings[0])
            snprintf(warnings, cap, "%s", o.warnings);
        jserve_out_free(&o);
        if (rc) {
            ms_err inner = *err;
            rc = ms_errf(err, inner.code, "%s: %s", names[i], inner.msg);
        }
    }
    if (!rc) {
        report_version(r, env->version);
        jopt_report_inputs(&jserve_options, j, r);
        report_begin_hidden(r, "runs");
        for (size_t i = 0; i < n; i++) {
            report_begin(r, names[i], NULL);
            report_append(r, runs[i]);
            if (notes[i][0])
                report_str(r, "compare_note", "taken from the first chip", notes[i]);
            report_end(r);
        }
        report_end(r);
        report_table(r, "chips", "each chip on the same layout and workload");
        for (size_t i = 0; i < n; i++)
            serve_row(r, names[i], runs[i], notes[i]);
        report_table_end(r);
        if (n > 1) {
            char title[160];
            snprintf(title, sizeof title, "against the %s", names[0]);
            report_table(r, "against", title);
            double o0 = report_find_num(runs[0], "output_tokens_per_s_per_gpu");
            double u0 = report_find_num(runs[0], "gpu_hours_per_million_output_tokens");
            for (size_t i = 1; i < n; i++) {
                char diff[600];
                differences(cs[0], cs[i], diff, sizeof diff);
                report_row(r);
                report_str(r, "chip", NULL, names[i]);
                report_num(r, "output_per_gpu_change", "output/GPU",
                           report_find_num(runs[i], "output_tokens_per_s_per_gpu") / o0 - 1, "%");
                report_num(r, "gpu_hours_per_output_change", "GPU-hours per output token",
                           report_find_num(runs[i], "gpu_hours_per_million_output_tokens") / u0 - 1,
                           "%");
                report_str(r, "datasheet_differs", "its datasheet differs in",
                           diff[0] ? diff : "nothing the run uses");
            }
            report_table_end(r);
        }
    }
    for (size_t i = 0; i < n; i++)
        report_free(runs[i]);
    chip_db_free(db);
    return rc;
}

int jcompare_run(const jtrain_job *j, const jenv *env, report *r, char *warnings, size_t cap,
                 ms_err *err)
{
    warnings[0] = 0;
    if (!j->chip)
        return ms_errf(err, MS_EUSAGE, "--chip is required");
    static const char *const single[] = {"trace", "trace-ranks", "power-trace", "power-plot",
                                         "uncertainty"};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++)
        if (jopt_is_set(&jtrain_options, j, single[i]) &&
            (strchr(j->chip, ',') || strcmp(single[i], "uncertainty") == 0))
            return ms_errf(err, MS_EUSAGE,
                           "--%s is for one run: give one chip (and no --best-plan for "
                           "--uncertainty)",
                           single[i]);
    char buf[1024];
    const char *names[JCOMPARE_MAX_CHIPS];
    size_t n = 0;
    int rc = split_chips(j->chip, buf, sizeof buf, names, &n, err);
    if (rc)
        return rc;
    chip_db *db = NULL;
    if ((rc = jenv_load_chips(env, &j->chips, &db, err)))
        return rc;
    row rows[JCOMPARE_MAX_CHIPS];
    jtrain_job jobs[JCOMPARE_MAX_CHIPS];
    for (size_t i = 0; i < n && !rc; i++) {
        const chip *c;
        if (!(rc = chip_db_lookup(db, names[i], &c, err)))
            jobs[i] = chip_job(j, names[i], i ? rows[0].c : c, c, &rows[i]);
    }
    /* The searches, the long part, side by side; each chip's run after. */
    jsearch_out so[JCOMPARE_MAX_CHIPS];
    int src[JCOMPARE_MAX_CHIPS] = {0};
    char msg[JCOMPARE_MAX_CHIPS][MS_ERR_MSG_MAX];
    if (!rc && j->best_plan)
        rc = search_chips(j, jobs, n, env, so, src, msg, err);
    if (rc) {
        chip_db_free(db);
        return rc;
    }
    report_version(r, env->version);
    jopt_report_inputs(&jtrain_options, j, r);
    /* Each chip's own report, whole, in JSON; the table below in text. */
    report_begin_hidden(r, "runs");
    for (size_t i = 0; i < n && !rc; i++) {
        report_begin(r, names[i], NULL);
        if (j->best_plan && src[i])
            rc = ms_errf(err, src[i], "%s", msg[i]);
        else
            rc = run_chip(j, &jobs[i], &so[i], env, r, &rows[i], warnings, cap, err);
        if (!rc && rows[i].note[0])
            report_str(r, "compare_note", "taken from the first chip", rows[i].note);
        report_end(r);
        if (rc) {
            ms_err inner = *err;
            rc = ms_errf(err, inner.code, "%s: %s", names[i], inner.msg);
        }
    }
    report_end(r);
    if (rc) {
        chip_db_free(db);
        return rc;
    }
    report_table(r, "chips",
                 j->best_plan ? "each chip on its own fastest plan (megasim search train)"
                              : "each chip on the same plan");
    for (size_t i = 0; i < n; i++) {
        const row *w = &rows[i];
        report_row(r);
        report_str(r, "chip", NULL, w->chip);
        report_num(r, "step_time_s", "step", w->step_s, "s");
        report_num(r, "tokens_per_s", "tokens/s", w->tokens_per_s, "tokens/s");
        report_num(r, "mfu", "MFU", w->mfu, "%");
        report_num(r, "memory_per_gpu_B", "memory/GPU", w->memory_B, "B");
        report_num(r, "gpu_hours_per_trillion_tokens", "per 1e12 tokens", w->gpu_hours_per_T,
                   "GPU-hours");
        if (isfinite(j->tokens))
            report_num(r, "days", NULL,
                       w->gpu_hours_per_T * j->tokens / 1e12 / (double)j->gpus / 24, "days");
        if (isfinite(j->tokens) && isfinite(j->price_per_gpu_hour))
            report_num(r, "cost_usd", "cost at the flat price",
                       w->gpu_hours_per_T * j->tokens / 1e12 * j->price_per_gpu_hour, "USD");
        report_str(r, "plan", NULL, w->plan);
        report_str(r, "note", NULL, w->note[0] ? w->note : "-");
    }
    report_table_end(r);
    if (n > 1) {
        char title[160];
        snprintf(title, sizeof title, "against the %s", rows[0].chip);
        report_table(r, "against", title);
        for (size_t i = 1; i < n; i++) {
            char diff[600];
            differences(rows[0].c, rows[i].c, diff, sizeof diff);
            report_row(r);
            report_str(r, "chip", NULL, rows[i].chip);
            report_num(r, "step_change", "step", rows[i].step_s / rows[0].step_s - 1, "%");
            report_num(r, "gpu_hours_change", "GPU-hours",
                       rows[i].gpu_hours_per_T / rows[0].gpu_hours_per_T - 1, "%");
            report_str(r, "datasheet_differs", "its datasheet differs in",
                       diff[0] ? diff : "nothing the step uses");
        }
        report_table_end(r);
    }
    chip_db_free(db);
    return MS_OK;
}
