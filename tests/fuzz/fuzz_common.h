/* fuzz_common: what the libFuzzer targets in tests/fuzz share: the framing
 * that splits one fuzz input into several messages (also used by
 * gen_corpus.c, so the seed corpus and the targets agree), a check macro
 * that aborts whatever NDEBUG says, the close codes a server may send, the
 * reading of a snapshot's events section and the snapshot-body round-trip
 * check.
 *
 * Framing, per target:
 *   fuzz_client_msg  cfg:u8, then records: h:u8; op = h >> 6, n = h & 63.
 *                    op 0..2: a message of n bytes from session op; n = 63
 *                    means 63 + the next u16 LE & 1023 (up to 1086 bytes,
 *                    past the 256 a JOIN and the 512 any later message
 *                    may have);
 *                    op 3: run 1 + (n & 7) ticks, sessions in the mask
 *                    (n >> 3) & 7 do not read the snapshots of those ticks.
 *                    cfg bit 7: a dropped player is held FZ_CLI_GRACE_TICKS
 *                    ticks for a resume (else it leaves at once).
 *   fuzz_server_msg  flags:u8 (client options), then records: v:u16 LE;
 *                    a message of v & 0x1fff bytes, then the actions in
 *                    v >> 13 (FZ_SRV_*). An empty record with FZ_SRV_VIEW
 *                    is a dropped connection: cl_disconnected first.
 *   fuzz_token       mode:u8 (FZ_TOK_*), then the token text, or with
 *                    FZ_TOK_RAW the token bytes without the MAC, which the
 *                    target signs itself.
 * A record that runs past the end is cut to what is left.
 *
 * Header-only, everything static: each target is one translation unit
 * compiled together with the shared/ sources it tests. */
#ifndef TW_FUZZ_COMMON_H
#define TW_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* A broken promise of the code under test: report and abort, so libFuzzer
 * saves the input as a crash. */
#define FZ_CHECK(cond)                                                                 \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Every close code the server may send (docs/PROTOCOL.md section 11). */
static inline int fz_close_documented(int code)
{
    return code == 1001 || code == 1002 || code == 1003 || code == 1007 || code == 1009 || code == 1011 ||
           (code >= PROTO_CLOSE_TOKEN_REFUSED && code <= PROTO_CLOSE_NO_SUCH_MATCH);
}

/* ---- fuzz_client_msg framing ---------------------------------------------- */
#define FZ_CLI_SESSIONS 3
#define FZ_CLI_MAX_MSG (63 + 1023)
#define FZ_CLI_OP_TICK 3
#define FZ_CLI_CFG_GRACE 0x80
#define FZ_CLI_GRACE_TICKS 6

/* The header of a message record: 1 byte, or 3 from 63 bytes on. Returns
 * the header size; len must be <= FZ_CLI_MAX_MSG. */
static inline size_t fz_cli_msg_header(uint8_t out[3], int session, size_t len)
{
    if (len < 63) {
        out[0] = (uint8_t)((session << 6) | (int)len);
        return 1;
    }
    out[0] = (uint8_t)((session << 6) | 63);
    out[1] = (uint8_t)(len - 63);
    out[2] = (uint8_t)((len - 63) >> 8);
    return 3;
}

/* The resume token the target gives the k-th new player of a run (a real
 * server draws it at random; a fixed one lets seeds and the fuzzer use
 * it). */
static inline void fz_cli_resume_token(uint32_t k, uint8_t out[PROTO_RESUME_LEN])
{
    for (int i = 0; i < PROTO_RESUME_LEN; i++)
        out[i] = (uint8_t)(0x52 + k * 29 + (uint32_t)i * 11);
}

static inline uint8_t fz_cli_tick_header(int ticks, int skip_mask)
{
    return (uint8_t)((FZ_CLI_OP_TICK << 6) | ((skip_mask & 7) << 3) | ((ticks - 1) & 7));
}

/* ---- fuzz_server_msg framing ---------------------------------------------- */
#define FZ_SRV_MAX_MSG 0x1fff
enum {
    FZ_SRV_PUSH_INPUT = 1, /* cl_push_input before the message, 1..4 times */
    FZ_SRV_VIEW = 2,       /* cl_view after it */
    FZ_SRV_WRITE_INPUT = 4 /* cl_write_input after it */
};

static inline void fz_srv_record_header(uint8_t out[2], size_t len, int actions)
{
    uint16_t v = (uint16_t)((len & FZ_SRV_MAX_MSG) | ((unsigned)actions << 13));
    out[0] = (uint8_t)(v & 0xff);
    out[1] = (uint8_t)(v >> 8);
}

/* FZ_SRV_PUSH_INPUT pushes 1..4 inputs (so more than one INPUT's worth can
 * wait); input k of a record: */
static inline int fz_srv_push_count(size_t len)
{
    return 1 + (int)(len % 4);
}

static inline void fz_srv_input_for(const uint8_t *msg, size_t len, int k, uint8_t *buttons, uint16_t *aim)
{
    *buttons = len ? msg[0] : 0;
    *aim = (uint16_t)(len * 977u + (unsigned)k * 4099u);
}

/* ---- fuzz_token ------------------------------------------------------------- */
enum {
    FZ_TOK_RAW = 1,        /* the rest is token bytes without the MAC: signed here */
    FZ_TOK_NOW_SHIFT = 1,  /* bits 1-2: which `now` (fz_tok_now) */
    FZ_TOK_WRONG_KEY = 8,  /* verify with a secret one bit off */
};
/* The secret of the docs/PROTOCOL.md example, so its token is a seed. */
#define FZ_TOK_SECRET "tickwire-example-secret"

static inline uint64_t fz_tok_now(uint8_t mode)
{
    static const uint64_t nows[4] = {0, 1767225599, 1767225600, UINT64_MAX};
    return nows[(mode >> FZ_TOK_NOW_SHIFT) & 3];
}

/* ---- snapshot checks --------------------------------------------------- */

static inline uint32_t fz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a snapshot's events section (the bytes after the 10-byte header)
 * with proto_event_read, as docs/PROTOCOL.md 5.4 says: count, first_seq
 * when count > 0 (1 or more, the last seq within 2^32 - 1), the events.
 * Returns PROTO_OK with the count, the first seq (0 when none) and the
 * section's size, or the first error. Checks on the way that every event
 * that reads writes back to the same bytes (the codec is canonical) and is
 * truncated one byte short. */
static inline int fz_events_section(const uint8_t *buf, size_t len, uint32_t *count, uint32_t *first,
                                    size_t *used)
{
    if (len < 1)
        return PROTO_ERR_TRUNCATED;
    *count = buf[0];
    *first = 0;
    if (*count == 0) {
        *used = 1;
        return PROTO_OK;
    }
    if (len < 5)
        return PROTO_ERR_TRUNCATED;
    *first = fz_le32(buf + 1);
    if (*first == 0 || *first > UINT32_MAX - *count)
        return PROTO_ERR_VALUE;
    size_t off = 5;
    for (uint32_t i = 0; i < *count; i++) {
        static proto_event ev, tmp;
        static uint8_t again[PROTO_MAX_EVENT];
        size_t n, u;
        ev.seq = *first + i;
        int err = proto_event_read(buf + off, len - off, &ev, &n);
        if (err)
            return err;
        FZ_CHECK(ev.seq == *first + i && n >= 4 && n <= PROTO_MAX_EVENT && n <= len - off);
        FZ_CHECK(proto_event_write(&ev, again, sizeof again) == n && memcmp(again, buf + off, n) == 0);
        FZ_CHECK(proto_event_read(buf + off, n - 1, &tmp, &u) == PROTO_ERR_TRUNCATED);
        off += n;
    }
    *used = off;
    return PROTO_OK;
}

static inline int fz_same_match_state(const proto_match_state *a, const proto_match_state *b)
{
    return a->phase == b->phase && a->min_players == b->min_players && a->round == b->round &&
           a->score_limit == b->score_limit && a->end_tick == b->end_tick;
}

/* Same entities and names (gen is each side's own counter: not compared). */
static inline void fz_check_same_entities(const proto_snapshot *a, const proto_names *an,
                                          const proto_snapshot *b, const proto_names *bn)
{
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        FZ_CHECK(a->present[id] == b->present[id]);
        if (!a->present[id])
            continue;
        const sim_netent *x = &a->ent[id], *y = &b->ent[id];
        FZ_CHECK(x->x == y->x && x->y == y->y && x->vx == y->vx && x->vy == y->vy &&
                 x->aim == y->aim && x->flags == y->flags);
        FZ_CHECK(x->health == y->health && x->health <= SIM_MAX_HEALTH && x->life == y->life);
        FZ_CHECK(x->kills == y->kills && x->deaths == y->deaths && x->score == y->score && x->hits == y->hits);
        FZ_CHECK(strcmp(an->name[id], bn->name[id]) == 0);
    }
}

/* `got` decoded OK from some body against `base` (NULL: full). Re-encoding
 * it against the same baseline must succeed, decode to the same state
 * (match state and gen included: ADD versus CHANGE must survive), and be
 * canonical: encoding the re-decoded state gives the same bytes again. */
static inline void fz_check_body_round_trip(const proto_snapshot *base, const proto_snapshot *got,
                                            const proto_names *names, uint16_t tick_rate)
{
    static uint8_t buf[PROTO_MAX_SNAPSHOT_BODY], buf2[PROTO_MAX_SNAPSHOT_BODY];
    static proto_snapshot again;
    static proto_names names2;
    size_t n = proto_snapshot_body_write(base, got, names, tick_rate, buf, sizeof buf);
    FZ_CHECK(n > 0);
    names2 = *names;
    again.tick = got->tick;
    FZ_CHECK(proto_snapshot_body_read(base, &again, &names2, tick_rate, buf, n) == PROTO_OK);
    fz_check_same_entities(got, names, &again, &names2);
    FZ_CHECK(fz_same_match_state(&got->ms, &again.ms) && got->ms.phase <= PROTO_PHASE_ENDED);
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        FZ_CHECK(!got->present[id] || got->gen[id] == again.gen[id]);
    size_t n2 = proto_snapshot_body_write(base, &again, &names2, tick_rate, buf2, sizeof buf2);
    FZ_CHECK(n2 == n && memcmp(buf, buf2, n) == 0);
}

#endif
