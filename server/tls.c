/* tls: see tls.h. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* The OpenSSL-shaped wrapper lws 4.1.6 builds over mbedTLS (its
 * lib/tls/mbedtls/wrapper, not installed with the headers). Given PEM text
 * (first byte not 0x30, DER's SEQUENCE), both parse it with mbedTLS:
 * mbedtls_x509_crt_parse keeps every certificate of a chain, and the
 * handshake sends the whole list (mbedtls_ssl_conf_own_cert). Both return
 * 1 on success. */
struct ssl_ctx_st;
int SSL_CTX_use_certificate_ASN1(struct ssl_ctx_st *ctx, int len, const unsigned char *d);
int SSL_CTX_use_PrivateKey_ASN1(int type, struct ssl_ctx_st *ctx, const unsigned char *d, long len);

#define TLS_FILE_MAX (256 * 1024) /* a chain of 8 large RSA certificates fits several times */

/* The whole file, NUL-terminated, in *text (malloc'd); returns its length
 * or -1 with err set. */
static long read_text(const char *path, char **text, char *err, size_t errlen)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(TLS_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t n = fread(buf, 1, TLS_FILE_MAX, f);
    int failed = ferror(f), big = !failed && fgetc(f) != EOF;
    int e = errno;
    fclose(f);
    if (failed || big) { /* failed: e.g. a directory, "Is a directory" */
        if (failed)
            snprintf(err, errlen, "%s: %s", path, strerror(e));
        else
            snprintf(err, errlen, "%s: larger than %d bytes, not a certificate chain or a key", path, TLS_FILE_MAX);
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    return (long)n;
}

/* The label of the PEM block starting at p ("-----BEGIN X-----"), in out. */
static void block_label(const char *p, char *out, size_t cap)
{
    p += strlen("-----BEGIN ");
    size_t n = 0;
    while (p[n] && p[n] != '-' && p[n] != '\n' && n + 1 < cap)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Every block of a certificate file must be a CERTIFICATE. Returns the
 * number of blocks, or -1 with err set. */
static int check_cert_blocks(const char *path, const char *text, char *err, size_t errlen)
{
    const char *p = strstr(text, "-----BEGIN ");
    if (!p) {
        snprintf(err, errlen, "%s: not a PEM file (no -----BEGIN line); expected a certificate, or a chain "
                 "(fullchain.pem)", path);
        return -1;
    }
    int n = 0;
    for (; p; p = strstr(p + 1, "-----BEGIN ")) {
        char label[48];
        block_label(p, label, sizeof label);
        n++;
        if (strcmp(label, "CERTIFICATE") != 0) {
            snprintf(err, errlen, "%s: block %d is a %s, not a CERTIFICATE: this file holds your certificate "
                     "and its chain only; the key goes in --tls-key", path, n, label);
            return -1;
        }
    }
    if (n > TLS_MAX_CHAIN) {
        snprintf(err, errlen, "%s: %d certificates; a chain of at most %d is taken", path, n, TLS_MAX_CHAIN);
        return -1;
    }
    return n;
}

/* The key file: one unencrypted private key block, in a shape mbedTLS
 * 2.28 loads. */
static int check_key_blocks(const char *path, const char *text, char *err, size_t errlen)
{
    const char *p = strstr(text, "-----BEGIN ");
    if (!p) {
        snprintf(err, errlen, "%s: not a PEM file (no -----BEGIN line); expected a private key", path);
        return -1;
    }
    char label[48];
    block_label(p, label, sizeof label);
    if (strstr(text, "ENCRYPTED")) {
        snprintf(err, errlen, "%s: encrypted keys are not supported; write it unencrypted (openssl pkcs8 -nocrypt)", path);
        return -1;
    }
    if (strstr(text, "EC PARAMETERS")) {
        snprintf(err, errlen, "%s: has an EC PARAMETERS block, which mbedTLS here cannot load; keep only the key block", path);
        return -1;
    }
    if (strcmp(label, "CERTIFICATE") == 0) {
        snprintf(err, errlen, "%s: holds a certificate, not a private key (--tls-cert and --tls-key swapped?)", path);
        return -1;
    }
    if (strstr(p + 1, "-----BEGIN ")) {
        snprintf(err, errlen, "%s: has more than one PEM block; the key file holds the private key only", path);
        return -1;
    }
    return 0;
}

/* Each certificate must be issued by the next one: leaf first. */
static int check_chain_order(const char *path, const mbedtls_x509_crt *crt, char *err, size_t errlen)
{
    int i = 1;
    for (const mbedtls_x509_crt *c = crt; c->next && c->next->raw.p; c = c->next, i++) {
        const mbedtls_x509_crt *up = c->next;
        if (c->issuer_raw.len == up->subject_raw.len &&
            memcmp(c->issuer_raw.p, up->subject_raw.p, up->subject_raw.len) == 0)
            continue;
        char subject[256], issuer[256];
        mbedtls_x509_dn_gets(subject, sizeof subject, &up->subject);
        mbedtls_x509_dn_gets(issuer, sizeof issuer, &c->issuer);
        snprintf(err, errlen, "%s: certificate %d (%s) did not issue certificate %d (issuer %s): put your own "
                 "certificate first, then each issuer in turn, as in fullchain.pem", path, i + 1, subject, i, issuer);
        return -1;
    }
    return 0;
}

int tls_check_files(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    char *cert = NULL, *key = NULL, why[128];
    int rc = -1, n = 0;
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    long clen = read_text(cert_path, &cert, err, errlen);
    if (clen < 0 || (n = check_cert_blocks(cert_path, cert, err, errlen)) < 0)
        goto out;
    long klen = read_text(key_path, &key, err, errlen);
    if (klen < 0 || check_key_blocks(key_path, key, err, errlen) < 0)
        goto out;
    int e = mbedtls_x509_crt_parse(&crt, (const unsigned char *)cert, (size_t)clen + 1);
    if (e < 0) {
        mbedtls_strerror(e, why, sizeof why);
        snprintf(err, errlen, "%s: not a usable certificate: %s", cert_path, why);
        goto out;
    }
    if (e > 0) {
        snprintf(err, errlen, "%s: %d of its %d certificates do not parse", cert_path, e, n);
        goto out;
    }
    if (check_chain_order(cert_path, &crt, err, errlen) < 0)
        goto out;
    e = mbedtls_pk_parse_key(&pk, (const unsigned char *)key, (size_t)klen + 1, NULL, 0);
    if (e) {
        mbedtls_strerror(e, why, sizeof why);
        snprintf(err, errlen, "%s: not a usable private key: %s", key_path, why);
        goto out;
    }
    if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0) {
        snprintf(err, errlen, "%s does not match the first certificate in %s (the leaf, your own, must come first)",
                 key_path, cert_path);
        goto out;
    }
    rc = n;
out:
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&crt);
    free(cert);
    free(key);
    return rc;
}

int tls_ssl_ctx_load(void *ssl_ctx, const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    char *cert = NULL, *key = NULL;
    int rc = -1;
    if (read_text(cert_path, &cert, err, errlen) < 0 || read_text(key_path, &key, err, errlen) < 0)
        goto out;
    /* From the first block: text before it (comments, "Bag Attributes")
     * must not be taken for DER. */
    const char *c = strstr(cert, "-----BEGIN "), *k = strstr(key, "-----BEGIN ");
    if (!c || !k) {
        snprintf(err, errlen, "%s: no PEM block", c ? key_path : cert_path);
        goto out;
    }
    if (SSL_CTX_use_certificate_ASN1(ssl_ctx, (int)strlen(c), (const unsigned char *)c) != 1) {
        snprintf(err, errlen, "%s: the TLS library did not take the certificate chain", cert_path);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_ASN1(0, ssl_ctx, (const unsigned char *)k, (long)strlen(k)) != 1) {
        snprintf(err, errlen, "%s: the TLS library did not take the private key", key_path);
        goto out;
    }
    rc = 0;
out:
    if (key)
        memset(key, 0, strlen(key));
    free(cert);
    free(key);
    return rc;
}
