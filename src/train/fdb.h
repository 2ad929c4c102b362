/* fdb: the failure database, hwdb/failures.csv: per kind of component,
 * how often one of them interrupts a training job (failures per 1000 of
 * it a day), what it is counted per (a GPU, a node, a NIC link, a fabric
 * switch, the job), whether it takes a part to replace (a hot spare or
 * a repair) or only a restart, and how the job finds out: an error it
 * sees, or a hang that only a timeout ends. Every row names what it was measured on and
 * its source; hwdb/README.md documents the file. */
#ifndef MS_FDB_H
#define MS_FDB_H

#include <stddef.h>

#include "core/err.h"

typedef enum { FDB_GPU, FDB_NODE, FDB_LINK, FDB_SWITCH, FDB_JOB, FDB_PERS } fdb_per;

/* One row. Strings are borrowed from the fdb and live as long as it. */
typedef struct fdb_row {
    const char *component;
    fdb_per per;
    double per_1000_day; /* failures per 1000 units a day, > 0 */
    int needs_spare;
    int hangs; /* the job hangs until a timeout finds it; 0: it stops on an error it sees */
    const char *measured_on, *source;
    int estimated; /* the rate is an estimate */
    int line;      /* of the file */
} fdb_row;

typedef struct fdb fdb;

/* Loads path. Every column must be present and no other; a component
 * named once (case-insensitively); per one of gpu, node, link, switch,
 * job; the rate a number above 0 and below 1000 (a failure of each unit
 * every day); needs_spare yes or no; surfaces error or hang; estimated blank or
 * failures_per_1000_per_day; measured_on and source not blank. Fails with
 * MS_EIO, MS_EPARSE or MS_EINVAL naming file, line and column. Caller
 * frees with fdb_free. */
int fdb_load(const char *path, fdb **out, ms_err *err);
void fdb_free(fdb *db); /* NULL ok */

size_t fdb_count(const fdb *db);
const fdb_row *fdb_at(const fdb *db, size_t i); /* borrowed; NULL past the end */

/* The path given to fdb_load. */
const char *fdb_path(const fdb *db);

/* "gpu", "node", ... */
const char *fdb_per_name(fdb_per per);

#endif
