/* core: see core.h.
 *
 * Per connection: a session waits for JOIN, then joins the first match with
 * a free slot. Every snapshot tick the core asks to write to each client of
 * that match; a write sends only the newest snapshot ("latest wins"), so at
 * most one snapshot is ever queued per client. A client whose socket stays
 * choked for CORE_SEND_STALL_S is dropped with a logged reason.
 *
 * Spectators (a spectate JOIN) take no slot: they sit on a list of their
 * own and get the match's shared message for their cursor (match.h). They
 * are woken a share at a time: every tick the spectators at list indexes
 * congruent to the tick modulo the view interval, so each gets each view
 * once, at most interval - 1 ticks after it was taken, and 10,000 of them
 * are a sixth of that each tick at 60 Hz, not one burst every sixth tick. They send nothing
 * (any message: 4011), are not idle-checked, and are closed (4012) when
 * their match ends.
 *
 * Bad input closes only that connection: text frame 1003, over the size
 * limit 1009, anything malformed or out of order 1002, the server's own
 * reasons 4001-4012 (shared/proto.h). */
#include "core.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "token.h"

#define CORE_HANDLE_INDEX_BITS 20
#define CORE_HANDLE_INDEX_MASK ((1u << CORE_HANDLE_INDEX_BITS) - 1)
#define CORE_MAX_SESSIONS (CORE_HANDLE_INDEX_MASK - 1)
#define CORE_SESSION_SLACK 64 /* room for a transport that does not count at accept (tests, fuzzers) */
#define CORE_REFUSE_LOG_US 1000000 /* refusals at accept: at most one log line a second */
#define CORE_MAX_SPECTATORS_DEFAULT 10000

typedef struct core_slot {
    session *ss;           /* NULL: free */
    uint32_t gen;          /* bumped on every free, so old handles die */
    uint32_t next_free;
} core_slot;

struct core {
    core_config cfg;
    sim_map map;
    lobby lobby;
    admission adm;
    replay_cache replay;
    metrics stats;
    uint64_t unix_now;
    int64_t unix_ms;
    results_round round_scratch; /* one round's results, built at its end */
    int shutting_down;
    int draining;               /* core_drain was called */
    int64_t drain_deadline_us;  /* past it core_drain_done says so, LIVE or not */
    int64_t drain_started_us;
    uint8_t secret[4096];
    size_t secret_len;
    int demo;
    uint64_t next_guest_id;
    /* refusals at accept come by the thousand in a flood: one line a second per reason */
    log_ratelimit refuse_log[REF_N];
    /* warnings that can repeat per connection or per stall (metrics_log) */
    log_ratelimit log_limit[MLOG_N];
    /* sessions: a table of slots addressed by handle = gen << 20 | index + 1 */
    core_slot *slots;
    uint32_t nslots, slot_cap, max_slots, free_head, nsessions;
    session *waiting, *waiting_tail; /* AWAIT_JOIN sessions, oldest first */
    session **spec;                  /* SPECTATING sessions, max_spectators of room from the start */
    int nspec;
    uint32_t spec_turn;              /* ticks run: whose share of the spectators is owed a view */
    /* Spectators owed a view, oldest first, as handles (room for every
     * spectator, each at most once): the transport wakes them in batches
     * once the players' snapshots are written (core_wake_spectators). */
    uint32_t *specq;
    uint32_t specq_cap, specq_head, specq_n;
    uint32_t specq_at_tick;          /* specq_n when the last tick began: the write passes' backlog */
    /* actions: appended by the calls, drained by core_next_action */
    core_action *actions;
    size_t nactions, action_head, action_cap;
};

/* ---- handles and actions ------------------------------------------------------ */

static session *lookup(const core *c, uint32_t h)
{
    uint32_t i = (h & CORE_HANDLE_INDEX_MASK);
    if (i == 0 || i > c->nslots)
        return NULL;
    const core_slot *sl = &c->slots[i - 1];
    if (!sl->ss || sl->gen != h >> CORE_HANDLE_INDEX_BITS)
        return NULL;
    return sl->ss;
}

static void push_action(core *c, core_action_kind kind, session *ss, uint16_t code, const char *reason)
{
    if (c->nactions == c->action_cap) {
        size_t cap = c->action_cap ? 2 * c->action_cap : 256;
        core_action *a = realloc(c->actions, cap * sizeof *a);
        if (!a) {
            /* Out of memory on the action queue: nothing sensible to do but
             * lose this wake-up; a close is retried by the backstop timers. */
            log_event(LOG_ERROR, "out_of_memory", "what=\"action queue\"");
            return;
        }
        c->actions = a;
        c->action_cap = cap;
    }
    c->actions[c->nactions++] = (core_action){kind, ss->handle, ss->transport, code, reason, NULL, NULL, 0};
    if (kind == CORE_CLAIM) {
        core_action *a = &c->actions[c->nactions - 1];
        a->nonce = ss->claim.nonce;
        a->label = ss->claim.match;
        a->expiry = ss->claim.expiry;
    }
}

static void wake(core *c, session *ss)
{
    if (ss->wake_queued || ss->close_code)
        return;
    ss->wake_queued = 1;
    push_action(c, CORE_WAKE, ss, 0, NULL);
}

int core_next_action(core *c, core_action *out)
{
    while (c->action_head < c->nactions) {
        core_action a = c->actions[c->action_head++];
        session *ss = lookup(c, a.conn);
        if (!ss)
            continue; /* closed meanwhile */
        if (a.kind == CORE_WAKE) {
            ss->wake_queued = 0;
            if (ss->close_code)
                continue;
        }
        *out = a;
        return 1;
    }
    c->nactions = c->action_head = 0;
    return 0;
}

/* ---- closing ---------------------------------------------------------------------- */

/* The AWAIT_JOIN sessions in the order they opened (head oldest), so the
 * join timeout looks only at the head. */
static void waiting_append(core *c, session *ss)
{
    ss->in_waiting = 1;
    ss->next_waiting = NULL;
    ss->prev_waiting = c->waiting_tail;
    if (c->waiting_tail)
        c->waiting_tail->next_waiting = ss;
    else
        c->waiting = ss;
    c->waiting_tail = ss;
}

static void waiting_unlink(core *c, session *ss)
{
    if (!ss->in_waiting)
        return;
    if (ss->prev_waiting)
        ss->prev_waiting->next_waiting = ss->next_waiting;
    else
        c->waiting = ss->next_waiting;
    if (ss->next_waiting)
        ss->next_waiting->prev_waiting = ss->prev_waiting;
    else
        c->waiting_tail = ss->prev_waiting;
    ss->next_waiting = ss->prev_waiting = NULL;
    ss->in_waiting = 0;
}

/* Closes a session with a close frame; whatever else it sends is ignored. */
static void close_session(core *c, session *ss, uint16_t code, const char *why)
{
    waiting_unlink(c, ss);
    if (ss->close_code)
        return;
    ss->close_code = code;
    push_action(c, CORE_CLOSE, ss, code, why);
}

/* Refuses bad input: counts and logs it, closes with the code and reason.
 * A flood of it (many connections) is logged at warn at most once per
 * LOG_RATELIMIT_DEFAULT_US, the rest at debug. */
static void refuse(core *c, session *ss, int64_t now_us, metrics_bad r, uint16_t code, const char *why)
{
    c->stats.bad[r]++;
    uint64_t held;
    if (log_ratelimit_pass(&c->log_limit[MLOG_BAD_INPUT], now_us, &held)) {
        log_event(LOG_WARN, "bad_input", "peer=%s code=%u reason=\"%s\" suppressed=%llu", ss->peer, code, why,
                  (unsigned long long)held);
    } else {
        c->stats.log_held[MLOG_BAD_INPUT]++;
        log_event(LOG_DEBUG, "bad_input", "peer=%s code=%u reason=\"%s\"", ss->peer, code, why);
    }
    close_session(c, ss, code, why);
}

/* ---- joining ------------------------------------------------------------------------ */

/* Sends the WELCOME next and starts the session as player `pid` of `m`. */
static void start_playing(core *c, session *ss, match *m, int pid, int resumed, int64_t now_us)
{
    waiting_unlink(c, ss);
    ss->m = m;
    ss->pid = pid;
    ss->state = SESSION_PLAYING;
    ss->need_welcome = (uint8_t)(1 + resumed);
    ss->sent = (match_cursor){0};
    /* A fresh player may sit in a slot someone left since the newest
     * snapshot: that snapshot shows the previous occupant, not it. */
    ss->first_tick = resumed ? 0 : m->world.tick + 1;
    ss->progress_tick = m->world.tick;
    ss->rx_tick = m->world.tick;
    /* A resumed client may bring the inputs it made while away at once
     * (at most what the match buffers). */
    session_start_claims(ss, m->players[pid].last_received,
                         (uint32_t)c->cfg.tick_rate + (resumed ? MATCH_INPUT_BUF : 0), now_us);
    wake(c, ss);
}

/* JOIN with a resume token: the held (or still connected) player comes
 * back to this connection. Returns 1 when resumed, 0 when nobody has it. */
static int try_resume(core *c, session *ss, const proto_join *j, int64_t now_us)
{
    match *m = NULL;
    int pid = lobby_find_resume(&c->lobby, j->resume, &m);
    if (pid < 0)
        return 0;
    session *old = lookup(c, m->players[pid].owner);
    if (old) {
        /* Its old connection is still open (half-open, or the close not
         * seen yet): this one takes over. */
        old->state = SESSION_REPLACED;
        close_session(c, old, PROTO_CLOSE_REPLACED, "resumed on another connection");
    }
    match_player_resume(m, pid, ss->handle);
    /* A fresh resume token each time: one seen once is good only until the
     * player's next resume. */
    c->cfg.random(c->cfg.random_user, m->players[pid].resume, PROTO_RESUME_LEN);
    start_playing(c, ss, m, pid, 1, now_us);
    c->stats.resumes++;
    log_event(LOG_INFO, "resume", "peer=%s match=%u player=%d took_over=%d", ss->peer, m->id, pid, old != NULL);
    return 1;
}

/* ---- spectators ------------------------------------------------------------------- */

/* A spectate JOIN or a spectator refused: counted by reason, logged at
 * warn at most once per LOG_RATELIMIT_DEFAULT_US (a crowd arriving for a
 * match that ended refuses by the thousand), closed. */
static void refuse_spectator(core *c, session *ss, int64_t now_us, metrics_spec_refused r, uint16_t code,
                             const char *why)
{
    c->stats.spec_refused[r]++;
    uint64_t held;
    if (log_ratelimit_pass(&c->log_limit[MLOG_SPECTATE], now_us, &held)) {
        log_event(LOG_WARN, "spectate_refused", "peer=%s code=%u reason=\"%s\" spectators=%d suppressed=%llu",
                  ss->peer, code, why, c->nspec, (unsigned long long)held);
    } else {
        c->stats.log_held[MLOG_SPECTATE]++;
        log_event(LOG_DEBUG, "spectate_refused", "peer=%s code=%u reason=\"%s\"", ss->peer, code, why);
    }
    close_session(c, ss, code, why);
}

static void spectator_owe(core *c, session *ss);

/* Takes a spectator off its match and the list (its match ends, or it
 * closed). O(1). */
static void spectator_detach(core *c, session *ss)
{
    if (ss->state != SESSION_SPECTATING || !ss->m)
        return;
    ss->m->spectators--;
    session *last = c->spec[--c->nspec];
    c->spec[ss->spec_index] = last;
    last->spec_index = ss->spec_index;
    ss->m = NULL;
    ss->spec_index = -1;
    /* Moved to another share of the ticks, it could miss a view: owed one
     * now (nothing is written when it already has the current one). */
    if (last != ss)
        spectator_owe(c, last);
}

/* Closes the spectators of m (it is about to be freed). O(spectators). */
static void spectators_match_ended(core *c, match *m, int64_t now_us)
{
    for (int i = c->nspec - 1; i >= 0 && m->spectators > 0; i--) {
        session *ss = c->spec[i];
        if (ss->m != m)
            continue;
        spectator_detach(c, ss);
        refuse_spectator(c, ss, now_us, SPEC_REF_MATCH_ENDED, PROTO_CLOSE_NO_SUCH_MATCH, "match ended");
    }
}

/* A spectate JOIN with a valid token: watch match_id (or any) among the
 * matches with the token's label. */
static void start_spectating(core *c, session *ss, const token_claims *tc, uint16_t match_id, int64_t now_us)
{
    if (c->nspec >= c->cfg.max_spectators) {
        refuse_spectator(c, ss, now_us, SPEC_REF_FULL, PROTO_CLOSE_SERVER_FULL, "server full");
        return;
    }
    match *m = lobby_watch(&c->lobby, tc->match, match_id);
    if (!m) {
        refuse_spectator(c, ss, now_us, SPEC_REF_NO_MATCH, PROTO_CLOSE_NO_SUCH_MATCH, "no such match");
        return;
    }
    if (match_spectate_prepare(m) < 0) {
        log_event(LOG_ERROR, "out_of_memory", "what=\"spectator views\" match=%u", m->id);
        refuse_spectator(c, ss, now_us, SPEC_REF_FULL, PROTO_CLOSE_SERVER_FULL, "server full");
        return;
    }
    waiting_unlink(c, ss);
    ss->m = m;
    ss->pid = -1;
    ss->state = SESSION_SPECTATING;
    ss->need_welcome = 1;
    ss->sent = match_spectator_cursor(m);
    ss->progress_tick = m->world.tick;
    ss->rx_tick = m->world.tick;
    ss->spec_index = c->nspec;
    c->spec[c->nspec++] = ss;
    m->spectators++;
    c->stats.spec_joins++;
    log_event(LOG_INFO, "spectate", "peer=%s match=%u spectators=%d delay_s=%d", ss->peer, m->id, m->spectators,
              c->cfg.spectator_delay);
    wake(c, ss);
}

static void refuse_token(core *c, session *ss, int64_t now_us, const char *why)
{
    refuse(c, ss, now_us, BAD_AUTH, PROTO_CLOSE_TOKEN_REFUSED, why);
}

static void admit(core *c, session *ss, const token_claims *tc, int mode, uint16_t match_id, int64_t now_us);

static void on_join(core *c, session *ss, const uint8_t *buf, size_t len, int64_t now_us)
{
    proto_join j;
    int err = proto_join_read(buf, len, &j);
    if (err) {
        refuse(c, ss, now_us, BAD_MALFORMED, 1002, proto_err_str(err));
        return;
    }
    if (j.has_resume && try_resume(c, ss, &j, now_us))
        return;
    if (c->draining) {
        /* Going away: the client asks its matchmaker for another server.
         * The token is not looked at (not used up). */
        c->stats.drain_refused++;
        log_event(LOG_INFO, "refuse", "peer=%s reason=draining", ss->peer);
        close_session(c, ss, 1001, "server draining");
        return;
    }
    if (j.token_len == 0) {
        /* Not an attack: the hold ran out. The client gets a new token. */
        c->stats.bad[BAD_RESUME]++;
        log_event(LOG_INFO, "resume_expired", "peer=%s", ss->peer);
        close_session(c, ss, PROTO_CLOSE_RESUME_EXPIRED, "resume expired");
        return;
    }
    token_claims tc;
    err = token_verify(j.token, j.token_len, c->secret, c->secret_len, c->unix_now, &tc);
    if (err) {
        refuse_token(c, ss, now_us, token_err_str(err));
        return;
    }
    if (tc.expiry > c->unix_now + CORE_MAX_TOKEN_TTL) {
        refuse_token(c, ss, now_us, "token valid for too long");
        return;
    }
    int seen = replay_check_add(&c->replay, tc.nonce, tc.expiry, c->unix_now);
    if (seen == REPLAY_SEEN) {
        refuse_token(c, ss, now_us, "token already used");
        return;
    }
    if (seen == REPLAY_FULL) {
        refuse(c, ss, now_us, BAD_AUTH, PROTO_CLOSE_SERVER_FULL, "too many joins, try again later");
        return;
    }
    if (c->cfg.fleet_claims) {
        /* Used nowhere else in the fleet? The answer comes to core_claim_done. */
        ss->claim_pending = 1;
        ss->claim_mode = j.mode;
        ss->claim_match = j.match_id;
        ss->claim = tc;
        push_action(c, CORE_CLAIM, ss, 0, NULL);
        return;
    }
    admit(c, ss, &tc, j.mode, j.match_id, now_us);
}

/* A JOIN whose token passed every check: into a match, or watching one. */
static void admit(core *c, session *ss, const token_claims *tcp, int mode, uint16_t match_id, int64_t now_us)
{
    const token_claims tc = *tcp;
    if (mode == PROTO_MODE_SPECTATE) {
        start_spectating(c, ss, &tc, match_id, now_us);
        return;
    }
    match *m = lobby_place(&c->lobby, tc.match);
    uint8_t resume[PROTO_RESUME_LEN];
    c->cfg.random(c->cfg.random_user, resume, sizeof resume);
    int pid = m ? match_player_join(m, tc.name, ss->handle, resume) : -1;
    if (pid < 0) {
        log_event(LOG_ERROR, "join_failed", "peer=%s reason=\"no match could be opened\"", ss->peer);
        close_session(c, ss, PROTO_CLOSE_SERVER_FULL, "server full");
        return;
    }
    m->players[pid].account = tc.player_id;
    start_playing(c, ss, m, pid, 0, now_us);
    c->stats.joins++;
    char qname[2 * PROTO_MAX_NAME + 1];
    log_event(LOG_INFO, "join", "peer=%s name=\"%s\" account=%llu match=%u player=%d humans=%d", ss->peer,
              log_quote(tc.name, qname, sizeof qname), (unsigned long long)tc.player_id, m->id, pid, m->humans);
}

static void refuse_rate(core *c, session *ss, int64_t now_us)
{
    refuse(c, ss, now_us, BAD_RATE, PROTO_CLOSE_RATE_LIMIT, "rate limit exceeded");
}

/* Chat: not UTF-8 1007, over the length 1009, over the rate dropped and
 * counted, a flood of drops 4010. */
static void on_chat(core *c, session *ss, const uint8_t *buf, size_t len, int64_t now_us)
{
    char text[PROTO_MAX_CHAT_BYTES + 1];
    size_t n;
    if (!session_charge(ss, c->cfg.tick_rate, now_us)) {
        refuse_rate(c, ss, now_us);
        return;
    }
    int err = proto_chat_read(buf, len, text, &n);
    if (err == PROTO_ERR_UTF8) {
        refuse(c, ss, now_us, BAD_MALFORMED, 1007, "chat is not UTF-8");
        return;
    }
    if (err == PROTO_ERR_VALUE) {
        refuse(c, ss, now_us, BAD_TOO_LARGE, 1009, "chat too long");
        return;
    }
    if (err) {
        refuse(c, ss, now_us, BAD_MALFORMED, 1002, proto_err_str(err));
        return;
    }
    int r = match_player_chat(ss->m, ss->pid, text, n);
    if (r == MATCH_CHAT_FLOOD_CLOSE)
        refuse(c, ss, now_us, BAD_RATE, PROTO_CLOSE_CHAT_FLOOD, "chat flood");
    else if (r == MATCH_CHAT_DROPPED)
        c->stats.chat_dropped++;
    else if (r == MATCH_CHAT_SENT)
        c->stats.chat_in++;
}

static void on_message(core *c, session *ss, const uint8_t *buf, size_t len, int64_t now_us)
{
    int type = proto_peek_type(buf, len);
    if (ss->state == SESSION_AWAIT_JOIN) {
        if (ss->claim_pending) {
            refuse(c, ss, now_us, BAD_UNEXPECTED, 1002, "message before welcome");
            return;
        }
        if (!session_charge(ss, c->cfg.tick_rate, now_us))
            refuse_rate(c, ss, now_us);
        else if (type != PROTO_JOIN)
            refuse(c, ss, now_us, BAD_UNEXPECTED, 1002, "first message must be join");
        else
            on_join(c, ss, buf, len, now_us);
        return;
    }
    if (ss->state == SESSION_REPLACED)
        return; /* closing: its player lives on another connection */
    if (ss->state == SESSION_SPECTATING) {
        c->stats.bad[BAD_UNEXPECTED]++;
        refuse_spectator(c, ss, now_us, SPEC_REF_INPUT, PROTO_CLOSE_SPECTATOR_INPUT, "spectators send no input");
        return;
    }
    if (type == PROTO_JOIN) {
        refuse(c, ss, now_us, BAD_UNEXPECTED, 1002, "already joined");
        return;
    }
    if (type == PROTO_CHAT) {
        on_chat(c, ss, buf, len, now_us);
        return;
    }
    if (type != PROTO_INPUT) {
        refuse(c, ss, now_us, BAD_MALFORMED, 1002, type < 0 ? "empty message" : "unknown message type");
        return;
    }
    proto_input_msg msg;
    int err = proto_input_read(buf, len, &msg);
    if (err) {
        refuse(c, ss, now_us, BAD_MALFORMED, 1002, proto_err_str(err));
        return;
    }
    /* New inputs are judged by the time they claim, repeats by the bucket;
     * before anything is buffered. */
    uint32_t newest = msg.first_seq + msg.count - 1;
    if (newest <= ss->m->players[ss->pid].last_received ? !session_charge(ss, c->cfg.tick_rate, now_us)
                                                         : !session_claims_ok(ss, newest, c->cfg.tick_rate, now_us)) {
        refuse_rate(c, ss, now_us);
        return;
    }
    const char *why;
    if (match_player_input(ss->m, ss->pid, &msg, &why)) {
        refuse(c, ss, now_us, BAD_SEQUENCE, 1002, why);
        return;
    }
    c->stats.inputs_in++;
}

/* ---- connection events --------------------------------------------------------------- */

uint32_t core_conn_open(core *c, int64_t now_us, void *transport, const char *peer, const char *ip)
{
    uint32_t idx;
    if (c->free_head) {
        idx = c->free_head - 1;
        c->free_head = c->slots[idx].next_free;
    } else {
        if (c->nslots == c->max_slots)
            return 0;
        if (c->nslots == c->slot_cap) {
            uint32_t cap = c->slot_cap ? 2 * c->slot_cap : 256;
            if (cap > c->max_slots)
                cap = c->max_slots;
            core_slot *s = realloc(c->slots, cap * sizeof *s);
            if (!s)
                return 0;
            c->slots = s;
            c->slot_cap = cap;
        }
        idx = c->nslots++;
        c->slots[idx] = (core_slot){NULL, 1, 0};
    }
    session *ss = malloc(sizeof *ss);
    if (!ss) {
        c->slots[idx].next_free = c->free_head;
        c->free_head = idx + 1;
        return 0;
    }
    core_slot *sl = &c->slots[idx];
    sl->ss = ss;
    uint32_t h = sl->gen << CORE_HANDLE_INDEX_BITS | (idx + 1);
    session_init(ss, h, transport, peer, ip, now_us);
    c->nsessions++;
    waiting_append(c, ss);
    if (c->shutting_down)
        close_session(c, ss, 1001, "server shutting down");
    log_event(LOG_INFO, "connect", "peer=%s connections=%u", ss->peer, c->nsessions);
    return h;
}

void core_conn_recv(core *c, uint32_t conn, int64_t now_us, const void *data, size_t len, size_t pending, int last,
                    int text)
{
    session *ss = lookup(c, conn);
    if (!ss || ss->close_code)
        return; /* closing: the rest is not read */
    const uint8_t *msg;
    size_t n;
    switch (session_receive(ss, data, len, pending, last, text, &msg, &n)) {
    case SESSION_RX_MORE:
        return;
    case SESSION_RX_TEXT:
        refuse(c, ss, now_us, BAD_TEXT, 1003, "text frames are not accepted");
        return;
    case SESSION_RX_TOO_LARGE:
        refuse(c, ss, now_us, BAD_TOO_LARGE, 1009, "message too large");
        return;
    case SESSION_RX_MESSAGE:
        break;
    }
    if (ss->m)
        ss->rx_tick = ss->m->world.tick;
    on_message(c, ss, msg, n, now_us);
}

void core_claim_done(core *c, uint32_t conn, int64_t now_us, int verdict)
{
    session *ss = lookup(c, conn);
    if (!ss || !ss->claim_pending || ss->close_code)
        return;
    ss->claim_pending = 0;
    if (verdict < CORE_CLAIM_FRESH || verdict > CORE_CLAIM_UNCHECKED)
        verdict = CORE_CLAIM_UNCHECKED;
    c->stats.claims[verdict]++;
    if (verdict == CORE_CLAIM_USED) {
        refuse_token(c, ss, now_us, "token already used");
        return;
    }
    if (c->draining) {
        c->stats.drain_refused++;
        close_session(c, ss, 1001, "server draining");
        return;
    }
    admit(c, ss, &ss->claim, ss->claim_mode, ss->claim_match, now_us);
}

void core_conn_peer_close(core *c, uint32_t conn, int code)
{
    session *ss = lookup(c, conn);
    if (ss)
        ss->left |= code == 1000 || code == 1001;
}

static void encode_failed(core *c, session *ss, const char *what)
{
    log_event(LOG_ERROR, "encode_failed", "peer=%s what=%s", ss->peer, what);
    ss->close_code = 1011;
    push_action(c, CORE_ABORT, ss, 1011, "server error");
}

/* A spectator's next message: its WELCOME, then the match's current
 * spectator view when it has not been written yet. */
static size_t spectator_writable(core *c, session *ss, uint8_t *buf, size_t cap)
{
    match *m = ss->m;
    if (ss->need_welcome) {
        size_t n = match_spectator_welcome(m, buf, cap);
        ss->need_welcome = 0;
        if (!n) {
            encode_failed(c, ss, "welcome");
            return 0;
        }
        c->stats.welcome_out++;
        if (match_spectator_view_tick(m))
            wake(c, ss);
        return n;
    }
    uint32_t view = match_spectator_view_tick(m);
    if (view == 0 || view == ss->sent.snap_tick)
        return 0;
    int full, shared;
    uint64_t encodes = m->stats.spec_encodes;
    uint32_t prev = ss->sent.snap_tick;
    size_t n = match_spectator_snapshot(m, &ss->sent, buf, cap, &full, &shared);
    if (!n) {
        encode_failed(c, ss, "spectator snapshot");
        return 0;
    }
    ss->progress_tick = m->world.tick;
    /* Views it never got (it was owed them too late, or its socket was
     * slow): counted here, where the gap is known. */
    if (prev && ss->sent.snap_tick > prev + m->cfg.spec_interval)
        c->stats.snapshots_skipped += (ss->sent.snap_tick - prev) / m->cfg.spec_interval - 1;
    c->stats.spec_snapshots_out++;
    c->stats.spec_snapshot_bytes_out += n;
    c->stats.spec_full_out += (uint64_t)full;
    c->stats.spec_encodes += m->stats.spec_encodes - encodes;
    c->stats.spec_shared += (uint64_t)shared;
    return n;
}

size_t core_conn_writable(core *c, uint32_t conn, int64_t now_us, uint8_t *buf, size_t cap)
{
    (void)now_us;
    session *ss = lookup(c, conn);
    if (!ss || ss->close_code || cap < CORE_MAX_MESSAGE)
        return 0;
    if (ss->state == SESSION_SPECTATING && ss->m)
        return spectator_writable(c, ss, buf, cap);
    if (ss->state != SESSION_PLAYING)
        return 0;
    match *m = ss->m;
    if (ss->need_welcome) {
        size_t n = match_welcome(m, ss->pid, ss->need_welcome == 2, buf, cap);
        ss->need_welcome = 0;
        if (!n) {
            log_event(LOG_ERROR, "encode_failed", "peer=%s what=welcome", ss->peer);
            ss->close_code = 1011;
            push_action(c, CORE_ABORT, ss, 1011, "server error");
            return 0;
        }
        c->stats.welcome_out++;
        if (match_latest_snapshot_tick(m))
            wake(c, ss);
        return n;
    }
    uint32_t latest = match_latest_snapshot_tick(m);
    if (latest == 0 || latest == ss->sent.snap_tick || latest < ss->first_tick)
        return 0; /* nothing new: extra wake-ups are harmless */
    int full;
    size_t n = match_snapshot(m, ss->pid, &ss->sent, buf, cap, &full);
    if (!n) {
        log_event(LOG_ERROR, "encode_failed", "peer=%s what=snapshot", ss->peer);
        ss->close_code = 1011;
        push_action(c, CORE_ABORT, ss, 1011, "server error");
        return 0;
    }
    ss->progress_tick = m->world.tick;
    c->stats.snapshots_out++;
    c->stats.snapshot_bytes_out += n;
    c->stats.full_out += (uint64_t)full;
    return n;
}

/* The last person left: a round still LIVE is ended as interrupted (and
 * recorded) before the match goes, and its spectators are closed (4012:
 * they may watch another). */
static void close_if_empty(core *c, match *m, int64_t now_us)
{
    if (m->humans == 0) {
        match_end_round(m, PROTO_END_INTERRUPTED);
        spectators_match_ended(c, m, now_us);
    }
    lobby_close_if_empty(&c->lobby, m);
}

void core_conn_closed(core *c, uint32_t conn, int64_t now_us)
{
    session *ss = lookup(c, conn);
    if (!ss)
        return;
    waiting_unlink(c, ss);
    if (ss->state == SESSION_SPECTATING && ss->m)
        log_event(LOG_INFO, "spectate_end", "peer=%s match=%u spectators=%d", ss->peer, ss->m->id,
                  ss->m->spectators - 1);
    spectator_detach(c, ss);
    if (ss->state == SESSION_PLAYING && c->cfg.resume_grace > 0 && !c->shutting_down && !ss->left) {
        match_player_hold(ss->m, ss->pid, (uint32_t)(c->cfg.resume_grace * c->cfg.tick_rate));
        c->stats.holds++;
        log_event(LOG_INFO, "hold", "peer=%s match=%u player=%d grace_s=%d", ss->peer, ss->m->id, ss->pid,
                  c->cfg.resume_grace);
    } else if (ss->state == SESSION_PLAYING) {
        match *m = ss->m;
        log_event(LOG_INFO, "leave", "peer=%s match=%u player=%d", ss->peer, m->id, ss->pid);
        match_player_leave(m, ss->pid);
        c->stats.leaves++;
        close_if_empty(c, m, now_us);
    }
    c->nsessions--;
    log_event(LOG_INFO, "disconnect", "peer=%s connections=%u", ss->peer, c->nsessions);
    uint32_t idx = (conn & CORE_HANDLE_INDEX_MASK) - 1;
    core_slot *sl = &c->slots[idx];
    free(sl->ss);
    sl->ss = NULL;
    sl->gen = (sl->gen + 1) & ((1u << (32 - CORE_HANDLE_INDEX_BITS)) - 1);
    if (sl->gen == 0)
        sl->gen = 1;
    sl->next_free = c->free_head;
    c->free_head = idx + 1;
}

/* ---- the tick --------------------------------------------------------------------------- */

/* A client dropped for the server's sake: at warn, rate-limited (a
 * network hiccup can choke hundreds at once), the rest at debug. */
static void log_drop(core *c, int64_t now_us, const session *ss, int id, const char *why)
{
    uint64_t held;
    if (log_ratelimit_pass(&c->log_limit[MLOG_DROP], now_us, &held)) {
        log_event(LOG_WARN, "drop", "peer=%s match=%u player=%d reason=\"%s\" suppressed=%llu", ss->peer, ss->m->id,
                  id, why, (unsigned long long)held);
    } else {
        c->stats.log_held[MLOG_DROP]++;
        log_event(LOG_DEBUG, "drop", "peer=%s match=%u player=%d reason=\"%s\"", ss->peer, ss->m->id, id, why);
    }
}

/* After a snapshot: ask to write to each client; close the idle ones and
 * drop those whose socket has not drained for CORE_SEND_STALL_S. */
static void after_snapshot(core *c, match *m, int64_t now_us, uint32_t *deepest)
{
    uint32_t stall = (uint32_t)(CORE_SEND_STALL_S * c->cfg.tick_rate);
    uint32_t idle = (uint32_t)(c->cfg.idle_timeout * c->cfg.tick_rate);
    uint32_t latest = match_latest_snapshot_tick(m);
    for (int id = 0; id < m->cfg.size; id++) {
        session *ss = m->players[id].owner ? lookup(c, m->players[id].owner) : NULL;
        if (!ss || ss->close_code)
            continue;
        if (m->world.tick - ss->rx_tick > idle) {
            c->stats.dropped_idle++;
            log_event(LOG_INFO, "drop", "peer=%s match=%u player=%d reason=\"no message for %d s\"", ss->peer,
                      m->id, id, c->cfg.idle_timeout);
            close_session(c, ss, PROTO_CLOSE_IDLE, "idle timeout");
            continue;
        }
        if (m->world.tick - ss->progress_tick > stall) {
            c->stats.dropped_slow++;
            char why[64];
            snprintf(why, sizeof why, "socket choked for %d s", CORE_SEND_STALL_S);
            log_drop(c, now_us, ss, id, why);
            /* A close frame would queue behind what does not drain. */
            ss->close_code = PROTO_CLOSE_SLOW_READER;
            push_action(c, CORE_ABORT, ss, PROTO_CLOSE_SLOW_READER, "not reading snapshots");
            continue;
        }
        if (match_player_events_behind(m, id)) {
            c->stats.dropped_events_behind++;
            char why[64];
            snprintf(why, sizeof why, "%u events unacknowledged", m->ev_next - 1 - m->players[id].events_acked);
            log_drop(c, now_us, ss, id, why);
            close_session(c, ss, PROTO_CLOSE_EVENTS_BEHIND, "too far behind on events");
            continue;
        }
        uint32_t depth = match_player_backlog(m, id);
        metrics_backlog_observe(&c->stats, depth);
        if (depth > *deepest)
            *deepest = depth;
        /* The previous snapshot never went out: this one supersedes it. */
        if (ss->sent.snap_tick && ss->sent.snap_tick + m->snap_interval < latest)
            c->stats.snapshots_skipped++;
        wake(c, ss);
    }
}

/* Queues a spectator for a wake after the players' writes; already queued,
 * its entry stands (it writes the newest view whenever it is woken). */
static void spectator_owe(core *c, session *ss)
{
    if (ss->spec_owed)
        return;
    if (c->specq_n == c->specq_cap) { /* cannot happen: room for every spectator */
        wake(c, ss);
        return;
    }
    ss->spec_owed = 1;
    c->specq[(c->specq_head + c->specq_n++) % c->specq_cap] = ss->handle;
}

/* Ticks until m takes its next spectator view: 1 means the next tick. */
static uint32_t view_slack(const match *m)
{
    return m->cfg.spec_interval - m->world.tick % m->cfg.spec_interval;
}

/* Owes ss the current view: unless it has been choked for
 * CORE_SEND_STALL_S (not idle: spectators send nothing), dropped; unless
 * its next event left the log, closed. */
static void owe_view(core *c, session *ss, int64_t now_us, uint32_t stall)
{
    match *m = ss->m;
    if (!match_spectator_view_tick(m) || ss->close_code || ss->need_welcome)
        return;
    /* Owing nothing before the first view (a match younger than the
     * delay) is no stall. */
    if (ss->sent.snap_tick == 0 && ss->progress_tick < m->spec_since)
        ss->progress_tick = m->spec_since;
    if (m->world.tick - ss->progress_tick > stall) {
        c->stats.dropped_slow++;
        log_drop(c, now_us, ss, -1, "spectator socket choked");
        ss->close_code = PROTO_CLOSE_SLOW_READER;
        push_action(c, CORE_ABORT, ss, PROTO_CLOSE_SLOW_READER, "not reading snapshots");
        return;
    }
    if (match_spectator_events_behind(m, &ss->sent)) {
        c->stats.dropped_events_behind++;
        log_drop(c, now_us, ss, -1, "spectator behind on events");
        close_session(c, ss, PROTO_CLOSE_EVENTS_BEHIND, "too far behind on events");
        return;
    }
    spectator_owe(c, ss);
}

/* After the matches ticked: owe this tick's share of the spectators (list
 * indexes congruent to the tick modulo the view interval) a view. A share
 * whose match takes a new view at the very next tick would have one tick
 * to get it written, and a write pass that spills past that tick sends
 * the new view and loses this one: so such a share is owed one tick early,
 * with the share before it, and every view owed has at least two ticks
 * (after that tick's players) to go out. O(spectators / interval). */
static void wake_spectators(core *c, int64_t now_us)
{
    uint32_t stall = (uint32_t)(CORE_SEND_STALL_S * c->cfg.tick_rate);
    int share = c->cfg.tick_rate / c->cfg.spectator_rate;
    int turn = (int)(c->spec_turn++ % (uint32_t)share);
    int ahead = 0, behind = 0; /* a match with 2 ticks of slack; with 1 */
    for (int k = 0; k < c->lobby.nmatches && share > 1; k++) {
        ahead |= view_slack(c->lobby.matches[k]) == 2;
        behind |= view_slack(c->lobby.matches[k]) == 1;
    }
    for (int i = turn; i < c->nspec; i += share)
        if (!behind || view_slack(c->spec[i]->m) != 1)
            owe_view(c, c->spec[i], now_us, stall);
    for (int i = (turn + 1) % share; ahead && i < c->nspec; i += share)
        if (view_slack(c->spec[i]->m) == 2)
            owe_view(c, c->spec[i], now_us, stall);
}

uint32_t core_spectators_owed(const core *c)
{
    return c->specq_n;
}

int core_wake_spectators(core *c, int max)
{
    int n = 0;
    while (c->specq_n && n < max) {
        uint32_t h = c->specq[c->specq_head];
        c->specq_head = (c->specq_head + 1) % c->specq_cap;
        c->specq_n--;
        session *ss = lookup(c, h);
        if (!ss || !ss->spec_owed)
            continue; /* closed since */
        ss->spec_owed = 0;
        wake(c, ss);
        n++;
    }
    return n;
}

/* Sessions that sent no valid JOIN within SESSION_JOIN_TIMEOUT_S: the
 * oldest are at the head, so this stops at the first one not yet due. */
static void expire_joins(core *c, int64_t now_us)
{
    const int64_t limit = (int64_t)SESSION_JOIN_TIMEOUT_S * 1000000;
    while (c->waiting && now_us - c->waiting->opened_us >= limit)
        refuse(c, c->waiting, now_us, BAD_AUTH, PROTO_CLOSE_JOIN_TIMEOUT, "no valid join in time"); /* unlinks it */
}

/* ---- draining ------------------------------------------------------------------------------ */

/* While draining, each tick: the players of a match with no LIVE round
 * are sent away (1001), those of a round that just ended CORE_DRAIN_LINGER_MS
 * after its end, so the final scoreboard reaches them first. LIVE rounds
 * play on. O(matches x slots), only while draining. */
static void drain_step(core *c, int64_t now_us)
{
    for (int i = c->lobby.nmatches - 1; i >= 0; i--) {
        match *m = c->lobby.matches[i];
        if (m->state.phase == PROTO_PHASE_LIVE)
            continue;
        if (m->state.phase == PROTO_PHASE_ENDED) {
            /* Linger, but never into the next round (a short intermission). */
            uint32_t ended = m->state.end_tick - m->cfg.intermission_ticks;
            uint32_t linger = (uint32_t)((int64_t)CORE_DRAIN_LINGER_MS * c->cfg.tick_rate / 1000);
            if (linger >= m->cfg.intermission_ticks)
                linger = m->cfg.intermission_ticks > 1 ? m->cfg.intermission_ticks - 1 : 0;
            if (m->world.tick - ended < linger)
                continue;
        }
        int held = 0;
        for (int id = 0; id < m->cfg.size; id++) {
            match_player *p = &m->players[id];
            session *ss = p->owner ? lookup(c, p->owner) : NULL;
            if (ss && !ss->close_code) {
                ss->left = 1; /* not held for a resume: there is nothing to come back to */
                close_session(c, ss, 1001, "server draining");
            } else if (p->used && !p->npc && p->held_until) {
                match_player_leave(m, id); /* its round is over: nothing to resume */
                c->stats.leaves++;
                held++;
            }
        }
        if (held)
            close_if_empty(c, m, now_us);
    }
}

void core_drain(core *c, int64_t now_us, int64_t timeout_us)
{
    if (c->draining || c->shutting_down)
        return;
    c->draining = 1;
    c->drain_started_us = now_us;
    c->drain_deadline_us = now_us + timeout_us;
    int live = 0, players = 0;
    for (int i = 0; i < c->lobby.nmatches; i++) {
        live += c->lobby.matches[i]->state.phase == PROTO_PHASE_LIVE;
        players += c->lobby.matches[i]->humans;
    }
    log_event(LOG_INFO, "drain_start", "timeout_s=%.1f live_rounds=%d players=%d", (double)timeout_us / 1e6, live,
              players);
    drain_step(c, now_us);
}

int core_draining(const core *c)
{
    return c->draining;
}

int core_drain_done(core *c, int64_t now_us)
{
    if (!c->draining)
        return 0;
    int live = 0, connected = 0;
    for (int i = 0; i < c->lobby.nmatches; i++) {
        const match *m = c->lobby.matches[i];
        live += m->state.phase == PROTO_PHASE_LIVE;
        for (int id = 0; id < m->cfg.size; id++)
            connected += m->players[id].owner != 0 && lookup(c, m->players[id].owner) != NULL;
    }
    if (live == 0 && connected == 0) {
        log_event(LOG_INFO, "drain_done", "took_s=%.1f reason=\"rounds over\"",
                  (double)(now_us - c->drain_started_us) / 1e6);
        return 1;
    }
    if (now_us >= c->drain_deadline_us) {
        log_event(LOG_WARN, "drain_done", "took_s=%.1f reason=timeout live_rounds=%d players=%d",
                  (double)(now_us - c->drain_started_us) / 1e6, live, connected);
        return 1;
    }
    return 0;
}

int core_ready(const core *c)
{
    if (c->draining || c->shutting_down)
        return 0;
    if (c->lobby.nmatches < c->lobby.max_matches)
        return 1;
    for (int i = 0; i < c->lobby.nmatches; i++)
        if (match_has_room(c->lobby.matches[i]))
            return 1;
    return 0;
}

void core_tick(core *c, int64_t now_us)
{
    lobby *l = &c->lobby;
    uint32_t deepest = 0;
    int snapped = 0;
    for (int i = l->nmatches - 1; i >= 0; i--) {
        match *m = l->matches[i];
        int snap = match_tick(m);
        c->stats.shots += m->world.shots;
        c->stats.unlag_clamped += m->world.unlag_clamped;
        c->stats.hits += (uint64_t)m->world.nhits;
        for (int h = 0; h < m->world.nhits; h++)
            c->stats.kills += m->world.hits[h].killed;
        if (snap) {
            after_snapshot(c, m, now_us, &deepest);
            snapped = 1;
        }
        if (m->expired_holds) {
            c->stats.holds_expired += (uint64_t)m->expired_holds;
            c->stats.leaves += (uint64_t)m->expired_holds;
            log_event(LOG_INFO, "hold_expired", "match=%u players=%d humans=%d", m->id, m->expired_holds, m->humans);
            m->expired_holds = 0;
            close_if_empty(c, m, now_us);
        }
    }
    if (snapped)
        c->stats.backlog_max = deepest;
    c->specq_at_tick = c->specq_n;
    if (c->nspec)
        wake_spectators(c, now_us);
    if (c->waiting)
        expire_joins(c, now_us);
    if (c->draining)
        drain_step(c, now_us);
}

void core_ticks_missed(core *c, uint32_t ticks, int64_t now_us)
{
    for (int i = 0; i < c->lobby.nmatches; i++)
        match_credit(c->lobby.matches[i], ticks);
    uint64_t held;
    if (log_ratelimit_pass(&c->log_limit[MLOG_STALL_CREDIT], now_us, &held)) {
        log_event(LOG_WARN, "stall_credit", "missed_ticks=%u matches=%d suppressed=%llu", ticks, c->lobby.nmatches,
                  (unsigned long long)held);
    } else {
        c->stats.log_held[MLOG_STALL_CREDIT]++;
        log_event(LOG_DEBUG, "stall_credit", "missed_ticks=%u matches=%d", ticks, c->lobby.nmatches);
    }
}

void core_shutdown(core *c)
{
    c->shutting_down = 1;
    for (int i = 0; i < c->lobby.nmatches; i++)
        match_end_round(c->lobby.matches[i], PROTO_END_INTERRUPTED);
    for (uint32_t i = 0; i < c->nslots; i++)
        if (c->slots[i].ss)
            close_session(c, c->slots[i].ss, 1001, "server shutting down");
}

/* ---- HTTP side doors ------------------------------------------------------------------- */

/* Per reason: one line for the first refusal, then at most one a second,
 * with the count of those not logged since the previous line. */
static void log_accept_refusal(core *c, int64_t now_us, const char *ip, int r)
{
    uint64_t held;
    if (!log_ratelimit_pass(&c->refuse_log[r], now_us, &held)) {
        c->stats.log_held[MLOG_REFUSE]++;
        return;
    }
    log_event(LOG_WARN, "refuse", "ip=%s status=%d reason=%s at=accept connections=%d unlogged=%llu", ip,
              admission_status(r), metrics_refused_label((metrics_refused)r), c->adm.conns,
              (unsigned long long)held);
}

uint32_t core_accept(core *c, int64_t now_us, const char *ip)
{
    int r;
    uint32_t t = admission_accept(&c->adm, ip ? ip : "", &r);
    if (t) {
        c->stats.accepted++;
        return t;
    }
    c->stats.refused[r]++;
    log_accept_refusal(c, now_us, ip ? ip : "", r);
    return 0;
}

int core_accept_is_reserve(const core *c, uint32_t accepted)
{
    return admission_is_reserve(&c->adm, accepted);
}

void core_reserve_refused(core *c, int64_t now_us, const char *ip)
{
    int r = admission_check_caps(&c->adm, ip ? ip : "");
    r = r == ADMIT_OK ? REF_MAX_CONNS : r;
    c->stats.refused[r]++;
    log_accept_refusal(c, now_us, ip ? ip : "", r);
}

void core_accept_closed(core *c, uint32_t accepted)
{
    admission_release(&c->adm, accepted);
}

int core_accepted(const core *c)
{
    return c->adm.conns + c->adm.reserved;
}

int core_admit(core *c, const char *origin, const char *host, const char *ip)
{
    int r = admission_check_origin(&c->adm, origin, host);
    if (r == ADMIT_OK)
        return 0;
    int status = admission_status(r);
    c->stats.refused[r]++;
    char qorigin[256];
    log_event(LOG_WARN, "refuse", "ip=%s status=%d reason=%s origin=\"%s\"", ip, status,
              metrics_refused_label((metrics_refused)r), log_quote(origin, qorigin, sizeof qorigin));
    return status;
}

int core_demo_mode(const core *c)
{
    return c->demo;
}

size_t core_guest_join(core *c, const char *name, char *buf, size_t cap)
{
    if (!c->demo)
        return 0;
    token_claims tc;
    memset(&tc, 0, sizeof tc);
    tc.player_id = ++c->next_guest_id;
    size_t n = 0;
    for (; name && name[n] && n < TOKEN_MAX_NAME; n++)
        tc.name[n] = (name[n] >= 0x20 && name[n] <= 0x7e) ? name[n] : '?';
    if (n == 0)
        snprintf(tc.name, sizeof tc.name, "guest-%llu", (unsigned long long)tc.player_id);
    tc.expiry = c->unix_now + CORE_GUEST_TOKEN_TTL;
    c->cfg.random(c->cfg.random_user, tc.nonce, sizeof tc.nonce);
    char token[TOKEN_MAX_B64 + 1];
    if (!token_mint(&tc, c->secret, c->secret_len, token, sizeof token))
        return 0;
    int len = snprintf(buf, cap, "{\"token\":\"%s\",\"expires_in\":%d,\"player_id\":%llu}\n", token,
                       CORE_GUEST_TOKEN_TTL, (unsigned long long)tc.player_id);
    if (len < 0 || (size_t)len >= cap)
        return 0;
    c->stats.tokens_minted++;
    return (size_t)len;
}

size_t core_mint_token(core *c, uint64_t player_id, const char *name, const char *label, int ttl_s, char *out,
                       size_t cap, uint8_t nonce_out[TOKEN_NONCE_LEN])
{
    token_claims tc;
    memset(&tc, 0, sizeof tc);
    tc.player_id = player_id;
    size_t n = strlen(name), l = strlen(label);
    if (n < 1 || n > TOKEN_MAX_NAME || l > TOKEN_MAX_MATCH)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            return 0;
    for (size_t i = 0; i < l; i++)
        if (label[i] < 0x20 || label[i] > 0x7e)
            return 0;
    memcpy(tc.name, name, n);
    memcpy(tc.match, label, l);
    tc.expiry = c->unix_now + (uint64_t)ttl_s;
    c->cfg.random(c->cfg.random_user, tc.nonce, sizeof tc.nonce);
    size_t len = token_mint(&tc, c->secret, c->secret_len, out, cap);
    if (!len)
        return 0;
    memcpy(nonce_out, tc.nonce, TOKEN_NONCE_LEN);
    c->stats.tokens_minted++;
    return len;
}

/* Labels come from join tokens (printable ASCII): only " and \ need escaping. */
static size_t json_label(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 2 < cap; in++) {
        if (*in == '"' || *in == '\\')
            out[o++] = '\\';
        out[o++] = *in;
    }
    out[o] = '\0';
    return o;
}

size_t core_live_json(const core *c, char *buf, size_t cap)
{
    static const char *const phase[] = {"warmup", "live", "ended"};
    size_t n = 0;
    int w = snprintf(buf, cap, "{\"matches\":[");
    if (w < 0 || (size_t)w >= cap)
        return 0;
    n = (size_t)w;
    for (int i = 0; i < c->lobby.nmatches; i++) {
        const match *m = c->lobby.matches[i];
        char label[2 * MATCH_LABEL_MAX + 1];
        json_label(m->label, label, sizeof label);
        uint32_t left = m->state.end_tick > m->world.tick ? m->state.end_tick - m->world.tick : 0;
        w = snprintf(buf + n, cap - n,
                     "%s{\"id\":%u,\"label\":\"%s\",\"players\":%d,\"humans\":%d,\"npcs\":%d,\"capacity\":%d,"
                     "\"spectators\":%d,\"phase\":\"%s\",\"round\":%u,\"seconds_left\":%.1f,\"score_limit\":%u}",
                     i ? "," : "", m->id, label, m->humans + m->npcs, m->humans, m->npcs, m->cfg.size, m->spectators,
                     phase[m->state.phase % 3], m->state.round,
                     m->state.end_tick ? (double)left / m->cfg.tick_rate : 0.0, m->state.score_limit);
        if (w < 0 || (size_t)w >= cap - n)
            return 0;
        n += (size_t)w;
    }
    w = snprintf(buf + n, cap - n, "]}");
    if (w < 0 || (size_t)w >= cap - n)
        return 0;
    return n + (size_t)w;
}

size_t core_metrics_text(core *c, const metrics_process *proc, char *buf, size_t cap)
{
    metrics_gauges g = {
        .connections = (int)c->nsessions,
        .tcp_connections = c->adm.conns + c->adm.reserved,
        .matches = c->lobby.nmatches,
        .tick_rate = c->cfg.tick_rate,
        .snapshot_rate = c->cfg.snapshot_rate,
        .ready = core_ready(c),
        .draining = c->draining,
        .proc = {.open_fds = -1, .max_fds = -1},
    };
    if (proc)
        g.proc = *proc;
    lobby_count(&c->lobby, &g.players, &g.npcs);
    g.players_held = lobby_held(&c->lobby);
    g.spectators = c->nspec;
    g.spectators_owed = c->specq_at_tick;
    return metrics_render(&c->stats, &g, buf, cap);
}

/* ---- lifecycle and accessors -------------------------------------------------------------- */

/* A LIVE round ended: logged, counted, and handed to cfg.on_round with
 * every player's score (held players included, they are still in it). */
static void round_ended(void *user, const match *m, int reason)
{
    core *c = user;
    static const char *const why[] = {"", "time", "score", "interrupted"};
    c->stats.rounds_ended[reason & 3]++;
    uint32_t ticks = m->world.tick - m->round_start_tick;
    log_event(LOG_INFO, "round_end", "match=%u round=%u reason=%s seconds=%u", m->id, m->state.round,
              why[reason & 3], ticks / (uint32_t)m->cfg.tick_rate);
    if (!c->cfg.on_round)
        return;
    results_round *r = &c->round_scratch;
    memset(r, 0, offsetof(results_round, players));
    r->match_id = m->id;
    snprintf(r->label, sizeof r->label, "%s", m->label);
    r->round = m->state.round;
    r->end_ms = c->unix_ms;
    r->start_ms = c->unix_ms - (int64_t)ticks * 1000 / m->cfg.tick_rate;
    snprintf(r->map, sizeof r->map, "%s", c->cfg.map_name ? c->cfg.map_name : "");
    snprintf(r->end_reason, sizeof r->end_reason, "%s", why[reason & 3]);
    for (int id = 0; id < m->cfg.size && r->nplayers < RESULTS_MAX_PLAYERS; id++) {
        const match_player *p = &m->players[id];
        if (!p->used)
            continue;
        const sim_player *sp = &m->world.players[id];
        results_player *rp = &r->players[r->nplayers++];
        memset(rp, 0, sizeof *rp);
        snprintf(rp->name, sizeof rp->name, "%s", m->names.name[id]);
        rp->account = p->account;
        rp->npc = p->npc;
        rp->kills = sp->kills;
        rp->deaths = sp->deaths;
        rp->score = sp->score;
    }
    c->cfg.on_round(c->cfg.round_user, r);
}

core *core_create(const core_config *cfg, const sim_map *map, char *err, size_t errlen)
{
    if (!cfg->random) {
        snprintf(err, errlen, "core: no random source");
        return NULL;
    }
    if (cfg->secret && (cfg->secret_len < 16 || cfg->secret_len > sizeof ((core *)0)->secret)) {
        snprintf(err, errlen, "token secret must be 16..4096 bytes");
        return NULL;
    }
    core *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    core_config *k = &c->cfg;
    k->tick_rate = k->tick_rate ? k->tick_rate : 60;
    k->snapshot_rate = k->snapshot_rate ? k->snapshot_rate : k->tick_rate;
    k->match_size = k->match_size ? k->match_size : 64;
    k->idle_timeout = k->idle_timeout ? k->idle_timeout : 10;
    k->admission.max_conns = k->admission.max_conns ? k->admission.max_conns : 4096;
    k->admission.max_conns_per_ip = k->admission.max_conns_per_ip ? k->admission.max_conns_per_ip : 1200;
    if (k->tick_rate % k->snapshot_rate) {
        snprintf(err, errlen, "snapshot rate %d does not divide tick rate %d", k->snapshot_rate, k->tick_rate);
        free(c);
        return NULL;
    }
    if (!k->spectator_rate) {
        /* 10 Hz, or the snapshot rate when that is lower or 10 does not fit. */
        k->spectator_rate = k->snapshot_rate < 10 || k->tick_rate % 10 ? k->snapshot_rate : 10;
    }
    k->max_spectators = k->max_spectators ? k->max_spectators : CORE_MAX_SPECTATORS_DEFAULT;
    if (k->spectator_rate < 0 || k->tick_rate % k->spectator_rate || k->spectator_rate > k->snapshot_rate ||
        k->spectator_delay < 0 || k->spectator_delay > MATCH_MAX_SPEC_DELAY_S || k->max_spectators < 0) {
        snprintf(err, errlen, "spectator rate %d must divide tick rate %d and be at most snapshot rate %d; delay %d "
                 "must be 0..%d s", k->spectator_rate, k->tick_rate, k->snapshot_rate, k->spectator_delay,
                 MATCH_MAX_SPEC_DELAY_S);
        free(c);
        return NULL;
    }
    c->map = *map;
    int unlag_ms = k->max_unlag_ms ? (k->max_unlag_ms < 0 ? 0 : k->max_unlag_ms) : 250;
    uint32_t unlag = (uint32_t)unlag_ms * (uint32_t)k->tick_rate / 1000u;
    match_config mc = {
        .tick_rate = (uint16_t)k->tick_rate,
        .snapshot_rate = (uint16_t)k->snapshot_rate,
        .size = k->match_size,
        .npcs = k->npcs,
        .seed = k->seed,
        .unlag_ticks = (uint16_t)(unlag < SIM_HISTORY - 2 ? unlag : SIM_HISTORY - 2),
        .min_players = k->min_players,
        .aoi_radius = (uint16_t)(k->aoi_radius > 0 && k->aoi_radius < 65536 ? k->aoi_radius : 0),
        .match_ticks = (uint32_t)k->match_time * (uint32_t)k->tick_rate,
        .score_limit = k->score_limit,
        .intermission_ticks = (uint32_t)k->intermission * (uint32_t)k->tick_rate,
        .spec_interval = (uint32_t)(k->tick_rate / k->spectator_rate),
        .spec_delay_ticks = (uint32_t)k->spectator_delay * (uint32_t)k->tick_rate,
        .on_round_end = round_ended,
        .user = c,
        .recorder = k->recorder,
    };
    lobby_init(&c->lobby, &c->map, &mc, k->max_matches);
    for (int r = 0; r < REF_N; r++)
        c->refuse_log[r].interval_us = CORE_REFUSE_LOG_US;
    uint64_t want = (uint64_t)k->admission.max_conns + CORE_SESSION_SLACK;
    c->max_slots = want < CORE_MAX_SESSIONS ? (uint32_t)want : CORE_MAX_SESSIONS;
    c->spec = calloc((size_t)k->max_spectators + 1, sizeof *c->spec);
    c->specq_cap = (uint32_t)k->max_spectators + 1;
    c->specq = calloc(c->specq_cap, sizeof *c->specq);
    if (!c->spec || !c->specq || admission_init(&c->adm, &k->admission) < 0 || replay_init(&c->replay, k->replay_slots > 0 ? (uint32_t)k->replay_slots : 1u << 16) < 0) {
        snprintf(err, errlen, "out of memory");
        core_destroy(c);
        return NULL;
    }
    if (cfg->secret) {
        memcpy(c->secret, cfg->secret, cfg->secret_len);
        c->secret_len = cfg->secret_len;
    } else {
        /* Demo mode signs its own guest tokens with a secret nobody else has. */
        c->demo = 1;
        c->secret_len = 32;
        k->random(k->random_user, c->secret, c->secret_len);
    }
    k->secret = NULL; /* the copy above is the one in use */
    return c;
}

void core_destroy(core *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->nslots; i++)
        free(c->slots[i].ss);
    free(c->slots);
    free(c->actions);
    free(c->spec);
    free(c->specq);
    lobby_free(&c->lobby);
    admission_free(&c->adm);
    replay_free(&c->replay);
    free(c);
}

void core_set_unix_time(core *c, uint64_t unix_s)
{
    c->unix_now = unix_s;
    c->unix_ms = (int64_t)unix_s * 1000;
}

void core_set_unix_ms(core *c, int64_t unix_ms)
{
    c->unix_now = (uint64_t)(unix_ms / 1000);
    c->unix_ms = unix_ms;
}

metrics *core_metrics(core *c)
{
    return &c->stats;
}

int core_tick_rate(const core *c)
{
    return c->cfg.tick_rate;
}

int core_connections(const core *c)
{
    return (int)c->nsessions;
}

int core_spectators(const core *c)
{
    return c->nspec;
}

const lobby *core_lobby(const core *c)
{
    return &c->lobby;
}

const session *core_session(const core *c, uint32_t conn)
{
    return lookup(c, conn);
}
