/* cexport: see cexport.h. */
#include "cli/cexport.h"

#include <stdio.h>
#include <string.h>

int cexport_load_rules(const cli_args *a, xrule_set **rules, ms_err *err)
{
    char path[4096];
    const char *file = cli_get(a, "--rules");
    if (!file) {
        int rc = cli_home_path(path, sizeof path, "hwdb/export_rules.csv", err);
        if (rc)
            return rc;
        file = path;
    } else {
        file = cli_data_path(file, path, sizeof path);
    }
    return xrule_load(file, rules, err);
}

const char *cexport_verdict_word(xrule_tri t)
{
    return t == XRULE_TRUE ? "controlled" : t == XRULE_FALSE ? "not controlled" : "undecided";
}

/* A metric for JSON: its value, or null with a lower bound beside it. */
static void json_metric(cJSON *o, const char *key, xrule_range r)
{
    if (r.lo == r.hi) {
        cli_json_num(o, key, r.lo);
        return;
    }
    cJSON_AddNullToObject(o, key);
    if (r.lo > 0) {
        char k[64];
        snprintf(k, sizeof k, "%s_at_least", key);
        cli_json_num(o, k, r.lo);
    }
}

void cexport_verdict_json(cJSON *o, const xrule_rule *r, const chip *c, const xrule_verdict *v)
{
    ms_prec at;
    cJSON_AddStringToObject(o, "chip", c->name);
    cJSON_AddStringToObject(o, "rule", r->name);
    if (v->controlled == XRULE_UNDECIDED)
        cJSON_AddNullToObject(o, "controlled");
    else
        cJSON_AddBoolToObject(o, "controlled", v->controlled == XRULE_TRUE);
    if (v->clause)
        cJSON_AddStringToObject(o, "clause", v->clause->name);
    else
        cJSON_AddNullToObject(o, "clause");
    cli_json_num(o, "tpp", xrule_tpp(c, &at));
    if (at < MS_PREC_COUNT)
        cJSON_AddStringToObject(o, "tpp_precision", ms_prec_name(at));
    json_metric(o, "performance_density", xrule_metric_of(c, XRULE_PD));
    json_metric(o, "io_GBps", xrule_metric_of(c, XRULE_IO));
    json_metric(o, "scale_up_GBps", xrule_metric_of(c, XRULE_SCALE_UP));
    json_metric(o, "hbm_bw_GBps", xrule_metric_of(c, XRULE_HBM_BW));
    json_metric(o, "hbm_GB", xrule_metric_of(c, XRULE_HBM_GB));
    cJSON_AddStringToObject(o, "why", v->why);
    if (v->clause)
        cJSON_AddStringToObject(o, "citation", v->clause->citation);
    if (c->derived_from && c->derived_from[0]) {
        cJSON_AddStringToObject(o, "derived_from", c->derived_from);
        cJSON_AddStringToObject(o, "derivation", c->derivation);
    }
}
