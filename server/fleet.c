/* fleet: registration in Redis with TTLs, on hiredis async (see fleet.h). */
#include "fleet.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "redis_poll.h"

/* KEYS: tw:proc:<id>, tw:procs, tw:proc:<id>:matches. ARGV: id, ttl ms, now
 * ms, url, capacity, players, draining, started ms, n, then n x (match id,
 * label, players, capacity, phase). Match keys are named from the id (one
 * Redis, not a cluster). */
static const char BEAT_LUA[] =
    "local id, ttl, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]\n"
    "local n = tonumber(ARGV[9])\n"
    "redis.call('HSET', KEYS[1], 'url', ARGV[4], 'capacity', ARGV[5], 'players', ARGV[6], 'draining', ARGV[7],\n"
    "  'started_ms', ARGV[8], 'heartbeat_ms', now, 'matches', n)\n"
    "redis.call('PEXPIRE', KEYS[1], ttl)\n"
    "redis.call('ZADD', KEYS[2], now, id)\n"
    "local keep = {}\n"
    "for m = 0, n - 1 do\n"
    "  local a = 10 + 5 * m\n"
    "  local mkey = 'tw:match:' .. id .. ':' .. ARGV[a]\n"
    "  redis.call('HSET', mkey, 'proc', id, 'id', ARGV[a], 'label', ARGV[a + 1], 'players', ARGV[a + 2],\n"
    "    'capacity', ARGV[a + 3], 'phase', ARGV[a + 4])\n"
    "  redis.call('PEXPIRE', mkey, ttl)\n"
    "  keep[ARGV[a]] = true\n"
    "  redis.call('SADD', KEYS[3], ARGV[a])\n"
    "end\n"
    "for _, mid in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
    "  if not keep[mid] then\n"
    "    redis.call('SREM', KEYS[3], mid)\n"
    "    redis.call('DEL', 'tw:match:' .. id .. ':' .. mid)\n"
    "  end\n"
    "end\n"
    "if n > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end\n"
    "return n\n";

/* KEYS as above; ARGV: id. A clean exit. */
static const char BYE_LUA[] =
    "for _, mid in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
    "  redis.call('DEL', 'tw:match:' .. ARGV[1] .. ':' .. mid)\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[3])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "return 1\n";

enum { F_DOWN, F_CONNECTING, F_UP };

struct fleet {
    char id[FLEET_MAX_ID + 1];
    char url[FLEET_MAX_URL + 1];
    char host[256], ip[INET6_ADDRSTRLEN];
    char key_proc[FLEET_MAX_ID + 16], key_matches[FLEET_MAX_ID + 24];
    int port, db, capacity;
    int64_t started_ms;
    redis_poll rp;
    int state;
    int64_t next_connect_us, backoff_us, connect_deadline_us;
    int64_t next_beat_us, beat_sent_us;
    int beat_in_flight;
    int bye_done;
    int in_outage;           /* the outage has been logged; "redis_up" ends it */
    int64_t outage_since_us;
    fleet_stats stats;
    log_ratelimit retry_log;
};

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fleet_parse_url(const char *url, char *host, size_t hostcap, int *port, int *db)
{
    static const char scheme[] = "redis://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return -1;
    const char *p = url + sizeof scheme - 1, *end;
    if (*p == '[') {
        end = strchr(p, ']');
        if (!end)
            return -1;
        p++;
    } else {
        end = p + strcspn(p, ":/");
    }
    size_t hl = (size_t)(end - p);
    if (hl == 0 || hl >= hostcap || strchr(url, '@'))
        return -1; /* no host, or credentials (not supported: say so rather than leak them) */
    memcpy(host, p, hl);
    host[hl] = '\0';
    p = end + (*end == ']');
    *port = 6379;
    *db = 0;
    if (*p == ':') {
        char *e;
        long v = strtol(p + 1, &e, 10);
        if (e == p + 1 || v < 1 || v > 65535)
            return -1;
        *port = (int)v;
        p = e;
    }
    if (*p == '/') {
        if (p[1] == '\0')
            return 0;
        char *e;
        long v = strtol(p + 1, &e, 10);
        if (e == p + 1 || *e || v < 0 || v > 1000)
            return -1;
        *db = (int)v;
        return 0;
    }
    return *p == '\0' ? 0 : -1;
}

static void mark_down(fleet *f, int64_t now_us, const char *why)
{
    int was = f->state;
    f->state = F_DOWN;
    f->stats.up = 0;
    f->beat_in_flight = 0;
    if (was == F_DOWN)
        return;
    f->next_connect_us = now_us + f->backoff_us;
    f->backoff_us = f->backoff_us * 2 > FLEET_RETRY_MAX_US ? FLEET_RETRY_MAX_US : f->backoff_us * 2;
    if (!f->in_outage) {
        f->in_outage = 1;
        f->outage_since_us = now_us;
        f->stats.outages++;
        log_event(LOG_WARN, "redis_down", "host=%s port=%d reason=\"%s\" action=\"matches play on; retrying\"",
                  f->host, f->port, why);
    } else {
        uint64_t held;
        if (log_ratelimit_pass(&f->retry_log, now_us, &held))
            log_event(LOG_WARN, "redis_retry", "host=%s port=%d reason=\"%s\" down_s=%.1f suppressed=%llu", f->host,
                      f->port, why, (double)(now_us - f->outage_since_us) / 1e6, (unsigned long long)held);
    }
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    fleet *f = ac->data;
    if (status != REDIS_OK) {
        mark_down(f, mono_us(), ac->errstr ? ac->errstr : "connect failed");
        return;
    }
    f->state = F_UP;
    f->stats.connects++;
    f->next_beat_us = 0; /* at once: register everything again */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    fleet *f = ac->data;
    (void)status;
    mark_down(f, mono_us(), ac->errstr && *ac->errstr ? ac->errstr : "connection closed");
}

static void on_beat(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    fleet *f = ac->data;
    redisReply *reply = r;
    f->beat_in_flight = 0;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        f->stats.beats_failed++;
        if (reply)
            log_event(LOG_ERROR, "redis_error", "what=heartbeat reply=\"%.*s\"", (int)(reply->len < 200 ? reply->len : 200),
                      reply->str);
        return;
    }
    f->stats.beats_ok++;
    f->stats.up = 1;
    f->backoff_us = FLEET_RETRY_MIN_US;
    if (f->in_outage) {
        f->in_outage = 0;
        log_event(LOG_INFO, "redis_up", "host=%s port=%d down_s=%.1f action=\"registered again\"", f->host, f->port,
                  (double)(mono_us() - f->outage_since_us) / 1e6);
    }
}

static void on_select(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    (void)priv;
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_event(LOG_ERROR, "redis_error", "what=select reply=\"%.*s\"", (int)(reply->len < 200 ? reply->len : 200),
                  reply->str);
}

static void start_connect(fleet *f, int64_t now_us)
{
    redisAsyncContext *ac = redisAsyncConnect(f->ip, f->port);
    if (!ac) {
        f->state = F_CONNECTING; /* so mark_down schedules the retry */
        mark_down(f, now_us, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof why, "%s", ac->errstr);
        redisAsyncFree(ac);
        f->state = F_CONNECTING;
        mark_down(f, now_us, why);
        return;
    }
    ac->data = f;
    redis_poll_attach(&f->rp, ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    f->state = F_CONNECTING;
    f->connect_deadline_us = now_us + FLEET_CONNECT_TIMEOUT_US;
    if (f->db)
        redisAsyncCommand(ac, on_select, NULL, "SELECT %d", f->db);
}

/* Drops the context from our side (a timeout): its callbacks run with no
 * reply, then it is gone. */
static void drop(fleet *f, int64_t now_us, const char *why)
{
    if (f->rp.ac)
        redisAsyncFree(f->rp.ac);
    f->rp.ac = NULL;
    if (f->state != F_DOWN)
        mark_down(f, now_us, why);
}

fleet *fleet_create(const fleet_config *cfg, int64_t now_us, char *err, size_t errlen)
{
    fleet *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (fleet_parse_url(cfg->redis_url, f->host, sizeof f->host, &f->port, &f->db) < 0) {
        snprintf(err, errlen, "--redis: '%s' is not redis://HOST[:PORT][/DB]", cfg->redis_url);
        free(f);
        return NULL;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(f->host, NULL, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(err, errlen, "--redis: cannot resolve '%s': %s", f->host, gai_strerror(rc));
        free(f);
        return NULL;
    }
    const void *addr = ai->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                                                 : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
    inet_ntop(ai->ai_family, addr, f->ip, sizeof f->ip);
    freeaddrinfo(ai);
    if (cfg->process_id && *cfg->process_id) {
        snprintf(f->id, sizeof f->id, "%s", cfg->process_id);
    } else {
        char hn[48] = "tickwire";
        gethostname(hn, sizeof hn - 1);
        snprintf(f->id, sizeof f->id, "%s-%ld", hn, (long)getpid());
    }
    for (char *c = f->id; *c; c++)
        if (*c <= ' ' || *c > '~' || *c == ':')
            *c = '_';
    snprintf(f->url, sizeof f->url, "%s", cfg->public_url ? cfg->public_url : "");
    snprintf(f->key_proc, sizeof f->key_proc, "tw:proc:%s", f->id);
    snprintf(f->key_matches, sizeof f->key_matches, "tw:proc:%s:matches", f->id);
    f->capacity = cfg->capacity;
    f->started_ms = unix_ms();
    f->backoff_us = FLEET_RETRY_MIN_US;
    f->retry_log.interval_us = 10 * 1000000;
    f->state = F_DOWN;
    f->next_connect_us = now_us;
    log_event(LOG_INFO, "redis", "host=%s port=%d db=%d process=%s url=\"%s\"", f->host, f->port, f->db, f->id,
              f->url);
    return f;
}

int fleet_beat_due(const fleet *f, int64_t now_us)
{
    return f->state == F_UP && !f->beat_in_flight && now_us >= f->next_beat_us;
}

/* One heartbeat: EVAL BEAT_LUA with 3 keys and 9 + 5 x matches arguments.
 * Once a second, so it may allocate (hiredis does anyway). */
static void send_beat(fleet *f, int64_t now_us, const fleet_status *st)
{
    enum { HEAD = 15, NUMLEN = 24 };
    int n = st->nmatches < FLEET_MAX_MATCHES ? st->nmatches : FLEET_MAX_MATCHES;
    int argc = HEAD + 5 * n;
    const char **argv = malloc((size_t)argc * sizeof *argv);
    size_t *lens = malloc((size_t)argc * sizeof *lens);
    char *nums = malloc((size_t)(7 + 3 * n) * NUMLEN), *np = nums;
    if (!argv || !lens || !nums) {
        free(argv);
        free(lens);
        free(nums);
        return;
    }
#define NUM(v) (snprintf(np, NUMLEN, "%lld", (long long)(v)), np += NUMLEN, np - NUMLEN)
    int a = 0;
    argv[a++] = "EVAL";
    argv[a++] = BEAT_LUA;
    argv[a++] = "3";
    argv[a++] = f->key_proc;
    argv[a++] = "tw:procs";
    argv[a++] = f->key_matches;
    argv[a++] = f->id;
    argv[a++] = NUM(FLEET_TTL_MS);
    argv[a++] = NUM(unix_ms());
    argv[a++] = f->url;
    argv[a++] = NUM(f->capacity);
    argv[a++] = NUM(st->players);
    argv[a++] = NUM(st->draining ? 1 : 0);
    argv[a++] = NUM(f->started_ms);
    argv[a++] = NUM(n);
    for (int i = 0; i < n; i++) {
        const fleet_match *m = &st->matches[i];
        argv[a++] = NUM(m->id);
        argv[a++] = m->label ? m->label : "";
        argv[a++] = NUM(m->players);
        argv[a++] = NUM(m->capacity);
        argv[a++] = m->phase ? m->phase : "";
    }
#undef NUM
    for (int i = 0; i < a; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(f->rp.ac, on_beat, NULL, a, argv, lens) == REDIS_OK) {
        f->beat_in_flight = 1;
        f->beat_sent_us = now_us;
    }
    f->next_beat_us = now_us + FLEET_BEAT_US;
    free(argv);
    free(lens);
    free(nums);
}

void fleet_tick(fleet *f, int64_t now_us, const fleet_status *st)
{
    if (f->state == F_DOWN) {
        if (now_us >= f->next_connect_us)
            start_connect(f, now_us);
        return;
    }
    redis_poll_run(&f->rp);
    if (f->state == F_CONNECTING && now_us > f->connect_deadline_us) {
        drop(f, now_us, "connect timed out");
        return;
    }
    if (f->state == F_UP && f->beat_in_flight && now_us - f->beat_sent_us > FLEET_REPLY_TIMEOUT_US) {
        drop(f, now_us, "heartbeat not answered");
        return;
    }
    if (st && fleet_beat_due(f, now_us) && f->rp.ac)
        send_beat(f, now_us, st);
}

void fleet_beat_soon(fleet *f)
{
    if (f)
        f->next_beat_us = 0;
}

const fleet_stats *fleet_get_stats(const fleet *f)
{
    return &f->stats;
}

const char *fleet_process_id(const fleet *f)
{
    return f->id;
}

static void on_bye(redisAsyncContext *ac, void *r, void *priv)
{
    (void)r;
    (void)priv;
    fleet *f = ac->data;
    f->bye_done = 1;
}

void fleet_destroy(fleet *f, int64_t timeout_us)
{
    if (!f)
        return;
    if (f->state == F_UP && f->rp.ac) {
        const char *argv[] = {"EVAL", BYE_LUA, "3", f->key_proc, "tw:procs", f->key_matches, f->id};
        size_t lens[7];
        for (int i = 0; i < 7; i++)
            lens[i] = strlen(argv[i]);
        if (redisAsyncCommandArgv(f->rp.ac, on_bye, NULL, 7, argv, lens) == REDIS_OK) {
            int64_t until = mono_us() + timeout_us;
            while (!f->bye_done && f->rp.ac && mono_us() < until) {
                redis_poll_run(&f->rp);
                usleep(1000);
            }
        }
        log_event(f->bye_done ? LOG_INFO : LOG_WARN, "redis_bye", "process=%s deregistered=%d", f->id, f->bye_done);
    }
    if (f->rp.ac) {
        redisAsyncContext *ac = f->rp.ac;
        ac->onDisconnect = NULL; /* no callbacks into a fleet being freed */
        redisAsyncFree(ac);
    }
    free(f);
}
