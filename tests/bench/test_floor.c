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
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "wsclient.h"

static int g_failed;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
            g_failed = 1;                                                         \
            goto out;                                                             \
        }                                                                         \
    } while (0)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct proc {
    pid_t pid;
    int port;
    FILE *out;
} proc;

static int floor_start(proc *p, const char *path, const char *bytes)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    p->pid = fork();
    if (p->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(path, path, "--port", "0", "--snapshot-bytes", bytes, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    p->out = fdopen(fds[0], "r");
    char line[256];
    while (fgets(line, sizeof line, p->out)) {
        const char *s = strstr(line, "http://127.0.0.1:");
        if (s) {
            p->port = atoi(s + strlen("http://127.0.0.1:"));
            return p->port > 0 ? 0 : -1;
        }
    }
    return -1;
}

static int floor_stop(proc *p)
{
    kill(p->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            fclose(p->out);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(10000); /* polling a child's exit: there is no fd to wait on */
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    fclose(p->out);
    return -1;
}

/* Plays for ~0.5 s against a floor sending `bytes`-byte snapshots. */
static void check_size(const char *path, size_t bytes)
{
    char arg[16];
    snprintf(arg, sizeof arg, "%zu", bytes);
    proc p = {0};
    static wsc ws;
    static cl_client cl;
    static uint8_t msg[PROTO_MAX_SNAPSHOT + 16];
    int connected = 0, started = floor_start(&p, path, arg) == 0;
    fprintf(stderr, "size %zu\n", bytes);
    CHECK(started, "floor did not print its URL");
    char err[128];
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
    int type = cl_receive(&cl, msg, len, now_ms());
    CHECK(type == PROTO_WELCOME, "first message: %d", type);
    CHECK(cl.welcome.tick_rate == 60 && cl.welcome.snapshot_rate == 60, "rates %u/%u",
          cl.welcome.tick_rate, cl.welcome.snapshot_rate);

    int snaps = 0;
    uint32_t first_tick = 0, last_tick = 0;
    double t0 = now_ms();
    while (snaps < 30 && now_ms() - t0 < 3000) {
        op = wsc_recv(&ws, msg, sizeof msg, &len, 1000);
        CHECK(op == WS_BINARY, "no snapshot (op %d)", op);
        CHECK(len == bytes, "snapshot of %zu bytes, wanted %zu", len, bytes);
        type = cl_receive(&cl, msg, len, now_ms());
        CHECK(type == PROTO_SNAPSHOT, "cl_receive: %d (%s)", type, type < 0 ? proto_err_str(type) : "");
        const proto_snapshot *s = cl_latest(&cl);
        if (!snaps)
            first_tick = s->tick;
        CHECK(s->tick > last_tick, "tick %u after %u", s->tick, last_tick);
        last_tick = s->tick;
        snaps++;
        /* One input per snapshot, as the bots do. */
        cl_push_input(&cl, SIM_BTN_RIGHT, (uint16_t)(snaps * 500), now_ms());
        n = cl_write_input(&cl, out, sizeof out);
        CHECK(n && wsc_send(&ws, WS_BINARY, out, n) == 0, "send input");
    }
    double took = now_ms() - t0;
    CHECK(snaps == 30, "only %d snapshots", snaps);
    CHECK(last_tick - first_tick == 29, "ticks %u..%u skip some", first_tick, last_tick);
    /* 30 snapshots at 60 Hz: ~0.5 s. */
    CHECK(took > 350 && took < 1500, "30 snapshots took %.0f ms", took);
    if (bytes >= 24) {
        CHECK(cl.stats.rtt_samples > 20, "only %u RTT samples", cl.stats.rtt_samples);
        CHECK(cl.last_input_seq >= 25, "last_input_seq %u", cl.last_input_seq);
        CHECK(cl.stats.rtt_smooth_ms < 100, "rtt %.1f ms", cl.stats.rtt_smooth_ms);
    }
out:
    if (connected)
        wsc_close(&ws);
    if (started) {
        int rc = floor_stop(&p);
        if (rc != 0) {
            fprintf(stderr, "FAIL: floor exited with %d\n", rc);
            g_failed = 1;
        }
    }
}

static int run_status(const char *path, const char *bytes)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(path, path, "--port", "0", "--snapshot-bytes", bytes, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FLOOR_BINARY\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static const size_t sizes[] = {300, 11, 24, 25, 40, 41, 137, 1000, 3611};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_size(argv[1], sizes[i]);
    static const char *const bad[] = {"10", "12", "23", "3612", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run_status(argv[1], bad[i]);
        if (rc != 2) {
            fprintf(stderr, "FAIL: --snapshot-bytes %s: exit %d, wanted 2\n", bad[i], rc);
            g_failed = 1;
        }
    }
    printf(g_failed ? "test_floor: FAILED\n" : "test_floor: all passed\n");
    return g_failed;
}
