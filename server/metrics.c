/* metrics: see metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

static const char *const BAD_LABELS[BAD_N] = {"text_frame", "too_large", "malformed", "unexpected",
                                              "sequence", "rate_limit", "auth", "resume_expired"};
static const char *const REF_LABELS[REF_N] = {"origin", "max_conns", "max_conns_per_ip", "method",
                                              "http_version", "host", "upgrade", "connection", "key",
                                              "ws_version", "subprotocol", "body"};
static const double TICK_LE[METRICS_TICK_BUCKETS] = {
    0.000005, 0.00001, 0.00002, 0.00003, 0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003,
    0.0005,   0.00075, 0.001,   0.002,   0.005,   0.01,     0.02,   0.05,    0.1};
static const char *const EP_LABELS[EP_N] = {"/metrics", "/api/join", "/api/matches", "/api/matches/live",
                                            "/api/matchmake", "/healthz", "/readyz", "/admin/drain",
                                            "/api/replays", "static",
                                            "websocket", "other"};
static const int HTTP_CODES[METRICS_HTTP_CODES] = {101, 200, 202, 204, 206, 301, 302, 304, 400, 401, 403,
                                                   404, 405, 408, 413, 415, 416, 426, 431, 500, 501, 503};
static const char *const LOG_LABELS[MLOG_N] = {"stall_credit", "bad_input", "drop", "refuse", "spectate_refused"};
static const char *const SPEC_REF_LABELS[SPEC_REF_N] = {"no_such_match", "full", "input", "match_ended"};

static const uint32_t BACKLOG_LE[METRICS_BACKLOG_BUCKETS] = {0, 1, 2, 4, 8, 16, 32, 64};

void metrics_backlog_observe(metrics *m, uint32_t depth)
{
    int b = 0;
    while (b < METRICS_BACKLOG_BUCKETS && depth > BACKLOG_LE[b])
        b++;
    m->backlog_hist[b]++;
    m->backlog_sum += depth;
}

const char *metrics_bad_label(metrics_bad r)
{
    return r < BAD_N ? BAD_LABELS[r] : "?";
}

const char *metrics_refused_label(metrics_refused r)
{
    return r < REF_N ? REF_LABELS[r] : "?";
}

const char *metrics_endpoint_label(metrics_endpoint e)
{
    return e < EP_N ? EP_LABELS[e] : "?";
}

const char *metrics_log_label(metrics_log e)
{
    return e < MLOG_N ? LOG_LABELS[e] : "?";
}

const char *metrics_spec_refused_label(metrics_spec_refused r)
{
    return r < SPEC_REF_N ? SPEC_REF_LABELS[r] : "?";
}

metrics_endpoint metrics_endpoint_of(const char *path)
{
    if (!path || !*path)
        return EP_OTHER;
    for (int e = EP_METRICS; e <= EP_API_REPLAYS; e++)
        if (strcmp(path, EP_LABELS[e]) == 0)
            return (metrics_endpoint)e;
    if (strncmp(path, "/api/replays/", 13) == 0)
        return EP_API_REPLAYS; /* a file's bytes */
    if (strncmp(path, "/admin", 6) == 0 && (path[6] == '/' || path[6] == '\0'))
        return EP_OTHER;
    if (strncmp(path, "/api", 4) == 0 && (path[4] == '/' || path[4] == '\0'))
        return EP_OTHER;
    if (strncmp(path, "/metrics", 8) == 0 && (path[8] == '/' || path[8] == '\0'))
        return EP_OTHER;
    return EP_STATIC;
}

void metrics_http_count(metrics *m, metrics_endpoint e, int status)
{
    int c = 0;
    while (c < METRICS_HTTP_CODES && HTTP_CODES[c] != status)
        c++;
    m->http[e < EP_N ? e : EP_OTHER][c]++;
}

void tick_stats_observe(tick_stats *t, double seconds, double period_s)
{
    int b = 0;
    while (b < METRICS_TICK_BUCKETS && seconds > TICK_LE[b])
        b++;
    t->hist[b]++;
    t->seconds += seconds;
    t->ticks++;
    if (seconds > period_s)
        t->tick_overruns++;
}

typedef struct textbuf {
    char *p;
    size_t len, cap;
} textbuf;

static void tb_printf(textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(textbuf *t, const char *fmt, ...)
{
    if (t->cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

static void tb_metric(textbuf *t, const char *name, const char *type, const char *help, double v)
{
    tb_printf(t, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* A label value: \, " and newline escaped as the text format asks. */
static void tb_label(textbuf *t, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            tb_printf(t, "\\%c", *v);
        else if (*v == '\n')
            tb_printf(t, "\\n");
        else
            tb_printf(t, "%c", *v);
    }
}

static void render_ticks(textbuf *t, const tick_stats *ts)
{
    tb_printf(t, "# HELP tickwire_tick_duration_seconds Work per tick, all matches.\n"
                 "# TYPE tickwire_tick_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b < METRICS_TICK_BUCKETS; b++) {
        cum += ts->hist[b];
        tb_printf(t, "tickwire_tick_duration_seconds_bucket{le=\"%g\"} %llu\n", TICK_LE[b], (unsigned long long)cum);
    }
    cum += ts->hist[METRICS_TICK_BUCKETS];
    tb_printf(t, "tickwire_tick_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    tb_printf(t, "tickwire_tick_duration_seconds_sum %.9f\ntickwire_tick_duration_seconds_count %llu\n",
              ts->seconds, (unsigned long long)ts->ticks);
    tb_metric(t, "tickwire_ticks_total", "counter", "Ticks run.", (double)ts->ticks);
    tb_metric(t, "tickwire_tick_overruns_total", "counter", "Ticks whose work took longer than the tick period.",
              (double)ts->tick_overruns);
    tb_metric(t, "tickwire_missed_ticks_total", "counter", "Ticks skipped after a stall.", (double)ts->missed_ticks);
}

/* Only the (endpoint, code) pairs seen: a bounded set, mostly empty. */
static void render_http(textbuf *t, const metrics *m)
{
    tb_printf(t, "# HELP tickwire_http_requests_total HTTP answers by endpoint and status code: 101 for a "
                 "WebSocket upgrade, the refusals at the handshake, the web root's files (static).\n"
                 "# TYPE tickwire_http_requests_total counter\n");
    for (int e = 0; e < EP_N; e++)
        for (int c = 0; c <= METRICS_HTTP_CODES; c++) {
            if (!m->http[e][c])
                continue;
            tb_printf(t, "tickwire_http_requests_total{endpoint=\"%s\",code=\"", EP_LABELS[e]);
            if (c < METRICS_HTTP_CODES)
                tb_printf(t, "%d", HTTP_CODES[c]);
            else
                tb_printf(t, "other");
            tb_printf(t, "\"} %llu\n", (unsigned long long)m->http[e][c]);
        }
}

static void render_log_held(textbuf *t, const metrics *m)
{
    tb_printf(t, "# HELP tickwire_log_suppressed_total Warning lines held back by a log rate limit, by event "
                 "(the next line of the event says how many).\n"
                 "# TYPE tickwire_log_suppressed_total counter\n"
                 "tickwire_log_suppressed_total{event=\"tick_stall\"} %llu\n",
              (unsigned long long)m->tick.stall_logs_held);
    for (int e = 0; e < MLOG_N; e++)
        tb_printf(t, "tickwire_log_suppressed_total{event=\"%s\"} %llu\n", LOG_LABELS[e],
                  (unsigned long long)m->log_held[e]);
}

/* The process_* families of the Prometheus client libraries, and the build. */
static void render_process(textbuf *t, const metrics_process *p)
{
    tb_metric(t, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.",
              p->start_time_s);
    tb_metric(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", (double)p->rss_bytes);
    tb_metric(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", (double)p->virtual_bytes);
    tb_metric(t, "process_cpu_seconds_total", "counter", "User and system CPU time in seconds.", p->cpu_seconds);
    if (p->open_fds >= 0)
        tb_metric(t, "process_open_fds", "gauge", "Number of open file descriptors.", (double)p->open_fds);
    if (p->max_fds >= 0)
        tb_metric(t, "process_max_fds", "gauge", "Maximum number of open file descriptors.", (double)p->max_fds);
    tb_printf(t, "# HELP tickwire_build_info The server's version, WebSocket subprotocol and libwebsockets "
                 "version; always 1.\n# TYPE tickwire_build_info gauge\ntickwire_build_info{version=\"");
    tb_label(t, p->version ? p->version : "unknown");
    tb_printf(t, "\",protocol=\"%s\",libwebsockets=\"", PROTO_SUBPROTOCOL);
    tb_label(t, p->lws_version ? p->lws_version : "unknown");
    tb_printf(t, "\"} 1\n");
}

size_t metrics_render(const metrics *m, const metrics_gauges *g, char *buf, size_t cap)
{
    textbuf t = {buf, 0, cap};
    if (cap)
        buf[0] = '\0';
    tb_metric(&t, "tickwire_connections", "gauge", "Open game WebSocket connections.", g->connections);
    tb_metric(&t, "tickwire_tcp_connections", "gauge",
              "Open TCP connections of any kind, game ones included: what --max-conns caps.", g->tcp_connections);
    tb_metric(&t, "tickwire_tcp_accepted_total", "counter", "TCP connections accepted within the caps.",
              (double)m->accepted);
    tb_metric(&t, "tickwire_matches", "gauge", "Running matches.", g->matches);
    tb_metric(&t, "tickwire_players", "gauge", "Players (people) in matches.", g->players);
    tb_metric(&t, "tickwire_players_held", "gauge",
              "Of tickwire_players, those whose connection dropped, held for a resume.", g->players_held);
    tb_metric(&t, "tickwire_npcs", "gauge", "Computer players in matches.", g->npcs);
    tb_metric(&t, "tickwire_ready", "gauge", "1 while new players are taken (GET /readyz answers 200).", g->ready);
    tb_metric(&t, "tickwire_draining", "gauge", "1 once a drain (SIGTERM, POST /admin/drain) has begun.",
              g->draining);
    tb_metric(&t, "tickwire_tick_rate_hz", "gauge", "Configured tick rate.", g->tick_rate);
    tb_metric(&t, "tickwire_snapshot_rate_hz", "gauge", "Configured snapshot rate.", g->snapshot_rate);
    render_ticks(&t, &m->tick);
    tb_printf(&t, "# HELP tickwire_input_queue_depth Inputs received and not yet applied, per person, at each snapshot.\n"
                  "# TYPE tickwire_input_queue_depth histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b <= METRICS_BACKLOG_BUCKETS; b++) {
        cum += m->backlog_hist[b];
        if (b < METRICS_BACKLOG_BUCKETS)
            tb_printf(&t, "tickwire_input_queue_depth_bucket{le=\"%u\"} %llu\n", BACKLOG_LE[b], (unsigned long long)cum);
        else
            tb_printf(&t, "tickwire_input_queue_depth_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    tb_printf(&t, "tickwire_input_queue_depth_sum %llu\ntickwire_input_queue_depth_count %llu\n",
              (unsigned long long)m->backlog_sum, (unsigned long long)cum);
    tb_metric(&t, "tickwire_input_queue_depth_max", "gauge", "Deepest input queue at the latest snapshot.",
              m->backlog_max);
    tb_metric(&t, "tickwire_snapshot_messages_total", "counter", "Snapshot messages sent.", (double)m->snapshots_out);
    tb_metric(&t, "tickwire_snapshot_bytes_total", "counter", "Snapshot payload bytes sent.",
              (double)m->snapshot_bytes_out);
    tb_metric(&t, "tickwire_full_snapshots_total", "counter", "Snapshots sent without a baseline.",
              (double)m->full_out);
    tb_metric(&t, "tickwire_input_messages_total", "counter", "Input messages received.", (double)m->inputs_in);
    tb_metric(&t, "tickwire_received_bytes_total", "counter",
              "WebSocket message payload bytes received on game connections.", (double)m->received_bytes);
    tb_metric(&t, "tickwire_sent_bytes_total", "counter",
              "WebSocket message payload bytes sent on game connections (welcomes and snapshots).",
              (double)m->sent_bytes);
    tb_metric(&t, "tickwire_snapshots_skipped_total", "counter",
              "Snapshots a client never got (latest wins): its socket was still busy, or a spectator's view "
              "went out after the next one was taken.",
              (double)m->snapshots_skipped);
    tb_metric(&t, "tickwire_joins_total", "counter", "Players joined.", (double)m->joins);
    tb_metric(&t, "tickwire_drain_refused_total", "counter", "JOINs sent away (1001) because the server was draining.",
              (double)m->drain_refused);
    tb_printf(&t, "# HELP tickwire_token_claims_total Join tokens checked fleet-wide (--redis): first use, first use "
                  "claiming a matchmaker's seat, used before (refused 4001), or let in unchecked (Redis away).\n"
                  "# TYPE tickwire_token_claims_total counter\n");
    static const char *const claim_labels[5] = {"", "fresh", "seat", "used", "unchecked"};
    for (int v = 1; v < 5; v++)
        tb_printf(&t, "tickwire_token_claims_total{result=\"%s\"} %llu\n", claim_labels[v],
                  (unsigned long long)m->claims[v]);
    tb_metric(&t, "tickwire_leaves_total", "counter", "Players left.", (double)m->leaves);
    tb_metric(&t, "tickwire_holds_total", "counter", "Dropped players held for a resume.", (double)m->holds);
    tb_metric(&t, "tickwire_resumes_total", "counter", "Players resumed with their resume token.", (double)m->resumes);
    tb_metric(&t, "tickwire_holds_expired_total", "counter", "Held players whose grace ran out.",
              (double)m->holds_expired);
    tb_metric(&t, "tickwire_guest_tokens_total", "counter", "Guest tokens minted by POST /api/join (demo mode).",
              (double)m->tokens_minted);
    tb_printf(&t, "# HELP tickwire_clients_dropped_total Clients the server dropped, by reason.\n"
                  "# TYPE tickwire_clients_dropped_total counter\n"
                  "tickwire_clients_dropped_total{reason=\"send_stalled\"} %llu\n"
                  "tickwire_clients_dropped_total{reason=\"idle\"} %llu\n"
                  "tickwire_clients_dropped_total{reason=\"events_behind\"} %llu\n",
              (unsigned long long)m->dropped_slow, (unsigned long long)m->dropped_idle,
              (unsigned long long)m->dropped_events_behind);
    tb_metric(&t, "tickwire_shots_total", "counter", "Shots fired.", (double)m->shots);
    tb_metric(&t, "tickwire_hits_total", "counter", "Shots that hit a player.", (double)m->hits);
    tb_metric(&t, "tickwire_kills_total", "counter", "Players killed.", (double)m->kills);
    tb_metric(&t, "tickwire_unlag_clamped_total", "counter",
              "Shots whose view was older than --max-unlag-ms, judged at the bound.", (double)m->unlag_clamped);
    tb_printf(&t, "# HELP tickwire_rounds_ended_total Live rounds ended, by reason.\n"
                  "# TYPE tickwire_rounds_ended_total counter\n"
                  "tickwire_rounds_ended_total{reason=\"time\"} %llu\n"
                  "tickwire_rounds_ended_total{reason=\"score\"} %llu\n"
                  "tickwire_rounds_ended_total{reason=\"interrupted\"} %llu\n",
              (unsigned long long)m->rounds_ended[1], (unsigned long long)m->rounds_ended[2],
              (unsigned long long)m->rounds_ended[3]);
    tb_metric(&t, "tickwire_spectators", "gauge", "Spectator connections watching a match.", g->spectators);
    tb_metric(&t, "tickwire_spectators_owed", "gauge",
              "Spectators owed a view and not yet written when the last tick began (they are written after "
              "the players' snapshots, in the time left before the next tick).",
              (double)g->spectators_owed);
    tb_metric(&t, "tickwire_spectator_joins_total", "counter", "Spectators admitted to a match.",
              (double)m->spec_joins);
    tb_metric(&t, "tickwire_spectator_snapshots_total", "counter", "Snapshot messages sent to spectators.",
              (double)m->spec_snapshots_out);
    tb_metric(&t, "tickwire_spectator_snapshot_bytes_total", "counter", "Snapshot payload bytes sent to spectators.",
              (double)m->spec_snapshot_bytes_out);
    tb_metric(&t, "tickwire_spectator_full_snapshots_total", "counter", "Spectator snapshots sent without a baseline.",
              (double)m->spec_full_out);
    tb_metric(&t, "tickwire_spectator_encodes_total", "counter",
              "Spectator snapshot messages encoded (once per match, view and cursor).", (double)m->spec_encodes);
    tb_metric(&t, "tickwire_spectator_shared_total", "counter",
              "Spectator snapshot messages copied from the match's encoded one instead of encoded.",
              (double)m->spec_shared);
    tb_printf(&t, "# HELP tickwire_spectators_refused_total Spectate joins refused and spectators closed, by reason.\n"
                  "# TYPE tickwire_spectators_refused_total counter\n");
    for (int r = 0; r < SPEC_REF_N; r++)
        tb_printf(&t, "tickwire_spectators_refused_total{reason=\"%s\"} %llu\n", SPEC_REF_LABELS[r],
                  (unsigned long long)m->spec_refused[r]);
    tb_metric(&t, "tickwire_chat_messages_total", "counter", "Chat lines delivered to matches.", (double)m->chat_in);
    tb_metric(&t, "tickwire_chat_dropped_total", "counter", "Chat lines dropped over the per-player rate.",
              (double)m->chat_dropped);
    tb_printf(&t, "# HELP tickwire_connections_refused_total Connections refused, by reason: at accept (caps), "
                  "before the upgrade (origin) or at the handshake.\n"
                  "# TYPE tickwire_connections_refused_total counter\n");
    for (int r = 0; r < REF_N; r++)
        tb_printf(&t, "tickwire_connections_refused_total{reason=\"%s\"} %llu\n", REF_LABELS[r],
                  (unsigned long long)m->refused[r]);
    tb_printf(&t, "# HELP tickwire_bad_messages_total Messages refused (connection closed), by reason.\n"
                  "# TYPE tickwire_bad_messages_total counter\n");
    for (int r = 0; r < BAD_N; r++)
        tb_printf(&t, "tickwire_bad_messages_total{reason=\"%s\"} %llu\n", BAD_LABELS[r],
                  (unsigned long long)m->bad[r]);
    render_http(&t, m);
    render_log_held(&t, m);
    render_process(&t, &g->proc);
    return t.len;
}

size_t metrics_render_replay(const recorder_stats *s, char *buf, size_t cap)
{
    textbuf t = {buf, 0, cap};
    if (cap)
        buf[0] = '\0';
    tb_metric(&t, "tickwire_replay_files_written_total", "counter",
              "Replay files completed and renamed into --replay-dir.", (double)s->files_written);
    tb_metric(&t, "tickwire_replay_write_errors_total", "counter",
              "Failed replay file opens, writes, syncs or renames (each logged; that file is given up).",
              (double)s->write_errors);
    tb_metric(&t, "tickwire_replay_dropped_total", "counter",
              "Rounds not recorded: the writer fell behind, or too many files open (each logged).",
              (double)s->dropped);
    tb_metric(&t, "tickwire_replay_bytes_written_total", "counter", "Replay bytes written.",
              (double)s->bytes_written);
    tb_metric(&t, "tickwire_replay_pruned_total", "counter", "Old replay files deleted for --replay-keep.",
              (double)s->pruned);
    tb_metric(&t, "tickwire_replay_tick_seconds_total", "counter",
              "Time the tick spent recording (encoding records and copying them into chunks).", s->tick_seconds);
    return t.len;
}

size_t metrics_render_results(const results_stats *s, char *buf, size_t cap)
{
    textbuf t = {buf, 0, cap};
    if (cap)
        buf[0] = '\0';
    tb_metric(&t, "tickwire_results_written_total", "counter", "Ended rounds stored in the results database.",
              (double)s->written);
    tb_metric(&t, "tickwire_results_write_errors_total", "counter",
              "Failed attempts to store a round (each retried, each logged).", (double)s->write_errors);
    tb_metric(&t, "tickwire_results_retries_total", "counter", "Attempts to store a round after a failed one.",
              (double)s->retries);
    tb_metric(&t, "tickwire_results_queued", "gauge", "Ended rounds waiting to be stored.", s->queued);
    tb_metric(&t, "tickwire_results_lost_total", "counter",
              "Rounds never stored (queue full, or unwritable at shutdown); each logged whole as results_lost.",
              (double)s->lost);
    return t.len;
}
