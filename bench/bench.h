/* bench: what the benchmarks share: a monotonic clock and paths into the
 * source tree (where hwdb/ and workloads/ are). Header only: every
 * file in bench/ ending in .c is its own program. */
#ifndef MS_BENCH_H
#define MS_BENCH_H

#include <stdio.h>
#include <time.h>

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* MEGASIM_SOURCE_DIR/rel, in one of four rotating buffers (so a call can
 * take two or three paths). */
static inline const char *bench_path(const char *rel)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", MEGASIM_SOURCE_DIR, rel);
    return buf[k];
}

#endif
