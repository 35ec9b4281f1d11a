/* parse: numbers given as command-line flag values, for tickwire-server,
 * the test programs, the bots and the bench floor (library tw_args). All or nothing: the whole value must be the
 * number ("12", not "12abc" or ""), inside [lo, hi]; otherwise -1 and a
 * message that names the flag, the value and the range, e.g.
 *   --port: '70000' is not a whole number in 0..65535
 * for the caller to print before its usage.
 */
#ifndef TW_PARSE_H
#define TW_PARSE_H

#include <stddef.h>

/* A base-10 whole number in lo..hi. Returns 0, or -1 with err set. */
int parse_long(const char *flag, const char *v, long lo, long hi, long *out, char *err, size_t errlen);

/* parse_long for an int. */
int parse_int(const char *flag, const char *v, int lo, int hi, int *out, char *err, size_t errlen);

/* A finite number (strtod syntax: "0.5", "1e3") in lo..hi. Returns 0, or -1
 * with err set. */
int parse_double(const char *flag, const char *v, double lo, double hi, double *out, char *err,
                 size_t errlen);

#endif
