/* test_json: reading figures out of a report's JSON in the job suites. */
#ifndef MS_TEST_JSON_H
#define MS_TEST_JSON_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number at path ("a.b": key b of object a; "a.0": the first item
 * of array a) in json, or NAN when it is absent, null or not a number. */
static inline double ms_json_num(const cJSON *json, const char *path)
{
    char key[64];
    const cJSON *at = json;
    while (at && *path) {
        size_t len = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)len, path);
        at = cJSON_IsArray(at) ? cJSON_GetArrayItem(at, atoi(key))
                               : cJSON_GetObjectItemCaseSensitive(at, key);
        path += len + (path[len] == '.');
    }
    return cJSON_IsNumber(at) ? at->valuedouble : NAN;
}

#endif
