/* jscen: a scenario (a command and its options as JSON: "command": "train",
 * "global_batch": 15360, ...) run through the job of its command, its
 * result handed back as the report's JSON. Runs train, serve and rl
 * scenarios, the ones other jobs (a frontier, the system suite, a sweep) run; nothing is
 * printed and no file written. */
#ifndef MS_JSCEN_H
#define MS_JSCEN_H

#include <cjson/cJSON.h>

#include "core/err.h"
#include "job/jenv.h"
#include "report/report.h"

/* Runs the scenario object obj (label names it in messages), the options
 * extra[0..nextra) applied after its fields ("--chip", "H800x"). need_cmd,
 * when not NULL, is the command it must run. *json is the result (the
 * caller deletes it). Errors name the label and field, or the option. */
int jscen_run_obj(const cJSON *obj, const char *label, int nextra, char **extra,
                  const char *need_cmd, const jenv *env, cJSON **json, ms_err *err);

/* Checks the scenario object obj as jscen_run_obj reads it, without
 * running it: its command is train, serve or rl and each field sets an
 * option of that command to a value the option accepts. Fails with
 * MS_EINVAL naming label and the field. */
int jscen_check_obj(const cJSON *obj, const char *label, ms_err *err);

/* The same for the scenario file path (found as jenv_find finds it). */
int jscen_run_file(const char *path, int nextra, char **extra, const char *need_cmd,
                   const jenv *env, cJSON **json, ms_err *err);

/* Runs the scenario object obj of any command a study runs (its
 * "command": train, serve, rl, size, roofline, export-check, export-frontier,
 * "search train", "search serve", validate; a chip list for train and
 * serve runs them side by side), extra applied after its fields, into r.
 * Errors name label and the field or option. */
int jscen_report_obj(const cJSON *obj, const char *label, int nextra, char **extra, const jenv *env,
                     report *r, ms_err *err);

/* Those commands, as a list for messages. */
const char *jscen_report_commands(void);

/* The command the scenario file path names ("train", "serve", ...),
 * copied into name. */
int jscen_command(const char *path, const jenv *env, char *name, size_t cap, ms_err *err);

#endif
