/* wsclient: see wsclient.h. RFC 6455 framing, client side. */
#include "wsclient.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct tls_state {
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_context entropy;
    mbedtls_x509_crt ca;
} tls_state;

static const char *g_tls_ca;

void wsc_use_tls(const char *ca_path)
{
    g_tls_ca = ca_path;
}

int wsc_tls_enabled(void)
{
    return g_tls_ca != NULL;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
    return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);
    return n < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)n;
}

static void tls_free(wsc *c)
{
    tls_state *t = c->tls;
    if (!t)
        return;
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    mbedtls_x509_crt_free(&t->ca);
    free(t);
    c->tls = NULL;
}

static int tls_start(wsc *c, char *err, size_t errlen)
{
    tls_state *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    c->tls = t;
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_entropy_init(&t->entropy);
    mbedtls_x509_crt_init(&t->ca);
    int e = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, NULL, 0);
    if (!e)
        e = mbedtls_x509_crt_parse_file(&t->ca, g_tls_ca);
    if (!e)
        e = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT);
    if (!e) {
        mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
        mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
        e = mbedtls_ssl_setup(&t->ssl, &t->conf);
    }
    if (!e)
        e = mbedtls_ssl_set_hostname(&t->ssl, "localhost");
    if (!e) {
        mbedtls_ssl_set_bio(&t->ssl, &c->fd, bio_send, bio_recv, NULL);
        while ((e = mbedtls_ssl_handshake(&t->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
               e == MBEDTLS_ERR_SSL_WANT_WRITE) {
        }
    }
    if (e) {
        char why[128];
        mbedtls_strerror(e, why, sizeof why);
        snprintf(err, errlen, "tls: %s", why);
        return -1;
    }
    return 0;
}

static int write_all(wsc *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len && c->tls) {
        int n = mbedtls_ssl_write(&((tls_state *)c->tls)->ssl, p, len);
        if (n == MBEDTLS_ERR_SSL_WANT_WRITE || n == MBEDTLS_ERR_SSL_WANT_READ)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads more bytes into c->buf, waiting at most timeout_ms.
 * Returns bytes read, 0 on timeout, -1 on EOF or error. */
static int fill(wsc *c, int timeout_ms)
{
    if (c->len == sizeof c->buf)
        return -1;
    tls_state *t = c->tls;
    if (!t || mbedtls_ssl_get_bytes_avail(&t->ssl) == 0) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int r = poll(&pfd, 1, timeout_ms);
        if (r == 0)
            return 0;
        if (r < 0)
            return errno == EINTR ? 0 : -1;
    }
    if (t) {
        int n = mbedtls_ssl_read(&t->ssl, c->buf + c->len, sizeof c->buf - c->len);
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            return 0;
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
        return n;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return (int)n;
}

int wsc_fill(wsc *c, int timeout_ms)
{
    return fill(c, timeout_ms);
}

int wsc_write(wsc *c, const void *data, size_t len)
{
    return write_all(c, data, len);
}

int wsc_open(wsc *c, const char *host, int port, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "connect: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return g_tls_ca ? tls_start(c, err, errlen) : 0;
}

int wsc_connect(wsc *c, const char *host, int port, const char *subprotocol, char *err, size_t errlen)
{
    return wsc_connect_h(c, host, port, subprotocol, NULL, err, errlen);
}

int wsc_connect_h(wsc *c, const char *host, int port, const char *subprotocol, const char *headers,
                  char *err, size_t errlen)
{
    if (wsc_open(c, host, port, err, errlen) < 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "%s%s%s%s\r\n",
                     host, port, subprotocol ? "Sec-WebSocket-Protocol: " : "",
                     subprotocol ? subprotocol : "", subprotocol ? "\r\n" : "", headers ? headers : "");
    if (write_all(c, req, (size_t)n) < 0) {
        snprintf(err, errlen, "send handshake failed");
        return -1;
    }
    for (;;) {
        c->buf[c->len] = 0;
        char *end = c->len ? strstr((char *)c->buf, "\r\n\r\n") : NULL;
        if (end) {
            size_t hdr = (size_t)(end + 4 - (char *)c->buf);
            if (strncmp((char *)c->buf, "HTTP/1.1 101", 12) != 0) {
                char *eol = strstr((char *)c->buf, "\r\n");
                snprintf(err, errlen, "%.*s", (int)(eol - (char *)c->buf), (char *)c->buf);
                return -1;
            }
            memmove(c->buf, c->buf + hdr, c->len - hdr);
            c->len -= hdr;
            return 0;
        }
        if (fill(c, 5000) <= 0) {
            snprintf(err, errlen, "no handshake reply");
            return -1;
        }
    }
}

int wsc_send_frame(wsc *c, int opcode, int fin, const void *data, size_t len)
{
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        hdr[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(hdr + h, mask, 4);
    h += 4;
    uint8_t *frame = malloc(h + len);
    if (!frame)
        return -1;
    memcpy(frame, hdr, h);
    for (size_t i = 0; i < len; i++)
        frame[h + i] = ((const uint8_t *)data)[i] ^ mask[i & 3];
    int rc = write_all(c, frame, h + len);
    free(frame);
    return rc;
}

int wsc_send(wsc *c, int opcode, const void *data, size_t len)
{
    return wsc_send_frame(c, opcode, 1, data, len);
}

int wsc_frame_take(wsc *c, int *opcode, uint8_t *payload, size_t cap, size_t *len)
{
    if (c->len < 2)
        return 0;
    uint64_t plen = c->buf[1] & 0x7f;
    size_t h = 2;
    if (plen == 126) {
        if (c->len < 4)
            return 0;
        plen = (uint64_t)c->buf[2] << 8 | c->buf[3];
        h = 4;
    } else if (plen == 127) {
        if (c->len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | c->buf[2 + i];
        h = 10;
    }
    if (c->len < h + plen)
        return 0;
    *opcode = c->buf[0] & 0x0f;
    *len = plen < cap ? (size_t)plen : cap;
    memcpy(payload, c->buf + h, *len);
    memmove(c->buf, c->buf + h + plen, c->len - h - (size_t)plen);
    c->len -= h + (size_t)plen;
    return 1;
}

int wsc_recv(wsc *c, uint8_t *out, size_t cap, size_t *len, int timeout_ms)
{
    static uint8_t control[WSC_CONTROL_MAX];
    for (;;) {
        int opcode;
        size_t n;
        /* A control frame is taken into its own buffer first: out may be
         * too small for the close reason, and a ping is answered whole. */
        if (c->len >= 1 && (c->buf[0] & 0x08) ? wsc_frame_take(c, &opcode, control, sizeof control, &n)
                                              : wsc_frame_take(c, &opcode, out, cap, &n)) {
            if (opcode == WS_PING) {
                wsc_send(c, WS_PONG, control, n);
            } else if (opcode == WS_CLOSE) {
                c->close_code = n >= 2 ? (uint16_t)(control[0] << 8 | control[1]) : 1005;
                size_t rl = n > 2 ? n - 2 : 0;
                if (rl >= sizeof c->close_reason)
                    rl = sizeof c->close_reason - 1;
                memcpy(c->close_reason, control + 2, rl);
                c->close_reason[rl] = '\0';
                return WS_CLOSE;
            } else if (opcode != WS_PONG) {
                *len = n;
                return opcode;
            }
            continue;
        }
        int r = fill(c, timeout_ms);
        if (r == 0)
            return 0;
        if (r < 0)
            return -1;
    }
}

void wsc_close(wsc *c)
{
    tls_free(c);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
