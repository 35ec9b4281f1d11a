/* http: see http.h. */
#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "handshake.h"
#include "httpfb_lws.h"
#include "tw_version.h"
#include "log.h"
#include "parse.h"
#include "proto.h"
#include "scrape.h"

#define METRICS_CAP 65536
#define API_JOIN_CAP 512
#define MATCHES_DEFAULT_LIMIT 20
#define MATCHES_FIRST_CAP 65536          /* typical answers fit; doubled as needed */
#define MATCHES_MAX_CAP (8 * 1024 * 1024) /* > RESULTS_RECENT_MAX * RESULTS_ROUND_JSON_MAX */
#define API_JOIN_BODY_MAX 1024 /* POST /api/join ignores its body; a bigger one is refused */
#define REPLAY_CHUNK (32 * 1024) /* GET /api/replays/<name>: bytes sent per writable callback */

/* ---- the process, for /metrics (at scrape time only) ---------------------- */

static double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void process_memory(metrics_process *p)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            pages = rss = 0;
        fclose(f);
    }
    p->virtual_bytes = pages * sysconf(_SC_PAGESIZE);
    p->rss_bytes = rss * sysconf(_SC_PAGESIZE);
}

/* Open descriptors; -1 when unreadable. Linux 6.2 and later give their
 * number as the size of /proc/self/fd: one stat(), a few microseconds.
 * Older kernels say 0, and the directory is listed (entries but the one
 * reading it): O(descriptors) on the loop, ~10 ms at 10,000 connections,
 * enough to make the next tick late. */
static long process_open_fds(void)
{
    struct stat st;
    if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
        return (long)st.st_size;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d);
    closedir(d);
    return n;
}

static long process_max_fds(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

/* As the Prometheus client libraries do it: the boot time (btime, in
 * /proc/stat) plus the process's start in clock ticks since boot (field 22
 * of /proc/self/stat, after the parenthesised command name). 0 when
 * unreadable. */
static double process_start_time(void)
{
    char buf[1024];
    double btime = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    while (fgets(buf, sizeof buf, f))
        if (sscanf(buf, "btime %lf", &btime) == 1)
            break;
    fclose(f);
    f = fopen("/proc/self/stat", "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    /* fields 3..22 follow the name: state, then 18 numbers, then starttime */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                     &start) != 1 || btime <= 0)
        return 0;
    return btime + (double)start / (double)sysconf(_SC_CLK_TCK);
}

static void process_sample(metrics_process *p)
{
    memset(p, 0, sizeof *p);
    process_memory(p);
    p->cpu_seconds = process_cpu_seconds();
    p->open_fds = process_open_fds();
    p->max_fds = process_max_fds();
    p->start_time_s = process_start_time();
    p->version = TICKWIRE_VERSION;
    p->lws_version = LWS_LIBRARY_VERSION;
}

/* ---- HTTP answers by endpoint and status (tickwire_http_requests_total) ----- */

/* The endpoint of the request on wsi, by its path, whatever its method
 * (lws keeps the path under the method's token). A path too long to copy
 * is no side door's: a file's (static). */
static metrics_endpoint request_endpoint(struct lws *wsi)
{
    static const enum lws_token_indexes uris[] = {
        WSI_TOKEN_GET_URI, WSI_TOKEN_POST_URI, WSI_TOKEN_HEAD_URI,
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS)
        WSI_TOKEN_OPTIONS_URI, WSI_TOKEN_PUT_URI, WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI,
#endif
    };
    char uri[64];
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        if (lws_hdr_total_length(wsi, uris[i]) <= 0)
            continue;
        if (lws_hdr_copy(wsi, uri, sizeof uri, uris[i]) < 0)
            return EP_STATIC;
        return metrics_endpoint_of(uri);
    }
    return EP_OTHER;
}

static void count_answer(struct lws *wsi, metrics_endpoint e, int status)
{
    metrics_http_count(core_metrics(net_core_of(wsi)), e, status);
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
 * The one answer lws gives itself, before any callback (an Upgrade value
 * other than websocket or h2c gets lws's 403), is taken over below. */

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
static int send_refusal(struct lws *wsi, metrics_endpoint e, int status, const char *body)
{
    uint8_t buf[LWS_PRE + 512];
    char *start = (char *)buf + LWS_PRE;
    size_t cap = sizeof buf - LWS_PRE;
    const char *phrase = status == 426   ? "Upgrade Required"
                         : status == 403 ? "Forbidden"
                         : status == 413 ? "Content Too Large"
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
    count_answer(wsi, e, status);
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
    return send_refusal(wsi, EP_WEBSOCKET, status, body);
}

/* The connection's accept handle (net.c keeps it in the opaque user data). */
static uint32_t accept_handle(struct lws *wsi)
{
    return (uint32_t)(uintptr_t)lws_get_opaque_user_data(wsi);
}

static int is_metrics_get(struct lws *wsi)
{
    char uri[16] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 || lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) >= 16)
        return 0;
    header(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    return strcmp(uri, "/metrics") == 0;
}

/* A connection held in the reserve past the caps (admission.h) asked for
 * something other than GET /metrics: the cap's 503, counted then. */
static int refuse_reserve(core *c, struct lws *wsi)
{
    char ip[48] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    core_reserve_refused(c, lws_now_usecs(), ip);
    return send_refusal(wsi, request_endpoint(wsi), 503, "connection limit reached, try again later\n");
}

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: `upgrade` is the Upgrade header,
 * "websocket" or "h2c" (anything else was refused before, see
 * __wrap_lws_return_http_status). The handshake rules, then the core's
 * origin rule; the connection caps were judged at accept (net.c). */
static int confirm_upgrade(core *c, struct lws *wsi, const char *upgrade)
{
    if (core_accept_is_reserve(c, accept_handle(wsi)))
        return refuse_reserve(c, wsi);
    if (net_matchmaker_only(wsi))
        return send_refusal(wsi, EP_WEBSOCKET, 404, "this is a matchmaker: no matches are played here\n");
    if (net_no_websocket(wsi) && strcasecmp(upgrade, "websocket") == 0)
        return send_refusal(wsi, EP_WEBSOCKET, 403, "WebSocket is off here (--no-websocket): use the HTTP fallback, /tw/\n");
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
    return status ? send_refusal(wsi, EP_WEBSOCKET, status, "origin not allowed\n") : 0;
}

/* Whether the request asks for an upgrade lws 4.1.6 refuses by itself:
 * an Upgrade header whose whole value is neither websocket nor h2c (any
 * case; too long to copy counts as neither). */
static int upgrade_unknown(struct lws *wsi)
{
    char up[64];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) <= 0)
        return 0;
    header(wsi, up, sizeof up, WSI_TOKEN_UPGRADE);
    return strcasecmp(up, "websocket") != 0 && strcasecmp(up, "h2c") != 0;
}

/* lws 4.1.6 answers the first request of a connection with an unknown
 * Upgrade (upgrade_unknown) with its own 403 and hangs up, before any
 * callback. The server is linked with -Wl,--wrap=lws_return_http_status
 * (CMakeLists.txt), so that call comes here first and is answered like
 * every other handshake refusal: 400 with a body naming the problem,
 * logged, counted as REF_UPGRADE. Every other status goes on to lws. */
int __real_lws_return_http_status(struct lws *wsi, unsigned int code, const char *html_body);
int __wrap_lws_return_http_status(struct lws *wsi, unsigned int code, const char *html_body);
int __wrap_lws_return_http_status(struct lws *wsi, unsigned int code, const char *html_body)
{
    if (code == HTTP_STATUS_FORBIDDEN && upgrade_unknown(wsi)) {
        hs_request q;
        hs_request_read(wsi, NULL, &q);
        refuse_handshake(net_core_of(wsi), wsi, &q.r, REF_UPGRADE);
        return 1; /* lws hangs up */
    }
    count_answer(wsi, request_endpoint(wsi), (int)code);
    return __real_lws_return_http_status(wsi, code, html_body);
}

/* lws 4.1.6 answers a file of the web root (200), or a file the client
 * has (304, by ETag), calling lws_add_http_header_status from outside
 * its header.c, so the server's link (-Wl,--wrap=lws_add_http_header_status,
 * CMakeLists.txt) brings those calls here to be counted. Its calls from
 * inside header.c (lws_return_http_status, lws_add_http_common_headers:
 * counted where the server makes them) do not come here. */
int __real_lws_add_http_header_status(struct lws *wsi, unsigned int code, unsigned char **p, unsigned char *end);
int __wrap_lws_add_http_header_status(struct lws *wsi, unsigned int code, unsigned char **p, unsigned char *end);
int __wrap_lws_add_http_header_status(struct lws *wsi, unsigned int code, unsigned char **p, unsigned char *end)
{
    count_answer(wsi, request_endpoint(wsi), (int)code);
    return __real_lws_add_http_header_status(wsi, code, p, end);
}

/* The request's body length: 0 for none, -1 for one of a length not given
 * up front (Transfer-Encoding). */
static long long body_length(struct lws *wsi)
{
    char v[32];
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS)
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
        return -1;
#endif
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return 0;
    header(wsi, v, sizeof v, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    long long n = atoll(v);
    return n > 0 ? n : 0;
}

/* Whether the request is POST /api/join or POST /admin/drain, the
 * requests that may carry a (small, ignored) body. */
static int takes_body(struct lws *wsi)
{
    char uri[64] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
        return 0;
    header(wsi, uri, sizeof uri, WSI_TOKEN_POST_URI);
    return strcmp(uri, "/api/join") == 0 || strcmp(uri, "/admin/drain") == 0;
}

/* A request body lws reads (and drops) for as long as it keeps coming, a
 * byte every --http-timeout seconds being enough: so only POST /api/join
 * (and POST /admin/drain) may carry one, up to API_JOIN_BODY_MAX bytes and within --http-timeout
 * of its header (LWS_CALLBACK_HTTP_BODY). Anything else with a body is
 * answered 413, logged, counted (REF_BODY) and closed; -1 is a length not
 * given up front (Transfer-Encoding). */
static int refuse_body(core *c, struct lws *wsi)
{
    if (httpfb_lws_path(wsi))
        return 0; /* the HTTP fallback's own limits (httpfb_lws.c) */
    long long n = body_length(wsi);
    if (n == 0 || (n > 0 && n <= API_JOIN_BODY_MAX && takes_body(wsi)))
        return 0;
    char ip[48] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    core_metrics(c)->refused[REF_BODY]++;
    log_event(LOG_WARN, "refuse", "ip=%s status=413 reason=%s length=%lld", ip, metrics_refused_label(REF_BODY), n);
    return send_refusal(wsi, request_endpoint(wsi), 413, "request body not accepted here\n");
}

/* LWS_CALLBACK_FILTER_HTTP_CONNECTION, for every request lws serves as
 * HTTP: one that carries a WebSocket key or version without asking to
 * upgrade is a failed handshake, not a request for the page; so is one
 * asking for an upgrade lws would refuse (a later request on a keep-alive
 * connection, which lws does not check itself). A body goes to
 * refuse_body. */
static int filter_http(core *c, struct lws *wsi)
{
    if (core_accept_is_reserve(c, accept_handle(wsi)) && !is_metrics_get(wsi))
        return refuse_reserve(c, wsi);
    hs_request q;
    hs_request_read(wsi, NULL, &q);
    if (upgrade_unknown(wsi))
        return refuse_handshake(c, wsi, &q.r, REF_UPGRADE);
    if (!handshake_attempted(&q.r))
        return refuse_body(c, wsi);
    int reason = handshake_check(&q.r, &(handshake_config){PROTO_SUBPROTOCOL, vhost_knows, lws_get_vhost(wsi)});
    return refuse_handshake(c, wsi, &q.r, reason == HANDSHAKE_OK ? REF_UPGRADE : reason);
}

/* Sends the headers for the body in hs->buf, with one more header when
 * extra_name (lws' form, "www-authenticate:") is given; the body goes out
 * on WRITEABLE. Counted as an answer of endpoint e (EP_N: the caller has). */
static int respond_with(struct lws *wsi, http_session *hs, metrics_endpoint e, unsigned int status, const char *type,
                        const char *extra_name, const char *extra_value)
{
    if (e < EP_N)
        count_answer(wsi, e, (int)status);
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, status, type, hs->len, &p, end) ||
        (extra_name && lws_add_http_header_by_name(wsi, (const unsigned char *)extra_name,
                                                   (const unsigned char *)extra_value, (int)strlen(extra_value),
                                                   &p, end)) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p, end) ||
        (hs->close_after &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond(struct lws *wsi, http_session *hs, metrics_endpoint e, unsigned int status, const char *type)
{
    return respond_with(wsi, hs, e, status, type, NULL, NULL);
}

/* GET /metrics from a peer the scrape rules (scrape.h) turn away: 403
 * for an address outside --metrics-allow, 401 with WWW-Authenticate for
 * a missing or wrong bearer token. Logged at debug: a scraper with the
 * wrong token retries every interval. */
static int refuse_scrape(struct lws *wsi, http_session *hs, int status, const char *ip)
{
    const char *body = status == SCRAPE_FORBIDDEN ? "metrics are not served to this address\n"
                                                  : "metrics need Authorization: Bearer <token>\n";
    size_t n = strlen(body);
    if (!(hs->buf = malloc(LWS_PRE + n)))
        return -1;
    memcpy(hs->buf + LWS_PRE, body, n);
    hs->len = n;
    log_event(LOG_DEBUG, "refuse", "ip=%s status=%d reason=metrics_%s", ip, status,
              status == SCRAPE_FORBIDDEN ? "address" : "token");
    if (status == SCRAPE_FORBIDDEN)
        return respond(wsi, hs, EP_METRICS, HTTP_STATUS_FORBIDDEN, "text/plain; charset=utf-8");
    return respond_with(wsi, hs, EP_METRICS, HTTP_STATUS_UNAUTHORIZED, "text/plain; charset=utf-8", "www-authenticate:",
                        "Bearer realm=\"tickwire metrics\"");
}

/* GET /metrics: the scrape rules, then the exposition text. */
static int serve_metrics(core *c, struct lws *wsi, http_session *hs)
{
    char ip[48] = "", auth[SCRAPE_MAX_TOKEN + 64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    header(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    int st = scrape_check(net_scrape_rules(wsi), ip, auth);
    memset(auth, 0, sizeof auth);
    if (st != SCRAPE_OK)
        return refuse_scrape(wsi, hs, st, ip);
    if (!(hs->buf = malloc(LWS_PRE + METRICS_CAP)))
        return -1;
    char *text = (char *)hs->buf + LWS_PRE;
    metrics_process proc;
    process_sample(&proc);
    /* counted before it is rendered, so a scrape sees itself */
    metrics_http_count(core_metrics(c), EP_METRICS, HTTP_STATUS_OK);
    hs->len = core_metrics_text(c, &proc, text, METRICS_CAP);
    results *res = net_results_of(wsi);
    if (res) {
        results_stats rs;
        results_get_stats(res, &rs);
        hs->len += metrics_render_results(&rs, text + hs->len, METRICS_CAP - hs->len);
    }
    hs->len += net_metrics_extra(wsi, text + hs->len, METRICS_CAP - hs->len);
    recorder *rec = net_recorder_of(wsi);
    if (rec) {
        recorder_stats rst;
        recorder_get_stats(rec, &rst);
        hs->len += metrics_render_replay(&rst, text + hs->len, METRICS_CAP - hs->len);
    }
    return respond(wsi, hs, EP_N, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8");
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
    /* A client fetches one token, then opens the game socket: closing
     * this connection at once keeps it from holding a second place under
     * the per-address cap (a 1000-bot load test from one address). */
    hs->close_after = 1;
    return respond(wsi, hs, EP_API_JOIN, HTTP_STATUS_OK, "application/json");
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
        return respond(wsi, hs, EP_API_MATCHES, HTTP_STATUS_BAD_REQUEST, "application/json");
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
            return respond(wsi, hs, EP_API_MATCHES, HTTP_STATUS_OK, "application/json");
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
            return respond(wsi, hs, EP_API_LIVE, HTTP_STATUS_OK, "application/json");
        }
        free(hs->buf);
        hs->buf = NULL;
    }
    return -1;
}

/* A small JSON or text answer from a static or formatted string. */
static int respond_text(struct lws *wsi, http_session *hs, metrics_endpoint e, unsigned int status, const char *type,
                        const char *text)
{
    size_t n = strlen(text);
    if (!(hs->buf = malloc(LWS_PRE + n)))
        return -1;
    memcpy(hs->buf + LWS_PRE, text, n);
    hs->len = n;
    return respond(wsi, hs, e, status, type);
}

/* GET /api/replays and /api/replays/<name> without --replay-dir. */
static int replays_off(struct lws *wsi, http_session *hs)
{
    return respond_text(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_NOT_FOUND, "application/json",
                        "{\"error\":\"rounds are not recorded here (the server runs without --replay-dir)\"}\n");
}

/* GET /api/replays?limit=N: the newest finished replay files
 * (replay_list_json), N in 1..200 (default 50). */
static int api_replays(replay_list *rl, struct lws *wsi, http_session *hs)
{
    char arg[64];
    int limit = REPLAY_LIST_DEFAULT_LIMIT, found = query_arg(wsi, "limit", arg, sizeof arg);
    if (found < 0 || (found && parse_int("limit", arg, 1, REPLAY_LIST_MAX_LIMIT, &limit, NULL, 0) < 0))
        return respond_text(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_BAD_REQUEST, "application/json",
                            "{\"error\":\"limit must be a whole number in 1..200\"}\n");
    size_t cap = 256 + (size_t)limit * REPLAY_LIST_ENTRY_JSON_MAX;
    if (!(hs->buf = malloc(LWS_PRE + cap)))
        return -1;
    int err = 0;
    hs->len = replay_list_json(rl, limit, (char *)hs->buf + LWS_PRE, cap, &err);
    if (!hs->len) {
        free(hs->buf);
        hs->buf = NULL;
        char body[160];
        log_event(LOG_WARN, "replay_list_failed", "reason=\"%s\"", err ? strerror(err) : "too long");
        snprintf(body, sizeof body, "{\"error\":\"the replay folder cannot be read: %s\"}\n",
                 err ? strerror(err) : "listing too long");
        return respond_text(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_INTERNAL_SERVER_ERROR, "application/json", body);
    }
    return respond(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_OK, "application/json");
}

/* GET /api/replays/<name>: the file's bytes (application/octet-stream),
 * sent REPLAY_CHUNK at a time from the writable callback (http_callback),
 * so a big file never holds the service thread. 400 for a name the
 * recorder does not make (a path, a .tmp, anything else), 404 for none
 * such. */
static int api_replay_file(replay_list *rl, struct lws *wsi, http_session *hs, const char *name)
{
    uint64_t size = 0;
    int fd = replay_list_open(rl, name, &size);
    if (fd < 0 && errno == EINVAL)
        return respond_text(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_BAD_REQUEST, "application/json",
                            "{\"error\":\"not a replay name (tw-<13 digits>-m<match>-r<round>.twr)\"}\n");
    if (fd < 0 && errno == ENOENT)
        return respond_text(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_NOT_FOUND, "application/json",
                            "{\"error\":\"no such replay (deleted by --replay-keep, or never recorded)\"}\n");
    if (fd < 0) {
        log_event(LOG_WARN, "replay_read_failed", "file=%s reason=\"%s\"", name, strerror(errno));
        return respond_text(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_INTERNAL_SERVER_ERROR, "application/json",
                            "{\"error\":\"the replay cannot be read\"}\n");
    }
    if (!(hs->buf = malloc(LWS_PRE + REPLAY_CHUNK))) {
        close(fd);
        return -1;
    }
    hs->file_fd = fd;
    hs->file_on = 1;
    hs->file_off = 0;
    hs->file_left = size;
    hs->len = (size_t)size;
    char disp[128];
    snprintf(disp, sizeof disp, "attachment; filename=\"%.64s\"", name); /* a checked name: <= 39 bytes */
    return respond_with(wsi, hs, EP_API_REPLAYS, HTTP_STATUS_OK, "application/octet-stream",
                        "content-disposition:", disp);
}

static void replay_file_close(http_session *hs)
{
    if (!hs->file_on)
        return;
    close(hs->file_fd);
    hs->file_on = 0;
}

/* The next chunk of a replay file: 0 to go on, -1 to hang up. */
static int replay_file_write(struct lws *wsi, http_session *hs)
{
    size_t n = hs->file_left < REPLAY_CHUNK ? (size_t)hs->file_left : REPLAY_CHUNK;
    ssize_t got = n ? pread(hs->file_fd, hs->buf + LWS_PRE, n, (off_t)hs->file_off) : 0;
    if (got != (ssize_t)n) {
        /* the headers promised its length: all we can do is hang up */
        log_event(LOG_WARN, "replay_read_failed", "reason=\"%s\"", got < 0 ? strerror(errno) : "file shrank");
        return -1;
    }
    int last = hs->file_left == n;
    if (lws_write(wsi, hs->buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    hs->file_off += n;
    hs->file_left -= n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    replay_file_close(hs);
    free(hs->buf);
    hs->buf = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* GET /healthz: the process is alive: its event loop answers (which also
 * runs the tick). 200 while it runs, draining or not. */
static int serve_healthz(core *c, struct lws *wsi, http_session *hs)
{
    char body[96];
    snprintf(body, sizeof body, "{\"status\":\"ok\",\"draining\":%s}\n", core_draining(c) ? "true" : "false");
    return respond_text(wsi, hs, EP_HEALTHZ, HTTP_STATUS_OK, "application/json", body);
}

/* GET /readyz: 200 while new players are taken (core_ready), else 503 with
 * the reason: draining, or full (every match full and no room for another). */
static int serve_readyz(core *c, struct lws *wsi, http_session *hs)
{
    if (core_ready(c))
        return respond_text(wsi, hs, EP_READYZ, HTTP_STATUS_OK, "application/json", "{\"ready\":true}\n");
    const char *body = core_draining(c) ? "{\"ready\":false,\"reason\":\"draining\"}\n"
                                        : "{\"ready\":false,\"reason\":\"full\"}\n";
    return respond_text(wsi, hs, EP_READYZ, HTTP_STATUS_SERVICE_UNAVAILABLE, "application/json", body);
}

/* A request id, a name or a label from the query: 0, or -1 when absent
 * where required, too long, or with a character outside `allowed`
 * (NULL: printable ASCII). */
static int mm_arg(struct lws *wsi, const char *name, char *out, int cap, int required, const char *allowed)
{
    char arg[256]; /* room for every argument of the query, not only this one */
    int found = query_arg(wsi, name, arg, sizeof arg);
    if (found < 0 || (found && (int)strlen(arg) >= cap))
        return -1;
    if (found)
        memcpy(out, arg, strlen(arg) + 1);
    if (!found) {
        out[0] = '\0';
        return required ? -1 : 0;
    }
    size_t n = strlen(out);
    if (required && n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (allowed ? !strchr(allowed, out[i]) : (out[i] < 0x20 || out[i] > 0x7e))
            return -1;
    return 0;
}

static int mm_error(struct lws *wsi, http_session *hs, unsigned int status, const char *msg)
{
    char body[160];
    snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", msg);
    return respond_text(wsi, hs, EP_API_MATCHMAKE, status, "application/json", body);
}

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* POST /api/matchmake?request_id=R&name=N[&label=L][&player_id=P]: a seat
 * somewhere in the fleet and a join token for it (fleet.h). Needs --redis
 * and --token-secret-file (the fleet's shared secret), else 404. 400 for
 * bad arguments, 503 when the fleet is full or Redis cannot be asked. */
static int api_matchmake(core *c, struct lws *wsi, http_session *hs)
{
    char ip[48] = "", auth[SCRAPE_MAX_TOKEN + 64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    header(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    int st = scrape_check(net_matchmaker_rules(wsi), ip, auth);
    memset(auth, 0, sizeof auth);
    if (st != SCRAPE_OK) {
        log_event(LOG_WARN, "refuse", "ip=%s status=401 reason=matchmaker_token path=/api/matchmake", ip);
        static const char body[] = "{\"error\":\"POST /api/matchmake needs Authorization: Bearer <token>\"}\n";
        if (!(hs->buf = malloc(LWS_PRE + sizeof body)))
            return -1;
        memcpy(hs->buf + LWS_PRE, body, sizeof body - 1);
        hs->len = sizeof body - 1;
        return respond_with(wsi, hs, EP_API_MATCHMAKE, HTTP_STATUS_UNAUTHORIZED, "application/json",
                            "www-authenticate:", "Bearer realm=\"tickwire matchmaker\"");
    }
    char rid[FLEET_MAX_REQUEST_ID + 2], name[TOKEN_MAX_NAME + 2], label[TOKEN_MAX_MATCH + 2], pid[24];
    if (mm_arg(wsi, "request_id", rid, sizeof rid, 1, ID_CHARS) < 0 || strlen(rid) < 8 ||
        strlen(rid) > FLEET_MAX_REQUEST_ID)
        return mm_error(wsi, hs, HTTP_STATUS_BAD_REQUEST, "request_id: 8..64 of A-Z a-z 0-9 - _");
    if (mm_arg(wsi, "name", name, sizeof name, 1, NULL) < 0 || strlen(name) > TOKEN_MAX_NAME)
        return mm_error(wsi, hs, HTTP_STATUS_BAD_REQUEST, "name: 1..16 printable characters");
    if (mm_arg(wsi, "label", label, sizeof label, 0, NULL) < 0 || strlen(label) > TOKEN_MAX_MATCH)
        return mm_error(wsi, hs, HTTP_STATUS_BAD_REQUEST, "label: 0..32 printable characters");
    long long player_id = 0;
    if (mm_arg(wsi, "player_id", pid, sizeof pid, 0, "0123456789") < 0 ||
        (pid[0] && parse_long("player_id", pid, 0, LONG_MAX, (long *)&player_id, NULL, 0) < 0))
        return mm_error(wsi, hs, HTTP_STATUS_BAD_REQUEST, "player_id: a whole number");
    char token[TOKEN_MAX_B64 + 1], seat[2 * TOKEN_NONCE_LEN + 1];
    uint8_t nonce[TOKEN_NONCE_LEN];
    if (!core_mint_token(c, (uint64_t)player_id, name, label, FLEET_SEAT_TTL_MS / 1000, token, sizeof token, nonce))
        return -1;
    for (int i = 0; i < TOKEN_NONCE_LEN; i++)
        snprintf(seat + 2 * i, 3, "%02x", nonce[i]);
    hs->mm_slot = net_matchmake(wsi, rid, label, token, seat);
    if (!hs->mm_slot)
        return mm_error(wsi, hs, HTTP_STATUS_SERVICE_UNAVAILABLE, "the fleet directory cannot be reached");
    return 0; /* the answer comes with http_matchmake_done */
}

void http_matchmake_done(struct lws *wsi, const fleet_seat *seat)
{
    http_session *hs = lws_wsi_user(wsi);
    if (!hs)
        return;
    hs->mm_slot = 0;
    char body[768];
    if (seat->result == FLEET_MM_NEW || seat->result == FLEET_MM_RETRY) {
        snprintf(body, sizeof body,
                 "{\"process\":\"%s\",\"url\":\"%s\",\"token\":\"%s\",\"expires_ms\":%lld,\"retry\":%s}\n",
                 seat->process, seat->url, seat->token, (long long)seat->expires_ms,
                 seat->result == FLEET_MM_RETRY ? "true" : "false");
        hs->mm_status = HTTP_STATUS_OK;
    } else {
        snprintf(body, sizeof body, "{\"error\":\"%s\"}\n",
                 seat->result == FLEET_MM_FULL ? "no room in the fleet" : "the fleet directory cannot be reached");
        hs->mm_status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    }
    size_t n = strlen(body);
    if (!(hs->buf = malloc(LWS_PRE + n)))
        return; /* the connection times out */
    memcpy(hs->buf + LWS_PRE, body, n);
    hs->len = n;
    hs->mm_ready = 1;
    lws_callback_on_writable(wsi);
}

/* POST /admin/drain with "Authorization: Bearer <--admin-token-file>":
 * 202, the drain begins (as SIGTERM); 401 without the token. Only with
 * --admin-token-file (404 otherwise, like any unknown path). */
static int serve_admin_drain(core *c, struct lws *wsi, http_session *hs)
{
    char ip[48] = "", auth[SCRAPE_MAX_TOKEN + 64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    header(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    int st = scrape_check(net_admin_rules(wsi), ip, auth);
    memset(auth, 0, sizeof auth);
    if (st != SCRAPE_OK) {
        log_event(LOG_WARN, "refuse", "ip=%s status=401 reason=admin_token path=/admin/drain", ip);
        static const char body[] = "admin endpoints need Authorization: Bearer <token>\n";
        if (!(hs->buf = malloc(LWS_PRE + sizeof body)))
            return -1;
        memcpy(hs->buf + LWS_PRE, body, sizeof body - 1);
        hs->len = sizeof body - 1;
        return respond_with(wsi, hs, EP_ADMIN_DRAIN, HTTP_STATUS_UNAUTHORIZED, "text/plain; charset=utf-8",
                            "www-authenticate:", "Bearer realm=\"tickwire admin\"");
    }
    int already = core_draining(c);
    log_event(LOG_INFO, "admin_drain", "ip=%s already=%d", ip, already);
    net_begin_drain(wsi);
    return respond_text(wsi, hs, EP_ADMIN_DRAIN, (unsigned int)202, "application/json",
                        already ? "{\"draining\":true,\"already\":true}\n" : "{\"draining\":true}\n");
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    http_session *hs = user;
    core *c = net_core_of(wsi);
    /* Only HTTP transactions' callbacks: others (WSI_DESTROY of a game
     * connection) come here with another protocol's user data. */
    if (hs && (reason == LWS_CALLBACK_HTTP_BODY || reason == LWS_CALLBACK_HTTP_BODY_COMPLETION ||
               reason == LWS_CALLBACK_HTTP_WRITEABLE || reason == LWS_CALLBACK_CLOSED_HTTP ||
               reason == LWS_CALLBACK_HTTP_DROP_PROTOCOL) && hs->fb) {
        int rc = httpfb_lws_callback(wsi, reason, &hs->fb, in, len);
        if (rc != HTTPFB_LWS_PASS)
            return rc;
    }
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(c, wsi, in);
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
        return filter_http(c, wsi);
    case LWS_CALLBACK_HTTP: {
        /* The /metrics and /api callback mounts land here, for any path
         * under them: serve exactly GET /metrics, POST /api/join, GET
         * /api/matches[/live], GET /api/replays[/<name>] and the side
         * doors below; anything else is a 404. */
        char uri[128] = "";
        int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        if (lws_hdr_copy(wsi, uri, sizeof uri, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI) < 0)
            uri[0] = '\0'; /* too long for any path served here: 404 */
        if (strncmp(uri, "/tw/", 4) == 0 || strcmp(uri, "/tw") == 0)
            return httpfb_lws_request(wsi, &hs->fb);
        if (!post && strcmp(uri, "/metrics") == 0)
            return serve_metrics(c, wsi, hs);
        if (!post && strcmp(uri, "/api/matches") == 0 && net_results_of(wsi))
            return api_matches(net_results_of(wsi), wsi, hs);
        if (!post && strcmp(uri, "/api/matches/live") == 0)
            return api_live(c, wsi, hs);
        if (!post && (strcmp(uri, "/api/replays") == 0 || strncmp(uri, "/api/replays/", 13) == 0)) {
            replay_list *rl = net_replays_of(wsi);
            if (!rl)
                return replays_off(wsi, hs);
            return uri[12] ? api_replay_file(rl, wsi, hs, uri + 13) : api_replays(rl, wsi, hs);
        }
        if (!post && strcmp(uri, "/healthz") == 0)
            return serve_healthz(c, wsi, hs);
        if (!post && strcmp(uri, "/readyz") == 0)
            return serve_readyz(c, wsi, hs);
        if (post && strcmp(uri, "/api/matchmake") == 0 && net_matchmaker_rules(wsi) && !core_demo_mode(c))
            return api_matchmake(c, wsi, hs);
        if (post && strcmp(uri, "/admin/drain") == 0 && net_admin_rules(wsi)) {
            if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                hs->api_join = 2; /* answer at the body's end */
                hs->body_deadline_us = lws_now_usecs() + (lws_usec_t)net_http_timeout(wsi) * LWS_US_PER_SEC;
                return 0;
            }
            return serve_admin_drain(c, wsi, hs);
        }
        if (post && strcmp(uri, "/api/join") == 0 && core_demo_mode(c)) {
            /* Answer once the (ignored) request body has been read (with
             * a Content-Length header, even "0", lws reports its end). */
            if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                hs->api_join = 1;
                hs->body_deadline_us = lws_now_usecs() + (lws_usec_t)net_http_timeout(wsi) * LWS_US_PER_SEC;
                return 0;
            }
            return api_join(c, wsi, hs);
        }
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        /* /api/join takes no body: read and drop, within the deadline. */
        if (hs && hs->api_join && lws_now_usecs() > hs->body_deadline_us) {
            log_event(LOG_DEBUG, "body_timeout", "path=/api/join");
            return -1;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (hs && (hs->mm_slot || hs->mm_ready))
            return 0; /* the matchmaking answer is still to come: not the end of the transaction */
        if (hs && hs->api_join) {
            int which = hs->api_join;
            hs->api_join = 0;
            return which == 2 ? serve_admin_drain(c, wsi, hs) : api_join(c, wsi, hs);
        }
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (hs && hs->file_on)
            return replay_file_write(wsi, hs);
        if (hs && hs->mm_ready) {
            /* A matchmaking answer: its headers now, the body next time. */
            hs->mm_ready = 0;
            return respond(wsi, hs, EP_API_MATCHMAKE, hs->mm_status, "application/json") ? -1 : 0;
        }
        if (!hs || !hs->buf)
            break;
        int rc = lws_write(wsi, hs->buf + LWS_PRE, hs->len, LWS_WRITE_HTTP_FINAL) < (int)hs->len ? -1 : 0;
        free(hs->buf);
        hs->buf = NULL;
        if (rc || hs->close_after || lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (hs && hs->mm_slot) {
            net_matchmake_cancel(wsi, hs->mm_slot);
            hs->mm_slot = 0;
        }
        if (hs) {
            replay_file_close(hs);
            free(hs->buf);
            hs->buf = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
