/* jmodel: the model job. What a transformer costs, from its config file:
 * parameters (total, per token, per layer), FLOPs per token (forward,
 * training, decode), KV cache, training memory under a precision recipe;
 * optionally its KV cache as MHA, GQA and MLA side by side, and one
 * layer's operations with GEMM shapes, FLOPs and bytes. Pure arithmetic
 * over the model: no chip, no engine. */
#ifndef MS_JMODEL_H
#define MS_JMODEL_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "model/modelfile.h"
#include "report/report.h"

/* Room for the warnings jmodel_run hands back (modelfile's). */
#define JMODEL_WARN_MAX MODELFILE_WARN_MAX

typedef struct jmodel_job {
    const char *model;     /* the model file (the command's argument): found as jenv_find does */
    int64_t context;       /* tokens: attended in decode, sequence length in training */
    const char *precision; /* of the KV cache and of --ops, as ms_prec_parse reads it */
    const char *recipe;    /* a model_recipe name, for training memory */
    int compare_attention;
    int ops;
    int phase; /* "prefill|decode" index, as mops_phase counts them */
    int64_t batch;
    int json;
    jopt_given_set given;
    /* Not an option. Out: the model file's warnings (fields the importer
     * did not understand), one per line, "" when none or when loading
     * failed; caller-owned, JMODEL_WARN_MAX bytes. NULL: not kept. */
    char *warn;
} jmodel_job;

extern const jopt_table jmodel_options;

/* Loads j->model and fills r with the inputs and the figures: the model's
 * name and description, parameter counts (top level), the group
 * "per_layer", FLOPs per token and KV cache (top level), the group
 * "training_memory"; with compare_attention the table
 * "attention_comparison"; with ops "ops_phase", "ops_batch" and the table
 * "layer_ops" (a row per layer kind, each with its table "ops"). Counts
 * are plain numbers, FLOPs in FLOP, sizes in bytes. Fails with MS_EUSAGE
 * for a missing file name or a bad option value, or with modelfile's error
 * naming the file and field; r is then incomplete and not to be rendered. */
int jmodel_run(const jmodel_job *j, const jenv *env, report *r, ms_err *err);

#endif
