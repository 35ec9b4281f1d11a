/* match: see match.h. */
#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

match *match_create(uint16_t id, const sim_map *map, const match_config *cfg)
{
    match *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->id = id;
    m->cfg = *cfg;
    match_config *k = &m->cfg;
    k->min_players = k->min_players > 0 ? k->min_players : 2;
    k->match_ticks = k->match_ticks ? k->match_ticks : 300u * k->tick_rate;
    k->score_limit = k->score_limit ? k->score_limit : 25;
    k->intermission_ticks = k->intermission_ticks ? k->intermission_ticks : 10u * k->tick_rate;
    m->snap_interval = cfg->tick_rate / cfg->snapshot_rate;
    if (!k->spec_interval)
        k->spec_interval = k->tick_rate >= 10 ? k->tick_rate / 10u : 1u;
    m->ring_head = -1;
    m->spec_view = -1;
    m->ev_first = m->ev_next = 1;
    m->state.phase = PROTO_PHASE_WARMUP;
    m->state.min_players = (uint8_t)(k->min_players > 255 ? 255 : k->min_players);
    m->state.score_limit = (uint16_t)(k->score_limit > 0 ? k->score_limit : 0);
    m->cache_cap = (size_t)MATCH_RING * (size_t)(1 + cfg->size * 32);
    m->cache_buf = malloc(m->cache_cap);
    if (!m->cache_buf)
        goto err;
    sim_world_init(&m->world, map, cfg->tick_rate, cfg->seed ^ ((uint64_t)id << 48));
    m->world.unlag_ticks = cfg->unlag_ticks;
    for (int i = 0; i < cfg->npcs && i < cfg->size; i++) {
        match_player *p = &m->players[i];
        p->used = 1;
        p->npc = 1;
        p->gen++;
        p->joins++;
        p->npc_rng = m->world.seed ^ (0xA5A5u + (uint64_t)i);
        snprintf(m->names.name[i], sizeof m->names.name[i], "npc-%d", i + 1);
        sim_world_spawn(&m->world, i, p->joins);
        m->npcs++;
    }
    /* A delayed view needs the views from before the first spectator. */
    if (k->spec_delay_ticks && match_spectate_prepare(m) < 0)
        goto err;
    return m;
err:
    match_destroy(m);
    return NULL;
}

void match_destroy(match *m)
{
    if (!m)
        return;
    free(m->cache_buf);
    free(m->spec_views);
    free(m->spec_buf);
    free(m);
}

int match_has_room(const match *m)
{
    return m->humans + m->npcs < m->cfg.size;
}

int match_player_join(match *m, const char *name, uint32_t owner, const uint8_t resume[PROTO_RESUME_LEN])
{
    for (int id = 0; id < m->cfg.size; id++) {
        match_player *p = &m->players[id];
        if (p->used)
            continue;
        uint8_t gen = p->gen;
        uint32_t joins = p->joins;
        memset(p, 0, sizeof *p);
        p->used = 1;
        p->gen = (uint8_t)(gen + 1);
        p->joins = joins + 1;
        p->owner = owner;
        memcpy(p->resume, resume, PROTO_RESUME_LEN);
        size_t n = strlen(name);
        if (n > PROTO_MAX_NAME)
            n = PROTO_MAX_NAME;
        memcpy(m->names.name[id], name, n);
        m->names.name[id][n] = '\0';
        sim_world_spawn(&m->world, id, p->joins);
        m->humans++;
        p->events_acked = m->ev_next - 1; /* from its own join on */
        p->chat_tokens = MATCH_CHAT_BURST;
        p->chat_tick = m->world.tick;
        proto_event e = {.type = PROTO_EV_JOIN, .player = (uint8_t)id, .len = (uint16_t)n};
        memcpy(e.text, m->names.name[id], n + 1);
        match_event_push(m, &e);
        return id;
    }
    return -1;
}

void match_player_leave(match *m, int id)
{
    match_player *p = &m->players[id];
    if (!p->used)
        return;
    if (p->npc)
        m->npcs--;
    else
        m->humans--;
    p->used = 0;
    p->owner = 0;
    p->held_until = 0;
    sim_world_remove(&m->world, id);
    match_event_push(m, &(proto_event){.type = PROTO_EV_LEAVE, .player = (uint8_t)id});
}

void match_player_hold(match *m, int id, uint32_t ticks)
{
    match_player *p = &m->players[id];
    p->owner = 0;
    p->held_until = m->world.tick + (ticks ? ticks : 1);
}

int match_player_find(const match *m, const uint8_t resume[PROTO_RESUME_LEN])
{
    for (int id = 0; id < m->cfg.size; id++) {
        const match_player *p = &m->players[id];
        if (!p->used || p->npc)
            continue;
        uint8_t d = 0; /* constant time: no hint where a guess first differs */
        for (int i = 0; i < PROTO_RESUME_LEN; i++)
            d |= (uint8_t)(p->resume[i] ^ resume[i]);
        if (d == 0)
            return id;
    }
    return -1;
}

void match_player_resume(match *m, int id, uint32_t owner)
{
    match_player *p = &m->players[id];
    p->owner = owner;
    p->held_until = 0;
    p->acked_tick = 0; /* the new connection has no snapshot yet */
    if (p->events_acked + 1 < m->ev_first)
        p->events_acked = m->ev_first - 1; /* away too long: what it missed is gone */
}

int match_player_input(match *m, int id, const proto_input_msg *msg, const char **why)
{
    match_player *p = &m->players[id];
    if (msg->ack_tick > match_latest_snapshot_tick(m)) {
        *why = "ack of a snapshot that was never sent";
        return -1;
    }
    if (msg->event_ack >= m->ev_next) {
        *why = "ack of an event that was never sent";
        return -1;
    }
    if (msg->ack_tick > p->acked_tick)
        p->acked_tick = msg->ack_tick;
    if (msg->event_ack > p->events_acked)
        p->events_acked = msg->event_ack;
    if (msg->first_seq > p->last_received + 1) {
        *why = "input seq gap";
        return -1;
    }
    for (uint32_t i = 0; i < msg->count; i++) {
        uint32_t seq = msg->first_seq + i;
        if (seq <= p->last_received) {
            m->stats.inputs_ignored++;
            continue;
        }
        if (seq - p->last_applied > MATCH_INPUT_BUF) {
            /* The client runs ahead of real time: drop its oldest step. */
            p->last_applied++;
            p->inputs_dropped++;
        }
        p->buf[seq % MATCH_INPUT_BUF] = msg->in[i];
        p->last_received = seq;
    }
    return 0;
}

/* Computer players wander: a random direction held ~0.8 s, aim sweeping. */
static void npc_think(match *m, int id)
{
    match_player *p = &m->players[id];
    if (p->npc_ticks_left == 0) {
        uint64_t r = sim_rand_next(&p->npc_rng);
        static const uint8_t dirs[9] = {0, SIM_BTN_UP, SIM_BTN_DOWN, SIM_BTN_LEFT, SIM_BTN_RIGHT,
                                        SIM_BTN_UP | SIM_BTN_LEFT, SIM_BTN_UP | SIM_BTN_RIGHT,
                                        SIM_BTN_DOWN | SIM_BTN_LEFT, SIM_BTN_DOWN | SIM_BTN_RIGHT};
        p->buf[0].buttons = (uint8_t)(dirs[1 + r % 8] | ((r >> 8) % 5 == 0 ? SIM_BTN_FIRE : 0));
        p->npc_aim_rate = (int16_t)((int)((r >> 16) % 1024) - 512);
        p->npc_ticks_left = (uint16_t)(m->cfg.tick_rate * 6 / 10 + (r >> 32) % (m->cfg.tick_rate * 4 / 10 + 1));
    }
    p->npc_ticks_left--;
    p->buf[0].aim = (uint16_t)(p->buf[0].aim + p->npc_aim_rate);
    m->step_inputs.count[id] = 1;
    m->step_inputs.in[id][0] = p->buf[0];
}

/* The quantized world now, as the wire carries it. */
static void fill_snapshot(const match *m, proto_snapshot *s)
{
    s->tick = m->world.tick;
    s->ms = m->state;
    /* Slots past the match size are never used: they stay zero from the
     * calloc in match_create. */
    for (int id = 0; id < m->cfg.size; id++) {
        s->present[id] = m->players[id].used;
        s->gen[id] = m->players[id].gen;
        if (s->present[id]) {
            sim_player_to_net(&m->world.players[id], &s->ent[id]);
            if (m->players[id].held_until)
                s->ent[id].flags |= SIM_FLAG_DISCONNECTED;
        } else
            memset(&s->ent[id], 0, sizeof s->ent[id]);
    }
}

static void take_snapshot(match *m)
{
    m->ring_head = (m->ring_head + 1) % MATCH_RING;
    fill_snapshot(m, &m->ring[m->ring_head]);
    m->ncache = 0;
    m->cache_used = 0;
}

/* ---- events --------------------------------------------------------------- */

void match_event_push(match *m, const proto_event *e)
{
    uint8_t tmp[PROTO_MAX_EVENT];
    size_t n = proto_event_write(e, tmp, sizeof tmp);
    if (n == 0)
        return; /* cannot happen: every caller builds a valid event */
    /* An event's bytes never wrap: skip the pool's tail instead. */
    uint32_t off = m->ev_pool_head;
    if (off + n > MATCH_EVENT_POOL)
        off = 0;
    /* Evict whatever the new bytes overwrite, and the oldest if the log is full. */
    while (m->ev_first < m->ev_next) {
        const match_event_ref *old = &m->ev[m->ev_first % MATCH_EVENTS];
        int full = m->ev_next - m->ev_first >= MATCH_EVENTS;
        int overlap = old->off < off + n && off < old->off + old->len;
        if (!full && !overlap)
            break;
        m->ev_first++;
    }
    memcpy(m->ev_pool + off, tmp, n);
    m->ev[m->ev_next % MATCH_EVENTS] = (match_event_ref){off, (uint16_t)n, m->world.tick};
    m->ev_next++;
    m->ev_pool_head = off + (uint32_t)n;
}

int match_player_events_behind(const match *m, int id)
{
    return m->players[id].events_acked + 1 < m->ev_first;
}

/* An events section with the events from seq `from` (at least
 * m->ev_first) to end - 1, oldest first, up to PROTO_MAX_EVENT_BYTES
 * (always at least one). *last is the newest seq it carries (from - 1:
 * none). */
static size_t write_event_range(match *m, uint32_t from, uint32_t end, uint8_t *buf, size_t cap, uint32_t *last)
{
    size_t off = 5, bytes = 0;
    uint32_t count = 0;
    for (uint32_t seq = from; seq < end && count < 255; seq++) {
        const match_event_ref *r = &m->ev[seq % MATCH_EVENTS];
        if ((count && bytes + r->len > PROTO_MAX_EVENT_BYTES) || off + r->len > cap) {
            m->stats.events_clipped++;
            break;
        }
        memcpy(buf + off, m->ev_pool + r->off, r->len);
        off += r->len;
        bytes += r->len;
        count++;
    }
    *last = from + count - 1;
    if (proto_events_header_write((uint8_t)count, from, buf, cap) == 1)
        return 1;
    return count ? off : 0;
}

/* The events section for player id: the events neither acknowledged nor
 * written on this connection. *last is the newest seq it carries. */
static size_t write_events(match *m, const match_player *p, const match_cursor *cur, uint8_t *buf, size_t cap,
                           uint32_t *last)
{
    uint32_t done = cur->event_seq > p->events_acked ? cur->event_seq : p->events_acked;
    uint32_t from = done + 1 < m->ev_first ? m->ev_first : done + 1;
    size_t n = write_event_range(m, from, m->ev_next, buf, cap, last);
    if (*last == from - 1)
        *last = done; /* none written */
    return n;
}

/* ---- chat -------------------------------------------------------------------- */

int match_player_chat(match *m, int id, char *text, size_t len)
{
    match_player *p = &m->players[id];
    uint32_t per = m->cfg.tick_rate / MATCH_CHAT_PER_S;
    uint32_t earned = (m->world.tick - p->chat_tick) / (per ? per : 1);
    if (earned) {
        uint32_t t = p->chat_tokens + earned;
        p->chat_tokens = (uint8_t)(t > MATCH_CHAT_BURST ? MATCH_CHAT_BURST : t);
        p->chat_tick += earned * (per ? per : 1);
    }
    if (p->chat_tokens == 0) {
        m->stats.chat_dropped++;
        return ++p->chat_strikes >= MATCH_CHAT_FLOOD ? MATCH_CHAT_FLOOD_CLOSE : MATCH_CHAT_DROPPED;
    }
    len = proto_chat_clean(text, len);
    if (len == 0)
        return MATCH_CHAT_EMPTY;
    p->chat_tokens--;
    p->chat_strikes = 0;
    m->stats.chat_in++;
    proto_event e = {.type = PROTO_EV_CHAT, .player = (uint8_t)id, .len = (uint16_t)len};
    memcpy(e.text, text, len + 1);
    match_event_push(m, &e);
    return MATCH_CHAT_SENT;
}

/* ---- rounds --------------------------------------------------------------------- */

static int players_in(const match *m)
{
    int n = 0;
    for (int id = 0; id < m->cfg.size; id++)
        n += m->players[id].used && !m->players[id].held_until;
    return n;
}

static void round_start(match *m)
{
    m->state.round++;
    m->state.phase = PROTO_PHASE_LIVE;
    m->state.end_tick = m->world.tick + m->cfg.match_ticks;
    m->round_start_tick = m->world.tick;
    m->world.combat = 1;
    sim_world_reset_round(&m->world);
    m->stats.rounds++;
    match_event_push(m, &(proto_event){.type = PROTO_EV_ROUND_START, .round = m->state.round});
}

/* The player with the top score (the lowest id on a tie), 255 when nobody scored. */
static uint8_t round_winner(const match *m)
{
    int best = -1;
    for (int id = 0; id < m->cfg.size; id++)
        if (m->players[id].used && m->world.players[id].score > 0 &&
            (best < 0 || m->world.players[id].score > m->world.players[best].score))
            best = id;
    return best < 0 ? 255 : (uint8_t)best;
}

void match_end_round(match *m, int reason)
{
    if (m->state.phase != PROTO_PHASE_LIVE)
        return;
    if (m->cfg.on_round_end)
        m->cfg.on_round_end(m->cfg.user, m, reason);
    match_event_push(m, &(proto_event){.type = PROTO_EV_ROUND_END, .round = m->state.round,
                                        .reason = (uint8_t)reason, .other = round_winner(m)});
    m->state.phase = PROTO_PHASE_ENDED;
    m->state.end_tick = m->world.tick + m->cfg.intermission_ticks;
    m->world.combat = 0;
}

static void round_update(match *m)
{
    proto_match_state *st = &m->state;
    uint32_t now = m->world.tick;
    if (st->phase == PROTO_PHASE_WARMUP) {
        if (players_in(m) >= m->cfg.min_players)
            round_start(m);
    } else if (st->phase == PROTO_PHASE_LIVE) {
        if (now >= st->end_tick)
            match_end_round(m, PROTO_END_TIME);
        else if (m->cfg.score_limit > 0)
            for (int i = 0; i < m->world.nhits; i++)
                if (m->world.players[m->world.hits[i].shooter].score >= m->cfg.score_limit) {
                    match_end_round(m, PROTO_END_SCORE);
                    break;
                }
    } else if (now >= st->end_tick) {
        if (players_in(m) >= m->cfg.min_players) {
            round_start(m);
        } else {
            st->phase = PROTO_PHASE_WARMUP;
            st->end_tick = 0;
            m->world.combat = 1;
        }
    }
}

void match_credit(match *m, uint32_t ticks)
{
    for (int id = 0; id < m->cfg.size; id++) {
        match_player *p = &m->players[id];
        if (!p->used || p->npc || p->held_until)
            continue;
        p->credit = ticks >= MATCH_MAX_CREDIT - p->credit ? MATCH_MAX_CREDIT : p->credit + ticks;
    }
}

uint32_t match_player_backlog(const match *m, int id)
{
    const match_player *p = &m->players[id];
    return p->last_received - p->last_applied;
}

static void take_spec_view(match *m);

int match_tick(match *m)
{
    sim_tick_inputs *in = &m->step_inputs;
    m->spec_new_view = 0;
    for (int id = 0; id < m->cfg.size; id++) {
        match_player *p = &m->players[id];
        in->count[id] = 0;
        if (!p->used)
            continue;
        if (p->npc) {
            npc_think(m, id);
            continue;
        }
        if (p->credit < MATCH_MAX_CREDIT)
            p->credit++;
        if (p->held_until) {
            /* Disconnected: not advancing, until it resumes or expires. */
            if (m->world.tick + 1 >= p->held_until) {
                match_player_leave(m, id);
                m->expired_holds++;
            }
            continue;
        }
        uint32_t n = p->last_received - p->last_applied;
        if (n > p->credit)
            n = p->credit;
        if (n > SIM_MAX_STEPS_PER_TICK)
            n = SIM_MAX_STEPS_PER_TICK;
        for (uint32_t k = 0; k < n; k++)
            in->in[id][k] = p->buf[(p->last_applied + 1 + k) % MATCH_INPUT_BUF];
        in->count[id] = (uint8_t)n;
        p->last_applied += n;
        p->credit -= n;
        m->stats.inputs_applied += n;
    }
    sim_world_step(&m->world, in);
    for (int i = 0; i < m->world.nhits; i++) {
        const sim_hit *h = &m->world.hits[i];
        if (h->killed) {
            m->stats.kills++;
            match_event_push(m, &(proto_event){.type = PROTO_EV_KILL, .player = h->shooter, .other = h->target});
        }
    }
    round_update(m);
    if (m->spec_views && m->world.tick % m->cfg.spec_interval == 0)
        take_spec_view(m);
    if (m->world.tick % m->snap_interval != 0)
        return 0;
    take_snapshot(m);
    return 1;
}

uint32_t match_latest_snapshot_tick(const match *m)
{
    return m->ring_head < 0 ? 0 : m->ring[m->ring_head].tick;
}

size_t match_welcome(const match *m, int id, int resumed, uint8_t *buf, size_t cap)
{
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = (uint16_t)id;
    w.tick_rate = m->cfg.tick_rate;
    w.snapshot_rate = m->cfg.snapshot_rate;
    w.match_id = m->id;
    w.max_players = (uint16_t)m->cfg.size;
    w.server_tick = m->world.tick;
    w.map = m->world.map;
    memcpy(w.resume, m->players[id].resume, PROTO_RESUME_LEN);
    w.resumed = (uint8_t)(resumed != 0);
    return proto_welcome_write(&w, buf, cap);
}

static const proto_snapshot *ring_find(const match *m, uint32_t tick)
{
    if (tick == 0)
        return NULL;
    for (int i = 0; i < MATCH_RING; i++)
        if (m->ring[i].tick == tick)
            return &m->ring[i];
    return NULL;
}

/* The body for `base` -> newest, from the cache or freshly encoded into it. */
static const uint8_t *body_for(match *m, const proto_snapshot *base, size_t *len)
{
    uint32_t baseline = base ? base->tick : 0;
    for (int i = 0; i < m->ncache; i++) {
        if (m->cache[i].baseline == baseline) {
            m->stats.encode_hits++;
            *len = m->cache[i].len;
            return m->cache_buf + m->cache[i].off;
        }
    }
    const proto_snapshot *cur = &m->ring[m->ring_head];
    uint8_t *out = m->cache_buf + m->cache_used;
    size_t n = proto_snapshot_body_write(base, cur, &m->names, m->cfg.tick_rate, out,
                                         m->cache_cap - m->cache_used);
    if (n == 0 || m->ncache == MATCH_RING)
        return NULL; /* cannot happen with the cache sized for the match */
    m->cache[m->ncache++] = (match_body){baseline, (uint32_t)m->cache_used, (uint32_t)n};
    m->cache_used += n;
    m->stats.encodes++;
    *len = n;
    return out;
}

/* The snapshot of `tick` if it can be a baseline for `now`: still in the
 * ring, older than `now` and within the header's 8-bit baseline delta. */
static const proto_snapshot *usable_baseline(const match *m, uint32_t tick, uint32_t now)
{
    if (tick == 0 || tick >= now || now - tick > 255)
        return NULL;
    return ring_find(m, tick);
}

size_t match_snapshot(match *m, int id, match_cursor *conn, uint8_t *buf, size_t cap, int *full)
{
    if (m->ring_head < 0)
        return 0;
    const match_player *p = &m->players[id];
    const proto_snapshot *cur = &m->ring[m->ring_head];
    /* The last snapshot written on this connection is the client's newest
     * (it is on its way); the acknowledged one is the fallback (a resumed
     * connection has written nothing yet). Else a full snapshot. */
    const proto_snapshot *base = usable_baseline(m, conn->snap_tick, cur->tick);
    if (!base)
        base = usable_baseline(m, p->acked_tick, cur->tick);
    size_t blen;
    const uint8_t *body = body_for(m, base, &blen);
    if (!body)
        return 0;
    proto_snapshot_header h = {cur->tick, base ? base->tick : 0, p->last_applied};
    size_t hlen = proto_snapshot_header_write(&h, buf, cap);
    if (hlen == 0)
        return 0;
    uint32_t last_event;
    size_t elen = write_events(m, p, conn, buf + hlen, cap - hlen, &last_event);
    if (elen == 0 || hlen + elen + blen > cap)
        return 0;
    memcpy(buf + hlen + elen, body, blen);
    conn->snap_tick = cur->tick;
    conn->event_seq = last_event;
    *full = base == NULL;
    if (*full)
        m->stats.full_snapshots++;
    return hlen + elen + blen;
}

/* ---- spectators ------------------------------------------------------------- */

int match_spectate_prepare(match *m)
{
    if (m->spec_views)
        return 0;
    uint32_t delay_views = m->cfg.spec_delay_ticks / m->cfg.spec_interval;
    m->spec_cap = delay_views + MATCH_SPEC_WINDOW + 1;
    m->spec_views = calloc(m->spec_cap, sizeof *m->spec_views);
    m->spec_buf = malloc((size_t)MATCH_SPEC_CACHE * PROTO_MAX_SNAPSHOT);
    if (!m->spec_views || !m->spec_buf) {
        free(m->spec_views);
        free(m->spec_buf);
        m->spec_views = NULL;
        m->spec_buf = NULL;
        return -1;
    }
    m->spec_taken = 0;
    m->spec_view = -1;
    /* Spectators see the events from now on, not the log's history. */
    m->spec_ev_end = m->ev_next;
    return 0;
}

/* Every cfg.spec_interval ticks: a new view into the ring; the one sent
 * is spec_delay_ticks older. The events that happened by its tick are
 * those before spec_ev_end (ticks only grow with seqs); events evicted
 * from the log before the view reached them are skipped (a spectator that
 * needed them is behind). Resets the message cache. O(players + events
 * since the previous view). */
static void take_spec_view(match *m)
{
    match_spec_view *v = &m->spec_views[m->spec_taken % m->spec_cap];
    fill_snapshot(m, &v->snap);
    v->names = m->names;
    m->spec_taken++;
    uint32_t delay_views = m->cfg.spec_delay_ticks / m->cfg.spec_interval;
    if (m->spec_taken <= delay_views)
        return; /* younger than the delay: nothing to show yet */
    m->spec_view = (int)((m->spec_taken - 1 - delay_views) % m->spec_cap);
    m->spec_new_view = 1;
    if (!m->spec_since)
        m->spec_since = m->world.tick;
    m->nspec_msgs = 0;
    uint32_t tick = m->spec_views[m->spec_view].snap.tick;
    if (m->spec_ev_end < m->ev_first)
        m->spec_ev_end = m->ev_first;
    while (m->spec_ev_end < m->ev_next && m->ev[m->spec_ev_end % MATCH_EVENTS].tick <= tick)
        m->spec_ev_end++;
}

uint32_t match_spectator_view_tick(const match *m)
{
    return m->spec_view < 0 ? 0 : m->spec_views[m->spec_view].snap.tick;
}

size_t match_spectator_welcome(const match *m, uint8_t *buf, size_t cap)
{
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = PROTO_SPECTATOR_ID;
    w.tick_rate = m->cfg.tick_rate;
    w.snapshot_rate = (uint16_t)(m->cfg.tick_rate / m->cfg.spec_interval);
    w.match_id = m->id;
    w.max_players = (uint16_t)m->cfg.size;
    w.server_tick = m->world.tick > m->cfg.spec_delay_ticks ? m->world.tick - m->cfg.spec_delay_ticks : 0;
    w.map = m->world.map;
    w.spectator = 1;
    return proto_welcome_write(&w, buf, cap);
}

match_cursor match_spectator_cursor(const match *m)
{
    return (match_cursor){0, m->spec_ev_end - 1};
}

int match_spectator_events_behind(const match *m, const match_cursor *cur)
{
    return cur->event_seq + 1 < m->ev_first;
}

/* The view of `tick` if it can be a baseline for the current view: one of
 * the MATCH_SPEC_WINDOW before it, at most 255 ticks older. */
static const proto_snapshot *spec_baseline(const match *m, uint32_t tick)
{
    const proto_snapshot *cur = &m->spec_views[m->spec_view].snap;
    if (tick == 0 || tick >= cur->tick || cur->tick - tick > 255)
        return NULL;
    for (uint32_t back = 1; back <= MATCH_SPEC_WINDOW && back < m->spec_cap; back++) {
        const match_spec_view *v = &m->spec_views[((uint32_t)m->spec_view + m->spec_cap - back) % m->spec_cap];
        if (v->snap.tick == tick)
            return &v->snap;
    }
    return NULL;
}

/* Encodes the current view for a spectator at `cur` into buf. */
static size_t spec_encode(match *m, const proto_snapshot *base, uint32_t first, uint8_t *buf, size_t cap,
                          uint32_t *last)
{
    const match_spec_view *v = &m->spec_views[m->spec_view];
    proto_snapshot_header h = {v->snap.tick, base ? base->tick : 0, 0};
    size_t hlen = proto_snapshot_header_write(&h, buf, cap);
    if (hlen == 0)
        return 0;
    size_t elen = write_event_range(m, first, m->spec_ev_end, buf + hlen, cap - hlen, last);
    if (elen == 0)
        return 0;
    size_t blen = proto_snapshot_body_write(base, &v->snap, &v->names, m->cfg.tick_rate, buf + hlen + elen,
                                            cap - hlen - elen);
    if (blen == 0)
        return 0;
    m->stats.spec_encodes++;
    return hlen + elen + blen;
}

size_t match_spectator_snapshot(match *m, match_cursor *cur, uint8_t *buf, size_t cap, int *full, int *shared)
{
    uint32_t tick = match_spectator_view_tick(m);
    if (!tick || tick == cur->snap_tick || !m->spec_buf)
        return 0;
    const proto_snapshot *base = spec_baseline(m, cur->snap_tick);
    uint32_t baseline = base ? base->tick : 0;
    uint32_t first = cur->event_seq + 1 < m->ev_first ? m->ev_first : cur->event_seq + 1;
    size_t n = 0;
    uint32_t last = first - 1;
    *shared = 0;
    for (int i = 0; i < m->nspec_msgs; i++) {
        const match_spec_msg *c = &m->spec_msgs[i];
        if (c->baseline == baseline && c->first_event == first) {
            if (c->len > cap)
                return 0;
            memcpy(buf, m->spec_buf + (size_t)i * PROTO_MAX_SNAPSHOT, c->len);
            n = c->len;
            last = c->last_event;
            *shared = 1;
            m->stats.spec_shared++;
            break;
        }
    }
    if (!n && m->nspec_msgs < MATCH_SPEC_CACHE) {
        /* Encode into the cache, then copy: the next spectator with this
         * cursor gets the same bytes without an encode. */
        int i = m->nspec_msgs;
        uint8_t *slot = m->spec_buf + (size_t)i * PROTO_MAX_SNAPSHOT;
        size_t len = spec_encode(m, base, first, slot, PROTO_MAX_SNAPSHOT, &last);
        if (len == 0 || len > cap)
            return 0;
        m->spec_msgs[i] = (match_spec_msg){baseline, first, last, (uint32_t)len};
        m->nspec_msgs++;
        memcpy(buf, slot, len);
        n = len;
    } else if (!n) {
        /* An unusual cursor with the cache full: encoded for it alone. */
        n = spec_encode(m, base, first, buf, cap, &last);
        if (n == 0)
            return 0;
    }
    cur->snap_tick = tick;
    cur->event_seq = last;
    *full = base == NULL;
    return n;
}
