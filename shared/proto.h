/* proto: the tickwire wire format, version 6. docs/PROTOCOL.md is the
 * byte-by-byte description of what this file reads and writes; the two
 * change together, and any change to the bytes or the close codes bumps
 * PROTO_VERSION and the WebSocket subprotocol name.
 *
 * Every message is one binary WebSocket message starting with a type byte.
 * Fixed headers are byte-aligned little-endian; snapshot bodies are
 * bit-packed (see bits.h). Readers never trust lengths: every read is
 * bounded and a message that is truncated, has trailing bytes or holds an
 * out-of-range value is rejected with a proto_err the server turns into a
 * close code. Nothing here allocates or does I/O. */
#ifndef TW_PROTO_H
#define TW_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define PROTO_VERSION 6
#define PROTO_SUBPROTOCOL "tickwire.v6"

enum proto_type {
    PROTO_JOIN = 0x01,
    PROTO_INPUT = 0x02,
    PROTO_CHAT = 0x03,
    PROTO_WELCOME = 0x81,
    PROTO_SNAPSHOT = 0x82,
};

#define PROTO_MAX_NAME 16
#define PROTO_MAX_TOKEN 200   /* join token, base64url text */
#define PROTO_RESUME_LEN 16   /* resume token, raw bytes */
#define PROTO_MAX_INPUTS_PER_MSG 8
#define PROTO_MAX_ENTITIES SIM_MAX_PLAYERS
#define PROTO_MAX_CHAT_CHARS 120  /* code points, after control characters are stripped */
#define PROTO_MAX_CHAT_BYTES 480  /* 120 four-byte code points */
/* Largest client->server message the server accepts once joined (a full
 * input message is 14 + 8 * 5 = 54 bytes, the longest chat 3 + 480);
 * anything larger is closed with 1009. Before the join the limit is
 * PROTO_MAX_JOIN_MSG (a JOIN with the longest token and a resume token is
 * 4 + 200 + 16 + 1 = 221 bytes). */
#define PROTO_MAX_CLIENT_MSG 512
#define PROTO_MAX_JOIN_MSG 256

/* WebSocket close codes. The standard ones keep their RFC 6455 meaning:
 * 1001 server shutting down, 1002 malformed or out-of-order message, 1003
 * text frame, 1009 message over the size limit, 1011 server error. The
 * server's own reasons use the private range; clients act on the code
 * (cl_close_action), the reason text is for people. */
enum {
    PROTO_CLOSE_CLIENT_DROP = 4000,    /* client->server: a deliberate drop, not a leave (tests) */
    PROTO_CLOSE_TOKEN_REFUSED = 4001,  /* join token invalid, expired, used or too long-lived */
    PROTO_CLOSE_RESUME_EXPIRED = 4002, /* the resume token names nobody: join afresh, new token */
    PROTO_CLOSE_REPLACED = 4003,       /* the player resumed on another connection */
    PROTO_CLOSE_RATE_LIMIT = 4004,     /* over the message or byte rate */
    PROTO_CLOSE_IDLE = 4005,           /* no message for the idle timeout */
    PROTO_CLOSE_JOIN_TIMEOUT = 4006,   /* no valid JOIN within 5 s of the upgrade */
    PROTO_CLOSE_SLOW_READER = 4007,    /* the socket did not drain for 2 s */
    PROTO_CLOSE_SERVER_FULL = 4008,    /* no room or too many joins: try again later */
    PROTO_CLOSE_EVENTS_BEHIND = 4009,  /* did not acknowledge reliable events for too long */
    PROTO_CLOSE_CHAT_FLOOD = 4010,     /* kept sending chat past the rate limit */
    PROTO_CLOSE_SPECTATOR_INPUT = 4011, /* a spectator sent a message after its JOIN */
    PROTO_CLOSE_NO_SUCH_MATCH = 4012,  /* nothing to watch: no running match the token allows */
};

/* JOIN modes (v6). A spectator watches a match: it has no entity, sends
 * nothing after its JOIN and gets snapshots at the spectator rate. */
enum { PROTO_MODE_PLAY = 0, PROTO_MODE_SPECTATE = 1 };
#define PROTO_MATCH_ANY 0xFFFFu     /* spectate JOIN: any match the token allows */
#define PROTO_SPECTATOR_ID 0xFFFFu  /* a spectator's WELCOME player_id: no entity */
/* 1007 (RFC 6455: inconsistent data) closes a chat that is not UTF-8. */

#define PROTO_SNAPSHOT_HEADER_SIZE 10
/* Reliable events ride in snapshots: a section of at most this many event
 * bytes (more wait for the next snapshot) after a 5-byte section header. */
#define PROTO_MAX_EVENT_BYTES 1024
#define PROTO_MAX_EVENTS_SECTION (5 + PROTO_MAX_EVENT_BYTES)
#define PROTO_MAX_EVENT (3 + 1 + PROTO_MAX_CHAT_BYTES)
/* Worst case: the match state, every entity added with a full name. */
#define PROTO_MAX_SNAPSHOT_BODY (12 + PROTO_MAX_ENTITIES * 48)
#define PROTO_MAX_SNAPSHOT (PROTO_SNAPSHOT_HEADER_SIZE + PROTO_MAX_EVENTS_SECTION + PROTO_MAX_SNAPSHOT_BODY)
#define PROTO_MAX_WELCOME (23 + SIM_MAX_WALLS * 8 + PROTO_RESUME_LEN + 1)
/* A delta may only use a baseline at most this many snapshots older than
 * the one sent: the server keeps this many besides the one it sends
 * (MATCH_RING), a client the last this many it received (CL_RING), which
 * always include the baseline. */
#define PROTO_BASELINE_WINDOW 32

typedef enum proto_err {
    PROTO_OK = 0,
    PROTO_ERR_TRUNCATED = -1,
    PROTO_ERR_TRAILING = -2,
    PROTO_ERR_TYPE = -3,
    PROTO_ERR_VERSION = -4,
    PROTO_ERR_VALUE = -5,
    PROTO_ERR_BASELINE = -6,
    PROTO_ERR_UTF8 = -7,
} proto_err;

const char *proto_err_str(int err);

typedef struct proto_join {
    uint8_t version;
    uint8_t token_len;                /* 0: none (a resume must then be given) */
    char token[PROTO_MAX_TOKEN + 1];  /* base64url, NUL-terminated */
    uint8_t has_resume;
    uint8_t resume[PROTO_RESUME_LEN];
    uint8_t mode;                     /* PROTO_MODE_* */
    uint16_t match_id;                /* spectate: the match to watch, PROTO_MATCH_ANY = any */
} proto_join;

/* Each input's view_tick travels as ack_tick minus a byte (255: none, 0
 * then), so a view older than 254 ticks before the ack is sent as 254 (and
 * fraction 0), one newer than the ack as 0, and with ack_tick 0 every
 * view is sent as none. */
typedef struct proto_input_msg {
    uint32_t ack_tick;  /* newest snapshot tick received, 0 = none */
    uint32_t event_ack; /* newest reliable event seq received, 0 = none */
    uint32_t first_seq; /* seq of in[0]; seqs start at 1 */
    uint8_t count;      /* 1..PROTO_MAX_INPUTS_PER_MSG */
    sim_input in[PROTO_MAX_INPUTS_PER_MSG];
} proto_input_msg;

/* Round phases, as the match state carries them. */
enum { PROTO_PHASE_WARMUP = 0, PROTO_PHASE_LIVE = 1, PROTO_PHASE_ENDED = 2 };
enum { PROTO_END_TIME = 1, PROTO_END_SCORE = 2, PROTO_END_INTERRUPTED = 3 };

typedef struct proto_match_state {
    uint8_t phase;        /* PROTO_PHASE_* */
    uint8_t min_players;  /* warmup lasts until this many players are in */
    uint16_t round;       /* 1, 2, ... (0 before the first) */
    uint16_t score_limit; /* 0 = none */
    uint32_t end_tick;    /* tick the phase ends, 0 = open-ended */
} proto_match_state;

/* Reliable, ordered events, carried in snapshots until acknowledged. */
enum proto_event_type {
    PROTO_EV_KILL = 1,        /* player killed other */
    PROTO_EV_CHAT = 2,        /* player said text */
    PROTO_EV_JOIN = 3,        /* player joined as text (its name) */
    PROTO_EV_LEAVE = 4,       /* player left */
    PROTO_EV_ROUND_START = 5, /* round began */
    PROTO_EV_ROUND_END = 6,   /* round ended for reason, won by other (255: nobody) */
};

typedef struct proto_event {
    uint32_t seq;
    uint8_t type;    /* PROTO_EV_* */
    uint8_t player;
    uint8_t other;
    uint8_t reason;  /* PROTO_END_* */
    uint16_t round;
    uint16_t len;    /* text bytes */
    char text[PROTO_MAX_CHAT_BYTES + 1]; /* NUL-terminated */
} proto_event;

typedef struct proto_welcome {
    uint16_t player_id;
    uint16_t tick_rate;
    uint16_t snapshot_rate;
    uint16_t match_id;
    uint16_t max_players;
    uint32_t server_tick;
    sim_map map;
    uint8_t resume[PROTO_RESUME_LEN]; /* present it in JOIN to get this player back */
    uint8_t resumed;                  /* 1: this is a resumed player */
    uint8_t spectator;                /* 1: a spectator (player_id PROTO_SPECTATOR_ID, no resume) */
} proto_welcome;

typedef struct proto_snapshot_header {
    uint32_t tick;
    uint32_t baseline_tick; /* 0 = full snapshot */
    uint32_t last_input_seq;
} proto_snapshot_header;

/* A match's entities at one tick, as they are on the wire. gen changes when
 * a slot is reused, so a delta re-adds instead of morphing one player into
 * another. */
typedef struct proto_snapshot {
    uint32_t tick;
    proto_match_state ms;
    uint8_t present[PROTO_MAX_ENTITIES];
    uint8_t gen[PROTO_MAX_ENTITIES];
    sim_netent ent[PROTO_MAX_ENTITIES];
} proto_snapshot;

typedef struct proto_names {
    char name[PROTO_MAX_ENTITIES][PROTO_MAX_NAME + 1];
} proto_names;

/* Type byte of a message, or -1 when empty. */
int proto_peek_type(const uint8_t *buf, size_t len);

/* Writers return the number of bytes written, 0 when cap is too small. */
/* A play JOIN. token: base64url join token (may be "" when resume is
 * given); resume: PROTO_RESUME_LEN bytes or NULL. */
size_t proto_join_write(const char *token, const uint8_t *resume, uint8_t *buf, size_t cap);
/* A spectate JOIN: a token (never empty) and the match to watch
 * (PROTO_MATCH_ANY: any the token allows); never a resume token. */
size_t proto_join_spectate_write(const char *token, uint16_t match_id, uint8_t *buf, size_t cap);
size_t proto_input_write(const proto_input_msg *m, uint8_t *buf, size_t cap);
/* CHAT: text of len bytes, which must be valid UTF-8 of at most
 * PROTO_MAX_CHAT_CHARS code points and PROTO_MAX_CHAT_BYTES bytes. */
size_t proto_chat_write(const char *text, size_t len, uint8_t *buf, size_t cap);
size_t proto_welcome_write(const proto_welcome *m, uint8_t *buf, size_t cap);
size_t proto_snapshot_header_write(const proto_snapshot_header *h, uint8_t *buf, size_t cap);

/* Readers return PROTO_OK or a negative proto_err. */
int proto_join_read(const uint8_t *buf, size_t len, proto_join *out);
int proto_input_read(const uint8_t *buf, size_t len, proto_input_msg *out);
/* Reads a CHAT: PROTO_ERR_UTF8 when the text is not UTF-8, PROTO_ERR_VALUE
 * when it has more than PROTO_MAX_CHAT_CHARS code points. out gets the
 * text as sent (clean it with proto_chat_clean), NUL-terminated. */
int proto_chat_read(const uint8_t *buf, size_t len, char *out, size_t *out_len);
/* Removes control characters (U+0000..U+001F, U+007F..U+009F) from valid
 * UTF-8 in place; returns the new length. */
size_t proto_chat_clean(char *text, size_t len);
/* 1 when len bytes are valid UTF-8 (no overlongs, surrogates or values
 * past U+10FFFF); *chars gets the code point count. */
int proto_utf8_valid(const uint8_t *s, size_t len, size_t *chars);

/* One event's bytes (type u8 | len u16 | payload), without its seq.
 * Returns 0 when it does not fit or a field is out of range: anything
 * proto_event_read would refuse (an unknown type, a player id >= 128, a
 * winner neither 255 nor < 128, text too long or not UTF-8). */
size_t proto_event_write(const proto_event *e, uint8_t *buf, size_t cap);
/* Reads one event at buf; *used gets its size. seq is left to the caller. */
int proto_event_read(const uint8_t *buf, size_t len, proto_event *out, size_t *used);
/* The events section of a snapshot: count u8, then (count > 0) first_seq
 * u32 and the events' bytes as proto_event_write made them. */
size_t proto_events_header_write(uint8_t count, uint32_t first_seq, uint8_t *buf, size_t cap);
int proto_welcome_read(const uint8_t *buf, size_t len, proto_welcome *out);
int proto_snapshot_header_read(const uint8_t *buf, size_t len, proto_snapshot_header *out);

/* Body of a snapshot: the match state when it differs from base's, and
 * the entities of `cur` that were added, removed or changed since `base`
 * (NULL: everything, a full snapshot). Positions are
 * coded as residuals from the baseline's dead-reckoned position, so a
 * player moving steadily costs a few bits. `tick_rate` is the match's. */
size_t proto_snapshot_body_write(const proto_snapshot *base, const proto_snapshot *cur,
                                 const proto_names *names, uint16_t tick_rate,
                                 uint8_t *buf, size_t cap);
/* Applies a body to `base` (NULL for full) giving `out` (out->tick set by
 * the caller); names of added entities are stored into `names`. A whole
 * byte left over is PROTO_ERR_TRAILING, a non-zero padding bit in the last
 * byte PROTO_ERR_VALUE. */
int proto_snapshot_body_read(const proto_snapshot *base, proto_snapshot *out,
                             proto_names *names, uint16_t tick_rate,
                             const uint8_t *buf, size_t len);

#endif
