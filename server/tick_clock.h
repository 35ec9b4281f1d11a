/* tick_clock: the fixed-rate clock that drives a server's ticks inside a
 * libwebsockets event loop; used by tickwire-server and by the benchmark
 * floor, so both tick the same way.
 *
 * A timerfd armed at each absolute deadline is adopted into the lws loop,
 * so poll() wakes on time to the microsecond. (An lws sul would do, but lws
 * 4.1.6 turns its wait into whole milliseconds for poll(), rounding down,
 * and spins on poll(0) through the partial millisecond left, or, rounded
 * up, starts ticks up to 1 ms late.) Without a timerfd it falls back to a
 * sul waiting whole milliseconds plus a little (ticks up to ~1.1 ms late).
 *
 * Deadlines are absolute: no drift. After a stall at most
 * TICK_CLOCK_MAX_CATCHUP ticks run back to back; the rest are counted as
 * missed, never spun through, and logged (tick_stall) at most once per
 * LOG_RATELIMIT_DEFAULT_US, with the number of lines held back since the
 * last (tick_stats.stall_logs_held counts them all). Each tick's work is
 * timed into tick_stats. */
#ifndef TW_TICK_CLOCK_H
#define TW_TICK_CLOCK_H

#include <stdint.h>

#include <libwebsockets.h>

#include "metrics.h"

#define TICK_CLOCK_MAX_CATCHUP 4

/* missed: ticks skipped since the previous call (after a stall), 0 normally. */
typedef void (*tick_clock_fn)(void *user, int64_t now_us, uint32_t missed);
typedef struct tick_clock tick_clock;

/* The protocol the clock's timerfd is adopted with: put it in the
 * context's protocol list (any position, before the terminator). */
extern const struct lws_protocols tick_clock_protocol;

/* Starts ticking at `tick_rate` Hz on the context's "default" vhost; each
 * tick calls fn(user, now). Returns NULL when out of memory. */
tick_clock *tick_clock_start(struct lws_context *ctx, int tick_rate, tick_clock_fn fn, void *user, tick_stats *stats);
/* Stops the clock: no more calls. */
void tick_clock_stop(tick_clock *clk);
/* Frees it, once the context is destroyed (lws closes the timerfd). */
void tick_clock_free(tick_clock *clk);
/* The clock's time: monotonic microseconds (lws_now_usecs). */
int64_t tick_clock_now(void);

#endif
