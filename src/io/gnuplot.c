/* gnuplot: see gnuplot.h. */
#include "io/gnuplot.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int gp_available(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char dir[4096];
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && len < sizeof dir - 16) {
            memcpy(dir, path, len);
            strcpy(dir + len, "/gnuplot");
            if (access(dir, X_OK) == 0)
                return 1;
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return 0;
}

int gp_run(const char *script_path, ms_err *err)
{
    char *argv[] = {"gnuplot", (char *)script_path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    if (rc != 0)
        return ms_errf(err, MS_EIO, "cannot start gnuplot: %s", strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return ms_errf(err, MS_EIO, "waiting for gnuplot: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ms_errf(err, MS_EIO, "gnuplot failed on %s (its message is above)", script_path);
    return MS_OK;
}

void gp_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", f); /* gnuplot's newline escape */
            continue;
        }
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int gp_write_script(const char *script_path, const char *template_path, const char *who,
                    const char *datafile, const char *outfile, int svg, const char *title,
                    const char *const (*vars)[2], size_t nvars, ms_err *err)
{
    FILE *tmpl = fopen(template_path, "r");
    if (!tmpl)
        return ms_errf(err, MS_EIO, "%s: cannot read the plot template: %s", template_path,
                       strerror(errno));
    FILE *gp = fopen(script_path, "w");
    if (!gp) {
        fclose(tmpl);
        return ms_errf(err, MS_EIO, "%s: cannot write: %s", script_path, strerror(errno));
    }
    fprintf(gp, "# written by %s; draw with: gnuplot %s\ndatafile = ", who, script_path);
    gp_write_string(gp, datafile);
    fprintf(gp, "\noutfile = ");
    gp_write_string(gp, outfile);
    fprintf(gp, "\nformat = \"%s\"\ntitle_text = ", svg ? "svg" : "png");
    gp_write_string(gp, title);
    for (size_t i = 0; i < nvars; i++) {
        fprintf(gp, "\n%s = ", vars[i][0]);
        gp_write_string(gp, vars[i][1]);
    }
    fprintf(gp, "\n");
    char line[512];
    while (fgets(line, sizeof line, tmpl))
        fputs(line, gp);
    int bad = ferror(tmpl);
    fclose(tmpl);
    if (fclose(gp) != 0 || bad)
        return ms_errf(err, MS_EIO, "%s: write failed", script_path);
    return MS_OK;
}
