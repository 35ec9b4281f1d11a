/* ws_native: the server's own WebSocket connections, on their own epoll
 * set: a second adapter of the core (core.h), beside libwebsockets.
 *
 * libwebsockets accepts every connection, serves HTTP and answers the
 * upgrade (every handshake rule stays in http.c); a plaintext game
 * connection is then taken out of lws (lws_take_socket, a patch) and
 * handed here, where each message costs one read or one write and the
 * framing (ws_frame.h), with no per-message callbacks, wsi or buffer
 * lists. TLS connections, and any connection lws cannot hand over whole,
 * stay on lws.
 *
 * The set's epoll fd is one more descriptor in lws' loop (adopted by the
 * caller as a raw file): when it is readable, ws_native_service reads and
 * writes what is ready. A WAKE queues the connection, and the adapter's
 * next pass writes the queue (ws_native_write): one core_conn_writable
 * and one send for each, outside the tick's time; when the kernel takes only
 * part, the rest is kept (one message at most per connection), the
 * connection waits for EPOLLOUT, and a WAKE meanwhile is remembered and
 * served with the newest message once the rest is out ("latest wins", as
 * with lws' writable callbacks). The core's stall rule sees such a
 * connection as choked, as before.
 *
 * Closing: CLOSE sends a close frame (after what is pending), waits for
 * the peer's close up to ws_native_create's grace, then hangs up; ABORT
 * hangs up. A peer's close frame is answered with one and hung up; a
 * protocol violation gets 1002. A connection is only torn down (fd closed,
 * core_conn_closed, core_accept_closed) by ws_native_reap, outside any
 * read loop, so no callback ever sees a connection vanish under it.
 *
 * Costs: per connection a slot of about 220 bytes from a pool of fixed
 * size; no allocation per message (a partial write keeps its rest in a
 * malloc'd buffer, freed once sent). Single-threaded. */
#ifndef TW_WS_NATIVE_H
#define TW_WS_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "httpfb.h"

typedef struct ws_native ws_native;

typedef struct ws_native_config {
    core *core;
    int max_conns;           /* pool size: the connection cap */
    int sndbuf;              /* SO_SNDBUF of each connection; 0: the kernel's */
    int64_t close_grace_us;  /* after a close frame, before hanging up */
    httpfb_stats *stats;     /* per-transport counters (WebSocket row); may be NULL */
    void (*flush)(void *user); /* drain the core's actions: after every core call */
    int64_t (*now)(void);    /* the clock the core is given (tick_clock_now) */
    void *flush_user;
} ws_native_config;

/* NULL with a message in err. */
ws_native *ws_native_create(const ws_native_config *cfg, char *err, size_t errlen);
/* Closes every connection left (the core is told) and frees the set. The
 * epoll fd is not closed: whoever adopted it (lws) closes it. */
void ws_native_destroy(ws_native *w, int64_t now_us);
/* The epoll fd: readable when a connection has something to do. */
int ws_native_fd(const ws_native *w);

/* Takes an upgraded game connection's socket: opens its session in the
 * core (core_conn_open, with the connection as the transport) and counts
 * its accept handle as its own (given back when it is reaped). Returns 0;
 * -1 when it could not (the pool is full, epoll refused, or the core had
 * no session): then the fd is closed, the accept handle given back, and
 * the reason logged. */
int ws_native_adopt(ws_native *w, int fd, uint32_t accepted, const char *peer, const char *ip, int64_t now_us);
/* Whether a core action's transport is one of these connections. O(1). */
int ws_native_owns(const ws_native *w, const void *transport);
/* The core's actions for one of these connections. A WAKE queues the
 * connection; ws_native_write writes the queue. */
void ws_native_wake(ws_native *w, void *transport);
void ws_native_close(ws_native *w, void *transport, uint16_t code, const char *reason, int64_t now_us);
void ws_native_abort(ws_native *w, void *transport);

/* Writes one message (core_conn_writable) to each connection woken since
 * the last call, and to those the writes wake; flushes the core's actions.
 * The adapter calls it once per pass (after the tick: the snapshots), so
 * the tick itself does no I/O. Returns the connections written. */
int ws_native_write(ws_native *w, int64_t now_us);
/* Reads and writes what is ready, until nothing is or `until_us` (the
 * rest stays ready for the next call). Returns the events handled. */
int ws_native_service(ws_native *w, int64_t now_us, int64_t until_us);
/* Hangs up connections whose close grace is over; then ws_native_reap. */
void ws_native_tick(ws_native *w, int64_t now_us);
/* Tears down the connections that ended: closes their fds and tells the
 * core (core_conn_closed, core_accept_closed); the caller flushes the
 * core's actions after. Does nothing inside ws_native_service. Returns
 * how many were torn down. now_us 0: the clock is read if needed. */
int ws_native_reap(ws_native *w, int64_t now_us);
/* Connections open. */
int ws_native_count(const ws_native *w);

#endif
