/* megasim train: one training step of a parallel plan on the engine, and
 * what it implies: throughput, MFU, memory, GPU-hours, days and cost. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/cpow.h"
#include "io/trace.h"
#include "model/modelfile.h"
#include "power/prun.h"
#include "train/stack.h"
#include "train/step.h"

static const cli_opt opts[] = {
    {"--model", "FILE", "model JSON (workloads/*.json or a Hugging Face config.json)"},
    {"--chip", "NAME", "chip from hwdb/chips.csv (megasim chips lists them)"},
    {"--gpus", "N", "GPUs in the job"},
    {"--tp", "N", "tensor-parallel degree (default 1)"},
    {"--pp", "N", "pipeline-parallel stages (default 1)"},
    {"--vpp", "N", "model chunks per pipeline rank, interleaved schedule only (default 1)"},
    {"--dp", "N", "data-parallel degree (default: gpus / (tp x pp x cp))"},
    {"--ep", "N", "expert-parallel degree, taken from dp x tp (default 1)"},
    {"--cp", "N", "context-parallel degree (default 1)"},
    {"--zero", "N", "ZeRO stage 0-3 over the data-parallel group (default 1)"},
    {"--seq", "N", "tokens per sequence"},
    {"--global-batch", "N", "sequences per step"},
    {"--micro-batch", "N", "sequences per micro-batch (default 1)"},
    {"--precision", "RECIPE",
     "bf16 (default), fp8 (DeepSeek-V3's fine-grained recipe), fp8-tensor (Transformer "
     "Engine's per-tensor scaling) or mxfp8 (Blackwell)"},
    {"--schedule", "NAME", "gpipe, 1f1b (default), interleaved, zb1p, dualpipe or dualpipev"},
    {"--recompute", "POLICY", "none (default), selective or full"},
    {"--stack", "NAME",
     "software stack: megatron-2021, megatron-core-2024, deepseek-v3 or plain (default: the "
     "chip's era)"},
    {"--comm-sms", "N", "SMs communication holds while it overlaps compute (DeepSeek: 20)"},
    {"--moe-imbalance", "X", "busiest expert rank's tokens over the mean (default 1: balanced)"},
    {"--every-replica", NULL, "simulate every data-parallel replica (small plans; for checks)"},
    {"--tokens", "N", "a token budget: days and cost to train on it (e.g. 14.8e12)"},
    {"--price-per-gpu-hour", "USD",
     "a flat price of one GPU-hour instead of owning the cluster (hwdb/costs.csv)"},
    {"--power-steps", "N", "steps in the power series (default 3)"},
    {"--checkpoint-every", "N",
     "save weights and optimizer state every N steps, GPUs idle meanwhile"},
    {"--checkpoint-GBps", "X", "write bandwidth to storage per GPU for checkpoints (GB/s)"},
    {"--power-resolution", "S", "seconds per point of the power series (default: step / 200)"},
    CLI_POWER_OPTS{"--trace", "FILE", "write a Chrome trace (open in Perfetto) of one step"},
    {"--trace-ranks", "LIST", "pipeline ranks to trace: 0,3,5-7 (default: all, up to 64)"},
    CLI_TOPO_OPTS CLI_CALIB_OPTS{"--json", NULL, "print JSON"},
};

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

static int write_trace(const char *path, const step_result *r, const plan *p, ms_err *err)
{
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

static void print_text(const model *m, const chip *c, const plan *p, const step_config *cfg,
                       const step_result *r, double tokens, double price, int calibrated,
                       int net_calibrated)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32];
    printf("%s on %lld x %s: tp %lld, pp %lld%s, dp %lld, ep %lld, cp %lld, ZeRO %d, %s, %s, "
           "recompute %s\n",
           m->name, (long long)p->gpus, c->name, (long long)p->tp, (long long)p->pp,
           p->vpp > 1 ? " (interleaved)" : "", (long long)p->dp, (long long)p->ep, (long long)p->cp,
           p->zero, p->recipe, sched_name(cfg->schedule), plan_recompute_name(p->recompute));
    printf("software stack %s: %s\n", p->stack, stack_or_plain(p->stack)->summary);
    printf("batch %lld sequences of %lld tokens, micro-batch %lld: %lld micro-batches per "
           "pipeline over %lld stages\n\n",
           (long long)p->global_batch, (long long)p->seq_len, (long long)p->micro_batch,
           (long long)r->microbatches, (long long)r->stages);
    printf("  step time              %s (last backward at %s)\n",
           cli_si(b1, 32, r->step_time_s, "s"), cli_si(b2, 32, r->pipeline_s, "s"));
    printf("  tokens per second      %s (%.0f per GPU)\n", cli_si(b1, 32, r->tokens_per_s, ""),
           r->tokens_per_s / (double)p->gpus);
    printf("  MFU                    %.1f%% of the BF16 peak", 100 * r->mfu_bf16);
    if (isfinite(r->mfu_fp8))
        printf(", %.1f%% of the FP8 peak", 100 * r->mfu_fp8);
    printf("\n                         (model FLOPs: 3 x forward = %s per token; no recompute, "
           "no MTP)\n",
           cli_si(b1, 32, r->model_flops_per_token, "FLOP"));
    printf("  GPU-hours per 1e12 tok %s\n", cli_si(b1, 32, r->gpu_hours_per_trillion_tokens, ""));
    if (isfinite(tokens)) {
        prun_budget bu =
            prun_budget_of(r->gpu_hours_per_trillion_tokens, tokens, (double)p->gpus, price);
        printf("  %s tokens            %.1f days on %lld GPUs, %s GPU-hours",
               cli_si(b1, 32, tokens, ""), bu.days, (long long)p->gpus,
               cli_si(b2, 32, bu.gpu_hours, ""));
        if (isfinite(price))
            printf(", $%s at $%.2f per GPU-hour", cli_si(b3, 32, bu.cost_usd, ""), price);
        printf("\n");
    } else if (isfinite(price)) {
        printf("  cost per 1e12 tokens   $%s at $%.2f per GPU-hour\n",
               cli_si(b1, 32, r->gpu_hours_per_trillion_tokens * price, ""), price);
    }
    printf("  memory per GPU         %s of %s (fits): weights %s, gradients %s, optimizer %s, "
           "activations %s, framework %s (an allowance)\n",
           cli_si(b1, 32, r->memory.total_B, "B"), cli_si(b2, 32, c->hbm_bytes, "B"),
           cli_si(b3, 32, r->memory.weights_B, "B"), cli_si(b4, 32, r->memory.grads_B, "B"),
           cli_si(b5, 32, r->memory.optimizer_B, "B"), cli_si(b6, 32, r->memory.activations_B, "B"),
           cli_si(b7, 32, r->memory.framework_B, "B"));
    printf("\nWhere the step goes (mean pipeline rank):\n");
    for (int i = 0; i < STEP_PARTS; i++)
        if (r->part_s[i] > 0)
            printf("  %-55s %12s %5.1f%%\n", step_part_name((step_part)i),
                   cli_si(b1, 32, r->part_s[i], "s"), 100 * r->part_s[i] / r->step_time_s);
    printf("\nPhases and what bounds them:\n");
    for (size_t i = 0; i < r->nphases; i++) {
        const step_phase *ph = &r->phases[i];
        printf("  %-48s %12s x %-6.0f %s\n", ph->name, cli_si(b1, 32, ph->time_s, "s"), ph->count,
               ph->bound);
    }
    printf("\n%s; %s; %lld ranks simulated, %llu events.\n",
           calibrated ? "compute calibrated by hwdb/efficiency.csv"
                      : "compute at datasheet peak (--peak)",
           net_calibrated ? "network calibrated by hwdb/network.csv" : "ideal network (--ideal)",
           (long long)r->ranks_simulated, (unsigned long long)r->events);
    if (r->stage0.uncalibrated[0])
        printf("no kernel measurement of %s for %s: %s at the datasheet peak (an upper bound)\n",
               r->stage0.uncalibrated, c->name,
               strchr(r->stage0.uncalibrated, ';') ? "these ran" : "it ran");
}

/* The cluster's power over a few steps, replica 0's pipeline ranks
 * standing for every GPU of their stage, and the run's energy and cost;
 * with a floor, the same run smoothed beside it. *have is 0 when the
 * chip's power levels are unknown and nothing asked for them. */
/* The run's power: steps of replica 0's activity repeated, a checkpoint
 * pause (ckpt_s, all GPUs idle) after the first when there is one, and
 * the run stretched by run_factor for its checkpoints. */
static int train_power(const cli_args *a, const chip *c, const plan *p, const topo *cluster,
                       const step_result *r, double tokens, double price, double ckpt_s,
                       double run_factor, cpow_run *run, int *have, ms_err *err)
{
    *have = 0;
    topo_size sz = topo_get_size(cluster);
    int64_t switches = sz.switches[1] + sz.switches[2] + sz.switches[3];
    cpow pw;
    int64_t steps;
    double res_s = r->step_time_s / 200;
    int loaded;
    int rc = cpow_load_optional(a, c, (double)p->gpus, switches, price, &pw, &loaded, err);
    if (rc || !loaded)
        goto out;
    if ((rc = cli_int_opt(a, "--power-steps", 1, 3, &steps, err)) ||
        (cli_get(a, "--power-resolution") &&
         (rc = cli_positive_double(a, "--power-resolution", &res_s, err))))
        goto out;
    double span = (double)steps * r->step_time_s, per_rank = (double)(p->gpus / p->pp);
    /* it, smooth, gpu: the steps back to back, for the run's means; with
     * checkpoints, *_pause: all GPUs idle, and show/show_smooth: the steps
     * with a checkpoint after the first, for the trace, plot and swings. */
    pseries *it = NULL, *smooth = NULL, *gpu = NULL, *it_pause = NULL, *smooth_pause = NULL;
    pseries *gpu_pause = NULL, *show = NULL, *show_smooth = NULL, *show_gpu = NULL;
    int sm = pw.site.floor_frac > 0, ck = ckpt_s > 0;
    if ((rc = pseries_new(0, span, res_s, &it, err)) ||
        (rc = pseries_new(0, span, res_s, &gpu, err)) ||
        (sm && (rc = pseries_new(0, span, res_s, &smooth, err))) ||
        (ck && (rc = pseries_new(0, ckpt_s, fmin(res_s, ckpt_s), &it_pause, err))) ||
        (ck && (rc = pseries_new(0, ckpt_s, fmin(res_s, ckpt_s), &gpu_pause, err))) ||
        (ck && sm && (rc = pseries_new(0, ckpt_s, fmin(res_s, ckpt_s), &smooth_pause, err))) ||
        (ck && (rc = pseries_new(0, span + ckpt_s, res_s, &show, err))) ||
        (ck && (rc = pseries_new(0, span + ckpt_s, res_s, &show_gpu, err))) ||
        (ck && sm && (rc = pseries_new(0, span + ckpt_s, res_s, &show_smooth, err))))
        goto series_out;
    pwr_site plain = pw.site;
    plain.floor_frac = 0;
    for (int pass = 0; pass < (ck ? 3 : 1); pass++) {
        /* pass 0: the steps; 1: the pause; 2: the steps around a pause */
        pseries *a_it = pass == 0 ? it : pass == 1 ? it_pause : show;
        pseries *a_sm = pass == 0 ? smooth : pass == 1 ? smooth_pause : show_smooth;
        pseries *a_gpu = pass == 0 ? gpu : pass == 1 ? gpu_pause : show_gpu;
        double len = pass == 0 ? span : pass == 1 ? ckpt_s : span + ckpt_s;
        pwr_add_baseline(a_it, a_sm ? NULL : a_gpu, &pw.lv, &plain, (double)p->gpus, 0, len);
        if (a_sm)
            pwr_add_baseline(a_sm, a_gpu, &pw.lv, &pw.site, (double)p->gpus, 0, len);
        for (int64_t k = 0; pass != 1 && k < steps; k++)
            for (size_t i = 0; i < r->nacts; i++) {
                const step_activity *x = &r->acts[i];
                double t0 =
                    (double)k * r->step_time_s + x->start_s + (pass == 2 && k > 0 ? ckpt_s : 0);
                pwr_add_work(a_it, a_sm ? NULL : a_gpu, &pw.lv, &plain, per_rank, t0, x->dur_s,
                             x->matrix_s, x->memory_s, x->comm_s);
                if (a_sm)
                    pwr_add_work(a_sm, a_gpu, &pw.lv, &pw.site, per_rank, t0, x->dur_s, x->matrix_s,
                                 x->memory_s, x->comm_s);
            }
    }
    /* The run: the token budget, else one step. */
    double duration = isfinite(tokens) ? prun_train_duration_s(tokens, r->tokens_per_s, run_factor)
                                       : r->step_time_s;
    cpow_summarize(&pw, it, smooth, gpu, (double)p->gpus, duration, run);
    if (ck) {
        cpow_run pause, shown;
        cpow_summarize(&pw, it_pause, smooth_pause, gpu_pause, (double)p->gpus, duration, &pause);
        cpow_summarize(&pw, show, show_smooth, show_gpu, (double)p->gpus, duration, &shown);
        cpow_mix(&pw, run, &pause, prun_pause_frac(run_factor), &shown);
    }
    char title[200];
    snprintf(title, sizeof title, "%lld x %s, %lld training steps%s", (long long)p->gpus, c->name,
             (long long)steps, ck ? ", a checkpoint after the first" : "");
    rc = cpow_write(a, &pw, ck ? show : it, ck ? show_smooth : smooth, title, err);
    *have = rc == MS_OK;
series_out:
    pseries_free(it);
    pseries_free(smooth);
    pseries_free(gpu);
    pseries_free(it_pause);
    pseries_free(smooth_pause);
    pseries_free(gpu_pause);
    pseries_free(show);
    pseries_free(show_smooth);
    pseries_free(show_gpu);
out:
    cpow_free(&pw);
    return rc;
}

static void json_parts(cJSON *o, const step_result *r)
{
    cJSON *b = cJSON_AddObjectToObject(o, "breakdown_s");
    for (int i = 0; i < STEP_PARTS; i++)
        cli_json_num(b, step_part_name((step_part)i), r->part_s[i]);
    cJSON *ph = cJSON_AddArrayToObject(o, "phases");
    for (size_t i = 0; i < r->nphases; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", r->phases[i].name);
        cli_json_num(x, "time_s", r->phases[i].time_s);
        cli_json_num(x, "count", r->phases[i].count);
        cJSON_AddStringToObject(x, "bound", r->phases[i].bound);
        cJSON_AddItemToArray(ph, x);
    }
}

static int run_train(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse(cmd, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ms_err err = {0};
    chip_db *db = NULL;
    calib *cal = NULL;
    topo *cluster = NULL;
    step_result res = {0};
    model m;
    const chip *c;
    plan p = {.vpp = 1};
    step_config cfg = {.moe_load = 1, .trace_mask = ~UINT64_C(0)};
    int64_t zero = 1;
    double tokens, price;
    if ((rc = cli_need(&a, "--model", &err)) || (rc = cli_need(&a, "--chip", &err)) ||
        (rc = cli_need(&a, "--gpus", &err)) || (rc = cli_need(&a, "--seq", &err)) ||
        (rc = cli_need(&a, "--global-batch", &err)))
        goto out;
    if ((rc = cli_int_opt(&a, "--gpus", 1, 1, &p.gpus, &err)) ||
        (rc = cli_int_opt(&a, "--tp", 1, 1, &p.tp, &err)) ||
        (rc = cli_int_opt(&a, "--pp", 1, 1, &p.pp, &err)) ||
        (rc = cli_int_opt(&a, "--vpp", 1, 1, &p.vpp, &err)) ||
        (rc = cli_int_opt(&a, "--ep", 1, 1, &p.ep, &err)) ||
        (rc = cli_int_opt(&a, "--cp", 1, 1, &p.cp, &err)) ||
        (rc = cli_int_opt(&a, "--zero", 0, 1, &zero, &err)) ||
        (rc = cli_int_opt(&a, "--seq", 1, 1, &p.seq_len, &err)) ||
        (rc = cli_int_opt(&a, "--global-batch", 1, 1, &p.global_batch, &err)) ||
        (rc = cli_int_opt(&a, "--micro-batch", 1, 1, &p.micro_batch, &err)) ||
        (rc = cli_int_opt(&a, "--comm-sms", 0, 0, &cfg.comm_sms, &err)) ||
        (rc = cli_positive_double(&a, "--tokens", &tokens, &err)) ||
        (rc = cli_positive_double(&a, "--price-per-gpu-hour", &price, &err)))
        goto out;
    if (zero > 3) {
        rc = ms_errf(&err, MS_EUSAGE, "--zero %lld: expected a ZeRO stage 0 to 3", (long long)zero);
        goto out;
    }
    p.zero = (int)zero;
    int64_t mp = p.tp * p.pp * p.cp;
    if (cli_get(&a, "--dp")) {
        if ((rc = cli_int_opt(&a, "--dp", 1, 1, &p.dp, &err)))
            goto out;
    } else if (p.gpus % mp != 0) {
        rc = ms_errf(&err, MS_EUSAGE,
                     "--gpus %lld is not a multiple of tp x pp x cp = %lld x %lld x %lld = %lld",
                     (long long)p.gpus, (long long)p.tp, (long long)p.pp, (long long)p.cp,
                     (long long)mp);
        goto out;
    } else {
        p.dp = p.gpus / mp;
    }
    p.recipe = cli_get(&a, "--precision") ? cli_get(&a, "--precision") : "bf16";
    const char *sch = cli_get(&a, "--schedule");
    cfg.schedule = SCHED_1F1B;
    if (sch && strcmp(sch, "interleaved-1f1b") == 0) { /* the name for it */
        cfg.schedule = SCHED_INTERLEAVED;
    } else if (sch && sched_parse(sch, &cfg.schedule) != 0) {
        rc = ms_errf(&err, MS_EUSAGE,
                     "--schedule '%s': expected one of %s (interleaved is interleaved 1F1B; "
                     "interleaved-1f1b is accepted too)",
                     sch, sched_list());
        goto out;
    }
    const char *rp = cli_get(&a, "--recompute");
    if (rp && plan_recompute_parse(rp, &p.recompute) != 0) {
        rc = ms_errf(&err, MS_EUSAGE, "--recompute '%s': expected none, selective or full", rp);
        goto out;
    }
    if (cli_get(&a, "--moe-imbalance") &&
        (rc = cli_parse_double("--moe-imbalance", cli_get(&a, "--moe-imbalance"), &cfg.moe_load,
                               &err)))
        goto out;
    cfg.every_replica = cli_has(&a, "--every-replica");
    if ((rc = cli_get(&a, "--trace-ranks")
                  ? parse_ranks(cli_get(&a, "--trace-ranks"), p.pp, &cfg.trace_mask, &err)
                  : MS_OK))
        goto out;
    if (!cli_get(&a, "--trace"))
        cfg.trace_mask = 0;

    if ((rc = cli_load_model(cli_get(&a, "--model"), &m, &err)) ||
        (rc = cli_load_chips(&a, &db, &err)) ||
        (rc = chip_db_lookup(db, cli_get(&a, "--chip"), &c, &err)) ||
        (rc = cli_load_calib(&a, &cal, &err)))
        goto out;
    if (cli_get(&a, "--stack")) {
        p.stack = cli_get(&a, "--stack");
        if (!stack_find(p.stack)) {
            rc =
                ms_errf(&err, MS_EUSAGE, "--stack '%s': expected one of %s", p.stack, stack_list());
            goto out;
        }
    } else {
        p.stack = stack_default(c)->name;
    }
    if ((rc = plan_check(&p, &m, &err)))
        goto out;
    coll_params net = COLL_PARAMS_IDEAL;
    if (!cli_has(&a, "--ideal")) {
        char path[4096];
        if ((rc = cli_home_path(path, sizeof path, "hwdb/network.csv", &err)) ||
            (rc = coll_params_load(path, &net, &err)))
            goto out;
    }
    topo_spec ts;
    if ((rc = cli_topo_spec(&a, c, p.gpus, &ts, &err)) ||
        (rc = cli_topo_build(&a, &ts, &cluster, &err)))
        goto out;

    rc = step_run(&m, c, cal, &p, cluster, &net, &cfg, &res, &err);
    if (rc && !res.fits && res.memory.total_B > 0 && cli_has(&a, "--json")) {
        /* A plan that does not fit still says how short it is. */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "fits", 0);
        cli_json_num(o, "memory_per_gpu_bytes", res.memory.total_B);
        cli_json_num(o, "hbm_bytes", c->hbm_bytes);
        cli_json_num(o, "short_bytes", res.short_B);
        cJSON_AddStringToObject(o, "error", err.msg);
        ms_err e2;
        cli_json_emit(o, &e2);
    }
    if (rc)
        goto out;
    if (cli_get(&a, "--trace") && (rc = write_trace(cli_get(&a, "--trace"), &res, &p, &err)))
        goto out;
    /* Checkpoints: the run's GPUs idle while each writes its weights and
     * optimizer state; GPU-hours and days include them. */
    int64_t ckpt_every = 0;
    double ckpt_GBps = NAN, ckpt_s = 0, run_factor = 1;
    if ((rc = cli_int_opt(&a, "--checkpoint-every", 1, 0, &ckpt_every, &err)) ||
        (rc = cli_positive_double(&a, "--checkpoint-GBps", &ckpt_GBps, &err)))
        goto out;
    if ((ckpt_every > 0) != isfinite(ckpt_GBps)) {
        rc = ms_errf(&err, MS_EUSAGE,
                     "--checkpoint-every and --checkpoint-GBps go together: how often, and how "
                     "fast each GPU writes");
        goto out;
    }
    double ckpt_B = res.memory.weights_B + res.memory.optimizer_B;
    if (ckpt_every > 0) {
        ckpt_s = prun_ckpt_s(ckpt_B, ckpt_GBps * 1e9);
        run_factor = prun_ckpt_run_factor(ckpt_s, ckpt_every, res.step_time_s);
        res.gpu_hours_per_trillion_tokens *= run_factor;
    }
    cpow_run pr;
    int have_power;
    if ((rc = train_power(&a, c, &p, cluster, &res, tokens, price, ckpt_s, run_factor, &pr,
                          &have_power, &err)))
        goto out;
    if (cli_has(&a, "--json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m.name);
        cJSON_AddStringToObject(o, "chip", c->name);
        cJSON *pj = cJSON_AddObjectToObject(o, "plan");
        cli_json_num(pj, "gpus", (double)p.gpus);
        cli_json_num(pj, "tp", (double)p.tp);
        cli_json_num(pj, "pp", (double)p.pp);
        cli_json_num(pj, "vpp", (double)p.vpp);
        cli_json_num(pj, "dp", (double)p.dp);
        cli_json_num(pj, "ep", (double)p.ep);
        cli_json_num(pj, "cp", (double)p.cp);
        cli_json_num(pj, "zero", p.zero);
        cli_json_num(pj, "seq", (double)p.seq_len);
        cli_json_num(pj, "global_batch", (double)p.global_batch);
        cli_json_num(pj, "micro_batch", (double)p.micro_batch);
        cJSON_AddStringToObject(pj, "precision", p.recipe);
        cJSON_AddStringToObject(pj, "schedule", sched_name(cfg.schedule));
        cJSON_AddStringToObject(pj, "recompute", plan_recompute_name(p.recompute));
        cJSON_AddStringToObject(pj, "stack", p.stack);
        cli_json_num(pj, "comm_sms", (double)cfg.comm_sms);
        cli_json_num(pj, "moe_imbalance", cfg.moe_load);
        cli_json_num(o, "step_time_s", res.step_time_s);
        cli_json_num(o, "pipeline_s", res.pipeline_s);
        cli_json_num(o, "tokens_per_s", res.tokens_per_s);
        cli_json_num(o, "tokens_per_s_per_gpu", res.tokens_per_s / (double)p.gpus);
        cli_json_num(o, "model_flops_per_token", res.model_flops_per_token);
        cli_json_num(o, "mfu_bf16", res.mfu_bf16);
        cli_json_num(o, "mfu_fp8", res.mfu_fp8);
        cli_json_num(o, "gpu_hours_per_trillion_tokens", res.gpu_hours_per_trillion_tokens);
        if (ckpt_every > 0) {
            cli_json_num(o, "checkpoint_every_steps", (double)ckpt_every);
            cli_json_num(o, "checkpoint_s", ckpt_s);
            cli_json_num(o, "checkpoint_bytes_per_gpu", ckpt_B);
            cli_json_num(o, "checkpoint_overhead_fraction", run_factor - 1);
        }
        if (isfinite(tokens)) {
            prun_budget bu =
                prun_budget_of(res.gpu_hours_per_trillion_tokens, tokens, (double)p.gpus, price);
            cli_json_num(o, "tokens", tokens);
            cli_json_num(o, "days", bu.days);
            cli_json_num(o, "gpu_hours", bu.gpu_hours);
            if (isfinite(price))
                cli_json_num(o, "cost_usd", bu.cost_usd);
        } else if (isfinite(price)) {
            cli_json_num(o, "cost_usd_per_trillion_tokens",
                         res.gpu_hours_per_trillion_tokens * price);
        }
        cli_json_num(o, "memory_per_gpu_bytes", res.memory.total_B);
        cJSON *mj = cJSON_AddObjectToObject(o, "memory_bytes");
        cli_json_num(mj, "weights", res.memory.weights_B);
        cli_json_num(mj, "gradients", res.memory.grads_B);
        cli_json_num(mj, "optimizer", res.memory.optimizer_B);
        cli_json_num(mj, "activations", res.memory.activations_B);
        cli_json_num(mj, "framework_allowance", res.memory.framework_B);
        cli_json_num(mj, "hbm", c->hbm_bytes);
        cJSON_AddBoolToObject(o, "fits", res.fits);
        cli_json_num(o, "bubble_fraction", res.bubble_fraction);
        cli_json_num(o, "exposed_comm_fraction", res.exposed_comm_fraction);
        cli_json_num(o, "microbatches", (double)res.microbatches);
        cli_json_num(o, "ranks_simulated", (double)res.ranks_simulated);
        cli_json_num(o, "events", (double)res.events);
        /* Operation classes timed at the datasheet peak for want of a
         * kernel measurement of this chip's family. */
        cli_json_list(o, "uncalibrated", res.stage0.uncalibrated);
        json_parts(o, &res);
        if (have_power)
            cpow_json(o, &pr);
        rc = cli_json_emit(o, &err);
    } else {
        print_text(&m, c, &p, &cfg, &res, tokens, price, cal != NULL, !cli_has(&a, "--ideal"));
        if (ckpt_every > 0) {
            char b1[32], b2[32];
            printf("  checkpoints            %s every %lld steps (%s a GPU at %g GB/s): +%.2f%% "
                   "on the run, in the GPU-hours above\n",
                   cli_si(b1, 32, ckpt_s, "s"), (long long)ckpt_every, cli_si(b2, 32, ckpt_B, "B"),
                   ckpt_GBps, 100 * (run_factor - 1));
        }
        if (have_power) {
            printf("\nPower and cost (%s; facility = IT x PUE):\n",
                   isfinite(tokens) ? "the token budget" : "one step");
            cpow_print(&pr);
        }
    }
    if (!rc && cli_get(&a, "--trace"))
        fprintf(cli_has(&a, "--json") ? stderr : stdout,
                "trace: %s (%zu spans; open in "
                "https://ui.perfetto.dev)\n",
                cli_get(&a, "--trace"), res.nspans);
out:
    step_result_free(&res);
    topo_free(cluster);
    calib_free(cal);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_train = {
    .name = "train",
    .run = run_train,
    .summary = "one training step of a parallel plan: time, tokens/s, MFU, memory, GPU-hours",
    .usage = "  megasim train --model FILE --chip NAME --gpus N --seq N --global-batch N\n"
             "                [--tp N] [--pp N] [--vpp N] [--dp N] [--ep N] [--cp N] [--zero N]\n"
             "                [--micro-batch N] [--precision RECIPE] [--schedule NAME]\n"
             "                [--recompute none|selective|full] [--trace FILE] [--json]\n",
    .details = "Runs one step on the engine: each pipeline rank runs its schedule's task list;\n"
               "compute is timed by the roofline with hwdb/efficiency.csv, communication (TP\n"
               "all-reduce, EP dispatch/combine, PP send/recv, DP/ZeRO reduce-scatter and\n"
               "all-gather) by the network model with hwdb/network.csv on the cluster the chip's\n"
               "row implies (its scale-up domain and NIC on a rail-optimized non-blocking\n"
               "fat-tree; the topology options change it). DualPipe and DualPipeV overlap the\n"
               "expert-parallel traffic of each forward-backward pair with its compute, on the\n"
               "SMs --comm-sms leaves free; other schedules do not overlap it.\n"
               "The software stack (--stack; default: the chip's era) is part of the plan:\n"
               "megatron-2021 writes attention scores to HBM, runs dropout and overlaps no\n"
               "communication; megatron-core-2024 fuses attention, overlaps tensor-parallel\n"
               "collectives with their GEMMs (on the SMs its communication kernels leave) and\n"
               "data-parallel traffic with the backward and forward in buckets, and prefetches\n"
               "ZeRO-3 weights; deepseek-v3 and plain fuse attention and overlap nothing.\n"
               "One pipeline is simulated (data-parallel replicas are identical) with the\n"
               "busiest expert rank's load; --every-replica simulates them all.\n"
               "A plan that does not fit in HBM is not run: the error says how short it is.\n"
               "MFU counts model FLOPs, 3 x the forward (GEMMs with weights, causal attention,\n"
               "element-wise), without recompute or MTP, against the dense BF16 and FP8 peaks.\n"
               "Scenario files (megasim run scenarios/X.json) set the same options.\n",
    .opts = opts,
    .nopts = sizeof opts / sizeof opts[0],
    .max_pos = 0,
};
