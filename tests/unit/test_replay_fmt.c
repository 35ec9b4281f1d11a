/* Unit tests for shared/replay_fmt.c, the replay file format.
 *
 * docs/REPLAY.md's worked example is built here and compared byte for byte
 * with the page's hex dump (read out of the page). A scenario of four
 * players with every kind of input (several per tick, none, views, known
 * ticks), joins, leaves, a round reset and combat toggles is written and
 * re-simulated: verify matches; seeking to every keyframe of the index and
 * playing on reaches the same final world. One flipped input byte is named
 * at the first hash after it (tick, player); every cut of the file, and a
 * wrong format or simulation version, is REPLAY_BAD, never a crash.
 * With TW_REPLAY_FIXTURE set, the committed fixture (recorded by a real
 * server) is verified too: a change that breaks determinism fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "replay_fmt.h"
#include "sim.h"

#define BUF_CAP (4 << 20)

typedef struct out {
    uint8_t *b;
    size_t n;
} out;

static uint8_t scratch[REPLAY_RECORD_MAX];

static void emit(out *o, size_t n)
{
    assert_true(n > 0);
    assert_true(o->n + n <= BUF_CAP);
    memcpy(o->b + o->n, scratch, n);
    o->n += n;
}

static sim_world *new_world(void)
{
    sim_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    return w;
}

/* ---- the worked example (docs/REPLAY.md) --------------------------------------------- */

static size_t build_example(uint8_t *buf)
{
    sim_map map = {.width = 256, .height = 256};
    sim_world *w = new_world();
    sim_world_init(w, &map, 10, 1);
    sim_world_spawn(w, 0, 1);
    static char names[SIM_MAX_PLAYERS][REPLAY_NAME_MAX + 1];
    snprintf(names[0], sizeof names[0], "ann");
    replay_writer *wr = calloc(1, sizeof *wr);
    replay_header h = {.proto_version = 5, .tick_rate = 10, .hash_interval = 2, .keyframe_interval = 100,
                       .seed = 1, .match_id = 7, .round = 1, .start_ms = 1700000000000, .map = map};
    snprintf(h.label, sizeof h.label, "demo");
    out o = {buf, 0};
    emit(&o, replay_write_begin(wr, &h, scratch, sizeof scratch));
    emit(&o, replay_write_keyframe(wr, w, names, scratch, sizeof scratch));
    sim_tick_inputs *in = calloc(1, sizeof *in);
    in->count[0] = 1;
    in->in[0][0] = (sim_input){.buttons = SIM_BTN_RIGHT | SIM_BTN_FIRE, .aim = 0x4000};
    for (int t = 0; t < 2; t++) {
        sim_world_step(w, in);
        emit(&o, replay_write_tick(wr, w, in, scratch, sizeof scratch));
        size_t k = replay_write_after_step(wr, w, names, scratch, sizeof scratch);
        if (k)
            emit(&o, k);
    }
    emit(&o, replay_write_end(wr, w, names, 1, scratch, sizeof scratch));
    free(in);
    free(wr);
    free(w);
    return o.n;
}

/* The hex of the page's ```replay-example block: pairs of hex digits, a
 * '#' starts a comment to the end of the line. */
static size_t doc_example(uint8_t *buf, size_t cap)
{
    FILE *f = fopen(TW_REPLAY_MD, "r");
    assert_non_null(f);
    char line[512];
    int in = 0;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "```", 3) == 0) {
            if (in)
                break;
            in = strncmp(line, "```replay-example", 17) == 0;
            continue;
        }
        if (!in)
            continue;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        for (char *p = strtok(line, " \t\r\n"); p; p = strtok(NULL, " \t\r\n")) {
            unsigned v;
            assert_int_equal(strlen(p), 2);
            assert_int_equal(sscanf(p, "%2x", &v), 1);
            assert_true(n < cap);
            buf[n++] = (uint8_t)v;
        }
    }
    fclose(f);
    return n;
}

static void test_worked_example(void **state)
{
    (void)state;
    static uint8_t mine[4096], doc[4096];
    size_t n = build_example(mine);
    size_t d = doc_example(doc, sizeof doc);
    if (getenv("TW_PRINT_EXAMPLE")) {
        for (size_t i = 0; i < n; i++)
            printf("%02x%s", mine[i], i % 16 == 15 ? "\n" : " ");
        printf("\n");
    }
    assert_int_equal(d, n);
    assert_memory_equal(doc, mine, n);
    /* and it replays */
    replay_reader *r = calloc(1, sizeof *r);
    sim_world *w = new_world();
    sim_tick_inputs *in = calloc(1, sizeof *in);
    assert_int_equal(replay_open(r, mine, n, w, in), REPLAY_OK);
    assert_int_equal(replay_verify(r), REPLAY_OK);
    assert_int_equal(r->ticks, 2);
    assert_int_equal(r->hashes, 1);
    assert_int_equal(r->nscores, 1);
    assert_string_equal(r->scores[0].name, "ann");
    free(in);
    free(w);
    free(r);
}

/* ---- a scenario with everything -------------------------------------------------------- */

typedef struct scenario {
    uint8_t *buf;
    size_t len;
    uint32_t start_tick;
    uint32_t flip_tick_index;  /* the tick record whose player 1 input gets a fresh buttons byte */
    sim_world *final;
} scenario;

static const sim_map arena = {
    .width = 1024, .height = 768, .nwalls = 2,
    .walls = {{300, 200, 340, 560}, {600, 100, 900, 140}},
};

/* Fighting players: every tick 0..3 inputs each, aims sweeping, views a
 * few ticks behind (lag compensation), known ticks; joins and leaves. */
static void build_scenario(scenario *sc, int hash_interval)
{
    sim_world *w = new_world();
    sim_world_init(w, &arena, 60, 42);
    w->unlag_ticks = 12;
    static char names[SIM_MAX_PLAYERS][REPLAY_NAME_MAX + 1];
    memset(names, 0, sizeof names);
    for (int id = 0; id < 4; id++) {
        sim_world_spawn(w, id, 1);
        snprintf(names[id], sizeof names[id], "p%d", id);
    }
    sim_tick_inputs *in = calloc(1, sizeof *in);
    /* 100 ticks before the round: history to rewind into */
    for (int t = 0; t < 100; t++) {
        for (int id = 0; id < 4; id++) {
            in->count[id] = 1;
            in->in[id][0] = (sim_input){.buttons = (uint8_t)(1 << (id % 4)), .aim = (uint16_t)(t * 300 * (id + 1))};
        }
        sim_world_step(w, in);
    }
    replay_writer *wr = calloc(1, sizeof *wr);
    replay_header h = {.proto_version = 5, .tick_rate = 60, .hash_interval = (uint16_t)hash_interval,
                       .keyframe_interval = 120, .seed = 42, .match_id = 3, .round = 2, .map = arena};
    sc->buf = malloc(BUF_CAP);
    out o = {sc->buf, 0};
    emit(&o, replay_write_begin(wr, &h, scratch, sizeof scratch));
    emit(&o, replay_write_keyframe(wr, w, names, scratch, sizeof scratch));
    sc->start_tick = w->tick;
    uint64_t rng = 99;
    uint16_t aim[SIM_MAX_PLAYERS] = {0};
    uint8_t btn[SIM_MAX_PLAYERS] = {0};
    sc->flip_tick_index = 0;
    for (int t = 1; t <= 500; t++) {
        if (t == 150) {
            sim_world_remove(w, 2);
            emit(&o, replay_write_remove(wr, 2, scratch, sizeof scratch));
        }
        if (t == 170) {
            sim_world_spawn(w, 2, 2);
            snprintf(names[2], sizeof names[2], "late");
            emit(&o, replay_write_spawn(wr, 2, 2, names[2], scratch, sizeof scratch));
        }
        if (t == 200) {
            sim_world_spawn(w, 5, 1);
            snprintf(names[5], sizeof names[5], "p5");
            emit(&o, replay_write_spawn(wr, 5, 1, names[5], scratch, sizeof scratch));
        }
        if (t == 300) {
            w->combat = 0;
            emit(&o, replay_write_combat(wr, 0, scratch, sizeof scratch));
        }
        if (t == 320) {
            w->combat = 1;
            emit(&o, replay_write_combat(wr, 1, scratch, sizeof scratch));
            sim_world_reset_round(w);
            emit(&o, replay_write_reset_round(wr, scratch, sizeof scratch));
        }
        for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
            in->count[id] = 0;
            if (!w->active[id])
                continue;
            uint64_t r = sim_rand_next(&rng);
            int n = id == 1 ? 1 : (int)(r % 4); /* player 1: one input every tick */
            for (int k = 0; k < n; k++) {
                if ((r >> (8 + k)) % 16 == 0)
                    btn[id] = (uint8_t)((r >> 16) & SIM_BTN_ALL);
                aim[id] = (uint16_t)(aim[id] + 200 + (r >> 24) % 3);
                uint32_t view = w->tick > 5 ? w->tick - 5 + (uint32_t)(r >> 40) % 3 : 0;
                in->in[id][k] = (sim_input){.buttons = btn[id], .aim = aim[id], .view_tick = view,
                                            .view_frac = (uint8_t)(r >> 48), .known_tick = view ? view - 1 : 0};
            }
            if (id == 1 && t == 400) {
                in->in[1][0].buttons = SIM_BTN_UP; /* a fresh buttons byte to flip */
                btn[1] = SIM_BTN_UP;
                sc->flip_tick_index = (uint32_t)t;
            }
            in->count[id] = (uint8_t)n;
        }
        sim_world_step(w, in);
        emit(&o, replay_write_tick(wr, w, in, scratch, sizeof scratch));
        size_t k = replay_write_after_step(wr, w, names, scratch, sizeof scratch);
        if (k)
            emit(&o, k);
    }
    emit(&o, replay_write_end(wr, w, names, 2, scratch, sizeof scratch));
    sc->len = o.n;
    sc->final = w;
    free(wr);
    free(in);
}

static int verify_buf(const uint8_t *buf, size_t len, replay_reader *r)
{
    static sim_world w;
    static sim_tick_inputs in;
    int rc = replay_open(r, buf, len, &w, &in);
    return rc == REPLAY_OK ? replay_verify(r) : rc;
}

static void test_scenario_verifies_and_seeks(void **state)
{
    (void)state;
    scenario sc;
    build_scenario(&sc, 4);
    replay_reader *r = calloc(1, sizeof *r);
    assert_int_equal(verify_buf(sc.buf, sc.len, r), REPLAY_OK);
    assert_int_equal(r->ticks, 500);
    assert_int_equal(r->hashes, 125);
    assert_true(r->keyframes >= 5);
    assert_int_equal(r->end_reason, 2);
    assert_int_equal(r->nscores, 5);
    uint32_t kills = 0;
    for (int i = 0; i < r->nscores; i++)
        kills += r->scores[i].hits;
    assert_true(kills > 0); /* they did fight */
    /* every keyframe of the index: seek, play to the end, same world */
    assert_true(r->nindex >= 5);
    for (uint32_t i = 0; i < r->nindex; i++) {
        replay_index_entry e;
        assert_int_equal(replay_index_get(r, i, &e), REPLAY_OK);
        assert_int_equal((e.tick - sc.start_tick) % 120, 0);
        r->load_keyframes = 1;
        assert_int_equal(replay_seek(r, e.offset), REPLAY_OK);
        assert_int_equal(r->world->tick, e.tick);
        r->load_keyframes = 0; /* and check every hash from there on */
        assert_int_equal(replay_verify(r), REPLAY_OK);
        assert_memory_equal(r->world->players, sc.final->players, sizeof sc.final->players);
        assert_memory_equal(r->world->active, sc.final->active, sizeof sc.final->active);
    }
    free(r);
    free(sc.final);
    free(sc.buf);
}

/* Offsets of the records of type `type`, in order. */
static size_t find_records(const uint8_t *b, size_t len, int type, size_t *at, size_t max)
{
    size_t p = 8 + (size_t)(b[6] | b[7] << 8), n = 0, end = len - REPLAY_FOOTER_LEN;
    while (p < end) {
        size_t start = p;
        int t = b[p++];
        uint64_t v = 0;
        for (int s = 0;; s += 7) {
            uint8_t c = b[p++];
            v |= (uint64_t)(c & 0x7f) << s;
            if (!(c & 0x80))
                break;
        }
        if (t == type && n < max)
            at[n++] = start;
        p += v;
    }
    return n;
}

static void test_flipped_input_names_tick_and_player(void **state)
{
    (void)state;
    scenario sc;
    build_scenario(&sc, 4);
    static size_t ticks[1000];
    size_t nt = find_records(sc.buf, sc.len, REPLAY_REC_TICK, ticks, 1000);
    assert_int_equal(nt, 500);
    /* tick record 400 (1-based): player 0's inputs, then player 1's head
     * byte with the buttons bit, then its buttons byte */
    size_t p = ticks[sc.flip_tick_index - 1] + 1; /* past the type */
    while (sc.buf[p++] & 0x80) { /* the length */
    }
    uint8_t head0 = sc.buf[p];
    assert_true(head0 == 0 || (head0 & 15) <= 3);
    /* skip player 0's inputs: decode them with the format's rules */
    int n0 = head0 & 15;
    p++;
    for (int k = 0; k < n0; k++) {
        uint8_t mask = k == 0 ? (uint8_t)(head0 >> 4) : sc.buf[p++];
        if (mask & 1)
            p++;
        for (int bit = 1; bit < 4; bit++)
            if (mask & (1 << bit))
                while (sc.buf[p++] & 0x80) {
                }
    }
    uint8_t head1 = sc.buf[p];
    assert_int_equal(head1 & 15, 1);
    assert_true(head1 & 0x10);
    assert_int_equal(sc.buf[p + 1], SIM_BTN_UP);
    sc.buf[p + 1] = SIM_BTN_DOWN;
    replay_reader *r = calloc(1, sizeof *r);
    assert_int_equal(verify_buf(sc.buf, sc.len, r), REPLAY_DIVERGED);
    uint32_t flip_tick = sc.start_tick + sc.flip_tick_index;         /* the world tick after that step */
    uint32_t want = sc.start_tick + (sc.flip_tick_index + 3) / 4 * 4; /* the first hash at or after it */
    assert_true(want >= flip_tick);
    assert_int_equal(r->diff.tick, want);
    assert_int_equal(r->diff.player, 1);
    assert_string_equal(r->diff.name, "p1");
    assert_non_null(r->diff.field);
    assert_int_equal(r->hashes, (sc.flip_tick_index - 1) / 4);
    free(r);
    free(sc.final);
    free(sc.buf);
}

static void test_cuts_and_versions_are_bad(void **state)
{
    (void)state;
    scenario sc;
    build_scenario(&sc, 4);
    replay_reader *r = calloc(1, sizeof *r);
    uint8_t *copy = malloc(sc.len);
    /* every cut in the first 600 bytes, then every 211th, then the last 40 */
    for (size_t cut = 0; cut < sc.len; cut += cut < 600 || cut + 40 > sc.len ? 1 : 211) {
        memcpy(copy, sc.buf, cut);
        int rc = verify_buf(copy, cut, r);
        if (rc != REPLAY_BAD)
            fail_msg("a file cut at %zu of %zu: %d", cut, sc.len, rc);
        assert_true(strlen(r->err) > 0);
    }
    memcpy(copy, sc.buf, sc.len);
    copy[4] = REPLAY_FORMAT_VERSION + 1;
    assert_int_equal(verify_buf(copy, sc.len, r), REPLAY_BAD);
    assert_non_null(strstr(r->err, "format version"));
    memcpy(copy, sc.buf, sc.len);
    copy[8] = (uint8_t)(SIM_VERSION + 1);
    assert_int_equal(verify_buf(copy, sc.len, r), REPLAY_BAD);
    assert_non_null(strstr(r->err, "simulation version"));
    memcpy(copy, sc.buf, sc.len);
    copy[0] = 'X';
    assert_int_equal(verify_buf(copy, sc.len, r), REPLAY_BAD);
    assert_non_null(strstr(r->err, "not a tickwire replay"));
    /* a record type nobody writes */
    static size_t hashes[200];
    assert_true(find_records(sc.buf, sc.len, REPLAY_REC_HASH, hashes, 200) > 10);
    memcpy(copy, sc.buf, sc.len);
    copy[hashes[10]] = 0x44;
    assert_int_equal(verify_buf(copy, sc.len, r), REPLAY_BAD);
    assert_non_null(strstr(r->err, "unknown record"));
    free(copy);
    free(r);
    free(sc.final);
    free(sc.buf);
}

/* The committed fixture, recorded by a real server (tests/fixtures/replay). */
static void test_fixture_verifies(void **state)
{
    (void)state;
    const char *path = getenv("TW_REPLAY_FIXTURE");
    if (!path)
        skip();
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(BUF_CAP);
    size_t n = fread(buf, 1, BUF_CAP, f);
    fclose(f);
    replay_reader *r = calloc(1, sizeof *r);
    int rc = verify_buf(buf, n, r);
    if (rc != REPLAY_OK)
        fail_msg("fixture %s: %s (tick %u player %d field %s)", path, r->err, r->diff.tick, r->diff.player,
                 r->diff.field ? r->diff.field : "-");
    assert_true(r->ticks >= 300);
    assert_true(r->nscores >= 4);
    free(r);
    free(buf);
}

static uint8_t *read_fixture(size_t *n)
{
    const char *path = getenv("TW_REPLAY_FIXTURE");
    if (!path)
        return NULL;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(BUF_CAP);
    *n = fread(buf, 1, BUF_CAP, f);
    fclose(f);
    return buf;
}

/* `tickwire-server replay verify FILE` on bytes: its exit status, its
 * output in out. */
static int run_verify(const char *server, const uint8_t *buf, size_t n, const char *args, char *outp, size_t cap)
{
    char path[] = "/tmp/tw-replay-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' replay %s %s 2>&1", server, args ? args : "verify", args ? "" : path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t k = fread(outp, 1, cap - 1, p);
    outp[k] = '\0';
    int st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One input byte of the fixture flipped: the reader and the command name
 * the first hash tick at or after it and the player; a cut file and bad
 * usage exit 2. */
static void test_fixture_flipped_input(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *buf = read_fixture(&n);
    if (!buf)
        skip();
    replay_reader *r = calloc(1, sizeof *r);
    assert_int_equal(verify_buf(buf, n, r), REPLAY_OK);
    uint32_t hash_every = r->h.hash_interval;
    static size_t ticks[100000], keys[1000];
    size_t nt = find_records(buf, n, REPLAY_REC_TICK, ticks, 100000);
    assert_true(find_records(buf, n, REPLAY_REC_KEYFRAME, keys, 1000) >= 1);
    uint32_t start = 0;
    for (int i = 0; i < 4; i++) /* the keyframe's tick: after its type and a 2-byte length */
        start |= (uint32_t)buf[keys[0] + 3 + (size_t)i] << (8 * i);
    assert_true(buf[keys[0] + 1] & 0x80 && !(buf[keys[0] + 2] & 0x80));
    /* the first tick record past the 100th whose first player's one input
     * carries a buttons byte */
    size_t at = 0, k;
    for (k = 100; k < nt && !at; k++) {
        size_t p = ticks[k] + 1;
        while (buf[p++] & 0x80) {
        }
        if ((buf[p] & 15) == 1 && (buf[p] & 0x10))
            at = p + 1;
    }
    assert_true(at > 0);
    uint32_t tick_index = (uint32_t)k; /* 1-based: record k - 1 */
    buf[at] ^= SIM_BTN_LEFT | SIM_BTN_RIGHT;
    assert_int_equal(verify_buf(buf, n, r), REPLAY_DIVERGED);
    uint32_t want = start + (tick_index + hash_every - 1) / hash_every * hash_every;
    assert_int_equal(r->diff.tick, want);
    int first = -1;
    for (int id = 0; id < SIM_MAX_PLAYERS && first < 0; id++)
        if (r->world->active[id])
            first = id;
    assert_int_equal(r->diff.player, first);
    const char *server = getenv("TW_SERVER");
    if (server) {
        static char text[4096];
        char want_text[64];
        snprintf(want_text, sizeof want_text, "diverged at tick %u: player %d ", want, first);
        assert_int_equal(run_verify(server, buf, n, NULL, text, sizeof text), 1);
        assert_non_null(strstr(text, want_text));
        buf[at] ^= SIM_BTN_LEFT | SIM_BTN_RIGHT;
        assert_int_equal(run_verify(server, buf, n, NULL, text, sizeof text), 0);
        assert_true(strncmp(text, "replay ok: ", 11) == 0);
        assert_non_null(strstr(text, "600 ticks"));
        assert_int_equal(run_verify(server, buf, n / 2, NULL, text, sizeof text), 2);
        assert_non_null(strstr(text, "truncated"));
        buf[4] = 99;
        assert_int_equal(run_verify(server, buf, n, NULL, text, sizeof text), 2);
        assert_non_null(strstr(text, "format version 99"));
        assert_int_equal(run_verify(server, buf, 0, "", text, sizeof text), 2);
        assert_non_null(strstr(text, "missing the command"));
        assert_non_null(strstr(text, "usage:"));
        assert_int_equal(run_verify(server, buf, 0, "verify", text, sizeof text), 2);
        assert_non_null(strstr(text, "missing the FILE"));
        assert_int_equal(run_verify(server, buf, 0, "check x", text, sizeof text), 2);
        assert_non_null(strstr(text, "unknown command"));
        assert_int_equal(run_verify(server, buf, 0, "verify /nonexistent/x.twr", text, sizeof text), 2);
        assert_non_null(strstr(text, "cannot open"));
    }
    free(r);
    free(buf);
}

/* Any single bit flipped anywhere in the fixture fails verify: a change
 * the re-simulation sees diverges (at its tick), one it cannot see (a byte
 * of state the step does not keep) fails the footer's CRC-32. Format 1
 * let 93 of 150 such flips through. 300 seeded flips. */
static void test_fixture_any_flip_fails(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *buf = read_fixture(&n);
    if (!buf)
        skip();
    replay_reader *r = calloc(1, sizeof *r);
    uint32_t seed = 12345;
    int diverged = 0, bad = 0;
    for (int i = 0; i < 300; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % n;
        uint8_t bit = (uint8_t)(1u << ((seed >> 4) & 7));
        buf[at] ^= bit;
        int rc = verify_buf(buf, n, r);
        if (rc == REPLAY_OK)
            fail_msg("bit %u of byte %zu flipped, and verify said OK", (unsigned)bit, at);
        diverged += rc == REPLAY_DIVERGED;
        bad += rc == REPLAY_BAD;
        buf[at] ^= bit;
    }
    assert_int_equal(verify_buf(buf, n, r), REPLAY_OK);
    /* both kinds of failure happen: not just the CRC catching everything */
    assert_true(diverged > 0 && bad > 0);
    free(r);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_scenario_verifies_and_seeks),
        cmocka_unit_test(test_flipped_input_names_tick_and_player),
        cmocka_unit_test(test_cuts_and_versions_are_bad),
        cmocka_unit_test(test_fixture_verifies),
        cmocka_unit_test(test_fixture_flipped_input),
        cmocka_unit_test(test_fixture_any_flip_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
