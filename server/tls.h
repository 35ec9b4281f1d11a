/* tls: checks a certificate and key pair before the server starts, so a
 * bad file gives a clear error instead of a failed handshake later.
 * libwebsockets 4.1.6 with mbedTLS 2.28 takes one PEM block per file: no
 * chains, no "EC PARAMETERS" block, no encrypted keys. */
#ifndef TW_TLS_H
#define TW_TLS_H

#include <stddef.h>

/* Returns 0, or -1 with the problem (naming the file) in err. */
int tls_check_files(const char *cert_path, const char *key_path, char *err, size_t errlen);

#endif
