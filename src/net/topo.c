/* topo: see topo.h. A topology is a flat array of directed links laid out
 * so that the index of any link follows from a few numbers: every site is
 * built the same way, so a site's links are one block and site s's block
 * starts at s * (links per site); within a block, sections come in a fixed
 * order (scale-up, NICs, fabric, torus, gateway) and each section is
 * indexed by GPU, leaf or spine. Routing computes a path from indices, in
 * time proportional to its length, and never searches the graph; building
 * is one pass over the links. Nothing here is O(GPUs^2).
 *
 * The rules, one per part of the network (figures are per site):
 *
 * Scale-up. A domain of domain_size > 1 GPUs gets one switch (tier 0) and
 * a cable to each of its GPUs; each direction has scaleup_bw_Bps and half
 * of scaleup_latency_s, so GPU -> switch -> GPU costs scaleup_latency_s.
 *
 * Fat-tree (rail-optimized). A node is a domain; its GPU r owns NIC r, on
 * rail r (rails = domain_size). With radix R and oversubscription o, a
 * leaf (tier 1) has down = floor(R o / (1 + o)) ports to NICs (at most
 * R - 1) and up = R - down ports above, so the leaf's real down:up never
 * exceeds o (R 64: o 1 gives 32:32, o 3 gives 48:16, o 2 gives 42:22).
 * Each rail's nodes fill leaves in order, `down` nodes (a "block") per
 * leaf; a rail never shares a leaf with another rail. A leaf uses all its
 * up ports, except when a rail has fewer nodes than a leaf has down ports:
 * then it uses only ceil(nodes / o), enough to keep the ratio (16 GPUs in
 * 2 nodes of 8 need 2 uplinks per leaf, not 32).
 *   2 tiers: the leaves of all rails share one spine layer (tier 2) of
 *     ceil(leaves * up / R) spines. Uplinks are numbered leaf by leaf
 *     (leaf i's uplink k is number i * up + k) and uplink g goes to spine
 *     g mod spines, which spreads them evenly (no spine gets more than R)
 *     and, as long as leaves <= R, joins every leaf to every spine, with
 *     parallel cables where up > spines. More than R leaves is an error:
 *     "needs 3 tiers or a larger radix". At R 64, o 1 this is 64 leaves
 *     and 32 spines for 2,048 GPUs, DeepSeek's FT2 (ISCA'25, Table 3).
 *   3 tiers: leaves are grouped into pods of R/2 (rounded down) leaves in
 *     block-major order (leaf b * rails + r), so a pod holds every rail of
 *     a set of nodes. A pod has ceil(pod leaves * up / (R/2)) spines, its
 *     leaves' uplinks spread over them as above. A spine has R/2 ports
 *     down and uses min(R - R/2, its share of leaf uplinks rounded up)
 *     ports up (non-blocking above the leaves), spread in the same way
 *     over ceil(spines * spine uplinks / R) cores (tier 3). Every core
 *     reaches every full pod as long as pods <= R; more is an error. At
 *     R 64, o 1: 65,536 GPUs in 64 pods, 2,048 leaves, 2,048 spines and
 *     1,024 cores, DeepSeek's FT3 (Table 3). A 3-tier tree small enough
 *     for one pod still gets its cores, which no route uses.
 *   Links between switches have nic_bw_Bps (switches of one port speed)
 *   and nic_latency_s each, as do the NIC links GPU <-> leaf.
 *
 * Multi-plane. As the fat-tree, but rail r is plane r: each plane has its
 * own leaves (one per block), spines and, for 3 tiers, pods and cores, and
 * nothing joins two planes. Counts add up over planes: 16,384 GPUs in
 * nodes of 8 at R 64 make 8 planes of 64 leaves and 32 spines, 768
 * switches (DeepSeek's MPFT, Table 3). Between rails a transfer first
 * crosses its own domain to the GPU of its node on the destination's rail
 * (PXN), then that plane's tree.
 *
 * Torus. GPU g of a site has coordinates (g mod n0, g / n0 mod n1,
 * g / (n0 n1)) on torus_dims (0 = absent = 1). In a dimension of n > 2 it
 * has a link to its +1 and its -1 neighbour, with wrap-around; in a
 * dimension of 2 the two neighbours are the same GPU, so it gets one link,
 * not two parallel ones; a dimension of 1 has none. Routes go dimension
 * by dimension (0, 1, 2), each the shorter way round, + on a tie.
 *
 * Sites. Each site is built as above with its own switches. A gateway
 * switch per site (counted in tier 3 of topo_size, beside the cores) has a
 * cable to each of the site's top switches: the spines of every plane (2
 * tiers), the cores (3 tiers), else the domain switches, else (domains of
 * 1 without a fabric: a torus) every GPU. These gateway cables are meant
 * never to be the bottleneck: each carries (sites - 1) * site_bw_Bps, all
 * the gateway's long-haul bandwidth, and adds no latency (site_latency_s
 * is the whole cost of leaving a site); they take no switch port in the
 * radix arithmetic. Gateways are joined pairwise by site_bw_Bps,
 * site_latency_s. A route between sites climbs to a top switch of the
 * source's plane, crosses the gateways and descends the destination's
 * plane, with no PXN. */
#include "net/topo.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fat-tree or multi-plane fabric of one site; every count per plane. */
typedef struct tree {
    int64_t planes;      /* 1 for a fat-tree, rails for multi-plane */
    int64_t rails;       /* NICs per node = domain_size */
    int64_t blocks;      /* leaves per rail: ceil(nodes / down) */
    int64_t leaves;      /* per plane */
    int64_t down, up;    /* leaf ports to NICs; uplinks in use per leaf */
    int64_t pod_leaves;  /* leaves in a full pod (2 tiers: all of them) */
    int64_t pods;        /* 1 for 2 tiers */
    int64_t pod_spines;  /* spines of a full pod */
    int64_t last_spines; /* spines of the last pod, which may hold fewer leaves */
    int64_t spines;      /* per plane */
    int64_t core_up;     /* uplinks per spine; 0 for 2 tiers */
    int64_t cores;       /* per plane; 0 for 2 tiers */
    int64_t cables;      /* leaf-spine then spine-core cables, per plane */
} tree;

struct topo {
    topo_spec spec;
    int64_t site_gpus;
    int64_t domains;  /* scale-up switches per site; 0 when domain_size is 1 */
    int has_tree;     /* fat-tree or multi-plane */
    tree ft;          /* valid when has_tree */
    int64_t tn[3];    /* torus size per dimension, 1 when absent */
    int tslot[3][2];  /* torus link slot of (dimension, + / -); -1 for none */
    int64_t tper_gpu; /* torus links out of each GPU */
    int64_t ntop;     /* things per site cabled to its gateway; 0 for one site */

    int64_t site_switches; /* switches of one site, gateway not included */
    /* First link of each section within a site's block, and the block size */
    int64_t l_scaleup, l_nic, l_fabric, l_torus, l_gateway, site_links;
    int64_t l_sites; /* first gateway-to-gateway link */

    topo_link *links;
    size_t nlinks;
    topo_size size;
};

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ---- validation ---- */

static int check_bw(const char *field, double v, ms_err *err)
{
    if (!(v > 0) || !isfinite(v))
        return ms_errf(err, MS_EINVAL, "field '%s': expected a bandwidth > 0, got %g", field, v);
    return MS_OK;
}

static int check_latency(const char *field, double v, ms_err *err)
{
    if (!(v >= 0) || !isfinite(v))
        return ms_errf(err, MS_EINVAL, "field '%s': expected a latency >= 0, got %g", field, v);
    return MS_OK;
}

/* "N GPUs" or, with several sites, "the N GPUs of each site". */
static const char *gpus_text(const topo *t, char *buf, size_t cap)
{
    if (t->spec.sites > 1)
        snprintf(buf, cap, "the %lld GPUs of each site", (long long)t->site_gpus);
    else
        snprintf(buf, cap, "%lld GPUs", (long long)t->site_gpus);
    return buf;
}

/* Fills t->ft from the spec; fails if the tree cannot hold the site. */
static int plan_tree(topo *t, ms_err *err)
{
    const topo_spec *s = &t->spec;
    tree *f = &t->ft;
    int64_t R = s->switch_radix;
    int64_t nodes = t->site_gpus / s->domain_size;
    char what[96];

    int64_t down =
        (int64_t)floor((double)R * s->oversubscription / (1 + s->oversubscription) + 1e-9);
    if (down > R - 1)
        down = R - 1;
    if (down < 1)
        down = 1;
    f->down = down;
    f->up = R - down;
    if (nodes < down) { /* leaves part full: only the uplinks the NICs need */
        int64_t need = (int64_t)ceil((double)nodes / s->oversubscription - 1e-9);
        f->up = need < 1 ? 1 : min64(f->up, need);
    }
    f->rails = s->domain_size;
    f->blocks = ceil_div(nodes, down);
    f->planes = s->fabric == TOPO_FABRIC_MULTIPLANE ? f->rails : 1;
    f->leaves = s->fabric == TOPO_FABRIC_MULTIPLANE ? f->blocks : f->blocks * f->rails;

    if (s->tiers == 2) {
        if (f->leaves > R)
            return ms_errf(err, MS_EINVAL,
                           "field 'gpus': %s need %lld leaves per plane (%lld nodes, %lld per "
                           "leaf), more than the %lld a 2-tier tree of radix-%lld switches can "
                           "join; needs 3 tiers or a larger radix",
                           gpus_text(t, what, sizeof what), (long long)f->leaves, (long long)nodes,
                           (long long)down, (long long)R, (long long)R);
        f->pod_leaves = f->leaves;
        f->pods = 1;
        f->pod_spines = f->last_spines = f->spines = ceil_div(f->leaves * f->up, R);
        f->core_up = f->cores = 0;
    } else {
        int64_t spine_down = R / 2;
        f->pod_leaves = min64(spine_down, f->leaves);
        f->pods = ceil_div(f->leaves, f->pod_leaves);
        if (f->pods > R)
            return ms_errf(err, MS_EINVAL,
                           "field 'gpus': %s need %lld pods of %lld leaves per plane, more than "
                           "the %lld a 3-tier tree of radix-%lld switches can join; needs a "
                           "larger radix",
                           gpus_text(t, what, sizeof what), (long long)f->pods,
                           (long long)f->pod_leaves, (long long)R, (long long)R);
        int64_t last_leaves = f->leaves - (f->pods - 1) * f->pod_leaves;
        f->pod_spines = ceil_div(f->pod_leaves * f->up, spine_down);
        f->last_spines = ceil_div(last_leaves * f->up, spine_down);
        f->spines = (f->pods - 1) * f->pod_spines + f->last_spines;
        f->core_up = min64(R - spine_down, ceil_div(f->pod_leaves * f->up, f->pod_spines));
        f->cores = ceil_div(f->spines * f->core_up, R);
        /* pods <= R makes every full pod reach every core */
        assert(f->pod_spines * f->core_up >= f->cores);
    }
    /* pod leaves <= ports down a spine makes every leaf reach every spine of its pod */
    assert(f->pod_spines <= f->up && f->last_spines <= f->up);
    f->cables = f->leaves * f->up + f->spines * f->core_up;
    return MS_OK;
}

static int plan_torus(topo *t, ms_err *err)
{
    const topo_spec *s = &t->spec;
    int64_t prod = 1;
    int present = 0;
    for (int d = 0; d < 3; d++) {
        if (s->torus_dims[d] < 0)
            return ms_errf(err, MS_EINVAL,
                           "field 'torus_dims': expected sizes >= 0 (0 for an absent "
                           "dimension), got %d x %d x %d",
                           s->torus_dims[0], s->torus_dims[1], s->torus_dims[2]);
        t->tn[d] = s->torus_dims[d] > 0 ? s->torus_dims[d] : 1;
        present += s->torus_dims[d] > 0;
        if (prod <= t->site_gpus) /* past that it cannot match; stop before overflow */
            prod *= t->tn[d];
    }
    if (!present)
        return ms_errf(err, MS_EINVAL,
                       "field 'torus_dims': expected at least one dimension > 0, got 0 x 0 x 0");
    if (prod != t->site_gpus) {
        char dims[64] = "", what[96];
        size_t used = 0;
        for (int d = 0; d < 3; d++)
            if (s->torus_dims[d] > 0)
                used += (size_t)snprintf(dims + used, sizeof dims - used, "%s%d", used ? " x " : "",
                                         s->torus_dims[d]);
        double full = 1; /* as a double: three ints can overflow 64 bits */
        for (int d = 0; d < 3; d++)
            full *= (double)t->tn[d];
        snprintf(what, sizeof what, "the %lld GPUs%s", (long long)t->site_gpus,
                 s->sites > 1 ? " of each site" : "");
        return ms_errf(err, MS_EINVAL, "field 'torus_dims': %s = %.0f does not match %s", dims,
                       full, what);
    }
    int slot = 0;
    for (int d = 0; d < 3; d++) {
        if (t->tn[d] > 2) {
            t->tslot[d][0] = slot++;
            t->tslot[d][1] = slot++;
        } else if (t->tn[d] == 2) {
            t->tslot[d][0] = t->tslot[d][1] = slot++;
        } else {
            t->tslot[d][0] = t->tslot[d][1] = -1;
        }
    }
    t->tper_gpu = slot;
    int rc = check_bw("ici_bw_Bps", s->ici_bw_Bps, err);
    if (!rc)
        rc = check_latency("ici_latency_s", s->ici_latency_s, err);
    return rc;
}

static int validate(topo *t, ms_err *err)
{
    const topo_spec *s = &t->spec;
    int rc;

    if (s->gpus < 1 || s->gpus > TOPO_MAX_GPUS)
        return ms_errf(err, MS_EINVAL, "field 'gpus': expected 1 to %lld GPUs, got %lld",
                       (long long)TOPO_MAX_GPUS, (long long)s->gpus);
    if (s->domain_size < 1)
        return ms_errf(err, MS_EINVAL, "field 'domain_size': expected >= 1 GPU, got %lld",
                       (long long)s->domain_size);
    if (s->sites < 1)
        return ms_errf(err, MS_EINVAL, "field 'sites': expected >= 1, got %d", s->sites);
    if (s->gpus % s->domain_size)
        return ms_errf(err, MS_EINVAL, "field 'gpus': %lld GPUs do not divide into domains of %lld",
                       (long long)s->gpus, (long long)s->domain_size);
    if (s->gpus % s->sites)
        return ms_errf(err, MS_EINVAL, "field 'sites': %lld GPUs do not split evenly into %d sites",
                       (long long)s->gpus, s->sites);
    t->site_gpus = s->gpus / s->sites;
    if (t->site_gpus % s->domain_size)
        return ms_errf(err, MS_EINVAL,
                       "field 'sites': %d sites of %lld GPUs each do not hold whole domains of "
                       "%lld",
                       s->sites, (long long)t->site_gpus, (long long)s->domain_size);
    if (s->domain_size > 1) {
        if ((rc = check_bw("scaleup_bw_Bps", s->scaleup_bw_Bps, err)) ||
            (rc = check_latency("scaleup_latency_s", s->scaleup_latency_s, err)))
            return rc;
    }
    switch (s->fabric) {
    case TOPO_FABRIC_NONE:
        if (t->site_gpus != s->domain_size)
            return ms_errf(err, MS_EINVAL,
                           "field 'fabric': expected a fabric to join the %lld domains of %lld "
                           "GPUs%s, got none",
                           (long long)(t->site_gpus / s->domain_size), (long long)s->domain_size,
                           s->sites > 1 ? " in each site" : "");
        break;
    case TOPO_FABRIC_FATTREE:
    case TOPO_FABRIC_MULTIPLANE:
        if (s->tiers != 2 && s->tiers != 3)
            return ms_errf(err, MS_EINVAL, "field 'tiers': expected 2 or 3, got %d", s->tiers);
        if (!(s->oversubscription >= 1) || !isfinite(s->oversubscription))
            return ms_errf(err, MS_EINVAL, "field 'oversubscription': expected >= 1, got %g",
                           s->oversubscription);
        if (s->switch_radix < 2)
            return ms_errf(err, MS_EINVAL, "field 'switch_radix': expected >= 2 ports, got %d",
                           s->switch_radix);
        if ((rc = check_bw("nic_bw_Bps", s->nic_bw_Bps, err)) ||
            (rc = check_latency("nic_latency_s", s->nic_latency_s, err)))
            return rc;
        t->has_tree = 1;
        if ((rc = plan_tree(t, err)))
            return rc;
        break;
    case TOPO_FABRIC_TORUS:
        if ((rc = plan_torus(t, err)))
            return rc;
        break;
    default:
        return ms_errf(err, MS_EINVAL,
                       "field 'fabric': expected none, fattree, multiplane or torus, got %d",
                       (int)s->fabric);
    }
    if (s->sites > 1) {
        if ((rc = check_bw("site_bw_Bps", s->site_bw_Bps, err)) ||
            (rc = check_latency("site_latency_s", s->site_latency_s, err)))
            return rc;
    }
    return MS_OK;
}

/* ---- layout: node ids and link indices ---- */

static int64_t plane_switches(const tree *f)
{
    return f->leaves + f->spines + f->cores;
}

static int64_t gpu_node(const topo *t, int64_t site, int64_t g)
{
    return site * t->site_gpus + g;
}

static int64_t switch_node(const topo *t, int64_t site, int64_t local)
{
    return t->spec.gpus + site * t->site_switches + local;
}

static int64_t leaf_node(const topo *t, int64_t site, int64_t p, int64_t leaf)
{
    return switch_node(t, site, t->domains + p * plane_switches(&t->ft) + leaf);
}

static int64_t spine_node(const topo *t, int64_t site, int64_t p, int64_t spine)
{
    return switch_node(t, site, t->domains + p * plane_switches(&t->ft) + t->ft.leaves + spine);
}

static int64_t core_node(const topo *t, int64_t site, int64_t p, int64_t core)
{
    const tree *f = &t->ft;
    return switch_node(t, site, t->domains + p * plane_switches(f) + f->leaves + f->spines + core);
}

static int64_t gateway_node(const topo *t, int64_t site)
{
    return t->spec.gpus + t->spec.sites * t->site_switches + site;
}

/* The node top (0 .. ntop-1) of a site is cabled to its gateway. */
static int64_t top_node(const topo *t, int64_t site, int64_t top)
{
    const tree *f = &t->ft;
    if (t->has_tree && t->spec.tiers == 2)
        return spine_node(t, site, top / f->spines, top % f->spines);
    if (t->has_tree)
        return core_node(t, site, top / f->cores, top % f->cores);
    if (t->domains)
        return switch_node(t, site, top);
    return gpu_node(t, site, top);
}

/* Cables are two links: index 2c goes up (GPU -> switch, lower tier ->
 * higher), 2c + 1 comes back down. */
static int64_t site_base(const topo *t, int64_t site)
{
    return site * t->site_links;
}

static int64_t scaleup_link(const topo *t, int64_t site, int64_t g, int down)
{
    return site_base(t, site) + t->l_scaleup + 2 * g + down;
}

static int64_t nic_link(const topo *t, int64_t site, int64_t g, int down)
{
    return site_base(t, site) + t->l_nic + 2 * g + down;
}

static int64_t leaf_spine_link(const topo *t, int64_t site, int64_t p, int64_t leaf, int64_t k,
                               int down)
{
    const tree *f = &t->ft;
    return site_base(t, site) + t->l_fabric + 2 * (p * f->cables + leaf * f->up + k) + down;
}

static int64_t spine_core_link(const topo *t, int64_t site, int64_t p, int64_t spine, int64_t k,
                               int down)
{
    const tree *f = &t->ft;
    return site_base(t, site) + t->l_fabric +
           2 * (p * f->cables + f->leaves * f->up + spine * f->core_up + k) + down;
}

static int64_t torus_link(const topo *t, int64_t site, int64_t g, int slot)
{
    return site_base(t, site) + t->l_torus + g * t->tper_gpu + slot;
}

static int64_t gateway_link(const topo *t, int64_t site, int64_t top, int down)
{
    return site_base(t, site) + t->l_gateway + 2 * top + down;
}

static int64_t site_link(const topo *t, int64_t a, int64_t b)
{
    return t->l_sites + a * (t->spec.sites - 1) + (b < a ? b : b - 1);
}

/* The plane and leaf (within the plane) of a site's GPU g. */
static void leaf_of(const topo *t, int64_t g, int64_t *plane, int64_t *leaf)
{
    const tree *f = &t->ft;
    int64_t node = g / f->rails, rail = g % f->rails, block = node / f->down;
    if (t->spec.fabric == TOPO_FABRIC_MULTIPLANE) {
        *plane = rail;
        *leaf = block;
    } else {
        *plane = 0;
        *leaf = block * f->rails + rail;
    }
}

static int64_t pod_spine_count(const tree *f, int64_t pod)
{
    return pod == f->pods - 1 ? f->last_spines : f->pod_spines;
}

/* Spine (within the plane) that uplink k of a leaf goes to. */
static int64_t leaf_up_target(const tree *f, int64_t leaf, int64_t k)
{
    int64_t pod = leaf / f->pod_leaves, in_pod = leaf % f->pod_leaves;
    return pod * f->pod_spines + (in_pod * f->up + k) % pod_spine_count(f, pod);
}

/* Core (within the plane) that uplink k of a spine goes to. */
static int64_t spine_up_target(const tree *f, int64_t spine, int64_t k)
{
    return (spine * f->core_up + k) % f->cores;
}

/* ---- building ---- */

static void put(topo *t, int64_t i, int64_t from, int64_t to, topo_link_kind kind, double bw,
                double latency)
{
    assert(i >= 0 && (size_t)i < t->nlinks);
    t->links[i] = (topo_link){
        .from = (int32_t)from, .to = (int32_t)to, .kind = kind, .bw_Bps = bw, .latency_s = latency};
}

/* Links 2c and 2c + 1 of a cable between lower and upper. */
static void put_cable(topo *t, int64_t i, int64_t lower, int64_t upper, topo_link_kind kind,
                      double bw, double latency)
{
    put(t, i, lower, upper, kind, bw, latency);
    put(t, i + 1, upper, lower, kind, bw, latency);
}

static int64_t torus_neighbour(const topo *t, int64_t g, int d, int dir)
{
    int64_t stride = 1;
    for (int e = 0; e < d; e++)
        stride *= t->tn[e];
    int64_t n = t->tn[d], c = g / stride % n;
    int64_t c2 = dir == 0 ? (c + 1) % n : (c + n - 1) % n;
    return g + (c2 - c) * stride;
}

static void build_site(topo *t, int64_t site)
{
    const topo_spec *s = &t->spec;
    const tree *f = &t->ft;
    int64_t G = t->site_gpus;

    if (t->domains)
        for (int64_t g = 0; g < G; g++)
            put_cable(t, scaleup_link(t, site, g, 0), gpu_node(t, site, g),
                      switch_node(t, site, g / s->domain_size), TOPO_LINK_SCALEUP,
                      s->scaleup_bw_Bps, s->scaleup_latency_s / 2);
    if (t->has_tree) {
        for (int64_t g = 0; g < G; g++) {
            int64_t p, leaf;
            leaf_of(t, g, &p, &leaf);
            put_cable(t, nic_link(t, site, g, 0), gpu_node(t, site, g), leaf_node(t, site, p, leaf),
                      TOPO_LINK_NIC, s->nic_bw_Bps, s->nic_latency_s);
        }
        for (int64_t p = 0; p < f->planes; p++) {
            for (int64_t leaf = 0; leaf < f->leaves; leaf++)
                for (int64_t k = 0; k < f->up; k++)
                    put_cable(t, leaf_spine_link(t, site, p, leaf, k, 0),
                              leaf_node(t, site, p, leaf),
                              spine_node(t, site, p, leaf_up_target(f, leaf, k)), TOPO_LINK_FABRIC,
                              s->nic_bw_Bps, s->nic_latency_s);
            for (int64_t spine = 0; spine < f->spines; spine++)
                for (int64_t k = 0; k < f->core_up; k++)
                    put_cable(t, spine_core_link(t, site, p, spine, k, 0),
                              spine_node(t, site, p, spine),
                              core_node(t, site, p, spine_up_target(f, spine, k)), TOPO_LINK_FABRIC,
                              s->nic_bw_Bps, s->nic_latency_s);
        }
    }
    if (t->tper_gpu)
        for (int64_t g = 0; g < G; g++)
            for (int d = 0; d < 3; d++)
                for (int dir = 0; dir < 2; dir++) {
                    if (t->tslot[d][dir] < 0 || (dir == 1 && t->tslot[d][1] == t->tslot[d][0]))
                        continue;
                    put(t, torus_link(t, site, g, t->tslot[d][dir]), gpu_node(t, site, g),
                        gpu_node(t, site, torus_neighbour(t, g, d, dir)), TOPO_LINK_ICI,
                        s->ici_bw_Bps, s->ici_latency_s);
                }
    for (int64_t top = 0; top < t->ntop; top++) {
        int gpu = !t->has_tree && !t->domains;
        put_cable(t, gateway_link(t, site, top, 0), top_node(t, site, top), gateway_node(t, site),
                  gpu ? TOPO_LINK_NIC : TOPO_LINK_FABRIC, (s->sites - 1) * s->site_bw_Bps, 0);
    }
}

int topo_build(const topo_spec *spec, topo **out, ms_err *err)
{
    *out = NULL;
    topo *t = calloc(1, sizeof *t);
    if (!t)
        return ms_errf(err, MS_ENOMEM, "topology: out of memory");
    t->spec = *spec;
    int rc = validate(t, err);
    if (rc)
        goto fail;

    const topo_spec *s = &t->spec;
    const tree *f = &t->ft;
    int64_t G = t->site_gpus, sites = s->sites;
    t->domains = s->domain_size > 1 ? G / s->domain_size : 0;
    if (sites > 1) {
        if (t->has_tree)
            t->ntop = f->planes * (s->tiers == 2 ? f->spines : f->cores);
        else
            t->ntop = t->domains ? t->domains : G;
    }
    t->site_switches = t->domains + (t->has_tree ? f->planes * plane_switches(f) : 0);

    t->l_scaleup = 0;
    t->l_nic = t->l_scaleup + (t->domains ? 2 * G : 0);
    t->l_fabric = t->l_nic + (t->has_tree ? 2 * G : 0);
    t->l_torus = t->l_fabric + (t->has_tree ? 2 * f->planes * f->cables : 0);
    t->l_gateway = t->l_torus + G * t->tper_gpu;
    t->site_links = t->l_gateway + 2 * t->ntop;
    t->l_sites = sites * t->site_links;
    int64_t nlinks = t->l_sites + sites * (sites - 1);
    int64_t nnodes = s->gpus + sites * t->site_switches + (sites > 1 ? sites : 0);
    if (nlinks > INT32_MAX || nnodes > INT32_MAX) {
        rc = ms_errf(err, MS_EINVAL,
                     "field 'gpus': %lld GPUs make %lld links and %lld nodes, more than the "
                     "%d a topology can number",
                     (long long)s->gpus, (long long)nlinks, (long long)nnodes, INT32_MAX);
        goto fail;
    }

    t->nlinks = (size_t)nlinks;
    t->links = malloc((t->nlinks ? t->nlinks : 1) * sizeof *t->links);
    if (!t->links) {
        rc = ms_errf(err, MS_ENOMEM, "topology: out of memory for %lld links", (long long)nlinks);
        goto fail;
    }
    for (int64_t site = 0; site < sites; site++)
        build_site(t, site);
    for (int64_t a = 0; a < sites; a++)
        for (int64_t b = 0; b < sites; b++)
            if (a != b)
                put(t, site_link(t, a, b), gateway_node(t, a), gateway_node(t, b), TOPO_LINK_SITE,
                    s->site_bw_Bps, s->site_latency_s);

    t->size = (topo_size){
        .gpus = s->gpus,
        .nics = t->has_tree ? s->gpus : 0,
        .nodes = s->gpus / s->domain_size,
        .switches = {sites * t->domains, t->has_tree ? sites * f->planes * f->leaves : 0,
                     t->has_tree ? sites * f->planes * f->spines : 0,
                     (t->has_tree ? sites * f->planes * f->cores : 0) + (sites > 1 ? sites : 0)},
        .links = nlinks,
        .cables = nlinks / 2,
    };
    *out = t;
    return MS_OK;
fail:
    topo_free(t);
    return rc;
}

void topo_free(topo *t)
{
    if (!t)
        return;
    free(t->links);
    free(t);
}

const topo_spec *topo_get_spec(const topo *t)
{
    return &t->spec;
}

topo_size topo_get_size(const topo *t)
{
    return t->size;
}

size_t topo_nlinks(const topo *t)
{
    return t->nlinks;
}

const topo_link *topo_link_at(const topo *t, size_t i)
{
    assert(i < t->nlinks);
    return &t->links[i];
}

int64_t topo_domain_of(const topo *t, int64_t gpu)
{
    assert(gpu >= 0 && gpu < t->spec.gpus);
    return gpu / t->spec.domain_size;
}

size_t topo_scaleup_link(const topo *t, int64_t gpu, int down)
{
    assert(gpu >= 0 && gpu < t->spec.gpus && t->spec.domain_size > 1);
    return (size_t)scaleup_link(t, gpu / t->site_gpus, gpu % t->site_gpus, down);
}

/* ---- routing ---- */

/* splitmix64's finaliser (Steele, Lea and Flood, 2014). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The k-th independent hash of h, for one choice along a path. */
static uint64_t rehash(uint64_t h, uint64_t k)
{
    return mix64(h + k * UINT64_C(0x9e3779b97f4a7c15));
}

typedef struct path_out {
    int32_t *path;
    size_t cap, n;
} path_out;

static void emit(path_out *o, int64_t link)
{
    if (o->n < o->cap)
        o->path[o->n] = (int32_t)link;
    o->n++;
}

/* Among numbers g in [g0, g0 + n) with g mod m == r, the one h picks. */
static int64_t pick_congruent(int64_t g0, int64_t n, int64_t m, int64_t r, uint64_t h)
{
    int64_t first = g0 + ((r - g0 % m) % m + m) % m;
    assert(first < g0 + n);
    int64_t count = (g0 + n - 1 - first) / m + 1;
    return first + m * (int64_t)(h % (uint64_t)count);
}

/* Uplink (k) of a leaf that reaches a spine of its pod. */
static int64_t leaf_uplink_to(const tree *f, int64_t leaf, int64_t spine, uint64_t h)
{
    int64_t pod = leaf / f->pod_leaves, in_pod = leaf % f->pod_leaves;
    int64_t g0 = in_pod * f->up;
    return pick_congruent(g0, f->up, pod_spine_count(f, pod), spine - pod * f->pod_spines, h) - g0;
}

/* The cores a pod reaches: `len` of them from `first`, wrapping. */
static void pod_cores(const tree *f, int64_t pod, int64_t *first, int64_t *len)
{
    int64_t g0 = pod * f->pod_spines * f->core_up, n = pod_spine_count(f, pod) * f->core_up;
    *first = n >= f->cores ? 0 : g0 % f->cores;
    *len = min64(n, f->cores);
}

/* The links from a site's GPU g up to a switch of its plane, and back down. */
typedef struct climb {
    int n;
    int64_t up[3];   /* GPU first */
    int64_t down[3]; /* top first */
} climb;

enum { TO_LEAF = 1, TO_SPINE, TO_CORE };

/* Climbs from g to its leaf, to spine `target` of its pod, or to core
 * `target` (which its pod must reach); h picks among parallel ways. */
static climb climb_tree(const topo *t, int64_t site, int64_t g, int level, int64_t target,
                        uint64_t h)
{
    const tree *f = &t->ft;
    int64_t p, leaf;
    leaf_of(t, g, &p, &leaf);
    climb c = {.n = 1};
    c.up[0] = nic_link(t, site, g, 0);
    int64_t spine = target;
    if (level == TO_CORE) {
        int64_t pod = leaf / f->pod_leaves, g0 = pod * f->pod_spines * f->core_up;
        int64_t u = pick_congruent(g0, pod_spine_count(f, pod) * f->core_up, f->cores, target, h);
        spine = u / f->core_up;
        c.up[2] = spine_core_link(t, site, p, spine, u % f->core_up, 0);
    }
    if (level >= TO_SPINE) {
        int64_t k = leaf_uplink_to(f, leaf, spine, level == TO_CORE ? rehash(h, 2) : h);
        c.up[1] = leaf_spine_link(t, site, p, leaf, k, 0);
        c.n = level;
    }
    for (int i = 0; i < c.n; i++)
        c.down[c.n - 1 - i] = c.up[i] + 1;
    return c;
}

static void emit_climb(path_out *o, const climb *c, int down)
{
    for (int i = 0; i < c->n; i++)
        emit(o, down ? c->down[i] : c->up[i]);
}

/* a and b are GPUs of one site on the same plane. Inside a fat-tree the
 * switch above, and the cable to it among parallel ones, are chosen by the
 * destination ("D-mod-k": key is b, taken modulo the choices), which
 * spreads an all-to-all evenly over the spines where a hash of (source,
 * destination) leaves some links with more flows than others. */
static void route_tree(const topo *t, int64_t site, int64_t a, int64_t b, uint64_t h, path_out *o)
{
    const tree *f = &t->ft;
    int64_t p, la, lb;
    leaf_of(t, a, &p, &la);
    leaf_of(t, b, &p, &lb);
    int64_t pa = la / f->pod_leaves, pb = lb / f->pod_leaves;
    int level = TO_LEAF;
    int64_t target = 0;
    if (la == lb) {
        level = TO_LEAF;
    } else if (pa == pb) {
        level = TO_SPINE;
        target = pa * f->pod_spines + (int64_t)(h % (uint64_t)pod_spine_count(f, pa));
        h /= (uint64_t)pod_spine_count(f, pa); /* the rest picks among parallel cables */
    } else {
        /* Only the last pod can miss cores; a core both reach. */
        int64_t fa, na, fb, nb;
        pod_cores(f, pa, &fa, &na);
        pod_cores(f, pb, &fb, &nb);
        assert(na == f->cores || nb == f->cores);
        int64_t first = na < nb ? fa : fb, len = na < nb ? na : nb;
        level = TO_CORE;
        target = (first + (int64_t)(h % (uint64_t)len)) % f->cores;
        h /= (uint64_t)len;
    }
    climb ca = climb_tree(t, site, a, level, target, h);
    climb cb = climb_tree(t, site, b, level, target, h);
    emit_climb(o, &ca, 0);
    emit_climb(o, &cb, 1);
}

/* Climbs from a site's GPU g to one of the site's top switches (which one
 * h picks); sets *top to its number among them. */
static climb climb_top(const topo *t, int64_t site, int64_t g, uint64_t h, int64_t *top)
{
    const tree *f = &t->ft;
    climb c = {0};
    if (t->has_tree) {
        int64_t p, leaf;
        leaf_of(t, g, &p, &leaf);
        if (t->spec.tiers == 2) {
            int64_t spine = (int64_t)(h % (uint64_t)f->spines);
            *top = p * f->spines + spine;
            return climb_tree(t, site, g, TO_SPINE, spine, rehash(h, 1));
        }
        int64_t first, len;
        pod_cores(f, leaf / f->pod_leaves, &first, &len);
        int64_t core = (first + (int64_t)(h % (uint64_t)len)) % f->cores;
        *top = p * f->cores + core;
        return climb_tree(t, site, g, TO_CORE, core, rehash(h, 1));
    }
    if (t->domains) {
        c.n = 1;
        c.up[0] = scaleup_link(t, site, g, 0);
        c.down[0] = c.up[0] + 1;
        *top = g / t->spec.domain_size;
    } else {
        *top = g;
    }
    return c;
}

static void route_torus(const topo *t, int64_t site, int64_t a, int64_t b, path_out *o)
{
    int64_t stride = 1, cur = a;
    for (int d = 0; d < 3; d++) {
        int64_t n = t->tn[d];
        if (n > 1) {
            int64_t ca = cur / stride % n, cb = b / stride % n;
            int64_t fwd = (cb - ca + n) % n;
            int dir = 2 * fwd <= n ? 0 : 1;
            int64_t hops = dir == 0 ? fwd : n - fwd;
            for (int64_t i = 0; i < hops; i++) {
                emit(o, torus_link(t, site, cur, t->tslot[d][dir]));
                cur = torus_neighbour(t, cur, d, dir);
            }
        }
        stride *= n;
    }
    assert(cur == b);
}

/* The destination key of route_tree: its node, with its rail spread by a
 * prime so that the rails of one node, which share a source leaf's
 * uplinks, do not all take the same one. */
static uint64_t dmodk_key(const topo *t, int64_t b)
{
    int64_t D = t->spec.domain_size;
    return (uint64_t)(b / D) + (uint64_t)(b % D) * 131u;
}

size_t topo_route(const topo *t, int64_t src, int64_t dst, int32_t *path, size_t cap)
{
    const topo_spec *s = &t->spec;
    assert(src >= 0 && src < s->gpus && dst >= 0 && dst < s->gpus);
    assert(path != NULL || cap == 0);
    path_out o = {.path = path, .cap = cap};
    if (src == dst)
        return 0;
    uint64_t h = mix64(mix64((uint64_t)src) ^ (uint64_t)dst);
    int64_t D = s->domain_size, G = t->site_gpus;
    int64_t sa = src / G, sb = dst / G, a = src % G, b = dst % G;

    if (D > 1 && src / D == dst / D) {
        emit(&o, scaleup_link(t, sa, a, 0));
        emit(&o, scaleup_link(t, sa, b, 1));
    } else if (sa != sb) {
        int64_t ta, tb;
        climb ca = climb_top(t, sa, a, rehash(h, 1), &ta);
        climb cb = climb_top(t, sb, b, rehash(h, 2), &tb);
        emit_climb(&o, &ca, 0);
        emit(&o, gateway_link(t, sa, ta, 0));
        emit(&o, site_link(t, sa, sb));
        emit(&o, gateway_link(t, sb, tb, 1));
        emit_climb(&o, &cb, 1);
    } else if (s->fabric == TOPO_FABRIC_TORUS) {
        route_torus(t, sa, a, b, &o);
    } else if (s->fabric == TOPO_FABRIC_MULTIPLANE && a % D != b % D) {
        int64_t proxy = a - a % D + b % D; /* PXN: a's node, b's rail */
        emit(&o, scaleup_link(t, sa, a, 0));
        emit(&o, scaleup_link(t, sa, proxy, 1));
        route_tree(t, sa, proxy, b, dmodk_key(t, b), &o);
    } else {
        assert(t->has_tree);
        route_tree(t, sa, a, b, dmodk_key(t, b), &o);
    }
    return o.n;
}

int64_t topo_fattree_switches(double gpus, int64_t *radix)
{
    int64_t k = 64;
    while (k < 512 && gpus > (double)k * (double)k * (double)k / 4)
        k *= 2;
    *radix = k;
    if (gpus <= 1)
        return 0;
    double per = gpus <= (double)k * (double)k / 2 ? 3.0 : 5.0;
    return (int64_t)ceil(per * gpus / (double)k);
}
