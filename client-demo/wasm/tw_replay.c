/* tw_replay: the browser's binding to shared/replay_player.c (the demo
 * page's Replays mode), in the same wasm module as tw_wasm.c.
 *
 * The page copies a replay file's bytes into a buffer this file grows at
 * the end of linear memory (tw_rp_buffer), opens it, and then seeks and
 * steps the very simulation the server ran; it reads the players as
 * 16-byte records like tw_view's (x, y between the previous and the
 * current tick by `frac`), their scores, the events (hits, joins,
 * leaves) and the verification state (hash and keyframe records checked,
 * the first divergence). */
#include "replay_player.h"

#include <stddef.h>

#include "client.h"

#define EXPORT(name) __attribute__((export_name(#name)))

static replay_player g_rp;
static uint8_t *g_file;
static uint32_t g_file_cap;
static int g_open;
static cl_view_ent g_rview[SIM_MAX_PLAYERS];
static replay_event g_rev;

/* A buffer of len bytes for the file (grown at the end of memory, reused
 * by the next file); 0 when memory cannot grow. Invalidates earlier
 * views of memory on the JS side. */
EXPORT(tw_rp_buffer) uint8_t *tw_rp_buffer(uint32_t len)
{
    if (len > g_file_cap) {
        uint32_t want = len - (g_file && (uintptr_t)g_file + g_file_cap ==
                                             (uintptr_t)__builtin_wasm_memory_size(0) * 65536u
                                         ? g_file_cap
                                         : 0);
        uint32_t pages = (want + 65535u) / 65536u;
        long old = (long)__builtin_wasm_memory_grow(0, pages);
        if (old < 0)
            return 0;
        if (!g_file || (uintptr_t)g_file + g_file_cap != (uintptr_t)old * 65536u) {
            g_file = (uint8_t *)((uintptr_t)old * 65536u); /* a fresh region */
            g_file_cap = 0;
        }
        g_file_cap += pages * 65536u;
    }
    g_open = 0;
    return g_file;
}

/* Opens the len bytes in the buffer: 1, or 0 (tw_rp_error says why). */
EXPORT(tw_rp_open) uint32_t tw_rp_open(uint32_t len)
{
    g_open = len <= g_file_cap && replay_player_open(&g_rp, g_file, len) == REPLAY_OK;
    return (uint32_t)g_open;
}

EXPORT(tw_rp_error) const char *tw_rp_error(void) { return g_rp.r.err; }

/* The header and the file's extent. k: 0 match id, 1 round, 2 tick rate,
 * 3 start tick, 4 end tick, 5 end reason (PROTO_END_*), 6 start unix ms,
 * 7 map width, 8 map height, 9 walls, 10 keyframes in the index,
 * 11 keyframe interval, 12 hash interval, 13 simulation version,
 * 14 protocol version, 15 the id of the end record's best score (-1:
 * none). */
EXPORT(tw_rp_info) double tw_rp_info(uint32_t k)
{
    const replay_header *h = &g_rp.r.h;
    if (!g_open)
        return -1;
    switch (k) {
    case 0: return h->match_id;
    case 1: return h->round;
    case 2: return h->tick_rate;
    case 3: return g_rp.start_tick;
    case 4: return g_rp.end_tick;
    case 5: return g_rp.end_reason;
    case 6: return (double)h->start_ms;
    case 7: return h->map.width;
    case 8: return h->map.height;
    case 9: return h->map.nwalls;
    case 10: return g_rp.nindex;
    case 11: return h->keyframe_interval;
    case 12: return h->hash_interval;
    case 13: return h->sim_version;
    case 14: return h->proto_version;
    default: return g_rp.top_id;
    }
}

/* k: 0 x0, 1 y0, 2 x1, 3 y1 */
EXPORT(tw_rp_wall) int tw_rp_wall(uint32_t i, uint32_t k)
{
    if (!g_open || i >= g_rp.r.h.map.nwalls)
        return 0;
    const sim_wall *w = &g_rp.r.h.map.walls[i];
    return k == 0 ? w->x0 : k == 1 ? w->y0 : k == 2 ? w->x1 : w->y1;
}

/* The keyframe index entry i's tick (the seek bar's marks); -1 past it. */
EXPORT(tw_rp_keyframe) double tw_rp_keyframe(uint32_t i) { return g_open && i < g_rp.nindex ? g_rp.index[i].tick : -1; }

/* One tick: 1, or 0 at the end (or a corrupt record: tw_rp_state(3)). */
EXPORT(tw_rp_step) uint32_t tw_rp_step(void) { return g_open && replay_player_step(&g_rp) == REPLAY_OK; }

/* The world at tick (clamped): 1, or 0. */
EXPORT(tw_rp_seek) uint32_t tw_rp_seek(uint32_t tick) { return g_open && replay_player_seek(&g_rp, tick) == REPLAY_OK; }

/* k: 0 world tick, 1 ended, 2 diverged, 3 bad (corrupt: stopped),
 * 4 records checked (hashes, keyframes), 5 divergence tick, 6 its player
 * (-1: the world), 7 events lost, 8 steps taken so far (seeks included). */
EXPORT(tw_rp_state) double tw_rp_state(uint32_t k)
{
    switch (k) {
    case 0: return g_rp.world.tick;
    case 1: return g_rp.ended;
    case 2: return g_rp.diverged;
    case 3: return g_rp.bad;
    case 4: return g_rp.checked;
    case 5: return g_rp.diverged ? g_rp.diff.tick : -1;
    case 6: return g_rp.diverged ? g_rp.diff.player : -1;
    case 7: return g_rp.ev_lost;
    default: return g_rp.steps;
    }
}

/* The first divergence's field name ("" when none). */
EXPORT(tw_rp_diff_field) const char *tw_rp_diff_field(void) { return g_rp.diverged ? g_rp.diff.field : ""; }

/* The active players as 16-byte records (tw_view's layout, self 0), x and
 * y between the previous tick's and the current tick's by frac (0..1;
 * a respawn jumps). Returns how many. */
EXPORT(tw_rp_view) uint32_t tw_rp_view(double frac)
{
    uint32_t n = 0;
    if (!g_open)
        return 0;
    float f = frac < 0 ? 0.0f : frac > 1 ? 1.0f : (float)frac;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!g_rp.world.active[id])
            continue;
        const sim_player *p = &g_rp.world.players[id];
        cl_view_ent *v = &g_rview[n++];
        float x = p->pos[0], y = p->pos[1];
        if (g_rp.prev_life[id] == p->life) {
            x = g_rp.prev_pos[id][0] + (x - g_rp.prev_pos[id][0]) * f;
            y = g_rp.prev_pos[id][1] + (y - g_rp.prev_pos[id][1]) * f;
        }
        v->x = x;
        v->y = y;
        v->id = (uint16_t)id;
        v->aim = p->aim;
        v->flags = p->flags;
        v->self = 0;
        v->health = p->health;
    }
    return n;
}
EXPORT(tw_rp_view_buf) cl_view_ent *tw_rp_view_buf(void) { return g_rview; }

/* Player id. k: 0 kills, 1 deaths, 2 score, 3 hits, 4 health, 5 flags,
 * 6 active (1/0). -1 when not active (k < 6). */
EXPORT(tw_rp_player) int tw_rp_player(uint32_t id, uint32_t k)
{
    if (!g_open || id >= SIM_MAX_PLAYERS || !g_rp.world.active[id])
        return k == 6 ? 0 : -1;
    const sim_player *p = &g_rp.world.players[id];
    switch (k) {
    case 0: return p->kills;
    case 1: return p->deaths;
    case 2: return p->score;
    case 3: return p->hits;
    case 4: return p->health;
    case 5: return p->flags;
    default: return 1;
    }
}

EXPORT(tw_rp_name) const char *tw_rp_name(uint32_t id) { return id < SIM_MAX_PLAYERS ? g_rp.r.names[id] : ""; }

/* Takes the next event: its type (REPLAY_EV_*: 1 hit, 2 join, 3 leave),
 * 0 when none; its fields in tw_rp_event. */
EXPORT(tw_rp_next_event) uint32_t tw_rp_next_event(void)
{
    return g_open && replay_player_next_event(&g_rp, &g_rev) ? g_rev.type : 0;
}

/* k: 0 tick, 1 player (shooter), 2 target, 3 damage, 4 killed. */
EXPORT(tw_rp_event) double tw_rp_event(uint32_t k)
{
    switch (k) {
    case 0: return g_rev.tick;
    case 1: return g_rev.player;
    case 2: return g_rev.target;
    case 3: return g_rev.damage;
    default: return g_rev.killed;
    }
}
