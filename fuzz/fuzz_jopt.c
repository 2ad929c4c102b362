/* fuzz_jopt: command lines as the option tables read them (jopt_parse):
 * whole numbers, numbers, sizes ("1GiB"), rates, choices, lists and
 * flags, range checks and "did you mean". The input's first byte less
 * '@' picks the table, modulo their count, in the order of tables[] ('@'
 * train, 'A' serve, 'B' size, ..., 'P' rl); the rest is argv, one
 * argument a line. The resolved options are then echoed as a report's
 * inputs, and an rl job's length schedule parsed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"
#include "job/jchips.h"
#include "job/jcoll.h"
#include "job/jexport.h"
#include "job/jfrontier.h"
#include "job/jmodel.h"
#include "job/jopt.h"
#include "job/jpower.h"
#include "job/jrl.h"
#include "job/jroof.h"
#include "job/jserve.h"
#include "job/jsize.h"
#include "job/jtopo.h"
#include "job/jtrain.h"
#include "job/jvalid.h"
#include "report/report.h"

/* Room for the job of any table below. */
typedef union any_job {
    jchips_job chips;
    jchip_job chip;
    jcoll_job coll;
    jexport_check_job export_check;
    jexport_derive_job export_derive;
    jfrontier_job frontier;
    jmodel_job model;
    jpower_opts power;
    jroof_job roof;
    jroof_default_job roof_default;
    jserve_job serve;
    jsize_job size;
    jtopo_opts topo;
    jtrain_job train;
    jvalid_job valid;
    jvalid_calibrate_job calibrate;
    jrl_job rl;
} any_job;

static const jopt_table *const tables[] = {
    &jtrain_options,        &jserve_options, &jsize_options,         &jcoll_options,
    &jchips_options,        &jchip_options,  &jexport_check_options, &jexport_derive_options,
    &jfrontier_options,     &jmodel_options, &jpower_options,        &jroof_options,
    &jroof_default_options, &jtopo_options,  &jvalid_options,        &jvalid_calibrate_options,
    &jrl_options,
};
enum { NTABLES = sizeof tables / sizeof tables[0], MAX_ARGS = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n == 0)
        return 0;
    const jopt_table *t = tables[(uint8_t)(data[0] - '@') % NTABLES];
    char *text = fz_str(data + 1, n - 1);
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *p = text; argc < MAX_ARGS;) {
        argv[argc++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    any_job *job = calloc(1, sizeof *job);
    if (!job)
        abort();
    const char *pos[2];
    int npos, help;
    ms_err err = {0};
    if (jopt_parse(t, job, argc, argv, pos, 2, &npos, &help, &err) == MS_OK) {
        report *r = report_new();
        if (r)
            jopt_report_inputs(t, job, r);
        report_free(r);
        jrl_point pts[JRL_MAX_POINTS];
        int np;
        if (t == &jrl_options && job->rl.length_schedule)
            (void)jrl_parse_schedule(job->rl.length_schedule, pts, JRL_MAX_POINTS, &np, &err);
    }
    free(job);
    free(text);
    return 0;
}
