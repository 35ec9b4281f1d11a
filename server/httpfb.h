/* httpfb: the HTTP fallback transport (docs/PROTOCOL.md section 18)
 * without sockets: the frames (kind u8 | length u16 LE | payload), the
 * parser of POST /tw/input bodies, session ids and the table of open
 * sessions with their credential, mode, deadlines and POST rate, and the
 * per-transport counters for /metrics. It holds no session rule: every
 * message goes to the core (core.h) through the lws adapter
 * (httpfb_lws.c), exactly as a WebSocket message does. It does NOT do any
 * I/O, read a clock (time is a parameter) or include libwebsockets, so the
 * parser can be fuzzed and the table tested alone. */
#ifndef TW_HTTPFB_H
#define TW_HTTPFB_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "proto.h"

#define HTTPFB_SID_LEN 16
#define HTTPFB_SID_HEX (2 * HTTPFB_SID_LEN)
#define HTTPFB_FRAME_HEADER 3
#define HTTPFB_MAX_CLOSE_REASON 123
#define HTTPFB_MAX_INPUT_BODY 1024
#define HTTPFB_MAX_INPUT_FRAMES 16
#define HTTPFB_MAX_CREDENTIAL PROTO_MAX_TOKEN /* a join token, or a resume token in hex */
#define HTTPFB_ATTACH_MS 2000
#define HTTPFB_KEEPALIVE_MS 5000
#define HTTPFB_POLL_HOLD_MS 10000
#define HTTPFB_POLL_GAP_MS 5000
#define HTTPFB_PROBE_HOLD_MS 3000
#define HTTPFB_HELLO_DEADLINE_MS 2000   /* the client's */
#define HTTPFB_WELCOME_DEADLINE_MS 3000 /* the client's, on WebSocket before falling back */

enum { HTTPFB_HELLO = 0, HTTPFB_MESSAGE = 1, HTTPFB_CLOSE = 2, HTTPFB_KEEPALIVE = 3, HTTPFB_SESSION = 4 };

/* ---- frames ----------------------------------------------------------------- */
/* Writes a frame's 3-byte header. */
void httpfb_frame_header(uint8_t *out, int kind, size_t len);
/* A whole frame of kind with payload into out; returns its length, 0 when
 * cap is too small or len over 65535. */
size_t httpfb_frame(uint8_t *out, size_t cap, int kind, const void *payload, size_t len);
/* A CLOSE frame (code LE, reason cut to 123 bytes); returns its length, 0
 * when cap is too small. */
size_t httpfb_close_frame(uint8_t *out, size_t cap, uint16_t code, const char *reason);

/* One frame of a POST /tw/input body: MESSAGE (payload) or CLOSE (code). */
typedef struct httpfb_frame_in {
    int kind;
    const uint8_t *payload; /* into the body */
    size_t len;
    uint16_t code;          /* CLOSE */
} httpfb_frame_in;

typedef enum httpfb_body_err {
    HTTPFB_BODY_OK = 0,
    HTTPFB_BODY_EMPTY = -1,      /* no bytes */
    HTTPFB_BODY_TRUNCATED = -2,  /* ends inside a frame header or payload */
    HTTPFB_BODY_KIND = -3,       /* a kind a client may not send, or a CLOSE shorter than its code */
    HTTPFB_BODY_AFTER_CLOSE = -4,/* a frame after a CLOSE */
    HTTPFB_BODY_TOO_MANY = -5,   /* more than max frames */
} httpfb_body_err;

/* Splits a POST /tw/input body into frames, all or nothing: HTTPFB_BODY_OK
 * with *n frames, or the first error (nothing is to be used then). The
 * frames point into body. O(len). */
int httpfb_parse_input(const uint8_t *body, size_t len, httpfb_frame_in *frames, int max, int *n);
const char *httpfb_body_err_str(int err);

/* ---- session ids and credentials --------------------------------------------- */
/* 0 with the id in out when hex is exactly 32 lowercase hex digits, else -1. */
int httpfb_sid_parse(const char *hex, uint8_t out[HTTPFB_SID_LEN]);
void httpfb_sid_format(const uint8_t sid[HTTPFB_SID_LEN], char out[HTTPFB_SID_HEX + 1]);
/* The credential a session opened by this JOIN is bound to: its join
 * token's text, else its resume token in lowercase hex. Returns the
 * length (out NUL-terminated), 0 when the JOIN does not decode. */
size_t httpfb_join_credential(const uint8_t *join, size_t len, char *out, size_t cap);

/* ---- the session table -------------------------------------------------------- */
typedef enum httpfb_mode { HTTPFB_MODE_NONE = 0, HTTPFB_MODE_STREAM, HTTPFB_MODE_POLL } httpfb_mode;

typedef struct httpfb_session {
    uint32_t gen;           /* bumped when the slot is freed: (slot, gen) names one session */
    int used;
    uint8_t sid[HTTPFB_SID_LEN];
    char cred[HTTPFB_MAX_CREDENTIAL + 1];
    size_t cred_len;
    uint32_t conn;          /* the core's handle, 0: closed in the core */
    uint32_t accepted;      /* its place under the connection caps (core_accept) */
    httpfb_mode mode;
    void *down;             /* the adapter's stream or held poll, NULL: none now */
    int64_t created_us, last_down_us, last_frame_us, poll_since_us;
    double post_tokens;     /* POST /tw/input bucket */
    int64_t post_us;
    int hello_sent;
    int wake;               /* the core has something to write */
    int keepalive;          /* a KEEPALIVE frame is owed (a quiet stream, a poll held too long) */
    uint16_t close_code;    /* the core closed it: a CLOSE frame is owed */
    const char *close_why;
    int ending;             /* to be ended by the adapter (abort, deadline) */
    int hnext;              /* hash chain, -1: end */
} httpfb_session;

typedef void (*httpfb_random_fn)(void *user, void *buf, size_t len);

/* Per transport counters (tickwire_transport_*, tickwire_http_fallback_*). */
enum { HTTPFB_T_WS = 0, HTTPFB_T_STREAM, HTTPFB_T_POLL, HTTPFB_T_N };
enum { HTTPFB_FB_UPGRADE = 0, HTTPFB_FB_WELCOME, HTTPFB_FB_CONFIG, HTTPFB_FB_OTHER, HTTPFB_FB_N };
typedef enum httpfb_refusal {
    HTTPFB_REF_TRUNCATED = 0, HTTPFB_REF_FRAME, HTTPFB_REF_ORIGIN, HTTPFB_REF_CREDENTIAL, HTTPFB_REF_UNKNOWN,
    HTTPFB_REF_METHOD, HTTPFB_REF_CONFLICT, HTTPFB_REF_LENGTH, HTTPFB_REF_TOO_LARGE, HTTPFB_REF_FLOOD,
    HTTPFB_REF_FULL, HTTPFB_REF_N
} httpfb_refusal;

typedef struct httpfb_stats {
    uint64_t sessions_total[HTTPFB_T_N];
    int64_t sessions[HTTPFB_T_N];
    uint64_t msgs_in[HTTPFB_T_N], msgs_out[HTTPFB_T_N];
    uint64_t bytes_in[HTTPFB_T_N], bytes_out[HTTPFB_T_N];
    uint64_t fallbacks[HTTPFB_FB_N];
    uint64_t probes;
    uint64_t refused[HTTPFB_REF_N];
} httpfb_stats;

typedef struct httpfb httpfb;

/* The refusal log's rate limit for one reason (one line a second). */
log_ratelimit *httpfb_refuse_log(httpfb *t, httpfb_refusal r);

/* capacity: sessions at once (>= 1). NULL when out of memory. */
httpfb *httpfb_create(int capacity, httpfb_random_fn random, void *random_user);
void httpfb_destroy(httpfb *t);
httpfb_stats *httpfb_get_stats(httpfb *t);
const char *httpfb_refusal_label(httpfb_refusal r);
/* The counter index of a POST /tw/session's fallback= value (NULL: other). */
int httpfb_fallback_reason(const char *value);

/* A new session bound to cred, with a fresh random id; NULL when the
 * table is full. O(1) amortised. */
httpfb_session *httpfb_open(httpfb *t, int64_t now_us, const char *cred, size_t cred_len);
/* The open session with this id, NULL when none. O(1) expected. */
httpfb_session *httpfb_find(httpfb *t, const uint8_t sid[HTTPFB_SID_LEN]);
/* Whether cred is the session's credential; constant time in the
 * credential's length. */
int httpfb_credential_ok(const httpfb_session *s, const char *cred, size_t len);
/* Frees the slot; its (slot, gen) names nothing afterwards. */
void httpfb_close(httpfb *t, httpfb_session *s);
/* The session when p is one of the table's slots and in use, else NULL
 * (tells the core's HTTP transports from WebSocket ones). */
httpfb_session *httpfb_of(httpfb *t, const void *p);
/* Slot index and generation, to name a session from a request safely. */
int httpfb_slot(const httpfb *t, const httpfb_session *s);
httpfb_session *httpfb_at(httpfb *t, int slot, uint32_t gen);
/* Walks the used sessions: index 0.. up to httpfb_high(t). */
int httpfb_high(const httpfb *t);
httpfb_session *httpfb_index(httpfb *t, int i);
int httpfb_count(const httpfb *t);

/* One POST /tw/input against the session's bucket (tick_rate per second,
 * burst tick_rate / 2: half the core's message rate, so repeated POSTs are
 * refused here before their repeats could trip the core's 4004): 1 when
 * allowed, 0 when it is a flood. */
int httpfb_post_charge(httpfb_session *s, int tick_rate, int64_t now_us);

/* What the adapter must do for a session at now (checked every few ticks):
 * END (attach deadline passed, poll gap passed, or marked ending), KEEPALIVE
 * (a quiet stream, or a held poll's hold is over), or 0. */
enum { HTTPFB_DUE_NONE = 0, HTTPFB_DUE_END, HTTPFB_DUE_KEEPALIVE };
int httpfb_due(const httpfb_session *s, int64_t now_us);

/* The tickwire_transport_* and tickwire_http_fallback_* families. Returns
 * the length written, 0 when cap is too small. */
size_t httpfb_metrics_text(const httpfb *t, char *buf, size_t cap);

#endif
