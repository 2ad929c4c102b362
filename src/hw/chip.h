/* chip: one accelerator's datasheet, and the database of them read from
 * hwdb/chips.csv. Every figure is held in SI base units (FLOP/s, bytes,
 * bytes/s, watts); a figure the database leaves blank (unknown, or the
 * chip has no such precision) is NAN, never zero. */
#ifndef MS_CHIP_H
#define MS_CHIP_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "core/prec.h"

/* One row of chips.csv. Strings are borrowed from the chip_db that
 * holds the row and live as long as it does. */
typedef struct chip {
    const char *name;      /* short name typed by users: "H100" */
    const char *full_name; /* "H100 SXM5 80GB" */
    const char *vendor;
    const char *family;       /* calibration key: "hopper", "tpu-v5p", ... */
    const char *process_node; /* "" when unknown */
    const char *compute_unit_kind;
    const char *estimated;    /* columns whose figure is an estimate; "" if none */
    const char *source;       /* where the row's figures come from */
    const char *derived_from; /* a derived chip's parent ("" for a datasheet chip) */
    const char *derivation;   /* what was changed from it, the parent's own chain first */
    const char *file;         /* the file the row came from */
    int line;                 /* its line there */

    double year;
    double die_area_mm2;
    double compute_units;
    double peak_flop_per_s[MS_PREC_COUNT]; /* dense, no sparsity */
    double hbm_bytes;
    double hbm_bw_Bps;
    double l2_bytes;
    double scale_up_bw_Bps; /* per direction, per chip */
    double scale_up_domain_chips;
    double scale_out_bw_Bps; /* NIC line rate per chip, one direction */
    double host_io_bw_Bps;   /* host interface (PCIe), one direction */
    double tdp_W;
    double idle_W;
} chip;

typedef struct chip_db chip_db;

/* Loads and validates a chips CSV. Every column named in the file format
 * (hwdb/README.md) must be present and no other; every number must be a
 * positive finite figure within physical bounds or blank where allowed;
 * names must be unique (case-insensitively). Fails with MS_EIO, MS_EPARSE
 * or MS_EINVAL and a message naming file, line and column. Caller frees. */
int chip_db_load(const char *path, chip_db **out, ms_err *err);

/* Adds the chips of another file with the same columns (a file of
 * derived chips, say): names stay unique across files, and a derived
 * chip's parent must already be in db. On failure db keeps the chips it
 * had and may hold part of the file's. */
int chip_db_add_file(chip_db *db, const char *path, ms_err *err);

void chip_db_free(chip_db *db); /* NULL is a no-op */
size_t chip_db_count(const chip_db *db);
const chip *chip_db_at(const chip_db *db, size_t i); /* borrowed */

/* The chip named name (case-insensitive), or NULL. Borrowed. */
const chip *chip_db_find(const chip_db *db, const char *name);

/* Like chip_db_find, but an unknown name is MS_ENOTFOUND with a message
 * listing every chip the database has. */
int chip_db_lookup(const chip_db *db, const char *name, const chip **out, ms_err *err);

/* Writes "A100, H100, ..." into buf (truncated to cap). */
void chip_db_names(const chip_db *db, char *buf, size_t cap);

/* The header of a chips CSV, and c as a row of it (figures in the
 * file's units, blank where NAN, text quoted where it must be). */
void chip_csv_header(FILE *f);
void chip_csv_row(FILE *f, const chip *c);

/* Dense peak of c at precision p in FLOP/s (or OP/s for int8), NAN if
 * the chip has none or it is unknown. */
double chip_peak(const chip *c, ms_prec p);

#endif
