/* tickwire-bots: the headless load tester. Parses flags, raises the open
 * file limit, reads the token secret (if given), scrapes the server's
 * /metrics (which also tells whether the server is there at all), runs the
 * swarm, scrapes /metrics again while the bots are still connected, and
 * writes the reports. Every HTTP request goes over the swarm's lws
 * context, so wss:// servers (https /metrics) work the same.
 *
 * During the run the swarm scrapes /metrics every second for the server's
 * time series (report_metrics.series).
 *
 * Exit status: 0 the run completed (failures are counted in the report),
 * 1 the server could not be reached at all, 2 bad flags, 3 the verdict
 * failed and --fail-on-miss was given. SIGINT/SIGTERM end the run early;
 * the report then covers what ran. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "prom.h"
#include "report.h"
#include "secret.h"
#include "swarm.h"

#define METRICS_TIMEOUT_MS 3000
#define EXIT_VERDICT_FAILED 3

static volatile sig_atomic_t g_stop;
static swarm *g_swarm; /* for the signal handler only */

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_swarm)
        swarm_wake(g_swarm);
}

/* One GET /metrics. */
typedef struct scrape {
    int rc;          /* SWARM_HTTP_* */
    int status;
    int parsed;      /* body parsed as Prometheus text */
    char err[200];
    prom_set set;
    struct timespec at;
} scrape;

static void scrape_metrics(swarm *sw, scrape *s)
{
    char *body = NULL;
    size_t len = 0;
    memset(s, 0, sizeof *s);
    clock_gettime(CLOCK_MONOTONIC, &s->at);
    s->rc = swarm_http_get(sw, "/metrics", METRICS_TIMEOUT_MS, &s->status, &body, &len, s->err, sizeof s->err);
    if (s->rc == SWARM_HTTP_OK && s->status == 200) {
        if (prom_parse(body, len, &s->set, s->err, sizeof s->err) == 0)
            s->parsed = 1;
    }
    free(body);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

typedef struct run_ctx {
    swarm *sw;
    scrape end;
} run_ctx;

static void at_end(void *arg)
{
    run_ctx *rc = arg;
    scrape_metrics(rc->sw, &rc->end);
}

/* Why the first scrape gives no server figures, in words for the report. */
static void metrics_note(const scrape *s, const scrape *e, report_metrics *m)
{
    m->http_status = s->status;
    if (s->rc != SWARM_HTTP_OK)
        snprintf(m->note, sizeof m->note, "GET /metrics failed: %s", s->err);
    else if (s->status == 404)
        snprintf(m->note, sizeof m->note, "the server has no GET /metrics (404)");
    else if (s->status != 200)
        snprintf(m->note, sizeof m->note, "GET /metrics answered HTTP %d", s->status);
    else if (!s->parsed)
        snprintf(m->note, sizeof m->note, "GET /metrics is not Prometheus text: %s", s->err);
    else if (e->rc != SWARM_HTTP_OK)
        snprintf(m->note, sizeof m->note, "the final GET /metrics failed: %s", e->err);
    else if (!e->parsed)
        snprintf(m->note, sizeof m->note, "the final GET /metrics answered HTTP %d%s%s", e->status,
                 e->err[0] ? ": " : "", e->err);
    else
        m->available = 1;
}

/* The per-second scrape of the run (swarm_config.on_metrics). */
static void on_metrics(void *arg, double t_s, int status, const char *body, size_t len)
{
    report_metrics *m = arg;
    prom_series_add(&m->series, t_s, status, body, len);
}

static void raise_fd_limit(int bots)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)bots + 64)
        fprintf(stderr, "tickwire-bots: warning: the open file limit is %llu, too low for %d bots (raise "
                        "the hard limit: ulimit -Hn)\n",
                (unsigned long long)rl.rlim_cur, bots);
}

static void write_reports(const bots_opts *o, const report_input *in)
{
    char err[256];
    if (o->report_path && report_write_json(o->report_path, in, err, sizeof err))
        fprintf(stderr, "tickwire-bots: --report: %s\n", err);
    if (o->html_path && report_write_html(o->html_path, in, err, sizeof err))
        fprintf(stderr, "tickwire-bots: --html: %s\n", err);
}

int main(int argc, char **argv)
{
    bots_opts o;
    char err[512];
    int rc = opts_parse(argc, argv, &o, err, sizeof err);
    if (rc == OPTS_HELP) {
        opts_usage(stdout, argv[0]);
        return 0;
    }
    if (rc != OPTS_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        opts_usage(stderr, argv[0]);
        return 2;
    }
    raise_fd_limit(o.bots);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    static uint8_t secret[SECRET_MAX];
    int secret_len = 0;
    if (o.token_secret_file &&
        (secret_len = secret_read(o.token_secret_file, secret, sizeof secret, err, sizeof err)) < 0) {
        fprintf(stderr, "%s: --token-secret-file: %s\n", argv[0], err);
        return 2;
    }

    static char mm_bearer[SECRET_MAX + 1];
    if (o.matchmaker_token_file) {
        int n = secret_read(o.matchmaker_token_file, (uint8_t *)mm_bearer, sizeof mm_bearer - 1, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "%s: --matchmaker-token-file: %s\n", argv[0], err);
            return 2;
        }
        mm_bearer[n] = '\0';
    }

    report_metrics metrics;
    memset(&metrics, 0, sizeof metrics);
    report_input in = {.opts = &o, .reachable = 1, .metrics = &metrics, .started = time(NULL)};

    swarm_config sc = {
        .host = o.host,
        .host_header = o.host_header,
        .port = o.port,
        .path = o.path,
        .tls = o.tls,
        .ca_path = o.ca_path,
        .insecure = o.insecure,
        .secret = o.token_secret_file ? secret : NULL,
        .secret_len = (size_t)secret_len,
        .mm_bearer = o.matchmaker_token_file ? mm_bearer : NULL,
        .max_connecting = o.max_connecting,
        .backoff_base_ms = o.backoff_base_ms,
        .backoff_max_ms = o.backoff_max_ms,
        .chaos_drops = o.chaos_drops,
        .bots = o.bots,
        .spectators = o.spectators,
        .spectate_match = (uint16_t)o.spectate_match,
        .duration_s = o.duration_s,
        .ramp_s = o.ramp_s,
        .behavior = o.behavior,
        .input_rate = o.input_rate,
        .chaos_prob = o.chaos_prob,
        .latency_ms = o.latency_ms,
        .jitter_ms = o.jitter_ms,
        .transport = o.transport,
        .phases = o.phases,
        .input_timing = o.input_timing,
        .read_every_ms = opts_read_every_ms(&o),
        .seed = o.seed,
        .status_tty = isatty(STDOUT_FILENO),
        .on_metrics = on_metrics,
        .metrics_arg = &metrics,
    };
    swarm *sw = swarm_create(&sc, err, sizeof err);
    if (!sw) {
        fprintf(stderr, "tickwire-bots: %s\n", err);
        return 1;
    }

    /* The first scrape doubles as "is anything listening there at all". */
    scrape start;
    scrape_metrics(sw, &start);
    if (start.rc == SWARM_HTTP_UNREACHABLE) {
        snprintf(err, sizeof err, "cannot reach %s:%d: %.160s%s", o.host, o.port, start.err,
                 strstr(start.err, "Hostname mismatch")
                     ? " (mbedTLS matches DNS names only, not IP addresses: use wss://localhost:PORT, or --insecure)"
                     : "");
        fprintf(stderr, "tickwire-bots: %s\n", err);
        in.reachable = 0;
        in.error = err;
        snprintf(metrics.note, sizeof metrics.note, "server not reached");
        write_reports(&o, &in);
        prom_free(&start.set);
        prom_series_free(&metrics.series);
        swarm_destroy(sw);
        return 1;
    }
    printf("tickwire-bots: %d bots (%s) -> %s for %.1f s, ramp %.1f s, tokens %s", o.bots,
           behavior_name(o.behavior), o.url, o.duration_s, o.ramp_s,
           o.matchmaker_token_file ? "from the matchmaker (POST /api/matchmake)"
           : o.token_secret_file   ? "minted with the secret"
                                   : "from POST /api/join");
    if (o.spectators && o.spectate_match == 0xffff)
        printf(", %d spectators of any match", o.spectators);
    else if (o.spectators)
        printf(", %d spectators of match %d", o.spectators, o.spectate_match);
    if (o.jitter_ms)
        printf(", network delay %d ms + 0..%d ms each way", o.latency_ms, o.jitter_ms);
    else if (o.latency_ms)
        printf(", network delay %d ms each way", o.latency_ms);
    printf("\n");
    fflush(stdout);

    if (start.parsed)
        prom_series_start(&metrics.series, 0.0, &start.set);
    run_ctx ctx = {.sw = sw};
    swarm_result res;
    g_swarm = sw;
    swarm_run(sw, &g_stop, at_end, &ctx, &res);
    g_swarm = NULL;
    swarm_destroy(sw);

    metrics_note(&start, &ctx.end, &metrics);
    if (metrics.available) {
        double window_s = seconds_between(&start.at, &ctx.end.at);
        prom_window_compute(&start.set, &ctx.end.set, window_s, &metrics.w);
        prom_series_add_set(&metrics.series, window_s, &ctx.end.set); /* the series' last second */
    }
    if (res.connected_scrape) {
        prom_set cs = {0};
        char perr[200];
        if (prom_parse(res.connected_scrape, res.connected_scrape_len, &cs, perr, sizeof perr) == 0) {
            metrics.connected_available = 1;
            metrics.connected_t_s = res.connected_scrape_t_s;
            metrics.connected_rss_bytes = prom_get(&cs, "process_resident_memory_bytes");
            metrics.connected_connections = prom_get(&cs, "tickwire_connections");
        }
        prom_free(&cs);
    }
    in.res = &res;
    if (res.ever_connected + res.spec_ever_connected == 0) {
        in.reachable = 0;
        snprintf(err, sizeof err, "no bot got into a match (%u attempts failed)", res.failed);
        in.error = err;
    }
    report_print(stdout, &in);
    write_reports(&o, &in);
    verdict v;
    report_judge(&in, &v);

    prom_free(&start.set);
    prom_free(&ctx.end.set);
    prom_series_free(&metrics.series);
    swarm_result_free(&res);
    if (!res.ever_connected && !res.spec_ever_connected)
        return 1;
    return o.fail_on_miss && !v.pass ? EXIT_VERDICT_FAILED : 0;
}
