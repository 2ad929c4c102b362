/* megasim validate / megasim calibrate: megasim's predictions held against
 * kernel measurements (ours and published), and the calibration fitted to
 * them. */
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/vsystem.h"
#include "hw/kfit.h"
#include "hw/kmeas.h"
#include "io/gnuplot.h"
#include "net/netfit.h"

static const cli_opt validate_opts[] = {
    {"--results", "FILE",
     "measurements to use (repeatable; default: validation/published.csv "
     "and validation/results/*.csv)"},
    {"--plot", "FILE", "draw predicted against measured to FILE (.png or .svg)"},
    {"--json", NULL, "print JSON"},
    {"--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"--efficiency", "FILE", "calibration to read (default: hwdb/efficiency.csv)"},
    {"--network", NULL,
     "collectives instead: validation/published_net.csv against hwdb/network.csv"},
    {"--system", NULL,
     "whole systems instead: published training runs and node power (validation/system/)"},
    {"--cases", "DIR", "with --system: the case files to run (default: validation/system)"},
    {"--max-median", "X",
     "with --system: fail when a kind's median |relative error| exceeds X (0.08 = 8%; "
     "or train=X,power=Y)"},
    {"--max-worst", "X", "with --system: fail when a kind's worst |relative error| exceeds X"},
    {"--markdown", NULL,
     "with --system: print the table as Markdown (for validation/system/README.md)"},
};

static const cli_opt calibrate_opts[] = {
    {"--results", "FILE", "measurements to fit (repeatable; default as for validate)"},
    {"--efficiency", "FILE", "calibration to update (default: hwdb/efficiency.csv)"},
    {"--dry-run", NULL, "print the fitted figures, write nothing"},
    {"--network", NULL, "fit hwdb/network.csv to validation/published_net.csv instead"},
    {"--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
};

/* Loads the chip database and every measurement file named, or the
 * defaults. what receives the files' names for messages. */
static int load_rows(const cli_args *a, chip_db **db, kmeas_set **set, char *what, size_t cap,
                     ms_err *err)
{
    char devices[4096], path[4096];
    int rc = cli_load_chips(a, db, err);
    if (!rc)
        rc = cli_home_path(devices, sizeof devices, "hwdb/devices.csv", err);
    if (!rc)
        rc = kmeas_new(*db, devices, set, err);
    if (rc)
        return rc;
    what[0] = '\0';
    const char *const *files;
    int nfiles = cli_values(a, "--results", &files);
    for (int i = 0; i < nfiles && !rc; i++) {
        rc = kmeas_add_file(*set, files[i], err);
        snprintf(what + strlen(what), cap - strlen(what), "%s%s", i ? ", " : "", files[i]);
    }
    if (nfiles || rc)
        return rc;
    if ((rc = cli_home_path(path, sizeof path, "validation/published.csv", err)) ||
        (rc = kmeas_add_file(*set, path, err)))
        return rc;
    snprintf(what, cap, "validation/published.csv");
    if ((rc = cli_home_path(path, sizeof path, "validation/results/*.csv", err)))
        return rc;
    glob_t g;
    if (glob(path, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
            rc = kmeas_add_file(*set, g.gl_pathv[i], err);
            const char *base = strstr(g.gl_pathv[i], "validation/results/");
            snprintf(what + strlen(what), cap - strlen(what), ", %s", base ? base : g.gl_pathv[i]);
        }
        globfree(&g);
    }
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and worst of |errors| (n > 0); errors is reordered. */
static void summarize(double *errors, size_t n, double *median, double *worst)
{
    for (size_t i = 0; i < n; i++)
        errors[i] = fabs(errors[i]);
    qsort(errors, n, sizeof *errors, cmp_double);
    *median = n % 2 ? errors[n / 2] : (errors[n / 2 - 1] + errors[n / 2]) / 2;
    *worst = errors[n - 1];
}

typedef struct verdict {
    double peak, cal;         /* predictions */
    double err_peak, err_cal; /* relative errors, NAN when no prediction */
    int held_out, borrowed;
    const char *measured_on;
} verdict;

static const char *unit_of(const kmeas_row *r)
{
    return r->metric == KMEAS_TIME ? "s" : r->metric == KMEAS_BYTE_RATE ? "B/s" : "FLOP/s";
}

/* Summary of the rows whose kind is kind (NULL: all) and, if held >= 0,
 * whose held-out flag is held. */
typedef struct stats {
    size_t n, npeak;
    double median, worst, median_peak, worst_peak;
} stats;

static stats collect(const kmeas_set *set, const verdict *v, const char *kind, int held)
{
    size_t n = kmeas_count(set);
    double *e = malloc((n ? n : 1) * sizeof *e), *ep = malloc((n ? n : 1) * sizeof *ep);
    stats st = {.median = NAN, .worst = NAN, .median_peak = NAN, .worst_peak = NAN};
    if (!e || !ep)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (kind && strcmp(kmeas_at(set, i)->kind, kind) != 0)
            continue;
        if (held >= 0 && v[i].held_out != held)
            continue;
        if (!isnan(v[i].err_cal))
            e[st.n++] = v[i].err_cal;
        if (!isnan(v[i].err_peak))
            ep[st.npeak++] = v[i].err_peak;
    }
    if (st.n)
        summarize(e, st.n, &st.median, &st.worst);
    if (st.npeak)
        summarize(ep, st.npeak, &st.median_peak, &st.worst_peak);
out:
    free(e);
    free(ep);
    return st;
}

static void json_stats(cJSON *o, const stats *st)
{
    cli_json_num(o, "rows", (double)st->n);
    cli_json_num(o, "median_rel_error", st->median);
    cli_json_num(o, "worst_rel_error", st->worst);
    cli_json_num(o, "median_rel_error_at_peak", st->median_peak);
    cli_json_num(o, "worst_rel_error_at_peak", st->worst_peak);
}

/* Every calibration kind, refined ones after their base. */
static const char *const kinds[] = {"gemm",      "gemm_train",    "stream", "quant",
                                    "attention", "attention_bwd", "launch"};

static int write_plot(const kmeas_set *set, const verdict *v, const char *out, int *drawn,
                      ms_err *err)
{
    char dat[4200], gp[4200];
    int svg, rc = cli_plot_paths(out, dat, sizeof dat, gp, sizeof gp, &svg, err);
    if (rc)
        return rc;
    FILE *f = fopen(dat, "w");
    if (!f)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", dat, strerror(errno));
    fprintf(f, "# measured predicted (calibrated) predicted (peak), per kind; FLOP/s, B/s or s\n");
    int has[sizeof kinds / sizeof kinds[0]] = {0};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        fprintf(f, "# %s\n", kinds[k]);
        int any = 0;
        for (size_t i = 0; i < kmeas_count(set); i++)
            if (strcmp(kmeas_at(set, i)->kind, kinds[k]) == 0 && !isnan(v[i].cal)) {
                fprintf(f, "%.6g %.6g %.6g\n", kmeas_at(set, i)->measured, v[i].cal, v[i].peak);
                any = 1;
            }
        if (!any)
            fprintf(f, "NaN NaN NaN\n");
        has[k] = any;
        fprintf(f, "\n\n");
    }
    fclose(f);
    FILE *g = fopen(gp, "w");
    if (!g)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", gp, strerror(errno));
    fprintf(g, "# written by megasim validate; draw with: gnuplot %s\n", gp);
    if (svg)
        fprintf(g, "set terminal svg size 900,800 dynamic noenhanced\n");
    else
        fprintf(g, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) { set terminal pngcairo size "
                   "900,800 noenhanced } else { set terminal png size 900,800 noenhanced }\n");
    gp_write_style(g);
    fprintf(g, "set output ");
    gp_write_string(g, out);
    fprintf(g, "\nset title \"megasim validate: predicted against measured (each in its own "
               "unit)\"\nset logscale xy\nset xlabel \"measured\"\nset ylabel \"predicted\"\n"
               "set key top left\nset grid\nset datafile missing \"NaN\"\n"
               "plot x title \"exact\" lc rgb \"#888888\", 1.25*x notitle dt 2 lc rgb "
               "\"#bbbbbb\", 0.8*x notitle dt 2 lc rgb \"#bbbbbb\"");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (has[k])
            fprintf(g, ", \"%s\" index %zu using 1:2 with points pt 7 title \"%s (calibrated)\"",
                    dat, k, kinds[k]);
    if (has[0])
        fprintf(g, ", \"%s\" index 0 using 1:3 with points pt 6 title \"gemm (peak)\"", dat);
    fprintf(g, "\n");
    fclose(g);
    return cli_plot_draw(gp, dat, out, drawn, err);
}

/* Network rows: validation/published_net.csv, predicted with cp. */
static int load_net(const cli_args *a, chip_db **db, netfit **nf, ms_err *err)
{
    char path[4096];
    int rc = cli_load_chips(a, db, err);
    if (!rc)
        rc = cli_home_path(path, sizeof path, "validation/published_net.csv", err);
    if (!rc)
        rc = netfit_load(path, *db, nf, err);
    return rc;
}

static int validate_network(const cli_cmd *cmd, const cli_args *a)
{
    ms_err err = {0};
    chip_db *db = NULL;
    netfit *nf = NULL;
    char path[4096];
    coll_params cp = COLL_PARAMS_IDEAL, ideal = COLL_PARAMS_IDEAL;
    int rc = load_net(a, &db, &nf, &err);
    if (!rc)
        rc = cli_home_path(path, sizeof path, "hwdb/network.csv", &err);
    if (!rc)
        rc = coll_params_load(path, &cp, &err);
    if (rc)
        goto out;
    size_t n = netfit_count(nf);
    double *e = calloc(n + 1, sizeof *e), *e0 = calloc(n + 1, sizeof *e0),
           *eh = calloc(n + 1, sizeof *eh);
    size_t ne = 0, ne0 = 0, neh = 0;
    cJSON *rows = cli_has(a, "--json") ? cJSON_CreateArray() : NULL;
    if (!e || !e0 || !eh) {
        free(e);
        free(e0);
        free(eh);
        rc = ms_errf(&err, MS_ENOMEM, "out of memory");
        goto out;
    }
    if (!rows)
        printf("%-6s %5s %-13s %-18s %10s %12s %12s %8s %12s %8s  %s\n", "chip", "gpus", "op",
               "algo", "bytes", "measured", "ideal", "error", "calibrated", "error", "");
    for (size_t i = 0; i < n; i++) {
        const netfit_row *r = netfit_at(nf, i);
        double p = netfit_predict(nf, i, &cp), p0 = netfit_predict(nf, i, &ideal);
        double er = (p - r->busbw_Bps) / r->busbw_Bps, er0 = (p0 - r->busbw_Bps) / r->busbw_Bps;
        if (!isnan(p) && r->busbw_Bps > 0) {
            if (r->held_out)
                eh[neh++] = er;
            else
                e[ne++] = er;
            e0[ne0++] = er0;
        }
        if (rows) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "chip", r->chip->name);
            cli_json_num(o, "gpus", (double)r->gpus);
            cJSON_AddStringToObject(o, "op", r->op);
            cJSON_AddStringToObject(o, "algo", r->algo);
            cli_json_str(o, "predicted_as", netfit_algo(nf, i, &cp));
            cli_json_num(o, "bytes", r->bytes);
            cli_json_num(o, "predicted_at_bytes", r->at_bytes);
            cli_json_num(o, "busbw_Bps", r->busbw_Bps);
            cli_json_num(o, "predicted_busbw_Bps", p);
            cli_json_num(o, "rel_error", er);
            cJSON_AddBoolToObject(o, "fitted", r->fit && !r->held_out);
            cJSON_AddBoolToObject(o, "held_out", r->held_out);
            cli_json_str(o, "not_modelled", r->why_not);
            cJSON_AddStringToObject(o, "source", r->source);
            cJSON_AddItemToArray(rows, o);
            continue;
        }
        char b[32], m[32], q0[32], q[32], s0[16], s1[16], how[96];
        const char *as = netfit_algo(nf, i, &cp);
        snprintf(how, sizeof how, "%s%s%s",
                 r->held_out ? "held out; "
                 : r->fit    ? "fitted; "
                             : "",
                 strcmp(r->algo, "default") == 0 ? "NCCL's default as " : "as ", as ? as : "-");
        if (r->at_why) /* a figure given in prose: the size it is predicted at, and why */
            snprintf(how + strlen(how), sizeof how - strlen(how), " at %s (%s)",
                     cli_si(b, 32, r->at_bytes, "B"), r->at_why);
        snprintf(s0, sizeof s0, isnan(er0) ? "-" : "%+.1f%%", 100 * er0);
        snprintf(s1, sizeof s1, isnan(er) ? "-" : "%+.1f%%", 100 * er);
        printf("%-6s %5lld %-13s %-18.18s %10s %12s %12s %8s %12s %8s  %s\n", r->chip->name,
               (long long)r->gpus, r->op, r->algo,
               isnan(r->bytes) ? "-" : cli_si(b, 32, r->bytes, "B"),
               cli_si(m, 32, r->busbw_Bps, "B/s"), cli_si(q0, 32, p0, "B/s"), s0,
               cli_si(q, 32, p, "B/s"), s1, r->why_not ? r->why_not : how);
    }
    double med = NAN, worst = NAN, med0 = NAN, worst0 = NAN, medh = NAN, worsth = NAN;
    if (ne)
        summarize(e, ne, &med, &worst);
    if (ne0)
        summarize(e0, ne0, &med0, &worst0);
    if (neh)
        summarize(eh, neh, &medh, &worsth);
    if (rows) {
        cJSON *o = cJSON_CreateObject();
        cli_json_num(o, "median_rel_error", med);
        cli_json_num(o, "worst_rel_error", worst);
        cli_json_num(o, "median_rel_error_ideal", med0);
        cli_json_num(o, "held_out_median_rel_error", medh);
        cJSON_AddItemToObject(o, "rows", rows);
        rc = cli_json_emit(o, &err);
    } else {
        printf("\nmedian |error| over %zu predicted rows: %.1f%% calibrated (ideal links: "
               "%.1f%%), worst %.1f%%; held out: %.1f%% over %zu rows\n",
               ne, 100 * med, 100 * med0, 100 * worst, 100 * medh, neh);
    }
    free(e);
    free(e0);
    free(eh);
out:
    netfit_free(nf);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static int calibrate_network(const cli_cmd *cmd, const cli_args *a)
{
    ms_err err = {0};
    chip_db *db = NULL;
    netfit *nf = NULL;
    coll_params cp;
    char path[4096];
    int rc = load_net(a, &db, &nf, &err);
    if (!rc)
        rc = netfit_run(nf, &cp, &err);
    if (!rc)
        rc = cli_home_path(path, sizeof path, "hwdb/network.csv", &err);
    if (rc)
        goto out;
    printf("scale-up links: efficiency %.3f, %.2f us a step\n", cp.eff[TOPO_LINK_SCALEUP],
           cp.alpha_s[TOPO_LINK_SCALEUP] * 1e6);
    printf("NIC and fabric links: efficiency %.3f, %.2f us a step\n", cp.eff[TOPO_LINK_NIC],
           cp.alpha_s[TOPO_LINK_NIC] * 1e6);
    printf("NVLS (in-switch reduction) on scale-up links: efficiency %.3f\n",
           cp.eff[COLL_EFF_NVLS]);
    printf("one NCCL channel through a NIC: at most %.2f GB/s\n", cp.chan_Bps / 1e9);
    if (cli_has(a, "--dry-run")) {
        printf("(dry run: %s not written)\n", path);
        goto out;
    }
    if (!(rc = netfit_write(path, &cp, nf, &err)))
        printf("wrote %s; 'megasim validate --network' shows the error on every point\n", path);
out:
    netfit_free(nf);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

static int run_validate(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    if (cli_has(&a, "--network") && cli_has(&a, "--system"))
        return cli_usage_error(cmd, "--network and --system are separate suites: give one");
    if (!cli_has(&a, "--system") && (cli_get(&a, "--cases") || cli_get(&a, "--max-median") ||
                                     cli_get(&a, "--max-worst") || cli_has(&a, "--markdown")))
        return cli_usage_error(
            cmd, "--cases, --max-median, --max-worst and --markdown go with --system");
    if (cli_has(&a, "--system"))
        return vs_run(cmd, &a);
    if (cli_has(&a, "--network"))
        return validate_network(cmd, &a);
    ms_err err = {0};
    chip_db *db = NULL;
    kmeas_set *set = NULL;
    calib *cal = NULL;
    verdict *v = NULL;
    char what[1024];
    int rc = load_rows(&a, &db, &set, what, sizeof what, &err);
    if (!rc)
        rc = cli_load_calib(&a, &cal, &err);
    if (!rc && !(v = calloc(kmeas_count(set) + 1, sizeof *v)))
        rc = ms_errf(&err, MS_ENOMEM, "out of memory");
    if (rc)
        goto out;

    size_t n = kmeas_count(set);
    for (size_t i = 0; i < n; i++) {
        const kmeas_row *r = kmeas_at(set, i);
        roof_eff peak = ROOF_EFF_PEAK;
        roof_eff e = calib_eff(cal, r->chip, r->kind, r->prec);
        v[i].peak = kmeas_predict(r, &peak);
        v[i].cal = kmeas_predict(r, &e);
        v[i].err_peak = (v[i].peak - r->measured) / r->measured;
        v[i].err_cal = (v[i].cal - r->measured) / r->measured;
        v[i].held_out = kfit_held_out(set, i);
        v[i].measured_on = e.measured_on;
        v[i].borrowed = e.measured_on && !cli_listed(e.measured_on, r->chip->name);
    }

    if (cli_has(&a, "--json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "results", what);
        stats all = collect(set, v, NULL, -1), held = collect(set, v, NULL, 1);
        json_stats(o, &all);
        json_stats(cJSON_AddObjectToObject(o, "held_out"), &held);
        cJSON *per = cJSON_AddObjectToObject(o, "per_kind");
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            stats st = collect(set, v, kinds[k], -1);
            if (st.n || st.npeak)
                json_stats(cJSON_AddObjectToObject(per, kinds[k]), &st);
        }
        cJSON *rows = cJSON_AddArrayToObject(o, "rows");
        for (size_t i = 0; i < n; i++) {
            const kmeas_row *r = kmeas_at(set, i);
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "chip", r->chip->name);
            cJSON_AddStringToObject(x, "kind", r->kind);
            cJSON_AddStringToObject(x, "kernel", r->kernel);
            cJSON_AddStringToObject(x, "shape", r->shape);
            cJSON_AddStringToObject(x, "precision", ms_prec_name(r->prec));
            cJSON_AddStringToObject(x, "unit", unit_of(r));
            cli_json_num(x, "measured", r->measured);
            cli_json_num(x, "predicted_at_peak", v[i].peak);
            cli_json_num(x, "predicted", v[i].cal);
            cli_json_num(x, "rel_error_at_peak", v[i].err_peak);
            cli_json_num(x, "rel_error", v[i].err_cal);
            cJSON_AddBoolToObject(x, "held_out", v[i].held_out);
            cli_json_str(x, "calibrated_on", v[i].measured_on);
            cJSON_AddStringToObject(x, "source", r->source);
            cJSON_AddItemToArray(rows, x);
        }
        rc = cli_json_emit(o, &err);
    } else {
        printf("megasim validate: %zu kernel rows from %s\n\n", n, what);
        printf("%-10s %-13s %-34s %-5s %12s %12s %8s %12s %8s  %s\n", "chip", "kind",
               "kernel, shape", "prec", "measured", "at peak", "error", "calibrated", "error", "");
        for (size_t i = 0; i < n; i++) {
            const kmeas_row *r = kmeas_at(set, i);
            char label[96], m[32], p0[32], p1[32], e0[16], e1[16];
            snprintf(label, sizeof label, "%.20s, %.13s", r->kernel, r->shape);
            snprintf(e0, sizeof e0, isnan(v[i].err_peak) ? "-" : "%+.1f%%", 100 * v[i].err_peak);
            snprintf(e1, sizeof e1, isnan(v[i].err_cal) ? "-" : "%+.1f%%", 100 * v[i].err_cal);
            printf("%-10s %-13s %-34s %-5s %12s %12s %8s %12s %8s  %s%s%s\n", r->chip->name,
                   r->kind, label, ms_prec_name(r->prec), cli_si(m, 32, r->measured, unit_of(r)),
                   cli_si(p0, 32, v[i].peak, unit_of(r)), e0, cli_si(p1, 32, v[i].cal, unit_of(r)),
                   e1, v[i].held_out ? "held out" : "", v[i].held_out && v[i].borrowed ? "; " : "",
                   v[i].borrowed ? "borrows its family's figures" : "");
        }
        printf("\n%-13s %6s %22s %22s\n", "kind", "rows", "median |error| peak/cal",
               "worst |error| peak/cal");
        for (size_t k = 0; k <= sizeof kinds / sizeof kinds[0]; k++) {
            const char *kind = k < sizeof kinds / sizeof kinds[0] ? kinds[k] : NULL;
            stats st = collect(set, v, kind, -1);
            if (!st.n && !st.npeak)
                continue;
            printf("%-13s %6zu %10.1f%% / %6.1f%% %10.1f%% / %6.1f%%\n", kind ? kind : "all", st.n,
                   100 * st.median_peak, 100 * st.median, 100 * st.worst_peak, 100 * st.worst);
        }
        stats held = collect(set, v, NULL, 1), fit = collect(set, v, NULL, 0);
        printf("\nrows in the fit: median |error| %.1f%%; held out (one in five per group, never "
               "fitted): %.1f%% over %zu rows\n",
               100 * fit.median, 100 * held.median, held.n);
    }
    if (!rc && cli_get(&a, "--plot")) {
        int drawn;
        rc = write_plot(set, v, cli_get(&a, "--plot"), &drawn, &err);
        if (!rc && drawn)
            fprintf(cli_has(&a, "--json") ? stderr : stdout, "plot: %s\n", cli_get(&a, "--plot"));
    }
out:
    ex = rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
    free(v);
    calib_free(cal);
    kmeas_free(set);
    chip_db_free(db);
    return ex;
}

static int run_calibrate(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    if (cli_has(&a, "--network"))
        return calibrate_network(cmd, &a);
    ms_err err = {0};
    chip_db *db = NULL;
    kmeas_set *set = NULL;
    kfit_group *groups = NULL;
    size_t ng = 0;
    char what[1024], eff_path[4096];
    int rc = load_rows(&a, &db, &set, what, sizeof what, &err);
    if (!rc)
        rc = kfit_run(set, &groups, &ng, &err);
    if (!rc && !cli_get(&a, "--efficiency"))
        rc = cli_home_path(eff_path, sizeof eff_path, "hwdb/efficiency.csv", &err);
    if (rc)
        goto out;
    const char *eff = cli_get(&a, "--efficiency") ? cli_get(&a, "--efficiency") : eff_path;
    printf("%-10s %-13s %-5s %8s %8s %12s %6s %5s  %s\n", "family", "kind", "prec", "compute",
           "memory", "overhead", "rows", "held", "measured on");
    for (size_t i = 0; i < ng; i++) {
        const kfit_group *g = &groups[i];
        char c[16] = "-", m[16] = "-", o[16] = "-";
        if (g->has_compute)
            snprintf(c, sizeof c, "%.3f", g->eff.compute);
        if (g->has_memory)
            snprintf(m, sizeof m, "%.3f", g->eff.memory);
        if (g->has_overhead)
            snprintf(o, sizeof o, "%.2f us", g->eff.overhead_s * 1e6);
        printf("%-10s %-13s %-5s %8s %8s %12s %6zu %5zu  %s\n", g->family, g->kind,
               g->prec_key < 0 ? "*" : ms_prec_name((ms_prec)g->prec_key), c, m, o, g->ntrain,
               g->nheld, g->measured_on);
    }
    if (cli_has(&a, "--dry-run")) {
        printf("\n(dry run: %s not written)\n", eff);
        goto out;
    }
    if ((rc = kfit_write(eff, eff, groups, ng, what, &err)))
        goto out;
    printf("\nwrote %s; 'megasim validate' shows the errors before and after\n", eff);
out:
    ex = rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
    free(groups);
    kmeas_free(set);
    chip_db_free(db);
    return ex;
}

const cli_cmd cmd_validate = {
    .name = "validate",
    .run = run_validate,
    .summary = "hold megasim's predictions against measured kernels (ours and published)",
    .usage = "  megasim validate [--results FILE]... [--json] [--plot FILE.png]\n"
             "  megasim validate --network [--json] [--plot FILE.png]\n"
             "  megasim validate --system [--cases DIR] [--max-median X] [--max-worst Y]\n"
             "                   [--json | --markdown] [--plot FILE.png]\n",
    .details =
        "Every row (a GEMM, a bandwidth sweep point, an attention kernel, a launch) is predicted\n"
        "with the chip's database entry twice: at datasheet peak and with hwdb/efficiency.csv,\n"
        "and the relative error of each is printed, with the median and worst per kind. Rows\n"
        "held out of the calibration fit (one in five per group) are marked and summarized\n"
        "apart. A chip whose family's figures were measured on other chips is marked as\n"
        "borrowing them. Published rows: validation/published.csv; ours: validation/results/.\n"
        "\n"
        "--system runs the published whole-system cases of validation/system/ (one JSON file\n"
        "each: a train scenario, the published figure with its unit, source and confidence,\n"
        "and how the source counts it) and prints predicted against published with the\n"
        "relative error and the two largest parts of each step, then the median and worst\n"
        "|error| per kind (train, power). These are predictions, never calibration targets.\n"
        "A case that cannot run is reported with its file and field and the others still\n"
        "run; the exit status is 1 when a case failed or a kind's median or worst error\n"
        "exceeds --max-median or --max-worst (one figure for every kind, or train=X,power=Y).\n"
        "--json prints an array of cases (case, kind, metric, predicted, published,\n"
        "rel_error, ...) ending with an object holding the summary; --markdown the table.\n",
    .opts = validate_opts,
    .nopts = sizeof validate_opts / sizeof validate_opts[0],
};

const cli_cmd cmd_calibrate = {
    .name = "calibrate",
    .run = run_calibrate,
    .summary = "fit the efficiency figures of hwdb/efficiency.csv to kernel measurements",
    .usage = "  megasim calibrate [--results FILE]... [--efficiency FILE] [--dry-run]\n",
    .details = "Fits, per chip family, operation kind and precision, the compute and memory\n"
               "efficiency and a fixed overhead per operation by least squares on the log of\n"
               "predicted over measured (GSL), leaving one row in five out. Figures the rows do\n"
               "not pin down (no compute-bound row, say) are left blank. Rows of the file that\n"
               "no fit replaces are kept as they are.\n",
    .opts = calibrate_opts,
    .nopts = sizeof calibrate_opts / sizeof calibrate_opts[0],
};
