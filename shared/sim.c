/* sim: see sim.h. Movement: v += (dir * accel - v * friction) * dt, speed
 * clamped, then move, slide along walls, clamp to the arena, snap. Combat:
 * each step that fires casts a ray (sim_hitscan) against the other players
 * rewound to the shooter's view (rewind), first wall or player wins. */
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

static void snap(sim_player *p)
{
    for (int k = 0; k < 2; k++) {
        p->pos[k] = snap_pos(p->pos[k]);
        p->vel[k] = snap_vel(p->vel[k]);
    }
}

/* v += (dir * accel - v * friction) * dt, speed clamped, pos += v * dt. */
static void accelerate_and_move(sim_player *p, uint8_t buttons, float dt)
{
    vec2 dir, acc, fric;
    input_dir(buttons, dir);
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

/* Steps between shots at this step length (12 at 60 Hz), at least 1. */
static uint8_t fire_interval_steps(float dt)
{
    float steps = floorf((float)SIM_FIRE_INTERVAL_MS / 1000.0f / dt + 0.5f);
    return (uint8_t)(steps < 1.0f ? 1.0f : steps > 255.0f ? 255.0f : steps);
}

int sim_weapon_step(uint8_t *fire_cd, int trigger, int dead, float dt)
{
    if (*fire_cd)
        (*fire_cd)--;
    if (!trigger || dead || *fire_cd)
        return 0;
    *fire_cd = fire_interval_steps(dt);
    return 1;
}

int sim_player_step(const sim_map *map, sim_player *p, const sim_input *in, float dt)
{
    int fired = sim_weapon_step(&p->fire_cd, in->buttons & SIM_BTN_FIRE, p->flags & SIM_FLAG_DEAD, dt);
    if (p->flags & SIM_FLAG_DEAD) {
        /* Waits for the respawn where it fell; still aims. */
        p->vel[0] = p->vel[1] = 0.0f;
        p->turn = (int16_t)(uint16_t)(in->aim - p->aim);
        p->move = (uint8_t)(in->buttons & SIM_BTN_MOVE);
        p->aim = in->aim;
        p->flags = (uint8_t)(SIM_FLAG_DEAD | (fired ? SIM_FLAG_SHOT : 0));
        return fired;
    }
    accelerate_and_move(p, in->buttons, dt);
    /* Two passes settle corners where two walls meet. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < map->nwalls; i++)
            collide_wall(p, &map->walls[i]);
    clamp_arena(map, p);

    p->turn = (int16_t)(uint16_t)(in->aim - p->aim);
    p->move = (uint8_t)(in->buttons & SIM_BTN_MOVE);
    p->aim = in->aim;
    p->flags = (uint8_t)(((in->buttons & SIM_BTN_FIRE) ? SIM_FLAG_FIRING : 0) | (fired ? SIM_FLAG_SHOT : 0));
    snap(p);
    return fired;
}

void sim_player_glide(sim_player *p, uint8_t move, float dt)
{
    accelerate_and_move(p, move, dt);
    snap(p);
}

/* sin and cos of t in [0, pi/4] by their Taylor series (error < 3e-8):
 * + - * / only, so every platform computes the same bits. */
static void sincos_small(float t, float *s, float *c)
{
    float t2 = t * t;
    *s = t * (1.0f - t2 / 6.0f * (1.0f - t2 / 20.0f * (1.0f - t2 / 42.0f * (1.0f - t2 / 72.0f))));
    *c = 1.0f - t2 / 2.0f * (1.0f - t2 / 12.0f * (1.0f - t2 / 30.0f * (1.0f - t2 / 56.0f)));
}

void sim_aim_dir(uint16_t aim, float dir[2])
{
    /* Reduce exactly on the integer angle: quadrant, then the nearer half
     * of it, so the series only sees [0, pi/4]. */
    unsigned q = aim >> 14, r = aim & 16383u;
    int swap = r > 8192u;
    float t = (float)(swap ? 16384u - r : r) * (1.5707963267948966f / 16384.0f);
    float s, c;
    sincos_small(t, &s, &c);
    if (swap) {
        float tmp = s;
        s = c;
        c = tmp;
    }
    switch (q) {
    case 0: dir[0] = c; dir[1] = s; break;
    case 1: dir[0] = -s; dir[1] = c; break;
    case 2: dir[0] = -c; dir[1] = -s; break;
    default: dir[0] = s; dir[1] = -c; break;
    }
}

/* Distance along the ray to where it enters the wall, or -1 if it does
 * not (slab test). */
static float ray_wall(const float from[2], const float d[2], const sim_wall *wl)
{
    const float lo[2] = {(float)wl->x0, (float)wl->y0}, hi[2] = {(float)wl->x1, (float)wl->y1};
    float tin = 0.0f, tout = SIM_WEAPON_RANGE;
    for (int k = 0; k < 2; k++) {
        if (d[k] == 0.0f) {
            if (from[k] < lo[k] || from[k] > hi[k])
                return -1.0f;
            continue;
        }
        float t1 = (lo[k] - from[k]) / d[k], t2 = (hi[k] - from[k]) / d[k];
        if (t1 > t2) {
            float tmp = t1;
            t1 = t2;
            t2 = tmp;
        }
        if (t1 > tin)
            tin = t1;
        if (t2 < tout)
            tout = t2;
        if (tin > tout)
            return -1.0f;
    }
    return tin;
}

int sim_hitscan(const sim_map *map, const float from[2], uint16_t aim, const float (*pos)[2],
                const uint8_t *alive, int n, int skip, float *dist)
{
    float d[2];
    sim_aim_dir(aim, d);
    float best = SIM_WEAPON_RANGE;
    for (int i = 0; i < map->nwalls; i++) {
        float t = ray_wall(from, d, &map->walls[i]);
        if (t >= 0.0f && t < best)
            best = t;
    }
    const float r2 = SIM_PLAYER_RADIUS * SIM_PLAYER_RADIUS;
    int hit = -1;
    for (int i = 0; i < n; i++) {
        if (!alive[i] || i == skip)
            continue;
        float cx = pos[i][0] - from[0], cy = pos[i][1] - from[1];
        float proj = cx * d[0] + cy * d[1];
        float perp2 = cx * cx + cy * cy - proj * proj;
        if (perp2 > r2 || proj + SIM_PLAYER_RADIUS < 0.0f)
            continue;
        float t = proj - sqrtf(r2 - perp2);
        if (t < 0.0f)
            t = 0.0f; /* the shooter stands inside the target */
        if (t < best) {
            best = t;
            hit = i;
        }
    }
    *dist = best;
    return hit;
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
    w->combat = 1;
}

/* A random point clear of the walls (the last try when none is). */
static void random_spot(const sim_map *map, uint64_t *state, float out[2])
{
    const float r = SIM_PLAYER_RADIUS;
    float span_x = (float)map->width - 4.0f * r, span_y = (float)map->height - 4.0f * r;
    for (int attempt = 0; attempt < 64; attempt++) {
        float fx = (float)(sim_rand_next(state) >> 40) / 16777216.0f;
        float fy = (float)(sim_rand_next(state) >> 40) / 16777216.0f;
        out[0] = snap_pos(2.0f * r + fx * span_x);
        out[1] = snap_pos(2.0f * r + fy * span_y);
        if (spot_is_free(map, out[0], out[1]))
            return;
    }
}

void sim_world_spawn(sim_world *w, int id, uint32_t join_count)
{
    uint64_t state = w->seed ^ ((uint64_t)id << 32) ^ join_count;
    sim_player *p = &w->players[id];
    memset(p, 0, sizeof *p);
    random_spot(&w->map, &state, p->pos);
    p->health = SIM_MAX_HEALTH;
    w->active[id] = 1;
}

void sim_world_remove(sim_world *w, int id)
{
    w->active[id] = 0;
    memset(&w->players[id], 0, sizeof w->players[id]);
}

#define SPAWN_CANDIDATES 8

/* Back to life at the best of a few random free spots: the one farthest
 * from the nearest living player. Deterministic: the spots come from the
 * seed, the id, the tick and the life count. */
static void respawn(sim_world *w, int id)
{
    sim_player *p = &w->players[id];
    uint64_t state = w->seed ^ ((uint64_t)id << 40) ^ ((uint64_t)p->life << 32) ^ w->tick ^ 0x5bd1e995u;
    float best[2] = {p->pos[0], p->pos[1]}, best_d2 = -1.0f;
    for (int k = 0; k < SPAWN_CANDIDATES; k++) {
        float spot[2];
        random_spot(&w->map, &state, spot);
        float nearest = 1e30f;
        for (int o = 0; o < SIM_MAX_PLAYERS; o++) {
            const sim_player *q = &w->players[o];
            if (o == id || !w->active[o] || (q->flags & SIM_FLAG_DEAD))
                continue;
            float dx = q->pos[0] - spot[0], dy = q->pos[1] - spot[1];
            float d2 = dx * dx + dy * dy;
            if (d2 < nearest)
                nearest = d2;
        }
        if (nearest > best_d2) {
            best_d2 = nearest;
            best[0] = spot[0];
            best[1] = spot[1];
        }
    }
    p->pos[0] = best[0];
    p->pos[1] = best[1];
    p->vel[0] = p->vel[1] = 0.0f;
    p->health = SIM_MAX_HEALTH;
    p->flags = 0;
    p->fire_cd = 0;
    p->respawn = 0;
    p->life++;
}

void sim_world_reset_round(sim_world *w)
{
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!w->active[id])
            continue;
        sim_player *p = &w->players[id];
        p->kills = p->deaths = p->score = p->hits = 0;
        respawn(w, id);
    }
}

static uint8_t alive_mark(const sim_player *p)
{
    return (p->flags & SIM_FLAG_DEAD) ? 0 : (uint8_t)(1 + (p->life & 0x7f));
}

static void record_history(sim_world *w)
{
    sim_history_tick *h = &w->history[w->tick % SIM_HISTORY];
    h->stamp = w->tick + 1;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        h->alive[id] = w->active[id] ? alive_mark(&w->players[id]) : 0;
        h->pos[id][0] = w->players[id].pos[0];
        h->pos[id][1] = w->players[id].pos[1];
    }
}

static const sim_history_tick *history_at(const sim_world *w, uint32_t tick)
{
    const sim_history_tick *h = &w->history[tick % SIM_HISTORY];
    return h->stamp == tick + 1 ? h : NULL;
}

/* The others where the shooter saw them: its view in 1/256 ticks, clamped
 * to [present - unlag_ticks, present], interpolated between the two
 * recorded ticks around it (in one life). A target counts when it was alive
 * then; alive[] says whether it still is, in that life. Returns the ticks
 * rewound. */
static uint32_t rewind_view(sim_world *w, const sim_input *in, float (*pos)[2], uint8_t *alive)
{
    uint64_t now = (uint64_t)w->tick << 8;
    uint64_t view = in->view_tick ? ((uint64_t)in->view_tick << 8 | in->view_frac) : now;
    if (view > now)
        view = now; /* never the future */
    uint64_t bound = (uint64_t)w->unlag_ticks << 8;
    if (now - view > bound) {
        view = now - bound;
        w->unlag_clamped++;
    }
    const sim_history_tick *a = history_at(w, (uint32_t)(view >> 8));
    const sim_history_tick *b = (view & 255) ? history_at(w, (uint32_t)(view >> 8) + 1) : NULL;
    if (!a) {
        a = history_at(w, w->tick); /* recorded this step: always there */
        b = NULL;
        view = now;
    }
    float t = (float)(view & 255) / 256.0f;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        /* alive[id]: 0 not there, 1 alive then only, 2 alive then and now in the same life */
        uint8_t mark = w->active[id] ? alive_mark(&w->players[id]) : 0;
        alive[id] = !w->active[id] || !a->alive[id] ? 0 : a->alive[id] == mark ? 2 : 1;
        pos[id][0] = a->pos[id][0];
        pos[id][1] = a->pos[id][1];
        if (alive[id] && b && b->alive[id] == a->alive[id]) {
            pos[id][0] += (b->pos[id][0] - a->pos[id][0]) * t;
            pos[id][1] += (b->pos[id][1] - a->pos[id][1]) * t;
        }
    }
    return (uint32_t)((now - view) >> 8);
}

static void shoot(sim_world *w, int id, const sim_input *in, const float from[2])
{
    float (*pos)[2] = w->scratch_pos;
    uint8_t *alive = w->scratch_alive;
    w->shots++;
    if (!w->combat)
        return;
    uint32_t back = rewind_view(w, in, pos, alive);
    sim_player *p = &w->players[id];
    float dist;
    int target = sim_hitscan(&w->map, from, p->aim, (const float (*)[2])pos, alive, SIM_MAX_PLAYERS, id, &dist);
    if (target < 0)
        return;
    sim_player *t = &w->players[target];
    /* Dead since the view (or respawned): the hit is registered, but
     * nobody dies twice. */
    uint8_t dmg = alive[target] != 2 ? 0 : t->health < SIM_WEAPON_DAMAGE ? t->health : SIM_WEAPON_DAMAGE;
    t->health = (uint8_t)(t->health - dmg);
    p->hits++;
    int killed = dmg && t->health == 0;
    if (killed) {
        t->flags = SIM_FLAG_DEAD;
        t->died_tick = w->tick + 1;
        t->ghost_pos[0] = t->pos[0], t->ghost_pos[1] = t->pos[1];
        t->ghost_vel[0] = t->vel[0], t->ghost_vel[1] = t->vel[1];
        t->vel[0] = t->vel[1] = 0.0f;
        t->respawn = (uint16_t)((uint32_t)SIM_RESPAWN_MS * w->tick_rate / 1000u);
        if (t->respawn == 0)
            t->respawn = 1;
        t->deaths++;
        p->kills++;
        p->score++;
    }
    if (w->nhits < SIM_MAX_HITS)
        w->hits[w->nhits++] = (sim_hit){(uint8_t)id, (uint8_t)target, dmg, (uint8_t)killed, (uint16_t)back};
}

/* A dead player's input that left before its client could know: its
 * ghost (the player as the client still predicts it, alive) moves and may
 * fire, from where the client had it; the body stays where it fell. */
static void trade_step(sim_world *w, int id, const sim_input *in, float dt)
{
    sim_player *p = &w->players[id];
    sim_player g = *p;
    g.pos[0] = p->ghost_pos[0], g.pos[1] = p->ghost_pos[1];
    g.vel[0] = p->ghost_vel[0], g.vel[1] = p->ghost_vel[1];
    g.flags = 0;
    int fired = sim_player_step(&w->map, &g, in, dt);
    p->ghost_pos[0] = g.pos[0], p->ghost_pos[1] = g.pos[1];
    p->ghost_vel[0] = g.vel[0], p->ghost_vel[1] = g.vel[1];
    p->fire_cd = g.fire_cd;
    p->aim = g.aim;
    p->turn = g.turn;
    p->move = g.move;
    p->flags = (uint8_t)(SIM_FLAG_DEAD | (fired ? SIM_FLAG_SHOT : 0));
    if (fired)
        shoot(w, id, in, p->ghost_pos);
}

void sim_world_step(sim_world *w, const sim_tick_inputs *inputs)
{
    const float dt = 1.0f / (float)w->tick_rate;
    record_history(w);
    w->nhits = 0;
    w->shots = w->unlag_clamped = 0;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        sim_player *p = &w->players[id];
        if (w->active[id] && (p->flags & SIM_FLAG_DEAD) && p->respawn && --p->respawn == 0)
            respawn(w, id);
    }
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!w->active[id])
            continue;
        int n = inputs->count[id] < SIM_MAX_STEPS_PER_TICK ? inputs->count[id] : SIM_MAX_STEPS_PER_TICK;
        sim_player *p = &w->players[id];
        for (int k = 0; k < n; k++) {
            const sim_input *in = &inputs->in[id][k];
            /* Killed, but this input left before the client could know. */
            int trade = (p->flags & SIM_FLAG_DEAD) && in->known_tick && in->known_tick < p->died_tick &&
                        w->tick + 1 - p->died_tick <= w->unlag_ticks;
            if (trade)
                trade_step(w, id, in, dt);
            else if (sim_player_step(&w->map, p, in, dt))
                shoot(w, id, in, p->pos);
        }
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
    out->turn = p->turn;
    out->move = p->move;
    out->flags = p->flags;
    out->health = p->health;
    out->life = p->life;
    out->kills = p->kills;
    out->deaths = p->deaths;
    out->score = p->score;
    out->hits = p->hits;
}

void sim_player_from_net(const sim_netent *n, sim_player *out)
{
    memset(out, 0, sizeof *out);
    out->pos[0] = (float)n->x / SIM_POS_SCALE;
    out->pos[1] = (float)n->y / SIM_POS_SCALE;
    out->vel[0] = (float)n->vx / SIM_VEL_SCALE;
    out->vel[1] = (float)n->vy / SIM_VEL_SCALE;
    out->aim = n->aim;
    out->turn = n->turn;
    out->move = n->move;
    out->flags = n->flags;
    out->health = n->health;
    out->life = n->life;
    out->kills = n->kills;
    out->deaths = n->deaths;
    out->score = n->score;
    out->hits = n->hits;
}
