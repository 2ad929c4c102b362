/* Tests of Chrome trace output (src/io/trace): a trace with a named
 * process, a named thread and two spans is JSON that cJSON parses, with
 * the metadata events and the two complete ("ph": "X") events at their
 * times in microseconds. Files live in a fresh temporary directory,
 * removed at the end. */
#include <CUnit/Basic.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/trace.h"
#include "test_assert.h"

static char dir[64];

static int suite_init(void)
{
    strcpy(dir, "/tmp/megasim_test_trace_XXXXXX");
    return mkdtemp(dir) == NULL;
}

static int suite_clean(void)
{
    return rmdir(dir) != 0;
}

/* The whole of path, parsed; NULL (and a failed check) if it is not JSON. */
static cJSON *parse_file(const char *path)
{
    FILE *f = fopen(path, "r");
    CU_ASSERT_FATAL(f != NULL);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    MS_ASSERT_INT_EQ(n < sizeof buf - 1, 1);
    cJSON *json = cJSON_Parse(buf);
    if (!json)
        fprintf(stderr, "\n    not JSON near: %.40s\n", cJSON_GetErrorPtr());
    CU_ASSERT(json != NULL);
    return json;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_two_spans(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/t.json", dir);
    trace_writer *w = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(trace_open(path, &w, &err) == MS_OK);
    trace_name_process(w, 1, "rank 0");
    trace_name_thread(w, 1, 2, "stream \"compute\""); /* the quotes are dropped */
    trace_span(w, 1, 2, "gemm", "compute", 1.5e-3, 2.5e-6);
    trace_span(w, 1, 2, "all-reduce", "comm", 2.0, 1e-12); /* a picosecond */
    MS_ASSERT_INT_EQ(trace_close(w, &err), MS_OK);

    cJSON *json = parse_file(path);
    unlink(path);
    if (!json)
        return;
    MS_ASSERT_STR_EQ(str_of(json, "displayTimeUnit"), "ms");
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(json, "traceEvents");
    CU_ASSERT_FATAL(cJSON_IsArray(events));

    /* Metadata: names of the process and the thread. */
    int process_named = 0, thread_named = 0, nspans = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, events)
    {
        const char *ph = str_of(e, "ph"), *name = str_of(e, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
        if (ph && strcmp(ph, "M") == 0 && name && strcmp(name, "process_name") == 0) {
            process_named++;
            MS_ASSERT_NEAR(num_of(e, "pid"), 1, 0);
            MS_ASSERT_STR_EQ(str_of(args, "name"), "rank 0");
        } else if (ph && strcmp(ph, "M") == 0 && name && strcmp(name, "thread_name") == 0) {
            thread_named++;
            MS_ASSERT_NEAR(num_of(e, "pid"), 1, 0);
            MS_ASSERT_NEAR(num_of(e, "tid"), 2, 0);
            MS_ASSERT_STR_EQ(str_of(args, "name"), "stream compute");
        } else if (ph && strcmp(ph, "X") == 0) {
            nspans++;
        }
    }
    MS_ASSERT_INT_EQ(process_named, 1);
    MS_ASSERT_INT_EQ(thread_named, 1);
    MS_ASSERT_INT_EQ(nspans, 2);

    /* The spans, in the order written, in microseconds. */
    static const struct {
        const char *name, *cat;
        double ts_us, dur_us;
    } spans[] = {
        {"gemm", "compute", 1500, 2.5},
        {"all-reduce", "comm", 2e6, 1e-6},
    };
    size_t k = 0;
    cJSON_ArrayForEach(e, events)
    {
        const char *ph = str_of(e, "ph");
        if (!ph || strcmp(ph, "X") != 0 || k >= sizeof spans / sizeof spans[0])
            continue;
        int ok = MS_ASSERT_STR_EQ(str_of(e, "name"), spans[k].name);
        ok &= MS_ASSERT_STR_EQ(str_of(e, "cat"), spans[k].cat);
        ok &= MS_ASSERT_NEAR(num_of(e, "pid"), 1, 0);
        ok &= MS_ASSERT_NEAR(num_of(e, "tid"), 2, 0);
        ok &= MS_ASSERT_NEAR(num_of(e, "ts"), spans[k].ts_us, 1e-12);
        ok &= MS_ASSERT_NEAR(num_of(e, "dur"), spans[k].dur_us, 1e-12);
        if (!ok)
            fprintf(stderr, "    span %zu\n", k);
        k++;
    }
    cJSON_Delete(json);
}

/* An empty trace is still JSON; a path that cannot be written is named. */
static void test_empty_and_unwritable(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/empty.json", dir);
    trace_writer *w = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(trace_open(path, &w, &err) == MS_OK);
    MS_ASSERT_INT_EQ(trace_close(w, &err), MS_OK);
    cJSON *json = parse_file(path);
    unlink(path);
    CU_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json, "traceEvents")) == 0);
    cJSON_Delete(json);

    MS_ASSERT_INT_EQ(trace_close(NULL, &err), MS_OK);
    snprintf(path, sizeof path, "%s/no/such/dir/t.json", dir);
    w = (trace_writer *)1;
    MS_ASSERT_INT_EQ(trace_open(path, &w, &err), MS_EIO);
    CU_ASSERT(w == NULL);
    MS_ASSERT_STR_HAS(err.msg, path);
}

static CU_TestInfo tests[] = {
    {"a process, a thread and two spans", test_two_spans},
    {"an empty trace; an unwritable path", test_empty_and_unwritable},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "trace", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_trace");
}
