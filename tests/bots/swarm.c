/* swarm: see swarm.h.
 *
 * A bot's life: IDLE -> connect -> CONNECTING -> (ws established) OPEN,
 * JOIN written -> (WELCOME) PLAYING -> closed -> IDLE. A failure is a NULL
 * from lws_client_connect_via_info, a CLIENT_CONNECTION_ERROR, or a close
 * before WELCOME; each is counted with its reason. A close after WELCOME
 * that the bot did not ask for is a disconnect, counted by close code and
 * reason. WSI_DESTROY always comes last and is where the wsi is forgotten.
 *
 * Everything runs on the lws service thread; the only cross-thread entry
 * is swarm_wake (lws_cancel_service) for a signal. */
#define _GNU_SOURCE /* ppoll */
#include "swarm.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <libwebsockets.h>

#include "client.h"
#include "hist.h"
#include "proto.h"

#define RX_MAX (PROTO_MAX_SNAPSHOT > PROTO_MAX_WELCOME ? PROTO_MAX_SNAPSHOT : PROTO_MAX_WELCOME)
#define MAX_CATCHUP_TICKS 4        /* bot ticks run back to back after a stall */
#define RECONNECT_POLL_US 20000    /* chaos: how often due reconnects are started */
#define CLOSE_KILL_US 1500000      /* end: unanswered closes are killed after this */
#define CLOSE_GIVE_UP_US 2500000   /* end: the context is destroyed after this */
#define MIN_MEASURED_US 1000000    /* per-bot snapshot % only for bots connected this long */

enum bot_state { B_IDLE, B_CONNECTING, B_OPEN, B_PLAYING };
enum close_kind { CK_NONE, CK_CHAOS, CK_END, CK_RECORDED };

typedef struct bot {
    struct lws *wsi;
    swarm *sw;
    uint32_t index;
    uint8_t state;
    uint8_t closing;          /* close_kind: why the bot itself is closing */
    uint8_t in_connect;       /* inside lws_client_connect_via_info */
    uint8_t join_sent;
    uint8_t peer_closed;      /* the server sent a close frame */
    uint8_t failed_now;       /* this attempt's failure is already counted */
    uint8_t ever_played;
    int fd;                   /* the socket once established, else -1 (for nap) */
    uint32_t attempts, sessions;
    uint32_t snapshots;       /* while measuring, all sessions */
    uint32_t session_snaps;
    uint64_t connected_us;    /* while measuring, all sessions */
    lws_usec_t reconnect_at;  /* chaos: 0 = none */
    lws_usec_t welcome_us, last_snap_us;
    uint8_t *rx;              /* only for messages split over several frames */
    uint32_t rx_len;
    behavior_state beh;
    cl_client cl;
} bot;

/* Totals at the start of the current second, for the time series. */
typedef struct marks {
    uint64_t snapshots, msgs_up, corrections, bytes_down, bytes_up;
} marks;

struct swarm {
    swarm_config cfg;
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    bot *bots;
    uint64_t rng;
    volatile sig_atomic_t *stop;
    int done, measuring, ending;
    lws_usec_t t0;
    uint32_t next_connect;
    uint32_t playing;         /* bots in B_PLAYING */
    uint32_t live;            /* bot wsis not destroyed yet */
    lws_sorted_usec_list_t connect_sul, tick_sul, second_sul, status_sul, end_sul;
    int phases;               /* bot tick slots per tick period */
    lws_usec_t tick_t0;       /* the bots' clock started here */
    uint64_t slot_k;          /* next sub-tick */
    uint32_t input_acc[SWARM_MAX_PHASES];
    hist rtt, rtt_sec, interval;
    swarm_result res;
    int series_cap;
    marks mark;
    lws_usec_t mark_us;
    double mark_cpu_s;
    double sec_late_ms;       /* latest tick slot wakeup this second */
    uint64_t status_snaps, status_down;
    lws_usec_t status_us;
    int status_shown;
    struct rusage ru0;
    struct pollfd *pfds;      /* scratch for nap(), one per bot */
    uint64_t naps;
    uint8_t tx[LWS_PRE + PROTO_MAX_CLIENT_MSG];
};

static double rand01(uint64_t *rng)
{
    return (double)(sim_rand_next(rng) >> 11) / 9007199254740992.0;
}

/* ---- failures and disconnects ---------------------------------------------- */

static void reasons_add(swarm_reasons *rs, int code, const char *text)
{
    char clean[sizeof rs->r[0].text];
    size_t n = 0;
    for (; text[n] && n < sizeof clean - 1; n++)
        clean[n] = text[n] >= 0x20 && text[n] < 0x7f ? text[n] : '?';
    clean[n] = '\0';
    rs->total++;
    for (int i = 0; i < rs->n; i++) {
        if (rs->r[i].code == code && strcmp(rs->r[i].text, clean) == 0) {
            rs->r[i].count++;
            return;
        }
    }
    if (rs->n == SWARM_MAX_REASONS) {
        rs->other++;
        return;
    }
    swarm_reason *r = &rs->r[rs->n++];
    r->code = code;
    r->count = 1;
    memcpy(r->text, clean, n + 1);
}

/* Counts a failed connection attempt (not after the measurement). */
static void bot_fail(bot *b, int code, const char *why)
{
    swarm *sw = b->sw;
    if (b->failed_now)
        return;
    b->failed_now = 1;
    if (!sw->measuring)
        return;
    sw->res.failed++;
    reasons_add(&sw->res.failures, code, why);
}

/* Counts a disconnect of a playing bot that it did not ask for. */
static void bot_disconnected(bot *b, int code, const char *why)
{
    swarm *sw = b->sw;
    if (!sw->measuring)
        return;
    reasons_add(&sw->res.disconnects, code, why);
}

/* The connection is gone: account its connected time and, in chaos mode,
 * plan the next connect. Idempotent. */
static void session_end(bot *b)
{
    swarm *sw = b->sw;
    if (b->state == B_IDLE)
        return;
    lws_usec_t now = lws_now_usecs();
    if (b->state == B_PLAYING) {
        sw->playing--;
        if (sw->measuring)
            b->connected_us += (uint64_t)(now - b->welcome_us);
    }
    b->state = B_IDLE;
    b->fd = -1;
    b->rx_len = 0;
    if (sw->cfg.behavior == BEHAVIOR_CHAOS && sw->measuring && !sw->ending) {
        /* After a chaos close come back soon; after a failure wait 1 s. */
        double wait_s = b->failed_now ? 1.0 : 0.1 + 0.9 * rand01(&sw->rng);
        b->reconnect_at = now + (lws_usec_t)(wait_s * 1e6);
    }
}

/* ---- connecting -------------------------------------------------------------- */

static void bot_connect(swarm *sw, bot *b)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = sw->ctx;
    ci.address = sw->cfg.host;
    ci.port = sw->cfg.port;
    ci.path = sw->cfg.path;
    ci.host = sw->cfg.host_header;
    /* No Origin header: a bot is not a browser page (the server checks
     * browser origins before the upgrade). */
    ci.protocol = PROTO_SUBPROTOCOL;
    ci.userdata = b;
    ci.pwsi = &b->wsi;

    cl_init(&b->cl);
    b->state = B_CONNECTING;
    b->closing = CK_NONE;
    b->join_sent = b->peer_closed = b->failed_now = 0;
    b->rx_len = 0;
    b->reconnect_at = 0;
    if (b->attempts++)
        sw->res.reconnect_attempts++;
    sw->res.connect_attempts++;

    b->in_connect = 1;
    errno = 0;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    int e = errno;
    b->in_connect = 0;
    if (!wsi) {
        /* lws reports failures inside the call by returning NULL only. */
        char why[96];
        snprintf(why, sizeof why, "connect failed at once%s%s", e ? ": " : "", e ? strerror(e) : "");
        b->wsi = NULL;
        bot_fail(b, 0, why);
        session_end(b);
        return;
    }
    sw->live++;
}

/* Ramp: bot i connects at t0 + i * ramp / N. Afterwards, in chaos mode,
 * the same sul starts the reconnects that are due. */
static void connect_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, connect_sul);
    lws_usec_t now = lws_now_usecs();
    uint32_t n = (uint32_t)sw->cfg.bots;
    double ramp_us = sw->cfg.ramp_s * 1e6;
    lws_usec_t next = 0;
    while (sw->next_connect < n) {
        lws_usec_t at = sw->t0 + (lws_usec_t)((double)sw->next_connect * ramp_us / n);
        if (at > now) {
            next = at;
            break;
        }
        bot_connect(sw, &sw->bots[sw->next_connect++]);
    }
    if (sw->cfg.behavior == BEHAVIOR_CHAOS) {
        for (uint32_t i = 0; i < sw->next_connect; i++) {
            bot *b = &sw->bots[i];
            if (b->state == B_IDLE && b->reconnect_at && b->reconnect_at <= now)
                bot_connect(sw, b);
        }
        if (!next || next > now + RECONNECT_POLL_US)
            next = now + RECONNECT_POLL_US;
    }
    if (next)
        lws_sul_schedule(sw->ctx, 0, &sw->connect_sul, connect_cb, next - lws_now_usecs() > 0 ? next - lws_now_usecs() : 1);
}

/* ---- the bots' clock ----------------------------------------------------------- */

/* Deadline of sub-tick k: the tick period split into `phases` slots,
 * computed from the counter so it never drifts. */
static lws_usec_t slot_deadline(const swarm *sw, uint64_t k)
{
    return sw->tick_t0 + (lws_usec_t)((double)k * 1e6 / ((double)sw->res.tick_rate * sw->phases));
}

/* One fixed tick of the playing bots in phase group `slot` (bots i with
 * i % phases == slot): one input each, predicted; every input-rate period
 * the group's unsent inputs are written. O(bots / phases). */
static void phase_tick(swarm *sw, int slot)
{
    double now_ms = (double)lws_now_usecs() / 1000.0;
    uint16_t rate = sw->res.tick_rate;
    int flush = 0;
    sw->input_acc[slot] += (uint32_t)sw->res.input_rate;
    if (sw->input_acc[slot] >= rate) {
        sw->input_acc[slot] -= rate;
        flush = 1;
    }
    for (int i = slot; i < sw->cfg.bots; i += sw->phases) {
        bot *b = &sw->bots[i];
        if (b->state != B_PLAYING || b->closing)
            continue;
        sim_input in = behavior_next(&b->beh, rate);
        if (cl_push_input(&b->cl, in.buttons, in.aim, now_ms))
            sw->res.inputs++;
        else
            sw->res.inputs_stalled++; /* CL_MAX_PENDING unacked: the bot waits */
        if (flush && b->cl.sent_seq + 1 < b->cl.next_seq)
            lws_callback_on_writable(b->wsi);
    }
}

/* The bots' clock: absolute deadlines, like the server's tick, so it does
 * not drift. After a stall a few ticks' worth of slots run back to back;
 * beyond that they are skipped and counted. */
static void tick_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, tick_sul);
    lws_usec_t now = lws_now_usecs();
    double late_ms = (double)(now - slot_deadline(sw, sw->slot_k)) / 1000.0;
    if (late_ms > sw->res.tick_late_max_ms)
        sw->res.tick_late_max_ms = late_ms;
    if (late_ms > sw->sec_late_ms)
        sw->sec_late_ms = late_ms;
    for (int n = 0; n < MAX_CATCHUP_TICKS * sw->phases && slot_deadline(sw, sw->slot_k) <= now; n++) {
        phase_tick(sw, (int)(sw->slot_k % (uint64_t)sw->phases));
        if (++sw->slot_k % (uint64_t)sw->phases == 0)
            sw->res.ticks++;
    }
    if (slot_deadline(sw, sw->slot_k) <= now) {
        /* Too far behind: skip whole ticks rather than spin. */
        uint64_t lost = 0;
        while (slot_deadline(sw, sw->slot_k + lost * (uint64_t)sw->phases) <= now)
            lost++;
        sw->res.ticks_missed += lost;
        sw->slot_k += lost * (uint64_t)sw->phases;
    }
    lws_usec_t wait = slot_deadline(sw, sw->slot_k) - lws_now_usecs();
    lws_sul_schedule(sw->ctx, 0, &sw->tick_sul, tick_cb, wait > 0 ? wait : 1);
}

/* ---- receiving ----------------------------------------------------------------- */

static void on_welcome(bot *b, lws_usec_t now)
{
    swarm *sw = b->sw;
    const proto_welcome *w = &b->cl.welcome;
    swarm_result *r = &sw->res;
    if (!r->tick_rate) {
        r->tick_rate = w->tick_rate;
        r->snapshot_rate = w->snapshot_rate;
        r->max_players = w->max_players;
        r->input_rate = sw->cfg.input_rate && sw->cfg.input_rate < w->tick_rate ? sw->cfg.input_rate : w->tick_rate;
        r->interval_nominal_ms = 1000.0 / w->snapshot_rate;
        /* Slots of at least 2 ms: lws' timers are millisecond-grained. */
        int max_phases = (int)(1000000 / w->tick_rate / 2000);
        if (sw->phases > max_phases)
            sw->phases = max_phases > 1 ? max_phases : 1;
        r->phases = sw->phases;
        sw->tick_t0 = now;
        sw->slot_k = 1;
        lws_sul_schedule(sw->ctx, 0, &sw->tick_sul, tick_cb, slot_deadline(sw, 1) - now);
    } else if (w->tick_rate != r->tick_rate || w->snapshot_rate != r->snapshot_rate) {
        r->rate_mismatch = 1;
    }
    if (!b->ever_played) {
        b->ever_played = 1;
        behavior_init(&b->beh, sw->cfg.behavior, sw->cfg.seed ^ ((uint64_t)(b->index + 1) * 0x9e3779b97f4a7c15ull),
                      r->tick_rate);
        r->ever_connected++;
    } else {
        r->reconnects++;
    }
    b->sessions++;
    b->state = B_PLAYING;
    b->welcome_us = now;
    b->last_snap_us = 0;
    b->session_snaps = 0;
    if (++sw->playing > r->connected_max)
        r->connected_max = sw->playing;
}

/* Entities present in the newest snapshot, and those whose state differs
 * from the previous snapshot (added, or any field changed). */
static void count_entities(swarm *sw, const cl_client *c, size_t len)
{
    const proto_snapshot *cur = &c->ring[c->head];
    const proto_snapshot *prev = &c->ring[(c->head + CL_RING - 1) % CL_RING];
    int maxp = c->welcome.max_players < PROTO_MAX_ENTITIES ? c->welcome.max_players : PROTO_MAX_ENTITIES;
    uint32_t present = 0, moving = 0;
    for (int id = 0; id < maxp; id++) {
        if (!cur->present[id])
            continue;
        present++;
        const sim_netent *a = &cur->ent[id], *p = &prev->ent[id];
        if (!prev->present[id] || prev->gen[id] != cur->gen[id] || a->x != p->x || a->y != p->y ||
            a->vx != p->vx || a->vy != p->vy || a->aim != p->aim || a->flags != p->flags)
            moving++;
    }
    sw->res.body_bytes += len - PROTO_SNAPSHOT_HEADER_SIZE;
    sw->res.entity_snaps += present;
    sw->res.moving_snaps += moving;
    sw->res.entity_counted_snapshots++;
}

static void on_snapshot(bot *b, lws_usec_t now, const uint8_t *msg, size_t len, uint32_t prev_seq,
                        uint32_t prev_corr)
{
    swarm *sw = b->sw;
    swarm_result *r = &sw->res;
    cl_client *c = &b->cl;
    r->snapshots++;
    b->snapshots++;
    if (msg[5] == 0)
        r->full_snapshots++;
    if (b->last_snap_us)
        hist_add(&sw->interval, (double)(now - b->last_snap_us) / 1000.0);
    b->last_snap_us = now;
    if (b->session_snaps++ > 0)
        count_entities(sw, c, len);

    /* Input -> ack: every input this snapshot acknowledges for the first
     * time, from the moment it was written to the socket. */
    double now_ms = (double)now / 1000.0;
    uint32_t last = c->last_input_seq < c->sent_seq ? c->last_input_seq : c->sent_seq;
    if (last > prev_seq && last - prev_seq > CL_MAX_PENDING)
        prev_seq = last - CL_MAX_PENDING;
    for (uint32_t s = prev_seq + 1; s <= last && s > prev_seq; s++) {
        const cl_pending *p = &c->pending[s % CL_MAX_PENDING];
        if (p->seq != s)
            continue;
        hist_add(&sw->rtt, now_ms - p->sent_ms);
        hist_add(&sw->rtt_sec, now_ms - p->sent_ms);
    }
    r->corrections += c->stats.corrections - prev_corr;
    if (c->stats.max_correction > r->max_correction)
        r->max_correction = c->stats.max_correction;
}

/* Closes the bot's connection from inside its callback: returns -1. */
static int close_now(bot *b, struct lws *wsi, int code, const char *why)
{
    b->closing = CK_RECORDED;
    lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
    return -1;
}

static int on_message(bot *b, struct lws *wsi, const uint8_t *msg, size_t len)
{
    swarm *sw = b->sw;
    lws_usec_t now = lws_now_usecs();
    uint32_t prev_seq = b->cl.last_input_seq, prev_corr = b->cl.stats.corrections;
    int type = cl_receive(&b->cl, msg, len, (double)now / 1000.0);
    if (type < 0) {
        char why[96];
        snprintf(why, sizeof why, "bot: bad message from the server: %s", proto_err_str(type));
        if (b->state == B_PLAYING)
            bot_disconnected(b, LWS_CLOSE_STATUS_PROTOCOL_ERR, why);
        else
            bot_fail(b, LWS_CLOSE_STATUS_PROTOCOL_ERR, why);
        return close_now(b, wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, "bad message");
    }
    if (type == PROTO_WELCOME) {
        on_welcome(b, now);
    } else if (type == PROTO_SNAPSHOT && sw->measuring) {
        on_snapshot(b, now, msg, len, prev_seq, prev_corr);
    }
    if (sw->measuring) {
        sw->res.bytes_down += len;
        sw->res.msgs_down++;
    }
    return 0;
}

static int on_receive(bot *b, struct lws *wsi, const uint8_t *in, size_t len)
{
    if (!lws_frame_is_binary(wsi)) {
        const char *why = "bot: the server sent a text frame";
        if (b->state == B_PLAYING)
            bot_disconnected(b, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, why);
        else
            bot_fail(b, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, why);
        return close_now(b, wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frame");
    }
    int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (final && b->rx_len == 0)
        return on_message(b, wsi, in, len); /* the usual case: one frame, whole */
    if (!b->rx && !(b->rx = malloc(RX_MAX)))
        return close_now(b, wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
    if (b->rx_len + len > RX_MAX) {
        const char *why = "bot: message from the server over the protocol's maximum";
        if (b->state == B_PLAYING)
            bot_disconnected(b, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, why);
        else
            bot_fail(b, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, why);
        return close_now(b, wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
    }
    memcpy(b->rx + b->rx_len, in, len);
    b->rx_len += (uint32_t)len;
    if (!final)
        return 0;
    size_t n = b->rx_len;
    b->rx_len = 0;
    return on_message(b, wsi, b->rx, n);
}

static void on_peer_close(bot *b, const uint8_t *in, size_t len)
{
    if (b->closing)
        return;
    int code = len >= 2 ? in[0] << 8 | in[1] : LWS_CLOSE_STATUS_NO_STATUS;
    char why[112];
    size_t rl = len > 2 ? len - 2 : 0;
    if (rl > 100)
        rl = 100;
    if (b->state == B_PLAYING) {
        snprintf(why, sizeof why, "%.*s", (int)rl, rl ? (const char *)in + 2 : "");
        bot_disconnected(b, code, why);
    } else {
        snprintf(why, sizeof why, "closed by the server before WELCOME%s%.*s", rl ? ": " : "", (int)rl,
                 rl ? (const char *)in + 2 : "");
        bot_fail(b, code, why);
    }
    b->peer_closed = 1;
}

/* ---- writing ------------------------------------------------------------------- */

static int bot_write(bot *b, struct lws *wsi, size_t n)
{
    if (lws_write(wsi, b->sw->tx + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n) {
        if (b->state == B_PLAYING)
            bot_disconnected(b, 0, "bot: send failed");
        else
            bot_fail(b, 0, "bot: send failed");
        b->closing = CK_RECORDED;
        return -1;
    }
    if (b->sw->measuring) {
        b->sw->res.bytes_up += n;
        b->sw->res.msgs_up++;
    }
    return 0;
}

/* One message per WRITEABLE: the close, the JOIN, or one INPUT with the
 * inputs not sent yet (oldest first, up to 8); asks again if more wait.
 * The send buffer is shared: lws masks client frames in place. */
static int on_writeable(bot *b, struct lws *wsi)
{
    swarm *sw = b->sw;
    if (b->closing) {
        const char *why = b->closing == CK_CHAOS ? "chaos reconnect" : "load test over";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)why, strlen(why));
        return -1;
    }
    uint8_t *p = sw->tx + LWS_PRE;
    if (!b->join_sent) {
        char name[PROTO_MAX_NAME + 1];
        snprintf(name, sizeof name, "bot%u", b->index);
        size_t n = cl_write_join(&b->cl, name, p, PROTO_MAX_CLIENT_MSG);
        b->join_sent = 1;
        return n ? bot_write(b, wsi, n) : -1;
    }
    if (b->state != B_PLAYING)
        return 0; /* extra WRITEABLE callbacks are harmless */
    uint32_t first = b->cl.sent_seq + 1;
    size_t n = cl_write_input(&b->cl, p, PROTO_MAX_CLIENT_MSG);
    if (!n)
        return 0;
    double now_ms = (double)lws_now_usecs() / 1000.0;
    if (bot_write(b, wsi, n))
        return -1;
    /* The round trip is measured from here, not from when the input was
     * made (the batching wait is the input rate's, not the network's). */
    for (uint32_t s = first; s <= b->cl.sent_seq; s++)
        b->cl.pending[s % CL_MAX_PENDING].sent_ms = now_ms;
    if (b->cl.sent_seq + 1 < b->cl.next_seq)
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- the lws callback -------------------------------------------------------------- */

static int bot_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    bot *b = user;
    if (!b)
        return 0; /* context-level callbacks */
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        b->state = B_OPEN;
        b->fd = lws_get_socket_fd(wsi);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(b, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(b, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        on_peer_close(b, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        /* `in` is lws' reason, NUL-terminated; len may or may not count it. */
        char why[112];
        if (!in)
            snprintf(why, sizeof why, "connection error");
        else if (len)
            snprintf(why, sizeof why, "connection error: %.*s", (int)(len < 90 ? len : 90), (const char *)in);
        else
            snprintf(why, sizeof why, "connection error: %.90s", (const char *)in);
        bot_fail(b, 0, why);
        session_end(b);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!b->closing && !b->peer_closed) {
            if (b->state == B_PLAYING)
                bot_disconnected(b, LWS_CLOSE_STATUS_ABNORMAL_CLOSE, "connection lost (no close frame)");
            else
                bot_fail(b, LWS_CLOSE_STATUS_ABNORMAL_CLOSE, "connection lost before WELCOME");
        }
        session_end(b);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (b->in_connect)
            return 0; /* failed inside lws_client_connect_via_info: NULL follows */
        if (b->wsi && b->wsi != wsi) {
            b->sw->live--; /* an older connection of this bot */
            return 0;
        }
        if (b->state != B_IDLE && !b->closing && !b->failed_now && b->state != B_PLAYING)
            bot_fail(b, 0, "closed before the connection completed");
        session_end(b);
        b->wsi = NULL;
        b->sw->live--;
        return 0;
    default:
        return 0;
    }
}

/* ---- per-second series, status line, end ------------------------------------------- */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void take_sample(swarm *sw, lws_usec_t now)
{
    swarm_result *r = &sw->res;
    if (r->nseries == sw->series_cap)
        return;
    swarm_sample *s = &r->series[r->nseries++];
    s->t_s = (float)((double)(now - sw->t0) / 1e6);
    s->dt_s = (float)((double)(now - sw->mark_us) / 1e6);
    s->connected = sw->playing;
    s->snapshots = (uint32_t)(r->snapshots - sw->mark.snapshots);
    s->input_msgs = (uint32_t)(r->msgs_up - sw->mark.msgs_up);
    s->corrections = (uint32_t)(r->corrections - sw->mark.corrections);
    s->bytes_down = r->bytes_down - sw->mark.bytes_down;
    s->bytes_up = r->bytes_up - sw->mark.bytes_up;
    s->rtt_n = (uint32_t)sw->rtt_sec.n;
    s->rtt_p50_ms = (float)hist_quantile(&sw->rtt_sec, 0.50);
    s->rtt_p99_ms = (float)hist_quantile(&sw->rtt_sec, 0.99);
    hist_reset(&sw->rtt_sec);
    double cpu = cpu_seconds();
    s->cpu_pct = s->dt_s > 0 ? (float)(100.0 * (cpu - sw->mark_cpu_s) / s->dt_s) : 0;
    s->tick_late_ms = (float)sw->sec_late_ms;
    sw->mark_cpu_s = cpu;
    sw->sec_late_ms = 0;
    sw->mark = (marks){r->snapshots, r->msgs_up, r->corrections, r->bytes_down, r->bytes_up};
    sw->mark_us = now;
}

/* Chaos: each playing bot leaves with probability chaos_prob per second. */
static void chaos_round(swarm *sw)
{
    for (int i = 0; i < sw->cfg.bots; i++) {
        bot *b = &sw->bots[i];
        if (b->state != B_PLAYING || b->closing || rand01(&sw->rng) >= sw->cfg.chaos_prob)
            continue;
        b->closing = CK_CHAOS;
        sw->res.chaos_closes++;
        lws_callback_on_writable(b->wsi);
    }
}

static void second_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, second_sul);
    lws_usec_t now = lws_now_usecs();
    take_sample(sw, now);
    if (sw->cfg.behavior == BEHAVIOR_CHAOS && (double)(now - sw->t0) / 1e6 < sw->cfg.duration_s - 0.5)
        chaos_round(sw);
    lws_usec_t next = sw->t0 + (lws_usec_t)(sw->res.nseries + 1) * LWS_US_PER_SEC;
    lws_sul_schedule(sw->ctx, 0, &sw->second_sul, second_cb, next - now > 0 ? next - now : 1);
}

static void status_line(swarm *sw, lws_usec_t now)
{
    double dt = (double)(now - sw->status_us) / 1e6;
    if (dt <= 0)
        return;
    double snaps = (double)(sw->res.snapshots - sw->status_snaps) / dt;
    double kbs = (double)(sw->res.bytes_down - sw->status_down) / dt / 1000.0;
    sw->status_snaps = sw->res.snapshots;
    sw->status_down = sw->res.bytes_down;
    sw->status_us = now;
    /* RTT over the last full second (or what this second has so far). */
    const swarm_sample *last = sw->res.nseries ? &sw->res.series[sw->res.nseries - 1] : NULL;
    double p50 = last && last->rtt_n ? last->rtt_p50_ms : hist_quantile(&sw->rtt_sec, 0.5);
    double p99 = last && last->rtt_n ? last->rtt_p99_ms : hist_quantile(&sw->rtt_sec, 0.99);
    char line[200];
    snprintf(line, sizeof line,
             "%5.1fs  connected %u/%d  rtt p50 %.1f ms p99 %.1f ms  snapshots/s %.0f  down %.1f KB/s",
             (double)(now - sw->t0) / 1e6, sw->playing, sw->cfg.bots, p50, p99, snaps, kbs);
    if (sw->cfg.status_tty) {
        printf("\r\033[K%s", line);
        sw->status_shown = 1;
    } else {
        printf("tickwire-bots: %s\n", line);
    }
    fflush(stdout);
}

static void status_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, status_sul);
    status_line(sw, lws_now_usecs());
    lws_sul_schedule(sw->ctx, 0, &sw->status_sul, status_cb, sw->cfg.status_tty ? 250000 : 2000000);
}

static void end_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, end_sul);
    sw->done = 1;
}

/* While closing: wakes the service loop so it can check the deadline. */
static void wake_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, end_sul);
    lws_sul_schedule(sw->ctx, 0, &sw->end_sul, wake_cb, 100000);
}

/* ---- the service loop ------------------------------------------------------------ */

/* When the earliest of the swarm's suls is due (absolute), 0 if none. */
static lws_usec_t next_due(const swarm *sw)
{
    const lws_sorted_usec_list_t *suls[] = {&sw->connect_sul, &sw->tick_sul, &sw->second_sul, &sw->status_sul,
                                            &sw->end_sul};
    lws_usec_t due = 0;
    for (size_t i = 0; i < sizeof suls / sizeof suls[0]; i++)
        if (suls[i]->list.owner && (!due || suls[i]->us < due))
            due = suls[i]->us;
    return due;
}

/* lws 4.1.6 waits in poll() for whole milliseconds, rounded down
 * (lib/plat/unix/unix-service.c): in the last millisecond before a sul is
 * due, lws_service() returns at once and the loop spins on poll(0) over
 * every socket. With the bots' tick slots (hundreds of suls a second) that
 * spin alone took a third of a core for 50 bots. So when a sul is due in
 * under 1 ms and lws has nothing buffered, wait for it here instead, with
 * ppoll() on the bots' sockets so arriving data still ends the wait at
 * once. (A bot whose socket lws is waiting to write to waits at most that
 * millisecond.) */
static void nap(swarm *sw)
{
    lws_usec_t due = next_due(sw), now = lws_now_usecs();
    if (!due || due <= now || due - now >= LWS_US_PER_MS)
        return;
    if (!lws_service_adjust_timeout(sw->ctx, 1, 0))
        return; /* lws holds data it has read but not delivered yet */
    nfds_t n = 0;
    for (int i = 0; i < sw->cfg.bots; i++) {
        const bot *b = &sw->bots[i];
        if (b->fd >= 0)
            sw->pfds[n++] = (struct pollfd){b->fd, POLLIN, 0};
    }
    struct timespec ts = {0, (long)(due - now) * 1000};
    ppoll(sw->pfds, n, &ts, NULL);
    sw->naps++;
}

/* One round of the event loop. */
static int service(swarm *sw)
{
    nap(sw);
    return lws_service(sw->ctx, 0);
}

/* ---- the run ------------------------------------------------------------------------- */

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Stops measuring and turns the counters into the result's figures. */
static void finish(swarm *sw)
{
    lws_usec_t now = lws_now_usecs();
    swarm_result *r = &sw->res;
    lws_sul_cancel(&sw->connect_sul);
    lws_sul_cancel(&sw->tick_sul);
    lws_sul_cancel(&sw->second_sul);
    lws_sul_cancel(&sw->status_sul);
    lws_sul_cancel(&sw->end_sul);
    if (now - sw->mark_us >= 100000 || r->nseries == 0)
        take_sample(sw, now);
    if (sw->status_shown) {
        status_line(sw, now);
        printf("\n");
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->cpu_user_s = tv_s(ru.ru_utime) - tv_s(sw->ru0.ru_utime);
    r->cpu_sys_s = tv_s(ru.ru_stime) - tv_s(sw->ru0.ru_stime);
    r->max_rss_kb = ru.ru_maxrss;

    r->elapsed_s = (double)(now - sw->t0) / 1e6;
    r->connected_end = 0;
    double rate = r->snapshot_rate;
    r->min_bot_pct = 0;
    for (int i = 0; i < sw->cfg.bots; i++) {
        bot *b = &sw->bots[i];
        if (b->state == B_CONNECTING || b->state == B_OPEN)
            r->pending_at_end++;
        if (b->state == B_PLAYING) {
            b->connected_us += (uint64_t)(now - b->welcome_us);
            b->welcome_us = now;
            r->connected_end += !b->closing;
        }
        r->bot_seconds += (double)b->connected_us / 1e6;
        if (b->connected_us >= MIN_MEASURED_US && rate > 0) {
            double pct = 100.0 * b->snapshots / ((double)b->connected_us / 1e6 * rate);
            if (r->bots_measured++ == 0 || pct < r->min_bot_pct)
                r->min_bot_pct = pct;
            if (pct < 99.0)
                r->bots_below_99++;
        }
    }
    r->snapshots_expected = r->bot_seconds * rate;

    r->rtt_n = sw->rtt.n;
    r->rtt_mean_ms = hist_mean(&sw->rtt);
    r->rtt_p50_ms = hist_quantile(&sw->rtt, 0.50);
    r->rtt_p95_ms = hist_quantile(&sw->rtt, 0.95);
    r->rtt_p99_ms = hist_quantile(&sw->rtt, 0.99);
    r->rtt_max_ms = sw->rtt.max;
    r->interval_n = sw->interval.n;
    r->interval_mean_ms = hist_mean(&sw->interval);
    r->interval_stddev_ms = hist_stddev(&sw->interval);
    r->interval_p99_ms = hist_quantile(&sw->interval, 0.99);
    r->interval_max_ms = sw->interval.max;
    sw->measuring = 0;
}

/* Closes every bot: a close frame for open ones, a kill for half-open
 * ones; bounded by CLOSE_GIVE_UP_US (lws_context_destroy does the rest). */
static void close_all(swarm *sw)
{
    sw->ending = 1;
    for (int i = 0; i < sw->cfg.bots; i++) {
        bot *b = &sw->bots[i];
        if (!b->wsi)
            continue;
        if (b->state == B_OPEN || b->state == B_PLAYING) {
            if (!b->closing)
                b->closing = CK_END;
            lws_callback_on_writable(b->wsi);
        } else {
            lws_set_timeout(b->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    lws_usec_t start = lws_now_usecs();
    int killed = 0;
    lws_sul_schedule(sw->ctx, 0, &sw->end_sul, wake_cb, 100000);
    while (sw->live > 0 && lws_now_usecs() - start < CLOSE_GIVE_UP_US) {
        if (service(sw) < 0)
            break;
        if (!killed && lws_now_usecs() - start > CLOSE_KILL_US) {
            killed = 1;
            for (int i = 0; i < sw->cfg.bots; i++)
                if (sw->bots[i].wsi)
                    lws_set_timeout(sw->bots[i].wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    lws_sul_cancel(&sw->end_sul);
}

void swarm_run(swarm *sw, volatile sig_atomic_t *stop, void (*at_end)(void *), void *arg, swarm_result *res)
{
    sw->stop = stop;
    getrusage(RUSAGE_SELF, &sw->ru0);
    sw->mark_cpu_s = cpu_seconds();
    sw->t0 = sw->mark_us = sw->status_us = lws_now_usecs();
    sw->measuring = 1;
    lws_sul_schedule(sw->ctx, 0, &sw->connect_sul, connect_cb, 1);
    lws_sul_schedule(sw->ctx, 0, &sw->second_sul, second_cb, LWS_US_PER_SEC);
    if (!sw->cfg.quiet)
        lws_sul_schedule(sw->ctx, 0, &sw->status_sul, status_cb, sw->cfg.status_tty ? 250000 : 2000000);
    lws_sul_schedule(sw->ctx, 0, &sw->end_sul, end_cb, (lws_usec_t)(sw->cfg.duration_s * 1e6));
    while (!sw->done && !(stop && *stop))
        if (service(sw) < 0)
            break;
    finish(sw);
    if (at_end)
        at_end(arg);
    close_all(sw);
    *res = sw->res;
    sw->res.series = NULL; /* now owned by res */
}

void swarm_wake(swarm *sw)
{
    lws_cancel_service(sw->ctx);
}

swarm *swarm_create(const swarm_config *cfg, char *err, size_t errlen)
{
    swarm *sw = calloc(1, sizeof *sw);
    if (!sw)
        goto oom;
    sw->cfg = *cfg;
    sw->rng = cfg->seed ^ 0x5bd1e995u;
    sw->phases = cfg->phases < 1 ? 1 : cfg->phases > SWARM_MAX_PHASES ? SWARM_MAX_PHASES : cfg->phases;
    if (sw->phases > cfg->bots)
        sw->phases = cfg->bots;
    sw->res.phases = sw->phases;
    sw->bots = calloc((size_t)cfg->bots, sizeof *sw->bots);
    sw->series_cap = (int)ceil(cfg->duration_s) + 4;
    sw->res.series = calloc((size_t)sw->series_cap, sizeof *sw->res.series);
    sw->pfds = calloc((size_t)cfg->bots, sizeof *sw->pfds);
    if (!sw->bots || !sw->res.series || !sw->pfds)
        goto oom;
    for (int i = 0; i < cfg->bots; i++) {
        sw->bots[i].sw = sw;
        sw->bots[i].index = (uint32_t)i;
        sw->bots[i].fd = -1;
    }
    sw->protocols[0] = (struct lws_protocols){
        .name = PROTO_SUBPROTOCOL,
        .callback = bot_callback,
        .per_session_data_size = 0, /* each bot is its wsi's user data */
        .rx_buffer_size = RX_MAX,   /* whole server frames in one RECEIVE */
        .tx_packet_size = PROTO_MAX_CLIENT_MSG,
    };
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = sw->protocols;
    info.user = sw;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    sw->ctx = lws_create_context(&info);
    if (!sw->ctx) {
        snprintf(err, errlen, "cannot create the lws client context");
        swarm_destroy(sw);
        return NULL;
    }
    return sw;
oom:
    snprintf(err, errlen, "out of memory for %d bots", cfg->bots);
    swarm_destroy(sw);
    return NULL;
}

void swarm_destroy(swarm *sw)
{
    if (!sw)
        return;
    if (sw->ctx)
        lws_context_destroy(sw->ctx); /* may still call back into the bots */
    if (sw->bots)
        for (int i = 0; i < sw->cfg.bots; i++)
            free(sw->bots[i].rx);
    free(sw->bots);
    free(sw->pfds);
    free(sw->res.series);
    free(sw);
}

void swarm_result_free(swarm_result *res)
{
    free(res->series);
    res->series = NULL;
}
