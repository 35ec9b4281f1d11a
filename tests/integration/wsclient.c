/* wsclient: see wsclient.h. RFC 6455 framing, client side. */
#include "wsclient.h"

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

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
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
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms);
    if (r == 0)
        return 0;
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return (int)n;
}

int wsc_connect(wsc *c, const char *host, int port, const char *subprotocol, char *err, size_t errlen)
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
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "%s%s%s\r\n",
                     host, port, subprotocol ? "Sec-WebSocket-Protocol: " : "",
                     subprotocol ? subprotocol : "", subprotocol ? "\r\n" : "");
    if (write_all(c->fd, req, (size_t)n) < 0) {
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
    int rc = write_all(c->fd, frame, h + len);
    free(frame);
    return rc;
}

int wsc_send(wsc *c, int opcode, const void *data, size_t len)
{
    return wsc_send_frame(c, opcode, 1, data, len);
}

int wsc_recv(wsc *c, uint8_t *out, size_t cap, size_t *len, int timeout_ms)
{
    for (;;) {
        /* A complete unmasked frame at the front of the buffer? */
        if (c->len >= 2) {
            int opcode = c->buf[0] & 0x0f;
            uint64_t plen = c->buf[1] & 0x7f;
            size_t h = 2;
            if (plen == 126 && c->len >= 4) {
                plen = (uint64_t)c->buf[2] << 8 | c->buf[3];
                h = 4;
            } else if (plen == 127 && c->len >= 10) {
                plen = 0;
                for (int i = 0; i < 8; i++)
                    plen = plen << 8 | c->buf[2 + i];
                h = 10;
            } else if (plen >= 126) {
                h = 0;
            }
            if (h && c->len >= h + plen) {
                const uint8_t *payload = c->buf + h;
                int result = -2;
                if (opcode == WS_PING) {
                    wsc_send(c, WS_PONG, payload, (size_t)plen);
                } else if (opcode == WS_CLOSE) {
                    c->close_code = plen >= 2 ? (uint16_t)(payload[0] << 8 | payload[1]) : 1005;
                    size_t rl = plen > 2 ? (size_t)plen - 2 : 0;
                    if (rl >= sizeof c->close_reason)
                        rl = sizeof c->close_reason - 1;
                    memcpy(c->close_reason, payload + 2, rl);
                    c->close_reason[rl] = '\0';
                    result = WS_CLOSE;
                } else if (opcode != WS_PONG) {
                    size_t n = plen < cap ? (size_t)plen : cap;
                    memcpy(out, payload, n);
                    *len = n;
                    result = opcode;
                }
                memmove(c->buf, c->buf + h + plen, c->len - h - (size_t)plen);
                c->len -= h + (size_t)plen;
                if (result != -2)
                    return result;
                continue;
            }
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
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
