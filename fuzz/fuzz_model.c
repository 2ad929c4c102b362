/* fuzz_model: a model file (a Hugging Face config.json or megasim's own
 * model JSON) as modelfile_load reads it. */
#include <stddef.h>
#include <stdint.h>

#include "fz.h"
#include "model/modelfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "json");
    ms_err err = {0};
    model m;
    char warn[MODELFILE_WARN_MAX];
    (void)modelfile_load(path, &m, warn, &err);
    return 0;
}
