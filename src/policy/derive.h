/* derive: a chip made from another by changing the figures an export
 * rule or a chip designer acts on (FLOPs, interconnect, memory), keeping
 * its lineage, so a what-if chip can go wherever a datasheet chip can.
 *
 * Fields, each set to a value with its unit or scaled by a factor:
 *  - flops: every dense peak together; a set value is the BF16 peak
 *    (TFLOPS or PFLOPS) and the other precisions keep their ratio to it;
 *  - scale_up_bw: scale-up links, both directions, as datasheets quote
 *    them (GB/s or TB/s: the H100's 900 GB/s, the H800's 400 GB/s);
 *  - host_io_bw: the host interface, both directions (GB/s);
 *  - hbm_bw (GB/s or TB/s), hbm_capacity (GB or TB);
 *  - scale_out_bw: the NIC line rate per chip (Gb/s or Tb/s);
 *  - die_area (mm2), tdp (W or kW).
 * Everything else, the calibration family included, is the parent's. */
#ifndef MS_DERIVE_H
#define MS_DERIVE_H

#include <stddef.h>

#include "core/err.h"
#include "hw/chip.h"

typedef enum derive_field {
    DERIVE_FLOPS,
    DERIVE_SCALE_UP_BW,
    DERIVE_HOST_IO_BW,
    DERIVE_HBM_BW,
    DERIVE_HBM_CAPACITY,
    DERIVE_SCALE_OUT_BW,
    DERIVE_DIE_AREA,
    DERIVE_TDP,
    DERIVE_FIELDS
} derive_field;

const char *derive_field_name(derive_field f);
/* "flops, scale_up_bw, ...": for messages. */
const char *derive_field_list(void);

typedef struct derive_change {
    derive_field field;
    int scale;    /* 1: multiply by value; 0: set to value */
    double value; /* a factor, or the figure in SI units (FLOP/s, bytes/s both directions for
                     scale_up_bw and host_io_bw, bytes, mm2, W) */
} derive_change;

/* Parses "FIELD=VALUE" with VALUE a number and a unit ("400GB/s"), or,
 * when scale is 1, a factor ("0.33"). Fails with MS_EUSAGE naming the
 * text for an unknown field, a missing or wrong unit, or a value or
 * factor that is not a positive finite number below absurd bounds. */
int derive_parse(const char *text, int scale, derive_change *out, ms_err *err);

/* "scale_up_bw=400GB/s" or "flops*0.33". */
void derive_change_text(const derive_change *ch, char *buf, size_t cap);

/* A derived chip and the strings it owns. */
typedef struct derive_chip {
    chip c;
    char name[64];
    char full_name[192];
    char derived_from[64];
    char derivation[512];
    char source[512];
} derive_chip;

/* Applies changes ch[0..n) in order to parent, naming the result name.
 * Fails with MS_EINVAL for a name with spaces or commas, a scale of a
 * figure the parent leaves blank (naming it: set it instead), or a
 * result outside what chips.csv accepts. out must not move afterwards
 * (its chip points into it). */
int derive_apply(const chip *parent, const char *name, const derive_change *ch, size_t n,
                 derive_chip *out, ms_err *err);

#endif
