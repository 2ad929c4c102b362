/* trace: see trace.h. */
#include "io/trace.h"

#include <stdlib.h>
#include <string.h>

#include "io/afile.h"

struct trace_writer {
    afile *af; /* the file appears when closed, whole */
    FILE *f;
    int first;
};

int trace_open(const char *path, trace_writer **out, ms_err *err)
{
    *out = NULL;
    trace_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    int rc = afile_open(path, &w->af, err);
    if (rc) {
        free(w);
        return rc;
    }
    w->f = afile_stream(w->af);
    w->first = 1;
    fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", w->f);
    *out = w;
    return MS_OK;
}

/* Names come from megasim itself; quotes and backslashes are dropped
 * rather than escaped. */
static void put_name(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
            fputc(*s, f);
    fputc('"', f);
}

static void sep(trace_writer *w)
{
    if (!w->first)
        fputs(",\n", w->f);
    w->first = 0;
}

void trace_name_process(trace_writer *w, int pid, const char *name)
{
    sep(w);
    fprintf(w->f,
            "{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %d, \"args\": {\"name\": ", pid);
    put_name(w->f, name);
    fputs("}}", w->f);
    sep(w);
    fprintf(w->f,
            "{\"ph\": \"M\", \"name\": \"process_sort_index\", \"pid\": %d, \"args\": "
            "{\"sort_index\": %d}}",
            pid, pid);
}

void trace_name_thread(trace_writer *w, int pid, int tid, const char *name)
{
    sep(w);
    fprintf(w->f,
            "{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %d, \"tid\": %d, \"args\": "
            "{\"name\": ",
            pid, tid);
    put_name(w->f, name);
    fputs("}}", w->f);
}

void trace_span(trace_writer *w, int pid, int tid, const char *name, const char *cat,
                double start_s, double dur_s)
{
    sep(w);
    fputs("{\"ph\": \"X\", \"name\": ", w->f);
    put_name(w->f, name);
    fputs(", \"cat\": ", w->f);
    put_name(w->f, cat);
    /* Microseconds, to the picosecond the engine keeps. */
    fprintf(w->f, ", \"pid\": %d, \"tid\": %d, \"ts\": %.6f, \"dur\": %.6f}", pid, tid,
            start_s * 1e6, dur_s * 1e6);
}

int trace_close(trace_writer *w, ms_err *err)
{
    if (!w)
        return MS_OK;
    fputs("\n]}\n", w->f);
    int rc = afile_commit(w->af, err);
    free(w);
    return rc;
}
