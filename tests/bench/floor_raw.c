/* tickwire-floor-raw: the kernel floor of the benchmark. The same messages
 * as tickwire-floor (floor_server.c), the same sizes, the same tick clock
 * rules (server/tick_sched.c), the same flags and startup line, but no
 * libwebsockets: one thread, non-blocking sockets, one epoll loop, accept4,
 * a timerfd tick. What the real server costs over this is what our code
 * and lws cost over the unavoidable socket work; tickwire-floor over this
 * is what lws's loop costs.
 *
 * It speaks the minimum the bots and the tests need:
 *   HTTP/1.1  the WebSocket upgrade (RFC 6455 4.2: Upgrade, Connection,
 *             a 24-character key, version 13, our subprotocol offered;
 *             anything else is a 400 and a close), POST /api/join (a
 *             syntactically valid token the bots accept; nothing checks
 *             it; floor_join_body, as tickwire-floor answers), 404 for
 *             every other path (as tickwire-floor answers /metrics). Keep-alive unless the request says
 *             "Connection: close" or is HTTP/1.0. Pipelined requests are
 *             answered in order.
 *   frames    client frames must be masked; several per read and frames
 *             split across reads are fine; fragmented messages are
 *             reassembled up to PROTO_MAX_JOIN_MSG (before JOIN) or
 *             PROTO_MAX_CLIENT_MSG (1009 beyond, as tickwire-floor); ping
 *             -> pong, close -> close (the peer's code echoed), then the
 *             socket is closed. JOIN -> the floors' WELCOME, INPUT -> the
 *             newest seq (header only), anything else is ignored.
 *   ticks     every tick each joined client gets ONE snapshot of exactly
 *             --snapshot-bytes bytes: the shared prebuilt body, its header
 *             rewritten, the frame header in the same buffer: one send().
 *             Latest wins: a client whose previous message is not fully
 *             written skips the tick (counted); the rest goes on EPOLLOUT.
 *
 * --pacing on (the default, as the server): the loop sleeps on the timerfd
 * alone and then takes every ready socket in one epoll_wait(0) sweep
 * before the tick (paced_turn); --pacing off waits in epoll_wait for every
 * event.
 *
 * Level-triggered epoll: each readable event costs exactly one recv()
 * (edge-triggered would need a second recv() per event, to see EAGAIN,
 * before it could sleep), and EPOLLOUT is asked for only while a client
 * has an unwritten remainder, which at 64 KiB of SO_SNDBUF is rare, so
 * the level-triggered EPOLLOUT never spins and costs an epoll_ctl only
 * then. Accepted sockets get TCP_NODELAY (as lws sets on every socket)
 * and SO_SNDBUF 64 KiB (as server/net.c and tickwire-floor set). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "floor_common.h"
#include "proto.h"
#include "tick_sched.h"
#include "token.h" /* TOKEN_MAX_B64 */

#define NAME "tickwire-floor-raw"
#define RAW_SNDBUF_BYTES (64 * 1024)  /* as server/net.c */
#define RAW_RX_BYTES 2048             /* an HTTP request (head and body), or client frames */
#define RAW_MAX_BODY 1024             /* POST /api/join's ignored body */
#define RAW_MAX_EVENTS 256
#define WS_HDR_MAX 4                  /* our frames' payloads are < 65536 bytes */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define ID_LISTEN ((uint64_t)1 << 32)
#define ID_TIMER ((uint64_t)2 << 32)

enum { WS_OP_CONT = 0, WS_OP_TEXT = 1, WS_OP_BINARY = 2, WS_OP_CLOSE = 8, WS_OP_PING = 9, WS_OP_PONG = 10 };

typedef struct rconn {
    int fd;
    int ws;            /* upgraded: rx holds frames, not HTTP */
    int joined;
    int want_out;      /* EPOLLOUT is registered */
    int close_after;   /* close once tx is written */
    uint32_t last_seq; /* newest input seq received */
    int msg_op;        /* opcode of a fragmented message being reassembled, 0 none */
    size_t msg_len;
    size_t rx_len;
    uint8_t *tx;       /* the unwritten remainder, [tx_off, tx_len) */
    size_t tx_off, tx_len, tx_cap;
    uint8_t rx[RAW_RX_BYTES];
    uint8_t msg[PROTO_MAX_CLIENT_MSG];
} rconn;

typedef struct raw_floor {
    floor_opts opt;
    int lfd, tfd, ep;
    int spare_fd; /* /dev/null, given up to accept-and-close when out of fds */
    int entities;
    tick_sched sched;
    tick_stats tick_stats;
    uint32_t tick;
    rconn **conns; /* by fd */
    int conns_cap;
    int maxfd;
    uint64_t snapshots_out, snapshots_skipped, bytes_out, inputs_in, accepted, refused_fds;
    char token_body[TOKEN_MAX_B64 + 96];
    size_t token_body_len;
    size_t welcome_len, snap_len; /* framed, from welcome + welcome_off, snap + snap_off */
    size_t welcome_off, snap_off;
    uint8_t welcome[WS_HDR_MAX + PROTO_MAX_WELCOME];
    uint8_t snap[WS_HDR_MAX + PROTO_MAX_SNAPSHOT]; /* the header is rewritten per send */
} raw_floor;

static volatile sig_atomic_t g_stop;

/* ---- frames ---------------------------------------------------------------------- */

/* Writes a FIN frame header for `len` payload bytes right before payload
 * (which has WS_HDR_MAX bytes of room before it); returns its size. */
static size_t frame_prefix(uint8_t *payload, int opcode, size_t len)
{
    if (len < 126) {
        payload[-2] = (uint8_t)(0x80 | opcode);
        payload[-1] = (uint8_t)len;
        return 2;
    }
    payload[-4] = (uint8_t)(0x80 | opcode);
    payload[-3] = 126;
    payload[-2] = (uint8_t)(len >> 8);
    payload[-1] = (uint8_t)len;
    return 4;
}

/* ---- connections ------------------------------------------------------------------- */

static void conn_close(raw_floor *f, rconn *c)
{
    f->conns[c->fd] = NULL;
    close(c->fd); /* leaves the epoll set with it */
    free(c->tx);
    free(c);
}

static int conn_want_out(raw_floor *f, rconn *c, int on)
{
    if (c->want_out == on)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = (uint64_t)c->fd};
    c->want_out = on;
    return epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int conn_pending(const rconn *c)
{
    return c->tx_off < c->tx_len;
}

/* Keeps p[0..n) to be written on EPOLLOUT, after what is already kept. */
static int conn_keep(raw_floor *f, rconn *c, const uint8_t *p, size_t n)
{
    if (!conn_pending(c))
        c->tx_off = c->tx_len = 0;
    if (c->tx_len + n > c->tx_cap) {
        size_t cap = c->tx_len + n < 8192 ? 8192 : c->tx_len + n;
        uint8_t *t = realloc(c->tx, cap);
        if (!t)
            return -1;
        c->tx = t;
        c->tx_cap = cap;
    }
    memcpy(c->tx + c->tx_len, p, n);
    c->tx_len += n;
    return conn_want_out(f, c, 1);
}

/* One send() of a whole message; the remainder (if the kernel took part
 * of it) is kept for EPOLLOUT. A droppable message (a snapshot) is not
 * sent while an earlier one is unwritten, and not when the kernel takes
 * none of it. Returns 1 sent (maybe in part), 0 dropped, -1 the
 * connection is broken. */
static int conn_send(raw_floor *f, rconn *c, const uint8_t *p, size_t n, int droppable)
{
    if (conn_pending(c)) {
        if (droppable)
            return 0;
        return conn_keep(f, c, p, n) < 0 ? -1 : 1;
    }
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        if (droppable)
            return 0;
        w = 0;
    }
    if ((size_t)w < n && conn_keep(f, c, p + w, n - (size_t)w) < 0)
        return -1;
    return 1;
}

/* Writes the kept remainder (EPOLLOUT). Returns -1 when the connection is
 * to be closed. */
static int conn_flush(raw_floor *f, rconn *c)
{
    while (conn_pending(c)) {
        ssize_t w = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->tx_off += (size_t)w;
    }
    c->tx_off = c->tx_len = 0;
    if (c->close_after)
        return -1;
    return conn_want_out(f, c, 0) < 0 ? -1 : 0;
}

/* Sends a close frame with `code` and closes once it is written. */
static int conn_ws_close(raw_floor *f, rconn *c, const uint8_t *code2)
{
    uint8_t frame[WS_HDR_MAX + 2];
    size_t n = code2 ? 2 : 0;
    if (code2)
        memcpy(frame + WS_HDR_MAX, code2, 2);
    size_t h = frame_prefix(frame + WS_HDR_MAX, WS_OP_CLOSE, n);
    if (conn_send(f, c, frame + WS_HDR_MAX - h, h + n, 0) < 0)
        return -1;
    c->close_after = 1;
    return conn_pending(c) ? 0 : -1;
}

static int conn_ws_close_code(raw_floor *f, rconn *c, unsigned code)
{
    uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    return conn_ws_close(f, c, b);
}

/* ---- HTTP --------------------------------------------------------------------------- */

typedef struct http_req {
    const char *method, *path, *version;
    size_t method_len, path_len, version_len;
    const char *upgrade, *connection, *key, *ws_version, *protocol;
    size_t upgrade_len, connection_len, key_len, ws_version_len, protocol_len;
    long content_length;
} http_req;

static int eq_ci(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Whether the comma list v[0..len) holds `token` (any case). */
static int has_token(const char *v, size_t len, const char *token)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s && eq_ci(v + s, e - s, token))
            return 1;
    }
    return 0;
}

/* Parses the request head h[0..n) (ending in CRLF CRLF). 0, or -1 when it
 * is not HTTP. */
static int http_parse(const char *h, size_t n, http_req *r)
{
    memset(r, 0, sizeof *r);
    const char *end = h + n, *p = h;
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2)
        return -1;
    r->method = p, r->method_len = (size_t)(sp1 - p);
    r->path = sp1 + 1, r->path_len = (size_t)(sp2 - sp1 - 1);
    r->version = sp2 + 1, r->version_len = (size_t)(eol - sp2 - 1);
    for (p = eol + 2; p < end && *p != '\r'; p = eol + 2) {
        eol = memchr(p, '\r', (size_t)(end - p));
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon)
            return -1;
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(eol - v), nlen = (size_t)(colon - p);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (eq_ci(p, nlen, "upgrade"))
            r->upgrade = v, r->upgrade_len = vlen;
        else if (eq_ci(p, nlen, "connection"))
            r->connection = v, r->connection_len = vlen;
        else if (eq_ci(p, nlen, "sec-websocket-key"))
            r->key = v, r->key_len = vlen;
        else if (eq_ci(p, nlen, "sec-websocket-version"))
            r->ws_version = v, r->ws_version_len = vlen;
        else if (eq_ci(p, nlen, "sec-websocket-protocol"))
            r->protocol = v, r->protocol_len = vlen;
        else if (eq_ci(p, nlen, "content-length")) {
            r->content_length = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9' || r->content_length > RAW_MAX_BODY)
                    return -1;
                r->content_length = r->content_length * 10 + (v[i] - '0');
            }
        }
    }
    return 0;
}

/* Sends a complete HTTP answer; keep: leave the connection open. */
static int http_answer(raw_floor *f, rconn *c, const char *status, const char *type, const char *body, int keep)
{
    char buf[512];
    size_t blen = strlen(body);
    int n = snprintf(buf, sizeof buf, "HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n%s\r\n%s", status,
                     type, blen, keep ? "" : "connection: close\r\n", body);
    if (n < 0 || (size_t)n >= sizeof buf || conn_send(f, c, (const uint8_t *)buf, (size_t)n, 0) < 0)
        return -1;
    if (!keep) {
        c->close_after = 1;
        return conn_pending(c) ? 0 : -1;
    }
    return 0;
}

/* The 101 answer, or a 400 for a handshake we do not take. */
static int http_upgrade(raw_floor *f, rconn *c, const http_req *r)
{
    if (!eq_ci(r->method, r->method_len, "GET") || !has_token(r->connection, r->connection_len, "upgrade") ||
        r->key_len != 24 || !eq_ci(r->ws_version, r->ws_version_len, "13") ||
        !has_token(r->protocol, r->protocol_len, PROTO_SUBPROTOCOL))
        return http_answer(f, c, "400 Bad Request", "text/plain",
                           "bad WebSocket handshake: this floor speaks " PROTO_SUBPROTOCOL "\n", 0);
    uint8_t in[24 + sizeof WS_GUID - 1], sha[20];
    memcpy(in, r->key, 24);
    memcpy(in + 24, WS_GUID, sizeof WS_GUID - 1);
    if (mbedtls_sha1_ret(in, sizeof in, sha) != 0)
        return -1;
    unsigned char accept[32];
    size_t alen = 0;
    if (mbedtls_base64_encode(accept, sizeof accept, &alen, sha, sizeof sha) != 0)
        return -1;
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %.*s\r\nSec-WebSocket-Protocol: " PROTO_SUBPROTOCOL "\r\n\r\n",
                     (int)alen, (const char *)accept);
    if (n < 0 || (size_t)n >= sizeof buf || conn_send(f, c, (const uint8_t *)buf, (size_t)n, 0) < 0)
        return -1;
    c->ws = 1;
    return 0;
}

/* Answers the complete requests in rx. 0, or -1 to close. */
static int http_process(raw_floor *f, rconn *c, size_t *used)
{
    static const char END[] = "\r\n\r\n";
    *used = 0;
    while (!c->ws && !c->close_after) {
        const char *h = (const char *)c->rx + *used;
        size_t avail = c->rx_len - *used, head = 0;
        for (size_t i = 0; i + 4 <= avail; i++)
            if (memcmp(h + i, END, 4) == 0) {
                head = i + 4;
                break;
            }
        if (!head)
            return avail >= RAW_RX_BYTES ? -1 : 0; /* a head longer than rx: refuse */
        http_req r;
        if (http_parse(h, head, &r) < 0)
            return http_answer(f, c, "400 Bad Request", "text/plain", "bad request\n", 0);
        if (avail < head + (size_t)r.content_length)
            return 0; /* the body is still coming */
        *used += head + (size_t)r.content_length;
        int http11 = eq_ci(r.version, r.version_len, "HTTP/1.1");
        int keep = http11 ? !has_token(r.connection, r.connection_len, "close")
                          : has_token(r.connection, r.connection_len, "keep-alive");
        size_t plen = r.path_len;
        const char *q = memchr(r.path, '?', plen);
        if (q)
            plen = (size_t)(q - r.path);
        int rc;
        if (r.upgrade && has_token(r.upgrade, r.upgrade_len, "websocket"))
            rc = http_upgrade(f, c, &r);
        else if (eq_ci(r.method, r.method_len, "POST") && plen == 9 && memcmp(r.path, "/api/join", 9) == 0)
            rc = http_answer(f, c, "200 OK", "application/json", f->token_body, keep);
        else
            rc = http_answer(f, c, "404 Not Found", "text/plain", "not found\n", keep);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- WebSocket messages ---------------------------------------------------------------- */

static int on_message(raw_floor *f, rconn *c, const uint8_t *b, size_t n)
{
    switch (floor_msg_read(b, n, c->joined, &c->last_seq)) {
    case FLOOR_MSG_JOIN:
        c->joined = 1;
        return conn_send(f, c, f->welcome + f->welcome_off, f->welcome_len, 0) < 0 ? -1 : 0;
    case FLOOR_MSG_INPUT:
        f->inputs_in++;
        return 0;
    default:
        return 0;
    }
}

/* Acts on one whole (unmasked) frame. 0, or -1 to close. */
static int ws_frame(raw_floor *f, rconn *c, int op, int fin, uint8_t *pay, size_t n)
{
    switch (op) {
    case WS_OP_CLOSE:
        return conn_ws_close(f, c, n >= 2 ? pay : NULL); /* the peer's code echoed */
    case WS_OP_PING: {
        /* a pong with the ping's payload; its header goes over the mask */
        size_t fh = frame_prefix(pay, WS_OP_PONG, n);
        return conn_send(f, c, pay - fh, fh + n, 0) < 0 ? -1 : 0;
    }
    case WS_OP_PONG:
        return 0;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (c->msg_op)
            return conn_ws_close_code(f, c, 1002); /* a new message inside a fragmented one */
        if (fin)
            return on_message(f, c, pay, n);
        c->msg_op = op;
        memcpy(c->msg, pay, n);
        c->msg_len = n;
        return 0;
    case WS_OP_CONT:
        if (!c->msg_op)
            return conn_ws_close_code(f, c, 1002);
        memcpy(c->msg + c->msg_len, pay, n);
        c->msg_len += n;
        if (!fin)
            return 0;
        c->msg_op = 0;
        n = c->msg_len;
        c->msg_len = 0;
        return on_message(f, c, c->msg, n);
    default:
        return conn_ws_close_code(f, c, 1002);
    }
}

/* Handles the complete frames in rx from *used on (the limits checked
 * before a frame is whole, as tickwire-floor does). 0, or -1 to close. */
static int ws_process(raw_floor *f, rconn *c, size_t *used)
{
    while (!c->close_after) {
        uint8_t *p = c->rx + *used;
        size_t avail = c->rx_len - *used;
        if (avail < 2)
            return 0;
        int fin = p[0] & 0x80, op = p[0] & 0x0f;
        size_t len7 = p[1] & 0x7f, h = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
        if ((p[0] & 0x70) || !(p[1] & 0x80))
            return conn_ws_close_code(f, c, 1002); /* reserved bits, or an unmasked client frame */
        if (avail < h)
            return 0;
        uint64_t plen = len7;
        if (len7 == 126)
            plen = (uint64_t)p[2] << 8 | p[3];
        else if (len7 == 127)
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | p[2 + i];
        size_t limit = c->joined ? PROTO_MAX_CLIENT_MSG : PROTO_MAX_JOIN_MSG;
        if ((op & 8) && (!fin || plen > 125))
            return conn_ws_close_code(f, c, 1002);
        if (!(op & 8) && plen + c->msg_len > limit)
            return conn_ws_close_code(f, c, 1009); /* as tickwire-floor: message too large */
        if (avail < h + plen)
            return 0; /* the rest is still coming (rx holds any frame we take) */
        uint8_t *pay = p + h;
        for (size_t i = 0; i < plen; i++)
            pay[i] ^= p[h - 4 + (i & 3)];
        *used += h + (size_t)plen;
        if (ws_frame(f, c, op, fin, pay, (size_t)plen) < 0)
            return -1;
    }
    return 0;
}

/* One recv() per readable event (level-triggered). 0, or -1 to close. */
static int conn_read(raw_floor *f, rconn *c)
{
    if (c->close_after) {
        /* Our close (or last answer) is being written: drop what comes,
         * so a level-triggered EPOLLIN does not spin. */
        uint8_t sink[512];
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ? -1 : 0;
    }
    if (c->rx_len == sizeof c->rx)
        return -1; /* a request (head and body) or a frame larger than rx */
    ssize_t n = recv(c->fd, c->rx + c->rx_len, sizeof c->rx - c->rx_len, 0);
    if (n == 0)
        return -1;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->rx_len += (size_t)n;
    /* The frames after an upgrade may come in the same read as its request. */
    size_t used = 0;
    if (!c->ws && http_process(f, c, &used) < 0)
        return -1;
    if (c->ws && ws_process(f, c, &used) < 0)
        return -1;
    if (used) {
        memmove(c->rx, c->rx + used, c->rx_len - used);
        c->rx_len -= used;
    }
    return 0;
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void accept_all(raw_floor *f)
{
    for (;;) {
        int fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if ((errno == EMFILE || errno == ENFILE) && f->spare_fd >= 0) {
                /* Out of descriptors: the pending connection would keep
                 * the listening socket readable and the level-triggered
                 * loop spinning. Give up the spare, take the connection
                 * and close it at once, take the spare back. */
                close(f->spare_fd);
                int lost = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (lost >= 0)
                    close(lost);
                f->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (f->refused_fds++ == 0)
                    fprintf(stderr, NAME ": accept: %s: closing new connections (counted)\n", strerror(errno));
                if (lost >= 0)
                    continue;
                return;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, NAME ": accept: %s\n", strerror(errno));
            return;
        }
        int one = 1, sndbuf = RAW_SNDBUF_BYTES;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        if (fd >= f->conns_cap) {
            int cap = f->conns_cap ? f->conns_cap : 256;
            while (cap <= fd)
                cap *= 2;
            rconn **t = realloc(f->conns, (size_t)cap * sizeof *t);
            if (!t) {
                close(fd);
                continue;
            }
            memset(t + f->conns_cap, 0, (size_t)(cap - f->conns_cap) * sizeof *t);
            f->conns = t;
            f->conns_cap = cap;
        }
        rconn *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)fd};
        if (!c || epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        f->conns[fd] = c;
        if (fd > f->maxfd)
            f->maxfd = fd;
        f->accepted++;
    }
}

/* The tick: one snapshot per joined client, latest wins. */
static void on_tick(void *user, int64_t now_us, uint32_t missed)
{
    (void)now_us, (void)missed;
    raw_floor *f = user;
    f->tick++;
    uint8_t *payload = f->snap + WS_HDR_MAX;
    for (int fd = 0; fd <= f->maxfd && fd < f->conns_cap; fd++) {
        rconn *c = f->conns[fd];
        if (!c || !c->joined || c->close_after)
            continue;
        floor_snapshot_stamp(payload, f->tick, c->last_seq);
        int rc = conn_send(f, c, f->snap + f->snap_off, f->snap_len, 1);
        if (rc < 0) {
            conn_close(f, c);
        } else if (rc == 0) {
            f->snapshots_skipped++;
        } else {
            f->snapshots_out++;
            f->bytes_out += f->opt.snapshot_bytes;
        }
    }
}

static void conn_event(raw_floor *f, int fd, uint32_t events)
{
    rconn *c = fd < f->conns_cap ? f->conns[fd] : NULL;
    if (!c)
        return; /* closed earlier in this batch */
    int rc = 0;
    if (events & (EPOLLERR | EPOLLHUP))
        rc = -1;
    if (!rc && (events & EPOLLOUT))
        rc = conn_flush(f, c);
    if (!rc && (events & EPOLLIN))
        rc = conn_read(f, c);
    if (rc < 0)
        conn_close(f, c);
}

/* --pacing on, as tickwire-server: sleep on the timerfd alone, then every
 * ready socket in one sweep of epoll_wait(0) (as many as are ready), then
 * the tick, which writes every snapshot straight away. About one wakeup a
 * tick, whatever the input rate. */
static void paced_turn(raw_floor *f, struct epoll_event *evs)
{
    struct pollfd clock = {.fd = f->tfd, .events = POLLIN};
    if (poll(&clock, 1, 100) < 0)
        return; /* EINTR: a signal */
    int n, due = 0;
    do {
        n = epoll_wait(f->ep, evs, RAW_MAX_EVENTS, 0);
        for (int i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            if (id == ID_TIMER)
                due = 1;
            else if (id == ID_LISTEN)
                accept_all(f);
            else
                conn_event(f, (int)id, evs[i].events);
        }
    } while (n == RAW_MAX_EVENTS);
    uint64_t expirations;
    if (due && read(f->tfd, &expirations, sizeof expirations) > 0) {
        tick_sched_run_due(&f->sched);
        tick_sched_arm(&f->sched, f->tfd);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- setup ------------------------------------------------------------------------------- */

static int listen_on(raw_floor *f)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%d", f->opt.port);
    int rc = getaddrinfo(f->opt.host, port, &hints, &res);
    if (rc) {
        fprintf(stderr, NAME ": cannot listen on %s:%d: %s\n", f->opt.host, f->opt.port, gai_strerror(rc));
        return -1;
    }
    int err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            getsockname(fd, (struct sockaddr *)&ss, &sl);
            f->opt.port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                         : ((struct sockaddr_in *)&ss)->sin_port);
            f->lfd = fd;
            freeaddrinfo(res);
            return 0;
        }
        err = errno;
        close(fd);
    }
    freeaddrinfo(res);
    fprintf(stderr, NAME ": cannot listen on %s:%d: %s\n", f->opt.host, f->opt.port, strerror(err));
    return -1;
}

static int setup(raw_floor *f)
{
    char err[160];
    uint8_t *payload = f->snap + WS_HDR_MAX;
    if (floor_snapshot_build(payload, f->opt.snapshot_bytes, f->opt.tick_rate, &f->entities, err, sizeof err) < 0) {
        fprintf(stderr, NAME ": %s\n", err);
        return 2;
    }
    size_t h = frame_prefix(payload, WS_OP_BINARY, f->opt.snapshot_bytes);
    f->snap_off = WS_HDR_MAX - h;
    f->snap_len = h + f->opt.snapshot_bytes;
    size_t wl = floor_welcome_build(f->welcome + WS_HDR_MAX, PROTO_MAX_WELCOME, f->opt.tick_rate);
    h = frame_prefix(f->welcome + WS_HDR_MAX, WS_OP_BINARY, wl);
    f->welcome_off = WS_HDR_MAX - h;
    f->welcome_len = h + wl;
    f->token_body_len = floor_join_body(f->token_body, sizeof f->token_body);
    if (!wl || !f->token_body_len) {
        fprintf(stderr, NAME ": cannot build the WELCOME or the token\n");
        return 1;
    }
    if (listen_on(f) < 0)
        return 1;
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->tfd = tick_sched_timerfd();
    tick_sched_init(&f->sched, f->opt.tick_rate, on_tick, f, &f->tick_stats);
    struct epoll_event le = {.events = EPOLLIN, .data.u64 = ID_LISTEN};
    struct epoll_event te = {.events = EPOLLIN, .data.u64 = ID_TIMER};
    if (f->ep < 0 || f->tfd < 0 || tick_sched_arm(&f->sched, f->tfd) < 0 ||
        epoll_ctl(f->ep, EPOLL_CTL_ADD, f->lfd, &le) < 0 || epoll_ctl(f->ep, EPOLL_CTL_ADD, f->tfd, &te) < 0) {
        fprintf(stderr, NAME ": epoll or timerfd: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static raw_floor floor_state;
    raw_floor *f = &floor_state;
    f->lfd = f->tfd = f->ep = -1;
    f->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int rc = floor_opts_parse(&f->opt, argc, argv, NAME);
    if (rc)
        return rc == 1 ? 0 : 2;
    if ((rc = setup(f)) != 0)
        return rc;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *shown = strcmp(f->opt.host, "0.0.0.0") == 0 ? "127.0.0.1" : f->opt.host;
    printf(NAME ": serving http://%s:%d/ (snapshot %zu bytes, %d entities, %d Hz)\n", shown, f->opt.port,
           f->opt.snapshot_bytes, f->entities, f->opt.tick_rate);
    fflush(stdout);

    struct epoll_event evs[RAW_MAX_EVENTS];
    while (!g_stop) {
        if (f->opt.pacing) {
            paced_turn(f, evs);
            continue;
        }
        int n = epoll_wait(f->ep, evs, RAW_MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, NAME ": epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            if (id == ID_TIMER) {
                uint64_t expirations;
                if (read(f->tfd, &expirations, sizeof expirations) < 0)
                    continue; /* EAGAIN */
                tick_sched_run_due(&f->sched);
                tick_sched_arm(&f->sched, f->tfd);
            } else if (id == ID_LISTEN) {
                accept_all(f);
            } else {
                conn_event(f, (int)id, evs[i].events);
            }
        }
    }
    fprintf(stderr, NAME ": stop ticks=%llu missed_ticks=%llu snapshots_out=%llu snapshots_skipped=%llu "
            "bytes_out=%llu inputs_in=%llu accepted=%llu refused_no_fd=%llu\n",
            (unsigned long long)f->tick_stats.ticks, (unsigned long long)f->tick_stats.missed_ticks,
            (unsigned long long)f->snapshots_out, (unsigned long long)f->snapshots_skipped,
            (unsigned long long)f->bytes_out, (unsigned long long)f->inputs_in, (unsigned long long)f->accepted,
            (unsigned long long)f->refused_fds);
    for (int fd = 0; fd < f->conns_cap; fd++)
        if (f->conns[fd])
            conn_close(f, f->conns[fd]);
    free(f->conns);
    close(f->tfd);
    close(f->lfd);
    close(f->ep);
    if (f->spare_fd >= 0)
        close(f->spare_fd);
    return 0;
}
