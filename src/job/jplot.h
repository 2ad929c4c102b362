/* jplot: a plot drawn from a template of plots/: where its data and script
 * go (gp_plot_paths), its data file written atomically, the script (the
 * header, the caller's variables, the template) and the drawing. For the
 * plots whose data is one file the caller writes row by row. */
#ifndef MS_JPLOT_H
#define MS_JPLOT_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "io/afile.h"
#include "job/jenv.h"

typedef struct jplot {
    char dat[4200], gp[4200], tmpl[4096];
    const char *out;
    int svg;
    afile *af;
} jplot;

/* Starts a plot to out (.png or .svg) from the template plots/NAME.gp:
 * *data receives the data file's stream. MS_EUSAGE for an out that is
 * neither; MS_EIO naming a file that cannot be opened. After success the
 * caller ends with jplot_end, which also releases a plot it abandons. */
int jplot_begin(const jenv *env, const char *out, const char *name, jplot *p, FILE **data,
                ms_err *err);

/* Commits the data, writes the script with title and the variables vars
 * (name, value as a string) and draws it. ok 0 abandons the plot (the data
 * file is discarded) and returns MS_OK. */
int jplot_end(jplot *p, int ok, const char *title, const char *const (*vars)[2], size_t nvars,
              ms_err *err);

#endif
