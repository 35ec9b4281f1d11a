/* urls: the addresses people can reach the server at, as URLs to print at
 * start-up. For a wildcard host (--host 0.0.0.0 or ::) that is one URL
 * per address of every interface that is up (getifaddrs), loopback last;
 * for any other host, the host itself. IPv6 link-local addresses are left
 * out (a URL for them needs the interface's zone, which browsers refuse).
 * Reads the interfaces; no other I/O. */
#ifndef TW_URLS_H
#define TW_URLS_H

#include <stddef.h>

#define URLS_MAX 16
#define URLS_LEN 80

typedef struct urls {
    int n;
    char url[URLS_MAX][URLS_LEN]; /* "http://192.168.1.5:8080/", "https://[2001:db8::1]:443/" */
} urls;

/* Whether host listens on every address (0.0.0.0, ::, [::] or empty). */
int urls_host_is_wildcard(const char *host);
/* Whether host is a loopback address or name (127.x, ::1, localhost):
 * only this machine can connect. */
int urls_host_is_loopback(const char *host);

/* Fills out (n >= 1 on return: without any interface up, the loopback
 * URL). IPv4 addresses for 0.0.0.0; IPv6 and IPv4 for :: (a dual-stack
 * socket takes both). O(interfaces). */
void urls_list(const char *host, int tls, int port, urls *out);

#endif
