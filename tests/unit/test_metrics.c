/* Unit tests for server/metrics.c: the counters and their Prometheus text.
 *
 * Every series the server documents is rendered with its HELP and TYPE
 * lines and the value it was given, and the whole text passes the strict
 * reader (tests/common/promtext.h); the tick histogram's buckets are
 * cumulative and end in +Inf == count; reasons, endpoints and codes are
 * labels; build_info's labels are escaped; a buffer too small gets a cut,
 * NUL-terminated text and never a byte past its end. The round storage's
 * series (metrics_render_results) likewise. And the log rate limiter
 * (server/log.c, log_ratelimit) whose held-back lines these count, on a
 * made-up clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "promtext.h"

static char g_text[32768];

/* The value of the sample line that starts with `series ` (name and labels). */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    fail_msg("no sample %s", series);
    return -1;
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

static void filled(metrics *m, metrics_gauges *g)
{
    memset(m, 0, sizeof *m);
    m->snapshots_out = 101;
    m->snapshot_bytes_out = 102;
    m->full_out = 103;
    m->inputs_in = 104;
    m->snapshots_skipped = 105;
    m->joins = 106;
    m->leaves = 107;
    m->holds = 108;
    m->resumes = 109;
    m->holds_expired = 110;
    m->tokens_minted = 111;
    m->dropped_slow = 112;
    m->dropped_idle = 113;
    for (int r = 0; r < BAD_N; r++)
        m->bad[r] = 200 + (uint64_t)r;
    for (int r = 0; r < REF_N; r++)
        m->refused[r] = 300 + (uint64_t)r;
    m->tick.missed_ticks = 7;
    m->tick.stall_logs_held = 8;
    m->received_bytes = 114;
    m->sent_bytes = 115;
    for (int e = 0; e < MLOG_N; e++)
        m->log_held[e] = 400 + (uint64_t)e;
    m->spec_joins = 116;
    m->spec_snapshots_out = 117;
    m->spec_snapshot_bytes_out = 118;
    m->spec_full_out = 119;
    m->spec_encodes = 120;
    m->spec_shared = 121;
    for (int r = 0; r < SPEC_REF_N; r++)
        m->spec_refused[r] = 500 + (uint64_t)r;
    metrics_http_count(m, EP_WEBSOCKET, 101);
    metrics_http_count(m, EP_METRICS, 200);
    metrics_http_count(m, EP_METRICS, 200);
    metrics_http_count(m, EP_OTHER, 404);
    metrics_http_count(m, EP_STATIC, 304);
    metrics_http_count(m, EP_STATIC, 299); /* not one of the codes: "other" */
    *g = (metrics_gauges){.connections = 11, .matches = 12, .players = 13, .npcs = 14, .players_held = 3, .spectators = 15,
                          .spectators_owed = 16, .tick_rate = 60, .snapshot_rate = 30,
                          .proc = {.rss_bytes = 123456789, .virtual_bytes = 987654321, .cpu_seconds = 2.5,
                                   .start_time_s = 1796300000.25, .open_fds = 17, .max_fds = 1024,
                                   .version = "v1.2-3-gabcdef", .lws_version = "4.1.6"}};
}

static void test_every_series(void **state)
{
    (void)state;
    metrics m;
    metrics_gauges g;
    filled(&m, &g);
    size_t len = metrics_render(&m, &g, g_text, sizeof g_text);
    assert_int_equal(len, strlen(g_text));
    assert_true(len < sizeof g_text - 1);
    static const struct {
        const char *name, *type;
        double v;
    } series[] = {
        {"tickwire_connections", "gauge", 11},
        {"tickwire_matches", "gauge", 12},
        {"tickwire_players", "gauge", 13},
        {"tickwire_npcs", "gauge", 14},
        {"tickwire_players_held", "gauge", 3},
        {"tickwire_spectators", "gauge", 15},
        {"tickwire_spectators_owed", "gauge", 16},
        {"tickwire_spectator_joins_total", "counter", 116},
        {"tickwire_spectator_snapshots_total", "counter", 117},
        {"tickwire_spectator_snapshot_bytes_total", "counter", 118},
        {"tickwire_spectator_full_snapshots_total", "counter", 119},
        {"tickwire_spectator_encodes_total", "counter", 120},
        {"tickwire_spectator_shared_total", "counter", 121},
        {"tickwire_received_bytes_total", "counter", 114},
        {"tickwire_sent_bytes_total", "counter", 115},
        {"process_start_time_seconds", "gauge", 1796300000.25},
        {"process_open_fds", "gauge", 17},
        {"process_max_fds", "gauge", 1024},
        {"process_virtual_memory_bytes", "gauge", 987654321},
        {"tickwire_tick_rate_hz", "gauge", 60},
        {"tickwire_snapshot_rate_hz", "gauge", 30},
        {"tickwire_ticks_total", "counter", 0},
        {"tickwire_tick_overruns_total", "counter", 0},
        {"tickwire_missed_ticks_total", "counter", 7},
        {"tickwire_snapshot_messages_total", "counter", 101},
        {"tickwire_snapshot_bytes_total", "counter", 102},
        {"tickwire_full_snapshots_total", "counter", 103},
        {"tickwire_input_messages_total", "counter", 104},
        {"tickwire_snapshots_skipped_total", "counter", 105},
        {"tickwire_joins_total", "counter", 106},
        {"tickwire_leaves_total", "counter", 107},
        {"tickwire_holds_total", "counter", 108},
        {"tickwire_resumes_total", "counter", 109},
        {"tickwire_holds_expired_total", "counter", 110},
        {"tickwire_guest_tokens_total", "counter", 111},
        {"process_resident_memory_bytes", "gauge", 123456789},
        {"process_cpu_seconds_total", "counter", 2.5},
    };
    char line[256];
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
        snprintf(line, sizeof line, "# TYPE %s %s", series[i].name, series[i].type);
        if (!has_line(g_text, line))
            fail_msg("missing: %s", line);
        snprintf(line, sizeof line, "# HELP %s ", series[i].name);
        assert_non_null(strstr(g_text, line));
        assert_true(sample(g_text, series[i].name) == series[i].v);
    }
    /* Labelled families. */
    assert_true(has_line(g_text, "# TYPE tickwire_clients_dropped_total counter"));
    assert_true(sample(g_text, "tickwire_clients_dropped_total{reason=\"send_stalled\"}") == 112);
    assert_true(sample(g_text, "tickwire_clients_dropped_total{reason=\"idle\"}") == 113);
    assert_true(has_line(g_text, "# TYPE tickwire_connections_refused_total counter"));
    for (int r = 0; r < REF_N; r++) {
        snprintf(line, sizeof line, "tickwire_connections_refused_total{reason=\"%s\"}",
                 metrics_refused_label((metrics_refused)r));
        assert_true(sample(g_text, line) == 300 + r);
    }
    assert_true(has_line(g_text, "# TYPE tickwire_bad_messages_total counter"));
    for (int r = 0; r < BAD_N; r++) {
        snprintf(line, sizeof line, "tickwire_bad_messages_total{reason=\"%s\"}", metrics_bad_label((metrics_bad)r));
        assert_true(sample(g_text, line) == 200 + r);
    }
    assert_true(has_line(g_text, "# TYPE tickwire_spectators_refused_total counter"));
    for (int r = 0; r < SPEC_REF_N; r++) {
        snprintf(line, sizeof line, "tickwire_spectators_refused_total{reason=\"%s\"}",
                 metrics_spec_refused_label((metrics_spec_refused)r));
        assert_true(sample(g_text, line) == 500 + r);
    }
    assert_true(has_line(g_text, "# TYPE tickwire_tick_duration_seconds histogram"));
    assert_true(has_line(g_text, "# TYPE tickwire_http_requests_total counter"));
    assert_true(sample(g_text, "tickwire_http_requests_total{endpoint=\"websocket\",code=\"101\"}") == 1);
    assert_true(sample(g_text, "tickwire_http_requests_total{endpoint=\"/metrics\",code=\"200\"}") == 2);
    assert_true(sample(g_text, "tickwire_http_requests_total{endpoint=\"other\",code=\"404\"}") == 1);
    assert_true(sample(g_text, "tickwire_http_requests_total{endpoint=\"static\",code=\"304\"}") == 1);
    assert_true(sample(g_text, "tickwire_http_requests_total{endpoint=\"static\",code=\"other\"}") == 1);
    /* Only the pairs seen: a bounded, mostly empty table is not written out. */
    assert_null(strstr(g_text, "tickwire_http_requests_total{endpoint=\"/api/join\""));
    assert_true(has_line(g_text, "# TYPE tickwire_log_suppressed_total counter"));
    assert_true(sample(g_text, "tickwire_log_suppressed_total{event=\"tick_stall\"}") == 8);
    for (int e = 0; e < MLOG_N; e++) {
        snprintf(line, sizeof line, "tickwire_log_suppressed_total{event=\"%s\"}", metrics_log_label((metrics_log)e));
        assert_true(sample(g_text, line) == 400 + e);
    }
    assert_true(has_line(g_text, "# TYPE tickwire_build_info gauge"));
    assert_true(sample(g_text, "tickwire_build_info{version=\"v1.2-3-gabcdef\",protocol=\"" PROTO_SUBPROTOCOL "\","
                               "libwebsockets=\"4.1.6\"}") == 1);
    /* The whole text, strictly. */
    promtext pt = {0};
    if (promtext_parse(&pt, g_text) < 0)
        fail_msg("not Prometheus text: %s", pt.err);
    assert_int_equal(promtext_count(&pt, "tickwire_tick_duration_seconds_bucket"), METRICS_TICK_BUCKETS + 1);
    promtext_free(&pt);
    /* Exposition format: every line ends with \n, none is empty. */
    assert_int_equal(g_text[len - 1], '\n');
    assert_null(strstr(g_text, "\n\n"));
}

static void test_labels(void **state)
{
    (void)state;
    static const char *const bad[BAD_N] = {"text_frame", "too_large", "malformed", "unexpected",
                                           "sequence",   "rate_limit", "auth",     "resume_expired"};
    for (int r = 0; r < BAD_N; r++)
        assert_string_equal(metrics_bad_label((metrics_bad)r), bad[r]);
    assert_string_equal(metrics_bad_label(BAD_N), "?");
    assert_string_equal(metrics_refused_label(REF_ORIGIN), "origin");
    assert_string_equal(metrics_refused_label(REF_MAX_CONNS), "max_conns");
    assert_string_equal(metrics_refused_label(REF_MAX_PER_IP), "max_conns_per_ip");
    assert_string_equal(metrics_refused_label(REF_N), "?");
}

/* Buckets count observations <= their bound; one over every bound lands
 * in the last; overruns are ticks longer than the period. */
static void test_tick_observe(void **state)
{
    (void)state;
    tick_stats t;
    memset(&t, 0, sizeof t);
    const double period = 1.0 / 60;
    tick_stats_observe(&t, 0.000001, period); /* first bucket (<= 5 us) */
    tick_stats_observe(&t, 0.000005, period); /* on the bound: still the first */
    tick_stats_observe(&t, 0.0003, period);   /* <= 300 us: bucket 9 */
    tick_stats_observe(&t, 0.010, period);    /* <= 10 ms: bucket 15 */
    tick_stats_observe(&t, 0.020, period);    /* <= 20 ms: bucket 16, an overrun */
    tick_stats_observe(&t, 0.5, period);      /* over 0.1 s: +Inf only, an overrun */
    assert_int_equal(t.ticks, 6);
    assert_int_equal(t.tick_overruns, 2);
    assert_int_equal(t.hist[0], 2);
    assert_int_equal(t.hist[9], 1);
    assert_int_equal(t.hist[15], 1);
    assert_int_equal(t.hist[16], 1);
    assert_int_equal(t.hist[METRICS_TICK_BUCKETS], 1);
    assert_true(t.seconds > 0.5303 && t.seconds < 0.5304);
    tick_stats_observe(&t, period, period); /* exactly the period: not an overrun */
    assert_int_equal(t.tick_overruns, 2);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    metrics m;
    metrics_gauges g;
    filled(&m, &g);
    const double obs[] = {0.000001, 0.000005, 0.0003, 0.010, 0.020, 0.5, 0.003, 0.000012, 0.00008};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        tick_stats_observe(&m.tick, obs[i], 1.0 / 60);
    metrics_render(&m, &g, g_text, sizeof g_text);
    static const struct {
        const char *le;
        double count;
    } want[] = {{"5e-06", 2},   {"1e-05", 2},   {"2e-05", 3},  {"3e-05", 3}, {"5e-05", 3}, {"7.5e-05", 3},
                {"0.0001", 4},  {"0.00015", 4}, {"0.0002", 4}, {"0.0003", 5}, {"0.0005", 5}, {"0.00075", 5},
                {"0.001", 5},   {"0.002", 5},   {"0.005", 6},  {"0.01", 7},   {"0.02", 8},   {"0.05", 8},
                {"0.1", 8},     {"+Inf", 9}};
    char line[128];
    double prev = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(line, sizeof line, "tickwire_tick_duration_seconds_bucket{le=\"%s\"}", want[i].le);
        double v = sample(g_text, line);
        if (v != want[i].count)
            fail_msg("%s = %g, want %g", line, v, want[i].count);
        assert_true(v >= prev);
        prev = v;
    }
    assert_true(sample(g_text, "tickwire_tick_duration_seconds_count") == 9);
    double sum = sample(g_text, "tickwire_tick_duration_seconds_sum");
    assert_true(sum > 0.5333979 && sum < 0.5333981);
    assert_true(sample(g_text, "tickwire_ticks_total") == 9);
    assert_true(sample(g_text, "tickwire_tick_overruns_total") == 2);
}

/* A buffer too small: the text is cut, ends in NUL inside the buffer, and
 * the returned length is what is in it. Bytes past cap are untouched. */
static void test_cut_at_cap(void **state)
{
    (void)state;
    metrics m;
    metrics_gauges g;
    filled(&m, &g);
    size_t full = metrics_render(&m, &g, g_text, sizeof g_text);
    char *copy = test_malloc(full + 1);
    memcpy(copy, g_text, full + 1);
    static const size_t caps[] = {1, 2, 10, 100, 1000, 2345};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        size_t cap = caps[i];
        assert_true(cap < full);
        char *buf = test_malloc(cap + 16);
        memset(buf, 'Z', cap + 16);
        size_t n = metrics_render(&m, &g, buf, cap);
        assert_int_equal(n, cap - 1); /* filled to the brim */
        assert_int_equal(buf[n], '\0');
        assert_int_equal(strlen(buf), n);
        assert_memory_equal(buf, copy, n); /* a prefix of the full text */
        for (size_t k = cap; k < cap + 16; k++)
            assert_int_equal(buf[k], 'Z');
        test_free(buf);
    }
    /* cap 0: nothing written at all. */
    char z = 'Z';
    assert_int_equal(metrics_render(&m, &g, &z, 0), 0);
    assert_int_equal(z, 'Z');
    /* Exactly enough: the whole text. */
    char *buf = test_malloc(full + 1);
    assert_int_equal(metrics_render(&m, &g, buf, full + 1), full);
    assert_string_equal(buf, copy);
    test_free(buf);
    test_free(copy);
}

/* The round storage's series, appended by the adapter: each with HELP,
 * TYPE and the value given; a buffer too small gets a cut. */
static void test_results_series(void **state)
{
    (void)state;
    results_stats s = {.written = 41, .write_errors = 42, .retries = 43, .lost = 44, .queued = 45, .queue_full = 3};
    size_t len = metrics_render_results(&s, g_text, sizeof g_text);
    assert_int_equal(len, strlen(g_text));
    static const struct {
        const char *name, *type;
        double v;
    } series[] = {
        {"tickwire_results_written_total", "counter", 41},
        {"tickwire_results_write_errors_total", "counter", 42},
        {"tickwire_results_retries_total", "counter", 43},
        {"tickwire_results_lost_total", "counter", 44},
        {"tickwire_results_queued", "gauge", 45},
    };
    char line[256];
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
        snprintf(line, sizeof line, "# TYPE %s %s", series[i].name, series[i].type);
        if (!has_line(g_text, line))
            fail_msg("missing: %s", line);
        snprintf(line, sizeof line, "# HELP %s ", series[i].name);
        assert_non_null(strstr(g_text, line));
        assert_true(sample(g_text, series[i].name) == series[i].v);
    }
    assert_int_equal(g_text[len - 1], '\n');
    char small[40];
    assert_int_equal(metrics_render_results(&s, small, sizeof small), sizeof small - 1);
    assert_int_equal(small[sizeof small - 1], '\0');
}


/* Request paths to endpoint labels: the side doors by exact path; the rest
 * of /api and /metrics is "other"; the web root's files "static". */
static void test_endpoint_of(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        metrics_endpoint e;
    } cases[] = {
        {"/metrics", EP_METRICS},        {"/api/join", EP_API_JOIN},        {"/api/matches", EP_API_MATCHES},
        {"/api/matches/live", EP_API_LIVE}, {"/metrics/x", EP_OTHER},       {"/api", EP_OTHER},
        {"/api/", EP_OTHER},             {"/api/matches/x", EP_OTHER},      {"/", EP_STATIC},
        {"/index.html", EP_STATIC},      {"/tickwire.wasm", EP_STATIC},     {"/apix", EP_STATIC},
        {"/metricsx", EP_STATIC},        {"", EP_OTHER},                    {NULL, EP_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (metrics_endpoint_of(cases[i].path) != cases[i].e)
            fail_msg("%s -> %s, want %s", cases[i].path ? cases[i].path : "NULL",
                     metrics_endpoint_label(metrics_endpoint_of(cases[i].path)), metrics_endpoint_label(cases[i].e));
    assert_string_equal(metrics_endpoint_label(EP_API_LIVE), "/api/matches/live");
    assert_string_equal(metrics_endpoint_label(EP_WEBSOCKET), "websocket");
    assert_string_equal(metrics_endpoint_label(EP_N), "?");
    assert_string_equal(metrics_log_label(MLOG_BAD_INPUT), "bad_input");
    assert_string_equal(metrics_log_label(MLOG_N), "?");
}

/* Every endpoint and every code at once: the table stays bounded (one line
 * per pair at most, codes never seen folded into "other"), and the text
 * stays valid. */
static void test_http_table(void **state)
{
    (void)state;
    metrics m;
    metrics_gauges g;
    filled(&m, &g);
    memset(m.http, 0, sizeof m.http);
    for (int e = 0; e <= EP_N; e++)         /* EP_N: out of range, counted as other */
        for (int code = 100; code < 600; code++)
            metrics_http_count(&m, (metrics_endpoint)e, code);
    size_t len = metrics_render(&m, &g, g_text, sizeof g_text);
    assert_true(len < sizeof g_text - 1);
    promtext pt = {0};
    if (promtext_parse(&pt, g_text) < 0)
        fail_msg("not Prometheus text: %s", pt.err);
    assert_int_equal(promtext_count(&pt, "tickwire_http_requests_total"), EP_N * (METRICS_HTTP_CODES + 1));
    assert_true(promtext_value(&pt, "tickwire_http_requests_total{endpoint=\"static\",code=\"404\"}") == 1);
    assert_true(promtext_value(&pt, "tickwire_http_requests_total{endpoint=\"other\",code=\"404\"}") == 2);
    assert_true(promtext_value(&pt, "tickwire_http_requests_total{code=\"other\",endpoint=\"static\"}") ==
                500 - METRICS_HTTP_CODES);
    promtext_free(&pt);
}

/* build_info's labels come from the build (git describe): \, " and a
 * newline are escaped; none given reads "unknown". */
static void test_build_info(void **state)
{
    (void)state;
    metrics m;
    metrics_gauges g;
    filled(&m, &g);
    g.proc.version = "v1 \"odd\"\\\nname";
    g.proc.lws_version = NULL;
    metrics_render(&m, &g, g_text, sizeof g_text);
    assert_true(has_line(g_text, "tickwire_build_info{version=\"v1 \\\"odd\\\"\\\\\\nname\",protocol=\"" PROTO_SUBPROTOCOL "\","
                                 "libwebsockets=\"unknown\"} 1"));
    promtext pt = {0};
    if (promtext_parse(&pt, g_text) < 0)
        fail_msg("not Prometheus text: %s", pt.err);
    promtext_free(&pt);
    /* Unknown fd figures: their families are left out. */
    g.proc.open_fds = g.proc.max_fds = -1;
    metrics_render(&m, &g, g_text, sizeof g_text);
    assert_null(strstr(g_text, "process_open_fds"));
    assert_null(strstr(g_text, "process_max_fds"));
}

/* The log rate limiter on a made-up clock: the first line goes out, then
 * one per interval with the number held back since the previous; a quiet
 * spell lets the next one through at once with 0. */
static void test_ratelimit(void **state)
{
    (void)state;
    log_ratelimit rl;
    memset(&rl, 0, sizeof rl);
    uint64_t held = 99;
    int64_t t = 5000000;
    assert_int_equal(log_ratelimit_pass(&rl, t, &held), 1);
    assert_int_equal(held, 0);
    for (int i = 1; i <= 600; i++) /* a stall every 16 ms for 9.6 s */
        assert_int_equal(log_ratelimit_pass(&rl, t + i * 16000, &held), 0);
    assert_int_equal(rl.held, 600);
    assert_int_equal(log_ratelimit_pass(&rl, t + LOG_RATELIMIT_DEFAULT_US - 1, NULL), 0);
    assert_int_equal(log_ratelimit_pass(&rl, t + LOG_RATELIMIT_DEFAULT_US, &held), 1);
    assert_int_equal(held, 601);
    assert_int_equal(rl.held, 0);
    t += LOG_RATELIMIT_DEFAULT_US;
    assert_int_equal(log_ratelimit_pass(&rl, t + 1, &held), 0);
    assert_int_equal(log_ratelimit_pass(&rl, t + 60 * 1000000LL, &held), 1);
    assert_int_equal(held, 1);
    /* Its own interval; a clock starting at 0 (or below) still lets the first line out. */
    log_ratelimit fast = {.interval_us = 1000};
    assert_int_equal(log_ratelimit_pass(&fast, -5, &held), 1);
    assert_int_equal(log_ratelimit_pass(&fast, 994, &held), 0);
    assert_int_equal(log_ratelimit_pass(&fast, 995, &held), 1);
    assert_int_equal(held, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_series),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_tick_observe),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_cut_at_cap),
        cmocka_unit_test(test_results_series),
        cmocka_unit_test(test_endpoint_of),
        cmocka_unit_test(test_http_table),
        cmocka_unit_test(test_build_info),
        cmocka_unit_test(test_ratelimit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
