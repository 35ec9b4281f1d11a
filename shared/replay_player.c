/* replay_player: see replay_player.h. A thin layer over replay_fmt's
 * reader: it groups records into ticks (the operations before a step, the
 * step, what follows it), turns hits and joins into events, and seeks
 * through the keyframe index. */
#include "replay_player.h"

#include <string.h>

static void event_push(replay_player *p, const replay_event *e)
{
    if (p->ev_n == REPLAY_PLAYER_EVENTS) {
        p->ev_head = (p->ev_head + 1) % REPLAY_PLAYER_EVENTS;
        p->ev_n--;
        p->ev_lost++;
    }
    p->ev[(p->ev_head + p->ev_n) % REPLAY_PLAYER_EVENTS] = *e;
    p->ev_n++;
}

int replay_player_next_event(replay_player *p, replay_event *out)
{
    if (!p->ev_n)
        return 0;
    *out = p->ev[p->ev_head];
    p->ev_head = (p->ev_head + 1) % REPLAY_PLAYER_EVENTS;
    p->ev_n--;
    return 1;
}

static void remember_positions(replay_player *p)
{
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!p->world.active[id])
            continue;
        p->prev_pos[id][0] = p->world.players[id].pos[0];
        p->prev_pos[id][1] = p->world.players[id].pos[1];
        p->prev_life[id] = p->world.players[id].life;
    }
}

/* One record: a divergence is noted and read past, joins and leaves and
 * hits become events. REPLAY_BAD only for a file that cannot go on. */
static int record(replay_player *p, int *type)
{
    uint8_t was[SIM_MAX_PLAYERS];
    uint8_t t = p->r.pos < p->r.end ? p->r.data[p->r.pos] : 0;
    if (t == REPLAY_REC_SPAWN || t == REPLAY_REC_REMOVE)
        memcpy(was, p->world.active, sizeof was);
    int rc = replay_next(&p->r, type);
    if (rc == REPLAY_BAD) {
        p->bad = 1;
        if (*type == REPLAY_REC_END && p->r.ended)
            p->ended = 1; /* played to its end; only the checksum failed (r.err) */
        return REPLAY_BAD;
    }
    if (*type == REPLAY_REC_END)
        p->ended = 1; /* also when its scores diverged (the reader then leaves r.ended unset) */
    if (rc == REPLAY_DIVERGED) {
        if (!p->diverged)
            p->diff = p->r.diff;
        p->diverged = 1;
    } else if (*type == REPLAY_REC_HASH || (*type == REPLAY_REC_KEYFRAME && !p->r.load_keyframes)) {
        p->checked++;
    }
    if (*type == REPLAY_REC_SPAWN || *type == REPLAY_REC_REMOVE) {
        for (int id = 0; id < SIM_MAX_PLAYERS; id++)
            if (was[id] != p->world.active[id])
                event_push(p, &(replay_event){p->world.tick, p->world.active[id] ? REPLAY_EV_JOIN : REPLAY_EV_LEAVE,
                                              (uint8_t)id, 0, 0, 0});
    }
    if (*type == REPLAY_REC_TICK) {
        p->steps++;
        for (int i = 0; i < p->world.nhits; i++) {
            const sim_hit *h = &p->world.hits[i];
            event_push(p, &(replay_event){p->world.tick, REPLAY_EV_HIT, h->shooter, h->target, h->damage, h->killed});
        }
    }
    return REPLAY_OK;
}

int replay_player_step(replay_player *p)
{
    if (p->ended || p->bad)
        return REPLAY_BAD;
    remember_positions(p);
    int type = 0;
    while (type != REPLAY_REC_TICK) {
        if (record(p, &type) != REPLAY_OK || p->ended)
            return REPLAY_BAD;
    }
    /* What follows the step: its hash, its keyframe, the end. */
    while (p->r.pos < p->r.end && !p->ended) {
        uint8_t t = p->r.data[p->r.pos];
        if (t != REPLAY_REC_HASH && t != REPLAY_REC_KEYFRAME && t != REPLAY_REC_END)
            break;
        if (record(p, &type) != REPLAY_OK)
            break; /* p->bad: the step itself stands */
    }
    return REPLAY_OK;
}

int replay_player_open(replay_player *p, const uint8_t *data, size_t len)
{
    memset(p, 0, offsetof(replay_player, world));
    p->ev_head = p->ev_n = p->ev_lost = 0;
    p->checked = 0;
    p->diverged = p->ended = p->bad = 0;
    p->steps = 0;
    if (replay_open(&p->r, data, len, &p->world, &p->inputs) != REPLAY_OK)
        return REPLAY_BAD;
    p->first_offset = p->r.pos;
    p->nindex = replay_index_read(&p->r, p->index, REPLAY_PLAYER_MAX_INDEX);
    replay_info info;
    memset(&info, 0, sizeof info);
    p->top_id = -1;
    if (p->r.end_offset && replay_info_end(data + p->r.end_offset, p->r.end - p->r.end_offset, &info) == REPLAY_OK) {
        p->end_tick = info.end_tick;
        p->end_reason = info.end_reason;
        p->top_id = info.nplayers > 0 ? info.top.id : -1;
    }
    int type;
    if (record(p, &type) != REPLAY_OK)
        return REPLAY_BAD;
    p->checked = 0; /* the first keyframe was loaded, not checked */
    p->start_tick = p->world.tick;
    if (p->end_tick < p->start_tick)
        p->end_tick = p->start_tick;
    remember_positions(p);
    return REPLAY_OK;
}

int replay_player_seek(replay_player *p, uint32_t tick)
{
    if (tick < p->start_tick)
        tick = p->start_tick;
    if (tick > p->end_tick)
        tick = p->end_tick;
    /* the last keyframe at or before tick (the index is in tick order) */
    uint64_t off = p->first_offset;
    uint32_t kt = p->start_tick;
    uint32_t lo = 0, hi = p->nindex;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->index[mid].tick <= tick)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        off = p->index[lo - 1].offset;
        kt = p->index[lo - 1].tick;
    }
    uint32_t now = p->world.tick;
    if (p->bad || p->ended || now > tick || now < kt) {
        if (replay_seek(&p->r, off) != REPLAY_OK) {
            p->bad = 1;
            return REPLAY_BAD;
        }
        p->ended = 0;
        p->bad = 0;
    }
    int rc = REPLAY_OK;
    while (p->world.tick < tick && rc == REPLAY_OK)
        rc = replay_player_step(p);
    remember_positions(p);
    /* elsewhere: the file stops short, or its index or a keyframe lies */
    return p->world.tick == tick ? REPLAY_OK : REPLAY_BAD;
}
