/* http: small HTTP/1.1 requests on the bots' own lws client context, so
 * they never block the event loop: the demo server's POST /api/join for
 * join tokens (one per bot and fresh join) and GET /metrics. Over wss://
 * the same TLS settings as the game connections apply.
 *
 * One request per connection ("connection: close"), with a cap on the
 * body. The callback runs exactly once, from the service loop, unless the
 * request is cancelled first; after it the request is gone. */
#ifndef TW_BOTS_HTTP_H
#define TW_BOTS_HTTP_H

#include <stddef.h>

#include <libwebsockets.h>

#define HTTP_PROTOCOL_NAME "tw-bots-http"

typedef struct http_target {
    struct lws_context *ctx;
    const char *address;      /* numeric */
    int port;
    const char *host_header;  /* "host:port"; over TLS also SNI and the certificate name */
    int ssl_flags;            /* 0, or LCCSCF_USE_SSL | ... */
    const char *bearer;       /* sent as "Authorization: Bearer ..." when set (the matchmaker's token) */
} http_target;

/* status: the HTTP status, 0 when there was no answer (err then says why;
 * connect_failed is set when not even the connection came up). body is
 * NUL-terminated and valid during the call only. */
typedef void (*http_done_fn)(void *arg, int status, const char *body, size_t len, const char *err,
                             int connect_failed);

typedef struct http_req http_req;

/* Starts a request. NULL when it could not even be started (err says why;
 * the callback is not called). */
http_req *http_start(const http_target *t, const char *method, const char *path, size_t max_body, http_done_fn cb,
                     void *arg, char *err, size_t errlen);
/* The callback will not be called; the connection is closed. */
void http_cancel(http_req *r);

/* The lws protocol entry the context must carry. lws sends WSI_DESTROY
 * to the vhost's first protocol whatever the wsi's own is: that callback
 * must pass it on here when http_is_req(user). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* 1 when lws user data `user` is a request of this module. */
int http_is_req(const void *user);

#endif
