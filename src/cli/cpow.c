/* cpow: see cpow.h. */
#include "cli/cpow.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "io/afile.h"
#include "io/gnuplot.h"

int cli_power_write(const char *trace, const char *plot, double floor_frac, const pseries *it,
                    const pseries *smooth, const char *title, ms_err *err)
{
    if (!trace && !plot)
        return MS_OK;
    char dat[4200], gp[4200], tmpl[4096];
    int svg = 0, rc;
    if (plot && (rc = cli_plot_paths(plot, dat, sizeof dat, gp, sizeof gp, &svg, err)))
        return rc;
    const char *csv = trace ? trace : dat;
    const pseries *cols[2] = {it, smooth};
    const char *names[2] = {"it_w", "it_smoothed_w"};
    size_t n = smooth ? 2 : 1;
    if ((rc = pseries_write_csv(csv, cols, names, n, err)))
        return rc;
    if (!plot)
        return MS_OK;
    if ((rc = cli_home_path(tmpl, sizeof tmpl, "plots/power.gp", err)))
        return rc;
    FILE *t = fopen(tmpl, "r");
    if (!t)
        return ms_errf(err, MS_EIO, "%s: cannot read the plot template: %s", tmpl, strerror(errno));
    afile *af;
    if ((rc = afile_open(gp, &af, err))) {
        fclose(t);
        return rc;
    }
    FILE *g = afile_stream(af);
    fprintf(g, "# written by megasim; draw with: gnuplot %s\ndatafile = ", gp);
    gp_write_string(g, csv);
    fprintf(g, "\noutfile = ");
    gp_write_string(g, plot);
    fprintf(g, "\nformat = \"%s\"\ntitle_text = ", svg ? "svg" : "png");
    gp_write_string(g, title);
    fprintf(g, "\nncols = %zu\narray col_title[%zu]\ncol_title[1] = \"IT power\"\n", n, n);
    if (smooth)
        fprintf(g, "col_title[2] = \"IT power, smoothed (floor %.0f%% of matrix power)\"\n",
                100 * floor_frac);
    char line[512];
    while (fgets(line, sizeof line, t))
        fputs(line, g);
    int bad = ferror(t);
    fclose(t);
    if (bad) {
        afile_abort(af);
        return ms_errf(err, MS_EIO, "%s: read failed", tmpl);
    }
    if ((rc = afile_commit(af, err)))
        return rc;
    int drawn;
    return cli_plot_draw(gp, csv, plot, &drawn, err);
}
