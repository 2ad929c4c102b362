/* Tests of jscen_check_obj (src/job): a scenario's command and fields
 * checked as options of that command without running it; each bad
 * scenario fails with MS_EINVAL and a message naming the label and, where
 * there is one, the field. */
#include <CUnit/Basic.h>
#include <string.h>

#include "job/jscen.h"
#include "test_assert.h"

static const struct {
    const char *json;
    int ok;
    const char *msg_has; /* for a failure: text the message holds */
} cases[] = {
    {"{\"command\": \"train\", \"chip\": \"H100\", \"gpus\": 1024, \"tp\": 8}", 1, NULL},
    {"{\"command\": \"serve\", \"description\": \"d\", \"source\": \"s\"}", 1, NULL},
    {"{\"command\": \"train\", \"seq\": 4096.0}", 1, NULL},
    {"[1, 2]", 0, "s.json: expected a JSON object"},
    {"{\"chip\": \"H100\"}", 0, "field 'command': expected a string"},
    {"{\"command\": \"size\"}", 0, "'size' cannot run inside another command"},
    {"{\"command\": \"train\", \"gpuz\": 8}", 0, "field 'gpuz': not an option of megasim train"},
    {"{\"command\": \"train\", \"gpus\": [8]}", 0, "field 'gpus': expected"},
    {"{\"command\": \"train\", \"gpus\": \"many\"}", 0,
     "s.json: field 'gpus': expected a whole number >= 1, got many"},
    {"{\"command\": \"train\", \"gpus\": null}", 0, "field 'gpus': expected"},
};

static void test_check(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *obj = cJSON_Parse(cases[i].json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
        ms_err err = {0};
        int rc = jscen_check_obj(obj, "s.json", &err);
        if (cases[i].ok) {
            if (rc)
                printf("\n  %s: %s\n", cases[i].json, err.msg);
            CU_ASSERT_EQUAL(rc, MS_OK);
        } else {
            CU_ASSERT_EQUAL(rc, MS_EINVAL);
            CU_ASSERT_EQUAL(err.code, MS_EINVAL);
            if (!strstr(err.msg, cases[i].msg_has))
                printf("\n  %s: got \"%s\", expected it to hold \"%s\"\n", cases[i].json, err.msg,
                       cases[i].msg_has);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].msg_has));
        }
        cJSON_Delete(obj);
    }
}

static CU_TestInfo tests[] = {
    {"scenarios checked without running", test_check},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "jscen", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_jscen");
}
