/* handshake: the server's checks on a WebSocket opening handshake (RFC 6455
 * section 4.2.1), made on the request's method, HTTP version and header
 * values before the server answers 101. A request that fails one is
 * refused with the status section 4.2.2 prescribes: 426 Upgrade Required
 * plus `Sec-WebSocket-Version: 13` for a version the server does not speak
 * (section 4.4), 400 Bad Request for everything else, and a one-line body
 * that names what was wrong.
 *
 * What it does not do: read sockets or headers (the adapter, http.c, copies
 * the values out of libwebsockets and sends the refusal), decide who may
 * connect (admission.h: origin 403, connection caps 503), or compute
 * Sec-WebSocket-Accept (libwebsockets answers the 101). Pure and O(length
 * of the headers); no allocation. */
#ifndef TW_HANDSHAKE_H
#define TW_HANDSHAKE_H

#include <stddef.h>

#include "metrics.h"

#define HANDSHAKE_WS_VERSION "13" /* the only Sec-WebSocket-Version the server speaks */

/* The request as received. Header values are NUL-terminated, without the
 * header name; NULL or "" when the header is absent, or present but too
 * long for the adapter to copy (either way the check refuses it).
 * Repeated headers arrive joined with commas, as HTTP allows for lists. */
typedef struct handshake_request {
    const char *method;        /* "GET", "POST", ... (case-sensitive, RFC 7230) */
    const char *http_version;  /* from the request line: "HTTP/1.1" */
    const char *host;          /* Host */
    const char *upgrade;       /* Upgrade */
    const char *connection;    /* Connection */
    const char *key;           /* Sec-WebSocket-Key */
    const char *version;       /* Sec-WebSocket-Version */
    const char *protocols;     /* Sec-WebSocket-Protocol: the client's offers, in its order of preference */
} handshake_request;

/* Whether the server's WebSocket stack would bind an offered subprotocol
 * `name` (libwebsockets binds the first offer that names any protocol of
 * the vhost, including its internal ones). */
typedef int (*handshake_known_fn)(void *user, const char *name);

typedef struct handshake_config {
    const char *subprotocol;   /* the one the game speaks: PROTO_SUBPROTOCOL; required */
    handshake_known_fn known;  /* NULL: only `subprotocol` is known */
    void *known_user;
} handshake_config;

enum { HANDSHAKE_OK = -1 };

/* HANDSHAKE_OK, or the first reason (a metrics_refused REF_*) the request
 * is refused, checked in the order of RFC 6455 section 4.2.1: REF_METHOD
 * (not GET), REF_HTTP_VERSION (below HTTP/1.1), REF_HOST (no Host),
 * REF_UPGRADE (Upgrade lacks the token "websocket", case-insensitive),
 * REF_CONNECTION (Connection lacks the token "Upgrade", case-insensitive),
 * REF_KEY (Sec-WebSocket-Key is not the base64 of exactly 16 bytes),
 * REF_WS_VERSION (Sec-WebSocket-Version is not 13), REF_SUBPROTOCOL (the
 * subprotocol the server would select from the offers is not
 * cfg->subprotocol; section 4.2.2 lets a server select none, but this one
 * serves only its game protocol). */
int handshake_check(const handshake_request *r, const handshake_config *cfg);

/* Whether a request that did not ask to upgrade to websocket still carries
 * the WebSocket handshake's own headers (Sec-WebSocket-Key or
 * Sec-WebSocket-Version): a failed handshake to refuse, not a page to
 * serve. */
int handshake_attempted(const handshake_request *r);

/* The request's value a refusal is about (the method, the version, the
 * header's value; "" when absent), for the log line. */
const char *handshake_value(const handshake_request *r, int reason);

/* The HTTP status for a refusal: 426 for REF_WS_VERSION, else 400. */
int handshake_status(int reason);

/* The refusal's body for people and logs: one line, newline-terminated,
 * naming what is wrong and what the server wants (for REF_SUBPROTOCOL,
 * `subprotocol`). Written NUL-terminated into buf, cut at cap; returns its
 * length. */
size_t handshake_body(int reason, const char *subprotocol, char *buf, size_t cap);

#endif
