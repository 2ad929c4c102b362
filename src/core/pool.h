/* pool: slots of one element size handed out by index and given back, for
 * records that come and go by the million in a run (a serving fleet's
 * requests and chains). As with vec, the caller keeps the buffer, its own
 * typed pointer, and the pool the bookkeeping, so slots read a[id] with no
 * cast and no call:
 *
 *     uint32_t id;
 *     T *a = pool_get(&x->pool, x->a, 1024, sizeof *a, &id);
 *     if (!a)
 *         goto out; (nothing changed: x->a, x->pool and every slot)
 *     x->a = a;
 *     a[id] = (T){...};
 *     ...
 *     pool_put(&x->pool, id);
 *
 * What it promises:
 * - Order. Fresh slots are handed out as 0, 1, 2 ...; a slot given back is
 *   handed out again before any fresh one, the last given back first
 *   (LIFO). The order depends on nothing but the calls, so runs repeat.
 * - Indices, not pointers. An index stays valid while the buffer grows;
 *   a pointer into the buffer is stale after any pool_get that grows it.
 *   Indices are below UINT32_MAX, which callers may keep for "none".
 * - Contents. A slot handed out for the first time is all zero bytes; a
 *   reused slot holds exactly what it held when given back (a generation
 *   count kept in the slot survives reuse). The pool writes a slot only to
 *   zero it the first time and never reads one.
 * - Failure. pool_get returns NULL when memory runs out, the buffer
 *   would pass PTRDIFF_MAX bytes or every index below UINT32_MAX is in
 *   use, leaving the buffer (still the caller's), the pool and every slot
 *   as they were. pool_put never fails.
 *
 * The free list is a stack of indices apart from the slots (4 bytes a
 * slot, grown with them, so giving back never allocates), not a link
 * threaded through each slot: threading would make every slot type carry
 * a link field the pool overwrites, and the pool could not promise what a
 * reused slot holds. The price is one more array. */
#ifndef MS_POOL_H
#define MS_POOL_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Zero-initialise ({0}) for an empty pool; the fields are read-only to
 * the caller. */
typedef struct pool {
    size_t n;       /* slots handed out at least once: indices 0 .. n - 1 */
    size_t cap;     /* slots the caller's buffer has room for */
    uint32_t *free; /* the slots given back, the last on top (owned) */
    size_t nfree, capfree;
} pool;

/* pool_get's out-of-line part, for when the buffer must grow; call
 * pool_get. */
void *pool_get_slow(pool *p, void *buf, size_t first, size_t elem, uint32_t *id);

/* Hands out a slot of buf, an array of elem-byte slots that this pool
 * alone manages (NULL while the pool is empty), and sets *id to its index.
 * Returns the buffer, which is buf unless it had to grow: then it is buf
 * realloc'd to first, 2 * first, 4 * first ... slots, as vec_grow grows.
 * Returns NULL on failure, changing nothing (see above). first and elem
 * are at least 1 and the same on every call.
 *
 * All but growth is inline: the serving loop asks for a slot per chain it
 * tries to admit, and with elem a constant the zeroing is a few stores. */
static inline void *pool_get(pool *p, void *buf, size_t first, size_t elem, uint32_t *id)
{
    if (p->nfree > 0) {
        *id = p->free[--p->nfree];
        return buf;
    }
    if (p->n < p->cap && p->n < UINT32_MAX) {
        /* The stack has room for slot n as well: it grows first (pool.c). */
        memset((unsigned char *)buf + p->n * elem, 0, elem);
        *id = (uint32_t)p->n++;
        return buf;
    }
    return pool_get_slow(p, buf, first, elem, id);
}

/* Gives slot id back, to be handed out next. id must be in use (handed
 * out and not given back since); its contents are left as they are. */
static inline void pool_put(pool *p, uint32_t id)
{
    assert(id < p->n && p->nfree < p->n);
    p->free[p->nfree++] = id;
}

/* Frees what the pool allocated, not the caller's buffer, and leaves the
 * pool empty ({0}). pool_free on an empty pool does nothing. */
void pool_free(pool *p);

#endif
