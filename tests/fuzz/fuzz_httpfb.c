/* fuzz_httpfb: the HTTP fallback's readers of network bytes (server/httpfb.c):
 * the POST /tw/input body parser, the ?sid= reader and the credential read
 * from a POST /tw/session JOIN, plus the session table driven by a script
 * (open, find, credential check, POST charge, deadlines, close).
 *
 * Checked on every input:
 *   - a body the parser takes is exactly its frames back to back (written
 *     again with httpfb_frame, they are the body byte for byte), of kinds
 *     MESSAGE and CLOSE only, a CLOSE only last, at most the maximum; a
 *     body it refuses is refused whatever the frame array's size;
 *   - a sid it reads formats back to the same 32 characters;
 *   - a credential is the JOIN's token or its resume token in hex;
 *   - the table agrees with a shadow copy: every open session is found by
 *     its id with its credential and no other, closed ones are not, the
 *     count is right, and a handle (slot, generation) dies with its session.
 *
 * Framing: mode:u8 (0 body, 1 sid, 2 JOIN, 3 table script), then the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpfb.h"
#include "proto.h"

#define CHECK(x)                                                                                                   \
    do {                                                                                                           \
        if (!(x))                                                                                                  \
            abort();                                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_body(const uint8_t *d, size_t n)
{
    httpfb_frame_in f[HTTPFB_MAX_INPUT_FRAMES];
    int nf = -1;
    int err = httpfb_parse_input(d, n, f, HTTPFB_MAX_INPUT_FRAMES, &nf);
    if (err != HTTPFB_BODY_OK) {
        CHECK(err < 0 && httpfb_body_err_str(err)[0]);
        return;
    }
    CHECK(nf >= 1 && nf <= HTTPFB_MAX_INPUT_FRAMES);
    uint8_t *again = malloc(n);
    CHECK(again);
    size_t off = 0;
    for (int i = 0; i < nf; i++) {
        CHECK(f[i].kind == HTTPFB_MESSAGE || f[i].kind == HTTPFB_CLOSE);
        CHECK(f[i].kind != HTTPFB_CLOSE || (i == nf - 1 && f[i].len >= 2));
        CHECK(f[i].payload == d + off + HTTPFB_FRAME_HEADER);
        size_t w = httpfb_frame(again + off, n - off, f[i].kind, f[i].payload, f[i].len);
        CHECK(w == HTTPFB_FRAME_HEADER + f[i].len);
        if (f[i].kind == HTTPFB_CLOSE)
            CHECK(f[i].code == (uint16_t)(f[i].payload[0] | f[i].payload[1] << 8));
        off += w;
    }
    CHECK(off == n && memcmp(again, d, n) == 0);
    free(again);
    /* With room for fewer frames, the same body is too many or the same. */
    int nf2;
    int err2 = httpfb_parse_input(d, n, f, 1, &nf2);
    CHECK(nf == 1 ? err2 == HTTPFB_BODY_OK : err2 == HTTPFB_BODY_TOO_MANY);
}

static void fuzz_sid(const uint8_t *d, size_t n)
{
    char text[80];
    size_t k = n < sizeof text - 1 ? n : sizeof text - 1;
    memcpy(text, d, k);
    text[k] = '\0';
    uint8_t sid[HTTPFB_SID_LEN];
    if (httpfb_sid_parse(text, sid) != 0)
        return;
    char back[HTTPFB_SID_HEX + 1];
    httpfb_sid_format(sid, back);
    CHECK(strcmp(back, text) == 0);
}

static void fuzz_join(const uint8_t *d, size_t n)
{
    char cred[HTTPFB_MAX_CREDENTIAL + 1];
    size_t k = httpfb_join_credential(d, n, cred, sizeof cred);
    proto_join j;
    int ok = proto_join_read(d, n, &j) == 0;
    CHECK(!ok == !k);
    if (!ok)
        return;
    CHECK(strlen(cred) == k);
    if (j.token_len)
        CHECK(k == j.token_len && memcmp(cred, j.token, k) == 0);
    else
        CHECK(k == 2 * PROTO_RESUME_LEN);
}

static uint64_t rng_state;
static void fake_random(void *user, void *buf, size_t len)
{
    (void)user;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(rng_state >> 56);
    }
}

#define CAP 8
typedef struct shadow {
    httpfb_session *s;
    int slot;
    uint32_t gen;
    uint8_t sid[HTTPFB_SID_LEN];
    char cred[16];
    size_t cred_len;
} shadow;

static void fuzz_table(const uint8_t *d, size_t n)
{
    rng_state = n;
    httpfb *t = httpfb_create(CAP, fake_random, NULL);
    CHECK(t);
    shadow sh[CAP * 4];
    int nsh = 0, open = 0;
    int64_t now = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int op = d[i] & 7, arg = d[i + 1];
        now += (int64_t)(d[i] >> 3) * 50000;
        switch (op) {
        case 0: { /* open with a credential of arg % 12 characters */
            char cred[16];
            size_t cl = (size_t)(arg % 12);
            for (size_t k = 0; k < cl; k++)
                cred[k] = (char)('a' + (arg + k) % 26);
            httpfb_session *s = httpfb_open(t, now, cred, cl);
            CHECK(!s == (open == CAP));
            if (s && nsh < CAP * 4) {
                shadow *x = &sh[nsh++];
                x->s = s;
                x->slot = httpfb_slot(t, s);
                x->gen = s->gen;
                memcpy(x->sid, s->sid, HTTPFB_SID_LEN);
                memcpy(x->cred, cred, cl);
                x->cred_len = cl;
                open++;
            } else if (s) {
                httpfb_close(t, s);
            }
            break;
        }
        case 1: /* close one */
            if (nsh) {
                shadow *x = &sh[arg % nsh];
                if (x->s) {
                    httpfb_close(t, x->s);
                    x->s = NULL;
                    open--;
                }
            }
            break;
        case 2: /* the POST bucket */
            if (nsh && sh[arg % nsh].s)
                httpfb_post_charge(sh[arg % nsh].s, 1 + arg % 240, now);
            break;
        case 3: /* modes and deadlines */
            if (nsh && sh[arg % nsh].s) {
                httpfb_session *s = sh[arg % nsh].s;
                s->mode = (httpfb_mode)(arg % 3);
                s->down = arg & 8 ? (void *)s : NULL;
                int due = httpfb_due(s, now);
                CHECK(due >= HTTPFB_DUE_NONE && due <= HTTPFB_DUE_KEEPALIVE);
            }
            break;
        default: { /* a forged credential or id */
            uint8_t sid[HTTPFB_SID_LEN];
            fake_random(NULL, sid, sizeof sid);
            httpfb_session *s = httpfb_find(t, sid);
            int known = 0;
            for (int k = 0; k < nsh; k++)
                known |= sh[k].s && memcmp(sh[k].sid, sid, HTTPFB_SID_LEN) == 0;
            CHECK(!s || known);
            break;
        }
        }
        CHECK(httpfb_count(t) == open);
        for (int k = 0; k < nsh; k++) {
            httpfb_session *s = httpfb_find(t, sh[k].sid);
            if (!sh[k].s) {
                CHECK(!s && !httpfb_at(t, sh[k].slot, sh[k].gen));
                continue;
            }
            CHECK(s == sh[k].s && httpfb_at(t, sh[k].slot, sh[k].gen) == s && httpfb_of(t, s) == s);
            CHECK(httpfb_credential_ok(s, sh[k].cred, sh[k].cred_len));
            CHECK(!httpfb_credential_ok(s, "zz", 2) || (sh[k].cred_len == 2 && !memcmp(sh[k].cred, "zz", 2)));
            CHECK(sh[k].cred_len == 0 || !httpfb_credential_ok(s, sh[k].cred, sh[k].cred_len - 1));
        }
    }
    uint8_t mtxt[8192];
    CHECK(httpfb_metrics_text(t, (char *)mtxt, sizeof mtxt) > 0);
    httpfb_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0: fuzz_body(data + 1, size - 1); break;
    case 1: fuzz_sid(data + 1, size - 1); break;
    case 2: fuzz_join(data + 1, size - 1); break;
    default: fuzz_table(data + 1, size - 1); break;
    }
    return 0;
}
