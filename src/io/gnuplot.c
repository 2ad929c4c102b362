/* gnuplot: see gnuplot.h. */
#include "io/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
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

/* ---- plots drawn for a command ---- */

static int keep_plot_data;

void gp_keep_plot_data(int keep)
{
    keep_plot_data |= keep; /* a job run inside another leaves the outer one's choice */
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

int gp_plot_paths(const char *out, char *dat, size_t dat_cap, char *gp, size_t gp_cap, int *svg,
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

int gp_plot_draw(const char *gp, const char *dat, const char *out, int *drawn, ms_err *err)
{
    *drawn = 0;
    if (!gp_available()) {
        fprintf(stderr,
                "note: gnuplot is not installed: wrote %s and %s; draw them with 'gnuplot %s'\n",
                dat, gp, gp);
        return MS_OK;
    }
    /* gnuplot writes the image itself, in place: a kill of megasim lets
     * it finish, a failed drawing is removed, and an image it created is
     * removed with this run's other new files if the run fails later. */
    int existed = access(out, F_OK) == 0;
    int rc = gp_run(gp, err);
    if (rc)
        remove(out); /* gnuplot may leave an empty image behind */
    else {
        *drawn = 1;
        if (!existed)
            afile_record(out);
    }
    plot_tmp_clean();
    return rc;
}
