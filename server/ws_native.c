/* ws_native: see ws_native.h. */
#define _GNU_SOURCE
#include "ws_native.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "ws_frame.h"

#define READ_BUF 16384      /* one read */
#define READS_PER_TURN 16   /* then the connection waits for the next service call (more list) */
#define EVENTS 256
#define NO_SLOT UINT32_MAX

/* A process that ever had a second thread (the results writer) pays
 * glibc's cancellation bookkeeping around send() and recv(); nobody
 * cancels this thread, so the two calls go straight to the kernel (the
 * same as the lws patch lws-4.1.6-nocancel-io.patch). */
#define raw_recv(fd, b, l) syscall(SYS_recvfrom, (fd), (b), (size_t)(l), 0, NULL, NULL)
#define raw_send(fd, b, l) syscall(SYS_sendto, (fd), (b), (size_t)(l), MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0)

enum { ST_FREE, ST_OPEN, ST_CLOSING, ST_DEAD };

typedef struct wconn {
    int fd;
    uint8_t state;
    uint8_t want;           /* woken while a message's rest was pending */
    uint8_t epout;          /* EPOLLOUT asked for */
    uint8_t queued;         /* woken: in the write queue */
    uint8_t more;           /* in the more list: bytes left unread */
    uint16_t close_code;    /* a CLOSE waiting behind the pending rest */
    const char *close_why;
    uint32_t conn;          /* the core's handle; 0 once closed there */
    uint32_t accepted;      /* the accept handle this connection holds */
    uint32_t next;          /* free list, or the dead list */
    uint32_t closing_pos;   /* index in the closing list, NO_SLOT: not there */
    int64_t deadline_us;    /* closing: hang up at */
    uint8_t *out;           /* the unsent rest of a frame (or frames) */
    uint32_t out_len, out_off;
    ws_frame_rx rx;
} wconn;

struct ws_native {
    ws_native_config cfg;
    int ep;
    int cap, open;
    int busy;               /* inside ws_native_service: no reaping */
    wconn *conns;
    uint32_t free_head, dead_head;
    uint32_t *closing;      /* slots with a deadline (closing) */
    uint32_t nclosing;
    uint32_t *wq, nwq;      /* woken connections, written at ws_native_write */
    uint32_t *more, nmore;  /* connections read READS_PER_TURN times with bytes left */
    int64_t now_us;         /* the time of the current service call */
    log_ratelimit proto_log;
    uint8_t rbuf[READ_BUF];
    uint8_t wbuf[WS_FRAME_MAX_HEADER + CORE_MAX_MESSAGE];
    struct epoll_event ev[EVENTS];
};

static uint32_t slot_of(const ws_native *w, const wconn *c)
{
    return (uint32_t)(c - w->conns);
}

ws_native *ws_native_create(const ws_native_config *cfg, char *err, size_t errlen)
{
    ws_native *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    w->cap = cfg->max_conns > 0 ? cfg->max_conns : 1;
    w->conns = calloc((size_t)w->cap, sizeof *w->conns);
    w->closing = calloc((size_t)w->cap, sizeof *w->closing);
    w->wq = calloc((size_t)w->cap, sizeof *w->wq);
    w->more = calloc((size_t)w->cap, sizeof *w->more);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!w->conns || !w->closing || !w->wq || !w->more || w->ep < 0) {
        snprintf(err, errlen, "%s", w->ep < 0 ? strerror(errno) : "out of memory");
        if (w->ep >= 0)
            close(w->ep);
        free(w->conns);
        free(w->closing);
        free(w->wq);
        free(w->more);
        free(w);
        return NULL;
    }
    for (int i = 0; i < w->cap; i++) {
        w->conns[i].fd = -1;
        w->conns[i].next = i + 1 < w->cap ? (uint32_t)i + 1 : NO_SLOT;
        w->conns[i].closing_pos = NO_SLOT;
    }
    w->free_head = 0;
    w->dead_head = NO_SLOT;
    return w;
}

int ws_native_fd(const ws_native *w)
{
    return w->ep;
}

int ws_native_count(const ws_native *w)
{
    return w->open;
}

int ws_native_owns(const ws_native *w, const void *transport)
{
    const wconn *c = transport;
    return w && c >= w->conns && c < w->conns + w->cap && c == &w->conns[c - w->conns];
}

static void flush(ws_native *w)
{
    if (w->cfg.flush)
        w->cfg.flush(w->cfg.flush_user);
}

/* The connection is over: torn down at the next reap. */
static void kill_conn(ws_native *w, wconn *c)
{
    if (c->state == ST_DEAD || c->state == ST_FREE)
        return;
    c->state = ST_DEAD;
    c->next = w->dead_head;
    w->dead_head = slot_of(w, c);
}

static void set_deadline(ws_native *w, wconn *c, int64_t at)
{
    c->deadline_us = at;
    if (c->closing_pos == NO_SLOT) {
        c->closing_pos = w->nclosing;
        w->closing[w->nclosing++] = slot_of(w, c);
    }
}

static void unlist_closing(ws_native *w, wconn *c)
{
    uint32_t pos = c->closing_pos;
    if (pos == NO_SLOT)
        return;
    uint32_t last = w->closing[--w->nclosing];
    w->closing[pos] = last;
    w->conns[last].closing_pos = pos;
    c->closing_pos = NO_SLOT;
}

static void want_out(ws_native *w, wconn *c, int on)
{
    if (c->epout == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET | (on ? EPOLLOUT : 0), .data.u32 = slot_of(w, c)};
    if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->epout = (uint8_t)on;
    else
        kill_conn(w, c);
}

/* Sends len bytes (none pending before); keeps what the kernel did not
 * take. 0, or -1 when the connection died. */
static int send_bytes(ws_native *w, wconn *c, const uint8_t *p, size_t len)
{
    ssize_t n = raw_send(c->fd, p, len);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            kill_conn(w, c);
            return -1;
        }
        n = 0;
    }
    if ((size_t)n == len)
        return 0;
    size_t rest = len - (size_t)n;
    uint8_t *buf = malloc(rest);
    if (!buf) {
        kill_conn(w, c);
        return -1;
    }
    memcpy(buf, p + n, rest);
    c->out = buf;
    c->out_len = (uint32_t)rest;
    c->out_off = 0;
    want_out(w, c, 1);
    return 0;
}

/* Adds a close frame behind a pending rest. */
static void append_out(ws_native *w, wconn *c, const uint8_t *p, size_t len)
{
    size_t have = c->out_len - c->out_off;
    uint8_t *buf = malloc(have + len);
    if (!buf) {
        kill_conn(w, c);
        return;
    }
    memcpy(buf, c->out + c->out_off, have);
    memcpy(buf + have, p, len);
    free(c->out);
    c->out = buf;
    c->out_len = (uint32_t)(have + len);
    c->out_off = 0;
}

static void queue_bytes(ws_native *w, wconn *c, const uint8_t *p, size_t len)
{
    if (c->out)
        append_out(w, c, p, len);
    else
        send_bytes(w, c, p, len);
}

/* Sends the close frame and waits for the peer's (up to the grace). */
static void send_close(ws_native *w, wconn *c, uint16_t code, const char *why, int64_t now_us)
{
    uint8_t frame[2 + WS_FRAME_CONTROL_MAX];
    size_t n = ws_frame_close(frame, code, why);
    c->state = ST_CLOSING;
    c->close_code = 0;
    queue_bytes(w, c, frame, n);
    set_deadline(w, c, now_us + w->cfg.close_grace_us);
}

static void write_message(ws_native *w, wconn *c, int64_t now_us)
{
    uint8_t *payload = w->wbuf + WS_FRAME_MAX_HEADER;
    size_t n = core_conn_writable(w->cfg.core, c->conn, now_us, payload, CORE_MAX_MESSAGE);
    if (!n)
        return;
    size_t h = ws_frame_header_before(payload, WS_OP_BINARY, n);
    if (send_bytes(w, c, payload - h, h + n) < 0)
        return;
    core_metrics(w->cfg.core)->sent_bytes += n;
    if (w->cfg.stats) {
        w->cfg.stats->msgs_out[HTTPFB_T_WS]++;
        w->cfg.stats->bytes_out[HTTPFB_T_WS] += n;
    }
}

void ws_native_wake(ws_native *w, void *transport)
{
    wconn *c = transport;
    if (c->state != ST_OPEN || c->queued)
        return;
    c->queued = 1;
    w->wq[w->nwq++] = slot_of(w, c);
}

int ws_native_write(ws_native *w, int64_t now_us)
{
    int written = 0;
    while (w->nwq) {
        /* Writing may wake more (a WELCOME, then its first snapshot):
         * they join the queue and go out in the next round. */
        uint32_t n = w->nwq;
        for (uint32_t i = 0; i < n; i++) {
            wconn *c = &w->conns[w->wq[i]];
            if (!c->queued)
                continue; /* reaped, its slot maybe taken again meanwhile */
            c->queued = 0;
            if (c->state != ST_OPEN)
                continue;
            if (c->out) {
                c->want = 1;
                continue;
            }
            write_message(w, c, now_us);
            written++;
        }
        memmove(w->wq, w->wq + n, (w->nwq - n) * sizeof *w->wq);
        w->nwq -= n;
        flush(w);
    }
    return written;
}

void ws_native_close(ws_native *w, void *transport, uint16_t code, const char *reason, int64_t now_us)
{
    wconn *c = transport;
    if (c->state != ST_OPEN)
        return;
    if (c->out) {
        /* After the pending rest; cut off if that does not go out soon. */
        c->close_code = code;
        c->close_why = reason;
        c->want = 0;
        set_deadline(w, c, now_us + w->cfg.close_grace_us);
        return;
    }
    send_close(w, c, code, reason, now_us);
}

void ws_native_abort(ws_native *w, void *transport)
{
    kill_conn(w, transport);
}

int ws_native_adopt(ws_native *w, int fd, uint32_t accepted, const char *peer, const char *ip, int64_t now_us)
{
    const char *why = NULL;
    wconn *c = NULL;
    if (w->free_head == NO_SLOT) {
        why = "no free native connection";
    } else {
        c = &w->conns[w->free_head];
        if (w->cfg.sndbuf > 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &w->cfg.sndbuf, sizeof w->cfg.sndbuf);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = w->free_head};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            why = "epoll refused the socket";
    }
    if (why) {
        log_event(LOG_ERROR, "connect_failed", "peer=%s reason=\"%s\"", peer, why);
        close(fd);
        core_accept_closed(w->cfg.core, accepted);
        return -1;
    }
    w->free_head = c->next;
    c->fd = fd;
    c->state = ST_OPEN;
    c->want = c->epout = c->queued = c->more = 0;
    c->close_code = 0;
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->next = NO_SLOT;
    c->accepted = accepted;
    ws_frame_rx_init(&c->rx);
    w->open++;
    c->conn = core_conn_open(w->cfg.core, now_us, c, peer, ip);
    if (!c->conn) {
        log_event(LOG_ERROR, "connect_failed", "peer=%s reason=\"no session could be had\"", peer);
        kill_conn(w, c);
        ws_native_reap(w, now_us);
        return -1;
    }
    if (w->cfg.stats) {
        w->cfg.stats->sessions_total[HTTPFB_T_WS]++;
        w->cfg.stats->sessions[HTTPFB_T_WS]++;
    }
    flush(w);
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct rd {
    ws_native *w;
    wconn *c;
} rd;

static int on_data(void *user, const uint8_t *p, size_t len, size_t pending, int last, int text)
{
    rd *r = user;
    wconn *c = r->c;
    if (c->state != ST_OPEN)
        return 0; /* after our close frame: the peer's data is dropped */
    if (r->w->cfg.stats)
        r->w->cfg.stats->msgs_in[HTTPFB_T_WS] += last != 0;
    core_conn_recv(r->w->cfg.core, c->conn, r->w->now_us, p, len, pending, last, text);
    flush(r->w);
    return c->state == ST_DEAD;
}

static int on_control(void *user, int opcode, const uint8_t *p, size_t len)
{
    rd *r = user;
    ws_native *w = r->w;
    wconn *c = r->c;
    if (opcode == WS_OP_PING) {
        /* Answered while nothing waits to be sent; a ping that finds the
         * socket backed up goes unanswered (RFC 6455 5.5.3 lets a pong
         * answer only the latest ping), so a peer that pings without
         * reading cannot grow what is kept for it. */
        if (c->state == ST_OPEN && !c->out) {
            uint8_t frame[WS_FRAME_MAX_HEADER + WS_FRAME_CONTROL_MAX];
            uint8_t *body = frame + WS_FRAME_MAX_HEADER;
            memcpy(body, p, len);
            size_t h = ws_frame_header_before(body, WS_OP_PONG, len);
            queue_bytes(w, c, body - h, h + len);
        }
        return c->state == ST_DEAD;
    }
    if (opcode != WS_OP_CLOSE)
        return 0; /* a pong */
    if (c->state == ST_OPEN) {
        /* The peer closes first: the core hears its code (1000/1001: the
         * player left), the close is answered with the same code, and the
         * connection is hung up (RFC 6455 5.5.1). */
        unsigned code = len >= 2 ? (unsigned)p[0] << 8 | p[1] : 1005;
        if (len >= 2)
            core_conn_peer_close(w->cfg.core, c->conn, (int)code);
        flush(w);
        if (c->state == ST_OPEN && !c->out) {
            uint8_t frame[4] = {0x80 | WS_OP_CLOSE, 0};
            if (len >= 2)
                frame[1] = 2, frame[2] = p[0], frame[3] = p[1];
            raw_send(c->fd, frame, 2 + (size_t)frame[1]); /* best effort: hung up right after */
        }
    }
    kill_conn(w, c);
    return 1;
}

/* Edge-triggered: reads until the socket is drained, which a short read
 * shows (the kernel copies every queued byte up to the buffer's size;
 * bytes arriving after it raise a new edge), so no read is spent on
 * EAGAIN. After READS_PER_TURN full reads the connection waits in the
 * more list for the next service call, so one peer cannot hold the loop. */
static void read_conn(ws_native *w, wconn *c)
{
    rd r = {w, c};
    ws_frame_sink sink = {on_data, on_control, &r};
    for (int i = 0; c->state == ST_OPEN || c->state == ST_CLOSING; i++) {
        if (i == READS_PER_TURN) {
            if (!c->more) {
                c->more = 1;
                w->more[w->nmore++] = slot_of(w, c);
            }
            return;
        }
        ssize_t n = raw_recv(c->fd, w->rbuf, sizeof w->rbuf);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                kill_conn(w, c);
            return;
        }
        if (n == 0) {
            kill_conn(w, c); /* the peer hung up */
            return;
        }
        core_metrics(w->cfg.core)->received_bytes += (uint64_t)n;
        if (w->cfg.stats)
            w->cfg.stats->bytes_in[HTTPFB_T_WS] += (uint64_t)n;
        int rc = ws_frame_feed(&c->rx, w->rbuf, (size_t)n, &sink);
        if (rc > WS_FRAME_STOP) {
            /* A frame that breaks RFC 6455: counted as a malformed
             * message, closed with 1002. */
            uint64_t held = 0;
            core_metrics(w->cfg.core)->bad[BAD_MALFORMED]++;
            if (log_ratelimit_pass(&w->proto_log, w->now_us, &held))
                log_event(LOG_DEBUG, "bad_frame", "code=%d held=%llu", rc, (unsigned long long)held);
            if (c->state == ST_OPEN)
                send_close(w, c, (uint16_t)rc, "protocol error", w->now_us);
            else
                kill_conn(w, c);
            return;
        }
        if (rc || (size_t)n < sizeof w->rbuf)
            return;
    }
}

/* The socket takes bytes again: the pending rest, then what waited. */
static void write_ready(ws_native *w, wconn *c)
{
    if (!c->out) {
        want_out(w, c, 0);
        return;
    }
    size_t left = c->out_len - c->out_off;
    ssize_t n = raw_send(c->fd, c->out + c->out_off, left);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            kill_conn(w, c);
        return;
    }
    c->out_off += (uint32_t)n;
    if ((size_t)n < left)
        return;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    want_out(w, c, 0);
    if (c->state != ST_OPEN)
        return;
    if (c->close_code) {
        send_close(w, c, c->close_code, c->close_why, w->now_us);
    } else if (c->want) {
        c->want = 0;
        write_message(w, c, w->now_us);
        flush(w);
    }
}

int ws_native_service(ws_native *w, int64_t now_us, int64_t until_us)
{
    int handled = 0;
    w->busy++;
    w->now_us = now_us;
    uint32_t n_more = w->nmore;
    for (uint32_t k = 0; k < n_more; k++) {
        /* Read further where the last call stopped; a connection that
         * stops again goes back on the list (after these n). */
        wconn *c = &w->conns[w->more[k]];
        if (!c->more)
            continue;
        c->more = 0;
        read_conn(w, c);
    }
    if (n_more) {
        /* Those that stopped again were put back after the first n_more. */
        memmove(w->more, w->more + n_more, (w->nmore - n_more) * sizeof *w->more);
        w->nmore -= n_more;
    }
    for (;;) {
        int n = epoll_wait(w->ep, w->ev, EVENTS, 0);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            uint32_t slot = w->ev[i].data.u32;
            if (slot >= (uint32_t)w->cap)
                continue;
            wconn *c = &w->conns[slot];
            if (c->state == ST_FREE || c->state == ST_DEAD)
                continue;
            uint32_t e = w->ev[i].events;
            if (e & EPOLLOUT)
                write_ready(w, c);
            if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
                read_conn(w, c);
        }
        handled += n;
        if (n < EVENTS)
            break;
        w->now_us = now_us = w->cfg.now();
        if (now_us >= until_us)
            break;
    }
    w->busy--;
    ws_native_reap(w, now_us);
    return handled;
}

void ws_native_tick(ws_native *w, int64_t now_us)
{
    for (uint32_t i = 0; i < w->nclosing; i++) {
        wconn *c = &w->conns[w->closing[i]];
        if (c->deadline_us <= now_us)
            kill_conn(w, c); /* the close never went out, or was never answered: cut off */
    }
    ws_native_reap(w, now_us);
}

int ws_native_reap(ws_native *w, int64_t now_us)
{
    int n = 0;
    if (w->busy)
        return 0;
    if (w->dead_head != NO_SLOT && !now_us)
        now_us = w->cfg.now();
    while (w->dead_head != NO_SLOT) {
        n++;
        wconn *c = &w->conns[w->dead_head];
        w->dead_head = c->next;
        unlist_closing(w, c);
        close(c->fd); /* leaves the epoll set with it */
        free(c->out);
        c->out = NULL;
        c->fd = -1;
        c->state = ST_FREE;
        c->queued = c->more = 0;
        w->open--;
        uint32_t conn = c->conn, accepted = c->accepted;
        c->conn = c->accepted = 0;
        c->next = w->free_head;
        w->free_head = slot_of(w, c);
        if (conn) {
            core_conn_closed(w->cfg.core, conn, now_us);
            if (w->cfg.stats)
                w->cfg.stats->sessions[HTTPFB_T_WS]--;
        }
        core_accept_closed(w->cfg.core, accepted);
    }
    return n;
}

void ws_native_destroy(ws_native *w, int64_t now_us)
{
    if (!w)
        return;
    for (int i = 0; i < w->cap; i++)
        if (w->conns[i].state == ST_OPEN || w->conns[i].state == ST_CLOSING)
            kill_conn(w, &w->conns[i]);
    w->busy = 0;
    ws_native_reap(w, now_us);
    free(w->conns);
    free(w->closing);
    free(w->wq);
    free(w->more);
    free(w);
}
