/* sdk_http: a non-blocking HTTP/1.1 request to localhost (see sdk_http.h). */
#include "sdk_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void sdk_http_init(sdk_http *h, int port)
{
    memset(h, 0, sizeof *h);
    h->fd = -1;
    h->port = port;
}

void sdk_http_close(sdk_http *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
}

int sdk_http_start(sdk_http *h, const char *method, const char *path, const char *body, int64_t now_us)
{
    sdk_http_close(h);
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(h->req, sizeof h->req,
                     "%s %s HTTP/1.1\r\nHost: localhost:%d\r\nUser-Agent: tickwire\r\nAccept: application/json\r\n"
                     "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     method, path, h->port, blen ? "Content-Type: application/json\r\n" : "", blen, body ? body : "");
    if (n < 0 || (size_t)n >= sizeof h->req)
        return -1;
    h->req_len = (size_t)n;
    h->req_sent = 0;
    h->ans_len = 0;
    h->ans[0] = '\0';
    h->deadline_us = now_us + SDK_HTTP_TIMEOUT_US;
    h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0)
        return -1;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(h->fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
        sdk_http_close(h);
        return -1;
    }
    return 0;
}

/* The status of a complete answer, 0 when it has no status line. */
static int status_of(const sdk_http *h)
{
    int status = 0;
    if (sscanf(h->ans, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    return status;
}

int sdk_http_poll(sdk_http *h, int64_t now_us)
{
    if (h->fd < 0)
        return -1;
    if (now_us > h->deadline_us) {
        sdk_http_close(h);
        return -1;
    }
    while (h->req_sent < h->req_len) {
        ssize_t n = send(h->fd, h->req + h->req_sent, h->req_len - h->req_sent, MSG_NOSIGNAL);
        if (n > 0) {
            h->req_sent += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN || errno == EINTR))
            return 0; /* still connecting, or the buffer is full */
        sdk_http_close(h);
        return -1;
    }
    for (;;) {
        char tmp[1024];
        ssize_t n = recv(h->fd, tmp, sizeof tmp, 0);
        if (n > 0) {
            size_t keep = (size_t)n;
            if (keep > SDK_HTTP_MAX_ANSWER - h->ans_len)
                keep = SDK_HTTP_MAX_ANSWER - h->ans_len;
            memcpy(h->ans + h->ans_len, tmp, keep);
            h->ans_len += keep;
            h->ans[h->ans_len] = '\0';
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        /* EOF (the answer is complete: Connection: close) or an error. */
        int status = n == 0 ? status_of(h) : 0;
        sdk_http_close(h);
        return status > 0 ? status : -1;
    }
}

const char *sdk_http_body(const sdk_http *h)
{
    const char *b = strstr(h->ans, "\r\n\r\n");
    return b ? b + 4 : "";
}
