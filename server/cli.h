/* cli: command-line flags of tickwire-server into a config struct.
 * Zero-initialised config plus cli_parse gives the documented defaults. */
#ifndef TW_CLI_H
#define TW_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_MAX_ORIGINS 16
#define CLI_MAX_METRICS_ALLOW 16

typedef struct tw_config {
    const char *host;
    int port;
    int tick_rate;
    int snapshot_rate;
    int match_size;
    int npcs;
    int log_level;         /* log_level */
    int log_format;        /* log_format */
    const char *web_root;
    const char *map_path;
    const char *tls_cert;  /* both set: https and wss on the same port */
    const char *tls_key;
    uint64_t seed;
    int max_conns;          /* TCP connections in all, game ones included */
    int max_conns_per_ip;   /* TCP connections from one address */
    int idle_timeout;       /* seconds without a message before a close */
    int no_pacing;          /* --pacing off: wake for every event, not at the tick */
    int no_ws_native;       /* --ws-native off: game connections stay on libwebsockets */
    int http_timeout;       /* seconds for a request header, or idle between keep-alive requests */
    int client_sndbuf;      /* SO_SNDBUF of a game connection, bytes */
    int resume_grace;       /* seconds a dropped player's slot is held */
    const char *token_secret_file; /* NULL: demo mode, the server mints guest tokens */
    int max_unlag_ms;       /* 0: no lag compensation */
    int aoi_radius;         /* interest management radius, world units; 0: off */
    int min_players;
    int match_time;         /* seconds */
    int score_limit;        /* 0: none */
    int intermission;       /* seconds */
    int spectator_rate;     /* Hz; 0: the core's default (10) */
    int spectator_delay;    /* seconds behind live */
    int max_spectators;
    const char *results_db; /* SQLite file for ended rounds; ":memory:" keeps none past the process */
    const char *replay_dir; /* NULL: rounds are not recorded */
    int replay_keep;        /* newest replay files kept; 0: all */
    int n_origins;
    const char *origins[CLI_MAX_ORIGINS]; /* --allow-origin, exact matches */
    const char *metrics_token_file; /* NULL: /metrics needs no token */
    const char *admin_token_file;   /* NULL: no POST /admin/drain */
    int drain_timeout;      /* seconds SIGTERM lets running rounds finish; 0: stop at once */
    int agones_port;        /* AGONES_SDK_HTTP_PORT (main reads it); 0: not under Agones */
    const char *redis_url;  /* --redis: join the fleet directory; NULL: alone */
    const char *public_url; /* --public-url: the URL players reach this process at */
    const char *process_id; /* --process-id: its name in the directory; NULL: hostname-pid */
    const char *matchmaker_token_file; /* POST /api/matchmake needs this bearer token; NULL: off */
    int matchmaker_only;    /* `tickwire-server matchmaker`: no matches here, not in the directory */
    int matchmaker_open;    /* --matchmaker-open: POST /api/matchmake without a bearer token */
    int no_websocket;       /* --no-websocket: every upgrade refused (403): the HTTP fallback only */
    int n_metrics_allow;
    const char *metrics_allow[CLI_MAX_METRICS_ALLOW]; /* --metrics-allow CIDR, checked by cli_parse */
} tw_config;

enum { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = -1 };

/* Fills cfg from argv. Returns CLI_OK, CLI_HELP (--help given) or CLI_ERROR
 * with the problem written to err. */
int cli_parse(int argc, char **argv, tw_config *cfg, char *err, size_t errlen);
void cli_usage(FILE *out, const char *prog);

/* `tickwire-server mint-token ...`: prints a join token. Returns the exit
 * status. */
int cli_mint_token(int argc, char **argv);

#endif
