/* Tests of token-length distributions (src/serve/dist): specs good and
 * bad, sample means and frequencies against the law within statistical
 * tolerance, determinism under a seed, and length tables read from CSV
 * with errors naming file, line and column. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/dist.h"
#include "test_assert.h"

#define DRAWS 100000

/* A scratch directory for the bad tables, made by the suite's init. */
static char tmpdir[64];

static int suite_init(void)
{
    strcpy(tmpdir, "/tmp/megasim_dist_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    return rmdir(tmpdir);
}

/* Writes text to name under tmpdir; returns the path (static buffer). */
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

/* A spec that parses to kind with parameters a, b; one that fails with
 * code and a message holding expect. */
#define GOOD(spec, kind, a, b)                                                                     \
    {                                                                                              \
        spec, MS_OK, NULL, kind, a, b                                                              \
    }
#define BAD(spec, code, expect)                                                                    \
    {                                                                                              \
        spec, code, expect, DIST_FIXED, 0, 0                                                       \
    }

static void test_parse_cases(void)
{
    static const struct {
        const char *spec;
        int code;
        const char *expect; /* substring of the message; NULL when it parses */
        dist_kind kind;
        double a, b;
    } cases[] = {
        GOOD("fixed:7", DIST_FIXED, 7, 7),
        GOOD("fixed:1", DIST_FIXED, 1, 1),
        GOOD("fixed:100000000", DIST_FIXED, 1e8, 1e8),
        GOOD("uniform:10:20", DIST_UNIFORM, 10, 20),
        GOOD("uniform:5:5", DIST_UNIFORM, 5, 5),
        GOOD("lognormal:200:0.8", DIST_LOGNORMAL, 200, 0.8),
        GOOD("lognormal:1:0", DIST_LOGNORMAL, 1, 0),
        GOOD("lognormal:1e3:4", DIST_LOGNORMAL, 1000, 4),
        BAD("lognormal:0:1", MS_EINVAL,
            "--output-len: expected lognormal:MEDIAN:SIGMA with MEDIAN >= 1, got 'lognormal:0:1'"),
        BAD("lognormal:100:-0.5", MS_EINVAL, "with 0 <= SIGMA <= 4, got 'lognormal:100:-0.5'"),
        BAD("lognormal:100:4.5", MS_EINVAL, "with 0 <= SIGMA <= 4"),
        BAD("lognormal:2e8:1", MS_EINVAL, "MEDIAN <= 10^8 tokens"),
        GOOD("lognormal:100:1:2", DIST_LOGNORMAL, 100, 1),
        BAD("lognormal:100", MS_EINVAL,
            "expected lognormal:MEDIAN:SIGMA or lognormal:MEDIAN:SIGMA:MAX with numbers"),
        BAD("lognormal:100:1:2:3", MS_EINVAL, "lognormal:MEDIAN:SIGMA:MAX with numbers"),
        BAD("lognormal:x:1", MS_EINVAL, "with numbers, got 'lognormal:x:1'"),
        BAD("lognormal:nan:1", MS_EINVAL, "with numbers"),
        BAD("lognormal:100:1:2.5", MS_EINVAL, "MAX a whole number of tokens from 1 to 10^8"),
        BAD("lognormal:100:1:0", MS_EINVAL, "MAX a whole number"),
        BAD("lognormal:100:1:1e9", MS_EINVAL, "MAX a whole number"),
        BAD("fixed:0", MS_EINVAL, "--output-len: expected fixed:N with N a whole number"),
        BAD("fixed:2.5", MS_EINVAL, "got 'fixed:2.5'"),
        BAD("fixed:abc", MS_EINVAL, "got 'fixed:abc'"),
        BAD("fixed:", MS_EINVAL, "expected fixed:N"),
        BAD("fixed", MS_EINVAL, "expected fixed:N"),
        BAD("fixed:3:4", MS_EINVAL, "got 'fixed:3:4'"),
        BAD("fixed:1e9", MS_EINVAL, "from 1 to 10^8"),
        BAD("fixed:inf", MS_EINVAL, "expected fixed:N"),
        BAD("fixed: 5", MS_EINVAL, "expected fixed:N"),
        BAD("fixed:5x", MS_EINVAL, "expected fixed:N"),
        BAD("uniform:5", MS_EINVAL, "expected uniform:A:B"),
        BAD("uniform:0:10", MS_EINVAL, "expected uniform:A:B with A and B whole numbers"),
        BAD("uniform:20:10", MS_EINVAL, "expected uniform:A:B with B >= A, got 'uniform:20:10'"),
        BAD("gamma:3:4", MS_EINVAL,
            "--output-len: unknown distribution 'gamma:3:4': expected one of fixed:N, uniform:A:B, "
            "lognormal:MEDIAN:SIGMA[:MAX], table:FILE, scaled:MEAN:FILE"),
        BAD("", MS_EINVAL, "unknown distribution ''"),
        BAD("FIXED:3", MS_EINVAL, "unknown distribution"),
        BAD("table:", MS_EINVAL, "expected table:FILE with a file name"),
        BAD("table:no/such/file.csv", MS_EIO, "no/such/file.csv"),
        BAD("scaled:", MS_EINVAL, "expected scaled:MEAN:FILE (a mean in tokens, then a length"),
        BAD("scaled:300", MS_EINVAL, "got 'scaled:300'"),
        BAD("scaled:300:", MS_EINVAL, "expected scaled:MEAN:FILE (a mean"),
        BAD("scaled::tests/data/lengths/small.csv", MS_EINVAL, "expected scaled:MEAN:FILE (a mean"),
        BAD("scaled:x:tests/data/lengths/small.csv", MS_EINVAL,
            "expected scaled:MEAN:FILE with MEAN a number of tokens from 1 to 10^8"),
        BAD("scaled:0.5:tests/data/lengths/small.csv", MS_EINVAL, "MEAN a number of tokens"),
        BAD("scaled:2e8:tests/data/lengths/small.csv", MS_EINVAL, "MEAN a number of tokens"),
        BAD("scaled:300:no/such/file.csv", MS_EIO, "no/such/file.csv"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dist d;
        ms_err err = {0};
        int rc = dist_parse(cases[i].spec, "--output-len", NULL, &d, &err);
        int ok;
        if (cases[i].expect == NULL)
            ok = rc == MS_OK && d.kind == cases[i].kind && d.a == cases[i].a && d.b == cases[i].b &&
                 strcmp(d.spec, cases[i].spec) == 0;
        else
            ok = rc == cases[i].code && strstr(err.msg, cases[i].expect) != NULL &&
                 d.tokens == NULL && d.cdf == NULL;
        if (!ok)
            printf("\n    spec '%s': rc %d, message \"%s\", a %g b %g; expected rc %d and \"%s\"\n",
                   cases[i].spec, rc, err.msg, d.a, d.b, cases[i].code,
                   cases[i].expect ? cases[i].expect : "");
        CU_ASSERT(ok);
        dist_free(&d);
    }
}

static void test_long_spec(void)
{
    char spec[400];
    memset(spec, '1', sizeof spec - 1);
    spec[sizeof spec - 1] = '\0';
    memcpy(spec, "fixed:", 6);
    dist d;
    ms_err err = {0};
    CU_ASSERT_EQUAL(dist_parse(spec, "--input-len", NULL, &d, &err), MS_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--input-len: the distribution 'fixed:111"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "longer than 255 characters"));
}

static void test_kinds_listed(void)
{
    static const char *const forms[] = {"fixed:N", "uniform:A:B", "lognormal:MEDIAN:SIGMA[:MAX]",
                                        "table:FILE", "scaled:MEAN:FILE"};
    CU_ASSERT_STRING_EQUAL(
        dist_kinds(),
        "fixed:N, uniform:A:B, lognormal:MEDIAN:SIGMA[:MAX], table:FILE, scaled:MEAN:FILE");
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(dist_kinds(), forms[i]));
}

/* Draws DRAWS values of spec with seed; checks each lies in [lo, hi], and
 * that the sample mean is within 5 standard errors (sd / sqrt(DRAWS)) plus
 * slack of dist_mean and of expect_mean. Returns the sample mean. */
static double check_mean(const char *spec, uint64_t seed, double expect_mean, double sd,
                         double slack, int64_t lo, int64_t hi)
{
    dist d;
    rng *r = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(dist_parse(spec, "test", "tests/data", &d, &err) == MS_OK);
    CU_ASSERT_FATAL(rng_new(&r, seed, &err) == MS_OK);
    double sum = 0;
    int in_range = 1;
    for (int i = 0; i < DRAWS; i++) {
        int64_t x = dist_sample(&d, r);
        in_range &= x >= lo && x <= hi;
        sum += (double)x;
    }
    double mean = sum / DRAWS, tol = 5 * sd / sqrt(DRAWS) + slack;
    int ok =
        fabs(mean - expect_mean) <= tol && fabs(dist_mean(&d) - expect_mean) <= 1e-9 * expect_mean;
    if (!ok || !in_range)
        printf("\n    %s: sample mean %.4f, dist_mean %.4f, expected %.4f +- %.4f; in range %d\n",
               spec, mean, dist_mean(&d), expect_mean, tol, in_range);
    CU_ASSERT(ok);
    CU_ASSERT(in_range);
    rng_free(r);
    dist_free(&d);
    return mean;
}

static void test_sample_means(void)
{
    /* uniform on [a, b]: variance ((b - a + 1)^2 - 1) / 12. */
    check_mean("fixed:42", 1, 42, 0, 0, 42, 42);
    check_mean("uniform:1:1000", 2, 500.5, sqrt((1000.0 * 1000 - 1) / 12), 0, 1, 1000);
    check_mean("uniform:100:101", 3, 100.5, 0.5, 0, 100, 101);
    /* lognormal: mean m e^(s^2/2), sd mean sqrt(e^(s^2) - 1). Rounding to
     * an integer moves the mean by far less than 0.5. */
    double m = 200 * exp(0.32);
    check_mean("lognormal:200:0.8", 4, m, m * sqrt(exp(0.64) - 1), 0.5, 1, INT64_MAX);
    m = 1000 * exp(0.125);
    check_mean("lognormal:1000:0.5", 5, m, m * sqrt(exp(0.25) - 1), 0.5, 1, INT64_MAX);
    check_mean("lognormal:37:0", 6, 37, 0, 0, 37, 37);
    /* small.csv: 10 (weight 1), 100 (2), 1000 (0), 50 (1). */
    double tm = (10 + 200 + 50) / 4.0;
    double tv = (100 + 2 * 10000 + 2500) / 4.0 - tm * tm;
    check_mean("table:lengths/small.csv", 7, tm, sqrt(tv), 0, 10, 100);
}

/* The median of a lognormal draw is MEDIAN, not the mean: half the draws
 * fall at or below it (a mean-for-median slip would put 62% there). */
static void test_lognormal_median(void)
{
    dist d;
    rng *r = NULL;
    ms_err err = {0};
    CU_ASSERT_FATAL(dist_parse("lognormal:500:1", "x", NULL, &d, &err) == MS_OK);
    CU_ASSERT_FATAL(rng_new(&r, 11, &err) == MS_OK);
    int below = 0;
    for (int i = 0; i < DRAWS; i++)
        below += dist_sample(&d, r) < 500;
    double frac = (double)below / DRAWS; /* P(X < 499.5) is just under 0.5 */
    MS_ASSERT_WITHIN_AS("fraction below the median", frac, 0.5, 5 * 0.5 / sqrt(DRAWS));
    rng_free(r);
    dist_free(&d);
}

/* A lognormal cut at MAX: E[min(X, M)^k] by hand at M = the median
 * (z = 0): sigma 1 gives e^(mu + 1/2) Phi(-1) + M/2 = 1000 x 1.648721 x
 * 0.158655 + 500 = 761.58 and e^(2 mu + 2) Phi(-2) + M^2/2 = 10^6 x
 * 7.389056 x 0.0227501 + 500,000 = 668,102; sigma 0 puts every draw at
 * min(median, M). Draws never pass M, and their mean is dist_mean's. */
static void test_lognormal_cap(void)
{
    MS_ASSERT_WITHIN_AS("mean at M = median", dist_lognormal_clipped_moment(1000, 1, 1000, 1),
                        761.58, 0.01);
    MS_ASSERT_WITHIN_AS("E[X^2] at M = median", dist_lognormal_clipped_moment(1000, 1, 1000, 2),
                        668102, 1);
    CU_ASSERT_DOUBLE_EQUAL(dist_lognormal_clipped_moment(1000, 0, 500, 1), 500, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dist_lognormal_clipped_moment(1000, 0, 5000, 1), 1000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dist_lognormal_clipped_moment(1000, 0.5, INFINITY, 1), 1000 * exp(0.125),
                           1e-9);
    /* a far cap changes nothing */
    CU_ASSERT_DOUBLE_EQUAL(dist_lognormal_clipped_moment(1000, 0.5, 1e8, 1), 1000 * exp(0.125),
                           1e-6);
    double m = dist_lognormal_clipped_moment(8000, 0.7, 32768, 1);
    double sd = sqrt(dist_lognormal_clipped_moment(8000, 0.7, 32768, 2) - m * m);
    check_mean("lognormal:8000:0.7:32768", 12, m, sd, 0.5, 1, 32768);
    CU_ASSERT(m < 8000 * exp(0.245) - 100); /* the cap takes something off */
}

/* Every value of a small uniform comes up, each about equally often, and
 * nothing outside [A, B]. */
static void test_uniform_bounds(void)
{
    dist d;
    rng *r = NULL;
    ms_err err = {0};
    int counts[10] = {0}, outside = 0;
    CU_ASSERT_FATAL(dist_parse("uniform:3:12", "x", NULL, &d, &err) == MS_OK);
    CU_ASSERT_FATAL(rng_new(&r, 5, &err) == MS_OK);
    for (int i = 0; i < DRAWS; i++) {
        int64_t x = dist_sample(&d, r);
        if (x < 3 || x > 12)
            outside++;
        else
            counts[x - 3]++;
    }
    CU_ASSERT_EQUAL(outside, 0);
    double p = 0.1, se = sqrt(p * (1 - p) / DRAWS);
    for (int v = 0; v < 10; v++) {
        double f = (double)counts[v] / DRAWS;
        if (!MS_ASSERT_WITHIN(f, p, 5 * se))
            fprintf(stderr, "    value %d: how often it is drawn\n", v + 3);
    }
    rng_free(r);
    dist_free(&d);
}

/* Each row is drawn with probability weight / total; a zero weight never. */
static void test_table_frequencies(void)
{
    static const struct {
        int64_t tokens;
        double p;
    } rows[] = {{10, 0.25}, {100, 0.5}, {1000, 0}, {50, 0.25}};
    dist d;
    rng *r = NULL;
    ms_err err = {0};
    int rc = dist_parse("table:tests/data/lengths/small.csv", "x", NULL, &d, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    CU_ASSERT_EQUAL(d.kind, DIST_TABLE);
    CU_ASSERT_EQUAL(d.n, 4);
    CU_ASSERT_EQUAL(d.cdf[3], 1.0);
    CU_ASSERT_FATAL(rng_new(&r, 9, &err) == MS_OK);
    int counts[4] = {0}, other = 0;
    for (int i = 0; i < DRAWS; i++) {
        int64_t x = dist_sample(&d, r);
        size_t k = 0;
        while (k < 4 && rows[k].tokens != x)
            k++;
        if (k < 4)
            counts[k]++;
        else
            other++;
    }
    CU_ASSERT_EQUAL(other, 0);
    for (size_t k = 0; k < 4; k++) {
        double f = (double)counts[k] / DRAWS, se = sqrt(0.25 / DRAWS);
        if (!MS_ASSERT_WITHIN(f, rows[k].p, 5 * se))
            fprintf(stderr, "    %lld tokens: how often drawn\n", (long long)rows[k].tokens);
    }
    CU_ASSERT_EQUAL(counts[2], 0); /* weight 0 */
    rng_free(r);
    dist_free(&d);
    CU_ASSERT(d.tokens == NULL && d.cdf == NULL && d.n == 0);
    dist_free(NULL);
}

/* table:FILE is read as given, else under table_dir. */
static void test_table_dir(void)
{
    dist d;
    ms_err err = {0};
    CU_ASSERT_EQUAL(dist_parse("table:lengths/small.csv", "--input-len", "tests/data", &d, &err),
                    MS_OK);
    CU_ASSERT_EQUAL(d.n, 4);
    dist_free(&d);
    CU_ASSERT_EQUAL(dist_parse("table:tests/data/lengths/small.csv", "x", "nowhere", &d, &err),
                    MS_OK);
    dist_free(&d);
    CU_ASSERT_EQUAL(dist_parse("table:lengths/small.csv", "--input-len", NULL, &d, &err), MS_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lengths/small.csv"));
    CU_ASSERT_EQUAL(dist_parse("table:lengths/none.csv", "--input-len", "tests/data", &d, &err),
                    MS_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--input-len: cannot find the table"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tests/data/lengths/none.csv"));
}

static void test_table_errors(void)
{
    static const struct {
        const char *what, *text;
        int code;
        const char *expect; /* after "PATH" */
    } cases[] = {
        {"missing weight column", "tokens,count\n10,1\n", MS_EPARSE, ":1: missing column 'weight'"},
        {"missing tokens column", "weight\n1\n", MS_EPARSE, ":1: missing column 'tokens'"},
        {"text in tokens", "tokens,weight\n10,1\nmany,2\n", MS_EPARSE,
         ":3: column 'tokens': expected a whole number of tokens from 1 to 10^8, got \"many\""},
        {"zero tokens", "tokens,weight\n0,1\n", MS_EPARSE, ":2: column 'tokens'"},
        {"fractional tokens", "tokens,weight\n1.5,1\n", MS_EPARSE, ":2: column 'tokens'"},
        {"negative weight", "tokens,weight\n10,1\n\n20,-1\n", MS_EPARSE,
         ":4: column 'weight': expected a number >= 0, got \"-1\""},
        {"blank weight", "tokens,weight\n10,\n", MS_EPARSE, ":2: column 'weight'"},
        {"all weights zero", "tokens,weight\n10,0\n20,0\n", MS_EPARSE,
         ": column 'weight': the weights sum to 0"},
        {"no rows", "tokens,weight\n", MS_EPARSE, ": no rows"},
        {"short row", "tokens,weight\n10,1\n20\n", MS_EPARSE, ":3: row has 1 fields"},
        {"stray quote", "tokens,weight\n10,\"1\"x\n", MS_EPARSE, ":2: malformed CSV"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char spec[200], expect[300];
        const char *path = temp_file("bad.csv", cases[i].text);
        snprintf(spec, sizeof spec, "table:%s", path);
        snprintf(expect, sizeof expect, "%s%s", path, cases[i].expect);
        dist d;
        ms_err err = {0};
        int rc = dist_parse(spec, "--input-len", NULL, &d, &err);
        int ok = rc == cases[i].code && strstr(err.msg, expect) && d.tokens == NULL;
        if (!ok)
            printf("\n    case '%s': rc %d, message \"%s\"; expected rc %d and \"%s\"\n",
                   cases[i].what, rc, err.msg, cases[i].code, expect);
        CU_ASSERT(ok);
        dist_free(&d);
        unlink(path);
    }
}

/* Same seed, same draws; another seed, other draws. */
static void test_determinism(void)
{
    static const char *const specs[] = {"uniform:1:100000", "lognormal:300:1.2",
                                        "table:tests/data/lengths/small.csv"};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        dist d;
        rng *a = NULL, *b = NULL, *c = NULL;
        ms_err err = {0};
        CU_ASSERT_FATAL(dist_parse(specs[s], "x", NULL, &d, &err) == MS_OK);
        CU_ASSERT_FATAL(rng_new(&a, 77, &err) == MS_OK && rng_new(&b, 77, &err) == MS_OK &&
                        rng_new(&c, 78, &err) == MS_OK);
        int same = 1, differ = 0;
        for (int i = 0; i < 1000; i++) {
            int64_t x = dist_sample(&d, a), y = dist_sample(&d, b), z = dist_sample(&d, c);
            same &= x == y;
            differ += x != z;
        }
        if (!same || differ == 0)
            printf("\n    %s: same seed same draws %d, other seed differs %d times\n", specs[s],
                   same, differ);
        CU_ASSERT(same);
        CU_ASSERT(differ > 0);
        rng_free(a);
        rng_free(b);
        rng_free(c);
        dist_free(&d);
    }
}

/* The shipped table (workloads/lengths/azure-code-2023-output.csv, see
 * workloads/README.md): 281 distinct output lengths from the 8,819 requests
 * of the Azure LLM inference trace 2023 (code), mean 245,896 / 8,819
 * tokens, 52.0% of requests at 13 tokens or fewer (4,587 of 8,819). */
static void test_shipped_table(void)
{
    dist d;
    rng *r = NULL;
    ms_err err = {0};
    int rc = dist_parse("table:lengths/azure-code-2023-output.csv", "--output-len", "workloads", &d,
                        &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    CU_ASSERT_EQUAL(d.n, 281);
    CU_ASSERT_EQUAL(d.tokens[0], 6);
    CU_ASSERT_EQUAL(d.tokens[d.n - 1], 1899);
    double mean = 245896.0 / 8819;
    MS_ASSERT_NEAR(dist_mean(&d), mean, 1e-9);
    CU_ASSERT_FATAL(rng_new(&r, 21, &err) == MS_OK);
    int le13 = 0;
    for (int i = 0; i < DRAWS; i++)
        le13 += dist_sample(&d, r) <= 13;
    double p = 4587.0 / 8819, f = (double)le13 / DRAWS, se = sqrt(p * (1 - p) / DRAWS);
    MS_ASSERT_WITHIN_AS("fraction of draws <= 13 tokens", f, p, 5 * se);
    rng_free(r);
    dist_free(&d);
}

/* scaled:MEAN:FILE keeps the table's rows and weights and multiplies its
 * lengths by MEAN over the table's mean. small.csv: 10 (1), 100 (2),
 * 1000 (0), 50 (1), mean 65. */
static void test_scaled_table(void)
{
    dist d;
    ms_err err = {0};
    int rc = dist_parse("scaled:52:lengths/small.csv", "--output-len", "tests/data", &d, &err);
    CU_ASSERT_FATAL(rc == MS_OK);
    CU_ASSERT_EQUAL(d.kind, DIST_TABLE);
    CU_ASSERT_EQUAL(d.n, 4);
    /* x 0.8: 8, 80, 800, 40; mean (8 + 160 + 40) / 4 = 52. */
    CU_ASSERT(d.tokens[0] == 8 && d.tokens[1] == 80 && d.tokens[2] == 800 && d.tokens[3] == 40);
    MS_ASSERT_NEAR(dist_mean(&d), 52, 1e-12);
    CU_ASSERT_STRING_EQUAL(d.spec, "scaled:52:lengths/small.csv");
    dist_free(&d);
    /* x 1/65: 0.15 and 0.77 kept at 1, 1.54 to 2: the mean is 1.5, not 1. */
    CU_ASSERT_FATAL(dist_parse("scaled:1:lengths/small.csv", "x", "tests/data", &d, &err) == MS_OK);
    CU_ASSERT(d.tokens[0] == 1 && d.tokens[1] == 2 && d.tokens[2] == 15 && d.tokens[3] == 1);
    MS_ASSERT_NEAR(dist_mean(&d), 1.5, 1e-12);
    dist_free(&d);
    CU_ASSERT_EQUAL(dist_scaled_tokens(10, 1.5), 15);
    CU_ASSERT_EQUAL(dist_scaled_tokens(7, 1.0 / 3), 2);
    CU_ASSERT_EQUAL(dist_scaled_tokens(1, 0.2), 1);
    CU_ASSERT_EQUAL(dist_scaled_tokens(100, 1e7), 100000000);
}

/* The shipped generation lengths of Llama-2-70B (workloads/lengths/
 * mlperf-llama2-70b-output.csv, see workloads/README.md): 2,100
 * generations in 615 distinct lengths, 5 to 1,025 tokens, 616,647 in all;
 * scaled to a run's mean (291.2), the rounding moves it by under half a
 * token. */
static void test_shipped_llama2_output(void)
{
    dist d;
    ms_err err = {0};
    int rc = dist_parse("table:lengths/mlperf-llama2-70b-output.csv", "--output-len", "workloads",
                        &d, &err);
    if (rc)
        printf("\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    CU_ASSERT_EQUAL(d.n, 615);
    CU_ASSERT_EQUAL(d.tokens[0], 5);
    CU_ASSERT_EQUAL(d.tokens[d.n - 1], 1025);
    MS_ASSERT_NEAR(dist_mean(&d), 616647.0 / 2100, 1e-9);
    dist_free(&d);
    rc = dist_parse("scaled:291.2:lengths/mlperf-llama2-70b-output.csv", "--output-len",
                    "workloads", &d, &err);
    CU_ASSERT_FATAL(rc == MS_OK);
    MS_ASSERT_WITHIN_AS("scaled mean", dist_mean(&d), 291.2, 0.5);
    /* 5 x 291.2 / 293.64 = 4.96, 1,025 x the same = 1,016.5 */
    CU_ASSERT(d.tokens[0] == 5 && d.tokens[d.n - 1] == 1016);
    dist_free(&d);
}

static CU_TestInfo dist_tests[] = {
    {"spec cases, good and bad", test_parse_cases},
    {"a spec too long", test_long_spec},
    {"dist_kinds lists every kind", test_kinds_listed},
    {"sample means match dist_mean", test_sample_means},
    {"lognormal median", test_lognormal_median},
    {"lognormal cut at MAX", test_lognormal_cap},
    {"uniform bounds and frequencies", test_uniform_bounds},
    {"table frequencies", test_table_frequencies},
    {"table found under table_dir", test_table_dir},
    {"bad tables name file, line and column", test_table_errors},
    {"same seed, same draws", test_determinism},
    {"shipped Azure code output-length table", test_shipped_table},
    {"scaled tables", test_scaled_table},
    {"shipped Llama-2-70B generation lengths", test_shipped_llama2_output},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "dist", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = dist_tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_dist");
}
