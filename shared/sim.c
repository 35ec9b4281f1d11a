/* sim: see sim.h. Movement: v += (dir * accel - v * friction) * dt, speed
 * clamped, then move, slide along walls, clamp to the arena, snap. */
#include "sim.h"

#include <math.h>
#include <string.h>
#include <cglm/vec2.h>

static float snap_pos(float v)
{
    return floorf(v * SIM_POS_SCALE + 0.5f) / SIM_POS_SCALE;
}

/* Velocity snaps toward zero so friction brings a player to rest exactly,
 * instead of leaving it creeping at one grid step per second forever. */
static float snap_vel(float v)
{
    return truncf(v * SIM_VEL_SCALE) / SIM_VEL_SCALE;
}

static void input_dir(uint8_t buttons, vec2 dir)
{
    dir[0] = (float)(!!(buttons & SIM_BTN_RIGHT) - !!(buttons & SIM_BTN_LEFT));
    dir[1] = (float)(!!(buttons & SIM_BTN_DOWN) - !!(buttons & SIM_BTN_UP));
    glm_vec2_normalize(dir);
}

static float min2(float a, float b)
{
    return a < b ? a : b;
}

/* Pushes the circle out of one wall and removes the velocity component that
 * points into it, so the player slides along the wall. */
static void collide_wall(sim_player *p, const sim_wall *wall)
{
    const float r = SIM_PLAYER_RADIUS;
    float cx = p->pos[0] < wall->x0 ? (float)wall->x0 : p->pos[0] > wall->x1 ? (float)wall->x1 : p->pos[0];
    float cy = p->pos[1] < wall->y0 ? (float)wall->y0 : p->pos[1] > wall->y1 ? (float)wall->y1 : p->pos[1];
    vec2 d = {p->pos[0] - cx, p->pos[1] - cy};
    float dist2 = glm_vec2_norm2(d);
    if (dist2 >= r * r)
        return;
    vec2 n;
    float depth;
    if (dist2 > 0.0f) {
        float dist = sqrtf(dist2);
        glm_vec2_scale(d, 1.0f / dist, n);
        depth = r - dist;
    } else {
        /* Centre inside the wall: leave through the nearest side. */
        float left = p->pos[0] - wall->x0, right = wall->x1 - p->pos[0];
        float up = p->pos[1] - wall->y0, down = wall->y1 - p->pos[1];
        float m = min2(min2(left, right), min2(up, down));
        n[0] = m == left ? -1.0f : m == right ? 1.0f : 0.0f;
        n[1] = n[0] != 0.0f ? 0.0f : m == up ? -1.0f : 1.0f;
        depth = m + r;
    }
    p->pos[0] += n[0] * depth;
    p->pos[1] += n[1] * depth;
    float into = glm_vec2_dot(p->vel, n);
    if (into < 0.0f) {
        p->vel[0] -= n[0] * into;
        p->vel[1] -= n[1] * into;
    }
}

static void clamp_arena(const sim_map *map, sim_player *p)
{
    const float r = SIM_PLAYER_RADIUS;
    const float lim[2] = {(float)map->width - r, (float)map->height - r};
    for (int k = 0; k < 2; k++) {
        if (p->pos[k] < r) {
            p->pos[k] = r;
            if (p->vel[k] < 0.0f)
                p->vel[k] = 0.0f;
        } else if (p->pos[k] > lim[k]) {
            p->pos[k] = lim[k];
            if (p->vel[k] > 0.0f)
                p->vel[k] = 0.0f;
        }
    }
}

void sim_player_step(const sim_map *map, sim_player *p, const sim_input *in, float dt)
{
    vec2 dir, acc, fric;
    input_dir(in->buttons, dir);
    glm_vec2_scale(dir, SIM_ACCEL, acc);
    glm_vec2_scale(p->vel, SIM_FRICTION, fric);
    glm_vec2_sub(acc, fric, acc);
    glm_vec2_scale(acc, dt, acc);
    glm_vec2_add(p->vel, acc, p->vel);

    float speed = glm_vec2_norm(p->vel);
    if (speed > SIM_MAX_SPEED)
        glm_vec2_scale(p->vel, SIM_MAX_SPEED / speed, p->vel);

    vec2 move;
    glm_vec2_scale(p->vel, dt, move);
    glm_vec2_add(p->pos, move, p->pos);

    /* Two passes settle corners where two walls meet. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < map->nwalls; i++)
            collide_wall(p, &map->walls[i]);
    clamp_arena(map, p);

    p->aim = in->aim;
    p->flags = (uint8_t)((in->buttons & SIM_BTN_FIRE) ? SIM_FLAG_FIRING : 0);
    for (int k = 0; k < 2; k++) {
        p->pos[k] = snap_pos(p->pos[k]);
        p->vel[k] = snap_vel(p->vel[k]);
    }
}

uint64_t sim_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int spot_is_free(const sim_map *map, float x, float y)
{
    const float r = SIM_PLAYER_RADIUS + 2.0f;
    for (int i = 0; i < map->nwalls; i++) {
        const sim_wall *wl = &map->walls[i];
        if (x + r > wl->x0 && x - r < wl->x1 && y + r > wl->y0 && y - r < wl->y1)
            return 0;
    }
    return 1;
}

void sim_world_init(sim_world *w, const sim_map *map, uint16_t tick_rate, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->map = *map;
    w->tick_rate = tick_rate;
    w->seed = seed;
}

void sim_world_spawn(sim_world *w, int id, uint32_t join_count)
{
    uint64_t state = w->seed ^ ((uint64_t)id << 32) ^ join_count;
    const float r = SIM_PLAYER_RADIUS;
    float span_x = (float)w->map.width - 4.0f * r, span_y = (float)w->map.height - 4.0f * r;
    sim_player *p = &w->players[id];
    memset(p, 0, sizeof *p);
    for (int attempt = 0; attempt < 64; attempt++) {
        float fx = (float)(sim_rand_next(&state) >> 40) / 16777216.0f;
        float fy = (float)(sim_rand_next(&state) >> 40) / 16777216.0f;
        p->pos[0] = snap_pos(2.0f * r + fx * span_x);
        p->pos[1] = snap_pos(2.0f * r + fy * span_y);
        if (spot_is_free(&w->map, p->pos[0], p->pos[1]))
            break;
    }
    w->active[id] = 1;
}

void sim_world_remove(sim_world *w, int id)
{
    w->active[id] = 0;
    memset(&w->players[id], 0, sizeof w->players[id]);
}

void sim_world_step(sim_world *w, const sim_tick_inputs *inputs)
{
    const float dt = 1.0f / (float)w->tick_rate;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!w->active[id])
            continue;
        int n = inputs->count[id] < SIM_MAX_STEPS_PER_TICK ? inputs->count[id] : SIM_MAX_STEPS_PER_TICK;
        for (int k = 0; k < n; k++)
            sim_player_step(&w->map, &w->players[id], &inputs->in[id][k], dt);
    }
    w->tick++;
}

void sim_player_to_net(const sim_player *p, sim_netent *out)
{
    out->x = (uint16_t)(int32_t)(p->pos[0] * SIM_POS_SCALE);
    out->y = (uint16_t)(int32_t)(p->pos[1] * SIM_POS_SCALE);
    out->vx = (int16_t)(p->vel[0] * SIM_VEL_SCALE);
    out->vy = (int16_t)(p->vel[1] * SIM_VEL_SCALE);
    out->aim = p->aim;
    out->flags = p->flags;
}

void sim_player_from_net(const sim_netent *n, sim_player *out)
{
    out->pos[0] = (float)n->x / SIM_POS_SCALE;
    out->pos[1] = (float)n->y / SIM_POS_SCALE;
    out->vel[0] = (float)n->vx / SIM_VEL_SCALE;
    out->vel[1] = (float)n->vy / SIM_VEL_SCALE;
    out->aim = n->aim;
    out->flags = n->flags;
}
