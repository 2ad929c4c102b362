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

/* Whether field k of o is v (a string, or a number read as text). */
static int field_is(const cJSON *o, const char *k, const char *v)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, k);
    return (cJSON_IsString(f) && strcmp(f->valuestring, v) == 0) ||
           (cJSON_IsNumber(f) && f->valuedouble == strtod(v, NULL));
}

/* The first item of array a meeting every condition of conds
 * ("chip=H20,batch=64", written over); NULL when none. */
static const cJSON *item_where(const cJSON *a, char *conds)
{
    char *k[8], *v[8];
    int n = 0;
    for (char *save = NULL, *c = strtok_r(conds, ",", &save); c && n < 8;
         c = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(c, '=');
        if (!eq)
            return NULL;
        *eq = '\0';
        k[n] = c;
        v[n++] = eq + 1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        int all = n > 0;
        for (int i = 0; i < n && all; i++)
            all = field_is(it, k[i], v[i]);
        if (all)
            return it;
    }
    return NULL;
}

double jsonfile_num_at(const cJSON *j, const char *path)
{
    char seg[160];
    while (j && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof seg)
            return NAN;
        /* a '.' inside [...] belongs to the selector's value */
        const char *br = memchr(path, '[', len);
        if (br && !memchr(br, ']', len - (size_t)(br - path))) {
            const char *close = strchr(br, ']');
            if (!close)
                return NAN;
            len = (size_t)(close - path) + 1;
        }
        memcpy(seg, path, len);
        seg[len] = '\0';
        path += len + (path[len] == '.');
        char *sel = strchr(seg, '[');
        if (sel) {
            *sel++ = '\0';
            char *end = strchr(sel, ']');
            if (!end)
                return NAN;
            *end = '\0';
            j = item_where(cJSON_GetObjectItemCaseSensitive(j, seg), sel);
        } else {
            char *end;
            long k = strtol(seg, &end, 10);
            j = cJSON_IsArray(j) && !*end ? cJSON_GetArrayItem(j, (int)k)
                                          : cJSON_GetObjectItemCaseSensitive(j, seg);
        }
    }
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}
