/* httpfb_lws: see httpfb_lws.h. One request state per /tw/ request (lws
 * frees the per-session data of protocol 0 between the requests of a
 * keep-alive connection, so the state is freed at DROP_PROTOCOL or
 * CLOSED_HTTP, whichever comes first). A session names its downstream
 * request (stream or held poll) by its wsi; a request names its session by
 * (slot, generation), so either may end first. */
#include "httpfb_lws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http.h"
#include "log.h"
#include "tick_clock.h"

enum { REQ_NONE = 0, REQ_PROBE, REQ_SESSION, REQ_STREAM, REQ_POLL, REQ_INPUT };

#define POLL_ANSWER_CAP (4 * (CORE_MAX_MESSAGE + HTTPFB_FRAME_HEADER))
#define CLOSE_GRACE_S 2

struct httpfb_req {
    int kind;
    int slot;               /* the session, -1: none (or no longer) */
    uint32_t gen;
    uint8_t body[HTTPFB_MAX_INPUT_BODY];
    size_t body_len, body_want;
    int fallback;           /* POST /tw/session: HTTPFB_FB_* */
    char ip[48], peer[64];
    uint8_t *out;           /* an answer's body (LWS_PRE headroom), written at WRITEABLE */
    size_t out_len;
    int answering;          /* headers are out: the body (if any) next, then the transaction ends */
    int released;           /* a held poll let go (replaced, or its session ended): answer a KEEPALIVE */
    int probe_sent;
};

static httpfb_req *req_of(struct lws *wsi)
{
    http_session *hs = lws_wsi_user(wsi);
    return hs ? hs->fb : NULL;
}

static int transport_of(const httpfb_session *s)
{
    return s->mode == HTTPFB_MODE_POLL ? HTTPFB_T_POLL : HTTPFB_T_STREAM;
}

/* ---- answers -------------------------------------------------------------------- */

static const char *phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    default: return "Service Unavailable";
    }
}

/* A refusal (PROTOCOL.md 18.5): one write of the whole answer, counted,
 * logged (one line a second per reason), then the connection is closed
 * (lws sends what it could not write at once first). Returns -1. */
static int refuse(struct lws *wsi, httpfb *t, int status, httpfb_refusal why, const char *text)
{
    uint8_t buf[LWS_PRE + 512];
    char *start = (char *)buf + LWS_PRE, ip[48] = "", uri[64] = "";
    size_t cap = sizeof buf - LWS_PRE;
    int n = snprintf(start, cap,
                     "HTTP/1.1 %d %s\r\n%s%s"
                     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s\n",
                     status, phrase(status), status == 429 ? "Retry-After: 1\r\n" : "",
                     status == 405 ? (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ? "Allow: POST\r\n"
                                                                                       : "Allow: GET\r\n")
                                   : "",
                     strlen(text) + 1, text);
    if (n > 0 && (size_t)n < cap)
        lws_write(wsi, (unsigned char *)start, (size_t)n, LWS_WRITE_HTTP);
    httpfb_get_stats(t)->refused[why]++;
    uint64_t held;
    if (log_ratelimit_pass(httpfb_refuse_log(t, why), tick_clock_now(), &held)) {
        lws_get_peer_simple(wsi, ip, sizeof ip);
        if (lws_hdr_copy(wsi, uri, sizeof uri, lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? WSI_TOKEN_POST_URI
                                                                                                : WSI_TOKEN_GET_URI) < 0)
            uri[0] = '\0';
        log_event(LOG_WARN, "httpfb_refuse", "ip=%s path=%s status=%d reason=%s suppressed=%llu", ip, uri, status,
                  httpfb_refusal_label(why), (unsigned long long)held);
    }
    return -1;
}

/* Headers now (Content-Length: len; none for a 204), the body at the next
 * WRITEABLE, then the next request. */
static int respond(struct lws *wsi, httpfb_req *r, unsigned int status, const uint8_t *body, size_t len)
{
    free(r->out);
    r->out = NULL;
    r->out_len = len;
    if (len) {
        if (!(r->out = malloc(LWS_PRE + len)))
            return -1;
        memcpy(r->out + LWS_PRE, body, len);
    }
    uint8_t hdr[LWS_PRE + 256], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if ((status == 204 ? lws_add_http_header_status(wsi, status, &p, end)
                       : lws_add_http_common_headers(wsi, status, "application/octet-stream", len, &p, end)) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p,
                                     end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (!len) {
        /* Nothing follows the headers: the transaction ends now, before
         * the client's next request on this connection can arrive (it may
         * send it as soon as it has the headers). r is freed with it. */
        r->kind = REQ_NONE;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    r->answering = 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int finish_answer(struct lws *wsi, httpfb_req *r)
{
    r->answering = 0;
    if (r->out_len && lws_write(wsi, r->out + LWS_PRE, r->out_len, LWS_WRITE_HTTP_FINAL) < (int)r->out_len)
        return -1;
    free(r->out);
    r->out = NULL;
    r->out_len = 0;
    r->kind = REQ_NONE;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The headers of a response that streams frames (a stream, the probe):
 * no length, so lws says Connection: close; chunked by us. */
static int stream_headers(struct lws *wsi)
{
    static const char te[] = "chunked", cc[] = "no-store, no-transform", xab[] = "no";
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, 200, "application/octet-stream", LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, (const unsigned char *)te, 7, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)cc,
                                     (int)sizeof cc - 1, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-accel-buffering:", (const unsigned char *)xab, 2,
                                    &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    return 0;
}

/* Writes data[0..n) as one chunk (and the last chunk after it when last);
 * data has 16 bytes of room before it and 7 after. */
static int write_chunk(struct lws *wsi, uint8_t *data, size_t n, int last)
{
    char head[16];
    int hl = snprintf(head, sizeof head, "%zx\r\n", n);
    uint8_t *start = data - hl;
    memcpy(start, head, (size_t)hl);
    memcpy(data + n, "\r\n", 2);
    size_t total = (size_t)hl + n + 2;
    if (last) {
        memcpy(data + n + 2, "0\r\n\r\n", 5);
        total += 5;
    }
    return lws_write(wsi, start, total, LWS_WRITE_HTTP) < (int)total ? -1 : 0;
}

/* ---- sessions ------------------------------------------------------------------ */

/* The session is over: the core hears its connection closed (the player
 * is held or leaves by the core's rules), its place under the caps is
 * given back, a downstream still open is cut. The caller flushes. */
static void fb_end(httpfb *t, core *c, httpfb_session *s, int64_t now_us)
{
    httpfb_stats *st = httpfb_get_stats(t);
    if (s->mode != HTTPFB_MODE_NONE)
        st->sessions[transport_of(s)]--;
    if (s->down) {
        httpfb_req *r = req_of(s->down);
        if (r)
            r->slot = -1;
        lws_set_timeout(s->down, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
    }
    uint32_t conn = s->conn, accepted = s->accepted;
    httpfb_close(t, s);
    if (conn)
        core_conn_closed(c, conn, now_us);
    core_accept_closed(c, accepted);
}

void httpfb_lws_action(httpfb *t, httpfb_session *s, const core_action *a)
{
    (void)t;
    switch (a->kind) {
    case CORE_WAKE:
        s->wake = 1;
        if (s->down)
            lws_callback_on_writable(s->down);
        break;
    case CORE_CLOSE:
        s->close_code = a->code;
        s->close_why = a->reason;
        if (s->down) {
            lws_callback_on_writable(s->down);
            if (s->mode == HTTPFB_MODE_STREAM) /* a peer that does not read: cut off after the grace */
                lws_set_timeout(s->down, PENDING_TIMEOUT_USER_REASON_BASE, CLOSE_GRACE_S);
        }
        break;
    case CORE_ABORT:
        s->ending = 1;
        if (s->down)
            lws_set_timeout(s->down, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_ASYNC);
        break;
    default:
        break;
    }
}

void httpfb_lws_service(httpfb *t, core *c, int64_t now_us)
{
    for (int i = 0; i < httpfb_high(t); i++) {
        httpfb_session *s = httpfb_index(t, i);
        if (!s)
            continue;
        switch (httpfb_due(s, now_us)) {
        case HTTPFB_DUE_END:
            if (s->mode == HTTPFB_MODE_NONE)
                log_event(LOG_DEBUG, "httpfb_end", "reason=\"no stream or poll in %d ms\"", HTTPFB_ATTACH_MS);
            else if (s->mode == HTTPFB_MODE_POLL && !s->ending)
                log_event(LOG_DEBUG, "httpfb_end", "reason=\"no poll in %d ms\"", HTTPFB_POLL_GAP_MS);
            fb_end(t, c, s, now_us);
            break;
        case HTTPFB_DUE_KEEPALIVE:
            s->keepalive = 1;
            lws_callback_on_writable(s->down);
            break;
        default:
            break;
        }
    }
}

void httpfb_lws_shutdown(httpfb *t, core *c, int64_t now_us)
{
    for (int i = 0; i < httpfb_high(t); i++) {
        httpfb_session *s = httpfb_index(t, i);
        if (s && !s->down)
            fb_end(t, c, s, now_us);
    }
}

/* ---- requests -------------------------------------------------------------------- */

int httpfb_lws_path(struct lws *wsi)
{
    char uri[512];
    enum lws_token_indexes t = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? WSI_TOKEN_POST_URI
                                                                                : WSI_TOKEN_GET_URI;
    if (lws_hdr_total_length(wsi, t) < 3 || lws_hdr_copy(wsi, uri, sizeof uri, t) < 0)
        return 0;
    return strncmp(uri, "/tw/", 4) == 0 || strcmp(uri, "/tw") == 0;
}

/* The session a request names (?sid=) and proves (Authorization: Bearer),
 * or a refusal (404, 403) returned through *rc. */
static httpfb_session *named_session(struct lws *wsi, httpfb *t, int *rc)
{
    char arg[80], auth[HTTPFB_MAX_CREDENTIAL + 32];
    uint8_t sid[HTTPFB_SID_LEN];
    const char *v = lws_get_urlarg_by_name(wsi, "sid=", arg, sizeof arg);
    httpfb_session *s = v && httpfb_sid_parse(v, sid) == 0 ? httpfb_find(t, sid) : NULL;
    if (!s || s->ending) {
        *rc = refuse(wsi, t, 404, HTTPFB_REF_UNKNOWN, "no such session");
        return NULL;
    }
    int n = lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    int ok = n > 7 && strncasecmp(auth, "bearer ", 7) == 0 && httpfb_credential_ok(s, auth + 7, (size_t)n - 7);
    memset(auth, 0, sizeof auth);
    if (!ok) {
        *rc = refuse(wsi, t, 403, HTTPFB_REF_CREDENTIAL, "not this session's credential");
        return NULL;
    }
    return s;
}

static void attach(httpfb *t, httpfb_session *s, httpfb_mode mode)
{
    httpfb_stats *st = httpfb_get_stats(t);
    s->mode = mode;
    st->sessions_total[transport_of(s)]++;
    st->sessions[transport_of(s)]++;
}

static int open_stream(struct lws *wsi, httpfb_req *r, httpfb *t, httpfb_session *s)
{
    if (s->mode != HTTPFB_MODE_NONE)
        return refuse(wsi, t, 409, HTTPFB_REF_CONFLICT,
                      s->mode == HTTPFB_MODE_STREAM ? "this session already has a stream" : "this session polls");
    int sndbuf = net_client_sndbuf(wsi);
    setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (stream_headers(wsi))
        return -1;
    attach(t, s, HTTPFB_MODE_STREAM);
    s->down = wsi;
    s->last_frame_us = tick_clock_now();
    r->kind = REQ_STREAM;
    r->slot = httpfb_slot(t, s);
    r->gen = s->gen;
    lws_callback_on_writable(wsi);
    return 0;
}

static int open_poll(struct lws *wsi, httpfb_req *r, httpfb *t, httpfb_session *s)
{
    if (s->mode == HTTPFB_MODE_STREAM)
        return refuse(wsi, t, 409, HTTPFB_REF_CONFLICT, "this session has a stream");
    if (s->mode == HTTPFB_MODE_NONE)
        attach(t, s, HTTPFB_MODE_POLL);
    if (s->down) { /* the held poll is let go with a KEEPALIVE */
        httpfb_req *old = req_of(s->down);
        if (old) {
            old->released = 1;
            old->slot = -1;
        }
        lws_callback_on_writable(s->down);
    }
    s->down = wsi;
    s->poll_since_us = tick_clock_now();
    r->kind = REQ_POLL;
    r->slot = httpfb_slot(t, s);
    r->gen = s->gen;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    lws_callback_on_writable(wsi);
    return 0;
}

/* A POST's length rule: 411 without Content-Length (or chunked), 400 for
 * 0, 413 over max. 0 when it may be read. */
static int body_rule(struct lws *wsi, httpfb *t, httpfb_req *r, size_t max, int *rc)
{
    char v[32];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS)
        || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0
#endif
    ) {
        *rc = refuse(wsi, t, 411, HTTPFB_REF_LENGTH, "a body needs Content-Length");
        return -1;
    }
    if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0 || strspn(v, "0123456789") != strlen(v)) {
        *rc = refuse(wsi, t, 413, HTTPFB_REF_TOO_LARGE, "body too large");
        return -1;
    }
    long long n = atoll(v);
    if (n == 0) {
        *rc = refuse(wsi, t, 400, HTTPFB_REF_TRUNCATED, "empty body");
        return -1;
    }
    if (n < 0 || (size_t)n > max) {
        *rc = refuse(wsi, t, 413, HTTPFB_REF_TOO_LARGE, "body too large");
        return -1;
    }
    r->body_want = (size_t)n;
    r->body_len = 0;
    return 0;
}

int httpfb_lws_request(struct lws *wsi, httpfb_req **req)
{
    httpfb *t = net_httpfb_of(wsi);
    core *c = net_core_of(wsi);
    if (!*req && !(*req = calloc(1, sizeof **req)))
        return -1;
    httpfb_req *r = *req;
    free(r->out);
    memset(r, 0, sizeof *r);
    r->slot = -1;
    int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    int get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    char uri[32] = "", origin[256] = "", host[256] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI) < 0)
        uri[0] = '\0';
    lws_get_peer_simple(wsi, r->ip, sizeof r->ip);
    int want_post = strcmp(uri, "/tw/session") == 0 || strcmp(uri, "/tw/input") == 0;
    int want_get = strcmp(uri, "/tw/stream") == 0 || strcmp(uri, "/tw/poll") == 0 || strcmp(uri, "/tw/probe") == 0;
    if (!want_post && !want_get)
        return refuse(wsi, t, 404, HTTPFB_REF_UNKNOWN, "no such endpoint");
    if ((want_post && !post) || (want_get && !get))
        return refuse(wsi, t, 405, HTTPFB_REF_METHOD, want_post ? "POST only" : "GET only");
    lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    if (core_admit(c, origin, host, r->ip))
        return refuse(wsi, t, 403, HTTPFB_REF_ORIGIN, "origin not allowed");
    int rc = 0;
    if (strcmp(uri, "/tw/probe") == 0) {
        if (stream_headers(wsi))
            return -1;
        httpfb_get_stats(t)->probes++;
        r->kind = REQ_PROBE;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, HTTPFB_PROBE_HOLD_MS / 1000);
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (strcmp(uri, "/tw/session") == 0) {
        if (body_rule(wsi, t, r, PROTO_MAX_JOIN_MSG, &rc))
            return rc;
        char arg[32];
        r->fallback = httpfb_fallback_reason(lws_get_urlarg_by_name(wsi, "fallback=", arg, sizeof arg));
        r->kind = REQ_SESSION;
        return 0; /* the body, then BODY_COMPLETION */
    }
    httpfb_session *s = named_session(wsi, t, &rc);
    if (!s)
        return rc;
    if (strcmp(uri, "/tw/stream") == 0)
        return open_stream(wsi, r, t, s);
    if (strcmp(uri, "/tw/poll") == 0)
        return open_poll(wsi, r, t, s);
    /* POST /tw/input */
    if (body_rule(wsi, t, r, HTTPFB_MAX_INPUT_BODY, &rc))
        return rc;
    if (!httpfb_post_charge(s, core_tick_rate(c), tick_clock_now()))
        return refuse(wsi, t, 429, HTTPFB_REF_FLOOD, "too many requests for this session");
    r->kind = REQ_INPUT;
    r->slot = httpfb_slot(t, s);
    r->gen = s->gen;
    return 0;
}

/* POST /tw/session's body has come: open a session and hand the core the
 * JOIN. Answered with a SESSION frame, or the CLOSE frame of a JOIN the
 * core refused at once. */
static int session_open(struct lws *wsi, httpfb_req *r, httpfb *t, core *c)
{
    int64_t now = tick_clock_now();
    char cred[HTTPFB_MAX_CREDENTIAL + 1];
    size_t cl = httpfb_join_credential(r->body, r->body_len, cred, sizeof cred);
    uint32_t accepted = core_accept(c, now, r->ip);
    if (!accepted)
        return refuse(wsi, t, 503, HTTPFB_REF_FULL, "connection limit reached, try again later");
    httpfb_session *s = httpfb_open(t, now, cred, cl);
    if (!s) {
        core_accept_closed(c, accepted);
        return refuse(wsi, t, 503, HTTPFB_REF_FULL, "no session can be had, try again later");
    }
    s->accepted = accepted;
    snprintf(r->peer, sizeof r->peer, "%s(http)", r->ip);
    s->conn = core_conn_open(c, now, s, r->peer, r->ip);
    if (!s->conn) {
        fb_end(t, c, s, now);
        net_flush(wsi);
        return refuse(wsi, t, 503, HTTPFB_REF_FULL, "no session can be had, try again later");
    }
    core_conn_recv(c, s->conn, now, r->body, r->body_len, 0, 1, 0);
    net_flush(wsi);
    uint8_t out[HTTPFB_FRAME_HEADER + 2 + HTTPFB_MAX_CLOSE_REASON];
    size_t n;
    if (s->close_code || s->ending) {
        n = httpfb_close_frame(out, sizeof out, s->close_code ? s->close_code : 1011, s->close_why);
        fb_end(t, c, s, now);
        net_flush(wsi);
    } else {
        n = httpfb_frame(out, sizeof out, HTTPFB_SESSION, s->sid, HTTPFB_SID_LEN);
        httpfb_get_stats(t)->fallbacks[r->fallback]++;
    }
    return respond(wsi, r, 200, out, n);
}

/* POST /tw/input's body has come: all frames or none, to the core in order. */
static int input_deliver(struct lws *wsi, httpfb_req *r, httpfb *t, core *c)
{
    httpfb_session *s = httpfb_at(t, r->slot, r->gen);
    if (!s || s->ending)
        return refuse(wsi, t, 404, HTTPFB_REF_UNKNOWN, "no such session");
    httpfb_frame_in frames[HTTPFB_MAX_INPUT_FRAMES];
    int nf, err = httpfb_parse_input(r->body, r->body_len, frames, HTTPFB_MAX_INPUT_FRAMES, &nf);
    if (err)
        return refuse(wsi, t, 400, err == HTTPFB_BODY_TRUNCATED || err == HTTPFB_BODY_EMPTY ? HTTPFB_REF_TRUNCATED
                                                                                          : HTTPFB_REF_FRAME,
                      httpfb_body_err_str(err));
    httpfb_stats *st = httpfb_get_stats(t);
    int64_t now = tick_clock_now();
    for (int i = 0; i < nf && s->conn && !s->close_code && !s->ending; i++) {
        if (frames[i].kind == HTTPFB_MESSAGE) {
            core_conn_recv(c, s->conn, now, frames[i].payload, frames[i].len, 0, 1, 0);
            if (s->mode != HTTPFB_MODE_NONE)
                st->msgs_in[transport_of(s)]++;
        } else {
            /* The client leaves (1000/1001) or drops (4000): the stream
             * ends with a CLOSE frame echoing the code. */
            core_conn_peer_close(c, s->conn, frames[i].code);
            s->close_code = frames[i].code;
            s->close_why = "";
            if (s->down)
                lws_callback_on_writable(s->down);
        }
        net_flush(wsi);
        s = httpfb_at(t, r->slot, r->gen); /* still ours? */
        if (!s)
            break;
    }
    if (s && s->mode != HTTPFB_MODE_NONE)
        st->bytes_in[transport_of(s)] += r->body_len;
    return respond(wsi, r, 204, NULL, 0);
}

/* A stream can take bytes: the HELLO first, then one message (or the
 * CLOSE frame, or an owed KEEPALIVE) as one chunk. */
static int stream_writeable(struct lws *wsi, httpfb_req *r, httpfb *t, core *c)
{
    httpfb_session *s = httpfb_at(t, r->slot, r->gen);
    if (!s)
        return -1;
    uint8_t buf[LWS_PRE + 16 + 8 + CORE_MAX_MESSAGE + 2 * HTTPFB_FRAME_HEADER + 2 + HTTPFB_MAX_CLOSE_REASON + 8];
    uint8_t *data = buf + LWS_PRE + 16;
    size_t n = 0;
    int64_t now = tick_clock_now();
    httpfb_stats *st = httpfb_get_stats(t);
    if (!s->hello_sent) {
        uint8_t v = PROTO_VERSION;
        n += httpfb_frame(data, 8, HTTPFB_HELLO, &v, 1);
        s->hello_sent = 1;
    }
    int last = 0;
    if (s->close_code) {
        n += httpfb_close_frame(data + n, HTTPFB_FRAME_HEADER + 2 + HTTPFB_MAX_CLOSE_REASON, s->close_code,
                                s->close_why);
        last = 1;
    } else {
        s->wake = 0;
        size_t m = s->conn ? core_conn_writable(c, s->conn, now, data + n + HTTPFB_FRAME_HEADER, CORE_MAX_MESSAGE) : 0;
        if (m) {
            httpfb_frame_header(data + n, HTTPFB_MESSAGE, m);
            n += HTTPFB_FRAME_HEADER + m;
            st->msgs_out[HTTPFB_T_STREAM]++;
        } else if (s->keepalive) {
            n += httpfb_frame(data + n, HTTPFB_FRAME_HEADER, HTTPFB_KEEPALIVE, NULL, 0);
        }
        s->keepalive = 0;
        net_flush(wsi);
        if (!(s = httpfb_at(t, r->slot, r->gen)))
            return -1;
    }
    if (!n)
        return 0;
    st->bytes_out[HTTPFB_T_STREAM] += n;
    s->last_frame_us = now;
    if (write_chunk(wsi, data, n, last))
        return -1;
    if (last) {
        r->slot = -1;
        s->down = NULL;
        fb_end(t, c, s, now);
        net_flush(wsi);
        return -1;
    }
    return 0;
}

/* A held poll can be answered: everything waiting, or a KEEPALIVE when the
 * hold is over; nothing yet: stay held. */
static int poll_writeable(struct lws *wsi, httpfb_req *r, httpfb *t, core *c)
{
    uint8_t body[POLL_ANSWER_CAP + 64];
    size_t n = 0;
    if (r->released)
        return respond(wsi, r, 200, body, httpfb_frame(body, sizeof body, HTTPFB_KEEPALIVE, NULL, 0));
    httpfb_session *s = httpfb_at(t, r->slot, r->gen);
    if (!s)
        return -1;
    int64_t now = tick_clock_now();
    httpfb_stats *st = httpfb_get_stats(t);
    if (!s->hello_sent) {
        uint8_t v = PROTO_VERSION;
        n += httpfb_frame(body, sizeof body, HTTPFB_HELLO, &v, 1);
        s->hello_sent = 1;
    }
    s->wake = 0;
    while (s->conn && !s->close_code && sizeof body - n >= CORE_MAX_MESSAGE + HTTPFB_FRAME_HEADER + 2 * 64) {
        size_t m = core_conn_writable(c, s->conn, now, body + n + HTTPFB_FRAME_HEADER, CORE_MAX_MESSAGE);
        if (!m)
            break;
        httpfb_frame_header(body + n, HTTPFB_MESSAGE, m);
        n += HTTPFB_FRAME_HEADER + m;
        st->msgs_out[HTTPFB_T_POLL]++;
    }
    net_flush(wsi);
    if (!(s = httpfb_at(t, r->slot, r->gen)))
        return -1;
    int last = 0;
    if (s->close_code) {
        n += httpfb_close_frame(body + n, sizeof body - n, s->close_code, s->close_why);
        last = 1;
    } else if (!n && s->keepalive) {
        n += httpfb_frame(body + n, sizeof body - n, HTTPFB_KEEPALIVE, NULL, 0);
    }
    if (!n)
        return 0; /* held on */
    s->keepalive = 0;
    s->down = NULL;
    s->last_down_us = now;
    st->bytes_out[HTTPFB_T_POLL] += n;
    r->slot = -1;
    if (last) {
        fb_end(t, c, s, now);
        net_flush(wsi);
    }
    return respond(wsi, r, 200, body, n);
}

static int probe_writeable(struct lws *wsi, httpfb_req *r)
{
    if (r->probe_sent)
        return 0;
    r->probe_sent = 1;
    uint8_t buf[LWS_PRE + 16 + 8 + 8], v = PROTO_VERSION;
    uint8_t *data = buf + LWS_PRE + 16;
    return write_chunk(wsi, data, httpfb_frame(data, 8, HTTPFB_HELLO, &v, 1), 0);
}

/* The request is over (its connection closed, or lws moves on): a stream
 * that ends is its session's drop; a held poll only lets go. */
static void req_done(struct lws *wsi, httpfb_req **req)
{
    httpfb_req *r = *req;
    if (!r)
        return;
    httpfb *t = net_httpfb_of(wsi);
    httpfb_session *s = r->slot >= 0 ? httpfb_at(t, r->slot, r->gen) : NULL;
    if (s && s->down == wsi) {
        s->down = NULL;
        if (r->kind == REQ_STREAM) {
            fb_end(t, net_core_of(wsi), s, tick_clock_now());
            net_flush(wsi);
        } else {
            s->last_down_us = tick_clock_now();
        }
    }
    free(r->out);
    free(r);
    *req = NULL;
}

int httpfb_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, httpfb_req **req, void *in, size_t len)
{
    httpfb_req *r = *req;
    if (!r)
        return HTTPFB_LWS_PASS;
    httpfb *t = net_httpfb_of(wsi);
    core *c = net_core_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_HTTP_BODY:
        if (r->kind != REQ_SESSION && r->kind != REQ_INPUT)
            return HTTPFB_LWS_PASS;
        if (len > r->body_want - r->body_len)
            return -1; /* more than Content-Length: lws does not let this happen */
        memcpy(r->body + r->body_len, in, len);
        r->body_len += len;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (r->kind == REQ_SESSION)
            return session_open(wsi, r, t, c);
        if (r->kind == REQ_INPUT)
            return input_deliver(wsi, r, t, c);
        return HTTPFB_LWS_PASS;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (r->answering)
            return finish_answer(wsi, r);
        if (r->kind == REQ_STREAM)
            return stream_writeable(wsi, r, t, c);
        if (r->kind == REQ_POLL)
            return poll_writeable(wsi, r, t, c);
        if (r->kind == REQ_PROBE)
            return probe_writeable(wsi, r);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        req_done(wsi, req);
        return HTTPFB_LWS_PASS;
    default:
        return HTTPFB_LWS_PASS;
    }
}
