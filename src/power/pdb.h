/* pdb: the power and cost database, hwdb/power.csv and hwdb/costs.csv.
 * power.csv gives, per chip, a GPU's draw in each kind of work (dense
 * matrix work, memory-bound work, communication, idle) and the rest of
 * its server; costs.csv gives facility and ownership figures as key/value
 * rows (PUE, prices, lives, energy price). Every figure names its source
 * and says whether it is an estimate; hwdb/README.md documents both files.
 * Watts are held as watts (the SI unit the files use), prices in US
 * dollars; a blank figure is NAN, never zero. */
#ifndef MS_PDB_H
#define MS_PDB_H

#include <stddef.h>

#include "core/err.h"
#include "hw/chip.h"

/* One row of power.csv. Strings are borrowed from the pdb and live as
 * long as it does. */
typedef struct pdb_chip {
    const char *chip;                                  /* as in chips.csv */
    double matrix_W, memory_W, comm_W, idle_W;         /* one GPU; NAN when blank */
    double node_gpus, node_other_W, node_other_idle_W; /* one server; NAN when blank */
    const char *estimated, *source;                    /* estimated: ';'-separated columns */
    int line;                                          /* line of power.csv */
} pdb_chip;

typedef struct pdb pdb;

/* Loads hwdb/power.csv and hwdb/costs.csv. Every column must be present
 * and no other; numbers must be positive, finite and within physical
 * bounds, blank only where hwdb/README.md allows it; chips and keys must be
 * unique (case-insensitively) and keys known. Fails with MS_EIO, MS_EPARSE
 * or MS_EINVAL and a message naming file, line and column. Caller frees
 * with pdb_free. */
int pdb_load(const char *power_csv, const char *costs_csv, pdb **out, ms_err *err);
void pdb_free(pdb *db); /* NULL ok */

/* The row of chip (case-insensitive), or NULL. Borrowed. */
const pdb_chip *pdb_chip_find(const pdb *db, const char *chip);
size_t pdb_chip_count(const pdb *db);
const pdb_chip *pdb_chip_at(const pdb *db, size_t i); /* borrowed; NULL past the end */

/* A cost/facility value by key (case-insensitive): MS_OK and *out (and
 * *source if non-NULL, borrowed), or MS_EINVAL "hwdb/costs.csv has no
 * 'key' (...)" naming the file. */
int pdb_value(const pdb *db, const char *key, double *out, const char **source, ms_err *err);
/* 1 if key is present. */
int pdb_has(const pdb *db, const char *key);
/* 1 if key is present and marked estimated in costs.csv. */
int pdb_value_estimated(const pdb *db, const char *key);

/* Checks each power row against the chip database: the chip exists and
 * no GPU figure exceeds its tdp_W; errors name power.csv:line. Also checks
 * that every chip-suffixed cost key (server_usd.X, rack_usd.X, rack_gpus.X,
 * gpu_hour_usd.X) names a chip; those errors name costs.csv:line. */
int pdb_check_chips(const pdb *db, const chip_db *chips, ms_err *err);

#endif
