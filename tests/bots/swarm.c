/* swarm: see swarm.h.
 *
 * A bot's life: IDLE -> (demo mode) TOKEN, POST /api/join -> connect ->
 * CONNECTING -> (ws established) OPEN, JOIN written -> (WELCOME) PLAYING
 * -> closed -> IDLE, or DEAD after an auth refusal. A failure is a failed
 * token request, a NULL from lws_client_connect_via_info, a
 * CLIENT_CONNECTION_ERROR, or a close before WELCOME; each is counted with
 * its reason. A close after WELCOME that the bot did not ask for is a
 * disconnect, counted by close code and reason. WSI_DESTROY always comes
 * last and is where the wsi is forgotten.
 *
 * A takeover drop leaves the old connection open (an "orphan") while the
 * bot resumes on a new one; the orphan's callbacks are ignored except its
 * close (the server should close it: "resumed on another connection") and
 * its WSI_DESTROY. It is killed after ORPHAN_KILL_S if the server does not.
 *
 * Everything runs on the lws service thread; the only cross-thread entry
 * is swarm_wake (lws_cancel_service) for a signal. */
#define _GNU_SOURCE /* ppoll */
#include "swarm.h"
#include "memo.h"

#include <assert.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "auth.h"
#include "hfread.h"
#include "client.h"
#include "delay.h"
#include "hist.h"
#include "http.h"
#include "proto.h"

#define RX_MAX (PROTO_MAX_SNAPSHOT > PROTO_MAX_WELCOME ? PROTO_MAX_SNAPSHOT : PROTO_MAX_WELCOME)
#define MAX_CATCHUP_TICKS 4        /* bot ticks run back to back after a stall */
#define RECONNECT_POLL_US 20000    /* how often due (re)connects are looked for */
#define BLOCKED_POLL_US 2000       /* ... while max_connecting attempts are in flight */
#define ORPHAN_KILL_S 5            /* takeover: the old connection is killed after this */
#define TOKEN_MAX_AGE_US 45000000  /* an unused demo token (valid 60 s) is fetched again after this */
#define CHAOS_QUIET_S 2.0          /* no drops in the run's last seconds (plus the backoff cap) */
#define MAX_TOKEN_BODY 1024
#define MAX_METRICS_BODY (1u << 20)
#define CLOSE_KILL_US 1500000      /* end: unanswered closes are killed after this */
#define CLOSE_GIVE_UP_US 2500000   /* end: the context is destroyed after this */
#define MIN_MEASURED_US 1000000    /* per-bot snapshot % only for bots connected this long */
#define SHOT_RING 16               /* shots waiting for their ack (one per 12 inputs at 60 Hz; 60 may wait) */

enum bot_state { B_IDLE, B_TOKEN, B_CONNECTING, B_OPEN, B_PLAYING, B_DEAD };
enum close_kind { CK_NONE, CK_CHAOS, CK_END, CK_RECORDED };

/* A shot the bot's prediction fired, until the snapshot that acknowledges
 * its input says whether the server's hits counter moved. */
typedef struct shot_rec {
    uint32_t seq;             /* the input that fired; 0: a free entry */
    int16_t target;           /* who it hit on the bot's screen, -1: a miss */
    uint8_t target_life, target_gen, self_life; /* as known when it was fired */
    uint8_t view_frac;
    uint16_t round;
    uint32_t view_tick;       /* the view the input carried (what was drawn) */
} shot_rec;

typedef struct bot {
    uint32_t magic;           /* first, 0: not an http_req (see http_is_req) */
    struct lws *wsi;
    struct lws *orphan;       /* takeover: the old connection, still open */
    http_req *http;           /* token request in flight */
    swarm *sw;
    uint32_t index;
    uint8_t state;
    uint8_t closing;          /* close_kind: why the bot itself is closing */
    uint8_t in_connect;       /* inside lws_client_connect_via_info */
    uint8_t join_sent;
    uint8_t peer_closed;      /* the server sent a close frame */
    uint8_t failed_now;       /* this attempt's failure is already counted */
    uint8_t ever_played;
    uint8_t resuming;         /* this connection's JOIN carries only the resume token */
    uint8_t away;             /* dropped: trying to get its player back */
    uint8_t refused_now;      /* this attempt got 4002 "resume expired" */
    uint8_t auth_now;         /* this attempt got an auth refusal */
    uint8_t have_token;
    uint8_t drop_kind;        /* SWARM_DROP_*, of the current outage */
    uint8_t left;             /* chaos leave: the next fresh join is a comeback */
    uint8_t scheduled;        /* start_at is set */
    uint8_t spectator;        /* a spectator connection (index >= cfg.bots): joins to watch, sends nothing */
    int fd;                   /* the socket once established, else -1 (a chaos reset shuts it down) */
    uint16_t held_match, held_player; /* the player to resume */
    uint32_t attempts, sessions, drops;
    uint32_t fails;           /* failed attempts since the last WELCOME (backoff exponent) */
    uint32_t snapshots;       /* while measuring, all sessions */
    uint32_t session_snaps;
    uint64_t connected_us;    /* while measuring, all sessions */
    lws_usec_t start_at;      /* next attempt (when scheduled) */
    lws_usec_t drop_at;       /* chaos: drop at this moment, 0 = none */
    lws_usec_t drop_us;       /* when the current outage began */
    lws_usec_t token_us;      /* when the token was requested, then received */
    lws_usec_t welcome_us, last_snap_us;
    uint8_t *rx;              /* only for messages split over several frames */
    uint32_t rx_len;
    /* network delay (sw->delay): this connection's messages in flight */
    delay_queue dq_out, dq_in;
    lws_usec_t close_due;     /* chaos close/leave: the close frame goes out then, 0 = at once */
    lws_usec_t dheap_due;     /* when something of this bot is due next (its key in sw->dheap) */
    uint32_t dheap_i;         /* its place in sw->dheap + 1, 0 = not there */
    uint8_t out_wanted;       /* WRITEABLE asked for a due message (or the close) */
    char token[PROTO_MAX_TOKEN + 1];
    /* matchmaker mode: the process the matchmaker sent it to */
    char t_host[48];
    char t_host_header[72];
    int t_port;
    uint32_t mm_attempt;      /* request ids are bot-N-<seed>-<attempt>: the same id when retried */
    behavior_state beh;
    shot_rec shots[SHOT_RING];
    uint32_t shot_next;       /* entry the next shot goes into (mod SHOT_RING) */
    uint8_t killer[PROTO_MAX_ENTITIES]; /* who killed each player last (kill events), 0xff: nobody */
    uint8_t transport;        /* this bot's now: SWARM_T_WS or SWARM_T_HTTP */
    uint8_t fb_reason;        /* auto: why it fell back (HF_FB_*), 0: it did not */
    uint8_t fb_pending;       /* auto: fell back just now, its HTTP attempt is to be scheduled */
    lws_usec_t attempt_us;    /* when the current attempt's connection was asked for */
    struct hfbot *hf;         /* the HTTP fallback's connections, NULL until used */
    cl_client cl;
} bot;

/* Samples kept for exact quantiles (token fetches, resumes: thousands). */
typedef struct samples {
    float *v;
    size_t n, cap;
} samples;

/* Totals at the start of the current second, for the time series. */
typedef struct marks {
    uint64_t snapshots, msgs_up, corrections, bytes_down, bytes_up;
    uint32_t drops, resumed;
} marks;

struct swarm {
    memo *memo;               /* snapshot bodies decoded once for every bot that got the same bytes */
    swarm_config cfg;
    struct lws_context *ctx;
    struct lws_protocols protocols[4];
    http_target http;
    http_target mm_http;      /* the matchmaker (the same server, with the bearer token) */
    int ssl_flags;
    bot *bots;
    int nconn;                /* cfg.bots + cfg.spectators: the entries of bots[] */
    uint32_t watching;        /* spectators connected (WELCOME received) */
    uint16_t spec_matches[64];
    uint64_t rng;
    volatile sig_atomic_t *stop;
    int done, measuring, ending;
    lws_usec_t t0;
    uint32_t next_connect;
    uint32_t playing;         /* bots in B_PLAYING */
    uint32_t pending;         /* bots in B_TOKEN, B_CONNECTING or B_OPEN */
    uint32_t scheduled;       /* bots with a start_at */
    uint32_t live;            /* bot wsis not destroyed yet (orphans included) */
    samples token_ms, resume_ms, rejoin_ms;
    int cscrape_started;
    http_req *cscrape;
    http_req *mscrape;        /* the per-second GET /metrics in flight (on_metrics) */
    lws_sorted_usec_list_t connect_sul, tick_sul, second_sul, status_sul, end_sul, http_sul;
    int phases;               /* bot tick slots per tick period */
    lws_usec_t tick_t0;       /* the bots' clock started here */
    uint64_t slot_k;          /* next sub-tick */
    uint32_t input_acc[SWARM_MAX_PHASES];
    uint8_t *slot_of;         /* bots[i] ticks in slot slot_of[i] (input timing moves it) */
    uint32_t *acted;          /* ... and last ticked in the bots' tick acted[i] - 1 (slot_k / phases; 0: never) */
    hist rtt, rtt_sec, interval;
    hist view_age;            /* fight: a shot's view to the tick the server judged it, ms */
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
    /* network delay: bots with queued messages, a min-heap on dheap_due;
     * delay_sul fires for the root */
    int delay;                /* latency or jitter configured */
    bot **dheap;
    uint32_t dheap_n;
    lws_sorted_usec_list_t delay_sul;
    lws_usec_t delay_armed;   /* the due time delay_sul is set for, 0 = not set */
    int delay_busy;           /* inside delay_cb: arm once at its end */
    uint32_t delay_full_logged;
    cl_view_ent view[PROTO_MAX_ENTITIES]; /* fight: what the bot being ticked draws */
    uint8_t tx[LWS_PRE + PROTO_MAX_JOIN_MSG];
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
    if (sw->cfg.transport == SWARM_T_AUTO && b->transport == SWARM_T_WS && !b->ever_played && !b->auth_now &&
        !b->spectator) {
        /* --transport auto: the WebSocket did not get through; HTTP from
         * now on (counted as a fallback, not a failure). */
        b->transport = SWARM_T_HTTP;
        b->fb_reason = 1; /* HF_FB_UPGRADE */
        b->fb_pending = 1;
        if (sw->measuring)
            sw->res.fallbacks_upgrade++;
        return;
    }
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

/* ---- state, samples, backoff ------------------------------------------------ */

static int is_pending(int st)
{
    return st == B_TOKEN || st == B_CONNECTING || st == B_OPEN;
}

static void start_connected_scrape(swarm *sw);
static void hf_post_inputs(bot *b);
static void hf_connect(bot *b);
static void hf_end(bot *b);
static int hf_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
static void start_metrics_scrape(swarm *sw);
static void shots_forget(swarm *sw, bot *b);
static void delay_reset(bot *b);
static void delay_update(bot *b);
static int delay_in(bot *b, struct lws *wsi, const uint8_t *msg, size_t len);

/* Every state change goes through here: it keeps the counts of playing
 * and in-flight bots. */
static void set_state(bot *b, int st)
{
    swarm *sw = b->sw;
    if (is_pending(b->state))
        sw->pending--;
    if (b->state == B_PLAYING && b->spectator)
        sw->watching--;
    else if (b->state == B_PLAYING)
        sw->playing--;
    b->state = (uint8_t)st;
    if (is_pending(st))
        sw->pending++;
    if (st == B_PLAYING && b->spectator) {
        if (++sw->watching > sw->res.spec_connected_max)
            sw->res.spec_connected_max = sw->watching;
    } else if (st == B_PLAYING) {
        if (++sw->playing > sw->res.connected_max)
            sw->res.connected_max = sw->playing;
        if (sw->playing == (uint32_t)sw->cfg.bots)
            start_connected_scrape(sw);
    }
}

static void samples_add(samples *s, double v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        float *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return; /* a sample less: the figure stays honest about n */
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = (float)v;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank, as hist_quantile. */
static void samples_quant(samples *s, swarm_quant *q)
{
    memset(q, 0, sizeof *q);
    q->n = (uint32_t)s->n;
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_float);
    size_t r50 = (size_t)ceil(0.50 * (double)s->n), r99 = (size_t)ceil(0.99 * (double)s->n);
    q->p50 = s->v[(r50 ? r50 : 1) - 1];
    q->p99 = s->v[(r99 ? r99 : 1) - 1];
    q->max = s->v[s->n - 1];
}

/* Full jitter: random(0, min(max, base * 2^k)), the browser's policy
 * (cl_backoff_ms) with the bots' --backoff-* options. */
static lws_usec_t backoff_us(swarm *sw, uint32_t k)
{
    int attempt = k > 30 ? 30 : (int)k;
    return (lws_usec_t)cl_backoff_ms(attempt, rand01(&sw->rng), (uint32_t)sw->cfg.backoff_base_ms,
                                     (uint32_t)sw->cfg.backoff_max_ms) * 1000;
}

static void connect_cb(lws_sorted_usec_list_t *sul);

static void schedule(bot *b, lws_usec_t at)
{
    swarm *sw = b->sw;
    if (!b->scheduled)
        sw->scheduled++;
    b->scheduled = 1;
    b->start_at = at;
    if (!sw->connect_sul.list.owner) /* the ramp is over and nothing else was due */
        lws_sul_schedule(sw->ctx, 0, &sw->connect_sul, connect_cb, RECONNECT_POLL_US);
}

static void unschedule(bot *b)
{
    if (b->scheduled)
        b->sw->scheduled--;
    b->scheduled = 0;
}

/* The bot lost the player's connection (a chaos drop, or one it did not ask
 * for in chaos mode): keep the player and come back for it. */
static void away_begin(bot *b, lws_usec_t now, int kind)
{
    if (b->away)
        return;
    b->away = 1;
    b->fails = 0;
    if (!b->drop_us)
        b->drop_us = now;
    b->drop_kind = (uint8_t)kind;
    b->held_match = b->cl.welcome.match_id;
    b->held_player = b->cl.welcome.player_id;
    cl_disconnected(&b->cl);
}

/* The connection is gone: account its connected time and decide what comes
 * next (in chaos mode: a resume, a fresh join after a refusal, or a retry
 * after a failure, each with backoff). Idempotent. */
static void session_end(bot *b)
{
    swarm *sw = b->sw;
    delay_reset(b); /* the connection's messages in flight go with it */
    if (b->state == B_IDLE || b->state == B_DEAD)
        return;
    lws_usec_t now = lws_now_usecs();
    int chaos = sw->cfg.behavior == BEHAVIOR_CHAOS;
    if (b->spectator)
        chaos = 0; /* a spectator has no player to get back */
    int mm = sw->cfg.mm_bearer != NULL && !b->spectator; /* a fleet: come back, through the matchmaker if need be */
    if (b->state == B_PLAYING) {
        if (sw->measuring)
            b->connected_us += (uint64_t)(now - b->welcome_us);
        if (chaos && b->closing == CK_CHAOS && b->drop_kind == SWARM_DROP_LEAVE) {
            b->left = 1; /* no player to get back: a new one, after a while */
            b->drop_us = 0;
            b->cl.have_resume = 0;
        } else if (chaos && b->closing == CK_CHAOS) {
            away_begin(b, now, b->drop_kind);
        } else if ((chaos || mm) && !b->closing && sw->measuring && !sw->ending) {
            sw->res.drops++;
            sw->res.drops_by[SWARM_DROP_SERVER]++;
            sw->res.bots_dropped += b->drops++ == 0;
            b->drop_us = now;
            away_begin(b, now, SWARM_DROP_SERVER);
        }
    } else if (b->resuming && b->join_sent && !b->refused_now && !b->auth_now && sw->measuring) {
        sw->res.resume_lost++;
    }
    b->fd = -1;
    b->rx_len = 0;
    if (b->auth_now) {
        set_state(b, B_DEAD); /* never again: the server said no to this token */
        b->away = 0;
        return;
    }
    set_state(b, B_IDLE);
    if (!sw->measuring || sw->ending)
        return;
    if (b->fb_pending) {
        b->fb_pending = 0;
        schedule(b, now);
        return;
    }
    if (b->refused_now) {
        /* The hold is gone: a new token and a fresh player, at once. */
        b->cl.have_resume = 0;
        schedule(b, now);
        return;
    }
    if (!chaos && !mm)
        return;
    if (b->failed_now)
        b->fails++;
    if (mm && b->away && b->resuming && b->fails >= 2) {
        /* Its process is gone (two resumes failed): a new player, wherever
         * the matchmaker sends it. */
        b->cl.have_resume = 0;
        b->have_token = 0;
    }
    if (mm && b->failed_now && !b->resuming)
        b->have_token = 0; /* that process did not take it: ask the matchmaker again */
    if (b->away || b->failed_now || b->left)
        schedule(b, now + backoff_us(sw, b->fails));
}

/* ---- connecting -------------------------------------------------------------- */

/* No lws validity timers: lws 4.1.6 files a connection's timer in one
 * sorted list, walked from its head, at the upgrade and as frames arrive:
 * O(connections) each, 4% of the bots' CPU while 10,000 spectators
 * connect. A bot's liveness is its snapshots. The context's policy covers
 * only its vhost: a client connection takes its own (connect info) or the
 * context's default, which has them (lib/core-net/connect.c). */
static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

static void bot_connect(swarm *sw, bot *b, int resume)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = sw->ctx;
    int mm = sw->cfg.mm_bearer && !b->spectator;
    ci.address = mm ? b->t_host : sw->cfg.host;
    ci.port = mm ? b->t_port : sw->cfg.port;
    ci.path = sw->cfg.path;
    ci.host = mm ? b->t_host_header : sw->cfg.host_header;
    ci.ssl_connection = sw->ssl_flags;
    ci.alpn = "http/1.1";
    /* No Origin header: a bot is not a browser page (the server checks
     * browser origins before the upgrade). */
    ci.protocol = PROTO_SUBPROTOCOL;
    ci.userdata = b;
    ci.pwsi = &b->wsi;
    ci.retry_and_idle_policy = &no_validity;

    /* The memo shares decodes within one server's stream only. */
    b->cl.body_key = 1469598103934665603ull;
    for (const char *h = ci.address; *h; h++)
        b->cl.body_key = (b->cl.body_key ^ (uint8_t)*h) * 1099511628211ull;
    b->cl.body_key ^= (uint64_t)ci.port << 48;
    if (!resume) {
        uint64_t key = b->cl.body_key;
        cl_release(&b->cl); /* the previous player's shared snapshots */
        cl_init(&b->cl);    /* a new player */
        b->cl.body_key = key;
        b->cl.body_reader = memo_body_read; /* decode once per distinct body, check many, share the result */
        b->cl.body_release = memo_body_release;
        b->cl.body_user = sw->memo;
        if (b->spectator)
            cl_set_spectate(&b->cl, sw->cfg.spectate_match);
        shots_forget(sw, b);
        memset(b->killer, 0xff, sizeof b->killer); /* nobody killed yet */
    }
    b->resuming = (uint8_t)resume;
    set_state(b, B_CONNECTING);
    b->closing = CK_NONE;
    b->join_sent = b->peer_closed = b->failed_now = b->refused_now = b->auth_now = 0;
    b->rx_len = 0;
    if (b->attempts++)
        sw->res.reconnect_attempts++;
    sw->res.connect_attempts++;
    b->attempt_us = lws_now_usecs();
    if (b->transport == SWARM_T_HTTP) {
        hf_connect(b);
        return;
    }

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

static void token_done(void *arg, int status, const char *body, size_t len, const char *err, int connect_failed)
{
    bot *b = arg;
    swarm *sw = b->sw;
    (void)connect_failed;
    b->http = NULL;
    if (b->state != B_TOKEN)
        return;
    set_state(b, B_IDLE);
    lws_usec_t now = lws_now_usecs();
    if (status == 200 && auth_parse_join_response(body, len, b->token, sizeof b->token)) {
        sw->res.tokens_received++;
        samples_add(&sw->token_ms, (double)(now - b->token_us) / 1000.0);
        b->have_token = 1;
        b->token_us = now;
        if (sw->measuring && !sw->ending)
            bot_connect(sw, b, 0);
        return;
    }
    char why[112];
    if (err)
        snprintf(why, sizeof why, "POST /api/join: %.90s", err);
    else if (status == 200)
        snprintf(why, sizeof why, "POST /api/join: no token in the answer");
    else if (status == 404)
        snprintf(why, sizeof why, "POST /api/join: HTTP 404 (not a demo server: give --token-secret-file)");
    else
        snprintf(why, sizeof why, "POST /api/join: HTTP %d", status);
    sw->res.tokens_failed++;
    reasons_add(&sw->res.token_failures, 0, why);
    bot_fail(b, 0, why);
    if (status == 404) {
        set_state(b, B_DEAD); /* asking again will not help */
        return;
    }
    if (sw->cfg.behavior == BEHAVIOR_CHAOS && sw->measuring && !sw->ending)
        schedule(b, now + backoff_us(sw, ++b->fails));
}

/* A string field of a flat JSON answer ("" when absent). */
static void json_field(const char *body, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(body, pat);
    size_t n = 0;
    if (p)
        for (p += strlen(pat); *p && *p != '"' && n + 1 < cap; p++)
            out[n++] = *p;
    out[n] = '\0';
}

/* POST /api/matchmake's answer: {"process","url","token",...}. The URL
 * must be http(s)://ADDRESS:PORT/ with a numeric IPv4 address (the bots
 * never look names up once running). No answer: asked again later with
 * the same request id, so a retry gets the same seat. */
static void mm_done(void *arg, int status, const char *body, size_t len, const char *err, int connect_failed)
{
    bot *b = arg;
    swarm *sw = b->sw;
    (void)len;
    (void)connect_failed;
    b->http = NULL;
    if (b->state != B_TOKEN)
        return;
    set_state(b, B_IDLE);
    lws_usec_t now = lws_now_usecs();
    char url[128] = "", why[200] = "";
    if (status == 200) {
        json_field(body, "url", url, sizeof url);
        json_field(body, "token", b->token, sizeof b->token);
        const char *h = strncmp(url, "http://", 7) == 0 ? url + 7 : strncmp(url, "https://", 8) == 0 ? url + 8 : NULL;
        const char *colon = h ? strchr(h, ':') : NULL;
        struct in_addr a4;
        char host[48] = "";
        if (h && colon && (size_t)(colon - h) < sizeof host) {
            memcpy(host, h, (size_t)(colon - h));
            host[colon - h] = '\0';
        }
        int port = colon ? atoi(colon + 1) : 0;
        if (b->token[0] && h && port > 0 && port < 65536 && inet_pton(AF_INET, host, &a4) == 1) {
            snprintf(b->t_host, sizeof b->t_host, "%s", host);
            snprintf(b->t_host_header, sizeof b->t_host_header, "%s:%d", host, port);
            b->t_port = port;
            sw->res.mm_seats++;
            sw->res.tokens_received++;
            samples_add(&sw->token_ms, (double)(now - b->token_us) / 1000.0);
            b->have_token = 1;
            b->token_us = now;
            b->mm_attempt++; /* the next request is another attempt */
            if (sw->measuring && !sw->ending)
                bot_connect(sw, b, 0);
            return;
        }
        snprintf(why, sizeof why, "POST /api/matchmake: no token, or a url without a numeric address: %.60s", url);
    } else if (err) {
        snprintf(why, sizeof why, "POST /api/matchmake: %.90s", err);
    } else {
        snprintf(why, sizeof why, "POST /api/matchmake: HTTP %d", status);
    }
    sw->res.mm_failed++;
    sw->res.tokens_failed++;
    reasons_add(&sw->res.token_failures, 0, why);
    bot_fail(b, 0, why);
    if (status == 401 || status == 404) {
        set_state(b, B_DEAD); /* asking again will not help */
        return;
    }
    if (sw->measuring && !sw->ending)
        schedule(b, now + backoff_us(sw, ++b->fails));
}

/* Starts the bot's next attempt: a resume when it has a player to get
 * back, else a fresh join with a new token. */
static void bot_start(swarm *sw, bot *b)
{
    unschedule(b);
    if (b->state != B_IDLE)
        return;
    b->failed_now = 0;
    if (b->away && b->cl.have_resume) {
        bot_connect(sw, b, 1);
        return;
    }
    lws_usec_t now = lws_now_usecs();
    if (b->have_token && now - b->token_us < TOKEN_MAX_AGE_US) {
        bot_connect(sw, b, 0); /* fetched, but its connection failed before the JOIN */
        return;
    }
    b->have_token = 0;
    sw->res.tokens_requested++;
    if (sw->cfg.mm_bearer && !b->spectator) {
        char path[160], err[160];
        snprintf(path, sizeof path, "/api/matchmake?request_id=bot-%u-%llx-%u&name=bot-%u&player_id=%u", b->index + 1,
                 (unsigned long long)(sw->cfg.seed & 0xffffffffffull), b->mm_attempt, b->index + 1, b->index + 1);
        b->token_us = now;
        set_state(b, B_TOKEN);
        b->http = http_start(&sw->mm_http, "POST", path, MAX_TOKEN_BODY, mm_done, b, err, sizeof err);
        if (!b->http)
            mm_done(b, 0, "", 0, err, 1);
        return;
    }
    if (sw->cfg.secret) {
        uint8_t nonce[16];
        lws_get_random(sw->ctx, nonce, sizeof nonce);
        if (!auth_mint(sw->cfg.secret, sw->cfg.secret_len, b->index + 1, nonce, (uint64_t)time(NULL), b->token,
                       sizeof b->token)) {
            sw->res.tokens_failed++;
            reasons_add(&sw->res.token_failures, 0, "token_mint failed");
            bot_fail(b, 0, "token_mint failed");
            return;
        }
        sw->res.tokens_received++;
        b->have_token = 1;
        b->token_us = now;
        bot_connect(sw, b, 0);
        return;
    }
    char path[64], err[160];
    snprintf(path, sizeof path, "/api/join?name=bot-%u", b->index + 1);
    b->token_us = now;
    set_state(b, B_TOKEN);
    b->http = http_start(&sw->http, "POST", path, MAX_TOKEN_BODY, token_done, b, err, sizeof err);
    if (!b->http)
        token_done(b, 0, "", 0, err, 1);
}

static void chaos_due(swarm *sw, lws_usec_t now);
static size_t write_input(bot *b, uint8_t *p, double now_ms);

/* Ramp: bot i starts at t0 + i * ramp / N. The same sul starts the
 * retries and reconnects that are due. At most max_connecting bots are in
 * flight (token request to WELCOME); the rest wait their turn. */
static void connect_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, connect_sul);
    lws_usec_t now = lws_now_usecs();
    uint32_t n = (uint32_t)sw->nconn, cap = (uint32_t)sw->cfg.max_connecting;
    double ramp_us = sw->cfg.ramp_s * 1e6;
    lws_usec_t next = 0;
    int blocked = 0;
    if (sw->cfg.behavior == BEHAVIOR_CHAOS)
        chaos_due(sw, now);
    if (sw->scheduled) {
        for (uint32_t i = 0; i < sw->next_connect; i++) {
            bot *b = &sw->bots[i];
            if (!b->scheduled || b->start_at > now)
                continue;
            if (sw->pending >= cap) {
                blocked = 1;
                break;
            }
            bot_start(sw, b);
        }
    }
    while (sw->next_connect < n) {
        lws_usec_t at = sw->t0 + (lws_usec_t)((double)sw->next_connect * ramp_us / n);
        if (at > now) {
            next = at;
            break;
        }
        if (sw->pending >= cap) {
            blocked = 1;
            break;
        }
        bot_start(sw, &sw->bots[sw->next_connect++]);
    }
    if (blocked)
        next = now + BLOCKED_POLL_US;
    else if (sw->scheduled || sw->cfg.behavior == BEHAVIOR_CHAOS)
        if (!next || next > now + RECONNECT_POLL_US)
            next = now + RECONNECT_POLL_US;
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

/* Fight: the bot draws its frame (cl_view advances the interpolation
 * clock, and the next input carries the render tick the others were drawn
 * at), then aims at what it drew. Between rounds (no damage) nobody is a
 * target. O(entities x CL_RING) for the view, the costly part. */
static sim_input fight_input(swarm *sw, bot *b, double now_ms)
{
    cl_client *c = &b->cl;
    uint64_t frames = c->stats.interp_frames, holds = c->stats.interp_holds;
    int n = cl_view(c, now_ms, sw->view, PROTO_MAX_ENTITIES);
    if (sw->measuring) {
        sw->res.interp_frames += c->stats.interp_frames - frames;
        sw->res.interp_holds += c->stats.interp_holds - holds;
    }
    const proto_snapshot *s = cl_latest(c);
    const float *self = c->have_self && !(c->predicted.flags & SIM_FLAG_DEAD) ? c->predicted.pos : NULL;
    if (!s || s->ms.phase == PROTO_PHASE_ENDED)
        n = 0;
    return behavior_next_fight(&b->beh, sw->res.tick_rate, &c->welcome.map, self, sw->view, n);
}

/* A shot the prediction just fired (input `seq`): counted, and kept until
 * its ack. A full ring forgets its oldest entry (counted as unacknowledged). */
static void shot_fired(swarm *sw, bot *b, uint32_t seq, uint32_t shots0, uint32_t hits0)
{
    cl_client *c = &b->cl;
    swarm_result *r = &sw->res;
    if (c->stats.shots == shots0 || !sw->measuring)
        return;
    r->shots += c->stats.shots - shots0;
    r->screen_hits += c->stats.screen_hits - hits0;
    shot_rec *e = &b->shots[b->shot_next++ % SHOT_RING];
    if (e->seq && e->target >= 0)
        r->hits_unacked++;
    const proto_snapshot *s = cl_latest(c);
    int t = c->last_shot_target;
    const sim_input *in = &c->pending[seq % CL_MAX_PENDING].in;
    *e = (shot_rec){.seq = seq, .target = (int16_t)t, .self_life = c->predicted.life, .view_tick = in->view_tick,
                    .view_frac = in->view_frac};
    if (s) {
        e->round = s->ms.round;
        if (t >= 0) {
            e->target_life = s->ent[t].life;
            e->target_gen = s->gen[t];
        }
    }
}

/* The INPUT written from the bots' tick, not from a WRITEABLE callback
 * that would cost a second pass of the loop and two changes of the poll
 * set per bot per tick (lws_callback_on_writable, then the write): what
 * the bot made goes out at the moment it was made, and its RTT starts
 * there. Only when lws holds no unsent remainder (a partial send waits
 * for WRITEABLE; lws would append this one behind it anyway) and no
 * --delay queue sits between the bot and the socket. A send that fails
 * here found the server gone (EPIPE, ECONNRESET) before poll() reported
 * it: the connection is killed at the next service and ends as the
 * server's close, as it would have a moment later. */
static void write_now(bot *b, double now_ms)
{
    size_t n = write_input(b, b->sw->tx + LWS_PRE, now_ms);
    if (!n)
        return;
    if (lws_write(b->wsi, b->sw->tx + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n) {
        lws_set_timeout(b->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    if (b->sw->measuring) {
        b->sw->res.bytes_up += n;
        b->sw->res.msgs_up++;
    }
    if (b->cl.sent_seq + 1 < b->cl.next_seq)
        lws_callback_on_writable(b->wsi);
}

/* Input timing: the bot's next input goes out in the next tick of the
 * bots' clock, in the slot that starts at or just before the moment
 * cl_plan_send names in that tick (which also makes it the tick the input
 * is judged against: a bot that ticks late for its plan, behind a crowded
 * slot or a busy process, is late, and its lead grows). `acted` keeps it
 * to one input a tick while it moves. */
static void move_slot(swarm *sw, int i, bot *b)
{
    if (!b->cl.have_grid)
        return;
    uint64_t next = (sw->slot_k / (uint64_t)sw->phases + 1) * (uint64_t)sw->phases;
    double start_ms = (double)slot_deadline(sw, next) / 1000.0;
    double slot_ms = 1000.0 / ((double)sw->res.tick_rate * sw->phases);
    int s = (int)((cl_plan_send(&b->cl, start_ms) - start_ms) / slot_ms);
    sw->slot_of[i] = (uint8_t)(s < 0 ? 0 : s >= sw->phases ? sw->phases - 1 : s);
}

/* One fixed tick of the playing bots in phase group `slot` (the bots whose
 * slot_of is `slot`: i % phases at first, then wherever input timing moved
 * them): one input each, predicted; every input-rate period the group's
 * unsent inputs are written. O(bots) byte compares and O(bots / phases)
 * bots ticked, and for fight a cl_view each. */
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
    uint32_t tick = (uint32_t)(sw->slot_k / (uint64_t)sw->phases) + 1;
    for (int i = 0; i < sw->cfg.bots; i++) {
        if (sw->slot_of[i] != slot || sw->acted[i] == tick)
            continue;
        sw->acted[i] = tick; /* once a tick, in whichever slot it moved to */
        bot *b = &sw->bots[i];
        int playing = b->state == B_PLAYING && !b->closing;
        /* Away (dropped, resuming): the player goes on pressing keys; the
         * inputs wait, up to CL_MAX_UNACKED, and go out after the resume. */
        int away = b->away && b->cl.have_resume && !playing;
        if (!playing && !away)
            continue;
        sim_input in = sw->cfg.behavior == BEHAVIOR_FIGHT ? fight_input(sw, b, now_ms) : behavior_next(&b->beh, rate);
        uint32_t shots0 = b->cl.stats.shots, hits0 = b->cl.stats.screen_hits;
        uint32_t seq = cl_push_input(&b->cl, in.buttons, in.aim, now_ms);
        if (seq) {
            shot_fired(sw, b, seq, shots0, hits0);
            sw->res.inputs++;
            sw->res.inputs_offline += (uint64_t)away;
        } else {
            sw->res.inputs_stalled++; /* CL_MAX_UNACKED unacked: the bot waits */
            sw->res.inputs_offline_waited += (uint64_t)away;
        }
        if (playing && flush && b->cl.sent_seq + 1 < b->cl.next_seq) {
            if (b->transport == SWARM_T_HTTP)
                hf_post_inputs(b);
            else if (!sw->delay && b->join_sent && !lws_partial_buffered(b->wsi))
                write_now(b, now_ms);
            else
                lws_callback_on_writable(b->wsi);
        }
        if (playing && sw->cfg.input_timing)
            move_slot(sw, i, b);
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

/* A spectator's WELCOME: it watches from now on. */
static void on_spectator_welcome(bot *b, lws_usec_t now)
{
    swarm *sw = b->sw;
    const proto_welcome *w = &b->cl.welcome;
    swarm_result *r = &sw->res;
    if (!r->spectator_rate)
        r->spectator_rate = w->snapshot_rate;
    int seen = 0;
    for (uint32_t i = 0; i < r->spec_matches_seen && i < 64; i++)
        seen |= sw->spec_matches[i] == w->match_id;
    if (!seen && r->spec_matches_seen < 64)
        sw->spec_matches[r->spec_matches_seen++] = w->match_id;
    if (!b->ever_played) {
        b->ever_played = 1;
        r->spec_ever_connected++;
    } else {
        r->reconnects++;
    }
    b->sessions++;
    b->welcome_us = now;
    b->last_snap_us = 0;
    b->session_snaps = 0;
    set_state(b, B_PLAYING);
}

static void on_welcome(bot *b, struct lws *wsi, lws_usec_t now)
{
    swarm *sw = b->sw;
    const proto_welcome *w = &b->cl.welcome;
    swarm_result *r = &sw->res;
    if (b->spectator) {
        on_spectator_welcome(b, now);
        return;
    }
    if (!r->tick_rate) {
        r->tick_rate = w->tick_rate;
        r->snapshot_rate = w->snapshot_rate;
        r->max_players = w->max_players;
        r->input_rate = sw->cfg.input_rate && sw->cfg.input_rate < w->tick_rate ? sw->cfg.input_rate : w->tick_rate;
        r->interval_nominal_ms = 1000.0 / w->snapshot_rate;
        /* Slots of at least 1 ms (lws' loop waits to the microsecond on
         * epoll_pwait2: scripts/lws-4.1.6-epoll.patch). */
        int max_phases = (int)(1000000 / w->tick_rate / 1000);
        if (sw->phases > max_phases)
            sw->phases = max_phases > 1 ? max_phases : 1;
        r->phases = sw->phases;
        for (int i = 0; i < sw->cfg.bots; i++)
            sw->slot_of[i] = (uint8_t)(i % sw->phases);
        sw->tick_t0 = now;
        sw->slot_k = 1;
        lws_sul_schedule(sw->ctx, 0, &sw->tick_sul, tick_cb, slot_deadline(sw, 1) - now);
    } else if (w->tick_rate != r->tick_rate || w->snapshot_rate != r->snapshot_rate) {
        r->rate_mismatch = 1;
    }
    if (b->resuming) {
        if (w->resumed && w->match_id == b->held_match && w->player_id == b->held_player) {
            r->resumed++;
            samples_add(&sw->resume_ms, (double)(now - b->drop_us) / 1000.0);
        } else if (w->resumed) {
            r->resumed_as_other++;
        } else {
            r->resume_unflagged++;
        }
    } else if (b->away) {
        r->rejoined++;
        if (b->drop_us)
            samples_add(&sw->rejoin_ms, (double)(now - b->drop_us) / 1000.0);
    } else if (b->left) {
        r->rejoined_after_leave++;
    }
    b->left = 0;
    b->away = 0;
    b->fails = 0;
    b->drop_us = 0;
    if (!w->resumed)
        shots_forget(sw, b); /* a new player: its seqs start again at 1 */
    if (!b->ever_played) {
        b->ever_played = 1;
        behavior_init(&b->beh, sw->cfg.behavior, sw->cfg.seed ^ ((uint64_t)(b->index + 1) * 0x9e3779b97f4a7c15ull),
                      r->tick_rate);
        r->ever_connected++;
    } else {
        r->reconnects++;
    }
    b->sessions++;
    b->welcome_us = now;
    b->last_snap_us = 0;
    b->session_snaps = 0;
    set_state(b, B_PLAYING);
    if (sw->measuring) {
        r->welcomes_http += b->transport == SWARM_T_HTTP;
        r->welcomes_ws += b->transport != SWARM_T_HTTP;
    }
    /* After a resume: the inputs made while away go out now. */
    if (b->cl.sent_seq + 1 < b->cl.next_seq) {
        if (wsi)
            lws_callback_on_writable(wsi);
        else
            hf_post_inputs(b);
    }
}

/* Entities present in the newest snapshot, and those whose state differs
 * from the previous snapshot (added, or any field changed). */
/* Bytes of the reliable-events section at the start of a snapshot's
 * payload (after the header): not entity bytes. */
static size_t events_section_len(const uint8_t *p, size_t len)
{
    if (len < 1 || p[0] == 0)
        return len < 1 ? 0 : 1;
    size_t off = 5;
    for (int i = 0; i < p[0] && off < len; i++) {
        proto_event ev;
        size_t used;
        if (proto_event_read(p + off, len - off, &ev, &used) != PROTO_OK)
            break;
        off += used;
    }
    return off < len ? off : len;
}

static void count_entities(swarm *sw, const cl_client *c, const uint8_t *msg, size_t len)
{
    int pi = (c->head + CL_RING - 1) % CL_RING;
    const proto_snapshot *cur = cl_slot(c, c->head);
    const proto_snapshot *prev = c->ring_tick[pi] ? cl_slot(c, pi) : NULL;
    int maxp = c->welcome.max_players < PROTO_MAX_ENTITIES ? c->welcome.max_players : PROTO_MAX_ENTITIES;
    uint32_t present = 0, moving = 0;
    for (int id = 0; id < maxp; id++) {
        if (!cur->present[id])
            continue;
        present++;
        const sim_netent *a = &cur->ent[id], *p = prev ? &prev->ent[id] : NULL;
        if (!p || !prev->present[id] || prev->gen[id] != cur->gen[id] || a->x != p->x || a->y != p->y ||
            a->vx != p->vx || a->vy != p->vy || a->aim != p->aim || a->flags != p->flags)
            moving++;
    }
    /* The entity body: what follows the header and the events section. */
    sw->res.body_bytes += len - PROTO_SNAPSHOT_HEADER_SIZE -
                          events_section_len(msg + PROTO_SNAPSHOT_HEADER_SIZE, len - PROTO_SNAPSHOT_HEADER_SIZE);
    sw->res.entity_snaps += present;
    sw->res.moving_snaps += moving;
    sw->res.entity_counted_snapshots++;
}

/* Forgets the shots waiting for an ack (a new player: its seqs start
 * again); the screen hits among them count as unacknowledged. */
static void shots_forget(swarm *sw, bot *b)
{
    for (int i = 0; i < SHOT_RING; i++) {
        if (b->shots[i].seq && b->shots[i].target >= 0 && sw->measuring)
            sw->res.hits_unacked++;
        b->shots[i].seq = 0;
    }
}

/* Why the server did not register a shot that hit on the bot's screen,
 * from the snapshot that acknowledged it: the round ended or restarted
 * (no damage, everyone respawned), the shooter was dead on the server by
 * then (its shot never fired there), the target was dead, respawned or
 * gone there (and whether the bot's own earlier shot killed it: the kill
 * was still on its way to the bot's screen), or none of these: the two
 * sides saw the shot differently. */
static void shot_lost(swarm_result *r, const bot *b, const shot_rec *e, const proto_snapshot *s, int me)
{
    int t = e->target;
    if (s->ms.round != e->round || s->ms.phase == PROTO_PHASE_ENDED)
        r->lost_round++;
    else if (!s->present[me] || (s->ent[me].flags & SIM_FLAG_DEAD) || s->ent[me].life != e->self_life)
        r->lost_shooter_dead++;
    else if (!s->present[t] || s->gen[t] != e->target_gen || (s->ent[t].flags & SIM_FLAG_DEAD) ||
             s->ent[t].life != e->target_life) {
        r->lost_target_dead++;
        r->lost_target_own_kill += b->killer[t] == me; /* its own earlier shot, still on its way back */
    }
    else
        r->lost_other++;
}

/* The snapshot acknowledged inputs prev_seq+1..last_input_seq and raised
 * the bot's hits counter by `hits`: the server steps an input and judges
 * its shot in the same tick, so those hits belong to the shots among these
 * inputs. Each screen hit is registered while hits last; the rest are
 * lost (shot_lost says why), and hits beyond the screen hits are the
 * server's alone (a shot that missed on the screen). */
static void shots_acked(swarm *sw, bot *b, uint32_t prev_seq, uint32_t hits)
{
    swarm_result *r = &sw->res;
    const cl_client *c = &b->cl;
    const proto_snapshot *s = cl_latest(c);
    uint32_t reg = 0;
    for (uint32_t k = 0; k < SHOT_RING; k++) {
        /* oldest first, so a short count is charged to the later shots */
        shot_rec *e = &b->shots[(b->shot_next + k) % SHOT_RING];
        if (!e->seq || e->seq <= prev_seq || e->seq > c->last_input_seq)
            continue;
        if (e->view_tick && s->tick > e->view_tick) {
            /* The server steps the input in the tick before the snapshot
             * that acknowledges it (one tick per snapshot: exact). */
            double age = (double)(s->tick - 1 - e->view_tick) - e->view_frac / 256.0;
            hist_add(&sw->view_age, age * 1000.0 / c->welcome.tick_rate);
        }
        if (e->target >= 0) {
            if (reg < hits)
                reg++;
            else
                shot_lost(r, b, e, s, c->welcome.player_id);
        }
        e->seq = 0;
    }
    r->hits_registered += reg;
    r->server_only_hits += hits - reg;
}

/* Reads every reliable event the client queued (so its queue never
 * overflows), counts them by kind and notes who killed whom. */
static void drain_events(swarm *sw, bot *b)
{
    proto_event ev;
    while (cl_next_event(&b->cl, &ev)) {
        if (ev.type == PROTO_EV_KILL && ev.other < PROTO_MAX_ENTITIES)
            b->killer[ev.other] = ev.player;
        if (!sw->measuring)
            continue;
        if (b->spectator) {
            sw->res.spec_kills += ev.type == PROTO_EV_KILL;
            continue;
        }
        switch (ev.type) {
        case PROTO_EV_KILL: sw->res.ev_kills++; break;
        case PROTO_EV_CHAT: sw->res.ev_chat++; break;
        case PROTO_EV_ROUND_START:
        case PROTO_EV_ROUND_END: sw->res.ev_rounds++; break;
        default: sw->res.ev_other++; break;
        }
    }
}

static void on_snapshot(bot *b, lws_usec_t now, const uint8_t *msg, size_t len, uint32_t prev_seq,
                        uint32_t prev_corr, uint32_t prev_hits)
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
        count_entities(sw, c, msg, len);

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
    if (c->stats.corrections != prev_corr) {
        /* Our slot changed hands between the previous snapshot and this one:
         * the previous one predates our join and showed the slot's previous
         * player as us (the server sent a snapshot older than the join). */
        int pi = (c->head + CL_RING - 1) % CL_RING;
        const proto_snapshot *cur = cl_slot(c, c->head), *pv = cl_slot(c, pi);
        int me = c->welcome.player_id;
        if (c->ring_tick[pi] && pv->present[me] && pv->gen[me] != cur->gen[me])
            r->corrections_stale += c->stats.corrections - prev_corr;
    }
    if (c->stats.max_correction > r->max_correction)
        r->max_correction = c->stats.max_correction;
    r->server_hits += c->stats.server_hits - prev_hits;
    shots_acked(sw, b, prev_seq, c->stats.server_hits - prev_hits);
}

/* Closes the bot's connection from inside its callback: returns -1. */
static int close_now(bot *b, struct lws *wsi, int code, const char *why)
{
    b->closing = CK_RECORDED;
    if (!wsi)
        return -1; /* HTTP: the caller ends the session */
    lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
    return -1;
}

static int on_message(bot *b, struct lws *wsi, const uint8_t *msg, size_t len)
{
    swarm *sw = b->sw;
    lws_usec_t now = lws_now_usecs();
    uint32_t prev_seq = b->cl.last_input_seq, prev_corr = b->cl.stats.corrections;
    uint32_t prev_hits = b->cl.stats.server_hits, prev_ev = b->cl.stats.events, prev_lost = b->cl.stats.events_lost;
    uint32_t prev_judged = b->cl.stats.inputs_judged, prev_late = b->cl.stats.inputs_late;
    int type = cl_receive(&b->cl, msg, len, (double)now / 1000.0);
    if (sw->measuring) {
        sw->res.inputs_judged += b->cl.stats.inputs_judged - prev_judged;
        sw->res.inputs_late += b->cl.stats.inputs_late - prev_late;
    }
    if (type < 0) {
        char why[96];
        snprintf(why, sizeof why, "bot: bad message from the server: %s", proto_err_str(type));
        if (b->state == B_PLAYING)
            bot_disconnected(b, LWS_CLOSE_STATUS_PROTOCOL_ERR, why);
        else
            bot_fail(b, LWS_CLOSE_STATUS_PROTOCOL_ERR, why);
        return close_now(b, wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, "bad message");
    }
    drain_events(sw, b); /* first: the kills it carries explain the shots it acknowledges */
    if (type == PROTO_WELCOME) {
        on_welcome(b, wsi, now);
    } else if (type == PROTO_SNAPSHOT && sw->measuring && b->spectator) {
        swarm_result *r = &sw->res;
        r->spec_snapshots++;
        r->spec_full_snapshots += msg[5] == 0;
        r->spec_bytes_down += len;
        r->spec_events += b->cl.stats.events - prev_ev;
        r->spec_events_lost += b->cl.stats.events_lost - prev_lost;
        b->snapshots++;
        return 0; /* not in the players' figures */
    } else if (type == PROTO_SNAPSHOT && sw->measuring) {
        on_snapshot(b, now, msg, len, prev_seq, prev_corr, prev_hits);
        sw->res.events += b->cl.stats.events - prev_ev;
        sw->res.events_lost += b->cl.stats.events_lost - prev_lost;
    }
    if (sw->measuring) {
        sw->res.bytes_down += len;
        sw->res.msgs_down++;
    }
    return 0;
}

static int on_receive(bot *b, struct lws *wsi, const uint8_t *in, size_t len)
{
    if (b->closing)
        return 0; /* on its way out (a chaos drop may have let go of the player already) */
    if (!lws_frame_is_binary(wsi)) {
        const char *why = "bot: the server sent a text frame";
        if (b->state == B_PLAYING)
            bot_disconnected(b, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, why);
        else
            bot_fail(b, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, why);
        return close_now(b, wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frame");
    }
    int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (final && b->rx_len == 0) /* the usual case: one frame, whole */
        return b->sw->delay ? delay_in(b, wsi, in, len) : on_message(b, wsi, in, len);
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
    return b->sw->delay ? delay_in(b, wsi, b->rx, n) : on_message(b, wsi, b->rx, n);
}

static void on_peer_close(bot *b, const uint8_t *in, size_t len)
{
    if (b->closing)
        return;
    int code = len >= 2 ? in[0] << 8 | in[1] : LWS_CLOSE_STATUS_NO_STATUS;
    char why[112], text[104];
    size_t rl = len > 2 ? len - 2 : 0;
    if (rl > 100)
        rl = 100;
    snprintf(text, sizeof text, "%.*s", (int)rl, rl ? (const char *)in + 2 : "");
    b->peer_closed = 1;
    if (b->state == B_PLAYING) {
        bot_disconnected(b, code, text);
        return;
    }
    cl_close_act act = cl_close_action(code);
    if (act == CL_CLOSE_REJOIN) {
        /* The hold ran out: not a failure, a fresh join follows. */
        b->refused_now = 1;
        if (b->sw->measuring)
            b->sw->res.resume_refused++;
        return;
    }
    if (act == CL_CLOSE_REFUSED || act == CL_CLOSE_REPLACED) {
        /* The server refused the token (or another connection has the
         * player): never retried. */
        b->auth_now = 1;
        b->sw->res.auth_refused++;
        snprintf(why, sizeof why, "refused before WELCOME: %.80s", text);
    } else {
        snprintf(why, sizeof why, "closed by the server before WELCOME%s%.70s", rl ? ": " : "", text);
    }
    bot_fail(b, code, why);
}

/* ---- network delay (see swarm.h) ---------------------------------------------- */

static int dheap_less(const swarm *sw, uint32_t i, uint32_t j)
{
    return sw->dheap[i]->dheap_due < sw->dheap[j]->dheap_due;
}

static void dheap_swap(swarm *sw, uint32_t i, uint32_t j)
{
    bot *t = sw->dheap[i];
    sw->dheap[i] = sw->dheap[j];
    sw->dheap[j] = t;
    sw->dheap[i]->dheap_i = i + 1;
    sw->dheap[j]->dheap_i = j + 1;
}

static void dheap_fix(swarm *sw, uint32_t i)
{
    while (i > 0 && dheap_less(sw, i, (i - 1) / 2)) {
        dheap_swap(sw, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < sw->dheap_n && dheap_less(sw, l, m))
            m = l;
        if (r < sw->dheap_n && dheap_less(sw, r, m))
            m = r;
        if (m == i)
            return;
        dheap_swap(sw, i, m);
        i = m;
    }
}

/* Files bot b under `due` (DELAY_NEVER: takes it out). O(log bots). */
static void dheap_set(swarm *sw, bot *b, lws_usec_t due)
{
    if (!b->dheap_i && due == DELAY_NEVER)
        return;
    if (!b->dheap_i) {
        sw->dheap[sw->dheap_n] = b;
        b->dheap_i = ++sw->dheap_n;
    }
    uint32_t i = b->dheap_i - 1;
    b->dheap_due = due;
    if (due == DELAY_NEVER) {
        uint32_t last = --sw->dheap_n;
        dheap_swap(sw, i, last);
        b->dheap_i = 0;
        if (i == last)
            return;
    }
    dheap_fix(sw, i);
}

static void delay_cb(lws_sorted_usec_list_t *sul);

/* Keeps delay_sul on the earliest due bot. One sul for the swarm, not one
 * per bot: lws keeps its suls in one sorted list, and inserting walks it. */
static void delay_arm(swarm *sw)
{
    if (sw->delay_busy || sw->ending)
        return; /* delay_cb arms at its end; at the end of the run nothing is delivered */
    lws_usec_t due = sw->dheap_n ? sw->dheap[0]->dheap_due : 0;
    if (due == sw->delay_armed)
        return;
    sw->delay_armed = due;
    if (!due) {
        lws_sul_cancel(&sw->delay_sul);
        return;
    }
    lws_usec_t wait = due - lws_now_usecs();
    lws_sul_schedule(sw->ctx, 0, &sw->delay_sul, delay_cb, wait > 0 ? wait : 1);
}

/* The bot's next due time: the oldest incoming message, and unless
 * WRITEABLE is already asked for, the oldest outgoing one or the close
 * behind them. */
static void delay_update(bot *b)
{
    swarm *sw = b->sw;
    if (!sw->delay)
        return;
    lws_usec_t due = delay_next_due(&b->dq_in);
    if (!b->out_wanted) {
        lws_usec_t out = delay_next_due(&b->dq_out);
        if (out == DELAY_NEVER && b->close_due)
            out = b->close_due;
        if (out < due)
            due = out;
    }
    dheap_set(sw, b, due);
    delay_arm(sw);
}

/* The connection is gone or going: what is still queued for it is dropped
 * (and counted while measuring). */
static void delay_reset(bot *b)
{
    swarm *sw = b->sw;
    if (!sw->delay)
        return;
    uint32_t in = delay_clear(&b->dq_in), out = delay_clear(&b->dq_out);
    if (sw->measuring) {
        sw->res.delay_dropped_in += in;
        sw->res.delay_dropped_out += out;
    }
    b->close_due = 0;
    b->out_wanted = 0;
    delay_update(b);
}

/* A queue sized for SWARM_DELAY_RATE_HZ filled up: the bot cannot keep its
 * promise of a fixed delay, so its connection is closed, with the reason
 * in the report and the first time on stderr. Returns -1 (close_now). */
static int delay_full(bot *b, struct lws *wsi, const delay_queue *q, const char *dir)
{
    swarm *sw = b->sw;
    char why[112];
    snprintf(why, sizeof why, "bot: delay queue full (%s the server, %u messages)", dir, q->n);
    sw->res.delay_full++;
    if (sw->delay_full_logged++ == 0)
        fprintf(stderr, "tickwire-bots: bot-%u: %s; closing its connection\n", b->index + 1, why);
    if (b->state == B_PLAYING)
        bot_disconnected(b, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, why);
    else
        bot_fail(b, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, why);
    return close_now(b, wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "delay queue full");
}

/* A whole message from the server: into the queue, for delay_due. */
static int delay_in(bot *b, struct lws *wsi, const uint8_t *msg, size_t len)
{
    if (delay_push(&b->dq_in, lws_now_usecs(), msg, len) != DELAY_OK)
        return delay_full(b, wsi, &b->dq_in, "from");
    if (b->dq_in.n == 1)
        delay_update(b); /* a new oldest message: the bot's due time may be earlier */
    return 0;
}

/* What is due for bot b at `now`: incoming messages go to on_message; a
 * due outgoing message, or the close behind them, asks for WRITEABLE.
 * Leaves b due later than now, or out of the heap. */
static void delay_due(bot *b, lws_usec_t now)
{
    assert(b->wsi);
    if (b->closing && !b->close_due) {
        delay_reset(b); /* closing at once: nothing more goes either way */
        return;
    }
    size_t len;
    const uint8_t *msg;
    while ((msg = delay_pop(&b->dq_in, now, &len))) {
        if (b->closing) {
            /* A chaos close on its way out: ignored, as on_receive does. */
            if (b->sw->measuring)
                b->sw->res.delay_dropped_in++;
            continue;
        }
        if (on_message(b, b->wsi, msg, len) < 0) {
            lws_callback_on_writable(b->wsi); /* on_writeable closes, with the reason given */
            break;
        }
    }
    lws_usec_t out = b->dq_out.n ? delay_next_due(&b->dq_out) : b->close_due ? b->close_due : DELAY_NEVER;
    if (!b->out_wanted && out <= now) {
        b->out_wanted = 1;
        lws_callback_on_writable(b->wsi);
    }
    delay_update(b);
}

static void delay_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, delay_sul);
    lws_usec_t now = lws_now_usecs();
    sw->delay_armed = 0;
    sw->delay_busy = 1;
    while (sw->dheap_n && sw->dheap[0]->dheap_due <= now)
        delay_due(sw->dheap[0], now);
    sw->delay_busy = 0;
    delay_arm(sw);
}

/* Per-bot queues, sized so they do not fill (see delay_config_sized); the
 * jitter of each is seeded from the run's seed, the bot and the direction. */
static int delay_create(swarm *sw)
{
    int64_t lat = (int64_t)sw->cfg.latency_ms * 1000, jit = (int64_t)sw->cfg.jitter_ms * 1000;
    sw->dheap = calloc((size_t)sw->nconn, sizeof *sw->dheap);
    if (!sw->dheap)
        return -1;
    for (int i = 0; i < sw->nconn; i++) {
        bot *b = &sw->bots[i];
        uint64_t seed = sw->cfg.seed ^ 0xd1b54a32d192ed03ull ^ ((uint64_t)i * 2 + 1) * 0x9e3779b97f4a7c15ull;
        delay_config out = delay_config_sized(lat, jit, SWARM_DELAY_RATE_HZ, SWARM_DELAY_BURST, PROTO_MAX_JOIN_MSG, seed);
        delay_config in = delay_config_sized(lat, jit, SWARM_DELAY_RATE_HZ, SWARM_DELAY_BURST, RX_MAX, ~seed);
        if (delay_init(&b->dq_out, &out) != DELAY_OK || delay_init(&b->dq_in, &in) != DELAY_OK)
            return -1;
    }
    sw->delay = 1;
    return 0;
}

/* ---- writing ------------------------------------------------------------------- */

static int bot_write(bot *b, struct lws *wsi, size_t n)
{
    if (lws_write(wsi, b->sw->tx + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n) {
        if (b->state == B_PLAYING)
            return -1; /* the server went away (EPIPE, ECONNRESET): its close, as CLIENT_CLOSED tells */
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

/* The close frame. 1000 is a leave for the server (the slot is freed at
 * once); a chaos drop sends a private code so the player is held. Returns
 * -1 (lws closes). */
static int send_close(bot *b, struct lws *wsi)
{
    int drop = b->closing == CK_CHAOS && b->drop_kind == SWARM_DROP_CLOSE;
    const char *why = drop ? "chaos drop" : b->closing == CK_CHAOS ? "chaos leave" : "load test over";
    lws_close_reason(wsi, drop ? (enum lws_close_status)PROTO_CLOSE_CLIENT_DROP : LWS_CLOSE_STATUS_NORMAL,
                     (unsigned char *)why, strlen(why));
    return -1;
}

/* The JOIN into p. A resume carries only the resume token; a fresh join
 * spends the join token (single use). Returns its size, 0 on failure. */
static size_t write_join(bot *b, uint8_t *p)
{
    swarm *sw = b->sw;
    if (b->resuming) {
        cl_set_token(&b->cl, "");
        if (sw->measuring)
            sw->res.resume_attempts++;
    } else {
        cl_set_token(&b->cl, b->token);
        b->have_token = 0;
    }
    b->join_sent = 1;
    return cl_write_join(&b->cl, p, PROTO_MAX_JOIN_MSG);
}

/* One INPUT into p with the inputs not sent yet (oldest first, up to 8),
 * sent at now_ms: the round trip is measured from there, not from when the
 * input was made (the batching wait is the input rate's, not the
 * network's). Returns its size, 0 when nothing waits. */
static size_t write_input(bot *b, uint8_t *p, double now_ms)
{
    uint32_t first = b->cl.sent_seq + 1;
    size_t n = cl_write_input(&b->cl, p, PROTO_MAX_CLIENT_MSG);
    for (uint32_t s = first; n && s <= b->cl.sent_seq; s++)
        b->cl.pending[s % CL_MAX_PENDING].sent_ms = now_ms;
    return n;
}

/* Network delay: what the bot would write now (the JOIN, the INPUTs
 * waiting) is queued as sent now, then the oldest due message is written,
 * or the chaos close once everything before it is out. One write per
 * WRITEABLE; asks again while more is due. */
static int delayed_writeable(bot *b, struct lws *wsi)
{
    swarm *sw = b->sw;
    lws_usec_t now = lws_now_usecs();
    uint8_t *p = sw->tx + LWS_PRE;
    b->out_wanted = 0;
    if (!b->closing && !b->join_sent) {
        size_t n = write_join(b, p);
        if (!n)
            return -1;
        if (delay_push(&b->dq_out, now, p, n) != DELAY_OK)
            return delay_full(b, wsi, &b->dq_out, "to");
    }
    for (size_t n; !b->closing && b->state == B_PLAYING && (n = write_input(b, p, (double)now / 1000.0));)
        if (delay_push(&b->dq_out, now, p, n) != DELAY_OK)
            return delay_full(b, wsi, &b->dq_out, "to");
    size_t len;
    const uint8_t *msg = delay_pop(&b->dq_out, now, &len);
    if (msg) {
        memcpy(p, msg, len); /* lws frames and masks it in place, after LWS_PRE */
        if (bot_write(b, wsi, len))
            return -1;
    } else if (b->closing && b->close_due && b->close_due <= now) {
        return send_close(b, wsi);
    }
    lws_usec_t next = b->dq_out.n ? delay_next_due(&b->dq_out) : b->close_due ? b->close_due : DELAY_NEVER;
    if (next <= now) {
        b->out_wanted = 1;
        lws_callback_on_writable(wsi);
    }
    delay_update(b);
    return 0;
}

/* One message per WRITEABLE: the close, the JOIN, or one INPUT with the
 * inputs not sent yet; asks again if more wait. The send buffer is shared:
 * lws masks client frames in place. */
static int on_writeable(bot *b, struct lws *wsi)
{
    swarm *sw = b->sw;
    if (b->closing == CK_RECORDED)
        return -1; /* the reason is given: a delayed message was bad */
    if (b->closing && !b->close_due)
        return send_close(b, wsi);
    if (sw->delay)
        return delayed_writeable(b, wsi);
    uint8_t *p = sw->tx + LWS_PRE;
    if (!b->join_sent) {
        size_t n = write_join(b, p);
        return n ? bot_write(b, wsi, n) : -1;
    }
    if (b->state != B_PLAYING)
        return 0; /* extra WRITEABLE callbacks are harmless */
    size_t n = write_input(b, p, (double)lws_now_usecs() / 1000.0);
    if (!n)
        return 0;
    if (bot_write(b, wsi, n))
        return -1;
    if (b->cl.sent_seq + 1 < b->cl.next_seq)
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- the HTTP fallback transport (docs/PROTOCOL.md section 18) ----------------------
 * A bot on HTTP has two plain TCP connections, adopted into the lws context
 * as raw sockets: "post" carries POST /tw/session, then its POST /tw/input
 * requests (keep-alive, one in flight: inputs made meanwhile go in the next,
 * which carries every unacknowledged input, so a refused one costs nothing),
 * and "stream" the GET /tw/stream response (chunked frames). No TLS, no
 * network delay, no chaos, no matchmaker (opts.c refuses those with http). */

#define HF_PROTOCOL_NAME "tw-bots-hf"
#define HF_REQ_MAX 1024
enum { HF_FB_NONE = 0, HF_FB_UPGRADE, HF_FB_WELCOME };

typedef struct hfbot {
    struct lws *post, *stream;
    int post_busy;            /* a request written, its answer not complete */
    int in_session;           /* the request in flight is POST /tw/session */
    int ended;                /* hf_end ran for this session */
    int peer_done;            /* a CLOSE frame was handed to on_peer_close */
    char sid[33];
    char auth[PROTO_MAX_TOKEN + 40];
    hfread prd, srd;
    hfframes pfr, sfr;
    uint8_t out[LWS_PRE + HF_REQ_MAX];
    size_t out_len;
    uint8_t sout[LWS_PRE + 512];
    size_t sout_len;
} hfbot;

static struct lws *hf_socket(bot *b)
{
    swarm *sw = b->sw;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sw->cfg.port)};
    if (inet_pton(AF_INET, sw->cfg.host, &a.sin_addr) != 1)
        return NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        close(fd);
        return NULL;
    }
    lws_sock_file_fd_type u;
    u.sockfd = fd;
    struct lws *wsi = lws_adopt_descriptor_vhost(lws_get_vhost_by_name(sw->ctx, "default"), LWS_ADOPT_SOCKET, u,
                                                 HF_PROTOCOL_NAME, NULL);
    if (!wsi)
        return NULL; /* lws closed the fd */
    lws_set_opaque_user_data(wsi, b);
    sw->live++;
    return wsi;
}

/* A request on post, written at its next WRITEABLE. */
static int hf_request(bot *b, const char *path, const uint8_t *body, size_t len, int session)
{
    hfbot *h = b->hf;
    if (!h->post && !(h->post = hf_socket(b)))
        return -1;
    char *o = (char *)h->out + LWS_PRE;
    int n = snprintf(o, HF_REQ_MAX, "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %zu\r\n\r\n", path,
                     b->sw->cfg.host_header, session ? "" : h->auth, len);
    if (n < 0 || (size_t)n + len > HF_REQ_MAX)
        return -1;
    memcpy(o + n, body, len);
    h->out_len = (size_t)n + len;
    h->post_busy = 1;
    h->in_session = session;
    hfread_reset(&h->prd);
    h->pfr.len = 0;
    lws_callback_on_writable(h->post);
    return 0;
}

/* The session is over (the stream ended, or a refusal): both connections
 * are let go, then the bot's session ends as a WebSocket one does. */
static void hf_end(bot *b)
{
    hfbot *h = b->hf;
    if (!h || h->ended)
        return;
    h->ended = 1;
    struct lws *conns[2] = {h->post, h->stream};
    h->post = h->stream = NULL;
    for (int i = 0; i < 2; i++)
        if (conns[i])
            lws_set_timeout(conns[i], PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    session_end(b);
}

/* Every unacknowledged input (one or two INPUT messages) in one POST, when
 * none is in flight. The round trip counts from an input's first sending. */
static void hf_post_inputs(bot *b)
{
    hfbot *h = b->hf;
    if (!h || h->ended || !h->sid[0] || h->post_busy || b->state != B_PLAYING || b->closing)
        return;
    uint8_t body[2 * (3 + PROTO_MAX_CLIENT_MSG)];
    size_t n = 0;
    uint32_t newest_before = b->cl.max_sent_seq;
    cl_resend_unacked(&b->cl);
    for (int i = 0; i < 2; i++) {
        size_t m = cl_write_input(&b->cl, body + n + 3, PROTO_MAX_CLIENT_MSG);
        if (!m)
            break;
        body[n] = 1; /* MESSAGE */
        body[n + 1] = (uint8_t)(m & 0xff);
        body[n + 2] = (uint8_t)(m >> 8);
        n += 3 + m;
        if (b->sw->measuring)
            b->sw->res.msgs_up++;
    }
    if (!n)
        return;
    double now_ms = (double)lws_now_usecs() / 1000.0;
    for (uint32_t s = newest_before + 1; s <= b->cl.max_sent_seq; s++)
        b->cl.pending[s % CL_MAX_PENDING].sent_ms = now_ms;
    if (b->sw->measuring)
        b->sw->res.bytes_up += n;
    char path[96];
    snprintf(path, sizeof path, "/tw/input?sid=%s", h->sid);
    if (hf_request(b, path, body, n, 0) < 0) {
        bot_disconnected(b, 0, "bot: POST /tw/input could not be made");
        hf_end(b);
    }
}

/* A CLOSE frame, handed over as a WebSocket close payload (code big-endian). */
static void hf_peer_close(bot *b, const uint8_t *p, size_t len)
{
    uint8_t ws[2 + 123];
    size_t rl = len > 2 ? len - 2 : 0;
    if (rl > 123)
        rl = 123;
    int code = len >= 2 ? p[0] | p[1] << 8 : 1005;
    ws[0] = (uint8_t)(code >> 8);
    ws[1] = (uint8_t)code;
    memcpy(ws + 2, p + 2, rl);
    b->hf->peer_done = 1;
    on_peer_close(b, ws, 2 + rl);
}

static void hf_stream_frame(void *user, int kind, const uint8_t *p, size_t len)
{
    bot *b = user;
    hfbot *h = b->hf;
    if (h->ended)
        return;
    if (kind == 1) {
        if (on_message(b, NULL, p, len) < 0)
            hf_end(b);
        else if (b->state == B_PLAYING && b->cl.sent_seq + 1 < b->cl.next_seq)
            hf_post_inputs(b);
    } else if (kind == 2) {
        hf_peer_close(b, p, len);
        hf_end(b);
    }
}

static void hf_stream_body(void *user, const uint8_t *d, size_t n)
{
    bot *b = user;
    hfframes_feed(&b->hf->sfr, d, n, hf_stream_frame, b);
}

static void hf_post_frame(void *user, int kind, const uint8_t *p, size_t len)
{
    bot *b = user;
    hfbot *h = b->hf;
    if (kind == 4 && len == 16) {
        for (int i = 0; i < 16; i++)
            snprintf(h->sid + 2 * i, 3, "%02x", p[i]);
    } else if (kind == 2) {
        hf_peer_close(b, p, len);
    }
}

static void hf_post_body(void *user, const uint8_t *d, size_t n)
{
    bot *b = user;
    hfframes_feed(&b->hf->pfr, d, n, hf_post_frame, b);
}

/* POST /tw/session's answer: the stream next, or the refusal. */
static void hf_session_answer(bot *b)
{
    hfbot *h = b->hf;
    if (h->prd.status != 200 || !h->sid[0]) {
        if (!h->peer_done) {
            char why[80];
            snprintf(why, sizeof why, "POST /tw/session answered %d", h->prd.status);
            bot_fail(b, 0, why);
        }
        hf_end(b);
        return;
    }
    set_state(b, B_OPEN);
    if (!(h->stream = hf_socket(b))) {
        bot_fail(b, 0, "stream connection failed at once");
        hf_end(b);
        return;
    }
    int n = snprintf((char *)h->sout + LWS_PRE, sizeof h->sout - LWS_PRE,
                     "GET /tw/stream?sid=%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", h->sid, b->sw->cfg.host_header, h->auth);
    h->sout_len = n > 0 ? (size_t)n : 0;
    hfread_reset(&h->srd);
    h->sfr.len = 0;
    lws_callback_on_writable(h->stream);
}

/* bot_connect for a bot on HTTP: the JOIN goes in POST /tw/session. */
static void hf_connect(bot *b)
{
    swarm *sw = b->sw;
    if (!b->hf && !(b->hf = calloc(1, sizeof *b->hf))) {
        bot_fail(b, 0, "out of memory");
        session_end(b);
        return;
    }
    hfbot *h = b->hf;
    h->post = h->stream = NULL;
    h->post_busy = h->in_session = h->ended = h->peer_done = 0;
    h->sid[0] = 0;
    uint8_t join[PROTO_MAX_JOIN_MSG];
    size_t n = write_join(b, join);
    proto_join j;
    if (!n || proto_join_read(join, n, &j) != 0) {
        bot_fail(b, 0, "bot: no JOIN to send");
        session_end(b);
        return;
    }
    /* The session's credential: the join token, or the resume token in hex. */
    int k = snprintf(h->auth, sizeof h->auth, "Authorization: Bearer ");
    if (j.token_len)
        k += snprintf(h->auth + k, sizeof h->auth - (size_t)k, "%s", j.token);
    else
        for (int i = 0; i < PROTO_RESUME_LEN; i++)
            k += snprintf(h->auth + k, sizeof h->auth - (size_t)k, "%02x", j.resume[i]);
    snprintf(h->auth + k, sizeof h->auth - (size_t)k, "\r\n");
    static const char *const why[] = {"config", "upgrade", "welcome"};
    char path[64];
    snprintf(path, sizeof path, "/tw/session?fallback=%s", why[b->fb_reason <= HF_FB_WELCOME ? b->fb_reason : 0]);
    if (hf_request(b, path, join, n, 1) < 0) {
        bot_fail(b, 0, "connect failed at once");
        session_end(b);
        return;
    }
    if (sw->measuring) {
        sw->res.bytes_up += n;
        sw->res.msgs_up++;
    }
}

/* Bytes of an answer on post. Returns -1 to close that connection. */
static int hf_post_rx(bot *b, const uint8_t *in, size_t len)
{
    hfbot *h = b->hf;
    while (len && !h->ended) {
        size_t used;
        int st = hfread_feed(&h->prd, in, len, &used, hf_post_body, b);
        in += used;
        len -= used;
        if (st < 0) {
            bot_disconnected(b, 0, "bot: a POST answer is not HTTP");
            hf_end(b);
            return -1;
        }
        if (st == 0)
            return 0;
        int close_after = h->prd.conn_close, session = h->in_session, status = h->prd.status;
        h->post_busy = h->in_session = 0;
        if (session) {
            hf_session_answer(b);
        } else if (status == 404 || status == 403) {
            /* the session is gone: the stream says why, or ends */
        } else if (b->cl.sent_seq + 1 < b->cl.next_seq) {
            if (close_after)
                h->post = NULL; /* the next request opens another */
            hf_post_inputs(b);
            if (close_after)
                return -1;
            continue;
        }
        if (close_after) {
            h->post = NULL;
            return -1;
        }
        hfread_reset(&h->prd);
    }
    return 0;
}

static int hf_stream_rx(bot *b, const uint8_t *in, size_t len)
{
    hfbot *h = b->hf;
    while (len && !h->ended) {
        size_t used;
        int st = hfread_feed(&h->srd, in, len, &used, hf_stream_body, b);
        in += used;
        len -= used;
        if (st != 0 || (h->srd.status && h->srd.status != 200)) {
            if (!h->ended && !h->peer_done) {
                char why[80];
                snprintf(why, sizeof why, "GET /tw/stream answered %d", h->srd.status);
                bot_fail(b, 0, why);
                hf_end(b);
            }
            return -1;
        }
    }
    return 0;
}

/* The callback of the raw connections (their opaque user data is the bot). */
static int hf_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    bot *b = lws_get_opaque_user_data(wsi);
    if (!b)
        return 0;
    hfbot *h = b->hf;
    int is_post = h && wsi == h->post, is_stream = h && wsi == h->stream;
    switch (reason) {
    case LWS_CALLBACK_RAW_WRITEABLE:
        if (is_post && h->out_len) {
            size_t n = h->out_len;
            h->out_len = 0;
            return lws_write(wsi, h->out + LWS_PRE, n, LWS_WRITE_RAW) < (int)n ? -1 : 0;
        }
        if (is_stream && h->sout_len) {
            size_t n = h->sout_len;
            h->sout_len = 0;
            b->fd = lws_get_socket_fd(wsi);
            return lws_write(wsi, h->sout + LWS_PRE, n, LWS_WRITE_RAW) < (int)n ? -1 : 0;
        }
        return 0;
    case LWS_CALLBACK_RAW_RX:
        if (is_post)
            return hf_post_rx(b, in, len);
        if (is_stream)
            return hf_stream_rx(b, in, len);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE:
        b->sw->live--;
        lws_set_opaque_user_data(wsi, NULL);
        if (is_stream && !h->ended) {
            if (!b->closing && !h->peer_done) {
                if (b->state == B_PLAYING)
                    bot_disconnected(b, LWS_CLOSE_STATUS_ABNORMAL_CLOSE, "stream ended without a close frame");
                else
                    bot_fail(b, LWS_CLOSE_STATUS_ABNORMAL_CLOSE, "stream ended before WELCOME");
            }
            h->stream = NULL;
            hf_end(b);
        } else if (is_post && !h->ended) {
            h->post = NULL;
            int was_session = h->in_session && h->post_busy;
            h->post_busy = h->in_session = 0;
            if (was_session) {
                bot_fail(b, 0, "connection error on POST /tw/session");
                hf_end(b);
            } else {
                hf_post_inputs(b); /* on a new connection */
            }
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- the lws callback -------------------------------------------------------------- */

/* Callbacks of a connection the bot has let go of (takeover): only its
 * close and its end matter. */
static int orphan_callback(bot *b, struct lws *wsi, enum lws_callback_reasons reason, const uint8_t *in, size_t len)
{
    if (reason == LWS_CALLBACK_WS_PEER_INITIATED_CLOSE && wsi == b->orphan && len >= 2 &&
        cl_close_action(in[0] << 8 | in[1]) == CL_CLOSE_REPLACED && b->sw->measuring)
        b->sw->res.takeover_old_closed++;
    if (reason == LWS_CALLBACK_WSI_DESTROY) {
        if (wsi == b->orphan)
            b->orphan = NULL;
        b->sw->live--;
    }
    return 0;
}

static int bot_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    bot *b = user;
    if (!b)
        return 0; /* context-level callbacks */
    if (http_is_req(user))
        return http_callback(wsi, reason, user, in, len); /* WSI_DESTROY of a request */
    if (wsi != b->wsi && !b->in_connect)
        return orphan_callback(b, wsi, reason, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        set_state(b, B_OPEN);
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
        if (b->state != B_IDLE && b->state != B_DEAD && !b->closing && !b->failed_now && !b->peer_closed &&
            b->state != B_PLAYING)
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
    s->drops = r->drops - sw->mark.drops;
    s->resumed = r->resumed - sw->mark.resumed;
    s->rtt_n = (uint32_t)sw->rtt_sec.n;
    s->rtt_p50_ms = (float)hist_quantile(&sw->rtt_sec, 0.50);
    s->rtt_p99_ms = (float)hist_quantile(&sw->rtt_sec, 0.99);
    hist_reset(&sw->rtt_sec);
    double cpu = cpu_seconds();
    s->cpu_pct = s->dt_s > 0 ? (float)(100.0 * (cpu - sw->mark_cpu_s) / s->dt_s) : 0;
    s->tick_late_ms = (float)sw->sec_late_ms;
    sw->mark_cpu_s = cpu;
    sw->sec_late_ms = 0;
    sw->mark = (marks){r->snapshots, r->msgs_up, r->corrections, r->bytes_down, r->bytes_up, r->drops, r->resumed};
    sw->mark_us = now;
}

/* Chaos: drops one playing bot's connection, the way --chaos-drop says. */
static void chaos_drop(swarm *sw, bot *b, lws_usec_t now)
{
    int kinds[DROP_KINDS], n = 0;
    for (int k = 0; k < DROP_KINDS; k++)
        if (sw->cfg.chaos_drops & (1u << k))
            kinds[n++] = k;
    int kind = n ? kinds[(int)(rand01(&sw->rng) * n) % n] : SWARM_DROP_CLOSE;
    if (kind == SWARM_DROP_RESET && b->fd < 0)
        kind = SWARM_DROP_CLOSE;
    if (kind == SWARM_DROP_TAKEOVER && b->orphan)
        kind = SWARM_DROP_CLOSE; /* the previous old connection is still around */
    sw->res.chaos_closes++;
    sw->res.drops++;
    sw->res.drops_by[kind]++;
    sw->res.bots_dropped += b->drops++ == 0;
    b->drop_us = now;
    b->drop_kind = (uint8_t)kind;
    if (kind == SWARM_DROP_CLOSE || kind == SWARM_DROP_LEAVE) {
        b->closing = CK_CHAOS; /* the close frame goes out from WRITEABLE */
        if (sw->delay) {
            /* ... behind what the bot wrote before it, as late as they are */
            b->close_due = delay_stamp(&b->dq_out, now);
            delay_update(b);
        } else {
            lws_callback_on_writable(b->wsi);
        }
    } else if (kind == SWARM_DROP_RESET) {
        /* Like a lost link: no close frame; lws reads the end and closes. */
        b->closing = CK_CHAOS;
        shutdown(b->fd, SHUT_RDWR);
    } else {
        /* The old connection stays open (as a half-open one would) while a
         * new one resumes; the server should close the old one. */
        if (sw->measuring)
            b->connected_us += (uint64_t)(now - b->welcome_us);
        away_begin(b, now, SWARM_DROP_TAKEOVER);
        delay_reset(b); /* the old connection's messages in flight are lost with it */
        b->orphan = b->wsi;
        lws_set_timeout(b->orphan, PENDING_TIMEOUT_USER_OK, ORPHAN_KILL_S);
        b->wsi = NULL;
        b->fd = -1;
        b->rx_len = 0;
        set_state(b, B_IDLE);
        bot_connect(sw, b, 1);
    }
}

/* Chaos: each playing bot is dropped with probability chaos_prob per
 * second, at a random moment of the coming second (drops do not bunch up
 * on the second). None in the run's last CHAOS_QUIET_S + backoff_max (at
 * most a quarter of the run), so the bots are back for the end. */
static void chaos_round(swarm *sw, lws_usec_t now)
{
    for (int i = 0; i < sw->cfg.bots; i++) {
        bot *b = &sw->bots[i];
        if (b->state != B_PLAYING || b->closing || b->drop_at || rand01(&sw->rng) >= sw->cfg.chaos_prob)
            continue;
        b->drop_at = now + (lws_usec_t)(rand01(&sw->rng) * 1e6);
    }
}

/* Drops that are due (from connect_cb, every RECONNECT_POLL_US). */
static void chaos_due(swarm *sw, lws_usec_t now)
{
    double quiet = CHAOS_QUIET_S + sw->cfg.backoff_max_ms / 1000.0;
    if (quiet > sw->cfg.duration_s / 4)
        quiet = sw->cfg.duration_s / 4;
    int late = (double)(now - sw->t0) / 1e6 >= sw->cfg.duration_s - quiet;
    for (int i = 0; i < sw->cfg.bots; i++) {
        bot *b = &sw->bots[i];
        if (!b->drop_at || b->drop_at > now)
            continue;
        b->drop_at = 0;
        if (b->state == B_PLAYING && !b->closing && !late && sw->measuring && !sw->ending)
            chaos_drop(sw, b, now);
    }
}

static void second_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, second_sul);
    lws_usec_t now = lws_now_usecs();
    take_sample(sw, now);
    start_metrics_scrape(sw);
    if (sw->cfg.transport == SWARM_T_AUTO)
        for (int i = 0; i < sw->cfg.bots; i++) {
            bot *b = &sw->bots[i];
            if (b->transport != SWARM_T_WS || b->ever_played || !b->wsi || b->closing ||
                (b->state != B_CONNECTING && b->state != B_OPEN) || now - b->attempt_us < SWARM_WELCOME_DEADLINE_US)
                continue;
            /* No WELCOME in time over WebSocket: HTTP from now on. */
            b->transport = SWARM_T_HTTP;
            b->fb_reason = 2; /* HF_FB_WELCOME */
            b->fb_pending = 1;
            b->failed_now = 1;
            b->closing = CK_RECORDED;
            sw->res.fallbacks_welcome++;
            lws_set_timeout(b->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    if (sw->cfg.behavior == BEHAVIOR_CHAOS)
        chaos_round(sw, now);
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

/* One round of the event loop. lws waits in epoll to the microsecond
 * (scripts/lws-4.1.6-epoll.patch), so a sul due within the next
 * millisecond no longer makes it spin on poll(0) over every socket, as the
 * unpatched loop did. */
static int service(swarm *sw)
{
    lws_usec_t every = (lws_usec_t)sw->cfg.read_every_ms * 1000;
    if (every > 0) {
        /* --read-every: asleep, this process is not woken by each message
         * a server on this machine sends it (the server's send would pay
         * for the wakeup); every `every` us, one pass reads them all. */
        lws_usec_t now = lws_now_usecs(), wait = (now / every + 1) * every - now;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000000), .tv_nsec = (long)(wait % 1000000) * 1000};
        ppoll(NULL, 0, &ts, NULL);
        return lws_service(sw->ctx, -1);
    }
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
    memo_stats ms = memo_get_stats(sw->memo);
    r->memo_decodes = ms.decodes;
    r->memo_hits = ms.hits;
    r->memo_checked = ms.checked;
    r->memo_mismatches = ms.mismatches;
    r->cpu_sys_s = tv_s(ru.ru_stime) - tv_s(sw->ru0.ru_stime);
    r->max_rss_kb = ru.ru_maxrss;

    r->elapsed_s = (double)(now - sw->t0) / 1e6;
    r->connected_end = 0;
    double rate = r->snapshot_rate;
    r->min_bot_pct = 0;
    for (int i = 0; i < sw->cfg.bots; i++) {
        bot *b = &sw->bots[i];
        if (is_pending(b->state))
            r->pending_at_end++;
        r->away_at_end += b->away && b->state != B_DEAD;
        r->dead_at_end += b->state == B_DEAD;
        if (b->state == B_PLAYING) {
            b->connected_us += (uint64_t)(now - b->welcome_us);
            b->welcome_us = now;
            r->connected_end += !b->closing;
        }
        r->bot_seconds += (double)b->connected_us / 1e6;
        shots_forget(sw, b); /* screen hits whose ack had not come */
        if (b->dq_in.max_n > r->delay_depth_in)
            r->delay_depth_in = b->dq_in.max_n;
        if (b->dq_out.max_n > r->delay_depth_out)
            r->delay_depth_out = b->dq_out.max_n;
        if (b->connected_us >= MIN_MEASURED_US && rate > 0) {
            double pct = 100.0 * b->snapshots / ((double)b->connected_us / 1e6 * rate);
            if (r->bots_measured++ == 0 || pct < r->min_bot_pct)
                r->min_bot_pct = pct;
            if (pct < 99.0)
                r->bots_below_99++;
        }
    }
    r->snapshots_expected = r->bot_seconds * rate;
    double srate = r->spectator_rate;
    for (int i = sw->cfg.bots; i < sw->nconn; i++) {
        bot *b = &sw->bots[i];
        if (is_pending(b->state))
            r->pending_at_end++;
        if (b->state == B_PLAYING) {
            b->connected_us += (uint64_t)(now - b->welcome_us);
            b->welcome_us = now;
            r->spec_connected_end += !b->closing;
        }
        r->spec_seconds += (double)b->connected_us / 1e6;
        if (b->connected_us >= MIN_MEASURED_US && srate > 0) {
            double pct = 100.0 * b->snapshots / ((double)b->connected_us / 1e6 * srate);
            if (r->spec_measured++ == 0 || pct < r->spec_min_pct)
                r->spec_min_pct = pct;
            if (pct < 99.0)
                r->spec_below_99++;
        }
    }
    r->spec_snapshots_expected = r->spec_seconds * srate;

    r->rtt_n = sw->rtt.n;
    r->lead_mean_ms = r->lead_max_ms = 0;
    int leads = 0;
    for (int i = 0; i < sw->cfg.bots; i++)
        if (sw->bots[i].cl.have_grid && sw->bots[i].cl.stats.inputs_judged) {
            double l = sw->bots[i].cl.lead_ms;
            r->lead_mean_ms += l;
            r->lead_max_ms = l > r->lead_max_ms ? l : r->lead_max_ms;
            leads++;
        }
    r->lead_mean_ms = leads ? r->lead_mean_ms / leads : 0;
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
    r->view_age_n = sw->view_age.n;
    r->view_age_p50_ms = hist_quantile(&sw->view_age, 0.50);
    r->view_age_p99_ms = hist_quantile(&sw->view_age, 0.99);
    r->view_age_max_ms = sw->view_age.max;
    r->tokens_minted = sw->cfg.secret != NULL;
    samples_quant(&sw->token_ms, &r->token_ms);
    samples_quant(&sw->resume_ms, &r->resume_ms);
    samples_quant(&sw->rejoin_ms, &r->rejoin_ms);
    if (sw->cfg.mm_bearer) {
        /* Where the players are at the end. */
        r->ntargets = 0;
        for (int i = 0; i < sw->cfg.bots; i++) {
            const bot *b = &sw->bots[i];
            if (b->state != B_PLAYING)
                continue;
            int t = 0;
            while (t < r->ntargets && strcmp(r->targets[t].url, b->t_host_header) != 0)
                t++;
            if (t == r->ntargets && r->ntargets < 16)
                snprintf(r->targets[r->ntargets++].url, sizeof r->targets[0].url, "%s", b->t_host_header);
            if (t < r->ntargets)
                r->targets[t].bots++;
        }
    }
    sw->measuring = 0;
}

/* Closes every bot: a close frame for open ones, a kill for half-open
 * ones; bounded by CLOSE_GIVE_UP_US (lws_context_destroy does the rest). */
static void close_all(swarm *sw)
{
    sw->ending = 1;
    http_cancel(sw->cscrape);
    sw->cscrape = NULL;
    http_cancel(sw->mscrape);
    sw->mscrape = NULL;
    for (int i = 0; i < sw->nconn; i++) {
        bot *b = &sw->bots[i];
        unschedule(b);
        if (b->http) {
            http_cancel(b->http);
            b->http = NULL;
            set_state(b, B_IDLE);
        }
        if (b->orphan)
            lws_set_timeout(b->orphan, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        if (b->hf && !b->hf->ended) {
            b->closing = CK_END;
            hf_end(b); /* the server holds the player: the run is over anyway */
        }
        if (!b->wsi)
            continue;
        if (b->state == B_OPEN || b->state == B_PLAYING) {
            if (!b->closing)
                b->closing = CK_END;
            b->close_due = 0; /* a chaos close still waiting for its delay goes now */
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
            for (int i = 0; i < sw->nconn; i++)
                if (sw->bots[i].wsi)
                    lws_set_timeout(sw->bots[i].wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    lws_sul_cancel(&sw->end_sul);
    lws_sul_cancel(&sw->delay_sul); /* ending: never armed again */
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
    sw->res.connected_scrape = NULL;
}

void swarm_wake(swarm *sw)
{
    lws_cancel_service(sw->ctx);
}

/* ---- HTTP: the scrape once all bots are in, and synchronous GETs ------------ */

static void cscrape_done(void *arg, int status, const char *body, size_t len, const char *err, int connect_failed)
{
    swarm *sw = arg;
    (void)err;
    (void)connect_failed;
    sw->cscrape = NULL;
    sw->res.connected_scrape_status = status;
    if (status == 200 && (sw->res.connected_scrape = malloc(len + 1))) {
        memcpy(sw->res.connected_scrape, body, len + 1);
        sw->res.connected_scrape_len = len;
    }
}

/* GET /metrics, once, the first time every bot is playing: the server's
 * memory with all players in, to compare with the end. */
static void start_connected_scrape(swarm *sw)
{
    if (sw->cscrape_started || !sw->measuring || sw->ending)
        return;
    sw->cscrape_started = 1;
    sw->res.connected_scrape_t_s = (double)(lws_now_usecs() - sw->t0) / 1e6;
    char err[160];
    sw->cscrape = http_start(&sw->http, "GET", "/metrics", MAX_METRICS_BODY, cscrape_done, sw, err, sizeof err);
}

static void mscrape_done(void *arg, int status, const char *body, size_t len, const char *err, int connect_failed)
{
    swarm *sw = arg;
    (void)err;
    (void)connect_failed;
    sw->mscrape = NULL;
    sw->cfg.on_metrics(sw->cfg.metrics_arg, (double)(lws_now_usecs() - sw->t0) / 1e6, status, body, len);
}

/* GET /metrics for the server's time series (cfg.on_metrics), once a
 * second; a second whose previous scrape is still in flight is skipped. */
static void start_metrics_scrape(swarm *sw)
{
    if (!sw->cfg.on_metrics || sw->mscrape || !sw->measuring || sw->ending)
        return;
    char err[160];
    sw->mscrape = http_start(&sw->http, "GET", "/metrics", MAX_METRICS_BODY, mscrape_done, sw, err, sizeof err);
}

typedef struct sync_get {
    int done, status, connect_failed;
    char *body;
    size_t len;
    char err[200];
} sync_get;

static void sync_done(void *arg, int status, const char *body, size_t len, const char *err, int connect_failed)
{
    sync_get *g = arg;
    g->done = 1;
    g->status = status;
    g->connect_failed = connect_failed;
    if (err) {
        snprintf(g->err, sizeof g->err, "%s", err);
        return;
    }
    if ((g->body = malloc(len + 1))) {
        memcpy(g->body, body, len + 1);
        g->len = len;
    } else {
        snprintf(g->err, sizeof g->err, "out of memory");
    }
}

/* Keeps the service loop turning while a synchronous GET waits. */
static void http_wake_cb(lws_sorted_usec_list_t *sul)
{
    swarm *sw = lws_container_of(sul, swarm, http_sul);
    lws_sul_schedule(sw->ctx, 0, &sw->http_sul, http_wake_cb, 20000);
}

int swarm_http_get(swarm *sw, const char *path, int timeout_ms, int *status, char **body, size_t *len, char *err,
                   size_t errlen)
{
    sync_get g;
    memset(&g, 0, sizeof g);
    *status = 0;
    *body = NULL;
    *len = 0;
    http_req *r = http_start(&sw->http, "GET", path, MAX_METRICS_BODY, sync_done, &g, err, errlen);
    if (!r)
        return SWARM_HTTP_UNREACHABLE;
    lws_usec_t deadline = lws_now_usecs() + (lws_usec_t)timeout_ms * 1000;
    lws_sul_schedule(sw->ctx, 0, &sw->http_sul, http_wake_cb, 20000);
    while (!g.done && lws_now_usecs() < deadline)
        if (service(sw) < 0)
            break;
    lws_sul_cancel(&sw->http_sul);
    if (!g.done) {
        http_cancel(r);
        snprintf(err, errlen, "GET %s: no complete answer within %d ms", path, timeout_ms);
        return SWARM_HTTP_ERROR;
    }
    if (g.err[0]) {
        snprintf(err, errlen, "GET %s: %s", path, g.err);
        free(g.body);
        return g.connect_failed ? SWARM_HTTP_UNREACHABLE : SWARM_HTTP_ERROR;
    }
    *status = g.status;
    *body = g.body;
    *len = g.len;
    return SWARM_HTTP_OK;
}

/* ---- create, destroy ---------------------------------------------------------- */

swarm *swarm_create(const swarm_config *cfg, char *err, size_t errlen)
{
    swarm *sw = calloc(1, sizeof *sw);
    if (!sw)
        goto oom;
    sw->cfg = *cfg;
    sw->nconn = cfg->bots + cfg->spectators;
    if (!(sw->memo = memo_create()))
        goto oom;
    sw->res.spectators = cfg->spectators;
    if (sw->cfg.max_connecting < 1)
        sw->cfg.max_connecting = sw->nconn;
    sw->rng = cfg->seed ^ 0x5bd1e995u;
    sw->phases = cfg->phases < 1 ? 1 : cfg->phases > SWARM_MAX_PHASES ? SWARM_MAX_PHASES : cfg->phases;
    if (sw->phases > cfg->bots)
        sw->phases = cfg->bots > 0 ? cfg->bots : 1;
    sw->res.phases = sw->phases;
    sw->bots = calloc((size_t)sw->nconn, sizeof *sw->bots);
    sw->slot_of = calloc((size_t)sw->nconn + 1, 1);
    sw->acted = calloc((size_t)sw->nconn + 1, sizeof *sw->acted);
    sw->series_cap = (int)ceil(cfg->duration_s) + 4;
    sw->res.series = calloc((size_t)sw->series_cap, sizeof *sw->res.series);
    if (!sw->bots || !sw->res.series || !sw->slot_of || !sw->acted)
        goto oom;
    for (int i = 0; i < sw->nconn; i++) {
        sw->bots[i].sw = sw;
        sw->bots[i].index = (uint32_t)i;
        sw->bots[i].fd = -1;
        sw->bots[i].spectator = i >= cfg->bots;
        sw->bots[i].transport = cfg->transport == SWARM_T_HTTP ? SWARM_T_HTTP : SWARM_T_WS;
    }
    if ((cfg->latency_ms > 0 || cfg->jitter_ms > 0) && delay_create(sw))
        goto oom;
    sw->protocols[0] = (struct lws_protocols){
        .name = PROTO_SUBPROTOCOL,
        .callback = bot_callback,
        .per_session_data_size = 0, /* each bot is its wsi's user data */
        .rx_buffer_size = RX_MAX,   /* whole server frames in one RECEIVE */
        .tx_packet_size = PROTO_MAX_JOIN_MSG,
    };
    sw->protocols[1] = (struct lws_protocols){
        .name = HTTP_PROTOCOL_NAME,
        .callback = http_callback,
        .per_session_data_size = 0, /* the request is the user data */
    };
    sw->protocols[2] = (struct lws_protocols){
        .name = HF_PROTOCOL_NAME,
        .callback = hf_callback,
        .per_session_data_size = 0, /* the bot is the wsi's opaque user data */
        .rx_buffer_size = 16384,
    };
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = sw->protocols;
    info.user = sw;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.retry_and_idle_policy = &no_validity;
    if (cfg->tls) {
        /* mbedTLS: only the CA given is trusted (no system store). */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = cfg->ca_path;
        sw->ssl_flags = LCCSCF_USE_SSL;
        if (cfg->insecure)
            sw->ssl_flags |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_EXPIRED;
    }
    sw->ctx = lws_create_context(&info);
    if (!sw->ctx) {
        snprintf(err, errlen, "cannot create the lws client context%s", cfg->tls ? " (is --ca a readable PEM file?)" : "");
        swarm_destroy(sw);
        return NULL;
    }
    sw->http = (http_target){
        .ctx = sw->ctx,
        .address = cfg->host,
        .port = cfg->port,
        .host_header = cfg->host_header,
        .ssl_flags = sw->ssl_flags,
    };
    sw->mm_http = sw->http;
    sw->mm_http.bearer = cfg->mm_bearer;
    return sw;
oom:
    snprintf(err, errlen, "out of memory for %d bots and %d spectators", cfg->bots, cfg->spectators);
    swarm_destroy(sw);
    return NULL;
}

void swarm_destroy(swarm *sw)
{
    if (!sw)
        return;
    sw->ending = 1;
    if (sw->ctx)
        lws_context_destroy(sw->ctx); /* may still call back into the bots */
    if (sw->bots) {
        for (int i = 0; i < sw->nconn; i++) {
            free(sw->bots[i].rx);
            free(sw->bots[i].hf);
            delay_destroy(&sw->bots[i].dq_out);
            delay_destroy(&sw->bots[i].dq_in);
        }
    }
    free(sw->bots);
    free(sw->slot_of);
    free(sw->acted);
    memo_destroy(sw->memo);
    free(sw->dheap);
    free(sw->token_ms.v);
    free(sw->resume_ms.v);
    free(sw->rejoin_ms.v);
    free(sw->res.series);
    free(sw->res.connected_scrape);
    free(sw);
}

void swarm_result_free(swarm_result *res)
{
    free(res->series);
    res->series = NULL;
    free(res->connected_scrape);
    res->connected_scrape = NULL;
}
