/* megasim run: a scenario file. A scenario is a JSON object naming a
 * command ("command": "train") and that command's options as fields
 * ("global_batch": 15360 is --global-batch 15360; true is a flag), so a
 * file can set exactly what the command line can; options given after
 * the file override its fields. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "io/jsonfile.h"
#include "job/jopt.h"
#include "job/jscen.h"

static const cli_opt opts[] = {
    {"--json", NULL, "print JSON (passed to the scenario's command)"},
};

#define MAX_ARGS 160

static const cli_cmd *const runnable[] = {&cmd_train, &cmd_serve, &cmd_size, &cmd_export_frontier,
                                          &cmd_rl};

/* An option of cmd as a scenario field sees it. */
typedef struct scen_opt {
    int found;
    const char *arg; /* NULL for a flag */
    int repeatable;
} scen_opt;

static scen_opt find_opt(const cli_cmd *cmd, const char *name)
{
    if (cmd->table) {
        const jopt *o = jopt_find(cmd->table, name + 2);
        if (!o)
            return (scen_opt){0};
        return (scen_opt){1,
                          o->type == JOPT_FLAG ? NULL
                          : o->arg             ? o->arg
                                               : "VALUE",
                          o->type == JOPT_LIST};
    }
    for (size_t i = 0; i < cmd->nopts; i++)
        if (strcmp(cmd->opts[i].name, name) == 0)
            return (scen_opt){1, cmd->opts[i].arg, strstr(cmd->opts[i].help, "repeatable") != NULL};
    return (scen_opt){0};
}

/* A scenario turned into a command line: args[0..nargs) for cmd, with
 * the strings in owned[0..nowned) to free. */
typedef struct scen_args {
    const cli_cmd *cmd;
    char *args[MAX_ARGS];
    char *owned[MAX_ARGS];
    int nargs, nowned;
    char path[4096]; /* the file, as messages name it */
    int nfile;       /* args[1..nfile] are its fields; the rest the command line's */
} scen_args;

static void scen_free(scen_args *sa)
{
    for (int i = 0; i < sa->nowned; i++)
        free(sa->owned[i]);
    sa->nowned = 0;
}

/* Appends option name with value (NULL for a flag) to sa's arguments. */
static int push_arg(scen_args *sa, const char *path, const char *name, const char *value,
                    ms_err *err)
{
    if (sa->nargs + 2 >= MAX_ARGS || sa->nowned + 2 >= MAX_ARGS)
        return ms_errf(err, MS_EINVAL, "%s: too many fields", path);
    char *n = strdup(name), *val = value ? strdup(value) : NULL;
    if (!n || (value && !val)) {
        free(n);
        free(val);
        return ms_errf(err, MS_ENOMEM, "out of memory");
    }
    sa->owned[sa->nowned++] = sa->args[sa->nargs++] = n;
    if (val)
        sa->owned[sa->nowned++] = sa->args[sa->nargs++] = val;
    return MS_OK;
}

/* One item of field f (a flag's true or false, a number or a string) as
 * the option name; a flag given false adds nothing. */
static int push_item(scen_args *sa, const char *path, const cJSON *f, const cJSON *item,
                     const scen_opt *o, const char *name, ms_err *err)
{
    char value[64];
    if (!o->arg) {
        if (!cJSON_IsBool(item))
            return ms_errf(err, MS_EINVAL, "%s: field '%s': expected true or false", path,
                           f->string);
        return cJSON_IsFalse(item) ? MS_OK : push_arg(sa, path, name, NULL, err);
    }
    if (cJSON_IsString(item))
        return push_arg(sa, path, name, item->valuestring, err);
    if (cJSON_IsNumber(item) && isfinite(item->valuedouble)) {
        double x = item->valuedouble;
        snprintf(value, sizeof value, x == floor(x) && fabs(x) < 9e15 ? "%.0f" : "%.17g", x);
        return push_arg(sa, path, name, value, err);
    }
    return ms_errf(err, MS_EINVAL, "%s: field '%s': expected %s as a number or a string%s", path,
                   f->string, o->arg, cJSON_IsArray(f) ? " in each list item" : "");
}

/* Field f of a scenario for command cmd as command-line arguments. */
static int push_field(scen_args *sa, const char *path, const cli_cmd *cmd, const cJSON *f,
                      ms_err *err)
{
    char name[64];
    size_t len = strlen(f->string);
    if (len == 0 || len + 3 > sizeof name)
        return ms_errf(err, MS_EINVAL, "%s: field '%s': not an option of megasim %s", path,
                       f->string, cmd->name);
    name[0] = name[1] = '-';
    for (size_t k = 0; k <= len; k++)
        name[k + 2] = f->string[k] == '_' ? '-' : f->string[k];
    scen_opt o = find_opt(cmd, name);
    if (!o.found)
        return ms_errf(err, MS_EINVAL,
                       "%s: field '%s': not an option of megasim %s (see megasim %s --help)", path,
                       f->string, cmd->name, cmd->name);
    /* A list repeats an option its help calls repeatable: "set": ["a=1", "b=2"]. */
    const cJSON *items = cJSON_IsArray(f) ? f->child : f;
    if (cJSON_IsArray(f) && (!items || !o.repeatable))
        return ms_errf(err, MS_EINVAL,
                       items ? "%s: field '%s': expected %s as a number or a string (a list "
                               "only for a repeatable option)"
                             : "%s: field '%s': an empty list",
                       path, f->string, o.arg ? o.arg : "true or false");
    int rc = MS_OK;
    for (const cJSON *it = items; it && !rc; it = cJSON_IsArray(f) ? it->next : NULL)
        rc = push_item(sa, path, f, it, &o, name, err);
    return rc;
}

/* The scenario object root (path names it in messages) with
 * extra[0..nextra) appended after its fields. */
static int scen_from_obj(const cJSON *root, const char *path, int nextra, char **extra,
                         scen_args *sa, ms_err *err)
{
    *sa = (scen_args){0};
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "command");
    if (!cJSON_IsString(c))
        return ms_errf(err, MS_EINVAL,
                       "%s: field 'command': expected a string naming the command "
                       "(\"train\", \"serve\", \"size\", \"export-frontier\" or \"rl\")",
                       path);
    for (size_t i = 0; i < sizeof runnable / sizeof runnable[0]; i++)
        if (strcmp(runnable[i]->name, c->valuestring) == 0)
            sa->cmd = runnable[i];
    if (!sa->cmd)
        return ms_errf(err, MS_EINVAL,
                       "%s: field 'command': '%s' is not a command a scenario can "
                       "run (train, serve, size, export-frontier, rl)",
                       path, c->valuestring);
    sa->args[sa->nargs++] = (char *)sa->cmd->name;
    int rc = MS_OK;
    const cJSON *f;
    cJSON_ArrayForEach(f, root)
    {
        if (rc || strcmp(f->string, "command") == 0 || strcmp(f->string, "description") == 0 ||
            strcmp(f->string, "source") == 0)
            continue;
        rc = push_field(sa, path, sa->cmd, f, err);
    }
    sa->nfile = sa->nargs - 1;
    snprintf(sa->path, sizeof sa->path, "%s", path);
    for (int i = 0; i < nextra && !rc; i++) {
        if (sa->nargs + 1 >= MAX_ARGS)
            rc = ms_errf(err, MS_EUSAGE, "too many arguments");
        else
            sa->args[sa->nargs++] = extra[i];
    }
    sa->args[sa->nargs] = NULL;
    if (rc)
        scen_free(sa);
    return rc;
}

/* Reads path and appends extra[0..nextra) after its fields. */
static int scen_read(const char *path, int nextra, char **extra, scen_args *sa, ms_err *err)
{
    *sa = (scen_args){0};
    char buf[4096];
    path = cli_data_path(path, buf, sizeof buf);
    cJSON *root = jsonfile_read_object(path, NULL, err);
    if (!root)
        return err->code;
    int rc = scen_from_obj(root, path, nextra, extra, sa, err);
    cJSON_Delete(root);
    return rc;
}

static int run_scenario(const cli_cmd *self, int argc, char **argv)
{
    /* The file first; every other argument goes to the scenario's command. */
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_help(self, stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2 || argv[1][0] == '-')
        return cli_usage_error(self, "expected a scenario file first: megasim run FILE.json");
    ms_err err = {0};
    scen_args sa;
    if (scen_read(argv[1], argc - 2, argv + 2, &sa, &err))
        return cli_fail(self, &err);
    cli_from_scenario(sa.path, sa.nfile);
    int code = sa.cmd->run(sa.cmd, sa.nargs, sa.args);
    cli_from_scenario(NULL, 0);
    scen_free(&sa);
    return code;
}

const cli_cmd cmd_run = {
    .name = "run",
    .run = run_scenario,
    .summary = "run a scenario file (scenarios/*.json): a command and its options as JSON",
    .usage = "  megasim run FILE.json [OPTIONS of its command, which override the file]\n",
    .details =
        "A scenario is a JSON object: \"command\" names the command (train, serve, size, rl or\n"
        "export-frontier), every other field is one of its options with '_' for '-'\n"
        "(\"global_batch\": 15360 is --global-batch 15360, \"json\": true is --json, a list\n"
        "repeats an option); \"description\" and \"source\" say what it is and where its\n"
        "figures come from. An unknown field is an error. Its model path and an\n"
        "export-frontier's workload are taken as given, else under the data directory;\n"
        "other paths as given.\n"
        "Example: megasim run scenarios/deepseek-v3-pretrain-h800.json --schedule 1f1b\n",
    .opts = opts,
    .nopts = sizeof opts / sizeof opts[0],
    .max_pos = 1,
};
