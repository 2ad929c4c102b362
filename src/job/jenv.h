/* jenv: where a job finds its data (hwdb/, workloads/, scenarios/, ...)
 * and the user's derived chips, and the loads every job shares from
 * there: the chip database and the chips a --chip list names. The command
 * layer fills one in (it knows where the binary and the user are); jobs
 * only read it. */
#ifndef MS_JENV_H
#define MS_JENV_H

#include <stddef.h>

#include "core/err.h"
#include "hw/chip.h"
#include "job/jopt.h"

typedef struct jenv {
    const char *home;         /* the data directory; "." for the working directory */
    const char *derived_path; /* the user's derived chips (read when it exists); NULL: none */
    const char *version;      /* megasim's, for the reports */
} jenv;

/* home/rel (rel alone when home is ".") into buf; MS_EINVAL if too long. */
int jenv_path(const jenv *e, const char *rel, char *buf, size_t cap, ms_err *err);

/* A file a user named: path as given when it exists or is absolute, else
 * home/path when that exists (written into buf), else path. */
const char *jenv_find(const jenv *e, const char *path, char *buf, size_t cap);

/* The chip database: the files listed (each found as jenv_find does; the
 * later ones added to the first), or, with none, home/hwdb/chips.csv and
 * the user's derived chips. */
int jenv_load_chips(const jenv *e, const jopt_list *files, chip_db **db, ms_err *err);

/* The chips of comma-separated lists (repeated --chip), in order: at most
 * cap. MS_ENOTFOUND lists the database's names; MS_EUSAGE a bad list. */
int jenv_select_chips(const chip_db *db, const jopt_list *lists, const chip **out, size_t cap,
                      size_t *n, ms_err *err);

#endif
