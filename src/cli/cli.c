/* cli: see cli.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli/cli.h"

#include "io/afile.h"
#include "io/gnuplot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "report/report.h"

#ifndef MEGASIM_VERSION
#define MEGASIM_VERSION "unknown"
#endif
#ifndef MEGASIM_DATA_REL
#define MEGASIM_DATA_REL "../share/megasim"
#endif
#ifndef MEGASIM_SOURCE_REL
#define MEGASIM_SOURCE_REL ".."
#endif

/* Whether plots keep their .dat and .gp beside them (a job's
 * --keep-plot-data). */

/* The scenario file whose fields lead the next command's arguments. */
static jopt_origin scenario_origin;

void cli_from_scenario(const char *file, int nargs)
{
    scenario_origin = (jopt_origin){.file = file, .nargs = nargs};
}

int cli_parse_job(const cli_cmd *cmd, void *job, int argc, char **argv, const char **pos, int *npos)
{
    ms_err err = {0};
    int help;
    if (jopt_parse_from(cmd->table, job, argc - 1, argv + 1,
                        scenario_origin.file ? &scenario_origin : NULL, pos, cmd->max_pos, npos,
                        &help, &err))
        return err.code == MS_EUSAGE ? cli_usage_error(cmd, "%s", err.msg) : cli_fail(cmd, &err);
    if (help) {
        cli_help(cmd, stdout);
        return CLI_EXIT_OK;
    }
    return -1;
}

static void help_table(const jopt_table *t, FILE *f)
{
    fprintf(f, "\nOptions:\n");
    for (size_t i = 0; i < t->n; i++) {
        const jopt *o = &t->rows[i];
        char left[64], text[600];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        /* Wrapped at word breaks to 100 columns, continued under itself. */
        const char *p = jopt_help_text(o, text, sizeof text);
        fprintf(f, "  %-24s ", left);
        while (strlen(p) > 73) {
            int cut = 73;
            while (cut > 20 && (p[cut] != ' ' || p[cut - 1] == '=')) /* keep ">= 1" whole */
                cut--;
            fprintf(f, "%.*s\n%27s", cut, p, "");
            p += cut + (p[cut] == ' ');
        }
        fprintf(f, "%s\n", p);
    }
    fprintf(f, "  %-24s %s\n", "--help", "show this help");
}

void cli_help(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "megasim %s: %s\n\nUsage:\n%s\n", cmd->name, cmd->summary, cmd->usage);
    if (cmd->table) {
        help_table(cmd->table, f);
        if (cmd->details)
            fprintf(f, "\n%s", cmd->details);
        return;
    }
    if (cmd->nopts)
        fprintf(f, "\nOptions:\n");
    for (size_t i = 0; i < cmd->nopts; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", cmd->opts[i].name, cmd->opts[i].arg ? " " : "",
                 cmd->opts[i].arg ? cmd->opts[i].arg : "");
        fprintf(f, "  %-24s %s\n", left, cmd->opts[i].help);
    }
    fprintf(f, "  %-24s %s\n", "--help", "show this help");
    if (cmd->details)
        fprintf(f, "\n%s", cmd->details);
}

int cli_fail(const cli_cmd *cmd, const ms_err *err)
{
    const char *msg = err->msg[0] ? err->msg : ms_code_text(err->code);
    fprintf(stderr, "megasim %s: %s\n", cmd->name, msg);
    /* A failed run leaves none of the files it created (src/io/afile). */
    afile_undo();
    return err->code == MS_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "megasim %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'megasim %s --help')\n", cmd->name);
    return CLI_EXIT_USAGE;
}

const char *cli_version(void)
{
    return MEGASIM_VERSION;
}

static int has_data(const char *dir)
{
    char p[4200];
    int w = snprintf(p, sizeof p, "%s/hwdb/chips.csv", dir);
    return w > 0 && (size_t)w < sizeof p && access(p, R_OK) == 0;
}

/* The directory of the running binary, or "" when it cannot be read. */
static void exe_dir(char *buf, size_t cap)
{
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    buf[0] = '\0';
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(buf, cap, "%s", slash == exe ? "/" : exe);
}

/* dir as the shortest path a user reads: "." for the working directory,
 * a path below it relative, anything else absolute and resolved. */
static void shorten(const char *dir, char *out, size_t cap)
{
    char real[4096], cwd[4096];
    if (!realpath(dir, real) || !getcwd(cwd, sizeof cwd)) {
        snprintf(out, cap, "%s", dir);
        return;
    }
    size_t n = strlen(cwd);
    if (strcmp(real, cwd) == 0)
        snprintf(out, cap, ".");
    else if (n > 1 && strncmp(real, cwd, n) == 0 && real[n] == '/')
        snprintf(out, cap, "%s", real + n + 1);
    else
        snprintf(out, cap, "%s", real);
}

static char home_dir[4096];
static const char *home_origin;

static void find_home(void)
{
    char exe[2048], cand[4096];
    exe_dir(exe, sizeof exe);
    const char *env = getenv("MEGASIM_HOME");
    if (exe[0] && snprintf(cand, sizeof cand, "%s/%s", exe, MEGASIM_DATA_REL) > 0 && has_data(cand))
        home_origin = "beside the binary";
    else if (env && env[0] && snprintf(cand, sizeof cand, "%s", env) > 0)
        home_origin = "$MEGASIM_HOME";
    else if (exe[0] && snprintf(cand, sizeof cand, "%s/%s", exe, MEGASIM_SOURCE_REL) > 0 &&
             has_data(cand))
        home_origin = "the source tree megasim was built in";
    else {
        snprintf(cand, sizeof cand, ".");
        home_origin = "not found: neither beside the binary, nor $MEGASIM_HOME, nor a source tree";
    }
    shorten(cand, home_dir, sizeof home_dir);
}

const char *cli_home(void)
{
    if (!home_origin)
        find_home();
    return home_dir;
}

const char *cli_home_origin(void)
{
    if (!home_origin)
        find_home();
    return home_origin;
}

const jenv *cli_env(void)
{
    static jenv env;
    static char derived[4096];
    if (!env.home) {
        env.home = cli_home();
        env.derived_path = cli_user_path(derived, sizeof derived, CLI_DERIVED_CHIPS, NULL) == MS_OK
                               ? derived
                               : NULL;
        env.version = cli_version();
    }
    return &env;
}

int cli_home_path(char *buf, size_t cap, const char *rel, ms_err *err)
{
    return jenv_path(cli_env(), rel, buf, cap, err);
}

int cli_user_path(char *buf, size_t cap, const char *rel, ms_err *err)
{
    const char *dir = getenv("MEGASIM_USER_DIR"), *xdg = getenv("XDG_DATA_HOME"),
               *home = getenv("HOME");
    int w;
    if (dir && dir[0])
        w = snprintf(buf, cap, "%s/%s", dir, rel);
    else if (xdg && xdg[0] == '/')
        w = snprintf(buf, cap, "%s/megasim/%s", xdg, rel);
    else if (home && home[0])
        w = snprintf(buf, cap, "%s/.local/share/megasim/%s", home, rel);
    else
        return ms_errf(err, MS_EINVAL,
                       "no user data directory: set MEGASIM_USER_DIR (or XDG_DATA_HOME or HOME)");
    if (w < 0 || (size_t)w >= cap)
        return ms_errf(err, MS_EINVAL, "user data path too long for %s", rel);
    return MS_OK;
}

/* Prints json to stdout with a newline, numbers exact, and frees it. */
static int json_emit(cJSON *json, ms_err *err)
{
    char *text = report_json_exact(json) ? NULL : cJSON_Print(json);
    cJSON_Delete(json);
    if (!text)
        return ms_errf(err, MS_ENOMEM, "out of memory while writing JSON");
    puts(text);
    cJSON_free(text);
    return MS_OK;
}

int cli_emit_report(const report *r, int json, ms_err *err)
{
    if (json) {
        cJSON *j = report_json(r);
        if (!j)
            return ms_errf(err, MS_ENOMEM, "out of memory while writing JSON");
        return json_emit(j, err);
    }
    return report_write_text(r, stdout, err);
}

int cli_write_report_csv(const report *r, const char *table_key, const char *path, ms_err *err)
{
    afile *af;
    int rc = afile_open(path, &af, err);
    if (rc)
        return rc;
    if ((rc = report_write_csv(r, table_key, afile_stream(af), err)))
        afile_abort(af);
    else
        rc = afile_commit(af, err);
    return rc;
}

const char *cli_data_path(const char *path, char *buf, size_t cap)
{
    return jenv_find(cli_env(), path, buf, cap);
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, const char *who)
{
    *p = (cli_progress){.who = who, .t0_s = wall_s(), .tty = isatty(STDERR_FILENO)};
    p->last_s = p->t0_s;
}

void cli_progress_update(cli_progress *p, double done, double total, const char *units,
                         const char *note)
{
    double now = wall_s();
    double gap = !p->shown ? 0 : p->tty ? 0.1 : 5;
    if (now - p->t0_s < 2 || now - p->last_s < gap)
        return;
    p->last_s = now;
    p->shown = 1;
    char bar[32] = "";
    if (p->tty && total > 0) {
        int fill = (int)(20 * fmin(1, done / total));
        snprintf(bar, sizeof bar, "[%.*s%*s] ", fill, "####################", 20 - fill, "");
    }
    char pct[16] = "";
    if (total > 0)
        snprintf(pct, sizeof pct, " (%.0f%%)", 100 * fmin(1, done / total));
    char of[48] = "";
    if (total > 0)
        snprintf(of, sizeof of, " of %.0f", total);
    fprintf(stderr, "%s%s: %s%.0f%s %s%s%s%s, %.0f s%s", p->tty ? "\r" : "", p->who, bar, done, of,
            units, pct, note ? ", " : "", note ? note : "", now - p->t0_s, p->tty ? "   " : "\n");
    fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
    if (p->tty && p->shown)
        fprintf(stderr, "\n");
    p->shown = 0;
}
