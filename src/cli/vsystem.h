/* vsystem: megasim validate --system, the suite of published
 * whole-system cases (validation/system/, a JSON file each) predicted and compared. */
#ifndef MS_VSYSTEM_H
#define MS_VSYSTEM_H

#include <stddef.h>

#include "cli/cli.h"

/* Runs every case of --cases DIR (default validation/system) and prints
 * the comparison (text or --json), draws --plot; returns the exit code:
 * non-zero when a case failed or a kind's median or worst |relative
 * error| exceeds --max-median or --max-worst (X for every kind, or
 * KIND=X,...). */
int vs_run(const cli_cmd *cmd, const cli_args *a);

/* predicted / published - 1. */
double vs_rel_error(double predicted, double published);

/* Median and largest of |rel_errors[0..n)| (NAN for n = 0). */
void vs_summary(const double *rel_errors, size_t n, double *median, double *worst);

#endif
