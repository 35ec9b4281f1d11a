/* http: see http.h.
 *
 * A request lives from http_start to its wsi's WSI_DESTROY (the wsi may
 * call back after the answer is complete, and lws does not own the user
 * data we hand it). The callback fires once: at COMPLETED, at a connection
 * error, or at a close before the answer was complete. */
#include "http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_REQ_MAGIC 0x48545450u /* "HTTP" */

struct http_req {
    uint32_t magic;    /* first: tells a request from a bot in shared callbacks */
    struct lws *wsi;
    http_done_fn cb;
    void *arg;
    int status;
    int done;          /* the callback ran, or was cancelled */
    int in_connect;    /* inside lws_client_connect_via_info */
    int connect_err;   /* failed inside it */
    size_t len, max;
    char *body;        /* max + 1 bytes */
    char auth[300];    /* "Bearer ...", "" none */
};

static void finish(http_req *r, const char *err, int connect_failed)
{
    if (r->done)
        return;
    r->done = 1;
    r->body[r->len] = '\0';
    if (r->cb)
        r->cb(r->arg, err ? 0 : r->status, r->body, r->len, err, connect_failed);
}

http_req *http_start(const http_target *t, const char *method, const char *path, size_t max_body, http_done_fn cb,
                     void *arg, char *err, size_t errlen)
{
    http_req *r = calloc(1, sizeof *r);
    if (!r || !(r->body = malloc(max_body + 1))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->magic = HTTP_REQ_MAGIC;
    r->cb = cb;
    r->arg = arg;
    r->max = max_body;
    if (t->bearer)
        snprintf(r->auth, sizeof r->auth, "Bearer %s", t->bearer);

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = t->ctx;
    ci.address = t->address;
    ci.port = t->port;
    ci.path = path;
    ci.host = t->host_header;
    ci.method = method;
    ci.ssl_connection = t->ssl_flags;
    ci.alpn = "http/1.1";
    ci.protocol = HTTP_PROTOCOL_NAME;
    ci.local_protocol_name = HTTP_PROTOCOL_NAME;
    ci.userdata = r;
    ci.pwsi = &r->wsi;
    r->in_connect = 1;
    errno = 0;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    int e = errno;
    r->in_connect = 0;
    if (!wsi) {
        snprintf(err, errlen, "%s %s: connect failed at once%s%s", method, path, e ? ": " : "", e ? strerror(e) : "");
        free(r->body);
        free(r);
        return NULL;
    }
    return r;
}

int http_is_req(const void *user)
{
    return user && *(const uint32_t *)user == HTTP_REQ_MAGIC;
}

void http_cancel(http_req *r)
{
    if (!r || r->done)
        return;
    r->done = 1;
    r->cb = NULL;
    if (r->wsi)
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    http_req *r = user;
    if (!r)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        if (!r->auth[0])
            return 0;
        unsigned char **p = (unsigned char **)in, *end = *p + len;
        return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (const unsigned char *)r->auth,
                                            (int)strlen(r->auth), p, end)
                   ? -1
                   : 0;
    }
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        r->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ: {
        size_t n = len < r->max - r->len ? len : r->max - r->len;
        memcpy(r->body + r->len, in, n);
        r->len += n;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 4096], *p = buf + LWS_PRE;
        int n = (int)sizeof buf - LWS_PRE;
        return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        finish(r, NULL, 0);
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[160];
        if (!in)
            snprintf(why, sizeof why, "connection error");
        else
            snprintf(why, sizeof why, "connection error: %.*s", (int)(len && len < 120 ? len : 120),
                     (const char *)in);
        /* Inside lws_client_connect_via_info the NULL return reports it. */
        if (r->in_connect)
            r->connect_err = 1;
        else
            finish(r, why, 1);
        return 0;
    }
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        finish(r, "closed before the answer was complete", 0);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (r->in_connect)
            return 0; /* http_start frees it */
        finish(r, "closed before the answer was complete", 0);
        r->magic = 0;
        free(r->body);
        free(r);
        return 0;
    default:
        return 0;
    }
}
