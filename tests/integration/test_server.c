/* Integration tests against the real tickwire-server on loopback.
 *
 * Each case starts the server binary (path in argv[1]) on --port 0, reads
 * the port from its "serving http://..." line, and talks to it with real
 * sockets: a C client built on shared/client.c (the same netcode the bots
 * and the browser use) and the raw wsclient for the bad inputs.
 *
 *   test_server SERVER CASE [--tls CERT KEY]
 *   CASE: play delta bad_input matches shutdown cli metrics prometheus logs
 *         slow_reader limits auth resume adversarial stall latency fight leave
 *         max_conns conn_caps handshake startup results live
 * With --tls the server gets the certificate and every connection is wss. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <mbedtls/version.h>

#include "check.h"
#include "client.h"
#include "promtext.h"
#include "proto.h"
#include "replay_fmt.h"
#include "spawn.h"
#include "token.h"
#include "wsclient.h"

static const char *g_tls_cert, *g_tls_key; /* --tls CERT KEY: run the case over wss */

#define CHECK(cond, ...) CHECK_OR(return, cond, __VA_ARGS__)

/* ---- the server process ------------------------------------------------- */

/* Starts the server on port 0 (over TLS with --tls), `extra` flags after
 * the usual ones, its stderr into stderr_path unless NULL. Ended rounds go
 * to --results-db :memory: unless extra names a file: cases running side
 * by side share no database. Returns 0, or -1 with the reason printed. */
static int server_start(spawn_proc *sp, const char *path, const char *const *extra, const char *stderr_path)
{
    const char *argv[32] = {path, "--port", "0", "--log-level", "warn"};
    int argc = 5, own_db = 0, own_drain = 0;
    for (int i = 0; extra && extra[i]; i++) {
        own_db |= strcmp(extra[i], "--results-db") == 0;
        own_drain |= strcmp(extra[i], "--drain-timeout") == 0;
    }
    if (!own_db) {
        argv[argc++] = "--results-db";
        argv[argc++] = ":memory:";
    }
    if (!own_drain) { /* SIGTERM stops at once unless the case drains */
        argv[argc++] = "--drain-timeout";
        argv[argc++] = "0";
    }
    if (g_tls_cert) {
        argv[argc++] = "--tls-cert";
        argv[argc++] = g_tls_cert;
        argv[argc++] = "--tls-key";
        argv[argc++] = g_tls_key;
    }
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

/* An HTTP request over a plain (or TLS) socket; returns the status, body in out. */
static int http_request(int port, const char *method, const char *path, char *out, size_t cap)
{
    static wsc c;
    char err[128];
    if (wsc_open(&c, "127.0.0.1", port, err, sizeof err) < 0) {
        wsc_close(&c); /* a TLS handshake refused at a cap leaves its state */
        return -1;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     method, path);
    if (wsc_write(&c, req, (size_t)n) < 0) {
        wsc_close(&c);
        return -1;
    }
    while (wsc_fill(&c, 3000) > 0) {
    }
    size_t len = c.len < cap - 1 ? c.len : cap - 1;
    memcpy(out, c.buf, len);
    out[len] = '\0';
    wsc_close(&c);
    int status = 0;
    sscanf(out, "HTTP/1.1 %d", &status);
    char *body = strstr(out, "\r\n\r\n");
    if (body)
        memmove(out, body + 4, strlen(body + 4) + 1);
    return status;
}

static int http_get(int port, const char *path, char *out, size_t cap)
{
    return http_request(port, "GET", path, out, cap);
}

/* Connections the server refused at a cap (answer 503 over plain HTTP, a
 * bare close over TLS) while it still counted one the test had just
 * closed: a server sees a close a moment after the client makes it. The
 * retry helpers count them, so the tests' refusal counts stay exact. */
static int g_cap_retries;

/* http_request, again (for up to 3 s) while refused at a cap. */
static int http_request_retry(int port, const char *method, const char *path, char *out, size_t cap)
{
    double end = check_now_ms() + 3000;
    int status;
    while ((status = http_request(port, method, path, out, cap)) != 200 &&
           (status == 503 || (status < 0 && g_tls_cert)) && check_now_ms() < end) {
        g_cap_retries++;
        usleep(20000);
    }
    return status;
}

/* A guest join token from the demo server's POST /api/join. name must be
 * URL-safe or %-encoded. Returns 0. */
static int get_token(int port, const char *name, char *out, size_t cap)
{
    char path[128], body[1024];
    snprintf(path, sizeof path, "/api/join?name=%s", name);
    if (http_request_retry(port, "POST", path, body, sizeof body) != 200)
        return -1;
    const char *t = strstr(body, "\"token\":\"");
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

/* A JOIN carrying a fresh guest token. Returns its size, 0 on failure. */
static size_t join_msg(int port, const char *name, uint8_t *buf, size_t cap)
{
    char token[PROTO_MAX_TOKEN + 1];
    if (get_token(port, name, token, sizeof token) < 0)
        return 0;
    return proto_join_write(token, NULL, buf, cap);
}

/* ---- a netcode client ---------------------------------------------------- */

typedef struct player {
    wsc ws;
    cl_client cl;
    uint8_t buttons;
    int ack;                 /* 0: never acknowledge (always full snapshots) */
    int inputs_left;         /* stop sending after this many, -1 forever */
    int moving_left;         /* press `buttons` this many more inputs, then idle */
    int buttons_after;
    uint32_t snapshots;
    uint32_t fulls_after_delta; /* full snapshots once deltas had started */
    size_t last_snapshot_len;   /* bytes of the newest snapshot message */
    int closed;              /* WS_CLOSE or -1 */
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t lock;
    /* full-state copies by tick, for the delta check */
    proto_snapshot *log;
    int log_cap, log_len;
    int count_events;        /* 1: player_step reads the events into the counts below */
    uint32_t ev_kills, ev_joins, ev_all;
    char last_join[PROTO_MAX_NAME + 1];
} player;

static int player_join(player *p, int port, const char *name)
{
    char err[128];
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->ack = 1;
    p->inputs_left = -1;
    cl_init(&p->cl);
    if (wsc_connect(&p->ws, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) < 0) {
        fprintf(stderr, "connect: %s\n", err);
        return -1;
    }
    char token[PROTO_MAX_TOKEN + 1];
    if (get_token(port, name, token, sizeof token) < 0) {
        fprintf(stderr, "POST /api/join failed\n");
        return -1;
    }
    cl_set_token(&p->cl, token);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    size_t n = cl_write_join(&p->cl, buf, sizeof buf);
    return wsc_send(&p->ws, WS_BINARY, buf, n);
}

/* Handles one message; after each snapshot pushes and sends one input. */
static int player_step(player *p, int timeout_ms)
{
    uint8_t msg[PROTO_MAX_SNAPSHOT];
    size_t len;
    int op = wsc_recv(&p->ws, msg, sizeof msg, &len, timeout_ms);
    if (op == WS_CLOSE || op < 0) {
        p->closed = op;
        return -1;
    }
    if (op != WS_BINARY)
        return 0;
    pthread_mutex_lock(&p->lock);
    uint32_t fulls = p->cl.stats.full_snapshots;
    int type = cl_receive(&p->cl, msg, len, check_now_ms());
    if (type == PROTO_SNAPSHOT) {
        if (p->cl.stats.full_snapshots > fulls && p->cl.stats.snapshots > p->cl.stats.full_snapshots)
            p->fulls_after_delta++;
        p->snapshots++;
        p->last_snapshot_len = len;
        proto_event ev;
        while (p->count_events && cl_next_event(&p->cl, &ev)) {
            p->ev_all++;
            p->ev_kills += ev.type == PROTO_EV_KILL;
            if (ev.type == PROTO_EV_JOIN) {
                p->ev_joins++;
                snprintf(p->last_join, sizeof p->last_join, "%.16s", ev.text);
            }
        }
        if (p->log && p->log_len < p->log_cap)
            p->log[p->log_len++] = *cl_latest(&p->cl);
        if (p->inputs_left != 0) {
            if (p->inputs_left > 0)
                p->inputs_left--;
            cl_push_input(&p->cl, p->buttons_after ? 0 : p->buttons, (uint16_t)(p->snapshots * 97), check_now_ms());
            if (p->moving_left > 0 && --p->moving_left == 0)
                p->buttons_after = 1;
            uint8_t out[64];
            size_t n = cl_write_input(&p->cl, out, sizeof out);
            if (!p->ack)
                out[1] = out[2] = out[3] = out[4] = 0; /* ack_tick = 0 */
            if (n)
                wsc_send(&p->ws, WS_BINARY, out, n);
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (type < 0) {
        fprintf(stderr, "client: bad message from server: %s\n", proto_err_str(type));
        return -1;
    }
    return type;
}

static void *player_thread(void *arg)
{
    player *p = arg;
    while (!p->stop && player_step(p, 100) >= 0) {
    }
    return NULL;
}

static uint32_t player_snapshots(player *p)
{
    pthread_mutex_lock(&p->lock);
    uint32_t n = p->snapshots;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* Waits (serving the connection) until `n` snapshots have arrived. */
static int player_wait_snapshots(player *p, uint32_t n, int timeout_ms)
{
    double end = check_now_ms() + timeout_ms;
    while (p->snapshots < n && check_now_ms() < end)
        if (player_step(p, 100) < 0)
            return -1;
    return p->snapshots >= n ? 0 : -1;
}

/* ---- cases ---------------------------------------------------------------- */

/* Join, move right for 120 inputs, check the acked seq, the movement, and
 * that prediction needed no correction on this lossless link. */
static void case_play(const char *server)
{
    spawn_proc sp;
    CHECK(server_start(&sp, server, NULL, NULL) == 0, "server did not start");
    player p;
    CHECK(player_join(&p, sp.port, "tester") == 0, "join failed");
    CHECK(player_wait_snapshots(&p, 1, 3000) == 0, "no snapshot");
    CHECK(p.cl.joined && p.cl.welcome.tick_rate == 60 && p.cl.welcome.snapshot_rate == 60,
          "welcome: rates %u/%u", p.cl.welcome.tick_rate, p.cl.welcome.snapshot_rate);
    CHECK(p.cl.welcome.map.nwalls > 0, "welcome carries no walls");
    CHECK(p.cl.stats.full_snapshots == 1, "first snapshot must be full");
    /* Pick the direction with the most room from the spawn, by running the
     * shared sim locally; the server must land on exactly the same bits. */
    static const uint8_t dirs[4] = {SIM_BTN_RIGHT, SIM_BTN_LEFT, SIM_BTN_UP, SIM_BTN_DOWN};
    uint16_t me = p.cl.welcome.player_id;
    sim_player start, best_end;
    sim_player_from_net(&cl_latest(&p.cl)->ent[me], &start);
    float best = -1;
    for (int d = 0; d < 4; d++) {
        sim_player q = start;
        for (int k = 0; k < 120; k++) {
            sim_input in = {.buttons = dirs[d]};
            sim_player_step(&p.cl.welcome.map, &q, &in, p.cl.dt);
        }
        float travel = fabsf(q.pos[0] - start.pos[0]) + fabsf(q.pos[1] - start.pos[1]);
        if (travel > best) {
            best = travel;
            best_end = q;
            p.buttons = dirs[d];
        }
    }
    uint32_t first_seq = p.cl.next_seq;
    p.moving_left = 120;
    CHECK(player_wait_snapshots(&p, 200, 8000) == 0, "snapshots stopped");
    uint32_t acked = p.cl.last_input_seq;
    CHECK(acked >= first_seq + 119 && acked + 3 >= p.cl.next_seq - 1, "server acked seq %u, sent %u",
          acked, p.cl.next_seq - 1);
    /* Then idle inputs until the acked one: friction slows the player. */
    for (uint32_t k = first_seq + 120; k <= acked; k++) {
        sim_input in = {.buttons = 0};
        sim_player_step(&p.cl.welcome.map, &best_end, &in, p.cl.dt);
    }
    const proto_snapshot *s = cl_latest(&p.cl);
    sim_netent want;
    best_end.aim = s->ent[me].aim; /* aim varies per input in this client */
    best_end.flags = 0;
    sim_player_to_net(&best_end, &want);
    CHECK(s->ent[me].x == want.x && s->ent[me].y == want.y && s->ent[me].vx == want.vx &&
          s->ent[me].vy == want.vy, "server at (%u,%u), local sim says (%u,%u)",
          s->ent[me].x, s->ent[me].y, want.x, want.y);
    CHECK(best > 100, "moved only %.1f units", best);
    float x = s->ent[me].x / SIM_POS_SCALE, x0 = start.pos[0];
    CHECK(p.cl.stats.corrections == 0, "%u corrections on a lossless link", p.cl.stats.corrections);
    CHECK(p.cl.stats.full_snapshots == 1, "%u full snapshots; deltas expected after the first",
          p.cl.stats.full_snapshots);
    CHECK(p.cl.stats.rtt_samples > 100, "rtt samples %u", p.cl.stats.rtt_samples);
    (void)x;
    (void)x0;
    printf("play: moved %.1f units, acked seq %u, %u snapshots, rtt %.2f ms, 0 corrections\n",
           best, p.cl.last_input_seq, p.snapshots, p.cl.stats.rtt_smooth_ms);
    wsc_close(&p.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

static int same_entities(const proto_snapshot *a, const proto_snapshot *b, int *bad_id)
{
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        if (a->present[id] != b->present[id] ||
            (a->present[id] && memcmp(&a->ent[id], &b->ent[id], sizeof a->ent[id]) != 0)) {
            *bad_id = id;
            return 0;
        }
    }
    return 1;
}

/* Compares every tick two logs share; adds how many to *compared. */
static void compare_logs(const player *x, const player *y, int *compared)
{
    for (int i = 0; i < x->log_len; i++) {
        for (int j = 0; j < y->log_len; j++) {
            if (y->log[j].tick != x->log[i].tick)
                continue;
            int id;
            CHECK(same_entities(&x->log[i], &y->log[j], &id), "tick %u entity %d differs", x->log[i].tick, id);
            (*compared)++;
        }
    }
}

/* Player A acknowledges, player B never does: both get one full snapshot
 * and then deltas against the last snapshot sent on their connection (a
 * WebSocket is reliable and ordered), so B's missing acks change nothing.
 * Meanwhile 20 players C join one after the other and each takes the full
 * snapshot a new connection starts with. Every tick A saw must decode to
 * the same state in B's delta chain and in each C's full snapshot. */
static void case_delta(const char *server)
{
    const char *args[] = {"--npcs", "8", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    player a, b;
    CHECK(player_join(&a, sp.port, "delta") == 0, "join a");
    a.log_cap = 400;
    a.log = calloc(400, sizeof *a.log);
    a.buttons = SIM_BTN_DOWN | SIM_BTN_LEFT;
    pthread_create(&a.thread, NULL, player_thread, &a);
    CHECK(player_join(&b, sp.port, "noack") == 0, "join b");
    b.log_cap = 400;
    b.log = calloc(400, sizeof *b.log);
    b.ack = 0;
    b.buttons = SIM_BTN_UP;
    pthread_create(&b.thread, NULL, player_thread, &b);
    enum { NFULL = 20 };
    static player c[NFULL];
    for (int k = 0; k < NFULL; k++) {
        char name[16];
        snprintf(name, sizeof name, "full%d", k);
        CHECK(player_join(&c[k], sp.port, name) == 0, "join %s", name);
        c[k].log_cap = 1;
        c[k].log = calloc(1, sizeof *c[k].log);
        c[k].inputs_left = 0;
        CHECK(player_wait_snapshots(&c[k], 1, 3000) == 0, "%s: no snapshot", name);
        CHECK(c[k].cl.stats.full_snapshots == 1, "%s: the first snapshot on a connection is full", name);
        wsc_close(&c[k].ws);
    }
    double end = check_now_ms() + 15000;
    while ((player_snapshots(&a) < 300 || player_snapshots(&b) < 300) && check_now_ms() < end)
        usleep(20000); /* the threads do the work; this only watches counters */
    a.stop = b.stop = 1;
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    CHECK(a.snapshots >= 300 && b.snapshots >= 300, "snapshots %u %u", a.snapshots, b.snapshots);
    CHECK(b.cl.stats.full_snapshots == 1 && b.fulls_after_delta == 0,
          "B (no acks) got %u full snapshots, %u after deltas had started: want 1, 0", b.cl.stats.full_snapshots,
          b.fulls_after_delta);
    CHECK(a.cl.stats.full_snapshots == 1 && a.fulls_after_delta == 0, "A got %u full snapshots, %u after deltas",
          a.cl.stats.full_snapshots, a.fulls_after_delta);
    int compared = 0;
    compare_logs(&a, &b, &compared);
    CHECK(compared > 250, "only %d common ticks with B", compared);
    int fulls = 0;
    double per_full = 0;
    for (int k = 0; k < NFULL; k++) {
        compare_logs(&a, &c[k], &fulls);
        per_full += (double)c[k].last_snapshot_len / NFULL;
        free(c[k].log);
    }
    CHECK(fulls >= NFULL - 2, "only %d of %d full snapshots fall in A's log", fulls, NFULL);
    CHECK(a.cl.stats.corrections == 0 && b.cl.stats.corrections == 0, "corrections %u %u",
          a.cl.stats.corrections, b.cl.stats.corrections);
    double per_delta = (double)a.cl.stats.bytes_down / a.cl.stats.msgs_down;
    double per_noack = (double)b.cl.stats.bytes_down / b.cl.stats.msgs_down;
    CHECK(per_delta < per_full / 2, "deltas (%.0f B) should be far smaller than full (%.0f B)", per_delta, per_full);
    CHECK(per_noack < per_full / 2, "B's deltas (%.0f B) should be far smaller than full (%.0f B)", per_noack,
          per_full);
    printf("delta: %d ticks identical to B's, %d to C's full snapshots; mean message %.1f B (A), %.1f B (B, no "
           "acks) vs %.1f B full (10 moving entities)\n",
           compared, fulls, per_delta, per_noack, per_full);
    free(a.log);
    free(b.log);
    wsc_close(&a.ws);
    wsc_close(&b.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* Interest management (--aoi-radius 256 on the 2048 arena: cells of 256).
 * Player A moves among 40 wandering NPCs and logs every snapshot it
 * decodes; meanwhile players C join one after the other, each taking the
 * full snapshot a new connection starts with, which is not filtered: the
 * server's whole world at that tick. At each of those ticks A must hold
 * exactly the players whose cell is next to its own (the 3 x 3 block),
 * in the same state as the full snapshot; and from its own first (full)
 * snapshot A knows every NPC's name, also of those never in view. */
static void aoi_cell(const sim_netent *e, int *cx, int *cy)
{
    *cx = (e->x >> SIM_POS_FRAC_BITS) / 256;
    *cy = (e->y >> SIM_POS_FRAC_BITS) / 256;
}

static void case_aoi(const char *server)
{
    const char *args[] = {"--npcs", "40", "--aoi-radius", "256", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    player a;
    CHECK(player_join(&a, sp.port, "viewer") == 0, "join a");
    a.log_cap = 900;
    a.log = calloc((size_t)a.log_cap, sizeof *a.log);
    a.buttons = SIM_BTN_DOWN | SIM_BTN_RIGHT;
    a.moving_left = 150; /* across a few cells, then still */
    pthread_create(&a.thread, NULL, player_thread, &a);
    enum { NFULL = 12 };
    static player c[NFULL];
    for (int k = 0; k < NFULL; k++) {
        char name[16];
        snprintf(name, sizeof name, "full%d", k);
        CHECK(player_join(&c[k], sp.port, name) == 0, "join %s", name);
        c[k].log_cap = 1;
        c[k].log = calloc(1, sizeof *c[k].log);
        c[k].inputs_left = 0;
        CHECK(player_wait_snapshots(&c[k], 1, 3000) == 0, "%s: no snapshot", name);
        CHECK(c[k].cl.stats.full_snapshots == 1, "%s: the first snapshot on a connection is full", name);
        wsc_close(&c[k].ws);
        usleep(150000);
    }
    double end = check_now_ms() + 10000;
    while (player_snapshots(&a) < 150 && check_now_ms() < end)
        usleep(20000);
    a.stop = 1;
    pthread_join(a.thread, NULL);
    uint16_t me = a.cl.welcome.player_id;
    int compared = 0, in_view = 0, out_of_view = 0, cells_visited = 0, last_cell = -1, enters = 0, leaves = 0;
    for (int i = 0; i < a.log_len; i++) {
        const proto_snapshot *s = &a.log[i];
        CHECK(s->present[me], "tick %u: A is not in its own snapshot", s->tick);
        int ax, ay;
        aoi_cell(&s->ent[me], &ax, &ay);
        cells_visited += ay * 8 + ax != last_cell;
        last_cell = ay * 8 + ax;
        for (int id = 0; i > 0 && id < PROTO_MAX_ENTITIES; id++) {
            enters += s->present[id] && !a.log[i - 1].present[id];
            leaves += !s->present[id] && a.log[i - 1].present[id];
        }
        for (int k = 0; k < NFULL; k++) {
            const proto_snapshot *f = &c[k].log[0];
            if (f->tick != s->tick)
                continue;
            compared++;
            for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
                if (!f->present[id]) {
                    CHECK(!s->present[id], "tick %u: A holds %d, who is not in the match", s->tick, id);
                    continue;
                }
                int ex, ey;
                aoi_cell(&f->ent[id], &ex, &ey);
                /* A's first snapshot is full: everyone, unfiltered. */
                int want = i == 0 || (abs(ex - ax) <= 1 && abs(ey - ay) <= 1);
                CHECK(s->present[id] == want, "tick %u: entity %d in cell (%d,%d), A in (%d,%d): present %d", s->tick,
                      id, ex, ey, ax, ay, s->present[id]);
                if (want)
                    CHECK(memcmp(&s->ent[id], &f->ent[id], sizeof s->ent[id]) == 0, "tick %u: entity %d differs",
                          s->tick, id);
                in_view += want;
                out_of_view += !want;
            }
        }
    }
    CHECK(compared >= NFULL - 2, "only %d of %d full snapshots fall in A's log", compared, NFULL);
    CHECK(out_of_view > 10 * compared, "%d out of view in %d snapshots: the filter did not filter", out_of_view,
          compared);
    CHECK(enters > 0 && leaves > 0, "nobody entered (%d) or left (%d) A's view", enters, leaves);
    for (int id = 0; id < 40; id++) {
        char want[16];
        snprintf(want, sizeof want, "npc-%d", id + 1);
        CHECK(strcmp(a.cl.names.name[id], want) == 0, "A knows NPC %d as '%s'", id, a.cl.names.name[id]);
    }
    CHECK(a.cl.stats.corrections == 0, "%u corrections", a.cl.stats.corrections);
    CHECK(a.cl.stats.full_snapshots == 1 && a.fulls_after_delta == 0, "A got %u full snapshots",
          a.cl.stats.full_snapshots);
    printf("aoi: %d full snapshots compared, %d players in A's view, %d out (all absent), %d cells visited, "
           "%d enters, %d leaves, mean message %.1f B\n",
           compared, in_view, out_of_view, cells_visited, enters, leaves,
           (double)a.cl.stats.bytes_down / a.cl.stats.msgs_down);
    for (int k = 0; k < NFULL; k++)
        free(c[k].log);
    free(a.log);
    wsc_close(&a.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

#define CHAT10 "aaaaaaaaaa"
#define CHAT121 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 CHAT10 "a"

typedef struct bad_case {
    const char *name;
    int join_first;      /* send a valid JOIN and wait for WELCOME first */
    int opcode;
    uint8_t bytes[PROTO_MAX_CLIENT_MSG + 8];
    size_t len;
    uint16_t want_code;
} bad_case;

static void run_bad_case(int port, const bad_case *bc, player *watcher)
{
    wsc c;
    char err[128];
    CHECK(wsc_connect(&c, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s: %s", bc->name, err);
    uint8_t msg[PROTO_MAX_SNAPSHOT];
    size_t len;
    if (bc->join_first) {
        uint8_t j[PROTO_MAX_JOIN_MSG];
        size_t n = join_msg(port, "bad", j, sizeof j);
        wsc_send(&c, WS_BINARY, j, n);
        int op = wsc_recv(&c, msg, sizeof msg, &len, 3000);
        CHECK(op == WS_BINARY && msg[0] == PROTO_WELCOME, "%s: no welcome", bc->name);
    }
    wsc_send(&c, bc->opcode, bc->bytes, bc->len);
    int op;
    double end = check_now_ms() + 3000;
    while ((op = wsc_recv(&c, msg, sizeof msg, &len, 200)) != WS_CLOSE && op >= 0 && check_now_ms() < end) {
    }
    CHECK(op == WS_CLOSE, "%s: connection not closed with a close frame (op %d)", bc->name, op);
    CHECK(c.close_code == bc->want_code, "%s: close code %u, want %u", bc->name, c.close_code, bc->want_code);
    printf("bad_input: %-28s -> close %u \"%s\"\n", bc->name, c.close_code, c.close_reason);
    wsc_close(&c);
    /* The honest player keeps receiving snapshots. */
    uint32_t before = player_snapshots(watcher);
    end = check_now_ms() + 3000;
    while (player_snapshots(watcher) < before + 10 && check_now_ms() < end)
        usleep(5000);
    CHECK(player_snapshots(watcher) >= before + 10, "%s: watcher stalled", bc->name);
    CHECK(watcher->closed == 0, "%s: watcher was disconnected", bc->name);
}

static void case_bad_input(const char *server)
{
    spawn_proc sp;
    CHECK(server_start(&sp, server, NULL, NULL) == 0, "server did not start");
    player w;
    CHECK(player_join(&w, sp.port, "watcher") == 0, "join");
    w.buttons = SIM_BTN_RIGHT;
    pthread_create(&w.thread, NULL, player_thread, &w);

    static const bad_case cases[] = {
        {"text frame", 0, WS_TEXT, "hello", 5, 1003},
        {"text frame after join", 1, WS_TEXT, "{\"x\":1}", 7, 1003},
        {"oversized join", 0, WS_BINARY, {0x01}, 300, 1009},
        {"oversized input", 1, WS_BINARY, {0x02}, PROTO_MAX_CLIENT_MSG + 1, 1009},
        {"empty message", 0, WS_BINARY, {0}, 0, 1002},
        {"input before join", 0, WS_BINARY, {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 255, 0}, 19, 1002},
        {"unknown type", 1, WS_BINARY, {0x7f, 1, 2, 3}, 4, 1002},
        {"truncated join", 0, WS_BINARY, {0x01, PROTO_VERSION, 0x05, 'a', 'b'}, 5, 1002},
        {"wrong version", 0, WS_BINARY, {0x01, 0x01, 0x00, 0x00}, 4, 1002},
        {"v2 join", 0, WS_BINARY, {0x01, 0x02, 0x04, 'A', 'A', 'A', 'A', 0x00}, 8, 1002},
        {"v5 join", 0, WS_BINARY, {0x01, 0x05, 0x04, 'A', 'A', 'A', 'A', 0x00}, 8, 1002},
        {"v5 join as v6 (no mode)", 0, WS_BINARY, {0x01, PROTO_VERSION, 0x04, 'A', 'A', 'A', 'A', 0x00}, 8, 1002},
        {"join without token", 0, WS_BINARY, {0x01, PROTO_VERSION, 0x00, 0x00, 0x00}, 5, 1002},
        {"join mode 2", 0, WS_BINARY, {0x01, PROTO_VERSION, 0x01, 'x', 0x00, 0x02}, 6, 1002},
        {"spectate no match id", 0, WS_BINARY, {0x01, PROTO_VERSION, 0x01, 'x', 0x00, 0x01}, 6, 1002},
        {"join twice", 1, WS_BINARY, {0x01, PROTO_VERSION, 0x01, 'x', 0x00, 0x00}, 6, 1002},
        {"forged token", 0, WS_BINARY, {0x01, PROTO_VERSION, 0x04, 'A', 'A', 'A', 'A', 0x00, 0x00}, 9,
         PROTO_CLOSE_TOKEN_REFUSED},
        {"forged spectate token", 0, WS_BINARY, {0x01, PROTO_VERSION, 0x04, 'A', 'A', 'A', 'A', 0x00, 0x01, 0xff, 0xff}, 11,
         PROTO_CLOSE_TOKEN_REFUSED},
        {"truncated input", 1, WS_BINARY, {0x02, 0, 0, 0}, 4, 1002},
        {"input trailing bytes", 1, WS_BINARY, {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 255, 0, 9}, 20, 1002},
        {"input count zero", 1, WS_BINARY, {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 14, 1002},
        {"input seq gap", 1, WS_BINARY, {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 255, 0}, 19, 1002},
        /* A view (render tick) is ack_tick minus a byte: a future view
         * needs a future ack, refused like any ack of an unsent snapshot. */
        {"ack from the future", 1, WS_BINARY, {0x02, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0}, 19, 1002},
        {"view before tick 1", 1, WS_BINARY, {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0}, 19, 1002},
        {"event ack from the future", 1, WS_BINARY, {0x02, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0, 1, 0, 0, 0, 255, 0}, 19, 1002},
        {"unknown buttons", 1, WS_BINARY, {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x80, 0, 0, 255, 0}, 19, 1002},
        {"chat not UTF-8", 1, WS_BINARY, {0x03, 2, 0, 0xc3, 0x28}, 5, 1007},
        {"chat surrogate", 1, WS_BINARY, {0x03, 3, 0, 0xed, 0xa0, 0x80}, 6, 1007},
        {"chat 121 characters", 1, WS_BINARY, "\x03\x79\x00" CHAT121, 124, 1009},
        {"chat truncated", 1, WS_BINARY, {0x03, 9, 0, 'h', 'i'}, 5, 1002},
        {"garbage", 0, WS_BINARY, {0xde, 0xad, 0xbe, 0xef, 0x00, 0x11}, 6, 1002},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !check_failures; i++)
        run_bad_case(sp.port, &cases[i], &w);

    /* A v2 or v5 client offers the old subprotocol: no upgrade at all. */
    static const char *const old_subprotocols[] = {"tickwire.v2", "tickwire.v5"};
    for (size_t i = 0; i < 2 && !check_failures; i++) {
        wsc c;
        char err[128] = "";
        int rc = wsc_connect(&c, "127.0.0.1", sp.port, old_subprotocols[i], err, sizeof err);
        wsc_close(&c); /* also after a failed connect: it frees the TLS state */
        CHECK(rc < 0, "subprotocol %s was accepted", old_subprotocols[i]);
        printf("bad_input: subprotocol %-16s -> refused (%s)\n", old_subprotocols[i], err);
    }

    /* Duplicates and stale inputs are ignored, not fatal: resend 1..3 after 1..5. */
    if (!check_failures) {
        wsc c;
        char err[128];
        uint8_t msg[PROTO_MAX_SNAPSHOT];
        size_t len;
        CHECK(wsc_connect(&c, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
        uint8_t j[PROTO_MAX_JOIN_MSG];
        wsc_send(&c, WS_BINARY, j, join_msg(sp.port, "dup", j, sizeof j));
        proto_input_msg m = {.ack_tick = 0, .first_seq = 1, .count = 5};
        uint8_t in[64];
        wsc_send(&c, WS_BINARY, in, proto_input_write(&m, in, sizeof in));
        m.count = 3;
        wsc_send(&c, WS_BINARY, in, proto_input_write(&m, in, sizeof in));
        uint32_t last_seq = 0;
        double end = check_now_ms() + 3000;
        while (last_seq < 5 && check_now_ms() < end) {
            int op = wsc_recv(&c, msg, sizeof msg, &len, 200);
            CHECK(op != WS_CLOSE && op >= 0, "duplicate inputs closed the connection (%u)", c.close_code);
            proto_snapshot_header h;
            if (op == WS_BINARY && proto_snapshot_header_read(msg, len, &h) == PROTO_OK)
                last_seq = h.last_input_seq;
        }
        CHECK(last_seq == 5, "last applied seq %u, want 5", last_seq);
        printf("bad_input: duplicate inputs ignored, last applied seq 5\n");
        wsc_close(&c);
    }
    w.stop = 1;
    pthread_join(w.thread, NULL);
    CHECK(w.closed == 0, "watcher closed");
    CHECK(w.cl.stats.corrections == 0, "watcher had %u corrections", w.cl.stats.corrections);
    printf("bad_input: watcher received %u snapshots throughout, 0 corrections\n", w.snapshots);
    wsc_close(&w.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* A full match sends the next player to a new match; an empty one is freed
 * (the next joiner reuses its place, seen through the match id). */
static void case_matches(const char *server)
{
    const char *args[] = {"--match-size", "3", "--npcs", "1", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    player p[3];
    for (int i = 0; i < 3; i++) {
        CHECK(player_join(&p[i], sp.port, "m") == 0, "join %d", i);
        CHECK(player_wait_snapshots(&p[i], 1, 3000) == 0, "no snapshot for %d", i);
    }
    CHECK(p[0].cl.welcome.match_id == p[1].cl.welcome.match_id, "first two share a match");
    CHECK(p[2].cl.welcome.match_id != p[0].cl.welcome.match_id, "third goes to a new match");
    const proto_snapshot *s = cl_latest(&p[2].cl);
    int present = 0;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        present += s->present[id];
    CHECK(present == 2, "new match has %d entities, want the player and one npc", present);
    CHECK(player_wait_snapshots(&p[0], 30, 3000) == 0, "p0 snapshots");
    s = cl_latest(&p[0].cl);
    present = 0;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        present += s->present[id];
    CHECK(present == 3, "first match has %d entities, want 3", present);
    printf("matches: size 3 with 1 npc -> matches %u, %u, %u\n", p[0].cl.welcome.match_id,
           p[1].cl.welcome.match_id, p[2].cl.welcome.match_id);
    for (int i = 0; i < 3; i++)
        wsc_close(&p[i].ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* Value of the first sample line starting with `series` (name or name{labels}). */
static double metric_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
    return -1;
}

/* The text passes the strict reader (tests/common/promtext.h); why not in bad. */
static int prometheus_valid(const char *text, char *bad, size_t badlen)
{
    promtext p = {0};
    int ok = promtext_parse(&p, text) == 0;
    snprintf(bad, badlen, "%s", p.err);
    promtext_free(&p);
    return ok;
}

/* /metrics parses as Prometheus text and its figures follow what happens. */
static void case_metrics(const char *server)
{
    const char *args[] = {"--npcs", "2", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static char text[65536];
    char bad[512];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "GET /metrics");
    CHECK(prometheus_valid(text, bad, sizeof bad), "not Prometheus text: %s", bad);
    CHECK(metric_value(text, "tickwire_connections") == 0, "connections before any client");
    player p;
    CHECK(player_join(&p, sp.port, "metrics") == 0, "join");
    CHECK(player_wait_snapshots(&p, 30, 3000) == 0, "snapshots");
    wsc t;
    char err[128];
    uint8_t msg[PROTO_MAX_SNAPSHOT];
    size_t len;
    CHECK(wsc_connect(&t, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    wsc_send(&t, WS_TEXT, "hi", 2);
    while (wsc_recv(&t, msg, sizeof msg, &len, 1000) > 0) {
    }
    wsc_close(&t);
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "GET /metrics");
    CHECK(prometheus_valid(text, bad, sizeof bad), "not Prometheus text: %s", bad);
    CHECK(metric_value(text, "tickwire_connections") == 1, "connections %g", metric_value(text, "tickwire_connections"));
    CHECK(metric_value(text, "tickwire_players") == 1 && metric_value(text, "tickwire_npcs") == 2, "players/npcs");
    CHECK(metric_value(text, "tickwire_matches") == 1, "matches");
    CHECK(metric_value(text, "tickwire_snapshot_messages_total") >= 30, "snapshot messages");
    CHECK(metric_value(text, "tickwire_snapshot_bytes_total") > 30 * 10, "snapshot bytes");
    CHECK(metric_value(text, "tickwire_input_messages_total") >= 29, "input messages %g",
          metric_value(text, "tickwire_input_messages_total"));
    CHECK(metric_value(text, "tickwire_bad_messages_total{reason=\"text_frame\"}") == 1, "bad text_frame");
    CHECK(metric_value(text, "tickwire_tick_duration_seconds_count") == metric_value(text, "tickwire_ticks_total"),
          "histogram count = ticks");
    CHECK(metric_value(text, "process_resident_memory_bytes") > 1e5, "rss");
    CHECK(metric_value(text, "process_cpu_seconds_total") > 0, "cpu");
    CHECK(http_get(sp.port, "/metrics/x", text, sizeof text) == 404, "/metrics/x should be 404");
    printf("metrics: Prometheus text parses; connections, players, counters and bad-message reasons follow events\n");
    wsc_close(&p.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* /metrics after some traffic (two players joined over POST /api/join and
 * the game socket, one dropped and held, a 404 under /metrics and one in
 * the web root, a bad /api/matches limit, a refused upgrade), read by the
 * strict reader: every line, every family with HELP and TYPE, histograms
 * rising to +Inf == _count, no series twice; and every family issue 12
 * added is there with a sensible value. */
static void case_prometheus(const char *server)
{
    const char *args[] = {"--resume-grace", "30", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static char text[65536];
    char body[1024];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "GET /metrics");
    CHECK(http_get(sp.port, "/metrics/x", body, sizeof body) == 404, "/metrics/x should be 404");
    CHECK(http_get(sp.port, "/no-such-file.html", body, sizeof body) == 404, "/no-such-file.html should be 404");
    CHECK(http_get(sp.port, "/api/matches?limit=0", body, sizeof body) == 400, "limit=0 should be 400");
    CHECK(http_get(sp.port, "/api/matches/live", body, sizeof body) == 200, "/api/matches/live");
    wsc w;
    char err[128];
    CHECK(wsc_connect(&w, "127.0.0.1", sp.port, "tickwire.v2", err, sizeof err) < 0, "tickwire.v2 was accepted");
    wsc_close(&w);
    player p[2];
    for (int i = 0; i < 2; i++) {
        CHECK(player_join(&p[i], sp.port, i ? "prom-b" : "prom-a") == 0, "join %d", i);
        CHECK(player_wait_snapshots(&p[i], 20, 3000) == 0, "snapshots %d", i);
    }
    CHECK(player_wait_snapshots(&p[0], 40, 3000) == 0, "more snapshots");
    wsc_close(&p[1].ws); /* no close frame: held for a resume */
    promtext pt = {0};
    double end = check_now_ms() + 3000, held = -1;
    while (check_now_ms() < end) {
        player_step(&p[0], 20);
        CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "GET /metrics");
        promtext_free(&pt);
        CHECK(promtext_parse(&pt, text) == 0, "not Prometheus text: %s", pt.err);
        if ((held = promtext_value(&pt, "tickwire_players_held")) == 1)
            break;
    }
    CHECK(held == 1, "players held: %g", held);

    /* Every family the issue asked for, with its type. */
    static const struct {
        const char *name, *type;
    } fams[] = {
        {"process_start_time_seconds", "gauge"},     {"process_open_fds", "gauge"},
        {"process_max_fds", "gauge"},                {"process_resident_memory_bytes", "gauge"},
        {"process_virtual_memory_bytes", "gauge"},   {"process_cpu_seconds_total", "counter"},
        {"tickwire_build_info", "gauge"},            {"tickwire_received_bytes_total", "counter"},
        {"tickwire_sent_bytes_total", "counter"},    {"tickwire_http_requests_total", "counter"},
        {"tickwire_players_held", "gauge"},          {"tickwire_input_queue_depth", "histogram"},
        {"tickwire_input_queue_depth_max", "gauge"}, {"tickwire_tick_duration_seconds", "histogram"},
        {"tickwire_log_suppressed_total", "counter"}, {"tickwire_missed_ticks_total", "counter"},
    };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        const promtext_family *f = promtext_family_of(&pt, fams[i].name);
        CHECK(f && strcmp(f->type, fams[i].type) == 0 && f->nsamples > 0, "%s: %s", fams[i].name,
              f ? f->type : "missing");
    }
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double now = (double)wall.tv_sec + wall.tv_nsec * 1e-9, start = promtext_value(&pt, "process_start_time_seconds");
    /* (boot time is whole seconds: the start may read up to 1 s early) */
    CHECK(start > now - 60 && start <= now + 1, "process_start_time_seconds %.3f, now %.3f", start, now);
    double fds = promtext_value(&pt, "process_open_fds"), max_fds = promtext_value(&pt, "process_max_fds");
    CHECK(fds >= 4 && fds < max_fds, "open fds %g of %g", fds, max_fds);
    CHECK(promtext_value(&pt, "process_resident_memory_bytes") > 1e5, "rss");
    CHECK(promtext_value(&pt, "process_cpu_seconds_total") > 0, "cpu");
    const promtext_family *bi = promtext_family_of(&pt, "tickwire_build_info");
    CHECK(bi->nsamples == 1, "build_info: %d series", bi->nsamples);
    for (int i = 0; i < pt.nsamples; i++)
        if (strcmp(pt.samples[i].name, "tickwire_build_info") == 0) {
            CHECK(pt.samples[i].value == 1, "build_info %g", pt.samples[i].value);
            CHECK(strstr(pt.samples[i].key, "protocol=\"" PROTO_SUBPROTOCOL "\"") &&
                  strstr(pt.samples[i].key, "version=\"") && !strstr(pt.samples[i].key, "version=\"\""),
                  "build_info labels: %s", pt.samples[i].key);
            printf("prometheus: %s 1\n", pt.samples[i].key);
        }
    /* Bytes: each join, 40-odd inputs in; welcomes and snapshots out. */
    double rx = promtext_value(&pt, "tickwire_received_bytes_total");
    double tx = promtext_value(&pt, "tickwire_sent_bytes_total");
    CHECK(rx > 2 * 20 && tx > promtext_value(&pt, "tickwire_snapshot_bytes_total"), "bytes in %g, out %g", rx, tx);
    /* Every answer made above, by endpoint and code. */
    static const struct {
        const char *series;
        double min, max;
    } http[] = {
        {"tickwire_http_requests_total{endpoint=\"/metrics\",code=\"200\"}", 2, 1000},
        {"tickwire_http_requests_total{endpoint=\"other\",code=\"404\"}", 1, 1},
        {"tickwire_http_requests_total{endpoint=\"static\",code=\"404\"}", 1, 1},
        {"tickwire_http_requests_total{endpoint=\"/api/matches\",code=\"400\"}", 1, 1},
        {"tickwire_http_requests_total{endpoint=\"/api/matches/live\",code=\"200\"}", 1, 1},
        {"tickwire_http_requests_total{endpoint=\"/api/join\",code=\"200\"}", 2, 2},
        {"tickwire_http_requests_total{endpoint=\"websocket\",code=\"101\"}", 2, 2},
        {"tickwire_http_requests_total{endpoint=\"websocket\",code=\"400\"}", 1, 1},
    };
    for (size_t i = 0; i < sizeof http / sizeof http[0]; i++) {
        double v = promtext_value(&pt, http[i].series);
        CHECK(v >= http[i].min && v <= http[i].max, "%s = %g, want %g..%g", http[i].series, v, http[i].min,
              http[i].max);
    }
    CHECK(promtext_value(&pt, "tickwire_players") == 2, "players %g", promtext_value(&pt, "tickwire_players"));
    /* Finer tick buckets: 19 bounds and +Inf, all ticks counted. */
    CHECK(promtext_count(&pt, "tickwire_tick_duration_seconds_bucket") == 20, "%d tick buckets",
          promtext_count(&pt, "tickwire_tick_duration_seconds_bucket"));
    CHECK(promtext_value(&pt, "tickwire_tick_duration_seconds_bucket{le=\"5e-06\"}") >= 0, "5 us bucket");
    CHECK(promtext_value(&pt, "tickwire_tick_duration_seconds_count") == promtext_value(&pt, "tickwire_ticks_total"),
          "tick count != ticks");
    CHECK(promtext_value(&pt, "tickwire_log_suppressed_total{event=\"tick_stall\"}") >= 0, "tick_stall held");
    printf("prometheus: %d families, %d series, every line strict; start %.1f s ago, %g of %g fds, %g B in, "
           "%g B out, 1 held\n", pt.nfamilies, pt.nsamples, now - start, fds, max_fds, rx, tx);
    promtext_free(&pt);
    wsc_close(&p[0].ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* Logs: one JSON object per line with time, level, event and fields. */
static int json_line_valid(const char *l)
{
    size_t n = strlen(l);
    if (n < 2 || l[0] != '{' || l[n - 1] != '}')
        return 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if (c < 0x20)
            return 0;
        if (in_str && c == '\\') {
            i++;
            continue;
        }
        if (c == '"')
            in_str = !in_str;
    }
    return !in_str && strstr(l, "\"time\":\"") && strstr(l, "\"level\":\"") && strstr(l, "\"event\":\"");
}

static void case_logs(const char *server)
{
    char path[] = "/tmp/tickwire-logs-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    const char *args[] = {"--log-level", "info", "--resume-grace", "0", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, path) == 0, "server did not start");
    player p;
    CHECK(player_join(&p, sp.port, "quo%22te%5C") == 0, "join");
    CHECK(player_wait_snapshots(&p, 2, 3000) == 0, "snapshots");
    wsc_close(&p.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    FILE *f = fopen(path, "r");
    CHECK(f, "log file");
    char line[2048];
    int lines = 0, join = 0, leave = 0, start = 0, stop = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        CHECK(json_line_valid(line), "not a JSON object line: %s", line);
        lines++;
        join += strstr(line, "\"event\":\"join\"") && strstr(line, "\"name\":\"quo\\\"te\\\\\"") ? 1 : 0;
        leave += strstr(line, "\"event\":\"leave\"") != NULL;
        start += strstr(line, "\"event\":\"start\"") && strstr(line, "\"port\":") != NULL;
        stop += strstr(line, "\"event\":\"stop\"") != NULL;
    }
    fclose(f);
    unlink(path);
    CHECK(join == 1 && leave == 1 && start == 1 && stop == 1, "events join %d leave %d start %d stop %d in %d lines",
          join, leave, start, stop, lines);
    printf("logs: %d JSON lines; join (with an escaped name), leave, start, stop present\n", lines);
}

/* A client that joins and then never reads: the server keeps the tick for
 * everyone else, drops it after its socket stays choked, and says why. */
static void case_slow_reader(const char *server)
{
    /* A small send buffer: snapshots of 60 predictable NPCs are about 80
     * bytes, so 64 KiB would take the reader half a minute to fill. */
    const char *args[] = {"--npcs", "60", "--client-sndbuf", "4096", NULL};
    char path[] = "/tmp/tickwire-slow-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, path) == 0, "server did not start");
    player w;
    CHECK(player_join(&w, sp.port, "watcher") == 0, "join");
    w.buttons = SIM_BTN_LEFT;
    pthread_create(&w.thread, NULL, player_thread, &w);

    /* Tiny receive window, then silence: no reads, no acks (full snapshots). */
    wsc slow;
    char err[128];
    memset(&slow, 0, sizeof slow);
    CHECK(wsc_connect(&slow, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    int small = 2048;
    setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    uint8_t j[PROTO_MAX_JOIN_MSG];
    wsc_send(&slow, WS_BINARY, j, join_msg(sp.port, "slow", j, sizeof j));

    /* Wait for the drop in the server's log (the event), bounded. */
    int dropped = 0;
    double end = check_now_ms() + 20000;
    while (!dropped && check_now_ms() < end) {
        FILE *f = fopen(path, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f))
            dropped |= strstr(line, "\"event\":\"drop\"") && strstr(line, "socket choked") ? 1 : 0;
        if (f)
            fclose(f);
        if (!dropped)
            usleep(100000); /* the log file offers no wakeup; poll it */
    }
    CHECK(dropped, "slow reader not dropped within 20 s");
    static char text[65536];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    CHECK(metric_value(text, "tickwire_clients_dropped_total{reason=\"send_stalled\"}") == 1, "drop metric");
    CHECK(metric_value(text, "tickwire_snapshots_skipped_total") > 0, "skipped metric");
    /* Its connection is gone on the server's side (the kernel may still be
     * delivering what it had buffered to the slow socket). */
    end = check_now_ms() + 5000;
    while (metric_value(text, "tickwire_connections") != 1 && check_now_ms() < end) {
        usleep(50000);
        CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    }
    CHECK(metric_value(text, "tickwire_connections") == 1, "server still holds %g connections",
          metric_value(text, "tickwire_connections"));
    wsc_close(&slow);
    uint32_t before = player_snapshots(&w);
    end = check_now_ms() + 3000;
    while (player_snapshots(&w) < before + 30 && check_now_ms() < end)
        usleep(5000);
    CHECK(player_snapshots(&w) >= before + 30 && w.closed == 0, "watcher stalled or closed");
    w.stop = 1;
    pthread_join(w.thread, NULL);
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    double missed = metric_value(text, "tickwire_missed_ticks_total");
    printf("slow_reader: dropped with reason logged; watcher got %u snapshots, 0 closes; missed ticks %g\n",
           w.snapshots, missed);
    wsc_close(&w.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    unlink(path);
}

static int refused_at_cap(const char *err)
{
    return strstr(err, " 503 ") != NULL || strncmp(err, "tls: ", 5) == 0 || strcmp(err, "no handshake reply") == 0;
}

/* wsc_connect, again (for up to 3 s) while refused at a cap. */
static int wsc_connect_retry(wsc *c, int port, char *err, size_t errlen)
{
    double end = check_now_ms() + 3000;
    for (;;) {
        int rc = wsc_connect(c, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, errlen);
        if (rc == 0 || !refused_at_cap(err) || check_now_ms() > end)
            return rc;
        wsc_close(c);
        g_cap_retries++;
        usleep(20000);
    }
}

/* GET /metrics, again (for up to 3 s) while refused at a cap. */
static int metrics_get(int port, char *text, size_t cap)
{
    return http_request_retry(port, "GET", "/metrics", text, cap);
}

/* Limits at accept (per address: 503), before the upgrade (origin 403) and
 * after it (an input flood is closed with 4004), while an honest player
 * plays on. */
static void case_limits(const char *server)
{
    const char *args[] = {"--max-conns-per-ip", "4", "--allow-origin", "https://game.example.com", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    player w;
    CHECK(player_join(&w, sp.port, "honest") == 0, "join");
    pthread_create(&w.thread, NULL, player_thread, &w);

    static const struct {
        const char *headers;
        const char *want;
    } origins[] = {
        {"Origin: http://evil.example.com\r\n", " 403 "},
        {"Origin: https://game.example.com.evil.net\r\n", " 403 "},
        {"Origin: https://game.example.com\r\n", NULL},
        {"Origin: http://localhost:3000\r\n", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++) {
        wsc c;
        char err[128] = "";
        int rc = wsc_connect_h(&c, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, origins[i].headers, err, sizeof err);
        if (origins[i].want)
            CHECK(rc < 0 && strstr(err, origins[i].want), "origin %s: got '%s'",
                  origins[i].headers, err);
        else
            CHECK(rc == 0, "origin %s refused: %s", origins[i].headers ? origins[i].headers : "(none)", err);
        printf("limits: %-45.*s -> %s\n", origins[i].headers ? (int)strcspn(origins[i].headers, "\r") : 9,
               origins[i].headers ? origins[i].headers : "no Origin", rc < 0 ? err : "upgraded");
        wsc_close(&c);
    }

    /* Four from this address are allowed (the honest player is one); the
     * fifth is refused at accept: 503 over plain HTTP, closed over TLS. */
    wsc extra[4];
    char err[128];
    for (int i = 0; i < 3; i++)
        CHECK(wsc_connect_retry(&extra[i], sp.port, err, sizeof err) == 0, "conn %d: %s", i, err);
    int rc = wsc_connect(&extra[3], "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err);
    CHECK(rc < 0 && refused_at_cap(err) && (g_tls_cert || strstr(err, " 503 ")), "5th connection from one address: %s",
          rc ? err : "upgraded");
    printf("limits: 5th connection from one address      -> %s\n", err);
    wsc_close(&extra[3]);
    for (int i = 1; i < 3; i++)
        wsc_close(&extra[i]);

    uint8_t j[PROTO_MAX_JOIN_MSG], buf[64], msg[PROTO_MAX_SNAPSHOT];
    size_t len;
    /* Flood: a joined client sends 100 inputs at once (the limit allows a
     * burst of one second of ticks). One write, so the server has read all
     * of it when it closes and the close frame is not lost to a reset. */
    wsc_send(&extra[0], WS_BINARY, j, join_msg(sp.port, "flood", j, sizeof j));
    CHECK(wsc_recv(&extra[0], msg, sizeof msg, &len, 3000) == WS_BINARY && msg[0] == PROTO_WELCOME, "welcome");
    static uint8_t flood[100 * 32];
    size_t flood_len = 0;
    int sent = 0;
    proto_input_msg m = {.ack_tick = 0, .first_seq = 1, .count = 1};
    for (; sent < 100; sent++, m.first_seq++) {
        size_t n = proto_input_write(&m, buf, sizeof buf);
        uint8_t mask[4] = {1, 2, 3, 4};
        flood[flood_len++] = 0x82;
        flood[flood_len++] = (uint8_t)(0x80 | n);
        memcpy(flood + flood_len, mask, 4);
        flood_len += 4;
        for (size_t i = 0; i < n; i++)
            flood[flood_len++] = buf[i] ^ mask[i & 3];
    }
    CHECK(wsc_write(&extra[0], flood, flood_len) == 0, "flood write");
    int op;
    double end = check_now_ms() + 5000;
    while ((op = wsc_recv(&extra[0], msg, sizeof msg, &len, 200)) != WS_CLOSE && op >= 0 && check_now_ms() < end) {
    }
    CHECK(op == WS_CLOSE && extra[0].close_code == PROTO_CLOSE_RATE_LIMIT, "flood: op %d code %u", op,
          extra[0].close_code);
    printf("limits: input flood (%d messages at once)     -> close %u \"%s\"\n", sent, extra[0].close_code,
           extra[0].close_reason);
    wsc_close(&extra[0]);

    uint32_t before = player_snapshots(&w);
    end = check_now_ms() + 3000;
    while (player_snapshots(&w) < before + 30 && check_now_ms() < end)
        usleep(5000);
    CHECK(player_snapshots(&w) >= before + 30 && w.closed == 0, "honest player stalled or closed");
    w.stop = 1;
    pthread_join(w.thread, NULL);
    static char text[65536];
    CHECK(metrics_get(sp.port, text, sizeof text) == 200, "metrics");
    CHECK(metric_value(text, "tickwire_connections_refused_total{reason=\"origin\"}") == 2, "origin refusals");
    CHECK(metric_value(text, "tickwire_connections_refused_total{reason=\"max_conns_per_ip\"}") == 1 + g_cap_retries,
          "ip refusals: %g, want 1 + %d retries",
          metric_value(text, "tickwire_connections_refused_total{reason=\"max_conns_per_ip\"}"), g_cap_retries);
    CHECK(metric_value(text, "tickwire_bad_messages_total{reason=\"rate_limit\"}") == 1, "rate limit");
    wsc_close(&w.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* Sends a JOIN on a new connection; returns the close code it got (0: it
 * was welcomed instead). */
static int join_outcome(int port, const char *token, char *reason, size_t rlen)
{
    wsc c;
    char err[128];
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    size_t len;
    if (wsc_connect(&c, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) < 0)
        return -1;
    size_t n = proto_join_write(token, NULL, buf, sizeof buf);
    wsc_send(&c, WS_BINARY, buf, n);
    int op, code = -1;
    double end = check_now_ms() + 3000;
    while ((op = wsc_recv(&c, buf, sizeof buf, &len, 200)) == 0 && check_now_ms() < end) {
    }
    if (op == WS_BINARY && buf[0] == PROTO_WELCOME)
        code = 0;
    else if (op == WS_CLOSE)
        code = c.close_code;
    snprintf(reason, rlen, "%s", c.close_reason);
    wsc_close(&c);
    return code;
}

/* Tokens signed by the host's backend: only valid, unexpired, unused ones
 * get in; everything else is closed with 4001 (no JOIN: 4006) and logged. */
static void case_auth(const char *server)
{
    char secret_path[] = "/tmp/tickwire-secret-XXXXXX";
    int fd = mkstemp(secret_path);
    CHECK(fd >= 0, "mkstemp");
    const char *secret = "correct horse battery staple 42";
    CHECK(write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret), "write secret");
    close(fd);
    const char *args[] = {"--token-secret-file", secret_path, NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");

    /* The documented way for scripts: tickwire-server mint-token. */
    char cmd[512], good[TOKEN_MAX_B64 + 2] = "";
    snprintf(cmd, sizeof cmd, "'%s' mint-token --secret-file %s --player-id 77 --name alice --ttl 60", server,
             secret_path);
    FILE *f = popen(cmd, "r");
    CHECK(f && fgets(good, sizeof good, f), "mint-token printed nothing");
    pclose(f);
    good[strcspn(good, "\n")] = '\0';
    token_claims c;
    CHECK(token_verify(good, strlen(good), (const uint8_t *)secret, strlen(secret), (uint64_t)time(NULL), &c) ==
              TOKEN_OK && c.player_id == 77 && strcmp(c.name, "alice") == 0, "mint-token output does not verify");

    /* Tokens made here with the reference minting code. */
    token_claims k = {.player_id = 5, .name = "mallory", .expiry = (uint64_t)time(NULL) + 60};
    memset(k.nonce, 0x5a, sizeof k.nonce);
    char forged[TOKEN_MAX_B64 + 1], expired[TOKEN_MAX_B64 + 1], tampered[TOKEN_MAX_B64 + 2];
    CHECK(token_mint(&k, (const uint8_t *)"not the secret, wrong one", 25, forged, sizeof forged), "mint");
    k.expiry = (uint64_t)time(NULL) - 1;
    k.nonce[0] = 1;
    CHECK(token_mint(&k, (const uint8_t *)secret, strlen(secret), expired, sizeof expired), "mint");
    snprintf(tampered, sizeof tampered, "%s", good);
    tampered[12] = tampered[12] == 'A' ? 'B' : 'A'; /* inside the name/id bytes */

    const struct {
        const char *what;
        const char *token;
        int want;
    } cases[] = {
        {"valid token", good, 0},
        {"replayed token", good, PROTO_CLOSE_TOKEN_REFUSED},
        {"forged token", forged, PROTO_CLOSE_TOKEN_REFUSED},
        {"expired token", expired, PROTO_CLOSE_TOKEN_REFUSED},
        {"tampered token", tampered, PROTO_CLOSE_TOKEN_REFUSED},
        {"garbage token", "not_base64url_at_all_but_chars_ok", PROTO_CLOSE_TOKEN_REFUSED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char reason[128] = "";
        int code = join_outcome(sp.port, cases[i].token, reason, sizeof reason);
        CHECK(code == cases[i].want, "%s: got %d (%s), want %d", cases[i].what, code, reason, cases[i].want);
        printf("auth: %-16s -> %s%d %s\n", cases[i].what, code ? "close " : "welcomed ", code, reason);
    }

    /* No JOIN at all: closed with 4006 once the join timeout passes. */
    wsc quiet;
    char err[128];
    uint8_t buf[256];
    size_t len;
    CHECK(wsc_connect(&quiet, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    double t0 = check_now_ms();
    int op;
    while ((op = wsc_recv(&quiet, buf, sizeof buf, &len, 500)) == 0 && check_now_ms() < t0 + 10000) {
    }
    CHECK(op == WS_CLOSE && quiet.close_code == PROTO_CLOSE_JOIN_TIMEOUT, "silent client: op %d code %u", op,
          quiet.close_code);
    printf("auth: no join for %.1f s -> close %u %s\n", (check_now_ms() - t0) / 1000, quiet.close_code, quiet.close_reason);
    wsc_close(&quiet);

    /* With a secret configured the server does not hand out guest tokens. */
    char body[512];
    CHECK(http_request(sp.port, "POST", "/api/join?name=x", body, sizeof body) == 404, "/api/join must be off");
    static char text[65536];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    CHECK(metric_value(text, "tickwire_bad_messages_total{reason=\"auth\"}") == 6, "auth refusals %g",
          metric_value(text, "tickwire_bad_messages_total{reason=\"auth\"}"));
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    unlink(secret_path);
}

static int entity_flags(const player *p, int id)
{
    const proto_snapshot *s = cl_latest(&p->cl);
    return s && s->present[id] ? s->ent[id].flags : -1;
}

/* A dropped player is held (others see it DISCONNECTED), comes back with
 * its resume token to the same player, and the inputs it made while
 * offline are applied; after the grace period the slot is gone. */
static void case_resume(const char *server)
{
    const char *args[] = {"--resume-grace", "2", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    player obs, p;
    CHECK(player_join(&obs, sp.port, "observer") == 0, "join");
    pthread_create(&obs.thread, NULL, player_thread, &obs);
    CHECK(player_join(&p, sp.port, "roamer") == 0, "join");
    p.buttons = SIM_BTN_RIGHT;
    CHECK(player_wait_snapshots(&p, 30, 3000) == 0, "snapshots");
    int id = p.cl.welcome.player_id;
    uint8_t resume[PROTO_RESUME_LEN];
    memcpy(resume, p.cl.resume, sizeof resume);

    /* Drop the connection without a goodbye, and keep playing offline. */
    wsc_close(&p.ws);
    cl_disconnected(&p.cl);
    uint32_t offline_first = p.cl.next_seq;
    for (int k = 0; k < 20; k++)
        cl_push_input(&p.cl, SIM_BTN_DOWN, 0, check_now_ms());
    uint32_t offline_last = p.cl.next_seq - 1;
    double end = check_now_ms() + 3000;
    while (!(entity_flags(&obs, id) >= 0 && (entity_flags(&obs, id) & SIM_FLAG_DISCONNECTED)) && check_now_ms() < end)
        usleep(10000);
    CHECK(entity_flags(&obs, id) & SIM_FLAG_DISCONNECTED, "observer does not see the player as disconnected");

    /* Back with the resume token (no join token needed). */
    char err[128];
    CHECK(wsc_connect(&p.ws, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    cl_set_token(&p.cl, "");
    size_t n = cl_write_join(&p.cl, buf, sizeof buf);
    CHECK(n && wsc_send(&p.ws, WS_BINARY, buf, n) == 0, "resume join");
    uint32_t before = p.snapshots;
    CHECK(player_wait_snapshots(&p, before + 1, 3000) == 0, "no snapshot after resume");
    CHECK(p.cl.welcome.resumed == 1 && p.cl.welcome.player_id == id, "resumed %d as player %d, was %d",
          p.cl.welcome.resumed, p.cl.welcome.player_id, id);
    /* Resend what the server has not acknowledged, offline inputs included. */
    while ((n = cl_write_input(&p.cl, buf, sizeof buf)) > 0)
        wsc_send(&p.ws, WS_BINARY, buf, n);
    end = check_now_ms() + 3000;
    while (p.cl.last_input_seq < offline_last && check_now_ms() < end)
        if (player_step(&p, 100) < 0)
            break;
    CHECK(p.cl.last_input_seq >= offline_last, "offline inputs %u..%u not applied (acked %u)", offline_first,
          offline_last, p.cl.last_input_seq);
    CHECK(p.cl.stats.corrections == 0, "%u corrections after the resume", p.cl.stats.corrections);
    CHECK(player_wait_snapshots(&p, p.snapshots + 10, 3000) == 0, "snapshots");
    CHECK(!(entity_flags(&obs, id) & SIM_FLAG_DISCONNECTED), "still flagged disconnected");
    printf("resume: held while away, same player %d back, %u offline inputs applied, 0 corrections\n", id,
           offline_last - offline_first + 1);

    /* Each resume hands out a fresh resume token. */
    CHECK(memcmp(resume, p.cl.resume, sizeof resume) != 0, "resume token not rotated");

    /* Takeover: another connection resumes the player while this one is
     * open; this one is closed with 4003, which tells a client to stop. */
    wsc t;
    size_t len;
    uint8_t msg[PROTO_MAX_SNAPSHOT];
    int op;
    CHECK(wsc_connect(&t, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    n = proto_join_write("", p.cl.resume, buf, sizeof buf);
    wsc_send(&t, WS_BINARY, buf, n);
    proto_welcome tw;
    op = wsc_recv(&t, msg, sizeof msg, &len, 3000);
    CHECK(op == WS_BINARY && proto_welcome_read(msg, len, &tw) == PROTO_OK && tw.resumed && tw.player_id == id,
          "takeover: no resumed welcome (op %d)", op);
    end = check_now_ms() + 3000;
    while ((op = wsc_recv(&p.ws, msg, sizeof msg, &len, 200)) != WS_CLOSE && op >= 0 && check_now_ms() < end) {
    }
    CHECK(op == WS_CLOSE && p.ws.close_code == PROTO_CLOSE_REPLACED &&
          cl_close_action(p.ws.close_code) == CL_CLOSE_REPLACED, "takeover: old connection op %d code %u", op,
          p.ws.close_code);
    printf("resume: taken over by another connection; old one -> close %u %s\n", p.ws.close_code,
           p.ws.close_reason);
    wsc_close(&p.ws);
    memcpy(resume, tw.resume, sizeof resume);

    /* Away longer than the grace: the slot is freed and the token is dead. */
    wsc_close(&t);
    end = check_now_ms() + 5000;
    while (entity_flags(&obs, id) >= 0 && check_now_ms() < end)
        usleep(20000);
    CHECK(entity_flags(&obs, id) < 0, "held player not removed after the grace period");
    wsc c;
    CHECK(wsc_connect(&c, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
    n = proto_join_write("", resume, buf, sizeof buf);
    wsc_send(&c, WS_BINARY, buf, n);
    end = check_now_ms() + 3000;
    while ((op = wsc_recv(&c, msg, sizeof msg, &len, 200)) == 0 && check_now_ms() < end) {
    }
    CHECK(op == WS_CLOSE && c.close_code == PROTO_CLOSE_RESUME_EXPIRED && cl_close_action(c.close_code) == CL_CLOSE_REJOIN,
          "late resume: op %d code %u", op, c.close_code);
    printf("resume: after the grace period the slot is gone; late resume -> close %u %s\n", c.close_code,
           c.close_reason);
    wsc_close(&c);
    obs.stop = 1;
    pthread_join(obs.thread, NULL);
    CHECK(obs.closed == 0 && obs.cl.stats.corrections == 0, "observer disturbed");
    wsc_close(&obs.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* Sends raw bytes as one masked binary frame after a fresh JOIN; returns
 * the close code the server answered with (-1: no close frame). */
/* Joins with `token` (NULL: no join), sends the message `times` times and
 * returns the close code the server answers with (-1: none in 5 s). */
static int attack_repeat(int port, const char *token, int opcode, const uint8_t *bytes, size_t len, int times,
                         char *reason, size_t rlen)
{
    wsc c;
    char err[128];
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    size_t n;
    if (wsc_connect(&c, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) < 0)
        return -1;
    if (token) {
        n = proto_join_write(token, NULL, buf, sizeof buf);
        wsc_send(&c, WS_BINARY, buf, n);
        if (wsc_recv(&c, buf, sizeof buf, &n, 3000) != WS_BINARY || buf[0] != PROTO_WELCOME) {
            wsc_close(&c);
            return -2;
        }
    }
    for (int i = 0; i < times; i++)
        wsc_send(&c, opcode, bytes, len);
    int op;
    double end = check_now_ms() + 5000;
    while ((op = wsc_recv(&c, buf, sizeof buf, &n, 200)) != WS_CLOSE && op >= 0 && check_now_ms() < end) {
    }
    int code = op == WS_CLOSE ? c.close_code : -1;
    snprintf(reason, rlen, "%s", c.close_reason);
    wsc_close(&c);
    return code;
}

static int attack_after_join(int port, const char *token, int opcode, const uint8_t *bytes, size_t len,
                             char *reason, size_t rlen)
{
    return attack_repeat(port, token, opcode, bytes, len, 1, reason, rlen);
}

static uint64_t g_nonce_counter;

/* A token signed with `secret` for match label `label` ("" any). */
static void mint_for(const char *secret, const char *name, const char *label, long ttl, char *out, size_t cap);

/* A token signed with `secret`, valid for ttl seconds (negative: expired). */
static void mint(const char *secret, const char *name, long ttl, char *out, size_t cap)
{
    mint_for(secret, name, "", ttl, out, cap);
}

static void mint_for(const char *secret, const char *name, const char *label, long ttl, char *out, size_t cap)
{
    token_claims k;
    memset(&k, 0, sizeof k);
    k.player_id = 1000 + g_nonce_counter;
    snprintf(k.name, sizeof k.name, "%s", name);
    snprintf(k.match, sizeof k.match, "%s", label);
    k.expiry = (uint64_t)((long)time(NULL) + ttl);
    uint64_t count = ++g_nonce_counter, salt = (uint64_t)getpid() << 32 ^ (uint64_t)check_now_ms();
    memcpy(k.nonce, &count, sizeof count); /* unique within the run */
    memcpy(k.nonce + 8, &salt, sizeof salt);
    token_mint(&k, (const uint8_t *)secret, strlen(secret), out, cap);
}

/* Starts `n` bots (tickwire-bots, wander unless `extra` gives another
 * --behavior) against the server on `port` for `secs` seconds, writing
 * their JSON report to `report` (and signing their tokens with secret_path
 * when not NULL; `extra` flags, NULL-terminated, after the usual ones);
 * waits until the server counts them all as players. Returns 0, or -1 with
 * the reason printed. */
static int bots_start(spawn_proc *bp, const char *bots, int port, int n, int secs, const char *report,
                      const char *secret_path, const char *const *extra)
{
    char url[64], nbots[16], dur[16];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    snprintf(nbots, sizeof nbots, "%d", n);
    snprintf(dur, sizeof dur, "%d", secs);
    const char *argv[32] = {bots, "--url", url, "--bots", nbots, "--ramp", "1", "--duration", dur,
                            "--behavior", "wander", "--report", report};
    int argc = 13;
    if (secret_path) {
        argv[argc++] = "--token-secret-file";
        argv[argc++] = secret_path;
    }
    for (int i = 0; extra && extra[i] && argc < 31; i++)
        argv[argc++] = extra[i];
    char err[128];
    if (spawn_start(bp, &(spawn_desc){.argv = argv, .stdout_path = "/dev/null"}, err, sizeof err) < 0) {
        fprintf(stderr, "bots: %s\n", err);
        return -1;
    }
    static char text[65536];
    double end = check_now_ms() + 10000;
    while (check_now_ms() < end &&
           (http_get(port, "/metrics", text, sizeof text) != 200 || metric_value(text, "tickwire_players") < n))
        usleep(100000);
    if (metric_value(text, "tickwire_players") != n) {
        fprintf(stderr, "bots: %g of %d joined\n", metric_value(text, "tickwire_players"), n);
        return -1;
    }
    return 0;
}

/* Waits (up to timeout_ms) for the bots to finish and reads their report
 * into json. Returns 0, or -1 with the reason printed. */
static int bots_finish(spawn_proc *bp, const char *report, char *json, size_t cap, int timeout_ms)
{
    int status = spawn_wait(bp, timeout_ms);
    FILE *f = status == 0 ? fopen(report, "r") : NULL;
    if (!f) {
        fprintf(stderr, "bots: exit status %d, report %s\n", status, f ? "ok" : "missing");
        return -1;
    }
    size_t n = fread(json, 1, cap - 1, f);
    json[n] = '\0';
    fclose(f);
    return 0;
}

/* The number after "key": following "section" in a JSON text, or -1. */
static double json_number(const char *text, const char *section, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\"", section);
    const char *p = strstr(text, pat);
    if (!p)
        return -1;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(p, pat);
    return p ? atof(p + strlen(pat)) : -1;
}

/* Everything an attacker tries, one after another, while honest bots play
 * (tickwire-bots, path in $TICKWIRE_BOTS). Each attack gets its documented
 * answer, and the honest bots get >= 99% of their snapshots with no
 * disconnects. */
static void case_adversarial(const char *server)
{
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots && access(bots, X_OK) == 0, "set TICKWIRE_BOTS to the tickwire-bots binary");
    char secret_path[] = "/tmp/tickwire-adv-secret-XXXXXX", report[] = "/tmp/tickwire-adv-report-XXXXXX";
    int fd = mkstemp(secret_path);
    const char *secret = "adversarial test secret, 32 bytes";
    CHECK(fd >= 0 && write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret), "secret");
    close(fd);
    fd = mkstemp(report);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    const char *args[] = {"--token-secret-file", secret_path, "--npcs", "20", "--max-conns-per-ip", "40",
                          "--idle-timeout", "3", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");

    /* The honest players. */
    spawn_proc bp;
    CHECK(bots_start(&bp, bots, sp.port, 20, 30, report, secret_path, NULL) == 0, "honest bots did not all join");
    char err[128];
    static char text[65536];
    char reason[128], tok[TOKEN_MAX_B64 + 1];
    int code;
#define EXPECT(what, got, want)                                                                   \
    do {                                                                                          \
        code = (got);                                                                             \
        CHECK(code == (want), "%s: answer %d (%s), want %d", what, code, reason, want);           \
        printf("adversarial: %-34s -> %d %s\n", what, code, reason);                              \
    } while (0)

    mint("a different secret entirely!!", "eve", 60, tok, sizeof tok);
    EXPECT("forged token", join_outcome(sp.port, tok, reason, sizeof reason), PROTO_CLOSE_TOKEN_REFUSED);
    mint(secret, "eve", -5, tok, sizeof tok);
    EXPECT("expired token", join_outcome(sp.port, tok, reason, sizeof reason), PROTO_CLOSE_TOKEN_REFUSED);
    mint(secret, "eve", 60, tok, sizeof tok);
    EXPECT("token, first use", join_outcome(sp.port, tok, reason, sizeof reason), 0);
    EXPECT("replayed token", join_outcome(sp.port, tok, reason, sizeof reason), PROTO_CLOSE_TOKEN_REFUSED);

    wsc c;
    err[0] = '\0';
    reason[0] = '\0';
    int rc = wsc_connect_h(&c, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, "Origin: https://evil.example\r\n", err,
                           sizeof err);
    wsc_close(&c);
    snprintf(reason, sizeof reason, "%s", err);
    EXPECT("wrong origin (HTTP status)", rc < 0 ? atoi(strchr(err, ' ') ? strchr(err, ' ') + 1 : "0") : 101, 403);

    static const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0x42};
    static const uint8_t truncated[] = {0x02, 0x01, 0x00};
    static uint8_t big[PROTO_MAX_CLIENT_MSG + 1];
    mint(secret, "eve", 60, tok, sizeof tok);
    EXPECT("text frame", attack_after_join(sp.port, tok, WS_TEXT, (const uint8_t *)"hi", 2, reason, sizeof reason), 1003);
    mint(secret, "eve", 60, tok, sizeof tok);
    EXPECT("oversized message", attack_after_join(sp.port, tok, WS_BINARY, big, sizeof big, reason, sizeof reason), 1009);
    static const uint8_t bad_utf8[] = {0x03, 0x03, 0x00, 'h', 0xff, 'i'};
    mint(secret, "eve", 60, tok, sizeof tok);
    EXPECT("chat not UTF-8", attack_after_join(sp.port, tok, WS_BINARY, bad_utf8, sizeof bad_utf8, reason, sizeof reason), 1007);
    uint8_t long_chat[3 + 121];
    memset(long_chat + 3, 'z', 121);
    long_chat[0] = PROTO_CHAT, long_chat[1] = 121, long_chat[2] = 0;
    mint(secret, "eve", 60, tok, sizeof tok);
    EXPECT("chat of 121 characters", attack_after_join(sp.port, tok, WS_BINARY, long_chat, sizeof long_chat, reason, sizeof reason), 1009);
    static const uint8_t hello[] = {0x03, 0x05, 0x00, 'h', 'e', 'l', 'l', 'o'};
    mint(secret, "eve", 60, tok, sizeof tok);
    EXPECT("chat flood (30 at once)", attack_repeat(sp.port, tok, WS_BINARY, hello, sizeof hello, 30, reason, sizeof reason), PROTO_CLOSE_CHAT_FLOOD);
    EXPECT("oversized join", attack_after_join(sp.port, NULL, WS_BINARY, big, sizeof big, reason, sizeof reason), 1009);
    mint(secret, "eve", 60, tok, sizeof tok);
    EXPECT("truncated input", attack_after_join(sp.port, tok, WS_BINARY, truncated, sizeof truncated, reason, sizeof reason), 1002);
    EXPECT("garbage", attack_after_join(sp.port, NULL, WS_BINARY, garbage, sizeof garbage, reason, sizeof reason), 1002);

    /* Input flood: 100 inputs in one write. */
    {
        mint(secret, "flood", 60, tok, sizeof tok);
        uint8_t buf[PROTO_MAX_SNAPSHOT], in[64];
        size_t n;
        CHECK(wsc_connect(&c, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
        wsc_send(&c, WS_BINARY, buf, proto_join_write(tok, NULL, buf, sizeof buf));
        CHECK(wsc_recv(&c, buf, sizeof buf, &n, 3000) == WS_BINARY, "flood welcome");
        static uint8_t flood[100 * 32];
        size_t fl = 0;
        proto_input_msg m = {.ack_tick = 0, .first_seq = 1, .count = 1};
        for (int i = 0; i < 100; i++, m.first_seq++) {
            size_t k = proto_input_write(&m, in, sizeof in);
            flood[fl++] = 0x82;
            flood[fl++] = (uint8_t)(0x80 | k);
            memset(flood + fl, 0, 4); /* zero mask */
            fl += 4;
            memcpy(flood + fl, in, k);
            fl += k;
        }
        wsc_write(&c, flood, fl);
        int op;
        double e2 = check_now_ms() + 5000;
        while ((op = wsc_recv(&c, buf, sizeof buf, &n, 200)) != WS_CLOSE && op >= 0 && check_now_ms() < e2) {
        }
        snprintf(reason, sizeof reason, "%s", c.close_reason);
        EXPECT("input flood", op == WS_CLOSE ? c.close_code : -1, PROTO_CLOSE_RATE_LIMIT);
        wsc_close(&c);
    }

    /* Headers trickled one byte at a time: cut off by the HTTP timeout. */
    {
        wsc t;
        CHECK(wsc_open(&t, "127.0.0.1", sp.port, err, sizeof err) == 0, "%s", err);
        const char *req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
        double t0 = check_now_ms();
        int closed = 0;
        for (size_t i = 0; !closed && check_now_ms() < t0 + 15000; i = (i + 1) % strlen(req)) {
            if (wsc_write(&t, req + i, 1) < 0)
                closed = 1;
            else if (wsc_fill(&t, 300) < 0) /* the server hung up (EOF) */
                closed = 1;
        }
        snprintf(reason, sizeof reason, "after %.1f s", (check_now_ms() - t0) / 1000);
        EXPECT("headers trickled byte by byte", closed ? 0 : -1, 0);
        wsc_close(&t);
    }

    /* A client that stops reading, and one that goes silent (half-open):
     * both are dropped, with a logged reason, and their slots freed. */
    {
        double before = (http_get(sp.port, "/metrics", text, sizeof text), metric_value(text, "tickwire_connections"));
        wsc slow, half;
        uint8_t buf[PROTO_MAX_JOIN_MSG];
        CHECK(wsc_connect(&slow, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
        int small = 2048;
        setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        mint(secret, "slow", 60, tok, sizeof tok);
        wsc_send(&slow, WS_BINARY, buf, proto_join_write(tok, NULL, buf, sizeof buf));
        CHECK(wsc_connect(&half, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
        mint(secret, "half", 60, tok, sizeof tok);
        wsc_send(&half, WS_BINARY, buf, proto_join_write(tok, NULL, buf, sizeof buf));
        double t0 = check_now_ms();
        double stalled = 0, idle = 0;
        while (check_now_ms() < t0 + 20000) {
            http_get(sp.port, "/metrics", text, sizeof text);
            stalled = metric_value(text, "tickwire_clients_dropped_total{reason=\"send_stalled\"}");
            idle = metric_value(text, "tickwire_clients_dropped_total{reason=\"idle\"}");
            if (stalled + idle >= 2 && metric_value(text, "tickwire_connections") <= before)
                break;
            usleep(200000);
        }
        snprintf(reason, sizeof reason, "send_stalled %g, idle %g, after %.1f s", stalled, idle, (check_now_ms() - t0) / 1000);
        EXPECT("stops reading + half-open (drops)", (int)(stalled + idle), 2);
        wsc_close(&slow);
        wsc_close(&half);
    }

    /* More connections from one address than allowed: 503 before the upgrade. */
    {
        wsc many[40];
        int opened = 0, status = 0;
        for (; opened < 40; opened++) {
            if (wsc_connect(&many[opened], "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) < 0) {
                status = atoi(strchr(err, ' ') ? strchr(err, ' ') + 1 : "0");
                wsc_close(&many[opened]);
                break;
            }
        }
        snprintf(reason, sizeof reason, "after %d more connections (limit 40 incl. 20 bots)", opened);
        EXPECT("too many connections from one address", status, 503);
        for (int i = 0; i < opened; i++)
            wsc_close(&many[i]);
    }
#undef EXPECT

    /* The honest bots finish their run; read what they saw. */
    static char json[1 << 20];
    CHECK(bots_finish(&bp, report, json, sizeof json, 60000) == 0, "bots"); /* a 30 s run */
    double pct = json_number(json, "snapshots", "pct"), below = json_number(json, "snapshots", "bots_below_99pct");
    double disc = json_number(json, "connections", "disconnects"), conn = json_number(json, "connections", "connected_end");
    double corr = json_number(json, "corrections", "total");
    printf("adversarial: honest bots: %g connected at the end, snapshots %.2f%%, %g below 99%%, %g disconnects, "
           "%g corrections\n", conn, pct, below, disc, corr);
    CHECK(conn == 20 && pct >= 99.0 && below == 0 && disc == 0, "honest bots were hurt");
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    unlink(secret_path);
    unlink(report);
}

/* A server hitch (SIGSTOP) while 16 bots play: the inputs the bots kept
 * sending arrive at once. Nobody is kicked for it (they are on time by what
 * they claim), and the missed time is credited, so within a second every
 * player's input queue is back to a tick or two instead of staying as deep
 * as the pause (which is latency everyone else sees). Pauses of 0.5 s and
 * 3 s. */
static void case_stall(const char *server)
{
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots && access(bots, X_OK) == 0, "set TICKWIRE_BOTS to the tickwire-bots binary");
    char report[] = "/tmp/tickwire-stall-report-XXXXXX";
    int fd = mkstemp(report);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    spawn_proc sp;
    CHECK(server_start(&sp, server, NULL, NULL) == 0, "server did not start");
    spawn_proc bp;
    CHECK(bots_start(&bp, bots, sp.port, 16, 14, report, NULL, NULL) == 0, "bots did not all join");
    static char text[65536];
    usleep(1000000);
    static const int pauses_ms[2] = {500, 3000};
    for (int i = 0; i < 2; i++) {
        CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
        double depth_before = metric_value(text, "tickwire_input_queue_depth_max");
        kill(sp.pid, SIGSTOP);
        usleep((useconds_t)pauses_ms[i] * 1000);
        kill(sp.pid, SIGCONT);
        usleep(1000000);
        CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics after the pause");
        double depth = metric_value(text, "tickwire_input_queue_depth_max");
        double missed = metric_value(text, "tickwire_missed_ticks_total");
        double kicked = metric_value(text, "tickwire_bad_messages_total{reason=\"rate_limit\"}");
        printf("stall: paused %d ms -> missed ticks %g; 1 s later: deepest input queue %g (before %g), "
               "rate-limit closes %g\n", pauses_ms[i], missed, depth, depth_before, kicked);
        CHECK(missed >= pauses_ms[i] * 60 / 1000 / 2, "the pause was not seen (%g missed ticks)", missed);
        /* Back within a second: a queue of 6 ticks is 100 ms at 60 Hz. */
        CHECK(depth <= 6, "input queues still %g deep 1 s after a %d ms pause", depth, pauses_ms[i]);
        CHECK(kicked == 0, "%g honest players closed for their rate after the pause", kicked);
        CHECK(metric_value(text, "tickwire_players") == 16, "players left: %g", metric_value(text, "tickwire_players"));
        usleep(1500000);
    }
    static char json[1 << 20];
    CHECK(bots_finish(&bp, report, json, sizeof json, 30000) == 0, "bots");
    double disc = json_number(json, "connections", "disconnects"), conn = json_number(json, "connections", "connected_end");
    printf("stall: bots: %g connected at the end, %g disconnects\n", conn, disc);
    CHECK(conn == 16 && disc == 0, "bots were dropped by the pauses");
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    unlink(report);
}

/* Bots with 75 ms + 0..5 ms of delay each way (--latency-ms, --jitter-ms,
 * added in the bots' process): the input -> ack round trip they report is
 * the 150..160 ms of the delay plus the wait for the server's tick and its
 * send (under a tick at 60 Hz), and nothing else changes: all play, none
 * dropped, nothing lost in the delay queues, no corrections. */
static void case_latency(const char *server)
{
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots && access(bots, X_OK) == 0, "set TICKWIRE_BOTS to the tickwire-bots binary");
    char report[] = "/tmp/tickwire-latency-report-XXXXXX";
    int fd = mkstemp(report);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    spawn_proc sp;
    CHECK(server_start(&sp, server, NULL, NULL) == 0, "server did not start");
    spawn_proc bp;
    static const char *const delay[] = {"--latency-ms", "75", "--jitter-ms", "5", "--seed", "1", NULL};
    CHECK(bots_start(&bp, bots, sp.port, 6, 5, report, NULL, delay) == 0, "bots did not all join");
    static char json[1 << 20];
    CHECK(bots_finish(&bp, report, json, sizeof json, 30000) == 0, "bots");
    double p50 = json_number(json, "rtt_ms", "p50"), p99 = json_number(json, "rtt_ms", "p99");
    double acks = json_number(json, "rtt_ms", "samples"), lat = json_number(json, "network_delay", "latency_ms");
    double conn = json_number(json, "connections", "connected_end");
    double disc = json_number(json, "connections", "disconnects");
    double full = json_number(json, "network_delay", "queue_full");
    double dropped = json_number(json, "network_delay", "dropped_in") + json_number(json, "network_delay", "dropped_out");
    double corr = json_number(json, "corrections", "total");
    printf("latency: 75 + 0..5 ms each way: input->ack rtt p50 %.1f ms, p99 %.1f ms (%g acks); %g connected at "
           "the end, %g disconnects, %g queues full, %g dropped, %g corrections\n",
           p50, p99, acks, conn, disc, full, dropped, corr);
    CHECK(lat == 75, "the report does not state the latency (%g)", lat);
    CHECK(acks > 1000, "only %g acks", acks);
    CHECK(p50 >= 150 && p50 <= 210, "rtt p50 %.1f ms, not within [150, 210]", p50);
    CHECK(conn == 6 && disc == 0 && full == 0 && dropped == 0, "bots lost connections or messages");
    CHECK(corr == 0, "%g corrections", corr);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    unlink(report);
}

/* 16 fight bots (each aims at the nearest opponent as it draws it, and
 * shoots) at 50 ms each way: they fire and the server registers hits.
 * Lag compensation: of the screen hits whose shooter and target were both
 * still alive on the server when it judged them, at least 95% are
 * registered; and, with the rules for the rest (a hit on a target killed
 * since the view is registered without damage; a killed shooter's shots
 * sent before it could know still fire, from its ghost), at least 95% of
 * all acknowledged screen hits (about 77% without those two rules, 99% to
 * 100% measured with them). The margin is for a busy host: a view older
 * than --max-unlag-ms is judged at the bound. The shot-by-shot accounts
 * add up, nothing is mispredicted, no event is lost, and the server's own
 * hit counter agrees with the bots'. */
static void case_fight(const char *server)
{
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots && access(bots, X_OK) == 0, "set TICKWIRE_BOTS to the tickwire-bots binary");
    char report[] = "/tmp/tickwire-fight-report-XXXXXX";
    int fd = mkstemp(report);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    static const char *const srv_args[] = {"--match-size", "64", "--min-players", "2", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, srv_args, NULL) == 0, "server did not start");
    spawn_proc bp;
    static const char *const args[] = {"--behavior", "fight", "--latency-ms", "50", "--seed", "3", NULL};
    CHECK(bots_start(&bp, bots, sp.port, 16, 10, report, NULL, args) == 0, "bots did not all join");
    static char json[1 << 20];
    CHECK(bots_finish(&bp, report, json, sizeof json, 40000) == 0, "bots");
    static char text[65536];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    double srv_hits = metric_value(text, "tickwire_hits_total");
    double shots = json_number(json, "shots", "fired"), screen = json_number(json, "shots", "screen_hits");
    double hits = json_number(json, "shots", "server_hits"), reg = json_number(json, "shots", "registered");
    double share = json_number(json, "shots", "registered_pct");
    double alive = json_number(json, "shots", "registered_both_alive_pct");
    double target_dead = json_number(json, "not_registered", "target_dead");
    double shooter_dead = json_number(json, "not_registered", "shooter_dead");
    double round = json_number(json, "not_registered", "round_over"), other = json_number(json, "not_registered", "other");
    double unacked = json_number(json, "shots", "not_acknowledged"), extra = json_number(json, "shots", "server_only");
    double corr = json_number(json, "corrections", "total");
    double events = json_number(json, "events", "received"), lost = json_number(json, "events", "lost");
    double kills = json_number(json, "events", "kills"), conn = json_number(json, "connections", "connected_end");
    printf("fight: 16 bots, 50 ms each way: %g shots, %g hit on screen, %g registered by the server (%.2f%%; "
           "%.2f%% of those whose shooter and target were alive); not registered: target dead %g, shooter dead %g, "
           "round %g, other %g, unacked %g; %g server-only; server counted %g hits; %g events (%g kills), %g lost; "
           "%g corrections\n",
           shots, screen, hits, share, alive, target_dead, shooter_dead, round, other, unacked, extra, srv_hits, events,
           kills, lost, corr);
    CHECK(conn == 16, "%g bots at the end", conn);
    CHECK(shots >= 100, "only %g shots fired", shots);
    CHECK(hits >= 50 && screen >= 50, "only %g hits registered, %g on screen", hits, screen);
    CHECK(reg + target_dead + shooter_dead + round + other + unacked == screen,
          "the shot-by-shot accounts do not add up to the %g screen hits", screen);
    CHECK(reg + extra == hits, "registered %g + server-only %g != server hits %g", reg, extra, hits);
    CHECK(alive >= 95, "lag compensation: %.2f%% of the screen hits on live targets registered", alive);
    CHECK(screen > unacked && reg >= 0.95 * (screen - unacked),
          "only %g of the %g acknowledged screen hits registered (hits on the just-dead and trades)", reg,
          screen - unacked);
    /* The bots see every hit but those judged in the last moments before
     * they stopped measuring (the acks still on their way). */
    CHECK(hits <= srv_hits && hits >= srv_hits * 0.9, "bots saw %g of the server's %g hits", hits, srv_hits);
    CHECK(corr == 0, "%g corrections", corr);
    CHECK(lost == 0 && kills > 0, "%g events lost, %g kills seen", lost, kills);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    unlink(report);
}

/* --replay-dir: two servers side by side, each with 3 computer players
 * and people (A: 3 fight bots at 30 ms; B: one test player) in a 10 s round. A (--replay-keep 2, two old
 * replays in its folder) writes round 1's file when it ends and round 2's
 * at SIGTERM (interrupted); the old ones are pruned; both files pass
 * `replay verify`, and round 1's end record has the scoreboard the
 * results database stored. B's folder is removed under it: the round's
 * file is a counted write error and its game goes on into round 2. */
static int run_status(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void case_replay(const char *server)
{
    char dir[] = "/tmp/tickwire-replay-XXXXXX", rdir[96], gone[96], db[96], path[512];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(rdir, sizeof rdir, "%s/replays", dir);
    snprintf(gone, sizeof gone, "%s/gone", dir);
    snprintf(db, sizeof db, "%s/rounds.db", dir);
    CHECK(mkdir(rdir, 0755) == 0, "mkdir %s", rdir);
    static const char *const old[] = {"tw-0000000000001-m1-r1.twr", "tw-0000000000002-m1-r2.twr"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", rdir, old[i]);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL, "create %s", path);
        fclose(f);
    }
    const char *args_a[] = {"--results-db", db, "--replay-dir", rdir, "--replay-keep", "2", "--npcs", "3",
                            "--match-time", "10", "--intermission", "1", "--seed", "5", NULL};
    const char *args_b[] = {"--replay-dir", gone, "--npcs", "3", "--match-time", "10", "--intermission", "1", NULL};
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots && access(bots, X_OK) == 0, "set TICKWIRE_BOTS to the tickwire-bots binary");
    char report[112];
    snprintf(report, sizeof report, "%s/bots.json", dir);
    spawn_proc a, b, bp;
    CHECK(server_start(&a, server, args_a, NULL) == 0, "server A did not start");
    CHECK(server_start(&b, server, args_b, NULL) == 0, "server B did not start");
    CHECK(rmdir(gone) == 0, "rmdir %s", gone);
    /* A: 3 fight bots at 30 ms each way (lag compensation in the replay) */
    static const char *const bot_args[] = {"--behavior", "fight", "--latency-ms", "30", "--seed", "4", NULL};
    CHECK(bots_start(&bp, bots, a.port, 3, 12, report, NULL, bot_args) == 0, "bots did not all join A");
    static player pb;
    CHECK(player_join(&pb, b.port, "scout") == 0, "join B");
    pb.buttons = SIM_BTN_LEFT | SIM_BTN_FIRE;
    pthread_create(&pb.thread, NULL, player_thread, &pb);
    static char text[65536];
    double end = check_now_ms() + 16000, written = 0, errors = 0;
    while (check_now_ms() < end && (written < 1 || errors < 1)) {
        usleep(200000);
        if (http_get(a.port, "/metrics", text, sizeof text) == 200)
            written = metric_value(text, "tickwire_replay_files_written_total");
        if (http_get(b.port, "/metrics", text, sizeof text) == 200)
            errors = metric_value(text, "tickwire_replay_write_errors_total");
    }
    CHECK(written == 1, "A: %g replay files written after round 1", written);
    CHECK(errors == 1, "B: %g replay write errors", errors);
    CHECK(http_get(a.port, "/metrics", text, sizeof text) == 200, "A metrics");
    CHECK(metric_value(text, "tickwire_replay_pruned_total") == 1, "A pruned %g",
          metric_value(text, "tickwire_replay_pruned_total"));
    CHECK(metric_value(text, "tickwire_replay_write_errors_total") == 0, "A write errors");
    CHECK(http_get(b.port, "/metrics", text, sizeof text) == 200, "B metrics");
    CHECK(metric_value(text, "tickwire_replay_files_written_total") == 0, "B wrote a file");
    /* B plays on: round 2 starts after the 1 s intermission */
    uint32_t before = player_snapshots(&pb);
    end = check_now_ms() + 4000;
    while (check_now_ms() < end && !(http_get(b.port, "/api/matches/live", text, sizeof text) == 200 &&
                                     strstr(text, "\"round\":2")))
        usleep(100000);
    CHECK(strstr(text, "\"round\":2") != NULL, "B: no round 2: %s", text);
    CHECK(player_snapshots(&pb) > before + 30, "B stopped sending snapshots");
    pb.stop = 1;
    pthread_join(pb.thread, NULL);
    static char json[1 << 20];
    CHECK(bots_finish(&bp, report, json, sizeof json, 20000) == 0, "bots");
    CHECK(spawn_stop(&a, 5000, NULL) == 0, "A exit status after SIGTERM");
    CHECK(spawn_stop(&b, 5000, NULL) == 0, "B exit status after SIGTERM");
    wsc_close(&pb.ws);
    unlink(report);

    DIR *d = opendir(rdir);
    CHECK(d != NULL, "opendir");
    char files[8][128];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && n < 8)
            snprintf(files[n++], sizeof files[0], "%.100s", e->d_name);
    closedir(d);
    CHECK(n == 2, "%d files in %s (want rounds 1 and 2 only)", n, rdir);
    int r1 = strstr(files[0], "-r1.twr") ? 0 : 1;
    CHECK(strstr(files[r1], "-m1-r1.twr") && strstr(files[1 - r1], "-m1-r2.twr") &&
              strncmp(files[r1], "tw-000", 6) != 0,
          "files %s, %s", files[0], files[1]);
    for (int i = 0; i < 2; i++) {
        char cmd[1600], outp[1024];
        snprintf(cmd, sizeof cmd, "'%.1000s' replay verify '%.95s/%.127s' 2>&1", server, rdir, files[i]);
        int st = run_status(cmd, outp, sizeof outp);
        CHECK(st == 0 && strncmp(outp, "replay ok: ", 11) == 0, "verify %s: status %d: %s", files[i], st, outp);
        printf("%s", outp);
    }

    /* round 1's end record against the results database */
    snprintf(path, sizeof path, "%s/%s", rdir, files[r1]);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "open %s", path);
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    static replay_reader rr;
    static sim_world w;
    static sim_tick_inputs in;
    CHECK(replay_open(&rr, buf, len, &w, &in) == REPLAY_OK && replay_verify(&rr) == REPLAY_OK, "verify: %s",
          rr.err);
    CHECK(rr.end_reason == PROTO_END_TIME, "round 1 ended by %d", rr.end_reason);
    sqlite3 *sdb;
    CHECK(sqlite3_open_v2(db, &sdb, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", db);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(sdb,
                             "SELECT p.name, p.kills, p.deaths, p.score FROM rounds r JOIN round_players p "
                             "ON p.round_id = r.id WHERE r.round = 1 ORDER BY p.slot",
                             -1, &st, NULL) == SQLITE_OK,
          "query: %s", sqlite3_errmsg(sdb));
    int rows = 0, kills = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        CHECK(rows < rr.nscores, "more players in the database than in the replay");
        const replay_score *s = &rr.scores[rows];
        CHECK(strcmp(s->name, name) == 0 && s->kills == sqlite3_column_int(st, 1) &&
                  s->deaths == sqlite3_column_int(st, 2) && s->score == sqlite3_column_int(st, 3),
              "player %d: replay %s %u/%u/%u, database %s %d/%d/%d", rows, s->name, s->kills, s->deaths, s->score,
              name, sqlite3_column_int(st, 1), sqlite3_column_int(st, 2), sqlite3_column_int(st, 3));
        kills += s->kills;
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(sdb);
    CHECK(rows == rr.nscores && rows == 6, "%d players in the database, %d in the replay", rows, rr.nscores);
    CHECK(kills > 0, "nobody was killed in round 1: a weak comparison");
    printf("replay: round 1 (%u ticks, %d kills) matches the results database; old files pruned; B counted its "
           "write error and played on\n", rr.ticks, kills);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", rdir, files[i]);
        unlink(path);
    }
    rmdir(rdir);
    unlink(db);
    snprintf(path, sizeof path, "%s-wal", db);
    unlink(path);
    snprintf(path, sizeof path, "%s-shm", db);
    unlink(path);
    rmdir(dir);
}

/* Where needle (nl bytes) is in b (n bytes), or NULL (memmem is GNU's). */
static const uint8_t *bytes_find(const uint8_t *b, size_t n, const char *needle, size_t nl)
{
    for (size_t i = 0; nl <= n && i <= n - nl; i++)
        if (memcmp(b + i, needle, nl) == 0)
            return b + i;
    return NULL;
}

/* GET over plain HTTP keeping the body's bytes (NULs too): the status,
 * the body in out (*len bytes), the headers in head. */
static int http_get_bytes(int port, const char *path, uint8_t *out, size_t cap, size_t *len, char *head, size_t hcap)
{
    static wsc c;
    char err[128];
    *len = 0;
    head[0] = '\0';
    if (wsc_open(&c, "127.0.0.1", port, err, sizeof err) < 0) {
        wsc_close(&c);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (wsc_write(&c, req, (size_t)n) < 0) {
        wsc_close(&c);
        return -1;
    }
    while (wsc_fill(&c, 3000) > 0) {
    }
    int status = 0;
    sscanf((const char *)c.buf, "HTTP/1.1 %d", &status);
    const uint8_t *end = bytes_find(c.buf, c.len, "\r\n\r\n", 4);
    if (end) {
        size_t hl = (size_t)(end - c.buf);
        snprintf(head, hcap, "%.*s", (int)(hl < hcap - 1 ? hl : hcap - 1), (const char *)c.buf);
        for (char *h = head; *h; h++) /* header names and values in lower case */
            *h = (char)(*h >= 'A' && *h <= 'Z' ? *h + 32 : *h);
        size_t bl = c.len - hl - 4;
        *len = bl < cap ? bl : cap;
        memcpy(out, end + 4, *len);
    }
    wsc_close(&c);
    return status;
}

/* GET /api/replays and GET /api/replays/<name> (issue 13, the browser's
 * replays): a server with --replay-dir, one player and 3 computer players
 * in 10 s rounds. Once a round's file is written: the listing names it
 * (newest first, its header and end record: match, round, ticks, players,
 * end reason), not the .tmp of the round being recorded nor the other
 * files put in the folder; its bytes equal the file on disk
 * (application/octet-stream, Content-Length); traversal attempts, a
 * .tmp, a symlink named like a replay, malformed names and a bad limit
 * are refused (400/404, never a byte of another file); a missing file is
 * 404. A server without --replay-dir answers both with a JSON 404. The
 * player keeps getting snapshots throughout. */
static void case_replays_http(const char *server)
{
    char dir[] = "/tmp/tickwire-replays-XXXXXX", rdir[96], path[600];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(rdir, sizeof rdir, "%s/replays", dir);
    CHECK(mkdir(rdir, 0755) == 0, "mkdir %s", rdir);
    /* things in the folder that are not finished replays */
    snprintf(path, sizeof path, "%s/notes.txt", rdir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "create %s", path);
    fputs("not a replay\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/tw-1700000000000-m9-r9.twr", rdir);
    CHECK(symlink("/etc/passwd", path) == 0, "symlink");
    snprintf(path, sizeof path, "%s/tw-1900000000000-m1-r5.twr.tmp", rdir); /* as the writer leaves one */
    f = fopen(path, "w");
    CHECK(f != NULL, "create %s", path);
    fputs("TWRP", f);
    fclose(f);
    const char *args[] = {"--replay-dir", rdir, "--npcs", "3", "--match-time", "10", "--intermission", "1",
                          "--min-players", "1", NULL};
    spawn_proc sp, plain;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    const char *args_plain[] = {"--npcs", "1", NULL};
    CHECK(server_start(&plain, server, args_plain, NULL) == 0, "server without --replay-dir did not start");
    static player pl;
    CHECK(player_join(&pl, sp.port, "viewer") == 0, "join");
    pl.buttons = SIM_BTN_RIGHT | SIM_BTN_FIRE;
    pthread_create(&pl.thread, NULL, player_thread, &pl);
    static char text[1 << 17];
    double end = check_now_ms() + 25000, written = 0;
    while (check_now_ms() < end && written < 1) {
        usleep(200000);
        if (http_get(sp.port, "/metrics", text, sizeof text) == 200)
            written = metric_value(text, "tickwire_replay_files_written_total");
    }
    CHECK(written >= 1, "no replay file written");
    /* the finished file on disk (the next round's .tmp is being written) */
    char name[128] = "";
    int tmp = 0;
    DIR *d = opendir(rdir);
    CHECK(d != NULL, "opendir");
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        tmp |= nl > 4 && strcmp(e->d_name + nl - 4, ".tmp") == 0;
        if (strncmp(e->d_name, "tw-17", 5) == 0 && strstr(e->d_name, "-r1.twr") && nl < sizeof name &&
            strstr(e->d_name, ".tmp") == NULL && strcmp(e->d_name, "tw-1700000000000-m9-r9.twr") != 0)
            memcpy(name, e->d_name, nl + 1);
    }
    closedir(d);
    CHECK(name[0], "round 1's file not in %s", rdir);

    CHECK(http_get(sp.port, "/api/replays", text, sizeof text) == 200, "GET /api/replays: %s", text);
    char want[256];
    snprintf(want, sizeof want, "{\"name\":\"%s\",\"bytes\":", name);
    const char *mine = strstr(text, want);
    CHECK(mine != NULL, "round 1 not listed: %s", text);
    CHECK(strstr(mine, "\"playable\":true,\"match_id\":1,\"label\":\"\",\"round\":1,") != NULL &&
              strstr(mine, "\"ticks\":600,\"tick_rate\":60,\"duration_s\":10.000,\"players\":4,\"end_reason\":\"time\"") !=
                  NULL,
          "round 1's entry: %s", mine);
    CHECK(strstr(text, ".tmp") == NULL && strstr(text, "notes") == NULL, "a .tmp or another file listed: %s", text);
    CHECK(strstr(text, "\"name\":\"tw-1700000000000-m9-r9.twr\",\"bytes\":0,\"playable\":false") != NULL,
          "the symlink is listed as something else than unplayable: %s", text);
    /* newest first: round 1 before the symlink's older name */
    CHECK(mine < strstr(text, "tw-1700000000000-m9-r9.twr"), "not newest first: %s", text);
    CHECK(http_get(sp.port, "/api/replays?limit=1", text, sizeof text) == 200 && strstr(text, "\"limit\":1}") &&
              strstr(text, "m9-r9") == NULL,
          "limit=1: %s", text);
    static const char *const bad_limits[] = {"/api/replays?limit=0", "/api/replays?limit=201",
                                             "/api/replays?limit=abc"};
    for (int i = 0; i < 3; i++)
        CHECK(http_get(sp.port, bad_limits[i], text, sizeof text) == 400 && strstr(text, "\"error\""), "%s: %s",
              bad_limits[i], text);

    /* the bytes, as on disk */
    snprintf(path, sizeof path, "%s/%s", rdir, name);
    static uint8_t disk[1 << 16], got[1 << 16];
    f = fopen(path, "rb");
    CHECK(f != NULL, "open %s", path);
    size_t dn = fread(disk, 1, sizeof disk, f);
    fclose(f);
    CHECK(dn > 1000 && dn < sizeof disk - 1024, "file of %zu bytes (the test reads up to 63 KB)", dn);
    char head[2048], url[256];
    size_t gn = 0;
    snprintf(url, sizeof url, "/api/replays/%s", name);
    CHECK(http_get_bytes(sp.port, url, got, sizeof got, &gn, head, sizeof head) == 200, "GET %s: %s", url, head);
    CHECK(gn == dn && memcmp(got, disk, dn) == 0, "%zu bytes served, %zu on disk, or they differ", gn, dn);
    CHECK(strstr(head, "content-type: application/octet-stream") != NULL, "headers: %s", head);
    char clen[64];
    snprintf(clen, sizeof clen, "content-length: %zu", dn);
    CHECK(strstr(head, clen) != NULL, "headers: %s", head);

    /* refused: paths out of the folder, the .tmp, the symlink, bad names */
    char tmpname[160];
    snprintf(tmpname, sizeof tmpname, "/api/replays/%s.tmp", name);
    const char *const refused[] = {
        "/api/replays/..%2f..%2f..%2fetc%2fpasswd", "/api/replays/../../../etc/passwd",
        "/api/replays/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/api/replays/..%5c..%5cetc%5cpasswd",
        "/api/replays/tw-1700000000000-m9-r9.twr" /* the symlink */, tmpname, "/api/replays/notes.txt",
        "/api/replays/tw-1-m1-r1.twr", "/api/replays/tw-1900000000000-m1-r5.twr.tmp",
        "/api/replays/tw-1700000000000-m1-r1.twr/", "/api/replays/",
        "/api/replays/tw-1700000000000-m1-r1.twr" /* well formed, not there */};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int st = http_get_bytes(sp.port, refused[i], got, sizeof got, &gn, head, sizeof head);
        got[gn < sizeof got ? gn : sizeof got - 1] = '\0';
        CHECK((st == 400 || st == 404) && !bytes_find(got, gn, "root:", 5) && !bytes_find(got, gn, "TWRP", 4),
              "%s: status %d, %zu bytes", refused[i], st, gn);
        if (i >= 4) /* those that reach /api/replays: a JSON reason */
            CHECK(strstr((char *)got, "\"error\"") != NULL, "%s: %d %s", refused[i], st, (char *)got);
    }
    /* a NUL in the path: lws 4.1.6 hangs up before any callback */
    int st0 = http_get_bytes(sp.port, "/api/replays/tw-1700000000000-m1-r1.twr%00.txt", got, sizeof got, &gn, head,
                             sizeof head);
    CHECK((st0 == 400 || st0 == 404 || st0 == 0) && !bytes_find(got, gn, "TWRP", 4), "%%00: status %d", st0);
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    CHECK(metric_value(text, "tickwire_http_requests_total{endpoint=\"/api/replays\",code=\"200\"}") >= 3 &&
              metric_value(text, "tickwire_http_requests_total{endpoint=\"/api/replays\",code=\"400\"}") >= 6 &&
              metric_value(text, "tickwire_http_requests_total{endpoint=\"/api/replays\",code=\"404\"}") >= 2,
          "answers not counted under /api/replays");

    /* no --replay-dir: a clear 404 */
    CHECK(http_get(plain.port, "/api/replays", text, sizeof text) == 404 && strstr(text, "--replay-dir"),
          "without --replay-dir: %s", text);
    CHECK(http_get(plain.port, "/api/replays/tw-1700000000000-m1-r1.twr", text, sizeof text) == 404 &&
              strstr(text, "--replay-dir"),
          "without --replay-dir: %s", text);

    uint32_t before = player_snapshots(&pl);
    usleep(500000);
    CHECK(player_snapshots(&pl) > before + 10, "the player stopped getting snapshots");
    pl.stop = 1;
    pthread_join(pl.thread, NULL);
    wsc_close(&pl.ws);
    CHECK(spawn_stop(&sp, 5000, NULL) == 0, "exit status after SIGTERM");
    CHECK(spawn_stop(&plain, 5000, NULL) == 0, "exit status after SIGTERM (plain)");
    printf("replays_http: %s (%zu bytes) listed and served byte for byte; %zu refusals; .tmp files on disk, "
           "none listed (%d)\n", name, dn, sizeof refused / sizeof refused[0], tmp);
    d = opendir(rdir);
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%.200s", rdir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(rdir);
    rmdir(dir);
}

/* A client that closes with 1000 (a Leave button, a closed tab) has left:
 * its slot is freed at once instead of being held for a resume. */
static void case_leave(const char *server)
{
    const char *args[] = {"--resume-grace", "30", "--snapshot-rate", "4", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    player obs, p;
    CHECK(player_join(&obs, sp.port, "observer") == 0, "join");
    pthread_create(&obs.thread, NULL, player_thread, &obs);
    CHECK(player_join(&p, sp.port, "leaver") == 0, "join");
    CHECK(player_wait_snapshots(&p, 10, 3000) == 0, "snapshots");
    int id = p.cl.welcome.player_id;
    double end = check_now_ms() + 3000;
    while (entity_flags(&obs, id) < 0 && check_now_ms() < end)
        usleep(10000);
    CHECK(entity_flags(&obs, id) >= 0, "observer never saw the player");
    uint8_t bye[2] = {1000 >> 8, 1000 & 0xff};
    wsc_send(&p.ws, WS_CLOSE, bye, 2);
    /* A newcomer takes the freed slot at once, well within the 250 ms
     * between snapshots: its first snapshot must show it, not the player
     * who left (whose state the newest snapshot still holds). */
    player q;
    /* No event says "the server has read the close" without a snapshot,
     * which would spoil the case: give the close a 20 ms head start. The
     * slot check below fails loudly if that ever was not enough. */
    usleep(20000);
    CHECK(player_join(&q, sp.port, "newcomer") == 0, "join");
    q.buttons = SIM_BTN_LEFT;
    CHECK(player_wait_snapshots(&q, 12, 8000) == 0, "newcomer snapshots");
    CHECK(q.cl.welcome.player_id == id, "newcomer got slot %d, expected the freed %d", q.cl.welcome.player_id, id);
    CHECK(q.cl.stats.corrections == 0, "newcomer had %u corrections (a snapshot from before its join?)",
          q.cl.stats.corrections);
    printf("leave: close 1000 -> slot freed at once (grace 30 s not used); a newcomer in the same slot starts "
           "from its own state, 0 corrections\n");
    wsc_close(&p.ws);
    wsc_close(&q.ws);
    obs.stop = 1;
    pthread_join(obs.thread, NULL);
    wsc_close(&obs.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* ---- connection caps and HTTP deadlines ------------------------------------ */

/* --max-conns counts every connection from accept: past it a new one is
 * refused before a byte of it is read (503 over plain HTTP, closed over
 * TLS); a game connection counts once; room again once one leaves. */
static void case_max_conns(const char *server)
{
    const char *args[] = {"--max-conns", "3", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    wsc c[4];
    char err[128] = "";
    CHECK(wsc_connect(&c[0], "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "1st: %s", err);
    CHECK(wsc_connect(&c[1], "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "2nd: %s", err);
    /* Two game connections and this request: three, each counted once. */
    static char text[65536];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics beside 2 game connections");
    CHECK(metric_value(text, "tickwire_connections") == 2 && metric_value(text, "tickwire_tcp_connections") == 3,
          "game %g, tcp %g: want 2 and 3", metric_value(text, "tickwire_connections"),
          metric_value(text, "tickwire_tcp_connections"));
    CHECK(wsc_connect_retry(&c[2], sp.port, err, sizeof err) == 0, "3rd: %s", err);
    int rc = wsc_connect(&c[3], "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err);
    CHECK(rc < 0 && refused_at_cap(err), "4th connection over --max-conns 3: %s", rc ? err : "upgraded");
    CHECK(g_tls_cert || strstr(err, " 503 "), "4th connection: no 503 but %s", err);
    printf("max_conns: 4th connection -> %s\n", err);
    wsc_close(&c[3]);
    wsc_close(&c[2]);
    wsc_close(&c[1]);
    double end = check_now_ms() + 3000; /* the server sees the closes: watch its gauge */
    while (check_now_ms() < end && (metrics_get(sp.port, text, sizeof text) != 200 ||
                                    metric_value(text, "tickwire_connections") != 1))
        usleep(20000);
    CHECK(wsc_connect_retry(&c[1], sp.port, err, sizeof err) == 0, "after a close: %s", err);
    CHECK(metrics_get(sp.port, text, sizeof text) == 200, "metrics");
    double refused = metric_value(text, "tickwire_connections_refused_total{reason=\"max_conns\"}");
    CHECK(refused == 1 + g_cap_retries, "refusal metric %g, want 1 + %d retries", refused, g_cap_retries);
    wsc_close(&c[1]);
    wsc_close(&c[0]);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
}

/* utime + stime of a process, in seconds, from /proc/PID/stat; -1 unknown. */
static double proc_cpu_seconds(const char *stat_path)
{
    char buf[1024];
    FILE *f = fopen(stat_path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The server's open-file limit (100 here) below --max-conns (default
 * 4096): the server clamps its cap under the limit and says so, so a flood
 * of 150 connections is refused at the cap (counted, 503) instead of
 * leaving connections in the kernel's queue that accept() cannot take,
 * which kept the listening socket readable and the loop spinning on it,
 * logging a line per turn. After the flood a player still plays. */
static void case_fd_limit(const char *server)
{
    char log_path[] = "/tmp/tickwire-fdlimit-log-XXXXXX";
    int lfd = mkstemp(log_path);
    CHECK(lfd >= 0, "mkstemp");
    close(lfd);
    const char *argv[] = {"/bin/sh", "-c", "ulimit -n 100 && exec \"$0\" \"$@\"", server, "--port", "0",
                          "--log-level", "warn", "--results-db", ":memory:", "--drain-timeout", "0", NULL};
    spawn_proc sp;
    char err[256];
    CHECK(spawn_server_start(&sp, &(spawn_desc){.argv = argv, .stderr_path = log_path}, err, sizeof err) == 0,
          "server did not start: %s", err);
    enum { FLOOD = 150 };
    static int fds[FLOOD];
    int opened = 0;
    for (int i = 0; i < FLOOD; i++) {
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sp.port)};
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&to, sizeof to) == 0)
            opened++;
    }
    CHECK(opened == FLOOD, "only %d of %d connects", opened, FLOOD);
    char stat_path[64];
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)sp.pid);
    usleep(300000);
    double cpu0 = proc_cpu_seconds(stat_path);
    usleep(2000000);
    double cpu1 = proc_cpu_seconds(stat_path);
    printf("fd_limit: %d connections held against a limit of 100 fds: server CPU %.0f%% over 2 s\n", FLOOD,
           (cpu1 - cpu0) * 50);
    CHECK(cpu0 >= 0 && cpu1 - cpu0 < 0.3, "the server spun: %.2f s CPU in 2 s", cpu1 - cpu0);
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    static char text[65536];
    double end = check_now_ms() + 5000, refused = 0;
    while (check_now_ms() < end) {
        if (metrics_get(sp.port, text, sizeof text) == 200 &&
            (refused = metric_value(text, "tickwire_connections_refused_total{reason=\"max_conns\"}")) > 0 &&
            metric_value(text, "tickwire_tcp_connections") <= 1)
            break;
        usleep(50000);
    }
    printf("fd_limit: %g refused at the clamped cap\n", refused);
    CHECK(refused >= FLOOD - 100, "%g refusals counted, want >= %d", refused, FLOOD - 100);
    static player p;
    CHECK(player_join(&p, sp.port, "after") == 0, "a player after the flood could not join");
    CHECK(player_wait_snapshots(&p, 10, 5000) == 0, "a player after the flood got %u snapshots", p.snapshots);
    wsc_close(&p.ws);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    static char logs[1 << 16];
    FILE *f = fopen(log_path, "r");
    size_t n = f ? fread(logs, 1, sizeof logs - 1, f) : 0;
    if (f)
        fclose(f);
    logs[n] = '\0';
    CHECK(strstr(logs, "\"event\":\"fd_limit\""), "no fd_limit warning in the log");
    unlink(log_path);
}

/* A raw TCP connection from source address src (any of 127/8) to the
 * server; optionally sends `request`. Non-blocking after the connect. */
typedef struct rawconn {
    int fd;
    int status;       /* of the first answer, 0 none yet */
    int closed;       /* EOF or reset seen */
    double opened_ms, closed_ms;
} rawconn;

static int raw_open(rawconn *r, const char *src, int port, const char *request)
{
    memset(r, 0, sizeof *r);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, src, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&from, sizeof from) < 0 ||
        connect(r->fd, (struct sockaddr *)&to, sizeof to) < 0) {
        fprintf(stderr, "raw connect from %s: %s\n", src, strerror(errno));
        if (r->fd >= 0)
            close(r->fd);
        r->fd = -1;
        return -1;
    }
    r->opened_ms = check_now_ms();
    if (request && send(r->fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request))
        return -1;
    return 0;
}

/* Reads whatever each open connection has: the first answer's status, and
 * when it was closed. */
static void raw_poll(rawconn *r, int n)
{
    for (int i = 0; i < n; i++) {
        char buf[4096];
        ssize_t got;
        while (!r[i].closed && (got = recv(r[i].fd, buf, sizeof buf - 1, MSG_DONTWAIT)) != 0) {
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (got < 0)
                break; /* a reset: closed too */
            buf[got] = '\0';
            if (!r[i].status)
                sscanf(buf, "HTTP/1.%*d %d", &r[i].status);
        }
        if (!r[i].closed && (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK))) {
            r[i].closed = 1;
            r[i].closed_ms = check_now_ms();
        }
    }
}

static int raw_count(const rawconn *r, int n, int closed, int status)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += r[i].closed == closed && (status < 0 || r[i].status == status);
    return k;
}

/* A flood of plain TCP connections under --max-conns 100 --max-conns-per-ip
 * 50: 200 that send nothing (from 127.0.0.2) and 200 that send one GET and
 * keep the connection alive (from 127.0.0.3). 50 of each are held (the
 * per-address cap, then the total cap), the other 300 are answered 503 and
 * closed at once, counted by reason; a game client is refused while the
 * flood lasts. The held ones are closed by --http-timeout 2 (silent: no
 * request header in time; keep-alive: idle after the answer), and then a
 * game client gets in. Last, request bodies: 413 where none is taken, and
 * a trickled one cut off by the same deadline. */
static void case_conn_caps(const char *server)
{
    char log_path[] = "/tmp/tickwire-caps-XXXXXX";
    int fd = mkstemp(log_path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    const char *args[] = {"--max-conns", "100", "--max-conns-per-ip", "50", "--http-timeout", "2",
                          "--log-format", "text", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, log_path) == 0, "server did not start");
    static rawconn silent[200], get[200];
    for (int i = 0; i < 200; i++)
        CHECK(raw_open(&silent[i], "127.0.0.2", sp.port, NULL) == 0, "silent connection %d", i);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
    for (int i = 0; i < 200; i++)
        CHECK(raw_open(&get[i], "127.0.0.3", sp.port, req) == 0, "keep-alive connection %d", i);
    double t0 = check_now_ms();
    while (check_now_ms() < t0 + 1000 && (raw_count(silent, 200, 1, 503) < 150 || raw_count(get, 200, 1, 503) < 150 ||
                                          raw_count(get, 200, 0, 200) < 50)) {
        raw_poll(silent, 200);
        raw_poll(get, 200);
        usleep(10000);
    }
    double settle = check_now_ms() - t0;
    printf("conn_caps: after %.0f ms: silent %d held, %d answered 503 and closed; keep-alive %d held (200), "
           "%d answered 503 and closed\n", settle, raw_count(silent, 200, 0, -1), raw_count(silent, 200, 1, 503),
           raw_count(get, 200, 0, 200), raw_count(get, 200, 1, 503));
    CHECK(raw_count(silent, 200, 0, 0) == 50 && raw_count(silent, 200, 1, 503) == 150,
          "silent: %d held, %d refused; want 50, 150", raw_count(silent, 200, 0, -1), raw_count(silent, 200, 1, 503));
    CHECK(raw_count(get, 200, 0, 200) == 50 && raw_count(get, 200, 1, 503) == 150,
          "keep-alive: %d held, %d refused; want 50, 150", raw_count(get, 200, 0, 200), raw_count(get, 200, 1, 503));

    /* While the flood holds the server's 100, a game client is refused too. */
    wsc c;
    char err[128] = "";
    int rc = wsc_connect(&c, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err);
    CHECK(rc < 0 && strstr(err, " 503 "), "game client during the flood: %s", rc ? err : "upgraded");
    wsc_close(&c);

    /* The deadline: every held connection closed 2 s after its last
     * request (silent: after accept; keep-alive: after the answer). */
    while (check_now_ms() < t0 + 8000 && (raw_count(silent, 200, 1, -1) < 200 || raw_count(get, 200, 1, -1) < 200)) {
        raw_poll(silent, 200);
        raw_poll(get, 200);
        usleep(10000);
    }
    double first = 1e9, last = 0;
    for (int i = 0; i < 200; i++) {
        rawconn *held[2] = {&silent[i], &get[i]};
        for (int k = 0; k < 2; k++)
            if (held[k]->status != 503 && held[k]->closed) {
                double after = held[k]->closed_ms - held[k]->opened_ms;
                first = after < first ? after : first;
                last = after > last ? after : last;
            }
    }
    printf("conn_caps: the 100 held closed by --http-timeout 2 between %.2f and %.2f s after they opened\n",
           first / 1000, last / 1000);
    CHECK(raw_count(silent, 200, 1, -1) == 200 && raw_count(get, 200, 1, -1) == 200, "held connections still open");
    CHECK(first >= 1800 && last <= 4000, "closed between %.0f and %.0f ms, want about 2000", first, last);
    for (int i = 0; i < 200; i++) {
        close(silent[i].fd);
        close(get[i].fd);
    }

    /* Counted, and room again: a game client joins and plays. */
    static char text[65536];
    CHECK(metrics_get(sp.port, text, sizeof text) == 200, "metrics");
    double per_ip = metric_value(text, "tickwire_connections_refused_total{reason=\"max_conns_per_ip\"}");
    double total = metric_value(text, "tickwire_connections_refused_total{reason=\"max_conns\"}");
    printf("conn_caps: refused max_conns_per_ip %g, max_conns %g; tcp_connections %g\n", per_ip, total,
           metric_value(text, "tickwire_tcp_connections"));
    CHECK(per_ip == 150 && total == 151 + g_cap_retries, "refusals: per address %g (want 150), total %g (want 151)",
          per_ip, total);
    CHECK(metric_value(text, "tickwire_tcp_connections") == 1, "tcp connections %g, want 1 (this request)",
          metric_value(text, "tickwire_tcp_connections"));
    player p;
    CHECK(player_join(&p, sp.port, "after-flood") == 0, "join after the flood");
    CHECK(player_wait_snapshots(&p, 10, 3000) == 0, "no snapshots after the flood");
    wsc_close(&p.ws);

    /* Request bodies: refused (413) where none is taken; POST /api/join's
     * must arrive within the deadline, however it is trickled. */
    rawconn body, slow;
    static const char with_body[] = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello",
                      join_slow[] = "POST /api/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n";
    CHECK(raw_open(&body, "127.0.0.1", sp.port, with_body) == 0, "body connection");
    CHECK(raw_open(&slow, "127.0.0.1", sp.port, join_slow) == 0, "slow body connection");
    while (check_now_ms() < slow.opened_ms + 6000 && !(body.closed && slow.closed)) {
        if (!slow.closed && send(slow.fd, "x", 1, MSG_NOSIGNAL) != 1)
            break; /* the server hung up: the next poll sees it */
        for (int i = 0; i < 25; i++) {
            raw_poll(&body, 1);
            raw_poll(&slow, 1);
            usleep(10000);
        }
    }
    raw_poll(&slow, 1);
    double slow_s = slow.closed ? (slow.closed_ms - slow.opened_ms) / 1000 : -1;
    printf("conn_caps: POST / with a body -> %d, closed %d; POST /api/join trickling its body -> closed after %.1f s\n",
           body.status, body.closed, slow_s);
    CHECK(body.status == 413 && body.closed, "POST / with a body: status %d, closed %d", body.status, body.closed);
    CHECK(slow.closed && slow.status == 0 && slow_s >= 1.8 && slow_s <= 4.5, "trickled body: closed after %.1f s",
          slow_s);
    close(body.fd);
    close(slow.fd);
    CHECK(metrics_get(sp.port, text, sizeof text) == 200, "metrics");
    CHECK(metric_value(text, "tickwire_connections_refused_total{reason=\"body\"}") == 1, "body refusals: %g",
          metric_value(text, "tickwire_connections_refused_total{reason=\"body\"}"));
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");

    /* One log line per reason for the flood (at most one a second). */
    FILE *f = fopen(log_path, "r");
    CHECK(f, "log file");
    char line[1024];
    int lines_ip = 0, lines_total = 0;
    while (fgets(line, sizeof line, f)) {
        lines_ip += strstr(line, " refuse ip=127.0.0.2 status=503 reason=max_conns_per_ip at=accept") != NULL;
        lines_total += strstr(line, " refuse ") && strstr(line, "reason=max_conns at=accept") != NULL;
    }
    fclose(f);
    unlink(log_path);
    CHECK(lines_ip >= 1 && lines_ip <= 3 && lines_total >= 1 && lines_total <= 4,
          "refuse lines: %d per address, %d in all", lines_ip, lines_total);
}

/* ---- the opening handshake (RFC 6455 section 4.2) ---------------------------- */

/* The value of header `name` (case-insensitive) in an HTTP answer, copied
 * into out; NULL when absent. */
static const char *answer_header(const char *answer, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *end = strstr(answer, "\r\n\r\n");
    for (const char *line = strstr(answer, "\r\n"); line && (!end || line < end); line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            h += nl + 1;
            h += strspn(h, " \t");
            size_t n = strcspn(h, "\r\n");
            snprintf(out, cap, "%.*s", (int)n, h);
            return out;
        }
    }
    return NULL;
}

/* Sends one raw request on a new connection; the answer (headers and any
 * body) into out. Returns its status (0: no answer), with *closed set when
 * the server then hung up. A 101 is read up to the end of its headers. */
static int raw_request(int port, const char *request, char *out, size_t cap, int *closed)
{
    static wsc c;
    char err[128];
    *closed = 0;
    out[0] = '\0';
    if (wsc_open(&c, "127.0.0.1", port, err, sizeof err) < 0 || wsc_write(&c, request, strlen(request)) < 0) {
        wsc_close(&c);
        return 0;
    }
    double end = check_now_ms() + 3000;
    int r = 0;
    while (check_now_ms() < end && (r = wsc_fill(&c, 100)) >= 0) {
        c.buf[c.len < sizeof c.buf ? c.len : sizeof c.buf - 1] = 0;
        if (strncmp((char *)c.buf, "HTTP/1.1 101 ", 13) == 0 && strstr((char *)c.buf, "\r\n\r\n"))
            break;
    }
    *closed = r < 0;
    size_t len = c.len < cap - 1 ? c.len : cap - 1;
    memcpy(out, c.buf, len);
    out[len] = '\0';
    wsc_close(&c);
    int status = 0;
    sscanf(out, "HTTP/1.%*d %d ", &status);
    return status;
}

/* Sec-WebSocket-Accept for key (RFC 6455 4.2.2 step 5.4): base64 of the
 * SHA-1 of the key and the protocol's GUID. */
static void ws_accept(const char *key, char *out, size_t cap)
{
    char in[128];
    unsigned char sha[20];
    size_t olen = 0;
    int n = snprintf(in, sizeof in, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha1((const unsigned char *)in, (size_t)n, sha);
#else
    mbedtls_sha1_ret((const unsigned char *)in, (size_t)n, sha);
#endif
    if (mbedtls_base64_encode((unsigned char *)out, cap, &olen, sha, sizeof sha) != 0)
        out[0] = '\0';
}

/* Every requirement of section 4.2.1 broken alone, sent raw: each refusal
 * has its status (400; 426 with Sec-WebSocket-Version: 13 for a version;
 * 403 for a foreign origin; 400 too for an Upgrade other than websocket,
 * which lws would answer itself), a body naming the problem, Connection:
 * close, a log line and a count by reason. A correct request gets 101 with the
 * Sec-WebSocket-Accept computed here and the tickwire.v6 subprotocol, on any
 * path. */
static void case_handshake(const char *server)
{
    char log_path[] = "/tmp/tickwire-handshake-XXXXXX";
    int fd = mkstemp(log_path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    const char *args[] = {"--log-format", "text", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, log_path) == 0, "server did not start");

    /* The RFC's request; a case leaves out one header (drop) and may put
     * a line in its place, or adds a line (drop NULL). */
    static const char *const names[] = {"Host", "Upgrade", "Connection", "Sec-WebSocket-Key",
                                        "Sec-WebSocket-Version", "Sec-WebSocket-Protocol"};
    static const struct {
        const char *name, *line, *drop, *put;
        int status;
        const char *header, *body, *reason; /* reason: the /metrics label counted, NULL none */
    } cases[] = {
        {"POST", "POST / HTTP/1.1", NULL, "Content-Length: 0", 400, NULL, "GET", "method"},
        {"HTTP/1.0", "GET / HTTP/1.0", NULL, NULL, 400, NULL, "HTTP/1.1", "http_version"},
        {"no Host", "GET / HTTP/1.1", "Host", NULL, 400, NULL, "Host", "host"},
        {"no Upgrade", "GET / HTTP/1.1", "Upgrade", NULL, 400, NULL, "Upgrade", "upgrade"},
        /* lws answers this one itself, before any callback; the server takes that answer over. */
        {"Upgrade: foo", "GET / HTTP/1.1", "Upgrade", "Upgrade: foo", 400, NULL, "Upgrade", "upgrade"},
        {"no Connection", "GET / HTTP/1.1", "Connection", NULL, 400, NULL, "Connection", "connection"},
        {"Connection: keep-alive", "GET / HTTP/1.1", "Connection", "Connection: keep-alive", 400, NULL,
         "Connection", "connection"},
        {"Connection: up", "GET / HTTP/1.1", "Connection", "Connection: up", 400, NULL, "Connection", "connection"},
        {"no key", "GET / HTTP/1.1", "Sec-WebSocket-Key", NULL, 400, NULL, "Sec-WebSocket-Key", "key"},
        {"3-byte key", "GET / HTTP/1.1", "Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAA", 400, NULL,
         "Sec-WebSocket-Key", "key"},
        {"17-byte key", "GET / HTTP/1.1", "Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=", 400,
         NULL, "Sec-WebSocket-Key", "key"},
        {"version 8", "GET / HTTP/1.1", "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8", 426,
         "Sec-WebSocket-Version: 13", "13", "ws_version"},
        {"no version", "GET / HTTP/1.1", "Sec-WebSocket-Version", NULL, 426, "Sec-WebSocket-Version: 13", "13",
         "ws_version"},
        {"foreign origin", "GET / HTTP/1.1", NULL, "Origin: http://evil.example.com", 403, NULL, "origin", "origin"},
        {"tickwire.v2 only", "GET / HTTP/1.1", "Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: tickwire.v2", 400,
         NULL, PROTO_SUBPROTOCOL, "subprotocol"},
        {"no subprotocol", "GET / HTTP/1.1", "Sec-WebSocket-Protocol", NULL, 400, NULL, PROTO_SUBPROTOCOL,
         "subprotocol"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[1024], answer[4096], v[128];
        int n = snprintf(req, sizeof req, "%s\r\n", cases[i].line);
        for (size_t h = 0; h < sizeof names / sizeof names[0]; h++) {
            static const char *const values[] = {"127.0.0.1", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==",
                                                 "13", PROTO_SUBPROTOCOL};
            if (cases[i].drop && strcmp(cases[i].drop, names[h]) == 0)
                n += cases[i].put ? snprintf(req + n, sizeof req - (size_t)n, "%s\r\n", cases[i].put) : 0;
            else
                n += snprintf(req + n, sizeof req - (size_t)n, "%s: %s\r\n", names[h], values[h]);
        }
        if (!cases[i].drop && cases[i].put)
            n += snprintf(req + n, sizeof req - (size_t)n, "%s\r\n", cases[i].put);
        snprintf(req + n, sizeof req - (size_t)n, "\r\n");
        int closed, status = raw_request(sp.port, req, answer, sizeof answer, &closed);
        printf("handshake: %-22s -> %.*s\n", cases[i].name, (int)strcspn(answer, "\r\n"), answer);
        CHECK(status == cases[i].status, "%s: got '%.*s', want %d", cases[i].name, (int)strcspn(answer, "\r\n"),
              answer, cases[i].status);
        CHECK(closed, "%s: the server kept the connection open after refusing", cases[i].name);
        const char *body = strstr(answer, "\r\n\r\n");
        if (cases[i].body)
            CHECK(body && strstr(body, cases[i].body), "%s: body does not name %s: %s", cases[i].name,
                  cases[i].body, body ? body + 4 : "(none)");
        if (cases[i].header) {
            char want_name[64];
            snprintf(want_name, sizeof want_name, "%.*s", (int)strcspn(cases[i].header, ":"), cases[i].header);
            const char *got = answer_header(answer, want_name, v, sizeof v);
            CHECK(got && strcmp(got, cases[i].header + strlen(want_name) + 2) == 0, "%s: header %s: got %s",
                  cases[i].name, cases[i].header, got ? got : "(none)");
        }
        if (cases[i].reason) {
            CHECK(strncmp(answer, "HTTP/1.1 ", 9) == 0, "%s: not an HTTP/1.1 status line", cases[i].name);
            CHECK(answer_header(answer, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0,
                  "%s: no Connection: close", cases[i].name);
            CHECK(answer_header(answer, "Content-Length", v, sizeof v) && body && atoi(v) == (int)strlen(body + 4),
                  "%s: Content-Length does not match the body", cases[i].name);
        }
    }

    /* An unknown Upgrade on a keep-alive connection, after a first request
     * (lws checks only a connection's first): the same 400, counted. */
    {
        wsc k;
        char err[128];
        CHECK(wsc_open(&k, "127.0.0.1", sp.port, err, sizeof err) == 0, "keep-alive: %s", err);
        static const char first[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                          second[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n";
        CHECK(wsc_write(&k, first, sizeof first - 1) == 0, "keep-alive: write");
        /* The whole first answer: its header, then Content-Length bytes. */
        double end = check_now_ms() + 3000;
        size_t first_len = 0;
        while (check_now_ms() < end && wsc_fill(&k, 100) >= 0) {
            k.buf[k.len < sizeof k.buf ? k.len : sizeof k.buf - 1] = 0;
            const char *eoh = strstr((char *)k.buf, "\r\n\r\n"), *cl = strstr((char *)k.buf, "content-length:");
            if (eoh && cl && cl < eoh) {
                size_t want = (size_t)(eoh + 4 - (char *)k.buf) + (size_t)atol(cl + 15);
                if (k.len >= want) {
                    first_len = want;
                    break;
                }
            }
        }
        CHECK(wsc_write(&k, second, sizeof second - 1) == 0, "keep-alive: write");
        while (check_now_ms() < end && wsc_fill(&k, 100) >= 0) {
        }
        char *answer = (char *)k.buf + first_len;
        k.buf[k.len < sizeof k.buf ? k.len : sizeof k.buf - 1] = 0;
        printf("handshake: %-22s -> %.*s\n", "Upgrade: foo, 2nd req.", (int)strcspn(answer, "\r\n"), answer);
        CHECK(first_len > 0 && strncmp(answer, "HTTP/1.1 400 ", 13) == 0 && strstr(answer, "Upgrade"),
              "keep-alive Upgrade: foo: got '%.*s'", (int)strcspn(answer, "\r\n"), answer);
        wsc_close(&k);
    }

    /* Correct requests: a random key, and lists as browsers send them. The
     * path is not looked at (PROTOCOL.md section 1): any request-target
     * upgrades, even one the HTTP side serves as a page or /metrics. */
    static const struct {
        const char *path, *connection, *protocols;
    } good[] = {{"/", "Upgrade", PROTO_SUBPROTOCOL},
                {"/", "keep-alive, Upgrade", "tickwire.v2, " PROTO_SUBPROTOCOL},
                {"/play?room=1", "Upgrade", PROTO_SUBPROTOCOL},
                {"/metrics", "Upgrade", PROTO_SUBPROTOCOL}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        unsigned char raw[16];
        char key[32], want[64], req[512], answer[4096], v[128];
        size_t olen;
        CHECK(getrandom(raw, sizeof raw, 0) == (ssize_t)sizeof raw, "getrandom");
        CHECK(mbedtls_base64_encode((unsigned char *)key, sizeof key, &olen, raw, sizeof raw) == 0, "base64");
        ws_accept(key, want, sizeof want);
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: %s\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n"
                 "Origin: http://localhost:%d\r\n\r\n",
                 good[i].path, sp.port, good[i].connection, key, good[i].protocols, sp.port);
        int closed, status = raw_request(sp.port, req, answer, sizeof answer, &closed);
        printf("handshake: correct (%s %s) -> %.*s\n", good[i].path, good[i].protocols, (int)strcspn(answer, "\r\n"),
               answer);
        CHECK(status == 101, "correct request: got '%.*s'", (int)strcspn(answer, "\r\n"), answer);
        CHECK(answer_header(answer, "Upgrade", v, sizeof v) && strcasecmp(v, "websocket") == 0, "Upgrade: %s", v);
        CHECK(answer_header(answer, "Connection", v, sizeof v) && strcasecmp(v, "Upgrade") == 0, "Connection: %s",
              v);
        CHECK(answer_header(answer, "Sec-WebSocket-Accept", v, sizeof v) && strcmp(v, want) == 0,
              "Sec-WebSocket-Accept for %s: got %s, want %s", key, v, want);
        CHECK(answer_header(answer, "Sec-WebSocket-Protocol", v, sizeof v) && strcmp(v, PROTO_SUBPROTOCOL) == 0,
              "Sec-WebSocket-Protocol: %s", v);
    }

    /* Each refusal counted by reason, and logged with what was wrong. */
    static char text[65536];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].reason || (i > 0 && cases[i - 1].reason && strcmp(cases[i - 1].reason, cases[i].reason) == 0))
            continue;
        int want = strcmp(cases[i].reason, "upgrade") == 0; /* the keep-alive one */
        for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++)
            want += cases[j].reason && strcmp(cases[j].reason, cases[i].reason) == 0;
        char series[128];
        snprintf(series, sizeof series, "tickwire_connections_refused_total{reason=\"%s\"}", cases[i].reason);
        CHECK(metric_value(text, series) == want, "%s = %g, want %d", series, metric_value(text, series), want);
    }
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    FILE *f = fopen(log_path, "r");
    CHECK(f, "log file");
    char line[1024];
    int refuse = 0, v2 = 0;
    while (fgets(line, sizeof line, f)) {
        refuse += strstr(line, " refuse ") != NULL;
        v2 += strstr(line, "reason=subprotocol value=\"tickwire.v2\"") != NULL;
    }
    fclose(f);
    unlink(log_path);
    CHECK(refuse == (int)(sizeof cases / sizeof cases[0]) + 1, "%d refuse lines", refuse);
    CHECK(v2 == 1, "no refuse line names the tickwire.v2 offer");
    printf("handshake: %d refusals logged and counted by reason; 101 with the right accept key\n", refuse);
}

/* SIGTERM: every client gets close 1001 and the process exits 0 in < 2 s. */
static void case_shutdown(const char *server)
{
    spawn_proc sp;
    CHECK(server_start(&sp, server, NULL, NULL) == 0, "server did not start");
    player p[3];
    for (int i = 0; i < 3; i++) {
        CHECK(player_join(&p[i], sp.port, "s") == 0, "join");
        CHECK(player_wait_snapshots(&p[i], 5, 3000) == 0, "snapshots");
    }
    double took;
    kill(sp.pid, SIGTERM);
    for (int i = 0; i < 3; i++) {
        double end = check_now_ms() + 3000;
        while (player_step(&p[i], 200) >= 0 && check_now_ms() < end) {
        }
        CHECK(p[i].closed == WS_CLOSE && p[i].ws.close_code == 1001, "client %d: closed %d code %u", i,
              p[i].closed, p[i].ws.close_code);
    }
    int status = spawn_stop(&sp, 0, &took);
    for (int i = 0; i < 3; i++)
        wsc_close(&p[i].ws);
    CHECK(status == 0, "exit status %d", status);
    CHECK(took < 2000, "exit took %.0f ms", took);
    printf("shutdown: 3 clients got 1001, exit 0 after %.0f ms\n", took);
}

/* Bad flags: exit 2, the problem and the usage on stderr. */
static void case_cli(const char *server)
{
    static const char *const bad[][3] = {
        {"--bogus", NULL, NULL}, {"--port", "70000", NULL}, {"--tick-rate", "abc", NULL},
        {"--snapshot-rate", "7", NULL}, {"--npcs", "64", NULL}, {"--log-level", "loud", NULL},
        {"--port", NULL, NULL}, {"--metrics-allow", "10.0.0.0/33", NULL}, {"--metrics-allow", "example.com", NULL},
        {"--replay-keep", "3", NULL}, {"--replay-keep", "-1", NULL}, {"--replay-dir", "", NULL},
        {"--aoi-radius", "-1", NULL}, {"--aoi-radius", "8193", NULL}, {"--aoi-radius", "far", NULL},
        {"--spectator-rate", "7", NULL}, {"--spectator-rate", "120", NULL}, {"--spectator-delay", "121", NULL},
        {"--max-spectators", "0", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "'%s' %s %s 2>&1 >/dev/null", server, bad[i][0], bad[i][1] ? bad[i][1] : "");
        FILE *f = popen(cmd, "r");
        char out[4096] = "";
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        int status = pclose(f);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s: exit %d", bad[i][0], WEXITSTATUS(status));
        CHECK(strstr(out, "usage:") != NULL, "%s: no usage in: %s", bad[i][0], out);
        CHECK(strstr(out, bad[i][0]) != NULL, "%s: error does not name the flag: %s", bad[i][0], out);
        printf("cli: %s %s -> %.*s\n", bad[i][0], bad[i][1] ? bad[i][1] : "", (int)strcspn(out, "\n"), out);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' --help", server);
    FILE *f = popen(cmd, "r");
    char out[4096] = "";
    out[fread(out, 1, sizeof out - 1, f)] = '\0';
    int status = pclose(f);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, "--match-size"), "--help");
}

/* Start-up failures exit 1 at once with the cause in the log format, and
 * never claim to be serving: a port in use, an address this machine does
 * not have (a documentation-range address: nothing is sent anywhere), a
 * host name that does not resolve, a directory given as the map or the
 * certificate. A web root without index.html starts, with a warning. */
static void case_startup(const char *server)
{
    int busy = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(busy, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    CHECK(bind(busy, (struct sockaddr *)&a, sizeof a) == 0 && listen(busy, 1) == 0, "bind a busy port");
    socklen_t al = sizeof a;
    getsockname(busy, (struct sockaddr *)&a, &al);
    char busy_port[16];
    snprintf(busy_port, sizeof busy_port, "%d", ntohs(a.sin_port));
    static const struct {
        const char *args, *want;
    } bad[] = {
        {"--port %s", "Address already in use"},
        {"--host 192.0.2.7 --port 0", "Cannot assign requested address"},
        {"--host notahost.invalid --port 0", "--host notahost.invalid"},
        {"--map /tmp --port 0", "Is a directory"},
        {"--tls-cert /tmp --tls-key /tmp --port 0", "Is a directory"},
        {"--results-db /nonexistent-dir/rounds.db --port 0", "unable to open database file"},
        {"--replay-dir /nonexistent-dir/replays --port 0", "--replay-dir /nonexistent-dir/replays: cannot create it"},
        {"--replay-dir /proc/version --port 0", "not a folder"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[128], cmd[512];
        snprintf(args, sizeof args, bad[i].args, busy_port);
        snprintf(cmd, sizeof cmd, "timeout 10 '%s' %s --log-format text 2>&1", server, args);
        double t0 = check_now_ms();
        FILE *f = popen(cmd, "r");
        char out[4096] = "";
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        int status = pclose(f);
        double took = check_now_ms() - t0;
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: exit %d, want 1: %s", args, WEXITSTATUS(status), out);
        CHECK(strstr(out, "start_failed") && strstr(out, bad[i].want), "%s: no '%s' in: %s", args, bad[i].want, out);
        CHECK(!strstr(out, "serving"), "%s: claims to be serving: %s", args, out);
        CHECK(took < 5000, "%s: took %.0f ms to fail", args, took);
        printf("startup: %-40s -> exit 1 in %4.0f ms: %.*s\n", args, took, (int)strcspn(out, "\n"), out);
    }
    close(busy);

    /* A port below 1024 without the right to bind it: as an unprivileged
     * user (the tests usually run as root: drop to nobody with setpriv). */
    {
        char cmd[512], out[4096] = "";
        if (geteuid() == 0)
            snprintf(cmd, sizeof cmd,
                     "timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups '%s' --port 1023 "
                     "--results-db :memory: --log-format text 2>&1", server);
        else
            snprintf(cmd, sizeof cmd, "timeout 10 '%s' --port 1023 --results-db :memory: --log-format text 2>&1", server);
        FILE *f = popen(cmd, "r");
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        int status = pclose(f);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "--port 1023 unprivileged: exit %d: %s", WEXITSTATUS(status), out);
        CHECK(strstr(out, "start_failed") && strstr(out, "Permission denied"), "--port 1023: %s", out);
        CHECK(!strstr(out, "serving"), "--port 1023: claims to be serving: %s", out);
        const char *line = strstr(out, "start_failed");
        printf("startup: %-40s -> exit 1: %.*s\n", "--port 1023 (as nobody)", (int)strcspn(line, "\n"), line);
    }

    char dir[] = "/tmp/tickwire-empty-root-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    const char *args[] = {"--web-root", dir, NULL};
    char log_path[] = "/tmp/tickwire-startup-log-XXXXXX";
    int fd = mkstemp(log_path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, log_path) == 0, "server with an empty web root did not start");
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    FILE *f = fopen(log_path, "r");
    char text[8192] = "";
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = '\0';
        fclose(f);
    }
    CHECK(strstr(text, "\"event\":\"web_root\"") && strstr(text, "no index.html"), "no web_root warning in: %s", text);
    printf("startup: --web-root without index.html -> starts, warns: no index.html\n");
    unlink(log_path);
    rmdir(dir);
}

/* --results-db FILE: the server makes a SQLite file, GET /api/matches
 * answers {"matches":[]} (rounds come from the match code), a bad limit is
 * a 400 with a JSON error, /metrics has the tickwire_results_* series, and
 * SIGTERM closes the database cleanly (no -wal file left). */
/* Joins with a token for `label`; returns the match id from WELCOME, -1
 * on failure. The connection stays open in *c. */
static int join_label(wsc *c, int port, const char *secret, const char *name, const char *label)
{
    char err[128], tok[PROTO_MAX_TOKEN + 1];
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    size_t n;
    mint_for(secret, name, label, 60, tok, sizeof tok);
    if (wsc_connect(c, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) < 0)
        return -1;
    n = proto_join_write(tok, NULL, buf, sizeof buf);
    wsc_send(c, WS_BINARY, buf, n);
    proto_welcome w;
    if (wsc_recv(c, buf, sizeof buf, &n, 3000) != WS_BINARY || proto_welcome_read(buf, n, &w) != PROTO_OK)
        return -1;
    return w.match_id;
}

/* Rooms a host can target: a token naming a label creates or joins that
 * private match; GET /api/matches/live lists every running match with its
 * label, players, capacity, round state and time left. */
static void case_live(const char *server)
{
    char secret_path[] = "/tmp/tickwire-live-secret-XXXXXX";
    int fd = mkstemp(secret_path);
    const char *secret = "live matches test secret, 32 bytes";
    CHECK(fd >= 0 && write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret), "secret");
    close(fd);
    const char *args[] = {"--token-secret-file", secret_path, "--match-size", "4", "--results-db", ":memory:",
                          "--min-players", "2", "--match-time", "120", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static char text[65536];
    CHECK(http_get(sp.port, "/api/matches/live", text, sizeof text) == 200, "GET /api/matches/live");
    CHECK(strcmp(text, "{\"matches\":[]}") == 0, "no match yet: %s", text);
    static wsc c[5];
    int ma = join_label(&c[0], sp.port, secret, "ann", "clan-red");
    int mb = join_label(&c[1], sp.port, secret, "bob", "clan-red");
    int mc = join_label(&c[2], sp.port, secret, "cy", "");
    int md = join_label(&c[3], sp.port, secret, "dee", "clan-blue");
    CHECK(ma >= 0 && mb == ma, "same label, same match: %d %d", ma, mb);
    CHECK(mc >= 0 && mc != ma && md >= 0 && md != ma && md != mc, "labels kept apart: %d %d %d", ma, mc, md);
    usleep(200000); /* a few ticks: the labelled match with two players goes live */
    CHECK(http_get(sp.port, "/api/matches/live", text, sizeof text) == 200, "GET /api/matches/live");
    char want[256];
    snprintf(want, sizeof want,
             "{\"id\":%d,\"label\":\"clan-red\",\"players\":2,\"humans\":2,\"npcs\":0,\"capacity\":4,"
             "\"spectators\":0,\"phase\":\"live\",\"round\":1,\"seconds_left\":", ma);
    CHECK(strstr(text, want) != NULL, "clan-red not listed live: %s", text);
    const char *left = strstr(text, want) + strlen(want);
    CHECK(atof(left) > 100.0 && atof(left) <= 120.0, "seconds left %.1f", atof(left));
    snprintf(want, sizeof want, "{\"id\":%d,\"label\":\"clan-blue\",\"players\":1,", md);
    CHECK(strstr(text, want) != NULL, "clan-blue not listed: %s", text);
    CHECK(strstr(text, "\"label\":\"clan-blue\",\"players\":1,\"humans\":1,\"npcs\":0,\"capacity\":4,"
                       "\"spectators\":0,\"phase\":\"warmup\"") != NULL, "one player waits in warmup: %s", text);
    CHECK(strstr(text, "\"label\":\"\",") != NULL, "the public match is listed: %s", text);
    printf("live: clan-red (2, live, %.0f s left), clan-blue (1, warmup), public (1); %zu bytes\n", atof(left),
           strlen(text));
    for (int i = 0; i < 4; i++)
        wsc_close(&c[i]);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    unlink(secret_path);
}

static void case_results(const char *server)
{
    char dir[] = "/tmp/tickwire-results-XXXXXX", path[96], wal[112];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/rounds.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    const char *args[] = {"--results-db", path, NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static char text[65536];
    static const char *const good[] = {"/api/matches", "/api/matches?limit=1", "/api/matches?limit=100"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK(http_get(sp.port, good[i], text, sizeof text) == 200, "GET %s", good[i]);
        CHECK(strcmp(text, "{\"matches\":[]}") == 0, "GET %s: %s", good[i], text);
    }
    static const char *const bad[] = {"0", "101", "abc", "", "5x", "-1", "1e2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char url[64];
        snprintf(url, sizeof url, "/api/matches?limit=%s", bad[i]);
        CHECK(http_get(sp.port, url, text, sizeof text) == 400, "GET %s: not 400", url);
        CHECK(strstr(text, "{\"error\":") == text, "GET %s: %s", url, text);
    }
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "GET /metrics");
    static const char *const zero[] = {"tickwire_results_written_total", "tickwire_results_write_errors_total",
                                       "tickwire_results_queued", "tickwire_results_lost_total"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        CHECK(metric_value(text, zero[i]) == 0, "%s: %g", zero[i], metric_value(text, zero[i]));
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    char head[16] = "";
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "no %s", path);
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    CHECK(n == 16 && memcmp(head, "SQLite format 3", 16) == 0, "%s is not a SQLite database", path);
    CHECK(access(wal, F_OK) != 0, "%s left behind: the database was not closed", wal);
    printf("results: %s made; /api/matches -> {\"matches\":[]}, %zu bad limits -> 400; metrics at 0; closed\n",
           path, sizeof bad / sizeof bad[0]);
    unlink(path);

    /* A live round when SIGTERM comes: ended as interrupted and in the
     * database after the exit, with every player's score. */
    const char *args2[] = {"--results-db", path, "--min-players", "1", "--npcs", "2", NULL};
    CHECK(server_start(&sp, server, args2, NULL) == 0, "server did not start");
    static player p;
    CHECK(player_join(&p, sp.port, "ranger") == 0, "join");
    CHECK(player_wait_snapshots(&p, 30, 5000) == 0, "no snapshots");
    const proto_snapshot *latest = cl_latest(&p.cl);
    CHECK(latest->ms.phase == PROTO_PHASE_LIVE && latest->ms.round == 1, "round not live: phase %d round %d",
          latest->ms.phase, latest->ms.round);
    CHECK(latest->ms.end_tick > latest->tick, "no time left in the round");
    int saw_start = 0, saw_join = 0;
    proto_event ev;
    while (cl_next_event(&p.cl, &ev)) {
        saw_start |= ev.type == PROTO_EV_ROUND_START && ev.round == 1;
        saw_join |= ev.type == PROTO_EV_JOIN && strcmp(ev.text, "ranger") == 0;
    }
    CHECK(saw_start && saw_join, "events: round start %d, own join %d", saw_start, saw_join);
    CHECK(http_get(sp.port, "/api/matches", text, sizeof text) == 200 && strcmp(text, "{\"matches\":[]}") == 0,
          "a live round is listed: %s", text);
    CHECK(spawn_stop(&sp, 5000, NULL) == 0, "server exit status after SIGTERM");
    wsc_close(&p.ws);
    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT r.round, r.end_reason, r.end_ms - r.start_ms, count(p.slot), "
                             "sum(p.name = 'ranger'), sum(p.npc) FROM rounds r JOIN round_players p ON p.round_id = r.id "
                             "GROUP BY r.id",
                             -1, &st, NULL) == SQLITE_OK,
          "query: %s", sqlite3_errmsg(db));
    CHECK(sqlite3_step(st) == SQLITE_ROW, "no round in the database after SIGTERM");
    int round = sqlite3_column_int(st, 0);
    char reason[32];
    snprintf(reason, sizeof reason, "%s", (const char *)sqlite3_column_text(st, 1));
    long long ms = sqlite3_column_int64(st, 2);
    int players = sqlite3_column_int(st, 3), ranger = sqlite3_column_int(st, 4), npcs = sqlite3_column_int(st, 5);
    CHECK(sqlite3_step(st) == SQLITE_DONE, "more than one round");
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK(round == 1 && strcmp(reason, "interrupted") == 0, "round %d ended '%s'", round, reason);
    CHECK(players == 3 && ranger == 1 && npcs == 2, "players %d (ranger %d, npcs %d)", players, ranger, npcs);
    CHECK(ms >= 300 && ms < 60000, "round lasted %lld ms", ms);
    printf("results: SIGTERM during round 1 -> in the database: interrupted, %d players, %lld ms\n", players, ms);
    unlink(path);
    rmdir(dir);
}

/* GET /metrics with an optional Authorization value over a fresh
 * connection; returns the status, the whole answer (headers too) in out. */
static int metrics_raw(int port, const char *auth, const char *path, char *out, size_t cap)
{
    static wsc c;
    char err[128], req[512];
    if (wsc_open(&c, "127.0.0.1", port, err, sizeof err) < 0) {
        wsc_close(&c);
        return -1;
    }
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: close\r\n\r\n", path,
                     auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    if (wsc_write(&c, req, (size_t)n) < 0) {
        wsc_close(&c);
        return -1;
    }
    while (wsc_fill(&c, 3000) > 0) {
    }
    size_t len = c.len < cap - 1 ? c.len : cap - 1;
    memcpy(out, c.buf, len);
    out[len] = '\0';
    wsc_close(&c);
    int status = 0;
    sscanf(out, "HTTP/1.1 %d", &status);
    return status;
}

/* /metrics kept private: --metrics-token-file wants "Authorization: Bearer
 * TOKEN" (401 with WWW-Authenticate otherwise), --metrics-allow the
 * peer's network (403 otherwise). A full server still answers a scrape
 * from an allowed address (the reserve), and only a scrape: anything else
 * on a reserve connection is the cap's 503. Without either flag, a server
 * on a non-loopback host warns once at start-up. */
static void case_metrics_private(const char *server)
{
    char token_path[] = "/tmp/tickwire-metrics-token-XXXXXX";
    int fd = mkstemp(token_path);
    const char *token = "s3cret-scrape-token-0123456789";
    CHECK(fd >= 0 && write(fd, token, strlen(token)) == (ssize_t)strlen(token) && write(fd, "\n", 1) == 1,
          "token file");
    close(fd);
    const char *args[] = {"--metrics-token-file", token_path, "--metrics-allow", "127.0.0.0/8", "--max-conns", "2",
                          NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static char out[65536];
    char bearer[128];
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    int st = metrics_raw(sp.port, NULL, "/metrics", out, sizeof out);
    CHECK(st == 401 && strstr(out, "www-authenticate: Bearer realm="), "no token: %d: %s", st, out);
    st = metrics_raw(sp.port, "Bearer not-the-token-at-all-000000", "/metrics", out, sizeof out);
    CHECK(st == 401, "wrong token: %d", st);
    st = metrics_raw(sp.port, "Basic czNjcmV0", "/metrics", out, sizeof out);
    CHECK(st == 401, "basic auth: %d", st);
    st = metrics_raw(sp.port, bearer, "/metrics", out, sizeof out);
    CHECK(st == 200 && strstr(out, "tickwire_ticks_total"), "right token: %d", st);
    printf("metrics_private: no token -> 401 + WWW-Authenticate, wrong -> 401, Bearer TOKEN -> 200\n");

    /* Fill the server: two game connections under --max-conns 2. */
    wsc g[2];
    char err[128] = "";
    CHECK(wsc_connect_retry(&g[0], sp.port, err, sizeof err) == 0, "1st: %s", err);
    CHECK(wsc_connect_retry(&g[1], sp.port, err, sizeof err) == 0, "2nd: %s", err);
    st = metrics_raw(sp.port, bearer, "/metrics", out, sizeof out);
    CHECK(st == 200, "scrape of a full server: %d", st);
    double tcp = metric_value(strstr(out, "\r\n\r\n"), "tickwire_tcp_connections");
    CHECK(tcp == 3, "tcp_connections %g, want 3 (2 game + this scrape)", tcp);
    st = metrics_raw(sp.port, bearer, "/", out, sizeof out);
    CHECK(st == 503, "GET / on a reserve connection: %d", st);
    wsc c;
    int rc = wsc_connect(&c, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err);
    wsc_close(&c);
    CHECK(rc < 0 && strstr(err, " 503 "), "a 3rd game connection: %s", rc ? err : "upgraded");
    printf("metrics_private: full server (--max-conns 2) -> scrape 200, GET / 503, game connection %s\n", err);
    wsc_close(&g[1]);
    wsc_close(&g[0]);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");

    const char *args2[] = {"--metrics-allow", "10.0.0.0/8", NULL};
    CHECK(server_start(&sp, server, args2, NULL) == 0, "server did not start");
    st = metrics_raw(sp.port, NULL, "/metrics", out, sizeof out);
    CHECK(st == 403, "from 127.0.0.1 with --metrics-allow 10.0.0.0/8: %d", st);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    printf("metrics_private: --metrics-allow 10.0.0.0/8, scrape from 127.0.0.1 -> 403\n");
    unlink(token_path);

    char log_path[] = "/tmp/tickwire-metrics-warn-XXXXXX";
    fd = mkstemp(log_path);
    close(fd);
    const char *args3[] = {"--host", "0.0.0.0", NULL};
    CHECK(server_start(&sp, server, args3, log_path) == 0, "server on 0.0.0.0 did not start");
    CHECK(!strstr(sp.url, "0.0.0.0"), "--host 0.0.0.0 printed %s, not a reachable address", sp.url);
    printf("metrics_private: --host 0.0.0.0 -> serving %s\n", sp.url);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    FILE *f = fopen(log_path, "r");
    char text[8192] = "";
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = '\0';
        fclose(f);
    }
    unlink(log_path);
    const char *w = strstr(text, "\"event\":\"metrics_open\"");
    CHECK(w && !strstr(w + 1, "\"event\":\"metrics_open\""), "one metrics_open warning on 0.0.0.0: %s", text);
    printf("metrics_private: --host 0.0.0.0 without either flag -> one metrics_open warning\n");

    /* A token file too short, or with a space, stops the start naming the flag. */
    static const char *const tokens[] = {"short\n", "a token with spaces in it\n"};
    for (size_t i = 0; i < 2; i++) {
        char bad_path[] = "/tmp/tickwire-bad-token-XXXXXX", cmd[512], o[4096] = "";
        fd = mkstemp(bad_path);
        CHECK(fd >= 0 && write(fd, tokens[i], strlen(tokens[i])) == (ssize_t)strlen(tokens[i]), "token file");
        close(fd);
        snprintf(cmd, sizeof cmd, "timeout 10 '%s' --port 0 --results-db :memory: --log-format text "
                 "--metrics-token-file %s 2>&1", server, bad_path);
        f = popen(cmd, "r");
        o[fread(o, 1, sizeof o - 1, f)] = '\0';
        int status = pclose(f);
        unlink(bad_path);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(o, "start_failed") &&
                  strstr(o, "--metrics-token-file: ") && !strstr(o, "serving"),
              "bad token file: exit %d: %s", WEXITSTATUS(status), o);
    }
    printf("metrics_private: a short token, a token with spaces -> exit 1 naming --metrics-token-file\n");
}

/* TLS with a chain as public CAs issue it (make_chain.sh made the files in
 * g_chain_dir): given fullchain.pem, the server sends the intermediate, so
 * a client that trusts only the root verifies the handshake (this test's
 * mbedTLS client, and openssl s_client when it is there); given the leaf
 * alone, the same client cannot. Files in the wrong shape stop the start
 * with a message naming the problem. */
static const char *g_chain_dir;

static void chain_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_chain_dir, name);
}

static void case_tls_chain(const char *server)
{
    char full[512], leaf[512], key[512], root[512];
    chain_path(full, sizeof full, "fullchain.pem");
    chain_path(leaf, sizeof leaf, "leaf.pem");
    chain_path(key, sizeof key, "leaf.key");
    chain_path(root, sizeof root, "root.pem");
    wsc_use_tls(root);
    spawn_proc sp;
    static char text[65536];
    char err[160] = "";

    g_tls_cert = full;
    g_tls_key = key;
    CHECK(server_start(&sp, server, NULL, NULL) == 0, "server with fullchain.pem did not start");
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "GET /metrics over TLS trusting only the root");
    player p;
    CHECK(player_join(&p, sp.port, "chained") == 0, "wss join trusting only the root");
    CHECK(player_wait_snapshots(&p, 5, 3000) == 0, "no snapshots over wss");
    wsc_close(&p.ws);
    printf("tls_chain: fullchain.pem, client trusts only the root -> handshake verified, played\n");
    char cmd[1400], out[8192] = "";
    if (system("command -v openssl >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd,
                 "timeout 10 openssl s_client -connect 127.0.0.1:%d -servername localhost -CAfile '%s' "
                 "-verify_return_error </dev/null 2>&1", sp.port, root);
        FILE *f = popen(cmd, "r");
        out[fread(out, 1, sizeof out - 1, f)] = '\0';
        pclose(f);
        CHECK(strstr(out, "Verify return code: 0 (ok)") && strstr(out, " 1 s:CN = tickwire test intermediate"),
              "openssl s_client: %s", out);
        printf("tls_chain: openssl s_client -CAfile root.pem -verify_return_error -> Verify return code: 0 (ok), "
               "chain of 2\n");
    }
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");

    g_tls_cert = leaf;
    CHECK(server_start(&sp, server, NULL, NULL) == 0, "server with the leaf alone did not start");
    wsc c;
    int rc = wsc_open(&c, "127.0.0.1", sp.port, err, sizeof err);
    wsc_close(&c);
    CHECK(rc < 0 && strncmp(err, "tls: ", 5) == 0, "leaf alone, client trusts only the root: %s",
          rc ? err : "verified");
    printf("tls_chain: leaf alone, client trusts only the root -> %s\n", err);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    g_tls_cert = g_tls_key = NULL;

    char garbage[] = "/tmp/tickwire-garbage-XXXXXX";
    int fd = mkstemp(garbage);
    CHECK(fd >= 0 && write(fd, "hello\n", 6) == 6, "garbage file");
    close(fd);
    static const struct {
        const char *cert, *key, *want;
    } bad[] = {
        {"wrongorder.pem", "leaf.key", "did not issue certificate 1"},
        {"withkey.pem", "leaf.key", "block 2 is a PRIVATE KEY, not a CERTIFICATE"},
        {"fullchain.pem", "root.key", "does not match the first certificate"},
        {"fullchain.pem", "fullchain.pem", "holds a certificate, not a private key"},
        {NULL, "leaf.key", "not a PEM file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cert_p[512], key_p[512];
        if (bad[i].cert)
            chain_path(cert_p, sizeof cert_p, bad[i].cert);
        else
            snprintf(cert_p, sizeof cert_p, "%s", garbage);
        chain_path(key_p, sizeof key_p, bad[i].key);
        snprintf(cmd, sizeof cmd, "timeout 10 '%s' --port 0 --results-db :memory: --log-format text "
                 "--tls-cert '%s' --tls-key '%s' 2>&1", server, cert_p, key_p);
        FILE *f = popen(cmd, "r");
        out[fread(out, 1, sizeof out - 1, f)] = '\0';
        int status = pclose(f);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s + %s: exit %d: %s", cert_p, key_p,
              WEXITSTATUS(status), out);
        CHECK(strstr(out, "start_failed") && strstr(out, bad[i].want) && !strstr(out, "serving"),
              "%s + %s: no '%s' in: %s", cert_p, key_p, bad[i].want, out);
        const char *line = strstr(out, "start_failed");
        printf("tls_chain: --tls-cert %s --tls-key %s -> %.*s\n", bad[i].cert ? bad[i].cert : "garbage", bad[i].key,
               (int)strcspn(line, "\n"), line);
    }
    unlink(garbage);
}

/* An HTTP request with an optional Authorization value and an empty body
 * over a fresh connection; returns the status, the whole answer in out. */
static int http_auth_request(int port, const char *method, const char *path, const char *auth, char *out, size_t cap)
{
    static wsc c;
    char err[128], req[512];
    if (wsc_open(&c, "127.0.0.1", port, err, sizeof err) < 0) {
        wsc_close(&c);
        return -1;
    }
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Length: 0\r\nConnection: close\r\n\r\n",
                     method, path, auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    if (wsc_write(&c, req, (size_t)n) < 0) {
        wsc_close(&c);
        return -1;
    }
    while (wsc_fill(&c, 3000) > 0) {
    }
    size_t len = c.len < cap - 1 ? c.len : cap - 1;
    memcpy(out, c.buf, len);
    out[len] = '\0';
    wsc_close(&c);
    int status = 0;
    sscanf(out, "HTTP/1.1 %d", &status);
    return status;
}

/* The one round in the results database: its end reason; -1 when there
 * is not exactly one. */
static int only_round_reason(const char *path, char *reason, size_t cap)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT end_reason FROM rounds", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(reason, cap, "%s", (const char *)sqlite3_column_text(st, 0));
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

/* Graceful drain. SIGTERM during a LIVE round (--drain-timeout 30): at
 * once /readyz says 503 "draining" (/healthz still 200), a new JOIN is
 * closed 1001 "server draining", the player in the round keeps playing
 * to the round's end (by time, stored as such), is closed 1001 after the
 * final scoreboard, and the process exits 0. Then POST /admin/drain:
 * 401 without the --admin-token-file token, 202 with it; with
 * --drain-timeout 2 the 10 s round is cut at 2 s, stored as interrupted,
 * exit 0. */
static void case_drain(const char *server)
{
    char dir[] = "/tmp/tickwire-drain-XXXXXX", db[96], tok[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(db, sizeof db, "%s/rounds.db", dir);
    snprintf(tok, sizeof tok, "%s/admin.token", dir);
    FILE *tf = fopen(tok, "w");
    CHECK(tf != NULL, "token file");
    fputs("admin-token-0123456789abcdef\n", tf);
    fclose(tf);
    const char *args[] = {"--results-db", db, "--min-players", "1", "--npcs", "2", "--match-time", "10",
                          "--drain-timeout", "30", "--admin-token-file", tok, NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static char text[65536];
    CHECK(http_get(sp.port, "/healthz", text, sizeof text) == 200 && strstr(text, "\"draining\":false"),
          "healthz before: %s", text);
    CHECK(http_get(sp.port, "/readyz", text, sizeof text) == 200 && strstr(text, "\"ready\":true"), "readyz: %s",
          text);
    static player p;
    CHECK(player_join(&p, sp.port, "stayer") == 0, "join");
    CHECK(player_wait_snapshots(&p, 30, 5000) == 0, "no snapshots");
    const proto_snapshot *latest = cl_latest(&p.cl);
    CHECK(latest->ms.phase == PROTO_PHASE_LIVE, "round not live: phase %d", latest->ms.phase);
    double left_s = (double)(latest->ms.end_tick - latest->tick) / 60.0;

    double t0 = check_now_ms();
    CHECK(kill(sp.pid, SIGTERM) == 0, "kill");
    int st = 0;
    while (check_now_ms() < t0 + 2000 && (st = http_get(sp.port, "/readyz", text, sizeof text)) != 503)
        player_step(&p, 20);
    CHECK(st == 503 && strstr(text, "\"reason\":\"draining\""), "readyz while draining: %d %s", st, text);
    CHECK(http_get(sp.port, "/healthz", text, sizeof text) == 200 && strstr(text, "\"draining\":true"),
          "healthz while draining: %s", text);
    CHECK(metrics_get(sp.port, text, sizeof text) == 200 && metric_value(text, "tickwire_draining") == 1 &&
              metric_value(text, "tickwire_ready") == 0,
          "draining gauges");
    static player late;
    CHECK(player_join(&late, sp.port, "late") == 0, "late join sent");
    while (player_step(&late, 2000) >= 0) {
    }
    CHECK(late.closed == WS_CLOSE && late.ws.close_code == 1001 && strcmp(late.ws.close_reason, "server draining") == 0,
          "a JOIN while draining: closed %d, code %u '%s'", late.closed, late.ws.close_code, late.ws.close_reason);
    wsc_close(&late.ws);

    /* The player plays the round out. */
    int saw_ended = 0;
    uint32_t snaps_during = p.snapshots;
    while (player_step(&p, 3000) >= 0)
        saw_ended |= cl_latest(&p.cl)->ms.phase == PROTO_PHASE_ENDED;
    double closed_s = (check_now_ms() - t0) / 1000.0;
    snaps_during = p.snapshots - snaps_during;
    printf("drain: SIGTERM with %.1f s left in the round: readyz 503 at once, late JOIN -> 1001; the player got %u "
           "more snapshots, saw the end: %d, closed %u '%s' after %.1f s\n",
           left_s, snaps_during, saw_ended, p.ws.close_code, p.ws.close_reason, closed_s);
    CHECK(saw_ended, "the player never saw the round end");
    CHECK(p.ws.close_code == 1001 && strcmp(p.ws.close_reason, "server draining") == 0, "player closed %u '%s'",
          p.ws.close_code, p.ws.close_reason);
    CHECK(closed_s > left_s + 1.0 && closed_s < left_s + 5.0, "closed after %.1f s, the round had %.1f s left",
          closed_s, left_s);
    wsc_close(&p.ws);
    int code = spawn_wait(&sp, 10000);
    CHECK(code == 0, "exit status %d after the drain", code);
    char reason[32] = "";
    CHECK(only_round_reason(db, reason, sizeof reason) == 0 && strcmp(reason, "time") == 0,
          "the drained round is stored as '%s', want 'time'", reason);
    unlink(db);

    /* POST /admin/drain, and a drain cut by its timeout. */
    const char *args2[] = {"--results-db", db, "--min-players", "1", "--npcs", "2", "--match-time", "10",
                           "--drain-timeout", "2", "--admin-token-file", tok, NULL};
    CHECK(server_start(&sp, server, args2, NULL) == 0, "server did not start");
    CHECK(player_join(&p, sp.port, "cut") == 0, "join");
    CHECK(player_wait_snapshots(&p, 30, 5000) == 0, "no snapshots");
    CHECK(http_auth_request(sp.port, "POST", "/admin/drain", NULL, text, sizeof text) == 401, "no token: %.40s", text);
    CHECK(http_auth_request(sp.port, "POST", "/admin/drain", "Bearer wrong-token-0123456789", text, sizeof text) ==
              401,
          "wrong token: %.40s", text);
    CHECK(http_get(sp.port, "/readyz", text, sizeof text) == 200, "a refused drain request drained");
    t0 = check_now_ms();
    CHECK(http_auth_request(sp.port, "POST", "/admin/drain", "Bearer admin-token-0123456789abcdef", text,
                            sizeof text) == 202,
          "admin drain: %.60s", text);
    while (player_step(&p, 3000) >= 0) {
    }
    code = spawn_wait(&sp, 10000);
    double exit_s = (check_now_ms() - t0) / 1000.0;
    wsc_close(&p.ws);
    printf("drain: POST /admin/drain (401 without the token, 202 with it), --drain-timeout 2: player closed %u, "
           "exit %d after %.1f s\n", p.ws.close_code, code, exit_s);
    CHECK(code == 0, "exit status %d", code);
    CHECK(exit_s > 1.5 && exit_s < 6, "exit %.1f s after the drain request with --drain-timeout 2", exit_s);
    CHECK(only_round_reason(db, reason, sizeof reason) == 0 && strcmp(reason, "interrupted") == 0,
          "the cut round is stored as '%s', want 'interrupted'", reason);
    unlink(db);
    unlink(tok);
    rmdir(dir);
}

/* ---- a stand-in for the Agones SDK sidecar ---------------------------------- */

/* The REST endpoints of the Agones SDK server as its docs give them
 * (agones.dev, "REST Game Server Client API"): POST /ready, /health,
 * /allocate, /shutdown answer 200 "{}", GET /gameserver the GameServer as
 * JSON; another method on a known path 405, an unknown path 404. The real
 * sidecar cannot run here (it needs Kubernetes), so this one records every
 * call with its time, for the test to check the sequence. */
#define SIDECAR_MAX_CALLS 256
typedef struct sidecar_call {
    char what[96];   /* "POST /ready" */
    double at_ms;
    int status;
} sidecar_call;

typedef struct sidecar {
    int fd, port;
    volatile int listening, stop;
    pthread_t thread;
    pthread_mutex_t lock;
    int ncalls;
    sidecar_call calls[SIDECAR_MAX_CALLS];
} sidecar;

static void sidecar_serve(sidecar *sc, int c)
{
    char req[4096];
    size_t len = 0;
    double end = check_now_ms() + 2000;
    char *head_end = NULL;
    while (check_now_ms() < end && len < sizeof req - 1) {
        ssize_t n = recv(c, req + len, sizeof req - 1 - len, MSG_DONTWAIT);
        if (n > 0) {
            len += (size_t)n;
            req[len] = '\0';
            if ((head_end = strstr(req, "\r\n\r\n")) != NULL) {
                const char *cl = strstr(req, "\r\nContent-Length:");
                size_t body = cl ? (size_t)atol(cl + 17) : 0;
                if (len >= (size_t)(head_end + 4 - req) + body)
                    break;
            }
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            break;
        } else {
            usleep(1000);
        }
    }
    char method[16] = "", path[64] = "";
    sscanf(req, "%15s %63s", method, path);
    static const char *const posts[] = {"/ready", "/health", "/allocate", "/shutdown"};
    int known_post = 0;
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++)
        known_post |= strcmp(path, posts[i]) == 0;
    int status;
    const char *body;
    if (known_post) {
        status = strcmp(method, "POST") == 0 ? 200 : 405;
        body = status == 200 ? "{}" : "{\"error\":\"Method Not Allowed\"}";
    } else if (strcmp(path, "/gameserver") == 0) {
        status = strcmp(method, "GET") == 0 ? 200 : 405;
        body = status == 200 ? "{\"object_meta\":{\"name\":\"tickwire-fleet-7x9k2\",\"namespace\":\"default\","
                               "\"labels\":{\"agones.dev/fleet\":\"tickwire\"}},\"status\":{\"state\":\"Allocated\","
                               "\"address\":\"127.0.0.1\",\"ports\":[{\"name\":\"default\",\"port\":7654}]}}"
                             : "{\"error\":\"Method Not Allowed\"}";
    } else {
        status = 404;
        body = "{\"error\":\"Not Found\"}";
    }
    char ans[1024];
    int n = snprintf(ans, sizeof ans, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Method Not Allowed", strlen(body),
                     body);
    send(c, ans, (size_t)n, MSG_NOSIGNAL);
    pthread_mutex_lock(&sc->lock);
    if (sc->ncalls < SIDECAR_MAX_CALLS) {
        sidecar_call *k = &sc->calls[sc->ncalls++];
        snprintf(k->what, sizeof k->what, "%s %s", method, path);
        k->at_ms = check_now_ms();
        k->status = status;
    }
    pthread_mutex_unlock(&sc->lock);
}

static void *sidecar_thread(void *arg)
{
    sidecar *sc = arg;
    while (!sc->stop) {
        if (!sc->listening) {
            usleep(5000);
            continue;
        }
        int c = accept(sc->fd, NULL, NULL);
        if (c < 0) {
            usleep(2000);
            continue;
        }
        sidecar_serve(sc, c);
        close(c);
    }
    return NULL;
}

/* Binds a port (connections to it are refused until sidecar_listen). */
static int sidecar_open(sidecar *sc)
{
    memset(sc, 0, sizeof *sc);
    pthread_mutex_init(&sc->lock, NULL);
    sc->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (sc->fd < 0 || bind(sc->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(sc->fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    sc->port = ntohs(a.sin_port);
    return pthread_create(&sc->thread, NULL, sidecar_thread, sc) == 0 ? 0 : -1;
}

static int sidecar_listen(sidecar *sc)
{
    if (listen(sc->fd, 16) < 0)
        return -1;
    sc->listening = 1;
    return 0;
}

static void sidecar_close(sidecar *sc)
{
    sc->stop = 1;
    pthread_join(sc->thread, NULL);
    close(sc->fd);
}

/* With AGONES_SDK_HTTP_PORT set the server speaks the SDK's REST API to
 * its sidecar (here the stand-in above), which comes up 1.5 s after the
 * server, as the Agones docs warn it may: Ready is retried until it gets
 * through (the failed tries counted in /metrics), then GET /gameserver;
 * Health every 2 s from the start (no gap over 3 s once the sidecar is
 * up); another GET /gameserver when a player arrives (an allocation);
 * on SIGTERM, after the drain, Shutdown is the last call, and the exit
 * status 0. A bad port in the variable stops the start. */
static void case_agones(const char *server)
{
    static sidecar sc;
    CHECK(sidecar_open(&sc) == 0, "sidecar stand-in: %s", strerror(errno));
    char port[16];
    snprintf(port, sizeof port, "%d", sc.port);
    setenv("AGONES_SDK_HTTP_PORT", port, 1);
    const char *args[] = {"--min-players", "1", "--match-time", "10", "--drain-timeout", "20", NULL};
    spawn_proc sp;
    double t0 = check_now_ms();
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    usleep(1500000);
    CHECK(sidecar_listen(&sc) == 0, "listen");
    double up_ms = check_now_ms();
    usleep(2500000);
    static char text[65536];
    CHECK(metrics_get(sp.port, text, sizeof text) == 200, "metrics");
    double ready_err = metric_value(text, "tickwire_agones_calls_total{call=\"ready\",result=\"error\"}");
    double ready_ok = metric_value(text, "tickwire_agones_calls_total{call=\"ready\",result=\"ok\"}");
    CHECK(ready_err >= 1 && ready_ok == 1, "ready: %g failed tries before the sidecar was up, %g ok", ready_err,
          ready_ok);
    pthread_mutex_lock(&sc.lock);
    int before_player = sc.ncalls;
    pthread_mutex_unlock(&sc.lock);
    static player p;
    CHECK(player_join(&p, sp.port, "allocated") == 0, "join");
    CHECK(player_wait_snapshots(&p, 120, 5000) == 0, "snapshots");
    /* SIGTERM: the drain waits for the live round; the player leaves. */
    CHECK(kill(sp.pid, SIGTERM) == 0, "kill");
    wsc_close(&p.ws);
    int code = spawn_wait(&sp, 10000);
    double stop_ms = check_now_ms();
    usleep(100000);
    sidecar_close(&sc);
    unsetenv("AGONES_SDK_HTTP_PORT");
    CHECK(code == 0, "exit status %d", code);

    int nready = 0, nhealth = 0, ngs = 0, gs_after_player = 0, nshutdown = 0, other = 0;
    double last_health = up_ms, max_gap = 0;
    for (int i = 0; i < sc.ncalls; i++) {
        const sidecar_call *k = &sc.calls[i];
        if (strcmp(k->what, "POST /ready") == 0) {
            nready++;
        } else if (strcmp(k->what, "POST /health") == 0) {
            nhealth++;
            if (k->at_ms - last_health > max_gap)
                max_gap = k->at_ms - last_health;
            last_health = k->at_ms;
        } else if (strcmp(k->what, "GET /gameserver") == 0) {
            ngs++;
            gs_after_player |= i >= before_player;
        } else if (strcmp(k->what, "POST /shutdown") == 0) {
            nshutdown++;
            CHECK(i == sc.ncalls - 1, "a call after Shutdown: %s", sc.calls[sc.ncalls - 1].what);
        } else {
            other++;
        }
        CHECK(k->status == 200, "%s answered %d: not the documented call", k->what, k->status);
    }
    printf("agones: sidecar up %.1f s after start; %d calls: ready %d (after %g refused tries), health %d (largest "
           "gap %.1f s), gameserver %d (after the player: %d), shutdown %d (last), exit %d\n",
           (up_ms - t0) / 1000, sc.ncalls, nready, ready_err, nhealth, max_gap / 1000, ngs, gs_after_player,
           nshutdown, code);
    CHECK((sc.ncalls > 0 && strcmp(sc.calls[0].what, "POST /ready") == 0) ||
              (sc.ncalls > 1 && strcmp(sc.calls[1].what, "POST /ready") == 0),
          "Ready is not among the first calls");
    CHECK(nready == 1 && nshutdown == 1 && other == 0, "ready %d, shutdown %d, other %d", nready, nshutdown, other);
    double expect = (stop_ms - up_ms) / 2000.0;
    CHECK(nhealth >= expect - 1.5 && nhealth <= expect + 1.5, "%d health pings in %.1f s", nhealth,
          (stop_ms - up_ms) / 1000);
    CHECK(max_gap < 3000, "a %.1f s gap between health pings", max_gap / 1000);
    CHECK(ngs >= 2 && gs_after_player, "gameserver %d times, after the player: %d", ngs, gs_after_player);

    /* A port that is not a port: the start fails, saying so. */
    setenv("AGONES_SDK_HTTP_PORT", "70000", 1);
    CHECK(server_start(&sp, server, NULL, NULL) < 0, "started with AGONES_SDK_HTTP_PORT=70000");
    unsetenv("AGONES_SDK_HTTP_PORT");
}

/* ---- a real redis-server for the fleet cases ------------------------------------- */

#define REDIS_SERVER "/usr/bin/redis-server"

/* A free TCP port on 127.0.0.1 (bound and released: good enough here). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Starts redis-server on port (no persistence) and waits until it answers
 * PING. Returns 0, or -1 with the reason printed. */
static int redis_start(spawn_proc *rp, int port)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    const char *argv[] = {REDIS_SERVER, "--port", ps, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--loglevel", "warning", NULL};
    char err[256];
    memset(rp, 0, sizeof *rp);
    if (spawn_start(rp, &(spawn_desc){.argv = argv, .stdout_path = "/dev/null"}, err, sizeof err) < 0) {
        fprintf(stderr, "redis-server: %s\n", err);
        return -1;
    }
    double end = check_now_ms() + 5000;
    while (check_now_ms() < end) {
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (ok)
                return 0;
        } else if (c) {
            redisFree(c);
        }
        usleep(20000);
    }
    fprintf(stderr, "redis-server on port %d did not answer\n", port);
    return -1;
}

/* A command's integer (or -1), for EXISTS, SCARD, ZCARD and the like. */
static long long redis_int(int port, const char *cmd, const char *arg)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    long long v = -1;
    if (c && !c->err) {
        redisReply *r = arg ? redisCommand(c, "%s %s", cmd, arg) : redisCommand(c, cmd);
        if (r && r->type == REDIS_REPLY_INTEGER)
            v = r->integer;
        freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return v;
}

/* HGET key field into out ("" when absent). */
static void redis_hget(int port, const char *key, const char *field, char *out, size_t cap)
{
    out[0] = '\0';
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "HGET %s %s", key, field);
        if (r && r->type == REDIS_REPLY_STRING)
            snprintf(out, cap, "%s", r->str);
        freeReplyObject(r);
    }
    if (c)
        redisFree(c);
}

/* Waits until `cmd arg` returns want (an integer); the time it took in ms,
 * or -1 past timeout_ms. */
static double redis_wait_int(int port, const char *cmd, const char *arg, long long want, int timeout_ms)
{
    double t0 = check_now_ms();
    while (check_now_ms() < t0 + timeout_ms) {
        if (redis_int(port, cmd, arg) == want)
            return check_now_ms() - t0;
        usleep(20000);
    }
    return -1;
}

/* --redis: each process registers itself and its matches with keys that
 * expire (a real redis-server). Two servers register; a match appears
 * under the one a player joined; kill -9 makes its keys vanish within the
 * 5 s TTL; Redis killed and restarted: the other keeps its player playing
 * meanwhile (snapshots flow), counts the outage and registers again; a
 * clean exit removes its keys at once. A bad --redis URL is refused. */
static void case_fleet_registry(const char *server)
{
    CHECK(access(REDIS_SERVER, X_OK) == 0, "%s is missing (setup installs redis-server)", REDIS_SERVER);
    int rport = free_port();
    spawn_proc rs;
    CHECK(redis_start(&rs, rport) == 0, "redis-server did not start");
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", rport);
    const char *args_a[] = {"--redis", url, "--process-id", "proc-a", "--npcs", "2", NULL};
    const char *args_b[] = {"--redis", url, "--process-id", "proc-b", "--npcs", "2", NULL};
    spawn_proc a, b;
    CHECK(server_start(&a, server, args_a, NULL) == 0, "server a did not start");
    CHECK(server_start(&b, server, args_b, NULL) == 0, "server b did not start");
    CHECK(redis_wait_int(rport, "ZCARD", "tw:procs", 2, 3000) >= 0, "tw:procs does not list both processes");
    char v[128], want[64];
    redis_hget(rport, "tw:proc:proc-a", "url", v, sizeof v);
    snprintf(want, sizeof want, "http://127.0.0.1:%d/", a.port);
    CHECK(strcmp(v, want) == 0, "proc-a url '%s', want '%s'", v, want);
    redis_hget(rport, "tw:proc:proc-b", "capacity", v, sizeof v);
    CHECK(atoi(v) > 0, "proc-b capacity '%s'", v);

    static player pa, pb;
    CHECK(player_join(&pa, a.port, "on-a") == 0 && player_wait_snapshots(&pa, 10, 5000) == 0, "player on a");
    CHECK(player_join(&pb, b.port, "on-b") == 0 && player_wait_snapshots(&pb, 10, 5000) == 0, "player on b");
    CHECK(redis_wait_int(rport, "SCARD", "tw:proc:proc-a:matches", 1, 3000) >= 0, "proc-a's match not listed");
    char mkey[64];
    snprintf(mkey, sizeof mkey, "tw:match:proc-a:%u", (unsigned)pa.cl.welcome.match_id);
    double t0 = check_now_ms();
    while (check_now_ms() < t0 + 3000) {
        redis_hget(rport, mkey, "players", v, sizeof v);
        if (atoi(v) == 3)
            break;
        usleep(50000);
    }
    CHECK(atoi(v) == 3, "%s players '%s', want 3 (1 person, 2 computer players)", mkey, v);
    redis_hget(rport, "tw:proc:proc-a", "players", v, sizeof v);
    CHECK(atoi(v) == 1, "proc-a players '%s'", v);

    /* kill -9: the keys expire by themselves. */
    CHECK(kill(a.pid, SIGKILL) == 0, "kill a");
    double t_kill = check_now_ms();
    double gone_ms = redis_wait_int(rport, "EXISTS", "tw:proc:proc-a", 0, 7000);
    double mgone_ms = redis_wait_int(rport, "EXISTS", mkey, 0, 7000);
    mgone_ms = mgone_ms < 0 ? -1 : check_now_ms() - t_kill;
    spawn_wait(&a, 1000);
    wsc_close(&pa.ws);
    printf("fleet: kill -9 of proc-a: its process key gone after %.1f s, its match key after %.1f s (TTL 5 s)\n",
           gone_ms / 1000, mgone_ms / 1000);
    CHECK(gone_ms >= 0 && gone_ms <= 5500 && mgone_ms >= 0 && mgone_ms <= 5500, "keys outlived the TTL");
    CHECK(redis_int(rport, "EXISTS", "tw:proc:proc-b") == 1, "proc-b vanished too");

    /* Redis down for a while: proc-b plays on, counts it, registers again. */
    CHECK(kill(rs.pid, SIGKILL) == 0, "kill redis");
    spawn_wait(&rs, 1000);
    while (player_step(&pb, 1) > 0) {
    } /* what queued up meanwhile */
    uint32_t before = pb.snapshots;
    double down_at = check_now_ms();
    CHECK(player_wait_snapshots(&pb, before + 120, 5000) == 0, "proc-b's player stalled while Redis was down");
    static char text[65536];
    CHECK(metrics_get(b.port, text, sizeof text) == 200, "metrics");
    double restart_at = check_now_ms();
    CHECK(metric_value(text, "tickwire_redis_up") == 0 && metric_value(text, "tickwire_redis_outages_total") == 1,
          "redis_up %g, outages %g", metric_value(text, "tickwire_redis_up"),
          metric_value(text, "tickwire_redis_outages_total"));
    CHECK(redis_start(&rs, rport) == 0, "redis-server did not start again");
    double back_ms = redis_wait_int(rport, "EXISTS", "tw:proc:proc-b", 1, 8000);
    CHECK(back_ms >= 0, "proc-b did not register again");
    CHECK(redis_wait_int(rport, "SCARD", "tw:proc:proc-b:matches", 1, 3000) >= 0, "proc-b's match not listed again");
    t0 = check_now_ms();
    while (check_now_ms() < t0 + 2000 &&
           (metrics_get(b.port, text, sizeof text) != 200 || metric_value(text, "tickwire_redis_up") != 1))
        usleep(20000);
    CHECK(metric_value(text, "tickwire_redis_up") == 1, "tickwire_redis_up stays 0 after the reconnect");
    printf("fleet: Redis killed for %.1f s: proc-b's player got %u snapshots meanwhile; registered again %.1f s after "
           "Redis came back\n",
           (restart_at - down_at) / 1000, pb.snapshots - before, back_ms / 1000);
    wsc_close(&pb.ws);

    /* A clean exit: off the directory at once. */
    CHECK(spawn_stop(&b, 0, NULL) == 0, "proc-b exit status");
    CHECK(redis_int(rport, "EXISTS", "tw:proc:proc-b") == 0 && redis_int(rport, "ZCARD", "tw:procs") <= 1,
          "proc-b's keys left after a clean exit");
    spawn_stop(&rs, 0, NULL);

    const char *bad[] = {"--redis", "http://127.0.0.1:6379", NULL};
    CHECK(server_start(&b, server, bad, NULL) < 0, "started with --redis http://...");
}

/* A plain-HTTP POST with a bearer token over its own socket (thread-safe);
 * the status, the body in out. */
static int post_bearer(int port, const char *path, const char *bearer, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    out[0] = '\0';
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n",
                     path, bearer);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    char ans[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof ans - 1 && (r = recv(fd, ans + len, sizeof ans - 1 - len, 0)) > 0)
        len += (size_t)r;
    close(fd);
    ans[len] = '\0';
    int status = 0;
    sscanf(ans, "HTTP/1.1 %d", &status);
    const char *body = strstr(ans, "\r\n\r\n");
    snprintf(out, cap, "%s", body ? body + 4 : "");
    return status;
}

/* A string field of a flat JSON object into out ("" when absent). */
static void json_str(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    size_t n = 0;
    if (p)
        for (p += strlen(pat); *p && *p != '"' && n + 1 < cap; p++)
            out[n++] = *p;
    out[n] = '\0';
}

#define MM_IDS 100
#define MM_SERVERS 3
#define MM_CAP 40 /* --max-conns of each server: the seats it offers */

typedef struct mm_answer {
    int status;
    char process[72], token[256];
    int retry;
} mm_answer;

typedef struct mm_job {
    int ports[MM_SERVERS + 1]; /* the three servers and the stand-alone matchmaker */
    const char *bearer;
    int next;                  /* the next of 2 x MM_IDS requests */
    pthread_mutex_t lock;
    mm_answer got[2 * MM_IDS];
} mm_job;

/* Each request id is asked twice, by two threads, of two different
 * processes, at about the same time: a client retrying after a timeout. */
static void *mm_worker(void *arg)
{
    mm_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        int k = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (k >= 2 * MM_IDS)
            return NULL;
        int id = k / 2;
        char path[160], body[1024];
        snprintf(path, sizeof path, "/api/matchmake?request_id=mm-request-%04d&name=p%d&player_id=%d", id, id,
                 id + 1);
        int port = j->ports[(id + k % 2) % (MM_SERVERS + 1)];
        int st = post_bearer(port, path, j->bearer, body, sizeof body);
        j->got[k].status = st;
        json_str(body, "process", j->got[k].process, sizeof j->got[k].process);
        json_str(body, "token", j->got[k].token, sizeof j->got[k].token);
        j->got[k].retry = strstr(body, "\"retry\":true") != NULL;
    }
}

/* POST /api/matchmake across a fleet of three servers (--max-conns 40
 * each: 40 seats) and a stand-alone `tickwire-server matchmaker`, on a
 * real redis-server. 100 request ids, each sent twice at once to two
 * different processes by 8 threads: exactly one seat per request id (both
 * answers carry the same process and token), 100 reservations in all,
 * none over a process's seats, spread over the three. Then 20 more fill
 * the fleet to its 120 seats and the next ones get 503 "no room". A token
 * handed out joins the process it names. Without the bearer token: 401. */
static void case_matchmake(const char *server)
{
    CHECK(access(REDIS_SERVER, X_OK) == 0, "%s is missing (setup installs redis-server)", REDIS_SERVER);
    char dir[] = "/tmp/tickwire-mm-XXXXXX", secret[96], bearer_path[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(secret, sizeof secret, "%s/fleet.secret", dir);
    snprintf(bearer_path, sizeof bearer_path, "%s/mm.token", dir);
    const char *bearer = "matchmaker-token-0123456789";
    FILE *f = fopen(secret, "w");
    CHECK(f != NULL, "secret file");
    fputs("fleet-secret-0123456789abcdef0123456789\n", f);
    fclose(f);
    f = fopen(bearer_path, "w");
    CHECK(f != NULL, "token file");
    fprintf(f, "%s\n", bearer);
    fclose(f);
    int rport = free_port();
    spawn_proc rs;
    CHECK(redis_start(&rs, rport) == 0, "redis-server did not start");
    char url[64], cap[16];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", rport);
    snprintf(cap, sizeof cap, "%d", MM_CAP);
    static mm_job job;
    memset(&job, 0, sizeof job);
    pthread_mutex_init(&job.lock, NULL);
    job.bearer = bearer;
    spawn_proc sv[MM_SERVERS + 1];
    static const char *const ids[MM_SERVERS] = {"fleet-1", "fleet-2", "fleet-3"};
    for (int i = 0; i < MM_SERVERS; i++) {
        const char *args[] = {"--redis", url, "--process-id", ids[i], "--token-secret-file", secret,
                              "--matchmaker-token-file", bearer_path, "--max-conns", cap, "--match-size", "8", NULL};
        CHECK(server_start(&sv[i], server, args, NULL) == 0, "server %d did not start", i);
        job.ports[i] = sv[i].port;
    }
    {
        const char *argv[] = {server, "matchmaker", "--port", "0", "--log-level", "warn", "--results-db", ":memory:",
                              "--redis", url, "--token-secret-file", secret, "--matchmaker-token-file", bearer_path,
                              NULL};
        char err[256];
        CHECK(spawn_server_start(&sv[MM_SERVERS], &(spawn_desc){.argv = argv}, err, sizeof err) == 0,
              "matchmaker did not start: %s", err);
        job.ports[MM_SERVERS] = sv[MM_SERVERS].port;
    }
    CHECK(redis_wait_int(rport, "ZCARD", "tw:procs", MM_SERVERS, 3000) >= 0, "the fleet did not register");
    static char body[2048], text[65536];
    double t_ready = check_now_ms(); /* the stand-alone matchmaker sends no heartbeat: wait for its connection */
    while (check_now_ms() < t_ready + 5000 && (metrics_get(job.ports[MM_SERVERS], text, sizeof text) != 200 ||
                                          metric_value(text, "tickwire_redis_up") != 1))
        usleep(20000);
    CHECK(metric_value(text, "tickwire_redis_up") == 1, "the matchmaker is not connected to Redis");
    CHECK(post_bearer(job.ports[0], "/api/matchmake?request_id=mm-request-x&name=x", "wrong-token-0123", body,
                      sizeof body) == 401,
          "a wrong bearer token was not refused: %s", body);
    CHECK(post_bearer(job.ports[0], "/api/matchmake?request_id=short&name=x", bearer, body, sizeof body) == 400,
          "a short request id was not refused: %s", body);
    /* A game connection to the stand-alone matchmaker: refused. */
    wsc g;
    char err[160] = "";
    CHECK(wsc_connect(&g, "127.0.0.1", job.ports[MM_SERVERS], PROTO_SUBPROTOCOL, err, sizeof err) < 0 &&
              strstr(err, " 404 "),
          "the matchmaker took a game connection: %s", err);

    pthread_t th[8];
    double t0 = check_now_ms();
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, mm_worker, &job);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    double took = check_now_ms() - t0;
    int ok = 0, same = 0, retries = 0, per[MM_SERVERS] = {0};
    for (int id = 0; id < MM_IDS; id++) {
        const mm_answer *a = &job.got[2 * id], *b = &job.got[2 * id + 1];
        CHECK(a->status == 200 && b->status == 200, "request %d: %d and %d", id, a->status, b->status);
        ok += 2;
        same += strcmp(a->process, b->process) == 0 && strcmp(a->token, b->token) == 0 && a->token[0];
        retries += a->retry + b->retry;
        for (int p = 0; p < MM_SERVERS; p++)
            per[p] += strcmp(a->process, ids[p]) == 0;
    }
    long long seats = 0, over = 0;
    for (int p = 0; p < MM_SERVERS; p++) {
        char key[48];
        snprintf(key, sizeof key, "tw:seats:%s", ids[p]);
        long long n = redis_int(rport, "ZCARD", key);
        seats += n;
        over += n > MM_CAP;
    }
    printf("matchmake: %d requests (%d ids x 2, at once, 8 threads, 4 processes) in %.0f ms: %d ids got one seat "
           "(same process and token twice), %d answers marked retry; seats reserved %lld (%d / %d / %d), none over "
           "%d\n",
           ok, MM_IDS, took, same, retries, seats, per[0], per[1], per[2], MM_CAP);
    CHECK(same == MM_IDS && retries == MM_IDS, "one seat per request id: %d of %d, retries %d", same, MM_IDS,
          retries);
    CHECK(seats == MM_IDS && over == 0, "%lld seats reserved (want %d), %lld processes over their seats", seats,
          MM_IDS, over);
    for (int p = 0; p < MM_SERVERS; p++)
        CHECK(per[p] >= 10, "%s got %d of %d: not spread", ids[p], per[p], MM_IDS);

    /* Fill the fleet: 120 seats in all, then no room. */
    int filled = 0, full = 0;
    for (int i = 0; i < MM_SERVERS * MM_CAP - MM_IDS + 5; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/matchmake?request_id=mm-fill-%04d&name=f%d", i, i);
        int st = post_bearer(job.ports[i % (MM_SERVERS + 1)], path, bearer, body, sizeof body);
        filled += st == 200;
        full += st == 503 && strstr(body, "no room");
    }
    printf("matchmake: then %d more seats, %d answered 503 \"no room in the fleet\"\n", filled, full);
    CHECK(filled == MM_SERVERS * MM_CAP - MM_IDS && full == 5, "filled %d, full %d", filled, full);

    /* A token from the matchmaker joins the process it names. */
    int p0 = -1;
    for (int p = 0; p < MM_SERVERS; p++)
        if (strcmp(job.got[0].process, ids[p]) == 0)
            p0 = p;
    CHECK(p0 >= 0, "no process for request 0");
    char reason[128] = "";
    int rc = join_outcome(sv[p0].port, job.got[0].token, reason, sizeof reason);
    CHECK(rc == 0, "the matchmade token did not join %s: %d %s", ids[p0], rc, reason);
    for (int i = 0; i <= MM_SERVERS; i++)
        CHECK(spawn_stop(&sv[i], 0, NULL) == 0, "exit status of %d", i);
    spawn_stop(&rs, 0, NULL);
    unlink(secret);
    unlink(bearer_path);
    rmdir(dir);
}

/* Drain in a fleet: SIGTERM to a process with a live round marks it
 * draining in the directory at once; the matchmaker sends nobody there
 * while its round plays out (20 requests, none to it); it exits 0 after the
 * round, its keys gone. */
static void case_fleet_drain(const char *server)
{
    CHECK(access(REDIS_SERVER, X_OK) == 0, "%s is missing (setup installs redis-server)", REDIS_SERVER);
    char dir[] = "/tmp/tickwire-fdrain-XXXXXX", secret[96], bearer_path[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(secret, sizeof secret, "%s/fleet.secret", dir);
    snprintf(bearer_path, sizeof bearer_path, "%s/mm.token", dir);
    const char *bearer = "matchmaker-token-0123456789";
    FILE *f = fopen(secret, "w");
    CHECK(f != NULL, "secret file");
    fputs("fleet-secret-0123456789abcdef0123456789\n", f);
    fclose(f);
    f = fopen(bearer_path, "w");
    CHECK(f != NULL, "token file");
    fprintf(f, "%s\n", bearer);
    fclose(f);
    int rport = free_port();
    spawn_proc rs;
    CHECK(redis_start(&rs, rport) == 0, "redis-server did not start");
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", rport);
    spawn_proc sv[2];
    static const char *const ids[2] = {"drainer", "stayer"};
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"--redis", url, "--process-id", ids[i], "--token-secret-file", secret,
                              "--matchmaker-token-file", bearer_path, "--min-players", "1", "--npcs", "2",
                              "--match-time", "10", "--drain-timeout", "20", NULL};
        CHECK(server_start(&sv[i], server, args, NULL) == 0, "server %d did not start", i);
    }
    CHECK(redis_wait_int(rport, "ZCARD", "tw:procs", 2, 3000) >= 0, "the fleet did not register");
    static player p;
    char token[PROTO_MAX_TOKEN + 1];
    memset(&p, 0, sizeof p);
    /* A player in a live round on the drainer, joined with a minted token. */
    mint_for("fleet-secret-0123456789abcdef0123456789", "liver", "", 60, token, sizeof token);
    pthread_mutex_init(&p.lock, NULL);
    p.ack = 1;
    p.inputs_left = -1;
    cl_init(&p.cl);
    char err[160];
    CHECK(wsc_connect(&p.ws, "127.0.0.1", sv[0].port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "connect: %s", err);
    cl_set_token(&p.cl, token);
    uint8_t jb[PROTO_MAX_JOIN_MSG];
    size_t jn = cl_write_join(&p.cl, jb, sizeof jb);
    CHECK(wsc_send(&p.ws, WS_BINARY, jb, jn) == 0, "join");
    CHECK(player_wait_snapshots(&p, 30, 5000) == 0, "no snapshots on the drainer");
    CHECK(cl_latest(&p.cl)->ms.phase == PROTO_PHASE_LIVE, "round not live");

    CHECK(kill(sv[0].pid, SIGTERM) == 0, "kill");
    double t0 = check_now_ms();
    char v[16] = "";
    while (check_now_ms() < t0 + 2000) {
        player_step(&p, 20);
        redis_hget(rport, "tw:proc:drainer", "draining", v, sizeof v);
        if (strcmp(v, "1") == 0)
            break;
    }
    double marked_ms = check_now_ms() - t0;
    CHECK(strcmp(v, "1") == 0, "the drainer is not marked draining in the directory");
    int to_drainer = 0, to_stayer = 0;
    static char body[2048];
    for (int i = 0; i < 20; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/matchmake?request_id=drain-req-%04d&name=n%d", i, i);
        int st = post_bearer(sv[i % 2].port, path, bearer, body, sizeof body);
        char proc[72];
        json_str(body, "process", proc, sizeof proc);
        to_drainer += st == 200 && strcmp(proc, "drainer") == 0;
        to_stayer += st == 200 && strcmp(proc, "stayer") == 0;
        player_step(&p, 10);
    }
    while (player_step(&p, 3000) >= 0) {
    }
    int code = spawn_wait(&sv[0], 15000);
    double exit_s = (check_now_ms() - t0) / 1000;
    printf("fleet_drain: SIGTERM: marked draining in Redis after %.0f ms; 20 matchmake requests: %d to the drainer, "
           "%d to the other; the player closed %u after the round, exit %d at %.1f s\n",
           marked_ms, to_drainer, to_stayer, p.ws.close_code, code, exit_s);
    wsc_close(&p.ws);
    CHECK(to_drainer == 0 && to_stayer == 20, "matchmaking during the drain: %d to the drainer, %d elsewhere",
          to_drainer, to_stayer);
    CHECK(code == 0 && p.ws.close_code == 1001, "exit %d, player closed %u", code, p.ws.close_code);
    CHECK(redis_int(rport, "EXISTS", "tw:proc:drainer") == 0, "the drainer's keys outlived it");
    CHECK(spawn_stop(&sv[1], 0, NULL) == 0, "exit status");
    spawn_stop(&rs, 0, NULL);
    unlink(secret);
    unlink(bearer_path);
    rmdir(dir);
}

/* ---- spectators ------------------------------------------------------------ */

/* Connects and sends a spectate JOIN for match_id with `token`. The player
 * never sends input (a spectator client writes none anyway). */
static int spectator_join(player *p, int port, const char *token, uint16_t match_id)
{
    char err[128];
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->ack = 1;
    cl_init(&p->cl);
    if (wsc_connect(&p->ws, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) < 0) {
        fprintf(stderr, "connect: %s\n", err);
        return -1;
    }
    cl_set_token(&p->cl, token);
    cl_set_spectate(&p->cl, match_id);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    size_t n = cl_write_join(&p->cl, buf, sizeof buf);
    return n ? wsc_send(&p->ws, WS_BINARY, buf, n) : -1;
}

/* player_join with a token minted by the test. */
static int player_join_token(player *p, int port, const char *token)
{
    char err[128];
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->ack = 1;
    p->inputs_left = -1;
    cl_init(&p->cl);
    if (wsc_connect(&p->ws, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) < 0) {
        fprintf(stderr, "connect: %s\n", err);
        return -1;
    }
    cl_set_token(&p->cl, token);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    size_t n = cl_write_join(&p->cl, buf, sizeof buf);
    return wsc_send(&p->ws, WS_BINARY, buf, n);
}

/* The close code the connection gets within timeout_ms, serving what comes
 * before it; 0 when none came, -1 when it dropped without one. */
static int close_code_within(player *p, int timeout_ms)
{
    double end = check_now_ms() + timeout_ms;
    while (check_now_ms() < end) {
        if (player_step(p, 100) < 0)
            return p->closed == WS_CLOSE ? p->ws.close_code : -1;
    }
    return 0;
}

/* What a spectate JOIN gets: 0 welcomed, else its close code (-1: none). */
static int spectate_outcome(int port, const char *token, uint16_t match_id)
{
    static player p;
    if (spectator_join(&p, port, token, match_id) < 0)
        return -1;
    uint8_t msg[PROTO_MAX_SNAPSHOT];
    size_t len;
    int op = wsc_recv(&p.ws, msg, sizeof msg, &len, 3000);
    int code = op == WS_CLOSE ? p.ws.close_code : op == WS_BINARY ? 0 : -1;
    wsc_close(&p.ws);
    return code;
}

static void player_stop(player *p)
{
    p->stop = 1;
    pthread_join(p->thread, NULL);
}

/* Spectators: one watches "any", one a match by id. Both get a spectator
 * WELCOME, a full snapshot and then deltas, decode them all, and every
 * tick they share with a player shows the same entities; they get the
 * JOIN event of a player who comes later and KILL events of 6 fighting
 * bots; they take no slot (a match of 8 holds 8 players with 2 watching);
 * an INPUT or a JOIN from a spectator closes it 4011; a match id that is
 * not running, or a token for another label, gets 4012. */
static void case_spectate(const char *server)
{
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots && access(bots, X_OK) == 0, "set TICKWIRE_BOTS to the tickwire-bots binary");
    char secret_path[] = "/tmp/tickwire-spec-secret-XXXXXX", report[] = "/tmp/tickwire-spec-report-XXXXXX";
    int fd = mkstemp(secret_path);
    const char *secret = "spectator test secret, 32 bytes!";
    CHECK(fd >= 0 && write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret), "secret");
    close(fd);
    fd = mkstemp(report);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    const char *args[] = {"--token-secret-file", secret_path, "--match-size", "8", "--min-players", "2",
                          "--spectator-rate", "10", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    char tok[PROTO_MAX_TOKEN + 1];
    mint(secret, "early", 60, tok, sizeof tok);
    int code = spectate_outcome(sp.port, tok, PROTO_MATCH_ANY);
    CHECK(code == PROTO_CLOSE_NO_SUCH_MATCH, "watching with no match running: %d", code);

    static player a, b, s1, s2;
    mint(secret, "alice", 60, tok, sizeof tok);
    CHECK(player_join_token(&a, sp.port, tok) == 0, "alice joins");
    a.log = calloc(600, sizeof *a.log);
    a.log_cap = 600;
    CHECK(player_wait_snapshots(&a, 5, 3000) == 0, "alice gets no snapshots");
    uint16_t mid = a.cl.welcome.match_id;
    pthread_create(&a.thread, NULL, player_thread, &a);
    mint(secret, "watcher1", 60, tok, sizeof tok);
    CHECK(spectator_join(&s1, sp.port, tok, PROTO_MATCH_ANY) == 0, "spectator 1");
    s1.count_events = 1;
    s1.log = calloc(200, sizeof *s1.log);
    s1.log_cap = 200;
    mint(secret, "watcher2", 60, tok, sizeof tok);
    CHECK(spectator_join(&s2, sp.port, tok, mid) == 0, "spectator 2");
    s2.count_events = 1;
    CHECK(player_wait_snapshots(&s1, 3, 3000) == 0, "spectator 1 gets no snapshots (closed %d, code %u)", s1.closed,
          s1.ws.close_code);
    CHECK(player_wait_snapshots(&s2, 3, 3000) == 0, "spectator 2 gets no snapshots (closed %d, code %u)", s2.closed,
          s2.ws.close_code);
    pthread_create(&s1.thread, NULL, player_thread, &s1);
    pthread_create(&s2.thread, NULL, player_thread, &s2);
    const proto_welcome *w = &s1.cl.welcome;
    CHECK(w->spectator && w->player_id == PROTO_SPECTATOR_ID && w->match_id == mid && w->snapshot_rate == 10 &&
          s2.cl.welcome.match_id == mid, "spectator welcome: flag %u id %u match %u (want %u) rate %u", w->spectator,
          w->player_id, w->match_id, mid, w->snapshot_rate);

    /* Bob joins: both spectators see his JOIN event. */
    mint(secret, "bob", 60, tok, sizeof tok);
    CHECK(player_join_token(&b, sp.port, tok) == 0, "bob joins");
    CHECK(player_wait_snapshots(&b, 2, 3000) == 0, "bob gets no snapshots");
    pthread_create(&b.thread, NULL, player_thread, &b);

    /* Six fighting bots fill the match to its 8 slots. */
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", sp.port);
    const char *bargv[] = {bots, "--url", url, "--bots", "6", "--ramp", "1", "--duration", "6", "--behavior", "fight",
                           "--seed", "5", "--report", report, "--token-secret-file", secret_path, NULL};
    spawn_proc bp;
    char err[128];
    CHECK(spawn_start(&bp, &(spawn_desc){.argv = bargv, .stdout_path = "/dev/null"}, err, sizeof err) == 0, "bots: %s",
          err);
    static char text[65536];
    double end = check_now_ms() + 10000;
    while (check_now_ms() < end &&
           (http_get(sp.port, "/metrics", text, sizeof text) != 200 || metric_value(text, "tickwire_players") < 8))
        usleep(100000);
    CHECK(metric_value(text, "tickwire_players") == 8, "%g players", metric_value(text, "tickwire_players"));
    CHECK(metric_value(text, "tickwire_spectators") == 2, "%g spectators", metric_value(text, "tickwire_spectators"));
    CHECK(http_get(sp.port, "/api/matches/live", text, sizeof text) == 200, "GET /api/matches/live");
    char want[160];
    snprintf(want, sizeof want, "{\"id\":%u,\"label\":\"\",\"players\":8,\"humans\":8,\"npcs\":0,\"capacity\":8,"
             "\"spectators\":2,", mid);
    CHECK(strstr(text, want) != NULL, "a full match of 8 with 2 spectators not listed: %s", text);
    CHECK(spawn_wait(&bp, 20000) == 0, "bots exit status");

    /* Spectators send nothing: an INPUT closes 4011, and so does a JOIN. */
    player_stop(&s2);
    uint8_t in[] = {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 255, 0};
    wsc_send(&s2.ws, WS_BINARY, in, sizeof in);
    code = close_code_within(&s2, 3000);
    CHECK(code == PROTO_CLOSE_SPECTATOR_INPUT, "INPUT from a spectator: close %d", code);
    player_stop(&s1);
    player_stop(&a);
    player_stop(&b);
    uint8_t j[PROTO_MAX_JOIN_MSG];
    size_t jn = proto_join_spectate_write("c2Vjb25k", PROTO_MATCH_ANY, j, sizeof j);
    wsc_send(&s1.ws, WS_BINARY, j, jn);
    int code2 = close_code_within(&s1, 3000);
    CHECK(code2 == PROTO_CLOSE_SPECTATOR_INPUT, "second JOIN from a spectator: close %d", code2);

    /* What the spectators saw: full, then deltas, same entities as alice. */
    int compared = 0;
    compare_logs(&a, &s1, &compared);
    printf("spectate: spectator 1: %u snapshots (%u full), %u events (%u joins, last \"%s\", %u kills); spectator 2: "
           "%u snapshots, %u kills; %d ticks compared with alice\n",
           s1.snapshots, s1.cl.stats.full_snapshots, s1.ev_all, s1.ev_joins, s1.last_join, s1.ev_kills, s2.snapshots,
           s2.ev_kills, compared);
    CHECK(s1.cl.stats.full_snapshots == 1 && s1.snapshots >= 50 && s1.fulls_after_delta == 0,
          "spectator 1: %u snapshots, %u full", s1.snapshots, s1.cl.stats.full_snapshots);
    CHECK(compared >= 20, "only %d ticks compared", compared);
    CHECK(s1.ev_joins >= 7 && s2.ev_joins >= 7, "join events: %u, %u", s1.ev_joins, s2.ev_joins);
    CHECK(s1.ev_kills > 0 && s1.ev_kills == s2.ev_kills, "kill events: %u, %u", s1.ev_kills, s2.ev_kills);
    CHECK(s1.cl.stats.events_lost == 0 && s1.cl.have_self == 0, "events lost %u", s1.cl.stats.events_lost);

    /* Nothing to watch: a match id not running, another label's matches. */
    mint(secret, "lost", 60, tok, sizeof tok);
    code = spectate_outcome(sp.port, tok, (uint16_t)(mid + 100));
    CHECK(code == PROTO_CLOSE_NO_SUCH_MATCH, "match %u: close %d", mid + 100, code);
    mint_for(secret, "spy", "clan-x", 60, tok, sizeof tok);
    code = spectate_outcome(sp.port, tok, mid);
    CHECK(code == PROTO_CLOSE_NO_SUCH_MATCH, "another label's match by id: close %d", code);
    mint_for(secret, "spy2", "clan-x", 60, tok, sizeof tok);
    code = spectate_outcome(sp.port, tok, PROTO_MATCH_ANY);
    CHECK(code == PROTO_CLOSE_NO_SUCH_MATCH, "another label, any: close %d", code);
    /* A token is used up by a spectator as by a player. */
    mint(secret, "twice", 60, tok, sizeof tok);
    CHECK(spectate_outcome(sp.port, tok, mid) == 0, "a fresh token watches");
    code = spectate_outcome(sp.port, tok, mid);
    CHECK(code == PROTO_CLOSE_TOKEN_REFUSED, "a used token: close %d", code);

    usleep(200000);
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    double joins = metric_value(text, "tickwire_spectator_joins_total");
    double nomatch = metric_value(text, "tickwire_spectators_refused_total{reason=\"no_such_match\"}");
    double input = metric_value(text, "tickwire_spectators_refused_total{reason=\"input\"}");
    CHECK(joins == 3 && nomatch == 4 && input == 2, "metrics: %g joins, %g no match, %g input", joins, nomatch, input);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    free(a.log);
    free(s1.log);
    wsc_close(&a.ws);
    wsc_close(&b.ws);
    wsc_close(&s1.ws);
    wsc_close(&s2.ws);
    unlink(secret_path);
    unlink(report);
}

/* 20 spectators of one match share its encodes: each view is encoded once
 * per (baseline, first event), so the server encodes a small fraction of
 * the spectator snapshots it sends; every spectator decodes all of them. */
static void case_spectate_crowd(const char *server)
{
    const char *args[] = {"--spectator-rate", "10", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static player a, crowd[20];
    CHECK(player_join(&a, sp.port, "lead") == 0, "join");
    CHECK(player_wait_snapshots(&a, 3, 3000) == 0, "no snapshots");
    pthread_create(&a.thread, NULL, player_thread, &a);
    for (int i = 0; i < 20; i++) {
        char tok[PROTO_MAX_TOKEN + 1], name[16];
        snprintf(name, sizeof name, "fan%d", i);
        CHECK(get_token(sp.port, name, tok, sizeof tok) == 0, "token");
        CHECK(spectator_join(&crowd[i], sp.port, tok, PROTO_MATCH_ANY) == 0, "spectator %d", i);
        pthread_create(&crowd[i].thread, NULL, player_thread, &crowd[i]);
    }
    usleep(3000000);
    static char text[65536];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    uint32_t least = UINT32_MAX;
    for (int i = 0; i < 20; i++) {
        player_stop(&crowd[i]);
        CHECK(crowd[i].closed == 0 && crowd[i].cl.stats.full_snapshots == 1, "spectator %d: closed %d, %u full", i,
              crowd[i].closed, crowd[i].cl.stats.full_snapshots);
        least = crowd[i].snapshots < least ? crowd[i].snapshots : least;
    }
    player_stop(&a);
    double sent = metric_value(text, "tickwire_spectator_snapshots_total");
    double enc = metric_value(text, "tickwire_spectator_encodes_total");
    double shared = metric_value(text, "tickwire_spectator_shared_total");
    printf("spectate_crowd: 20 spectators, 3 s at 10 Hz: %g spectator snapshots sent, %g encoded, %g shared "
           "(%.1f%%); fewest per spectator %u\n", sent, enc, shared, sent > 0 ? 100.0 * shared / sent : 0.0, least);
    CHECK(least >= 20, "a spectator got only %u snapshots in 3 s", least);
    CHECK(enc + shared == sent, "%g encoded + %g shared != %g sent", enc, shared, sent);
    CHECK(enc * 5 < sent, "%g encodes for %g spectator snapshots: not shared", enc, sent);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    for (int i = 0; i < 20; i++)
        wsc_close(&crowd[i].ws);
    wsc_close(&a.ws);
}

/* --max-spectators 1: the second spectator is closed 4008 "server full",
 * counted and logged; the first goes on watching. */
static void case_spectate_cap(const char *server)
{
    const char *args[] = {"--max-spectators", "1", NULL};
    char logpath[] = "/tmp/tickwire-spec-cap-log-XXXXXX";
    int fd = mkstemp(logpath);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, logpath) == 0, "server did not start");
    static player a, s1, s2;
    CHECK(player_join(&a, sp.port, "only") == 0, "join");
    CHECK(player_wait_snapshots(&a, 3, 3000) == 0, "no snapshots");
    pthread_create(&a.thread, NULL, player_thread, &a);
    char tok[PROTO_MAX_TOKEN + 1];
    CHECK(get_token(sp.port, "first", tok, sizeof tok) == 0, "token");
    CHECK(spectator_join(&s1, sp.port, tok, PROTO_MATCH_ANY) == 0, "spectator 1");
    CHECK(player_wait_snapshots(&s1, 2, 3000) == 0, "spectator 1 gets no snapshots");
    CHECK(get_token(sp.port, "second", tok, sizeof tok) == 0, "token");
    CHECK(spectator_join(&s2, sp.port, tok, PROTO_MATCH_ANY) == 0, "spectator 2");
    int code = close_code_within(&s2, 3000);
    CHECK(code == PROTO_CLOSE_SERVER_FULL && strcmp(s2.ws.close_reason, "server full") == 0,
          "second spectator: close %d \"%s\"", code, s2.ws.close_reason);
    CHECK(player_wait_snapshots(&s1, 6, 3000) == 0 && s1.closed == 0, "the first spectator stopped");
    static char text[65536];
    CHECK(http_get(sp.port, "/metrics", text, sizeof text) == 200, "metrics");
    double full = metric_value(text, "tickwire_spectators_refused_total{reason=\"full\"}");
    CHECK(full == 1 && metric_value(text, "tickwire_spectators") == 1, "refused full %g, spectators %g", full,
          metric_value(text, "tickwire_spectators"));
    player_stop(&a);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    FILE *f = fopen(logpath, "r");
    char line[1024];
    int logged = 0;
    while (f && fgets(line, sizeof line, f))
        logged += strstr(line, "\"event\":\"spectate_refused\"") && strstr(line, "\"code\":4008");
    if (f)
        fclose(f);
    unlink(logpath);
    CHECK(logged == 1, "%d spectate_refused lines with code 4008", logged);
    printf("spectate_cap: second spectator closed 4008 \"%s\", logged once; the first got %u snapshots\n",
           s2.ws.close_reason, s1.snapshots);
    wsc_close(&a.ws);
    wsc_close(&s1.ws);
    wsc_close(&s2.ws);
}

/* --spectator-delay 2: the spectator's view is 2 s (120 ticks) behind the
 * players', from its WELCOME on; it never sends and is not idle-closed
 * (--idle-timeout 1); when the last player leaves it is closed 4012. */
static void case_spectate_delay(const char *server)
{
    const char *args[] = {"--spectator-delay", "2", "--spectator-rate", "10", "--idle-timeout", "1", NULL};
    spawn_proc sp;
    CHECK(server_start(&sp, server, args, NULL) == 0, "server did not start");
    static player a, s;
    CHECK(player_join(&a, sp.port, "live") == 0, "join");
    CHECK(player_wait_snapshots(&a, 150, 5000) == 0, "no snapshots");
    pthread_create(&a.thread, NULL, player_thread, &a);
    char tok[PROTO_MAX_TOKEN + 1];
    CHECK(get_token(sp.port, "late", tok, sizeof tok) == 0, "token");
    CHECK(spectator_join(&s, sp.port, tok, PROTO_MATCH_ANY) == 0, "spectator");
    CHECK(player_wait_snapshots(&s, 1, 3000) == 0, "spectator gets no snapshot");
    pthread_mutex_lock(&a.lock);
    uint32_t live = cl_latest(&a.cl)->tick;
    pthread_mutex_unlock(&a.lock);
    uint32_t welcome_tick = s.cl.welcome.server_tick;
    pthread_create(&s.thread, NULL, player_thread, &s);
    usleep(3000000);
    pthread_mutex_lock(&s.lock);
    pthread_mutex_lock(&a.lock);
    uint32_t st = cl_latest(&s.cl)->tick, at = cl_latest(&a.cl)->tick;
    pthread_mutex_unlock(&a.lock);
    pthread_mutex_unlock(&s.lock);
    player_stop(&s);
    player_stop(&a);
    printf("spectate_delay: welcome at tick %u (players at %u); after 3 s the spectator shows tick %u, the player "
           "%u: %d ticks behind; %u spectator snapshots, closed %d\n",
           welcome_tick, live, st, at, (int)(at - st), s.snapshots, s.closed);
    CHECK(live - welcome_tick >= 115 && live - welcome_tick <= 130, "welcome tick %u, live %u", welcome_tick, live);
    CHECK(at - st >= 114 && at - st <= 135, "spectator %u ticks behind", at - st);
    CHECK(s.closed == 0 && s.snapshots >= 25, "spectator: closed %d after %u snapshots", s.closed, s.snapshots);
    /* The last player leaves: the match ends, and its spectator is told
     * so (4012), however late its view. */
    uint8_t bye[2] = {1000 >> 8, 1000 & 0xff};
    wsc_send(&a.ws, WS_CLOSE, bye, 2);
    int code = close_code_within(&s, 3000);
    CHECK(code == PROTO_CLOSE_NO_SUCH_MATCH && strcmp(s.ws.close_reason, "match ended") == 0,
          "spectator of an ended match: close %d \"%s\"", code, s.ws.close_reason);
    CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    wsc_close(&s.ws);
    wsc_close(&a.ws);
}

/* Join tokens are single use across the fleet: a token used on one
 * process is refused (4001 "token already used") on another; a matchmade
 * token's seat is claimed at its JOIN (the reservation released and the
 * player counted at once, before any heartbeat); with Redis away a fresh
 * token still gets in (checked by the process alone, counted unchecked). */
static void case_fleet_tokens(const char *server)
{
    CHECK(access(REDIS_SERVER, X_OK) == 0, "%s is missing (setup installs redis-server)", REDIS_SERVER);
    char dir[] = "/tmp/tickwire-ftok-XXXXXX", secret[96], bearer_path[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(secret, sizeof secret, "%s/fleet.secret", dir);
    snprintf(bearer_path, sizeof bearer_path, "%s/mm.token", dir);
    const char *bearer = "matchmaker-token-0123456789";
    const char *key = "fleet-secret-0123456789abcdef0123456789";
    FILE *f = fopen(secret, "w");
    CHECK(f != NULL, "secret file");
    fprintf(f, "%s\n", key);
    fclose(f);
    f = fopen(bearer_path, "w");
    CHECK(f != NULL, "token file");
    fprintf(f, "%s\n", bearer);
    fclose(f);
    int rport = free_port();
    spawn_proc rs;
    CHECK(redis_start(&rs, rport) == 0, "redis-server did not start");
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", rport);
    spawn_proc sv[2];
    static const char *const ids[2] = {"tok-a", "tok-b"};
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"--redis", url, "--process-id", ids[i], "--token-secret-file", secret,
                              "--matchmaker-token-file", bearer_path, NULL};
        CHECK(server_start(&sv[i], server, args, NULL) == 0, "server %d did not start", i);
    }
    CHECK(redis_wait_int(rport, "ZCARD", "tw:procs", 2, 3000) >= 0, "the fleet did not register");
    char token[PROTO_MAX_TOKEN + 1], reason[128] = "";
    mint_for(key, "twice", "", 60, token, sizeof token);
    int a = join_outcome(sv[0].port, token, reason, sizeof reason);
    CHECK(a == 0, "a fresh token on %s: %d %s", ids[0], a, reason);
    int b = join_outcome(sv[1].port, token, reason, sizeof reason);
    printf("fleet_tokens: one token on %s -> welcomed; again on %s -> %d \"%s\"\n", ids[0], ids[1], b, reason);
    CHECK(b == PROTO_CLOSE_TOKEN_REFUSED && strcmp(reason, "token already used") == 0,
          "the same token on another process: %d %s", b, reason);

    /* A matchmade seat, claimed at the JOIN. */
    static char body[2048];
    CHECK(post_bearer(sv[0].port, "/api/matchmake?request_id=claim-request-1&name=seated", bearer, body,
                      sizeof body) == 200,
          "matchmake: %s", body);
    char proc[72], mtoken[256];
    json_str(body, "process", proc, sizeof proc);
    json_str(body, "token", mtoken, sizeof mtoken);
    int pi = strcmp(proc, ids[0]) == 0 ? 0 : 1;
    char seats_key[96], proc_key[96], v[32];
    snprintf(seats_key, sizeof seats_key, "tw:seats:%s", proc);
    snprintf(proc_key, sizeof proc_key, "tw:proc:%s", proc);
    CHECK(redis_int(rport, "ZCARD", seats_key) == 1, "the seat is not reserved");
    redis_hget(rport, proc_key, "players", v, sizeof v);
    int before = atoi(v);
    static player p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.lock, NULL);
    p.ack = 1;
    p.inputs_left = -1;
    cl_init(&p.cl);
    char err[160];
    CHECK(wsc_connect(&p.ws, "127.0.0.1", sv[pi].port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "connect: %s", err);
    cl_set_token(&p.cl, mtoken);
    uint8_t jb[PROTO_MAX_JOIN_MSG];
    size_t jn = cl_write_join(&p.cl, jb, sizeof jb);
    CHECK(wsc_send(&p.ws, WS_BINARY, jb, jn) == 0, "join");
    CHECK(player_wait_snapshots(&p, 2, 3000) == 0, "the matchmade player got no snapshot");
    long long seats_after = redis_int(rport, "ZCARD", seats_key);
    redis_hget(rport, proc_key, "players", v, sizeof v);
    int after = atoi(v);
    printf("fleet_tokens: matchmade seat on %s claimed at the JOIN: reservations 1 -> %lld, players %d -> %d\n", proc,
           seats_after, before, after);
    CHECK(seats_after == 0 && after == before + 1, "seat claim: reservations %lld, players %d -> %d", seats_after,
          before, after);
    wsc_close(&p.ws);

    /* Redis away: a fresh token still gets in, unchecked. */
    CHECK(kill(rs.pid, SIGKILL) == 0, "kill redis");
    spawn_wait(&rs, 1000);
    static char text[65536];
    double t0 = check_now_ms();
    while (check_now_ms() < t0 + 3000 &&
           (metrics_get(sv[1].port, text, sizeof text) != 200 || metric_value(text, "tickwire_redis_up") != 0))
        usleep(20000);
    mint_for(key, "outage", "", 60, token, sizeof token);
    b = join_outcome(sv[1].port, token, reason, sizeof reason);
    CHECK(b == 0, "a fresh token while Redis is away: %d %s", b, reason);
    CHECK(metrics_get(sv[1].port, text, sizeof text) == 200, "metrics");
    double used = metric_value(text, "tickwire_token_claims_total{result=\"used\"}");
    double unchecked = metric_value(text, "tickwire_token_claims_total{result=\"unchecked\"}");
    printf("fleet_tokens: Redis away: a fresh token joined %s unchecked (claims used %g, unchecked %g)\n", ids[1], used,
           unchecked);
    CHECK(used == 1 && unchecked == 1, "claims on %s: used %g, unchecked %g", ids[1], used, unchecked);
    for (int i = 0; i < 2; i++)
        CHECK(spawn_stop(&sv[i], 0, NULL) == 0, "exit status");
    unlink(secret);
    unlink(bearer_path);
    rmdir(dir);
}

/* tickwire-bots through the matchmaker (--matchmaker-token-file): 60 bots
 * on three processes; at 7 s one process is killed (-9). Its bots try to
 * resume, fail, go back to the matchmaker and play again on the others
 * within 10 s; the other bots are not disturbed (exactly the dead process's
 * players dropped); at the end all 60 play, on the two live processes. */
static void case_fleet_bots(const char *server)
{
    const char *bots = getenv("TICKWIRE_BOTS");
    CHECK(bots && access(bots, X_OK) == 0, "set TICKWIRE_BOTS to the tickwire-bots binary");
    CHECK(access(REDIS_SERVER, X_OK) == 0, "%s is missing (setup installs redis-server)", REDIS_SERVER);
    char dir[] = "/tmp/tickwire-fbots-XXXXXX", secret[96], bearer_path[96], report[96];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(secret, sizeof secret, "%s/fleet.secret", dir);
    snprintf(bearer_path, sizeof bearer_path, "%s/mm.token", dir);
    snprintf(report, sizeof report, "%s/report.json", dir);
    FILE *f = fopen(secret, "w");
    CHECK(f != NULL, "secret file");
    fputs("fleet-secret-0123456789abcdef0123456789\n", f);
    fclose(f);
    f = fopen(bearer_path, "w");
    CHECK(f != NULL, "token file");
    fputs("matchmaker-token-0123456789\n", f);
    fclose(f);
    int rport = free_port();
    spawn_proc rs;
    CHECK(redis_start(&rs, rport) == 0, "redis-server did not start");
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", rport);
    spawn_proc sv[3];
    static const char *const ids[3] = {"fb-1", "fb-2", "fb-3"};
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--redis", url, "--process-id", ids[i], "--token-secret-file", secret,
                              "--matchmaker-token-file", bearer_path, "--match-size", "16", NULL};
        CHECK(server_start(&sv[i], server, args, NULL) == 0, "server %d did not start", i);
    }
    CHECK(redis_wait_int(rport, "ZCARD", "tw:procs", 3, 3000) >= 0, "the fleet did not register");
    char mm_url[64];
    snprintf(mm_url, sizeof mm_url, "http://127.0.0.1:%d/", sv[0].port);
    const char *argv[] = {bots, "--url", mm_url, "--matchmaker-token-file", bearer_path, "--bots", "60", "--ramp", "2",
                          "--duration", "18", "--behavior", "wander", "--report", report, NULL};
    spawn_proc bp;
    char err[160];
    CHECK(spawn_start(&bp, &(spawn_desc){.argv = argv, .stdout_path = "/dev/null"}, err, sizeof err) == 0, "bots: %s",
          err);
    usleep(7000000);
    char v[16];
    redis_hget(rport, "tw:proc:fb-3", "players", v, sizeof v);
    int on_dead = atoi(v);
    CHECK(kill(sv[2].pid, SIGKILL) == 0, "kill");
    spawn_wait(&sv[2], 1000);
    CHECK(spawn_wait(&bp, 30000) == 0, "the bots did not finish");
    static char json[1 << 20];
    FILE *rf = fopen(report, "r");
    CHECK(rf != NULL, "no report");
    size_t n = fread(json, 1, sizeof json - 1, rf);
    fclose(rf);
    json[n] = '\0';
    double end = json_number(json, "connections", "connected_end");
    double drops = json_number(json, "fleet", "drops_by_server");
    double rejoined = json_number(json, "fleet", "rejoined");
    double rejoin_max = json_number(json, "rejoin_ms", "max");
    double pct = json_number(json, "bots_measured", "min_bot_pct");
    char dead_host[32];
    snprintf(dead_host, sizeof dead_host, "\"127.0.0.1:%d\"", sv[2].port);
    printf("fleet_bots: 60 bots through the matchmaker on 3 processes; kill -9 of one with %d players: %g dropped, "
           "%g back as new players elsewhere (drop -> playing again max %.1f s); %g playing at the end, none on the "
           "dead one: %s; the lowest bot got %.1f%% of its snapshots\n",
           on_dead, drops, rejoined, rejoin_max / 1000, end, strstr(json, dead_host) ? "no" : "yes", pct);
    CHECK(on_dead >= 5, "the killed process held only %d players: not spread", on_dead);
    CHECK(drops == on_dead && rejoined == on_dead, "dropped %g, rejoined %g, want %d (the dead process's)", drops,
          rejoined, on_dead);
    CHECK(rejoin_max > 0 && rejoin_max < 10000, "back after %.1f s", rejoin_max / 1000);
    CHECK(end == 60 && !strstr(json, dead_host), "%g playing at the end", end);
    for (int i = 0; i < 2; i++)
        CHECK(spawn_stop(&sv[i], 0, NULL) == 0, "exit status");
    spawn_stop(&rs, 0, NULL);
    unlink(report);
    unlink(secret);
    unlink(bearer_path);
    rmdir(dir);
}

/* Descriptors of process pid whose /proc link reads `target`; -1 if unreadable. */
static int fds_linking(pid_t pid, const char *target)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[128], link[128];
        size_t dl = strlen(dir), nl = strlen(e->d_name);
        if (e->d_name[0] == '.' || nl > 32)
            continue;
        memcpy(path, dir, dl); /* not snprintf: gcc -O0 warns of truncating d_name */
        path[dl] = '/';
        memcpy(path + dl + 1, e->d_name, nl + 1);
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k > 0) {
            link[k] = 0;
            n += strcmp(link, target) == 0;
        }
    }
    closedir(d);
    return n;
}

/* --pacing: with only game connections open, the loop wakes once a tick
 * (tickwire_loop_turns_total{mode="paced"}), not once per message as with
 * --pacing off; both play at the full snapshot rate. */
static void case_pacing(const char *server)
{
    for (int off = 0; off < 2; off++) {
        const char *extra[] = {"--pacing", off ? "off" : "on", NULL};
        spawn_proc sp;
        CHECK(server_start(&sp, server, extra, NULL) == 0, "server did not start");
        enum { N = 4 };
        player p[N];
        pthread_t th[N];
        for (int i = 0; i < N; i++) {
            char name[16];
            snprintf(name, sizeof name, "pace%d", i);
            CHECK(player_join(&p[i], sp.port, name) == 0, "join failed");
            CHECK(player_wait_snapshots(&p[i], 1, 3000) == 0, "no snapshot");
            pthread_create(&th[i], NULL, player_thread, &p[i]);
        }
        usleep(500000);
        /* lws waits in epoll (scripts/lws-4.1.6-epoll.patch), not poll()
         * over every socket: one epoll set for the loop, plus the native
         * game connections' own (ws_native.h), which sits in lws'. */
        int epolls = fds_linking(sp.pid, "anon_inode:[eventpoll]");
        CHECK(epolls == 2, "the server holds %d epoll descriptors, not 2 (lws' and the native set's): is lws built "
              "without the epoll patch?", epolls);
        char text[65536];
        http_get(sp.port, "/metrics", text, sizeof text);
        double paced0 = metric_value(text, "tickwire_loop_turns_total{mode=\"paced\"}");
        double events0 = metric_value(text, "tickwire_loop_turns_total{mode=\"events\"}");
        double ticks0 = metric_value(text, "tickwire_ticks_total"), t0 = check_now_ms();
        uint32_t snaps0[N];
        for (int i = 0; i < N; i++)
            snaps0[i] = player_snapshots(&p[i]);
        usleep(2000000);
        http_get(sp.port, "/metrics", text, sizeof text);
        double secs = (check_now_ms() - t0) / 1000;
        double paced = (metric_value(text, "tickwire_loop_turns_total{mode=\"paced\"}") - paced0) / secs;
        double events = (metric_value(text, "tickwire_loop_turns_total{mode=\"events\"}") - events0) / secs;
        double ticks = (metric_value(text, "tickwire_ticks_total") - ticks0) / secs;
        uint32_t fewest = UINT32_MAX;
        for (int i = 0; i < N; i++) {
            uint32_t got = player_snapshots(&p[i]) - snaps0[i];
            fewest = got < fewest ? got : fewest;
            p[i].stop = 1;
            pthread_join(th[i], NULL);
            wsc_close(&p[i].ws);
        }
        printf("pacing %s: %.0f paced and %.0f event turns a second, %.0f ticks a second, fewest snapshots %.0f/s\n",
               off ? "off" : "on", paced, events, ticks, fewest / secs);
        CHECK(fewest / secs >= 50, "pacing %s: a player got %.0f snapshots a second of 60", off ? "off" : "on",
              fewest / secs);
        if (!off) {
            /* One turn a tick (a scrape's HTTP connection adds a few event turns). */
            CHECK(paced >= 0.8 * ticks && paced <= 1.1 * ticks, "paced: %.0f turns a second for %.0f ticks", paced, ticks);
            CHECK(events < 0.5 * ticks, "paced: still %.0f event turns a second", events);
        } else {
            CHECK(paced == 0 && events > 1.5 * ticks, "--pacing off: %.0f paced, %.0f event turns a second (%.0f ticks)",
                  paced, events, ticks);
        }
        CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    }
}

/* The next frame the server sends, whatever its kind (pongs included),
 * skipping data frames: its opcode and payload. 0 on timeout, -1 on EOF. */
static int next_control(wsc *c, uint8_t *payload, size_t cap, size_t *len, int timeout_ms)
{
    static uint8_t skipped[1 << 16];
    double end = check_now_ms() + timeout_ms;
    for (;;) {
        int op;
        size_t n;
        while (c->len >= 1 && !(c->buf[0] & 0x08) ? wsc_frame_take(c, &op, skipped, sizeof skipped, &n)
                                                  : wsc_frame_take(c, &op, payload, cap, len)) {
            if (op & 0x08)
                return op;
        }
        int left = (int)(end - check_now_ms());
        if (left <= 0)
            return 0;
        if (wsc_fill(c, left) < 0)
            return -1;
    }
}

/* Connects and joins; the WELCOME read. */
static void frames_join(wsc *c, int port, const char *name)
{
    char err[128];
    CHECK(wsc_connect(c, "127.0.0.1", port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s: %s", name, err);
    uint8_t j[PROTO_MAX_JOIN_MSG], msg[PROTO_MAX_SNAPSHOT];
    size_t n = join_msg(port, name, j, sizeof j), len;
    wsc_send(c, WS_BINARY, j, n);
    CHECK(wsc_recv(c, msg, sizeof msg, &len, 3000) == WS_BINARY && msg[0] == PROTO_WELCOME, "%s: no welcome", name);
}

/* WebSocket framing on the game connection, which the server frames
 * itself once upgraded (--ws-native on, the default; ws_native.h): a ping
 * is answered with its payload, a JOIN in fragments with a ping between
 * them is read whole, a peer's close is answered with its code, and each
 * frame RFC 6455 forbids is closed with 1002, counted and logged, while
 * a watcher plays on. With --ws-native off (lws frames) the first three
 * hold too. */
static void case_ws_frames(const char *server)
{
    for (int off = 0; off < 2; off++) {
        const char *extra[] = {"--ws-native", off ? "off" : "on", NULL};
        spawn_proc sp;
        CHECK(server_start(&sp, server, extra, NULL) == 0, "server did not start");
        player w;
        CHECK(player_join(&w, sp.port, "watcher") == 0, "join");
        w.buttons = SIM_BTN_RIGHT;
        pthread_create(&w.thread, NULL, player_thread, &w);
        const char *mode = off ? "lws" : "native";
        uint8_t pl[256];
        size_t len;

        /* A ping, after the JOIN: a pong with the same bytes. */
        wsc a;
        frames_join(&a, sp.port, "pinger");
        wsc_send(&a, WS_PING, "tick-tock", 9);
        int op = next_control(&a, pl, sizeof pl, &len, 3000);
        CHECK(op == WS_PONG && len == 9 && memcmp(pl, "tick-tock", 9) == 0, "%s: ping answered with op %d len %zu",
              mode, op, len);
        /* The peer closes with 1000: the same code back, then the hang-up. */
        wsc_send(&a, WS_CLOSE, "\x03\xe8" "bye", 5);
        op = next_control(&a, pl, sizeof pl, &len, 3000);
        CHECK(op == WS_CLOSE && len >= 2 && (pl[0] << 8 | pl[1]) == 1000, "%s: close answered with op %d code %d",
              mode, op, len >= 2 ? pl[0] << 8 | pl[1] : -1);
        CHECK(next_control(&a, pl, sizeof pl, &len, 3000) == -1, "%s: not hung up after the close", mode);
        wsc_close(&a);

        /* A JOIN cut in three fragments, a ping between two: read whole. */
        wsc b;
        char err[128];
        CHECK(wsc_connect(&b, "127.0.0.1", sp.port, PROTO_SUBPROTOCOL, err, sizeof err) == 0, "%s", err);
        uint8_t j[PROTO_MAX_JOIN_MSG], msg[PROTO_MAX_SNAPSHOT];
        size_t n = join_msg(sp.port, "fragments", j, sizeof j);
        CHECK(n > 4, "join message");
        wsc_send_frame(&b, WS_BINARY, 0, j, 2);
        wsc_send_frame(&b, WS_PING, 1, "p", 1);
        wsc_send_frame(&b, 0, 0, j + 2, 1);
        wsc_send_frame(&b, 0, 1, j + 3, n - 3);
        op = wsc_recv(&b, msg, sizeof msg, &len, 3000);
        CHECK(op == WS_BINARY && msg[0] == PROTO_WELCOME, "%s: fragmented JOIN: op %d", mode, op);
        wsc_close(&b);

        if (!off && !wsc_tls_enabled()) {
            /* Frames RFC 6455 forbids, each after a JOIN: 1002. (Over
             * TLS every connection stays on lws.) */
            static const struct {
                const char *name;
                uint8_t bytes[8];
                size_t len;
            } bad[] = {
                {"unmasked frame", {0x82, 0x01, 0x02}, 3},
                {"reserved bit", {0xc2, 0x81, 1, 2, 3, 4, 0x06}, 7},
                {"unknown opcode", {0x83, 0x81, 1, 2, 3, 4, 0x06}, 7},
                {"fragmented ping", {0x09, 0x81, 1, 2, 3, 4, 0x06}, 7},
                {"lone continuation", {0x80, 0x81, 1, 2, 3, 4, 0x06}, 7},
                {"close code 1005", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed}, 8},
            };
            char text[65536];
            http_get(sp.port, "/metrics", text, sizeof text);
            double malformed0 = metric_value(text, "tickwire_bad_messages_total{reason=\"malformed\"}");
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                wsc c;
                frames_join(&c, sp.port, "framer");
                wsc_write(&c, bad[i].bytes, bad[i].len);
                op = next_control(&c, pl, sizeof pl, &len, 3000);
                int code = op == WS_CLOSE && len >= 2 ? pl[0] << 8 | pl[1] : -1;
                CHECK(code == 1002, "%s: closed with %d (op %d), want 1002", bad[i].name, code, op);
                if (i == 0) {
                    /* This client never answers the close: the server
                     * hangs up once its 2 s grace is over. */
                    double t0 = check_now_ms();
                    int eof = next_control(&c, pl, sizeof pl, &len, 4000);
                    double waited = check_now_ms() - t0;
                    CHECK(eof == -1 && waited > 1500 && waited < 3500,
                          "an unanswered close: op %d after %.0f ms, want a hang-up after ~2 s", eof, waited);
                }
                printf("ws_frames: %-18s -> close %d\n", bad[i].name, code);
                wsc_close(&c);
            }
            http_get(sp.port, "/metrics", text, sizeof text);
            double malformed = metric_value(text, "tickwire_bad_messages_total{reason=\"malformed\"}") - malformed0;
            CHECK(malformed == (double)(sizeof bad / sizeof bad[0]), "%.0f frames counted as malformed", malformed);
        }
        uint32_t before = player_snapshots(&w);
        double end = check_now_ms() + 3000;
        while (player_snapshots(&w) < before + 10 && check_now_ms() < end)
            usleep(5000);
        CHECK(player_snapshots(&w) >= before + 10 && w.closed == 0, "%s: the watcher stopped playing", mode);
        printf("ws_frames %s: ping, close, fragments%s passed\n", mode, off ? "" : ", violations");
        w.stop = 1;
        pthread_join(w.thread, NULL);
        wsc_close(&w.ws);
        CHECK(spawn_stop(&sp, 0, NULL) == 0, "server exit status");
    }
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[3], "--tls") == 0) {
        g_tls_cert = argv[4];
        g_tls_key = argv[5];
        wsc_use_tls(g_tls_cert);
    } else if (argc == 5 && strcmp(argv[3], "--chain") == 0) {
        g_chain_dir = argv[4]; /* tls_chain: the files of make_chain.sh */
    } else if (argc != 3) {
        fprintf(stderr, "usage: %s SERVER CASE [--tls CERT KEY | --chain DIR]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static const struct {
        const char *name;
        void (*fn)(const char *);
    } cases[] = {{"play", case_play}, {"delta", case_delta}, {"aoi", case_aoi}, {"bad_input", case_bad_input},
                 {"matches", case_matches}, {"shutdown", case_shutdown}, {"cli", case_cli},
                 {"metrics", case_metrics}, {"prometheus", case_prometheus}, {"logs", case_logs}, {"slow_reader", case_slow_reader},
                 {"limits", case_limits}, {"auth", case_auth}, {"resume", case_resume},
                 {"adversarial", case_adversarial}, {"stall", case_stall}, {"latency", case_latency},
                 {"fight", case_fight},
                 {"replay", case_replay}, {"replays_http", case_replays_http},
                 {"startup", case_startup}, {"leave", case_leave},
                 {"max_conns", case_max_conns}, {"fd_limit", case_fd_limit}, {"drain", case_drain}, {"agones", case_agones}, {"fleet_registry", case_fleet_registry}, {"matchmake", case_matchmake}, {"fleet_drain", case_fleet_drain}, {"fleet_tokens", case_fleet_tokens}, {"fleet_bots", case_fleet_bots}, {"handshake", case_handshake}, {"results", case_results},
                 {"live", case_live}, {"conn_caps", case_conn_caps},
                 {"tls_chain", case_tls_chain}, {"metrics_private", case_metrics_private},
                 {"spectate", case_spectate}, {"spectate_crowd", case_spectate_crowd},
                 {"spectate_delay", case_spectate_delay}, {"spectate_cap", case_spectate_cap},
                 {"pacing", case_pacing}, {"ws_frames", case_ws_frames}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(argv[2], cases[i].name) == 0) {
            cases[i].fn(argv[1]);
            printf("%s: %s\n", cases[i].name, check_failures ? "FAILED" : "passed");
            return check_failures != 0;
        }
    }
    fprintf(stderr, "unknown case %s\n", argv[2]);
    return 2;
}
