/* Unit tests for shared/client.c, the client half of the netcode.
 *
 * A small in-test server speaks the real wire format: it reads INPUT
 * messages with proto_input_read, applies each input once in seq order with
 * sim_player_step, snaps its players into a proto_snapshot every tick and
 * writes header + body with the proto writers, delta against the newest
 * snapshot the client acknowledged (full when none is usable). Messages
 * travel through a fixed-latency pipe in both directions. The tests then
 * check what the client promises: no corrections when the server applies
 * exactly its inputs, one correction of the right size when the server
 * moves the player itself, the predicted state is always the server's state
 * for the last applied input plus a replay of the unacknowledged ones,
 * inputs go out once each in seq order, and a bad snapshot leaves the
 * client untouched. Version 2: the JOIN carries the join token and, after a
 * WELCOME, the resume token; a dropped connection (cl_disconnected) keeps
 * the player's inputs, a resumed WELCOME sends the unacked and offline ones
 * again, a new-player WELCOME starts over at seq 1, and the server's
 * DISCONNECTED flag on the client's own entity is not a misprediction.
 * Version 3: every close code maps to one action (cl_close_action) and the
 * reconnect backoff is full jitter within min(cap, base * 2^attempt).
 * Version 4: a remote player is drawn, and a predicted shot judged, the
 * way the server rewinds it: no blend across a death or a respawn, nobody
 * drawn before the tick it joined, and the view an input carries is a
 * tick the client held a snapshot of.
 * Version 6: a spectator (cl_set_spectate) writes a spectate JOIN, accepts
 * only a spectator WELCOME (and a player only a player one), predicts and
 * sends nothing, and draws every entity interpolated.
 * Input timing: inputs sent when cl_plan_send says reach the server just
 * before their tick, and a slower uplink moves the lead up (no wire
 * change). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "proto.h"
#include "sim.h"

#define ME 5          /* the client's player id */
#define NPC 2         /* a server-driven player the client only watches */
#define TICK_RATE 60
#define MAX_SEQ 4096  /* inputs a test may push */
#define PIPE 64       /* messages in flight per direction */

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    return (uint32_t)((sim_rand_next(s) >> 32) % n);
}

static sim_map arena_map(void)
{
    static const sim_wall walls[] = {
        {960, 704, 1088, 1344}, {704, 960, 1344, 1088}, {320, 320, 576, 448}, {1472, 320, 1728, 448},
        {320, 1600, 576, 1728}, {1472, 1600, 1728, 1728}, {160, 992, 288, 1056}, {1760, 992, 1888, 1056},
        {992, 160, 1056, 288}, {992, 1760, 1056, 1888},
    };
    sim_map m;
    memset(&m, 0, sizeof m);
    m.width = m.height = SIM_ARENA_SIZE;
    m.nwalls = (uint8_t)(sizeof walls / sizeof walls[0]);
    memcpy(m.walls, walls, sizeof walls);
    return m;
}

/* ---- a fixed-latency message pipe ---------------------------------------- */

typedef struct msg {
    uint32_t due;
    size_t len;
    uint8_t bytes[PROTO_MAX_SNAPSHOT];
} msg;

typedef struct pipe {
    msg q[PIPE];
    int head, count;
} pipe;

static void pipe_push(pipe *p, uint32_t due, const uint8_t *b, size_t len)
{
    assert_true(p->count < PIPE);
    msg *m = &p->q[(p->head + p->count) % PIPE];
    m->due = due;
    m->len = len;
    memcpy(m->bytes, b, len);
    p->count++;
}

static const msg *pipe_pop(pipe *p, uint32_t now)
{
    if (!p->count || p->q[p->head].due > now)
        return NULL;
    const msg *m = &p->q[p->head];
    p->head = (p->head + 1) % PIPE;
    p->count--;
    return m;
}

/* ---- the in-test server ---------------------------------------------------- */

typedef struct server {
    sim_map map;
    uint32_t tick;
    sim_player me, npc;
    uint8_t me_gen;
    proto_names names;
    proto_snapshot ring[PROTO_BASELINE_WINDOW]; /* by tick % window */
    uint32_t ring_seq[PROTO_BASELINE_WINDOW];   /* last applied seq at that tick */
    uint32_t acked_tick;
    uint32_t last_received, last_applied;
    sim_input queue[MAX_SEQ + 1];     /* by seq */
    sim_player state_after[MAX_SEQ + 1]; /* my state after each applied seq */
    uint32_t full_sent, delta_sent;
    int held;                         /* my connection dropped: not advancing, flagged */
    uint8_t resume[PROTO_RESUME_LEN];
    int max_apply;                    /* inputs applied per tick at most */
    uint64_t rng;
    int jitter;                       /* apply a random 0..max_apply per tick */
} server;

static void server_init(server *s)
{
    memset(s, 0, sizeof *s);
    s->map = arena_map();
    s->me.pos[0] = 1500;
    s->me.pos[1] = 1300;
    s->npc.pos[0] = 600;
    s->npc.pos[1] = 600;
    s->me_gen = 1;
    strcpy(s->names.name[ME], "me");
    strcpy(s->names.name[NPC], "npc");
    s->max_apply = 8;
    s->rng = 11;
    s->state_after[0] = s->me;
    for (int i = 0; i < PROTO_RESUME_LEN; i++)
        s->resume[i] = (uint8_t)(0xa0 + i);
}

static size_t server_welcome_as(const server *s, uint16_t id, int resumed, uint8_t *buf, size_t cap)
{
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = id;
    w.tick_rate = TICK_RATE;
    w.snapshot_rate = TICK_RATE;
    w.match_id = 1;
    w.max_players = 16;
    w.server_tick = s->tick;
    w.map = s->map;
    memcpy(w.resume, s->resume, PROTO_RESUME_LEN);
    w.resumed = (uint8_t)resumed;
    return proto_welcome_write(&w, buf, cap);
}

static size_t server_welcome(const server *s, uint8_t *buf, size_t cap)
{
    return server_welcome_as(s, ME, 0, buf, cap);
}

/* The protocol's input rules: seqs contiguous from 1, a message may repeat
 * old seqs but must not skip ahead; duplicates are ignored. */
static void server_receive(server *s, const uint8_t *buf, size_t len)
{
    proto_input_msg m;
    assert_int_equal(proto_input_read(buf, len, &m), PROTO_OK);
    assert_true(m.first_seq <= s->last_received + 1);
    for (uint32_t i = 0; i < m.count; i++) {
        uint32_t seq = m.first_seq + i;
        assert_true(seq <= MAX_SEQ);
        if (seq <= s->last_received)
            continue;
        s->queue[seq] = m.in[i];
        s->last_received = seq;
    }
    if (m.ack_tick > s->acked_tick)
        s->acked_tick = m.ack_tick;
}

/* One tick: apply my next inputs, move the NPC, snapshot. */
static void server_tick(server *s)
{
    int n = s->jitter ? (int)rnd(&s->rng, (uint32_t)s->max_apply + 1) : s->max_apply;
    if (s->held)
        n = 0;
    for (int k = 0; k < n && s->last_applied < s->last_received; k++) {
        uint32_t seq = ++s->last_applied;
        sim_player_step(&s->map, &s->me, &s->queue[seq], 1.0f / TICK_RATE);
        s->state_after[seq] = s->me;
    }
    sim_input npc_in = {.buttons = (uint8_t)((s->tick / 40) % 2 ? SIM_BTN_LEFT : SIM_BTN_RIGHT),
                        .aim = (uint16_t)(s->tick * 300)};
    sim_player_step(&s->map, &s->npc, &npc_in, 1.0f / TICK_RATE);
    s->tick++;

    proto_snapshot *snap = &s->ring[s->tick % PROTO_BASELINE_WINDOW];
    memset(snap, 0, sizeof *snap);
    snap->tick = s->tick;
    s->ring_seq[s->tick % PROTO_BASELINE_WINDOW] = s->last_applied;
    snap->present[ME] = snap->present[NPC] = 1;
    snap->gen[ME] = s->me_gen;
    snap->gen[NPC] = 1;
    sim_player_to_net(&s->me, &snap->ent[ME]);
    sim_player_to_net(&s->npc, &snap->ent[NPC]);
    if (s->held)
        snap->ent[ME].flags |= SIM_FLAG_DISCONNECTED;
}

/* Current snapshot, delta against the newest ack still in the window. */
static size_t server_snapshot(server *s, uint8_t *buf, size_t cap)
{
    const proto_snapshot *cur = &s->ring[s->tick % PROTO_BASELINE_WINDOW];
    const proto_snapshot *base = NULL;
    if (s->acked_tick && s->tick - s->acked_tick < PROTO_BASELINE_WINDOW) {
        base = &s->ring[s->acked_tick % PROTO_BASELINE_WINDOW];
        assert_int_equal(base->tick, s->acked_tick);
    }
    proto_snapshot_header h = {.tick = s->tick, .baseline_tick = base ? base->tick : 0,
                               .last_input_seq = s->last_applied};
    size_t n = proto_snapshot_header_write(&h, buf, cap);
    assert_int_equal(n, PROTO_SNAPSHOT_HEADER_SIZE);
    buf[n++] = 0; /* no events */
    size_t b = proto_snapshot_body_write(base, cur, &s->names, TICK_RATE, buf + n, cap - n);
    assert_true(b > 0);
    if (base)
        s->delta_sent++;
    else
        s->full_sent++;
    return n + b;
}

/* ---- the test rig: client + server + pipes -------------------------------- */

typedef struct rig {
    cl_client c;
    server s;
    pipe up, down;
    uint32_t up_delay, down_delay;
    uint32_t now;           /* ticks */
    sim_input sent[MAX_SEQ + 1]; /* every input the client pushed, by seq */
    uint32_t pushed;
    uint64_t rng;
    uint8_t held;
    int hold_left;
    uint32_t max_unacked;   /* most inputs ever awaiting replay at a snapshot */
    uint32_t snapshots_seen;
} rig;

static rig g_rig;

static void rig_init(rig *r, uint32_t up_delay, uint32_t down_delay)
{
    memset(r, 0, sizeof *r);
    cl_init(&r->c);
    server_init(&r->s);
    r->up_delay = up_delay;
    r->down_delay = down_delay;
    r->rng = 1234;
    uint8_t buf[PROTO_MAX_WELCOME];
    cl_set_token(&r->c, "dG9rZW4-me_");
    size_t n = cl_write_join(&r->c, buf, sizeof buf);
    proto_join j;
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_string_equal(j.token, "dG9rZW4-me_");
    assert_int_equal(j.has_resume, 0);
    n = server_welcome(&r->s, buf, sizeof buf);
    assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_WELCOME);
    assert_int_equal(r->c.joined, 1);
    assert_int_equal(r->c.welcome.player_id, ME);
}

/* What the client must predict, from the server's side of things: the
 * state the server put in the newest snapshot the client has, then every
 * later input the client pushed, replayed. */
static sim_player expected_prediction(const rig *r)
{
    const proto_snapshot *latest = cl_latest(&r->c);
    uint32_t slot = latest->tick % PROTO_BASELINE_WINDOW;
    assert_int_equal(r->s.ring[slot].tick, latest->tick);
    assert_int_equal(r->c.last_input_seq, r->s.ring_seq[slot]);
    sim_player p;
    memset(&p, 0, sizeof p);
    sim_player_from_net(&r->s.ring[slot].ent[ME], &p);
    p.flags &= (uint8_t)~SIM_FLAG_DISCONNECTED; /* presentation, not state */
    /* The weapon cooldown is not on the wire: it follows the player's own
     * inputs, as the server stepped them. */
    p.fire_cd = r->c.last_input_seq ? r->s.state_after[r->c.last_input_seq].fire_cd : 0;
    for (uint32_t seq = r->c.last_input_seq + 1; seq < r->c.next_seq; seq++)
        sim_player_step(&r->s.map, &p, &r->sent[seq], 1.0f / TICK_RATE);
    return p;
}

static void assert_same_player(const sim_player *want, const sim_player *got, uint32_t tick)
{
    if (want->pos[0] != got->pos[0] || want->pos[1] != got->pos[1] ||
        want->vel[0] != got->vel[0] || want->vel[1] != got->vel[1] || want->aim != got->aim ||
        want->flags != got->flags)
        fail_msg("tick %u: predicted (%.4f, %.4f) v(%.4f, %.4f) f%d cd%d, want (%.4f, %.4f) v(%.4f, %.4f) f%d cd%d",
                 tick, (double)got->pos[0], (double)got->pos[1], (double)got->vel[0],
                 (double)got->vel[1], got->flags, got->fire_cd, (double)want->pos[0], (double)want->pos[1],
                 (double)want->vel[0], (double)want->vel[1], want->flags, want->fire_cd);
}

/* One frame: the client pushes an input (held buttons, moving aim) and
 * sends it, the server ticks and snapshots, pipes deliver what is due, and
 * the client's prediction is checked against the server's truth. */
static void rig_frame(rig *r, int idle)
{
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    if (r->hold_left-- <= 0) {
        r->held = (uint8_t)rnd(&r->rng, SIM_BTN_ALL + 1);
        r->hold_left = 10 + (int)rnd(&r->rng, 50);
    }
    uint8_t buttons = idle ? 0 : r->held;
    uint16_t aim = idle ? 0 : (uint16_t)(r->now * 997);
    uint32_t seq = cl_push_input(&r->c, buttons, aim, r->now * 1000.0 / TICK_RATE);
    assert_int_equal(seq, r->pushed + 1);
    r->pushed = seq;
    r->sent[seq] = (sim_input){.buttons = buttons, .aim = aim};
    size_t n = cl_write_input(&r->c, buf, sizeof buf);
    assert_true(n > 0);
    pipe_push(&r->up, r->now + r->up_delay, buf, n);

    const msg *m;
    while ((m = pipe_pop(&r->up, r->now)))
        server_receive(&r->s, m->bytes, m->len);
    server_tick(&r->s);
    n = server_snapshot(&r->s, buf, sizeof buf);
    pipe_push(&r->down, r->now + r->down_delay, buf, n);
    while ((m = pipe_pop(&r->down, r->now))) {
        assert_int_equal(cl_receive(&r->c, m->bytes, m->len, r->now * 1000.0 / TICK_RATE), PROTO_SNAPSHOT);
        r->snapshots_seen++;
        uint32_t unacked = r->c.next_seq - 1 - r->c.last_input_seq;
        if (unacked > r->max_unacked)
            r->max_unacked = unacked;
    }
    if (r->c.have_self) {
        sim_player want = expected_prediction(r);
        assert_same_player(&want, &r->c.predicted, r->now);
    }
    r->now++;
}

/* Without prediction errors: the server applies exactly the client's
 * inputs, late and in jittery batches; the client never corrects, and its
 * prediction is always server state + replay. */
static void test_no_corrections_when_server_agrees(void **state)
{
    (void)state;
    rig *r = &g_rig;
    const struct { uint32_t up, down; int jitter; } cases[] = {{0, 0, 0}, {3, 4, 0}, {6, 2, 1}, {1, 9, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rig_init(r, cases[k].up, cases[k].down);
        r->s.jitter = cases[k].jitter;
        r->s.max_apply = cases[k].jitter ? 3 : 8;
        for (int t = 0; t < 1500; t++)
            rig_frame(r, 0);
        assert_int_equal(r->c.stats.corrections, 0);
        assert_true(r->c.stats.max_correction == 0.0f);
        assert_int_equal(r->c.stats.snapshots, r->snapshots_seen);
        /* Full snapshots only until the first ack came back. */
        assert_int_equal(r->c.stats.full_snapshots, r->s.full_sent);
        assert_true(r->s.full_sent <= cases[k].up + cases[k].down + 2);
        assert_true(r->s.delta_sent > 1000);   /* deltas were exercised */
        assert_true(r->c.last_input_seq > 1400);
        /* Not vacuous: the player really moved around. */
        sim_player end = r->s.me;
        assert_true(end.pos[0] != 1500.0f || end.pos[1] != 1300.0f);
        if (cases[k].up + cases[k].down >= 5)
            assert_true(r->max_unacked >= 5); /* replays of several inputs happened */
        /* The NPC the client watches decodes to the server's state. */
        const proto_snapshot *latest = cl_latest(&r->c);
        assert_non_null(latest);
        const proto_snapshot *srv = &r->s.ring[latest->tick % PROTO_BASELINE_WINDOW];
        assert_int_equal(srv->tick, latest->tick);
        assert_int_equal(latest->ent[NPC].x, srv->ent[NPC].x);
        assert_int_equal(latest->ent[NPC].y, srv->ent[NPC].y);
        assert_int_equal(latest->ent[NPC].vx, srv->ent[NPC].vx);
        assert_int_equal(latest->ent[NPC].vy, srv->ent[NPC].vy);
        assert_int_equal(latest->ent[NPC].aim, srv->ent[NPC].aim);
        assert_int_equal(latest->ent[ME].x, srv->ent[ME].x);
        assert_int_equal(latest->ent[ME].vy, srv->ent[ME].vy);
        assert_string_equal(r->c.names.name[NPC], "npc");
    }
}

/* The server moves the player 5 units on its own once (think knockback):
 * the client counts exactly one correction of 5.0 units, then predicts from
 * the corrected state, again with zero further corrections, even while the
 * server applies no new input for a while. */
static void test_correction_counted_with_size(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 2, 3);
    for (int t = 0; t < 60; t++)
        rig_frame(r, 1); /* standing still: the shift below is exact */
    assert_int_equal(r->c.stats.corrections, 0);
    r->s.me.pos[0] += 5.0f;
    r->s.state_after[r->s.last_applied] = r->s.me;
    /* The server stalls: the snapshots keep saying the same last seq. */
    int saved = r->s.max_apply;
    r->s.max_apply = 0;
    for (int t = 0; t < 20; t++)
        rig_frame(r, 1);
    assert_int_equal(r->c.stats.corrections, 1);
    assert_true(r->c.stats.last_correction == 5.0f);
    assert_true(r->c.stats.max_correction == 5.0f);
    r->s.max_apply = saved;
    for (int t = 0; t < 600; t++)
        rig_frame(r, 0);
    assert_int_equal(r->c.stats.corrections, 1);

    /* A velocity-only disagreement is a correction too, of size 0 (the
     * server stalls so the snapshots show the state for the same seq). */
    r->s.me.vel[0] = r->s.me.vel[0] == 100.0f ? 50.0f : 100.0f;
    r->s.state_after[r->s.last_applied] = r->s.me;
    r->s.max_apply = 0;
    for (int t = 0; t < 10; t++)
        rig_frame(r, 0);
    assert_int_equal(r->c.stats.corrections, 2);
    r->s.max_apply = saved;
    for (int t = 0; t < 100; t++)
        rig_frame(r, 0);
    assert_int_equal(r->c.stats.corrections, 2);
    assert_true(r->c.stats.last_correction == 0.0f);
    assert_true(r->c.stats.max_correction == 5.0f);
}

/* A server that always lags several inputs behind: every snapshot leaves
 * unacked inputs that the client must replay on top of the server state. */
static void test_unacked_inputs_replayed(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 8, 8);
    for (int t = 0; t < 400; t++)
        rig_frame(r, 0);
    assert_true(r->max_unacked >= 16);
    /* Spelled out once more for the final state. */
    sim_player p = r->s.state_after[r->c.last_input_seq];
    uint32_t replayed = 0;
    for (uint32_t seq = r->c.last_input_seq + 1; seq < r->c.next_seq; seq++, replayed++)
        sim_player_step(&r->s.map, &p, &r->sent[seq], 1.0f / TICK_RATE);
    assert_true(replayed >= 16);
    assert_same_player(&p, &r->c.predicted, r->now);
    /* And the replay is not a no-op: the server state alone is elsewhere. */
    const sim_player *srv = &r->s.state_after[r->c.last_input_seq];
    assert_true(srv->pos[0] != p.pos[0] || srv->pos[1] != p.pos[1] || srv->vel[0] != p.vel[0] ||
                srv->vel[1] != p.vel[1] || srv->aim != p.aim);
}

/* cl_write_input sends each input exactly once, in seq order, at most
 * PROTO_MAX_INPUTS_PER_MSG per message, with the newest snapshot tick. */
static void test_write_input_each_once_in_order(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 0, 0);
    cl_client *c = &r->c;
    uint8_t buf[PROTO_MAX_CLIENT_MSG];
    assert_int_equal(cl_write_input(c, buf, sizeof buf), 0); /* nothing yet */
    for (uint32_t i = 1; i <= 20; i++)
        assert_int_equal(cl_push_input(c, (uint8_t)(i == 3 ? 0xff : i % 32), (uint16_t)(i * 3000), 0), i);
    /* Too small a buffer: nothing is marked as sent. */
    assert_int_equal(cl_write_input(c, buf, 10), 0);
    uint32_t expect = 1, msgs = 0;
    size_t n;
    while ((n = cl_write_input(c, buf, sizeof buf)) > 0) {
        proto_input_msg m;
        assert_int_equal(proto_input_read(buf, n, &m), PROTO_OK);
        assert_int_equal(m.first_seq, expect);
        assert_int_equal(m.ack_tick, 0);
        assert_true(m.count >= 1 && m.count <= PROTO_MAX_INPUTS_PER_MSG);
        for (uint32_t i = 0; i < m.count; i++) {
            uint32_t seq = m.first_seq + i;
            /* Unknown button bits never reach the wire. */
            assert_int_equal(m.in[i].buttons, seq == 3 ? SIM_BTN_ALL : seq % 32);
            assert_int_equal(m.in[i].aim, (uint16_t)(seq * 3000));
        }
        expect += m.count;
        msgs++;
    }
    assert_int_equal(expect, 21);
    assert_int_equal(msgs, 3);

    /* After a snapshot, the ack is its tick; the next message starts at 21. */
    uint8_t snap[PROTO_MAX_SNAPSHOT];
    server_tick(&r->s);
    size_t sn = server_snapshot(&r->s, snap, sizeof snap);
    assert_int_equal(cl_receive(c, snap, sn, 0), PROTO_SNAPSHOT);
    assert_int_equal(cl_push_input(c, SIM_BTN_UP, 1, 0), 21);
    n = cl_write_input(c, buf, sizeof buf);
    proto_input_msg m;
    assert_int_equal(proto_input_read(buf, n, &m), PROTO_OK);
    assert_int_equal(m.first_seq, 21);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.ack_tick, r->s.tick);
    assert_int_equal(cl_write_input(c, buf, sizeof buf), 0);

    /* With redundancy 2 a message repeats up to 2 older unacked inputs
     * (never acked ones: the server applied none, so 1.. are unacked). */
    c->redundancy = 2;
    assert_int_equal(cl_push_input(c, 0, 2, 0), 22);
    n = cl_write_input(c, buf, sizeof buf);
    assert_int_equal(proto_input_read(buf, n, &m), PROTO_OK);
    assert_int_equal(m.first_seq, 20);
    assert_int_equal(m.count, 3);
}

/* Before the welcome there is nothing to predict; the pending window is
 * bounded and reopens when the server acknowledges inputs. */
static void test_push_input_limits(void **state)
{
    (void)state;
    static cl_client c;
    cl_init(&c);
    assert_int_equal(cl_push_input(&c, SIM_BTN_UP, 0, 0), 0);
    uint8_t buf[64];
    assert_int_equal(cl_write_input(&c, buf, sizeof buf), 0);

    rig *r = &g_rig;
    rig_init(r, 0, 0);
    uint32_t accepted = 0;
    while (cl_push_input(&r->c, SIM_BTN_RIGHT, 0, 0))
        accepted++;
    assert_int_equal(accepted, CL_MAX_UNACKED);
    assert_true(CL_MAX_UNACKED < CL_MAX_PENDING);
    /* Server applies 40 of them and says so. */
    uint8_t msgbuf[PROTO_MAX_SNAPSHOT];
    size_t n;
    while ((n = cl_write_input(&r->c, msgbuf, sizeof msgbuf)) > 0)
        server_receive(&r->s, msgbuf, n);
    r->s.max_apply = 40;
    server_tick(&r->s);
    n = server_snapshot(&r->s, msgbuf, sizeof msgbuf);
    assert_int_equal(cl_receive(&r->c, msgbuf, n, 0), PROTO_SNAPSHOT);
    assert_int_equal(r->c.last_input_seq, 40);
    accepted = 0;
    while (cl_push_input(&r->c, SIM_BTN_RIGHT, 0, 0))
        accepted++;
    assert_int_equal(accepted, 40);
    assert_int_equal(r->c.next_seq - 1 - r->c.last_input_seq, CL_MAX_UNACKED);
}

/* Copy of the client with the byte/message counters of the last receive
 * undone, for "state unchanged" comparisons. */
static void assert_client_unchanged(const cl_client *before, const cl_client *after)
{
    static cl_client a;
    memcpy(&a, after, sizeof a);
    a.stats.bytes_down = before->stats.bytes_down;
    a.stats.msgs_down = before->stats.msgs_down;
    assert_memory_equal(before, &a, sizeof a);
}

/* A delta against a snapshot the client does not have is refused with
 * PROTO_ERR_BASELINE and changes nothing; so are other bad snapshots. */
static void test_unknown_baseline_and_bad_snapshots(void **state)
{
    (void)state;
    rig *r = &g_rig;
    static cl_client before;
    rig_init(r, 0, 0);
    for (int t = 0; t < 40; t++)
        rig_frame(r, 0);
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    server *s = &r->s;
    cl_client *c = &r->c;
    /* The client holds ticks 9..40 and acked 39. Tick 41 is made but never
     * delivered; tick 42 is the current one. */
    assert_int_equal(cl_latest(c)->tick, 40);
    assert_int_equal(s->acked_tick, 39);
    server_tick(s);
    server_tick(s);
    const proto_snapshot *cur = &s->ring[s->tick % PROTO_BASELINE_WINDOW];
    const proto_snapshot *b41 = &s->ring[41 % PROTO_BASELINE_WINDOW];
    const uint32_t unknown[] = {41 /* never received */, 8 /* received, overwritten */};
    for (int k = 0; k < 2; k++) {
        proto_snapshot_header h = {.tick = s->tick, .baseline_tick = unknown[k], .last_input_seq = s->last_applied};
        size_t n = proto_snapshot_header_write(&h, buf, sizeof buf);
        buf[n++] = 0; /* no events */
        size_t b = proto_snapshot_body_write(b41, cur, &s->names, TICK_RATE, buf + n, sizeof buf - n);
        assert_true(n && b);
        memcpy(&before, c, sizeof before);
        assert_int_equal(cl_receive(c, buf, n + b, 0), PROTO_ERR_BASELINE);
        assert_client_unchanged(&before, c);
    }

    /* Truncated and trailing versions of a good delta (against 39). */
    size_t good = server_snapshot(s, buf, sizeof buf);
    assert_int_equal(buf[5], 42 - 39);
    for (size_t len = 0; len < good; len++) {
        memcpy(&before, c, sizeof before);
        assert_true(cl_receive(c, buf, len, 0) < 0);
        assert_client_unchanged(&before, c);
    }
    buf[good] = 0;
    memcpy(&before, c, sizeof before);
    assert_int_equal(cl_receive(c, buf, good + 1, 0), PROTO_ERR_TRAILING);
    assert_client_unchanged(&before, c);

    /* A body that contradicts the baseline: CHANGE of an entity the
     * client's tick-39 snapshot does not have. */
    static proto_snapshot weird_base, weird;
    weird_base = s->ring[39 % PROTO_BASELINE_WINDOW];
    assert_int_equal(weird_base.tick, 39);
    weird_base.present[40] = 1;
    weird = *cur;
    weird.present[40] = 1;
    weird.ent[40].x = 77;
    {
        proto_snapshot_header h = {.tick = s->tick, .baseline_tick = 39, .last_input_seq = s->last_applied};
        size_t n = proto_snapshot_header_write(&h, buf, sizeof buf);
        buf[n++] = 0; /* no events */
        size_t b = proto_snapshot_body_write(&weird_base, &weird, &s->names, TICK_RATE, buf + n, sizeof buf - n);
        memcpy(&before, c, sizeof before);
        assert_int_equal(cl_receive(c, buf, n + b, 0), PROTO_ERR_VALUE);
        assert_client_unchanged(&before, c);
    }

    /* The good one is accepted; receiving it again (same tick) is refused. */
    good = server_snapshot(s, buf, sizeof buf);
    assert_int_equal(cl_receive(c, buf, good, 0), PROTO_SNAPSHOT);
    assert_int_equal(cl_latest(c)->tick, 42);
    memcpy(&before, c, sizeof before);
    assert_int_equal(cl_receive(c, buf, good, 0), PROTO_ERR_VALUE);
    assert_client_unchanged(&before, c);

    /* Unknown message types, and a client->server message sent back. */
    const uint8_t odd[][2] = {{0x00, 0}, {0x03, 0}, {0x80, 0}, {0xff, 0}, {PROTO_JOIN, 1}, {PROTO_INPUT, 0}};
    for (int k = 0; k < 6; k++) {
        memcpy(&before, c, sizeof before);
        assert_int_equal(cl_receive(c, odd[k], 2, 0), PROTO_ERR_TYPE);
        assert_client_unchanged(&before, c);
    }
    memcpy(&before, c, sizeof before);
    assert_int_equal(cl_receive(c, buf, 0, 0), PROTO_ERR_TRUNCATED);
    assert_client_unchanged(&before, c);

    /* A snapshot before any welcome is a protocol error. */
    static cl_client fresh, fresh_before;
    cl_init(&fresh);
    memcpy(&fresh_before, &fresh, sizeof fresh);
    assert_int_equal(cl_receive(&fresh, buf, good, 0), PROTO_ERR_TYPE);
    assert_client_unchanged(&fresh_before, &fresh);
}

/* The client keeps PROTO_BASELINE_WINDOW snapshots: a baseline 32 snapshots
 * back still decodes, 33 back does not. */
static void test_baseline_window(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 0, 0);
    server *s = &r->s;
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    static proto_snapshot keep[40];
    /* 40 full snapshots, all received. */
    for (int t = 0; t < 40; t++) {
        server_tick(s);
        keep[t] = s->ring[s->tick % PROTO_BASELINE_WINDOW];
        size_t n = server_snapshot(s, buf, sizeof buf);
        assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_SNAPSHOT);
    }
    server_tick(s);
    const proto_snapshot *cur = &s->ring[s->tick % PROTO_BASELINE_WINDOW];
    for (int back = 30; back <= 34; back++) {
        /* keep[39] is tick s->tick - 1; the baseline `back` snapshots before cur */
        const proto_snapshot *base = &keep[40 - back];
        assert_int_equal(base->tick, s->tick - (uint32_t)back);
        proto_snapshot_header h = {.tick = s->tick, .baseline_tick = base->tick, .last_input_seq = 0};
        size_t n = proto_snapshot_header_write(&h, buf, sizeof buf);
        buf[n++] = 0; /* no events */
        size_t b = proto_snapshot_body_write(base, cur, &s->names, TICK_RATE, buf + n, sizeof buf - n);
        static cl_client before;
        memcpy(&before, &r->c, sizeof before);
        int got = cl_receive(&r->c, buf, n + b, 0);
        if (back <= PROTO_BASELINE_WINDOW) {
            assert_int_equal(got, PROTO_SNAPSHOT);
            memcpy(&r->c, &before, sizeof before); /* try the next baseline against the same ring */
        } else {
            assert_int_equal(got, PROTO_ERR_BASELINE);
        }
    }
}

/* What the renderer gets: the local player at its predicted position, the
 * others interpolated between two received snapshots. */
static void test_view(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 0, 0);
    cl_view_ent v[8];
    assert_int_equal(cl_view(&r->c, 0, v, 8), 0);
    for (int t = 0; t < 120; t++)
        rig_frame(r, 0);
    double now = r->now * 1000.0 / TICK_RATE;
    int n = cl_view(&r->c, now, v, 8);
    assert_int_equal(n, 2);
    int seen_me = 0, seen_npc = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].id == ME) {
            seen_me = 1;
            assert_int_equal(v[i].self, 1);
            assert_true(v[i].x == r->c.predicted.pos[0] && v[i].y == r->c.predicted.pos[1]);
        } else {
            seen_npc = 1;
            assert_int_equal(v[i].id, NPC);
            assert_int_equal(v[i].self, 0);
            /* ~2.2 ticks behind the newest: between the positions of the
             * server's last few ticks. */
            float lo = 1e9f, hi = -1e9f;
            for (uint32_t k = 0; k < 5; k++) {
                float x = r->s.ring[(r->s.tick - k) % PROTO_BASELINE_WINDOW].ent[NPC].x / SIM_POS_SCALE;
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            assert_true(v[i].x >= lo && v[i].x <= hi);
        }
    }
    assert_true(seen_me && seen_npc);
    assert_int_equal(cl_view(&r->c, now, v, 1), 1);
}

/* A remote player's health is drawn from the snapshot its flags come from:
 * killed in the newest snapshot, it is still drawn alive (the render tick
 * is ~2 snapshots back) with the health it had then, not the 0 of its death. */
static void test_view_health_matches_flags(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 0, 0);
    for (int t = 0; t < 120; t++)
        rig_frame(r, 0);
    for (int i = 0; i < CL_RING; i++)
        r->c.ring_own[i].ent[NPC].health = 80; /* no body_reader: every slot is the client's own */
    proto_snapshot *newest = &r->c.ring_own[r->c.head];
    newest->ent[NPC].health = 0;
    newest->ent[NPC].flags |= SIM_FLAG_DEAD;
    cl_view_ent v[8];
    double now = r->now * 1000.0 / TICK_RATE;
    int n = cl_view(&r->c, now, v, 8);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].id != NPC)
            continue;
        seen = 1;
        assert_true(r->c.render_tick < (double)newest->tick - 1.0);
        assert_int_equal(v[i].flags & SIM_FLAG_DEAD, 0);
        assert_int_equal(v[i].health, 80);
    }
    assert_true(seen);
    /* Drawn at the newest snapshot (interpolation off): dead, health 0. */
    r->c.interpolate = 0;
    n = cl_view(&r->c, now, v, 8);
    for (int i = 0; i < n; i++)
        if (v[i].id == NPC)
            assert_true((v[i].flags & SIM_FLAG_DEAD) && v[i].health == 0);
    r->c.interpolate = 1;
}

/* ---- version 4: what is drawn is what the server rewinds to --------------- */

#define FOE 7

/* A client in an arena without walls, fed full snapshots of ticks 10..13:
 * ME standing at (1300, 200); FOE as `foe[k]` for tick 10 + k (present 0:
 * not in the match yet). The render clock is then put at `render`. */
typedef struct foe_at {
    uint8_t present;
    float x, y;
    uint8_t flags, life;
} foe_at;

static void view_rig(cl_client *c, const foe_at foe[4], double render)
{
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = ME;
    w.tick_rate = w.snapshot_rate = TICK_RATE;
    w.match_id = 1;
    w.max_players = 16;
    w.map.width = w.map.height = SIM_ARENA_SIZE;
    cl_init(c);
    size_t n = proto_welcome_write(&w, buf, sizeof buf);
    assert_int_equal(cl_receive(c, buf, n, 0), PROTO_WELCOME);
    static proto_names names;
    strcpy(names.name[ME], "me");
    strcpy(names.name[FOE], "foe");
    for (int k = 0; k < 4; k++) {
        proto_snapshot snap;
        memset(&snap, 0, sizeof snap);
        snap.tick = 10 + (uint32_t)k;
        snap.present[ME] = 1;
        snap.gen[ME] = 1;
        sim_player me;
        memset(&me, 0, sizeof me);
        me.pos[0] = 1300;
        me.pos[1] = 200;
        me.health = SIM_MAX_HEALTH;
        sim_player_to_net(&me, &snap.ent[ME]);
        if (foe[k].present) {
            sim_player f;
            memset(&f, 0, sizeof f);
            f.pos[0] = foe[k].x;
            f.pos[1] = foe[k].y;
            f.flags = foe[k].flags;
            f.life = foe[k].life;
            f.health = foe[k].flags & SIM_FLAG_DEAD ? 0 : SIM_MAX_HEALTH;
            snap.present[FOE] = 1;
            snap.gen[FOE] = 1;
            sim_player_to_net(&f, &snap.ent[FOE]);
        }
        proto_snapshot_header h = {.tick = snap.tick};
        n = proto_snapshot_header_write(&h, buf, sizeof buf);
        buf[n++] = 0; /* no events */
        n += proto_snapshot_body_write(NULL, &snap, &names, TICK_RATE, buf + n, sizeof buf - n);
        assert_int_equal(cl_receive(c, buf, n, 0), PROTO_SNAPSHOT);
    }
    /* cl_view at the same now_ms keeps the clock where it is (within the
     * 250 ms before it would jump to newest - 2.2 intervals). */
    c->have_render_tick = 1;
    c->render_tick = render;
    c->last_update_ms = 0;
}

static const cl_view_ent *find_ent(const cl_view_ent *v, int n, int id)
{
    for (int i = 0; i < n; i++)
        if (v[i].id == id)
            return &v[i];
    return NULL;
}

/* The foe dies at tick 11 at (1300, 500) and respawns at tick 12 at
 * (1300, 1500). Drawn at 11.8 it is the corpse, not a live player 80% of
 * the way to its spawn point (where the server, which judges it dead at
 * tick 11, would never hit it); drawn at 12.5 it is alive at its spawn. A
 * shot down the x = 1300 line from (1300, 200) judges the same way. */
static void test_view_no_blend_across_respawn(void **state)
{
    (void)state;
    static cl_client c;
    const foe_at foe[4] = {{1, 1300, 500, 0, 0},
                           {1, 1300, 500, SIM_FLAG_DEAD, 0},
                           {1, 1300, 1500, 0, 1},
                           {1, 1300, 1510, 0, 1}};
    cl_view_ent v[8];
    view_rig(&c, foe, 11.8);
    int n = cl_view(&c, 0, v, 8);
    const cl_view_ent *f = find_ent(v, n, FOE);
    assert_non_null(f);
    assert_true(f->x == 1300 && f->y == 500);
    assert_true(f->flags & SIM_FLAG_DEAD);
    /* A shot straight down (+y) at this view: the corpse does not count, and
     * there is no live player on the line where the blend would have been. */
    assert_true(cl_push_input(&c, SIM_BTN_FIRE, 16384, 0) != 0);
    assert_int_equal(c.stats.shots, 1);
    assert_int_equal(c.stats.screen_hits, 0);
    assert_int_equal(c.last_shot_target, -1);

    view_rig(&c, foe, 12.5);
    n = cl_view(&c, 0, v, 8);
    f = find_ent(v, n, FOE);
    assert_non_null(f);
    assert_true(f->x == 1300 && f->y == 1505);
    assert_false(f->flags & SIM_FLAG_DEAD);
    assert_true(cl_push_input(&c, SIM_BTN_FIRE, 16384, 0) != 0);
    assert_int_equal(c.stats.screen_hits, 1);
    assert_int_equal(c.last_shot_target, FOE);
}

/* The foe joins at tick 12: at render tick 11.5 the snapshot of tick 11
 * shows its slot empty, so it is not drawn (nor hit) yet, although the
 * client already knows where it will be. */
static void test_view_not_before_join(void **state)
{
    (void)state;
    static cl_client c;
    const foe_at foe[4] = {{0}, {0}, {1, 1300, 900, 0, 0}, {1, 1300, 900, 0, 0}};
    cl_view_ent v[8];
    view_rig(&c, foe, 11.5);
    int n = cl_view(&c, 0, v, 8);
    assert_null(find_ent(v, n, FOE));
    assert_non_null(find_ent(v, n, ME));
    assert_true(cl_push_input(&c, SIM_BTN_FIRE, 16384, 0) != 0);
    assert_int_equal(c.stats.screen_hits, 0);

    view_rig(&c, foe, 12.25);
    n = cl_view(&c, 0, v, 8);
    assert_non_null(find_ent(v, n, FOE));
    assert_true(cl_push_input(&c, SIM_BTN_FIRE, 16384, 0) != 0);
    assert_int_equal(c.stats.screen_hits, 1);
}

/* Before the oldest snapshot held (just joined) the oldest is drawn, past
 * the newest the newest, and the input says so: the server judges the
 * shot at the tick that was drawn, not at a tick the client never had. */
static void test_view_clamped_to_snapshots_held(void **state)
{
    (void)state;
    static cl_client c;
    const foe_at foe[4] = {{1, 1300, 600, 0, 0}, {1, 1300, 605, 0, 0}, {1, 1300, 610, 0, 0}, {1, 1300, 615, 0, 0}};
    cl_view_ent v[8];
    view_rig(&c, foe, 8.0);
    int n = cl_view(&c, 0, v, 8);
    const cl_view_ent *f = find_ent(v, n, FOE);
    assert_non_null(f);
    assert_true(f->y == 600);
    assert_true(cl_push_input(&c, 0, 0, 0) != 0);
    assert_int_equal(c.pending[1].in.view_tick, 10);
    assert_int_equal(c.pending[1].in.view_frac, 0);

    view_rig(&c, foe, 12.5);
    n = cl_view(&c, 0, v, 8);
    f = find_ent(v, n, FOE);
    assert_true(f && f->y == 612.5f);
    assert_true(cl_push_input(&c, 0, 0, 0) != 0);
    assert_int_equal(c.pending[1].in.view_tick, 12);
    assert_int_equal(c.pending[1].in.view_frac, 128);

    view_rig(&c, foe, 20.0);
    n = cl_view(&c, 0, v, 8);
    f = find_ent(v, n, FOE);
    assert_true(f && f->y == 615);
    assert_true(cl_push_input(&c, 0, 0, 0) != 0);
    assert_int_equal(c.pending[1].in.view_tick, 13);
    assert_int_equal(c.pending[1].in.view_frac, 0);
}

/* ---- version 2: join token, resume ---------------------------------------- */

/* The JOIN: the token from cl_set_token, plus the resume token once a
 * WELCOME gave one. */

/* Snapshots arriving with `jitter_ms` of uniform random delay (order kept,
 * as over TCP), drawn at 60 frames per second: returns the share of remote
 * frames held (no snapshot past the render tick). */
static double held_share(uint32_t jitter_ms, int fixed, float *delay_ticks, float *measured_ms)
{
    rig *r = &g_rig;
    rig_init(r, 0, 0);
    r->c.fixed_delay = (uint8_t)fixed;
    uint64_t rng = 77;
    const double tick_ms = 1000.0 / TICK_RATE;
    double arrival = 0, frame = 0;
    cl_view_ent v[8];
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    uint64_t frames0 = 0, holds0 = 0;
    for (int t = 1; t <= 3000; t++) {
        server_tick(&r->s);
        size_t n = server_snapshot(&r->s, buf, sizeof buf);
        double due = t * tick_ms + (jitter_ms ? rnd(&rng, jitter_ms * 100 + 1) / 100.0 : 0.0);
        arrival = due > arrival ? due : arrival;
        /* draw every frame before this arrival */
        for (; frame < arrival; frame += tick_ms * 0.97)
            cl_view(&r->c, frame, v, 8);
        assert_int_equal(cl_receive(&r->c, buf, n, arrival), PROTO_SNAPSHOT);
        if (t == 600) { /* after the jitter estimate settles */
            frames0 = r->c.stats.interp_frames;
            holds0 = r->c.stats.interp_holds;
        }
    }
    *delay_ticks = r->c.stats.interp_delay_ticks;
    *measured_ms = r->c.stats.jitter_ms;
    return (double)(r->c.stats.interp_holds - holds0) / (double)(r->c.stats.interp_frames - frames0);
}

/* The interpolation delay follows the measured jitter: 2.2 intervals on a
 * steady link, more under jitter, and remote players are held (drawn
 * without a snapshot on both sides) in < 0.1% of frames either way. */
static void test_interpolation_adapts_to_jitter(void **state)
{
    (void)state;
    float delay, jitter;
    double held = held_share(0, 0, &delay, &jitter);
    assert_true(jitter < 0.5f);
    assert_true(delay < 2.3f);
    assert_true(held < 0.001);
    double held10 = held_share(10, 0, &delay, &jitter);
    assert_true(jitter > 1.5f && jitter < 6.0f);
    assert_true(delay > 2.5f);
    assert_true(held10 < 0.001);
    float fixed_delay, fixed_jitter;
    double fixed30 = held_share(60, 1, &fixed_delay, &fixed_jitter);
    double held30 = held_share(60, 0, &delay, &jitter);
    print_message("interpolation: held %.4f%% at 0 ms, %.4f%% at 10 ms, %.4f%% at 60 ms jitter "
                  "(measured %.1f ms, delay %.2f ticks); a fixed 2.2 ticks holds %.2f%% at 60 ms\n",
                  held * 100, held10 * 100, held30 * 100, (double)jitter, (double)delay, fixed30 * 100);
    assert_true(delay > 3.5f);
    assert_true(held30 < 0.001);
    /* What adapting buys: the steered render clock already absorbs most of
     * the jitter, but a fixed delay still runs dry now and then. */
    assert_true(fixed30 > 0.0001 && held30 < fixed30);
}

static void test_join_token_and_resume_token(void **state)
{
    (void)state;
    static cl_client c;
    static server s;
    cl_init(&c);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    proto_join j;
    /* Neither a token nor a resume token: nothing valid to write. */
    assert_int_equal(cl_write_join(&c, buf, sizeof buf), 0);
    assert_int_equal(c.stats.msgs_up, 0);

    char tok[PROTO_MAX_TOKEN + 2];
    for (int i = 0; i < PROTO_MAX_TOKEN; i++)
        tok[i] = (char)('A' + i % 26);
    tok[PROTO_MAX_TOKEN] = '\0';
    cl_set_token(&c, tok);
    size_t n = cl_write_join(&c, buf, sizeof buf);
    assert_int_equal(n, 5 + PROTO_MAX_TOKEN);
    assert_int_equal(c.stats.msgs_up, 1);
    assert_int_equal(c.stats.bytes_up, n);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_string_equal(j.token, tok);
    assert_int_equal(j.has_resume, 0);
    /* Too small a buffer: nothing written, nothing counted. */
    assert_int_equal(cl_write_join(&c, buf, n - 1), 0);
    assert_int_equal(c.stats.msgs_up, 1);
    assert_int_equal(c.stats.bytes_up, n);
    /* A token over 200 characters is not cut (it would not verify): the
     * client holds none. */
    tok[PROTO_MAX_TOKEN] = 'Z';
    tok[PROTO_MAX_TOKEN + 1] = '\0';
    cl_set_token(&c, tok);
    assert_string_equal(c.token, "");
    assert_int_equal(cl_write_join(&c, buf, sizeof buf), 0);

    /* After a WELCOME the JOIN carries its resume token. */
    cl_set_token(&c, "abc");
    server_init(&s);
    n = server_welcome(&s, buf, sizeof buf);
    assert_int_equal(cl_receive(&c, buf, n, 0), PROTO_WELCOME);
    assert_int_equal(c.have_resume, 1);
    assert_memory_equal(c.resume, s.resume, PROTO_RESUME_LEN);
    n = cl_write_join(&c, buf, sizeof buf);
    assert_int_equal(n, 5 + 3 + PROTO_RESUME_LEN);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_string_equal(j.token, "abc");
    assert_int_equal(j.has_resume, 1);
    assert_memory_equal(j.resume, s.resume, PROTO_RESUME_LEN);
    /* The resume token alone (a join token is single use). */
    cl_set_token(&c, "");
    n = cl_write_join(&c, buf, sizeof buf);
    const uint8_t want[] = {0x01, PROTO_VERSION, 0x00, 0x10, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
                            0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    /* A later WELCOME's resume token replaces it. */
    s.resume[0] = 0x5e;
    n = server_welcome(&s, buf, sizeof buf);
    assert_int_equal(cl_receive(&c, buf, n, 0), PROTO_WELCOME);
    n = cl_write_join(&c, buf, sizeof buf);
    assert_int_equal(buf[4], 0x5e);
}

/* The connection drops: everything in flight is lost, the server holds the
 * player (not advancing, flagged DISCONNECTED). */
static void rig_drop(rig *r)
{
    cl_disconnected(&r->c);
    r->up.count = r->down.count = 0;
    r->s.held = 1;
    assert_int_equal(r->c.joined, 0);
    assert_null(cl_latest(&r->c));
}

/* One frame while disconnected: the input is recorded and predicted but
 * not sent; the server ticks with the player held; a snapshot that reaches
 * the client anyway (a stale one) is refused and changes nothing. */
static int rig_offline_frame(rig *r)
{
    static cl_client before;
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    uint8_t buttons = (uint8_t)(r->now % 7 == 0 ? SIM_BTN_UP : SIM_BTN_LEFT | SIM_BTN_FIRE);
    uint16_t aim = (uint16_t)(r->now * 331);
    uint32_t seq = cl_push_input(&r->c, buttons, aim, r->now * 1000.0 / TICK_RATE);
    if (seq) {
        assert_int_equal(seq, r->pushed + 1);
        r->pushed = seq;
        r->sent[seq] = (sim_input){.buttons = buttons, .aim = aim};
    }
    assert_int_equal(cl_write_input(&r->c, buf, sizeof buf), 0);
    server_tick(&r->s);
    size_t n = server_snapshot(&r->s, buf, sizeof buf);
    memcpy(&before, &r->c, sizeof before);
    assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_ERR_TYPE);
    assert_client_unchanged(&before, &r->c);
    r->now++;
    return seq != 0;
}

/* The server's inputs are exactly the ones the client pushed, in order. */
static void assert_server_got_all(const rig *r)
{
    for (uint32_t seq = 1; seq <= r->s.last_received; seq++)
        if (r->s.queue[seq].buttons != r->sent[seq].buttons || r->s.queue[seq].aim != r->sent[seq].aim)
            fail_msg("seq %u: the server has %u/%u, the client pushed %u/%u", seq, r->s.queue[seq].buttons,
                     r->s.queue[seq].aim, r->sent[seq].buttons, r->sent[seq].aim);
}

/* Drop, play on offline, resume: the resumed WELCOME keeps the seqs, the
 * unacked and offline inputs go out again from the last acked one, the
 * server applies each exactly once, and the snapshot the server took while
 * holding the player (DISCONNECTED set on the client's own entity) is not
 * a correction. */
static void test_resume_resends_offline_inputs(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 3, 4);
    for (int t = 0; t < 300; t++)
        rig_frame(r, 0);
    assert_int_equal(r->c.stats.corrections, 0);
    uint32_t acked = r->c.last_input_seq, pushed_before = r->pushed, applied = r->s.last_applied;
    assert_true(pushed_before > acked + 3); /* some were in flight */

    rig_drop(r);
    int offline = 0;
    for (int t = 0; t < 20; t++)
        offline += rig_offline_frame(r);
    assert_int_equal(offline, 20);
    assert_int_equal(r->s.last_applied, applied); /* held: not advancing */
    assert_int_equal(r->c.next_seq, pushed_before + 21);

    /* The JOIN asks for the same player back. */
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    size_t n = cl_write_join(&r->c, buf, sizeof buf);
    proto_join j;
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.has_resume, 1);
    assert_memory_equal(j.resume, r->s.resume, PROTO_RESUME_LEN);

    n = server_welcome_as(&r->s, ME, 1, buf, sizeof buf);
    assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_WELCOME);
    assert_int_equal(r->c.joined, 1);
    assert_int_equal(r->c.welcome.resumed, 1);
    assert_int_equal(r->c.next_seq, pushed_before + 21); /* seqs go on */
    assert_int_equal(r->c.last_input_seq, acked);
    assert_int_equal(r->c.have_self, 1);

    /* The first INPUT on the new connection starts right after the last
     * acked input and acknowledges no snapshot. */
    n = cl_write_input(&r->c, buf, sizeof buf);
    proto_input_msg m;
    assert_int_equal(proto_input_read(buf, n, &m), PROTO_OK);
    assert_int_equal(m.first_seq, acked + 1);
    assert_int_equal(m.count, PROTO_MAX_INPUTS_PER_MSG);
    assert_int_equal(m.ack_tick, 0);
    r->s.acked_tick = 0; /* a new connection: its first snapshot is full */
    server_receive(&r->s, buf, n);

    /* The newest snapshot was taken while the player was held. */
    n = server_snapshot(&r->s, buf, sizeof buf);
    assert_int_equal(buf[5], 0); /* full */
    assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_SNAPSHOT);
    assert_int_equal(cl_latest(&r->c)->ent[ME].flags & SIM_FLAG_DISCONNECTED, SIM_FLAG_DISCONNECTED);
    assert_int_equal(r->c.stats.corrections, 0);
    assert_int_equal(r->c.predicted.flags & SIM_FLAG_DISCONNECTED, 0);
    sim_player want = expected_prediction(r);
    assert_same_player(&want, &r->c.predicted, r->now);

    r->s.held = 0;
    for (int t = 0; t < 300; t++)
        rig_frame(r, 0);
    assert_int_equal(r->c.stats.corrections, 0);
    assert_true(r->s.last_applied > pushed_before + 20); /* the offline ones too */
    assert_true(r->pushed - r->s.last_received <= r->up_delay); /* the rest is in flight */
    assert_server_got_all(r);
    assert_int_equal(cl_latest(&r->c)->ent[ME].flags & SIM_FLAG_DISCONNECTED, 0);
}

/* While disconnected the client takes at most CL_MAX_UNACKED inputs
 * (what the server can buffer for a resume); the window reopens once the
 * server acknowledges them after the resume. */
static void test_offline_inputs_capped(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 2, 2);
    for (int t = 0; t < 100; t++)
        rig_frame(r, 0);
    uint32_t unacked = r->c.next_seq - 1 - r->c.last_input_seq;
    rig_drop(r);
    int taken = 0;
    for (int t = 0; t < 2 * CL_MAX_UNACKED; t++)
        taken += rig_offline_frame(r);
    assert_int_equal((uint32_t)taken, CL_MAX_UNACKED - unacked);
    assert_int_equal(r->c.next_seq - 1 - r->c.last_input_seq, CL_MAX_UNACKED);

    uint8_t buf[PROTO_MAX_SNAPSHOT];
    size_t n = server_welcome_as(&r->s, ME, 1, buf, sizeof buf);
    assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_WELCOME);
    r->s.held = 0;
    r->s.acked_tick = 0;
    /* Send the backlog (8 per message), let the server apply and ack it. */
    while ((n = cl_write_input(&r->c, buf, sizeof buf)) > 0)
        server_receive(&r->s, buf, n);
    assert_int_equal(r->s.last_received, r->pushed);
    r->s.max_apply = CL_MAX_UNACKED;
    server_tick(&r->s);
    r->s.max_apply = 8;
    n = server_snapshot(&r->s, buf, sizeof buf);
    assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_SNAPSHOT);
    assert_int_equal(r->c.last_input_seq, r->pushed);
    assert_int_equal(r->c.stats.corrections, 0);
    assert_server_got_all(r);
    for (int t = 0; t < 100; t++)
        rig_frame(r, 0);
    assert_int_equal(r->c.stats.corrections, 0);
}

/* The grace ran out (or the resume token was unknown) and the server
 * welcomed a new player: its seqs start again at 1 and the offline inputs
 * are forgotten. Same when a "resumed" WELCOME names another player. */
static void test_new_player_welcome_restarts_seqs(void **state)
{
    (void)state;
    rig *r = &g_rig;
    for (int variant = 0; variant < 3; variant++) {
        rig_init(r, 2, 3);
        for (int t = 0; t < 150; t++)
            rig_frame(r, 0);
        rig_drop(r);
        for (int t = 0; t < 10; t++)
            rig_offline_frame(r);
        assert_true(r->c.next_seq > 150);

        /* A fresh server-side player: new state, new resume token. */
        uint32_t now = r->now;
        server_init(&r->s);
        r->s.resume[0] = 0x11;
        r->s.tick = 1000;
        uint8_t buf[PROTO_MAX_SNAPSHOT];
        size_t n;
        if (variant == 0) {
            n = server_welcome_as(&r->s, ME, 0, buf, sizeof buf);
        } else if (variant == 1) {
            /* resumed, but not the player this client was */
            n = server_welcome_as(&r->s, ME + 1, 1, buf, sizeof buf);
        } else {
            /* resumed, to a client that never had a resume token */
            static cl_client fresh;
            cl_init(&fresh);
            r->c = fresh;
            cl_set_token(&r->c, "x");
            n = server_welcome_as(&r->s, ME, 1, buf, sizeof buf);
        }
        assert_int_equal(cl_receive(&r->c, buf, n, 0), PROTO_WELCOME);
        assert_int_equal(r->c.next_seq, 1);
        assert_int_equal(r->c.last_input_seq, 0);
        assert_int_equal(r->c.have_self, 0);
        assert_memory_equal(r->c.resume, r->s.resume, PROTO_RESUME_LEN);
        assert_int_equal(cl_write_input(&r->c, buf, sizeof buf), 0); /* nothing left over */
        if (variant == 1) {
            /* The client now plays ME + 1; let the in-test server agree. */
            r->c.welcome.player_id = ME;
        }
        r->pushed = 0;
        memset(r->sent, 0, sizeof r->sent);
        r->now = now;
        uint32_t corrections = r->c.stats.corrections;
        for (int t = 0; t < 200; t++)
            rig_frame(r, 0);
        assert_int_equal(r->s.queue[1].aim, r->sent[1].aim);
        assert_int_equal(r->c.stats.corrections, corrections);
        assert_true(r->c.last_input_seq > 150);
        assert_server_got_all(r);
    }
}

/* While still connected, the server may flag the client's own entity
 * DISCONNECTED (it saw the connection drop before the client did and holds
 * the player): the prediction does not count that as a correction, and the
 * flag is only presentation. */
static void test_disconnected_flag_not_a_correction(void **state)
{
    (void)state;
    rig *r = &g_rig;
    rig_init(r, 1, 2);
    for (int t = 0; t < 100; t++)
        rig_frame(r, 0);
    r->s.held = 1;
    int flagged = 0;
    for (int t = 0; t < 20; t++) {
        rig_frame(r, 0);
        flagged += (cl_latest(&r->c)->ent[ME].flags & SIM_FLAG_DISCONNECTED) != 0;
    }
    assert_true(flagged >= 15);
    assert_int_equal(r->c.stats.corrections, 0);
    cl_view_ent v[4];
    int n = cl_view(&r->c, r->now * 1000.0 / TICK_RATE, v, 4);
    for (int i = 0; i < n; i++)
        if (v[i].self)
            assert_int_equal(v[i].flags & SIM_FLAG_DISCONNECTED, 0);
    r->s.held = 0;
    for (int t = 0; t < 200; t++)
        rig_frame(r, 0);
    assert_int_equal(r->c.stats.corrections, 0);
    assert_server_got_all(r);
}


/* ---- version 3: close codes and backoff ------------------------------------ */

/* Every code the server sends, the standard ones, a client's own and some
 * no one sends: only 4001, 4002 and 4003 stop the retry loop. */
/* A spectator: spectate JOIN, spectator WELCOME, full then delta snapshots
 * decoded with every entity drawn as a remote one; nothing to send. */
static void test_spectator(void **state)
{
    (void)state;
    static cl_client c;
    static server s;
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    proto_join j;
    cl_init(&c);
    cl_set_token(&c, "dG9rZW4");
    cl_set_spectate(&c, 7);
    size_t n = cl_write_join(&c, buf, sizeof buf);
    assert_int_equal(n, 5 + 7 + 2);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.mode, PROTO_MODE_SPECTATE);
    assert_int_equal(j.match_id, 7);
    assert_int_equal(j.has_resume, 0);
    assert_int_equal(cl_push_input(&c, SIM_BTN_UP, 0, 0), 0);

    /* A player's WELCOME is not what a spectator asked for. */
    server_init(&s);
    n = server_welcome(&s, buf, sizeof buf);
    assert_int_equal(cl_receive(&c, buf, n, 0), PROTO_ERR_VALUE);
    assert_int_equal(c.joined, 0);

    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = PROTO_SPECTATOR_ID;
    w.tick_rate = TICK_RATE;
    w.snapshot_rate = TICK_RATE;
    w.match_id = 7;
    w.max_players = 16;
    w.map = s.map;
    w.spectator = 1;
    n = proto_welcome_write(&w, buf, sizeof buf);
    assert_int_equal(cl_receive(&c, buf, n, 0), PROTO_WELCOME);
    assert_int_equal(cl_is_spectator(&c), 1);
    assert_int_equal(c.have_resume, 0);

    for (int t = 0; t < 60; t++) {
        server_tick(&s);
        n = server_snapshot(&s, buf, sizeof buf);
        assert_int_equal(cl_receive(&c, buf, n, t * 1000.0 / TICK_RATE), PROTO_SNAPSHOT);
        s.acked_tick = s.tick; /* a spectator's baseline: the last snapshot written */
    }
    assert_int_equal(s.full_sent, 1);
    assert_int_equal(s.delta_sent, 59);
    assert_int_equal(c.stats.snapshots, 60);
    assert_int_equal(c.have_self, 0);
    assert_int_equal(cl_push_input(&c, SIM_BTN_UP, 0, 1000), 0);
    assert_int_equal(cl_write_input(&c, buf, sizeof buf), 0);
    assert_int_equal(cl_write_chat(&c, "hi", 2, buf, sizeof buf), 0);
    const proto_snapshot *latest = cl_latest(&c);
    assert_memory_equal(&latest->ent[NPC], &s.ring[s.tick % PROTO_BASELINE_WINDOW].ent[NPC], sizeof(sim_netent));
    cl_view_ent v[8];
    n = (size_t)cl_view(&c, 60 * 1000.0 / TICK_RATE, v, 8);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i].self, 0);
    assert_true(c.stats.interp_frames >= 2);

    /* After a drop it joins again as a spectator, with no resume token. */
    cl_disconnected(&c);
    n = cl_write_join(&c, buf, sizeof buf);
    assert_int_equal(proto_join_read(buf, n, &j), PROTO_OK);
    assert_int_equal(j.mode, PROTO_MODE_SPECTATE);
    assert_int_equal(j.has_resume, 0);

    /* A player does not accept a spectator WELCOME. */
    static cl_client p;
    cl_init(&p);
    cl_set_token(&p, "abc");
    n = proto_welcome_write(&w, buf, sizeof buf);
    assert_int_equal(cl_receive(&p, buf, n, 0), PROTO_ERR_VALUE);
    assert_int_equal(p.joined, 0);
}

static void test_close_action_every_code(void **state)
{
    (void)state;
    static const struct {
        int code;
        cl_close_act want;
    } cases[] = {
        {1000, CL_CLOSE_RETRY}, /* normal: not sent by the server, harmless */
        {1001, CL_CLOSE_RETRY}, /* server shutting down */
        {1002, CL_CLOSE_RETRY}, /* protocol error */
        {1003, CL_CLOSE_RETRY}, /* text frame */
        {1005, CL_CLOSE_RETRY}, /* no status */
        {1006, CL_CLOSE_RETRY}, /* no close frame: a network drop */
        {1008, CL_CLOSE_RETRY}, /* v2's catch-all: no longer sent, not a refusal */
        {1009, CL_CLOSE_RETRY}, /* message too large */
        {1011, CL_CLOSE_RETRY}, /* server error */
        {PROTO_CLOSE_CLIENT_DROP, CL_CLOSE_RETRY},
        {PROTO_CLOSE_TOKEN_REFUSED, CL_CLOSE_REFUSED},
        {PROTO_CLOSE_RESUME_EXPIRED, CL_CLOSE_REJOIN},
        {PROTO_CLOSE_REPLACED, CL_CLOSE_REPLACED},
        {PROTO_CLOSE_RATE_LIMIT, CL_CLOSE_RETRY},
        {PROTO_CLOSE_IDLE, CL_CLOSE_RETRY},
        {PROTO_CLOSE_JOIN_TIMEOUT, CL_CLOSE_RETRY},
        {PROTO_CLOSE_SLOW_READER, CL_CLOSE_RETRY},
        {PROTO_CLOSE_SERVER_FULL, CL_CLOSE_RETRY},
        {PROTO_CLOSE_SPECTATOR_INPUT, CL_CLOSE_RETRY}, /* a client bug */
        {PROTO_CLOSE_NO_SUCH_MATCH, CL_CLOSE_RETRY},   /* the match may start later */
        {4013, CL_CLOSE_RETRY}, /* unknown private codes: a newer server */
        {4999, CL_CLOSE_RETRY},
        {3000, CL_CLOSE_RETRY},
        {0, CL_CLOSE_RETRY},
        {-1, CL_CLOSE_RETRY},
        {65535, CL_CLOSE_RETRY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cl_close_action(cases[i].code) != cases[i].want)
            fail_msg("code %d: action %d, want %d", cases[i].code, cl_close_action(cases[i].code), cases[i].want);
    }
    /* The numbers are the wire contract of docs/PROTOCOL.md section 11. */
    assert_int_equal(PROTO_CLOSE_CLIENT_DROP, 4000);
    assert_int_equal(PROTO_CLOSE_TOKEN_REFUSED, 4001);
    assert_int_equal(PROTO_CLOSE_RESUME_EXPIRED, 4002);
    assert_int_equal(PROTO_CLOSE_REPLACED, 4003);
    assert_int_equal(PROTO_CLOSE_RATE_LIMIT, 4004);
    assert_int_equal(PROTO_CLOSE_IDLE, 4005);
    assert_int_equal(PROTO_CLOSE_JOIN_TIMEOUT, 4006);
    assert_int_equal(PROTO_CLOSE_SLOW_READER, 4007);
    assert_int_equal(PROTO_CLOSE_SERVER_FULL, 4008);
    assert_int_equal(PROTO_CLOSE_EVENTS_BEHIND, 4009);
    assert_int_equal(PROTO_CLOSE_CHAT_FLOOD, 4010);
    assert_int_equal(PROTO_CLOSE_SPECTATOR_INPUT, 4011);
    assert_int_equal(PROTO_CLOSE_NO_SUCH_MATCH, 4012);
    /* ... and the action values are what tw_close_action hands JavaScript. */
    assert_int_equal(CL_CLOSE_RETRY, 0);
    assert_int_equal(CL_CLOSE_REJOIN, 1);
    assert_int_equal(CL_CLOSE_REFUSED, 2);
    assert_int_equal(CL_CLOSE_REPLACED, 3);
}

/* The bound doubles from 250 ms to the 8 s cap; the wait spans [0, bound). */
static void test_backoff_bounds(void **state)
{
    (void)state;
    static const uint32_t want[] = {250, 500, 1000, 2000, 4000, 8000, 8000, 8000};
    for (int a = 0; a < 8; a++) {
        assert_int_equal(cl_backoff_ms(a, 0.0, 0, 0), 0);
        assert_int_equal(cl_backoff_ms(a, 0.5, 0, 0), want[a] / 2);
        assert_int_equal(cl_backoff_ms(a, 1.0 - 1e-12, 0, 0), want[a] - 1);
    }
    /* Huge attempt counts neither overflow nor pass the cap. */
    assert_int_equal(cl_backoff_ms(1000000, 0.999999, 0, 0), 7999);
    assert_int_equal(cl_backoff_ms(63, 0.5, 0, 0), 4000);
    assert_int_equal(cl_backoff_ms(-5, 0.5, 0, 0), 125); /* negative: attempt 0 */
    /* Out-of-range random numbers are clamped into [0, bound). */
    assert_int_equal(cl_backoff_ms(0, -0.5, 0, 0), 0);
    assert_int_equal(cl_backoff_ms(0, 1.0, 0, 0), 249);
    assert_int_equal(cl_backoff_ms(0, 7.0, 0, 0), 249);
    assert_int_equal(cl_backoff_ms(0, 1e300, 0, 0), 249);
    assert_int_equal(cl_backoff_ms(0, NAN, 0, 0), 0);
    /* Explicit base and cap (the bots' options). */
    assert_int_equal(cl_backoff_ms(0, 0.5, 100, 900), 50);
    assert_int_equal(cl_backoff_ms(3, 0.5, 100, 900), 400);
    assert_int_equal(cl_backoff_ms(4, 0.5, 100, 900), 450);
    assert_int_equal(cl_backoff_ms(2, 0.5, 100, 0), 200); /* cap 0: 8 s */
    assert_int_equal(cl_backoff_ms(9, 0.5, 0, 1000), 500); /* base 0: 250 ms */
    assert_int_equal(cl_backoff_ms(40, 0.5, 60000, 600000), 300000);
}

/* Full jitter: uniform over the range, so the mean is half the bound and
 * every tenth of the range gets about a tenth of the draws. */
static void test_backoff_full_jitter(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    const int n = 100000;
    for (int a = 0; a <= 6; a += 3) {
        uint32_t bound = a == 0 ? 250 : a == 3 ? 2000 : 8000;
        int bins[10] = {0};
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double u = (double)(sim_rand_next(&rng) >> 11) / 9007199254740992.0;
            uint32_t d = cl_backoff_ms(a, u, 0, 0);
            assert_true(d < bound);
            sum += d;
            bins[d * 10 / bound]++;
        }
        double mean = sum / n;
        if (mean < bound * 0.49 || mean > bound * 0.51)
            fail_msg("attempt %d: mean %.1f ms, want about %u", a, mean, bound / 2);
        for (int b = 0; b < 10; b++)
            if (bins[b] < n / 10 * 0.95 || bins[b] > n / 10 * 1.05)
                fail_msg("attempt %d: bin %d has %d of %d draws", a, b, bins[b], n);
    }
}

/* ---- input timing (cl_plan_send) -------------------------------------------
 * Continuous time: the server ticks at E + T x P (E unknown to the client)
 * and applies every input that arrived by then; its snapshot reaches the
 * client `down` ms after the tick, an input the server `up` ms after it
 * was sent, each plus up to 0.5 ms of jitter, in order (TCP). The client
 * sends when cl_plan_send says. */

typedef struct tpipe {
    double due[PIPE];
    size_t len[PIPE];
    uint8_t bytes[PIPE][PROTO_MAX_SNAPSHOT];
    int head, count;
    double last_due;
} tpipe;

static void tpipe_push(tpipe *p, double due, const uint8_t *b, size_t len)
{
    assert_true(p->count < PIPE);
    int i = (p->head + p->count) % PIPE;
    p->due[i] = due > p->last_due ? due : p->last_due; /* in order */
    p->last_due = p->due[i];
    p->len[i] = len;
    memcpy(p->bytes[i], b, len);
    p->count++;
}

typedef struct timing_run {
    double wait_sum;      /* server side: tick time minus arrival, inputs applied at their first tick */
    uint32_t waited, late; /* ... and those that arrived after the tick they were sent for */
    uint32_t acks, slow;  /* inputs acknowledged; ... more than the link's RTT + 4 ms after their send */
    double lead_end;
} timing_run;

static tpipe g_up, g_down;
static double g_arrived[MAX_SEQ + 1], g_sent_at[MAX_SEQ + 1];

/* Ticks from..to of a run whose uplink delay is `up` until tick
 * `step_at` and `up + step` after it. plan 0: the client sends every
 * 1.0007 periods instead, sweeping every phase of the tick in the run. */
static void timing_sim(rig *r, int plan, double up, double down, uint32_t step_at, double step, uint32_t from,
                       uint32_t to, timing_run *out)
{
    const double P = 1000.0 / TICK_RATE, E = 3.7, write = 0.4;
    uint64_t rng = 99;
    memset(&g_up, 0, sizeof g_up);
    memset(&g_down, 0, sizeof g_down);
    memset(out, 0, sizeof *out);
    uint8_t buf[PROTO_MAX_SNAPSHOT];
    double next_send = 1.0;
    uint32_t acked = 0;
    for (uint32_t T = 1; T <= to; T++) {
        double D = E + T * P;
        double u = T >= step_at ? up + step : up;
        for (;;) {
            double ts = next_send < D ? next_send : 1e300;
            double tu = g_up.count && g_up.due[g_up.head] <= D ? g_up.due[g_up.head] : 1e300;
            double td = g_down.count && g_down.due[g_down.head] < D ? g_down.due[g_down.head] : 1e300;
            if (ts == 1e300 && tu == 1e300 && td == 1e300)
                break;
            if (ts <= tu && ts <= td) {
                uint32_t seq = cl_push_input(&r->c, SIM_BTN_RIGHT, 0, ts);
                assert_true(seq > 0 && seq <= MAX_SEQ);
                g_sent_at[seq] = ts;
                size_t n = cl_write_input(&r->c, buf, sizeof buf);
                assert_true(n > 0);
                tpipe_push(&g_up, ts + u + rnd(&rng, 51) / 100.0, buf, n);
                next_send = plan && r->c.have_grid ? cl_plan_send(&r->c, ts + P / 2) : ts + P * (plan ? 1.0 : 1.0007);
            } else if (tu <= td) {
                uint32_t before = r->s.last_received;
                server_receive(&r->s, g_up.bytes[g_up.head], g_up.len[g_up.head]);
                for (uint32_t q = before + 1; q <= r->s.last_received; q++)
                    g_arrived[q] = tu;
                g_up.head = (g_up.head + 1) % PIPE, g_up.count--;
            } else {
                assert_int_equal(cl_receive(&r->c, g_down.bytes[g_down.head], g_down.len[g_down.head], td),
                                 PROTO_SNAPSHOT);
                for (; acked < r->c.last_input_seq; acked++) {
                    double rtt = td - g_sent_at[acked + 1];
                    if (T >= from) {
                        out->acks++;
                        out->slow += rtt > u + down + write + 1.0 + 4.0; /* + the jitter both ways, + 4 ms */
                    }
                }
                g_down.head = (g_down.head + 1) % PIPE, g_down.count--;
            }
        }
        uint32_t before = r->s.last_applied;
        server_tick(&r->s);
        for (uint32_t q = before + 1; q <= r->s.last_applied; q++) {
            if (T < from)
                continue;
            double w = D - g_arrived[q];
            if (w >= P - 0.01) /* sat a whole tick: it arrived just after the previous one */
                out->late++;
            else
                out->wait_sum += w, out->waited++;
        }
        size_t n = server_snapshot(&r->s, buf, sizeof buf);
        tpipe_push(&g_down, D + write + down + rnd(&rng, 51) / 100.0, buf, n);
    }
    out->lead_end = r->c.lead_ms;
}

/* Inputs sent when cl_plan_send says reach the server just before their
 * tick: a wait of a couple of ms instead of half a tick on average, with
 * the input -> ack time near the link's own round trip. When the uplink
 * gets 4 ms slower, the late inputs move the lead up by about that, and
 * inputs are on time again. */
static void test_input_timing(void **state)
{
    (void)state;
    rig *r = &g_rig;
    const double P = 1000.0 / TICK_RATE;
    timing_run a, b;
    rig_init(r, 0, 0);
    r->s.max_apply = 8;
    timing_sim(r, 1, 5.0, 5.0, 100000, 0.0, 600, 1800, &a);
    double wait_a = a.wait_sum / a.waited;
    print_message("input timing: wait %.2f ms at the server, %u of %u late, %u of %u acks over the link's RTT + "
                  "5 ms, lead %.2f ms (%u judged, %u late)\n", wait_a, a.late, a.waited + a.late, a.slow, a.acks,
                  a.lead_end, r->c.stats.inputs_judged, r->c.stats.inputs_late);
    assert_true(a.waited > 1100);
    assert_true(wait_a < 2.5);                 /* half a tick (8.3 ms) without it */
    assert_true(a.late * 100 < a.waited);      /* < 1% sat a whole tick */
    assert_true(a.acks > 1100 && a.slow * 100 < a.acks); /* p99 within the link's RTT + 5 ms */
    /* The grid is seen through the downlink: the lead covers both ways. */
    assert_true(a.lead_end > 10.4 && a.lead_end < 10.4 + 4.0);
    assert_true(r->c.stats.inputs_judged > 1500 && r->c.stats.inputs_late > 0);
    assert_true(r->c.stats.lead_ms == (float)r->c.lead_ms);

    rig_init(r, 0, 0);
    r->s.max_apply = 8;
    timing_sim(r, 1, 5.0, 5.0, 1200, 4.0, 1500, 3000, &b);
    double wait_b = b.wait_sum / b.waited;
    print_message("input timing: uplink 4 ms slower at tick 1200: lead %.2f ms (was %.2f), wait %.2f ms, "
                  "%u of %u late after tick 1500\n", b.lead_end, a.lead_end, wait_b, b.late, b.waited + b.late);
    assert_true(b.lead_end > a.lead_end + 2.0 && b.lead_end < a.lead_end + 6.0);
    assert_true(wait_b < 2.5);
    assert_true(b.late * 100 < b.waited);
    assert_true(b.slow * 100 < b.acks);

    /* 100 ms slower (six periods and 0.0 ms): the lead moves by whole
     * periods at once, not a millisecond per late input. */
    rig_init(r, 0, 0);
    r->s.max_apply = 8;
    timing_sim(r, 1, 5.0, 5.0, 1200, 100.0, 2000, 3000, &b); /* then a walk of up to a period */
    wait_b = b.wait_sum / b.waited;
    print_message("input timing: uplink 100 ms slower at tick 1200: lead %.2f ms, %u rebases, wait %.2f ms, "
                  "%u of %u late after tick 2000\n", b.lead_end, r->c.stats.lead_rebases, wait_b, b.late,
                  b.waited + b.late);
    assert_true(b.lead_end > a.lead_end + 100.0 - P && b.lead_end < a.lead_end + 100.0 + P);
    assert_true(r->c.stats.lead_rebases >= 1);
    assert_true(wait_b < 2.5);
    assert_true(b.late * 100 < b.waited);

    /* Without it, sending at whatever moment, an input waits half a tick
     * on average: what the above is measured against. */
    rig_init(r, 0, 0);
    r->s.max_apply = 8;
    timing_run c;
    timing_sim(r, 0, 5.0, 5.0, 100000, 0.0, 600, 1800, &c);
    double wait_c = c.wait_sum / (c.waited ? c.waited : 1);
    print_message("input timing: without it, wait %.2f ms, %u of %u acks over the link's RTT + 5 ms\n", wait_c, c.slow,
                  c.acks);
    assert_true(wait_c > 0.4 * P && wait_c < 0.6 * P);
    assert_true(c.slow * 4 > c.acks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_corrections_when_server_agrees),
        cmocka_unit_test(test_correction_counted_with_size),
        cmocka_unit_test(test_unacked_inputs_replayed),
        cmocka_unit_test(test_write_input_each_once_in_order),
        cmocka_unit_test(test_push_input_limits),
        cmocka_unit_test(test_unknown_baseline_and_bad_snapshots),
        cmocka_unit_test(test_baseline_window),
        cmocka_unit_test(test_view),
        cmocka_unit_test(test_view_health_matches_flags),
        cmocka_unit_test(test_interpolation_adapts_to_jitter),
        cmocka_unit_test(test_view_no_blend_across_respawn),
        cmocka_unit_test(test_view_not_before_join),
        cmocka_unit_test(test_view_clamped_to_snapshots_held),
        cmocka_unit_test(test_join_token_and_resume_token),
        cmocka_unit_test(test_resume_resends_offline_inputs),
        cmocka_unit_test(test_offline_inputs_capped),
        cmocka_unit_test(test_new_player_welcome_restarts_seqs),
        cmocka_unit_test(test_disconnected_flag_not_a_correction),
        cmocka_unit_test(test_spectator),
        cmocka_unit_test(test_close_action_every_code),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test(test_input_timing),
    };
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
