/* commands: the subcommands of megasim, one file each, gathered into the
 * table in main.c. */
#ifndef MS_COMMANDS_H
#define MS_COMMANDS_H

#include "cli/cli.h"

extern const cli_cmd cmd_chips;
extern const cli_cmd cmd_chip;
extern const cli_cmd cmd_roofline;
extern const cli_cmd cmd_default;
extern const cli_cmd cmd_report;
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
extern const cli_cmd cmd_search;
extern const cli_cmd cmd_sweep;
extern const cli_cmd cmd_rl;

#endif
