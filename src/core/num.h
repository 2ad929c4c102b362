/* num: numbers read from text, and numbers turned into 64-bit counts, each
 * in one place with its checks, so that no loader or option accepts what
 * another refuses: a hex "0x10", "inf", "nan" or a value beyond int64 is
 * an error wherever it is met. */
#ifndef MS_NUM_H
#define MS_NUM_H

#include <stdint.h>

/* Reads a finite decimal number at the start of text ("12", "-0.5",
 * ".5", "3.35e12"): an optional sign, digits with an optional point, an
 * optional exponent. No leading blanks, no hex, no "inf" or "nan". Returns
 * 0 and sets *out and *end (the first character after the number), or -1
 * (nothing changed) when text does not start with such a number or its
 * value overflows a double. */
int num_parse_prefix(const char *text, double *out, const char **end);

/* strtod's interface, num_parse_prefix's grammar: the number at the start
 * of text, with *end after it; 0 with *end = text when text does not start
 * with a finite decimal number. A drop-in for strtod in loaders that
 * already check end and what follows it. */
double num_strtod(const char *text, char **end);

/* num_parse_prefix over the whole of text: -1 when anything follows. */
int num_parse(const char *text, double *out);

/* Reads text whole as a decimal integer ("42", "-3"; also "1e6" when its
 * value is a whole number) into *out; -1 when it is not one or lies
 * outside [min, max]. */
int num_parse_i64(const char *text, int64_t min, int64_t max, int64_t *out);

/* x rounded to the nearest integer as int64; -1 (nothing set) when x is
 * not finite or its rounded value lies outside int64's range. Every
 * conversion of a computed double to a 64-bit count goes through here. */
int num_i64(double x, int64_t *out);

/* Whether x rounds to an int64 (num_i64 would succeed). */
int num_fits_i64(double x);

#endif
