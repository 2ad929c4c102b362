/* jtopo: the options that describe a cluster's network, as rows of an
 * option table (JTOPO_ROWS), and the cluster they describe for a chip: its
 * scale-up domain and NIC on a rail-optimized non-blocking fat-tree of
 * 64-port switches unless the options say otherwise. */
#ifndef MS_JTOPO_H
#define MS_JTOPO_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/chip.h"
#include "job/jopt.h"
#include "net/topo.h"

typedef struct jtopo_opts {
    int64_t domain;          /* GPUs per scale-up domain; JOPT_NO_INT: the chip's */
    int fabric;              /* 0 fattree, 1 multiplane, 2 torus (JTOPO_FABRICS) */
    int64_t tiers, radix;    /* JOPT_NO_INT: chosen by the size of the cluster */
    double oversubscription; /* fat-tree leaf down:up */
    double nic_Gbps;         /* NAN: the chip's */
    const char *torus;       /* "AxBxC", or NULL */
} jtopo_opts;

#define JTOPO_FABRICS "fattree|multiplane|torus"

/* The rows of a job whose jtopo_opts sits at byte offset base. */
#define JTOPO_ROWS(base)                                                                           \
    {"domain",                                                                                     \
     JOPT_INT,                                                                                     \
     "N",                                                                                          \
     NULL,                                                                                         \
     NULL,                                                                                         \
     1,                                                                                            \
     NAN,                                                                                          \
     NULL,                                                                                         \
     (base) + offsetof(jtopo_opts, domain),                                                        \
     "GPUs per scale-up domain (default: the chip's)"},                                            \
        {"fabric",                                                                                 \
         JOPT_CHOICE,                                                                              \
         "KIND",                                                                                   \
         NULL,                                                                                     \
         "fattree",                                                                                \
         NAN,                                                                                      \
         NAN,                                                                                      \
         JTOPO_FABRICS,                                                                            \
         (base) + offsetof(jtopo_opts, fabric),                                                    \
         "network across domains"},                                                                \
        {"tiers",                                                                                  \
         JOPT_INT,                                                                                 \
         "N",                                                                                      \
         NULL,                                                                                     \
         NULL,                                                                                     \
         2,                                                                                        \
         3,                                                                                        \
         NULL,                                                                                     \
         (base) + offsetof(jtopo_opts, tiers),                                                     \
         "fat-tree tiers (default 2, or 3 when two cannot hold the GPUs)"},                        \
        {"oversubscription",                                                                       \
         JOPT_NUM,                                                                                 \
         "X",                                                                                      \
         NULL,                                                                                     \
         "1",                                                                                      \
         1,                                                                                        \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jtopo_opts, oversubscription),                                          \
         "fat-tree leaf down:up ratio"},                                                           \
        {"radix",                                                                                  \
         JOPT_INT,                                                                                 \
         "N",                                                                                      \
         NULL,                                                                                     \
         NULL,                                                                                     \
         2,                                                                                        \
         NAN,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jtopo_opts, radix),                                                     \
         "ports per fat-tree switch (default 64, more when 3 tiers of 64 cannot hold the GPUs)"},  \
        {"nic-Gbps",                                                                               \
         JOPT_NUM,                                                                                 \
         "X",                                                                                      \
         "Gb/s",                                                                                   \
         NULL,                                                                                     \
         1e-3,                                                                                     \
         1e6,                                                                                      \
         NULL,                                                                                     \
         (base) + offsetof(jtopo_opts, nic_Gbps),                                                  \
         "NIC line rate per GPU (default: the chip's)"},                                           \
    {                                                                                              \
        "torus", JOPT_STR, "AxBxC", NULL, NULL, NAN, NAN, NULL,                                    \
            (base) + offsetof(jtopo_opts, torus), "torus shape (TPUs)"                             \
    }

/* The rows above over a jtopo_opts of its own. */
extern const jopt_table jtopo_options;

/* The cluster of gpus chips c that o describes. Fails naming the option
 * or the chip's missing figure. */
int jtopo_spec(const jtopo_opts *o, const chip *c, int64_t gpus, topo_spec *ts, ms_err *err);

/* topo_build, with a third tier added when two cannot hold the GPUs and
 * o gives no tiers, then switches of 128, 256, 512 ports when 64 cannot and
 * o gives neither tiers nor radix. */
int jtopo_build(const jtopo_opts *o, topo_spec *ts, topo **t, ms_err *err);

#endif
