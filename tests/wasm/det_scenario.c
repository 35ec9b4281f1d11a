/* det_scenario: see det_scenario.h. Nothing here may depend on the
 * platform: integer RNG, explicit byte order, shared/sim for the physics. */
#include "det_scenario.h"

#include <string.h>

static const sim_wall ARENA_WALLS[] = {
    {960, 704, 1088, 1344}, {704, 960, 1344, 1088},
    {320, 320, 576, 448}, {1472, 320, 1728, 448}, {320, 1600, 576, 1728}, {1472, 1600, 1728, 1728},
    {160, 992, 288, 1056}, {1760, 992, 1888, 1056}, {992, 160, 1056, 288}, {992, 1760, 1056, 1888},
};

static uint32_t rnd(det_scenario *s, uint32_t n)
{
    return (uint32_t)((sim_rand_next(&s->rng) >> 32) % n);
}

void det_init(det_scenario *s, uint64_t seed, uint16_t tick_rate)
{
    sim_map map;
    memset(&map, 0, sizeof map);
    map.width = SIM_ARENA_SIZE;
    map.height = SIM_ARENA_SIZE;
    map.nwalls = (uint8_t)(sizeof ARENA_WALLS / sizeof ARENA_WALLS[0]);
    memcpy(map.walls, ARENA_WALLS, sizeof ARENA_WALLS);
    memset(s, 0, sizeof *s);
    sim_world_init(&s->world, &map, tick_rate, seed);
    s->world.unlag_ticks = (uint16_t)(tick_rate / 4); /* 250 ms */
    s->rng = seed ^ 0xd1b54a32d192ed03ull;
    for (int id = 0; id < DET_PLAYERS; id++)
        sim_world_spawn(&s->world, id, s->join_count[id]++);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Players leave now and then and come back a little later, at a new spawn
 * (join count), as reused slots do on the server. */
static void churn(det_scenario *s)
{
    for (int id = 0; id < DET_PLAYERS; id++) {
        if (s->world.active[id] && rnd(s, 400) == 0)
            sim_world_remove(&s->world, id);
        else if (!s->world.active[id] && rnd(s, 30) == 0)
            sim_world_spawn(&s->world, id, s->join_count[id]++);
    }
}

static void make_inputs(det_scenario *s)
{
    memset(&s->in, 0, sizeof s->in);
    for (int id = 0; id < DET_PLAYERS; id++) {
        s->in.count[id] = (uint8_t)rnd(s, 4);
        for (int k = 0; k < s->in.count[id]; k++) {
            /* Mostly held keys (so players reach top speed and the walls),
             * sometimes a fresh random combination every step. */
            if (rnd(s, 16) == 0)
                s->held[id] = (uint8_t)rnd(s, SIM_BTN_ALL + 1);
            uint8_t buttons = rnd(s, 8) == 0 ? (uint8_t)rnd(s, SIM_BTN_ALL + 1) : s->held[id];
            s->aim[id] = rnd(s, 32) == 0 ? (uint16_t)rnd(s, 65536)
                                         : (uint16_t)(s->aim[id] + rnd(s, 4096) - 2048);
            uint32_t back = rnd(s, 21);
            s->in.in[id][k] = (sim_input){.buttons = buttons, .aim = s->aim[id],
                                          .view_tick = s->world.tick > back ? s->world.tick - back : 0,
                                          .view_frac = (uint8_t)rnd(s, 256)};
        }
    }
}

size_t det_step(det_scenario *s, uint8_t *out)
{
    churn(s);
    make_inputs(s);
    sim_world_step(&s->world, &s->in);
    put32(out, s->world.tick);
    for (int id = 0; id < DET_PLAYERS; id++) {
        uint8_t *p = out + 4 + id * DET_RECORD;
        const sim_player *pl = &s->world.players[id];
        sim_netent n;
        sim_player_to_net(pl, &n);
        p[0] = s->world.active[id];
        put16(p + 1, n.x);
        put16(p + 3, n.y);
        put16(p + 5, (uint16_t)n.vx);
        put16(p + 7, (uint16_t)n.vy);
        put16(p + 9, n.aim);
        p[11] = n.flags;
        put32(p + 12, float_bits(pl->pos[0]));
        put32(p + 16, float_bits(pl->pos[1]));
        put32(p + 20, float_bits(pl->vel[0]));
        put32(p + 24, float_bits(pl->vel[1]));
        p[28] = n.health;
        p[29] = n.life;
        put16(p + 30, n.kills);
        put16(p + 32, n.deaths);
        put16(p + 34, n.score);
        put16(p + 36, n.hits);
    }
    return DET_TICK_BYTES;
}

#ifdef __wasm__
/* The wasm module runs one scenario; JavaScript drives it tick by tick. */
#define DET_EXPORT(name) __attribute__((export_name(#name)))

static det_scenario g_det;
static uint8_t g_out[DET_TICK_BYTES];

DET_EXPORT(det_wasm_init) void det_wasm_init(uint32_t seed_lo, uint32_t seed_hi, uint32_t tick_rate)
{
    det_init(&g_det, ((uint64_t)seed_hi << 32) | seed_lo, (uint16_t)tick_rate);
}

DET_EXPORT(det_wasm_step) uint32_t det_wasm_step(void) { return (uint32_t)det_step(&g_det, g_out); }
DET_EXPORT(det_wasm_out) uint8_t *det_wasm_out(void) { return g_out; }
#endif
