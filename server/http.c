/* http: see http.h. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "handshake.h"
#include "log.h"
#include "parse.h"
#include "proto.h"

#define METRICS_CAP 32768
#define API_JOIN_CAP 512
#define MATCHES_DEFAULT_LIMIT 20
#define MATCHES_FIRST_CAP 65536          /* typical answers fit; doubled as needed */
#define MATCHES_MAX_CAP (8 * 1024 * 1024) /* > RESULTS_RECENT_MAX * RESULTS_ROUND_JSON_MAX */

static double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long process_rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

/* ---- before the upgrade ------------------------------------------------------
 * libwebsockets 4.1.6 checks little of RFC 6455 4.2.1, and what it checks
 * it refuses by hanging up without an HTTP answer or a log line (no Host,
 * no Connection: Upgrade, no key, no offered subprotocol it knows). It
 * upgrades a POST, an HTTP/1.0 request, a key of any length, any
 * Sec-WebSocket-Version, "Connection: up" (a prefix of "upgrade"), and no
 * subprotocol at all (bound to the "http" protocol); without an Upgrade
 * header it serves the page. So every rule is checked here first
 * (handshake.h), and every refusal is answered, logged and counted here.
 * The one answer lws gives itself, before any callback: an Upgrade value
 * other than websocket or h2c gets its own 403 (not logged, not counted). */

/* Copies a request header; too long for buf reads as absent (refused). */
static const char *header(struct lws *wsi, char *buf, int cap, enum lws_token_indexes t)
{
    if (lws_hdr_copy(wsi, buf, cap, t) < 0)
        buf[0] = '\0';
    return buf;
}

/* The request's values, in buffers no smaller than the ones lws copies the
 * same headers into (so what passes here fits there too). */
typedef struct hs_request {
    handshake_request r;
    char http_version[16], host[256], upgrade[64], connection[128], key[64], version[16], protocols[128];
} hs_request;

/* The request line's method. (Not lws_http_get_uri_and_method: its index
 * matches LWSHUMETH_* only when lws has its uncommon headers.) */
static const char *method_of(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes uri;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},
        {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS)
        {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
        {WSI_TOKEN_PUT_URI, "PUT"},
        {WSI_TOKEN_PATCH_URI, "PATCH"},
        {WSI_TOKEN_DELETE_URI, "DELETE"},
#endif
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].uri) > 0)
            return methods[i].name;
    return "";
}

static void hs_request_read(struct lws *wsi, const char *upgrade, hs_request *q)
{
    q->r.method = method_of(wsi);
    q->r.http_version = header(wsi, q->http_version, sizeof q->http_version, WSI_TOKEN_HTTP);
    q->r.host = header(wsi, q->host, sizeof q->host, WSI_TOKEN_HOST);
    q->r.upgrade = upgrade ? upgrade : header(wsi, q->upgrade, sizeof q->upgrade, WSI_TOKEN_UPGRADE);
    q->r.connection = header(wsi, q->connection, sizeof q->connection, WSI_TOKEN_CONNECTION);
    q->r.key = header(wsi, q->key, sizeof q->key, WSI_TOKEN_KEY);
    q->r.version = header(wsi, q->version, sizeof q->version, WSI_TOKEN_VERSION);
    q->r.protocols = header(wsi, q->protocols, sizeof q->protocols, WSI_TOKEN_PROTOCOL);
}

/* Whether lws would bind an offered subprotocol: any protocol of the vhost. */
static int vhost_knows(void *user, const char *name)
{
    return lws_vhost_name_to_protocol(user, name) != NULL;
}

/* Answers a refused upgrade: status line, Sec-WebSocket-Version with a
 * 426, a one-line text body, Connection: close. Returns -1, which the
 * CONFIRM_UPGRADE and FILTER_HTTP_CONNECTION callbacks return so lws
 * hangs up: it sends what it could not write at once before closing. */
static int send_refusal(struct lws *wsi, int status, const char *body)
{
    uint8_t buf[LWS_PRE + 512];
    char *start = (char *)buf + LWS_PRE;
    size_t cap = sizeof buf - LWS_PRE;
    const char *phrase = status == 426   ? "Upgrade Required"
                         : status == 403 ? "Forbidden"
                         : status == 503 ? "Service Unavailable"
                                         : "Bad Request";
    int n = snprintf(start, cap,
                     "HTTP/1.1 %d %s\r\n%s"
                     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                     status, phrase, status == 426 ? "Sec-WebSocket-Version: " HANDSHAKE_WS_VERSION "\r\n" : "",
                     strlen(body), body);
    if (n > 0 && (size_t)n < cap)
        lws_write(wsi, (unsigned char *)start, (size_t)n, LWS_WRITE_HTTP);
    return -1;
}

/* A failed handshake: counted, logged like core_admit's refusals, answered. */
static int refuse_handshake(core *c, struct lws *wsi, const handshake_request *r, int reason)
{
    char ip[48] = "", qvalue[256], body[128];
    lws_get_peer_simple(wsi, ip, sizeof ip);
    int status = handshake_status(reason);
    core_metrics(c)->refused[reason]++;
    log_event(LOG_WARN, "refuse", "ip=%s status=%d reason=%s value=\"%s\"", ip, status,
              metrics_refused_label((metrics_refused)reason),
              log_quote(handshake_value(r, reason), qvalue, sizeof qvalue));
    handshake_body(reason, PROTO_SUBPROTOCOL, body, sizeof body);
    return send_refusal(wsi, status, body);
}

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: `upgrade` is the Upgrade header,
 * "websocket" or "h2c" (lws answered anything else). The handshake rules,
 * then the core's admission rules (origin, connection caps). */
static int confirm_upgrade(core *c, struct lws *wsi, const char *upgrade)
{
    if (strcasecmp(upgrade, "websocket") == 0) {
        hs_request q;
        hs_request_read(wsi, upgrade, &q);
        int reason = handshake_check(&q.r, &(handshake_config){PROTO_SUBPROTOCOL, vhost_knows, lws_get_vhost(wsi)});
        if (reason != HANDSHAKE_OK)
            return refuse_handshake(c, wsi, &q.r, reason);
    }
    char origin[256] = "", host[256] = "", ip[48] = "";
    lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    lws_get_peer_simple(wsi, ip, sizeof ip);
    int status = core_admit(c, origin, host, ip);
    if (!status)
        return 0;
    return send_refusal(wsi, status,
                        status == 403 ? "origin not allowed\n" : "connection limit reached, try again later\n");
}

/* LWS_CALLBACK_FILTER_HTTP_CONNECTION, for every request lws serves as
 * HTTP: one that carries a WebSocket key or version without asking to
 * upgrade is a failed handshake, not a request for the page. */
static int filter_http(core *c, struct lws *wsi)
{
    hs_request q;
    hs_request_read(wsi, NULL, &q);
    if (!handshake_attempted(&q.r))
        return 0;
    int reason = handshake_check(&q.r, &(handshake_config){PROTO_SUBPROTOCOL, vhost_knows, lws_get_vhost(wsi)});
    return refuse_handshake(c, wsi, &q.r, reason == HANDSHAKE_OK ? REF_UPGRADE : reason);
}

/* Sends the headers for the body in hs->buf; the body goes out on WRITEABLE. */
static int respond(struct lws *wsi, http_session *hs, unsigned int status, const char *type)
{
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, status, type, hs->len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int api_join(core *c, struct lws *wsi, http_session *hs)
{
    char arg[64];
    const char *name = lws_get_urlarg_by_name(wsi, "name=", arg, sizeof arg);
    if (!(hs->buf = malloc(LWS_PRE + API_JOIN_CAP)))
        return -1;
    hs->len = core_guest_join(c, name ? name : "", (char *)hs->buf + LWS_PRE, API_JOIN_CAP);
    if (!hs->len)
        return -1;
    return respond(wsi, hs, HTTP_STATUS_OK, "application/json");
}

/* A query argument: 1 with its value in buf ("" for a bare `name`), 0
 * when absent, -1 when some argument is too long to read. */
static int query_arg(struct lws *wsi, const char *name, char *buf, int cap)
{
    size_t nl = strlen(name);
    for (int i = 0;; i++) {
        if (lws_hdr_copy_fragment(wsi, buf, cap, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
            return lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) >= cap ? -1 : 0;
        if (strncmp(buf, name, nl) == 0 && (buf[nl] == '=' || buf[nl] == '\0')) {
            const char *v = buf + nl + (buf[nl] == '=');
            memmove(buf, v, strlen(v) + 1);
            return 1;
        }
    }
}

/* GET /api/matches?limit=N: {"matches":[...]} from the in-memory copy of
 * the newest rounds (results_recent_json), so no disk is waited for. */
static int api_matches(results *res, struct lws *wsi, http_session *hs)
{
    char arg[64];
    int limit = MATCHES_DEFAULT_LIMIT, found = query_arg(wsi, "limit", arg, sizeof arg);
    if (found < 0 || (found && parse_int("limit", arg, 1, RESULTS_RECENT_MAX, &limit, NULL, 0) < 0)) {
        static const char body[] = "{\"error\":\"limit must be a whole number in 1..100\"}";
        if (!(hs->buf = malloc(LWS_PRE + sizeof body)))
            return -1;
        memcpy(hs->buf + LWS_PRE, body, sizeof body - 1);
        hs->len = sizeof body - 1;
        return respond(wsi, hs, HTTP_STATUS_BAD_REQUEST, "application/json");
    }
    static const char head[] = "{\"matches\":";
    for (size_t cap = MATCHES_FIRST_CAP; cap <= MATCHES_MAX_CAP; cap *= 2) {
        if (!(hs->buf = malloc(LWS_PRE + cap)))
            return -1;
        char *out = (char *)hs->buf + LWS_PRE;
        memcpy(out, head, sizeof head - 1);
        size_t n = results_recent_json(res, limit, out + sizeof head - 1, cap - sizeof head);
        if (n) {
            out[sizeof head - 1 + n] = '}';
            hs->len = sizeof head + n;
            return respond(wsi, hs, HTTP_STATUS_OK, "application/json");
        }
        free(hs->buf);
        hs->buf = NULL;
    }
    return -1;
}

/* GET /api/matches/live: the running matches (core_live_json), about
 * 200 bytes each. */
static int api_live(core *c, struct lws *wsi, http_session *hs)
{
    for (size_t cap = 16384; cap <= (size_t)LOBBY_MAX_MATCHES * 256; cap *= 4) {
        if (!(hs->buf = malloc(LWS_PRE + cap)))
            return -1;
        size_t n = core_live_json(c, (char *)hs->buf + LWS_PRE, cap);
        if (n) {
            hs->len = n;
            return respond(wsi, hs, HTTP_STATUS_OK, "application/json");
        }
        free(hs->buf);
        hs->buf = NULL;
    }
    return -1;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    http_session *hs = user;
    core *c = net_core_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(c, wsi, in);
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
        return filter_http(c, wsi);
    case LWS_CALLBACK_HTTP: {
        /* The /metrics and /api callback mounts land here, for any path
         * under them: serve exactly GET /metrics, POST /api/join and GET
         * /api/matches. */
        char uri[64] = "";
        int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        lws_hdr_copy(wsi, uri, sizeof uri, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
        if (!post && strcmp(uri, "/metrics") == 0) {
            if (!(hs->buf = malloc(LWS_PRE + METRICS_CAP)))
                return -1;
            char *text = (char *)hs->buf + LWS_PRE;
            hs->len = core_metrics_text(c, process_rss_bytes(), process_cpu_seconds(), text, METRICS_CAP);
            results *res = net_results_of(wsi);
            if (res) {
                results_stats st;
                results_get_stats(res, &st);
                hs->len += metrics_render_results(&st, text + hs->len, METRICS_CAP - hs->len);
            }
            return respond(wsi, hs, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8");
        }
        if (!post && strcmp(uri, "/api/matches") == 0 && net_results_of(wsi))
            return api_matches(net_results_of(wsi), wsi, hs);
        if (!post && strcmp(uri, "/api/matches/live") == 0)
            return api_live(c, wsi, hs);
        if (post && strcmp(uri, "/api/join") == 0 && core_demo_mode(c)) {
            /* Answer once the (ignored) request body has been read. */
            if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                hs->api_join = 1;
                return 0;
            }
            return api_join(c, wsi, hs);
        }
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* /api/join takes no body: read and drop */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (hs && hs->api_join) {
            hs->api_join = 0;
            return api_join(c, wsi, hs);
        }
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!hs || !hs->buf)
            break;
        int rc = lws_write(wsi, hs->buf + LWS_PRE, hs->len, LWS_WRITE_HTTP_FINAL) < (int)hs->len ? -1 : 0;
        free(hs->buf);
        hs->buf = NULL;
        if (rc || lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (hs) {
            free(hs->buf);
            hs->buf = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
