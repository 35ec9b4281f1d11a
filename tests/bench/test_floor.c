/* test_floor: tickwire-floor speaks enough tickwire.v3 for a real client.
 *
 *   test_floor FLOOR_BINARY
 *
 * For several --snapshot-bytes values: starts the floor on --port 0, reads
 * the port from its "serving http://127.0.0.1:PORT/" line, joins with the
 * shared/client.c netcode over a raw WebSocket, and checks that the WELCOME
 * decodes, that snapshots arrive at about the tick rate, are decoded by
 * cl_receive as PROTO_SNAPSHOT, are exactly the configured size, and (when
 * the snapshot holds the client's own entity) carry its newest input seq so
 * the client measures RTT. Also checks that impossible sizes are refused. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "client.h"
#include "proto.h"
#include "spawn.h"
#include "wsclient.h"

#define CHECK(cond, ...) CHECK_OR(goto out, cond, __VA_ARGS__)

/* Plays for ~0.5 s against a floor sending `bytes`-byte snapshots. */
static void check_size(const char *path, size_t bytes)
{
    char arg[16];
    snprintf(arg, sizeof arg, "%zu", bytes);
    const char *argv[] = {path, "--port", "0", "--snapshot-bytes", arg, NULL};
    spawn_proc p;
    static wsc ws;
    static cl_client cl;
    static uint8_t msg[PROTO_MAX_SNAPSHOT + 16];
    char err[256];
    fprintf(stderr, "size %zu\n", bytes);
    int connected = 0, started = spawn_server_start(&p, &(spawn_desc){.argv = argv}, err, sizeof err) == 0;
    CHECK(started, "%s", err);
    CHECK(wsc_connect(&ws, "127.0.0.1", p.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    connected = 1;
    cl_init(&cl);
    uint8_t out[PROTO_MAX_JOIN_MSG];
    cl_set_token(&cl, "floor-takes-any-token"); /* the floor checks no token */
    size_t n = cl_write_join(&cl, out, sizeof out);
    CHECK(wsc_send(&ws, WS_BINARY, out, n) == 0, "send join");

    size_t len;
    int op = wsc_recv(&ws, msg, sizeof msg, &len, 2000);
    CHECK(op == WS_BINARY, "no welcome (op %d)", op);
    int type = cl_receive(&cl, msg, len, check_now_ms());
    CHECK(type == PROTO_WELCOME, "first message: %d", type);
    CHECK(cl.welcome.tick_rate == 60 && cl.welcome.snapshot_rate == 60, "rates %u/%u",
          cl.welcome.tick_rate, cl.welcome.snapshot_rate);

    int snaps = 0;
    uint32_t first_tick = 0, last_tick = 0;
    double t0 = check_now_ms();
    while (snaps < 30 && check_now_ms() - t0 < 3000) {
        op = wsc_recv(&ws, msg, sizeof msg, &len, 1000);
        CHECK(op == WS_BINARY, "no snapshot (op %d)", op);
        CHECK(len == bytes, "snapshot of %zu bytes, wanted %zu", len, bytes);
        type = cl_receive(&cl, msg, len, check_now_ms());
        CHECK(type == PROTO_SNAPSHOT, "cl_receive: %d (%s)", type, type < 0 ? proto_err_str(type) : "");
        const proto_snapshot *s = cl_latest(&cl);
        if (!snaps)
            first_tick = s->tick;
        CHECK(s->tick > last_tick, "tick %u after %u", s->tick, last_tick);
        last_tick = s->tick;
        snaps++;
        /* One input per snapshot, as the bots do. */
        cl_push_input(&cl, SIM_BTN_RIGHT, (uint16_t)(snaps * 500), check_now_ms());
        n = cl_write_input(&cl, out, sizeof out);
        CHECK(n && wsc_send(&ws, WS_BINARY, out, n) == 0, "send input");
    }
    double took = check_now_ms() - t0;
    CHECK(snaps == 30, "only %d snapshots", snaps);
    /* Latest wins: a tick whose WRITEABLE comes after the next tick is
     * superseded, not queued. On a loaded machine (the sanitizer pass runs
     * two tests at once) that may happen once or twice in 30 ticks. */
    CHECK(last_tick - first_tick >= 29 && last_tick - first_tick <= 31, "ticks %u..%u skip more than two",
          first_tick, last_tick);
    /* 30 snapshots at 60 Hz: ~0.5 s. */
    CHECK(took > 350 && took < 1500, "30 snapshots took %.0f ms", took);
    if (bytes >= 46) {
        CHECK(cl.stats.rtt_samples > 20, "only %u RTT samples", cl.stats.rtt_samples);
        CHECK(cl.last_input_seq >= 25, "last_input_seq %u", cl.last_input_seq);
        CHECK(cl.stats.rtt_smooth_ms < 100, "rtt %.1f ms", cl.stats.rtt_smooth_ms);
    }
out:
    if (connected)
        wsc_close(&ws);
    if (started) {
        int rc = spawn_stop(&p, 3000, NULL);
        CHECK_OR((void)0, rc == 0, "floor exited with %d", rc);
    }
}

/* The exit status of the floor started with --snapshot-bytes `bytes`. */
static int run_status(const char *path, const char *bytes)
{
    const char *argv[] = {path, "--port", "0", "--snapshot-bytes", bytes, NULL};
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
    static const size_t sizes[] = {300, 23, 46, 47, 60, 61, 137, 1000, 4903};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_size(argv[1], sizes[i]);
    static const char *const bad[] = {"22", "24", "45", "4904", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run_status(argv[1], bad[i]);
        CHECK_OR((void)0, rc == 2, "--snapshot-bytes %s: exit %d, wanted 2", bad[i], rc);
    }
    printf(check_failures ? "test_floor: FAILED\n" : "test_floor: all passed\n");
    return check_failures != 0;
}
