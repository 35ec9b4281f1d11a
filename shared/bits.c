/* bits: see bits.h. Simple bit loops over bytes; the messages are tens to a
 * few hundred bytes, and one encode is shared by every client on the same
 * baseline, so clarity wins over word-at-a-time tricks. */
#include "bits.h"

void bits_writer_init(bits_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->pos = 0;
    w->error = 0;
}

void bits_write(bits_writer *w, uint32_t v, int n)
{
    if (w->error)
        return;
    if (n < 0 || n > 32 || w->pos + (size_t)n > w->cap * 8) {
        w->error = 1;
        return;
    }
    while (n > 0) {
        size_t byte = w->pos >> 3;
        int bit = (int)(w->pos & 7);
        int take = 8 - bit < n ? 8 - bit : n;
        uint8_t mask = (uint8_t)(((1u << take) - 1u) << bit);
        if (bit == 0)
            w->buf[byte] = 0;
        w->buf[byte] = (uint8_t)((w->buf[byte] & ~mask) | ((v << bit) & mask));
        v = take == 32 ? 0 : v >> take;
        w->pos += (size_t)take;
        n -= take;
    }
}

size_t bits_writer_bytes(const bits_writer *w)
{
    return (w->pos + 7) >> 3;
}

void bits_reader_init(bits_reader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->error = 0;
}

uint32_t bits_read(bits_reader *r, int n)
{
    if (r->error)
        return 0;
    if (n < 0 || n > 32 || r->pos + (size_t)n > r->len * 8) {
        r->error = 1;
        return 0;
    }
    uint32_t v = 0;
    int got = 0;
    while (got < n) {
        size_t byte = r->pos >> 3;
        int bit = (int)(r->pos & 7);
        int take = 8 - bit < n - got ? 8 - bit : n - got;
        uint32_t part = ((uint32_t)r->buf[byte] >> bit) & ((1u << take) - 1u);
        v |= part << got;
        got += take;
        r->pos += (size_t)take;
    }
    return v;
}

size_t bits_reader_left(const bits_reader *r)
{
    return r->len * 8 - r->pos;
}

void bits_write_class(bits_writer *w, uint32_t v, const uint8_t widths[4])
{
    for (uint32_t k = 0; k < 4; k++) {
        int width = widths[k];
        if (width == 32 || v < (1u << width)) {
            bits_write(w, k, 2);
            bits_write(w, v, width);
            return;
        }
    }
    w->error = 1;
}

uint32_t bits_read_class(bits_reader *r, const uint8_t widths[4])
{
    uint32_t k = bits_read(r, 2);
    return bits_read(r, widths[k]);
}
