/* net: see net.h. The libwebsockets adapter of the core: it turns lws
 * callbacks into core events (open, bytes, peer close, writable, closed),
 * carries out the core's actions (wake, close with a code, abort), serves
 * the page and the HTTP side doors (http.c) and runs the tick clock
 * (tick_clock.c). No session rule lives here. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "core.h"
#include "http.h"
#include "log.h"
#include "proto.h"
#include "secret.h"
#include "tick_clock.h"
#include "tls.h"

#define CLOSE_GRACE_SECONDS 2     /* to get a close frame out before cutting off */
#define SHUTDOWN_GRACE_US (1500 * 1000)
/* Kernel send buffer per client: seconds of snapshots, not megabytes, so a
 * client that stops reading is noticed and its memory stays bounded. */
#define NET_SCRAPE_RESERVE 4      /* connections past the caps for --metrics-allow addresses */

/* Per game connection (lws per-session data). */
typedef struct game_conn {
    uint32_t conn;          /* the core's handle, 0: none */
    uint16_t close_code;    /* a CLOSE action waiting for WRITEABLE */
    const char *close_why;
} game_conn;

struct net_server {
    core *core;
    results *results;       /* not owned: main opens and closes it */
    struct lws_context *ctx;
    tick_clock *clock;
    volatile sig_atomic_t stop;
    int port;
    int tls;
    int http_timeout;
    int client_sndbuf;      /* SO_SNDBUF of a game connection */
    uint32_t accepted;      /* the connection being accepted: its core handle, until lws instantiates it */
    scrape_rules scrape;    /* who may read /metrics */
    const char *tls_cert, *tls_key; /* loaded at LOAD_EXTRA_SERVER_VERIFY_CERTS (tls.h) */
    uint8_t secret[SECRET_MAX];
    struct lws_protocol_vhost_options mime_wasm, mime_mjs;
    struct lws_http_mount mount, metrics_mount, api_mount;
    lws_retry_bo_t keepalive;
    struct lws_protocols protocols[4];
    uint8_t scratch[LWS_PRE + CORE_MAX_MESSAGE];
};

core *net_core_of(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->core;
}

results *net_results_of(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->results;
}

const scrape_rules *net_scrape_rules(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return &s->scrape;
}

int net_http_timeout(struct lws *wsi)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    return s->http_timeout;
}

static void random_bytes(void *user, void *buf, size_t len)
{
    (void)user;
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n <= 0)
            continue; /* EINTR; the kernel's pool never runs dry after boot */
        p += n;
        len -= (size_t)n;
    }
}

/* Carries out what the core asked for. Called after every core call. */
static void flush_actions(net_server *s)
{
    core_action a;
    while (core_next_action(s->core, &a)) {
        struct lws *wsi = a.transport;
        game_conn *gc = lws_wsi_user(wsi);
        switch (a.kind) {
        case CORE_WAKE:
            lws_callback_on_writable(wsi);
            break;
        case CORE_CLOSE:
            /* From WRITEABLE (closing from RECEIVE while more frames sit in
             * the same read loses the close frame). A peer that does not
             * read may never get one: cut off after the grace. */
            gc->close_code = a.code;
            gc->close_why = a.reason;
            lws_callback_on_writable(wsi);
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, CLOSE_GRACE_SECONDS);
            break;
        case CORE_ABORT:
            /* WRITEABLE will not come while choked: close without it. */
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
            break;
        }
    }
}

/* "address:port" of the peer, for logs. */
static void peer_name(struct lws *wsi, char *out, size_t outlen)
{
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char addr[48] = "?";
    unsigned port = 0;
    int fd = lws_get_socket_fd(wsi);
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&sa, &sl) == 0) {
        if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &a6->sin6_addr, addr, sizeof addr);
            port = ntohs(a6->sin6_port);
        } else if (sa.ss_family == AF_INET) {
            struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof addr);
            port = ntohs(a4->sin_port);
        }
    }
    snprintf(out, outlen, "%s:%u", addr, port);
}

static int on_established(net_server *s, struct lws *wsi, game_conn *gc)
{
    memset(gc, 0, sizeof *gc);
    char peer[SESSION_PEER_LEN], ip[SESSION_IP_LEN] = "";
    peer_name(wsi, peer, sizeof peer);
    lws_get_peer_simple(wsi, ip, sizeof ip);
    int sndbuf = s->client_sndbuf;
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    gc->conn = core_conn_open(s->core, tick_clock_now(), wsi, peer, ip);
    if (!gc->conn) {
        log_event(LOG_ERROR, "connect_failed", "peer=%s reason=\"no session could be had\"", peer);
        return -1;
    }
    flush_actions(s);
    return 0;
}

static int on_writeable(net_server *s, struct lws *wsi, game_conn *gc)
{
    if (gc->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)gc->close_code, (unsigned char *)gc->close_why,
                         strlen(gc->close_why));
        return -1;
    }
    uint8_t *p = s->scratch + LWS_PRE;
    size_t n = core_conn_writable(s->core, gc->conn, tick_clock_now(), p, CORE_MAX_MESSAGE);
    flush_actions(s);
    if (n && lws_write(wsi, p, n, LWS_WRITE_BINARY) < (int)n)
        return -1;
    core_metrics(s->core)->sent_bytes += n;
    return 0;
}

static int game_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    game_conn *gc = user;
    net_server *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        metrics_http_count(core_metrics(s->core), EP_WEBSOCKET, 101);
        return on_established(s, wsi, gc);
    case LWS_CALLBACK_RECEIVE:
        core_metrics(s->core)->received_bytes += len;
        core_conn_recv(s->core, gc->conn, tick_clock_now(), in, len, lws_remaining_packet_payload(wsi),
                       lws_is_final_fragment(wsi), !lws_frame_is_binary(wsi));
        flush_actions(s);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(s, wsi, gc);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* A close frame with 1000 or 1001 is the player leaving (a Leave
         * button, a closed tab); a dropped network sends none. */
        if (len >= 2)
            core_conn_peer_close(s->core, gc->conn, ((const uint8_t *)in)[0] << 8 | ((const uint8_t *)in)[1]);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (gc->conn) {
            core_conn_closed(s->core, gc->conn, tick_clock_now());
            gc->conn = 0;
            flush_actions(s);
        }
        return 0;
    default:
        return 0;
    }
}

static int64_t unix_ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- every accepted connection -------------------------------------------------
 * Each TCP connection counts against the caps from accept to close
 * (core_accept). lws 4.1.6 shows protocol 0 a new connection twice before
 * reading from it: FILTER_NETWORK_CONNECTION, on the listening wsi with the
 * fd and the peer's address (returning nonzero there closes the fd at once,
 * before any wsi exists), then, in the same call, SERVER_NEW_CLIENT_
 * INSTANTIATED on the new wsi. The handle taken at the first is moved into
 * the wsi's opaque user data at the second; it stays there through the
 * upgrade to the game protocol (per-session data does not: lws reallocates
 * it) and is given back at WSI_DESTROY, which lws sends for every wsi it
 * frees, after closing the fd. Cleared when given back, so once only. */

/* Over a cap, on plain HTTP: a best-effort 503, so a person with curl or a
 * bot reads why. What the client already sent is read first: closing on
 * unread bytes sends a reset, which can destroy the answer in flight. Never
 * blocks; lws closes the fd right after. */
static int refuse_plain(int fd)
{
#define REFUSE_BODY "connection limit reached, try again later\n"
    char answer[256], sink[2048];
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                     sizeof REFUSE_BODY - 1, REFUSE_BODY);
#undef REFUSE_BODY
    for (int i = 0; i < 8 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++) {
    }
    if (send(fd, answer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < n) {
        log_event(LOG_DEBUG, "refuse_answer", "reason=\"503 not sent whole: %s\"", strerror(errno));
        return 0;
    }
    return 1;
}

static int on_filter_network(net_server *s, int fd)
{
    if (s->accepted) {
        /* The previous accept never reached a wsi (lws failed to adopt it
         * and closed the fd): give its count back. */
        core_accept_closed(s->core, s->accepted);
        s->accepted = 0;
    }
    char ip[ADMISSION_IP_LEN] = "";
    lws_get_peer_simple_fd(fd, ip, sizeof ip);
    s->accepted = core_accept(s->core, tick_clock_now(), ip);
    if (s->accepted)
        return 0;
    if (!s->tls && refuse_plain(fd))
        metrics_http_count(core_metrics(s->core), EP_OTHER, 503); /* before any request was read */
    return 1;
}

static void on_instantiated(net_server *s, struct lws *wsi)
{
    if (s->accepted && !lws_get_opaque_user_data(wsi)) {
        lws_set_opaque_user_data(wsi, (void *)(uintptr_t)s->accepted);
        s->accepted = 0;
    }
}

static void on_wsi_destroy(net_server *s, struct lws *wsi)
{
    uintptr_t h = (uintptr_t)lws_get_opaque_user_data(wsi);
    if (h) {
        lws_set_opaque_user_data(wsi, NULL);
        core_accept_closed(s->core, (uint32_t)h);
    }
}

/* Protocol 0: the connection's count, then HTTP (http.c). */
static int http_protocol_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                                  size_t len)
{
    net_server *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return on_filter_network(s, (int)(intptr_t)in);
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        on_instantiated(s, wsi);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        on_wsi_destroy(s, wsi);
        break;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: {
        /* The vhost's TLS context (user), made empty: the whole chain
         * and the key go in here (tls.h). Nonzero fails the start. */
        char err[256];
        if (!s->tls_cert)
            return 0;
        if (tls_ssl_ctx_load(user, s->tls_cert, s->tls_key, err, sizeof err) == 0)
            return 0;
        log_event(LOG_ERROR, "tls", "reason=\"%s\"", err);
        return 1;
    }
    default:
        break;
    }
    return http_callback(wsi, reason, user, in, len);
}

static void on_tick(void *user, int64_t now_us, uint32_t missed)
{
    net_server *s = user;
    core_set_unix_ms(s->core, unix_ms_now());
    if (missed)
        core_ticks_missed(s->core, missed, now_us);
    core_tick(s->core, now_us);
    flush_actions(s);
}

/* ---- lifecycle ------------------------------------------------------------- */

/* libwebsockets' own log lines go through ours (JSON when JSON is chosen). */
static void lws_log_emit(int level, const char *line)
{
    char text[512], q[1024];
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    /* lws prefixes "[date] E: "; keep what follows. */
    const char *msg = line;
    const char *tag = strstr(line, ": ");
    if (line[0] == '[' && tag && (size_t)(tag - line) < n)
        msg = tag + 2;
    snprintf(text, sizeof text, "%.*s", (int)(n - (size_t)(msg - line)), msg);
    log_event(level & LLL_ERR ? LOG_ERROR : level & LLL_WARN ? LOG_WARN : LOG_DEBUG, "lws", "msg=\"%s\"",
              log_quote(text, q, sizeof q));
}

/* Binds host:port once before lws does, so a failure is reported with its
 * real cause (lws logs a line and goes on with nothing listening). */
static int check_listen(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = strchr(host, ':') ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "cannot listen on %s:%d: --host %s: %s", host, port, host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s:%d: %s%s", host, port, strerror(e),
                 e == EACCES && port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "");
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    close(fd);
    freeaddrinfo(ai);
    return 0;
}

/* A web root without index.html serves no page: say so at start-up. */
static void check_web_root(const char *root)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/index.html", root);
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        log_event(LOG_WARN, "web_root", "path=\"%s\" reason=\"not a directory: the demo page will not be served\"", root);
    else if (stat(path, &st) != 0)
        log_event(LOG_WARN, "web_root", "path=\"%s\" reason=\"no index.html: the demo page will not be served\"", root);
}

static void init_protocols(net_server *s, const tw_config *cfg)
{
    s->protocols[0] = (struct lws_protocols){"http", http_protocol_callback, sizeof(http_session), 0, 0, NULL, 0};
    s->protocols[1] = (struct lws_protocols){
        .name = PROTO_SUBPROTOCOL,
        .callback = game_callback,
        .per_session_data_size = sizeof(game_conn),
        .rx_buffer_size = 128,
        .tx_packet_size = CORE_MAX_MESSAGE,
    };
    s->protocols[2] = tick_clock_protocol;
    s->mime_mjs = (struct lws_protocol_vhost_options){NULL, NULL, ".mjs", "text/javascript"};
    s->mime_wasm = (struct lws_protocol_vhost_options){&s->mime_mjs, NULL, ".wasm", "application/wasm"};
    s->mount = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = cfg->web_root,
        .def = "index.html",
        .origin_protocol = LWSMPRO_FILE,
        .extra_mimetypes = &s->mime_wasm,
    };
    s->api_mount = (struct lws_http_mount){
        .mount_next = &s->mount,
        .mountpoint = "/api",
        .mountpoint_len = 4,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    s->metrics_mount = (struct lws_http_mount){
        .mount_next = &s->api_mount,
        .mountpoint = "/metrics",
        .mountpoint_len = 8,
        .origin = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
}

/* admission's reserve_ok: the --metrics-allow networks, none when unset. */
static int reserve_ok(void *user, const char *ip)
{
    return scrape_ip_allowed(user, ip, 0);
}

/* --metrics-token-file and --metrics-allow into s->scrape (cli_parse has
 * checked the networks). A token is one line of printable characters
 * (it travels in a header). */
static int load_scrape_rules(net_server *s, const tw_config *cfg, char *err, size_t errlen)
{
    scrape_rules *r = &s->scrape;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < cfg->n_metrics_allow && i < SCRAPE_MAX_NETS; i++)
        if (scrape_net_parse(cfg->metrics_allow[i], &r->nets[r->n_nets++]) < 0) {
            snprintf(err, errlen, "--metrics-allow: '%s' is not a network", cfg->metrics_allow[i]);
            return -1;
        }
    if (!cfg->metrics_token_file)
        return 0;
    char why[256];
    int n = secret_read(cfg->metrics_token_file, r->token, sizeof r->token - 1, why, sizeof why);
    if (n < 0) {
        snprintf(err, errlen, "--metrics-token-file: %s", why);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (r->token[i] < 0x21 || r->token[i] > 0x7e) {
            snprintf(err, errlen, "--metrics-token-file: %s: a token is one line of printable characters, no spaces",
                     cfg->metrics_token_file);
            memset(r->token, 0, sizeof r->token);
            return -1;
        }
    r->token_len = (size_t)n;
    return 0;
}

static core *create_core(net_server *s, const tw_config *cfg, const sim_map *map, char *err, size_t errlen)
{
    core_config cc = {
        .tick_rate = cfg->tick_rate,
        .snapshot_rate = cfg->snapshot_rate,
        .match_size = cfg->match_size,
        .npcs = cfg->npcs,
        .seed = cfg->seed,
        .idle_timeout = cfg->idle_timeout,
        .resume_grace = cfg->resume_grace,
        .max_unlag_ms = cfg->max_unlag_ms ? cfg->max_unlag_ms : -1,
        .min_players = cfg->min_players,
        .match_time = cfg->match_time,
        .score_limit = cfg->score_limit ? cfg->score_limit : -1,
        .intermission = cfg->intermission,
        .spectator_rate = cfg->spectator_rate,
        .spectator_delay = cfg->spectator_delay,
        .max_spectators = cfg->max_spectators,
        .map_name = cfg->map_path,
        .on_round = s->results ? results_submit_cb : NULL,
        .round_user = s->results,
        /* A few connections past the caps for the --metrics-allow
         * networks: a full server can still be scraped. */
        .admission = {.max_conns = cfg->max_conns, .max_conns_per_ip = cfg->max_conns_per_ip,
                      .reserve = s->scrape.n_nets ? NET_SCRAPE_RESERVE : 0, .reserve_ok = reserve_ok,
                      .reserve_user = &s->scrape},
        .random = random_bytes,
    };
    cc.admission.n_origins = cfg->n_origins < ADMISSION_MAX_ORIGINS ? cfg->n_origins : ADMISSION_MAX_ORIGINS;
    for (int i = 0; i < cc.admission.n_origins; i++)
        cc.admission.origins[i] = cfg->origins[i];
    if (cfg->token_secret_file) {
        int n = secret_read(cfg->token_secret_file, s->secret, sizeof s->secret, err, errlen);
        if (n < 0)
            return NULL;
        cc.secret = s->secret;
        cc.secret_len = (size_t)n;
    }
    core *c = core_create(&cc, map, err, errlen);
    memset(s->secret, 0, sizeof s->secret);
    if (c)
        core_set_unix_ms(c, unix_ms_now());
    return c;
}

net_server *net_server_create(const tw_config *cfg, const sim_map *map, results *res, char *err, size_t errlen)
{
    net_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->results = res;
    s->client_sndbuf = cfg->client_sndbuf > 0 ? cfg->client_sndbuf : 64 * 1024;
    if (load_scrape_rules(s, cfg, err, errlen) < 0 || !(s->core = create_core(s, cfg, map, err, errlen))) {
        free(s);
        return NULL;
    }
    if (check_listen(cfg->host, cfg->port, err, errlen) < 0) {
        core_destroy(s->core);
        free(s);
        return NULL;
    }
    check_web_root(cfg->web_root);
    init_protocols(s, cfg);
    /* Ping a connection quiet for 5 s, hang up after 15 s without a valid
     * frame: half-open connections are reaped. */
    s->keepalive = (lws_retry_bo_t){.secs_since_valid_ping = 5, .secs_since_valid_hangup = 15};
    lws_set_log_level(log_enabled(LOG_DEBUG) ? LLL_ERR | LLL_WARN : LLL_ERR, lws_log_emit);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->host;
    info.protocols = s->protocols;
    info.mounts = &s->metrics_mount;
    info.user = s;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.alpn = "http/1.1";
    /* --http-timeout S: from accept, S to send a whole request header (and
     * to finish a TLS handshake); between requests on a keep-alive
     * connection, S idle; inside a request body, S between two reads. Past
     * it lws closes the connection. */
    s->http_timeout = cfg->http_timeout > 0 ? cfg->http_timeout : 5;
    info.timeout_secs = (unsigned int)s->http_timeout;
    info.timeout_secs_ah_idle = (unsigned int)s->http_timeout;
    info.keepalive_timeout = s->http_timeout;
    info.retry_and_idle_policy = &s->keepalive;
    /* With IPv6 on, lws 4.1.6 binds an IPv4 literal as [::] (every
     * address): keep IPv4 hosts on an IPv4 socket. */
    if (!strchr(cfg->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    s->tls = cfg->tls_cert != NULL;
    if (cfg->tls_cert) {
        /* mbedTLS backend: TLS 1.2. No ssl_cert_filepath: lws 4.1.6
         * would load only the first certificate of a chain. The chain and
         * the key are loaded at LOAD_EXTRA_SERVER_VERIFY_CERTS (tls.h). */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
        s->tls_cert = cfg->tls_cert;
        s->tls_key = cfg->tls_key;
    }
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not available?)", cfg->host, cfg->port);
        core_destroy(s->core);
        free(s);
        return NULL;
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    if (s->port <= 0) {
        snprintf(err, errlen, "cannot listen on %s:%d (libwebsockets opened no listening socket)", cfg->host,
                 cfg->port);
        net_server_destroy(s);
        return NULL;
    }
    s->clock = tick_clock_start(s->ctx, cfg->tick_rate, on_tick, s, &core_metrics(s->core)->tick);
    if (!s->clock) {
        snprintf(err, errlen, "out of memory");
        net_server_destroy(s);
        return NULL;
    }
    return s;
}

int net_server_port(const net_server *s)
{
    return s->port;
}

void net_server_request_stop(net_server *s, int sig)
{
    s->stop = sig ? sig : -1;
    lws_cancel_service(s->ctx);
}

void net_server_run(net_server *s)
{
    int failed = 0;
    while (!s->stop)
        if (lws_service(s->ctx, 0) < 0) {
            failed = 1;
            break;
        }
    if (failed)
        log_event(LOG_ERROR, "stopping", "reason=\"event loop failed\"");
    else
        log_event(LOG_INFO, "stopping", "reason=\"signal\" signal=%d", (int)s->stop);

    /* Close every client with 1001 and give the close frames a moment. */
    tick_clock_stop(s->clock);
    core_shutdown(s->core);
    flush_actions(s);
    int64_t until = tick_clock_now() + SHUTDOWN_GRACE_US;
    while (core_connections(s->core) > 0 && tick_clock_now() < until)
        if (lws_service(s->ctx, 0) < 0)
            break;
    const metrics *m = core_metrics(s->core);
    uint64_t bad = 0;
    for (int r = 0; r < BAD_N; r++)
        bad += m->bad[r];
    log_event(LOG_INFO, "stop", "ticks=%llu snapshots_out=%llu bytes_out=%llu inputs_in=%llu "
              "missed_ticks=%llu dropped_slow=%llu bad_messages=%llu",
              (unsigned long long)m->tick.ticks, (unsigned long long)m->snapshots_out,
              (unsigned long long)m->snapshot_bytes_out, (unsigned long long)m->inputs_in,
              (unsigned long long)m->tick.missed_ticks, (unsigned long long)m->dropped_slow,
              (unsigned long long)bad);
}

void net_server_destroy(net_server *s)
{
    if (!s)
        return;
    if (s->ctx)
        lws_context_destroy(s->ctx);
    tick_clock_free(s->clock);
    core_destroy(s->core);
    free(s);
}
