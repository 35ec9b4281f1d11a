/* replay: see replay.h. Open addressing with linear probing. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

int replay_init(replay_cache *rc, uint32_t cap)
{
    uint32_t c = 64;
    while (c < cap)
        c <<= 1;
    rc->slots = calloc(c, sizeof *rc->slots);
    rc->cap = c;
    rc->count = 0;
    rc->purged_at = 0;
    return rc->slots ? 0 : -1;
}

void replay_free(replay_cache *rc)
{
    free(rc->slots);
    rc->slots = NULL;
}

static uint32_t slot_of(const replay_cache *rc, const uint8_t *nonce)
{
    uint32_t h;
    memcpy(&h, nonce, sizeof h); /* nonces are random: any 4 bytes hash well */
    return h & (rc->cap - 1);
}

/* Drops expired nonces by reinserting the live ones. */
static void purge(replay_cache *rc, uint64_t now)
{
    replay_slot *old = rc->slots;
    replay_slot *fresh = calloc(rc->cap, sizeof *fresh);
    if (!fresh)
        return;
    rc->slots = fresh;
    rc->count = 0;
    for (uint32_t i = 0; i < rc->cap; i++) {
        if (old[i].expiry <= now)
            continue;
        uint32_t j = slot_of(rc, old[i].nonce);
        while (rc->slots[j].expiry)
            j = (j + 1) & (rc->cap - 1);
        rc->slots[j] = old[i];
        rc->count++;
    }
    free(old);
}

int replay_check_add(replay_cache *rc, const uint8_t nonce[TOKEN_NONCE_LEN], uint64_t expiry, uint64_t now)
{
    if (rc->count >= rc->cap / 4 * 3) {
        if (rc->purged_at != now) {
            purge(rc, now);
            rc->purged_at = now;
        }
        if (rc->count >= rc->cap / 4 * 3)
            return REPLAY_FULL;
    }
    uint32_t j = slot_of(rc, nonce);
    while (rc->slots[j].expiry) {
        if (rc->slots[j].expiry > now && memcmp(rc->slots[j].nonce, nonce, TOKEN_NONCE_LEN) == 0)
            return REPLAY_SEEN;
        j = (j + 1) & (rc->cap - 1);
    }
    rc->slots[j].expiry = expiry;
    memcpy(rc->slots[j].nonce, nonce, TOKEN_NONCE_LEN);
    rc->count++;
    return REPLAY_NEW;
}
