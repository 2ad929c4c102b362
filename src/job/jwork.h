/* jwork: items of a job run in worker processes (fork), for jobs whose
 * items are independent runs (a frontier's designs, a sweep's points).
 * Each worker takes the next item not yet taken (a counter the workers
 * share), so that the work spreads evenly however long each item runs,
 * and sends each item's
 * result, a record of at most JWORK_RECORD_MAX bytes, through its pipe in
 * one write (no longer than PIPE_BUF, so never interleaved); the parent
 * hands each record to the caller as it arrives, from whichever worker
 * has one. With one job the items run in the caller's process, in order. */
#ifndef MS_JWORK_H
#define MS_JWORK_H

#include <stddef.h>

#include "core/err.h"

#define JWORK_RECORD_MAX 3900

/* In the worker: runs item, writes its record into rec (cap bytes) and
 * returns its length; (size_t)-1 when it cannot (the worker then stops
 * and the run fails). */
typedef size_t (*jwork_fn)(void *ctx, size_t item, char *rec, size_t cap);
/* In the parent: takes item's record. A non-zero return stops the run
 * with that error. */
typedef int (*jwork_take_fn)(void *ctx, size_t item, const char *rec, size_t len, ms_err *err);

/* The processors online, 1 to 64: the jobs a run uses by default. */
int jwork_default_jobs(void);

/* Runs items[0..n) in jobs processes (at most 64, at most n). Fails with
 * MS_EIO when a pipe or fork fails or a worker dies before sending every
 * record (naming how many were lost), or with take's error. */
int jwork_run(const size_t *items, size_t n, int jobs, jwork_fn work, jwork_take_fn take, void *ctx,
              ms_err *err);

#endif
