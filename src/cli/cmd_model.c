/* megasim model FILE: what a transformer costs: parameters, FLOPs per
 * token, KV cache, training memory; and its KV cache as MHA, GQA and MLA
 * side by side. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "model/modelfile.h"
#include "model/mops.h"

static const cli_opt model_opts[] = {
    {"--context", "N",
     "tokens of context: attended in decode, sequence length in training (default 4096)"},
    {"--precision", "PREC", "precision of the KV cache (default bf16)"},
    {"--recipe", "NAME",
     "training precision recipe for memory: bf16, fp8, fp8-tensor or mxfp8 (default bf16)"},
    {"--compare-attention", NULL, "the KV cache of this model as MHA, GQA and MLA side by side"},
    {"--ops", NULL, "list one layer's operations: GEMM shapes, FLOPs, bytes"},
    {"--phase", "PHASE", "with --ops: prefill or decode (default decode)"},
    {"--batch", "N", "with --ops: sequences in flight (default 1)"},
    {"--json", NULL, "print JSON"},
};

/* A parameter count as people write it: "671.03 B", "44.04 M". */
static const char *count(char *buf, size_t cap, double v)
{
    if (v >= 1e9)
        snprintf(buf, cap, "%.2f B", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, cap, "%.2f M", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.1f k", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
    return buf;
}

/* A one-line description: "MLA, MoE 256+1 experts (8 per token), 61 layers". */
static void describe(const model *m, char *buf, size_t cap)
{
    char attn[96], ffn[128];
    if (m->attn == MODEL_ATTN_MLA)
        snprintf(attn, sizeof attn, "MLA (%lld heads, kv_lora_rank %lld, rope %lld)",
                 (long long)m->num_heads, (long long)m->kv_lora_rank,
                 (long long)m->qk_rope_head_dim);
    else
        snprintf(attn, sizeof attn, "%s (%lld heads, %lld KV heads of %lld)",
                 m->num_kv_heads == 1        ? "MQA"
                 : m->attn == MODEL_ATTN_MHA ? "MHA"
                                             : "GQA",
                 (long long)m->num_heads, (long long)m->num_kv_heads, (long long)m->head_dim);
    if (m->num_experts > 0)
        snprintf(ffn, sizeof ffn,
                 "MoE %lld routed + %lld shared experts, %lld per token, %lld of %lld layers",
                 (long long)m->num_experts, (long long)m->num_shared_experts,
                 (long long)m->experts_per_token, (long long)model_moe_layers(m),
                 (long long)m->num_layers);
    else
        snprintf(ffn, sizeof ffn, "dense, %lld layers", (long long)m->num_layers);
    snprintf(buf, cap, "%s; %s; hidden %lld, vocab %lld", attn, ffn, (long long)m->hidden_size,
             (long long)m->vocab_size);
}

/* An alternative attention for the same model, for --compare-attention. */
typedef struct attn_alt {
    char label[64];
    double elems; /* per token per layer */
} attn_alt;

static size_t attention_alternatives(const model *m, attn_alt *alt, int *mha, int *gqa, int *mla)
{
    double nh = (double)m->num_heads;
    double hd = m->attn == MODEL_ATTN_MLA ? (double)m->v_head_dim : (double)m->head_dim;
    size_t n = 0;
    *mha = (int)n;
    snprintf(alt[n].label, sizeof alt[n].label, "MHA %lldx%lld", (long long)nh, (long long)hd);
    alt[n++].elems = 2 * nh * hd;
    *gqa = (int)n;
    double g = m->attn == MODEL_ATTN_GQA ? (double)m->num_kv_heads : fmin(8, nh);
    snprintf(alt[n].label, sizeof alt[n].label, "GQA %lld KV heads%s", (long long)g,
             m->attn == MODEL_ATTN_GQA ? " (the model's)" : "");
    alt[n++].elems = 2 * g * hd;
    *mla = (int)n;
    if (m->attn == MODEL_ATTN_MLA) {
        snprintf(alt[n].label, sizeof alt[n].label, "MLA %lld+%lld (the model's)",
                 (long long)m->kv_lora_rank, (long long)m->qk_rope_head_dim);
        alt[n++].elems = (double)(m->kv_lora_rank + m->qk_rope_head_dim);
        /* What MLA would cache without absorption: full keys and values. */
        snprintf(alt[n].label, sizeof alt[n].label, "MLA keys+values decompressed");
        alt[n++].elems = nh * (double)(m->qk_nope_head_dim + m->qk_rope_head_dim + m->v_head_dim);
    } else {
        /* DeepSeek-V3's proportions: latent 4 head dims, rope half of one. */
        snprintf(alt[n].label, sizeof alt[n].label, "MLA %lld+%lld (V3 ratios, assumed)",
                 (long long)(4 * hd), (long long)(hd / 2));
        alt[n++].elems = 4 * hd + hd / 2;
    }
    return n;
}

/* Appends one layer's ops (dense and, if any, MoE) to json, or prints them. */
static int layer_ops(const model *m, mops_phase phase, int64_t batch, int64_t context, ms_prec prec,
                     cJSON *json, ms_err *err)
{
    for (int moe = 0; moe <= 1; moe++) {
        if (moe ? m->num_experts == 0 : model_moe_layers(m) == m->num_layers)
            continue;
        mop ops[MOPS_MAX];
        size_t n;
        int rc = mops_layer(m, moe, phase, batch, context, prec, ops, &n, err);
        if (rc)
            return rc;
        if (json) {
            cJSON *layer = cJSON_CreateObject();
            cJSON_AddStringToObject(layer, "layer", moe ? "moe" : "dense");
            cJSON *arr = cJSON_AddArrayToObject(layer, "ops");
            for (size_t i = 0; i < n; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", ops[i].name);
                cJSON_AddStringToObject(o, "kind", ops[i].kind);
                cli_json_num(o, "m", ops[i].m);
                cli_json_num(o, "n", ops[i].n);
                cli_json_num(o, "k", ops[i].k);
                cli_json_num(o, "count", ops[i].count);
                cli_json_num(o, "flops", ops[i].flops);
                cli_json_num(o, "bytes", ops[i].bytes);
                cJSON_AddItemToArray(arr, o);
            }
            cJSON_AddItemToArray(json, layer);
            continue;
        }
        printf("\nOne %s layer, %s, %lld sequence%s, context %lld, %s:\n", moe ? "MoE" : "dense",
               mops_phase_name(phase), (long long)batch, batch > 1 ? "s" : "", (long long)context,
               ms_prec_name(prec));
        printf("  %-20s %-9s %10s %8s %8s %8s %14s %12s %10s\n", "op", "kind", "M", "N", "K",
               "count", "FLOPs", "bytes", "FLOP/B");
        for (size_t i = 0; i < n; i++) {
            char f[32], b[32];
            if (strcmp(ops[i].kind, "gemm") == 0)
                printf("  %-20s %-9s %10.4g %8.0f %8.0f %8.4g", ops[i].name, ops[i].kind, ops[i].m,
                       ops[i].n, ops[i].k, ops[i].count);
            else
                printf("  %-20s %-9s %10s %8s %8s %8s", ops[i].name, ops[i].kind, "", "", "", "");
            printf(" %14s %12s %10.4g\n", cli_si(f, sizeof f, ops[i].flops, "FLOP"),
                   cli_si(b, sizeof b, ops[i].bytes, "B"), ops[i].flops / ops[i].bytes);
        }
    }
    return MS_OK;
}

static int run_model(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    if (a.npos != 1)
        return cli_usage_error(cmd, "name one model file, e.g. 'megasim model "
                                    "workloads/deepseek-v3/config.json'");
    ms_err err = {0};
    int64_t context = 4096;
    ms_prec prec = MS_BF16;
    const char *recipe_name = cli_get(&a, "--recipe") ? cli_get(&a, "--recipe") : "bf16";
    const model_recipe *recipe = model_recipe_find(recipe_name);
    if (cli_get(&a, "--context") &&
        cli_parse_int("--context", cli_get(&a, "--context"), 1, &context, &err))
        return cli_fail(cmd, &err);
    if (cli_get(&a, "--precision") && ms_prec_parse(cli_get(&a, "--precision"), &prec))
        return cli_usage_error(cmd, "--precision '%s': expected one of %s",
                               cli_get(&a, "--precision"), ms_prec_list());
    if (!recipe)
        return cli_usage_error(cmd, "--recipe '%s': expected one of %s", recipe_name,
                               model_recipe_list());

    mops_phase phase = MOPS_DECODE;
    int64_t batch = 1;
    const char *ph = cli_get(&a, "--phase");
    if (ph && strcmp(ph, "prefill") == 0)
        phase = MOPS_PREFILL;
    else if (ph && strcmp(ph, "decode") != 0)
        return cli_usage_error(cmd, "--phase '%s': expected prefill or decode", ph);
    if (cli_get(&a, "--batch") && cli_parse_int("--batch", cli_get(&a, "--batch"), 1, &batch, &err))
        return cli_fail(cmd, &err);
    if ((ph || cli_has(&a, "--batch")) && !cli_has(&a, "--ops"))
        return cli_usage_error(cmd, "--phase and --batch go with --ops");

    model m;
    char warn[MODELFILE_WARN_MAX], path[4096];
    if (modelfile_load(cli_data_path(a.pos[0], path, sizeof path), &m, warn, &err))
        return cli_fail(cmd, &err);
    if (warn[0])
        fprintf(stderr, "%s", warn);

    model_params p = model_param_counts(&m);
    model_train_flops tr = model_training_flops(&m, context);
    model_flops dec = model_forward_flops(&m, (double)context, 1);
    model_memory mem = model_training_memory(&m, recipe);
    double kv_tok = model_kv_bytes_per_token(&m, prec);
    double kv_layer = model_kv_elems_per_token_layer(&m) * ms_prec_bytes(prec);
    attn_alt alt[4];
    int imha, igqa, imla;
    size_t nalt = attention_alternatives(&m, alt, &imha, &igqa, &imla);

    if (cli_has(&a, "--json")) {
        cJSON *o = cJSON_CreateObject();
        char d[256];
        describe(&m, d, sizeof d);
        cJSON_AddStringToObject(o, "model", m.name);
        cJSON_AddStringToObject(o, "description", d);
        cJSON_AddStringToObject(o, "attention", model_attn_name(m.attn));
        cli_json_num(o, "context", (double)context);
        cJSON_AddStringToObject(o, "precision", ms_prec_name(prec));
        cli_json_num(o, "params_total", p.total);
        cli_json_num(o, "params_active", p.active);
        cJSON_AddStringToObject(o, "params_active_convention",
                                "per token, input embedding included; "
                                "params_active_excl_embedding excludes it");
        cli_json_num(o, "params_active_excl_embedding", p.active_excl_embedding);
        cli_json_num(o, "params_matmul_active", p.matmul_active);
        cli_json_num(o, "params_embedding", p.embedding);
        cli_json_num(o, "params_head", p.head);
        cli_json_num(o, "params_attention", p.attention);
        cli_json_num(o, "params_ffn_dense", p.ffn_dense);
        cli_json_num(o, "params_moe", p.moe);
        cli_json_num(o, "params_norms", p.norms);
        cli_json_num(o, "params_mtp", p.mtp);
        cli_json_num(o, "params_mtp_active", p.mtp_active);
        cJSON *layer = cJSON_AddObjectToObject(o, "per_layer");
        cli_json_num(layer, "attention_params", model_attn_params(&m));
        cli_json_num(layer, "dense_ffn_params", m.ffn_dim ? model_dense_ffn_params(&m) : NAN);
        cli_json_num(layer, "moe_params", m.num_experts ? model_moe_params(&m) : NAN);
        cli_json_num(layer, "moe_active_params", m.num_experts ? model_moe_active_params(&m) : NAN);
        cli_json_num(layer, "expert_params", m.num_experts ? model_expert_params(&m) : NAN);
        cli_json_num(layer, "kv_cache_bytes_per_token", kv_layer);
        cli_json_num(o, "flops_per_token_forward", tr.forward.total);
        cli_json_num(o, "flops_per_token_forward_gemm", tr.forward.gemm);
        cli_json_num(o, "flops_per_token_forward_attention", tr.forward.attention);
        cli_json_num(o, "flops_per_token_forward_other", tr.forward.other);
        cli_json_num(o, "flops_per_token_training", tr.training);
        cli_json_num(o, "flops_per_token_training_recompute", tr.training_recompute);
        cli_json_num(o, "flops_per_token_decode", dec.total);
        cli_json_num(o, "flops_per_token_decode_attention", dec.attention);
        cli_json_num(o, "kv_cache_bytes_per_token", kv_tok);
        cli_json_num(o, "kv_cache_bytes_at_context", kv_tok * (double)context);
        cJSON *mo = cJSON_AddObjectToObject(o, "training_memory");
        cJSON_AddStringToObject(mo, "recipe", recipe->name);
        cJSON_AddStringToObject(mo, "recipe_source", recipe->source);
        cli_json_num(mo, "weights_bytes", mem.weights_B);
        cli_json_num(mo, "grads_bytes", mem.grads_B);
        cli_json_num(mo, "optimizer_bytes", mem.optimizer_B);
        cli_json_num(mo, "activation_bytes_per_token", mem.activations_B_per_token);
        cli_json_num(mo, "activation_bytes_per_token_recompute",
                     mem.activations_recompute_B_per_token);
        if (cli_has(&a, "--compare-attention")) {
            cJSON *arr = cJSON_AddArrayToObject(o, "attention_comparison");
            for (size_t i = 0; i < nalt; i++) {
                cJSON *x = cJSON_CreateObject();
                double bytes = alt[i].elems * (double)m.num_layers * ms_prec_bytes(prec);
                cJSON_AddStringToObject(x, "attention", alt[i].label);
                cli_json_num(x, "kv_cache_bytes_per_token", bytes);
                cli_json_num(x, "ratio_to_mha", alt[i].elems / alt[imha].elems);
                cli_json_num(x, "ratio_to_gqa", alt[i].elems / alt[igqa].elems);
                cJSON_AddItemToArray(arr, x);
            }
        }
        if (cli_has(&a, "--ops")) {
            cJSON *ops = cJSON_AddArrayToObject(o, "layer_ops");
            cJSON_AddStringToObject(o, "ops_phase", mops_phase_name(phase));
            cli_json_num(o, "ops_batch", (double)batch);
            if (layer_ops(&m, phase, batch, context, prec, ops, &err)) {
                cJSON_Delete(o);
                return cli_fail(cmd, &err);
            }
        }
        return cli_json_emit(o, &err) ? cli_fail(cmd, &err) : CLI_EXIT_OK;
    }

    char d[256], s1[32], s2[32], s3[32], s4[32];
    describe(&m, d, sizeof d);
    printf("%s: %s\n\n", m.name, d);
    printf("Parameters\n");
    printf("  total                %12s\n", count(s1, 32, p.total));
    printf("  active per token     %12s   (params_active: input embedding included)\n",
           count(s1, 32, p.active));
    printf("                       %12s   input embedding excluded (a gather, no FLOPs)\n",
           count(s1, 32, p.active_excl_embedding));
    printf("  embedding %s, head %s, attention %s, dense FFN %s, MoE %s, norms %s\n",
           count(s1, 32, p.embedding), count(s2, 32, p.head), count(s3, 32, p.attention),
           count(s4, 32, p.ffn_dense), count(d, 32, p.moe), count(d + 32, 32, p.norms));
    if (p.mtp > 0)
        printf("  plus %lld MTP module%s: %s unique (%s per token; embedding and head shared)\n",
               (long long)m.mtp_layers, m.mtp_layers > 1 ? "s" : "", count(s1, 32, p.mtp),
               count(s2, 32, p.mtp_active));
    printf("  per layer: attention %s", count(s1, 32, model_attn_params(&m)));
    if (m.ffn_dim > 0 && model_moe_layers(&m) < m.num_layers)
        printf(", dense FFN %s", count(s1, 32, model_dense_ffn_params(&m)));
    if (m.num_experts > 0)
        printf(", MoE %s (%s active), one expert %s", count(s1, 32, model_moe_params(&m)),
               count(s2, 32, model_moe_active_params(&m)), count(s3, 32, model_expert_params(&m)));
    printf("\n\nFLOPs per token (context %lld)\n", (long long)context);
    printf("  forward, training form   %s = GEMM %s + attention %s + other %s\n",
           cli_si(s1, 32, tr.forward.total, "FLOP"), cli_si(s2, 32, tr.forward.gemm, ""),
           cli_si(s3, 32, tr.forward.attention, ""), cli_si(s4, 32, tr.forward.other, ""));
    printf("                           (causal: %.1f keys attended on average)\n",
           ((double)context + 1) / 2);
    printf("  training (fwd + bwd)     %s; with full recompute %s\n",
           cli_si(s1, 32, tr.training, "FLOP"), cli_si(s2, 32, tr.training_recompute, "FLOP"));
    printf("  decode, one new token    %s (attention %s over %lld cached tokens%s)\n",
           cli_si(s1, 32, dec.total, "FLOP"), cli_si(s2, 32, dec.attention, ""), (long long)context,
           m.attn == MODEL_ATTN_MLA ? ", MLA absorbed form" : "");
    printf("\nKV cache (%s)\n", ms_prec_name(prec));
    printf("  per token per layer %s; per token %s; one sequence of %lld tokens %s\n",
           cli_si(s1, 32, kv_layer, "B"), cli_si(s2, 32, kv_tok, "B"), (long long)context,
           cli_si(s3, 32, kv_tok * (double)context, "B"));
    if (cli_has(&a, "--compare-attention")) {
        printf("\n  %-36s %14s %12s %10s %10s\n", "same model with", "KV bytes/token", "at context",
               "vs MHA", "vs GQA");
        for (size_t i = 0; i < nalt; i++) {
            double bytes = alt[i].elems * (double)m.num_layers * ms_prec_bytes(prec);
            printf("  %-36s %14.0f %12s %9.2f%% %9.1f%%\n", alt[i].label, bytes,
                   cli_si(s1, 32, bytes * (double)context, "B"),
                   100 * alt[i].elems / alt[imha].elems, 100 * alt[i].elems / alt[igqa].elems);
        }
        printf("  MLA saves %.1f%% of MHA's cache and %.1f%% of GQA's.\n",
               100 * (1 - alt[imla].elems / alt[imha].elems),
               100 * (1 - alt[imla].elems / alt[igqa].elems));
    }
    printf("\nTraining memory, %s recipe (whole model, before any sharding)\n", recipe->name);
    printf("  weights %s, gradients %s, optimizer %s\n", cli_si(s1, 32, mem.weights_B, "B"),
           cli_si(s2, 32, mem.grads_B, "B"), cli_si(s3, 32, mem.optimizer_B, "B"));
    printf("  activations per token %s (no recompute, estimate), %s (full recompute)\n",
           cli_si(s1, 32, mem.activations_B_per_token, "B"),
           cli_si(s2, 32, mem.activations_recompute_B_per_token, "B"));
    printf("  recipe: %s\n", recipe->source);
    if (cli_has(&a, "--ops") && layer_ops(&m, phase, batch, context, prec, NULL, &err))
        return cli_fail(cmd, &err);
    return CLI_EXIT_OK;
}

const cli_cmd cmd_model = {
    .name = "model",
    .run = run_model,
    .summary = "what a transformer costs: parameters, FLOPs, KV cache, training memory",
    .usage =
        "  megasim model FILE [--context N] [--precision PREC] [--recipe bf16|fp8]\n"
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
    .opts = model_opts,
    .nopts = sizeof model_opts / sizeof model_opts[0],
    .max_pos = 1,
};
