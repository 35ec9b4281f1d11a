/* prom: see prom.h. */
#include "prom.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_MAX_RESPONSE (8u << 20)

/* ---- HTTP GET ------------------------------------------------------------ */

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Waits for `events` on fd until the deadline. 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        int left = (int)(deadline - mono_ms());
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 0;
    }
}

static int connect_to(const char *host, int port, double deadline, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t sl;
    memset(&sa, 0, sizeof sa);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        snprintf(err, errlen, "'%s' is not a numeric address", host);
        return -1;
    }
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sl) < 0 && errno != EINPROGRESS) {
        snprintf(err, errlen, "connect %s:%d: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    if (!wait_fd(fd, POLLOUT, deadline)) {
        snprintf(err, errlen, "connect %s:%d: timed out", host, port);
        close(fd);
        return -1;
    }
    int soerr = 0;
    socklen_t el = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
        snprintf(err, errlen, "connect %s:%d: %s", host, port, strerror(soerr ? soerr : errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n, double deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* First occurrence of needle in hay[0..n), or NULL (memmem is a GNU
 * extension). */
static const char *find(const char *hay, size_t n, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

/* Decodes a chunked body in place. Returns its length, or -1 when it is
 * incomplete or malformed. */
static long dechunk(char *b, size_t n)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        if (in >= n)
            return -1;
        unsigned long sz = strtoul(b + in, &end, 16);
        char *eol = memchr(b + in, '\n', n - in);
        if (!eol || end == b + in)
            return -1;
        in = (size_t)(eol - b) + 1;
        if (sz == 0)
            return (long)out;
        if (sz > n - in || n - in - sz < 2)
            return -1;
        memmove(b + out, b + in, sz);
        out += sz;
        in += sz;
        if (b[in] == '\r')
            in++;
        if (in >= n || b[in] != '\n')
            return -1;
        in++;
    }
}

/* Header value of `name` in the head (NUL-terminated), or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strchr(head, '\n'); p; p = strchr(p, '\n')) {
        p++;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* 1 when the response in buf[0..n) is complete (by its framing). */
static int response_complete(const char *buf, size_t n)
{
    const char *sep = find(buf, n, "\r\n\r\n");
    if (!sep)
        return 0;
    size_t body_at = (size_t)(sep - buf) + 4;
    /* The head is NUL-free text; look at it through a bounded copy. */
    char head[4096];
    size_t hl = body_at < sizeof head ? body_at : sizeof head - 1;
    memcpy(head, buf, hl);
    head[hl] = '\0';
    const char *cl = header(head, "Content-Length");
    if (cl)
        return n - body_at >= strtoul(cl, NULL, 10);
    const char *te = header(head, "Transfer-Encoding");
    if (te && strncasecmp(te, "chunked", 7) == 0)
        return find(buf + body_at, n - body_at, "\r\n0\r\n") != NULL ||
               (n - body_at >= 3 && memcmp(buf + body_at, "0\r\n", 3) == 0);
    return 0; /* read to close */
}

int prom_http_get(const char *host, int port, const char *path, int timeout_ms, int *status, char **body,
                  size_t *len, char *err, size_t errlen)
{
    double deadline = mono_ms() + timeout_ms;
    *body = NULL;
    *len = 0;
    *status = 0;
    int fd = connect_to(host, port, deadline, err, errlen);
    if (fd < 0)
        return PROM_HTTP_UNREACHABLE;
    char req[512];
    int rl = snprintf(req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nAccept: text/plain\r\n"
                      "User-Agent: tickwire-bots\r\nConnection: close\r\n\r\n",
                      path, strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
    if (send_all(fd, req, (size_t)rl, deadline)) {
        snprintf(err, errlen, "GET %s: send failed", path);
        close(fd);
        return PROM_HTTP_ERROR;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    int rc = PROM_HTTP_ERROR;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= HTTP_MAX_RESPONSE) {
                snprintf(err, errlen, "GET %s: response over %u bytes", path, HTTP_MAX_RESPONSE);
                goto done;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r > 0) {
            n += (size_t)r;
            if (response_complete(buf, n))
                break;
        } else if (r == 0) {
            break;
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait_fd(fd, POLLIN, deadline)) {
                snprintf(err, errlen, "GET %s: no complete response within %d ms", path, timeout_ms);
                goto done;
            }
        } else {
            snprintf(err, errlen, "GET %s: %s", path, strerror(errno));
            goto done;
        }
    }
    buf[n] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", status) != 1) {
        snprintf(err, errlen, "GET %s: not an HTTP response", path);
        goto done;
    }
    *sep = '\0';
    char *b = sep + 4;
    size_t bl = n - (size_t)(b - buf);
    const char *te = header(buf, "Transfer-Encoding");
    const char *cl = header(buf, "Content-Length");
    if (te && strncasecmp(te, "chunked", 7) == 0) {
        long d = dechunk(b, bl);
        if (d < 0) {
            snprintf(err, errlen, "GET %s: bad chunked body", path);
            goto done;
        }
        bl = (size_t)d;
    } else if (cl) {
        size_t want = strtoul(cl, NULL, 10);
        if (want > bl) {
            snprintf(err, errlen, "GET %s: body cut short (%zu of %zu bytes)", path, bl, want);
            goto done;
        }
        bl = want;
    }
    memmove(buf, b, bl);
    buf[bl] = '\0';
    *body = buf;
    *len = bl;
    buf = NULL;
    rc = PROM_HTTP_OK;
done:
    free(buf);
    close(fd);
    return rc;
}

/* ---- Prometheus text ------------------------------------------------------ */

static int is_name_start(int c)
{
    return isalpha(c) || c == '_' || c == ':';
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == ':';
}

static int push(prom_set *s, const char *key, double v)
{
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        prom_sample *ns = realloc(s->s, (size_t)nc * sizeof *ns);
        if (!ns)
            return -1;
        s->s = ns;
        s->cap = nc;
    }
    snprintf(s->s[s->n].key, PROM_KEY_MAX, "%s", key);
    s->s[s->n].value = v;
    s->n++;
    return 0;
}

/* Parses one sample line [p, e) into key and value. 0 or -1 with why. */
static int parse_line(const char *p, const char *e, char *key, double *value, const char **why)
{
    size_t k = 0;
    if (!is_name_start((unsigned char)*p)) {
        *why = "a sample line must start with a metric name";
        return -1;
    }
    while (p < e && is_name_char((unsigned char)*p) && k < PROM_KEY_MAX - 1)
        key[k++] = *p++;
    if (p < e && *p == '{') {
        int quoted = 0;
        while (p < e && k < PROM_KEY_MAX - 1) {
            char c = *p++;
            if (quoted && c == '\\' && p < e) {
                key[k++] = c;
                c = *p++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && (c == ' ' || c == '\t')) {
                continue;
            }
            key[k++] = c;
            if (!quoted && c == '}')
                break;
        }
        if (k == 0 || key[k - 1] != '}') {
            *why = "unterminated label set";
            return -1;
        }
    }
    key[k] = '\0';
    if (p >= e || (*p != ' ' && *p != '\t')) {
        *why = "expected a blank and a value after the name";
        return -1;
    }
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    char num[64];
    size_t nl = 0;
    while (p < e && *p != ' ' && *p != '\t' && nl < sizeof num - 1)
        num[nl++] = *p++;
    num[nl] = '\0';
    char *end;
    *value = strtod(num, &end);
    if (nl == 0 || *end != '\0') {
        *why = "the value is not a number";
        return -1;
    }
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (p < e) { /* optional integer timestamp */
        char *tend;
        strtoll(p, &tend, 10);
        while (tend < e && (*tend == ' ' || *tend == '\t'))
            tend++;
        if (tend == p || tend != e) {
            *why = "unexpected text after the value";
            return -1;
        }
    }
    return 0;
}

int prom_parse(const char *text, size_t len, prom_set *out, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        line++;
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        const char *le = e;
        if (le > p && le[-1] == '\r')
            le--;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q < le && *q != '#') {
            char key[PROM_KEY_MAX];
            double v;
            const char *why = "";
            if (parse_line(q, le, key, &v, &why)) {
                snprintf(err, errlen, "line %d: %s: '%.*s'", line, why, (int)(le - p > 80 ? 80 : le - p), p);
                return -1;
            }
            if (push(out, key, v)) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        p = e + 1;
    }
    return 0;
}

void prom_free(prom_set *s)
{
    free(s->s);
    memset(s, 0, sizeof *s);
}

double prom_get(const prom_set *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->s[i].key, key) == 0)
            return s->s[i].value;
    return NAN;
}

typedef struct bucket {
    double le, count;
} bucket;

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const bucket *)a)->le, y = ((const bucket *)b)->le;
    return x < y ? -1 : x > y;
}

/* The `le` bound of a bucket key `<name>_bucket{...le="X"...}`, or -1. */
static int bucket_le(const char *key, const char *prefix, double *le)
{
    size_t pl = strlen(prefix);
    if (strncmp(key, prefix, pl) != 0 || key[pl] != '{')
        return -1;
    const char *l = strstr(key + pl, "le=\"");
    if (!l)
        return -1;
    char *end;
    *le = strtod(l + 4, &end);
    return end == l + 4 || *end != '"' ? -1 : 0;
}

double prom_hist_quantile(const prom_set *start, const prom_set *end, const char *name, double q)
{
    char prefix[PROM_KEY_MAX];
    snprintf(prefix, sizeof prefix, "%s_bucket", name);
    bucket bs[64];
    int nb = 0;
    for (int i = 0; i < end->n && nb < 64; i++) {
        double le;
        if (bucket_le(end->s[i].key, prefix, &le))
            continue;
        double before = start ? prom_get(start, end->s[i].key) : 0;
        bs[nb].le = le;
        bs[nb].count = end->s[i].value - (isnan(before) ? 0 : before);
        nb++;
    }
    if (nb == 0)
        return NAN;
    qsort(bs, (size_t)nb, sizeof bs[0], cmp_bucket);
    double total = bs[nb - 1].count; /* +Inf bucket: everything */
    if (!(total > 0))
        return NAN;
    double rank = q * total, prev_le = 0, prev_count = 0;
    for (int i = 0; i < nb; i++) {
        if (bs[i].count >= rank) {
            if (isinf(bs[i].le))
                return prev_le; /* beyond the largest finite bound */
            double in_bucket = bs[i].count - prev_count;
            double frac = in_bucket > 0 ? (rank - prev_count) / in_bucket : 1;
            return prev_le + (bs[i].le - prev_le) * frac;
        }
        prev_le = bs[i].le;
        prev_count = bs[i].count;
    }
    return prev_le;
}

static double delta(const prom_set *a, const prom_set *b, const char *key)
{
    return prom_get(b, key) - prom_get(a, key); /* NaN if either is missing */
}

void prom_window_compute(const prom_set *start, const prom_set *end, double seconds, prom_window *w)
{
    w->seconds = seconds;
    w->snapshot_bytes = delta(start, end, "tickwire_snapshot_bytes_total");
    w->snapshot_messages = delta(start, end, "tickwire_snapshot_messages_total");
    w->input_messages = delta(start, end, "tickwire_input_messages_total");
    w->ticks = delta(start, end, "tickwire_ticks_total");
    w->missed_ticks = delta(start, end, "tickwire_missed_ticks_total");
    w->tick_overruns = delta(start, end, "tickwire_tick_overruns_total");
    w->snapshots_skipped = delta(start, end, "tickwire_snapshots_skipped_total");
    w->cpu_seconds = delta(start, end, "process_cpu_seconds_total");
    w->resident_memory_bytes = prom_get(end, "process_resident_memory_bytes");
    w->connections = prom_get(end, "tickwire_connections");
    w->tick_count = delta(start, end, "tickwire_tick_duration_seconds_count");
    w->tick_sum_s = delta(start, end, "tickwire_tick_duration_seconds_sum");
    w->tick_p50_s = prom_hist_quantile(start, end, "tickwire_tick_duration_seconds", 0.50);
    w->tick_p99_s = prom_hist_quantile(start, end, "tickwire_tick_duration_seconds", 0.99);
}
