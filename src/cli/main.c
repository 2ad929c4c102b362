/* megasim: the command-line entry point. Dispatches to the subcommands in
 * the table below; with no arguments, runs the report of the whole story
 * (megasim report); --help says what megasim can do. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const cli_cmd *const commands[] = {
    &cmd_default,  &cmd_chips,     &cmd_chip,         &cmd_roofline, &cmd_model,
    &cmd_validate, &cmd_calibrate, &cmd_collective,   &cmd_train,    &cmd_serve,
    &cmd_size,     &cmd_run,       &cmd_export_check, &cmd_derive,   &cmd_export_frontier,
    &cmd_search,   &cmd_sweep,     &cmd_report,       &cmd_rl,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void overview(FILE *f)
{
    fprintf(f,
            "megasim: a discrete-event simulator of AI accelerators and the megaclusters built\n"
            "from them: chips, training and serving workloads, networks, power, export rules.\n\n"
            "Usage: megasim COMMAND [OPTIONS]     (megasim COMMAND --help for each)\n"
            "       megasim --version\n\n"
            "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-15s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\nWith no arguments: 'megasim report', the whole story as a report to open in a\n"
            "browser (megasim-report/index.html). 'megasim default': a roofline comparison.\n"
            "Data (hwdb/, workloads/, scenarios/): %s\n"
            "  (%s; looked for beside the binary, then in $MEGASIM_HOME,\n"
            "  then in the source tree). Files named on the command line are looked for in the\n"
            "  working directory first, then there. Derived chips: $MEGASIM_USER_DIR, else\n"
            "  $XDG_DATA_HOME/megasim, else ~/.local/share/megasim.\n"
            "megasim %s\n",
            cli_home(), cli_home_origin(), cli_version());
}

int main(int argc, char **argv)
{
    /* Where the data is, found once before any command runs (workers
     * read it later). */
    (void)cli_home();
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("megasim %s\n", cli_version());
        return CLI_EXIT_OK;
    }
    if (argc < 2) {
        char *report_argv[] = {"report", NULL};
        return cmd_report.run(&cmd_report, 1, report_argv);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc >= 3 && strcmp(argv[1], "help") == 0) {
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (strcmp(argv[2], commands[i]->name) == 0) {
                    cli_help(commands[i], stdout);
                    return CLI_EXIT_OK;
                }
        } else {
            overview(stdout);
            return CLI_EXIT_OK;
        }
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i]->name) == 0)
            return commands[i]->run(commands[i], argc - 1, argv + 1);

    const char *name = strcmp(argv[1], "help") == 0 ? argv[2] : argv[1];
    fprintf(stderr, "megasim: unknown command '%s'; the commands are:", name);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(stderr, " %s", commands[i]->name);
    fprintf(stderr, " (see 'megasim --help')\n");
    return CLI_EXIT_USAGE;
}
