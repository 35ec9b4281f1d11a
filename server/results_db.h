/* results_db: the SQLite side of results.h, used by results.c only: the
 * schema, the statements prepared once at open, one round per
 * transaction, the newest rounds read back at open. One connection, used
 * by one thread at a time (the opener, then the writer thread). Blocks on
 * the disk: never call it from the tick.
 *
 *   rounds(id INTEGER PRIMARY KEY, match_id, label, round, start_ms,
 *          end_ms, map, end_reason)
 *   round_players(round_id -> rounds.id, slot, name, account, npc, kills,
 *                 deaths, score; PRIMARY KEY (round_id, slot))
 *
 * `slot` is the player's index in results_round.players; `account` is
 * the uint64 stored as its int64 bit pattern (ids >= 2^63 read negative
 * in SQL, and back unchanged here); `npc` is 0 or 1. */
#ifndef TW_RESULTS_DB_H
#define TW_RESULTS_DB_H

#include <stddef.h>

#include "results.h"

typedef struct results_db results_db;

/* Opens or creates path (":memory:" allowed), sets WAL and
 * synchronous=NORMAL, creates the schema when user_version is 0 (refuses a
 * newer one), applies max_page_count when > 0, prepares the statements.
 * NULL with a message naming the file on error. */
results_db *results_db_open(const char *path, int max_page_count, char *err, size_t errlen);
/* Stores one round in one transaction. Returns 0, or -1 with SQLite's
 * message and code in err; nothing of the round is stored then. */
int results_db_write(results_db *d, const results_round *rd, char *err, size_t errlen);
/* The newest n rounds (at most) into out[0..count), oldest first. Returns
 * count, or -1 with a message. */
int results_db_load_recent(results_db *d, results_round *out, int n, char *err, size_t errlen);
/* PRAGMA max_page_count; pages <= 0 restores the limit the file had at open. */
void results_db_set_max_page_count(results_db *d, int pages);
void results_db_close(results_db *d);

#endif
