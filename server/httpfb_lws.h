/* httpfb_lws: the HTTP fallback's libwebsockets side (docs/PROTOCOL.md
 * section 18), a second adapter onto the core beside net.c's WebSocket
 * one. It answers /tw/probe, /tw/session, /tw/stream, /tw/poll and
 * /tw/input, turns them into core events (open, bytes, peer close,
 * writable, closed) on a session of httpfb.h's table and carries out the
 * core's actions for those sessions (wake, close with a CLOSE frame,
 * abort). No session rule lives here. */
#ifndef TW_HTTPFB_LWS_H
#define TW_HTTPFB_LWS_H

#include <libwebsockets.h>

#include "core.h"
#include "httpfb.h"

#define HTTPFB_LWS_PASS 0x7ffffff /* not a /tw/ callback: http.c goes on */

typedef struct httpfb_req httpfb_req;

/* Whether the request on wsi is under /tw/ (its body is judged here, not
 * by http.c's body rule). */
int httpfb_lws_path(struct lws *wsi);
/* LWS_CALLBACK_HTTP for a path under /tw/; *req is the connection's
 * request state (allocated here, kept across its keep-alive requests). */
int httpfb_lws_request(struct lws *wsi, httpfb_req **req);
/* Any other callback on a connection with request state: its return
 * value, or HTTPFB_LWS_PASS when the callback is not the fallback's. */
int httpfb_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, httpfb_req **req, void *in, size_t len);

/* A core action whose transport is session s (net.c's flush). */
void httpfb_lws_action(httpfb *t, httpfb_session *s, const core_action *a);
/* Ends what is due (attach deadline, poll gap, aborted sessions) and owes
 * keepalives; every few ticks. The caller flushes the core's actions. */
void httpfb_lws_service(httpfb *t, core *c, int64_t now_us);
/* Shutting down (after core_shutdown): sessions with no stream or held
 * poll to carry their CLOSE frame are ended now, so the shutdown does not
 * wait for polls that will not come. The caller flushes. */
void httpfb_lws_shutdown(httpfb *t, core *c, int64_t now_us);

/* net.c's, for this file. */
httpfb *net_httpfb_of(struct lws *wsi);
void net_flush(struct lws *wsi);
int net_client_sndbuf(struct lws *wsi);

#endif
