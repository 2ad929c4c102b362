/* jplot: see jplot.h. */
#include "job/jplot.h"

#include "io/gnuplot.h"

int jplot_begin(const jenv *env, const char *out, const char *name, jplot *p, FILE **data,
                ms_err *err)
{
    *p = (jplot){.out = out};
    char rel[256];
    snprintf(rel, sizeof rel, "plots/%s.gp", name);
    int rc;
    if ((rc = gp_plot_paths(out, p->dat, sizeof p->dat, p->gp, sizeof p->gp, &p->svg, err)) ||
        (rc = jenv_path(env, rel, p->tmpl, sizeof p->tmpl, err)) ||
        (rc = afile_open(p->dat, &p->af, err)))
        return rc;
    *data = afile_stream(p->af);
    return MS_OK;
}

int jplot_end(jplot *p, int ok, const char *title, const char *const (*vars)[2], size_t nvars,
              ms_err *err)
{
    if (!ok) {
        afile_abort(p->af);
        p->af = NULL;
        return MS_OK;
    }
    int rc = afile_commit(p->af, err), drawn;
    p->af = NULL;
    if (rc || (rc = gp_write_script(p->gp, p->tmpl, "megasim", p->dat, p->out, p->svg, title, vars,
                                    nvars, err)))
        return rc;
    return gp_plot_draw(p->gp, p->dat, p->out, &drawn, err);
}
