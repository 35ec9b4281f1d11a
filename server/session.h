/* session: one game connection's state, from the upgrade to the close:
 * AWAIT_JOIN (a JOIN must come within SESSION_JOIN_TIMEOUT_S), PLAYING
 * (one player of one match), SPECTATING (watching one match: no slot, sends
 * nothing), REPLACED (its player resumed on another connection; closing). A session that is closing ignores what else
 * arrives. What a session may send is bounded here: message size by state
 * (PROTO_MAX_JOIN_MSG, then PROTO_MAX_CLIENT_MSG), and its rate two ways:
 *  - inputs are judged by what they claim, not by when they arrive: the
 *    new input seqs a session brings may not run ahead of the time it has
 *    been playing (one per tick) by more than its slack. Inputs a client
 *    sent while the server stalled arrive at once and are still on time;
 *    a flood of new inputs is not.
 *  - every other message (a JOIN, an input that repeats only seqs already
 *    received) draws on a token bucket: twice the tick rate, one second of
 *    burst. An honest client sends one input per tick, each with a new seq.
 *
 * Pure state: time comes in as a parameter; the core owns the pool. */
#ifndef TW_SESSION_H
#define TW_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "match.h"
#include "proto.h"
#include "token.h"

#define SESSION_JOIN_TIMEOUT_S 5  /* from upgrade to a valid JOIN */
#define SESSION_PEER_LEN 64
#define SESSION_IP_LEN 48

typedef enum session_state { SESSION_AWAIT_JOIN, SESSION_PLAYING, SESSION_SPECTATING, SESSION_REPLACED } session_state;

struct match;

typedef struct session {
    uint32_t handle;           /* the core's handle of this connection */
    void *transport;           /* the adapter's connection, never dereferenced here */
    session_state state;
    struct match *m;           /* PLAYING: its match and player id; SPECTATING: the match watched */
    int pid;
    int spec_index;            /* SPECTATING: its place in the core's spectator list */
    uint8_t need_welcome;      /* 1: WELCOME next, 2: a resumed WELCOME */
    uint8_t left;              /* the peer closed with 1000/1001: a leave, not a drop */
    uint8_t wake_queued;       /* a WAKE action for it is in the core's queue */
    uint8_t in_waiting;        /* on the core's AWAIT_JOIN list */
    uint8_t spec_owed;         /* SPECTATING: in the core's queue of spectators owed a view */
    uint16_t close_code;       /* nonzero: closing, ignore the rest */
    match_cursor sent;         /* what this connection has been written */
    uint32_t first_tick;       /* send no snapshot older than this (the join) */
    uint32_t progress_tick;    /* match tick of the last send (or join) */
    uint32_t rx_tick;          /* match tick of the last message received */
    int64_t opened_us;
    int64_t bucket_us;         /* last refill of the message bucket */
    uint8_t bucket_started;    /* 0: the bucket starts full at the first charge */
    double msg_tokens;
    int64_t play_start_us;     /* PLAYING since (for the input claims) */
    uint32_t seq_base;         /* the player's newest input seq when this session took it */
    uint32_t claim_slack;      /* seqs it may claim beyond elapsed ticks */
    struct session *next_waiting, *prev_waiting; /* AWAIT_JOIN list, for the join timeout */
    /* A JOIN whose token the fleet is asked about (core_claim_done): what
     * it asked for, kept until the answer. */
    uint8_t claim_pending;
    uint8_t claim_mode;        /* PROTO_MODE_* */
    uint16_t claim_match;      /* spectate: the match id asked for */
    token_claims claim;
    char peer[SESSION_PEER_LEN]; /* address:port, for logs */
    char ip[SESSION_IP_LEN];     /* address (the caps count the connection at accept) */
    size_t rx_len;
    uint8_t rx[PROTO_MAX_JOIN_MSG > PROTO_MAX_CLIENT_MSG ? PROTO_MAX_JOIN_MSG : PROTO_MAX_CLIENT_MSG];
} session;

/* What one received part of a message amounts to. */
typedef enum session_rx {
    SESSION_RX_MORE = 0,    /* buffered; the message continues */
    SESSION_RX_MESSAGE,     /* *msg, *len hold one whole message */
    SESSION_RX_TEXT,        /* a text frame: refused (1003) */
    SESSION_RX_TOO_LARGE,   /* over the state's limit: refused (1009) */
} session_rx;

void session_init(session *ss, uint32_t handle, void *transport, const char *peer, const char *ip,
                  int64_t now_us);

/* Adds one received part: `len` bytes, `pending` more bytes known to follow
 * in this frame, `last` when the message ends with it. The size limit is
 * checked against everything known so far (before the rest arrives). */
session_rx session_receive(session *ss, const uint8_t *data, size_t len, size_t pending, int last, int text,
                           const uint8_t **msg, size_t *msg_len);

/* Charges one message that brought no new input to the bucket. Returns 0
 * when the bucket is dry (refuse with 4004). */
int session_charge(session *ss, int tick_rate, int64_t now_us);

/* The session starts playing a player whose newest input seq is seq_base;
 * it may claim `slack` seqs beyond one per elapsed tick. */
void session_start_claims(session *ss, uint32_t seq_base, uint32_t slack, int64_t now_us);
/* Whether newest_seq (the player's newest input seq now) is within what
 * the time this session has played allows at tick_rate. */
int session_claims_ok(const session *ss, uint32_t newest_seq, int tick_rate, int64_t now_us);

/* The largest message this session accepts in its state. */
size_t session_limit(const session *ss);

#endif
