/* core: the server's session rules, with no sockets and no clock. The
 * adapter (net.c for libwebsockets; a test or a fuzzer for itself) tells it
 * what happened and when, in the shape of netcode.io's
 * netcode_server_update(server, time):
 *
 *   core_conn_open / core_conn_recv / core_conn_peer_close /
 *   core_conn_writable / core_conn_closed     one connection's events
 *   core_tick                                 the tick clock fired
 *
 * Every call takes the time (monotonic microseconds, any origin). What the
 * core wants done comes back as actions, drained with core_next_action()
 * after each call: WAKE (call core_conn_writable when the connection can
 * take bytes), CLOSE (send a close frame with this code and reason, then
 * hang up; cut off if it cannot go out soon), ABORT (hang up now, no close
 * frame: the peer is not reading). Bytes to send come from
 * core_conn_writable, one message per call: a transport that can always
 * write calls it on WAKE, one with write readiness (lws) calls it when the
 * socket is writable, so at most one snapshot is ever queued per client
 * ("latest wins"). Spectators come after players: a tick owes its share of
 * them a view but wakes none; the transport wakes them in batches with
 * core_wake_spectators once the players' snapshots are out, and stops
 * before the next tick (the rest wait, oldest first), so no number of
 * spectators delays a player's snapshot or the tick. Logging goes through
 * log.h; counting into `metrics`.
 *
 * Wall-clock time (join tokens expire in Unix seconds) is set with
 * core_set_unix_time; randomness (resume tokens, guest token nonces, the
 * demo secret) comes from the config's random callback. */
#ifndef TW_CORE_H
#define TW_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "admission.h"
#include "lobby.h"
#include "metrics.h"
#include "results.h"
#include "replay.h"
#include "session.h"
#include "sim.h"
#include "token.h"

#define CORE_MAX_TOKEN_TTL 3600   /* tokens valid longer are refused (bounds the replay cache) */
#define CORE_GUEST_TOKEN_TTL 60   /* demo mode's guest tokens */
#define CORE_SEND_STALL_S 2       /* a socket not drained this long: dropped */
#define CORE_MAX_MESSAGE (PROTO_MAX_SNAPSHOT + PROTO_MAX_WELCOME) /* enough for core_conn_writable */

typedef void (*core_random_fn)(void *user, void *buf, size_t len);

typedef struct core_config {
    int tick_rate;          /* Hz; 0: 60 */
    int snapshot_rate;      /* Hz, divides tick_rate; 0: tick_rate */
    int match_size;         /* 0: 64 */
    int npcs;
    int max_matches;        /* matches at once; 0: LOBBY_MAX_MATCHES */
    uint64_t seed;
    int idle_timeout;       /* seconds; 0: 10 */
    int resume_grace;       /* seconds a dropped player is held; 0: none */
    admission_config admission; /* zero caps: 4096 and 1200 connections (core_accept) */
    int replay_slots;       /* token nonces remembered (a full table refuses joins); 0: 65536 */
    int max_unlag_ms;       /* lag compensation bound; 0: 250; -1: none (judge at the present) */
    int aoi_radius;         /* interest management (match.h), world units; 0: off */
    int min_players;        /* a round starts with this many; 0: 2 */
    int match_time;         /* seconds a round lasts; 0: 300 */
    int score_limit;        /* kills that end a round; 0: 25; -1: none */
    int intermission;       /* seconds between rounds; 0: 10 */
    const char *map_name;   /* for the results; NULL: "" */
    /* In a fleet: a JOIN's token, once it passes this process's checks, is
     * also checked fleet-wide (a CLAIM action) before the player is let in. */
    int fleet_claims;
    int spectator_rate;     /* Hz spectators get snapshots at; divides tick_rate, <= snapshot_rate; 0: 10 (or less) */
    int spectator_delay;    /* seconds spectators watch behind live, 0..MATCH_MAX_SPEC_DELAY_S */
    int max_spectators;     /* spectator connections at once; 0: 10000 */
    /* Every LIVE round that ends (time, score, interrupted at shutdown or
     * when the last person left) is handed here, on the tick (copy it,
     * do not block: results_submit_cb). NULL: not recorded. */
    void (*on_round)(void *user, const results_round *r);
    void *round_user;
    struct recorder *recorder; /* every LIVE round into a replay file (recorder.h); NULL: none */
    const uint8_t *secret;  /* join token secret; NULL: demo mode (own random secret, guest tokens) */
    size_t secret_len;
    core_random_fn random;  /* required */
    void *random_user;
} core_config;

typedef enum core_action_kind { CORE_WAKE = 1, CORE_CLOSE, CORE_ABORT, CORE_CLAIM } core_action_kind;

typedef struct core_action {
    core_action_kind kind;
    uint32_t conn;          /* the handle core_conn_open returned */
    void *transport;        /* the pointer the adapter gave core_conn_open */
    uint16_t code;          /* CLOSE: the WebSocket close code */
    const char *reason;     /* CLOSE: static text for people */
    /* CLAIM (cfg.fleet_claims): ask the fleet whether this token was used
     * anywhere before (and claim its seat), then core_claim_done. The
     * pointers stay valid until then or until the connection closes. */
    const uint8_t *nonce;   /* TOKEN_NONCE_LEN bytes */
    const char *label;      /* the token's match label */
    uint64_t expiry;        /* the token's expiry, Unix seconds */
} core_action;

/* The fleet's answer to a CLAIM. */
enum { CORE_CLAIM_FRESH = 1, CORE_CLAIM_SEAT, CORE_CLAIM_USED, CORE_CLAIM_UNCHECKED };

typedef struct core core;

/* Returns NULL with a message in err (bad config, out of memory). */
core *core_create(const core_config *cfg, const sim_map *map, char *err, size_t errlen);
void core_destroy(core *c);

void core_set_unix_time(core *c, uint64_t unix_s);
/* GET /api/matches/live: {"matches":[{"id","label","players","humans",
 * "npcs","capacity","spectators","phase","round","seconds_left","score_limit"}]}, one
 * entry per running match. Returns the length, 0 when cap is too small.
 * O(matches). */
size_t core_live_json(const core *c, char *buf, size_t cap);
/* The same, to the millisecond (round start and end times). */
void core_set_unix_ms(core *c, int64_t unix_ms);

/* ---- accepted connections ------------------------------------------------------ */
/* A TCP connection from ip was accepted, before a byte of it is read. Every
 * connection counts against the caps (admission.max_conns, .max_conns_per_ip)
 * from here to core_accept_closed, whatever it turns out to be: a page or
 * /metrics request, an idle keep-alive, a pending or refused upgrade, or a
 * game connection (core_conn_open does not count it again). Returns its
 * handle (never 0); or 0 when a cap is reached: counted
 * (refused[REF_MAX_CONNS / REF_MAX_PER_IP]), logged (one line a second at
 * most, with the number left unlogged), and the adapter closes it. O(1). */
uint32_t core_accept(core *c, int64_t now_us, const char *ip);
/* The accepted connection is gone: its count is given back. A handle
 * already closed, or 0, is ignored (exactly once, whatever the transport
 * reports). */
void core_accept_closed(core *c, uint32_t accepted);
/* Whether the handle is one of the reserve (admission.h): a connection
 * past the caps from an address --metrics-allow names, which may ask for
 * /metrics only. */
int core_accept_is_reserve(const core *c, uint32_t accepted);
/* A reserve connection asked for something other than /metrics: counted
 * and logged as the cap refusal it escaped at accept (the adapter answers
 * 503 and closes). */
void core_reserve_refused(core *c, int64_t now_us, const char *ip);
/* Accepted connections open now (the tickwire_tcp_connections gauge). */
int core_accepted(const core *c);

/* ---- before the upgrade ----------------------------------------------------- */
/* 0 when the upgrade may go ahead, else the HTTP status to refuse it with
 * (403: a foreign origin); counted and logged. The connection caps are not
 * judged here: the connection already holds its place (core_accept). */
int core_admit(core *c, const char *origin, const char *host, const char *ip);

/* ---- one connection ----------------------------------------------------------- */
/* A game connection from ip (peer: "address:port" for logs) was upgraded.
 * Returns its handle (never 0), or 0 when no session can be had (the
 * adapter hangs up). While shutting down the session is closed at once.
 * Not counted against the caps here: the connection was at core_accept. */
uint32_t core_conn_open(core *c, int64_t now_us, void *transport, const char *peer, const char *ip);
/* Part of a message arrived (see session_receive for pending/last). */
void core_conn_recv(core *c, uint32_t conn, int64_t now_us, const void *data, size_t len, size_t pending, int last,
                    int text);
/* The answer to a CLAIM action for conn: FRESH (first use in the fleet) or
 * SEAT (first use, and it held a matchmaker's seat here) let the player in;
 * USED closes with 4001 "token already used"; UNCHECKED (the fleet could not
 * be asked) lets it in on this process's own check, counted. A handle
 * closed meanwhile is ignored. */
void core_claim_done(core *c, uint32_t conn, int64_t now_us, int verdict);
/* The peer sent a close frame with this code (1000/1001: the player left). */
void core_conn_peer_close(core *c, uint32_t conn, int code);
/* The connection can take a message: writes at most one into buf (cap >=
 * CORE_MAX_MESSAGE) and returns its length, 0 for nothing to send. */
size_t core_conn_writable(core *c, uint32_t conn, int64_t now_us, uint8_t *buf, size_t cap);
/* Spectators owed a view and not yet woken (see the top of this file). */
uint32_t core_spectators_owed(const core *c);
/* Wakes up to max of them, oldest first (a WAKE action each); returns how
 * many. Each writes the newest view when written, however long it waited. */
int core_wake_spectators(core *c, int max);
/* The connection is gone. Its player is held for a resume (dropped) or
 * leaves (left, or no grace). The handle is dead after this. */
void core_conn_closed(core *c, uint32_t conn, int64_t now_us);

/* ---- time --------------------------------------------------------------------- */
/* Runs one tick of every match; asks to write to their clients after a
 * snapshot (to their spectators after a new spectator view); closes idle,
 * choked and join-timed-out sessions. */
void core_tick(core *c, int64_t now_us);
/* The clock skipped `ticks` ticks (the process stalled): every playing
 * person is credited that much time, up to MATCH_MAX_CREDIT steps, so the
 * inputs their clients kept sending meanwhile are caught up within a few
 * ticks (SIM_MAX_STEPS_PER_TICK each) instead of queueing for good. Logged
 * (stall_credit) at most once per LOG_RATELIMIT_DEFAULT_US. */
void core_ticks_missed(core *c, uint32_t ticks, int64_t now_us);
/* Closes every session with 1001; new ones are closed at once. */
void core_shutdown(core *c);

/* ---- draining (SIGTERM, POST /admin/drain) ----------------------------------------- */
#define CORE_DRAIN_LINGER_MS 2000 /* after a round ends, before its players are sent away */
/* Stop taking players and let the running rounds finish: from now on a new
 * JOIN is closed with 1001 "server draining" (its token not used up; a
 * resume still gets its player back), the players of a match with no LIVE
 * round are closed with 1001 (CORE_DRAIN_LINGER_MS after a round's end, so
 * the final scoreboard reaches them), LIVE rounds play on, no new round
 * starts for anyone. Once called it stays so; a second call is ignored. */
void core_drain(core *c, int64_t now_us, int64_t timeout_us);
int core_draining(const core *c);
/* Draining and nothing left to wait for (no LIVE round, no connected
 * player), or the drain's timeout has passed: the adapter then calls
 * core_shutdown (which ends what is still LIVE as interrupted). Logs
 * drain_done once it says 1. */
int core_drain_done(core *c, int64_t now_us);
/* Whether a new player would be taken (GET /readyz): not draining or
 * shutting down, and a match has a free slot or another can be opened.
 * O(matches). */
int core_ready(const core *c);

/* The next action, 0 when none is left. Actions for connections closed
 * meanwhile are skipped. */
int core_next_action(core *c, core_action *out);

/* ---- HTTP side doors -------------------------------------------------------------- */
int core_demo_mode(const core *c);
/* Demo mode: a guest token for `name` ("" picks guest-N) as the JSON body of
 * POST /api/join. Returns its length, 0 when not in demo mode or cap is
 * too small. */
size_t core_guest_join(core *c, const char *name, char *buf, size_t cap);
/* A join token for (player_id, name, label), valid ttl_s, signed with the
 * server's secret (the fleet's, with --token-secret-file): into out (cap >
 * TOKEN_MAX_B64), its nonce into nonce_out. Returns its length; 0 for a
 * name not 1..16 printable characters or a label over 32. The matchmaker's. */
size_t core_mint_token(core *c, uint64_t player_id, const char *name, const char *label, int ttl_s, char *out,
                       size_t cap, uint8_t nonce_out[TOKEN_NONCE_LEN]);
/* The /metrics text; proc: the process numbers and build the adapter
 * sampled (NULL: zeros, no fd series). O(matches x match size). */
size_t core_metrics_text(core *c, const metrics_process *proc, char *buf, size_t cap);

/* ---- for the adapter, tests and the tick clock ------------------------------------ */
metrics *core_metrics(core *c);
int core_tick_rate(const core *c);
int core_connections(const core *c);
int core_spectators(const core *c);
const lobby *core_lobby(const core *c);
/* The session behind a live handle, NULL when dead (tests, fuzzers). */
const session *core_session(const core *c, uint32_t conn);

#endif
