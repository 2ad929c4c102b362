/* fuzz_scenario: a scenario file (scenarios/NAME.json) read as a JSON object
 * and its fields set as the options of its command (jscen_check_obj),
 * without running it. */
#include <stddef.h>
#include <stdint.h>

#include "fz.h"
#include "io/jsonfile.h"
#include "job/jscen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "json");
    ms_err err = {0};
    cJSON *obj = jsonfile_read_object(path, NULL, &err);
    if (obj)
        (void)jscen_check_obj(obj, path, &err);
    cJSON_Delete(obj);
    return 0;
}
