/* redis_poll: a hiredis async adapter for a loop that comes by often (the
 * server's tick, 60 times a second) rather than one that watches the
 * socket: hiredis says through its ev hooks whether it wants to read or
 * write, and redis_poll_run asks the kernel with a zero-timeout poll() on
 * that one descriptor, then lets hiredis read or write. Never blocks. Like
 * the adapters hiredis ships (adapters/ae.h, libuv.h), minus the loop.
 * Cost: one poll() syscall per call while connected. */
#ifndef TW_REDIS_POLL_H
#define TW_REDIS_POLL_H

#include <hiredis/async.h>

typedef struct redis_poll {
    redisAsyncContext *ac; /* NULL once hiredis has freed it (cleanup hook) */
    int want_read, want_write;
} redis_poll;

/* Hooks rp into ac (ac->ev); rp must outlive ac. */
void redis_poll_attach(redis_poll *rp, redisAsyncContext *ac);
/* Reads and writes whatever the socket allows now; replies' and the
 * disconnect's callbacks run inside. Returns -1 when there is no context
 * (anymore), else 0. */
int redis_poll_run(redis_poll *rp);

#endif
