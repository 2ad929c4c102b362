/* fuzz_xrule: export rules (hwdb/export_rules.csv) as xrule_load reads
 * them, each rule then checked against every chip of hwdb/chips.csv. */
#include <stddef.h>
#include <stdint.h>

#include "fz.h"
#include "policy/xrule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    ms_err err = {0};
    xrule_set *s = NULL;
    if (xrule_load(path, &s, &err) == MS_OK) {
        const chip_db *db = fz_chips();
        for (size_t i = 0; i < xrule_count(s); i++)
            for (size_t c = 0; c < chip_db_count(db); c++)
                (void)xrule_check(xrule_at(s, i), chip_db_at(db, c));
    }
    xrule_free(s);
    return 0;
}
