/* bits: bounded bit-level writer and reader for the wire codec.
 *
 * Bits are packed least-significant first: stream bit i lives in byte i/8 at
 * bit i%8. A field of 8, 16 or 32 bits written at a byte boundary therefore
 * reads as a little-endian integer in a hex dump, which keeps the protocol
 * document simple. Both sides carry a sticky error flag: writing past the
 * capacity or reading past the end sets it, and every later call is a no-op
 * (reads return 0). Callers check the flag once at the end, as in Quake 3's
 * msg_t "overflowed". No allocation, no I/O. */
#ifndef TW_BITS_H
#define TW_BITS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bits_writer {
    uint8_t *buf;
    size_t cap;    /* bytes */
    size_t pos;    /* bits written */
    int error;
} bits_writer;

typedef struct bits_reader {
    const uint8_t *buf;
    size_t len;    /* bytes */
    size_t pos;    /* bits read */
    int error;
} bits_reader;

void bits_writer_init(bits_writer *w, uint8_t *buf, size_t cap);
/* Writes the low n bits of v (0 <= n <= 32). */
void bits_write(bits_writer *w, uint32_t v, int n);
/* Bytes used so far, the last one padded with zero bits. */
size_t bits_writer_bytes(const bits_writer *w);

void bits_reader_init(bits_reader *r, const uint8_t *buf, size_t len);
uint32_t bits_read(bits_reader *r, int n);
/* Bits not yet read. */
size_t bits_reader_left(const bits_reader *r);

/* Unsigned value in one of four widths: a 2-bit class selects widths[k],
 * then that many bits follow. The writer picks the smallest class that
 * fits; a value wider than widths[3] sets the error flag. */
void bits_write_class(bits_writer *w, uint32_t v, const uint8_t widths[4]);
uint32_t bits_read_class(bits_reader *r, const uint8_t widths[4]);

/* Zigzag maps small signed numbers to small unsigned ones: 0,-1,1,-2 -> 0,1,2,3. */
static inline uint32_t bits_zigzag(int32_t v) { return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31); }
static inline int32_t bits_unzigzag(uint32_t u) { return (int32_t)(u >> 1) ^ -(int32_t)(u & 1); }

#endif
