/* fpub: a published breakdown of a run's interruptions (a CSV such as
 * Meta's Table 5 for Llama 3), each published category tied to the
 * components of the failure database (src/train/fdb) that count it, and
 * megasim's predicted interruptions set beside it group by group.
 *
 * The file's columns are category, interruptions, components, source.
 * components names one or more fdb components joined by '+' (compared
 * together, as a published row that counts both, "switch and cable", must
 * be), or is blank for a category megasim has no rate for. Rows naming
 * the same components form one group; a component may sit in one group
 * only. Strings are borrowed from the fpub. */
#ifndef MS_FPUB_H
#define MS_FPUB_H

#include <stddef.h>

#include "core/err.h"
#include "train/fdb.h"

typedef struct fpub fpub;

/* Loads path: every column present and no other, category and source not
 * blank, interruptions a number >= 0, at least one row. MS_EIO, MS_EPARSE
 * or MS_EINVAL naming file, line and column. Caller frees. */
int fpub_load(const char *path, fpub **out, ms_err *err);
void fpub_free(fpub *p); /* NULL ok */

/* One group of the comparison. */
typedef struct fpub_group {
    char components[160]; /* "gpu", "link + switch"; "not modelled" for blank rows */
    char categories[640]; /* the published rows, "faulty GPU 148, HBM3 72" */
    double published;     /* the rows' sum; NAN for components no row names */
    double predicted;     /* the components' predicted sum; NAN when not modelled */
    int modelled;         /* 0: the blank rows' group */
} fpub_group;

/* Groups p's rows against db, predicted_by_kind[k] being megasim's
 * interruptions of fdb_at(db, k): the groups in the order the file first
 * names them, then each db component no row names (published NAN), then
 * the rows megasim does not model. Fails with MS_EINVAL naming p's file,
 * line and column for a component db does not have or one named in two
 * groups, or when more than cap groups are needed. */
int fpub_compare(const fpub *p, const fdb *db, const double *predicted_by_kind, fpub_group *g,
                 size_t cap, size_t *ng, ms_err *err);

/* The published total, every row. */
double fpub_total(const fpub *p);

/* The file's path as given to fpub_load. */
const char *fpub_path(const fpub *p);

#endif
