/* cexport: what the export commands (export-check, derive,
 * export-frontier) share: loading the rules and a verdict as words and
 * as JSON. */
#ifndef MS_CEXPORT_H
#define MS_CEXPORT_H

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "policy/xrule.h"

#define CEXPORT_RULES_OPT                                                                          \
    {                                                                                              \
        "--rules", "FILE", "export rules to read (default: hwdb/export_rules.csv)"                 \
    }
#define CEXPORT_CHIPS_OPT                                                                          \
    {                                                                                              \
        "--chips", "FILE", "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"  \
    }

/* Loads --rules, or home/hwdb/export_rules.csv. */
int cexport_load_rules(const cli_args *a, xrule_set **rules, ms_err *err);

/* "controlled", "not controlled" or "undecided". */
const char *cexport_verdict_word(xrule_tri t);

/* Adds to o: chip, rule, controlled (true, false or null when
 * undecided), clause (or null), tpp and its precision, the metrics (null
 * where unknown, with NAME_at_least where a lower bound is known), why,
 * the deciding clause's citation, and a derived chip's lineage. */
void cexport_verdict_json(cJSON *o, const xrule_rule *r, const chip *c, const xrule_verdict *v);

#endif
