/* tw_wasm: the browser's binding to shared/client.c, compiled to wasm32.
 *
 * The page owns one game client, so this file owns one cl_client and the
 * buffers JavaScript copies messages through. Everything else (decoding,
 * prediction, reconciliation, interpolation) is shared/ code, the very same
 * the native bots and the server run. */
#include "client.h"

#define EXPORT(name) __attribute__((export_name(#name)))
#define TW_MAX_VIEW PROTO_MAX_ENTITIES

static cl_client g_client;
static uint8_t g_in[PROTO_MAX_SNAPSHOT + 64];
static uint8_t g_out[256];
static cl_view_ent g_view[TW_MAX_VIEW];
static double g_stats[32];

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

/* After a close: the page acts on the code alone (cl_close_action; the
 * cl_close_act values), waits cl_backoff_ms before a retry (u01 is the
 * page's Math.random()), and closes a socket it drops on purpose with
 * PROTO_CLOSE_CLIENT_DROP so the server holds the player. */
EXPORT(tw_close_action) uint32_t tw_close_action(int code) { return (uint32_t)cl_close_action(code); }
EXPORT(tw_backoff_ms) uint32_t tw_backoff_ms(int attempt, double u01) { return cl_backoff_ms(attempt, u01, 0, 0); }
EXPORT(tw_close_client_drop) uint32_t tw_close_client_drop(void) { return PROTO_CLOSE_CLIENT_DROP; }

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
EXPORT(tw_disconnected) void tw_disconnected(void) { cl_disconnected(&g_client); }
/* 1 once a WELCOME gave a resume token (the next JOIN carries it). */
EXPORT(tw_have_resume) uint32_t tw_have_resume(void) { return g_client.have_resume; }
/* 1 when the last WELCOME resumed the player it had before. */
EXPORT(tw_resumed) uint32_t tw_resumed(void) { return g_client.welcome.resumed; }

/* The message is in the in-buffer. Returns its type or a negative error. */
EXPORT(tw_receive) int tw_receive(uint32_t len, double now_ms)
{
    if (len > sizeof g_in)
        return PROTO_ERR_VALUE;
    return cl_receive(&g_client, g_in, len, now_ms);
}

EXPORT(tw_push_input) uint32_t tw_push_input(uint32_t buttons, uint32_t aim, double now_ms)
{
    return cl_push_input(&g_client, (uint8_t)buttons, (uint16_t)aim, now_ms);
}

EXPORT(tw_write_input) uint32_t tw_write_input(void)
{
    return (uint32_t)cl_write_input(&g_client, g_out, sizeof g_out);
}

EXPORT(tw_set_options) void tw_set_options(uint32_t predict, uint32_t reconcile, uint32_t interpolate)
{
    g_client.predict = predict != 0;
    g_client.reconcile = reconcile != 0;
    g_client.interpolate = interpolate != 0;
}

/* Fills the view buffer (16 bytes per entity, see cl_view_ent). */
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
    };
    _Static_assert(sizeof v / sizeof v[0] <= sizeof g_stats / sizeof g_stats[0], "g_stats too small");
    for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
        g_stats[i] = v[i];
    return g_stats;
}
