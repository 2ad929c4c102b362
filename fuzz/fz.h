/* fz: what the libFuzzer harnesses of fuzz/ share. A harness
 * (fuzz_NAME.c) defines LLVMFuzzerTestOneInput, hands the input to one
 * loader as a file (most take a path) or a string, and frees everything
 * it was given: a leak, an out-of-bounds access, undefined behaviour or
 * an assert is a crash. scripts/fuzz builds and runs them. */
#ifndef MS_FZ_H
#define MS_FZ_H

#include <stddef.h>
#include <stdint.h>

#include "hw/chip.h"

/* Writes data[0..n) to this process's temporary file for tag ("csv",
 * "json"; one file a tag, rewritten by each call) under $TMPDIR (else
 * /tmp) and returns its path (a static buffer, valid until the next call
 * with the same tag). Aborts when the file cannot be written: that is
 * the machine, not the input. */
const char *fz_file(const uint8_t *data, size_t n, const char *tag);

/* data[0..n) as a NUL-terminated string (cut at its first NUL), owned
 * by the caller (free). Aborts when out of memory. */
char *fz_str(const uint8_t *data, size_t n);

/* A path under the source tree ("hwdb/chips.csv"), in a static buffer
 * valid until the next call. */
const char *fz_src(const char *rel);

/* hwdb/chips.csv, loaded on the first call and kept for the process
 * (loaders that look chips up borrow it). Aborts when it cannot be
 * read. */
const chip_db *fz_chips(void);

#endif
