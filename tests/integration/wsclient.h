/* wsclient: a minimal blocking WebSocket client over a plain TCP socket,
 * for integration tests. Unlike a full client library it will happily send
 * what a well-behaved client never would (text frames, oversized or
 * truncated messages, raw bytes), which is what the bad-input tests need. */
#ifndef TW_WSCLIENT_H
#define TW_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>

enum { WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };
#define WSC_CONTROL_MAX 125 /* a control frame's payload */

typedef struct wsc {
    int fd;
    void *tls;               /* TLS session when wsc_use_tls() was called */
    uint8_t buf[1 << 16];
    size_t len;
    uint16_t close_code;     /* from the server's close frame, 0 none */
    char close_reason[124];
} wsc;

/* From now on every connection of this process speaks TLS, trusting the
 * PEM certificate at ca_path (the test's self-signed one). */
void wsc_use_tls(const char *ca_path);
int wsc_tls_enabled(void);
/* TCP (and TLS) connect without the WebSocket handshake, for plain HTTP. */
int wsc_open(wsc *c, const char *host, int port, char *err, size_t errlen);
int wsc_write(wsc *c, const void *data, size_t len);
/* Reads what arrives into c->buf within timeout_ms: bytes, 0 timeout, -1 EOF. */
int wsc_fill(wsc *c, int timeout_ms);

/* Connects and completes the handshake with `subprotocol` (NULL: none).
 * Returns 0, or -1 with the HTTP status line in err. */
int wsc_connect(wsc *c, const char *host, int port, const char *subprotocol, char *err, size_t errlen);
/* The same with extra request header lines ("Name: value\r\n"...). */
int wsc_connect_h(wsc *c, const char *host, int port, const char *subprotocol, const char *headers,
                  char *err, size_t errlen);
/* Sends one masked frame with FIN set. Returns 0 or -1. */
int wsc_send(wsc *c, int opcode, const void *data, size_t len);
/* Sends one frame without FIN (a first fragment) or a continuation. */
int wsc_send_frame(wsc *c, int opcode, int fin, const void *data, size_t len);
/* Receives one data message (answers pings). Returns its opcode, 0 on
 * timeout, WS_CLOSE when the server closed (close_code is set), -1 when
 * the connection dropped without a close frame. */
int wsc_recv(wsc *c, uint8_t *out, size_t cap, size_t *len, int timeout_ms);
/* Takes the whole frame at the front of what was read, of any kind (pongs
 * too): its opcode, and its payload into payload (cut at cap). 1, or 0
 * when no whole frame is there yet (wsc_fill reads more). */
int wsc_frame_take(wsc *c, int *opcode, uint8_t *payload, size_t cap, size_t *len);
void wsc_close(wsc *c);

#endif
