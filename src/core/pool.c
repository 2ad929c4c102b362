/* pool: see pool.h. */
#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

#include "core/vec.h"

void *pool_get_slow(pool *p, void *buf, size_t first, size_t elem, uint32_t *id)
{
    assert(first > 0 && elem > 0 && (buf || p->cap == 0) && p->nfree == 0);
    if (p->n >= UINT32_MAX) /* UINT32_MAX itself is never an index */
        return NULL;
    /* The stack first, grown as the slots grow (so capfree >= cap, and
     * pool_put never needs room): if the slots then fail to grow, only the
     * stack's unused room has changed. */
    uint32_t *stack = vec_grow(p->free, &p->capfree, p->n + 1, first, sizeof *stack);
    if (!stack)
        return NULL;
    p->free = stack;
    unsigned char *a = vec_grow(buf, &p->cap, p->n + 1, first, elem);
    if (!a)
        return NULL;
    memset(a + p->n * elem, 0, elem);
    *id = (uint32_t)p->n++;
    return a;
}

void pool_free(pool *p)
{
    free(p->free);
    *p = (pool){0};
}
