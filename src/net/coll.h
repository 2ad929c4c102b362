/* coll: collectives decomposed into steps of transfers on a topology, and
 * timed at two levels of fidelity:
 *  - analytical: each step costs alpha + the longest path latency + the
 *    most loaded link's bytes over its (efficiency-scaled) bandwidth;
 *  - flow: each step's transfers run as flows on the engine, sharing
 *    links max-min fairly, the next step starting when all are done.
 * Steps that a collective repeats unchanged (the 2(n-1) steps of a ring)
 * are stored once with a repeat count and timed once. */
#ifndef MS_COLL_H
#define MS_COLL_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include <stdint.h>

#include "core/err.h"
#include "net/topo.h"

#define COLL_OP_MAP(X)                                                                             \
    X(COLL_ALLREDUCE, "allreduce")                                                                 \
    X(COLL_ALLGATHER, "allgather")                                                                 \
    X(COLL_REDUCESCATTER, "reducescatter")                                                         \
    X(COLL_ALLTOALL, "alltoall")                                                                   \
    X(COLL_DISPATCH, "dispatch")                                                                   \
    X(COLL_COMBINE, "combine")                                                                     \
    X(COLL_SENDRECV, "sendrecv")                                                                   \
    X(COLL_BROADCAST, "broadcast")

typedef enum coll_op {
#define COLL_OP_ENUM(e, name) e,
    COLL_OP_MAP(COLL_OP_ENUM)
#undef COLL_OP_ENUM
        COLL_OP_COUNT
} coll_op;

/* NVLS: NVLink SHARP, the reduction done in the NVSwitch (multimem loads
 * that reduce, multimem stores that multicast); one scale-up domain.
 * NVLS_TREE: NVLS inside each domain and NCCL's double binary tree over
 * the NICs between domains (NCCL's NVLSTree). */
typedef enum coll_algo {
    COLL_RING,
    COLL_TREE,
    COLL_HIER,
    COLL_DIRECT,
    COLL_NVLS,
    COLL_NVLS_TREE
} coll_algo;

/* NCCL channels per NIC when coll_spec.nic_channels is 0: NCCL's search
 * finds one channel per NIC and runs twice as many execution channels
 * (sjeaugey, NVIDIA/nccl#1041, 2023-11-01: "Execution channels are
 * typically 2x the search channels"); NCCL_MIN_CTAS raises it. */
#define COLL_NIC_CHANNELS 2

typedef struct coll_spec {
    coll_op op;
    coll_algo algo;         /* ring/tree/hier for allreduce; ring for gather/scatter; direct else */
    double bytes;           /* the message size as nccl-tests counts it (see coll_bus_factor) */
    int64_t gpus;           /* participants: GPUs 0 .. gpus-1 of the topology */
    int64_t channels;       /* parallel rings; 0 = one per GPU of a domain (NCCL: one per NIC) */
    int64_t ep_nodes_limit; /* dispatch/combine: nodes one GPU's tokens reach; 0 = all */
    int64_t stride;         /* participant i is GPU i x stride; 0 or 1 = consecutive GPUs. A
                               stride below the domain size must divide it, one above must be
                               a multiple of it: the groups of a parallel plan (a data-parallel
                               group is every tp-th GPU) */
    double nic_channels;    /* NCCL channels sharing one NIC (each moves at most
                               coll_params.chan_Bps); 0 = COLL_NIC_CHANNELS */
} coll_spec;

/* An endpoint of a transfer that is the domain's switch rather than a GPU:
 * {g, COLL_SWITCH} goes up g's own scale-up link, {COLL_SWITCH, g} comes
 * down it. Such transfers are in-switch reduction (NVLS) traffic. */
#define COLL_SWITCH (-1)

typedef struct coll_xfer {
    int32_t src, dst;
    double bytes;
} coll_xfer;

typedef struct coll_plan {
    coll_xfer *x; /* all transfers, step after step */
    size_t nx;
    size_t *step_off; /* step k is x[step_off[k] .. step_off[k+1]) */
    int64_t *repeat;  /* how many times step k runs, back to back */
    size_t nsteps;
    int64_t levels; /* NVLS-tree: levels of NCCL's tree between domains that a
                       chunk crosses in turn, up then down: 2 ceil(log2 nodes);
                       each costs coll_params.level_s once, before the first
                       step (the pipeline filling); 0 for other plans */
    /* coll_plan_route: the links of transfer i are hop[hop_off[i] ..
     * hop_off[i+1]); NULL until then (each timing routes again). */
    int32_t *hop;
    size_t *hop_off;
} coll_plan;

/* Index of eff and alpha_s past the link kinds: in-switch reduction
 * (NVLS) traffic on scale-up links, which moves at its own efficiency
 * (multimem operations, not the copies of a ring). */
#define COLL_EFF_NVLS 5

/* Fitted per link kind: bandwidth efficiency (0, 1] and the fixed cost of
 * one step whose transfers cross that kind (the largest applies); and the
 * most one NCCL channel moves through a NIC, per direction: a NIC link
 * carries at most nic_channels x chan_Bps (0 = no such cap).
 * NVLS and NVLS-tree run as one pipelined step, so alpha_s[COLL_EFF_NVLS]
 * is the fixed cost of a whole NVLS operation: NCCL's tuner likewise gives
 * NVLS one latency per operation (hwLat NVLink/NVLS/Simple, 23 us in
 * NVIDIA/nccl src/graph/tuning.cc at b6475625, 25 us later) where a ring
 * pays a cost per step (3.4 us on NVLink, Simple). level_s is what each
 * level of NVLS-tree's tree between domains adds (NCCL: intraLat +
 * 2 log2(nNodes) interLat, hwLat NET/NVLSTree 14 us + the network's).
 * base_s is paid once by every NCCL all-reduce, all-gather, reduce-scatter
 * and broadcast, whatever the algorithm, before its steps: the launch and
 * NCCL's baseLat (6.6-8.4 us a ring). */
typedef struct coll_params {
    double eff[6]; /* by topo_link_kind, then COLL_EFF_NVLS */
    double alpha_s[6];
    double chan_Bps;
    double level_s;    /* NVLS-tree, per level of its tree between domains */
    double base_s;     /* per NCCL operation */
    double ll_eff;     /* DeepEP's low-latency kernels: share of the link rates they reach */
    double ll_alpha_s; /* and their fixed cost per dispatch or combine */
    /* The spread of the fit behind each efficiency (log of predicted over
     * measured bus bandwidth), by eff's index and for ll_eff; 0 where none
     * is given: what --uncertainty draws them from. */
    double eff_log_sd[6];
    double ll_log_sd;
} coll_params;

#define COLL_PARAMS_IDEAL ((coll_params){.eff = {1, 1, 1, 1, 1, 1}, .ll_eff = 1})

/* Reads network calibration (columns link_kind, bw_eff, alpha_us,
 * measured_on, source; link_kind one of scaleup, nic, fabric, ici, site,
 * nvls, deepep_ll (ll_eff, ll_alpha_s); optional columns chan_GBps and level_us, read on the nic
 * row, and base_us, read on the scaleup row) over *out, which starts as the caller's defaults: a
 * kind the file does not name keeps its value. Errors name file, line and column. */
int coll_params_load(const char *path, coll_params *out, ms_err *err);

/* in with each efficiency (eff and ll_eff) drawn as exp(z x its log_sd)
 * times its own, z ~ N(0, 1) one a figure, at most 1; a figure with no
 * spread is drawn (z is taken) and left as it is. The fabric's links
 * take the NIC's factor: the network fit ties the two into one figure. */
void coll_params_draw(const coll_params *in, gsl_rng *g, coll_params *out);

typedef struct coll_result {
    double time_s;
    double algbw_Bps; /* bytes / time_s */
    double busbw_Bps; /* algbw x coll_bus_factor */
    int64_t steps;    /* steps run, repeats counted */
    size_t transfers; /* transfers simulated (a repeated step once) */
} coll_result;

/* Builds the plan of c on t. Fails with MS_EINVAL naming what is wrong:
 * fewer than 2 GPUs or more than t has (at the stride), bytes <= 0, a
 * stride that cuts domains unevenly, an algorithm the op does not have,
 * hier without domains, ep_nodes_limit beyond the nodes, nvls for other
 * than all-reduce, reduce-scatter and all-gather or across domains (use
 * nvls_tree, all-reduce only), either without a domain switch. A domain holds
 * domain_size / stride participants (at least 1). */
int coll_plan_build(const topo *t, const coll_spec *c, coll_plan *out, ms_err *err);
void coll_plan_free(coll_plan *p);

/* Routes every transfer of p on t once and keeps the links in p, for a
 * plan timed many times (a fit): the times are the same, found without
 * routing again. MS_ENOMEM if memory runs out (p is then as it was). */
int coll_plan_route(const topo *t, coll_plan *p, ms_err *err);

/* Total bytes sent and received over the plan (repeats counted): equal,
 * as every byte sent is received; for tests. */
double coll_plan_bytes(const coll_plan *p);

int coll_time_analytical(const topo *t, const coll_spec *c, const coll_plan *p,
                         const coll_params *cp, coll_result *out, ms_err *err);
int coll_time_flow(const topo *t, const coll_spec *c, const coll_plan *p, const coll_params *cp,
                   coll_result *out, ms_err *err);

/* The plans coll_time_default chooses among for a spec, built (and routed,
 * with coll_choice_route) once for a spec timed many times under different
 * parameters (a fit). */
#define COLL_CHOICES 4
typedef struct coll_choice {
    coll_spec spec[COLL_CHOICES]; /* [0] the ring; the others that build */
    coll_plan plan[COLL_CHOICES];
    size_t n;
} coll_choice;

/* Builds the choices of c (as coll_time_default would try them); fails as
 * coll_plan_build does for the ring. Free with coll_choice_free. */
int coll_choice_build(const topo *t, const coll_spec *c, int nvls_capable, coll_choice *out,
                      ms_err *err);
/* What coll_time_default gives for ch's spec under cp: the fastest choice
 * (the ring on a tie), its algorithm in *algo. */
int coll_choice_time(const topo *t, const coll_choice *ch, const coll_params *cp, coll_algo *algo,
                     coll_result *out, ms_err *err);
/* coll_plan_route on each plan of ch. */
int coll_choice_route(const topo *t, coll_choice *ch, ms_err *err);
void coll_choice_free(coll_choice *ch);

/* Runs n plans at once on one flow network, all starting at time 0, every
 * step of each as many times as it repeats (no shortcut), so that
 * concurrent collectives contend for links; out[i] is plan i's result. */
int coll_time_flow_many(const topo *t, const coll_spec *const *c, const coll_plan *const *p,
                        size_t n, const coll_params *cp, coll_result *out, ms_err *err);

/* NCCL's default choice for an all-reduce, reduce-scatter or all-gather
 * of c on t: the fastest (analytically, with cp) of ring, tree (all-reduce
 * across domains) and, where the domains reduce in the switch
 * (nvls_capable), nvls (one domain) or nvls_tree (several; all-reduce
 * only), as NCCL's tuner picks the
 * algorithm of least modelled time. Sets c->algo and *out to the chosen
 * one's result. Other ops: c->algo unchanged, timed as given. */
int coll_time_default(const topo *t, coll_spec *c, int nvls_capable, const coll_params *cp,
                      coll_result *out, ms_err *err);

/* nccl-tests' bus bandwidth factor: 2(n-1)/n for all-reduce, (n-1)/n for
 * all-gather, reduce-scatter and all-to-all, 1 otherwise. */
double coll_bus_factor(coll_op op, int64_t n);

const char *coll_op_name(coll_op op);
const char *coll_algo_name(coll_algo a);
int coll_op_parse(const char *name, coll_op *out);
const char *coll_op_list(void);

/* Expected distinct nodes (or GPUs) a token's k routed experts land in,
 * spread uniformly over n of them: n (1 - (1 - 1/n)^k), at most limit
 * when node-limited routing caps it (limit 0: none). What DeepEP's
 * normal kernels send a token to: once per node, then over scale-up. */
double coll_ep_fanout(double n, double k, double limit);

/* One dispatch or combine of DeepEP's low-latency kernels (decode's expert
 * exchange) over gpus ranks in domains of domain GPUs: every GPU sends
 * bytes_per_gpu (its tokens times their k experts) straight to the experts'
 * GPUs, spread evenly over the ranks, itself included (which moves
 * nothing): RDMA to the other domains over nic_Bps, scale-up to its domain
 * peers over scaleup_Bps, both at once, each at cp->ll_eff of its rate,
 * plus cp->ll_alpha_s. The kernels send each token-expert message as it
 * is ready, not in steps, so the time is bandwidth plus one fixed cost
 * (DeepEP README: IBGDA, no SM occupied while in flight). */
double coll_ep_ll_time(const coll_params *cp, double bytes_per_gpu, int64_t gpus, int64_t domain,
                       double scaleup_Bps, double nic_Bps);

#endif
