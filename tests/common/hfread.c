/* hfread: see hfread.h. */
#define _GNU_SOURCE /* strcasestr */
#include "hfread.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { S_HEAD, S_BODY_LEN, S_BODY_CLOSE, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_CRLF, S_TRAILER, S_DONE, S_ERROR };

void hfread_reset(hfread *r)
{
    memset(r, 0, sizeof *r);
    r->length = -1;
}

const char *hfread_header(const hfread *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2] && !(p[2] == '\r' && p[3] == '\n')) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t n = strcspn(v, "\r");
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/* The head is in: status, how the body is delimited. */
static int head_done(hfread *r)
{
    char v[64];
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    r->chunked = hfread_header(r, "transfer-encoding", v, sizeof v) && strcasestr(v, "chunked");
    r->conn_close = hfread_header(r, "connection", v, sizeof v) && strcasestr(v, "close");
    if (hfread_header(r, "content-length", v, sizeof v))
        r->length = atoll(v);
    if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200)) {
        r->state = S_DONE;
    } else if (r->chunked) {
        r->state = S_CHUNK_SIZE;
    } else if (r->length >= 0) {
        r->left = r->length;
        r->state = r->left ? S_BODY_LEN : S_DONE;
    } else {
        r->state = S_BODY_CLOSE;
    }
    return 0;
}

/* One line of the chunked framing (a size, a CRLF, a trailer line). */
static int line_byte(hfread *r, uint8_t ch, int *complete)
{
    *complete = 0;
    if (ch == '\n') {
        if (r->line_len && r->line[r->line_len - 1] == '\r')
            r->line_len--;
        r->line[r->line_len] = '\0';
        *complete = 1;
        return 0;
    }
    if (r->line_len + 1 >= sizeof r->line)
        return -1;
    r->line[r->line_len++] = (char)ch;
    return 0;
}

int hfread_feed(hfread *r, const uint8_t *in, size_t len, size_t *used, hfread_body_fn fn, void *user)
{
    size_t i = 0;
    int complete;
    while (i < len && r->state != S_DONE && r->state != S_ERROR) {
        switch (r->state) {
        case S_HEAD:
            if (r->head_len + 1 >= sizeof r->head) {
                r->state = S_ERROR;
                break;
            }
            r->head[r->head_len++] = (char)in[i++];
            r->head[r->head_len] = '\0';
            if (r->head_len >= 4 && memcmp(r->head + r->head_len - 4, "\r\n\r\n", 4) == 0 && head_done(r) < 0)
                r->state = S_ERROR;
            break;
        case S_BODY_LEN:
        case S_CHUNK_DATA: {
            size_t n = len - i < (size_t)r->left ? len - i : (size_t)r->left;
            if (fn && n)
                fn(user, in + i, n);
            i += n;
            r->left -= (long long)n;
            if (!r->left)
                r->state = r->state == S_BODY_LEN ? S_DONE : S_CHUNK_CRLF;
            break;
        }
        case S_BODY_CLOSE:
            if (fn)
                fn(user, in + i, len - i);
            i = len;
            break;
        case S_CHUNK_SIZE:
        case S_CHUNK_CRLF:
        case S_TRAILER:
            if (line_byte(r, in[i++], &complete) < 0) {
                r->state = S_ERROR;
                break;
            }
            if (!complete)
                break;
            r->line_len = 0;
            if (r->state == S_CHUNK_CRLF) {
                r->state = r->line[0] ? S_ERROR : S_CHUNK_SIZE;
            } else if (r->state == S_TRAILER) {
                if (!r->line[0])
                    r->state = S_DONE;
            } else {
                char *end;
                if (!isxdigit((unsigned char)r->line[0])) {
                    r->state = S_ERROR;
                    break;
                }
                r->left = strtoll(r->line, &end, 16);
                r->state = r->left ? S_CHUNK_DATA : S_TRAILER;
            }
            break;
        default:
            break;
        }
    }
    *used = i;
    return r->state == S_ERROR ? -1 : r->state == S_DONE;
}

int hfread_eof(const hfread *r)
{
    return r->state == S_BODY_CLOSE || r->state == S_DONE;
}

void hfframes_feed(hfframes *f, const uint8_t *in, size_t len, hfread_frame_fn fn, void *user)
{
    while (len) {
        size_t want = f->len < 3 ? 3 : 3 + ((size_t)f->buf[1] | (size_t)f->buf[2] << 8);
        size_t n = want - f->len < len ? want - f->len : len;
        memcpy(f->buf + f->len, in, n);
        f->len += n;
        in += n;
        len -= n;
        if (f->len >= 3) {
            size_t full = 3 + ((size_t)f->buf[1] | (size_t)f->buf[2] << 8);
            if (f->len == full) {
                fn(user, f->buf[0], f->buf + 3, full - 3);
                f->len = 0;
            }
        }
    }
}
