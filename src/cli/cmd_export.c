/* megasim export-check and megasim derive: which chips an export rule
 * controls and by which clause, with the numbers; and what-if chips made
 * from datasheet ones, written where every other command finds them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cexport.h"
#include "cli/commands.h"
#include "policy/derive.h"
#include "policy/xrule.h"

static void fmt_range(char *buf, size_t cap, xrule_range r, const char *fmt)
{
    if (r.lo == r.hi)
        snprintf(buf, cap, fmt, r.lo);
    else if (r.lo > 0) {
        char lo[32];
        snprintf(lo, sizeof lo, fmt, r.lo);
        snprintf(buf, cap, ">=%.20s", lo);
    } else
        snprintf(buf, cap, "-");
}

/* ---- export-check ---- */

static const cli_opt check_opts[] = {
    {"--chip", "LIST", "chips to check, comma-separated, repeatable"},
    {"--all", NULL, "check every chip of the database"},
    {"--rule", "NAME", "a rule of the rules file, or all (default: all)"},
    CEXPORT_RULES_OPT,
    CEXPORT_CHIPS_OPT,
    {"--json", NULL, "print JSON: one object per chip and rule"},
};

#define MAX_CHECK_CHIPS 256

static int run_check(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    if (cli_has(&a, "--all") == (cli_get(&a, "--chip") != NULL))
        return cli_usage_error(cmd, "give --chip NAME[,NAME...] or --all (one of them)");
    ms_err err = {0};
    chip_db *db = NULL;
    xrule_set *rules = NULL;
    const chip *chips[MAX_CHECK_CHIPS];
    size_t nchips = 0;
    int rc = cli_load_chips(&a, &db, &err);
    if (!rc)
        rc = cexport_load_rules(&a, &rules, &err);
    if (!rc && cli_has(&a, "--all")) {
        for (size_t i = 0; i < chip_db_count(db) && nchips < MAX_CHECK_CHIPS; i++)
            chips[nchips++] = chip_db_at(db, i);
    } else if (!rc) {
        const char *const *lists;
        int nl = cli_values(&a, "--chip", &lists);
        rc = cli_select_chips(db, lists, nl, chips, MAX_CHECK_CHIPS, &nchips, &err);
    }
    const xrule_rule *only = NULL;
    const char *rule = cli_get(&a, "--rule");
    if (!rc && rule && strcasecmp(rule, "all") != 0)
        rc = xrule_find(rules, rule, &only, &err);
    if (rc)
        goto out;

    size_t nr = only ? 1 : xrule_count(rules);
    if (cli_has(&a, "--json")) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < nchips; i++)
            for (size_t k = 0; k < nr; k++) {
                const xrule_rule *r = only ? only : xrule_at(rules, k);
                xrule_verdict v = xrule_check(r, chips[i]);
                cJSON *o = cJSON_CreateObject();
                cexport_verdict_json(o, r, chips[i], &v);
                cJSON_AddItemToArray(arr, o);
            }
        rc = cli_json_emit(arr, &err);
        goto out;
    }
    printf("%-12s %-14s %-15s %-10s %7s %7s %8s %7s  %s\n", "chip", "rule", "verdict", "clause",
           "TPP", "density", "I/O", "HBM", "why");
    printf("%-12s %-14s %-15s %-10s %7s %7s %8s %7s\n", "", "", "", "", "", "TPP/mm2", "GB/s",
           "GB/s");
    for (size_t i = 0; i < nchips; i++)
        for (size_t k = 0; k < nr; k++) {
            const xrule_rule *r = only ? only : xrule_at(rules, k);
            const chip *c = chips[i];
            xrule_verdict v = xrule_check(r, c);
            char tpp[32], pd[32], io[32], hbm[32];
            fmt_range(tpp, sizeof tpp, xrule_metric_of(c, XRULE_TPP), "%.0f");
            fmt_range(pd, sizeof pd, xrule_metric_of(c, XRULE_PD), "%.2f");
            fmt_range(io, sizeof io, xrule_metric_of(c, XRULE_IO), "%.0f");
            fmt_range(hbm, sizeof hbm, xrule_metric_of(c, XRULE_HBM_BW), "%.0f");
            printf("%-12s %-14s %-15s %-10s %7s %7s %8s %7s  %s\n", c->name, r->name,
                   cexport_verdict_word(v.controlled), v.clause ? v.clause->name : "-", tpp, pd, io,
                   hbm, v.why);
        }
    printf("\nTPP = dense TOPS x bit length, the largest over precisions; density = TPP per mm2 "
           "of die; I/O = scale-up links + host interface, both directions. '-' or '>=' where "
           "the database is blank. Citations: --json, or hwdb/export_rules.csv.\n");
out:
    xrule_free(rules);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_export_check = {
    .name = "export-check",
    .run = run_check,
    .summary = "which export rules control a chip, by which clause, with the numbers",
    .usage = "  megasim export-check (--chip LIST | --all) [--rule NAME|all] [--json]\n",
    .details = "Rules are data (hwdb/export_rules.csv, each clause with its Federal Register\n"
               "citation): oct2022 (3A090.a: I/O >= 600 GB/s and TPP >= 4800), oct2023\n"
               "(3A090.a/.b on TPP and performance density), dec2024-hbm (the same plus 3A090.c\n"
               "on HBM sold on its own) and jan2026-china (case-by-case review below TPP 21,000\n"
               "and 6,500 GB/s). A chip is controlled when any clause holds; where a figure is\n"
               "blank the clauses that need it are undecided, and the verdict says so.\n"
               "Derived chips (megasim derive) are checked like any other.\n"
               "Example: megasim export-check --chip H100,H800,H20 --rule oct2023\n",
    .opts = check_opts,
    .nopts = sizeof check_opts / sizeof check_opts[0],
    .max_pos = 0,
};

/* ---- derive ---- */

static const cli_opt derive_opts[] = {
    {"--from", "NAME", "the chip to start from (a datasheet or derived chip)"},
    {"--name", "NAME", "the new chip's name (no spaces or commas)"},
    {"--set", "FIELD=VALUE", "set a figure, with its unit: scale_up_bw=400GB/s (repeatable)"},
    {"--scale", "FIELD=FACTOR", "scale a figure: flops=0.33 (repeatable; after the --set ones)"},
    {"--out", "FILE", "chip file to add it to (default: derived.csv in the user directory)"},
    {"--force", NULL, "replace a derived chip of the same name"},
    {"--dry-run", NULL, "print the chip's row, write nothing"},
    CEXPORT_RULES_OPT,
    CEXPORT_CHIPS_OPT,
    {"--json", NULL, "print the new chip and its export verdicts as JSON"},
};

#define MAX_CHANGES 16

/* Writes every chip of db that came from path but d's name, then d, to
 * path (through a temporary file beside it, so a failure leaves path as it
 * was). */
static int write_derived(const chip_db *db, const char *path, const chip *d, ms_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    chip_csv_header(f);
    for (size_t i = 0; i < chip_db_count(db); i++) {
        const chip *c = chip_db_at(db, i);
        if (c->file && strcmp(c->file, path) == 0 && strcmp(c->name, d->name) != 0)
            chip_csv_row(f, c);
    }
    chip_csv_row(f, d);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return MS_OK;
}

static int run_derive(const cli_cmd *cmd, int argc, char **argv)
{
    cli_args a;
    int ex = cli_parse(cmd, argc, argv, &a);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    chip_db *db = NULL;
    xrule_set *rules = NULL;
    const chip *parent = NULL;
    derive_change ch[MAX_CHANGES];
    size_t nch = 0;
    derive_chip *d = calloc(1, sizeof *d);
    char out_path[4096];
    int rc = d ? MS_OK : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc && !(rc = cli_need(&a, "--from", &err)))
        rc = cli_need(&a, "--name", &err);
    for (int pass = 0; pass < 2 && !rc; pass++) {
        const char *const *vals;
        int n = cli_values(&a, pass ? "--scale" : "--set", &vals);
        for (int i = 0; i < n && !rc; i++) {
            if (nch == MAX_CHANGES)
                rc = ms_errf(&err, MS_EUSAGE, "at most %d changes", MAX_CHANGES);
            else
                rc = derive_parse(vals[i], pass, &ch[nch++], &err);
        }
    }
    if (!rc && nch == 0)
        rc = ms_errf(&err, MS_EUSAGE,
                     "nothing to change: give --set FIELD=VALUE or --scale FIELD=FACTOR, with "
                     "FIELD one of %s",
                     derive_field_list());
    if (!rc) {
        const char *o = cli_get(&a, "--out");
        if (o)
            snprintf(out_path, sizeof out_path, "%s", o);
        else
            rc = cli_user_path(out_path, sizeof out_path, CLI_DERIVED_CHIPS, &err);
    }
    if (!rc)
        rc = cli_load_chips(&a, &db, &err);
    if (!rc) {
        /* The output file's chips, when it exists and is not loaded yet. */
        int loaded = 0;
        for (size_t i = 0; i < chip_db_count(db); i++)
            loaded |= strcmp(chip_db_at(db, i)->file, out_path) == 0;
        if (!loaded && access(out_path, F_OK) == 0)
            rc = chip_db_add_file(db, out_path, &err);
    }
    if (!rc)
        rc = chip_db_lookup(db, cli_get(&a, "--from"), &parent, &err);
    if (!rc)
        rc = derive_apply(parent, cli_get(&a, "--name"), ch, nch, d, &err);
    /* A name already taken: the same derivation again is done already; a
     * derived chip of the output file may be replaced with --force; a
     * datasheet chip never. */
    const chip *taken = rc ? NULL : chip_db_find(db, cli_get(&a, "--name"));
    int same = taken && strcmp(taken->derived_from, d->c.derived_from) == 0 &&
               strcmp(taken->derivation, d->c.derivation) == 0;
    int replace = taken && cli_has(&a, "--force") && strcmp(taken->file, out_path) == 0;
    if (taken && !same && !replace)
        rc = ms_errf(&err, MS_EINVAL, "--name '%s': already a chip (%s:%d); choose another%s",
                     cli_get(&a, "--name"), taken->file, taken->line,
                     strcmp(taken->file, out_path) == 0 ? ", or --force to replace it" : "");
    if (!rc)
        rc = cexport_load_rules(&a, &rules, &err);
    if (rc)
        goto out;
    if (cli_has(&a, "--dry-run")) {
        chip_csv_header(stdout);
        chip_csv_row(stdout, &d->c);
        goto out;
    }
    if (same && !replace)
        fprintf(stderr,
                "megasim derive: %s exists already with the same derivation (%s:%d); "
                "nothing written\n",
                d->c.name, taken->file, taken->line);
    else if ((rc = cli_mkdirs_for(out_path, &err)) ||
             (rc = write_derived(db, out_path, &d->c, &err)))
        goto out;
    if (cli_has(&a, "--json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "chip", d->c.name);
        cJSON_AddStringToObject(o, "derived_from", d->c.derived_from);
        cJSON_AddStringToObject(o, "derivation", d->c.derivation);
        cJSON_AddStringToObject(o, "file", out_path);
        cJSON *vs = cJSON_AddArrayToObject(o, "export");
        for (size_t k = 0; k < xrule_count(rules); k++) {
            xrule_verdict v = xrule_check(xrule_at(rules, k), &d->c);
            cJSON *e = cJSON_CreateObject();
            cexport_verdict_json(e, xrule_at(rules, k), &d->c, &v);
            cJSON_AddItemToArray(vs, e);
        }
        rc = cli_json_emit(o, &err);
        goto out;
    }
    printf("%s: %s\n%s %s; use --chip %s with any command (the file is read with "
           "hwdb/chips.csv%s)\n",
           d->c.name, d->c.derivation, same && !replace ? "already in" : "written to", out_path,
           d->c.name, cli_get(&a, "--out") ? " when given as a second --chips" : "");
    for (size_t k = 0; k < xrule_count(rules); k++) {
        xrule_verdict v = xrule_check(xrule_at(rules, k), &d->c);
        printf("  %-14s %-15s %s\n", xrule_at(rules, k)->name, cexport_verdict_word(v.controlled),
               v.why);
    }
out:
    free(d);
    xrule_free(rules);
    chip_db_free(db);
    return rc ? cli_fail(cmd, &err) : CLI_EXIT_OK;
}

const cli_cmd cmd_derive = {
    .name = "derive",
    .run = run_derive,
    .summary = "a what-if chip from another: cut FLOPs, interconnect or memory; lineage kept",
    .usage =
        "  megasim derive --from CHIP --name NEW (--set FIELD=VALUE | --scale FIELD=FACTOR)...\n"
        "                 [--out FILE] [--dry-run] [--json]\n",
    .details = "Fields: flops (every dense peak; a set value is the BF16 peak in TFLOPS),\n"
               "scale_up_bw and host_io_bw (both directions, as datasheets quote them: the\n"
               "H100's 900 GB/s), hbm_bw (GB/s, TB/s), hbm_capacity (GB), scale_out_bw (NIC,\n"
               "Gb/s), die_area (mm2), tdp (W). Everything else, the calibration family\n"
               "included, is the parent's. The chip is added to derived.csv in the user\n"
               "directory ($MEGASIM_USER_DIR, else $XDG_DATA_HOME/megasim, else\n"
               "~/.local/share/megasim), which every command reads after hwdb/chips.csv,\n"
               "with its parent (derived_from) and what was changed (derivation, the\n"
               "parent's own first); its export verdicts are printed. The same derivation\n"
               "run again writes nothing; --force replaces a derived chip of the same name\n"
               "with a new derivation. A derived chip has no power levels in hwdb/power.csv,\n"
               "so power and ownership cost are not reported for it.\n"
               "Example: megasim derive --from H100 --name H800x --set scale_up_bw=400GB/s\n",
    .opts = derive_opts,
    .nopts = sizeof derive_opts / sizeof derive_opts[0],
    .max_pos = 0,
};
