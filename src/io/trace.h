/* trace: Chrome trace-event JSON (the format Perfetto and chrome://tracing
 * open): complete events ("ph": "X") on processes and threads that carry
 * names. Written as it goes, so a long trace costs no memory. */
#ifndef MS_TRACE_H
#define MS_TRACE_H

#include <stdio.h>

#include "core/err.h"

typedef struct trace_writer trace_writer;

/* Opens path for writing: the file appears, whole, when trace_close
 * succeeds (src/io/afile), never half-written. MS_EIO naming the path.
 * Caller closes. */
int trace_open(const char *path, trace_writer **out, ms_err *err);

/* Names process pid and its thread tid (metadata events). */
void trace_name_process(trace_writer *w, int pid, const char *name);
void trace_name_thread(trace_writer *w, int pid, int tid, const char *name);

/* One span from start_s lasting dur_s, on (pid, tid), in category cat. */
void trace_span(trace_writer *w, int pid, int tid, const char *name, const char *cat,
                double start_s, double dur_s);

/* Finishes the JSON and puts the file in place; MS_EIO naming the path
 * if any write failed (the file is then not created or replaced).
 * NULL is a no-op returning MS_OK. */
int trace_close(trace_writer *w, ms_err *err);

#endif
