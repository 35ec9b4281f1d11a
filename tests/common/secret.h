/* secret: reads a token secret file (--token-secret-file) exactly as
 * tickwire-server does, so the bots and the tests accept and refuse the
 * same files: the whole file, trailing CR/LF removed, 16..cap bytes.
 *
 * The server keeps its own copy (server/cli.c cli_read_secret: the server
 * does not link test code); a change to the rule changes both. */
#ifndef TW_TEST_SECRET_H
#define TW_TEST_SECRET_H

#include <stddef.h>
#include <stdint.h>

/* The server's buffer for the secret (server/net.c): the longest it takes. */
#define SECRET_MAX 4096

/* Reads the secret in `path` into out (cap bytes, SECRET_MAX to take what
 * the server takes). Returns its length, or -1 with the reason in err: the
 * file cannot be read, or holds fewer than 16 or more than cap bytes. */
int secret_read(const char *path, uint8_t *out, size_t cap, char *err, size_t errlen);

#endif
