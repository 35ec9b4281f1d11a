/* test_floor: a bench floor speaks enough of the protocol for a real client.
 *
 *   test_floor FLOOR_BINARY
 *
 * Run against both floors (ctest bench_floor: tickwire-floor on lws;
 * bench_floor_raw: tickwire-floor-raw, without lws). For several
 * --snapshot-bytes values: starts the floor on --port 0, reads the port
 * from its "serving http://127.0.0.1:PORT/" line, joins with the
 * shared/client.c netcode over a raw WebSocket (the JOIN in two fragments
 * written in three pieces, so split frames and split reads are exercised;
 * some INPUTs two to a write), and checks that the WELCOME decodes, that
 * snapshots arrive at the tick rate, are decoded by cl_receive as
 * PROTO_SNAPSHOT, are exactly the configured size, and (when the snapshot
 * holds the client's own entity) carry its newest input seq so the client
 * measures RTT; then that a close is answered with a close. Also: ping ->
 * pong, an oversized message -> close 1009, HTTP on a keep-alive
 * connection (POST /api/join: a token the bots' parser takes; GET
 * /metrics: 404),
 * and that impossible sizes and bad flags are refused.
 *
 * Timing on a loaded machine: a window of 30 snapshots must show at most
 * two ticks skipped (latest wins) and take 0.35..1.5 s; a window that does
 * not is played once more before it fails. Tick numbers must follow wall
 * time at the tick rate (generous bounds) in every case. */
#define _GNU_SOURCE /* strcasestr */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"
#include "client.h"
#include "proto.h"
#include "spawn.h"
#include "wsclient.h"

#define CHECK(cond, ...) CHECK_OR(goto out, cond, __VA_ARGS__)
#define RATE 60

static int start_floor(spawn_proc *p, const char *path, size_t bytes)
{
    char arg[16], err[256];
    snprintf(arg, sizeof arg, "%zu", bytes);
    const char *argv[] = {path, "--port", "0", "--snapshot-bytes", arg, NULL};
    memset(p, 0, sizeof *p);
    int ok = spawn_server_start(p, &(spawn_desc){.argv = argv}, err, sizeof err) == 0;
    CHECK_OR(return 0, ok, "%s", err);
    return 1;
}

static void stop_floor(spawn_proc *p)
{
    int rc = spawn_stop(p, 3000, NULL);
    CHECK_OR((void)0, rc == 0, "floor exited with %d", rc);
}

/* A masked client frame (payload < 126) into out; returns its size. */
static size_t masked_frame(int opcode, int fin, const uint8_t *data, size_t n, uint8_t *out)
{
    static const uint8_t mask[4] = {0xa1, 0x5b, 0x3c, 0x07};
    out[0] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    out[1] = (uint8_t)(0x80 | n);
    memcpy(out + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        out[6 + i] = data[i] ^ mask[i & 3];
    return 6 + n;
}

/* The JOIN as two fragments, written in three pieces 20 ms apart: the
 * first frame cut in its header, the second with the first's tail. */
static int send_join_split(wsc *ws, const uint8_t *join, size_t n)
{
    uint8_t b[2 * (6 + PROTO_MAX_JOIN_MSG)];
    size_t half = n / 2;
    size_t a = masked_frame(WS_BINARY, 0, join, half, b);
    size_t total = a + masked_frame(0, 1, join + half, n - half, b + a);
    if (wsc_write(ws, b, 3) < 0)
        return -1;
    usleep(20000);
    if (wsc_write(ws, b + 3, a + 2 - 3) < 0)
        return -1;
    usleep(20000);
    return wsc_write(ws, b + a + 2, total - a - 2);
}

typedef struct window {
    int snaps;
    uint32_t first_tick, last_tick;
    double took_ms, first_ms, last_ms; /* from asking for the first to the last; receipts */
} window;

/* Receives 30 snapshots, answering each with an input (every fifth time
 * two inputs in one write, as two frames). 0, or -1 after a failed check. */
static int play_window(wsc *ws, cl_client *cl, size_t bytes, window *w)
{
    static uint8_t msg[PROTO_MAX_SNAPSHOT + 16];
    uint8_t out[PROTO_MAX_CLIENT_MSG], two[2 * (6 + 125)];
    memset(w, 0, sizeof *w);
    double t0 = check_now_ms();
    while (w->snaps < 30 && check_now_ms() - t0 < 3000) {
        size_t len;
        int op = wsc_recv(ws, msg, sizeof msg, &len, 1000);
        CHECK_OR(return -1, op == WS_BINARY, "no snapshot (op %d)", op);
        CHECK_OR(return -1, len == bytes, "snapshot of %zu bytes, wanted %zu", len, bytes);
        double now = check_now_ms();
        int type = cl_receive(cl, msg, len, now);
        CHECK_OR(return -1, type == PROTO_SNAPSHOT, "cl_receive: %d (%s)", type, type < 0 ? proto_err_str(type) : "");
        const proto_snapshot *s = cl_latest(cl);
        if (!w->snaps) {
            w->first_tick = s->tick;
            w->first_ms = now;
        }
        CHECK_OR(return -1, s->tick > w->last_tick, "tick %u after %u", s->tick, w->last_tick);
        w->last_tick = s->tick;
        w->last_ms = now;
        w->snaps++;
        /* One input per snapshot, as the bots do. */
        cl_push_input(cl, SIM_BTN_RIGHT, (uint16_t)(w->snaps * 500), now);
        size_t n = cl_write_input(cl, out, sizeof out);
        CHECK_OR(return -1, n && n < 126, "cl_write_input: %zu", n);
        if (w->snaps % 5 == 0) {
            size_t a = masked_frame(WS_BINARY, 1, out, n, two);
            cl_push_input(cl, SIM_BTN_LEFT, (uint16_t)(w->snaps * 500), now);
            size_t n2 = cl_write_input(cl, out, sizeof out);
            CHECK_OR(return -1, n2 && n2 < 126, "cl_write_input: %zu", n2);
            CHECK_OR(return -1, wsc_write(ws, two, a + masked_frame(WS_BINARY, 1, out, n2, two + a)) == 0,
                     "send two inputs");
        } else {
            CHECK_OR(return -1, wsc_send(ws, WS_BINARY, out, n) == 0, "send input");
        }
    }
    w->took_ms = check_now_ms() - t0;
    CHECK_OR(return -1, w->snaps == 30, "only %d snapshots", w->snaps);
    return 0;
}

/* Latest wins: a tick the floor could not write in time is superseded,
 * not queued; on a loaded machine that may happen once or twice in 30. */
static int window_on_time(const window *w)
{
    uint32_t span = w->last_tick - w->first_tick;
    return span >= 29 && span <= 31 && w->took_ms > 350 && w->took_ms < 1500;
}

/* Plays for ~0.5 s (or ~1 s, when the first window came late) against a
 * floor sending `bytes`-byte snapshots. */
static void check_size(const char *path, size_t bytes)
{
    spawn_proc p;
    static wsc ws;
    static cl_client cl;
    static uint8_t msg[PROTO_MAX_SNAPSHOT + 16];
    char err[256];
    fprintf(stderr, "size %zu\n", bytes);
    int connected = 0, started = start_floor(&p, path, bytes);
    if (!started)
        return;
    CHECK(wsc_connect(&ws, "127.0.0.1", p.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    connected = 1;
    cl_init(&cl);
    uint8_t out[PROTO_MAX_JOIN_MSG];
    cl_set_token(&cl, "floor-takes-any-token"); /* the floor checks no token */
    size_t n = cl_write_join(&cl, out, sizeof out);
    CHECK(n && send_join_split(&ws, out, n) == 0, "send join");

    size_t len;
    int op = wsc_recv(&ws, msg, sizeof msg, &len, 2000);
    CHECK(op == WS_BINARY, "no welcome (op %d)", op);
    int type = cl_receive(&cl, msg, len, check_now_ms());
    CHECK(type == PROTO_WELCOME, "first message: %d", type);
    CHECK(cl.welcome.tick_rate == RATE && cl.welcome.snapshot_rate == RATE, "rates %u/%u", cl.welcome.tick_rate,
          cl.welcome.snapshot_rate);

    /* Input seqs past a byte, two bytes and the event_ack field: the
     * floor must echo the newest seq from the INPUT's own field (offset 9),
     * or the bots stall on unacked inputs and the floor gets fewer INPUTs
     * than the server does. */
    const uint32_t seq0 = 70000;
    cl.next_seq = seq0 + 1;
    cl.sent_seq = cl.max_sent_seq = cl.last_input_seq = seq0;
    window w;
    CHECK(play_window(&ws, &cl, bytes, &w) == 0, "window");
    if (!window_on_time(&w)) {
        fprintf(stderr, "  ticks %u..%u in %.0f ms: late (a loaded machine?); one more window\n", w.first_tick,
                w.last_tick, w.took_ms);
        CHECK(play_window(&ws, &cl, bytes, &w) == 0, "second window");
    }
    CHECK(w.last_tick - w.first_tick >= 29 && w.last_tick - w.first_tick <= 31, "ticks %u..%u skip more than two",
          w.first_tick, w.last_tick);
    /* 30 snapshots at 60 Hz: ~0.5 s. */
    CHECK(w.took_ms > 350 && w.took_ms < 1500, "30 snapshots took %.0f ms", w.took_ms);
    /* The tick numbers advance at the tick rate: between the first and the
     * last receipt, wall time says how many ticks passed. Receipts may be
     * late (a loaded machine), so the bounds are wide; a floor ticking at
     * half or twice the rate still fails them. */
    double expect = (w.last_ms - w.first_ms) * RATE / 1000.0, span = w.last_tick - w.first_tick;
    CHECK(span >= 0.7 * expect - 2 && span <= 1.3 * expect + 2, "%.0f ticks in %.0f ms (%.1f at %d Hz)", span,
          w.last_ms - w.first_ms, expect, RATE);
    if (bytes >= 48) {
        CHECK(cl.stats.rtt_samples > 20, "only %u RTT samples", cl.stats.rtt_samples);
        CHECK(cl.last_input_seq >= seq0 + 25 && cl.last_input_seq < cl.next_seq, "last_input_seq %u (sent up to %u)",
              cl.last_input_seq, cl.next_seq - 1);
        CHECK(cl.stats.rtt_smooth_ms < 100, "rtt %.1f ms", cl.stats.rtt_smooth_ms);
    }
    /* close -> close, with our code */
    CHECK(wsc_send(&ws, WS_CLOSE, (const uint8_t[]){0x03, 0xe8}, 2) == 0, "send close");
    double t0 = check_now_ms();
    do
        op = wsc_recv(&ws, msg, sizeof msg, &len, 1000);
    while (op == WS_BINARY && check_now_ms() - t0 < 2000);
    CHECK(op == WS_CLOSE && ws.close_code == 1000, "close answered with op %d code %u", op, ws.close_code);
out:
    if (connected)
        wsc_close(&ws);
    stop_floor(&p);
}

/* Ping -> pong (the pong's bytes read off the wire), and a message over
 * the pre-JOIN limit -> close 1009. */
static void check_control(const char *path)
{
    spawn_proc p;
    static wsc ws;
    static uint8_t big[PROTO_MAX_JOIN_MSG + 1], msg[64];
    char err[256];
    fprintf(stderr, "control frames\n");
    int connected = 0;
    if (!start_floor(&p, path, 300))
        return;
    CHECK(wsc_connect(&ws, "127.0.0.1", p.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    connected = 1;
    CHECK(wsc_send(&ws, WS_PING, "floor", 5) == 0, "send ping");
    double t0 = check_now_ms();
    while (ws.len < 7 && check_now_ms() - t0 < 2000)
        if (wsc_fill(&ws, 500) < 0)
            break;
    CHECK(ws.len == 7 && ws.buf[0] == 0x8a && ws.buf[1] == 5 && memcmp(ws.buf + 2, "floor", 5) == 0,
          "no pong (%zu bytes, first 0x%02x)", ws.len, ws.len ? ws.buf[0] : 0);
    ws.len = 0;
    memset(big, PROTO_JOIN, sizeof big);
    CHECK(wsc_send(&ws, WS_BINARY, big, sizeof big) == 0, "send big");
    size_t len;
    int op = wsc_recv(&ws, msg, sizeof msg, &len, 2000);
    CHECK(op == WS_CLOSE && ws.close_code == 1009, "oversized JOIN: op %d code %u", op, ws.close_code);
out:
    if (connected)
        wsc_close(&ws);
    stop_floor(&p);
}

/* Sends `req` and reads one answer: its status and body. 0, or -1. */
static int http_roundtrip(wsc *c, const char *req, int *status, char *body, size_t cap)
{
    if (wsc_write(c, req, strlen(req)) < 0)
        return -1;
    c->len = 0;
    double t0 = check_now_ms();
    for (;;) {
        c->buf[c->len < sizeof c->buf ? c->len : sizeof c->buf - 1] = 0;
        char *end = strstr((char *)c->buf, "\r\n\r\n");
        if (end) {
            const char *cl = strcasestr((char *)c->buf, "content-length:");
            size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0, have = c->len - (size_t)(end + 4 - (char *)c->buf);
            if (have >= want && want < cap && sscanf((char *)c->buf, "HTTP/1.1 %d", status) == 1) {
                memcpy(body, end + 4, want);
                body[want] = 0;
                return 0;
            }
        }
        if (check_now_ms() - t0 > 2000 || wsc_fill(c, 500) < 0)
            return -1;
    }
}

/* Two requests on one keep-alive connection, as the bots' HTTP makes them. */
static void check_http(const char *path)
{
    spawn_proc p;
    static wsc c;
    char err[256], body[1024];
    fprintf(stderr, "http\n");
    int connected = 0, status = 0;
    if (!start_floor(&p, path, 300))
        return;
    CHECK(wsc_open(&c, "127.0.0.1", p.port, err, sizeof err) == 0, "%s", err);
    connected = 1;
    CHECK(http_roundtrip(&c, "POST /api/join?name=bot-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
                         &status, body, sizeof body) == 0, "no answer to POST /api/join");
    char token[PROTO_MAX_TOKEN + 1];
    CHECK(status == 200 && auth_parse_join_response(body, strlen(body), token, sizeof token) > 0,
          "POST /api/join: %d %s", status, body);
    CHECK(http_roundtrip(&c, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", &status, body, sizeof body) == 0,
          "no answer to GET /metrics on the same connection");
    CHECK(status == 404, "GET /metrics: %d", status);
out:
    if (connected)
        wsc_close(&c);
    stop_floor(&p);
}

/* The exit status of the floor started with these arguments. */
static int run_status(const char *path, const char *flag, const char *value)
{
    const char *argv[] = {path, "--port", "0", flag, value, NULL};
    spawn_desc d = {.argv = argv, .stdout_path = "/dev/null", .stderr_path = "/dev/null"};
    spawn_proc p;
    char err[256];
    if (spawn_start(&p, &d, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return spawn_wait(&p, 3000);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FLOOR_BINARY\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static const size_t sizes[] = {300, 23, 48, 49, 64, 65, 73, 137, 1000, 5223, 5711};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_size(argv[1], sizes[i]);
    check_control(argv[1]);
    check_http(argv[1]);
    static const char *const bad[][2] = {{"--snapshot-bytes", "22"},   {"--snapshot-bytes", "24"},
                                         {"--snapshot-bytes", "47"},   {"--snapshot-bytes", "5712"},
                                         {"--snapshot-bytes", "abc"},  {"--tick-rate", "0"},
                                         {"--port", "65536"},          {"--no-such-flag", "1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run_status(argv[1], bad[i][0], bad[i][1]);
        CHECK_OR((void)0, rc == 2, "%s %s: exit %d, wanted 2", bad[i][0], bad[i][1], rc);
    }
    printf(check_failures ? "test_floor: FAILED\n" : "test_floor: all passed\n");
    return check_failures != 0;
}
