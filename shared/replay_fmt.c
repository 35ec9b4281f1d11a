/* replay_fmt: see replay_fmt.h; the bytes are docs/REPLAY.md. Writers put
 * little-endian integers, LEB128 varints and IEEE float bits into a
 * bounded buffer with a sticky overflow flag; readers take them from a
 * bounded one with a sticky error flag, so a short or corrupt file is an
 * answer (REPLAY_BAD), never a read past the end. */
#include "replay_fmt.h"

#include <string.h>

/* ---- bytes out ----------------------------------------------------------------------- */

typedef struct wb {
    uint8_t *p;
    size_t n, cap;
    int over;
} wb;

static void put(wb *b, const void *src, size_t n)
{
    if (b->over || n > b->cap - b->n) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u8(wb *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_le(wb *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)bytes);
}

static void put_var(wb *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    put(b, t, n);
}

static void put_zig(wb *b, int64_t v)
{
    put_var(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Text without stdio (the wasm build has none). */
static size_t text_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

/* dst (cap bytes) = src, cut to fit, NUL-terminated. */
static void text_copy(char *dst, size_t cap, const char *src)
{
    size_t n = text_len(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Appends src to dst (cap bytes), cut to fit. */
__attribute__((noinline)) static void text_add(char *dst, size_t cap, const char *src)
{
    size_t n = text_len(dst, cap - 1);
    text_copy(dst + n, cap - n, src);
}

static void text_add_u64(char *dst, size_t cap, uint64_t v)
{
    char t[21];
    int i = 20;
    t[i] = '\0';
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    text_add(dst, cap, t + i);
}

static void put_name(wb *b, const char *name)
{
    size_t n = text_len(name, REPLAY_NAME_MAX);
    put_u8(b, (uint8_t)n);
    put(b, name, n);
}

/* ---- bytes in ------------------------------------------------------------------------ */

/* The byte readers below are kept out of line (noinline): inlined into
 * every record reader they made the browser's wasm module, which carries
 * this reader, 6 KB bigger, for no measurable speed. */
typedef struct rb {
    const uint8_t *p;
    size_t n, pos;
    int bad;
} rb;

__attribute__((noinline)) static int take(rb *b, void *dst, size_t n)
{
    if (b->bad || n > b->n - b->pos) {
        b->bad = 1;
        memset(dst, 0, n);
        return -1;
    }
    memcpy(dst, b->p + b->pos, n);
    b->pos += n;
    return 0;
}

static uint8_t get_u8(rb *b)
{
    uint8_t v;
    take(b, &v, 1);
    return v;
}

__attribute__((noinline)) static uint64_t get_le(rb *b, int bytes)
{
    uint8_t t[8];
    take(b, t, (size_t)bytes);
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)t[i] << (8 * i);
    return v;
}

__attribute__((noinline)) static uint64_t get_var(rb *b)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t c = get_u8(b);
        if (b->bad)
            return 0;
        if (shift == 63 && c > 1) {
            b->bad = 1;
            return 0;
        }
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    b->bad = 1;
    return 0;
}

/* A varint that must fit `max`. */
static uint64_t get_var_max(rb *b, uint64_t max)
{
    uint64_t v = get_var(b);
    if (v > max)
        b->bad = 1;
    return b->bad ? 0 : v;
}

static int64_t get_zig(rb *b)
{
    uint64_t u = get_var(b);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

__attribute__((noinline)) static void get_name(rb *b, char out[REPLAY_NAME_MAX + 1])
{
    uint8_t n = get_u8(b);
    if (n > REPLAY_NAME_MAX)
        b->bad = 1;
    if (b->bad) {
        out[0] = '\0';
        return;
    }
    take(b, out, n);
    out[b->bad ? 0 : n] = '\0';
}

/* ---- fields and hashes ------------------------------------------------------------------ */

const char *const replay_field_names[REPLAY_NFIELDS] = {
    "pos.x",  "pos.y",       "vel.x",       "vel.y",       "aim",         "turn",   "move",
    "flags",  "fire_cd",     "health",      "life",        "respawn",     "died_tick", "ghost_pos.x",
    "ghost_pos.y", "ghost_vel.x", "ghost_vel.y", "kills", "deaths", "score", "hits",
};

/* 1: IEEE float bits (4 bytes in a keyframe); else the largest value (a varint). */
static const uint32_t field_max[REPLAY_NFIELDS] = {
    1, 1, 1, 1, 0xffff, 0xffff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xffff, 0xffffffffu, 1, 1, 1, 1,
    0xffff, 0xffff, 0xffff, 0xffff,
};

void replay_player_fields(const sim_player *p, uint32_t f[REPLAY_NFIELDS])
{
    f[0] = fbits(p->pos[0]), f[1] = fbits(p->pos[1]);
    f[2] = fbits(p->vel[0]), f[3] = fbits(p->vel[1]);
    f[4] = p->aim, f[5] = (uint16_t)p->turn, f[6] = p->move, f[7] = p->flags;
    f[8] = p->fire_cd, f[9] = p->health, f[10] = p->life, f[11] = p->respawn, f[12] = p->died_tick;
    f[13] = fbits(p->ghost_pos[0]), f[14] = fbits(p->ghost_pos[1]);
    f[15] = fbits(p->ghost_vel[0]), f[16] = fbits(p->ghost_vel[1]);
    f[17] = p->kills, f[18] = p->deaths, f[19] = p->score, f[20] = p->hits;
}

static void player_set_fields(sim_player *p, const uint32_t f[REPLAY_NFIELDS])
{
    memset(p, 0, sizeof *p);
    p->pos[0] = bitsf(f[0]), p->pos[1] = bitsf(f[1]);
    p->vel[0] = bitsf(f[2]), p->vel[1] = bitsf(f[3]);
    p->aim = (uint16_t)f[4], p->turn = (int16_t)(uint16_t)f[5], p->move = (uint8_t)f[6];
    p->flags = (uint8_t)f[7], p->fire_cd = (uint8_t)f[8], p->health = (uint8_t)f[9];
    p->life = (uint8_t)f[10], p->respawn = (uint16_t)f[11], p->died_tick = f[12];
    p->ghost_pos[0] = bitsf(f[13]), p->ghost_pos[1] = bitsf(f[14]);
    p->ghost_vel[0] = bitsf(f[15]), p->ghost_vel[1] = bitsf(f[16]);
    p->kills = (uint16_t)f[17], p->deaths = (uint16_t)f[18], p->score = (uint16_t)f[19];
    p->hits = (uint16_t)f[20];
}

/* murmur3's finaliser: every input bit moves every output bit. */
static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

/* One multiply and a shift per value (the hashes run every few ticks for
 * every player: cheap matters); mix32 once at the end. */
static uint32_t step32(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x9e3779b1u;
    return h ^ h >> 15;
}

static uint32_t player_hash(int id, const uint32_t f[REPLAY_NFIELDS])
{
    uint32_t h = 0x9e3779b9u ^ (uint32_t)id;
    for (int i = 0; i < REPLAY_NFIELDS; i++)
        h = step32(h, f[i]);
    return mix32(h);
}

/* The top byte of a multiply: every bit of v moves it. */
static uint8_t field_check(int i, uint32_t v)
{
    return (uint8_t)(((v ^ (uint32_t)(i + 1) * 0x9e3779b9u) * 0x85ebca6bu) >> 24);
}

/* The history a step can read from state `w` (a rewind reaches at most
 * unlag_ticks back): ticks [tick - unlag_ticks, tick), those recorded. */
static uint32_t history_first(const sim_world *w)
{
    return w->tick > w->unlag_ticks ? w->tick - w->unlag_ticks : 0;
}

/* The history entries made since the previous hash record (the last
 * `every` ticks, within what a rewind can reach): each entry is hashed
 * once, so the cost does not grow with unlag_ticks. */
static uint32_t history_hash(const sim_world *w, uint32_t every)
{
    uint32_t first = history_first(w), h = 0x6a09e667u;
    if (w->tick > every && w->tick - every > first)
        first = w->tick - every;
    for (uint32_t t = first; t < w->tick; t++) {
        const sim_history_tick *e = &w->history[t % SIM_HISTORY];
        if (e->stamp != t + 1)
            continue;
        h = step32(h, e->stamp);
        for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
            if (!e->alive[id])
                continue;
            h = step32(h, (uint32_t)id << 8 | e->alive[id]);
            h = step32(h, fbits(e->pos[id][0]));
            h = step32(h, fbits(e->pos[id][1]));
        }
    }
    return mix32(h);
}

/* ---- checksum --------------------------------------------------------------------------- */

uint32_t replay_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    static const uint32_t nibble[16] = {0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
                                        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
                                        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 15];
        crc = (crc >> 4) ^ nibble[crc & 15];
    }
    return ~crc;
}

/* ---- writer ---------------------------------------------------------------------------- */

/* A record: type, payload length (varint), payload. The payload is built
 * 4 bytes in (room for the length of any record), then moved back. */
static wb rec_open(uint8_t *buf, size_t cap)
{
    wb b = {buf, 0, cap, cap < 5};
    if (!b.over)
        b.n = 5;
    return b;
}

static size_t rec_close(replay_writer *w, wb *b, uint8_t type)
{
    if (b->over)
        return 0;
    size_t plen = b->n - 5;
    uint8_t hdr[6];
    wb h = {hdr, 0, sizeof hdr, 0};
    put_u8(&h, type);
    put_var(&h, plen);
    memmove(b->p + h.n, b->p + 5, plen);
    memcpy(b->p, hdr, h.n);
    w->offset += h.n + plen;
    w->crc = replay_crc32(w->crc, b->p, h.n + plen);
    return h.n + plen;
}

static void pred_reset_all(replay_pred *pred)
{
    memset(pred, 0, sizeof(replay_pred) * SIM_MAX_PLAYERS);
}

size_t replay_write_begin(replay_writer *w, const replay_header *h, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->h = *h;
    w->h.format_version = REPLAY_FORMAT_VERSION;
    w->h.sim_version = SIM_VERSION;
    if (!w->h.hash_interval)
        w->h.hash_interval = 1;
    if (!w->h.keyframe_interval)
        w->h.keyframe_interval = 1;
    h = &w->h;
    wb b = {buf, 0, cap, 0};
    put(&b, REPLAY_MAGIC, 4);
    put_le(&b, REPLAY_FORMAT_VERSION, 2);
    size_t len_at = b.n;
    put_le(&b, 0, 2); /* header length, below */
    put_le(&b, h->sim_version, 2);
    put_le(&b, h->proto_version, 2);
    put_le(&b, h->tick_rate, 2);
    put_le(&b, h->hash_interval, 2);
    put_le(&b, h->keyframe_interval, 2);
    put_le(&b, h->seed, 8);
    put_le(&b, h->match_id, 2);
    put_le(&b, h->round, 4);
    put_le(&b, (uint64_t)h->start_ms, 8);
    size_t ll = text_len(h->label, REPLAY_LABEL_MAX);
    put_u8(&b, (uint8_t)ll);
    put(&b, h->label, ll);
    put_le(&b, h->map.width, 2);
    put_le(&b, h->map.height, 2);
    put_u8(&b, h->map.nwalls);
    for (int i = 0; i < h->map.nwalls && i < SIM_MAX_WALLS; i++) {
        const sim_wall *wl = &h->map.walls[i];
        put_le(&b, (uint16_t)wl->x0, 2);
        put_le(&b, (uint16_t)wl->y0, 2);
        put_le(&b, (uint16_t)wl->x1, 2);
        put_le(&b, (uint16_t)wl->y1, 2);
    }
    if (b.over)
        return 0;
    size_t hl = b.n - len_at - 2;
    buf[len_at] = (uint8_t)hl;
    buf[len_at + 1] = (uint8_t)(hl >> 8);
    w->offset = b.n;
    w->crc = replay_crc32(0, buf, b.n);
    return b.n;
}

size_t replay_write_keyframe(replay_writer *w, const sim_world *world, const char (*names)[REPLAY_NAME_MAX + 1],
                             uint8_t *buf, size_t cap)
{
    uint64_t at = w->offset;
    wb b = rec_open(buf, cap);
    put_le(&b, world->tick, 4);
    put_u8(&b, world->combat);
    put_var(&b, world->unlag_ticks);
    int n = 0;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++)
        n += world->active[id] != 0;
    put_var(&b, (uint64_t)n);
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!world->active[id])
            continue;
        uint32_t f[REPLAY_NFIELDS];
        replay_player_fields(&world->players[id], f);
        put_u8(&b, (uint8_t)id);
        put_name(&b, names[id]);
        for (int i = 0; i < REPLAY_NFIELDS; i++) {
            if (field_max[i] == 1)
                put_le(&b, f[i], 4);
            else
                put_var(&b, f[i]);
        }
    }
    uint32_t first = history_first(world), nh = 0;
    for (uint32_t t = first; t < world->tick; t++)
        nh += world->history[t % SIM_HISTORY].stamp == t + 1;
    put_var(&b, nh);
    for (uint32_t t = first; t < world->tick; t++) {
        const sim_history_tick *e = &world->history[t % SIM_HISTORY];
        if (e->stamp != t + 1)
            continue;
        int na = 0;
        for (int id = 0; id < SIM_MAX_PLAYERS; id++)
            na += e->alive[id] != 0;
        put_le(&b, t, 4);
        put_var(&b, (uint64_t)na);
        for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
            if (!e->alive[id])
                continue;
            put_u8(&b, (uint8_t)id);
            put_u8(&b, e->alive[id]);
            put_le(&b, fbits(e->pos[id][0]), 4);
            put_le(&b, fbits(e->pos[id][1]), 4);
        }
    }
    size_t len = rec_close(w, &b, REPLAY_REC_KEYFRAME);
    if (!len)
        return 0;
    if (w->nindex == 0 && w->ticks == 0)
        w->start_tick = world->tick;
    if (w->nindex < REPLAY_MAX_INDEX)
        w->index[w->nindex++] = (replay_index_entry){world->tick, at};
    pred_reset_all(w->pred);
    return len;
}

size_t replay_write_spawn(replay_writer *w, int id, uint32_t join_count, const char *name, uint8_t *buf, size_t cap)
{
    wb b = rec_open(buf, cap);
    put_u8(&b, (uint8_t)id);
    put_var(&b, join_count);
    put_name(&b, name);
    size_t len = rec_close(w, &b, REPLAY_REC_SPAWN);
    if (len)
        memset(&w->pred[id], 0, sizeof w->pred[id]);
    return len;
}

size_t replay_write_remove(replay_writer *w, int id, uint8_t *buf, size_t cap)
{
    wb b = rec_open(buf, cap);
    put_u8(&b, (uint8_t)id);
    return rec_close(w, &b, REPLAY_REC_REMOVE);
}

size_t replay_write_reset_round(replay_writer *w, uint8_t *buf, size_t cap)
{
    wb b = rec_open(buf, cap);
    return rec_close(w, &b, REPLAY_REC_RESET_ROUND);
}

size_t replay_write_combat(replay_writer *w, int on, uint8_t *buf, size_t cap)
{
    wb b = rec_open(buf, cap);
    put_u8(&b, (uint8_t)(on != 0));
    return rec_close(w, &b, REPLAY_REC_COMBAT);
}

/* Input field bits of a mask: which differ from the prediction. */
enum { M_BUTTONS = 1, M_AIM = 2, M_VIEW = 4, M_KNOWN = 8 };

static uint64_t view_of(const sim_input *in)
{
    return (uint64_t)in->view_tick << 8 | in->view_frac;
}

static void pred_update(replay_pred *p, const sim_input *in)
{
    uint64_t view = view_of(in);
    p->buttons = in->buttons;
    p->aim_d = (uint16_t)(in->aim - p->aim);
    p->aim = in->aim;
    p->view_d = view - p->view;
    p->view = view;
    p->known_d = in->known_tick - p->known;
    p->known = in->known_tick;
}

static void put_input(wb *b, replay_pred *p, const sim_input *in, int first, int count)
{
    uint16_t aim_r = (uint16_t)(in->aim - (uint16_t)(p->aim + p->aim_d));
    uint64_t view_r = view_of(in) - (p->view + p->view_d);
    uint32_t known_r = in->known_tick - (p->known + p->known_d);
    uint8_t mask = (uint8_t)((in->buttons != p->buttons ? M_BUTTONS : 0) | (aim_r ? M_AIM : 0) |
                             (view_r ? M_VIEW : 0) | (known_r ? M_KNOWN : 0));
    put_u8(b, first ? (uint8_t)(count | mask << 4) : mask);
    if (mask & M_BUTTONS)
        put_u8(b, in->buttons);
    if (mask & M_AIM)
        put_zig(b, (int16_t)aim_r);
    if (mask & M_VIEW)
        put_zig(b, (int64_t)view_r);
    if (mask & M_KNOWN)
        put_zig(b, (int32_t)known_r);
    pred_update(p, in);
}

size_t replay_write_tick(replay_writer *w, const sim_world *world, const sim_tick_inputs *in, uint8_t *buf,
                         size_t cap)
{
    wb b = rec_open(buf, cap);
    replay_pred saved[SIM_MAX_PLAYERS];
    memcpy(saved, w->pred, sizeof saved);
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!world->active[id])
            continue;
        int n = in->count[id] < SIM_MAX_STEPS_PER_TICK ? in->count[id] : SIM_MAX_STEPS_PER_TICK;
        if (n == 0)
            put_u8(&b, 0);
        for (int k = 0; k < n; k++)
            put_input(&b, &w->pred[id], &in->in[id][k], k == 0, n);
    }
    size_t len = rec_close(w, &b, REPLAY_REC_TICK);
    if (!len)
        memcpy(w->pred, saved, sizeof saved); /* nothing written: nothing predicted */
    else
        w->ticks++;
    return len;
}

static size_t write_hash(replay_writer *w, const sim_world *world, uint8_t *buf, size_t cap)
{
    wb b = rec_open(buf, cap);
    put_le(&b, world->tick, 4);
    put_u8(&b, world->combat);
    put_le(&b, history_hash(world, w->h.hash_interval), 4);
    int n = 0;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++)
        n += world->active[id] != 0;
    put_var(&b, (uint64_t)n);
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!world->active[id])
            continue;
        uint32_t f[REPLAY_NFIELDS];
        replay_player_fields(&world->players[id], f);
        put_u8(&b, (uint8_t)id);
        put_le(&b, player_hash(id, f), 4);
        for (int i = 0; i < REPLAY_NFIELDS; i++)
            put_u8(&b, field_check(i, f[i]));
    }
    return rec_close(w, &b, REPLAY_REC_HASH);
}

size_t replay_write_after_step(replay_writer *w, const sim_world *world, const char (*names)[REPLAY_NAME_MAX + 1],
                               uint8_t *buf, size_t cap)
{
    uint32_t rel = world->tick - w->start_tick;
    size_t n = 0;
    if (rel % w->h.hash_interval == 0) {
        size_t k = write_hash(w, world, buf, cap);
        if (!k)
            return 0;
        n += k;
    }
    if (rel % w->h.keyframe_interval == 0) {
        size_t k = replay_write_keyframe(w, world, names, buf + n, cap - n);
        if (!k)
            return 0;
        n += k;
    }
    return n;
}

size_t replay_write_end(replay_writer *w, const sim_world *world, const char (*names)[REPLAY_NAME_MAX + 1],
                        int reason, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    uint32_t rel = world->tick - w->start_tick;
    if (rel % w->h.hash_interval != 0 || w->ticks == 0) {
        n = write_hash(w, world, buf, cap);
        if (!n)
            return 0;
    }
    uint64_t end_at = w->offset;
    wb b = rec_open(buf + n, cap - n);
    put_u8(&b, (uint8_t)reason);
    put_le(&b, world->tick, 4);
    int np = 0;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++)
        np += world->active[id] != 0;
    put_var(&b, (uint64_t)np);
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        if (!world->active[id])
            continue;
        const sim_player *p = &world->players[id];
        put_u8(&b, (uint8_t)id);
        put_name(&b, names[id]);
        put_var(&b, p->kills);
        put_var(&b, p->deaths);
        put_var(&b, p->score);
        put_var(&b, p->hits);
    }
    put_var(&b, w->nindex);
    uint32_t pt = 0;
    uint64_t po = 0;
    for (uint32_t i = 0; i < w->nindex; i++) {
        put_var(&b, w->index[i].tick - pt);
        put_var(&b, w->index[i].offset - po);
        pt = w->index[i].tick;
        po = w->index[i].offset;
    }
    size_t k = rec_close(w, &b, REPLAY_REC_END);
    if (!k)
        return 0;
    n += k;
    wb f = {buf + n, 0, cap - n, 0};
    put_le(&f, end_at, 8);
    put_le(&f, replay_crc32(w->crc, buf + n, 8), 4); /* every byte before this field but the footer's first 8 */
    put(&f, REPLAY_FOOTER_MAGIC, 4);
    if (f.over)
        return 0;
    w->offset += f.n;
    return n + f.n;
}

/* ---- reader ------------------------------------------------------------------------------- */

/* r->err = what + detail + " (at byte N)". */
static int bad_err(char err[REPLAY_ERR_MAX], const char *what, const char *detail, uint64_t at)
{
    err[0] = '\0';
    text_add(err, REPLAY_ERR_MAX, what);
    text_add(err, REPLAY_ERR_MAX, detail);
    text_add(err, REPLAY_ERR_MAX, " (at byte ");
    text_add_u64(err, REPLAY_ERR_MAX, at);
    text_add(err, REPLAY_ERR_MAX, ")");
    return REPLAY_BAD;
}

static int bad(replay_reader *r, const char *what, const char *detail, uint64_t at)
{
    return bad_err(r->err, what, detail, at);
}

/* r->err = a + N + b + M + c. */
static int bad_versions(char err[REPLAY_ERR_MAX], const char *a, unsigned n, const char *b, unsigned m,
                        const char *c)
{
    err[0] = '\0';
    text_add(err, REPLAY_ERR_MAX, a);
    text_add_u64(err, REPLAY_ERR_MAX, n);
    text_add(err, REPLAY_ERR_MAX, b);
    text_add_u64(err, REPLAY_ERR_MAX, m);
    text_add(err, REPLAY_ERR_MAX, c);
    return REPLAY_BAD;
}

static int header_parse(replay_header *h, char err[REPLAY_ERR_MAX], rb *b)
{
    char magic[4];
    take(b, magic, 4);
    if (b->bad || memcmp(magic, REPLAY_MAGIC, 4) != 0)
        return bad_err(err, "not a tickwire replay: bad magic", "", 0);
    h->format_version = (uint16_t)get_le(b, 2);
    if (b->bad)
        return bad_err(err, "truncated: the header is cut short", "", b->pos);
    if (h->format_version != REPLAY_FORMAT_VERSION) {
        return bad_versions(err, "replay format version ", h->format_version, "; this build reads version ",
                            REPLAY_FORMAT_VERSION, "");
    }
    size_t hl = (size_t)get_le(b, 2);
    if (b->bad || hl > b->n - b->pos)
        return bad_err(err, "truncated: the header is cut short", "", b->pos);
    rb hb = {b->p + b->pos, hl, 0, 0};
    b->pos += hl;
    h->sim_version = (uint16_t)get_le(&hb, 2);
    h->proto_version = (uint16_t)get_le(&hb, 2);
    h->tick_rate = (uint16_t)get_le(&hb, 2);
    h->hash_interval = (uint16_t)get_le(&hb, 2);
    h->keyframe_interval = (uint16_t)get_le(&hb, 2);
    h->seed = get_le(&hb, 8);
    h->match_id = (uint16_t)get_le(&hb, 2);
    h->round = (uint32_t)get_le(&hb, 4);
    h->start_ms = (int64_t)get_le(&hb, 8);
    uint8_t ll = get_u8(&hb);
    if (ll > REPLAY_LABEL_MAX)
        hb.bad = 1;
    take(&hb, h->label, hb.bad ? 0 : ll);
    h->label[hb.bad ? 0 : ll] = '\0';
    h->map.width = (uint16_t)get_le(&hb, 2);
    h->map.height = (uint16_t)get_le(&hb, 2);
    h->map.nwalls = get_u8(&hb);
    if (h->map.nwalls > SIM_MAX_WALLS)
        hb.bad = 1;
    for (int i = 0; !hb.bad && i < h->map.nwalls; i++) {
        sim_wall *wl = &h->map.walls[i];
        wl->x0 = (int16_t)get_le(&hb, 2);
        wl->y0 = (int16_t)get_le(&hb, 2);
        wl->x1 = (int16_t)get_le(&hb, 2);
        wl->y1 = (int16_t)get_le(&hb, 2);
    }
    if (hb.bad || hb.pos != hb.n)
        return bad_err(err, "corrupt header", "", 8);
    if (h->sim_version != SIM_VERSION) {
        return bad_versions(err, "recorded by simulation version ", h->sim_version,
                            "; this build simulates version ", SIM_VERSION, " (it cannot replay it)");
    }
    if (h->tick_rate == 0 || h->tick_rate > 1000 || h->hash_interval == 0 || h->keyframe_interval == 0 ||
        h->map.width < 64 || h->map.height < 64)
        return bad_err(err, "corrupt header: tick rate, intervals or map size out of range", "", 8);
    return REPLAY_OK;
}

/* The footer, if the file is complete: where the end record is. */
static void footer_parse(replay_reader *r, size_t records_at)
{
    r->end = r->len;
    if (r->len < records_at + REPLAY_FOOTER_LEN || memcmp(r->data + r->len - 4, REPLAY_FOOTER_MAGIC, 4) != 0)
        return;
    rb f = {r->data + r->len - REPLAY_FOOTER_LEN, 8, 0, 0};
    uint64_t at = get_le(&f, 8);
    if (at < records_at || at >= r->len - REPLAY_FOOTER_LEN || r->data[at] != REPLAY_REC_END)
        return;
    r->end = r->len - REPLAY_FOOTER_LEN;
    r->end_offset = at;
    rb c = {r->data + r->len - 8, 4, 0, 0};
    r->crc_stored = (uint32_t)get_le(&c, 4);
    r->crc_computed = replay_crc32(0, r->data, r->len - 8);
}

int replay_open(replay_reader *r, const uint8_t *data, size_t len, sim_world *world, sim_tick_inputs *inputs)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
    r->world = world;
    r->inputs = inputs;
    rb b = {data, len, 0, 0};
    int rc = header_parse(&r->h, r->err, &b);
    if (rc != REPLAY_OK)
        return rc;
    r->pos = b.pos;
    footer_parse(r, b.pos);
    sim_world_init(world, &r->h.map, r->h.tick_rate, r->h.seed);
    memset(inputs, 0, sizeof *inputs);
    return REPLAY_OK;
}

static int diverged(replay_reader *r, int player, const char *field, uint32_t value)
{
    r->diff.tick = r->world->tick;
    r->diff.player = player;
    text_copy(r->diff.name, sizeof r->diff.name, player >= 0 ? r->names[player] : "");
    r->diff.field = field;
    r->diff.value = value;
    return REPLAY_DIVERGED;
}

static int keyframe_apply(replay_reader *r, rb *b, int load)
{
    sim_world *w = r->world;
    uint32_t tick = (uint32_t)get_le(b, 4);
    uint8_t combat = get_u8(b);
    uint16_t unlag = (uint16_t)get_var_max(b, SIM_HISTORY - 2);
    uint32_t n = (uint32_t)get_var_max(b, SIM_MAX_PLAYERS);
    if (b->bad)
        return REPLAY_BAD;
    if (load) {
        sim_world_init(w, &r->h.map, r->h.tick_rate, r->h.seed);
        w->tick = tick;
        w->combat = combat;
        w->unlag_ticks = unlag;
        memset(r->names, 0, sizeof r->names);
    } else {
        if (tick != w->tick)
            return diverged(r, -1, "tick", w->tick);
        if (combat != w->combat)
            return diverged(r, -1, "combat", w->combat);
        if (unlag != w->unlag_ticks)
            return diverged(r, -1, "unlag_ticks", w->unlag_ticks);
    }
    uint8_t seen[SIM_MAX_PLAYERS] = {0};
    int prev = -1;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t id = get_u8(b);
        if (id >= SIM_MAX_PLAYERS || (int)id <= prev)
            b->bad = 1;
        char name[REPLAY_NAME_MAX + 1];
        get_name(b, name);
        uint32_t f[REPLAY_NFIELDS];
        for (int i = 0; i < REPLAY_NFIELDS; i++)
            f[i] = field_max[i] == 1 ? (uint32_t)get_le(b, 4) : (uint32_t)get_var_max(b, field_max[i]);
        if (b->bad)
            return REPLAY_BAD;
        prev = id;
        seen[id] = 1;
        text_copy(r->names[id], sizeof r->names[id], name);
        if (load) {
            w->active[id] = 1;
            player_set_fields(&w->players[id], f);
            continue;
        }
        if (!w->active[id])
            return diverged(r, id, "active", 0);
        uint32_t mine[REPLAY_NFIELDS];
        replay_player_fields(&w->players[id], mine);
        for (int i = 0; i < REPLAY_NFIELDS; i++)
            if (mine[i] != f[i])
                return diverged(r, id, replay_field_names[i], mine[i]);
    }
    if (!load)
        for (int id = 0; id < SIM_MAX_PLAYERS; id++)
            if (w->active[id] && !seen[id])
                return diverged(r, id, "active", 1);
    uint32_t nh = (uint32_t)get_var_max(b, SIM_HISTORY);
    if (load)
        memset(w->history, 0, sizeof w->history);
    uint32_t first = tick > unlag ? tick - unlag : 0;
    int64_t prevt = -1;
    for (uint32_t k = 0; k < nh && !b->bad; k++) {
        uint32_t t = (uint32_t)get_le(b, 4);
        uint32_t na = (uint32_t)get_var_max(b, SIM_MAX_PLAYERS);
        if (t < first || t >= tick || (int64_t)t <= prevt)
            b->bad = 1;
        if (b->bad)
            break;
        prevt = t;
        sim_history_tick *e = &w->history[t % SIM_HISTORY];
        if (!load && e->stamp != t + 1)
            return diverged(r, -1, "history", t);
        int na_mine = 0;
        for (int id = 0; id < SIM_MAX_PLAYERS; id++)
            na_mine += e->alive[id] != 0;
        int pid = -1;
        for (uint32_t j = 0; j < na && !b->bad; j++) {
            uint8_t id = get_u8(b), alive = get_u8(b);
            uint32_t x = (uint32_t)get_le(b, 4), y = (uint32_t)get_le(b, 4);
            if (id >= SIM_MAX_PLAYERS || (int)id <= pid || alive == 0)
                b->bad = 1;
            if (b->bad)
                break;
            pid = id;
            if (load) {
                e->stamp = t + 1;
                e->alive[id] = alive;
                e->pos[id][0] = bitsf(x);
                e->pos[id][1] = bitsf(y);
            } else if (e->alive[id] != alive || fbits(e->pos[id][0]) != x || fbits(e->pos[id][1]) != y) {
                return diverged(r, id, "history", t);
            }
        }
        if (load)
            e->stamp = t + 1;
        else if (!b->bad && (uint32_t)na_mine != na)
            return diverged(r, -1, "history", t);
    }
    if (b->bad)
        return REPLAY_BAD;
    pred_reset_all(r->pred);
    r->started = 1;
    r->keyframes++;
    return REPLAY_OK;
}

static int tick_apply(replay_reader *r, rb *b)
{
    sim_world *w = r->world;
    sim_tick_inputs *in = r->inputs;
    for (int id = 0; id < SIM_MAX_PLAYERS; id++) {
        in->count[id] = 0;
        if (!w->active[id])
            continue;
        replay_pred *p = &r->pred[id];
        uint8_t head = get_u8(b);
        int n = head & 15;
        if (n > SIM_MAX_STEPS_PER_TICK || (n == 0 && head))
            b->bad = 1;
        for (int k = 0; k < n && !b->bad; k++) {
            uint8_t mask = k == 0 ? (uint8_t)(head >> 4) : get_u8(b);
            if (mask > 15)
                b->bad = 1;
            sim_input *x = &in->in[id][k];
            x->buttons = (mask & M_BUTTONS) ? get_u8(b) : p->buttons;
            uint16_t aim_r = (mask & M_AIM) ? (uint16_t)get_zig(b) : 0;
            uint64_t view_r = (mask & M_VIEW) ? (uint64_t)get_zig(b) : 0;
            uint32_t known_r = (mask & M_KNOWN) ? (uint32_t)get_zig(b) : 0;
            x->aim = (uint16_t)(p->aim + p->aim_d + aim_r);
            uint64_t view = p->view + p->view_d + view_r;
            if (view >> 40)
                b->bad = 1;
            x->view_tick = (uint32_t)(view >> 8);
            x->view_frac = (uint8_t)view;
            x->known_tick = p->known + p->known_d + known_r;
            pred_update(p, x);
        }
        if (b->bad)
            return REPLAY_BAD;
        in->count[id] = (uint8_t)n;
    }
    sim_world_step(w, in);
    r->ticks++;
    return REPLAY_OK;
}

static int hash_check(replay_reader *r, rb *b)
{
    const sim_world *w = r->world;
    uint32_t tick = (uint32_t)get_le(b, 4);
    uint8_t combat = get_u8(b);
    uint32_t hh = (uint32_t)get_le(b, 4);
    uint32_t n = (uint32_t)get_var_max(b, SIM_MAX_PLAYERS);
    if (b->bad)
        return REPLAY_BAD;
    if (tick != w->tick)
        return diverged(r, -1, "tick", w->tick);
    if (combat != w->combat)
        return diverged(r, -1, "combat", w->combat);
    uint8_t seen[SIM_MAX_PLAYERS] = {0};
    int prev = -1;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t id = get_u8(b);
        uint32_t ph = (uint32_t)get_le(b, 4);
        uint8_t checks[REPLAY_NFIELDS];
        take(b, checks, sizeof checks);
        if (b->bad || id >= SIM_MAX_PLAYERS || (int)id <= prev)
            return REPLAY_BAD;
        prev = id;
        seen[id] = 1;
        if (!w->active[id])
            return diverged(r, id, "active", 0);
        uint32_t f[REPLAY_NFIELDS];
        replay_player_fields(&w->players[id], f);
        if (player_hash(id, f) == ph)
            continue;
        for (int i = 0; i < REPLAY_NFIELDS; i++)
            if (field_check(i, f[i]) != checks[i])
                return diverged(r, id, replay_field_names[i], f[i]);
        return diverged(r, id, "state (hash; no single field check differs)", 0);
    }
    for (int id = 0; id < SIM_MAX_PLAYERS; id++)
        if (w->active[id] && !seen[id])
            return diverged(r, id, "active", 1);
    if (history_hash(w, r->h.hash_interval) != hh)
        return diverged(r, -1, "history", 0);
    r->hashes++;
    return REPLAY_OK;
}

static int end_apply(replay_reader *r, rb *b, int check)
{
    const sim_world *w = r->world;
    r->end_reason = get_u8(b);
    r->end_tick = (uint32_t)get_le(b, 4);
    uint32_t n = (uint32_t)get_var_max(b, SIM_MAX_PLAYERS);
    if (b->bad)
        return REPLAY_BAD;
    if (check && r->end_tick != w->tick)
        return diverged(r, -1, "tick", w->tick);
    r->nscores = 0;
    int prev = -1;
    for (uint32_t k = 0; k < n; k++) {
        replay_score *s = &r->scores[r->nscores];
        s->id = get_u8(b);
        get_name(b, s->name);
        s->kills = (uint16_t)get_var_max(b, 0xffff);
        s->deaths = (uint16_t)get_var_max(b, 0xffff);
        s->score = (uint16_t)get_var_max(b, 0xffff);
        s->hits = (uint16_t)get_var_max(b, 0xffff);
        if (b->bad || s->id >= SIM_MAX_PLAYERS || (int)s->id <= prev)
            return REPLAY_BAD;
        prev = s->id;
        r->nscores++;
        if (!check)
            continue;
        const sim_player *p = &w->players[s->id];
        if (!w->active[s->id])
            return diverged(r, s->id, "active", 0);
        const uint16_t mine[4] = {p->kills, p->deaths, p->score, p->hits};
        const uint16_t theirs[4] = {s->kills, s->deaths, s->score, s->hits};
        static const char *const names[4] = {"kills", "deaths", "score", "hits"};
        for (int i = 0; i < 4; i++)
            if (mine[i] != theirs[i])
                return diverged(r, s->id, names[i], mine[i]);
    }
    r->nindex = (uint32_t)get_var_max(b, REPLAY_MAX_INDEX);
    for (uint32_t i = 0; i < r->nindex && !b->bad; i++) {
        get_var_max(b, 0xffffffffu);
        get_var(b);
    }
    if (b->bad)
        return REPLAY_BAD;
    r->ended = 1;
    return REPLAY_OK;
}

static int simple_op(replay_reader *r, rb *b, int type)
{
    sim_world *w = r->world;
    if (type == REPLAY_REC_SPAWN) {
        uint8_t id = get_u8(b);
        uint32_t joins = (uint32_t)get_var_max(b, 0xffffffffu);
        char name[REPLAY_NAME_MAX + 1];
        get_name(b, name);
        if (b->bad || id >= SIM_MAX_PLAYERS)
            return REPLAY_BAD;
        sim_world_spawn(w, id, joins);
        memset(&r->pred[id], 0, sizeof r->pred[id]);
        text_copy(r->names[id], sizeof r->names[id], name);
    } else if (type == REPLAY_REC_REMOVE) {
        uint8_t id = get_u8(b);
        if (b->bad || id >= SIM_MAX_PLAYERS)
            return REPLAY_BAD;
        sim_world_remove(w, id);
    } else if (type == REPLAY_REC_RESET_ROUND) {
        sim_world_reset_round(w);
    } else {
        uint8_t on = get_u8(b);
        if (b->bad || on > 1)
            return REPLAY_BAD;
        w->combat = on;
    }
    return REPLAY_OK;
}

static const char *rec_name(int type)
{
    switch (type) {
    case REPLAY_REC_KEYFRAME: return "keyframe";
    case REPLAY_REC_TICK: return "tick";
    case REPLAY_REC_HASH: return "hash";
    case REPLAY_REC_SPAWN: return "spawn";
    case REPLAY_REC_REMOVE: return "remove";
    case REPLAY_REC_RESET_ROUND: return "reset_round";
    case REPLAY_REC_COMBAT: return "combat";
    case REPLAY_REC_END: return "end";
    default: return "unknown";
    }
}

int replay_next(replay_reader *r, int *type)
{
    *type = 0;
    if (r->ended)
        return bad(r, "records after the end record", "", r->pos);
    if (r->pos >= r->end)
        return bad(r, "truncated: the file stops before its end record", "", r->pos);
    size_t at = r->pos;
    rb hb = {r->data, r->end, r->pos, 0};
    int t = get_u8(&hb);
    uint64_t plen = get_var(&hb);
    if (hb.bad || plen > r->end - hb.pos)
        return bad(r, "truncated: a record runs past the end of the file", "", at);
    if (plen > REPLAY_RECORD_MAX)
        return bad(r, "corrupt: a record longer than any writer makes", "", at);
    rb b = {r->data + hb.pos, (size_t)plen, 0, 0};
    *type = t;
    if (!r->started && t != REPLAY_REC_KEYFRAME)
        return bad(r, "corrupt: the first record is not a keyframe but a ", rec_name(t), at);
    int rc;
    switch (t) {
    case REPLAY_REC_KEYFRAME: rc = keyframe_apply(r, &b, r->load_keyframes || !r->started); break;
    case REPLAY_REC_TICK: rc = tick_apply(r, &b); break;
    case REPLAY_REC_HASH: rc = hash_check(r, &b); break;
    case REPLAY_REC_SPAWN:
    case REPLAY_REC_REMOVE:
    case REPLAY_REC_RESET_ROUND:
    case REPLAY_REC_COMBAT: rc = simple_op(r, &b, t); break;
    case REPLAY_REC_END: rc = end_apply(r, &b, !r->load_keyframes); break;
    default: return bad(r, "corrupt: unknown record type", "", at);
    }
    if (rc == REPLAY_BAD || (rc == REPLAY_OK && (b.bad || b.pos != b.n)))
        return bad(r, "corrupt: a bad record: ", rec_name(t), at);
    r->pos = hb.pos + (size_t)plen;
    if (rc == REPLAY_OK && t == REPLAY_REC_END && r->pos != r->end)
        return bad(r, "corrupt: bytes after the end record", "", r->pos);
    if (rc == REPLAY_OK && t == REPLAY_REC_END && r->end == r->len)
        return bad(r, "truncated: the footer is missing", "", r->pos);
    /* Last, the checksum: a change the re-simulation caught was named at
     * its tick above; one it could not see (a byte of state the step does
     * not keep, a view of a tick nobody fired at) is caught here. */
    if (rc == REPLAY_OK && t == REPLAY_REC_END && r->crc_stored != r->crc_computed)
        return bad(r, "corrupt: checksum mismatch (every hash matched the re-simulation, but bytes changed)", "",
                   r->len - 8);
    return rc;
}

int replay_verify(replay_reader *r)
{
    while (!r->ended) {
        int type;
        int rc = replay_next(r, &type);
        if (rc != REPLAY_OK)
            return rc;
    }
    return REPLAY_OK;
}

int replay_index_get(const replay_reader *r, uint32_t i, replay_index_entry *out)
{
    if (!r->end_offset || i >= r->nindex)
        return REPLAY_BAD;
    rb b = {r->data, r->end, (size_t)r->end_offset, 0};
    get_u8(&b);
    get_var(&b);
    get_u8(&b);
    get_le(&b, 4);
    uint32_t n = (uint32_t)get_var_max(&b, SIM_MAX_PLAYERS);
    for (uint32_t k = 0; k < n && !b.bad; k++) {
        char name[REPLAY_NAME_MAX + 1];
        get_u8(&b);
        get_name(&b, name);
        for (int j = 0; j < 4; j++)
            get_var(&b);
    }
    uint32_t ni = (uint32_t)get_var(&b);
    uint32_t t = 0;
    uint64_t o = 0;
    for (uint32_t k = 0; k <= i && k < ni && !b.bad; k++) {
        t += (uint32_t)get_var(&b);
        o += get_var(&b);
    }
    if (b.bad || i >= ni)
        return REPLAY_BAD;
    out->tick = t;
    out->offset = o;
    return REPLAY_OK;
}

int replay_seek(replay_reader *r, uint64_t offset)
{
    if (offset >= r->end || r->data[offset] != REPLAY_REC_KEYFRAME)
        return bad(r, "no keyframe at that offset", "", offset);
    r->pos = (size_t)offset;
    r->ended = 0;
    int load = r->load_keyframes;
    r->load_keyframes = 1;
    r->started = 0;
    int type;
    int rc = replay_next(r, &type);
    r->load_keyframes = load;
    return rc;
}

uint32_t replay_index_read(const replay_reader *r, replay_index_entry *out, uint32_t cap)
{
    if (!r->end_offset)
        return 0;
    rb b = {r->data, r->end, (size_t)r->end_offset, 0};
    get_u8(&b);
    get_var(&b);
    get_u8(&b);
    get_le(&b, 4);
    uint32_t n = (uint32_t)get_var_max(&b, SIM_MAX_PLAYERS);
    for (uint32_t k = 0; k < n && !b.bad; k++) {
        char name[REPLAY_NAME_MAX + 1];
        get_u8(&b);
        get_name(&b, name);
        for (int j = 0; j < 4; j++)
            get_var(&b);
    }
    uint32_t ni = (uint32_t)get_var_max(&b, REPLAY_MAX_INDEX), got = 0;
    uint32_t t = 0;
    uint64_t o = 0;
    for (uint32_t k = 0; k < ni && got < cap; k++) {
        t += (uint32_t)get_var(&b);
        o += get_var(&b);
        if (b.bad)
            break;
        out[got++] = (replay_index_entry){t, o};
    }
    return got;
}

/* ---- summary ----------------------------------------------------------------------------------- */

int replay_info_head(const uint8_t *p, size_t n, replay_info *out, char *err)
{
    memset(out, 0, sizeof *out);
    rb b = {p, n, 0, 0};
    int rc = header_parse(&out->h, err, &b);
    if (rc != REPLAY_OK)
        return rc;
    size_t at = b.pos;
    if (get_u8(&b) != REPLAY_REC_KEYFRAME || b.bad)
        return bad_err(err, b.bad ? "truncated: no first record" : "corrupt: the first record is not a keyframe",
                       "", at);
    get_var(&b);
    out->start_tick = (uint32_t)get_le(&b, 4);
    if (b.bad)
        return bad_err(err, "truncated: the first keyframe is cut short", "", at);
    return REPLAY_OK;
}

uint64_t replay_info_footer(const uint8_t *last)
{
    if (memcmp(last + REPLAY_FOOTER_LEN - 4, REPLAY_FOOTER_MAGIC, 4) != 0)
        return 0;
    rb f = {last, 8, 0, 0};
    return get_le(&f, 8);
}

/* Whether score a ranks above b: score, then kills, fewer deaths, lower id. */
static int score_above(const replay_score *a, const replay_score *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->kills != b->kills)
        return a->kills > b->kills;
    if (a->deaths != b->deaths)
        return a->deaths < b->deaths;
    return a->id < b->id;
}

int replay_info_end(const uint8_t *p, size_t n, replay_info *out)
{
    rb b = {p, n, 0, 0};
    if (get_u8(&b) != REPLAY_REC_END)
        return REPLAY_BAD;
    get_var(&b);
    uint8_t reason = get_u8(&b);
    uint32_t tick = (uint32_t)get_le(&b, 4);
    uint32_t np = (uint32_t)get_var_max(&b, SIM_MAX_PLAYERS);
    replay_score top;
    memset(&top, 0, sizeof top);
    for (uint32_t k = 0; k < np && !b.bad; k++) {
        replay_score s;
        s.id = get_u8(&b);
        get_name(&b, s.name);
        s.kills = (uint16_t)get_var_max(&b, 0xffff);
        s.deaths = (uint16_t)get_var_max(&b, 0xffff);
        s.score = (uint16_t)get_var_max(&b, 0xffff);
        s.hits = (uint16_t)get_var_max(&b, 0xffff);
        if (k == 0 || score_above(&s, &top))
            top = s;
    }
    if (b.bad || reason < 1 || reason > 3)
        return REPLAY_BAD;
    out->end_reason = reason;
    out->end_tick = tick;
    out->nplayers = (int)np;
    out->top = top;
    return REPLAY_OK;
}
