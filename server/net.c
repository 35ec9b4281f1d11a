/* net: see net.h.
 *
 * Per connection: a session waits for JOIN, then joins the first match with
 * a free slot. Every snapshot tick the match asks for WRITEABLE on each of
 * its clients; WRITEABLE sends only the newest snapshot ("latest wins"),
 * so at most one snapshot is ever queued per client. A client whose socket
 * stays choked for SEND_STALL_SECONDS is dropped with a logged reason.
 *
 * Bad input closes only that connection: text frame 1003, over
 * PROTO_MAX_CLIENT_MSG bytes 1009, anything malformed or out of order 1002. */
#include "net.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>

#include "log.h"
#include "match.h"
#include "proto.h"
#include "replay.h"
#include "token.h"

#define MAX_MATCHES 4096
#define MAX_CATCHUP_TICKS 4      /* ticks run back to back after a stall */
#define SEND_STALL_SECONDS 2     /* choked this long -> dropped */
#define JOIN_TIMEOUT_SECONDS 5    /* from upgrade to a valid JOIN */
#define MAX_TOKEN_TTL 3600        /* tokens valid longer are refused (bounds the replay cache) */
#define GUEST_TOKEN_TTL 60        /* demo mode's POST /api/join tokens */
#define HTTP_TIMEOUT_SECONDS 5    /* e.g. headers trickled byte by byte */
#define CLOSE_GRACE_SECONDS 2     /* to get a close frame out before cutting off */
/* Kernel send buffer per client: seconds of snapshots, not megabytes, so a
 * client that stops reading is noticed and its memory stays bounded. */
#define CLIENT_SNDBUF_BYTES (64 * 1024)

/* REPLACED: its player resumed on another connection. */
enum { S_AWAIT_JOIN, S_PLAYING, S_REPLACED };

typedef struct session {
    struct lws *wsi;
    struct session *next, *prev;
    int state;
    match *m;
    int pid;
    uint8_t need_welcome;
    uint32_t sent_tick;        /* newest snapshot tick sent */
    uint32_t first_tick;       /* send no snapshot older than this (the join) */
    uint32_t progress_tick;    /* match tick of the last send (or join) */
    uint32_t rx_tick;          /* match tick of the last message received */
    double msg_tokens, byte_tokens;  /* rate limit buckets */
    lws_usec_t bucket_us;
    uint16_t close_code;
    const char *close_why;
    size_t rx_len;
    uint8_t rx[PROTO_MAX_JOIN_MSG];
    lws_sorted_usec_list_t join_sul; /* closes with 4006 when no valid JOIN came */
    char peer[64];             /* address:port, for logs */
    char ip[48];               /* address, for the per-address limit */
    uint8_t left;              /* the client closed with 1000/1001: a leave, not a drop */
} session;

/* Why a message was refused; the label is the /metrics reason. */
typedef enum bad_reason {
    BAD_TEXT, BAD_TOO_LARGE, BAD_MALFORMED, BAD_UNEXPECTED, BAD_SEQUENCE, BAD_RATE, BAD_AUTH, BAD_RESUME, BAD_N
} bad_reason;
static const char *const BAD_LABELS[BAD_N] = {"text_frame", "too_large", "malformed", "unexpected",
                                              "sequence", "rate_limit", "auth", "resume_expired"};

/* Why a connection was refused before the upgrade. */
typedef enum refuse_reason { REF_ORIGIN, REF_MAX_CONNS, REF_MAX_PER_IP, REF_N } refuse_reason;
static const char *const REF_LABELS[REF_N] = {"origin", "max_conns", "max_conns_per_ip"};

#define TICK_BUCKETS 11
static const double TICK_LE[TICK_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002,
                                             0.004,   0.008,  0.016,   0.033,  0.1};

typedef struct net_stats {
    uint64_t ticks, missed_ticks, tick_overruns;
    uint64_t tick_hist[TICK_BUCKETS + 1]; /* last: over every bound */
    double tick_seconds;
    uint64_t snapshots_out, snapshot_bytes_out, full_out, welcome_out;
    uint64_t inputs_in, snapshots_skipped, dropped_slow, joins, leaves;
    uint64_t bad[BAD_N];
    uint64_t refused[REF_N];
    uint64_t dropped_idle;
    uint64_t holds, resumes, holds_expired, tokens_minted;
} net_stats;

typedef struct http_session {
    uint8_t *buf;  /* LWS_PRE bytes of headroom, then the body */
    size_t len;
    int api_join;  /* POST /api/join waiting for its request body */
} http_session;

struct net_server {
    tw_config cfg;
    sim_map map;
    struct lws_context *ctx;
    lws_sorted_usec_list_t tick_sul;
    lws_usec_t period_us, next_deadline;
    match *matches[MAX_MATCHES];
    int nmatches;
    uint16_t next_match_id;
    session *sessions;
    int nsessions;
    volatile sig_atomic_t stop;
    int shutting_down;
    int port;
    net_stats stats;
    struct lws_protocol_vhost_options mime_wasm, mime_mjs;
    struct lws_http_mount mount, metrics_mount, api_mount;
    uint8_t secret[4096];       /* token secret: the host's, or random in demo mode */
    size_t secret_len;
    int demo;                   /* no secret configured: POST /api/join mints guest tokens */
    uint64_t next_guest_id;
    replay_cache replay;
    lws_retry_bo_t keepalive;
    struct lws_protocols protocols[4];
    int tick_fd;                /* timerfd of the tick clock, -1: the sul is */
    uint8_t scratch[LWS_PRE + PROTO_MAX_SNAPSHOT + PROTO_MAX_WELCOME];
};

/* ---- matchmaking ---------------------------------------------------------- */

/* The first match with the token's label and a free slot, else a new one. */
static match *find_or_open_match(net_server *s, const char *label)
{
    for (int i = 0; i < s->nmatches; i++)
        if (match_has_room(s->matches[i]) && strcmp(s->matches[i]->label, label) == 0)
            return s->matches[i];
    if (s->nmatches == MAX_MATCHES)
        return NULL;
    match_config mc = {
        .tick_rate = (uint16_t)s->cfg.tick_rate,
        .snapshot_rate = (uint16_t)s->cfg.snapshot_rate,
        .size = s->cfg.match_size,
        .npcs = s->cfg.npcs,
        .seed = s->cfg.seed,
    };
    match *m = match_create(++s->next_match_id, &s->map, &mc);
    if (!m)
        return NULL;
    snprintf(m->label, sizeof m->label, "%s", label);
    s->matches[s->nmatches++] = m;
    char ql[2 * MATCH_LABEL_MAX + 1];
    log_event(LOG_INFO, "match_open", "match=%u label=\"%s\" matches=%d", m->id,
              log_quote(label, ql, sizeof ql), s->nmatches);
    return m;
}

static void close_match_if_empty(net_server *s, match *m)
{
    if (m->humans > 0)
        return;
    for (int i = 0; i < s->nmatches; i++) {
        if (s->matches[i] == m) {
            s->matches[i] = s->matches[--s->nmatches];
            break;
        }
    }
    log_event(LOG_INFO, "match_close", "match=%u matches=%d", m->id, s->nmatches);
    match_destroy(m);
}

/* ---- sessions --------------------------------------------------------------- */

static net_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* Closes a session with `code` and `why` from its next WRITEABLE. A peer
 * that does not read may never get one: after CLOSE_GRACE_SECONDS it is
 * cut off without the close frame. */
static void close_session(session *ss, uint16_t code, const char *why)
{
    ss->close_code = code;
    ss->close_why = why;
    lws_callback_on_writable(ss->wsi);
    lws_set_timeout(ss->wsi, PENDING_TIMEOUT_USER_REASON_BASE, CLOSE_GRACE_SECONDS);
}

/* Refuses bad input: counts and logs it, ignores whatever else the client
 * sends and closes from WRITEABLE with the code and reason. (Closing
 * straight from RECEIVE while more frames sit in the same read loses the
 * close frame.) Returns 0 for the callback to return. */
static int refuse(net_server *s, session *ss, bad_reason r, uint16_t code, const char *why)
{
    s->stats.bad[r]++;
    log_event(LOG_WARN, "bad_input", "peer=%s code=%u reason=\"%s\"", ss->peer, code, why);
    close_session(ss, code, why);
    return 0;
}

/* Sends the WELCOME next and starts the session as player `pid` of `m`. */
static void start_playing(session *ss, match *m, int pid, int resumed)
{
    lws_sul_cancel(&ss->join_sul);
    ss->m = m;
    ss->pid = pid;
    ss->state = S_PLAYING;
    ss->need_welcome = 1 + resumed; /* 2: a resumed WELCOME */
    ss->sent_tick = 0;
    /* A fresh player may sit in a slot someone left since the newest
     * snapshot: that snapshot shows the previous occupant, not it. */
    ss->first_tick = resumed ? 0 : m->world.tick + 1;
    ss->progress_tick = m->world.tick;
    ss->rx_tick = m->world.tick;
    lws_callback_on_writable(ss->wsi);
}

/* JOIN with a resume token: the held (or still connected) player comes
 * back to this connection. Returns 1 when resumed, 0 when not found. */
static int try_resume(net_server *s, session *ss, const proto_join *j)
{
    for (int i = 0; i < s->nmatches; i++) {
        match *m = s->matches[i];
        int pid = match_player_find(m, j->resume);
        if (pid < 0)
            continue;
        session *old = m->players[pid].conn;
        if (old) {
            /* Its old connection is still open (half-open, or the close not
             * seen yet): this one takes over. */
            old->state = S_REPLACED;
            close_session(old, PROTO_CLOSE_REPLACED, "resumed on another connection");
        }
        match_player_resume(m, pid, ss);
        /* A fresh resume token each time: one seen once is good only until
         * the player's next resume. */
        lws_get_random(s->ctx, m->players[pid].resume, PROTO_RESUME_LEN);
        start_playing(ss, m, pid, 1);
        s->stats.resumes++;
        log_event(LOG_INFO, "resume", "peer=%s match=%u player=%d took_over=%d", ss->peer, m->id, pid, old != NULL);
        return 1;
    }
    return 0;
}

static int refuse_auth(net_server *s, session *ss, uint16_t code, const char *why)
{
    return refuse(s, ss, BAD_AUTH, code, why);
}

static int on_join(net_server *s, session *ss, const uint8_t *buf, size_t len)
{
    proto_join j;
    int err = proto_join_read(buf, len, &j);
    if (err)
        return refuse(s, ss, BAD_MALFORMED, LWS_CLOSE_STATUS_PROTOCOL_ERR, proto_err_str(err));
    if (j.has_resume && try_resume(s, ss, &j))
        return 0;
    if (j.token_len == 0) {
        /* Not an attack: the hold ran out. The client gets a new token. */
        s->stats.bad[BAD_RESUME]++;
        log_event(LOG_INFO, "resume_expired", "peer=%s", ss->peer);
        close_session(ss, PROTO_CLOSE_RESUME_EXPIRED, "resume expired");
        return 0;
    }

    token_claims c;
    uint64_t now = (uint64_t)time(NULL);
    err = token_verify(j.token, j.token_len, s->secret, s->secret_len, now, &c);
    if (err)
        return refuse_auth(s, ss, PROTO_CLOSE_TOKEN_REFUSED, token_err_str(err));
    if (c.expiry > now + MAX_TOKEN_TTL)
        return refuse_auth(s, ss, PROTO_CLOSE_TOKEN_REFUSED, "token valid for too long");
    int seen = replay_check_add(&s->replay, c.nonce, c.expiry, now);
    if (seen == REPLAY_SEEN)
        return refuse_auth(s, ss, PROTO_CLOSE_TOKEN_REFUSED, "token already used");
    if (seen == REPLAY_FULL)
        return refuse_auth(s, ss, PROTO_CLOSE_SERVER_FULL, "too many joins, try again later");

    match *m = find_or_open_match(s, c.match);
    uint8_t resume[PROTO_RESUME_LEN];
    lws_get_random(s->ctx, resume, sizeof resume);
    int pid = m ? match_player_join(m, c.name, ss, resume) : -1;
    if (pid < 0) {
        log_event(LOG_ERROR, "join_failed", "peer=%s reason=\"no match could be opened\"", ss->peer);
        close_session(ss, PROTO_CLOSE_SERVER_FULL, "server full");
        return 0;
    }
    start_playing(ss, m, pid, 0);
    s->stats.joins++;
    char qname[2 * PROTO_MAX_NAME + 1];
    log_event(LOG_INFO, "join", "peer=%s name=\"%s\" account=%llu match=%u player=%d humans=%d", ss->peer,
              log_quote(c.name, qname, sizeof qname), (unsigned long long)c.player_id, m->id, pid, m->humans);
    return 0;
}

static int on_message(net_server *s, session *ss, const uint8_t *buf, size_t len)
{
    int type = proto_peek_type(buf, len);
    if (ss->state == S_AWAIT_JOIN) {
        if (type != PROTO_JOIN)
            return refuse(s, ss, BAD_UNEXPECTED, LWS_CLOSE_STATUS_PROTOCOL_ERR, "first message must be join");
        return on_join(s, ss, buf, len);
    }
    if (ss->state == S_REPLACED)
        return 0; /* closing: its player lives on another connection */
    if (type == PROTO_JOIN)
        return refuse(s, ss, BAD_UNEXPECTED, LWS_CLOSE_STATUS_PROTOCOL_ERR, "already joined");
    if (type != PROTO_INPUT)
        return refuse(s, ss, BAD_MALFORMED, LWS_CLOSE_STATUS_PROTOCOL_ERR,
                      type < 0 ? "empty message" : "unknown message type");
    proto_input_msg msg;
    int err = proto_input_read(buf, len, &msg);
    if (err)
        return refuse(s, ss, BAD_MALFORMED, LWS_CLOSE_STATUS_PROTOCOL_ERR, proto_err_str(err));
    const char *why;
    if (match_player_input(ss->m, ss->pid, &msg, &why))
        return refuse(s, ss, BAD_SEQUENCE, LWS_CLOSE_STATUS_PROTOCOL_ERR, why);
    s->stats.inputs_in++;
    return 0;
}

/* Token buckets: messages at 2x the tick rate with one second of burst, and
 * bytes at the tick rate times the largest message, with two seconds of
 * burst. An honest client sends one small input per tick. */
static int rate_ok(net_server *s, session *ss, size_t len)
{
    const double msg_rate = 2.0 * s->cfg.tick_rate, msg_burst = s->cfg.tick_rate;
    const double byte_rate = (double)s->cfg.tick_rate * PROTO_MAX_CLIENT_MSG, byte_burst = 2 * byte_rate;
    lws_usec_t now = lws_now_usecs();
    if (ss->bucket_us == 0) {
        ss->msg_tokens = msg_burst;
        ss->byte_tokens = byte_burst;
    } else {
        double dt = (double)(now - ss->bucket_us) * 1e-6;
        ss->msg_tokens = ss->msg_tokens + dt * msg_rate < msg_burst ? ss->msg_tokens + dt * msg_rate : msg_burst;
        ss->byte_tokens = ss->byte_tokens + dt * byte_rate < byte_burst ? ss->byte_tokens + dt * byte_rate : byte_burst;
    }
    ss->bucket_us = now;
    ss->msg_tokens -= 1.0;
    ss->byte_tokens -= (double)len;
    return ss->msg_tokens >= 0.0 && ss->byte_tokens >= 0.0;
}

static int on_receive(net_server *s, session *ss, const void *in, size_t len)
{
    struct lws *wsi = ss->wsi;
    if (!lws_frame_is_binary(wsi))
        return refuse(s, ss, BAD_TEXT, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames are not accepted");
    size_t remaining = lws_remaining_packet_payload(wsi);
    size_t limit = ss->state == S_AWAIT_JOIN ? PROTO_MAX_JOIN_MSG : PROTO_MAX_CLIENT_MSG;
    if (ss->rx_len + len + remaining > limit)
        return refuse(s, ss, BAD_TOO_LARGE, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
    memcpy(ss->rx + ss->rx_len, in, len);
    ss->rx_len += len;
    if (remaining || !lws_is_final_fragment(wsi))
        return 0;
    size_t n = ss->rx_len;
    ss->rx_len = 0;
    if (!rate_ok(s, ss, n))
        return refuse(s, ss, BAD_RATE, PROTO_CLOSE_RATE_LIMIT, "rate limit exceeded");
    if (ss->m)
        ss->rx_tick = ss->m->world.tick;
    return on_message(s, ss, ss->rx, n);
}

static int write_msg(struct lws *wsi, uint8_t *p, size_t n)
{
    return lws_write(wsi, p, n, LWS_WRITE_BINARY) < (int)n ? -1 : 0;
}

static int on_writeable(net_server *s, session *ss)
{
    if (ss->close_code) {
        lws_close_reason(ss->wsi, (enum lws_close_status)ss->close_code,
                         (unsigned char *)ss->close_why, strlen(ss->close_why));
        return -1;
    }
    if (ss->state != S_PLAYING)
        return 0;
    uint8_t *p = s->scratch + LWS_PRE;
    match *m = ss->m;
    if (ss->need_welcome) {
        size_t n = match_welcome(m, ss->pid, ss->need_welcome == 2, p, PROTO_MAX_WELCOME);
        ss->need_welcome = 0;
        if (!n || write_msg(ss->wsi, p, n))
            return -1;
        s->stats.welcome_out++;
        if (match_latest_snapshot_tick(m))
            lws_callback_on_writable(ss->wsi);
        return 0;
    }
    uint32_t latest = match_latest_snapshot_tick(m);
    if (latest == 0 || latest == ss->sent_tick || latest < ss->first_tick)
        return 0; /* nothing new: extra WRITEABLE callbacks are harmless */
    int full;
    size_t n = match_snapshot(m, ss->pid, p, PROTO_MAX_SNAPSHOT, &full);
    if (!n || write_msg(ss->wsi, p, n))
        return -1;
    ss->sent_tick = latest;
    ss->progress_tick = m->world.tick;
    s->stats.snapshots_out++;
    s->stats.snapshot_bytes_out += n;
    s->stats.full_out += (uint64_t)full;
    return 0;
}

static void session_link(net_server *s, session *ss)
{
    ss->prev = NULL;
    ss->next = s->sessions;
    if (s->sessions)
        s->sessions->prev = ss;
    s->sessions = ss;
    s->nsessions++;
}

static void session_unlink(net_server *s, session *ss)
{
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        s->sessions = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    s->nsessions--;
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

static void join_timeout_cb(lws_sorted_usec_list_t *sul)
{
    session *ss = lws_container_of(sul, session, join_sul);
    if (ss->state != S_AWAIT_JOIN || ss->close_code)
        return;
    net_server *s = server_of(ss->wsi);
    refuse_auth(s, ss, PROTO_CLOSE_JOIN_TIMEOUT, "no valid join in time");
}

static int game_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    session *ss = user;
    net_server *s = server_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(ss, 0, sizeof *ss);
        ss->wsi = wsi;
        ss->pid = -1;
        peer_name(wsi, ss->peer, sizeof ss->peer);
        lws_get_peer_simple(wsi, ss->ip, sizeof ss->ip);
        {
            int sndbuf = CLIENT_SNDBUF_BYTES;
            setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        }
        session_link(s, ss);
        if (s->shutting_down) {
            ss->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
            ss->close_why = "server shutting down";
            lws_callback_on_writable(wsi);
        }
        lws_sul_schedule(s->ctx, 0, &ss->join_sul, join_timeout_cb, JOIN_TIMEOUT_SECONDS * LWS_US_PER_SEC);
        log_event(LOG_INFO, "connect", "peer=%s connections=%d", ss->peer, s->nsessions);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (s->shutting_down || ss->close_code)
            return 0; /* closing: the rest is not read */
        return on_receive(s, ss, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(s, ss);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* A close frame with 1000 or 1001 is the player leaving (a Leave
         * button, a closed tab); a dropped network sends none. */
        if (len >= 2) {
            unsigned code = (unsigned)((const uint8_t *)in)[0] << 8 | ((const uint8_t *)in)[1];
            ss->left = code == LWS_CLOSE_STATUS_NORMAL || code == LWS_CLOSE_STATUS_GOINGAWAY;
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        lws_sul_cancel(&ss->join_sul);
        session_unlink(s, ss);
        if (ss->state == S_PLAYING && s->cfg.resume_grace > 0 && !s->shutting_down && !ss->left) {
            match_player_hold(ss->m, ss->pid, (uint32_t)(s->cfg.resume_grace * s->cfg.tick_rate));
            s->stats.holds++;
            log_event(LOG_INFO, "hold", "peer=%s match=%u player=%d grace_s=%d", ss->peer, ss->m->id, ss->pid,
                      s->cfg.resume_grace);
        } else if (ss->state == S_PLAYING) {
            match *m = ss->m;
            log_event(LOG_INFO, "leave", "peer=%s match=%u player=%d", ss->peer, m->id, ss->pid);
            match_player_leave(m, ss->pid);
            s->stats.leaves++;
            close_match_if_empty(s, m);
        }
        log_event(LOG_INFO, "disconnect", "peer=%s connections=%d", ss->peer, s->nsessions);
        ss->state = S_AWAIT_JOIN;
        return 0;
    default:
        return 0;
    }
}

/* ---- GET /metrics ---------------------------------------------------------- */

static double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long process_rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

typedef struct textbuf {
    char *p;
    size_t len, cap;
} textbuf;

static void tb_printf(textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(textbuf *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

static void tb_metric(textbuf *t, const char *name, const char *type, const char *help, double v)
{
    tb_printf(t, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* Prometheus text format 0.0.4. Built on request; O(matches). */
static size_t metrics_render(net_server *s, char *buf, size_t cap)
{
    textbuf t = {buf, 0, cap};
    const net_stats *st = &s->stats;
    int humans = 0, npcs = 0;
    for (int i = 0; i < s->nmatches; i++) {
        humans += s->matches[i]->humans;
        npcs += s->matches[i]->npcs;
    }
    tb_metric(&t, "tickwire_connections", "gauge", "Open game WebSocket connections.", s->nsessions);
    tb_metric(&t, "tickwire_matches", "gauge", "Running matches.", s->nmatches);
    tb_metric(&t, "tickwire_players", "gauge", "Players (people) in matches.", humans);
    tb_metric(&t, "tickwire_npcs", "gauge", "Computer players in matches.", npcs);
    tb_metric(&t, "tickwire_tick_rate_hz", "gauge", "Configured tick rate.", s->cfg.tick_rate);
    tb_metric(&t, "tickwire_snapshot_rate_hz", "gauge", "Configured snapshot rate.", s->cfg.snapshot_rate);
    tb_printf(&t, "# HELP tickwire_tick_duration_seconds Work per tick, all matches.\n"
                  "# TYPE tickwire_tick_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b <= TICK_BUCKETS; b++) {
        cum += st->tick_hist[b];
        if (b < TICK_BUCKETS)
            tb_printf(&t, "tickwire_tick_duration_seconds_bucket{le=\"%g\"} %llu\n", TICK_LE[b],
                      (unsigned long long)cum);
        else
            tb_printf(&t, "tickwire_tick_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                      (unsigned long long)cum);
    }
    tb_printf(&t, "tickwire_tick_duration_seconds_sum %.9f\ntickwire_tick_duration_seconds_count %llu\n",
              st->tick_seconds, (unsigned long long)st->ticks);
    tb_metric(&t, "tickwire_ticks_total", "counter", "Ticks run.", (double)st->ticks);
    tb_metric(&t, "tickwire_tick_overruns_total", "counter", "Ticks whose work took longer than the tick period.",
              (double)st->tick_overruns);
    tb_metric(&t, "tickwire_missed_ticks_total", "counter", "Ticks skipped after a stall.", (double)st->missed_ticks);
    tb_metric(&t, "tickwire_snapshot_messages_total", "counter", "Snapshot messages sent.", (double)st->snapshots_out);
    tb_metric(&t, "tickwire_snapshot_bytes_total", "counter", "Snapshot payload bytes sent.",
              (double)st->snapshot_bytes_out);
    tb_metric(&t, "tickwire_full_snapshots_total", "counter", "Snapshots sent without a baseline.",
              (double)st->full_out);
    tb_metric(&t, "tickwire_input_messages_total", "counter", "Input messages received.", (double)st->inputs_in);
    tb_metric(&t, "tickwire_snapshots_skipped_total", "counter",
              "Snapshots a client skipped because its socket was still busy.", (double)st->snapshots_skipped);
    tb_metric(&t, "tickwire_joins_total", "counter", "Players joined.", (double)st->joins);
    tb_metric(&t, "tickwire_leaves_total", "counter", "Players left.", (double)st->leaves);
    tb_metric(&t, "tickwire_holds_total", "counter", "Dropped players held for a resume.", (double)st->holds);
    tb_metric(&t, "tickwire_resumes_total", "counter", "Players resumed with their resume token.", (double)st->resumes);
    tb_metric(&t, "tickwire_holds_expired_total", "counter", "Held players whose grace ran out.",
              (double)st->holds_expired);
    tb_metric(&t, "tickwire_guest_tokens_total", "counter", "Guest tokens minted by POST /api/join (demo mode).",
              (double)st->tokens_minted);
    tb_printf(&t, "# HELP tickwire_clients_dropped_total Clients the server dropped, by reason.\n"
                  "# TYPE tickwire_clients_dropped_total counter\n"
                  "tickwire_clients_dropped_total{reason=\"send_stalled\"} %llu\n"
                  "tickwire_clients_dropped_total{reason=\"idle\"} %llu\n",
              (unsigned long long)st->dropped_slow, (unsigned long long)st->dropped_idle);
    tb_printf(&t, "# HELP tickwire_connections_refused_total Upgrades refused before the handshake, by reason.\n"
                  "# TYPE tickwire_connections_refused_total counter\n");
    for (int r = 0; r < REF_N; r++)
        tb_printf(&t, "tickwire_connections_refused_total{reason=\"%s\"} %llu\n", REF_LABELS[r],
                  (unsigned long long)st->refused[r]);
    tb_printf(&t, "# HELP tickwire_bad_messages_total Messages refused (connection closed), by reason.\n"
                  "# TYPE tickwire_bad_messages_total counter\n");
    for (int r = 0; r < BAD_N; r++)
        tb_printf(&t, "tickwire_bad_messages_total{reason=\"%s\"} %llu\n", BAD_LABELS[r],
                  (unsigned long long)st->bad[r]);
    tb_metric(&t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
              (double)process_rss_bytes());
    tb_metric(&t, "process_cpu_seconds_total", "counter", "User and system CPU time in seconds.",
              process_cpu_seconds());
    return t.len;
}

static int is_local_host(const char *h, size_t n)
{
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) || (n == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
           (n == 5 && strncmp(h, "[::1]", 5) == 0);
}

/* Browser origins allowed to open the game socket: the page's own origin
 * (Origin names the Host the request went to), localhost, and --allow-origin. */
static int origin_allowed(const net_server *s, const char *origin, const char *host)
{
    for (int i = 0; i < s->cfg.n_origins; i++)
        if (strcasecmp(origin, s->cfg.origins[i]) == 0)
            return 1;
    const char *o = strstr(origin, "://");
    if (!o)
        return 0;
    o += 3;
    if (host[0] && strcasecmp(o, host) == 0)
        return 1;
    size_t n = o[0] == '[' ? strcspn(o, "]") + 1 : strcspn(o, ":");
    return is_local_host(o, n);
}

static int count_from_ip(const net_server *s, const char *ip)
{
    int n = 0;
    for (const session *ss = s->sessions; ss; ss = ss->next)
        n += strcmp(ss->ip, ip) == 0;
    return n;
}

/* Before the upgrade: 403 for a foreign browser origin, 503 when the server
 * or this address is at its connection limit. Requests without an Origin
 * header are not from a browser page and go on to the JOIN check. */
static int confirm_upgrade(net_server *s, struct lws *wsi)
{
    char origin[256] = "", host[256] = "", ip[48] = "";
    lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    lws_get_peer_simple(wsi, ip, sizeof ip);
    refuse_reason r = REF_N;
    int status = HTTP_STATUS_FORBIDDEN;
    if (origin[0] && !origin_allowed(s, origin, host)) {
        r = REF_ORIGIN;
    } else if (s->nsessions >= s->cfg.max_conns) {
        r = REF_MAX_CONNS;
        status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    } else if (count_from_ip(s, ip) >= s->cfg.max_conns_per_ip) {
        r = REF_MAX_PER_IP;
        status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    }
    if (r == REF_N)
        return 0;
    s->stats.refused[r]++;
    char qorigin[256];
    log_event(LOG_WARN, "refuse", "ip=%s status=%d reason=%s origin=\"%s\"", ip, status, REF_LABELS[r],
              log_quote(origin, qorigin, sizeof qorigin));
    if (lws_return_http_status(wsi, (unsigned int)status, REF_LABELS[r]))
        return -1;
    return 1;
}

/* Sends the headers for the body in hs->buf; the body goes out on WRITEABLE. */
static int http_respond(struct lws *wsi, http_session *hs, unsigned int status, const char *type)
{
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, status, type, hs->len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* Demo mode: a short-lived guest token signed with the server's own random
 * secret, so `make run` needs no backend. ?name= sets the display name. */
static int api_join(net_server *s, struct lws *wsi, http_session *hs)
{
    char arg[64];
    const char *v = lws_get_urlarg_by_name(wsi, "name=", arg, sizeof arg);
    token_claims c;
    memset(&c, 0, sizeof c);
    c.player_id = ++s->next_guest_id;
    size_t n = 0;
    for (; v && v[n] && n < TOKEN_MAX_NAME; n++)
        c.name[n] = (v[n] >= 0x20 && v[n] <= 0x7e) ? v[n] : '?';
    if (n == 0)
        snprintf(c.name, sizeof c.name, "guest-%llu", (unsigned long long)c.player_id);
    c.expiry = (uint64_t)time(NULL) + GUEST_TOKEN_TTL;
    lws_get_random(s->ctx, c.nonce, sizeof c.nonce);
    char token[TOKEN_MAX_B64 + 1];
    const size_t cap = 512;
    if (!token_mint(&c, s->secret, s->secret_len, token, sizeof token) || !(hs->buf = malloc(LWS_PRE + cap)))
        return -1;
    hs->len = (size_t)snprintf((char *)hs->buf + LWS_PRE, cap,
                               "{\"token\":\"%s\",\"expires_in\":%d,\"player_id\":%llu}\n", token,
                               GUEST_TOKEN_TTL, (unsigned long long)c.player_id);
    s->stats.tokens_minted++;
    return http_respond(wsi, hs, HTTP_STATUS_OK, "application/json");
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    http_session *hs = user;
    net_server *s = server_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(s, wsi);
    case LWS_CALLBACK_HTTP: {
        /* The /metrics and /api callback mounts land here, for any path
         * under them: serve exactly GET /metrics and POST /api/join. */
        char uri[64] = "";
        int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        lws_hdr_copy(wsi, uri, sizeof uri, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
        if (!post && strcmp(uri, "/metrics") == 0) {
            const size_t cap = 32768;
            if (!(hs->buf = malloc(LWS_PRE + cap)))
                return -1;
            hs->len = metrics_render(s, (char *)hs->buf + LWS_PRE, cap);
            return http_respond(wsi, hs, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8");
        }
        if (post && strcmp(uri, "/api/join") == 0 && s->demo) {
            /* Answer once the (ignored) request body has been read. */
            if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                hs->api_join = 1;
                return 0;
            }
            return api_join(s, wsi, hs);
        }
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* /api/join takes no body: read and drop */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (hs && hs->api_join) {
            hs->api_join = 0;
            return api_join(s, wsi, hs);
        }
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!hs || !hs->buf)
            break;
        int rc = lws_write(wsi, hs->buf + LWS_PRE, hs->len, LWS_WRITE_HTTP_FINAL) < (int)hs->len ? -1 : 0;
        free(hs->buf);
        hs->buf = NULL;
        if (rc || lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (hs) {
            free(hs->buf);
            hs->buf = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- the tick --------------------------------------------------------------- */

/* After a snapshot: ask to write to each client, and drop the ones whose
 * socket has not drained for SEND_STALL_SECONDS. */
static void after_snapshot(net_server *s, match *m)
{
    uint32_t stall = (uint32_t)(SEND_STALL_SECONDS * s->cfg.tick_rate);
    uint32_t idle = (uint32_t)(s->cfg.idle_timeout * s->cfg.tick_rate);
    uint32_t latest = match_latest_snapshot_tick(m);
    for (int id = 0; id < m->cfg.size; id++) {
        session *ss = m->players[id].conn;
        if (!ss || ss->close_code)
            continue;
        if (m->world.tick - ss->rx_tick > idle) {
            s->stats.dropped_idle++;
            log_event(LOG_INFO, "drop", "peer=%s match=%u player=%d reason=\"no message for %d s\"",
                      ss->peer, m->id, id, s->cfg.idle_timeout);
            close_session(ss, PROTO_CLOSE_IDLE, "idle timeout");
            continue;
        }
        if (m->world.tick - ss->progress_tick > stall) {
            s->stats.dropped_slow++;
            ss->close_code = PROTO_CLOSE_SLOW_READER;
            ss->close_why = "not reading snapshots";
            log_event(LOG_WARN, "drop", "peer=%s match=%u player=%d reason=\"socket choked for %d s\"",
                      ss->peer, m->id, id, SEND_STALL_SECONDS);
            /* WRITEABLE will not come while choked: close without it. */
            lws_set_timeout(ss->wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
            continue;
        }
        /* The previous snapshot never went out: this one supersedes it. */
        if (ss->sent_tick && ss->sent_tick + m->snap_interval < latest)
            s->stats.snapshots_skipped++;
        lws_callback_on_writable(ss->wsi);
    }
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run_tick(net_server *s)
{
    double t0 = mono_seconds();
    for (int i = s->nmatches - 1; i >= 0; i--) {
        match *m = s->matches[i];
        if (match_tick(m))
            after_snapshot(s, m);
        if (m->expired_holds) {
            s->stats.holds_expired += (uint64_t)m->expired_holds;
            s->stats.leaves += (uint64_t)m->expired_holds;
            log_event(LOG_INFO, "hold_expired", "match=%u players=%d humans=%d", m->id, m->expired_holds, m->humans);
            m->expired_holds = 0;
            close_match_if_empty(s, m);
        }
    }
    double took = mono_seconds() - t0;
    int b = 0;
    while (b < TICK_BUCKETS && took > TICK_LE[b])
        b++;
    s->stats.tick_hist[b]++;
    s->stats.tick_seconds += took;
    s->stats.ticks++;
    if (took * 1e6 > (double)s->period_us)
        s->stats.tick_overruns++;
}

/* Runs the ticks that are due (at most MAX_CATCHUP_TICKS back to back after
 * a stall; beyond that they are counted as missed, never spun through) and
 * returns the next deadline. Deadlines are absolute: no drift. */
static lws_usec_t run_due_ticks(net_server *s)
{
    lws_usec_t now = lws_now_usecs();
    for (int n = 0; n < MAX_CATCHUP_TICKS && s->next_deadline <= now; n++) {
        run_tick(s);
        s->next_deadline += s->period_us;
    }
    if (s->next_deadline <= now) {
        uint64_t lost = (uint64_t)((now - s->next_deadline) / s->period_us) + 1;
        s->stats.missed_ticks += lost;
        s->next_deadline += (lws_usec_t)lost * s->period_us;
        log_event(LOG_WARN, "tick_stall", "missed_ticks=%llu", (unsigned long long)lost);
    }
    return s->next_deadline;
}

/* The tick clock is a timerfd armed at each absolute deadline and adopted
 * into the lws event loop, so poll() wakes on time to the microsecond.
 * (An lws sul would do, but lws 4.1.6 turns its wait into whole
 * milliseconds for poll(), rounding down, and spins on poll(0) through the
 * partial millisecond left, or, rounded up, starts ticks up to 1 ms late.) */
static int arm_timerfd(net_server *s)
{
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(s->next_deadline / LWS_US_PER_SEC);
    it.it_value.tv_nsec = (long)(s->next_deadline % LWS_US_PER_SEC) * 1000;
    return timerfd_settime(s->tick_fd, TFD_TIMER_ABSTIME, &it, NULL);
}

static int tick_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user, (void)in, (void)len;
    net_server *s = server_of(wsi);
    if (reason != LWS_CALLBACK_RAW_RX_FILE || s->shutting_down)
        return 0;
    uint64_t expirations;
    if (read(s->tick_fd, &expirations, sizeof expirations) < 0)
        return 0; /* EAGAIN: woken early by something else */
    run_due_ticks(s);
    arm_timerfd(s);
    return 0;
}

/* Fallback clock when no timerfd can be had: an lws sul, waiting whole
 * milliseconds plus a little so it does not spin (ticks up to ~1.1 ms late). */
static void tick_cb(lws_sorted_usec_list_t *sul)
{
    net_server *s = lws_container_of(sul, net_server, tick_sul);
    lws_usec_t wait = run_due_ticks(s) - lws_now_usecs();
    wait = (wait > 0 ? (wait + 999) / 1000 * 1000 : 0) + 100;
    lws_sul_schedule(s->ctx, 0, &s->tick_sul, tick_cb, wait);
}

static void start_tick_clock(net_server *s)
{
    s->next_deadline = lws_now_usecs() + s->period_us;
    s->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->tick_fd >= 0 && arm_timerfd(s) == 0) {
        lws_sock_file_fd_type fd;
        fd.filefd = s->tick_fd;
        if (lws_adopt_descriptor_vhost(lws_get_vhost_by_name(s->ctx, "default"), LWS_ADOPT_RAW_FILE_DESC, fd,
                                       "tickwire-tick", NULL))
            return;
    }
    log_event(LOG_WARN, "tick_clock", "clock=sul reason=\"no timerfd\"");
    if (s->tick_fd >= 0)
        close(s->tick_fd);
    s->tick_fd = -1;
    lws_sul_schedule(s->ctx, 0, &s->tick_sul, tick_cb, s->period_us);
}

/* ---- lifecycle ------------------------------------------------------------- */

static void init_protocols(net_server *s)
{
    s->protocols[0] = (struct lws_protocols){"http", http_callback, sizeof(http_session), 0, 0, NULL, 0};
    s->protocols[1] = (struct lws_protocols){
        .name = PROTO_SUBPROTOCOL,
        .callback = game_callback,
        .per_session_data_size = sizeof(session),
        .rx_buffer_size = 128,
        .tx_packet_size = PROTO_MAX_SNAPSHOT + PROTO_MAX_WELCOME,
    };
    s->protocols[2] = (struct lws_protocols){.name = "tickwire-tick", .callback = tick_callback};
    s->mime_mjs = (struct lws_protocol_vhost_options){NULL, NULL, ".mjs", "text/javascript"};
    s->mime_wasm = (struct lws_protocol_vhost_options){&s->mime_mjs, NULL, ".wasm", "application/wasm"};
    s->mount = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = s->cfg.web_root,
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
    s->metrics_mount = (struct lws_http_mount){
        .mount_next = &s->api_mount,
        .mountpoint = "/metrics",
        .mountpoint_len = 8,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
}

net_server *net_server_create(const tw_config *cfg, const sim_map *map, char *err, size_t errlen)
{
    net_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->map = *map;
    s->period_us = 1000000 / cfg->tick_rate;
    if (cfg->token_secret_file) {
        int n = cli_read_secret(cfg->token_secret_file, s->secret, sizeof s->secret, err, errlen);
        if (n < 0) {
            free(s);
            return NULL;
        }
        s->secret_len = (size_t)n;
    } else {
        s->demo = 1;
    }
    if (replay_init(&s->replay, 1u << 16) < 0) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    init_protocols(s);
    /* Ping a connection quiet for 5 s, hang up after 15 s without a valid
     * frame: half-open connections are reaped. */
    s->keepalive = (lws_retry_bo_t){.secs_since_valid_ping = 5, .secs_since_valid_hangup = 15};
    lws_set_log_level(log_enabled(LOG_DEBUG) ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->host;
    info.protocols = s->protocols;
    info.mounts = &s->metrics_mount;
    info.user = s;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.alpn = "http/1.1";
    info.timeout_secs = HTTP_TIMEOUT_SECONDS;
    info.timeout_secs_ah_idle = HTTP_TIMEOUT_SECONDS;
    info.retry_and_idle_policy = &s->keepalive;
    /* With IPv6 on, lws 4.1.6 binds an IPv4 literal as [::] (every
     * address): keep IPv4 hosts on an IPv4 socket. */
    if (!strchr(cfg->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (cfg->tls_cert) {
        /* mbedTLS backend: TLS 1.2, one PEM block per file (see tls.h). */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
    }
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not available?)", cfg->host,
                 cfg->port);
        replay_free(&s->replay);
        free(s);
        return NULL;
    }
    if (s->demo) {
        /* Demo mode signs its own guest tokens with a secret nobody else has. */
        s->secret_len = 32;
        lws_get_random(s->ctx, s->secret, s->secret_len);
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    start_tick_clock(s);
    return s;
}

int net_server_port(const net_server *s)
{
    return s->port;
}

void net_server_request_stop(net_server *s, int sig)
{
    s->stop = sig ? sig : -1;
    lws_cancel_service(s->ctx);
}

void net_server_run(net_server *s)
{
    int failed = 0;
    while (!s->stop)
        if (lws_service(s->ctx, 0) < 0) {
            failed = 1;
            break;
        }
    if (failed)
        log_event(LOG_ERROR, "stopping", "reason=\"event loop failed\"");
    else
        log_event(LOG_INFO, "stopping", "reason=\"signal\" signal=%d", (int)s->stop);

    /* Close every client with 1001 and give the close frames a moment. */
    s->shutting_down = 1;
    lws_sul_cancel(&s->tick_sul);
    if (s->tick_fd >= 0) {
        struct itimerspec off;
        memset(&off, 0, sizeof off);
        timerfd_settime(s->tick_fd, 0, &off, NULL); /* lws closes the fd with the context */
    }
    for (session *ss = s->sessions; ss; ss = ss->next) {
        ss->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
        ss->close_why = "server shutting down";
        lws_callback_on_writable(ss->wsi);
    }
    lws_usec_t until = lws_now_usecs() + 1500 * 1000;
    while (s->nsessions > 0 && lws_now_usecs() < until)
        if (lws_service(s->ctx, 0) < 0)
            break;
    uint64_t bad = 0;
    for (int r = 0; r < BAD_N; r++)
        bad += s->stats.bad[r];
    log_event(LOG_INFO, "stop", "ticks=%llu snapshots_out=%llu bytes_out=%llu inputs_in=%llu "
              "missed_ticks=%llu dropped_slow=%llu bad_messages=%llu",
              (unsigned long long)s->stats.ticks, (unsigned long long)s->stats.snapshots_out,
              (unsigned long long)s->stats.snapshot_bytes_out, (unsigned long long)s->stats.inputs_in,
              (unsigned long long)s->stats.missed_ticks, (unsigned long long)s->stats.dropped_slow,
              (unsigned long long)bad);
}

void net_server_destroy(net_server *s)
{
    if (!s)
        return;
    lws_context_destroy(s->ctx);
    for (int i = 0; i < s->nmatches; i++)
        match_destroy(s->matches[i]);
    replay_free(&s->replay);
    free(s);
}
