/* aoi_bytes: interest management (match.h, --aoi-radius) measured offline:
 * one match of N players driven by the bots' behaviours (same seeds every
 * run, as codec_bytes), stepped by server/match.c, and every snapshot
 * written to every player through match_snapshot, as the server writes
 * it (one cursor per connection, acks of what was written). The same
 * match is run once per radius given (0 = off), so the worlds are the
 * same and only what is sent differs. Prints, per radius: bytes per
 * client per second (whole SNAPSHOT messages: header, events, body; and
 * the bodies and the events sections alone: events are match-wide), players
 * in a client's view, encodes per snapshot, and the CPU the match spends
 * (match_tick, and the snapshots' writing: filters, encodes, copies).
 *
 * Bytes are deterministic (the same build gives the same figures); CPU
 * is this machine's, on one thread (run it under the load lock).
 *
 * usage: aoi_bytes [--players N] [--seconds S] [--behavior B] [--map F]
 *                  [--snapshot-rate HZ] [--radius R]... [--cell C] [--verify]
 * --verify: decode every message for every client and check it is the
 * server's world filtered for the client's cell (exit 1 if not). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "behavior.h"
#include "bench_match.h"
#include "map.h"
#include "match.h"
#include "proto.h"

#define MAX_RADII 8

static void usage(const char *argv0, const char *why)
{
    if (why)
        fprintf(stderr, "%s: %s\n", argv0, why);
    fprintf(stderr,
            "usage: %s [--players N] [--seconds S] [--behavior B] [--map FILE] [--snapshot-rate HZ]\n"
            "          [--radius R]... [--cell C] [--verify]\n",
            argv0);
    exit(2);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct client {
    match_cursor cur;
    proto_snapshot ring[MATCH_RING]; /* decoded, --verify only */
    proto_names names;
} client;

typedef struct result {
    uint64_t bytes, event_bytes, in_view, messages, snapshots, encodes;
    double tick_cpu, snap_cpu;
} result;

/* Bytes of the events section at buf (after the header). */
static size_t events_len(const uint8_t *buf, size_t n)
{
    size_t off = 0;
    uint8_t count = buf[off];
    off += count ? 5 : 1;
    for (int i = 0; i < count && off < n; i++) {
        proto_event e;
        size_t used;
        if (proto_event_read(buf + off, n - off, &e, &used) != PROTO_OK)
            return n;
        off += used;
    }
    return off;
}

/* The message client c was just written decodes to the server's newest
 * snapshot as c's view sees it. 0, or -1 with the reason on stderr. */
static int verify(const match *m, client *c, int id, const uint8_t *buf, size_t n)
{
    proto_snapshot_header h;
    if (proto_snapshot_header_read(buf, n, &h) != PROTO_OK)
        return -1;
    size_t off = PROTO_SNAPSHOT_HEADER_SIZE + events_len(buf + PROTO_SNAPSHOT_HEADER_SIZE, n - PROTO_SNAPSHOT_HEADER_SIZE);
    if (off > n)
        return -1;
    const proto_snapshot *base = NULL;
    for (int i = 0; i < MATCH_RING && h.baseline_tick; i++)
        if (c->ring[i].tick == h.baseline_tick)
            base = &c->ring[i];
    if (h.baseline_tick && !base)
        return -1;
    static proto_snapshot want;
    proto_snapshot *out = &c->ring[h.tick % MATCH_RING];
    out->tick = h.tick;
    if (proto_snapshot_body_read(base, out, &c->names, m->cfg.tick_rate, buf + off, n - off) != PROTO_OK)
        return -1;
    match_aoi_filter(m, &m->ring[m->ring_head], c->cur.view, &want);
    for (int e = 0; e < PROTO_MAX_ENTITIES; e++)
        if (out->present[e] != want.present[e] ||
            (want.present[e] && (memcmp(&out->ent[e], &want.ent[e], sizeof want.ent[e]) != 0 ||
                                 strcmp(c->names.name[e], m->names.name[e]) != 0))) {
            fprintf(stderr, "aoi_bytes: tick %u, client %d: entity %d decodes differently\n", h.tick, id, e);
            return -1;
        }
    return out->present[id] ? 0 : -1;
}

static int run(const sim_map *map, int players, int seconds, int snap_rate, behavior_kind kind, uint16_t radius,
               uint16_t cell, int check, result *r)
{
    static behavior_state bs[PROTO_MAX_ENTITIES];
    static client cl[PROTO_MAX_ENTITIES];
    memset(cl, 0, sizeof cl);
    memset(r, 0, sizeof *r);
    match *m = bench_match_create_aoi(map, players, snap_rate, kind, bs, radius, cell);
    if (!m)
        return 2;
    for (int t = 0; t < seconds * BENCH_TICK_RATE; t++) {
        for (int i = 0; i < players; i++)
            if (bench_match_input(m, i, (uint32_t)t + 1, behavior_next(&bs[i], BENCH_TICK_RATE), cl[i].cur.snap_tick,
                                  cl[i].cur.event_seq, "aoi_bytes") < 0)
                return 2;
        double t0 = cpu_now();
        int snap = match_tick(m);
        double t1 = cpu_now();
        r->tick_cpu += t1 - t0;
        if (!snap)
            continue;
        uint64_t enc = m->stats.encodes;
        static size_t len[PROTO_MAX_ENTITIES];
        static uint8_t msgs[PROTO_MAX_ENTITIES][PROTO_MAX_SNAPSHOT];
        /* What the server does for its connections, timed alone. */
        double s0 = cpu_now();
        for (int i = 0; i < players; i++) {
            int full;
            len[i] = match_snapshot(m, i, &cl[i].cur, msgs[i], sizeof msgs[i], &full);
        }
        r->snap_cpu += cpu_now() - s0;
        for (int i = 0; i < players; i++) {
            const uint8_t *buf = msgs[i];
            size_t n = len[i];
            if (n == 0) {
                fprintf(stderr, "aoi_bytes: no snapshot for player %d\n", i);
                return 1;
            }
            if (check && verify(m, &cl[i], i, buf, n) < 0) {
                fprintf(stderr, "aoi_bytes: radius %u: client %d's snapshot does not decode to its view\n", radius, i);
                return 1;
            }
            r->bytes += n;
            r->event_bytes += events_len(buf + PROTO_SNAPSHOT_HEADER_SIZE, n - PROTO_SNAPSHOT_HEADER_SIZE);
            r->messages++;
            const proto_snapshot *now = &m->ring[m->ring_head];
            for (int e = 0; e < players; e++)
                r->in_view += now->present[e] && match_aoi_in_view(m, cl[i].cur.view, &now->ent[e]);
        }
        r->encodes += m->stats.encodes - enc;
        r->snapshots++;
    }
    if (m->stats.encodes_uncached) {
        fprintf(stderr, "aoi_bytes: %llu bodies did not fit the cache\n", (unsigned long long)m->stats.encodes_uncached);
        return 1;
    }
    match_destroy(m);
    return 0;
}

int main(int argc, char **argv)
{
    int players = 128, seconds = 20, snap_rate = 60, check = 0, nradii = 0, cell = 0;
    int radii[MAX_RADII];
    const char *map_path = "assets/large.map";
    behavior_kind kind = BEHAVIOR_WANDER;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--verify") == 0) {
            check = 1;
            continue;
        }
        if (!v)
            usage(argv[0], "a flag without its value");
        if (strcmp(f, "--players") == 0)
            players = atoi(v);
        else if (strcmp(f, "--seconds") == 0)
            seconds = atoi(v);
        else if (strcmp(f, "--snapshot-rate") == 0)
            snap_rate = atoi(v);
        else if (strcmp(f, "--map") == 0)
            map_path = v;
        else if (strcmp(f, "--cell") == 0)
            cell = atoi(v);
        else if (strcmp(f, "--radius") == 0) {
            if (nradii == MAX_RADII)
                usage(argv[0], "too many --radius");
            radii[nradii++] = atoi(v);
        } else if (strcmp(f, "--behavior") == 0) {
            if (behavior_parse(v, &kind) < 0)
                usage(argv[0], "unknown behavior");
        } else
            usage(argv[0], "unknown flag");
        i++;
    }
    if (!nradii) {
        radii[0] = 0;
        radii[1] = 1024;
        nradii = 2;
    }
    if (players < 1 || players > PROTO_MAX_ENTITIES || seconds < 1 || snap_rate < 1 || snap_rate > BENCH_TICK_RATE ||
        BENCH_TICK_RATE % snap_rate || cell < 0 || cell > 65535)
        usage(argv[0], "a value out of range");
    for (int k = 0; k < nradii; k++)
        if (radii[k] < 0 || radii[k] > 65535)
            usage(argv[0], "a radius out of range");
    static sim_map map;
    char err[256];
    if (map_load(map_path, &map, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    }
    printf("aoi_bytes: %d %s players on %ux%u, %d s, snapshots %d Hz%s\n", players, behavior_name(kind), map.width,
           map.height, seconds, snap_rate, check ? ", every message decoded and checked" : "");
    printf("%-8s %12s %8s %12s %12s %9s %13s %11s %13s\n", "radius", "B/client/s", "vs off", "body B/c/s",
           "events B/c/s", "in view", "encodes/snap", "tick us/tk", "writes us/snap");
    double off_bytes = 0;
    for (int k = 0; k < nradii; k++) {
        result r;
        int rc = run(&map, players, seconds, snap_rate, kind, (uint16_t)radii[k], (uint16_t)cell, check, &r);
        if (rc)
            return rc;
        double per_client_s = (double)r.bytes / (double)players / (double)seconds;
        if (radii[k] == 0)
            off_bytes = per_client_s;
        char vs[32] = "-";
        if (off_bytes > 0)
            snprintf(vs, sizeof vs, "%.1f%%", 100.0 * per_client_s / off_bytes);
        double per_s = (double)players * (double)seconds;
        double ev = (double)r.event_bytes / per_s;
        double body = per_client_s - ev - (double)PROTO_SNAPSHOT_HEADER_SIZE * (double)r.messages / per_s;
        printf("%-8d %12.1f %8s %12.1f %12.1f %9.1f %13.1f %11.1f %13.1f\n", radii[k], per_client_s, vs, body, ev,
               (double)r.in_view / (double)r.messages, (double)r.encodes / (double)r.snapshots,
               1e6 * r.tick_cpu / (double)(seconds * BENCH_TICK_RATE), 1e6 * r.snap_cpu / (double)r.snapshots);
    }
    return 0;
}
