/* rfile: the one way megasim reads an input file: whole, and only when it
 * is a regular file of at most RFILE_MAX_BYTES holding text (valid UTF-8
 * without NUL or other control characters but tab, CR and line feed). A
 * directory, device, FIFO or socket is refused before it is read, so
 * /dev/zero cannot grow a run without end and a FIFO cannot block it. */
#ifndef MS_RFILE_H
#define MS_RFILE_H

#include <stddef.h>

#include "core/err.h"

/* 256 MiB: a replay trace of ten million requests is about 300 MB less. */
#define RFILE_MAX_BYTES ((size_t)256 << 20)

/* The whole of path, NUL-terminated, for the caller to free; *len (if not
 * NULL) is its length. NULL with err set when it cannot be read: MS_EIO
 * ("cannot open" with the system's reason, "is a directory", "not a
 * regular file", a read error) or MS_ENOMEM; MS_EPARSE "FILE:LINE:COL:
 * ..." for a NUL byte, a control character or invalid UTF-8; MS_EINVAL
 * when it is larger than RFILE_MAX_BYTES. Messages name the file as
 * shown (NULL: as path). */
char *rfile_slurp(const char *path, const char *shown, size_t *len, ms_err *err);

/* Checks text[0..len) as rfile_slurp does (UTF-8, no NUL or control
 * characters but tab, CR and LF); MS_EPARSE naming name:LINE:COL. */
int rfile_check_text(const char *text, size_t len, const char *name, ms_err *err);

#endif
