/* reqs: the stream of requests a serving fleet receives, each with an
 * arrival time, a prompt length and an output length:
 *  - open loop: Poisson arrivals at a rate, or bursty ones (gamma
 *    distributed gaps with a coefficient of variation above 1, as
 *    vLLM's benchmark does; CV 1 is Poisson), lengths drawn from dists;
 *  - all at time zero (a maximum-throughput run: --rate inf);
 *  - replayed from a CSV trace with columns arrival_s, input_tokens,
 *    output_tokens (sorted by arrival; extra columns ignored).
 * A closed loop (fixed concurrency) uses the same stream for lengths and
 * sets arrival times itself. Same seed, same stream. */
#ifndef MS_REQS_H
#define MS_REQS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "serve/dist.h"

typedef struct req {
    double arrival_s;
    int64_t input_tokens;  /* >= 1 */
    int64_t output_tokens; /* >= 1 */
} req;

typedef enum reqs_kind { REQS_POISSON, REQS_BURSTY, REQS_AT_ZERO, REQS_TRACE } reqs_kind;

typedef struct reqs_spec {
    reqs_kind kind;
    double rate_per_s;      /* POISSON, BURSTY: mean arrivals per second, > 0 */
    double burst_cv;        /* BURSTY: coefficient of variation of the gaps, > 0 */
    const dist *input_len;  /* borrowed; not used by TRACE */
    const dist *output_len; /* borrowed; not used by TRACE */
    int64_t count;          /* requests to make; 0 = until duration_s (open loop) */
    double duration_s;      /* open loop: stop at the first arrival after this; 0 = none */
    uint64_t seed;
    const char *trace_path; /* TRACE */
} reqs_spec;

typedef struct reqs reqs;

/* Checks spec and, for TRACE, reads the whole trace. Fails with
 * MS_EINVAL naming the megasim serve option at fault ("--rate",
 * "--burstiness" for burst_cv, "--requests" for count, "--duration",
 * "--replay" for trace_path): rate must be > 0 and finite, CV
 * > 0 and finite, count >= 0, duration_s >= 0 and finite, one of count
 * and duration_s set for open loop, count set for AT_ZERO (a duration
 * never ends it); with MS_EIO for a trace that cannot be read, MS_EPARSE
 * for a missing column, a row of the wrong width, a non-numeric, negative,
 * zero, fractional or > 10^8 length, a negative or non-finite time, a
 * time earlier than the row before, or no rows, each naming file, line
 * and column. count, when set, truncates a trace. Generated streams hold
 * O(1) memory, a trace 24 bytes a row. The first open-loop arrival is one
 * gap after time zero; trace times are used as written. The lengths are
 * drawn from rng streams 1 and 2 of seed and the gaps from stream 0, so
 * a different rate or CV leaves the lengths as they were. input_len and
 * output_len must outlive the stream. Free with reqs_free. */
int reqs_new(const reqs_spec *spec, reqs **out, ms_err *err);

/* NULL is a no-op. */
void reqs_free(reqs *r);

/* The next request into *out: returns 1, or 0 when the stream is done.
 * Arrival times never decrease. */
int reqs_next(reqs *r, req *out);

/* Requests the stream will give in all: count, the trace's rows (after
 * truncation to count), or -1 when duration_s is set for an open loop
 * (it may end the stream before count). */
int64_t reqs_total(const reqs *r);

/* The mean output length of the stream's requests: the distribution's
 * mean, or the trace's. What a server can know of its workload ahead of
 * time (for admission that plans for growth). */
double reqs_mean_output(const reqs *r);

/* The mean of the output lengths' squares, likewise. */
double reqs_mean_output_square(const reqs *r);

#endif
