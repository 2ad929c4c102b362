/* fuzz_derive: derive's settings ("scale_up_bw=400GB/s", "flops*0.33"),
 * one a line, parsed by derive_parse (a line "FIELD*FACTOR" as a scale,
 * any other as a set value) and applied to the H100 of hwdb/chips.csv. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"
#include "policy/derive.h"

enum { MAX_CHANGES = 16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *text = fz_str(data, n);
    derive_change ch[MAX_CHANGES];
    size_t nch = 0;
    ms_err err = {0};
    int rc = MS_OK;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && nch < MAX_CHANGES && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        char *star = strchr(line, '*');
        int scale = star != NULL;
        if (star)
            *star = '=';
        if (!(rc = derive_parse(line, scale, &ch[nch], &err))) {
            char buf[128];
            derive_change_text(&ch[nch], buf, sizeof buf);
            nch++;
        }
    }
    const chip *h100 = chip_db_find(fz_chips(), "H100");
    if (!rc && h100) {
        derive_chip *out = malloc(sizeof *out);
        if (!out)
            abort();
        (void)derive_apply(h100, "H100x", ch, nch, out, &err);
        free(out);
    }
    free(text);
    return 0;
}
