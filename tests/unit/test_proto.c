/* Unit tests for shared/proto.c, the wire format version 3.
 *
 * Each message: exact bytes of a known instance (so docs/PROTOCOL.md cannot
 * drift), round trips at the limits of every field, every strict prefix of
 * a valid message rejected as truncated, trailing bytes, bad type/version,
 * out-of-range values, and writers returning 0 when the buffer is too small.
 * Snapshot bodies: full and delta, add/remove/change, slot reuse via gen,
 * 128 entities, wrap-around of aim/positions/velocities, and a randomized
 * round trip. */
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

/* Entity-wise equality of what a snapshot says (gen is each side's own
 * counter and is not compared). */
static void assert_snap_equal(const proto_snapshot *want, const proto_snapshot *got)
{
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
    const uint8_t want[] = {0x01, 0x03, 0x05, 'A', 'b', '-', '_', '9', 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(proto_peek_type(buf, n), PROTO_JOIN);
    proto_join j;
    memset(&j, 0x55, sizeof j);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.version, 3);
    assert_int_equal(j.token_len, 5);
    assert_string_equal(j.token, "Ab-_9");
    assert_int_equal(j.has_resume, 0);

    /* ... and a resume with no token. */
    n = proto_join_write("", RESUME, buf, sizeof buf);
    const uint8_t want2[] = {0x01, 0x03, 0x00, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                             0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
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
            assert_int_equal(n, 4 + lens[i] + (with ? PROTO_RESUME_LEN : 0));
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
    /* The longest JOIN: 4 + 200 + 16 = 220 bytes, within PROTO_MAX_JOIN_MSG. */
    n = proto_join_write(token, RESUME, buf, sizeof buf);
    assert_int_equal(n, 220);
    /* Every base64url character is a valid token byte. */
    for (int c = 0; c < 64; c++) {
        char one[2] = {B64URL[c], 0};
        n = proto_join_write(one, NULL, buf, sizeof buf);
        assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
        assert_int_equal(j.token[0], B64URL[c]);
    }
}

static void test_join_rejects(void **state)
{
    (void)state;
    uint8_t buf[PROTO_MAX_JOIN_MSG + 1];
    proto_join j;
    char token[PROTO_MAX_TOKEN + 2];
    make_token(token, 20);

    /* Every strict prefix of each shape is truncated; one more byte trails. */
    for (int shape = 0; shape < 3; shape++) {
        size_t n = proto_join_write(shape == 1 ? "" : token, shape ? RESUME : NULL, buf, sizeof buf);
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
    assert_int_equal(n, 220);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(proto_join_read(buf, len, &j), PROTO_ERR_TRUNCATED);

    n = proto_join_write("ab", NULL, buf, sizeof buf);
    buf[0] = PROTO_INPUT;
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_ERR_TYPE);
    buf[0] = PROTO_JOIN;
    /* v1 and v2 clients (and a future v4) are refused by the version byte. */
    const uint8_t versions[] = {0, 1, 2, 4, 0xff};
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[1] = versions[i];
        assert_int_equal(proto_join_read(buf, n, &j), PROTO_ERR_VERSION);
    }
    buf[1] = PROTO_VERSION;
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);

    /* token_len 201 and 255 are out of range even with the bytes present. */
    static uint8_t longer[4 + 255];
    memset(longer, 'a', sizeof longer);
    longer[0] = PROTO_JOIN;
    longer[1] = PROTO_VERSION;
    longer[2] = PROTO_MAX_TOKEN + 1;
    longer[3 + PROTO_MAX_TOKEN + 1] = 0;
    assert_int_equal(proto_join_read(longer, 4 + PROTO_MAX_TOKEN + 1, &j), PROTO_ERR_VALUE);
    longer[2] = 255;
    longer[3 + 255] = 0;
    assert_int_equal(proto_join_read(longer, sizeof longer, &j), PROTO_ERR_VALUE);
    /* ... 200 is fine. */
    longer[2] = PROTO_MAX_TOKEN;
    longer[3 + PROTO_MAX_TOKEN] = 0;
    assert_int_equal(proto_join_read(longer, 4 + PROTO_MAX_TOKEN, &j), PROTO_OK);

    /* A byte outside A-Z a-z 0-9 - _ anywhere in the token (base64 '+',
     * '/', '=' padding, space, '.', control and high bytes). */
    const uint8_t bad_bytes[] = {'+', '/', '=', ' ', '.', '~', '@', '[', '`', '{', ':', 0x00,
                                 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < sizeof bad_bytes; i++) {
        for (int at = 0; at < 3; at++) {
            uint8_t m[] = {PROTO_JOIN, PROTO_VERSION, 3, 'o', 'k', '9', 0};
            m[3 + at] = bad_bytes[i];
            assert_int_equal(proto_join_read(m, sizeof m, &j), PROTO_ERR_VALUE);
        }
    }
    /* Every byte value: valid in a token iff it is base64url. */
    for (int c = 0; c < 256; c++) {
        uint8_t m[] = {PROTO_JOIN, PROTO_VERSION, 1, (uint8_t)c, 0};
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
    const uint8_t neither[] = {PROTO_JOIN, PROTO_VERSION, 0, 0};
    assert_int_equal(proto_join_read(neither, sizeof neither, &j), PROTO_ERR_VALUE);
    assert_int_equal(proto_join_read(neither, 3, &j), PROTO_ERR_TRUNCATED);
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

static void test_input_bytes(void **state)
{
    (void)state;
    proto_input_msg m = {.ack_tick = 0x01020304, .first_seq = 7, .count = 2};
    m.in[0] = (sim_input){.buttons = SIM_BTN_UP | SIM_BTN_FIRE, .aim = 0xbeef};
    m.in[1] = (sim_input){.buttons = 0, .aim = 1};
    uint8_t buf[64];
    size_t n = proto_input_write(&m, buf, sizeof buf);
    const uint8_t want[] = {0x02, 0x04, 0x03, 0x02, 0x01, 0x07, 0x00, 0x00, 0x00, 0x02,
                            0x11, 0xef, 0xbe, 0x00, 0x01, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
}

static void test_input_round_trip_limits(void **state)
{
    (void)state;
    uint8_t buf[64];
    const uint32_t seqs[] = {1, 2, 0x7fffffff, UINT32_MAX - PROTO_MAX_INPUTS_PER_MSG};
    const uint32_t acks[] = {0, 1, UINT32_MAX};
    int button = 0;
    for (int count = 1; count <= PROTO_MAX_INPUTS_PER_MSG; count++) {
        for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
            proto_input_msg m = {.ack_tick = acks[s % 3], .first_seq = seqs[s], .count = (uint8_t)count};
            for (int i = 0; i < count; i++) {
                m.in[i].buttons = (uint8_t)(button++ % (SIM_BTN_ALL + 1));
                m.in[i].aim = (uint16_t)(i & 1 ? 65535 : i * 8191);
            }
            size_t n = proto_input_write(&m, buf, sizeof buf);
            assert_int_equal(n, 10 + 3 * (size_t)count);
            assert_true(n <= PROTO_MAX_CLIENT_MSG);
            proto_input_msg o;
            memset(&o, 0xaa, sizeof o);
            assert_int_equal(proto_input_read(buf, n, &o), PROTO_OK);
            assert_int_equal(o.ack_tick, m.ack_tick);
            assert_int_equal(o.first_seq, m.first_seq);
            assert_int_equal(o.count, m.count);
            for (int i = 0; i < count; i++) {
                assert_int_equal(o.in[i].buttons, m.in[i].buttons);
                assert_int_equal(o.in[i].aim, m.in[i].aim);
            }
        }
    }
    assert_true(button > SIM_BTN_ALL); /* every button combination was used */
}

static void test_input_rejects(void **state)
{
    (void)state;
    proto_input_msg m = {.ack_tick = 9, .first_seq = 100, .count = PROTO_MAX_INPUTS_PER_MSG};
    for (int i = 0; i < m.count; i++)
        m.in[i] = (sim_input){.buttons = SIM_BTN_ALL, .aim = 65535};
    uint8_t buf[64], bad[64];
    proto_input_msg o;
    size_t n = proto_input_write(&m, buf, sizeof buf);
    assert_int_equal(n, 34);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(proto_input_read(buf, len, &o), PROTO_ERR_TRUNCATED);
    buf[n] = 0;
    assert_int_equal(proto_input_read(buf, n + 1, &o), PROTO_ERR_TRAILING);

    memcpy(bad, buf, n);
    bad[0] = PROTO_JOIN;
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_TYPE);
    bad[0] = 0xff;
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_TYPE);

    /* count 0 and count 9 */
    memcpy(bad, buf, n);
    bad[9] = 0;
    assert_int_equal(proto_input_read(bad, 10, &o), PROTO_ERR_VALUE);
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
    bad[9] = 9;
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
    bad[n] = 0x01; bad[n + 1] = 0x00; bad[n + 2] = 0x00; /* even with 9 inputs present */
    assert_int_equal(proto_input_read(bad, n + 3, &o), PROTO_ERR_VALUE);

    /* first_seq 0, and first_seq so large the seqs would wrap */
    memcpy(bad, buf, n);
    memset(bad + 5, 0, 4);
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
    uint32_t big = UINT32_MAX - PROTO_MAX_INPUTS_PER_MSG + 1;
    bad[5] = (uint8_t)big; bad[6] = (uint8_t)(big >> 8); bad[7] = (uint8_t)(big >> 16); bad[8] = (uint8_t)(big >> 24);
    assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);

    /* buttons with bits outside SIM_BTN_ALL, in the first and the last input */
    const uint8_t unknown[] = {0x20, 0x40, 0x80, 0x3f, 0xff};
    for (size_t k = 0; k < sizeof unknown; k++) {
        for (int at = 0; at < 2; at++) {
            memcpy(bad, buf, n);
            bad[at ? n - 3 : 10] = unknown[k];
            assert_int_equal(proto_input_read(bad, n, &o), PROTO_ERR_VALUE);
        }
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
    w.map.walls[0] = (sim_wall){960, 704, 1088, -2};
    uint8_t buf[PROTO_MAX_WELCOME];
    size_t n = proto_welcome_write(&w, buf, sizeof buf);
    if (getenv("TW_PRINT_EXAMPLE")) {
        for (size_t i = 0; i < n; i++)
            printf("%02x%s", buf[i], i + 1 == n ? "\n" : " ");
    }
    const uint8_t want[] = {
        0x81, 0x03,             /* type, version */
        0x03, 0x00,             /* player_id 3 */
        0x3c, 0x00, 0x1e, 0x00, /* tick_rate 60, snapshot_rate 30 */
        0xd0, 0xc0, 0xb0, 0xa0, /* server_tick */
        0x02, 0x01,             /* match_id */
        0x04, 0x04,             /* pos_frac, vel_frac */
        0x00, 0x08, 0x00, 0x04, /* width 2048, height 1024 */
        0x40, 0x00,             /* max_players 64 */
        0x01,                   /* nwalls */
        0xc0, 0x03, 0xc0, 0x02, 0x40, 0x04, 0xfe, 0xff,
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
         * as is a v2 one (same bytes, version 2). */
        b1[1] = 1;
        assert_int_equal(proto_welcome_read(b1, 23 + 8, &o), PROTO_ERR_VERSION);
        b1[1] = 2;
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
        {1, 4, PROTO_ERR_VERSION},
        {14, 3, PROTO_ERR_VALUE},                   /* pos_frac */
        {15, 5, PROTO_ERR_VALUE},                   /* vel_frac */
        {22, SIM_MAX_WALLS + 1, PROTO_ERR_VALUE},   /* nwalls */
        {20, PROTO_MAX_ENTITIES + 1, PROTO_ERR_VALUE}, /* max_players (low byte) */
        {20, 3, PROTO_ERR_VALUE},                   /* player_id 3 >= max_players 3 */
        {4, 0, PROTO_ERR_VALUE},                    /* tick_rate 0 */
        {6, 0, PROTO_ERR_VALUE},                    /* snapshot_rate 0 */
        {PROTO_MAX_WELCOME - 1, 2, PROTO_ERR_VALUE},    /* flags: only bit 0 is defined */
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
    fill_names(&names, &seed);
    const uint16_t u16s[] = {0, 1, 32767, 32768, 65535};
    const int16_t i16s[] = {0, -1, 1, INT16_MAX, INT16_MIN, 4800, -4800};
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        set_ent(&cur, id, u16s[id % 5], u16s[(id / 5) % 5], i16s[id % 7], i16s[(id / 7) % 7],
                u16s[(id / 3) % 5], (uint8_t)(id % 3 == 0 ? 0 : id % 3 == 1 ? 1 : 255));
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
    /* 128 x (2 id + 2 op + 5x16 + 8 + 5 + 16x8) = 28800 bits */
    assert_int_equal(n, 1 + 3600);
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
    uint8_t buf[8];
    assert_int_equal(proto_snapshot_body_write(NULL, &empty, &names, 60, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 0);
    assert_int_equal(proto_snapshot_body_write(NULL, &empty, &names, 60, buf, 0), 0);
    out.tick = 1;
    assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, buf, 1), PROTO_OK);
    assert_snap_equal(&empty, &out);
    assert_int_equal(proto_snapshot_body_read(NULL, &out, &names, 60, buf, 0), PROTO_ERR_TRUNCATED);
}

/* Unchanged entities cost nothing: a delta with no change is one byte. */
static void test_body_delta_unchanged_is_one_byte(void **state)
{
    (void)state;
    static proto_snapshot base, cur, out;
    static proto_names names;
    memset(&base, 0, sizeof base);
    base.tick = 10;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id += 3)
        set_ent(&base, id, (uint16_t)(id * 100), 2000, (int16_t)(id - 64), 0, 7, 1);
    /* Same entity state, tick moved on: unchanged even though the velocity
     * would dead-reckon elsewhere (a player held against a wall). */
    cur = base;
    cur.tick = 13;
    uint8_t buf[4];
    assert_int_equal(proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 0);
    out.tick = 13;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, 1), PROTO_OK);
    assert_snap_equal(&cur, &out);
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
    const uint16_t rates[] = {1, 20, 60, 128, 65535};
    const uint32_t dts[] = {1, 2, 31, 255};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
    for (int field = 0; field < 6; field++)
    for (size_t a = 0; a < 8; a++)
    for (size_t b = 0; b < 8; b++) {
        memset(&base, 0, sizeof base);
        base.tick = 1000;
        set_ent(&base, 0, u16s[a], u16s[7 - a], vels[a % 7], vels[b % 7], u16s[b], (uint8_t)a);
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
        }
        body_round_trip(&base, &cur, &names, rates[r], 1);
    }
}

/* Aim and position residuals wrap modulo 2^16, so crossing 65535 -> 0 is a
 * small number on the wire, and a steadily moving player costs no position
 * bits at all. */
static void test_body_wrap_and_dead_reckoning(void **state)
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
    /* count 8 | gap 0 (2 bits) op 0 (2) mask 6 | aim class 0 (2+4): 24 bits */
    assert_int_equal(body_round_trip(&base, &cur, &names, 60, 1), 3);
    size_t n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(n, 3);
    int id;
    assert_int_equal(first_entry_op(buf, n, &id), 0 /* CHANGE */);
    cur.ent[0].aim = 65534; /* -1 */
    cur.ent[0].x = 0;       /* far: 16-bit class */
    body_round_trip(&base, &cur, &names, 60, 1);

    /* Moving at 4800/16 = 300 u/s at 60 Hz for 3 ticks: 240 grid steps in x;
     * the delta carries no x at all when the player went exactly there. */
    base.ent[0] = (sim_netent){.x = 65400, .y = 100, .vx = 4800, .vy = -4800, .aim = 1, .flags = 0};
    cur = base;
    cur.tick = 103;
    cur.ent[0].x = (uint16_t)(65400 + 240); /* wraps past 65535 to 104 */
    cur.ent[0].y = 0;                       /* pred 100 - 240 < 0, residual +140 */
    cur.ent[0].flags = 1;
    n = body_round_trip(&base, &cur, &names, 60, 1);
    /* count 8 | gap(2) op(2) mask(6) | y: class 2 (2+10) | flags 8 = 38 bits */
    assert_int_equal(n, 1 + 4);

    /* Integer division truncates toward zero: vel 5 over 1 tick at 60 Hz
     * predicts no motion, -5 as well. */
    base.ent[0] = (sim_netent){.x = 500, .y = 500, .vx = 5, .vy = -5, .aim = 0, .flags = 0};
    cur = base;
    cur.tick = 101;
    cur.ent[0].aim = 1; /* something changes, x/y stay: mask has no x/y */
    n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    assert_int_equal(n, 3);
    bits_reader r;
    bits_reader_init(&r, buf, n);
    bits_read(&r, 8 + 2 + 2);
    assert_int_equal(bits_read(&r, 6), 16 /* aim only */);
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

/* v2's DISCONNECTED flag (bit 1) travels like any flags value: set and
 * cleared by a CHANGE with only the flags bit in its mask, and in an ADD. */
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
    static const uint8_t gap[4] = {0, 2, 4, 8};
    assert_int_equal(bits_read_class(&r, gap), 4);
    assert_int_equal(bits_read(&r, 2), 0);           /* CHANGE */
    assert_int_equal(bits_read(&r, 6), 0x20);        /* flags only */
    assert_int_equal(bits_read(&r, 8), SIM_FLAG_DISCONNECTED);
    /* Back again, and as an ADD in a full snapshot. */
    body_round_trip(&cur, &base, &names, 60, 1);
    body_round_trip(NULL, &cur, &names, 60, 1);
    out.tick = 12;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, n), PROTO_OK);
    assert_int_equal(out.ent[6].flags, SIM_FLAG_FIRING | SIM_FLAG_DISCONNECTED);
}

/* Decoding in place (base == out) is allowed and gives the same result. */
static void test_body_in_place(void **state)
{
    (void)state;
    static proto_snapshot base, cur, work;
    static proto_names names;
    memset(&base, 0, sizeof base);
    base.tick = 7;
    set_ent(&base, 3, 10, 20, 30, 40, 50, 0);
    cur = base;
    cur.tick = 8;
    cur.ent[3].vx = -30;
    set_ent(&cur, 4, 1, 2, 3, 4, 5, 1);
    uint8_t buf[64];
    size_t n = proto_snapshot_body_write(&base, &cur, &names, 60, buf, sizeof buf);
    work = base;
    work.tick = 8;
    assert_int_equal(proto_snapshot_body_read(&work, &work, &names, 60, buf, n), PROTO_OK);
    assert_snap_equal(&cur, &work);
}

static void test_body_rejects(void **state)
{
    (void)state;
    static proto_snapshot base, out;
    static proto_names names;
    memset(&base, 0, sizeof base);
    base.tick = 1;
    set_ent(&base, 2, 1, 1, 0, 0, 0, 0);
    bits_writer w;
    uint8_t buf[64];

    /* tick_rate 0 */
    uint8_t zero[1] = {0};
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 0, zero, 1), PROTO_ERR_VALUE);

    /* Count says 2, one entry follows: truncated. */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 2, 8);
    bits_write(&w, 1, 2); bits_write(&w, 2, 2); /* gap class 1 value 2 -> id 2 */
    bits_write(&w, 2, 2);                       /* REMOVE */
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_ERR_TRUNCATED);

    /* id 128 (gap class 3 = 128) */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 8);
    bits_write(&w, 3, 2); bits_write(&w, 128, 8);
    bits_write(&w, 2, 2);
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_ERR_VALUE);

    /* CHANGE and REMOVE of an absent entity; op 3 */
    const int ops[] = {0, 2, 3};
    for (int k = 0; k < 3; k++) {
        bits_writer_init(&w, buf, sizeof buf);
        bits_write(&w, 1, 8);
        bits_write(&w, 0, 2);            /* gap class 0: id 0, absent */
        bits_write(&w, (uint32_t)ops[k], 2);
        bits_write(&w, 0, 6);            /* empty change mask */
        out.tick = 2;
        assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                         PROTO_ERR_VALUE);
    }
    /* CHANGE/REMOVE in a full snapshot (no base) */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 8);
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
        bits_write(&w, 0, 2);
        bits_write(&w, 1, 2);
        for (int f = 0; f < 5; f++)
            bits_write(&w, 0, 16);
        bits_write(&w, 0, 8);
        bits_write(&w, lens[k], 5);
        for (uint32_t i = 0; i < lens[k]; i++)
            bits_write(&w, 'a', 8);
        out.tick = 2;
        assert_true(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)) < 0);
    }

    /* Non-printable name bytes in an ADD become '?' on the way in. */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 8);
    bits_write(&w, 0, 2);
    bits_write(&w, 1, 2);
    for (int f = 0; f < 5; f++)
        bits_write(&w, 0, 16);
    bits_write(&w, 0, 8);
    bits_write(&w, 4, 5);
    const uint8_t raw[4] = {'a', 0x00, 0x7f, 0xc3};
    for (int i = 0; i < 4; i++)
        bits_write(&w, raw[i], 8);
    memset(&names, 0, sizeof names);
    out.tick = 2;
    assert_int_equal(proto_snapshot_body_read(&base, &out, &names, 60, buf, bits_writer_bytes(&w)),
                     PROTO_OK);
    assert_string_equal(names.name[0], "a???");
}

/* Random snapshots and deltas: presence, gens, small and large changes. */
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
        int density = (int)rnd(&seed, 101);
        for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
            if ((int)rnd(&seed, 100) >= density)
                continue;
            set_ent(&base, id, (uint16_t)rnd(&seed, 65536), (uint16_t)rnd(&seed, 65536),
                    (int16_t)(rnd(&seed, 9601) - 4800), (int16_t)(rnd(&seed, 65536) - 32768),
                    (uint16_t)rnd(&seed, 65536), (uint8_t)rnd(&seed, 2));
            base.gen[id] = (uint8_t)rnd(&seed, 256);
        }
        cur = base;
        cur.tick = base.tick + 1 + rnd(&seed, 255);
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
                e->flags ^= 1;
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
    /* id 0 "ann": moving right at 120 u/s (1920/16), from x=64 y=32 */
    set_ent(base, 0, 64 * 16, 32 * 16, 1920, 0, 0x4000, 0);
    /* id 2 "bo": standing still */
    set_ent(base, 2, 300 * 16, 300 * 16, 0, 0, 0xfff0, 0);
    /* id 7 "cy": about to leave */
    set_ent(base, 7, 1000 * 16, 1000 * 16, 0, 0, 0, 0);
    strcpy(names->name[0], "ann");
    strcpy(names->name[2], "bo");
    strcpy(names->name[7], "cy");

    *cur = *base;
    cur->tick = 103;
    /* ann kept going: 3 ticks at 120 u/s = 6 units; also drifted 1/16 down */
    cur->ent[0].x = (uint16_t)(base->ent[0].x + 1920 * 3 / 60);
    cur->ent[0].y = (uint16_t)(base->ent[0].y + 1);
    /* bo turned a little (aim wraps past 65535) and fires */
    cur->ent[2].aim = 0x0010;
    cur->ent[2].flags = SIM_FLAG_FIRING;
    /* cy left, dee joined in slot 9 */
    cur->present[7] = 0;
    set_ent(cur, 9, 2000 * 16, 100 * 16, 0, -160, 0, 0);
    strcpy(names->name[9], "dee");

    proto_snapshot_header h = {.tick = 103, .baseline_tick = 100, .last_input_seq = 42};
    size_t n = proto_snapshot_header_write(&h, msg, PROTO_MAX_SNAPSHOT);
    assert_int_equal(n, PROTO_SNAPSHOT_HEADER_SIZE);
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
        0x82, 0x67, 0x00, 0x00, 0x00, 0x03, 0x2a, 0x00, 0x00, 0x00,
        0x04, 0x20, 0xa0, 0x02, 0x0e, 0x28, 0x40, 0xb2, 0x02, 0xe8,
        0x03, 0x32, 0x00, 0x00, 0x00, 0xfb, 0x07, 0x00, 0x00, 0x18,
        0x64, 0x65, 0x65,
    };
    if (len != sizeof want || memcmp(msg, want, len) != 0) {
        for (size_t i = 0; i < len; i++)
            print_message("%02x%s", msg[i], i + 1 == len ? "\n" : " ");
        fail_msg("the PROTOCOL.md example changed (%zu bytes)", len);
    }
    /* And it decodes back to cur. */
    proto_snapshot_header h;
    assert_int_equal(proto_snapshot_header_read(msg, len, &h), PROTO_OK);
    assert_int_equal(h.baseline_tick, 100);
    assert_int_equal(h.last_input_seq, 42);
    out.tick = h.tick;
    memset(&got, 0, sizeof got);
    assert_int_equal(proto_snapshot_body_read(&base, &out, &got, 60, msg + PROTO_SNAPSHOT_HEADER_SIZE,
                                              len - PROTO_SNAPSHOT_HEADER_SIZE), PROTO_OK);
    assert_snap_equal(&cur, &out);
    assert_string_equal(got.name[9], "dee");
}

static void test_misc(void **state)
{
    (void)state;
    uint8_t b = 0x82;
    assert_int_equal(proto_peek_type(&b, 0), -1);
    assert_int_equal(proto_peek_type(&b, 1), 0x82);
    const int errs[] = {PROTO_OK, PROTO_ERR_TRUNCATED, PROTO_ERR_TRAILING, PROTO_ERR_TYPE,
                        PROTO_ERR_VERSION, PROTO_ERR_VALUE, PROTO_ERR_BASELINE};
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(proto_err_str(errs[i]), proto_err_str(errs[j]));
    assert_string_equal(PROTO_SUBPROTOCOL, "tickwire.v3");
    assert_int_equal(PROTO_VERSION, 3);
    /* The limits PROTOCOL.md states. */
    assert_int_equal(PROTO_MAX_CLIENT_MSG, 64);
    assert_int_equal(PROTO_MAX_JOIN_MSG, 256);
    assert_int_equal(PROTO_MAX_TOKEN, 200);
    assert_int_equal(PROTO_RESUME_LEN, 16);
    assert_true(4 + PROTO_MAX_TOKEN + PROTO_RESUME_LEN <= PROTO_MAX_JOIN_MSG);
    assert_int_equal(SIM_FLAG_FIRING, 1);
    assert_int_equal(SIM_FLAG_DISCONNECTED, 2);
    assert_int_equal(PROTO_BASELINE_WINDOW, 32);
    assert_int_equal(PROTO_MAX_ENTITIES, 128);
    assert_int_equal(PROTO_MAX_WELCOME, 552);
    assert_int_equal(PROTO_MAX_SNAPSHOT, 4107);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_bytes_and_round_trip),
        cmocka_unit_test(test_join_rejects),
        cmocka_unit_test(test_input_bytes),
        cmocka_unit_test(test_input_round_trip_limits),
        cmocka_unit_test(test_input_rejects),
        cmocka_unit_test(test_welcome_bytes),
        cmocka_unit_test(test_welcome_round_trip_limits),
        cmocka_unit_test(test_welcome_rejects),
        cmocka_unit_test(test_snapshot_header),
        cmocka_unit_test(test_body_full_128_entities),
        cmocka_unit_test(test_body_empty),
        cmocka_unit_test(test_body_delta_unchanged_is_one_byte),
        cmocka_unit_test(test_body_delta_each_field),
        cmocka_unit_test(test_body_wrap_and_dead_reckoning),
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
