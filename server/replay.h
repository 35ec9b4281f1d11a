/* replay: remembers the nonces of join tokens until they expire, so a
 * token works once. Fixed capacity, allocated once; expired entries are
 * purged when the table fills up. */
#ifndef TW_REPLAY_H
#define TW_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "token.h"

typedef struct replay_slot {
    uint64_t expiry; /* 0 = empty */
    uint8_t nonce[TOKEN_NONCE_LEN];
} replay_slot;

typedef struct replay_cache {
    replay_slot *slots;
    uint32_t cap;    /* power of two */
    uint32_t count;
    uint64_t purged_at;  /* a purge that freed nothing is not retried within the same second */
} replay_cache;

/* Returns 0, or -1 when out of memory. cap is rounded up to a power of 2. */
int replay_init(replay_cache *rc, uint32_t cap);
void replay_free(replay_cache *rc);

enum { REPLAY_NEW = 0, REPLAY_SEEN = 1, REPLAY_FULL = -1 };
/* Records the nonce until `expiry`. REPLAY_SEEN when it is already there
 * (the token was used before); REPLAY_FULL when the table holds only live
 * nonces. O(1) expected; a purge is O(cap) and rare. */
int replay_check_add(replay_cache *rc, const uint8_t nonce[TOKEN_NONCE_LEN], uint64_t expiry, uint64_t now);

#endif
