/* jopt: a job's options as a table of typed rows, stated once. Each row
 * names an option (--NAME on the command line, NAME with '_' for '-' in a
 * scenario file), its type, unit, default, range, help, and the field of
 * the job struct it fills. Parsing, defaults, range checks, the messages
 * for bad values, "did you mean" for a misspelt name, the help text and
 * the "inputs" a result echoes all come from the table, so no default or
 * limit is written anywhere else.
 *
 * Fields by type (the job struct's member at .off):
 *   JOPT_FLAG   int, 0 or 1
 *   JOPT_INT    int64_t; JOPT_NO_INT when not given and without default
 *   JOPT_NUM    double; NAN when not given and without default
 *   JOPT_POS    double > 0 (and in the range); NAN likewise
 *   JOPT_BYTES  double, parsed from "1GiB", "64MB", "1e9"; NAN likewise
 *   JOPT_STR    const char * (borrowed from argv); NULL likewise
 *   JOPT_CHOICE int, the index in choices ("ring|tree|hier"); -1 likewise
 *   JOPT_LIST   jopt_list: every value given, in order (repeatable) */
#ifndef MS_JOPT_H
#define MS_JOPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "report/report.h"

typedef enum {
    JOPT_FLAG,
    JOPT_INT,
    JOPT_NUM,
    JOPT_POS,
    JOPT_BYTES,
    JOPT_STR,
    JOPT_CHOICE,
    JOPT_LIST
} jopt_type;

#define JOPT_NO_INT   INT64_MIN
#define JOPT_MAX_LIST 64

typedef struct jopt_list {
    const char *v[JOPT_MAX_LIST];
    int n;
} jopt_list;

typedef struct jopt {
    const char *name; /* "gpus": --gpus, scenario key "gpus" */
    jopt_type type;
    const char *arg;     /* what the help shows after the name: "N", "SIZE" */
    const char *unit;    /* the value's unit ("B", "Gb/s"); NULL: none */
    const char *def;     /* the default as a user would type it; NULL: none */
    double min, max;     /* INT, NUM, BYTES: the range allowed, inclusive */
    const char *choices; /* CHOICE: the names, '|'-separated */
    size_t off;          /* offsetof(job, field) */
    const char *help;    /* one line; the default and range are added to it */
} jopt;

/* Which rows of a table were given, a bit a row. */
#define JOPT_MAX_ROWS 128
typedef struct jopt_given_set {
    uint64_t bits[JOPT_MAX_ROWS / 64];
} jopt_given_set;

typedef struct jopt_table {
    const jopt *rows;
    size_t n;         /* at most JOPT_MAX_ROWS when given options are tracked */
    int track_given;  /* 1: the job's jopt_given_set at given_off has row i's bit set when given */
    size_t given_off; /* offsetof(job, given) */
} jopt_table;

/* Sets every field of job to its default, or to "not given". */
int jopt_defaults(const jopt_table *t, void *job, ms_err *err);

/* Sets option name (without dashes; '_' and '-' alike) to value (NULL for
 * a flag). Fails with MS_EUSAGE naming the option and what was expected;
 * an unknown name is said with the closest known one ("did you mean"). */
int jopt_set(const jopt_table *t, void *job, const char *name, const char *value, ms_err *err);

/* Parses argv[0..argc) ("--name value", "--name=value", flags alone) into
 * job after jopt_defaults; other words are positional, at most max_pos of
 * them, stored in pos. *help is 1 when --help or -h was given (nothing
 * else is then parsed). */
int jopt_parse(const jopt_table *t, void *job, int argc, char **argv, const char **pos, int max_pos,
               int *npos, int *help, ms_err *err);

/* jopt_parse without the defaults: argv's options over what job holds
 * (a scenario's fields, then the command line's). */
int jopt_apply(const jopt_table *t, void *job, int argc, char **argv, const char **pos, int max_pos,
               int *npos, int *help, ms_err *err);

/* Where arguments came from, for messages: argv[0..nargs) are the fields
 * of the scenario file file (as "--name value" pairs), named "FILE: field
 * 'name'" with MS_EINVAL (bad data) when their values are bad; the rest
 * are the command line's, named "--name" with MS_EUSAGE. */
typedef struct jopt_origin {
    const char *file;
    int nargs;
} jopt_origin;

/* jopt_parse, jopt_apply and jopt_set with their arguments' origin (NULL:
 * all from the command line). */
int jopt_parse_from(const jopt_table *t, void *job, int argc, char **argv, const jopt_origin *from,
                    const char **pos, int max_pos, int *npos, int *help, ms_err *err);
int jopt_apply_from(const jopt_table *t, void *job, int argc, char **argv, const jopt_origin *from,
                    const char **pos, int max_pos, int *npos, int *help, ms_err *err);
int jopt_set_from(const jopt_table *t, void *job, const char *name, const char *value,
                  const char *file, ms_err *err);

/* The words of every value of l split at spaces (a list option that
 * carries another command's arguments, "--mtp-accept 0.85 --overlap"),
 * into words[0..*n): pointers into buf, which holds cap bytes. Fails with
 * MS_EUSAGE naming --opt when they do not fit buf or max words. */
int jopt_split_list(const jopt_list *l, const char *opt, char *buf, size_t cap, char **words,
                    int max, int *n, ms_err *err);

/* The row of name, or NULL. */
const jopt *jopt_find(const jopt_table *t, const char *name);

/* Whether option name was given a value or has a default (not "not
 * given"). */
int jopt_is_set(const jopt_table *t, const void *job, const char *name);

/* Whether option name was given on the command line or in the scenario
 * (not merely defaulted); 0 when the table does not track it. */
int jopt_given(const jopt_table *t, const void *job, const char *name);

/* The closest option name to name (edit distance at most 2), or NULL. */
const char *jopt_suggest(const jopt_table *t, const char *name);

/* One row's help line, without the name: "GPUs taking part (default 8;
 * 2 to 1e6)". Returns buf. */
const char *jopt_help_text(const jopt *o, char *buf, size_t cap);

/* Adds the resolved job, every option with its value (null when not
 * given), as the hidden group "inputs" of r. */
void jopt_report_inputs(const jopt_table *t, const void *job, report *r);

#endif
