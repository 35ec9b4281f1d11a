/* fuzz_client_msg: the server's side of client->server messages.
 *
 * Every message goes through proto_join_read and proto_input_read; one that
 * decodes must re-encode to the same bytes, its strict prefixes must be
 * truncated and one more byte must be trailing. Then the message is handled
 * the way server/net.c does for one of three sessions of a real match
 * (JOIN first, then INPUTs; anything else, or a message over the size
 * limit of the session's state, closes the session; its next message is a
 * new connection), and the fuzz input also decides when the match ticks.
 *
 * Since protocol v2, a JOIN carries a join token and/or a resume token. Token
 * signatures are fuzz_token's business: here any non-empty token is
 * accepted and its first 16 characters are the name. A JOIN whose resume
 * token names a player of the match gets that player back (resumed
 * WELCOME; a session still playing it is taken over); a resume token alone
 * that names nobody closes. With cfg bit 7 a closed session's player is
 * held FZ_CLI_GRACE_TICKS ticks (not advancing, DISCONNECTED in snapshots)
 * instead of leaving.
 *
 * Each player has a real cl_client (the player's device, kept across its
 * connections) that receives its WELCOMEs and snapshots, so the checks
 * cover what the server promises: inputs applied once, in seq order,
 * within the credit, none while held; a hold ends exactly at its expiry;
 * a resumed player keeps its id, state and seqs and gets a full snapshot;
 * every snapshot decodes on a client holding the baseline, to exactly the
 * server's state, names and DISCONNECTED flags. Framing: fuzz_common.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client.h"
#include "fuzz_common.h"
#include "match.h"
#include "proto.h"

enum { S_AWAIT_JOIN, S_PLAYING };

/* The inputs a player sent, by seq, as the server first received them. */
#define SENT_RING 64
#define MAX_SLOTS 4

typedef struct session {
    int state;
    int pid;
} session;

typedef struct player_state {
    uint32_t max_ack; /* highest ack_tick the server accepted on this connection */
    cl_client cl;
    sim_input sent[SENT_RING];
} player_state;

static session sessions[FZ_CLI_SESSIONS];
static player_state players[MAX_SLOTS];
static uint32_t new_players; /* resume tokens handed out this run */
static int grace;

/* ---- decoders on their own ------------------------------------------------ */

static void check_join_decode(const uint8_t *buf, size_t len)
{
    proto_join j;
    if (proto_join_read(buf, len, &j) != PROTO_OK)
        return;
    FZ_CHECK(len <= PROTO_MAX_JOIN_MSG && j.version == PROTO_VERSION);
    FZ_CHECK(j.token_len <= PROTO_MAX_TOKEN && strlen(j.token) == j.token_len);
    FZ_CHECK(j.token_len > 0 || j.has_resume);
    uint8_t out[PROTO_MAX_JOIN_MSG + 1];
    size_t n = proto_join_write(j.token, j.has_resume ? j.resume : NULL, out, sizeof out);
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

static int is_human(const match *m, int id)
{
    return m->players[id].used && !m->players[id].npc;
}

/* The connection closed: its player is held for a resume, or leaves. */
static void session_close(match *m, session *s)
{
    if (s->state == S_PLAYING) {
        if (grace) {
            match_player_hold(m, s->pid, FZ_CLI_GRACE_TICKS);
            FZ_CHECK(m->players[s->pid].held_until == m->world.tick + FZ_CLI_GRACE_TICKS);
            FZ_CHECK(m->players[s->pid].conn == NULL && is_human(m, s->pid));
            cl_disconnected(&players[s->pid].cl);
        } else {
            int humans = m->humans;
            match_player_leave(m, s->pid);
            FZ_CHECK(m->humans == humans - 1 && !m->players[s->pid].used);
        }
    }
    s->state = S_AWAIT_JOIN;
    s->pid = -1;
}

/* Sends the WELCOME (from match_welcome) to the player's client. */
static void welcome(match *m, int pid, int resumed)
{
    player_state *ps = &players[pid];
    static cl_client before;
    before = ps->cl;
    uint8_t w[PROTO_MAX_WELCOME];
    size_t n = match_welcome(m, pid, resumed, w, sizeof w);
    FZ_CHECK(n > 0);
    FZ_CHECK(cl_receive(&ps->cl, w, n, 0.0) == PROTO_WELCOME);
    const proto_welcome *got = &ps->cl.welcome;
    FZ_CHECK(got->player_id == pid && got->tick_rate == m->cfg.tick_rate &&
             got->snapshot_rate == m->cfg.snapshot_rate && got->max_players == m->cfg.size &&
             got->server_tick == m->world.tick && got->match_id == m->id);
    FZ_CHECK(got->map.width == m->world.map.width && got->map.height == m->world.map.height &&
             got->map.nwalls == m->world.map.nwalls);
    FZ_CHECK(got->resumed == resumed && memcmp(got->resume, m->players[pid].resume, PROTO_RESUME_LEN) == 0);
    FZ_CHECK(ps->cl.joined && ps->cl.have_resume && cl_latest(&ps->cl) == NULL);
    if (resumed) {
        /* The same player goes on: its seqs continue. */
        FZ_CHECK(ps->cl.next_seq == before.next_seq && ps->cl.last_input_seq == before.last_input_seq);
    } else {
        FZ_CHECK(ps->cl.next_seq == 1 && ps->cl.last_input_seq == 0);
    }
}

static void on_join(match *m, session *s, const uint8_t *buf, size_t len)
{
    proto_join j;
    if (proto_join_read(buf, len, &j) != PROTO_OK) {
        session_close(m, s);
        return;
    }
    if (j.has_resume) {
        int pid = match_player_find(m, j.resume);
        if (pid >= 0) {
            FZ_CHECK(is_human(m, pid) && memcmp(m->players[pid].resume, j.resume, PROTO_RESUME_LEN) == 0);
            /* Still played by a session: that one is taken over (closed
             * without a hold: its player lives on here). */
            for (int i = 0; i < FZ_CLI_SESSIONS; i++) {
                if (sessions[i].state == S_PLAYING && sessions[i].pid == pid) {
                    FZ_CHECK(m->players[pid].conn == &sessions[i] && m->players[pid].held_until == 0);
                    sessions[i].state = S_AWAIT_JOIN;
                    sessions[i].pid = -1;
                }
            }
            const match_player *p = &m->players[pid];
            uint8_t gen = p->gen;
            uint32_t applied = p->last_applied, received = p->last_received;
            sim_player state = m->world.players[pid];
            match_player_resume(m, pid, s);
            FZ_CHECK(p->held_until == 0 && p->conn == s && p->acked_tick == 0 && p->gen == gen);
            FZ_CHECK(p->last_applied == applied && p->last_received == received);
            FZ_CHECK(memcmp(&m->world.players[pid], &state, sizeof state) == 0);
            s->state = S_PLAYING;
            s->pid = pid;
            players[pid].max_ack = 0;
            if (players[pid].cl.joined)
                cl_disconnected(&players[pid].cl); /* the device reconnected */
            welcome(m, pid, 1);
            return;
        }
    }
    if (j.token_len == 0) {
        session_close(m, s); /* 4002 "resume expired" */
        return;
    }
    /* Stand-in for token_verify: the token's start is the name. */
    char name[PROTO_MAX_NAME + 1];
    size_t nl = j.token_len < PROTO_MAX_NAME ? j.token_len : PROTO_MAX_NAME;
    memcpy(name, j.token, nl);
    name[nl] = '\0';
    uint8_t resume[PROTO_RESUME_LEN];
    fz_cli_resume_token(new_players, resume);
    int had_room = match_has_room(m);
    int pid = match_player_join(m, name, s, resume);
    FZ_CHECK((pid >= 0) == had_room);
    if (pid < 0) {
        session_close(m, s); /* 4008 "server full" */
        return;
    }
    new_players++;
    FZ_CHECK(pid < m->cfg.size && pid < MAX_SLOTS && is_human(m, pid));
    FZ_CHECK(m->players[pid].held_until == 0 && m->players[pid].last_received == 0);
    FZ_CHECK(strcmp(m->names.name[pid], name) == 0);
    FZ_CHECK(match_player_find(m, resume) == pid);
    s->state = S_PLAYING;
    s->pid = pid;
    player_state *ps = &players[pid];
    ps->max_ack = 0;
    cl_init(&ps->cl);
    cl_set_token(&ps->cl, j.token);
    welcome(m, pid, 0);
    /* The JOIN the client would send after a drop names this player. */
    uint8_t again[PROTO_MAX_JOIN_MSG];
    proto_join j2;
    size_t n = cl_write_join(&ps->cl, again, sizeof again);
    FZ_CHECK(n > 0 && proto_join_read(again, n, &j2) == PROTO_OK && j2.has_resume &&
             memcmp(j2.resume, resume, PROTO_RESUME_LEN) == 0 && strcmp(j2.token, j.token) == 0);
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
    player_state *ps = &players[s->pid];
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
            ps->sent[seq % SENT_RING] = msg.in[i];
    }
    if (msg.ack_tick > ps->max_ack)
        ps->max_ack = msg.ack_tick;
    FZ_CHECK(p->acked_tick == ps->max_ack);
    uint32_t last = msg.first_seq + msg.count - 1;
    FZ_CHECK(p->last_received == (last > before ? last : before));
    /* This player's client sent these (the fuzz input wrote the bytes). */
    if (last > ps->cl.sent_seq) {
        ps->cl.sent_seq = last;
        if (last >= ps->cl.next_seq)
            ps->cl.next_seq = last + 1;
    }
    if (last > ps->cl.max_sent_seq)
        ps->cl.max_sent_seq = last;
    check_player(m, p);
}

static void on_message(match *m, session *s, const uint8_t *buf, size_t len)
{
    /* Size limits: a JOIN may be longer than what follows it. */
    if (len > (s->state == S_AWAIT_JOIN ? PROTO_MAX_JOIN_MSG : PROTO_MAX_CLIENT_MSG)) {
        session_close(m, s); /* 1009 */
        return;
    }
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
    player_state *ps = &players[s->pid];
    int full = -1;
    size_t n = match_snapshot(m, s->pid, buf, sizeof buf, &full);
    FZ_CHECK(n >= PROTO_SNAPSHOT_HEADER_SIZE + 1 && (full == 0 || full == 1));
    proto_snapshot_header h;
    FZ_CHECK(proto_snapshot_header_read(buf, n, &h) == PROTO_OK);
    const proto_snapshot *cur = &m->ring[m->ring_head];
    FZ_CHECK(h.tick == cur->tick && (h.baseline_tick == 0) == full);
    /* Delta against the newest ack while the server still holds it and it
     * is within the header's 255 ticks; full otherwise. */
    uint32_t ack = ps->max_ack;
    int usable = 0;
    for (int i = 0; i < PROTO_BASELINE_WINDOW; i++)
        usable |= ack && m->ring[i].tick == ack;
    usable = usable && ack < cur->tick && cur->tick - ack <= 255;
    FZ_CHECK(h.baseline_tick == (usable ? ack : 0));
    FZ_CHECK(h.last_input_seq == m->players[s->pid].last_applied);

    int holds_base = full || client_has(&ps->cl, h.baseline_tick);
    int err = cl_receive(&ps->cl, buf, n, now_ms);
    if (!holds_base) {
        /* The session acked a tick it never received (the fuzz input is a
         * lying client): the client cannot decode and hangs up. */
        FZ_CHECK(err == PROTO_ERR_BASELINE);
        session_close(m, s);
        return;
    }
    FZ_CHECK(err == PROTO_SNAPSHOT);
    const proto_snapshot *got = cl_latest(&ps->cl);
    FZ_CHECK(got->tick == cur->tick);
    fz_check_same_entities(cur, &m->names, got, &ps->cl.names);
    FZ_CHECK(!ps->cl.have_self || !(ps->cl.predicted.flags & SIM_FLAG_DISCONNECTED));
    cl_view_ent view[PROTO_MAX_ENTITIES];
    FZ_CHECK(cl_view(&ps->cl, now_ms, view, PROTO_MAX_ENTITIES) >= (cur->present[s->pid] ? 1 : 0));
}

/* One tick; checks that each human applied the next inputs it sent, in
 * order, as many as were waiting up to its credit (one step a tick, at most
 * MATCH_MAX_CREDIT saved) and SIM_MAX_STEPS_PER_TICK; a held player applies
 * none and leaves when its hold runs out. */
static void run_tick(match *m, int skip_mask, double now_ms)
{
    uint32_t applied_before[MAX_SLOTS], credit_before[MAX_SLOTS], held_before[MAX_SLOTS];
    int human_before[MAX_SLOTS];
    for (int id = 0; id < m->cfg.size; id++) {
        const match_player *p = &m->players[id];
        human_before[id] = is_human(m, id);
        applied_before[id] = p->last_applied;
        credit_before[id] = p->credit;
        held_before[id] = p->held_until;
        FZ_CHECK(!p->held_until || (human_before[id] && !p->conn));
    }
    int humans = m->humans;
    int snap = match_tick(m);
    int expired = 0;
    for (int id = 0; id < m->cfg.size; id++) {
        if (!human_before[id])
            continue;
        const match_player *p = &m->players[id];
        uint32_t n = m->step_inputs.count[id];
        if (held_before[id]) {
            FZ_CHECK(n == 0 && p->last_applied == applied_before[id]);
            int gone = m->world.tick >= held_before[id];
            FZ_CHECK(p->used == !gone);
            expired += gone;
            if (!gone)
                FZ_CHECK(p->held_until == held_before[id]);
            continue;
        }
        uint32_t want_n = p->last_received - applied_before[id];
        uint32_t credit = credit_before[id] < MATCH_MAX_CREDIT ? credit_before[id] + 1 : MATCH_MAX_CREDIT;
        if (want_n > credit)
            want_n = credit;
        if (want_n > SIM_MAX_STEPS_PER_TICK)
            want_n = SIM_MAX_STEPS_PER_TICK;
        FZ_CHECK(n == want_n);
        FZ_CHECK(p->last_applied == applied_before[id] + n);
        for (uint32_t k = 0; k < n; k++) {
            const sim_input *want = &players[id].sent[(applied_before[id] + 1 + k) % SENT_RING];
            const sim_input *got = &m->step_inputs.in[id][k];
            FZ_CHECK(want->buttons == got->buttons && want->aim == got->aim);
        }
        check_player(m, p);
    }
    FZ_CHECK(m->expired_holds == expired && m->humans == humans - expired);
    m->expired_holds = 0;
    if (!snap)
        return;
    /* DISCONNECTED marks exactly the held players. */
    const proto_snapshot *cur = &m->ring[m->ring_head];
    for (int id = 0; id < m->cfg.size; id++)
        if (cur->present[id])
            FZ_CHECK(!!(cur->ent[id].flags & SIM_FLAG_DISCONNECTED) == (m->players[id].held_until != 0));
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
    return match_create(1, &map, &cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    match *m = create_match(data[0]);
    FZ_CHECK(m != NULL);
    grace = (data[0] & FZ_CLI_CFG_GRACE) != 0;
    new_players = 0;
    for (int i = 0; i < FZ_CLI_SESSIONS; i++) {
        sessions[i].state = S_AWAIT_JOIN;
        sessions[i].pid = -1;
    }
    double now_ms = 0.0;
    size_t pos = 1;
    while (pos < size) {
        uint8_t h = data[pos++];
        int op = h >> 6;
        size_t n = h & 63;
        if (op == FZ_CLI_OP_TICK) {
            for (size_t t = 0; t < 1 + (n & 7); t++) {
                now_ms += 1000.0 / m->cfg.tick_rate;
                run_tick(m, (int)(n >> 3) & 7, now_ms);
            }
            continue;
        }
        if (n == 63 && pos < size)
            n += data[pos++];
        size_t len = n < size - pos ? n : size - pos;
        const uint8_t *msg = data + pos;
        pos += len;
        check_join_decode(msg, len);
        check_input_decode(msg, len);
        on_message(m, &sessions[op], msg, len);
    }
    match_destroy(m);
    return 0;
}
