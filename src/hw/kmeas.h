/* kmeas: kernel-level measurements (ours from validation/run, and
 * published ones from papers and kernel libraries) read from CSV, and
 * megasim's prediction of each. A row is measured either with its shape
 * (FLOPs and bytes known: the roofline times it) or as a best-case rate
 * with no shape ("up to 3000 GB/s"), which is held against peak x eta. */
#ifndef MS_KMEAS_H
#define MS_KMEAS_H

#include <stddef.h>

#include "core/err.h"
#include "core/prec.h"
#include "hw/chip.h"
#include "hw/roofline.h"

typedef enum kmeas_metric {
    KMEAS_FLOP_RATE, /* FLOP/s: GEMM and attention rows */
    KMEAS_BYTE_RATE, /* bytes/s: stream rows, memory-bound best cases */
    KMEAS_TIME,      /* seconds: launch rows */
} kmeas_metric;

typedef struct kmeas_row {
    const chip *chip; /* borrowed from the chip_db given to kmeas_new */
    char kernel[64];
    char kind[24]; /* a calibration kind: calib_kinds() */
    char shape[64];
    ms_prec prec;
    double m, n, k, count; /* GEMM shape, count of such products; NAN when not a GEMM */
    double flops, bytes;   /* NAN for a best-case row without a shape */
    kmeas_metric metric;
    double measured; /* in the metric's unit */
    char source[160];
    char file[128];
    int line;
} kmeas_row;

typedef struct kmeas_set kmeas_set;

/* A set of rows for chips in db (borrowed; must outlive the set). Device
 * names in measured files are mapped to chips by devices_csv (columns
 * device_name, chip, note). */
int kmeas_new(const chip_db *db, const char *devices_csv, kmeas_set **out, ms_err *err);
void kmeas_free(kmeas_set *set); /* NULL is a no-op */

/* Adds every row of path: a published table (a 'chip' column and a
 * 'source' column) or a results file of validation/run (a 'device'
 * column). Fails naming file, line and column for a missing column, an
 * unknown chip or device, a bad number or a row that cannot be predicted
 * (a plain GEMM without M, N, K; a row with neither a time nor a rate).
 * An optional 'sms_used' column gives the SMs the kernels ran on when
 * communication held the rest: the rate is scaled to the whole chip. */
int kmeas_add_file(kmeas_set *set, const char *path, ms_err *err);

size_t kmeas_count(const kmeas_set *set);
const kmeas_row *kmeas_at(const kmeas_set *set, size_t i);

/* megasim's prediction of r with efficiencies eff, in r's metric; NAN if
 * there is nothing to predict it with (a launch row with no overhead
 * calibrated, a precision the chip lacks). */
double kmeas_predict(const kmeas_row *r, const roof_eff *eff);

/* The calibration key of a row: its kind and precision, with precision
 * meaningless (-1) for stream and launch rows. */
int kmeas_prec_key(const kmeas_row *r);

#endif
