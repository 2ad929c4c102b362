/* Tests of request streams (src/serve/reqs): Poisson and bursty gaps
 * against their laws within statistical tolerance, all-at-zero, stopping
 * by count and by duration, lengths that do not depend on the rate,
 * determinism under a seed, spec checks, and CSV traces good and bad
 * (errors naming file, line and column). */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/reqs.h"
#include "test_assert.h"

#define N 100000

static char tmpdir[64];
static dist in_len, out_len; /* uniform:1:4096 and lognormal:200:1 */

static int suite_init(void)
{
    ms_err err;
    strcpy(tmpdir, "/tmp/megasim_reqs_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    if (dist_parse("uniform:1:4096", "--input-len", NULL, &in_len, &err) ||
        dist_parse("lognormal:200:1", "--output-len", NULL, &out_len, &err))
        return -1;
    return 0;
}

static int suite_clean(void)
{
    dist_free(&in_len);
    dist_free(&out_len);
    return rmdir(tmpdir);
}

static const char *temp_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static reqs_spec open_loop(reqs_kind kind, double rate, double cv, int64_t count, uint64_t seed)
{
    return (reqs_spec){.kind = kind,
                       .rate_per_s = rate,
                       .burst_cv = cv,
                       .input_len = &in_len,
                       .output_len = &out_len,
                       .count = count,
                       .seed = seed};
}

static reqs *make(const reqs_spec *s)
{
    reqs *r = NULL;
    ms_err err = {0};
    int rc = reqs_new(s, &r, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK && r != NULL);
    return r;
}

/* Runs the stream to its end; returns the requests given and fills the
 * mean and coefficient of variation of the gaps (the first gap is from
 * time 0), checking that arrivals never decrease and lengths are >= 1. */
static int64_t gap_stats(reqs *r, double *mean, double *cv, double *last_s)
{
    req q;
    double prev = 0, sum = 0, sum2 = 0;
    int64_t n = 0, bad = 0;
    while (reqs_next(r, &q)) {
        double gap = q.arrival_s - prev;
        bad += gap < 0 || q.input_tokens < 1 || q.output_tokens < 1;
        sum += gap;
        sum2 += gap * gap;
        prev = q.arrival_s;
        n++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(reqs_next(r, &q), 0); /* stays done */
    *mean = sum / (double)n;
    *cv = sqrt(sum2 / (double)n - *mean * *mean) / *mean;
    *last_s = prev;
    return n;
}

static void check_close(const char *what, double actual, double expect, double tol)
{
    MS_ASSERT_WITHIN_AS(what, actual, expect, tol);
}

static void test_poisson(void)
{
    reqs_spec s = open_loop(REQS_POISSON, 50, 0, N, 1);
    reqs *r = make(&s);
    double mean, cv, last;
    CU_ASSERT_EQUAL(reqs_total(r), N);
    CU_ASSERT_EQUAL(gap_stats(r, &mean, &cv, &last), N);
    /* Exponential gaps: sd = mean, so the mean's standard error is
     * mean / sqrt(N); the sample CV's is about 1 / sqrt(N) times 1.1. */
    check_close("Poisson mean gap", mean, 1.0 / 50, 5 * (1.0 / 50) / sqrt(N));
    check_close("Poisson gap CV", cv, 1.0, 0.02);
    reqs_free(r);
}

static void test_bursty(void)
{
    static const double cvs[] = {0.5, 1, 2, 4};
    for (size_t i = 0; i < sizeof cvs / sizeof cvs[0]; i++) {
        reqs_spec s = open_loop(REQS_BURSTY, 20, cvs[i], N, 2 + i);
        reqs *r = make(&s);
        double mean, cv, last;
        char what[64];
        CU_ASSERT_EQUAL(gap_stats(r, &mean, &cv, &last), N);
        snprintf(what, sizeof what, "bursty CV %g: mean gap", cvs[i]);
        check_close(what, mean, 1.0 / 20, 5 * cvs[i] * (1.0 / 20) / sqrt(N));
        /* Gamma gaps of shape k = 1/CV^2 have excess kurtosis 6/k, so the
         * sample CV wobbles more as CV grows: allow 6% of it. */
        snprintf(what, sizeof what, "bursty CV %g: gap CV", cvs[i]);
        check_close(what, cv, cvs[i], 0.06 * cvs[i]);
        reqs_free(r);
    }
}

static void test_at_zero(void)
{
    reqs_spec s = open_loop(REQS_AT_ZERO, 0, 0, 1000, 3);
    s.duration_s = 5; /* ignored: every arrival is at 0 */
    reqs *r = make(&s);
    req q;
    int64_t n = 0, nonzero = 0, sum_in = 0;
    CU_ASSERT_EQUAL(reqs_total(r), 1000);
    while (reqs_next(r, &q)) {
        nonzero += q.arrival_s != 0;
        sum_in += q.input_tokens;
        n++;
    }
    CU_ASSERT_EQUAL(n, 1000);
    CU_ASSERT_EQUAL(nonzero, 0);
    CU_ASSERT(sum_in > 1000); /* lengths are still drawn */
    reqs_free(r);
}

/* Stops at the first arrival after duration_s: about rate x duration
 * requests, none later than duration_s. */
static void test_duration(void)
{
    reqs_spec s = open_loop(REQS_POISSON, 100, 0, 0, 4);
    s.duration_s = 100;
    reqs *r = make(&s);
    double mean, cv, last;
    CU_ASSERT_EQUAL(reqs_total(r), -1);
    int64_t n = gap_stats(r, &mean, &cv, &last);
    check_close("requests in 100 s at 100/s", (double)n, 10000, 5 * sqrt(10000));
    CU_ASSERT(last <= 100);
    CU_ASSERT(last > 99);
    reqs_free(r);

    /* Both set: whichever ends first. */
    s.count = 50;
    r = make(&s);
    CU_ASSERT_EQUAL(gap_stats(r, &mean, &cv, &last), 50);
    reqs_free(r);
}

/* A million generated requests are cheap (no arrays: this runs in a
 * fraction of a second and ASan sees no large allocation). */
static void test_million(void)
{
    reqs_spec s = open_loop(REQS_POISSON, 1e4, 0, 1000000, 5);
    reqs *r = make(&s);
    req q;
    int64_t n = 0;
    while (reqs_next(r, &q))
        n++;
    CU_ASSERT_EQUAL(n, 1000000);
    reqs_free(r);
}

/* Separate streams: the rate changes the arrivals, never the lengths. */
static void test_lengths_ignore_rate(void)
{
    reqs_spec a = open_loop(REQS_POISSON, 10, 0, 2000, 42);
    reqs_spec b = open_loop(REQS_BURSTY, 1000, 3, 2000, 42);
    reqs *ra = make(&a), *rb = make(&b);
    req qa, qb;
    int same_len = 1, same_time = 0;
    while (reqs_next(ra, &qa) && reqs_next(rb, &qb)) {
        same_len &= qa.input_tokens == qb.input_tokens && qa.output_tokens == qb.output_tokens;
        same_time += qa.arrival_s == qb.arrival_s;
    }
    CU_ASSERT(same_len);
    CU_ASSERT_EQUAL(same_time, 0);
    reqs_free(ra);
    reqs_free(rb);
}

/* Same seed, same stream; another seed, another stream. */
static void test_determinism(void)
{
    reqs_spec s = open_loop(REQS_BURSTY, 30, 2, 5000, 7);
    reqs *a = make(&s), *b = make(&s);
    s.seed = 8;
    reqs *c = make(&s);
    req qa, qb, qc;
    int same = 1, diff_time = 0, diff_len = 0;
    while (reqs_next(a, &qa)) {
        CU_ASSERT_FATAL(reqs_next(b, &qb) && reqs_next(c, &qc));
        same &= memcmp(&qa, &qb, sizeof qa) == 0;
        diff_time += qa.arrival_s != qc.arrival_s;
        diff_len += qa.input_tokens != qc.input_tokens;
    }
    CU_ASSERT(same);
    CU_ASSERT(diff_time > 4000);
    CU_ASSERT(diff_len > 4000);
    reqs_free(a);
    reqs_free(b);
    reqs_free(c);
}

static void test_bad_specs(void)
{
    static const struct {
        const char *what;
        reqs_kind kind;
        double rate, cv;
        int64_t count;
        double duration_s;
        const char *expect;
    } cases[] = {
        {"zero rate", REQS_POISSON, 0, 0, 10, 0, "--rate: expected a finite number"},
        {"negative rate", REQS_BURSTY, -1, 2, 10, 0, "--rate: expected a finite number"},
        {"infinite rate", REQS_POISSON, INFINITY, 0, 10, 0, "got inf"},
        {"NaN rate", REQS_POISSON, NAN, 0, 10, 0, "--rate"},
        {"zero CV", REQS_BURSTY, 1, 0, 10, 0, "--burstiness: expected a finite coefficient"},
        {"negative count", REQS_POISSON, 1, 0, -5, 0, "--requests: expected a number of requests"},
        {"negative duration", REQS_POISSON, 1, 0, 10, -1, "--duration: expected finite seconds"},
        {"no end", REQS_POISSON, 1, 0, 0, 0, "needs one of them"},
        {"at zero, no count", REQS_AT_ZERO, 0, 0, 0, 10, "--requests: requests all at time zero"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reqs_spec s = open_loop(cases[i].kind, cases[i].rate, cases[i].cv, cases[i].count, 1);
        s.duration_s = cases[i].duration_s;
        reqs *r = (reqs *)1;
        ms_err err = {0};
        int rc = reqs_new(&s, &r, &err);
        int ok = rc == (err.msg[0] == '-' ? MS_EUSAGE : MS_EINVAL) && r == NULL &&
                 strstr(err.msg, cases[i].expect);
        if (!ok)
            printf("\n    case '%s': rc %d, message \"%s\"; expected \"%s\"\n", cases[i].what, rc,
                   err.msg, cases[i].expect);
        CU_ASSERT(ok);
    }
}

static reqs_spec trace_spec(const char *path, int64_t count)
{
    return (reqs_spec){.kind = REQS_TRACE, .trace_path = path, .count = count};
}

/* Columns in any order, an extra column ignored, a blank line skipped,
 * equal times allowed. */
static void test_trace_good(void)
{
    static const req want[] = {{0, 100, 20}, {0.5, 2048, 1}, {0.5, 7, 300}, {2.25, 1, 8}};
    reqs_spec s = trace_spec("tests/data/traces/small.csv", 0);
    reqs *r = make(&s);
    req q;
    size_t n = 0;
    CU_ASSERT_EQUAL(reqs_total(r), 4);
    while (reqs_next(r, &q)) {
        CU_ASSERT_FATAL(n < 4);
        int ok = q.arrival_s == want[n].arrival_s && q.input_tokens == want[n].input_tokens &&
                 q.output_tokens == want[n].output_tokens;
        if (!ok)
            printf("\n    row %zu: %g %lld %lld\n", n, q.arrival_s, (long long)q.input_tokens,
                   (long long)q.output_tokens);
        CU_ASSERT(ok);
        n++;
    }
    CU_ASSERT_EQUAL(n, 4);
    reqs_free(r);

    s.count = 2; /* truncates */
    r = make(&s);
    CU_ASSERT_EQUAL(reqs_total(r), 2);
    n = 0;
    while (reqs_next(r, &q))
        n++;
    CU_ASSERT_EQUAL(n, 2);
    reqs_free(r);

    s.count = 10; /* longer than the trace: the trace's rows */
    r = make(&s);
    CU_ASSERT_EQUAL(reqs_total(r), 4);
    reqs_free(r);
}

static void test_trace_bad(void)
{
    static const struct {
        const char *what, *text;
        int code;
        const char *expect; /* after "PATH" */
    } cases[] = {
        {"negative length", "arrival_s,input_tokens,output_tokens\n0,10,5\n1,-3,5\n", MS_EPARSE,
         ":3: column 'input_tokens': expected a whole number of tokens from 1 to 10^8, got "
         "\"-3\""},
        {"zero length", "arrival_s,input_tokens,output_tokens\n0,10,0\n", MS_EPARSE,
         ":2: column 'output_tokens': expected a whole number of tokens"},
        {"unsorted", "arrival_s,input_tokens,output_tokens\n0,1,1\n2.5,1,1\n\n2.25,1,1\n",
         MS_EPARSE, ":5: column 'arrival_s': 2.25 is earlier than 2.5 on line 3"},
        {"missing column", "arrival_s,input_tokens,tokens_out\n0,1,1\n", MS_EPARSE,
         ":1: missing column 'output_tokens' in the header"},
        {"non-numeric time", "arrival_s,input_tokens,output_tokens\n0,1,1\nsoon,1,1\n", MS_EPARSE,
         ":3: column 'arrival_s': expected finite seconds >= 0, got \"soon\""},
        {"non-numeric length", "arrival_s,input_tokens,output_tokens\n0,12k,1\n", MS_EPARSE,
         ":2: column 'input_tokens': expected a whole number of tokens from 1 to 10^8, got "
         "\"12k\""},
        {"negative time", "arrival_s,input_tokens,output_tokens\n-1,1,1\n", MS_EPARSE,
         ":2: column 'arrival_s': expected finite seconds >= 0, got \"-1\""},
        {"infinite time", "arrival_s,input_tokens,output_tokens\ninf,1,1\n", MS_EPARSE,
         ":2: column 'arrival_s'"},
        {"blank length", "arrival_s,input_tokens,output_tokens\n0,,1\n", MS_EPARSE,
         ":2: column 'input_tokens'"},
        {"short row", "arrival_s,input_tokens,output_tokens\n0,1\n", MS_EPARSE,
         ":2: row has 2 fields, the header has 3"},
        {"no rows", "arrival_s,input_tokens,output_tokens\n", MS_EPARSE, ": no requests"},
        {"empty file", "", MS_EPARSE, ": empty file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char expect[300];
        const char *path = temp_file("trace.csv", cases[i].text);
        snprintf(expect, sizeof expect, "%s%s", path, cases[i].expect);
        reqs_spec s = trace_spec(path, 0);
        reqs *r = (reqs *)1;
        ms_err err = {0};
        int rc = reqs_new(&s, &r, &err);
        int ok = rc == cases[i].code && r == NULL && strstr(err.msg, expect);
        if (!ok)
            printf("\n    case '%s': rc %d, message \"%s\"; expected rc %d and \"%s\"\n",
                   cases[i].what, rc, err.msg, cases[i].code, expect);
        CU_ASSERT(ok);
        unlink(path);
    }

    reqs_spec s = trace_spec("tests/data/traces/no-such.csv", 0);
    reqs *r = (reqs *)1;
    ms_err err = {0};
    CU_ASSERT_EQUAL(reqs_new(&s, &r, &err), MS_EIO);
    CU_ASSERT(r == NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tests/data/traces/no-such.csv: cannot open"));
}

static CU_TestInfo reqs_tests[] = {
    {"Poisson: mean gap and CV 1", test_poisson},
    {"bursty: mean gap and CV as asked", test_bursty},
    {"all at time zero", test_at_zero},
    {"ends at duration_s", test_duration},
    {"a million requests", test_million},
    {"the rate does not change lengths", test_lengths_ignore_rate},
    {"same seed, same stream", test_determinism},
    {"bad specs name the option", test_bad_specs},
    {"good trace", test_trace_good},
    {"bad traces name file, line and column", test_trace_bad},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "reqs", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = reqs_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_reqs");
}
