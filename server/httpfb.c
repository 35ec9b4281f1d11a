/* httpfb: see httpfb.h. */
#include "httpfb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpfb {
    httpfb_session *slots;
    int cap;
    int high;               /* slots[0..high) have been used */
    int nused;
    int free_head;          /* -1: none; chained through hnext */
    int *buckets;           /* sid hash -> slot, -1: none */
    int nbuckets;           /* power of two */
    httpfb_random_fn random;
    void *random_user;
    httpfb_stats stats;
    log_ratelimit refuse_log[HTTPFB_REF_N];
};

/* ---- frames ----------------------------------------------------------------- */

void httpfb_frame_header(uint8_t *out, int kind, size_t len)
{
    out[0] = (uint8_t)kind;
    out[1] = (uint8_t)(len & 0xff);
    out[2] = (uint8_t)(len >> 8);
}

size_t httpfb_frame(uint8_t *out, size_t cap, int kind, const void *payload, size_t len)
{
    if (len > 0xffff || cap < HTTPFB_FRAME_HEADER + len)
        return 0;
    httpfb_frame_header(out, kind, len);
    if (len)
        memmove(out + HTTPFB_FRAME_HEADER, payload, len);
    return HTTPFB_FRAME_HEADER + len;
}

size_t httpfb_close_frame(uint8_t *out, size_t cap, uint16_t code, const char *reason)
{
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > HTTPFB_MAX_CLOSE_REASON)
        rl = HTTPFB_MAX_CLOSE_REASON;
    if (cap < HTTPFB_FRAME_HEADER + 2 + rl)
        return 0;
    httpfb_frame_header(out, HTTPFB_CLOSE, 2 + rl);
    out[3] = (uint8_t)(code & 0xff);
    out[4] = (uint8_t)(code >> 8);
    if (rl)
        memcpy(out + 5, reason, rl);
    return HTTPFB_FRAME_HEADER + 2 + rl;
}

int httpfb_parse_input(const uint8_t *body, size_t len, httpfb_frame_in *frames, int max, int *n)
{
    *n = 0;
    if (len == 0)
        return HTTPFB_BODY_EMPTY;
    size_t off = 0;
    int closed = 0;
    while (off < len) {
        if (len - off < HTTPFB_FRAME_HEADER)
            return HTTPFB_BODY_TRUNCATED;
        int kind = body[off];
        size_t fl = (size_t)body[off + 1] | (size_t)body[off + 2] << 8;
        if (len - off - HTTPFB_FRAME_HEADER < fl)
            return HTTPFB_BODY_TRUNCATED;
        if (closed)
            return HTTPFB_BODY_AFTER_CLOSE;
        if ((kind != HTTPFB_MESSAGE && kind != HTTPFB_CLOSE) || (kind == HTTPFB_CLOSE && fl < 2))
            return HTTPFB_BODY_KIND;
        if (*n == max)
            return HTTPFB_BODY_TOO_MANY;
        const uint8_t *p = body + off + HTTPFB_FRAME_HEADER;
        frames[*n] = (httpfb_frame_in){kind, p, fl, kind == HTTPFB_CLOSE ? (uint16_t)(p[0] | p[1] << 8) : 0};
        (*n)++;
        closed = kind == HTTPFB_CLOSE;
        off += HTTPFB_FRAME_HEADER + fl;
    }
    return HTTPFB_BODY_OK;
}

const char *httpfb_body_err_str(int err)
{
    switch (err) {
    case HTTPFB_BODY_OK: return "ok";
    case HTTPFB_BODY_EMPTY: return "empty body";
    case HTTPFB_BODY_TRUNCATED: return "body ends inside a frame";
    case HTTPFB_BODY_KIND: return "a frame of a kind a client may not send";
    case HTTPFB_BODY_AFTER_CLOSE: return "a frame after a close frame";
    case HTTPFB_BODY_TOO_MANY: return "too many frames";
    default: return "bad body";
    }
}

/* ---- ids and credentials -------------------------------------------------------- */

int httpfb_sid_parse(const char *hex, uint8_t out[HTTPFB_SID_LEN])
{
    if (!hex || strlen(hex) != HTTPFB_SID_HEX)
        return -1;
    for (int i = 0; i < HTTPFB_SID_LEN; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = hex[2 * i + k];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v << 4 | d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

void httpfb_sid_format(const uint8_t sid[HTTPFB_SID_LEN], char out[HTTPFB_SID_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < HTTPFB_SID_LEN; i++) {
        out[2 * i] = digits[sid[i] >> 4];
        out[2 * i + 1] = digits[sid[i] & 15];
    }
    out[HTTPFB_SID_HEX] = '\0';
}

size_t httpfb_join_credential(const uint8_t *join, size_t len, char *out, size_t cap)
{
    proto_join j;
    if (cap < 2 * PROTO_RESUME_LEN + 1 || proto_join_read(join, len, &j) != 0)
        return 0;
    if (j.token_len) {
        if ((size_t)j.token_len + 1 > cap)
            return 0;
        memcpy(out, j.token, j.token_len);
        out[j.token_len] = '\0';
        return j.token_len;
    }
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < PROTO_RESUME_LEN; i++) {
        out[2 * i] = digits[j.resume[i] >> 4];
        out[2 * i + 1] = digits[j.resume[i] & 15];
    }
    out[2 * PROTO_RESUME_LEN] = '\0';
    return 2 * PROTO_RESUME_LEN;
}

/* ---- the table -------------------------------------------------------------------- */

httpfb *httpfb_create(int capacity, httpfb_random_fn random, void *random_user)
{
    httpfb *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = capacity > 0 ? capacity : 1;
    t->nbuckets = 16;
    while (t->nbuckets < 2 * t->cap)
        t->nbuckets *= 2;
    t->slots = calloc((size_t)t->cap, sizeof *t->slots);
    t->buckets = malloc((size_t)t->nbuckets * sizeof *t->buckets);
    if (!t->slots || !t->buckets) {
        httpfb_destroy(t);
        return NULL;
    }
    for (int i = 0; i < t->nbuckets; i++)
        t->buckets[i] = -1;
    t->free_head = -1;
    t->random = random;
    t->random_user = random_user;
    for (int i = 0; i < HTTPFB_REF_N; i++)
        t->refuse_log[i].interval_us = 1000000;
    return t;
}

void httpfb_destroy(httpfb *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->buckets);
    free(t);
}

log_ratelimit *httpfb_refuse_log(httpfb *t, httpfb_refusal r)
{
    return &t->refuse_log[r < HTTPFB_REF_N ? r : 0];
}

httpfb_stats *httpfb_get_stats(httpfb *t)
{
    return &t->stats;
}

/* The ids are uniformly random: their first bytes are a fine hash. */
static int bucket_of(const httpfb *t, const uint8_t sid[HTTPFB_SID_LEN])
{
    uint32_t h = (uint32_t)sid[0] | (uint32_t)sid[1] << 8 | (uint32_t)sid[2] << 16 | (uint32_t)sid[3] << 24;
    return (int)(h & (uint32_t)(t->nbuckets - 1));
}

httpfb_session *httpfb_find(httpfb *t, const uint8_t sid[HTTPFB_SID_LEN])
{
    for (int i = t->buckets[bucket_of(t, sid)]; i >= 0; i = t->slots[i].hnext)
        if (memcmp(t->slots[i].sid, sid, HTTPFB_SID_LEN) == 0)
            return &t->slots[i];
    return NULL;
}

httpfb_session *httpfb_open(httpfb *t, int64_t now_us, const char *cred, size_t cred_len)
{
    if (cred_len > HTTPFB_MAX_CREDENTIAL)
        return NULL;
    int i;
    if (t->free_head >= 0) {
        i = t->free_head;
        t->free_head = t->slots[i].hnext;
    } else if (t->high < t->cap) {
        i = t->high++;
    } else {
        return NULL;
    }
    httpfb_session *s = &t->slots[i];
    uint32_t gen = s->gen;
    memset(s, 0, sizeof *s);
    s->gen = gen;
    s->used = 1;
    do /* a collision of 128 random bits will not happen; checked anyway */
        t->random(t->random_user, s->sid, HTTPFB_SID_LEN);
    while (httpfb_find(t, s->sid));
    memcpy(s->cred, cred, cred_len);
    s->cred[cred_len] = '\0';
    s->cred_len = cred_len;
    s->created_us = s->last_frame_us = now_us;
    int b = bucket_of(t, s->sid);
    s->hnext = t->buckets[b];
    t->buckets[b] = i;
    t->nused++;
    return s;
}

int httpfb_credential_ok(const httpfb_session *s, const char *cred, size_t len)
{
    /* Compare every byte of the longer: the time tells nothing of where
     * they differ. */
    size_t n = len > s->cred_len ? len : s->cred_len;
    unsigned diff = (unsigned)(len != s->cred_len);
    for (size_t i = 0; i < n && i <= HTTPFB_MAX_CREDENTIAL; i++) {
        unsigned char a = i < s->cred_len ? (unsigned char)s->cred[i] : 0;
        unsigned char b = i < len ? (unsigned char)cred[i] : 0;
        diff |= (unsigned)(a ^ b);
    }
    return diff == 0 && len <= HTTPFB_MAX_CREDENTIAL;
}

void httpfb_close(httpfb *t, httpfb_session *s)
{
    if (!s || !s->used)
        return;
    int i = (int)(s - t->slots);
    int *link = &t->buckets[bucket_of(t, s->sid)];
    while (*link >= 0 && *link != i)
        link = &t->slots[*link].hnext;
    if (*link == i)
        *link = s->hnext;
    uint32_t gen = s->gen + 1;
    memset(s, 0, sizeof *s);
    s->gen = gen;
    s->hnext = t->free_head;
    t->free_head = i;
    t->nused--;
}

httpfb_session *httpfb_of(httpfb *t, const void *p)
{
    const httpfb_session *s = p;
    if (!t || s < t->slots || s >= t->slots + t->cap)
        return NULL;
    httpfb_session *hit = &t->slots[s - t->slots];
    return hit == p && hit->used ? hit : NULL;
}

int httpfb_slot(const httpfb *t, const httpfb_session *s)
{
    return (int)(s - t->slots);
}

httpfb_session *httpfb_at(httpfb *t, int slot, uint32_t gen)
{
    if (slot < 0 || slot >= t->high || !t->slots[slot].used || t->slots[slot].gen != gen)
        return NULL;
    return &t->slots[slot];
}

int httpfb_high(const httpfb *t)
{
    return t->high;
}

httpfb_session *httpfb_index(httpfb *t, int i)
{
    return i >= 0 && i < t->high && t->slots[i].used ? &t->slots[i] : NULL;
}

int httpfb_count(const httpfb *t)
{
    return t->nused;
}

int httpfb_post_charge(httpfb_session *s, int tick_rate, int64_t now_us)
{
    const double rate = tick_rate, burst = tick_rate / 2 > 1 ? tick_rate / 2 : 1;
    if (!s->post_us) {
        s->post_tokens = burst;
    } else if (now_us > s->post_us) {
        s->post_tokens += (double)(now_us - s->post_us) * 1e-6 * rate;
        if (s->post_tokens > burst)
            s->post_tokens = burst;
    }
    s->post_us = now_us ? now_us : 1;
    if (s->post_tokens < 1.0)
        return 0;
    s->post_tokens -= 1.0;
    return 1;
}

int httpfb_due(const httpfb_session *s, int64_t now_us)
{
    if (s->ending)
        return HTTPFB_DUE_END;
    if (s->mode == HTTPFB_MODE_NONE)
        return now_us - s->created_us > (int64_t)HTTPFB_ATTACH_MS * 1000 ? HTTPFB_DUE_END : HTTPFB_DUE_NONE;
    if (s->mode == HTTPFB_MODE_POLL) {
        if (!s->down)
            return now_us - s->last_down_us > (int64_t)HTTPFB_POLL_GAP_MS * 1000 ? HTTPFB_DUE_END : HTTPFB_DUE_NONE;
        return now_us - s->poll_since_us > (int64_t)HTTPFB_POLL_HOLD_MS * 1000 ? HTTPFB_DUE_KEEPALIVE
                                                                              : HTTPFB_DUE_NONE;
    }
    return s->down && now_us - s->last_frame_us > (int64_t)HTTPFB_KEEPALIVE_MS * 1000 ? HTTPFB_DUE_KEEPALIVE
                                                                                    : HTTPFB_DUE_NONE;
}

/* ---- metrics ------------------------------------------------------------------------ */

static const char *const T_LABELS[HTTPFB_T_N] = {"ws", "http_stream", "http_poll"};
static const char *const FB_LABELS[HTTPFB_FB_N] = {"upgrade", "welcome", "config", "other"};
static const char *const REF_LABELS[HTTPFB_REF_N] = {"truncated", "frame", "origin", "credential",
                                                     "unknown_session", "method", "conflict", "length",
                                                     "too_large", "flood", "full"};

const char *httpfb_refusal_label(httpfb_refusal r)
{
    return r < HTTPFB_REF_N ? REF_LABELS[r] : "other";
}

int httpfb_fallback_reason(const char *value)
{
    for (int i = 0; value && i < HTTPFB_FB_OTHER; i++)
        if (strcmp(value, FB_LABELS[i]) == 0)
            return i;
    return HTTPFB_FB_OTHER;
}

/* Appends with snprintf; a sticky overflow makes the whole text 0. */
typedef struct out {
    char *buf;
    size_t cap, len;
    int over;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->over = 1;
    else
        o->len += (size_t)n;
}

size_t httpfb_metrics_text(const httpfb *t, char *buf, size_t cap)
{
    const httpfb_stats *st = &t->stats;
    out o = {buf, cap, 0, cap == 0};
    put(&o, "# HELP tickwire_transport_sessions_total Game sessions opened, by transport (WebSocket, HTTP "
            "fallback streaming or polling).\n# TYPE tickwire_transport_sessions_total counter\n");
    for (int i = 0; i < HTTPFB_T_N; i++)
        put(&o, "tickwire_transport_sessions_total{transport=\"%s\"} %llu\n", T_LABELS[i],
            (unsigned long long)st->sessions_total[i]);
    put(&o, "# HELP tickwire_transport_sessions Game sessions open now, by transport.\n"
            "# TYPE tickwire_transport_sessions gauge\n");
    for (int i = 0; i < HTTPFB_T_N; i++)
        put(&o, "tickwire_transport_sessions{transport=\"%s\"} %lld\n", T_LABELS[i], (long long)st->sessions[i]);
    put(&o, "# HELP tickwire_transport_messages_total Protocol messages received and sent, by transport.\n"
            "# TYPE tickwire_transport_messages_total counter\n");
    for (int i = 0; i < HTTPFB_T_N; i++)
        put(&o, "tickwire_transport_messages_total{transport=\"%s\",direction=\"in\"} %llu\n"
                "tickwire_transport_messages_total{transport=\"%s\",direction=\"out\"} %llu\n",
            T_LABELS[i], (unsigned long long)st->msgs_in[i], T_LABELS[i], (unsigned long long)st->msgs_out[i]);
    put(&o, "# HELP tickwire_transport_bytes_total Bytes received and sent, by transport (WebSocket message "
            "payloads; HTTP bodies with their frames).\n# TYPE tickwire_transport_bytes_total counter\n");
    for (int i = 0; i < HTTPFB_T_N; i++)
        put(&o, "tickwire_transport_bytes_total{transport=\"%s\",direction=\"in\"} %llu\n"
                "tickwire_transport_bytes_total{transport=\"%s\",direction=\"out\"} %llu\n",
            T_LABELS[i], (unsigned long long)st->bytes_in[i], T_LABELS[i], (unsigned long long)st->bytes_out[i]);
    put(&o, "# HELP tickwire_http_fallbacks_total Sessions opened over the HTTP fallback, by the reason the "
            "client gave (fallback=).\n# TYPE tickwire_http_fallbacks_total counter\n");
    for (int i = 0; i < HTTPFB_FB_N; i++)
        put(&o, "tickwire_http_fallbacks_total{reason=\"%s\"} %llu\n", FB_LABELS[i],
            (unsigned long long)st->fallbacks[i]);
    put(&o, "# HELP tickwire_http_fallback_probes_total GET /tw/probe answered.\n"
            "# TYPE tickwire_http_fallback_probes_total counter\ntickwire_http_fallback_probes_total %llu\n",
        (unsigned long long)st->probes);
    put(&o, "# HELP tickwire_http_fallback_refused_total HTTP fallback requests refused, by reason.\n"
            "# TYPE tickwire_http_fallback_refused_total counter\n");
    for (int i = 0; i < HTTPFB_REF_N; i++)
        put(&o, "tickwire_http_fallback_refused_total{reason=\"%s\"} %llu\n", REF_LABELS[i],
            (unsigned long long)st->refused[i]);
    return o.over ? 0 : o.len;
}
