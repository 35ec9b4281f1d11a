/* client: see client.h. */
#include "client.h"

#include <stddef.h>
#include <string.h>

/* Empties slot i, handing a shared snapshot back. */
static void ring_clear(cl_client *c, int i)
{
    if (c->ring_shared[i] && c->body_release)
        c->body_release(c->body_user, c->ring_shared[i]);
    c->ring_shared[i] = NULL;
    c->ring_tick[i] = 0;
}

void cl_init(cl_client *c)
{
    /* Not ring_own: ring_tick says which slots hold anything, and a
     * client that shares its snapshots never pages those 100 KB in. */
    memset(c, 0, offsetof(cl_client, ring_own));
    c->head = -1;
    c->next_seq = 1;
    c->predict = c->reconcile = c->interpolate = 1;
    c->lead_ms = -1.0; /* set at the first WELCOME: half a period */
}

void cl_set_token(cl_client *c, const char *token)
{
    size_t n = strlen(token);
    if (n > PROTO_MAX_TOKEN)
        n = 0;
    memcpy(c->token, token, n);
    c->token[n] = '\0';
}

void cl_set_spectate(cl_client *c, uint16_t match_id)
{
    c->spectate = 1;
    c->spectate_match = match_id;
}

int cl_is_spectator(const cl_client *c)
{
    return c->joined && c->welcome.spectator;
}

size_t cl_write_join(cl_client *c, uint8_t *buf, size_t cap)
{
    size_t n = c->spectate ? proto_join_spectate_write(c->token, c->spectate_match, buf, cap)
                           : proto_join_write(c->token, c->have_resume ? c->resume : NULL, buf, cap);
    c->stats.bytes_up += n;
    c->stats.msgs_up += n ? 1 : 0;
    return n;
}

static cl_pending *pending_get(cl_client *c, uint32_t seq)
{
    cl_pending *p = &c->pending[seq % CL_MAX_PENDING];
    return seq && p->seq == seq ? p : NULL;
}

static const proto_snapshot *ring_find(const cl_client *c, uint32_t tick)
{
    if (tick == 0)
        return NULL;
    for (int i = 0; i < CL_RING; i++)
        if (c->ring_tick[i] == tick)
            return cl_slot(c, i);
    return NULL;
}

static int on_welcome(cl_client *c, const uint8_t *buf, size_t len)
{
    proto_welcome w;
    int err = proto_welcome_read(buf, len, &w);
    if (err)
        return err;
    if (w.spectator != c->spectate)
        return PROTO_ERR_VALUE; /* asked to play and got a seat to watch, or the other way round */
    if (!w.resumed || !c->have_resume || w.player_id != c->welcome.player_id ||
        w.match_id != c->welcome.match_id) {
        /* A new player: its inputs start again at seq 1. */
        memset(c->pending, 0, sizeof c->pending);
        c->next_seq = 1;
        c->sent_seq = c->max_sent_seq = c->last_input_seq = 0;
        c->have_self = 0;
        c->last_hits = 0;
        /* ... and its events are the new match's: acking an old seq there
         * would be an ack of an event never sent. */
        c->event_seq = 0;
        c->ev_head = c->ev_count = 0;
    }
    else {
        /* Resumed: resend whatever the server has not acknowledged, even
         * when the app did not call cl_disconnected (the server ignores
         * the ones it already has). */
        c->sent_seq = c->last_input_seq;
    }
    c->welcome = w;
    c->events_synced = 0; /* the next snapshot's events say where the match is */
    memcpy(c->resume, w.resume, PROTO_RESUME_LEN);
    c->have_resume = !w.spectator; /* a spectator has nobody to resume */
    c->joined = 1;
    c->dt = 1.0f / (float)w.tick_rate;
    c->snap_interval = w.tick_rate / w.snapshot_rate ? w.tick_rate / w.snapshot_rate : 1;
    c->have_grid = 0; /* another server, or the same one after a gap */
    if (c->lead_ms < 0.0)
        c->lead_ms = 500.0 / (double)w.tick_rate; /* half a period: what a random moment costs on average */
    c->stats.lead_ms = (float)c->lead_ms;
    return PROTO_WELCOME;
}

/* Same movement state. Flags, health and score are the world's (shots of
 * others), not something the client predicts. */
static int same_bits(const sim_player *a, const sim_player *b)
{
    sim_netent na, nb;
    sim_player_to_net(a, &na);
    sim_player_to_net(b, &nb);
    return na.x == nb.x && na.y == nb.y && na.vx == nb.vx && na.vy == nb.vy && na.aim == nb.aim;
}

/* The world moved the player (a death or a respawn since the prediction
 * was made): a teleport, not a misprediction. */
static int world_moved(const sim_player *predicted, const sim_player *server)
{
    return predicted->life != server->life ||
           ((predicted->flags ^ server->flags) & SIM_FLAG_DEAD) != 0;
}

/* Server state for input `seq` arrived: count a correction when the
 * prediction for that same input differed, then replay what is unacked. */
static void reconcile_self(cl_client *c, const sim_netent *net, uint32_t seq, double now_ms)
{
    sim_player server;
    sim_player_from_net(net, &server);
    /* DISCONNECTED is the server's presentation flag, not simulation state
     * (a snapshot taken while this player was away may carry it). */
    server.flags &= (uint8_t)~SIM_FLAG_DISCONNECTED;

    cl_pending *p = pending_get(c, seq);
    if (p && seq > c->last_input_seq && !p->offline) {
        float rtt = (float)(now_ms - p->sent_ms);
        c->stats.rtt_ms = rtt;
        c->stats.rtt_smooth_ms = c->stats.rtt_samples ? c->stats.rtt_smooth_ms * 0.9f + rtt * 0.1f : rtt;
        c->stats.rtt_samples++;
    }
    if (c->have_self && !c->reconcile)
        return;
    /* The cooldown is not on the wire: it is the client's own chain. */
    server.fire_cd = p ? p->fire_cd : 0; /* seq 0: before any input */
    if (p && p->predicted && c->have_self && !world_moved(&p->after, &server) && !same_bits(&p->after, &server)) {
        float dx = p->after.pos[0] - server.pos[0], dy = p->after.pos[1] - server.pos[1];
        float err = dx * dx + dy * dy > 0.0f ? __builtin_sqrtf(dx * dx + dy * dy) : 0.0f;
        c->stats.corrections++;
        c->stats.last_correction = err;
        c->stats.correction_sum += err;
        if (err > c->stats.max_correction)
            c->stats.max_correction = err;
    }
    c->predicted = server;
    c->have_self = 1;
    /* The server's state for `seq` is now the prediction for it, so a later
     * snapshot that still says `seq` (the server had no new input from us)
     * does not count the same correction again. */
    if (p) {
        p->after = server;
        p->predicted = 1;
    }
    for (uint32_t s = seq + 1; s < c->next_seq; s++) {
        cl_pending *q = pending_get(c, s);
        if (!q)
            continue;
        sim_player_step(&c->welcome.map, &c->predicted, &q->in, c->dt);
        q->after = c->predicted;
        q->predicted = 1;
        q->fire_cd = c->predicted.fire_cd;
    }
    c->fire_cd = c->predicted.fire_cd;
}

/* The events section at buf: checks every event and the sequence, changes
 * nothing; *used gets the section's size. Events continue the client's
 * sequence (older ones are repeats); the first snapshot after a WELCOME
 * may start anywhere. */
static int events_check(const cl_client *c, const uint8_t *buf, size_t len, size_t *used)
{
    if (len < 1)
        return PROTO_ERR_TRUNCATED;
    uint32_t count = buf[0];
    if (count == 0) {
        *used = 1;
        return PROTO_OK;
    }
    if (len < 5)
        return PROTO_ERR_TRUNCATED;
    uint32_t first = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16 | (uint32_t)buf[4] << 24;
    if (first == 0 || first > UINT32_MAX - count || (c->events_synced && first > c->event_seq + 1))
        return PROTO_ERR_VALUE;
    size_t off = 5;
    for (uint32_t i = 0; i < count; i++) {
        proto_event ev;
        size_t n;
        ev.seq = 0;
        int err = proto_event_read(buf + off, len - off, &ev, &n);
        if (err)
            return err;
        off += n;
    }
    *used = off;
    return PROTO_OK;
}

/* An event without the unused part of its text buffer: a kill is 16
 * bytes, not the 496 of a whole proto_event (a client's queue is cold
 * memory in a process holding thousands of them). */
static void event_copy(proto_event *dst, const proto_event *src)
{
    size_t n = src->len < sizeof src->text ? src->len : sizeof src->text - 1;
    memcpy(dst, src, offsetof(proto_event, text));
    memcpy(dst->text, src->text, n);
    dst->text[n] = '\0';
}

static void event_push(cl_client *c, const proto_event *ev)
{
    if (c->ev_count == CL_EVENT_QUEUE) {
        c->ev_head = (c->ev_head + 1) % CL_EVENT_QUEUE; /* the app stopped reading: drop the oldest */
        c->ev_count--;
        c->stats.events_lost++;
    }
    event_copy(&c->ev_queue[(c->ev_head + c->ev_count) % CL_EVENT_QUEUE], ev);
    c->ev_count++;
}

/* Queues the new events of a section events_check accepted. */
static void events_apply(cl_client *c, const uint8_t *buf)
{
    uint32_t count = buf[0];
    if (count == 0)
        return;
    uint32_t first = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16 | (uint32_t)buf[4] << 24;
    if (!c->events_synced && first > c->event_seq + 1) {
        if (c->event_seq)
            c->stats.events_lost += first - c->event_seq - 1;
        c->event_seq = first - 1;
    }
    c->events_synced = 1;
    size_t off = 5;
    for (uint32_t i = 0; i < count; i++) {
        proto_event ev;
        size_t n;
        ev.seq = first + i;
        proto_event_read(buf + off, PROTO_MAX_EVENT, &ev, &n);
        off += n;
        if (ev.seq <= c->event_seq)
            continue;
        c->event_seq = ev.seq;
        c->stats.events++;
        event_push(c, &ev);
    }
}

int cl_next_event(cl_client *c, proto_event *out)
{
    if (c->ev_count == 0)
        return 0;
    event_copy(out, &c->ev_queue[c->ev_head]);
    c->ev_head = (c->ev_head + 1) % CL_EVENT_QUEUE;
    c->ev_count--;
    return 1;
}

/* Arrival jitter as RTP measures it (RFC 3550 6.4.1): the change in
 * transit time (arrival minus the snapshot's tick time) between
 * consecutive snapshots, smoothed by 1/16. */
static void measure_jitter(cl_client *c, uint32_t tick, double now_ms)
{
    double transit = now_ms - (double)tick * 1000.0 / c->welcome.tick_rate;
    if (c->have_transit) {
        double d = transit - c->last_transit_ms;
        if (d < 0)
            d = -d;
        c->stats.jitter_ms += (float)((d - c->stats.jitter_ms) / 16.0);
    }
    c->last_transit_ms = transit;
    c->have_transit = 1;
    /* The grid: the least transit over the current window and the one
     * before, so it follows a route that got slower within two windows. */
    if (!c->have_grid) {
        c->grid_cur_ms = c->grid_prev_ms = transit;
        c->grid_window_start_ms = now_ms;
        c->have_grid = 1;
    } else if (now_ms - c->grid_window_start_ms >= CL_GRID_WINDOW_MS) {
        c->grid_prev_ms = c->grid_cur_ms;
        c->grid_cur_ms = transit;
        c->grid_window_start_ms = now_ms;
    } else if (transit < c->grid_cur_ms) {
        c->grid_cur_ms = transit;
    }
    c->grid_ms = c->grid_cur_ms < c->grid_prev_ms ? c->grid_cur_ms : c->grid_prev_ms;
}

/* The first tick whose send time (grid point minus lead) is at or after
 * now_ms: the tick an input sent now is for. */
static double send_tick(const cl_client *c, double now_ms, double period)
{
    double x = (now_ms + c->lead_ms - c->grid_ms) / period - 1e-6; /* a send at the planned moment is for that tick */
    double k = (double)(int64_t)x; /* toward zero */
    return k < x ? k + 1.0 : k;
}

/* A tick number from send_tick, 0 (not judged) outside 1..2^32-1: a
 * clock the app moved back, say. */
static uint32_t tick_u32(double k)
{
    return k >= 1.0 && k <= 4294967295.0 ? (uint32_t)k : 0;
}

double cl_plan_send(cl_client *c, double not_before_ms)
{
    c->plan_tick = 0;
    if (!c->have_grid || !c->joined)
        return not_before_ms;
    double period = 1000.0 / (double)c->welcome.tick_rate;
    double k = send_tick(c, not_before_ms, period);
    c->plan_tick = tick_u32(k);
    c->plan_lead_ms = c->lead_ms;
    double t = c->grid_ms + k * period - c->lead_ms;
    return t > not_before_ms ? t : not_before_ms;
}

/* An input sent for tick `target` was first acknowledged by the snapshot
 * of tick `acked`. On time: that is the first snapshot at or after
 * `target`. One snapshot late: the send time is just past the tick's
 * cut-off, and the lead moves up by CL_LEAD_UP_MS. Two or more late, or
 * early: the lead is off by whole periods (the route got slower or
 * faster, or the server stalled and its ticks moved), so it moves by
 * those periods, which keeps the moment of sending within the period as
 * it was (what the wait at the server depends on), and it walks again.
 * Only inputs sent after the lead last moved up move it again. */
static void judge_input(cl_client *c, uint32_t seq, uint32_t target, uint32_t acked)
{
    uint32_t k = c->snap_interval ? c->snap_interval : 1;
    uint32_t due = (target + k - 1) / k * k;
    double period = 1000.0 / (double)c->welcome.tick_rate;
    c->stats.inputs_judged++;
    c->stats.inputs_late += acked > due;
    if (acked > due && acked <= due + k) {
        if (seq > c->lead_guard_seq) {
            c->lead_ms = c->lead_ms + CL_LEAD_UP_MS < CL_LEAD_MAX_MS ? c->lead_ms + CL_LEAD_UP_MS : CL_LEAD_MAX_MS;
            c->lead_guard_seq = c->next_seq - 1;
            c->lead_found = 1;
        }
        c->lead_on_time = 0;
    } else if (acked != due) {
        double by = ((double)acked - (double)due) * period;
        if (seq > c->lead_guard_seq && c->lead_ms + by >= 0.0 && c->lead_ms + by <= CL_LEAD_MAX_MS) {
            c->lead_ms += by;
            c->lead_guard_seq = c->next_seq - 1;
            c->lead_found = 0;
            c->stats.lead_rebases++;
        }
        c->lead_on_time = 0;
    } else if (++c->lead_on_time >= (c->lead_found ? CL_LEAD_CREEP_EVERY : CL_LEAD_WALK_EVERY)) {
        /* Until the first late input the lead walks down; after it, it
         * creeps, so late inputs stay rare (one per CL_LEAD_UP_MS /
         * CL_LEAD_CREEP_MS x CL_LEAD_CREEP_EVERY inputs at most, once
         * settled). */
        c->lead_on_time = 0;
        c->lead_ms -= c->lead_found ? CL_LEAD_CREEP_MS : CL_LEAD_WALK_MS;
        if (c->lead_ms < 0.0)
            c->lead_ms = 0.0;
    }
    c->stats.lead_ms = (float)c->lead_ms;
}

static int on_snapshot(cl_client *c, const uint8_t *buf, size_t len, double now_ms)
{
    if (!c->joined)
        return PROTO_ERR_TYPE;
    proto_snapshot_header h;
    int err = proto_snapshot_header_read(buf, len, &h);
    if (err)
        return err;
    if (c->head >= 0 && h.tick <= c->ring_tick[c->head])
        return PROTO_ERR_VALUE;
    /* The server cannot have applied an input we never sent. Believing it
     * would break the pending-input limit, and a seq near 2^32 made the
     * next INPUT start at seq 0, which the server refuses. */
    if (h.last_input_seq > c->max_sent_seq)
        return PROTO_ERR_VALUE;
    const proto_snapshot *base = NULL;
    if (h.baseline_tick) {
        base = ring_find(c, h.baseline_tick);
        if (!base)
            return PROTO_ERR_BASELINE;
    }
    size_t ev_len;
    err = events_check(c, buf + PROTO_SNAPSHOT_HEADER_SIZE, len - PROTO_SNAPSHOT_HEADER_SIZE, &ev_len);
    if (err)
        return err;
    size_t body = PROTO_SNAPSHOT_HEADER_SIZE + ev_len;
    /* Decode into scratch copies so a bad body leaves the ring and the
     * names intact. Only the names of the entities the body adds are
     * written (a new generation); they alone are taken. */
    int slot = (c->head + 1) % CL_RING;
    proto_snapshot tmp;
    proto_names names;
    const proto_snapshot *shared = NULL;
    const proto_names *shared_names = NULL;
    tmp.tick = h.tick;
    err = c->body_reader ? c->body_reader(c->body_user, c, base, &tmp, &names, buf + body, len - body, &shared,
                                          &shared_names)
                         : proto_snapshot_body_read(base, &tmp, &names, c->welcome.tick_rate, buf + body, len - body);
    if (err)
        return err;
    const proto_snapshot *snap = shared ? shared : &tmp;
    const proto_names *nm = shared ? shared_names : &names;
    events_apply(c, buf + PROTO_SNAPSHOT_HEADER_SIZE);
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        if (snap->present[id] && (!base || snap->gen[id] != base->gen[id]))
            memcpy(c->names.name[id], nm->name[id], sizeof nm->name[id]);
    /* base may be the slot's snapshot: it is not read past here. */
    ring_clear(c, slot);
    if (shared) {
        c->ring_shared[slot] = shared;
    } else {
        c->ring_own[slot] = tmp;
        snap = &c->ring_own[slot];
    }
    c->ring_tick[slot] = snap->tick;
    c->head = slot;
    c->stats.snapshots++;
    measure_jitter(c, h.tick, now_ms);
    if (!base)
        c->stats.full_snapshots++;

    uint16_t me = c->welcome.player_id;
    /* c->spectate equals welcome.spectator once joined (on_welcome checks)
     * and sits in the client's first cache line. */
    if (!c->spectate && me < PROTO_MAX_ENTITIES && snap->present[me]) {
        uint16_t hits = snap->ent[me].hits;
        if (hits > c->last_hits)
            c->stats.server_hits += (uint32_t)(hits - c->last_hits);
        c->last_hits = hits; /* a new round starts again at 0 */
        reconcile_self(c, &snap->ent[me], h.last_input_seq, now_ms);
    }
    if (h.last_input_seq > c->last_input_seq) {
        uint32_t from = h.last_input_seq - c->last_input_seq > CL_MAX_PENDING ? h.last_input_seq - CL_MAX_PENDING + 1
                                                                               : c->last_input_seq + 1;
        for (uint32_t s = from; s <= h.last_input_seq && s >= from; s++) {
            cl_pending *p = pending_get(c, s);
            if (p && p->target_tick && !p->offline)
                judge_input(c, s, p->target_tick, h.tick);
        }
        c->last_input_seq = h.last_input_seq;
    }
    return PROTO_SNAPSHOT;
}

int cl_receive(cl_client *c, const uint8_t *buf, size_t len, double now_ms)
{
    c->stats.bytes_down += len;
    c->stats.msgs_down++;
    switch (proto_peek_type(buf, len)) {
    case PROTO_WELCOME: return on_welcome(c, buf, len);
    case PROTO_SNAPSHOT: return on_snapshot(c, buf, len, now_ms);
    case -1: return PROTO_ERR_TRUNCATED;
    default: return PROTO_ERR_TYPE;
    }
}

/* The snapshots around a tick, found once per frame: the newest at or
 * before it and the oldest after it. */
typedef struct cl_bracket {
    double at;
    const proto_snapshot *last, *next;
} cl_bracket;

static int interpolate(const cl_client *c, int id, const cl_bracket *br, float *x, float *y, uint16_t *aim,
                       uint8_t *flags, uint8_t *health);
static void bracket(const cl_client *c, double at, cl_bracket *br);

/* Render tick `t` within the snapshots held: past the newest one the
 * newest is drawn, before the oldest (just after a join, when the clock
 * starts 2.2 intervals behind the first snapshot, or one the server sent
 * from before the join) the oldest. O(CL_RING). */
static double view_clamp(const cl_client *c, double t)
{
    uint32_t lo = 0, hi = 0;
    for (int i = 0; i < CL_RING; i++) {
        uint32_t k = c->ring_tick[i];
        if (!k)
            continue;
        lo = !lo || k < lo ? k : lo;
        hi = k > hi ? k : hi;
    }
    return t > (double)hi ? (double)hi : t < (double)lo ? (double)lo : t;
}

/* The tick the remote players were last drawn at (view_clamp: never a view
 * of the future, which the server would clamp anyway, nor of a past the
 * client holds no snapshot of, which it did not draw). */
static void view_of(const cl_client *c, sim_input *in)
{
    const proto_snapshot *latest = cl_latest(c);
    in->view_tick = 0;
    in->view_frac = 0;
    if (!latest || !c->have_render_tick || c->render_tick < 1.0)
        return;
    double v = view_clamp(c, c->render_tick);
    in->view_tick = (uint32_t)v;
    in->view_frac = (uint8_t)((v - (double)in->view_tick) * 256.0);
}

/* A predicted shot, judged against the other players as this client draws
 * them, with the same ray as the server: at the view the input carries
 * (the render tick to 1/256 tick, as the server rewinds to it), so both
 * sides interpolate with the same numbers. Without a view (nothing drawn
 * yet), at the render tick. */
static void judge_shot(cl_client *c, uint32_t seq, const sim_input *in)
{
    float pos[PROTO_MAX_ENTITIES][2];
    uint8_t alive[PROTO_MAX_ENTITIES];
    const proto_snapshot *latest = cl_latest(c);
    int me = c->welcome.player_id;
    double at = in->view_tick ? (double)in->view_tick + in->view_frac / 256.0 : view_clamp(c, c->render_tick);
    cl_bracket br;
    bracket(c, at, &br);
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        uint16_t aim;
        uint8_t flags, health;
        alive[id] = id != me && latest && latest->present[id] && c->interpolate &&
                    interpolate(c, id, &br, &pos[id][0], &pos[id][1], &aim, &flags, &health) && !(flags & SIM_FLAG_DEAD);
    }
    float dist;
    int target = sim_hitscan(&c->welcome.map, c->predicted.pos, c->predicted.aim, (const float (*)[2])pos, alive,
                             PROTO_MAX_ENTITIES, me, &dist);
    c->stats.shots++;
    c->stats.screen_hits += target >= 0;
    c->last_shot_seq = seq;
    c->last_shot_target = target;
}

uint32_t cl_push_input(cl_client *c, uint8_t buttons, uint16_t aim, double now_ms)
{
    if (c->spectate || c->dt <= 0.0f || c->next_seq - c->last_input_seq > CL_MAX_UNACKED)
        return 0;
    uint32_t seq = c->next_seq++;
    cl_pending *p = &c->pending[seq % CL_MAX_PENDING];
    p->seq = seq;
    p->in.buttons = buttons & SIM_BTN_ALL;
    p->in.aim = aim;
    view_of(c, &p->in);
    p->sent_ms = now_ms;
    p->offline = !c->joined; /* its send time is not its push time */
    /* The tick it is for: the one cl_plan_send planned, or the one whose
     * send time is next (cl_write_input clears it when the input waits
     * for a later one). */
    if (c->plan_tick) {
        /* Planned before the lead moved: by whole periods (a rebase) the
         * planned moment is now another tick's; by a step, still the plan's. */
        double moved = (c->lead_ms - c->plan_lead_ms) * (double)c->welcome.tick_rate / 1000.0;
        p->target_tick = tick_u32((double)c->plan_tick + (double)(int64_t)(moved + (moved < 0 ? -0.5 : 0.5)));
    } else {
        p->target_tick = c->joined && c->have_grid ? tick_u32(send_tick(c, now_ms, 1000.0 / (double)c->welcome.tick_rate)) : 0;
    }
    c->plan_tick = 0;
    p->predicted = 0;
    if (c->have_self && c->predict) {
        if (sim_player_step(&c->welcome.map, &c->predicted, &p->in, c->dt))
            judge_shot(c, seq, &p->in);
        p->after = c->predicted;
        p->predicted = 1;
        c->fire_cd = c->predicted.fire_cd;
    } else {
        /* Not predicting (yet): still follow the weapon, so the first
         * reconciliation knows the cooldown the server has. */
        sim_weapon_step(&c->fire_cd, p->in.buttons & SIM_BTN_FIRE,
                        c->have_self && (c->predicted.flags & SIM_FLAG_DEAD), c->dt);
    }
    p->fire_cd = c->fire_cd;
    return seq;
}

size_t cl_write_input(cl_client *c, uint8_t *buf, size_t cap)
{
    if (!c->joined || c->welcome.spectator || c->sent_seq + 1 >= c->next_seq)
        return 0;
    uint32_t first = c->sent_seq + 1;
    uint32_t oldest_unacked = c->last_input_seq + 1;
    uint32_t extra = c->redundancy > PROTO_MAX_INPUTS_PER_MSG - 1 ? PROTO_MAX_INPUTS_PER_MSG - 1 : c->redundancy;
    while (extra-- && first > oldest_unacked)
        first--;
    uint32_t last = c->next_seq - 1;
    if (last - first + 1 > PROTO_MAX_INPUTS_PER_MSG)
        last = first + PROTO_MAX_INPUTS_PER_MSG - 1;

    proto_input_msg m;
    const proto_snapshot *latest = cl_latest(c);
    m.ack_tick = latest ? latest->tick : 0;
    m.event_ack = c->event_seq;
    m.first_seq = first;
    m.count = (uint8_t)(last - first + 1);
    for (uint32_t s = first; s <= last; s++)
        m.in[s - first] = c->pending[s % CL_MAX_PENDING].in;
    size_t n = proto_input_write(&m, buf, cap);
    if (n) {
        /* Only the newest input of a message went out when it was pushed:
         * the others waited for it, and are not judged. */
        for (uint32_t s = c->sent_seq + 1; s < last; s++)
            c->pending[s % CL_MAX_PENDING].target_tick = 0;
        c->sent_seq = last;
        if (last > c->max_sent_seq)
            c->max_sent_seq = last;
        c->stats.bytes_up += n;
        c->stats.msgs_up++;
    }
    return n;
}

size_t cl_write_chat(cl_client *c, const char *text, size_t len, uint8_t *buf, size_t cap)
{
    char clean[PROTO_MAX_CHAT_BYTES + 1];
    if (!c->joined || c->welcome.spectator || len > PROTO_MAX_CHAT_BYTES ||
        !proto_utf8_valid((const uint8_t *)text, len, NULL))
        return 0;
    memcpy(clean, text, len);
    len = proto_chat_clean(clean, len);
    if (len == 0)
        return 0;
    size_t n = proto_chat_write(clean, len, buf, cap);
    c->stats.bytes_up += n;
    c->stats.msgs_up += n ? 1 : 0;
    return n;
}

void cl_disconnected(cl_client *c)
{
    c->joined = 0;
    cl_release(c);
    c->have_render_tick = 0;
    c->have_transit = 0;
    c->have_grid = 0;
    /* Resend whatever the server has not acknowledged: it ignores the ones
     * it already has. */
    c->sent_seq = c->last_input_seq;
}

void cl_release(cl_client *c)
{
    for (int i = 0; i < CL_RING; i++)
        ring_clear(c, i);
    c->head = -1;
}

void cl_resend_unacked(cl_client *c)
{
    if (c->sent_seq > c->last_input_seq)
        c->sent_seq = c->last_input_seq;
}

const proto_snapshot *cl_latest(const cl_client *c)
{
    return c->head < 0 ? NULL : cl_slot(c, c->head);
}

int cl_interp_depth(const cl_client *c)
{
    int n = 0;
    for (int i = 0; i < CL_RING; i++)
        if (c->ring_tick[i] && (double)c->ring_tick[i] > c->render_tick)
            n++;
    return n;
}

/* Moves the interpolation clock forward in real time and steers it toward
 * "newest tick minus a little over two snapshot intervals". */
static void advance_render_tick(cl_client *c, double now_ms)
{
    const proto_snapshot *latest = cl_latest(c);
    double jitter_ticks = c->stats.jitter_ms * c->welcome.tick_rate / 1000.0;
    double delay = 2.2 * (double)c->snap_interval + (c->fixed_delay ? 0.0 : 3.0 * jitter_ticks);
    double cap = 0.25 * c->welcome.tick_rate; /* never more than 250 ms behind */
    if (delay > cap)
        delay = cap > 2.2 * (double)c->snap_interval ? cap : 2.2 * (double)c->snap_interval;
    c->stats.interp_delay_ticks = (float)delay;
    double target = (double)latest->tick - delay;
    if (!c->have_render_tick) {
        c->render_tick = target;
        c->have_render_tick = 1;
    } else {
        double dt_ms = now_ms - c->last_update_ms;
        if (dt_ms < 0)
            dt_ms = 0;
        c->render_tick += dt_ms * c->welcome.tick_rate / 1000.0;
        double err = target - c->render_tick;
        double limit = 0.25 * c->welcome.tick_rate; /* 250 ms off: jump */
        if (err > limit || err < -limit)
            c->render_tick = target;
        else
            c->render_tick += err * (dt_ms > 100 ? 1.0 : dt_ms / 100.0) * 0.5;
    }
    c->last_update_ms = now_ms;
}

/* Entity `id` at tick `at` (the render tick, or a shot's view), as the
 * server rewinds it to judge a shot (sim.c rewind): in the state of the
 * newest snapshot at or before `at` (a), moved toward the next one (b)
 * only when b shows the same life of the same player, alive in both.
 * Across a death, a respawn or a new player in the slot it is not
 * blended: a blend would draw, and hit, a player halfway between its
 * corpse and its spawn point, where it never was. Not drawn when the
 * newest snapshot at or before `at` shows the slot empty (it joined later,
 * or left). Callers keep `at` within the snapshots held (view_clamp); past
 * them, the nearest snapshot with the player. The server blends consecutive ticks,
 * this the snapshots around `at`: the same numbers at one snapshot per
 * tick; at fewer, the path between snapshots is taken as straight.
 * O(CL_RING). */
static void bracket(const cl_client *c, double at, cl_bracket *br)
{
    br->at = at;
    int last = -1, next = -1;
    for (int i = 0; i < CL_RING; i++) {
        uint32_t k = c->ring_tick[i];
        if (!k)
            continue;
        if ((double)k <= at && (last < 0 || k > c->ring_tick[last]))
            last = i;
        if ((double)k > at && (next < 0 || k < c->ring_tick[next]))
            next = i;
    }
    br->last = last < 0 ? NULL : cl_slot(c, last);
    br->next = next < 0 ? NULL : cl_slot(c, next);
}

static int interpolate(const cl_client *c, int id, const cl_bracket *br, float *x, float *y, uint16_t *aim,
                       uint8_t *flags, uint8_t *health)
{
    double at = br->at;
    const proto_snapshot *a = NULL, *b = NULL, *last = br->last;
    if (last && last->present[id] && br->next && br->next->present[id]) {
        /* The common case, O(1): in both snapshots around `at`. */
        a = last;
        b = br->next;
    } else {
        for (int i = 0; i < CL_RING; i++) {
            if (!c->ring_tick[i])
                continue;
            const proto_snapshot *s = cl_slot(c, i);
            if (!s->present[id])
                continue;
            if ((double)s->tick <= at && (!a || s->tick > a->tick))
                a = s;
            if ((double)s->tick > at && (!b || s->tick < b->tick))
                b = s;
        }
        if ((!a && !b) || (last && !last->present[id]))
            return 0;
    }
    const proto_snapshot *s = a ? a : b;
    *x = s->ent[id].x / SIM_POS_SCALE;
    *y = s->ent[id].y / SIM_POS_SCALE;
    *aim = s->ent[id].aim;
    *flags = s->ent[id].flags;
    *health = s->ent[id].health; /* with the flags: not drawn alive with the health of its death */
    if (!a || !b)
        return 2; /* held: no snapshot on one side of `at` */
    if (a->gen[id] != b->gen[id] || a->ent[id].life != b->ent[id].life ||
        ((a->ent[id].flags | b->ent[id].flags) & SIM_FLAG_DEAD))
        return 1;
    float t = (float)((at - a->tick) / (double)(b->tick - a->tick));
    float bx = b->ent[id].x / SIM_POS_SCALE, by = b->ent[id].y / SIM_POS_SCALE;
    *x += (bx - *x) * t;
    *y += (by - *y) * t;
    int16_t da = (int16_t)(uint16_t)(b->ent[id].aim - a->ent[id].aim);
    *aim = (uint16_t)(a->ent[id].aim + (int)((float)da * t));
    return 1;
}

int cl_view(cl_client *c, double now_ms, cl_view_ent *out, int max)
{
    const proto_snapshot *latest = cl_latest(c);
    if (!latest)
        return 0;
    advance_render_tick(c, now_ms);
    double at = view_clamp(c, c->render_tick);
    cl_bracket br;
    bracket(c, at, &br);
    int n = 0;
    uint16_t me = c->welcome.player_id;
    for (int id = 0; id < PROTO_MAX_ENTITIES && n < max; id++) {
        if (!latest->present[id])
            continue;
        cl_view_ent *v = &out[n];
        memset(v, 0, sizeof *v);
        v->id = (uint16_t)id;
        v->health = latest->ent[id].health;
        if (id == me && !c->welcome.spectator) {
            v->self = 1;
            if (c->predict && c->have_self) {
                v->x = c->predicted.pos[0];
                v->y = c->predicted.pos[1];
                v->aim = c->predicted.aim;
                v->flags = c->predicted.flags;
            } else {
                v->x = latest->ent[id].x / SIM_POS_SCALE;
                v->y = latest->ent[id].y / SIM_POS_SCALE;
                v->aim = latest->ent[id].aim;
                v->flags = latest->ent[id].flags;
            }
        } else if (c->interpolate) {
            int r = interpolate(c, id, &br, &v->x, &v->y, &v->aim, &v->flags, &v->health);
            if (!r)
                continue;
            c->stats.interp_frames++;
            c->stats.interp_holds += r == 2;
        } else {
            v->x = latest->ent[id].x / SIM_POS_SCALE;
            v->y = latest->ent[id].y / SIM_POS_SCALE;
            v->aim = latest->ent[id].aim;
            v->flags = latest->ent[id].flags;
        }
        n++;
    }
    return n;
}

cl_close_act cl_close_action(int code)
{
    switch (code) {
    case PROTO_CLOSE_RESUME_EXPIRED:
        return CL_CLOSE_REJOIN;
    case PROTO_CLOSE_TOKEN_REFUSED:
        return CL_CLOSE_REFUSED;
    case PROTO_CLOSE_REPLACED:
        return CL_CLOSE_REPLACED;
    default:
        return CL_CLOSE_RETRY;
    }
}

uint32_t cl_backoff_ms(int attempt, double u01, uint32_t base_ms, uint32_t cap_ms)
{
    uint64_t cap = cap_ms ? cap_ms : CL_BACKOFF_CAP_MS;
    uint64_t bound = base_ms ? base_ms : CL_BACKOFF_BASE_MS;
    for (int i = 0; i < attempt && bound < cap; i++)
        bound *= 2;
    if (bound > cap)
        bound = cap;
    if (!(u01 > 0.0)) /* also NaN */
        return 0;
    if (u01 >= 1.0)
        return (uint32_t)(bound - 1);
    uint64_t d = (uint64_t)(u01 * (double)bound);
    return (uint32_t)(d < bound ? d : bound - 1); /* u01 * bound may round up to bound */
}
