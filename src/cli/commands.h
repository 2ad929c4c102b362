/* commands: the subcommands of megasim, one file each, gathered into the
 * table in main.c. */
#ifndef MS_COMMANDS_H
#define MS_COMMANDS_H

#include "cli/cli.h"

extern const cli_cmd cmd_chips;
extern const cli_cmd cmd_chip;
extern const cli_cmd cmd_roofline;
extern const cli_cmd cmd_default;
extern const cli_cmd cmd_model;
extern const cli_cmd cmd_validate;
extern const cli_cmd cmd_calibrate;
extern const cli_cmd cmd_collective;
extern const cli_cmd cmd_train;
extern const cli_cmd cmd_serve;
extern const cli_cmd cmd_size;
extern const cli_cmd cmd_run;
extern const cli_cmd cmd_export_check;
extern const cli_cmd cmd_derive;
extern const cli_cmd cmd_export_frontier;

/* Runs scenario path (with extra arguments after its fields) and hands
 * back the JSON its command prints (the caller deletes it); need_cmd,
 * when not NULL, is the command the scenario must run. A failed run is
 * an error carrying the command's message. */
int cli_run_scenario_json(const char *path, int nextra, char **extra, const char *need_cmd,
                          cJSON **out, ms_err *err);
/* The same for a scenario given as a JSON object (borrowed); label names
 * it in messages ("validation/system/t1.json: scenario"). */
int cli_run_scenario_obj(const cJSON *obj, const char *label, int nextra, char **extra,
                         const char *need_cmd, cJSON **out, ms_err *err);
/* The command scenario path names. */
int cli_scenario_command(const char *path, const char **name, ms_err *err);

#endif
