/* proto: see proto.h and docs/PROTOCOL.md. Layout of the fixed messages
 * (all little-endian):
 *   JOIN      01 | version u8 | token_len u8 | token (base64url) | resume_len u8 | resume |
 *                  mode u8 (0 play, 1 spectate) | (mode 1) match_id u16
 *   INPUT     02 | ack_tick u32 | event_ack u32 | first_seq u32 | count u8 |
 *                  count x (buttons u8, aim u16, view_back u8, view_frac u8)
 *   CHAT      03 | len u16 | UTF-8 text
 *   WELCOME   81 | version u8 | player_id u16 | tick_rate u16 | snapshot_rate u16 |
 *                  server_tick u32 | match_id u16 | pos_frac u8 | vel_frac u8 |
 *                  width u16 | height u16 | max_players u16 | nwalls u8 | nwalls x 4 x i16 |
 *                  resume 16 bytes | flags u8 (bit 0: resumed, bit 1: spectator)
 *   SNAPSHOT  82 | tick u32 | baseline_delta u8 (0 = full) | last_input_seq u32 |
 *                  events section | body
 *   events    count u8 | (count > 0) first_seq u32 | count x (type u8 | len u16 | payload)
 * The snapshot body is bit-packed; see the entity coder below. */
#include "proto.h"

#include <string.h>

#include "bits.h"

/* Widths of the four size classes for each coded quantity. */
static const uint8_t W_ID_GAP[4] = {0, 2, 4, 8};
static const uint8_t W_POS[4] = {3, 6, 10, 16};
static const uint8_t W_VEL[4] = {4, 8, 11, 16};
static const uint8_t W_AIM[4] = {4, 8, 12, 16};
static const uint8_t W_STAT[4] = {0, 2, 6, 16};

enum { OP_CHANGE = 0, OP_ADD = 1, OP_REMOVE = 2 };
enum { F_X = 1, F_Y = 2, F_VX = 4, F_VY = 8, F_AIM = 16, F_EXT = 32, F_TURN = 64, F_MOVE = 128, F_BITS = 8 };
enum { X_FLAGS = 1, X_HEALTH = 2, X_LIFE = 4, X_STATS = 8, X_BITS = 4 };

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
    case PROTO_ERR_UTF8: return "text is not UTF-8";
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

static size_t join_write(const char *token, const uint8_t *resume, uint8_t mode, uint16_t match_id,
                         uint8_t *buf, size_t cap)
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
    bits_write(&w, mode, 8);
    if (mode == PROTO_MODE_SPECTATE)
        bits_write(&w, match_id, 16);
    return w.error ? 0 : bits_writer_bytes(&w);
}

size_t proto_join_write(const char *token, const uint8_t *resume, uint8_t *buf, size_t cap)
{
    return join_write(token, resume, PROTO_MODE_PLAY, 0, buf, cap);
}

size_t proto_join_spectate_write(const char *token, uint16_t match_id, uint8_t *buf, size_t cap)
{
    if (token[0] == '\0')
        return 0; /* a spectator has no resume: the token is all it has */
    return join_write(token, NULL, PROTO_MODE_SPECTATE, match_id, buf, cap);
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
    out->mode = (uint8_t)bits_read(&r, 8);
    out->match_id = 0;
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    if (out->mode > PROTO_MODE_SPECTATE)
        return PROTO_ERR_VALUE;
    if (out->mode == PROTO_MODE_SPECTATE) {
        /* A spectator joins with a token, never by resuming. */
        if (out->has_resume || n == 0)
            return PROTO_ERR_VALUE;
        out->match_id = (uint16_t)bits_read(&r, 16);
    }
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
    bits_write(&w, m->event_ack, 32);
    bits_write(&w, m->first_seq, 32);
    bits_write(&w, m->count, 8);
    for (int i = 0; i < m->count; i++) {
        const sim_input *in = &m->in[i];
        /* A view can only be of a snapshot received: at most ack_tick.
         * With ack_tick 0 there is no tick to count back from (the reader
         * refuses any back then): the view is sent as none. That is every
         * input resent after a resume before the new connection's first
         * snapshot. */
        uint32_t back = 255, frac = 0;
        if (in->view_tick && m->ack_tick && in->view_tick <= m->ack_tick) {
            back = m->ack_tick - in->view_tick;
            frac = back > 254 ? 0 : in->view_frac;
            back = back > 254 ? 254 : back;
        } else if (in->view_tick && m->ack_tick) {
            back = 0;
        }
        bits_write(&w, in->buttons, 8);
        bits_write(&w, in->aim, 16);
        bits_write(&w, back, 8);
        bits_write(&w, frac, 8);
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
    out->event_ack = bits_read(&r, 32);
    out->first_seq = bits_read(&r, 32);
    out->count = (uint8_t)bits_read(&r, 8);
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    if (out->count < 1 || out->count > PROTO_MAX_INPUTS_PER_MSG || out->first_seq == 0 ||
        out->first_seq > UINT32_MAX - PROTO_MAX_INPUTS_PER_MSG)
        return PROTO_ERR_VALUE;
    for (int i = 0; i < out->count; i++) {
        sim_input *in = &out->in[i];
        in->buttons = (uint8_t)bits_read(&r, 8);
        in->aim = (uint16_t)bits_read(&r, 16);
        uint32_t back = bits_read(&r, 8);
        in->view_frac = (uint8_t)bits_read(&r, 8);
        if (r.error)
            return PROTO_ERR_TRUNCATED;
        /* No view (255) has no fraction; a view before tick 1 is none. */
        if ((in->buttons & ~SIM_BTN_ALL) || (back == 255 && in->view_frac) || (back != 255 && back >= out->ack_tick))
            return PROTO_ERR_VALUE;
        in->view_tick = back == 255 ? 0 : out->ack_tick - back;
        in->known_tick = out->ack_tick;
    }
    return finish_read(&r);
}

int proto_utf8_valid(const uint8_t *s, size_t len, size_t *chars)
{
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        uint8_t c = s[i];
        uint32_t cp, min;
        int extra;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f, extra = 1, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f, extra = 2, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07, extra = 3, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= (size_t)extra)
            return 0;
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)extra + 1;
    }
    if (chars)
        *chars = n;
    return 1;
}

size_t proto_chat_clean(char *text, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = (uint8_t)text[i];
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if (n > len - i)
            n = len - i;
        int control = c < 0x20 || c == 0x7f || (c == 0xc2 && n == 2 && (uint8_t)text[i + 1] < 0xa0);
        if (!control)
            for (size_t k = 0; k < n; k++)
                text[o++] = text[i + k];
        i += n;
    }
    text[o] = '\0';
    return o;
}

size_t proto_chat_write(const char *text, size_t len, uint8_t *buf, size_t cap)
{
    size_t chars;
    if (len > PROTO_MAX_CHAT_BYTES || !proto_utf8_valid((const uint8_t *)text, len, &chars) ||
        chars > PROTO_MAX_CHAT_CHARS || cap < 3 + len)
        return 0;
    buf[0] = PROTO_CHAT;
    buf[1] = (uint8_t)len;
    buf[2] = (uint8_t)(len >> 8);
    memcpy(buf + 3, text, len);
    return 3 + len;
}

int proto_chat_read(const uint8_t *buf, size_t len, char *out, size_t *out_len)
{
    if (len < 3)
        return len && buf[0] != PROTO_CHAT ? PROTO_ERR_TYPE : PROTO_ERR_TRUNCATED;
    if (buf[0] != PROTO_CHAT)
        return PROTO_ERR_TYPE;
    size_t n = (size_t)buf[1] | (size_t)buf[2] << 8;
    if (len - 3 < n)
        return PROTO_ERR_TRUNCATED;
    if (len - 3 > n)
        return PROTO_ERR_TRAILING;
    size_t chars;
    if (!proto_utf8_valid(buf + 3, n, &chars))
        return PROTO_ERR_UTF8;
    if (n > PROTO_MAX_CHAT_BYTES || chars > PROTO_MAX_CHAT_CHARS)
        return PROTO_ERR_VALUE;
    memcpy(out, buf + 3, n);
    out[n] = '\0';
    *out_len = n;
    return PROTO_OK;
}

/* ---- reliable events ---------------------------------------------------
 * type u8 | len u16 | payload (len bytes):
 *   KILL 01: killer u8, victim u8         CHAT 02: player u8, text
 *   JOIN 03: player u8, name              LEAVE 04: player u8
 *   ROUND_START 05: round u16             ROUND_END 06: round u16, reason u8, winner u8 */

static size_t event_payload_len(const proto_event *e)
{
    switch (e->type) {
    case PROTO_EV_KILL: return 2;
    case PROTO_EV_CHAT:
    case PROTO_EV_JOIN: return 1 + (size_t)e->len;
    case PROTO_EV_LEAVE: return 1;
    case PROTO_EV_ROUND_START: return 2;
    case PROTO_EV_ROUND_END: return 4;
    default: return 0;
    }
}

/* 1 when proto_event_read would accept e's fields. */
static int event_fields_ok(const proto_event *e)
{
    switch (e->type) {
    case PROTO_EV_KILL:
        return e->player < PROTO_MAX_ENTITIES && e->other < PROTO_MAX_ENTITIES;
    case PROTO_EV_CHAT:
    case PROTO_EV_JOIN:
        return e->player < PROTO_MAX_ENTITIES &&
               e->len <= (e->type == PROTO_EV_JOIN ? PROTO_MAX_NAME : PROTO_MAX_CHAT_BYTES) &&
               proto_utf8_valid((const uint8_t *)e->text, e->len, NULL);
    case PROTO_EV_LEAVE:
        return e->player < PROTO_MAX_ENTITIES;
    case PROTO_EV_ROUND_START:
        return 1;
    case PROTO_EV_ROUND_END:
        return e->reason >= PROTO_END_TIME && e->reason <= PROTO_END_INTERRUPTED &&
               (e->other == 255 || e->other < PROTO_MAX_ENTITIES);
    default:
        return 0;
    }
}

size_t proto_event_write(const proto_event *e, uint8_t *buf, size_t cap)
{
    size_t plen = event_payload_len(e);
    if (plen == 0 || !event_fields_ok(e))
        return 0;
    bits_writer w;
    bits_writer_init(&w, buf, cap);
    bits_write(&w, e->type, 8);
    bits_write(&w, (uint32_t)plen, 16);
    switch (e->type) {
    case PROTO_EV_KILL:
        bits_write(&w, e->player, 8);
        bits_write(&w, e->other, 8);
        break;
    case PROTO_EV_CHAT:
    case PROTO_EV_JOIN:
        bits_write(&w, e->player, 8);
        for (size_t i = 0; i < e->len; i++)
            bits_write(&w, (uint8_t)e->text[i], 8);
        break;
    case PROTO_EV_LEAVE:
        bits_write(&w, e->player, 8);
        break;
    case PROTO_EV_ROUND_START:
        bits_write(&w, e->round, 16);
        break;
    default:
        bits_write(&w, e->round, 16);
        bits_write(&w, e->reason, 8);
        bits_write(&w, e->other, 8);
        break;
    }
    return w.error ? 0 : bits_writer_bytes(&w);
}

int proto_event_read(const uint8_t *buf, size_t len, proto_event *out, size_t *used)
{
    if (len < 3)
        return PROTO_ERR_TRUNCATED;
    uint32_t seq = out->seq;
    memset(out, 0, sizeof *out);
    out->seq = seq;
    out->type = buf[0];
    size_t plen = (size_t)buf[1] | (size_t)buf[2] << 8;
    if (len - 3 < plen)
        return PROTO_ERR_TRUNCATED;
    const uint8_t *p = buf + 3;
    *used = 3 + plen;
    switch (out->type) {
    case PROTO_EV_KILL:
        if (plen != 2 || p[0] >= PROTO_MAX_ENTITIES || p[1] >= PROTO_MAX_ENTITIES)
            return PROTO_ERR_VALUE;
        out->player = p[0];
        out->other = p[1];
        return PROTO_OK;
    case PROTO_EV_CHAT:
    case PROTO_EV_JOIN: {
        size_t maxtext = out->type == PROTO_EV_JOIN ? PROTO_MAX_NAME : PROTO_MAX_CHAT_BYTES;
        if (plen < 1 || plen - 1 > maxtext || p[0] >= PROTO_MAX_ENTITIES)
            return PROTO_ERR_VALUE;
        if (!proto_utf8_valid(p + 1, plen - 1, NULL))
            return PROTO_ERR_UTF8;
        out->player = p[0];
        out->len = (uint16_t)(plen - 1);
        memcpy(out->text, p + 1, plen - 1);
        out->text[plen - 1] = '\0';
        return PROTO_OK;
    }
    case PROTO_EV_LEAVE:
        if (plen != 1 || p[0] >= PROTO_MAX_ENTITIES)
            return PROTO_ERR_VALUE;
        out->player = p[0];
        return PROTO_OK;
    case PROTO_EV_ROUND_START:
        if (plen != 2)
            return PROTO_ERR_VALUE;
        out->round = (uint16_t)(p[0] | p[1] << 8);
        return PROTO_OK;
    case PROTO_EV_ROUND_END:
        if (plen != 4 || p[2] < PROTO_END_TIME || p[2] > PROTO_END_INTERRUPTED ||
            (p[3] != 255 && p[3] >= PROTO_MAX_ENTITIES))
            return PROTO_ERR_VALUE;
        out->round = (uint16_t)(p[0] | p[1] << 8);
        out->reason = p[2];
        out->other = p[3];
        return PROTO_OK;
    default:
        return PROTO_ERR_VALUE;
    }
}

size_t proto_events_header_write(uint8_t count, uint32_t first_seq, uint8_t *buf, size_t cap)
{
    size_t n = count ? 5 : 1;
    if (cap < n || (count && first_seq == 0))
        return 0;
    buf[0] = count;
    for (int i = 0; count && i < 4; i++)
        buf[1 + i] = (uint8_t)(first_seq >> (8 * i));
    return n;
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
    bits_write(&w, (m->resumed ? 1u : 0u) | (m->spectator ? 2u : 0u), 8);
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
        (out->player_id >= out->max_players && out->player_id != PROTO_SPECTATOR_ID) ||
        out->tick_rate == 0 || out->snapshot_rate == 0)
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
    if (r.error)
        return PROTO_ERR_TRUNCATED;
    /* A spectator (bit 1) has no entity and is never resumed; a player
     * always has an entity. */
    int spectator = (flags & 2) != 0;
    if (flags > 3 || (spectator && (flags & 1)) || spectator != (out->player_id == PROTO_SPECTATOR_ID))
        return PROTO_ERR_VALUE;
    out->resumed = (uint8_t)(flags & 1);
    out->spectator = (uint8_t)spectator;
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
 * u8 entry count | u8 match state follows (0/1) | [phase u8 | min_players u8 |
 * round u16 | score_limit u16 | end_tick u32] | entries in increasing id order:
 *   id gap (class W_ID_GAP: id - previous id - 1, first: id) | op 2 bits
 *   ADD:    x u16 | y u16 | vx i16 | vy i16 | aim u16 | turn i16 | move 4 bits |
 *           flags u8 | health u8 | life u8 | kills u16 | deaths u16 | score u16 |
 *           hits u16 | name_len 5 bits | name bytes
 *   CHANGE: field mask 8 bits (x y vx vy aim ext turn move) | move 4 bits |
 *           turn: zigzag delta (W_AIM) | ext: mask 4 bits (flags health life
 *           stats) | flags u8 | health u8 | life u8 | stats: kills, deaths,
 *           score, hits as zigzag deltas (W_STAT) | x, y (W_POS), vx, vy
 *           (W_VEL), aim (W_AIM): zigzag residuals from the prediction
 *   REMOVE: nothing
 * An entity present in the baseline and not listed is its prediction.
 * Residuals and deltas are taken modulo 2^16 so every value round-trips. */

/* The entity `dticks` ticks after `b`, going on as its last step did, with
 * `move`, `turn` and `flags` (its current ones): the aim turns by `turn`
 * per tick, and the position and velocity glide with the direction buttons
 * `move` (sim_player_glide, once per tick), unless it is DEAD (it does not
 * move; it still aims) or DISCONNECTED (held: nothing moves). Every other
 * field is b's. Exact for a player that stepped once per tick with the
 * same inputs and touched no wall: then nothing of it is sent. */
static void predict(const sim_netent *b, uint8_t move, int16_t turn, uint8_t flags, uint32_t dticks,
                    uint16_t tick_rate, sim_netent *out)
{
    *out = *b;
    out->move = move;
    out->turn = turn;
    out->flags = flags;
    if (flags & SIM_FLAG_DISCONNECTED)
        return;
    out->aim = (uint16_t)(b->aim + (uint32_t)(uint16_t)turn * dticks);
    if ((flags & SIM_FLAG_DEAD) || (move == 0 && b->vx == 0 && b->vy == 0))
        return; /* at rest and staying so: gliding changes nothing */
    sim_player p;
    sim_player_from_net(b, &p);
    const float dt = 1.0f / (float)tick_rate;
    for (uint32_t i = 0; i < dticks; i++)
        sim_player_glide(&p, move, dt);
    sim_netent n;
    sim_player_to_net(&p, &n);
    out->x = n.x;
    out->y = n.y;
    out->vx = n.vx;
    out->vy = n.vy;
}

static uint32_t residual(uint16_t cur, uint16_t pred)
{
    return bits_zigzag((int16_t)(uint16_t)(cur - pred));
}

static uint16_t unresidual(uint32_t code, uint16_t pred)
{
    return (uint16_t)(pred + bits_unzigzag(code));
}

static int stats_same(const sim_netent *a, const sim_netent *b)
{
    return a->kills == b->kills && a->deaths == b->deaths && a->score == b->score && a->hits == b->hits;
}

static int netent_same(const sim_netent *a, const sim_netent *b)
{
    return a->x == b->x && a->y == b->y && a->vx == b->vx && a->vy == b->vy && a->aim == b->aim &&
           a->turn == b->turn && a->move == b->move && a->flags == b->flags && a->health == b->health && a->life == b->life && stats_same(a, b);
}

static int match_state_same(const proto_match_state *a, const proto_match_state *b)
{
    return a->phase == b->phase && a->min_players == b->min_players && a->round == b->round &&
           a->score_limit == b->score_limit && a->end_tick == b->end_tick;
}

static void write_delta16(bits_writer *w, uint16_t cur, uint16_t base)
{
    bits_write_class(w, bits_zigzag((int16_t)(uint16_t)(cur - base)), W_STAT);
}

static uint16_t read_delta16(bits_reader *r, uint16_t base)
{
    return (uint16_t)(base + bits_unzigzag(bits_read_class(r, W_STAT)));
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
    bits_write(w, (uint16_t)e->turn, 16);
    bits_write(w, e->move & SIM_BTN_MOVE, 4);
    bits_write(w, e->flags, 8);
    bits_write(w, e->health, 8);
    bits_write(w, e->life, 8);
    bits_write(w, e->kills, 16);
    bits_write(w, e->deaths, 16);
    bits_write(w, e->score, 16);
    bits_write(w, e->hits, 16);
    bits_write(w, (uint32_t)n, 5);
    for (size_t i = 0; i < n; i++)
        bits_write(w, (uint8_t)name[i], 8);
}

static void write_change(bits_writer *w, const sim_netent *b, const sim_netent *c,
                         uint32_t dticks, uint16_t tick_rate)
{
    sim_netent p;
    predict(b, c->move, c->turn, c->flags, dticks, tick_rate, &p);
    uint32_t ext = (c->flags != b->flags ? X_FLAGS : 0) | (c->health != b->health ? X_HEALTH : 0) |
                   (c->life != b->life ? X_LIFE : 0) | (!stats_same(c, b) ? X_STATS : 0);
    uint32_t mask = (c->x != p.x ? F_X : 0) | (c->y != p.y ? F_Y : 0) | (c->vx != p.vx ? F_VX : 0) |
                    (c->vy != p.vy ? F_VY : 0) | (c->aim != p.aim ? F_AIM : 0) | (ext ? F_EXT : 0) |
                    (c->turn != b->turn ? F_TURN : 0) | (c->move != b->move ? F_MOVE : 0);
    bits_write(w, OP_CHANGE, 2);
    bits_write(w, mask, F_BITS);
    if (mask & F_MOVE)
        bits_write(w, c->move & SIM_BTN_MOVE, 4);
    if (mask & F_TURN)
        bits_write_class(w, bits_zigzag((int16_t)(uint16_t)(c->turn - b->turn)), W_AIM);
    if (ext) {
        bits_write(w, ext, X_BITS);
        if (ext & X_FLAGS)
            bits_write(w, c->flags, 8);
        if (ext & X_HEALTH)
            bits_write(w, c->health, 8);
        if (ext & X_LIFE)
            bits_write(w, c->life, 8);
        if (ext & X_STATS) {
            write_delta16(w, c->kills, b->kills);
            write_delta16(w, c->deaths, b->deaths);
            write_delta16(w, c->score, b->score);
            write_delta16(w, c->hits, b->hits);
        }
    }
    if (mask & F_X)
        bits_write_class(w, residual(c->x, p.x), W_POS);
    if (mask & F_Y)
        bits_write_class(w, residual(c->y, p.y), W_POS);
    if (mask & F_VX)
        bits_write_class(w, residual((uint16_t)c->vx, (uint16_t)p.vx), W_VEL);
    if (mask & F_VY)
        bits_write_class(w, residual((uint16_t)c->vy, (uint16_t)p.vy), W_VEL);
    if (mask & F_AIM)
        bits_write_class(w, residual(c->aim, p.aim), W_AIM);
}

/* Present in the baseline and now, same occupant: 1 when it is exactly
 * its prediction (no entry). */
static int as_predicted(const sim_netent *b, const sim_netent *c, uint32_t dticks, uint16_t tick_rate)
{
    sim_netent p;
    predict(b, b->move, b->turn, b->flags, dticks, tick_rate, &p);
    return netent_same(&p, c);
}

static void write_match_state(bits_writer *w, const proto_match_state *ms)
{
    bits_write(w, ms->phase, 8);
    bits_write(w, ms->min_players, 8);
    bits_write(w, ms->round, 16);
    bits_write(w, ms->score_limit, 16);
    bits_write(w, ms->end_tick, 32);
}

size_t proto_snapshot_body_write(const proto_snapshot *base, const proto_snapshot *cur,
                                 const proto_names *names, uint16_t tick_rate,
                                 uint8_t *buf, size_t cap)
{
    bits_writer w;
    bits_writer_init(&w, buf, cap);
    bits_write(&w, 0, 8); /* entry count, patched below */
    int ms_changed = !base || !match_state_same(&base->ms, &cur->ms);
    bits_write(&w, (uint32_t)ms_changed, 8);
    if (ms_changed)
        write_match_state(&w, &cur->ms);
    uint32_t dticks = base ? cur->tick - base->tick : 0;
    int count = 0, prev = -1;
    for (int id = 0; id < PROTO_MAX_ENTITIES; id++) {
        int in_base = base && base->present[id];
        int in_cur = cur->present[id];
        int op;
        if (in_cur && (!in_base || base->gen[id] != cur->gen[id]))
            op = OP_ADD;
        else if (in_cur && !as_predicted(&base->ent[id], &cur->ent[id], dticks, tick_rate))
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
    e->turn = (int16_t)(uint16_t)bits_read(r, 16);
    e->move = (uint8_t)bits_read(r, 4);
    e->flags = (uint8_t)bits_read(r, 8);
    e->health = (uint8_t)bits_read(r, 8);
    e->life = (uint8_t)bits_read(r, 8);
    e->kills = (uint16_t)bits_read(r, 16);
    e->deaths = (uint16_t)bits_read(r, 16);
    e->score = (uint16_t)bits_read(r, 16);
    e->hits = (uint16_t)bits_read(r, 16);
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
    uint8_t move = mask & F_MOVE ? (uint8_t)bits_read(r, 4) : b->move;
    int16_t turn = mask & F_TURN ? (int16_t)(uint16_t)(b->turn + bits_unzigzag(bits_read_class(r, W_AIM))) : b->turn;
    uint32_t ext = mask & F_EXT ? bits_read(r, X_BITS) : 0;
    c->flags = ext & X_FLAGS ? (uint8_t)bits_read(r, 8) : b->flags;
    c->health = ext & X_HEALTH ? (uint8_t)bits_read(r, 8) : b->health;
    c->life = ext & X_LIFE ? (uint8_t)bits_read(r, 8) : b->life;
    if (ext & X_STATS) {
        c->kills = read_delta16(r, b->kills);
        c->deaths = read_delta16(r, b->deaths);
        c->score = read_delta16(r, b->score);
        c->hits = read_delta16(r, b->hits);
    } else {
        c->kills = b->kills;
        c->deaths = b->deaths;
        c->score = b->score;
        c->hits = b->hits;
    }
    sim_netent p;
    predict(b, move, turn, c->flags, dticks, tick_rate, &p);
    c->move = move;
    c->turn = turn;
    c->x = unresidual(mask & F_X ? bits_read_class(r, W_POS) : 0, p.x);
    c->y = unresidual(mask & F_Y ? bits_read_class(r, W_POS) : 0, p.y);
    c->vx = (int16_t)unresidual(mask & F_VX ? bits_read_class(r, W_VEL) : 0, (uint16_t)p.vx);
    c->vy = (int16_t)unresidual(mask & F_VY ? bits_read_class(r, W_VEL) : 0, (uint16_t)p.vy);
    c->aim = unresidual(mask & F_AIM ? bits_read_class(r, W_AIM) : 0, p.aim);
}

/* The entities of the baseline in ids [from, to) that the body does not
 * list: each becomes its prediction. */
static void predict_unlisted(proto_snapshot *out, int from, int to, uint32_t dticks, uint16_t tick_rate)
{
    for (int id = from; id < to; id++) {
        if (!out->present[id])
            continue;
        sim_netent b = out->ent[id];
        predict(&b, b.move, b.turn, b.flags, dticks, tick_rate, &out->ent[id]);
    }
}

int proto_snapshot_body_read(const proto_snapshot *base, proto_snapshot *out,
                             proto_names *names, uint16_t tick_rate,
                             const uint8_t *buf, size_t len)
{
    uint32_t tick = out->tick;
    if (base == out)
        return PROTO_ERR_VALUE; /* the baseline's tick would be gone */
    if (base) {
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
    uint32_t ms_changed = bits_read(&r, 8);
    if (!r.error && (ms_changed > 1 || (!base && !ms_changed)))
        return PROTO_ERR_VALUE; /* a full snapshot always carries the match state */
    if (ms_changed) {
        out->ms.phase = (uint8_t)bits_read(&r, 8);
        out->ms.min_players = (uint8_t)bits_read(&r, 8);
        out->ms.round = (uint16_t)bits_read(&r, 16);
        out->ms.score_limit = (uint16_t)bits_read(&r, 16);
        out->ms.end_tick = bits_read(&r, 32);
        if (!r.error && out->ms.phase > PROTO_PHASE_ENDED)
            return PROTO_ERR_VALUE;
    }
    int prev = -1;
    for (uint32_t i = 0; i < count && !r.error; i++) {
        int id = prev + 1 + (int)bits_read_class(&r, W_ID_GAP);
        uint32_t op = bits_read(&r, 2);
        if (r.error)
            break;
        if (id >= PROTO_MAX_ENTITIES)
            return PROTO_ERR_VALUE;
        if (base)
            predict_unlisted(out, prev + 1, id, dticks, tick_rate);
        prev = id;
        if (op == OP_ADD) {
            read_add(&r, &out->ent[id], names->name[id]);
            if (!r.error && out->ent[id].health > SIM_MAX_HEALTH)
                return PROTO_ERR_VALUE;
            out->present[id] = 1;
            out->gen[id]++;
        } else if (op == OP_CHANGE) {
            if (!out->present[id])
                return PROTO_ERR_VALUE;
            sim_netent before = out->ent[id];
            read_change(&r, &before, &out->ent[id], dticks, tick_rate);
            if (!r.error && out->ent[id].health > SIM_MAX_HEALTH)
                return PROTO_ERR_VALUE;
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
    if (base)
        predict_unlisted(out, prev + 1, PROTO_MAX_ENTITIES, dticks, tick_rate);
    /* Only the padding of the last byte may remain, and it must be zero
     * (PROTOCOL.md section 2): a set bit there is a writer's bug. */
    size_t left = bits_reader_left(&r);
    if (left >= 8)
        return PROTO_ERR_TRAILING;
    if (left && bits_read(&r, (int)left) != 0)
        return PROTO_ERR_VALUE;
    return PROTO_OK;
}
