/* sim: the sequential discrete-event engine. A simulation is a clock and a
 * queue of pending events; each event is a handler, a context pointer and a
 * small inline payload, run at its time. Events with equal times run in the
 * order they were scheduled (the queue keeps scheduling order; nothing
 * depends on addresses), so the same inputs always give the same execution
 * order. The engine knows nothing of GPUs. Scheduling and running an event
 * cost O(1) amortised (see sim.c for the queue and its benchmark).
 *
 * Ownership: whoever calls sim_new calls sim_free. The engine never owns
 * the ctx pointers it is given; it passes them back to the handlers. */
#ifndef MS_SIM_H
#define MS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Simulated time in integer picoseconds since the start of the run, so that
 * ordering is exact and runs are reproducible. INT64_MAX ps is about 106
 * days. */
typedef int64_t sim_time;

#define SIM_PS_PER_S INT64_C(1000000000000)
#define SIM_TIME_MAX INT64_MAX

/* Seconds to picoseconds, rounded to nearest. Asserts s is finite, >= 0
 * and below SIM_TIME_MAX picoseconds: a negative or unbounded time is a
 * bug in the caller, not bad input (validate input before converting). */
sim_time sim_time_from_s(double s);

/* The most seconds a run can reach: SIM_TIME_MAX ps, about 106.75 days. */
#define SIM_TIME_MAX_S 9223372.036854775

/* Seconds to picoseconds, checked: 0 and *out set when s is finite, >= 0
 * and below SIM_TIME_MAX picoseconds; -1 (nothing set) otherwise. For
 * times computed from input, where sim_time_from_s would assert. */
int sim_time_try_from_s(double s, sim_time *out);

/* Picoseconds to seconds (exact below 2^53 ps, about 2.5 hours). */
double sim_time_to_s(sim_time t);

typedef struct sim sim;

/* Two words of data carried inline by each event and handed to its
 * handler by value: use whichever member the handler expects. */
typedef union sim_payload {
    uint64_t u64[2];
    int64_t i64[2];
    double f64[2];
    void *ptr[2];
} sim_payload;

/* Runs one event at sim_now(s). It may schedule and cancel events, and call
 * sim_stop; it must not call sim_run, sim_run_until or sim_free. */
typedef void (*sim_handler)(sim *s, void *ctx, sim_payload p);

/* Names one scheduled event, for sim_cancel. A value: copy it freely. An id
 * stays valid only until its event runs or is cancelled; after that its
 * slot may be recycled, and the generation makes the old id stale (it can
 * never cancel the new event). {0} is SIM_EVENT_NONE. */
typedef struct sim_event_id {
    uint32_t slot;
    uint32_t gen; /* never 0 for a real event */
} sim_event_id;

#define SIM_EVENT_NONE ((sim_event_id){.slot = 0, .gen = 0})

static inline bool sim_event_is_none(sim_event_id id)
{
    return id.gen == 0;
}

/* Creates an empty simulation at time 0. Returns MS_OK and sets *out, or
 * MS_ENOMEM with a message in err. Free with sim_free. Memory: about 0.5 MB
 * from the first sim_at on, plus about 56 bytes per pending event; it
 * follows the peak number of pending events and is returned by sim_free. */
int sim_new(sim **out, ms_err *err);

/* Frees s and every pending event; NULL is a no-op. */
void sim_free(sim *s);

/* Schedules h(s, ctx, p) at time t. Asserts h != NULL and t >= sim_now(s)
 * (scheduling in the past is a bug). An event scheduled at the current time
 * from inside a handler runs after every event already scheduled for that
 * time. If memory runs out, returns SIM_EVENT_NONE and records a sticky
 * MS_ENOMEM that the next sim_run / sim_run_until returns. */
sim_event_id sim_at(sim *s, sim_time t, sim_handler h, void *ctx, sim_payload p);

/* sim_at(s, sim_now(s) + delay, ...). Asserts delay >= 0 and no overflow. */
sim_event_id sim_after(sim *s, sim_time delay, sim_handler h, void *ctx, sim_payload p);

/* Schedules h at base + delay_s seconds (base >= 0; the sum must not be
 * before sim_now(s), as for sim_at), checked:
 * when delay_s is not finite or negative, or the time would pass
 * SIM_TIME_MAX, schedules nothing, returns SIM_EVENT_NONE and records a
 * sticky MS_EINVAL that the next sim_run / sim_run_until returns, saying
 * the run went past the time it can hold (sim_time_overflow). Every time
 * computed from input goes through here or sim_time_try_from_s. */
sim_event_id sim_at_plus_s(sim *s, sim_time base, double delay_s, sim_handler h, void *ctx,
                           sim_payload p);

/* sim_at_plus_s(s, sim_now(s), delay_s, ...). */
sim_event_id sim_after_s(sim *s, double delay_s, sim_handler h, void *ctx, sim_payload p);

/* Records the sticky MS_EINVAL for a time at_s seconds (not finite, or
 * past SIM_TIME_MAX_S) that a caller computed and cannot schedule; stops
 * the run in progress after the running handler. */
void sim_time_overflow(sim *s, double at_s);

/* Cancels a pending event. Returns true if it was pending and now will not
 * run; false if it already ran (or is running), was already cancelled, or
 * id is stale or SIM_EVENT_NONE. O(1) amortised; a cancelled event's
 * memory is reclaimed lazily. */
bool sim_cancel(sim *s, sim_event_id id);

/* Runs events in (time, scheduling order) until none is pending or a
 * handler calls sim_stop. Returns MS_OK, or the sticky error (MS_ENOMEM,
 * message in err) as soon as the handler that hit it returns. Asserts it
 * is not called from a handler. */
int sim_run(sim *s, ms_err *err);

/* Like sim_run, but runs only the events with time <= t_end; then, unless a
 * handler called sim_stop or an error stopped the run, sets the clock to
 * t_end. Later events stay pending. Asserts t_end >= sim_now(s). */
int sim_run_until(sim *s, sim_time t_end, ms_err *err);

/* From a handler: ends the current run after this handler returns, leaving
 * the clock at this event's time and the rest pending; a later run goes on
 * from there. Outside a run it has no effect. */
void sim_stop(sim *s);

/* The current time: that of the event running, or of the last one run. */
sim_time sim_now(const sim *s);

/* Events scheduled and neither run nor cancelled. */
size_t sim_pending(const sim *s);

/* Events run (handlers called) since sim_new. */
uint64_t sim_events_run(const sim *s);

/* Test hooks, for the unhappy paths (STYLE.md 13); not for models. */

/* The next n internal allocations succeed and every later one fails, as if
 * memory had run out; n < 0 turns the hook off (the default). */
void sim_test_fail_alloc_after(sim *s, long n);

#endif
