/* fuzz_netfit: published collective measurements
 * (validation/published_net.csv) as netfit_load reads them, and
 * megasim's prediction of each row. */
#include <stddef.h>
#include <stdint.h>

#include "fz.h"
#include "net/netfit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    ms_err err = {0};
    netfit *nf = NULL;
    if (netfit_load(path, fz_chips(), &nf, &err) == MS_OK) {
        coll_params cp = COLL_PARAMS_IDEAL;
        for (size_t i = 0; i < netfit_count(nf); i++) {
            (void)netfit_predict(nf, i, &cp);
            (void)netfit_algo(nf, i, &cp);
        }
    }
    netfit_free(nf);
    return 0;
}
