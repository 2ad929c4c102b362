/* Tests of collectives (src/net/coll) on built topologies: every byte sent
 * is received, the analytical and flow levels agree on an idle network,
 * the flow level shows contention the analytical one cannot, the repeated
 * step shortcut equals the full simulation, and the NVLink cut of the
 * H800 shows in the all-reduce time. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/chip.h"
#include "net/coll.h"
#include "net/netfit.h"
#include "net/topo.h"
#include "test_assert.h"

/* 16 GPUs as 2 nodes of 8 (450 GB/s scale-up each way, 50 GB/s NICs) on a
 * 2-tier non-blocking fat-tree of 64-port switches. */
static topo *cluster_of(int64_t gpus, double scaleup_Bps, topo_fabric fabric)
{
    topo_spec s = {.gpus = gpus,
                   .domain_size = 8,
                   .scaleup_bw_Bps = scaleup_Bps,
                   .scaleup_latency_s = 3.33e-6,
                   .fabric = gpus > 8 ? fabric : TOPO_FABRIC_NONE,
                   .tiers = 2,
                   .oversubscription = 1,
                   .switch_radix = 64,
                   .nic_bw_Bps = 50e9,
                   .nic_latency_s = 0.925e-6,
                   .sites = 1};
    topo *t = NULL;
    ms_err err = {0};
    if (topo_build(&s, &t, &err) != MS_OK)
        printf("\n    topo_build: %s\n", err.msg);
    return t;
}

static topo *cluster(int64_t gpus, double scaleup_Bps)
{
    return cluster_of(gpus, scaleup_Bps, TOPO_FABRIC_FATTREE);
}

static void test_bytes_balance(void)
{
    topo *t = cluster(16, 450e9);
    CU_ASSERT_FATAL(t != NULL);
    static const struct {
        coll_op op;
        coll_algo algo;
        double per_gpu_factor; /* bytes each GPU sends, over S */
    } cases[] = {
        {COLL_ALLREDUCE, COLL_RING, 2.0 * 15 / 16},
        {COLL_ALLREDUCE, COLL_HIER, 2.0 * 7 / 8 / 1 + 0}, /* checked by balance only */
        {COLL_ALLGATHER, COLL_RING, 15.0 / 16},
        {COLL_REDUCESCATTER, COLL_RING, 15.0 / 16},
        {COLL_ALLTOALL, COLL_DIRECT, 15.0 / 16},
        {COLL_DISPATCH, COLL_DIRECT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        coll_spec c = {.op = cases[i].op, .algo = cases[i].algo, .bytes = 1 << 20, .gpus = 16};
        coll_plan p;
        ms_err err = {0};
        CU_ASSERT_FATAL(coll_plan_build(t, &c, &p, &err) == MS_OK);
        double sent[16] = {0}, recv[16] = {0};
        for (size_t k = 0; k < p.nsteps; k++)
            for (size_t x = p.step_off[k]; x < p.step_off[k + 1]; x++) {
                sent[p.x[x].src] += p.x[x].bytes * (double)p.repeat[k];
                recv[p.x[x].dst] += p.x[x].bytes * (double)p.repeat[k];
            }
        double total_sent = 0, total_recv = 0;
        for (int g = 0; g < 16; g++) {
            total_sent += sent[g];
            total_recv += recv[g];
            /* Symmetric collectives: every GPU sends what it receives. */
            MS_ASSERT_NEAR(recv[g], sent[g], 1e-6);
        }
        MS_ASSERT_NEAR(total_recv, total_sent, 1e-6);
        MS_ASSERT_NEAR(coll_plan_bytes(&p), total_sent, 1e-6);
        if (cases[i].per_gpu_factor > 0 && cases[i].algo != COLL_HIER) {
            int ok = fabs(sent[0] / (1 << 20) - cases[i].per_gpu_factor) < 1e-9;
            if (!ok)
                printf("\n    %s: GPU 0 sends %g S, expected %g S\n", coll_op_name(cases[i].op),
                       sent[0] / (1 << 20), cases[i].per_gpu_factor);
            CU_ASSERT(ok);
        }
        coll_plan_free(&p);
    }
    topo_free(t);
}

static void times(const topo *t, coll_op op, coll_algo algo, double bytes, int64_t gpus,
                  coll_result *an, coll_result *fl)
{
    coll_spec c = {.op = op, .algo = algo, .bytes = bytes, .gpus = gpus};
    coll_plan p;
    ms_err err = {0};
    coll_params cp = COLL_PARAMS_IDEAL;
    cp.alpha_s[TOPO_LINK_SCALEUP] = 2e-6;
    cp.alpha_s[TOPO_LINK_NIC] = 5e-6;
    CU_ASSERT_FATAL(coll_plan_build(t, &c, &p, &err) == MS_OK);
    CU_ASSERT_FATAL(coll_time_analytical(t, &c, &p, &cp, an, &err) == MS_OK);
    CU_ASSERT_FATAL(coll_time_flow(t, &c, &p, &cp, fl, &err) == MS_OK);
    coll_plan_free(&p);
}

static void test_levels_agree(void)
{
    topo *t = cluster(16, 450e9);
    CU_ASSERT_FATAL(t != NULL);
    static const struct {
        coll_op op;
        coll_algo algo;
        double bytes;
    } cases[] = {
        {COLL_ALLREDUCE, COLL_RING, 1 << 30},  {COLL_ALLREDUCE, COLL_RING, 1 << 16},
        {COLL_ALLREDUCE, COLL_HIER, 1 << 28},  {COLL_ALLGATHER, COLL_RING, 1 << 28},
        {COLL_ALLTOALL, COLL_DIRECT, 1 << 28}, {COLL_DISPATCH, COLL_DIRECT, 1 << 26},
        {COLL_SENDRECV, COLL_DIRECT, 1 << 26},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        coll_result an, fl;
        times(t, cases[i].op, cases[i].algo, cases[i].bytes, 16, &an, &fl);
        double rel = fabs(fl.time_s - an.time_s) / an.time_s;
        if (rel > 0.01)
            printf("\n    %s: analytical %.6g s, flow %.6g s (%.2f%% apart)\n",
                   coll_op_name(cases[i].op), an.time_s, fl.time_s, 100 * rel);
        CU_ASSERT(rel <= 0.01);
    }
    topo_free(t);
}

/* All-to-all among 16 GPUs, alone, then beside a ring all-reduce of the
 * same GPUs sharing the NICs: the flow level shows it slowed. Multi-plane,
 * so the all-to-all crosses on the NICs (PXN) and they are its bottleneck. */
static void test_contention(void)
{
    topo *t = cluster_of(16, 450e9, TOPO_FABRIC_MULTIPLANE);
    CU_ASSERT_FATAL(t != NULL);
    coll_spec a2a = {.op = COLL_ALLTOALL, .algo = COLL_DIRECT, .bytes = 1 << 28, .gpus = 16};
    coll_spec ar = {.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = 1 << 30, .gpus = 16};
    coll_plan pa, pr;
    ms_err err = {0};
    coll_params cp = COLL_PARAMS_IDEAL;
    CU_ASSERT_FATAL(coll_plan_build(t, &a2a, &pa, &err) == MS_OK);
    CU_ASSERT_FATAL(coll_plan_build(t, &ar, &pr, &err) == MS_OK);
    coll_result alone, both[2], an;
    const coll_spec *one[] = {&a2a};
    const coll_plan *onep[] = {&pa};
    CU_ASSERT_FATAL(coll_time_flow_many(t, one, onep, 1, &cp, &alone, &err) == MS_OK);
    const coll_spec *two[] = {&a2a, &ar};
    const coll_plan *twop[] = {&pa, &pr};
    CU_ASSERT_FATAL(coll_time_flow_many(t, two, twop, 2, &cp, both, &err) == MS_OK);
    CU_ASSERT_FATAL(coll_time_analytical(t, &a2a, &pa, &cp, &an, &err) == MS_OK);
    printf("\n    all-to-all alone %.4g ms, beside an all-reduce %.4g ms (analytical %.4g ms)\n",
           1e3 * alone.time_s, 1e3 * both[0].time_s, 1e3 * an.time_s);
    MS_ASSERT_NEAR(alone.time_s, an.time_s, 0.01);
    CU_ASSERT(both[0].time_s > 1.05 * alone.time_s); /* the NICs carry ring chunks too */
    coll_plan_free(&pa);
    coll_plan_free(&pr);
    topo_free(t);
}

/* The shortcut (a repeated step simulated once) equals the full run. */
static void test_shortcut(void)
{
    topo *t = cluster(16, 450e9);
    CU_ASSERT_FATAL(t != NULL);
    coll_spec c = {.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = 1 << 24, .gpus = 16};
    coll_plan p;
    ms_err err = {0};
    coll_params cp = COLL_PARAMS_IDEAL;
    cp.alpha_s[TOPO_LINK_NIC] = 3e-6;
    CU_ASSERT_FATAL(coll_plan_build(t, &c, &p, &err) == MS_OK);
    coll_result quick, full;
    const coll_spec *cs[] = {&c};
    const coll_plan *ps[] = {&p};
    CU_ASSERT_FATAL(coll_time_flow(t, &c, &p, &cp, &quick, &err) == MS_OK);
    CU_ASSERT_FATAL(coll_time_flow_many(t, cs, ps, 1, &cp, &full, &err) == MS_OK);
    MS_ASSERT_WITHIN(quick.time_s, full.time_s, 1e-9 * full.time_s + 1e-12);
    CU_ASSERT_EQUAL(quick.steps, 30);
    coll_plan_free(&p);
    topo_free(t);
}

/* 8-GPU ring all-reduce of 1 GiB on ideal links: H100's 450 GB/s against
 * the H800's 200 GB/s each way gives 2.25 times the bus bandwidth, less a
 * little for latency. */
static void test_h800_cut(void)
{
    topo *h100 = cluster(8, 450e9), *h800 = cluster(8, 200e9);
    CU_ASSERT_FATAL(h100 && h800);
    coll_result a, b, fa, fb;
    times(h100, COLL_ALLREDUCE, COLL_RING, 1 << 30, 8, &a, &fa);
    times(h800, COLL_ALLREDUCE, COLL_RING, 1 << 30, 8, &b, &fb);
    double ratio = a.busbw_Bps / b.busbw_Bps;
    CU_ASSERT(ratio > 2.2 && ratio < 2.25);
    CU_ASSERT(a.busbw_Bps < 450e9 && a.busbw_Bps > 440e9);
    topo_free(h100);
    topo_free(h800);
}

static void test_bad_specs(void)
{
    topo *t = cluster(16, 450e9);
    CU_ASSERT_FATAL(t != NULL);
    static const struct {
        coll_spec c;
        const char *expect;
    } cases[] = {
        {{.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = 0, .gpus = 16}, "field 'bytes'"},
        {{.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = 1, .gpus = 32}, "field 'gpus'"},
        {{.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = 1, .gpus = 12}, "do not fill domains"},
        {{.op = COLL_ALLTOALL, .algo = COLL_RING, .bytes = 1, .gpus = 16}, "no ring"},
        {{.op = COLL_DISPATCH, .algo = COLL_DIRECT, .bytes = 1, .gpus = 16, .ep_nodes_limit = 3},
         "more than the 2 nodes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        coll_plan p;
        ms_err err = {0};
        int rc = coll_plan_build(t, &cases[i].c, &p, &err);
        int ok = rc == MS_EINVAL && strstr(err.msg, cases[i].expect);
        if (!ok)
            printf("\n    case %zu: rc %d \"%s\"\n", i, rc, err.msg);
        CU_ASSERT(ok);
    }
    topo_free(t);
}

/* A data-parallel group of 4, one GPU in each of 4 nodes (stride 8):
 * every ring hop crosses a NIC, one ring, so an all-reduce of S takes
 * 2 x 3 steps of S/4 at 50 GB/s plus the path latency of each step:
 * leaf, NIC up and down, 2 x 0.925 us. A stride of 3 cuts domains of 8
 * unevenly and is refused. */
static void test_stride(void)
{
    topo *t = cluster(32, 450e9);
    CU_ASSERT_FATAL(t != NULL);
    double S = 1 << 28;
    coll_spec c = {.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = S, .gpus = 4, .stride = 8};
    coll_plan p;
    coll_result r;
    ms_err err = {0};
    coll_params cp = COLL_PARAMS_IDEAL;
    CU_ASSERT_FATAL(coll_plan_build(t, &c, &p, &err) == MS_OK);
    for (size_t i = 0; i < p.nx; i++)
        CU_ASSERT(p.x[i].src % 8 == 0 && p.x[i].dst % 8 == 0 && p.x[i].src != p.x[i].dst);
    CU_ASSERT(p.nx == 4);
    CU_ASSERT_FATAL(coll_time_analytical(t, &c, &p, &cp, &r, &err) == MS_OK);
    MS_ASSERT_WITHIN(r.time_s, 6 * (S / 4 / 50e9 + 2 * 0.925e-6), 1e-12);
    coll_plan_free(&p);
    c.stride = 3;
    CU_ASSERT(coll_plan_build(t, &c, &p, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "stride") != NULL);
    c.stride = 8, c.gpus = 5; /* GPU 32 does not exist */
    CU_ASSERT(coll_plan_build(t, &c, &p, &err) == MS_EINVAL);
    topo_free(t);
}

/* NVLS by hand, on links without latency or per-step cost: every GPU's
 * scale-up link carries S + S/n each way for an all-reduce (S up and S/n
 * down for a reduce-scatter, S/n up and S down for an all-gather), at the
 * NVLS efficiency; NVLS-tree adds S/d each way and NCCL's double binary
 * tree over the NICs (S/d each way per NIC on 2 nodes, 2S/d from 4 on),
 * a NIC carrying at most its channels x chan_Bps. */

/* gpus GPUs in NVSwitch domains of domain GPUs at scale-up bw_Bps, with a
 * non-blocking two-tier fat-tree of nic_Bps NICs when they span domains. */
static topo_spec nodes_of(int64_t gpus, int64_t domain, double bw_Bps, double nic_Bps)
{
    return (topo_spec){.gpus = gpus,
                       .domain_size = domain,
                       .scaleup_bw_Bps = bw_Bps,
                       .fabric = gpus > domain ? TOPO_FABRIC_FATTREE : TOPO_FABRIC_NONE,
                       .tiers = 2,
                       .oversubscription = 1,
                       .switch_radix = 64,
                       .nic_bw_Bps = nic_Bps,
                       .sites = 1};
}

static void test_nvls_by_hand(void)
{
    const double S = 1 << 30, B = 450e9, N = 50e9;
    static const struct {
        int64_t gpus;
        coll_op op;
        coll_algo algo;
        double eff_nvls, chan_Bps; /* expected time: expect[i] below */
    } cases[] = {
        {8, COLL_ALLREDUCE, COLL_NVLS, 1, 0},         /* S (1 + 1/8) / B */
        {8, COLL_ALLREDUCE, COLL_NVLS, 0.5, 0},       /* twice that */
        {5, COLL_ALLREDUCE, COLL_NVLS, 1, 0},         /* S (1 + 1/5) / B */
        {8, COLL_REDUCESCATTER, COLL_NVLS, 1, 0},     /* S / B */
        {8, COLL_ALLGATHER, COLL_NVLS, 1, 0},         /* S / B */
        {16, COLL_ALLREDUCE, COLL_NVLS_TREE, 1, 0},   /* max(S 1.25 / B, S/8 / N) */
        {16, COLL_ALLREDUCE, COLL_NVLS_TREE, 1, 5e9}, /* NIC: 2 x 5 GB/s */
        {32, COLL_ALLREDUCE, COLL_NVLS_TREE, 1, 0},   /* NIC: 2S/8 / N */
    };
    const double expect[] = {S * 1.125 / B, 2 * S * 1.125 / B, S * 1.2 / B,  S / B,
                             S / B,         S * 1.25 / B,      S / 8 / 10e9, S / 4 / N};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        topo_spec ts = nodes_of(cases[i].gpus, cases[i].gpus == 5 ? 5 : 8, B, N);
        topo *t = NULL;
        ms_err err = {0};
        CU_ASSERT_FATAL(topo_build(&ts, &t, &err) == MS_OK);
        coll_spec c = {.op = cases[i].op, .algo = cases[i].algo, .bytes = S, .gpus = ts.gpus};
        coll_params cp = COLL_PARAMS_IDEAL;
        cp.eff[COLL_EFF_NVLS] = cases[i].eff_nvls;
        cp.chan_Bps = cases[i].chan_Bps;
        coll_plan p;
        coll_result ra, rf;
        CU_ASSERT_FATAL(coll_plan_build(t, &c, &p, &err) == MS_OK);
        CU_ASSERT_FATAL(coll_time_analytical(t, &c, &p, &cp, &ra, &err) == MS_OK);
        CU_ASSERT_FATAL(coll_time_flow(t, &c, &p, &cp, &rf, &err) == MS_OK);
        int ok = fabs(ra.time_s / expect[i] - 1) < 1e-9 && fabs(rf.time_s / expect[i] - 1) < 1e-6;
        if (!ok)
            printf("\n    case %zu (%s, %lld GPUs): analytical %.6g s, flow %.6g s, expected "
                   "%.6g s\n",
                   i, coll_algo_name(cases[i].algo), (long long)ts.gpus, ra.time_s, rf.time_s,
                   expect[i]);
        CU_ASSERT(ok);
        coll_plan_free(&p);
        topo_free(t);
    }
}

/* NCCL's default: NVLS where the domain reduces in the switch and it is
 * faster (8 GPUs), the ring where it is not capable; the unhappy shapes of
 * NVLS are errors naming the algorithm. */
static void test_nvls_default_and_errors(void)
{
    topo *t = cluster(16, 450e9);
    CU_ASSERT_FATAL(t != NULL);
    coll_params cp = COLL_PARAMS_IDEAL;
    cp.eff[COLL_EFF_NVLS] = 0.68;
    cp.eff[TOPO_LINK_SCALEUP] = 0.78;
    coll_spec c = {.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = 1 << 30, .gpus = 8};
    coll_result r;
    ms_err err = {0};
    CU_ASSERT(coll_time_default(t, &c, 1, &cp, &r, &err) == MS_OK);
    CU_ASSERT(c.algo == COLL_NVLS);
    c.algo = COLL_RING;
    CU_ASSERT(coll_time_default(t, &c, 0, &cp, &r, &err) == MS_OK);
    CU_ASSERT(c.algo == COLL_RING);
    c.op = COLL_ALLGATHER; /* NVLS all-gather moves S/0.68: the ring (S 7/8 / 0.78) wins */
    CU_ASSERT(coll_time_default(t, &c, 1, &cp, &r, &err) == MS_OK);
    CU_ASSERT(c.algo == COLL_RING);

    coll_plan p;
    coll_spec bad = {.op = COLL_ALLREDUCE, .algo = COLL_NVLS, .bytes = 1 << 20, .gpus = 16};
    CU_ASSERT(coll_plan_build(t, &bad, &p, &err) == MS_EINVAL);
    CU_ASSERT(strstr(err.msg, "nvls_tree") != NULL);
    bad.algo = COLL_NVLS_TREE, bad.gpus = 8;
    CU_ASSERT(coll_plan_build(t, &bad, &p, &err) == MS_EINVAL);
    bad.op = COLL_ALLTOALL, bad.algo = COLL_NVLS;
    CU_ASSERT(coll_plan_build(t, &bad, &p, &err) == MS_EINVAL);
    topo_free(t);
}

/* The latency side by hand, on links without latency: every NCCL
 * all-reduce pays base_s once; NVLS is one step whose fixed cost is NVLS's
 * per-operation cost (20 us here), not a ring's per step; NVLS-tree adds
 * level_s for each of 2 ceil(log2 nodes) levels of its tree (2 on 2
 * nodes, 4 on 4); an all-to-all is no NCCL kernel and pays no base. */
static void test_nvls_latency_by_hand(void)
{
    const double S = 1 << 30, B = 450e9, N = 50e9, base = 30e-6, an = 20e-6, level = 10e-6;
    const double su = 1e-6, nic = 5e-6; /* per step */
    static const struct {
        int64_t gpus;
        coll_op op;
        coll_algo algo;
        int64_t levels;
    } cases[] = {
        {8, COLL_ALLREDUCE, COLL_NVLS, 0},       {16, COLL_ALLREDUCE, COLL_NVLS_TREE, 2},
        {32, COLL_ALLREDUCE, COLL_NVLS_TREE, 4}, {8, COLL_ALLREDUCE, COLL_RING, 0},
        {8, COLL_ALLTOALL, COLL_DIRECT, 0},
    };
    const double expect[] = {
        base + an + S * 1.125 / B,            /* one step at NVLS's cost */
        base + an + 2 * level + S * 1.25 / B, /* scale-up bound, as above */
        base + an + 4 * level + S / 4 / N,    /* 2S/8 from 4 nodes on */
        base + 14 * (su + S / 8 / B),         /* 2(n-1) steps of S/n */
        su + S * 7 / 8 / B,                   /* one step, no base */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        topo_spec ts = nodes_of(cases[i].gpus, 8, B, N);
        topo *t = NULL;
        ms_err err = {0};
        CU_ASSERT_FATAL(topo_build(&ts, &t, &err) == MS_OK);
        coll_spec c = {.op = cases[i].op, .algo = cases[i].algo, .bytes = S, .gpus = ts.gpus};
        coll_params cp = COLL_PARAMS_IDEAL;
        cp.alpha_s[TOPO_LINK_SCALEUP] = su;
        cp.alpha_s[TOPO_LINK_NIC] = cp.alpha_s[TOPO_LINK_FABRIC] = nic;
        cp.alpha_s[COLL_EFF_NVLS] = an;
        cp.level_s = level;
        cp.base_s = base;
        coll_plan p;
        coll_result ra, rf;
        CU_ASSERT_FATAL(coll_plan_build(t, &c, &p, &err) == MS_OK);
        CU_ASSERT(p.levels == cases[i].levels);
        CU_ASSERT_FATAL(coll_time_analytical(t, &c, &p, &cp, &ra, &err) == MS_OK);
        CU_ASSERT_FATAL(coll_time_flow(t, &c, &p, &cp, &rf, &err) == MS_OK);
        int ok = fabs(ra.time_s / expect[i] - 1) < 1e-9 && fabs(rf.time_s / expect[i] - 1) < 1e-6;
        if (!ok)
            printf("\n    case %zu (%s, %lld GPUs): analytical %.9g s, flow %.9g s, expected "
                   "%.9g s\n",
                   i, coll_algo_name(cases[i].algo), (long long)ts.gpus, ra.time_s, rf.time_s,
                   expect[i]);
        CU_ASSERT(ok);
        coll_plan_free(&p);
        topo_free(t);
    }
}

/* NCCL's default with the latency side, on links without latency: where
 * NVLS costs 80 us an operation and a ring 30 + 14 x 0.5 us, the ring wins
 * at 1 MiB (37 + 1.75 MiB / 351 GB/s = 42.2 us; the tree's 6 steps of the
 * whole 1 MiB take 30 + 6 x 3.5 = 51 us, NVLS 110 + 1.125 MiB / 306 GB/s
 * = 113.9 us) and NVLS at 1 GiB; at 8 B across 2 nodes the tree (8 steps,
 * at most 30 + 8 x 4 us) beats the ring (30 + 30 x 4 us: every step of it
 * crosses the NICs). */
/* DeepEP's low-latency exchange: bytes leaving the domain over the NIC,
 * bytes to domain peers over scale-up, at once, plus one fixed cost. */
static void test_ep_ll_by_hand(void)
{
    coll_params cp = COLL_PARAMS_IDEAL;
    cp.ll_eff = 0.8;
    cp.ll_alpha_s = 10e-6;
    /* 128 GPUs in 8s: 120/128 of 1 MB over 40 GB/s; 7/128 over 160 GB/s is less */
    MS_ASSERT_WITHIN(coll_ep_ll_time(&cp, 1e6, 128, 8, 200e9, 50e9), 10e-6 + 937500 / 40e9, 1e-15);
    /* one domain: 7/8 over scale-up */
    MS_ASSERT_WITHIN(coll_ep_ll_time(&cp, 1e6, 8, 8, 200e9, 50e9), 10e-6 + 875000 / 160e9, 1e-15);
    /* four GPUs of a domain of 8: 3/4 to peers */
    MS_ASSERT_WITHIN(coll_ep_ll_time(&cp, 1e6, 4, 8, 200e9, 50e9), 10e-6 + 750000 / 160e9, 1e-15);
    /* 16 GPUs with a slow scale-up: the peers' share decides */
    MS_ASSERT_WITHIN(coll_ep_ll_time(&cp, 1e6, 16, 8, 10e9, 50e9), 10e-6 + 437500 / 8e9, 1e-15);
    MS_ASSERT_WITHIN(coll_ep_ll_time(&cp, 0, 128, 8, 200e9, 50e9), 10e-6, 1e-15);
}

/* Writes text to a new file named from the template path (mkstemp). */
static void net_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* path rewritten with text, whose line 2 coll_params_load refuses with a
 * message naming expect. */
static void net_refused(const char *path, const char *text, const char *expect)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    coll_params cp = COLL_PARAMS_IDEAL;
    ms_err err = {0};
    CU_ASSERT_EQUAL(coll_params_load(path, &cp, &err), MS_EINVAL);
    CU_ASSERT(strstr(err.msg, expect) != NULL && strstr(err.msg, ":2:") != NULL);
}

/* The network file's deepep_ll row sets the low-latency kernels' figures;
 * a file without it keeps the caller's. */
static void test_ll_params_load(void)
{
    char path[] = "/tmp/megasim_test_netXXXXXX";
    net_file(path, "link_kind,bw_eff,alpha_us,measured_on,source\n"
                   "nic,0.9,4,H800,a\n"
                   "deepep_ll,0.75,20,H800,b\n");
    FILE *f;
    coll_params cp = COLL_PARAMS_IDEAL;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(coll_params_load(path, &cp, &err), MS_OK);
    MS_ASSERT_WITHIN(cp.ll_eff, 0.75, 1e-15);
    MS_ASSERT_WITHIN(cp.ll_alpha_s, 20e-6, 1e-18);
    MS_ASSERT_WITHIN(cp.eff[TOPO_LINK_NIC], 0.9, 1e-15);
    f = fopen(path, "w");
    fputs("link_kind,bw_eff,alpha_us,measured_on,source\nnic,0.9,4,H800,a\n", f);
    fclose(f);
    cp = COLL_PARAMS_IDEAL;
    CU_ASSERT_EQUAL_FATAL(coll_params_load(path, &cp, &err), MS_OK);
    MS_ASSERT_WITHIN(cp.ll_eff, 1, 1e-15);
    CU_ASSERT_EQUAL(cp.ll_alpha_s, 0);
    net_refused(path, "link_kind,bw_eff,alpha_us,measured_on,source\ndeepep,0.9,4,H800,a\n",
                "deepep_ll");
    remove(path);
}

/* log_sd is read per row, and --uncertainty's draw scales each
 * efficiency by exp(z x its spread): none moves one without a spread, the
 * same stream gives the same draw, no draw passes 1, and over 4,000
 * draws the log of NIC's factor has the spread given. A negative spread
 * is refused, naming the column. */
static void test_params_draw(void)
{
    char path[] = "/tmp/megasim_test_netXXXXXX";
    net_file(path, "link_kind,bw_eff,alpha_us,log_sd,measured_on,source\n"
                   "scaleup,0.8,1,,H800,a\n"
                   "nic,0.5,4,0.1,H800,a\n"
                   "fabric,0.4,4,,H800,a\n"
                   "deepep_ll,0.99,20,0.2,H800,b\n");
    coll_params cp = COLL_PARAMS_IDEAL, d1, d2;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(coll_params_load(path, &cp, &err), MS_OK);
    MS_ASSERT_EXACT(cp.eff_log_sd[TOPO_LINK_SCALEUP], 0);
    MS_ASSERT_WITHIN(cp.eff_log_sd[TOPO_LINK_NIC], 0.1, 1e-15);
    MS_ASSERT_WITHIN(cp.ll_log_sd, 0.2, 1e-15);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937), *h = gsl_rng_alloc(gsl_rng_mt19937);
    CU_ASSERT_FATAL(g && h);
    gsl_rng_set(g, 7);
    gsl_rng_set(h, 7);
    coll_params_draw(&cp, g, &d1);
    coll_params_draw(&cp, h, &d2);
    MS_ASSERT_EXACT(d1.eff[TOPO_LINK_NIC], d2.eff[TOPO_LINK_NIC]);
    MS_ASSERT_EXACT(d1.ll_eff, d2.ll_eff);
    MS_ASSERT_EXACT(d1.eff[TOPO_LINK_SCALEUP], 0.8);
    MS_ASSERT_EXACT(d1.alpha_s[TOPO_LINK_NIC], cp.alpha_s[TOPO_LINK_NIC]);
    double s1 = 0, s2 = 0;
    int n = 4000, capped = 1, tied = 1;
    for (int i = 0; i < n; i++) {
        coll_params_draw(&cp, g, &d1);
        double l = log(d1.eff[TOPO_LINK_NIC] / 0.5);
        s1 += l;
        s2 += l * l;
        capped &= d1.ll_eff <= 1 && d1.eff[TOPO_LINK_NIC] <= 1;
        /* The fabric moves with the NIC, whose figure the fit ties it to. */
        tied &= fabs(d1.eff[TOPO_LINK_FABRIC] / 0.4 - d1.eff[TOPO_LINK_NIC] / 0.5) < 1e-12;
    }
    CU_ASSERT(capped);
    CU_ASSERT(tied);
    double mean = s1 / n, sd = sqrt(s2 / n - mean * mean);
    MS_ASSERT_WITHIN(mean, 0, 0.01);
    MS_ASSERT_WITHIN(sd, 0.1, 0.005);
    gsl_rng_free(g);
    gsl_rng_free(h);
    net_refused(path,
                "link_kind,bw_eff,alpha_us,log_sd,measured_on,source\nnic,0.5,4,-0.1,H800,a\n",
                "'log_sd'");
    remove(path);
}

static void test_default_by_size(void)
{
    topo_spec ts = {.gpus = 16,
                    .domain_size = 8,
                    .scaleup_bw_Bps = 450e9,
                    .fabric = TOPO_FABRIC_FATTREE,
                    .tiers = 2,
                    .oversubscription = 1,
                    .switch_radix = 64,
                    .nic_bw_Bps = 50e9,
                    .sites = 1};
    topo *t = NULL;
    ms_err e0 = {0};
    CU_ASSERT_FATAL(topo_build(&ts, &t, &e0) == MS_OK);
    coll_params cp = COLL_PARAMS_IDEAL;
    cp.eff[COLL_EFF_NVLS] = 0.68;
    cp.eff[TOPO_LINK_SCALEUP] = 0.78;
    cp.alpha_s[TOPO_LINK_SCALEUP] = 0.5e-6;
    cp.alpha_s[TOPO_LINK_NIC] = cp.alpha_s[TOPO_LINK_FABRIC] = 4e-6;
    cp.alpha_s[COLL_EFF_NVLS] = 80e-6;
    cp.base_s = 30e-6;
    static const struct {
        int64_t gpus;
        double bytes;
        coll_algo expect;
    } cases[] = {
        {8, 1 << 20, COLL_RING},
        {8, 1 << 30, COLL_NVLS},
        {16, 8, COLL_TREE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        coll_spec c = {.op = COLL_ALLREDUCE,
                       .algo = COLL_RING,
                       .bytes = cases[i].bytes,
                       .gpus = cases[i].gpus};
        coll_result r;
        ms_err err = {0};
        CU_ASSERT(coll_time_default(t, &c, 1, &cp, &r, &err) == MS_OK);
        if (c.algo != cases[i].expect)
            printf("\n    case %zu: chose %s, expected %s\n", i, coll_algo_name(c.algo),
                   coll_algo_name(cases[i].expect));
        CU_ASSERT(c.algo == cases[i].expect);
    }
    coll_spec c = {.op = COLL_ALLREDUCE, .algo = COLL_RING, .bytes = 1 << 20, .gpus = 8};
    coll_result r;
    ms_err err = {0};
    CU_ASSERT(coll_time_default(t, &c, 1, &cp, &r, &err) == MS_OK);
    double ring = 30e-6 + 14 * (0.5e-6 + (1 << 20) / 8.0 / (450e9 * 0.78));
    MS_ASSERT_NEAR(r.time_s, ring, 1e-9);
    topo_free(t);
}

/* A plan routed once (coll_plan_route) times exactly as one routed on
 * every call, for every algorithm over one domain and over four; and a
 * choice built once gives what coll_time_default gives, algorithm and
 * time, at every size and under other parameters. */
static void test_routed_once(void)
{
    topo *t = cluster(32, 450e9);
    CU_ASSERT_FATAL(t != NULL);
    coll_params cp = COLL_PARAMS_IDEAL;
    cp.eff[COLL_EFF_NVLS] = 0.68;
    cp.eff[TOPO_LINK_SCALEUP] = 0.78;
    cp.alpha_s[TOPO_LINK_NIC] = 4e-6;
    cp.base_s = 30e-6;
    static const coll_algo algos[] = {COLL_RING, COLL_TREE, COLL_HIER, COLL_NVLS, COLL_NVLS_TREE};
    int timed = 0;
    for (int64_t gpus = 8; gpus <= 32; gpus *= 4)
        for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
            coll_spec c = {.op = COLL_ALLREDUCE, .algo = algos[a], .bytes = 3e7, .gpus = gpus};
            coll_plan p;
            ms_err err = {0};
            if (coll_plan_build(t, &c, &p, &err) != MS_OK)
                continue; /* not this shape of group */
            coll_result each, once;
            CU_ASSERT_FATAL(coll_time_analytical(t, &c, &p, &cp, &each, &err) == MS_OK);
            CU_ASSERT_FATAL(coll_plan_route(t, &p, &err) == MS_OK);
            CU_ASSERT_PTR_NOT_NULL(p.hop);
            CU_ASSERT_FATAL(coll_time_analytical(t, &c, &p, &cp, &once, &err) == MS_OK);
            CU_ASSERT_DOUBLE_EQUAL(once.time_s, each.time_s, 0);
            CU_ASSERT_EQUAL(once.steps, each.steps);
            coll_plan_free(&p);
            timed++;
        }
    CU_ASSERT(timed >= 5);
    for (double bytes = 1e3; bytes <= 1e10; bytes *= 10)
        for (int k = 0; k < 2; k++) {
            coll_params q = cp;
            q.alpha_s[COLL_EFF_NVLS] = k ? 80e-6 : 5e-6;
            coll_spec c = {.op = COLL_ALLREDUCE, .algo = COLL_HIER, .bytes = bytes, .gpus = 32};
            coll_choice ch;
            coll_result want, got;
            coll_algo algo;
            ms_err err = {0};
            CU_ASSERT_FATAL(coll_choice_build(t, &c, 1, &ch, &err) == MS_OK);
            CU_ASSERT_FATAL(coll_choice_route(t, &ch, &err) == MS_OK);
            CU_ASSERT(ch.n == 3); /* ring, tree, NVLS-tree: NVLS is one domain's */
            CU_ASSERT_FATAL(coll_choice_time(t, &ch, &q, &algo, &got, &err) == MS_OK);
            CU_ASSERT_FATAL(coll_time_default(t, &c, 1, &q, &want, &err) == MS_OK);
            CU_ASSERT_EQUAL(algo, c.algo);
            CU_ASSERT_DOUBLE_EQUAL(got.time_s, want.time_s, 0);
            coll_choice_free(&ch);
        }
    topo_free(t);
}

/* netfit times a file's rows many times in a fit: a file whose rows ask
 * for more transfers than it times is refused at the row that passes the
 * budget, named by line, and nothing leaks; below it every row predicts. */
static void test_netfit_transfer_budget(void)
{
    char path[] = "/tmp/megasim_test_netfitXXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("chip,gpus,gpus_per_node,nic_Gbps,op,algo,bytes,busbw_GBps,source\n"
          "H100,64,8,400,alltoall,default,1073741824,40,a\n"
          "H100,1024,8,400,allreduce,ring,1073741824,40,b\n",
          f);
    fclose(f);
    chip_db *db = NULL;
    netfit *nf = NULL;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(chip_db_load("hwdb/chips.csv", &db, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(netfit_load(path, db, &nf, &err), MS_OK);
    CU_ASSERT_EQUAL_FATAL(netfit_count(nf), 2);
    coll_params cp = COLL_PARAMS_IDEAL;
    for (size_t i = 0; i < 2; i++) {
        double busbw_Bps = netfit_predict(nf, i, &cp);
        CU_ASSERT(netfit_at(nf, i)->why_not == NULL && isfinite(busbw_Bps) && busbw_Bps > 0);
    }
    netfit_free(nf);
    nf = NULL;
    /* 1,024 GPUs all to all: 1,047,552 transfers, four times the budget */
    f = fopen(path, "a");
    fputs("H100,1024,8,400,alltoall,ring,1073741824,40,c\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(netfit_load(path, db, &nf, &err), MS_EINVAL);
    CU_ASSERT(nf == NULL);
    CU_ASSERT(strstr(err.msg, ":4:") && strstr(err.msg, "alltoall of 1024 GPUs") &&
              strstr(err.msg, "262144"));
    chip_db_free(db);
    remove(path);
}

static CU_TestInfo tests[] = {
    {"NVLS and NVLS-tree times by hand", test_nvls_by_hand},
    {"NVLS latency, NVLS-tree levels and the base cost by hand", test_nvls_latency_by_hand},
    {"NCCL's default by size", test_default_by_size},
    {"DeepEP low-latency exchange by hand", test_ep_ll_by_hand},
    {"the network file's DeepEP low-latency row", test_ll_params_load},
    {"network spreads and their draws", test_params_draw},
    {"NCCL's default and NVLS errors", test_nvls_default_and_errors},
    {"groups at a stride", test_stride},
    {"every byte sent is received", test_bytes_balance},
    {"analytical and flow agree when idle", test_levels_agree},
    {"flows show contention", test_contention},
    {"repeated-step shortcut equals the full run", test_shortcut},
    {"H800 NVLink cut", test_h800_cut},
    {"bad specs", test_bad_specs},
    {"a plan routed once times as one routed each time", test_routed_once},
    {"netfit refuses a file past its transfer budget", test_netfit_transfer_budget},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "coll", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_coll");
}
