/* tick_clock: see tick_clock.h. */
#include "tick_clock.h"

#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct tick_clock {
    struct lws_context *ctx;
    tick_clock_fn fn;
    void *user;
    tick_stats *stats;
    lws_usec_t period_us, next_deadline;
    log_ratelimit stall_log;   /* tick_stall: one line per 10 s at most */
    int fd;                    /* the timerfd, -1: the sul is the clock */
    uint32_t missed;           /* skipped since the last call, for the next */
    int stopped;
    lws_sorted_usec_list_t sul;
};

int64_t tick_clock_now(void)
{
    return (int64_t)lws_now_usecs();
}

static void run_tick(tick_clock *clk, lws_usec_t now)
{
    uint32_t missed = clk->missed;
    clk->missed = 0;
    clk->fn(clk->user, (int64_t)now, missed);
    double took = (double)(lws_now_usecs() - now) * 1e-6;
    tick_stats_observe(clk->stats, took, (double)clk->period_us * 1e-6);
}

/* A stall: at warn once per LOG_RATELIMIT_DEFAULT_US (a slow machine
 * misses a tick every few), with the lines held back since; those at
 * debug, counted. */
static void log_stall(tick_clock *clk, lws_usec_t now, uint64_t lost)
{
    uint64_t held;
    if (log_ratelimit_pass(&clk->stall_log, (int64_t)now, &held)) {
        log_event(LOG_WARN, "tick_stall", "missed_ticks=%llu suppressed=%llu", (unsigned long long)lost,
                  (unsigned long long)held);
    } else {
        clk->stats->stall_logs_held++;
        log_event(LOG_DEBUG, "tick_stall", "missed_ticks=%llu", (unsigned long long)lost);
    }
}

/* Runs the ticks that are due and moves the deadline on. */
static void run_due(tick_clock *clk)
{
    lws_usec_t now = lws_now_usecs();
    for (int n = 0; n < TICK_CLOCK_MAX_CATCHUP && clk->next_deadline <= now; n++) {
        run_tick(clk, now);
        clk->next_deadline += clk->period_us;
        now = lws_now_usecs();
    }
    if (clk->next_deadline <= now) {
        uint64_t lost = (uint64_t)((now - clk->next_deadline) / clk->period_us) + 1;
        clk->stats->missed_ticks += lost;
        clk->missed = lost > UINT32_MAX - clk->missed ? UINT32_MAX : clk->missed + (uint32_t)lost;
        clk->next_deadline += (lws_usec_t)lost * clk->period_us;
        log_stall(clk, now, lost);
    }
}

static int arm_timerfd(tick_clock *clk)
{
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(clk->next_deadline / LWS_US_PER_SEC);
    it.it_value.tv_nsec = (long)(clk->next_deadline % LWS_US_PER_SEC) * 1000;
    return timerfd_settime(clk->fd, TFD_TIMER_ABSTIME, &it, NULL);
}

static int tick_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user, (void)in, (void)len;
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    tick_clock *clk = lws_get_opaque_user_data(wsi);
    if (!clk || clk->stopped)
        return 0;
    uint64_t expirations;
    if (read(clk->fd, &expirations, sizeof expirations) < 0)
        return 0; /* EAGAIN: woken early by something else */
    run_due(clk);
    arm_timerfd(clk);
    return 0;
}

const struct lws_protocols tick_clock_protocol = {.name = "tickwire-tick", .callback = tick_callback};

/* The fallback: whole milliseconds plus a little, so it does not spin. */
static void sul_cb(lws_sorted_usec_list_t *sul)
{
    tick_clock *clk = lws_container_of(sul, tick_clock, sul);
    run_due(clk);
    lws_usec_t wait = clk->next_deadline - lws_now_usecs();
    wait = (wait > 0 ? (wait + 999) / 1000 * 1000 : 0) + 100;
    lws_sul_schedule(clk->ctx, 0, &clk->sul, sul_cb, wait);
}

tick_clock *tick_clock_start(struct lws_context *ctx, int tick_rate, tick_clock_fn fn, void *user, tick_stats *stats)
{
    tick_clock *clk = calloc(1, sizeof *clk);
    if (!clk)
        return NULL;
    clk->ctx = ctx;
    clk->fn = fn;
    clk->user = user;
    clk->stats = stats;
    clk->period_us = 1000000 / tick_rate;
    clk->next_deadline = lws_now_usecs() + clk->period_us;
    clk->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (clk->fd >= 0 && arm_timerfd(clk) == 0) {
        lws_sock_file_fd_type fd;
        fd.filefd = clk->fd;
        struct lws *wsi = lws_adopt_descriptor_vhost(lws_get_vhost_by_name(ctx, "default"), LWS_ADOPT_RAW_FILE_DESC,
                                                     fd, tick_clock_protocol.name, NULL);
        if (wsi) {
            lws_set_opaque_user_data(wsi, clk);
            return clk;
        }
    }
    log_event(LOG_WARN, "tick_clock", "clock=sul reason=\"no timerfd\"");
    if (clk->fd >= 0)
        close(clk->fd);
    clk->fd = -1;
    lws_sul_schedule(ctx, 0, &clk->sul, sul_cb, clk->period_us);
    return clk;
}

void tick_clock_stop(tick_clock *clk)
{
    if (!clk)
        return;
    clk->stopped = 1;
    if (clk->fd >= 0) {
        struct itimerspec off;
        memset(&off, 0, sizeof off);
        timerfd_settime(clk->fd, 0, &off, NULL); /* lws closes the fd with the context */
    } else {
        lws_sul_cancel(&clk->sul);
    }
}

void tick_clock_free(tick_clock *clk)
{
    free(clk);
}
