/* xrule: export-control rules as data and the chip metrics they test.
 *
 * A rule set (hwdb/export_rules.csv) is a list of clauses; a clause is a
 * conjunction of conditions "metric op threshold"; a chip is controlled
 * by a rule when any of its clauses holds. Each clause names the item it
 * controls: an integrated circuit ("ic": the chips of hwdb/chips.csv) or
 * high-bandwidth memory sold on its own ("hbm", the December 2024 rule's
 * 3A090.c, which excludes HBM co-packaged with a logic chip).
 *
 * Metrics, from a chip's datasheet figures:
 *  - tpp: Total Processing Performance, 2 x MacTOPS x bit length = dense
 *    TOPS (or TFLOPS) x bits, the largest over the chip's precisions
 *    (3A090 Technical Note 1);
 *  - performance_density: tpp over the applicable die area in mm^2;
 *  - io_GBps: aggregate bidirectional I/O to chips other than memory,
 *    scale-up links plus the host interface (the October 2022 rule);
 *  - scale_up_GBps: the scale-up links alone, both directions;
 *  - hbm_bw_GBps, hbm_GB: memory bandwidth and capacity;
 *  - memory_bw_density: GB/s per mm^2 of an HBM package or stack, for
 *    clauses on HBM sold on its own; unknown for a chip (the database
 *    has no stack areas).
 * A figure the database leaves blank makes a metric a range (a lower
 * bound where parts are known), and a condition on a range is true,
 * false or undecided; a verdict says which clauses were undecided. */
#ifndef MS_XRULE_H
#define MS_XRULE_H

#include <stddef.h>

#include "core/err.h"
#include "core/prec.h"
#include "hw/chip.h"

typedef enum xrule_metric {
    XRULE_TPP,
    XRULE_PD,
    XRULE_IO,
    XRULE_SCALE_UP,
    XRULE_HBM_BW,
    XRULE_HBM_GB,
    XRULE_MEM_DENSITY,
    XRULE_METRICS
} xrule_metric;

const char *xrule_metric_name(xrule_metric m);
/* "tpp, performance_density, ...": for messages. */
const char *xrule_metric_list(void);

/* A metric's value: exact when lo == hi; hi may be INFINITY. */
typedef struct xrule_range {
    double lo, hi;
} xrule_range;

xrule_range xrule_metric_of(const chip *c, xrule_metric m);

/* TPP of c and the precision it is taken at (NAN and MS_PREC_COUNT when
 * the chip has no dense peak at all). */
double xrule_tpp(const chip *c, ms_prec *at);

typedef enum xrule_tri { XRULE_FALSE = 0, XRULE_TRUE = 1, XRULE_UNDECIDED = -1 } xrule_tri;

typedef struct xrule_cond {
    xrule_metric metric;
    int op; /* '>' ">=": 'g' and 'G'; '<' "<=": 'l' and 'L' */
    double threshold;
} xrule_cond;

#define XRULE_MAX_CONDS 4

typedef struct xrule_clause {
    char name[32]; /* "3A090.a.1" */
    char item[8];  /* "ic" or "hbm" */
    char citation[400];
    xrule_cond cond[XRULE_MAX_CONDS];
    size_t ncond;
} xrule_clause;

#define XRULE_MAX_CLAUSES 8

typedef struct xrule_rule {
    char name[32]; /* "oct2022" */
    xrule_clause clause[XRULE_MAX_CLAUSES];
    size_t nclause;
} xrule_rule;

typedef struct xrule_set xrule_set;

/* Loads a rules CSV (columns rule, clause, item, metric, op, threshold,
 * citation; one row per condition, rows of one clause together). Fails
 * naming file, line and column for an unknown metric, op or item, a
 * threshold that is not a finite number, a blank rule, clause or
 * citation, or too many clauses or conditions. Caller frees. */
int xrule_load(const char *path, xrule_set **out, ms_err *err);
void xrule_free(xrule_set *s); /* NULL is a no-op */

size_t xrule_count(const xrule_set *s);
const xrule_rule *xrule_at(const xrule_set *s, size_t i);
/* The rule named name, or MS_ENOTFOUND listing the names there are. */
int xrule_find(const xrule_set *s, const char *name, const xrule_rule **out, ms_err *err);

/* One condition, one clause on a chip: false for a clause on an item
 * other than "ic". */
xrule_tri xrule_cond_eval(const xrule_cond *k, const chip *c);
xrule_tri xrule_clause_eval(const xrule_clause *cl, const chip *c);

typedef struct xrule_verdict {
    xrule_tri controlled;
    const xrule_clause *clause; /* the first clause that holds; NULL if none */
    /* What decided it, in words with the numbers: "tpp 15831 >= 4800"
     * for the clause that holds; otherwise, per clause, the condition
     * that fails or the one left undecided. */
    char why[512];
} xrule_verdict;

xrule_verdict xrule_check(const xrule_rule *r, const chip *c);

#endif
