/* num: see num.h. */
#include "core/num.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the decimal number at the start of s by its grammar, 0 when
 * there is none. strtod alone would also take hex, "inf", "nan" and
 * leading blanks. */
static size_t number_len(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (is_digit(s[i])) {
        i++;
        digits++;
    }
    if (s[i] == '.') {
        i++;
        while (is_digit(s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (is_digit(s[j])) {
            while (is_digit(s[j]))
                j++;
            i = j;
        }
    }
    return i;
}

int num_parse_prefix(const char *text, double *out, const char **end)
{
    if (!text)
        return -1;
    size_t len = number_len(text);
    if (len == 0 || len > 64)
        return -1;
    char buf[72];
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *stop = NULL;
    double v = strtod(buf, &stop);
    if (stop != buf + len || !isfinite(v))
        return -1;
    *out = v;
    if (end)
        *end = text + len;
    return 0;
}

double num_strtod(const char *text, char **end)
{
    double v = 0;
    const char *stop = text;
    if (num_parse_prefix(text, &v, &stop))
        v = 0, stop = text;
    *end = (char *)stop;
    return v;
}

int num_parse(const char *text, double *out)
{
    const char *end = NULL;
    double v;
    if (num_parse_prefix(text, &v, &end) || *end)
        return -1;
    *out = v;
    return 0;
}
