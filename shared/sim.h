/* sim: the arena-move simulation, shared by server, bots and browser (wasm).
 *
 * Pure and deterministic: no I/O, malloc, clock, globals or libm
 * transcendental functions; only + - * / and sqrtf/floorf/truncf, which are
 * exact IEEE operations natively (SSE) and in wasm. Built with
 * -ffp-contract=off and no fast-math so native and wasm agree bit for bit.
 *
 * A player's state depends only on the map, its spawn and its own inputs:
 * players do not push each other. That is what lets a client predict its
 * own movement exactly. Every step ends by snapping position and velocity
 * to the wire grid (SIM_POS_SCALE, SIM_VEL_SCALE steps per unit), so a
 * client that decodes a snapshot and replays the same inputs gets the same
 * bits as the server. */
#ifndef TW_SIM_H
#define TW_SIM_H

#include <stdint.h>

#define SIM_ARENA_SIZE 2048
#define SIM_PLAYER_RADIUS 16.0f
#define SIM_ACCEL 2400.0f
#define SIM_FRICTION 8.0f
#define SIM_MAX_SPEED 300.0f

#define SIM_MAX_PLAYERS 128   /* per match (world) */
#define SIM_MAX_WALLS 64
#define SIM_MAX_STEPS_PER_TICK 8

/* Wire grid: positions in 1/16 unit, velocities in 1/16 unit per second. */
#define SIM_POS_FRAC_BITS 4
#define SIM_VEL_FRAC_BITS 4
#define SIM_POS_SCALE 16.0f
#define SIM_VEL_SCALE 16.0f

enum {
    SIM_BTN_UP = 1 << 0,
    SIM_BTN_DOWN = 1 << 1,
    SIM_BTN_LEFT = 1 << 2,
    SIM_BTN_RIGHT = 1 << 3,
    SIM_BTN_FIRE = 1 << 4,
    SIM_BTN_ALL = 0x1f
};

/* Entity flags. FIRING comes from the step; DISCONNECTED is set by the
 * server on the wire for a player whose connection dropped and whose slot
 * is held for a resume. */
enum { SIM_FLAG_FIRING = 1 << 0, SIM_FLAG_DISCONNECTED = 1 << 1 };

typedef struct sim_input {
    uint8_t buttons; /* SIM_BTN_* */
    uint16_t aim;    /* angle, 65536 per turn */
} sim_input;

/* Axis-aligned wall, in world units, x0 < x1 and y0 < y1. */
typedef struct sim_wall {
    int16_t x0, y0, x1, y1;
} sim_wall;

typedef struct sim_map {
    uint16_t width, height;
    uint8_t nwalls;
    sim_wall walls[SIM_MAX_WALLS];
} sim_map;

typedef struct sim_player {
    float pos[2];
    float vel[2];
    uint16_t aim;
    uint8_t flags; /* SIM_FLAG_* */
} sim_player;

/* The quantized form of a player as it travels on the wire. Converting
 * between this and sim_player is exact because the sim snaps every step. */
typedef struct sim_netent {
    uint16_t x, y;   /* pos * SIM_POS_SCALE */
    int16_t vx, vy;  /* vel * SIM_VEL_SCALE */
    uint16_t aim;
    uint8_t flags;
} sim_netent;

typedef struct sim_world {
    uint32_t tick;
    uint16_t tick_rate;
    uint64_t seed;
    sim_map map;
    uint8_t active[SIM_MAX_PLAYERS];
    sim_player players[SIM_MAX_PLAYERS];
} sim_world;

/* The inputs for one world step: for each player slot, 0..SIM_MAX_STEPS_PER_TICK
 * inputs, each one fixed step of that player, applied in order. */
typedef struct sim_tick_inputs {
    uint8_t count[SIM_MAX_PLAYERS];
    sim_input in[SIM_MAX_PLAYERS][SIM_MAX_STEPS_PER_TICK];
} sim_tick_inputs;

void sim_world_init(sim_world *w, const sim_map *map, uint16_t tick_rate, uint64_t seed);
/* Puts player `id` at its spawn point (a function of the world seed, the id
 * and a join counter so a reused slot spawns elsewhere). */
void sim_world_spawn(sim_world *w, int id, uint32_t join_count);
void sim_world_remove(sim_world *w, int id);
/* One tick: applies each active player's inputs, then tick++. Pure. */
void sim_world_step(sim_world *w, const sim_tick_inputs *inputs);

/* One fixed step of one player, ending with the snap to the wire grid. */
void sim_player_step(const sim_map *map, sim_player *p, const sim_input *in, float dt);

void sim_player_to_net(const sim_player *p, sim_netent *out);
void sim_player_from_net(const sim_netent *n, sim_player *out);

/* A small deterministic generator (splitmix64) for seeds and spawns. */
uint64_t sim_rand_next(uint64_t *state);

#endif
