/* scrape: who may read /metrics. Two rules, each on when configured, both
 * applied when both are:
 *
 *   --metrics-allow CIDR        the peer's address is in one of the
 *                               networks (403 otherwise);
 *   --metrics-token-file FILE   the request carries "Authorization: Bearer
 *                               <the file's token>" (401 otherwise, with
 *                               WWW-Authenticate).
 *
 * With neither, /metrics is open to whoever reaches the port (fine on a
 * loopback-only server; main warns otherwise). Addresses allowed here also
 * keep a few connections in reserve past the connection caps
 * (admission.h), so a full server can still be scraped. No I/O, no
 * libwebsockets. */
#ifndef TW_SCRAPE_H
#define TW_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

#define SCRAPE_MAX_NETS 16
#define SCRAPE_MAX_TOKEN 256

typedef struct scrape_net {
    int v6;            /* 0: IPv4 (4 bytes of addr), 1: IPv6 (16) */
    uint8_t addr[16];  /* the network, host bits cleared */
    int bits;          /* prefix length */
} scrape_net;

typedef struct scrape_rules {
    size_t token_len;  /* 0: no token rule */
    uint8_t token[SCRAPE_MAX_TOKEN];
    int n_nets;        /* 0: no address rule */
    scrape_net nets[SCRAPE_MAX_NETS];
} scrape_rules;

/* "10.0.0.0/8", "192.168.1.5" (/32), "2001:db8::/32", "::1". Returns 0, or
 * -1 when it is not an address with an optional prefix in range. */
int scrape_net_parse(const char *cidr, scrape_net *out);

/* Whether ip (text, as the transport gives it; an IPv4-mapped IPv6
 * address counts as IPv4) is in one of the networks. Without networks: 1
 * when `open_when_empty`, else 0. */
int scrape_ip_allowed(const scrape_rules *r, const char *ip, int open_when_empty);

enum { SCRAPE_OK = 0, SCRAPE_UNAUTHORIZED = 401, SCRAPE_FORBIDDEN = 403 };
/* SCRAPE_OK, or the status to answer a request for /metrics from ip with
 * this Authorization header ("" when absent) with. The token is compared
 * in constant time. */
int scrape_check(const scrape_rules *r, const char *ip, const char *authorization);

#endif
