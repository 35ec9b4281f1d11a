/* cli: see cli.h. Every flag takes its value as the next argument or after
 * '='; numbers are checked for range; unknown flags are errors. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "log.h"
#include "parse.h"
#include "scrape.h"
#include "secret.h"
#include "token.h"
#include "sim.h"

#ifndef TICKWIRE_DEFAULT_WEB_ROOT
#define TICKWIRE_DEFAULT_WEB_ROOT "build/www"
#endif
#ifndef TICKWIRE_DEFAULT_MAP
#define TICKWIRE_DEFAULT_MAP "assets/arena.map"
#endif

void cli_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [flags]\n"
            "       %s mint-token --secret-file FILE --player-id N --name NAME [--match M] [--ttl S]\n"
            "       %s matchmaker --redis URL --token-secret-file F (--matchmaker-token-file F |\n"
            "           --matchmaker-open) [flags]\n"
            "           (only POST /api/matchmake, /healthz, /readyz and /metrics: no matches)\n"
            "       %s replay verify FILE\n"
            "  --host ADDR          address to listen on (default 127.0.0.1; 0.0.0.0 for all)\n"
            "  --port N             TCP port for the page, the game and metrics (default 8080)\n"
            "  --tick-rate HZ       simulation ticks per second, 1..240 (default 60)\n"
            "  --snapshot-rate HZ   snapshots per second; must divide the tick rate (default 60)\n"
            "  --match-size N       players per match incl. computer players, 1..%d (default 64)\n"
            "  --npcs N             computer players added to each match, < match size (default 0)\n"
            "  --log-level LEVEL    error, warn, info or debug (default info)\n"
            "  --log-format FMT     json (one object per line, default) or text\n"
            "  --web-root DIR       folder served over HTTP (default %s)\n"
            "  --map FILE           arena map (default %s)\n"
            "  --tls-cert FILE      PEM certificate, or a chain with yours first (fullchain.pem):\n"
            "                       serve https and wss (needs --tls-key)\n"
            "  --tls-key FILE       PEM private key, unencrypted, one block (privkey.pem)\n"
            "  --allow-origin URL   browser origin allowed to open the game socket, repeatable;\n"
            "                       the page's own origin and localhost are always allowed\n"
            "  --metrics-token-file F  /metrics answers only requests with \"Authorization:\n"
            "                       Bearer TOKEN\", TOKEN the file's one line (16..255 printable\n"
            "                       characters); others get 401\n"
            "  --metrics-allow CIDR /metrics answers only these networks (403 for others),\n"
            "                       repeatable: 10.0.0.0/8, 192.0.2.7, ::1. They also keep 4\n"
            "                       connections in reserve past --max-conns for scrapes.\n"
            "                       Neither flag: /metrics is open (a warning at start-up\n"
            "                       when --host is not a loopback address)\n"
            "  --max-conns N        open TCP connections in all: game, page, /metrics, pending;\n"
            "                       past it a new one is closed at accept (default 4096)\n"
            "  --max-conns-per-ip N the same, from one address (default 1200: room for a\n"
            "                       1000-bot load test from one machine; lower it in production)\n"
            "  --idle-timeout S     close a game connection silent this long, 1..3600 (default 10)\n"
            "  --client-sndbuf B    kernel send buffer of each game connection, 4096..16777216\n"
            "                       bytes (default 65536); a reader that lets it fill and stay\n"
            "                       full for 2 s is dropped (4007)\n"
            "  --http-timeout S     close a connection that has not sent a whole request header\n"
            "                       S s after accept, or an HTTP keep-alive connection idle S s\n"
            "                       between requests, 1..300 (default 5)\n"
            "  --token-secret-file F  secret shared with your backend; joins then need a token\n"
            "                       it signed (see mint-token). Without it: demo mode, the\n"
            "                       server hands out guest tokens at POST /api/join\n"
            "  --resume-grace S     hold a dropped player's slot this long for a resume, 0..300\n"
            "                       (default 10; 0 = leave at once)\n"
            "  --max-unlag-ms MS    lag compensation: a shot is judged where the shooter saw\n"
            "                       the others, at most this far back, 0..1000 (default 250;\n"
            "                       0 = judged at the server's present)\n"
            "  --min-players N      a round starts once this many play, 1..128 (default 2)\n"
            "  --match-time S       length of a round, 10..86400 (default 300)\n"
            "  --score-limit N      kills that end a round early, 0..10000 (default 25; 0 = none)\n"
            "  --intermission S     results shown between rounds, 1..300 (default 10)\n"
            "  --spectator-rate HZ  snapshots per second to spectators; must divide the tick\n"
            "                       rate and be at most the snapshot rate (default 10)\n"
            "  --spectator-delay S  spectators watch S s behind live (anti-ghosting), 0..120\n"
            "                       (default 0)\n"
            "  --max-spectators N   spectator connections at once, 1..1000000 (default 10000);\n"
            "                       past it a spectator is closed with 4008\n"
            "  --results-db FILE    SQLite file the ended rounds are stored in (default\n"
            "                       tickwire.db in the working folder; :memory: keeps them\n"
            "                       only while the server runs); GET /api/matches lists them\n"
            "  --aoi-radius R       interest management: each client is sent only the players\n"
            "                       within R world units of it (and itself), 1..8192; clients\n"
            "                       in one grid cell of side R share an encode (default 0: off,\n"
            "                       everyone is sent everyone)\n"
            "  --drain-timeout S    on SIGTERM, stop taking players (GET /readyz: 503) and let\n"
            "                       running rounds finish for up to S s, 0..3600, then close\n"
            "                       everyone with 1001 and exit (default 30; 0 = at once;\n"
            "                       SIGINT and a second SIGTERM always stop at once)\n"
            "  --pacing on|off      on (default): while only game connections are open, sleep\n"
            "                       until the tick, then read every socket, tick and write in\n"
            "                       one go (~60 wakeups a second); off: wake for every message\n"
            "  --ws-native on|off   on (default): a plaintext game connection leaves libwebsockets\n"
            "                       once upgraded, for the server's own epoll set and framing;\n"
            "                       off: every connection stays on libwebsockets (TLS always does)\n"
            "  --redis URL          join a fleet: register this process and its matches in\n"
            "                       Redis (redis://HOST[:PORT][/DB]) with keys that expire\n"
            "                       5 s after its last heartbeat (default: off, alone)\n"
            "  --public-url URL     the URL players reach this process at, for the fleet\n"
            "                       (default: http(s)://HOST:PORT/ from --host and --port)\n"
            "  --process-id ID      its name in the fleet (default: hostname-pid)\n"
            "  --matchmaker-token-file F  with --redis and --token-secret-file: POST\n"
            "                       /api/matchmake (your backend asks for a seat in the fleet\n"
            "                       and a join token) answers requests with \"Authorization:\n"
            "                       Bearer TOKEN\", TOKEN the file's one line; off without it\n"
            "  --matchmaker-open    instead: POST /api/matchmake answers anyone, the demo page\n"
            "                       included (it then plays across the fleet); for demos and\n"
            "                       closed networks only: anyone may take seats\n"
            "  --no-websocket       refuse every WebSocket upgrade (403): players come over the\n"
            "                       HTTP fallback (/tw/..., docs/PROTOCOL.md section 18) only;\n"
            "                       to try it, as a proxy that blocks WebSocket would\n"
            "  --admin-token-file F POST /admin/drain with \"Authorization: Bearer TOKEN\" (the\n"
            "                       file's one line) drains as SIGTERM does; without it the\n"
            "                       endpoint is off\n"
            "  --replay-dir DIR     record every round into a replay file there (docs/REPLAY.md;\n"
            "                       check one with `tickwire-server replay verify FILE`)\n"
            "  --replay-keep N      keep only the newest N replay files, 0..1000000 (default 0: all)\n"
            "  --seed N             world seed for spawns and computer players (default: time)\n"
            "  --help               print this and exit\n",
            prog, prog, prog, prog, SIM_MAX_PLAYERS, TICKWIRE_DEFAULT_WEB_ROOT, TICKWIRE_DEFAULT_MAP);
}

int cli_parse(int argc, char **argv, tw_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->tick_rate = 60;
    cfg->snapshot_rate = 60;
    cfg->match_size = 64;
    cfg->log_level = LOG_INFO;
    cfg->web_root = TICKWIRE_DEFAULT_WEB_ROOT;
    cfg->map_path = TICKWIRE_DEFAULT_MAP;
    cfg->max_conns = 4096;
    cfg->max_conns_per_ip = 1200;
    cfg->idle_timeout = 10;
    cfg->http_timeout = 5;
    cfg->client_sndbuf = 64 * 1024;
    cfg->resume_grace = 10;
    cfg->max_unlag_ms = 250;
    cfg->min_players = 2;
    cfg->match_time = 300;
    cfg->score_limit = 25;
    cfg->intermission = 10;
    cfg->max_spectators = 10000;
    cfg->results_db = "tickwire.db";
    cfg->drain_timeout = 30;
    int seed_set = 0;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "matchmaker") == 0) {
        cfg->matchmaker_only = 1;
        first = 2;
    }

    for (int i = first; i < argc; i++) {
        char flag[64];
        const char *arg = argv[i], *val = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return CLI_HELP;
        if (strcmp(arg, "--matchmaker-open") == 0) { /* the flags without a value */
            cfg->matchmaker_open = 1;
            continue;
        }
        if (strcmp(arg, "--no-websocket") == 0) {
            cfg->no_websocket = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s'", arg);
            return CLI_ERROR;
        }
        const char *eq = strchr(arg, '=');
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (flen >= sizeof flag) {
            snprintf(err, errlen, "unknown flag '%s'", arg);
            return CLI_ERROR;
        }
        memcpy(flag, arg, flen);
        flag[flen] = '\0';
        static const char *const known[] = {"--host", "--port", "--tick-rate", "--snapshot-rate",
                                            "--match-size", "--npcs", "--log-level", "--log-format", "--web-root",
                                            "--map", "--seed", "--tls-cert", "--tls-key",
                                            "--allow-origin", "--max-conns", "--max-conns-per-ip",
                                            "--idle-timeout", "--http-timeout", "--token-secret-file", "--resume-grace",
                                            "--max-unlag-ms", "--min-players", "--match-time", "--score-limit",
                                            "--intermission", "--results-db", "--metrics-token-file",
                                            "--metrics-allow", "--client-sndbuf", "--drain-timeout",
                                            "--admin-token-file", "--redis", "--public-url", "--process-id",
                                            "--matchmaker-token-file", "--spectator-rate", "--spectator-delay",
                                            "--max-spectators", "--replay-dir", "--replay-keep", "--aoi-radius", "--pacing",
                                            "--ws-native"};
        int is_known = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            is_known |= strcmp(flag, known[k]) == 0;
        if (!is_known) {
            snprintf(err, errlen, "unknown flag '%s'", flag);
            return CLI_ERROR;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            snprintf(err, errlen, "%s needs a value", flag);
            return CLI_ERROR;
        }

        int rc = 0;
        if (strcmp(flag, "--host") == 0)
            cfg->host = val;
        else if (strcmp(flag, "--port") == 0)
            rc = parse_int(flag, val, 0, 65535, &cfg->port, err, errlen);
        else if (strcmp(flag, "--tick-rate") == 0)
            rc = parse_int(flag, val, 1, 240, &cfg->tick_rate, err, errlen);
        else if (strcmp(flag, "--snapshot-rate") == 0)
            rc = parse_int(flag, val, 1, 240, &cfg->snapshot_rate, err, errlen);
        else if (strcmp(flag, "--match-size") == 0)
            rc = parse_int(flag, val, 1, SIM_MAX_PLAYERS, &cfg->match_size, err, errlen);
        else if (strcmp(flag, "--npcs") == 0)
            rc = parse_int(flag, val, 0, SIM_MAX_PLAYERS - 1, &cfg->npcs, err, errlen);
        else if (strcmp(flag, "--web-root") == 0)
            cfg->web_root = val;
        else if (strcmp(flag, "--map") == 0)
            cfg->map_path = val;
        else if (strcmp(flag, "--max-conns") == 0)
            rc = parse_int(flag, val, 1, 1000000, &cfg->max_conns, err, errlen);
        else if (strcmp(flag, "--max-conns-per-ip") == 0)
            rc = parse_int(flag, val, 1, 1000000, &cfg->max_conns_per_ip, err, errlen);
        else if (strcmp(flag, "--resume-grace") == 0)
            rc = parse_int(flag, val, 0, 300, &cfg->resume_grace, err, errlen);
        else if (strcmp(flag, "--aoi-radius") == 0)
            rc = parse_int(flag, val, 0, 8192, &cfg->aoi_radius, err, errlen);
        else if (strcmp(flag, "--max-unlag-ms") == 0)
            rc = parse_int(flag, val, 0, 1000, &cfg->max_unlag_ms, err, errlen);
        else if (strcmp(flag, "--min-players") == 0)
            rc = parse_int(flag, val, 1, SIM_MAX_PLAYERS, &cfg->min_players, err, errlen);
        else if (strcmp(flag, "--match-time") == 0)
            rc = parse_int(flag, val, 10, 86400, &cfg->match_time, err, errlen);
        else if (strcmp(flag, "--score-limit") == 0)
            rc = parse_int(flag, val, 0, 10000, &cfg->score_limit, err, errlen);
        else if (strcmp(flag, "--intermission") == 0)
            rc = parse_int(flag, val, 1, 300, &cfg->intermission, err, errlen);
        else if (strcmp(flag, "--spectator-rate") == 0)
            rc = parse_int(flag, val, 1, 240, &cfg->spectator_rate, err, errlen);
        else if (strcmp(flag, "--spectator-delay") == 0)
            rc = parse_int(flag, val, 0, 120, &cfg->spectator_delay, err, errlen);
        else if (strcmp(flag, "--max-spectators") == 0)
            rc = parse_int(flag, val, 1, 1000000, &cfg->max_spectators, err, errlen);
        else if (strcmp(flag, "--token-secret-file") == 0)
            cfg->token_secret_file = val;
        else if (strcmp(flag, "--metrics-token-file") == 0)
            cfg->metrics_token_file = val;
        else if (strcmp(flag, "--admin-token-file") == 0)
            cfg->admin_token_file = val;
        else if (strcmp(flag, "--matchmaker-token-file") == 0)
            cfg->matchmaker_token_file = val;
        else if (strcmp(flag, "--redis") == 0) {
            char host[256];
            int port, db;
            if (fleet_parse_url(val, host, sizeof host, &port, &db) < 0) {
                snprintf(err, errlen, "--redis: '%s' is not redis://HOST[:PORT][/DB]", val);
                rc = -1;
            }
            cfg->redis_url = val;
        } else if (strcmp(flag, "--public-url") == 0) {
            if (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0) {
                snprintf(err, errlen, "--public-url: '%s' must start with http:// or https://", val);
                rc = -1;
            }
            cfg->public_url = val;
        } else if (strcmp(flag, "--process-id") == 0) {
            size_t n = strlen(val);
            int ok = n > 0 && n <= FLEET_MAX_ID;
            for (size_t k = 0; ok && k < n; k++)
                ok = val[k] > ' ' && val[k] <= '~' && val[k] != ':';
            if (!ok) {
                snprintf(err, errlen, "--process-id: '%s' must be 1..%d printable characters, no ':' or spaces", val,
                         FLEET_MAX_ID);
                rc = -1;
            }
            cfg->process_id = val;
        }
        else if (strcmp(flag, "--drain-timeout") == 0)
            rc = parse_int(flag, val, 0, 3600, &cfg->drain_timeout, err, errlen);
        else if (strcmp(flag, "--metrics-allow") == 0) {
            scrape_net net;
            if (cfg->n_metrics_allow == CLI_MAX_METRICS_ALLOW) {
                snprintf(err, errlen, "--metrics-allow: at most %d", CLI_MAX_METRICS_ALLOW);
                rc = -1;
            } else if (scrape_net_parse(val, &net) < 0) {
                snprintf(err, errlen, "--metrics-allow: '%s' is not an address or network like 10.0.0.0/8 or ::1", val);
                rc = -1;
            } else {
                cfg->metrics_allow[cfg->n_metrics_allow++] = val;
            }
        }
        else if (strcmp(flag, "--results-db") == 0) {
            cfg->results_db = val;
            if (!*val) {
                snprintf(err, errlen, "--results-db: give a file (or :memory:)");
                rc = -1;
            }
        }
        else if (strcmp(flag, "--pacing") == 0) {
            if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0) {
                snprintf(err, errlen, "--pacing: on or off, not '%s'", val);
                rc = -1;
            }
            cfg->no_pacing = strcmp(val, "off") == 0;
        } else if (strcmp(flag, "--ws-native") == 0) {
            if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0) {
                snprintf(err, errlen, "--ws-native: on or off, not '%s'", val);
                rc = -1;
            }
            cfg->no_ws_native = strcmp(val, "off") == 0;
        } else if (strcmp(flag, "--replay-dir") == 0) {
            cfg->replay_dir = val;
            if (!*val) {
                snprintf(err, errlen, "--replay-dir: give a folder");
                rc = -1;
            }
        } else if (strcmp(flag, "--replay-keep") == 0)
            rc = parse_int(flag, val, 0, 1000000, &cfg->replay_keep, err, errlen);
        else if (strcmp(flag, "--idle-timeout") == 0)
            rc = parse_int(flag, val, 1, 3600, &cfg->idle_timeout, err, errlen);
        else if (strcmp(flag, "--http-timeout") == 0)
            rc = parse_int(flag, val, 1, 300, &cfg->http_timeout, err, errlen);
        else if (strcmp(flag, "--client-sndbuf") == 0)
            rc = parse_int(flag, val, 4096, 16 * 1024 * 1024, &cfg->client_sndbuf, err, errlen);
        else if (strcmp(flag, "--allow-origin") == 0) {
            if (cfg->n_origins == CLI_MAX_ORIGINS) {
                snprintf(err, errlen, "--allow-origin: at most %d", CLI_MAX_ORIGINS);
                rc = -1;
            } else if (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0) {
                snprintf(err, errlen, "--allow-origin: '%s' is not an origin like https://game.example.com", val);
                rc = -1;
            } else {
                cfg->origins[cfg->n_origins++] = val;
            }
        } else if (strcmp(flag, "--tls-cert") == 0)
            cfg->tls_cert = val;
        else if (strcmp(flag, "--tls-key") == 0)
            cfg->tls_key = val;
        else if (strcmp(flag, "--log-level") == 0) {
            cfg->log_level = log_level_parse(val);
            if (cfg->log_level < 0) {
                snprintf(err, errlen, "--log-level: '%s' is not one of error, warn, info, debug", val);
                rc = -1;
            }
        } else if (strcmp(flag, "--log-format") == 0) {
            cfg->log_format = log_format_parse(val);
            if (cfg->log_format < 0) {
                snprintf(err, errlen, "--log-format: '%s' is not json or text", val);
                rc = -1;
            }
        } else if (strcmp(flag, "--seed") == 0) {
            char *end;
            errno = 0;
            cfg->seed = strtoull(val, &end, 0);
            if (errno || end == val || *end != '\0' || val[0] == '-') {
                snprintf(err, errlen, "--seed: '%s' is not an unsigned number", val);
                rc = -1;
            }
            seed_set = 1;
        }
        if (rc)
            return CLI_ERROR;
    }
    if (cfg->tick_rate % cfg->snapshot_rate != 0) {
        snprintf(err, errlen, "--snapshot-rate %d must divide --tick-rate %d", cfg->snapshot_rate,
                 cfg->tick_rate);
        return CLI_ERROR;
    }
    if (cfg->spectator_rate &&
        (cfg->tick_rate % cfg->spectator_rate != 0 || cfg->spectator_rate > cfg->snapshot_rate)) {
        snprintf(err, errlen, "--spectator-rate %d must divide --tick-rate %d and be at most --snapshot-rate %d",
                 cfg->spectator_rate, cfg->tick_rate, cfg->snapshot_rate);
        return CLI_ERROR;
    }
    if (cfg->npcs >= cfg->match_size) {
        snprintf(err, errlen, "--npcs %d leaves no room for people in --match-size %d", cfg->npcs,
                 cfg->match_size);
        return CLI_ERROR;
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return CLI_ERROR;
    }
    if ((cfg->matchmaker_token_file || cfg->matchmaker_open) && (!cfg->redis_url || !cfg->token_secret_file)) {
        snprintf(err, errlen, "%s needs --redis (the fleet) and --token-secret-file (its secret)",
                 cfg->matchmaker_open ? "--matchmaker-open" : "--matchmaker-token-file");
        return CLI_ERROR;
    }
    if (cfg->matchmaker_token_file && cfg->matchmaker_open) {
        snprintf(err, errlen, "--matchmaker-open and --matchmaker-token-file: one or the other");
        return CLI_ERROR;
    }
    if (cfg->matchmaker_only && !cfg->matchmaker_token_file && !cfg->matchmaker_open) {
        snprintf(err, errlen, "matchmaker needs --redis, --token-secret-file and --matchmaker-token-file (or "
                              "--matchmaker-open)");
        return CLI_ERROR;
    }
    if (cfg->replay_keep && !cfg->replay_dir) {
        snprintf(err, errlen, "--replay-keep needs --replay-dir");
        return CLI_ERROR;
    }
    if (!seed_set)
        cfg->seed = 0; /* main picks one from the clock */
    return CLI_OK;
}

static void mint_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s mint-token --secret-file FILE --player-id N --name NAME [--match M] [--ttl S]\n"
            "  prints a join token signed with the secret (HMAC-SHA256), valid for --ttl seconds\n"
            "  (1..3600, default 300); --match puts the player in matches labelled M\n",
            prog);
}

int cli_mint_token(int argc, char **argv)
{
    const char *secret_path = NULL, *name = NULL, *matchname = "", *id_s = NULL;
    int ttl = 300;
    char err[256];
    for (int i = 2; i < argc; i++) {
        const char *flag = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(flag, "--help") == 0) {
            mint_usage(stdout, argv[0]);
            return 0;
        }
        if (!val) {
            fprintf(stderr, "%s mint-token: %s needs a value\n", argv[0], flag);
            mint_usage(stderr, argv[0]);
            return 2;
        }
        i++;
        if (strcmp(flag, "--secret-file") == 0)
            secret_path = val;
        else if (strcmp(flag, "--player-id") == 0)
            id_s = val;
        else if (strcmp(flag, "--name") == 0)
            name = val;
        else if (strcmp(flag, "--match") == 0)
            matchname = val;
        else if (strcmp(flag, "--ttl") == 0) {
            if (parse_int(flag, val, 1, 3600, &ttl, err, sizeof err)) {
                fprintf(stderr, "%s mint-token: %s\n", argv[0], err);
                mint_usage(stderr, argv[0]);
                return 2;
            }
        } else {
            fprintf(stderr, "%s mint-token: unknown flag '%s'\n", argv[0], flag);
            mint_usage(stderr, argv[0]);
            return 2;
        }
    }
    if (!secret_path || !name || !id_s) {
        fprintf(stderr, "%s mint-token: --secret-file, --player-id and --name are required\n", argv[0]);
        mint_usage(stderr, argv[0]);
        return 2;
    }
    char *end;
    errno = 0;
    unsigned long long id = strtoull(id_s, &end, 10);
    if (errno || *end || end == id_s || id_s[0] == '-') {
        fprintf(stderr, "%s mint-token: --player-id: '%s' is not an unsigned number\n", argv[0], id_s);
        return 2;
    }
    uint8_t secret[4096];
    int slen = secret_read(secret_path, secret, sizeof secret, err, sizeof err);
    if (slen < 0) {
        fprintf(stderr, "%s mint-token: %s\n", argv[0], err);
        return 1;
    }
    token_claims c;
    memset(&c, 0, sizeof c);
    c.player_id = id;
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.match, sizeof c.match, "%s", matchname);
    c.expiry = (uint64_t)time(NULL) + (uint64_t)ttl;
    FILE *ur = fopen("/dev/urandom", "rb");
    if (!ur || fread(c.nonce, 1, sizeof c.nonce, ur) != sizeof c.nonce) {
        fprintf(stderr, "%s mint-token: cannot read /dev/urandom\n", argv[0]);
        if (ur)
            fclose(ur);
        return 1;
    }
    fclose(ur);
    char out[TOKEN_MAX_B64 + 1];
    if (!token_mint(&c, secret, (size_t)slen, out, sizeof out) || strlen(name) > TOKEN_MAX_NAME ||
        strlen(matchname) > TOKEN_MAX_MATCH) {
        fprintf(stderr, "%s mint-token: --name must be 1..%d printable characters, --match 0..%d\n", argv[0],
                TOKEN_MAX_NAME, TOKEN_MAX_MATCH);
        return 2;
    }
    printf("%s\n", out);
    return 0;
}
