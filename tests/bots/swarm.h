/* swarm: N bots in one process, on one lws client context.
 *
 * Each bot is a cl_client from shared/client.c driven exactly as the
 * browser drives it: JOIN, then one input per fixed tick of the bots' own
 * clock (cl_push_input predicts it), batched into INPUT messages at the
 * input rate (cl_write_input), and every server message through
 * cl_receive, which reconciles. The swarm only adds what a load test
 * needs: staggered connects, reconnects (chaos), and measurement.
 *
 * Timekeeping is lws suls on the one service thread: the connect ramp,
 * the bots' tick (absolute deadlines, like server/net.c), a 1 s sampler
 * for the time series, the live status line and the end of the run.
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
 * Costs: per bot one cl_client (~72 KiB) plus ~100 bytes; one send
 * buffer is shared by all bots (client frames are masked in place, so it
 * is refilled for every write). Per tick O(bots); per snapshot a decode,
 * one pass over the match's entity slots and one histogram add per acked
 * input. Nothing here interpolates: the bots never call cl_view. */
#ifndef TW_BOTS_SWARM_H
#define TW_BOTS_SWARM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "behavior.h"

typedef struct swarm_config {
    const char *host;         /* numeric address */
    const char *host_header;  /* "host:port" */
    int port;
    const char *path;
    int bots;
    double duration_s, ramp_s;
    behavior_kind behavior;
    int input_rate;           /* 0: the tick rate from WELCOME */
    int phases;               /* 1..SWARM_MAX_PHASES tick slots (see above) */
    double chaos_prob;
    uint64_t seed;
    int status_tty;           /* 1: rewrite one status line 4x/s; 0: a line every 2 s */
    int quiet;                /* no status output at all */
} swarm_config;

#define SWARM_MAX_PHASES 64
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

/* One second of the run (the last one may be shorter: see dt_s). */
typedef struct swarm_sample {
    float t_s, dt_s;
    uint32_t connected;       /* at the end of the second */
    uint32_t snapshots;
    uint32_t input_msgs;
    uint32_t corrections;
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
    uint32_t reconnect_attempts, reconnects, chaos_closes;
    swarm_reasons failures, disconnects;

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
    double max_correction;
    uint64_t inputs, inputs_stalled;

    /* the bots' process */
    double cpu_user_s, cpu_sys_s;
    long max_rss_kb;
    uint64_t ticks, ticks_missed;
    double tick_late_max_ms;

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

/* Frees the swarm; res->series stays valid until swarm_result_free. */
void swarm_destroy(swarm *sw);
void swarm_result_free(swarm_result *res);

#endif
