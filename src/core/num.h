/* num: numbers read from text in one place with its checks, so that no
 * loader or option accepts what another refuses: a hex "0x10", "inf" or
 * "nan" is an error wherever it is met. (Times computed from input are
 * checked by sim_time_try_from_s and sim_at_plus_s in core/sim.) */
#ifndef MS_NUM_H
#define MS_NUM_H

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

#endif
