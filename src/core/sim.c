/* sim: see sim.h.
 *
 * The queue is a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, "Faster
 * algorithms for the shortest path problem", J. ACM 37(2), 1990), in its
 * multi-digit form with 4-bit digits. A radix heap needs the keys taken out
 * never to decrease, which an engine that refuses to schedule in the past
 * guarantees. Entries sit in buckets relative to `last`, the time of the
 * latest minimum taken out: bucket 0 holds the entries at exactly last;
 * bucket (L, d) those whose time first differs from last in hexadecimal
 * digit L, where the time has digit d. Buckets in (L, d) order hold
 * increasing, disjoint time ranges. Scheduling appends to one bucket (an
 * xor, a count of leading zeros, a shift). When bucket 0 runs dry, the
 * lowest non-empty bucket holds the minimum: that minimum becomes last and
 * the bucket's entries move, in order, into the empty buckets below it. An
 * entry moves to a lower level each time, so at most 16 times in its life
 * (about 5 in the hold benchmark), in sequential sweeps.
 *
 * Ties need no sequence number: entries with equal times always share a
 * bucket, appends keep scheduling order, a refill moves a bucket in order
 * into empty buckets, and bucket 0 is read first in, first out. So equal
 * times run in scheduling order.
 *
 * bench/engine_hold.c measures this against a 4-ary heap (16-byte entries,
 * children on one cache line, branchless, prefetched), a binary heap and a
 * calendar queue (Brown, CACM 31(10), 1988), which stay there. In the hold
 * model on one core of a 2-core AMD EPYC machine, events/s
 * over three runs of bench/run:
 *
 *                     10^3     10^5     10^6 pending
 *   bare radix heap    31M      24-26M   23-26M
 *   bare 4-ary heap    19M      11M      4.2-5.2M
 *   bare binary heap   20M      10-11M   2.6-3.7M
 *   bare calendar q.   49-50M   24-26M   3.7-5.8M
 *   this engine        22-25M   18-21M   15-16M   (handlers, sim_after)
 *
 * A heap pop is a chain of ~10 dependent loads, out of cache at 10^6; the
 * radix heap streams. The calendar queue wins at 10^3, ties at 10^5, and
 * needs its bucket width tuned to the time distribution; the radix heap
 * has no tuning and a fixed worst case.
 *
 * Entries are 16 bytes (time, slot, generation); the handler, context and
 * payload of the event in a slot live apart, in recs[], so refills move
 * little. Reading the record is then a random access per event; refilling
 * a small bucket prefetches the records of its entries, which are the next
 * events to run. Buckets are chains of fixed-size chunks from one free-list
 * pool, so memory follows the pending entries, not each bucket's peak
 * (growable arrays per bucket held 6 to 18 times the entries). The pool is
 * kept big enough for every entry plus one partial chunk per bucket, so a
 * refill never allocates: only sim_at does, and reports running out.
 *
 * Cancel is lazy. An event owns its slot until its entry is popped; cancel
 * bumps the slot's generation, and the pop that meets the entry with the
 * old generation drops it and frees the slot. When such tombstones
 * outnumber the live entries the buckets are compacted. */
#include "core/sim.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* A chunk on the free list is poisoned, so ASan reports any use of it. */
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* One scheduled event in the queue. */
typedef struct entry {
    sim_time t;
    uint32_t slot;
    uint32_t gen; /* the slot's generation when scheduled */
} entry;

/* What to run, per slot. 32 bytes in a line-aligned array: one line. */
typedef struct record {
    sim_handler h;
    void *ctx;
    sim_payload p;
} record;

#define CHUNK_BYTES   2048
#define CHUNK_ENTRIES ((CHUNK_BYTES - 16) / sizeof(entry)) /* 127 */

typedef struct chunk {
    struct chunk *next; /* in its bucket, or on the free list */
    uint64_t unused;    /* keeps e[] 16-byte aligned */
    entry e[CHUNK_ENTRIES];
} chunk;

_Static_assert(sizeof(entry) == 16, "queue entries are meant to be 16 bytes");
_Static_assert(sizeof(record) == 32, "a record is meant to be half a cache line");
_Static_assert(sizeof(chunk) == CHUNK_BYTES, "a chunk is meant to fill CHUNK_BYTES");

/* Chunks are carved from blocks, freed by sim_free. */
typedef struct block {
    struct block *next;
    chunk c[];
} block;

/* All chunks but the tail are full. The fill count of the tail lives here,
 * not in the chunk, so an append touches only the line it writes. */
typedef struct bucket {
    chunk *head, *tail; /* appends go to tail; bucket 0 is read from head */
    uint32_t tail_n;    /* entries in the tail chunk */
    uint32_t n;         /* entries, tombstones included */
    sim_time min;       /* least time in the bucket, when n > 0 */
} bucket;

#define DIGIT_BITS 4
#define RADIX      (1 << DIGIT_BITS)
#define LEVELS     16 /* times are >= 0: 63 bits, 16 hex digits */
#define NBUCKETS   (1 + LEVELS * RADIX)
#define NWORDS     ((NBUCKETS + 63) / 64)
/* Chunks the pool keeps beyond the entries' own: a partial chunk per
 * bucket, bucket 0's partly read head, and the one a refill is reading. */
#define CHUNK_SLACK (NBUCKETS + 3)
/* A refilled bucket this small holds the next events to run: prefetch. */
#define PREFETCH_MAX 64
#define NO_SLOT      UINT32_MAX

struct sim {
    bucket b[NBUCKETS];
    uint64_t occupied[NWORDS]; /* bit j set iff bucket j is non-empty */
    uint32_t pos0;             /* next entry to read in bucket 0's head chunk */
    sim_time last;             /* every entry has t >= last; if entries > 0, last <= now */
    size_t entries;            /* pending + tombstones */
    size_t pending;
    size_t tombstones;

    chunk **free_chunks; /* stack of the chunks not in a bucket, nfree_chunks of them */
    size_t nfree_chunks;
    size_t nchunks; /* carved so far; sim_at keeps nchunks >= need(entries) */
    block *blocks;

    uint32_t *gens;       /* per slot; never 0 */
    record *recs;         /* per slot, line-aligned */
    uint32_t *free_slots; /* stack of free slots */
    uint32_t nfree_slots;
    uint32_t slot_cap;

    sim_time now;
    uint64_t events_run;
    bool running;
    bool stopped;
    long fail_after; /* test hook: allocations left before failing; < 0 off */
    ms_err sticky;   /* first allocation failure, returned by the next run */
};

sim_time sim_time_from_s(double s)
{
    assert(isfinite(s) && s >= 0);
    double ps = s * (double)SIM_PS_PER_S;
    assert(ps < 0x1p63); /* (double)INT64_MAX rounds up to 2^63 */
    return (sim_time)llround(ps);
}

int sim_time_try_from_s(double s, sim_time *out)
{
    double ps = s * (double)SIM_PS_PER_S;
    if (!(isfinite(ps) && ps >= 0 && ps < 0x1p63))
        return -1;
    *out = (sim_time)llround(ps);
    return 0;
}

double sim_time_to_s(sim_time t)
{
    return (double)t / (double)SIM_PS_PER_S;
}

/* ---- allocation -------------------------------------------------------- */

static bool alloc_allowed(sim *s)
{
    if (s->fail_after < 0)
        return true;
    if (s->fail_after == 0)
        return false;
    s->fail_after--;
    return true;
}

static void set_sticky_nomem(sim *s, const char *what)
{
    if (s->sticky.code == MS_OK)
        ms_errf(&s->sticky, MS_ENOMEM, "sim: out of memory growing the %s at %zu pending events",
                what, s->pending);
}

/* The free chunks are a stack of pointers beside them, not a list through
 * them: a chunk's memory is first touched when it is taken, so an engine
 * with few events never faults in most of its slack. */
static void chunk_give(sim *s, chunk *c)
{
    POISON(c->e, sizeof c->e);
    s->free_chunks[s->nfree_chunks++] = c;
}

/* Never fails: the pool holds enough chunks (see CHUNK_SLACK). */
static chunk *chunk_take(sim *s)
{
    assert(s->nfree_chunks > 0);
    chunk *c = s->free_chunks[--s->nfree_chunks];
    UNPOISON(c, sizeof *c); /* a new block's chunk is poisoned whole */
    c->next = NULL;
    return c;
}

/* Blocks hold at most this many chunks (126 KiB): an allocator serves
 * blocks this small from its pools and reuses them (AddressSanitizer's
 * among them), where a larger one is mapped and unmapped for every engine,
 * its pages faulted in again each time. */
#define BLOCK_CHUNKS_MAX 63

/* Grows the pool to hold `entries` entries, keeping the slack. Returns false
 * (sticky error set) if memory ran out. Grows by at least the pool's size. */
static bool chunks_reserve(sim *s, size_t entries)
{
    size_t need = entries / CHUNK_ENTRIES + 1 + CHUNK_SLACK;
    if (s->nchunks >= need)
        return true;
    size_t add = need - s->nchunks;
    if (add < s->nchunks)
        add = s->nchunks;
    /* Room on the stack for every chunk, the new ones included. */
    chunk **stack =
        alloc_allowed(s) ? realloc(s->free_chunks, (s->nchunks + add) * sizeof *stack) : NULL;
    if (!stack) {
        set_sticky_nomem(s, "event pool");
        return false;
    }
    s->free_chunks = stack;
    while (add > 0) {
        size_t k = add < BLOCK_CHUNKS_MAX ? add : BLOCK_CHUNKS_MAX;
        block *bl = alloc_allowed(s) ? malloc(sizeof(block) + k * sizeof(chunk)) : NULL;
        if (!bl) { /* the blocks added so far stay in the pool */
            set_sticky_nomem(s, "event pool");
            return false;
        }
        bl->next = s->blocks;
        s->blocks = bl;
        POISON(bl->c, k * sizeof(chunk)); /* free until taken */
        for (size_t i = 0; i < k; i++)
            s->free_chunks[s->nfree_chunks++] = &bl->c[i];
        s->nchunks += k;
        add -= k;
    }
    return true;
}

/* Makes sure a slot is free. Returns false (sticky error set) if memory ran
 * out; each array is at least its old size, so all stay consistent. The
 * records are copied rather than realloc'd, to keep their alignment. */
static bool slot_reserve(sim *s)
{
    if (s->nfree_slots > 0)
        return true;
    uint32_t old = s->slot_cap;
    uint32_t cap = old == 0 ? 64 : old <= NO_SLOT / 2 ? 2 * old : NO_SLOT;
    uint32_t *gens = NULL, *free_slots = NULL;
    record *recs = NULL;
    if (cap > old && alloc_allowed(s) && (gens = realloc(s->gens, cap * sizeof *gens)))
        s->gens = gens;
    if (gens && alloc_allowed(s) &&
        (recs = aligned_alloc(64, ((size_t)cap * sizeof *recs + 63) / 64 * 64))) {
        if (old)
            memcpy(recs, s->recs, old * sizeof *recs);
        free(s->recs);
        s->recs = recs;
    }
    if (recs && alloc_allowed(s))
        free_slots = realloc(s->free_slots, cap * sizeof *free_slots);
    if (!free_slots) {
        set_sticky_nomem(s, "slot table");
        return false;
    }
    s->free_slots = free_slots;
    /* Stacked so that slots are handed out in increasing order. */
    for (uint32_t i = old; i < cap; i++) {
        s->gens[i] = 1;
        s->free_slots[cap - 1 - i] = i;
    }
    s->nfree_slots = cap - old;
    s->slot_cap = cap;
    return true;
}

/* Makes every id naming this slot stale. 0 is skipped: it means NONE. */
static void bump_gen(sim *s, uint32_t slot)
{
    uint32_t g = s->gens[slot] + 1;
    s->gens[slot] = g ? g : 1;
}

static void slot_free(sim *s, uint32_t slot)
{
    s->free_slots[s->nfree_slots++] = slot;
}

/* ---- the radix heap ---------------------------------------------------- */

/* 0 if t == base; else 1 + RADIX * L + d, where L is the highest hex digit
 * in which t and base differ and d is t's digit there. */
static inline int bucket_of(sim_time t, sim_time base)
{
    uint64_t x = (uint64_t)t ^ (uint64_t)base;
    if (x == 0)
        return 0;
    int level = (63 - __builtin_clzll(x)) / DIGIT_BITS;
    int digit = (int)(((uint64_t)t >> (level * DIGIT_BITS)) & (RADIX - 1));
    return 1 + level * RADIX + digit;
}

static inline void mark(sim *s, int j)
{
    s->occupied[j / 64] |= UINT64_C(1) << (j % 64);
}

static inline void unmark(sim *s, int j)
{
    s->occupied[j / 64] &= ~(UINT64_C(1) << (j % 64));
}

/* The lowest non-empty bucket, or -1. */
static inline int first_bucket(const sim *s)
{
    for (int w = 0; w < NWORDS; w++)
        if (s->occupied[w])
            return w * 64 + __builtin_ctzll(s->occupied[w]);
    return -1;
}

/* Entries in chunk c of bucket b. */
static inline uint32_t chunk_count(const bucket *b, const chunk *c)
{
    return c == b->tail ? b->tail_n : (uint32_t)CHUNK_ENTRIES;
}

/* Appends e to bucket j. Never fails (the pool has room). */
static void append(sim *s, int j, entry e)
{
    bucket *b = &s->b[j];
    if (!b->tail || b->tail_n == CHUNK_ENTRIES) {
        chunk *fresh = chunk_take(s);
        if (b->tail)
            b->tail->next = fresh;
        else
            b->head = fresh;
        b->tail = fresh;
        b->tail_n = 0;
    }
    b->tail->e[b->tail_n++] = e;
    if (b->n++ == 0 || e.t < b->min)
        b->min = e.t;
    mark(s, j);
}

/* Takes the first entry of bucket 0 (non-empty), freeing spent chunks. */
static entry pop0(sim *s)
{
    bucket *b = &s->b[0];
    chunk *c = b->head;
    entry e = c->e[s->pos0++];
    if (--b->n == 0) { /* then c is the tail and is spent */
        chunk_give(s, c);
        *b = (bucket){0};
        s->pos0 = 0;
        unmark(s, 0);
    } else if (s->pos0 == CHUNK_ENTRIES) {
        b->head = c->next;
        chunk_give(s, c);
        s->pos0 = 0;
    }
    return e;
}

/* With every bucket below k empty, makes bucket k's minimum the new last
 * and moves bucket k's entries, in order, into the buckets below k. */
static void refill(sim *s, int k)
{
    bucket src = s->b[k];
    bool soon = src.n <= PREFETCH_MAX;
    s->b[k] = (bucket){0};
    unmark(s, k);
    s->last = src.min;
    for (chunk *c = src.head, *next; c; c = next) {
        uint32_t n = chunk_count(&src, c);
        for (uint32_t i = 0; i < n; i++) {
            entry e = c->e[i];
            if (soon) {
                __builtin_prefetch(&s->recs[e.slot]);
                __builtin_prefetch(&s->gens[e.slot]);
            }
            int j = bucket_of(e.t, s->last);
            assert(j < k);
            append(s, j, e);
        }
        next = c->next;
        chunk_give(s, c);
    }
}

/* Drops every tombstone, freeing its slot, keeping the order of the rest. */
static void compact(sim *s)
{
    for (int j = 0; j < NBUCKETS; j++) {
        if (s->b[j].n == 0)
            continue;
        bucket src = s->b[j];
        uint32_t from = j == 0 ? s->pos0 : 0;
        s->b[j] = (bucket){0};
        unmark(s, j);
        if (j == 0)
            s->pos0 = 0;
        for (chunk *c = src.head, *next; c; c = next) {
            uint32_t n = chunk_count(&src, c);
            for (uint32_t i = from; i < n; i++) {
                entry e = c->e[i];
                if (s->gens[e.slot] == e.gen)
                    append(s, j, e);
                else
                    slot_free(s, e.slot);
            }
            from = 0;
            next = c->next;
            chunk_give(s, c);
        }
    }
    s->entries = s->pending;
    s->tombstones = 0;
}

/* ---- the public API ---------------------------------------------------- */

int sim_new(sim **out, ms_err *err)
{
    sim *s = calloc(1, sizeof *s);
    if (!s)
        return ms_errf(err, MS_ENOMEM, "sim: out of memory creating a simulation");
    s->fail_after = -1;
    *out = s;
    return MS_OK;
}

void sim_free(sim *s)
{
    if (!s)
        return;
    assert(!s->running);
    for (block *bl = s->blocks, *next; bl; bl = next) {
        next = bl->next;
        free(bl);
    }
    free(s->free_chunks);
    free(s->gens);
    free(s->recs);
    free(s->free_slots);
    free(s);
}

sim_event_id sim_at(sim *s, sim_time t, sim_handler h, void *ctx, sim_payload p)
{
    assert(h != NULL);
    assert(t >= s->now);
    if (s->entries == 0)
        s->last = s->now; /* cancelled entries may have left last past now */
    assert(t >= s->last);
    if (!chunks_reserve(s, s->entries + 1) || !slot_reserve(s))
        return SIM_EVENT_NONE;
    uint32_t slot = s->free_slots[--s->nfree_slots];
    s->recs[slot] = (record){.h = h, .ctx = ctx, .p = p};
    entry e = {.t = t, .slot = slot, .gen = s->gens[slot]};
    append(s, bucket_of(t, s->last), e);
    s->entries++;
    s->pending++;
    return (sim_event_id){.slot = slot, .gen = e.gen};
}

sim_event_id sim_after(sim *s, sim_time delay, sim_handler h, void *ctx, sim_payload p)
{
    assert(delay >= 0 && delay <= SIM_TIME_MAX - s->now);
    return sim_at(s, s->now + delay, h, ctx, p);
}

void sim_time_overflow(sim *s, double at_s)
{
    if (s->sticky.code != MS_OK)
        return;
    if (isfinite(at_s))
        ms_errf(&s->sticky, MS_EINVAL,
                "the run would reach %.3g days of simulated time, past the %.1f days one run can "
                "hold: simulate less (fewer requests, a higher rate, a shorter duration) or look "
                "for a value that makes a time huge (a bandwidth or rate near zero)",
                at_s / 86400, SIM_TIME_MAX_S / 86400);
    else
        ms_errf(&s->sticky, MS_EINVAL,
                "a simulated time came out %s: look for a value that makes a time infinite (a "
                "bandwidth or rate of zero or near it, a huge factor)",
                isnan(at_s) ? "not a number" : "infinite");
    s->stopped = true;
}

sim_event_id sim_at_plus_s(sim *s, sim_time base, double delay_s, sim_handler h, void *ctx,
                           sim_payload p)
{
    sim_time d;
    if (sim_time_try_from_s(delay_s, &d) || d > SIM_TIME_MAX - base) {
        sim_time_overflow(s, isfinite(delay_s) && delay_s >= 0 ? sim_time_to_s(base) + delay_s
                                                               : (delay_s < 0 ? NAN : delay_s));
        return SIM_EVENT_NONE;
    }
    return sim_at(s, base + d, h, ctx, p);
}

sim_event_id sim_after_s(sim *s, double delay_s, sim_handler h, void *ctx, sim_payload p)
{
    return sim_at_plus_s(s, s->now, delay_s, h, ctx, p);
}

bool sim_cancel(sim *s, sim_event_id id)
{
    if (id.gen == 0 || id.slot >= s->slot_cap || s->gens[id.slot] != id.gen)
        return false;
    /* A free slot's generation has not been handed out yet, so a matching
     * id names a pending event. Its entry stays, as a tombstone holding
     * the slot until a pop or a compaction frees it. */
    bump_gen(s, id.slot);
    s->pending--;
    s->tombstones++;
    /* The 1024 floor keeps small queues from compacting over and over;
     * compacting only when tombstones are the majority makes it amortised
     * O(1) per cancel. */
    if (s->tombstones > 1024 && s->tombstones > s->pending)
        compact(s);
    return true;
}

/* The run loop shared by sim_run and sim_run_until: runs the events with
 * time <= t_end, then moves the clock to t_end if asked and not stopped. */
static int run(sim *s, sim_time t_end, bool set_clock, ms_err *err)
{
    assert(!s->running);
    s->running = true;
    s->stopped = false;
    while (s->sticky.code == MS_OK && !s->stopped) {
        if (s->b[0].n == 0) {
            int k = first_bucket(s);
            if (k < 0)
                break;
            if (s->b[k].min > t_end)
                break;
            refill(s, k);
        }
        entry e = pop0(s);
        assert(e.t <= t_end);
        s->entries--;
        if (s->gens[e.slot] != e.gen) { /* cancelled */
            s->tombstones--;
            slot_free(s, e.slot);
            continue;
        }
        record r = s->recs[e.slot];
        bump_gen(s, e.slot); /* the id is stale from now on: cancel returns false */
        /* Free the slot before the handler runs: its own next scheduling
         * then reuses this slot, whose record is in cache. */
        slot_free(s, e.slot);
        s->pending--;
        s->now = e.t;
        s->events_run++;
        r.h(s, r.ctx, r.p);
    }
    s->running = false;
    if (s->sticky.code != MS_OK) {
        if (err)
            *err = s->sticky;
        return s->sticky.code;
    }
    if (set_clock && !s->stopped)
        s->now = t_end;
    return MS_OK;
}

int sim_run(sim *s, ms_err *err)
{
    return run(s, SIM_TIME_MAX, false, err);
}

int sim_run_until(sim *s, sim_time t_end, ms_err *err)
{
    assert(t_end >= s->now);
    return run(s, t_end, true, err);
}

void sim_stop(sim *s)
{
    if (s->running)
        s->stopped = true;
}

sim_time sim_now(const sim *s)
{
    return s->now;
}

size_t sim_pending(const sim *s)
{
    return s->pending;
}

uint64_t sim_events_run(const sim *s)
{
    return s->events_run;
}

void sim_test_fail_alloc_after(sim *s, long n)
{
    s->fail_after = n;
}
