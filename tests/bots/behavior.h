/* behavior: what a bot presses each fixed tick. Pure and deterministic:
 * the state carries its own generator (splitmix64 from shared/sim), so a
 * run with the same --seed sends the same inputs.
 *
 * - wander: the reference workload "arena-move": one of 8 directions,
 *   changed about every 0.8 s (0.4..1.2 s), aim sweeping every tick.
 * - idle: no buttons, a fixed aim: the server sees an entity that never
 *   changes (0 bytes in a delta).
 * - circle: the heading turns at a constant rate (one turn in 2..4 s); the
 *   button is the nearest of the 8 directions, aim follows the heading.
 * - chaos: the inputs of wander; the reconnects are the transport's job.
 * - fight: aims at the nearest opponent the bot can shoot *as it renders
 *   it* (the cl_view output the caller passes: interpolated remote players,
 *   its own predicted position) and holds FIRE while it has one; strafes
 *   across the line of fire, switching sides every 0.4..1.2 s, and closes
 *   in beyond 500 units or backs off under 250; wanders (trigger released)
 *   when nobody is in sight. behavior_next_fight, not behavior_next.
 *
 * The aim is the only place the bots use libm (atan2): the shared
 * simulation stays libm-free, the bots need not. */
#ifndef TW_BOTS_BEHAVIOR_H
#define TW_BOTS_BEHAVIOR_H

#include <stdint.h>

#include "client.h"
#include "sim.h"

typedef enum behavior_kind {
    BEHAVIOR_WANDER,
    BEHAVIOR_IDLE,
    BEHAVIOR_CIRCLE,
    BEHAVIOR_CHAOS,
    BEHAVIOR_FIGHT,
} behavior_kind;

typedef struct behavior_state {
    uint64_t rng;
    uint16_t aim;
    int16_t aim_step;     /* per tick */
    uint16_t heading;     /* circle */
    int16_t turn_step;    /* circle, per tick */
    uint16_t ticks_left;  /* wander: until the next direction change */
    uint8_t dir;          /* 0..7, 45 degrees each, 0 = +x, 2 = +y (down) */
    uint8_t kind;
    int8_t strafe;        /* fight: +1 or -1, the side it circles its target */
    uint16_t strafe_left; /* fight: ticks until it switches sides */
} behavior_state;

/* Returns 0 and sets *out, or -1 for an unknown name. */
int behavior_parse(const char *name, behavior_kind *out);
const char *behavior_name(behavior_kind k);

void behavior_init(behavior_state *b, behavior_kind k, uint64_t seed, uint16_t tick_rate);
/* The input for the bot's next fixed tick (wander, idle, circle, chaos;
 * fight without a target). O(1). */
sim_input behavior_next(behavior_state *b, uint16_t tick_rate);

/* Fight: the input for the next fixed tick, from what the bot draws now:
 * `view[0..n)` as cl_view filled it (the bot's own entry has `self` set)
 * and `self`, the bot's predicted position (NULL while it has none or is
 * dead: it wanders, trigger released). Aims at behavior_pick_target's
 * choice with behavior_aim_at and holds FIRE. O(n + walls x players
 * checked). */
sim_input behavior_next_fight(behavior_state *b, uint16_t tick_rate, const sim_map *map, const float *self,
                              const cl_view_ent *view, int n);

/* The nearest entry of view[0..n) a shot from `self` reaches: not the bot
 * itself, not dead (SIM_FLAG_DEAD), and the same ray the server casts
 * (sim_hitscan, aimed with behavior_aim_at, against that one player) hits
 * it before any wall and within SIM_WEAPON_RANGE. Ties go to the lower
 * index. Returns its index, or -1. Candidates are checked nearest first,
 * so the cost is O(n) per candidate checked (each check O(walls)). */
int behavior_pick_target(const sim_map *map, const float self[2], const cl_view_ent *view, int n);

/* The aim (65536 per turn, 0 = +x, 16384 = +y) of the direction (dx, dy),
 * rounded to the nearest unit; (0, 0) gives 0. */
uint16_t behavior_aim_at(float dx, float dy);

/* Buttons for direction 0..7 (0 = right, 2 = down, 4 = left, 6 = up). */
uint8_t behavior_dir_buttons(int dir);

#endif
