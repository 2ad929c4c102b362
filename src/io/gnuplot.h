/* gnuplot: finding and running gnuplot, and quoting text for its scripts.
 * megasim writes data and .gp files itself; this module only draws them. */
#ifndef MS_GNUPLOT_H
#define MS_GNUPLOT_H

#include <stdio.h>

#include "core/err.h"

/* 1 if an executable named gnuplot is on PATH. */
int gp_available(void);

/* Runs `gnuplot script_path` and waits. gnuplot's messages are held back:
 * a drawing that succeeds prints nothing (its warnings never reach the
 * user); one that fails (MS_EIO, as when gnuplot cannot be started) puts
 * them in the error. */
int gp_run(const char *script_path, ms_err *err);

/* Writes s to f as a gnuplot double-quoted string literal (a newline
 * becomes gnuplot's backslash-n escape). */
void gp_write_string(FILE *f, const char *s);

/* Writes megasim's plot style to f: GP_COLOURS line colours, distinct from
 * each other, before any repeats. Scripts set their terminals noenhanced,
 * so text is drawn as written (an underscore is not a subscript). */
#define GP_COLOURS 16
void gp_write_style(FILE *f);

/* The start of every script: a comment naming who wrote it, the variables
 * datafile, outfile, format ("svg" or "png") and title_text, and the
 * style. */
void gp_write_header(FILE *gp, const char *who, const char *script_path, const char *datafile,
                     const char *outfile, int svg, const char *title);

/* Appends the text of template_path to gp; MS_EIO naming it if it cannot
 * be read. */
int gp_append_template(FILE *gp, const char *template_path, ms_err *err);

/* Writes script_path: the header above, each of vars[i][0] = vars[i][1]
 * (strings), then the template's text. Fails with MS_EIO naming the file
 * that could not be read or written. */
int gp_write_script(const char *script_path, const char *template_path, const char *who,
                    const char *datafile, const char *outfile, int svg, const char *title,
                    const char *const (*vars)[2], size_t nvars, ms_err *err);

/* Whether plots keep their .dat and .gp beside them (a job's
 * --keep-plot-data); once set, it stays set. */
void gp_keep_plot_data(int keep);

/* For a plot to be drawn to out (.png or .svg): the paths of its data and
 * script files (BASE.dat, BASE.gp) and whether it is SVG. They go in a
 * temporary directory that gp_plot_draw removes, or beside out when the
 * command was given --keep-plot-data (every command that plots takes it)
 * or gnuplot is not installed. MS_EUSAGE if out has neither extension. */
int gp_plot_paths(const char *out, char *dat, size_t dat_cap, char *gp, size_t gp_cap, int *svg,
                  ms_err *err);

/* Draws script gp (which writes out) with gnuplot; without gnuplot, says
 * on stderr which files were written and how to draw them, and sets
 * *drawn to 0. A failed drawing removes the partial image. The temporary
 * files of gp_plot_paths are removed either way. */
int gp_plot_draw(const char *gp, const char *dat, const char *out, int *drawn, ms_err *err);

#endif
