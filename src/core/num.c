/* num: see num.h. */
#include "core/num.h"

#include <errno.h>
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

int num_parse_i64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    double v;
    if (num_parse(text, &v) || v != floor(v))
        return -1;
    /* Digits alone are read exactly (a double holds only 53 bits). */
    const char *p = text + (text[0] == '+' || text[0] == '-');
    if (strspn(p, "0123456789") == strlen(p)) {
        char *stop = NULL;
        errno = 0;
        long long ll = strtoll(text, &stop, 10);
        if (*stop || errno == ERANGE)
            return -1;
        if (ll < min || ll > max)
            return -1;
        *out = ll;
        return 0;
    }
    int64_t i;
    if (num_i64(v, &i) || i < min || i > max)
        return -1;
    *out = i;
    return 0;
}

int num_fits_i64(double x)
{
    /* 2^63 is exactly representable; every double below it in magnitude
     * rounds into range, and -2^63 itself is INT64_MIN. */
    double r = round(x);
    return isfinite(r) && r < 9223372036854775808.0 && r >= -9223372036854775808.0;
}

int num_i64(double x, int64_t *out)
{
    if (!num_fits_i64(x))
        return -1;
    *out = (int64_t)round(x);
    return 0;
}
