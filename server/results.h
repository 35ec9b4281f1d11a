/* results: ended game rounds, kept in SQLite without ever making the tick
 * wait for the disk (issue 10 part 6).
 *
 * The tick hands a finished round to results_submit, which copies it into
 * a bounded queue; a writer thread stores each round in one transaction
 * (tables `rounds` and `round_players`, WAL, synchronous=NORMAL, prepared
 * statements, PRAGMA user_version = RESULTS_SCHEMA_VERSION). A failed
 * write (disk full, I/O error, database locked) is logged and counted and
 * the round stays queued; the writer retries with backoff (1 s, doubling,
 * at most 30 s) while the game goes on; rounds are stored in submit order,
 * so later ones wait behind it (up to the queue's capacity). A round is
 * never dropped silently:
 * one refused by a full queue, or still unwritable after the retries at
 * close, is logged whole (one line, event "results_lost", its JSON in the
 * field "record") and counted in `lost`.
 *
 * Log events: results_open, results_close (info); results_write_failed
 * (error, each failed attempt, with SQLite's message; retry_in_ms -1 when
 * the round is given up); results_write_recovered (info); results_lost.
 *
 * Reads never touch the disk either: the newest RESULTS_RECENT_MAX rounds
 * are kept in memory (loaded at open, appended after each successful
 * write) for GET /api/matches.
 *
 * Not here: deciding when a round ends (match/core code), anything older
 * than the newest RESULTS_RECENT_MAX rounds over HTTP, migrations between
 * schema versions (a newer version is refused at open).
 *
 * Threads: results_submit, results_get_stats, results_recent_json and
 * results_set_max_page_count may be called from any one thread (the event
 * loop) while the writer runs; open and close from the thread that owns
 * the handle. Log lines come from both threads (log.h). */
#ifndef TW_RESULTS_H
#define TW_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#define RESULTS_MAX_PLAYERS 128
#define RESULTS_RECENT_MAX 100     /* rounds kept in memory for results_recent_json */
#define RESULTS_SCHEMA_VERSION 1   /* PRAGMA user_version */
/* One round's JSON at its longest (every byte of every string escaped as
 * \u00XX, every number at its widest), NUL included. */
#define RESULTS_ROUND_JSON_MAX 32768

typedef struct results_player {
    char name[17];        /* NUL-terminated, printable ASCII */
    uint64_t account;     /* player id from the join token, 0 = guest/npc; SQL stores the int64 bit pattern */
    uint8_t npc;
    int32_t kills, deaths, score;
} results_player;

typedef struct results_round {
    uint32_t match_id;
    char label[33];       /* match label, "" = public */
    uint32_t round;       /* 1, 2, ... within the match */
    int64_t start_ms, end_ms;   /* unix time, milliseconds */
    char map[64];
    char end_reason[16];  /* "time", "score", "interrupted" */
    int nplayers;
    results_player players[RESULTS_MAX_PLAYERS];
} results_round;

typedef struct results results;

typedef struct results_stats {
    uint64_t written;      /* rounds stored */
    uint64_t write_errors; /* failed write attempts (each logged) */
    uint64_t retries;      /* attempts after a failed one */
    uint64_t lost;         /* rounds never stored (queue full, or unwritable at close), each logged whole */
    uint32_t queued;       /* rounds waiting, the one being written included */
    uint64_t queue_full;   /* of `lost`: refused by results_submit */
} results_stats;

/* Options; zero means default. */
typedef struct results_opts {
    int queue_cap;       /* rounds waiting for the disk; 0: 64 */
    int retry_ms;        /* first backoff after a failed write, doubled up to 30 s; 0: 1000 */
    int close_tries;     /* attempts per round at close (250 ms apart); 0: 3. Once a round is lost
                          * the disk counts as gone: the rest get one attempt each */
    int max_page_count;  /* test knob: PRAGMA max_page_count after the schema is made. A value
                          * below the file's size holds it at its size, so the next page it
                          * needs fails with a real SQLITE_FULL. 0: SQLite's limit */
} results_opts;

/* Opens (creating the schema) FILE, ":memory:" allowed; WAL mode;
 * prepared statements. The writer thread runs only while rounds are
 * queued: results_submit starts it, and it ends once the queue is empty
 * (a process of one thread between rounds: the kernel's fdget() on every
 * socket call then skips the file reference count). NULL + message on error
 * (the message names the file). Loads the newest RESULTS_RECENT_MAX
 * rounds into memory. */
results *results_open(const char *path, char *err, size_t errlen);
/* results_open with options (o may be NULL). */
results *results_open_opts(const char *path, const results_opts *o, char *err, size_t errlen);
/* Copies the round into a bounded queue for the writer thread (started
 * if it is not running; if it cannot be, the round waits for the next
 * submit or for results_close, logged as results_writer_failed).
 * O(players), never blocks on disk, callable from the tick. Returns 0, -1
 * when the queue is full (counted, logged). rd->nplayers must be in
 * 0..RESULTS_MAX_PLAYERS; strings are cut to their arrays. */
int results_submit(results *r, const results_round *rd);
/* results_submit in the shape of a callback (user: the handle), for a
 * "round ended" hook in the core's config; a refusal is counted and logged
 * by results_submit. */
void results_submit_cb(void *user, const results_round *rd);
/* Writes everything still queued (retrying a failing disk a few times),
 * stops the thread, closes the db. Nothing queued is silently lost: a
 * round that finally cannot be written is logged in full (one log line
 * with its JSON) and counted as lost. NULL is a no-op. */
void results_close(results *r);
void results_get_stats(results *r, results_stats *out);
/* JSON array of the newest `limit` (1..100, clamped) rounds, newest
 * first, from an in-memory copy kept by the module (loaded from the db at
 * open, appended after each successful write), so the event loop never
 * waits for the disk. Returns bytes written (NUL-terminated), 0 if cap
 * too small. O(rounds x players). */
size_t results_recent_json(results *r, int limit, char *buf, size_t cap);
/* One round as a JSON object (the element of results_recent_json), NUL-
 * terminated. Returns its length, 0 if cap is too small (cap >=
 * RESULTS_ROUND_JSON_MAX always fits). */
size_t results_round_json(const results_round *rd, char *buf, size_t cap);
/* Test and operations knob: PRAGMA max_page_count before the writer's next
 * attempt, which it makes at once (0: SQLite's limit, i.e. lift a test's
 * tiny one). */
void results_set_max_page_count(results *r, int pages);

#endif
