/* results_db: see results_db.h. */
#include "results_db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* How long a write waits for another connection's lock before it fails
 * (and is retried later by the writer thread). */
#define BUSY_TIMEOUT_MS 1000

struct results_db {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *rollback, *ins_round, *ins_player;
    long long default_pages; /* max_page_count at open */
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS rounds ("
    " id INTEGER PRIMARY KEY,"
    " match_id INTEGER NOT NULL, label TEXT NOT NULL, round INTEGER NOT NULL,"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " map TEXT NOT NULL, end_reason TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rounds_by_match ON rounds(match_id, round);"
    "CREATE TABLE IF NOT EXISTS round_players ("
    " round_id INTEGER NOT NULL REFERENCES rounds(id), slot INTEGER NOT NULL,"
    " name TEXT NOT NULL, account INTEGER NOT NULL, npc INTEGER NOT NULL,"
    " kills INTEGER NOT NULL, deaths INTEGER NOT NULL, score INTEGER NOT NULL,"
    " PRIMARY KEY (round_id, slot)) WITHOUT ROWID;";

static int fail(results_db *d, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%.40s: %s (%d)", what, sqlite3_errmsg(d->db), sqlite3_extended_errcode(d->db));
    return -1;
}

static int exec(results_db *d, const char *sql, char *err, size_t errlen)
{
    return sqlite3_exec(d->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(d, sql, err, errlen);
}

/* The first column of the first row of sql as an integer; -1 on error. */
static long long query_int(results_db *d, const char *sql)
{
    sqlite3_stmt *s;
    long long v = -1;
    if (sqlite3_prepare_v2(d->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int wal_mode(void *user, int ncol, char **vals, char **names)
{
    (void)names;
    snprintf(user, 16, "%s", ncol > 0 && vals[0] ? vals[0] : "?");
    return 0;
}

/* Under BEGIN IMMEDIATE, so two servers opening one new file agree. */
static int make_schema(results_db *d, char *err, size_t errlen)
{
    if (exec(d, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    long long v = query_int(d, "PRAGMA user_version");
    char set_version[64];
    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", RESULTS_SCHEMA_VERSION);
    int rc = -1;
    if (v < 0)
        fail(d, "PRAGMA user_version", err, errlen);
    else if (v > RESULTS_SCHEMA_VERSION)
        snprintf(err, errlen, "schema version %lld is newer than this server's (%d)", v, RESULTS_SCHEMA_VERSION);
    else if (v == RESULTS_SCHEMA_VERSION ||
             (exec(d, SCHEMA, err, errlen) == 0 && exec(d, set_version, err, errlen) == 0))
        rc = exec(d, "COMMIT", err, errlen);
    if (rc)
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int prepare(results_db *d, char *err, size_t errlen)
{
    static const char *const sql[] = {
        "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
        "INSERT INTO rounds (match_id, label, round, start_ms, end_ms, map, end_reason) VALUES (?,?,?,?,?,?,?)",
        "INSERT INTO round_players (round_id, slot, name, account, npc, kills, deaths, score) "
        "VALUES (?,?,?,?,?,?,?,?)",
    };
    sqlite3_stmt **out[] = {&d->begin, &d->commit, &d->rollback, &d->ins_round, &d->ins_player};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        if (sqlite3_prepare_v3(d->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, out[i], NULL) != SQLITE_OK)
            return fail(d, sql[i], err, errlen);
    return 0;
}

results_db *results_db_open(const char *path, int max_page_count, char *err, size_t errlen)
{
    results_db *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    char why[200], mode[16] = "";
    int rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, sizeof why, "%s (%d)", d->db ? sqlite3_errmsg(d->db) : "out of memory", rc);
        goto err;
    }
    sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
    if (sqlite3_exec(d->db, "PRAGMA journal_mode=WAL", wal_mode, mode, NULL) != SQLITE_OK) {
        fail(d, "PRAGMA journal_mode=WAL", why, sizeof why);
        goto err;
    }
    if (strcmp(mode, "wal") != 0 && strcmp(path, ":memory:") != 0)
        log_event(LOG_WARN, "results_db", "journal_mode=%s reason=\"WAL not available here\"", mode);
    d->default_pages = query_int(d, "PRAGMA max_page_count");
    if (exec(d, "PRAGMA synchronous=NORMAL", why, sizeof why) || make_schema(d, why, sizeof why) ||
        prepare(d, why, sizeof why))
        goto err;
    if (max_page_count > 0)
        results_db_set_max_page_count(d, max_page_count);
    return d;
err:
    snprintf(err, errlen, "%s: %s", path, why);
    results_db_close(d);
    return NULL;
}

/* Steps a statement that returns no rows; SQLite's message in err before
 * the reset, which keeps the statement reusable. */
static int step_done(results_db *d, sqlite3_stmt *s, char *err, size_t errlen)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && err)
        snprintf(err, errlen, "%s (%d)", sqlite3_errmsg(d->db), sqlite3_extended_errcode(d->db));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int write_player(results_db *d, sqlite3_int64 round_id, int slot, const results_player *p, char *err,
                        size_t errlen)
{
    sqlite3_stmt *s = d->ins_player;
    sqlite3_bind_int64(s, 1, round_id);
    sqlite3_bind_int(s, 2, slot);
    sqlite3_bind_text(s, 3, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)p->account);
    sqlite3_bind_int(s, 5, p->npc ? 1 : 0);
    sqlite3_bind_int(s, 6, p->kills);
    sqlite3_bind_int(s, 7, p->deaths);
    sqlite3_bind_int(s, 8, p->score);
    return step_done(d, s, err, errlen);
}

int results_db_write(results_db *d, const results_round *rd, char *err, size_t errlen)
{
    if (step_done(d, d->begin, err, errlen))
        return -1;
    sqlite3_stmt *s = d->ins_round;
    sqlite3_bind_int64(s, 1, rd->match_id);
    sqlite3_bind_text(s, 2, rd->label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, rd->round);
    sqlite3_bind_int64(s, 4, rd->start_ms);
    sqlite3_bind_int64(s, 5, rd->end_ms);
    sqlite3_bind_text(s, 6, rd->map, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, rd->end_reason, -1, SQLITE_STATIC);
    if (step_done(d, s, err, errlen))
        goto rollback;
    sqlite3_int64 id = sqlite3_last_insert_rowid(d->db);
    for (int i = 0; i < rd->nplayers; i++)
        if (write_player(d, id, i, &rd->players[i], err, errlen))
            goto rollback;
    if (step_done(d, d->commit, err, errlen) == 0)
        return 0;
rollback:
    /* SQLite may have rolled back already (SQLITE_FULL, IOERR, ...). */
    if (!sqlite3_get_autocommit(d->db))
        step_done(d, d->rollback, NULL, 0);
    return -1;
}

static void text_col(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void read_players(sqlite3_stmt *s, sqlite3_int64 id, results_round *rd)
{
    sqlite3_bind_int64(s, 1, id);
    while (rd->nplayers < RESULTS_MAX_PLAYERS && sqlite3_step(s) == SQLITE_ROW) {
        results_player *p = &rd->players[rd->nplayers++];
        text_col(s, 0, p->name, sizeof p->name);
        p->account = (uint64_t)sqlite3_column_int64(s, 1);
        p->npc = sqlite3_column_int(s, 2) != 0;
        p->kills = sqlite3_column_int(s, 3);
        p->deaths = sqlite3_column_int(s, 4);
        p->score = sqlite3_column_int(s, 5);
    }
    sqlite3_reset(s);
}

int results_db_load_recent(results_db *d, results_round *out, int n, char *err, size_t errlen)
{
    sqlite3_stmt *rs = NULL, *ps = NULL;
    int count = 0;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT id, match_id, label, round, start_ms, end_ms, map, end_reason FROM "
                           "(SELECT * FROM rounds ORDER BY id DESC LIMIT ?) ORDER BY id",
                           -1, &rs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(d->db,
                           "SELECT name, account, npc, kills, deaths, score FROM round_players "
                           "WHERE round_id = ? ORDER BY slot",
                           -1, &ps, NULL) != SQLITE_OK) {
        count = fail(d, "reading the newest rounds", err, errlen);
        goto out;
    }
    sqlite3_bind_int(rs, 1, n);
    int rc = SQLITE_DONE;
    while (count < n && (rc = sqlite3_step(rs)) == SQLITE_ROW) {
        results_round *rd = &out[count++];
        memset(rd, 0, sizeof *rd);
        rd->match_id = (uint32_t)sqlite3_column_int64(rs, 1);
        text_col(rs, 2, rd->label, sizeof rd->label);
        rd->round = (uint32_t)sqlite3_column_int64(rs, 3);
        rd->start_ms = sqlite3_column_int64(rs, 4);
        rd->end_ms = sqlite3_column_int64(rs, 5);
        text_col(rs, 6, rd->map, sizeof rd->map);
        text_col(rs, 7, rd->end_reason, sizeof rd->end_reason);
        read_players(ps, sqlite3_column_int64(rs, 0), rd);
    }
    if (count < n && rc != SQLITE_DONE)
        count = fail(d, "reading the newest rounds", err, errlen);
out:
    sqlite3_finalize(rs);
    sqlite3_finalize(ps);
    return count;
}

void results_db_set_max_page_count(results_db *d, int pages)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", pages > 0 ? (long long)pages : d->default_pages);
    sqlite3_exec(d->db, sql, NULL, NULL, NULL);
}

void results_db_close(results_db *d)
{
    if (!d)
        return;
    sqlite3_stmt *all[] = {d->begin, d->commit, d->rollback, d->ins_round, d->ins_player};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    /* With WAL, the last connection to close checkpoints and removes the
     * -wal and -shm files. */
    if (sqlite3_close(d->db) != SQLITE_OK)
        log_event(LOG_ERROR, "results_db", "reason=\"close failed\" error=\"%s\"", sqlite3_errmsg(d->db));
    free(d);
}
