/* megasim model FILE: what a transformer costs: parameters, FLOPs per
 * token, KV cache, training memory; and its KV cache as MHA, GQA and MLA
 * side by side. The work is the model job (src/job/jmodel); this is its
 * command line. */
#include <stdio.h>

#include "cli/commands.h"
#include "job/jmodel.h"
#include "report/report.h"

static int run_model(const cli_cmd *cmd, int argc, char **argv)
{
    jmodel_job j = {0};
    const char *pos[1];
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, pos, &npos);
    if (ex >= 0)
        return ex;
    if (npos == 1 && j.model)
        return cli_usage_error(cmd, "name the model file once: as the argument or with --model");
    if (npos == 1)
        j.model = pos[0];
    char warn[JMODEL_WARN_MAX];
    j.warn = warn;
    ms_err err = {0};
    report *r = report_new();
    int rc = r ? jmodel_run(&j, cli_env(), r, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (r && warn[0]) /* fields the importer did not understand */
        fprintf(stderr, "%s", warn);
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_model = {
    .name = "model",
    .run = run_model,
    .summary = "what a transformer costs: parameters, FLOPs, KV cache, training memory",
    .usage =
        "  megasim model FILE [--context N] [--precision PREC] [--recipe NAME]\n"
        "                     [--compare-attention] [--ops [--phase P] [--batch N]] [--json]\n",
    .details = "FILE is a Hugging Face config.json as published (DeepSeek-V2/V3, Llama, Mistral,\n"
               "Qwen2/3, Mixtral, Qwen3-MoE, GPT-2, GPT-NeoX layouts) or a megasim model JSON\n"
               "(see workloads/README.md). Fields the importer does not understand are listed\n"
               "on stderr.\n\n"
               "params_active counts the parameters one token touches, input embedding included;\n"
               "the figure without it is printed too. FLOPs count 2 per multiply-add; training is\n"
               "3x the forward pass, 4x with full activation recompute.\n\n"
               "Example:\n"
               "  megasim model workloads/deepseek-v3/config.json --compare-attention\n",
    .table = &jmodel_options,
    .max_pos = 1,
};
