/* tickwire-floor: the cheapest server the real bots accept, to measure how
 * much of the real server's CPU is simulation, encoding and bookkeeping.
 *
 * It speaks just enough of tickwire.v3 (docs/PROTOCOL.md): on JOIN it
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
 * The lws settings are the real server's: one context, one port, alpn
 * http/1.1, protocol 0 "http" then tickwire.v3 with rx_buffer_size 128 and
 * tx_packet_size PROTO_MAX_SNAPSHOT + PROTO_MAX_WELCOME, "latest wins"
 * WRITEABLE sends, a 64 KiB SO_SNDBUF per client, IPv4 socket for an IPv4
 * host. So ours/floor CPU is the real server's overhead over the
 * unavoidable socket work. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "parse.h"
#include "proto.h"
#include "tick_clock.h"

#define DEFAULT_SNAPSHOT_BYTES 300
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
    uint8_t welcome[LWS_PRE + PROTO_MAX_WELCOME];
    size_t welcome_len;
    uint8_t snap[LWS_PRE + PROTO_MAX_SNAPSHOT]; /* header rewritten per send */
} floor_server;

static floor_server g_floor;

/* ---- the snapshot, built once ------------------------------------------------ */

/* Writes a full body of k entities (ids 0..k-1) whose names hold `extra`
 * bytes in all; returns its size, 0 if it does not fit. */
static size_t build_body(int k, size_t extra, uint8_t *buf, size_t cap)
{
    static proto_snapshot cur;
    static proto_names names;
    memset(&cur, 0, sizeof cur);
    memset(&names, 0, sizeof names);
    for (int i = 0; i < k; i++) {
        cur.present[i] = 1;
        cur.gen[i] = 1;
        cur.ent[i].x = (uint16_t)(16 * (64 + 29 * i % 1900));
        cur.ent[i].y = (uint16_t)(16 * (64 + 61 * i % 1900));
        cur.ent[i].vx = (int16_t)(i % 2 ? 1920 : -1920);
        cur.ent[i].vy = (int16_t)(i % 3 ? 960 : -960);
        cur.ent[i].aim = (uint16_t)(i * 977);
        size_t n = extra > PROTO_MAX_NAME ? PROTO_MAX_NAME : extra;
        extra -= n;
        for (size_t c = 0; c < n; c++)
            names.name[i][c] = (char)('a' + (i + (int)c) % 26);
    }
    if (extra)
        return 0;
    return proto_snapshot_body_write(NULL, &cur, &names, (uint16_t)g_floor.tick_rate, buf, cap);
}

/* Finds K entities and name lengths for a snapshot of exactly `total`
 * bytes (header included) and builds it into g_floor.snap. */
static int build_snapshot(size_t total, char *err, size_t errlen)
{
    /* header | an empty events section (one 0 byte) | body */
    g_floor.snap[LWS_PRE + PROTO_SNAPSHOT_HEADER_SIZE] = 0;
    uint8_t *body = g_floor.snap + LWS_PRE + PROTO_SNAPSHOT_HEADER_SIZE + 1;
    if (total < PROTO_SNAPSHOT_HEADER_SIZE + 1 || total > PROTO_MAX_SNAPSHOT) {
        snprintf(err, errlen, "--snapshot-bytes %zu is outside %d..%d", total,
                 PROTO_SNAPSHOT_HEADER_SIZE + 1, PROTO_MAX_SNAPSHOT);
        return -1;
    }
    size_t want = total - PROTO_SNAPSHOT_HEADER_SIZE - 1;
    for (int k = 1; k <= PROTO_MAX_ENTITIES; k++) {
        size_t bare = build_body(k, 0, body, PROTO_MAX_SNAPSHOT_BODY);
        if (bare > want)
            break;
        if (want - bare > (size_t)k * PROTO_MAX_NAME)
            continue;
        size_t n = build_body(k, want - bare, body, PROTO_MAX_SNAPSHOT_BODY);
        if (n == want) {
            g_floor.entities = k;
            return 0;
        }
    }
    /* Smaller than one entity (46 bytes): no entity, so no RTT samples. */
    if (build_body(0, 0, body, PROTO_MAX_SNAPSHOT_BODY) == want) {
        g_floor.entities = 0;
        return 0;
    }
    snprintf(err, errlen, "--snapshot-bytes %zu cannot be made into a valid snapshot "
             "(23, or 46..4903 bytes)", total);
    return -1;
}

static void build_welcome(void)
{
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = 0;
    w.tick_rate = (uint16_t)g_floor.tick_rate;
    w.snapshot_rate = (uint16_t)g_floor.tick_rate;
    w.match_id = 1;
    w.max_players = PROTO_MAX_ENTITIES;
    w.server_tick = 0;
    w.map.width = 2048;
    w.map.height = 2048;
    w.map.nwalls = 0;
    g_floor.welcome_len = proto_welcome_write(&w, g_floor.welcome + LWS_PRE, PROTO_MAX_WELCOME);
}

/* ---- sessions ------------------------------------------------------------------- */

static void on_message(floor_server *f, fsession *ss, const uint8_t *b, size_t n)
{
    if (n == 0)
        return;
    if (b[0] == PROTO_JOIN && !ss->joined) {
        ss->joined = 1;
        ss->need_welcome = 1;
        f->njoined++;
        lws_callback_on_writable(ss->wsi);
    } else if (b[0] == PROTO_INPUT && ss->joined && n >= 10) {
        uint32_t first = (uint32_t)b[5] | (uint32_t)b[6] << 8 | (uint32_t)b[7] << 16 |
                         (uint32_t)b[8] << 24;
        uint32_t last = first + b[9] - 1;
        if (b[9] && last > ss->last_seq)
            ss->last_seq = last;
        f->inputs_in++;
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
    proto_snapshot_header h = {.tick = f->tick, .baseline_tick = 0, .last_input_seq = ss->last_seq};
    proto_snapshot_header_write(&h, p, PROTO_SNAPSHOT_HEADER_SIZE);
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

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [flags]\n"
            "A floor for benchmarks: speaks just enough of tickwire.v3 for the bots, sending\n"
            "every client a fixed, prebuilt snapshot every tick; no simulation, no encoding.\n"
            "  --host ADDR            address to listen on (default 127.0.0.1)\n"
            "  --port N               TCP port, 0 = any free one (default 8081)\n"
            "  --tick-rate HZ         ticks (= snapshots) per second, 1..240 (default 60)\n"
            "  --snapshot-bytes N     size of each snapshot message incl. its 10-byte header:\n"
            "                         11, or 24..3611 (default %d)\n"
            "  --help                 print this and exit\n",
            prog, DEFAULT_SNAPSHOT_BYTES);
}

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
    f->host = "127.0.0.1";
    f->port = 8081;
    f->tick_rate = 60;
    long snapshot_bytes = DEFAULT_SNAPSHOT_BYTES;
    char err[160];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        }
        char flag[32];
        const char *eq = strchr(arg, '=');
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (flen >= sizeof flag || strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "tickwire-floor: unexpected argument '%s'\n", arg);
            usage(stderr, argv[0]);
            return 2;
        }
        memcpy(flag, arg, flen);
        flag[flen] = '\0';
        if (strcmp(flag, "--host") && strcmp(flag, "--port") && strcmp(flag, "--tick-rate") &&
            strcmp(flag, "--snapshot-bytes")) {
            fprintf(stderr, "tickwire-floor: unknown flag '%s'\n", flag);
            usage(stderr, argv[0]);
            return 2;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) {
            fprintf(stderr, "tickwire-floor: %s needs a value\n", flag);
            return 2;
        }
        int rc = 0;
        if (strcmp(flag, "--host") == 0)
            f->host = val;
        else if (strcmp(flag, "--port") == 0)
            rc = parse_int(flag, val, 0, 65535, &f->port, err, sizeof err);
        else if (strcmp(flag, "--tick-rate") == 0)
            rc = parse_int(flag, val, 1, 240, &f->tick_rate, err, sizeof err);
        else
            rc = parse_long(flag, val, PROTO_SNAPSHOT_HEADER_SIZE, PROTO_MAX_SNAPSHOT, &snapshot_bytes, err,
                            sizeof err);
        if (rc) {
            fprintf(stderr, "tickwire-floor: %s\n", err);
            return 2;
        }
    }
    f->snapshot_bytes = (size_t)snapshot_bytes;
    if (build_snapshot(f->snapshot_bytes, err, sizeof err) < 0) {
        fprintf(stderr, "tickwire-floor: %s\n", err);
        return 2;
    }
    build_welcome();

    f->protocols[0] = (struct lws_protocols){"http", lws_callback_http_dummy, 0, 0, 0, NULL, 0};
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
