/* fuzz_kmeas: kernel measurements (validation/published.csv, results of
 * validation/run) as kmeas_add_file reads them, and, for an input whose
 * header starts with device_name, the device map (hwdb/devices.csv) as
 * kmeas_new reads it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fz.h"
#include "hw/kmeas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    int devices = n >= 11 && memcmp(data, "device_name", 11) == 0;
    ms_err err = {0};
    kmeas_set *set = NULL;
    if (kmeas_new(fz_chips(), devices ? path : fz_src("hwdb/devices.csv"), &set, &err) == MS_OK) {
        if (!devices)
            (void)kmeas_add_file(set, path, &err);
        roof_eff eff = {0};
        for (size_t i = 0; i < kmeas_count(set); i++) {
            (void)kmeas_predict(kmeas_at(set, i), &eff);
            (void)kmeas_prec_key(kmeas_at(set, i));
        }
    }
    kmeas_free(set);
    return 0;
}
