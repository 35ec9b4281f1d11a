/* handshake: see handshake.h. */
#include "handshake.h"

#include <stdio.h>
#include <string.h>

/* List elements this long or longer match nothing; an offered subprotocol
 * name this long makes libwebsockets drop the connection, so it is refused. */
#define TOKEN_MAX 64

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* The value without leading and trailing whitespace: [*start, *start+len). */
static size_t trim(const char *v, const char **start)
{
    while (*v && is_ows(*v))
        v++;
    size_t n = strlen(v);
    while (n && is_ows(v[n - 1]))
        n--;
    *start = v;
    return n;
}

static int present(const char *v)
{
    const char *s;
    return v && trim(v, &s) > 0;
}

/* Walks a comma-separated list (RFC 7230 #rule: empty elements and
 * whitespace around them are skipped). Copies the next element into tok
 * and returns 1 (-1 and an empty tok when it is TOKEN_MAX long or longer),
 * or returns 0 at the end. */
static int list_next(const char **cursor, char tok[TOKEN_MAX])
{
    const char *p = *cursor;
    while (*p == ',' || is_ows(*p))
        p++;
    if (!*p) {
        *cursor = p;
        return 0;
    }
    const char *start = p;
    while (*p && *p != ',')
        p++;
    size_t n = (size_t)(p - start);
    while (n && is_ows(start[n - 1]))
        n--;
    *cursor = p;
    if (n >= TOKEN_MAX) {
        tok[0] = '\0';
        return -1;
    }
    memcpy(tok, start, n);
    tok[n] = '\0';
    return 1;
}

static int equal_nocase(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

/* Whether the list `v` holds the token `want`, ASCII case-insensitive. */
static int list_has_nocase(const char *v, const char *want)
{
    char tok[TOKEN_MAX];
    while (v && list_next(&v, tok))
        if (tok[0] && equal_nocase(tok, want))
            return 1;
    return 0;
}

/* "HTTP/1.1" or later: HTTP/DIGIT.DIGIT with (major, minor) >= (1, 1). */
static int http_11_or_later(const char *v)
{
    if (!v || strncmp(v, "HTTP/", 5) != 0)
        return 0;
    const char *d = v + 5;
    if (d[0] < '0' || d[0] > '9' || d[1] != '.' || d[2] < '0' || d[2] > '9' || d[3] != '\0')
        return 0;
    return d[0] > '1' || (d[0] == '1' && d[2] >= '1');
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Base64 (RFC 4648 section 4, padded) of exactly 16 bytes: 22 alphabet
 * characters and "==". */
static int key_ok(const char *v)
{
    if (!v)
        return 0;
    const char *s;
    size_t n = trim(v, &s);
    if (n != 24 || s[22] != '=' || s[23] != '=')
        return 0;
    for (int i = 0; i < 22; i++)
        if (!is_b64(s[i]))
            return 0;
    return 1;
}

static int version_ok(const char *v)
{
    if (!v)
        return 0;
    const char *s;
    size_t n = trim(v, &s);
    return n == strlen(HANDSHAKE_WS_VERSION) && memcmp(s, HANDSHAKE_WS_VERSION, n) == 0;
}

/* The server selects the first offer its WebSocket stack knows (what
 * libwebsockets does); the game's protocol must be that one. */
static int subprotocol_ok(const char *offers, const handshake_config *cfg)
{
    char tok[TOKEN_MAX];
    int more;
    while (offers && (more = list_next(&offers, tok)) != 0) {
        if (more < 0)
            return 0;
        if (strcmp(tok, cfg->subprotocol) == 0)
            return 1;
        if (cfg->known && cfg->known(cfg->known_user, tok))
            return 0;
    }
    return 0;
}

int handshake_check(const handshake_request *r, const handshake_config *cfg)
{
    if (!r->method || strcmp(r->method, "GET") != 0)
        return REF_METHOD;
    if (!http_11_or_later(r->http_version))
        return REF_HTTP_VERSION;
    if (!present(r->host))
        return REF_HOST;
    if (!list_has_nocase(r->upgrade, "websocket"))
        return REF_UPGRADE;
    if (!list_has_nocase(r->connection, "upgrade"))
        return REF_CONNECTION;
    if (!key_ok(r->key))
        return REF_KEY;
    if (!version_ok(r->version))
        return REF_WS_VERSION;
    if (!subprotocol_ok(r->protocols, cfg))
        return REF_SUBPROTOCOL;
    return HANDSHAKE_OK;
}

int handshake_attempted(const handshake_request *r)
{
    return present(r->key) || present(r->version);
}

const char *handshake_value(const handshake_request *r, int reason)
{
    const char *const by_reason[REF_N] = {
        [REF_METHOD] = r->method,
        [REF_HTTP_VERSION] = r->http_version,
        [REF_HOST] = r->host,
        [REF_UPGRADE] = r->upgrade,
        [REF_CONNECTION] = r->connection,
        [REF_KEY] = r->key,
        [REF_WS_VERSION] = r->version,
        [REF_SUBPROTOCOL] = r->protocols,
    };
    const char *v = reason >= 0 && reason < REF_N ? by_reason[reason] : NULL;
    return v ? v : "";
}

int handshake_status(int reason)
{
    return reason == REF_WS_VERSION ? 426 : 400;
}

size_t handshake_body(int reason, const char *subprotocol, char *buf, size_t cap)
{
    static const char *const why[REF_N] = {
        [REF_METHOD] = "a WebSocket handshake must be a GET request",
        [REF_HTTP_VERSION] = "a WebSocket handshake needs HTTP/1.1 or later",
        [REF_HOST] = "the Host header is missing",
        [REF_UPGRADE] = "the Upgrade header must be websocket",
        [REF_CONNECTION] = "the Connection header must include Upgrade",
        [REF_KEY] = "Sec-WebSocket-Key must be 16 bytes in base64",
        [REF_WS_VERSION] = "unsupported Sec-WebSocket-Version: this server speaks " HANDSHAKE_WS_VERSION,
        [REF_SUBPROTOCOL] = "unsupported subprotocol: this server speaks",
    };
    const char *w = reason >= 0 && reason < REF_N && why[reason] ? why[reason] : "bad WebSocket handshake";
    int n = reason == REF_SUBPROTOCOL ? snprintf(buf, cap, "%s %s\n", w, subprotocol) : snprintf(buf, cap, "%s\n", w);
    if (n < 0 || cap == 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
