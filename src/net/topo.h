/* topo: a cluster's network as a graph of GPUs and switches joined by
 * directed links, built from a few fields: a scale-up domain (NVSwitch of
 * 8, NVL72), a scale-out fabric (rail-optimized fat-tree of 2 or 3 tiers
 * with an oversubscription, or DeepSeek's multi-plane fabric: one
 * independent fat-tree per NIC plane), or a TPU-style 2D/3D torus with
 * wrap-around, and optionally several sites joined by long links. It
 * reports its size (GPUs, NICs, switches by tier, links, cables) and
 * routes a transfer between two GPUs onto a path of links. */
#ifndef MS_TOPO_H
#define MS_TOPO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* The most GPUs a topology holds (topo_new refuses more). */
#define TOPO_MAX_GPUS (INT64_C(1) << 30)

typedef enum topo_fabric {
    TOPO_FABRIC_NONE,       /* scale-up domains only (gpus == domain size, or sites only) */
    TOPO_FABRIC_FATTREE,    /* rail-optimized fat-tree: NIC r of every node on rail r */
    TOPO_FABRIC_MULTIPLANE, /* one fat-tree per plane; NIC r on plane r, no links between */
    TOPO_FABRIC_TORUS,      /* every GPU a torus node with its own ICI links */
} topo_fabric;

typedef enum topo_link_kind {
    TOPO_LINK_SCALEUP, /* GPU <-> its domain's switch */
    TOPO_LINK_NIC,     /* GPU <-> leaf switch */
    TOPO_LINK_FABRIC,  /* switch <-> switch inside a site */
    TOPO_LINK_ICI,     /* torus neighbour links */
    TOPO_LINK_SITE,    /* long links between sites */
} topo_link_kind;

/* What a topology is built from. Bandwidths are per direction. */
typedef struct topo_spec {
    int64_t gpus;             /* in all sites together */
    int64_t domain_size;      /* GPUs per scale-up domain (node); 1 = none */
    double scaleup_bw_Bps;    /* per GPU, per direction, into its domain's switch */
    double scaleup_latency_s; /* one traversal GPU -> switch -> GPU */

    topo_fabric fabric;
    int tiers;               /* fat-tree tiers: 2 or 3 */
    double oversubscription; /* leaf down : up bandwidth, >= 1 (1 = non-blocking) */
    int switch_radix;        /* ports per fat-tree switch, e.g. 64 */
    double nic_bw_Bps;       /* per GPU, per direction */
    double nic_latency_s;    /* per switch hop in the fabric */

    int torus_dims[3];    /* e.g. {16, 16, 16}; 0 for an absent dimension */
    double ici_bw_Bps;    /* per link, per direction */
    double ici_latency_s; /* per hop */

    int sites;          /* 1 = one site; GPUs split evenly */
    double site_bw_Bps; /* per site, per direction, to each other site */
    double site_latency_s;
} topo_spec;

/* Sizes, for sizing studies. Switch tiers: 0 = scale-up switches, 1 =
 * leaves, 2 = spines, 3 = cores (3-tier) and the site gateways (one per
 * site when there are several). */
typedef struct topo_size {
    int64_t gpus, nics, nodes;
    int64_t switches[4];
    int64_t links;  /* directed links */
    int64_t cables; /* physical cables: links / 2 */
} topo_size;

typedef struct topo_link {
    int32_t from, to; /* node ids: GPUs are 0 .. gpus-1, switches after */
    topo_link_kind kind;
    double bw_Bps;
    double latency_s;
} topo_link;

typedef struct topo topo;

/* Builds a topology. Fails with MS_EINVAL naming the field and what was
 * expected: gpus not a multiple of domain_size (or of sites), a bandwidth
 * <= 0 where one is needed, oversubscription < 1, tiers not 2 or 3, a
 * radix too small, more GPUs than the tiers and radix can connect, a torus
 * whose dimensions do not multiply to the GPUs. Caller frees. */
int topo_build(const topo_spec *spec, topo **out, ms_err *err);

/* Fat-tree switches (tiers 1 and up) that a rail-optimized non-blocking
 * fabric of one NIC per GPU needs, without building it, for sizing
 * clusters too large to build: 2 tiers up to radix^2 / 2 GPUs (3 switches
 * per radix GPUs), 3 tiers up to radix^3 / 4 (5 per radix), the radix
 * doubled up to 512 when 3 tiers of it cannot hold them, as a build with
 * the tiers and radix left open would choose. Equals topo_build's count
 * from radix^2 / 8 GPUs up (below that, one leaf per rail is the floor).
 * Sets *radix to the radix used. */
int64_t topo_fattree_switches(double gpus, int64_t *radix);
void topo_free(topo *t); /* NULL is a no-op */

const topo_spec *topo_get_spec(const topo *t);
topo_size topo_get_size(const topo *t);
size_t topo_nlinks(const topo *t);
const topo_link *topo_link_at(const topo *t, size_t i);

/* The links a transfer from GPU src to GPU dst crosses, in order: through
 * the domain's switch inside a domain; up the fat-tree of the source's
 * rail to the lowest common switch and down (the spine chosen by a hash of
 * (src, dst), so the same pair always takes the same path); dimension-order
 * shortest way round the torus; the site link between sites. Writes at most
 * cap link indices into path and returns how many the path has (which may
 * exceed cap: call again with room). src == dst gives 0. */
size_t topo_route(const topo *t, int64_t src, int64_t dst, int32_t *path, size_t cap);

/* GPUs per domain, domain of a GPU: for collectives that work in levels. */
int64_t topo_domain_of(const topo *t, int64_t gpu);

/* The index of gpu's own scale-up link: up into its domain's switch (down
 * 0) or from the switch down to it (down 1). The domain must have a switch
 * (domain_size > 1). For in-switch reduction, whose traffic ends or starts
 * at the switch. */
size_t topo_scaleup_link(const topo *t, int64_t gpu, int down);

#endif
