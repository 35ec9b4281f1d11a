/* sdk_http: one small HTTP/1.1 request at a time to a port on 127.0.0.1
 * (the Agones SDK sidecar), without blocking: sdk_http_start opens a
 * non-blocking connection, sdk_http_poll moves it along whenever the
 * caller's loop comes by (the server calls it every tick) and says when
 * the answer is in. "Connection: close", a body of at most
 * SDK_HTTP_MAX_ANSWER bytes kept, SDK_HTTP_TIMEOUT_US for the whole
 * exchange. Not a general HTTP client: no TLS, no redirects, no chunked
 * bodies kept (the status line is what counts). */
#ifndef TW_SDK_HTTP_H
#define TW_SDK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define SDK_HTTP_MAX_ANSWER 4096
#define SDK_HTTP_TIMEOUT_US 2000000

typedef struct sdk_http {
    int fd;               /* -1: idle */
    int port;
    int64_t deadline_us;
    size_t req_len, req_sent;
    char req[512];
    size_t ans_len;
    char ans[SDK_HTTP_MAX_ANSWER + 1];
} sdk_http;

void sdk_http_init(sdk_http *h, int port);
/* Starts METHOD PATH with body (may be NULL: none). Returns 0, or -1 when
 * the connection cannot even be opened (then nothing is in flight). */
int sdk_http_start(sdk_http *h, const char *method, const char *path, const char *body, int64_t now_us);
/* Returns 0 while the exchange goes on; else it is over and the result is
 * the HTTP status (> 0), or -1 for a failure (refused, reset, timeout, no
 * status line). The answer (headers and body) is in h->ans. */
int sdk_http_poll(sdk_http *h, int64_t now_us);
/* The answer's body (after the blank line), "" when none. */
const char *sdk_http_body(const sdk_http *h);
void sdk_http_close(sdk_http *h);

#endif
