/* mask_random: lws' random source in tickwire-bots.
 *
 * lws 4.1.6 takes each client frame's 4-byte mask from lws_get_random(),
 * a read() of 4 bytes from /dev/urandom (lib/roles/ws/ops-ws.c,
 * lib/plat/unix/unix-misc.c): one syscall per INPUT, 60,000 a second at
 * 1000 bots, 8% of the bots' CPU in perf. tickwire-bots' link wraps it
 * (tests/bots/CMakeLists.txt, --wrap=lws_get_random): the same kernel
 * CSPRNG, read with getrandom() 4 KiB at a time and handed out in order,
 * so every mask is still unpredictable (RFC 6455 section 5.3). lws calls
 * it on the service thread only. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

struct lws_context;

size_t __real_lws_get_random(struct lws_context *context, void *buf, size_t len);
size_t __wrap_lws_get_random(struct lws_context *context, void *buf, size_t len);

size_t __wrap_lws_get_random(struct lws_context *context, void *buf, size_t len)
{
    static uint8_t pool[4096];
    static size_t left;
    if (len > sizeof pool)
        return __real_lws_get_random(context, buf, len);
    if (left < len) {
        if (getrandom(pool, sizeof pool, 0) != (ssize_t)sizeof pool) {
            left = 0;
            return __real_lws_get_random(context, buf, len);
        }
        left = sizeof pool;
    }
    memcpy(buf, pool + sizeof pool - left, len);
    left -= len;
    return len;
}
