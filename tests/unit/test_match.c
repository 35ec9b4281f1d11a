/* Unit tests for server/match.c: one match, driven directly.
 *
 * Slots: people take free slots (NPCs first, at creation), a full match
 * refuses, a slot reused gets a new generation. Resume: a held player stays
 * (flagged DISCONNECTED, not advancing) until its hold runs out or it is
 * resumed by its token; NPCs are never found by a token. Inputs: seqs must
 * be contiguous, duplicates are ignored, acks of snapshots never sent are
 * refused; a player spends at most one step of banked credit per tick
 * elapsed and at most SIM_MAX_STEPS_PER_TICK per tick. Snapshots: every
 * tick_rate / snapshot_rate ticks, full without a usable ack, else a delta
 * against the ack; clients sharing a baseline share one encode.
 * Spectators: views every spec_interval ticks, the one sent spec_delay
 * ticks behind; a spectator's cursor decodes full then deltas to exactly
 * the view; events reach it once the view reaches their tick; spectators
 * with the same cursor share one encode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "match.h"

static sim_map g_map;

static int setup_map(void **state)
{
    (void)state;
    memset(&g_map, 0, sizeof g_map);
    g_map.width = 512;
    g_map.height = 384;
    g_map.nwalls = 1;
    g_map.walls[0] = (sim_wall){200, 100, 260, 300};
    return 0;
}

static match *make(int size, int npcs, int tick_rate, int snapshot_rate)
{
    match_config cfg = {.tick_rate = (uint16_t)tick_rate, .snapshot_rate = (uint16_t)snapshot_rate, .size = size, .npcs = npcs, .seed = 99};
    match *m = match_create(5, &g_map, &cfg);
    assert_non_null(m);
    return m;
}

static void resume_of(int i, uint8_t out[PROTO_RESUME_LEN])
{
    memset(out, 0, PROTO_RESUME_LEN);
    out[0] = (uint8_t)(i + 1);
    out[PROTO_RESUME_LEN - 1] = 0xee;
}

static int join(match *m, int i)
{
    uint8_t r[PROTO_RESUME_LEN];
    resume_of(i, r);
    return match_player_join(m, "pat", (uint32_t)(100 + i), r);
}

static int send_inputs(match *m, int id, uint32_t first, int count, uint32_t ack)
{
    proto_input_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.first_seq = first;
    msg.count = (uint8_t)count;
    msg.ack_tick = ack;
    for (int i = 0; i < count; i++)
        msg.in[i].buttons = SIM_BTN_RIGHT;
    const char *why = NULL;
    int r = match_player_input(m, id, &msg, &why);
    if (r)
        assert_non_null(why);
    return r;
}

static void test_create_with_npcs(void **state)
{
    (void)state;
    match *m = make(4, 2, 10, 10);
    assert_int_equal(m->id, 5);
    assert_int_equal(m->npcs, 2);
    assert_int_equal(m->humans, 0);
    assert_true(m->players[0].used && m->players[0].npc);
    assert_true(m->players[1].used && m->players[1].npc);
    assert_false(m->players[2].used);
    assert_string_equal(m->names.name[0], "npc-1");
    assert_string_equal(m->names.name[1], "npc-2");
    assert_int_equal(m->snap_interval, 1);
    assert_int_equal(match_latest_snapshot_tick(m), 0);
    match_destroy(m);
    match_destroy(NULL);
}

static void test_join_until_full(void **state)
{
    (void)state;
    match *m = make(3, 1, 10, 10);
    assert_true(match_has_room(m));
    assert_int_equal(join(m, 0), 1);
    assert_int_equal(join(m, 1), 2);
    assert_int_equal(m->humans, 2);
    assert_false(match_has_room(m));
    assert_int_equal(join(m, 2), -1);
    assert_int_equal(m->humans, 2);
    assert_int_equal(m->players[1].owner, 100);
    assert_int_equal(m->players[2].owner, 101);
    assert_string_equal(m->names.name[1], "pat");
    /* A long name is cut to PROTO_MAX_NAME. */
    match_player_leave(m, 2);
    uint8_t r[PROTO_RESUME_LEN] = {0};
    assert_int_equal(match_player_join(m, "abcdefghijklmnopqrstuvwxyz", 9, r), 2);
    assert_int_equal(strlen(m->names.name[2]), PROTO_MAX_NAME);
    match_destroy(m);
}

static void test_leave_and_reuse(void **state)
{
    (void)state;
    match *m = make(2, 0, 10, 10);
    assert_int_equal(join(m, 0), 0);
    uint8_t gen = m->players[0].gen;
    match_player_leave(m, 0);
    assert_int_equal(m->humans, 0);
    assert_false(m->players[0].used);
    assert_int_equal(m->players[0].owner, 0);
    match_player_leave(m, 0); /* twice: nothing more */
    assert_int_equal(m->humans, 0);
    uint8_t r[PROTO_RESUME_LEN];
    resume_of(0, r);
    assert_int_equal(match_player_find(m, r), -1);
    assert_int_equal(join(m, 1), 0);
    assert_int_not_equal(m->players[0].gen, gen); /* a delta re-adds, never morphs */
    assert_int_equal(m->players[0].last_applied, 0);
    match_destroy(m);
}

static void test_find_by_resume(void **state)
{
    (void)state;
    match *m = make(4, 1, 10, 10);
    assert_int_equal(join(m, 0), 1);
    assert_int_equal(join(m, 1), 2);
    uint8_t r[PROTO_RESUME_LEN];
    resume_of(1, r);
    assert_int_equal(match_player_find(m, r), 2);
    resume_of(0, r);
    assert_int_equal(match_player_find(m, r), 1);
    r[7] ^= 1; /* one bit off */
    assert_int_equal(match_player_find(m, r), -1);
    resume_of(9, r);
    assert_int_equal(match_player_find(m, r), -1);
    /* The NPC's slot has an all-zero resume token: never found by it. */
    uint8_t zero[PROTO_RESUME_LEN] = {0};
    assert_int_equal(match_player_find(m, zero), -1);
    match_destroy(m);
}

/* A held player stays, flagged DISCONNECTED and not moving, and is freed
 * when its hold runs out. */
static void test_hold_expires(void **state)
{
    (void)state;
    match *m = make(2, 0, 10, 10);
    int id = join(m, 0);
    assert_int_equal(send_inputs(m, id, 1, 8, 0), 0);
    match_tick(m);
    match_player_hold(m, id, 5);
    assert_int_equal(m->players[id].owner, 0);
    assert_int_equal(m->players[id].held_until, m->world.tick + 5);
    float x = m->world.players[id].pos[0];
    for (int t = 0; t < 3; t++) {
        assert_int_equal(match_tick(m), 1);
        assert_true(m->ring[m->ring_head].present[id]);
        assert_true(m->ring[m->ring_head].ent[id].flags & SIM_FLAG_DISCONNECTED);
        assert_true(m->world.players[id].pos[0] == x); /* buffered inputs wait */
    }
    assert_int_equal(m->humans, 1);
    assert_int_equal(m->expired_holds, 0);
    match_tick(m);
    match_tick(m);
    assert_int_equal(m->humans, 0);
    assert_int_equal(m->expired_holds, 1);
    assert_false(m->players[id].used);
    assert_false(m->ring[m->ring_head].present[id]);
    match_destroy(m);
}

static void test_hold_then_resume(void **state)
{
    (void)state;
    match *m = make(2, 0, 10, 10);
    int id = join(m, 0);
    for (int t = 0; t < 4; t++)
        match_tick(m);
    assert_int_equal(send_inputs(m, id, 1, 1, 4), 0);
    assert_int_equal(m->players[id].acked_tick, 4);
    match_player_hold(m, id, 50);
    match_tick(m);
    uint8_t r[PROTO_RESUME_LEN];
    resume_of(0, r);
    assert_int_equal(match_player_find(m, r), id); /* held players are found */
    match_player_resume(m, id, 777);
    assert_int_equal(m->players[id].owner, 777);
    assert_int_equal(m->players[id].held_until, 0);
    assert_int_equal(m->players[id].acked_tick, 0); /* next snapshot full */
    match_tick(m);
    assert_false(m->ring[m->ring_head].ent[id].flags & SIM_FLAG_DISCONNECTED);
    for (int t = 0; t < 60; t++)
        match_tick(m);
    assert_true(m->players[id].used); /* the old hold no longer applies */
    assert_int_equal(m->expired_holds, 0);
    match_destroy(m);
}

static void test_input_rules(void **state)
{
    (void)state;
    match *m = make(2, 0, 10, 10);
    int id = join(m, 0);
    /* Seqs start at 1; a gap is a violation. */
    assert_int_equal(send_inputs(m, id, 2, 1, 0), -1);
    assert_int_equal(send_inputs(m, id, 1, 3, 0), 0);
    assert_int_equal(m->players[id].last_received, 3);
    /* Overlap: seqs 2, 3 are duplicates and ignored; 4, 5 are new. */
    assert_int_equal(send_inputs(m, id, 2, 4, 0), 0);
    assert_int_equal(m->players[id].last_received, 5);
    assert_int_equal(m->stats.inputs_ignored, 2);
    assert_int_equal(send_inputs(m, id, 7, 1, 0), -1);
    /* Ack of a snapshot that was never sent. */
    assert_int_equal(send_inputs(m, id, 6, 1, 1), -1);
    match_tick(m);
    assert_int_equal(send_inputs(m, id, 6, 1, 1), 0);
    assert_int_equal(m->players[id].acked_tick, 1);
    /* An older ack does not move it back. */
    assert_int_equal(send_inputs(m, id, 7, 1, 0), 0);
    assert_int_equal(m->players[id].acked_tick, 1);
    match_destroy(m);
}

/* Credit: one step per tick elapsed (banked up to MATCH_MAX_CREDIT), at
 * most SIM_MAX_STEPS_PER_TICK spent per tick. */
static void test_input_credit(void **state)
{
    (void)state;
    match *m = make(2, 0, 10, 10);
    int id = join(m, 0);
    /* Running ahead: 8 inputs at once are spent one per tick. */
    assert_int_equal(send_inputs(m, id, 1, 8, 0), 0);
    for (int t = 1; t <= 8; t++) {
        match_tick(m);
        assert_int_equal(m->players[id].last_applied, (uint32_t)t);
    }
    match_tick(m);
    assert_int_equal(m->players[id].last_applied, 8); /* no input: waits, invents none */
    /* Late: after 20 idle ticks a burst of 16 is caught up 8 per tick. */
    for (int t = 0; t < 20; t++)
        match_tick(m);
    assert_int_equal(send_inputs(m, id, 9, 8, 0), 0);
    assert_int_equal(send_inputs(m, id, 17, 8, 0), 0);
    match_tick(m);
    assert_int_equal(m->players[id].last_applied, 8 + SIM_MAX_STEPS_PER_TICK);
    match_tick(m);
    assert_int_equal(m->players[id].last_applied, 24);
    assert_int_equal(m->stats.inputs_applied, 24);
    match_destroy(m);
}

/* More than MATCH_INPUT_BUF unapplied inputs: the oldest are dropped. */
static void test_input_overflow(void **state)
{
    (void)state;
    match *m = make(2, 0, 10, 10);
    int id = join(m, 0);
    uint32_t seq = 1;
    for (int k = 0; k < 10; k++, seq += 8)
        assert_int_equal(send_inputs(m, id, seq, 8, 0), 0);
    assert_int_equal(m->players[id].last_received, 80);
    assert_int_equal(m->players[id].inputs_dropped, 80 - MATCH_INPUT_BUF);
    assert_int_equal(m->players[id].last_applied, 80 - MATCH_INPUT_BUF);
    match_tick(m);
    assert_int_equal(m->players[id].last_applied, 80 - MATCH_INPUT_BUF + 1);
    match_destroy(m);
}

static void test_snapshot_interval(void **state)
{
    (void)state;
    match *m = make(2, 1, 20, 5);
    assert_int_equal(m->snap_interval, 4);
    int snaps = 0;
    for (int t = 1; t <= 40; t++) {
        int s = match_tick(m);
        assert_int_equal(s, t % 4 == 0);
        snaps += s;
        if (s)
            assert_int_equal(match_latest_snapshot_tick(m), (uint32_t)t);
    }
    assert_int_equal(snaps, 10);
    match_destroy(m);
}

static void test_welcome(void **state)
{
    (void)state;
    match *m = make(8, 1, 20, 10);
    int id = join(m, 3);
    match_tick(m);
    uint8_t buf[PROTO_MAX_WELCOME];
    for (int resumed = 0; resumed < 2; resumed++) {
        size_t n = match_welcome(m, id, resumed, buf, sizeof buf);
        assert_true(n > 0);
        proto_welcome w;
        assert_int_equal(proto_welcome_read(buf, n, &w), PROTO_OK);
        assert_int_equal(w.player_id, id);
        assert_int_equal(w.match_id, 5);
        assert_int_equal(w.tick_rate, 20);
        assert_int_equal(w.snapshot_rate, 10);
        assert_int_equal(w.max_players, 8);
        assert_int_equal(w.server_tick, 1);
        assert_int_equal(w.resumed, resumed);
        assert_memory_equal(w.resume, m->players[id].resume, PROTO_RESUME_LEN);
        assert_int_equal(w.map.nwalls, 1);
    }
    assert_int_equal(match_welcome(m, id, 0, buf, 10), 0); /* too small */
    match_destroy(m);
}

/* Size of the events section at buf (checked). */
static size_t events_len(const uint8_t *buf, size_t len)
{
    assert_true(len >= 1);
    if (buf[0] == 0)
        return 1;
    size_t off = 5;
    for (int i = 0; i < buf[0]; i++) {
        proto_event ev;
        size_t used;
        assert_int_equal(proto_event_read(buf + off, len - off, &ev, &used), PROTO_OK);
        off += used;
    }
    return off;
}

/* Decodes a snapshot message; returns its header. */
static proto_snapshot_header decode(const match *m, const uint8_t *buf, size_t n, const proto_snapshot *base,
                                    proto_snapshot *out)
{
    proto_snapshot_header h;
    assert_int_equal(proto_snapshot_header_read(buf, n, &h), PROTO_OK);
    proto_names names;
    memset(&names, 0, sizeof names);
    out->tick = h.tick; /* dead reckoning from the baseline needs it */
    size_t body = PROTO_SNAPSHOT_HEADER_SIZE + events_len(buf + PROTO_SNAPSHOT_HEADER_SIZE, n - PROTO_SNAPSHOT_HEADER_SIZE);
    assert_int_equal(proto_snapshot_body_read(base, out, &names, m->cfg.tick_rate, buf + body, n - body), PROTO_OK);
    return h;
}

/* Baselines over a reliable stream: the first snapshot on a connection is
 * full; then each is a delta against the last one written on that
 * connection, acknowledged or not (clients with the same one share an
 * encode); a new connection (a resume) starts from the acknowledged one;
 * a baseline that left the ring means a full snapshot. */
static void test_snapshots_full_delta_cache(void **state)
{
    (void)state;
    match *m = make(4, 1, 10, 10);
    int a = join(m, 0), b = join(m, 1);
    match_cursor ca = {0, 0}, cb = {0, 0};
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    int full = -1;
    assert_int_equal(match_snapshot(m, a, &ca, buf, sizeof buf, &full), 0); /* none yet */
    match_tick(m);
    size_t n = match_snapshot(m, a, &ca, buf, sizeof buf, &full);
    assert_true(n > 0);
    assert_int_equal(full, 1);
    assert_int_equal(ca.snap_tick, 1);
    proto_snapshot s1;
    proto_snapshot_header h = decode(m, buf, n, NULL, &s1);
    assert_int_equal(h.tick, 1);
    assert_int_equal(h.baseline_tick, 0);
    assert_true(s1.present[0] && s1.present[a] && s1.present[b] && !s1.present[3]);
    assert_memory_equal(&s1.ent[a], &m->ring[m->ring_head].ent[a], sizeof s1.ent[a]);
    /* b has the same (no) baseline: served from the cache. */
    uint64_t enc = m->stats.encodes;
    assert_true(match_snapshot(m, b, &cb, buf, sizeof buf, &full) > 0);
    assert_int_equal(m->stats.encodes, enc);
    assert_int_equal(m->stats.encode_hits, 1);

    /* a acks tick 1, b acks nothing: both get a delta on tick 1, the
     * last written to them, from one encode; it decodes to the world. */
    assert_int_equal(send_inputs(m, a, 1, 1, 1), 0);
    match_tick(m);
    match_tick(m);
    n = match_snapshot(m, a, &ca, buf, sizeof buf, &full);
    assert_int_equal(full, 0);
    proto_snapshot s3;
    h = decode(m, buf, n, &s1, &s3);
    assert_int_equal(h.tick, 3);
    assert_int_equal(h.baseline_tick, 1);
    assert_int_equal(h.last_input_seq, 1);
    for (int id = 0; id < 3; id++)
        assert_memory_equal(&s3.ent[id], &m->ring[m->ring_head].ent[id], sizeof s3.ent[id]);
    enc = m->stats.encodes;
    assert_true(match_snapshot(m, b, &cb, buf, sizeof buf, &full) > 0);
    assert_int_equal(full, 0);
    assert_int_equal(m->stats.encodes, enc);
    assert_int_equal(m->stats.full_snapshots, 2);

    /* Not acknowledged yet, tick 3 is still a's newest: the next delta is
     * against it, not against the acknowledged tick 1. */
    match_tick(m);
    n = match_snapshot(m, a, &ca, buf, sizeof buf, &full);
    proto_snapshot s4;
    h = decode(m, buf, n, &s3, &s4);
    assert_int_equal(h.baseline_tick, 3);
    assert_int_equal(full, 0);

    /* A new connection for a (a resume) has been written nothing: a delta
     * against what a acknowledged; for b, which acknowledged nothing, full. */
    match_cursor ra = {0, 0}, rb = {0, 0};
    match_tick(m);
    n = match_snapshot(m, a, &ra, buf, sizeof buf, &full);
    assert_int_equal(full, 0);
    proto_snapshot s5;
    h = decode(m, buf, n, &s1, &s5);
    assert_int_equal(h.baseline_tick, 1);
    assert_true(match_snapshot(m, b, &rb, buf, sizeof buf, &full) > 0);
    assert_int_equal(full, 1);

    /* Baselines that left the ring (older than PROTO_BASELINE_WINDOW snapshots): full. */
    for (int t = 0; t < PROTO_BASELINE_WINDOW + 2; t++)
        match_tick(m);
    assert_true(match_snapshot(m, a, &ra, buf, sizeof buf, &full) > 0);
    assert_int_equal(full, 1);
    match_destroy(m);
}


/* PROTOCOL.md section 7: a baseline may be any of the PROTO_BASELINE_WINDOW
 * (32) snapshots before the one being sent: 32 back is a delta (which
 * decodes), 33 back is full. Each snapshot goes to a new connection (a
 * fresh cursor), so the baseline is the acknowledged tick 1. */
static void test_baseline_window(void **state)
{
    (void)state;
    match *m = make(4, 0, 10, 10); /* a snapshot every tick */
    int a = join(m, 0);
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    int full = -1;
    match_tick(m);
    static proto_snapshot base, out;
    base = m->ring[m->ring_head];
    assert_int_equal(base.tick, 1);
    assert_int_equal(send_inputs(m, a, 1, 1, 1), 0); /* acks tick 1 */
    for (int back = 1; back <= PROTO_BASELINE_WINDOW + 2; back++) {
        match_tick(m);
        match_cursor fresh = {0, 0};
        size_t n = match_snapshot(m, a, &fresh, buf, sizeof buf, &full);
        assert_true(n > 0);
        assert_int_equal(m->ring[m->ring_head].tick, 1 + (uint32_t)back);
        assert_int_equal(full, back > PROTO_BASELINE_WINDOW);
        if (!full) {
            proto_snapshot_header h = decode(m, buf, n, &base, &out);
            assert_int_equal(h.baseline_tick, 1);
            assert_memory_equal(&out.ent[a], &m->ring[m->ring_head].ent[a], sizeof out.ent[a]);
        }
    }
    match_destroy(m);
}

/* ---- rounds, events, chat ---------------------------------------------------- */

static int g_round_ends, g_round_reason;
static void on_round_end(void *user, const match *m, int reason)
{
    (void)user;
    (void)m;
    g_round_ends++;
    g_round_reason = reason;
}

static match *make_rounds(int min_players, uint32_t match_ticks, int score_limit)
{
    match_config cfg = {.tick_rate = 10, .snapshot_rate = 10, .size = 8, .seed = 3, .min_players = min_players,
                        .match_ticks = match_ticks, .score_limit = score_limit, .intermission_ticks = 20,
                        .on_round_end = on_round_end};
    g_round_ends = g_round_reason = 0;
    match *m = match_create(6, &g_map, &cfg);
    assert_non_null(m);
    return m;
}

/* WARMUP until enough players, LIVE until the time is up, ENDED for the
 * intermission (no damage), then the next round; too few players: WARMUP. */
static void test_round_lifecycle(void **state)
{
    (void)state;
    match *m = make_rounds(2, 50, -1);
    int a = join(m, 0);
    for (int t = 0; t < 30; t++)
        match_tick(m);
    assert_int_equal(m->state.phase, PROTO_PHASE_WARMUP);
    assert_int_equal(m->state.end_tick, 0);
    int b = join(m, 1);
    match_tick(m);
    assert_int_equal(m->state.phase, PROTO_PHASE_LIVE);
    assert_int_equal(m->state.round, 1);
    assert_int_equal(m->state.end_tick, m->world.tick + 50);
    assert_int_equal(m->ring[m->ring_head].ms.phase, PROTO_PHASE_LIVE); /* travels in snapshots */
    while (m->state.phase == PROTO_PHASE_LIVE)
        match_tick(m);
    assert_int_equal(g_round_ends, 1);
    assert_int_equal(g_round_reason, PROTO_END_TIME);
    assert_int_equal(m->state.phase, PROTO_PHASE_ENDED);
    assert_int_equal(m->world.combat, 0);
    for (int t = 0; t < 20; t++)
        match_tick(m);
    assert_int_equal(m->state.phase, PROTO_PHASE_LIVE);
    assert_int_equal(m->state.round, 2);
    /* One leaves: the round plays out, then back to warmup. */
    match_player_leave(m, b);
    while (m->state.phase != PROTO_PHASE_WARMUP)
        match_tick(m);
    assert_int_equal(g_round_ends, 2);
    assert_int_equal(m->state.round, 2);
    (void)a;
    /* Interrupted: only a LIVE round is reported. */
    match_end_round(m, PROTO_END_INTERRUPTED);
    assert_int_equal(g_round_ends, 2);
    match_destroy(m);
}

static void test_round_score_limit(void **state)
{
    (void)state;
    match *m = make_rounds(1, 100000, 1);
    int a = join(m, 0), b = join(m, 1);
    match_tick(m);
    assert_int_equal(m->state.phase, PROTO_PHASE_LIVE);
    m->world.players[a].pos[0] = 300, m->world.players[a].pos[1] = 340;
    m->world.players[b].pos[0] = 450, m->world.players[b].pos[1] = 340;
    m->world.players[b].health = SIM_WEAPON_DAMAGE; /* one hit kills */
    proto_input_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.first_seq = 1;
    msg.count = 1;
    msg.in[0] = (sim_input){.buttons = SIM_BTN_FIRE, .aim = 0};
    const char *why;
    assert_int_equal(match_player_input(m, a, &msg, &why), 0);
    uint32_t events_before = m->ev_next;
    match_tick(m);
    assert_int_equal(g_round_ends, 1);
    assert_int_equal(g_round_reason, PROTO_END_SCORE);
    /* kill, then round end, in the log in that order */
    assert_int_equal(m->ev_next, events_before + 2);
    uint8_t first = m->ev_pool[m->ev[events_before % MATCH_EVENTS].off];
    uint8_t second = m->ev_pool[m->ev[(events_before + 1) % MATCH_EVENTS].off];
    assert_int_equal(first, PROTO_EV_KILL);
    assert_int_equal(second, PROTO_EV_ROUND_END);
    match_destroy(m);
}

/* Events are resent until acknowledged; an ack past the newest is a
 * protocol violation; a player whose next event fell out of the log is
 * behind. */
static void test_events_ack_and_behind(void **state)
{
    (void)state;
    match *m = make_rounds(2, 1000, -1);
    int a = join(m, 0);
    uint32_t newest = m->ev_next - 1;
    assert_int_equal(m->players[a].events_acked, newest - 1); /* it sees its own join */
    proto_input_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.first_seq = 1;
    msg.count = 1;
    msg.event_ack = newest + 1;
    const char *why;
    assert_int_equal(match_player_input(m, a, &msg, &why), -1);
    msg.event_ack = newest;
    assert_int_equal(match_player_input(m, a, &msg, &why), 0);
    assert_int_equal(m->players[a].events_acked, newest);
    /* Fill the log past its size with chat from another player. */
    int b = join(m, 1);
    assert_false(match_player_events_behind(m, a));
    for (int i = 0; i < MATCH_EVENTS + 5; i++)
        match_event_push(m, &(proto_event){.type = PROTO_EV_LEAVE, .player = (uint8_t)b});
    assert_true(match_player_events_behind(m, a));
    assert_true(m->ev_next - m->ev_first <= MATCH_EVENTS);
    match_destroy(m);
}

/* The seqs of the events a snapshot message carries (first, count). */
static void events_of(const uint8_t *buf, size_t n, uint32_t *first, int *count)
{
    const uint8_t *ev = buf + PROTO_SNAPSHOT_HEADER_SIZE;
    assert_true(n > PROTO_SNAPSHOT_HEADER_SIZE);
    *count = ev[0];
    *first = *count ? (uint32_t)ev[1] | (uint32_t)ev[2] << 8 | (uint32_t)ev[3] << 16 | (uint32_t)ev[4] << 24 : 0;
}

/* An event is written once per connection, acknowledged or not; a new
 * connection gets again every event after the acknowledged one. */
static void test_events_written_once(void **state)
{
    (void)state;
    match *m = make_rounds(2, 1000, -1);
    int a = join(m, 0);
    match_cursor ca = {0, 0};
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    int full, count;
    uint32_t first, acked = m->players[a].events_acked;
    while (!match_tick(m))
        ;
    size_t n = match_snapshot(m, a, &ca, buf, sizeof buf, &full);
    events_of(buf, n, &first, &count);
    assert_int_equal(first, acked + 1);
    assert_true(count >= 1);
    uint32_t last = first + (uint32_t)count - 1;
    assert_int_equal(ca.event_seq, last);
    /* Nothing new, nothing acknowledged: the next snapshot carries none. */
    while (!match_tick(m))
        ;
    n = match_snapshot(m, a, &ca, buf, sizeof buf, &full);
    events_of(buf, n, &first, &count);
    assert_int_equal(count, 0);
    /* A new event: only it. */
    match_event_push(m, &(proto_event){.type = PROTO_EV_LEAVE, .player = 7});
    while (!match_tick(m))
        ;
    n = match_snapshot(m, a, &ca, buf, sizeof buf, &full);
    events_of(buf, n, &first, &count);
    assert_int_equal(first, last + 1);
    assert_int_equal(count, 1);
    /* A resumed connection: everything after the acknowledged one again. */
    match_cursor ra = {0, 0};
    while (!match_tick(m))
        ;
    n = match_snapshot(m, a, &ra, buf, sizeof buf, &full);
    events_of(buf, n, &first, &count);
    assert_int_equal(first, acked + 1);
    assert_int_equal(first + (uint32_t)count - 1, last + 1);
    match_destroy(m);
}

/* Chat: a burst of MATCH_CHAT_BURST, then one per second; excess dropped;
 * MATCH_CHAT_FLOOD drops in a row close; control characters stripped. */
static void test_chat_rate_and_clean(void **state)
{
    (void)state;
    match *m = make_rounds(2, 1000, -1);
    int a = join(m, 0);
    char text[64];
    for (int i = 0; i < MATCH_CHAT_BURST; i++) {
        snprintf(text, sizeof text, "hi\x01%d\x7f", i);
        assert_int_equal(match_player_chat(m, a, text, strlen(text)), MATCH_CHAT_SENT);
    }
    const match_event_ref *r = &m->ev[(m->ev_next - 1) % MATCH_EVENTS];
    proto_event ev;
    size_t used;
    assert_int_equal(proto_event_read(m->ev_pool + r->off, r->len, &ev, &used), PROTO_OK);
    assert_string_equal(ev.text, "hi4");
    snprintf(text, sizeof text, "more");
    assert_int_equal(match_player_chat(m, a, text, 4), MATCH_CHAT_DROPPED);
    for (int t = 0; t < 10; t++) /* one second at 10 Hz: one more */
        match_tick(m);
    assert_int_equal(match_player_chat(m, a, text, 4), MATCH_CHAT_SENT);
    snprintf(text, sizeof text, "\x01\x02");
    int r2 = MATCH_CHAT_SENT;
    for (int i = 0; i < MATCH_CHAT_FLOOD && r2 != MATCH_CHAT_FLOOD_CLOSE; i++)
        r2 = match_player_chat(m, a, text, 2);
    assert_int_equal(r2, MATCH_CHAT_FLOOD_CLOSE);
    assert_int_equal(m->stats.chat_in, MATCH_CHAT_BURST + 1);
    match_destroy(m);
}

#include "client.h"

/* Spectators 2 s behind at 10 Hz (60 Hz ticks): views lag by 120 ticks,
 * a kill-free JOIN event arrives with the view of its tick, two
 * spectators with the same cursor cost one encode, and each message
 * decodes (full, then deltas) to exactly the view's entities. */
static void test_spectators_delay_and_sharing(void **state)
{
    (void)state;
    match_config cfg = {.tick_rate = 60, .snapshot_rate = 60, .size = 4, .npcs = 1, .seed = 7,
                        .spec_interval = 6, .spec_delay_ticks = 120};
    match *m = match_create(9, &g_map, &cfg);
    assert_non_null(m);
    assert_non_null(m->spec_views); /* a delay: views from the start */
    assert_int_equal(m->spec_cap, 120 / 6 + MATCH_SPEC_WINDOW + 1);
    match_cursor a = match_spectator_cursor(m), b = a;
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    int full, shared;
    for (int t = 0; t < 119; t++)
        match_tick(m);
    /* younger than the delay: nothing to show */
    assert_int_equal(match_spectator_view_tick(m), 0);
    assert_int_equal(match_spectator_snapshot(m, &a, buf, sizeof buf, &full, &shared), 0);
    assert_int_equal(join(m, 0), 1);
    uint32_t join_tick = m->world.tick;
    static cl_client c;
    cl_init(&c);
    cl_set_spectate(&c, 9);
    size_t n = match_spectator_welcome(m, buf, sizeof buf);
    assert_int_equal(cl_receive(&c, buf, n, 0), PROTO_WELCOME);
    assert_true(cl_is_spectator(&c) && c.welcome.snapshot_rate == 10 && c.welcome.server_tick == 0);
    uint32_t joined_seen = 0, msgs = 0;
    for (int t = 0; t < 240; t++) {
        match_tick(m);
        uint32_t view = match_spectator_view_tick(m);
        if (!m->spec_new_view)
            continue;
        assert_int_equal(view, m->world.tick - 120);
        uint64_t enc = m->stats.spec_encodes;
        n = match_spectator_snapshot(m, &a, buf, sizeof buf, &full, &shared);
        assert_true(n > 0 && !shared);
        assert_int_equal(full, msgs == 0);
        size_t n2 = match_spectator_snapshot(m, &b, buf + 0, sizeof buf, &full, &shared);
        assert_true(n2 == n && shared && m->stats.spec_encodes == enc + 1);
        assert_int_equal(cl_receive(&c, buf, n, t * 1000.0 / 60), PROTO_SNAPSHOT);
        msgs++;
        const proto_snapshot *got = cl_latest(&c), *want = &m->spec_views[m->spec_view].snap;
        assert_int_equal(got->tick, view);
        for (int id = 0; id < 4; id++) {
            assert_int_equal(got->present[id], want->present[id]);
            if (want->present[id])
                assert_memory_equal(&got->ent[id], &want->ent[id], sizeof got->ent[id]);
        }
        /* the player shows up, and its JOIN event arrives, only once the
         * view reaches the tick it joined at */
        assert_int_equal(got->present[1], view >= join_tick);
        proto_event ev;
        while (cl_next_event(&c, &ev)) {
            /* the join, then the round it starts (npc + player = 2) */
            assert_true((ev.type == PROTO_EV_JOIN && ev.player == 1) || ev.type == PROTO_EV_ROUND_START);
            assert_true(view >= join_tick);
            joined_seen += ev.type == PROTO_EV_JOIN;
        }
        /* nothing new until the next view */
        assert_int_equal(match_spectator_snapshot(m, &a, buf, sizeof buf, &full, &shared), 0);
    }
    assert_int_equal(msgs, 39); /* views of ticks 6..234, at ticks 126..354 */
    assert_int_equal(joined_seen, 1);
    assert_int_equal(c.stats.full_snapshots, 1);
    assert_int_equal(m->stats.spec_shared, 39);
    /* More events than the log keeps before the delayed view gets to
     * them: a spectator that still needs the first is behind (the core
     * closes it 4009); one that joins now is not. */
    assert_false(match_spectator_events_behind(m, &a));
    for (int i = 0; i < MATCH_EVENTS + 8; i++)
        match_event_push(m, &(proto_event){.type = PROTO_EV_LEAVE, .player = 1});
    assert_true(match_spectator_events_behind(m, &a));
    for (int t = 0; t < 130; t++)
        match_tick(m);
    assert_true(m->spec_ev_end >= m->ev_first);
    match_cursor fresh = match_spectator_cursor(m);
    assert_false(match_spectator_events_behind(m, &fresh));
    match_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_with_npcs),
        cmocka_unit_test(test_join_until_full),
        cmocka_unit_test(test_leave_and_reuse),
        cmocka_unit_test(test_find_by_resume),
        cmocka_unit_test(test_hold_expires),
        cmocka_unit_test(test_hold_then_resume),
        cmocka_unit_test(test_input_rules),
        cmocka_unit_test(test_input_credit),
        cmocka_unit_test(test_input_overflow),
        cmocka_unit_test(test_snapshot_interval),
        cmocka_unit_test(test_welcome),
        cmocka_unit_test(test_snapshots_full_delta_cache),
        cmocka_unit_test(test_baseline_window),
        cmocka_unit_test(test_round_lifecycle),
        cmocka_unit_test(test_round_score_limit),
        cmocka_unit_test(test_events_ack_and_behind),
        cmocka_unit_test(test_events_written_once),
        cmocka_unit_test(test_chat_rate_and_clean),
        cmocka_unit_test(test_spectators_delay_and_sharing),
    };
    return cmocka_run_group_tests(tests, setup_map, NULL);
}
