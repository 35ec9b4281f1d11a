/* tickwire-server: parses flags, loads the map, opens the results
 * database, serves until SIGINT or SIGTERM, then closes every client with
 * 1001, stores the rounds still queued (and finishes their replay files,
 * --replay-dir) and exits 0. `tickwire-server replay verify FILE` checks a
 * replay file instead (replay_verify.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "map.h"
#include "net.h"
#include "parse.h"
#include "recorder.h"
#include "replay_verify.h"
#include "results.h"
#include "tls.h"
#include "urls.h"

static net_server *g_server; /* for the signal handler only */

/* lws sizes its connection tables from the soft fd limit: raise it toward
 * the hard one (capped, the tables cost memory per slot). Returns the soft
 * limit in force, 0 when unknown. */
static long raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 0 : (long)rl.rlim_cur;
}

/* Descriptors the process needs besides its connections: stdio, the
 * listening socket, the event loop, the results database and its WAL, the
 * metrics scrape reserve, headroom. */
#define FD_OVERHEAD 64

/* --max-conns must fit under the fd limit: a connection that the kernel
 * queues but accept() cannot take (EMFILE) keeps the listening socket
 * readable, and the loop spins on it without ever answering. The caps
 * refuse in time when they are below the limit, so clamp them there. */
static void fit_conns_to_fd_limit(tw_config *cfg, long fd_limit)
{
    if (fd_limit <= 0 || cfg->max_conns <= fd_limit - FD_OVERHEAD)
        return;
    int fit = fd_limit > 2 * FD_OVERHEAD ? (int)(fd_limit - FD_OVERHEAD) : (int)(fd_limit / 2);
    log_event(LOG_WARN, "fd_limit",
              "max_conns=%d fd_limit=%ld using=%d reason=\"the open-file limit is below --max-conns; raise it "
              "(ulimit -n, LimitNOFILE=) to use more\"",
              cfg->max_conns, fd_limit, fit);
    cfg->max_conns = fit;
    if (cfg->max_conns_per_ip > fit)
        cfg->max_conns_per_ip = fit;
}

/* A start-up failure: one line in the chosen log format, exit status 1. */
static int start_failed(const char *what, const char *why)
{
    char q[512];
    log_event(LOG_ERROR, "start_failed", "what=%s reason=\"%s\"", what, log_quote(why, q, sizeof q));
    return 1;
}

/* The "serving" line (tests and scripts read its URL: keep its shape),
 * then, for --host 0.0.0.0 or ::, the other addresses, loopback last. */
static void print_urls(const tw_config *cfg, int port)
{
    urls u;
    urls_list(cfg->host, cfg->tls_cert != NULL, port, &u);
    printf("tickwire: serving %s (open it in a browser; Ctrl-C stops)\n", u.url[0]);
    for (int i = 1; i < u.n; i++)
        printf("tickwire: also at %s\n", u.url[i]);
    fflush(stdout);
}

static void on_signal(int sig)
{
    if (g_server)
        net_server_request_stop(g_server, sig);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "mint-token") == 0)
        return cli_mint_token(argc, argv);
    if (argc > 1 && strcmp(argv[1], "replay") == 0)
        return replay_verify_main(argc, argv);
    tw_config cfg;
    char err[256];
    int rc = cli_parse(argc, argv, &cfg, err, sizeof err);
    if (rc == CLI_HELP) {
        cli_usage(stdout, argv[0]);
        return 0;
    }
    if (rc != CLI_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        cli_usage(stderr, argv[0]);
        return 2;
    }
    log_set_level((log_level)cfg.log_level);
    log_set_format((log_format)cfg.log_format);
    if (cfg.seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        cfg.seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
    }

    if (cfg.tls_cert && tls_check_files(cfg.tls_cert, cfg.tls_key, err, sizeof err) < 0)
        return start_failed("tls", err);
    fit_conns_to_fd_limit(&cfg, raise_fd_limit());
    /* Under Agones the sidecar's REST port is in the environment. */
    const char *agones = getenv("AGONES_SDK_HTTP_PORT");
    if (agones && *agones && parse_int("AGONES_SDK_HTTP_PORT", agones, 1, 65535, &cfg.agones_port, err, sizeof err) < 0)
        return start_failed("agones", err);
    sim_map map;
    if (map_load(cfg.map_path, &map, err, sizeof err) < 0)
        return start_failed("map", err);
    results *res = results_open(cfg.results_db, err, sizeof err);
    if (!res)
        return start_failed("results-db", err);
    recorder *rec = NULL;
    if (cfg.replay_dir) {
        recorder_opts ro = {.dir = cfg.replay_dir, .keep = cfg.replay_keep};
        if (!(rec = recorder_open(&ro, err, sizeof err))) {
            results_close(res);
            return start_failed("replay-dir", err);
        }
    }
    net_server *s = net_server_create(&cfg, &map, res, rec, err, sizeof err);
    if (!s) {
        rc = start_failed("listen", err);
        recorder_close(rec);
        results_close(res);
        return rc;
    }
    g_server = s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char qdb[512];
    log_event(LOG_INFO, "start", "auth=%s tls=%s host=%s port=%d tick_rate=%d snapshot_rate=%d match_size=%d npcs=%d aoi_radius=%d map=%s results_db=\"%s\"",
              cfg.token_secret_file ? "tokens" : "demo", cfg.tls_cert ? "on" : "off", cfg.host, net_server_port(s), cfg.tick_rate, cfg.snapshot_rate, cfg.match_size,
              cfg.npcs, cfg.aoi_radius, cfg.map_path, log_quote(cfg.results_db, qdb, sizeof qdb));
    if (!urls_host_is_loopback(cfg.host) && !cfg.metrics_token_file && !cfg.n_metrics_allow)
        log_event(LOG_WARN, "metrics_open",
                  "host=%s reason=\"/metrics answers anyone who can reach this port: set --metrics-token-file or "
                  "--metrics-allow\"", cfg.host);
    print_urls(&cfg, net_server_port(s));

    net_server_run(s);
    g_server = NULL;
    net_server_destroy(s);
    recorder_close(rec); /* after the matches are gone: their last rounds are queued */
    results_close(res);
    return 0;
}
