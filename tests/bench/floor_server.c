/* tickwire-floor: the cheapest server the real bots accept, to measure how
 * much of the real server's CPU is simulation, encoding and bookkeeping.
 *
 * It speaks just enough of the protocol (docs/PROTOCOL.md): on JOIN it
 * answers a valid WELCOME (player id 0, an empty 2048 x 2048 map), then
 * every tick (60 Hz by default, driven by server/tick_clock.c, the very
 * clock the real server ticks with) it sends each joined client one SNAPSHOT of
 * --snapshot-bytes bytes. There is no simulation and no encoding: the
 * snapshot body is built once at startup (a full body with K entities whose
 * names pad it to the exact size, entity 0 being the client's own player so
 * the bots measure input->ack RTT), and each send only rewrites the 10-byte
 * header (tick, full, last_input_seq = the newest input seq that client
 * sent). Inputs are parsed only as far as their header (type, first_seq,
 * count).
 *
 * POST /api/join gets the same well-formed (unchecked) token as from
 * tickwire-floor-raw, so bots without a token secret work against either;
 * any other HTTP request gets lws's 404.
 *
 * The lws settings are the real server's: one context, one port, alpn
 * http/1.1, protocol 0 "http" then PROTO_SUBPROTOCOL with rx_buffer_size 128 and
 * tx_packet_size PROTO_MAX_SNAPSHOT + PROTO_MAX_WELCOME, "latest wins"
 * WRITEABLE sends, a 64 KiB SO_SNDBUF per client, IPv4 socket for an IPv4
 * host. So ours/floor CPU is the real server's overhead over the same
 * lws loop; tickwire-floor-raw (floor_raw.c) sends the same bytes (both
 * build them with floor_common.c) without lws, the kernel floor. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "floor_common.h"
#include "proto.h"
#include "tick_clock.h"
#include "token.h"

#define CLIENT_SNDBUF_BYTES (64 * 1024) /* as server/net.c */

typedef struct fsession {
    struct lws *wsi;
    struct fsession *next, *prev;
    int joined;
    int need_welcome;
    uint32_t last_seq;  /* newest input seq received */
    uint32_t sent_tick; /* newest snapshot tick sent */
    size_t rx_len;
    uint8_t rx[PROTO_MAX_JOIN_MSG];
} fsession;

typedef struct floor_server {
    const char *host;
    int port;
    int tick_rate;
    size_t snapshot_bytes;
    int entities;
    struct lws_context *ctx;
    tick_clock *clock;
    tick_stats tick_stats;
    uint32_t tick;
    fsession *sessions;
    int nsessions, njoined;
    volatile sig_atomic_t stop;
    uint64_t snapshots_out, bytes_out, inputs_in;
    struct lws_protocols protocols[4];
    uint8_t join_body[LWS_PRE + TOKEN_MAX_B64 + 96]; /* the answer to POST /api/join */
    size_t join_body_len;
    uint8_t welcome[LWS_PRE + PROTO_MAX_WELCOME];
    size_t welcome_len;
    uint8_t snap[LWS_PRE + PROTO_MAX_SNAPSHOT]; /* header rewritten per send */
} floor_server;

static floor_server g_floor;

/* ---- sessions ------------------------------------------------------------------- */

static void on_message(floor_server *f, fsession *ss, const uint8_t *b, size_t n)
{
    switch (floor_msg_read(b, n, ss->joined, &ss->last_seq)) {
    case FLOOR_MSG_JOIN:
        ss->joined = 1;
        ss->need_welcome = 1;
        f->njoined++;
        lws_callback_on_writable(ss->wsi);
        break;
    case FLOOR_MSG_INPUT:
        f->inputs_in++;
        break;
    default:
        break;
    }
}

static int on_receive(floor_server *f, fsession *ss, const void *in, size_t len)
{
    struct lws *wsi = ss->wsi;
    size_t remaining = lws_remaining_packet_payload(wsi);
    if (ss->rx_len + len + remaining > (ss->joined ? PROTO_MAX_CLIENT_MSG : PROTO_MAX_JOIN_MSG)) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too large", 9);
        return -1;
    }
    memcpy(ss->rx + ss->rx_len, in, len);
    ss->rx_len += len;
    if (remaining || !lws_is_final_fragment(wsi))
        return 0;
    on_message(f, ss, ss->rx, ss->rx_len);
    ss->rx_len = 0;
    return 0;
}

static int on_writeable(floor_server *f, fsession *ss)
{
    if (!ss->joined)
        return 0;
    if (ss->need_welcome) {
        ss->need_welcome = 0;
        uint8_t *p = f->welcome + LWS_PRE;
        return lws_write(ss->wsi, p, f->welcome_len, LWS_WRITE_BINARY) < (int)f->welcome_len ? -1 : 0;
    }
    if (f->tick == 0 || ss->sent_tick == f->tick)
        return 0;
    uint8_t *p = f->snap + LWS_PRE;
    floor_snapshot_stamp(p, f->tick, ss->last_seq);
    if (lws_write(ss->wsi, p, f->snapshot_bytes, LWS_WRITE_BINARY) < (int)f->snapshot_bytes)
        return -1;
    ss->sent_tick = f->tick;
    f->snapshots_out++;
    f->bytes_out += f->snapshot_bytes;
    return 0;
}

static int floor_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    fsession *ss = user;
    floor_server *f = &g_floor;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(ss, 0, sizeof *ss);
        ss->wsi = wsi;
        {
            /* the real server bounds each client's kernel send buffer the same way */
            int sndbuf = CLIENT_SNDBUF_BYTES;
            setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        }
        ss->next = f->sessions;
        if (f->sessions)
            f->sessions->prev = ss;
        f->sessions = ss;
        f->nsessions++;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(f, ss, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(f, ss);
    case LWS_CALLBACK_CLOSED:
        if (ss->prev)
            ss->prev->next = ss->next;
        else
            f->sessions = ss->next;
        if (ss->next)
            ss->next->prev = ss->prev;
        f->nsessions--;
        if (ss->joined)
            f->njoined--;
        ss->joined = 0;
        return 0;
    default:
        return 0;
    }
}

/* ---- HTTP: POST /api/join as tickwire-floor-raw answers it, 404 else ---------------------- */

typedef struct fhttp {
    int join_pending; /* answer POST /api/join once its body (if any) is read */
    int join_ready;   /* ... at the next HTTP_WRITEABLE */
} fhttp;

static int join_requested(struct lws *wsi)
{
    char uri[32] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
        return 0;
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_POST_URI);
    return strcmp(uri, "/api/join") == 0;
}

static int join_answer(floor_server *f, struct lws *wsi)
{
    uint8_t hdr[LWS_PRE + 256], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", f->join_body_len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (lws_write(wsi, f->join_body + LWS_PRE, f->join_body_len, LWS_WRITE_HTTP_FINAL) < (int)f->join_body_len)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    fhttp *h = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!h || !join_requested(wsi))
            break; /* the dummy: 404 */
        h->join_pending = 1;
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            return 0; /* lws reports the body's end */
        /* fallthrough */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!h || !h->join_pending)
            break;
        h->join_pending = 0;
        h->join_ready = 1;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!h || !h->join_ready)
            break;
        h->join_ready = 0;
        return join_answer(&g_floor, wsi);
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- the tick ----------------------------------------------------------------------- */

static void on_tick(void *user, int64_t now_us, uint32_t missed)
{
    (void)now_us, (void)missed;
    floor_server *f = user;
    f->tick++;
    for (fsession *ss = f->sessions; ss; ss = ss->next)
        if (ss->joined)
            lws_callback_on_writable(ss->wsi);
}

/* ---- CLI and main ------------------------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    g_floor.stop = 1;
    if (g_floor.ctx)
        lws_cancel_service(g_floor.ctx);
}

int main(int argc, char **argv)
{
    floor_server *f = &g_floor;
    floor_opts o;
    int rc = floor_opts_parse(&o, argc, argv, "tickwire-floor");
    if (rc)
        return rc == 1 ? 0 : 2;
    f->host = o.host;
    f->port = o.port;
    f->tick_rate = o.tick_rate;
    f->snapshot_bytes = o.snapshot_bytes;
    char err[160];
    if (floor_snapshot_build(f->snap + LWS_PRE, f->snapshot_bytes, f->tick_rate, &f->entities, err, sizeof err) < 0) {
        fprintf(stderr, "tickwire-floor: %s\n", err);
        return 2;
    }
    f->welcome_len = floor_welcome_build(f->welcome + LWS_PRE, PROTO_MAX_WELCOME, f->tick_rate);

    f->join_body_len = floor_join_body((char *)f->join_body + LWS_PRE, sizeof f->join_body - LWS_PRE);
    if (!f->join_body_len) {
        fprintf(stderr, "tickwire-floor: cannot build the join token\n");
        return 1;
    }
    f->protocols[0] = (struct lws_protocols){"http", http_callback, sizeof(fhttp), 0, 0, NULL, 0};
    f->protocols[1] = (struct lws_protocols){
        .name = PROTO_SUBPROTOCOL,
        .callback = floor_callback,
        .per_session_data_size = sizeof(fsession),
        .rx_buffer_size = 128,
        .tx_packet_size = PROTO_MAX_SNAPSHOT + PROTO_MAX_WELCOME,
    };
    f->protocols[2] = tick_clock_protocol;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = f->port;
    info.iface = f->host;
    info.protocols = f->protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.alpn = "http/1.1";
    /* As tickwire-server: no lws validity timers (server/net.c). */
    static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};
    info.retry_and_idle_policy = &no_validity;
    if (!strchr(f->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    f->ctx = lws_create_context(&info);
    if (!f->ctx) {
        fprintf(stderr, "tickwire-floor: cannot listen on %s:%d\n", f->host, f->port);
        return 1;
    }
    f->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(f->ctx, "default"));
    f->clock = tick_clock_start(f->ctx, f->tick_rate, on_tick, f, &f->tick_stats);
    if (!f->clock) {
        fprintf(stderr, "tickwire-floor: out of memory\n");
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *shown = strcmp(f->host, "0.0.0.0") == 0 ? "127.0.0.1" : f->host;
    printf("tickwire-floor: serving http://%s:%d/ (snapshot %zu bytes, %d entities, %d Hz)\n", shown,
           f->port, f->snapshot_bytes, f->entities, f->tick_rate);
    fflush(stdout);

    while (!f->stop)
        if (lws_service(f->ctx, 0) < 0)
            break;
    tick_clock_stop(f->clock);
    fprintf(stderr, "tickwire-floor: stop ticks=%llu missed_ticks=%llu snapshots_out=%llu "
            "bytes_out=%llu inputs_in=%llu\n",
            (unsigned long long)f->tick_stats.ticks, (unsigned long long)f->tick_stats.missed_ticks,
            (unsigned long long)f->snapshots_out, (unsigned long long)f->bytes_out,
            (unsigned long long)f->inputs_in);
    lws_context_destroy(f->ctx);
    tick_clock_free(f->clock);
    return 0;
}
