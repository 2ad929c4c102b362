/* cli: what every megasim subcommand shares: the command table entry, the
 * command line read into a job with its option table, the data and user
 * directories, reports printed, plots drawn, files written, progress and
 * errors. Only src/cli prints or decides exit codes. */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

/* Exit codes: success, bad input or failed run, bad command line. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* An option of a command that has no job (run's own). */
typedef struct cli_opt {
    const char *name; /* "--json" */
    const char *arg;  /* "LIST"; NULL for a flag */
    const char *help;
} cli_opt;

typedef struct cli_cmd cli_cmd;
struct jopt_table;
struct report;

struct cli_cmd {
    const char *name;
    int (*run)(const cli_cmd *cmd, int argc, char **argv);
    const char *summary; /* one line for `megasim --help` */
    const char *usage;   /* synopsis lines */
    const char *details; /* paragraphs after the options; may be NULL */
    const cli_opt *opts; /* a command without a job: its options, for the help */
    size_t nopts;
    int max_pos; /* positional arguments allowed */
    /* The command's job: its option table. */
    const struct jopt_table *table;
};

/* Parses argv (argv[0] is the command name) into job with cmd's option
 * table (the help comes from it too). Returns -1 when parsing succeeded;
 * otherwise the exit code to return (help printed: CLI_EXIT_OK; an error
 * printed: CLI_EXIT_USAGE). */
int cli_parse_job(const cli_cmd *cmd, void *job, int argc, char **argv, const char **pos,
                  int *npos);

/* The next command's first nargs arguments (after its name) are the
 * fields of scenario file file: their bad values are named as its fields
 * and are bad data (exit 1), not bad usage. */
void cli_from_scenario(const char *file, int nargs);

/* Prints r as text, or as JSON with json. */
int cli_emit_report(const struct report *r, int json, ms_err *err);

/* Writes r's table table_key to path as CSV, whole or not at all
 * (src/io/afile). */
int cli_write_report_csv(const struct report *r, const char *table_key, const char *path,
                         ms_err *err);

void cli_help(const cli_cmd *cmd, FILE *f);

/* Prints "megasim CMD: message", removes the files this run created
 * (afile_undo: those it replaced keep their new content) and returns the
 * exit code for err. */
int cli_fail(const cli_cmd *cmd, const ms_err *err);

/* Prints a usage error with a pointer to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* megasim's version: "0.1.0". */
const char *cli_version(void);

/* The directory holding the data (hwdb/, plots/, workloads/, scenarios/,
 * validation/): BINDIR/../share/megasim beside an installed binary, else
 * $MEGASIM_HOME, else the source tree of a binary in its build tree, else
 * "." (the files are then reported missing). Given as the user reads it:
 * "." for the working directory, a path below it relative. */
const char *cli_home(void);
/* Where cli_home() was found, in words ("beside the binary", ...). */
const char *cli_home_origin(void);
/* The data and user directories as jobs read them (src/job/jenv). */
struct jenv;
const struct jenv *cli_env(void);
/* Writes home/rel into buf (rel alone when home is "."); MS_EINVAL if it
 * does not fit. */
int cli_home_path(char *buf, size_t cap, const char *rel, ms_err *err);

/* What users create (derived chips) is kept in their own directory:
 * $MEGASIM_USER_DIR, else $XDG_DATA_HOME/megasim, else
 * $HOME/.local/share/megasim. Writes that directory/rel into buf. */
int cli_user_path(char *buf, size_t cap, const char *rel, ms_err *err);

/* The derived chips' file, under the user directory. */
#define CLI_DERIVED_CHIPS "derived.csv"

/* path as given when it exists or is absolute, else home/path when that
 * exists (written into buf), else path. */
const char *cli_data_path(const char *path, char *buf, size_t cap);

/* Progress of a job on stderr, for jobs that can run longer than two
 * seconds: nothing in the first two seconds; then on a terminal a bar
 * redrawn in place, otherwise a line every five seconds. stdout is not
 * touched, so --json output stays clean. */
typedef struct cli_progress {
    const char *who; /* "serve" */
    double t0_s, last_s;
    int tty, shown;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *who);
/* done of total (total <= 0: unknown) units ("requests"); note follows
 * ("812 s simulated"; may be NULL). */
void cli_progress_update(cli_progress *p, double done, double total, const char *units,
                         const char *note);
/* Ends the line a terminal bar was drawing on. */
void cli_progress_end(cli_progress *p);

#endif
