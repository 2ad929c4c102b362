/* cli: what every megasim subcommand shares: the command table entry,
 * option parsing against a table, the data directory, loading the chip
 * database, error reporting and number formatting. Only src/cli prints
 * or decides exit codes. */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "hw/calib.h"
#include "hw/chip.h"
#include "net/topo.h"

/* Exit codes: success, bad input or failed run, bad command line. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_opt {
    const char *name; /* "--chip" */
    const char *arg;  /* "LIST"; NULL for a flag */
    const char *help;
} cli_opt;

#define CLI_MAX_OPTS   64
#define CLI_MAX_VALUES 64
#define CLI_MAX_POS    8

typedef struct cli_cmd cli_cmd;

/* The parsed command line of one subcommand. Values are borrowed from argv. */
typedef struct cli_args {
    const cli_cmd *cmd;
    int count[CLI_MAX_OPTS];
    const char *val[CLI_MAX_OPTS][CLI_MAX_VALUES];
    const char *pos[CLI_MAX_POS];
    int npos;
} cli_args;

struct jopt_table;
struct report;

struct cli_cmd {
    const char *name;
    int (*run)(const cli_cmd *cmd, int argc, char **argv);
    const char *summary; /* one line for `megasim --help` */
    const char *usage;   /* synopsis lines */
    const char *details; /* paragraphs after the options; may be NULL */
    const cli_opt *opts;
    size_t nopts;
    int max_pos; /* positional arguments allowed */
    /* A command moved to a typed job: its option table (opts unused). */
    const struct jopt_table *table;
};

/* Parses argv (argv[0] is the command name) into job with cmd's option
 * table (the help comes from it too). Returns -1 when parsing succeeded;
 * otherwise the exit code to return (help printed: CLI_EXIT_OK; an error
 * printed: CLI_EXIT_USAGE). */
int cli_parse_job(const cli_cmd *cmd, void *job, int argc, char **argv, const char **pos,
                  int *npos);

/* Prints r as text, or as JSON with json. */
int cli_emit_report(const struct report *r, int json, ms_err *err);

/* Writes r's table table_key to path as CSV, whole or not at all (a
 * temporary file beside it, renamed when complete). */
int cli_write_report_csv(const struct report *r, const char *table_key, const char *path,
                         ms_err *err);

/* Whether plots keep their .dat and .gp beside them (a job's
 * --keep-plot-data). */
void cli_keep_plot_data(int keep);

/* Parses argv (argv[0] is the command name) against cmd's options.
 * Returns -1 when parsing succeeded; otherwise the exit code to return
 * (help was printed: CLI_EXIT_OK; an error was printed: CLI_EXIT_USAGE). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a);

int cli_has(const cli_args *a, const char *opt);
/* The last value given for opt, or NULL. */
const char *cli_get(const cli_args *a, const char *opt);
/* Every value given for opt, in order; returns their count. */
int cli_values(const cli_args *a, const char *opt, const char *const **vals);

void cli_help(const cli_cmd *cmd, FILE *f);

/* Prints "megasim CMD: message" and returns the exit code for err. */
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
/* Creates the directories above path that do not exist yet. */
int cli_mkdirs_for(const char *path, ms_err *err);

/* Where megasim derive writes derived chips by default, under the user
 * directory. */
#define CLI_DERIVED_CHIPS "derived.csv"

/* Loads the chip database: every --chips file in order (the later ones
 * added to the first), else home/hwdb/chips.csv and, when it exists,
 * derived.csv in the user directory (the chips megasim derive wrote). */
int cli_load_chips(const cli_args *a, chip_db **db, ms_err *err);
/* Loads the calibration named by --efficiency, or home/hwdb/efficiency.csv;
 * with --peak, sets *cal to NULL (datasheet peaks). */
int cli_load_calib(const cli_args *a, calib **cal, ms_err *err);

/* Resolves comma-separated chip lists (from repeated --chip) into chips.
 * Fails with MS_ENOTFOUND listing the database's names. */
int cli_select_chips(const chip_db *db, const char *const *lists, int nlists, const chip **out,
                     size_t cap, size_t *n, ms_err *err);

/* For a plot to be drawn to out (.png or .svg): the paths of its data and
 * script files (BASE.dat, BASE.gp) and whether it is SVG. They go in a
 * temporary directory that cli_plot_draw removes, or beside out when the
 * command was given --keep-plot-data (every command that plots takes it)
 * or gnuplot is not installed. MS_EUSAGE if out has neither extension. */
int cli_plot_paths(const char *out, char *dat, size_t dat_cap, char *gp, size_t gp_cap, int *svg,
                   ms_err *err);

/* Draws script gp (which writes out) with gnuplot; without gnuplot, says
 * on stderr which files were written and how to draw them, and sets
 * *drawn to 0. A failed drawing removes the partial image. The temporary
 * files of cli_plot_paths are removed either way. */
int cli_plot_draw(const char *gp, const char *dat, const char *out, int *drawn, ms_err *err);

/* The value of an integer option >= min, or def when it is not given. */
int cli_int_opt(const cli_args *a, const char *opt, int64_t min, int64_t def, int64_t *out,
                ms_err *err);

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

/* MS_EUSAGE "OPT is required (see megasim CMD --help)" unless opt is given. */
int cli_need(const cli_args *a, const char *opt, ms_err *err);

/* The value of a number option > 0 (14.8e12 or 14800000000000), or NAN
 * when it is not given. */
int cli_positive_double(const cli_args *a, const char *opt, double *out, ms_err *err);

/* The whole of a text file, NUL-terminated, for the caller to free;
 * NULL with err set (naming path) when it cannot be read. */
char *cli_read_file(const char *path, ms_err *err);

/* path as given when it exists or is absolute, else home/path when that
 * exists (written into buf), else path: for data files a scenario names. */
const char *cli_data_path(const char *path, char *buf, size_t cap);

/* Loads a model file as given, else under the data directory
 * (workloads/...), printing modelfile's warnings on stderr. */
struct model;
int cli_load_model(const char *path, struct model *m, ms_err *err);

/* Parses a whole number in [min, 2^40] given for option opt. Fails with
 * MS_EUSAGE and a message naming the option (err may be NULL). */
int cli_parse_int(const char *opt, const char *text, int64_t min, int64_t *out, ms_err *err);

/* Parses a size: a number with an optional unit B, KB, MB, GB, TB (powers
 * of 1000) or KiB, MiB, GiB, TiB (powers of 1024): "1GiB", "64MB", "1e9".
 * Returns 0 and sets *out (> 0), or -1. */
int cli_parse_bytes(const char *text, double *out);

/* 1 if name is one of the ';'-separated names in list (NULL: 0). */
int cli_listed(const char *list, const char *name);

/* Adds v under key, or null when v is NAN or infinite. */
void cli_json_num(cJSON *obj, const char *key, double v);
/* v as a reader parses it back from what cli_json_num writes. */
double cli_json_printed(double v);
/* Adds the items of a ';'-separated list (leading spaces dropped) under
 * key as an array of strings; an empty or NULL list gives []. */
void cli_json_list(cJSON *obj, const char *key, const char *list);
/* Adds s under key, or null when s is NULL or empty. */
void cli_json_str(cJSON *obj, const char *key, const char *s);
/* Prints json to stdout with a newline and frees it; MS_ENOMEM if cJSON
 * could not print. */
int cli_json_emit(cJSON *json, ms_err *err);

/* Formats v with an SI prefix: cli_si(989.4e12, "FLOP/s") -> "989.4 TFLOP/s". */
const char *cli_si(char *buf, size_t cap, double v, const char *unit);

/* Parses a finite number given for option opt (MS_EUSAGE naming it). */
int cli_parse_double(const char *opt, const char *text, double *out, ms_err *err);

/* The options that describe a cluster's network, for commands that build
 * one; cli_topo_spec reads them. */
#define CLI_TOPO_OPTS                                                                              \
    {"--domain", "N", "GPUs per scale-up domain (default: the chip's)"},                           \
        {"--fabric", "KIND", "fattree (default), multiplane or torus"},                            \
        {"--tiers", "N", "fat-tree tiers, 2 (default) or 3"},                                      \
        {"--oversubscription", "X", "fat-tree leaf down:up ratio, >= 1 (default 1)"},              \
        {"--radix", "N", "ports per fat-tree switch (default 64)"},                                \
        {"--nic-Gbps", "X", "NIC line rate per GPU (default: the chip's)"},                        \
        {"--torus", "AxBxC", "torus shape (TPUs)"},

/* The options of commands that time work on the engine with the
 * database's calibration: what they read and how to turn it off. */
#define CLI_CALIB_OPTS                                                                             \
    {"--ideal", NULL, "ignore hwdb/network.csv: links at full bandwidth, no per-step cost"},       \
        {"--peak", NULL, "ignore hwdb/efficiency.csv: operations at datasheet peak"},              \
        {"--efficiency", "FILE", "calibration to read (default: hwdb/efficiency.csv)"},            \
        {"--chips", "FILE",                                                                        \
         "chip files, repeatable (default: hwdb/chips.csv + the derived chips)"},

/* The cluster of gpus chips c that the CLI_TOPO_OPTS options describe:
 * the chip's scale-up domain and NIC on a rail-optimized non-blocking
 * fat-tree of 64-port switches unless told otherwise. */
int cli_topo_spec(const cli_args *a, const chip *c, int64_t gpus, topo_spec *ts, ms_err *err);

/* topo_build, with a third tier added when two cannot hold the GPUs and
 * --tiers was not given, then switches of 128, 256, 512 ports when 64
 * cannot and neither --tiers nor --radix was given. */
int cli_topo_build(const cli_args *a, topo_spec *ts, topo **t, ms_err *err);

#endif
