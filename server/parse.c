/* parse: see parse.h. */
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int parse_long(const char *flag, const char *v, long lo, long hi, long *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < lo || n > hi) {
        snprintf(err, errlen, "%s: '%s' is not a whole number in %ld..%ld", flag, v, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

int parse_int(const char *flag, const char *v, int lo, int hi, int *out, char *err, size_t errlen)
{
    long n;
    if (parse_long(flag, v, lo, hi, &n, err, errlen))
        return -1;
    *out = (int)n;
    return 0;
}

int parse_double(const char *flag, const char *v, double lo, double hi, double *out, char *err,
                 size_t errlen)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !isfinite(d) || d < lo || d > hi) {
        snprintf(err, errlen, "%s: '%s' is not a number in %g..%g", flag, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}
