/* opts: see opts.h. */
#include "opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"

#define MAX_BOTS 20000
#define MAX_LATENCY_MS 1000
#define MAX_READ_EVERY_MS 50
#define MAX_JITTER_MS 500

void opts_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [flags]\n"
            "Drives N headless bots (the browser's netcode: prediction and reconciliation)\n"
            "against a tickwire server from one process, then reports what they saw.\n"
            "  --url URL          ws:// or wss://HOST:PORT[/PATH], or the http:// or https:// URL\n"
            "                     the server prints (same host, port, path); HOST a name (looked\n"
            "                     up once at start) or an address (default ws://127.0.0.1:8080)\n"
            "  --bots N           bots to run, 0..%d (default 10; 0 needs --spectators)\n"
            "  --spectators N     spectator connections next to the bots, 0..%d (default 0):\n"
            "                     each joins in spectate mode, sends nothing and decodes every\n"
            "                     snapshot; connected over the ramp after the bots\n"
            "  --spectate ID|any  the match the spectators watch (default any: the server picks\n"
            "                     the match of their token's label with the most players)\n"
            "  --duration S       length of the whole run in seconds, ramp included (default 10)\n"
            "  --ramp S           spread the connects over S seconds, < duration (default 1)\n"
            "  --behavior B       wander (reference workload), idle, circle, chaos or fight (aims at\n"
            "                     the nearest opponent in sight as the bot draws it, and shoots)\n"
            "                     (default wander)\n"
            "  --input-rate HZ    input messages per second per bot; inputs are made one per tick\n"
            "                     and batched (default: the tick rate from WELCOME)\n"
            "  --chaos-prob P     chaos: chance per bot per second of a drop, 0..1 (default 0.1)\n"
            "  --chaos-drop K,..  chaos: how connections are dropped, each drop one kind of the\n"
            "                     list: close (close frame 4000), reset (no close frame),\n"
            "                     takeover (resume on a new connection while the old one is\n"
            "                     open), leave (close 1000: the player leaves and comes back as\n"
            "                     a new one); mix = all four (default mix)\n"
            "  --backoff-base-ms MS  chaos: reconnect backoff, full jitter: attempt k waits\n"
            "                     random(0, min(max, base * 2^k)) (default 250)\n"
            "  --backoff-max-ms MS   cap of that wait (default 4000)\n"
            "  --token-secret-file F  mint each bot's join token with the server's secret\n"
            "                     (default: ask the demo server, POST /api/join?name=bot-N)\n"
            "  --matchmaker-token-file F  a fleet: the URL is a matchmaker (any fleet process\n"
            "                     or tickwire-server matchmaker); each bot asks POST\n"
            "                     /api/matchmake with this bearer token, plays where it is\n"
            "                     sent, and goes back to it when its process is gone\n"
            "  --ca FILE          wss: trust this CA or self-signed certificate (PEM) (default:\n"
            "                     the system's trust store, /etc/ssl/certs/ca-certificates.crt)\n"
            "  --insecure         wss: accept any certificate (self-signed, other name)\n"
            "  --max-connecting N connection attempts in flight at once, token fetch to WELCOME\n"
            "                     (default 64, 16 over wss: TLS handshakes are costly)\n"
            "  --phases N         spread the bots' ticks over N evenly spaced slots of the tick, 1..64\n"
            "                     (default 8, fewer when a slot would be under 1 ms; 1 = all bots tick\n"
            "                     together, at one arbitrary phase of the server's tick, which the\n"
            "                     RTT figures then mostly measure)\n"
            "  --read-every MS    0..%d: read the sockets every MS ms, all at once, instead of as\n"
            "                     each message arrives (default 0); for spectators only: spares\n"
            "                     a server on the same machine a wakeup of this process per\n"
            "                     message (10,000 spectators: 93%% -> 78%% of a core), but the\n"
            "                     bursts of reads land on the server's ticks more often\n"
            "  --input-timing on|off  on (default): each bot sends its input when it reaches\n"
            "                     the server just before the tick that applies it (the client's\n"
            "                     cl_plan_send, from the snapshots' arrival times); off: at its\n"
            "                     slot's fixed, arbitrary phase of the server's tick\n"
            "  --latency-ms N     add N ms of delay to every WebSocket message, each way, in the\n"
            "                     bots' process, 0..%d (default 0): 75 gives 150 ms RTT on loopback\n"
            "  --jitter-ms J      plus a uniform random 0..J ms per message, 0..%d (default 0);\n"
            "                     messages keep their order, as over TCP\n"
            "  --transport T      ws (default), http (the HTTP fallback: POST /tw/session, a streamed\n"
            "                     GET /tw/stream, POST /tw/input; docs/PROTOCOL.md section 18) or auto\n"
            "                     (WebSocket first; a bot whose upgrade fails or gets no WELCOME in\n"
            "                     3 s goes on over HTTP). http and auto: plain http:// only\n"
            "  --report FILE      write the report as JSON\n"
            "  --html FILE        write the report as a self-contained HTML page with charts\n"
            "  --seed N           seed for the bots' choices and the delay jitter (default: time)\n"
            "  --target NAME=V    the verdict's target for one figure (repeatable; V or off):\n",
            prog, MAX_BOTS, MAX_BOTS, MAX_READ_EVERY_MS, MAX_LATENCY_MS, MAX_JITTER_MS);
    verdict_usage(out);
    fprintf(out,
            "  --fail-on-miss     exit 3 when the verdict fails (a target missed)\n"
            "  --help             print this and exit\n"
            "Exit status: 0 the run completed (with --fail-on-miss: and met every target;\n"
            "otherwise failures are only in the report), 1 the server could not be reached\n"
            "at all, 2 bad flags, 3 with --fail-on-miss: the verdict failed.\n");
}

static const char *const DROP_NAMES[DROP_KINDS] = {"close", "reset", "takeover", "leave"};

int drop_kinds_parse(const char *list, unsigned *out)
{
    if (strcmp(list, "mix") == 0) {
        *out = DROP_ALL;
        return 0;
    }
    unsigned set = 0;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (k < DROP_KINDS && !(strlen(DROP_NAMES[k]) == n && strncmp(p, DROP_NAMES[k], n) == 0))
            k++;
        if (k == DROP_KINDS)
            return -1;
        set |= 1u << k;
        if (!p[n])
            break;
        p += n + 1;
    }
    *out = set;
    return 0;
}

const char *drop_kind_name(drop_kind k)
{
    return (int)k >= 0 && (int)k < DROP_KINDS ? DROP_NAMES[k] : "?";
}

void drop_kinds_format(unsigned set, char *out, size_t cap)
{
    if (set == DROP_ALL) {
        snprintf(out, cap, "mix");
        return;
    }
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < DROP_KINDS; k++)
        if (set & (1u << k) && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", DROP_NAMES[k]);
}

/* The scheme: ws and http are plain, wss and https TLS (the page URL the
 * server prints works as is). Returns the length of "scheme://", 0 for
 * none of them. */
static size_t url_scheme(const char *url, int *tls)
{
    static const struct {
        const char *prefix;
        int tls;
    } SCHEMES[] = {{"ws://", 0}, {"wss://", 1}, {"http://", 0}, {"https://", 1}};
    for (size_t i = 0; i < sizeof SCHEMES / sizeof SCHEMES[0]; i++)
        if (strncasecmp(url, SCHEMES[i].prefix, strlen(SCHEMES[i].prefix)) == 0) {
            *tls = SCHEMES[i].tls;
            return strlen(SCHEMES[i].prefix);
        }
    return 0;
}

int opts_split_url(const char *url, bots_opts *o, char *err, size_t errlen)
{
    int tls = 0;
    size_t sl = url_scheme(url, &tls);
    if (!sl) {
        snprintf(err, errlen, "--url: '%s' must start with ws://, wss://, http:// or https://", url);
        return -1;
    }
    const char *p = url + sl;
    char host[sizeof o->name];
    size_t hl;
    int v6 = 0;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close) {
            snprintf(err, errlen, "--url: '%s': missing ']' after the IPv6 address", url);
            return -1;
        }
        hl = (size_t)(close - p - 1);
        if (hl == 0 || hl >= sizeof o->host) {
            snprintf(err, errlen, "--url: '%s': bad IPv6 address", url);
            return -1;
        }
        memcpy(host, p + 1, hl);
        p = close + 1;
        v6 = 1;
    } else {
        hl = strcspn(p, ":/?#");
        if (hl == 0 || hl >= sizeof host) {
            snprintf(err, errlen, "--url: '%s' has %s host", url, hl ? "too long a" : "no");
            return -1;
        }
        memcpy(host, p, hl);
        p += hl;
    }
    host[hl] = '\0';
    unsigned char addr[16];
    if (v6 && inet_pton(AF_INET6, host, addr) != 1) {
        snprintf(err, errlen, "--url: '%s': bad IPv6 address", url);
        return -1;
    }
    long port = tls ? 443 : 80;
    if (*p == ':') {
        p++;
        size_t pl = strcspn(p, "/");
        char num[8];
        if (pl == 0 || pl >= sizeof num) {
            snprintf(err, errlen, "--url: '%s': bad port", url);
            return -1;
        }
        memcpy(num, p, pl);
        num[pl] = '\0';
        if (parse_long("--url port", num, 1, 65535, &port, err, errlen))
            return -1;
        p += pl;
    }
    if (*p && *p != '/') {
        snprintf(err, errlen, "--url: '%s': unexpected '%c' after the host", url, *p);
        return -1;
    }
    if (strlen(*p ? p : "/") >= sizeof o->path) {
        snprintf(err, errlen, "--url: path too long");
        return -1;
    }
    /* The name as given goes into the Host header (and SNI). */
    snprintf(o->name, sizeof o->name, "%s", host);
    o->host[0] = '\0';
    if ((v6 || inet_pton(AF_INET, host, addr) == 1) && hl < sizeof o->host)
        memcpy(o->host, host, hl + 1); /* numeric: shorter than INET6_ADDRSTRLEN */
    snprintf(o->path, sizeof o->path, "%s", *p ? p : "/");
    if (v6)
        snprintf(o->host_header, sizeof o->host_header, "[%s]:%ld", host, port);
    else
        snprintf(o->host_header, sizeof o->host_header, "%s:%ld", host, port);
    o->port = (int)port;
    o->tls = tls;
    o->url = url;
    return 0;
}

int opts_resolve(bots_opts *o, char *err, size_t errlen)
{
    if (o->host[0])
        return 0; /* numeric */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(o->name, NULL, &hints, &res);
    if (rc) {
        if (strcasecmp(o->name, "localhost") == 0) {
            snprintf(o->host, sizeof o->host, "127.0.0.1");
            return 0;
        }
        snprintf(err, errlen, "--url: host '%s' does not resolve: %s", o->name, gai_strerror(rc));
        return -1;
    }
    /* IPv4 first: a server on 0.0.0.0 (or 127.0.0.1 for localhost) takes
     * no IPv6 connection. */
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *a = res; a && !pick; a = a->ai_next)
        if (a->ai_family == AF_INET)
            pick = a;
    for (const struct addrinfo *a = res; a && !pick; a = a->ai_next)
        if (a->ai_family == AF_INET6)
            pick = a;
    if (pick && pick->ai_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)pick->ai_addr)->sin_addr, o->host, sizeof o->host);
    else if (pick)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, o->host, sizeof o->host);
    freeaddrinfo(res);
    if (!pick) {
        snprintf(err, errlen, "--url: host '%s' has no IPv4 or IPv6 address", o->name);
        return -1;
    }
    return 0;
}

int opts_parse_url(const char *url, bots_opts *o, char *err, size_t errlen)
{
    return opts_split_url(url, o, err, errlen) || opts_resolve(o, err, errlen) ? -1 : 0;
}

const char *opts_system_ca(void)
{
    static const char *const BUNDLES[] = {
        "/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Alpine */
        "/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL */
        "/etc/ssl/cert.pem",                  /* macOS, BSDs, Alpine */
    };
    for (size_t i = 0; i < sizeof BUNDLES / sizeof BUNDLES[0]; i++)
        if (access(BUNDLES[i], R_OK) == 0)
            return BUNDLES[i];
    return NULL;
}

static const char *const KNOWN[] = {"--url",          "--bots",          "--duration",
                                    "--ramp",         "--behavior",      "--input-rate",
                                    "--chaos-prob",   "--report",        "--html",
                                    "--seed",         "--phases",        "--chaos-drop",
                                    "--backoff-base-ms", "--backoff-max-ms", "--token-secret-file",
                                    "--ca",           "--max-connecting", "--insecure",
                                    "--latency-ms",   "--jitter-ms",     "--spectators",
                                    "--spectate",     "--matchmaker-token-file", "--transport",
                                    "--input-timing", "--read-every"};
/* Flags that take no value. */
#define FLAG_INSECURE 17

/* Splits "--flag=value" / "--flag value". Returns the flag's index in
 * KNOWN, or -1 with err set. */
static int next_flag(int argc, char **argv, int *i, const char **val, char *err, size_t errlen)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0) {
        snprintf(err, errlen, "unexpected argument '%s'", arg);
        return -1;
    }
    const char *eq = strchr(arg, '=');
    size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
    int k = -1;
    for (size_t j = 0; j < sizeof KNOWN / sizeof KNOWN[0]; j++)
        if (strlen(KNOWN[j]) == flen && strncmp(arg, KNOWN[j], flen) == 0)
            k = (int)j;
    if (k < 0) {
        snprintf(err, errlen, "unknown flag '%.*s'", (int)flen, arg);
        return -1;
    }
    if (k == FLAG_INSECURE) {
        if (eq) {
            snprintf(err, errlen, "%s takes no value", KNOWN[k]);
            return -1;
        }
        *val = "";
        return k;
    }
    if (eq) {
        *val = eq + 1;
    } else if (*i + 1 < argc) {
        *val = argv[++*i];
    } else {
        snprintf(err, errlen, "%s needs a value", KNOWN[k]);
        return -1;
    }
    return k;
}

int opts_parse(int argc, char **argv, bots_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->bots = 10;
    o->duration_s = 10;
    o->ramp_s = 1;
    o->behavior = BEHAVIOR_WANDER;
    o->chaos_prob = 0.1;
    o->phases = 8;
    o->input_timing = 1;
    o->backoff_base_ms = 250;
    o->backoff_max_ms = 4000;
    o->chaos_drops = DROP_ALL;
    o->spectate_match = 0xffff;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* 32 bits: the report carries it as a JSON number, exact in any reader */
    o->seed = ((uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec) & 0xffffffffu;
    const char *url = "ws://127.0.0.1:8080";
    int ramp_set = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return OPTS_HELP;
        if (strcmp(argv[i], "--fail-on-miss") == 0) {
            o->fail_on_miss = 1;
            continue;
        }
        if (strncmp(argv[i], "--target", 8) == 0 && (argv[i][8] == '=' || argv[i][8] == '\0')) {
            const char *t = argv[i][8] == '=' ? argv[i] + 9 : i + 1 < argc ? argv[++i] : NULL;
            if (!t) {
                snprintf(err, errlen, "--target needs a value");
                return OPTS_ERROR;
            }
            if (verdict_target_parse(&o->targets, t, err, errlen))
                return OPTS_ERROR;
            continue;
        }
        const char *v = NULL;
        int k = next_flag(argc, argv, &i, &v, err, errlen);
        if (k < 0)
            return OPTS_ERROR;
        const char *flag = KNOWN[k];
        int rc = 0;
        switch (k) {
        case 0:
            url = v;
            break;
        case 1:
            rc = parse_int(flag, v, 0, MAX_BOTS, &o->bots, err, errlen);
            break;
        case 2:
            rc = parse_double(flag, v, 0.1, 86400, &o->duration_s, err, errlen);
            break;
        case 3:
            rc = parse_double(flag, v, 0, 86400, &o->ramp_s, err, errlen);
            ramp_set = 1;
            break;
        case 4:
            if (behavior_parse(v, &o->behavior)) {
                snprintf(err, errlen, "--behavior: '%s' is not one of wander, idle, circle, chaos, fight", v);
                rc = -1;
            }
            break;
        case 5:
            rc = parse_int(flag, v, 1, 1000, &o->input_rate, err, errlen);
            break;
        case 6:
            rc = parse_double(flag, v, 0, 1, &o->chaos_prob, err, errlen);
            break;
        case 7:
            o->report_path = v;
            break;
        case 8:
            o->html_path = v;
            break;
        case 9: {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 0);
            if (errno || end == v || *end != '\0' || v[0] == '-') {
                snprintf(err, errlen, "--seed: '%s' is not an unsigned number", v);
                rc = -1;
            }
            break;
        }
        case 10:
            rc = parse_int(flag, v, 1, 64, &o->phases, err, errlen);
            break;
        case 11:
            if (drop_kinds_parse(v, &o->chaos_drops)) {
                snprintf(err, errlen, "--chaos-drop: '%s' is not mix or a list of close, reset, takeover, leave", v);
                rc = -1;
            }
            break;
        case 12:
            rc = parse_int(flag, v, 1, 60000, &o->backoff_base_ms, err, errlen);
            break;
        case 13:
            rc = parse_int(flag, v, 1, 600000, &o->backoff_max_ms, err, errlen);
            break;
        case 14:
            o->token_secret_file = v;
            break;
        case 15:
            o->ca_path = v;
            break;
        case 16:
            rc = parse_int(flag, v, 1, MAX_BOTS, &o->max_connecting, err, errlen);
            break;
        case FLAG_INSECURE:
            o->insecure = 1;
            break;
        case 18:
            rc = parse_int(flag, v, 0, MAX_LATENCY_MS, &o->latency_ms, err, errlen);
            break;
        case 19:
            rc = parse_int(flag, v, 0, MAX_JITTER_MS, &o->jitter_ms, err, errlen);
            break;
        case 20:
            rc = parse_int(flag, v, 0, MAX_BOTS, &o->spectators, err, errlen);
            break;
        case 21:
            if (strcmp(v, "any") == 0)
                o->spectate_match = 0xffff;
            else
                rc = parse_int(flag, v, 1, 0xfffe, &o->spectate_match, err, errlen);
            break;
        case 22:
            o->matchmaker_token_file = v;
            break;
        case 23:
            if (strcmp(v, "ws") == 0)
                o->transport = 0;
            else if (strcmp(v, "http") == 0)
                o->transport = 1;
            else if (strcmp(v, "auto") == 0)
                o->transport = 2;
            else {
                snprintf(err, errlen, "--transport: '%s' is not one of ws, http, auto", v);
                rc = -1;
            }
            break;
        case 24:
            if (strcmp(v, "on") == 0) {
                o->input_timing = 1;
            } else if (strcmp(v, "off") == 0) {
                o->input_timing = 0;
            } else {
                snprintf(err, errlen, "--input-timing: '%s' is not on or off", v);
                rc = -1;
            }
            break;
        case 25:
            rc = parse_int(flag, v, 0, MAX_READ_EVERY_MS, &o->read_every_ms, err, errlen);
            break;
        default:
            break;
        }
        if (rc)
            return OPTS_ERROR;
    }
    if (o->bots + o->spectators == 0) {
        snprintf(err, errlen, "--bots 0 needs --spectators: nothing to run");
        return OPTS_ERROR;
    }
    if (o->bots + o->spectators > MAX_BOTS) {
        snprintf(err, errlen, "--bots %d + --spectators %d: at most %d connections", o->bots, o->spectators, MAX_BOTS);
        return OPTS_ERROR;
    }
    if (opts_parse_url(url, o, err, errlen))
        return OPTS_ERROR;
    if (!ramp_set && o->ramp_s >= o->duration_s)
        o->ramp_s = o->duration_s / 2;
    if (o->ramp_s >= o->duration_s) {
        snprintf(err, errlen, "--ramp %g must be shorter than --duration %g (the ramp is part of the run)",
                 o->ramp_s, o->duration_s);
        return OPTS_ERROR;
    }
    if (o->transport && (o->tls || o->latency_ms || o->jitter_ms || o->behavior == BEHAVIOR_CHAOS ||
                         o->spectators || o->matchmaker_token_file)) {
        snprintf(err, errlen, "--transport %s: the bots' HTTP fallback speaks plain http:// only, without "
                 "--latency-ms, --jitter-ms, chaos, spectators or a matchmaker", o->transport == 1 ? "http" : "auto");
        return OPTS_ERROR;
    }
    if ((o->ca_path || o->insecure) && !o->tls) {
        snprintf(err, errlen, "%s needs a wss:// URL", o->ca_path ? "--ca" : "--insecure");
        return OPTS_ERROR;
    }
    if (o->backoff_max_ms < o->backoff_base_ms) {
        snprintf(err, errlen, "--backoff-max-ms %d is below --backoff-base-ms %d", o->backoff_max_ms,
                 o->backoff_base_ms);
        return OPTS_ERROR;
    }
    if (o->tls && !o->ca_path && !o->insecure && !(o->ca_path = opts_system_ca())) {
        snprintf(err, errlen, "wss: no system trust store found (ca-certificates): give --ca FILE, or --insecure");
        return OPTS_ERROR;
    }
    if (!o->max_connecting)
        o->max_connecting = o->tls ? 16 : 64;
    return OPTS_OK;
}

int opts_read_every_ms(const bots_opts *o)
{
    return o->read_every_ms;
}
