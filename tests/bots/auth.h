/* auth: the bots' join tokens. Two sources, as a host has them:
 *
 * - demo mode (the server runs without --token-secret-file): each bot asks
 *   POST /api/join?name=bot-N and gets {"token":"...","expires_in":60,
 *   "player_id":N}; auth_parse_join_response takes the token out of that.
 * - --token-secret-file: the bots hold the secret the server checks with
 *   (read by tests/common/secret.h, as the server reads it) and mint their
 *   own tokens (shared/token.h), as the host's backend does: name bot-N,
 *   player id N, a random nonce, valid for AUTH_MINT_TTL_S.
 *
 * Tokens are single use (the server keeps a replay cache), so a bot gets a
 * new one for every fresh JOIN. Pure functions, no I/O. */
#ifndef TW_BOTS_AUTH_H
#define TW_BOTS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define AUTH_MINT_TTL_S 300
/* Mints the join token of bot number n (1-based): name "bot-n", player id
 * n, expiry now + AUTH_MINT_TTL_S. Returns its length, 0 on error. */
size_t auth_mint(const uint8_t *secret, size_t secret_len, uint32_t n, const uint8_t nonce[16], uint64_t now,
                 char *out, size_t cap);

/* Takes "token" out of the JSON answer of POST /api/join. Returns its
 * length, or 0 when the body has no token or it is not base64url text of
 * 1..PROTO_MAX_TOKEN characters. */
size_t auth_parse_join_response(const char *body, size_t len, char *out, size_t cap);

#endif
