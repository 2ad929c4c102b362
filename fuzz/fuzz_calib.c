/* fuzz_calib: efficiency calibration (hwdb/efficiency.csv) as calib_load
 * reads it and as kfit_write rewrites it. */
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "fz.h"
#include "hw/calib.h"
#include "hw/kfit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    ms_err err = {0};
    calib *cal = NULL;
    if (calib_load(path, &cal, &err) == MS_OK) {
        (void)calib_pooled_sd(cal);
        const chip_db *db = fz_chips();
        for (size_t i = 0; i < calib_count(cal); i++) {
            int est;
            (void)calib_row_sd(cal, i, &est);
        }
        for (size_t i = 0; i < chip_db_count(db); i++)
            (void)calib_eff(cal, chip_db_at(db, i), "gemm", MS_BF16);
        rng *g = NULL;
        calib *drawn = NULL;
        if (rng_new(&g, 1, &err) == MS_OK && calib_draw(cal, g, &drawn, &err) == MS_OK)
            (void)calib_eff(drawn, chip_db_at(db, 0), "stream", MS_BF16);
        calib_free(drawn);
        rng_free(g);
    }
    calib_free(cal);
    const char *out = fz_file(NULL, 0, "out");
    (void)kfit_write(path, out, NULL, 0, "fuzz", &err);
    return 0;
}
