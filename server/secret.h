/* secret: reads a token secret file (--token-secret-file): the whole file,
 * trailing CR/LF removed, 16..cap bytes. tickwire-server, the bots and the
 * tests all read it here (library tw_args), so they accept and refuse the
 * same files. */
#ifndef TW_SECRET_H
#define TW_SECRET_H

#include <stddef.h>
#include <stdint.h>

/* The longest secret the server takes (its buffer in server/net.c). */
#define SECRET_MAX 4096

/* Reads the secret in `path` into out (cap bytes, SECRET_MAX to take what
 * the server takes). Returns its length, or -1 with the reason in err: the
 * file cannot be read, or holds fewer than 16 or more than cap bytes. */
int secret_read(const char *path, uint8_t *out, size_t cap, char *err, size_t errlen);

#endif
