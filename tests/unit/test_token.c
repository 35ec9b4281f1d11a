/* Unit tests for shared/token.c, the signed join tokens of protocol v2.
 *
 * Mint/verify round trips at the limits of every claim; the worked example
 * of docs/PROTOCOL.md ("Join tokens") byte for byte (the expected bytes and
 * MAC were computed independently, with Python's hmac module); every
 * single-bit change of a token's bytes is a bad signature; wrong secrets,
 * expiry at the boundary, claims mint refuses; layouts signed here with
 * mbedTLS directly, so the layout rules are checked behind a valid MAC; and
 * base64url: RFC 4648 vectors (mapped to the url alphabet), canonical
 * trailing bits, lengths, capacities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/md.h>

#include "proto.h"
#include "sim.h"
#include "token.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const uint8_t SECRET[] = "tickwire-example-secret"; /* 23 bytes, no NUL */
#define SECRET_LEN (sizeof SECRET - 1)

/* The example claims of docs/PROTOCOL.md. */
static token_claims example_claims(void)
{
    token_claims c;
    memset(&c, 0, sizeof c);
    c.player_id = 42;
    strcpy(c.name, "alice");
    strcpy(c.match, "duel");
    c.expiry = 1767225600; /* 2026-01-01T00:00:00Z */
    for (int i = 0; i < TOKEN_NONCE_LEN; i++)
        c.nonce[i] = (uint8_t)i;
    return c;
}

static const uint8_t EXAMPLE_RAW[76] = {
    0x01,                                           /* version */
    0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* player_id 42 */
    0x05, 0x61, 0x6c, 0x69, 0x63, 0x65,             /* "alice" */
    0x04, 0x64, 0x75, 0x65, 0x6c,                   /* "duel" */
    0x00, 0xb9, 0x55, 0x69, 0x00, 0x00, 0x00, 0x00, /* expiry 1767225600 */
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, /* nonce */
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0xeb, 0x57, 0x0f, 0x4f, 0x8d, 0xf9, 0xf0, 0xa0, /* HMAC-SHA256 */
    0x28, 0x58, 0x8b, 0x03, 0xef, 0x85, 0xa4, 0x44,
    0x7d, 0xe4, 0x93, 0x7f, 0xe9, 0x56, 0x90, 0xf5,
    0x77, 0x02, 0x55, 0x00, 0x37, 0x91, 0x38, 0xb3,
};
static const char EXAMPLE_B64[] =
    "ASoAAAAAAAAABWFsaWNlBGR1ZWwAuVVpAAAAAAABAgMEBQYHCAkKCwwNDg_rVw9PjfnwoChYiwPvhaREfeSTf-lWkPV3AlUAN5E4sw";

static void assert_claims_equal(const token_claims *a, const token_claims *b)
{
    assert_true(a->player_id == b->player_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->match, b->match);
    assert_true(a->expiry == b->expiry);
    assert_memory_equal(a->nonce, b->nonce, TOKEN_NONCE_LEN);
}

/* HMAC-SHA256 straight from mbedTLS, to sign layouts token_mint would not
 * produce. */
static void sign(const uint8_t *secret, size_t slen, const uint8_t *msg, size_t n, uint8_t mac[32])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    assert_non_null(md);
    assert_int_equal(mbedtls_md_hmac(md, secret, slen, msg, n, mac), 0);
}

/* raw (without MAC) -> signed base64url token in out. */
static size_t sign_and_encode(const uint8_t *raw, size_t n, char *out, size_t cap)
{
    uint8_t buf[256];
    assert_true(n + 32 <= sizeof buf);
    memcpy(buf, raw, n);
    sign(SECRET, SECRET_LEN, raw, n, buf + n);
    return token_b64_encode(buf, n + 32, out, cap);
}

/* ---- the worked example -------------------------------------------------- */

static void test_known_answer(void **state)
{
    (void)state;
    token_claims c = example_claims();
    char out[TOKEN_MAX_B64 + 1];
    size_t n = token_mint(&c, SECRET, SECRET_LEN, out, sizeof out);
    if (getenv("TW_PRINT_EXAMPLE"))
        printf("%s\n", out);
    assert_int_equal(n, strlen(EXAMPLE_B64));
    assert_int_equal(n, 102);
    assert_string_equal(out, EXAMPLE_B64);

    uint8_t raw[TOKEN_MAX_BYTES];
    assert_int_equal(token_b64_decode(out, n, raw, sizeof raw), sizeof EXAMPLE_RAW);
    assert_memory_equal(raw, EXAMPLE_RAW, sizeof EXAMPLE_RAW);
    /* The MAC is HMAC-SHA256(secret, the 44 bytes before it). */
    uint8_t mac[32];
    sign(SECRET, SECRET_LEN, EXAMPLE_RAW, 44, mac);
    assert_memory_equal(mac, EXAMPLE_RAW + 44, 32);

    token_claims got;
    memset(&got, 0x33, sizeof got);
    assert_int_equal(token_verify(EXAMPLE_B64, n, SECRET, SECRET_LEN, 1767225599, &got), TOKEN_OK);
    assert_claims_equal(&c, &got);
    assert_int_equal(token_verify(EXAMPLE_B64, n, SECRET, SECRET_LEN, 1767225600, &got), TOKEN_ERR_EXPIRED);
    /* It fits a JOIN. */
    uint8_t join[PROTO_MAX_JOIN_MSG];
    assert_int_equal(proto_join_write(EXAMPLE_B64, NULL, join, sizeof join), 5 + 102);
}

/* ---- mint / verify --------------------------------------------------------- */

static void test_round_trip_limits(void **state)
{
    (void)state;
    const char *names[] = {"a", "0123456789abcdef", " ", "~", "with space", "\"quote\\'"};
    const char *matches[] = {"", "m", "0123456789abcdef0123456789ABCDEF", "ffa mode"};
    const uint64_t ids[] = {0, 1, 42, UINT64_MAX};
    const uint64_t expiries[] = {1, 1767225600, UINT64_MAX};
    char out[TOKEN_MAX_B64 + 1];
    size_t longest = 0;
    int k = 0;
    for (size_t a = 0; a < sizeof names / sizeof names[0]; a++)
        for (size_t b = 0; b < sizeof matches / sizeof matches[0]; b++)
            for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++, k++) {
                token_claims c;
                memset(&c, 0, sizeof c);
                c.player_id = ids[i];
                strcpy(c.name, names[a]);
                strcpy(c.match, matches[b]);
                c.expiry = expiries[k % 3];
                for (int j = 0; j < TOKEN_NONCE_LEN; j++)
                    c.nonce[j] = (uint8_t)(k * 31 + j * 7);
                size_t n = token_mint(&c, SECRET, SECRET_LEN, out, sizeof out);
                size_t bytes = 1 + 8 + 1 + strlen(c.name) + 1 + strlen(c.match) + 8 + 16 + 32;
                assert_int_equal(n, (bytes * 4 + 2) / 3);
                assert_int_equal(strlen(out), n);
                assert_int_equal(strspn(out, B64URL), n);
                if (n > longest)
                    longest = n;
                token_claims got;
                memset(&got, 0x77, sizeof got);
                assert_int_equal(token_verify(out, n, SECRET, SECRET_LEN, c.expiry - 1, &got), TOKEN_OK);
                assert_claims_equal(&c, &got);
                /* The token is a valid JOIN token. */
                uint8_t join[PROTO_MAX_JOIN_MSG];
                proto_join j;
                size_t jn = proto_join_write(out, NULL, join, sizeof join);
                assert_true(jn > 0);
                assert_int_equal(proto_join_read(join, jn, &j), PROTO_OK);
            }
    /* The longest token: name 16, match 32 = 115 bytes = 154 characters. */
    assert_int_equal(longest, TOKEN_MAX_B64);
    assert_int_equal(TOKEN_MAX_BYTES, 115);
    assert_int_equal(TOKEN_MAX_B64, 154);
    assert_true(TOKEN_MAX_B64 <= PROTO_MAX_TOKEN);
    assert_int_equal(TOKEN_MAX_NAME, PROTO_MAX_NAME);
}

/* Any change to any bit of the token's bytes is a bad signature: the MAC is
 * checked before anything else, whatever the changed byte means. */
static void test_every_bit_flip_is_a_bad_signature(void **state)
{
    (void)state;
    token_claims c = example_claims();
    char tok[TOKEN_MAX_B64 + 1], bad[TOKEN_MAX_B64 + 1];
    size_t n = token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok);
    uint8_t raw[TOKEN_MAX_BYTES];
    size_t rn = token_b64_decode(tok, n, raw, sizeof raw);
    assert_int_equal(rn, 76);
    token_claims got;
    int flips = 0;
    for (size_t i = 0; i < rn; i++) {
        for (int b = 0; b < 8; b++) {
            raw[i] ^= (uint8_t)(1 << b);
            size_t bn = token_b64_encode(raw, rn, bad, sizeof bad);
            assert_int_equal(bn, n);
            int err = token_verify(bad, bn, SECRET, SECRET_LEN, 0, &got);
            if (err != TOKEN_ERR_SIGNATURE)
                fail_msg("byte %zu bit %d: got %d (%s)", i, b, err, token_err_str(err));
            raw[i] ^= (uint8_t)(1 << b);
            flips++;
        }
    }
    assert_int_equal(flips, 76 * 8);
    /* Unflipped it still verifies. */
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, 0, &got), TOKEN_OK);

    /* Changing any character of the text never verifies either (a changed
     * last character may also be non-canonical: malformed). */
    for (size_t i = 0; i < n; i++) {
        for (int d = 1; d < 64; d += 9) {
            memcpy(bad, tok, n + 1);
            const char *p = strchr(B64URL, tok[i]);
            bad[i] = B64URL[(p - B64URL + d) % 64];
            int err = token_verify(bad, n, SECRET, SECRET_LEN, 0, &got);
            assert_true(err == TOKEN_ERR_SIGNATURE || (i == n - 1 && err == TOKEN_ERR_MALFORMED));
        }
    }
    /* Cut or extended by whole bytes: a bad signature or malformed. */
    for (size_t len = 0; len < n; len++) {
        int err = token_verify(tok, len, SECRET, SECRET_LEN, 0, &got);
        assert_true(err == TOKEN_ERR_SIGNATURE || err == TOKEN_ERR_MALFORMED);
    }
}

static void test_wrong_secret(void **state)
{
    (void)state;
    token_claims c = example_claims(), got;
    char tok[TOKEN_MAX_B64 + 1];
    size_t n = token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok);
    uint8_t other[sizeof SECRET];
    memcpy(other, SECRET, sizeof SECRET);
    other[0] ^= 1;
    assert_int_equal(token_verify(tok, n, other, SECRET_LEN, 0, &got), TOKEN_ERR_SIGNATURE);
    other[0] ^= 1;
    other[SECRET_LEN - 1] ^= 0x80;
    assert_int_equal(token_verify(tok, n, other, SECRET_LEN, 0, &got), TOKEN_ERR_SIGNATURE);
    other[SECRET_LEN - 1] ^= 0x80;
    assert_int_equal(token_verify(tok, n, other, SECRET_LEN, 0, &got), TOKEN_OK);
    /* A prefix or an extension of the secret is another secret ... */
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN - 1, 0, &got), TOKEN_ERR_SIGNATURE);
    assert_int_equal(token_verify(tok, n, SECRET, 0, 0, &got), TOKEN_ERR_SIGNATURE);
    uint8_t longer[SECRET_LEN + 1];
    memcpy(longer, SECRET, SECRET_LEN);
    longer[SECRET_LEN] = 'x';
    assert_int_equal(token_verify(tok, n, longer, sizeof longer, 0, &got), TOKEN_ERR_SIGNATURE);
    /* ... except for trailing zero bytes: HMAC pads a key shorter than its
     * 64-byte block with zeros, so "k" and "k\0" are the same key. */
    longer[SECRET_LEN] = 0;
    assert_int_equal(token_verify(tok, n, longer, sizeof longer, 0, &got), TOKEN_OK);
    /* HMAC keys longer than the block (64 bytes) are hashed first. */
    static uint8_t big[4096];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13);
    n = token_mint(&c, big, sizeof big, tok, sizeof tok);
    assert_true(n > 0);
    assert_int_equal(token_verify(tok, n, big, sizeof big, 0, &got), TOKEN_OK);
    assert_int_equal(token_verify(tok, n, big, sizeof big - 1, 0, &got), TOKEN_ERR_SIGNATURE);
}

static void test_expiry(void **state)
{
    (void)state;
    const uint64_t now = 1800000000;
    token_claims c = example_claims(), got;
    char tok[TOKEN_MAX_B64 + 1];
    /* expiry == now: expired; now + 1: valid for one more second. */
    c.expiry = now;
    size_t n = token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, now, &got), TOKEN_ERR_EXPIRED);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, now - 1, &got), TOKEN_OK);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, UINT64_MAX, &got), TOKEN_ERR_EXPIRED);
    c.expiry = now + 1;
    n = token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, now, &got), TOKEN_OK);
    assert_true(got.expiry == now + 1);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, now + 1, &got), TOKEN_ERR_EXPIRED);
    c.expiry = 0;
    n = token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_EXPIRED);
    c.expiry = UINT64_MAX;
    n = token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, UINT64_MAX - 1, &got), TOKEN_OK);
    /* The signature comes first: a forged expired token is a bad signature. */
    c.expiry = 5;
    n = token_mint(&c, (const uint8_t *)"another secret!!", 16, tok, sizeof tok);
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, now, &got), TOKEN_ERR_SIGNATURE);
}

static void test_mint_refuses(void **state)
{
    (void)state;
    token_claims c = example_claims();
    char tok[TOKEN_MAX_B64 + 8];
    /* name 0 and 17 characters. The struct holds 16 and a NUL, so a
     * 17-character name is made by filling name[] and ending the string
     * in the first byte of match[], which follows it; a 33-character match
     * ends in the padding before expiry. (Callers such as mint-token copy
     * with snprintf, which cuts; this is what token_mint itself does with
     * a string that is too long.) */
    c.name[0] = '\0';
    assert_int_equal(token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok), 0);
    token_claims big = example_claims();
    assert_int_equal(offsetof(token_claims, match), offsetof(token_claims, name) + sizeof big.name);
    memset(big.name, 'n', sizeof big.name);
    big.match[0] = '\0';
    assert_int_equal(strlen(big.name), 17);
    assert_int_equal(token_mint(&big, SECRET, SECRET_LEN, tok, sizeof tok), 0);
    big.name[16] = '\0';
    assert_int_equal(token_mint(&big, SECRET, SECRET_LEN, tok, sizeof tok), (83 * 4 + 2) / 3);
    /* match 33 characters */
    assert_true(offsetof(token_claims, expiry) > offsetof(token_claims, match) + sizeof big.match);
    memset(big.match, 'm', sizeof big.match);
    ((unsigned char *)&big)[offsetof(token_claims, match) + sizeof big.match] = 0;
    assert_int_equal(strlen(big.match), 33);
    assert_int_equal(token_mint(&big, SECRET, SECRET_LEN, tok, sizeof tok), 0);
    big.match[TOKEN_MAX_MATCH] = '\0';
    assert_int_equal(token_mint(&big, SECRET, SECRET_LEN, tok, sizeof tok), TOKEN_MAX_B64);

    /* Non-printable bytes in the name or the match. */
    const char bad[] = {0x01, 0x09, 0x1f, 0x7f, (char)0x80, (char)0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        c = example_claims();
        c.name[2] = bad[i];
        assert_int_equal(token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok), 0);
        c = example_claims();
        c.match[0] = bad[i];
        assert_int_equal(token_mint(&c, SECRET, SECRET_LEN, tok, sizeof tok), 0);
    }
    /* Every capacity below length + NUL. */
    c = example_claims();
    for (size_t cap = 0; cap <= 102; cap++) {
        memset(tok, '#', sizeof tok);
        assert_int_equal(token_mint(&c, SECRET, SECRET_LEN, tok, cap), 0);
        for (size_t i = cap; i < sizeof tok; i++)
            assert_int_equal(tok[i], '#'); /* nothing written past cap */
    }
    assert_int_equal(token_mint(&c, SECRET, SECRET_LEN, tok, 103), 102);
    assert_string_equal(tok, EXAMPLE_B64);
}

/* Layouts behind a valid MAC: only the documented one verifies. */
static void test_layout_rules(void **state)
{
    (void)state;
    char tok[512];
    token_claims got;
    uint8_t raw[200];
    size_t n;

    /* Hand-built: version 1, id 0x0102030405060708, "bo", no match. */
    n = 0;
    raw[n++] = 1;
    for (int i = 0; i < 8; i++)
        raw[n++] = (uint8_t)(8 - i);
    raw[n++] = 2;
    raw[n++] = 'b';
    raw[n++] = 'o';
    raw[n++] = 0;
    for (int i = 0; i < 8; i++)
        raw[n++] = i == 4 ? 1 : 0; /* expiry 2^32 */
    for (int i = 0; i < 16; i++)
        raw[n++] = (uint8_t)(0xc0 + i);
    size_t good_n = n;
    size_t tn = sign_and_encode(raw, n, tok, sizeof tok);
    assert_int_equal(token_verify(tok, tn, SECRET, SECRET_LEN, 1, &got), TOKEN_OK);
    assert_true(got.player_id == 0x0102030405060708ull);
    assert_string_equal(got.name, "bo");
    assert_string_equal(got.match, "");
    assert_true(got.expiry == 1ull << 32);
    assert_int_equal(got.nonce[15], 0xcf);
    /* ... and token_mint makes the same bytes from the same claims. */
    char minted[TOKEN_MAX_B64 + 1];
    assert_int_equal(token_mint(&got, SECRET, SECRET_LEN, minted, sizeof minted), tn);
    assert_string_equal(minted, tok);

    struct {
        const char *what;
        size_t at;  /* byte to change, or SIZE_MAX */
        uint8_t v;
        int delta;  /* bytes added (+) or cut (-) at the end of the signed part */
    } cases[] = {
        {"version 0", 0, 0, 0},
        {"version 2", 0, 2, 0},
        {"name_len 0", 9, 0, 0},
        {"name_len 3 (one too many)", 9, 3, 0},
        {"name_len 1 (one too few)", 9, 1, 0},
        {"name_len 17", 9, 17, 0},
        {"name_len 255", 9, 255, 0},
        {"match_len 1 (past the end)", 12, 1, 0},
        {"match_len 33", 12, 33, 0},
        {"name byte 0x1f", 10, 0x1f, 0},
        {"name byte 0x7f", 11, 0x7f, 0},
        {"name byte 0x00", 10, 0x00, 0},
        {"one byte more", SIZE_MAX, 0, 1},
        {"one byte less", SIZE_MAX, 0, -1},
        {"nonce cut", SIZE_MAX, 0, -16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[200];
        memcpy(b, raw, good_n);
        size_t bn = good_n;
        if (cases[i].at != SIZE_MAX)
            b[cases[i].at] = cases[i].v;
        if (cases[i].delta > 0)
            b[bn++] = 0;
        else
            bn -= (size_t)-cases[i].delta;
        tn = sign_and_encode(b, bn, tok, sizeof tok);
        int err = token_verify(tok, tn, SECRET, SECRET_LEN, 1, &got);
        if (err != TOKEN_ERR_MALFORMED)
            fail_msg("%s: got %d, want malformed", cases[i].what, err);
    }
    /* A match byte out of range. */
    n = 0;
    raw[n++] = 1;
    memset(raw + n, 0, 8);
    n += 8;
    raw[n++] = 1;
    raw[n++] = 'x';
    raw[n++] = 2;
    raw[n++] = 'o';
    raw[n++] = 0x0a;
    memset(raw + n, 0xff, 24);
    n += 24;
    tn = sign_and_encode(raw, n, tok, sizeof tok);
    assert_int_equal(token_verify(tok, tn, SECRET, SECRET_LEN, 1, &got), TOKEN_ERR_MALFORMED);
    raw[13] = 'k';
    tn = sign_and_encode(raw, n, tok, sizeof tok);
    assert_int_equal(token_verify(tok, tn, SECRET, SECRET_LEN, 1, &got), TOKEN_OK);
    assert_string_equal(got.match, "ok");

    /* Too short to hold the fixed fields, however well signed. */
    for (size_t len = 0; len < 1 + 8 + 1 + 1 + 1 + 8 + 16; len++) {
        memset(raw, 1, len);
        tn = sign_and_encode(raw, len, tok, sizeof tok);
        assert_int_equal(token_verify(tok, tn, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_MALFORMED);
    }
    /* Longer than TOKEN_MAX_B64 characters: refused before decoding. */
    memset(raw, 'a', 120);
    raw[0] = 1;
    tn = sign_and_encode(raw, 120, tok, sizeof tok);
    assert_true(tn > TOKEN_MAX_B64);
    assert_int_equal(token_verify(tok, tn, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_MALFORMED);
}

static void test_verify_malformed_text(void **state)
{
    (void)state;
    token_claims got;
    char tok[TOKEN_MAX_B64 + 8];
    size_t n = strlen(EXAMPLE_B64);
    assert_int_equal(token_verify("", 0, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_MALFORMED);
    /* Characters outside the url alphabet, padding, and a length that is
     * 1 mod 4. */
    const char bad[] = {'+', '/', '=', '.', ' ', '\0', '\n', (char)0xc3};
    for (size_t i = 0; i < sizeof bad; i++) {
        for (size_t at = 0; at < n; at += 25) {
            memcpy(tok, EXAMPLE_B64, n + 1);
            tok[at] = bad[i];
            assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_MALFORMED);
        }
    }
    memcpy(tok, EXAMPLE_B64, n);
    strcpy(tok + n, "==");
    assert_int_equal(token_verify(tok, n + 2, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_MALFORMED);
    tok[n] = 'A';
    assert_int_equal((n + 1) % 4, 3);
    assert_int_equal(token_verify(tok, n + 1, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_SIGNATURE);
    /* 102 characters end in a 2-character group; its second character
     * carries 4 stray bits, which must be 0. */
    memcpy(tok, EXAMPLE_B64, n + 1);
    assert_int_equal(tok[n - 1], 'w');
    tok[n - 1] = 'x';
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, 0, &got), TOKEN_ERR_MALFORMED);
    /* Only `len` characters are read: a longer buffer with the token first
     * verifies with its length. */
    memcpy(tok, EXAMPLE_B64, n);
    strcpy(tok + n, "AAAA");
    assert_int_equal(token_verify(tok, n, SECRET, SECRET_LEN, 0, &got), TOKEN_OK);

    const int errs[] = {TOKEN_OK, TOKEN_ERR_MALFORMED, TOKEN_ERR_SIGNATURE, TOKEN_ERR_EXPIRED};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(token_err_str(errs[i]), token_err_str(errs[j]));
    /* The close reasons docs/PROTOCOL.md lists. */
    assert_string_equal(token_err_str(TOKEN_ERR_MALFORMED), "malformed token");
    assert_string_equal(token_err_str(TOKEN_ERR_SIGNATURE), "invalid token signature");
    assert_string_equal(token_err_str(TOKEN_ERR_EXPIRED), "token expired");
}

/* ---- base64url ------------------------------------------------------------- */

static void test_b64_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10, without padding (none of them uses + or /). */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[64];
    uint8_t back[64];
    for (int i = 0; i < 7; i++) {
        size_t pn = strlen(plain[i]);
        assert_int_equal(token_b64_encode((const uint8_t *)plain[i], pn, out, sizeof out), strlen(coded[i]));
        assert_string_equal(out, coded[i]);
        assert_int_equal(token_b64_decode(coded[i], strlen(coded[i]), back, sizeof back), pn);
        assert_memory_equal(back, plain[i], pn);
    }
    /* RFC 4648 section 9's examples, '+' and '/' mapped to '-' and '_'
     * (standard "FPucA9l+" is "FPucA9l-" here; "FPucA9k=" is "FPucA9k"). */
    struct {
        uint8_t in[6];
        size_t n;
        const char *std_padded, *url;
    } v[] = {
        {{0x14, 0xfb, 0x9c, 0x03, 0xd9, 0x7e}, 6, "FPucA9l+", "FPucA9l-"},
        {{0x14, 0xfb, 0x9c, 0x03, 0xd9}, 5, "FPucA9k=", "FPucA9k"},
        {{0x14, 0xfb, 0x9c, 0x03}, 4, "FPucAw==", "FPucAw"},
        {{0xfb, 0xef, 0xbe}, 3, "++++", "----"},
        {{0xff, 0xff, 0xff}, 3, "////", "____"},
        {{0xfb, 0xff}, 2, "+/8=", "-_8"},
        {{0xff}, 1, "/w==", "_w"},
        {{0x00}, 1, "AA==", "AA"},
        {{0x00, 0x00, 0x00}, 3, "AAAA", "AAAA"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(token_b64_encode(v[i].in, v[i].n, out, sizeof out), strlen(v[i].url));
        assert_string_equal(out, v[i].url);
        assert_int_equal(token_b64_decode(v[i].url, strlen(v[i].url), back, sizeof back), v[i].n);
        assert_memory_equal(back, v[i].in, v[i].n);
        /* The standard alphabet and padding are not base64url. */
        if (strcmp(v[i].std_padded, v[i].url) != 0)
            assert_int_equal(token_b64_decode(v[i].std_padded, strlen(v[i].std_padded), back, sizeof back), 0);
    }
    /* Every byte value, at each position of a 3-byte group. */
    for (int pos = 0; pos < 3; pos++) {
        for (int b = 0; b < 256; b++) {
            uint8_t in[3] = {0x5a, 0xa5, 0x3c};
            in[pos] = (uint8_t)b;
            for (size_t n = (size_t)pos + 1; n <= 3; n++) {
                size_t en = token_b64_encode(in, n, out, sizeof out);
                assert_int_equal(en, n + 1);
                assert_int_equal(token_b64_decode(out, en, back, sizeof back), n);
                assert_memory_equal(back, in, n);
            }
        }
    }
    /* Every index maps to its character. */
    for (int d = 0; d < 64; d++) {
        uint8_t in[3] = {(uint8_t)(d << 2), 0, 0};
        token_b64_encode(in, 3, out, sizeof out);
        assert_int_equal(out[0], B64URL[d]);
    }
}

/* The last group of 2 or 3 characters has stray low bits (4 or 2) that a
 * canonical encoder leaves 0: exactly the canonical strings decode, each to
 * the bytes that encode back to it. Exhaustive over all 64^2 and 64^3. */
static void test_b64_canonical(void **state)
{
    (void)state;
    char s[5] = "AAAA";
    uint8_t b[4];
    char again[8];
    for (int len = 2; len <= 3; len++) {
        int total = len == 2 ? 64 * 64 : 64 * 64 * 64, ok = 0;
        for (int v = 0; v < total; v++) {
            int x = v;
            for (int k = 0; k < len; k++, x /= 64)
                s[k] = B64URL[x % 64];
            size_t n = token_b64_decode(s, (size_t)len, b, sizeof b);
            int last = (int)(strchr(B64URL, s[len - 1]) - B64URL);
            int canonical = (last & (len == 2 ? 15 : 3)) == 0;
            assert_int_equal(n, canonical ? (size_t)len - 1 : 0);
            if (n) {
                ok++;
                assert_int_equal(token_b64_encode(b, n, again, sizeof again), (size_t)len);
                assert_memory_equal(again, s, (size_t)len);
            }
        }
        assert_int_equal(ok, len == 2 ? 64 * 4 : 64 * 64 * 16);
    }
    /* After full groups too: "Zm9vYh" is "foob" with a stray bit. */
    uint8_t buf[16];
    assert_int_equal(token_b64_decode("Zm9vYg", 6, buf, sizeof buf), 4);
    assert_int_equal(token_b64_decode("Zm9vYh", 6, buf, sizeof buf), 0);
    assert_int_equal(token_b64_decode("Zm9vYmF", 7, buf, sizeof buf), 0);
    assert_int_equal(token_b64_decode("Zm9vYmE", 7, buf, sizeof buf), 5);
}

static void test_b64_lengths_and_caps(void **state)
{
    (void)state;
    uint8_t in[120], back[120];
    char out[200];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 151 + 7);
    /* Length % 4 == 1 is never an encoding. */
    const char *ones[] = {"A", "Zm9vY", "Zm9vYmFyZ", "_"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(token_b64_decode(ones[i], strlen(ones[i]), back, sizeof back), 0);
    for (size_t n = 0; n <= sizeof in; n++) {
        size_t want = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
        size_t en = token_b64_encode(in, n, out, sizeof out);
        assert_int_equal(en, want);
        assert_int_equal(strlen(out), want);
        assert_true(want % 4 != 1);
        /* Every too-small capacity (the NUL needs room) fails. */
        for (size_t cap = 0; cap <= want; cap++) {
            char small[200];
            memset(small, '#', sizeof small);
            assert_int_equal(token_b64_encode(in, n, small, cap), 0);
            for (size_t k = cap; k < sizeof small; k++)
                assert_int_equal(small[k], '#');
        }
        if (n == 0)
            continue;
        assert_int_equal(token_b64_decode(out, en, back, n), n);
        assert_memory_equal(back, in, n);
        for (size_t cap = 0; cap < n; cap++) {
            uint8_t small[120];
            memset(small, 0xee, sizeof small);
            assert_int_equal(token_b64_decode(out, en, small, cap), 0);
            for (size_t k = cap; k < sizeof small; k++)
                assert_int_equal(small[k], 0xee);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_round_trip_limits),
        cmocka_unit_test(test_every_bit_flip_is_a_bad_signature),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_mint_refuses),
        cmocka_unit_test(test_layout_rules),
        cmocka_unit_test(test_verify_malformed_text),
        cmocka_unit_test(test_b64_vectors),
        cmocka_unit_test(test_b64_canonical),
        cmocka_unit_test(test_b64_lengths_and_caps),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
