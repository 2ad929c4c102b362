/* Tests of jrl (src/job): the RL loop. Its arithmetic pinned to hand-worked
 * cases (the schedule, a step in each placement and mode, the weight
 * sync); a one-GPU loop whose rollout is icost's steps summed by hand and
 * whose switch is the training state over the host link; a group whose
 * longest answer holds the step; a disaggregated split whose idle times
 * are known; one-step-off over three steps; and the errors. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hw/chip.h"
#include "job/jrl.h"
#include "job/jtrain.h"
#include "model/modelfile.h"
#include "serve/icost.h"
#include "test_assert.h"
#include "test_json.h"

/* The tests run in the source tree. */
static jenv env = {.home = ".", .derived_path = NULL, .version = "test"};

#define CHIPS "tests/data/rl/chips.csv"
#define TINY  "tests/data/models/tiny_mla.json"

/* The rl job with argv's options, as JSON; NULL on failure, with *rc and
 * err set. */
static cJSON *rl_json(int argc, char **argv, int *rc, ms_err *err)
{
    jrl_job j = {0};
    int npos, help;
    *rc = jopt_parse(&jrl_options, &j, argc, argv, NULL, 0, &npos, &help, err);
    if (*rc)
        return NULL;
    report *r = report_new();
    cJSON *json = NULL;
    if (!(*rc = jrl_run(&j, &env, r, err)))
        json = report_json(r);
    report_free(r);
    return json;
}

#define RL_JSON(rc, err, ...)                                                                      \
    rl_json(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *), (char *[]){__VA_ARGS__}, rc, err)

/* The common options of a tiny loop on the test chip at its peaks. */
#define TINY_LOOP                                                                                  \
    "--chips", CHIPS, "--chip", "R1X", "--model", TINY, "--serve-arg", "--peak --ideal",           \
        "--train-arg", "--peak --ideal", "--price-per-gpu-hour", "2"

static void test_schedule(void)
{
    jrl_point p[8];
    int n;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(jrl_parse_schedule("0:500,100:2000:32768,250:8000", p, 8, &n, &err),
                          MS_OK);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(p[0].first_step == 0 && p[0].median == 500 && isinf(p[0].cap));
    CU_ASSERT(p[1].first_step == 100 && p[1].median == 2000 && p[1].cap == 32768);
    CU_ASSERT(p[2].first_step == 250 && p[2].median == 8000);
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"0:500,100:2000,100:3000", "steps must increase, but step 100 comes after step 100"},
        {"200:500,100:2000", "steps must increase"},
        {"-1:500", "STEP must be a whole number from 0"},
        {"1.5:500", "STEP must be a whole number"},
        {"0:0.5", "MEDIAN must be from 1"},
        {"0:500:12.5", "MAX must be a whole number"},
        {"0:500,", "ends with a comma"},
        {"0", "expected STEP:MEDIAN"},
        {"0:500:1:2", "expected STEP:MEDIAN"},
        {"0:x", "expected STEP:MEDIAN"},
        {"", "at least one"},
        {",0:5", "expected STEP:MEDIAN[:MAX] entries"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_err e = {0};
        int rc = jrl_parse_schedule(bad[i].text, p, 8, &n, &e);
        int ok = rc == MS_EUSAGE && strstr(e.msg, bad[i].says) != NULL;
        if (!ok)
            printf("\n  '%s': rc %d '%s', expected '%s'\n", bad[i].text, rc, e.msg, bad[i].says);
        CU_ASSERT(ok);
    }
}

/* R 10, switch 1, score 2, U 4, sync 0.5 (seconds). */
static void test_step_time(void)
{
    jrl_phases a = {.rollout_s = 10, .score_s = 2, .update_s = 4, .sync_s = 0.5, .switch_s = 1};
    jrl_step s = jrl_step_time(JRL_COLOCATED, JRL_SYNC, &a, NULL, 0);
    MS_ASSERT_EXACT(s.step_s, 17.5); /* 10 + 1 + 2 + 4 + 0.5 */
    MS_ASSERT_EXACT(s.rollout_busy_s, 10);
    MS_ASSERT_EXACT(s.train_busy_s, 6);
    a.switch_s = 0;
    s = jrl_step_time(JRL_DISAGGREGATED, JRL_SYNC, &a, NULL, 0);
    MS_ASSERT_EXACT(s.step_s, 16.5);
    MS_ASSERT_EXACT(s.rollout_idle_s, 6.5); /* waits for score, update and sync */
    MS_ASSERT_EXACT(s.train_idle_s, 10.5);  /* waits for the rollout and sync */
    /* one step off: the first is its rollout alone */
    s = jrl_step_time(JRL_DISAGGREGATED, JRL_ASYNC, &a, NULL, 0);
    MS_ASSERT_EXACT(s.step_s, 10);
    MS_ASSERT_EXACT(s.train_idle_s, 10);
    /* then max(R_i, score + U of step i - 1) + sync: the rollout is longer */
    s = jrl_step_time(JRL_DISAGGREGATED, JRL_ASYNC, &a, &a, 0);
    MS_ASSERT_EXACT(s.step_s, 10.5);
    MS_ASSERT_EXACT(s.rollout_idle_s, 0.5);
    MS_ASSERT_EXACT(s.train_idle_s, 4.5);
    /* the update longer than the rollout: the rollout pool waits */
    jrl_phases b = {.rollout_s = 3, .score_s = 2, .update_s = 4, .sync_s = 0.5};
    s = jrl_step_time(JRL_DISAGGREGATED, JRL_ASYNC, &b, &a, 0);
    MS_ASSERT_EXACT(s.step_s, 6.5);
    MS_ASSERT_EXACT(s.rollout_idle_s, 3.5);
    MS_ASSERT_EXACT(s.train_idle_s, 0.5);
    /* the last step drains the final batch's score and update */
    s = jrl_step_time(JRL_DISAGGREGATED, JRL_ASYNC, &b, &a, 1);
    MS_ASSERT_EXACT(s.step_s, 12.5);
    MS_ASSERT_EXACT(s.train_busy_s, 12);
}

static void test_sync(void)
{
    /* colocated: 1 GB a GPU over 100 GB/s links */
    MS_ASSERT_NEAR(jrl_sync_s(JRL_COLOCATED, 1e9, 8, 8, 1e11), 0.01, 1e-12);
    /* disaggregated: each rollout GPU receives 1 GB at 50 GB/s (0.02 s);
     * 16 trainers send the 32-GPU instance's 32 GB at 50 GB/s each (0.04 s) */
    MS_ASSERT_NEAR(jrl_sync_s(JRL_DISAGGREGATED, 1e9, 32, 16, 5e10), 0.04, 1e-12);
    MS_ASSERT_NEAR(jrl_sync_s(JRL_DISAGGREGATED, 1e9, 32, 64, 5e10), 0.02, 1e-12);
}

/* The train job's step and state for the tiny model on one R1X GPU. */
static void train_alone(int64_t seq, int64_t batch, double *step_s, double *state_B)
{
    char s[32], b[32];
    snprintf(s, sizeof s, "%lld", (long long)seq);
    snprintf(b, sizeof b, "%lld", (long long)batch);
    char *argv[] = {"--chips", CHIPS, "--chip",         "R1X", "--model", TINY,     "--gpus", "1",
                    "--seq",   s,     "--global-batch", b,     "--peak",  "--ideal"};
    jtrain_job j;
    int npos, help;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(jopt_parse(&jtrain_options, &j, sizeof argv / sizeof argv[0], argv, NULL,
                                     0, &npos, &help, &err),
                          MS_OK);
    report *r = report_new();
    jtrain_out o = {0};
    CU_ASSERT_EQUAL_FATAL(jtrain_run(&j, &env, r, &o, &err), MS_OK);
    *step_s = report_find_num(r, "step_time_s");
    *state_B = report_find_num(r, "weights") + report_find_num(r, "gradients") +
               report_find_num(r, "optimizer");
    jtrain_out_free(&o);
    report_free(r);
}

/* One prompt of 50 tokens, one answer of 20, on one GPU, no reference:
 * the rollout is a prefill of 50 then 19 decode steps at contexts 51..69,
 * each icost's roofline at the chip's peaks; the update one train step of
 * one sequence of 70; the switch the weights, gradients and optimizer
 * state to host and back at 50 GB/s; nothing to sync on one GPU. */
static void test_one_gpu_by_hand(void)
{
    int rc;
    ms_err err = {0};
    cJSON *json = RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "1", "--prompts-per-step", "1",
                          "--samples-per-prompt", "1", "--input-len", "fixed:50", "--output-len",
                          "fixed:20", "--reference", "none", "--steps", "10");
    if (!json)
        printf("\n  %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);

    model m;
    chip_db *db;
    const chip *c;
    char warn[MODELFILE_WARN_MAX];
    CU_ASSERT_EQUAL_FATAL(modelfile_load(TINY, &m, warn, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(chip_db_load(CHIPS, &db, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(chip_db_lookup(db, "R1X", &c, &err), MS_OK);
    icost_config p = {
        .tp = 1, .dp = 1, .ep = 1, .weight_prec = MS_BF16, .kv_prec = MS_BF16, .moe_imbalance = 1};
    icost *ic;
    CU_ASSERT_EQUAL_FATAL(icost_new(&m, c, NULL, &p, NULL, NULL, &ic, &err), MS_OK);
    icost_batch pre = {.prefill_tokens = 50, .prefill_keys = 50 * 51 / 2.0, .prefill_done = 1};
    double rollout = icost_eval(ic, &pre).time_s;
    for (int k = 0; k < 19; k++) {
        icost_batch b = {.decode_seqs = 1, .decode_ctx = 51 + k};
        rollout += icost_eval(ic, &b).time_s;
    }
    double update, state;
    train_alone(70, 1, &update, &state);
    double sw = 2 * state / 50e9;
    double step = rollout + sw + update;

    /* the engine counts whole picoseconds: half of one an iteration at most */
    MS_ASSERT_WITHIN(ms_json_num(json, "step.rollout_s"), rollout, 20 * 0.5e-12);
    MS_ASSERT_NEAR(ms_json_num(json, "step.update_s"), update, 1e-9);
    MS_ASSERT_NEAR(ms_json_num(json, "step.switch_s"), sw, 1e-9);
    MS_ASSERT_EXACT(ms_json_num(json, "step.sync_s"), 0);
    MS_ASSERT_EXACT(ms_json_num(json, "step.score_s"), 0);
    MS_ASSERT_NEAR(ms_json_num(json, "rl_step_time_s"), step, 1e-8);
    MS_ASSERT_NEAR(ms_json_num(json, "rollout_fraction"), rollout / step, 1e-6);
    MS_ASSERT_NEAR(ms_json_num(json, "time_s"), 10 * step, 1e-8);
    MS_ASSERT_NEAR(ms_json_num(json, "gpu_hours"), 10 * step / 3600, 1e-8);
    MS_ASSERT_NEAR(ms_json_num(json, "usd_total"), 2 * 10 * step / 3600, 1e-8);
    MS_ASSERT_EXACT(ms_json_num(json, "totals.tokens_generated"), 200);
    CU_ASSERT(state > 0 && sw > update); /* the tiny model's switch is its largest part */

    /* Two GPUs colocated, an instance each: every GPU gathers a whole copy
     * of the weights from the trainers over NVLink (R1X: 400 GB/s a way). */
    cJSON *two = RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "2", "--prompts-per-step", "2",
                         "--samples-per-prompt", "1", "--input-len", "fixed:50", "--output-len",
                         "fixed:20", "--reference", "none");
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    MS_ASSERT_NEAR(ms_json_num(two, "step.sync_s"), icost_weights_B_per_gpu(ic) / 400e9, 1e-9);
    cJSON_Delete(two);
    icost_free(ic);
    chip_db_free(db);
    cJSON_Delete(json);
}

static double rollout_of(const char *out_len, const char *samples)
{
    int rc;
    ms_err err = {0};
    cJSON *json = RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "1", "--prompts-per-step", "1",
                          "--samples-per-prompt", (char *)samples, "--input-len", "fixed:50",
                          "--output-len", (char *)out_len, "--reference", "none");
    if (!json)
        printf("\n  %s: %s\n", out_len, err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    double t = ms_json_num(json, "step.rollout_s");
    cJSON_Delete(json);
    return t;
}

/* A group of 16 answers of 10 or 300 tokens (each at even odds: all 16
 * short has odds 2^-16, and the seed is fixed) takes as long as its
 * longest: no shorter than one answer of 300 alone, no longer than 16
 * of 300, and far longer than 16 of 10. */
static void test_longest_answer_holds_the_step(void)
{
    double mixed = rollout_of("table:tests/data/rl/two_lengths.csv", "16");
    double one_long = rollout_of("fixed:300", "1");
    double all_long = rollout_of("fixed:300", "16");
    double all_short = rollout_of("fixed:10", "16");
    CU_ASSERT(mixed >= one_long);
    CU_ASSERT(mixed <= all_long * (1 + 1e-12));
    CU_ASSERT(mixed > 10 * all_short);
}

/* Two GPUs split one and one: the rollout pool idles while the trainer
 * updates and both wait for the sync; the trainer idles through the
 * rollout and the sync. The sync moves the rollout GPU's weights over its
 * 400 Gb/s NIC. */
static void test_disaggregated_idle(void)
{
    int rc;
    ms_err err = {0};
    cJSON *json = RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "2", "--placement", "disaggregated",
                          "--rollout-gpus", "1", "--prompts-per-step", "4", "--samples-per-prompt",
                          "2", "--input-len", "fixed:50", "--output-len", "fixed:40", "--reference",
                          "none", "--steps", "3");
    if (!json)
        printf("\n  %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    double R = ms_json_num(json, "step.rollout_s"), U = ms_json_num(json, "step.update_s"),
           S = ms_json_num(json, "step.sync_s"), T = ms_json_num(json, "rl_step_time_s");
    CU_ASSERT(R > 0 && U > 0 && S > 0);
    MS_ASSERT_EXACT(ms_json_num(json, "step.switch_s"), 0);
    MS_ASSERT_NEAR(T, R + U + S, 1e-12);
    MS_ASSERT_NEAR(ms_json_num(json, "pools.rollout_idle_s"), U + S, 1e-12);
    MS_ASSERT_NEAR(ms_json_num(json, "pools.train_idle_s"), R + S, 1e-12);
    MS_ASSERT_NEAR(ms_json_num(json, "pools.rollout_pool_busy"), R / T, 1e-12);
    cJSON_Delete(json);

    /* The same loop one step off: R + (max(R, U) + S) x 2 + U in all. */
    json = RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "2", "--placement", "disaggregated",
                   "--rollout-gpus", "1", "--prompts-per-step", "4", "--samples-per-prompt", "2",
                   "--input-len", "fixed:50", "--output-len", "fixed:40", "--reference", "none",
                   "--steps", "3", "--mode", "async");
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    MS_ASSERT_NEAR(ms_json_num(json, "time_s"), R + 2 * (fmax(R, U) + S) + U, 1e-12);
    cJSON_Delete(json);
}

/* PPO with a reward model, all three models the policy's: scoring is three
 * forwards where GRPO's is one, the update and the switch twice GRPO's
 * (the critic trains and moves as the policy does). */
static void test_ppo_by_hand(void)
{
    int rc;
    ms_err err = {0};
    cJSON *g =
        RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "1", "--prompts-per-step", "2",
                "--samples-per-prompt", "4", "--input-len", "fixed:50", "--output-len", "fixed:30");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    cJSON *p = RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "1", "--prompts-per-step", "2",
                       "--samples-per-prompt", "4", "--input-len", "fixed:50", "--output-len",
                       "fixed:30", "--algorithm", "ppo", "--reward", "model");
    if (!p)
        printf("\n  %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double score = ms_json_num(g, "step.score_s");
    CU_ASSERT(score > 0);
    MS_ASSERT_NEAR(ms_json_num(p, "step.score_s"), 3 * score, 1e-12);
    MS_ASSERT_NEAR(ms_json_num(p, "step.update_s"), 2 * ms_json_num(g, "step.update_s"), 1e-12);
    MS_ASSERT_NEAR(ms_json_num(p, "step.switch_s"), 2 * ms_json_num(g, "step.switch_s"), 1e-12);
    MS_ASSERT_EXACT(ms_json_num(p, "step.rollout_s"), ms_json_num(g, "step.rollout_s"));
    cJSON_Delete(g);
    cJSON_Delete(p);
}

static cJSON *split_run(const char *chip, const char *roll_chip)
{
    int rc;
    ms_err err = {0};
    char *argv[48] = {"--chips",
                      CHIPS,
                      "--model",
                      TINY,
                      "--serve-arg",
                      "--peak --ideal",
                      "--train-arg",
                      "--peak --ideal",
                      "--price-per-gpu-hour",
                      "2",
                      "--gpus",
                      "2",
                      "--placement",
                      "disaggregated",
                      "--rollout-gpus",
                      "1",
                      "--prompts-per-step",
                      "4",
                      "--samples-per-prompt",
                      "2",
                      "--input-len",
                      "fixed:50",
                      "--output-len",
                      "fixed:40",
                      "--reference",
                      "none",
                      "--chip",
                      (char *)chip};
    int argc = 28;
    if (roll_chip) {
        argv[argc++] = "--rollout-chip";
        argv[argc++] = (char *)roll_chip;
        argv[argc++] = "--rollout-price-per-gpu-hour";
        argv[argc++] = "1";
    }
    cJSON *json = rl_json(argc, argv, &rc, &err);
    if (!json)
        printf("\n  %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    return json;
}

/* A rollout pool of another chip: its rollout and sync are those of a
 * loop all on that chip (the sync at the slower NIC, R1Y's 200 Gb/s), its
 * update that of a loop all on the training chip; each pool at its own
 * price, R1Y's GPU-hour at $1 and R1X's at $2. */
static void test_rollout_chip(void)
{
    cJSON *mixed = split_run("R1X", "R1Y"), *x = split_run("R1X", NULL),
          *y = split_run("R1Y", NULL);
    MS_ASSERT_EXACT(ms_json_num(mixed, "step.rollout_s"), ms_json_num(y, "step.rollout_s"));
    MS_ASSERT_EXACT(ms_json_num(mixed, "step.sync_s"), ms_json_num(y, "step.sync_s"));
    MS_ASSERT_EXACT(ms_json_num(mixed, "step.update_s"), ms_json_num(x, "step.update_s"));
    CU_ASSERT(ms_json_num(y, "step.rollout_s") != ms_json_num(x, "step.rollout_s"));
    double t = ms_json_num(mixed, "time_s");
    MS_ASSERT_NEAR(ms_json_num(mixed, "usd_total"), t / 3600 * (1 * 1 + 1 * 2), 1e-12);
    MS_ASSERT_NEAR(ms_json_num(x, "usd_total"), ms_json_num(x, "time_s") / 3600 * 4, 1e-12);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(mixed, "summary")->valuestring,
                           "RL on 1 x R1Y rolling out, 1 x R1X training: disaggregated, "
                           "synchronous, GRPO");
    cJSON_Delete(mixed);
    cJSON_Delete(x);
    cJSON_Delete(y);
}

/* A length schedule: each stretch simulated once, its steps counted. */
static void test_stretches(void)
{
    int rc;
    ms_err err = {0};
    cJSON *json = RL_JSON(&rc, &err, TINY_LOOP, "--gpus", "1", "--prompts-per-step", "2",
                          "--samples-per-prompt", "4", "--input-len", "fixed:20", "--output-len",
                          "lognormal:30:0.5:200", "--length-schedule", "5:80,8:160:400", "--steps",
                          "10", "--reference", "none");
    if (!json)
        printf("\n  %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    MS_ASSERT_EXACT(ms_json_num(json, "totals.simulated_stretches"), 3);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(json, "stretches");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(t), 3);
    double total = 0, prev_roll = 0;
    static const double first[] = {0, 5, 8}, steps[] = {5, 3, 2};
    static const char *const spec[] = {"lognormal:30:0.5:200", "lognormal:80:0.5:200",
                                       "lognormal:160:0.5:400"};
    for (int k = 0; k < 3; k++) {
        const cJSON *row = cJSON_GetArrayItem(t, k);
        MS_ASSERT_EXACT(ms_json_num(row, "first_step"), first[k]);
        MS_ASSERT_EXACT(ms_json_num(row, "steps"), steps[k]);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(row, "output_len")->valuestring,
                               spec[k]);
        double roll = ms_json_num(row, "rollout_s");
        CU_ASSERT(roll > prev_roll); /* longer answers, longer rollouts */
        prev_roll = roll;
        total += steps[k] * (roll + ms_json_num(row, "update_s") + ms_json_num(row, "switch_s") +
                             ms_json_num(row, "sync_s"));
    }
    MS_ASSERT_NEAR(ms_json_num(json, "time_s"), total, 1e-12);
    cJSON_Delete(json);
}

static void test_errors(void)
{
    static const struct {
        char *argv[8];
        int code;
        const char *says;
    } cases[] = {
        {{"--placement", "disaggregated", "--rollout-gpus", "8"},
         MS_EUSAGE,
         "--rollout-gpus 8 of --gpus 8 leaves no GPU to train"},
        {{"--placement", "disaggregated"}, MS_EUSAGE, "--rollout-gpus: --placement disaggregated"},
        {{"--rollout-gpus", "4"}, MS_EUSAGE, "only with --placement disaggregated"},
        {{"--mode", "async"}, MS_EUSAGE, "one-step-off needs --placement disaggregated"},
        {{"--length-schedule", "0:100,50:200,40:300"}, MS_EUSAGE, "steps must increase"},
        {{"--length-schedule", "0:100", "--output-len", "fixed:30"},
         MS_EUSAGE,
         "--output-len must be lognormal"},
        {{"--updates-per-step", "3"}, MS_EUSAGE, "must split into equal minibatches"},
        {{"--rollout-tp", "3"}, MS_EUSAGE, "does not divide the rollout pool's 8"},
        {{"--chip", "NOHOST"}, MS_EUSAGE, "--host-GBps: the NOHOST has no host link figure"},
        {{"--train-arg", "--pp 3"}, MS_EUSAGE, "policy update on 8 x R1X"},
        {{"--serve-arg", "--no-such-option 1"}, MS_EUSAGE, "rollout: "},
        {{"--critic-model", TINY}, MS_EUSAGE, "only with --algorithm ppo"},
        {{"--rollout-chip", "R1Y"}, MS_EUSAGE, "--rollout-chip: only with --placement"},
        {{"--rollout-price-per-gpu-hour", "1"},
         MS_EUSAGE,
         "--rollout-price-per-gpu-hour: only with --placement"},
        {{"--placement", "disaggregated", "--rollout-gpus", "4", "--rollout-chip", "Z9"},
         MS_ENOTFOUND,
         "Z9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[40] = {"--chips",
                          CHIPS,
                          "--chip",
                          "R1X",
                          "--model",
                          TINY,
                          "--gpus",
                          "8",
                          "--prompts-per-step",
                          "2",
                          "--samples-per-prompt",
                          "4",
                          "--input-len",
                          "fixed:20",
                          "--output-len",
                          "lognormal:30:0.5"};
        int argc = 16;
        for (int k = 0; k < 8 && cases[i].argv[k]; k++)
            argv[argc++] = cases[i].argv[k];
        int rc;
        ms_err err = {0};
        cJSON *json = rl_json(argc, argv, &rc, &err);
        int ok = !json && rc == cases[i].code && strstr(err.msg, cases[i].says) != NULL;
        if (!ok)
            printf("\n  case %zu: code %d (expected %d), '%s' (expected '%s')\n", i, rc,
                   cases[i].code, err.msg, cases[i].says);
        CU_ASSERT(ok);
        cJSON_Delete(json);
    }
    /* zero samples: the option's range */
    jrl_job j = {0};
    ms_err err = {0};
    CU_ASSERT_EQUAL(jopt_defaults(&jrl_options, &j, &err), MS_OK);
    CU_ASSERT_EQUAL(jopt_set(&jrl_options, &j, "samples-per-prompt", "0", &err), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--samples-per-prompt"));
}

static CU_TestInfo tests[] = {
    {"the length schedule, good and bad", test_schedule},
    {"a step in each placement and mode, by hand", test_step_time},
    {"the weight sync, by hand", test_sync},
    {"a one-GPU loop by hand", test_one_gpu_by_hand},
    {"the longest answer of a group holds the step", test_longest_answer_holds_the_step},
    {"a disaggregated split's idle time", test_disaggregated_idle},
    {"PPO with a reward model, by hand from GRPO", test_ppo_by_hand},
    {"a rollout pool of another chip", test_rollout_chip},
    {"stretches of a length schedule", test_stretches},
    {"errors", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jrl", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jrl");
}
