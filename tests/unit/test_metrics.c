/* Unit tests for server/metrics.c: the counters and their Prometheus text.
 *
 * Every series the server documents is rendered with its HELP and TYPE
 * lines and the value it was given; the tick histogram's buckets are
 * cumulative and end in +Inf == count; reasons are labels; a buffer too
 * small gets a cut, NUL-terminated text and never a byte past its end.
 * The round storage's series (metrics_render_results) likewise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

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
    *g = (metrics_gauges){.connections = 11, .matches = 12, .players = 13, .npcs = 14, .tick_rate = 60,
                          .snapshot_rate = 30, .rss_bytes = 123456789, .cpu_seconds = 2.5};
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
    assert_true(has_line(g_text, "# TYPE tickwire_tick_duration_seconds histogram"));
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
    tick_stats_observe(&t, 0.00001, period);  /* first bucket (<= 50 us) */
    tick_stats_observe(&t, 0.00005, period);  /* on the bound: still the first */
    tick_stats_observe(&t, 0.0003, period);   /* <= 0.5 ms: bucket 3 */
    tick_stats_observe(&t, 0.010, period);    /* <= 16 ms: bucket 8 */
    tick_stats_observe(&t, 0.020, period);    /* <= 33 ms: bucket 9, an overrun */
    tick_stats_observe(&t, 0.5, period);      /* over 0.1 s: +Inf only, an overrun */
    assert_int_equal(t.ticks, 6);
    assert_int_equal(t.tick_overruns, 2);
    assert_int_equal(t.hist[0], 2);
    assert_int_equal(t.hist[3], 1);
    assert_int_equal(t.hist[8], 1);
    assert_int_equal(t.hist[9], 1);
    assert_int_equal(t.hist[METRICS_TICK_BUCKETS], 1);
    assert_true(t.seconds > 0.53 && t.seconds < 0.531);
    tick_stats_observe(&t, period, period); /* exactly the period: not an overrun */
    assert_int_equal(t.tick_overruns, 2);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    metrics m;
    metrics_gauges g;
    filled(&m, &g);
    const double obs[] = {0.00001, 0.00005, 0.0003, 0.010, 0.020, 0.5, 0.003};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        tick_stats_observe(&m.tick, obs[i], 1.0 / 60);
    metrics_render(&m, &g, g_text, sizeof g_text);
    static const struct {
        const char *le;
        double count;
    } want[] = {{"5e-05", 2},  {"0.0001", 2}, {"0.00025", 2}, {"0.0005", 3}, {"0.001", 3}, {"0.002", 3},
                {"0.004", 4},  {"0.008", 4},  {"0.016", 5},   {"0.033", 6},  {"0.1", 6},   {"+Inf", 7}};
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
    assert_true(sample(g_text, "tickwire_tick_duration_seconds_count") == 7);
    double sum = sample(g_text, "tickwire_tick_duration_seconds_sum");
    assert_true(sum > 0.53335 && sum < 0.53337);
    assert_true(sample(g_text, "tickwire_ticks_total") == 7);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_series),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_tick_observe),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_cut_at_cap),
        cmocka_unit_test(test_results_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
