/* jsonfile: see jsonfile.h. */
#include "io/jsonfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/rfile.h"

char *jsonfile_slurp(const char *path, const char *shown, ms_err *err)
{
    return rfile_slurp(path, shown, NULL, err);
}

int jsonfile_line_of(const char *text, const char *pos)
{
    int line = 1;
    for (const char *p = text; p < pos && *p; p++)
        line += *p == '\n';
    return line;
}

/* The first key that repeats in an object of j (at any depth), or NULL.
 * cJSON keeps both and lookups take the first, so a second "command"
 * would be ignored without a word. */
static const cJSON *first_duplicate_key(const cJSON *j)
{
    for (const cJSON *a = j ? j->child : NULL; a; a = a->next) {
        if (cJSON_IsObject(j) && a->string)
            for (const cJSON *b = a->next; b; b = b->next)
                if (b->string && strcmp(a->string, b->string) == 0)
                    return b;
        const cJSON *d = first_duplicate_key(a);
        if (d)
            return d;
    }
    return NULL;
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
    const cJSON *dup = root && cJSON_IsObject(root) ? first_duplicate_key(root) : NULL;
    if (dup)
        ms_errf(err, MS_EPARSE, "%s: key \"%s\" appears twice in one object: expected each once",
                name, dup->string);
    free(text);
    if (root && (!cJSON_IsObject(root) || dup)) {
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
