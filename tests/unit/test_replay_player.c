/* Unit tests for shared/replay_player.c, the playback behind the demo
 * page's Replays mode.
 *
 * A 5-minute round of 16 fighting players (60 Hz, hashes every 4 ticks, a
 * keyframe every 10 s: what the server records) is written with
 * replay_fmt's writer, then played tick by tick: every hash and keyframe
 * checks, the hit events add up to the final scores. Seeks forward and
 * backward to ticks on and between keyframes give the very world
 * (byte for byte) the tick-by-tick play had there, each in at most one
 * keyframe interval of steps (timed: the figure printed is the worst
 * seek). A flipped input byte shows as a divergence at the first hash
 * after it, and the playback goes on. With TW_REPLAY_FIXTURE set, the
 * committed fixture (a real server's) plays to its end record's scores.
 * TW_REPLAY_LONG_OUT=FILE writes the 5-minute file (for measuring the
 * wasm build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "replay_player.h"
#include "sim.h"

#define PLAYERS 16
#define RATE 60
#define TICKS (5 * 60 * RATE)
#define SAMPLES 12

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct round5 {
    uint8_t *buf;
    size_t len;
    uint32_t start_tick;
    uint16_t kills[PLAYERS], hits[PLAYERS];
} round5;

static const sim_map arena = {
    .width = 2048, .height = 2048, .nwalls = 3,
    .walls = {{400, 400, 700, 460}, {1200, 900, 1260, 1400}, {300, 1500, 900, 1560}},
};

/* The round: player i turns at its own rate, changes direction every
 * 0.5..1.5 s and fires most of the time (so there are kills and respawns). */
static void build_round(round5 *r)
{
    static uint8_t scratch[REPLAY_RECORD_MAX];
    replay_writer *w = calloc(1, sizeof *w);
    sim_world *world = calloc(1, sizeof *world);
    sim_tick_inputs *in = calloc(1, sizeof *in);
    static char names[SIM_MAX_PLAYERS][REPLAY_NAME_MAX + 1];
    r->buf = malloc(8 << 20);
    r->len = 0;
    assert_true(w && world && in && r->buf);
    sim_world_init(world, &arena, RATE, 77);
    world->unlag_ticks = 12;
    for (int i = 0; i < PLAYERS; i++) {
        sim_world_spawn(world, i, 1);
        snprintf(names[i], sizeof names[i], "p%d", i);
    }
    world->tick = 1000; /* a round that does not start at tick 0 */
    replay_header h = {.proto_version = 6, .tick_rate = RATE, .hash_interval = 4, .keyframe_interval = 600,
                       .seed = 77, .match_id = 3, .round = 2, .start_ms = 1700000000000, .map = arena};
#define EMIT(n)                                                                                                        \
    do {                                                                                                               \
        size_t k_ = (n);                                                                                               \
        assert_true(k_ > 0);                                                                                           \
        memcpy(r->buf + r->len, scratch, k_);                                                                          \
        r->len += k_;                                                                                                  \
    } while (0)
    EMIT(replay_write_begin(w, &h, scratch, sizeof scratch));
    EMIT(replay_write_keyframe(w, world, names, scratch, sizeof scratch));
    r->start_tick = world->tick;
    uint64_t rnd = 5;
    uint8_t buttons[PLAYERS] = {0};
    for (int t = 0; t < TICKS; t++) {
        for (int i = 0; i < PLAYERS; i++) {
            if (t % (30 + 7 * i) == 0)
                buttons[i] = (uint8_t)(sim_rand_next(&rnd) & SIM_BTN_MOVE);
            uint8_t fire = (t / 90 + i) % 4 != 0 ? SIM_BTN_FIRE : 0;
            in->count[i] = 1;
            in->in[i][0] = (sim_input){.buttons = (uint8_t)(buttons[i] | fire),
                                       .aim = (uint16_t)((t * (97 + 13 * i)) & 0xffff),
                                       .view_tick = world->tick > 6 ? world->tick - 6 : 0,
                                       .known_tick = world->tick > 8 ? world->tick - 8 : 0};
        }
        sim_world_step(world, in);
        EMIT(replay_write_tick(w, world, in, scratch, sizeof scratch));
        size_t k = replay_write_after_step(w, world, names, scratch, sizeof scratch);
        if (k)
            EMIT(k);
    }
    EMIT(replay_write_end(w, world, names, 1, scratch, sizeof scratch));
    for (int i = 0; i < PLAYERS; i++) {
        r->kills[i] = world->players[i].kills;
        r->hits[i] = world->players[i].hits;
    }
    free(in);
    free(world);
    free(w);
}

/* The parts of a world a viewer sees and a step reads. */
typedef struct view {
    uint32_t tick;
    uint8_t active[SIM_MAX_PLAYERS];
    sim_player players[SIM_MAX_PLAYERS];
} view;

static void take_view(const sim_world *w, view *v)
{
    memset(v, 0, sizeof *v);
    v->tick = w->tick;
    memcpy(v->active, w->active, sizeof v->active);
    for (int id = 0; id < SIM_MAX_PLAYERS; id++)
        if (w->active[id])
            v->players[id] = w->players[id];
}

static void assert_same_world(const sim_world *w, const view *v)
{
    view now;
    take_view(w, &now);
    assert_int_equal(now.tick, v->tick);
    assert_memory_equal(&now, v, sizeof now);
}

static round5 g_round;

static void test_plays_verifies_and_counts_hits(void **state)
{
    (void)state;
    replay_player *p = calloc(1, sizeof *p);
    assert_int_equal(replay_player_open(p, g_round.buf, g_round.len), REPLAY_OK);
    assert_int_equal(p->start_tick, g_round.start_tick);
    assert_int_equal(p->end_tick, g_round.start_tick + TICKS);
    assert_int_equal(p->end_reason, 1);
    assert_int_equal(p->nindex, TICKS / 600 + 1);
    uint32_t kills[PLAYERS] = {0}, hits[PLAYERS] = {0}, steps = 0;
    replay_event e;
    while (replay_player_step(p) == REPLAY_OK) {
        steps++;
        while (replay_player_next_event(p, &e)) {
            assert_int_equal(e.type, REPLAY_EV_HIT);
            assert_int_equal(e.tick, p->world.tick);
            assert_true(e.player < PLAYERS && e.target < PLAYERS && e.player != e.target);
            hits[e.player]++;
            kills[e.player] += e.killed;
        }
    }
    assert_int_equal(steps, TICKS);
    assert_true(p->ended);
    assert_false(p->bad);
    assert_false(p->diverged);
    assert_int_equal(p->checked, TICKS / 4 + TICKS / 600 + 0u);
    uint32_t total = 0;
    for (int i = 0; i < PLAYERS; i++) {
        assert_int_equal(kills[i], g_round.kills[i]);
        assert_int_equal(hits[i], g_round.hits[i]);
        total += kills[i];
    }
    assert_true(total > 20); /* a round with fighting in it */
    assert_int_equal(p->ev_lost, 0);
    free(p);
}

static void test_seeks_match_playing(void **state)
{
    (void)state;
    replay_player *p = calloc(1, sizeof *p);
    view *want = calloc(SAMPLES, sizeof *want);
    /* on a keyframe, just after, just before the next, the last tick */
    const uint32_t s0 = g_round.start_tick;
    const uint32_t at[SAMPLES] = {s0, s0 + 1, s0 + 599, s0 + 600, s0 + 601, s0 + 4321, s0 + 9000,
                                  s0 + 9599, s0 + 12007, s0 + 17399, s0 + 17400, s0 + TICKS};
    assert_int_equal(replay_player_open(p, g_round.buf, g_round.len), REPLAY_OK);
    for (int i = 0; i < SAMPLES; i++) {
        while (p->world.tick < at[i])
            assert_int_equal(replay_player_step(p), REPLAY_OK);
        take_view(&p->world, &want[i]);
    }
    /* backward, forward, and across the round, in a shuffled order */
    const int order[] = {11, 0, 7, 3, 9, 1, 10, 2, 6, 4, 8, 5, 5, 0, 11};
    double worst = 0;
    uint32_t worst_steps = 0;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        int i = order[k];
        uint32_t before = p->steps;
        double t0 = now_ms();
        assert_int_equal(replay_player_seek(p, at[i]), REPLAY_OK);
        double dt = now_ms() - t0;
        if (dt > worst)
            worst = dt;
        if (p->steps - before > worst_steps)
            worst_steps = p->steps - before;
        assert_true(p->steps - before <= 600);
        assert_same_world(&p->world, &want[i]);
    }
    assert_false(p->diverged);
    /* clamped outside the round */
    assert_int_equal(replay_player_seek(p, 0), REPLAY_OK);
    assert_same_world(&p->world, &want[0]);
    assert_int_equal(replay_player_seek(p, 0xffffffffu), REPLAY_OK);
    assert_same_world(&p->world, &want[SAMPLES - 1]);
    printf("replay_player: 5-minute round of %d players, %zu bytes, %u keyframes; worst seek %.2f ms (%u steps)\n",
           PLAYERS, g_round.len, p->nindex, worst, worst_steps);
    free(want);
    free(p);
}

/* One input byte flipped in the middle: the first hash after it diverges,
 * the playback goes on to the end. */
static void test_flipped_input_diverges_and_goes_on(void **state)
{
    (void)state;
    uint8_t *copy = malloc(g_round.len);
    memcpy(copy, g_round.buf, g_round.len);
    replay_player *p = calloc(1, sizeof *p);
    assert_int_equal(replay_player_open(p, copy, g_round.len), REPLAY_OK);
    while (p->world.tick < g_round.start_tick + 5000)
        assert_int_equal(replay_player_step(p), REPLAY_OK);
    /* The next input that changes its buttons (mask bit 1, one input a
     * tick here): its UP bit flipped, so the player moves otherwise. */
    size_t at = p->r.pos, flip = 0;
    uint32_t flipped_tick = p->world.tick;
    while (!flip) {
        uint8_t type = copy[at];
        size_t len = 0, q = at + 1;
        for (int shift = 0;; shift += 7) {
            len |= (size_t)(copy[q] & 0x7f) << shift;
            if (!(copy[q++] & 0x80))
                break;
        }
        if (type == REPLAY_REC_TICK) {
            flipped_tick++;
            for (size_t k = q; k < q + len && !flip;) {
                uint8_t mask = copy[k] >> 4;
                assert_int_equal(copy[k] & 15, 1);
                k++;
                if (mask & 1) {
                    flip = k;
                    break;
                }
                for (int bit = 2; bit <= 8; bit <<= 1)
                    if (mask & bit)
                        while (copy[k++] & 0x80) {
                        }
            }
        }
        at = q + len;
    }
    copy[flip] ^= SIM_BTN_UP;
    int steps = 0;
    while (replay_player_step(p) == REPLAY_OK)
        steps++;
    if (!p->diverged)
        fail_msg("no divergence (bad %d: %s)", p->bad, p->r.err);
    assert_true(p->diff.tick >= flipped_tick && p->diff.tick < flipped_tick + 4 + 1);
    /* a bad mask can make the tick record corrupt; otherwise it plays on */
    if (!p->bad) {
        assert_true(p->ended);
        assert_int_equal(p->world.tick, g_round.start_tick + TICKS);
    }
    free(p);
    free(copy);
}

static void test_fixture_plays_to_its_scores(void **state)
{
    (void)state;
    const char *path = getenv("TW_REPLAY_FIXTURE");
    if (!path)
        skip();
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    replay_player *p = calloc(1, sizeof *p);
    assert_int_equal(replay_player_open(p, buf, n), REPLAY_OK);
    uint32_t kills = 0;
    replay_event e;
    while (replay_player_step(p) == REPLAY_OK)
        while (replay_player_next_event(p, &e))
            kills += e.type == REPLAY_EV_HIT && e.killed;
    assert_true(p->ended);
    assert_false(p->diverged);
    assert_false(p->bad);
    assert_int_equal(p->world.tick, p->end_tick);
    /* the end record's scoreboard is the world's (the reader checked it too) */
    assert_true(p->r.nscores >= 4);
    uint32_t end_kills = 0;
    for (int i = 0; i < p->r.nscores; i++) {
        const replay_score *s = &p->r.scores[i];
        assert_true(p->world.active[s->id]);
        assert_int_equal(p->world.players[s->id].kills, s->kills);
        assert_int_equal(p->world.players[s->id].score, s->score);
        end_kills += s->kills;
    }
    assert_true(kills >= end_kills && end_kills > 0);
    free(p);
    free(buf);
}

static void test_bad_bytes_refused(void **state)
{
    (void)state;
    replay_player *p = calloc(1, sizeof *p);
    static const uint8_t junk[64] = "not a replay at all";
    assert_int_equal(replay_player_open(p, junk, sizeof junk), REPLAY_BAD);
    assert_true(strstr(p->r.err, "bad magic") != NULL);
    /* cut in the middle: plays up to the cut, then stops, never reads past it */
    assert_int_equal(replay_player_open(p, g_round.buf, g_round.len / 2), REPLAY_OK);
    assert_int_equal(p->end_tick, p->start_tick); /* no end record: nothing to seek to */
    while (replay_player_step(p) == REPLAY_OK) {
    }
    assert_true(p->bad);
    assert_true(p->world.tick > g_round.start_tick + 1000);
    free(p);
}

int main(void)
{
    build_round(&g_round);
    const char *out = getenv("TW_REPLAY_LONG_OUT");
    if (out) {
        FILE *f = fopen(out, "wb");
        if (f) {
            fwrite(g_round.buf, 1, g_round.len, f);
            fclose(f);
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plays_verifies_and_counts_hits),
        cmocka_unit_test(test_seeks_match_playing),
        cmocka_unit_test(test_flipped_input_diverges_and_goes_on),
        cmocka_unit_test(test_fixture_plays_to_its_scores),
        cmocka_unit_test(test_bad_bytes_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_round.buf);
    return rc;
}
