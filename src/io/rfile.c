/* rfile: see rfile.h. */
#define _GNU_SOURCE
#include "io/rfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when it is not
 * a valid one (overlong forms, surrogates and code points past U+10FFFF
 * included, as RFC 3629 has it). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int rfile_check_text(const char *text, size_t len, const char *name, ms_err *err)
{
    const unsigned char *s = (const unsigned char *)text;
    int line = 1, col = 1;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        if (c == '\n') {
            line++, col = 1, i++;
            continue;
        }
        if (c == 0)
            return ms_errf(err, MS_EPARSE, "%s:%d:%d: a NUL byte: expected text", name, line, col);
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F)
            return ms_errf(err, MS_EPARSE,
                           "%s:%d:%d: control character 0x%02X: expected text (tabs and line "
                           "breaks only)",
                           name, line, col, c);
        size_t k = utf8_len(s + i, len - i);
        if (k == 0)
            return ms_errf(err, MS_EPARSE, "%s:%d:%d: byte 0x%02X is not valid UTF-8", name, line,
                           col, c);
        i += k;
        col++;
    }
    return MS_OK;
}

char *rfile_slurp(const char *path, const char *shown, size_t *len, ms_err *err)
{
    const char *name = shown ? shown : path;
    /* Non-blocking, so that opening a FIFO with no writer returns at once;
     * it is refused below as not a regular file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ms_errf(err, MS_EIO, "%s: cannot open: %s", name, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ms_errf(err, MS_EIO, "%s: cannot read: %s", name, strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        ms_errf(err, MS_EIO, "%s: is a directory: expected a file", name);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ms_errf(err, MS_EIO, "%s: not a regular file (a device, FIFO or socket): expected a file",
                name);
        goto out;
    }
    if ((uint64_t)st.st_size > RFILE_MAX_BYTES) {
        ms_errf(err, MS_EINVAL, "%s: %.0f MiB, more than the %zu MiB megasim reads from one file",
                name, (double)st.st_size / (1 << 20), RFILE_MAX_BYTES >> 20);
        goto out;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    if (!(buf = malloc(cap + 1))) {
        ms_errf(err, MS_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    /* Read to the end, not to st_size: a file may grow while it is read;
     * one byte past the size is room to see that it did. */
    for (;;) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0) {
            ms_errf(err, MS_EIO, "%s: read error: %s", name, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > RFILE_MAX_BYTES) {
            ms_errf(err, MS_EINVAL, "%s: more than the %zu MiB megasim reads from one file", name,
                    RFILE_MAX_BYTES >> 20);
            goto fail;
        }
        if (n == cap) {
            size_t c2 = cap * 2 > RFILE_MAX_BYTES + 1 ? RFILE_MAX_BYTES + 1 : cap * 2;
            char *b = c2 > cap ? realloc(buf, c2 + 1) : NULL;
            if (!b) {
                ms_errf(err, MS_ENOMEM, "%s: out of memory", name);
                goto fail;
            }
            buf = b, cap = c2;
        }
    }
    buf[n] = '\0';
    if (rfile_check_text(buf, n, name, err))
        goto fail;
    if (len)
        *len = n;
    goto out;
fail:
    free(buf);
    buf = NULL;
out:
    close(fd);
    return buf;
}
