/* jsonfile: see jsonfile.h. */
#include "io/jsonfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"

char *jsonfile_slurp(const char *path, const char *shown, ms_err *err)
{
    const char *name = shown ? shown : path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ms_errf(err, MS_EIO, "%s: cannot open: %s", name, strerror(errno));
        return NULL;
    }
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        /* Room to read at least one byte and to end with a NUL; a short
         * read is the end of the file (or an error, told apart below). */
        char *b = vec_grow(buf, &cap, n + 2, 4096, 1);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        ms_errf(err, MS_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    if (bad) {
        free(buf);
        ms_errf(err, MS_EIO, "%s: read error", name);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int jsonfile_line_of(const char *text, const char *pos)
{
    int line = 1;
    for (const char *p = text; p < pos && *p; p++)
        line += *p == '\n';
    return line;
}

cJSON *jsonfile_read_object(const char *path, const char *shown, ms_err *err)
{
    const char *name = shown ? shown : path;
    char *text = jsonfile_slurp(path, shown, err);
    if (!text)
        return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root)
        ms_errf(err, MS_EPARSE, "%s:%d: not valid JSON", name,
                jsonfile_line_of(text, end ? end : text));
    else if (!cJSON_IsObject(root))
        ms_errf(err, MS_EPARSE, "%s: not a JSON object", name);
    free(text);
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return root;
}

double jsonfile_num_at(const cJSON *j, const char *path)
{
    char key[128];
    while (j && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof key)
            return NAN;
        memcpy(key, path, len);
        key[len] = '\0';
        j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(key))
                             : cJSON_GetObjectItemCaseSensitive(j, key);
        path += len + (path[len] == '.');
    }
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}
