/* calib: efficiency factors (the fraction of datasheet peak a real kernel
 * reaches) per chip family, operation kind and precision, read from
 * hwdb/efficiency.csv. Each row carries the kernel-level measurement it
 * comes from; whole-system results never go in here. */
#ifndef MS_CALIB_H
#define MS_CALIB_H

#include "core/err.h"
#include "core/prec.h"
#include "hw/chip.h"
#include "hw/roofline.h"

typedef struct calib calib;

/* Loads and validates an efficiency CSV (columns family, op_kind,
 * precision, compute_eff, memory_eff, overhead_us, measured_on, source).
 * Efficiencies are in (0, 1] or blank; overhead_us >= 0 or blank; op_kind
 * is one of calib_kinds(); precision is a precision name or '*'. Errors
 * name file, line and column. */
int calib_load(const char *path, calib **out, ms_err *err);

void calib_free(calib *cal); /* NULL is a no-op */

/* Efficiencies for an op of kind at prec on c: each of compute, memory and
 * overhead from the row for (c->family, kind, prec), else the row for
 * (family, kind, any precision), else, for a refined kind, the same two
 * lookups for its base kind, else 1 (or 0 s) with a NULL source. cal
 * may be NULL (no calibration: peak everywhere). measured_on names the
 * chips of the first row used, so a caller can say when a chip borrows
 * its family's figures. Strings are borrowed from cal. */
roof_eff calib_eff(const calib *cal, const chip *c, const char *kind, ms_prec prec);

/* 1 if kind is an operation kind calibration knows. */
int calib_kind_ok(const char *kind);

/* kind's name as a string that lives as long as the program, or NULL
 * for an unknown kind. */
const char *calib_kind_find(const char *kind);

/* The base kind of kind: itself for gemm, stream, attention and launch;
 * for a refined kind, the kind it is a class of (gemm_train: the GEMMs of
 * a training step, forward and backward, -> gemm; attention_bwd ->
 * attention; attention_decode: decode steps' attention over a paged KV
 * cache, one or two queries a sequence (FlashMLA's kind) -> attention; quant: FP8 cast, transpose
 * and quantize kernels -> stream). NULL for an unknown kind. */
const char *calib_kind_base(const char *kind);

/* "gemm, stream, attention, ...": for messages. */
const char *calib_kinds(void);

#endif
