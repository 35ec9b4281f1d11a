/* fuzz_client_msg: the server's side of client->server messages, through
 * the real server core (server/core.c), the way the libwebsockets adapter
 * drives it.
 *
 * Every message goes through proto_join_read, proto_input_read and
 * proto_chat_read; one that decodes must re-encode to the same bytes, its
 * strict prefixes must be truncated and one more byte must be trailing
 * (and an INPUT's views are within its ack_tick, a chat reads as UTF-8
 * that proto_chat_clean leaves clean). Then it is delivered to the core
 * from one of three connections of a server that runs one match (JOIN
 * first, then INPUTs and CHATs; anything else, a message over the size
 * limit of the session's state, or over the rate, closes the connection;
 * the session's next message opens a new connection), and the fuzz input
 * also decides when the clock ticks and which connections read what the
 * core writes.
 *
 * Join tokens: a JOIN that decodes with a token is signed by the harness
 * (the player's backend) with the server's secret, the token's first 16
 * characters being the name; its resume token, if any, is kept. Token
 * signatures are fuzz_token's business, forged ones fuzz_session's. The
 * core draws resume tokens from the harness: the k-th draw is
 * fz_cli_resume_token(k), so seeds can name players; a resume draws a new
 * one (tokens rotate). With cfg bit 7 a dropped player is held one second
 * (not advancing, DISCONNECTED in snapshots) instead of leaving.
 *
 * Each player has a real cl_client (the player's device, kept across its
 * connections) that receives its WELCOMEs and snapshots, so the checks
 * cover what the server promises: inputs applied once, in seq order,
 * with their views, within the credit, none while held; a hold ends
 * exactly at its expiry; a resumed player keeps its id, state and seqs and
 * gets a full snapshot; every snapshot decodes on a client holding the
 * baseline, to exactly the server's state, names and DISCONNECTED flags,
 * and carries exactly the events after the player's acknowledgement that
 * fit, as the match logged them (a client that acknowledged events it
 * never got refuses it); a chat is closed 1007 when not UTF-8, 1009 when
 * too long, else goes to the match as a CHAT event of the cleaned text,
 * or is dropped over the rate, 4010 after a flood of drops; every close
 * has a documented code.
 *
 * Spectators (a JOIN in spectate mode, signed like any): one watching "any"
 * or the running match's id becomes a spectator of it (else 4012), gets a
 * spectator WELCOME and snapshots its own spectator client decodes to
 * exactly the match's current spectator view, and is closed 4011 (or 1009
 * over the size) by whatever it sends next; it holds no slot.
 * Framing: fuzz_common.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client.h"
#include "core.h"
#include "fuzz_common.h"
#include "log.h"
#include "match.h"
#include "proto.h"
#include "token.h"

/* The inputs a player sent, by seq, as the server first received them. */
#define SENT_RING 64
#define MAX_SLOTS 4

#define UNIX_NOW 1900000000ull

/* One connection of the harness (the transport the core talks to). */
typedef struct fconn {
    uint32_t h;          /* the core's handle, 0: none open */
    int closing;         /* the core asked to close or abort it */
    int close_code;
    int wants_write;     /* a WAKE not yet served */
    char token[TOKEN_MAX_B64 + 1]; /* the token of its last JOIN */
    cl_client spec;      /* its client, when it is a spectator */
} fconn;

typedef struct player_state {
    uint32_t max_ack; /* highest ack_tick the server accepted on this connection */
    uint32_t conn;    /* the core handle of the connection the next two are for */
    uint32_t written_tick;  /* newest snapshot written on it */
    uint32_t written_event; /* newest event seq written on it */
    cl_client cl;
    sim_input sent[SENT_RING];
} player_state;

static const uint8_t SECRET[32] = "fuzz_client_msg secret 32 bytes";
static fconn conns[FZ_CLI_SESSIONS];
static player_state players[MAX_SLOTS];
static core *C;
static int64_t now_us;
static double now_ms;
static int period_us, grace_ticks, skip_mask;
static uint32_t draws;    /* resume tokens the core drew this run */
static uint64_t minted;   /* join tokens the harness signed this run */

/* ---- decoders on their own ------------------------------------------------ */

static void check_join_decode(const uint8_t *buf, size_t len)
{
    proto_join j;
    if (proto_join_read(buf, len, &j) != PROTO_OK)
        return;
    FZ_CHECK(len <= PROTO_MAX_JOIN_MSG && j.version == PROTO_VERSION);
    FZ_CHECK(j.token_len <= PROTO_MAX_TOKEN && strlen(j.token) == j.token_len);
    FZ_CHECK(j.token_len > 0 || j.has_resume);
    FZ_CHECK(j.mode == PROTO_MODE_PLAY || (j.mode == PROTO_MODE_SPECTATE && j.token_len > 0 && !j.has_resume));
    FZ_CHECK(j.mode == PROTO_MODE_SPECTATE || j.match_id == 0);
    uint8_t out[PROTO_MAX_JOIN_MSG + 1];
    size_t n = j.mode == PROTO_MODE_SPECTATE ? proto_join_spectate_write(j.token, j.match_id, out, sizeof out)
                                             : proto_join_write(j.token, j.has_resume ? j.resume : NULL, out, sizeof out);
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
    for (int i = 0; i < m.count; i++) {
        const sim_input *in = &m.in[i];
        /* a view is tick 1 .. ack_tick, 254 back at most; none has no fraction */
        FZ_CHECK(in->view_tick <= m.ack_tick && (in->view_tick || !in->view_frac));
        FZ_CHECK(!in->view_tick || m.ack_tick - in->view_tick <= 254);
    }
    uint8_t out[PROTO_MAX_CLIENT_MSG + 1];
    size_t n = proto_input_write(&m, out, sizeof out);
    FZ_CHECK(n == len && memcmp(out, buf, len) == 0);
    proto_input_msg tmp;
    for (size_t k = 0; k < len; k++)
        FZ_CHECK(proto_input_read(buf, k, &tmp) == PROTO_ERR_TRUNCATED);
    out[len] = 0;
    FZ_CHECK(proto_input_read(out, len + 1, &tmp) == PROTO_ERR_TRAILING);
}

static void check_chat_decode(const uint8_t *buf, size_t len)
{
    static char text[PROTO_MAX_CHAT_BYTES + 1];
    size_t n, chars;
    int err = proto_chat_read(buf, len, text, &n);
    if (err == PROTO_ERR_UTF8) {
        FZ_CHECK(len >= 3 && !proto_utf8_valid(buf + 3, len - 3, NULL));
        return;
    }
    if (err == PROTO_ERR_VALUE) {
        FZ_CHECK(proto_utf8_valid(buf + 3, len - 3, &chars));
        FZ_CHECK(len - 3 > PROTO_MAX_CHAT_BYTES || chars > PROTO_MAX_CHAT_CHARS);
        return;
    }
    if (err != PROTO_OK)
        return;
    FZ_CHECK(n == len - 3 && text[n] == '\0' && proto_utf8_valid((const uint8_t *)text, n, &chars));
    FZ_CHECK(n <= PROTO_MAX_CHAT_BYTES && chars <= PROTO_MAX_CHAT_CHARS);
    uint8_t out[3 + PROTO_MAX_CHAT_BYTES + 1];
    FZ_CHECK(proto_chat_write(text, n, out, sizeof out) == len && memcmp(out, buf, len) == 0);
    static char tmp[PROTO_MAX_CHAT_BYTES + 1];
    size_t tn;
    for (size_t k = 0; k < len; k += (k < 8 ? 1 : 37))
        FZ_CHECK(proto_chat_read(buf, k, tmp, &tn) == PROTO_ERR_TRUNCATED);
    FZ_CHECK(proto_chat_read(buf, len - 1, tmp, &tn) == PROTO_ERR_TRUNCATED);
    out[len] = 0;
    FZ_CHECK(proto_chat_read(out, len + 1, tmp, &tn) == PROTO_ERR_TRAILING);
    /* Cleaning keeps UTF-8, removes every control character, and is done
     * once for all. */
    size_t cn = proto_chat_clean(text, n);
    FZ_CHECK(cn <= n && text[cn] == '\0' && proto_utf8_valid((const uint8_t *)text, cn, NULL));
    for (size_t i = 0; i < cn; i++) {
        uint8_t c = (uint8_t)text[i];
        FZ_CHECK(c >= 0x20 && c != 0x7f && !(c == 0xc2 && (uint8_t)text[i + 1] < 0xa0));
    }
    FZ_CHECK(proto_chat_clean(text, cn) == cn);
}

/* ---- the harness: what the adapter does ------------------------------------ */

static void fuzz_random(void *user, void *buf, size_t len)
{
    (void)user;
    FZ_CHECK(len == PROTO_RESUME_LEN); /* with a token secret, the core draws only resume tokens */
    fz_cli_resume_token(draws++, buf);
}

static match *the_match(void)
{
    const lobby *l = core_lobby(C);
    FZ_CHECK(l->nmatches <= 1);
    return l->nmatches ? l->matches[0] : NULL;
}

static int is_human(const match *m, int id)
{
    return m->players[id].used && !m->players[id].npc;
}

static void check_player(const match *m, const match_player *p)
{
    FZ_CHECK(p->last_applied <= p->last_received);
    FZ_CHECK(p->last_received - p->last_applied <= MATCH_INPUT_BUF);
    FZ_CHECK(p->credit <= MATCH_MAX_CREDIT);
    FZ_CHECK(p->acked_tick <= match_latest_snapshot_tick(m));
    FZ_CHECK(p->events_acked < m->ev_next);
}

/* The connection is gone (the transport closed it): its player is held
 * for a resume, or leaves. */
static void conn_gone(fconn *fc)
{
    const session *ss = core_session(C, fc->h);
    FZ_CHECK(ss != NULL);
    int playing = ss->state == SESSION_PLAYING, pid = ss->pid;
    match *m = ss->m;
    int humans = m ? m->humans : 0;
    core_conn_closed(C, fc->h, now_us);
    FZ_CHECK(core_session(C, fc->h) == NULL);
    memset(fc, 0, sizeof *fc);
    if (!playing)
        return;
    if (grace_ticks) {
        FZ_CHECK(m->players[pid].held_until == m->world.tick + (uint32_t)grace_ticks);
        FZ_CHECK(m->players[pid].owner == 0 && is_human(m, pid) && m->humans == humans);
        cl_disconnected(&players[pid].cl);
    } else if (humans == 1) {
        FZ_CHECK(the_match() == NULL); /* the last person left: the match is freed */
    } else {
        FZ_CHECK(m->humans == humans - 1 && !m->players[pid].used);
    }
}

static const proto_snapshot *client_has(const cl_client *c, uint32_t tick)
{
    for (int i = 0; i < CL_RING; i++)
        if (tick && c->ring_tick[i] == tick)
            return cl_slot(c, i);
    return NULL;
}

/* A WELCOME from the core, to the player's client. */
static void got_welcome(fconn *fc, const session *ss, const uint8_t *w, size_t n)
{
    const match *m = ss->m;
    int pid = ss->pid;
    FZ_CHECK(pid >= 0 && pid < MAX_SLOTS && is_human(m, pid) && m->players[pid].owner == fc->h);
    player_state *ps = &players[pid];
    proto_welcome peek;
    FZ_CHECK(proto_welcome_read(w, n, &peek) == PROTO_OK);
    int resumed = peek.resumed;
    if (resumed) {
        if (ps->cl.joined)
            cl_disconnected(&ps->cl); /* the device reconnected */
    } else {
        cl_init(&ps->cl);
        cl_set_token(&ps->cl, fc->token);
    }
    ps->max_ack = 0;
    static cl_client before;
    before = ps->cl;
    FZ_CHECK(cl_receive(&ps->cl, w, n, now_ms) == PROTO_WELCOME);
    const proto_welcome *got = &ps->cl.welcome;
    FZ_CHECK(got->player_id == pid && got->tick_rate == m->cfg.tick_rate &&
             got->snapshot_rate == m->cfg.snapshot_rate && got->max_players == m->cfg.size &&
             got->server_tick == m->world.tick && got->match_id == m->id);
    FZ_CHECK(got->map.width == m->world.map.width && got->map.height == m->world.map.height &&
             got->map.nwalls == m->world.map.nwalls);
    FZ_CHECK(memcmp(got->resume, m->players[pid].resume, PROTO_RESUME_LEN) == 0);
    FZ_CHECK(ps->cl.joined && ps->cl.have_resume && cl_latest(&ps->cl) == NULL);
    if (resumed) {
        /* The same player goes on: its seqs continue. */
        FZ_CHECK(ps->cl.next_seq == before.next_seq && ps->cl.last_input_seq == before.last_input_seq);
        return;
    }
    FZ_CHECK(ps->cl.next_seq == 1 && ps->cl.last_input_seq == 0);
    FZ_CHECK(m->players[pid].last_received == 0 && m->players[pid].held_until == 0);
    /* The JOIN the client would send after a drop names this player. */
    uint8_t again[PROTO_MAX_JOIN_MSG];
    proto_join j2;
    size_t len = cl_write_join(&ps->cl, again, sizeof again);
    FZ_CHECK(len > 0 && proto_join_read(again, len, &j2) == PROTO_OK && j2.has_resume &&
             memcmp(j2.resume, m->players[pid].resume, PROTO_RESUME_LEN) == 0 && strcmp(j2.token, fc->token) == 0);
}

/* The events section of a snapshot to player p: the events after its
 * acknowledgement (or the oldest the log still has), oldest first, byte
 * for byte as the match logged them, as many as fit in
 * PROTO_MAX_EVENT_BYTES (255 at most, the first always). */
static void check_events_sent(const match *m, const match_player *p, uint32_t written, const uint8_t *sec,
                              uint32_t count, uint32_t first, size_t elen)
{
    /* Neither acknowledged nor written on this connection yet. */
    uint32_t done = written > p->events_acked ? written : p->events_acked;
    uint32_t from = done + 1 < m->ev_first ? m->ev_first : done + 1;
    if (count == 0) {
        FZ_CHECK(from == m->ev_next && elen == 1);
        return;
    }
    FZ_CHECK(first == from && first + count <= m->ev_next);
    size_t off = 5;
    for (uint32_t i = 0; i < count; i++) {
        const match_event_ref *r = &m->ev[(first + i) % MATCH_EVENTS];
        FZ_CHECK(off + r->len <= elen && memcmp(sec + off, m->ev_pool + r->off, r->len) == 0);
        off += r->len;
    }
    FZ_CHECK(off == elen && (count == 1 || elen - 5 <= PROTO_MAX_EVENT_BYTES));
    if (first + count < m->ev_next && count < 255)
        FZ_CHECK(elen - 5 + m->ev[(first + count) % MATCH_EVENTS].len > PROTO_MAX_EVENT_BYTES);
}

/* A SNAPSHOT from the core. Returns 0 when the client hung up. */
static int got_snapshot(const session *ss, const uint8_t *buf, size_t n)
{
    const match *m = ss->m;
    player_state *ps = &players[ss->pid];
    proto_snapshot_header h;
    FZ_CHECK(n >= PROTO_SNAPSHOT_HEADER_SIZE + 1 && proto_snapshot_header_read(buf, n, &h) == PROTO_OK);
    const proto_snapshot *cur = &m->ring[m->ring_head];
    FZ_CHECK(h.tick == cur->tick);
    /* Delta against the last snapshot written on this connection, else
     * the newest ack, while the server still holds it and it is within the
     * header's 255 ticks; full otherwise. */
    if (ps->conn != ss->handle) {
        ps->conn = ss->handle;
        ps->written_tick = ps->written_event = 0;
    }
    uint32_t want = 0;
    const uint32_t candidates[2] = {ps->written_tick, ps->max_ack};
    for (int k = 0; k < 2 && !want; k++) {
        uint32_t t = candidates[k];
        int usable = 0;
        for (int i = 0; i < MATCH_RING; i++)
            usable |= t && m->ring[i].tick == t && i != m->ring_head;
        if (usable && t < cur->tick && cur->tick - t <= 255)
            want = t;
    }
    FZ_CHECK(h.baseline_tick == want);
    FZ_CHECK(h.last_input_seq == m->players[ss->pid].last_applied);
    uint32_t count, first;
    size_t elen;
    FZ_CHECK(fz_events_section(buf + PROTO_SNAPSHOT_HEADER_SIZE, n - PROTO_SNAPSHOT_HEADER_SIZE, &count, &first,
                               &elen) == PROTO_OK);
    check_events_sent(m, &m->players[ss->pid], ps->written_event, buf + PROTO_SNAPSHOT_HEADER_SIZE, count, first,
                      elen);
    ps->written_tick = h.tick;
    if (count)
        ps->written_event = first + count - 1;
    int holds_base = h.baseline_tick == 0 || client_has(&ps->cl, h.baseline_tick);
    /* A client that has events continues its sequence: a section that
     * starts further on is refused. */
    int gap = count && ps->cl.events_synced && first > ps->cl.event_seq + 1;
    uint32_t seq_before = ps->cl.event_seq;
    int err = cl_receive(&ps->cl, buf, n, now_ms);
    if (!holds_base) {
        /* The session acked a tick it never received (the fuzz input is a
         * lying client): the client cannot decode and hangs up. */
        FZ_CHECK(err == PROTO_ERR_BASELINE);
        return 0;
    }
    if (gap) {
        /* Only when the session acknowledged events its device never got
         * (the fuzz input wrote the event_ack), or events it never got
         * left the log. */
        FZ_CHECK(err == PROTO_ERR_VALUE);
        FZ_CHECK(m->players[ss->pid].events_acked > seq_before || m->ev_first > seq_before + 1);
        return 0;
    }
    FZ_CHECK(err == PROTO_SNAPSHOT);
    if (count)
        FZ_CHECK(ps->cl.event_seq == (first + count - 1 > seq_before ? first + count - 1 : seq_before));
    const proto_snapshot *got = cl_latest(&ps->cl);
    FZ_CHECK(got->tick == cur->tick);
    fz_check_same_entities(cur, &m->names, got, &ps->cl.names);
    FZ_CHECK(!ps->cl.have_self || !(ps->cl.predicted.flags & SIM_FLAG_DISCONNECTED));
    cl_view_ent view[PROTO_MAX_ENTITIES];
    FZ_CHECK(cl_view(&ps->cl, now_ms, view, PROTO_MAX_ENTITIES) >= (cur->present[ss->pid] ? 1 : 0));
    return 1;
}

/* A message from the core to a spectator: its WELCOME, then snapshots of
 * the match's current spectator view that its client decodes to exactly
 * that view. */
static void got_spectator_message(fconn *fc, const session *ss, const uint8_t *buf, size_t n)
{
    const match *m = ss->m;
    FZ_CHECK(m && m->spectators >= 1);
    int r = cl_receive(&fc->spec, buf, n, now_ms);
    if (buf[0] == PROTO_WELCOME) {
        const proto_welcome *w = &fc->spec.welcome;
        FZ_CHECK(r == PROTO_WELCOME && cl_is_spectator(&fc->spec) && w->player_id == PROTO_SPECTATOR_ID &&
                 w->match_id == m->id && w->tick_rate == m->cfg.tick_rate &&
                 w->snapshot_rate == m->cfg.tick_rate / m->cfg.spec_interval);
        return;
    }
    FZ_CHECK(r == PROTO_SNAPSHOT);
    const match_spec_view *v = &m->spec_views[m->spec_view];
    const proto_snapshot *got = cl_latest(&fc->spec);
    FZ_CHECK(got->tick == v->snap.tick && got->tick == ss->sent.snap_tick);
    fz_check_same_entities(&v->snap, &v->names, got, &fc->spec.names);
    FZ_CHECK(fc->spec.have_self == 0 && fc->spec.event_seq <= ss->sent.event_seq);
}

/* The connection can be written: one message from the core. */
static void serve(fconn *fc)
{
    static uint8_t buf[CORE_MAX_MESSAGE];
    fc->wants_write = 0;
    size_t n = core_conn_writable(C, fc->h, now_us, buf, sizeof buf);
    if (n == 0)
        return;
    const session *ss = core_session(C, fc->h);
    if (ss && ss->state == SESSION_SPECTATING) {
        got_spectator_message(fc, ss, buf, n);
        return;
    }
    FZ_CHECK(ss && ss->state == SESSION_PLAYING);
    if (buf[0] == PROTO_WELCOME)
        got_welcome(fc, ss, buf, n);
    else if (!got_snapshot(ss, buf, n))
        conn_gone(fc);
}

/* Carries out the core's actions: closes first (the transport hangs up),
 * then writes to the connections that read (not those in skip_mask). */
static void drain(void)
{
    for (int progress = 1; progress;) {
        progress = 0;
        core_action a;
        while (core_next_action(C, &a)) {
            fconn *fc = a.transport;
            FZ_CHECK(fc >= conns && fc < conns + FZ_CLI_SESSIONS && fc->h == a.conn);
            if (a.kind == CORE_WAKE) {
                fc->wants_write = 1;
                continue;
            }
            FZ_CHECK(a.kind == CORE_CLOSE || a.kind == CORE_ABORT);
            FZ_CHECK(fz_close_documented(a.code) && a.reason && a.reason[0]);
            FZ_CHECK(a.kind == CORE_CLOSE || a.code == PROTO_CLOSE_SLOW_READER);
            fc->closing = 1;
            fc->close_code = a.code;
        }
        for (int i = 0; i < FZ_CLI_SESSIONS; i++) {
            fconn *fc = &conns[i];
            if (fc->h && fc->closing) {
                conn_gone(fc);
                progress = 1;
            } else if (fc->h && fc->wants_write && !(skip_mask & (1 << i))) {
                serve(fc);
                progress = 1;
            }
        }
    }
}

/* ---- what a connection sends ------------------------------------------------- */

/* A JOIN that decodes with a token: signed by the harness, the token's
 * start being the name. Returns the JOIN to deliver in out. */
static size_t sign_join(fconn *fc, const proto_join *j, uint8_t *out, size_t cap)
{
    token_claims tc;
    memset(&tc, 0, sizeof tc);
    tc.player_id = ++minted;
    size_t nl = j->token_len < TOKEN_MAX_NAME ? j->token_len : TOKEN_MAX_NAME;
    memcpy(tc.name, j->token, nl);
    tc.expiry = UNIX_NOW + 60;
    memcpy(tc.nonce, &minted, sizeof minted);
    FZ_CHECK(token_mint(&tc, SECRET, sizeof SECRET, fc->token, sizeof fc->token) > 0);
    size_t n = j->mode == PROTO_MODE_SPECTATE ? proto_join_spectate_write(fc->token, j->match_id, out, cap)
                                              : proto_join_write(fc->token, j->has_resume ? j->resume : NULL, out, cap);
    FZ_CHECK(n > 0);
    return n;
}

static void send_join(fconn *fc, const uint8_t *buf, size_t len)
{
    proto_join j;
    uint8_t signed_join[PROTO_MAX_JOIN_MSG];
    const session *ss = core_session(C, fc->h);
    if (ss->state != SESSION_AWAIT_JOIN || proto_join_read(buf, len, &j) != PROTO_OK) {
        core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
        return;
    }
    if (j.token_len) {
        len = sign_join(fc, &j, signed_join, sizeof signed_join);
        buf = signed_join;
    }
    if (j.mode == PROTO_MODE_SPECTATE) {
        /* A spectator: of the one match when it runs and the id fits; it
         * takes no slot. */
        match *m = the_match();
        int humans = m ? m->humans : 0, npcs = m ? m->npcs : 0;
        cl_init(&fc->spec);
        cl_set_token(&fc->spec, fc->token);
        cl_set_spectate(&fc->spec, j.match_id);
        core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
        ss = core_session(C, fc->h);
        if (m && (j.match_id == PROTO_MATCH_ANY || j.match_id == m->id)) {
            FZ_CHECK(ss->state == SESSION_SPECTATING && ss->m == m && !ss->close_code);
            FZ_CHECK(m->humans == humans && m->npcs == npcs && m->spec_views && m->spectators >= 1);
        } else {
            FZ_CHECK(ss->close_code == PROTO_CLOSE_NO_SUCH_MATCH);
        }
        return;
    }
    /* A resume: the player's state must come back untouched. */
    match *m = the_match();
    int pid = j.has_resume && m ? match_player_find(m, j.resume) : -1;
    match_player before;
    sim_player state;
    if (pid >= 0) {
        before = m->players[pid];
        state = m->world.players[pid];
    }
    uint32_t held_tokens = draws;
    core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
    ss = core_session(C, fc->h);
    if (pid >= 0) {
        const match_player *p = &m->players[pid];
        FZ_CHECK(ss->state == SESSION_PLAYING && ss->pid == pid && p->owner == fc->h);
        FZ_CHECK(p->held_until == 0 && p->acked_tick == 0 && p->gen == before.gen);
        FZ_CHECK(p->last_applied == before.last_applied && p->last_received == before.last_received);
        FZ_CHECK(memcmp(&m->world.players[pid], &state, sizeof state) == 0);
        FZ_CHECK(draws == held_tokens + 1 && memcmp(p->resume, before.resume, PROTO_RESUME_LEN) != 0);
        for (int i = 0; i < FZ_CLI_SESSIONS; i++) /* a connection still playing it is replaced */
            FZ_CHECK(conns[i].h != before.owner || !before.owner ||
                     core_session(C, before.owner)->state == SESSION_REPLACED);
    } else if (!j.token_len) {
        FZ_CHECK(ss->close_code == PROTO_CLOSE_RESUME_EXPIRED);
    } else if (!ss->close_code) {
        m = the_match();
        FZ_CHECK(ss->state == SESSION_PLAYING && m && ss->m == m && ss->pid < MAX_SLOTS);
        FZ_CHECK(strncmp(m->names.name[ss->pid], j.token, TOKEN_MAX_NAME) == 0);
    } else {
        FZ_CHECK(ss->close_code == PROTO_CLOSE_SERVER_FULL); /* the one match is full */
    }
}

static void send_input(fconn *fc, const uint8_t *buf, size_t len)
{
    const session *ss = core_session(C, fc->h);
    proto_input_msg msg;
    if (ss->state != SESSION_PLAYING || ss->close_code || proto_input_read(buf, len, &msg) != PROTO_OK) {
        core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
        return;
    }
    match *m = ss->m;
    int pid = ss->pid;
    match_player *p = &m->players[pid];
    player_state *ps = &players[pid];
    uint32_t before = p->last_received, latest = match_latest_snapshot_tick(m), ev_next = m->ev_next;
    core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
    if (ss->close_code) {
        FZ_CHECK(ss->close_code == 1002 || ss->close_code == PROTO_CLOSE_RATE_LIMIT);
        if (ss->close_code == 1002)
            FZ_CHECK(msg.ack_tick > latest || msg.event_ack >= ev_next || msg.first_seq > before + 1);
        return;
    }
    FZ_CHECK(p->events_acked >= msg.event_ack);
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

/* A CHAT from a joined session: refused (1007 not UTF-8, 1009 too long,
 * 1002 malformed, 4004 over the message rate), or sent to the match as a
 * CHAT event with the cleaned text, or dropped over the chat rate (4010
 * when that makes a flood), or ignored when nothing is left once cleaned. */
static void send_chat(fconn *fc, const uint8_t *buf, size_t len)
{
    const session *ss = core_session(C, fc->h);
    if (ss->state != SESSION_PLAYING || ss->close_code) {
        core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
        return;
    }
    static char text[PROTO_MAX_CHAT_BYTES + 1];
    size_t n = 0;
    int err = proto_chat_read(buf, len, text, &n);
    match *m = ss->m;
    int pid = ss->pid;
    uint32_t ev_before = m->ev_next;
    uint64_t dropped = m->stats.chat_dropped;
    core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
    if (len > PROTO_MAX_CLIENT_MSG) {
        FZ_CHECK(ss->close_code == 1009);
        return;
    }
    if (ss->close_code == PROTO_CLOSE_RATE_LIMIT) {
        FZ_CHECK(m->ev_next == ev_before);
        return;
    }
    if (err != PROTO_OK) {
        FZ_CHECK(ss->close_code == (err == PROTO_ERR_UTF8 ? 1007 : err == PROTO_ERR_VALUE ? 1009 : 1002));
        FZ_CHECK(m->ev_next == ev_before);
        return;
    }
    size_t cn = proto_chat_clean(text, n);
    const match_player *p = &m->players[pid];
    if (ss->close_code) {
        FZ_CHECK(ss->close_code == PROTO_CLOSE_CHAT_FLOOD && m->ev_next == ev_before);
        FZ_CHECK(m->stats.chat_dropped == dropped + 1 && p->chat_strikes >= MATCH_CHAT_FLOOD);
        return;
    }
    if (m->ev_next == ev_before) {
        /* dropped over the rate, or nothing left to say */
        FZ_CHECK(m->stats.chat_dropped == dropped + 1 || (cn == 0 && m->stats.chat_dropped == dropped));
        FZ_CHECK(m->stats.chat_dropped == dropped || p->chat_tokens == 0);
        return;
    }
    FZ_CHECK(m->ev_next == ev_before + 1 && cn > 0 && p->chat_strikes == 0 && p->chat_tokens < MATCH_CHAT_BURST);
    const match_event_ref *r = &m->ev[ev_before % MATCH_EVENTS];
    static proto_event ev;
    size_t used;
    FZ_CHECK(proto_event_read(m->ev_pool + r->off, r->len, &ev, &used) == PROTO_OK && used == r->len);
    FZ_CHECK(ev.type == PROTO_EV_CHAT && ev.player == pid && ev.len == cn && memcmp(ev.text, text, cn) == 0);
}

static void on_message(fconn *fc, const uint8_t *buf, size_t len)
{
    if (!fc->h) {
        fc->h = core_conn_open(C, now_us, fc, "fuzz:1", "127.0.0.1");
        FZ_CHECK(fc->h != 0);
        drain();
    }
    const session *ss = core_session(C, fc->h);
    if (ss->state == SESSION_SPECTATING && !ss->close_code) {
        /* Spectators send nothing: whatever comes closes them. */
        core_conn_recv(C, fc->h, now_us, buf, len, 0, 1, 0);
        FZ_CHECK(ss->close_code == PROTO_CLOSE_SPECTATOR_INPUT || (len > PROTO_MAX_CLIENT_MSG && ss->close_code == 1009));
        drain();
        return;
    }
    int type = proto_peek_type(buf, len);
    if (type == PROTO_JOIN)
        send_join(fc, buf, len);
    else if (type == PROTO_CHAT)
        send_chat(fc, buf, len);
    else
        send_input(fc, buf, len);
    drain();
}

/* ---- ticks ------------------------------------------------------------------- */

/* One tick; checks that each human applied the next inputs it sent, in
 * order, as many as were waiting up to its credit (one step a tick, at most
 * MATCH_MAX_CREDIT saved) and SIM_MAX_STEPS_PER_TICK; a held player applies
 * none and leaves when its hold runs out. */
static void run_tick(void)
{
    match *m = the_match();
    uint32_t applied_before[MAX_SLOTS], credit_before[MAX_SLOTS], held_before[MAX_SLOTS];
    int human_before[MAX_SLOTS], humans = m ? m->humans : 0;
    for (int id = 0; m && id < m->cfg.size; id++) {
        const match_player *p = &m->players[id];
        human_before[id] = is_human(m, id);
        applied_before[id] = p->last_applied;
        credit_before[id] = p->credit;
        held_before[id] = p->held_until;
        FZ_CHECK(!p->held_until || (human_before[id] && !p->owner));
    }
    uint64_t expired_before = core_metrics(C)->holds_expired;
    now_us += period_us;
    now_ms += period_us / 1000.0;
    core_tick(C, now_us);
    int expired = (int)(core_metrics(C)->holds_expired - expired_before);
    if (!m) {
        FZ_CHECK(the_match() == NULL && expired == 0);
        drain();
        return;
    }
    if (humans == expired) {
        FZ_CHECK(the_match() == NULL); /* every hold ran out: the match is freed */
        drain();
        return;
    }
    int gone = 0;
    for (int id = 0; id < m->cfg.size; id++) {
        if (!human_before[id])
            continue;
        const match_player *p = &m->players[id];
        uint32_t n = m->step_inputs.count[id];
        if (held_before[id]) {
            FZ_CHECK(n == 0 && p->last_applied == applied_before[id]);
            int out = m->world.tick >= held_before[id];
            FZ_CHECK(p->used == !out);
            gone += out;
            if (!out)
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
            FZ_CHECK(want->view_tick == got->view_tick && want->view_frac == got->view_frac);
        }
        check_player(m, p);
    }
    FZ_CHECK(gone == expired && m->humans == humans - expired);
    if (match_latest_snapshot_tick(m) == m->world.tick) {
        /* DISCONNECTED marks exactly the held players. */
        const proto_snapshot *cur = &m->ring[m->ring_head];
        for (int id = 0; id < m->cfg.size; id++)
            if (cur->present[id])
                FZ_CHECK(!!(cur->ent[id].flags & SIM_FLAG_DISCONNECTED) == (m->players[id].held_until != 0));
    }
    drain();
    m = the_match();
    /* One encode per distinct baseline, within the cache sized for it. */
    FZ_CHECK(!m || (m->ncache <= FZ_CLI_SESSIONS && m->cache_used <= m->cache_cap));
}

/* ---- driver ------------------------------------------------------------- */

static void quiet_log(void *user, log_level level, const char *event, const char *kv)
{
    (void)user, (void)level, (void)event, (void)kv;
}

static void create_core(uint8_t cfg_byte)
{
    static const uint16_t rates[4] = {10, 20, 30, 60};
    static sim_map map;
    memset(&map, 0, sizeof map);
    map.width = 512;
    map.height = 384;
    map.nwalls = 2;
    map.walls[0] = (sim_wall){200, 100, 260, 300};
    map.walls[1] = (sim_wall){0, 0, 64, 32};
    core_config cc = {
        .tick_rate = rates[cfg_byte & 3],
    };
    cc.snapshot_rate = cc.tick_rate / ((cfg_byte & 4) ? 2 : 1);
    cc.match_size = 1 + ((cfg_byte >> 3) & 3);
    cc.npcs = ((cfg_byte >> 5) & 3) % cc.match_size;
    cc.seed = 0x7157u + cfg_byte;
    cc.max_matches = 1;
    cc.replay_slots = 64;
    cc.resume_grace = (cfg_byte & FZ_CLI_CFG_GRACE) ? 1 : 0;
    cc.secret = SECRET;
    cc.secret_len = sizeof SECRET;
    cc.random = fuzz_random;
    char err[128];
    C = core_create(&cc, &map, err, sizeof err);
    FZ_CHECK(C != NULL);
    core_set_unix_time(C, UNIX_NOW);
    period_us = 1000000 / cc.tick_rate;
    grace_ticks = cc.resume_grace * cc.tick_rate;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    log_set_sink(quiet_log, NULL);
    log_set_level(LOG_ERROR);
    memset(conns, 0, sizeof conns);
    memset(players, 0, sizeof players);
    draws = 0;
    minted = 0;
    now_us = 0;
    now_ms = 0.0;
    skip_mask = 0;
    create_core(data[0]);
    size_t pos = 1;
    while (pos < size) {
        uint8_t h = data[pos++];
        int op = h >> 6;
        size_t n = h & 63;
        if (op == FZ_CLI_OP_TICK) {
            skip_mask = (int)(n >> 3) & 7;
            for (size_t t = 0; t < 1 + (n & 7); t++)
                run_tick();
            skip_mask = 0;
            continue;
        }
        if (n == 63) {
            uint32_t v = pos < size ? data[pos++] : 0;
            v |= pos < size ? (uint32_t)data[pos++] << 8 : 0;
            n += v & 1023;
        }
        size_t len = n < size - pos ? n : size - pos;
        const uint8_t *msg = data + pos;
        pos += len;
        check_join_decode(msg, len);
        check_input_decode(msg, len);
        check_chat_decode(msg, len);
        on_message(&conns[op], msg, len);
    }
    for (int i = 0; i < FZ_CLI_SESSIONS; i++)
        if (conns[i].h)
            conn_gone(&conns[i]);
    core_destroy(C);
    C = NULL;
    log_set_sink(NULL, NULL);
    return 0;
}
