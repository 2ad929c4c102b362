/* kvc: the paged KV cache of one serving instance as a pool of blocks of
 * a fixed number of tokens (vLLM's PagedAttention; FlashMLA reads blocks
 * of 64). The pool only counts: which block holds what does not change
 * any time, so blocks have no identity. It keeps the totals a test needs
 * to check the books (every block allocated is freed, the pool never goes
 * over capacity) and the time-weighted occupancy a report needs. */
#ifndef MS_KVC_H
#define MS_KVC_H

#include <stdint.h>

typedef struct kvc {
    int64_t capacity;  /* blocks */
    int64_t used;      /* blocks held now */
    int64_t peak;      /* most blocks held at once */
    int64_t allocated; /* blocks handed out, all time */
    int64_t freed;     /* blocks given back, all time */
    double t_last_s;   /* time of the last change */
    double used_s;     /* integral of used over time, block-seconds */
} kvc;

/* An empty pool of capacity (>= 0) blocks at time 0. */
void kvc_init(kvc *k, int64_t capacity);

/* Takes n >= 0 blocks at time now_s: returns 1, or 0 (taking none) when
 * fewer than n are free. Asserts time never goes back. */
int kvc_alloc(kvc *k, int64_t n, double now_s);

/* Gives back n blocks at now_s; asserts 0 <= n <= used. */
void kvc_free(kvc *k, int64_t n, double now_s);

int64_t kvc_free_blocks(const kvc *k);

/* Blocks that hold tokens tokens: ceil(tokens / block_tokens); asserts
 * tokens >= 0 and block_tokens >= 1. */
int64_t kvc_blocks_for(int64_t tokens, int64_t block_tokens);

/* Mean blocks held over [0, now_s]; 0 when now_s is 0. */
double kvc_mean_used(const kvc *k, double now_s);

#endif
