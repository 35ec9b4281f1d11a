/* match: see match.h. */
#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder.h"

/* The body cache and, with interest management, its grid and scratch
 * snapshots: all the memory snapshots need, allocated once. Without it
 * one body per baseline (MATCH_RING); with it one per client and
 * baseline, so up to cfg.size + MATCH_RING. */
static int snapshots_alloc(match *m)
{
    const match_config *k = &m->cfg;
    m->cache_slots = MATCH_RING;
    if (k->aoi_radius) {
        uint32_t r = k->aoi_radius, min_cell = (r + 15) / 16;
        uint32_t cell = k->aoi_cell ? k->aoi_cell : r;
        cell = cell < min_cell ? min_cell : cell;
        m->cfg.aoi_cell = (uint16_t)cell;
        m->aoi_cols = (m->world.map.width + cell - 1) / cell;
        m->aoi_rows = (m->world.map.height + cell - 1) / cell;
        m->aoi_cols += !m->aoi_cols;
        m->aoi_rows += !m->aoi_rows;
        /* Cells dx, dy apart: the gap between them is (dx - 1, dy - 1)
         * cells (0 when neighbours); in view when shorter than R. */
        uint32_t n = m->aoi_reach_n = (r + cell - 1) / cell + 1;
        m->aoi_reach = malloc((size_t)n * n);
        m->aoi_cells = malloc((size_t)MATCH_RING * SIM_MAX_PLAYERS * sizeof *m->aoi_cells);
        m->cache_slots += k->size;
        m->aoi_scratch = malloc(2 * sizeof *m->aoi_scratch);
        m->uncached_body = malloc(PROTO_MAX_SNAPSHOT_BODY);
        if (!m->aoi_reach || !m->aoi_cells || !m->aoi_scratch || !m->uncached_body)
            return -1;
        for (uint32_t dx = 0; dx < n; dx++)
            for (uint32_t dy = 0; dy < n; dy++) {
                uint64_t gx = dx ? (dx - 1) * (uint64_t)cell : 0, gy = dy ? (dy - 1) * (uint64_t)cell : 0;
                m->aoi_reach[dx * n + dy] = gx * gx + gy * gy < (uint64_t)r * r;
            }
    }
    m->cache_cap = (size_t)m->cache_slots * (size_t)(1 + k->size * 32);
    m->cache_buf = malloc(m->cache_cap);
    m->cache = calloc((size_t)m->cache_slots, sizeof *m->cache);
    return m->cache_buf && m->cache ? 0 : -1;
}

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
    sim_world_init(&m->world, map, cfg->tick_rate, cfg->seed ^ ((uint64_t)id << 48));
    if (snapshots_alloc(m) < 0)
        goto err;
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
    if (m->rec)
        recorder_round_end(m->rec, &m->world, m->names.name, PROTO_END_INTERRUPTED);
    free(m->cache_buf);
    free(m->spec_views);
    free(m->spec_buf);
    free(m->cache);
    free(m->aoi_scratch);
    free(m->aoi_reach);
    free(m->aoi_cells);
    free(m->uncached_body);
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
        if (m->rec)
            recorder_spawn(m->rec, id, p->joins, m->names.name[id]);
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
    if (m->rec)
        recorder_remove(m->rec, id);
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

static void aoi_index(match *m);

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
    aoi_index(m);
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
    if (m->cfg.recorder)
        m->rec = recorder_round_begin(m->cfg.recorder, m->id, m->label, m->state.round, &m->world, m->names.name);
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
    if (m->rec) {
        recorder_round_end(m->rec, &m->world, m->names.name, reason);
        m->rec = NULL;
    }
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
    if (m->rec)
        recorder_tick(m->rec, &m->world, in, m->names.name);
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

/* ---- interest management ---------------------------------------------------- */

static void aoi_cell_of(const match *m, const sim_netent *e, uint32_t *cx, uint32_t *cy)
{
    uint32_t cell = m->cfg.aoi_cell;
    uint32_t x = ((uint32_t)e->x >> SIM_POS_FRAC_BITS) / cell, y = ((uint32_t)e->y >> SIM_POS_FRAC_BITS) / cell;
    *cx = x < m->aoi_cols ? x : m->aoi_cols - 1;
    *cy = y < m->aoi_rows ? y : m->aoi_rows - 1;
}

static int aoi_cells_see(const match *m, uint32_t ax, uint32_t ay, uint32_t ex, uint32_t ey)
{
    uint32_t dx = ex > ax ? ex - ax : ax - ex, dy = ey > ay ? ey - ay : ay - ey, n = m->aoi_reach_n;
    return dx < n && dy < n && m->aoi_reach[dx * n + dy];
}

/* Each entity's cell in the newest snapshot, for the filters: O(players)
 * per snapshot instead of divisions per entity per encode. */
static void aoi_index(match *m)
{
    if (!m->cfg.aoi_radius)
        return;
    const proto_snapshot *s = &m->ring[m->ring_head];
    uint16_t (*cells)[2] = &m->aoi_cells[m->ring_head * SIM_MAX_PLAYERS];
    for (int id = 0; id < m->cfg.size; id++) {
        uint32_t cx = 0, cy = 0;
        if (s->present[id])
            aoi_cell_of(m, &s->ent[id], &cx, &cy);
        cells[id][0] = (uint16_t)cx;
        cells[id][1] = (uint16_t)cy;
    }
}

/* match_aoi_filter of a ring snapshot, with its cells from aoi_index,
 * into scratch snapshot k (s itself for MATCH_VIEW_ALL). */
static const proto_snapshot *aoi_filter_ring(match *m, const proto_snapshot *s, uint32_t v, int k)
{
    if (v == MATCH_VIEW_ALL)
        return s;
    proto_snapshot *dst = &m->aoi_scratch[k];
    const uint16_t (*cells)[2] = &m->aoi_cells[(s - m->ring) * SIM_MAX_PLAYERS];
    uint32_t ax = (v - 1) % m->aoi_cols, ay = (v - 1) / m->aoi_cols;
    dst->tick = s->tick;
    dst->ms = s->ms;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        if (id < m->cfg.size && s->present[id] && aoi_cells_see(m, ax, ay, cells[id][0], cells[id][1])) {
            dst->present[id] = 1;
            dst->gen[id] = s->gen[id];
            dst->ent[id] = s->ent[id];
        } else {
            dst->present[id] = 0;
            dst->gen[id] = 0;
        }
    }
    return dst;
}

uint32_t match_aoi_view(const match *m, const sim_netent *e)
{
    if (!m->cfg.aoi_radius)
        return MATCH_VIEW_ALL;
    uint32_t cx, cy;
    aoi_cell_of(m, e, &cx, &cy);
    return 1 + cy * m->aoi_cols + cx;
}

/* In view: the gap between the two cells (0 along an axis where they are
 * neighbours or the same) is shorter than the radius. */
int match_aoi_in_view(const match *m, uint32_t v, const sim_netent *e)
{
    if (v == MATCH_VIEW_ALL)
        return 1;
    uint32_t ex, ey;
    aoi_cell_of(m, e, &ex, &ey);
    return aoi_cells_see(m, (v - 1) % m->aoi_cols, (v - 1) / m->aoi_cols, ex, ey);
}

void match_aoi_filter(const match *m, const proto_snapshot *src, uint32_t v, proto_snapshot *dst)
{
    if (dst != src)
        *dst = *src;
    for (int id = 0; id < m->cfg.size; id++)
        if (dst->present[id] && !match_aoi_in_view(m, v, &dst->ent[id])) {
            dst->present[id] = 0;
            dst->gen[id] = 0;
            memset(&dst->ent[id], 0, sizeof dst->ent[id]);
        }
}

/* ---- snapshots ---------------------------------------------------------------- */

/* The body for `base` (as view base_view saw it) -> newest (as `view`
 * sees it), from the cache or freshly encoded into it; past the cache's
 * room, into the scratch body (valid until the next call). */
static const uint8_t *body_for(match *m, const proto_snapshot *base, uint32_t base_view, uint32_t view, size_t *len)
{
    uint32_t baseline = base ? base->tick : 0;
    for (int i = 0; i < m->ncache; i++) {
        const match_body *b = &m->cache[i];
        if (b->baseline == baseline && b->view == view && b->base_view == base_view) {
            m->stats.encode_hits++;
            *len = b->len;
            return m->cache_buf + b->off;
        }
    }
    const proto_snapshot *cur = &m->ring[m->ring_head];
    cur = aoi_filter_ring(m, cur, view, 0);
    if (base)
        base = aoi_filter_ring(m, base, base_view, 1);
    m->stats.encodes++;
    uint8_t *out = m->cache_buf + m->cache_used;
    size_t n = m->ncache < m->cache_slots
                   ? proto_snapshot_body_write(base, cur, &m->names, m->cfg.tick_rate, out, m->cache_cap - m->cache_used)
                   : 0;
    if (n) {
        m->cache[m->ncache++] = (match_body){baseline, view, base_view, (uint32_t)m->cache_used, (uint32_t)n};
        m->cache_used += n;
        *len = n;
        return out;
    }
    if (!m->uncached_body)
        return NULL; /* cannot happen without interest management: the cache is sized for the match */
    n = proto_snapshot_body_write(base, cur, &m->names, m->cfg.tick_rate, m->uncached_body, PROTO_MAX_SNAPSHOT_BODY);
    if (n == 0)
        return NULL;
    m->stats.encodes_uncached++;
    *len = n;
    return m->uncached_body;
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
    uint32_t base_view = conn->view;
    if (!base && !m->cfg.aoi_radius) {
        base = usable_baseline(m, p->acked_tick, cur->tick);
        base_view = MATCH_VIEW_ALL;
    }
    /* Interest management: a delta is filtered for the client's cell, a
     * full snapshot is not (it brings the roster's names). */
    uint32_t view = base ? match_aoi_view(m, &cur->ent[id]) : MATCH_VIEW_ALL;
    if (!base)
        base_view = MATCH_VIEW_ALL;
    size_t blen;
    const uint8_t *body = body_for(m, base, base_view, view, &blen);
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
    conn->view = view;
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
    return (match_cursor){0, m->spec_ev_end - 1, MATCH_VIEW_ALL}; /* spectators see the whole match */
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
