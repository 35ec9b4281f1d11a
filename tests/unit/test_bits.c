/* Unit tests for shared/bits.c: the bounded bit writer/reader under the wire
 * codec. Round trips at every width and bit offset, the exact LSB-first
 * layout (docs/PROTOCOL.md relies on it), the sticky error flag on both
 * sides, and the limits of the 2-bit size-class coding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bits.h"
#include "sim.h"

static uint32_t mask_of(int n)
{
    return n == 32 ? 0xffffffffu : (1u << n) - 1u;
}

static uint32_t rnd32(uint64_t *s)
{
    return (uint32_t)(sim_rand_next(s) >> 32);
}

/* Every width 0..32 at every bit offset 0..15: a filler of `off` bits, a set
 * of interesting values, and a marker after them must all read back, and
 * bits of v above n must be ignored by the writer. */
static void test_round_trip_every_width_and_offset(void **state)
{
    (void)state;
    uint64_t seed = 1;
    for (int n = 0; n <= 32; n++) {
        for (int off = 0; off < 16; off++) {
            uint32_t vals[6] = {0, mask_of(n), 0xaaaaaaaau & mask_of(n), 0x55555555u & mask_of(n),
                                rnd32(&seed) & mask_of(n), n ? 1u << (n - 1) : 0};
            uint8_t buf[64];
            memset(buf, 0xcc, sizeof buf);
            bits_writer w;
            bits_writer_init(&w, buf, sizeof buf);
            bits_write(&w, 0x5a5a & mask_of(off), off);
            for (int i = 0; i < 6; i++)
                bits_write(&w, vals[i] | ~mask_of(n), n); /* garbage above n */
            bits_write(&w, 0x2d, 7);
            assert_int_equal(w.error, 0);
            assert_int_equal(w.pos, (size_t)(off + 6 * n + 7));
            size_t bytes = bits_writer_bytes(&w);
            assert_int_equal(bytes, (w.pos + 7) / 8);
            /* Padding above the last written bit is zero. */
            if (w.pos % 8)
                assert_int_equal(buf[bytes - 1] >> (w.pos % 8), 0);

            bits_reader r;
            bits_reader_init(&r, buf, bytes);
            assert_int_equal(bits_read(&r, off), 0x5a5a & mask_of(off));
            for (int i = 0; i < 6; i++)
                assert_int_equal(bits_read(&r, n), vals[i]);
            assert_int_equal(bits_read(&r, 7), 0x2d);
            assert_int_equal(r.error, 0);
            assert_true(bits_reader_left(&r) < 8);
        }
    }
}

/* A long stream of random widths and values. */
static void test_round_trip_random_stream(void **state)
{
    (void)state;
    enum { N = 4000 };
    static uint8_t buf[N * 4 + 8];
    static uint32_t val[N];
    static int width[N];
    uint64_t seed = 42;
    bits_writer w;
    bits_writer_init(&w, buf, sizeof buf);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        width[i] = (int)(rnd32(&seed) % 33);
        val[i] = rnd32(&seed) & mask_of(width[i]);
        bits_write(&w, val[i], width[i]);
        total += (size_t)width[i];
    }
    assert_int_equal(w.error, 0);
    assert_int_equal(w.pos, total);
    bits_reader r;
    bits_reader_init(&r, buf, bits_writer_bytes(&w));
    for (int i = 0; i < N; i++)
        assert_int_equal(bits_read(&r, width[i]), val[i]);
    assert_int_equal(r.error, 0);
}

/* Stream bit i is byte i/8, bit i%8; byte-aligned 16/32-bit fields read as
 * little-endian integers. */
static void test_lsb_first_layout(void **state)
{
    (void)state;
    uint8_t buf[16];
    memset(buf, 0xff, sizeof buf); /* the writer must not depend on old contents */
    bits_writer w;
    bits_writer_init(&w, buf, sizeof buf);
    bits_write(&w, 1, 1);
    bits_write(&w, 5, 3);
    bits_write(&w, 0xa, 4);
    bits_write(&w, 0x1234, 16);
    bits_write(&w, 0xdeadbeefu, 32);
    bits_write(&w, 0x3, 2); /* 0b11 in the low bits of the next byte */
    bits_write(&w, 0x1ff, 9); /* straddles: 6 bits here, 3 in the next */
    assert_int_equal(w.error, 0);
    assert_int_equal(bits_writer_bytes(&w), 9);
    const uint8_t want[9] = {0xab, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde, 0xff, 0x07};
    assert_memory_equal(buf, want, sizeof want);
}

static void test_writer_fills_exact_capacity(void **state)
{
    (void)state;
    uint8_t buf[5];
    bits_writer w;
    bits_writer_init(&w, buf, 4);
    buf[4] = 0x77;
    bits_write(&w, 0x7fffffff, 31);
    bits_write(&w, 1, 1);
    assert_int_equal(w.error, 0);
    assert_int_equal(bits_writer_bytes(&w), 4);
    bits_write(&w, 0, 0); /* zero bits at the very end is fine */
    assert_int_equal(w.error, 0);
    assert_int_equal(buf[4], 0x77);
}

/* Overflow sets the flag, writes nothing past the capacity, and every
 * later write is a no-op even if it would have fit. */
static void test_writer_sticky_error(void **state)
{
    (void)state;
    uint8_t buf[4] = {0, 0, 0x99, 0x99};
    bits_writer w;
    bits_writer_init(&w, buf, 2);
    bits_write(&w, 0xabc, 12);
    assert_int_equal(w.error, 0);
    bits_write(&w, 0x1f, 5); /* 17 bits > 16 */
    assert_int_equal(w.error, 1);
    assert_int_equal(w.pos, 12);
    bits_write(&w, 0x1, 1); /* would fit, but the flag is sticky */
    bits_write(&w, 0, 0);
    assert_int_equal(w.error, 1);
    assert_int_equal(w.pos, 12);
    assert_int_equal(buf[2], 0x99);
    assert_int_equal(buf[3], 0x99);
    assert_int_equal(buf[0], 0xbc);
    assert_int_equal(buf[1] & 0x0f, 0x0a);

    uint8_t b2[8];
    bits_writer_init(&w, b2, sizeof b2);
    bits_write(&w, 0, 33);
    assert_int_equal(w.error, 1);
    bits_writer_init(&w, b2, sizeof b2);
    bits_write(&w, 0, -1);
    assert_int_equal(w.error, 1);
    bits_writer_init(&w, NULL, 0);
    bits_write(&w, 1, 1);
    assert_int_equal(w.error, 1);
    assert_int_equal(bits_writer_bytes(&w), 0);
}

/* Underflow returns 0, consumes nothing, and sticks. */
static void test_reader_sticky_error(void **state)
{
    (void)state;
    const uint8_t buf[2] = {0xff, 0xff};
    bits_reader r;
    bits_reader_init(&r, buf, sizeof buf);
    assert_int_equal(bits_read(&r, 12), 0xfff);
    assert_int_equal(bits_reader_left(&r), 4);
    assert_int_equal(bits_read(&r, 8), 0); /* only 4 left */
    assert_int_equal(r.error, 1);
    assert_int_equal(bits_reader_left(&r), 4);
    assert_int_equal(bits_read(&r, 4), 0); /* would fit; sticky */
    assert_int_equal(bits_read(&r, 0), 0);
    assert_int_equal(r.error, 1);

    bits_reader_init(&r, buf, sizeof buf);
    assert_int_equal(bits_read(&r, 33), 0);
    assert_int_equal(r.error, 1);
    bits_reader_init(&r, buf, sizeof buf);
    assert_int_equal(bits_read(&r, -1), 0);
    assert_int_equal(r.error, 1);
    bits_reader_init(&r, NULL, 0);
    assert_int_equal(bits_read(&r, 0), 0);
    assert_int_equal(r.error, 0);
    assert_int_equal(bits_read(&r, 1), 0);
    assert_int_equal(r.error, 1);

    /* Exactly consuming the buffer is not an error. */
    bits_reader_init(&r, buf, sizeof buf);
    assert_int_equal(bits_read(&r, 16), 0xffff);
    assert_int_equal(r.error, 0);
    assert_int_equal(bits_reader_left(&r), 0);
}

/* Writes v with the widths and returns the bits used (0 on error). */
static size_t class_bits(uint32_t v, const uint8_t widths[4], uint32_t *back)
{
    uint8_t buf[8];
    bits_writer w;
    bits_writer_init(&w, buf, sizeof buf);
    bits_write_class(&w, v, widths);
    if (w.error)
        return 0;
    bits_reader r;
    bits_reader_init(&r, buf, bits_writer_bytes(&w));
    *back = bits_read_class(&r, widths);
    assert_int_equal(r.error, 0);
    return w.pos;
}

/* The writer picks the smallest class that fits; the class is a 2-bit
 * prefix; values wider than the largest class are an error. */
static void test_class_coding_limits(void **state)
{
    (void)state;
    static const uint8_t gap[4] = {0, 2, 4, 8};
    struct { uint32_t v; size_t bits; } cases[] = {
        {0, 2}, {1, 4}, {3, 4}, {4, 6}, {15, 6}, {16, 10}, {255, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t back = 12345;
        assert_int_equal(class_bits(cases[i].v, gap, &back), cases[i].bits);
        assert_int_equal(back, cases[i].v);
    }
    uint32_t back;
    assert_int_equal(class_bits(256, gap, &back), 0);
    assert_int_equal(class_bits(0xffffffffu, gap, &back), 0);

    static const uint8_t pos[4] = {3, 6, 10, 16};
    assert_int_equal(class_bits(7, pos, &back), 5);
    assert_int_equal(class_bits(8, pos, &back), 8);
    assert_int_equal(class_bits(1023, pos, &back), 12);
    assert_int_equal(back, 1023);
    assert_int_equal(class_bits(1024, pos, &back), 18);
    assert_int_equal(class_bits(65535, pos, &back), 18);
    assert_int_equal(back, 65535);
    assert_int_equal(class_bits(65536, pos, &back), 0);

    static const uint8_t wide[4] = {1, 8, 16, 32};
    assert_int_equal(class_bits(0xffffffffu, wide, &back), 34);
    assert_int_equal(back, 0xffffffffu);
    assert_int_equal(class_bits(0x10000, wide, &back), 34);
    assert_int_equal(back, 0x10000);

    /* The class prefix is the low 2 bits of the first byte. */
    uint8_t buf[4];
    bits_writer w;
    bits_writer_init(&w, buf, sizeof buf);
    bits_write_class(&w, 5, gap); /* class 2, then 4 bits 0101 */
    assert_int_equal(w.pos, 6);
    assert_int_equal(buf[0], 0x2 | (5 << 2));

    /* An error in the class writer is sticky like any other. */
    bits_writer_init(&w, buf, sizeof buf);
    bits_write_class(&w, 300, gap);
    assert_int_equal(w.error, 1);
    bits_write(&w, 1, 1);
    assert_int_equal(w.pos, 0);

    /* A reader that runs out inside the class field fails. */
    bits_reader r;
    const uint8_t trunc[1] = {0x03}; /* class 3 needs 8 more bits */
    bits_reader_init(&r, trunc, 1);
    assert_int_equal(bits_read_class(&r, gap), 0);
    assert_int_equal(r.error, 1);
}

static void test_zigzag(void **state)
{
    (void)state;
    assert_int_equal(bits_zigzag(0), 0);
    assert_int_equal(bits_zigzag(-1), 1);
    assert_int_equal(bits_zigzag(1), 2);
    assert_int_equal(bits_zigzag(-2), 3);
    assert_int_equal(bits_zigzag(2), 4);
    assert_int_equal(bits_zigzag(INT32_MAX), 0xfffffffeu);
    assert_int_equal(bits_zigzag(INT32_MIN), 0xffffffffu);
    /* The int16 range maps onto exactly 16 bits. */
    assert_int_equal(bits_zigzag(INT16_MAX), 0xfffe);
    assert_int_equal(bits_zigzag(INT16_MIN), 0xffff);
    for (int32_t v = -70000; v <= 70000; v++)
        assert_int_equal(bits_unzigzag(bits_zigzag(v)), v);
    assert_int_equal(bits_unzigzag(bits_zigzag(INT32_MAX)), INT32_MAX);
    assert_int_equal(bits_unzigzag(bits_zigzag(INT32_MIN)), INT32_MIN);
    for (uint32_t u = 0; u < 100000; u++)
        assert_int_equal(bits_zigzag(bits_unzigzag(u)), u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_width_and_offset),
        cmocka_unit_test(test_round_trip_random_stream),
        cmocka_unit_test(test_lsb_first_layout),
        cmocka_unit_test(test_writer_fills_exact_capacity),
        cmocka_unit_test(test_writer_sticky_error),
        cmocka_unit_test(test_reader_sticky_error),
        cmocka_unit_test(test_class_coding_limits),
        cmocka_unit_test(test_zigzag),
    };
    return cmocka_run_group_tests_name("bits", tests, NULL, NULL);
}
