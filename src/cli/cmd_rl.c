/* megasim rl: reinforcement-learning post-training, rollouts on the
 * serving simulator and updates on the training one, joined by the
 * weight sync. The job is src/job/jrl; this is its command line. */
#include <stdio.h>

#include "cli/commands.h"
#include "io/gnuplot.h"
#include "job/jrl.h"
#include "report/report.h"

static void progress(void *ctx, double done, double total, const char *units)
{
    cli_progress_update(ctx, done, total, units, NULL);
}

static int run_rl(const cli_cmd *cmd, int argc, char **argv)
{
    jrl_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    gp_keep_plot_data(j.keep_plot_data);
    cli_progress bar;
    cli_progress_start(&bar, "rl");
    j.progress = progress;
    j.progress_ctx = &bar;
    ms_err err = {0};
    report *r = report_new();
    int rc = r ? jrl_run(&j, cli_env(), r, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    cli_progress_end(&bar);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_rl = {
    .name = "rl",
    .run = run_rl,
    .summary = "RL post-training (GRPO, PPO): rollouts, scoring, updates, weight sync; cost",
    .usage = "  megasim rl --model FILE --chip NAME --gpus N --prompts-per-step P\n"
             "             --samples-per-prompt G --input-len DIST --output-len DIST\n"
             "             [--length-schedule STEP:MEDIAN,...] [--steps N]\n"
             "             [--placement colocated|disaggregated --rollout-gpus N]\n"
             "             [--mode sync|async] [--rollout-tp N --rollout-dp N --rollout-ep N]\n"
             "             [training plan: --tp --pp --dp --ep --zero ...] [--plot FILE]\n",
    .details =
        "Each step generates G answers to each of P prompts with the current policy on the\n"
        "serving simulator (serve's Offline scenario: every prompt at time zero, a prompt's\n"
        "answers decoded as best-of-G chains on instances of the rollout layout, so the group\n"
        "with the longest answer holds the step), scores them (the reference policy's forward\n"
        "for the KL term unless --reference none, a reward model's with --reward model, the\n"
        "critic's with --algorithm ppo: each timed as a prefill of every sample), updates the\n"
        "policy with --updates-per-step steps of the training plan (megasim train at the\n"
        "batch's mean sample length) and moves the new weights to the rollout engines.\n"
        "Colocated, every GPU alternates, training's weights, gradients and optimizer state\n"
        "going to host memory and back around each rollout; disaggregated, a rollout pool and\n"
        "a training pool, the weights broadcast over the NICs; --mode async overlaps the\n"
        "rollout of step i with the update of step i-1 (one step off policy).\n"
        "A length schedule is piecewise constant: each stretch of steps is simulated once\n"
        "and its steps follow by arithmetic, so long loops stay fast; the report says how\n"
        "many stretches stand for how many steps.\n"
        "--rollout-chip puts the rollout pool on another chip (H20s rolling out for H800s).\n"
        "Scenario files (megasim run scenarios/X.json) set the same options.\n"
        "Example: megasim run scenarios/r1-zero-rl-h800.json --plot rl.png\n",
    .table = &jrl_options,
    .max_pos = 0,
};
