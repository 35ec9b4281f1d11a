/* token: see token.h. */
#include "token.h"

#include <string.h>

#include <mbedtls/md.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *token_err_str(int err)
{
    switch (err) {
    case TOKEN_OK: return "ok";
    case TOKEN_ERR_MALFORMED: return "malformed token";
    case TOKEN_ERR_SIGNATURE: return "invalid token signature";
    case TOKEN_ERR_EXPIRED: return "token expired";
    default: return "unknown token error";
    }
}

size_t token_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;
        if (n > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (n > 2)
            v |= in[i + 2];
        if (o + n + 2 > cap)
            return 0;
        for (size_t k = 0; k < n + 1; k++)
            out[o++] = B64[(v >> (18 - 6 * k)) & 63];
    }
    if (o >= cap)
        return 0;
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

size_t token_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    if (len % 4 == 1)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        size_t n = len - i < 4 ? len - i : 4;
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = k < n ? b64_value(in[i + k]) : 0;
            if (d < 0)
                return 0;
            v |= (uint32_t)d << (18 - 6 * k);
        }
        if (o + n - 1 > cap)
            return 0;
        for (size_t k = 0; k + 1 < n; k++)
            out[o++] = (uint8_t)(v >> (16 - 8 * k));
        /* Non-canonical encodings (stray low bits) are refused. */
        if (n < 4 && ((v >> (24 - 6 * n)) & ((1u << (6 * n - 8 * (n - 1))) - 1)) != 0)
            return 0;
    }
    return o;
}

static int hmac(const uint8_t *secret, size_t secret_len, const uint8_t *msg, size_t len, uint8_t mac[TOKEN_MAC_LEN])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return md ? mbedtls_md_hmac(md, secret, secret_len, msg, len, mac) : -1;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

size_t token_mint(const token_claims *c, const uint8_t *secret, size_t secret_len, char *out, size_t cap)
{
    size_t nl = strlen(c->name), ml = strlen(c->match);
    if (nl < 1 || nl > TOKEN_MAX_NAME || ml > TOKEN_MAX_MATCH || !printable(c->name, nl) ||
        !printable(c->match, ml))
        return 0;
    uint8_t raw[TOKEN_MAX_BYTES];
    size_t n = 0;
    raw[n++] = TOKEN_VERSION;
    put64(raw + n, c->player_id);
    n += 8;
    raw[n++] = (uint8_t)nl;
    memcpy(raw + n, c->name, nl);
    n += nl;
    raw[n++] = (uint8_t)ml;
    memcpy(raw + n, c->match, ml);
    n += ml;
    put64(raw + n, c->expiry);
    n += 8;
    memcpy(raw + n, c->nonce, TOKEN_NONCE_LEN);
    n += TOKEN_NONCE_LEN;
    if (hmac(secret, secret_len, raw, n, raw + n) != 0)
        return 0;
    n += TOKEN_MAC_LEN;
    return token_b64_encode(raw, n, out, cap);
}

/* Compares without an early exit, so timing says nothing about where a
 * forged MAC first differs. */
static int equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

int token_verify(const char *b64, size_t len, const uint8_t *secret, size_t secret_len, uint64_t now,
                 token_claims *out)
{
    uint8_t raw[TOKEN_MAX_BYTES];
    if (len > TOKEN_MAX_B64)
        return TOKEN_ERR_MALFORMED;
    size_t n = token_b64_decode(b64, len, raw, sizeof raw);
    const size_t fixed = 1 + 8 + 1 + 1 + 8 + TOKEN_NONCE_LEN + TOKEN_MAC_LEN;
    if (n < fixed + 1)
        return TOKEN_ERR_MALFORMED;
    /* The MAC first: any change to any byte is a bad signature, whatever
     * the changed byte means. */
    uint8_t mac[TOKEN_MAC_LEN];
    size_t signed_len = n - TOKEN_MAC_LEN;
    if (hmac(secret, secret_len, raw, signed_len, mac) != 0 || !equal_ct(mac, raw + signed_len, TOKEN_MAC_LEN))
        return TOKEN_ERR_SIGNATURE;
    if (raw[0] != TOKEN_VERSION)
        return TOKEN_ERR_MALFORMED;
    size_t p = 9, nl = raw[p++];
    if (nl < 1 || nl > TOKEN_MAX_NAME || p + nl + 1 > n)
        return TOKEN_ERR_MALFORMED;
    size_t name_at = p;
    p += nl;
    size_t ml = raw[p++];
    if (ml > TOKEN_MAX_MATCH || p + ml + 8 + TOKEN_NONCE_LEN + TOKEN_MAC_LEN != n)
        return TOKEN_ERR_MALFORMED;
    size_t match_at = p;
    p += ml;
    if (!printable((const char *)raw + name_at, nl) || !printable((const char *)raw + match_at, ml))
        return TOKEN_ERR_MALFORMED;
    out->player_id = get64(raw + 1);
    memcpy(out->name, raw + name_at, nl);
    out->name[nl] = '\0';
    memcpy(out->match, raw + match_at, ml);
    out->match[ml] = '\0';
    out->expiry = get64(raw + p);
    memcpy(out->nonce, raw + p + 8, TOKEN_NONCE_LEN);
    if (out->expiry <= now)
        return TOKEN_ERR_EXPIRED;
    return TOKEN_OK;
}
