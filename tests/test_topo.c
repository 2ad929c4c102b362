/* Tests of topologies (src/net/topo): switch, link and cable counts of
 * shapes worked by hand, DeepSeek's published fabric sizes, routes that
 * connect link to link along the shortest way, a switch port budget that
 * holds, each bad field named, and the time to build 200,000 GPUs. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "net/topo.h"
#include "test_assert.h"

#define MAXPATH 64

/* H800-like figures; the counts do not depend on them. */
static topo_spec tree_spec(topo_fabric fabric, int64_t gpus, int64_t domain, int tiers, double over,
                           int radix)
{
    return (topo_spec){.gpus = gpus,
                       .domain_size = domain,
                       .scaleup_bw_Bps = 200e9,
                       .scaleup_latency_s = 3e-6,
                       .fabric = fabric,
                       .tiers = tiers,
                       .oversubscription = over,
                       .switch_radix = radix,
                       .nic_bw_Bps = 50e9,
                       .nic_latency_s = 1e-6,
                       .sites = 1};
}

static topo_spec fattree(int64_t gpus, int64_t domain, int tiers, double over, int radix)
{
    return tree_spec(TOPO_FABRIC_FATTREE, gpus, domain, tiers, over, radix);
}

static topo_spec multiplane(int64_t gpus, int64_t domain, int tiers, double over, int radix)
{
    return tree_spec(TOPO_FABRIC_MULTIPLANE, gpus, domain, tiers, over, radix);
}

static topo_spec torus(int x, int y, int z)
{
    int64_t n = (int64_t)(x ? x : 1) * (y ? y : 1) * (z ? z : 1);
    return (topo_spec){.gpus = n,
                       .domain_size = 1,
                       .fabric = TOPO_FABRIC_TORUS,
                       .torus_dims = {x, y, z},
                       .ici_bw_Bps = 45e9,
                       .ici_latency_s = 1e-6,
                       .sites = 1};
}

static topo_spec torus_hosts(int x, int y, int64_t host)
{
    topo_spec s = torus(x, y, 0);
    s.domain_size = host;
    s.scaleup_bw_Bps = 100e9;
    s.scaleup_latency_s = 2e-6;
    return s;
}

static topo_spec nvl72(void)
{
    return (topo_spec){.gpus = 72,
                       .domain_size = 72,
                       .scaleup_bw_Bps = 900e9,
                       .scaleup_latency_s = 1e-6,
                       .fabric = TOPO_FABRIC_NONE,
                       .sites = 1};
}

static topo_spec with_sites(topo_spec s, int sites)
{
    s.gpus *= sites;
    s.sites = sites;
    s.site_bw_Bps = 100e9;
    s.site_latency_s = 1e-3;
    return s;
}

static topo *build_ok(const topo_spec *s, const char *what)
{
    topo *t = NULL;
    ms_err err = {0};
    int rc = topo_build(s, &t, &err);
    if (rc)
        printf("\n    %s: %s\n", what, err.msg);
    CU_ASSERT_FATAL(rc == MS_OK && t != NULL);
    return t;
}

/* ---- sizes ---- */

static void test_counts(void)
{
    const struct {
        const char *what;
        topo_spec spec;
        int64_t nodes, nics;
        int64_t switches[4];
        int64_t links;
    } cases[] = {
        /* 2 nodes of 8, radix 64, o 1: leaves 32 down / 32 up; 8 rails of 2
         * NICs -> 8 leaves, each using ceil(2/1) = 2 uplinks (its rail has
         * fewer nodes than down ports); 16 uplinks -> ceil(16/64) = 1 spine.
         * Cables: 16 scale-up + 16 NIC + 16 leaf-spine = 48. */
        {"16 GPUs in 2 x 8, FT2 r64", fattree(16, 8, 2, 1, 64), 2, 16, {2, 8, 1, 0}, 96},
        /* DeepSeek FT2 (ISCA'25 Table 3: 2,048 endpoints, 96 switches): 256
         * nodes, 8 rails of ceil(256/32) = 8 leaves = 64 leaves, 64 x 32
         * uplinks / 64 ports = 32 spines. Cables 2048 + 2048 + 2048. */
        {"FT2 2048", fattree(2048, 8, 2, 1, 64), 256, 2048, {256, 64, 32, 0}, 12288},
        /* DeepSeek MPFT (Table 3: 16,384 endpoints, 768 switches): 2,048
         * nodes; each of 8 planes has 2048/32 = 64 leaves and 64 x 32 / 64 =
         * 32 spines: 8 x 96 = 768. Cables 16384 x 3. */
        {"MPFT 16384", multiplane(16384, 8, 2, 1, 64), 2048, 16384, {2048, 512, 256, 0}, 98304},
        /* DeepSeek FT3 (Table 3: 65,536 endpoints, 5,120 switches): 8,192
         * nodes, 8 x 256 = 2,048 leaves in 64 pods of 32; 32 x 32 / 32 = 32
         * spines per pod; each spine 32 up: 2048 x 32 / 64 = 1,024 cores.
         * 2048 + 2048 + 1024 = 5120. Cables 65536 x 4. */
        {"FT3 65536", fattree(65536, 8, 3, 1, 64), 8192, 65536, {8192, 2048, 2048, 1024}, 524288},
        /* Radix 8, o 3: leaves 6 down / 2 up. 24 nodes of 2: 2 rails x
         * ceil(24/6) = 4 -> 8 leaves, pods of 8/2 = 4 leaves -> 2 pods, each
         * ceil(4 x 2 / 4) = 2 spines with min(4, 4 x 2 / 2) = 4 uplinks;
         * 4 x 4 / 8 = 2 cores. Cables 48 + 48 + 8 x 2 + 4 x 4 = 128. */
        {"FT3 o3 r8, 48 GPUs", fattree(48, 2, 3, 3, 8), 24, 48, {24, 8, 4, 2}, 256},
        /* Radix 64, o 3: 48 down / 16 up; 12,288 nodes -> 8 x 256 = 2,048
         * leaves, 64 pods of 32, each 32 x 16 / 32 = 16 spines with 32
         * uplinks; 1024 x 32 / 64 = 512 cores. The most o 3 holds at r64.
         * Cables 98304 x 2 + 2048 x 16 + 1024 x 32 = 262144. */
        {"FT3 o3", fattree(98304, 8, 3, 3, 64), 12288, 98304, {12288, 2048, 1024, 512}, 524288},
        /* Radix 64, o 2: 42 down / 22 up; 168 nodes -> 8 x 4 = 32 leaves,
         * 32 x 22 = 704 uplinks = 11 full spines. Cables 1344 x 2 + 704. */
        {"FT2 o2 r64, 1344 GPUs", fattree(1344, 8, 2, 2, 64), 168, 1344, {168, 32, 11, 0}, 6784},
        /* One GPU per node: 1 rail, radix 16 (8/8): 8 leaves, 64 / 16 = 4
         * spines, no scale-up switches. Cables 64 + 64. */
        {"FT2 domains of 1, r16", fattree(64, 1, 2, 1, 16), 64, 64, {0, 8, 4, 0}, 256},
        /* 8 nodes of 8 on 8 planes: one leaf per plane with 8 uplinks to
         * ceil(8/64) = 1 spine. Cables 64 + 64 + 64. */
        {"MP2 64 GPUs", multiplane(64, 8, 2, 1, 64), 8, 64, {8, 8, 8, 0}, 384},
        /* 200,000 GPUs, radix 128: 25,000 nodes, 64 per leaf -> 391 blocks x
         * 8 = 3,128 leaves; pods of 64 -> 48 full + one of 56 leaves;
         * spines 48 x 64 + 56 = 3,128; 3128 x 64 / 128 = 1,564 cores.
         * Cables 200000 x 2 + 3128 x 64 x 2 = 800384. */
        {"FT3 200000",
         fattree(200000, 8, 3, 1, 128),
         25000,
         200000,
         {25000, 3128, 3128, 1564},
         1600768},
        /* 64 nodes, 6 links out of each. */
        {"torus 4x4x4", torus(4, 4, 4), 64, 0, {0, 0, 0, 0}, 384},
        /* A dimension of 2: one neighbour each way, not two parallel links. */
        {"torus 2x2", torus(2, 2, 0), 4, 0, {0, 0, 0, 0}, 8},
        {"torus 2x3", torus(2, 3, 0), 6, 0, {0, 0, 0, 0}, 6 * (1 + 2)},
        {"torus 16 (ring)", torus(0, 16, 0), 16, 0, {0, 0, 0, 0}, 32},
        /* Hosts of 4 chips on a 4x4 torus: 4 scale-up switches (32 links)
         * beside the 64 ICI links. */
        {"torus 4x4, hosts of 4", torus_hosts(4, 4, 4), 4, 0, {4, 0, 0, 0}, 32 + 64},
        /* One NVL72 and nothing else; one GPU and nothing at all. */
        {"one NVL72", nvl72(), 1, 0, {1, 0, 0, 0}, 144},
        {"one GPU", (topo_spec){.gpus = 1, .domain_size = 1, .sites = 1}, 1, 0, {0, 0, 0, 0}, 0},
        /* Per site: the 16-GPU FT2 above (96 links) plus a cable from its
         * one spine to the gateway; 2 site links. 2 x 98 + 2. */
        {"2 sites of FT2 16", with_sites(fattree(16, 8, 2, 1, 64), 2), 4, 32, {4, 16, 2, 2}, 198},
        /* 3 sites, one NVL72 each: 144 scale-up links + 2 to the gateway
         * per site, 3 x 2 site links. */
        {"3 NVL72 sites", with_sites(nvl72(), 3), 3, 0, {3, 0, 0, 3}, 3 * 146 + 6},
        /* Torus sites: every GPU cabled to its site's gateway. 2 x (384 +
         * 128) + 2. */
        {"2 torus sites 4x4x4", with_sites(torus(4, 4, 4), 2), 128, 0, {0, 0, 0, 2}, 1026},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *what = cases[i].what;
        topo *t = build_ok(&cases[i].spec, what);
        topo_size z = topo_get_size(t);
        MS_ASSERT_INT_EQ_AS(what, z.gpus, cases[i].spec.gpus);
        MS_ASSERT_INT_EQ_AS(what, z.nodes, cases[i].nodes);
        MS_ASSERT_INT_EQ_AS(what, z.nics, cases[i].nics);
        for (int k = 0; k < 4; k++)
            MS_ASSERT_INT_EQ_AS(what, z.switches[k], cases[i].switches[k]);
        MS_ASSERT_INT_EQ_AS(what, z.links, cases[i].links);
        MS_ASSERT_INT_EQ_AS(what, z.cables * 2, z.links);
        MS_ASSERT_INT_EQ_AS(what, topo_nlinks(t), z.links);
        topo_free(t);
    }
}

/* The three DeepSeek rows of ISCA'25 Table 3 (arXiv:2505.09343) counted as
 * the paper counts: fabric switches only, tiers 1 to 3. */
static void test_deepseek_table3(void)
{
    const struct {
        const char *what;
        topo_spec spec;
        int64_t switches;
    } rows[] = {
        {"FT2", fattree(2048, 8, 2, 1, 64), 96},
        {"MPFT", multiplane(16384, 8, 2, 1, 64), 768},
        {"FT3", fattree(65536, 8, 3, 1, 64), 5120},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        topo *t = build_ok(&rows[i].spec, rows[i].what);
        topo_size z = topo_get_size(t);
        MS_ASSERT_INT_EQ_AS(rows[i].what, z.switches[1] + z.switches[2] + z.switches[3],
                            rows[i].switches);
        topo_free(t);
    }
    /* And each is the largest its shape holds: one more node is an error. */
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        topo_spec s = rows[i].spec;
        s.gpus += 8;
        topo *t = (topo *)1;
        ms_err err = {0};
        MS_ASSERT_INT_EQ_AS(rows[i].what, topo_build(&s, &t, &err), MS_EINVAL);
        CU_ASSERT(t == NULL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "field 'gpus'"));
    }
}

/* No fabric switch has more links than ports, and no leaf more NICs per
 * uplink than the oversubscription. */
static void test_port_budget(void)
{
    const struct {
        const char *what;
        topo_spec spec;
    } cases[] = {
        {"FT2 2048", fattree(2048, 8, 2, 1, 64)},
        {"FT2 partial 1000", fattree(1000, 8, 2, 1, 64)},
        {"FT2 o2 1344", fattree(1344, 8, 2, 2, 64)},
        {"FT2 o2.5 r40 3 rails", fattree(600, 3, 2, 2.5, 40)},
        {"MP2 16384", multiplane(16384, 8, 2, 1, 64)},
        {"FT3 o3 r8", fattree(48, 2, 3, 3, 8)},
        {"FT3 partial pod", fattree(8000, 8, 3, 1, 32)},
        {"FT3 o3 r64 30000", fattree(30000, 8, 3, 3, 64)},
        {"MP3 r16 odd", multiplane(4 * 250, 4, 3, 1.5, 17)},
        {"FT3 r128 200000", fattree(200000, 8, 3, 1, 128)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *what = cases[i].what;
        const topo_spec *s = &cases[i].spec;
        topo *t = build_ok(s, what);
        topo_size z = topo_get_size(t);
        int64_t nodes = z.gpus + z.switches[0] + z.switches[1] + z.switches[2] + z.switches[3];
        int *ports = calloc((size_t)nodes, sizeof *ports);
        int *nics = calloc((size_t)nodes, sizeof *nics);
        int *ups = calloc((size_t)nodes, sizeof *ups);
        CU_ASSERT_FATAL(ports && nics && ups);
        for (size_t l = 0; l < topo_nlinks(t); l++) {
            const topo_link *k = topo_link_at(t, l);
            CU_ASSERT_FATAL(k->from >= 0 && k->from < nodes && k->to >= 0 && k->to < nodes);
            CU_ASSERT(k->from != k->to);
            if (k->kind == TOPO_LINK_NIC || k->kind == TOPO_LINK_FABRIC)
                ports[k->from]++;
            if (k->kind == TOPO_LINK_NIC && k->from < z.gpus)
                nics[k->to]++;
        }
        for (size_t l = 0; l < topo_nlinks(t); l++) {
            const topo_link *k = topo_link_at(t, l);
            if (k->kind == TOPO_LINK_FABRIC && nics[k->from] > 0)
                ups[k->from]++;
        }
        int worst = 0, bad_ratio = 0;
        for (int64_t n = z.gpus; n < nodes; n++) {
            if (ports[n] > worst)
                worst = ports[n];
            if (nics[n] && !(nics[n] <= ups[n] * s->oversubscription * (1 + 1e-12)))
                bad_ratio++;
        }
        if (worst > s->switch_radix || bad_ratio)
            printf("\n    %s: busiest switch %d ports (radix %d), %d leaves over o %g\n", what,
                   worst, s->switch_radix, bad_ratio, s->oversubscription);
        CU_ASSERT(worst <= s->switch_radix);
        CU_ASSERT_EQUAL(bad_ratio, 0);
        free(ports);
        free(nics);
        free(ups);
        topo_free(t);
    }
}

static void test_link_figures(void)
{
    topo_spec s = with_sites(fattree(16, 8, 2, 1, 64), 2);
    topo *t = build_ok(&s, "2 sites");
    int seen[5] = {0};
    for (size_t l = 0; l < topo_nlinks(t); l++) {
        const topo_link *k = topo_link_at(t, l);
        seen[k->kind]++;
        switch (k->kind) {
        case TOPO_LINK_SCALEUP:
            MS_ASSERT_EXACT(k->bw_Bps, 200e9);
            MS_ASSERT_WITHIN(k->latency_s, 1.5e-6, 1e-18);
            break;
        case TOPO_LINK_NIC:
            MS_ASSERT_EXACT(k->bw_Bps, 50e9);
            MS_ASSERT_EXACT(k->latency_s, 1e-6);
            break;
        case TOPO_LINK_FABRIC: /* leaf-spine at 50e9; spine-gateway never the bottleneck */
            CU_ASSERT(k->bw_Bps == 50e9 || k->bw_Bps == 100e9);
            break;
        case TOPO_LINK_SITE:
            MS_ASSERT_EXACT(k->bw_Bps, 100e9);
            MS_ASSERT_EXACT(k->latency_s, 1e-3);
            break;
        default:
            CU_FAIL("unexpected link kind");
        }
    }
    MS_ASSERT_INT_EQ_AS("scale-up", seen[TOPO_LINK_SCALEUP], 64);
    MS_ASSERT_INT_EQ_AS("NIC", seen[TOPO_LINK_NIC], 64);
    MS_ASSERT_INT_EQ_AS("fabric", seen[TOPO_LINK_FABRIC], 2 * 32 + 2 * 2);
    MS_ASSERT_INT_EQ_AS("site", seen[TOPO_LINK_SITE], 2);
    CU_ASSERT_EQUAL(topo_get_spec(t)->switch_radix, 64);
    MS_ASSERT_INT_EQ_AS("domain", topo_domain_of(t, 17), 2);
    topo_free(t);
    topo_free(NULL);
}

/* ---- routes ---- */

/* Routes src -> dst and checks the path: starts at src, each link starts
 * where the previous ended, ends at dst, crosses no link twice. Fills
 * path; returns its length. */
static size_t route_checked(const topo *t, int64_t src, int64_t dst, int32_t path[MAXPATH])
{
    size_t n = topo_route(t, src, dst, path, MAXPATH);
    CU_ASSERT_FATAL(n <= MAXPATH);
    if (src == dst) {
        CU_ASSERT_EQUAL(n, 0);
        return n;
    }
    int ok = n > 0;
    int64_t at = src;
    for (size_t i = 0; ok && i < n; i++) {
        ok = path[i] >= 0 && (size_t)path[i] < topo_nlinks(t);
        if (!ok)
            break;
        const topo_link *k = topo_link_at(t, (size_t)path[i]);
        ok = k->from == at;
        at = k->to;
        for (size_t j = 0; ok && j < i; j++)
            ok = path[j] != path[i];
    }
    ok = ok && at == dst;
    if (!ok)
        printf("\n    route %lld -> %lld (%zu links) does not connect\n", (long long)src,
               (long long)dst, n);
    CU_ASSERT(ok);
    return n;
}

static topo_link_kind kind_at(const topo *t, const int32_t *path, size_t i)
{
    return topo_link_at(t, (size_t)path[i])->kind;
}

static void test_route_same_domain(void)
{
    topo_spec s = fattree(2048, 8, 2, 1, 64);
    topo *t = build_ok(&s, "FT2");
    int32_t path[MAXPATH];
    MS_ASSERT_INT_EQ_AS("same domain", route_checked(t, 8, 13, path), 2);
    CU_ASSERT_EQUAL(kind_at(t, path, 0), TOPO_LINK_SCALEUP);
    CU_ASSERT_EQUAL(kind_at(t, path, 1), TOPO_LINK_SCALEUP);
    double lat =
        topo_link_at(t, (size_t)path[0])->latency_s + topo_link_at(t, (size_t)path[1])->latency_s;
    MS_ASSERT_WITHIN(lat, s.scaleup_latency_s, 1e-18);
    MS_ASSERT_INT_EQ_AS("to itself", topo_route(t, 5, 5, path, MAXPATH), 0);
    topo_free(t);
}

/* Expected fat-tree path lengths from the documented rule: same domain 2,
 * same leaf 2, same pod 4, else 6. */
static void check_tree_routes(const char *what, const topo_spec *s, int pairs)
{
    topo *t = build_ok(s, what);
    rng *r = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new(&r, 7, &err) == MS_OK);
    int64_t D = s->domain_size, R = s->switch_radix;
    int64_t down = (int64_t)floor(R * s->oversubscription / (1 + s->oversubscription) + 1e-9);
    int multi = s->fabric == TOPO_FABRIC_MULTIPLANE;
    int64_t pod_leaves = s->tiers == 3 ? R / 2 : INT64_MAX;
    int32_t path[MAXPATH];
    int bad = 0;
    for (int i = 0; i < pairs; i++) {
        int64_t a = (int64_t)rng_below(r, (uint64_t)s->gpus);
        int64_t b = i % 4 == 0 ? a / D * D + (a + 1) % D : (int64_t)rng_below(r, (uint64_t)s->gpus);
        size_t n = route_checked(t, a, b, path);
        size_t expect, pxn = 0;
        int64_t ra = a % D, rb = b % D, ba = a / D / down, bb = b / D / down;
        if (a == b)
            expect = 0;
        else if (a / D == b / D)
            expect = 2;
        else {
            if (multi && ra != rb) {
                pxn = 2; /* to a's node's GPU on b's rail first */
                ra = rb;
            }
            int64_t la = multi ? ba : ba * D + ra, lb = multi ? bb : bb * D + rb;
            if (la == lb)
                expect = 2;
            else if (la / pod_leaves == lb / pod_leaves)
                expect = 4;
            else
                expect = 6;
            expect += pxn;
        }
        if (n != expect && bad++ < 5)
            printf("\n    %s: %lld -> %lld: %zu links, expected %zu\n", what, (long long)a,
                   (long long)b, n, expect);
        if (n == expect && expect >= 4 && !pxn) {
            CU_ASSERT(kind_at(t, path, 0) == TOPO_LINK_NIC &&
                      kind_at(t, path, n - 1) == TOPO_LINK_NIC);
            for (size_t k = 1; k + 1 < n; k++)
                CU_ASSERT(kind_at(t, path, k) == TOPO_LINK_FABRIC);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    rng_free(r);
    topo_free(t);
}

static void test_route_fattree(void)
{
    topo_spec ft2 = fattree(2048, 8, 2, 1, 64), ft3 = fattree(65536, 8, 3, 1, 64);
    topo_spec small = fattree(16, 8, 2, 1, 64), o3 = fattree(48, 2, 3, 3, 8);
    topo_spec partial = fattree(8000, 8, 3, 1, 32), odd = multiplane(4 * 250, 4, 3, 1.5, 17);
    check_tree_routes("FT2 2048", &ft2, 3000);
    check_tree_routes("FT3 65536", &ft3, 3000);
    check_tree_routes("FT2 16", &small, 500);
    check_tree_routes("FT3 o3 r8", &o3, 2000);
    check_tree_routes("FT3 partial pod", &partial, 3000);
    check_tree_routes("MP3 r17 o1.5", &odd, 3000);
}

/* Cross-leaf routes of DeepSeek's FT2 spread over all 32 spines, and
 * evenly: the spine is chosen by destination (D-mod-k), so 128 destination
 * nodes give each spine exactly 4 of them. */
static void test_route_spreads(void)
{
    topo_spec s = fattree(2048, 8, 2, 1, 64);
    topo *t = build_ok(&s, "FT2");
    int used[32] = {0};
    int32_t path[MAXPATH];
    for (int64_t a = 0; a < 2048; a += 64)
        for (int64_t b = 1024; b < 2048; b += 8) {
            if (route_checked(t, a, b, path) != 4)
                continue;
            int32_t spine = topo_link_at(t, (size_t)path[1])->to;
            int64_t first_spine = 2048 + 256 + 64;
            CU_ASSERT_FATAL(spine >= first_spine && spine < first_spine + 32);
            used[spine - first_spine]++;
        }
    int idle = 0, most = 0, least = used[0];
    for (int i = 0; i < 32; i++) {
        idle += used[i] == 0;
        most = used[i] > most ? used[i] : most;
        least = used[i] < least ? used[i] : least;
    }
    MS_ASSERT_INT_EQ_AS("spines no route took", idle, 0);
    MS_ASSERT_INT_EQ_AS("routes on the busiest spine less the idlest", most - least, 0);
    topo_free(t);
}

static void test_route_multiplane(void)
{
    topo_spec s = multiplane(16384, 8, 2, 1, 64);
    topo *t = build_ok(&s, "MPFT");
    int32_t path[MAXPATH];
    /* GPU 0 (node 0, rail 0) to GPU 803 (node 100, rail 3): over NVLink to
     * GPU 3, then plane 3: leaf, spine, leaf of node 100. */
    size_t n = route_checked(t, 0, 803, path);
    MS_ASSERT_INT_EQ_AS("cross-rail", n, 6);
    CU_ASSERT_EQUAL(kind_at(t, path, 0), TOPO_LINK_SCALEUP);
    CU_ASSERT_EQUAL(kind_at(t, path, 1), TOPO_LINK_SCALEUP);
    MS_ASSERT_INT_EQ_AS("proxy GPU", topo_link_at(t, (size_t)path[1])->to, 3);
    CU_ASSERT_EQUAL(kind_at(t, path, 2), TOPO_LINK_NIC);
    /* Same rail: straight into the plane. */
    n = route_checked(t, 3, 803, path);
    MS_ASSERT_INT_EQ_AS("same rail", n, 4);
    CU_ASSERT_EQUAL(kind_at(t, path, 0), TOPO_LINK_NIC);
    /* Same rail, same leaf (nodes 0 and 31). */
    MS_ASSERT_INT_EQ_AS("same leaf", route_checked(t, 3, 31 * 8 + 3, path), 2);
    topo_free(t);
    /* Planes are disjoint: no fabric link joins leaves of two rails. */
    s = multiplane(2048, 8, 2, 1, 64);
    t = build_ok(&s, "MP 2048");
    topo_size z = topo_get_size(t);
    int64_t nodes = z.gpus + z.switches[0] + z.switches[1] + z.switches[2];
    int *rail = malloc((size_t)nodes * sizeof *rail);
    CU_ASSERT_FATAL(rail != NULL);
    for (int64_t i = 0; i < nodes; i++)
        rail[i] = -1;
    for (size_t l = 0; l < topo_nlinks(t); l++) {
        const topo_link *k = topo_link_at(t, l);
        if (k->kind == TOPO_LINK_NIC && k->from < z.gpus)
            rail[k->to] = (int)(k->from % 8);
    }
    int crossing = 0;
    for (int pass = 0; pass < 2; pass++) /* leaves colour spines, spines check leaves */
        for (size_t l = 0; l < topo_nlinks(t); l++) {
            const topo_link *k = topo_link_at(t, l);
            if (k->kind != TOPO_LINK_FABRIC || rail[k->from] < 0)
                continue;
            if (rail[k->to] < 0)
                rail[k->to] = rail[k->from];
            else if (rail[k->to] != rail[k->from])
                crossing++;
        }
    MS_ASSERT_INT_EQ_AS("links between planes", crossing, 0);
    free(rail);
    topo_free(t);
}

static void test_route_torus(void)
{
    topo_spec s = torus(4, 4, 4);
    topo *t = build_ok(&s, "4x4x4");
    int32_t path[MAXPATH];
    int bad = 0;
    for (int64_t a = 0; a < 64; a++)
        for (int64_t b = 0; b < 64; b++) {
            int64_t expect = 0;
            for (int64_t stride = 1; stride < 64; stride *= 4) {
                int64_t d = (b / stride % 4 - a / stride % 4 + 4) % 4;
                expect += d <= 2 ? d : 4 - d;
            }
            size_t n = route_checked(t, a, b, path);
            for (size_t i = 0; i < n; i++)
                CU_ASSERT(kind_at(t, path, i) == TOPO_LINK_ICI);
            if ((int64_t)n != expect && bad++ < 5)
                printf("\n    %lld -> %lld: %zu hops, expected %lld\n", (long long)a, (long long)b,
                       n, (long long)expect);
        }
    CU_ASSERT_EQUAL(bad, 0);
    /* Dimension order, + on a tie: (0,0,0) -> (2,2,0) via (1,0,0), (2,0,0), (2,1,0). */
    MS_ASSERT_INT_EQ_AS("tie", route_checked(t, 0, 2 + 2 * 4, path), 4);
    static const int64_t via[] = {1, 2, 6, 10};
    for (int i = 0; i < 4; i++)
        MS_ASSERT_INT_EQ_AS("tie", topo_link_at(t, (size_t)path[i])->to, via[i]);
    /* The short way round: (0,0,0) -> (3,0,0) is one hop back. */
    MS_ASSERT_INT_EQ_AS("wrap", route_checked(t, 0, 3, path), 1);
    topo_free(t);

    s = torus(2, 2, 0);
    t = build_ok(&s, "2x2");
    MS_ASSERT_INT_EQ_AS("2x2 across", route_checked(t, 0, 3, path), 2);
    MS_ASSERT_INT_EQ_AS("2x2 next", route_checked(t, 1, 0, path), 1);
    topo_free(t);

    /* Hosts of 4 along x: inside a host over its switch, else the torus. */
    s = torus_hosts(4, 4, 4);
    t = build_ok(&s, "4x4, hosts of 4");
    MS_ASSERT_INT_EQ_AS("in a host", route_checked(t, 0, 3, path), 2);
    CU_ASSERT_EQUAL(kind_at(t, path, 0), TOPO_LINK_SCALEUP);
    MS_ASSERT_INT_EQ_AS("next host", route_checked(t, 3, 7, path), 1);
    CU_ASSERT_EQUAL(kind_at(t, path, 0), TOPO_LINK_ICI);
    MS_ASSERT_INT_EQ_AS("across", route_checked(t, 1, 14, path), 1 + 1);
    topo_free(t);
}

static void test_route_sites(void)
{
    const struct {
        const char *what;
        topo_spec spec;
        size_t across; /* links between GPUs of different sites */
    } cases[] = {
        /* NIC, leaf-spine, spine-gateway, site, gateway-spine, spine-leaf, NIC */
        {"FT2 sites", with_sites(fattree(16, 8, 2, 1, 64), 2), 7},
        /* 3 up, gateway, site, gateway, 3 down */
        {"FT3 sites", with_sites(fattree(48, 2, 3, 3, 8), 3), 9},
        {"MP2 sites", with_sites(multiplane(64, 8, 2, 1, 64), 2), 7},
        /* GPU to gateway directly */
        {"torus sites", with_sites(torus(4, 4, 4), 2), 3},
        {"NVL72 sites", with_sites(nvl72(), 3), 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *what = cases[i].what;
        const topo_spec *s = &cases[i].spec;
        topo *t = build_ok(s, what);
        int64_t per_site = s->gpus / s->sites;
        int32_t path[MAXPATH];
        for (int64_t a = 0; a < s->gpus; a++)
            for (int64_t b = a % 5; b < s->gpus; b += 7) {
                size_t n = route_checked(t, a, b, path);
                int site_links = 0;
                for (size_t k = 0; k < n; k++)
                    site_links += kind_at(t, path, k) == TOPO_LINK_SITE;
                if (a / per_site != b / per_site) {
                    MS_ASSERT_INT_EQ_AS(what, n, cases[i].across);
                    MS_ASSERT_INT_EQ_AS(what, site_links, 1);
                } else {
                    MS_ASSERT_INT_EQ_AS(what, site_links, 0);
                }
            }
        topo_free(t);
    }
}

static void test_route_cap_and_determinism(void)
{
    topo_spec s = fattree(65536, 8, 3, 1, 64);
    topo *t = build_ok(&s, "FT3"), *u = build_ok(&s, "FT3 again");
    int32_t path[8] = {-1, -1, -1, -1, -1, -1, -1, -1}, full[MAXPATH], again[MAXPATH];
    /* node 0 and node 8000: different pods, 6 links; only 2 written */
    MS_ASSERT_INT_EQ_AS("capped", topo_route(t, 0, 64000, path, 2), 6);
    CU_ASSERT(path[0] >= 0 && path[1] >= 0 && path[2] == -1);
    MS_ASSERT_INT_EQ_AS("no room", topo_route(t, 0, 64000, NULL, 0), 6);
    route_checked(t, 0, 64000, full);
    CU_ASSERT(path[0] == full[0] && path[1] == full[1]);

    rng *r = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(rng_new(&r, 11, &err) == MS_OK);
    int differ = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t a = (int64_t)rng_below(r, 65536), b = (int64_t)rng_below(r, 65536);
        size_t n = topo_route(t, a, b, full, MAXPATH);
        size_t m = topo_route(u, a, b, again, MAXPATH);
        size_t k = topo_route(t, a, b, path, 8);
        differ += n != m || n != k || memcmp(full, again, n * sizeof *full) != 0 ||
                  memcmp(full, path, n * sizeof *full) != 0;
    }
    MS_ASSERT_INT_EQ_AS("routes that changed", differ, 0);
    rng_free(r);
    topo_free(t);
    topo_free(u);
}

/* ---- bad input ---- */

static void test_bad_specs(void)
{
    topo_spec ft = fattree(2048, 8, 2, 1, 64), tor = torus(4, 4, 4);
    static struct {
        const char *what;
        topo_spec spec;
        const char *expect;
    } cases[64];
    size_t n = 0;
#define BAD(base, field, value, text)                                                              \
    do {                                                                                           \
        cases[n].what = #field " = " #value;                                                       \
        cases[n].spec = base;                                                                      \
        cases[n].spec.field = value;                                                               \
        cases[n].expect = text;                                                                    \
        n++;                                                                                       \
    } while (0)
    BAD(ft, gpus, 20, "field 'gpus': 20 GPUs do not divide into domains of 8");
    BAD(ft, gpus, 0, "field 'gpus': expected 1 to");
    BAD(ft, gpus, INT64_C(1) << 40, "field 'gpus': expected 1 to");
    BAD(ft, domain_size, 0, "field 'domain_size': expected >= 1 GPU, got 0");
    BAD(ft, scaleup_bw_Bps, 0, "field 'scaleup_bw_Bps': expected a bandwidth > 0, got 0");
    BAD(ft, scaleup_latency_s, NAN, "field 'scaleup_latency_s': expected a latency >= 0");
    BAD(ft, fabric, (topo_fabric)9, "field 'fabric': expected none, fattree, multiplane or torus");
    BAD(ft, fabric, TOPO_FABRIC_NONE, "field 'fabric': expected a fabric to join the 256 domains");
    BAD(ft, tiers, 4, "field 'tiers': expected 2 or 3, got 4");
    BAD(ft, tiers, 1, "field 'tiers': expected 2 or 3, got 1");
    BAD(ft, oversubscription, 0.5, "field 'oversubscription': expected >= 1, got 0.5");
    BAD(ft, oversubscription, NAN, "field 'oversubscription': expected >= 1, got nan");
    BAD(ft, oversubscription, INFINITY, "field 'oversubscription': expected >= 1, got inf");
    BAD(ft, switch_radix, 1, "field 'switch_radix': expected >= 2 ports, got 1");
    BAD(ft, switch_radix, 32, "needs 3 tiers or a larger radix");
    BAD(ft, nic_bw_Bps, 0, "field 'nic_bw_Bps': expected a bandwidth > 0, got 0");
    BAD(ft, nic_bw_Bps, -5, "field 'nic_bw_Bps': expected a bandwidth > 0, got -5");
    BAD(ft, nic_latency_s, -1e-6, "field 'nic_latency_s': expected a latency >= 0, got -1e-06");
    BAD(ft, gpus, 16384, "field 'gpus': 16384 GPUs need 512 leaves per plane");
    BAD(ft, sites, 0, "field 'sites': expected >= 1, got 0");
    BAD(ft, sites, 3, "field 'sites': 2048 GPUs do not split evenly into 3 sites");
    BAD(ft, sites, 512, "field 'sites': 512 sites of 4 GPUs each do not hold whole domains of 8");
    BAD(ft, sites, 2, "field 'site_bw_Bps': expected a bandwidth > 0, got 0");
    BAD(with_sites(ft, 2), site_latency_s, -1, "field 'site_latency_s': expected a latency >= 0");
    BAD(with_sites(ft, 2), site_bw_Bps, INFINITY, "field 'site_bw_Bps'");
    BAD(fattree(65536, 8, 3, 1, 64), gpus, 65544, "needs a larger radix");
    BAD(multiplane(65536, 8, 3, 1, 64), switch_radix, 16,
        "field 'gpus': 65536 GPUs need 128 pods of 8 leaves per plane");
    BAD(tor, gpus, 100, "field 'torus_dims': 4 x 4 x 4 = 64 does not match the 100 GPUs");
    BAD(with_sites(tor, 2), gpus, 256,
        "field 'torus_dims': 4 x 4 x 4 = 64 does not match the 128 GPUs of each site");
    BAD(tor, torus_dims[1], 0, "field 'torus_dims': 4 x 4 = 16 does not match the 64 GPUs");
    BAD(tor, torus_dims[2], -4, "field 'torus_dims': expected sizes >= 0");
    BAD(torus(0, 0, 0), gpus, 1, "field 'torus_dims': expected at least one dimension > 0");
    BAD(tor, torus_dims[0], 1 << 30, "field 'torus_dims'");
    BAD(tor, ici_bw_Bps, 0, "field 'ici_bw_Bps': expected a bandwidth > 0, got 0");
    BAD(tor, ici_latency_s, -1, "field 'ici_latency_s'");
    /* 2^30 GPUs in a 1024^3 torus: 6 x 2^30 links do not fit 32-bit ids */
    topo_spec huge = torus(1024, 1024, 1024);
    BAD(huge, gpus, INT64_C(1) << 30, "field 'gpus': 1073741824 GPUs make 6442450944 links");
#undef BAD
    for (size_t i = 0; i < n; i++) {
        topo *t = (topo *)1;
        ms_err err = {0};
        int rc = topo_build(&cases[i].spec, &t, &err);
        int ok = rc == MS_EINVAL && t == NULL && strstr(err.msg, cases[i].expect);
        if (!ok)
            printf("\n    case '%s': rc %d, message \"%s\"; expected \"%s\"\n", cases[i].what, rc,
                   err.msg, cases[i].expect);
        CU_ASSERT(ok);
        if (rc == MS_OK)
            topo_free(t);
    }
}

/* ---- scale ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_build_time(void)
{
    const struct {
        const char *what;
        topo_spec spec;
    } cases[] = {
        {"FT3 r128, 200,000 GPUs", fattree(200000, 8, 3, 1, 128)},
        {"MP3 r64, 131,072 GPUs", multiplane(131072, 8, 3, 1, 64)},
        {"FT3 o3 r64, 98,304 GPUs", fattree(98304, 8, 3, 3, 64)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t0 = now_s();
        topo *t = build_ok(&cases[i].spec, cases[i].what);
        double built = now_s() - t0;
        int32_t path[MAXPATH];
        int64_t G = cases[i].spec.gpus, routes = 1000000, hops = 0;
        t0 = now_s();
        for (int64_t k = 0; k < routes; k++)
            hops += (int64_t)topo_route(t, k * 7919 % G, k * 104729 % G, path, MAXPATH);
        double routed = now_s() - t0;
        printf("\n    %s: %zu links built in %.1f ms; %lld routes in %.1f ms (%.2f links each)",
               cases[i].what, topo_nlinks(t), built * 1e3, (long long)routes, routed * 1e3,
               (double)hops / routes);
#ifndef MEGASIM_SANITIZE
        CU_ASSERT(built < 1.0);
#endif
        topo_free(t);
    }
    printf("\n");
}

/* The switch count for sizing equals a built fabric's from 512 GPUs up,
 * 2 and 3 tiers, and moves to a bigger radix past 3 tiers of 64 ports. */
static void test_fattree_count(void)
{
    static const int64_t gpus[] = {512, 2048, 4096, 16384, 65536};
    for (size_t i = 0; i < sizeof gpus / sizeof gpus[0]; i++) {
        topo_spec ts = {.gpus = gpus[i],
                        .domain_size = 8,
                        .scaleup_bw_Bps = 450e9,
                        .fabric = TOPO_FABRIC_FATTREE,
                        .tiers = gpus[i] <= 2048 ? 2 : 3,
                        .oversubscription = 1,
                        .switch_radix = 64,
                        .nic_bw_Bps = 50e9,
                        .sites = 1};
        topo *t;
        ms_err err = {0};
        CU_ASSERT_EQUAL_FATAL(topo_build(&ts, &t, &err), MS_OK);
        topo_size sz = topo_get_size(t);
        int64_t built = sz.switches[1] + sz.switches[2] + sz.switches[3], radix;
        int64_t counted = topo_fattree_switches((double)gpus[i], &radix);
        if (built != counted)
            printf("\n  %lld GPUs: built %lld switches, counted %lld\n", (long long)gpus[i],
                   (long long)built, (long long)counted);
        CU_ASSERT_EQUAL(counted, built);
        CU_ASSERT_EQUAL(radix, 64);
        topo_free(t);
    }
    int64_t radix;
    /* 2,048 GPUs: DeepSeek's FT2 of 96 switches (ISCA'25 Table 3). */
    CU_ASSERT_EQUAL(topo_fattree_switches(2048, &radix), 96);
    /* 100,000 GPUs need radix 128 (3 tiers of 64 hold 65,536): 5 x 100000 / 128. */
    CU_ASSERT_EQUAL(topo_fattree_switches(100000, &radix), 3907);
    CU_ASSERT_EQUAL(radix, 128);
    CU_ASSERT_EQUAL(topo_fattree_switches(1, &radix), 0);
}

static CU_TestInfo size_tests[] = {
    {"fat-tree switch count without a build", test_fattree_count},
    {"counts of hand-worked shapes", test_counts},
    {"DeepSeek ISCA'25 Table 3", test_deepseek_table3},
    {"no switch over its radix or oversubscription", test_port_budget},
    {"link kinds, bandwidths, latencies", test_link_figures},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo route_tests[] = {
    {"same domain", test_route_same_domain},
    {"fat-trees: lengths and connection", test_route_fattree},
    {"spines all used", test_route_spreads},
    {"multi-plane: PXN and disjoint planes", test_route_multiplane},
    {"torus: shortest way, dimension order", test_route_torus},
    {"sites", test_route_sites},
    {"cap and determinism", test_route_cap_and_determinism},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo bad_tests[] = {
    {"each bad field named", test_bad_specs},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo scale_tests[] = {
    {"build 100,000+ GPUs", test_build_time},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "topo sizes", .pTests = size_tests},
    {.pName = "topo routes", .pTests = route_tests},
    {.pName = "topo bad input", .pTests = bad_tests},
    {.pName = "topo scale", .pTests = scale_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_topo");
}
