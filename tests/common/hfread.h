/* hfread: the client side of the HTTP fallback (docs/PROTOCOL.md section
 * 18) without sockets: an HTTP/1.1 response reader fed bytes as they come
 * (status, Content-Length or chunked body, Connection: close), and a frame
 * reassembler (kind u8 | length u16 LE | payload) for the bodies. The
 * integration tests drive it over blocking sockets, the bots over
 * non-blocking ones. Not for: requests (a client writes its own few lines),
 * TLS, HTTP/2, trailers with content. */
#ifndef TW_TEST_HFREAD_H
#define TW_TEST_HFREAD_H

#include <stddef.h>
#include <stdint.h>

#define HFREAD_HEAD_MAX 4096

typedef void (*hfread_body_fn)(void *user, const uint8_t *data, size_t len);

typedef struct hfread {
    int state;
    char head[HFREAD_HEAD_MAX];
    size_t head_len;
    int status;             /* once the head is in */
    int chunked;
    int conn_close;
    long long length;       /* Content-Length, -1: none */
    long long left;         /* of the body or the current chunk */
    char line[24];
    size_t line_len;
} hfread;

/* Ready for a response (also between the responses of a keep-alive
 * connection). */
void hfread_reset(hfread *r);
/* Feeds bytes; body bytes go to fn as they come. *used gets the bytes
 * taken (the rest belong to the next response). Returns 1 when the
 * response is complete (a body up to the close: never, see hfread_eof),
 * 0 when more is needed, -1 when it is not HTTP/1.1 as this reader knows
 * it. */
int hfread_feed(hfread *r, const uint8_t *in, size_t len, size_t *used, hfread_body_fn fn, void *user);
/* The connection closed: 1 when that completed the response (no length,
 * no chunking), 0 when it was cut short. */
int hfread_eof(const hfread *r);
/* A header of the head, NULL when absent (name without the colon, any case). */
const char *hfread_header(const hfread *r, const char *name, char *out, size_t cap);

typedef void (*hfread_frame_fn)(void *user, int kind, const uint8_t *payload, size_t len);

typedef struct hfframes {
    uint8_t buf[3 + 65535];
    size_t len;
} hfframes;

/* Appends body bytes and hands over every frame completed. */
void hfframes_feed(hfframes *f, const uint8_t *in, size_t len, hfread_frame_fn fn, void *user);

#endif
