/* test_tmp: text into a fresh temporary file, for the suites that read
 * files they write themselves. */
#ifndef MS_TEST_TMP_H
#define MS_TEST_TMP_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

/* Writes text to a new file made from path, a mkstemp template ending in
 * XXXXXX, which receives its name; the caller unlinks it. Fails the test
 * (fatally) if the file cannot be made. */
static inline void test_write_tmp(char *path, const char *text)
{
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

#endif
