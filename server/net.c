/* net: see net.h. The libwebsockets adapter of the core: it turns lws
 * callbacks into core events (open, bytes, peer close, writable, closed),
 * carries out the core's actions (wake, close with a code, abort), serves
 * the page and the HTTP side doors (http.c) and runs the tick clock
 * (tick_clock.c). No session rule lives here. */
#define _GNU_SOURCE /* ppoll */
#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "core.h"
#include "agones.h"
#include "fleet.h"
#include "http.h"
#include "httpfb.h"
#include "httpfb_lws.h"
#include "sdk_http.h"
#include "log.h"
#include "proto.h"
#include "secret.h"
#include "tick_clock.h"
#include "tls.h"
#include "ws_native.h"

#define CLOSE_GRACE_SECONDS 2     /* to get a close frame out before cutting off */
#define SHUTDOWN_GRACE_US (1500 * 1000)
#define PACED_MAX_SLEEP_MS 100    /* a paced sleep, should the clock's timerfd never fire */
#define PACED_EARLY_US 1500       /* a paced turn's first read, this long before the tick */
#define SPECTATOR_BATCH 64        /* spectators woken per pass (about 0.4 ms of writes) */
#define SPECTATOR_MARGIN_US 500   /* no batch starts later than this before a tick */
#define PASS_MIN_US 4000          /* the least time an lws pass may take (service_pass) */
#define NET_MM_PENDING 1024 /* matchmaking requests waiting for Redis at once */
/* Kernel send buffer per client: seconds of snapshots, not megabytes, so a
 * client that stops reading is noticed and its memory stays bounded. */
#define NET_SCRAPE_RESERVE 4      /* connections past the caps for --metrics-allow addresses */

/* Per game connection (lws per-session data). */
typedef struct game_conn {
    uint32_t conn;          /* the core's handle, 0: none */
    uint16_t close_code;    /* a CLOSE action waiting for WRITEABLE */
    const char *close_why;
} game_conn;

struct net_server {
    core *core;
    results *results;       /* not owned: main opens and closes it */
    recorder *recorder;     /* not owned, NULL: no --replay-dir */
    replay_list *replays;   /* GET /api/replays; NULL: no --replay-dir */
    struct lws_context *ctx;
    tick_clock *clock;
    int pacing;                        /* service_turn: wake at the tick (--pacing off: 0) */
    int64_t pass_us;                   /* the clock when the current lws pass began (service_pass) */
    uint64_t turns_paced, turns_events; /* tickwire_loop_turns_total */
    volatile sig_atomic_t stop;
    volatile sig_atomic_t drain_asked; /* SIGTERM with --drain-timeout: drain, then stop */
    int drain_timeout;      /* seconds; 0: SIGTERM stops at once */
    int port;
    int tls;
    int http_timeout;
    int client_sndbuf;      /* SO_SNDBUF of a game connection */
    uint32_t accepted;      /* the connection being accepted: its core handle, until lws instantiates it */
    scrape_rules scrape;    /* who may read /metrics */
    scrape_rules admin;     /* who may POST /admin/drain (token only) */
    scrape_rules mm_rules;  /* who may POST /api/matchmake (token only) */
    int mm_on;              /* --matchmaker-token-file given */
    int matchmaker_only;    /* `tickwire-server matchmaker`: no game here */
    int no_websocket;       /* --no-websocket: upgrades refused, the HTTP fallback only */
    int admin_on;           /* --admin-token-file given */
    int agones_on;          /* AGONES_SDK_HTTP_PORT set: speak to the sidecar */
    agones agones;          /* what is owed to it */
    sdk_http sdk;           /* the call in flight */
    log_ratelimit agones_log; /* failed calls: one line a while */
    fleet *fleet;           /* --redis: this process in the fleet directory; NULL: alone */
    fleet_match fleet_matches[FLEET_MAX_MATCHES]; /* scratch for a heartbeat */
    struct {
        struct lws *wsi;    /* NULL: free, or its connection closed meanwhile */
        uint32_t gen;
        int busy;
    } mm[NET_MM_PENDING];   /* POST /api/matchmake waiting for Redis */
    uint32_t mm_gen;
    const char *tls_cert, *tls_key; /* loaded at LOAD_EXTRA_SERVER_VERIFY_CERTS (tls.h) */
    uint8_t secret[SECRET_MAX];
    struct lws_protocol_vhost_options mime_wasm, mime_mjs;
    httpfb *httpfb;         /* the HTTP fallback's sessions (httpfb_lws.c) */
    uint32_t fb_ticks;      /* ticks since its deadlines were last looked at */
    struct lws_http_mount tw_mount, mount, metrics_mount, api_mount, healthz_mount, readyz_mount, admin_mount;
    lws_retry_bo_t no_validity;
    ws_native *wsn;         /* plaintext game connections, off lws (ws_native.h); NULL: --ws-native off, TLS */
    int64_t pass_end_us;    /* the current pass stops reading here (service_pass) */
    struct lws_protocols protocols[5];
    uint8_t scratch[LWS_PRE + CORE_MAX_MESSAGE];
};

core *net_core_of(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->core;
}

results *net_results_of(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->results;
}

recorder *net_recorder_of(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->recorder;
}

replay_list *net_replays_of(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->replays;
}

const scrape_rules *net_scrape_rules(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return &s->scrape;
}

int net_http_timeout(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->http_timeout;
}

static void flush_actions(net_server *s);

httpfb *net_httpfb_of(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->httpfb;
}

void net_flush(struct lws *wsi)
{
    flush_actions(lws_context_user(lws_get_context(wsi)));
}

int net_client_sndbuf(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->client_sndbuf;
}

const scrape_rules *net_admin_rules(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->admin_on ? &s->admin : NULL;
}

static void begin_drain(net_server *s)
{
    core_drain(s->core, tick_clock_now(), (int64_t)s->drain_timeout * 1000000);
    flush_actions(s);
    fleet_beat_soon(s->fleet); /* the directory hears of it at the next tick */
}

void net_begin_drain(struct lws *wsi)
{
    begin_drain(lws_context_user(lws_get_context(wsi)));
}

static void random_bytes(void *user, void *buf, size_t len)
{
    (void)user;
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n <= 0)
            continue; /* EINTR; the kernel's pool never runs dry after boot */
        p += n;
        len -= (size_t)n;
    }
}

/* fleet_claim_cb: tag is the core handle. */
static void claimed(void *user, uint64_t tag, int result)
{
    net_server *s = user;
    static const int verdict[] = {0, CORE_CLAIM_FRESH, CORE_CLAIM_SEAT, CORE_CLAIM_USED, CORE_CLAIM_UNCHECKED};
    core_claim_done(s->core, (uint32_t)tag, tick_clock_now(), result >= 1 && result <= 4 ? verdict[result]
                                                                                          : CORE_CLAIM_UNCHECKED);
    flush_actions(s);
}

/* CORE_CLAIM: the token's first use in the fleet? Answered at once
 * (unchecked) when Redis is away: players are not kept out by an outage. */
static void claim_token(net_server *s, const core_action *a)
{
    char hex[2 * TOKEN_NONCE_LEN + 1];
    for (int i = 0; i < TOKEN_NONCE_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", a->nonce[i]);
    int64_t ttl_ms = ((int64_t)a->expiry - (int64_t)time(NULL)) * 1000 + 1000;
    if (!s->fleet || fleet_claim(s->fleet, hex, a->label, ttl_ms, tick_clock_now(), claimed, s, a->conn) < 0)
        core_claim_done(s->core, a->conn, tick_clock_now(), CORE_CLAIM_UNCHECKED);
}

/* A core action for a native connection. The clock is read once per
 * flush, at the first close. */
static void native_action(net_server *s, const core_action *a, int64_t *now_us)
{
    if (!*now_us && a->kind == CORE_CLOSE)
        *now_us = tick_clock_now();
    switch (a->kind) {
    case CORE_WAKE:
        ws_native_wake(s->wsn, a->transport); /* written at the next pass */
        break;
    case CORE_CLOSE:
        ws_native_close(s->wsn, a->transport, a->code, a->reason, *now_us);
        break;
    case CORE_ABORT:
        ws_native_abort(s->wsn, a->transport);
        break;
    case CORE_CLAIM:
        break;
    }
}

/* Carries out what the core asked for. Called after every core call. */
static void flush_actions(net_server *s)
{
    core_action a;
    int64_t now_us = 0;
again:
    while (core_next_action(s->core, &a)) {
        if (a.kind == CORE_CLAIM) {
            claim_token(s, &a); /* whatever the transport: its pointer is not touched */
            continue;
        }
        httpfb_session *fs = httpfb_of(s->httpfb, a.transport);
        if (fs) {
            httpfb_lws_action(s->httpfb, fs, &a);
            continue;
        }
        if (ws_native_owns(s->wsn, a.transport)) {
            native_action(s, &a, &now_us);
            continue;
        }
        struct lws *wsi = a.transport;
        game_conn *gc = lws_wsi_user(wsi);
        switch (a.kind) {
        case CORE_WAKE:
            lws_callback_on_writable(wsi);
            break;
        case CORE_CLAIM:
            break; /* above */
        case CORE_CLOSE:
            /* From WRITEABLE (closing from RECEIVE while more frames sit in
             * the same read loses the close frame). A peer that does not
             * read may never get one: cut off after the grace. */
            gc->close_code = a.code;
            gc->close_why = a.reason;
            lws_callback_on_writable(wsi);
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, CLOSE_GRACE_SECONDS);
            break;
        case CORE_ABORT:
            /* WRITEABLE will not come while choked: close without it. */
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
            break;
        }
    }
    /* Native connections that ended are torn down here (never inside its
     * own read loop); telling the core may queue more actions. */
    if (s->wsn && ws_native_reap(s->wsn, now_us))
        goto again;
}

static void native_flush(void *user)
{
    flush_actions(user);
}

/* "address:port" of the peer, for logs. */
static void peer_name(struct lws *wsi, char *out, size_t outlen)
{
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char addr[48] = "?";
    unsigned port = 0;
    int fd = lws_get_socket_fd(wsi);
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&sa, &sl) == 0) {
        if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &a6->sin6_addr, addr, sizeof addr);
            port = ntohs(a6->sin6_port);
        } else if (sa.ss_family == AF_INET) {
            struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof addr);
            port = ntohs(a4->sin_port);
        }
    }
    snprintf(out, outlen, "%s:%u", addr, port);
}

static int on_established(net_server *s, struct lws *wsi, game_conn *gc)
{
    memset(gc, 0, sizeof *gc);
    char peer[SESSION_PEER_LEN], ip[SESSION_IP_LEN] = "";
    peer_name(wsi, peer, sizeof peer);
    lws_get_peer_simple(wsi, ip, sizeof ip);
    int fd = s->wsn ? lws_take_socket(wsi) : -1;
    if (fd >= 0) {
        /* From here the socket is the native set's, and so is the
         * connection's accept handle; lws forgets the wsi quietly. */
        uint32_t accepted = (uint32_t)(uintptr_t)lws_get_opaque_user_data(wsi);
        lws_set_opaque_user_data(wsi, NULL);
        ws_native_adopt(s->wsn, fd, accepted, peer, ip, tick_clock_now());
        return -1;
    }
    int sndbuf = s->client_sndbuf;
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    gc->conn = core_conn_open(s->core, tick_clock_now(), wsi, peer, ip);
    if (!gc->conn) {
        log_event(LOG_ERROR, "connect_failed", "peer=%s reason=\"no session could be had\"", peer);
        return -1;
    }
    flush_actions(s);
    return 0;
}

static int on_writeable(net_server *s, struct lws *wsi, game_conn *gc)
{
    if (gc->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)gc->close_code, (unsigned char *)gc->close_why,
                         strlen(gc->close_why));
        return -1;
    }
    uint8_t *p = s->scratch + LWS_PRE;
    /* The core reads no time when it writes: the pass's clock, not one
     * clock read per message. */
    size_t n = core_conn_writable(s->core, gc->conn, s->pass_us, p, CORE_MAX_MESSAGE);
    flush_actions(s);
    if (n && lws_write(wsi, p, n, LWS_WRITE_BINARY) < (int)n)
        return -1;
    core_metrics(s->core)->sent_bytes += n;
    httpfb_stats *fst = httpfb_get_stats(s->httpfb);
    fst->msgs_out[HTTPFB_T_WS] += n > 0;
    fst->bytes_out[HTTPFB_T_WS] += n;
    return 0;
}

static int game_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    game_conn *gc = user;
    net_server *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        metrics_http_count(core_metrics(s->core), EP_WEBSOCKET, 101);
        int rc = on_established(s, wsi, gc);
        if (!gc->conn)
            return rc; /* taken by ws_native (which counts it), or refused */
        httpfb_get_stats(s->httpfb)->sessions_total[HTTPFB_T_WS]++;
        httpfb_get_stats(s->httpfb)->sessions[HTTPFB_T_WS]++;
        return rc;
    }
    case LWS_CALLBACK_RECEIVE:
        core_metrics(s->core)->received_bytes += len;
        httpfb_get_stats(s->httpfb)->bytes_in[HTTPFB_T_WS] += len;
        httpfb_get_stats(s->httpfb)->msgs_in[HTTPFB_T_WS] += lws_is_final_fragment(wsi) &&
                                                             !lws_remaining_packet_payload(wsi);
        core_conn_recv(s->core, gc->conn, tick_clock_now(), in, len, lws_remaining_packet_payload(wsi),
                       lws_is_final_fragment(wsi), !lws_frame_is_binary(wsi));
        flush_actions(s);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(s, wsi, gc);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* A close frame with 1000 or 1001 is the player leaving (a Leave
         * button, a closed tab); a dropped network sends none. */
        if (len >= 2)
            core_conn_peer_close(s->core, gc->conn, ((const uint8_t *)in)[0] << 8 | ((const uint8_t *)in)[1]);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (gc->conn) {
            core_conn_closed(s->core, gc->conn, tick_clock_now());
            gc->conn = 0;
            httpfb_get_stats(s->httpfb)->sessions[HTTPFB_T_WS]--;
            flush_actions(s);
        }
        return 0;
    default:
        return 0;
    }
}

static int64_t unix_ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- every accepted connection -------------------------------------------------
 * Each TCP connection counts against the caps from accept to close
 * (core_accept). lws 4.1.6 shows protocol 0 a new connection twice before
 * reading from it: FILTER_NETWORK_CONNECTION, on the listening wsi with the
 * fd and the peer's address (returning nonzero there closes the fd at once,
 * before any wsi exists), then, in the same call, SERVER_NEW_CLIENT_
 * INSTANTIATED on the new wsi. The handle taken at the first is moved into
 * the wsi's opaque user data at the second; it stays there through the
 * upgrade to the game protocol (per-session data does not: lws reallocates
 * it) and is given back at WSI_DESTROY, which lws sends for every wsi it
 * frees, after closing the fd. Cleared when given back, so once only. */

/* Over a cap, on plain HTTP: a best-effort 503, so a person with curl or a
 * bot reads why. What the client already sent is read first: closing on
 * unread bytes sends a reset, which can destroy the answer in flight. Never
 * blocks; lws closes the fd right after. */
static int refuse_plain(int fd)
{
#define REFUSE_BODY "connection limit reached, try again later\n"
    char answer[256], sink[2048];
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                     sizeof REFUSE_BODY - 1, REFUSE_BODY);
#undef REFUSE_BODY
    for (int i = 0; i < 8 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++) {
    }
    if (send(fd, answer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < n) {
        log_event(LOG_DEBUG, "refuse_answer", "reason=\"503 not sent whole: %s\"", strerror(errno));
        return 0;
    }
    return 1;
}

/* Half-open connections, reaped by the kernel at no cost to the loop: a
 * connection quiet for LIVENESS_IDLE_S is probed every LIVENESS_IDLE_S
 * (TCP keepalive), and one whose data or probes stay unacknowledged for
 * LIVENESS_DEAD_S is closed (TCP_USER_TIMEOUT); lws then sees the error
 * and closes the wsi. A peer whose kernel answers but whose program no
 * longer reads is the core's (a socket not drained for
 * CORE_SEND_STALL_S). */
#define LIVENESS_IDLE_S 5
#define LIVENESS_DEAD_S 15
static void set_liveness(int fd)
{
    int on = 1, idle = LIVENESS_IDLE_S, count = LIVENESS_DEAD_S / LIVENESS_IDLE_S;
    unsigned int dead_ms = LIVENESS_DEAD_S * 1000;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &dead_ms, sizeof dead_ms) < 0)
        log_event(LOG_DEBUG, "liveness", "reason=\"%s\"", strerror(errno));
}

static int on_filter_network(net_server *s, int fd)
{
    if (s->accepted) {
        /* The previous accept never reached a wsi (lws failed to adopt it
         * and closed the fd): give its count back. */
        core_accept_closed(s->core, s->accepted);
        s->accepted = 0;
    }
    char ip[ADMISSION_IP_LEN] = "";
    lws_get_peer_simple_fd(fd, ip, sizeof ip);
    s->accepted = core_accept(s->core, tick_clock_now(), ip);
    if (s->accepted) {
        set_liveness(fd);
        return 0;
    }
    if (!s->tls && refuse_plain(fd))
        metrics_http_count(core_metrics(s->core), EP_OTHER, 503); /* before any request was read */
    return 1;
}

static void on_instantiated(net_server *s, struct lws *wsi)
{
    if (s->accepted && !lws_get_opaque_user_data(wsi)) {
        lws_set_opaque_user_data(wsi, (void *)(uintptr_t)s->accepted);
        s->accepted = 0;
    }
}

static void on_wsi_destroy(net_server *s, struct lws *wsi)
{
    uintptr_t h = (uintptr_t)lws_get_opaque_user_data(wsi);
    if (h) {
        lws_set_opaque_user_data(wsi, NULL);
        core_accept_closed(s->core, (uint32_t)h);
    }
}

/* Protocol 0: the connection's count, then HTTP (http.c). */
static int http_protocol_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                                  size_t len)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return on_filter_network(s, (int)(intptr_t)in);
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        on_instantiated(s, wsi);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        on_wsi_destroy(s, wsi);
        break;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: {
        /* The vhost's TLS context (user), made empty: the whole chain
         * and the key go in here (tls.h). Nonzero fails the start. */
        char err[256];
        if (!s->tls_cert)
            return 0;
        if (tls_ssl_ctx_load(user, s->tls_cert, s->tls_key, err, sizeof err) == 0)
            return 0;
        log_event(LOG_ERROR, "tls", "reason=\"%s\"", err);
        return 1;
    }
    default:
        break;
    }
    return http_callback(wsi, reason, user, in, len);
}

/* ---- Agones (agones.h): one call at a time, moved along every tick ------------------ */

/* "name" and "state" of GET /gameserver's answer, for the log. */
static void json_field(const char *body, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(body, pat);
    size_t n = 0;
    if (p)
        for (p += strlen(pat); *p && *p != '"' && n + 1 < cap; p++)
            out[n++] = (*p >= 0x20 && *p < 0x7f && *p != '\\') ? *p : '?';
    out[n] = '\0';
}

static void agones_answered(net_server *s, agones_call call, int status, int64_t now_us)
{
    agones_done(&s->agones, call, status > 0 ? status : 0, now_us);
    int ok = status >= 200 && status < 300;
    uint64_t held;
    if (ok && call == AGONES_READY) {
        log_event(LOG_INFO, "agones", "call=ready status=%d", status);
    } else if (ok && call == AGONES_GAMESERVER) {
        char name[96], state[32];
        json_field(sdk_http_body(&s->sdk), "name", name, sizeof name);
        json_field(sdk_http_body(&s->sdk), "state", state, sizeof state);
        log_event(LOG_INFO, "agones", "call=gameserver name=\"%s\" state=\"%s\"", name, state);
    } else if (call == AGONES_SHUTDOWN) {
        log_event(ok ? LOG_INFO : LOG_WARN, "agones", "call=shutdown status=%d", status);
    } else if (!ok && log_ratelimit_pass(&s->agones_log, now_us, &held)) {
        log_event(LOG_WARN, "agones", "call=%s status=%d reason=\"%s\" suppressed=%llu", agones_call_name(call),
                  status, status > 0 ? "sidecar answered an error" : "sidecar not reachable", (unsigned long long)held);
    }
}

static void agones_step(net_server *s, int64_t now_us)
{
    int humans = 0, npcs = 0;
    lobby_count(core_lobby(s->core), &humans, &npcs);
    agones_note_players(&s->agones, humans);
    if (s->agones.in_flight != AGONES_NONE) {
        int r = sdk_http_poll(&s->sdk, now_us);
        if (r == 0)
            return;
        agones_answered(s, s->agones.in_flight, r, now_us);
    }
    agones_call c = agones_next(&s->agones, now_us);
    if (c == AGONES_NONE)
        return;
    static const char *const path[AGONES_CALLS] = {"", "/ready", "/health", "/gameserver", "/shutdown"};
    if (sdk_http_start(&s->sdk, c == AGONES_GAMESERVER ? "GET" : "POST", path[c],
                       c == AGONES_GAMESERVER ? NULL : "{}", now_us) < 0)
        agones_answered(s, c, 0, now_us);
}

/* tickwire_redis_*: the fleet directory's connection (--redis). */
static size_t fleet_metrics(const net_server *s, char *buf, size_t cap)
{
    const fleet_stats *fs = fleet_get_stats(s->fleet);
    int w = snprintf(buf, cap,
                     "# HELP tickwire_redis_up 1 while the fleet directory (Redis) answers heartbeats.\n"
                     "# TYPE tickwire_redis_up gauge\ntickwire_redis_up %d\n"
                     "# HELP tickwire_redis_outages_total Times the connection to Redis was lost (matches play on).\n"
                     "# TYPE tickwire_redis_outages_total counter\ntickwire_redis_outages_total %llu\n"
                     "# HELP tickwire_redis_connects_total Connections to Redis made (the first and each reconnect).\n"
                     "# TYPE tickwire_redis_connects_total counter\ntickwire_redis_connects_total %llu\n"
                     "# HELP tickwire_redis_heartbeats_total Registrations sent to Redis, by result.\n"
                     "# TYPE tickwire_redis_heartbeats_total counter\n"
                     "tickwire_redis_heartbeats_total{result=\"ok\"} %llu\n"
                     "tickwire_redis_heartbeats_total{result=\"error\"} %llu\n"
                     "# HELP tickwire_matchmake_total POST /api/matchmake answers: a new seat, the same seat for a "
                     "retried request id, no room, or Redis unreachable.\n"
                     "# TYPE tickwire_matchmake_total counter\n"
                     "tickwire_matchmake_total{result=\"seat\"} %llu\n"
                     "tickwire_matchmake_total{result=\"retry\"} %llu\n"
                     "tickwire_matchmake_total{result=\"full\"} %llu\n"
                     "tickwire_matchmake_total{result=\"unavailable\"} %llu\n",
                     fs->up, (unsigned long long)fs->outages, (unsigned long long)fs->connects,
                     (unsigned long long)fs->beats_ok, (unsigned long long)fs->beats_failed,
                     (unsigned long long)fs->mm_seats, (unsigned long long)fs->mm_retries,
                     (unsigned long long)fs->mm_full, (unsigned long long)fs->mm_failed);
    return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

/* ---- POST /api/matchmake: requests waiting for the fleet's answer ------------------- */

const scrape_rules *net_matchmaker_rules(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->fleet && s->mm_on ? &s->mm_rules : NULL;
}

int net_matchmaker_only(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->matchmaker_only;
}

int net_no_websocket(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->no_websocket;
}

/* fleet_mm_cb: tag is gen << 32 | slot. The connection may be gone. */
static void matchmade(void *user, uint64_t tag, const fleet_seat *seat)
{
    net_server *s = user;
    int slot = (int)(tag & 0xffffffffu);
    uint32_t gen = (uint32_t)(tag >> 32);
    if (slot >= NET_MM_PENDING || !s->mm[slot].busy || s->mm[slot].gen != gen)
        return;
    struct lws *wsi = s->mm[slot].wsi;
    s->mm[slot].busy = 0;
    s->mm[slot].wsi = NULL;
    if (wsi)
        http_matchmake_done(wsi, seat);
}

int net_matchmake(struct lws *wsi, const char *request_id, const char *label, const char *token, const char *seat_id)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    if (!s->fleet)
        return 0;
    int slot = -1;
    for (int i = 0; i < NET_MM_PENDING && slot < 0; i++)
        if (!s->mm[i].busy)
            slot = i;
    if (slot < 0)
        return 0;
    uint32_t gen = ++s->mm_gen;
    if (fleet_matchmake(s->fleet, request_id, label, token, seat_id, tick_clock_now(), matchmade, s,
                        (uint64_t)gen << 32 | (uint64_t)slot) < 0)
        return 0;
    s->mm[slot].busy = 1;
    s->mm[slot].gen = gen;
    s->mm[slot].wsi = wsi;
    return slot + 1;
}

void net_matchmake_cancel(struct lws *wsi, int slot)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    if (slot >= 1 && slot <= NET_MM_PENDING && s->mm[slot - 1].wsi == wsi)
        s->mm[slot - 1].wsi = NULL; /* the answer, when it comes, goes nowhere */
}

/* tickwire_loop_turns_total: how the loop woke (service_turn). */
static size_t loop_metrics(const net_server *s, char *buf, size_t cap)
{
    int w = snprintf(buf, cap,
                     "# HELP tickwire_loop_turns_total Turns of the event loop: paced (one wakeup per tick) or "
                     "woken by events.\n# TYPE tickwire_loop_turns_total counter\n"
                     "tickwire_loop_turns_total{mode=\"paced\"} %llu\ntickwire_loop_turns_total{mode=\"events\"} %llu\n",
                     (unsigned long long)s->turns_paced, (unsigned long long)s->turns_events);
    return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

size_t net_metrics_extra(struct lws *wsi, char *buf, size_t cap)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    size_t off = loop_metrics(s, buf, cap);
    off += httpfb_metrics_text(s->httpfb, buf + off, cap - off);
    off += s->fleet ? fleet_metrics(s, buf + off, cap - off) : 0;
    buf += off;
    cap -= off;
    if (!s->agones_on || cap == 0)
        return off;
    size_t n = 0;
    int w = snprintf(buf, cap, "# HELP tickwire_agones_calls_total Calls to the Agones SDK sidecar, by call and result.\n"
                               "# TYPE tickwire_agones_calls_total counter\n");
    for (int c = AGONES_READY; c < AGONES_CALLS && w >= 0 && (size_t)w < cap - n; c++) {
        n += (size_t)w;
        w = snprintf(buf + n, cap - n,
                     "tickwire_agones_calls_total{call=\"%s\",result=\"ok\"} %llu\n"
                     "tickwire_agones_calls_total{call=\"%s\",result=\"error\"} %llu\n",
                     agones_call_name((agones_call)c), (unsigned long long)s->agones.ok[c],
                     agones_call_name((agones_call)c), (unsigned long long)s->agones.failed[c]);
    }
    if (w >= 0 && (size_t)w < cap - n)
        n += (size_t)w;
    return off + n;
}

/* ---- the fleet directory (fleet.h): a heartbeat a second, from the tick ------------- */

static void fleet_step(net_server *s, int64_t now_us)
{
    if (!fleet_beat_due(s->fleet, now_us)) {
        fleet_tick(s->fleet, now_us, NULL);
        return;
    }
    static const char *const phase[] = {"warmup", "live", "ended"};
    const lobby *l = core_lobby(s->core);
    fleet_status st = {.draining = core_draining(s->core), .matches = s->fleet_matches};
    for (int i = 0; i < l->nmatches && st.nmatches < FLEET_MAX_MATCHES; i++) {
        const match *m = l->matches[i];
        s->fleet_matches[st.nmatches++] = (fleet_match){m->id, m->label, m->humans + m->npcs, m->cfg.size,
                                                        phase[m->state.phase % 3]};
        st.players += m->humans;
    }
    fleet_tick(s->fleet, now_us, &st);
}

static void on_tick(void *user, int64_t now_us, uint32_t missed)
{
    net_server *s = user;
    core_set_unix_ms(s->core, unix_ms_now());
    if (missed)
        core_ticks_missed(s->core, missed, now_us);
    core_tick(s->core, now_us);
    flush_actions(s);
    if (s->wsn) {
        ws_native_tick(s->wsn, now_us); /* close frames never answered */
        flush_actions(s);
    }
    /* The HTTP fallback's deadlines (seconds) and keepalives, ten times a second. */
    if (++s->fb_ticks >= (uint32_t)(core_tick_rate(s->core) + 9) / 10) {
        s->fb_ticks = 0;
        httpfb_lws_service(s->httpfb, s->core, now_us);
        flush_actions(s);
    }
    if (s->agones_on)
        agones_step(s, now_us);
    if (s->fleet)
        fleet_step(s, now_us);
}

/* ---- lifecycle ------------------------------------------------------------- */

/* libwebsockets' own log lines go through ours (JSON when JSON is chosen). */
static void lws_log_emit(int level, const char *line)
{
    char text[512], q[1024];
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    /* lws prefixes "[date] E: "; keep what follows. */
    const char *msg = line;
    const char *tag = strstr(line, ": ");
    if (line[0] == '[' && tag && (size_t)(tag - line) < n)
        msg = tag + 2;
    snprintf(text, sizeof text, "%.*s", (int)(n - (size_t)(msg - line)), msg);
    log_event(level & LLL_ERR ? LOG_ERROR : level & LLL_WARN ? LOG_WARN : LOG_DEBUG, "lws", "msg=\"%s\"",
              log_quote(text, q, sizeof q));
}

/* Binds host:port once before lws does, so a failure is reported with its
 * real cause (lws logs a line and goes on with nothing listening). */
static int check_listen(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = strchr(host, ':') ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "cannot listen on %s:%d: --host %s: %s", host, port, host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s:%d: %s%s", host, port, strerror(e),
                 e == EACCES && port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "");
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    close(fd);
    freeaddrinfo(ai);
    return 0;
}

/* A web root without index.html serves no page: say so at start-up. */
static void check_web_root(const char *root)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/index.html", root);
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        log_event(LOG_WARN, "web_root", "path=\"%s\" reason=\"not a directory: the demo page will not be served\"", root);
    else if (stat(path, &st) != 0)
        log_event(LOG_WARN, "web_root", "path=\"%s\" reason=\"no index.html: the demo page will not be served\"", root);
}

/* The native set's epoll fd is readable: its connections' reads and
 * writes, within the current pass's budget. */
static int native_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user, (void)in, (void)len;
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    net_server *s = lws_context_user(lws_get_context(wsi));
    if (s->wsn) {
        int64_t now = tick_clock_now();
        ws_native_service(s->wsn, now, s->pass_end_us > now ? s->pass_end_us : now + PASS_MIN_US);
        flush_actions(s);
    }
    return 0;
}

/* Plaintext game connections leave lws once upgraded (ws_native.h). */
static int start_native(net_server *s, const tw_config *cfg, char *err, size_t errlen)
{
    if (s->tls || cfg->no_ws_native)
        return 0;
    ws_native_config wc = {
        .core = s->core,
        .max_conns = cfg->max_conns > 0 ? cfg->max_conns : 4096,
        .sndbuf = s->client_sndbuf,
        .close_grace_us = (int64_t)CLOSE_GRACE_SECONDS * 1000000,
        .stats = httpfb_get_stats(s->httpfb),
        .flush = native_flush,
        .flush_user = s,
        .now = tick_clock_now,
    };
    char why[128];
    if (!(s->wsn = ws_native_create(&wc, why, sizeof why))) {
        snprintf(err, errlen, "native WebSocket set: %s", why);
        return -1;
    }
    lws_sock_file_fd_type fd;
    fd.filefd = ws_native_fd(s->wsn);
    if (!lws_adopt_descriptor_vhost(lws_get_vhost_by_name(s->ctx, "default"), LWS_ADOPT_RAW_FILE_DESC, fd,
                                    "tickwire-ws-native", NULL)) {
        close(fd.filefd);
        ws_native_destroy(s->wsn, tick_clock_now());
        s->wsn = NULL;
        snprintf(err, errlen, "native WebSocket set: libwebsockets would not watch its epoll fd");
        return -1;
    }
    return 0;
}

static void init_protocols(net_server *s, const tw_config *cfg)
{
    s->protocols[0] = (struct lws_protocols){"http", http_protocol_callback, sizeof(http_session), 0, 0, NULL, 0};
    s->protocols[1] = (struct lws_protocols){
        .name = PROTO_SUBPROTOCOL,
        .callback = game_callback,
        .per_session_data_size = sizeof(game_conn),
        .rx_buffer_size = 128,
        .tx_packet_size = CORE_MAX_MESSAGE,
    };
    s->protocols[2] = tick_clock_protocol;
    s->protocols[3] = (struct lws_protocols){.name = "tickwire-ws-native", .callback = native_callback};
    s->mime_mjs = (struct lws_protocol_vhost_options){NULL, NULL, ".mjs", "text/javascript"};
    s->mime_wasm = (struct lws_protocol_vhost_options){&s->mime_mjs, NULL, ".wasm", "application/wasm"};
    s->mount = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = cfg->web_root,
        .def = "index.html",
        .origin_protocol = LWSMPRO_FILE,
        .extra_mimetypes = &s->mime_wasm,
    };
    s->api_mount = (struct lws_http_mount){
        .mount_next = &s->mount,
        .mountpoint = "/api",
        .mountpoint_len = 4,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    s->healthz_mount = (struct lws_http_mount){
        .mount_next = &s->api_mount,
        .mountpoint = "/healthz",
        .mountpoint_len = 8,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    s->readyz_mount = (struct lws_http_mount){
        .mount_next = &s->healthz_mount,
        .mountpoint = "/readyz",
        .mountpoint_len = 7,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    s->admin_mount = (struct lws_http_mount){
        .mount_next = &s->readyz_mount,
        .mountpoint = "/admin",
        .mountpoint_len = 6,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    s->tw_mount = (struct lws_http_mount){
        .mount_next = &s->metrics_mount,
        .mountpoint = "/tw",
        .mountpoint_len = 3,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    s->metrics_mount = (struct lws_http_mount){
        .mount_next = &s->admin_mount,
        .mountpoint = "/metrics",
        .mountpoint_len = 8,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
}

/* admission's reserve_ok: the --metrics-allow networks, none when unset. */
static int reserve_ok(void *user, const char *ip)
{
    return scrape_ip_allowed(user, ip, 0);
}

/* --metrics-token-file and --metrics-allow into s->scrape (cli_parse has
 * checked the networks). A token is one line of printable characters
 * (it travels in a header). */
static int load_scrape_rules(net_server *s, const tw_config *cfg, char *err, size_t errlen)
{
    scrape_rules *r = &s->scrape;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < cfg->n_metrics_allow && i < SCRAPE_MAX_NETS; i++)
        if (scrape_net_parse(cfg->metrics_allow[i], &r->nets[r->n_nets++]) < 0) {
            snprintf(err, errlen, "--metrics-allow: '%s' is not a network", cfg->metrics_allow[i]);
            return -1;
        }
    if (!cfg->metrics_token_file)
        return 0;
    char why[256];
    int n = secret_read(cfg->metrics_token_file, r->token, sizeof r->token - 1, why, sizeof why);
    if (n < 0) {
        snprintf(err, errlen, "--metrics-token-file: %s", why);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (r->token[i] < 0x21 || r->token[i] > 0x7e) {
            snprintf(err, errlen, "--metrics-token-file: %s: a token is one line of printable characters, no spaces",
                     cfg->metrics_token_file);
            memset(r->token, 0, sizeof r->token);
            return -1;
        }
    r->token_len = (size_t)n;
    return 0;
}

/* A bearer token from a file (--admin-token-file, --matchmaker-token-file),
 * read like the metrics token: one line, printable, no spaces. Returns 1
 * when loaded, 0 when path is NULL, -1 with err set. */
static int load_bearer(scrape_rules *r, const char *flag, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (!path)
        return 0;
    char why[256];
    int n = secret_read(path, r->token, sizeof r->token - 1, why, sizeof why);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", flag, why);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (r->token[i] < 0x21 || r->token[i] > 0x7e) {
            snprintf(err, errlen, "%s: %s: a token is one line of printable characters, no spaces", flag, path);
            memset(r->token, 0, sizeof r->token);
            return -1;
        }
    r->token_len = (size_t)n;
    return 1;
}

static int load_admin_rules(net_server *s, const tw_config *cfg, char *err, size_t errlen)
{
    int a = load_bearer(&s->admin, "--admin-token-file", cfg->admin_token_file, err, errlen);
    int m = a < 0 ? -1 : load_bearer(&s->mm_rules, "--matchmaker-token-file", cfg->matchmaker_token_file, err, errlen);
    s->admin_on = a == 1;
    s->mm_on = m == 1 || (m == 0 && cfg->matchmaker_open); /* open: no token rule */
    return a < 0 || m < 0 ? -1 : 0;
}

static core *create_core(net_server *s, const tw_config *cfg, const sim_map *map, char *err, size_t errlen)
{
    core_config cc = {
        .tick_rate = cfg->tick_rate,
        .snapshot_rate = cfg->snapshot_rate,
        .match_size = cfg->match_size,
        .npcs = cfg->npcs,
        .seed = cfg->seed,
        .idle_timeout = cfg->idle_timeout,
        .resume_grace = cfg->resume_grace,
        .max_unlag_ms = cfg->max_unlag_ms ? cfg->max_unlag_ms : -1,
        .aoi_radius = cfg->aoi_radius,
        .min_players = cfg->min_players,
        .match_time = cfg->match_time,
        .score_limit = cfg->score_limit ? cfg->score_limit : -1,
        .intermission = cfg->intermission,
        .spectator_rate = cfg->spectator_rate,
        .spectator_delay = cfg->spectator_delay,
        .max_spectators = cfg->max_spectators,
        .map_name = cfg->map_path,
        .fleet_claims = cfg->redis_url != NULL && !cfg->matchmaker_only,
        .on_round = s->results ? results_submit_cb : NULL,
        .round_user = s->results,
        .recorder = s->recorder,
        /* A few connections past the caps for the --metrics-allow
         * networks: a full server can still be scraped. */
        .admission = {.max_conns = cfg->max_conns, .max_conns_per_ip = cfg->max_conns_per_ip,
                      .reserve = s->scrape.n_nets ? NET_SCRAPE_RESERVE : 0, .reserve_ok = reserve_ok,
                      .reserve_user = &s->scrape},
        .random = random_bytes,
    };
    cc.admission.n_origins = cfg->n_origins < ADMISSION_MAX_ORIGINS ? cfg->n_origins : ADMISSION_MAX_ORIGINS;
    for (int i = 0; i < cc.admission.n_origins; i++)
        cc.admission.origins[i] = cfg->origins[i];
    if (cfg->token_secret_file) {
        int n = secret_read(cfg->token_secret_file, s->secret, sizeof s->secret, err, errlen);
        if (n < 0)
            return NULL;
        cc.secret = s->secret;
        cc.secret_len = (size_t)n;
    }
    core *c = core_create(&cc, map, err, errlen);
    memset(s->secret, 0, sizeof s->secret);
    if (c)
        core_set_unix_ms(c, unix_ms_now());
    return c;
}

net_server *net_server_create(const tw_config *cfg, const sim_map *map, results *res, recorder *rec, char *err,
                              size_t errlen)
{
    net_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->results = res;
    s->recorder = rec;
    s->client_sndbuf = cfg->client_sndbuf > 0 ? cfg->client_sndbuf : 64 * 1024;
    s->drain_timeout = cfg->drain_timeout;
    s->matchmaker_only = cfg->matchmaker_only;
    s->no_websocket = cfg->no_websocket;
    if (cfg->agones_port > 0) {
        s->agones_on = 1;
        agones_init(&s->agones, tick_clock_now());
        sdk_http_init(&s->sdk, cfg->agones_port);
        s->agones_log.interval_us = 10 * 1000000;
    }
    if (load_scrape_rules(s, cfg, err, errlen) < 0 || load_admin_rules(s, cfg, err, errlen) < 0 ||
        !(s->core = create_core(s, cfg, map, err, errlen))) {
        free(s);
        return NULL;
    }
    /* An open HTTP fallback session holds a place under the caps, so
     * there can never be more of them than --max-conns. */
    if (!(s->httpfb = httpfb_create(cfg->max_conns > 0 ? cfg->max_conns : 4096, random_bytes, NULL))) {
        snprintf(err, errlen, "out of memory");
        core_destroy(s->core);
        free(s);
        return NULL;
    }
    if (check_listen(cfg->host, cfg->port, err, errlen) < 0) {
        core_destroy(s->core);
        httpfb_destroy(s->httpfb);
        free(s);
        return NULL;
    }
    check_web_root(cfg->web_root);
    init_protocols(s, cfg);
    /* No lws validity timers: lws 4.1.6 re-files a connection's timer in
     * one sorted list on every frame received, walking the list from its
     * head (O(connections) per input: 22% of the server's CPU with 6,000
     * spectators). Half-open connections are reaped by the kernel instead
     * (set_liveness). */
    s->no_validity = (lws_retry_bo_t){.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};
    lws_set_log_level(log_enabled(LOG_DEBUG) ? LLL_ERR | LLL_WARN : LLL_ERR, lws_log_emit);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->host;
    info.protocols = s->protocols;
    info.mounts = &s->tw_mount;
    info.user = s;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.alpn = "http/1.1";
    /* --http-timeout S: from accept, S to send a whole request header (and
     * to finish a TLS handshake); between requests on a keep-alive
     * connection, S idle; inside a request body, S between two reads. Past
     * it lws closes the connection. */
    s->http_timeout = cfg->http_timeout > 0 ? cfg->http_timeout : 5;
    s->pacing = !cfg->no_pacing;
    info.timeout_secs = (unsigned int)s->http_timeout;
    info.timeout_secs_ah_idle = (unsigned int)s->http_timeout;
    info.keepalive_timeout = s->http_timeout;
    info.retry_and_idle_policy = &s->no_validity;
    /* With IPv6 on, lws 4.1.6 binds an IPv4 literal as [::] (every
     * address): keep IPv4 hosts on an IPv4 socket. */
    if (!strchr(cfg->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    s->tls = cfg->tls_cert != NULL;
    if (cfg->tls_cert) {
        /* mbedTLS backend: TLS 1.2. No ssl_cert_filepath: lws 4.1.6
         * would load only the first certificate of a chain. The chain and
         * the key are loaded at LOAD_EXTRA_SERVER_VERIFY_CERTS (tls.h). */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
        s->tls_cert = cfg->tls_cert;
        s->tls_key = cfg->tls_key;
    }
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not available?)", cfg->host, cfg->port);
        core_destroy(s->core);
        httpfb_destroy(s->httpfb);
        free(s);
        return NULL;
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    if (s->port <= 0) {
        snprintf(err, errlen, "cannot listen on %s:%d (libwebsockets opened no listening socket)", cfg->host,
                 cfg->port);
        net_server_destroy(s);
        return NULL;
    }
    if (cfg->redis_url) {
        char url[FLEET_MAX_URL + 1];
        if (cfg->public_url) {
            snprintf(url, sizeof url, "%s", cfg->public_url);
        } else {
            int wildcard = strcmp(cfg->host, "0.0.0.0") == 0 || strcmp(cfg->host, "::") == 0;
            int v6 = !wildcard && strchr(cfg->host, ':');
            snprintf(url, sizeof url, "%s://%s%s%s:%d/", s->tls ? "https" : "http", v6 ? "[" : "",
                     wildcard ? "127.0.0.1" : cfg->host, v6 ? "]" : "", s->port);
            if (wildcard)
                log_event(LOG_WARN, "public_url", "url=\"%s\" reason=\"--host is a wildcard: set --public-url to "
                          "the address players reach this server at\"", url);
        }
        /* What it can hold: its matches' slots, within its connection cap. */
        int humans_max = LOBBY_MAX_MATCHES * cfg->match_size;
        if (humans_max > cfg->max_conns)
            humans_max = cfg->max_conns;
        s->fleet = fleet_create(&(fleet_config){cfg->redis_url, cfg->process_id, url, humans_max,
                                                cfg->matchmaker_only},
                                tick_clock_now(), err, errlen);
        if (!s->fleet) {
            net_server_destroy(s);
            return NULL;
        }
    }
    if (start_native(s, cfg, err, errlen) < 0) {
        net_server_destroy(s);
        return NULL;
    }
    s->clock = tick_clock_start(s->ctx, cfg->tick_rate, on_tick, s, &core_metrics(s->core)->tick);
    if (rec && cfg->replay_dir)
        s->replays = replay_list_create(cfg->replay_dir);
    if (!s->clock || (rec && cfg->replay_dir && !s->replays)) {
        snprintf(err, errlen, "out of memory");
        net_server_destroy(s);
        return NULL;
    }
    return s;
}

int net_server_port(const net_server *s)
{
    return s->port;
}

void net_server_request_stop(net_server *s, int sig)
{
    /* The first SIGTERM drains when --drain-timeout allows; SIGINT (a
     * person at a terminal) and a second SIGTERM stop at once. */
    if (sig == SIGTERM && s->drain_timeout > 0 && !s->drain_asked)
        s->drain_asked = 1;
    else
        s->stop = sig ? sig : -1;
    lws_cancel_service(s->ctx);
}

/* One lws pass over the sockets (timeout_ms as lws_service's). It stops
 * SPECTATOR_MARGIN_US before the next tick, or after PASS_MIN_US when
 * that is sooner or past; the sockets left stay ready for the next pass.
 * Normally a pass takes far less (the pass at the tick reads the inputs
 * that came in the last 1.5 ms: ~1 ms at 1000 players). A burst (10,000
 * spectators leaving at once, a connect storm) is spread over the passes
 * of several ticks instead of holding the loop past them: a tick runs a
 * few ms late (the early pass and the pass at the tick), none is missed. */
static int service_pass(net_server *s, int timeout_ms)
{
    s->pass_us = tick_clock_now();
    int64_t left = tick_clock_deadline(s->clock) - SPECTATOR_MARGIN_US - s->pass_us;
    if (left < PASS_MIN_US)
        left = PASS_MIN_US;
    s->pass_end_us = s->pass_us + left;
    if (s->wsn) {
        /* The native connections first, straight (not through lws'
         * epoll, where their set is one descriptor): what the tick or the
         * last pass woke is written, then what arrived is read. */
        ws_native_write(s->wsn, s->pass_us);
        ws_native_service(s->wsn, s->pass_us, s->pass_end_us);
        flush_actions(s);
    }
    lws_service_budget(s->ctx, 0, (lws_usec_t)left);
    return lws_service(s->ctx, timeout_ms);
}

/* The spectators owed a view, after the players' snapshots: a batch per
 * pass (which also reads what arrived, players' inputs among it) while the
 * next tick is more than SPECTATOR_MARGIN_US away. The rest wait for the
 * next turn, after that tick's players. -1 when the loop failed. */
static int write_spectators(net_server *s)
{
    int64_t stop = tick_clock_deadline(s->clock) - SPECTATOR_MARGIN_US;
    while (core_spectators_owed(s->core) && tick_clock_now() < stop) {
        if (!core_wake_spectators(s->core, SPECTATOR_BATCH))
            break;
        flush_actions(s);
        if (service_pass(s, -1) < 0)
            return -1;
    }
    return 0;
}

/* One turn of the loop. Paced (the default, while every open connection is
 * a game connection): sleep on the tick clock's timerfd alone, then one
 * pass over every socket (inputs, accepts, closes), the tick, one more
 * pass to write the players' snapshots it woke, then the spectators owed a
 * view in batches until shortly before the next tick: about 60 wakeups a
 * second, whatever the message rate. Inputs are only applied at
 * the tick, so reading them there costs no latency. Not paced (an HTTP
 * connection is open, or --no-pacing, or no timerfd): wake for every
 * event, the tick on its timerfd among them, so pages, the API and TLS
 * handshakes are never held up to a tick. -1 when the loop failed. */
static int service_turn(net_server *s)
{
    int fd = tick_clock_fd(s->clock);
    if (!s->pacing || fd < 0 || core_accepted(s->core) > core_connections(s->core)) {
        tick_clock_hold(s->clock, 0);
        tick_clock_run_held(s->clock);
        s->turns_events++;
        if (service_pass(s, 0) < 0)
            return -1;
        return write_spectators(s);
    }
    s->turns_paced++;
    struct pollfd clock = {.fd = fd, .events = POLLIN};
    tick_clock_hold(s->clock, 1);
    int64_t early = tick_clock_deadline(s->clock) - PACED_EARLY_US - tick_clock_now();
    if (early > 0) {
        /* Most inputs read a little before the tick, so the pass at the
         * tick is short and the tick starts on time. */
        if (early > PACED_MAX_SLEEP_MS * 1000)
            early = PACED_MAX_SLEEP_MS * 1000;
        struct timespec ts = {.tv_sec = early / 1000000, .tv_nsec = (long)(early % 1000000) * 1000};
        if (ppoll(&clock, 1, &ts, NULL) == 0 && service_pass(s, -1) < 0) /* EINTR: a signal, seen below */
            return -1;
    }
    if (!tick_clock_due(s->clock)) /* the early pass may have seen it */
        poll(&clock, 1, PACED_MAX_SLEEP_MS);
    if (service_pass(s, -1) < 0)
        return -1;
    tick_clock_run_held(s->clock);
    if (service_pass(s, -1) < 0) /* the players' snapshots */
        return -1;
    return write_spectators(s);
}

void net_server_run(net_server *s)
{
    int failed = 0, drained = 0;
    while (!s->stop) {
        if (service_turn(s) < 0) {
            failed = 1;
            break;
        }
        if (s->drain_asked == 1) {
            s->drain_asked = 2;
            log_event(LOG_INFO, "signal", "signal=%d action=drain", SIGTERM);
            begin_drain(s);
        }
        if (core_draining(s->core) && core_drain_done(s->core, tick_clock_now())) {
            drained = 1;
            break;
        }
    }
    if (failed)
        log_event(LOG_ERROR, "stopping", "reason=\"event loop failed\"");
    else if (drained)
        log_event(LOG_INFO, "stopping", "reason=drained");
    else
        log_event(LOG_INFO, "stopping", "reason=\"signal\" signal=%d", (int)s->stop);

    /* Close every client with 1001 and give the close frames a moment. */
    tick_clock_hold(s->clock, 0);
    tick_clock_stop(s->clock);
    core_shutdown(s->core);
    flush_actions(s);
    httpfb_lws_shutdown(s->httpfb, s->core, tick_clock_now());
    flush_actions(s);
    int64_t until = tick_clock_now() + SHUTDOWN_GRACE_US;
    while (core_connections(s->core) > 0 && tick_clock_now() < until) {
        /* lws 4.1.6 sleeps until its next timer whatever the timeout, and
         * a native connection sets none: wait here, 10 ms at most. */
        if (s->wsn) {
            struct pollfd pf = {.fd = ws_native_fd(s->wsn), .events = POLLIN};
            poll(&pf, 1, 10);
        }
        if (lws_service(s->ctx, s->wsn ? -1 : 0) < 0)
            break;
        if (s->wsn) {
            ws_native_tick(s->wsn, tick_clock_now());
            flush_actions(s);
        }
    }
    if (s->agones_on) {
        /* The last word to the sidecar: Shutdown, given a moment. */
        agones_shutdown_now(&s->agones);
        int64_t give_up = tick_clock_now() + SDK_HTTP_TIMEOUT_US + 500000;
        while (!agones_shutdown_done(&s->agones) && tick_clock_now() < give_up) {
            agones_step(s, tick_clock_now());
            usleep(2000);
        }
        sdk_http_close(&s->sdk);
    }
    const metrics *m = core_metrics(s->core);
    uint64_t bad = 0;
    for (int r = 0; r < BAD_N; r++)
        bad += m->bad[r];
    log_event(LOG_INFO, "stop", "ticks=%llu snapshots_out=%llu bytes_out=%llu inputs_in=%llu "
              "missed_ticks=%llu dropped_slow=%llu bad_messages=%llu",
              (unsigned long long)m->tick.ticks, (unsigned long long)m->snapshots_out,
              (unsigned long long)m->snapshot_bytes_out, (unsigned long long)m->inputs_in,
              (unsigned long long)m->tick.missed_ticks, (unsigned long long)m->dropped_slow,
              (unsigned long long)bad);
}

void net_server_destroy(net_server *s)
{
    if (!s)
        return;
    fleet_destroy(s->fleet, 500000); /* off the directory first: no player is sent here any more */
    if (s->ctx)
        lws_context_destroy(s->ctx); /* closes the native set's epoll fd too */
    ws_native_destroy(s->wsn, tick_clock_now()); /* the core's actions left are dropped with it */
    s->wsn = NULL;
    tick_clock_free(s->clock);
    core_destroy(s->core);
    replay_list_destroy(s->replays);
    httpfb_destroy(s->httpfb);
    free(s);
}
