/* netfit: published collective measurements (nccl-tests tables, DeepEP's
 * figures), megasim's prediction of each, and the fit of the network
 * calibration (bandwidth efficiency and per-step cost of scale-up and of
 * NIC links) to them, by least squares on log bus bandwidth with GSL. */
#ifndef MS_NETFIT_H
#define MS_NETFIT_H

#include <stddef.h>

#include "core/err.h"
#include "hw/chip.h"
#include "net/coll.h"

typedef struct netfit_row {
    const chip *chip;
    int64_t gpus, gpus_per_node;
    double nic_Bps; /* per GPU; NAN for one node */
    char op[16], algo[24];
    double bytes;        /* NAN when the source gives none */
    double at_bytes;     /* the size predicted at: bytes, else the note's -e, else 8 GiB */
    const char *at_why;  /* why at_bytes when bytes is NAN; else NULL */
    int nvls;            /* the chip's domains reduce in the switch and the run allows it */
    double busbw_Bps;    /* measured */
    int fit;             /* used in the fit (ring rows); else only predicted */
    int held_out;        /* a fit row left out: one in five of its curve */
    const char *why_not; /* for rows megasim cannot predict: why; else NULL */
    char source[256];
    int line;
} netfit_row;

typedef struct netfit netfit;

/* Reads path (validation/published_net.csv) against db. Errors name file,
 * line and column. Caller frees. */
int netfit_load(const char *path, const chip_db *db, netfit **out, ms_err *err);
void netfit_free(netfit *nf);
size_t netfit_count(const netfit *nf);
const netfit_row *netfit_at(const netfit *nf, size_t i);

/* megasim's bus bandwidth for row i with cp; NAN where it has none. */
double netfit_predict(const netfit *nf, size_t i, const coll_params *cp);

/* The algorithm megasim predicts row i with under cp (for "default" rows
 * NCCL's choice as megasim models it), or NULL where it has none. */
const char *netfit_algo(const netfit *nf, size_t i, const coll_params *cp);

/* Fits scale-up and NIC (fabric tied to NIC) efficiency and per-step
 * cost, NVLS's efficiency and per-operation cost, NVLS-tree's cost per
 * level, every NCCL operation's base cost and what one NCCL channel moves
 * through a NIC, to the fit rows not held out; *cp receives them. */
int netfit_run(netfit *nf, coll_params *cp, ms_err *err);

/* Writes the network calibration CSV (link_kind, bw_eff, alpha_us,
 * measured_on, source) for cp, whole or not at all, under the lock of
 * its directory (src/io/afile). */
int netfit_write(const char *path, const coll_params *cp, const netfit *nf, ms_err *err);

/* 1 if NCCL reduces in the switch (NVLS) in c's scale-up domains by
 * default: NVSwitch domains of Hopper and Blackwell chips (the reasons
 * and sources are in netfit.c). */
int netfit_chip_has_nvls(const chip *c);

#endif
