/* deflate_bytes: what permessage-deflate (RFC 7692) would do to the bytes
 * one client receives, measured offline with zlib: our lws is built
 * without extensions, so nothing here touches a socket. A real
 * server/match.c match is driven by the bots' behaviours (deterministic,
 * as in codec_bytes.c), and the messages one connection would be written
 * are recorded exactly as server/core.c builds them: match_snapshot() with
 * one match_cursor for the connection (header + events section + body, a
 * delta against the last snapshot written).
 *
 * Workloads: 64 wander players (the reference), 64 fighting players (each
 * aims at what the match really holds, a stand-in for the bots' own view),
 * wander with every player chatting at the rate limit (CHAT events), the
 * events sections of that chat run alone (as if events were messages of
 * their own), and the full snapshot a joining (or resuming) client gets.
 *
 * Each message is compressed as a permessage-deflate sender does: raw
 * deflate (negative windowBits), Z_SYNC_FLUSH, the trailing 00 00 ff ff
 * removed; with context takeover (one z_stream per connection) or without
 * (deflateReset per message). The client side appends 00 00 ff ff and
 * inflates; every message must come back to the byte (exit 1 if not).
 * Sizes include the WebSocket frame header of a server frame (2 bytes
 * under 126, 4 under 65536; compression sets RSV1, which costs nothing).
 * CPU is thread CPU time, the median of --passes passes over the whole
 * stream. Memory per connection is what zlib allocates for each stream,
 * counted through zalloc, next to zlib's documented formula
 * ((1 << (windowBits + 2)) + (1 << (memLevel + 9)) for deflate).
 *
 * Bytes are deterministic; nanoseconds depend on the machine.
 *
 * usage: deflate_bytes [--players N] [--seconds S] [--passes P] [--map F]
 *                      [--snapshot-rate HZ] [--check]
 * --check: exit 1 unless every figure is sane (used by ctest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "behavior.h"
#include "bench_match.h"
#include "map.h"
#include "match.h"
#include "proto.h"

/* ---- a stream of messages ------------------------------------------------------ */

typedef struct msgs {
    uint8_t *data;
    size_t *off; /* message i is data[off[i] .. off[i + 1]) */
    size_t n, cap_msgs, used, cap_bytes;
} msgs;

static void msgs_push(msgs *s, const uint8_t *p, size_t len)
{
    if (s->n + 2 > s->cap_msgs) {
        s->cap_msgs = s->cap_msgs ? s->cap_msgs * 2 : 1024;
        s->off = realloc(s->off, s->cap_msgs * sizeof *s->off);
    }
    while (s->used + len > s->cap_bytes) {
        s->cap_bytes = s->cap_bytes ? s->cap_bytes * 2 : 65536;
        s->data = realloc(s->data, s->cap_bytes);
    }
    if (!s->off || !s->data) {
        fprintf(stderr, "deflate_bytes: out of memory\n");
        exit(2);
    }
    s->off[s->n] = s->used;
    memcpy(s->data + s->used, p, len);
    s->used += len;
    s->off[++s->n] = s->used;
}

static const uint8_t *msgs_at(const msgs *s, size_t i, size_t *len)
{
    *len = s->off[i + 1] - s->off[i];
    return s->data + s->off[i];
}

static void msgs_free(msgs *s)
{
    free(s->data);
    free(s->off);
    memset(s, 0, sizeof *s);
}

/* A server frame's header: RFC 6455 section 5.2, unmasked. */
static size_t ws_header(size_t payload)
{
    return payload < 126 ? 2 : payload < 65536 ? 4 : 10;
}

/* ---- recording the workloads ---------------------------------------------------- */

typedef enum { W_WANDER, W_FIGHT, W_CHAT } workload;

typedef struct recorded {
    msgs snaps;  /* every snapshot written to player 0's connection */
    msgs events; /* the events sections among them that carry events */
    msgs joins;  /* a full snapshot for a fresh connection, once a second */
    uint64_t events_total, chat_sent;
} recorded;

/* Bytes of the events section at the start of buf (section 5.4). */
static size_t events_section_len(const uint8_t *buf, size_t len)
{
    if (len < 1 || buf[0] == 0)
        return 1;
    size_t off = 5;
    for (int i = 0; i < buf[0] && off + 3 <= len; i++)
        off += 3 + (size_t)(buf[off + 1] | buf[off + 2] << 8);
    return off <= len ? off : len;
}

/* A chat line: a short stock phrase a quarter of the time, otherwise 1..10
 * words from a small vocabulary. Synthetic, so its redundancy is a guess:
 * real chat repeats more ("gg") and spells worse. */
static size_t chat_line(uint64_t *rng, char *out, size_t cap)
{
    static const char *stock[] = {"gg", "lol", "nice shot", "gg wp", "ty", "rematch?", "wow", "rip", "brb",
                                  "where are you", "behind you!", "haha", "ok", "no way", "lag", "one more"};
    static const char *words[] = {
        "the", "a", "you", "i", "me", "it", "is", "was", "that", "this", "on", "in", "at", "to", "of", "and", "but",
        "not", "just", "so", "what", "who", "how", "why", "left", "right", "top", "bottom", "corner", "wall", "map",
        "spawn", "round", "shot", "kill", "killed", "camp", "camping", "run", "running", "fast", "slow", "good",
        "bad", "lucky", "unlucky", "again", "now", "later", "team", "push", "wait", "go", "come", "here", "there",
        "north", "south", "east", "west", "middle", "score", "win", "lost", "aim", "miss", "missed", "hit", "close",
        "far", "near", "cover", "reload", "health", "low", "high", "nice", "great", "sorry", "thanks", "please",
        "stop", "follow", "watch", "out", "behind", "ahead", "one", "two", "three", "last", "first", "next", "game",
        "play", "player", "bot", "bots", "sniper", "fight", "everyone", "nobody", "really", "very", "too", "dude"};
    uint64_t r = sim_rand_next(rng);
    if (r % 4 == 0)
        return (size_t)snprintf(out, cap, "%s", stock[(r >> 8) % (sizeof stock / sizeof *stock)]);
    size_t n = 0, nw = 1 + (size_t)((r >> 8) % 10);
    for (size_t i = 0; i < nw && n + 16 < cap; i++) {
        uint64_t w = sim_rand_next(rng);
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? " " : "", words[w % (sizeof words / sizeof *words)]);
    }
    if (r & 0x10000 && n + 2 < cap)
        out[n++] = (r & 0x20000) ? '?' : '!';
    out[n] = 0;
    return n;
}

/* Fight: each bot aims at the players as the match holds them now (the
 * bots' real view is interpolated from snapshots: close enough for bytes). */
static sim_input fight_input(match *m, behavior_state *b, int self, int players, uint16_t tick_rate)
{
    static cl_view_ent view[PROTO_MAX_ENTITIES];
    int n = 0;
    for (int id = 0; id < players; id++) {
        const sim_player *p = &m->world.players[id];
        view[n++] = (cl_view_ent){.x = p->pos[0], .y = p->pos[1], .id = (uint16_t)id, .aim = p->aim,
                                  .flags = p->flags, .self = id == self, .health = p->health};
    }
    const sim_player *me = &m->world.players[self];
    const float *pos = (me->flags & SIM_FLAG_DEAD) ? NULL : me->pos;
    if (m->state.phase == PROTO_PHASE_ENDED)
        n = 0;
    return behavior_next_fight(b, tick_rate, &m->world.map, pos, view, n);
}

static int record(workload w, const sim_map *map, int players, int seconds, int snap_rate, recorded *out)
{
    const uint16_t tick_rate = BENCH_TICK_RATE;
    static behavior_state bs[PROTO_MAX_ENTITIES];
    match *m = bench_match_create(map, players, snap_rate, w == W_FIGHT ? BEHAVIOR_FIGHT : BEHAVIOR_WANDER, bs);
    if (!m)
        return -1;
    static uint8_t buf[PROTO_MAX_SNAPSHOT];
    match_cursor conn = {0};
    uint64_t rng = 0xc4a7;
    for (int t = 0; t < seconds * tick_rate; t++) {
        for (int i = 0; i < players; i++) {
            /* Loopback: every client has what was written to it. */
            sim_input in = w == W_FIGHT ? fight_input(m, &bs[i], i, players, tick_rate) : behavior_next(&bs[i], tick_rate);
            if (bench_match_input(m, i, (uint32_t)t + 1, in, i == 0 ? conn.snap_tick : match_latest_snapshot_tick(m),
                                  i == 0 ? conn.event_seq : m->ev_next - 1, "deflate_bytes") < 0)
                return -1;
            /* Chat: each player one line a second (the sustained rate
             * limit), the players spread over the second. */
            if (w == W_CHAT && t % tick_rate == (i * tick_rate / players) % tick_rate) {
                char text[PROTO_MAX_CHAT_BYTES + 1];
                size_t len = chat_line(&rng, text, sizeof text);
                if (match_player_chat(m, i, text, len) == MATCH_CHAT_SENT)
                    out->chat_sent++;
            }
        }
        if (!match_tick(m))
            continue;
        int full;
        size_t n = match_snapshot(m, 0, &conn, buf, sizeof buf, &full);
        if (n == 0)
            return -1;
        msgs_push(&out->snaps, buf, n);
        size_t e = events_section_len(buf + PROTO_SNAPSHOT_HEADER_SIZE, n - PROTO_SNAPSHOT_HEADER_SIZE);
        if (buf[PROTO_SNAPSHOT_HEADER_SIZE]) {
            msgs_push(&out->events, buf + PROTO_SNAPSHOT_HEADER_SIZE, e);
            out->events_total += buf[PROTO_SNAPSHOT_HEADER_SIZE];
        }
        if (t % tick_rate == 0) {
            match_cursor fresh = {0};
            uint32_t acked = m->players[0].acked_tick;
            m->players[0].acked_tick = 0; /* a new connection: nothing to delta against */
            n = match_snapshot(m, 0, &fresh, buf, sizeof buf, &full);
            m->players[0].acked_tick = acked;
            if (n == 0 || !full)
                return -1;
            msgs_push(&out->joins, buf, n);
        }
    }
    match_destroy(m);
    return 0;
}

/* ---- compressing ---------------------------------------------------------------- */

typedef struct zconf {
    const char *name;
    int level, window_bits, mem_level, takeover;
} zconf;

/* lws 4.1.6 (lib/roles/ws/ext/extension-permessage-deflate.c): level 1,
 * memLevel 8, 15-bit windows, context takeover unless negotiated off. */
static const zconf CONFS[] = {
    {"L1 takeover (lws)", 1, 15, 8, 1},
    {"L6 takeover", 6, 15, 8, 1},
    {"L1 no takeover", 1, 15, 8, 0},
    {"L6 no takeover", 6, 15, 8, 0},
    {"L1 takeover w9 m1", 1, 9, 1, 1},
};
#define NCONFS (sizeof CONFS / sizeof *CONFS)

typedef struct zcount {
    size_t bytes;
} zcount;

static voidpf count_alloc(voidpf opaque, uInt items, uInt size)
{
    ((zcount *)opaque)->bytes += (size_t)items * size;
    return calloc(items, size);
}

static void count_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

static double thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const uint8_t TRAILER[4] = {0x00, 0x00, 0xff, 0xff};

/* One message, as a permessage-deflate sender writes it; returns its
 * compressed size, or 0 when zlib fails. */
static size_t deflate_msg(z_stream *z, const zconf *c, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    if (!c->takeover && deflateReset(z) != Z_OK)
        return 0;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)len;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    if (deflate(z, Z_SYNC_FLUSH) != Z_OK || z->avail_in != 0 || z->avail_out == 0)
        return 0;
    size_t n = cap - z->avail_out;
    if (n < 4 || memcmp(out + n - 4, TRAILER, 4) != 0)
        return 0;
    return n - 4;
}

/* The client side: the trailer appended, inflated. Returns the size. */
static size_t inflate_msg(z_stream *z, const zconf *c, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    if (!c->takeover && inflateReset(z) != Z_OK)
        return 0;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)len;
    int r = inflate(z, Z_SYNC_FLUSH);
    if ((r != Z_OK && r != Z_BUF_ERROR) || z->avail_in != 0)
        return 0;
    z->next_in = (Bytef *)TRAILER;
    z->avail_in = 4;
    r = inflate(z, Z_SYNC_FLUSH);
    if ((r != Z_OK && r != Z_BUF_ERROR) || z->avail_in != 0)
        return 0;
    return cap - z->avail_out;
}

typedef struct result {
    double raw, packed;              /* bytes per message, frame header included */
    double deflate_ns, inflate_ns;   /* per message, median pass */
    size_t deflate_mem, inflate_mem; /* zlib's allocations per connection */
} result;

static int open_pair(const zconf *c, z_stream *d, z_stream *i, zcount *dc, zcount *ic)
{
    memset(d, 0, sizeof *d);
    memset(i, 0, sizeof *i);
    d->zalloc = i->zalloc = count_alloc;
    d->zfree = i->zfree = count_free;
    d->opaque = dc;
    i->opaque = ic;
    if (deflateInit2(d, c->level, Z_DEFLATED, -c->window_bits, c->mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    if (inflateInit2(i, -c->window_bits) != Z_OK) {
        deflateEnd(d);
        return -1;
    }
    return 0;
}

/* Compresses and inflates the whole stream once (checking every message
 * comes back), then times `passes` passes of each side. */
static int measure(const msgs *s, const zconf *c, int passes, result *r)
{
    memset(r, 0, sizeof *r);
    if (s->n == 0)
        return 0;
    static uint8_t out[2 * PROTO_MAX_SNAPSHOT + 64], back[PROTO_MAX_SNAPSHOT + 64];
    msgs packed = {0};
    z_stream d, i;
    zcount dc = {0}, ic = {0};
    if (open_pair(c, &d, &i, &dc, &ic) < 0)
        return -1;
    uint64_t raw = 0, comp = 0;
    for (size_t k = 0; k < s->n; k++) {
        size_t len;
        const uint8_t *m = msgs_at(s, k, &len);
        size_t n = deflate_msg(&d, c, m, len, out, sizeof out);
        if (n == 0) {
            fprintf(stderr, "deflate_bytes: %s: message %zu does not compress\n", c->name, k);
            return -1;
        }
        size_t got = inflate_msg(&i, c, out, n, back, sizeof back);
        if (got != len || memcmp(back, m, len) != 0) {
            fprintf(stderr, "deflate_bytes: %s: message %zu does not inflate back to its bytes\n", c->name, k);
            return -1;
        }
        raw += ws_header(len) + len;
        comp += ws_header(n) + n;
        msgs_push(&packed, out, n);
    }
    deflateEnd(&d);
    inflateEnd(&i);
    r->deflate_mem = dc.bytes;
    r->inflate_mem = ic.bytes;
    r->raw = (double)raw / (double)s->n;
    r->packed = (double)comp / (double)s->n;

    double *dt = calloc((size_t)passes, sizeof *dt), *it = calloc((size_t)passes, sizeof *it);
    if (!dt || !it)
        return -1;
    for (int p = 0; p < passes; p++) {
        if (open_pair(c, &d, &i, &dc, &ic) < 0)
            return -1;
        double t0 = thread_ns();
        for (size_t k = 0; k < s->n; k++) {
            size_t len;
            const uint8_t *m = msgs_at(s, k, &len);
            if (deflate_msg(&d, c, m, len, out, sizeof out) == 0)
                return -1;
        }
        double t1 = thread_ns();
        for (size_t k = 0; k < packed.n; k++) {
            size_t len;
            const uint8_t *m = msgs_at(&packed, k, &len);
            if (inflate_msg(&i, c, m, len, back, sizeof back) == 0)
                return -1;
        }
        double t2 = thread_ns();
        deflateEnd(&d);
        inflateEnd(&i);
        dt[p] = (t1 - t0) / (double)s->n;
        it[p] = (t2 - t1) / (double)s->n;
    }
    qsort(dt, (size_t)passes, sizeof *dt, cmp_double);
    qsort(it, (size_t)passes, sizeof *it, cmp_double);
    r->deflate_ns = dt[passes / 2];
    r->inflate_ns = it[passes / 2];
    free(dt);
    free(it);
    msgs_free(&packed);
    return 0;
}

/* ---- the table ------------------------------------------------------------------ */

static int g_insane;

/* Prints one workload; per_s: messages a second per client (0: a one-off). */
static int report(const char *what, const msgs *s, double per_s, int passes, int check)
{
    if (s->n == 0) {
        printf("%-28s (no messages)\n", what);
        if (check)
            g_insane = 1;
        return 0;
    }
    for (size_t k = 0; k < NCONFS; k++) {
        result r;
        if (measure(s, &CONFS[k], passes, &r) < 0)
            return -1;
        if (k == 0)
            printf("%-28s %6zu msgs, %7.1f B/msg as sent%s\n", what, s->n, r.raw,
                   per_s > 0 ? "" : " (once per connection: a new stream, read the no-takeover rows)");
        char rate[64] = "";
        if (per_s > 0)
            snprintf(rate, sizeof rate, "%+8.0f B/s %6.3f ms/s", (r.packed - r.raw) * per_s, r.deflate_ns * per_s / 1e6);
        printf("  %-20s %7.1f B/msg %5.2fx  deflate %6.0f ns  inflate %6.0f ns  %s  state %4.0f+%2.0f KiB\n",
               CONFS[k].name, r.packed, r.packed / r.raw, r.deflate_ns, r.inflate_ns, rate,
               (double)r.deflate_mem / 1024, (double)r.inflate_mem / 1024);
        if (check && (r.packed <= 2 || r.packed > 2 * r.raw + 16 || r.deflate_ns <= 0 || r.inflate_ns <= 0 ||
                      r.deflate_mem < 1024))
            g_insane = 1;
    }
    return 0;
}

static void usage(const char *argv0, const char *why)
{
    if (why)
        fprintf(stderr, "%s: %s\n", argv0, why);
    fprintf(stderr,
            "usage: %s [--players N] [--seconds S] [--passes P] [--map FILE] [--snapshot-rate HZ] [--check]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    int players = 64, seconds = 30, snap_rate = 60, passes = 5, check = 0;
    const char *map_path = "assets/arena.map";
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--check") == 0) {
            check = 1;
            continue;
        }
        if (!v)
            usage(argv[0], "a flag without its value");
        if (strcmp(f, "--players") == 0)
            players = atoi(v);
        else if (strcmp(f, "--seconds") == 0)
            seconds = atoi(v);
        else if (strcmp(f, "--passes") == 0)
            passes = atoi(v);
        else if (strcmp(f, "--snapshot-rate") == 0)
            snap_rate = atoi(v);
        else if (strcmp(f, "--map") == 0)
            map_path = v;
        else
            usage(argv[0], "unknown flag");
        i++;
    }
    if (players < 2 || players > PROTO_MAX_ENTITIES || seconds < 1 || passes < 1 || passes > 100 || snap_rate < 1 ||
        snap_rate > 60)
        usage(argv[0], "a value out of range");
    static sim_map map;
    char err[256];
    if (map_load(map_path, &map, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    }
    printf("deflate_bytes: permessage-deflate (zlib %s, raw deflate, sync flush, trailer removed) on what one "
           "client receives;\n%d players, %d s, %d Hz snapshots. Per message: bytes as sent (WebSocket frame header "
           "included), compressed/raw,\nCPU per message (median of %d), per client: bytes/s saved and deflate ms "
           "CPU per second; zlib state per connection (deflate+inflate).\n",
           zlibVersion(), players, seconds, snap_rate, passes);
    static const struct {
        workload w;
        const char *name;
    } runs[] = {{W_WANDER, "wander"}, {W_FIGHT, "fight"}, {W_CHAT, "wander + chat"}};
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        recorded rec;
        memset(&rec, 0, sizeof rec);
        if (record(runs[k].w, &map, players, seconds, snap_rate, &rec) < 0) {
            fprintf(stderr, "deflate_bytes: the %s run failed\n", runs[k].name);
            return 2;
        }
        char what[64];
        snprintf(what, sizeof what, "%s: snapshots", runs[k].name);
        if (report(what, &rec.snaps, snap_rate, passes, check) < 0)
            return 1;
        if (runs[k].w == W_CHAT) {
            printf("  (%llu chat lines sent, %llu events in %zu of %zu snapshots)\n",
                   (unsigned long long)rec.chat_sent, (unsigned long long)rec.events_total, rec.events.n,
                   rec.snaps.n);
            double per_s = (double)rec.events.n / seconds;
            if (report("wander + chat: events only", &rec.events, per_s, passes, check) < 0)
                return 1;
        }
        if (runs[k].w == W_WANDER && report("join: full snapshot", &rec.joins, 0, passes, check) < 0)
            return 1;
        msgs_free(&rec.snaps);
        msgs_free(&rec.events);
        msgs_free(&rec.joins);
    }
    printf("zlib's formula: deflate (1 << (windowBits + 2)) + (1 << (memLevel + 9)) = %d KiB at 15/8, "
           "inflate (1 << windowBits) + ~7 KiB = %d+7 KiB at 15.\n",
           ((1 << 17) + (1 << 17)) / 1024, (1 << 15) / 1024);
    if (g_insane) {
        fprintf(stderr, "deflate_bytes: a figure is not sane\n");
        return 1;
    }
    return 0;
}
