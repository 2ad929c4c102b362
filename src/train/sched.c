/* sched: see sched.h. The builders write every rank's list into one array
 * sized for the most tasks a schedule can have (three per stage of each
 * micro-batch: F, B, W); one checker, shared with sched_from_lists, then
 * fills the stage-to-rank table from where each F sits and proves every
 * stage's forward and backward appear once. */
#include "train/sched.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RANKS  65536
#define MAX_VPP    1024
#define MAX_CHUNKS (1L << 22) /* microbatches * stages */

struct sched {
    int32_t ranks, stages, microbatches;
    sched_task *tasks; /* every rank's list, back to back */
    size_t *off;       /* ranks + 1: rank r's list is tasks[off[r] .. off[r+1]-1] */
    int32_t *rank_of;  /* [mb * stages + stage] */
    int has_pairs;     /* some task is an F&B */
};

static const struct {
    const char *name, *help;
} kinds[] = {
#define SCHED_KIND_ROW(e, name, help) {name, help},
    SCHED_KIND_MAP(SCHED_KIND_ROW)
#undef SCHED_KIND_ROW
};

static const char *const op_names[] = {
#define SCHED_OP_ROW(e, name) name,
    SCHED_OP_MAP(SCHED_OP_ROW)
#undef SCHED_OP_ROW
};

const char *sched_name(sched_kind k)
{
    assert(k >= 0 && k < SCHED_KIND_COUNT);
    return kinds[k].name;
}

const char *sched_help(sched_kind k)
{
    assert(k >= 0 && k < SCHED_KIND_COUNT);
    return kinds[k].help;
}

int sched_parse(const char *name, sched_kind *out)
{
    if (!name)
        return -1;
    for (int k = 0; k < SCHED_KIND_COUNT; k++) {
        if (strcasecmp(name, kinds[k].name) == 0) {
            *out = (sched_kind)k;
            return 0;
        }
    }
    return -1;
}

const char *sched_list(void)
{
    static const char list[] =
#define SCHED_KIND_LIST(e, name, help) ", " name
        SCHED_KIND_MAP(SCHED_KIND_LIST)
#undef SCHED_KIND_LIST
        ;
    return list + 2;
}

const char *sched_op_name(sched_op op)
{
    assert(op >= 0 && op < SCHED_OP_COUNT);
    return op_names[op];
}

/* ---- building ---------------------------------------------------------- */

typedef struct builder {
    sched_task *t;
    size_t n, cap;
} builder;

static void put(builder *b, sched_op op, int32_t mb, int32_t stage)
{
    assert(b->n < b->cap);
    b->t[b->n++] = (sched_task){.op = op, .mb = mb, .stage = stage, .mb2 = -1, .stage2 = -1};
}

static void put_pair(builder *b, int32_t mb, int32_t stage, int32_t mb2, int32_t stage2)
{
    assert(b->n < b->cap);
    b->t[b->n++] =
        (sched_task){.op = SCHED_FB, .mb = mb, .stage = stage, .mb2 = mb2, .stage2 = stage2};
}

/* A FIFO of (mb, stage) whose W is still to run: zero-bubble deferral. */
typedef struct wqueue {
    int32_t *mb, *stage;
    size_t head, tail, cap;
} wqueue;

static void wq_push(wqueue *q, int32_t mb, int32_t stage)
{
    assert(q->tail < q->cap);
    q->mb[q->tail] = mb;
    q->stage[q->tail++] = stage;
}

static size_t wq_len(const wqueue *q)
{
    return q->tail - q->head;
}

/* Emits the W of the oldest deferred backward. */
static void wq_pop_w(wqueue *q, builder *b)
{
    assert(q->head < q->tail);
    put(b, SCHED_W, q->mb[q->head], q->stage[q->head]);
    q->head++;
}

typedef struct shape {
    int32_t p, m, v, stages;
} shape;

/* Each builder writes rank r's list; q is empty and holds 2m entries. */
typedef void (*build_rank_fn)(const shape *sh, int32_t r, builder *b, wqueue *q);

static void build_gpipe(const shape *sh, int32_t r, builder *b, wqueue *q)
{
    (void)q;
    for (int32_t k = 0; k < sh->m; k++)
        put(b, SCHED_F, k, r);
    for (int32_t k = 0; k < sh->m; k++)
        put(b, SCHED_BW, k, r);
}

/* 1F1B, and ZB-H1 when split: the backward is B, with W held back until
 * more than r are waiting (Qi et al. 2023, "Zero Bubble Pipeline
 * Parallelism", Fig. 3 ZB-H1; sail-sg's ZB-H1 patch delays W by rank). */
static void one_f_one_b(const shape *sh, int32_t r, builder *b, wqueue *q, int split)
{
    int32_t warm = sh->p - 1 - r < sh->m ? sh->p - 1 - r : sh->m;
    int32_t fwd = 0, bwd = 0;
    while (fwd < warm)
        put(b, SCHED_F, fwd++, r);
    while (bwd < sh->m) {
        if (fwd < sh->m)
            put(b, SCHED_F, fwd++, r);
        if (!split) {
            put(b, SCHED_BW, bwd++, r);
            continue;
        }
        put(b, SCHED_B, bwd, r);
        wq_push(q, bwd++, r);
        if (wq_len(q) > (size_t)r)
            wq_pop_w(q, b);
    }
    while (wq_len(q) > 0)
        wq_pop_w(q, b);
}

static void build_1f1b(const shape *sh, int32_t r, builder *b, wqueue *q)
{
    one_f_one_b(sh, r, b, q, 0);
}

static void build_zb1p(const shape *sh, int32_t r, builder *b, wqueue *q)
{
    one_f_one_b(sh, r, b, q, 1);
}

/* Megatron-LM's forward_backward_pipelining_with_interleaving: the k-th
 * forward of a rank is micro-batch (k / (p v)) p + k % p on its chunk
 * (k / p) % v; the k-th backward is the same micro-batch on chunk
 * v-1 - (k / p) % v. Chunk c of rank r is stage c p + r. */
static void build_interleaved(const shape *sh, int32_t r, builder *b, wqueue *q)
{
    (void)q;
    int32_t p = sh->p, v = sh->v, total = sh->m * v;
    int32_t warm = sh->m == p ? total : (p - r - 1) * 2 + (v - 1) * p;
    if (warm > total)
        warm = total;
    int32_t fwd = 0, bwd = 0;
#define IL_MB(k)    (((k) / (p * v)) * p + (k) % p)
#define IL_CHUNK(k) (((k) / p) % v)
    while (fwd < warm) {
        put(b, SCHED_F, IL_MB(fwd), IL_CHUNK(fwd) * p + r);
        fwd++;
    }
    while (bwd < total) {
        if (fwd < total) {
            put(b, SCHED_F, IL_MB(fwd), IL_CHUNK(fwd) * p + r);
            fwd++;
        }
        put(b, SCHED_BW, IL_MB(bwd), (v - 1 - IL_CHUNK(bwd)) * p + r);
        bwd++;
    }
#undef IL_MB
#undef IL_CHUNK
}

/* One rank of DualPipe or DualPipeV: phase 0 and 1 are the rank's two
 * chunks, chunk ph runs stage st[ph] of micro-batches mb0[ph], mb0[ph]+1,
 * ... in order. nh is num_half_ranks (DualPipeV: the number of ranks), h
 * half_rank, hm half_num_chunks (DualPipeV: the number of micro-batches),
 * middle whether the rank is at the turn of the pipeline. */
typedef struct dual_rank {
    int32_t nh, h, hm, middle;
    int32_t st[2], mb0[2];
    int32_t nf[2], nb[2]; /* forwards and backwards emitted per phase */
} dual_rank;

static void dual_f(dual_rank *d, builder *b, int ph)
{
    put(b, SCHED_F, d->mb0[ph] + d->nf[ph]++, d->st[ph]);
}

static void dual_b(dual_rank *d, builder *b, wqueue *q, int ph, int zb)
{
    int32_t mb = d->mb0[ph] + d->nb[ph]++;
    put(b, zb ? SCHED_B : SCHED_BW, mb, d->st[ph]);
    if (zb)
        wq_push(q, mb, d->st[ph]);
}

static void dual_fb(dual_rank *d, builder *b, int f_ph, int b_ph)
{
    int32_t mb = d->mb0[f_ph] + d->nf[f_ph]++;
    int32_t mb2 = d->mb0[b_ph] + d->nb[b_ph]++;
    put_pair(b, mb, d->st[f_ph], mb2, d->st[b_ph]);
}

/* The eight phases of DualPipe.step (deepseek-ai/DualPipe dualpipe.py;
 * dualpipev.py has the same with num_half_ranks = ranks). */
static void dual_phases(dual_rank *d, builder *b, wqueue *q)
{
    int32_t nh = d->nh, h = d->h;
    for (int32_t i = 0; i < (nh - h - 1) * 2; i++) /* 1: nF0 */
        dual_f(d, b, 0);
    for (int32_t i = 0; i < h + 1; i++) { /* 2: nF0F1 */
        dual_f(d, b, 0);
        dual_f(d, b, 1);
    }
    for (int32_t i = 0; i < nh - h - 1; i++) { /* 3: nB1W1F1, zero bubble */
        dual_b(d, b, q, 1, 1);
        wq_pop_w(q, b);
        dual_f(d, b, 1);
    }
    for (int32_t i = 0; i < d->hm - 2 * nh + h + 1; i++) { /* 4: nF0B1F1B0 */
        if (i == 0 && d->middle) {
            /* "We don't overlap these two chunks to further reduce bubble size." */
            dual_f(d, b, 0);
            dual_b(d, b, q, 1, 0);
        } else {
            dual_fb(d, b, 0, 1);
        }
        dual_fb(d, b, 1, 0);
    }
    for (int32_t i = 0; i < nh - h - 1; i++) { /* 5: nB1F1B0 */
        dual_b(d, b, q, 1, 0);
        dual_fb(d, b, 1, 0);
    }
    int zb = 0; /* 6: nB1B0, zero bubble from the middle on */
    for (int32_t i = 0; i < h + 1; i++) {
        if (i == (h + 1) / 2 && h % 2 == 1)
            zb = 1;
        dual_b(d, b, q, 1, zb);
        if (i == (h + 1) / 2 && h % 2 == 0)
            zb = 1;
        dual_b(d, b, q, 0, zb);
    }
    for (int32_t i = 0; i < nh - h - 1; i++) { /* 7: nWB0 */
        wq_pop_w(q, b);
        dual_b(d, b, q, 0, 1);
    }
    for (int32_t i = 0; i < h + 1; i++) /* 8: nW */
        wq_pop_w(q, b);
    assert(wq_len(q) == 0);
}

static void build_dualpipe(const shape *sh, int32_t r, builder *b, wqueue *q)
{
    int32_t p = sh->p, nh = p / 2, h = r < p - 1 - r ? r : p - 1 - r;
    int second = r >= nh; /* phase 0 is the reverse direction there */
    dual_rank d = {.nh = nh, .h = h, .hm = sh->m / 2, .middle = h == nh - 1};
    for (int ph = 0; ph < 2; ph++) {
        int dir = ph ^ second;
        d.st[ph] = dir == 0 ? r : p - 1 - r;
        d.mb0[ph] = dir == 0 ? 0 : sh->m / 2;
    }
    dual_phases(&d, b, q);
}

static void build_dualpipev(const shape *sh, int32_t r, builder *b, wqueue *q)
{
    dual_rank d = {.nh = sh->p, .h = r, .hm = sh->m, .middle = r == sh->p - 1};
    d.st[0] = r;
    d.st[1] = 2 * sh->p - 1 - r;
    dual_phases(&d, b, q);
}

/* What each kind needs of (p, m, v), its stage count and its builder. */
static int check_plain(const char *name, const shape *sh, ms_err *err)
{
    if (sh->v != 1)
        return ms_errf(err, MS_EINVAL,
                       "%s: vpp %d: only the interleaved schedule has virtual stages; give 1", name,
                       sh->v);
    return MS_OK;
}

static int check_kind(sched_kind k, shape *sh, ms_err *err)
{
    const char *name = sched_name(k);
    int rc;
    switch (k) {
    case SCHED_INTERLEAVED:
        if (sh->v < 2)
            return ms_errf(err, MS_EINVAL,
                           "interleaved: vpp %d: needs 2 or more model chunks per rank", sh->v);
        if (sh->m % sh->p != 0)
            return ms_errf(err, MS_EINVAL,
                           "interleaved: %d micro-batches: must be a multiple of the %d ranks "
                           "(Megatron-LM's interleaved schedule)",
                           sh->m, sh->p);
        sh->stages = sh->p * sh->v;
        return MS_OK;
    case SCHED_DUALPIPE:
        if ((rc = check_plain(name, sh, err)))
            return rc;
        if (sh->p % 2 != 0)
            return ms_errf(err, MS_EINVAL,
                           "dualpipe: %d ranks: needs an even number (rank r holds stages r and "
                           "ranks-1-r)",
                           sh->p);
        if (sh->m % 2 != 0 || sh->m < 2 * sh->p)
            return ms_errf(
                err, MS_EINVAL,
                "dualpipe: %d micro-batches: needs an even number, at least 2 * %d ranks "
                "= %d (half enter at each end)",
                sh->m, sh->p, 2 * sh->p);
        sh->stages = sh->p;
        return MS_OK;
    case SCHED_DUALPIPEV:
        if ((rc = check_plain(name, sh, err)))
            return rc;
        if (sh->m < 2 * sh->p)
            return ms_errf(err, MS_EINVAL,
                           "dualpipev: %d micro-batches: needs at least 2 * %d ranks = %d", sh->m,
                           sh->p, 2 * sh->p);
        sh->stages = 2 * sh->p;
        return MS_OK;
    default:
        if ((rc = check_plain(name, sh, err)))
            return rc;
        sh->stages = sh->p;
        return MS_OK;
    }
}

static const build_rank_fn builders[SCHED_KIND_COUNT] = {
    [SCHED_GPIPE] = build_gpipe,
    [SCHED_1F1B] = build_1f1b,
    [SCHED_INTERLEAVED] = build_interleaved,
    [SCHED_ZB1P] = build_zb1p,
    [SCHED_DUALPIPE] = build_dualpipe,
    [SCHED_DUALPIPEV] = build_dualpipev,
};

/* ---- checking ---------------------------------------------------------- */

enum { HAS_F = 1, HAS_B = 2, HAS_BW = 4, HAS_W = 8 };

static int task_error(ms_err *err, int32_t r, size_t i, const sched_task *t, const char *what)
{
    return ms_errf(err, MS_EINVAL, "rank %d task %zu (%s of micro-batch %d stage %d): %s", r, i,
                   t->op >= 0 && t->op < SCHED_OP_COUNT ? sched_op_name(t->op) : "?", t->mb,
                   t->stage, what);
}

/* Marks one backward-side use of (mb, stage) on rank r. */
static int mark(sched *s, uint8_t *seen, int32_t r, size_t i, const sched_task *t, int32_t mb,
                int32_t stage, int bit, ms_err *err)
{
    size_t c = (size_t)mb * (size_t)s->stages + (size_t)stage;
    if (!(seen[c] & HAS_F))
        return task_error(err, r, i, t, "no rank runs its forward");
    if (s->rank_of[c] != r)
        return task_error(err, r, i, t, "not on the rank of its forward");
    if (bit == HAS_W) {
        if (!(seen[c] & HAS_B))
            return task_error(err, r, i, t, "a W before (or without) the B of its stage");
        if (seen[c] & HAS_W)
            return task_error(err, r, i, t, "the W appears twice");
    } else if (seen[c] & (HAS_B | HAS_BW)) {
        return task_error(err, r, i, t, "its backward appears twice");
    }
    seen[c] |= (uint8_t)bit;
    return MS_OK;
}

static int in_range(const sched *s, int32_t mb, int32_t stage)
{
    return mb >= 0 && mb < s->microbatches && stage >= 0 && stage < s->stages;
}

/* Fills rank_of and has_pairs from s->tasks and proves the coverage that
 * sched_from_lists promises. */
static int check_cover(sched *s, ms_err *err)
{
    size_t chunks = (size_t)s->microbatches * (size_t)s->stages;
    uint8_t *seen = calloc(chunks, 1);
    if (!seen)
        return ms_errf(err, MS_ENOMEM, "sched: out of memory for %zu stage flags", chunks);
    int rc = MS_OK;
    s->has_pairs = 0;
    for (int32_t r = 0; r < s->ranks && !rc; r++) {
        for (size_t i = s->off[r]; i < s->off[r + 1] && !rc; i++) {
            const sched_task *t = &s->tasks[i];
            size_t at = i - s->off[r];
            if (t->op < 0 || t->op >= SCHED_OP_COUNT)
                rc = task_error(err, r, at, t, "not an operation");
            else if (!in_range(s, t->mb, t->stage))
                rc = task_error(err, r, at, t, "micro-batch or stage out of range");
            else if (t->op == SCHED_FB && !in_range(s, t->mb2, t->stage2))
                rc = task_error(err, r, at, t, "the backward's micro-batch or stage out of range");
            else if (t->op == SCHED_FB && t->mb2 == t->mb)
                rc = task_error(err, r, at, t, "an F&B pairs two chunks of one micro-batch");
            if (rc || (t->op != SCHED_F && t->op != SCHED_FB))
                continue;
            size_t c = (size_t)t->mb * (size_t)s->stages + (size_t)t->stage;
            if (seen[c] & HAS_F)
                rc = task_error(err, r, at, t, "its forward appears twice");
            seen[c] |= HAS_F;
            s->rank_of[c] = r;
        }
    }
    for (int32_t r = 0; r < s->ranks && !rc; r++) {
        for (size_t i = s->off[r]; i < s->off[r + 1] && !rc; i++) {
            const sched_task *t = &s->tasks[i];
            size_t at = i - s->off[r];
            switch (t->op) {
            case SCHED_B:
                rc = mark(s, seen, r, at, t, t->mb, t->stage, HAS_B, err);
                break;
            case SCHED_BW:
                rc = mark(s, seen, r, at, t, t->mb, t->stage, HAS_BW, err);
                break;
            case SCHED_W:
                rc = mark(s, seen, r, at, t, t->mb, t->stage, HAS_W, err);
                break;
            case SCHED_FB:
                s->has_pairs = 1;
                rc = mark(s, seen, r, at, t, t->mb2, t->stage2, HAS_BW, err);
                break;
            default:
                break;
            }
        }
    }
    for (size_t c = 0; c < chunks && !rc; c++) {
        int mb = (int)(c / (size_t)s->stages), stage = (int)(c % (size_t)s->stages);
        const char *what = !(seen[c] & HAS_F)                        ? "has no forward"
                           : !(seen[c] & (HAS_B | HAS_BW))           ? "has no backward"
                           : (seen[c] & HAS_B) && !(seen[c] & HAS_W) ? "has a B but no W"
                                                                     : NULL;
        if (what)
            rc = ms_errf(err, MS_EINVAL, "micro-batch %d stage %d %s", mb, stage, what);
    }
    free(seen);
    return rc;
}

/* Allocates s with room for cap tasks. */
static int sched_alloc(int32_t ranks, int32_t stages, int32_t microbatches, size_t cap, sched **out,
                       ms_err *err)
{
    sched *s = calloc(1, sizeof *s);
    size_t chunks = (size_t)microbatches * (size_t)stages;
    if (s) {
        s->ranks = ranks;
        s->stages = stages;
        s->microbatches = microbatches;
        s->tasks = malloc((cap ? cap : 1) * sizeof *s->tasks);
        s->off = calloc((size_t)ranks + 1, sizeof *s->off);
        s->rank_of = malloc(chunks * sizeof *s->rank_of);
    }
    if (!s || !s->tasks || !s->off || !s->rank_of) {
        sched_free(s);
        return ms_errf(err, MS_ENOMEM, "sched: out of memory for %zu tasks", cap);
    }
    *out = s;
    return MS_OK;
}

static int check_sizes(int ranks, int stages, int microbatches, ms_err *err)
{
    if (ranks < 1 || ranks > MAX_RANKS)
        return ms_errf(err, MS_EINVAL, "%d ranks: expected 1 to %d", ranks, MAX_RANKS);
    if (microbatches < 1)
        return ms_errf(err, MS_EINVAL, "%d micro-batches: expected at least 1", microbatches);
    if (stages < 1 || (long)microbatches * (long)stages > MAX_CHUNKS)
        return ms_errf(err, MS_EINVAL,
                       "%d micro-batches of %d stages: expected at least one stage and at most %ld "
                       "stage chunks in all",
                       microbatches, stages, MAX_CHUNKS);
    return MS_OK;
}

int sched_build(sched_kind k, int ranks, int microbatches, int vpp, sched **out, ms_err *err)
{
    *out = NULL;
    if (k < 0 || k >= SCHED_KIND_COUNT)
        return ms_errf(err, MS_EINVAL, "schedule kind %d: expected one of %s", (int)k,
                       sched_list());
    if (ranks < 1 || ranks > MAX_RANKS)
        return ms_errf(err, MS_EINVAL, "%s: %d ranks: expected 1 to %d", sched_name(k), ranks,
                       MAX_RANKS);
    if (vpp < 1 || vpp > MAX_VPP)
        return ms_errf(err, MS_EINVAL, "%s: vpp %d: expected 1 to %d", sched_name(k), vpp, MAX_VPP);
    if (microbatches < 1)
        return ms_errf(err, MS_EINVAL, "%s: %d micro-batches: expected at least 1", sched_name(k),
                       microbatches);
    shape sh = {.p = ranks, .m = microbatches, .v = vpp};
    int rc = check_kind(k, &sh, err);
    if (rc)
        return rc;
    if ((rc = check_sizes(ranks, sh.stages, microbatches, err)))
        return rc;

    size_t cap = 3 * (size_t)sh.m * (size_t)sh.stages;
    sched *s = NULL;
    wqueue q = {0};
    if ((rc = sched_alloc(sh.p, sh.stages, sh.m, cap, &s, err)))
        return rc;
    builder b = {.t = s->tasks, .n = 0, .cap = cap};
    q.cap = 2 * (size_t)sh.m * (size_t)(sh.stages / sh.p + 1);
    q.mb = malloc(q.cap * sizeof *q.mb);
    q.stage = malloc(q.cap * sizeof *q.stage);
    if (!q.mb || !q.stage) {
        rc = ms_errf(err, MS_ENOMEM, "sched: out of memory for a queue of %zu", q.cap);
        goto out;
    }
    for (int32_t r = 0; r < sh.p; r++) {
        s->off[r] = b.n;
        q.head = q.tail = 0;
        builders[k](&sh, r, &b, &q);
    }
    s->off[sh.p] = b.n;
    rc = check_cover(s, err);
    assert(rc != MS_EINVAL); /* a builder wrote a list that does not cover */
out:
    free(q.mb);
    free(q.stage);
    if (rc) {
        sched_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

int sched_from_lists(int ranks, int stages, int microbatches, const sched_task *const *lists,
                     const size_t *counts, sched **out, ms_err *err)
{
    *out = NULL;
    int rc = check_sizes(ranks, stages, microbatches, err);
    if (rc)
        return rc;
    size_t n = 0;
    for (int r = 0; r < ranks; r++) {
        if (counts[r] > 0 && !lists[r])
            return ms_errf(err, MS_EINVAL, "rank %d: %zu tasks but no list", r, counts[r]);
        if (counts[r] > 3 * (size_t)MAX_CHUNKS)
            return ms_errf(err, MS_EINVAL, "rank %d: %zu tasks: more than any schedule has", r,
                           counts[r]);
        n += counts[r];
    }
    sched *s;
    if ((rc = sched_alloc(ranks, stages, microbatches, n, &s, err)))
        return rc;
    for (int r = 0; r < ranks; r++) {
        s->off[r + 1] = s->off[r] + counts[r];
        if (counts[r] > 0)
            memcpy(s->tasks + s->off[r], lists[r], counts[r] * sizeof *s->tasks);
    }
    if ((rc = check_cover(s, err))) {
        sched_free(s);
        return rc;
    }
    *out = s;
    return MS_OK;
}

void sched_free(sched *s)
{
    if (!s)
        return;
    free(s->tasks);
    free(s->off);
    free(s->rank_of);
    free(s);
}

int sched_ranks(const sched *s)
{
    return s->ranks;
}

int sched_stages(const sched *s)
{
    return s->stages;
}

int sched_microbatches(const sched *s)
{
    return s->microbatches;
}

int sched_rank_of(const sched *s, int mb, int stage)
{
    assert(in_range(s, mb, stage));
    return s->rank_of[(size_t)mb * (size_t)s->stages + (size_t)stage];
}

size_t sched_ntasks(const sched *s, int rank)
{
    assert(rank >= 0 && rank < s->ranks);
    return s->off[rank + 1] - s->off[rank];
}

const sched_task *sched_task_at(const sched *s, int rank, size_t i)
{
    assert(i < sched_ntasks(s, rank));
    return &s->tasks[s->off[rank] + i];
}

/* ---- dependencies ------------------------------------------------------ */

/* A completion of (mb, stage), remote when the rank at the other end,
 * the one holding stage `other`, is not rank. */
static sched_dep dep_at(const sched *s, int32_t rank, int32_t mb, int32_t stage, int grad,
                        int32_t other)
{
    int32_t base = mb * s->stages;
    return (sched_dep){
        .chunk = base + stage, .grad = (uint8_t)grad, .remote = s->rank_of[base + other] != rank};
}

/* The F rule: appends what the forward of (mb, stage) waits for. */
static int inputs_f(const sched *s, int32_t rank, int32_t mb, int32_t stage, sched_dep *in)
{
    if (stage == 0)
        return 0;
    in[0] = dep_at(s, rank, mb, stage - 1, 0, stage - 1);
    return 1;
}

/* The B rule: appends what the input gradient of (mb, stage) waits for.
 * Its own forward ran on this rank (check_cover proved it). */
static int inputs_b(const sched *s, int32_t rank, int32_t mb, int32_t stage, sched_dep *in)
{
    int32_t at = mb * s->stages + stage;
    assert(s->rank_of[at] == rank);
    in[0] = (sched_dep){.chunk = at, .grad = 0, .remote = 0};
    if (stage + 1 == s->stages)
        return 1;
    in[1] = dep_at(s, rank, mb, stage + 1, 1, stage + 1);
    return 2;
}

int sched_task_inputs(const sched *s, int rank, const sched_task *k, sched_dep in[SCHED_MAX_INPUTS])
{
    switch (k->op) {
    case SCHED_F:
        return inputs_f(s, rank, k->mb, k->stage, in);
    case SCHED_B:
    case SCHED_BW:
        return inputs_b(s, rank, k->mb, k->stage, in);
    case SCHED_W:
        in[0] = (sched_dep){.chunk = k->mb * s->stages + k->stage, .grad = 1, .remote = 0};
        return 1;
    case SCHED_FB: {
        int n = inputs_f(s, rank, k->mb, k->stage, in);
        return n + inputs_b(s, rank, k->mb2, k->stage2, in + n);
    }
    default:
        assert(!"not an operation");
        return 0;
    }
}

/* The forward of (mb, stage), sent on when the next stage is elsewhere. */
static sched_dep output_f(const sched *s, int32_t rank, int32_t mb, int32_t stage)
{
    if (stage + 1 == s->stages)
        return (sched_dep){.chunk = mb * s->stages + stage, .grad = 0, .remote = 0};
    return dep_at(s, rank, mb, stage, 0, stage + 1);
}

/* The input gradient of (mb, stage), sent back when the stage before is
 * elsewhere. */
static sched_dep output_b(const sched *s, int32_t rank, int32_t mb, int32_t stage)
{
    if (stage == 0)
        return (sched_dep){.chunk = mb * s->stages, .grad = 1, .remote = 0};
    return dep_at(s, rank, mb, stage, 1, stage - 1);
}

int sched_task_outputs(const sched *s, int rank, const sched_task *k,
                       sched_dep out[SCHED_MAX_OUTPUTS])
{
    switch (k->op) {
    case SCHED_F:
        out[0] = output_f(s, rank, k->mb, k->stage);
        return 1;
    case SCHED_B:
    case SCHED_BW:
        out[0] = output_b(s, rank, k->mb, k->stage);
        return 1;
    case SCHED_W:
        return 0;
    case SCHED_FB:
        out[0] = output_f(s, rank, k->mb, k->stage);
        out[1] = output_b(s, rank, k->mb2, k->stage2);
        return 2;
    default:
        assert(!"not an operation");
        return 0;
    }
}

/* ---- timing ------------------------------------------------------------ */

/* Completion times of forwards and input gradients, -1 while not done. */
typedef struct clock_state {
    const sched *s;
    double p2p_s;
    double *f_done, *b_done;
} clock_state;

/* When task k of rank r can start: the latest arrival of its inputs (0
 * with none), or -1 while one is not made yet. */
static double ready_at(const clock_state *c, int32_t r, const sched_task *k)
{
    sched_dep in[SCHED_MAX_INPUTS];
    int n = sched_task_inputs(c->s, r, k, in);
    double ready = 0;
    for (int i = 0; i < n; i++) {
        double t = (in[i].grad ? c->b_done : c->f_done)[in[i].chunk];
        if (t < 0)
            return -1;
        if (in[i].remote)
            t += c->p2p_s;
        ready = t > ready ? t : ready;
    }
    return ready;
}

static int bad_time(double x, int positive)
{
    return !isfinite(x) || x < 0 || (positive && x == 0);
}

int sched_simulate(const sched *s, const sched_times *t, double *idle_s, sched_result *out,
                   ms_err *err)
{
    if (bad_time(t->f_s, 1) || bad_time(t->b_s, 1) || bad_time(t->w_s, 0) ||
        bad_time(t->p2p_s, 0) || bad_time(t->fb_s, s->has_pairs))
        return ms_errf(err, MS_EINVAL,
                       "task times f_s %g, b_s %g, w_s %g, fb_s %g, p2p_s %g: expected finite "
                       "seconds, f_s and b_s > 0%s, the others >= 0",
                       t->f_s, t->b_s, t->w_s, t->fb_s, t->p2p_s,
                       s->has_pairs ? ", fb_s > 0 (the schedule has F&B pairs)" : "");
    size_t chunks = (size_t)s->microbatches * (size_t)s->stages;
    clock_state c = {.s = s, .p2p_s = t->p2p_s};
    c.f_done = malloc(chunks * sizeof *c.f_done);
    c.b_done = malloc(chunks * sizeof *c.b_done);
    size_t *next = calloc((size_t)s->ranks, sizeof *next);
    double *free_at = calloc((size_t)s->ranks, sizeof *free_at);
    double *busy = calloc((size_t)s->ranks, sizeof *busy);
    int rc = MS_OK;
    if (!c.f_done || !c.b_done || !next || !free_at || !busy) {
        rc = ms_errf(err, MS_ENOMEM, "sched: out of memory simulating %zu stage chunks", chunks);
        goto out;
    }
    for (size_t i = 0; i < chunks; i++)
        c.f_done[i] = c.b_done[i] = -1;
    const double dur[SCHED_OP_COUNT] = {
        [SCHED_F] = t->f_s,           [SCHED_B] = t->b_s,   [SCHED_W] = t->w_s,
        [SCHED_BW] = t->b_s + t->w_s, [SCHED_FB] = t->fb_s,
    };
    size_t left = s->off[s->ranks];
    for (int progress = 1; progress && left > 0;) {
        progress = 0;
        for (int32_t r = 0; r < s->ranks; r++) {
            for (; next[r] < sched_ntasks(s, r); next[r]++) {
                const sched_task *k = sched_task_at(s, r, next[r]);
                double ready = ready_at(&c, r, k);
                if (ready < 0)
                    break;
                double start = ready > free_at[r] ? ready : free_at[r];
                free_at[r] = start + dur[k->op];
                busy[r] += dur[k->op];
                sched_dep made[SCHED_MAX_OUTPUTS];
                int n = sched_task_outputs(s, r, k, made);
                for (int i = 0; i < n; i++)
                    (made[i].grad ? c.b_done : c.f_done)[made[i].chunk] = free_at[r];
                progress = 1;
                left--;
            }
        }
    }
    if (left > 0) {
        int32_t r = 0;
        while (next[r] == sched_ntasks(s, r))
            r++;
        const sched_task *k = sched_task_at(s, r, next[r]);
        rc = ms_errf(err, MS_EINVAL,
                     "deadlock: %zu tasks cannot start; rank %d waits at task %zu (%s of "
                     "micro-batch %d stage %d) for an input no rank will make",
                     left, r, next[r], sched_op_name(k->op), k->mb, k->stage);
        goto out;
    }
    sched_result res = {.makespan_s = 0, .bubble_s = -1, .bubble_rank = 0};
    for (int32_t r = 0; r < s->ranks; r++)
        res.makespan_s = free_at[r] > res.makespan_s ? free_at[r] : res.makespan_s;
    for (int32_t r = 0; r < s->ranks; r++) {
        double idle = res.makespan_s - busy[r];
        if (idle_s)
            idle_s[r] = idle;
        if (idle > res.bubble_s) {
            res.bubble_s = idle;
            res.bubble_rank = r;
        }
    }
    *out = res;
out:
    free(c.f_done);
    free(c.b_done);
    free(next);
    free(free_at);
    free(busy);
    return rc;
}
