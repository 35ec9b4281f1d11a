/* metrics: the server's counters and their Prometheus text (format
 * 0.0.4). Plain structs the core and the tick clock add to; rendering reads
 * them and the gauges the caller passes in. No clock, no I/O: the adapter
 * samples the process (RSS, CPU, open fds, start time) and hands the
 * numbers over. Every label set is fixed (enums and arrays, no strings
 * from the network), so the text stays bounded. */
#ifndef TW_METRICS_H
#define TW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "recorder.h"
#include "results.h"

/* Why a message or session was refused (connection closed); the label is
 * the /metrics reason. */
typedef enum metrics_bad {
    BAD_TEXT, BAD_TOO_LARGE, BAD_MALFORMED, BAD_UNEXPECTED, BAD_SEQUENCE, BAD_RATE, BAD_AUTH, BAD_RESUME,
    BAD_N
} metrics_bad;

/* Why a connection was refused: at accept (the connection caps), before
 * the upgrade (origin), the opening handshake itself (handshake.h,
 * RFC 6455 4.2.1), or an HTTP request carrying a body the server does not
 * take (413). */
typedef enum metrics_refused {
    REF_ORIGIN, REF_MAX_CONNS, REF_MAX_PER_IP,
    REF_METHOD, REF_HTTP_VERSION, REF_HOST, REF_UPGRADE, REF_CONNECTION, REF_KEY, REF_WS_VERSION, REF_SUBPROTOCOL,
    REF_BODY,
    REF_N
} metrics_refused;

/* tickwire_tick_duration_seconds: bounds from 5 us to 100 ms, fine enough
 * for a real p50 and p99 of ticks that mostly take tens of microseconds. */
#define METRICS_TICK_BUCKETS 19
#define METRICS_BACKLOG_BUCKETS 8

/* Filled by the tick clock: how long each tick's work took, and the ticks
 * it could not run on time. */
typedef struct tick_stats {
    uint64_t ticks, missed_ticks, tick_overruns;
    uint64_t hist[METRICS_TICK_BUCKETS + 1]; /* last: over every bound */
    double seconds;
    uint64_t stall_logs_held;  /* tick_stall lines held back by the log rate limit */
} tick_stats;

/* What an HTTP answer was for (the endpoint label of
 * tickwire_http_requests_total): the side doors by exact path, the files
 * of the web root, WebSocket upgrades (101 or a refusal), anything else
 * (other paths under /api and /metrics, answers given before a request
 * was read). */
typedef enum metrics_endpoint {
    EP_METRICS, EP_API_JOIN, EP_API_MATCHES, EP_API_LIVE, EP_API_MATCHMAKE, EP_HEALTHZ, EP_READYZ,
    EP_ADMIN_DRAIN, EP_API_REPLAYS,
    EP_STATIC, EP_WEBSOCKET, EP_OTHER,
    EP_N
} metrics_endpoint;

/* The status codes counted one by one; any other is counted as "other". */
#define METRICS_HTTP_CODES 22

/* Log lines of the core held back by a rate limit (log_ratelimit), by
 * event; the tick clock's tick_stall is tick_stats.stall_logs_held. */
typedef enum metrics_log {
    MLOG_STALL_CREDIT, MLOG_BAD_INPUT, MLOG_DROP, MLOG_REFUSE, MLOG_SPECTATE,
    MLOG_N
} metrics_log;

/* Why a spectate JOIN (or a spectator) was refused: the label of
 * tickwire_spectators_refused_total. A bad token counts as for players
 * (tickwire_bad_messages_total{reason="auth"}). */
typedef enum metrics_spec_refused {
    SPEC_REF_NO_MATCH, SPEC_REF_FULL, SPEC_REF_INPUT, SPEC_REF_MATCH_ENDED,
    SPEC_REF_N
} metrics_spec_refused;

typedef struct metrics {
    tick_stats tick;
    uint64_t snapshots_out, snapshot_bytes_out, full_out, welcome_out;
    uint64_t inputs_in, snapshots_skipped, dropped_slow, dropped_idle, joins, leaves;
    uint64_t accepted;      /* TCP connections accepted (within the caps) */
    uint64_t bad[BAD_N];
    uint64_t refused[REF_N];
    uint64_t holds, resumes, holds_expired, tokens_minted;
    uint64_t drain_refused;  /* JOINs closed 1001 while draining */
    uint64_t claims[5];      /* fleet token checks by verdict (CORE_CLAIM_*; 0 unused) */
    /* Input queue depth (inputs received, not yet applied) of each person
     * playing, sampled at every snapshot: a lasting backlog is latency
     * that everyone else sees. */
    uint64_t backlog_hist[METRICS_BACKLOG_BUCKETS + 1];
    uint64_t backlog_sum;
    uint32_t backlog_max;  /* deepest queue at the latest snapshot tick */
    /* matches */
    uint64_t shots, hits, kills, unlag_clamped;
    uint64_t rounds_ended[4];  /* by PROTO_END_* (0 unused) */
    uint64_t chat_in, chat_dropped, dropped_events_behind;
    /* WebSocket message payload bytes on game connections, counted by the
     * adapter as they are read and written (welcomes and snapshots out) */
    uint64_t received_bytes, sent_bytes;
    /* HTTP answers by endpoint and status (metrics_http_count) */
    uint64_t http[EP_N][METRICS_HTTP_CODES + 1];
    uint64_t log_held[MLOG_N];
    /* spectators */
    uint64_t spec_joins, spec_snapshots_out, spec_snapshot_bytes_out, spec_full_out;
    uint64_t spec_encodes, spec_shared;   /* spectator messages encoded, and copied from a match's cache */
    uint64_t spec_refused[SPEC_REF_N];
} metrics;

/* What the adapter samples from the process, and the build, at scrape
 * time. */
typedef struct metrics_process {
    double start_time_s;    /* Unix seconds */
    double cpu_seconds;     /* user + system */
    long rss_bytes, virtual_bytes;
    long open_fds, max_fds;
    const char *version;    /* tickwire_build_info labels; NULL: "unknown" */
    const char *lws_version;
} metrics_process;

/* Gauges read at render time. */
typedef struct metrics_gauges {
    int connections;        /* game connections (sessions) */
    int tcp_connections;    /* accepted connections of any kind, game ones included */
    int matches, players, npcs;
    int players_held;       /* of `players`: disconnected, held for a resume */
    int spectators;         /* spectator connections */
    uint32_t spectators_owed; /* owed a view and not yet written when the last tick began */
    int tick_rate, snapshot_rate;
    int ready, draining;    /* GET /readyz would say 200; a drain is under way */
    metrics_process proc;   /* sampled by the adapter */
} metrics_gauges;

const char *metrics_bad_label(metrics_bad r);
const char *metrics_refused_label(metrics_refused r);
const char *metrics_endpoint_label(metrics_endpoint e);
const char *metrics_log_label(metrics_log e);
const char *metrics_spec_refused_label(metrics_spec_refused r);

/* The endpoint of a request path (no query): the side doors by exact
 * path, other paths under /api and /metrics EP_OTHER, the rest (the web
 * root's files) EP_STATIC; NULL or "" EP_OTHER. */
metrics_endpoint metrics_endpoint_of(const char *path);

/* Counts one HTTP answer. O(codes). */
void metrics_http_count(metrics *m, metrics_endpoint e, int status);

/* Adds one tick that took `seconds` of a `period_s` budget. */
void tick_stats_observe(tick_stats *t, double seconds, double period_s);

/* Adds one player's input queue depth to the histogram. */
void metrics_backlog_observe(metrics *m, uint32_t depth);

/* Writes the exposition text into buf (NUL-terminated, cut at cap).
 * Returns its length. O(1): a fixed set of series. */
size_t metrics_render(const metrics *m, const metrics_gauges *g, char *buf, size_t cap);

/* The round storage's series (tickwire_results_*), for the adapter to
 * append after metrics_render's text; same contract. */
size_t metrics_render_results(const results_stats *s, char *buf, size_t cap);
/* The replay recorder's series (tickwire_replay_*), the same way. */
size_t metrics_render_replay(const recorder_stats *s, char *buf, size_t cap);

#endif
