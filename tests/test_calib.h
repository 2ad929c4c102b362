/* test_calib: a calibration from CSV text, through a temporary file, for
 * the suites that pin lookups and draws to rows written in the test. */
#ifndef MS_TEST_CALIB_H
#define MS_TEST_CALIB_H

#include <CUnit/Basic.h>
#include <stdio.h>
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

#endif
