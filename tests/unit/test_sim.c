/* Unit tests for shared/sim.c, the arena-move simulation.
 *
 * Determinism (same seed and inputs -> same bytes every tick), the movement
 * invariants every step (speed cap, inside the arena, outside the walls,
 * on the 1/16 wire grid), friction ending in exact rest, spawns, slot
 * removal, multi-step ticks and the splitmix64 generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "sim.h"

/* The walls of assets/arena.map. */
static const sim_wall ARENA_WALLS[] = {
    {960, 704, 1088, 1344}, {704, 960, 1344, 1088},                           /* cross */
    {320, 320, 576, 448}, {1472, 320, 1728, 448},                             /* corners */
    {320, 1600, 576, 1728}, {1472, 1600, 1728, 1728},
    {160, 992, 288, 1056}, {1760, 992, 1888, 1056},                           /* pillars */
    {992, 160, 1056, 288}, {992, 1760, 1056, 1888},
};

static sim_map arena_map(void)
{
    sim_map m;
    memset(&m, 0, sizeof m);
    m.width = SIM_ARENA_SIZE;
    m.height = SIM_ARENA_SIZE;
    m.nwalls = (uint8_t)(sizeof ARENA_WALLS / sizeof ARENA_WALLS[0]);
    memcpy(m.walls, ARENA_WALLS, sizeof ARENA_WALLS);
    return m;
}

static sim_map empty_map(void)
{
    sim_map m;
    memset(&m, 0, sizeof m);
    m.width = SIM_ARENA_SIZE;
    m.height = SIM_ARENA_SIZE;
    return m;
}

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    return (uint32_t)((sim_rand_next(s) >> 32) % n);
}

/* Explicit little-endian bytes of a player as the wire sees it. */
#define NETENT_BYTES 21
static size_t netent_bytes(const sim_player *p, uint8_t *out)
{
    sim_netent n;
    sim_player_to_net(p, &n);
    const uint16_t f[9] = {n.x, n.y, (uint16_t)n.vx, (uint16_t)n.vy, n.aim, n.kills, n.deaths, n.score, n.hits};
    for (int i = 0; i < 9; i++) {
        out[2 * i] = (uint8_t)f[i];
        out[2 * i + 1] = (uint8_t)(f[i] >> 8);
    }
    out[18] = n.flags;
    out[19] = n.health;
    out[20] = n.life;
    return NETENT_BYTES;
}

/* Random inputs the way a player makes them: a button set held for a
 * while, aim moving every tick, 0..3 steps per tick (jitter, catch-up). */
typedef struct input_gen {
    uint64_t rng;
    uint8_t held[SIM_MAX_PLAYERS];
    uint16_t hold_left[SIM_MAX_PLAYERS];
    uint16_t aim[SIM_MAX_PLAYERS];
} input_gen;

static void gen_tick(input_gen *g, int nplayers, sim_tick_inputs *ti)
{
    memset(ti, 0, sizeof *ti);
    for (int id = 0; id < nplayers; id++) {
        ti->count[id] = (uint8_t)rnd(&g->rng, 4);
        for (int k = 0; k < ti->count[id]; k++) {
            if (g->hold_left[id] == 0) {
                g->held[id] = (uint8_t)rnd(&g->rng, SIM_BTN_ALL + 1);
                g->hold_left[id] = (uint16_t)(1 + rnd(&g->rng, 90));
            }
            g->hold_left[id]--;
            g->aim[id] = (uint16_t)(g->aim[id] + rnd(&g->rng, 2048) - 1024);
            ti->in[id][k] = (sim_input){.buttons = g->held[id], .aim = g->aim[id]};
        }
    }
}

/* Two worlds from the same seed fed the same inputs stay byte-identical,
 * every tick for 10,000 ticks, shooting and dying included; and a world
 * without combat stays identical to one stepped one player-step at a time
 * with sim_player_step. */
static void test_determinism_two_worlds(void **state)
{
    (void)state;
    enum { PLAYERS = 16, TICKS = 10000 };
    static sim_world a, b, c, d;
    static sim_tick_inputs ti;
    sim_map map = arena_map();
    sim_world_init(&a, &map, 60, 0x5eed);
    sim_world_init(&b, &map, 60, 0x5eed);
    sim_world_init(&c, &map, 60, 0x5eed);
    sim_world_init(&d, &map, 60, 0x5eed);
    a.unlag_ticks = b.unlag_ticks = 15;
    d.combat = 0;
    for (int id = 0; id < PLAYERS; id++) {
        sim_world_spawn(&a, id, (uint32_t)id);
        sim_world_spawn(&b, id, (uint32_t)id);
        sim_world_spawn(&c, id, (uint32_t)id);
        sim_world_spawn(&d, id, (uint32_t)id);
    }
    input_gen ga = {.rng = 99}, gb = {.rng = 99};
    uint32_t moved = 0, steps = 0, kills = 0;
    for (int t = 0; t < TICKS; t++) {
        gen_tick(&ga, PLAYERS, &ti);
        for (int id = 0; id < PLAYERS; id++)
            for (int k = 0; k < ti.count[id]; k++) {
                /* the shooter saw the others 0..20 ticks ago */
                ti.in[id][k].view_tick = a.tick > 20 ? a.tick - (uint32_t)((t + id) % 21) : 0;
                ti.in[id][k].view_frac = (uint8_t)(t * 37 + id);
            }
        sim_world_step(&a, &ti);
        sim_world_step(&d, &ti);
        for (int id = 0; id < PLAYERS; id++)
            for (int k = 0; k < ti.count[id]; k++, steps++)
                sim_player_step(&c.map, &c.players[id], &ti.in[id][k], 1.0f / 60.0f);
        for (int h = 0; h < a.nhits; h++)
            kills += a.hits[h].killed;
        gen_tick(&gb, PLAYERS, &ti);
        for (int id = 0; id < PLAYERS; id++)
            for (int k = 0; k < ti.count[id]; k++) {
                ti.in[id][k].view_tick = b.tick > 20 ? b.tick - (uint32_t)((t + id) % 21) : 0;
                ti.in[id][k].view_frac = (uint8_t)(t * 37 + id);
            }
        sim_world_step(&b, &ti);
        assert_int_equal(a.tick, (uint32_t)t + 1);
        assert_int_equal(b.tick, a.tick);
        for (int id = 0; id < PLAYERS; id++) {
            uint8_t ea[NETENT_BYTES], eb[NETENT_BYTES], ec[NETENT_BYTES], ed[NETENT_BYTES];
            netent_bytes(&a.players[id], ea);
            netent_bytes(&b.players[id], eb);
            netent_bytes(&c.players[id], ec);
            netent_bytes(&d.players[id], ed);
            if (memcmp(ea, eb, NETENT_BYTES) != 0 || memcmp(ed, ec, NETENT_BYTES) != 0)
                fail_msg("tick %d player %d differs", t, id);
            /* The float state too, not only its wire form. */
            assert_memory_equal(a.players[id].pos, b.players[id].pos, sizeof a.players[id].pos);
            assert_memory_equal(d.players[id].vel, c.players[id].vel, sizeof d.players[id].vel);
            moved += a.players[id].vel[0] != 0.0f;
        }
    }
    /* Not a vacuous run: players moved most of the time, and fought. */
    assert_true(moved > PLAYERS * TICKS / 3);
    assert_true(steps > PLAYERS * TICKS);
    assert_true(kills > 20);
}

/* A different seed spawns elsewhere, so the worlds are not trivially equal. */
static void test_seed_matters(void **state)
{
    (void)state;
    static sim_world a, b;
    sim_map map = arena_map();
    sim_world_init(&a, &map, 60, 1);
    sim_world_init(&b, &map, 60, 2);
    int same = 0;
    for (int id = 0; id < 16; id++) {
        sim_world_spawn(&a, id, 0);
        sim_world_spawn(&b, id, 0);
        same += a.players[id].pos[0] == b.players[id].pos[0] && a.players[id].pos[1] == b.players[id].pos[1];
    }
    assert_true(same < 2);
}

static int on_grid(float v, float scale)
{
    float s = v * scale;
    return floorf(s) == s;
}

/* Squared distance from a point to a wall rectangle (0 inside). */
static double wall_dist2(const sim_wall *w, double x, double y)
{
    double cx = x < w->x0 ? w->x0 : x > w->x1 ? w->x1 : x;
    double cy = y < w->y0 ? w->y0 : y > w->y1 ? w->y1 : y;
    return (x - cx) * (x - cx) + (y - cy) * (y - cy);
}

/* The step snaps to the 1/16 grid after resolving collisions: each
 * coordinate moves by at most half a grid step (1/32 unit), so the circle
 * can end up at most sqrt(2)/32 = 0.0442 units into a wall (at a corner). */
#define WALL_TOLERANCE (1.4142136 / 32.0 + 1e-4)

static void check_invariants(const sim_map *map, const sim_player *p, int step)
{
    const double r = SIM_PLAYER_RADIUS;
    double speed2 = (double)p->vel[0] * p->vel[0] + (double)p->vel[1] * p->vel[1];
    if (speed2 > (double)SIM_MAX_SPEED * SIM_MAX_SPEED)
        fail_msg("step %d: speed %.9f > %g", step, sqrt(speed2), (double)SIM_MAX_SPEED);
    sim_netent n;
    sim_player_to_net(p, &n);
    int64_t v2 = (int64_t)n.vx * n.vx + (int64_t)n.vy * n.vy;
    const int64_t vmax = (int64_t)(SIM_MAX_SPEED * SIM_VEL_SCALE);
    if (v2 > vmax * vmax)
        fail_msg("step %d: wire speed (%d,%d) over the cap", step, n.vx, n.vy);
    for (int k = 0; k < 2; k++) {
        double lim = (k ? map->height : map->width) - r;
        if (p->pos[k] < r || p->pos[k] > lim)
            fail_msg("step %d: pos[%d] = %f outside the arena [%g, %g]", step, k, (double)p->pos[k], r, lim);
        if (!on_grid(p->pos[k], SIM_POS_SCALE) || !on_grid(p->vel[k], SIM_VEL_SCALE))
            fail_msg("step %d: off the grid: pos %.9f vel %.9f", step, (double)p->pos[k], (double)p->vel[k]);
    }
    for (int i = 0; i < map->nwalls; i++) {
        double d2 = wall_dist2(&map->walls[i], p->pos[0], p->pos[1]);
        if (d2 < (r - WALL_TOLERANCE) * (r - WALL_TOLERANCE))
            fail_msg("step %d: player (%f, %f) is %f into wall %d", step, (double)p->pos[0],
                     (double)p->pos[1], r - sqrt(d2), i);
    }
    /* Converting to the wire form and back is exact: the same values
     * (compared with ==: the step may leave a velocity of -0.0f, which the
     * wire carries as 0 and which behaves like +0.0f in every later step). */
    sim_player q;
    memset(&q, 0, sizeof q);
    sim_player_from_net(&n, &q);
    for (int k = 0; k < 2; k++)
        if (q.pos[k] != p->pos[k] || q.vel[k] != p->vel[k])
            fail_msg("step %d: wire round trip changed pos/vel[%d]", step, k);
    assert_int_equal(q.aim, p->aim);
    assert_int_equal(q.flags, p->flags);
}

/* Every step of many players with random held inputs, on the arena map and
 * at several tick rates: speed capped, in the arena, out of the walls, on
 * the grid. Also counts that walls and edges were actually hit. */
static void test_movement_invariants(void **state)
{
    (void)state;
    sim_map map = arena_map();
    static sim_world w;
    const uint16_t rates[] = {60, 30, 20, 128};
    int step = 0;
    uint32_t wall_contacts = 0, edge_contacts = 0, at_max = 0;
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        sim_world_init(&w, &map, rates[r], 1000 + r);
        input_gen g = {.rng = 5 + r};
        const float dt = 1.0f / (float)rates[r];
        for (int id = 0; id < 32; id++)
            sim_world_spawn(&w, id, 0);
        for (int t = 0; t < 4000; t++) {
            sim_tick_inputs ti;
            gen_tick(&g, 32, &ti);
            for (int id = 0; id < 32; id++) {
                sim_player *p = &w.players[id];
                for (int k = 0; k < ti.count[id]; k++, step++) {
                    sim_player_step(&map, p, &ti.in[id][k], dt);
                    check_invariants(&map, p, step);
                    assert_int_equal(p->aim, ti.in[id][k].aim);
                    assert_int_equal(p->flags & SIM_FLAG_FIRING, ti.in[id][k].buttons & SIM_BTN_FIRE ? SIM_FLAG_FIRING : 0);
                    double s2 = (double)p->vel[0] * p->vel[0] + (double)p->vel[1] * p->vel[1];
                    at_max += s2 > 299.0 * 299.0;
                    for (int i = 0; i < map.nwalls; i++)
                        wall_contacts += wall_dist2(&map.walls[i], p->pos[0], p->pos[1]) < 17.0 * 17.0;
                    edge_contacts += p->pos[0] == 16.0f || p->pos[1] == 16.0f ||
                                     p->pos[0] == 2032.0f || p->pos[1] == 2032.0f;
                }
            }
        }
    }
    assert_true(wall_contacts > 1000);
    assert_true(edge_contacts > 1000);
    assert_true(at_max > 1000);
}

/* Pushing straight into a wall and into a corner of the cross for a long
 * time never gets the player in. */
static void test_walls_hold_under_pressure(void **state)
{
    (void)state;
    sim_map map = arena_map();
    struct { float x, y; uint8_t buttons; } cases[] = {
        {900, 1200, SIM_BTN_RIGHT},                /* into the cross from the left */
        {900, 900, SIM_BTN_RIGHT | SIM_BTN_DOWN},  /* into its inner corner */
        {1200, 1200, SIM_BTN_LEFT | SIM_BTN_UP},   /* the opposite inner corner */
        {448, 500, SIM_BTN_UP},                    /* into a block from below */
        {30, 30, SIM_BTN_LEFT | SIM_BTN_UP},       /* arena corner */
        {2000, 2000, SIM_BTN_RIGHT | SIM_BTN_DOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_player p;
        memset(&p, 0, sizeof p);
        p.pos[0] = cases[i].x;
        p.pos[1] = cases[i].y;
        sim_input in = {.buttons = cases[i].buttons, .aim = 0};
        for (int s = 0; s < 600; s++) {
            sim_player_step(&map, &p, &in, 1.0f / 60.0f);
            check_invariants(&map, &p, s);
        }
        /* It came to rest against the obstacle: no creeping along it. */
        sim_player before = p;
        sim_player_step(&map, &p, &in, 1.0f / 60.0f);
        assert_memory_equal(p.pos, before.pos, sizeof p.pos);
    }
}

/* Releasing the keys: friction brings the velocity to exactly 0.0f within
 * ~1.5 s and the player then stays put, bit for bit. */
static void test_friction_exact_rest(void **state)
{
    (void)state;
    sim_map map = empty_map();
    const uint8_t dirs[] = {SIM_BTN_RIGHT, SIM_BTN_LEFT, SIM_BTN_UP | SIM_BTN_LEFT,
                            SIM_BTN_DOWN | SIM_BTN_RIGHT, SIM_BTN_DOWN};
    const uint16_t rates[] = {60, 20, 128};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
    for (size_t d = 0; d < sizeof dirs; d++) {
        const float dt = 1.0f / (float)rates[r];
        sim_player p;
        memset(&p, 0, sizeof p);
        p.pos[0] = p.pos[1] = 1024;
        sim_input go = {.buttons = dirs[d], .aim = 123};
        for (int s = 0; s < rates[r] * 2; s++) /* 2 s: close to full speed */
            sim_player_step(&map, &p, &go, dt);
        double speed = sqrt((double)p.vel[0] * p.vel[0] + (double)p.vel[1] * p.vel[1]);
        assert_true(speed > 290.0 && speed <= 300.0);

        sim_input stop = {.buttons = 0, .aim = 123};
        int steps = 0;
        double prev = speed;
        while (p.vel[0] != 0.0f || p.vel[1] != 0.0f) {
            sim_player_step(&map, &p, &stop, dt);
            double s2 = sqrt((double)p.vel[0] * p.vel[0] + (double)p.vel[1] * p.vel[1]);
            assert_true(s2 < prev); /* strictly slowing down */
            prev = s2;
            if (++steps > rates[r] * 3 / 2)
                fail_msg("rate %u dir %u: still moving after %d steps: (%.9f, %.9f)", rates[r], dirs[d],
                         steps, (double)p.vel[0], (double)p.vel[1]);
        }
        /* Exactly zero, not -0.0 creeping or a denormal. */
        assert_true(p.vel[0] == 0.0f && p.vel[1] == 0.0f);
        sim_player rest = p;
        for (int s = 0; s < 200; s++)
            sim_player_step(&map, &p, &stop, dt);
        assert_memory_equal(p.pos, rest.pos, sizeof p.pos);
        assert_true(p.vel[0] == 0.0f && p.vel[1] == 0.0f);
    }
}

/* Opposite buttons cancel; all four together is no movement. */
static void test_opposite_buttons_cancel(void **state)
{
    (void)state;
    sim_map map = empty_map();
    const uint8_t cancel[] = {0, SIM_BTN_UP | SIM_BTN_DOWN, SIM_BTN_LEFT | SIM_BTN_RIGHT,
                              SIM_BTN_UP | SIM_BTN_DOWN | SIM_BTN_LEFT | SIM_BTN_RIGHT | SIM_BTN_FIRE};
    for (size_t i = 0; i < sizeof cancel; i++) {
        sim_player p;
        memset(&p, 0, sizeof p);
        p.pos[0] = p.pos[1] = 1000;
        sim_input in = {.buttons = cancel[i], .aim = 65535};
        for (int s = 0; s < 30; s++)
            sim_player_step(&map, &p, &in, 1.0f / 60.0f);
        assert_true(p.pos[0] == 1000.0f && p.pos[1] == 1000.0f);
        assert_true(p.vel[0] == 0.0f && p.vel[1] == 0.0f);
        assert_int_equal(p.aim, 65535);
    }
    /* Diagonal movement is as fast as straight movement (normalized). */
    sim_player a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.pos[0] = a.pos[1] = b.pos[0] = b.pos[1] = 1000;
    sim_input right = {.buttons = SIM_BTN_RIGHT}, diag = {.buttons = SIM_BTN_RIGHT | SIM_BTN_DOWN};
    for (int s = 0; s < 30; s++) {
        sim_player_step(&map, &a, &right, 1.0f / 60.0f);
        sim_player_step(&map, &b, &diag, 1.0f / 60.0f);
    }
    double sa = a.vel[0], sb = sqrt((double)b.vel[0] * b.vel[0] + (double)b.vel[1] * b.vel[1]);
    assert_true(fabs(sa - sb) < 0.2);
    assert_true(b.vel[0] == b.vel[1]);
}

/* The speed cap itself: at 60 Hz the movement law's terminal speed is
 * 2400 / 8 = 300, so the cap only binds when a step overshoots (low tick
 * rates) or a player starts faster (e.g. a state set by the server). */
static void test_speed_cap_binds(void **state)
{
    (void)state;
    sim_map map = empty_map();
    const uint16_t rates[] = {1, 2, 4, 6};
    const uint8_t dirs[] = {SIM_BTN_RIGHT, SIM_BTN_UP | SIM_BTN_LEFT, SIM_BTN_DOWN};
    int capped = 0;
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
    for (size_t d = 0; d < sizeof dirs; d++) {
        sim_player p;
        memset(&p, 0, sizeof p);
        p.pos[0] = p.pos[1] = 1024;
        sim_input in = {.buttons = dirs[d]};
        for (int s = 0; s < 20; s++) {
            /* stay in the middle: only the velocity matters here */
            p.pos[0] = p.pos[1] = 1024;
            sim_player_step(&map, &p, &in, 1.0f / (float)rates[r]);
            check_invariants(&map, &p, s);
            double s2 = (double)p.vel[0] * p.vel[0] + (double)p.vel[1] * p.vel[1];
            capped += s2 > 299.0 * 299.0;
        }
    }
    assert_true(capped > 100);

    /* Starting at 1000 u/s: one step later, at most 300. */
    sim_player p;
    memset(&p, 0, sizeof p);
    p.pos[0] = p.pos[1] = 1024;
    p.vel[0] = 1000.0f;
    p.vel[1] = -1000.0f;
    sim_input none = {0};
    sim_player_step(&map, &p, &none, 1.0f / 60.0f);
    check_invariants(&map, &p, 0);
    assert_true(p.vel[0] > 200.0f && p.vel[1] < -200.0f);
}

/* Walls that meet (a step) and a gap narrower than a player. Resolving one
 * wall can push the player into the other; the second resolution pass
 * settles that. In a gap no position satisfies both walls at once, and
 * the overlap left there stays under 1/4 unit. */
static void test_wall_steps_and_narrow_gaps(void **state)
{
    (void)state;
    static const sim_wall walls[] = {
        {1000, 400, 1100, 1000}, {1120, 500, 1300, 600},   /* gap of 20 < 32 */
        {400, 400, 500, 700}, {500, 600, 800, 700},         /* an L */
        {1400, 1400, 1500, 1500}, {1500, 1380, 1600, 1480}, /* a step */
    };
    sim_map map = empty_map();
    map.nwalls = (uint8_t)(sizeof walls / sizeof walls[0]);
    memcpy(map.walls, walls, sizeof walls);
    const float cx[] = {1110, 650, 1500}, cy[] = {470, 580, 1440};
    uint64_t rng = 1;
    double worst = 0;
    int trials = 0;
    while (trials < 6000) {
        int k = (int)rnd(&rng, 3);
        sim_player p;
        memset(&p, 0, sizeof p);
        p.pos[0] = cx[k] + (float)rnd(&rng, 120) - 60;
        p.pos[1] = cy[k] - 40 - (float)rnd(&rng, 40);
        int inside = 0;
        for (int i = 0; i < map.nwalls; i++)
            inside |= wall_dist2(&map.walls[i], p.pos[0], p.pos[1]) < 16.0 * 16.0;
        if (inside)
            continue;
        trials++;
        sim_input in = {.buttons = (uint8_t)rnd(&rng, 16)};
        for (int s = 0; s < 90; s++) {
            sim_player_step(&map, &p, &in, 1.0f / 60.0f);
            for (int i = 0; i < map.nwalls; i++) {
                double pen = SIM_PLAYER_RADIUS - sqrt(wall_dist2(&map.walls[i], p.pos[0], p.pos[1]));
                worst = pen > worst ? pen : worst;
                if (k != 0 && pen > WALL_TOLERANCE)
                    fail_msg("case %d step %d: %f into wall %d at (%f, %f)", k, s, pen, i,
                             (double)p.pos[0], (double)p.pos[1]);
            }
        }
    }
    if (worst > 0.25)
        fail_msg("%f units into a wall in the narrow gap", worst);
}

/* Spawns: inside the arena, clear of walls, on the grid, a function of
 * (seed, id, join count) only. */
static void test_spawn(void **state)
{
    (void)state;
    sim_map map = arena_map();
    static sim_world w, w2;
    for (uint64_t seed = 0; seed < 16; seed++) {
        sim_world_init(&w, &map, 60, seed * 0x9e3779b97f4a7c15ull);
        sim_world_init(&w2, &map, 60, seed * 0x9e3779b97f4a7c15ull);
        for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
            sim_world_spawn(&w, id, 0);
            assert_int_equal(w.active[id], 1);
            const sim_player *p = &w.players[id];
            for (int k = 0; k < 2; k++) {
                assert_true(p->pos[k] >= 2 * SIM_PLAYER_RADIUS && p->pos[k] <= SIM_ARENA_SIZE - 2 * SIM_PLAYER_RADIUS);
                assert_true(on_grid(p->pos[k], SIM_POS_SCALE));
                assert_true(p->vel[k] == 0.0f);
            }
            for (int i = 0; i < map.nwalls; i++)
                assert_true(wall_dist2(&map.walls[i], p->pos[0], p->pos[1]) > SIM_PLAYER_RADIUS * SIM_PLAYER_RADIUS);
        }
        /* Same inputs, other order: same spots. */
        for (int id = SIM_MAX_PLAYERS - 1; id >= 0; id--)
            sim_world_spawn(&w2, id, 0);
        assert_memory_equal(w.players, w2.players, sizeof w.players);
    }
    /* A reused slot (next join count) spawns elsewhere. */
    sim_world_init(&w, &map, 60, 77);
    int moved = 0;
    for (int id = 0; id < 32; id++) {
        sim_world_spawn(&w, id, 0);
        float x = w.players[id].pos[0], y = w.players[id].pos[1];
        sim_world_remove(&w, id);
        assert_int_equal(w.active[id], 0);
        sim_player zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&w.players[id], &zero, sizeof zero);
        sim_world_spawn(&w, id, 1);
        moved += x != w.players[id].pos[0] || y != w.players[id].pos[1];
    }
    assert_true(moved >= 31);
}

/* sim_world_step: inactive slots do not move, counts above
 * SIM_MAX_STEPS_PER_TICK are clamped, steps apply in order, tick++. */
static void test_world_step(void **state)
{
    (void)state;
    sim_map map = arena_map();
    static sim_world w;
    static sim_tick_inputs ti;
    sim_world_init(&w, &map, 60, 3);
    assert_int_equal(w.tick, 0);
    assert_int_equal(w.tick_rate, 60);
    sim_world_spawn(&w, 0, 0);
    sim_world_spawn(&w, 1, 0);
    sim_world_spawn(&w, 2, 0);
    sim_world_remove(&w, 2);
    sim_player p0 = w.players[0], p1 = w.players[1];

    memset(&ti, 0, sizeof ti);
    ti.count[0] = 200; /* clamped to 8 */
    ti.count[1] = 3;
    ti.count[2] = 5; /* inactive: ignored */
    for (int k = 0; k < SIM_MAX_STEPS_PER_TICK; k++) {
        ti.in[0][k] = (sim_input){.buttons = (uint8_t)(k < 4 ? SIM_BTN_RIGHT : SIM_BTN_UP), .aim = (uint16_t)k};
        ti.in[1][k] = (sim_input){.buttons = SIM_BTN_DOWN | SIM_BTN_FIRE, .aim = (uint16_t)(100 + k)};
        ti.in[2][k] = (sim_input){.buttons = SIM_BTN_DOWN};
    }
    sim_world_step(&w, &ti);
    assert_int_equal(w.tick, 1);
    for (int k = 0; k < SIM_MAX_STEPS_PER_TICK; k++)
        sim_player_step(&map, &p0, &ti.in[0][k], 1.0f / 60.0f);
    for (int k = 0; k < 3; k++)
        sim_player_step(&map, &p1, &ti.in[1][k], 1.0f / 60.0f);
    assert_memory_equal(&w.players[0], &p0, sizeof p0);
    assert_memory_equal(&w.players[1], &p1, sizeof p1);
    assert_int_equal(w.players[0].aim, 7);
    assert_int_equal(w.players[1].aim, 102);
    assert_int_equal(w.players[1].flags, SIM_FLAG_FIRING);
    assert_int_equal(w.active[2], 0);
    assert_true(w.players[2].pos[0] == 0.0f && w.players[2].vel[1] == 0.0f);

    /* Zero inputs: the player waits, nothing changes but the tick. */
    sim_player before = w.players[0];
    memset(&ti, 0, sizeof ti);
    sim_world_step(&w, &ti);
    assert_int_equal(w.tick, 2);
    assert_memory_equal(&w.players[0], &before, sizeof before);
}

/* The quantization the wire depends on: x = pos * 16, v = vel * 16
 * (truncated toward zero by the step), aim passes through. */
static void test_net_conversion(void **state)
{
    (void)state;
    sim_player p;
    memset(&p, 0, sizeof p);
    p.pos[0] = 2032.0f;
    p.pos[1] = 16.0625f;
    p.vel[0] = -300.0f;
    p.vel[1] = 212.0625f;
    p.aim = 65535;
    p.flags = SIM_FLAG_FIRING;
    sim_netent n;
    sim_player_to_net(&p, &n);
    assert_int_equal(n.x, 32512);
    assert_int_equal(n.y, 257);
    assert_int_equal(n.vx, -4800);
    assert_int_equal(n.vy, 3393);
    assert_int_equal(n.aim, 65535);
    assert_int_equal(n.flags, 1);
    sim_netent ext = {.x = 65535, .y = 0, .vx = INT16_MIN, .vy = INT16_MAX, .aim = 0, .flags = 0};
    sim_player q;
    sim_player_from_net(&ext, &q);
    sim_player_to_net(&q, &n);
    assert_int_equal(n.x, 65535);
    assert_int_equal(n.vx, INT16_MIN);
    assert_int_equal(n.vy, INT16_MAX);
    assert_true(q.pos[0] == 4095.9375f);

    /* A velocity the step produces just under a grid line truncates toward
     * zero, both signs. */
    sim_map map = empty_map();
    sim_player r;
    memset(&r, 0, sizeof r);
    r.pos[0] = r.pos[1] = 1000;
    sim_input right = {.buttons = SIM_BTN_RIGHT}, left = {.buttons = SIM_BTN_LEFT};
    sim_player_step(&map, &r, &right, 1.0f / 60.0f);
    assert_true(r.vel[0] == 40.0f); /* 2400 / 60 */
    assert_true(r.pos[0] == 1000.6875f); /* 40 / 60 = 0.6667 -> 11/16 */
    memset(&r, 0, sizeof r);
    r.pos[0] = r.pos[1] = 1000;
    r.vel[0] = 1.0f;
    sim_input none = {0};
    sim_player_step(&map, &r, &none, 1.0f / 60.0f); /* 1 - 8/60 = 0.8667 -> 13/16 */
    assert_true(r.vel[0] == 0.8125f);
    r.vel[0] = -1.0f;
    sim_player_step(&map, &r, &none, 1.0f / 60.0f);
    assert_true(r.vel[0] == -0.8125f);
    (void)left;
}

/* splitmix64 reference values (Vigna), from state 0. */
static void test_rand(void **state)
{
    (void)state;
    uint64_t s = 0;
    assert_int_equal(sim_rand_next(&s), 0xe220a8397b1dcdafull);
    assert_int_equal(sim_rand_next(&s), 0x6e789e6aa1b965f4ull);
    assert_int_equal(sim_rand_next(&s), 0x06c45d188009454full);
    uint64_t a = 123, b = 123;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sim_rand_next(&a), sim_rand_next(&b));
}


/* ---- combat --------------------------------------------------------------- */

static void test_aim_dir(void **state)
{
    (void)state;
    static const struct { uint16_t aim; float x, y; } exact[] = {
        {0, 1, 0}, {16384, 0, 1}, {32768, -1, 0}, {49152, 0, -1}};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        float d[2];
        sim_aim_dir(exact[i].aim, d);
        assert_true(fabsf(d[0] - exact[i].x) < 1e-6f && fabsf(d[1] - exact[i].y) < 1e-6f);
    }
    /* Every angle: a unit vector pointing where libm says, to 1e-6. */
    for (uint32_t a = 0; a < 65536; a++) {
        float d[2];
        sim_aim_dir((uint16_t)a, d);
        double t = (double)a * 2.0 * M_PI / 65536.0;
        if (fabs(d[0] - cos(t)) > 1e-6 || fabs(d[1] - sin(t)) > 1e-6)
            fail_msg("aim %u: (%.8f, %.8f)", a, (double)d[0], (double)d[1]);
    }
}

static void test_hitscan(void **state)
{
    (void)state;
    sim_map map = empty_map();
    map.nwalls = 1;
    map.walls[0] = (sim_wall){400, 0, 420, 300};
    const float from[2] = {100, 500};
    float pos[3][2] = {{100, 500}, {300, 500}, {600, 515}};
    uint8_t alive[3] = {1, 1, 1};
    float dist;
    /* straight along +x: the nearer target, at its edge */
    assert_int_equal(sim_hitscan(&map, from, 0, (const float (*)[2])pos, alive, 3, 0, &dist), 1);
    assert_true(fabsf(dist - (200.0f - SIM_PLAYER_RADIUS)) < 1e-3f);
    /* dead or skipped targets do not stop the shot; 15 units off the line still hits, 17 does not */
    alive[1] = 0;
    assert_int_equal(sim_hitscan(&map, from, 0, (const float (*)[2])pos, alive, 3, 0, &dist), 2);
    pos[2][1] = 517;
    assert_int_equal(sim_hitscan(&map, from, 0, (const float (*)[2])pos, alive, 3, 0, &dist), -1);
    assert_true(dist == SIM_WEAPON_RANGE);
    /* a wall in between stops it */
    pos[2][1] = 200;
    const float low[2] = {100, 200};
    assert_int_equal(sim_hitscan(&map, low, 0, (const float (*)[2])pos, alive, 3, 0, &dist), -1);
    assert_true(fabsf(dist - 300.0f) < 1e-3f);
    /* behind the shooter: no */
    pos[2][0] = 50;
    pos[2][1] = 500;
    assert_int_equal(sim_hitscan(&map, from, 0, (const float (*)[2])pos, alive, 3, 0, &dist), -1);
    /* out of range: no */
    pos[2][0] = 100 + SIM_WEAPON_RANGE + 40;
    assert_int_equal(sim_hitscan(&map, from, 0, (const float (*)[2])pos, alive, 3, 0, &dist), -1);
}

/* A target runs along y = 1000 under a shooter at (1000, 500) aiming
 * straight down. The shooter fires `late` ticks after the target crossed
 * x = 1000, with its view `view_back` ticks in the past (-1: no view).
 * Returns 1 when the shot hit; *clamped gets the clamp count. */
static int lagged_shot(int late, int view_back, uint16_t unlag, uint32_t *clamped)
{
    static sim_world w;
    sim_map map = empty_map();
    sim_world_init(&w, &map, 60, 7);
    w.unlag_ticks = unlag;
    sim_world_spawn(&w, 0, 0);
    sim_world_spawn(&w, 1, 0);
    w.players[0].pos[0] = 1000, w.players[0].pos[1] = 500;
    w.players[1].pos[0] = 600, w.players[1].pos[1] = 1000;
    sim_tick_inputs ti;
    memset(&ti, 0, sizeof ti);
    ti.count[0] = ti.count[1] = 1;
    ti.in[0][0].aim = 16384;
    ti.in[1][0].buttons = SIM_BTN_RIGHT;
    ti.in[1][0].aim = 0;
    uint32_t crossed = 0;
    while (!crossed) {
        sim_world_step(&w, &ti);
        if (w.players[1].pos[0] >= 1000.0f)
            crossed = w.tick;
    }
    for (int k = 0; k < late; k++)
        sim_world_step(&w, &ti);
    assert_true(w.players[1].pos[0] > 1000.0f + 2 * SIM_PLAYER_RADIUS); /* not under the gun now */
    ti.in[0][0].buttons = SIM_BTN_FIRE;
    ti.in[0][0].view_tick = view_back < 0 ? 0 : w.tick - (uint32_t)view_back;
    sim_world_step(&w, &ti);
    *clamped = w.unlag_clamped;
    return w.nhits == 1 && w.hits[0].shooter == 0 && w.hits[0].target == 1;
}

static void test_lag_compensation(void **state)
{
    (void)state;
    uint32_t clamped;
    /* Seen under the gun 15 ticks ago (250 ms at 60 Hz): a hit where the
     * shooter saw it, within a 15-tick bound. */
    assert_true(lagged_shot(15, 15, 15, &clamped));
    assert_int_equal(clamped, 0);
    /* No view, or no lag compensation: judged at the present, a miss. */
    assert_false(lagged_shot(15, -1, 15, &clamped));
    assert_false(lagged_shot(15, 15, 0, &clamped));
    assert_int_equal(clamped, 1);
    /* Older than the bound: judged at the bound (5 ticks back), a miss. */
    assert_false(lagged_shot(15, 15, 5, &clamped));
    assert_int_equal(clamped, 1);
    /* A view of the future is the present. */
    assert_false(lagged_shot(15, -3, 15, &clamped));
}

/* Four hits kill; a dead player does not move or fire; it comes back
 * SIM_RESPAWN_MS later, at full health, one life later. */
static void test_kill_and_respawn(void **state)
{
    (void)state;
    static sim_world w;
    sim_map map = empty_map();
    sim_world_init(&w, &map, 60, 9);
    sim_world_spawn(&w, 0, 0);
    sim_world_spawn(&w, 1, 0);
    w.players[0].pos[0] = 500, w.players[0].pos[1] = 500;
    w.players[1].pos[0] = 800, w.players[1].pos[1] = 500;
    sim_tick_inputs ti;
    memset(&ti, 0, sizeof ti);
    ti.count[0] = ti.count[1] = 1;
    ti.in[0][0] = (sim_input){.buttons = SIM_BTN_FIRE, .aim = 0};
    ti.in[1][0] = (sim_input){.buttons = SIM_BTN_UP | SIM_BTN_FIRE, .aim = 16384};
    int shots = 0;
    uint32_t died = 0;
    for (int t = 0; t < 120 && !died; t++) {
        ti.in[1][0].buttons = 0; /* the target stands still */
        sim_world_step(&w, &ti);
        shots += (w.players[0].flags & SIM_FLAG_SHOT) != 0;
        if (w.players[1].flags & SIM_FLAG_DEAD)
            died = w.tick;
    }
    assert_int_equal(shots, 4); /* one every 12 steps: 25 damage each */
    assert_int_equal(w.players[1].health, 0);
    assert_int_equal(w.players[1].deaths, 1);
    assert_int_equal(w.players[0].kills, 1);
    assert_int_equal(w.players[0].score, 1);
    assert_int_equal(w.players[0].hits, 4);
    float x = w.players[1].pos[0];
    ti.in[1][0].buttons = SIM_BTN_LEFT | SIM_BTN_FIRE;
    uint32_t respawn_ticks = SIM_RESPAWN_MS * 60 / 1000;
    while (w.tick < died + respawn_ticks - 1) {
        sim_world_step(&w, &ti);
        assert_true(w.players[1].flags & SIM_FLAG_DEAD);
        assert_true(w.players[1].pos[0] == x); /* the dead do not move */
        assert_int_equal(w.players[0].hits, 4); /* nor get hit */
    }
    sim_world_step(&w, &ti);
    assert_false(w.players[1].flags & SIM_FLAG_DEAD);
    assert_int_equal(w.players[1].health, SIM_MAX_HEALTH);
    assert_int_equal(w.players[1].life, 1);
    /* A new round: everyone back, scores zero. */
    sim_world_reset_round(&w);
    assert_int_equal(w.players[0].kills, 0);
    assert_int_equal(w.players[1].deaths, 0);
    assert_int_equal(w.players[0].life, 1);
    /* No combat (between rounds): shots do nothing. */
    w.combat = 0;
    w.players[1].pos[0] = 800, w.players[1].pos[1] = 500;
    w.players[0].pos[0] = 500, w.players[0].pos[1] = 500;
    for (int t = 0; t < 60; t++)
        sim_world_step(&w, &ti);
    assert_int_equal(w.players[1].health, SIM_MAX_HEALTH);
}

static void duel(sim_world *w, uint16_t unlag)
{
    sim_map map = empty_map();
    sim_world_init(w, &map, 60, 11);
    w->unlag_ticks = unlag;
    sim_world_spawn(w, 0, 0);
    sim_world_spawn(w, 1, 0);
    w->players[0].pos[0] = 500, w->players[0].pos[1] = 500;
    w->players[1].pos[0] = 800, w->players[1].pos[1] = 500;
}

/* A target alive where the shooter saw it but dead since: the hit is
 * registered (the shooter's hit counter), with no damage and no second
 * death. */
static void test_hit_on_the_dead_registered(void **state)
{
    (void)state;
    static sim_world w;
    duel(&w, 15);
    sim_tick_inputs ti;
    memset(&ti, 0, sizeof ti);
    for (int t = 0; t < 10; t++)
        sim_world_step(&w, &ti);
    w.players[1].flags = SIM_FLAG_DEAD; /* killed just now by someone else */
    w.players[1].health = 0;
    w.players[1].deaths = 1;
    w.players[1].respawn = 100;
    ti.count[0] = 1;
    ti.in[0][0] = (sim_input){.buttons = SIM_BTN_FIRE, .aim = 0, .view_tick = w.tick - 3};
    sim_world_step(&w, &ti);
    assert_int_equal(w.nhits, 1);
    assert_int_equal(w.hits[0].damage, 0);
    assert_int_equal(w.hits[0].killed, 0);
    assert_int_equal(w.players[0].hits, 1);
    assert_int_equal(w.players[0].kills, 0);
    assert_int_equal(w.players[1].deaths, 1);
    /* At the present it was already dead: no hit at all. */
    ti.in[0][0].view_tick = 0;
    w.players[0].fire_cd = 0;
    sim_world_step(&w, &ti);
    assert_int_equal(w.nhits, 0);
}

/* Trades: a player killed while its input was on the way still fires it,
 * if the client had not seen its death when it sent it (known_tick before
 * died_tick), within unlag_ticks of the death; not after it knew. */
static void test_trade_after_death(void **state)
{
    (void)state;
    static sim_world w;
    sim_tick_inputs ti;
    for (int c = 0; c < 4; c++) {
        duel(&w, 15);
        memset(&ti, 0, sizeof ti);
        for (int t = 0; t < 10; t++)
            sim_world_step(&w, &ti);
        sim_player *a = &w.players[0];
        a->flags = SIM_FLAG_DEAD; /* died this tick */
        a->health = 0;
        a->died_tick = w.tick;
        a->respawn = 100;
        /* its client moved it on: 10 up (in line with B), or 40 (case 3: not) */
        a->ghost_pos[0] = a->pos[0], a->ghost_pos[1] = a->pos[1] - (c == 3 ? 40.0f : 10.0f);
        uint32_t known = c == 0 || c == 3 ? w.tick - 1 : w.tick; /* case 1: it had seen its death */
        if (c == 2) { /* case 2: too long after the death */
            for (int t = 0; t < 16; t++)
                sim_world_step(&w, &ti);
            known = w.tick - 20;
        }
        ti.count[0] = 1;
        ti.in[0][0] = (sim_input){.buttons = SIM_BTN_FIRE, .aim = 0, .known_tick = known};
        sim_world_step(&w, &ti);
        if (c == 0) {
            assert_int_equal(w.nhits, 1);
            assert_int_equal(w.players[1].health, SIM_MAX_HEALTH - SIM_WEAPON_DAMAGE);
            assert_true(a->flags & SIM_FLAG_DEAD);
            assert_true(a->flags & SIM_FLAG_SHOT);
            assert_true(a->pos[1] == 500.0f);       /* the body stays */
            assert_true(a->ghost_pos[1] == 490.0f); /* the shot left from the ghost, 10 up: within B's radius */
        } else if (c == 3) {
            /* fired, from the ghost, which was not in line: a miss (from the body it would hit) */
            assert_true(a->flags & SIM_FLAG_SHOT);
            assert_int_equal(w.nhits, 0);
        } else {
            assert_int_equal(w.nhits, 0);
            assert_int_equal(w.players[1].health, SIM_MAX_HEALTH);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism_two_worlds),
        cmocka_unit_test(test_seed_matters),
        cmocka_unit_test(test_movement_invariants),
        cmocka_unit_test(test_walls_hold_under_pressure),
        cmocka_unit_test(test_speed_cap_binds),
        cmocka_unit_test(test_wall_steps_and_narrow_gaps),
        cmocka_unit_test(test_friction_exact_rest),
        cmocka_unit_test(test_opposite_buttons_cancel),
        cmocka_unit_test(test_spawn),
        cmocka_unit_test(test_world_step),
        cmocka_unit_test(test_net_conversion),
        cmocka_unit_test(test_rand),
        cmocka_unit_test(test_aim_dir),
        cmocka_unit_test(test_hitscan),
        cmocka_unit_test(test_lag_compensation),
        cmocka_unit_test(test_kill_and_respawn),
        cmocka_unit_test(test_hit_on_the_dead_registered),
        cmocka_unit_test(test_trade_after_death),
    };
    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
