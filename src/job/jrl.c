/* jrl: see jrl.h. */
#include "job/jrl.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"
#include "hw/chip.h"
#include "io/afile.h"
#include "job/jplot.h"
#include "job/jserve.h"
#include "job/jtrain.h"
#include "power/pdb.h"
#include "serve/dist.h"

#define F(f) offsetof(jrl_job, f)

static const jopt rows[] = {
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(model),
     "the policy's model JSON (workloads/*.json or a Hugging Face config.json)"},
    {"chip", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, F(chip), "accelerator (hwdb/chips.csv)"},
    {"gpus", JOPT_INT, "N", NULL, NULL, 1, 1e7, NULL, F(gpus), "GPUs of the whole loop"},
    {"placement", JOPT_CHOICE, "P", NULL, "colocated", NAN, NAN, "colocated|disaggregated",
     F(placement),
     "colocated: every GPU rolls out, then trains; disaggregated: a rollout pool and a "
     "training pool"},
    {"rollout-chip", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, F(rollout_chip),
     "disaggregated: the rollout pool's chip (default: --chip)"},
    {"rollout-gpus", JOPT_INT, "N", NULL, NULL, 1, 1e7, NULL, F(rollout_gpus),
     "disaggregated: the rollout pool's GPUs (the rest train)"},
    {"mode", JOPT_CHOICE, "M", NULL, "sync", NAN, NAN, "sync|async", F(mode),
     "sync: each rollout waits for the last update; async: one step off, the rollout of "
     "step i beside the update of step i-1 (disaggregated only)"},
    {"algorithm", JOPT_CHOICE, "A", NULL, "grpo", NAN, NAN, "grpo|ppo", F(algorithm),
     "grpo: group-relative advantages, no critic; ppo: a critic's forward and update too"},
    {"reference", JOPT_CHOICE, "R", NULL, "forward", NAN, NAN, "forward|none", F(reference),
     "the reference policy's forward over every sample for the KL term, or none"},
    {"reward", JOPT_CHOICE, "R", NULL, "rule", NAN, NAN, "rule|model", F(reward),
     "rule: a verifier, costless; model: a reward model's forward over every sample"},
    {"reward-model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(reward_model),
     "the reward model (default: the policy's model)"},
    {"critic-model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(critic_model),
     "ppo: the critic (default: the policy's model)"},
    {"steps", JOPT_INT, "N", NULL, "1", 1, 1e9, NULL, F(steps),
     "RL steps: each one rollout batch and its updates"},
    {"prompts-per-step", JOPT_INT, "P", NULL, NULL, 1, 1e7, NULL, F(prompts_per_step),
     "prompts a step"},
    {"samples-per-prompt", JOPT_INT, "G", NULL, NULL, 1, 65536, NULL, F(samples_per_prompt),
     "answers a prompt (GRPO's group)"},
    {"updates-per-step", JOPT_INT, "U", NULL, "1", 1, 65536, NULL, F(updates_per_step),
     "optimizer steps a step: the batch split into U minibatches"},
    {"input-len", JOPT_STR, "DIST", NULL, NULL, NAN, NAN, NULL, F(input_len),
     "prompt lengths: fixed:N, uniform:A:B, lognormal:MEDIAN:SIGMA[:MAX], table:FILE or "
     "scaled:MEAN:FILE"},
    {"output-len", JOPT_STR, "DIST", NULL, NULL, NAN, NAN, NULL, F(output_len),
     "answer lengths, likewise; lognormal:MEDIAN:SIGMA:MAX cuts answers at MAX tokens"},
    {"length-schedule", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, F(length_schedule),
     "answers' median from a step on, STEP:MEDIAN[:MAX],... (lognormal --output-len: its "
     "sigma, and its MAX unless given); each stretch is simulated once"},
    {"rollout-tp", JOPT_INT, "N", NULL, "1", 1, 65536, NULL, F(rollout_tp),
     "a rollout instance's tensor parallelism"},
    {"rollout-dp", JOPT_INT, "N", NULL, "1", 1, 65536, NULL, F(rollout_dp),
     "a rollout instance's data-parallel attention ranks"},
    {"rollout-ep", JOPT_INT, "N", NULL, "1", 1, 65536, NULL, F(rollout_ep),
     "a rollout instance's expert parallelism"},
    {"rollout-precision", JOPT_STR, "P", NULL, "bf16", NAN, NAN, NULL, F(rollout_precision),
     "rollout weights and activations: bf16, fp8, fp4"},
    {"tp", JOPT_STR, "N", NULL, NULL, NAN, NAN, NULL, F(tp), "training: tensor parallelism"},
    {"pp", JOPT_STR, "N", NULL, NULL, NAN, NAN, NULL, F(pp), "training: pipeline stages"},
    {"dp", JOPT_STR, "N", NULL, NULL, NAN, NAN, NULL, F(dp), "training: data parallelism"},
    {"ep", JOPT_STR, "N", NULL, NULL, NAN, NAN, NULL, F(ep), "training: expert parallelism"},
    {"zero", JOPT_STR, "N", NULL, NULL, NAN, NAN, NULL, F(zero), "training: ZeRO stage"},
    {"micro-batch", JOPT_STR, "N", NULL, NULL, NAN, NAN, NULL, F(micro_batch),
     "training: sequences a micro-batch"},
    {"precision", JOPT_STR, "RECIPE", NULL, NULL, NAN, NAN, NULL, F(precision),
     "training: bf16 or fp8"},
    {"schedule", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, F(schedule),
     "training: the pipeline schedule"},
    {"recompute", JOPT_STR, "R", NULL, NULL, NAN, NAN, NULL, F(recompute),
     "training: none, selective or full"},
    {"stack", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, F(stack),
     "training: the software stack"},
    {"comm-sms", JOPT_STR, "N", NULL, NULL, NAN, NAN, NULL, F(comm_sms),
     "training: SMs for communication"},
    {"nic-Gbps", JOPT_POS, "G", "Gb/s", NULL, 1e-3, 1e6, NULL, F(nic_Gbps),
     "NIC line rate a GPU (default: the chip's), for every part and the weight sync"},
    {"host-GBps", JOPT_POS, "G", "GB/s", NULL, 1e-3, 1e5, NULL, F(host_GBps),
     "host link a GPU, each way, for the colocated switch (default: the chip's)"},
    {"price-per-gpu-hour", JOPT_POS, "USD", "USD", NULL, 1e-6, 1e4, NULL, F(price_per_gpu_hour),
     "rent a GPU-hour (default: ownership cost from hwdb/costs.csv)"},
    {"rollout-price-per-gpu-hour", JOPT_POS, "USD", "USD", NULL, 1e-6, 1e4, NULL,
     F(rollout_price_per_gpu_hour),
     "rent a rollout GPU-hour (default: as --price-per-gpu-hour, else ownership cost)"},
    {"seed", JOPT_INT, "N", NULL, "1", 0, 9e15, NULL, F(seed), "of the length draws"},
    {"serve-arg", JOPT_LIST, "ARGS", NULL, NULL, NAN, NAN, NULL, F(serve_arg),
     "more options of every rollout and scoring run: \"--mtp-accept 0.85 --overlap\""},
    {"train-arg", JOPT_LIST, "ARGS", NULL, NULL, NAN, NAN, NULL, F(train_arg),
     "more options of every training step"},
    {"csv", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(csv), "every step's times as CSV"},
    {"plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(plot),
     "step time over training, split by phase (.png or .svg)"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(keep_plot_data),
     "keep the plot's data and gnuplot script beside it"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, F(chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(json), "print JSON"},
};

const jopt_table jrl_options = {.rows = rows,
                                .n = sizeof rows / sizeof rows[0],
                                .track_given = 1,
                                .given_off = offsetof(jrl_job, given)};

/* A sub-run's command line: up to 64 --chips files (JOPT_MAX_LIST) and
 * about 30 words of its own, then at most MAX_EXTRA words of --serve-arg
 * or --train-arg; MAX_ARGS holds them all, so none is ever dropped. */
#define MAX_EXTRA 64
#define MAX_ARGS  (2 * JOPT_MAX_LIST + 40 + MAX_EXTRA)
#define TAIL_FRAC 0.9 /* the long tail: after this share of the groups has finished */

/* ---- pure arithmetic ---- */

int jrl_parse_schedule(const char *text, jrl_point *out, int cap, int *n, ms_err *err)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[96];
        if (len == 0 || len >= sizeof item)
            return ms_errf(err, MS_EUSAGE,
                           "--length-schedule '%s': expected STEP:MEDIAN[:MAX] entries separated "
                           "by commas (0:500,200:4000)",
                           text);
        memcpy(item, p, len);
        item[len] = '\0';
        double v[3] = {NAN, NAN, INFINITY};
        int k = 0;
        char *q = item;
        for (; k < 3; k++) {
            char *e;
            v[k] = num_strtod(q, &e);
            if (e == q)
                break;
            q = e;
            if (*q != ':')
                break;
            q++;
        }
        if (k == 3 || *q || !(k >= 1))
            return ms_errf(err, MS_EUSAGE,
                           "--length-schedule: entry '%s': expected STEP:MEDIAN or "
                           "STEP:MEDIAN:MAX with numbers",
                           item);
        if (k == 1)
            v[2] = INFINITY;
        if (!(v[0] >= 0 && v[0] <= 1e9) || v[0] != floor(v[0]))
            return ms_errf(err, MS_EUSAGE,
                           "--length-schedule: entry '%s': STEP must be a whole number from 0 "
                           "to 1e9",
                           item);
        if (!(v[1] >= 1 && v[1] <= 1e8))
            return ms_errf(err, MS_EUSAGE,
                           "--length-schedule: entry '%s': MEDIAN must be from 1 to 1e8 tokens",
                           item);
        if (v[2] < INFINITY && (!(v[2] >= 1 && v[2] <= 1e8) || v[2] != floor(v[2])))
            return ms_errf(err, MS_EUSAGE,
                           "--length-schedule: entry '%s': MAX must be a whole number of "
                           "tokens from 1 to 1e8",
                           item);
        if (*n > 0 && !((int64_t)v[0] > out[*n - 1].first_step))
            return ms_errf(err, MS_EUSAGE,
                           "--length-schedule: entry '%s': steps must increase, but step "
                           "%lld comes after step %lld",
                           item, (long long)v[0], (long long)out[*n - 1].first_step);
        if (*n == cap)
            return ms_errf(err, MS_EUSAGE, "--length-schedule: at most %d entries", cap);
        out[*n] = (jrl_point){(int64_t)v[0], v[1], v[2]};
        ++*n;
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return ms_errf(err, MS_EUSAGE, "--length-schedule '%s': ends with a comma", text);
    }
    if (*n == 0)
        return ms_errf(err, MS_EUSAGE, "--length-schedule: expected at least one STEP:MEDIAN");
    return MS_OK;
}

jrl_step jrl_step_time(int placement, int mode, const jrl_phases *cur, const jrl_phases *prev,
                       int last)
{
    jrl_step s = {0};
    double su = cur->score_s + cur->update_s;
    if (placement == JRL_COLOCATED) {
        s.step_s = cur->rollout_s + cur->switch_s + su + cur->sync_s;
        s.rollout_busy_s = cur->rollout_s;
        s.train_busy_s = su;
        return s;
    }
    if (mode == JRL_SYNC) {
        s.step_s = cur->rollout_s + su + cur->sync_s;
        s.rollout_busy_s = cur->rollout_s;
        s.train_busy_s = su;
    } else if (!prev) { /* the first rollout, with nothing to train beside it */
        s.step_s = cur->rollout_s;
        s.rollout_busy_s = cur->rollout_s;
    } else {
        double psu = prev->score_s + prev->update_s;
        s.step_s = fmax(cur->rollout_s, psu) + cur->sync_s;
        s.rollout_busy_s = cur->rollout_s;
        s.train_busy_s = psu;
    }
    if (mode == JRL_ASYNC && last) { /* the final batch's scoring and update */
        s.step_s += su;
        s.train_busy_s += su;
    }
    s.rollout_idle_s = s.step_s - s.rollout_busy_s;
    s.train_idle_s = s.step_s - s.train_busy_s;
    return s;
}

double jrl_sync_s(int placement, double rollout_B_per_gpu, int64_t instance_gpus,
                  int64_t train_gpus, double link_Bps)
{
    if (placement == JRL_COLOCATED)
        return rollout_B_per_gpu / link_Bps;
    double recv_s = rollout_B_per_gpu / link_Bps;
    double send_s = rollout_B_per_gpu * (double)instance_gpus / ((double)train_gpus * link_Bps);
    return fmax(recv_s, send_s);
}

/* ---- the runs of the other jobs ---- */

typedef struct args {
    char *v[MAX_ARGS];
    int n;
    char store[16][64]; /* numbers formatted here (a sub-run formats at most 9) */
    int nstore;
} args;

static void add(args *a, const char *name, const char *value)
{
    if (a->n + 2 > MAX_ARGS)
        return;
    a->v[a->n++] = (char *)name;
    if (value)
        a->v[a->n++] = (char *)value;
}

static const char *fmt(args *a, const char *f, double x)
{
    if (a->nstore == (int)(sizeof a->store / sizeof a->store[0]))
        return "0";
    char *s = a->store[a->nstore++];
    snprintf(s, sizeof a->store[0], f, x);
    return s;
}

/* What the loop needs of the chip, the pools and the words of
 * --serve-arg and --train-arg. */
typedef struct ctx {
    const jrl_job *j;
    const jenv *env;
    const chip *c, *rc; /* the training pool's chip, the rollout pool's */
    int64_t roll_gpus, train_gpus, inst_gpus;
    char sbuf[2048], tbuf[2048];
    char *sx[MAX_EXTRA], *tx[MAX_EXTRA];
    int nsx, ntx;
    int runs, runs_total;
    char uncalibrated[512]; /* the training runs' kernels at datasheet peak, ';'-separated */
} ctx;

static void common(const ctx *x, args *a, const char *model, const char *chip, double price)
{
    const jrl_job *j = x->j;
    add(a, "--model", model);
    add(a, "--chip", chip);
    for (int i = 0; i < j->chips.n; i++)
        add(a, "--chips", j->chips.v[i]);
    if (!isnan(j->nic_Gbps))
        add(a, "--nic-Gbps", fmt(a, "%.17g", j->nic_Gbps));
    if (!isnan(price))
        add(a, "--price-per-gpu-hour", fmt(a, "%.17g", price));
}

static void tick(ctx *x)
{
    x->runs++;
    if (x->j->progress)
        x->j->progress(x->j->progress_ctx, x->runs, x->runs_total, "runs");
}

/* Finished groups' times, for the tail. */
typedef struct dones {
    double *t;
    size_t n, cap;
} dones;

static void on_record(void *c, const serve_record *r, double rate)
{
    (void)rate;
    dones *d = c;
    if (r->rejected || d->n == d->cap)
        return;
    d->t[d->n++] = r->done_s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A serve run (Offline) of requests prompts, best-of chains each, on
 * pool_gpus; its makespan, tokens, energy and, with d, each group's end. */
typedef struct serve_fig {
    double makespan_s, input_tokens, output_tokens, energy_J, weights_B_per_gpu;
    double usd_per_gpu_hour;
} serve_fig;

/* The rollout pool's price a GPU-hour as given; NAN: its runs' basis. */
static double roll_price(const jrl_job *j)
{
    return !isnan(j->rollout_price_per_gpu_hour) ? j->rollout_price_per_gpu_hour
                                                 : j->price_per_gpu_hour;
}

static int run_serve(ctx *x, const char *what, const char *model, const chip *c, int64_t pool_gpus,
                     const char *in_len, const char *out_len, int64_t requests, int64_t best_of,
                     int64_t seed, dones *d, serve_fig *f, ms_err *err)
{
    const jrl_job *j = x->j;
    args a = {.n = 0};
    common(x, &a, model, c->name, c == x->rc ? roll_price(j) : j->price_per_gpu_hour);
    add(&a, "--gpus", fmt(&a, "%.0f", (double)pool_gpus));
    add(&a, "--tp", fmt(&a, "%.0f", (double)j->rollout_tp));
    add(&a, "--dp", fmt(&a, "%.0f", (double)j->rollout_dp));
    add(&a, "--ep", fmt(&a, "%.0f", (double)j->rollout_ep));
    add(&a, "--precision", j->rollout_precision);
    add(&a, "--input-len", in_len);
    add(&a, "--output-len", out_len);
    add(&a, "--scenario", "offline");
    add(&a, "--requests", fmt(&a, "%.0f", (double)requests));
    add(&a, "--best-of", fmt(&a, "%.0f", (double)best_of));
    add(&a, "--seed", fmt(&a, "%.0f", (double)seed));
    for (int i = 0; i < x->nsx && a.n < MAX_ARGS; i++)
        a.v[a.n++] = x->sx[i];
    jserve_job s = {0};
    int npos, help;
    ms_err e = {0};
    int rc = jopt_parse(&jserve_options, &s, a.n, a.v, NULL, 0, &npos, &help, &e);
    if (rc)
        return ms_errf(err, MS_EUSAGE, "%s: %s", what, e.msg);
    if (d) {
        s.on_record = on_record;
        s.record_ctx = d;
    }
    report *r = report_new();
    jserve_out o = {0};
    rc = r ? jserve_run(&s, x->env, r, &o, &e) : ms_errf(&e, MS_ENOMEM, "out of memory");
    if (rc) {
        rc = ms_errf(err, rc,
                     "%s on %lld x %s (instances of tp %lld, dp %lld, ep %lld): %s [the serve "
                     "job's options: here --rollout-tp, --rollout-dp, --rollout-ep, "
                     "--rollout-precision, the rest through --serve-arg]",
                     what, (long long)pool_gpus, c->name, (long long)j->rollout_tp,
                     (long long)j->rollout_dp, (long long)j->rollout_ep, e.msg);
    } else {
        f->makespan_s = report_find_num(r, "makespan_s");
        f->input_tokens = report_find_num(r, "input_tokens");
        f->output_tokens = report_find_num(r, "output_tokens");
        f->energy_J = report_find_num(r, "energy_j");
        f->weights_B_per_gpu = report_find_num(r, "weights_bytes_per_gpu");
        f->usd_per_gpu_hour = report_find_num(r, "usd_per_gpu_hour_all_in");
        if (!(f->makespan_s > 0))
            rc = ms_errf(err, MS_EINVAL, "%s: the run finished no request", what);
    }
    jserve_out_free(&o);
    report_free(r);
    tick(x);
    return rc;
}

/* Adds the operation classes a training step ran at datasheet peak
 * ("attention bf16 compute; ...", tcost_stage.uncalibrated) to x's, each
 * once. */
static void note_uncalibrated(ctx *x, const char *list)
{
    char buf[sizeof x->uncalibrated];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *it = strtok_r(buf, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
        while (*it == ' ')
            it++;
        size_t used = strlen(x->uncalibrated), len = strlen(it);
        if (len == 0 || strstr(x->uncalibrated, it) || used + len + 2 >= sizeof x->uncalibrated)
            continue;
        snprintf(x->uncalibrated + used, sizeof x->uncalibrated - used, "%s%s", used ? ";" : "",
                 it);
    }
}

/* One optimizer step of model on the training pool: its time, energy,
 * the price of a GPU-hour and the state a GPU holds. */
typedef struct train_fig {
    double step_s, energy_J, usd_per_gpu_hour, state_B_per_gpu;
} train_fig;

static int run_train(ctx *x, const char *what, const char *model, int64_t seq, double span,
                     int64_t global_batch, train_fig *f, ms_err *err)
{
    const jrl_job *j = x->j;
    args a = {.n = 0};
    common(x, &a, model, j->chip, j->price_per_gpu_hour);
    add(&a, "--gpus", fmt(&a, "%.0f", (double)x->train_gpus));
    add(&a, "--seq", fmt(&a, "%.0f", (double)seq));
    add(&a, "--attention-span", fmt(&a, "%.17g", span));
    add(&a, "--global-batch", fmt(&a, "%.0f", (double)global_batch));
    const struct {
        const char *name, *v;
    } plan[] = {{"--tp", j->tp},
                {"--pp", j->pp},
                {"--dp", j->dp},
                {"--ep", j->ep},
                {"--zero", j->zero},
                {"--micro-batch", j->micro_batch},
                {"--precision", j->precision},
                {"--schedule", j->schedule},
                {"--recompute", j->recompute},
                {"--stack", j->stack},
                {"--comm-sms", j->comm_sms}};
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++)
        if (plan[i].v)
            add(&a, plan[i].name, plan[i].v);
    for (int i = 0; i < x->ntx && a.n < MAX_ARGS; i++)
        a.v[a.n++] = x->tx[i];
    jtrain_job t = {0};
    int npos, help;
    ms_err e = {0};
    int rc = jopt_parse(&jtrain_options, &t, a.n, a.v, NULL, 0, &npos, &help, &e);
    if (rc)
        return ms_errf(err, MS_EUSAGE, "%s: %s", what, e.msg);
    report *r = report_new();
    jtrain_out o = {0};
    rc = r ? jtrain_run(&t, x->env, r, &o, &e) : ms_errf(&e, MS_ENOMEM, "out of memory");
    if (rc) {
        rc = ms_errf(err, rc, "%s on %lld x %s (sequences of %lld tokens, %lld a step): %s", what,
                     (long long)x->train_gpus, j->chip, (long long)seq, (long long)global_batch,
                     e.msg);
    } else {
        f->step_s = report_find_num(r, "step_time_s");
        f->energy_J = report_find_num(r, "energy_j");
        f->usd_per_gpu_hour = report_find_num(r, "usd_per_gpu_hour_all_in");
        f->state_B_per_gpu = report_find_num(r, "weights") + report_find_num(r, "gradients") +
                             report_find_num(r, "optimizer");
        if (!(f->step_s > 0))
            rc = ms_errf(err, MS_EINVAL, "%s: no step time", what);
        note_uncalibrated(x, o.step.stage0.uncalibrated);
    }
    jtrain_out_free(&o);
    report_free(r);
    tick(x);
    return rc;
}

/* ---- a stretch of steps with the same lengths ---- */

typedef struct stretch {
    int64_t first, steps; /* of the loop */
    char out_len[256];
    jrl_phases ph;
    double tail_s, mean_out, mean_sample, samples, out_tokens;
    double scored_len; /* the samples' length-weighted mean: scoring's length, the update's
                          attention span (see length_weighted) */
    double energy_J;   /* the runs' energy for one step, idle GPUs not counted */
    double roll_energy_J, update_energy_J; /* of it: the rollout's, the update's */
    double rollout_wait_gpu_s; /* GPU-seconds of rollout instances done before the slowest */
    double usd_per_gpu_hour, roll_usd_per_gpu_hour; /* the training pool's, the rollout pool's */
} stretch;

/* A forward over every sample of model on the scoring pool: a prefill of
 * n samples of seq tokens (the step's samples at their length-weighted
 * length), dealt evenly to instances of the rollout layout; one instance
 * with the largest share is simulated (the samples are all alike). */
static int forward(ctx *x, const char *what, const char *model, int64_t seq, int64_t n, stretch *s,
                   double *fwd_s, ms_err *err)
{
    char in[64];
    snprintf(in, sizeof in, "fixed:%lld", (long long)seq);
    int64_t I = x->train_gpus / x->inst_gpus;
    serve_fig f;
    int rc = run_serve(x, what, model, x->c, x->inst_gpus, in, "fixed:1", (n + I - 1) / I, 1,
                       x->j->seed, NULL, &f, err);
    if (!rc) {
        *fwd_s += f.makespan_s;
        s->energy_J += f.energy_J * (double)I;
    }
    return rc;
}

/* The rollout: the step's prompts dealt evenly to the rollout instances
 * (verl dispatches a batch in equal chunks to its data-parallel rollout
 * workers: Dispatch.DP_COMPUTE_PROTO, verl/single_controller/base/decorator.py), each
 * instance simulated on its own draws; the step waits for the slowest,
 * the others idle until it ends. */
static int rollout(ctx *x, int64_t index, stretch *s, serve_fig *roll, ms_err *err)
{
    const jrl_job *j = x->j;
    int64_t P = j->prompts_per_step, G = j->samples_per_prompt;
    int64_t I = x->roll_gpus / x->inst_gpus;
    dones d = {.t = malloc((size_t)P * sizeof(double)), .n = 0, .cap = (size_t)P};
    if (!d.t)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    int rc = MS_OK;
    *roll = (serve_fig){0};
    double gpu_busy_s = 0;
    for (int64_t i = 0; !rc && i < I; i++) {
        int64_t prompts = P / I + (i < P % I);
        if (prompts == 0)
            continue;
        serve_fig f;
        rc = run_serve(x, "rollout", j->model, x->rc, x->inst_gpus, j->input_len, s->out_len,
                       prompts, G, j->seed + index * I + i, &d, &f, err);
        if (rc)
            break;
        roll->makespan_s = fmax(roll->makespan_s, f.makespan_s);
        roll->input_tokens += f.input_tokens;
        roll->output_tokens += f.output_tokens;
        roll->energy_J += f.energy_J;
        roll->weights_B_per_gpu = f.weights_B_per_gpu;
        roll->usd_per_gpu_hour = f.usd_per_gpu_hour;
        gpu_busy_s += f.makespan_s * (double)x->inst_gpus;
    }
    if (!rc) {
        s->ph.rollout_s = roll->makespan_s;
        s->samples = (double)(P * G);
        s->out_tokens = roll->output_tokens;
        s->mean_out = roll->output_tokens / s->samples;
        s->mean_sample = roll->input_tokens / (double)P + s->mean_out;
        s->energy_J = s->roll_energy_J = roll->energy_J;
        /* instances done early wait for the slowest: idle GPU-seconds */
        s->rollout_wait_gpu_s = roll->makespan_s * (double)x->roll_gpus - gpu_busy_s;
        qsort(d.t, d.n, sizeof *d.t, cmp_double);
        size_t k = d.n ? (size_t)ceil(TAIL_FRAC * (double)d.n) - 1 : 0;
        s->tail_s = d.n ? roll->makespan_s - d.t[k] : 0;
    }
    free(d.t);
    return rc;
}

/* E[L^2] / E[L]^2 for L a prompt and its answer, drawn independently from
 * in_spec and out_spec: how much more attention a batch of these samples
 * does than samples all of its mean length would (attention grows with
 * each sample's length squared). 1 for fixed lengths. */
static int length_dispersion(const jenv *env, const char *in_spec, const char *out_spec, double *r,
                             ms_err *err)
{
    char dir[4096];
    dist in = {0}, out = {0};
    int rc = jenv_path(env, "workloads", dir, sizeof dir, err);
    if (!rc)
        rc = dist_parse(in_spec, "--input-len", dir, &in, err);
    if (!rc)
        rc = dist_parse(out_spec, "--output-len", dir, &out, err);
    if (!rc) {
        double mi = dist_mean(&in), mo = dist_mean(&out);
        double m = mi + mo;
        *r = (dist_mean_square(&in) + 2 * mi * mo + dist_mean_square(&out)) / (m * m);
    }
    dist_free(&in);
    dist_free(&out);
    return rc;
}

/* Scoring runs its samples at one length, as sequences of the step's
 * tokens: the length-weighted mean span = E[L^2] / E[L] (the realised mean
 * times the dispersion), with as many sequences as keep the tokens,
 * n mean / span. The linear work (GEMMs, the weights' traffic) follows
 * the tokens and the attention the sum of squared lengths, each as the
 * spread batch has them. (The update keeps its samples and their mean
 * length, for its batch to divide as the plan needs, and takes the span
 * as its attention span.) */
static void length_weighted(double mean, double span, int64_t n, int64_t *len, int64_t *n_at_len)
{
    *len = (int64_t)ceil(span);
    double k = floor((double)n * mean / (double)*len + 0.5);
    *n_at_len = k >= 1 ? (int64_t)k : 1;
}

static int run_stretch(ctx *x, int64_t index, stretch *s, ms_err *err)
{
    const jrl_job *j = x->j;
    int64_t P = j->prompts_per_step, G = j->samples_per_prompt;
    serve_fig roll = {0};
    double disp = 1;
    int rc = rollout(x, index, s, &roll, err);
    if (!rc)
        rc = length_dispersion(x->env, j->input_len, s->out_len, &disp, err);
    int64_t seq = 1, n = 1;
    if (!rc) {
        s->scored_len = s->mean_sample * disp;
        length_weighted(s->mean_sample, s->scored_len, P * G, &seq, &n);
    }
    /* Scoring, on the training pool (or every GPU, colocated). */
    if (!rc && j->reference == 0)
        rc = forward(x, "reference forward", j->model, seq, n, s, &s->ph.score_s, err);
    if (!rc && j->reward == 1)
        rc = forward(x, "reward-model forward", j->reward_model ? j->reward_model : j->model, seq,
                     n, s, &s->ph.score_s, err);
    const char *critic = j->critic_model ? j->critic_model : j->model;
    if (!rc && j->algorithm == JRL_PPO)
        rc = forward(x, "critic forward", critic, seq, n, s, &s->ph.score_s, err);
    /* The update: U optimizer steps of P G / U samples. */
    train_fig t = {0}, tc = {0};
    int64_t batch = P * G / j->updates_per_step, mean_seq = (int64_t)ceil(s->mean_sample);
    if (!rc)
        rc = run_train(x, "policy update", j->model, mean_seq, s->scored_len, batch, &t, err);
    if (!rc && j->algorithm == JRL_PPO)
        rc = run_train(x, "critic update", critic, mean_seq, s->scored_len, batch, &tc, err);
    if (rc)
        return rc;
    double U = (double)j->updates_per_step;
    s->ph.update_s = U * (t.step_s + tc.step_s);
    s->update_energy_J = U * (t.energy_J + tc.energy_J);
    s->energy_J += s->update_energy_J;
    /* rented at the price given, else the train job's all-in ownership cost */
    s->usd_per_gpu_hour =
        !isnan(j->price_per_gpu_hour) ? j->price_per_gpu_hour : t.usd_per_gpu_hour;
    s->roll_usd_per_gpu_hour = !isnan(roll_price(j)) ? roll_price(j) : roll.usd_per_gpu_hour;
    /* The sync: over the NICs between pools; colocated, over the scale-up
     * links when an instance sits in one domain, else the NICs. */
    double nic_Bps = !isnan(j->nic_Gbps) ? j->nic_Gbps * 1e9 / 8
                                         : fmin(x->c->scale_out_bw_Bps, x->rc->scale_out_bw_Bps);
    double link_Bps = nic_Bps;
    if (j->placement == JRL_COLOCATED && x->inst_gpus <= x->c->scale_up_domain_chips &&
        x->c->scale_up_bw_Bps > 0)
        link_Bps = x->c->scale_up_bw_Bps;
    if (j->gpus > 1) {
        if (!(link_Bps > 0))
            return ms_errf(err, MS_EUSAGE,
                           "--nic-Gbps: the %s has no NIC figure in hwdb/chips.csv, and the "
                           "weight sync crosses the NICs: give one",
                           x->rc->scale_out_bw_Bps > 0 ? x->c->name : x->rc->name);
        s->ph.sync_s =
            jrl_sync_s(j->placement, roll.weights_B_per_gpu, x->inst_gpus, x->train_gpus, link_Bps);
    } else { /* one GPU: the rollout reads the weights the trainer wrote in place */
        s->ph.sync_s = 0;
    }
    if (j->placement == JRL_COLOCATED) {
        double host_Bps = !isnan(j->host_GBps) ? j->host_GBps * 1e9 : x->c->host_io_bw_Bps;
        if (!(host_Bps > 0))
            return ms_errf(err, MS_EUSAGE,
                           "--host-GBps: the %s has no host link figure in hwdb/chips.csv "
                           "(host_io_GBps_per_dir), and the colocated switch moves training's "
                           "state over it: give one",
                           j->chip);
        s->ph.switch_s = 2 * (t.state_B_per_gpu + tc.state_B_per_gpu) / host_Bps;
    }
    return MS_OK;
}

/* A waiting GPU's IT power, for the training chip and the rollout chip:
 * its idle level and its share of its server's idle draw (hwdb/power.csv,
 * as the power series of the runs count it); NAN for a chip without a row
 * there (the energy is then unknown). */
static void idle_gpu_W(const jenv *env, const ctx *x, double *train_W, double *roll_W)
{
    char pw[4096], co[4096];
    pdb *db = NULL;
    ms_err e = {0};
    *train_W = *roll_W = NAN;
    if (!jenv_path(env, "hwdb/power.csv", pw, sizeof pw, &e) &&
        !jenv_path(env, "hwdb/costs.csv", co, sizeof co, &e) && !pdb_load(pw, co, &db, &e)) {
        const pdb_chip *t = pdb_chip_find(db, x->c->name), *r = pdb_chip_find(db, x->rc->name);
        if (t)
            *train_W = t->idle_W + t->node_other_idle_W / t->node_gpus;
        if (r)
            *roll_W = r->idle_W + r->node_other_idle_W / r->node_gpus;
    }
    pdb_free(db);
}

/* ---- checks ---- */

static int check(const jrl_job *j, ms_err *err)
{
    const char *need[] = {
        "model",     "chip",      "gpus", "prompts-per-step", "samples-per-prompt",
        "input-len", "output-len"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!jopt_is_set(&jrl_options, j, need[i]))
            return ms_errf(err, MS_EUSAGE, "--%s is required", need[i]);
    if (j->placement == JRL_DISAGGREGATED) {
        if (j->rollout_gpus == JOPT_NO_INT)
            return ms_errf(err, MS_EUSAGE,
                           "--rollout-gpus: --placement disaggregated needs the rollout pool's "
                           "GPUs (the rest of --gpus train)");
        if (j->rollout_gpus >= j->gpus)
            return ms_errf(err, MS_EUSAGE,
                           "--rollout-gpus %lld of --gpus %lld leaves no GPU to train: expected "
                           "fewer than %lld",
                           (long long)j->rollout_gpus, (long long)j->gpus, (long long)j->gpus);
    } else {
        if (j->rollout_gpus != JOPT_NO_INT)
            return ms_errf(err, MS_EUSAGE,
                           "--rollout-gpus: only with --placement disaggregated (colocated, "
                           "every GPU rolls out)");
        if (j->rollout_chip || !isnan(j->rollout_price_per_gpu_hour))
            return ms_errf(err, MS_EUSAGE,
                           "--%s: only with --placement disaggregated (colocated, the same GPUs "
                           "roll out and train)",
                           j->rollout_chip ? "rollout-chip" : "rollout-price-per-gpu-hour");
        if (j->mode == JRL_ASYNC)
            return ms_errf(err, MS_EUSAGE,
                           "--mode async: one-step-off needs --placement disaggregated (colocated "
                           "GPUs cannot roll out and train at once)");
    }
    if ((j->prompts_per_step * j->samples_per_prompt) % j->updates_per_step != 0)
        return ms_errf(err, MS_EUSAGE,
                       "--updates-per-step %lld: the %lld samples of a step (prompts x samples) "
                       "must split into equal minibatches",
                       (long long)j->updates_per_step,
                       (long long)(j->prompts_per_step * j->samples_per_prompt));
    if (j->critic_model && j->algorithm != JRL_PPO)
        return ms_errf(err, MS_EUSAGE, "--critic-model: only with --algorithm ppo");
    if (j->reward_model && j->reward != 1)
        return ms_errf(err, MS_EUSAGE, "--reward-model: only with --reward model");
    return MS_OK;
}

/* The stretches of [0, steps) from the schedule. */
static int stretches(const jrl_job *j, stretch **out, int64_t *n, ms_err *err)
{
    *out = NULL;
    *n = 0;
    jrl_point pts[JRL_MAX_POINTS];
    int np = 0;
    dist od;
    int rc = dist_parse(j->output_len, "--output-len", NULL, &od, err);
    if (rc)
        return rc;
    double sigma = od.b, cap = od.cap;
    int logn = od.kind == DIST_LOGNORMAL;
    dist_free(&od);
    if (j->length_schedule) {
        if (!logn)
            return ms_errf(err, MS_EUSAGE,
                           "--length-schedule: --output-len must be lognormal:MEDIAN:SIGMA[:MAX] "
                           "(the schedule moves its median), got '%s'",
                           j->output_len);
        if ((rc = jrl_parse_schedule(j->length_schedule, pts, JRL_MAX_POINTS, &np, err)))
            return rc;
    }
    stretch *s = calloc((size_t)np + 1, sizeof *s);
    if (!s)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    int64_t k = 0;
    if (np == 0 || pts[0].first_step > 0) {
        s[0].first = 0;
        snprintf(s[0].out_len, sizeof s[0].out_len, "%s", j->output_len);
        k = 1;
    }
    for (int i = 0; i < np && pts[i].first_step < j->steps; i++, k++) {
        s[k].first = pts[i].first_step;
        double c = pts[i].cap < INFINITY ? pts[i].cap : cap;
        if (c < INFINITY)
            snprintf(s[k].out_len, sizeof s[k].out_len, "lognormal:%.10g:%.10g:%.0f", pts[i].median,
                     sigma, c);
        else
            snprintf(s[k].out_len, sizeof s[k].out_len, "lognormal:%.10g:%.10g", pts[i].median,
                     sigma);
    }
    for (int64_t i = 0; i < k; i++)
        s[i].steps = (i + 1 < k ? s[i + 1].first : j->steps) - s[i].first;
    *out = s;
    *n = k;
    return MS_OK;
}

/* ---- the loop, its report and files ---- */

typedef struct totals {
    double time_s, rollout_s, tail_s, score_s, update_s, sync_s, switch_s;
    double roll_busy_s, train_busy_s, roll_idle_s, train_idle_s;
    double out_tokens, samples, energy_J, wait_gpu_s;
} totals;

static int write_csv(const jrl_job *j, const stretch *s, int64_t ns, ms_err *err);
static int write_plot(const jrl_job *j, const jenv *env, const char *out, const stretch *s,
                      int64_t ns, const char *title, ms_err *err);

/* Walks the steps: stretch k's phases for each step in it. With f, each
 * step's row of CSV; sparse, only the rows where the step time may change
 * (a stretch's first and last step, the loop's first two and last two), which
 * draw the same staircase from a few rows whatever the steps. */
static void walk(const jrl_job *j, const stretch *s, int64_t ns, totals *t, FILE *f, int sparse)
{
    const jrl_phases *prev = NULL;
    for (int64_t k = 0; k < ns; k++)
        for (int64_t i = s[k].first; i < s[k].first + s[k].steps; i++) {
            const jrl_phases *cur = &s[k].ph;
            jrl_step st = jrl_step_time(j->placement, j->mode, cur, prev, i == j->steps - 1);
            prev = cur;
            t->time_s += st.step_s;
            t->rollout_s += cur->rollout_s;
            t->tail_s += s[k].tail_s;
            t->score_s += cur->score_s;
            t->update_s += cur->update_s;
            t->sync_s += cur->sync_s;
            t->switch_s += cur->switch_s;
            t->roll_busy_s += st.rollout_busy_s;
            t->train_busy_s += st.train_busy_s;
            t->roll_idle_s += st.rollout_idle_s;
            t->train_idle_s += st.train_idle_s;
            t->out_tokens += s[k].out_tokens;
            t->samples += s[k].samples;
            t->energy_J += s[k].energy_J;
            t->wait_gpu_s += s[k].rollout_wait_gpu_s;
            int row = !sparse || i <= 1 || i == s[k].first || i == s[k].first + s[k].steps - 1 ||
                      i >= j->steps - 2;
            if (f && row)
                fprintf(f, "%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.6g\n", (long long)i,
                        st.step_s, cur->rollout_s, s[k].tail_s, cur->score_s, cur->update_s,
                        cur->sync_s, cur->switch_s, st.rollout_idle_s, st.train_idle_s,
                        s[k].mean_out);
        }
}

/* The rollout pool's mean IT power through a stretch's rollout, its
 * instances done before the slowest waiting at their idle power. */
static double rollout_W(const stretch *s, double roll_idle_W)
{
    return (s->roll_energy_J + s->rollout_wait_gpu_s * roll_idle_W) / s->ph.rollout_s;
}

static void report_loop(report *r, const jrl_job *j, const ctx *x, const stretch *s, int64_t ns,
                        const totals *t, double idle_W, double roll_idle_W)
{
    double n = (double)j->steps;
    double gpus = (double)j->gpus;
    double gpu_h = t->time_s * gpus / 3600;
    /* each pool at its own price a GPU-hour (one pool, colocated) */
    double usd = j->placement == JRL_DISAGGREGATED
                     ? t->time_s / 3600 *
                           ((double)x->roll_gpus * s[0].roll_usd_per_gpu_hour +
                            (double)x->train_gpus * s[0].usd_per_gpu_hour)
                     : gpu_h * s[0].usd_per_gpu_hour;
    double usd_h = usd / gpu_h;
    /* the headline figures first, at the top level */
    report_num(r, "rl_step_time_s", "RL step, mean", t->time_s / n, "s");
    report_num(r, "rollout_fraction", "rollout, share of the time", t->rollout_s / t->time_s, "%");
    report_num(r, "time_s", "the whole loop", t->time_s, "s");
    report_num(r, "gpu_hours", "GPU-hours", gpu_h, "GPU-hours");
    report_num(r, "usd_total", "cost", usd, "USD");
    report_begin(r, "step", "an RL step, mean over the steps");
    report_num(r, "rollout_s", "rollout (to the last answer)", t->rollout_s / n, "s");
    report_num(r, "rollout_tail_s", "its long tail (the last 10% of groups)", t->tail_s / n, "s");
    report_num(r, "score_s", "scoring (reference, reward model, critic forwards)", t->score_s / n,
               "s");
    report_num(r, "update_s", "update (every optimizer step)", t->update_s / n, "s");
    report_num(r, "sync_s", "weight sync", t->sync_s / n, "s");
    report_num(r, "switch_s", "colocated switch (training state to host and back)", t->switch_s / n,
               "s");
    report_end(r);
    report_begin(r, "pools", "the pools' use");
    if (j->placement == JRL_DISAGGREGATED) {
        report_int(r, "rollout_gpus", "rollout pool", x->roll_gpus, "GPUs");
        report_str(r, "rollout_chip", "its chip", x->rc->name);
        report_int(r, "train_gpus", "training pool", x->train_gpus, "GPUs");
        report_str(r, "train_chip", "its chip", x->c->name);
        report_num(r, "rollout_pool_busy", "rollout pool busy", t->roll_busy_s / t->time_s, "%");
        report_num(r, "train_pool_busy", "training pool busy", t->train_busy_s / t->time_s, "%");
        report_num(r, "rollout_idle_s", "rollout pool idle a step", t->roll_idle_s / n, "s");
        report_num(r, "train_idle_s", "training pool idle a step", t->train_idle_s / n, "s");
    } else {
        report_int(r, "gpus", "every GPU, colocated", x->roll_gpus, "GPUs");
        report_num(r, "rollout_share", "rolling out", t->roll_busy_s / t->time_s, "%");
        report_num(r, "train_share", "scoring and training", t->train_busy_s / t->time_s, "%");
        report_num(r, "overhead_share", "switching and syncing",
                   (t->switch_s + t->sync_s) / t->time_s, "%");
    }
    report_end(r);
    /* GPUs waiting: each pool's idle time (colocated: the switch and the
     * sync) and the rollout instances done before the slowest */
    double idle_J = j->placement == JRL_DISAGGREGATED
                        ? (t->roll_idle_s * (double)x->roll_gpus + t->wait_gpu_s) * roll_idle_W +
                              t->train_idle_s * (double)x->train_gpus * idle_W
                        : ((t->switch_s + t->sync_s) * gpus + t->wait_gpu_s) * idle_W;
    double energy_J = t->energy_J + idle_J;
    report_begin(r, "totals", "the whole loop");
    report_int(r, "steps", "RL steps", j->steps, "");
    report_int(r, "optimizer_steps", "optimizer steps", j->steps * j->updates_per_step, "");
    report_int(r, "simulated_stretches", "length stretches simulated", ns, "");
    report_num(r, "usd_per_gpu_hour", "per GPU-hour, all in (mean of the pools)", usd_h, "USD");
    report_num(r, "samples", "answers generated", t->samples, "");
    report_num(r, "tokens_generated", "tokens generated", t->out_tokens, "tokens");
    report_num(r, "output_tokens_per_s", "generated a second, over the loop",
               t->out_tokens / t->time_s, "tokens/s");
    report_num(r, "energy_j", "energy, IT (waiting GPUs at their idle power)", energy_J, "J");
    report_num(r, "it_power_mean_w", "IT power, mean", energy_J / t->time_s, "W");
    if (j->placement == JRL_COLOCATED) { /* the same GPUs step between two draws */
        double swing = 0;
        for (int64_t k = 0; k < ns; k++)
            swing = fmax(swing, fabs(s[k].update_energy_J / s[k].ph.update_s -
                                     rollout_W(&s[k], roll_idle_W)));
        report_num(r, "phase_swing_w", "largest step between rolling out and updating, IT", swing,
                   "W");
    }
    report_end(r);
    report_table(r, "stretches", "each length stretch, simulated once");
    for (int64_t k = 0; k < ns; k++) {
        report_row(r);
        report_int(r, "first_step", "from step", s[k].first, "");
        report_int(r, "steps", "steps", s[k].steps, "");
        report_str(r, "output_len", "answer lengths", s[k].out_len);
        report_num(r, "mean_output_tokens", "mean answer", s[k].mean_out, "tokens");
        report_num(r, "attention_span_tokens", "attention spans (length-weighted)", s[k].scored_len,
                   "tokens");
        report_num(r, "rollout_s", "rollout", s[k].ph.rollout_s, "s");
        report_num(r, "tail_s", "tail", s[k].tail_s, "s");
        report_num(r, "score_s", "scoring", s[k].ph.score_s, "s");
        report_num(r, "update_s", "update", s[k].ph.update_s, "s");
        report_num(r, "sync_s", "sync", s[k].ph.sync_s, "s");
        report_num(r, "switch_s", "switch", s[k].ph.switch_s, "s");
        report_num(r, "rollout_it_w", "rolling out, IT", rollout_W(&s[k], roll_idle_W), "W");
        report_num(r, "update_it_w", "updating, IT", s[k].update_energy_J / s[k].ph.update_s, "W");
    }
    report_table_end(r);
}

static int open_pools(const jrl_job *j, const jenv *env, ctx *x, chip_db **db, ms_err *err)
{
    int rc = jenv_load_chips(env, &j->chips, db, err);
    if (!rc)
        rc = chip_db_lookup(*db, j->chip, &x->c, err);
    x->rc = x->c;
    if (!rc && j->rollout_chip)
        rc = chip_db_lookup(*db, j->rollout_chip, &x->rc, err);
    if (rc)
        return rc;
    x->inst_gpus = j->rollout_tp * j->rollout_dp;
    if (j->placement == JRL_DISAGGREGATED) {
        x->roll_gpus = j->rollout_gpus;
        x->train_gpus = j->gpus - j->rollout_gpus;
    } else {
        x->roll_gpus = x->train_gpus = j->gpus;
    }
    if (x->roll_gpus % x->inst_gpus != 0)
        return ms_errf(err, MS_EUSAGE,
                       "--rollout-tp %lld x --rollout-dp %lld: a rollout instance of %lld GPUs "
                       "does not divide the rollout pool's %lld",
                       (long long)j->rollout_tp, (long long)j->rollout_dp, (long long)x->inst_gpus,
                       (long long)x->roll_gpus);
    int scoring = j->reference == 0 || j->reward == 1 || j->algorithm == JRL_PPO;
    if (scoring && x->train_gpus % x->inst_gpus != 0)
        return ms_errf(err, MS_EUSAGE,
                       "the training pool's %lld GPUs score the samples as prefills on "
                       "instances of the rollout layout (%lld GPUs), which must divide it: "
                       "change --rollout-gpus or the rollout layout",
                       (long long)x->train_gpus, (long long)x->inst_gpus);
    if ((rc = jopt_split_list(&j->serve_arg, "serve-arg", x->sbuf, sizeof x->sbuf, x->sx, MAX_EXTRA,
                              &x->nsx, err)))
        return rc;
    return jopt_split_list(&j->train_arg, "train-arg", x->tbuf, sizeof x->tbuf, x->tx, MAX_EXTRA,
                           &x->ntx, err);
}

int jrl_run(const jrl_job *j, const jenv *env, report *r, ms_err *err)
{
    int rc = check(j, err);
    if (rc)
        return rc;
    ctx *x = calloc(1, sizeof *x);
    chip_db *db = NULL;
    stretch *s = NULL;
    int64_t ns = 0;
    if (!x)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    x->j = j;
    x->env = env;
    if (!(rc = open_pools(j, env, x, &db, err)))
        rc = stretches(j, &s, &ns, err);
    int64_t I = x->roll_gpus / (x->inst_gpus ? x->inst_gpus : 1);
    int64_t per = (I < j->prompts_per_step ? I : j->prompts_per_step) + 1 + (j->reference == 0) +
                  (j->reward == 1) + 2 * (j->algorithm == JRL_PPO);
    x->runs_total = (int)(ns * per);
    for (int64_t k = 0; !rc && k < ns; k++)
        rc = run_stretch(x, k, &s[k], err);
    char title[300], on[120];
    if (x->rc && x->rc != x->c)
        snprintf(on, sizeof on, "%lld x %s rolling out, %lld x %s training",
                 (long long)x->roll_gpus, x->rc->name, (long long)x->train_gpus, x->c->name);
    else
        snprintf(on, sizeof on, "%lld x %s", (long long)j->gpus, j->chip);
    snprintf(title, sizeof title, "RL on %s: %s, %s, %s", on,
             j->placement == JRL_COLOCATED ? "colocated" : "disaggregated",
             j->mode == JRL_SYNC ? "synchronous" : "one step off",
             j->algorithm == JRL_GRPO ? "GRPO" : "PPO");
    if (!rc) {
        totals t = {0};
        walk(j, s, ns, &t, NULL, 0);
        double idle_W, roll_idle_W;
        idle_gpu_W(env, x, &idle_W, &roll_idle_W);
        report_str(r, "summary", NULL, title);
        char how[400];
        snprintf(how, sizeof how,
                 "%lld prompts x %lld answers a step, %lld optimizer step%s a step; %lld "
                 "steps from %lld simulated length stretch%s (every step of a stretch as its "
                 "one simulated step)",
                 (long long)j->prompts_per_step, (long long)j->samples_per_prompt,
                 (long long)j->updates_per_step, j->updates_per_step == 1 ? "" : "s",
                 (long long)j->steps, (long long)ns, ns == 1 ? "" : "es");
        report_str(r, "sampling", "steps", how);
        if (x->uncalibrated[0])
            report_strs_split(r, "uncalibrated",
                              "training kernels at the datasheet peak for want of a measurement",
                              x->uncalibrated);
        report_loop(r, j, x, s, ns, &t, idle_W, roll_idle_W);
        jopt_report_inputs(&jrl_options, j, r);
    }
    if (!rc && j->csv)
        rc = write_csv(j, s, ns, err);
    char ptitle[400]; /* one step off, the phases overlap: their stack passes the step */
    snprintf(ptitle, sizeof ptitle, "%s%s", title,
             j->mode == JRL_ASYNC ? " (phases overlap: the step is the black line)" : "");
    if (!rc && j->plot)
        rc = write_plot(j, env, j->plot, s, ns, ptitle, err);
    size_t len = j->plot ? strlen(j->plot) : 0;
    if (!rc && j->png_twin && len > 4 && strcmp(j->plot + len - 4, ".svg") == 0) {
        char png[4200];
        snprintf(png, sizeof png, "%.*s.png", (int)len - 4, j->plot);
        rc = write_plot(j, env, png, s, ns, ptitle, err);
    }
    free(s);
    chip_db_free(db);
    free(x);
    return rc;
}

static const char *const CSV_HEADER =
    "step,step_time_s,rollout_s,rollout_tail_s,score_s,update_s,sync_s,switch_s,"
    "rollout_idle_s,train_idle_s,mean_output_tokens\n";

static int write_csv(const jrl_job *j, const stretch *s, int64_t ns, ms_err *err)
{
    afile *af;
    int rc = afile_open(j->csv, &af, err);
    if (rc)
        return rc;
    FILE *f = afile_stream(af);
    fputs(CSV_HEADER, f);
    totals t = {0};
    walk(j, s, ns, &t, f, 0);
    return afile_commit(af, err);
}

static int write_plot(const jrl_job *j, const jenv *env, const char *out, const stretch *s,
                      int64_t ns, const char *title, ms_err *err)
{
    jplot p;
    FILE *d;
    int rc = jplot_begin(env, out, "rl_steps", &p, &d, err);
    if (rc)
        return rc;
    fputs(CSV_HEADER, d);
    totals t = {0};
    walk(j, s, ns, &t, d, 1);
    return jplot_end(&p, 1, title, NULL, 0, err);
}
