/* auth: see auth.h. */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "token.h"

size_t auth_mint(const uint8_t *secret, size_t secret_len, uint32_t n, const uint8_t nonce[16], uint64_t now,
                 char *out, size_t cap)
{
    token_claims c;
    memset(&c, 0, sizeof c);
    c.player_id = n;
    snprintf(c.name, sizeof c.name, "bot-%u", (unsigned)n);
    c.expiry = now + AUTH_MINT_TTL_S;
    memcpy(c.nonce, nonce, TOKEN_NONCE_LEN);
    return token_mint(&c, secret, secret_len, out, cap);
}

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

size_t auth_parse_join_response(const char *body, size_t len, char *out, size_t cap)
{
    static const char KEY[] = "\"token\"";
    const char *end = body + len;
    const char *p = NULL;
    for (const char *q = body; q + sizeof KEY - 1 <= end; q++) {
        if (memcmp(q, KEY, sizeof KEY - 1) == 0) {
            p = q + sizeof KEY - 1;
            break;
        }
    }
    if (!p)
        return 0;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p >= end || *p++ != ':')
        return 0;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p >= end || *p++ != '"')
        return 0;
    size_t n = 0;
    while (p + n < end && b64url_char(p[n]))
        n++;
    if (p + n >= end || p[n] != '"' || n == 0 || n > PROTO_MAX_TOKEN || n + 1 > cap)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}
