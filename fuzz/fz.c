/* fz: see fz.h. */
#include "fz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

#ifndef MEGASIM_SOURCE_DIR
#error "MEGASIM_SOURCE_DIR: the source tree, set by CMakeLists.txt"
#endif

/* One temporary file per tag; a handful of tags at most. */
enum { FZ_TAGS = 4 };
static struct {
    char tag[16];
    char path[4096];
} files[FZ_TAGS];

static void remove_files(void)
{
    for (int i = 0; i < FZ_TAGS; i++)
        if (files[i].tag[0])
            remove(files[i].path);
}

static const char *path_of(const char *tag)
{
    if (!files[0].tag[0])
        atexit(remove_files);
    for (int i = 0; i < FZ_TAGS; i++) {
        if (files[i].tag[0] && strcmp(files[i].tag, tag) == 0)
            return files[i].path;
        if (!files[i].tag[0]) {
            const char *dir = getenv("TMPDIR");
            snprintf(files[i].tag, sizeof files[i].tag, "%s", tag);
            snprintf(files[i].path, sizeof files[i].path, "%s/megasim-fuzz-%ld-%d.%s",
                     dir && *dir ? dir : "/tmp", (long)getpid(), i, tag);
            return files[i].path;
        }
    }
    fprintf(stderr, "fz: more than %d temporary files\n", FZ_TAGS);
    abort();
}

const char *fz_file(const uint8_t *data, size_t n, const char *tag)
{
    const char *path = path_of(tag);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "fz: cannot write %s\n", path);
        abort();
    }
    return path;
}

char *fz_str(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

const char *fz_src(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", MEGASIM_SOURCE_DIR, rel);
    return buf;
}

const chip_db *fz_chips(void)
{
    static chip_db *db;
    if (!db) {
        ms_err err = {0};
        if (chip_db_load(fz_src("hwdb/chips.csv"), &db, &err)) {
            fprintf(stderr, "fz: %s\n", err.msg);
            abort();
        }
    }
    return db;
}
