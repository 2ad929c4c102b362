/* fuzz_reqs: a replay trace (serve --replay: arrival_s, input_tokens,
 * output_tokens) as reqs_new reads it, every request then taken from the
 * stream. */
#include <stddef.h>
#include <stdint.h>

#include "fz.h"
#include "serve/reqs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    reqs_spec spec = {.kind = REQS_TRACE, .trace_path = path, .seed = 1};
    ms_err err = {0};
    reqs *r = NULL;
    if (reqs_new(&spec, &r, &err) == MS_OK) {
        (void)reqs_total(r);
        (void)reqs_mean_output(r);
        (void)reqs_mean_output_square(r);
        req q;
        while (reqs_next(r, &q))
            ;
    }
    reqs_free(r);
    return 0;
}
