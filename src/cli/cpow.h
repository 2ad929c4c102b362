/* cpow: a run's power over time written and drawn: the CSV of the IT
 * series (and the smoothed one) and its gnuplot plot, for train and serve.
 * The figures themselves come from the jobs (src/job/jpower, power/prun). */
#ifndef MS_CPOW_H
#define MS_CPOW_H

#include "cli/cli.h"
#include "power/pseries.h"

/* Writes the power series to trace (CSV) and draws them to plot (either
 * may be NULL): the IT series and, with a floor (floor_frac > 0), the
 * smoothed one. */
int cli_power_write(const char *trace, const char *plot, double floor_frac, const pseries *it,
                    const pseries *smooth, const char *title, ms_err *err);

#endif
