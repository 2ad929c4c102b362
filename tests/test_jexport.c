/* Tests of jexport (src/job): export-check of H100, H800 and H20 under
 * the October 2023 rule, held to hwdb/export_rules.csv and to TPP and
 * performance density computed by hand from hwdb/chips.csv; derive
 * written to a file of its own, again (nothing written), under a taken
 * name (refused), with --force (replaced); the unhappy paths. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/jexport.h"
#include "test_json.h"
#include "test_assert.h"

/* The tests run in the source tree. */
static const jenv env = {.home = ".", .derived_path = NULL, .version = "test"};

/* export-check with argv's options, as JSON (NULL on failure, with *rc
 * set). */
static cJSON *check_json(int argc, char **argv, int *rc, ms_err *err)
{
    jexport_check_job j;
    int npos, help;
    *rc = jopt_parse(&jexport_check_options, &j, argc, argv, NULL, 0, &npos, &help, err);
    if (*rc)
        return NULL;
    report *r = report_new();
    cJSON *json = NULL;
    if (!(*rc = jexport_check_run(&j, &env, r, err)))
        json = report_json(r);
    report_free(r);
    return json;
}

/* The object of "results" for chip under rule, or NULL. */
static const cJSON *result_of(const cJSON *json, const char *key, const char *chip,
                              const char *rule)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(json, key))
    {
        if (strcmp(cJSON_GetObjectItem(o, "chip")->valuestring, chip) == 0 &&
            strcmp(cJSON_GetObjectItem(o, "rule")->valuestring, rule) == 0)
            return o;
    }
    return NULL;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

/* hwdb/chips.csv: H100 and H800 have dense FP8 (and INT8) 1978.9 TOPS and
 * BF16 989.4 TFLOPS on an 814 mm2 die: TPP is the largest of TOPS x bits,
 * 1978.9 x 8 = 15831.2 (BF16 gives 989.4 x 16 = 15830.4), density
 * 15831.2 / 814 = 19.4486. The H20: TF32 74 x 32 = BF16 148 x 16 = FP8
 * 296 x 8 = 2368, the first of them (TF32) named; density 2368 / 814 =
 * 2.9091. I/O is both directions of NVLink and PCIe: H100 2 x (450 + 64) =
 * 1028 GB/s, H800 2 x (200 + 64) = 528; the H20's PCIe is blank, so at
 * least 2 x 450 = 900.
 *
 * hwdb/export_rules.csv, oct2023: 3A090.a.1 is TPP >= 4800, which H100
 * and H800 meet (the I/O cut that freed the H800 in 2022 no longer
 * counts). The H20 meets none: a.1 (2368 < 4800), a.2 (density 2.91 <
 * 5.92), b.1 (2368 < 2400), b.2 (density 2.91 < 3.2). */
static const struct {
    const char *chip;
    int controlled;
    const char *clause; /* NULL: none */
    double tpp, density, io_GBps, io_at_least;
    const char *precision;
} oct2023[] = {
    {"H100", 1, "3A090.a.1", 15831.2, 15831.2 / 814, 1028, NAN, "fp8"},
    {"H800", 1, "3A090.a.1", 15831.2, 15831.2 / 814, 528, NAN, "fp8"},
    {"H20", 0, NULL, 2368, 2368.0 / 814, NAN, 900, "tf32"},
};

static void test_check_oct2023(void)
{
    char *argv[] = {"--chip", "H100,H800", "--chip", "H20", "--rule", "oct2023"};
    ms_err err = {0};
    int rc;
    cJSON *json = check_json(6, argv, &rc, &err);
    if (rc)
        fprintf(stderr, "\n  %s", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, MS_OK);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(json, "results")), 3);
    CU_ASSERT_STRING_EQUAL(str(json, "megasim_version"), "test");
    CU_ASSERT_STRING_EQUAL(str(cJSON_GetObjectItem(json, "inputs"), "rule"), "oct2023");
    for (size_t i = 0; i < sizeof oct2023 / sizeof oct2023[0]; i++) {
        const cJSON *o = result_of(json, "results", oct2023[i].chip, "oct2023");
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        const cJSON *ctl = cJSON_GetObjectItem(o, "controlled");
        CU_ASSERT(cJSON_IsBool(ctl) && cJSON_IsTrue(ctl) == oct2023[i].controlled);
        if (oct2023[i].clause) {
            CU_ASSERT_STRING_EQUAL(str(o, "clause"), oct2023[i].clause);
        } else {
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "clause")));
        }
        MS_ASSERT_WITHIN(ms_json_num(o, "tpp"), oct2023[i].tpp, 1e-9);
        CU_ASSERT_STRING_EQUAL(str(o, "tpp_precision"), oct2023[i].precision);
        MS_ASSERT_WITHIN(ms_json_num(o, "performance_density"), oct2023[i].density, 1e-12);
        if (isnan(oct2023[i].io_GBps)) {
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "io_GBps")));
            MS_ASSERT_WITHIN(ms_json_num(o, "io_GBps_at_least"), oct2023[i].io_at_least, 1e-9);
        } else {
            MS_ASSERT_WITHIN(ms_json_num(o, "io_GBps"), oct2023[i].io_GBps, 1e-9);
            CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(o, "io_GBps_at_least"));
        }
        /* A citation with the deciding clause only. */
        CU_ASSERT((cJSON_GetObjectItem(o, "citation") != NULL) == oct2023[i].controlled);
    }
    /* Each clause the H20 misses, with its numbers. */
    const char *why = str(result_of(json, "results", "H20", "oct2023"), "why");
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "3A090.a.1: tpp 2368 < 4800"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "3A090.b.1: tpp 2368 < 2400"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "3A090.b.2: performance_density 2.90909 < 3.2"));
    /* The summary says the same: one row per chip, one column per rule. */
    const cJSON *summary = cJSON_GetObjectItem(json, "summary"), *row;
    int rows = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(summary, "verdicts"))
    {
        CU_ASSERT_STRING_EQUAL(str(row, "oct2023"), oct2023[rows].controlled
                                                        ? "controlled (3A090.a.1)"
                                                        : "not controlled");
        rows++;
    }
    CU_ASSERT_EQUAL(rows, 3);
    rows = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(summary, "metrics"))
    {
        CU_ASSERT_STRING_EQUAL(str(row, "chip"), oct2023[rows].chip);
        MS_ASSERT_WITHIN(ms_json_num(row, "tpp"), oct2023[rows].tpp, 1e-9);
        rows++;
    }
    CU_ASSERT_EQUAL(rows, 3);
    cJSON_Delete(json);
}

static void test_check_errors(void)
{
    static const struct {
        int argc;
        char *argv[4];
        int code;
        const char *says;
    } cases[] = {
        {0, {NULL}, MS_EUSAGE, "give --chip NAME[,NAME...] or --all"},
        {3, {"--chip", "H100", "--all"}, MS_EUSAGE, "one of them"},
        {2, {"--chip", "H900"}, MS_ENOTFOUND, "unknown chip 'H900'"},
        {4, {"--chip", "H100", "--rule", "oct2099"}, MS_ENOTFOUND, "unknown rule 'oct2099'"},
        {4, {"--chip", "H100", "--rules", "no/such.csv"}, MS_EIO, "no/such.csv"},
        {3, {"--chip", "H100", "--rulle"}, MS_EUSAGE, "did you mean --rule?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_err err = {0};
        int rc;
        cJSON *json = check_json(cases[i].argc, (char **)cases[i].argv, &rc, &err);
        CU_ASSERT_PTR_NULL(json);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].says))
            fprintf(stderr, "\n  case %zu: rc %d, '%s'; want %d, '%s'", i, rc, err.msg,
                    cases[i].code, cases[i].says);
        CU_ASSERT_EQUAL(rc, cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].says));
        cJSON_Delete(json);
    }
}

/* derive with argv's options into out and file. */
static int derive(int argc, char **argv, jexport_derive_out *out, cJSON **json, ms_err *err)
{
    jexport_derive_job j;
    int npos, help;
    int rc = jopt_parse(&jexport_derive_options, &j, argc, argv, NULL, 0, &npos, &help, err);
    if (rc)
        return rc;
    report *r = report_new();
    rc = jexport_derive_run(&j, &env, r, out, err);
    *json = rc ? NULL : report_json(r);
    report_free(r);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t got = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    (void)got; /* a short read leaves buf shorter and the comparisons fail */
    fclose(f);
    return buf;
}

static void test_derive_file(void)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/test_jexport.%ld", (long)getpid());
    snprintf(path, sizeof path, "%s/sub/d.csv", dir); /* sub/ is created */
    char *first[] = {"--from", "H100", "--name", "H800x", "--set", "scale_up_bw=400GB/s",
                     "--out",  path};
    char *other[] = {"--from", "H100", "--name", "H800x", "--set", "scale_up_bw=300GB/s",
                     "--out",  path,   "--force"};
    jexport_derive_out *out = malloc(sizeof *out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    ms_err err = {0};
    cJSON *json;

    /* Written, with the verdicts of the datasheet H800. */
    int rc = derive(8, first, out, &json, &err);
    if (rc)
        fprintf(stderr, "\n  %s", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, MS_OK);
    CU_ASSERT(out->written && !out->same_at[0]);
    CU_ASSERT_STRING_EQUAL(out->file, path);
    CU_ASSERT_STRING_EQUAL(str(json, "derivation"), "H100: scale_up_bw=400GB/s");
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(json, "written")));
    const cJSON *o22 = result_of(json, "export", "H800x", "oct2022");
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(o22, "controlled")));
    MS_ASSERT_WITHIN(ms_json_num(o22, "io_GBps"), 528, 1e-9);
    CU_ASSERT_STRING_EQUAL(str(o22, "derived_from"), "H100");
    cJSON_Delete(json);
    jexport_derive_out_clear(out);
    char *before = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_PTR_NOT_NULL(strstr(before, "\nH800x,"));

    /* The same derivation again: nothing written. */
    CU_ASSERT_EQUAL(derive(8, first, out, &json, &err), MS_OK);
    CU_ASSERT(!out->written);
    CU_ASSERT_PTR_NOT_NULL(strstr(out->same_at, "d.csv:2"));
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(json, "written")));
    cJSON_Delete(json);
    jexport_derive_out_clear(out);

    /* Another under the same name: refused without --force, the file as
     * it was; replaced with it. */
    CU_ASSERT_EQUAL(derive(8, other, out, &json, &err), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "or --force to replace it"));
    jexport_derive_out_clear(out);
    char *after = slurp(path);
    CU_ASSERT(after && strcmp(before, after) == 0);
    free(after);
    CU_ASSERT_EQUAL(derive(9, other, out, &json, &err), MS_OK);
    CU_ASSERT(out->written);
    cJSON_Delete(json);
    jexport_derive_out_clear(out);
    after = slurp(path);
    CU_ASSERT(after && strstr(after, "scale_up_bw=300GB/s") && !strstr(after, "=400GB/s"));
    free(after);
    free(before);

    /* A datasheet name is never replaced; no output file without a user
     * directory. */
    char *taken[] = {"--from",       "H100",  "--name", "H800",   "--set",
                     "hbm_bw=4TB/s", "--out", path,     "--force"};
    CU_ASSERT_EQUAL(derive(9, taken, out, &json, &err), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--name 'H800': already a chip (hwdb/chips.csv:"));
    jexport_derive_out_clear(out);
    char *nowhere[] = {"--from", "H100", "--name", "Z", "--scale", "flops=0.5"};
    CU_ASSERT_EQUAL(derive(6, nowhere, out, &json, &err), MS_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no user data directory"));
    jexport_derive_out_clear(out);
    char *nothing[] = {"--from", "H100", "--name", "Z", "--out", path};
    CU_ASSERT_EQUAL(derive(6, nothing, out, &json, &err), MS_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nothing to change"));
    jexport_derive_out_clear(out);
    free(out);

    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    remove(path);
    rmdir(sub);
    rmdir(dir);
}

static CU_TestInfo tests[] = {
    {"export-check oct2023: H100, H800, H20", test_check_oct2023},
    {"export-check errors", test_check_errors},
    {"derive: written, again, taken, forced", test_derive_file},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jexport", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jexport");
}
