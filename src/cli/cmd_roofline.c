/* megasim roofline: operations timed on chips by the roofline, as a table,
 * JSON and a log-log plot; megasim default: the same for a fixed set of
 * chips and operations (the default scenario for now). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "hw/roofline.h"
#include "io/gnuplot.h"
#include "model/modelfile.h"
#include "model/mops.h"

#define MAX_CHIPS   32
#define MAX_OPS     (2 * CLI_MAX_VALUES)
#define MAX_BATCHES 16

typedef struct op_spec {
    char label[96];
    char plot_label[32]; /* shorter, for the plot; "" for the label itself */
    int no_plot;         /* left out of the plot (a model's element-wise ops) */
    roof_op op;
} op_spec;

typedef struct cell {
    roof_eff eff;
    roof_result res;
} cell;

typedef struct study {
    const chip *chips[MAX_CHIPS];
    size_t nchips;
    op_spec ops[MAX_OPS];
    size_t nops;
    cell cells[MAX_CHIPS][MAX_OPS];
    /* With --model: one layer's ops per batch size, in consecutive runs. */
    char title[256];
    size_t nbatches;
    int64_t batch[MAX_BATCHES];
    size_t batch_first[MAX_BATCHES], batch_nops[MAX_BATCHES];
} study;

/* Splits text at commas into at most max parts (copied into buf). */
static int split(const char *text, char *buf, size_t cap, char **parts, int max)
{
    if (strlen(text) >= cap)
        return -1;
    strcpy(buf, text);
    int n = 0;
    char *p = buf;
    for (;;) {
        if (n == max)
            return -1;
        parts[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int parse_gemm(const char *text, op_spec *o, ms_err *err)
{
    char buf[128], *f[5] = {0};
    int64_t m, n, k;
    ms_prec prec;
    int nf = split(text, buf, sizeof buf, f, 5);
    if (nf != 4 || cli_parse_int("--gemm", f[0], 1, &m, NULL) ||
        cli_parse_int("--gemm", f[1], 1, &n, NULL) || cli_parse_int("--gemm", f[2], 1, &k, NULL))
        return ms_errf(err, MS_EUSAGE,
                       "--gemm '%s': expected M,N,K,PRECISION with M, N, K positive integers "
                       "(e.g. --gemm 8192,8192,8192,bf16)",
                       text);
    if (ms_prec_parse(f[3], &prec))
        return ms_errf(err, MS_EUSAGE, "--gemm '%s': unknown precision '%s'; expected one of %s",
                       text, f[3], ms_prec_list());
    o->op = roof_gemm(m, n, k, prec);
    snprintf(o->label, sizeof o->label, "gemm %sx%sx%s", f[0], f[1], f[2]);
    return MS_OK;
}

static int parse_op(const char *text, op_spec *o, ms_err *err)
{
    char buf[128], *f[5] = {0};
    int nf = split(text, buf, sizeof buf, f, 5);
    if (nf != 3 && nf != 4)
        return ms_errf(err, MS_EUSAGE,
                       "--op '%s': expected FLOPS,BYTES,PRECISION[,KIND] (e.g. --op 0,1e9,bf16)",
                       text);
    char *end;
    double flops = strtod(f[0], &end);
    if (end == f[0] || *end || !isfinite(flops) || flops < 0)
        return ms_errf(err, MS_EUSAGE, "--op '%s': FLOPS must be a number >= 0, got '%s'", text,
                       f[0]);
    double bytes = strtod(f[1], &end);
    if (end == f[1] || *end || !isfinite(bytes) || bytes <= 0)
        return ms_errf(err, MS_EUSAGE, "--op '%s': BYTES must be a number > 0, got '%s'", text,
                       f[1]);
    ms_prec prec;
    if (ms_prec_parse(f[2], &prec))
        return ms_errf(err, MS_EUSAGE, "--op '%s': unknown precision '%s'; expected one of %s",
                       text, f[2], ms_prec_list());
    const char *kind = nf == 4 ? f[3] : "stream";
    if (!calib_kind_ok(kind))
        return ms_errf(err, MS_EUSAGE, "--op '%s': unknown kind '%s'; expected one of %s", text,
                       kind, calib_kinds());
    /* kind must outlive buf: point at the static name calib knows. */
    o->op = (roof_op){.kind = calib_kind_find(kind), .prec = prec, .flops = flops, .bytes = bytes};
    snprintf(o->label, sizeof o->label, "op %s,%s", f[0], f[1]);
    return MS_OK;
}

static int parse_int_list(const char *opt, const char *text, int64_t *out, size_t cap, size_t *n,
                          ms_err *err)
{
    const char *p = text;
    *n = 0;
    for (;;) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ',') || errno || v < 1 || v > (INT64_C(1) << 40))
            return ms_errf(err, MS_EUSAGE,
                           "%s '%s': expected whole numbers >= 1 separated by commas", opt, text);
        if (*n >= cap)
            return ms_errf(err, MS_EUSAGE, "%s: at most %zu values", opt, cap);
        out[(*n)++] = v;
        if (!*end)
            return MS_OK;
        p = end + 1;
    }
}

/* --model FILE --phase P --batch LIST: one layer's ops at each batch size. */
static int add_model_ops(study *s, const cli_args *a, ms_err *err)
{
    char path[4096];
    const char *file = cli_data_path(cli_get(a, "--model"), path, sizeof path);
    const char *phase_text = cli_get(a, "--phase") ? cli_get(a, "--phase") : "decode";
    mops_phase phase;
    if (strcmp(phase_text, "prefill") == 0)
        phase = MOPS_PREFILL;
    else if (strcmp(phase_text, "decode") == 0)
        phase = MOPS_DECODE;
    else
        return ms_errf(err, MS_EUSAGE, "--phase '%s': expected prefill or decode", phase_text);
    int64_t context = 4096;
    int rc;
    if (cli_get(a, "--context") &&
        (rc = cli_parse_int("--context", cli_get(a, "--context"), 1, &context, err)))
        return rc;
    const char *batch_text = cli_get(a, "--batch") ? cli_get(a, "--batch") : "1,8,64,256";
    if ((rc = parse_int_list("--batch", batch_text, s->batch, MAX_BATCHES, &s->nbatches, err)))
        return rc;
    ms_prec prec = MS_BF16;
    if (cli_get(a, "--precision") && ms_prec_parse(cli_get(a, "--precision"), &prec))
        return ms_errf(err, MS_EUSAGE, "--precision '%s': expected one of %s",
                       cli_get(a, "--precision"), ms_prec_list());

    model m;
    char warn[MODELFILE_WARN_MAX];
    if ((rc = modelfile_load(file, &m, warn, err)))
        return rc;
    if (warn[0])
        fprintf(stderr, "%s", warn);
    int moe = m.num_experts > 0;
    const char *layer = cli_get(a, "--layer");
    if (layer && strcmp(layer, "moe") != 0 && strcmp(layer, "dense") != 0)
        return ms_errf(err, MS_EUSAGE, "--layer '%s': expected moe or dense", layer);
    if (layer)
        moe = strcmp(layer, "moe") == 0;
    snprintf(s->title, sizeof s->title, "%s, one %s layer, %s, context %lld, %s", m.name,
             moe ? "MoE" : "dense", mops_phase_name(phase), (long long)context, ms_prec_name(prec));
    for (size_t b = 0; b < s->nbatches; b++) {
        mop ops[MOPS_MAX];
        size_t nops;
        if ((rc = mops_layer(&m, moe, phase, s->batch[b], context, prec, ops, &nops, err)))
            return rc;
        if (s->nops + nops > MAX_OPS)
            return ms_errf(err, MS_EUSAGE, "too many operations: use fewer batch sizes");
        s->batch_first[b] = s->nops;
        s->batch_nops[b] = nops;
        for (size_t i = 0; i < nops; i++) {
            op_spec *o = &s->ops[s->nops++];
            snprintf(o->label, sizeof o->label, "b%lld %.31s", (long long)s->batch[b], ops[i].name);
            o->op = (roof_op){
                .kind = ops[i].kind, .prec = prec, .flops = ops[i].flops, .bytes = ops[i].bytes};
            /* GEMMs of one batch share an intensity: label them by batch. */
            int attn = strcmp(ops[i].kind, "attention") == 0;
            snprintf(o->plot_label, sizeof o->plot_label, "b%lld%s", (long long)s->batch[b],
                     attn ? " attention" : "");
            o->no_plot = strcmp(ops[i].kind, "stream") == 0;
        }
    }
    return MS_OK;
}

static int compute(study *s, const calib *cal, ms_err *err)
{
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++) {
            cell *c = &s->cells[i][j];
            const roof_op *op = &s->ops[j].op;
            c->eff = calib_eff(cal, s->chips[i], op->kind, op->prec);
            int rc = roof_time(s->chips[i], op, &c->eff, &c->res, err);
            if (rc) {
                char msg[MS_ERR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", err->msg);
                return ms_errf(err, rc, "%s %s: %s", s->ops[j].label, ms_prec_name(op->prec), msg);
            }
        }
    return MS_OK;
}

static const char *eff_text(char *buf, size_t cap, const roof_eff *e)
{
    char c[16], m[16];
    snprintf(c, sizeof c, e->compute_source ? "%.2f" : "peak", e->compute);
    snprintf(m, sizeof m, e->memory_source ? "%.2f" : "peak", e->memory);
    snprintf(buf, cap, "%s/%s", c, m);
    return buf;
}

/* Whether two cells were timed with the same efficiencies. */
static int same_eff(const roof_eff *a, const roof_eff *b)
{
    return a->compute == b->compute && a->memory == b->memory;
}

static void print_table(const study *s, const calib *cal)
{
    printf("%-9s %-24s %-5s %11s %16s %12s %10s %-8s %s\n", "chip", "operation", "prec", "time",
           "attained", "intensity", "ridge", "bound", "eff c/m");
    printf("%-9s %-24s %-5s %11s %16s %12s %10s %-8s %s\n", "", "", "", "", "", "FLOP/B", "FLOP/B",
           "", "");
    for (size_t j = 0; j < s->nops; j++)
        for (size_t i = 0; i < s->nchips; i++) {
            const cell *c = &s->cells[i][j];
            char t[32], at[32], e[32];
            printf("%-9s %-24s %-5s %11s %16s %12.4g %10.4g %-8s %s\n", s->chips[i]->name,
                   s->ops[j].label, ms_prec_name(s->ops[j].op.prec),
                   cli_si(t, sizeof t, c->res.time_s, "s"),
                   cli_si(at, sizeof at, c->res.attained_flop_per_s, "FLOP/s"),
                   c->res.intensity_flop_per_byte, c->res.ridge_flop_per_byte,
                   roof_bound_name(c->res.bound), eff_text(e, sizeof e, &c->eff));
        }
    if (s->nbatches > 0) {
        printf("\nOne layer of %s, op times added:\n", s->title);
        printf("  %-9s %7s %12s %14s %22s\n", "chip", "batch", "layer time", "per sequence",
               "time memory-bound");
        for (size_t i = 0; i < s->nchips; i++)
            for (size_t b = 0; b < s->nbatches; b++) {
                double t = 0, tm = 0;
                for (size_t j = s->batch_first[b]; j < s->batch_first[b] + s->batch_nops[b]; j++) {
                    t += s->cells[i][j].res.time_s;
                    if (s->cells[i][j].res.bound == ROOF_MEMORY)
                        tm += s->cells[i][j].res.time_s;
                }
                char t1[32], t2[32];
                printf("  %-9s %7lld %12s %14s %21.0f%%\n", s->chips[i]->name,
                       (long long)s->batch[b], cli_si(t1, sizeof t1, t, "s"),
                       cli_si(t2, sizeof t2, t / (double)s->batch[b], "s"), 100 * tm / t);
            }
    } else if (s->nchips > 1) {
        int mixed_any = 0;
        printf("\nRelative to %s:\n", s->chips[0]->name);
        for (size_t j = 0; j < s->nops; j++) {
            printf("  %-24s %-5s", s->ops[j].label, ms_prec_name(s->ops[j].op.prec));
            for (size_t i = 1; i < s->nchips; i++) {
                int mixed = !same_eff(&s->cells[i][j].eff, &s->cells[0][j].eff);
                mixed_any |= mixed;
                printf("  %s %.2fx the time%s", s->chips[i]->name,
                       s->cells[i][j].res.time_s / s->cells[0][j].res.time_s, mixed ? "*" : "");
            }
            printf("\n");
        }
        if (mixed_any)
            printf("  * the two chips' efficiencies differ (one may be calibrated, the other at "
                   "peak); --peak compares datasheet against datasheet\n");
    }
    /* Say where a chip borrows figures measured on others, once per chip and key. */
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++) {
            const cell *c = &s->cells[i][j];
            const roof_op *op = &s->ops[j].op;
            if (!c->eff.measured_on || cli_listed(c->eff.measured_on, s->chips[i]->name))
                continue;
            int seen = 0;
            for (size_t j2 = 0; j2 < j && !seen; j2++)
                seen = strcmp(s->ops[j2].op.kind, op->kind) == 0 && s->ops[j2].op.prec == op->prec;
            if (!seen)
                printf("%snote: %s borrows the %s %s %s figures measured on %s\n",
                       i == 0 && j == 0 ? "\n" : "", s->chips[i]->name, s->chips[i]->family,
                       op->kind, ms_prec_name(op->prec), c->eff.measured_on);
        }
    /* Say where peak stood in for a measurement, once per (family, kind, precision). */
    int any = 0;
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++) {
            const cell *c = &s->cells[i][j];
            const roof_op *op = &s->ops[j].op;
            int need_c = op->flops > 0 && !c->eff.compute_source;
            int need_m = !c->eff.memory_source;
            if (!need_c && !need_m)
                continue;
            int seen = 0;
            for (size_t i2 = 0; i2 <= i && !seen; i2++)
                for (size_t j2 = 0; j2 < s->nops && !seen; j2++) {
                    if (i2 == i && j2 >= j)
                        break;
                    seen = strcmp(s->chips[i2]->family, s->chips[i]->family) == 0 &&
                           strcmp(s->ops[j2].op.kind, op->kind) == 0 &&
                           s->ops[j2].op.prec == op->prec;
                }
            if (seen)
                continue;
            if (!any++)
                printf("\n");
            printf("note: %s: no calibration for %s %s %s%s%s: using datasheet peak\n",
                   cal ? "hwdb/efficiency.csv" : "--peak", s->chips[i]->family, op->kind,
                   ms_prec_name(op->prec), need_c ? " compute" : "",
                   need_m ? (need_c ? " and memory" : " memory") : "");
        }
}

static int print_json(const study *s, ms_err *err)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < s->nchips; i++)
        for (size_t j = 0; j < s->nops; j++) {
            const cell *c = &s->cells[i][j];
            const roof_op *op = &s->ops[j].op;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "chip", s->chips[i]->name);
            cJSON_AddStringToObject(o, "op", s->ops[j].label);
            cJSON_AddStringToObject(o, "kind", op->kind);
            cJSON_AddStringToObject(o, "precision", ms_prec_name(op->prec));
            cli_json_num(o, "flops", op->flops);
            cli_json_num(o, "bytes", op->bytes);
            cli_json_num(o, "time_s", c->res.time_s);
            cJSON_AddStringToObject(o, "bound", roof_bound_name(c->res.bound));
            cli_json_num(o, "attained_flop_per_s", c->res.attained_flop_per_s);
            cli_json_num(o, "attained_bytes_per_s", c->res.attained_bytes_per_s);
            cli_json_num(o, "intensity_flop_per_byte", c->res.intensity_flop_per_byte);
            cli_json_num(o, "ridge_flop_per_byte", c->res.ridge_flop_per_byte);
            cli_json_num(o, "compute_time_s", c->res.compute_time_s);
            cli_json_num(o, "memory_time_s", c->res.memory_time_s);
            cli_json_num(o, "compute_efficiency", c->eff.compute);
            cli_json_num(o, "memory_efficiency", c->eff.memory);
            cli_json_str(o, "compute_efficiency_source", c->eff.compute_source);
            cli_json_str(o, "memory_efficiency_source", c->eff.memory_source);
            cJSON_AddItemToArray(arr, o);
        }
    return cli_json_emit(arr, err);
}

/* One roof (and one colour) per chip and precision that some op computes at. */
/* One roof of the plot: a precision and the chips whose datasheets give
 * it the same peak and bandwidth (drawn once, under all their names). */
typedef struct roof_key {
    ms_prec prec;
    size_t chips[MAX_CHIPS];
    size_t nchips;
} roof_key;

static size_t roof_keys(const study *s, roof_key *keys, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nchips; i++)
        for (int p = 0; p < MS_PREC_COUNT; p++) {
            int used = 0;
            for (size_t j = 0; j < s->nops; j++)
                used |= s->ops[j].op.prec == (ms_prec)p && s->ops[j].op.flops > 0;
            if (!used)
                continue;
            const chip *c = s->chips[i];
            size_t k = 0;
            while (k < n && !(keys[k].prec == (ms_prec)p &&
                              chip_peak(s->chips[keys[k].chips[0]], keys[k].prec) ==
                                  chip_peak(c, keys[k].prec) &&
                              s->chips[keys[k].chips[0]]->hbm_bw_Bps == c->hbm_bw_Bps))
                k++;
            if (k == n && n == cap)
                continue;
            if (k == n)
                keys[n++] = (roof_key){.prec = (ms_prec)p};
            keys[k].chips[keys[k].nchips++] = i;
        }
    return n;
}

static const char *op_plot_label(const op_spec *o)
{
    return o->plot_label[0] ? o->plot_label : o->label;
}

/* The key entry (1-based) of op j: ops of the same label share one. */
static size_t op_entry(const study *s, size_t j)
{
    size_t e = 0;
    for (size_t i = 0; i <= j; i++) {
        int first = 1;
        for (size_t q = 0; q < i && first; q++)
            first = strcmp(op_plot_label(&s->ops[q]), op_plot_label(&s->ops[i])) != 0;
        e += first;
    }
    return e;
}

/* Filled, then open, point types of gnuplot: one per op in the key. */
static const int op_pts[] = {7, 5, 9, 11, 13, 15, 6, 4, 8, 10, 12, 14};
#define NPTS (sizeof op_pts / sizeof op_pts[0])

static int plotted(const op_spec *o)
{
    return o->op.flops > 0 && !o->no_plot;
}

/* Block 2k: roof k at datasheet peaks; block 2k+1: the ops on it at their
 * attained rates, with the point type of their key entry. */
static int write_roof_data(const study *s, const roof_key *keys, size_t nkeys, double xmin,
                           double xmax, const char *path, ms_err *err)
{
    FILE *dat = fopen(path, "w");
    if (!dat)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(dat, "# megasim roofline data: intensity_flop_per_byte  tflop_per_s  point_type\n");
    for (size_t k = 0; k < nkeys; k++) {
        const chip *c = s->chips[keys[k].chips[0]];
        double peak = chip_peak(c, keys[k].prec);
        fprintf(dat, "# roof %s %s (datasheet)\n", c->name, ms_prec_name(keys[k].prec));
        for (int q = 0; q <= 200; q++) {
            double x = xmin * pow(xmax / xmin, q / 200.0);
            fprintf(dat, "%.6g %.6g 0\n", x, fmin(peak, x * c->hbm_bw_Bps) / 1e12);
        }
        fprintf(dat, "\n\n# ops on that roof (attained)\n");
        int npts = 0;
        for (size_t m = 0; m < keys[k].nchips; m++)
            for (size_t j = 0; j < s->nops; j++) {
                const cell *cl = &s->cells[keys[k].chips[m]][j];
                if (s->ops[j].op.prec != keys[k].prec || !plotted(&s->ops[j]))
                    continue;
                fprintf(dat, "%.6g %.6g %d\n", cl->res.intensity_flop_per_byte,
                        cl->res.attained_flop_per_s / 1e12, op_pts[(op_entry(s, j) - 1) % NPTS]);
                npts++;
            }
        if (!npts) /* keep block numbering intact */
            fprintf(dat, "NaN NaN 0\n");
        fprintf(dat, "\n\n");
    }
    int bad = ferror(dat);
    if (fclose(dat) != 0 || bad)
        return ms_errf(err, MS_EIO, "%s: write failed: %s", path, strerror(errno));
    return MS_OK;
}

/* The variables roofline.gp draws from: roofs, their titles, the ops' key. */
static void write_roof_vars(FILE *gp, const study *s, const roof_key *keys, size_t nkeys)
{
    fprintf(gp, "nroofs = %zu\narray roof_title[%zu]\n", nkeys, nkeys ? nkeys : 1);
    for (size_t k = 0; k < nkeys; k++) {
        char t[400] = "";
        size_t used = 0;
        for (size_t m = 0; m < keys[k].nchips && used < sizeof t; m++)
            used += (size_t)snprintf(t + used, sizeof t - used, "%s%s", m ? ", " : "",
                                     s->chips[keys[k].chips[m]]->name);
        if (used < sizeof t)
            snprintf(t + used, sizeof t - used, " %s", ms_prec_name(keys[k].prec));
        fprintf(gp, "roof_title[%zu] = ", k + 1);
        gp_write_string(gp, t);
        fprintf(gp, "\n");
    }
    size_t nentries = 0;
    for (size_t j = 0; j < s->nops; j++)
        if (plotted(&s->ops[j]) && op_entry(s, j) > nentries)
            nentries = op_entry(s, j);
    fprintf(gp, "nops = %zu\narray op_title[%zu]\narray op_pt[%zu]\n", nentries,
            nentries ? nentries : 1, nentries ? nentries : 1);
    for (size_t j = 0, e = 0; j < s->nops; j++)
        if (plotted(&s->ops[j]) && op_entry(s, j) > e) {
            e = op_entry(s, j);
            fprintf(gp, "op_pt[%zu] = %d\nop_title[%zu] = ", e, op_pts[(e - 1) % NPTS], e);
            gp_write_string(gp, op_plot_label(&s->ops[j]));
            fprintf(gp, "\n");
        }
}

/* Writes the plot's data and script (cli_plot_paths says where), then
 * draws with gnuplot if it is installed. *drawn says whether the image
 * was made. */
static int write_plot(const study *s, const char *out, int *drawn, ms_err *err)
{
    char dat_path[4200], gp_path[4200], tmpl_path[4096];
    int svg, rc;
    *drawn = 0;
    if ((rc = cli_plot_paths(out, dat_path, sizeof dat_path, gp_path, sizeof gp_path, &svg, err)) ||
        (rc = cli_home_path(tmpl_path, sizeof tmpl_path, "plots/roofline.gp", err)))
        return rc;
    roof_key keys[MAX_CHIPS * MS_PREC_COUNT];
    size_t nkeys = roof_keys(s, keys, sizeof keys / sizeof keys[0]);
    double xmin = 0.1, xmax = 1e4;
    for (size_t j = 0; j < s->nops; j++) {
        double x = s->ops[j].op.flops / s->ops[j].op.bytes;
        if (x > 0) {
            xmin = fmin(xmin, x / 3);
            xmax = fmax(xmax, x * 3);
        }
    }
    if ((rc = write_roof_data(s, keys, nkeys, xmin, xmax, dat_path, err)))
        return rc;

    char title[800], names[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < s->nchips && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 s->chips[i]->name);
    snprintf(title, sizeof title,
             "roofline of %s%s%s\nlines: datasheet peaks; points: attained (calibrated) rates",
             names, s->title[0] ? ": " : "", s->title);
    FILE *gp = fopen(gp_path, "w");
    if (!gp)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", gp_path, strerror(errno));
    gp_write_header(gp, "megasim roofline", gp_path, dat_path, out, svg, title);
    fprintf(gp, "xmin = %g\nxmax = %g\n", xmin, xmax);
    write_roof_vars(gp, s, keys, nkeys);
    rc = gp_append_template(gp, tmpl_path, err);
    if (fclose(gp) != 0 && !rc)
        rc = ms_errf(err, MS_EIO, "%s: write failed: %s", gp_path, strerror(errno));
    return rc ? rc : cli_plot_draw(gp_path, dat_path, out, drawn, err);
}

/* Everything after option parsing, shared by roofline and default. */
static int run_study(const cli_cmd *cmd, const cli_args *a, const char *const *chip_lists,
                     int nchip_lists, const char *const *gemms, int ngemms, const char *const *ops,
                     int nops, const char *plot)
{
    int ex = CLI_EXIT_OK;
    ms_err err = {0};
    chip_db *db = NULL;
    calib *cal = NULL;
    study *s = calloc(1, sizeof *s);
    if (!s) {
        ms_errf(&err, MS_ENOMEM, "out of memory");
        return cli_fail(cmd, &err);
    }
    int rc = cli_load_chips(a, &db, &err);
    if (!rc)
        rc = cli_select_chips(db, chip_lists, nchip_lists, s->chips, MAX_CHIPS, &s->nchips, &err);
    for (int i = 0; !rc && i < ngemms; i++)
        rc = parse_gemm(gemms[i], &s->ops[s->nops++], &err);
    for (int i = 0; !rc && i < nops; i++)
        rc = parse_op(ops[i], &s->ops[s->nops++], &err);
    if (!rc && cli_get(a, "--model"))
        rc = add_model_ops(s, a, &err);
    if (!rc)
        rc = cli_load_calib(a, &cal, &err);
    if (!rc)
        rc = compute(s, cal, &err);
    if (rc) {
        ex = cli_fail(cmd, &err);
        goto out;
    }
    /* Results first, so a failed plot never loses them. */
    if (cli_has(a, "--json"))
        rc = print_json(s, &err);
    else
        print_table(s, cal);
    if (!rc && plot) {
        int drawn;
        rc = write_plot(s, plot, &drawn, &err);
        FILE *f = cli_has(a, "--json") ? stderr : stdout;
        if (!rc && drawn)
            fprintf(f, "\nplot: %s\n", plot);
        if (!rc && s->nbatches)
            fprintf(f, "note: the plot shows the GEMMs (labelled by batch) and the attention; "
                       "element-wise ops are in the table only\n");
        for (size_t j = 0; !rc && j < s->nops; j++)
            if (s->ops[j].op.flops == 0)
                fprintf(f,
                        "note: '%s' has no FLOPs, so a log-log roofline has no place for it; "
                        "it is in the table only\n",
                        s->ops[j].label);
    }
    if (rc)
        ex = cli_fail(cmd, &err);
out:
    calib_free(cal);
    chip_db_free(db);
    free(s);
    return ex;
}

static const cli_opt roofline_opts[] = {
    {"--chip", "LIST", "chips to compare, comma-separated (repeatable)"},
    {"--gemm", "M,N,K,PREC", "a matrix product C[M,N] = A[M,K] B[K,N] (repeatable)"},
    {"--op", "FLOPS,BYTES,PREC[,KIND]", "any operation; KIND gemm|stream|attention (repeatable)"},
    {"--model", "FILE", "place one layer of this model's ops (config.json or megasim JSON)"},
    {"--phase", "PHASE", "with --model: prefill or decode (default decode)"},
    {"--batch", "LIST", "with --model: sequences in flight, comma-separated (default 1,8,64,256)"},
    {"--context", "N", "with --model: prompt length (prefill) or cached tokens (decode); 4096"},
    {"--precision", "PREC", "with --model: weights, activations and KV cache (default bf16)"},
    {"--layer", "KIND", "with --model: moe or dense (default moe when the model has one)"},
    {"--plot", "FILE", "draw a log-log roofline to FILE (.png or .svg) with gnuplot"},
    {"--json", NULL, "print JSON, one object per chip and operation"},
    {"--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"--efficiency", "FILE", "calibration to read (default: hwdb/efficiency.csv)"},
    {"--peak", NULL, "ignore calibration: time everything at datasheet peaks"},
};

static int run_roofline(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    const char *const *chips, *const *gemms, *const *ops;
    int nchips = cli_values(&a, "--chip", &chips);
    int ngemms = cli_values(&a, "--gemm", &gemms);
    int nops = cli_values(&a, "--op", &ops);
    if (nchips == 0)
        return cli_usage_error(cmd, "name the chips to compare with --chip (e.g. --chip H100,H20;"
                                    " 'megasim chips' lists them)");
    if (ngemms + nops == 0 && !cli_get(&a, "--model"))
        return cli_usage_error(cmd, "give at least one --gemm, --op or --model");
    static const char *const model_only[] = {"--phase", "--batch", "--context", "--precision",
                                             "--layer"};
    for (size_t i = 0; i < sizeof model_only / sizeof model_only[0]; i++)
        if (cli_has(&a, model_only[i]) && !cli_get(&a, "--model"))
            return cli_usage_error(cmd, "%s goes with --model", model_only[i]);
    return run_study(cmd, &a, chips, nchips, gemms, ngemms, ops, nops, cli_get(&a, "--plot"));
}

const cli_cmd cmd_roofline = {
    .name = "roofline",
    .run = run_roofline,
    .summary = "time operations on chips by the roofline: bound, attained FLOP/s, plot",
    .usage =
        "  megasim roofline --chip LIST (--gemm M,N,K,PREC | --op FLOPS,BYTES,PREC[,KIND])...\n"
        "                   [--plot FILE.png] [--json] [--peak]\n",
    .details =
        "Each operation takes max(FLOPs / (peak x eta_c), bytes / (HBM bandwidth x eta_m)).\n"
        "eta are fractions of peak that real kernels reach, from hwdb/efficiency.csv per chip\n"
        "family, operation kind and precision; where it has none, the datasheet peak is used\n"
        "and a note says so (the 'eff c/m' column shows 'peak').\n"
        "A GEMM moves A and B once and writes C once (C in bf16 for fp8/fp4 inputs, int32 for\n"
        "int8). PREC is one of fp64, fp32, tf32, bf16 (or fp16), fp8, fp4, int8.\n\n"
        "With --model, the ops of one layer (a MoE layer where there is one) are placed for\n"
        "each batch size: decode GEMMs slide from memory-bound to compute-bound as the batch\n"
        "grows, and MLA's absorbed attention does so at a different batch than GQA's.\n\n"
        "Examples:\n"
        "  megasim roofline --chip H100,H20 --gemm 8192,8192,8192,bf16 --op 0,1e9,bf16 \\\n"
        "                   --plot roofline.png\n"
        "  megasim roofline --chip H100,H20 --model workloads/deepseek-v3/config.json \\\n"
        "                   --phase decode --batch 1,8,64,256\n",
    .opts = roofline_opts,
    .nopts = sizeof roofline_opts / sizeof roofline_opts[0],
};

static const cli_opt default_opts[] = {
    {"--plot", "FILE", "where to draw the roofline (default: megasim-default.png)"},
    {"--no-plot", NULL, "print the table only"},
    {"--json", NULL, "print JSON, one object per chip and operation"},
    {"--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},
    {"--efficiency", "FILE", "calibration to read (default: hwdb/efficiency.csv)"},
    {"--peak", NULL, "ignore calibration: time everything at datasheet peaks"},
};

static int run_default(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    static const char *const chips[] = {"H100,H800,H20,H200,B200"};
    /* A big training GEMM at two precisions, a decode-sized one (64 tokens
     * against an 8192x8192 weight), and a 1 GB copy. */
    static const char *const gemms[] = {"8192,8192,8192,bf16", "8192,8192,8192,fp8",
                                        "64,8192,8192,bf16"};
    static const char *const ops[] = {"0,1e9,bf16"};
    const char *plot = cli_has(&a, "--no-plot") ? NULL
                       : cli_get(&a, "--plot")  ? cli_get(&a, "--plot")
                                                : "megasim-default.png";
    if (!cli_has(&a, "--json"))
        printf("megasim default: a roofline comparison of the H100, H800, H20, H200 and B200\n\n");
    return run_study(cmd, &a, chips, 1, gemms, 3, ops, 1, plot);
}

const cli_cmd cmd_default = {
    .name = "default",
    .run = run_default,
    .summary = "run the default scenario (a roofline comparison of H100, H800, H20, H200, B200)",
    .usage = "  megasim default [--plot FILE | --no-plot] [--json] [--peak]\n",
    .details = "The same as:\n"
               "  megasim roofline --chip H100,H800,H20,H200,B200 --gemm 8192,8192,8192,bf16 \\\n"
               "    --gemm 8192,8192,8192,fp8 --gemm 64,8192,8192,bf16 --op 0,1e9,bf16 \\\n"
               "    --plot megasim-default.png\n",
    .opts = default_opts,
    .nopts = sizeof default_opts / sizeof default_opts[0],
};
