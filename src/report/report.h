/* report: a command's result as an ordered list of named values with
 * units, in groups and tables, and its renderings: aligned text for a
 * person, JSON and CSV for machines, HTML and Markdown for documents. A
 * command builds one report and hands it to one renderer, so its text and
 * its JSON cannot disagree; a new result field is one report_* call.
 *
 * Values are kept in SI base units (seconds, bytes, watts, dollars, FLOP/s,
 * fractions); the text, HTML and Markdown renderers choose the prefix per
 * unit (report_format), JSON and CSV write them as they are, NAN as null
 * (JSON) or an empty field (CSV). */
#ifndef MS_REPORT_H
#define MS_REPORT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

typedef struct report report;

/* An empty report; NULL when out of memory. Free with report_free. */
report *report_new(void);
void report_free(report *r);
/* 1 if memory ran out while it was built (the renderers then fail). */
int report_failed(const report *r);

/* The version JSON carries as "megasim_version" (text leaves it out). */
void report_version(report *r, const char *version);

/* A group: in text a heading (title; none when NULL) with its values
 * indented under it; in JSON an object under key, or, when key is NULL, its
 * values in the enclosing object. Groups nest; each begin has an end.
 * A group opened with report_begin_hidden is left out of the text (the
 * "inputs" a JSON result echoes). */
void report_begin(report *r, const char *key, const char *title);
void report_begin_hidden(report *r, const char *key);
void report_end(report *r);

/* One value. key is its JSON key and CSV column; label what the text
 * shows (NULL: the key); unit one of those report_format knows ("s", "B",
 * "B/s", "FLOP/s", "W", "USD", "%" for a fraction, "" for a count or a
 * plain number, or any other unit, drawn with an SI prefix). */
void report_num(report *r, const char *key, const char *label, double v, const char *unit);
void report_int(report *r, const char *key, const char *label, int64_t v, const char *unit);
void report_str(report *r, const char *key, const char *label, const char *s);
void report_bool(report *r, const char *key, const char *label, int v);
/* A list of n strings: a JSON array, "a, b" in text, "a;b" in CSV. */
void report_strs(report *r, const char *key, const char *label, const char *const *s, size_t n);
/* The same for a list held as text, items separated by ';' ("matrix_W;
 * idle_W"): each item without its leading blanks, empty ones dropped. */
void report_strs_split(report *r, const char *key, const char *label, const char *list);

/* A table: rows of values with the same keys. In text a header and one
 * line per row; in JSON an array of objects under key; in CSV a header of
 * the keys and one line per row. Values added after report_row go into
 * that row until the next report_row or report_table_end. */
void report_table(report *r, const char *key, const char *title);
void report_row(report *r);
void report_table_end(report *r);

/* 1 if a value under key was added (anywhere in r). */
int report_has(const report *r, const char *key);

/* The first number under key outside r's tables (a count as a double);
 * NAN when there is none. For jobs that run other jobs. */
double report_find_num(const report *r, const char *key);

/* Appends every item of src to dst, where dst is (inside a group, src's
 * values become the group's). Memory running out marks dst failed. */
void report_append(report *dst, const report *src);

/* v with its unit as the text shows it: "989.4 TFLOP/s", "3.35 TB/s",
 * "12.5 GiB" (bytes in binary prefixes), "45.2 min" and "3.4 days"
 * (seconds are never "ks"), "$4.75 million", "12.3%" (of a fraction),
 * "1,536" (a whole count), "2022" (unit "plain": a year, an id); "-" for
 * NAN. Returns buf. */
const char *report_format(double v, const char *unit, char *buf, size_t cap);

/* The renderings. Each fails (MS_ENOMEM, MS_EIO) without a partial
 * promise: what was written may be incomplete and the caller says so. */
int report_write_text(const report *r, FILE *f, ms_err *err);
/* The JSON object (the caller deletes it): "megasim_version" first, then
 * every value, group and table in order. NULL when out of memory. */
cJSON *report_json(const report *r);
int report_write_json(const report *r, FILE *f, ms_err *err);
/* Turns every number in j into the fewest digits that read back as exactly
 * it, for printing (cJSON's own printing accepts an error in the last
 * bit); j is then for printing only. MS_ENOMEM when out of memory. */
int report_json_exact(cJSON *j);
/* The table under key (NULL: the first table) as CSV, through libcsv; a
 * report without that table fails with MS_EINVAL naming it. */
int report_write_csv(const report *r, const char *table_key, FILE *f, ms_err *err);

/* r as an HTML fragment (no <html>/<body>; the caller's page holds it):
 * a titled group is a <section> with an <hN> heading (N = level, the
 * level passed in for the top, one more for each nested titled group,
 * at most 6; level is clamped to 1..6), its values a two-column
 * <table class="kv"> of label and formatted value (the same text
 * report_write_text prints, units included); a table is a <table> with a
 * <caption> (its title) and a <thead> of column labels, numbers in
 * <td class="num">; hidden groups are left out as the text leaves them
 * out. Every string is HTML-escaped (& < > " ').
 * A group's values come first, in one kv table (so the top-level values
 * are one kv table at the top), then its tables and titled groups in
 * order; an untitled group's values join its enclosing group's kv table.
 * A table inside a table row is drawn after the enclosing table as a table
 * of its own (rows in order, its caption its own title); a group inside a
 * row is left out, as in text. MS_ENOMEM if r failed, MS_EIO on a write
 * error. */
int report_write_html(const report *r, FILE *f, int level, ms_err *err);

/* Writes s to f with & < > " ' as HTML entities, so text cannot open
 * markup (for pages that hold report_write_html's fragments). */
void report_html_escape(FILE *f, const char *s);

/* r as Markdown, laid out as report_write_html lays it out: titled groups
 * as headings (level as above, '#' x N), values as a two-column pipe table
 * (| quantity | value |), tables as pipe tables (numeric columns
 * right-aligned) under their title in bold; '|' in any string escaped as
 * '\|', a line break in one written as a blank; other Markdown syntax is
 * not escaped. Errors as report_write_html. */
int report_write_markdown(const report *r, FILE *f, int level, ms_err *err);

#endif
