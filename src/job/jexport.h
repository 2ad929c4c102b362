/* jexport: the export jobs. export-check: which rules of an export-rules
 * file control which chips, by which clause, with the numbers the rule
 * tests. derive: a what-if chip made from another (policy/derive), added
 * to a chips file (by default the user's derived chips) where every
 * command finds it, with its export verdicts.
 *
 * Both reports hold, in JSON, the verdicts as one object per chip and
 * rule (chip, rule, controlled: true, false or null when undecided,
 * clause, tpp and its precision, the metrics with NAME_at_least where
 * only a lower bound is known, why, the clause's citation, a derived
 * chip's lineage); that array is left out of the text, which shows the
 * same verdicts as the group "summary": a table of chips against rules,
 * a table of each chip's numbers and the reasons, one line per clause. */
#ifndef MS_JEXPORT_H
#define MS_JEXPORT_H

#include <stdint.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "policy/derive.h"
#include "policy/xrule.h"
#include "report/report.h"

#define JEXPORT_MAX_CHIPS   256 /* chips one export-check looks at; --all stops there */
#define JEXPORT_MAX_CHANGES 16  /* --set and --scale of one derive, together */

typedef struct jexport_check_job {
    jopt_list chip;    /* comma-separated lists of chip names */
    int all;           /* every chip of the database instead */
    const char *rule;  /* a rule's name, or "all" (any case) */
    const char *rules; /* the rules file; NULL: home/hwdb/export_rules.csv */
    jopt_list chips;   /* chip files; none: hwdb/chips.csv + the derived chips */
    int json;
    jopt_given_set given;
} jexport_check_job;

extern const jopt_table jexport_check_options;

/* Runs j, filling r with the inputs, the table "results" (one row per
 * chip and rule, JSON only) and the group "summary". Fails with MS_EUSAGE
 * unless exactly one of chip and all is given, else naming the chip, rule
 * or file at fault. */
int jexport_check_run(const jexport_check_job *j, const jenv *env, report *r, ms_err *err);

typedef struct jexport_derive_job {
    const char *from;  /* the parent chip */
    const char *name;  /* the new chip's */
    jopt_list set;     /* "FIELD=VALUE", applied first */
    jopt_list scale;   /* "FIELD=FACTOR", after the set ones */
    const char *out;   /* the chips file to add it to; NULL: env->derived_path */
    int force;         /* replace a derived chip of that name in out */
    int dry_run;       /* write nothing */
    const char *rules; /* as in jexport_check_job */
    jopt_list chips;
    int json;
    jopt_given_set given;
} jexport_derive_job;

extern const jopt_table jexport_derive_options;

typedef struct jexport_derive_out {
    derive_chip chip;   /* the new chip; chip.c points into it and into db, so out must not move */
    chip_db *db;        /* the chips read, which chip.c borrows from; owned (see _clear) */
    char file[4096];    /* the chips file it went to (or would go to, on a dry run) */
    int written;        /* 1: file was written; 0: dry run, or it held the chip already */
    char same_at[4200]; /* "FILE:LINE" of the same derivation found there already; else "" */
} jexport_derive_out;

/* Runs j: applies the changes to the parent and, unless j->dry_run or
 * the same derivation (same parent, same changes) is there already,
 * writes out->file: its other chips as they were, then the new one,
 * through a temporary file beside it renamed over it, creating the
 * directories above it; a failure leaves it as it was. A name already
 * taken is MS_EINVAL, unless it is the same derivation, or a derived chip
 * of that file and j->force. Fills r with the inputs, the chip (chip,
 * derived_from, derivation, file, written, use), the table "export" (its
 * verdicts under every rule, JSON only) and the group "summary"; and out
 * (the caller's; filled as far as the run got, whether it failed or not:
 * call jexport_derive_out_clear after either). */
int jexport_derive_run(const jexport_derive_job *j, const jenv *env, report *r,
                       jexport_derive_out *out, ms_err *err);

/* Frees what out holds (its database: out->chip.c is then unusable), not
 * out itself. */
void jexport_derive_out_clear(jexport_derive_out *out);

/* A verdict's values (chip, rule, controlled, clause, TPP and the
 * metrics, why, citation, lineage) added to r where it stands: JSON keys
 * as export-check --json gives them. */
void jexport_verdict_values(report *r, const xrule_rule *rule, const chip *c,
                            const xrule_verdict *v);

#endif
