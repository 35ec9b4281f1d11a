/* tw_wasm: the browser's binding to shared/client.c, compiled to wasm32.
 *
 * The page owns one game client, so this file owns one cl_client and the
 * buffers JavaScript copies messages through. Everything else (decoding,
 * prediction, reconciliation, interpolation) is shared/ code, the very same
 * the native bots and the server run. */
#include "client.h"

#include <stddef.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define TW_MAX_VIEW PROTO_MAX_ENTITIES

static cl_client g_client;
static uint8_t g_in[PROTO_MAX_SNAPSHOT + 64];
static uint8_t g_out[PROTO_MAX_CLIENT_MSG]; /* JOIN, INPUT or the longest CHAT */
static cl_view_ent g_view[TW_MAX_VIEW];
static double g_stats[40];
static proto_event g_event;   /* the event tw_next_event took */
static uint32_t g_dead_tick;  /* snapshot tick the own DEAD flag appeared, 0: alive */

/* The page reads tw_view_buf() as 16-byte records (netcode.js view()):
 * x f32 @0, y f32 @4, id u16 @8, aim u16 @10, flags u8 @12, self u8 @13,
 * health u8 @14, pad @15. */
_Static_assert(sizeof(cl_view_ent) == 16, "cl_view_ent is read as 16-byte records");
_Static_assert(offsetof(cl_view_ent, x) == 0 && offsetof(cl_view_ent, y) == 4, "cl_view_ent x, y");
_Static_assert(offsetof(cl_view_ent, id) == 8 && offsetof(cl_view_ent, aim) == 10, "cl_view_ent id, aim");
_Static_assert(offsetof(cl_view_ent, flags) == 12 && offsetof(cl_view_ent, self) == 13, "cl_view_ent flags, self");
_Static_assert(offsetof(cl_view_ent, health) == 14, "cl_view_ent health");
_Static_assert(PROTO_MAX_CHAT_BYTES <= sizeof g_in, "chat text goes through the in-buffer");

EXPORT(tw_init) void tw_init(void) { cl_init(&g_client); }
EXPORT(tw_in_buf) uint8_t *tw_in_buf(void) { return g_in; }
EXPORT(tw_in_cap) uint32_t tw_in_cap(void) { return sizeof g_in; }
EXPORT(tw_out_buf) uint8_t *tw_out_buf(void) { return g_out; }

/* Protocol identity, so the page never hard-codes it: the WebSocket
 * subprotocol (NUL-terminated) and the version byte of JOIN. */
static const char g_subprotocol[] = PROTO_SUBPROTOCOL;
EXPORT(tw_subprotocol) const char *tw_subprotocol(void) { return g_subprotocol; }
EXPORT(tw_proto_version) uint32_t tw_proto_version(void) { return PROTO_VERSION; }
EXPORT(tw_max_token) uint32_t tw_max_token(void) { return PROTO_MAX_TOKEN; }
EXPORT(tw_max_unacked) uint32_t tw_max_unacked(void) { return CL_MAX_UNACKED; }
/* Game constants the HUD shows: full health, the fire interval, the
 * respawn delay and the chat limits (code points, bytes). */
EXPORT(tw_max_health) uint32_t tw_max_health(void) { return SIM_MAX_HEALTH; }
EXPORT(tw_fire_interval_ms) uint32_t tw_fire_interval_ms(void) { return SIM_FIRE_INTERVAL_MS; }
EXPORT(tw_respawn_ms) uint32_t tw_respawn_ms(void) { return SIM_RESPAWN_MS; }
EXPORT(tw_max_chat_chars) uint32_t tw_max_chat_chars(void) { return PROTO_MAX_CHAT_CHARS; }
EXPORT(tw_max_chat_bytes) uint32_t tw_max_chat_bytes(void) { return PROTO_MAX_CHAT_BYTES; }

/* After a close: the page acts on the code alone (cl_close_action; the
 * cl_close_act values), waits cl_backoff_ms before a retry (u01 is the
 * page's Math.random()), and closes a socket it drops on purpose with
 * PROTO_CLOSE_CLIENT_DROP so the server holds the player. */
EXPORT(tw_close_action) uint32_t tw_close_action(int code) { return (uint32_t)cl_close_action(code); }
EXPORT(tw_backoff_ms) uint32_t tw_backoff_ms(int attempt, double u01) { return cl_backoff_ms(attempt, u01, 0, 0); }
EXPORT(tw_close_client_drop) uint32_t tw_close_client_drop(void) { return PROTO_CLOSE_CLIENT_DROP; }
/* The closes a spectator may get, so the page names them without
 * hard-coding the numbers: 4012 (nothing to watch, retried), 4011. */
EXPORT(tw_close_no_such_match) uint32_t tw_close_no_such_match(void) { return PROTO_CLOSE_NO_SUCH_MATCH; }
EXPORT(tw_close_spectator_input) uint32_t tw_close_spectator_input(void) { return PROTO_CLOSE_SPECTATOR_INPUT; }

/* The join token's bytes (base64url) are in the in-buffer; token_len 0
 * sends no token, only the resume token (a resume after a drop). Returns
 * the JOIN size in the out-buffer, 0 when the token is too long. The token
 * is single-use: it is forgotten once written. */
EXPORT(tw_write_join) uint32_t tw_write_join(uint32_t token_len)
{
    char token[PROTO_MAX_TOKEN + 1];
    if (token_len > PROTO_MAX_TOKEN)
        return 0;
    for (uint32_t i = 0; i < token_len; i++)
        token[i] = (char)g_in[i];
    token[token_len] = '\0';
    cl_set_token(&g_client, token);
    uint32_t n = (uint32_t)cl_write_join(&g_client, g_out, sizeof g_out);
    cl_set_token(&g_client, "");
    return n;
}

/* The socket closed: keep the player, its inputs and prediction for a
 * resume (cl_disconnected). */
EXPORT(tw_disconnected) void tw_disconnected(void)
{
    cl_disconnected(&g_client);
    g_dead_tick = 0;
}
/* 1 once a WELCOME gave a resume token (the next JOIN carries it). */
EXPORT(tw_have_resume) uint32_t tw_have_resume(void) { return g_client.have_resume; }
/* 1 when the last WELCOME resumed the player it had before. */
EXPORT(tw_resumed) uint32_t tw_resumed(void) { return g_client.welcome.resumed; }
/* Watch mode: the next JOINs ask to spectate match_id (0xFFFF: any match
 * the token allows); call before tw_write_join. A spectator sends nothing
 * after its JOIN (tw_push_input, tw_write_input, tw_write_chat give 0). */
EXPORT(tw_set_spectate) void tw_set_spectate(uint32_t match_id) { cl_set_spectate(&g_client, (uint16_t)match_id); }
/* 1 once a spectator WELCOME arrived. */
EXPORT(tw_is_spectator) uint32_t tw_is_spectator(void) { return (uint32_t)cl_is_spectator(&g_client); }
EXPORT(tw_match_any) uint32_t tw_match_any(void) { return PROTO_MATCH_ANY; }

/* Notes the snapshot tick the local player was first seen dead at, for
 * the respawn countdown (the respawn timer does not travel). */
static void track_death(void)
{
    const proto_snapshot *latest = cl_latest(&g_client);
    uint16_t me = g_client.welcome.player_id;
    int dead = latest && me < PROTO_MAX_ENTITIES && latest->present[me] && (latest->ent[me].flags & SIM_FLAG_DEAD);
    if (!dead)
        g_dead_tick = 0;
    else if (!g_dead_tick)
        g_dead_tick = latest->tick;
}

/* The message is in the in-buffer. Returns its type or a negative error. */
EXPORT(tw_receive) int tw_receive(uint32_t len, double now_ms)
{
    if (len > sizeof g_in)
        return PROTO_ERR_VALUE;
    int r = cl_receive(&g_client, g_in, len, now_ms);
    if (r == PROTO_WELCOME)
        g_dead_tick = 0;
    if (r == PROTO_SNAPSHOT)
        track_death();
    return r;
}

EXPORT(tw_push_input) uint32_t tw_push_input(uint32_t buttons, uint32_t aim, double now_ms)
{
    return cl_push_input(&g_client, (uint8_t)buttons, (uint16_t)aim, now_ms);
}

/* Input timing (cl_plan_send): the first moment at or after not_before_ms
 * to make the next input, so that it reaches the server just before the
 * tick that applies it; not_before_ms itself before the first snapshot. */
EXPORT(tw_plan_send) double tw_plan_send(double not_before_ms) { return cl_plan_send(&g_client, not_before_ms); }
/* 1 once a snapshot showed the server's tick grid (tw_plan_send plans). */
EXPORT(tw_timing_ready) uint32_t tw_timing_ready(void) { return (uint32_t)(g_client.have_grid && g_client.joined); }

EXPORT(tw_write_input) uint32_t tw_write_input(void)
{
    return (uint32_t)cl_write_input(&g_client, g_out, sizeof g_out);
}

/* The HTTP fallback (PROTOCOL.md section 18): the next tw_write_input
 * calls start again at the oldest input the server may lack, so a POST
 * carries every one of them (cl_resend_unacked): after the snapshot's
 * acknowledgement, or after `delivered` (the newest seq of a POST /tw/input
 * this session answered 204: the server has it) when that is newer. Without
 * the second, a round trip of over 16 ticks would starve the server (each
 * POST carries at most 16 inputs, all of them already there). */
EXPORT(tw_resend_unacked) void tw_resend_unacked(uint32_t delivered)
{
    cl_resend_unacked(&g_client);
    if (delivered > g_client.sent_seq && delivered <= g_client.max_sent_seq)
        g_client.sent_seq = delivered;
}
/* The newest input seq pushed, the newest written (this connection), and
 * the newest ever written. */
EXPORT(tw_input_seq) uint32_t tw_input_seq(void) { return g_client.next_seq - 1; }
EXPORT(tw_sent_seq) uint32_t tw_sent_seq(void) { return g_client.sent_seq; }
EXPORT(tw_max_sent_seq) uint32_t tw_max_sent_seq(void) { return g_client.max_sent_seq; }
/* The resume token's PROTO_RESUME_LEN bytes (valid when tw_have_resume):
 * an HTTP session opened by a JOIN without a join token is bound to it. */
EXPORT(tw_resume_token) const uint8_t *tw_resume_token(void) { return g_client.resume; }
EXPORT(tw_resume_len) uint32_t tw_resume_len(void) { return PROTO_RESUME_LEN; }

EXPORT(tw_set_options) void tw_set_options(uint32_t predict, uint32_t reconcile, uint32_t interpolate)
{
    g_client.predict = predict != 0;
    g_client.reconcile = reconcile != 0;
    g_client.interpolate = interpolate != 0;
}

/* Fills the view buffer (16 bytes per entity, the offsets at the top). */
EXPORT(tw_view) int tw_view(double now_ms) { return cl_view(&g_client, now_ms, g_view, TW_MAX_VIEW); }
EXPORT(tw_view_buf) cl_view_ent *tw_view_buf(void) { return g_view; }
EXPORT(tw_name) const char *tw_name(uint32_t id) { return id < PROTO_MAX_ENTITIES ? g_client.names.name[id] : ""; }

EXPORT(tw_map_width) uint32_t tw_map_width(void) { return g_client.welcome.map.width; }
EXPORT(tw_map_height) uint32_t tw_map_height(void) { return g_client.welcome.map.height; }
EXPORT(tw_map_nwalls) uint32_t tw_map_nwalls(void) { return g_client.welcome.map.nwalls; }
/* k: 0 x0, 1 y0, 2 x1, 3 y1 */
EXPORT(tw_map_wall) int tw_map_wall(uint32_t i, uint32_t k)
{
    if (i >= g_client.welcome.map.nwalls)
        return 0;
    const sim_wall *w = &g_client.welcome.map.walls[i];
    return k == 0 ? w->x0 : k == 1 ? w->y0 : k == 2 ? w->x1 : w->y1;
}

/* The local player as the newest snapshot has it (the authoritative
 * position the prediction is checked against). k: 0 x, 1 y, 2 vx, 3 vy,
 * 4 aim, 5 flags, 6 present (1/0). */
EXPORT(tw_self_server) double tw_self_server(uint32_t k)
{
    const proto_snapshot *latest = cl_latest(&g_client);
    uint16_t me = g_client.welcome.player_id;
    if (!latest || !g_client.joined || me >= PROTO_MAX_ENTITIES || !latest->present[me])
        return k == 6 ? 0.0 : -1.0;
    const sim_netent *e = &latest->ent[me];
    switch (k) {
    case 0: return e->x / (double)SIM_POS_SCALE;
    case 1: return e->y / (double)SIM_POS_SCALE;
    case 2: return e->vx / (double)SIM_VEL_SCALE;
    case 3: return e->vy / (double)SIM_VEL_SCALE;
    case 4: return e->aim;
    case 5: return e->flags;
    default: return 1.0;
    }
}

/* The locally predicted player (valid once the first snapshot arrived,
 * and kept while disconnected): k: 0 x, 1 y, 2 vx, 3 vy; 4 is 1 when
 * there is a prediction; 5 aim, 6 flags. */
EXPORT(tw_self_predicted) double tw_self_predicted(uint32_t k)
{
    const sim_player *p = &g_client.predicted;
    switch (k) {
    case 0: return p->pos[0];
    case 1: return p->pos[1];
    case 2: return p->vel[0];
    case 3: return p->vel[1];
    case 5: return p->aim;
    case 6: return p->flags;
    default: return g_client.have_self;
    }
}

/* Stats as doubles, in the order tw_stats_names in netcode.js lists. */
EXPORT(tw_stats) double *tw_stats(void)
{
    const cl_stats *s = &g_client.stats;
    const proto_snapshot *latest = cl_latest(&g_client);
    double v[] = {
        s->snapshots, s->full_snapshots, s->corrections, s->last_correction,
        s->max_correction, s->correction_sum, (double)s->bytes_down, (double)s->bytes_up,
        s->msgs_down, s->msgs_up, s->rtt_ms, s->rtt_smooth_ms,
        cl_interp_depth(&g_client), g_client.welcome.player_id, g_client.welcome.tick_rate,
        g_client.welcome.snapshot_rate, g_client.last_input_seq, g_client.next_seq - 1,
        latest ? latest->tick : 0, g_client.render_tick, g_client.joined, g_client.welcome.match_id,
        g_client.welcome.resumed, g_client.have_resume, g_client.max_sent_seq,
        s->shots, s->screen_hits, s->server_hits, s->events, s->events_lost,
        s->lead_ms, s->inputs_judged, s->inputs_late,
    };
    _Static_assert(sizeof v / sizeof v[0] <= sizeof g_stats / sizeof g_stats[0], "g_stats too small");
    for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
        g_stats[i] = v[i];
    return g_stats;
}

/* ---- matches: scores, round, events, chat, shots -------------------------- */

/* Player `id` in the newest snapshot. k: 0 kills, 1 deaths, 2 score,
 * 3 hits, 4 health, 5 flags, 6 present (1/0). -1 when absent (k < 6). */
EXPORT(tw_player_stat) int tw_player_stat(uint32_t id, uint32_t k)
{
    const proto_snapshot *latest = cl_latest(&g_client);
    if (!latest || id >= PROTO_MAX_ENTITIES || !latest->present[id])
        return k == 6 ? 0 : -1;
    const sim_netent *e = &latest->ent[id];
    switch (k) {
    case 0: return e->kills;
    case 1: return e->deaths;
    case 2: return e->score;
    case 3: return e->hits;
    case 4: return e->health;
    case 5: return e->flags;
    default: return 1;
    }
}

/* The round as the newest snapshot has it. k: 0 phase (PROTO_PHASE_*:
 * 0 warmup, 1 live, 2 ended), 1 round, 2 seconds left in the phase
 * ((end_tick - tick) / tick rate, never negative; -1 when open-ended),
 * 3 score limit (0 none), 4 min players, 5 end tick, 6 snapshot tick,
 * 7 present (1 once a snapshot arrived). */
EXPORT(tw_match) double tw_match(uint32_t k)
{
    const proto_snapshot *latest = cl_latest(&g_client);
    if (!latest)
        return k == 7 ? 0.0 : -1.0;
    const proto_match_state *ms = &latest->ms;
    switch (k) {
    case 0: return ms->phase;
    case 1: return ms->round;
    case 2:
        if (!ms->end_tick)
            return -1.0;
        if (ms->end_tick <= latest->tick || !g_client.welcome.tick_rate)
            return 0.0;
        return (double)(ms->end_tick - latest->tick) / g_client.welcome.tick_rate;
    case 3: return ms->score_limit;
    case 4: return ms->min_players;
    case 5: return ms->end_tick;
    case 6: return latest->tick;
    default: return 1.0;
    }
}

/* Milliseconds until the local player respawns, from the snapshot tick it
 * was first seen dead (about a tick early or late); 0 when alive. */
EXPORT(tw_respawn_left_ms) double tw_respawn_left_ms(void)
{
    const proto_snapshot *latest = cl_latest(&g_client);
    uint16_t rate = g_client.welcome.tick_rate;
    if (!g_dead_tick || !latest || !rate)
        return 0.0;
    double total = (double)SIM_RESPAWN_MS * rate / 1000.0;
    double left = total - (double)(latest->tick - g_dead_tick);
    return left > 0.0 ? left * 1000.0 / rate : 0.0;
}

/* Takes the next reliable event (cl_next_event). Returns its type
 * (PROTO_EV_*: 1 kill, 2 chat, 3 join, 4 leave, 5 round start, 6 round
 * end), 0 when none is waiting; the fields are then in tw_event and the
 * text's tw_event(5) bytes of UTF-8 at tw_event_text. */
EXPORT(tw_next_event) uint32_t tw_next_event(void)
{
    if (!cl_next_event(&g_client, &g_event))
        return 0;
    return g_event.type;
}

/* k: 0 type, 1 player, 2 other (255: nobody), 3 reason (PROTO_END_*:
 * 1 time, 2 score limit, 3 interrupted), 4 round, 5 text length in bytes,
 * 6 seq. */
EXPORT(tw_event) double tw_event(uint32_t k)
{
    switch (k) {
    case 0: return g_event.type;
    case 1: return g_event.player;
    case 2: return g_event.other;
    case 3: return g_event.reason;
    case 4: return g_event.round;
    case 5: return g_event.len;
    default: return g_event.seq;
    }
}
EXPORT(tw_event_text) const char *tw_event_text(void) { return g_event.text; }

/* The chat text's len bytes of UTF-8 are in the in-buffer. Returns the
 * size of the CHAT in the out-buffer, 0 when it cannot be sent (empty
 * after control characters are removed, not UTF-8, over
 * PROTO_MAX_CHAT_CHARS or PROTO_MAX_CHAT_BYTES, or not joined). */
EXPORT(tw_write_chat) uint32_t tw_write_chat(uint32_t len)
{
    if (len > PROTO_MAX_CHAT_BYTES)
        return 0;
    return (uint32_t)cl_write_chat(&g_client, (const char *)g_in, len, g_out, sizeof g_out);
}

/* The local player's shooting. k: 0 shots the prediction fired, 1 of them
 * hit someone as this page drew them, 2 hits the server credited, 3 seq of
 * the newest input that fired (0: none), 4 whom it hit on this screen (-1:
 * a miss). */
EXPORT(tw_shots) double tw_shots(uint32_t k)
{
    const cl_stats *s = &g_client.stats;
    switch (k) {
    case 0: return s->shots;
    case 1: return s->screen_hits;
    case 2: return s->server_hits;
    case 3: return g_client.last_shot_seq;
    default: return g_client.last_shot_seq ? g_client.last_shot_target : -1;
    }
}
