/* Unit tests for the pure parts of tickwire-bots: the latency histogram,
 * the Prometheus text parser and window arithmetic, URL and flag parsing,
 * join tokens (secret file, minting, the demo server's JSON), the
 * behaviors' input streams (fight: the aim angle and the choice of
 * target), the network delay queue, histogram quantiles from buckets of
 * any layout, the server's time series, and the verdict. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth.h"
#include "behavior.h"
#include "delay.h"
#include "hist.h"
#include "memo.h"
#include "opts.h"
#include "prom.h"
#include "secret.h"
#include "swarm.h"
#include "token.h"
#include "verdict.h"

/* ---- hist ---------------------------------------------------------------------- */

static void test_hist_quantiles(void **state)
{
    (void)state;
    static hist h;
    hist_reset(&h);
    assert_true(hist_quantile(&h, 0.5) == 0);
    for (int i = 1; i <= 100; i++)
        hist_add(&h, i * 1.0); /* 1..100 ms */
    assert_int_equal(h.n, 100);
    assert_true(fabs(hist_quantile(&h, 0.50) - 50.0) < 0.11);
    assert_true(fabs(hist_quantile(&h, 0.99) - 99.0) < 0.11);
    assert_true(fabs(hist_quantile(&h, 1.00) - 100.0) < 1e-9);
    assert_true(fabs(hist_mean(&h) - 50.5) < 1e-9);
    assert_true(fabs(hist_stddev(&h) - 28.866) < 0.01);
}

static void test_hist_capped_at_max_and_overflow(void **state)
{
    (void)state;
    static hist h;
    hist_reset(&h);
    hist_add(&h, 0.03);
    assert_true(fabs(hist_quantile(&h, 0.5) - 0.03) < 1e-12); /* not the bucket edge 0.1 */
    hist_add(&h, 5000.0);                                     /* beyond 1 s */
    hist_add(&h, -1.0);                                       /* clamped to 0 */
    assert_int_equal(h.over, 1);
    assert_true(hist_quantile(&h, 1.0) == 5000.0);
}

/* ---- prom ---------------------------------------------------------------------- */

static const char SCRAPE1[] =
    "# HELP tickwire_connections Open connections.\n"
    "# TYPE tickwire_connections gauge\n"
    "tickwire_connections 3\n"
    "tickwire_ticks_total 100\n"
    "tickwire_tick_duration_seconds_bucket{le=\"0.001\"} 50\n"
    "tickwire_tick_duration_seconds_bucket{le=\"0.002\"} 90\n"
    "tickwire_tick_duration_seconds_bucket{le=\"+Inf\"} 100\n"
    "tickwire_tick_duration_seconds_sum 0.12\n"
    "tickwire_tick_duration_seconds_count 100\n"
    "process_cpu_seconds_total 1.5\n"
    "\n";

static const char SCRAPE2[] =
    "tickwire_connections 53\r\n"
    "tickwire_ticks_total 700 1700000000000\n"
    "tickwire_tick_duration_seconds_bucket{le=\"0.001\"} 150\n"
    "tickwire_tick_duration_seconds_bucket{le=\"0.002\"} 690\n"
    "tickwire_tick_duration_seconds_bucket{le=\"+Inf\"} 700\n"
    "tickwire_tick_duration_seconds_sum 0.9\n"
    "tickwire_tick_duration_seconds_count 700\n"
    "process_cpu_seconds_total 2.5\n"
    "tickwire_bad_messages_total{reason=\"a b\",x=\"}\"} 2\n";

static void test_prom_parse_and_window(void **state)
{
    (void)state;
    prom_set a = {0}, b = {0};
    char err[200];
    assert_int_equal(prom_parse(SCRAPE1, strlen(SCRAPE1), &a, err, sizeof err), 0);
    assert_int_equal(prom_parse(SCRAPE2, strlen(SCRAPE2), &b, err, sizeof err), 0);
    assert_int_equal(a.n, 8);
    assert_true(prom_get(&b, "tickwire_ticks_total") == 700);
    assert_true(prom_get(&b, "tickwire_bad_messages_total{reason=\"a b\",x=\"}\"}") == 2);
    assert_true(isnan(prom_get(&a, "nope")));

    prom_window w;
    prom_window_compute(&a, &b, 10.0, &w);
    assert_true(w.ticks == 600);
    assert_true(fabs(w.cpu_seconds - 1.0) < 1e-12);
    assert_true(w.connections == 53);
    assert_true(isnan(w.snapshot_bytes));
    /* Window buckets: <=1ms 100, <=2ms 500 more, +Inf 0 more: 600 ticks.
     * p50 = rank 300: in (1, 2] ms, (300-100)/500 of the way. */
    assert_true(fabs(w.tick_p50_s - (0.001 + 0.001 * 200.0 / 500.0)) < 1e-12);
    assert_true(fabs(w.tick_p99_s - (0.001 + 0.001 * 494.0 / 500.0)) < 1e-12);
    prom_free(&a);
    prom_free(&b);
}

static void test_prom_rejects_bad_lines(void **state)
{
    (void)state;
    static const char *const BAD[] = {
        "tickwire_x\n",
        "tickwire_x abc\n",
        "tickwire_x{le=\"1\" 3\n",
        "{le=\"1\"} 3\n",
        "tickwire_x 1 2 3\n",
        "<html>404</html>\n",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        prom_set s = {0};
        char err[200] = "";
        assert_int_equal(prom_parse(BAD[i], strlen(BAD[i]), &s, err, sizeof err), -1);
        assert_non_null(strstr(err, "line 1"));
        prom_free(&s);
    }
}

/* Quantiles from cumulative buckets: interpolated inside the bucket, the
 * first bucket from 0, the +Inf bucket at the largest finite bound. */
static void test_bucket_quantile(void **state)
{
    (void)state;
    const double le[] = {0.001, 0.002, 0.005, INFINITY};
    const double cum[] = {100, 600, 600, 600};
    /* rank 300: in (1, 2] ms, 200 of its 500 */
    assert_true(fabs(prom_bucket_quantile(le, cum, 4, 0.5) - (0.001 + 0.001 * 200.0 / 500.0)) < 1e-15);
    /* rank 50: in the first bucket, from 0 */
    assert_true(fabs(prom_bucket_quantile(le, cum, 4, 50.0 / 600.0) - 0.0005) < 1e-15);
    assert_true(fabs(prom_bucket_quantile(le, cum, 4, 1.0) - 0.002) < 1e-15); /* the last non-empty bound */

    const double cum_inf[] = {10, 10, 10, 100}; /* most beyond the last finite bound */
    assert_true(prom_bucket_quantile(le, cum_inf, 4, 0.99) == 0.005);

    /* The fine layout the server moves to (5 us .. 50 ms, 1-2-5 steps):
     * 99% of the ticks in (5, 10] us, 1% in (20, 50] us. */
    const double fine_le[] = {5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, INFINITY};
    double fine_cum[14] = {0, 990, 990};
    for (int i = 3; i < 14; i++)
        fine_cum[i] = 1000;
    assert_true(fabs(prom_bucket_quantile(fine_le, fine_cum, 14, 0.5) - (5e-6 + 5e-6 * 500.0 / 990.0)) < 1e-15);
    assert_true(fabs(prom_bucket_quantile(fine_le, fine_cum, 14, 0.995) - (2e-5 + 3e-5 * 5.0 / 10.0)) < 1e-15);

    /* the server's finer layout of issue 12 (5 us .. 100 ms, uneven steps):
     * 600 ticks, all in (20, 30] us */
    const double srv_le[] = {5e-6,   1e-5,  2e-5,  3e-5, 5e-5, 7.5e-5, 1e-4, 1.5e-4, 2e-4, 3e-4,
                             5e-4, 7.5e-4, 1e-3, 2e-3, 5e-3, 1e-2,   2e-2, 5e-2,   0.1,  INFINITY};
    double srv_cum[20] = {0, 0, 0};
    for (int i = 3; i < 20; i++)
        srv_cum[i] = 600;
    assert_true(fabs(prom_bucket_quantile(srv_le, srv_cum, 20, 0.5) - 25e-6) < 1e-15);
    assert_true(fabs(prom_bucket_quantile(srv_le, srv_cum, 20, 0.99) - 29.9e-6) < 1e-15);

    /* a bucket at 0 (queue depth: nothing waiting) */
    const double q_le[] = {0, 1, 2, INFINITY};
    const double q_cum[] = {90, 95, 100, 100};
    assert_true(prom_bucket_quantile(q_le, q_cum, 4, 0.5) == 0);
    assert_true(fabs(prom_bucket_quantile(q_le, q_cum, 4, 0.99) - 1.8) < 1e-12);

    /* nothing to go on */
    const double empty[] = {0, 0, 0, 0};
    assert_true(isnan(prom_bucket_quantile(le, empty, 4, 0.5)));
    const double down[] = {100, 50, 600, 600}; /* counts decrease: not a histogram */
    assert_true(isnan(prom_bucket_quantile(le, down, 4, 0.5)));
    const double only_inf_le[] = {INFINITY}, only_inf[] = {5};
    assert_true(isnan(prom_bucket_quantile(only_inf_le, only_inf, 1, 0.5)));
    assert_true(isnan(prom_bucket_quantile(le, cum, 0, 0.5)));
}

/* Appends `name_bucket{le="X"} count` lines for n buckets (le = (i+1) us,
 * the last +Inf), written in reverse order, with cum(i). */
static size_t hist_text(char *buf, size_t cap, int n, double (*cum)(int))
{
    size_t len = 0;
    for (int i = n - 1; i >= 0; i--) {
        if (i == n - 1)
            len += (size_t)snprintf(buf + len, cap - len, "h_bucket{le=\"+Inf\"} %.0f\n", cum(i));
        else
            len += (size_t)snprintf(buf + len, cap - len, "h_bucket{le=\"%g\"} %.0f\n", (i + 1) * 1e-6, cum(i));
        len += (size_t)snprintf(buf + len, cap - len, "other_series{le=\"%d\"} 7\n", i);
    }
    return len;
}

static double cum_start(int i)
{
    return 10.0 * (i + 1) < 500 ? 10.0 * (i + 1) : 500; /* 10 per bucket up to 50 us */
}

static double cum_end(int i)
{
    return cum_start(i) + (i >= 29 ? 100 : 0); /* 100 more, all in (29, 30] us */
}

/* The window's quantile comes from the deltas of the buckets, whatever
 * their number (here 200) and order, and ignores other series. */
static void test_prom_hist_quantile_any_layout(void **state)
{
    (void)state;
    static char a_txt[32768], b_txt[32768];
    size_t al = hist_text(a_txt, sizeof a_txt, 200, cum_start);
    size_t bl = hist_text(b_txt, sizeof b_txt, 200, cum_end);
    prom_set a = {0}, b = {0};
    char err[200];
    assert_int_equal(prom_parse(a_txt, al, &a, err, sizeof err), 0);
    assert_int_equal(prom_parse(b_txt, bl, &b, err, sizeof err), 0);
    /* since the start of the server: 600 samples; rank 150 ends the 15th
     * bucket; rank 300 is 10 into the 110 of (29, 30] us */
    assert_true(fabs(prom_hist_quantile(NULL, &b, "h", 0.25) - 15e-6) < 1e-12);
    assert_true(fabs(prom_hist_quantile(NULL, &b, "h", 0.5) - (29e-6 + 1e-6 * 10.0 / 110.0)) < 1e-12);
    /* the window: all 100 in (29, 30] us; p50 half way */
    assert_true(fabs(prom_hist_quantile(&a, &b, "h", 0.5) - 29.5e-6) < 1e-12);
    assert_true(fabs(prom_hist_quantile(&a, &b, "h", 0.99) - 29.99e-6) < 1e-12);
    /* the same histogram split by another label: summed per bound */
    static const char SPLIT[] = "s_bucket{handle=\"7\",le=\"0.001\"} 10\n"
                                "s_bucket{handle=\"7\",le=\"+Inf\"} 10\n"
                                "s_bucket{m=\"2\",le=\"0.001\"} 0\n"
                                "s_bucket{m=\"2\",le=\"+Inf\"} 10\n";
    prom_set sp = {0};
    assert_int_equal(prom_parse(SPLIT, strlen(SPLIT), &sp, err, sizeof err), 0);
    assert_true(fabs(prom_hist_quantile(NULL, &sp, "s", 0.25) - 0.0005) < 1e-12); /* rank 5 of the 10 <= 1 ms */
    assert_true(prom_hist_quantile(NULL, &sp, "s", 0.75) == 0.001);               /* beyond: the largest bound */
    prom_free(&sp);
    /* an empty window, a counter that went backwards (another server), a missing histogram */
    assert_true(isnan(prom_hist_quantile(&a, &a, "h", 0.5)));
    assert_true(isnan(prom_hist_quantile(&b, &a, "h", 0.5)));
    assert_true(isnan(prom_hist_quantile(&a, &b, "nope", 0.5)));
    prom_free(&a);
    prom_free(&b);
}

static const char SERIES_T0[] = "process_cpu_seconds_total 1\n"
                                "tickwire_clients_dropped_total{reason=\"send_stalled\"} 0\n"
                                "tickwire_tick_duration_seconds_bucket{le=\"0.001\"} 0\n"
                                "tickwire_tick_duration_seconds_bucket{le=\"+Inf\"} 0\n";
static const char SERIES_T1[] = "process_cpu_seconds_total 1.25\n"
                                "tickwire_clients_dropped_total{reason=\"send_stalled\"} 2\n"
                                "tickwire_tick_duration_seconds_bucket{le=\"0.001\"} 60\n"
                                "tickwire_tick_duration_seconds_bucket{le=\"+Inf\"} 60\n";
static const char SERIES_T2[] = "process_cpu_seconds_total 1.75\n"
                                "tickwire_clients_dropped_total{reason=\"send_stalled\"} 2\n"
                                "tickwire_tick_duration_seconds_bucket{le=\"0.001\"} 60\n"
                                "tickwire_tick_duration_seconds_bucket{le=\"+Inf\"} 120\n";

/* One window per scrape, each against the one before; a failed scrape
 * breaks the series (no window spans it). */
static void test_prom_series(void **state)
{
    (void)state;
    prom_series s;
    memset(&s, 0, sizeof s);
    prom_set t0 = {0};
    char err[200];
    assert_int_equal(prom_parse(SERIES_T0, strlen(SERIES_T0), &t0, err, sizeof err), 0);
    assert_int_equal(prom_series_start(&s, 0.0, &t0), 0);
    assert_int_equal(prom_series_add(&s, 1.0, 200, SERIES_T1, strlen(SERIES_T1)), 1);
    assert_int_equal(prom_series_add(&s, 2.0, 200, SERIES_T2, strlen(SERIES_T2)), 1);
    assert_int_equal(s.n, 2);
    assert_true(s.p[0].t_s == 1.0 && s.p[0].w.seconds == 1.0);
    assert_true(fabs(s.p[0].w.cpu_seconds - 0.25) < 1e-12 && fabs(s.p[1].w.cpu_seconds - 0.5) < 1e-12);
    assert_true(s.p[0].w.dropped_slow == 2 && s.p[1].w.dropped_slow == 0);
    assert_true(fabs(s.p[0].w.tick_p50_s - 0.0005) < 1e-12); /* 60 ticks under 1 ms */
    assert_true(s.p[1].w.tick_p50_s == 0.001);               /* 60, all beyond: the largest bound */
    /* a failed scrape: no point, and the next one is only a baseline */
    assert_int_equal(prom_series_add(&s, 3.0, 503, "oops", 4), 0);
    assert_int_equal(prom_series_add(&s, 4.0, 200, SERIES_T2, strlen(SERIES_T2)), 0);
    assert_int_equal(prom_series_add(&s, 5.0, 200, "not prometheus\n", 15), 0);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.n, 2);
    /* a scrape parsed elsewhere (the final one) */
    assert_int_equal(prom_series_add_set(&s, 6.0, &t0), 0); /* after a failure: a baseline */
    prom_set t1 = {0};
    assert_int_equal(prom_parse(SERIES_T1, strlen(SERIES_T1), &t1, err, sizeof err), 0);
    assert_int_equal(prom_series_add_set(&s, 7.0, &t1), 1);
    assert_true(s.n == 3 && s.p[2].t_s == 7.0 && s.p[2].w.dropped_slow == 2);
    /* a scrape a few ms after the one before: dropped, the baseline kept */
    assert_int_equal(prom_series_add(&s, 7.01, 200, SERIES_T2, strlen(SERIES_T2)), 0);
    assert_int_equal(prom_series_add(&s, 8.0, 200, SERIES_T2, strlen(SERIES_T2)), 1);
    assert_true(s.n == 4 && s.p[3].w.seconds == 1.0);
    prom_free(&t1);
    prom_free(&t0);
    prom_series_free(&s);
}

/* ---- verdict ------------------------------------------------------------------- */

static void figures_good(verdict_figures *f)
{
    for (int i = 0; i < VERDICT_N; i++)
        f->v[i] = 0;
    f->v[VERDICT_CONNECTED] = 100;
    f->v[VERDICT_SNAPSHOTS] = 99.0; /* exactly at the target passes */
    f->v[VERDICT_RTT_P99] = 17.6;
    f->v[VERDICT_TICK_P99] = 0.05;
    f->v[VERDICT_SPECTATOR_SNAPSHOTS] = 99.0;
}

static void test_verdict_defaults(void **state)
{
    (void)state;
    verdict_targets t;
    memset(&t, 0, sizeof t);
    verdict_context ctx = {.tick_ms = 1000.0 / 60, .ack_ms = 1000.0 / 60, .loopback = 1, .spectators = 1};
    verdict_figures f;
    verdict v;
    figures_good(&f);
    verdict_judge(&t, &ctx, &f, &v);
    assert_true(v.pass);
    assert_int_equal(v.passed, VERDICT_N);
    /* without spectators their delivery is not judged */
    ctx.spectators = 0;
    f.v[VERDICT_SPECTATOR_SNAPSHOTS] = 0;
    verdict_judge(&t, &ctx, &f, &v);
    assert_true(v.pass);
    assert_int_equal(v.c[VERDICT_SPECTATOR_SNAPSHOTS].status, VERDICT_UNJUDGED);
    ctx.spectators = 1;
    figures_good(&f);
    assert_true(fabs(v.c[VERDICT_RTT_P99].target - (1000.0 / 60 + 1)) < 1e-12);
    assert_true(fabs(v.c[VERDICT_TICK_P99].target - 1000.0 / 60) < 1e-12);

    /* each figure over its bound fails on its own */
    static const double BAD[VERDICT_N] = {
        [VERDICT_CONNECTED] = 99.9, [VERDICT_SNAPSHOTS] = 98.9, [VERDICT_BOTS_BELOW] = 0.1,
        [VERDICT_RTT_P99] = 17.7,   [VERDICT_MISSED_TICKS] = 1, [VERDICT_TICK_P99] = 17,
        [VERDICT_CORRECTIONS] = 1,  [VERDICT_DISCONNECTS] = 1,  [VERDICT_EVENTS_LOST] = 1,
        [VERDICT_RESUMED_OTHER] = 1, [VERDICT_SPECTATOR_SNAPSHOTS] = 98.9,
    };
    for (int i = 0; i < VERDICT_N; i++) {
        figures_good(&f);
        f.v[i] = BAD[i];
        verdict_judge(&t, &ctx, &f, &v);
        assert_false(v.pass);
        assert_int_equal(v.failed, 1);
        assert_int_equal(v.c[i].status, VERDICT_FAIL);
    }

    /* not measured (no /metrics): not a failure */
    figures_good(&f);
    f.v[VERDICT_MISSED_TICKS] = f.v[VERDICT_TICK_P99] = NAN;
    verdict_judge(&t, &ctx, &f, &v);
    assert_true(v.pass);
    assert_int_equal(v.unmeasured, 2);
    assert_int_equal(v.c[VERDICT_TICK_P99].status, VERDICT_UNMEASURED);

    /* the added delay raises the RTT target; snapshots rarer than ticks too */
    ctx.added_rtt_ms = 160;
    ctx.ack_ms = 1000.0 / 30;
    verdict_judge(&t, &ctx, &f, &v);
    assert_true(fabs(v.c[VERDICT_RTT_P99].target - (1000.0 / 30 + 1 + 160)) < 1e-12);
    /* not on loopback: RTT not judged unless a target is given */
    ctx.loopback = 0;
    f.v[VERDICT_RTT_P99] = 500;
    verdict_judge(&t, &ctx, &f, &v);
    assert_true(v.pass);
    assert_int_equal(v.c[VERDICT_RTT_P99].status, VERDICT_UNJUDGED);
    assert_true(isnan(v.c[VERDICT_RTT_P99].target));
}

static void test_verdict_targets(void **state)
{
    (void)state;
    verdict_targets t;
    memset(&t, 0, sizeof t);
    char err[200];
    assert_int_equal(verdict_target_parse(&t, "rtt_p99_ms=0.01", err, sizeof err), 0);
    assert_int_equal(verdict_target_parse(&t, "corrections=off", err, sizeof err), 0);
    assert_int_equal(verdict_target_parse(&t, "snapshots_pct=95.5", err, sizeof err), 0);
    verdict_context ctx = {.tick_ms = 1000.0 / 60, .ack_ms = 1000.0 / 60, .loopback = 0};
    verdict_figures f;
    verdict v;
    figures_good(&f);
    f.v[VERDICT_SNAPSHOTS] = 96;
    f.v[VERDICT_CORRECTIONS] = 12;
    verdict_judge(&t, &ctx, &f, &v);
    assert_false(v.pass);
    assert_int_equal(v.failed, 1);
    assert_int_equal(v.c[VERDICT_RTT_P99].status, VERDICT_FAIL); /* given: judged off loopback too */
    assert_true(v.c[VERDICT_RTT_P99].custom && v.c[VERDICT_RTT_P99].target == 0.01);
    assert_int_equal(v.c[VERDICT_CORRECTIONS].status, VERDICT_UNJUDGED);
    assert_int_equal(v.c[VERDICT_SNAPSHOTS].status, VERDICT_PASS);
    /* a later value overrides off */
    assert_int_equal(verdict_target_parse(&t, "corrections=20", err, sizeof err), 0);
    verdict_judge(&t, &ctx, &f, &v);
    assert_int_equal(v.c[VERDICT_CORRECTIONS].status, VERDICT_PASS);

    static const char *const BAD[] = {"nope=1", "rtt_p99_ms", "rtt_p99_ms=", "rtt_p99_ms=fast",
                                      "snapshots_pct=101", "corrections=-1", "rtt_p99_ms=5ms"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        err[0] = '\0';
        assert_int_equal(verdict_target_parse(&t, BAD[i], err, sizeof err), -1);
        assert_non_null(strstr(err, "--target"));
    }
    for (int i = 0; i < VERDICT_N; i++) {
        char buf[32];
        verdict_format((verdict_id)i, NAN, buf, sizeof buf);
        assert_string_equal(buf, "n/a");
        assert_non_null(verdict_name((verdict_id)i));
    }
    char buf[32];
    verdict_format(VERDICT_RTT_P99, 17.666, buf, sizeof buf);
    assert_string_equal(buf, "17.7 ms");
    verdict_format(VERDICT_SNAPSHOTS, 99.25, buf, sizeof buf);
    assert_string_equal(buf, "99.2%");
    verdict_format(VERDICT_DISCONNECTS, 3, buf, sizeof buf);
    assert_string_equal(buf, "3");
}

/* ---- opts ---------------------------------------------------------------------- */

static void test_url(void **state)
{
    (void)state;
    bots_opts o;
    char err[256];
    memset(&o, 0, sizeof o);
    assert_int_equal(opts_parse_url("ws://127.0.0.1:9000", &o, err, sizeof err), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 9000);
    assert_string_equal(o.path, "/");
    assert_string_equal(o.host_header, "127.0.0.1:9000");
    assert_int_equal(opts_parse_url("ws://[::1]:81/game", &o, err, sizeof err), 0);
    assert_string_equal(o.host, "::1");
    assert_string_equal(o.path, "/game");
    assert_string_equal(o.host_header, "[::1]:81");
    assert_int_equal(opts_parse_url("ws://localhost", &o, err, sizeof err), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 80);
    assert_int_equal(o.tls, 0);
    /* wss: 443 by default; localhost keeps its name for Host, SNI and the
     * certificate check, but is connected to as 127.0.0.1 */
    assert_int_equal(opts_parse_url("wss://localhost", &o, err, sizeof err), 0);
    assert_int_equal(o.tls, 1);
    assert_int_equal(o.port, 443);
    assert_string_equal(o.host, "127.0.0.1");
    assert_string_equal(o.host_header, "localhost:443");
    assert_int_equal(opts_parse_url("wss://127.0.0.1:8443/x", &o, err, sizeof err), 0);
    assert_int_equal(o.tls, 1);
    assert_int_equal(o.port, 8443);
    assert_string_equal(o.path, "/x");

    static const char *const BAD[] = {"ftp://127.0.0.1:1",  "127.0.0.1:8080",   "ws://127.0.0.1:0",
                                      "ws://127.0.0.1:x",   "ws://:80",         "ws://[::1:80",
                                      "ws://1.2.3.4:80?q",  "http://[nothex]:80/", "https://127.0.0.1:65536/"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        assert_int_equal(opts_split_url(BAD[i], &o, err, sizeof err), -1);
}

/* The page URL the server prints works as the bots' URL: http:// is ws://,
 * https:// is wss://, same host, port and path; names are kept for the
 * Host header and SNI and looked up only by opts_resolve. */
static void test_url_page_and_names(void **state)
{
    (void)state;
    bots_opts o;
    char err[256];
    memset(&o, 0, sizeof o);
    assert_int_equal(opts_split_url("http://192.168.1.5:8080/", &o, err, sizeof err), 0);
    assert_int_equal(o.tls, 0);
    assert_string_equal(o.host, "192.168.1.5");
    assert_int_equal(o.port, 8080);
    assert_string_equal(o.path, "/");
    assert_string_equal(o.host_header, "192.168.1.5:8080");
    assert_int_equal(opts_split_url("https://game.example.com/", &o, err, sizeof err), 0);
    assert_int_equal(o.tls, 1);
    assert_int_equal(o.port, 443);
    assert_string_equal(o.host, ""); /* a name: not looked up here */
    assert_string_equal(o.name, "game.example.com");
    assert_string_equal(o.host_header, "game.example.com:443");
    assert_int_equal(opts_split_url("HTTPS://play.example.org:8443/game", &o, err, sizeof err), 0);
    assert_int_equal(o.tls, 1);
    assert_int_equal(o.port, 8443);
    assert_string_equal(o.path, "/game");
    assert_int_equal(opts_split_url("http://[2001:db8::5]:9000/", &o, err, sizeof err), 0);
    assert_string_equal(o.host, "2001:db8::5");
    assert_string_equal(o.host_header, "[2001:db8::5]:9000");
    assert_int_equal(opts_split_url("http://127.0.0.1", &o, err, sizeof err), 0);
    assert_int_equal(o.port, 80);
    /* A name through the resolver: localhost (from /etc/hosts), IPv4 first. */
    assert_int_equal(opts_parse_url("http://localhost:8080/", &o, err, sizeof err), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_string_equal(o.host_header, "localhost:8080");
    /* A name that does not resolve names itself (the .invalid TLD never
     * does, RFC 6761; answered without asking the network). */
    memset(&o, 0, sizeof o);
    snprintf(o.name, sizeof o.name, "no-such-host.invalid");
    if (opts_resolve(&o, err, sizeof err) == -1)
        assert_non_null(strstr(err, "no-such-host.invalid"));
}

/* wss:// without --ca or --insecure: the system's trust store. */
static void test_system_ca(void **state)
{
    (void)state;
    bots_opts o;
    char err[256];
    const char *argv[] = {"tickwire-bots", "--url", "https://127.0.0.1:8443/"};
    const char *bundle = opts_system_ca();
    int rc = opts_parse(3, (char **)argv, &o, err, sizeof err);
    if (bundle) {
        assert_int_equal(rc, OPTS_OK);
        assert_string_equal(o.ca_path, bundle);
        assert_int_equal(o.insecure, 0);
    } else {
        assert_int_equal(rc, OPTS_ERROR);
        assert_non_null(strstr(err, "--ca"));
    }
    const char *argv2[] = {"tickwire-bots", "--url", "https://127.0.0.1:8443/", "--insecure"};
    assert_int_equal(opts_parse(4, (char **)argv2, &o, err, sizeof err), OPTS_OK);
    assert_null(o.ca_path);
    const char *argv3[] = {"tickwire-bots", "--url", "http://127.0.0.1:8080/"};
    assert_int_equal(opts_parse(3, (char **)argv3, &o, err, sizeof err), OPTS_OK);
    assert_null(o.ca_path);
    assert_int_equal(o.tls, 0);
}

static int parse(bots_opts *o, char *err, size_t errlen, int argc, ...)
{
    char *argv[16] = {"tickwire-bots"};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return opts_parse(argc, argv, o, err, errlen);
}

static void test_flags(void **state)
{
    (void)state;
    bots_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof err, 1), OPTS_OK);
    assert_int_equal(o.bots, 10);
    assert_int_equal(o.port, 8080);
    assert_int_equal(parse(&o, err, sizeof err, 11, "--bots", "50", "--duration=4", "--ramp", "1", "--behavior",
                           "circle", "--seed", "7", "--input-rate=30"),
                     OPTS_OK);
    assert_int_equal(o.bots, 50);
    assert_true(o.duration_s == 4 && o.ramp_s == 1);
    assert_int_equal(o.behavior, BEHAVIOR_CIRCLE);
    assert_int_equal(o.seed, 7);
    assert_int_equal(o.input_rate, 30);
    assert_int_equal(parse(&o, err, sizeof err, 2, "--help"), OPTS_HELP);
    assert_int_equal(o.fail_on_miss, 0);
    assert_int_equal(parse(&o, err, sizeof err, 5, "--fail-on-miss", "--target", "rtt_p99_ms=20",
                           "--target=corrections=off"),
                     OPTS_OK);
    assert_int_equal(o.fail_on_miss, 1);
    assert_true(o.targets.set[VERDICT_RTT_P99] && o.targets.value[VERDICT_RTT_P99] == 20);
    assert_true(o.targets.off[VERDICT_CORRECTIONS]);
    assert_int_equal(parse(&o, err, sizeof err, 3, "--target", "rtt=20"), OPTS_ERROR);
    assert_non_null(strstr(err, "unknown figure"));
    assert_int_equal(parse(&o, err, sizeof err, 2, "--target"), OPTS_ERROR);

    assert_int_equal(parse(&o, err, sizeof err, 3, "--bots", "0"), OPTS_ERROR);
    assert_non_null(strstr(err, "--spectators"));
    /* spectators: any by default, or a match id; with or without bots */
    assert_int_equal(parse(&o, err, sizeof err, 5, "--bots", "0", "--spectators", "30"), OPTS_OK);
    assert_true(o.bots == 0 && o.spectators == 30 && o.spectate_match == 0xffff);
    assert_int_equal(parse(&o, err, sizeof err, 4, "--spectators=2", "--spectate", "7"), OPTS_OK);
    assert_true(o.bots == 10 && o.spectators == 2 && o.spectate_match == 7);
    assert_int_equal(parse(&o, err, sizeof err, 3, "--spectate", "any"), OPTS_OK);
    assert_int_equal(o.spectate_match, 0xffff);
    assert_int_equal(parse(&o, err, sizeof err, 3, "--spectate", "0"), OPTS_ERROR);
    assert_int_equal(parse(&o, err, sizeof err, 3, "--spectate", "65535"), OPTS_ERROR);
    assert_int_equal(parse(&o, err, sizeof err, 5, "--bots", "15000", "--spectators", "6000"), OPTS_ERROR);
    assert_non_null(strstr(err, "at most"));
    assert_int_equal(parse(&o, err, sizeof err, 2, "--bots"), OPTS_ERROR);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse(&o, err, sizeof err, 3, "--behavior", "dance"), OPTS_ERROR);
    assert_non_null(strstr(err, "fight"));
    assert_int_equal(parse(&o, err, sizeof err, 3, "--behavior", "fight"), OPTS_OK);
    assert_int_equal(o.behavior, BEHAVIOR_FIGHT);
    assert_int_equal(parse(&o, err, sizeof err, 2, "--frobnicate=1"), OPTS_ERROR);
    assert_non_null(strstr(err, "unknown flag '--frobnicate'"));
    assert_int_equal(parse(&o, err, sizeof err, 5, "--duration", "2", "--ramp", "3"), OPTS_ERROR);
    assert_int_equal(parse(&o, err, sizeof err, 3, "--duration", "nan"), OPTS_ERROR);
    assert_int_equal(parse(&o, err, sizeof err, 2, "stray"), OPTS_ERROR);
    /* an unset ramp shrinks to fit a short run */
    assert_int_equal(parse(&o, err, sizeof err, 3, "--duration", "0.5"), OPTS_OK);
    assert_true(o.ramp_s < o.duration_s);

    /* v2: defaults, TLS flags, chaos and backoff */
    assert_int_equal(parse(&o, err, sizeof err, 1), OPTS_OK);
    assert_int_equal(o.chaos_drops, DROP_ALL);
    assert_int_equal(o.backoff_base_ms, 250);
    assert_int_equal(o.backoff_max_ms, 4000);
    assert_int_equal(o.max_connecting, 64);
    assert_null(o.token_secret_file);
    assert_int_equal(parse(&o, err, sizeof err, 6, "--url", "wss://localhost:9", "--insecure", "--ca", "/x.pem"),
                     OPTS_OK);
    assert_true(o.tls && o.insecure && strcmp(o.ca_path, "/x.pem") == 0);
    assert_int_equal(o.max_connecting, 16); /* TLS handshakes are staggered */
    assert_int_equal(parse(&o, err, sizeof err, 2, "--insecure"), OPTS_ERROR);
    assert_non_null(strstr(err, "wss://"));
    assert_int_equal(parse(&o, err, sizeof err, 3, "--ca", "/x.pem"), OPTS_ERROR);
    assert_int_equal(parse(&o, err, sizeof err, 2, "--insecure=1"), OPTS_ERROR);
    assert_int_equal(parse(&o, err, sizeof err, 9, "--chaos-drop", "takeover", "--backoff-base-ms", "100",
                           "--backoff-max-ms=900", "--token-secret-file", "/s", "--max-connecting=3"),
                     OPTS_OK);
    assert_int_equal(o.chaos_drops, 1u << DROP_TAKEOVER);
    assert_true(o.backoff_base_ms == 100 && o.backoff_max_ms == 900 && o.max_connecting == 3);
    assert_string_equal(o.token_secret_file, "/s");
    assert_int_equal(parse(&o, err, sizeof err, 3, "--chaos-drop", "nuke"), OPTS_ERROR);
    assert_int_equal(parse(&o, err, sizeof err, 5, "--backoff-base-ms", "500", "--backoff-max-ms", "100"),
                     OPTS_ERROR);
    unsigned set;
    char list[64];
    for (int k = 0; k < DROP_KINDS; k++) {
        assert_int_equal(drop_kinds_parse(drop_kind_name((drop_kind)k), &set), 0);
        assert_int_equal(set, 1u << k);
    }
    assert_int_equal(drop_kinds_parse("reset,close,takeover", &set), 0);
    assert_int_equal(set, (1u << DROP_CLOSE) | (1u << DROP_RESET) | (1u << DROP_TAKEOVER));
    drop_kinds_format(set, list, sizeof list);
    assert_string_equal(list, "close,reset,takeover");
    assert_int_equal(drop_kinds_parse("mix", &set), 0);
    drop_kinds_format(set, list, sizeof list);
    assert_string_equal(list, "mix");
    static const char *const BADK[] = {"", ",", "close,", "close,,reset", "closer", "mix,close"};
    for (size_t i = 0; i < sizeof BADK / sizeof BADK[0]; i++)
        assert_int_equal(drop_kinds_parse(BADK[i], &set), -1);

    /* network delay: off by default; jitter needs no latency */
    assert_int_equal(parse(&o, err, sizeof err, 1), OPTS_OK);
    assert_true(o.latency_ms == 0 && o.jitter_ms == 0);
    assert_int_equal(parse(&o, err, sizeof err, 4, "--latency-ms", "75", "--jitter-ms=5"), OPTS_OK);
    assert_true(o.latency_ms == 75 && o.jitter_ms == 5);
    assert_int_equal(parse(&o, err, sizeof err, 5, "--latency-ms", "1000", "--jitter-ms", "500"), OPTS_OK);
    assert_int_equal(parse(&o, err, sizeof err, 3, "--jitter-ms", "20"), OPTS_OK);
    assert_true(o.latency_ms == 0 && o.jitter_ms == 20);
    static const char *const BADD[][2] = {{"--latency-ms", "1001"}, {"--latency-ms", "-1"}, {"--latency-ms", "7.5"},
                                          {"--jitter-ms", "501"},   {"--jitter-ms", "-1"},  {"--jitter-ms", "x"}};
    for (size_t i = 0; i < sizeof BADD / sizeof BADD[0]; i++) {
        assert_int_equal(parse(&o, err, sizeof err, 3, BADD[i][0], BADD[i][1]), OPTS_ERROR);
        assert_non_null(strstr(err, BADD[i][0]));
    }
}

/* ---- auth ---------------------------------------------------------------------- */

static void test_auth_secret_and_mint(void **state)
{
    (void)state;
    char path[] = "/tmp/tw-bots-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char secret[] = "0123456789abcdef-the-secret";
    assert_int_equal(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
    assert_int_equal(write(fd, "\r\n", 2), 2); /* trailing CR/LF are not part of it */
    close(fd);
    uint8_t buf[SECRET_MAX];
    char err[256];
    int n = secret_read(path, buf, sizeof buf, err, sizeof err); /* what the bots do; its limits: test_common */
    assert_int_equal(n, (int)strlen(secret));
    assert_memory_equal(buf, secret, strlen(secret));

    uint8_t nonce[16] = {1, 2, 3};
    char tok[PROTO_MAX_TOKEN + 1];
    size_t tl = auth_mint(buf, (size_t)n, 42, nonce, 1000000, tok, sizeof tok);
    assert_true(tl > 0 && tl <= PROTO_MAX_TOKEN);
    token_claims c;
    assert_int_equal(token_verify(tok, tl, buf, (size_t)n, 1000000, &c), TOKEN_OK);
    assert_int_equal(c.player_id, 42);
    assert_string_equal(c.name, "bot-42");
    assert_string_equal(c.match, "");
    assert_int_equal(c.expiry, 1000000 + AUTH_MINT_TTL_S);
    assert_memory_equal(c.nonce, nonce, 16);
    assert_int_equal(token_verify(tok, tl, buf, (size_t)n, 1000000 + AUTH_MINT_TTL_S + 1, &c), TOKEN_ERR_EXPIRED);
    assert_int_equal(token_verify(tok, tl, (const uint8_t *)"another secret, not this", 24, 1000000, &c),
                     TOKEN_ERR_SIGNATURE);
    /* the longest bot name still fits */
    assert_true(auth_mint(buf, (size_t)n, 4294967295u, nonce, 1, tok, sizeof tok) > 0);

    unlink(path);
}

static void test_auth_join_response(void **state)
{
    (void)state;
    char tok[PROTO_MAX_TOKEN + 1];
    const char *ok = "{\"token\":\"AQEAAAAA-_x\",\"expires_in\":60,\"player_id\":1}\n";
    assert_int_equal(auth_parse_join_response(ok, strlen(ok), tok, sizeof tok), 11);
    assert_string_equal(tok, "AQEAAAAA-_x");
    const char *spaced = "{ \"player_id\": 3, \"token\" : \"abc\" }";
    assert_int_equal(auth_parse_join_response(spaced, strlen(spaced), tok, sizeof tok), 3);
    assert_string_equal(tok, "abc");
    static const char *const BAD[] = {
        "", "{}", "{\"token\":1}", "{\"token\":\"\"}", "{\"token\":\"a b\"}", "{\"token\":\"abc",
        "{\"tok\":\"abc\"}", "<html>404</html>",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        assert_int_equal(auth_parse_join_response(BAD[i], strlen(BAD[i]), tok, sizeof tok), 0);
    /* longer than a JOIN may carry */
    char big[PROTO_MAX_TOKEN + 40];
    int bl = snprintf(big, sizeof big, "{\"token\":\"");
    memset(big + bl, 'A', PROTO_MAX_TOKEN + 1);
    snprintf(big + bl + PROTO_MAX_TOKEN + 1, sizeof big - (size_t)bl - PROTO_MAX_TOKEN - 1, "\"}");
    assert_int_equal(auth_parse_join_response(big, strlen(big), tok, sizeof tok), 0);
    /* the body is not NUL-terminated where len ends */
    assert_int_equal(auth_parse_join_response(ok, 14, tok, sizeof tok), 0);
}

/* ---- delay ---------------------------------------------------------------------- */

static delay_queue new_queue(int64_t lat_us, int64_t jit_us, uint32_t msgs, uint32_t bytes, uint64_t seed)
{
    delay_queue q;
    delay_config c = {.latency_us = lat_us, .jitter_us = jit_us, .max_msgs = msgs, .max_bytes = bytes, .seed = seed};
    assert_int_equal(delay_init(&q, &c), DELAY_OK);
    return q;
}

/* Without jitter every message is due exactly latency after its push, and
 * not a microsecond earlier. */
static void test_delay_latency(void **state)
{
    (void)state;
    delay_queue q = new_queue(75000, 0, 16, 1024, 1);
    size_t len;
    assert_true(delay_next_due(&q) == DELAY_NEVER);
    assert_null(delay_pop(&q, 1000000, &len));
    for (int i = 0; i < 10; i++) {
        char m[8];
        int n = snprintf(m, sizeof m, "m%d", i);
        assert_int_equal(delay_push(&q, 1000000 + i * 16667, m, (size_t)n), DELAY_OK);
    }
    assert_true(delay_next_due(&q) == 1075000);
    for (int i = 0; i < 10; i++) {
        int64_t due = 1075000 + i * 16667;
        assert_true(delay_next_due(&q) == due);
        assert_null(delay_pop(&q, due - 1, &len));
        const uint8_t *m = delay_pop(&q, due, &len);
        char want[8];
        snprintf(want, sizeof want, "m%d", i);
        assert_non_null(m);
        assert_int_equal(len, strlen(want));
        assert_memory_equal(m, want, len);
    }
    assert_int_equal(q.n, 0);
    assert_int_equal(q.pushed, 10);
    assert_int_equal(q.popped, 10);
    delay_destroy(&q);
}

/* Jitter: every message waits latency + [0, jitter] after its push or,
 * when that would overtake the one before, exactly as long as that one;
 * the order never changes, and the same seed gives the same times.
 * Messages `gap_us` apart; returns how many were due with the one before
 * (bunched), and in low/high those due within 5 ms of either end. */
static int run_jitter(uint64_t seed, int64_t gap_us, int64_t *dues, int count, int *low, int *high)
{
    delay_queue q = new_queue(10000, 50000, 128, 128 * 8, seed);
    int64_t t = 0, prev_due = 0;
    int next = 0, bunched = 0;
    uint32_t seq;
    size_t len;
    *low = *high = 0;
    for (int pushed = 0; next < count; t += 100) {
        if (pushed < count && t == (int64_t)pushed * gap_us) {
            seq = (uint32_t)pushed;
            assert_int_equal(delay_push(&q, t, &seq, sizeof seq), DELAY_OK);
            int64_t due = q.e[(q.head + q.n - 1) % q.cfg.max_msgs].due_us;
            assert_true(due >= t + 10000 && due <= t + 60000);
            assert_true(due >= prev_due);
            bunched += due == prev_due;
            *low += due - t - 10000 < 5000;
            *high += due - t - 10000 > 45000;
            prev_due = due;
            dues[pushed++] = due;
        }
        const uint8_t *m;
        while ((m = delay_pop(&q, t, &len))) {
            assert_int_equal(len, sizeof seq);
            memcpy(&seq, m, sizeof seq);
            assert_int_equal(seq, (uint32_t)next); /* in order */
            assert_true(dues[next] <= t && dues[next] > t - 100);
            next++;
        }
    }
    delay_destroy(&q);
    return bunched;
}

static void test_delay_jitter_keeps_order(void **state)
{
    (void)state;
    enum { N = 2000 };
    static int64_t a[N], b[N], c[N];
    int low, high;
    /* 1 ms apart with up to 50 ms of jitter: most catch up with the one
     * before them and leave with it. */
    assert_true(run_jitter(7, 1000, a, N, &low, &high) > N / 2);
    run_jitter(7, 1000, b, N, &low, &high);
    run_jitter(8, 1000, c, N, &low, &high);
    assert_memory_equal(a, b, sizeof a);
    assert_true(memcmp(a, c, sizeof a) != 0);
    /* 100 ms apart: none bunched, the jitter spread evenly over [0, 50] ms */
    assert_int_equal(run_jitter(7, 100000, a, 500, &low, &high), 0);
    assert_true(low > 25 && low < 75 && high > 25 && high < 75);
}

/* A close stamped after some messages is due no earlier than they are, and
 * later messages are not due before it. A cleared queue forgets the order. */
static void test_delay_stamp_and_clear(void **state)
{
    (void)state;
    delay_queue q = new_queue(20000, 30000, 8, 256, 3);
    assert_int_equal(delay_push(&q, 0, "a", 1), DELAY_OK);
    assert_int_equal(delay_push(&q, 0, "b", 1), DELAY_OK);
    int64_t last = q.e[(q.head + 1) % q.cfg.max_msgs].due_us;
    int64_t close = delay_stamp(&q, 0);
    assert_true(close >= last && close >= 20000 && close <= 50000);
    assert_int_equal(delay_push(&q, 1, "c", 1), DELAY_OK);
    assert_true(q.e[(q.head + 2) % q.cfg.max_msgs].due_us >= close);
    assert_int_equal(delay_clear(&q), 3);
    assert_int_equal(q.cleared, 3);
    assert_true(delay_next_due(&q) == DELAY_NEVER);
    size_t len;
    assert_null(delay_pop(&q, 1000000, &len));
    /* 10 s later a new connection: due after its own push, not the old order */
    assert_int_equal(delay_push(&q, 10000000, "d", 1), DELAY_OK);
    assert_true(delay_next_due(&q) >= 10020000 && delay_next_due(&q) <= 10050000);
    delay_destroy(&q);
}

/* Full by entries, full by bytes, the ring's wrap, and contents intact. */
static void test_delay_capacity(void **state)
{
    (void)state;
    size_t len;
    const uint8_t *m;
    delay_queue q = new_queue(0, 0, 4, 1000, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(delay_push(&q, 0, "x", 1), DELAY_OK);
    assert_int_equal(delay_push(&q, 0, "y", 1), DELAY_FULL); /* entries */
    assert_int_equal(q.full, 1);
    assert_int_equal(q.n, 4);
    assert_non_null(delay_pop(&q, 0, &len));
    assert_int_equal(delay_push(&q, 0, "y", 1), DELAY_OK);
    assert_int_equal(q.max_n, 4);
    delay_destroy(&q);

    static uint8_t a[40], b[40], c[30], d[20], e[10], f[60], big[101];
    memset(a, 'a', sizeof a), memset(b, 'b', sizeof b), memset(c, 'c', sizeof c), memset(d, 'd', sizeof d);
    memset(e, 'e', sizeof e), memset(f, 'f', sizeof f);
    q = new_queue(0, 0, 16, 100, 1);
    assert_int_equal(delay_push(&q, 0, big, sizeof big), DELAY_FULL); /* bigger than the pool */
    assert_int_equal(delay_push(&q, 0, a, sizeof a), DELAY_OK);      /* [0, 40) */
    assert_int_equal(delay_push(&q, 0, b, sizeof b), DELAY_OK);      /* [40, 80) */
    assert_int_equal(delay_push(&q, 0, c, sizeof c), DELAY_FULL);    /* 20 left at the end, a at the start */
    assert_non_null(m = delay_pop(&q, 0, &len));
    assert_true(len == 40 && m[0] == 'a' && m[39] == 'a');
    assert_int_equal(delay_push(&q, 0, c, sizeof c), DELAY_OK);      /* wraps: [0, 30) */
    assert_int_equal(delay_push(&q, 0, d, sizeof d), DELAY_FULL);    /* only [30, 40) is free */
    assert_int_equal(delay_push(&q, 0, e, sizeof e), DELAY_OK);      /* [30, 40) */
    assert_int_equal(delay_push(&q, 0, "", 0), DELAY_FULL);          /* an empty one takes a byte */
    assert_non_null(m = delay_pop(&q, 0, &len));
    assert_true(len == 40 && m[0] == 'b' && m[39] == 'b');          /* the oldest is c, at 0 again */
    assert_int_equal(delay_push(&q, 0, f, sizeof f), DELAY_OK);      /* [40, 100) */
    assert_int_equal(delay_push(&q, 0, "", 0), DELAY_FULL);
    assert_non_null(m = delay_pop(&q, 0, &len));
    assert_true(len == 30 && m[0] == 'c' && m[29] == 'c');
    assert_non_null(m = delay_pop(&q, 0, &len));
    assert_true(len == 10 && m[0] == 'e' && m[9] == 'e');
    assert_int_equal(delay_push(&q, 0, "", 0), DELAY_OK);            /* wraps to [0, 1) */
    assert_non_null(m = delay_pop(&q, 0, &len));
    assert_true(len == 60 && m[0] == 'f' && m[59] == 'f');
    assert_non_null(m = delay_pop(&q, 0, &len));
    assert_int_equal(len, 0);
    assert_null(delay_pop(&q, 0, &len));
    assert_int_equal(q.full, 5);
    delay_destroy(&q);
}

/* Pushes `per_s` messages a second, plus one burst of `burst` more 2 s in,
 * for `secs` seconds, sizes random up to max_len, popping what is due every
 * millisecond; returns how many pushes were refused. */
static uint64_t soak(const delay_config *c, uint32_t per_s, uint32_t burst, uint32_t max_len, int secs)
{
    delay_queue q;
    assert_int_equal(delay_init(&q, c), DELAY_OK);
    static uint8_t msg[PROTO_MAX_SNAPSHOT];
    uint64_t rng = 99, sent = 0;
    size_t len;
    for (int64_t t = 0; t < (int64_t)secs * 1000000; t += 1000) {
        while (delay_pop(&q, t, &len))
            ;
        uint64_t due = (uint64_t)(t + 1000) * per_s / 1000000 + (t >= 2000000 ? burst : 0);
        for (; sent < due; sent++) {
            size_t n = 1 + sim_rand_next(&rng) % max_len;
            msg[0] = (uint8_t)sent;
            if (delay_push(&q, t, msg, n) == DELAY_OK) {
                assert_true(q.wr <= q.cfg.max_bytes);
            }
        }
    }
    uint64_t full = q.full;
    delay_destroy(&q);
    return full;
}

/* The bots' sizing: never full at the server's top rate with the longest
 * delay the flags allow, a burst on top every second, all messages up to
 * the largest snapshot; and at twice the rate it does fill (the check
 * above is not vacuous). */
static void test_delay_sized_never_fills(void **state)
{
    (void)state;
    static const int64_t spans[][2] = {{75000, 5000}, {1000000, 0}, {1000000, 500000}, {0, 500000}, {0, 0}};
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        delay_config c = delay_config_sized(spans[i][0], spans[i][1], SWARM_DELAY_RATE_HZ, SWARM_DELAY_BURST,
                                            PROTO_MAX_SNAPSHOT, 5);
        assert_int_equal(soak(&c, SWARM_DELAY_RATE_HZ, SWARM_DELAY_BURST, PROTO_MAX_SNAPSHOT, 4), 0);
        assert_int_equal(soak(&c, 60, 0, PROTO_MAX_SNAPSHOT, 4), 0);
        if (spans[i][0] + spans[i][1] >= 75000)
            assert_true(soak(&c, 2 * SWARM_DELAY_RATE_HZ, SWARM_DELAY_BURST, PROTO_MAX_SNAPSHOT, 4) > 0);
    }
    delay_config c = delay_config_sized(75000, 5000, 240, 8, 4000, 1);
    assert_int_equal(c.max_msgs, 20 + 1 + 8);
    assert_int_equal(c.max_bytes, 30 * 4000);
}

/* ---- behavior ------------------------------------------------------------------ */

static void test_wander(void **state)
{
    (void)state;
    behavior_state b;
    behavior_init(&b, BEHAVIOR_WANDER, 42, 60);
    int changes = 0;
    uint8_t last = 0;
    uint16_t last_aim = b.aim;
    for (int t = 0; t < 60 * 80; t++) {
        sim_input in = behavior_next(&b, 60);
        assert_true(in.buttons != 0 && (in.buttons & ~SIM_BTN_ALL) == 0 && !(in.buttons & SIM_BTN_FIRE));
        assert_true(in.aim != last_aim); /* the aim sweeps every tick */
        last_aim = in.aim;
        if (t && in.buttons != last)
            changes++;
        last = in.buttons;
    }
    /* about one change per 0.8 s over 80 s */
    assert_true(changes > 70 && changes < 130);
    /* same seed, same stream */
    behavior_state c, d;
    behavior_init(&c, BEHAVIOR_WANDER, 9, 60);
    behavior_init(&d, BEHAVIOR_WANDER, 9, 60);
    for (int t = 0; t < 1000; t++) {
        sim_input x = behavior_next(&c, 60), y = behavior_next(&d, 60);
        assert_true(x.buttons == y.buttons && x.aim == y.aim);
    }
}

static void test_idle_and_circle(void **state)
{
    (void)state;
    behavior_state b;
    behavior_init(&b, BEHAVIOR_IDLE, 1, 60);
    sim_input first = behavior_next(&b, 60);
    for (int t = 0; t < 600; t++) {
        sim_input in = behavior_next(&b, 60);
        assert_int_equal(in.buttons, 0);
        assert_int_equal(in.aim, first.aim);
    }
    behavior_init(&b, BEHAVIOR_CIRCLE, 1, 60);
    int seen[8] = {0};
    for (int t = 0; t < 60 * 5; t++) { /* at least one turn in 2..4 s */
        sim_input in = behavior_next(&b, 60);
        for (int dir = 0; dir < 8; dir++)
            if (in.buttons == behavior_dir_buttons(dir))
                seen[dir] = 1;
    }
    for (int dir = 0; dir < 8; dir++)
        assert_true(seen[dir]);
}

/* ---- fight ------------------------------------------------------------------- */

static void test_fight_aim(void **state)
{
    (void)state;
    assert_int_equal(behavior_aim_at(1, 0), 0);
    assert_int_equal(behavior_aim_at(0, 1), 16384); /* +y, down on the screen */
    assert_int_equal(behavior_aim_at(-1, 0), 32768);
    assert_int_equal(behavior_aim_at(0, -1), 49152);
    assert_int_equal(behavior_aim_at(5, 5), 8192);
    assert_int_equal(behavior_aim_at(-3, 3), 24576);
    assert_int_equal(behavior_aim_at(-2, -2), 40960);
    assert_int_equal(behavior_aim_at(7, -7), 57344);
    assert_int_equal(behavior_aim_at(1, -1e-9f), 0); /* just below +x wraps to 0, not 65536 */
    assert_int_equal(behavior_aim_at(0, 0), 0);
    /* The sim's direction for the aim points back at (dx, dy), to within
     * half an aim unit (2 pi / 131072 rad). */
    uint64_t rng = 5;
    for (int i = 0; i < 2000; i++) {
        float dx = (float)((int)(sim_rand_next(&rng) % 4001) - 2000);
        float dy = (float)((int)(sim_rand_next(&rng) % 4001) - 2000);
        if (dx == 0 && dy == 0)
            continue;
        float d[2];
        sim_aim_dir(behavior_aim_at(dx, dy), d);
        float len = sqrtf(dx * dx + dy * dy);
        float cross = d[0] * dy / len - d[1] * dx / len, dot = d[0] * dx / len + d[1] * dy / len;
        assert_true(dot > 0.99f && fabsf(cross) < 5e-5f);
    }
}

static sim_map fight_map(void)
{
    sim_map m;
    memset(&m, 0, sizeof m);
    m.width = m.height = SIM_ARENA_SIZE;
    m.nwalls = 1;
    m.walls[0] = (sim_wall){400, 0, 420, 300}; /* a wall between x 400 and 420, from y 0 to 300 */
    return m;
}

static cl_view_ent ent(uint16_t id, float x, float y, uint8_t flags, uint8_t self)
{
    cl_view_ent v;
    memset(&v, 0, sizeof v);
    v.id = id;
    v.x = x;
    v.y = y;
    v.flags = flags;
    v.self = self;
    return v;
}

/* The nearest opponent a shot reaches: not itself, not dead, not behind a
 * wall, not out of range; ties to the lower index. */
static void test_fight_target(void **state)
{
    (void)state;
    sim_map map = fight_map();
    const float self[2] = {300, 100};
    cl_view_ent v[8];
    int n = 0;
    v[n++] = ent(1, 300, 100, 0, 1);             /* the bot itself */
    v[n++] = ent(2, 330, 100, SIM_FLAG_DEAD, 0); /* nearest, but dead */
    v[n++] = ent(3, 500, 100, 0, 0);             /* 200 away, behind the wall */
    v[n++] = ent(4, 300, 1900, 0, 0);            /* 1800 away: out of range */
    v[n++] = ent(5, 300, 350, SIM_FLAG_FIRING, 0); /* 250 away, in sight */
    v[n++] = ent(6, 50, 100, 0, 0);              /* 250 away too, later in the list */
    assert_int_equal(behavior_pick_target(&map, self, v, n), 4);
    assert_int_equal(behavior_pick_target(&map, self, v, 4), -1); /* only the dead, the walled and the far */
    assert_int_equal(behavior_pick_target(&map, self, v, 0), -1);
    /* From the other side of the wall the walled one is the nearest. */
    const float east[2] = {520, 120};
    assert_int_equal(behavior_pick_target(&map, east, v, n), 2);
    /* Past the end of the wall, in sight again. */
    const float below[2] = {300, 400};
    v[2] = ent(3, 500, 420, 0, 0);
    assert_int_equal(behavior_pick_target(&map, below, v, n), 4); /* (300, 350): 50 away */
    /* Within range means the ray reaches the circle: centre 1410 away is in. */
    v[0] = ent(9, 300 + SIM_WEAPON_RANGE + 10, 400, 0, 0);
    assert_int_equal(behavior_pick_target(&map, below, v, 1), 0);
    v[0] = ent(9, 300 + SIM_WEAPON_RANGE + SIM_PLAYER_RADIUS + 1, 400, 0, 0);
    assert_int_equal(behavior_pick_target(&map, below, v, 1), -1);
}

/* Fight: FIRE held and the aim on the target while one is in sight, and
 * the bot moves (both ways across the line of fire); trigger released
 * and wandering without one, or without a position of its own. */
static void test_fight_inputs(void **state)
{
    (void)state;
    sim_map map = fight_map();
    behavior_state b;
    behavior_init(&b, BEHAVIOR_FIGHT, 3, 60);
    float self[2] = {1000, 1000};
    cl_view_ent v[2] = {ent(1, 1000, 1000, 0, 1), ent(2, 1000, 1300, 0, 0)}; /* 300 below */
    int seen[8] = {0}, fired = 0;
    for (int t = 0; t < 60 * 6; t++) {
        sim_input in = behavior_next_fight(&b, 60, &map, self, v, 2);
        assert_true(in.buttons & SIM_BTN_FIRE);
        assert_int_equal(in.aim, 16384);
        fired++;
        for (int dir = 0; dir < 8; dir++)
            if ((in.buttons & ~SIM_BTN_FIRE) == behavior_dir_buttons(dir))
                seen[dir] = 1;
    }
    /* At 300 units it strafes: straight across (+x or -x), both ways. */
    assert_true(seen[0] && seen[4]);
    assert_int_equal(fired, 360);
    /* Far: it closes in at 45 degrees; near: it backs off at 45 degrees. */
    v[1] = ent(2, 1000, 1800, 0, 0);
    sim_input in = behavior_next_fight(&b, 60, &map, self, v, 2);
    int dir = -1;
    for (int d = 0; d < 8; d++)
        if ((in.buttons & ~SIM_BTN_FIRE) == behavior_dir_buttons(d))
            dir = d;
    assert_true(dir == 1 || dir == 3); /* down-right or down-left: toward +y */
    v[1] = ent(2, 1000, 1100, 0, 0);
    in = behavior_next_fight(&b, 60, &map, self, v, 2);
    for (int d = 0; d < 8; d++)
        if ((in.buttons & ~SIM_BTN_FIRE) == behavior_dir_buttons(d))
            dir = d;
    assert_true(dir == 5 || dir == 7); /* up-left or up-right: away */
    /* Nobody in sight (dead), or no position: wander, trigger released. */
    v[1].flags = SIM_FLAG_DEAD;
    for (int t = 0; t < 100; t++) {
        in = behavior_next_fight(&b, 60, &map, self, v, 2);
        assert_false(in.buttons & SIM_BTN_FIRE);
        assert_true(in.buttons != 0);
    }
    v[1].flags = 0;
    in = behavior_next_fight(&b, 60, &map, NULL, v, 2);
    assert_false(in.buttons & SIM_BTN_FIRE);
    /* The same seed and views give the same inputs. */
    behavior_state c, d;
    behavior_init(&c, BEHAVIOR_FIGHT, 8, 60);
    behavior_init(&d, BEHAVIOR_FIGHT, 8, 60);
    for (int t = 0; t < 600; t++) {
        int k = (t / 90) % 2 ? 2 : 1; /* a target, then none, ... */
        sim_input x = behavior_next_fight(&c, 60, &map, self, v, k), y = behavior_next_fight(&d, 60, &map, self, v, k);
        assert_true(x.buttons == y.buttons && x.aim == y.aim);
    }
}

/* ---- memo: decode once, check many ---------------------------------------------- */

/* A baseline of 20 players and a snapshot 3 ticks later where they moved,
 * one left and one joined; body = the delta between them. */
static size_t memo_fixture(proto_snapshot *base, proto_snapshot *cur, proto_names *names, uint8_t *body)
{
    memset(base, 0, sizeof *base);
    memset(names, 0, sizeof *names);
    base->tick = 100;
    base->ms = (proto_match_state){.phase = 1, .min_players = 2, .round = 1, .end_tick = 9000};
    for (int id = 0; id < 20; id++) {
        base->present[id] = 1;
        base->gen[id] = 1;
        base->ent[id] = (sim_netent){.x = (uint16_t)(1000 + 37 * id), .y = (uint16_t)(2000 + 11 * id), .vx = 40, .life = 1, .health = 100};
        snprintf(names->name[id], sizeof names->name[id], "p%d", id);
    }
    *cur = *base;
    cur->tick = 103;
    for (int id = 0; id < 20; id++)
        cur->ent[id].x = (uint16_t)(cur->ent[id].x + 3 * id), cur->ent[id].vy = (int16_t)(5 - id);
    cur->present[7] = 0;
    cur->present[25] = 1;
    cur->gen[25] = 1;
    cur->ent[25] = (sim_netent){.x = 500, .y = 600, .life = 1, .health = 100};
    snprintf(names->name[25], sizeof names->name[25], "newcomer");
    return proto_snapshot_body_write(base, cur, names, 60, body, PROTO_MAX_SNAPSHOT_BODY);
}

/* memo_body_read, its result copied into out and names (and a shared
 * one handed back); *was_shared says which it was. */
static int memo_read_copy(memo *m, const cl_client *c, const proto_snapshot *base, proto_snapshot *out,
                          proto_names *names, const uint8_t *body, size_t len, int *was_shared)
{
    const proto_snapshot *sh = NULL;
    const proto_names *shn = NULL;
    int err = memo_body_read(m, c, base, out, names, body, len, &sh, &shn);
    *was_shared = sh != NULL;
    if (sh) {
        *out = *sh;
        *names = *shn;
        memo_body_release(m, sh);
    }
    return err;
}

static void test_memo_shares_and_checks(void **state)
{
    (void)state;
    proto_snapshot base, cur, out, want;
    proto_names names, n_want, n_out;
    static uint8_t body[PROTO_MAX_SNAPSHOT_BODY];
    size_t len = memo_fixture(&base, &cur, &names, body);
    assert_true(len > 0);
    proto_names before = names;
    memset(before.name[25], 0, sizeof before.name[25]); /* the client learns it from the body */
    n_want = before;
    want.tick = 103;
    assert_int_equal(proto_snapshot_body_read(&base, &want, &n_want, 60, body, len), 0);

    static cl_client a, b;
    cl_init(&a);
    cl_init(&b);
    a.welcome.match_id = b.welcome.match_id = 3;
    a.welcome.tick_rate = b.welcome.tick_rate = 60;
    a.names = b.names = before; /* what each client knows of the baseline */
    memo *m = memo_create();
    assert_non_null(m);
    int shared = 0;
    /* First client: a real decode. Second: the same bytes on the same
     * baseline: shared, and the same snapshot as a decode gives. */
    for (int i = 0; i < 2; i++) {
        n_out = before;
        out.tick = 103;
        assert_int_equal(memo_read_copy(m, i ? &b : &a, &base, &out, &n_out, body, len, &shared), 0);
        assert_true(shared);
        assert_memory_equal(out.present, want.present, sizeof want.present);
        for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
            if (want.present[id]) {
                assert_memory_equal(&out.ent[id], &want.ent[id], sizeof want.ent[id]);
                assert_string_equal(n_out.name[id], n_want.name[id]);
            }
        assert_int_equal(out.ms.end_tick, want.ms.end_tick);
    }
    memo_stats st = memo_get_stats(m);
    assert_int_equal(st.decodes, 1);
    assert_int_equal(st.hits, 1);
    /* A client whose baseline differs (what the memo assumes never
     * happens): the periodic check decodes it for real, counts the
     * mismatch and returns the real result. */
    proto_snapshot odd = base;
    odd.ent[3].x = 7;
    int caught = 0;
    for (int i = 0; i < MEMO_CHECK_EVERY; i++) {
        n_out = before;
        out.tick = 103;
        assert_int_equal(memo_read_copy(m, &b, &odd, &out, &n_out, body, len, &shared), 0);
        if (memo_get_stats(m).mismatches) {
            proto_snapshot real;
            proto_names n_real = before;
            real.tick = 103;
            assert_int_equal(proto_snapshot_body_read(&odd, &real, &n_real, 60, body, len), 0);
            assert_memory_equal(&out.ent[3], &real.ent[3], sizeof real.ent[3]);
            assert_false(shared); /* its own decode */
            caught = 1;
            break;
        }
    }
    assert_true(caught);
    st = memo_get_stats(m);
    assert_int_equal(st.mismatches, 1);
    assert_true(st.checked >= 1);
    /* Another match's identical bytes are not shared. */
    b.welcome.match_id = 4;
    n_out = before;
    out.tick = 103;
    assert_int_equal(memo_read_copy(m, &b, &base, &out, &n_out, body, len, &shared), 0);
    assert_int_equal(memo_get_stats(m).decodes, st.decodes + 1);
    /* Nor another server's match of the same id (a fleet: every process
     * has a match 3, and an early delta is the same bytes in each). */
    static cl_client c;
    c = b;
    c.body_key = b.body_key + 1;
    uint64_t decodes = memo_get_stats(m).decodes;
    n_out = before;
    out.tick = 103;
    assert_int_equal(memo_read_copy(m, &c, &base, &out, &n_out, body, len, &shared), 0);
    assert_int_equal(memo_get_stats(m).decodes, decodes + 1);
    n_out = before;
    out.tick = 103;
    assert_int_equal(memo_read_copy(m, &b, &base, &out, &n_out, body, len, &shared), 0);
    assert_int_equal(memo_get_stats(m).decodes, decodes + 1); /* b's own entry is still there */
    memo_destroy(m);
}

/* memo_body_read of `body` at `tick`: the shared result (asserted). */
static const proto_snapshot *memo_at(memo *m, const cl_client *c, const proto_snapshot *base, uint32_t tick,
                                     const uint8_t *body, size_t len)
{
    proto_snapshot out;
    proto_names n_out;
    const proto_snapshot *sh = NULL;
    const proto_names *shn = NULL;
    out.tick = tick;
    assert_int_equal(memo_body_read(m, c, base, &out, &n_out, body, len, &sh, &shn), 0);
    assert_non_null(sh);
    return sh;
}

/* A shared result stays as it was while a ring holds it, even after
 * another body took its place in the table; its memory is reused only
 * once every holder handed it back. */
static void test_memo_entry_held_until_released(void **state)
{
    (void)state;
    proto_snapshot base, cur;
    proto_names names;
    static uint8_t body[PROTO_MAX_SNAPSHOT_BODY];
    size_t len = memo_fixture(&base, &cur, &names, body);
    static cl_client a;
    cl_init(&a);
    a.welcome.match_id = 3;
    a.welcome.tick_rate = 60;
    a.names = names;
    memo *m = memo_create();
    const proto_snapshot *held = memo_at(m, &a, &base, 103, body, len);
    proto_snapshot copy = *held;
    /* Tick 103 + 128: the same table slot (the index mixes the tick in
     * its low bits), another key: it takes the slot. */
    const proto_snapshot *other = memo_at(m, &a, &base, 103 + MEMO_SLOTS, body, len);
    assert_ptr_not_equal(other, held);
    assert_int_equal(held->tick, 103);
    assert_memory_equal(held, &copy, sizeof copy);
    /* Tick 103 again: out of the table, so decoded again, into new memory
     * (the held entry is not free). */
    const proto_snapshot *held2 = memo_at(m, &a, &base, 103, body, len);
    assert_ptr_not_equal(held2, held);
    assert_int_equal(memo_get_stats(m).decodes, 3);
    assert_int_equal(memo_get_stats(m).entries, 3);
    /* Handed back, out of the table: its memory takes the next new body. */
    memo_body_release(m, held);
    const proto_snapshot *reused = memo_at(m, &a, &base, 103 + 2 * MEMO_SLOTS, body, len);
    assert_ptr_equal(reused, held);
    assert_int_equal(reused->tick, 103 + 2 * MEMO_SLOTS);
    assert_int_equal(memo_get_stats(m).entries, 3);
    /* Released but still in the table: found again, not reused. */
    memo_body_release(m, reused);
    const proto_snapshot *again = memo_at(m, &a, &base, 103 + 2 * MEMO_SLOTS, body, len);
    assert_ptr_equal(again, reused);
    assert_int_equal(memo_get_stats(m).hits, 1);
    assert_int_equal(memo_get_stats(m).decodes, 4);
    memo_body_release(m, again);
    memo_body_release(m, other);
    memo_body_release(m, held2);
    memo_destroy(m);
}

/* Two clients of one match given the same snapshot message hold one
 * decoded snapshot between them, the same as a decode gives, and hand it
 * back when they disconnect. */
static void test_memo_clients_share_snapshots(void **state)
{
    (void)state;
    memo *m = memo_create();
    static cl_client cl[3];
    static uint8_t buf[PROTO_MAX_SNAPSHOT];
    proto_snapshot s;
    memset(&s, 0, sizeof s);
    s.tick = 50;
    s.ms = (proto_match_state){.phase = 1, .min_players = 2, .round = 1, .end_tick = 9000};
    proto_names names;
    memset(&names, 0, sizeof names);
    for (int id = 0; id < 10; id++) {
        s.present[id] = 1;
        s.gen[id] = 1;
        s.ent[id] = (sim_netent){.x = (uint16_t)(100 * id + 7), .y = 300, .vx = 12, .life = 1, .health = 100};
        snprintf(names.name[id], sizeof names.name[id], "n%d", id);
    }
    uint8_t wbuf[PROTO_MAX_WELCOME];
    proto_welcome w = {.player_id = PROTO_SPECTATOR_ID, .tick_rate = 60, .snapshot_rate = 10, .match_id = 2,
                       .max_players = 64, .server_tick = 40, .spectator = 1};
    w.map.width = w.map.height = 2048;
    size_t wn = proto_welcome_write(&w, wbuf, sizeof wbuf);
    assert_true(wn > 0);
    proto_snapshot_header h = {.tick = 50, .baseline_tick = 0, .last_input_seq = 0};
    size_t n = proto_snapshot_header_write(&h, buf, sizeof buf);
    buf[n++] = 0; /* no events */
    size_t body = proto_snapshot_body_write(NULL, &s, &names, 60, buf + n, sizeof buf - n);
    assert_true(body > 0);
    n += body;
    for (int i = 0; i < 3; i++) {
        cl_init(&cl[i]);
        cl_set_spectate(&cl[i], PROTO_MATCH_ANY);
        if (i < 2) { /* the third decodes on its own */
            cl[i].body_reader = memo_body_read;
            cl[i].body_release = memo_body_release;
            cl[i].body_user = m;
        }
        assert_int_equal(cl_receive(&cl[i], wbuf, wn, 0), PROTO_WELCOME);
        assert_int_equal(cl_receive(&cl[i], buf, n, 0), PROTO_SNAPSHOT);
    }
    assert_ptr_equal(cl_latest(&cl[0]), cl_latest(&cl[1]));
    assert_ptr_equal(cl_latest(&cl[2]), &cl[2].ring_own[cl[2].head]);
    const proto_snapshot *x = cl_latest(&cl[0]), *y = cl_latest(&cl[2]);
    assert_int_equal(x->tick, 50);
    assert_memory_equal(x->present, y->present, sizeof y->present);
    for (int id = 0; id < 10; id++) {
        assert_memory_equal(&x->ent[id], &y->ent[id], sizeof y->ent[id]);
        assert_string_equal(cl[1].names.name[id], names.name[id]);
    }
    assert_int_equal(memo_get_stats(m).decodes, 1);
    assert_int_equal(memo_get_stats(m).hits, 1);
    /* Both let go: once the table drops it too, its memory is free and
     * the next new body takes it instead of a new allocation. */
    cl_disconnected(&cl[0]);
    cl_release(&cl[1]);
    assert_null(cl_latest(&cl[1]));
    proto_snapshot out;
    proto_names n_out;
    const proto_snapshot *sh = NULL, *sh2 = NULL;
    const proto_names *shn = NULL;
    out.tick = 50 + MEMO_SLOTS; /* same slot, another key: x leaves the table */
    assert_int_equal(memo_body_read(m, &cl[0], NULL, &out, &n_out, buf + PROTO_SNAPSHOT_HEADER_SIZE + 1,
                                    n - PROTO_SNAPSHOT_HEADER_SIZE - 1, &sh, &shn), 0);
    out.tick = 50 + 2 * MEMO_SLOTS;
    assert_int_equal(memo_body_read(m, &cl[0], NULL, &out, &n_out, buf + PROTO_SNAPSHOT_HEADER_SIZE + 1,
                                    n - PROTO_SNAPSHOT_HEADER_SIZE - 1, &sh2, &shn), 0);
    assert_ptr_equal(sh2, x);
    assert_int_equal(memo_get_stats(m).entries, 2);
    memo_body_release(m, sh);
    memo_body_release(m, sh2);
    memo_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_quantiles),
        cmocka_unit_test(test_hist_capped_at_max_and_overflow),
        cmocka_unit_test(test_prom_parse_and_window),
        cmocka_unit_test(test_prom_rejects_bad_lines),
        cmocka_unit_test(test_bucket_quantile),
        cmocka_unit_test(test_prom_hist_quantile_any_layout),
        cmocka_unit_test(test_prom_series),
        cmocka_unit_test(test_verdict_defaults),
        cmocka_unit_test(test_verdict_targets),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_url_page_and_names),
        cmocka_unit_test(test_system_ca),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_auth_secret_and_mint),
        cmocka_unit_test(test_auth_join_response),
        cmocka_unit_test(test_wander),
        cmocka_unit_test(test_idle_and_circle),
        cmocka_unit_test(test_fight_aim),
        cmocka_unit_test(test_fight_target),
        cmocka_unit_test(test_fight_inputs),
        cmocka_unit_test(test_delay_latency),
        cmocka_unit_test(test_delay_jitter_keeps_order),
        cmocka_unit_test(test_delay_stamp_and_clear),
        cmocka_unit_test(test_delay_capacity),
        cmocka_unit_test(test_delay_sized_never_fills),
        cmocka_unit_test(test_memo_shares_and_checks),
        cmocka_unit_test(test_memo_entry_held_until_released),
        cmocka_unit_test(test_memo_clients_share_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
