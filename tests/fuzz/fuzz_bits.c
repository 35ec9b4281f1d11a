/* fuzz_bits: shared/bits.c's reader on arbitrary bytes, driven by the data.
 *
 * Input: ctrl_len:u8, ctrl_len control bytes, then the payload the reader
 * runs over. Each control byte is one operation (op = b >> 6):
 *   0  bits_read of b & 63 bits (33..63 must fail)
 *   1  bits_read_class with a proto.c table (b & 3) or, when b & 4, custom
 *      widths 0..39 taken from the next control bytes
 *   2  zigzag round trip of an int32 taken from the next control bytes
 *   3  bits_reader_left, and a bits_write of b & 63 bits on a scratch writer
 * Every read is compared with a bit-at-a-time model of the documented
 * packing (LSB first, sticky error, no movement on error). Every value read
 * is written again, same widths, by a bits_writer: at the end its bytes
 * must be the payload prefix that was read, padding bits zero. A class
 * value must also survive bits_write_class (the smallest class) and
 * bits_read_class. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bits.h"
#include "fuzz_common.h"

/* The tables of shared/proto.c (static there). */
static const uint8_t TABLES[4][4] = {{0, 2, 4, 8}, {3, 6, 10, 16}, {4, 8, 11, 16}, {4, 8, 12, 16}};

typedef struct model {
    const uint8_t *buf;
    size_t len, pos;
    int error;
} model;

static uint32_t model_read(model *m, int n)
{
    if (m->error || n > 32 || m->pos + (size_t)n > m->len * 8) {
        m->error = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++, m->pos++)
        v |= (uint64_t)((m->buf[m->pos / 8] >> (m->pos % 8)) & 1u) << i;
    return (uint32_t)v;
}

static void check_same(const bits_reader *r, const model *m, uint32_t got, uint32_t want)
{
    FZ_CHECK(got == want);
    FZ_CHECK(!!r->error == m->error);
    FZ_CHECK(r->pos == m->pos);
    FZ_CHECK(bits_reader_left(r) == r->len * 8 - r->pos);
}

/* Writes v with bits_write_class on a scratch buffer and reads it back. */
static void check_class_round_trip(uint32_t v, const uint8_t widths[4])
{
    for (int k = 0; k < 4; k++)
        if (widths[k] > 32)
            return; /* widths are compile-time constants <= 32 in the codec */
    uint8_t buf[8];
    bits_writer w;
    bits_writer_init(&w, buf, sizeof buf);
    bits_write_class(&w, v, widths);
    FZ_CHECK(!w.error);
    bits_reader r;
    bits_reader_init(&r, buf, bits_writer_bytes(&w));
    FZ_CHECK(bits_read_class(&r, widths) == v && !r.error && r.pos == w.pos);
}

static int32_t take_i32(const uint8_t *ctrl, size_t clen, size_t *i)
{
    uint32_t v = 0;
    for (int k = 0; k < 4 && *i < clen; k++)
        v |= (uint32_t)ctrl[(*i)++] << (8 * k);
    return (int32_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t clen = data[0] < size - 1 ? data[0] : size - 1;
    const uint8_t *ctrl = data + 1;
    const uint8_t *payload = data + 1 + clen;
    size_t plen = size - 1 - clen;

    bits_reader r;
    bits_reader_init(&r, payload, plen);
    model m = {payload, plen, 0, 0};
    static uint8_t mirror_buf[4096];
    bits_writer mirror;
    bits_writer_init(&mirror, mirror_buf, plen < sizeof mirror_buf ? plen : sizeof mirror_buf);
    uint8_t scratch_buf[4];
    bits_writer scratch;
    bits_writer_init(&scratch, scratch_buf, sizeof scratch_buf);

    for (size_t i = 0; i < clen;) {
        uint8_t b = ctrl[i++];
        int n = b & 63;
        switch (b >> 6) {
        case 0: {
            uint32_t v = bits_read(&r, n);
            check_same(&r, &m, v, model_read(&m, n));
            if (!r.error)
                bits_write(&mirror, v, n);
            break;
        }
        case 1: {
            uint8_t widths[4];
            if (b & 4) {
                for (int k = 0; k < 4; k++)
                    widths[k] = (uint8_t)(i < clen ? ctrl[i++] % 40 : 0);
            } else {
                memcpy(widths, TABLES[b & 3], sizeof widths);
            }
            uint32_t v = bits_read_class(&r, widths);
            uint32_t k = model_read(&m, 2);
            check_same(&r, &m, v, model_read(&m, widths[k]));
            if (!r.error) {
                bits_write(&mirror, k, 2);
                bits_write(&mirror, v, widths[k]);
                check_class_round_trip(v, widths);
            }
            break;
        }
        case 2: {
            int32_t v = take_i32(ctrl, clen, &i);
            uint32_t z = bits_zigzag(v);
            FZ_CHECK(bits_unzigzag(z) == v);
            int64_t want = v >= 0 ? 2 * (int64_t)v : -2 * (int64_t)v - 1;
            FZ_CHECK((int64_t)z == want);
            break;
        }
        default: {
            FZ_CHECK(bits_reader_left(&r) == plen * 8 - r.pos);
            int err_before = scratch.error;
            size_t pos_before = scratch.pos;
            bits_write(&scratch, 0xa5a5a5a5u, n);
            int should_fail = err_before || n > 32 || pos_before + (size_t)n > sizeof scratch_buf * 8;
            FZ_CHECK(!!scratch.error == should_fail);
            FZ_CHECK(scratch.pos == (should_fail ? pos_before : pos_before + (size_t)n));
            if (scratch.error)
                bits_writer_init(&scratch, scratch_buf, sizeof scratch_buf);
            break;
        }
        }
    }

    /* Writing back what was read gives the bytes that were read. */
    if (!r.error && plen <= sizeof mirror_buf) {
        FZ_CHECK(!mirror.error && mirror.pos == r.pos);
        size_t nbytes = bits_writer_bytes(&mirror);
        FZ_CHECK(nbytes == (r.pos + 7) / 8);
        for (size_t k = 0; k < nbytes; k++) {
            uint8_t want = payload[k];
            if (k == nbytes - 1 && r.pos % 8)
                want &= (uint8_t)((1u << (r.pos % 8)) - 1u);
            FZ_CHECK(mirror_buf[k] == want);
        }
    }
    return 0;
}
