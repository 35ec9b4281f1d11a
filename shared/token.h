/* token: signed join tokens. The host's backend decides who may join and
 * hands the player a token; the server checks it with the secret it shares
 * with the backend. Layout (docs/PROTOCOL.md, "Join tokens"), little-endian:
 *
 *   version u8 (1) | player_id u64 | name_len u8 (1..16) | name |
 *   match_len u8 (0..32) | match | expiry u64 (unix seconds) |
 *   nonce 16 bytes | HMAC-SHA256(secret, everything before) 32 bytes
 *
 * base64url without padding on the wire. Native builds only (mbedTLS);
 * the browser never mints or checks tokens. */
#ifndef TW_TOKEN_H
#define TW_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_VERSION 1
#define TOKEN_MAX_NAME 16
#define TOKEN_MAX_MATCH 32
#define TOKEN_NONCE_LEN 16
#define TOKEN_MAC_LEN 32
#define TOKEN_MAX_BYTES (1 + 8 + 1 + TOKEN_MAX_NAME + 1 + TOKEN_MAX_MATCH + 8 + TOKEN_NONCE_LEN + TOKEN_MAC_LEN)
#define TOKEN_MAX_B64 ((TOKEN_MAX_BYTES * 4 + 2) / 3)

typedef struct token_claims {
    uint64_t player_id;
    char name[TOKEN_MAX_NAME + 1];   /* printable ASCII */
    char match[TOKEN_MAX_MATCH + 1]; /* "" = any match */
    uint64_t expiry;                 /* unix seconds */
    uint8_t nonce[TOKEN_NONCE_LEN];
} token_claims;

typedef enum token_err {
    TOKEN_OK = 0,
    TOKEN_ERR_MALFORMED = -1,
    TOKEN_ERR_SIGNATURE = -2,
    TOKEN_ERR_EXPIRED = -3,
} token_err;

const char *token_err_str(int err);

/* Writes the base64url token (NUL-terminated) into out. Returns its length,
 * 0 when a claim is out of range or cap is too small. */
size_t token_mint(const token_claims *c, const uint8_t *secret, size_t secret_len, char *out, size_t cap);

/* Checks a base64url token: the MAC first (constant time), then the layout, then the
 * expiry against now. Fills *out on TOKEN_OK. */
int token_verify(const char *b64, size_t len, const uint8_t *secret, size_t secret_len, uint64_t now,
                 token_claims *out);

/* base64url without padding. Return the output length, 0 on error. */
size_t token_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
size_t token_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
