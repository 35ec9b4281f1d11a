/* proto: see proto.h and docs/PROTOCOL.md. Layout of the fixed messages
 * (all little-endian):
 *   JOIN      01 | version u8 | token_len u8 | token (base64url) | resume_len u8 | resume
 *   INPUT     02 | ack_tick u32 | first_seq u32 | count u8 | count x (buttons u8, aim u16)
 *   WELCOME   81 | version u8 | player_id u16 | tick_rate u16 | snapshot_rate u16 |
 *                  server_tick u32 | match_id u16 | pos_frac u8 | vel_frac u8 |
 *                  width u16 | height u16 | max_players u16 | nwalls u8 | nwalls x 4 x i16 |
 *                  resume 16 bytes | flags u8 (bit 0: resumed)
 *   SNAPSHOT  82 | tick u32 | baseline_delta u8 (0 = full) | last_input_seq u32 | body
 * The snapshot body is bit-packed; see the entity coder below. */
#include "proto.h"

#include <string.h>

#include "bits.h"

/* Widths of the four size classes for each coded quantity. */
static const uint8_t W_ID_GAP[4] = {0, 2, 4, 8};
static const uint8_t W_POS[4] = {3, 6, 10, 16};
static const uint8_t W_VEL[4] = {4, 8, 11, 16};
static const uint8_t W_AIM[4] = {4, 8, 12, 16};

enum { OP_CHANGE = 0, OP_ADD = 1, OP_REMOVE = 2 };
enum { F_X = 1, F_Y = 2, F_VX = 4, F_VY = 8, F_AIM = 16, F_FLAGS = 32, F_BITS = 6 };

const char *proto_err_str(int err)
{
    switch (err) {
    case PROTO_OK: return "ok";
    case PROTO_ERR_TRUNCATED: return "truncated message";
    case PROTO_ERR_TRAILING: return "trailing bytes after message";
    case PROTO_ERR_TYPE: return "unknown message type";
    case PROTO_ERR_VERSION: return "unsupported protocol version";
    case PROTO_ERR_VALUE: return "field out of range";
    case PROTO_ERR_BASELINE: return "unknown baseline";
    default: return "unknown error";
    }
}

int proto_peek_type(const uint8_t *buf, size_t len)
{
    return len ? buf[0] : -1;
}

/* Byte-aligned messages must be consumed exactly. */
static int finish_read(const bits_reader *r)
{
    if (r->error)
        return PROTO_ERR_TRUNCATED;
    if (bits_reader_left(r) != 0)
        return PROTO_ERR_TRAILING;
    return PROTO_OK;
}

static int name_char_ok(uint8_t c)
{
    return c >= 0x20 && c <= 0x7e;
}

static int token_char_ok(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

size_t proto_join_write(const char *token, const uint8_t *resume, uint8_t *buf, size_t cap)
{
    size_t n = strlen(token);
    if (n > PROTO_MAX_TOKEN || (n == 0 && !resume))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!token_char_ok((uint8_t)token[i]))
            return 0; /* the reader would refuse it */
    bits_writer w;
    bits_writer_init(&w, buf, cap);
    bits_write(&w, PROTO_JOIN, 8);
    bits_write(&w, PROTO_VERSION, 8);
    bits_write(&w, (uint32_t)n, 8);
    for (size_t i = 0; i < n; i++)
        bits_write(&w, (uint8_t)token[i], 8);
    bits_write(&w, resume ? PROTO_RESUME_LEN : 0, 8);
    for (int i = 0; resume && i < PROTO_RESUME_LEN; i++)
        bits_write(&w, resume[i], 8);
    return w.error ? 0 : bits_writer_bytes(&w);
}

int proto_join_read(const uint8_t *buf, size_t len, proto_join *out)
{
    bits_reader r;
    bits_reader_init(&r, buf, len);
    if (bits_read(&r, 8) != PROTO_JOIN)
        return r.error ? PROTO_ERR_TRUNCATED : PROTO_ERR_TYPE;
    out->version = (uint8_t)bits_read(&r, 8);
    uint32_t n = bits_read(&r, 8);
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    if (out->version != PROTO_VERSION)
        return PROTO_ERR_VERSION;
    if (n > PROTO_MAX_TOKEN)
        return PROTO_ERR_VALUE;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)bits_read(&r, 8);
        if (!r.error && !token_char_ok(c))
            return PROTO_ERR_VALUE;
        out->token[i] = (char)c;
    }
    out->token_len = (uint8_t)n;
    out->token[r.error ? 0 : n] = '\0';
    uint32_t rn = bits_read(&r, 8);
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    if (rn != 0 && rn != PROTO_RESUME_LEN)
        return PROTO_ERR_VALUE;
    out->has_resume = rn != 0;
    for (uint32_t i = 0; i < rn; i++)
        out->resume[i] = (uint8_t)bits_read(&r, 8);
    if (!r.error && n == 0 && !out->has_resume)
        return PROTO_ERR_VALUE; /* neither a token nor a resume */
    return finish_read(&r);
}

size_t proto_input_write(const proto_input_msg *m, uint8_t *buf, size_t cap)
{
    if (m->count < 1 || m->count > PROTO_MAX_INPUTS_PER_MSG)
        return 0;
    bits_writer w;
    bits_writer_init(&w, buf, cap);
    bits_write(&w, PROTO_INPUT, 8);
    bits_write(&w, m->ack_tick, 32);
    bits_write(&w, m->first_seq, 32);
    bits_write(&w, m->count, 8);
    for (int i = 0; i < m->count; i++) {
        bits_write(&w, m->in[i].buttons, 8);
        bits_write(&w, m->in[i].aim, 16);
    }
    return w.error ? 0 : bits_writer_bytes(&w);
}

int proto_input_read(const uint8_t *buf, size_t len, proto_input_msg *out)
{
    bits_reader r;
    bits_reader_init(&r, buf, len);
    if (bits_read(&r, 8) != PROTO_INPUT)
        return r.error ? PROTO_ERR_TRUNCATED : PROTO_ERR_TYPE;
    out->ack_tick = bits_read(&r, 32);
    out->first_seq = bits_read(&r, 32);
    out->count = (uint8_t)bits_read(&r, 8);
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    if (out->count < 1 || out->count > PROTO_MAX_INPUTS_PER_MSG || out->first_seq == 0 ||
        out->first_seq > UINT32_MAX - PROTO_MAX_INPUTS_PER_MSG)
        return PROTO_ERR_VALUE;
    for (int i = 0; i < out->count; i++) {
        out->in[i].buttons = (uint8_t)bits_read(&r, 8);
        out->in[i].aim = (uint16_t)bits_read(&r, 16);
        if (out->in[i].buttons & ~SIM_BTN_ALL)
            return r.error ? PROTO_ERR_TRUNCATED : PROTO_ERR_VALUE;
    }
    return finish_read(&r);
}

size_t proto_welcome_write(const proto_welcome *m, uint8_t *buf, size_t cap)
{
    if (m->map.nwalls > SIM_MAX_WALLS)
        return 0;
    bits_writer w;
    bits_writer_init(&w, buf, cap);
    bits_write(&w, PROTO_WELCOME, 8);
    bits_write(&w, PROTO_VERSION, 8);
    bits_write(&w, m->player_id, 16);
    bits_write(&w, m->tick_rate, 16);
    bits_write(&w, m->snapshot_rate, 16);
    bits_write(&w, m->server_tick, 32);
    bits_write(&w, m->match_id, 16);
    bits_write(&w, SIM_POS_FRAC_BITS, 8);
    bits_write(&w, SIM_VEL_FRAC_BITS, 8);
    bits_write(&w, m->map.width, 16);
    bits_write(&w, m->map.height, 16);
    bits_write(&w, m->max_players, 16);
    bits_write(&w, m->map.nwalls, 8);
    for (int i = 0; i < m->map.nwalls; i++) {
        const sim_wall *wl = &m->map.walls[i];
        bits_write(&w, (uint16_t)wl->x0, 16);
        bits_write(&w, (uint16_t)wl->y0, 16);
        bits_write(&w, (uint16_t)wl->x1, 16);
        bits_write(&w, (uint16_t)wl->y1, 16);
    }
    for (int i = 0; i < PROTO_RESUME_LEN; i++)
        bits_write(&w, m->resume[i], 8);
    bits_write(&w, m->resumed ? 1 : 0, 8);
    return w.error ? 0 : bits_writer_bytes(&w);
}

int proto_welcome_read(const uint8_t *buf, size_t len, proto_welcome *out)
{
    bits_reader r;
    bits_reader_init(&r, buf, len);
    if (bits_read(&r, 8) != PROTO_WELCOME)
        return r.error ? PROTO_ERR_TRUNCATED : PROTO_ERR_TYPE;
    uint32_t version = bits_read(&r, 8);
    out->player_id = (uint16_t)bits_read(&r, 16);
    out->tick_rate = (uint16_t)bits_read(&r, 16);
    out->snapshot_rate = (uint16_t)bits_read(&r, 16);
    out->server_tick = bits_read(&r, 32);
    out->match_id = (uint16_t)bits_read(&r, 16);
    uint32_t pos_frac = bits_read(&r, 8);
    uint32_t vel_frac = bits_read(&r, 8);
    out->map.width = (uint16_t)bits_read(&r, 16);
    out->map.height = (uint16_t)bits_read(&r, 16);
    out->max_players = (uint16_t)bits_read(&r, 16);
    out->map.nwalls = (uint8_t)bits_read(&r, 8);
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    if (version != PROTO_VERSION)
        return PROTO_ERR_VERSION;
    if (pos_frac != SIM_POS_FRAC_BITS || vel_frac != SIM_VEL_FRAC_BITS ||
        out->map.nwalls > SIM_MAX_WALLS || out->max_players > PROTO_MAX_ENTITIES ||
        out->player_id >= out->max_players || out->tick_rate == 0 || out->snapshot_rate == 0)
        return PROTO_ERR_VALUE;
    for (int i = 0; i < out->map.nwalls; i++) {
        sim_wall *wl = &out->map.walls[i];
        wl->x0 = (int16_t)bits_read(&r, 16);
        wl->y0 = (int16_t)bits_read(&r, 16);
        wl->x1 = (int16_t)bits_read(&r, 16);
        wl->y1 = (int16_t)bits_read(&r, 16);
    }
    for (int i = 0; i < PROTO_RESUME_LEN; i++)
        out->resume[i] = (uint8_t)bits_read(&r, 8);
    uint32_t flags = bits_read(&r, 8);
    if (!r.error && flags > 1)
        return PROTO_ERR_VALUE;
    out->resumed = (uint8_t)flags;
    return finish_read(&r);
}

size_t proto_snapshot_header_write(const proto_snapshot_header *h, uint8_t *buf, size_t cap)
{
    uint32_t delta = h->baseline_tick ? h->tick - h->baseline_tick : 0;
    if (h->baseline_tick && (delta == 0 || delta > 255))
        return 0;
    bits_writer w;
    bits_writer_init(&w, buf, cap);
    bits_write(&w, PROTO_SNAPSHOT, 8);
    bits_write(&w, h->tick, 32);
    bits_write(&w, delta, 8);
    bits_write(&w, h->last_input_seq, 32);
    return w.error ? 0 : bits_writer_bytes(&w);
}

int proto_snapshot_header_read(const uint8_t *buf, size_t len, proto_snapshot_header *out)
{
    bits_reader r;
    bits_reader_init(&r, buf, len < PROTO_SNAPSHOT_HEADER_SIZE ? len : PROTO_SNAPSHOT_HEADER_SIZE);
    if (bits_read(&r, 8) != PROTO_SNAPSHOT)
        return r.error ? PROTO_ERR_TRUNCATED : PROTO_ERR_TYPE;
    out->tick = bits_read(&r, 32);
    uint32_t delta = bits_read(&r, 8);
    out->last_input_seq = bits_read(&r, 32);
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    /* Tick 0 is never a baseline (0 means full), so delta == tick is as
     * invalid as delta > tick. */
    if (delta && delta >= out->tick)
        return PROTO_ERR_VALUE;
    out->baseline_tick = delta ? out->tick - delta : 0;
    return PROTO_OK;
}

/* ---- snapshot body ------------------------------------------------------
 * u8 entry count, then entries in increasing id order:
 *   id gap (class W_ID_GAP: id - previous id - 1, first: id) | op 2 bits
 *   ADD:    x u16 | y u16 | vx i16 | vy i16 | aim u16 | flags u8 | name_len 5 bits | name bytes
 *   CHANGE: field mask 6 bits (x y vx vy aim flags) | each set field:
 *           x, y: zigzag residual from the dead-reckoned baseline (W_POS)
 *           vx, vy: zigzag delta (W_VEL) | aim: zigzag delta (W_AIM) | flags: u8
 *   REMOVE: nothing
 * Residuals and deltas are taken modulo 2^16 so every value round-trips. */

static int32_t predict(uint16_t base, int16_t vel, uint32_t dticks, uint16_t tick_rate)
{
    return (int32_t)base + (int32_t)vel * (int32_t)dticks / (int32_t)tick_rate;
}

static uint32_t residual(uint16_t cur, int32_t pred)
{
    return bits_zigzag((int16_t)(uint16_t)((int32_t)cur - pred));
}

static uint16_t unresidual(uint32_t code, int32_t pred)
{
    return (uint16_t)(pred + bits_unzigzag(code));
}

static int netent_same(const sim_netent *a, const sim_netent *b)
{
    return a->x == b->x && a->y == b->y && a->vx == b->vx && a->vy == b->vy &&
           a->aim == b->aim && a->flags == b->flags;
}

static void write_add(bits_writer *w, const sim_netent *e, const char *name)
{
    size_t n = strlen(name);
    bits_write(w, OP_ADD, 2);
    bits_write(w, e->x, 16);
    bits_write(w, e->y, 16);
    bits_write(w, (uint16_t)e->vx, 16);
    bits_write(w, (uint16_t)e->vy, 16);
    bits_write(w, e->aim, 16);
    bits_write(w, e->flags, 8);
    bits_write(w, (uint32_t)n, 5);
    for (size_t i = 0; i < n; i++)
        bits_write(w, (uint8_t)name[i], 8);
}

static void write_change(bits_writer *w, const sim_netent *b, const sim_netent *c,
                         uint32_t dticks, uint16_t tick_rate)
{
    int32_t px = predict(b->x, b->vx, dticks, tick_rate);
    int32_t py = predict(b->y, b->vy, dticks, tick_rate);
    uint32_t rx = residual(c->x, px), ry = residual(c->y, py);
    uint32_t mask = (rx ? F_X : 0) | (ry ? F_Y : 0) | (c->vx != b->vx ? F_VX : 0) |
                    (c->vy != b->vy ? F_VY : 0) | (c->aim != b->aim ? F_AIM : 0) |
                    (c->flags != b->flags ? F_FLAGS : 0);
    bits_write(w, OP_CHANGE, 2);
    bits_write(w, mask, F_BITS);
    if (mask & F_X)
        bits_write_class(w, rx, W_POS);
    if (mask & F_Y)
        bits_write_class(w, ry, W_POS);
    if (mask & F_VX)
        bits_write_class(w, bits_zigzag((int16_t)(c->vx - b->vx)), W_VEL);
    if (mask & F_VY)
        bits_write_class(w, bits_zigzag((int16_t)(c->vy - b->vy)), W_VEL);
    if (mask & F_AIM)
        bits_write_class(w, bits_zigzag((int16_t)(uint16_t)(c->aim - b->aim)), W_AIM);
    if (mask & F_FLAGS)
        bits_write(w, c->flags, 8);
}

size_t proto_snapshot_body_write(const proto_snapshot *base, const proto_snapshot *cur,
                                 const proto_names *names, uint16_t tick_rate,
                                 uint8_t *buf, size_t cap)
{
    bits_writer w;
    bits_writer_init(&w, buf, cap);
    bits_write(&w, 0, 8); /* entry count, patched below */
    uint32_t dticks = base ? cur->tick - base->tick : 0;
    int count = 0, prev = -1;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        int in_base = base && base->present[id];
        int in_cur = cur->present[id];
        int op;
        if (in_cur && (!in_base || base->gen[id] != cur->gen[id]))
            op = OP_ADD;
        else if (in_cur && !netent_same(&base->ent[id], &cur->ent[id]))
            op = OP_CHANGE;
        else if (!in_cur && in_base)
            op = OP_REMOVE;
        else
            continue;
        bits_write_class(&w, (uint32_t)(id - prev - 1), W_ID_GAP);
        prev = id;
        count++;
        if (op == OP_ADD)
            write_add(&w, &cur->ent[id], names->name[id]);
        else if (op == OP_CHANGE)
            write_change(&w, &base->ent[id], &cur->ent[id], dticks, tick_rate);
        else
            bits_write(&w, OP_REMOVE, 2);
    }
    if (w.error)
        return 0;
    buf[0] = (uint8_t)count;
    return bits_writer_bytes(&w);
}

static void read_add(bits_reader *r, sim_netent *e, char *name)
{
    e->x = (uint16_t)bits_read(r, 16);
    e->y = (uint16_t)bits_read(r, 16);
    e->vx = (int16_t)(uint16_t)bits_read(r, 16);
    e->vy = (int16_t)(uint16_t)bits_read(r, 16);
    e->aim = (uint16_t)bits_read(r, 16);
    e->flags = (uint8_t)bits_read(r, 8);
    uint32_t n = bits_read(r, 5);
    if (n > PROTO_MAX_NAME) {
        r->error = 1;
        n = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)bits_read(r, 8);
        name[i] = name_char_ok(c) ? (char)c : '?';
    }
    name[n] = '\0';
}

static void read_change(bits_reader *r, const sim_netent *b, sim_netent *c,
                        uint32_t dticks, uint16_t tick_rate)
{
    uint32_t mask = bits_read(r, F_BITS);
    int32_t px = predict(b->x, b->vx, dticks, tick_rate);
    int32_t py = predict(b->y, b->vy, dticks, tick_rate);
    c->x = unresidual(mask & F_X ? bits_read_class(r, W_POS) : 0, px);
    c->y = unresidual(mask & F_Y ? bits_read_class(r, W_POS) : 0, py);
    c->vx = mask & F_VX ? (int16_t)(b->vx + bits_unzigzag(bits_read_class(r, W_VEL))) : b->vx;
    c->vy = mask & F_VY ? (int16_t)(b->vy + bits_unzigzag(bits_read_class(r, W_VEL))) : b->vy;
    c->aim = mask & F_AIM ? (uint16_t)(b->aim + bits_unzigzag(bits_read_class(r, W_AIM))) : b->aim;
    c->flags = mask & F_FLAGS ? (uint8_t)bits_read(r, 8) : b->flags;
}

int proto_snapshot_body_read(const proto_snapshot *base, proto_snapshot *out,
                             proto_names *names, uint16_t tick_rate,
                             const uint8_t *buf, size_t len)
{
    uint32_t tick = out->tick;
    if (base) {
        if (base != out)
            memcpy(out, base, sizeof *out);
    } else {
        memset(out, 0, sizeof *out);
    }
    out->tick = tick;
    uint32_t dticks = base ? tick - base->tick : 0;
    if (tick_rate == 0)
        return PROTO_ERR_VALUE;

    bits_reader r;
    bits_reader_init(&r, buf, len);
    uint32_t count = bits_read(&r, 8);
    int prev = -1;
    for (uint32_t i = 0; i < count && !r.error; i++) {
        int id = prev + 1 + (int)bits_read_class(&r, W_ID_GAP);
        uint32_t op = bits_read(&r, 2);
        if (r.error)
            break;
        if (id >= PROTO_MAX_ENTITIES)
            return PROTO_ERR_VALUE;
        prev = id;
        if (op == OP_ADD) {
            read_add(&r, &out->ent[id], names->name[id]);
            out->present[id] = 1;
            out->gen[id]++;
        } else if (op == OP_CHANGE) {
            if (!out->present[id])
                return PROTO_ERR_VALUE;
            sim_netent before = out->ent[id];
            read_change(&r, &before, &out->ent[id], dticks, tick_rate);
        } else if (op == OP_REMOVE) {
            if (!out->present[id])
                return PROTO_ERR_VALUE;
            out->present[id] = 0;
        } else {
            return PROTO_ERR_VALUE;
        }
    }
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    /* Only the zero padding of the last byte may remain. */
    if (bits_reader_left(&r) >= 8)
        return PROTO_ERR_TRAILING;
    return PROTO_OK;
}
