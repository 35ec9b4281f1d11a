/* tls: see tls.h. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* Reads up to cap-1 bytes; returns length or -1 with err set. */
static long read_small(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    int failed = ferror(f), big = !feof(f);
    int e = errno;
    fclose(f);
    if (failed) { /* e.g. a directory: "Is a directory" */
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -1;
    }
    if (big) {
        snprintf(err, errlen, "%s: larger than %zu bytes, not a single PEM block", path, cap - 1);
        return -1;
    }
    buf[n] = '\0';
    return (long)n;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The PEM shapes lws 4.1.6 + mbedTLS cannot load, named plainly. */
static int check_pem_shape(const char *path, const char *text, const char *what, char *err, size_t errlen)
{
    if (!strstr(text, "-----BEGIN ")) {
        snprintf(err, errlen, "%s: not a PEM file (no -----BEGIN line); expected a %s", path, what);
        return -1;
    }
    if (strstr(text, "ENCRYPTED")) {
        snprintf(err, errlen, "%s: encrypted keys are not supported; write it unencrypted (openssl pkcs8 -nocrypt)", path);
        return -1;
    }
    if (strstr(text, "EC PARAMETERS")) {
        snprintf(err, errlen, "%s: has an EC PARAMETERS block, which mbedTLS here cannot load; keep only the key block", path);
        return -1;
    }
    if (count(text, "-----BEGIN ") > 1) {
        snprintf(err, errlen, "%s: has %d PEM blocks; one %s per file is supported (no chains)", path,
                 count(text, "-----BEGIN "), what);
        return -1;
    }
    return 0;
}

int tls_check_files(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    char text[16384], why[128];
    if (read_small(cert_path, text, sizeof text, err, errlen) < 0 ||
        check_pem_shape(cert_path, text, "certificate", err, errlen) < 0 ||
        read_small(key_path, text, sizeof text, err, errlen) < 0 ||
        check_pem_shape(key_path, text, "private key", err, errlen) < 0)
        return -1;

    int rc = -1;
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    int e = mbedtls_x509_crt_parse_file(&crt, cert_path);
    if (e) {
        mbedtls_strerror(e, why, sizeof why);
        snprintf(err, errlen, "%s: not a usable certificate: %s", cert_path, why);
        goto out;
    }
    e = mbedtls_pk_parse_keyfile(&pk, key_path, NULL);
    if (e) {
        mbedtls_strerror(e, why, sizeof why);
        snprintf(err, errlen, "%s: not a usable private key: %s", key_path, why);
        goto out;
    }
    e = mbedtls_pk_check_pair(&crt.pk, &pk);
    if (e) {
        snprintf(err, errlen, "%s does not match the certificate %s", key_path, cert_path);
        goto out;
    }
    rc = 0;
out:
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&crt);
    return rc;
}
