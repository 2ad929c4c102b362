/* fuzz_fdb: the failure database (hwdb/failures.csv): the input as the
 * file; when it loads, its rates scaled to 1,024 GPUs drive one short run
 * with failures (src/train/goodput). The same input as a published
 * breakdown of interruptions (src/train/fpub), grouped against the
 * shipped rates when it loads. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fz.h"
#include "train/fdb.h"
#include "train/fpub.h"
#include "train/goodput.h"

static const fdb *shipped(void)
{
    static fdb *db;
    ms_err err = {0};
    if (!db && fdb_load(fz_src("hwdb/failures.csv"), &db, &err)) {
        fprintf(stderr, "fuzz_fdb: %s\n", err.msg);
        abort();
    }
    return db;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fz_file(data, n, "csv");
    ms_err err = {0};
    fpub *pub = NULL;
    if (fpub_load(path, &pub, &err) == MS_OK) {
        double predicted[GOODPUT_MAX_KINDS] = {1, 2, 3};
        fpub_group g[8];
        size_t ng;
        if (fpub_compare(pub, shipped(), predicted, g, 8, &ng, &err) == MS_OK)
            (void)fpub_total(pub);
    }
    fpub_free(pub);
    fdb *db = NULL;
    if (fdb_load(path, &db, &err) == MS_OK) {
        goodput_cfg c = {.work_s = 86400,
                         .window_s = 86400,
                         .ckpt_every_s = 3600,
                         .ckpt_write_s = 60,
                         .restart_s = 300,
                         .detect_s = 30,
                         .hang_detect_s = 600};
        for (size_t i = 0; i < fdb_count(db) && c.nkinds < GOODPUT_MAX_KINDS; i++) {
            const fdb_row *w = fdb_at(db, i);
            c.kinds[c.nkinds++] =
                (goodput_kind){.name = w->component,
                               .rate_per_s = w->per_1000_day / 1000 / 86400 * 1024,
                               .needs_spare = w->needs_spare,
                               .hangs = w->hangs};
            (void)fdb_per_name(w->per);
        }
        goodput_run r;
        (void)goodput_run_one(&c, 0, &r, &err);
    }
    fdb_free(db);
    return 0;
}
