/* megasim collective: one collective (or a sweep of sizes) on a cluster of
 * one chip, timed analytically or with flows, reported as nccl-tests does:
 * time, algorithm bandwidth and bus bandwidth. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "io/gnuplot.h"
#include "net/coll.h"
#include "net/topo.h"

static const cli_opt opts[] = {
    {"--chip", "LIST", "chips, comma-separated: one cluster of each"},
    {"--gpus", "N", "GPUs taking part (default: one scale-up domain)"},
    {"--op", "OP",
     "allreduce, allgather, reducescatter, alltoall, dispatch, combine, sendrecv, broadcast"},
    {"--bytes", "SIZE", "message size as nccl-tests counts it: 1GiB, 64MB, 1e9 (default 1GiB)"},
    {"--sweep-bytes", "A..B", "every power of two from A to B instead of --bytes: 1KiB..8GiB"},
    {"--algo", "ALGO", "ring, tree or hier for all-reduce (default ring); others use direct"},
    {"--fidelity", "LEVEL", "analytical (default) or flow"},
    {"--ep-nodes-limit", "K", "alltoall/dispatch/combine: nodes one GPU's tokens reach (V3: 4)"},
    CLI_TOPO_OPTS{"--ideal", NULL,
                  "ignore hwdb/network.csv: links at full bandwidth, no per-step cost"},
    {"--plot", "FILE", "with --sweep-bytes: bus bandwidth against size, .png or .svg"},
    {"--json", NULL, "print JSON"},
    {"--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
};

typedef struct setup {
    coll_spec spec;
    int flow;
    double sizes[64];
    size_t nsizes;
    coll_params cp;
    int calibrated;
} setup;

static int parse_setup(const cli_args *a, setup *st, ms_err *err)
{
    int rc;
    *st = (setup){.spec = {.op = COLL_ALLREDUCE, .algo = COLL_RING}};
    const char *op = cli_get(a, "--op");
    if (op && coll_op_parse(op, &st->spec.op))
        return ms_errf(err, MS_EUSAGE, "--op '%s': expected one of %s", op, coll_op_list());
    const char *algo = cli_get(a, "--algo");
    int ring_op = st->spec.op == COLL_ALLREDUCE || st->spec.op == COLL_ALLGATHER ||
                  st->spec.op == COLL_REDUCESCATTER;
    st->spec.algo = ring_op ? COLL_RING : st->spec.op == COLL_BROADCAST ? COLL_TREE : COLL_DIRECT;
    if (algo) {
        if (strcmp(algo, "ring") == 0)
            st->spec.algo = COLL_RING;
        else if (strcmp(algo, "tree") == 0)
            st->spec.algo = COLL_TREE;
        else if (strcmp(algo, "hier") == 0)
            st->spec.algo = COLL_HIER;
        else if (strcmp(algo, "direct") == 0)
            st->spec.algo = COLL_DIRECT;
        else
            return ms_errf(err, MS_EUSAGE, "--algo '%s': expected ring, tree, hier or direct",
                           algo);
    }
    const char *fid = cli_get(a, "--fidelity");
    if (fid && strcmp(fid, "flow") != 0 && strcmp(fid, "analytical") != 0)
        return ms_errf(err, MS_EUSAGE, "--fidelity '%s': expected analytical or flow", fid);
    st->flow = fid && strcmp(fid, "flow") == 0;
    if (cli_get(a, "--ep-nodes-limit") &&
        (rc = cli_parse_int("--ep-nodes-limit", cli_get(a, "--ep-nodes-limit"), 1,
                            &st->spec.ep_nodes_limit, err)))
        return rc;
    /* An all-to-all with a node limit is MoE dispatch (tokens reach at most
     * K nodes). */
    if (st->spec.op == COLL_ALLTOALL && st->spec.ep_nodes_limit > 0)
        st->spec.op = COLL_DISPATCH;
    const char *sweep = cli_get(a, "--sweep-bytes");
    if (sweep && cli_get(a, "--bytes"))
        return ms_errf(err, MS_EUSAGE, "give --bytes or --sweep-bytes, not both");
    if (sweep) {
        char lo[64], hi[64];
        const char *dots = strstr(sweep, "..");
        double a0, b0;
        if (!dots || (size_t)(dots - sweep) >= sizeof lo || strlen(dots + 2) >= sizeof hi)
            return ms_errf(err, MS_EUSAGE, "--sweep-bytes '%s': expected A..B, e.g. 1KiB..8GiB",
                           sweep);
        snprintf(lo, sizeof lo, "%.*s", (int)(dots - sweep), sweep);
        snprintf(hi, sizeof hi, "%s", dots + 2);
        if (cli_parse_bytes(lo, &a0) || cli_parse_bytes(hi, &b0) || b0 < a0)
            return ms_errf(err, MS_EUSAGE, "--sweep-bytes '%s': expected A..B with sizes A <= B",
                           sweep);
        for (double x = a0; x <= b0 * (1 + 1e-12) && st->nsizes < 64; x *= 2)
            st->sizes[st->nsizes++] = x;
    } else {
        const char *b = cli_get(a, "--bytes") ? cli_get(a, "--bytes") : "1GiB";
        if (cli_parse_bytes(b, &st->sizes[0]))
            return ms_errf(err, MS_EUSAGE, "--bytes '%s': expected a size such as 1GiB or 1e9", b);
        st->nsizes = 1;
    }
    st->cp = COLL_PARAMS_IDEAL;
    if (!cli_has(a, "--ideal")) {
        char path[4096];
        if ((rc = cli_home_path(path, sizeof path, "hwdb/network.csv", err)) ||
            (rc = coll_params_load(path, &st->cp, err)))
            return rc;
        st->calibrated = 1;
    }
    return MS_OK;
}

static const char *algo_name(coll_algo a)
{
    static const char *const names[] = {"ring", "tree", "hier", "direct"};
    return names[a];
}

static int run_collective(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    if (!cli_has(&a, "--chip"))
        return cli_usage_error(cmd, "name the chip with --chip (e.g. --chip H100,H800)");
    if (cli_get(&a, "--plot") && !cli_get(&a, "--sweep-bytes"))
        return cli_usage_error(cmd, "--plot goes with --sweep-bytes");
    ms_err err = {0};
    chip_db *db = NULL;
    setup st;
    const chip *chips[16];
    size_t nchips = 0;
    topo *t = NULL;
    cJSON *json = cli_has(&a, "--json") ? cJSON_CreateArray() : NULL;
    FILE *dat = NULL;
    char dat_path[4200], gp_path[4200];
    int svg = 0;
    const char *const *lists;
    int nl = cli_values(&a, "--chip", &lists);
    int rc = parse_setup(&a, &st, &err);
    if (!rc)
        rc = cli_load_chips(&a, &db, &err);
    if (!rc)
        rc = cli_select_chips(db, lists, nl, chips, 16, &nchips, &err);
    if (!rc && cli_get(&a, "--plot"))
        rc = cli_plot_paths(cli_get(&a, "--plot"), dat_path, sizeof dat_path, gp_path,
                            sizeof gp_path, &svg, &err);
    if (!rc && cli_get(&a, "--plot") && !(dat = fopen(dat_path, "w")))
        rc = ms_errf(&err, MS_EIO, "%s: cannot write: %s", dat_path, strerror(errno));
    if (rc)
        goto out;
    if (!json)
        printf("%-9s %6s %-13s %-6s %-10s %12s %12s %14s %14s\n", "chip", "gpus", "op", "algo",
               "fidelity", "bytes", "time", "algbw", "busbw");
    for (size_t ci = 0; ci < nchips; ci++) {
        const chip *c = chips[ci];
        int64_t gpus = isnan(c->scale_up_domain_chips) ? 8 : (int64_t)c->scale_up_domain_chips;
        if (cli_get(&a, "--gpus") &&
            (rc = cli_parse_int("--gpus", cli_get(&a, "--gpus"), 2, &gpus, &err)))
            goto out;
        topo_spec ts;
        if ((rc = cli_topo_spec(&a, c, gpus, &ts, &err)))
            goto out;
        if ((rc = cli_topo_build(&a, &ts, &t, &err)))
            goto out;
        if (dat)
            fprintf(dat, "# %s\n", c->name);
        for (size_t k = 0; k < st.nsizes; k++) {
            coll_spec cs = st.spec;
            cs.bytes = st.sizes[k];
            cs.gpus = gpus;
            coll_plan plan;
            coll_result res;
            if ((rc = coll_plan_build(t, &cs, &plan, &err)))
                goto out;
            rc = st.flow ? coll_time_flow(t, &cs, &plan, &st.cp, &res, &err)
                         : coll_time_analytical(t, &cs, &plan, &st.cp, &res, &err);
            coll_plan_free(&plan);
            if (rc)
                goto out;
            if (dat)
                fprintf(dat, "%.6g %.6g\n", cs.bytes, res.busbw_Bps / 1e9);
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "chip", c->name);
                cli_json_num(o, "gpus", (double)gpus);
                cJSON_AddStringToObject(o, "op", coll_op_name(cs.op));
                cJSON_AddStringToObject(o, "algo", algo_name(cs.algo));
                cJSON_AddStringToObject(o, "fidelity", st.flow ? "flow" : "analytical");
                cJSON_AddBoolToObject(o, "calibrated", st.calibrated);
                cli_json_num(o, "bytes", cs.bytes);
                cli_json_num(o, "time_s", res.time_s);
                /* busbw from algbw as a reader gets it back from the JSON,
                 * so that the two printed figures keep nccl-tests' relation
                 * (algbw times the factor; cJSON may still round busbw
                 * itself in its last digit). */
                cli_json_num(o, "algbw_Bps", res.algbw_Bps);
                cli_json_num(o, "busbw_Bps",
                             cli_json_printed(res.algbw_Bps) * coll_bus_factor(cs.op, cs.gpus));
                cli_json_num(o, "steps", (double)res.steps);
                cli_json_num(o, "transfers", (double)res.transfers);
                cJSON_AddItemToArray(json, o);
            } else {
                char b[32], tm[32], ab[32], bb[32];
                printf("%-9s %6lld %-13s %-6s %-10s %12s %12s %14s %14s\n", c->name,
                       (long long)gpus, coll_op_name(cs.op), algo_name(cs.algo),
                       st.flow ? "flow" : "analytical", cli_si(b, 32, cs.bytes, "B"),
                       cli_si(tm, 32, res.time_s, "s"), cli_si(ab, 32, res.algbw_Bps, "B/s"),
                       cli_si(bb, 32, res.busbw_Bps, "B/s"));
            }
        }
        if (dat)
            fprintf(dat, "\n\n");
        if (!json && ci + 1 == nchips) {
            topo_size sz = topo_get_size(t);
            printf("\ncluster: %lld GPUs in domains of %lld, %lld NICs, switches %lld scale-up + "
                   "%lld leaf + %lld spine + %lld core, %lld cables%s\n",
                   (long long)sz.gpus, (long long)ts.domain_size, (long long)sz.nics,
                   (long long)sz.switches[0], (long long)sz.switches[1], (long long)sz.switches[2],
                   (long long)sz.switches[3], (long long)sz.cables,
                   st.calibrated ? "; links calibrated by hwdb/network.csv"
                                 : "; ideal links (--ideal)");
        }
        topo_free(t);
        t = NULL;
    }
    if (json)
        rc = cli_json_emit(json, &err);
    json = NULL;
    if (!rc && dat) {
        fclose(dat);
        dat = NULL;
        FILE *g = fopen(gp_path, "w");
        if (!g) {
            rc = ms_errf(&err, MS_EIO, "%s: cannot write: %s", gp_path, strerror(errno));
            goto out;
        }
        if (svg)
            fprintf(g, "set terminal svg size 900,600 dynamic noenhanced\n");
        else
            fprintf(g, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo "
                       "size 900,600 noenhanced } else { set terminal png size 900,600 "
                       "noenhanced }\n");
        gp_write_style(g);
        fprintf(g, "set output ");
        gp_write_string(g, cli_get(&a, "--plot"));
        fprintf(g,
                "\nset title \"megasim collective: %s, bus bandwidth against size\"\n"
                "set logscale x 2\nset format x \"%%.0b%%BB\"\nset xlabel \"message size\"\n"
                "set ylabel \"bus bandwidth (GB/s)\"\nset grid\nset key top left\nplot ",
                coll_op_name(st.spec.op));
        for (size_t ci = 0; ci < nchips; ci++)
            fprintf(g, "%s\"%s\" index %zu using 1:2 with linespoints title \"%s\"", ci ? ", " : "",
                    dat_path, ci, chips[ci]->name);
        fprintf(g, "\n");
        fclose(g);
        int drawn;
        rc = cli_plot_draw(gp_path, dat_path, cli_get(&a, "--plot"), &drawn, &err);
        if (!rc && drawn)
            fprintf(cli_has(&a, "--json") ? stderr : stdout, "plot: %s\n", cli_get(&a, "--plot"));
    }
out:
    if (dat)
        fclose(dat);
    cJSON_Delete(json);
    topo_free(t);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_collective = {
    .name = "collective",
    .run = run_collective,
    .summary = "time a collective on a cluster: time, algbw and busbw as nccl-tests reports them",
    .usage = "  megasim collective --chip LIST [--gpus N] [--op OP] [--bytes SIZE | --sweep-bytes "
             "A..B]\n"
             "                     [--algo ring|tree|hier] [--fidelity analytical|flow] [--json]\n",
    .details =
        "The cluster: the chip's scale-up domain (NVSwitch of 8, NVL72) at its scale-up "
        "bandwidth,\n"
        "and across domains a rail-optimized 2-tier non-blocking fat-tree of 64-port switches at\n"
        "the chip's NIC rate, unless options say otherwise. Link efficiencies and the fixed cost\n"
        "of a step come from hwdb/network.csv (fitted to published nccl-tests and DeepEP "
        "figures).\n"
        "busbw is algbw x 2(n-1)/n for all-reduce and x (n-1)/n for all-gather, reduce-scatter\n"
        "and all-to-all, as nccl-tests defines it.\n\n"
        "Example:\n"
        "  megasim collective --chip H100,H800 --gpus 8 --op allreduce --sweep-bytes 1KiB..8GiB "
        "\\\n"
        "                     --plot busbw.png\n",
    .opts = opts,
    .nopts = sizeof opts / sizeof opts[0],
};
