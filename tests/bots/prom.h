/* prom: the server's GET /metrics (fetched by swarm_http_get, over the
 * bots' own lws context, so https works too): a parser for the Prometheus
 * text format, and the arithmetic that turns two scrapes into the figures
 * of one window: counter deltas, end gauges and quantiles of a
 * histogram's buckets over the window.
 *
 * The parser keeps each sample as its series key, the metric name plus
 * its label set exactly as written without blanks (e.g.
 * `tickwire_tick_duration_seconds_bucket{le="0.001"}`), and its value.
 * It checks every line: a comment, a blank, or `name{labels} value
 * [timestamp]`. */
#ifndef TW_BOTS_PROM_H
#define TW_BOTS_PROM_H

#include <stddef.h>

#define PROM_KEY_MAX 160

typedef struct prom_sample {
    char key[PROM_KEY_MAX];
    double value;
} prom_sample;

typedef struct prom_set {
    prom_sample *s;
    int n, cap;
} prom_set;

/* Parses Prometheus text into `out` (appends; prom_free releases).
 * Returns 0, or -1 with the 1-based line number and reason in err. */
int prom_parse(const char *text, size_t len, prom_set *out, char *err, size_t errlen);
void prom_free(prom_set *s);

/* Value of the series `key`, or NaN when absent. O(n). */
double prom_get(const prom_set *s, const char *key);

/* Quantile q of histogram `name` (without _bucket) over the window between
 * two scrapes, interpolated linearly inside a bucket as Prometheus'
 * histogram_quantile does. NaN when the histogram is absent or empty. */
double prom_hist_quantile(const prom_set *start, const prom_set *end, const char *name, double q);

/* The server's figures for one window. NaN where a series is missing. */
typedef struct prom_window {
    double seconds;
    double snapshot_bytes, snapshot_messages, input_messages;
    double ticks, missed_ticks, tick_overruns, snapshots_skipped;
    double cpu_seconds;
    double resident_memory_bytes, connections;  /* at the end */
    double joins, leaves, holds, resumes, holds_expired, auth_refusals; /* deltas */
    double tick_count, tick_sum_s, tick_p50_s, tick_p99_s;
    /* players' input queues (inputs received, not yet applied): p99 over
     * the window's snapshots, and the deepest at the end */
    double backlog_p99, backlog_max;
    /* combat (deltas): shots fired, hits, kills, and shots whose view was
     * older than --max-unlag-ms (judged at the bound) */
    double shots, hits, kills, unlag_clamped;
} prom_window;

void prom_window_compute(const prom_set *start, const prom_set *end, double seconds, prom_window *w);

#endif
