/* jfleet: see jfleet.h. */
#include "job/jfleet.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/chip.h"
#include "job/jserve.h"
#include "model/modelfile.h"

#define F(f) offsetof(jfleet_job, f)

static const jopt rows[] = {
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, F(model),
     "model JSON (workloads/*.json or a Hugging Face config.json)"},
    {"chip", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, F(chip),
     "chips to size a fleet of, each at its own best layout: H20,H800,H100"},
    {"demand", JOPT_POS, "TOKENS", NULL, NULL, 1, 1e18, NULL, F(demand_tokens_per_day),
     "output tokens a day the fleet must serve (e.g. 1e11)"},
    {"rate", JOPT_POS, "R", NULL, NULL, 1e-6, 1e9, NULL, F(rate_per_s),
     "or requests a second the fleet must serve"},
    {"input-len", JOPT_STR, "DIST", NULL, NULL, NAN, NAN, NULL, F(input_len),
     "prompt lengths: fixed:N, uniform:A:B, lognormal:MEDIAN:SIGMA, table:FILE or "
     "scaled:MEAN:FILE"},
    {"output-len", JOPT_STR, "DIST", NULL, NULL, NAN, NAN, NULL, F(output_len),
     "output lengths, likewise"},
    {"p99-ttft", JOPT_POS, "S", "s", NULL, 1e-6, 86400, NULL, F(p99_ttft_s),
     "the p99 time to first token allowed"},
    {"p99-tpot", JOPT_POS, "S", "s", NULL, 1e-6, 3600, NULL, F(p99_tpot_s),
     "the p99 time per output token allowed"},
    {"tokens-per-user-s", JOPT_POS, "X", NULL, NULL, 1e-3, 1e6, NULL, F(tokens_per_user_s),
     "or the tokens a second each user must see: a p99 time per output token of 1/X"},
    {"precision", JOPT_STR, "P", NULL, "bf16", NAN, NAN, NULL, F(precision),
     "weights and activations: bf16, fp8, fp4"},
    {"kv-precision", JOPT_STR, "P", NULL, "bf16", NAN, NAN, NULL, F(kv_precision),
     "KV cache: bf16 or fp8"},
    {"duration", JOPT_POS, "S", "s", "600", 1e-3, 86400, NULL, F(duration_s),
     "seconds of arrivals each rate of an instance's search runs (MLPerf Server: at least "
     "600; a fixed count of requests would fit in a large instance at once, at any rate)"},
    {"max-instance-gpus", JOPT_INT, "N", NULL, "256", 1, 65536, NULL, F(max_instance_gpus),
     "the largest instance tried (powers of two from 1)"},
    {"disaggregate", JOPT_STR, "LIST", NULL, NULL, NAN, NAN, NULL, F(disaggregate),
     "also try each layout split into prefill and decode pools, P:D instances of each "
     "(1:1,1:3); the KV cache crosses the NIC (give one: --serve-arg \"--nic-Gbps 400\")"},
    {"max-gpus", JOPT_INT, "N", NULL, NULL, 1, 1e9, NULL, F(max_gpus),
     "the largest fleet allowed: a layout whose fleet needs more GPUs is set aside"},
    {"objective", JOPT_CHOICE, "O", NULL, "cost", NAN, NAN, "cost|gpus|power", F(objective),
     "what each chip's best fleet minimizes: cost a day, GPUs or IT power"},
    {"serve-arg", JOPT_LIST, "ARGS", NULL, NULL, NAN, NAN, NULL, F(serve_arg),
     "more options of every serve run, e.g. \"--mtp-accept 0.85 --overlap\" (repeatable)"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, F(chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, F(json), "print JSON"},
};

const jopt_table jfleet_options = {.rows = rows,
                                   .n = sizeof rows / sizeof rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jfleet_job, given)};

#define MAX_CHIPS   16
#define MAX_LAYOUTS 256
#define MAX_RATIOS  8
#define MAX_ARGS    96

typedef struct layout {
    int64_t gpus, tp, dp, ep; /* one instance */
    int64_t pre, dec;         /* prefill and decode instances of a group; 0, 0: colocated */
    int ok;
    double rate_per_s, out_tps, it_W, meter_W, usd_per_gpu_hour, usd_per_M_out, usd_per_M_in;
    int64_t instances;
    double fleet_gpus, fleet_W, fleet_meter_W, usd_per_day;
    char why[200];
} layout;

/* One instance of layout L on chip under the Server scenario: its figures
 * into L, or its reason in L->why. */
static int try_layout(const jfleet_job *j, const jenv *env, const char *chip, double p99_tpot,
                      char **extra, int nextra, layout *L, ms_err *err)
{
    char g[24], tp[24], dp[24], ep[24], ttft[40], tpot[40], req[40], pd[48];
    /* A disaggregated group is one serve run of its P + D instances. */
    snprintf(g, sizeof g, "%lld",
             (long long)(L->gpus * (L->pre + L->dec > 0 ? L->pre + L->dec : 1)));
    snprintf(pd, sizeof pd, "%lld:%lld", (long long)L->pre, (long long)L->dec);
    snprintf(tp, sizeof tp, "%lld", (long long)L->tp);
    snprintf(dp, sizeof dp, "%lld", (long long)L->dp);
    snprintf(ep, sizeof ep, "%lld", (long long)L->ep);
    snprintf(ttft, sizeof ttft, "%.17g", j->p99_ttft_s);
    snprintf(tpot, sizeof tpot, "%.17g", p99_tpot);
    snprintf(req, sizeof req, "%.17g", j->duration_s);
    char *argv[MAX_ARGS] = {"--model",        (char *)j->model,
                            "--chip",         (char *)chip,
                            "--gpus",         g,
                            "--tp",           tp,
                            "--dp",           dp,
                            "--ep",           ep,
                            "--input-len",    (char *)j->input_len,
                            "--output-len",   (char *)j->output_len,
                            "--scenario",     "server",
                            "--p99-ttft",     ttft,
                            "--p99-tpot",     tpot,
                            "--duration",     req,
                            "--precision",    (char *)j->precision,
                            "--kv-precision", (char *)j->kv_precision};
    int argc = 28;
    for (int i = 0; i < j->chips.n && argc + 2 < MAX_ARGS; i++) {
        argv[argc++] = "--chips";
        argv[argc++] = (char *)j->chips.v[i];
    }
    if (L->pre > 0) {
        argv[argc++] = "--disaggregate";
        argv[argc++] = pd;
    }
    for (int i = 0; i < nextra && argc < MAX_ARGS; i++)
        argv[argc++] = extra[i];
    jserve_job s = {0};
    int npos, help;
    ms_err e = {0};
    int rc = jopt_parse(&jserve_options, &s, argc, argv, NULL, 0, &npos, &help, &e);
    if (rc) /* a bad --serve-arg: the user's to fix */
        return ms_errf(err, rc, "--serve-arg: %s", e.msg);
    report *r = report_new();
    jserve_out o = {0};
    rc = r ? jserve_run(&s, env, r, &o, &e) : ms_errf(&e, MS_ENOMEM, "out of memory");
    if (rc == MS_ENOMEM) {
        *err = e;
    } else if (rc) {
        snprintf(L->why, sizeof L->why, "%.199s", e.msg);
        rc = MS_OK;
    } else {
        L->ok = 1;
        L->rate_per_s = report_find_num(r, "rate_found_per_s");
        L->out_tps = report_find_num(r, "output_tokens_per_s");
        L->it_W = report_find_num(r, "it_power_mean_w");
        L->meter_W = report_find_num(r, "facility_power_mean_w");
        L->usd_per_gpu_hour = report_find_num(r, "usd_per_gpu_hour_all_in");
        L->usd_per_M_out = report_find_num(r, "usd_per_million_output_tokens");
        L->usd_per_M_in = report_find_num(r, "usd_per_million_input_tokens");
        if (!(L->rate_per_s > 0 && L->out_tps > 0)) {
            L->ok = 0;
            snprintf(L->why, sizeof L->why, "the search found no rate");
        }
    }
    jserve_out_free(&o);
    report_free(r);
    return rc;
}

static double objective_of(const jfleet_job *j, const layout *L)
{
    double v = j->objective == 0 ? L->usd_per_day : j->objective == 1 ? L->fleet_gpus : L->fleet_W;
    return isnan(v) ? INFINITY : v;
}

static void layout_text(const layout *L, char *buf, size_t cap)
{
    int n = 0;
    if (L->pre > 0)
        n = snprintf(buf, cap, "prefill:decode %lld:%lld of ", (long long)L->pre,
                     (long long)L->dec);
    snprintf(buf + n, cap - (size_t)n, "%lld GPUs: tp %lld, dp %lld, ep %lld", (long long)L->gpus,
             (long long)L->tp, (long long)L->dp, (long long)L->ep);
}

/* --disaggregate "1:1,1:3" into ratios[k][0]:ratios[k][1]. */
static int parse_ratios(const char *text, int64_t ratios[][2], int *n, ms_err *err)
{
    *n = 0;
    if (!text)
        return MS_OK;
    const char *p = text;
    for (;;) {
        char *end;
        long long a = strtoll(p, &end, 10), b = -1;
        if (end != p && *end == ':') {
            const char *q = end + 1;
            b = strtoll(q, &end, 10);
            if (end == q)
                b = -1;
        }
        if (a < 1 || b < 1 || a > 64 || b > 64 || (*end && *end != ','))
            return ms_errf(err, MS_EUSAGE,
                           "--disaggregate '%s': expected P:D pairs of whole numbers from 1 to "
                           "64, separated by commas (1:1,1:3)",
                           text);
        if (*n == MAX_RATIOS)
            return ms_errf(err, MS_EUSAGE, "--disaggregate '%s': at most %d ratios", text,
                           MAX_RATIOS);
        ratios[*n][0] = a;
        ratios[*n][1] = b;
        ++*n;
        if (!*end)
            return MS_OK;
        p = end + 1;
    }
}

int jfleet_run(const jfleet_job *j, const jenv *env, report *r, ms_err *err)
{
    static const char *const need[] = {"model", "chip", "input-len", "output-len", "p99-ttft"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!jopt_is_set(&jfleet_options, j, need[i]))
            return ms_errf(err, MS_EUSAGE, "--%s is required", need[i]);
    if (isnan(j->demand_tokens_per_day) == isnan(j->rate_per_s))
        return ms_errf(err, MS_EUSAGE,
                       "give the demand as --demand TOKENS (output tokens a day) or --rate R "
                       "(requests a second), one of them");
    if (isnan(j->p99_tpot_s) == isnan(j->tokens_per_user_s))
        return ms_errf(err, MS_EUSAGE,
                       "give the speed each user sees as --p99-tpot S or --tokens-per-user-s X, "
                       "one of them");
    double p99_tpot = isnan(j->p99_tpot_s) ? 1 / j->tokens_per_user_s : j->p99_tpot_s;
    /* The chips, and whether the model has experts (they spread over the
     * whole instance). */
    char list[1024];
    const char *names[MAX_CHIPS];
    size_t nc = 0;
    if (strlen(j->chip) >= sizeof list)
        return ms_errf(err, MS_EUSAGE, "--chip: the list is too long");
    strcpy(list, j->chip);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (nc == MAX_CHIPS)
            return ms_errf(err, MS_EUSAGE, "--chip: at most %d chips", MAX_CHIPS);
        names[nc++] = t;
    }
    chip_db *db = NULL;
    model m;
    char warn[MODELFILE_WARN_MAX], path[4096];
    int rc = modelfile_load(jenv_find(env, j->model, path, sizeof path), &m, warn, err);
    if (!rc)
        rc = jenv_load_chips(env, &j->chips, &db, err);
    for (size_t c = 0; !rc && c < nc; c++) {
        const chip *x;
        rc = chip_db_lookup(db, names[c], &x, err);
    }
    char split[2048], *extra[MAX_ARGS - 40];
    int nextra = 0;
    if (!rc)
        rc = jopt_split_list(&j->serve_arg, "serve-arg", split, sizeof split, extra, MAX_ARGS - 40,
                             &nextra, err);
    if (rc) {
        chip_db_free(db);
        return rc;
    }
    int64_t ratios[MAX_RATIOS + 1][2] = {{0, 0}}; /* colocated first */
    int nr = 0;
    if (!rc)
        rc = parse_ratios(j->disaggregate, ratios + 1, &nr, err);
    nr++;
    if (rc) {
        chip_db_free(db);
        return rc;
    }
    int moe = m.num_experts > 0;
    layout(*L)[MAX_LAYOUTS] = calloc(nc, sizeof *L);
    if (!L) {
        chip_db_free(db);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    int nl[MAX_CHIPS] = {0}, best[MAX_CHIPS], smallest[MAX_CHIPS];
    size_t total = 0, done = 0;
    for (int64_t g = 1; g <= j->max_instance_gpus; g *= 2)
        for (int64_t tp = 1; tp <= 8 && tp <= g; tp *= 2)
            total += moe || tp == (g < 8 ? g : 8);
    total *= nc * (size_t)nr;
    for (size_t c = 0; c < nc && !rc; c++) {
        best[c] = smallest[c] = -1;
        for (int64_t g = 1; g <= j->max_instance_gpus && !rc; g *= 2)
            for (int64_t tp = 1; tp <= 8 && tp <= g && !rc; tp *= 2)
                for (int k = 0; k < nr && !rc; k++) {
                    if (!moe && tp != (g < 8 ? g : 8)) /* dense: tensor parallel up to 8 */
                        continue;
                    if (nl[c] == MAX_LAYOUTS)
                        break;
                    layout *x = &L[c][nl[c]++];
                    *x = (layout){.gpus = g,
                                  .tp = tp,
                                  .dp = g / tp,
                                  .ep = moe ? g : 1,
                                  .pre = ratios[k][0],
                                  .dec = ratios[k][1]};
                    rc = try_layout(j, env, names[c], p99_tpot, extra, nextra, x, err);
                    if (j->progress)
                        j->progress(j->progress_ctx, (double)++done, (double)total, "layouts");
                    if (rc || !x->ok)
                        continue;
                    double need_tps = !isnan(j->demand_tokens_per_day)
                                          ? j->demand_tokens_per_day / 86400
                                          : j->rate_per_s * x->out_tps / x->rate_per_s;
                    /* Runs of a group: one instance, or P + D of them. */
                    int64_t runs = (int64_t)ceil(need_tps / x->out_tps - 1e-9);
                    if (runs < 1)
                        runs = 1;
                    int64_t per_run = x->pre > 0 ? x->pre + x->dec : 1;
                    x->instances = runs * per_run;
                    x->fleet_gpus = (double)(x->instances * g);
                    x->fleet_W = (double)runs * x->it_W;
                    x->fleet_meter_W = (double)runs * x->meter_W;
                    x->usd_per_day = x->fleet_gpus * 24 * x->usd_per_gpu_hour;
                    if (smallest[c] < 0 || x->fleet_gpus < L[c][smallest[c]].fleet_gpus)
                        smallest[c] = nl[c] - 1;
                    if (j->max_gpus != JOPT_NO_INT && x->fleet_gpus > (double)j->max_gpus) {
                        x->ok = 0;
                        snprintf(x->why, sizeof x->why,
                                 "the demand takes %lld instances, %.0f GPUs: over --max-gpus %lld",
                                 (long long)x->instances, x->fleet_gpus, (long long)j->max_gpus);
                        continue;
                    }
                    if (best[c] < 0 || objective_of(j, x) < objective_of(j, &L[c][best[c]]))
                        best[c] = nl[c] - 1;
                }
    }
    for (size_t c = 0; c < nc && !rc; c++)
        if (best[c] < 0 && smallest[c] >= 0) {
            const layout *x = &L[c][smallest[c]];
            char text[120];
            layout_text(x, text, sizeof text);
            rc = ms_errf(err, MS_EINVAL,
                         "no fleet of %s within --max-gpus %lld meets the demand: the smallest "
                         "takes %.0f GPUs (%lld instances of %s), %.1fx the limit",
                         names[c], (long long)j->max_gpus, x->fleet_gpus, (long long)x->instances,
                         text, x->fleet_gpus / (double)j->max_gpus);
        } else if (best[c] < 0) {
            rc = ms_errf(err, MS_EINVAL,
                         "no layout of %s meets --p99-ttft %g s and a p99 time per output token "
                         "of %g s (up to %lld GPUs an instance); the last tried: %s",
                         names[c], j->p99_ttft_s, p99_tpot, (long long)j->max_instance_gpus,
                         nl[c] ? L[c][nl[c] - 1].why : "none tried");
        }
    if (rc) {
        free(L);
        chip_db_free(db);
        return rc;
    }
    report_version(r, env->version);
    jopt_report_inputs(&jfleet_options, j, r);
    report_num(r, "p99_tpot_s", "p99 time per output token allowed", p99_tpot, "s");
    report_table(r, "best", "each chip's fleet at its best layout");
    for (size_t c = 0; c < nc; c++) {
        const layout *x = &L[c][best[c]];
        char text[120];
        layout_text(x, text, sizeof text);
        report_row(r);
        report_str(r, "chip", NULL, names[c]);
        report_str(r, "instance", NULL, text);
        report_int(r, "instances", NULL, x->instances, "");
        report_num(r, "gpus", "GPUs", x->fleet_gpus, "");
        report_num(r, "it_power_w", "IT power", x->fleet_W, "W");
        report_num(r, "facility_power_w", "at the meter", x->fleet_meter_W, "W");
        report_num(r, "usd_per_day", "cost a day", x->usd_per_day, "USD");
        report_num(r, "usd_per_million_output_tokens", "$ per 1M output", x->usd_per_M_out, "USD");
        report_num(r, "usd_per_million_input_tokens", "$ per 1M input", x->usd_per_M_in, "USD");
        report_num(r, "instance_rate_per_s", "requests/s an instance or group", x->rate_per_s,
                   "requests/s");
    }
    report_table_end(r);
    report_table(r, "layouts", "every layout tried");
    for (size_t c = 0; c < nc; c++)
        for (int k = 0; k < nl[c]; k++) {
            const layout *x = &L[c][k];
            char text[120];
            layout_text(x, text, sizeof text);
            report_row(r);
            report_str(r, "chip", NULL, names[c]);
            report_str(r, "instance", NULL, text);
            report_num(r, "instance_rate_per_s", "requests/s", x->ok ? x->rate_per_s : NAN,
                       "requests/s");
            report_num(r, "gpus", "fleet GPUs", x->ok ? x->fleet_gpus : NAN, "");
            report_num(r, "usd_per_day", "cost a day", x->ok ? x->usd_per_day : NAN, "USD");
            report_str(r, "why_not", "why none", x->ok ? "-" : x->why);
        }
    report_table_end(r);
    free(L);
    chip_db_free(db);
    return MS_OK;
}
