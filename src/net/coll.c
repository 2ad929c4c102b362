/* coll: see coll.h. */
#include "net/coll.h"

#include <assert.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/num.h"
#include "core/sim.h"
#include "core/vec.h"
#include "io/csvtab.h"
#include "net/flow.h"

#define MAX_PATH 64

static const char *const op_names[] = {
#define COLL_OP_NAME(e, name) name,
    COLL_OP_MAP(COLL_OP_NAME)
#undef COLL_OP_NAME
};

const char *coll_op_name(coll_op op)
{
    return op_names[op];
}

int coll_op_parse(const char *name, coll_op *out)
{
    for (int i = 0; i < COLL_OP_COUNT; i++)
        if (strcmp(name, op_names[i]) == 0) {
            *out = (coll_op)i;
            return 0;
        }
    return -1;
}

const char *coll_algo_name(coll_algo a)
{
    static const char *const names[] = {"ring", "tree", "hier", "direct", "nvls", "nvls_tree"};
    return names[a];
}

const char *coll_op_list(void)
{
    return "allreduce, allgather, reducescatter, alltoall, dispatch, combine, sendrecv, broadcast";
}

double coll_bus_factor(coll_op op, int64_t n)
{
    double nn = (double)n;
    switch (op) {
    case COLL_ALLREDUCE:
        return 2 * (nn - 1) / nn;
    case COLL_ALLGATHER:
    case COLL_REDUCESCATTER:
    case COLL_ALLTOALL:
        return (nn - 1) / nn;
    default:
        return 1;
    }
}

/* ---- plans ---- */

typedef struct builder {
    coll_plan *p;
    size_t xcap, scap;
    int64_t stride; /* participant index -> GPU */
    int oom;
} builder;

static void begin_step(builder *b, int64_t repeat)
{
    if (b->oom)
        return;
    coll_plan *p = b->p;
    /* step_off and repeat share scap: each grows from its own copy of it. */
    size_t ocap = b->scap, rcap = b->scap;
    size_t *off = vec_grow(p->step_off, &ocap, p->nsteps + 2, 16, sizeof *off);
    if (off)
        p->step_off = off;
    int64_t *rep = vec_grow(p->repeat, &rcap, p->nsteps + 2, 16, sizeof *rep);
    if (rep)
        p->repeat = rep;
    if (!off || !rep) {
        b->oom = 1;
        return;
    }
    b->scap = ocap;
    p->step_off[p->nsteps] = p->nx;
    p->repeat[p->nsteps] = repeat;
    p->nsteps++;
    p->step_off[p->nsteps] = p->nx;
}

/* Appends one transfer to the current step; on a failed allocation marks
 * the builder out of memory and drops it. */
static void push(builder *b, coll_xfer x)
{
    if (b->oom)
        return;
    coll_plan *p = b->p;
    coll_xfer *nx = vec_grow(p->x, &b->xcap, p->nx + 1, 256, sizeof *nx);
    if (!nx) {
        b->oom = 1;
        return;
    }
    p->x = nx;
    p->x[p->nx++] = x;
    p->step_off[p->nsteps] = p->nx;
}

static void add(builder *b, int64_t src, int64_t dst, double bytes)
{
    if (src != dst)
        push(b, (coll_xfer){(int32_t)(src * b->stride), (int32_t)(dst * b->stride), bytes});
}

/* Participant i's traffic with its domain's switch: up bytes on its own
 * scale-up link into the switch, down bytes from the switch. */
static void add_switch(builder *b, int64_t i, double up, double down)
{
    int32_t g = (int32_t)(i * b->stride);
    push(b, (coll_xfer){g, COLL_SWITCH, up});
    push(b, (coll_xfer){COLL_SWITCH, g, down});
}

/* NCCL's double binary tree over the nodes, for the slice of local index
 * r (h bytes per tree): tree A has node 0 as root with the single child 1,
 * and node k the children 2k and 2k + 1 (the shape of NCCL's ncclGetBtree);
 * tree B is its mirror (node k plays A's node nodes-1-k), so a node inner
 * in one tree is a leaf in the other. Each tree reduces up and broadcasts
 * down, pipelined: both directions in the same step. From 4 nodes on, the
 * busiest node sends and receives 2 h x 2 per slice, twice what 2 nodes
 * do: NCCL's model halves NVLSTree's inter-node bandwidth beyond 2 nodes
 * (src/graph/tuning.cc: bwInter/2 when nNodes > 2). */
static void tree_over_nodes(builder *b, int64_t nodes, int64_t d, int64_t r, double h)
{
    for (int mirror = 0; mirror < 2; mirror++)
        for (int64_t k = 1; k < nodes; k++) {
            int64_t parent = k == 1 ? 0 : k / 2;
            int64_t child_node = mirror ? nodes - 1 - k : k;
            int64_t parent_node = mirror ? nodes - 1 - parent : parent;
            add(b, child_node * d + r, parent_node * d + r, h); /* reduce up */
            add(b, parent_node * d + r, child_node * d + r, h); /* broadcast down */
        }
}

/* GPU at position pos of ring r. Rings snake through the nodes: even
 * nodes are walked upward from local GPU r, odd nodes downward from r - 1,
 * so every hop between nodes leaves and enters on the same local index,
 * that is the same rail (NIC r to NIC r, one leaf switch, as NCCL's rings
 * do); only the closing hop of an odd number of nodes changes rail. */
static int64_t ring_gpu(int64_t pos, int64_t r, int64_t d)
{
    int64_t node = pos / d, j = pos % d;
    int64_t local = node % 2 == 0 ? (r + j) % d : ((r - 1 - j) % d + d) % d;
    return node * d + local;
}

static void ring_step(builder *b, int64_t n, int64_t d, int64_t rings, double chunk, int64_t reps)
{
    begin_step(b, reps);
    for (int64_t r = 0; r < rings; r++)
        for (int64_t pos = 0; pos < n; pos++)
            add(b, ring_gpu(pos, r, d), ring_gpu((pos + 1) % n, r, d), chunk);
}

/* Binary-tree levels, heap order: parent of k is (k - 1) / 2. */
static int tree_depth(int64_t n)
{
    int d = 0;
    while (((int64_t)1 << (d + 1)) - 1 < n)
        d++;
    return d;
}

static void tree_steps(builder *b, int64_t n, double bytes, int up, int down)
{
    int depth = tree_depth(n);
    if (up)
        for (int level = depth; level >= 1; level--) {
            begin_step(b, 1);
            for (int64_t k = ((int64_t)1 << level) - 1;
                 k < n && k < ((int64_t)1 << (level + 1)) - 1; k++)
                add(b, k, (k - 1) / 2, bytes);
        }
    if (down)
        for (int level = 1; level <= depth; level++) {
            begin_step(b, 1);
            for (int64_t k = ((int64_t)1 << level) - 1;
                 k < n && k < ((int64_t)1 << (level + 1)) - 1; k++)
                add(b, (k - 1) / 2, k, bytes);
        }
}

int coll_plan_build(const topo *t, const coll_spec *c, coll_plan *out, ms_err *err)
{
    *out = (coll_plan){0};
    const topo_spec *ts = topo_get_spec(t);
    int64_t n = c->gpus, stride = c->stride > 1 ? c->stride : 1;
    if (n < 2 || n > (ts->gpus - 1) / stride + 1)
        return ms_errf(err, MS_EINVAL,
                       "field 'gpus': expected 2 to %lld GPUs at a stride of %lld, got %lld",
                       (long long)((ts->gpus - 1) / stride + 1), (long long)stride, (long long)n);
    if (!(c->bytes > 0) || !isfinite(c->bytes))
        return ms_errf(err, MS_EINVAL, "field 'bytes': expected a size > 0, got %g", c->bytes);
    int64_t D = ts->domain_size > 0 ? ts->domain_size : 1;
    if (stride > 1 && (stride < D ? D % stride : stride % D) != 0)
        return ms_errf(err, MS_EINVAL,
                       "field 'stride': %lld neither divides nor is a multiple of the domain of "
                       "%lld GPUs",
                       (long long)stride, (long long)D);
    int64_t per_domain = stride < D ? D / stride : 1;
    int64_t d = per_domain < n ? per_domain : n;
    if (d < 1)
        d = 1;
    if (n % d != 0)
        return ms_errf(err, MS_EINVAL, "field 'gpus': %lld GPUs do not fill domains of %lld",
                       (long long)n, (long long)d);
    int64_t nodes = n / d;
    int64_t rings = c->channels > 0 ? c->channels : d;
    double S = c->bytes;
    builder b = {.p = out, .stride = stride};
    int ring_op = c->op == COLL_ALLREDUCE || c->op == COLL_ALLGATHER || c->op == COLL_REDUCESCATTER;
    if (!ring_op && c->algo != COLL_DIRECT && !(c->op == COLL_BROADCAST && c->algo == COLL_TREE))
        return ms_errf(err, MS_EINVAL, "%s has no ring, tree or hierarchical algorithm here",
                       coll_op_name(c->op));
    if (c->op != COLL_ALLREDUCE && (c->algo == COLL_HIER || (c->algo == COLL_TREE && ring_op)))
        return ms_errf(err, MS_EINVAL, "%s: tree and hier are all-reduce algorithms; use ring",
                       coll_op_name(c->op));
    if (c->algo == COLL_NVLS || c->algo == COLL_NVLS_TREE) {
        if (!ring_op || (c->algo == COLL_NVLS_TREE && c->op != COLL_ALLREDUCE))
            return ms_errf(err, MS_EINVAL, "%s has no %s algorithm here", coll_op_name(c->op),
                           coll_algo_name(c->algo));
        if (ts->domain_size < 2 || d < 2)
            return ms_errf(err, MS_EINVAL,
                           "algo '%s': needs at least 2 GPUs in a domain with a switch",
                           coll_algo_name(c->algo));
        if (c->algo == COLL_NVLS && nodes > 1)
            return ms_errf(err, MS_EINVAL,
                           "algo 'nvls': %lld GPUs span %lld domains; use nvls_tree (all-reduce)",
                           (long long)n, (long long)nodes);
        if (c->algo == COLL_NVLS_TREE && nodes < 2)
            return ms_errf(err, MS_EINVAL, "algo 'nvls_tree': needs at least 2 domains; use nvls");
    }

    if (c->algo == COLL_NVLS || c->algo == COLL_NVLS_TREE) {
        /* One pipelined step. Every GPU's whole buffer is read through the
         * switch by multimem loads that reduce (its own slice too: the
         * load reads every member of the multicast group), and every
         * reduced slice is multicast back by multimem stores, so each
         * GPU's scale-up link carries S + S/n each way, where a ring
         * carries 2(n-1)/n S: bus bandwidth is no longer the link's
         * (nccl-tests doc/PERFORMANCE.md defines busbw from the ring's
         * 2(n-1)/n, so NVLS reports more than the link rate). */
        double up = c->op == COLL_ALLGATHER ? S / (double)d : S;
        double down = c->op == COLL_REDUCESCATTER ? S / (double)d : S;
        if (c->op == COLL_ALLREDUCE) {
            up += S / (double)d;
            down += S / (double)d;
        }
        if (c->algo == COLL_NVLS_TREE) {
            /* Our assumption, not read from NCCL's code: the slice each
             * GPU sends over the network and the one it receives pass
             * once more through the switch (S/d each way). nccl#1221
             * measured 430 GB/s busbw on 1 and on 2 nodes of the same
             * machine, and 469 (2 nodes, nccl-tests#309) against 479 (1
             * node, together-nccl-tests): 2 nodes' algbw is 0.91-0.93 of
             * one node's; this term gives 0.9, none gives 1. */
            up += S / (double)d;
            down += S / (double)d;
        }
        begin_step(&b, 1);
        for (int64_t i = 0; i < n; i++)
            add_switch(&b, i, up, down);
        if (c->algo == COLL_NVLS_TREE) {
            for (int64_t r = 0; r < d; r++)
                tree_over_nodes(&b, nodes, d, r, S / (double)d / 2);
            /* The first chunk climbs the tree and comes back down before
             * the pipeline runs full: 2 ceil(log2 nodes) levels in turn,
             * as NCCL's tuner counts 2 log2i(nNodes) x interLat. */
            for (int64_t k = 1; k < nodes; k *= 2)
                out->levels += 2;
        }
        goto built;
    }
    switch (c->op) {
    case COLL_ALLREDUCE:
        if (c->algo == COLL_RING || c->algo == COLL_DIRECT) {
            ring_step(&b, n, d, rings, S / (double)(n * rings), 2 * (n - 1));
        } else if (c->algo == COLL_TREE) {
            tree_steps(&b, n, S, 1, 1);
        } else { /* hier: reduce-scatter in domains, all-reduce across, all-gather in */
            if (d < 2 || nodes < 2) {
                coll_plan_free(out);
                return ms_errf(err, MS_EINVAL,
                               "algo 'hier': needs at least 2 domains of at least 2 GPUs, got "
                               "%lld of %lld",
                               (long long)nodes, (long long)d);
            }
            for (int phase = 0; phase < 3; phase++) {
                if (phase == 1) {
                    begin_step(&b, 2 * (nodes - 1));
                    for (int64_t r = 0; r < d; r++)
                        for (int64_t i = 0; i < nodes; i++)
                            add(&b, i * d + r, ((i + 1) % nodes) * d + r, S / (double)n);
                    continue;
                }
                begin_step(&b, d - 1);
                for (int64_t i = 0; i < nodes; i++)
                    for (int64_t j = 0; j < d; j++)
                        add(&b, i * d + j, i * d + (j + 1) % d, S / (double)d);
            }
        }
        break;
    case COLL_ALLGATHER:
    case COLL_REDUCESCATTER:
        ring_step(&b, n, d, rings, S / (double)(n * rings), n - 1);
        break;
    case COLL_ALLTOALL:
        begin_step(&b, 1);
        for (int64_t s = 0; s < n; s++)
            for (int64_t k = 1; k < n; k++)
                add(&b, s, (s + k) % n, S / (double)n);
        break;
    case COLL_DISPATCH:
    case COLL_COMBINE: {
        int64_t K = c->ep_nodes_limit > 0 ? c->ep_nodes_limit : nodes;
        if (K > nodes) {
            coll_plan_free(out);
            return ms_errf(err, MS_EINVAL,
                           "field 'ep_nodes_limit': %lld is more than the %lld nodes", (long long)K,
                           (long long)nodes);
        }
        /* Tokens cross to the same local GPU of each of K nodes, then
         * spread over that node's GPUs by scale-up (DeepEP's scheme). */
        for (int phase = 0; phase < 2; phase++) {
            int inter = (c->op == COLL_DISPATCH) == (phase == 0);
            begin_step(&b, 1);
            for (int64_t i = 0; i < nodes; i++)
                for (int64_t r = 0; r < d; r++) {
                    int64_t g = i * d + r;
                    if (inter)
                        for (int64_t k = 1; k < K; k++) {
                            int64_t peer = ((i + k) % nodes) * d + r;
                            if (c->op == COLL_DISPATCH)
                                add(&b, g, peer, S / (double)K);
                            else
                                add(&b, peer, g, S / (double)K);
                        }
                    else
                        for (int64_t j = 1; j < d; j++) {
                            int64_t peer = i * d + (r + j) % d;
                            add(&b, g, peer, S / (double)d);
                        }
                }
        }
        break;
    }
    case COLL_SENDRECV:
        begin_step(&b, 1);
        add(&b, 0, n - 1, S);
        break;
    case COLL_BROADCAST:
        tree_steps(&b, n, S, 0, 1);
        break;
    default:
        break;
    }
built:
    if (b.oom) {
        coll_plan_free(out);
        return ms_errf(err, MS_ENOMEM, "out of memory building the %s plan", coll_op_name(c->op));
    }
    return MS_OK;
}

void coll_plan_free(coll_plan *p)
{
    if (!p)
        return;
    free(p->x);
    free(p->step_off);
    free(p->repeat);
    free(p->hop);
    free(p->hop_off);
    *p = (coll_plan){0};
}

double coll_plan_bytes(const coll_plan *p)
{
    double total = 0;
    for (size_t k = 0; k < p->nsteps; k++)
        for (size_t i = p->step_off[k]; i < p->step_off[k + 1]; i++)
            total += p->x[i].bytes * (double)p->repeat[k];
    return total;
}

static void finish(const coll_spec *c, double time_s, coll_result *out)
{
    out->time_s = time_s;
    out->algbw_Bps = c->bytes / time_s;
    out->busbw_Bps = out->algbw_Bps * coll_bus_factor(c->op, c->gpus);
}

/* ---- timing ---- */

/* The links transfer x crosses: a switch endpoint is one scale-up link. */
static size_t xroute(const topo *t, const coll_xfer *x, int32_t *path, size_t cap)
{
    if (x->dst == COLL_SWITCH || x->src == COLL_SWITCH) {
        if (cap > 0)
            path[0] = (int32_t)topo_scaleup_link(t, x->src == COLL_SWITCH ? x->dst : x->src,
                                                 x->src == COLL_SWITCH);
        return 1;
    }
    return topo_route(t, x->src, x->dst, path, cap);
}

/* The links of p's transfer i in *path (p's routes, or routed into buf of
 * MAX_PATH); returns how many (at most MAX_PATH). */
static size_t links_of(const topo *t, const coll_plan *p, size_t i, int32_t *buf,
                       const int32_t **path)
{
    if (p->hop) {
        *path = p->hop + p->hop_off[i];
        return p->hop_off[i + 1] - p->hop_off[i];
    }
    size_t len = xroute(t, &p->x[i], buf, MAX_PATH);
    *path = buf;
    return len < MAX_PATH ? len : MAX_PATH;
}

int coll_plan_route(const topo *t, coll_plan *p, ms_err *err)
{
    size_t *off = malloc((p->nx + 1) * sizeof *off), cap = p->nx * 4 + 16, n = 0;
    int32_t *hop = malloc(cap * sizeof *hop);
    if (!off || !hop)
        goto oom;
    for (size_t i = 0; i < p->nx; i++) {
        off[i] = n;
        if (n + MAX_PATH > cap) {
            int32_t *g = vec_grow(hop, &cap, n + MAX_PATH, 1024, sizeof *hop);
            if (!g)
                goto oom;
            hop = g;
        }
        size_t len = xroute(t, &p->x[i], hop + n, MAX_PATH);
        n += len < MAX_PATH ? len : MAX_PATH;
    }
    off[p->nx] = n;
    free(p->hop);
    free(p->hop_off);
    p->hop = hop;
    p->hop_off = off;
    return MS_OK;
oom:
    free(off);
    free(hop);
    return ms_errf(err, MS_ENOMEM, "out of memory routing a collective's plan");
}

/* Index into coll_params.eff/alpha_s for link l carrying transfer x. */
static int eff_index(const topo_link *l, const coll_xfer *x)
{
    return (x->src == COLL_SWITCH || x->dst == COLL_SWITCH) ? COLL_EFF_NVLS : (int)l->kind;
}

/* Whether c runs as an NCCL collective kernel (ring, tree, NVLS): what NCCL's
 * channels and per-operation base cost apply to; all-to-all and DeepEP's
 * dispatch and combine do not. */
static int nccl_kernel(const coll_spec *c)
{
    return c && (c->op == COLL_ALLREDUCE || c->op == COLL_ALLGATHER ||
                 c->op == COLL_REDUCESCATTER || c->op == COLL_BROADCAST);
}

/* The fixed cost c pays once before its first step: NCCL's base cost and
 * the levels of NVLS-tree's tree. */
static double lead_time(const coll_spec *c, const coll_plan *p, const coll_params *cp)
{
    return (nccl_kernel(c) ? cp->base_s : 0) + (double)p->levels * cp->level_s;
}

/* What link l carries per second for the transfers of c: its rate times
 * its efficiency, and for a NIC link under NCCL's ring, tree and NVLS
 * algorithms at most c's channels through it times what one channel moves
 * (all-to-all and DeepEP's dispatch and combine are not NCCL channels). */
static double link_cap(const topo_link *l, const coll_params *cp, const coll_spec *c)
{
    double cap = l->bw_Bps * cp->eff[l->kind];
    if (l->kind == TOPO_LINK_NIC && cp->chan_Bps > 0 && nccl_kernel(c)) {
        double ch = c && c->nic_channels > 0 ? c->nic_channels : COLL_NIC_CHANNELS;
        cap = fmin(cap, ch * cp->chan_Bps);
    }
    return cap;
}

/* ---- analytical ---- */

/* fmax, inlined: the analytical timing's inner loops run it per link
 * crossed, and a fit runs them millions of times (NaN as fmax takes it). */
static inline double max_of(double a, double b)
{
    return a > b || isnan(b) ? a : b;
}

int coll_time_analytical(const topo *t, const coll_spec *c, const coll_plan *p,
                         const coll_params *cp, coll_result *out, ms_err *err)
{
    size_t nl = topo_nlinks(t);
    double *load = calloc(nl + 1, sizeof *load);
    int32_t *touched = malloc((nl + 1) * sizeof *touched);
    if (!load || !touched) {
        free(load);
        free(touched);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    *out = (coll_result){0};
    double total = 0;
    int32_t buf[MAX_PATH];
    for (size_t k = 0; k < p->nsteps; k++) {
        /* First the bytes on every link; then each transfer's own end: its
         * path latency plus its busiest link's bytes over its bandwidth. */
        size_t ntouched = 0;
        double alpha = 0, step = 0;
        /* NVLS bytes are counted in link-seconds at their own efficiency,
         * as the bytes a link at its usual efficiency would carry in the
         * same time, so both kinds of traffic can share one load. */
        for (size_t i = p->step_off[k]; i < p->step_off[k + 1]; i++) {
            const int32_t *path;
            size_t len = links_of(t, p, i, buf, &path);
            for (size_t h = 0; h < len; h++) {
                const topo_link *l = topo_link_at(t, (size_t)path[h]);
                int e = eff_index(l, &p->x[i]);
                if (load[path[h]] == 0)
                    touched[ntouched++] = path[h];
                load[path[h]] += p->x[i].bytes * cp->eff[l->kind] / cp->eff[e];
                alpha = max_of(alpha, cp->alpha_s[e]);
            }
        }
        for (size_t i = p->step_off[k]; i < p->step_off[k + 1]; i++) {
            const int32_t *path;
            size_t len = links_of(t, p, i, buf, &path);
            double lat = 0, drain = 0;
            for (size_t h = 0; h < len; h++) {
                const topo_link *l = topo_link_at(t, (size_t)path[h]);
                lat += l->latency_s;
                drain = max_of(drain, load[path[h]] / link_cap(l, cp, c));
            }
            step = max_of(step, lat + drain);
        }
        for (size_t u = 0; u < ntouched; u++)
            load[touched[u]] = 0;
        total += (double)p->repeat[k] * (alpha + step);
        out->steps += p->repeat[k];
    }
    total += lead_time(c, p, cp);
    out->transfers = p->nx;
    free(load);
    free(touched);
    finish(c, total, out);
    return MS_OK;
}

/* ---- flow ---- */

typedef struct runner {
    const topo *t;
    const coll_plan *p;
    const coll_params *cp;
    flow_net *net;
    size_t step;    /* current step */
    int64_t rep;    /* repetitions of it done */
    int full;       /* run every repetition (else: once, then scaled) */
    size_t pending; /* transfers of the current step still flowing */
    double lead_s;  /* paid once before the first step: lead_time() */
    double step_start_s;
    double scaled_s; /* time added for repetitions not simulated */
    double end_s;
    int done;
    int oom;
} runner;

static void start_step(sim *s, runner *r);

static void on_xfer_done(sim *s, void *ctx, int64_t id)
{
    (void)id;
    runner *r = ctx;
    if (--r->pending > 0)
        return;
    double now = sim_time_to_s(sim_now(s));
    int64_t reps = r->p->repeat[r->step];
    if (!r->full && reps > 1) {
        r->scaled_s += (double)(reps - 1) * (now - r->step_start_s);
        r->rep = reps;
    } else {
        r->rep++;
    }
    if (r->rep >= reps) {
        r->step++;
        r->rep = 0;
    }
    if (r->step >= r->p->nsteps) {
        r->done = 1;
        r->end_s = now;
        return;
    }
    start_step(s, r);
}

static void start_transfers(sim *s, void *ctx, sim_payload pl)
{
    (void)s;
    (void)pl;
    runner *r = ctx;
    int32_t path[MAX_PATH];
    const coll_plan *p = r->p;
    size_t a = p->step_off[r->step], z = p->step_off[r->step + 1];
    r->pending = z - a;
    flow_hold(r->net);
    for (size_t i = a; i < z; i++) {
        size_t len = xroute(r->t, &p->x[i], path, MAX_PATH);
        double lat = 0, bytes = p->x[i].bytes;
        for (size_t h = 0; h < len; h++) {
            const topo_link *l = topo_link_at(r->t, (size_t)path[h]);
            lat += l->latency_s;
            if (h == 0) /* NVLS traffic (one link): scaled to its efficiency */
                bytes *= r->cp->eff[l->kind] / r->cp->eff[eff_index(l, &p->x[i])];
        }
        if (flow_start(r->net, path, len, bytes, lat, on_xfer_done, r) < 0) {
            r->oom = 1;
            break;
        }
    }
    flow_release(r->net);
}

static void start_step(sim *s, runner *r)
{
    const coll_plan *p = r->p;
    /* The plan's lead (base cost, NVLS-tree's levels) goes before its first step and
     * outside the step's time, so repeats of that step do not repeat it. */
    double lead = r->step == 0 && r->rep == 0 ? r->lead_s : 0;
    r->step_start_s = sim_time_to_s(sim_now(s)) + lead;
    /* The step's fixed cost first: the largest alpha of the kinds it crosses. */
    double alpha = 0;
    int32_t path[MAX_PATH];
    for (size_t i = p->step_off[r->step]; i < p->step_off[r->step + 1]; i++) {
        size_t len = xroute(r->t, &p->x[i], path, MAX_PATH);
        for (size_t h = 0; h < len; h++)
            alpha = fmax(alpha,
                         r->cp->alpha_s[eff_index(topo_link_at(r->t, (size_t)path[h]), &p->x[i])]);
    }
    if (p->step_off[r->step] == p->step_off[r->step + 1]) { /* an empty step */
        r->pending = 1;
        on_xfer_done(s, r, -1);
        return;
    }
    if (sim_event_is_none(sim_after_s(s, lead + alpha, start_transfers, r, (sim_payload){0})))
        r->oom = 1; /* or a time past the clock's range, which the run reports */
}

static int run_flows(const topo *t, const coll_spec *const *c, const coll_plan *const *p, size_t n,
                     const coll_params *cp, int full, coll_result *out, ms_err *err)
{
    sim *s = NULL;
    flow_net *net = NULL;
    runner *rs = calloc(n + 1, sizeof *rs);
    size_t nl = topo_nlinks(t);
    double *cap = malloc((nl + 1) * sizeof *cap);
    int rc = MS_OK;
    if (!rs || !cap) {
        rc = ms_errf(err, MS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t l = 0; l < nl; l++) /* a NIC's channels: the first collective's */
        cap[l] = link_cap(topo_link_at(t, l), cp, n ? c[0] : NULL);
    if ((rc = sim_new(&s, err)) || (rc = flow_net_new(s, cap, nl, &net, err)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        rs[i] = (runner){.t = t,
                         .p = p[i],
                         .cp = cp,
                         .net = net,
                         .full = full,
                         .lead_s = lead_time(c[i], p[i], cp)};
        if (p[i]->nsteps == 0) {
            rs[i].done = 1;
            continue;
        }
        start_step(s, &rs[i]);
    }
    if ((rc = sim_run(s, err)) || (rc = flow_net_error(net, err)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].oom || !rs[i].done) {
            rc = ms_errf(err, MS_ENOMEM, "the flow simulation of %s did not finish (out of memory)",
                         coll_op_name(c[i]->op));
            goto out;
        }
        out[i] = (coll_result){.transfers = p[i]->nx};
        for (size_t k = 0; k < p[i]->nsteps; k++)
            out[i].steps += p[i]->repeat[k];
        finish(c[i], rs[i].end_s + rs[i].scaled_s, &out[i]);
    }
out:
    flow_net_free(net);
    sim_free(s);
    free(rs);
    free(cap);
    return rc;
}

int coll_time_flow(const topo *t, const coll_spec *c, const coll_plan *p, const coll_params *cp,
                   coll_result *out, ms_err *err)
{
    return run_flows(t, &c, &p, 1, cp, 0, out, err);
}

int coll_time_flow_many(const topo *t, const coll_spec *const *c, const coll_plan *const *p,
                        size_t n, const coll_params *cp, coll_result *out, ms_err *err)
{
    return run_flows(t, c, p, n, cp, 1, out, err);
}

/* An optional numeric column of a network.csv row, read only on the row
 * kind it belongs to (row_ok, named row): blank leaves *out as it is;
 * otherwise the value times scale, which must be > 0 (>= 0 when zero_ok)
 * and at most 1e6 in the file's unit. */
static int optional_column(const csvtab *t, size_t r, int col, const char *name,
                           const char *expected, int zero_ok, int row_ok, const char *row,
                           double scale, const char *path, double *out, ms_err *err)
{
    const char *text = col >= 0 ? csvtab_field(t, r, (size_t)col) : NULL;
    if (!text || !text[0])
        return MS_OK;
    char *end;
    double v = num_strtod(text, &end);
    if (*end || !(zero_ok ? v >= 0 : v > 0) || v > 1e6 || !row_ok)
        return ms_errf(err, MS_EINVAL, "%s:%d: column '%s': expected %s on the %s row, got \"%s\"",
                       path, csvtab_row_line(t, r), name, expected, row, text);
    *out = v * scale;
    return MS_OK;
}

int coll_params_load(const char *path, coll_params *out, ms_err *err)
{
    static const char *const kinds[] = {"scaleup", "nic",  "fabric",   "ici",
                                        "site",    "nvls", "deepep_ll"};
    enum { LL = 6 }; /* DeepEP's low-latency kernels: ll_eff, ll_alpha_s */
    csvtab *t = NULL;
    int rc = csvtab_read(path, &t, err);
    if (rc)
        return rc;
    int ck = csvtab_find_col(t, "link_kind"), ce = csvtab_find_col(t, "bw_eff"),
        ca = csvtab_find_col(t, "alpha_us"), cs = csvtab_find_col(t, "source"),
        cc = csvtab_find_col(t, "chan_GBps"), cl = csvtab_find_col(t, "level_us"),
        cb = csvtab_find_col(t, "base_us"), csd = csvtab_find_col(t, "log_sd");
    if (ck < 0 || ce < 0 || ca < 0 || cs < 0) {
        rc = ms_errf(err, MS_EPARSE,
                     "%s:1: expected the columns link_kind, bw_eff, alpha_us, measured_on, source",
                     path);
        goto out;
    }
    if (csvtab_nrows(t) == 0) {
        rc = ms_errf(err, MS_EPARSE,
                     "%s: a header and no rows: expected a row per link kind (for links at full "
                     "bandwidth, give --ideal instead)",
                     path);
        goto out;
    }
    int seen_line[sizeof kinds / sizeof kinds[0]] = {0};
    for (size_t r = 0; r < csvtab_nrows(t); r++) {
        int line = csvtab_row_line(t, r);
        const char *k = csvtab_field(t, r, (size_t)ck), *e = csvtab_field(t, r, (size_t)ce),
                   *a = csvtab_field(t, r, (size_t)ca), *src = csvtab_field(t, r, (size_t)cs);
        int kind = -1;
        for (int i = 0; i < (int)(sizeof kinds / sizeof kinds[0]) && k; i++)
            if (strcmp(k, kinds[i]) == 0)
                kind = i;
        if (kind < 0) {
            rc = ms_errf(err, MS_EINVAL,
                         "%s:%d: column 'link_kind': expected scaleup, nic, fabric, ici, site, "
                         "nvls or deepep_ll, got \"%s\"",
                         path, line, k ? k : "");
            goto out;
        }
        if (seen_line[kind]) {
            rc = ms_errf(err, MS_EINVAL,
                         "%s:%d: link_kind %s is already given on line %d: expected each once",
                         path, line, k, seen_line[kind]);
            goto out;
        }
        seen_line[kind] = line;
        if ((rc = optional_column(t, r, cc, "chan_GBps", "GB/s > 0", 0, kind == TOPO_LINK_NIC,
                                  "nic", 1e9, path, &out->chan_Bps, err)) ||
            (rc = optional_column(t, r, cb, "base_us", "microseconds >= 0", 1,
                                  kind == TOPO_LINK_SCALEUP, "scaleup", 1e-6, path, &out->base_s,
                                  err)) ||
            (rc = optional_column(t, r, cl, "level_us", "microseconds >= 0", 1,
                                  kind == TOPO_LINK_NIC, "nic", 1e-6, path, &out->level_s, err)) ||
            (rc = optional_column(t, r, csd, "log_sd", "a spread >= 0", 1, 1, k, 1, path,
                                  kind == LL ? &out->ll_log_sd : &out->eff_log_sd[kind], err)))
            goto out;
        char *end;
        double eff = e && e[0] ? num_strtod(e, &end) : NAN;
        if (e && e[0] && (*end || !(eff > 0 && eff <= 1))) {
            rc = ms_errf(err, MS_EINVAL,
                         "%s:%d: column 'bw_eff': expected a fraction in (0, 1], got \"%s\"", path,
                         line, e);
            goto out;
        }
        double alpha = a && a[0] ? num_strtod(a, &end) : NAN;
        if (a && a[0] && (*end || !(alpha >= 0) || alpha > 1e6)) {
            rc = ms_errf(err, MS_EINVAL,
                         "%s:%d: column 'alpha_us': expected microseconds >= 0, got \"%s\"", path,
                         line, a);
            goto out;
        }
        if (!src || !src[0]) {
            rc = ms_errf(err, MS_EINVAL, "%s:%d: column 'source': required", path, line);
            goto out;
        }
        if (!isnan(eff))
            *(kind == LL ? &out->ll_eff : &out->eff[kind]) = eff;
        if (!isnan(alpha))
            *(kind == LL ? &out->ll_alpha_s : &out->alpha_s[kind]) = alpha * 1e-6;
    }
out:
    csvtab_free(t);
    return rc;
}

int coll_choice_build(const topo *t, const coll_spec *c, int nvls_capable, coll_choice *out,
                      ms_err *err)
{
    *out = (coll_choice){0};
    out->spec[0] = *c;
    if (c->op == COLL_ALLREDUCE || c->op == COLL_ALLGATHER || c->op == COLL_REDUCESCATTER)
        out->spec[0].algo = COLL_RING;
    int rc = coll_plan_build(t, &out->spec[0], &out->plan[0], err);
    if (rc)
        return rc;
    out->n = 1;
    if (out->spec[0].algo != COLL_RING) /* not an NCCL kernel: as given */
        return MS_OK;
    /* NCCL's tree (all-reduce only) pays fewer steps than the ring: at small
     * sizes across nodes it is what NCCL runs, whether or not NVLS is on. */
    static const coll_algo others[] = {COLL_TREE, COLL_NVLS, COLL_NVLS_TREE};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        if (others[i] != COLL_TREE && !nvls_capable)
            break;
        if (others[i] == COLL_TREE && c->op != COLL_ALLREDUCE)
            continue;
        coll_spec v = *c;
        v.algo = others[i];
        ms_err e = {0};
        if (coll_plan_build(t, &v, &out->plan[out->n], &e))
            continue; /* not this shape of group (one domain or several), or not this op */
        out->spec[out->n++] = v;
    }
    return MS_OK;
}

int coll_choice_route(const topo *t, coll_choice *ch, ms_err *err)
{
    for (size_t i = 0; i < ch->n; i++) {
        int rc = coll_plan_route(t, &ch->plan[i], err);
        if (rc)
            return rc;
    }
    return MS_OK;
}

int coll_choice_time(const topo *t, const coll_choice *ch, const coll_params *cp, coll_algo *algo,
                     coll_result *out, ms_err *err)
{
    int rc = coll_time_analytical(t, &ch->spec[0], &ch->plan[0], cp, out, err);
    if (rc)
        return rc;
    *algo = ch->spec[0].algo;
    for (size_t i = 1; i < ch->n; i++) {
        coll_result r;
        ms_err e = {0};
        if (coll_time_analytical(t, &ch->spec[i], &ch->plan[i], cp, &r, &e))
            continue;
        if (r.time_s < out->time_s) {
            *out = r;
            *algo = ch->spec[i].algo;
        }
    }
    return MS_OK;
}

void coll_choice_free(coll_choice *ch)
{
    for (size_t i = 0; i < COLL_CHOICES; i++)
        coll_plan_free(&ch->plan[i]);
    ch->n = 0;
}

int coll_time_default(const topo *t, coll_spec *c, int nvls_capable, const coll_params *cp,
                      coll_result *out, ms_err *err)
{
    coll_choice ch;
    coll_algo algo;
    int rc = coll_choice_build(t, c, nvls_capable, &ch, err);
    if (!rc)
        rc = coll_choice_time(t, &ch, cp, &algo, out, err);
    if (!rc)
        c->algo = algo;
    coll_choice_free(&ch);
    return rc;
}

double coll_ep_fanout(double n, double k, double limit)
{
    double e = n * (1 - pow(1 - 1 / n, k));
    return limit > 0 && e > limit ? limit : e;
}

double coll_ep_ll_time(const coll_params *cp, double bytes_per_gpu, int64_t gpus, int64_t domain,
                       double scaleup_Bps, double nic_Bps)
{
    assert(gpus >= 1 && domain >= 1 && bytes_per_gpu >= 0 && cp->ll_eff > 0);
    double n = (double)gpus, local = (double)(domain < gpus ? domain : gpus);
    double out_B = bytes_per_gpu * (n - local) / n, peer_B = bytes_per_gpu * (local - 1) / n;
    double t_out = out_B > 0 ? out_B / (nic_Bps * cp->ll_eff) : 0;
    double t_peer = peer_B > 0 ? peer_B / (scaleup_Bps * cp->ll_eff) : 0;
    return cp->ll_alpha_s + (t_out > t_peer ? t_out : t_peer);
}

void coll_params_draw(const coll_params *in, gsl_rng *g, coll_params *out)
{
    enum { NEFF = sizeof in->eff / sizeof in->eff[0] };
    double f[NEFF + 1]; /* z always drawn, one a figure: a file's spreads keep the stream's order */
    for (int k = 0; k <= NEFF; k++)
        f[k] = exp(gsl_ran_gaussian(g, 1.0) * (k < NEFF ? in->eff_log_sd[k] : in->ll_log_sd));
    f[TOPO_LINK_FABRIC] = f[TOPO_LINK_NIC];
    *out = *in;
    for (int k = 0; k <= NEFF; k++) {
        double *eff = k < NEFF ? &out->eff[k] : &out->ll_eff;
        if (*eff > 0)
            *eff = fmin(1, *eff * f[k]);
    }
}
