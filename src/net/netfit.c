/* netfit: see netfit.h. Fitted: ring rows at every size, DeepEP's normal
 * kernels, NCCL's default (and explicit NVLS) all-reduce rows from 1 GiB
 * up, where NCCL runs its bandwidth algorithms (ring, NVLS, NVLSTree) and
 * megasim picks among the same, and the default tables of runs with
 * NCCL_NVLS_ENABLE=1 at every size, which place NVLS's latency against the
 * ring's. Rows without a size (the figures reported in prose) are never
 * fitted: they are the checks. */
#include "net/netfit.h"

#include <errno.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include "core/num.h"
#include "io/afile.h"
#include "io/csvtab.h"
#include "net/topo.h"

typedef struct prepared {
    topo *t;
    coll_spec spec;
    coll_plan plan;    /* when the row names its algorithm, routed */
    coll_choice among; /* choose: the plans NCCL's default picks from, routed */
    int ok;
    int choose; /* NCCL's default: the algorithm chosen per prediction */
} prepared;

/* Where a chip's scale-up domain reduces in the switch (NVLS): NVSwitch
 * domains of Hopper and Blackwell chips. NVLink SHARP came with the
 * third-generation NVSwitch of HGX H100 (NVIDIA H100 Tensor Core GPU
 * Architecture whitepaper, 2022); A100's second-generation NVSwitch has no
 * reduction, and A100's 232.5 GB/s (nccl-tests#175) is a ring's share of
 * its 300 GB/s. H800 keeps H100's NVSwitch with fewer links: its 215 GB/s
 * busbw (nccl#1374) is more than a ring can give on 200 GB/s a direction,
 * so NCCL ran NVLS there (one H800 system without NVLS is NVIDIA/nccl#892:
 * a system's fabric manager or driver can still turn it off). */
int netfit_chip_has_nvls(const chip *c)
{
    return (strcmp(c->family, "hopper") == 0 || strncmp(c->family, "blackwell", 9) == 0) &&
           c->scale_up_domain_chips >= 4;
}

/* Value of a setting "NAME=<number>" written in a note, or NAN: "NAME=0 or
 * 1" (both tried) gives NAN too. */
static double note_setting(const char *note, const char *name)
{
    const char *p = note ? strstr(note, name) : NULL;
    if (!p || p[strlen(name)] != '=')
        return NAN;
    char *end;
    double v = num_strtod(p + strlen(name) + 1, &end);
    if (end == p + strlen(name) + 1 || strncmp(end, " or", 3) == 0)
        return NAN;
    return v;
}

/* The largest size of an nccl-tests run as its note gives it ("-e 4G":
 * nccl-tests reads K, M, G as powers of 1024), or NAN. */
static double note_max_bytes(const char *note)
{
    const char *p = note ? strstr(note, " -e ") : NULL;
    if (!p)
        return NAN;
    char *end;
    double v = num_strtod(p + 4, &end);
    if (end == p + 4 || !(v > 0))
        return NAN;
    switch (*end) {
    case 'K':
        return v * 1024;
    case 'M':
        return v * 1024 * 1024;
    case 'G':
        return v * 1024 * 1024 * 1024;
    default:
        return v;
    }
}

struct netfit {
    netfit_row *rows;
    prepared *prep;
    size_t n;
    csvtab *csv;
};

static double num(const csvtab *t, size_t r, int col)
{
    const char *s = col >= 0 ? csvtab_field(t, r, (size_t)col) : NULL;
    if (!s || !s[0])
        return NAN;
    char *end;
    double v = num_strtod(s, &end);
    return end != s && !*end ? v : -1; /* -1: not a number, caught by the caller */
}

/* DeepEP's low-latency table: the settings its test ran with, which every
 * such row's note states (128 tokens a GPU, hidden 7168, top-8 experts),
 * and the bytes the test counts per token and expert: FP8 with a float
 * scale per 128 values and 16 bytes of header in dispatch, BF16 in combine
 * (deepseek-ai/DeepEP tests/test_low_latency.py, num_fp8_bytes and
 * num_bf16_bytes). Its bandwidth column is those bytes over the time. */
#define LL_KIND   6 /* netfit_write's row for them, past the link kinds and NVLS */
#define LL_TOKENS 128.0
#define LL_HIDDEN 7168.0
#define LL_TOPK   8.0

static int is_ll(const netfit_row *r)
{
    return strcmp(r->algo, "deepep-low-latency") == 0;
}

static double ll_bytes(const netfit_row *r)
{
    double per =
        strcmp(r->op, "dispatch") == 0 ? LL_HIDDEN + LL_HIDDEN / 128 * 4 + 16 : LL_HIDDEN * 2;
    return LL_TOKENS * LL_TOPK * per;
}

/* The most transfers the rows of one file may ask to time (every plan a
 * row could be timed with, summed): a fit times each row many times, and
 * each timing walks every transfer's links. The shipped file asks for
 * about 77 thousand; a 512-GPU all-to-all alone, 261,632. */
#define MAX_TRANSFERS ((size_t)1 << 18)

/* A topology and plan for a row, when megasim models it; nic_channels >
 * 0: the channels through each NIC (the row's NCCL_MIN_CTAS). *left: the
 * transfers the file may still ask for, less this row's. Fails only when
 * the row would pass that budget; a row megasim does not model gets its
 * why_not. */
static int prepare(netfit_row *r, double nic_channels, size_t *left, prepared *p, const char *path,
                   ms_err *err)
{
    int dispatch = strcmp(r->op, "dispatch") == 0 || strcmp(r->op, "combine") == 0;
    if (dispatch && !is_ll(r) && strcmp(r->algo, "deepep-normal") != 0) {
        r->why_not = "algorithm not modelled";
        return MS_OK;
    }
    if (dispatch)
        return MS_OK; /* predicted from the link rates: see netfit_predict */
    coll_op op;
    if (coll_op_parse(r->op, &op)) {
        r->why_not = "op not modelled";
        return MS_OK;
    }
    topo_spec ts = {.gpus = r->gpus,
                    .domain_size = r->gpus_per_node,
                    .scaleup_bw_Bps = r->chip->scale_up_bw_Bps,
                    .scaleup_latency_s = 0, /* the fitted per-step cost holds latency */
                    .fabric = r->gpus > r->gpus_per_node ? TOPO_FABRIC_FATTREE : TOPO_FABRIC_NONE,
                    .tiers = 2,
                    .oversubscription = 1,
                    .switch_radix = 64,
                    .nic_bw_Bps = isnan(r->nic_Bps) ? r->chip->scale_out_bw_Bps : r->nic_Bps,
                    .nic_latency_s = 0,
                    .sites = 1};
    ms_err ignored = {0};
    if (topo_build(&ts, &p->t, &ignored)) {
        r->why_not = "topology not buildable";
        return MS_OK;
    }
    p->spec = (coll_spec){.op = op,
                          .algo = op == COLL_ALLTOALL ? COLL_DIRECT : COLL_RING,
                          .bytes = r->at_bytes,
                          .gpus = r->gpus,
                          .nic_channels = nic_channels > 0 ? nic_channels : 0};
    if (strcmp(r->algo, "nvls") == 0)
        p->spec.algo = r->gpus > r->gpus_per_node ? COLL_NVLS_TREE : COLL_NVLS;
    else if (strcmp(r->algo, "nvlstree") == 0)
        p->spec.algo = COLL_NVLS_TREE;
    else if (strcmp(r->algo, "default") == 0)
        p->choose = 1;
    else if (strcmp(r->algo, "ring") != 0) {
        r->why_not = "algorithm not modelled";
        return MS_OK;
    }
    if (p->choose ? coll_choice_build(p->t, &p->spec, r->nvls, &p->among, &ignored)
                  : coll_plan_build(p->t, &p->spec, &p->plan, &ignored)) {
        r->why_not = "collective not buildable";
        return MS_OK;
    }
    size_t nx = 0;
    if (p->choose)
        for (size_t k = 0; k < p->among.n; k++)
            nx += p->among.plan[k].nx;
    else
        nx = p->plan.nx;
    if (nx > *left)
        return ms_errf(err, MS_EINVAL,
                       "%s:%d: the collectives up to this %s of %lld GPUs ask for %zu transfers "
                       "to be timed, more than the %zu megasim times for one file (a fit times "
                       "each row many times): drop or shrink the largest collectives",
                       path, r->line, r->op, (long long)r->gpus, MAX_TRANSFERS - *left + nx,
                       MAX_TRANSFERS);
    *left -= nx;
    /* Routed once: a fit times each row many times. */
    if (p->choose ? coll_choice_route(p->t, &p->among, &ignored)
                  : coll_plan_route(p->t, &p->plan, &ignored)) {
        r->why_not = "out of memory";
        return MS_OK;
    }
    if (p->choose) {
        coll_result res;
        coll_algo algo;
        coll_params cp = COLL_PARAMS_IDEAL;
        if (coll_choice_time(p->t, &p->among, &cp, &algo, &res, &ignored)) {
            r->why_not = "collective not buildable";
            return MS_OK;
        }
    }
    p->ok = 1;
    return MS_OK;
}

/* Whether a note says "degraded", in any case. */
static int mentions_degraded(const char *note)
{
    static const char word[] = "degraded";
    for (const char *p = note; *p; p++) {
        size_t k = 0;
        while (word[k] && p[k] && tolower((unsigned char)p[k]) == word[k])
            k++;
        if (!word[k])
            return 1;
    }
    return 0;
}

int netfit_load(const char *path, const chip_db *db, netfit **out, ms_err *err)
{
    int rc;
    netfit *nf = calloc(1, sizeof *nf);
    *out = NULL;
    if (!nf)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    if ((rc = csvtab_read(path, &nf->csv, err)))
        goto out;
    static const char *const need[] = {"chip", "gpus",  "gpus_per_node", "nic_Gbps", "op",
                                       "algo", "bytes", "busbw_GBps",    "source"};
    int col[9];
    for (int i = 0; i < 9; i++)
        if ((col[i] = csvtab_find_col(nf->csv, need[i])) < 0) {
            rc = ms_errf(err, MS_EPARSE, "%s:1: missing column '%s'", path, need[i]);
            goto out;
        }
    size_t n = csvtab_nrows(nf->csv), left = MAX_TRANSFERS;
    nf->rows = calloc(n + 1, sizeof *nf->rows);
    nf->prep = calloc(n + 1, sizeof *nf->prep);
    if (!nf->rows || !nf->prep) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        netfit_row *r = &nf->rows[i];
        const csvtab *t = nf->csv;
        nf->n = i + 1; /* what netfit_free frees, should this row fail */
        r->line = csvtab_row_line(t, i);
        const char *name = csvtab_field(t, i, (size_t)col[0]);
        r->chip = name ? chip_db_find(db, name) : NULL;
        if (!r->chip) {
            rc = ms_errf(err, MS_EINVAL, "%s:%d: column 'chip': unknown chip '%s'", path, r->line,
                         name ? name : "");
            goto out;
        }
        double g = num(t, i, col[1]), gpn = num(t, i, col[2]), nic = num(t, i, col[3]);
        r->bytes = num(t, i, col[6]);
        double bus = num(t, i, col[7]);
        if (!(g >= 1 && g <= (double)TOPO_MAX_GPUS) || g != floor(g) ||
            (!isnan(gpn) && !(gpn >= 1 && gpn <= (double)TOPO_MAX_GPUS)) || nic < 0 ||
            r->bytes < 0 || !(bus >= 0)) {
            rc = ms_errf(err, MS_EINVAL,
                         "%s:%d: columns gpus, gpus_per_node, nic_Gbps, bytes, busbw_GBps: "
                         "expected non-negative numbers, gpus and gpus_per_node from 1 to %lld",
                         path, r->line, (long long)TOPO_MAX_GPUS);
            goto out;
        }
        r->gpus = (int64_t)g;
        r->gpus_per_node = isnan(gpn) ? (int64_t)g : (int64_t)gpn;
        r->nic_Bps = isnan(nic) ? NAN : nic * 1e9 / 8;
        r->busbw_Bps = bus * 1e9;
        snprintf(r->op, sizeof r->op, "%s", csvtab_field(t, i, (size_t)col[4]));
        snprintf(r->algo, sizeof r->algo, "%s", csvtab_field(t, i, (size_t)col[5]));
        snprintf(r->source, sizeof r->source, "%s", csvtab_field(t, i, (size_t)col[8]));
        const char *note = csvtab_find_col(t, "note") >= 0
                               ? csvtab_field(t, i, (size_t)csvtab_find_col(t, "note"))
                               : NULL;
        r->at_bytes = r->bytes;
        if (is_ll(r)) {
            /* nodes not stated: the chip's own scale-up domain */
            if (isnan(gpn) && r->chip->scale_up_domain_chips >= 1)
                r->gpus_per_node = (int64_t)r->chip->scale_up_domain_chips;
            r->at_bytes = ll_bytes(r);
            r->at_why = "DeepEP's test: 128 tokens x 8 experts a GPU";
        } else if (isnan(r->bytes)) {
            r->at_bytes = note_max_bytes(note);
            r->at_why =
                isnan(r->at_bytes) ? "size not stated: 8 GiB" : "the note's -e, largest run";
            if (isnan(r->at_bytes))
                r->at_bytes = 8.0 * 1024 * 1024 * 1024;
        }
        r->nvls = netfit_chip_has_nvls(r->chip) && note_setting(note, "NCCL_NVLS_ENABLE") != 0;
        if (note && mentions_degraded(note))
            r->why_not = "its source reports the cluster as degraded";
        else if (r->busbw_Bps <= 0 && r->bytes > 0)
            r->why_not = "measured bandwidth rounds to 0 at this size";
        /* NCCL_MIN_CTAS=N runs N channels over the node's NICs (one per
         * GPU here) instead of NCCL's default. */
        else if ((rc = prepare(r, note_setting(note, "NCCL_MIN_CTAS") / (double)r->gpus_per_node,
                               &left, &nf->prep[i], path, err)))
            goto out;
        /* Fitted: nccl-tests ring curves, DeepEP's normal kernels (whose
         * bottleneck bandwidth is the NIC's, or NVLink's within a node),
         * default or NVLS all-reduce tables from 1 GiB up, and the default
         * tables of runs that name NCCL_NVLS_ENABLE=1 at every size: NCCL
         * chose per size between its ring (or tree) and NVLS, as megasim
         * chooses, so these rows fix NVLS's per-operation cost against the
         * ring's (where NVLS stops paying, the curve follows the ring). */
        int big_ar = !isnan(r->bytes) && r->bytes >= 1024.0 * 1024 * 1024 &&
                     strcmp(r->op, "allreduce") == 0 &&
                     (strcmp(r->algo, "default") == 0 || strstr(r->algo, "nvls"));
        int nvls_run = strcmp(r->algo, "default") == 0 && r->nvls &&
                       note_setting(note, "NCCL_NVLS_ENABLE") == 1;
        r->fit = (!r->why_not && !isnan(r->bytes) &&
                  (strcmp(r->algo, "ring") == 0 || big_ar || nvls_run)) ||
                 strcmp(r->algo, "deepep-normal") == 0 || is_ll(r);
    }
    /* One fit row in five of each curve (chip, gpus, op) held out. */
    for (size_t i = 0; i < nf->n; i++) {
        netfit_row *r = &nf->rows[i];
        if (!r->fit)
            continue;
        size_t before = 0;
        for (size_t j = 0; j < i; j++) {
            const netfit_row *q = &nf->rows[j];
            before +=
                q->fit && q->chip == r->chip && q->gpus == r->gpus && strcmp(q->op, r->op) == 0;
        }
        r->held_out = before % 5 == 4;
    }
    *out = nf;
    nf = NULL;
out:
    netfit_free(nf);
    return rc;
}

void netfit_free(netfit *nf)
{
    if (!nf)
        return;
    for (size_t i = 0; i < nf->n; i++) {
        coll_plan_free(&nf->prep[i].plan);
        coll_choice_free(&nf->prep[i].among);
        topo_free(nf->prep[i].t);
    }
    free(nf->rows);
    free(nf->prep);
    csvtab_free(nf->csv);
    free(nf);
}

size_t netfit_count(const netfit *nf)
{
    return nf->n;
}

const netfit_row *netfit_at(const netfit *nf, size_t i)
{
    return &nf->rows[i];
}

double netfit_predict(const netfit *nf, size_t i, const coll_params *cp)
{
    const prepared *p = &nf->prep[i];
    const netfit_row *r = &nf->rows[i];
    if (strcmp(r->op, "dispatch") == 0 || strcmp(r->op, "combine") == 0) {
        if (is_ll(r)) {
            double nic = isnan(r->nic_Bps) ? r->chip->scale_out_bw_Bps : r->nic_Bps;
            return r->at_bytes / coll_ep_ll_time(cp, r->at_bytes, r->gpus, r->gpus_per_node,
                                                 r->chip->scale_up_bw_Bps, nic);
        }
        if (strcmp(r->algo, "deepep-normal") != 0)
            return NAN;
        /* DeepEP's bottleneck bandwidth: NVLink within a node of 8, the
         * NIC across nodes, each at its calibrated efficiency. */
        if (r->gpus <= 8)
            return r->chip->scale_up_bw_Bps * cp->eff[TOPO_LINK_SCALEUP];
        return r->chip->scale_out_bw_Bps * cp->eff[TOPO_LINK_NIC];
    }
    if (!p->ok)
        return NAN;
    coll_result res;
    ms_err err = {0};
    coll_algo algo;
    if (p->choose ? coll_choice_time(p->t, &p->among, cp, &algo, &res, &err)
                  : coll_time_analytical(p->t, &p->spec, &p->plan, cp, &res, &err))
        return NAN;
    return res.busbw_Bps;
}

const char *netfit_algo(const netfit *nf, size_t i, const coll_params *cp)
{
    const prepared *p = &nf->prep[i];
    if (!p->ok)
        return NULL;
    coll_algo algo = p->spec.algo;
    coll_result res;
    ms_err err = {0};
    if (p->choose && coll_choice_time(p->t, &p->among, cp, &algo, &res, &err))
        return NULL;
    return coll_algo_name(algo);
}

#define NPAR 9
/* Where the fit starts, and what a weak pull keeps it near: logit of each
 * efficiency (0.8), sqrt of each per-step alpha in us (9 us), log of a
 * channel's GB/s (20), sqrt of NVLS's per-operation cost (25 us) and of
 * NVLS-tree's cost per level (14 us), NCCL's own figures for the two
 * (hwLat NVLink/NVLS/Simple and NET/NVLSTree/Simple, NVIDIA/nccl
 * src/graph/tuning.cc, 2.2x). */
static const double start[NPAR] = {1.386, 3.0, 1.386, 3.0, 1.386, 3.0, 5.0, 3.742, 2.9};

/* x: logit of the scale-up, NIC and NVLS efficiencies (0, 2, 4), sqrt of
 * the scale-up and NIC alphas in us (1, 3), log of a channel's GB/s (5),
 * sqrt of NVLS's per-operation cost and of NVLS-tree's per level in us
 * (6, 7), sqrt of every NCCL operation's base cost in us (8). */
static coll_params params_of(const gsl_vector *x, double nvls_s)
{
    coll_params cp = COLL_PARAMS_IDEAL;
    double es = 1 / (1 + exp(-gsl_vector_get(x, 0))), en = 1 / (1 + exp(-gsl_vector_get(x, 2)));
    double as = gsl_vector_get(x, 1), an = gsl_vector_get(x, 3);
    cp.eff[TOPO_LINK_SCALEUP] = es;
    cp.eff[TOPO_LINK_NIC] = cp.eff[TOPO_LINK_FABRIC] = en;
    cp.alpha_s[TOPO_LINK_SCALEUP] = as * as * 1e-6;
    cp.alpha_s[TOPO_LINK_NIC] = cp.alpha_s[TOPO_LINK_FABRIC] = an * an * 1e-6;
    cp.eff[COLL_EFF_NVLS] = 1 / (1 + exp(-gsl_vector_get(x, 4)));
    cp.chan_Bps = exp(gsl_vector_get(x, 5)) * 1e9;
    double an6 = gsl_vector_get(x, 6), al = gsl_vector_get(x, 7);
    cp.alpha_s[COLL_EFF_NVLS] = nvls_s >= 0 ? nvls_s : an6 * an6 * 1e-6;
    cp.level_s = al * al * 1e-6;
    double ab = gsl_vector_get(x, 8);
    cp.base_s = ab * ab * 1e-6;
    return cp;
}

typedef struct fit_ctx {
    const netfit *nf;
    size_t *idx;
    size_t n;
    double nvls_s; /* NVLS's per-operation cost held at this; < 0: fitted */
} fit_ctx;

static int residuals(const gsl_vector *x, void *data, gsl_vector *f)
{
    const fit_ctx *ctx = data;
    coll_params cp = params_of(x, ctx->nvls_s);
    for (size_t i = 0; i < ctx->n; i++) {
        double p = netfit_predict(ctx->nf, ctx->idx[i], &cp);
        double m = ctx->nf->rows[ctx->idx[i]].busbw_Bps;
        gsl_vector_set(f, i, p > 0 ? log(p / m) : 10);
    }
    for (size_t k = 0; k < NPAR; k++) /* a weak pull to the start keeps it well posed */
        gsl_vector_set(f, ctx->n + k, 1e-3 * (gsl_vector_get(x, k) - start[k]));
    return GSL_SUCCESS;
}

/* DeepEP's low-latency kernels depend on their own two figures only, so
 * they are fitted on their own rows after the rest: x is the logit of
 * ll_eff and the sqrt of ll_alpha in us, pulled weakly to 0.8 and 9 us. */
typedef struct ll_ctx {
    const netfit *nf;
    coll_params cp;
    size_t *idx;
    size_t n;
} ll_ctx;

static const double ll_start[2] = {1.386, 3.0};

static int ll_residuals(const gsl_vector *x, void *data, gsl_vector *f)
{
    ll_ctx *ctx = data;
    double a = gsl_vector_get(x, 1);
    ctx->cp.ll_eff = 1 / (1 + exp(-gsl_vector_get(x, 0)));
    ctx->cp.ll_alpha_s = a * a * 1e-6;
    for (size_t i = 0; i < ctx->n; i++) {
        double p = netfit_predict(ctx->nf, ctx->idx[i], &ctx->cp);
        gsl_vector_set(f, i, p > 0 ? log(p / ctx->nf->rows[ctx->idx[i]].busbw_Bps) : 10);
    }
    for (size_t k = 0; k < 2; k++)
        gsl_vector_set(f, ctx->n + k, 1e-3 * (gsl_vector_get(x, k) - ll_start[k]));
    return GSL_SUCCESS;
}

static int fit_ll(const netfit *nf, coll_params *cp, ms_err *err)
{
    ll_ctx ctx = {.nf = nf, .cp = *cp, .idx = malloc((nf->n + 1) * sizeof(size_t))};
    if (!ctx.idx)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    for (size_t i = 0; i < nf->n; i++)
        if (nf->rows[i].fit && !nf->rows[i].held_out && is_ll(&nf->rows[i]))
            ctx.idx[ctx.n++] = i;
    int rc = MS_OK;
    if (ctx.n < 2) { /* nothing to fit: the kernels keep the caller's figures */
        free(ctx.idx);
        return MS_OK;
    }
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, ctx.n + 2, 2);
    gsl_vector *x = gsl_vector_alloc(2);
    if (!w || !x) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    gsl_multifit_nlinear_fdf fdf = {.f = ll_residuals, .n = ctx.n + 2, .p = 2, .params = &ctx};
    for (size_t k = 0; k < 2; k++)
        gsl_vector_set(x, k, ll_start[k]);
    int info;
    gsl_multifit_nlinear_init(x, &fdf, w);
    int status = gsl_multifit_nlinear_driver(300, 1e-10, 1e-10, 1e-10, NULL, NULL, &info, w);
    if (status != GSL_SUCCESS && status != GSL_EMAXITER) {
        rc = ms_errf(err, MS_EINVAL, "network fit of DeepEP's low-latency kernels failed: %s",
                     gsl_strerror(status));
        goto out;
    }
    const gsl_vector *p = gsl_multifit_nlinear_position(w);
    double a = gsl_vector_get(p, 1);
    cp->ll_eff = 1 / (1 + exp(-gsl_vector_get(p, 0)));
    cp->ll_alpha_s = a * a * 1e-6;
out:
    if (w)
        gsl_multifit_nlinear_free(w);
    gsl_vector_free(x);
    free(ctx.idx);
    return rc;
}

/* The root mean square of log(predicted / measured) over the fitted rows:
 * of the bandwidth-bound ones (64 MiB and up) for the link efficiencies
 * the fit sets, of DeepEP's low-latency rows for theirs. --uncertainty
 * draws the efficiencies from these. */
static void fit_spreads(const netfit *nf, coll_params *cp)
{
    double ss[2] = {0, 0};
    size_t n[2] = {0, 0};
    for (size_t i = 0; i < nf->n; i++) {
        const netfit_row *r = &nf->rows[i];
        int ll = is_ll(r);
        if (!r->fit || r->held_out || (!ll && !(r->at_bytes >= 64.0 * 1024 * 1024)))
            continue;
        double p = netfit_predict(nf, i, cp);
        if (!(p > 0) || !(r->busbw_Bps > 0))
            continue;
        double e = log(p / r->busbw_Bps);
        ss[ll] += e * e;
        n[ll]++;
    }
    double bw = n[0] ? sqrt(ss[0] / (double)n[0]) : 0;
    cp->eff_log_sd[TOPO_LINK_SCALEUP] = cp->eff_log_sd[TOPO_LINK_NIC] = bw;
    cp->eff_log_sd[TOPO_LINK_FABRIC] = cp->eff_log_sd[COLL_EFF_NVLS] = bw;
    cp->ll_log_sd = n[1] ? sqrt(ss[1] / (double)n[1]) : 0;
}

int netfit_run(netfit *nf, coll_params *cp, ms_err *err)
{
    fit_ctx ctx = {.nf = nf, .idx = malloc((nf->n + 1) * sizeof(size_t))};
    gsl_vector *x = gsl_vector_alloc(NPAR);
    gsl_multifit_nlinear_workspace *w = NULL;
    int rc = MS_OK;
    if (!ctx.idx || !x) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nf->n; i++)
        if (nf->rows[i].fit && !nf->rows[i].held_out && !is_ll(&nf->rows[i]))
            ctx.idx[ctx.n++] = i;
    if (ctx.n < NPAR) {
        rc = ms_errf(err, MS_EINVAL, "only %zu rows to fit; need at least %d", ctx.n, NPAR);
        goto out;
    }
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, ctx.n + NPAR, NPAR);
    if (!w) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    /* Where NCCL's default picks the algorithm, the prediction is the least
     * of ring and NVLS: the cost has a kink where the choice flips, and a
     * descent started where NVLS wins at every size stays there, NVLS's
     * latency low and its efficiency pulled down to fit sizes that NCCL
     * runs as a ring. So NVLS's per-operation cost is profiled: held at
     * each of a grid (4 us to 256 us, steps of 2^(1/4)), everything else
     * fitted, the lowest cost kept. */
    gsl_multifit_nlinear_fdf fdf = {.f = residuals, .n = ctx.n + NPAR, .p = NPAR, .params = &ctx};
    double best = INFINITY;
    for (int g = 0; g <= 24; g++) {
        ctx.nvls_s = 4e-6 * pow(2, g / 4.0);
        for (size_t k = 0; k < NPAR; k++)
            gsl_vector_set(x, k, start[k]);
        gsl_vector_set(x, 6, sqrt(ctx.nvls_s * 1e6));
        int info;
        gsl_multifit_nlinear_init(x, &fdf, w);
        int status = gsl_multifit_nlinear_driver(300, 1e-10, 1e-10, 1e-10, NULL, NULL, &info, w);
        if (status != GSL_SUCCESS && status != GSL_EMAXITER) {
            rc = ms_errf(err, MS_EINVAL, "network fit failed: %s", gsl_strerror(status));
            goto out;
        }
        double cost;
        gsl_blas_ddot(gsl_multifit_nlinear_residual(w), gsl_multifit_nlinear_residual(w), &cost);
        if (cost < best) {
            best = cost;
            *cp = params_of(gsl_multifit_nlinear_position(w), ctx.nvls_s);
        }
    }
    if (!rc)
        rc = fit_ll(nf, cp, err);
    if (!rc)
        fit_spreads(nf, cp);
out:
    if (w)
        gsl_multifit_nlinear_free(w);
    gsl_vector_free(x);
    free(ctx.idx);
    return rc;
}

int netfit_write(const char *path, const coll_params *cp, const netfit *nf, ms_err *err)
{
    size_t nfit = 0, nheld = 0;
    for (size_t i = 0; i < nf->n; i++) {
        nfit += nf->rows[i].fit && !nf->rows[i].held_out;
        nheld += nf->rows[i].held_out;
    }
    /* Name each distinct source of the fitted rows (up to what fits). */
    char sources[4000] = "";
    for (size_t i = 0; i < nf->n; i++) {
        const netfit_row *r = &nf->rows[i];
        if (!r->fit || strstr(sources, r->source))
            continue;
        size_t used = strlen(sources);
        if (used + strlen(r->source) + 3 < sizeof sources)
            snprintf(sources + used, sizeof sources - used, "%s%s", used ? "; " : "", r->source);
    }
    for (char *q = sources; *q; q++)
        if (*q == '"')
            *q = '\'';
    /* Written whole or not at all; locked so that two calibrations of one
     * file take turns, as every writer of calibration output does. */
    afile *af = NULL;
    int lock = -1, rc = afile_lock(path, &lock, err);
    if (!rc)
        rc = afile_open(path, &af, err);
    if (rc) {
        afile_unlock(lock);
        return rc;
    }
    FILE *f = afile_stream(af);
    static const struct {
        const char *name;
        int kind; /* topo_link_kind or COLL_EFF_NVLS */
    } rows[] = {{"scaleup", TOPO_LINK_SCALEUP},
                {"nic", TOPO_LINK_NIC},
                {"fabric", TOPO_LINK_FABRIC},
                {"nvls", COLL_EFF_NVLS},
                {"deepep_ll", LL_KIND}};
    fprintf(f, "link_kind,bw_eff,alpha_us,chan_GBps,level_us,base_us,log_sd,measured_on,source\n");
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        int ll = rows[k].kind == LL_KIND;
        char chan[32] = "", level[32] = "", base[32] = "";
        if (rows[k].kind == TOPO_LINK_SCALEUP)
            snprintf(base, sizeof base, "%.3f", cp->base_s * 1e6);
        if (rows[k].kind == TOPO_LINK_NIC && cp->chan_Bps > 0)
            snprintf(chan, sizeof chan, "%.2f", cp->chan_Bps / 1e9);
        if (rows[k].kind == TOPO_LINK_NIC)
            snprintf(level, sizeof level, "%.3f", cp->level_s * 1e6);
        double sd = ll ? cp->ll_log_sd : cp->eff_log_sd[rows[k].kind];
        fprintf(
            f,
            "%s,%.4f,%.3f,%s,%s,%s,%.4f,H100;H800,\"fitted by 'megasim calibrate --network' (GSL "
            "least "
            "squares on log bus bandwidth) to %zu rows of validation/published_net.csv "
            "(nccl-tests ring curves, default and NVLS all-reduce from 1 GiB, default tables of "
            "NCCL_NVLS_ENABLE=1 runs at every size, DeepEP normal and low-latency kernels), %zu "
            "more held out; log_sd: the root mean square of log(predicted / measured) over the "
            "fitted rows of 64 MiB and up (DeepEP's low-latency rows for deepep_ll), what "
            "--uncertainty draws bw_eff from%s; from: %s\"\n",
            rows[k].name, ll ? cp->ll_eff : cp->eff[rows[k].kind],
            (ll ? cp->ll_alpha_s : cp->alpha_s[rows[k].kind]) * 1e6, chan, level, base, sd, nfit,
            nheld,
            ll ? "; DeepEP's low-latency kernels (decode's expert exchange), fitted on their own "
                 "rows: bw_eff, the share of the NIC's rate (and of scale-up's, to domain peers) "
                 "they reach; alpha_us, their fixed cost per dispatch or combine"
            : rows[k].kind == TOPO_LINK_FABRIC ? "; tied to the NIC figures"
            : rows[k].kind == COLL_EFF_NVLS
                ? "; NVLS traffic on scale-up links; alpha_us: the whole NVLS operation's fixed "
                  "cost (one pipelined step), profiled on a grid of 4-256 us; NCCL's tuner has "
                  "23-25 us (NVIDIA/nccl src/graph/tuning.cc hwLat NVLink/NVLS)"
            : rows[k].kind == TOPO_LINK_NIC
                ? "; chan_GBps: most one NCCL channel moves through a NIC; level_us: each level "
                  "of NVLS-tree's tree between domains, 2 ceil(log2 nodes) of them (NCCL's "
                  "tuner: 14 us + the network's, hwLat NET/NVLSTree)"
            : rows[k].kind == TOPO_LINK_SCALEUP
                ? "; base_us: paid once by every NCCL all-reduce, all-gather, reduce-scatter "
                  "and broadcast (launch and NCCL's baseLat)"
                : "",
            sources);
    }
    rc = afile_commit(af, err);
    afile_unlock(lock);
    return rc;
}
