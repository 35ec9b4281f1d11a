/* behavior: see behavior.h. */
#include "behavior.h"

#include <string.h>

static const char *const NAMES[] = {"wander", "idle", "circle", "chaos"};

int behavior_parse(const char *name, behavior_kind *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, NAMES[i]) == 0) {
            *out = (behavior_kind)i;
            return 0;
        }
    }
    return -1;
}

const char *behavior_name(behavior_kind k)
{
    return (unsigned)k < 4 ? NAMES[k] : "?";
}

uint8_t behavior_dir_buttons(int dir)
{
    static const uint8_t B[8] = {
        SIM_BTN_RIGHT,
        SIM_BTN_DOWN | SIM_BTN_RIGHT,
        SIM_BTN_DOWN,
        SIM_BTN_DOWN | SIM_BTN_LEFT,
        SIM_BTN_LEFT,
        SIM_BTN_UP | SIM_BTN_LEFT,
        SIM_BTN_UP,
        SIM_BTN_UP | SIM_BTN_RIGHT,
    };
    return B[dir & 7];
}

/* Uniform in lo..hi (inclusive). */
static uint32_t rand_range(uint64_t *rng, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(sim_rand_next(rng) % (uint64_t)(hi - lo + 1));
}

static uint16_t ticks_of(double seconds, uint16_t tick_rate)
{
    double t = seconds * tick_rate;
    return (uint16_t)(t < 1 ? 1 : t > 65535 ? 65535 : t);
}

void behavior_init(behavior_state *b, behavior_kind k, uint64_t seed, uint16_t tick_rate)
{
    memset(b, 0, sizeof *b);
    b->kind = (uint8_t)k;
    b->rng = seed;
    b->aim = (uint16_t)sim_rand_next(&b->rng);
    b->dir = (uint8_t)rand_range(&b->rng, 0, 7);
    b->ticks_left = ticks_of(rand_range(&b->rng, 400, 1200) / 1000.0, tick_rate);
    /* A sweep of one turn in 2..8 s, either way; at least 1 unit per tick
     * so the aim changes every tick whatever the tick rate. */
    uint32_t per_s = rand_range(&b->rng, 65536 / 8, 65536 / 2);
    int step = (int)(per_s / tick_rate);
    step = step < 1 ? 1 : step > 16384 ? 16384 : step;
    b->aim_step = (int16_t)(sim_rand_next(&b->rng) & 1 ? step : -step);
    /* Circle: one turn in 2..4 s. */
    uint32_t turn_s = rand_range(&b->rng, 65536 / 4, 65536 / 2);
    int turn = (int)(turn_s / tick_rate);
    turn = turn < 1 ? 1 : turn > 16384 ? 16384 : turn;
    b->turn_step = (int16_t)(sim_rand_next(&b->rng) & 1 ? turn : -turn);
    b->heading = b->aim;
}

sim_input behavior_next(behavior_state *b, uint16_t tick_rate)
{
    sim_input in = {.aim = b->aim};
    switch ((behavior_kind)b->kind) {
    case BEHAVIOR_IDLE:
        break;
    case BEHAVIOR_CIRCLE:
        b->heading = (uint16_t)(b->heading + b->turn_step);
        /* Nearest of the 8 directions: 8192 aim units per direction. */
        in.buttons = behavior_dir_buttons(((b->heading + 4096) >> 13) & 7);
        in.aim = b->heading;
        break;
    case BEHAVIOR_WANDER:
    case BEHAVIOR_CHAOS:
    default:
        if (--b->ticks_left == 0) {
            b->dir = (uint8_t)((b->dir + rand_range(&b->rng, 1, 7)) & 7); /* a different one */
            b->ticks_left = ticks_of(rand_range(&b->rng, 400, 1200) / 1000.0, tick_rate);
        }
        b->aim = (uint16_t)(b->aim + b->aim_step);
        in.buttons = behavior_dir_buttons(b->dir);
        in.aim = b->aim;
        break;
    }
    return in;
}
