/* megasim export-check and megasim derive: which chips an export rule
 * controls and by which clause, with the numbers; and what-if chips made
 * from datasheet ones, written where every other command finds them. The
 * jobs are src/job/jexport; this is their command line. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "job/jexport.h"
#include "report/report.h"

static int run_check(const cli_cmd *cmd, int argc, char **argv)
{
    jexport_check_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    report *r = report_new();
    int rc =
        r ? jexport_check_run(&j, cli_env(), r, &err) : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_emit_report(r, j.json, &err);
    report_free(r);
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
               "The text shows the chips against the rules, each chip's numbers and the reasons,\n"
               "one line per clause; --json gives one object per chip and rule under \"results\",\n"
               "with the deciding clause's citation.\n"
               "Example: megasim export-check --chip H100,H800,H20 --rule oct2023\n",
    .table = &jexport_check_options,
};

static int run_derive(const cli_cmd *cmd, int argc, char **argv)
{
    jexport_derive_job j = {0};
    int npos, ex = cli_parse_job(cmd, &j, argc, argv, NULL, &npos);
    if (ex >= 0)
        return ex;
    ms_err err = {0};
    report *r = report_new();
    jexport_derive_out *out = malloc(sizeof *out);
    int rc = r && out ? jexport_derive_run(&j, cli_env(), r, out, &err)
                      : ms_errf(&err, MS_ENOMEM, "out of memory");
    if (!rc && j.dry_run) {
        chip_csv_header(stdout);
        chip_csv_row(stdout, &out->chip.c);
    } else if (!rc) {
        if (out->same_at[0])
            fprintf(stderr,
                    "megasim derive: %s exists already with the same derivation (%s); "
                    "nothing written\n",
                    out->chip.c.name, out->same_at);
        rc = cli_emit_report(r, j.json, &err);
    }
    if (out)
        jexport_derive_out_clear(out);
    free(out);
    report_free(r);
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
               "parent's own first); its export verdicts are printed as export-check prints\n"
               "them (with --json, under \"export\"). The same derivation run again writes\n"
               "nothing; --force replaces a derived chip of the same name with a new\n"
               "derivation. A derived chip has no power levels in hwdb/power.csv,\n"
               "so power and ownership cost are not reported for it.\n"
               "Example: megasim derive --from H100 --name H800x --set scale_up_bw=400GB/s\n",
    .table = &jexport_derive_options,
};
