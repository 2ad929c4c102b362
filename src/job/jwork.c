/* jwork: see jwork.h. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "job/jwork.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 64

typedef struct head {
    size_t item;
    uint32_t len;
} head;

/* Reads exactly n bytes; 0 when the pipe ends first. */
static int read_all(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        got += (size_t)k;
    }
    return 1;
}

/* Takes the next item from the shared counter until none is left: a
 * worker that drew short runs goes on to more, so one long item does not
 * leave the others' share waiting behind it. */
static void worker(const size_t *items, size_t n, atomic_size_t *next, jwork_fn work, void *ctx,
                   int fd)
{
    char buf[sizeof(head) + JWORK_RECORD_MAX];
    for (size_t i; (i = atomic_fetch_add(next, 1)) < n;) {
        size_t len = work(ctx, items[i], buf + sizeof(head), JWORK_RECORD_MAX);
        if (len > JWORK_RECORD_MAX)
            _exit(2);
        head h = {.item = items[i], .len = (uint32_t)len};
        memcpy(buf, &h, sizeof h);
        if (write(fd, buf, sizeof h + len) != (ssize_t)(sizeof h + len))
            _exit(2);
    }
    _exit(0);
}

int jwork_default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

int jwork_run(const size_t *items, size_t n, int jobs, jwork_fn work, jwork_take_fn take, void *ctx,
              ms_err *err)
{
    if (jobs > MAX_WORKERS)
        jobs = MAX_WORKERS;
    if ((size_t)jobs > n)
        jobs = n ? (int)n : 1;
    if (jobs <= 1) {
        char rec[JWORK_RECORD_MAX];
        for (size_t i = 0; i < n; i++) {
            size_t len = work(ctx, items[i], rec, sizeof rec);
            if (len > sizeof rec)
                return ms_errf(err, MS_ENOMEM, "out of memory");
            int rc = take(ctx, items[i], rec, len, err);
            if (rc)
                return rc;
        }
        return MS_OK;
    }
    int fds[MAX_WORKERS];
    pid_t pids[MAX_WORKERS];
    int started = 0, rc = MS_OK;
    /* The next item to run, in memory every worker shares. */
    atomic_size_t *next =
        mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (next == MAP_FAILED)
        return ms_errf(err, MS_EIO, "mmap: %s", strerror(errno));
    atomic_init(next, 0);
    fflush(NULL); /* children must not flush copies of our buffers */
    for (int w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) != 0) {
            rc = ms_errf(err, MS_EIO, "pipe: %s", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            rc = ms_errf(err, MS_EIO, "fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) {
            close(p[0]);
            for (int k = 0; k < started; k++)
                close(fds[k]);
            worker(items, n, next, work, ctx, p[1]);
        }
        close(p[1]);
        fds[started] = p[0];
        pids[started++] = pid;
    }
    size_t taken = 0;
    int open_n = started;
    while (open_n > 0 && !rc) {
        struct pollfd pf[MAX_WORKERS];
        for (int w = 0; w < started; w++)
            pf[w] = (struct pollfd){.fd = fds[w], .events = POLLIN};
        if (poll(pf, (nfds_t)started, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = ms_errf(err, MS_EIO, "poll: %s", strerror(errno));
            break;
        }
        for (int w = 0; w < started && !rc; w++) {
            if (fds[w] < 0 || !(pf[w].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            head h;
            char rec[JWORK_RECORD_MAX];
            if (!read_all(fds[w], (char *)&h, sizeof h) || h.len > sizeof rec ||
                !read_all(fds[w], rec, h.len)) { /* the worker is done (or died) */
                close(fds[w]);
                fds[w] = -1;
                open_n--;
                continue;
            }
            rc = take(ctx, h.item, rec, h.len, err);
            taken++;
        }
    }
    for (int w = 0; w < started; w++) {
        if (fds[w] >= 0)
            close(fds[w]);
        if (rc)
            kill(pids[w], SIGKILL);
        int status;
        while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR)
            ;
    }
    munmap(next, sizeof *next);
    if (!rc && taken < n)
        rc = ms_errf(err, MS_EIO, "%zu of %zu runs were lost: a worker process died", n - taken, n);
    return rc;
}
