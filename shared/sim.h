/* sim: the arena-move simulation, shared by server, bots and browser (wasm).
 *
 * Pure and deterministic: no I/O, malloc, clock, globals or libm
 * transcendental functions; only + - * / and sqrtf/floorf/truncf, which are
 * exact IEEE operations natively (SSE) and in wasm. Built with
 * -ffp-contract=off and no fast-math so native and wasm agree bit for bit.
 *
 * A player's movement depends only on the map, its spawn and its own
 * inputs: players do not push each other. That is what lets a client
 * predict its own movement exactly. Every step ends by snapping position
 * and velocity to the wire grid (SIM_POS_SCALE, SIM_VEL_SCALE steps per
 * unit), so a client that decodes a snapshot and replays the same inputs
 * gets the same bits as the server.
 *
 * Combat: a hitscan weapon. The weapon's cooldown is driven by the
 * player's own inputs (predictable); health, death, respawn and the score
 * are the world's, decided in sim_world_step. A shot is judged against the
 * other players where the shooter saw them: each input names the tick (and
 * fraction) the client was rendering, and the world keeps SIM_HISTORY
 * ticks of positions to rewind to, at most `unlag_ticks` back and never
 * past the present (lag compensation, as in Source's
 * player_lagcompensation.cpp). Walls stop shots. A shot hits a target that
 * was alive where the shooter saw it; it damages it only if it is still
 * alive in that life (nobody dies twice), else the hit is registered with
 * no damage. A player killed while its shots were on the way still fires
 * the ones it sent before it could know (known_tick before its death), for
 * at most unlag_ticks: trades, as Overwatch allows.
 *
 * docs/SIMULATION.md specifies all this bit for bit for other
 * implementations; its test vectors are checked against this code
 * (tests/unit/test_simdoc.c), so a change here changes that page. */
#ifndef TW_SIM_H
#define TW_SIM_H

#include <stdint.h>

/* The simulation's version, in every replay file (shared/replay_fmt.h):
 * a replay re-simulates only under the version that recorded it. Bump it
 * with any change that can make sim_world_step, sim_world_spawn,
 * sim_world_remove or sim_world_reset_round give other bits for the same
 * state and inputs (a constant, an operation's order, a rounding, a new
 * field the step reads), and re-record tests/fixtures/replay (docs/REPLAY.md
 * says how). Refactors that keep every bit keep the number: the fixture's
 * verify in ctest tells which it was. */
#define SIM_VERSION 1

#define SIM_ARENA_SIZE 2048
#define SIM_PLAYER_RADIUS 16.0f
#define SIM_ACCEL 2400.0f
#define SIM_FRICTION 8.0f
#define SIM_MAX_SPEED 300.0f

#define SIM_MAX_PLAYERS 128   /* per match (world) */
#define SIM_MAX_HEALTH 100
#define SIM_WEAPON_DAMAGE 25
#define SIM_WEAPON_RANGE 1400.0f
#define SIM_FIRE_INTERVAL_MS 200  /* one shot per 12 steps at 60 Hz */
#define SIM_RESPAWN_MS 2000
/* Ticks of position history for lag compensation: 1 s at up to 254 Hz. */
#define SIM_HISTORY 256
#define SIM_MAX_HITS 256          /* hits reported per world step */
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
    SIM_BTN_ALL = 0x1f,
    SIM_BTN_MOVE = 0x0f  /* the four direction buttons */
};

/* Entity flags. FIRING (trigger held while alive) and SHOT (this step
 * fired) come from the step; DEAD is the world's (set at the kill, cleared
 * at the respawn; the step keeps it); DISCONNECTED is set by the server on
 * the wire for a player whose connection dropped and whose slot is held
 * for a resume. */
enum {
    SIM_FLAG_FIRING = 1 << 0,
    SIM_FLAG_DISCONNECTED = 1 << 1,
    SIM_FLAG_SHOT = 1 << 2,
    SIM_FLAG_DEAD = 1 << 3,
};

/* view_tick 0: the client rendered nothing yet; the shot is judged at the
 * present. known_tick: the newest snapshot the client had when it sent the
 * input (the server fills it from the message's ack; 0 unknown): a shot
 * fired before the client could know it had died still counts (a trade). */
typedef struct sim_input {
    uint8_t buttons;    /* SIM_BTN_* */
    uint8_t view_frac;  /* 1/256 tick past view_tick */
    uint16_t aim;       /* angle, 65536 per turn; 0 = +x, 16384 = +y (down) */
    uint32_t view_tick; /* the tick the client rendered the others at */
    uint32_t known_tick;
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
    int16_t turn;       /* aim change of the last step (mod 2^16, signed) */
    uint8_t move;       /* direction buttons of the last step (SIM_BTN_MOVE) */
    uint8_t flags;      /* SIM_FLAG_* */
    uint8_t fire_cd;    /* steps until the weapon fires again (own inputs) */
    uint8_t health;     /* SIM_MAX_HEALTH at spawn; 0 once dead (flag DEAD) */
    uint8_t life;       /* +1 at every respawn (wraps): a teleport, not a misprediction */
    uint16_t respawn;   /* while dead: ticks until the respawn */
    uint32_t died_tick; /* the first tick whose state shows it dead */
    float ghost_pos[2], ghost_vel[2]; /* dead: where its client, not knowing yet, still moves it (trades) */
    uint16_t kills, deaths, score, hits;
} sim_player;

/* The quantized form of a player as it travels on the wire. Converting
 * between this and sim_player is exact because the sim snaps every step
 * (fire_cd and respawn do not travel: the client rebuilds fire_cd from its
 * own inputs). */
typedef struct sim_netent {
    uint16_t x, y;   /* pos * SIM_POS_SCALE */
    int16_t vx, vy;  /* vel * SIM_VEL_SCALE */
    uint16_t aim;
    int16_t turn;    /* aim change of the last step */
    uint8_t move;    /* direction buttons of the last step */
    uint8_t flags;
    uint8_t health;
    uint8_t life;
    uint16_t kills, deaths, score, hits;
} sim_netent;

/* One shot that hit, as sim_world_step reports it. */
typedef struct sim_hit {
    uint8_t shooter, target;
    uint8_t damage;
    uint8_t killed;
    uint16_t rewound; /* ticks the targets were rewound for it */
} sim_hit;

/* Where every player was after one tick, for lag compensation. */
typedef struct sim_history_tick {
    uint32_t stamp;  /* the tick + 1; 0: empty */
    float pos[SIM_MAX_PLAYERS][2];
    uint8_t alive[SIM_MAX_PLAYERS]; /* life + 1 when alive, 0 when dead or absent */
} sim_history_tick;

typedef struct sim_world {
    uint32_t tick;
    uint16_t tick_rate;
    uint16_t unlag_ticks;  /* most a shot is judged in the past (0: at the present) */
    uint8_t combat;        /* 0: shots do no damage (between rounds) */
    uint64_t seed;
    sim_map map;
    uint8_t active[SIM_MAX_PLAYERS];
    sim_player players[SIM_MAX_PLAYERS];
    /* filled by each step */
    int nhits;
    sim_hit hits[SIM_MAX_HITS];
    uint32_t unlag_clamped;  /* shots whose view was older than unlag_ticks */
    uint32_t shots;          /* shots fired */
    sim_history_tick history[SIM_HISTORY];
    float scratch_pos[SIM_MAX_PLAYERS][2]; /* one shot's rewound targets */
    uint8_t scratch_alive[SIM_MAX_PLAYERS];
} sim_world;

/* The inputs for one world step: for each player slot, 0..SIM_MAX_STEPS_PER_TICK
 * inputs, each one fixed step of that player, applied in order. */
typedef struct sim_tick_inputs {
    uint8_t count[SIM_MAX_PLAYERS];
    sim_input in[SIM_MAX_PLAYERS][SIM_MAX_STEPS_PER_TICK];
} sim_tick_inputs;

/* Combat is on, unlag_ticks 0: set them after init. */
void sim_world_init(sim_world *w, const sim_map *map, uint16_t tick_rate, uint64_t seed);
/* Puts player `id` at its spawn point (a function of the world seed, the id
 * and a join counter so a reused slot spawns elsewhere), full health,
 * score zero. */
void sim_world_spawn(sim_world *w, int id, uint32_t join_count);
void sim_world_remove(sim_world *w, int id);
/* Every active player back to full health at a free spawn point, score
 * zero (a new round). O(players^2). */
void sim_world_reset_round(sim_world *w);
/* One tick: records the history, counts down respawns, applies each active
 * player's inputs in id order (a shot hits at once: a player killed by a
 * lower id does not act this tick), then tick++. Pure. The tick's hits are
 * in w->hits[0..nhits). O(players + shots * players). */
void sim_world_step(sim_world *w, const sim_tick_inputs *inputs);

/* One fixed step of one player, ending with the snap to the wire grid.
 * Returns 1 when the step fired the weapon (trigger held, alive, cooldown
 * over). A dead player does not move. */
int sim_player_step(const sim_map *map, sim_player *p, const sim_input *in, float dt);

/* The open-field part of a movement step: velocity toward the direction
 * buttons (acceleration, friction, speed clamp), then the move, then the
 * snap to the wire grid; no walls, no arena edge. sim_player_step is this
 * with the walls and the edge between the move and the snap, so a player
 * touching neither moves exactly so: the snapshot codec predicts players
 * with it (docs/PROTOCOL.md section 6). */
void sim_player_glide(sim_player *p, uint8_t move, float dt);

/* The weapon's part of a step: the cooldown counts down, and the trigger
 * fires when it is over and the player is alive (the cooldown restarts).
 * Returns 1 when it fired. sim_player_step calls it; a client that cannot
 * predict movement yet still follows its cooldown with it. */
int sim_weapon_step(uint8_t *fire_cd, int trigger, int dead, float dt);

/* Unit direction of an aim angle, with + - * / only (the same bits
 * natively and in wasm). */
void sim_aim_dir(uint16_t aim, float dir[2]);
/* The first of `n` circles (centres in `pos`, `alive[i]` nonzero, i !=
 * skip) the shot from `from` along `aim` hits within SIM_WEAPON_RANGE
 * before a wall, or -1. *dist gets the distance travelled (to the wall or
 * the range on a miss). Pure; O(n + walls). */
int sim_hitscan(const sim_map *map, const float from[2], uint16_t aim, const float (*pos)[2],
                const uint8_t *alive, int n, int skip, float *dist);

void sim_player_to_net(const sim_player *p, sim_netent *out);
void sim_player_from_net(const sim_netent *n, sim_player *out);

/* A small deterministic generator (splitmix64) for seeds and spawns. */
uint64_t sim_rand_next(uint64_t *state);

#endif
