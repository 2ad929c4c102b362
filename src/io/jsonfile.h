/* jsonfile: a file read whole, and a JSON object read from one, with
 * errors that name the file (and the line where the JSON goes wrong). */
#ifndef MS_JSONFILE_H
#define MS_JSONFILE_H

#include <cjson/cJSON.h>

#include "core/err.h"

/* The whole of path, NUL-terminated, for the caller to free; NULL with
 * err set when it cannot be read, with rfile_slurp's errors (a regular
 * text file of bounded size only). Messages name the file as shown
 * (NULL: as path). */
char *jsonfile_slurp(const char *path, const char *shown, ms_err *err);

/* 1-based line of position pos in text (pos inside text or at its end). */
int jsonfile_line_of(const char *text, const char *pos);

/* The JSON object in path, for the caller to cJSON_Delete; NULL with err
 * set: jsonfile_slurp's errors, MS_EPARSE "FILE:LINE: not valid JSON"
 * (anything but blanks after the object included), MS_EPARSE "FILE: not a
 * JSON object" for valid JSON of another kind, or MS_EPARSE naming a key
 * that appears twice in one object, at any depth. */
cJSON *jsonfile_read_object(const char *path, const char *shown, ms_err *err);

/* The number at a dotted path of j ("a.b": key b of object a; "a.0": the
 * first item of array a; "a[chip=H20,batch=64].c": key c of the first
 * item of array a whose fields chip and batch are "H20" and 64), NAN when
 * it is absent, null or not a number. */
double jsonfile_num_at(const cJSON *j, const char *path);

#endif
