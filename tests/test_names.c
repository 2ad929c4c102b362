/* Tests of src/core/names: whole names found in ';'-separated lists, a
 * name that only starts or ends alike not, empty and missing lists empty. */
#include <CUnit/Basic.h>

#include "core/names.h"
#include "test_assert.h"

static void test_has(void)
{
    static const struct {
        const char *list, *name;
        int has;
    } cases[] = {
        {"H800;H200;H100", "H800", 1},
        {"H800;H200;H100", "H200", 1},
        {"H800;H200;H100", "H100", 1},
        {"H100-PCIe;H200", "H100", 0}, /* starts alike */
        {"XH100;H200", "H100", 0},     /* ends alike */
        {"H100", "H100-PCIe", 0},      /* the list's name is shorter */
        {"comm_W;node_other_W;node_other_idle_W", "node_other_W", 1},
        {"comm_W;node_other_idle_W", "node_other_W", 0},
        {";;H100;", "H100", 1}, /* empty names skipped */
        {"", "H100", 0},
        {NULL, "H100", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!MS_ASSERT_INT_EQ(names_has(cases[i].list, cases[i].name), cases[i].has))
            printf("    list \"%s\", name \"%s\"\n", cases[i].list ? cases[i].list : "(null)",
                   cases[i].name);
}

static CU_TestInfo tests[] = {
    {"whole names in a list", test_has},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "names", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

#include "test_main.h"

int main(void)
{
    return ms_test_run(suites, "test_names");
}
