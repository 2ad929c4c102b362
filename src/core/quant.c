/* quant: see quant.h. */
#include "core/quant.h"

#include <assert.h>

static void swap(double *a, ptrdiff_t x, ptrdiff_t y)
{
    double t = a[x];
    a[x] = a[y];
    a[y] = t;
}

void quant_select(double *a, size_t n, size_t k)
{
    assert(k < n);
    /* Hoare's selection, the pivot the median of the first, middle and
     * last values, which also bound the scans below. */
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (hi > lo) {
        ptrdiff_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap(a, mid, lo);
        if (a[hi] < a[lo])
            swap(a, hi, lo);
        if (a[hi] < a[mid])
            swap(a, hi, mid);
        double pivot = a[mid];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j)
                swap(a, i++, j--);
        }
        /* a[lo, j] <= pivot <= a[i, hi], and what lies between equals it. */
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return;
    }
}

double quant_at(double *a, size_t n, double f, size_t *from)
{
    assert(n > 0 && f >= 0 && f <= 1 && *from <= n);
    double index = f * (double)(n - 1);
    size_t lhs = (size_t)index;
    double delta = index - (double)lhs;
    if (lhs >= *from)
        quant_select(a + *from, n - *from, lhs - *from);
    if (lhs + 1 > *from)
        *from = lhs + 1;
    if (lhs == n - 1)
        return a[lhs];
    double upper = a[lhs + 1]; /* the least of what lies above a[lhs] */
    for (size_t i = lhs + 2; i < n; i++)
        if (a[i] < upper)
            upper = a[i];
    return (1 - delta) * a[lhs] + delta * upper;
}
