/* memo: see memo.h. */
#include "memo.h"

#include <stdlib.h>
#include <string.h>

typedef struct memo_entry {
    uint8_t used;
    uint16_t match;
    uint64_t server;  /* cl_client.body_key */
    uint32_t tick, base_tick;
    uint32_t len;
    uint64_t hash;
    uint8_t body[PROTO_MAX_SNAPSHOT_BODY];
    proto_snapshot out;
    proto_names names;
} memo_entry;

struct memo {
    memo_entry slot[MEMO_SLOTS];
    proto_snapshot check_out; /* scratch for the checks */
    proto_names check_names;
    memo_stats st;
};

memo *memo_create(void)
{
    return calloc(1, sizeof(memo));
}

void memo_destroy(memo *m)
{
    free(m);
}

memo_stats memo_get_stats(const memo *m)
{
    return m->st;
}

/* FNV-1a, 64 bits. */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* What a decode of e's body gives: the memo's snapshot, and the names of
 * its present entities (the client takes those it adds). The base is not
 * read: it is the memo's own base (same server, match, ticks and bytes),
 * which every periodic check confirms. Slots of players who left hold
 * the memo's stale values, which nothing reads (a delta adds them anew). */
static void apply(const memo_entry *e, proto_snapshot *out, proto_names *names)
{
    *out = e->out;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        if (e->out.present[id])
            memcpy(names->name[id], e->names.name[id], sizeof names->name[id]);
}

/* The same snapshot, as far as anyone can see: match state, who is
 * present, each present entity's generation and state, and the names of
 * those the body adds (a new generation on `base`). */
static int same(const proto_snapshot *base, const proto_snapshot *a, const proto_names *an, const proto_snapshot *b,
                const proto_names *bn)
{
    const proto_match_state *x = &a->ms, *y = &b->ms;
    if (x->phase != y->phase || x->min_players != y->min_players || x->round != y->round ||
        x->score_limit != y->score_limit || x->end_tick != y->end_tick ||
        memcmp(a->present, b->present, sizeof a->present) != 0)
        return 0;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        if (!a->present[id])
            continue;
        if (a->gen[id] != b->gen[id] || memcmp(&a->ent[id], &b->ent[id], sizeof a->ent[id]) != 0)
            return 0;
        if ((!base || a->gen[id] != base->gen[id]) && strcmp(an->name[id], bn->name[id]) != 0)
            return 0;
    }
    return 1;
}

int memo_body_read(void *user, const cl_client *c, const proto_snapshot *base, proto_snapshot *out,
                   proto_names *names, const uint8_t *buf, size_t len)
{
    memo *m = user;
    uint16_t rate = c->welcome.tick_rate;
    if (len > PROTO_MAX_SNAPSHOT_BODY)
        return proto_snapshot_body_read(base, out, names, rate, buf, len);
    uint64_t h = hash_bytes(buf, len);
    uint32_t base_tick = base ? base->tick : 0;
    memo_entry *e = &m->slot[(h ^ out->tick ^ c->body_key) % MEMO_SLOTS];
    if (e->used && e->hash == h && e->len == len && e->tick == out->tick && e->base_tick == base_tick &&
        e->match == c->welcome.match_id && e->server == c->body_key && memcmp(e->body, buf, len) == 0) {
        if (++m->st.hits % MEMO_CHECK_EVERY == 0) {
            m->st.checked++;
            m->st.decodes++;
            m->check_out.tick = out->tick;
            int err = proto_snapshot_body_read(base, &m->check_out, &m->check_names, rate, buf, len);
            if (err || !same(base, &m->check_out, &m->check_names, &e->out, &e->names)) {
                m->st.mismatches++;
                *out = m->check_out;
                *names = m->check_names;
                return err;
            }
        }
        apply(e, out, names);
        return 0;
    }
    m->st.decodes++;
    int err = proto_snapshot_body_read(base, out, names, rate, buf, len);
    if (err)
        return err;
    e->used = 1;
    e->match = c->welcome.match_id;
    e->server = c->body_key;
    e->tick = out->tick;
    e->base_tick = base_tick;
    e->len = (uint32_t)len;
    e->hash = h;
    memcpy(e->body, buf, len);
    e->out = *out;
    /* Every present entity's name: those the body adds from the decode,
     * the rest from this client (a client whose generations differ takes
     * more of them; it gets real names). */
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        if (out->present[id])
            memcpy(e->names.name[id], !base || out->gen[id] != base->gen[id] ? names->name[id] : c->names.name[id],
                   sizeof e->names.name[id]);
    return 0;
}
