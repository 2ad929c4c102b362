/* gnuplot: see gnuplot.h. */
#include "io/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/afile.h"

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
    /* gnuplot's stderr goes to a temporary file, read back only if it fails. */
    const char *tmpdir = getenv("TMPDIR");
    char log[4096];
    snprintf(log, sizeof log, "%s/megasim-gnuplot-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    int fd = mkstemp(log);
    if (fd < 0)
        return ms_errf(err, MS_EIO, "cannot create a temporary file in %s: %s",
                       tmpdir && tmpdir[0] ? tmpdir : "/tmp", strerror(errno));
    unlink(log); /* the descriptor keeps it while it is needed */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
    char *argv[] = {"gnuplot", (char *)script_path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(fd);
        return ms_errf(err, MS_EIO, "cannot start gnuplot: %s", strerror(rc));
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            close(fd);
            return ms_errf(err, MS_EIO, "waiting for gnuplot: %s", strerror(errno));
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        close(fd);
        return MS_OK;
    }
    /* Its last message: the lines that say what went wrong. */
    char msg[600] = "";
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof msg - 1 ? end - (off_t)(sizeof msg - 1) : 0;
    ssize_t n = pread(fd, msg, sizeof msg - 1, from);
    close(fd);
    msg[n > 0 ? n : 0] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '\n' && p[1])
            *p = ' ';
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        msg[--len] = '\0';
    return ms_errf(err, MS_EIO, "gnuplot failed on %s: %s", script_path,
                   msg[0] ? msg : "no message");
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

void gp_write_header(FILE *gp, const char *who, const char *script_path, const char *datafile,
                     const char *outfile, int svg, const char *title)
{
    fprintf(gp, "# written by %s; draw with: gnuplot %s\ndatafile = ", who, script_path);
    gp_write_string(gp, datafile);
    fprintf(gp, "\noutfile = ");
    gp_write_string(gp, outfile);
    fprintf(gp, "\nformat = \"%s\"\ntitle_text = ", svg ? "svg" : "png");
    gp_write_string(gp, title);
    fprintf(gp, "\n");
    gp_write_style(gp);
}

int gp_append_template(FILE *gp, const char *template_path, ms_err *err)
{
    FILE *tmpl = fopen(template_path, "r");
    if (!tmpl)
        return ms_errf(err, MS_EIO, "%s: cannot read the plot template: %s", template_path,
                       strerror(errno));
    char line[512];
    while (fgets(line, sizeof line, tmpl))
        fputs(line, gp);
    int bad = ferror(tmpl);
    fclose(tmpl);
    return bad ? ms_errf(err, MS_EIO, "%s: read failed", template_path) : MS_OK;
}

int gp_write_script(const char *script_path, const char *template_path, const char *who,
                    const char *datafile, const char *outfile, int svg, const char *title,
                    const char *const (*vars)[2], size_t nvars, ms_err *err)
{
    afile *af;
    int rc = afile_open(script_path, &af, err);
    if (rc)
        return rc;
    FILE *gp = afile_stream(af);
    gp_write_header(gp, who, script_path, datafile, outfile, svg, title);
    for (size_t i = 0; i < nvars; i++) {
        fprintf(gp, "%s = ", vars[i][0]);
        gp_write_string(gp, vars[i][1]);
        fprintf(gp, "\n");
    }
    if ((rc = gp_append_template(gp, template_path, err)))
        afile_abort(af);
    else
        rc = afile_commit(af, err);
    return rc;
}

void gp_write_style(FILE *f)
{
    /* Tableau's ten colours, then six darker ones that none of them
     * resembles. */
    static const char *const colours[GP_COLOURS] = {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#000000"};
    fprintf(f, "# megasim's plot style: %d colours before any repeats\n", GP_COLOURS);
    for (int k = 0; k < GP_COLOURS; k++)
        fprintf(f, "set linetype %d lc rgb \"%s\"\n", k + 1, colours[k]);
    fprintf(f, "set linetype cycle %d\n", GP_COLOURS);
}
