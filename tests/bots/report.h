/* report: a finished load test in three forms: a summary table for the
 * terminal, JSON for programs (`make bench`, the integration test), and a
 * self-contained HTML page (inline CSS and SVG line charts, no scripts, no
 * external files) for people. All three show the same figures; the
 * derived ones (rates, per-bot and per-entity figures, percentages) are
 * computed once, in report.c, and so is the verdict (verdict.h): first
 * in the JSON and the HTML, last in the text summary (nearest the
 * prompt). README.md in this folder lists the JSON fields. */
#ifndef TW_BOTS_REPORT_H
#define TW_BOTS_REPORT_H

#include <stdio.h>
#include <time.h>

#include "opts.h"
#include "prom.h"
#include "swarm.h"
#include "verdict.h"

typedef struct report_metrics {
    int available;            /* both scrapes parsed: `w` is valid */
    int http_status;          /* of the first scrape, 0 if none */
    char note[256];           /* why not available, or "" */
    prom_window w;
    /* GET /metrics the first time all bots were playing */
    int connected_available;
    double connected_t_s, connected_rss_bytes, connected_connections;
    /* GET /metrics every second of the run: the server's time series */
    prom_series series;
} report_metrics;

typedef struct report_input {
    const bots_opts *opts;
    int reachable;            /* 0: nothing connected; res may be NULL */
    const char *error;        /* why unreachable, or NULL */
    const swarm_result *res;
    const report_metrics *metrics;
    time_t started;
} report_input;

/* The verdict on the run: every figure against its target (opts->targets).
 * A run that never got into a match fails whatever the targets. */
void report_judge(const report_input *in, verdict *v);

void report_print(FILE *out, const report_input *in);
/* Return 0, or -1 with err set (the file could not be written). */
int report_write_json(const char *path, const report_input *in, char *err, size_t errlen);
int report_write_html(const char *path, const report_input *in, char *err, size_t errlen);

#endif
