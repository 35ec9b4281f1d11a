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
 * two scrapes (start NULL: since the server started): the delta of each
 * cumulative bucket, then prom_bucket_quantile. Any number and layout of
 * buckets; buckets of the same bound under other labels are summed (as
 * `sum by (le)`). O(buckets x samples). NaN when the histogram is absent,
 * empty in the window, or went backwards (the server restarted). */
double prom_hist_quantile(const prom_set *start, const prom_set *end, const char *name, double q);

/* Quantile q (0..1) of a histogram given as n cumulative counts cum[i] of
 * the samples <= le[i], le ascending, the last +Inf (the total), as
 * Prometheus' histogram_quantile computes it: the rank q x total falls in
 * bucket i; the result is interpolated linearly between the bucket's lower
 * bound (the previous le; 0 for the first bucket, unless its le is below
 * 0) and its le. A rank in the +Inf bucket gives the largest finite le.
 * NaN when n < 1, the total is not > 0, or the counts decrease. */
double prom_bucket_quantile(const double *le, const double *cum, int n, double q);

/* The server's figures for one window. NaN where a series is missing. */
typedef struct prom_window {
    double seconds;
    double snapshot_bytes, snapshot_messages, input_messages;
    double ticks, missed_ticks, tick_overruns, snapshots_skipped;
    double dropped_slow;      /* clients dropped because their socket stalled */
    double sent_bytes, received_bytes; /* WebSocket payload, game connections (newer servers) */
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

/* The server over time: one prom_window per scrape, each between it and
 * the scrape before (the time series of the report). Feed every scrape in
 * order; the first (or one after a failed one) only sets the baseline. */
#define PROM_SERIES_MIN_S 0.5 /* shortest window kept */

typedef struct prom_point {
    double t_s;               /* end of the window, seconds since the run began */
    prom_window w;
} prom_point;

typedef struct prom_series {
    prom_set prev;
    double prev_t_s;
    int have_prev;
    prom_point *p;
    int n, cap;
    int failed;               /* scrapes that did not answer 200 with Prometheus text */
} prom_series;

/* Adds the scrape `body` (status: its HTTP status, 0 when none) taken at
 * t_s. Returns 1 when a point was added, 0 when not (baseline; a failed
 * scrape, which is counted and breaks the series; or one within
 * PROM_SERIES_MIN_S of the one before, which is dropped). */
int prom_series_add(prom_series *s, double t_s, int status, const char *body, size_t len);
/* The same for a scrape already parsed (copied). -1: no memory. */
int prom_series_add_set(prom_series *s, double t_s, const prom_set *set);
/* Sets the baseline from a scrape already parsed (copied). -1: no memory. */
int prom_series_start(prom_series *s, double t_s, const prom_set *set);
void prom_series_free(prom_series *s);

#endif
