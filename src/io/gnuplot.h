/* gnuplot: finding and running gnuplot, and quoting text for its scripts.
 * megasim writes data and .gp files itself; this module only draws them. */
#ifndef MS_GNUPLOT_H
#define MS_GNUPLOT_H

#include <stdio.h>

#include "core/err.h"

/* 1 if an executable named gnuplot is on PATH. */
int gp_available(void);

/* Runs `gnuplot script_path` and waits. Fails with MS_EIO if gnuplot
 * cannot be started or exits non-zero (its own messages go to stderr). */
int gp_run(const char *script_path, ms_err *err);

/* Writes s to f as a gnuplot double-quoted string literal (a newline
 * becomes gnuplot's backslash-n escape). */
void gp_write_string(FILE *f, const char *s);

/* Writes script_path: a comment naming who wrote it, the variables
 * datafile, outfile, format ("svg" or "png"), title_text and each of
 * vars[i][0] = vars[i][1] (strings), then the template's text. Fails with
 * MS_EIO naming the file that could not be read or written. */
int gp_write_script(const char *script_path, const char *template_path, const char *who,
                    const char *datafile, const char *outfile, int svg, const char *title,
                    const char *const (*vars)[2], size_t nvars, ms_err *err);

#endif
