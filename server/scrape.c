/* scrape: see scrape.h. */
#include "scrape.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses an address into 4 or 16 bytes; an IPv4-mapped IPv6 address
 * becomes IPv4. Returns 0 (v4), 1 (v6) or -1. */
static int parse_addr(const char *text, uint8_t out[16])
{
    struct in6_addr a6;
    if (inet_pton(AF_INET, text, out) == 1)
        return 0;
    if (inet_pton(AF_INET6, text, &a6) != 1)
        return -1;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        memcpy(out, a6.s6_addr + 12, 4);
        return 0;
    }
    memcpy(out, a6.s6_addr, 16);
    return 1;
}

static int prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)whole) != 0)
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

int scrape_net_parse(const char *cidr, scrape_net *out)
{
    char text[64];
    const char *slash = strchr(cidr, '/');
    size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
    if (n == 0 || n >= sizeof text)
        return -1;
    memcpy(text, cidr, n);
    text[n] = '\0';
    memset(out, 0, sizeof *out);
    int v6 = parse_addr(text, out->addr);
    if (v6 < 0)
        return -1;
    int max = v6 ? 128 : 32;
    out->v6 = v6;
    out->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > max)
            return -1;
        out->bits = (int)b;
    }
    /* Clear the host bits, so "10.1.2.3/8" means 10.0.0.0/8. */
    for (int i = 0; i < max / 8; i++) {
        int keep = out->bits - i * 8;
        out->addr[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
    return 0;
}

int scrape_ip_allowed(const scrape_rules *r, const char *ip, int open_when_empty)
{
    if (r->n_nets == 0)
        return open_when_empty;
    uint8_t a[16];
    int v6 = parse_addr(ip ? ip : "", a);
    if (v6 < 0)
        return 0;
    for (int i = 0; i < r->n_nets; i++)
        if (r->nets[i].v6 == v6 && prefix_match(a, r->nets[i].addr, r->nets[i].bits))
            return 1;
    return 0;
}

/* Equal in time that depends on the lengths only. */
static int same_secret(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t diff = alen != blen;
    for (size_t i = 0; i < alen; i++)
        diff |= a[i] ^ b[i < blen ? i : 0];
    return diff == 0 && blen > 0;
}

int scrape_check(const scrape_rules *r, const char *ip, const char *authorization)
{
    if (!scrape_ip_allowed(r, ip, 1))
        return SCRAPE_FORBIDDEN;
    if (r->token_len == 0)
        return SCRAPE_OK;
    const char *h = authorization ? authorization : "";
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return SCRAPE_UNAUTHORIZED;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    return same_secret((const uint8_t *)h, n, r->token, r->token_len) ? SCRAPE_OK : SCRAPE_UNAUTHORIZED;
}
