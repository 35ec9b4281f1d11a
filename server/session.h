/* session: one game connection's state, from the upgrade to the close:
 * AWAIT_JOIN (a JOIN must come within SESSION_JOIN_TIMEOUT_S), PLAYING
 * (one player of one match), REPLACED (its player resumed on another
 * connection; closing). A session that is closing ignores what else
 * arrives. What a session may receive is bounded here: message size by
 * state, and two token buckets (messages at twice the tick rate with one
 * second of burst, bytes at the tick rate times PROTO_MAX_CLIENT_MSG with two
 * seconds of burst; an honest client sends one small input per tick).
 *
 * Pure state: time comes in as a parameter; the core owns the pool. */
#ifndef TW_SESSION_H
#define TW_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define SESSION_JOIN_TIMEOUT_S 5  /* from upgrade to a valid JOIN */
#define SESSION_PEER_LEN 64
#define SESSION_IP_LEN 48

typedef enum session_state { SESSION_AWAIT_JOIN, SESSION_PLAYING, SESSION_REPLACED } session_state;

struct match;

typedef struct session {
    uint32_t handle;           /* the core's handle of this connection */
    void *transport;           /* the adapter's connection, never dereferenced here */
    session_state state;
    struct match *m;           /* PLAYING: its match and player id */
    int pid;
    uint8_t need_welcome;      /* 1: WELCOME next, 2: a resumed WELCOME */
    uint8_t left;              /* the peer closed with 1000/1001: a leave, not a drop */
    uint8_t wake_queued;       /* a WAKE action for it is in the core's queue */
    uint8_t in_waiting;        /* on the core's AWAIT_JOIN list */
    uint16_t close_code;       /* nonzero: closing, ignore the rest */
    uint32_t sent_tick;        /* newest snapshot tick sent */
    uint32_t first_tick;       /* send no snapshot older than this (the join) */
    uint32_t progress_tick;    /* match tick of the last send (or join) */
    uint32_t rx_tick;          /* match tick of the last message received */
    int64_t opened_us;
    int64_t bucket_us;         /* last refill of the rate buckets */
    uint8_t bucket_started;    /* 0: the buckets start full at the first message */
    double msg_tokens, byte_tokens;
    struct session *next_waiting, *prev_waiting; /* AWAIT_JOIN list, for the join timeout */
    char peer[SESSION_PEER_LEN]; /* address:port, for logs */
    char ip[SESSION_IP_LEN];     /* address, for the per-address cap */
    size_t rx_len;
    uint8_t rx[PROTO_MAX_JOIN_MSG];
} session;

/* What one received part of a message amounts to. */
typedef enum session_rx {
    SESSION_RX_MORE = 0,    /* buffered; the message continues */
    SESSION_RX_MESSAGE,     /* *msg, *len hold one whole message */
    SESSION_RX_TEXT,        /* a text frame: refused (1003) */
    SESSION_RX_TOO_LARGE,   /* over the state's limit: refused (1009) */
    SESSION_RX_RATE,        /* over a rate bucket: refused (4004) */
} session_rx;

void session_init(session *ss, uint32_t handle, void *transport, const char *peer, const char *ip,
                  int64_t now_us);

/* Adds one received part: `len` bytes, `pending` more bytes known to follow
 * in this frame, `last` when the message ends with it. The size limit is
 * checked against everything known so far (before the rest arrives). A
 * whole message is charged to the rate buckets at `tick_rate`. */
session_rx session_receive(session *ss, const uint8_t *data, size_t len, size_t pending, int last, int text,
                           int tick_rate, int64_t now_us, const uint8_t **msg, size_t *msg_len);

/* The largest message this session accepts in its state. */
size_t session_limit(const session *ss);

#endif
