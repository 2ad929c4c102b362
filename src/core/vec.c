/* vec: see vec.h. */
#include "core/vec.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

void *vec_grow_slow(void *buf, size_t *cap, size_t need, size_t first, size_t elem)
{
    assert(first > 0 && elem > 0 && (buf || *cap == 0));
    if (need == 0)
        need = 1;
    if (need <= *cap)
        return buf;
    /* No object may pass PTRDIFF_MAX bytes (pointer differences must fit),
     * and glibc refuses such sizes anyway: check before multiplying. */
    size_t max = PTRDIFF_MAX / elem, ncap = *cap ? *cap : first;
    while (ncap < need) {
        if (ncap > max / 2)
            return NULL;
        ncap *= 2;
    }
    if (ncap > max)
        return NULL;
    void *p = realloc(buf, ncap * elem);
    if (!p)
        return NULL;
    *cap = ncap;
    return p;
}
