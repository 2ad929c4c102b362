/* test_calib: a calibration from CSV text, through a temporary file, for
 * the suites that pin lookups and draws to rows written in the test. */
#ifndef MS_TEST_CALIB_H
#define MS_TEST_CALIB_H

#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/calib.h"
#include "test_tmp.h"

/* Loads text as an efficiency CSV; fails the test (fatally) if it does
 * not load, with calib's message. */
static inline calib *test_calib_text(const char *text)
{
    char path[] = "/tmp/megasim_test_cal_XXXXXX";
    test_write_tmp(path, text);
    calib *cal = NULL;
    ms_err err = {0};
    int rc = calib_load(path, &cal, &err);
    unlink(path);
    if (rc)
        fprintf(stderr, "\n    %s\n", err.msg);
    CU_ASSERT_FATAL(rc == MS_OK);
    return cal;
}

/* hwdb/efficiency.csv's row that starts with key ("hopper,gemm,bf16,"),
 * read by hand, apart from calib: its columns compute_eff, memory_eff,
 * overhead_us, log_sd, log_cov, overlap_p in that order (log_cov's first
 * figure read, not used). A blank compute efficiency is 1 (the peak), a
 * blank memory efficiency NAN (the caller says what stands in), a blank
 * overhead 0, a blank exponent 0 (the max). Returns 0 when the row is
 * found. */
static inline int test_eff_row(const char *key, double *ce, double *me, double *over_s,
                               double *p_out)
{
    FILE *f = fopen("hwdb/efficiency.csv", "r");
    char line[2048];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) != 0)
            continue;
        const char *p = line + strlen(key);
        double v[6];
        for (int k = 0; k < 6; k++) {
            char *end;
            v[k] = p ? strtod(p, &end) : NAN;
            if (!p || end == p)
                v[k] = k == 0 ? 1 : k == 1 ? NAN : 0;
            p = p && strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        }
        *ce = v[0], *me = v[1], *over_s = v[2] * 1e-6, *p_out = v[5];
        found = 1;
    }
    if (f)
        fclose(f);
    return found ? 0 : -1;
}

#endif
