/* derive: see derive.h. */
#include "policy/derive.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/num.h"

typedef struct unit {
    const char *text;
    double si; /* SI units per one of it */
} unit;

#define MAX_UNITS 8

typedef struct field_spec {
    const char *name;
    const char *units_hint; /* for messages */
    unit units[MAX_UNITS];
    double max_si; /* beyond any real chip: catches unit slips */
} field_spec;

/* Byte and bit rates alike; case matters (GB/s is bytes, Gb/s bits). */
#define RATE_UNITS                                                                                 \
    {                                                                                              \
        {"GB/s", 1e9}, {"TB/s", 1e12}, {"MB/s", 1e6}, {"GBps", 1e9}, {"TBps", 1e12},               \
            {"Gb/s", 1e9 / 8}, {"Tb/s", 1e12 / 8}, {"Gbps", 1e9 / 8},                              \
    }

static const field_spec fields[DERIVE_FIELDS] = {
    [DERIVE_FLOPS] = {"flops",
                      "TFLOPS or PFLOPS (the BF16 dense peak)",
                      {{"TFLOPS", 1e12}, {"PFLOPS", 1e15}, {"GFLOPS", 1e9}},
                      1e17},
    [DERIVE_SCALE_UP_BW] = {"scale_up_bw", "GB/s or TB/s, both directions", RATE_UNITS, 2e14},
    [DERIVE_HOST_IO_BW] = {"host_io_bw", "GB/s, both directions", RATE_UNITS, 2e14},
    [DERIVE_HBM_BW] = {"hbm_bw", "GB/s or TB/s", RATE_UNITS, 1e14},
    [DERIVE_HBM_CAPACITY] = {"hbm_capacity",
                             "GB or TB",
                             {{"GB", 1e9}, {"TB", 1e12}, {"GiB", 1073741824.0}},
                             1e14},
    [DERIVE_SCALE_OUT_BW] = {"scale_out_bw", "Gb/s or Tb/s per chip", RATE_UNITS, 1e14},
    [DERIVE_DIE_AREA] = {"die_area", "mm2", {{"mm2", 1}, {"mm^2", 1}}, 1e5},
    [DERIVE_TDP] = {"tdp", "W or kW", {{"W", 1}, {"kW", 1e3}}, 1e5},
};

/* Factors beyond this either way are a typo, not a what-if. */
#define MAX_FACTOR 1000.0

const char *derive_field_name(derive_field f)
{
    return fields[f].name;
}

const char *derive_field_list(void)
{
    return "flops, scale_up_bw, host_io_bw, hbm_bw, hbm_capacity, scale_out_bw, die_area, tdp";
}

int derive_parse(const char *text, int scale, derive_change *out, ms_err *err)
{
    const char *eq = strchr(text, '=');
    const char *what = scale ? "--scale" : "--set";
    if (!eq)
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected FIELD=%s, with FIELD one of %s", what,
                       text, scale ? "FACTOR" : "VALUE", derive_field_list());
    int f = -1;
    for (int i = 0; i < DERIVE_FIELDS; i++)
        if (strlen(fields[i].name) == (size_t)(eq - text) &&
            strncmp(fields[i].name, text, (size_t)(eq - text)) == 0)
            f = i;
    if (f < 0)
        return ms_errf(err, MS_EUSAGE, "%s '%s': unknown field '%.*s'; expected one of %s", what,
                       text, (int)(eq - text), text, derive_field_list());
    const field_spec *fs = &fields[f];
    char *end;
    double v = num_strtod(eq + 1, &end);
    if (end == eq + 1 || !isfinite(v))
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected a number after '='", what, text);
    *out = (derive_change){.field = (derive_field)f, .scale = scale, .value = v};
    if (scale) {
        if (*end)
            return ms_errf(err, MS_EUSAGE, "%s '%s': a factor has no unit; got '%s' after it", what,
                           text, end);
        if (!(v > 0) || v > MAX_FACTOR || v < 1 / MAX_FACTOR)
            return ms_errf(err, MS_EUSAGE,
                           "%s '%s': expected a factor > 0 between %g and %g, got %g", what, text,
                           1 / MAX_FACTOR, MAX_FACTOR, v);
        return MS_OK;
    }
    const unit *u = NULL;
    for (int i = 0; i < MAX_UNITS && fs->units[i].text; i++)
        if (strcmp(end, fs->units[i].text) == 0)
            u = &fs->units[i];
    if (!u)
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected %s in %s, e.g. %s=%g%s", what, text,
                       fs->name, fs->units_hint, fs->name, v > 0 ? v : 1, fs->units[0].text);
    out->value = v * u->si;
    if (!(out->value > 0) || out->value > fs->max_si)
        return ms_errf(err, MS_EUSAGE, "%s '%s': expected a positive %s below %g %s, got %g", what,
                       text, fs->name, fs->max_si / fs->units[0].si, fs->units[0].text, v);
    return MS_OK;
}

void derive_change_text(const derive_change *ch, char *buf, size_t cap)
{
    const field_spec *fs = &fields[ch->field];
    if (ch->scale)
        snprintf(buf, cap, "%s*%g", fs->name, ch->value);
    else
        snprintf(buf, cap, "%s=%g%s", fs->name, ch->value / fs->units[0].si, fs->units[0].text);
}

/* The chip figure a field changes; both-direction fields are stored per
 * direction, so `half` says to halve a set value. */
static double *figure(chip *c, derive_field f, int *half)
{
    *half = 0;
    switch (f) {
    case DERIVE_SCALE_UP_BW:
        *half = 1;
        return &c->scale_up_bw_Bps;
    case DERIVE_HOST_IO_BW:
        *half = 1;
        return &c->host_io_bw_Bps;
    case DERIVE_HBM_BW:
        return &c->hbm_bw_Bps;
    case DERIVE_HBM_CAPACITY:
        return &c->hbm_bytes;
    case DERIVE_SCALE_OUT_BW:
        return &c->scale_out_bw_Bps;
    case DERIVE_DIE_AREA:
        return &c->die_area_mm2;
    case DERIVE_TDP:
        return &c->tdp_W;
    default:
        return NULL;
    }
}

static int apply_one(chip *c, const derive_change *ch, ms_err *err)
{
    char text[96];
    derive_change_text(ch, text, sizeof text);
    if (ch->field == DERIVE_FLOPS) {
        double bf16 = c->peak_flop_per_s[MS_BF16];
        double k = ch->scale ? ch->value : ch->value / bf16;
        for (int p = 0; p < MS_PREC_COUNT; p++)
            c->peak_flop_per_s[p] *= k; /* NAN stays NAN */
        if (c->peak_flop_per_s[MS_BF16] > fields[DERIVE_FLOPS].max_si)
            return ms_errf(err, MS_EINVAL, "%s on %s: %g TFLOPS BF16 is beyond any chip", text,
                           c->name, c->peak_flop_per_s[MS_BF16] / 1e12);
        return MS_OK;
    }
    int half;
    double *x = figure(c, ch->field, &half);
    if (ch->scale) {
        if (isnan(*x))
            return ms_errf(err, MS_EINVAL,
                           "%s: %s has no %s in the database to scale; set it instead (--set "
                           "%s=VALUE)",
                           text, c->name, fields[ch->field].name, fields[ch->field].name);
        *x *= ch->value;
    } else {
        *x = half ? ch->value / 2 : ch->value;
    }
    double both = half ? 2 * *x : *x;
    if (both > fields[ch->field].max_si)
        return ms_errf(err, MS_EINVAL, "%s on %s: %g %s is beyond any chip", text, c->name,
                       both / fields[ch->field].units[0].si, fields[ch->field].units[0].text);
    if (c->idle_W > c->tdp_W)
        return ms_errf(err, MS_EINVAL, "%s on %s: a TDP of %g W is below the idle power of %g W",
                       text, c->name, c->tdp_W, c->idle_W);
    return MS_OK;
}

int derive_apply(const chip *parent, const char *name, const derive_change *ch, size_t n,
                 derive_chip *out, ms_err *err)
{
    *out = (derive_chip){.c = *parent};
    /* Printable ASCII only: a name is a CSV field, a JSON string and a
     * table cell, and a line break or a stray byte would break each. */
    int ok = 1, printable = 1; /* printable: safe to echo in the one-line message */
    for (const char *p = name; *p; p++) {
        ok &= *p > ' ' && *p < 0x7F && *p != ',' && *p != '"';
        printable &= *p >= ' ' && *p < 0x7F;
    }
    if (!name[0] || !ok || strlen(name) >= sizeof out->name)
        return ms_errf(err, MS_EUSAGE,
                       "--name%s%s%s: expected a name of at most %zu printable ASCII characters "
                       "without spaces, commas or quotes",
                       printable ? " '" : "", printable ? name : "", printable ? "'" : "",
                       sizeof out->name - 1);
    if (n == 0)
        return ms_errf(err, MS_EINVAL, "nothing to change: give --set or --scale");
    snprintf(out->name, sizeof out->name, "%s", name);
    char changes[384] = "";
    for (size_t i = 0; i < n; i++) {
        int rc = apply_one(&out->c, &ch[i], err);
        if (rc)
            return rc;
        size_t used = strlen(changes);
        if (used + 2 < sizeof changes) {
            if (i)
                strcat(changes, ", ");
            derive_change_text(&ch[i], changes + strlen(changes), sizeof changes - used - 2);
        }
    }
    out->c.name = out->name; /* after the changes, whose messages name the parent */
    snprintf(out->derived_from, sizeof out->derived_from, "%s", parent->name);
    int w;
    if (parent->derivation && parent->derivation[0])
        w = snprintf(out->derivation, sizeof out->derivation, "%s; %s: %s", parent->derivation,
                     parent->name, changes);
    else
        w = snprintf(out->derivation, sizeof out->derivation, "%s: %s", parent->name, changes);
    if (w < 0 || (size_t)w >= sizeof out->derivation)
        return ms_errf(err, MS_EINVAL, "%s: the lineage is too long to keep (%d characters)", name,
                       w);
    /* At most 80 + 100 characters of names and changes: it fits; the
     * derivation keeps the whole story. */
    snprintf(out->full_name, sizeof out->full_name, "%.80s derived (%.100s)", parent->full_name,
             changes);
    snprintf(out->source, sizeof out->source,
             "what-if chip derived by megasim derive from %s (%s); every other figure is %s's, "
             "see its row",
             parent->name, changes, parent->name);
    out->c.full_name = out->full_name;
    out->c.derived_from = out->derived_from;
    out->c.derivation = out->derivation;
    out->c.source = out->source;
    out->c.file = "";
    out->c.line = 0;
    return MS_OK;
}
