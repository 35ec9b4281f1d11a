/* tls: the certificate and key the server serves https and wss with.
 * tls_check_files reads them before the server starts, so a bad file gives
 * a clear error instead of a failed handshake later; tls_ssl_ctx_load puts
 * them into libwebsockets' TLS context.
 *
 * The certificate file may hold a chain, as CAs issue it (Let's Encrypt's
 * fullchain.pem): the server's own certificate first, then the
 * intermediates, each issued by the next. All of it is sent in the
 * handshake, so clients that know only the root can verify. (lws 4.1.6
 * with mbedTLS turns a file into DER as one PEM block, so it cannot load a
 * chain from ssl_cert_filepath; tls_ssl_ctx_load loads the whole chain
 * itself.) Not supported by mbedTLS 2.28 here: an "EC PARAMETERS" block,
 * encrypted keys. */
#ifndef TW_TLS_H
#define TW_TLS_H

#include <stddef.h>

/* The most certificates a chain file may hold (leaf + intermediates + root). */
#define TLS_MAX_CHAIN 8

/* Returns the number of certificates in the chain (>= 1), or -1 with the
 * problem (naming the file) in err: not PEM, a block other than a
 * certificate in the certificate file, a certificate that does not parse,
 * a chain out of order, a key file with more than one block, a key that
 * does not match the first certificate. */
int tls_check_files(const char *cert_path, const char *key_path, char *err, size_t errlen);

/* Loads the whole chain and the key into lws' server SSL_CTX (the `user`
 * argument of LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS, with
 * LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX and no ssl_cert_filepath).
 * Returns 0, or -1 with the problem in err. */
int tls_ssl_ctx_load(void *ssl_ctx, const char *cert_path, const char *key_path, char *err, size_t errlen);

#endif
