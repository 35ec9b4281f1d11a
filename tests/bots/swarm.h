/* swarm: N bots in one process, on one lws client context.
 *
 * Each bot is a cl_client from shared/client.c driven exactly as the
 * browser drives it: a join token (POST /api/join on the demo server, or
 * minted with the host's secret), JOIN, then one input per fixed tick of
 * the bots' own clock (cl_push_input predicts it), batched into INPUT
 * messages at the input rate (cl_write_input), and every server message
 * through cl_receive, which reconciles. The swarm only adds what a load
 * test needs: staggered connects (at most max_connecting in flight),
 * drops and resumes (chaos), and measurement.
 *
 * Chaos: a dropped bot keeps its player (cl_disconnected), goes on making
 * inputs while away (up to CL_MAX_UNACKED, sent after the resume), and
 * comes back with exponential backoff with full jitter: attempt k after a
 * drop waits random(0, min(backoff_max, backoff_base * 2^k)). It resumes
 * with a JOIN that has no join token, only its resume token. What a close
 * means is cl_close_action's call on the code: 4002 (resume expired) makes
 * it fetch a new token and join fresh; 4001 (token refused) before WELCOME
 * is an auth refusal, and that bot never reconnects; the rest are retried.
 * A chaos "leave" closes with 1000 (the server frees the slot at once) and
 * comes back later as a new player with a new token.
 *
 * Timekeeping is lws suls on the one service thread: the connect ramp,
 * the bots' tick (absolute deadlines, like server/net.c), a 1 s sampler
 * for the time series (which also starts the server's /metrics scrape when
 * on_metrics is set), the live status line and the end of the run.
 *
 * The bots' tick runs at the tick rate from WELCOME, and the bots are
 * spread over `phases` evenly spaced slots of it (the sul fires once per
 * slot and ticks that slot's bots). The bots' clock and the server's tick
 * have the same period, so with one slot every input would wait the same,
 * arbitrary, fraction of a tick for the server's next step, and the RTT
 * figures would mostly measure that one phase, different on every run.
 * Spread slots sample the whole tick, as real clients do, and also spread
 * the bots' sends instead of bursting them.
 *
 * Costs: per bot one cl_client (~72 KiB) plus ~400 bytes; one send
 * buffer is shared by all bots (client frames are masked in place, so it
 * is refilled for every write). Per tick O(bots); per snapshot a decode,
 * one pass over the match's entity slots and one histogram add per acked
 * input.
 *
 * Fight bots render: every bot tick, before its input, a fight bot calls
 * cl_view (so its interpolation clock runs and its input carries the tick
 * it drew the others at) and aims at what it drew. cl_view costs
 * O(entities x CL_RING): about 5 us per bot-tick with 64 players, a third
 * of a core at 1000 bots and 60 Hz, so the other behaviours, which draw
 * nothing, do not call it. Each shot the prediction fires is kept (a ring
 * of SHOT_RING) until the snapshot that acknowledges its input: the
 * server's hits counter in that snapshot says whether it registered (see
 * swarm_result). Every bot reads its reliable events (cl_next_event)
 * after every message, so its queue never overflows.
 *
 * Network delay (latency_ms, jitter_ms; see delay.h): each bot's WebSocket
 * messages wait in a queue per direction, so the bots see e.g. 150 ms RTT
 * over loopback. What the bot writes (JOIN, INPUT) is queued when it would
 * have been written and goes to the socket when due; what it receives is
 * copied into a queue when the whole message is in and handed to cl_receive
 * when due, with that time as now_ms. RTT figures therefore include both
 * delays. The queues belong to one connection: what is still queued when it
 * closes is dropped and counted. A chaos close or leave goes out behind the
 * messages written before it; everything else lws does itself (handshakes,
 * pings, the server's close, the end of the run) is not delayed. With both
 * 0 nothing is queued or copied. Costs: per bot two queues sized for 240
 * messages a second (the server's highest tick rate) of the protocol's
 * largest size over latency + jitter, about 1 MB per second of delay (120 KB
 * at 75 + 5 ms); per message one copy in, one out (to the send buffer) for
 * writes, and O(log bots) on one swarm-wide timer. */
#ifndef TW_BOTS_SWARM_H
#define TW_BOTS_SWARM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "behavior.h"
#include "opts.h"

typedef struct swarm_config {
    const char *host;         /* numeric address */
    const char *host_header;  /* "host:port"; over TLS also SNI and the certificate name */
    int port;
    const char *path;
    int tls;                  /* wss:// */
    const char *ca_path;      /* TLS: trust this PEM (NULL: none) */
    int insecure;             /* TLS: accept any certificate */
    const uint8_t *secret;    /* mint tokens with this; NULL: POST /api/join */
    /* Matchmaker mode (set): each bot asks POST /api/matchmake at host:port
     * (a fleet process or `tickwire-server matchmaker`) with this bearer
     * token and plays where the answer sends it; a bot whose process goes
     * away goes back to the matchmaker once a resume has failed twice. */
    const char *mm_bearer;
    size_t secret_len;
    int max_connecting;       /* attempts in flight, token fetch to WELCOME */
    int backoff_base_ms, backoff_max_ms;
    unsigned chaos_drops;     /* set of drop kinds (opts.h), never empty */
    int bots;
    int spectators;           /* spectator connections after the bots (indices bots..bots+spectators-1) */
    uint16_t spectate_match;  /* what they watch: PROTO_MATCH_ANY or a match id */
    double duration_s, ramp_s;
    behavior_kind behavior;
    int input_rate;           /* 0: the tick rate from WELCOME */
    int phases;               /* 1..SWARM_MAX_PHASES tick slots (see above) */
    int input_timing;         /* 1: a bot moves to the slot where cl_plan_send puts its next input */
    int read_every_ms;        /* >0: the loop sleeps to the next multiple of this, then reads all */
    double chaos_prob;
    uint64_t seed;
    int latency_ms;           /* added one-way delay, each direction, 0..1000 (see below) */
    int jitter_ms;            /* plus uniform [0, jitter_ms] per message, never reordering */
    int transport;            /* SWARM_T_WS, SWARM_T_HTTP (the HTTP fallback), SWARM_T_AUTO (ws, then http) */
    int status_tty;           /* 1: rewrite one status line 4x/s; 0: a line every 2 s */
    int quiet;                /* no status output at all */
    /* When set: GET /metrics every second of the run, in the background
     * (skipped while the previous one is in flight), each answer handed
     * here from the service loop; t_s is when it arrived, since the start;
     * body is valid during the call only. */
    void (*on_metrics)(void *arg, double t_s, int status, const char *body, size_t len);
    void *metrics_arg;
} swarm_config;

enum { SWARM_T_WS = 0, SWARM_T_HTTP = 1, SWARM_T_AUTO = 2 };
/* auto: a bot whose WebSocket gets no WELCOME this long falls back to HTTP. */
#define SWARM_WELCOME_DEADLINE_US 3000000

#define SWARM_MAX_PHASES 64
/* Network delay queues hold this many messages a second each way (the
 * server's highest tick rate) over latency + jitter, plus a burst (a
 * resume's backlog of inputs), each up to the protocol's largest. */
#define SWARM_DELAY_RATE_HZ 240
#define SWARM_DELAY_BURST 8
#define SWARM_MAX_REASONS 24

/* One kind of failure or disconnect and how often it happened. */
typedef struct swarm_reason {
    int code;                 /* WebSocket close code, 0 when there was none */
    uint32_t count;
    char text[112];
} swarm_reason;

typedef struct swarm_reasons {
    swarm_reason r[SWARM_MAX_REASONS];
    int n;
    uint32_t other;           /* kinds beyond SWARM_MAX_REASONS */
    uint32_t total;
} swarm_reasons;

/* How a playing bot lost its connection (chaos), for the drop counts. */
enum {
    SWARM_DROP_CLOSE = DROP_CLOSE,
    SWARM_DROP_RESET = DROP_RESET,
    SWARM_DROP_TAKEOVER = DROP_TAKEOVER,
    SWARM_DROP_LEAVE = DROP_LEAVE,  /* not a drop for the server: the player left (1000) */
    SWARM_DROP_SERVER = DROP_KINDS, /* a close the bot did not ask for */
    SWARM_DROP_KINDS
};

/* Quantiles of a small set of samples (kept, sorted at the end). */
typedef struct swarm_quant {
    uint32_t n;
    double p50, p99, max;
} swarm_quant;

/* One second of the run (the last one may be shorter: see dt_s). */
typedef struct swarm_sample {
    float t_s, dt_s;
    uint32_t connected;       /* at the end of the second */
    uint32_t snapshots;
    uint32_t input_msgs;
    uint32_t corrections;
    uint32_t drops, resumed;  /* chaos */
    uint64_t bytes_down, bytes_up;
    float rtt_p50_ms, rtt_p99_ms; /* this second's acks; 0 when none */
    uint32_t rtt_n;
    float cpu_pct;            /* the bots' process, % of one core */
    float tick_late_ms;       /* the bots' clock: latest slot wakeup this second */
} swarm_sample;

typedef struct swarm_result {
    double elapsed_s;         /* measured window */
    uint16_t tick_rate, snapshot_rate, max_players;
    int input_rate;
    int phases;
    int rate_mismatch;        /* bots were welcomed with different rates */

    /* connections */
    uint32_t connected_max, connected_end, ever_connected;
    uint32_t connect_attempts, failed, pending_at_end;
    /* WELCOMEs by transport (a bot counts once per session), and bots that
     * fell back from WebSocket to HTTP (--transport auto) by why. */
    uint32_t welcomes_ws, welcomes_http, fallbacks_upgrade, fallbacks_welcome;
    uint32_t reconnect_attempts, reconnects, chaos_closes;
    swarm_reasons failures, disconnects;
    uint32_t auth_refused;    /* 4001 (or 4003) before WELCOME: never retried */
    uint32_t dead_at_end;     /* bots given up on after an auth refusal */

    /* join tokens */
    int tokens_minted;        /* 1: minted with the secret, 0: POST /api/join */
    uint32_t tokens_requested, tokens_received, tokens_failed;
    swarm_reasons token_failures;
    swarm_quant token_ms;     /* request -> answer, POST /api/join only */

    /* drops and resumes (chaos) */
    uint32_t drops, drops_by[SWARM_DROP_KINDS];
    uint32_t bots_dropped;     /* bots dropped at least once */
    uint32_t resume_attempts;  /* JOINs with only a resume token */
    uint32_t resumed;          /* resumed WELCOME, same match and player */
    uint32_t resumed_as_other; /* resumed WELCOME, another player: must never happen */
    uint32_t resume_unflagged; /* WELCOME without `resumed` to a resume-only JOIN */
    uint32_t resume_refused;   /* 4002 "resume expired" */
    uint32_t resume_lost;      /* the connection ended before an answer */
    uint32_t rejoined;         /* fresh joins after a refusal */
    uint32_t rejoined_after_leave; /* fresh joins after a chaos leave */
    uint32_t takeover_old_closed; /* takeover: the old connection closed by the server */
    uint32_t away_at_end;      /* bots still trying to get back at the end */
    swarm_quant resume_ms;     /* drop -> resumed WELCOME */
    swarm_quant rejoin_ms;     /* drop -> WELCOME as a new player (the hold gone, or its process) */
    /* matchmaker mode: answers, and where the bots play at the end */
    uint32_t mm_seats, mm_failed;
    int ntargets;
    struct { char url[72]; uint32_t bots; } targets[16];
    uint64_t inputs_offline, inputs_offline_waited;

    /* GET /metrics when all bots first were connected (NULL: never) */
    char *connected_scrape;
    size_t connected_scrape_len;
    int connected_scrape_status;
    double connected_scrape_t_s;

    /* input -> ack round trip */
    uint64_t rtt_n;
    double rtt_mean_ms, rtt_p50_ms, rtt_p95_ms, rtt_p99_ms, rtt_max_ms;

    /* snapshot arrival */
    double interval_nominal_ms;
    uint64_t interval_n;
    double interval_mean_ms, interval_stddev_ms, interval_p99_ms, interval_max_ms;
    uint64_t snapshots, full_snapshots;
    double snapshots_expected;
    uint32_t bots_measured;   /* bots connected >= 1 s, used for the per-bot figures */
    uint32_t bots_below_99;
    double min_bot_pct;

    /* bytes (WebSocket payload, framing not included) */
    uint64_t bytes_down, bytes_up, msgs_down, msgs_up;
    double bot_seconds;       /* sum of the bots' connected time */
    uint64_t body_bytes, entity_snaps, moving_snaps, entity_counted_snapshots;

    /* netcode */
    uint64_t corrections;
    uint64_t corrections_stale; /* of those: the snapshot before showed the slot's previous player */
    double max_correction;
    uint64_t inputs, inputs_stalled;
    uint64_t inputs_judged, inputs_late; /* input timing: inputs whose tick is known, and those late for it */
    double lead_mean_ms, lead_max_ms;    /* ... the bots' cl_plan_send lead at the end */

    /* fight: shots the bots' prediction fired (cl_stats.shots), those that
     * hit someone as the shooter drew them (screen_hits), and the hits the
     * server credited (server_hits, its per-player counter), all summed.
     * Shot by shot, from the snapshot that acknowledged the shot's input
     * (the server judges a shot in the tick it steps the input): screen
     * hits registered, lost because the round ended or restarted, because
     * the shooter or the target was dead (or had respawned) on the server
     * by then (the target often by the shooter's own previous shot, whose
     * kill had not reached its screen yet), or for no such reason (other: the two sides disagreed), or
     * never acknowledged (the run ended); and hits the server credited
     * beyond the screen hits. */
    uint64_t shots, screen_hits, server_hits;
    /* Remote players drawn (fight bots draw every tick) and of those held:
     * no snapshot past the render tick, drawn where last seen. */
    uint64_t interp_frames, interp_holds;
    uint64_t hits_registered, lost_round, lost_shooter_dead, lost_target_dead, lost_other, hits_unacked;
    uint64_t lost_target_own_kill; /* of lost_target_dead: killed by the shooter's own earlier shot */
    uint64_t server_only_hits;
    /* each acknowledged shot: from its view (the tick the others were
     * drawn at) to the tick the server judged it, which --max-unlag-ms
     * bounds on the server */
    uint64_t view_age_n;
    double view_age_p50_ms, view_age_p99_ms, view_age_max_ms;

    /* reliable events received (cl_stats.events) and lost, and by kind */
    uint64_t events, events_lost;
    uint64_t ev_kills, ev_chat, ev_rounds, ev_other;

    /* the bots' process */
    double cpu_user_s, cpu_sys_s;
    /* Snapshot bodies (memo.h): decoded for real, results shared from
     * another bot's decode of the same bytes, of those decoded again and
     * compared, and different (must be 0). */
    uint64_t memo_decodes, memo_hits, memo_checked, memo_mismatches;
    long max_rss_kb;
    uint64_t ticks, ticks_missed;
    double tick_late_max_ms;

    /* network delay (latency_ms, jitter_ms) */
    uint64_t delay_dropped_in, delay_dropped_out; /* still queued when their connection closed */
    uint32_t delay_full;      /* connections closed because a delay queue was full */
    uint32_t delay_depth_in, delay_depth_out; /* most messages queued for one bot at once */

    /* spectators (--spectators): connected like bots over the ramp, after
     * them; they send nothing. Their snapshots are expected at the rate
     * their WELCOME gives (the server's spectator rate) over the time each
     * was connected. */
    int spectators;
    uint16_t spectator_rate;
    uint32_t spec_connected_max, spec_connected_end, spec_ever_connected;
    uint64_t spec_snapshots, spec_full_snapshots, spec_bytes_down;
    double spec_seconds, spec_snapshots_expected;
    uint32_t spec_measured, spec_below_99; /* spectators connected >= 1 s; of those under 99% */
    double spec_min_pct;
    uint64_t spec_events, spec_kills, spec_events_lost;
    uint32_t spec_matches_seen;  /* distinct match ids among their WELCOMEs (up to 64 counted) */

    swarm_sample *series;
    int nseries;
} swarm_result;

typedef struct swarm swarm;

/* Returns NULL with err set (out of memory, lws context failure). */
swarm *swarm_create(const swarm_config *cfg, char *err, size_t errlen);

/* Runs the whole load test: connects the bots over the ramp, plays until
 * the duration is over (or *stop becomes nonzero), fills `res`, calls
 * `at_end(arg)` while the bots are still connected (for the final /metrics
 * scrape), then closes every bot (bounded, ~2 s). */
void swarm_run(swarm *sw, volatile sig_atomic_t *stop, void (*at_end)(void *), void *arg, swarm_result *res);

/* Wakes the service loop (safe from a signal handler). */
void swarm_wake(swarm *sw);

/* GET path on the server (same TLS settings as the bots), running the
 * service loop until the answer or timeout_ms. SWARM_HTTP_OK with *status
 * and a malloc'd, NUL-terminated *body (free it); SWARM_HTTP_UNREACHABLE
 * when no connection came up; SWARM_HTTP_ERROR otherwise. err says why. */
enum { SWARM_HTTP_OK = 0, SWARM_HTTP_UNREACHABLE = -1, SWARM_HTTP_ERROR = -2 };
int swarm_http_get(swarm *sw, const char *path, int timeout_ms, int *status, char **body, size_t *len, char *err,
                   size_t errlen);

/* Frees the swarm; res->series and res->connected_scrape stay valid until
 * swarm_result_free. */
void swarm_destroy(swarm *sw);
void swarm_result_free(swarm_result *res);

#endif
