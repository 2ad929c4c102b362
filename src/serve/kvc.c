/* kvc: see kvc.h. */
#include "serve/kvc.h"

#include <assert.h>

void kvc_init(kvc *k, int64_t capacity)
{
    assert(capacity >= 0);
    *k = (kvc){.capacity = capacity};
}

static void advance(kvc *k, double now_s)
{
    assert(now_s >= k->t_last_s);
    k->used_s += (double)k->used * (now_s - k->t_last_s);
    k->t_last_s = now_s;
}

int kvc_alloc(kvc *k, int64_t n, double now_s)
{
    assert(n >= 0);
    if (n > k->capacity - k->used)
        return 0;
    advance(k, now_s);
    k->used += n;
    k->allocated += n;
    if (k->used > k->peak)
        k->peak = k->used;
    return 1;
}

void kvc_free(kvc *k, int64_t n, double now_s)
{
    assert(n >= 0 && n <= k->used);
    advance(k, now_s);
    k->used -= n;
    k->freed += n;
}

int64_t kvc_free_blocks(const kvc *k)
{
    return k->capacity - k->used;
}

int64_t kvc_blocks_for(int64_t tokens, int64_t block_tokens)
{
    assert(tokens >= 0 && block_tokens >= 1);
    return (tokens + block_tokens - 1) / block_tokens;
}

double kvc_mean_used(const kvc *k, double now_s)
{
    if (!(now_s > 0))
        return 0;
    double s = k->used_s + (double)k->used * (now_s - k->t_last_s);
    return s / now_s;
}
