/* results: see results.h. The event loop (submit, stats, JSON) and the
 * writer thread meet at one mutex, held only to copy a round or a counter,
 * never across a disk write or a log line: the writer writes the queue's
 * head in place (submit only fills the slots behind it) and pops it after.
 * The SQLite side is results_db.c. */
#include "results.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "results_db.h"

#define DEFAULT_QUEUE_CAP 64
#define DEFAULT_RETRY_MS 1000
#define MAX_RETRY_MS 30000
#define DEFAULT_CLOSE_TRIES 3
#define CLOSE_RETRY_MS 250

struct results {
    results_db *db;
    results_opts o;
    pthread_t writer;
    int running;             /* the writer thread is on (it ends when the queue is empty) */
    int joinable;            /* a writer was started and not yet joined */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* a waiting writer's backoff ends on it: a knob, close */
    results_round *queue;    /* ring of o.queue_cap; [qhead] is being written */
    int qhead, qn;
    results_round *recent;   /* ring of RESULTS_RECENT_MAX; [rhead] is the next to fill */
    int rhead, rn;
    results_stats st;        /* st.queued unused: qn is the truth */
    int stopping;
    int wake;                /* close or a knob: end the current backoff now */
    int want_pages;          /* max_page_count for the writer to apply; -1: none */
};

/* ---- JSON ---------------------------------------------------------------------- */

typedef struct jbuf {
    char *p;
    size_t len, cap;
    int over; /* sticky: something did not fit */
} jbuf;

static void j_printf(jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void j_printf(jbuf *j, const char *fmt, ...)
{
    if (j->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(j->p + j->len, j->cap - j->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= j->cap - j->len)
        j->over = 1;
    else
        j->len += (size_t)n;
}

/* A JSON string of s[0..max): " and \ escaped, every byte outside printable
 * ASCII as \u00XX (read as Latin-1), so the output is always valid. */
static void j_str(jbuf *j, const char *s, size_t max)
{
    j_printf(j, "\"");
    for (size_t i = 0; i < max && s[i] && !j->over; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            j_printf(j, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            j_printf(j, "\\u%04x", c);
        else
            j_printf(j, "%c", c);
    }
    j_printf(j, "\"");
}

size_t results_round_json(const results_round *rd, char *buf, size_t cap)
{
    jbuf j = {buf, 0, cap, cap == 0};
    j_printf(&j, "{\"match_id\":%" PRIu32 ",\"label\":", rd->match_id);
    j_str(&j, rd->label, sizeof rd->label);
    j_printf(&j, ",\"round\":%" PRIu32 ",\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64 ",\"map\":", rd->round,
             rd->start_ms, rd->end_ms);
    j_str(&j, rd->map, sizeof rd->map);
    j_printf(&j, ",\"end_reason\":");
    j_str(&j, rd->end_reason, sizeof rd->end_reason);
    j_printf(&j, ",\"players\":[");
    for (int i = 0; i < rd->nplayers && i < RESULTS_MAX_PLAYERS; i++) {
        const results_player *p = &rd->players[i];
        j_printf(&j, "%s{\"name\":", i ? "," : "");
        j_str(&j, p->name, sizeof p->name);
        j_printf(&j, ",\"account\":%" PRIu64 ",\"npc\":%s,\"kills\":%" PRId32 ",\"deaths\":%" PRId32
                     ",\"score\":%" PRId32 "}",
                 p->account, p->npc ? "true" : "false", p->kills, p->deaths, p->score);
    }
    j_printf(&j, "]}");
    return j.over ? 0 : j.len;
}

/* Limits out of 1..RESULTS_RECENT_MAX are clamped. */
size_t results_recent_json(results *r, int limit, char *buf, size_t cap)
{
    limit = limit < 1 ? 1 : limit > RESULTS_RECENT_MAX ? RESULTS_RECENT_MAX : limit;
    if (cap < 3)
        return 0;
    size_t o = 0;
    buf[o++] = '[';
    pthread_mutex_lock(&r->mu);
    int n = r->rn < limit ? r->rn : limit;
    for (int i = 0; i < n && o; i++) {
        const results_round *rd = &r->recent[(r->rhead - 1 - i + RESULTS_RECENT_MAX) % RESULTS_RECENT_MAX];
        if (i)
            buf[o++] = ',';
        size_t k = results_round_json(rd, buf + o, cap - o - 1); /* room left for ',' or ']' */
        o = k ? o + k : 0;
    }
    pthread_mutex_unlock(&r->mu);
    if (!o || o + 2 > cap)
        return 0;
    buf[o++] = ']';
    buf[o] = '\0';
    return o;
}

/* ---- the queue ------------------------------------------------------------------- */

/* Copies the players in use only (O(players)); strings end in NUL. */
static void copy_round(results_round *dst, const results_round *src)
{
    assert(src->nplayers >= 0 && src->nplayers <= RESULTS_MAX_PLAYERS);
    int n = src->nplayers < 0 ? 0 : src->nplayers > RESULTS_MAX_PLAYERS ? RESULTS_MAX_PLAYERS : src->nplayers;
    memcpy(dst, src, offsetof(results_round, players));
    memcpy(dst->players, src->players, (size_t)n * sizeof src->players[0]);
    dst->nplayers = n;
    dst->label[sizeof dst->label - 1] = dst->map[sizeof dst->map - 1] = '\0';
    dst->end_reason[sizeof dst->end_reason - 1] = '\0';
    for (int i = 0; i < n; i++)
        dst->players[i].name[sizeof dst->players[i].name - 1] = '\0';
}

/* One line with the whole round, so it can be recovered from the log. */
static void log_lost(const results_round *rd, const char *reason, const char *error)
{
    char *json = malloc(RESULTS_ROUND_JSON_MAX), q[300];
    if (json && !results_round_json(rd, json, RESULTS_ROUND_JSON_MAX))
        snprintf(json, RESULTS_ROUND_JSON_MAX, "null");
    log_event_json(LOG_ERROR, "results_lost", "record", json ? json : "null",
                   "match_id=%" PRIu32 " round=%" PRIu32 " players=%d reason=%s error=\"%s\"", rd->match_id,
                   rd->round, rd->nplayers, reason, log_quote(error, q, sizeof q));
    free(json);
}

static int start_writer(results *r);

int results_submit(results *r, const results_round *rd)
{
    pthread_mutex_lock(&r->mu);
    int full = r->qn == r->o.queue_cap;
    if (full) {
        r->st.queue_full++;
        r->st.lost++;
    } else {
        copy_round(&r->queue[(r->qhead + r->qn) % r->o.queue_cap], rd);
        r->qn++;
    }
    /* No writer: the last one found the queue empty and ended (or is
     * ending: it takes no lock after that, so the join is short). Tried
     * on every submit, a full queue's too, should an earlier start fail. */
    if (!r->running) {
        if (r->joinable)
            pthread_join(r->writer, NULL);
        r->joinable = r->running = start_writer(r) == 0;
        if (!r->running)
            log_event(LOG_ERROR, "results_writer_failed",
                      "reason=\"cannot start the writer thread\" queued=%d (written at the next round or at close)",
                      r->qn);
    }
    pthread_mutex_unlock(&r->mu);
    if (full)
        log_lost(rd, "queue_full", "the write queue is full: the disk is failing or too slow");
    return full ? -1 : 0;
}

void results_submit_cb(void *user, const results_round *rd)
{
    results_submit(user, rd);
}

void results_get_stats(results *r, results_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    out->queued = (uint32_t)r->qn;
    pthread_mutex_unlock(&r->mu);
}

void results_set_max_page_count(results *r, int pages)
{
    pthread_mutex_lock(&r->mu);
    r->want_pages = pages < 0 ? 0 : pages;
    r->wake = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* ---- the writer thread ------------------------------------------------------------- */

/* What the writer knows about the round at the head between attempts. */
typedef struct attempt {
    int fails;      /* failed attempts at this round */
    int close_left; /* attempts left once closing; -1: not counted yet */
    int backoff_ms; /* next wait while running */
    int disk_gone;  /* a round was lost at close: give the rest one attempt */
} attempt;

/* Waits up to ms for close or a knob (not for new rounds). Called locked. */
static void wait_locked(results *r, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!r->wake && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0) {
    }
    r->wake = 0;
}

/* The head round is done (stored, or lost): into the recent list if
 * stored, out of the queue. Called locked. */
static void pop_locked(results *r, int stored)
{
    if (stored) {
        copy_round(&r->recent[r->rhead], &r->queue[r->qhead]);
        r->rhead = (r->rhead + 1) % RESULTS_RECENT_MAX;
        r->rn += r->rn < RESULTS_RECENT_MAX;
        r->st.written++;
    }
    r->qhead = (r->qhead + 1) % r->o.queue_cap;
    r->qn--;
}

/* After a failed attempt at rd: log, then wait (running) or count down
 * the attempts left (closing). Returns 1 when rd is to be given up. */
static int after_failure(results *r, const results_round *rd, attempt *a, int stopping, const char *error)
{
    char q[300];
    a->fails++;
    if (stopping && a->close_left < 0)
        a->close_left = a->disk_gone ? 1 : r->o.close_tries;
    int give_up = stopping && --a->close_left <= 0;
    int wait_ms = !stopping ? a->backoff_ms : give_up ? 0 : CLOSE_RETRY_MS;
    log_event(LOG_ERROR, "results_write_failed",
              "match_id=%" PRIu32 " round=%" PRIu32 " attempt=%d closing=%d retry_in_ms=%d error=\"%s\"",
              rd->match_id, rd->round, a->fails, stopping, give_up ? -1 : wait_ms,
              log_quote(error, q, sizeof q));
    if (give_up)
        log_lost(rd, "write_failed", error);
    pthread_mutex_lock(&r->mu);
    r->st.write_errors++;
    if (give_up) {
        r->st.lost++;
        pop_locked(r, 0);
    } else {
        wait_locked(r, wait_ms);
        r->st.retries++;
    }
    pthread_mutex_unlock(&r->mu);
    if (!stopping)
        a->backoff_ms = a->backoff_ms * 2 > MAX_RETRY_MS ? MAX_RETRY_MS : a->backoff_ms * 2;
    return give_up;
}

static void *writer_main(void *arg)
{
    results *r = arg;
    attempt a = {0, -1, r->o.retry_ms, 0};
    char error[256];
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (!r->qn) {
            /* Nothing queued: the thread ends, and the next round starts
             * another. Between rounds (minutes) the server has one thread,
             * so the kernel's fdget() on its ~120,000 socket calls a second
             * at 1000 clients skips the file reference count. */
            r->running = 0;
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        int pages = r->want_pages, stopping = r->stopping;
        r->want_pages = -1;
        const results_round *rd = &r->queue[r->qhead];
        pthread_mutex_unlock(&r->mu);
        if (pages >= 0)
            results_db_set_max_page_count(r->db, pages);
        if (results_db_write(r->db, rd, error, sizeof error) == 0) {
            if (a.fails)
                log_event(LOG_INFO, "results_write_recovered",
                          "match_id=%" PRIu32 " round=%" PRIu32 " failed_attempts=%d", rd->match_id, rd->round,
                          a.fails);
            pthread_mutex_lock(&r->mu);
            pop_locked(r, 1);
            pthread_mutex_unlock(&r->mu);
            a = (attempt){0, -1, r->o.retry_ms, 0};
        } else if (after_failure(r, rd, &a, stopping, error)) {
            a = (attempt){0, -1, r->o.retry_ms, 1}; /* the disk is gone */
        }
    }
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static void free_results(results *r)
{
    results_db_close(r->db);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->queue);
    free(r->recent);
    free(r);
}

/* The writer blocks every signal: SIGTERM and SIGINT go to the event loop. */
static int start_writer(results *r)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&r->writer, NULL, writer_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

results *results_open_opts(const char *path, const results_opts *o, char *err, size_t errlen)
{
    results *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    r->o = o ? *o : (results_opts){0};
    r->o.queue_cap = r->o.queue_cap > 0 ? r->o.queue_cap : DEFAULT_QUEUE_CAP;
    r->o.retry_ms = r->o.retry_ms > 0 ? r->o.retry_ms : DEFAULT_RETRY_MS;
    r->o.close_tries = r->o.close_tries > 0 ? r->o.close_tries : DEFAULT_CLOSE_TRIES;
    r->want_pages = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->queue = calloc((size_t)r->o.queue_cap, sizeof *r->queue);
    r->recent = calloc(RESULTS_RECENT_MAX, sizeof *r->recent);
    if (!r->queue || !r->recent) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto err;
    }
    if (!(r->db = results_db_open(path, r->o.max_page_count, err, errlen)))
        goto err;
    int n = results_db_load_recent(r->db, r->recent, RESULTS_RECENT_MAX, err, errlen);
    if (n < 0)
        goto err;
    r->rn = n;
    r->rhead = n % RESULTS_RECENT_MAX;
    char q[512];
    log_event(LOG_INFO, "results_open", "path=\"%s\" schema=%d rounds_loaded=%d", log_quote(path, q, sizeof q),
              RESULTS_SCHEMA_VERSION, n);
    return r;
err:
    free_results(r);
    return NULL;
}

results *results_open(const char *path, char *err, size_t errlen)
{
    return results_open_opts(path, NULL, err, errlen);
}

void results_close(results *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    r->wake = 1;
    pthread_cond_signal(&r->cv);
    int joinable = r->joinable, left = !r->running && r->qn > 0;
    pthread_mutex_unlock(&r->mu);
    if (joinable)
        pthread_join(r->writer, NULL);
    if (left) {
        /* No writer could be started: what is queued is written here. */
        r->running = 1;
        writer_main(r);
    }
    log_event(LOG_INFO, "results_close", "written=%" PRIu64 " write_errors=%" PRIu64 " lost=%" PRIu64,
              r->st.written, r->st.write_errors, r->st.lost);
    free_results(r);
}
