/* memo: decode once, check many. The server encodes a snapshot body once
 * per (baseline, view) and sends the same bytes to every client of a match
 * that has that baseline; a process running hundreds of bots or thousands
 * of spectators of one match would decode the very same body against the
 * very same baseline hundreds of times a tick. The memo keeps the last
 * decodes (direct-mapped by a hash of the body) keyed by (server, match,
 * tick, baseline tick, body bytes, compared in full); a hit shares the
 * result: the clients hold the memo's decoded snapshot in their rings (an
 * entry is reused only once no ring holds it), so a snapshot costs a
 * client no 3 KB copy into its own ring. The server is cl_client.body_key: two processes of a fleet both
 * run a match 2 at tick 17, and an empty delta is the same bytes in both.
 *
 * A shared result is the decode's result only if the baseline and the names the
 * body applies to are the same in both clients. They are, when each
 * client decoded its own stream right; to keep that an assertion, not an
 * assumption, every MEMO_CHECK_EVERY-th hit is decoded for real and
 * compared (memo_stats.mismatches: must stay 0; a mismatch uses the real
 * decode). */
#ifndef TW_BOTS_MEMO_H
#define TW_BOTS_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "proto.h"

#define MEMO_SLOTS 128
#define MEMO_CHECK_EVERY 64

typedef struct memo_stats {
    uint64_t decodes;    /* real decodes (misses and checks) */
    uint64_t hits;       /* results copied */
    uint64_t checked;    /* hits decoded for real as well and compared */
    uint64_t mismatches; /* of those, different: the memo's premise broke */
    uint64_t entries;    /* entries allocated: those in the table and those rings still hold */
} memo_stats;

typedef struct memo memo;

memo *memo_create(void);
void memo_destroy(memo *m);
/* cl_client.body_reader; user is the memo. The result is shared (held by
 * the memo until every client that got it hands it back), except after a
 * check that found a mismatch, or when out of memory: then out and names
 * have it. */
int memo_body_read(void *user, const cl_client *c, const proto_snapshot *base, proto_snapshot *out,
                   proto_names *names, const uint8_t *buf, size_t len, const proto_snapshot **shared,
                   const proto_names **shared_names);
/* cl_client.body_release: a client lets go of a shared result. */
void memo_body_release(void *user, const proto_snapshot *shared);
memo_stats memo_get_stats(const memo *m);

#endif
