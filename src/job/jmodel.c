/* jmodel: see jmodel.h. */
#include "job/jmodel.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "model/mops.h"

static const jopt rows[] = {
    {"model", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jmodel_job, model),
     "the model file, when not given as the argument"},
    {"context", JOPT_INT, "N", NULL, "4096", 1, 1e12, NULL, offsetof(jmodel_job, context),
     "tokens of context: attended in decode, sequence length in training"},
    {"precision", JOPT_STR, "PREC", NULL, "bf16", NAN, NAN, NULL, offsetof(jmodel_job, precision),
     "precision of the KV cache and of --ops: fp64, fp32, tf32, bf16 (or fp16), fp8, fp4, int8"},
    {"recipe", JOPT_STR, "NAME", NULL, "bf16", NAN, NAN, NULL, offsetof(jmodel_job, recipe),
     "training precision recipe for memory: bf16, fp8, fp8-tensor or mxfp8"},
    {"compare-attention", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL,
     offsetof(jmodel_job, compare_attention),
     "the KV cache of this model as MHA, GQA and MLA side by side"},
    {"ops", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jmodel_job, ops),
     "list one layer's operations: GEMM shapes, FLOPs, bytes"},
    {"phase", JOPT_CHOICE, "PHASE", NULL, "decode", NAN, NAN, "prefill|decode",
     offsetof(jmodel_job, phase), "with --ops: the prompt's prefill or one decode step"},
    {"batch", JOPT_INT, "N", NULL, "1", 1, 1e12, NULL, offsetof(jmodel_job, batch),
     "with --ops: sequences in flight"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jmodel_job, json), "print JSON"},
};

const jopt_table jmodel_options = {.rows = rows,
                                   .n = sizeof rows / sizeof rows[0],
                                   .track_given = 1,
                                   .given_off = offsetof(jmodel_job, given)};

/* What the report is made from: the model and every figure of it. */
typedef struct figures {
    model m;
    int64_t context;
    ms_prec prec;
    const model_recipe *recipe;
    model_params p;
    model_train_flops tr;
    model_flops dec;
    model_memory mem;
    double kv_tok, kv_layer; /* bytes of KV cache per token: all layers, one */
} figures;

/* A one-line description: "MLA (128 heads, ...); MoE 256 routed + 1 shared
 * experts, 8 per token, 58 of 61 layers; hidden 7168, vocab 129280". */
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

/* MHA, GQA and MLA (two forms for an MLA model) for m's heads; the indices
 * of the MHA, GQA and MLA rows in *mha, *gqa, *mla. Returns the count. */
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

/* The model, then its parameters, at the top level of the JSON. */
static void report_params(report *r, const figures *f)
{
    const model_params *p = &f->p;
    char d[256];
    describe(&f->m, d, sizeof d);
    report_str(r, "model", NULL, f->m.name);
    report_str(r, "description", NULL, d);
    report_str(r, "attention", NULL, model_attn_name(f->m.attn));
    report_int(r, "context", "context (tokens)", f->context, "");
    report_str(r, "precision", "KV cache precision", ms_prec_name(f->prec));
    report_begin(r, NULL, "Parameters");
    report_num(r, "params_total", "total", p->total, "");
    report_num(r, "params_active", "active per token", p->active, "");
    report_str(r, "params_active_convention", "  counted as", /* the JSON's own note */
               "per token, input embedding included; "
               "params_active_excl_embedding excludes it");
    report_num(r, "params_active_excl_embedding", "active, input embedding excluded",
               p->active_excl_embedding, "");
    report_num(r, "params_matmul_active", "active in weight matrices", p->matmul_active, "");
    report_num(r, "params_embedding", "input embedding", p->embedding, "");
    report_num(r, "params_head", "output head", p->head, "");
    report_num(r, "params_attention", "attention", p->attention, "");
    report_num(r, "params_ffn_dense", "dense FFN", p->ffn_dense, "");
    report_num(r, "params_moe", "MoE", p->moe, "");
    report_num(r, "params_norms", "norms", p->norms, "");
    report_num(r, "params_mtp", "MTP modules (embedding and head shared)", p->mtp, "");
    report_num(r, "params_mtp_active", "MTP modules, active per token", p->mtp_active, "");
    report_end(r);
}

/* One layer of each kind: parameters and KV cache. */
static void report_per_layer(report *r, const figures *f)
{
    const model *m = &f->m;
    int moe = m->num_experts > 0;
    report_begin(r, "per_layer", "One layer");
    report_num(r, "attention_params", "attention parameters", model_attn_params(m), "");
    report_num(r, "dense_ffn_params", "dense FFN parameters",
               m->ffn_dim ? model_dense_ffn_params(m) : NAN, "");
    report_num(r, "moe_params", "MoE parameters", moe ? model_moe_params(m) : NAN, "");
    report_num(r, "moe_active_params", "MoE parameters active per token",
               moe ? model_moe_active_params(m) : NAN, "");
    report_num(r, "expert_params", "one expert's parameters", moe ? model_expert_params(m) : NAN,
               "");
    report_num(r, "kv_cache_bytes_per_token", "KV cache per token", f->kv_layer, "B");
    report_end(r);
}

static void report_flops(report *r, const figures *f)
{
    char title[96], causal[96], dec[96], ctx[32];
    const model_flops *fw = &f->tr.forward;
    report_format((double)f->context, "", ctx, sizeof ctx);
    snprintf(title, sizeof title, "FLOPs per token (context %s; 2 per multiply-add)", ctx);
    snprintf(causal, sizeof causal, "forward: attention (causal, %.1f keys on average)",
             ((double)f->context + 1) / 2);
    snprintf(dec, sizeof dec, "decode: attention (%s cached tokens%s)", ctx,
             f->m.attn == MODEL_ATTN_MLA ? ", MLA absorbed form" : "");
    report_begin(r, NULL, title);
    report_num(r, "flops_per_token_forward", "forward, training form", fw->total, "FLOP");
    report_num(r, "flops_per_token_forward_gemm", "forward: GEMM", fw->gemm, "FLOP");
    report_num(r, "flops_per_token_forward_attention", causal, fw->attention, "FLOP");
    report_num(r, "flops_per_token_forward_other", "forward: other", fw->other, "FLOP");
    report_num(r, "flops_per_token_training", "training (forward + backward)", f->tr.training,
               "FLOP");
    report_num(r, "flops_per_token_training_recompute", "training with full recompute",
               f->tr.training_recompute, "FLOP");
    report_num(r, "flops_per_token_decode", "decode, one new token", f->dec.total, "FLOP");
    report_num(r, "flops_per_token_decode_attention", dec, f->dec.attention, "FLOP");
    report_end(r);
}

/* The KV cache, and with compare the same model's under other attention. */
static void report_kv(report *r, const figures *f, int compare)
{
    char title[64], seq[64], tokens[32];
    double ctx = (double)f->context;
    snprintf(title, sizeof title, "KV cache (%s)", ms_prec_name(f->prec));
    snprintf(seq, sizeof seq, "one sequence of %s tokens",
             report_format(ctx, "", tokens, sizeof tokens));
    report_begin(r, NULL, title);
    report_num(r, "kv_cache_bytes_per_token", "per token", f->kv_tok, "B");
    report_num(r, "kv_cache_bytes_at_context", seq, f->kv_tok * ctx, "B");
    if (compare) {
        attn_alt alt[4];
        int imha, igqa, imla;
        size_t nalt = attention_alternatives(&f->m, alt, &imha, &igqa, &imla);
        report_num(r, "mla_saving_vs_mha", "MLA's saving on MHA's cache",
                   1 - alt[imla].elems / alt[imha].elems, "%");
        report_num(r, "mla_saving_vs_gqa", "MLA's saving on GQA's cache",
                   1 - alt[imla].elems / alt[igqa].elems, "%");
        report_table(r, "attention_comparison", "The same model with other attention");
        for (size_t i = 0; i < nalt; i++) {
            double bytes = alt[i].elems * (double)f->m.num_layers * ms_prec_bytes(f->prec);
            report_row(r);
            report_str(r, "attention", NULL, alt[i].label);
            report_num(r, "kv_cache_bytes_per_token", "KV cache per token", bytes, "B");
            report_num(r, "kv_cache_bytes_at_context", "at context", bytes * ctx, "B");
            report_num(r, "ratio_to_mha", "vs MHA", alt[i].elems / alt[imha].elems, "");
            report_num(r, "ratio_to_gqa", "vs GQA", alt[i].elems / alt[igqa].elems, "");
        }
        report_table_end(r);
    }
    report_end(r);
}

static void report_memory(report *r, const figures *f)
{
    char title[128];
    snprintf(title, sizeof title, "Training memory, %s recipe (whole model, before any sharding)",
             f->recipe->name);
    report_begin(r, "training_memory", title);
    report_str(r, "recipe", NULL, f->recipe->name);
    report_str(r, "recipe_source", "source", f->recipe->source);
    report_num(r, "weights_bytes", "weights", f->mem.weights_B, "B");
    report_num(r, "grads_bytes", "gradients", f->mem.grads_B, "B");
    report_num(r, "optimizer_bytes", "optimizer state", f->mem.optimizer_B, "B");
    report_num(r, "activation_bytes_per_token", "activations per token (estimate)",
               f->mem.activations_B_per_token, "B");
    report_num(r, "activation_bytes_per_token_recompute", "with full recompute",
               f->mem.activations_recompute_B_per_token, "B");
    report_end(r);
}

/* One layer of each kind the model has (dense, MoE): its operations. */
static int report_ops(report *r, const figures *f, mops_phase phase, int64_t batch, ms_err *err)
{
    mop ops[2][MOPS_MAX];
    size_t n[2] = {0, 0};
    int has[2] = {model_moe_layers(&f->m) < f->m.num_layers, f->m.num_experts > 0};
    for (int moe = 0; moe <= 1; moe++) {
        int rc = has[moe] ? mops_layer(&f->m, moe, phase, batch, f->context, f->prec, ops[moe],
                                       &n[moe], err)
                          : MS_OK;
        if (rc)
            return rc;
    }
    char title[160], seqs[32], ctx[32];
    snprintf(title, sizeof title, "One layer's operations (%s, %s sequence%s, context %s, %s)",
             mops_phase_name(phase), report_format((double)batch, "", seqs, sizeof seqs),
             batch > 1 ? "s" : "", report_format((double)f->context, "", ctx, sizeof ctx),
             ms_prec_name(f->prec));
    report_begin(r, NULL, title);
    report_str(r, "ops_phase", "phase", mops_phase_name(phase));
    report_int(r, "ops_batch", "sequences in flight", batch, "");
    report_table(r, "layer_ops", NULL);
    for (int moe = 0; moe <= 1; moe++) {
        if (!has[moe])
            continue;
        report_row(r);
        report_str(r, "layer", NULL, moe ? "moe" : "dense");
        report_table(r, "ops", moe ? "One MoE layer" : "One dense layer");
        for (size_t i = 0; i < n[moe]; i++) {
            const mop *o = &ops[moe][i];
            report_row(r);
            report_str(r, "name", "op", o->name);
            report_str(r, "kind", NULL, o->kind);
            report_num(r, "m", "M", o->m, "");
            report_num(r, "n", "N", o->n, "");
            report_num(r, "k", "K", o->k, "");
            report_num(r, "count", NULL, o->count, "");
            report_num(r, "flops", "FLOPs", o->flops, "FLOP");
            report_num(r, "bytes", NULL, o->bytes, "B");
            report_num(r, "flops_per_byte", "FLOP/B", o->flops / o->bytes, "");
        }
        report_table_end(r);
    }
    report_table_end(r);
    report_end(r);
    return MS_OK;
}

/* The options that need more than their row checks, then the model. */
static int load(const jmodel_job *j, const jenv *env, figures *f, ms_err *err)
{
    if (!j->model)
        return ms_errf(err, MS_EUSAGE,
                       "name one model file, e.g. 'megasim model "
                       "workloads/deepseek-v3/config.json'");
    if (ms_prec_parse(j->precision, &f->prec))
        return ms_errf(err, MS_EUSAGE, "--precision '%s': expected one of %s", j->precision,
                       ms_prec_list());
    if (!(f->recipe = model_recipe_find(j->recipe)))
        return ms_errf(err, MS_EUSAGE, "--recipe '%s': expected one of %s", j->recipe,
                       model_recipe_list());
    if ((jopt_given(&jmodel_options, j, "phase") || jopt_given(&jmodel_options, j, "batch")) &&
        !j->ops)
        return ms_errf(err, MS_EUSAGE, "--phase and --batch go with --ops");
    char warn[JMODEL_WARN_MAX], path[4096];
    int rc = modelfile_load(jenv_find(env, j->model, path, sizeof path), &f->m, warn, err);
    if (j->warn)
        snprintf(j->warn, JMODEL_WARN_MAX, "%s", rc ? "" : warn);
    f->context = j->context;
    return rc;
}

int jmodel_run(const jmodel_job *j, const jenv *env, report *r, ms_err *err)
{
    figures f;
    if (j->warn)
        j->warn[0] = '\0';
    int rc = load(j, env, &f, err);
    if (rc)
        return rc;
    f.p = model_param_counts(&f.m);
    f.tr = model_training_flops(&f.m, f.context);
    f.dec = model_forward_flops(&f.m, (double)f.context, 1);
    f.mem = model_training_memory(&f.m, f.recipe);
    f.kv_tok = model_kv_bytes_per_token(&f.m, f.prec);
    f.kv_layer = model_kv_elems_per_token_layer(&f.m) * ms_prec_bytes(f.prec);
    report_version(r, env->version);
    jopt_report_inputs(&jmodel_options, j, r);
    report_params(r, &f);
    report_per_layer(r, &f);
    report_flops(r, &f);
    report_kv(r, &f, j->compare_attention);
    report_memory(r, &f);
    if (j->ops)
        rc = report_ops(r, &f, j->phase == 0 ? MOPS_PREFILL : MOPS_DECODE, j->batch, err);
    return rc;
}
