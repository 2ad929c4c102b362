/* jtopo: see jtopo.h. */
#include "job/jtopo.h"

#include <stdlib.h>
#include <string.h>

static const jopt rows[] = {JTOPO_ROWS(0)};
const jopt_table jtopo_options = {.rows = rows, .n = sizeof rows / sizeof rows[0]};

int jtopo_spec(const jtopo_opts *o, const chip *c, int64_t gpus, topo_spec *ts, ms_err *err)
{
    static const topo_fabric fabrics[] = {TOPO_FABRIC_FATTREE, TOPO_FABRIC_MULTIPLANE,
                                          TOPO_FABRIC_TORUS};
    *ts = (topo_spec){.gpus = gpus,
                      .sites = 1,
                      .tiers = o->tiers != JOPT_NO_INT ? (int)o->tiers : 2,
                      .oversubscription = o->oversubscription,
                      .switch_radix = o->radix != JOPT_NO_INT ? (int)o->radix : 64,
                      .fabric = o->fabric >= 0 ? fabrics[o->fabric] : TOPO_FABRIC_FATTREE};
    ts->domain_size = o->domain != JOPT_NO_INT          ? o->domain
                      : isnan(c->scale_up_domain_chips) ? 1
                                                        : (int64_t)c->scale_up_domain_chips;
    if (ts->domain_size > gpus)
        ts->domain_size = gpus;
    ts->scaleup_bw_Bps = c->scale_up_bw_Bps;
    /* Latency lives in the calibrated per-step cost (hwdb/network.csv), not
     * on the links: the published latencies are end to end, software
     * included. */
    ts->scaleup_latency_s = 0;
    ts->nic_bw_Bps = isnan(o->nic_Gbps) ? c->scale_out_bw_Bps : o->nic_Gbps * 1e9 / 8;
    ts->nic_latency_s = 0;
    if (o->torus) {
        int d[3] = {0, 0, 0};
        const char *p = o->torus;
        for (int i = 0; i < 3 && *p; i++) {
            char *end;
            long x = strtol(p, &end, 10);
            if (end == p || x < 1 || (*end && *end != 'x'))
                return ms_errf(err, MS_EUSAGE, "--torus '%s': expected AxB or AxBxC", o->torus);
            d[i] = (int)x;
            p = *end ? end + 1 : end;
        }
        memcpy(ts->torus_dims, d, sizeof d);
        ts->fabric = TOPO_FABRIC_TORUS;
    }
    if (ts->fabric == TOPO_FABRIC_TORUS) {
        /* A TPU's ICI bandwidth per chip is spread over its torus links. */
        int dims = (ts->torus_dims[0] > 1) + (ts->torus_dims[1] > 1) + (ts->torus_dims[2] > 1);
        ts->ici_bw_Bps = c->scale_up_bw_Bps / (2.0 * (dims ? dims : 1));
        ts->ici_latency_s = 0;
        if (o->domain == JOPT_NO_INT)
            ts->domain_size = 1;
    }
    if (ts->domain_size >= gpus && ts->fabric != TOPO_FABRIC_TORUS)
        ts->fabric = TOPO_FABRIC_NONE;
    if (ts->fabric != TOPO_FABRIC_NONE && ts->fabric != TOPO_FABRIC_TORUS && isnan(ts->nic_bw_Bps))
        return ms_errf(err, MS_EINVAL,
                       "chip %s has no scale-out NIC figure in the database; give --nic-Gbps",
                       c->name);
    if (ts->domain_size > 1 && isnan(ts->scaleup_bw_Bps))
        return ms_errf(err, MS_EINVAL,
                       "chip %s has no scale-up bandwidth in the database; give --domain 1",
                       c->name);
    return MS_OK;
}

int jtopo_build(const jtopo_opts *o, topo_spec *ts, topo **t, ms_err *err)
{
    int tiers_given = o->tiers != JOPT_NO_INT, radix_given = o->radix != JOPT_NO_INT;
    int rc = topo_build(ts, t, err);
    if (rc && !tiers_given && ts->fabric != TOPO_FABRIC_TORUS && ts->tiers == 2) {
        ts->tiers = 3; /* too many for two tiers of this radix: add a third */
        rc = topo_build(ts, t, err);
    }
    /* Still too many: bigger switches, unless the radix was given. */
    for (int radix = ts->switch_radix * 2;
         rc && !radix_given && !tiers_given && ts->tiers == 3 && radix <= 512; radix *= 2) {
        ts->switch_radix = radix;
        rc = topo_build(ts, t, err);
    }
    return rc;
}
