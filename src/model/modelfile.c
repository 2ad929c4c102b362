/* modelfile: see modelfile.h. Each Hugging Face layout is one function
 * that reads the fields it knows; every field read (or known to have no
 * effect on cost) is ticked off, and what is left is reported. */
#include "model/modelfile.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/jsonfile.h"

#define MAX_SEEN 128

/* One config being read: its file, its object and the fields consumed. */
typedef struct reader {
    const char *path;
    const cJSON *obj;
    const char *prefix; /* "attention." inside a native sub-object, else "" */
    const char *seen[MAX_SEEN];
    int nseen;
    const model *m; /* the model being filled: get_int notes which key gave which field */
    struct {
        size_t off; /* offsetof(model, field) */
        const char *key;
    } from[MAX_SEEN];
    int nfrom;
    char *warn;
    ms_err *err;
} reader;

static void add_warn(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warn(reader *r, const char *fmt, ...)
{
    size_t used = strlen(r->warn);
    if (used + 2 >= MODELFILE_WARN_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->warn + used, MODELFILE_WARN_MAX - used - 1, fmt, ap);
    va_end(ap);
    strcat(r->warn, "\n");
}

static void tick(reader *r, const char *key)
{
    if (r->nseen < MAX_SEEN)
        r->seen[r->nseen++] = key;
}

static const cJSON *field(reader *r, const char *key)
{
    tick(r, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* Reads a whole number. Missing or null: *out = dflt if !required, and a
 * warning if dflt_note says the default matters. */
static int get_int(reader *r, const char *key, int required, int64_t dflt, const char *dflt_note,
                   int64_t *out)
{
    const cJSON *v = field(r, key);
    if (!v) {
        if (required)
            return ms_errf(r->err, MS_EINVAL,
                           "%s: field '%s%s': missing (a whole number is needed)", r->path,
                           r->prefix, key);
        if (dflt_note)
            add_warn(r, "%s: field '%s%s' absent: taken as %lld (%s)", r->path, r->prefix, key,
                     (long long)dflt, dflt_note);
        *out = dflt;
        return MS_OK;
    }
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || fabs(d) > 9e15)
        return ms_errf(r->err, MS_EINVAL, "%s: field '%s%s': expected a whole number, got %s",
                       r->path, r->prefix, key,
                       cJSON_IsString(v)   ? v->valuestring
                       : cJSON_IsNumber(v) ? "a fraction"
                                           : "another type");
    *out = (int64_t)d;
    const char *at = (const char *)out, *base = (const char *)r->m;
    if (r->m && at >= base && at < base + sizeof *r->m && r->nfrom < MAX_SEEN) {
        r->from[r->nfrom].off = (size_t)(at - base);
        r->from[r->nfrom++].key = key;
    }
    return MS_OK;
}

static int get_bool(reader *r, const char *key, int dflt, const char *dflt_note, int *out)
{
    const cJSON *v = field(r, key);
    if (!v) {
        if (dflt_note)
            add_warn(r, "%s: field '%s%s' absent: taken as %s (%s)", r->path, r->prefix, key,
                     dflt ? "true" : "false", dflt_note);
        *out = dflt;
        return MS_OK;
    }
    if (!cJSON_IsBool(v))
        return ms_errf(r->err, MS_EINVAL, "%s: field '%s%s': expected true or false", r->path,
                       r->prefix, key);
    *out = cJSON_IsTrue(v);
    return MS_OK;
}

static const char *get_str(reader *r, const char *key)
{
    const cJSON *v = field(r, key);
    return v && cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fields with no effect on parameters, FLOPs or memory. */
static const char *const no_effect[] = {"architectures",
                                        "auto_map",
                                        "bos_token_id",
                                        "eos_token_id",
                                        "pad_token_id",
                                        "torch_dtype",
                                        "transformers_version",
                                        "use_cache",
                                        "initializer_range",
                                        "rms_norm_eps",
                                        "layer_norm_eps",
                                        "layer_norm_epsilon",
                                        "attention_dropout",
                                        "hidden_dropout",
                                        "hidden_dropout_prob",
                                        "attention_probs_dropout_prob",
                                        "attn_pdrop",
                                        "embd_pdrop",
                                        "resid_pdrop",
                                        "rope_theta",
                                        "rope_scaling",
                                        "rotary_emb_base",
                                        "rotary_pct",
                                        "quantization_config",
                                        "pretraining_tp",
                                        "max_window_layers",
                                        "sliding_window",
                                        "use_sliding_window",
                                        "output_router_logits",
                                        "router_aux_loss_coef",
                                        "router_jitter_noise",
                                        "norm_topk_prob",
                                        "routed_scaling_factor",
                                        "scoring_func",
                                        "aux_loss_alpha",
                                        "seq_aux",
                                        "ep_size",
                                        "model_type",
                                        "n_ctx",
                                        "summary_activation",
                                        "summary_first_dropout",
                                        "summary_proj_to_labels",
                                        "summary_type",
                                        "summary_use_proj",
                                        "task_specific_params",
                                        "use_parallel_residual",
                                        "hidden_act",
                                        "activation_function",
                                        "scale_attn_weights",
                                        "reorder_and_upcast_attn",
                                        "scale_attn_by_inverse_layer_idx",
                                        "classifier_dropout",
                                        "rope_interleave",
                                        "tokenizer_class"};

static void report_unknown(reader *r)
{
    char list[1024] = "";
    int n = 0;
    for (const cJSON *c = r->obj->child; c; c = c->next) {
        int known = 0;
        for (int i = 0; i < r->nseen && !known; i++)
            known = strcmp(r->seen[i], c->string) == 0;
        for (size_t i = 0; i < sizeof no_effect / sizeof no_effect[0] && !known; i++)
            known = strcmp(no_effect[i], c->string) == 0;
        if (!known && strlen(list) + strlen(c->string) + 3 < sizeof list) {
            strcat(list, n++ ? ", " : "");
            strcat(list, c->string);
        }
    }
    if (n)
        add_warn(r, "%s: %d field%s not understood, ignored: %s", r->path, n, n > 1 ? "s" : "",
                 list);
}

/* The attention and FFN fields shared by the Llama-like layouts. */
static int read_llama_like(reader *r, model *m)
{
    int rc;
    if ((rc = get_int(r, "vocab_size", 1, 0, NULL, &m->vocab_size)) ||
        (rc = get_int(r, "hidden_size", 1, 0, NULL, &m->hidden_size)) ||
        (rc = get_int(r, "num_hidden_layers", 1, 0, NULL, &m->num_layers)) ||
        (rc = get_int(r, "num_attention_heads", 1, 0, NULL, &m->num_heads)) ||
        (rc = get_int(r, "max_position_embeddings", 0, 0, NULL, &m->max_positions)))
        return rc;
    if ((rc = get_int(r, "num_key_value_heads", 0, m->num_heads, "no grouping: MHA",
                      &m->num_kv_heads)))
        return rc;
    int64_t hd_default = m->num_heads > 0 ? m->hidden_size / m->num_heads : 0;
    if ((rc = get_int(r, "head_dim", 0, hd_default, NULL, &m->head_dim)) ||
        (rc = get_bool(r, "tie_word_embeddings", 0, "the Llama layout's default",
                       &m->tied_embeddings)) ||
        (rc = get_bool(r, "attention_bias", m->qkv_bias, NULL, &m->qkv_bias)) ||
        (rc = get_bool(r, "mlp_bias", 0, NULL, &m->mlp_bias)))
        return rc;
    m->o_bias = 0;
    m->attn = m->num_kv_heads == m->num_heads ? MODEL_ATTN_MHA : MODEL_ATTN_GQA;
    m->ffn_kind = MODEL_FFN_GATED;
    m->norm = MODEL_NORM_RMS;
    return MS_OK;
}

static int read_llama(reader *r, model *m)
{
    int rc = read_llama_like(r, m);
    if (!rc)
        rc = get_int(r, "intermediate_size", 1, 0, NULL, &m->ffn_dim);
    return rc;
}

static int read_qwen2(reader *r, model *m)
{
    m->qkv_bias = 1; /* Qwen2 has q, k, v biases and no field for them */
    return read_llama(r, m);
}

static int read_qwen3(reader *r, model *m)
{
    m->qk_norm = 1;
    return read_llama(r, m);
}

static int read_mixtral(reader *r, model *m)
{
    int rc = read_llama_like(r, m);
    if (!rc)
        rc = get_int(r, "intermediate_size", 1, 0, NULL, &m->expert_dim);
    if (!rc)
        rc = get_int(r, "num_local_experts", 1, 0, NULL, &m->num_experts);
    if (!rc)
        rc = get_int(r, "num_experts_per_tok", 1, 0, NULL, &m->experts_per_token);
    m->moe_layer_freq = 1;
    return rc;
}

static int read_qwen3_moe(reader *r, model *m)
{
    int rc;
    m->qk_norm = 1;
    if ((rc = read_llama_like(r, m)) ||
        (rc = get_int(r, "intermediate_size", 0, 0, NULL, &m->ffn_dim)) ||
        (rc = get_int(r, "moe_intermediate_size", 1, 0, NULL, &m->expert_dim)) ||
        (rc = get_int(r, "num_experts", 1, 0, NULL, &m->num_experts)) ||
        (rc = get_int(r, "num_experts_per_tok", 1, 0, NULL, &m->experts_per_token)) ||
        (rc = get_int(r, "decoder_sparse_step", 0, 1, NULL, &m->moe_layer_freq)))
        return rc;
    if (m->moe_layer_freq != 1)
        return ms_errf(r->err, MS_EINVAL,
                       "%s: field 'decoder_sparse_step': only 1 (every layer MoE) is supported, "
                       "got %lld",
                       r->path, (long long)m->moe_layer_freq);
    const cJSON *only = field(r, "mlp_only_layers");
    if (only && (!cJSON_IsArray(only) || cJSON_GetArraySize(only) != 0))
        return ms_errf(r->err, MS_EINVAL,
                       "%s: field 'mlp_only_layers': only an empty list is supported", r->path);
    return MS_OK;
}

static int read_deepseek(reader *r, model *m)
{
    int rc;
    if ((rc = get_int(r, "vocab_size", 1, 0, NULL, &m->vocab_size)) ||
        (rc = get_int(r, "hidden_size", 1, 0, NULL, &m->hidden_size)) ||
        (rc = get_int(r, "num_hidden_layers", 1, 0, NULL, &m->num_layers)) ||
        (rc = get_int(r, "max_position_embeddings", 0, 0, NULL, &m->max_positions)) ||
        (rc = get_int(r, "intermediate_size", 1, 0, NULL, &m->ffn_dim)) ||
        (rc = get_int(r, "num_attention_heads", 1, 0, NULL, &m->num_heads)) ||
        (rc = get_int(r, "num_key_value_heads", 0, 0, NULL, &m->num_kv_heads)) ||
        (rc = get_int(r, "q_lora_rank", 0, 0, NULL, &m->q_lora_rank)) ||
        (rc = get_int(r, "kv_lora_rank", 1, 0, NULL, &m->kv_lora_rank)) ||
        (rc = get_int(r, "qk_nope_head_dim", 1, 0, NULL, &m->qk_nope_head_dim)) ||
        (rc = get_int(r, "qk_rope_head_dim", 1, 0, NULL, &m->qk_rope_head_dim)) ||
        (rc = get_int(r, "v_head_dim", 1, 0, NULL, &m->v_head_dim)) ||
        (rc = get_int(r, "n_routed_experts", 0, 0, NULL, &m->num_experts)) ||
        (rc = get_int(r, "n_shared_experts", 0, 0, NULL, &m->num_shared_experts)) ||
        (rc = get_int(r, "num_experts_per_tok", 0, 0, NULL, &m->experts_per_token)) ||
        (rc = get_int(r, "moe_intermediate_size", 0, 0, NULL, &m->expert_dim)) ||
        (rc = get_int(r, "first_k_dense_replace", 0, 0, NULL, &m->first_dense_layers)) ||
        (rc = get_int(r, "moe_layer_freq", 0, 1, NULL, &m->moe_layer_freq)) ||
        (rc = get_int(r, "n_group", 0, 0, NULL, &m->expert_groups)) ||
        (rc = get_int(r, "topk_group", 0, 0, NULL, &m->groups_per_token)) ||
        (rc = get_int(r, "num_nextn_predict_layers", 0, 0, NULL, &m->mtp_layers)) ||
        (rc = get_bool(r, "tie_word_embeddings", 0, NULL, &m->tied_embeddings)) ||
        (rc = get_bool(r, "attention_bias", 0, NULL, &m->qkv_bias)))
        return rc;
    if (m->qkv_bias)
        return ms_errf(r->err, MS_EINVAL,
                       "%s: field 'attention_bias': biases on MLA projections are not supported",
                       r->path);
    const char *topk = get_str(r, "topk_method");
    m->expert_bias = topk && strcmp(topk, "noaux_tc") == 0; /* e_score_correction_bias */
    m->attn = MODEL_ATTN_MLA;
    m->ffn_kind = MODEL_FFN_GATED;
    m->norm = MODEL_NORM_RMS;
    return MS_OK;
}

static int read_gpt2(reader *r, model *m)
{
    int rc;
    if ((rc = get_int(r, "vocab_size", 1, 0, NULL, &m->vocab_size)) ||
        (rc = get_int(r, "n_embd", 1, 0, NULL, &m->hidden_size)) ||
        (rc = get_int(r, "n_layer", 1, 0, NULL, &m->num_layers)) ||
        (rc = get_int(r, "n_head", 1, 0, NULL, &m->num_heads)) ||
        (rc = get_int(r, "n_positions", 1, 0, NULL, &m->max_positions)) ||
        (rc = get_int(r, "n_inner", 0, 4 * m->hidden_size, NULL, &m->ffn_dim)) ||
        (rc = get_bool(r, "tie_word_embeddings", 1, NULL, &m->tied_embeddings)))
        return rc;
    m->num_kv_heads = m->num_heads;
    m->head_dim = m->num_heads > 0 ? m->hidden_size / m->num_heads : 0;
    m->attn = MODEL_ATTN_MHA;
    m->qkv_bias = m->o_bias = m->mlp_bias = 1;
    m->learned_positions = 1;
    m->ffn_kind = MODEL_FFN_PLAIN;
    m->norm = MODEL_NORM_LAYER;
    return MS_OK;
}

static int read_gpt_neox(reader *r, model *m)
{
    int rc;
    if ((rc = get_int(r, "vocab_size", 1, 0, NULL, &m->vocab_size)) ||
        (rc = get_int(r, "hidden_size", 1, 0, NULL, &m->hidden_size)) ||
        (rc = get_int(r, "num_hidden_layers", 1, 0, NULL, &m->num_layers)) ||
        (rc = get_int(r, "num_attention_heads", 1, 0, NULL, &m->num_heads)) ||
        (rc = get_int(r, "intermediate_size", 1, 0, NULL, &m->ffn_dim)) ||
        (rc = get_int(r, "max_position_embeddings", 0, 0, NULL, &m->max_positions)) ||
        (rc = get_bool(r, "tie_word_embeddings", 0, "the GPT-NeoX layout's default",
                       &m->tied_embeddings)))
        return rc;
    m->num_kv_heads = m->num_heads;
    m->head_dim = m->num_heads > 0 ? m->hidden_size / m->num_heads : 0;
    m->attn = MODEL_ATTN_MHA;
    m->qkv_bias = m->o_bias = m->mlp_bias = 1;
    m->ffn_kind = MODEL_FFN_PLAIN;
    m->norm = MODEL_NORM_LAYER;
    return MS_OK;
}

static const struct layout {
    const char *model_type;
    int (*read)(reader *r, model *m);
} layouts[] = {
    {"deepseek_v2", read_deepseek}, {"deepseek_v3", read_deepseek}, {"llama", read_llama},
    {"mistral", read_llama},        {"qwen2", read_qwen2},          {"qwen3", read_qwen3},
    {"mixtral", read_mixtral},      {"qwen3_moe", read_qwen3_moe},  {"gpt2", read_gpt2},
    {"gpt_neox", read_gpt_neox},
};

const char *modelfile_layouts(void)
{
    return "deepseek_v2, deepseek_v3, llama, mistral, qwen2, qwen3, mixtral, qwen3_moe, gpt2, "
           "gpt_neox";
}

/* quantization_config of an FP8 checkpoint in blocks (DeepSeek-V3's
 * {"quant_method": "fp8", "weight_block_size": [128, 128]}): the block
 * along K. Other methods, or none, leave it 0. */
static int read_fp8_block(reader *r, model *m)
{
    m->fp8_block = 0;
    const cJSON *q = field(r, "quantization_config");
    if (!q)
        return MS_OK;
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(q, "quant_method");
    if (!cJSON_IsObject(q) || !cJSON_IsString(method) || strcmp(method->valuestring, "fp8") != 0)
        return MS_OK;
    const cJSON *blk = cJSON_GetObjectItemCaseSensitive(q, "weight_block_size");
    if (!blk || cJSON_IsNull(blk))
        return MS_OK; /* per-tensor FP8 */
    const cJSON *n =
        cJSON_IsArray(blk) && cJSON_GetArraySize(blk) == 2 ? cJSON_GetArrayItem(blk, 1) : NULL;
    const cJSON *k0 = n ? cJSON_GetArrayItem(blk, 0) : NULL;
    if (!n || !cJSON_IsNumber(n) || !cJSON_IsNumber(k0) ||
        n->valuedouble != floor(n->valuedouble) || k0->valuedouble != floor(k0->valuedouble) ||
        !(n->valuedouble >= 1) || !(k0->valuedouble >= 1) || n->valuedouble > 65536 ||
        k0->valuedouble > 65536)
        return ms_errf(r->err, MS_EINVAL,
                       "%s: field 'quantization_config.weight_block_size': expected two whole "
                       "numbers from 1 to 65536 (the FP8 weight block, e.g. [128, 128])",
                       r->path);
    m->fp8_block = (int64_t)n->valuedouble;
    return MS_OK;
}

static int read_hf(reader *r, model *m)
{
    const char *type = get_str(r, "model_type");
    if (!type) {
        /* Some copies drop model_type; GPT-2's field names give it away. */
        const char *guess = cJSON_GetObjectItemCaseSensitive(r->obj, "n_embd") ? "gpt2" : "llama";
        add_warn(r, "%s: no 'model_type': read as the %s layout", r->path, guess);
        type = guess;
    }
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (strcmp(type, layouts[i].model_type) == 0) {
            int rc = layouts[i].read(r, m);
            if (!rc)
                rc = read_fp8_block(r, m);
            if (!rc)
                report_unknown(r);
            return rc;
        }
    return ms_errf(r->err, MS_EINVAL,
                   "%s: field 'model_type': '%s' is not a layout megasim reads; it reads %s",
                   r->path, type, modelfile_layouts());
}

/* megasim's own form: every field known, nothing defaulted that matters. */
static int check_only(reader *r, const char *const *keys, size_t n)
{
    for (const cJSON *c = r->obj->child; c; c = c->next) {
        size_t i = 0;
        while (i < n && strcmp(keys[i], c->string) != 0)
            i++;
        if (i == n)
            return ms_errf(r->err, MS_EINVAL, "%s: field '%s%s': unknown; see workloads/README.md",
                           r->path, r->prefix, c->string);
    }
    return MS_OK;
}

static int sub(reader *parent, const char *key, int required, reader *out)
{
    const cJSON *v = field(parent, key);
    *out = (reader){.path = parent->path, .obj = v, .warn = parent->warn, .err = parent->err};
    out->prefix = key[0] == 'a' ? "attention." : key[0] == 'f' ? "ffn." : "moe.";
    if (!v && required)
        return ms_errf(parent->err, MS_EINVAL, "%s: field '%s': missing (an object is needed)",
                       parent->path, key);
    if (v && !cJSON_IsObject(v))
        return ms_errf(parent->err, MS_EINVAL, "%s: field '%s': expected an object", parent->path,
                       key);
    return MS_OK;
}

static int read_native(reader *r, model *m)
{
    static const char *const top[] = {"megasim_model",
                                      "name",
                                      "source",
                                      "vocab_size",
                                      "hidden_size",
                                      "num_layers",
                                      "max_positions",
                                      "tied_embeddings",
                                      "learned_positions",
                                      "norm",
                                      "attention",
                                      "ffn",
                                      "moe",
                                      "mtp_layers",
                                      "fp8_block"};
    static const char *const attn_keys[] = {
        "kind",         "num_heads",        "num_kv_heads",     "head_dim",
        "qkv_bias",     "o_bias",           "qk_norm",          "q_lora_rank",
        "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"};
    static const char *const ffn_keys[] = {"kind", "dim", "bias"};
    static const char *const moe_keys[] = {
        "num_experts",   "num_shared_experts", "experts_per_token",
        "expert_dim",    "first_dense_layers", "layer_freq",
        "expert_groups", "groups_per_token",   "expert_bias"};
    int rc;
    int64_t version;
    reader a, f, e;
    if ((rc = check_only(r, top, sizeof top / sizeof top[0])) ||
        (rc = get_int(r, "megasim_model", 1, 0, NULL, &version)))
        return rc;
    if (version != 1)
        return ms_errf(r->err, MS_EINVAL, "%s: field 'megasim_model': expected 1, got %lld",
                       r->path, (long long)version);
    const char *name = get_str(r, "name");
    if (name)
        snprintf(m->name, sizeof m->name, "%s", name);
    const char *norm = get_str(r, "norm");
    if (norm && strcmp(norm, "layernorm") != 0 && strcmp(norm, "rmsnorm") != 0)
        return ms_errf(r->err, MS_EINVAL,
                       "%s: field 'norm': expected rmsnorm or layernorm, got '%s'", r->path, norm);
    m->norm = norm && strcmp(norm, "layernorm") == 0 ? MODEL_NORM_LAYER : MODEL_NORM_RMS;
    if ((rc = get_int(r, "vocab_size", 1, 0, NULL, &m->vocab_size)) ||
        (rc = get_int(r, "hidden_size", 1, 0, NULL, &m->hidden_size)) ||
        (rc = get_int(r, "num_layers", 1, 0, NULL, &m->num_layers)) ||
        (rc = get_int(r, "max_positions", 0, 0, NULL, &m->max_positions)) ||
        (rc = get_int(r, "mtp_layers", 0, 0, NULL, &m->mtp_layers)) ||
        (rc = get_int(r, "fp8_block", 0, 0, NULL, &m->fp8_block)) ||
        (rc = get_bool(r, "tied_embeddings", 0, NULL, &m->tied_embeddings)) ||
        (rc = get_bool(r, "learned_positions", 0, NULL, &m->learned_positions)) ||
        (rc = sub(r, "attention", 1, &a)) || (rc = sub(r, "ffn", 0, &f)) ||
        (rc = sub(r, "moe", 0, &e)))
        return rc;

    if ((rc = check_only(&a, attn_keys, sizeof attn_keys / sizeof attn_keys[0])))
        return rc;
    const char *kind = get_str(&a, "kind");
    if (!kind || model_attn_parse(kind, &m->attn) != 0)
        return ms_errf(r->err, MS_EINVAL,
                       "%s: field 'attention.kind': expected mha, gqa, mqa or mla, got '%s'",
                       r->path, kind ? kind : "(missing)");
    int mla = m->attn == MODEL_ATTN_MLA, mqa = strcmp(kind, "mqa") == 0;
    if ((rc = get_int(&a, "num_heads", 1, 0, NULL, &m->num_heads)) ||
        (rc = get_int(&a, "num_kv_heads", !mla && !mqa && m->attn != MODEL_ATTN_MHA,
                      mqa ? 1 : m->num_heads, NULL, &m->num_kv_heads)) ||
        (rc = get_int(&a, "head_dim", !mla, 0, NULL, &m->head_dim)) ||
        (rc = get_bool(&a, "qkv_bias", 0, NULL, &m->qkv_bias)) ||
        (rc = get_bool(&a, "o_bias", 0, NULL, &m->o_bias)) ||
        (rc = get_bool(&a, "qk_norm", 0, NULL, &m->qk_norm)) ||
        (rc = get_int(&a, "q_lora_rank", 0, 0, NULL, &m->q_lora_rank)) ||
        (rc = get_int(&a, "kv_lora_rank", mla, 0, NULL, &m->kv_lora_rank)) ||
        (rc = get_int(&a, "qk_nope_head_dim", mla, 0, NULL, &m->qk_nope_head_dim)) ||
        (rc = get_int(&a, "qk_rope_head_dim", mla, 0, NULL, &m->qk_rope_head_dim)) ||
        (rc = get_int(&a, "v_head_dim", mla, 0, NULL, &m->v_head_dim)))
        return rc;

    m->ffn_kind = MODEL_FFN_GATED;
    if (f.obj) {
        if ((rc = check_only(&f, ffn_keys, sizeof ffn_keys / sizeof ffn_keys[0])))
            return rc;
        const char *fk = get_str(&f, "kind");
        if (fk && strcmp(fk, "gated") != 0 && strcmp(fk, "plain") != 0)
            return ms_errf(r->err, MS_EINVAL,
                           "%s: field 'ffn.kind': expected gated or plain, got '%s'", r->path, fk);
        m->ffn_kind = fk && strcmp(fk, "plain") == 0 ? MODEL_FFN_PLAIN : MODEL_FFN_GATED;
        if ((rc = get_int(&f, "dim", 0, 0, NULL, &m->ffn_dim)) ||
            (rc = get_bool(&f, "bias", 0, NULL, &m->mlp_bias)))
            return rc;
    }
    if (e.obj) {
        if ((rc = check_only(&e, moe_keys, sizeof moe_keys / sizeof moe_keys[0])) ||
            (rc = get_int(&e, "num_experts", 1, 0, NULL, &m->num_experts)) ||
            (rc = get_int(&e, "num_shared_experts", 0, 0, NULL, &m->num_shared_experts)) ||
            (rc = get_int(&e, "experts_per_token", 1, 0, NULL, &m->experts_per_token)) ||
            (rc = get_int(&e, "expert_dim", 1, 0, NULL, &m->expert_dim)) ||
            (rc = get_int(&e, "first_dense_layers", 0, 0, NULL, &m->first_dense_layers)) ||
            (rc = get_int(&e, "layer_freq", 0, 1, NULL, &m->moe_layer_freq)) ||
            (rc = get_int(&e, "expert_groups", 0, 0, NULL, &m->expert_groups)) ||
            (rc = get_int(&e, "groups_per_token", 0, 0, NULL, &m->groups_per_token)) ||
            (rc = get_bool(&e, "expert_bias", 0, NULL, &m->expert_bias)))
            return rc;
    }
    return MS_OK;
}

static void base_name(const char *path, char *name, size_t cap)
{
    /* workloads/deepseek-v3/config.json -> deepseek-v3 */
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *slash = strrchr(tmp, '/');
    if (slash && strcmp(slash + 1, "config.json") == 0) {
        *slash = '\0';
        slash = strrchr(tmp, '/');
    }
    const char *b = slash ? slash + 1 : tmp;
    snprintf(name, cap, "%.*s", (int)cap - 1, b);
    char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".json") == 0)
        *dot = '\0';
}

/* model_validate names fields as a native model file does; for a Hugging
 * Face config, the key of the file that gave each one. */
static const struct {
    const char *name;
    size_t off;
} native_names[] = {
    {"vocab_size", offsetof(model, vocab_size)},
    {"hidden_size", offsetof(model, hidden_size)},
    {"num_layers", offsetof(model, num_layers)},
    {"max_positions", offsetof(model, max_positions)},
    {"attention.num_heads", offsetof(model, num_heads)},
    {"attention.num_kv_heads", offsetof(model, num_kv_heads)},
    {"attention.head_dim", offsetof(model, head_dim)},
    {"attention.q_lora_rank", offsetof(model, q_lora_rank)},
    {"attention.kv_lora_rank", offsetof(model, kv_lora_rank)},
    {"attention.qk_nope_head_dim", offsetof(model, qk_nope_head_dim)},
    {"attention.qk_rope_head_dim", offsetof(model, qk_rope_head_dim)},
    {"attention.v_head_dim", offsetof(model, v_head_dim)},
    {"ffn.dim", offsetof(model, ffn_dim)},
    {"moe.num_experts", offsetof(model, num_experts)},
    {"moe.num_shared_experts", offsetof(model, num_shared_experts)},
    {"moe.experts_per_token", offsetof(model, experts_per_token)},
    {"moe.expert_dim", offsetof(model, expert_dim)},
    {"moe.first_dense_layers", offsetof(model, first_dense_layers)},
    {"moe.layer_freq", offsetof(model, moe_layer_freq)},
    {"moe.expert_groups", offsetof(model, expert_groups)},
    {"moe.groups_per_token", offsetof(model, groups_per_token)},
    {"mtp_layers", offsetof(model, mtp_layers)},
    {"fp8_block", offsetof(model, fp8_block)},
};

/* msg with "field 'NAME'" said with the file's key where r recorded one
 * ("field 'num_hidden_layers'"); unchanged otherwise. */
static void file_names(const reader *r, char *msg, size_t cap)
{
    for (size_t i = 0; i < sizeof native_names / sizeof native_names[0]; i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "field '%s'", native_names[i].name);
        char *at = strstr(msg, quoted);
        if (!at)
            continue;
        for (int k = r->nfrom - 1; k >= 0; k--)
            if (r->from[k].off == native_names[i].off) {
                char rest[MS_ERR_MSG_MAX];
                snprintf(rest, sizeof rest, "%s", at + strlen(quoted));
                snprintf(at, cap - (size_t)(at - msg), "field '%s'%s", r->from[k].key, rest);
                return;
            }
    }
}

int modelfile_load(const char *path, model *out, char *warn, ms_err *err)
{
    int rc;
    warn[0] = '\0';
    *out = (model){0};
    cJSON *json = jsonfile_read_object(path, NULL, err);
    if (!json)
        return err->code;
    reader r = {.path = path, .obj = json, .prefix = "", .m = out, .warn = warn, .err = err};
    base_name(path, out->name, sizeof out->name);
    int native = cJSON_GetObjectItemCaseSensitive(json, "megasim_model") != NULL;
    rc = native ? read_native(&r, out) : read_hf(&r, out);
    cJSON_Delete(json);
    if (!rc) {
        ms_err verr = {0};
        if ((rc = model_validate(out, &verr))) {
            if (!native)
                file_names(&r, verr.msg, sizeof verr.msg);
            ms_errf(err, rc, "%s: %s", path, verr.msg);
        }
    }
    return rc;
}
