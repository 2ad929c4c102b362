/* jcoll: see jcoll.h. */
#include "job/jcoll.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "net/coll.h"
#include "net/topo.h"

#define JCOLL_ALGOS "ring|tree|hier|direct"

static const jopt rows[] = {
    {"chip", JOPT_LIST, "LIST", NULL, NULL, NAN, NAN, NULL, offsetof(jcoll_job, chip),
     "chips, comma-separated or repeated: one cluster of each"},
    {"gpus", JOPT_INT, "N", NULL, NULL, 2, NAN, NULL, offsetof(jcoll_job, gpus),
     "GPUs taking part (default: one scale-up domain)"},
    {"op", JOPT_STR, "OP", NULL, "allreduce", NAN, NAN, NULL, offsetof(jcoll_job, op),
     "allreduce, allgather, reducescatter, alltoall, dispatch, combine, sendrecv, broadcast"},
    {"bytes", JOPT_BYTES, "SIZE", "B", "1GiB", NAN, NAN, NULL, offsetof(jcoll_job, bytes),
     "message size as nccl-tests counts it: 1GiB, 64MB, 1e9"},
    {"sweep-bytes", JOPT_STR, "A..B", NULL, NULL, NAN, NAN, NULL, offsetof(jcoll_job, sweep_bytes),
     "every power of two from A to B instead of --bytes"},
    {"algo", JOPT_CHOICE, "ALGO", NULL, NULL, NAN, NAN, JCOLL_ALGOS, offsetof(jcoll_job, algo),
     "algorithm (default ring for all-reduce, all-gather, reduce-scatter; tree for broadcast; "
     "direct otherwise)"},
    {"fidelity", JOPT_CHOICE, "LEVEL", NULL, "analytical", NAN, NAN, "analytical|flow",
     offsetof(jcoll_job, fidelity), "closed-form, or flows on links with max-min sharing"},
    {"ep-nodes-limit", JOPT_INT, "K", NULL, NULL, 1, NAN, NULL, offsetof(jcoll_job, ep_nodes_limit),
     "alltoall/dispatch/combine: nodes one GPU's tokens reach (V3: 4)"},
    JTOPO_ROWS(offsetof(jcoll_job, topo)),
    {"ideal", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jcoll_job, ideal),
     "ignore hwdb/network.csv: links at full bandwidth, no per-step cost"},
    {"plot", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jcoll_job, plot),
     "with --sweep-bytes: bus bandwidth against size, .png or .svg"},
    {"keep-plot-data", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL,
     offsetof(jcoll_job, keep_plot_data), "keep the plot's .dat and .gp files beside it"},
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jcoll_job, json), "print JSON"},
    {"csv", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jcoll_job, csv),
     "write the results (one row per chip and size) as CSV, in SI units"},
    {"chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jcoll_job, chips),
     "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
};

const jopt_table jcoll_options = {.rows = rows,
                                  .n = sizeof rows / sizeof rows[0],
                                  .track_given = 1,
                                  .given_off = offsetof(jcoll_job, given)};

/* "1KiB..8GiB": every power of two from A to B. */
static int sweep_sizes(const char *sweep, double *sizes, size_t *n, ms_err *err)
{
    char lo[64], hi[64];
    const char *dots = strstr(sweep, "..");
    if (!dots || (size_t)(dots - sweep) >= sizeof lo || strlen(dots + 2) >= sizeof hi)
        return ms_errf(err, MS_EUSAGE, "--sweep-bytes '%s': expected A..B, e.g. 1KiB..8GiB", sweep);
    snprintf(lo, sizeof lo, "%.*s", (int)(dots - sweep), sweep);
    snprintf(hi, sizeof hi, "%s", dots + 2);
    /* Each end is a size as --bytes reads it. */
    jcoll_job probe = {0};
    double a0, b0;
    if (jopt_set(&jcoll_options, &probe, "bytes", lo, NULL) || !isfinite(a0 = probe.bytes) ||
        jopt_set(&jcoll_options, &probe, "bytes", hi, NULL) || !isfinite(b0 = probe.bytes) ||
        b0 < a0)
        return ms_errf(err, MS_EUSAGE, "--sweep-bytes '%s': expected A..B with sizes A <= B",
                       sweep);
    *n = 0;
    for (double x = a0; x <= b0 * (1 + 1e-12) && *n < JCOLL_MAX_SIZES; x *= 2)
        sizes[(*n)++] = x;
    return MS_OK;
}

/* The collective to run, from the options. */
static int spec_of(const jcoll_job *j, coll_spec *spec, ms_err *err)
{
    static const coll_algo algos[] = {COLL_RING, COLL_TREE, COLL_HIER, COLL_DIRECT};
    *spec = (coll_spec){.op = COLL_ALLREDUCE};
    if (coll_op_parse(j->op, &spec->op))
        return ms_errf(err, MS_EUSAGE, "--op '%s': expected one of %s", j->op, coll_op_list());
    int ring_op =
        spec->op == COLL_ALLREDUCE || spec->op == COLL_ALLGATHER || spec->op == COLL_REDUCESCATTER;
    spec->algo = j->algo >= 0                 ? algos[j->algo]
                 : ring_op                    ? COLL_RING
                 : spec->op == COLL_BROADCAST ? COLL_TREE
                                              : COLL_DIRECT;
    if (j->ep_nodes_limit != JOPT_NO_INT)
        spec->ep_nodes_limit = j->ep_nodes_limit;
    /* An all-to-all with a node limit is MoE dispatch (tokens reach at most
     * K nodes). */
    if (spec->op == COLL_ALLTOALL && spec->ep_nodes_limit > 0)
        spec->op = COLL_DISPATCH;
    return MS_OK;
}

static const char *algo_name(coll_algo a)
{
    static const char *const names[] = {"ring", "tree", "hier", "direct"};
    return names[a];
}

static void report_cluster(report *r, const topo *t, const topo_spec *ts, int calibrated)
{
    topo_size sz = topo_get_size(t);
    report_begin(r, "cluster", "cluster (of the last chip)");
    report_int(r, "gpus", "GPUs", sz.gpus, "");
    report_int(r, "domain_gpus", "GPUs per scale-up domain", ts->domain_size, "");
    report_int(r, "nics", "NICs", sz.nics, "");
    report_int(r, "scale_up_switches", "scale-up switches", sz.switches[0], "");
    report_int(r, "leaf_switches", "leaf switches", sz.switches[1], "");
    report_int(r, "spine_switches", "spine switches", sz.switches[2], "");
    report_int(r, "core_switches", "core switches", sz.switches[3], "");
    report_int(r, "cables", NULL, sz.cables, "");
    report_bool(r, "calibrated", "links calibrated by hwdb/network.csv", calibrated);
    report_end(r);
}

/* One chip: its cluster, then each size, as rows of the open table. */
static int run_chip(const jcoll_job *j, const chip *c, const coll_spec *base, int flow,
                    const coll_params *cp, const double *sizes, size_t nsizes, report *r,
                    jcoll_series *s, topo **t, topo_spec *ts, ms_err *err)
{
    int64_t gpus = j->gpus != JOPT_NO_INT            ? j->gpus
                   : isnan(c->scale_up_domain_chips) ? 8
                                                     : (int64_t)c->scale_up_domain_chips;
    int rc;
    if ((rc = jtopo_spec(&j->topo, c, gpus, ts, err)) || (rc = jtopo_build(&j->topo, ts, t, err)))
        return rc;
    snprintf(s->chip, sizeof s->chip, "%s", c->name);
    for (size_t k = 0; k < nsizes; k++) {
        coll_spec cs = *base;
        cs.bytes = sizes[k];
        cs.gpus = gpus;
        coll_plan plan;
        coll_result res;
        if ((rc = coll_plan_build(*t, &cs, &plan, err)))
            return rc;
        rc = flow ? coll_time_flow(*t, &cs, &plan, cp, &res, err)
                  : coll_time_analytical(*t, &cs, &plan, cp, &res, err);
        coll_plan_free(&plan);
        if (rc)
            return rc;
        /* busbw is algbw times nccl-tests' factor, exactly, so that the two
         * figures keep its relation in every rendering. */
        double busbw = res.algbw_Bps * coll_bus_factor(cs.op, cs.gpus);
        report_row(r);
        report_str(r, "chip", NULL, c->name);
        report_int(r, "gpus", NULL, gpus, "");
        report_str(r, "op", NULL, coll_op_name(cs.op));
        report_str(r, "algo", NULL, algo_name(cs.algo));
        report_str(r, "fidelity", NULL, flow ? "flow" : "analytical");
        report_num(r, "bytes", NULL, cs.bytes, "B");
        report_num(r, "time_s", "time", res.time_s, "s");
        report_num(r, "algbw_Bps", "algbw", res.algbw_Bps, "B/s");
        report_num(r, "busbw_Bps", "busbw", busbw, "B/s");
        report_num(r, "bus_factor", "busbw/algbw", coll_bus_factor(cs.op, cs.gpus), "");
        report_int(r, "steps", NULL, res.steps, "");
        report_int(r, "transfers", NULL, res.transfers, "");
        s->bytes[s->n] = cs.bytes;
        s->busbw_Bps[s->n++] = busbw;
    }
    return MS_OK;
}

int jcoll_run(const jcoll_job *j, const jenv *env, report *r, jcoll_out *out, ms_err *err)
{
    jcoll_out scratch;
    out = out ? out : &scratch;
    *out = (jcoll_out){0};
    if (j->chip.n == 0)
        return ms_errf(err, MS_EUSAGE, "name the chip with --chip (e.g. --chip H100,H800)");
    if (j->plot && !j->sweep_bytes)
        return ms_errf(err, MS_EUSAGE, "--plot goes with --sweep-bytes");
    if (j->sweep_bytes && jopt_given(&jcoll_options, j, "bytes"))
        return ms_errf(err, MS_EUSAGE, "give --bytes or --sweep-bytes, not both");
    coll_spec spec;
    double sizes[JCOLL_MAX_SIZES] = {j->bytes};
    size_t nsizes = 1;
    int rc = spec_of(j, &spec, err);
    if (!rc && j->sweep_bytes)
        rc = sweep_sizes(j->sweep_bytes, sizes, &nsizes, err);
    coll_params cp = COLL_PARAMS_IDEAL;
    char path[4096];
    if (!rc && !j->ideal && !(rc = jenv_path(env, "hwdb/network.csv", path, sizeof path, err)))
        rc = coll_params_load(path, &cp, err);
    chip_db *db = NULL;
    const chip *chips[JCOLL_MAX_CHIPS];
    size_t nchips = 0;
    if (!rc)
        rc = jenv_load_chips(env, &j->chips, &db, err);
    if (!rc)
        rc = jenv_select_chips(db, &j->chip, chips, JCOLL_MAX_CHIPS, &nchips, err);
    if (rc) {
        chip_db_free(db);
        return rc;
    }
    snprintf(out->op, sizeof out->op, "%s", coll_op_name(spec.op));
    report_version(r, env->version);
    jopt_report_inputs(&jcoll_options, j, r);
    report_table(r, "results", NULL);
    topo *t = NULL;
    topo_spec ts;
    for (size_t ci = 0; ci < nchips && !rc; ci++) {
        topo_free(t);
        t = NULL;
        rc = run_chip(j, chips[ci], &spec, j->fidelity == 1, &cp, sizes, nsizes, r,
                      &out->series[ci], &t, &ts, err);
        out->nchips = ci + 1;
    }
    report_table_end(r);
    if (!rc)
        report_cluster(r, t, &ts, !j->ideal);
    topo_free(t);
    chip_db_free(db);
    return rc;
}
