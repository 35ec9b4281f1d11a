/* redis_poll: hiredis async, driven by zero-timeout poll() (see redis_poll.h). */
#include "redis_poll.h"

#include <poll.h>
#include <stddef.h>

static void add_read(void *p)
{
    ((redis_poll *)p)->want_read = 1;
}

static void del_read(void *p)
{
    ((redis_poll *)p)->want_read = 0;
}

static void add_write(void *p)
{
    ((redis_poll *)p)->want_write = 1;
}

static void del_write(void *p)
{
    ((redis_poll *)p)->want_write = 0;
}

static void cleanup(void *p)
{
    redis_poll *rp = p;
    rp->ac = NULL;
    rp->want_read = rp->want_write = 0;
}

void redis_poll_attach(redis_poll *rp, redisAsyncContext *ac)
{
    rp->ac = ac;
    rp->want_read = rp->want_write = 0;
    ac->ev.data = rp;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
}

int redis_poll_run(redis_poll *rp)
{
    if (!rp->ac)
        return -1;
    /* Connected, it always reads: a server that goes away is seen at once,
     * not at the next command. */
    int read = rp->want_read || (rp->ac->c.flags & REDIS_CONNECTED);
    if (!read && !rp->want_write)
        return 0;
    struct pollfd pfd = {.fd = rp->ac->c.fd, .events = 0};
    if (read)
        pfd.events |= POLLIN;
    if (rp->want_write)
        pfd.events |= POLLOUT;
    if (poll(&pfd, 1, 0) <= 0)
        return 0;
    /* An error or hang-up is found by the read (or the write) itself. */
    if (rp->ac && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && read)
        redisAsyncHandleRead(rp->ac);
    if (rp->ac && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) && rp->want_write)
        redisAsyncHandleWrite(rp->ac);
    return rp->ac ? 0 : -1;
}
