/* plan: see plan.h. */
#include "train/plan.h"

#include "train/stack.h"

#include <math.h>
#include <string.h>

static int positive(const char *field, int64_t v, ms_err *err)
{
    if (v < 1)
        return ms_errf(err, MS_EINVAL, "field '%s': expected a whole number >= 1, got %lld", field,
                       (long long)v);
    return MS_OK;
}

int plan_check(const plan *p, const model *m, ms_err *err)
{
    int rc;
    if ((rc = positive("gpus", p->gpus, err)) || (rc = positive("tp", p->tp, err)) ||
        (rc = positive("pp", p->pp, err)) || (rc = positive("vpp", p->vpp, err)) ||
        (rc = positive("dp", p->dp, err)) || (rc = positive("ep", p->ep, err)) ||
        (rc = positive("cp", p->cp, err)) || (rc = positive("seq", p->seq_len, err)) ||
        (rc = positive("global_batch", p->global_batch, err)) ||
        (rc = positive("micro_batch", p->micro_batch, err)))
        return rc;
    if (!(p->attn_span == 0 || (p->attn_span >= 1 && p->attn_span <= 1e9)))
        return ms_errf(err, MS_EINVAL,
                       "field 'attention_span': expected tokens from 1 to 1e9 (0: the sequence), "
                       "got %g",
                       p->attn_span);
    int64_t prod = p->tp * p->pp * p->cp * p->dp;
    if (prod != p->gpus)
        return ms_errf(
            err, MS_EINVAL,
            "fields tp x pp x cp x dp: %lld x %lld x %lld x %lld = %lld, not the %lld GPUs",
            (long long)p->tp, (long long)p->pp, (long long)p->cp, (long long)p->dp, (long long)prod,
            (long long)p->gpus);
    if (p->zero < 0 || p->zero > 3)
        return ms_errf(err, MS_EINVAL, "field 'zero': expected a ZeRO stage 0 to 3, got %d",
                       p->zero);
    if (!p->recipe || !model_recipe_find(p->recipe))
        return ms_errf(err, MS_EINVAL, "field 'precision': expected one of %s, got '%s'",
                       model_recipe_list(), p->recipe ? p->recipe : "");
    if (p->stack && !stack_find(p->stack))
        return ms_errf(err, MS_EINVAL, "field 'stack': expected one of %s, got '%s'", stack_list(),
                       p->stack);
    if (m->num_heads % p->tp != 0)
        return ms_errf(err, MS_EINVAL, "field 'tp': %lld does not divide the %lld attention heads",
                       (long long)p->tp, (long long)m->num_heads);
    if (m->num_experts == 0 && p->ep != 1)
        return ms_errf(err, MS_EINVAL, "field 'ep': %s has no experts; expected 1, got %lld",
                       m->name, (long long)p->ep);
    if (m->num_experts > 0 && m->num_experts % p->ep != 0)
        return ms_errf(err, MS_EINVAL, "field 'ep': %lld does not divide the %lld experts",
                       (long long)p->ep, (long long)m->num_experts);
    if ((p->dp * p->tp) % p->ep != 0)
        return ms_errf(err, MS_EINVAL,
                       "field 'ep': expert parallelism takes its ranks from dp x tp = %lld, which "
                       "%lld does not divide",
                       (long long)(p->dp * p->tp), (long long)p->ep);
    if (p->pp * p->vpp > m->num_layers)
        return ms_errf(err, MS_EINVAL, "fields pp x vpp: %lld stages for %lld layers",
                       (long long)(p->pp * p->vpp), (long long)m->num_layers);
    if (p->seq_len % p->cp != 0)
        return ms_errf(err, MS_EINVAL, "field 'cp': %lld does not divide the sequence of %lld",
                       (long long)p->cp, (long long)p->seq_len);
    if (p->global_batch % (p->micro_batch * p->dp) != 0)
        return ms_errf(err, MS_EINVAL,
                       "field 'micro_batch': micro-batch %lld x dp %lld = %lld does not divide the "
                       "global batch of %lld sequences",
                       (long long)p->micro_batch, (long long)p->dp,
                       (long long)(p->micro_batch * p->dp), (long long)p->global_batch);
    return MS_OK;
}

int64_t plan_microbatches(const plan *p)
{
    return p->global_batch / (p->micro_batch * p->dp);
}

plan_coords plan_rank_coords(const plan *p, int64_t rank)
{
    plan_coords c;
    c.tp = rank % p->tp;
    rank /= p->tp;
    c.cp = rank % p->cp;
    rank /= p->cp;
    c.dp = rank % p->dp;
    c.pp = rank / p->dp;
    c.ep = (c.dp * p->tp + c.tp) % p->ep;
    return c;
}

/* Parameters a rank holds for layers [first, first + n), split into what
 * tp splits (dense) and what ep splits (routed experts). */
static void stage_params(const model *m, int64_t first, int64_t n, const plan *p, double *dense,
                         double *experts)
{
    for (int64_t l = first; l < first + n; l++) {
        *dense += model_attn_params(m) + model_layer_norm_params(m);
        if (model_layer_is_moe(m, l)) {
            double routed = (double)m->num_experts * model_expert_params(m);
            *dense += model_moe_params(m) - routed; /* shared experts and router */
            *experts += routed;
        } else {
            *dense += model_dense_ffn_params(m);
        }
    }
    (void)p;
}

plan_memory plan_memory_per_rank(const plan *p, const model *m)
{
    plan_memory best = {0};
    const model_recipe *r = model_recipe_find(p->recipe);
    model_params mp = model_param_counts(m);
    int64_t L = m->num_layers, per = (L + p->pp - 1) / p->pp;
    double dense_group = (double)(p->dp * p->cp);
    double expert_group = (double)(p->dp * p->cp * p->tp) / (double)p->ep;
    double state_B = r->master_B + r->adam_m_B + r->adam_v_B;

    /* Activations: the first stage holds the most micro-batches. */
    model_memory mm = model_training_memory(m, r);
    double per_layer_token =
        (p->recompute == PLAN_RECOMPUTE_FULL        ? mm.activations_recompute_B_per_token
         : p->recompute == PLAN_RECOMPUTE_SELECTIVE ? mm.activations_selective_B_per_token
                                                    : mm.activations_B_per_token) /
        (double)L;
    int64_t inflight = p->inflight_microbatches > 0 ? p->inflight_microbatches : p->pp;
    double tokens = (double)(p->micro_batch * p->seq_len) / (double)p->cp;
    const stack *sk = stack_or_plain(p->stack);
    double t = (double)p->tp, h = (double)m->hidden_size;
    /* Bytes a token a layer kept whole on every TP rank, and the share of
     * per_layer_token that splits over them. */
    double whole_B = 0, split = t;
    if (!sk->sequence_parallel) {
        if (p->recompute == PLAN_RECOMPUTE_FULL)
            split = 1; /* the layer input, on every rank */
        else
            whole_B += 10 * h * (1 - 1 / t); /* norms and dropouts: Korthikanti's 10 s b h */
    }
    if (sk->attention == STACK_ATTN_MATERIALIZED && p->recompute == PLAN_RECOMPUTE_NONE)
        whole_B += 5 * (double)m->num_heads * (double)p->seq_len / t / (double)p->cp;
    double interleave = p->vpp > 1 ? 1 + (double)(p->pp - 1) / (double)(p->pp * p->vpp) : 1;

    for (int64_t s = 0; s < p->pp; s++) {
        int64_t first = s * per, n = first + per > L ? L - first : per;
        if (n < 0)
            n = 0;
        double dense = 0, experts = 0;
        stage_params(m, first, n, p, &dense, &experts);
        if (s == 0)
            dense += mp.embedding;
        if (s == p->pp - 1) {
            dense += mp.head + model_layer_norm_params(m) / 2; /* and the final norm */
            if (mp.mtp > 0) { /* the MTP modules sit with the head */
                double routed =
                    (double)m->mtp_layers * (double)m->num_experts * model_expert_params(m);
                dense += mp.mtp - routed;
                experts += routed;
            }
        }
        double dense_rank = dense / (double)p->tp, experts_rank = experts / (double)p->ep;
        plan_memory mem = {.params_per_rank = dense_rank + experts_rank};
        mem.weights_B = dense_rank * r->weight_B / (p->zero >= 3 ? dense_group : 1) +
                        experts_rank * r->weight_B / (p->zero >= 3 ? expert_group : 1);
        double grad_B = stack_grad_B(sk, r->grad_B);
        mem.grads_B = dense_rank * grad_B / (p->zero >= 2 ? dense_group : 1) +
                      experts_rank * grad_B / (p->zero >= 2 ? expert_group : 1);
        mem.optimizer_B = dense_rank * state_B / (p->zero >= 1 ? dense_group : 1) +
                          experts_rank * state_B / (p->zero >= 1 ? expert_group : 1);
        double held = (double)(s == 0 ? inflight : (inflight > s ? inflight - s : 1));
        if (s == 0)
            held *= interleave;
        mem.activations_B = (per_layer_token / split + whole_B) * (double)n * tokens * held;
        mem.framework_B = PLAN_FRAMEWORK_B;
        mem.checkpoint_B = (mp.total + mp.mtp) * (r->weight_B + state_B) / (double)p->gpus;
        mem.total_B =
            mem.weights_B + mem.grads_B + mem.optimizer_B + mem.activations_B + mem.framework_B;
        if (mem.total_B > best.total_B)
            best = mem;
    }
    return best;
}

int plan_fits(const plan_memory *mem, const chip *c, double *short_B)
{
    double gap = mem->total_B - c->hbm_bytes;
    *short_B = gap > 0 ? gap : 0;
    return gap <= 0;
}

static const char *const recompute_names[] = {"none", "selective", "full"};

const char *plan_recompute_name(plan_recompute r)
{
    return recompute_names[r];
}

int plan_recompute_parse(const char *name, plan_recompute *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, recompute_names[i]) == 0) {
            *out = (plan_recompute)i;
            return 0;
        }
    return -1;
}
