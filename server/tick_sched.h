/* tick_sched: the fixed-rate tick schedule without an event loop: absolute
 * deadlines on CLOCK_MONOTONIC, a timerfd armed at the next one, the
 * catch-up and missed-tick rules, each tick's work timed into tick_stats.
 * server/tick_clock.c runs it inside a libwebsockets loop (tickwire-server,
 * tickwire-floor); the raw bench floor (tests/bench/floor_raw.c) runs it
 * from its own epoll loop. It does not include libwebsockets, so both tick
 * by the very same rules.
 *
 * Deadlines are absolute: no drift. After a stall at most
 * TICK_SCHED_MAX_CATCHUP ticks run back to back; the rest are counted as
 * missed, never spun through, and logged (tick_stall) at warn at most
 * once per LOG_RATELIMIT_DEFAULT_US, with the number of lines held back
 * since the last (tick_stats.stall_logs_held counts them all). */
#ifndef TW_TICK_SCHED_H
#define TW_TICK_SCHED_H

#include <stdint.h>

#include "log.h"
#include "metrics.h"

#define TICK_SCHED_MAX_CATCHUP 4

/* missed: ticks skipped since the previous call (after a stall), 0 normally. */
typedef void (*tick_clock_fn)(void *user, int64_t now_us, uint32_t missed);

typedef struct tick_sched {
    tick_clock_fn fn;
    void *user;
    tick_stats *stats;
    int64_t period_us, next_deadline;
    uint32_t missed; /* skipped since the last call, for the next */
    log_ratelimit stall_log; /* tick_stall: one line per LOG_RATELIMIT_DEFAULT_US at most */
} tick_sched;

/* Monotonic microseconds (CLOCK_MONOTONIC: lws_now_usecs on Linux, and the
 * clock the timerfd deadlines are absolute on). */
int64_t tick_sched_now(void);
/* First deadline one period from now. tick_rate > 0. */
void tick_sched_init(tick_sched *s, int tick_rate, tick_clock_fn fn, void *user, tick_stats *stats);
/* Runs the ticks that are due (at most TICK_SCHED_MAX_CATCHUP), counts the
 * rest as missed and moves the deadline past now. */
void tick_sched_run_due(tick_sched *s);
/* A non-blocking CLOCK_MONOTONIC timerfd, -1 on failure (errno set). */
int tick_sched_timerfd(void);
/* Arms fd to fire once at the next deadline. 0, or -1 (errno set). */
int tick_sched_arm(const tick_sched *s, int fd);
/* Disarms fd. */
void tick_sched_disarm(int fd);

#endif
