/* fuzz_token: join tokens and base64url (shared/token.c), the first thing
 * the server does with a JOIN's token.
 *
 * Input (fuzz_common.h): mode:u8, then a payload.
 *  - text mode: the payload is a token string: token_verify with the fuzz
 *    secret (or, with FZ_TOK_WRONG_KEY, one a bit off) at one of four
 *    `now`s. A token that verifies must re-mint, from its claims and the
 *    same secret, to exactly the same string (so there is one encoding of
 *    each token, and verify and mint agree on the layout).
 *  - raw mode (FZ_TOK_RAW): the payload is the token's bytes without the
 *    MAC; the target signs them with mbedTLS, so verify gets past the MAC
 *    check and the layout rules are fuzzed. The result must match an
 *    independent reading of the layout here; flipping one bit of the
 *    signed token (chosen by the input) must then be a bad signature.
 * Both modes: base64url decode/encode round trips in both directions, a
 * decode never writes past its capacity, and the payload's bytes encode
 * and decode back. All buffers are heap blocks of the exact size, so ASan
 * sees any read or write past them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fuzz_common.h"
#include "token.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_char(char c)
{
    return c && strchr(B64URL, c) != NULL;
}

static int printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return 0;
    return 1;
}

/* The layout of docs/PROTOCOL.md, read independently of token.c. raw holds
 * n bytes including the 32-byte MAC. */
static int layout_ok(const uint8_t *raw, size_t n)
{
    if (n < 1 + 8 + 1)
        return 0;
    if (raw[0] != TOKEN_VERSION)
        return 0;
    size_t nl = raw[9];
    if (nl < 1 || nl > TOKEN_MAX_NAME || n < 10 + nl + 1)
        return 0;
    size_t ml = raw[10 + nl];
    if (ml > TOKEN_MAX_MATCH)
        return 0;
    if (n != 10 + nl + 1 + ml + 8 + TOKEN_NONCE_LEN + TOKEN_MAC_LEN)
        return 0;
    return printable(raw + 10, nl) && printable(raw + 11 + nl, ml);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Decode text both ways round, with exact-size buffers. */
static void check_b64_text(const char *text, size_t len)
{
    size_t cap = len * 3 / 4 + 1;
    uint8_t *out = malloc(cap);
    FZ_CHECK(out != NULL);
    size_t n = token_b64_decode(text, len, out, cap);
    int chars_ok = 1;
    for (size_t i = 0; i < len; i++)
        chars_ok &= b64_char(text[i]);
    if (n > 0) {
        FZ_CHECK(chars_ok && len % 4 != 1);
        FZ_CHECK(n == len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0));
        /* Canonical: encoding the bytes gives the text back. */
        char *again = malloc(len + 1);
        FZ_CHECK(again != NULL);
        FZ_CHECK(token_b64_encode(out, n, again, len + 1) == len);
        FZ_CHECK(memcmp(again, text, len) == 0 && again[len] == '\0');
        free(again);
        /* One byte less room: refused, and nothing past it written. */
        uint8_t *small = malloc(n - 1 ? n - 1 : 1);
        FZ_CHECK(small != NULL);
        FZ_CHECK(token_b64_decode(text, len, small, n - 1) == 0);
        free(small);
    } else if (len > 0 && chars_ok && len % 4 != 1) {
        /* Only stray bits in the last character make valid characters of
         * a valid length undecodable. */
        size_t last = (size_t)(strchr(B64URL, text[len - 1]) - B64URL);
        FZ_CHECK(len % 4 == 2 ? (last & 15) != 0 : (last & 3) != 0);
    }
    free(out);
}

/* Encode bytes and decode them back. */
static void check_b64_bytes(const uint8_t *in, size_t n)
{
    size_t len = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
    char *text = malloc(len + 1);
    FZ_CHECK(text != NULL);
    FZ_CHECK(token_b64_encode(in, n, text, len + 1) == len);
    FZ_CHECK(token_b64_encode(in, n, text, len) == 0); /* no room for the NUL */
    uint8_t *back = malloc(n ? n : 1);
    FZ_CHECK(back != NULL);
    FZ_CHECK(token_b64_decode(text, len, back, n) == n);
    FZ_CHECK(n == 0 || memcmp(back, in, n) == 0);
    free(back);
    free(text);
}

/* A verify result, checked against the claims and a re-mint. */
static void check_verified(const char *text, size_t len, const uint8_t *key, size_t klen, uint64_t now, int err,
                           const token_claims *c)
{
    FZ_CHECK(err == TOKEN_OK || err == TOKEN_ERR_MALFORMED || err == TOKEN_ERR_SIGNATURE ||
             err == TOKEN_ERR_EXPIRED);
    if (err != TOKEN_OK && err != TOKEN_ERR_EXPIRED)
        return;
    FZ_CHECK(len <= TOKEN_MAX_B64);
    size_t nl = strlen(c->name), ml = strlen(c->match);
    FZ_CHECK(nl >= 1 && nl <= TOKEN_MAX_NAME && ml <= TOKEN_MAX_MATCH);
    FZ_CHECK(printable((const uint8_t *)c->name, nl) && printable((const uint8_t *)c->match, ml));
    FZ_CHECK(err == TOKEN_OK ? c->expiry > now : c->expiry <= now);
    char again[TOKEN_MAX_B64 + 1];
    FZ_CHECK(token_mint(c, key, klen, again, sizeof again) == len);
    FZ_CHECK(memcmp(again, text, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *payload = data + 1;
    size_t plen = size - 1;
    uint64_t now = fz_tok_now(mode);
    uint8_t key[sizeof FZ_TOK_SECRET - 1];
    memcpy(key, FZ_TOK_SECRET, sizeof key);
    if (mode & FZ_TOK_WRONG_KEY)
        key[mode >> 4] ^= 0x20; /* bits 4-7 pick the byte */

    check_b64_text((const char *)payload, plen);
    check_b64_bytes(payload, plen);

    token_claims c;
    if (!(mode & FZ_TOK_RAW)) {
        memset(&c, 0, sizeof c);
        int err = token_verify((const char *)payload, plen, key, sizeof key, now, &c);
        check_verified((const char *)payload, plen, key, sizeof key, now, err, &c);
        return 0;
    }

    /* Raw: sign the payload (at most what a token can hold and a little
     * more), encode, verify. */
    size_t n = plen < TOKEN_MAX_BYTES ? plen : TOKEN_MAX_BYTES;
    size_t rn = n + TOKEN_MAC_LEN;
    uint8_t *raw = malloc(rn);
    FZ_CHECK(raw != NULL);
    memcpy(raw, payload, n);
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    FZ_CHECK(md && mbedtls_md_hmac(md, key, sizeof key, raw, n, raw + n) == 0);
    size_t len = rn / 3 * 4 + (rn % 3 ? rn % 3 + 1 : 0);
    char *text = malloc(len);
    char tmp[TOKEN_MAX_B64 + 64];
    FZ_CHECK(text != NULL && len + 1 <= sizeof tmp);
    FZ_CHECK(token_b64_encode(raw, rn, tmp, sizeof tmp) == len);
    memcpy(text, tmp, len); /* no NUL: verify must stop at len */

    memset(&c, 0, sizeof c);
    int err = token_verify(text, len, key, sizeof key, now, &c);
    if (len > TOKEN_MAX_B64) {
        FZ_CHECK(err == TOKEN_ERR_MALFORMED);
    } else if (!layout_ok(raw, rn) || rn < 1 + 8 + 1 + 1 + 1 + 8 + TOKEN_NONCE_LEN + TOKEN_MAC_LEN) {
        FZ_CHECK(err == TOKEN_ERR_MALFORMED);
    } else {
        /* A good layout behind a good MAC: the expiry decides. */
        size_t nl = raw[9], ml = raw[10 + nl];
        uint64_t expiry = le64(raw + 11 + nl + ml);
        FZ_CHECK(err == (expiry > now ? TOKEN_OK : TOKEN_ERR_EXPIRED));
        FZ_CHECK(c.player_id == le64(raw + 1) && c.expiry == expiry);
        FZ_CHECK(strlen(c.name) == nl && memcmp(c.name, raw + 10, nl) == 0);
        FZ_CHECK(strlen(c.match) == ml && memcmp(c.match, raw + 11 + nl, ml) == 0);
        FZ_CHECK(memcmp(c.nonce, raw + 11 + nl + ml + 8, TOKEN_NONCE_LEN) == 0);
    }
    check_verified(text, len, key, sizeof key, now, err, &c);

    /* Any one bit changed: the MAC no longer matches, whatever the bit. */
    if (len <= TOKEN_MAX_B64 && rn >= 1 + 8 + 1 + 1 + 1 + 8 + TOKEN_NONCE_LEN + TOKEN_MAC_LEN) {
        size_t bit = (plen ? payload[plen - 1] * 131u + plen : 0) % (rn * 8);
        raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        FZ_CHECK(token_b64_encode(raw, rn, tmp, sizeof tmp) == len);
        memcpy(text, tmp, len);
        FZ_CHECK(token_verify(text, len, key, sizeof key, now, &c) == TOKEN_ERR_SIGNATURE);
    }
    free(text);
    free(raw);
    return 0;
}
