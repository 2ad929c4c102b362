/* test_json: reading figures out of a report's JSON in the job suites. */
#ifndef MS_TEST_JSON_H
#define MS_TEST_JSON_H

#include <cjson/cJSON.h>

#include "io/jsonfile.h"

/* The number at path in json: io/jsonfile's reader, the one the jobs use. */
static inline double ms_json_num(const cJSON *json, const char *path)
{
    return jsonfile_num_at(json, path);
}

#endif
