/* Tests of jsonfile (src/io): a file read whole at the sizes around its
 * buffer's growth, the line of a position, and the errors of reading a
 * JSON object (a missing file, malformed JSON with its line, JSON that is
 * not an object), each naming the file as shown. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/jsonfile.h"
#include "test_assert.h"

/* A temporary file holding len bytes of text; its path in path. */
static void write_temp(char *path, size_t cap, const char *text, size_t len)
{
    snprintf(path, cap, "/tmp/test_jsonfile_XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL_FATAL(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void test_slurp_sizes(void)
{
    static const size_t sizes[] = {0, 1, 4094, 4095, 4096, 4097, 10000};
    char *text = malloc(10001);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (size_t i = 0; i < 10000; i++)
        text[i] = (char)('a' + i % 26);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char path[64];
        write_temp(path, sizeof path, text, sizes[k]);
        ms_err err = {0};
        char *got = jsonfile_slurp(path, NULL, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(strlen(got), sizes[k]);
        CU_ASSERT(memcmp(got, text, sizes[k]) == 0);
        free(got);
        unlink(path);
    }
    free(text);
}

static void test_line_of(void)
{
    const char *t = "a\nbc\n\nd";
    CU_ASSERT_EQUAL(jsonfile_line_of(t, t), 1);
    CU_ASSERT_EQUAL(jsonfile_line_of(t, t + 1), 1); /* the newline itself */
    CU_ASSERT_EQUAL(jsonfile_line_of(t, t + 2), 2);
    CU_ASSERT_EQUAL(jsonfile_line_of(t, t + 6), 4);
    CU_ASSERT_EQUAL(jsonfile_line_of(t, t + 7), 4); /* the end */
}

/* Numbers at dotted paths: nested objects, array items, and NAN for what
 * is missing, not a number, or a key longer than the reader holds. */
static void test_num_at(void)
{
    cJSON *j = cJSON_Parse("{\"a\": {\"b\": 2.5, \"s\": \"x\"}, \"v\": [7, {\"w\": 9}], "
                           "\"n\": null, \"top\": 1}");
    CU_ASSERT_FATAL(j != NULL);
    MS_ASSERT_EXACT(jsonfile_num_at(j, "top"), 1);
    MS_ASSERT_EXACT(jsonfile_num_at(j, "a.b"), 2.5);
    MS_ASSERT_EXACT(jsonfile_num_at(j, "v.0"), 7);
    MS_ASSERT_EXACT(jsonfile_num_at(j, "v.1.w"), 9);
    CU_ASSERT(isnan(jsonfile_num_at(j, "a.s")));
    CU_ASSERT(isnan(jsonfile_num_at(j, "n")));
    CU_ASSERT(isnan(jsonfile_num_at(j, "a.c")));
    CU_ASSERT(isnan(jsonfile_num_at(j, "v.5")));
    /* An array item chosen by its fields. */
    cJSON *rows = cJSON_Parse("{\"r\": [{\"chip\": \"H100\", \"b\": 1, \"t\": 3},"
                              " {\"chip\": \"H20\", \"b\": 1, \"t\": 5},"
                              " {\"chip\": \"H20\", \"b\": 64, \"t\": 8.5}]}");
    CU_ASSERT_FATAL(rows != NULL);
    MS_ASSERT_EXACT(jsonfile_num_at(rows, "r[chip=H20].t"), 5);
    MS_ASSERT_EXACT(jsonfile_num_at(rows, "r[chip=H20,b=64].t"), 8.5);
    CU_ASSERT(isnan(jsonfile_num_at(rows, "r[chip=B200].t")));
    CU_ASSERT(isnan(jsonfile_num_at(rows, "r[chip].t")));
    CU_ASSERT(isnan(jsonfile_num_at(rows, "r[chip=H20.t")));
    cJSON_Delete(rows);
    char longkey[200];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    CU_ASSERT(isnan(jsonfile_num_at(j, longkey)));
    cJSON_Delete(j);
}

static void test_object_errors(void)
{
    static const struct {
        const char *text, *expect;
        int code;
    } cases[] = {
        {"{\"a\": 1,\n \"b\": [1, 2],\n \"c\": }\n", "shown.json:3: not valid JSON", MS_EPARSE},
        {"[1, 2, 3]", "shown.json: not a JSON object", MS_EPARSE},
        {"{\"a\": 1} trailing", "shown.json:1: not valid JSON", MS_EPARSE},
        {"", "shown.json:1: not valid JSON", MS_EPARSE},
        {"{\"command\": \"train\", \"command\": \"serve\"}",
         "shown.json: key \"command\" appears twice in one object: expected each once", MS_EPARSE},
        {"{\"a\": {\"x\": 1, \"y\": [{\"z\": 1, \"z\": 2}]}}",
         "shown.json: key \"z\" appears twice in one object: expected each once", MS_EPARSE},
        {"{\"a\": \"\x01\"}",
         "shown.json:1:8: control character 0x01: expected text (tabs and line breaks only)",
         MS_EPARSE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[64];
        write_temp(path, sizeof path, cases[k].text, strlen(cases[k].text));
        ms_err err = {0};
        cJSON *o = jsonfile_read_object(path, "shown.json", &err);
        CU_ASSERT_PTR_NULL(o);
        CU_ASSERT_EQUAL(err.code, cases[k].code);
        if (strcmp(err.msg, cases[k].expect) != 0)
            printf("\n  case %zu: '%s', expected '%s'\n", k, err.msg, cases[k].expect);
        CU_ASSERT_STRING_EQUAL(err.msg, cases[k].expect);
        cJSON_Delete(o);
        unlink(path);
    }
    ms_err err = {0};
    CU_ASSERT_PTR_NULL(jsonfile_read_object("/nonexistent/x.json", "listed.json", &err));
    CU_ASSERT_EQUAL(err.code, MS_EIO);
    CU_ASSERT(strncmp(err.msg, "listed.json: cannot open: ", 26) == 0);
    /* A good object comes back whole. */
    char path[64];
    write_temp(path, sizeof path, "{\"x\": 2.5}", 10);
    cJSON *o = jsonfile_read_object(path, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    MS_ASSERT_EXACT(cJSON_GetObjectItem(o, "x")->valuedouble, 2.5);
    cJSON_Delete(o);
    unlink(path);
}

static CU_TestInfo tests[] = {
    {"a file read whole, around the buffer's growth", test_slurp_sizes},
    {"the line of a position", test_line_of},
    {"a JSON object's errors name the file and line", test_object_errors},
    {"numbers at dotted paths", test_num_at},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jsonfile", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jsonfile");
}
