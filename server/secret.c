/* secret: see secret.h. */
#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int secret_read(const char *path, uint8_t *out, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, cap, f);
    int big = n == cap && fgetc(f) != EOF;
    fclose(f);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    if (big || n < 16) {
        snprintf(err, errlen, "%s: a token secret must be 16..%zu bytes", path, cap);
        return -1;
    }
    return (int)n;
}
