/* fuzz_pdb: the power database: an input whose header starts with "key,"
 * as hwdb/costs.csv (beside the real power.csv), any other as
 * hwdb/power.csv (beside the real costs.csv); pdb_load reads both, then
 * the chips are checked against hwdb/chips.csv. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fz.h"
#include "power/pdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    int costs = n >= 4 && memcmp(data, "key,", 4) == 0;
    char power[4096];
    snprintf(power, sizeof power, "%s", costs ? fz_src("hwdb/power.csv") : path);
    ms_err err = {0};
    pdb *db = NULL;
    if (pdb_load(power, costs ? path : fz_src("hwdb/costs.csv"), &db, &err) == MS_OK) {
        double v;
        const char *source;
        (void)pdb_value(db, "pue", &v, &source, &err);
        (void)pdb_check_chips(db, fz_chips(), &err);
    }
    pdb_free(db);
    return 0;
}
