/* behavior: see behavior.h. */
#include "behavior.h"

#include <math.h>
#include <string.h>

static const char *const NAMES[] = {"wander", "idle", "circle", "chaos", "fight"};
#define NKINDS (int)(sizeof NAMES / sizeof NAMES[0])

/* Fight: distances it keeps from its target, world units. */
#define FIGHT_NEAR 250.0f
#define FIGHT_FAR 500.0f

int behavior_parse(const char *name, behavior_kind *out)
{
    for (int i = 0; i < NKINDS; i++) {
        if (strcmp(name, NAMES[i]) == 0) {
            *out = (behavior_kind)i;
            return 0;
        }
    }
    return -1;
}

const char *behavior_name(behavior_kind k)
{
    return (unsigned)k < (unsigned)NKINDS ? NAMES[k] : "?";
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
    /* Drawn last, and only for fight, so the other kinds' streams for a
     * seed stay what they were. */
    if (k == BEHAVIOR_FIGHT) {
        b->strafe = (int8_t)(sim_rand_next(&b->rng) & 1 ? 1 : -1);
        b->strafe_left = ticks_of(rand_range(&b->rng, 400, 1200) / 1000.0, tick_rate);
    }
}

/* Wander's step: a direction changed every 0.4..1.2 s, the aim sweeping. */
static sim_input wander(behavior_state *b, uint16_t tick_rate)
{
    if (--b->ticks_left == 0) {
        b->dir = (uint8_t)((b->dir + rand_range(&b->rng, 1, 7)) & 7); /* a different one */
        b->ticks_left = ticks_of(rand_range(&b->rng, 400, 1200) / 1000.0, tick_rate);
    }
    b->aim = (uint16_t)(b->aim + b->aim_step);
    return (sim_input){.buttons = behavior_dir_buttons(b->dir), .aim = b->aim};
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
    case BEHAVIOR_FIGHT:
    default:
        in = wander(b, tick_rate);
        break;
    }
    return in;
}

uint16_t behavior_aim_at(float dx, float dy)
{
    const double PI = 3.14159265358979323846;
    double a = atan2((double)dy, (double)dx); /* -pi..pi; atan2(0, 0) is 0 */
    long u = lround(a * (32768.0 / PI));      /* -32768..32768 */
    return (uint16_t)((unsigned long)u & 0xffffu);
}

/* Whether the ray the server would cast from `self` toward (x, y) reaches
 * that player before a wall and within range. O(walls). */
static int in_sight(const sim_map *map, const float self[2], float x, float y)
{
    const float pos[1][2] = {{x, y}};
    const uint8_t alive[1] = {1};
    float dist;
    return sim_hitscan(map, self, behavior_aim_at(x - self[0], y - self[1]), pos, alive, 1, -1, &dist) == 0;
}

int behavior_pick_target(const sim_map *map, const float self[2], const cl_view_ent *view, int n)
{
    const float reach = SIM_WEAPON_RANGE + SIM_PLAYER_RADIUS;
    int idx[PROTO_MAX_ENTITIES];
    float d2[PROTO_MAX_ENTITIES];
    int m = 0;
    for (int i = 0; i < n && m < PROTO_MAX_ENTITIES; i++) {
        if (view[i].self || (view[i].flags & SIM_FLAG_DEAD))
            continue;
        float dx = view[i].x - self[0], dy = view[i].y - self[1];
        float dd = dx * dx + dy * dy;
        if (dd > reach * reach)
            continue;
        idx[m] = i;
        d2[m++] = dd;
    }
    /* Nearest first; usually the first one checked is in sight. */
    while (m > 0) {
        int best = 0;
        for (int k = 1; k < m; k++)
            if (d2[k] < d2[best] || (d2[k] == d2[best] && idx[k] < idx[best]))
                best = k;
        int i = idx[best];
        if (in_sight(map, self, view[i].x, view[i].y))
            return i;
        idx[best] = idx[--m];
        d2[best] = d2[m];
    }
    return -1;
}

sim_input behavior_next_fight(behavior_state *b, uint16_t tick_rate, const sim_map *map, const float *self,
                              const cl_view_ent *view, int n)
{
    int t = self ? behavior_pick_target(map, self, view, n) : -1;
    if (t < 0)
        return wander(b, tick_rate); /* trigger released */
    float dx = view[t].x - self[0], dy = view[t].y - self[1];
    float d2 = dx * dx + dy * dy;
    uint16_t aim = behavior_aim_at(dx, dy);
    if (b->strafe_left == 0 || --b->strafe_left == 0) {
        b->strafe = (int8_t)(b->strafe < 0 ? 1 : -1);
        b->strafe_left = ticks_of(rand_range(&b->rng, 400, 1200) / 1000.0, tick_rate);
    }
    /* Across the line of fire, bent 45 degrees toward the target when far,
     * away from it when near. */
    int turn = d2 > FIGHT_FAR * FIGHT_FAR ? 8192 : d2 < FIGHT_NEAR * FIGHT_NEAR ? 24576 : 16384;
    uint16_t heading = (uint16_t)(aim + (b->strafe < 0 ? -turn : turn));
    b->aim = aim; /* wander goes on from here once the target is gone */
    return (sim_input){.buttons = (uint8_t)(behavior_dir_buttons(((heading + 4096) >> 13) & 7) | SIM_BTN_FIRE),
                       .aim = aim};
}
