/* cli: see cli.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli/cli.h"

#include "io/gnuplot.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job/jenv.h"
#include "job/jopt.h"
#include "job/jtopo.h"
#include "model/modelfile.h"
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

static int opt_index(const cli_cmd *cmd, const char *name)
{
    for (size_t i = 0; i < cmd->nopts; i++)
        if (strcmp(cmd->opts[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Commands that draw plots also take --keep-plot-data. */
static const char keep_plot_opt[] = "--keep-plot-data";
static int keep_plot_data;

static int draws_plots(const cli_cmd *cmd)
{
    if (strcmp(cmd->name, "default") == 0)
        return 1;
    for (size_t i = 0; i < cmd->nopts; i++)
        if (strstr(cmd->opts[i].name, "plot"))
            return 1;
    return 0;
}

static void list_opts(const cli_cmd *cmd, FILE *f)
{
    for (size_t i = 0; i < cmd->nopts; i++)
        fprintf(f, "%s%s", i ? ", " : "", cmd->opts[i].name);
    if (draws_plots(cmd))
        fprintf(f, ", %s", keep_plot_opt);
    fprintf(f, "%s--help", cmd->nopts ? ", " : "");
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a)
{
    assert(cmd->nopts <= CLI_MAX_OPTS); /* a command table larger than cli_args holds */
    *a = (cli_args){.cmd = cmd};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_help(cmd, stdout);
            return CLI_EXIT_OK;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->npos >= cmd->max_pos)
                return cli_usage_error(cmd, "unexpected argument '%s'", arg);
            a->pos[a->npos++] = arg;
            continue;
        }
        /* --name=value is the same as --name value */
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, arg, len);
        name[len] = '\0';
        int k = opt_index(cmd, name);
        if (k < 0 && strcmp(name, keep_plot_opt) == 0 && !eq && draws_plots(cmd)) {
            keep_plot_data = 1;
            continue;
        }
        if (k < 0) {
            fprintf(stderr, "megasim %s: unknown option '%s'; the options are: ", cmd->name, name);
            list_opts(cmd, stderr);
            fprintf(stderr, "\n");
            return CLI_EXIT_USAGE;
        }
        const cli_opt *o = &cmd->opts[k];
        const char *value = NULL;
        if (o->arg) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_usage_error(cmd, "option %s needs a value (%s %s)", o->name, o->name,
                                       o->arg);
        } else if (eq) {
            return cli_usage_error(cmd, "option %s takes no value", o->name);
        }
        if (a->count[k] >= CLI_MAX_VALUES)
            return cli_usage_error(cmd, "option %s given more than %d times", o->name,
                                   CLI_MAX_VALUES);
        a->val[k][a->count[k]++] = value;
    }
    return -1;
}

int cli_parse_job(const cli_cmd *cmd, void *job, int argc, char **argv, const char **pos, int *npos)
{
    ms_err err = {0};
    int help;
    if (jopt_parse(cmd->table, job, argc - 1, argv + 1, pos, cmd->max_pos, npos, &help, &err))
        return cli_usage_error(cmd, "%s", err.msg);
    if (help) {
        cli_help(cmd, stdout);
        return CLI_EXIT_OK;
    }
    return -1;
}

int cli_has(const cli_args *a, const char *opt)
{
    int k = opt_index(a->cmd, opt);
    return k >= 0 && a->count[k] > 0;
}

const char *cli_get(const cli_args *a, const char *opt)
{
    int k = opt_index(a->cmd, opt);
    return k >= 0 && a->count[k] > 0 ? a->val[k][a->count[k] - 1] : NULL;
}

int cli_values(const cli_args *a, const char *opt, const char *const **vals)
{
    int k = opt_index(a->cmd, opt);
    if (k < 0) {
        *vals = NULL;
        return 0;
    }
    *vals = a->val[k];
    return a->count[k];
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
    if (draws_plots(cmd))
        fprintf(f, "  %-24s %s\n", keep_plot_opt,
                "keep a plot's .dat and .gp files beside it (default: drawn from a temporary "
                "directory)");
    fprintf(f, "  %-24s %s\n", "--help", "show this help");
    if (cmd->details)
        fprintf(f, "\n%s", cmd->details);
}

int cli_fail(const cli_cmd *cmd, const ms_err *err)
{
    const char *msg = err->msg[0] ? err->msg : ms_code_text(err->code);
    fprintf(stderr, "megasim %s: %s\n", cmd->name, msg);
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

int cli_mkdirs_for(const char *path, ms_err *err)
{
    char dir[4096];
    int w = snprintf(dir, sizeof dir, "%s", path);
    if (w < 0 || (size_t)w >= sizeof dir)
        return ms_errf(err, MS_EINVAL, "path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return MS_OK;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return ms_errf(err, MS_EIO, "%s: cannot create the directory: %s", dir,
                           strerror(errno));
        *p = c;
        if (!c)
            break;
    }
    return MS_OK;
}

int cli_load_chips(const cli_args *a, chip_db **db, ms_err *err)
{
    const char *const *files = NULL;
    jopt_list l = {.n = cli_values(a, "--chips", &files)};
    for (int i = 0; i < l.n && i < JOPT_MAX_LIST; i++)
        l.v[i] = files[i];
    return jenv_load_chips(cli_env(), &l, db, err);
}

int cli_load_calib(const cli_args *a, calib **cal, ms_err *err)
{
    char path[4096];
    *cal = NULL;
    if (cli_has(a, "--peak"))
        return MS_OK;
    const char *file = cli_get(a, "--efficiency");
    if (!file) {
        int rc = cli_home_path(path, sizeof path, "hwdb/efficiency.csv", err);
        if (rc)
            return rc;
        file = path;
    } else {
        file = cli_data_path(file, path, sizeof path);
    }
    return calib_load(file, cal, err);
}

int cli_select_chips(const chip_db *db, const char *const *lists, int nlists, const chip **out,
                     size_t cap, size_t *n, ms_err *err)
{
    jopt_list l = {.n = nlists < JOPT_MAX_LIST ? nlists : JOPT_MAX_LIST};
    for (int i = 0; i < l.n; i++)
        l.v[i] = lists[i];
    return jenv_select_chips(db, &l, out, cap, n, err);
}

/* The temporary directory of the plot being drawn and its two files, removed
 * once it is drawn (or at exit, if the command failed before drawing). */
static char plot_tmp[4096], plot_tmp_dat[4300], plot_tmp_gp[4300];

static void plot_tmp_clean(void)
{
    if (!plot_tmp[0])
        return;
    remove(plot_tmp_dat);
    remove(plot_tmp_gp);
    rmdir(plot_tmp);
    plot_tmp[0] = '\0';
}

int cli_plot_paths(const char *out, char *dat, size_t dat_cap, char *gp, size_t gp_cap, int *svg,
                   ms_err *err)
{
    size_t len = strlen(out);
    *svg = len > 4 && strcmp(out + len - 4, ".svg") == 0;
    if (len <= 4 || (!*svg && strcmp(out + len - 4, ".png") != 0))
        return ms_errf(err, MS_EUSAGE, "--plot '%s': expected a file name ending in .png or .svg",
                       out);
    plot_tmp_clean();
    /* Beside the image when they are to be kept or gnuplot is missing
     * (then the user draws them); else in a directory of their own. */
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    const char *tmpdir = getenv("TMPDIR");
    int a, b;
    if (!keep_plot_data && gp_available() &&
        snprintf(plot_tmp, sizeof plot_tmp, "%s/megasim-plot-XXXXXX",
                 tmpdir && tmpdir[0] ? tmpdir : "/tmp") < (int)sizeof plot_tmp &&
        mkdtemp(plot_tmp)) {
        static int registered;
        if (!registered)
            registered = !atexit(plot_tmp_clean);
        int blen = (int)strlen(base) - 4;
        a = snprintf(dat, dat_cap, "%s/%.*s.dat", plot_tmp, blen, base);
        b = snprintf(gp, gp_cap, "%s/%.*s.gp", plot_tmp, blen, base);
        snprintf(plot_tmp_dat, sizeof plot_tmp_dat, "%s", dat);
        snprintf(plot_tmp_gp, sizeof plot_tmp_gp, "%s", gp);
    } else {
        plot_tmp[0] = '\0';
        a = snprintf(dat, dat_cap, "%.*s.dat", (int)len - 4, out);
        b = snprintf(gp, gp_cap, "%.*s.gp", (int)len - 4, out);
    }
    if (a < 0 || (size_t)a >= dat_cap || b < 0 || (size_t)b >= gp_cap)
        return ms_errf(err, MS_EUSAGE, "--plot '%s': name too long", out);
    return MS_OK;
}

int cli_plot_draw(const char *gp, const char *dat, const char *out, int *drawn, ms_err *err)
{
    *drawn = 0;
    if (!gp_available()) {
        fprintf(stderr,
                "note: gnuplot is not installed: wrote %s and %s; draw them with 'gnuplot %s'\n",
                dat, gp, gp);
        return MS_OK;
    }
    int rc = gp_run(gp, err);
    if (rc)
        remove(out); /* gnuplot may leave an empty image behind */
    else
        *drawn = 1;
    plot_tmp_clean();
    return rc;
}

int cli_parse_int(const char *opt, const char *text, int64_t min, int64_t *out, ms_err *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || errno || v < min || v > (INT64_C(1) << 40))
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected a whole number >= %lld", opt, text,
                       (long long)min);
    *out = v;
    return MS_OK;
}

int cli_parse_bytes(const char *text, double *out)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KB", 1e3},
                 {"MB", 1e6},
                 {"GB", 1e9},
                 {"TB", 1e12},
                 {"KiB", 1024.0},
                 {"MiB", 1048576.0},
                 {"GiB", 1073741824.0},
                 {"TiB", 1099511627776.0}};
    char *end;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || !(v > 0))
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            *out = v * units[i].scale;
            return 0;
        }
    return -1;
}

int cli_listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        if (strncmp(p, name, len) == 0 && (p[len] == ';' || p[len] == '\0'))
            return 1;
        p += strcspn(p, ";");
        p += *p == ';';
    }
    return 0;
}

double cli_json_printed(double v)
{
    /* cJSON 1.7 writes %1.15g when it reads back within DBL_EPSILON of
     * v (relative), else %1.17g, which reads back exactly. */
    char buf[40];
    snprintf(buf, sizeof buf, "%1.15g", v);
    double back = strtod(buf, NULL);
    return fabs(back - v) <= fmax(fabs(back), fabs(v)) * DBL_EPSILON ? back : v;
}

void cli_json_num(cJSON *obj, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(obj, key, v);
    else
        cJSON_AddNullToObject(obj, key);
}

void cli_json_list(cJSON *obj, const char *key, const char *list)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (const char *q = list; arr && q && *q;) {
        while (*q == ' ')
            q++;
        size_t n = strcspn(q, ";");
        if (n > 0) {
            char item[256];
            snprintf(item, sizeof item, "%.*s", (int)n, q);
            cJSON_AddItemToArray(arr, cJSON_CreateString(item));
        }
        q += n + (q[n] == ';');
    }
}

void cli_json_str(cJSON *obj, const char *key, const char *s)
{
    if (s && s[0])
        cJSON_AddStringToObject(obj, key, s);
    else
        cJSON_AddNullToObject(obj, key);
}

int cli_emit_report(const report *r, int json, ms_err *err)
{
    if (json) {
        cJSON *j = report_json(r);
        if (!j)
            return ms_errf(err, MS_ENOMEM, "out of memory while writing JSON");
        return cli_json_emit(j, err);
    }
    return report_write_text(r, stdout, err);
}

int cli_write_report_csv(const report *r, const char *table_key, const char *path, ms_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    int rc = report_write_csv(r, table_key, f, err);
    if (fclose(f) != 0 && !rc)
        rc = ms_errf(err, MS_EIO, "%s: write failed: %s", path, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    if (rc)
        remove(tmp);
    return rc;
}

void cli_keep_plot_data(int keep)
{
    keep_plot_data |= keep; /* a job run inside another leaves the outer one's choice */
}

int cli_json_emit(cJSON *json, ms_err *err)
{
    char *text = report_json_exact(json) ? NULL : cJSON_Print(json);
    cJSON_Delete(json);
    if (!text)
        return ms_errf(err, MS_ENOMEM, "out of memory while writing JSON");
    puts(text);
    cJSON_free(text);
    return MS_OK;
}

const char *cli_si(char *buf, size_t cap, double v, const char *unit)
{
    static const struct {
        double scale;
        const char *prefix;
    } prefixes[] = {{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"},  {1e6, "M"},
                    {1e3, "k"},  {1, ""},     {1e-3, "m"}, {1e-6, "u"}, {1e-9, "n"}};
    if (!isfinite(v)) {
        snprintf(buf, cap, "-");
        return buf;
    }
    if (v == 0) {
        snprintf(buf, cap, "0 %s", unit);
        return buf;
    }
    size_t i = 0;
    while (i + 1 < sizeof prefixes / sizeof prefixes[0] && fabs(v) < prefixes[i].scale)
        i++;
    snprintf(buf, cap, "%.4g %s%s", v / prefixes[i].scale, prefixes[i].prefix, unit);
    return buf;
}

int cli_parse_double(const char *opt, const char *text, double *out, ms_err *err)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v))
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected a number", opt, text);
    *out = v;
    return MS_OK;
}

/* The topology options given on a's command line, as jtopo reads them. */
static int topo_opts(const cli_args *a, jtopo_opts *o, ms_err *err)
{
    int rc = jopt_defaults(&jtopo_options, o, err);
    for (size_t i = 0; i < jtopo_options.n && !rc; i++) {
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", jtopo_options.rows[i].name);
        if (cli_get(a, opt))
            rc = jopt_set(&jtopo_options, o, jtopo_options.rows[i].name, cli_get(a, opt), err);
    }
    return rc;
}

int cli_topo_spec(const cli_args *a, const chip *c, int64_t gpus, topo_spec *ts, ms_err *err)
{
    jtopo_opts o;
    int rc = topo_opts(a, &o, err);
    return rc ? rc : jtopo_spec(&o, c, gpus, ts, err);
}

int cli_topo_build(const cli_args *a, topo_spec *ts, topo **t, ms_err *err)
{
    jtopo_opts o;
    int rc = topo_opts(a, &o, err);
    return rc ? rc : jtopo_build(&o, ts, t, err);
}

int cli_int_opt(const cli_args *a, const char *opt, int64_t min, int64_t def, int64_t *out,
                ms_err *err)
{
    *out = def;
    const char *v = cli_get(a, opt);
    return v ? cli_parse_int(opt, v, min, out, err) : MS_OK;
}

int cli_need(const cli_args *a, const char *opt, ms_err *err)
{
    if (!cli_get(a, opt))
        return ms_errf(err, MS_EUSAGE, "%s is required (see megasim %s --help)", opt, a->cmd->name);
    return MS_OK;
}

int cli_positive_double(const cli_args *a, const char *opt, double *out, ms_err *err)
{
    *out = NAN;
    const char *v = cli_get(a, opt);
    if (!v)
        return MS_OK;
    int rc = cli_parse_double(opt, v, out, err);
    if (rc == MS_OK && !(*out > 0))
        rc = ms_errf(err, MS_EUSAGE, "%s '%s': expected a number > 0", opt, v);
    return rc;
}

char *cli_read_file(const char *path, ms_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ms_errf(err, MS_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *b = realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    fclose(f);
    if (!buf) {
        ms_errf(err, MS_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

const char *cli_data_path(const char *path, char *buf, size_t cap)
{
    return jenv_find(cli_env(), path, buf, cap);
}

int cli_load_model(const char *path, struct model *m, ms_err *err)
{
    char buf[4096], warn[MODELFILE_WARN_MAX];
    path = cli_data_path(path, buf, sizeof buf);
    int rc = modelfile_load(path, m, warn, err);
    if (rc == MS_OK && warn[0])
        fprintf(stderr, "%s", warn);
    return rc;
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
