/* vec: growing an array of any element type by doubling, in one place.
 *
 * A growable array is the caller's own pointer, capacity (in elements) and
 * count in use; vec keeps no state. vec_grow takes and returns the buffer
 * as void *, never a T ** cast to void ** (that would store a T * through
 * a void * lvalue and break strict aliasing), so a growth reads
 *
 *     T *a = vec_grow(x->a, &x->cap, x->n + 1, 64, sizeof *a);
 *     if (!a)
 *         goto out; (x->a and x->cap are as they were, x->a still owned)
 *     x->a = a;
 *
 * Doubling makes n appends cost O(n) copies in all; the caller picks the
 * first capacity, so small arrays stay small and busy ones start big. */
#ifndef MS_VEC_H
#define MS_VEC_H

#include <stddef.h>

/* vec_grow's out-of-line part, for when it must allocate; call vec_grow. */
void *vec_grow_slow(void *buf, size_t *cap, size_t need, size_t first, size_t elem);

/* Returns a buffer with room for at least need elements of elem bytes
 * (need 0 counts as 1, so success is never NULL). When *cap >= need that
 * is buf itself, untouched. Otherwise buf is realloc'd to the first of
 * *cap, 2 * *cap, 4 * *cap ... that holds need (first, 2 * first ... when
 * *cap is 0), *cap becomes that count, and the new elements are
 * uninitialized; pointers into the old buffer are then stale. buf may be
 * NULL only when *cap is 0; first and elem are at least 1.
 *
 * Returns NULL, leaving buf (still the caller's to free) and *cap as they
 * were, when memory runs out or the size would pass PTRDIFF_MAX bytes.
 *
 * The test that nothing needs to grow is inline: appends are the inner
 * loops of the flow network, collective plans and step traces. */
static inline void *vec_grow(void *buf, size_t *cap, size_t need, size_t first, size_t elem)
{
    return need <= *cap && *cap ? buf : vec_grow_slow(buf, cap, need, first, elem);
}

#endif
