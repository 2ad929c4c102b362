/* jchips: the chip database as jobs. `chips` lists every chip; `chip NAME`
 * gives one chip in full with its ridge points per precision (at datasheet
 * peaks, and with the gemm calibration of hwdb/efficiency.csv). Figures are
 * the database's, in SI units (FLOP/s, bytes, bytes/s, watts); a figure the
 * database leaves blank stays unknown (NAN: "-" in text, null in JSON).
 *
 * The JSON keeps the shape these commands always had (one object per chip,
 * peaks and ridge points as objects keyed by precision); the text is a
 * compact view of it. Report values are one number each, so the views a
 * person reads that JSON does not have in that shape are added beside it:
 * chips' table under "summary", chip's per-precision table under
 * "precisions" (the same figures, by row); lines that are text only (a
 * chip's heading, its source, its estimated columns) are group titles. */
#ifndef MS_JCHIPS_H
#define MS_JCHIPS_H

#include "job/jenv.h"
#include "job/jopt.h"
#include "report/report.h"

/* megasim chips */
typedef struct jchips_job {
    int json;
    jopt_list chips; /* chip files; none: hwdb/chips.csv and the derived chips */
    jopt_given_set given;
} jchips_job;

extern const jopt_table jchips_options;

/* Fills r with the inputs, the table "results" (every chip, all its
 * figures; JSON only), the table "summary" (the figures the text shows,
 * one row per chip) and a note. Fails naming the file at fault. */
int jchips_run(const jchips_job *j, const jenv *env, report *r, ms_err *err);

/* megasim chip NAME */
typedef struct jchip_job {
    const char *name; /* the chip (the positional argument); NULL: none given */
    int json;
    jopt_list chips;        /* chip files, as jchips_job's */
    const char *efficiency; /* calibration file; NULL: hwdb/efficiency.csv */
    int peak;               /* 1: no calibration, ridge points at datasheet peaks only */
    jopt_given_set given;
} jchip_job;

extern const jopt_table jchip_options;

/* Fills r with the inputs and the chip named j->name: every figure at the
 * top level as "chips" gives it, "ridge_flop_per_byte" and
 * "ridge_flop_per_byte_gemm_calibrated" (objects keyed by precision) and
 * the table "precisions". MS_EUSAGE without a name; MS_ENOTFOUND for an
 * unknown chip (listing the database's); file errors name the file. */
int jchip_run(const jchip_job *j, const jenv *env, report *r, ms_err *err);

#endif
