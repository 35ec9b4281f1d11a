/* match: one running game: its world, players, input buffers, snapshot ring
 * and the per-tick encode cache. No sockets here (the core owns sessions),
 * so matches can be driven and tested directly.
 *
 * Inputs: each input is one fixed step of its player, applied exactly once
 * in seq order. Seqs must arrive contiguous (TCP keeps order); duplicates
 * and stale ones are ignored. Each tick a player earns one step of credit
 * (banked up to MATCH_MAX_CREDIT), and spends at most SIM_MAX_STEPS_PER_TICK
 * per tick, so a late player catches up a few steps per tick but never runs
 * ahead of elapsed time; a player with no input waits instead of running an
 * invented one.
 *
 * Resume: a player whose connection dropped can be held: it stays in the
 * match, not advancing, flagged DISCONNECTED on the wire, until its hold
 * expires or it comes back with its resume token.
 *
 * Snapshots: every snapshot tick the quantized world goes into a ring of
 * MATCH_RING snapshots: the newest and the PROTO_BASELINE_WINDOW before it.
 * A client gets a delta against the last snapshot written to its
 * connection (match_cursor), or against the newest it acknowledged on a
 * connection that has been written nothing, if that is one of those
 * PROTO_BASELINE_WINDOW (and at most 255 ticks old); or a full one. Bodies
 * are cached per baseline for the newest snapshot, so clients sharing a
 * baseline share one encode: usually all of them.
 *
 * Rounds: WARMUP until cfg.min_players are in (shots count, scores do
 * not survive it), LIVE for cfg.match_ticks or until someone reaches
 * cfg.score_limit, ENDED (no damage) for cfg.intermission_ticks, then the
 * next round, or WARMUP again when too few are left. cfg.on_round_end
 * sees every LIVE round that ends, before the scores are reset.
 *
 * Reliable events (kills, chat, joins, leaves, rounds) go into a match-wide
 * log of MATCH_EVENTS; every snapshot to a player carries the events
 * neither written on its connection nor acknowledged (at most
 * PROTO_MAX_EVENT_BYTES at a time). A player
 * whose oldest unacknowledged event has left the log is behind
 * (match_player_events_behind): the caller closes it (4009).
 *
 * Spectators (protocol v6) hold no slot: the match only keeps, once the
 * first of them comes (or from creation when cfg.spec_delay_ticks > 0), a
 * ring of spectator views taken every cfg.spec_interval ticks: the
 * quantized world and its names, enough of them to show the match
 * cfg.spec_delay_ticks behind live plus MATCH_SPEC_WINDOW older views as
 * baselines. Allocated once per match (match_spectate_prepare), bounded by
 * MATCH_MAX_SPEC_DELAY_S. Every spectator of a match gets the same
 * message for the same (baseline, first event): a delta of the delayed
 * view against the last view written to it, with the events up to the
 * view's tick. Those are encoded once per view into a small cache
 * (MATCH_SPEC_CACHE messages) and copied to each spectator. */
#ifndef TW_MATCH_H
#define TW_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "sim.h"

/* The snapshots a match keeps: the one being sent and the
 * PROTO_BASELINE_WINDOW before it, each a possible baseline. */
#define MATCH_RING (PROTO_BASELINE_WINDOW + 1)

#define MATCH_INPUT_BUF 64   /* buffered, unapplied inputs per player */
/* Steps a player may bank while its inputs are late (one per tick elapsed,
 * up to this); it spends at most SIM_MAX_STEPS_PER_TICK of them per tick. */
#define MATCH_MAX_CREDIT 64
#define MATCH_LABEL_MAX 32
#define MATCH_EVENTS 1024           /* events kept for players still to acknowledge them */
#define MATCH_EVENT_POOL (64 * 1024) /* their bytes */
#define MATCH_CHAT_BURST 5           /* chat messages a player may send at once */
#define MATCH_CHAT_PER_S 1           /* ... and per second after that */
#define MATCH_CHAT_FLOOD 10          /* dropped in a row: the player is flooding */
#define MATCH_SPEC_WINDOW 8          /* spectator views kept as baselines besides the one sent */
#define MATCH_SPEC_CACHE 4           /* shared spectator messages per view */
#define MATCH_MAX_SPEC_DELAY_S 120   /* --spectator-delay bound */

struct match;
typedef struct match_config {
    uint16_t tick_rate;
    uint16_t snapshot_rate;
    int size;   /* player slots, including computer players */
    int npcs;   /* computer players added at creation */
    uint64_t seed;
    uint16_t unlag_ticks;        /* lag compensation bound (0: judge at the present) */
    int min_players;             /* 0: 2 */
    uint32_t match_ticks;        /* LIVE length; 0: 300 s */
    int score_limit;             /* 0: 25; -1: none */
    uint32_t intermission_ticks; /* 0: 10 s */
    uint32_t spec_interval;      /* ticks between spectator views; 0: tick_rate / 10 (at least 1) */
    uint32_t spec_delay_ticks;   /* spectators watch this far behind live, a multiple of spec_interval */
    /* A LIVE round ended (reason PROTO_END_*): read the scores now. */
    void (*on_round_end)(void *user, const struct match *m, int reason);
    void *user;
} match_config;

typedef struct match_player {
    uint8_t used, npc, gen;
    uint32_t held_until;     /* tick when a held (disconnected) slot is freed, 0 = not held */
    uint8_t resume[PROTO_RESUME_LEN];
    uint32_t joins;          /* times this slot was taken, for spawn variety */
    uint32_t last_applied;   /* seq of the last input stepped, 0 = none */
    uint32_t last_received;  /* highest seq buffered */
    uint32_t credit;
    uint32_t acked_tick;
    uint32_t inputs_dropped; /* buffer overflow: client ran ahead */
    sim_input buf[MATCH_INPUT_BUF];
    uint32_t owner;          /* the session playing it (a core handle), 0: none (NPC or held) */
    uint64_t account;        /* player id from the join token (the caller sets it) */
    uint32_t events_acked;   /* newest event seq it acknowledged */
    uint32_t chat_tick;      /* last chat bucket refill */
    uint8_t chat_tokens, chat_strikes;
    uint64_t npc_rng;
    uint16_t npc_ticks_left;
    int16_t npc_aim_rate;
} match_player;

typedef struct match_body {
    uint32_t baseline;  /* 0 = full */
    uint32_t off, len;
} match_body;

typedef struct match_stats {
    uint64_t encodes;        /* snapshot bodies encoded */
    uint64_t encode_hits;    /* bodies served from the cache */
    uint64_t full_snapshots;
    uint64_t inputs_applied;
    uint64_t inputs_ignored; /* duplicates and stale */
    uint64_t chat_in, chat_dropped;
    uint64_t kills, rounds;
    uint64_t events_clipped; /* snapshots that left events for the next one (byte cap) */
    uint64_t spec_encodes;   /* spectator messages encoded */
    uint64_t spec_shared;    /* spectator messages copied from the cache */
} match_stats;

typedef struct match_event_ref {
    uint32_t off;   /* into the event pool */
    uint16_t len;
    uint32_t tick;  /* the match tick it happened at (spectators see it with that tick's view) */
} match_event_ref;

/* One spectator view: the match as spectators see it at one tick. */
typedef struct match_spec_view {
    proto_snapshot snap;
    proto_names names;
} match_spec_view;

/* One cached spectator message of the current view. */
typedef struct match_spec_msg {
    uint32_t baseline;    /* view tick it deltas from, 0 = full */
    uint32_t first_event; /* seq of the first event it carries (the cursor's next) */
    uint32_t last_event;  /* the newest it carries (first_event - 1: none) */
    uint32_t len;         /* bytes at spec_buf + i * PROTO_MAX_SNAPSHOT */
} match_spec_msg;

typedef struct match {
    uint16_t id;
    char label[MATCH_LABEL_MAX + 1]; /* match or mode from the join token, "" = any */
    match_config cfg;
    uint32_t snap_interval;
    int humans, npcs;        /* humans includes held players */
    int expired_holds;       /* holds freed by match_tick, for the caller to log */
    sim_world world;
    match_player players[SIM_MAX_PLAYERS];
    proto_names names;
    proto_snapshot ring[MATCH_RING];
    int ring_head;           /* newest snapshot, -1 none */
    int ncache;
    match_body cache[MATCH_RING]; /* one body per baseline: MATCH_RING - 1 of them, or none */
    uint8_t *cache_buf;
    size_t cache_cap, cache_used;
    sim_tick_inputs step_inputs; /* scratch for one tick */
    match_stats stats;
    /* round */
    proto_match_state state;
    uint32_t round_start_tick;
    /* events: seqs ev_first .. ev_next - 1 are in the log */
    uint32_t ev_first, ev_next;
    uint32_t ev_pool_head;       /* where the next event's bytes go */
    match_event_ref ev[MATCH_EVENTS];
    uint8_t ev_pool[MATCH_EVENT_POOL];
    /* spectators: views every cfg.spec_interval ticks, NULL until prepared */
    int spectators;              /* connections watching (the core keeps the count) */
    match_spec_view *spec_views; /* ring of spec_cap views */
    uint32_t spec_cap, spec_taken;
    int spec_view;               /* index of the view spectators are sent now, -1: none yet */
    uint8_t spec_new_view;       /* match_tick moved spec_view on this tick */
    uint32_t spec_since;         /* match tick the first view was shown at, 0: none yet */
    uint32_t spec_ev_end;        /* events with seq < this happened by the view's tick */
    int nspec_msgs;
    match_spec_msg spec_msgs[MATCH_SPEC_CACHE];
    uint8_t *spec_buf;           /* MATCH_SPEC_CACHE x PROTO_MAX_SNAPSHOT */
} match;

/* Returns NULL when out of memory. */
match *match_create(uint16_t id, const sim_map *map, const match_config *cfg);
void match_destroy(match *m);

/* Takes a free slot for a person. Returns the player id, -1 when full. */
int match_player_join(match *m, const char *name, uint32_t owner, const uint8_t resume[PROTO_RESUME_LEN]);
void match_player_leave(match *m, int id);
/* The connection dropped: keep the player `ticks` more ticks, not advancing. */
void match_player_hold(match *m, int id, uint32_t ticks);
/* The player with this resume token, or -1. */
int match_player_find(const match *m, const uint8_t resume[PROTO_RESUME_LEN]);
/* Gives the player back to a connection; its next snapshot is full. */
void match_player_resume(match *m, int id, uint32_t owner);
int match_has_room(const match *m);

/* Buffers an input message of player `id`. Returns 0, or -1 for a protocol
 * violation with the reason in *why (the connection should be closed). */
int match_player_input(match *m, int id, const proto_input_msg *msg, const char **why);

enum { MATCH_CHAT_SENT = 0, MATCH_CHAT_DROPPED = 1, MATCH_CHAT_EMPTY = 2, MATCH_CHAT_FLOOD_CLOSE = -1 };
/* A chat line from player `id` (valid UTF-8, cleaned here of control
 * characters): goes to the match as an event, or is dropped over the rate
 * (MATCH_CHAT_BURST, then MATCH_CHAT_PER_S); MATCH_CHAT_FLOOD drops in a
 * row mean a flood (close the player). */
int match_player_chat(match *m, int id, char *text, size_t len);

/* Appends an event to the log (seq assigned here), evicting the oldest
 * when full. */
void match_event_push(match *m, const proto_event *e);
/* 1 when player id's next unacknowledged event is no longer in the log. */
int match_player_events_behind(const match *m, int id);
/* Ends a LIVE round now (PROTO_END_INTERRUPTED at shutdown or when the
 * last person left): on_round_end sees it. No-op outside LIVE. */
void match_end_round(match *m, int reason);

/* Time the match could not tick (the server stalled): each person playing
 * (not held) earns `ticks` steps of credit, up to MATCH_MAX_CREDIT, as if
 * those ticks had run. O(players). */
void match_credit(match *m, uint32_t ticks);
/* Inputs buffered and not yet applied for player id: its queue depth. */
uint32_t match_player_backlog(const match *m, int id);

/* Runs one tick. Returns 1 when it took a snapshot. O(players). */
int match_tick(match *m);

uint32_t match_latest_snapshot_tick(const match *m);
/* WELCOME for player `id`. */
size_t match_welcome(const match *m, int id, int resumed, uint8_t *buf, size_t cap);
/* What one connection has been written. Snapshots and events go over a
 * reliable ordered stream (WebSocket over TCP): everything written arrives,
 * in order, or the connection dies. So the next snapshot is a delta against
 * the last one written, not against the last one acknowledged (an RTT
 * older, and so bigger), and an event is written once per connection. The
 * acknowledgements still matter across connections: a resumed player starts
 * a new cursor from what it acknowledged. Owned by the session; all zero =
 * nothing written on this connection yet. */
typedef struct match_cursor {
    uint32_t snap_tick; /* newest snapshot written */
    uint32_t event_seq; /* newest event seq written */
} match_cursor;

/* The newest snapshot for player `id` on the connection `cur`: a delta
 * against the newest snapshot written on it (or else acknowledged) that is
 * still in the ring; *full is set when none was usable. Carries the events
 * not written on this connection and not acknowledged. Advances *cur; the
 * caller must write the bytes returned (or drop the connection). */
size_t match_snapshot(match *m, int id, match_cursor *cur, uint8_t *buf, size_t cap, int *full);

/* ---- spectators ----------------------------------------------------------
 * Allocates the spectator views and the message cache, once per match
 * (about (delay / interval + MATCH_SPEC_WINDOW + 1) x 5.5 KiB + 28 KiB).
 * Returns 0, -1 when out of memory. Idempotent. */
int match_spectate_prepare(match *m);
/* The tick of the view spectators are sent now, 0 when there is none yet
 * (a match younger than the delay). */
uint32_t match_spectator_view_tick(const match *m);
/* WELCOME for a spectator (player_id PROTO_SPECTATOR_ID, the spectator
 * rate, server_tick the tick its view starts at). */
size_t match_spectator_welcome(const match *m, uint8_t *buf, size_t cap);
/* A new spectator's cursor: nothing written, events from those after the
 * current view on. */
match_cursor match_spectator_cursor(const match *m);
/* 1 when the next event a spectator on `cur` needs has left the log. */
int match_spectator_events_behind(const match *m, const match_cursor *cur);
/* The current view for a spectator on `cur`: a delta against the last view
 * written on it (full when that is gone), with the events after
 * cur->event_seq up to the view's tick. Shared: spectators with the same
 * cursor get the same bytes, encoded once per view (*shared: this one was
 * a copy). Advances *cur. 0 when there is no view or nothing new. */
size_t match_spectator_snapshot(match *m, match_cursor *cur, uint8_t *buf, size_t cap, int *full, int *shared);

#endif
