/* Unit tests for shared/proto.c, the wire format version 4.
 *
 * Each message: exact bytes of a known instance (so docs/PROTOCOL.md cannot
 * drift: every byte example of the page is asserted here), round trips at
 * the limits of every field, every strict prefix of a valid message
 * rejected as truncated, trailing bytes, bad type/version, out-of-range
 * values, and writers returning 0 when the buffer is too small.
 * INPUT views (the view_back/view_frac rules); CHAT and its UTF-8 rules;
 * each reliable event and the events section header.
 * Snapshot bodies: full and delta, the match state (sent only when it
 * changed), add/remove/change, the EXT fields (flags, health, life, stats
 * deltas with u16 wrap), slot reuse via gen, 128 entities, wrap-around of
 * aim/positions/velocities, and a randomized round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bits.h"
#include "proto.h"
#include "sim.h"

/* ---- helpers ------------------------------------------------------------ */

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    return (uint32_t)((sim_rand_next(s) >> 32) % n);
}

static void set_ent(proto_snapshot *s, int id, uint16_t x, uint16_t y, int16_t vx, int16_t vy,
                    uint16_t aim, uint8_t flags)
{
    s->present[id] = 1;
    s->ent[id] = (sim_netent){.x = x, .y = y, .vx = vx, .vy = vy, .aim = aim, .flags = flags};
}

/* The combat fields of a present entity. */
static void set_combat(proto_snapshot *s, int id, uint8_t health, uint8_t life, uint16_t kills,
                       uint16_t deaths, uint16_t score, uint16_t hits)
{
    sim_netent *e = &s->ent[id];
    e->health = health;
    e->life = life;
    e->kills = kills;
    e->deaths = deaths;
    e->score = score;
    e->hits = hits;
}

static void assert_ms_equal(const proto_match_state *a, const proto_match_state *b)
{
    if (a->phase != b->phase || a->min_players != b->min_players || a->round != b->round ||
        a->score_limit != b->score_limit || a->end_tick != b->end_tick)
        fail_msg("match state: want %u/%u/%u/%u/%u, got %u/%u/%u/%u/%u", a->phase, a->min_players, a->round,
                 a->score_limit, a->end_tick, b->phase, b->min_players, b->round, b->score_limit, b->end_tick);
}

/* Entity-wise equality of what a snapshot says, and its match state (gen
 * is each side's own counter and is not compared). */
static void assert_snap_equal(const proto_snapshot *want, const proto_snapshot *got)
{
    assert_ms_equal(&want->ms, &got->ms);
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        if (want->present[id] != got->present[id])
            fail_msg("entity %d: present %d, decoded %d", id, want->present[id], got->present[id]);
        if (!want->present[id])
            continue;
        const sim_netent *a = &want->ent[id], *b = &got->ent[id];
        if (a->x != b->x || a->y != b->y || a->vx != b->vx || a->vy != b->vy ||
            a->aim != b->aim || a->flags != b->flags)
            fail_msg("entity %d: want x=%u y=%u vx=%d vy=%d aim=%u flags=%u, "
                     "got x=%u y=%u vx=%d vy=%d aim=%u flags=%u",
                     id, a->x, a->y, a->vx, a->vy, a->aim, a->flags, b->x, b->y, b->vx, b->vy,
                     b->aim, b->flags);
        if (a->turn != b->turn || a->move != b->move)
            fail_msg("entity %d: want turn=%d move=%u, got turn=%d move=%u", id, a->turn, a->move, b->turn, b->move);
        if (a->health != b->health || a->life != b->life || a->kills != b->kills || a->deaths != b->deaths ||
            a->score != b->score || a->hits != b->hits)
            fail_msg("entity %d: want health=%u life=%u k/d/s/h=%u/%u/%u/%u, "
                     "got health=%u life=%u k/d/s/h=%u/%u/%u/%u",
                     id, a->health, a->life, a->kills, a->deaths, a->score, a->hits, b->health, b->life,
                     b->kills, b->deaths, b->score, b->hits);
    }
}

/* Writes the body of cur against base, decodes it and checks it gives cur
 * back; then checks that strict prefixes are rejected (all of them when
 * `all_prefixes`, else the ones one byte short and a sample) and that a
 * trailing byte is rejected. Returns the body size. */
static size_t body_round_trip(const proto_snapshot *base, const proto_snapshot *cur,
                              const proto_names *names, uint16_t tick_rate, int all_prefixes)
{
    static uint8_t buf[PROTO_MAX_SNAPSHOT_BODY + 1];
    size_t n = proto_snapshot_body_write(base, cur, names, tick_rate, buf, PROTO_MAX_SNAPSHOT_BODY);
    assert_true(n > 0);
    assert_true(n <= PROTO_MAX_SNAPSHOT_BODY);

    static proto_snapshot out;
    static proto_names got_names;
    memset(&got_names, 0, sizeof got_names);
    out.tick = cur->tick;
    assert_int_equal(proto_snapshot_body_read(base, &out, &got_names, tick_rate, buf, n), PROTO_OK);
    assert_int_equal(out.tick, cur->tick);
    assert_snap_equal(cur, &out);
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        int added = cur->present[id] && (!base || !base->present[id] || base->gen[id] != cur->gen[id]);
        if (added)
            assert_string_equal(got_names.name[id], names->name[id]);
    }

    for (size_t len = 0; len < n; len++) {
        if (!all_prefixes && len + 1 != n && len % 97 != 0 && len > 16)
            continue;
        out.tick = cur->tick;
        int err = proto_snapshot_body_read(base, &out, &got_names, tick_rate, buf, len);
        if (err != PROTO_ERR_TRUNCATED)
            fail_msg("prefix of %zu of %zu bytes: got %d, want truncated", len, n, err);
    }
    buf[n] = 0;
    out.tick = cur->tick;
    assert_int_equal(proto_snapshot_body_read(base, &out, &got_names, tick_rate, buf, n + 1),
                     PROTO_ERR_TRAILING);
    return n;
}

/* The op of the first entry of a body, with its id. */
static int first_entry_op(const uint8_t *buf, size_t len, int *id)
{
    static const uint8_t gap[4] = {0, 2, 4, 8};
    bits_reader r;
    bits_reader_init(&r, buf, len);
    assert_true(bits_read(&r, 8) >= 1);
    if (bits_read(&r, 8)) /* the match state */
        bits_read(&r, 80);
    *id = (int)bits_read_class(&r, gap);
    int op = (int)bits_read(&r, 2);
    assert_int_equal(r.error, 0);
    return op;
}

/* ---- JOIN ----------------------------------------------------------------- */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const uint8_t RESUME[PROTO_RESUME_LEN] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                                 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

/* A token of n characters cycling through the base64url alphabet. */
static void make_token(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = B64URL[(i * 7 + 3) % 64];
    out[n] = '\0';
}

static void test_join_bytes_and_round_trip(void **state)
{
    (void)state;
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    /* docs/PROTOCOL.md 5.1: token "Ab-_9" and no resume token ... */
    size_t n = proto_join_write("Ab-_9", NULL, buf, sizeof buf);
    const uint8_t want[] = {0x01, 0x06, 0x05, 'A', 'b', '-', '_', '9', 0x00, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(proto_peek_type(buf, n), PROTO_JOIN);
    proto_join j;
    memset(&j, 0x55, sizeof j);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.version, 6);
    assert_int_equal(j.mode, PROTO_MODE_PLAY);
    assert_int_equal(j.match_id, 0);
    assert_int_equal(j.token_len, 5);
    assert_string_equal(j.token, "Ab-_9");
    assert_int_equal(j.has_resume, 0);

    /* ... and a resume with no token. */
    n = proto_join_write("", RESUME, buf, sizeof buf);
    const uint8_t want2[] = {0x01, 0x06, 0x00, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                             0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00};
    assert_int_equal(n, sizeof want2);
    assert_memory_equal(buf, want2, sizeof want2);
    memset(&j, 0x55, sizeof j);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.token_len, 0);
    assert_string_equal(j.token, "");
    assert_int_equal(j.has_resume, 1);
    assert_memory_equal(j.resume, RESUME, PROTO_RESUME_LEN);

    /* Token lengths 1..200, with and without a resume token. */
    char token[PROTO_MAX_TOKEN + 1];
    const size_t lens[] = {1, 2, 3, 4, 63, 64, 100, 154, 199, PROTO_MAX_TOKEN};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        make_token(token, lens[i]);
        for (int with = 0; with < 2; with++) {
            n = proto_join_write(token, with ? RESUME : NULL, buf, sizeof buf);
            assert_int_equal(n, 5 + lens[i] + (with ? PROTO_RESUME_LEN : 0));
            assert_true(n <= PROTO_MAX_JOIN_MSG);
            assert_int_equal(buf[2], lens[i]);
            memset(&j, 0x55, sizeof j);
            assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
            assert_int_equal(j.version, PROTO_VERSION);
            assert_int_equal(j.token_len, lens[i]);
            assert_string_equal(j.token, token);
            assert_int_equal(j.has_resume, with);
            if (with)
                assert_memory_equal(j.resume, RESUME, PROTO_RESUME_LEN);
        }
    }
    /* The longest JOIN: 4 + 200 + 16 + 1 = 221 bytes, within PROTO_MAX_JOIN_MSG. */
    n = proto_join_write(token, RESUME, buf, sizeof buf);
    assert_int_equal(n, 221);
    /* Every base64url character is a valid token byte. */
    for (int c = 0; c < 64; c++) {
        char one[2] = {B64URL[c], 0};
        n = proto_join_write(one, NULL, buf, sizeof buf);
        assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
        assert_int_equal(j.token[0], B64URL[c]);
    }
}

/* docs/PROTOCOL.md 5.1: the spectate JOINs (v6). */
static void test_join_spectate(void **state)
{
    (void)state;
    uint8_t buf[PROTO_MAX_JOIN_MSG + 1];
    proto_join j;
    size_t n = proto_join_spectate_write("Ab-_9", 0x0102, buf, sizeof buf);
    const uint8_t want[] = {0x01, 0x06, 0x05, 'A', 'b', '-', '_', '9', 0x00, 0x01, 0x02, 0x01};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    memset(&j, 0x55, sizeof j);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.mode, PROTO_MODE_SPECTATE);
    assert_int_equal(j.match_id, 0x0102);
    assert_int_equal(j.has_resume, 0);
    assert_string_equal(j.token, "Ab-_9");
    n = proto_join_spectate_write("Ab-_9", PROTO_MATCH_ANY, buf, sizeof buf);
    const uint8_t any[] = {0x01, 0x06, 0x05, 'A', 'b', '-', '_', '9', 0x00, 0x01, 0xff, 0xff};
    assert_int_equal(n, sizeof any);
    assert_memory_equal(buf, any, sizeof any);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.match_id, PROTO_MATCH_ANY);
    buf[n] = 0;
    assert_int_equal(proto_join_read(buf, n + 1, &j), PROTO_ERR_TRAILING);

    /* Modes other than 0 and 1; a spectator with a resume token, or with
     * none of a join token (a resume token alone). */
    for (int mode = 2; mode < 256; mode++) {
        uint8_t m[] = {0x01, PROTO_VERSION, 0x01, 'x', 0x00, (uint8_t)mode, 0x00, 0x00};
        assert_int_equal(proto_join_read(m, sizeof m, &j), PROTO_ERR_VALUE);
        assert_int_equal(proto_join_read(m, 6, &j), PROTO_ERR_VALUE);
    }
    uint8_t with_resume[5 + 16 + 3] = {0x01, PROTO_VERSION, 0x01, 'x', 0x10};
    with_resume[5 + 16] = PROTO_MODE_SPECTATE;
    assert_int_equal(proto_join_read(with_resume, sizeof with_resume, &j), PROTO_ERR_VALUE);
    uint8_t resume_only[4 + 16 + 3] = {0x01, PROTO_VERSION, 0x00, 0x10};
    resume_only[4 + 16] = PROTO_MODE_SPECTATE;
    assert_int_equal(proto_join_read(resume_only, sizeof resume_only, &j), PROTO_ERR_VALUE);
    /* A play JOIN has nothing after the mode byte. */
    const uint8_t play_more[] = {0x01, PROTO_VERSION, 0x01, 'x', 0x00, 0x00, 0x01, 0x00};
    assert_int_equal(proto_join_read(play_more, sizeof play_more, &j), PROTO_ERR_TRAILING);

    /* The writer: a token is required; the longest spectate JOIN is
     * 3 + 200 + 1 + 1 + 2 = 207 bytes; every capacity below fails. */
    assert_int_equal(proto_join_spectate_write("", 1, buf, sizeof buf), 0);
    assert_int_equal(proto_join_spectate_write("a+b", 1, buf, sizeof buf), 0);
    char token[PROTO_MAX_TOKEN + 1];
    make_token(token, PROTO_MAX_TOKEN);
    n = proto_join_spectate_write(token, 3, buf, sizeof buf);
    assert_int_equal(n, 207);
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(proto_join_spectate_write(token, 3, buf, cap), 0);
}

static void test_join_rejects(void **state)
{
    (void)state;
    uint8_t buf[PROTO_MAX_JOIN_MSG + 1];
    proto_join j;
    char token[PROTO_MAX_TOKEN + 2];
    make_token(token, 20);

    /* Every strict prefix of each shape is truncated; one more byte trails.
     * Shapes: token, resume alone, both, spectate a match, spectate any. */
    for (int shape = 0; shape < 5; shape++) {
        size_t n = shape >= 3 ? proto_join_spectate_write(token, shape == 3 ? 7 : PROTO_MATCH_ANY, buf, sizeof buf)
                              : proto_join_write(shape == 1 ? "" : token, shape ? RESUME : NULL, buf, sizeof buf);
        assert_true(n > 0);
        for (size_t len = 0; len < n; len++) {
            int err = proto_join_read(buf, len, &j);
            if (err != PROTO_ERR_TRUNCATED)
                fail_msg("shape %d: prefix %zu of %zu: got %d", shape, len, n, err);
        }
        buf[n] = 0;
        assert_int_equal(proto_join_read(buf, n + 1, &j), PROTO_ERR_TRAILING);
    }
    /* The longest JOIN too. */
    make_token(token, PROTO_MAX_TOKEN);
    size_t n = proto_join_write(token, RESUME, buf, sizeof buf);
    assert_int_equal(n, 221);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(proto_join_read(buf, len, &j), PROTO_ERR_TRUNCATED);

    n = proto_join_write("ab", NULL, buf, sizeof buf);
    buf[0] = PROTO_INPUT;
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_ERR_TYPE);
    buf[0] = PROTO_JOIN;
    /* v1 to v5 clients (and a future v7) are refused by the version byte. */
    const uint8_t versions[] = {0, 1, 2, 3, 4, 5, 7, 0xff};
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[1] = versions[i];
        assert_int_equal(proto_join_read(buf, n, &j), PROTO_ERR_VERSION);
    }
    buf[1] = PROTO_VERSION;
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);

    /* token_len 201 and 255 are out of range even with the bytes present. */
    static uint8_t longer[5 + 255];
    memset(longer, 'a', sizeof longer);
    longer[0] = PROTO_JOIN;
    longer[1] = PROTO_VERSION;
    longer[2] = PROTO_MAX_TOKEN + 1;
    longer[3 + PROTO_MAX_TOKEN + 1] = 0;
    longer[4 + PROTO_MAX_TOKEN + 1] = 0;
    assert_int_equal(proto_join_read(longer, 5 + PROTO_MAX_TOKEN + 1, &j), PROTO_ERR_VALUE);
    longer[2] = 255;
    longer[3 + 255] = 0;
    longer[4 + 255] = 0;
    assert_int_equal(proto_join_read(longer, sizeof longer, &j), PROTO_ERR_VALUE);
    /* ... 200 is fine. */
    longer[2] = PROTO_MAX_TOKEN;
    longer[3 + PROTO_MAX_TOKEN] = 0;
    longer[4 + PROTO_MAX_TOKEN] = 0;
    assert_int_equal(proto_join_read(longer, 5 + PROTO_MAX_TOKEN, &j), PROTO_OK);

    /* A byte outside A-Z a-z 0-9 - _ anywhere in the token (base64 '+',
     * '/', '=' padding, space, '.', control and high bytes). */
    const uint8_t bad_bytes[] = {'+', '/', '=', ' ', '.', '~', '@', '[', '`', '{', ':', 0x00,
                                 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < sizeof bad_bytes; i++) {
        for (int at = 0; at < 3; at++) {
            uint8_t m[] = {PROTO_JOIN, PROTO_VERSION, 3, 'o', 'k', '9', 0, 0};
            m[3 + at] = bad_bytes[i];
            assert_int_equal(proto_join_read(m, sizeof m, &j), PROTO_ERR_VALUE);
        }
    }
    /* Every byte value: valid in a token iff it is base64url. */
    for (int c = 0; c < 256; c++) {
        uint8_t m[] = {PROTO_JOIN, PROTO_VERSION, 1, (uint8_t)c, 0, 0};
        int ok = c != 0 && strchr(B64URL, c) != NULL;
        assert_int_equal(proto_join_read(m, sizeof m, &j), ok ? PROTO_OK : PROTO_ERR_VALUE);
    }

    /* resume_len other than 0 or 16, even with that many bytes present. */
    for (int rl = 1; rl < 256; rl++) {
        if (rl == PROTO_RESUME_LEN)
            continue;
        static uint8_t m[5 + 255];
        memset(m, 0x42, sizeof m);
        m[0] = PROTO_JOIN;
        m[1] = PROTO_VERSION;
        m[2] = 1;
        m[3] = 'x';
        m[4] = (uint8_t)rl;
        assert_int_equal(proto_join_read(m, 5 + (size_t)rl, &j), PROTO_ERR_VALUE);
    }

    /* Neither a token nor a resume token. */
    const uint8_t neither[] = {PROTO_JOIN, PROTO_VERSION, 0, 0, 0};
    assert_int_equal(proto_join_read(neither, sizeof neither, &j), PROTO_ERR_VALUE);
    assert_int_equal(proto_join_read(neither, 3, &j), PROTO_ERR_TRUNCATED);
    /* A v5 JOIN (no mode byte) is refused by its version byte, and would
     * be truncated with a v6 version byte. */
    const uint8_t v5[] = {0x01, 0x05, 0x02, 'o', 'k', 0x00};
    assert_int_equal(proto_join_read(v5, sizeof v5, &j), PROTO_ERR_VERSION);
    uint8_t v5as6[sizeof v5];
    memcpy(v5as6, v5, sizeof v5);
    v5as6[1] = PROTO_VERSION;
    assert_int_equal(proto_join_read(v5as6, sizeof v5as6, &j), PROTO_ERR_TRUNCATED);
    /* ... the v1 JOIN of "bob" is now a short token with no resume_len. */
    const uint8_t v1[] = {0x01, 0x01, 0x03, 'b', 'o', 'b'};
    assert_int_equal(proto_join_read(v1, sizeof v1, &j), PROTO_ERR_VERSION);

    /* Writer: a token over 200 characters is not cut but refused, and so
     * is a JOIN its own reader would refuse; every capacity below the
     * size fails with 0. */
    make_token(token, PROTO_MAX_TOKEN + 1);
    assert_int_equal(proto_join_write(token, NULL, buf, sizeof buf), 0);
    assert_int_equal(proto_join_write(token, RESUME, buf, sizeof buf), 0);
    assert_int_equal(proto_join_write("", NULL, buf, sizeof buf), 0);
    assert_int_equal(proto_join_write("a+b", NULL, buf, sizeof buf), 0);
    assert_int_equal(proto_join_write("ab=", RESUME, buf, sizeof buf), 0);
    for (int shape = 0; shape < 2; shape++) {
        n = proto_join_write("abcdef", shape ? RESUME : NULL, buf, sizeof buf);
        for (size_t cap = 0; cap < n; cap++)
            assert_int_equal(proto_join_write("abcdef", shape ? RESUME : NULL, buf, cap), 0);
        assert_int_equal(proto_join_write("abcdef", shape ? RESUME : NULL, buf, n), n);
    }
}

/* ---- INPUT ---------------------------------------------------------------- */

/* docs/PROTOCOL.md 5.2: ack 0x01020304, events acknowledged up to 40, seqs
 * 7 and 8; input 7 drew the others 2 ticks before the ack and half a tick
 * on (view_back 2, view_frac 0x80), input 8 drew nothing yet (255). */
static void test_input_bytes(void **state)
{
    (void)state;
    proto_input_msg m = {.ack_tick = 0x01020304, .event_ack = 40, .first_seq = 7, .count = 2};
    m.in[0] = (sim_input){.buttons = SIM_BTN_UP | SIM_BTN_FIRE, .aim = 0xbeef, .view_tick = 0x01020302,
                          .view_frac = 0x80};
    m.in[1] = (sim_input){.buttons = 0, .aim = 1};
    uint8_t buf[64];
    size_t n = proto_input_write(&m, buf, sizeof buf);
    if (getenv("TW_PRINT_EXAMPLE")) {
        for (size_t i = 0; i < n; i++)
            printf("%02x%s", buf[i], i + 1 == n ? "\n" : " ");
    }
    const uint8_t want[] = {
        0x02,                   /* INPUT */
        0x04, 0x03, 0x02, 0x01, /* ack_tick */
        0x28, 0x00, 0x00, 0x00, /* event_ack 40 */
        0x07, 0x00, 0x00, 0x00, /* first_seq */
        0x02,                   /* count */
        0x11, 0xef, 0xbe, 0x02, 0x80, /* UP|FIRE, aim 0xbeef, view_back 2, view_frac 0x80 */
        0x00, 0x01, 0x00, 0xff, 0x00, /* nothing, aim 1, no view */
    };
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(proto_peek_type(buf, n), PROTO_INPUT);
    proto_input_msg o;
    memset(&o, 0xaa, sizeof o);
    assert_int_equal(proto_input_read(buf, n, &o), PROTO_OK);
    assert_int_equal(o.ack_tick, 0x01020304);
    assert_int_equal(o.event_ack, 40);
    assert_int_equal(o.first_seq, 7);
    assert_int_equal(o.count, 2);
    assert_int_equal(o.in[0].buttons, 0x11);
    assert_int_equal(o.in[0].aim, 0xbeef);
    assert_int_equal(o.in[0].view_tick, 0x01020302);
    assert_int_equal(o.in[0].view_frac, 0x80);
    assert_int_equal(o.in[1].buttons, 0);
    assert_int_equal(o.in[1].aim, 1);
    assert_int_equal(o.in[1].view_tick, 0);
    assert_int_equal(o.in[1].view_frac, 0);
}

static void test_input_round_trip_limits(void **state)
{
    (void)state;
    uint8_t buf[64];
    const uint32_t seqs[] = {1, 2, 0x7fffffff, UINT32_MAX - PROTO_MAX_INPUTS_PER_MSG};
    const uint32_t acks[] = {0, 1, 300, UINT32_MAX};
    const uint32_t event_acks[] = {0, 1, 0x01020304, UINT32_MAX};
    int button = 0;
    for (int count = 1; count <= PROTO_MAX_INPUTS_PER_MSG; count++) {
        for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
            for (size_t a = 0; a < sizeof acks / sizeof acks[0]; a++) {
                proto_input_msg m = {.ack_tick = acks[a], .event_ack = event_acks[(s + a) % 4],
                                     .first_seq = seqs[s], .count = (uint8_t)count};
                uint32_t span = m.ack_tick < 255 ? m.ack_tick : 255; /* backs 0..span-1 fit */
                for (int i = 0; i < count; i++) {
                    m.in[i].buttons = (uint8_t)(button++ % (SIM_BTN_ALL + 1));
                    m.in[i].aim = (uint16_t)(i & 1 ? 65535 : i * 8191);
                    if (span && i % 3 != 2) {
                        m.in[i].view_tick = m.ack_tick - (uint32_t)(i * 37 + (int)s) % span;
                        m.in[i].view_frac = (uint8_t)(i * 53 + count);
                    }
                }
                size_t n = proto_input_write(&m, buf, sizeof buf);
                assert_int_equal(n, 14 + 5 * (size_t)count);
                assert_true(n <= PROTO_MAX_CLIENT_MSG);
                proto_input_msg o;
                memset(&o, 0xaa, sizeof o);
                assert_int_equal(proto_input_read(buf, n, &o), PROTO_OK);
                assert_int_equal(o.ack_tick, m.ack_tick);
                assert_int_equal(o.event_ack, m.event_ack);
                assert_int_equal(o.first_seq, m.first_seq);
                assert_int_equal(o.count, m.count);
                for (int i = 0; i < count; i++) {
                    assert_int_equal(o.in[i].buttons, m.in[i].buttons);
                    assert_int_equal(o.in[i].aim, m.in[i].aim);
                    assert_int_equal(o.in[i].view_tick, m.in[i].view_tick);
                    assert_int_equal(o.in[i].view_frac, m.in[i].view_frac);
                }
            }
        }
    }
    assert_true(button > SIM_BTN_ALL); /* every button combination was used */
}

/* The writer's rules for a view (view_tick, view_frac) against ack_tick,
 * and what the reader makes of the bytes. */
static void test_input_views(void **state)
{
    (void)state;
    struct {
        uint32_t ack, view;
        uint8_t frac;
        uint8_t back, wire_frac; /* written */
        uint32_t got;            /* view_tick read back */
    } cases[] = {
        {1000, 998, 0x80, 2, 0x80, 998},
        {1000, 1000, 7, 0, 7, 1000},
        {1000, 1001, 9, 0, 0, 1000},         /* newer than the ack: the ack */
        {1000, UINT32_MAX, 3, 0, 0, 1000},
        {1000, 746, 5, 254, 5, 746},         /* 254 back: the oldest that travels */
        {1000, 745, 5, 254, 0, 746},         /* older: clamped to 254, fraction 0 */
        {1000, 1, 200, 254, 0, 746},
        {1000, 0, 0, 255, 0, 0},             /* no view */
        {1000, 0, 9, 255, 0, 0},             /* ... has no fraction */
        {1, 1, 3, 0, 3, 1},
        {1, 2, 3, 0, 0, 1},
        {255, 1, 0xff, 254, 0xff, 1},
        {UINT32_MAX, 1, 1, 254, 0, UINT32_MAX - 254},
        {UINT32_MAX, UINT32_MAX - 17, 1, 17, 1, UINT32_MAX - 17},
        /* ack_tick 0: nothing to count back from, every view is none
         * (inputs resent after a resume, before the first snapshot) */
        {0, 5, 9, 255, 0, 0},
        {0, 1, 0, 255, 0, 0},
        {0, UINT32_MAX, 0x80, 255, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        proto_input_msg m = {.ack_tick = cases[k].ack, .first_seq = 3, .count = 1};
        m.in[0] = (sim_input){.buttons = SIM_BTN_FIRE, .aim = 77, .view_tick = cases[k].view,
                              .view_frac = cases[k].frac};
        uint8_t buf[32];
        size_t n = proto_input_write(&m, buf, sizeof buf);
        assert_int_equal(n, 19);
        if (buf[17] != cases[k].back || buf[18] != cases[k].wire_frac)
            fail_msg("case %zu: wrote back %u frac %u, want %u %u", k, buf[17], buf[18], cases[k].back,
                     cases[k].wire_frac);
        proto_input_msg o;
        assert_int_equal(proto_input_read(buf, n, &o), PROTO_OK);
        assert_int_equal(o.in[0].view_tick, cases[k].got);
        assert_int_equal(o.in[0].view_frac, cases[k].wire_frac);
    }

    /* The reader: back < ack_tick (so the view is tick 1 or later), or 255
     * with fraction 0. Whatever it accepts, the writer writes back the same. */
    const uint32_t acks[] = {0, 1, 2, 5, 254, 255, 256, 1000, UINT32_MAX};
    const uint8_t fracs[] = {0, 1, 0x80, 0xff};
    for (size_t a = 0; a < sizeof acks / sizeof acks[0]; a++) {
        for (int back = 0; back < 256; back++) {
            for (size_t f = 0; f < sizeof fracs; f++) {
                uint8_t msg[19] = {PROTO_INPUT, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
                for (int i = 0; i < 4; i++)
                    msg[1 + i] = (uint8_t)(acks[a] >> (8 * i));
                msg[17] = (uint8_t)back;
                msg[18] = fracs[f];
                int ok = back == 255 ? fracs[f] == 0 : (uint32_t)back < acks[a];
                proto_input_msg o;
                int err = proto_input_read(msg, sizeof msg, &o);
                if (err != (ok ? PROTO_OK : PROTO_ERR_VALUE))
                    fail_msg("ack %u back %d frac %u: got %d", acks[a], back, fracs[f], err);
                if (!ok)
                    continue;
                assert_int_equal(o.in[0].view_tick, back == 255 ? 0 : acks[a] - (uint32_t)back);
                uint8_t again[19];
                assert_int_equal(proto_input_write(&o, again, sizeof again), sizeof msg);
                assert_memory_equal(again, msg, sizeof msg);
            }
        }
    }
}

static void test_input_rejects(void **state)
{
    (void)state;
    proto_input_msg m = {.ack_tick = 9, .event_ack = 3, .first_seq = 100, .count = PROTO_MAX_INPUTS_PER_MSG};
    for (int i = 0; i < m.count; i++)
        m.in[i] = (sim_input){.buttons = SIM_BTN_ALL, .aim = 65535, .view_tick = (uint32_t)(9 - i), .view_frac = 0xff};
    uint8_t buf[64], bad[64];
    proto_input_msg o;
    size_t n = proto_input_write(&m, buf, sizeof buf);
    /* The longest INPUT: 14 + 8 x 5 = 54 bytes. */
    assert_int_equal(n, 54);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(proto_input_read(buf, len, &o), PROTO_ERR_TRUNCATED);
    buf[n] = 0;
    assert_int_equal(proto_input_read(buf, n + 1, &o), PROTO_ERR_TRAILING);

    memcpy(bad, buf, n);
    bad[0] = PROTO_JOIN;
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_TYPE);
    bad[0] = PROTO_CHAT;
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_TYPE);
    bad[0] = 0xff;
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_TYPE);

    /* count 0 and count 9 */
    memcpy(bad, buf, n);
    bad[13] = 0;
    assert_int_equal(proto_input_read(bad, 14, &o), PROTO_ERR_VALUE);
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
    bad[13] = 9;
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
    /* even with 9 inputs present */
    bad[n] = 0x01; bad[n + 1] = 0x00; bad[n + 2] = 0x00; bad[n + 3] = 0xff; bad[n + 4] = 0x00;
    assert_int_equal(proto_input_read(bad, n + 5, &o), PROTO_ERR_VALUE);

    /* first_seq 0, and first_seq so large the seqs would wrap */
    memcpy(bad, buf, n);
    memset(bad + 9, 0, 4);
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
    uint32_t big = UINT32_MAX - PROTO_MAX_INPUTS_PER_MSG + 1;
    bad[9] = (uint8_t)big; bad[10] = (uint8_t)(big >> 8); bad[11] = (uint8_t)(big >> 16); bad[12] = (uint8_t)(big >> 24);
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);

    /* event_ack is any u32 (whether it was sent is the server's business) */
    memcpy(bad, buf, n);
    memset(bad + 5, 0xff, 4);
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_OK);
    assert_int_equal(o.event_ack, UINT32_MAX);

    /* buttons with bits outside SIM_BTN_ALL, in the first and the last input */
    const uint8_t unknown[] = {0x20, 0x40, 0x80, 0x3f, 0xff};
    for (size_t k = 0; k < sizeof unknown; k++) {
        for (int at = 0; at < 2; at++) {
            memcpy(bad, buf, n);
            bad[at ? n - 5 : 14] = unknown[k];
            assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
        }
    }
    /* A view at or before tick 0 (back >= ack_tick 9), and a fraction
     * without a view, in the last input. */
    const uint8_t backs[][2] = {{9, 0}, {10, 0}, {254, 0}, {255, 1}, {255, 0xff}};
    for (size_t k = 0; k < sizeof backs / sizeof backs[0]; k++) {
        memcpy(bad, buf, n);
        bad[n - 2] = backs[k][0];
        bad[n - 1] = backs[k][1];
        assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
    }

    /* Writer: count out of range and every too-small capacity. */
    proto_input_msg z = m;
    z.count = 0;
    assert_int_equal(proto_input_write(&z, buf, sizeof buf), 0);
    z.count = PROTO_MAX_INPUTS_PER_MSG + 1;
    assert_int_equal(proto_input_write(&z, buf, sizeof buf), 0);
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(proto_input_write(&m, buf, cap), 0);
    assert_int_equal(proto_input_write(&m, buf, n), n);
}

/* ---- CHAT ----------------------------------------------------------------- */

/* Writes text as a CHAT, reads it back; returns the size. */
static size_t chat_round_trip(const char *text, size_t len)
{
    static uint8_t buf[PROTO_MAX_CLIENT_MSG + 8];
    size_t n = proto_chat_write(text, len, buf, sizeof buf);
    assert_int_equal(n, 3 + len);
    assert_true(n <= PROTO_MAX_CLIENT_MSG);
    static char out[PROTO_MAX_CHAT_BYTES + 1];
    size_t out_len = 9999;
    assert_int_equal(proto_chat_read(buf, n, out, &out_len), PROTO_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, text, len);
    assert_int_equal(out[len], '\0');
    for (size_t k = 0; k < n; k++)
        assert_int_equal(proto_chat_read(buf, k, out, &out_len), PROTO_ERR_TRUNCATED);
    buf[n] = 'x';
    assert_int_equal(proto_chat_read(buf, n + 1, out, &out_len), PROTO_ERR_TRAILING);
    return n;
}

/* A chat message of len bytes, its declared length as given. */
static size_t chat_raw(uint8_t *buf, size_t declared, const void *text, size_t len)
{
    buf[0] = PROTO_CHAT;
    buf[1] = (uint8_t)declared;
    buf[2] = (uint8_t)(declared >> 8);
    memcpy(buf + 3, text, len);
    return 3 + len;
}

/* docs/PROTOCOL.md 5.5: "olé 🙂" is 5 code points in 9 bytes. */
static void test_chat_bytes(void **state)
{
    (void)state;
    static const char text[] = "ol\xc3\xa9 \xf0\x9f\x99\x82";
    uint8_t buf[32];
    size_t n = proto_chat_write(text, strlen(text), buf, sizeof buf);
    const uint8_t want[] = {0x03, 0x09, 0x00, 0x6f, 0x6c, 0xc3, 0xa9, 0x20, 0xf0, 0x9f, 0x99, 0x82};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(proto_peek_type(buf, n), PROTO_CHAT);
    size_t chars = 0;
    assert_true(proto_utf8_valid((const uint8_t *)text, strlen(text), &chars));
    assert_int_equal(chars, 5);
    char out[PROTO_MAX_CHAT_BYTES + 1];
    size_t len;
    assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_OK);
    assert_int_equal(len, 9);
    assert_string_equal(out, text);
    chat_round_trip(text, strlen(text));

    /* An empty chat is well-formed (the server ignores it). */
    n = proto_chat_write("", 0, buf, sizeof buf);
    assert_int_equal(n, 3);
    assert_int_equal(buf[0], 0x03);
    assert_int_equal(buf[1], 0);
    assert_int_equal(buf[2], 0);
    assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_OK);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");

    /* Type, truncation, trailing. */
    buf[0] = PROTO_INPUT;
    assert_int_equal(proto_chat_read(buf, 3, out, &len), PROTO_ERR_TYPE);
    assert_int_equal(proto_chat_read(buf, 1, out, &len), PROTO_ERR_TYPE);
    buf[0] = PROTO_CHAT;
    assert_int_equal(proto_chat_read(buf, 0, out, &len), PROTO_ERR_TRUNCATED);
    assert_int_equal(proto_chat_read(buf, 1, out, &len), PROTO_ERR_TRUNCATED);
    uint8_t raw[600];
    n = chat_raw(raw, 10, "abc", 3); /* says 10, has 3 */
    assert_int_equal(proto_chat_read(raw, n, out, &len), PROTO_ERR_TRUNCATED);
    n = chat_raw(raw, 0xffff, "abc", 3);
    assert_int_equal(proto_chat_read(raw, n, out, &len), PROTO_ERR_TRUNCATED);
    n = chat_raw(raw, 2, "abc", 3);
    assert_int_equal(proto_chat_read(raw, n, out, &len), PROTO_ERR_TRAILING);

    /* Writer: every capacity below the size fails. */
    n = proto_chat_write(text, strlen(text), buf, sizeof buf);
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(proto_chat_write(text, strlen(text), buf, cap), 0);
}

/* proto_utf8_valid, and its verdict in the chat reader and writer. */
static void test_chat_utf8(void **state)
{
    (void)state;
    static const struct { const char *s; size_t len, chars; } valid[] = {
        {"", 0, 0},
        {"\x00", 1, 1},                     /* U+0000 is UTF-8 (proto_chat_clean drops it) */
        {"\x7f", 1, 1},
        {"\xc2\x80", 2, 1},                 /* U+0080, the smallest two-byte */
        {"\xdf\xbf", 2, 1},                 /* U+07FF */
        {"\xe0\xa0\x80", 3, 1},             /* U+0800, the smallest three-byte */
        {"\xed\x9f\xbf", 3, 1},             /* U+D7FF, just below the surrogates */
        {"\xee\x80\x80", 3, 1},             /* U+E000, just above */
        {"\xef\xbf\xbf", 3, 1},             /* U+FFFF */
        {"\xf0\x90\x80\x80", 4, 1},         /* U+10000, the smallest four-byte */
        {"\xf4\x8f\xbf\xbf", 4, 1},         /* U+10FFFF, the largest */
        {"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x99\x82z", 11, 5},
    };
    uint8_t buf[64];
    char out[PROTO_MAX_CHAT_BYTES + 1];
    size_t len;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        size_t chars = 999;
        if (!proto_utf8_valid((const uint8_t *)valid[i].s, valid[i].len, &chars))
            fail_msg("valid case %zu refused", i);
        assert_int_equal(chars, valid[i].chars);
        assert_true(proto_utf8_valid((const uint8_t *)valid[i].s, valid[i].len, NULL));
        chat_round_trip(valid[i].s, valid[i].len);
    }
    static const struct { const char *s; size_t len; } invalid[] = {
        /* overlong */
        {"\xc0\x80", 2}, {"\xc1\xbf", 2}, {"\xe0\x80\x80", 3}, {"\xe0\x9f\xbf", 3},
        {"\xf0\x80\x80\x80", 4}, {"\xf0\x8f\xbf\xbf", 4},
        /* surrogates */
        {"\xed\xa0\x80", 3}, {"\xed\xbf\xbf", 3}, {"\xed\xa0\xbd\xed\xb8\x82", 6},
        /* past U+10FFFF, and lead bytes that cannot start anything */
        {"\xf4\x90\x80\x80", 4}, {"\xf5\x80\x80\x80", 4}, {"\xf7\xbf\xbf\xbf", 4},
        {"\xf8\x88\x80\x80\x80", 5}, {"\xfc\x84\x80\x80\x80\x80", 6}, {"\xfe", 1}, {"\xff", 1},
        /* truncated sequences, at the end and before another character */
        {"\xc3", 1}, {"\xe2\x82", 2}, {"\xf0\x9f\x99", 3}, {"ab\xc3", 3}, {"\xc3" "A", 2},
        {"\xe2\x82" "A", 3}, {"\xf0\x9f\x99 ", 4},
        /* lone continuation bytes */
        {"\x80", 1}, {"\xbf", 1}, {"a\x80" "b", 3}, {"\xc3\xa9\xa9", 3},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        if (proto_utf8_valid((const uint8_t *)invalid[i].s, invalid[i].len, NULL))
            fail_msg("invalid case %zu accepted", i);
        assert_int_equal(proto_chat_write(invalid[i].s, invalid[i].len, buf, sizeof buf), 0);
        size_t n = chat_raw(buf, invalid[i].len, invalid[i].s, invalid[i].len);
        assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_ERR_UTF8);
        /* ... also inside otherwise good text */
        uint8_t text[32];
        memcpy(text, "ok ", 3);
        memcpy(text + 3, invalid[i].s, invalid[i].len);
        memcpy(text + 3 + invalid[i].len, " \xc3\xa9", 3);
        assert_false(proto_utf8_valid(text, invalid[i].len + 6, NULL));
        n = chat_raw(buf, invalid[i].len + 6, text, invalid[i].len + 6);
        assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_ERR_UTF8);
    }
    /* Every lone byte: valid iff ASCII. */
    for (int c = 0; c < 256; c++) {
        uint8_t b = (uint8_t)c;
        assert_int_equal(proto_utf8_valid(&b, 1, NULL), c < 0x80);
    }
}

/* 120 code points and 480 bytes at most, as sent. */
static void test_chat_limits(void **state)
{
    (void)state;
    static char text[PROTO_MAX_CHAT_BYTES + 64];
    static uint8_t buf[PROTO_MAX_CLIENT_MSG + 16];
    static char out[PROTO_MAX_CHAT_BYTES + 1];
    size_t len;
    /* 120 and 121 code points of one, two, three and four bytes. */
    static const char *const units[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x99\x82"};
    for (int u = 0; u < 4; u++) {
        size_t w = strlen(units[u]);
        for (int k = 0; k < 121; k++)
            memcpy(text + (size_t)k * w, units[u], w);
        size_t n = chat_round_trip(text, 120 * w);
        assert_int_equal(n, 3 + 120 * w);
        size_t chars;
        assert_true(proto_utf8_valid((const uint8_t *)text, 121 * w, &chars));
        assert_int_equal(chars, 121);
        assert_int_equal(proto_chat_write(text, 121 * w, buf, sizeof buf), 0);
        n = chat_raw(buf, 121 * w, text, 121 * w);
        assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_ERR_VALUE);
    }
    /* 480 bytes (120 four-byte code points) is the longest chat: 483
     * bytes on the wire, within PROTO_MAX_CLIENT_MSG; 481 bytes would be
     * at least 121 code points. */
    for (int k = 0; k < 120; k++)
        memcpy(text + 4 * k, units[3], 4);
    assert_int_equal(chat_round_trip(text, PROTO_MAX_CHAT_BYTES), 483);
    assert_true(3 + PROTO_MAX_CHAT_BYTES <= PROTO_MAX_CLIENT_MSG);
    text[480] = 'a';
    assert_int_equal(proto_chat_write(text, 481, buf, sizeof buf), 0);
    size_t n = chat_raw(buf, 481, text, 481);
    assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_ERR_VALUE);
    /* A long run of ASCII too (the reader checks, never trusts the length). */
    memset(text, 'z', 500);
    n = chat_raw(buf, 500, text, 500);
    assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_ERR_VALUE);
    /* The limit counts the text as sent: a control character counts even
     * though the server would strip it. */
    memset(text, 'a', 121);
    text[60] = '\t';
    n = chat_raw(buf, 121, text, 121);
    assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_ERR_VALUE);
    assert_int_equal(proto_chat_write(text, 121, buf, sizeof buf), 0);
    /* Not UTF-8 is told apart from too long, whatever the length. */
    memset(text, 'a', 499);
    text[499] = (char)0xc3;
    n = chat_raw(buf, 500, text, 500);
    assert_int_equal(proto_chat_read(buf, n, out, &len), PROTO_ERR_UTF8);
}

/* proto_chat_clean drops C0 controls, DEL and C1 controls (U+0080..U+009F)
 * and keeps every other code point. */
static void test_chat_clean(void **state)
{
    (void)state;
    char t[128];
    static const char dirty[] = "a\x01" "b\x1f\x7f" " c\xc2\x80\xc2\x9f\xc2\xa0\xc3\xa9\xf0\x9f\x99\x82\t\n\r";
    size_t dlen = sizeof dirty - 1;
    memcpy(t, dirty, dlen);
    t[dlen] = 'X'; /* the NUL written at the new end must not depend on this */
    size_t n = proto_chat_clean(t, dlen);
    static const char clean[] = "ab c\xc2\xa0\xc3\xa9\xf0\x9f\x99\x82";
    assert_int_equal(n, sizeof clean - 1);
    assert_memory_equal(t, clean, n);
    assert_int_equal(t[n], '\0');
    assert_true(proto_utf8_valid((const uint8_t *)t, n, NULL));
    /* Clean text is left alone. */
    assert_int_equal(proto_chat_clean(t, n), n);
    assert_memory_equal(t, clean, n);
    /* NUL counts as a control character. */
    memcpy(t, "x\0y", 3);
    assert_int_equal(proto_chat_clean(t, 3), 2);
    assert_string_equal(t, "xy");
    /* Only controls: nothing is left. */
    memcpy(t, "\x00\x1b\x7f\xc2\x85", 5);
    assert_int_equal(proto_chat_clean(t, 5), 0);
    assert_string_equal(t, "");
    /* Every one-byte character: kept iff printable (0x20..0x7e). */
    for (int c = 0; c < 0x80; c++) {
        t[0] = (char)c;
        assert_int_equal(proto_chat_clean(t, 1), c >= 0x20 && c != 0x7f);
    }
    /* Every two-byte U+0080..U+00FF: kept from U+00A0 on. */
    for (int cp = 0x80; cp < 0x100; cp++) {
        t[0] = (char)(0xc0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3f));
        assert_int_equal(proto_chat_clean(t, 2), cp >= 0xa0 ? 2 : 0);
    }
    /* Other Unicode "format" characters are not control characters here. */
    memcpy(t, "\xe2\x80\xa8\xe2\x80\x8b\xef\xbb\xbf", 9); /* U+2028, U+200B, U+FEFF */
    assert_int_equal(proto_chat_clean(t, 9), 9);
}

/* ---- reliable events ------------------------------------------------------ */

static proto_event make_event(uint8_t type, uint8_t player, uint8_t other, uint8_t reason, uint16_t round,
                              const char *text)
{
    proto_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.player = player;
    e.other = other;
    e.reason = reason;
    e.round = round;
    if (text) {
        e.len = (uint16_t)strlen(text);
        memcpy(e.text, text, e.len + 1);
    }
    return e;
}

/* Reads an event, checks it is the given one and that *used is its size. */
static void assert_event_read(const uint8_t *buf, size_t len, size_t want_used, const proto_event *want)
{
    proto_event o;
    memset(&o, 0x5a, sizeof o);
    o.seq = 77; /* seq is the caller's: left alone */
    size_t used = 0;
    assert_int_equal(proto_event_read(buf, len, &o, &used), PROTO_OK);
    assert_int_equal(used, want_used);
    assert_int_equal(o.seq, 77);
    assert_int_equal(o.type, want->type);
    switch (want->type) {
    case PROTO_EV_KILL:
        assert_int_equal(o.player, want->player);
        assert_int_equal(o.other, want->other);
        break;
    case PROTO_EV_CHAT:
    case PROTO_EV_JOIN:
        assert_int_equal(o.player, want->player);
        assert_int_equal(o.len, want->len);
        assert_memory_equal(o.text, want->text, want->len);
        assert_int_equal(o.text[o.len], '\0');
        break;
    case PROTO_EV_LEAVE:
        assert_int_equal(o.player, want->player);
        break;
    case PROTO_EV_ROUND_START:
        assert_int_equal(o.round, want->round);
        break;
    default:
        assert_int_equal(o.round, want->round);
        assert_int_equal(o.reason, want->reason);
        assert_int_equal(o.other, want->other);
        break;
    }
}

/* docs/PROTOCOL.md 13.1: one event of each type. */
static void test_event_bytes(void **state)
{
    (void)state;
    static const struct {
        uint8_t type, player, other, reason;
        uint16_t round;
        const char *text;
        uint8_t want[16];
        size_t n;
    } cases[] = {
        {PROTO_EV_KILL, 2, 7, 0, 0, NULL, {0x01, 0x02, 0x00, 0x02, 0x07}, 5},
        {PROTO_EV_CHAT, 3, 0, 0, 0, "ol\xc3\xa9", {0x02, 0x05, 0x00, 0x03, 0x6f, 0x6c, 0xc3, 0xa9}, 8},
        {PROTO_EV_JOIN, 9, 0, 0, 0, "dee", {0x03, 0x04, 0x00, 0x09, 0x64, 0x65, 0x65}, 7},
        {PROTO_EV_LEAVE, 5, 0, 0, 0, NULL, {0x04, 0x01, 0x00, 0x05}, 4},
        {PROTO_EV_ROUND_START, 0, 0, 0, 3, NULL, {0x05, 0x02, 0x00, 0x03, 0x00}, 5},
        {PROTO_EV_ROUND_END, 0, 2, PROTO_END_SCORE, 3, NULL, {0x06, 0x04, 0x00, 0x03, 0x00, 0x02, 0x02}, 7},
        {PROTO_EV_ROUND_END, 0, 255, PROTO_END_TIME, 0x1234, NULL, {0x06, 0x04, 0x00, 0x34, 0x12, 0x01, 0xff}, 7},
        {PROTO_EV_ROUND_END, 0, 127, PROTO_END_INTERRUPTED, 1, NULL, {0x06, 0x04, 0x00, 0x01, 0x00, 0x03, 0x7f}, 7},
        /* An empty chat text and name are well-formed. */
        {PROTO_EV_CHAT, 0, 0, 0, 0, "", {0x02, 0x01, 0x00, 0x00}, 4},
        {PROTO_EV_JOIN, 127, 0, 0, 0, "", {0x03, 0x01, 0x00, 0x7f}, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proto_event e = make_event(cases[i].type, cases[i].player, cases[i].other, cases[i].reason, cases[i].round,
                                   cases[i].text);
        uint8_t buf[PROTO_MAX_EVENT + 4];
        size_t n = proto_event_write(&e, buf, sizeof buf);
        if (n != cases[i].n || memcmp(buf, cases[i].want, n) != 0) {
            for (size_t k = 0; k < n; k++)
                print_message("%02x%s", buf[k], k + 1 == n ? "\n" : " ");
            fail_msg("event case %zu: %zu bytes", i, n);
        }
        assert_event_read(buf, n, n, &e);
        /* An event is read from a stream: what follows it is not its. */
        buf[n] = 0x01;
        buf[n + 1] = 0xff;
        assert_event_read(buf, n + 2, n, &e);
        proto_event o;
        size_t used;
        for (size_t len = 0; len < n; len++)
            assert_int_equal(proto_event_read(buf, len, &o, &used), PROTO_ERR_TRUNCATED);
        for (size_t cap = 0; cap < n; cap++)
            assert_int_equal(proto_event_write(&e, buf, cap), 0);
    }

    /* The longest events: a chat of 480 bytes (484 = PROTO_MAX_EVENT) and
     * a 16-byte name. */
    static proto_event big;
    big = make_event(PROTO_EV_CHAT, 127, 0, 0, 0, NULL);
    big.len = PROTO_MAX_CHAT_BYTES;
    memset(big.text, 'w', PROTO_MAX_CHAT_BYTES);
    static uint8_t buf[PROTO_MAX_EVENT];
    assert_int_equal(proto_event_write(&big, buf, sizeof buf), PROTO_MAX_EVENT);
    assert_int_equal(PROTO_MAX_EVENT, 484);
    assert_int_equal(buf[1] | buf[2] << 8, 481);
    assert_event_read(buf, PROTO_MAX_EVENT, PROTO_MAX_EVENT, &big);
    proto_event name = make_event(PROTO_EV_JOIN, 4, 0, 0, 0, "0123456789abcdef");
    assert_int_equal(proto_event_write(&name, buf, sizeof buf), 3 + 1 + PROTO_MAX_NAME);
    assert_event_read(buf, 20, 20, &name);
}

static void test_event_rejects(void **state)
{
    (void)state;
    proto_event o;
    size_t used;
    /* Fixed-size payloads of the wrong length (the bytes are there). */
    static const struct { uint8_t type; size_t plen; } fixed[] = {
        {PROTO_EV_KILL, 2}, {PROTO_EV_LEAVE, 1}, {PROTO_EV_ROUND_START, 2}, {PROTO_EV_ROUND_END, 4},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        for (size_t plen = 0; plen < 8; plen++) {
            uint8_t b[16] = {fixed[i].type, (uint8_t)plen, 0, 1, 1, 1, 1, 1, 1, 1, 1};
            int want = plen == fixed[i].plen ? PROTO_OK : PROTO_ERR_VALUE;
            if (fixed[i].type == PROTO_EV_ROUND_END && plen == 4)
                b[3 + 3] = 255;
            assert_int_equal(proto_event_read(b, 3 + plen, &o, &used), want);
        }
    }
    /* Unknown types. */
    const uint8_t types[] = {0, 7, 8, 0x80, 0xff};
    for (size_t i = 0; i < sizeof types; i++) {
        uint8_t b[] = {types[i], 1, 0, 0};
        assert_int_equal(proto_event_read(b, sizeof b, &o, &used), PROTO_ERR_VALUE);
    }
    /* Player ids 128 and up, in every place an id goes. */
    const uint8_t ids[] = {128, 200, 254, 255};
    for (size_t i = 0; i < sizeof ids; i++) {
        uint8_t k1[] = {PROTO_EV_KILL, 2, 0, ids[i], 0};
        uint8_t k2[] = {PROTO_EV_KILL, 2, 0, 0, ids[i]};
        uint8_t ch[] = {PROTO_EV_CHAT, 2, 0, ids[i], 'x'};
        uint8_t jo[] = {PROTO_EV_JOIN, 2, 0, ids[i], 'x'};
        uint8_t le[] = {PROTO_EV_LEAVE, 1, 0, ids[i]};
        assert_int_equal(proto_event_read(k1, sizeof k1, &o, &used), PROTO_ERR_VALUE);
        assert_int_equal(proto_event_read(k2, sizeof k2, &o, &used), PROTO_ERR_VALUE);
        assert_int_equal(proto_event_read(ch, sizeof ch, &o, &used), PROTO_ERR_VALUE);
        assert_int_equal(proto_event_read(jo, sizeof jo, &o, &used), PROTO_ERR_VALUE);
        assert_int_equal(proto_event_read(le, sizeof le, &o, &used), PROTO_ERR_VALUE);
    }
    /* ROUND_END: reason 1..3, winner < 128 or 255. */
    for (int reason = 0; reason < 256; reason++) {
        uint8_t b[] = {PROTO_EV_ROUND_END, 4, 0, 1, 0, (uint8_t)reason, 255};
        int ok = reason >= PROTO_END_TIME && reason <= PROTO_END_INTERRUPTED;
        assert_int_equal(proto_event_read(b, sizeof b, &o, &used), ok ? PROTO_OK : PROTO_ERR_VALUE);
    }
    for (int winner = 0; winner < 256; winner++) {
        uint8_t b[] = {PROTO_EV_ROUND_END, 4, 0, 1, 0, PROTO_END_TIME, (uint8_t)winner};
        int ok = winner < PROTO_MAX_ENTITIES || winner == 255;
        assert_int_equal(proto_event_read(b, sizeof b, &o, &used), ok ? PROTO_OK : PROTO_ERR_VALUE);
    }
    /* CHAT and JOIN: at least the player byte; text up to 480 and 16
     * bytes; UTF-8. */
    uint8_t empty_chat[] = {PROTO_EV_CHAT, 0, 0};
    assert_int_equal(proto_event_read(empty_chat, sizeof empty_chat, &o, &used), PROTO_ERR_VALUE);
    uint8_t empty_join[] = {PROTO_EV_JOIN, 0, 0};
    assert_int_equal(proto_event_read(empty_join, sizeof empty_join, &o, &used), PROTO_ERR_VALUE);
    static uint8_t b[3 + 1 + PROTO_MAX_CHAT_BYTES + 1];
    memset(b, 'q', sizeof b);
    b[0] = PROTO_EV_CHAT;
    b[3] = 1;
    for (size_t tl = PROTO_MAX_CHAT_BYTES; tl <= PROTO_MAX_CHAT_BYTES + 1; tl++) {
        b[1] = (uint8_t)(tl + 1);
        b[2] = (uint8_t)((tl + 1) >> 8);
        assert_int_equal(proto_event_read(b, 4 + tl, &o, &used),
                         tl <= PROTO_MAX_CHAT_BYTES ? PROTO_OK : PROTO_ERR_VALUE);
    }
    b[0] = PROTO_EV_JOIN;
    for (size_t tl = PROTO_MAX_NAME; tl <= PROTO_MAX_NAME + 1; tl++) {
        b[1] = (uint8_t)(tl + 1);
        b[2] = 0;
        assert_int_equal(proto_event_read(b, 4 + tl, &o, &used), tl <= PROTO_MAX_NAME ? PROTO_OK : PROTO_ERR_VALUE);
    }
    uint8_t bad_chat[] = {PROTO_EV_CHAT, 4, 0, 1, 'a', 0xc3, 'b'};
    assert_int_equal(proto_event_read(bad_chat, sizeof bad_chat, &o, &used), PROTO_ERR_UTF8);
    uint8_t bad_join[] = {PROTO_EV_JOIN, 3, 0, 1, 0xed, 0xa0};
    assert_int_equal(proto_event_read(bad_join, sizeof bad_join, &o, &used), PROTO_ERR_UTF8);
    /* A length running past the bytes. */
    uint8_t longer[] = {PROTO_EV_CHAT, 0xff, 0xff, 1, 'a'};
    assert_int_equal(proto_event_read(longer, sizeof longer, &o, &used), PROTO_ERR_TRUNCATED);

    /* The writer refuses what the reader refuses. */
    uint8_t w[PROTO_MAX_EVENT];
    const proto_event refused[] = {
        make_event(0, 1, 1, 0, 0, NULL),
        make_event(7, 1, 1, 0, 0, NULL),
        make_event(PROTO_EV_KILL, 128, 1, 0, 0, NULL),
        make_event(PROTO_EV_KILL, 1, 255, 0, 0, NULL),
        make_event(PROTO_EV_CHAT, 128, 0, 0, 0, "hi"),
        make_event(PROTO_EV_CHAT, 1, 0, 0, 0, "h\xc3"),
        make_event(PROTO_EV_JOIN, 200, 0, 0, 0, "x"),
        make_event(PROTO_EV_JOIN, 1, 0, 0, 0, "0123456789abcdefg"),
        make_event(PROTO_EV_JOIN, 1, 0, 0, 0, "\xff"),
        make_event(PROTO_EV_LEAVE, 128, 0, 0, 0, NULL),
        make_event(PROTO_EV_ROUND_END, 0, 1, 0, 1, NULL),
        make_event(PROTO_EV_ROUND_END, 0, 1, 4, 1, NULL),
        make_event(PROTO_EV_ROUND_END, 0, 128, PROTO_END_TIME, 1, NULL),
        make_event(PROTO_EV_ROUND_END, 0, 254, PROTO_END_TIME, 1, NULL),
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (proto_event_write(&refused[i], w, sizeof w) != 0)
            fail_msg("refused event %zu was written", i);
    static proto_event toolong;
    toolong = make_event(PROTO_EV_CHAT, 1, 0, 0, 0, NULL);
    toolong.len = PROTO_MAX_CHAT_BYTES + 1;
    memset(toolong.text, 'a', toolong.len);
    assert_int_equal(proto_event_write(&toolong, w, sizeof w), 0);
}

/* docs/PROTOCOL.md 13: the section header, empty and with events. */
static void test_events_header(void **state)
{
    (void)state;
    uint8_t buf[8];
    assert_int_equal(proto_events_header_write(0, 0, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 0x00);
    assert_int_equal(proto_events_header_write(0, 12345, buf, sizeof buf), 1); /* no first_seq then */
    assert_int_equal(buf[0], 0x00);
    assert_int_equal(proto_events_header_write(3, 41, buf, sizeof buf), 5);
    const uint8_t want[] = {0x03, 0x29, 0x00, 0x00, 0x00};
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(proto_events_header_write(255, 0x01020304, buf, sizeof buf), 5);
    const uint8_t want2[] = {0xff, 0x04, 0x03, 0x02, 0x01};
    assert_memory_equal(buf, want2, sizeof want2);
    /* Seqs start at 1. */
    assert_int_equal(proto_events_header_write(1, 0, buf, sizeof buf), 0);
    /* Capacity. */
    assert_int_equal(proto_events_header_write(0, 0, buf, 0), 0);
    for (size_t cap = 0; cap < 5; cap++)
        assert_int_equal(proto_events_header_write(2, 9, buf, cap), 0);
    /* The largest section fits the bound. */
    assert_int_equal(PROTO_MAX_EVENTS_SECTION, 5 + 1024);
    assert_true(PROTO_MAX_EVENT <= PROTO_MAX_EVENT_BYTES);
}

/* ---- WELCOME -------------------------------------------------------------- */

static proto_welcome sample_welcome(int nwalls)
{
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = 3;
    w.tick_rate = 60;
    w.snapshot_rate = 30;
    w.match_id = 0x0102;
    w.max_players = 64;
    w.server_tick = 0xa0b0c0d0;
    w.map.width = 2048;
    w.map.height = 1024;
    w.map.nwalls = (uint8_t)nwalls;
    for (int i = 0; i < nwalls; i++)
        w.map.walls[i] = (sim_wall){(int16_t)(i * 7 - 32768), (int16_t)-i, (int16_t)(i * 3), (int16_t)(32767 - i)};
    for (int i = 0; i < PROTO_RESUME_LEN; i++)
        w.resume[i] = (uint8_t)(0xf0 - 0x0f * i);
    return w;
}

static void test_welcome_bytes(void **state)
{
    (void)state;
    proto_welcome w = sample_welcome(1);
    w.map.walls[0] = (sim_wall){960, 704, 1088, 768}; /* x0 < x1, y0 < y1, inside the arena */
    uint8_t buf[PROTO_MAX_WELCOME];
    size_t n = proto_welcome_write(&w, buf, sizeof buf);
    if (getenv("TW_PRINT_EXAMPLE")) {
        for (size_t i = 0; i < n; i++)
            printf("%02x%s", buf[i], i + 1 == n ? "\n" : " ");
    }
    const uint8_t want[] = {
        0x81, 0x06,             /* type, version */
        0x03, 0x00,             /* player_id 3 */
        0x3c, 0x00, 0x1e, 0x00, /* tick_rate 60, snapshot_rate 30 */
        0xd0, 0xc0, 0xb0, 0xa0, /* server_tick */
        0x02, 0x01,             /* match_id */
        0x04, 0x04,             /* pos_frac, vel_frac */
        0x00, 0x08, 0x00, 0x04, /* width 2048, height 1024 */
        0x40, 0x00,             /* max_players 64 */
        0x01,                   /* nwalls */
        0xc0, 0x03, 0xc0, 0x02, 0x40, 0x04, 0x00, 0x03, /* wall 960, 704, 1088, 768 */
        0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, /* resume token */
        0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
        0x00,                   /* flags: a new player */
    };
    assert_int_equal(n, sizeof want);
    assert_int_equal(n, 23 + 8 + PROTO_RESUME_LEN + 1);
    assert_memory_equal(buf, want, sizeof want);
    proto_welcome o;
    memset(&o, 0x5a, sizeof o);
    assert_int_equal(proto_welcome_read(buf, n, &o), PROTO_OK);
    assert_memory_equal(o.resume, w.resume, PROTO_RESUME_LEN);
    assert_int_equal(o.resumed, 0);

    /* docs/PROTOCOL.md 5.3: a spectator of the same match at 10 Hz
     * snapshots: player_id ffff, no resume token, flags 02. */
    {
        proto_welcome sw = w;
        sw.player_id = PROTO_SPECTATOR_ID;
        sw.snapshot_rate = 10;
        memset(sw.resume, 0, sizeof sw.resume);
        sw.spectator = 1;
        uint8_t sb[PROTO_MAX_WELCOME];
        size_t sn = proto_welcome_write(&sw, sb, sizeof sb);
        const uint8_t swant[] = {
            0x81, 0x06, 0xff, 0xff, 0x3c, 0x00, 0x0a, 0x00, 0xd0, 0xc0, 0xb0, 0xa0, 0x02, 0x01, 0x04, 0x04,
            0x00, 0x08, 0x00, 0x04, 0x40, 0x00, 0x01, 0xc0, 0x03, 0xc0, 0x02, 0x40, 0x04, 0x00, 0x03,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x02,
        };
        assert_int_equal(sn, sizeof swant);
        assert_memory_equal(sb, swant, sizeof swant);
        proto_welcome so;
        memset(&so, 0x5a, sizeof so);
        assert_int_equal(proto_welcome_read(sb, sn, &so), PROTO_OK);
        assert_int_equal(so.spectator, 1);
        assert_int_equal(so.resumed, 0);
        assert_int_equal(so.player_id, PROTO_SPECTATOR_ID);
        assert_int_equal(so.snapshot_rate, 10);
        /* A resumed spectator, a spectator with an entity, an entity-less player. */
        sb[sn - 1] = 0x03;
        assert_int_equal(proto_welcome_read(sb, sn, &so), PROTO_ERR_VALUE);
        sb[sn - 1] = 0x00;
        assert_int_equal(proto_welcome_read(sb, sn, &so), PROTO_ERR_VALUE);
        sb[sn - 1] = 0x02;
        sb[2] = 0x03;
        sb[3] = 0x00;
        assert_int_equal(proto_welcome_read(sb, sn, &so), PROTO_ERR_VALUE);
        sb[3] = 0xff; /* 0xff03: neither a player of 64 nor the spectator id */
        assert_int_equal(proto_welcome_read(sb, sn, &so), PROTO_ERR_VALUE);
        for (size_t len = 0; len < sn; len++)
            assert_int_equal(proto_welcome_read(swant, len, &so), PROTO_ERR_TRUNCATED);
    }

    /* The same player resumed: only the flags byte differs. */
    w.resumed = 1;
    assert_int_equal(proto_welcome_write(&w, buf, sizeof buf), n);
    assert_memory_equal(buf, want, n - 1);
    assert_int_equal(buf[n - 1], 0x01);
    assert_int_equal(proto_welcome_read(buf, n, &o), PROTO_OK);
    assert_int_equal(o.resumed, 1);
    /* Any true value is written as 1. */
    w.resumed = 0x80;
    assert_int_equal(proto_welcome_write(&w, buf, sizeof buf), n);
    assert_int_equal(buf[n - 1], 0x01);
}

static void test_welcome_round_trip_limits(void **state)
{
    (void)state;
    uint8_t buf[PROTO_MAX_WELCOME + 1];
    const int walls[] = {0, 1, 10, SIM_MAX_WALLS};
    for (size_t k = 0; k < sizeof walls / sizeof walls[0]; k++) {
        proto_welcome w = sample_welcome(walls[k]);
        w.resumed = (uint8_t)(k & 1);
        if (k == 2)
            memset(w.resume, 0xff, sizeof w.resume);
        if (k == 3) {
            memset(w.resume, 0, sizeof w.resume);
            w.max_players = PROTO_MAX_ENTITIES;
            w.player_id = PROTO_MAX_ENTITIES - 1;
            w.tick_rate = 65535;
            w.snapshot_rate = 1;
            w.map.width = w.map.height = 65535;
            w.server_tick = UINT32_MAX;
        }
        size_t n = proto_welcome_write(&w, buf, sizeof buf);
        assert_int_equal(n, 23 + 8 * (size_t)walls[k] + PROTO_RESUME_LEN + 1);
        assert_true(n <= PROTO_MAX_WELCOME);
        proto_welcome o;
        memset(&o, 0x5a, sizeof o);
        assert_int_equal(proto_welcome_read(buf, n, &o), PROTO_OK);
        assert_int_equal(o.player_id, w.player_id);
        assert_int_equal(o.tick_rate, w.tick_rate);
        assert_int_equal(o.snapshot_rate, w.snapshot_rate);
        assert_int_equal(o.match_id, w.match_id);
        assert_int_equal(o.max_players, w.max_players);
        assert_int_equal(o.server_tick, w.server_tick);
        assert_int_equal(o.map.width, w.map.width);
        assert_int_equal(o.map.height, w.map.height);
        assert_int_equal(o.map.nwalls, w.map.nwalls);
        assert_memory_equal(o.resume, w.resume, PROTO_RESUME_LEN);
        assert_int_equal(o.resumed, w.resumed);
        for (int i = 0; i < walls[k]; i++) {
            assert_int_equal(o.map.walls[i].x0, w.map.walls[i].x0);
            assert_int_equal(o.map.walls[i].y0, w.map.walls[i].y0);
            assert_int_equal(o.map.walls[i].x1, w.map.walls[i].x1);
            assert_int_equal(o.map.walls[i].y1, w.map.walls[i].y1);
        }
    }
}

static void test_welcome_rejects(void **state)
{
    (void)state;
    proto_welcome w = sample_welcome(SIM_MAX_WALLS), o;
    uint8_t buf[PROTO_MAX_WELCOME + 1], bad[PROTO_MAX_WELCOME + 1];
    size_t n = proto_welcome_write(&w, buf, sizeof buf);
    assert_int_equal(n, PROTO_MAX_WELCOME);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(proto_welcome_read(buf, len, &o), PROTO_ERR_TRUNCATED);
    /* And of a small one, resumed. */
    {
        proto_welcome s1 = sample_welcome(1);
        s1.resumed = 1;
        uint8_t b1[PROTO_MAX_WELCOME];
        size_t n1 = proto_welcome_write(&s1, b1, sizeof b1);
        assert_int_equal(n1, 23 + 8 + 17);
        for (size_t len = 0; len < n1; len++)
            assert_int_equal(proto_welcome_read(b1, len, &o), PROTO_ERR_TRUNCATED);
        assert_int_equal(proto_welcome_read(b1, n1, &o), PROTO_OK);
        /* flags other than 0 and 1 */
        for (int f = 2; f < 256; f++) {
            b1[n1 - 1] = (uint8_t)f;
            assert_int_equal(proto_welcome_read(b1, n1, &o), PROTO_ERR_VALUE);
        }
        /* A v1 WELCOME (no resume, no flags, version 1) is a version error,
         * as are v2 and v3 ones (same bytes, versions 2 and 3). */
        b1[1] = 1;
        assert_int_equal(proto_welcome_read(b1, 23 + 8, &o), PROTO_ERR_VERSION);
        b1[1] = 2;
        assert_int_equal(proto_welcome_read(b1, n1, &o), PROTO_ERR_VERSION);
        b1[1] = 3;
        assert_int_equal(proto_welcome_read(b1, n1, &o), PROTO_ERR_VERSION);
        b1[1] = PROTO_VERSION;
    }
    buf[n] = 0;
    assert_int_equal(proto_welcome_read(buf, n + 1, &o), PROTO_ERR_TRAILING);

    struct { size_t at; uint8_t v; int err; } cases[] = {
        {0, PROTO_SNAPSHOT, PROTO_ERR_TYPE},
        {1, 0, PROTO_ERR_VERSION},
        {1, 1, PROTO_ERR_VERSION},
        {1, 2, PROTO_ERR_VERSION},                  /* a v2 server */
        {1, 3, PROTO_ERR_VERSION},                  /* a v3 server */
        {1, 4, PROTO_ERR_VERSION},                  /* a v4 server */
        {14, 3, PROTO_ERR_VALUE},                   /* pos_frac */
        {15, 5, PROTO_ERR_VALUE},                   /* vel_frac */
        {22, SIM_MAX_WALLS + 1, PROTO_ERR_VALUE},   /* nwalls */
        {20, PROTO_MAX_ENTITIES + 1, PROTO_ERR_VALUE}, /* max_players (low byte) */
        {20, 3, PROTO_ERR_VALUE},                   /* player_id 3 >= max_players 3 */
        {4, 0, PROTO_ERR_VALUE},                    /* tick_rate 0 */
        {6, 0, PROTO_ERR_VALUE},                    /* snapshot_rate 0 */
        {1, 5, PROTO_ERR_VERSION},                  /* a v5 server */
        {1, 7, PROTO_ERR_VERSION},
        {PROTO_MAX_WELCOME - 1, 2, PROTO_ERR_VALUE},    /* spectator with a player id */
        {PROTO_MAX_WELCOME - 1, 4, PROTO_ERR_VALUE},    /* flags: only bits 0 and 1 are defined */
        {PROTO_MAX_WELCOME - 1, 0xfe, PROTO_ERR_VALUE},
        {PROTO_MAX_WELCOME - 1, 1, PROTO_OK},           /* resumed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, buf, n);
        bad[cases[i].at] = cases[i].v;
        if (cases[i].at == 4 || cases[i].at == 6)
            bad[cases[i].at + 1] = 0;
        int err = proto_welcome_read(bad, n, &o);
        if (err != cases[i].err)
            fail_msg("case %zu (byte %zu = %u): got %d want %d", i, cases[i].at, cases[i].v, err,
                     cases[i].err);
    }

    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(proto_welcome_write(&w, buf, cap), 0);
    /* A map with more walls than the format allows is not written (and
     * the writer must not read past walls[SIM_MAX_WALLS - 1]). */
    static uint8_t big[4096];
    w.map.nwalls = SIM_MAX_WALLS + 1;
    assert_int_equal(proto_welcome_write(&w, big, sizeof big), 0);
    w.map.nwalls = 255;
    assert_int_equal(proto_welcome_write(&w, big, sizeof big), 0);
}

/* ---- SNAPSHOT header ------------------------------------------------------ */

static void test_snapshot_header(void **state)
{
    (void)state;
    uint8_t buf[PROTO_SNAPSHOT_HEADER_SIZE + 4];
    proto_snapshot_header h = {.tick = 0x11223344, .baseline_tick = 0x11223341, .last_input_seq = 0x55667788};
    size_t n = proto_snapshot_header_write(&h, buf, sizeof buf);
    const uint8_t want[] = {0x82, 0x44, 0x33, 0x22, 0x11, 0x03, 0x88, 0x77, 0x66, 0x55};
    assert_int_equal(n, PROTO_SNAPSHOT_HEADER_SIZE);
    assert_memory_equal(buf, want, sizeof want);

    struct { uint32_t tick, base, seq; } ok[] = {
        {0, 0, 0}, {1, 0, 0}, {UINT32_MAX, 0, UINT32_MAX}, {2, 1, 1},
        {256, 1, 5}, {1000, 745, 9}, {UINT32_MAX, UINT32_MAX - 255, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        proto_snapshot_header a = {ok[i].tick, ok[i].base, ok[i].seq}, b;
        n = proto_snapshot_header_write(&a, buf, sizeof buf);
        assert_int_equal(n, PROTO_SNAPSHOT_HEADER_SIZE);
        memset(&b, 0x77, sizeof b);
        assert_int_equal(proto_snapshot_header_read(buf, n, &b), PROTO_OK);
        assert_int_equal(b.tick, a.tick);
        assert_int_equal(b.baseline_tick, a.baseline_tick);
        assert_int_equal(b.last_input_seq, a.last_input_seq);
        /* The body follows the header: extra bytes are not the header's. */
        assert_int_equal(proto_snapshot_header_read(buf, n + 3, &b), PROTO_OK);
        for (size_t len = 0; len < n; len++)
            assert_int_equal(proto_snapshot_header_read(buf, len, &b), PROTO_ERR_TRUNCATED);
    }

    /* Baselines the one-byte delta cannot express are not written. */
    struct { uint32_t tick, base; } nok[] = {{10, 10}, {1000, 744}, {5, 6}, {0, 1}};
    for (size_t i = 0; i < sizeof nok / sizeof nok[0]; i++) {
        proto_snapshot_header a = {nok[i].tick, nok[i].base, 0};
        assert_int_equal(proto_snapshot_header_write(&a, buf, sizeof buf), 0);
    }
    for (size_t cap = 0; cap < PROTO_SNAPSHOT_HEADER_SIZE; cap++)
        assert_int_equal(proto_snapshot_header_write(&h, buf, cap), 0);

    proto_snapshot_header b;
    uint8_t bad[PROTO_SNAPSHOT_HEADER_SIZE];
    memcpy(bad, want, sizeof bad);
    bad[0] = PROTO_WELCOME;
    assert_int_equal(proto_snapshot_header_read(bad, sizeof bad, &b), PROTO_ERR_TYPE);
    /* tick 5 with baseline_delta 6 would be a baseline before tick 0; with
     * delta 5 the baseline would be tick 0, which never exists (0 = full). */
    const uint8_t d6[] = {0x82, 5, 0, 0, 0, 6, 0, 0, 0, 0};
    assert_int_equal(proto_snapshot_header_read(d6, sizeof d6, &b), PROTO_ERR_VALUE);
    const uint8_t d5[] = {0x82, 5, 0, 0, 0, 5, 0, 0, 0, 0};
    assert_int_equal(proto_snapshot_header_read(d5, sizeof d5, &b), PROTO_ERR_VALUE);
    const uint8_t d4[] = {0x82, 5, 0, 0, 0, 4, 0, 0, 0, 0};
    assert_int_equal(proto_snapshot_header_read(d4, sizeof d4, &b), PROTO_OK);
    assert_int_equal(b.baseline_tick, 1);
}

/* ---- SNAPSHOT body -------------------------------------------------------- */

static void fill_names(proto_names *names, uint64_t *seed)
{
    memset(names, 0, sizeof *names);
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        int len = id % (PROTO_MAX_NAME + 1); /* 0..16 */
        for (int i = 0; i < len; i++)
            names->name[id][i] = (char)(0x20 + rnd(seed, 0x5f));
    }
}

/* 128 entities, every name length 0..16, fields at their limits. */
static void test_body_full_128_entities(void **state)
{
    (void)state;
    static proto_snapshot cur;
    static proto_names names;
    uint64_t seed = 7;
    memset(&cur, 0, sizeof cur);
    cur.tick = 500;
    cur.ms = (proto_match_state){PROTO_PHASE_ENDED, 255, 65535, 65535, UINT32_MAX};
    fill_names(&names, &seed);
    const uint16_t u16s[] = {0, 1, 32767, 32768, 65535};
    const int16_t i16s[] = {0, -1, 1, INT16_MAX, INT16_MIN, 4800, -4800};
    const uint8_t healths[] = {0, 1, 99, SIM_MAX_HEALTH};
    const uint8_t u8s[] = {0, 1, 127, 128, 255};
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        set_ent(&cur, id, u16s[id % 5], u16s[(id / 5) % 5], i16s[id % 7], i16s[(id / 7) % 7],
                u16s[(id / 3) % 5], (uint8_t)(id % 3 == 0 ? 0 : id % 3 == 1 ? 1 : 255));
        set_combat(&cur, id, healths[id % 4], u8s[(id / 4) % 5], u16s[(id / 2) % 5], u16s[(id + 1) % 5],
                   u16s[(id / 7) % 5], u16s[(id / 11) % 5]);
        cur.gen[id] = (uint8_t)(id * 3);
    }
    size_t n = body_round_trip(NULL, &cur, &names, 60, 1);
    assert_true(n <= PROTO_MAX_SNAPSHOT_BODY);

    /* Worst case of the size bound: every entity with a 16-byte name. */
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        memset(names.name[id], 'W', PROTO_MAX_NAME);
    static uint8_t buf[PROTO_MAX_SNAPSHOT_BODY];
    n = proto_snapshot_body_write(NULL, &cur, &names, 60, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(buf[0], PROTO_MAX_ENTITIES);
    /* count, match state follows, match state: 12 bytes; then
     * 128 x (2 id + 2 op + 5x16 + 16 turn + 4 move + 3x8 + 4x16 + 5 + 16x8)
     * = 128 x 325 = 41600 bits */
    assert_int_equal(n, 12 + 5200);
    for (size_t cap = 0; cap < n; cap += (cap < 64 ? 1 : 61))
        assert_int_equal(proto_snapshot_body_write(NULL, &cur, &names, 60, buf, cap), 0);
    assert_int_equal(proto_snapshot_body_write(NULL, &cur, &names, 60, buf, n - 1), 0);
    assert_int_equal(proto_snapshot_body_write(NULL, &cur, &names, 60, buf, n), n);
}

static void test_body_empty(void **state)
{
    (void)state;
    static proto_snapshot empty, out;
    static proto_names names;
    memset(&empty, 0, sizeof empty);
    uint8_t buf[16];
    /* A full body always carries the match state: 12 bytes at least. */
    assert_int_equal(proto_snapshot_body_write(NULL, &empty, &names, 60, buf, sizeof buf), 12);
    const uint8_t want[12] = {0x00, 0x01};
    assert_memory_equal(buf, want, sizeof want);
    for (size_t cap = 0; cap < 12; cap++)
        assert_int_equal(proto_snapshot_body_write(NULL, &empty, &names, 60, buf, cap), 0);
    out.tick = 1;
    assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, buf, 12), PROTO_OK);
    assert_snap_equal(&empty, &out);
    for (size_t len = 0; len < 12; len++)
        assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, buf, len), PROTO_ERR_TRUNCATED);
}

/* Entities that are their prediction and an unchanged match state cost
 * nothing: such a delta is two bytes. At rest (no buttons, no velocity)
 * the prediction is the baseline; moving, it is the baseline glided with
 * its direction buttons once per tick (sim_player_glide) and its aim
 * turned by its turn per tick; dead, it stays but still turns; held
 * (DISCONNECTED), nothing changes. */
static void test_body_delta_unchanged_is_two_bytes(void **state)
{
    (void)state;
    static proto_snapshot base, cur, out;
    static proto_names names;
    memset(&base, 0, sizeof base);
    base.tick = 10;
    base.ms = (proto_match_state){PROTO_PHASE_LIVE, 2, 7, 25, 9000};
    for (int id = 0; id < PROTO_MAX_ENTITIES; id += 3) {
        set_ent(&base, id, (uint16_t)(id * 300), 2000, 0, 0, 7, 1);
        set_combat(&base, id, (uint8_t)(id % 101), (uint8_t)id, (uint16_t)id, 2, 3, 4);
        if (id % 2) { /* half of them running, diagonally or not, turning */
            base.ent[id].vx = (int16_t)(id * 30 - 1900);
            base.ent[id].vy = (int16_t)(id % 5 ? 1000 : 0);
            base.ent[id].move = (uint8_t)(SIM_BTN_RIGHT | (id % 4 == 1 ? SIM_BTN_UP : 0));
            base.ent[id].turn = (int16_t)(id * 97 - 4000);
        }
        if (id % 9 == 0)
            base.ent[id].flags = SIM_FLAG_DEAD;
        if (id % 15 == 0)
            base.ent[id].flags = SIM_FLAG_DISCONNECTED;
    }
    for (uint32_t dt = 1; dt <= 4; dt++) {
        cur = base;
        cur.tick = base.tick + dt;
        for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
            sim_netent *e = &cur.ent[id];
            if (!cur.present[id] || (e->flags & SIM_FLAG_DISCONNECTED))
                continue;
            e->aim = (uint16_t)(e->aim + (uint16_t)e->turn * dt);
            if (e->flags & SIM_FLAG_DEAD)
                continue;
            sim_player p;
            sim_player_from_net(&base.ent[id], &p);
            for (uint32_t k = 0; k < dt; k++)
                sim_player_glide(&p, e->move, 1.0f / 60);
            sim_netent moved;
            sim_player_to_net(&p, &moved);
            e->x = moved.x, e->y = moved.y, e->vx = moved.vx, e->vy = moved.vy;
        }
        uint8_t buf[4];
        assert_int_equal(proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf), 2);
        assert_int_equal(buf[0], 0);
        assert_int_equal(buf[1], 0);
        memset(&out, 0x33, sizeof out);
        out.tick = cur.tick;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, 2), PROTO_OK);
        assert_snap_equal(&cur, &out);
    }
    /* The same state a tick later is not the prediction of a moving
     * player (one held against a wall): it is sent. */
    cur = base;
    cur.tick = 11;
    assert_true(body_round_trip(&base, &cur, &names, 60, 1) > 2);
}

/* docs/PROTOCOL.md 6.1: the match state, in a full body and in deltas. */
static void test_body_match_state(void **state)
{
    (void)state;
    static proto_snapshot base, cur, out;
    static proto_names names;
    memset(&base, 0, sizeof base);
    memset(&names, 0, sizeof names);
    base.tick = 100;
    /* LIVE, round 3, warmup needs 2 players, first to 25 kills, ends at tick 18100. */
    base.ms = (proto_match_state){PROTO_PHASE_LIVE, 2, 3, 25, 18100};
    uint8_t buf[64];
    size_t n = proto_snapshot_body_write(NULL, &base, &names, 60, buf, sizeof buf);
    const uint8_t want[] = {0x00, 0x01, 0x01, 0x02, 0x03, 0x00, 0x19, 0x00, 0xb4, 0x46, 0x00, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    body_round_trip(NULL, &base, &names, 60, 1);

    /* Unchanged: not sent (ms_changed 0), and the reader keeps the
     * baseline's. */
    cur = base;
    cur.tick = 103;
    assert_int_equal(body_round_trip(&base, &cur, &names, 60, 1), 2);
    /* Any field changed: all of it is sent. The round ends by score at
     * tick 102; the intermission lasts until tick 702. */
    cur.ms.phase = PROTO_PHASE_ENDED;
    cur.ms.end_tick = 702;
    n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    const uint8_t want2[] = {0x00, 0x01, 0x02, 0x02, 0x03, 0x00, 0x19, 0x00, 0xbe, 0x02, 0x00, 0x00};
    assert_int_equal(n, sizeof want2);
    assert_memory_equal(buf, want2, sizeof want2);
    body_round_trip(&base, &cur, &names, 60, 1);
    for (int field = 0; field < 5; field++) {
        cur = base;
        cur.tick = 101;
        switch (field) {
        case 0: cur.ms.phase = PROTO_PHASE_WARMUP; break;
        case 1: cur.ms.min_players = 3; break;
        case 2: cur.ms.round = 4; break;
        case 3: cur.ms.score_limit = 0; break;
        case 4: cur.ms.end_tick = 0; break;
        }
        assert_int_equal(body_round_trip(&base, &cur, &names, 60, 1), 12);
    }
    /* With entities: the match state comes before the first entry. */
    set_ent(&cur, 3, 10, 10, 0, 0, 0, 0);
    n = body_round_trip(&base, &cur, &names, 60, 1);
    assert_int_equal(n, 12 + 25); /* id gap 4 + op 2 + ADD 193 (no name) = 199 bits */

    /* Reader: ms_changed other than 0 and 1; a full body without it; a
     * phase past ENDED; a match state cut short. */
    for (int v = 2; v < 256; v += (v < 8 ? 1 : 31)) {
        uint8_t b[12] = {0x00, (uint8_t)v, 0x01};
        out.tick = 101;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, b, sizeof b), PROTO_ERR_VALUE);
        assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, b, sizeof b), PROTO_ERR_VALUE);
    }
    const uint8_t no_ms[] = {0x00, 0x00};
    out.tick = 1;
    assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, no_ms, sizeof no_ms), PROTO_ERR_VALUE);
    for (int phase = 0; phase < 256; phase++) {
        uint8_t b[12] = {0x00, 0x01, (uint8_t)phase};
        int want_err = phase <= PROTO_PHASE_ENDED ? PROTO_OK : PROTO_ERR_VALUE;
        out.tick = 1;
        assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, b, sizeof b), want_err);
        out.tick = 101;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, b, sizeof b), want_err);
    }
}

/* Each field changed alone, with small and extreme differences. */
static void test_body_delta_each_field(void **state)
{
    (void)state;
    static proto_snapshot base, cur;
    static proto_names names;
    memset(&names, 0, sizeof names);
    const int16_t vels[] = {0, 16, -16, 4800, -4800, INT16_MAX, INT16_MIN};
    const uint16_t u16s[] = {0, 1, 2, 100, 32767, 32768, 65534, 65535};
    const uint8_t healths[] = {0, 1, 2, 25, 50, 75, 99, SIM_MAX_HEALTH};
    const uint8_t u8s[] = {0, 1, 2, 100, 127, 128, 254, 255};
    const uint16_t rates[] = {1, 20, 60, 128, 65535};
    const uint32_t dts[] = {1, 2, 31, 255};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
    for (int field = 0; field < 12; field++)
    for (size_t a = 0; a < 8; a++)
    for (size_t b = 0; b < 8; b++) {
        memset(&base, 0, sizeof base);
        base.tick = 1000;
        set_ent(&base, 0, u16s[a], u16s[7 - a], vels[a % 7], vels[b % 7], u16s[b], (uint8_t)a);
        set_combat(&base, 0, healths[a], u8s[b], u16s[a], u16s[b], u16s[7 - a], u16s[7 - b]);
        cur = base;
        cur.tick = 1000 + dts[d];
        sim_netent *e = &cur.ent[0];
        switch (field) {
        case 0: e->x = u16s[b]; break;
        case 1: e->y = u16s[b]; break;
        case 2: e->vx = vels[b % 7]; break;
        case 3: e->vy = vels[a % 7]; break;
        case 4: e->aim = u16s[a]; break;
        case 5: e->flags = (uint8_t)(b * 37); break;
        case 6: e->health = healths[b]; break;
        case 7: e->life = u8s[a]; break;
        case 8: e->kills = u16s[b]; break;
        case 9: e->deaths = u16s[a]; break;
        case 10: e->score = u16s[b]; break;
        case 11: e->hits = u16s[a]; break;
        }
        body_round_trip(&base, &cur, &names, rates[r], 1);
    }
}

/* The walk of a body with one CHANGE entry of id 0 and no match state, up
 * to what follows its field mask; returns the field mask. */
static uint32_t walk_to_change(bits_reader *r, const uint8_t *buf, size_t n)
{
    static const uint8_t gap[4] = {0, 2, 4, 8};
    bits_reader_init(r, buf, n);
    assert_int_equal(bits_read(r, 8), 1); /* count */
    assert_int_equal(bits_read(r, 8), 0); /* no match state */
    assert_int_equal(bits_read_class(r, gap), 0);
    assert_int_equal(bits_read(r, 2), 0); /* CHANGE */
    return bits_read(r, 8);
}

/* CHANGE mask bit 5 (EXT): a 4-bit mask of flags, health, life, stats;
 * stats are four zigzag deltas modulo 2^16 in the W_STAT classes {0, 2, 6,
 * 16}. */
static void test_body_ext(void **state)
{
    (void)state;
    static proto_snapshot base, cur;
    static proto_names names;
    static const uint8_t wstat[4] = {0, 2, 6, 16};
    memset(&base, 0, sizeof base);
    memset(&names, 0, sizeof names);
    base.tick = 50;
    set_ent(&base, 0, 800, 800, 0, 0, 0, SIM_FLAG_FIRING);
    set_combat(&base, 0, 100, 4, 10, 20, 30, 40);
    uint8_t buf[64];
    bits_reader r;

    /* Health alone: count 8 | ms 8 | gap 2 | op 2 | mask 8 | ext 4 | health 8 = 40 bits. */
    cur = base;
    cur.tick = 51;
    cur.ent[0].health = 75;
    size_t n = body_round_trip(&base, &cur, &names, 60, 1);
    assert_int_equal(n, 5);
    proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(walk_to_change(&r, buf, n), 0x20);
    assert_int_equal(bits_read(&r, 4), 0x2);
    assert_int_equal(bits_read(&r, 8), 75);
    assert_int_equal(r.error, 0);

    /* A death: flags DEAD (was FIRING), health 0, and deaths +1. */
    cur.ent[0].flags = SIM_FLAG_DEAD;
    cur.ent[0].health = 0;
    cur.ent[0].deaths = 21;
    n = body_round_trip(&base, &cur, &names, 60, 1);
    proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(walk_to_change(&r, buf, n), 0x20);
    assert_int_equal(bits_read(&r, 4), 0xb); /* flags, health, stats */
    assert_int_equal(bits_read(&r, 8), SIM_FLAG_DEAD);
    assert_int_equal(bits_read(&r, 8), 0);
    assert_int_equal(bits_read_class(&r, wstat), 0); /* kills +0 */
    assert_int_equal(bits_read_class(&r, wstat), 2); /* deaths +1 */
    assert_int_equal(bits_read_class(&r, wstat), 0);
    assert_int_equal(bits_read_class(&r, wstat), 0);
    /* 16 + 12 + 4 + 8 + 8 + (2 + 4 + 2 + 2) = 58 bits */
    assert_int_equal(n, 8);
    /* The respawn: life +1, health back, not dead. */
    cur = base;
    cur.ent[0].life = 5;
    cur.ent[0].flags = 0;
    n = body_round_trip(&base, &cur, &names, 60, 1);
    proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(walk_to_change(&r, buf, n), 0x20);
    assert_int_equal(bits_read(&r, 4), 0x5);
    assert_int_equal(bits_read(&r, 8), 0);
    assert_int_equal(bits_read(&r, 8), 5);
    /* life wraps like any u8: 255 -> 0 */
    base.ent[0].life = 255;
    cur.ent[0].life = 0;
    body_round_trip(&base, &cur, &names, 60, 1);
    base.ent[0].life = 4;

    /* Every EXT mask 1..15, alone and with a position change. */
    for (uint32_t ext = 1; ext < 16; ext++) {
        for (int moved = 0; moved < 2; moved++) {
            cur = base;
            cur.tick = 52;
            if (ext & 1)
                cur.ent[0].flags = SIM_FLAG_SHOT | SIM_FLAG_FIRING;
            if (ext & 2)
                cur.ent[0].health = 50;
            if (ext & 4)
                cur.ent[0].life = 6;
            if (ext & 8)
                cur.ent[0].hits = 41;
            if (moved)
                cur.ent[0].x = 810;
            n = body_round_trip(&base, &cur, &names, 60, 1);
            proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
            uint32_t mask = walk_to_change(&r, buf, n);
            assert_int_equal(mask, 0x20 | (moved ? 0x01 : 0));
            assert_int_equal(bits_read(&r, 4), ext); /* EXT comes before the residuals */
        }
    }

    /* Stats deltas: their class and cost, the u16 wrap. One stat changes
     * (kills); the other three cost 2 bits each (class 0). Total bits:
     * 16 + 12 + 4 + cost + 6. */
    struct { uint16_t from, to; uint32_t zz; int cls; size_t bytes; } deltas[] = {
        {10, 11, 2, 1, 6},           /* +1: class 1, 4 bits: 42 bits */
        {10, 9, 1, 1, 6},            /* -1 */
        {10, 12, 4, 2, 6},           /* +2: class 2, 8 bits: 46 */
        {10, 41, 62, 2, 6},          /* +31 */
        {50, 18, 63, 2, 6},          /* -32 */
        {10, 42, 64, 3, 7},          /* +32: class 3, 18 bits: 56 */
        {50, 17, 65, 3, 7},          /* -33 */
        {65535, 0, 2, 1, 6},         /* +1 across the wrap */
        {0, 65535, 1, 1, 6},         /* -1 across the wrap */
        {0, 32767, 65534, 3, 7},     /* +32767 */
        {0, 32768, 65535, 3, 7},     /* -32768 */
        {32768, 0, 65535, 3, 7},     /* -32768 again */
        {1, 32769, 65535, 3, 7},
    };
    for (size_t k = 0; k < sizeof deltas / sizeof deltas[0]; k++) {
        base.ent[0].kills = deltas[k].from;
        cur = base;
        cur.tick = 53;
        cur.ent[0].kills = deltas[k].to;
        n = body_round_trip(&base, &cur, &names, 60, 1);
        if (n != deltas[k].bytes)
            fail_msg("delta %zu: %zu bytes, want %zu", k, n, deltas[k].bytes);
        proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
        assert_int_equal(walk_to_change(&r, buf, n), 0x20);
        assert_int_equal(bits_read(&r, 4), 0x8);
        assert_int_equal(bits_read(&r, 2), deltas[k].cls);
        assert_int_equal(bits_read(&r, wstat[deltas[k].cls]), deltas[k].zz);
        for (int i = 0; i < 3; i++)
            assert_int_equal(bits_read(&r, 2), 0);
    }
    /* All four at once, in the order kills, deaths, score, hits. */
    base.ent[0].kills = 10;
    cur = base;
    cur.ent[0].kills = 11;
    cur.ent[0].deaths = 0;       /* 20 -> 0: -20, zz 39, class 2 */
    cur.ent[0].score = 65535;    /* 30 -> 65535: -31, zz 61, class 2 */
    cur.ent[0].hits = 1040;      /* +1000, zz 2000, class 3 */
    n = body_round_trip(&base, &cur, &names, 60, 1);
    proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    walk_to_change(&r, buf, n);
    assert_int_equal(bits_read(&r, 4), 0x8);
    const uint32_t zzs[4] = {2, 39, 61, 2000};
    for (int i = 0; i < 4; i++)
        assert_int_equal(bits_read_class(&r, wstat), zzs[i]);
    assert_int_equal(r.error, 0);

    /* ADD carries them whole. */
    cur = base;
    cur.gen[0]++;
    set_combat(&cur, 0, 1, 200, 65535, 1, 32768, 777);
    body_round_trip(&base, &cur, &names, 60, 1);
}

/* Residuals wrap modulo 2^16, so crossing 65535 -> 0 is a small number
 * on the wire; a player going on as its last step did (same direction
 * buttons, same turn) is its prediction and costs nothing, also across
 * the wrap. */
static void test_body_wrap_and_prediction(void **state)
{
    (void)state;
    static proto_snapshot base, cur;
    static proto_names names;
    uint8_t buf[64];
    memset(&base, 0, sizeof base);
    base.tick = 100;
    set_ent(&base, 0, 1000, 1000, 0, 0, 65535, 0);
    cur = base;
    cur.tick = 101;
    cur.ent[0].aim = 0;
    /* count 8 | ms 8 | gap 0 (2 bits) op 0 (2) mask 8 | aim class 0 (2+4): 34 bits */
    assert_int_equal(body_round_trip(&base, &cur, &names, 60, 1), 5);
    size_t n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(n, 5);
    int id;
    assert_int_equal(first_entry_op(buf, n, &id), 0 /* CHANGE */);
    cur.ent[0].aim = 65534; /* -1 */
    cur.ent[0].x = 0;       /* far: 16-bit class */
    body_round_trip(&base, &cur, &names, 60, 1);

    /* Running right at full speed (300 u/s = 4800 in vx, RIGHT held) for
     * 3 ticks at 60 Hz: 15 units = 240 grid steps, wrapping x past 65535
     * to 104; the aim turning by 7 per tick. Exactly the prediction: no
     * entry at all. */
    base.ent[0] = (sim_netent){.x = 65400, .y = 100, .vx = 4800, .aim = 1, .turn = 7, .move = SIM_BTN_RIGHT};
    cur = base;
    cur.tick = 103;
    cur.ent[0].x = 104;
    cur.ent[0].aim = 22;
    assert_int_equal(body_round_trip(&base, &cur, &names, 60, 1), 2);
    /* y off by -100 (zz 199, class 2) and flags: count 8 | ms 8 | gap(2)
     * op(2) mask(8) | ext 4 | flags 8 | y 2+10 = 52 bits */
    cur.ent[0].y = 0;
    cur.ent[0].flags = SIM_FLAG_FIRING;
    assert_int_equal(body_round_trip(&base, &cur, &names, 60, 1), 7);

    /* Let go of RIGHT: the new move is sent (4 bits) and the rest follows
     * from it (friction: 300 -> 260 u/s, 4.33 units). */
    cur = base;
    cur.tick = 101;
    sim_player p;
    sim_player_from_net(&base.ent[0], &p);
    sim_player_glide(&p, 0, 1.0f / 60);
    sim_player_to_net(&p, &cur.ent[0]);
    cur.ent[0].move = 0;
    cur.ent[0].turn = 7;
    cur.ent[0].aim = 8;
    n = body_round_trip(&base, &cur, &names, 60, 1);
    assert_int_equal(n, 4); /* 16 | 2 2 | mask 8 | move 4 = 32 bits */
    proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    bits_reader r;
    bits_reader_init(&r, buf, n);
    bits_read(&r, 8 + 8 + 2 + 2);
    assert_int_equal(bits_read(&r, 8), 0x80 /* move only */);
    assert_int_equal(bits_read(&r, 4), 0);
}

/* Add, remove, change in one delta; a reused slot (new gen) is re-added
 * with its new name instead of changed. */
static void test_body_add_remove_change_reuse(void **state)
{
    (void)state;
    static proto_snapshot base, cur, out;
    static proto_names names, got;
    memset(&base, 0, sizeof base);
    memset(&names, 0, sizeof names);
    base.tick = 40;
    set_ent(&base, 1, 100, 100, 0, 0, 0, 0);
    set_ent(&base, 5, 200, 200, 10, 10, 0, 0);
    set_ent(&base, 127, 300, 300, 0, 0, 0, 0);
    base.gen[5] = 1;
    strcpy(names.name[1], "one");
    strcpy(names.name[5], "old");
    strcpy(names.name[127], "last");

    cur = base;
    cur.tick = 42;
    cur.present[1] = 0;                         /* removed */
    cur.gen[5] = 2;                             /* slot reused by a new player */
    cur.ent[5] = (sim_netent){.x = 200, .y = 200, .vx = 10, .vy = 10}; /* same state! */
    strcpy(names.name[5], "new");
    cur.ent[127].x = 301;                       /* changed */
    set_ent(&cur, 0, 9, 9, 0, 0, 0, 0);         /* added */
    strcpy(names.name[0], "zero");

    body_round_trip(&base, &cur, &names, 60, 1);

    uint8_t buf[128];
    size_t n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(buf[0], 4);
    /* Walk the entries: ids 0 ADD, 1 REMOVE, 5 ADD (reuse), 127 CHANGE. */
    memset(&got, 0, sizeof got);
    strcpy(got.name[5], "old");
    out.tick = 42;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &got, 60, buf, n), PROTO_OK);
    assert_string_equal(got.name[5], "new");
    assert_string_equal(got.name[0], "zero");
    assert_int_equal(out.present[1], 0);
    assert_int_equal(out.present[5], 1);
    assert_int_equal(out.ent[127].x, 301);

    /* Slot reuse alone (same state, new gen) is one ADD entry. */
    cur = base;
    cur.tick = 41;
    cur.gen[5] = 2;
    n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    int id;
    assert_int_equal(buf[0], 1);
    assert_int_equal(first_entry_op(buf, n, &id), 1 /* ADD */);
    assert_int_equal(id, 5);
    /* And a REMOVE alone for comparison. */
    cur = base;
    cur.present[5] = 0;
    n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(buf[0], 1);
    assert_int_equal(first_entry_op(buf, n, &id), 2 /* REMOVE */);
    assert_int_equal(id, 5);
}

/* The DISCONNECTED flag (bit 1) travels like any flags value: set and
 * cleared by a CHANGE with only the EXT bit in its mask and only flags in
 * the EXT mask, and in an ADD. */
static void test_body_disconnected_flag(void **state)
{
    (void)state;
    static proto_snapshot base, cur, out;
    static proto_names names;
    memset(&base, 0, sizeof base);
    memset(&names, 0, sizeof names);
    base.tick = 10;
    set_ent(&base, 4, 800, 900, 0, 0, 0x1234, 0);
    set_ent(&base, 6, 100, 100, 0, 0, 0, SIM_FLAG_FIRING);
    cur = base;
    cur.tick = 12;
    cur.ent[4].flags = SIM_FLAG_DISCONNECTED;
    cur.ent[6].flags = SIM_FLAG_FIRING | SIM_FLAG_DISCONNECTED;
    body_round_trip(&base, &cur, &names, 60, 1);
    uint8_t buf[64];
    size_t n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    bits_reader r;
    bits_reader_init(&r, buf, n);
    assert_int_equal(bits_read(&r, 8), 2);
    assert_int_equal(bits_read(&r, 8), 0);           /* match state unchanged */
    static const uint8_t gap[4] = {0, 2, 4, 8};
    assert_int_equal(bits_read_class(&r, gap), 4);
    assert_int_equal(bits_read(&r, 2), 0);           /* CHANGE */
    assert_int_equal(bits_read(&r, 8), 0x20);        /* EXT only */
    assert_int_equal(bits_read(&r, 4), 0x1);         /* flags only */
    assert_int_equal(bits_read(&r, 8), SIM_FLAG_DISCONNECTED);
    /* Back again, and as an ADD in a full snapshot. */
    body_round_trip(&cur, &base, &names, 60, 1);
    body_round_trip(NULL, &cur, &names, 60, 1);
    out.tick = 12;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, n), PROTO_OK);
    assert_int_equal(out.ent[6].flags, SIM_FLAG_FIRING | SIM_FLAG_DISCONNECTED);
}

/* Decoding in place (base == out) is refused: the prediction needs the
 * baseline's tick, which out->tick (the new one) would overwrite. */
static void test_body_in_place(void **state)
{
    (void)state;
    static proto_snapshot base, cur, work;
    static proto_names names;
    memset(&base, 0, sizeof base);
    base.tick = 7;
    set_ent(&base, 3, 10, 20, 30, 40, 50, 0);
    set_combat(&base, 3, 100, 0, 0, 0, 0, 0);
    cur = base;
    cur.tick = 8;
    cur.ent[3].vx = -30;
    cur.ent[3].health = 75;
    uint8_t buf[64];
    size_t n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    work = base;
    work.tick = 8;
    assert_int_equal(proto_snapshot_body_read(&work, &work, &names, 60, buf, n), PROTO_ERR_VALUE);
    assert_int_equal(proto_snapshot_body_read(&base, &work, &names, 60, buf, n), PROTO_OK);
    assert_snap_equal(&cur, &work);
}

/* The ADD payload of the hand-made bodies below: all fields zero but
 * health, then the name. */
static void write_add_payload(bits_writer *w, uint8_t health, uint32_t name_len, const uint8_t *name)
{
    for (int f = 0; f < 5; f++)
        bits_write(w, 0, 16); /* x y vx vy aim */
    bits_write(w, 0, 16);     /* turn */
    bits_write(w, 0, 4);      /* move */
    bits_write(w, 0, 8);      /* flags */
    bits_write(w, health, 8);
    bits_write(w, 0, 8);      /* life */
    for (int f = 0; f < 4; f++)
        bits_write(w, 0, 16); /* kills deaths score hits */
    bits_write(w, name_len, 5);
    for (uint32_t i = 0; i < name_len; i++)
        bits_write(w, name ? name[i] : 'a', 8);
}

static void test_body_rejects(void **state)
{
    (void)state;
    static proto_snapshot base, out;
    static proto_names names;
    memset(&base, 0, sizeof base);
    base.tick = 1;
    set_ent(&base, 2, 1, 1, 0, 0, 0, 0);
    set_combat(&base, 2, 50, 0, 0, 0, 0, 0);
    bits_writer w;
    uint8_t buf[64];

    /* tick_rate 0 */
    uint8_t zero[2] = {0, 0};
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 0, zero, 2), PROTO_ERR_VALUE);

    /* Count says 2, one entry follows: truncated. */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 2, 8);
    bits_write(&w, 0, 8);                       /* no match state */
    bits_write(&w, 1, 2); bits_write(&w, 2, 2); /* gap class 1 value 2 -> id 2 */
    bits_write(&w, 2, 2);                       /* REMOVE */
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_ERR_TRUNCATED);

    /* id 128 (gap class 3 = 128) */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 8);
    bits_write(&w, 0, 8);
    bits_write(&w, 3, 2); bits_write(&w, 128, 8);
    bits_write(&w, 2, 2);
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_ERR_VALUE);

    /* CHANGE and REMOVE of an absent entity; op 3 */
    const int ops[] = {0, 2, 3};
    for (int k = 0; k < 3; k++) {
        bits_writer_init(&w, buf, sizeof buf);
        bits_write(&w, 1, 8);
        bits_write(&w, 0, 8);
        bits_write(&w, 0, 2);            /* gap class 0: id 0, absent */
        bits_write(&w, (uint32_t)ops[k], 2);
        bits_write(&w, 0, 8);            /* empty change mask */
        out.tick = 2;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                         PROTO_ERR_VALUE);
    }
    /* CHANGE/REMOVE in a full snapshot (no base), with its match state */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 8);
    bits_write(&w, 1, 8);
    for (int i = 0; i < 10; i++)
        bits_write(&w, 0, 8);
    bits_write(&w, 1, 2); bits_write(&w, 2, 2);
    bits_write(&w, 2, 2);
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_ERR_VALUE);
    /* ... which is fine against the base holding id 2 */
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_OK);
    assert_int_equal(out.present[2], 0);

    /* ADD with name_len 17 and 31 */
    const uint32_t lens[] = {17, 31};
    for (int k = 0; k < 2; k++) {
        bits_writer_init(&w, buf, sizeof buf);
        bits_write(&w, 1, 8);
        bits_write(&w, 0, 8);
        bits_write(&w, 0, 2);
        bits_write(&w, 1, 2);
        write_add_payload(&w, 100, lens[k], NULL);
        out.tick = 2;
        assert_true(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)) < 0);
    }

    /* Health over SIM_MAX_HEALTH, in an ADD and in a CHANGE. */
    for (int health = 99; health < 256; health += (health < 102 ? 1 : 51)) {
        int want = health <= SIM_MAX_HEALTH ? PROTO_OK : PROTO_ERR_VALUE;
        bits_writer_init(&w, buf, sizeof buf);
        bits_write(&w, 1, 8);
        bits_write(&w, 0, 8);
        bits_write(&w, 0, 2);
        bits_write(&w, 1, 2);
        write_add_payload(&w, (uint8_t)health, 0, NULL);
        out.tick = 2;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)), want);
        bits_writer_init(&w, buf, sizeof buf);
        bits_write(&w, 1, 8);
        bits_write(&w, 0, 8);
        bits_write(&w, 1, 2); bits_write(&w, 2, 2); /* id 2 */
        bits_write(&w, 0, 2);                       /* CHANGE */
        bits_write(&w, 0x20, 8);                    /* EXT */
        bits_write(&w, 0x2, 4);                     /* health */
        bits_write(&w, (uint32_t)health, 8);
        out.tick = 2;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)), want);
    }

    /* A CHANGE whose EXT mask promises fields that are not there. */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 8);
    bits_write(&w, 0, 8);
    bits_write(&w, 1, 2); bits_write(&w, 2, 2);
    bits_write(&w, 0, 2);
    bits_write(&w, 0x20, 8);
    bits_write(&w, 0xf, 4);
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_ERR_TRUNCATED);

    /* Non-printable name bytes in an ADD become '?' on the way in. */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 8);
    bits_write(&w, 0, 8);
    bits_write(&w, 0, 2);
    bits_write(&w, 1, 2);
    const uint8_t raw[4] = {'a', 0x00, 0x7f, 0xc3};
    write_add_payload(&w, 0, 4, raw);
    memset(&names, 0, sizeof names);
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_OK);
    assert_string_equal(names.name[0], "a???");
}

/* Random snapshots and deltas: presence, gens, small and large changes,
 * combat fields and the match state. */
static void test_body_random_round_trip(void **state)
{
    (void)state;
    static proto_snapshot base, cur;
    static proto_names names;
    uint64_t seed = 2024;
    for (int iter = 0; iter < 1500; iter++) {
        fill_names(&names, &seed);
        memset(&base, 0, sizeof base);
        base.tick = rnd(&seed, 1000000) + 1;
        base.ms = (proto_match_state){(uint8_t)rnd(&seed, 3), (uint8_t)rnd(&seed, 256), (uint16_t)rnd(&seed, 65536),
                                      (uint16_t)rnd(&seed, 65536), rnd(&seed, 1u << 31)};
        int density = (int)rnd(&seed, 101);
        for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
            if ((int)rnd(&seed, 100) >= density)
                continue;
            set_ent(&base, id, (uint16_t)rnd(&seed, 65536), (uint16_t)rnd(&seed, 65536),
                    (int16_t)(rnd(&seed, 9601) - 4800), (int16_t)(rnd(&seed, 65536) - 32768),
                    (uint16_t)rnd(&seed, 65536), (uint8_t)rnd(&seed, 16));
            set_combat(&base, id, (uint8_t)rnd(&seed, SIM_MAX_HEALTH + 1), (uint8_t)rnd(&seed, 256),
                       (uint16_t)rnd(&seed, 65536), (uint16_t)rnd(&seed, 200), (uint16_t)rnd(&seed, 65536),
                       (uint16_t)rnd(&seed, 1000));
            base.gen[id] = (uint8_t)rnd(&seed, 256);
        }
        cur = base;
        cur.tick = base.tick + 1 + rnd(&seed, 255);
        if (rnd(&seed, 4) == 0)
            cur.ms.phase = (uint8_t)((cur.ms.phase + 1) % 3);
        if (rnd(&seed, 8) == 0)
            cur.ms.end_tick = rnd(&seed, 1u << 31);
        uint16_t rate = (uint16_t)(rnd(&seed, 4) == 0 ? 1 + rnd(&seed, 65535) : 60);
        int churn = (int)rnd(&seed, 30);
        for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
            uint32_t what = rnd(&seed, 100);
            if (what < (uint32_t)churn / 3) {
                cur.present[id] = !cur.present[id];
            } else if (what < (uint32_t)churn / 2) {
                cur.gen[id]++;
            }
            if (!cur.present[id] || rnd(&seed, 2))
                continue;
            sim_netent *e = &cur.ent[id];
            int big = rnd(&seed, 4) == 0;
            uint32_t span = big ? 65536 : 40;
            e->x = (uint16_t)(e->x + e->vx * (int32_t)(cur.tick - base.tick) / rate + (int32_t)rnd(&seed, span) - (int32_t)span / 2);
            e->y = (uint16_t)(e->y + (int32_t)rnd(&seed, span) - (int32_t)span / 2);
            if (rnd(&seed, 2))
                e->vx = (int16_t)(e->vx + (int32_t)rnd(&seed, span) - (int32_t)span / 2);
            if (rnd(&seed, 2))
                e->vy = (int16_t)rnd(&seed, 65536);
            if (rnd(&seed, 2))
                e->aim = (uint16_t)(e->aim + rnd(&seed, span));
            if (rnd(&seed, 4) == 0)
                e->flags ^= (uint8_t)(1u << rnd(&seed, 4));
            if (rnd(&seed, 4) == 0)
                e->health = (uint8_t)rnd(&seed, SIM_MAX_HEALTH + 1);
            if (rnd(&seed, 8) == 0)
                e->life++;
            if (rnd(&seed, 4) == 0) {
                e->kills = (uint16_t)(e->kills + rnd(&seed, 3));
                e->deaths = (uint16_t)(e->deaths + (big ? rnd(&seed, 65536) : rnd(&seed, 2)));
                e->score = (uint16_t)(e->score + rnd(&seed, span) - span / 2);
                e->hits = (uint16_t)(e->hits + rnd(&seed, 5));
            }
        }
        body_round_trip(rnd(&seed, 8) == 0 ? NULL : &base, &cur, &names, rate, 0);
    }
}

/* ---- the worked example of docs/PROTOCOL.md --------------------------------
 * The document shows exactly these bytes; if this test fails, the codec and
 * the document disagree and one of them must be fixed. */
static void protocol_md_example(uint8_t *msg, size_t *len, proto_snapshot *base,
                                proto_snapshot *cur, proto_names *names)
{
    memset(base, 0, sizeof *base);
    memset(names, 0, sizeof *names);
    base->tick = 100;
    /* LIVE round 3 (2 players to start, first to 25), ending at tick 18100 */
    base->ms = (proto_match_state){PROTO_PHASE_LIVE, 2, 3, 25, 18100};
    /* id 0 "ann": running right at full speed, 300 u/s (4800/16), RIGHT
     * held, from x=64 y=32 */
    set_ent(base, 0, 64 * 16, 32 * 16, 4800, 0, 0x4000, 0);
    base->ent[0].move = SIM_BTN_RIGHT;
    set_combat(base, 0, 100, 0, 0, 0, 0, 0);
    /* id 2 "bo": standing still */
    set_ent(base, 2, 300 * 16, 300 * 16, 0, 0, 0xfff0, 0);
    set_combat(base, 2, 100, 1, 4, 2, 4, 9);
    /* id 5 "eve": about to leave */
    set_ent(base, 5, 500 * 16, 50 * 16, 0, 0, 0, 0);
    set_combat(base, 5, 50, 2, 0, 0, 0, 0);
    /* id 7 "cy": wounded, about to be shot */
    set_ent(base, 7, 1000 * 16, 1000 * 16, 0, 0, 0, 0);
    set_combat(base, 7, 25, 3, 1, 5, 1, 6);
    strcpy(names->name[0], "ann");
    strcpy(names->name[2], "bo");
    strcpy(names->name[5], "eve");
    strcpy(names->name[7], "cy");

    *cur = *base;
    cur->tick = 103;
    /* ann kept going: 3 ticks at 300 u/s = 15 units = 240 grid steps;
     * also drifted 1/16 down */
    cur->ent[0].x = (uint16_t)(base->ent[0].x + 240);
    cur->ent[0].y = (uint16_t)(base->ent[0].y + 1);
    /* bo started turning (his last step by 8; the aim wraps past 65535),
     * fired and killed cy */
    cur->ent[2].turn = 8;
    cur->ent[2].aim = 0x0010;
    cur->ent[2].flags = SIM_FLAG_FIRING | SIM_FLAG_SHOT;
    cur->ent[2].kills = 5;
    cur->ent[2].score = 5;
    cur->ent[2].hits = 10;
    /* eve left */
    cur->present[5] = 0;
    /* cy is dead */
    cur->ent[7].flags = SIM_FLAG_DEAD;
    cur->ent[7].health = 0;
    cur->ent[7].deaths = 6;
    /* dee joined in slot 9 */
    set_ent(cur, 9, 2000 * 16, 100 * 16, 0, -160, 0, 0);
    cur->ent[9].move = SIM_BTN_UP;
    set_combat(cur, 9, 100, 0, 0, 0, 0, 0);
    strcpy(names->name[9], "dee");

    proto_snapshot_header h = {.tick = 103, .baseline_tick = 100, .last_input_seq = 42};
    size_t n = proto_snapshot_header_write(&h, msg, PROTO_MAX_SNAPSHOT);
    assert_int_equal(n, PROTO_SNAPSHOT_HEADER_SIZE);
    /* The client acknowledged events up to 40: 41 KILL, 42 LEAVE, 43 JOIN. */
    n += proto_events_header_write(3, 41, msg + n, PROTO_MAX_SNAPSHOT - n);
    const proto_event evs[3] = {
        make_event(PROTO_EV_KILL, 2, 7, 0, 0, NULL),
        make_event(PROTO_EV_LEAVE, 5, 0, 0, 0, NULL),
        make_event(PROTO_EV_JOIN, 9, 0, 0, 0, "dee"),
    };
    for (int i = 0; i < 3; i++) {
        size_t e = proto_event_write(&evs[i], msg + n, PROTO_MAX_SNAPSHOT - n);
        assert_true(e > 0);
        n += e;
    }
    size_t b = proto_snapshot_body_write(base, cur, names, 60, msg + n, PROTO_MAX_SNAPSHOT - n);
    assert_true(b > 0);
    *len = n + b;
}

static void test_protocol_md_example(void **state)
{
    (void)state;
    static uint8_t msg[PROTO_MAX_SNAPSHOT];
    static proto_snapshot base, cur, out;
    static proto_names names, got;
    size_t len;
    protocol_md_example(msg, &len, &base, &cur, &names);
    if (getenv("TW_PRINT_EXAMPLE")) {
        for (size_t i = 0; i < len; i++)
            printf("%02x%s", msg[i], i + 1 == len ? "\n" : " ");
    }
    const uint8_t want[] = {
        /* header */
        0x82, 0x67, 0x00, 0x00, 0x00, 0x03, 0x2a, 0x00, 0x00, 0x00,
        /* events */
        0x03, 0x29, 0x00, 0x00, 0x00,
        0x01, 0x02, 0x00, 0x02, 0x07,
        0x04, 0x01, 0x00, 0x05,
        0x03, 0x04, 0x00, 0x09, 0x64, 0x65, 0x65,
        /* body */
        0x05, 0x00, 0x20, 0x80, 0x0a, 0xb8, 0x20, 0xb2, 0x20, 0xc9,
        0x0c, 0x22, 0x2d, 0x40, 0x16, 0x01, 0x80, 0x84, 0x0a, 0xa0,
        0x0f, 0xc8, 0x00, 0x00, 0x00, 0xec, 0x1f, 0x00, 0x00, 0x00,
        0x20, 0x00, 0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x06, 0x59, 0x59, 0x19,
    };
    if (len != sizeof want || memcmp(msg, want, len) != 0) {
        for (size_t i = 0; i < len; i++)
            print_message("%02x%s", msg[i], i + 1 == len ? "\n" : " ");
        fail_msg("the PROTOCOL.md example changed (%zu bytes)", len);
    }
    /* And it decodes back: header, events, body. */
    proto_snapshot_header h;
    assert_int_equal(proto_snapshot_header_read(msg, len, &h), PROTO_OK);
    assert_int_equal(h.tick, 103);
    assert_int_equal(h.baseline_tick, 100);
    assert_int_equal(h.last_input_seq, 42);
    size_t off = PROTO_SNAPSHOT_HEADER_SIZE;
    assert_int_equal(msg[off], 3);
    assert_int_equal(msg[off + 1] | msg[off + 2] << 8 | msg[off + 3] << 16 | (uint32_t)msg[off + 4] << 24, 41);
    off += 5;
    const uint8_t types[3] = {PROTO_EV_KILL, PROTO_EV_LEAVE, PROTO_EV_JOIN};
    for (int i = 0; i < 3; i++) {
        proto_event ev;
        size_t used;
        ev.seq = 41 + (uint32_t)i;
        assert_int_equal(proto_event_read(msg + off, len - off, &ev, &used), PROTO_OK);
        assert_int_equal(ev.type, types[i]);
        off += used;
    }
    assert_int_equal(off, 31);
    out.tick = h.tick;
    memset(&got, 0, sizeof got);
    assert_int_equal(proto_snapshot_body_read(&base, &out, &got, 60, msg + off, len - off), PROTO_OK);
    assert_snap_equal(&cur, &out);
    assert_string_equal(got.name[9], "dee");
    /* Its 2 bits of padding (bits 6 and 7 of the last byte) are zero, and
     * a reader rejects the body if either is not (section 2, Padding). */
    assert_int_equal(msg[len - 1] & 0xc0, 0);
    for (int bit = 6; bit < 8; bit++) {
        msg[len - 1] ^= (uint8_t)(1u << bit);
        out.tick = h.tick;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &got, 60, msg + off, len - off), PROTO_ERR_VALUE);
        msg[len - 1] ^= (uint8_t)(1u << bit);
    }
    /* The body alone, against its baseline, as body_round_trip checks it. */
    body_round_trip(&base, &cur, &names, 60, 1);
}

static void test_misc(void **state)
{
    (void)state;
    uint8_t b = 0x82;
    assert_int_equal(proto_peek_type(&b, 0), -1);
    assert_int_equal(proto_peek_type(&b, 1), 0x82);
    const int errs[] = {PROTO_OK, PROTO_ERR_TRUNCATED, PROTO_ERR_TRAILING, PROTO_ERR_TYPE,
                        PROTO_ERR_VERSION, PROTO_ERR_VALUE, PROTO_ERR_BASELINE, PROTO_ERR_UTF8};
    for (int i = 0; i < 8; i++) {
        assert_string_not_equal(proto_err_str(errs[i]), "unknown error");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(proto_err_str(errs[i]), proto_err_str(errs[j]));
    }
    assert_string_equal(PROTO_SUBPROTOCOL, "tickwire.v6");
    assert_int_equal(PROTO_VERSION, 6);
    /* The numbers PROTOCOL.md states. */
    assert_int_equal(PROTO_JOIN, 0x01);
    assert_int_equal(PROTO_INPUT, 0x02);
    assert_int_equal(PROTO_CHAT, 0x03);
    assert_int_equal(PROTO_WELCOME, 0x81);
    assert_int_equal(PROTO_SNAPSHOT, 0x82);
    assert_int_equal(PROTO_MAX_CLIENT_MSG, 512);
    assert_int_equal(PROTO_MAX_JOIN_MSG, 256);
    assert_int_equal(PROTO_MAX_TOKEN, 200);
    assert_int_equal(PROTO_RESUME_LEN, 16);
    assert_true(5 + PROTO_MAX_TOKEN + PROTO_RESUME_LEN <= PROTO_MAX_JOIN_MSG);
    assert_int_equal(PROTO_MODE_PLAY, 0);
    assert_int_equal(PROTO_MODE_SPECTATE, 1);
    assert_int_equal(PROTO_MATCH_ANY, 0xffff);
    assert_int_equal(PROTO_SPECTATOR_ID, 0xffff);
    assert_int_equal(PROTO_MAX_CHAT_CHARS, 120);
    assert_int_equal(PROTO_MAX_CHAT_BYTES, 480);
    assert_int_equal(SIM_FLAG_FIRING, 1);
    assert_int_equal(SIM_FLAG_DISCONNECTED, 2);
    assert_int_equal(SIM_FLAG_SHOT, 4);
    assert_int_equal(SIM_FLAG_DEAD, 8);
    assert_int_equal(SIM_MAX_HEALTH, 100);
    assert_int_equal(PROTO_PHASE_WARMUP, 0);
    assert_int_equal(PROTO_PHASE_LIVE, 1);
    assert_int_equal(PROTO_PHASE_ENDED, 2);
    assert_int_equal(PROTO_END_TIME, 1);
    assert_int_equal(PROTO_END_SCORE, 2);
    assert_int_equal(PROTO_END_INTERRUPTED, 3);
    assert_int_equal(PROTO_EV_KILL, 1);
    assert_int_equal(PROTO_EV_CHAT, 2);
    assert_int_equal(PROTO_EV_JOIN, 3);
    assert_int_equal(PROTO_EV_LEAVE, 4);
    assert_int_equal(PROTO_EV_ROUND_START, 5);
    assert_int_equal(PROTO_EV_ROUND_END, 6);
    assert_int_equal(PROTO_CLOSE_EVENTS_BEHIND, 4009);
    assert_int_equal(PROTO_CLOSE_CHAT_FLOOD, 4010);
    assert_int_equal(PROTO_CLOSE_SPECTATOR_INPUT, 4011);
    assert_int_equal(PROTO_CLOSE_NO_SUCH_MATCH, 4012);
    assert_int_equal(PROTO_BASELINE_WINDOW, 32);
    assert_int_equal(PROTO_MAX_ENTITIES, 128);
    assert_int_equal(PROTO_MAX_EVENT_BYTES, 1024);
    assert_int_equal(PROTO_MAX_WELCOME, 552);
    assert_int_equal(PROTO_MAX_SNAPSHOT_BODY, 6156);
    assert_int_equal(PROTO_MAX_SNAPSHOT, 7195);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_bytes_and_round_trip),
        cmocka_unit_test(test_join_rejects),
        cmocka_unit_test(test_join_spectate),
        cmocka_unit_test(test_input_bytes),
        cmocka_unit_test(test_input_round_trip_limits),
        cmocka_unit_test(test_input_views),
        cmocka_unit_test(test_input_rejects),
        cmocka_unit_test(test_chat_bytes),
        cmocka_unit_test(test_chat_utf8),
        cmocka_unit_test(test_chat_limits),
        cmocka_unit_test(test_chat_clean),
        cmocka_unit_test(test_event_bytes),
        cmocka_unit_test(test_event_rejects),
        cmocka_unit_test(test_events_header),
        cmocka_unit_test(test_welcome_bytes),
        cmocka_unit_test(test_welcome_round_trip_limits),
        cmocka_unit_test(test_welcome_rejects),
        cmocka_unit_test(test_snapshot_header),
        cmocka_unit_test(test_body_full_128_entities),
        cmocka_unit_test(test_body_empty),
        cmocka_unit_test(test_body_delta_unchanged_is_two_bytes),
        cmocka_unit_test(test_body_match_state),
        cmocka_unit_test(test_body_delta_each_field),
        cmocka_unit_test(test_body_ext),
        cmocka_unit_test(test_body_wrap_and_prediction),
        cmocka_unit_test(test_body_add_remove_change_reuse),
        cmocka_unit_test(test_body_disconnected_flag),
        cmocka_unit_test(test_body_in_place),
        cmocka_unit_test(test_body_rejects),
        cmocka_unit_test(test_body_random_round_trip),
        cmocka_unit_test(test_protocol_md_example),
        cmocka_unit_test(test_misc),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
