/* fuzz_session: whole sessions against the real server core (server/core.c),
 * the way the libwebsockets adapter drives it, in any order: connections
 * open, send JOINs (with tokens the harness signs, forged ones, resume
 * tokens of players seen before), inputs, raw bytes split into fragments or
 * sent as text, become writable or not, close with or without a close
 * frame; the clock ticks and jumps; the server shuts down.
 *
 * After every step the invariants the core promises are checked against its
 * own state:
 *   - every connection the harness holds open is a live session; every
 *     closed one is dead; the core counts exactly the open ones;
 *   - a person's slot is owned by exactly one live PLAYING session that
 *     points back at it, or by none while held for a resume (at most one
 *     session per player); a REPLACED session is closing;
 *   - every close has a documented code (1001-1011, 4001-4010), and an
 *     ABORT is only for a reader that stalled or an encode that failed;
 *   - what core_conn_writable returns is a WELCOME for that session's own
 *     player, or a SNAPSHOT, and decodes;
 *   - at the end, with every connection closed and the holds run out, no
 *     match is left, and the core frees everything (LeakSanitizer).
 *
 * Framing: cfg:u8, then ops: op:u8, kind = op & 7, conn = (op >> 3) & 3,
 * arg = op >> 5; some ops read further bytes (see each case). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core.h"
#include "fuzz_common.h"
#include "log.h"
#include "proto.h"
#include "token.h"

#define NCONN 4
#define NRESUME 8
#define UNIX_NOW 1900000000ull

static const uint8_t SECRET[32] = "fuzz_session secret, 32 bytes..";

typedef struct fconn {
    uint32_t h;          /* 0: closed */
    int closing;         /* the core asked to close or abort */
    int wants_write;     /* a WAKE not yet served */
    int reads;           /* serves WAKEs at once (a fast reader) */
    uint32_t next_seq;   /* the next input seq it sends */
    uint32_t last_tick;  /* newest snapshot tick it received */
} fconn;

typedef struct harness {
    core *c;
    fconn conn[NCONN];
    int64_t now_us;
    int period_us;
    uint64_t rng_counter, nonce_counter;
    uint8_t resumes[NRESUME][PROTO_RESUME_LEN]; /* resume tokens seen in WELCOMEs */
    int nresumes;
} harness;

static harness H;

static void fuzz_random(void *user, void *buf, size_t len)
{
    harness *h = user;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        h->rng_counter = h->rng_counter * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(h->rng_counter >> 56);
    }
}

static void quiet_log(void *user, log_level level, const char *event, const char *kv)
{
    (void)user, (void)level, (void)event, (void)kv;
}

static fconn *conn_of(uint32_t handle)
{
    for (int i = 0; i < NCONN; i++)
        if (H.conn[i].h == handle)
            return &H.conn[i];
    return NULL;
}

static void serve_write(fconn *fc);

/* Carries out the core's actions, as the adapter does. */
static void drain(void)
{
    core_action a;
    while (core_next_action(H.c, &a)) {
        fconn *fc = conn_of(a.conn);
        FZ_CHECK(fc && fc->h && a.transport == fc);
        FZ_CHECK(core_session(H.c, a.conn) != NULL);
        switch (a.kind) {
        case CORE_WAKE:
            FZ_CHECK(!fc->closing);
            fc->wants_write = 1;
            break;
        case CORE_CLOSE:
            FZ_CHECK(fz_close_documented(a.code) && a.reason && a.reason[0]);
            fc->closing = 1;
            break;
        case CORE_ABORT:
            FZ_CHECK(a.code == PROTO_CLOSE_SLOW_READER || a.code == 1011);
            fc->closing = 1;
            break;
        default:
            FZ_CHECK(0);
        }
    }
    for (int i = 0; i < NCONN; i++)
        if (H.conn[i].h && H.conn[i].reads && H.conn[i].wants_write && !H.conn[i].closing)
            serve_write(&H.conn[i]);
}

static void serve_write(fconn *fc)
{
    static uint8_t buf[CORE_MAX_MESSAGE];
    fc->wants_write = 0;
    size_t n = core_conn_writable(H.c, fc->h, H.now_us, buf, sizeof buf);
    const session *ss = core_session(H.c, fc->h);
    FZ_CHECK(ss);
    if (n == 0)
        return;
    FZ_CHECK(n <= sizeof buf && ss->state == SESSION_PLAYING);
    int type = buf[0];
    if (type == PROTO_WELCOME) {
        proto_welcome w;
        FZ_CHECK(proto_welcome_read(buf, n, &w) == PROTO_OK);
        FZ_CHECK(w.player_id == ss->pid && w.match_id == ss->m->id);
        FZ_CHECK(memcmp(w.resume, ss->m->players[ss->pid].resume, PROTO_RESUME_LEN) == 0);
        memcpy(H.resumes[H.nresumes++ % NRESUME], w.resume, PROTO_RESUME_LEN);
        fc->next_seq = ss->m->players[ss->pid].last_received + 1;
        fc->last_tick = 0;
    } else {
        proto_snapshot_header sh;
        FZ_CHECK(type == PROTO_SNAPSHOT && proto_snapshot_header_read(buf, n, &sh) == PROTO_OK);
        FZ_CHECK(sh.tick == match_latest_snapshot_tick(ss->m) && sh.tick > fc->last_tick);
        fc->last_tick = sh.tick;
    }
    drain();
}

static void check_invariants(void)
{
    int open = 0;
    for (int i = 0; i < NCONN; i++) {
        fconn *fc = &H.conn[i];
        if (!fc->h)
            continue;
        open++;
        const session *ss = core_session(H.c, fc->h);
        FZ_CHECK(ss && ss->transport == fc);
        FZ_CHECK(ss->state != SESSION_REPLACED || ss->close_code);
        FZ_CHECK(!ss->close_code || fc->closing);
        if (ss->state == SESSION_PLAYING && !ss->close_code)
            FZ_CHECK(ss->m->players[ss->pid].owner == fc->h);
    }
    FZ_CHECK(core_connections(H.c) == open);
    const lobby *l = core_lobby(H.c);
    for (int i = 0; i < l->nmatches; i++) {
        const match *m = l->matches[i];
        int humans = 0;
        for (int id = 0; id < m->cfg.size; id++) {
            const match_player *p = &m->players[id];
            if (!p->used || p->npc) {
                FZ_CHECK(p->owner == 0);
                continue;
            }
            humans++;
            if (p->held_until) {
                FZ_CHECK(p->owner == 0);
                continue;
            }
            const session *ss = core_session(H.c, p->owner);
            FZ_CHECK(ss && ss->state == SESSION_PLAYING && ss->m == m && ss->pid == id);
        }
        FZ_CHECK(humans == m->humans && humans > 0);
    }
}

static void conn_close(fconn *fc, int peer_code)
{
    if (peer_code)
        core_conn_peer_close(H.c, fc->h, peer_code);
    core_conn_closed(H.c, fc->h, H.now_us);
    FZ_CHECK(core_session(H.c, fc->h) == NULL);
    memset(fc, 0, sizeof *fc);
    drain();
}

/* A JOIN: with a token the backend signed (or a forged one), a resume
 * token seen before (or made up), or both. */
static void send_join(fconn *fc, int arg, const uint8_t **d, size_t *n)
{
    char tok[TOKEN_MAX_B64 + 1] = "";
    if (!(arg & 4)) {
        token_claims tc;
        memset(&tc, 0, sizeof tc);
        tc.player_id = ++H.nonce_counter;
        snprintf(tc.name, sizeof tc.name, "p%llu", (unsigned long long)tc.player_id);
        snprintf(tc.match, sizeof tc.match, "%s", (arg & 1) ? "ranked" : "");
        uint8_t sel = *n ? (*d)[0] : 0;
        if (*n) {
            (*d)++;
            (*n)--;
        }
        tc.expiry = UNIX_NOW + ((sel & 3) == 3 ? 7200 : (sel & 3) == 2 ? 0 : 60); /* too long / expired / fine */
        memcpy(tc.nonce, &H.nonce_counter, sizeof H.nonce_counter);
        if ((sel & 12) == 12)
            memset(tc.nonce, 0, sizeof tc.nonce); /* the same nonce each time: a replay from the second on */
        static const uint8_t wrong[32] = "not the secret, 32 bytes long..";
        token_mint(&tc, (sel & 16) ? wrong : SECRET, 32, tok, sizeof tok);
    }
    const uint8_t *resume = NULL;
    uint8_t made_up[PROTO_RESUME_LEN];
    if (arg & 2 || !tok[0]) {
        if (H.nresumes && !(arg & 1)) {
            resume = H.resumes[(H.nresumes - 1 - (int)(*n ? (*d)[0] % 3 : 0) + NRESUME * 4) % NRESUME];
        } else {
            memset(made_up, 0x5a, sizeof made_up);
            resume = made_up;
        }
    }
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    size_t len = proto_join_write(tok, resume, buf, sizeof buf);
    FZ_CHECK(len > 0);
    core_conn_recv(H.c, fc->h, H.now_us, buf, len, 0, 1, 0);
}

static void send_input(fconn *fc, int arg, const uint8_t **d, size_t *n)
{
    proto_input_msg m;
    memset(&m, 0, sizeof m);
    m.count = (uint8_t)(1 + (arg & 7) % PROTO_MAX_INPUTS_PER_MSG);
    m.first_seq = fc->next_seq ? fc->next_seq : 1;
    if (*n && ((*d)[0] & 0xc0) == 0xc0)
        m.first_seq += (*d)[0] & 3; /* a gap: out of order */
    m.ack_tick = fc->last_tick;
    if (*n && ((*d)[0] & 0x30) == 0x30)
        m.ack_tick += 1000; /* a tick never sent */
    for (int i = 0; i < m.count; i++) {
        uint8_t b = *n > (size_t)i + 1 ? (*d)[i + 1] : (uint8_t)i;
        m.in[i].buttons = b & 0x1f;
        m.in[i].aim = (uint16_t)(b * 257);
    }
    size_t used = *n < (size_t)m.count + 1 ? *n : (size_t)m.count + 1;
    *d += used;
    *n -= used;
    uint8_t buf[PROTO_MAX_CLIENT_MSG];
    size_t len = proto_input_write(&m, buf, sizeof buf);
    FZ_CHECK(len > 0);
    fc->next_seq = m.first_seq + m.count;
    core_conn_recv(H.c, fc->h, H.now_us, buf, len, 0, 1, 0);
}

/* Raw bytes, whole or in fragments, binary or text. */
static void send_raw(fconn *fc, int arg, const uint8_t **d, size_t *n)
{
    size_t len = *n ? (*d)[0] : 0;
    if (*n) {
        (*d)++;
        (*n)--;
    }
    len = len % 320;
    if (len > *n)
        len = *n;
    const uint8_t *p = *d;
    *d += len;
    *n -= len;
    int parts = 1 + (arg & 3), text = arg == 7;
    size_t off = 0;
    for (int k = 0; k < parts; k++) {
        size_t part = k == parts - 1 ? len - off : (len - off) / 2;
        size_t pending = (arg & 4) && k < parts - 1 ? len - off - part : 0;
        core_conn_recv(H.c, fc->h, H.now_us, p + off, part, pending, k == parts - 1, text);
        off += part;
        drain();
        if (!H.conn[fc - H.conn].h)
            return;
    }
}

static void run_ticks(int count)
{
    for (int k = 0; k < count; k++) {
        H.now_us += H.period_us;
        core_tick(H.c, H.now_us);
        drain();
    }
    /* The transport's close backstop: a closing connection is gone soon. */
    for (int i = 0; i < NCONN; i++)
        if (H.conn[i].h && H.conn[i].closing)
            conn_close(&H.conn[i], 0);
}

static void step(int kind, int ci, int arg, const uint8_t **d, size_t *n)
{
    fconn *fc = &H.conn[ci];
    switch (kind) {
    case 0: /* open */
        if (fc->h)
            break;
        fc->reads = !(arg & 1);
        fc->h = core_conn_open(H.c, H.now_us, fc, "127.0.0.1:40000", (arg & 2) ? "::1" : "127.0.0.1");
        FZ_CHECK(fc->h != 0);
        drain();
        break;
    case 1:
        if (fc->h)
            send_join(fc, arg, d, n);
        break;
    case 2:
        if (fc->h)
            send_raw(fc, arg, d, n);
        break;
    case 3:
        if (fc->h)
            send_input(fc, arg, d, n);
        break;
    case 4: /* the clock: a few ticks, or a jump of seconds (stalls, timeouts) */
        if (arg == 7)
            H.now_us += 3000000;
        run_ticks(arg == 7 ? 1 : 1 + arg);
        break;
    case 5: /* writable now; arg toggles whether it keeps reading */
        if (fc->h && fc->wants_write && !fc->closing)
            serve_write(fc);
        if (fc->h && (arg & 1))
            fc->reads = !fc->reads;
        break;
    case 6: { /* the connection goes: no close frame, a leave, or a drop */
        static const int codes[4] = {0, 1000, 1001, PROTO_CLOSE_CLIENT_DROP};
        if (fc->h)
            conn_close(fc, codes[arg & 3]);
        break;
    }
    case 7: /* the side doors, and (rarely) shutdown */
        if (arg == 7 && *n && (*d)[0] == 0xff) {
            core_shutdown(H.c);
        } else if (arg & 1) {
            int st = core_admit(H.c, (arg & 2) ? "http://evil.example" : "", "127.0.0.1:8080", "127.0.0.1");
            FZ_CHECK(st == 0 || st == 403 || st == 503);
        } else {
            static char text[32768];
            size_t len = core_metrics_text(H.c, NULL, text, sizeof text);
            FZ_CHECK(len > 0 && len < sizeof text && strstr(text, "tickwire_connections"));
        }
        break;
    }
    if (kind != 0 && kind != 6 && kind != 4)
        drain();
    check_invariants();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int rates[4] = {10, 20, 10, 60}; /* mostly slow: the rules do not depend on the rate */
    log_set_sink(quiet_log, NULL);
    log_set_level(LOG_ERROR); /* the formatting costs a third of the run; what is logged is integration-tested */
    uint8_t cfg_byte = data[0];
    memset(&H, 0, sizeof H);
    sim_map map;
    memset(&map, 0, sizeof map);
    map.width = 512;
    map.height = 384;
    map.nwalls = 1;
    map.walls[0] = (sim_wall){200, 100, 260, 300};
    core_config cc = {
        .tick_rate = rates[cfg_byte & 3],
        .match_size = 1 + ((cfg_byte >> 2) & 3),
        .npcs = (cfg_byte >> 4) & 1,
        .max_matches = 1 + ((cfg_byte >> 5) & 1),
        .resume_grace = (cfg_byte & 0x40) ? 1 : 0,
        .idle_timeout = 2,
        .seed = 7,
        .replay_slots = 64,
        .admission = {.max_conns = 2 + (cfg_byte >> 7), .max_conns_per_ip = 2},
        .secret = (cfg_byte & 0x80) ? NULL : SECRET, /* demo mode: every token is forged */
        .secret_len = sizeof SECRET,
        .random = fuzz_random,
        .random_user = &H,
    };
    if (cc.npcs >= cc.match_size)
        cc.npcs = 0;
    char err[128];
    H.c = core_create(&cc, &map, err, sizeof err);
    FZ_CHECK(H.c != NULL);
    core_set_unix_time(H.c, UNIX_NOW);
    H.period_us = 1000000 / cc.tick_rate;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    while (n > 0) {
        uint8_t op = *d++;
        n--;
        step(op & 7, (op >> 3) & 3, op >> 5, &d, &n);
    }
    /* Everyone goes; the holds run out; nothing may be left. */
    for (int i = 0; i < NCONN; i++)
        if (H.conn[i].h)
            conn_close(&H.conn[i], 0);
    run_ticks(cc.resume_grace * cc.tick_rate + 2);
    check_invariants();
    FZ_CHECK(core_connections(H.c) == 0 && core_lobby(H.c)->nmatches == 0);
    core_destroy(H.c);
    log_set_sink(NULL, NULL);
    return 0;
}
