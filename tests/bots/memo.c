/* memo: see memo.h. */
#include "memo.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct memo_entry memo_entry;
struct memo_entry {
    proto_snapshot out; /* what the clients hold (memo_body_release finds the entry from it) */
    proto_names names;  /* every present entity's name */
    uint32_t refs;      /* ring slots holding out */
    uint8_t in_table;   /* still found by memo_body_read */
    uint16_t match;
    uint64_t server;    /* cl_client.body_key */
    uint32_t tick, base_tick;
    uint32_t len;
    uint64_t hash;
    memo_entry *next;   /* the free list: refs 0 and out of the table */
    memo_entry *all;    /* every entry made, for memo_destroy */
    uint8_t body[PROTO_MAX_SNAPSHOT_BODY];
};

struct memo {
    memo_entry *slot[MEMO_SLOTS];
    memo_entry *free_list;
    memo_entry *all;
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
    if (!m)
        return;
    for (memo_entry *e = m->all, *next; e; e = next) {
        next = e->all;
        free(e);
    }
    free(m);
}

memo_stats memo_get_stats(const memo *m)
{
    return m->st;
}

/* FNV-1a over 8-byte words (a byte at a time cost as much as the rest of
 * a spectator's snapshot); a hit compares the bytes in full anyway. */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 1099511628211ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void entry_put(memo *m, memo_entry *e)
{
    e->next = m->free_list;
    m->free_list = e;
}

void memo_body_release(void *user, const proto_snapshot *shared)
{
    memo *m = user;
    memo_entry *e = (memo_entry *)(void *)((char *)(uintptr_t)shared - offsetof(memo_entry, out));
    if (e->refs && --e->refs == 0 && !e->in_table)
        entry_put(m, e);
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
                   proto_names *names, const uint8_t *buf, size_t len, const proto_snapshot **shared,
                   const proto_names **shared_names)
{
    memo *m = user;
    uint16_t rate = c->welcome.tick_rate;
    if (len > PROTO_MAX_SNAPSHOT_BODY)
        return proto_snapshot_body_read(base, out, names, rate, buf, len);
    uint64_t h = hash_bytes(buf, len);
    uint32_t base_tick = base ? base->tick : 0;
    memo_entry **sl = &m->slot[(h ^ out->tick ^ c->body_key) % MEMO_SLOTS];
    memo_entry *e = *sl;
    if (e && e->hash == h && e->len == len && e->tick == out->tick && e->base_tick == base_tick &&
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
        e->refs++;
        *shared = &e->out;
        *shared_names = &e->names;
        return 0;
    }
    m->st.decodes++;
    int err = proto_snapshot_body_read(base, out, names, rate, buf, len);
    if (err)
        return err;
    memo_entry *n = m->free_list;
    if (n) {
        m->free_list = n->next;
    } else if ((n = malloc(sizeof *n)) != NULL) {
        n->all = m->all;
        m->all = n;
        m->st.entries++;
    } else {
        return 0; /* out of memory: this client keeps its own decode */
    }
    n->refs = 1;
    n->in_table = 1;
    n->match = c->welcome.match_id;
    n->server = c->body_key;
    n->tick = out->tick;
    n->base_tick = base_tick;
    n->len = (uint32_t)len;
    n->hash = h;
    memcpy(n->body, buf, len);
    n->out = *out;
    /* Every present entity's name: those the body adds from the decode,
     * the rest from this client (a client whose generations differ takes
     * more of them; it gets real names). */
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++)
        if (out->present[id])
            memcpy(n->names.name[id], !base || out->gen[id] != base->gen[id] ? names->name[id] : c->names.name[id],
                   sizeof n->names.name[id]);
    if (e) {
        e->in_table = 0; /* the ring slots holding it keep it */
        if (!e->refs)
            entry_put(m, e);
    }
    *sl = n;
    *shared = &n->out;
    *shared_names = &n->names;
    return 0;
}
