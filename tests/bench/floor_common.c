/* floor_common: see floor_common.h. */
#include "floor_common.h"

#include <string.h>
#include <time.h>

#include "parse.h"
#include "proto.h"
#include "token.h"

/* Writes a full body of k entities (ids 0..k-1) whose names hold `extra`
 * bytes in all; returns its size, 0 if it does not fit. */
static size_t build_body(int k, size_t extra, int tick_rate, uint8_t *buf, size_t cap)
{
    static proto_snapshot cur; /* large: static, built once at startup */
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
    return proto_snapshot_body_write(NULL, &cur, &names, (uint16_t)tick_rate, buf, cap);
}

/* The events section of a floor snapshot: empty (one 0 byte), or, to pad
 * the snapshot to a size no entity count reaches, one CHAT event of
 * player 0 with `text` bytes of text (9 + text bytes). The client sees
 * the same event seq in every snapshot: a repeat, skipped. */
static size_t build_events(int chat, size_t text, uint8_t *buf, size_t cap)
{
    if (!chat) {
        buf[0] = 0;
        return 1;
    }
    static proto_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PROTO_EV_CHAT;
    ev.player = 0;
    ev.len = (uint16_t)text;
    memset(ev.text, 'x', text);
    size_t h = proto_events_header_write(1, 1, buf, cap);
    size_t n = h ? proto_event_write(&ev, buf + h, cap - h) : 0;
    return n ? h + n : 0;
}

int floor_snapshot_build(uint8_t *snap, size_t total, int tick_rate, int *entities, char *err, size_t errlen)
{
    if (total < PROTO_SNAPSHOT_HEADER_SIZE + 1 || total > PROTO_MAX_SNAPSHOT) {
        snprintf(err, errlen, "--snapshot-bytes %zu is outside %d..%d", total, PROTO_SNAPSHOT_HEADER_SIZE + 1,
                 PROTO_MAX_SNAPSHOT);
        return -1;
    }
    /* header | an empty events section (one 0 byte) | body */
    uint8_t *body = snap + PROTO_SNAPSHOT_HEADER_SIZE + 1;
    size_t want = total - PROTO_SNAPSHOT_HEADER_SIZE - 1;
    int best = -1; /* the most entities whose bare body leaves room for a chat event */
    for (int k = 1; k <= PROTO_MAX_ENTITIES; k++) {
        size_t bare = build_body(k, 0, tick_rate, body, PROTO_MAX_SNAPSHOT_BODY);
        if (bare > want)
            break;
        if (bare + 8 <= want)
            best = k;
        if (want - bare > (size_t)k * PROTO_MAX_NAME)
            continue;
        if (build_body(k, want - bare, tick_rate, body, PROTO_MAX_SNAPSHOT_BODY) == want) {
            snap[PROTO_SNAPSHOT_HEADER_SIZE] = 0;
            *entities = k;
            return 0;
        }
    }
    /* Smaller than one entity (48 bytes): no entity, so no RTT samples. */
    if (build_body(0, 0, tick_rate, body, PROTO_MAX_SNAPSHOT_BODY) == want) {
        snap[PROTO_SNAPSHOT_HEADER_SIZE] = 0;
        *entities = 0;
        return 0;
    }
    /* Between two entity counts (one entity with a 16-byte name is 64
     * bytes, two are 74 at least): `best` entities with full names, and a
     * chat event (8 bytes more than the empty section, plus its text)
     * takes the rest. */
    if (best > 0) {
        size_t bare = build_body(best, 0, tick_rate, body, PROTO_MAX_SNAPSHOT_BODY);
        size_t names = want - bare - 8;
        if (names > (size_t)best * PROTO_MAX_NAME)
            names = (size_t)best * PROTO_MAX_NAME;
        size_t text = want - bare - 8 - names;
        uint8_t *ev = snap + PROTO_SNAPSHOT_HEADER_SIZE;
        size_t elen = text <= PROTO_MAX_CHAT_BYTES ? build_events(1, text, ev, PROTO_MAX_EVENTS_SECTION) : 0;
        if (elen && build_body(best, names, tick_rate, ev + elen, PROTO_MAX_SNAPSHOT_BODY) == bare + names &&
            PROTO_SNAPSHOT_HEADER_SIZE + elen + bare + names == total) {
            *entities = best;
            return 0;
        }
    }
    snprintf(err, errlen,
             "--snapshot-bytes %zu cannot be made into a valid snapshot (23, or 48..5711 bytes: 128 entities with "
             "16-byte names and a 480-byte chat event)",
             total);
    return -1;
}

void floor_snapshot_stamp(uint8_t *snap, uint32_t tick, uint32_t last_input_seq)
{
    proto_snapshot_header h = {.tick = tick, .baseline_tick = 0, .last_input_seq = last_input_seq};
    proto_snapshot_header_write(&h, snap, PROTO_SNAPSHOT_HEADER_SIZE);
}

size_t floor_welcome_build(uint8_t *out, size_t cap, int tick_rate)
{
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = 0;
    w.tick_rate = (uint16_t)tick_rate;
    w.snapshot_rate = (uint16_t)tick_rate;
    w.match_id = 1;
    w.max_players = PROTO_MAX_ENTITIES;
    w.server_tick = 0;
    w.map.width = 2048;
    w.map.height = 2048;
    w.map.nwalls = 0;
    return proto_welcome_write(&w, out, cap);
}

size_t floor_join_body(char *out, size_t cap)
{
    token_claims tc;
    memset(&tc, 0, sizeof tc);
    tc.player_id = 1;
    snprintf(tc.name, sizeof tc.name, "floor");
    tc.expiry = (uint64_t)time(NULL) + 86400;
    static const uint8_t secret[32];
    char token[TOKEN_MAX_B64 + 1];
    if (!token_mint(&tc, secret, sizeof secret, token, sizeof token))
        return 0;
    int n = snprintf(out, cap, "{\"token\":\"%s\",\"expires_in\":86400,\"player_id\":1}\n", token);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

floor_msg floor_msg_read(const uint8_t *b, size_t n, int joined, uint32_t *last_seq)
{
    if (n == 0)
        return FLOOR_MSG_OTHER;
    if (b[0] == PROTO_JOIN && !joined)
        return FLOOR_MSG_JOIN;
    /* PROTOCOL.md 5.2: type u8, ack_tick u32, event_ack u32, first_seq
     * u32 at 9, count u8 at 13. */
    if (b[0] == PROTO_INPUT && joined && n >= 14) {
        uint32_t first = (uint32_t)b[9] | (uint32_t)b[10] << 8 | (uint32_t)b[11] << 16 | (uint32_t)b[12] << 24;
        uint32_t last = first + b[13] - 1;
        if (b[13] && last > *last_seq)
            *last_seq = last;
        return FLOOR_MSG_INPUT;
    }
    return FLOOR_MSG_OTHER;
}

/* ---- the command line ------------------------------------------------------------ */

static void usage(FILE *out, const char *prog, const char *name)
{
    fprintf(out,
            "usage: %s [flags]\n"
            "%s: a floor for benchmarks: speaks just enough of %s for the bots, sending\n"
            "every client a fixed, prebuilt snapshot every tick; no simulation, no encoding.\n"
            "  --host ADDR            address to listen on (default 127.0.0.1)\n"
            "  --port N               TCP port, 0 = any free one (default 8081)\n"
            "  --tick-rate HZ         ticks (= snapshots) per second, 1..240 (default 60)\n"
            "  --snapshot-bytes N     size of each snapshot message incl. its 10-byte header:\n"
            "                         23, or 46..4903 (default %d)\n"
            "  --pacing on|off        on (default, as tickwire-server): sleep until the tick,\n"
            "                         then read every ready socket, tick and write in one go;\n"
            "                         off: wake for every event\n"
            "  --help                 print this and exit\n",
            prog, name, PROTO_SUBPROTOCOL, FLOOR_DEFAULT_SNAPSHOT_BYTES);
}

int floor_opts_parse(floor_opts *o, int argc, char **argv, const char *name)
{
    o->host = "127.0.0.1";
    o->port = 8081;
    o->tick_rate = 60;
    o->pacing = 1;
    long snapshot_bytes = FLOOR_DEFAULT_SNAPSHOT_BYTES;
    char err[160];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout, argv[0], name);
            return 1;
        }
        char flag[32];
        const char *eq = strchr(arg, '=');
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (flen >= sizeof flag || strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s'\n", name, arg);
            usage(stderr, argv[0], name);
            return 2;
        }
        memcpy(flag, arg, flen);
        flag[flen] = '\0';
        if (strcmp(flag, "--host") && strcmp(flag, "--port") && strcmp(flag, "--tick-rate") &&
            strcmp(flag, "--snapshot-bytes") && strcmp(flag, "--pacing")) {
            fprintf(stderr, "%s: unknown flag '%s'\n", name, flag);
            usage(stderr, argv[0], name);
            return 2;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) {
            fprintf(stderr, "%s: %s needs a value\n", name, flag);
            usage(stderr, argv[0], name);
            return 2;
        }
        int rc = 0;
        if (strcmp(flag, "--host") == 0) {
            o->host = val;
        } else if (strcmp(flag, "--port") == 0) {
            rc = parse_int(flag, val, 0, 65535, &o->port, err, sizeof err);
        } else if (strcmp(flag, "--pacing") == 0) {
            if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0) {
                snprintf(err, sizeof err, "--pacing: on or off, not '%s'", val);
                rc = -1;
            }
            o->pacing = strcmp(val, "off") != 0;
        } else if (strcmp(flag, "--tick-rate") == 0) {
            rc = parse_int(flag, val, 1, 240, &o->tick_rate, err, sizeof err);
        } else {
            rc = parse_long(flag, val, PROTO_SNAPSHOT_HEADER_SIZE, PROTO_MAX_SNAPSHOT, &snapshot_bytes, err,
                            sizeof err);
        }
        if (rc) {
            fprintf(stderr, "%s: %s\n", name, err);
            usage(stderr, argv[0], name);
            return 2;
        }
    }
    o->snapshot_bytes = (size_t)snapshot_bytes;
    return 0;
}
