/* jexport: see jexport.h. */
#include "job/jexport.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/afile.h"
#include "policy/xrule.h"

#define RULES_ROW(T)                                                                               \
    {                                                                                              \
        "rules", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(T, rules),                 \
            "export rules to read (default: hwdb/export_rules.csv)"                                \
    }
#define CHIPS_ROW(T)                                                                               \
    {                                                                                              \
        "chips", JOPT_LIST, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(T, chips),                \
            "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"                 \
    }

static const jopt check_rows[] = {
    {"chip", JOPT_LIST, "LIST", NULL, NULL, NAN, NAN, NULL, offsetof(jexport_check_job, chip),
     "chips to check, comma-separated, repeatable"},
    {"all", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jexport_check_job, all),
     "check every chip of the database"},
    {"rule", JOPT_STR, "NAME", NULL, "all", NAN, NAN, NULL, offsetof(jexport_check_job, rule),
     "a rule of the rules file, or all"},
    RULES_ROW(jexport_check_job),
    CHIPS_ROW(jexport_check_job),
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jexport_check_job, json),
     "print JSON: the verdicts as \"results\", one object per chip and rule"},
};

const jopt_table jexport_check_options = {.rows = check_rows,
                                          .n = sizeof check_rows / sizeof check_rows[0],
                                          .track_given = 1,
                                          .given_off = offsetof(jexport_check_job, given)};

static const jopt derive_rows[] = {
    {"from", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, offsetof(jexport_derive_job, from),
     "the chip to start from (a datasheet or derived chip)"},
    {"name", JOPT_STR, "NAME", NULL, NULL, NAN, NAN, NULL, offsetof(jexport_derive_job, name),
     "the new chip's name (no spaces or commas)"},
    {"set", JOPT_LIST, "FIELD=VALUE", NULL, NULL, NAN, NAN, NULL, offsetof(jexport_derive_job, set),
     "set a figure, with its unit: scale_up_bw=400GB/s (repeatable)"},
    {"scale", JOPT_LIST, "FIELD=FACTOR", NULL, NULL, NAN, NAN, NULL,
     offsetof(jexport_derive_job, scale),
     "scale a figure: flops=0.33 (repeatable; after the --set "
     "ones)"},
    {"out", JOPT_STR, "FILE", NULL, NULL, NAN, NAN, NULL, offsetof(jexport_derive_job, out),
     "chip file to add it to (default: derived.csv in the user directory)"},
    {"force", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jexport_derive_job, force),
     "replace a derived chip of the same name"},
    {"dry-run", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jexport_derive_job, dry_run),
     "print the chip's row, write nothing"},
    RULES_ROW(jexport_derive_job),
    CHIPS_ROW(jexport_derive_job),
    {"json", JOPT_FLAG, NULL, NULL, NULL, NAN, NAN, NULL, offsetof(jexport_derive_job, json),
     "print the new chip and its export verdicts as JSON"},
};

const jopt_table jexport_derive_options = {.rows = derive_rows,
                                           .n = sizeof derive_rows / sizeof derive_rows[0],
                                           .track_given = 1,
                                           .given_off = offsetof(jexport_derive_job, given)};

/* The rules file named, found as other data files are, or the database's. */
static int load_rules(const jenv *env, const char *file, xrule_set **rules, ms_err *err)
{
    char path[4096];
    if (file)
        return xrule_load(jenv_find(env, file, path, sizeof path), rules, err);
    int rc = jenv_path(env, "hwdb/export_rules.csv", path, sizeof path, err);
    return rc ? rc : xrule_load(path, rules, err);
}

/* ---- the verdicts as report values ---- */

/* The rules a run reports: one of the set, or all of them. */
typedef struct rule_list {
    const xrule_set *set;
    const xrule_rule *only; /* NULL: every rule of set */
} rule_list;

static size_t rules_count(const rule_list *l)
{
    return l->only ? 1 : xrule_count(l->set);
}

static const xrule_rule *rules_at(const rule_list *l, size_t k)
{
    return l->only ? l->only : xrule_at(l->set, k);
}

/* A metric: its value, or null with NAME_at_least beside it where a lower
 * bound is known. */
static void metric_value(report *r, const char *key, xrule_range m, const char *unit)
{
    /* The key names the unit (io_GBps): the figure is drawn as a number, so
     * that no prefix lands on a prefixed unit ("1.028 kGB/s"). */
    (void)unit;
    unit = "";
    if (m.lo == m.hi) {
        report_num(r, key, NULL, m.lo, unit);
        return;
    }
    report_num(r, key, NULL, NAN, unit);
    if (m.lo > 0) {
        char k[64];
        snprintf(k, sizeof k, "%s_at_least", key);
        report_num(r, k, NULL, m.lo, unit);
    }
}

/* One row of "results" (or "export"): every key the export commands'
 * JSON has carried, in its order. */
static void verdict_row(report *r, const xrule_rule *rule, const chip *c, const xrule_verdict *v)
{
    report_row(r);
    jexport_verdict_values(r, rule, c, v);
}

void jexport_verdict_values(report *r, const xrule_rule *rule, const chip *c,
                            const xrule_verdict *v)
{
    ms_prec at;
    double tpp = xrule_tpp(c, &at);
    report_str(r, "chip", NULL, c->name);
    report_str(r, "rule", NULL, rule->name);
    if (v->controlled == XRULE_UNDECIDED)
        report_str(r, "controlled", NULL, NULL);
    else
        report_bool(r, "controlled", NULL, v->controlled == XRULE_TRUE);
    report_str(r, "clause", NULL, v->clause ? v->clause->name : NULL);
    report_num(r, "tpp", "TPP", isfinite(tpp) ? tpp : NAN, "");
    if (at < MS_PREC_COUNT)
        report_str(r, "tpp_precision", NULL, ms_prec_name(at));
    metric_value(r, "performance_density", xrule_metric_of(c, XRULE_PD), "TPP/mm2");
    metric_value(r, "io_GBps", xrule_metric_of(c, XRULE_IO), "GB/s");
    metric_value(r, "scale_up_GBps", xrule_metric_of(c, XRULE_SCALE_UP), "GB/s");
    metric_value(r, "hbm_bw_GBps", xrule_metric_of(c, XRULE_HBM_BW), "GB/s");
    metric_value(r, "hbm_GB", xrule_metric_of(c, XRULE_HBM_GB), "GB");
    report_str(r, "why", NULL, v->why);
    if (v->clause)
        report_str(r, "citation", NULL, v->clause->citation);
    if (c->derived_from && c->derived_from[0]) {
        report_str(r, "derived_from", NULL, c->derived_from);
        report_str(r, "derivation", NULL, c->derivation);
    }
}

/* The table of verdict objects under key, left out of the text. */
static void verdict_table(report *r, const char *key, const chip *const *chips, size_t nchips,
                          const rule_list *rules)
{
    report_begin_hidden(r, NULL);
    report_table(r, key, NULL);
    for (size_t i = 0; i < nchips; i++)
        for (size_t k = 0; k < rules_count(rules); k++) {
            xrule_verdict v = xrule_check(rules_at(rules, k), chips[i]);
            verdict_row(r, rules_at(rules, k), chips[i], &v);
        }
    report_table_end(r);
    report_end(r);
}

/* A figure in GB/s or GB (xrule's units) in SI units, NAN when unknown. */
static double si_of(xrule_range m, double scale)
{
    return m.lo == m.hi ? m.lo * scale : NAN;
}

/* The chips against the rules: "controlled (CLAUSE)", "not controlled"
 * or "undecided". */
static void summary_verdicts(report *r, const chip *const *chips, size_t nchips,
                             const rule_list *rules)
{
    report_table(r, "verdicts", "verdicts (controlled, and by which clause)");
    for (size_t i = 0; i < nchips; i++) {
        report_row(r);
        report_str(r, "chip", NULL, chips[i]->name);
        for (size_t k = 0; k < rules_count(rules); k++) {
            const xrule_rule *rule = rules_at(rules, k);
            xrule_verdict v = xrule_check(rule, chips[i]);
            char cell[64];
            if (v.clause)
                snprintf(cell, sizeof cell, "controlled (%s)", v.clause->name);
            else
                snprintf(cell, sizeof cell, "%s",
                         v.controlled == XRULE_FALSE ? "not controlled" : "undecided");
            report_str(r, rule->name, NULL, cell);
        }
    }
    report_table_end(r);
}

/* Each chip's numbers, in SI units for the text to scale. */
static void summary_metrics(report *r, const chip *const *chips, size_t nchips)
{
    int io_ranges = 0; /* a column of lower bounds, beside I/O, where some chip has one */
    for (size_t i = 0; i < nchips; i++) {
        xrule_range io = xrule_metric_of(chips[i], XRULE_IO);
        io_ranges |= io.lo != io.hi && io.lo > 0;
    }
    report_table(r, "metrics",
                 "the numbers (TPP: dense TOPS x bits, best precision; density: TPP per mm2 of "
                 "die; I/O: scale-up + host, both directions)");
    for (size_t i = 0; i < nchips; i++) {
        const chip *c = chips[i];
        ms_prec at;
        double tpp = xrule_tpp(c, &at);
        xrule_range io = xrule_metric_of(c, XRULE_IO);
        report_row(r);
        report_str(r, "chip", NULL, c->name);
        /* As the reasons give it: 15831.2, not 15.83 k. */
        report_num(r, "tpp", "TPP", isfinite(tpp) ? tpp : NAN, "plain");
        report_str(r, "tpp_precision", "at", at < MS_PREC_COUNT ? ms_prec_name(at) : NULL);
        report_num(r, "performance_density", "density", si_of(xrule_metric_of(c, XRULE_PD), 1), "");
        report_num(r, "io_Bps", "I/O", si_of(io, 1e9), "B/s");
        if (io_ranges)
            report_num(r, "io_at_least_Bps", "I/O at least",
                       io.lo != io.hi && io.lo > 0 ? io.lo * 1e9 : NAN, "B/s");
        report_num(r, "scale_up_Bps", "scale-up", si_of(xrule_metric_of(c, XRULE_SCALE_UP), 1e9),
                   "B/s");
        report_num(r, "hbm_bw_Bps", "HBM bandwidth", si_of(xrule_metric_of(c, XRULE_HBM_BW), 1e9),
                   "B/s");
        /* In GB as datasheets give it (bytes would show in GiB). */
        report_num(r, "hbm_GB", "HBM", si_of(xrule_metric_of(c, XRULE_HBM_GB), 1), "GB");
        if (c->derived_from && c->derived_from[0])
            report_str(r, "derivation", NULL, c->derivation);
    }
    report_table_end(r);
}

/* The reasons, one line per clause: xrule separates them with "; ". */
static void summary_why(report *r, const chip *const *chips, size_t nchips, const rule_list *rules)
{
    report_table(r, "why",
                 "why (the clause that decides, else each clause's failing or undecided "
                 "condition; citations in --json)");
    for (size_t i = 0; i < nchips; i++)
        for (size_t k = 0; k < rules_count(rules); k++) {
            xrule_verdict v = xrule_check(rules_at(rules, k), chips[i]);
            for (const char *p = v.why; *p;) {
                const char *end = strstr(p, "; ");
                int len = end ? (int)(end - p) : (int)strlen(p);
                char part[sizeof v.why];
                snprintf(part, sizeof part, "%.*s", len, p);
                report_row(r);
                report_str(r, "chip", NULL, chips[i]->name);
                report_str(r, "rule", NULL, rules_at(rules, k)->name);
                report_str(r, "reason", NULL, part);
                p += len + (end ? 2 : 0);
            }
        }
    report_table_end(r);
}

/* The group "summary", the text's view of the verdicts: chips against
 * rules, each chip's numbers, the reasons. */
static void summary(report *r, const chip *const *chips, size_t nchips, const rule_list *rules)
{
    report_begin(r, "summary", NULL);
    summary_verdicts(r, chips, nchips, rules);
    summary_metrics(r, chips, nchips);
    summary_why(r, chips, nchips, rules);
    report_end(r);
}

/* ---- export-check ---- */

int jexport_check_run(const jexport_check_job *j, const jenv *env, report *r, ms_err *err)
{
    if (j->all == (j->chip.n > 0))
        return ms_errf(err, MS_EUSAGE,
                       "give --chip NAME[,NAME...] or --all (one of them) (see 'megasim "
                       "export-check --help')");
    chip_db *db = NULL;
    xrule_set *set = NULL;
    const chip *chips[JEXPORT_MAX_CHIPS];
    size_t nchips = 0;
    rule_list rules = {0};
    int rc = jenv_load_chips(env, &j->chips, &db, err);
    if (!rc)
        rc = load_rules(env, j->rules, &set, err);
    if (!rc && j->all) {
        for (size_t i = 0; i < chip_db_count(db) && nchips < JEXPORT_MAX_CHIPS; i++)
            chips[nchips++] = chip_db_at(db, i);
    } else if (!rc) {
        rc = jenv_select_chips(db, &j->chip, chips, JEXPORT_MAX_CHIPS, &nchips, err);
    }
    rules.set = set;
    if (!rc && strcasecmp(j->rule, "all") != 0)
        rc = xrule_find(set, j->rule, &rules.only, err);
    if (!rc) {
        report_version(r, env->version);
        jopt_report_inputs(&jexport_check_options, j, r);
        verdict_table(r, "results", chips, nchips, &rules);
        summary(r, chips, nchips, &rules);
    }
    xrule_free(set);
    chip_db_free(db);
    return rc;
}

/* ---- derive ---- */

/* The changes of --set then --scale. */
static int parse_changes(const jexport_derive_job *j, derive_change *ch, size_t *n, ms_err *err)
{
    *n = 0;
    for (int pass = 0; pass < 2; pass++) {
        const jopt_list *l = pass ? &j->scale : &j->set;
        for (int i = 0; i < l->n; i++) {
            if (*n == JEXPORT_MAX_CHANGES)
                return ms_errf(err, MS_EUSAGE, "at most %d changes", JEXPORT_MAX_CHANGES);
            int rc = derive_parse(l->v[i], pass, &ch[(*n)++], err);
            if (rc)
                return rc;
        }
    }
    if (*n == 0)
        return ms_errf(err, MS_EUSAGE,
                       "nothing to change: give --set FIELD=VALUE or --scale FIELD=FACTOR, with "
                       "FIELD one of %s",
                       derive_field_list());
    return MS_OK;
}

/* Creates the directories above path that do not exist yet. */
static int make_dirs_for(const char *path, ms_err *err)
{
    char dir[4096];
    int w = snprintf(dir, sizeof dir, "%s", path);
    if (w < 0 || (size_t)w >= sizeof dir)
        return ms_errf(err, MS_EINVAL, "path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return MS_OK;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return ms_errf(err, MS_EIO, "%s: cannot create the directory: %s", dir,
                           strerror(errno));
        *p = c;
        if (!c)
            break;
    }
    return MS_OK;
}

/* Writes every chip of db that came from path but d's name, then d, to
 * path, whole or not at all (src/io/afile). */
static int write_derived(const chip_db *db, const char *path, const chip *d, ms_err *err)
{
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    FILE *f = afile_stream(af);
    chip_csv_header(f);
    for (size_t i = 0; i < chip_db_count(db); i++) {
        const chip *c = chip_db_at(db, i);
        if (c->file && strcmp(c->file, path) == 0 && strcmp(c->name, d->name) != 0)
            chip_csv_row(f, c);
    }
    chip_csv_row(f, d);
    return afile_commit(af, err);
}

/* The chip database with the chips of the output file, when it exists
 * and is not among the files read already. */
static int load_with_out(const jexport_derive_job *j, const jenv *env, const char *out,
                         chip_db **db, ms_err *err)
{
    int rc = jenv_load_chips(env, &j->chips, db, err), loaded = 0;
    for (size_t i = 0; !rc && i < chip_db_count(*db); i++)
        loaded |= strcmp(chip_db_at(*db, i)->file, out) == 0;
    /* Only a file holds chips: a device (/dev/null, /dev/full) is written
     * to, never read (/dev/full would read as endless zeros). */
    struct stat st;
    if (!rc && !loaded && stat(out, &st) == 0 && S_ISREG(st.st_mode))
        rc = chip_db_add_file(*db, out, err);
    return rc;
}

/* The chip's identity, where it went and how to use it. */
static void report_derived(report *r, const jexport_derive_job *j, const jenv *env,
                           const jexport_derive_out *out)
{
    const chip *c = &out->chip.c;
    char use[8400], hwdb[4096];
    if (j->out && (!env->derived_path || strcmp(j->out, env->derived_path) != 0) &&
        jenv_path(env, "hwdb/chips.csv", hwdb, sizeof hwdb, NULL) == MS_OK)
        snprintf(use, sizeof use, "--chips %s --chips %s --chip %s", hwdb, out->file, c->name);
    else
        snprintf(use, sizeof use, "--chip %s (every command reads the derived chips)", c->name);
    report_str(r, "chip", NULL, c->name);
    report_str(r, "derived_from", "derived from", c->derived_from);
    report_str(r, "derivation", NULL, c->derivation);
    report_str(r, "file",
               out->written ? "written to"
               : j->dry_run ? "would go to"
                            : "already in",
               out->file);
    report_bool(r, "written", NULL, out->written);
    report_str(r, "use", "use it with", use);
}

void jexport_derive_out_clear(jexport_derive_out *out)
{
    chip_db_free(out->db);
    out->db = NULL;
}

int jexport_derive_run(const jexport_derive_job *j, const jenv *env, report *r,
                       jexport_derive_out *out, ms_err *err)
{
    memset(out, 0, sizeof *out);
    if (!j->from)
        return ms_errf(err, MS_EUSAGE, "--from is required (see megasim derive --help)");
    if (!j->name)
        return ms_errf(err, MS_EUSAGE, "--name is required (see megasim derive --help)");
    derive_change ch[JEXPORT_MAX_CHANGES];
    size_t nch;
    int rc = parse_changes(j, ch, &nch, err);
    if (rc)
        return rc;
    const char *path = j->out ? j->out : env->derived_path;
    if (!path)
        return ms_errf(err, MS_EINVAL,
                       "no user data directory: set MEGASIM_USER_DIR (or XDG_DATA_HOME or HOME)");
    if (strlen(path) >= sizeof out->file)
        return ms_errf(err, MS_EUSAGE, "--out: path too long: %s", path);
    snprintf(out->file, sizeof out->file, "%s", path);
    chip_db *db = NULL;
    xrule_set *set = NULL;
    const chip *parent = NULL;
    /* The output file is read, added to and written back by every derive:
     * its directory is locked from the read to the write, so concurrent
     * runs take turns and none drops another's chip. The directory is
     * made first, to be locked (a run that fails later leaves it). */
    int lock = -1;
    if (!j->dry_run && !(rc = make_dirs_for(out->file, err)))
        rc = afile_lock(out->file, &lock, err);
    if (!rc && !(rc = load_with_out(j, env, out->file, &db, err)) &&
        !(rc = chip_db_lookup(db, j->from, &parent, err)))
        rc = derive_apply(parent, j->name, ch, nch, &out->chip, err);
    /* A name already taken: the same derivation again is done already; a
     * derived chip of the output file may be replaced with --force; a
     * datasheet chip never. */
    const chip *taken = rc ? NULL : chip_db_find(db, j->name);
    int same = taken && strcmp(taken->derived_from, out->chip.c.derived_from) == 0 &&
               strcmp(taken->derivation, out->chip.c.derivation) == 0;
    int replace = taken && j->force && strcmp(taken->file, out->file) == 0;
    if (taken && !same && !replace)
        rc = ms_errf(err, MS_EUSAGE, "--name '%s': already a chip (%s:%d); choose another%s",
                     j->name, taken->file, taken->line,
                     strcmp(taken->file, out->file) == 0 ? ", or --force to replace it" : "");
    if (!rc)
        rc = load_rules(env, j->rules, &set, err);
    if (!rc && same && !replace)
        snprintf(out->same_at, sizeof out->same_at, "%s:%d", taken->file, taken->line);
    else if (!rc && !j->dry_run && !(rc = write_derived(db, out->file, &out->chip.c, err)))
        out->written = 1;
    afile_unlock(lock);
    if (!rc) {
        rule_list rules = {.set = set};
        const chip *self[1] = {&out->chip.c};
        report_version(r, env->version);
        jopt_report_inputs(&jexport_derive_options, j, r);
        report_derived(r, j, env, out);
        verdict_table(r, "export", self, 1, &rules);
        summary(r, self, 1, &rules);
    }
    xrule_free(set);
    out->db = db; /* the chip's borrowed strings live in it */
    return rc;
}
