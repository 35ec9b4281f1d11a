/* Unit tests for server/results.c (and results_db.c): ended rounds in
 * SQLite, written by a thread so the tick never waits for the disk.
 *
 * Real SQLite files in a temp dir, read back with the sqlite3 library
 * field by field; ":memory:"; the JSON and its escaping; real failures:
 * a disk that is full (PRAGMA max_page_count, SQLITE_FULL) and a database
 * locked by another connection (SQLITE_BUSY). Through all of them
 * results_submit returns at once, every failure is counted and logged,
 * and every round ends up stored or logged whole as lost, never dropped
 * in silence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>

#include "log.h"
#include "results.h"

/* A call that takes longer has waited for something: well under the 1 s a
 * write waits for a lock, with room for a loaded machine. */
#define QUICK_MS 200.0

/* ---- helpers ------------------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Round number k of a match: every field depends on k; players too. */
static void make_round(results_round *rd, uint32_t match_id, uint32_t k, int nplayers)
{
    memset(rd, 0, sizeof *rd);
    rd->match_id = match_id;
    snprintf(rd->label, sizeof rd->label, "%s", k % 2 ? "ranked-eu" : "");
    rd->round = k;
    rd->start_ms = 1798000000000LL + (int64_t)k * 60000;
    rd->end_ms = rd->start_ms + 59999;
    snprintf(rd->map, sizeof rd->map, "arena-%u", k);
    snprintf(rd->end_reason, sizeof rd->end_reason, "%s", k % 3 == 0 ? "time" : k % 3 == 1 ? "score" : "interrupted");
    rd->nplayers = nplayers;
    for (int i = 0; i < nplayers; i++) {
        results_player *p = &rd->players[i];
        char name[64]; /* 16 characters: 128 players' rows take more than a 4 KiB page */
        snprintf(name, sizeof name, "p%u_%d_%s", k, i, i == 1 ? "ABCDEFGHIJKLMNOP" : "xyzxyzxyzxyzxyz");
        memcpy(p->name, name, sizeof p->name - 1);
        p->account = i == 0 ? 0 : i == 2 ? UINT64_MAX : 1000u + (uint64_t)i * 7919u + k;
        p->npc = i % 4 == 3;
        p->kills = i * 3 + (int32_t)k;
        p->deaths = -i;
        p->score = i == 5 ? INT32_MIN : i == 6 ? INT32_MAX : i * 100 - 50;
    }
}

static void submit_quickly(results *r, const results_round *rd, int want)
{
    double t0 = now_ms();
    assert_int_equal(results_submit(r, rd), want);
    double took = now_ms() - t0;
    if (took > QUICK_MS)
        fail_msg("results_submit took %.1f ms", took);
}

static results_stats stats_of(results *r)
{
    results_stats s;
    results_get_stats(r, &s);
    return s;
}

/* Polls the stats until ok() holds; fails after timeout_ms. */
static results_stats wait_for(results *r, int (*ok)(const results_stats *s, uint64_t n), uint64_t n, int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    results_stats s = stats_of(r);
    while (!ok(&s, n)) {
        if (now_ms() > end)
            fail_msg("timed out: written %llu errors %llu retries %llu lost %llu queued %u",
                     (unsigned long long)s.written, (unsigned long long)s.write_errors,
                     (unsigned long long)s.retries, (unsigned long long)s.lost, s.queued);
        sleep_ms(5);
        s = stats_of(r);
    }
    return s;
}

static int written_n(const results_stats *s, uint64_t n) { return s->written >= n && s->queued == 0; }
static int errors_n(const results_stats *s, uint64_t n) { return s->write_errors >= n; }

/* A temp dir with one database path in it; removed (with -wal, -shm) after. */
typedef struct tmpdb {
    char dir[64], path[96];
} tmpdb;

static void tmpdb_make(tmpdb *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/tw-results-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/rounds.db", t->dir);
}

static void tmpdb_remove(tmpdb *t)
{
    char p[128];
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, suffix[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(t->dir), 0);
}

/* What the server logs, from both threads. */
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[1 << 20];
static size_t g_log_len;

static void sink(void *user, log_level level, const char *event, const char *kv)
{
    (void)user;
    (void)level;
    pthread_mutex_lock(&g_log_mu);
    int n = snprintf(g_log + g_log_len, sizeof g_log - g_log_len, "%s %s\n", event, kv);
    if (n > 0)
        g_log_len = g_log_len + (size_t)n < sizeof g_log ? g_log_len + (size_t)n : sizeof g_log - 1;
    pthread_mutex_unlock(&g_log_mu);
}

static int setup(void **state)
{
    (void)state;
    g_log_len = 0;
    g_log[0] = '\0';
    log_set_sink(sink, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_sink(NULL, NULL);
    return 0;
}

/* Lines of the log that start with `event ` and hold `has` (NULL: any). */
static int log_count(const char *event, const char *has)
{
    pthread_mutex_lock(&g_log_mu);
    int n = 0;
    size_t el = strlen(event);
    for (char *l = g_log; *l;) {
        char *eol = strchr(l, '\n');
        *eol = '\0';
        n += strncmp(l, event, el) == 0 && l[el] == ' ' && (!has || strstr(l, has));
        *eol = '\n';
        l = eol + 1;
    }
    pthread_mutex_unlock(&g_log_mu);
    return n;
}

/* ---- reading the file back with the sqlite3 library ------------------------------ */

static sqlite3 *db_open_ro(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Every stored round (in id order) and player equals want[0..n). */
static void db_check(const char *path, const results_round *want, int n)
{
    sqlite3 *db = db_open_ro(path);
    assert_int_equal(db_int(db, "PRAGMA user_version"), RESULTS_SCHEMA_VERSION);
    assert_int_equal(db_int(db, "SELECT count(*) FROM rounds"), n);
    int total = 0;
    for (int i = 0; i < n; i++)
        total += want[i].nplayers;
    assert_int_equal(db_int(db, "SELECT count(*) FROM round_players"), total);
    sqlite3_stmt *rs, *ps;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, match_id, label, round, start_ms, end_ms, map, end_reason "
                                            "FROM rounds ORDER BY id", -1, &rs, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT slot, name, account, npc, kills, deaths, score "
                                            "FROM round_players WHERE round_id = ? ORDER BY slot", -1, &ps, NULL),
                     SQLITE_OK);
    for (int i = 0; i < n; i++) {
        const results_round *w = &want[i];
        assert_int_equal(sqlite3_step(rs), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(rs, 1), w->match_id);
        assert_string_equal((const char *)sqlite3_column_text(rs, 2), w->label);
        assert_int_equal(sqlite3_column_int64(rs, 3), w->round);
        assert_int_equal(sqlite3_column_int64(rs, 4), w->start_ms);
        assert_int_equal(sqlite3_column_int64(rs, 5), w->end_ms);
        assert_string_equal((const char *)sqlite3_column_text(rs, 6), w->map);
        assert_string_equal((const char *)sqlite3_column_text(rs, 7), w->end_reason);
        sqlite3_bind_int64(ps, 1, sqlite3_column_int64(rs, 0));
        for (int k = 0; k < w->nplayers; k++) {
            const results_player *p = &w->players[k];
            assert_int_equal(sqlite3_step(ps), SQLITE_ROW);
            assert_int_equal(sqlite3_column_int(ps, 0), k);
            assert_string_equal((const char *)sqlite3_column_text(ps, 1), p->name);
            assert_true((uint64_t)sqlite3_column_int64(ps, 2) == p->account);
            assert_int_equal(sqlite3_column_int(ps, 3), p->npc);
            assert_int_equal(sqlite3_column_int(ps, 4), p->kills);
            assert_int_equal(sqlite3_column_int(ps, 5), p->deaths);
            assert_int_equal(sqlite3_column_int(ps, 6), p->score);
        }
        assert_int_equal(sqlite3_step(ps), SQLITE_DONE);
        sqlite3_reset(ps);
    }
    assert_int_equal(sqlite3_step(rs), SQLITE_DONE);
    sqlite3_finalize(rs);
    sqlite3_finalize(ps);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* The JSON results_recent_json should give for want[0..n), newest first. */
static char *json_of(const results_round *want, int n, int limit)
{
    size_t cap = (size_t)(n + 1) * RESULTS_ROUND_JSON_MAX;
    char *out = malloc(cap), *p = out;
    *p++ = '[';
    for (int i = n - 1; i >= 0 && i >= n - limit; i--) {
        if (i != n - 1)
            *p++ = ',';
        size_t k = results_round_json(&want[i], p, cap - (size_t)(p - out));
        assert_true(k > 0);
        p += k;
    }
    strcpy(p, "]");
    return out;
}

static void check_recent(results *r, const results_round *want, int n, int limit)
{
    char *expect = json_of(want, n, limit);
    size_t cap = (size_t)(n + 1) * RESULTS_ROUND_JSON_MAX;
    char *got = malloc(cap);
    assert_int_equal(results_recent_json(r, limit, got, cap), strlen(expect));
    assert_string_equal(got, expect);
    free(got);
    free(expect);
}

/* ---- tests ----------------------------------------------------------------------- */

/* Rounds submitted, the handle closed: the file holds each field as given;
 * opened again, the module lists them (newest first) from what it read. */
static void test_file_round_trip(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    char err[256] = "";
    results *r = results_open(t.path, err, sizeof err);
    assert_non_null(r);
    enum { N = 6 };
    static results_round rounds[N];
    const int players[N] = {0, 1, 7, 16, 64, RESULTS_MAX_PLAYERS};
    for (int i = 0; i < N; i++) {
        make_round(&rounds[i], 40 + (uint32_t)i / 2, (uint32_t)i + 1, players[i]);
        submit_quickly(r, &rounds[i], 0);
    }
    results_close(r);
    assert_int_equal(log_count("results_close", "written=6 write_errors=0 lost=0"), 1);
    db_check(t.path, rounds, N);
    sqlite3 *db = db_open_ro(t.path);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);

    r = results_open(t.path, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(log_count("results_open", "rounds_loaded=6"), 1);
    check_recent(r, rounds, N, 100);
    check_recent(r, rounds, N, 2);
    results_stats st = stats_of(r);
    assert_int_equal(st.written + st.queued + st.lost, 0);
    results_close(r);
    tmpdb_remove(&t);
}

/* ":memory:": stored while the handle lives, listed newest first. */
static void test_memory(void **state)
{
    (void)state;
    char err[256] = "";
    results *r = results_open(":memory:", err, sizeof err);
    assert_non_null(r);
    char buf[8];
    assert_int_equal(results_recent_json(r, 20, buf, sizeof buf), 2);
    assert_string_equal(buf, "[]");
    static results_round rounds[3];
    for (int i = 0; i < 3; i++) {
        make_round(&rounds[i], 7, (uint32_t)i + 1, 3 + i);
        submit_quickly(r, &rounds[i], 0);
    }
    wait_for(r, written_n, 3, 5000);
    check_recent(r, rounds, 3, 1);
    check_recent(r, rounds, 3, 20);
    results_close(r);
}

/* The newest RESULTS_RECENT_MAX are kept; older ones leave the list. */
static void test_recent_window(void **state)
{
    (void)state;
    char err[256] = "";
    results *r = results_open(":memory:", err, sizeof err);
    assert_non_null(r);
    enum { N = RESULTS_RECENT_MAX + 7 };
    static results_round rounds[N];
    for (int i = 0; i < N; i++) {
        make_round(&rounds[i], 1, (uint32_t)i + 1, 2);
        submit_quickly(r, &rounds[i], 0);
        if (i % 32 == 31)
            wait_for(r, written_n, (uint64_t)i + 1, 5000); /* the queue holds 64 */
    }
    wait_for(r, written_n, N, 5000);
    check_recent(r, rounds, N, 100);
    char buf[64];
    assert_int_equal(results_recent_json(r, 1, buf, sizeof buf), 0); /* too small: 0, not a cut */
    results_close(r);
}

/* Strings are JSON-escaped: " and \, control bytes and bytes >= 0x7f as
 * \u00XX. The longest possible round fits RESULTS_ROUND_JSON_MAX. */
static void test_json(void **state)
{
    (void)state;
    static results_round rd;
    memset(&rd, 0, sizeof rd);
    rd.match_id = 3;
    snprintf(rd.label, sizeof rd.label, "team\t\"a\"");
    rd.round = 2;
    rd.start_ms = 1000;
    rd.end_ms = 2000;
    snprintf(rd.map, sizeof rd.map, "c:\\maps\\x\x7f\xc3\xa9");
    snprintf(rd.end_reason, sizeof rd.end_reason, "score");
    rd.nplayers = 2;
    snprintf(rd.players[0].name, sizeof rd.players[0].name, "a\"b\\c");
    rd.players[0].account = 42;
    rd.players[0].kills = 5;
    rd.players[0].deaths = 1;
    rd.players[0].score = 500;
    snprintf(rd.players[1].name, sizeof rd.players[1].name, "bot 1");
    rd.players[1].npc = 1;
    rd.players[1].score = -5;
    const char *want =
        "{\"match_id\":3,\"label\":\"team\\u0009\\\"a\\\"\",\"round\":2,\"start_ms\":1000,\"end_ms\":2000,"
        "\"map\":\"c:\\\\maps\\\\x\\u007f\\u00c3\\u00a9\",\"end_reason\":\"score\",\"players\":["
        "{\"name\":\"a\\\"b\\\\c\",\"account\":42,\"npc\":false,\"kills\":5,\"deaths\":1,\"score\":500},"
        "{\"name\":\"bot 1\",\"account\":0,\"npc\":true,\"kills\":0,\"deaths\":0,\"score\":-5}]}";
    char buf[1024];
    assert_int_equal(results_round_json(&rd, buf, sizeof buf), strlen(want));
    assert_string_equal(buf, want);
    assert_int_equal(results_round_json(&rd, buf, strlen(want)), 0); /* no room for the NUL */
    assert_int_equal(results_round_json(&rd, buf, strlen(want) + 1), strlen(want));

    /* Through the module too: the name with " and \ comes back escaped. */
    char err[256] = "";
    results *r = results_open(":memory:", err, sizeof err);
    assert_non_null(r);
    submit_quickly(r, &rd, 0);
    wait_for(r, written_n, 1, 5000);
    char list[2048];
    assert_int_equal(results_recent_json(r, 5, list, sizeof list), strlen(want) + 2);
    assert_true(list[0] == '[' && strncmp(list + 1, want, strlen(want)) == 0);
    assert_string_equal(list + 1 + strlen(want), "]");
    results_close(r);

    /* The worst case: every string full of bytes to escape, numbers widest. */
    memset(&rd, 0, sizeof rd);
    rd.match_id = rd.round = UINT32_MAX;
    rd.start_ms = rd.end_ms = INT64_MIN;
    memset(rd.label, 1, sizeof rd.label - 1);
    memset(rd.map, 0x80, sizeof rd.map - 1);
    memset(rd.end_reason, 0xff, sizeof rd.end_reason - 1);
    rd.nplayers = RESULTS_MAX_PLAYERS;
    for (int i = 0; i < RESULTS_MAX_PLAYERS; i++) {
        memset(rd.players[i].name, 2, sizeof rd.players[i].name - 1);
        rd.players[i].account = UINT64_MAX;
        rd.players[i].kills = rd.players[i].deaths = rd.players[i].score = INT32_MIN;
    }
    static char big[RESULTS_ROUND_JSON_MAX];
    size_t n = results_round_json(&rd, big, sizeof big);
    assert_true(n > 0 && n < sizeof big);
}

/* A full disk (max_page_count, a real SQLITE_FULL): every attempt fails,
 * is counted and logged, submit still returns at once, nothing is lost;
 * once the limit is lifted every queued round is stored. */
static void test_disk_full_then_lifted(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    char err[256] = "";
    results *r = results_open_opts(t.path, &(results_opts){.max_page_count = 1, .retry_ms = 20}, err, sizeof err);
    assert_non_null(r);
    static results_round rounds[3];
    for (int i = 0; i < 3; i++) {
        make_round(&rounds[i], 9, (uint32_t)i + 1, RESULTS_MAX_PLAYERS); /* > 1 page each */
        submit_quickly(r, &rounds[i], 0);
    }
    results_stats st = wait_for(r, errors_n, 3, 5000);
    submit_quickly(r, &rounds[0], 0); /* while the writer is failing */
    st = stats_of(r);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.queued, 4);
    assert_true(st.retries >= 2);
    assert_true(log_count("results_write_failed", "database or disk is full") >= 3);
    char buf[64];
    assert_int_equal(results_recent_json(r, 10, buf, sizeof buf), 2); /* nothing stored yet */

    results_set_max_page_count(r, 0);
    st = wait_for(r, written_n, 4, 5000);
    assert_int_equal(st.lost, 0);
    assert_int_equal(log_count("results_write_recovered", "match_id=9 round=1"), 1);
    results_close(r);
    const results_round all[4] = {rounds[0], rounds[1], rounds[2], rounds[0]};
    db_check(t.path, all, 4);
    tmpdb_remove(&t);
}

/* Still full at close: each round gets its retries (the first
 * close_tries, the rest one each once the disk is known gone), then is
 * logged whole, one line with its JSON, and counted as lost. */
static void test_disk_full_at_close(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    char err[256] = "";
    results *r = results_open_opts(t.path, &(results_opts){.max_page_count = 1, .retry_ms = 20, .close_tries = 2},
                                   err, sizeof err);
    assert_non_null(r);
    static results_round rounds[3];
    for (int i = 0; i < 3; i++) {
        make_round(&rounds[i], 11, (uint32_t)i + 1, RESULTS_MAX_PLAYERS);
        submit_quickly(r, &rounds[i], 0);
    }
    wait_for(r, errors_n, 1, 5000);
    double t0 = now_ms();
    results_close(r);
    double took = now_ms() - t0;
    assert_true(took < 3000);
    assert_int_equal(log_count("results_close", "written=0"), 1);
    assert_int_equal(log_count("results_close", "lost=3"), 1);
    assert_int_equal(log_count("results_write_failed", "closing=1"), 2 + 1 + 1);
    static char json[RESULTS_ROUND_JSON_MAX], line[RESULTS_ROUND_JSON_MAX + 16];
    for (int i = 0; i < 3; i++) {
        assert_true(results_round_json(&rounds[i], json, sizeof json) > 0);
        snprintf(line, sizeof line, " record=%s\n", json);
        assert_non_null(strstr(g_log, line));
        assert_int_equal(log_count("results_lost", json), 1);
    }
    assert_int_equal(log_count("results_lost", "reason=write_failed"), 3);
    db_check(t.path, rounds, 0);
    tmpdb_remove(&t);
}

/* A full queue refuses the round (-1), counts it as lost and logs it whole. */
static void test_queue_full(void **state)
{
    (void)state;
    char err[256] = "";
    results *r = results_open_opts(":memory:", &(results_opts){.queue_cap = 2, .max_page_count = 1, .retry_ms = 60000},
                                   err, sizeof err);
    assert_non_null(r);
    static results_round rounds[3];
    for (int i = 0; i < 3; i++)
        make_round(&rounds[i], 12, (uint32_t)i + 1, RESULTS_MAX_PLAYERS);
    submit_quickly(r, &rounds[0], 0);
    submit_quickly(r, &rounds[1], 0);
    submit_quickly(r, &rounds[2], -1);
    results_stats st = stats_of(r);
    assert_int_equal(st.queue_full, 1);
    assert_int_equal(st.lost, 1);
    assert_int_equal(st.queued, 2);
    static char json[RESULTS_ROUND_JSON_MAX];
    assert_true(results_round_json(&rounds[2], json, sizeof json) > 0);
    assert_int_equal(log_count("results_lost", json), 1);
    assert_int_equal(log_count("results_lost", "reason=queue_full"), 1);

    results_set_max_page_count(r, 0); /* also ends the minute-long backoff */
    st = wait_for(r, written_n, 2, 5000);
    assert_int_equal(st.lost, 1);
    check_recent(r, rounds, 2, 10);
    results_close(r);
}

/* Another connection holds the write lock: the writer waits in SQLite
 * (then fails with SQLITE_BUSY and retries), the caller never does. */
static void test_locked_never_blocks(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    char err[256] = "";
    results *r = results_open_opts(t.path, &(results_opts){.retry_ms = 50}, err, sizeof err);
    assert_non_null(r);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(t.path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    static results_round rounds[4];
    for (int i = 0; i < 4; i++)
        make_round(&rounds[i], 13, (uint32_t)i + 1, 8);
    submit_quickly(r, &rounds[0], 0);
    double end = now_ms() + 5000; /* the writer gives up after its 1 s busy timeout */
    for (int next = 1; next < 4 || stats_of(r).write_errors < 1;) {
        if (now_ms() > end)
            fail_msg("no failed write while the database was locked");
        sleep_ms(100);
        if (next < 4)
            submit_quickly(r, &rounds[next++], 0);
        char buf[64];
        double t0 = now_ms();
        results_recent_json(r, 5, buf, sizeof buf);
        results_get_stats(r, &(results_stats){0});
        assert_true(now_ms() - t0 < QUICK_MS);
    }
    results_stats st = stats_of(r);
    assert_int_equal(st.written, 0);
    assert_true(st.write_errors >= 1);
    assert_true(log_count("results_write_failed", "database is locked") >= 1);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    st = wait_for(r, written_n, 4, 5000);
    assert_int_equal(st.lost, 0);
    results_close(r);
    const results_round all[4] = {rounds[0], rounds[1], rounds[2], rounds[3]};
    db_check(t.path, all, 4);
    tmpdb_remove(&t);
}

/* Files that cannot be used are refused at open with a reason. */
static void test_open_errors(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(results_open("/nonexistent-dir/x/rounds.db", err, sizeof err));
    assert_non_null(strstr(err, "unable to open database file"));
    assert_non_null(strstr(err, "/nonexistent-dir/x/rounds.db"));

    tmpdb t;
    tmpdb_make(&t);
    FILE *f = fopen(t.path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database. ", f);
    fclose(f);
    err[0] = '\0';
    assert_null(results_open(t.path, err, sizeof err));
    assert_non_null(strstr(err, "not a database"));
    unlink(t.path);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    err[0] = '\0';
    assert_null(results_open(t.path, err, sizeof err));
    assert_non_null(strstr(err, "schema version 7 is newer"));
    tmpdb_remove(&t);
}

/* Threads of this process, from /proc/self/task. */
static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* Waits up to timeout_ms for the process to hold `want` threads. */
static int wait_threads(int want, int timeout_ms)
{
    double until = now_ms() + timeout_ms;
    int n;
    while ((n = thread_count()) != want && now_ms() < until)
        sleep_ms(5);
    return n;
}

/* The writer thread exists only while rounds are queued: none after open,
 * none once a round is stored, and the next round starts another that
 * stores it too (the game loop's socket calls are cheaper in a process of
 * one thread). */
static void test_writer_only_while_queued(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    char err[256];
    int base = thread_count();
    results *r = results_open(t.path, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(thread_count(), base);
    results_round rounds[3];
    for (int k = 0; k < 3; k++)
        make_round(&rounds[k], 9, (uint32_t)k + 1, 3 + k);
    submit_quickly(r, &rounds[0], 0);
    results_stats st = wait_for(r, written_n, 1, 5000);
    assert_int_equal(st.written, 1);
    assert_int_equal(wait_threads(base, 5000), base);
    submit_quickly(r, &rounds[1], 0);
    submit_quickly(r, &rounds[2], 0);
    st = wait_for(r, written_n, 3, 5000);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.lost, 0);
    assert_int_equal(wait_threads(base, 5000), base);
    results_close(r);
    db_check(t.path, rounds, 3);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recent_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_then_lifted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_at_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_never_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_only_while_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
