/* vsystem: what megasim validate --system draws and prints beside its
 * report (src/job/jsystem): the plot of predicted against published and
 * the table as Markdown, the documented form validation/system/README.md
 * shows. */
#ifndef MS_VSYSTEM_H
#define MS_VSYSTEM_H

#include <stdio.h>

#include "core/err.h"
#include "job/jsystem.h"

/* Draws o's cases to out (.png or .svg): one panel per family (the first
 * word of a case's name) and unit, predicted against published on
 * log-log axes with y = x and a +-10% band. *drawn is 0 when gnuplot is
 * missing (the files are then left, and said on stderr). */
int vs_plot(const jsystem_out *o, const char *out, int *drawn, ms_err *err);

/* The table as Markdown: one row per case with its memory per GPU and
 * the two largest parts of its step, then the summary per kind. */
int vs_markdown(const jsystem_out *o, FILE *f, ms_err *err);

#endif
