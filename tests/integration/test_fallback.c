/* Integration tests of the HTTP fallback (docs/PROTOCOL.md section 18)
 * against the real tickwire-server on loopback, with real sockets: a
 * blocking HTTP fallback client built on shared/client.c (the netcode the
 * bots and the browser use) and tests/common/hfread.c (responses, chunks,
 * frames), beside WebSocket players (wsclient.c) that must not notice.
 *
 *   test_fallback SERVER CASE
 *   CASE: play     an HTTP streaming player and a polling one play beside a
 *                  WebSocket player: WELCOME, snapshots, inputs acknowledged,
 *                  per-transport metrics
 *         resume   one player resumed WebSocket -> HTTP -> WebSocket, same id
 *         bad      unknown session 404, a stolen session id with the wrong
 *                  credential 403, oversized 413, truncated 400, no length
 *                  411, wrong method 405, foreign origin 403, a stream opened
 *                  twice 409, a POST flood 429 (the player plays on), a slow
 *                  reader dropped; each counted and logged; the WebSocket
 *                  player keeps its snapshot rate throughout
 *         bots     tickwire-bots (path in $TICKWIRE_BOTS) --transport http, and
 *                  --transport auto against a server started --no-websocket:
 *                  every bot falls back, plays, is counted */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "check.h"
#include "client.h"
#include "hfread.h"
#include "promtext.h"
#include "proto.h"
#include "spawn.h"
#include "wsclient.h"

#define CHECK(cond, ...) CHECK_OR(return, cond, __VA_ARGS__)

enum { F_HELLO = 0, F_MESSAGE = 1, F_CLOSE = 2, F_KEEPALIVE = 3, F_SESSION = 4 };

/* ---- the server ------------------------------------------------------------ */

static int server_start(spawn_proc *sp, const char *path, const char *const *extra, const char *stderr_path)
{
    const char *argv[32] = {path, "--port", "0", "--log-level", "info", "--log-format", "text", "--results-db",
                            ":memory:", "--drain-timeout", "0"};
    int argc = 11;
    for (int i = 0; extra && extra[i] && argc < 30; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    char err[256];
    if (spawn_server_start(sp, &(spawn_desc){.argv = argv, .stderr_path = stderr_path}, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int tcp_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

typedef struct body_buf {
    uint8_t data[1 << 17];
    size_t len;
} body_buf;

static void body_add(void *user, const uint8_t *d, size_t n)
{
    body_buf *b = user;
    if (n > sizeof b->data - b->len)
        n = sizeof b->data - b->len;
    memcpy(b->data + b->len, d, n);
    b->len += n;
}

/* One request on *fd (opened when < 0, kept open unless the answer says
 * close). Returns the status, the body in *out; -1 when no answer came. */
static int request(int port, int *fd, const char *method, const char *path, const char *headers, const void *body,
                   size_t len, body_buf *out)
{
    if (*fd < 0 && (*fd = tcp_open(port)) < 0)
        return -1;
    char head[1024];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s", method, path,
                     headers ? headers : "", strcmp(method, "POST") == 0 ? "" : "\r\n");
    if (strcmp(method, "POST") == 0)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n\r\n", len);
    out->len = 0;
    if (write_all(*fd, head, (size_t)n) < 0 || (len && write_all(*fd, body, len) < 0)) {
        close(*fd);
        *fd = -1;
        return -1;
    }
    hfread rd;
    hfread_reset(&rd);
    uint8_t buf[16384];
    double end = check_now_ms() + 5000;
    for (;;) {
        struct pollfd p = {*fd, POLLIN, 0};
        if (poll(&p, 1, 100) == 0) {
            if (check_now_ms() > end)
                break;
            continue;
        }
        ssize_t r = recv(*fd, buf, sizeof buf, 0);
        if (r <= 0) {
            int ok = hfread_eof(&rd);
            close(*fd);
            *fd = -1;
            return ok && rd.status ? rd.status : -1;
        }
        size_t used;
        int st = hfread_feed(&rd, buf, (size_t)r, &used, body_add, out);
        if (st < 0)
            break;
        if (st == 1) {
            if (rd.conn_close) {
                close(*fd);
                *fd = -1;
            }
            return rd.status;
        }
    }
    close(*fd);
    *fd = -1;
    return -1;
}

/* A one-off request on its own connection. */
static int request1(int port, const char *method, const char *path, const char *headers, const void *body,
                    size_t len, body_buf *out)
{
    int fd = -1;
    int st = request(port, &fd, method, path, headers, body, len, out);
    if (fd >= 0)
        close(fd);
    return st;
}

static body_buf g_body; /* scratch for answers the test only glances at */

static int get_token(int port, const char *name, char *out, size_t cap)
{
    char path[96];
    snprintf(path, sizeof path, "/api/join?name=%s", name);
    if (request1(port, "POST", path, NULL, "", 0, &g_body) != 200)
        return -1;
    g_body.data[g_body.len < sizeof g_body.data ? g_body.len : sizeof g_body.data - 1] = 0;
    const char *t = strstr((const char *)g_body.data, "\"token\":\"");
    if (!t)
        return -1;
    t += 9;
    size_t n = strcspn(t, "\"");
    if (n >= cap)
        return -1;
    memcpy(out, t, n);
    out[n] = '\0';
    return 0;
}

static double metric(int port, const char *series)
{
    body_buf *b = malloc(sizeof *b);
    if (!b)
        return -1;
    double v = -1;
    if (request1(port, "GET", "/metrics", NULL, NULL, 0, b) == 200) {
        b->data[b->len < sizeof b->data ? b->len : sizeof b->data - 1] = 0;
        promtext p = {0};
        if (promtext_parse(&p, (const char *)b->data) == 0)
            v = promtext_value(&p, series);
        else
            fprintf(stderr, "/metrics is not Prometheus text: %s\n", p.err);
        promtext_free(&p);
    }
    free(b);
    return v;
}

/* ---- an HTTP fallback player ----------------------------------------------------- */

typedef struct hfc {
    int port;
    cl_client cl;
    char sid[33];
    char cred[PROTO_MAX_TOKEN + 1];
    char auth[PROTO_MAX_TOKEN + 48];
    int poll_mode;
    int stream_fd;          /* stream mode: the stream's connection */
    int post_fd, poll_fd;   /* keep-alive connections */
    hfread rd;
    hfframes fr;
    int head_in;
    int hello;
    int close_code;         /* a CLOSE frame came: its code; -1 the stream ended without one */
    char close_reason[128];
    uint32_t snapshots, welcomes, keepalives;
    int inputs;             /* send an input after each snapshot */
    int posts_failed;
    int last_post_status;
    uint32_t first_seq_acked; /* last_input_seq of the newest snapshot */
} hfc;

static void hfc_frame(void *user, int kind, const uint8_t *p, size_t len);

static void hfc_init(hfc *h, int port)
{
    memset(h, 0, sizeof *h);
    h->port = port;
    h->stream_fd = h->post_fd = h->poll_fd = -1;
    h->inputs = 1;
    cl_init(&h->cl);
    hfread_reset(&h->rd);
}

static void hfc_close_fds(hfc *h)
{
    int *fds[3] = {&h->stream_fd, &h->post_fd, &h->poll_fd};
    for (int i = 0; i < 3; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

/* The frames of an answer body (a session's, a poll's). */
static void hfc_frames(hfc *h, const uint8_t *d, size_t n)
{
    hfframes *f = malloc(sizeof *f);
    f->len = 0;
    hfframes_feed(f, d, n, hfc_frame, h);
    free(f);
}

/* POST /tw/session with this JOIN: 0 with the sid, or the CLOSE frame's
 * code, or -1 for another answer (its status in last_post_status). */
static int hfc_session(hfc *h, const uint8_t *join, size_t len, const char *query)
{
    char path[96];
    snprintf(path, sizeof path, "/tw/session%s", query ? query : "");
    h->sid[0] = 0;
    h->close_code = 0;
    h->last_post_status = request(h->port, &h->post_fd, "POST", path, NULL, join, len, &g_body);
    if (h->last_post_status != 200)
        return -1;
    hfc_frames(h, g_body.data, g_body.len);
    if (h->close_code)
        return h->close_code;
    if (!h->sid[0])
        return -1;
    proto_join j;
    if (proto_join_read(join, len, &j) == 0 && j.token_len)
        snprintf(h->cred, sizeof h->cred, "%s", j.token);
    else
        for (int i = 0; i < PROTO_RESUME_LEN; i++)
            snprintf(h->cred + 2 * i, 3, "%02x", j.resume[i]);
    snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s\r\n", h->cred);
    return 0;
}

/* A join with a fresh guest token (and the resume token, when the client
 * has one). */
static int hfc_join(hfc *h, const char *name)
{
    char token[PROTO_MAX_TOKEN + 1];
    if (get_token(h->port, name, token, sizeof token) < 0)
        return -1;
    cl_set_token(&h->cl, token);
    uint8_t join[PROTO_MAX_JOIN_MSG];
    size_t n = cl_write_join(&h->cl, join, sizeof join);
    return hfc_session(h, join, n, "?fallback=config");
}

/* GET /tw/stream: returns the status (200: the stream is open). */
static int hfc_stream(hfc *h, int *fd_out)
{
    int fd = tcp_open(h->port);
    if (fd < 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof req, "GET /tw/stream?sid=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", h->sid, h->auth);
    if (write_all(fd, req, (size_t)n) < 0) {
        close(fd);
        return -1;
    }
    if (fd_out) { /* the caller reads it */
        *fd_out = fd;
        return 0;
    }
    h->stream_fd = fd;
    hfread_reset(&h->rd);
    h->fr.len = 0;
    h->head_in = 0;
    return 0;
}

/* Sends every unacknowledged input (one or two INPUT messages) in one POST. */
static int hfc_send_inputs(hfc *h)
{
    uint8_t body[2 * (3 + 64)];
    size_t n = 0;
    cl_resend_unacked(&h->cl);
    for (int i = 0; i < 2; i++) {
        size_t m = cl_write_input(&h->cl, body + n + 3, 64);
        if (!m)
            break;
        body[n] = F_MESSAGE;
        body[n + 1] = (uint8_t)m;
        body[n + 2] = 0;
        n += 3 + m;
    }
    if (!n)
        return 0;
    char path[96];
    snprintf(path, sizeof path, "/tw/input?sid=%s", h->sid);
    body_buf *b = malloc(sizeof *b);
    h->last_post_status = request(h->port, &h->post_fd, "POST", path, h->auth, body, n, b);
    free(b);
    if (h->last_post_status != 204)
        h->posts_failed++;
    return h->last_post_status;
}

static void hfc_frame(void *user, int kind, const uint8_t *p, size_t len)
{
    hfc *h = user;
    switch (kind) {
    case F_HELLO:
        h->hello += len >= 1 && p[0] == PROTO_VERSION;
        break;
    case F_SESSION:
        if (len == 16)
            for (int i = 0; i < 16; i++)
                snprintf(h->sid + 2 * i, 3, "%02x", p[i]);
        break;
    case F_CLOSE:
        h->close_code = len >= 2 ? p[0] | p[1] << 8 : 1005;
        snprintf(h->close_reason, sizeof h->close_reason, "%.*s", (int)(len > 2 ? len - 2 : 0), p + 2);
        break;
    case F_KEEPALIVE:
        h->keepalives++;
        break;
    case F_MESSAGE: {
        int type = cl_receive(&h->cl, p, len, check_now_ms());
        if (type == PROTO_WELCOME)
            h->welcomes++;
        if (type == PROTO_SNAPSHOT) {
            h->snapshots++;
            h->first_seq_acked = h->cl.last_input_seq;
            if (h->inputs) {
                cl_push_input(&h->cl, (uint8_t)(h->snapshots / 30 % 2 ? SIM_BTN_LEFT : SIM_BTN_RIGHT),
                              (uint16_t)(h->snapshots * 97), check_now_ms());
                hfc_send_inputs(h);
            }
        }
        if (type < 0)
            fprintf(stderr, "hfc: bad message: %s\n", proto_err_str(type));
        break;
    }
    default:
        break;
    }
}

static void stream_body(void *user, const uint8_t *d, size_t n)
{
    hfc *h = user;
    hfframes_feed(&h->fr, d, n, hfc_frame, h);
}

/* Serves the stream (or the polls) for up to ms; returns -1 once the
 * session is over (close_code says how). */
static int hfc_pump(hfc *h, int ms)
{
    double end = check_now_ms() + ms;
    while (check_now_ms() < end && !h->close_code) {
        if (h->poll_mode) {
            char path[96];
            snprintf(path, sizeof path, "/tw/poll?sid=%s", h->sid);
            body_buf *b = malloc(sizeof *b);
            int st = request(h->port, &h->poll_fd, "GET", path, h->auth, NULL, 0, b);
            if (st == 200)
                hfc_frames(h, b->data, b->len);
            free(b);
            if (st != 200) {
                h->close_code = -1;
                break;
            }
            continue;
        }
        struct pollfd p = {h->stream_fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        uint8_t buf[16384];
        ssize_t r = recv(h->stream_fd, buf, sizeof buf, 0);
        if (r <= 0) {
            h->close_code = -1;
            break;
        }
        size_t off = 0;
        while (off < (size_t)r) {
            size_t used;
            int st = hfread_feed(&h->rd, buf + off, (size_t)r - off, &used, stream_body, h);
            off += used;
            if (st != 0) {
                if (!h->close_code)
                    h->close_code = -1;
                break;
            }
            if (!used)
                break;
        }
    }
    return h->close_code ? -1 : 0;
}

static int hfc_snapshots_until(hfc *h, uint32_t n, int ms)
{
    double end = check_now_ms() + ms;
    while (h->snapshots < n && check_now_ms() < end)
        if (hfc_pump(h, 50) < 0)
            return -1;
    return h->snapshots >= n ? 0 : -1;
}

/* ---- a WebSocket player (in its own thread) ---------------------------------------- */

#include <pthread.h>

typedef struct wsp {
    wsc ws;
    cl_client cl;
    pthread_t thread;
    volatile int stop;
    volatile uint32_t snapshots;
    volatile int closed;
    int port;
} wsp;

static int wsp_join(wsp *p, int port, const char *name)
{
    char err[128], token[PROTO_MAX_TOKEN + 1];
    memset(&p->ws, 0, sizeof p->ws);
    p->port = port;
    if (wsc_connect(&p->ws, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) < 0 ||
        get_token(port, name, token, sizeof token) < 0)
        return -1;
    cl_set_token(&p->cl, token);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    size_t n = cl_write_join(&p->cl, buf, sizeof buf);
    return wsc_send(&p->ws, WS_BINARY, buf, n);
}

static int wsp_step(wsp *p, int timeout_ms)
{
    uint8_t msg[PROTO_MAX_SNAPSHOT];
    size_t len;
    int op = wsc_recv(&p->ws, msg, sizeof msg, &len, timeout_ms);
    if (op == WS_CLOSE || op < 0) {
        p->closed = op == WS_CLOSE ? p->ws.close_code : -1;
        return -1;
    }
    if (op != WS_BINARY)
        return 0;
    int type = cl_receive(&p->cl, msg, len, check_now_ms());
    if (type == PROTO_SNAPSHOT) {
        p->snapshots++;
        cl_push_input(&p->cl, SIM_BTN_UP, 0, check_now_ms());
        uint8_t out[64];
        size_t n = cl_write_input(&p->cl, out, sizeof out);
        if (n)
            wsc_send(&p->ws, WS_BINARY, out, n);
    }
    return type;
}

static void *wsp_thread(void *arg)
{
    wsp *p = arg;
    while (!p->stop && wsp_step(p, 100) >= 0) {
    }
    return NULL;
}

static void wsp_start(wsp *p)
{
    pthread_create(&p->thread, NULL, wsp_thread, p);
}

static void wsp_stop(wsp *p)
{
    p->stop = 1;
    pthread_join(p->thread, NULL);
    wsc_close(&p->ws);
}

/* The WebSocket player's snapshots over ms: ~60 a second when unaffected. */
static uint32_t wsp_rate_check(wsp *p, double since_ms, uint32_t since_snaps)
{
    double secs = (check_now_ms() - since_ms) / 1000.0;
    return secs > 0 ? (uint32_t)((p->snapshots - since_snaps) / secs) : 0;
}

/* ---- cases --------------------------------------------------------------------------- */

static void case_play(const char *server)
{
    spawn_proc sv = {0};
    CHECK(server_start(&sv, server, NULL, NULL) == 0, "server did not start");
    wsp ws = {0};
    CHECK(wsp_join(&ws, sv.port, "wsguy") == 0, "ws join");
    wsp_start(&ws);

    static hfc h, pl;
    hfc_init(&h, sv.port);
    CHECK(hfc_join(&h, "streamer") == 0, "POST /tw/session: status %d close %d", h.last_post_status, h.close_code);
    CHECK(strlen(h.sid) == 32, "sid '%s'", h.sid);
    CHECK(hfc_stream(&h, NULL) == 0, "stream");
    CHECK(hfc_snapshots_until(&h, 180, 6000) == 0, "stream: %u snapshots, close %d", h.snapshots, h.close_code);
    CHECK(h.hello == 1 && h.welcomes == 1, "hello %d welcomes %u", h.hello, h.welcomes);
    CHECK(h.rd.status == 200 && h.rd.chunked, "stream answer %d chunked %d", h.rd.status, h.rd.chunked);
    /* Inputs acknowledged: the newest snapshot's last_input_seq follows the
     * inputs sent, within a few ticks on loopback. */
    uint32_t sent = h.cl.next_seq - 1;
    CHECK(sent >= 170 && h.cl.last_input_seq + 4 >= sent, "sent %u inputs, acked %u", sent, h.cl.last_input_seq);
    CHECK(h.posts_failed == 0, "%d input POSTs failed (last %d)", h.posts_failed, h.last_post_status);
    CHECK(h.cl.have_self, "the client does not predict its own player");

    /* A polling player. */
    hfc_init(&pl, sv.port);
    pl.poll_mode = 1;
    CHECK(hfc_join(&pl, "poller") == 0, "poll session");
    CHECK(hfc_snapshots_until(&pl, 120, 8000) == 0, "polls: %u snapshots, close %d", pl.snapshots, pl.close_code);
    CHECK(pl.hello == 1 && pl.welcomes == 1, "poll hello %d welcomes %u", pl.hello, pl.welcomes);
    CHECK(pl.cl.last_input_seq + 6 >= pl.cl.next_seq - 1, "poll: sent %u, acked %u", pl.cl.next_seq - 1,
          pl.cl.last_input_seq);

    /* The probe: a HELLO at once, the response held. */
    int pfd = tcp_open(sv.port);
    const char preq[] = "GET /tw/probe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    CHECK(write_all(pfd, preq, sizeof preq - 1) == 0, "probe");
    double t0 = check_now_ms();
    hfread prd;
    hfread_reset(&prd);
    body_buf *pb = calloc(1, sizeof *pb);
    while (pb->len < 4 && check_now_ms() - t0 < 2000) {
        struct pollfd p = {pfd, POLLIN, 0};
        uint8_t buf[4096];
        size_t used;
        if (poll(&p, 1, 50) > 0) {
            ssize_t r = recv(pfd, buf, sizeof buf, 0);
            if (r <= 0)
                break;
            hfread_feed(&prd, buf, (size_t)r, &used, body_add, pb);
        }
    }
    double took = check_now_ms() - t0;
    CHECK(pb->len == 4 && memcmp(pb->data, "\x00\x01\x00\x06", 4) == 0 && took < 500, "probe: %zu bytes in %.0f ms",
          pb->len, took);
    free(pb);
    close(pfd);

    /* Leave: a CLOSE 1000 frame; the stream ends with it echoed. */
    char path[96];
    snprintf(path, sizeof path, "/tw/input?sid=%s", h.sid);
    static const uint8_t leave[] = {F_CLOSE, 2, 0, 0xe8, 0x03};
    CHECK(request(sv.port, &h.post_fd, "POST", path, h.auth, leave, sizeof leave, &g_body) == 204, "leave");
    hfc_pump(&h, 2000);
    CHECK(h.close_code == 1000, "after leaving: close %d", h.close_code);

    uint32_t ws_snaps = ws.snapshots;
    double m_total = metric(sv.port, "tickwire_transport_sessions_total{transport=\"http_stream\"}");
    double m_poll = metric(sv.port, "tickwire_transport_sessions_total{transport=\"http_poll\"}");
    double m_ws = metric(sv.port, "tickwire_transport_sessions{transport=\"ws\"}");
    double m_out = metric(sv.port, "tickwire_transport_messages_total{transport=\"http_stream\",direction=\"out\"}");
    double m_in = metric(sv.port, "tickwire_transport_messages_total{transport=\"http_poll\",direction=\"in\"}");
    double m_fb = metric(sv.port, "tickwire_http_fallbacks_total{reason=\"config\"}");
    double m_probe = metric(sv.port, "tickwire_http_fallback_probes_total");
    double m_open = metric(sv.port, "tickwire_transport_sessions{transport=\"http_stream\"}");
    printf("play: stream %u snapshots, %u inputs (acked %u); poll %u snapshots; ws player %u snapshots; metrics: "
           "stream sessions %g (open %g), poll %g, ws open %g, stream msgs out %g, poll msgs in %g, fallbacks %g, "
           "probes %g\n",
           h.snapshots, sent, h.cl.last_input_seq, pl.snapshots, ws_snaps, m_total, m_open, m_poll, m_ws, m_out,
           m_in, m_fb, m_probe);
    CHECK(m_total == 1 && m_poll == 1 && m_ws == 1 && m_open == 0, "session metrics");
    CHECK(m_out >= 180 && m_in >= 100 && m_fb == 2 && m_probe == 1, "message metrics");
    CHECK(ws.closed == 0 && ws_snaps > 200, "the ws player: %u snapshots, closed %d", ws_snaps, ws.closed);
    wsp_stop(&ws);
    hfc_close_fds(&h);
    hfc_close_fds(&pl);
    CHECK(spawn_stop(&sv, 0, NULL) == 0, "server exit status");
}

static void case_resume(const char *server)
{
    spawn_proc sv = {0};
    const char *args[] = {"--resume-grace", "10", NULL};
    CHECK(server_start(&sv, server, args, NULL) == 0, "server did not start");
    wsp other = {0};
    CHECK(wsp_join(&other, sv.port, "other") == 0, "other join");
    wsp_start(&other);

    /* 1: WebSocket. */
    static wsp w;
    memset(&w, 0, sizeof w);
    CHECK(wsp_join(&w, sv.port, "hopper") == 0, "ws join");
    double end = check_now_ms() + 3000;
    while (w.snapshots < 60 && check_now_ms() < end)
        wsp_step(&w, 100);
    CHECK(w.snapshots >= 60 && w.cl.have_resume, "ws: %u snapshots", w.snapshots);
    int id = w.cl.welcome.player_id;
    uint32_t seq_ws = w.cl.next_seq - 1;
    wsc_close(&w.ws); /* a drop: no close frame */
    cl_disconnected(&w.cl);

    /* 2: resumed over HTTP with the resume token alone. */
    static hfc h;
    hfc_init(&h, sv.port);
    h.cl = w.cl;
    h.cl.token[0] = 0;
    uint8_t join[PROTO_MAX_JOIN_MSG];
    size_t n = cl_write_join(&h.cl, join, sizeof join);
    CHECK(hfc_session(&h, join, n, "?fallback=upgrade") == 0, "http resume: %d", h.close_code);
    CHECK(strlen(h.cred) == 32, "a resume-only session's credential is the resume token in hex: %s", h.cred);
    CHECK(hfc_stream(&h, NULL) == 0, "stream");
    CHECK(hfc_snapshots_until(&h, 60, 4000) == 0, "http: %u snapshots", h.snapshots);
    CHECK(h.cl.welcome.resumed, "WELCOME over HTTP not a resume");
    CHECK(h.cl.welcome.player_id == id, "id %d over HTTP, %d over ws", h.cl.welcome.player_id, id);
    CHECK(h.cl.last_input_seq >= seq_ws, "inputs went on: acked %u, ws had sent %u", h.cl.last_input_seq, seq_ws);
    uint32_t seq_http = h.cl.next_seq - 1;
    hfc_close_fds(&h); /* the stream drops without a CLOSE frame: held again */
    cl_disconnected(&h.cl);
    usleep(200000);

    /* 3: back to WebSocket. */
    static wsp w2;
    memset(&w2, 0, sizeof w2);
    char err[128];
    CHECK(wsc_connect(&w2.ws, "127.0.0.1", sv.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "ws2: %s", err);
    w2.cl = h.cl;
    w2.cl.token[0] = 0;
    n = cl_write_join(&w2.cl, join, sizeof join);
    CHECK(wsc_send(&w2.ws, WS_BINARY, join, n) == 0, "ws2 join");
    end = check_now_ms() + 3000;
    uint32_t s0 = w2.snapshots;
    while (w2.snapshots < s0 + 60 && check_now_ms() < end)
        if (wsp_step(&w2, 100) < 0)
            break;
    CHECK(w2.snapshots >= s0 + 60, "ws again: %u snapshots, closed %d", w2.snapshots - s0, w2.closed);
    CHECK(w2.cl.welcome.resumed && w2.cl.welcome.player_id == id, "ws resume: resumed %u id %d",
          w2.cl.welcome.resumed, w2.cl.welcome.player_id);
    CHECK(w2.cl.last_input_seq >= seq_http, "acked %u, http had sent %u", w2.cl.last_input_seq, seq_http);
    double resumes = metric(sv.port, "tickwire_resumes_total");
    printf("resume: player %d ws -> http -> ws; inputs %u (ws) %u (http) acked %u at the end; resumes %g; the "
           "other player %u snapshots, closed %d\n",
           id, seq_ws, seq_http, w2.cl.last_input_seq, resumes, other.snapshots, other.closed);
    CHECK(other.closed == 0, "the other player was closed");
    wsc_close(&w2.ws);
    wsp_stop(&other);
    CHECK(spawn_stop(&sv, 0, NULL) == 0, "server exit status");
}

/* The server log holds a line with all these words. */
static int log_has(const char *path, const char *a, const char *b)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[2048];
    int hit = 0;
    while (!hit && fgets(line, sizeof line, f))
        hit = strstr(line, a) && (!b || strstr(line, b));
    fclose(f);
    return hit;
}

static double refused(int port, const char *reason)
{
    char series[128];
    snprintf(series, sizeof series, "tickwire_http_fallback_refused_total{reason=\"%s\"}", reason);
    return metric(port, series);
}

static void case_bad(const char *server)
{
    char logp[] = "/tmp/test_fallback_bad_XXXXXX";
    int lfd = mkstemp(logp);
    CHECK(lfd >= 0, "mkstemp");
    close(lfd);
    spawn_proc sv = {0};
    const char *args[] = {"--client-sndbuf", "4096", NULL};
    CHECK(server_start(&sv, server, args, logp) == 0, "server did not start");
    int port = sv.port;
    wsp ws = {0};
    CHECK(wsp_join(&ws, port, "bystander") == 0, "ws join");
    wsp_start(&ws);
    static hfc v;
    hfc_init(&v, port);
    CHECK(hfc_join(&v, "victim") == 0, "victim session");
    CHECK(hfc_stream(&v, NULL) == 0, "victim stream");
    CHECK(hfc_snapshots_until(&v, 30, 3000) == 0, "victim: %u snapshots", v.snapshots);
    usleep(300000);
    double t0 = check_now_ms();
    uint32_t ws0 = ws.snapshots;
    char path[128], hdr[512];
    static const uint8_t input_frame[] = {F_MESSAGE, 19, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1,    0,    0,
                                          0,         1,  0, 0,    0, 255, 0};

    /* unknown session: 404 */
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", v.cred);
    int st = request1(port, "POST", "/tw/input?sid=00112233445566778899aabbccddeeff", hdr, input_frame,
                      sizeof input_frame, &g_body);
    CHECK(st == 404, "unknown session: %d", st);
    st = request1(port, "GET", "/tw/stream?sid=nothex", hdr, NULL, 0, &g_body);
    CHECK(st == 404, "malformed sid: %d", st);

    /* a stolen session id with the wrong credential: 403 on every endpoint */
    char thief[PROTO_MAX_TOKEN + 1];
    CHECK(get_token(port, "thief", thief, sizeof thief) == 0, "thief token");
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", thief);
    snprintf(path, sizeof path, "/tw/input?sid=%s", v.sid);
    st = request1(port, "POST", path, hdr, input_frame, sizeof input_frame, &g_body);
    CHECK(st == 403, "stolen sid, input: %d", st);
    snprintf(path, sizeof path, "/tw/poll?sid=%s", v.sid);
    st = request1(port, "GET", path, hdr, NULL, 0, &g_body);
    CHECK(st == 403, "stolen sid, poll: %d", st);
    snprintf(path, sizeof path, "/tw/stream?sid=%s", v.sid);
    st = request1(port, "GET", path, NULL, NULL, 0, &g_body);
    CHECK(st == 403, "stolen sid, no credential: %d", st);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %.*s\r\n", (int)strlen(v.cred) - 1, v.cred);
    st = request1(port, "GET", path, hdr, NULL, 0, &g_body);
    CHECK(st == 403, "stolen sid, credential cut short: %d", st);

    /* a stream opened twice: 409 */
    st = request1(port, "GET", path, v.auth, NULL, 0, &g_body);
    CHECK(st == 409, "second stream: %d", st);
    snprintf(path, sizeof path, "/tw/poll?sid=%s", v.sid);
    st = request1(port, "GET", path, v.auth, NULL, 0, &g_body);
    CHECK(st == 409, "poll on a streaming session: %d", st);

    /* oversized: 413 (before the body); truncated: 400; no length: 411 */
    static uint8_t big[2048];
    snprintf(path, sizeof path, "/tw/input?sid=%s", v.sid);
    st = request1(port, "POST", path, v.auth, big, sizeof big, &g_body);
    CHECK(st == 413, "oversized input: %d", st);
    st = request1(port, "POST", "/tw/session", NULL, big, 300, &g_body);
    CHECK(st == 413, "oversized session: %d", st);
    uint8_t cut[sizeof input_frame];
    memcpy(cut, input_frame, sizeof input_frame);
    cut[1] = 40; /* says 40, has 19 */
    st = request1(port, "POST", path, v.auth, cut, sizeof cut, &g_body);
    CHECK(st == 400, "truncated frame: %d", st);
    st = request1(port, "POST", path, v.auth, input_frame, 2, &g_body);
    CHECK(st == 400, "truncated header: %d", st);
    static const uint8_t hello_up[] = {F_HELLO, 1, 0, 6};
    st = request1(port, "POST", path, v.auth, hello_up, sizeof hello_up, &g_body);
    CHECK(st == 400, "a server-only frame kind: %d", st);
    int fd = tcp_open(port);
    char raw[512];
    int rn = snprintf(raw, sizeof raw,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      path, v.auth);
    write_all(fd, raw, (size_t)rn);
    char ans[256] = "";
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 2000) > 0)
        recv(fd, ans, sizeof ans - 1, 0);
    close(fd);
    CHECK(strncmp(ans, "HTTP/1.1 411", 12) == 0, "chunked body: %.40s", ans);
    st = request1(port, "GET", "/tw/session", NULL, NULL, 0, &g_body);
    CHECK(st == 405, "GET /tw/session: %d", st);
    st = request1(port, "GET", "/tw/nothing", NULL, NULL, 0, &g_body);
    CHECK(st == 404, "unknown endpoint: %d", st);
    st = request1(port, "GET", "/tw/probe", "Origin: https://evil.example\r\n", NULL, 0, &g_body);
    CHECK(st == 403, "foreign origin: %d", st);
    /* A JOIN the core refuses at once: 200 with a CLOSE frame (4001). */
    static hfc bad;
    hfc_init(&bad, port);
    static const uint8_t badjoin[] = {1, PROTO_VERSION, 3, 'a', 'b', 'c', 0, 0};
    CHECK(hfc_session(&bad, badjoin, sizeof badjoin, NULL) == 4001, "bad token: close %d status %d", bad.close_code,
          bad.last_post_status);

    /* a POST flood: 429s, and the victim plays on */
    int n429 = 0, n204 = 0, fl = -1;
    snprintf(path, sizeof path, "/tw/input?sid=%s", v.sid);
    for (int i = 0; i < 400; i++) {
        /* repeats of an old input, as a replayed request would be */
        cl_resend_unacked(&v.cl);
        uint8_t body[3 + 64];
        size_t m = cl_write_input(&v.cl, body + 3, 64);
        if (!m) {
            memcpy(body, input_frame, sizeof input_frame);
            m = sizeof input_frame - 3;
        }
        body[0] = F_MESSAGE;
        body[1] = (uint8_t)m;
        body[2] = 0;
        st = request(port, &fl, "POST", path, v.auth, body, 3 + m, &g_body);
        n429 += st == 429;
        n204 += st == 204;
    }
    if (fl >= 0)
        close(fl);
    CHECK(n429 > 0 && n204 > 0, "flood: %d answered 204, %d 429", n204, n429);
    uint32_t vs = v.snapshots;
    CHECK(hfc_snapshots_until(&v, vs + 60, 3000) == 0 && v.close_code == 0, "victim after the flood: %u, close %d",
          v.snapshots - vs, v.close_code);
    CHECK(v.cl.last_input_seq + 4 >= v.cl.next_seq - 1, "victim's inputs: sent %u acked %u", v.cl.next_seq - 1,
          v.cl.last_input_seq);

    /* a slow reader: a session whose stream is never read is dropped (4007,
     * no close frame through a choked socket: the stream just ends), like a
     * WebSocket one */
    static hfc slow;
    hfc_init(&slow, port);
    CHECK(hfc_join(&slow, "sloth") == 0, "slow session");
    int sfd;
    CHECK(hfc_stream(&slow, &sfd) == 0, "slow stream");
    int rcv = 2048;
    setsockopt(sfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    /* It sends inputs (it is not idle) but never reads. */
    double send_until = check_now_ms() + 6000;
    int gone = 0;
    snprintf(path, sizeof path, "/tw/input?sid=%s", slow.sid);
    int slow_st[600] = {0};
    for (uint32_t seq = 1; check_now_ms() < send_until && !gone; seq++) {
        /* the newest 8 inputs each time: a refused POST leaves no gap */
        proto_input_msg m = {.first_seq = seq > 8 ? seq - 7 : 1};
        m.count = (uint8_t)(seq - m.first_seq + 1);
        for (int k = 0; k < m.count; k++)
            m.in[k].view_tick = 0;
        uint8_t body[3 + 64] = {F_MESSAGE};
        size_t bl = proto_input_write(&m, body + 3, 64);
        body[1] = (uint8_t)bl;
        st = request(port, &slow.post_fd, "POST", path, slow.auth, body, 3 + bl, &g_body);
        slow_st[st >= 0 && st < 600 ? st : 0]++;
        gone = st == 404;
        v.inputs = 1;
        hfc_pump(&v, 16);
    }
    CHECK(gone, "the slow reader's session is still there");
    CHECK(slow_st[204] > 0 && slow_st[400] == 0 && slow_st[0] == 0, "slow reader's POSTs: 204 x%d, 400 x%d, none x%d",
          slow_st[204], slow_st[400], slow_st[0]);
    close(sfd);
    hfc_close_fds(&slow);
    CHECK(v.close_code == 0, "victim closed %d", v.close_code);

    uint32_t rate = wsp_rate_check(&ws, t0, ws0);
    double r404 = refused(port, "unknown_session"), r403 = refused(port, "credential"),
           r409 = refused(port, "conflict"), r413 = refused(port, "too_large"), r400 = refused(port, "truncated"),
           r400f = refused(port, "frame"), r429 = refused(port, "flood"), r411 = refused(port, "length"),
           r405 = refused(port, "method"), rorig = refused(port, "origin");
    double slow_drops = metric(port, "tickwire_clients_dropped_total{reason=\"send_stalled\"}");
    printf("bad: 404 x%g, 403 x%g, 409 x%g, 413 x%g, 400 x%g+%g, 411 x%g, 405 x%g, origin x%g, flood: %d of 400 "
           "POSTs 429 (%g counted), slow readers dropped %g; the ws player kept %u snapshots/s, the victim %u "
           "snapshots\n",
           r404, r403, r409, r413, r400, r400f, r411, r405, rorig, n429, r429, slow_drops, rate, v.snapshots);
    CHECK(r404 >= 3 && r403 == 4 && r409 == 2 && r413 == 2 && r400 == 2 && r400f == 1 && r411 == 1 && r405 == 1 &&
              rorig == 1 && r429 >= n429,
          "refusal counts");
    CHECK(slow_drops >= 1, "slow reader not counted");
    CHECK(ws.closed == 0 && rate >= 50, "the ws player: %u snapshots/s, closed %d", rate, ws.closed);
    CHECK(log_has(logp, "httpfb_refuse", "reason=credential") && log_has(logp, "httpfb_refuse", "reason=flood") &&
              log_has(logp, "httpfb_refuse", "reason=conflict"),
          "log lines");
    CHECK(log_has(logp, "socket choked", NULL), "no slow-reader log line");
    wsp_stop(&ws);
    hfc_close_fds(&v);
    CHECK(spawn_stop(&sv, 0, NULL) == 0, "server exit status");
    unlink(logp);
}

/* A number from the bots' JSON report: "key": N inside "section": {...}. */
static double report_num(const char *json, const char *section, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", section);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(p, pat);
    return p ? atof(p + strlen(pat)) : -1;
}

static int run_bots(const char *bots, int port, const char *transport, const char *report, char *json, size_t cap)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    const char *argv[] = {bots, "--url", url, "--bots", "8", "--duration", "6", "--ramp", "1", "--transport", transport,
                          "--report", report, NULL};
    spawn_proc bp = {0};
    char err[160];
    if (spawn_start(&bp, &(spawn_desc){.argv = argv, .stdout_path = "/dev/null"}, err, sizeof err) < 0)
        return -1;
    if (spawn_wait(&bp, 40000) < 0)
        return -1;
    FILE *f = fopen(report, "r");
    if (!f)
        return -1;
    size_t n = fread(json, 1, cap - 1, f);
    fclose(f);
    json[n] = 0;
    return 0;
}

static void case_bots(const char *server)
{
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots, "TICKWIRE_BOTS is not set");
    char report[] = "/tmp/test_fallback_bots_XXXXXX";
    int fd = mkstemp(report);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    static char json[1 << 20];

    /* --transport http */
    spawn_proc sv = {0};
    CHECK(server_start(&sv, server, NULL, "/dev/null") == 0, "server did not start");
    CHECK(run_bots(bots, sv.port, "http", report, json, sizeof json) == 0, "bots --transport http");
    double wh = report_num(json, "transport", "welcomes_http"), ww = report_num(json, "transport", "welcomes_ws");
    double end = report_num(json, "connections", "connected_end"), failed = report_num(json, "connections", "failed");
    double pct = report_num(json, "snapshots", "pct");
    double m = metric(sv.port, "tickwire_transport_sessions_total{transport=\"http_stream\"}");
    double fb = metric(sv.port, "tickwire_http_fallbacks_total{reason=\"config\"}");
    printf("bots http: %g WELCOMEs over HTTP, %g over ws, %g connected at the end, %g failed, %g%% of snapshots; "
           "server: %g stream sessions, %g fallbacks (config)\n", wh, ww, end, failed, pct, m, fb);
    CHECK(wh == 8 && ww == 0 && end == 8 && failed == 0 && m == 8 && fb == 8, "http bots");
    CHECK(spawn_stop(&sv, 0, NULL) == 0, "server exit status");

    /* --transport auto against a server that refuses every upgrade */
    spawn_proc sv2 = {0};
    const char *args[] = {"--no-websocket", NULL};
    CHECK(server_start(&sv2, server, args, "/dev/null") == 0, "server did not start");
    CHECK(run_bots(bots, sv2.port, "auto", report, json, sizeof json) == 0, "bots --transport auto");
    wh = report_num(json, "transport", "welcomes_http");
    ww = report_num(json, "transport", "welcomes_ws");
    double fu = report_num(json, "transport", "fallbacks_upgrade");
    end = report_num(json, "connections", "connected_end");
    failed = report_num(json, "connections", "failed");
    double up = metric(sv2.port, "tickwire_http_fallbacks_total{reason=\"upgrade\"}");
    double ws_total = metric(sv2.port, "tickwire_transport_sessions_total{transport=\"ws\"}");
    printf("bots auto vs --no-websocket: %g fell back (upgrade), %g WELCOMEs over HTTP, %g over ws, %g connected at "
           "the end, %g failed; server: %g fallbacks (upgrade), %g ws sessions\n", fu, wh, ww, end, failed, up,
           ws_total);
    CHECK(fu == 8 && wh == 8 && ww == 0 && end == 8 && failed == 0 && up == 8 && ws_total == 0, "auto bots");
    CHECK(spawn_stop(&sv2, 0, NULL) == 0, "server exit status");

    /* --transport auto against a server with WebSocket: no fallback */
    spawn_proc sv3 = {0};
    CHECK(server_start(&sv3, server, NULL, "/dev/null") == 0, "server did not start");
    CHECK(run_bots(bots, sv3.port, "auto", report, json, sizeof json) == 0, "bots --transport auto");
    fu = report_num(json, "transport", "fallbacks_upgrade") + report_num(json, "transport", "fallbacks_welcome");
    ww = report_num(json, "transport", "welcomes_ws");
    printf("bots auto with WebSocket: %g WELCOMEs over ws, %g fallbacks\n", ww, fu);
    CHECK(ww == 8 && fu == 0, "auto bots with WebSocket");
    CHECK(spawn_stop(&sv3, 0, NULL) == 0, "server exit status");
    unlink(report);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SERVER play|resume|bad|bots\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static const struct {
        const char *name;
        void (*fn)(const char *);
    } cases[] = {{"play", case_play}, {"resume", case_resume}, {"bad", case_bad}, {"bots", case_bots}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(argv[2], cases[i].name) == 0) {
            cases[i].fn(argv[1]);
            printf("%s: %s\n", cases[i].name, check_failures ? "FAILED" : "passed");
            return check_failures != 0;
        }
    fprintf(stderr, "unknown case %s\n", argv[2]);
    return 2;
}
