/* csvtab: a whole CSV file read into memory with libcsv, as a header row
 * and data rows, each row remembering the file line it started on so
 * loaders can name file:line:column in their errors. Blank lines are
 * skipped; quoting follows RFC 4180 (strict: a stray quote is an error). */
#ifndef MS_CSVTAB_H
#define MS_CSVTAB_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

typedef struct csvtab csvtab;

/* Reads path (through rfile_slurp: a regular text file of bounded size).
 * Fails with rfile_slurp's errors, or MS_EPARSE if it is malformed, has no
 * header row, a header column without a name or named twice, or a row
 * with more fields than the header (fewer are left to the loaders, which
 * name the missing column). The caller frees *out. */
int csvtab_read(const char *path, csvtab **out, ms_err *err);

/* Frees t; NULL is a no-op. */
void csvtab_free(csvtab *t);

/* The path given to csvtab_read (borrowed, lives as long as t). */
const char *csvtab_path(const csvtab *t);

size_t csvtab_ncols(const csvtab *t); /* fields in the header */
const char *csvtab_colname(const csvtab *t, size_t col);
/* Index of the header field named name (exact match), or -1. */
int csvtab_find_col(const csvtab *t, const char *name);

/* The header of a file whose columns are exactly cols[0..n) in any
 * order: map[i] receives the field of cols[i]. Fails with MS_EPARSE
 * naming the file's line 1: a missing column, or one not in cols; hint
 * ends each message ("see hwdb/README.md"). */
int csvtab_map_cols(const csvtab *t, const char *const *cols, size_t n, size_t *map,
                    const char *hint, ms_err *err);

size_t csvtab_nrows(const csvtab *t); /* data rows, header excluded */
size_t csvtab_row_nfields(const csvtab *t, size_t row);
int csvtab_row_line(const csvtab *t, size_t row); /* 1-based file line */
/* Field col of data row row, or NULL if the row has fewer fields.
 * Borrowed; lives as long as t. */
const char *csvtab_field(const csvtab *t, size_t row, size_t col);

/* Writes text to f as one CSV field (RFC 4180): as it is, or in double
 * quotes with inner quotes doubled when it holds a comma, quote or line
 * break, or starts or ends with a space or tab (which a reader would
 * otherwise trim), so csvtab_read gives text back unchanged. */
void csvtab_put_field(FILE *f, const char *text);

#endif
