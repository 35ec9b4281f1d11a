/* ws_frame: the server's side of WebSocket framing (RFC 6455 section 5),
 * for the native connections (ws_native.h). A reader that takes the
 * client's bytes as they come, however the reads cut them, unmasks them in
 * place and hands each piece of a data message on at once (no per
 * connection message buffer: the session reassembles, as it does for
 * libwebsockets' pieces); and the writers of the server's unmasked frames.
 *
 * What it checks (a violation ends the read with 1002): every client frame
 * masked; no reserved bit (no extension is ever negotiated); known
 * opcodes; control frames final and at most 125 bytes; continuation only
 * inside a fragmented message, a new data frame only outside one; a 64-bit
 * length with its top bit clear; a close payload of 0 or 2+ bytes with a
 * code a peer may send (section 7.4).
 *
 * What it does not do: sockets, UTF-8 checks of text (the game speaks
 * binary; the session refuses text), extensions. Pure; no allocation;
 * O(bytes fed). */
#ifndef TW_WS_FRAME_H
#define TW_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WS_FRAME_MAX_HEADER 10   /* a server frame's header: 2, 4 or 10 bytes */
#define WS_FRAME_CONTROL_MAX 125 /* a control frame's payload */

enum { WS_OP_CONT = 0, WS_OP_TEXT = 1, WS_OP_BINARY = 2, WS_OP_CLOSE = 8, WS_OP_PING = 9, WS_OP_PONG = 10 };

enum { WS_FRAME_STOP = 1 }; /* ws_frame_feed: a callback stopped the read */

typedef struct ws_frame_rx {
    uint64_t left;                 /* payload bytes of the current frame not yet read */
    uint8_t hdr[14];               /* the current frame's header, as it arrives */
    uint8_t hdr_have;              /* bytes of it read; 0 between frames */
    uint8_t in_payload;            /* the header is whole, the payload is being read */
    uint8_t opcode, fin;           /* the current frame's */
    uint8_t mask[4], mask_pos;     /* its key, and the key byte the next payload byte takes */
    uint8_t in_message;            /* a fragmented data message is open */
    uint8_t message_text;          /* ... and it is text */
    uint8_t ctl_len;               /* a control frame's payload read so far */
    uint8_t ctl[WS_FRAME_CONTROL_MAX];
} ws_frame_rx;

typedef struct ws_frame_sink {
    /* A piece of a data message, unmasked: `pending` more bytes follow in
     * this frame; `last`: the message ends with this piece. (A frame of 0
     * bytes comes as a piece of 0 bytes.) Nonzero stops the read. */
    int (*data)(void *user, const uint8_t *p, size_t len, size_t pending, int last, int text);
    /* A whole control frame (close, ping, pong), unmasked; a close's code
     * has been checked. Nonzero stops the read. */
    int (*control)(void *user, int opcode, const uint8_t *p, size_t len);
    void *user;
} ws_frame_sink;

void ws_frame_rx_init(ws_frame_rx *rx);
/* Reads buf[0..len) (unmasking it in place). Returns 0 when every byte
 * was read, WS_FRAME_STOP when a callback returned nonzero (the rest is
 * not read), or 1002 for a violation (the connection is to be closed with
 * it; the reader is not to be fed again). */
int ws_frame_feed(ws_frame_rx *rx, uint8_t *buf, size_t len, const ws_frame_sink *sink);

/* Writes the header of a final, unmasked server frame of `len` payload
 * bytes so that it ends at `end` (the payload's first byte): returns its
 * length n, the header being end[-n..0). Needs WS_FRAME_MAX_HEADER bytes
 * before `end`. */
size_t ws_frame_header_before(uint8_t *end, int opcode, size_t len);
/* A whole close frame (header and payload: the code, then as much of the
 * reason as fits in 123 bytes) into out (cap >= 2 + WS_FRAME_CONTROL_MAX).
 * Returns its length. */
size_t ws_frame_close(uint8_t *out, uint16_t code, const char *reason);
/* Whether a peer may send this close code (RFC 6455 section 7.4). */
int ws_frame_close_code_ok(unsigned code);

#endif
