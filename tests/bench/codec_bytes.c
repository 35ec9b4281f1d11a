/* codec_bytes: the snapshot codec's bytes on the reference workload,
 * without a network: one match of N players driven by the bots' own
 * behaviours (tests/bots/behavior.c, same seeds every run), stepped by
 * server/match.c, every snapshot encoded against the one before it (what
 * a connection gets: a delta against the last snapshot written) and
 * decoded back by shared/proto.c. Prints body bytes per moving entity,
 * per entity, and per snapshot, counted as tickwire-bots counts them
 * (an entity is moving when any field differs from the previous
 * snapshot).
 *
 * Deterministic: the same build gives the same figures, so a codec change
 * is judged to the byte, on a quiet or a busy machine alike.
 *
 * usage: codec_bytes [--players N] [--seconds S] [--behavior B] [--map F]
 *                    [--snapshot-rate HZ] [--expect-max B]
 * --expect-max: exit 1 when bytes per moving entity exceed B. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "behavior.h"
#include "bench_match.h"
#include "map.h"
#include "match.h"
#include "proto.h"

static void usage(const char *argv0, const char *why)
{
    if (why)
        fprintf(stderr, "%s: %s\n", argv0, why);
    fprintf(stderr,
            "usage: %s [--players N] [--seconds S] [--behavior B] [--map FILE] [--snapshot-rate HZ]\n"
            "          [--expect-max BYTES]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    int players = 64, seconds = 60, snap_rate = 60;
    double expect_max = 0;
    const char *map_path = "assets/arena.map";
    behavior_kind kind = BEHAVIOR_WANDER;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage(argv[0], "a flag without its value");
        if (strcmp(f, "--players") == 0)
            players = atoi(v);
        else if (strcmp(f, "--seconds") == 0)
            seconds = atoi(v);
        else if (strcmp(f, "--snapshot-rate") == 0)
            snap_rate = atoi(v);
        else if (strcmp(f, "--expect-max") == 0)
            expect_max = atof(v);
        else if (strcmp(f, "--map") == 0)
            map_path = v;
        else if (strcmp(f, "--behavior") == 0) {
            if (behavior_parse(v, &kind) < 0)
                usage(argv[0], "unknown behavior");
        } else
            usage(argv[0], "unknown flag");
        i++;
    }
    if (players < 1 || players > PROTO_MAX_ENTITIES || seconds < 1 || snap_rate < 1 || snap_rate > 60)
        usage(argv[0], "a value out of range");
    static sim_map map;
    char err[256];
    if (map_load(map_path, &map, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 2;
    }
    const uint16_t tick_rate = BENCH_TICK_RATE;
    static behavior_state bs[PROTO_MAX_ENTITIES];
    match *m = bench_match_create(&map, players, snap_rate, kind, bs);
    if (!m)
        return 2;
    static proto_snapshot prev, cur;
    static proto_names names;
    static uint8_t body[PROTO_MAX_SNAPSHOT];
    int have_prev = 0;
    uint64_t bytes = 0, entities = 0, moving = 0, snapshots = 0;
    for (int t = 0; t < seconds * tick_rate; t++) {
        for (int i = 0; i < players; i++)
            if (bench_match_input(m, i, (uint32_t)t + 1, behavior_next(&bs[i], tick_rate), 0, 0, "codec_bytes") < 0)
                return 2;
        if (!match_tick(m))
            continue;
        const proto_snapshot *now = &m->ring[m->ring_head];
        if (have_prev) {
            size_t n = proto_snapshot_body_write(&prev, now, &m->names, tick_rate, body, sizeof body);
            cur.tick = now->tick;
            proto_names dec_names = names;
            if (n == 0 || proto_snapshot_body_read(&prev, &cur, &dec_names, tick_rate, body, n) != PROTO_OK) {
                fprintf(stderr, "tick %u: the body does not round-trip\n", now->tick);
                return 1;
            }
            for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
                if (cur.present[id] != now->present[id] ||
                    (now->present[id] && memcmp(&cur.ent[id], &now->ent[id], sizeof cur.ent[id]) != 0)) {
                    fprintf(stderr, "tick %u: entity %d decodes differently\n", now->tick, id);
                    return 1;
                }
                if (!now->present[id])
                    continue;
                entities++;
                const sim_netent *a = &now->ent[id], *p = &prev.ent[id];
                if (!prev.present[id] || a->x != p->x || a->y != p->y || a->vx != p->vx || a->vy != p->vy ||
                    a->aim != p->aim || a->flags != p->flags)
                    moving++;
            }
            bytes += n;
            snapshots++;
            names = dec_names;
        } else {
            size_t n = proto_snapshot_body_write(NULL, now, &m->names, tick_rate, body, sizeof body);
            if (n == 0 || proto_snapshot_body_read(NULL, &cur, &names, tick_rate, body, n) != PROTO_OK)
                return 1;
            have_prev = 1;
        }
        prev = *now;
    }
    match_destroy(m);
    double per_moving = moving ? (double)bytes / (double)moving : 0;
    printf("codec_bytes: %d %s players, %d s, snapshots %d Hz: %.3f B per moving entity, %.3f B per entity, "
           "%.1f B per snapshot body (%.1f moving of %.1f)\n",
           players, behavior_name(kind), seconds, snap_rate, per_moving,
           entities ? (double)bytes / (double)entities : 0, snapshots ? (double)bytes / (double)snapshots : 0,
           snapshots ? (double)moving / (double)snapshots : 0, snapshots ? (double)entities / (double)snapshots : 0);
    if (expect_max > 0 && per_moving > expect_max) {
        fprintf(stderr, "codec_bytes: %.3f B per moving entity is over %.3f\n", per_moving, expect_max);
        return 1;
    }
    return 0;
}
