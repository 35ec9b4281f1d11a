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
    "for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do\n"
    "  if string.sub(k, 1, 8) == 'claimed:' then redis.call('HDEL', KEYS[1], k) end\n"
    "end\n"
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

/* The matchmaker. KEYS: tw:mm:req:<request id>, tw:procs. ARGV: request
 * id, label, now ms, seat ttl ms, seat id (the token's nonce, hex), request
 * ttl ms, token, stale ms. A request id seen before gets its first answer
 * again. Otherwise, over the live processes that are not draining and whose
 * last heartbeat is at most `stale ms` old (dead ones are pruned from
 * tw:procs with their reservations; a silent one is skipped before its
 * keys expire): free = capacity - players
 * - unexpired reservations; room for the label = the free slots of its
 * matches there - reservations for that label. The process with the least
 * room > 0 for the label (fill a match), else the one with the most free
 * slots (open a match there), gets a reservation until now + seat ttl.
 * Returns {2, "proc\nurl\ntoken\nexpiry"} (new), {1, same} (a retry), or
 * {0, "full"}. */
static const char MATCHMAKE_LUA[] =
    "local prev = redis.call('GET', KEYS[1])\n"
    "if prev then return {1, prev} end\n"
    "local label, now, ttl, seat = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]\n"
    "local mproc, mroom, fproc, ffree = nil, nil, nil, 0\n"
    "for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
    "  local pkey = 'tw:proc:' .. id\n"
    "  local p = redis.call('HMGET', pkey, 'url', 'capacity', 'players', 'draining', 'heartbeat_ms')\n"
    "  local seats = 'tw:seats:' .. id\n"
    "  if not p[1] then\n"
    "    redis.call('ZREM', KEYS[2], id)\n"
    "    for _, l in ipairs(redis.call('SMEMBERS', seats .. ':labels')) do redis.call('DEL', seats .. ':l:' .. l) end\n"
    "    redis.call('DEL', seats, seats .. ':labels')\n"
    "  elseif p[4] ~= '1' and now - tonumber(p[5]) <= tonumber(ARGV[8]) then\n"
    "    redis.call('ZREMRANGEBYSCORE', seats, '-inf', now)\n"
    "    local lseats = seats .. ':l:' .. label\n"
    "    redis.call('ZREMRANGEBYSCORE', lseats, '-inf', now)\n"
    "    local free = tonumber(p[2]) - tonumber(p[3]) - redis.call('ZCARD', seats)\n"
    "    if free > 0 then\n"
    "      local room = 0\n"
    "      for _, mid in ipairs(redis.call('SMEMBERS', pkey .. ':matches')) do\n"
    "        local m = redis.call('HMGET', 'tw:match:' .. id .. ':' .. mid, 'label', 'players', 'capacity')\n"
    "        if m[1] == label then room = room + tonumber(m[3]) - tonumber(m[2]) end\n"
    "      end\n"
    "      room = room - redis.call('ZCARD', lseats) - tonumber(redis.call('HGET', pkey, 'claimed:' .. label) or 0)\n"
    "      if room > free then room = free end\n"
    "      if room > 0 and (mroom == nil or room < mroom) then mproc, mroom = id, room end\n"
    "      if free > ffree then fproc, ffree = id, free end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local id = mproc or fproc\n"
    "if not id then return {0, 'full'} end\n"
    "local url = redis.call('HGET', 'tw:proc:' .. id, 'url')\n"
    "local exp = now + ttl\n"
    "local seats = 'tw:seats:' .. id\n"
    "redis.call('ZADD', seats, exp, seat)\n"
    "redis.call('ZADD', seats .. ':l:' .. label, exp, seat)\n"
    "redis.call('SADD', seats .. ':labels', label)\n"
    "for _, k in ipairs({seats, seats .. ':l:' .. label, seats .. ':labels'}) do redis.call('PEXPIRE', k, ttl) end\n"
    "local val = id .. '\\n' .. url .. '\\n' .. ARGV[7] .. '\\n' .. exp\n"
    "redis.call('SET', KEYS[1], val, 'PX', ARGV[6])\n"
    "return {2, val}\n";

/* A JOIN's token. KEYS: tw:nonce:<nonce>, tw:seats:<id>, tw:seats:<id>:l:<label>,
 * tw:proc:<id>. ARGV: nonce, ttl ms, label. 0: used before; 1: first use;
 * 2: first use, and its seat here is claimed. A first use counts the player
 * at once (players + 1, and claimed:<label> + 1 until the next heartbeat
 * reports it in its match), so the matchmaker never counts a seat as free
 * between the JOIN and the heartbeat. */
static const char CLAIM_LUA[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return 0 end\n"
    "local had = redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "if redis.call('EXISTS', KEYS[4]) == 1 then\n"
    "  redis.call('HINCRBY', KEYS[4], 'players', 1)\n"
    "  redis.call('HINCRBY', KEYS[4], 'claimed:' .. ARGV[3], 1)\n"
    "end\n"
    "return 1 + had\n";

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
    int register_self;       /* 0: a matchmaker that reads the directory only */
    /* Matchmaking and claim scripts awaiting their reply: when each was
     * sent, oldest first (one connection answers in order). */
    int64_t pend[FLEET_MAX_PENDING];
    uint32_t pend_head, pend_n;
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
    if (!f->register_self) {
        /* A matchmaker sends no heartbeat: connected is up. */
        f->stats.up = 1;
        f->backoff_us = FLEET_RETRY_MIN_US;
        if (f->in_outage) {
            f->in_outage = 0;
            log_event(LOG_INFO, "redis_up", "host=%s port=%d down_s=%.1f", f->host, f->port,
                      (double)(mono_us() - f->outage_since_us) / 1e6);
        }
    }
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
    f->pend_head = f->pend_n = 0;
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
    f->register_self = !cfg->directory_only;
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
    return f->register_self && f->state == F_UP && !f->beat_in_flight && now_us >= f->next_beat_us;
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
    if (f->state == F_UP && f->pend_n && now_us - f->pend[f->pend_head] > FLEET_REPLY_TIMEOUT_US) {
        drop(f, now_us, "matchmaking not answered");
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

/* ---- matchmaking --------------------------------------------------------------------- */

static void pend_push(fleet *f, int64_t now_us)
{
    f->pend[(f->pend_head + f->pend_n) % FLEET_MAX_PENDING] = now_us;
    f->pend_n++;
}

static void pend_pop(fleet *f)
{
    if (!f->pend_n)
        return;
    f->pend_head = (f->pend_head + 1) % FLEET_MAX_PENDING;
    f->pend_n--;
}

typedef struct mm_call {
    fleet_mm_cb cb;
    void *user;
    uint64_t tag;
} mm_call;

static void on_matchmake(redisAsyncContext *ac, void *r, void *priv)
{
    fleet *f = ac->data;
    mm_call *call = priv;
    redisReply *reply = r;
    pend_pop(f);
    fleet_seat seat;
    memset(&seat, 0, sizeof seat);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[1]->type != REDIS_REPLY_STRING) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_event(LOG_ERROR, "redis_error", "what=matchmake reply=\"%.*s\"",
                      (int)(reply->len < 200 ? reply->len : 200), reply->str);
        seat.result = FLEET_MM_UNAVAILABLE;
        f->stats.mm_failed++;
    } else if (reply->element[0]->integer == 0) {
        seat.result = FLEET_MM_FULL;
        f->stats.mm_full++;
    } else {
        /* "proc\nurl\ntoken\nexpiry" */
        const char *v = reply->element[1]->str;
        char *fields[4] = {seat.process, seat.url, seat.token, NULL};
        size_t caps[3] = {sizeof seat.process, sizeof seat.url, sizeof seat.token};
        int k = 0;
        const char *p = v;
        for (; k < 3; k++) {
            const char *nl = strchr(p, '\n');
            if (!nl)
                break;
            size_t n = (size_t)(nl - p);
            if (n >= caps[k])
                break;
            memcpy(fields[k], p, n);
            fields[k][n] = '\0';
            p = nl + 1;
        }
        if (k == 3) {
            seat.result = reply->element[0]->integer == 1 ? FLEET_MM_RETRY : FLEET_MM_NEW;
            seat.expires_ms = strtoll(p, NULL, 10);
            if (seat.result == FLEET_MM_NEW)
                f->stats.mm_seats++;
            else
                f->stats.mm_retries++;
        } else {
            seat.result = FLEET_MM_UNAVAILABLE;
            f->stats.mm_failed++;
        }
    }
    call->cb(call->user, call->tag, &seat);
    free(call);
}

int fleet_matchmake(fleet *f, const char *request_id, const char *label, const char *token, const char *seat_id,
                    int64_t now_us, fleet_mm_cb cb, void *user, uint64_t tag)
{
    if (f->state != F_UP || !f->rp.ac || f->pend_n == FLEET_MAX_PENDING) {
        f->stats.mm_failed++;
        return -1;
    }
    mm_call *call = malloc(sizeof *call);
    if (!call)
        return -1;
    call->cb = cb;
    call->user = user;
    call->tag = tag;
    char key[FLEET_MAX_REQUEST_ID + 16], now[24], ttl[24], rttl[24];
    snprintf(key, sizeof key, "tw:mm:req:%s", request_id);
    snprintf(now, sizeof now, "%lld", (long long)unix_ms());
    snprintf(ttl, sizeof ttl, "%d", FLEET_SEAT_TTL_MS);
    snprintf(rttl, sizeof rttl, "%d", FLEET_REQUEST_TTL_MS);
    char stale[24];
    snprintf(stale, sizeof stale, "%d", FLEET_STALE_MS);
    const char *argv[] = {"EVAL", MATCHMAKE_LUA, "2", key, "tw:procs", request_id, label, now, ttl, seat_id, rttl,
                          token, stale};
    size_t lens[13];
    for (int i = 0; i < 13; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(f->rp.ac, on_matchmake, call, 13, argv, lens) != REDIS_OK) {
        free(call);
        f->stats.mm_failed++;
        return -1;
    }
    pend_push(f, now_us);
    return 0;
}

/* ---- single use across the fleet ---------------------------------------------------- */

typedef struct claim_call {
    fleet_claim_cb cb;
    void *user;
    uint64_t tag;
} claim_call;

static void on_claim(redisAsyncContext *ac, void *r, void *priv)
{
    fleet *f = ac->data;
    claim_call *call = priv;
    redisReply *reply = r;
    pend_pop(f);
    int result = FLEET_CLAIM_UNAVAILABLE;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0 && reply->integer <= 2)
        result = reply->integer == 0 ? FLEET_CLAIM_USED : reply->integer == 1 ? FLEET_CLAIM_FRESH : FLEET_CLAIM_SEAT;
    else if (reply && reply->type == REDIS_REPLY_ERROR)
        log_event(LOG_ERROR, "redis_error", "what=claim reply=\"%.*s\"", (int)(reply->len < 200 ? reply->len : 200),
                  reply->str);
    call->cb(call->user, call->tag, result);
    free(call);
}

int fleet_claim(fleet *f, const char *nonce_hex, const char *label, int64_t ttl_ms, int64_t now_us, fleet_claim_cb cb,
                void *user, uint64_t tag)
{
    if (f->state != F_UP || !f->rp.ac || f->pend_n == FLEET_MAX_PENDING)
        return -1;
    claim_call *call = malloc(sizeof *call);
    if (!call)
        return -1;
    *call = (claim_call){cb, user, tag};
    char knonce[96], kseats[FLEET_MAX_ID + 16], klabel[FLEET_MAX_ID + 64], ttl[24];
    snprintf(knonce, sizeof knonce, "tw:nonce:%s", nonce_hex);
    snprintf(kseats, sizeof kseats, "tw:seats:%s", f->id);
    snprintf(klabel, sizeof klabel, "tw:seats:%s:l:%s", f->id, label);
    snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms > 1000 ? ttl_ms : 1000));
    const char *argv[] = {"EVAL", CLAIM_LUA, "4", knonce, kseats, klabel, f->key_proc, nonce_hex, ttl, label};
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(f->rp.ac, on_claim, call, 10, argv, lens) != REDIS_OK) {
        free(call);
        return -1;
    }
    pend_push(f, now_us);
    return 0;
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
