/* fuzz_dist: length distributions (dist_parse): an input starting with
 * the line "TABLE" is the CSV of a table:FILE spec (workloads/lengths/),
 * any other is a spec ("lognormal:1000:1.2"). A parsed distribution is
 * then drawn from. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "fz.h"
#include "serve/dist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *spec;
    if (n >= 6 && memcmp(data, "TABLE\n", 6) == 0) {
        const char *path = fz_file(data + 6, n - 6, "csv");
        spec = malloc(strlen(path) + 7);
        if (!spec)
            abort();
        sprintf(spec, "table:%s", path);
    } else {
        spec = fz_str(data, n);
    }
    ms_err err = {0};
    dist d;
    if (dist_parse(spec, "--input-len", fz_src("workloads"), &d, &err) == MS_OK) {
        (void)dist_mean(&d);
        (void)dist_mean_square(&d);
        rng *g = NULL;
        if (rng_new(&g, 1, &err) == MS_OK)
            for (int i = 0; i < 16; i++)
                (void)dist_sample(&d, g);
        rng_free(g);
    }
    dist_free(&d);
    free(spec);
    return 0;
}
