/* fuzz_chips: hwdb/chips.csv (chip_db_load), and a second file of chips
 * derived from those (chip_db_add_file). */
#include <stddef.h>
#include <stdint.h>

#include "fz.h"
#include "hw/chip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    ms_err err = {0};
    chip_db *db = NULL;
    if (chip_db_load(path, &db, &err) == MS_OK) {
        for (size_t i = 0; i < chip_db_count(db); i++)
            (void)chip_peak(chip_db_at(db, i), MS_BF16);
        char names[256];
        chip_db_names(db, names, sizeof names);
    }
    chip_db_free(db);
    /* The same rows added to the real database: derived chips. */
    db = NULL;
    if (chip_db_load(fz_src("hwdb/chips.csv"), &db, &err) == MS_OK)
        (void)chip_db_add_file(db, path, &err);
    chip_db_free(db);
    return 0;
}
