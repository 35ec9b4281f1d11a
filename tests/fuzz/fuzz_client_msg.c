/* fuzz_client_msg: the server's side of client->server messages.
 *
 * Every message goes through proto_join_read and proto_input_read; one that
 * decodes must re-encode to the same bytes, its strict prefixes must be
 * truncated and one more byte must be trailing. Then the message is handled
 * the way server/net.c does for one of three sessions of a real match
 * (JOIN first, then INPUTs; anything else closes the session, which leaves
 * the match and reconnects on its next message), and the fuzz input also
 * decides when the match ticks. Each session has a real cl_client that
 * receives its WELCOME and snapshots, so the checks cover what the server
 * promises: inputs applied once, in seq order, within the credit; every
 * snapshot decodes on a client holding the baseline, to exactly the
 * server's state and names. Framing: fuzz_common.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client.h"
#include "fuzz_common.h"
#include "match.h"
#include "proto.h"

enum { S_AWAIT_JOIN, S_PLAYING };

/* The inputs a session sent, by seq, as the server first received them. */
#define SENT_RING 64

typedef struct session {
    int state;
    int pid;
    uint32_t max_ack; /* highest ack_tick the server accepted */
    cl_client cl;
    sim_input sent[SENT_RING];
} session;

static session sessions[FZ_CLI_SESSIONS];

/* ---- decoders on their own ------------------------------------------------ */

static void check_join_decode(const uint8_t *buf, size_t len)
{
    proto_join j;
    if (proto_join_read(buf, len, &j) != PROTO_OK)
        return;
    uint8_t out[PROTO_MAX_CLIENT_MSG + 1];
    size_t n = proto_join_write(j.name, out, sizeof out);
    FZ_CHECK(n == len && memcmp(out, buf, len) == 0);
    for (size_t k = 0; k < len; k++)
        FZ_CHECK(proto_join_read(buf, k, &j) == PROTO_ERR_TRUNCATED);
    out[len] = 0;
    FZ_CHECK(proto_join_read(out, len + 1, &j) == PROTO_ERR_TRAILING);
}

static void check_input_decode(const uint8_t *buf, size_t len)
{
    proto_input_msg m;
    if (proto_input_read(buf, len, &m) != PROTO_OK)
        return;
    FZ_CHECK(m.count >= 1 && m.count <= PROTO_MAX_INPUTS_PER_MSG && m.first_seq >= 1);
    uint8_t out[PROTO_MAX_CLIENT_MSG + 1];
    size_t n = proto_input_write(&m, out, sizeof out);
    FZ_CHECK(n == len && memcmp(out, buf, len) == 0);
    proto_input_msg tmp;
    for (size_t k = 0; k < len; k++)
        FZ_CHECK(proto_input_read(buf, k, &tmp) == PROTO_ERR_TRUNCATED);
    out[len] = 0;
    FZ_CHECK(proto_input_read(out, len + 1, &tmp) == PROTO_ERR_TRAILING);
}

/* ---- the server's session handling (as server/net.c) ---------------------- */

static void session_close(match *m, session *s)
{
    if (s->state == S_PLAYING)
        match_player_leave(m, s->pid);
    s->state = S_AWAIT_JOIN;
    s->pid = -1;
}

static void on_join(match *m, session *s, const uint8_t *buf, size_t len)
{
    proto_join j;
    if (proto_join_read(buf, len, &j) != PROTO_OK) {
        session_close(m, s);
        return;
    }
    int had_room = match_has_room(m);
    int pid = match_player_join(m, j.name, s);
    FZ_CHECK((pid >= 0) == had_room);
    if (pid < 0) {
        session_close(m, s);
        return;
    }
    FZ_CHECK(pid < m->cfg.size && m->players[pid].used && !m->players[pid].npc);
    FZ_CHECK(strcmp(m->names.name[pid], j.name) == 0);
    s->state = S_PLAYING;
    s->pid = pid;
    s->max_ack = 0;
    cl_init(&s->cl);

    uint8_t w[PROTO_MAX_WELCOME];
    size_t n = match_welcome(m, pid, w, sizeof w);
    FZ_CHECK(n > 0);
    FZ_CHECK(cl_receive(&s->cl, w, n, 0.0) == PROTO_WELCOME);
    const proto_welcome *got = &s->cl.welcome;
    FZ_CHECK(got->player_id == pid && got->tick_rate == m->cfg.tick_rate &&
             got->snapshot_rate == m->cfg.snapshot_rate && got->max_players == m->cfg.size &&
             got->server_tick == m->world.tick && got->match_id == m->id);
    FZ_CHECK(got->map.width == m->world.map.width && got->map.height == m->world.map.height &&
             got->map.nwalls == m->world.map.nwalls);
}

static void check_player(const match *m, const match_player *p)
{
    FZ_CHECK(p->last_applied <= p->last_received);
    FZ_CHECK(p->last_received - p->last_applied <= MATCH_INPUT_BUF);
    FZ_CHECK(p->credit <= MATCH_MAX_CREDIT);
    FZ_CHECK(p->acked_tick <= match_latest_snapshot_tick(m));
}

static void on_input(match *m, session *s, const uint8_t *buf, size_t len)
{
    proto_input_msg msg;
    if (proto_input_read(buf, len, &msg) != PROTO_OK) {
        session_close(m, s);
        return;
    }
    match_player *p = &m->players[s->pid];
    uint32_t before = p->last_received;
    const char *why = NULL;
    if (match_player_input(m, s->pid, &msg, &why)) {
        FZ_CHECK(why != NULL);
        FZ_CHECK(msg.ack_tick > match_latest_snapshot_tick(m) || msg.first_seq > before + 1);
        session_close(m, s);
        return;
    }
    /* Record the inputs the server took as new, to check what it applies. */
    for (int i = 0; i < msg.count; i++) {
        uint32_t seq = msg.first_seq + (uint32_t)i;
        if (seq > before)
            s->sent[seq % SENT_RING] = msg.in[i];
    }
    if (msg.ack_tick > s->max_ack)
        s->max_ack = msg.ack_tick;
    FZ_CHECK(p->acked_tick == s->max_ack);
    uint32_t last = msg.first_seq + msg.count - 1;
    FZ_CHECK(p->last_received == (last > before ? last : before));
    /* This session's client sent these (the fuzz input wrote the bytes). */
    if (last > s->cl.sent_seq) {
        s->cl.sent_seq = last;
        s->cl.next_seq = last + 1;
    }
    check_player(m, p);
}

static void on_message(match *m, session *s, const uint8_t *buf, size_t len)
{
    int type = proto_peek_type(buf, len);
    if (s->state == S_AWAIT_JOIN) {
        if (type != PROTO_JOIN)
            session_close(m, s);
        else
            on_join(m, s, buf, len);
        return;
    }
    if (type != PROTO_INPUT) {
        session_close(m, s);
        return;
    }
    on_input(m, s, buf, len);
}

/* ---- ticks and snapshots -------------------------------------------------- */

static const proto_snapshot *client_has(const cl_client *c, uint32_t tick)
{
    for (int i = 0; i < CL_RING; i++)
        if (tick && c->ring[i].tick == tick)
            return &c->ring[i];
    return NULL;
}

static void send_snapshot(match *m, session *s, double now_ms)
{
    static uint8_t buf[PROTO_MAX_SNAPSHOT];
    int full = -1;
    size_t n = match_snapshot(m, s->pid, buf, sizeof buf, &full);
    FZ_CHECK(n >= PROTO_SNAPSHOT_HEADER_SIZE + 1 && (full == 0 || full == 1));
    proto_snapshot_header h;
    FZ_CHECK(proto_snapshot_header_read(buf, n, &h) == PROTO_OK);
    const proto_snapshot *cur = &m->ring[m->ring_head];
    FZ_CHECK(h.tick == cur->tick && (h.baseline_tick == 0) == full);
    /* Delta against the newest ack while the server still holds it and it
     * is within the header's 255 ticks; full otherwise. */
    uint32_t ack = s->max_ack;
    int usable = 0;
    for (int i = 0; i < PROTO_BASELINE_WINDOW; i++)
        usable |= ack && m->ring[i].tick == ack;
    usable = usable && ack < cur->tick && cur->tick - ack <= 255;
    FZ_CHECK(h.baseline_tick == (usable ? ack : 0));
    FZ_CHECK(h.last_input_seq == m->players[s->pid].last_applied);

    int holds_base = full || client_has(&s->cl, h.baseline_tick);
    int err = cl_receive(&s->cl, buf, n, now_ms);
    if (!holds_base) {
        /* The session acked a tick it never received (the fuzz input is a
         * lying client): the client cannot decode and hangs up. */
        FZ_CHECK(err == PROTO_ERR_BASELINE);
        session_close(m, s);
        return;
    }
    FZ_CHECK(err == PROTO_SNAPSHOT);
    const proto_snapshot *got = cl_latest(&s->cl);
    FZ_CHECK(got->tick == cur->tick);
    fz_check_same_entities(cur, &m->names, got, &s->cl.names);
    cl_view_ent view[PROTO_MAX_ENTITIES];
    FZ_CHECK(cl_view(&s->cl, now_ms, view, PROTO_MAX_ENTITIES) >= (cur->present[s->pid] ? 1 : 0));
}

/* One tick; checks that each human applied the next inputs it sent, in
 * order, as many as were waiting up to its credit (one step a tick, at most
 * MATCH_MAX_CREDIT saved) and SIM_MAX_STEPS_PER_TICK. */
static void run_tick(match *m, int skip_mask, double now_ms)
{
    uint32_t applied_before[FZ_CLI_SESSIONS];
    uint32_t credit_before[FZ_CLI_SESSIONS];
    for (int i = 0; i < FZ_CLI_SESSIONS; i++) {
        if (sessions[i].state != S_PLAYING)
            continue;
        applied_before[i] = m->players[sessions[i].pid].last_applied;
        credit_before[i] = m->players[sessions[i].pid].credit;
    }
    int snap = match_tick(m);
    for (int i = 0; i < FZ_CLI_SESSIONS; i++) {
        session *s = &sessions[i];
        if (s->state != S_PLAYING)
            continue;
        const match_player *p = &m->players[s->pid];
        uint32_t n = m->step_inputs.count[s->pid];
        uint32_t want_n = p->last_received - applied_before[i];
        uint32_t credit = credit_before[i] < MATCH_MAX_CREDIT ? credit_before[i] + 1 : MATCH_MAX_CREDIT;
        if (want_n > credit)
            want_n = credit;
        if (want_n > SIM_MAX_STEPS_PER_TICK)
            want_n = SIM_MAX_STEPS_PER_TICK;
        FZ_CHECK(n == want_n);
        FZ_CHECK(p->last_applied == applied_before[i] + n);
        for (uint32_t k = 0; k < n; k++) {
            const sim_input *want = &s->sent[(applied_before[i] + 1 + k) % SENT_RING];
            const sim_input *got = &m->step_inputs.in[s->pid][k];
            FZ_CHECK(want->buttons == got->buttons && want->aim == got->aim);
        }
        check_player(m, p);
    }
    if (!snap)
        return;
    for (int i = 0; i < FZ_CLI_SESSIONS; i++)
        if (sessions[i].state == S_PLAYING && !(skip_mask & (1 << i)))
            send_snapshot(m, &sessions[i], now_ms);
    /* One encode per distinct baseline, within the cache sized for it. */
    FZ_CHECK(m->ncache <= FZ_CLI_SESSIONS && m->cache_used <= m->cache_cap);
}

/* ---- driver ------------------------------------------------------------- */

static match *create_match(uint8_t cfg_byte)
{
    static const uint16_t rates[4] = {10, 20, 30, 60};
    sim_map map;
    memset(&map, 0, sizeof map);
    map.width = 512;
    map.height = 384;
    map.nwalls = 2;
    map.walls[0] = (sim_wall){200, 100, 260, 300};
    map.walls[1] = (sim_wall){0, 0, 64, 32};
    match_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.tick_rate = rates[cfg_byte & 3];
    cfg.snapshot_rate = (uint16_t)(cfg.tick_rate / ((cfg_byte & 4) ? 2 : 1));
    cfg.size = 1 + ((cfg_byte >> 3) & 3);
    cfg.npcs = ((cfg_byte >> 5) & 3) % cfg.size;
    cfg.seed = 0x7157u + cfg_byte;
    return match_create((uint16_t)(1 + (cfg_byte >> 7)), &map, &cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    match *m = create_match(data[0]);
    FZ_CHECK(m != NULL);
    for (int i = 0; i < FZ_CLI_SESSIONS; i++) {
        sessions[i].state = S_AWAIT_JOIN;
        sessions[i].pid = -1;
    }
    double now_ms = 0.0;
    size_t pos = 1;
    while (pos < size) {
        uint8_t h = data[pos++];
        int op = h >> 6, n = h & 63;
        if (op == FZ_CLI_OP_TICK) {
            for (int t = 0; t < 1 + (n & 7); t++) {
                now_ms += 1000.0 / m->cfg.tick_rate;
                run_tick(m, (n >> 3) & 7, now_ms);
            }
            continue;
        }
        size_t len = (size_t)n < size - pos ? (size_t)n : size - pos;
        const uint8_t *msg = data + pos;
        pos += len;
        check_join_decode(msg, len);
        check_input_decode(msg, len);
        on_message(m, &sessions[op], msg, len);
    }
    match_destroy(m);
    return 0;
}
