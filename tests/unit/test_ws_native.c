/* Unit tests for server/ws_native.c: a real core (core.h) and real
 * sockets (a socketpair per client), driven on a made-up clock the way
 * net.c drives them: the flush drains the core's actions into the set,
 * service_pass writes the woken and reads what arrived.
 *
 * A JOIN in gets a WELCOME out and a tick's snapshot after it; a client
 * that stops reading holds at most the rest of one message and, once it
 * reads again, gets the newest snapshot (latest wins) and whole frames
 * only; one that never drains is dropped by the core's stall rule; a
 * close the peer never answers is cut off after the grace; a frame RFC
 * 6455 forbids is closed with 1002 and counted; more bytes than one turn
 * reads are read at the next call (edge-triggered: no new edge comes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"
#include "log.h"
#include "proto.h"
#include "token.h"
#include "ws_frame.h"
#include "ws_native.h"

#define UNIX_NOW 1900000000ull
#define RATE 10
#define PERIOD_US (1000000 / RATE)
#define GRACE_US 2000000

static const uint8_t SECRET[32] = "test_ws_native secret, 32 bytes";

static struct {
    core *c;
    ws_native *w;
    int64_t now;
    uint64_t rng, nonce;
} H;

static int64_t fake_now(void)
{
    return H.now;
}

static void fake_random(void *user, void *buf, size_t len)
{
    (void)user;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        H.rng = H.rng * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(H.rng >> 56);
    }
}

static void quiet(void *user, log_level level, const char *event, const char *kv)
{
    (void)user, (void)level, (void)event, (void)kv;
}

/* net.c's flush_actions, for native connections only. */
static void flush(void *user)
{
    (void)user;
    core_action a;
    do {
        while (core_next_action(H.c, &a)) {
            assert_true(ws_native_owns(H.w, a.transport));
            if (a.kind == CORE_WAKE)
                ws_native_wake(H.w, a.transport);
            else if (a.kind == CORE_CLOSE)
                ws_native_close(H.w, a.transport, a.code, a.reason, H.now);
            else if (a.kind == CORE_ABORT)
                ws_native_abort(H.w, a.transport);
        }
    } while (ws_native_reap(H.w, H.now));
}

static int setup(void **state)
{
    (void)state;
    static sim_map map;
    memset(&map, 0, sizeof map);
    map.width = 512;
    map.height = 384;
    memset(&H, 0, sizeof H);
    H.rng = 1;
    H.now = 1000000000;
    log_set_sink(quiet, NULL);
    core_config cfg = {
        .tick_rate = RATE,
        .match_size = 4,
        .seed = 3,
        .secret = SECRET,
        .secret_len = sizeof SECRET,
        .random = fake_random,
    };
    char err[128];
    H.c = core_create(&cfg, &map, err, sizeof err);
    assert_non_null(H.c);
    core_set_unix_time(H.c, UNIX_NOW);
    ws_native_config wc = {
        .core = H.c,
        .max_conns = 8,
        .sndbuf = 0,
        .close_grace_us = GRACE_US,
        .flush = flush,
        .now = fake_now,
    };
    H.w = ws_native_create(&wc, err, sizeof err);
    assert_non_null(H.w);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int ep = ws_native_fd(H.w); /* the adopter's to close (lws' in the server) */
    ws_native_destroy(H.w, H.now);
    close(ep);
    core_destroy(H.c);
    log_set_sink(NULL, NULL);
    return 0;
}

/* net.c's service_pass: write the woken, read what arrived. */
static void pass(void)
{
    ws_native_write(H.w, H.now);
    ws_native_service(H.w, H.now, H.now + 4000);
    flush(NULL);
}

static void tick(void)
{
    H.now += PERIOD_US;
    core_tick(H.c, H.now);
    flush(NULL);
    ws_native_tick(H.w, H.now);
    flush(NULL);
    pass();
}

/* A client: the far end of a socketpair whose near end the set took. */
static int client_open(int *server_fd, int sndbuf)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    if (sndbuf)
        setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    uint32_t accepted = core_accept(H.c, H.now, "10.0.0.1");
    assert_int_not_equal(accepted, 0);
    assert_int_equal(ws_native_adopt(H.w, sv[0], accepted, "10.0.0.1:1", "10.0.0.1", H.now), 0);
    if (server_fd)
        *server_fd = sv[0];
    return sv[1];
}

static void client_send(int fd, int fin, int op, const void *payload, size_t len)
{
    static uint8_t out[1 << 17];
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (len < 126) {
        out[n++] = (uint8_t)(0x80 | len);
    } else {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    }
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(out + n, key, 4);
    n += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        out[n + i] = p[i] ^ key[i & 3];
    n += len;
    assert_int_equal(send(fd, out, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void client_join(int fd, const char *name)
{
    token_claims tc;
    memset(&tc, 0, sizeof tc);
    tc.player_id = 1000 + ++H.nonce;
    snprintf(tc.name, sizeof tc.name, "%s", name);
    tc.expiry = UNIX_NOW + 60;
    uint64_t nonce = 0x100000 + H.nonce;
    memcpy(tc.nonce, &nonce, sizeof nonce);
    char tok[TOKEN_MAX_B64 + 1];
    assert_true(token_mint(&tc, SECRET, 32, tok, sizeof tok) > 0);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    size_t n = proto_join_write(tok, NULL, buf, sizeof buf);
    assert_true(n > 0);
    client_send(fd, 1, WS_OP_BINARY, buf, n);
}

/* What a client reads: frames parsed from its socket. */
typedef struct rx {
    uint8_t buf[1 << 18];
    size_t len;
    int eof;
} rx;

static void rx_fill(rx *r, int fd)
{
    while (r->len < sizeof r->buf) {
        ssize_t n = recv(fd, r->buf + r->len, sizeof r->buf - r->len, MSG_DONTWAIT);
        if (n > 0) {
            r->len += (size_t)n;
            continue;
        }
        if (n == 0)
            r->eof = 1;
        return;
    }
}

/* The next whole server frame: its opcode, payload (pointer into r) and
 * length; 0 when none is whole. Every frame must be final and unmasked. */
static int rx_next(rx *r, const uint8_t **payload, size_t *len)
{
    if (r->len < 2)
        return 0;
    assert_true(r->buf[0] & 0x80);
    assert_false(r->buf[1] & 0x80);
    size_t h = 2, n = r->buf[1] & 0x7f;
    if (n == 126) {
        if (r->len < 4)
            return 0;
        n = (size_t)r->buf[2] << 8 | r->buf[3];
        h = 4;
    }
    assert_true(n != 127);
    if (r->len < h + n)
        return 0;
    static uint8_t copy[1 << 16];
    memcpy(copy, r->buf + h, n);
    int op = r->buf[0] & 0x0f;
    memmove(r->buf, r->buf + h + n, r->len - h - n);
    r->len -= h + n;
    *payload = copy;
    *len = n;
    return op;
}

static void test_join_welcome_then_snapshots(void **state)
{
    (void)state;
    int fd = client_open(NULL, 0);
    client_join(fd, "alice");
    pass(); /* reads the JOIN: the WELCOME is woken */
    pass(); /* writes it */
    static rx r;
    memset(&r, 0, sizeof r);
    rx_fill(&r, fd);
    const uint8_t *p;
    size_t n;
    assert_int_equal(rx_next(&r, &p, &n), WS_OP_BINARY);
    assert_int_equal(p[0], PROTO_WELCOME);
    tick();
    rx_fill(&r, fd);
    assert_int_equal(rx_next(&r, &p, &n), WS_OP_BINARY);
    assert_int_equal(p[0], PROTO_SNAPSHOT);
    assert_int_equal(ws_native_count(H.w), 1);
    assert_int_equal(core_connections(H.c), 1);
    close(fd);
    pass(); /* EOF: torn down, the core told */
    assert_int_equal(ws_native_count(H.w), 0);
    assert_int_equal(core_connections(H.c), 0);
    assert_int_equal(core_accepted(H.c), 0);
}

/* The client stops reading until its (smallest) socket is full: the set
 * keeps the rest of one message at most. Reading again, the client gets
 * whole frames only, ticks in order with the ones that found the socket
 * full skipped, and then every new tick: latest wins. */
static uint32_t snapshot_tick(const uint8_t *p, size_t n)
{
    proto_snapshot_header sh;
    assert_int_equal(proto_snapshot_header_read(p, n, &sh), 0);
    return sh.tick;
}

static void test_backed_up_reader_gets_latest(void **state)
{
    (void)state;
    int server_fd;
    int fd = client_open(&server_fd, 0);
    int small = 1; /* the kernel's least: a handful of messages */
    setsockopt(server_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    client_join(fd, "bob");
    pass();
    pass();
    int q = 0, prev = -1, still = 0, unread_ticks = 0;
    while (still < 3 && unread_ticks < CORE_SEND_STALL_S * RATE - 5) {
        tick();
        unread_ticks++;
        assert_int_equal(ioctl(fd, FIONREAD, &q), 0);
        still = q == prev ? still + 1 : 0;
        prev = q;
    }
    assert_int_equal(still, 3); /* the socket filled before the stall rule */
    static rx r;
    memset(&r, 0, sizeof r);
    uint32_t ticks[256];
    int nt = 0, gaps = 0;
    for (int round = 0; round < 4; round++) {
        rx_fill(&r, fd);
        const uint8_t *p;
        size_t n;
        int op;
        while ((op = rx_next(&r, &p, &n)) != 0) {
            assert_int_equal(op, WS_OP_BINARY);
            if (p[0] == PROTO_SNAPSHOT && nt < 256)
                ticks[nt++] = snapshot_tick(p, n);
        }
        assert_int_equal(r.len, 0); /* whole frames only */
        pass(); /* EPOLLOUT: the kept rest, then the newest */
    }
    for (int i = 1; i < nt; i++) {
        assert_true(ticks[i] > ticks[i - 1]);
        gaps += ticks[i] > ticks[i - 1] + 1;
    }
    assert_true(gaps >= 1); /* ticks that found the socket full were skipped */
    for (int i = 0; i < 3; i++) { /* and from here, every tick */
        uint32_t last = ticks[nt - 1];
        tick();
        rx_fill(&r, fd);
        const uint8_t *p;
        size_t n;
        assert_int_equal(rx_next(&r, &p, &n), WS_OP_BINARY);
        ticks[nt++] = snapshot_tick(p, n);
        assert_int_equal(ticks[nt - 1], last + 1);
    }
    assert_int_equal(core_connections(H.c), 1);
    close(fd);
    pass();
}

/* Never read again: the core's stall rule drops the connection (ABORT). */
static void test_never_drained_is_dropped(void **state)
{
    (void)state;
    int server_fd;
    int fd = client_open(&server_fd, 0);
    int small = 2048;
    setsockopt(server_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    client_join(fd, "carol");
    pass();
    pass();
    for (int i = 0; i < (CORE_SEND_STALL_S + 2) * RATE && core_connections(H.c); i++)
        tick();
    assert_int_equal(core_connections(H.c), 0);
    assert_int_equal(ws_native_count(H.w), 0);
    close(fd);
}

/* The core closes (a bad message): the close frame goes out; a client
 * that never answers it is cut off after the grace, not before. */
static void test_unanswered_close_cut_after_grace(void **state)
{
    (void)state;
    int fd = client_open(NULL, 0);
    static const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef};
    client_send(fd, 1, WS_OP_BINARY, garbage, sizeof garbage);
    pass();
    static rx r;
    memset(&r, 0, sizeof r);
    rx_fill(&r, fd);
    const uint8_t *p;
    size_t n;
    assert_int_equal(rx_next(&r, &p, &n), WS_OP_CLOSE);
    assert_true(n >= 2);
    assert_int_equal(p[0] << 8 | p[1], 1002);
    for (int i = 0; i < GRACE_US / PERIOD_US - 1; i++)
        tick();
    rx_fill(&r, fd);
    assert_false(r.eof);
    assert_int_equal(ws_native_count(H.w), 1);
    tick();
    tick();
    rx_fill(&r, fd);
    assert_true(r.eof);
    assert_int_equal(ws_native_count(H.w), 0);
    assert_int_equal(core_accepted(H.c), 0);
    close(fd);
}

/* An unmasked frame: 1002 from the framing, counted as malformed; the
 * peer's answering close ends it at once. */
static void test_violation_closed_1002(void **state)
{
    (void)state;
    int fd = client_open(NULL, 0);
    static const uint8_t unmasked[] = {0x82, 0x01, 0x00};
    assert_int_equal(send(fd, unmasked, sizeof unmasked, 0), 3);
    pass();
    static rx r;
    memset(&r, 0, sizeof r);
    rx_fill(&r, fd);
    const uint8_t *p;
    size_t n;
    assert_int_equal(rx_next(&r, &p, &n), WS_OP_CLOSE);
    assert_int_equal(p[0] << 8 | p[1], 1002);
    assert_int_equal(core_metrics(H.c)->bad[BAD_MALFORMED], 1);
    client_send(fd, 1, WS_OP_CLOSE, "\x03\xea", 2);
    pass();
    rx_fill(&r, fd);
    assert_true(r.eof);
    assert_int_equal(ws_native_count(H.w), 0);
    close(fd);
}

/* More than one turn reads (16 x 16 KiB) arrives at once: the rest is
 * read at the next call although no new edge comes; every ping before
 * the socket backed up is answered, the connection stays open. */
static void test_more_than_a_turn(void **state)
{
    (void)state;
    int server_fd;
    int fd = client_open(&server_fd, 1 << 20);
    int big = 1 << 20;
    setsockopt(server_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    /* 2,600 pings of 120 bytes, in one write. */
    static uint8_t burst[2600 * 126];
    size_t len = 0;
    for (int i = 0; i < 2600; i++) {
        burst[len++] = 0x80 | WS_OP_PING;
        burst[len++] = 0x80 | 120;
        memset(burst + len, 0, 4); /* a zero mask */
        len += 4;
        memset(burst + len, 'p', 120);
        len += 120;
    }
    assert_int_equal(send(fd, burst, len, MSG_NOSIGNAL), (ssize_t)len);
    int queued = 0;
    assert_int_equal(ioctl(server_fd, FIONREAD, &queued), 0);
    assert_true(queued > 256 * 1024);
    ws_native_service(H.w, H.now, H.now + 4000);
    flush(NULL);
    assert_int_equal(ioctl(server_fd, FIONREAD, &queued), 0);
    assert_true(queued > 0); /* the turn stopped with bytes left */
    ws_native_service(H.w, H.now, H.now + 4000);
    flush(NULL);
    assert_int_equal(ioctl(server_fd, FIONREAD, &queued), 0);
    assert_int_equal(queued, 0);
    static rx r;
    memset(&r, 0, sizeof r);
    const uint8_t *p;
    size_t n;
    int pongs = 0, op;
    do {
        rx_fill(&r, fd);
        while ((op = rx_next(&r, &p, &n)) != 0) {
            assert_int_equal(op, WS_OP_PONG);
            assert_int_equal(n, 120);
            pongs++;
        }
    } while (r.len == sizeof r.buf);
    assert_true(pongs > 0 && pongs <= 2600);
    assert_false(r.eof);
    assert_int_equal(ws_native_count(H.w), 1);
    close(fd);
    pass();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_welcome_then_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backed_up_reader_gets_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_drained_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unanswered_close_cut_after_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_violation_closed_1002, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_than_a_turn, setup, teardown),
    };
    return cmocka_run_group_tests_name("ws_native", tests, NULL, NULL);
}
