/* fuzz_coll: network calibration (hwdb/network.csv) as coll_params_load
 * reads it. */
#include <stddef.h>
#include <stdint.h>

#include "fz.h"
#include "net/coll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    ms_err err = {0};
    coll_params cp = COLL_PARAMS_IDEAL;
    (void)coll_params_load(path, &cp, &err);
    return 0;
}
