/* fleet: this process in a fleet of tickwire servers sharing one Redis
 * (--redis URL). Off by default: one process needs no Redis.
 *
 * Every FLEET_BEAT_US the process writes, in one Lua script (atomic):
 *
 *   tw:proc:<id>           hash  url, capacity, players, matches, draining,
 *                                started_ms, heartbeat_ms   (PEXPIRE ttl)
 *   tw:proc:<id>:matches   set   the ids of its running matches (PEXPIRE ttl)
 *   tw:match:<id>:<match>  hash  proc, id, label, players, capacity, phase
 *                                (PEXPIRE ttl; a match that closed is deleted)
 *   tw:procs               zset  <id> scored by its last heartbeat (unix ms)
 *
 * so a process that dies (kill -9, a lost machine) vanishes from the
 * directory within FLEET_TTL_MS by itself; a clean exit deletes its keys.
 * `tw:procs` keeps dead members until a reader prunes them (the key
 * tw:proc:<id> is the truth; the score says how stale).
 *
 * hiredis async, moved along from the tick (redis_poll.h): nothing here
 * ever blocks a tick. When Redis goes away (refused, reset, a heartbeat not
 * answered in FLEET_REPLY_TIMEOUT_US), matches keep playing; the outage is
 * logged and counted, reconnects back off from 0.5 s to 5 s, and the first
 * heartbeat after a reconnect registers everything again. */
#ifndef TW_FLEET_H
#define TW_FLEET_H

#include <stddef.h>
#include <stdint.h>

#define FLEET_BEAT_US 1000000
#define FLEET_TTL_MS 5000
#define FLEET_REPLY_TIMEOUT_US 3000000
#define FLEET_CONNECT_TIMEOUT_US 2000000
#define FLEET_RETRY_MIN_US 500000
#define FLEET_RETRY_MAX_US 5000000
#define FLEET_MAX_ID 64
#define FLEET_MAX_URL 256
#define FLEET_MAX_MATCHES 256
#define FLEET_MAX_PENDING 4096    /* matchmaking and claim scripts awaiting Redis at once */

typedef struct fleet fleet;

typedef struct fleet_config {
    const char *redis_url;   /* redis://HOST[:PORT][/DB] */
    const char *process_id;  /* NULL: hostname-pid */
    const char *public_url;  /* what a matchmaker hands players: the server's own URL */
    int capacity;            /* players it can hold: matches x match size */
    int directory_only;      /* a matchmaker: reads the directory, is not in it */
} fleet_config;

typedef struct fleet_match {
    uint16_t id;
    const char *label;
    int players, capacity;
    const char *phase;       /* "warmup", "live", "ended" */
} fleet_match;

/* What the process is now, for the heartbeat. */
typedef struct fleet_status {
    int players;
    int draining;
    int nmatches;
    const fleet_match *matches;
} fleet_status;

typedef struct fleet_stats {
    int up;                  /* connected and the last heartbeat answered */
    uint64_t beats_ok, beats_failed, outages, connects;
    uint64_t mm_seats, mm_retries, mm_full, mm_failed; /* matchmaking answers */
} fleet_stats;

/* Parses the URL (a bad one: NULL with the reason in err) and starts
 * connecting; the host name is resolved here, once. */
fleet *fleet_create(const fleet_config *cfg, int64_t now_us, char *err, size_t errlen);
/* Moves the connection along; sends a heartbeat when one is due (st is
 * read only then: *_due says whether to bother filling it). O(matches) on
 * a heartbeat, one poll() otherwise. */
int fleet_beat_due(const fleet *f, int64_t now_us);
void fleet_tick(fleet *f, int64_t now_us, const fleet_status *st);
/* The next heartbeat goes at the next tick (draining just began). */
void fleet_beat_soon(fleet *f);
const fleet_stats *fleet_get_stats(const fleet *f);
const char *fleet_process_id(const fleet *f);
/* Deletes this process's keys (waits up to timeout_us for Redis to say
 * so), then frees. NULL is fine. */
void fleet_destroy(fleet *f, int64_t timeout_us);

/* ---- matchmaking ---------------------------------------------------------------------
 * One Lua script picks a process and reserves a seat there, atomically (no
 * read-then-write race between matchmakers): a match of the label with room
 * on a live process that is not draining, else the process with the most
 * free slots. Free slots count the reservations not yet claimed, which
 * expire after FLEET_SEAT_TTL_MS (the join token's lifetime too). The same
 * request id within FLEET_REQUEST_TTL_MS gets the same seat and token
 * again: a retried request never takes a second seat. */
#define FLEET_SEAT_TTL_MS 30000
#define FLEET_STALE_MS 2500       /* a process silent this long gets no new player (2.5 heartbeats missed) */
#define FLEET_REQUEST_TTL_MS 120000
#define FLEET_MAX_REQUEST_ID 64

enum { FLEET_MM_NEW = 1, FLEET_MM_RETRY, FLEET_MM_FULL, FLEET_MM_UNAVAILABLE };

typedef struct fleet_seat {
    int result;              /* FLEET_MM_* */
    char process[FLEET_MAX_ID + 1];
    char url[FLEET_MAX_URL + 1];
    char token[256];
    int64_t expires_ms;      /* Unix ms: the seat is released then */
} fleet_seat;

typedef void (*fleet_mm_cb)(void *user, uint64_t tag, const fleet_seat *seat);

/* Asks for a seat for request_id (1..64 of A-Z a-z 0-9 - _), in matches of
 * `label`, with `token` (minted by the caller, seat_id its nonce in hex) to
 * hand out with it. cb(user, tag, seat) runs later, from fleet_tick (always exactly once,
 * FLEET_MM_UNAVAILABLE when Redis fails or goes away meanwhile). Returns
 * -1 (cb not called) when Redis is not connected now. */
int fleet_matchmake(fleet *f, const char *request_id, const char *label, const char *token, const char *seat_id,
                    int64_t now_us, fleet_mm_cb cb, void *user, uint64_t tag);

/* ---- single use across the fleet ----------------------------------------------------
 * A join token works once in the whole fleet: at a JOIN, after this
 * process's own checks, one Lua script sets tw:nonce:<nonce> (NX, expiring
 * with the token) and, when the token held a matchmaker's seat here,
 * releases the reservation and counts the player at once (HINCRBY players),
 * so the seat is neither lost nor counted twice. */
enum { FLEET_CLAIM_FRESH = 1, FLEET_CLAIM_SEAT, FLEET_CLAIM_USED, FLEET_CLAIM_UNAVAILABLE };
typedef void (*fleet_claim_cb)(void *user, uint64_t tag, int result);
/* nonce_hex: the token's nonce in hex; label its match label; ttl_ms how
 * long the token stays valid. cb runs exactly once from fleet_tick
 * (FLEET_CLAIM_UNAVAILABLE when Redis fails meanwhile). Returns -1 (cb not
 * called) when Redis is not connected now. */
int fleet_claim(fleet *f, const char *nonce_hex, const char *label, int64_t ttl_ms, int64_t now_us, fleet_claim_cb cb,
                void *user, uint64_t tag);

/* redis://HOST[:PORT][/DB]: 0, or -1 (not such a URL). host gets HOST
 * (an IPv6 literal in brackets without them), port 6379 when absent, db 0. */
int fleet_parse_url(const char *url, char *host, size_t hostcap, int *port, int *db);

#endif
