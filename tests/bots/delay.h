/* delay: one direction of one connection's in-process network delay, so
 * the bots can play at, say, 150 ms RTT over loopback (--latency-ms,
 * --jitter-ms).
 *
 * A fixed-capacity FIFO of whole messages: a byte pool and a ring of
 * entries, each with the time it is due. A message pushed at `now` is due
 * at max(due of the message before it, now + latency + jitter), the
 * jitter uniform in [0, jitter] from the queue's own seeded generator: like
 * TCP, a message is never delivered before one sent earlier, so jitter
 * bunches messages up instead of reordering them. Time is a parameter (any
 * monotonic microsecond clock); nothing here reads a clock, does I/O or
 * allocates after delay_init.
 *
 * What it does not do: loss, reordering, bandwidth limits, or delaying the
 * transport's own frames (handshakes, pings, closes); the caller decides
 * what goes through it. A full queue refuses the message and counts it;
 * the caller sizes the queue so that this does not happen and treats it as
 * an error when it does.
 *
 * Costs: O(1) per push and pop, one copy of the bytes in (the pointer that
 * delay_pop returns points into the pool). The pool is a ring, so over time
 * all of it is touched: its memory is the capacity, not the bytes in
 * flight. */
#ifndef TW_BOTS_DELAY_H
#define TW_BOTS_DELAY_H

#include <stddef.h>
#include <stdint.h>

#define DELAY_NEVER INT64_MAX /* delay_next_due of an empty queue */

enum { DELAY_OK = 0, DELAY_FULL = -1, DELAY_NOMEM = -2 };

typedef struct delay_config {
    int64_t latency_us;  /* every message waits at least this long */
    int64_t jitter_us;   /* plus uniform [0, jitter_us], never reordering */
    uint32_t max_msgs;   /* messages in the queue at once, >= 1 */
    uint32_t max_bytes;  /* their bytes (an empty message takes 1); the wrap wastes < one message */
    uint64_t seed;       /* the jitter's generator */
} delay_config;

typedef struct delay_entry {
    int64_t due_us;
    uint32_t off, len;
} delay_entry;

typedef struct delay_queue {
    delay_config cfg;
    delay_entry *e;      /* ring of cfg.max_msgs */
    uint8_t *pool;       /* cfg.max_bytes */
    uint32_t head, n;    /* oldest entry, entries queued */
    uint32_t wr;         /* end of the newest message in the pool */
    uint8_t wrapped;     /* the newest messages sit below the oldest one */
    int64_t last_due;    /* nothing pushed later is due before this */
    uint64_t rng;
    /* counts, over the queue's life */
    uint64_t pushed, popped, full, cleared;
    uint32_t max_n;      /* most messages queued at once */
} delay_queue;

/* A config for a queue that never fills while at most `per_s` messages a
 * second of at most `max_len` bytes each are pushed, plus bursts of up to
 * `burst` more, and due messages are popped: ceil(per_s * (latency +
 * jitter)) + 1 + burst messages in (that + 1) * max_len bytes. */
delay_config delay_config_sized(int64_t latency_us, int64_t jitter_us, uint32_t per_s, uint32_t burst,
                                uint32_t max_len, uint64_t seed);

/* Allocates the pool and entries. DELAY_OK, or DELAY_NOMEM (the queue is
 * then empty and delay_destroy is still safe). */
int delay_init(delay_queue *q, const delay_config *cfg);
void delay_destroy(delay_queue *q);

/* Queues a copy of msg[0..len), due as described above. DELAY_OK, or
 * DELAY_FULL (no room in entries or bytes): nothing is queued, no jitter
 * sample is drawn, and `full` is counted. */
int delay_push(delay_queue *q, int64_t now_us, const void *msg, size_t len);

/* The due time a message sent now would get, taken as if one were pushed:
 * later pushes are not due before it. For something the caller sends
 * itself but in order with the queued messages, such as a close. */
int64_t delay_stamp(delay_queue *q, int64_t now_us);

/* The oldest message if it is due at now_us (removed from the queue), else
 * NULL. The bytes stay valid until the next delay_push or delay_clear. */
const uint8_t *delay_pop(delay_queue *q, int64_t now_us, size_t *len);

/* When the oldest message is due, DELAY_NEVER if the queue is empty. */
int64_t delay_next_due(const delay_queue *q);

/* Drops everything queued (the connection it belonged to is gone) and
 * forgets the order, so the next push is due latency + jitter after its
 * own time. Returns the messages dropped (also added to `cleared`). */
uint32_t delay_clear(delay_queue *q);

#endif
