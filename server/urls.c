/* urls: see urls.h. */
#include "urls.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int urls_host_is_wildcard(const char *host)
{
    return !host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0;
}

int urls_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

static void add(urls *out, int tls, const char *host, int v6, int port)
{
    if (out->n == URLS_MAX)
        return;
    char u[URLS_LEN];
    snprintf(u, sizeof u, "%s://%s%s%s:%d/", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", port);
    for (int i = 0; i < out->n; i++)
        if (strcmp(out->url[i], u) == 0)
            return;
    memcpy(out->url[out->n++], u, sizeof u);
}

/* One pass over the interfaces: the loopback ones (want_loopback) or the
 * others, IPv4 then IPv6 (when v6). */
static void add_interfaces(const struct ifaddrs *list, int want_loopback, int v6, int tls, int port, urls *out)
{
    for (int fam = 0; fam < (v6 ? 2 : 1); fam++)
        for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
            if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_LOOPBACK) != !want_loopback)
                continue;
            char text[INET6_ADDRSTRLEN];
            if (fam == 0 && i->ifa_addr->sa_family == AF_INET) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr, text, sizeof text);
                add(out, tls, text, 0, port);
            } else if (fam == 1 && i->ifa_addr->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
                if (IN6_IS_ADDR_LINKLOCAL(a))
                    continue;
                inet_ntop(AF_INET6, a, text, sizeof text);
                add(out, tls, text, 1, port);
            }
        }
}

void urls_list(const char *host, int tls, int port, urls *out)
{
    out->n = 0;
    if (!urls_host_is_wildcard(host)) {
        int v6 = strchr(host, ':') != NULL && host[0] != '[';
        add(out, tls, host, v6, port);
        return;
    }
    int v6 = strchr(host, ':') != NULL;
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) == 0) {
        add_interfaces(list, 0, v6, tls, port, out);
        add_interfaces(list, 1, v6, tls, port, out);
        freeifaddrs(list);
    }
    if (out->n == 0)
        add(out, tls, "127.0.0.1", 0, port);
}
