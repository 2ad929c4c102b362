/* afile: see afile.h. */
#define _GNU_SOURCE /* O_TMPFILE, linkat's AT_SYMLINK_FOLLOW */
#include "io/afile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* How the bytes reach the target. */
enum afile_mode {
    AFILE_UNNAMED, /* O_TMPFILE, linked into place at commit */
    AFILE_NAMED,   /* a named temporary, renamed into place */
    AFILE_DIRECT,  /* the target itself (a device or a pipe) */
};

#define AFILE_PATH_MAX 4096
#define AFILE_TMP_TAG  ".megasim-tmp."

struct afile {
    FILE *f;
    int mode;                      /* an enum afile_mode */
    int existed;                   /* the target was a file when opened */
    char shown[AFILE_PATH_MAX];    /* the path as given, for messages */
    char target[AFILE_PATH_MAX];   /* the file replaced (a link followed) */
    char tmp[AFILE_PATH_MAX + 64]; /* AFILE_NAMED's temporary, else "" */
};

/* Files created by this process, for afile_undo: path and identity, so a
 * file another process has since renamed over is not removed. Process
 * state by design: it is what "the files this run wrote" means. */
typedef struct created {
    char *path;
    dev_t dev;
    ino_t ino;
} created;
static created *made;
static size_t nmade, capmade;
/* Numbers the named temporaries this process makes. */
static unsigned tmp_seq;

/* Splits path into its directory ("." when it has none) and last name. */
static int split(const char *path, char *dir, size_t cap, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    int w = !slash          ? snprintf(dir, cap, ".")
            : slash == path ? snprintf(dir, cap, "/")
                            : snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* Removes ".BASE.megasim-tmp.PID.N" files in dir whose process is gone:
 * what a kill between link and rename, or during a named write, left. */
static void sweep(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t blen = strlen(base), tlen = strlen(AFILE_TMP_TAG);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, blen) != 0 ||
            strncmp(n + 1 + blen, AFILE_TMP_TAG, tlen) != 0)
            continue;
        char *end;
        long pid = strtol(n + 1 + blen + tlen, &end, 10);
        if (pid <= 0 || *end != '.' || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}

/* Creates a fresh named temporary beside af->target; its descriptor or
 * -1 with errno set. */
static int open_named(afile *af, const char *dir, const char *base)
{
    for (int tries = 0; tries < 100; tries++) {
        snprintf(af->tmp, sizeof af->tmp, "%s/.%s%s%ld.%u", dir, base, AFILE_TMP_TAG,
                 (long)getpid(), tmp_seq++);
        int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int afile_open(const char *path, afile **out, ms_err *err)
{
    *out = NULL;
    afile *af = calloc(1, sizeof *af);
    if (!af)
        return ms_errf(err, MS_ENOMEM, "out of memory");
    int rc = MS_OK, fd = -1;
    char dir[AFILE_PATH_MAX];
    const char *base;
    struct stat st, lst;
    int w = snprintf(af->shown, sizeof af->shown, "%s", path);
    if (w < 0 || (size_t)w >= sizeof af->shown) {
        rc = ms_errf(err, MS_EIO, "%.200s...: cannot write: path too long", path);
        goto out;
    }
    af->existed = stat(path, &st) == 0;
    if (af->existed && !S_ISREG(st.st_mode)) {
        af->mode = AFILE_DIRECT;
        snprintf(af->target, sizeof af->target, "%s", path);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        goto opened;
    }
    /* Through a link to a file, the file is what gets replaced. */
    if (af->existed && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        char real[PATH_MAX];
        if (realpath(path, real) && strlen(real) < sizeof af->target)
            snprintf(af->target, sizeof af->target, "%s", real);
    }
    if (!af->target[0])
        snprintf(af->target, sizeof af->target, "%s", path);
    if (split(af->target, dir, sizeof dir, &base) != 0 || !base[0]) {
        rc = ms_errf(err, MS_EIO, "%s: cannot write: %s", path,
                     base[0] ? "path too long" : strerror(EISDIR));
        goto out;
    }
    sweep(dir, base);
    /* Linked into place through /proc/self/fd: without /proc, a name. */
    af->mode = access("/proc/self/fd", X_OK) == 0 ? AFILE_UNNAMED : AFILE_NAMED;
    if (af->mode == AFILE_UNNAMED) {
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
        /* Old kernels and some file systems (NFS, older FUSE) lack it. */
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
            af->mode = AFILE_NAMED;
    }
    if (af->mode == AFILE_NAMED)
        fd = open_named(af, dir, base);
    /* A replaced file keeps its permissions. */
    if (fd >= 0 && af->existed)
        (void)fchmod(fd, st.st_mode & 07777);
opened:
    if (fd < 0) {
        af->tmp[0] = '\0'; /* nothing was created */
        rc = ms_errf(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    if (!(af->f = fdopen(fd, "w"))) {
        rc = ms_errf(err, MS_ENOMEM, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    *out = af;
    af = NULL;
out:
    if (af && af->tmp[0])
        unlink(af->tmp);
    free(af);
    return rc;
}

FILE *afile_stream(afile *af)
{
    return af->f;
}

/* Remembers path as created by this process (best effort: a file that
 * cannot be remembered is merely not undone). */
static void remember(const char *path, const struct stat *st)
{
    if (nmade == capmade) {
        size_t cap = capmade ? 2 * capmade : 8;
        created *m = realloc(made, cap * sizeof *m);
        if (!m)
            return;
        made = m;
        capmade = cap;
    }
    char *p = strdup(path);
    if (p)
        made[nmade++] = (created){.path = p, .dev = st->st_dev, .ino = st->st_ino};
}

/* Links the unnamed file of fd into place: directly when the target does
 * not exist (then *fresh is set), else under a temporary name renamed
 * over it. Returns 0 or an errno. */
static int link_unnamed(afile *af, int fd, int *fresh)
{
    char proc[64], dir[AFILE_PATH_MAX];
    const char *base;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, af->target, AT_SYMLINK_FOLLOW) == 0) {
        *fresh = 1;
        return 0;
    }
    if (errno != EEXIST)
        return errno;
    if (split(af->target, dir, sizeof dir, &base) != 0)
        return ENAMETOOLONG;
    /* The target exists: link under a fresh name, then rename over it. */
    int e = EEXIST;
    for (int tries = 0; tries < 100 && e == EEXIST; tries++) {
        int n = snprintf(af->tmp, sizeof af->tmp, "%s/.%s%s%ld.%u", dir, base, AFILE_TMP_TAG,
                         (long)getpid(), tmp_seq++);
        if (n < 0 || (size_t)n >= sizeof af->tmp) {
            af->tmp[0] = '\0';
            return ENAMETOOLONG;
        }
        e = linkat(AT_FDCWD, proc, AT_FDCWD, af->tmp, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
    }
    if (e) {
        af->tmp[0] = '\0';
        return e;
    }
    return rename(af->tmp, af->target) == 0 ? 0 : errno;
}

int afile_commit(afile *af, ms_err *err)
{
    if (!af)
        return MS_OK;
    int e = 0, fresh = 0, fd = fileno(af->f);
    struct stat st;
    errno = 0;
    if (fflush(af->f) != 0 || ferror(af->f))
        e = errno ? errno : EIO;
    else if (af->mode != AFILE_DIRECT && fsync(fd) != 0)
        e = errno;
    else if (af->mode == AFILE_UNNAMED)
        e = link_unnamed(af, fd, &fresh);
    else if (af->mode == AFILE_NAMED) {
        fresh = access(af->target, F_OK) != 0;
        e = rename(af->tmp, af->target) == 0 ? 0 : errno;
    }
    if (!e && fresh && fstat(fd, &st) == 0)
        remember(af->target, &st);
    if (fclose(af->f) != 0 && !e)
        e = errno;
    if (e && af->tmp[0])
        unlink(af->tmp);
    int rc = e ? ms_errf(err, MS_EIO, "%s: cannot write: %s", af->shown, strerror(e)) : MS_OK;
    free(af);
    return rc;
}

void afile_abort(afile *af)
{
    if (!af)
        return;
    fclose(af->f);
    if (af->mode == AFILE_NAMED)
        unlink(af->tmp);
    free(af);
}

void afile_record(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        remember(path, &st);
}

void afile_undo(void)
{
    for (size_t i = 0; i < nmade; i++) {
        struct stat st;
        if (stat(made[i].path, &st) == 0 && st.st_dev == made[i].dev && st.st_ino == made[i].ino)
            unlink(made[i].path);
    }
    afile_forget();
}

void afile_forget(void)
{
    for (size_t i = 0; i < nmade; i++)
        free(made[i].path);
    free(made);
    made = NULL;
    nmade = capmade = 0;
}

int afile_lock(const char *path, int *lock_fd, ms_err *err)
{
    char dir[AFILE_PATH_MAX];
    const char *base;
    *lock_fd = -1;
    if (split(path, dir, sizeof dir, &base) != 0)
        return ms_errf(err, MS_EIO, "%.200s...: cannot lock: path too long", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ms_errf(err, MS_EIO, "%s: cannot lock: %s", dir, strerror(errno));
    int rc;
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        int e = errno;
        close(fd);
        /* A file system that cannot lock a directory (NFS emulates flock
         * with write locks, which a directory cannot take): the write goes
         * ahead unlocked rather than not at all. */
        if (e == ENOLCK || e == EBADF || e == EOPNOTSUPP || e == EINVAL)
            return MS_OK;
        return ms_errf(err, MS_EIO, "%s: cannot lock: %s", dir, strerror(e));
    }
    *lock_fd = fd;
    return MS_OK;
}

void afile_unlock(int lock_fd)
{
    if (lock_fd >= 0)
        close(lock_fd); /* closing the only descriptor releases the flock */
}
