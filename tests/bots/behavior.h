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
 * - chaos: the inputs of wander; the reconnects are the transport's job. */
#ifndef TW_BOTS_BEHAVIOR_H
#define TW_BOTS_BEHAVIOR_H

#include <stdint.h>

#include "sim.h"

typedef enum behavior_kind {
    BEHAVIOR_WANDER,
    BEHAVIOR_IDLE,
    BEHAVIOR_CIRCLE,
    BEHAVIOR_CHAOS,
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
} behavior_state;

/* Returns 0 and sets *out, or -1 for an unknown name. */
int behavior_parse(const char *name, behavior_kind *out);
const char *behavior_name(behavior_kind k);

void behavior_init(behavior_state *b, behavior_kind k, uint64_t seed, uint16_t tick_rate);
/* The input for the bot's next fixed tick. O(1). */
sim_input behavior_next(behavior_state *b, uint16_t tick_rate);

/* Buttons for direction 0..7 (0 = right, 2 = down, 4 = left, 6 = up). */
uint8_t behavior_dir_buttons(int dir);

#endif
