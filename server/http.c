/* http: see http.h. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define METRICS_CAP 32768
#define API_JOIN_CAP 512

static double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long process_rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

/* Before the upgrade: the core's admission rules. */
static int confirm_upgrade(core *c, struct lws *wsi)
{
    char origin[256] = "", host[256] = "", ip[48] = "";
    lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    lws_get_peer_simple(wsi, ip, sizeof ip);
    int status = core_admit(c, origin, host, ip);
    if (!status)
        return 0;
    if (lws_return_http_status(wsi, (unsigned int)status, status == 403 ? "origin" : "connection limit"))
        return -1;
    return 1;
}

/* Sends the headers for the body in hs->buf; the body goes out on WRITEABLE. */
static int respond(struct lws *wsi, http_session *hs, unsigned int status, const char *type)
{
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, status, type, hs->len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int api_join(core *c, struct lws *wsi, http_session *hs)
{
    char arg[64];
    const char *name = lws_get_urlarg_by_name(wsi, "name=", arg, sizeof arg);
    if (!(hs->buf = malloc(LWS_PRE + API_JOIN_CAP)))
        return -1;
    hs->len = core_guest_join(c, name ? name : "", (char *)hs->buf + LWS_PRE, API_JOIN_CAP);
    if (!hs->len)
        return -1;
    return respond(wsi, hs, HTTP_STATUS_OK, "application/json");
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    http_session *hs = user;
    core *c = net_core_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(c, wsi);
    case LWS_CALLBACK_HTTP: {
        /* The /metrics and /api callback mounts land here, for any path
         * under them: serve exactly GET /metrics and POST /api/join. */
        char uri[64] = "";
        int post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        lws_hdr_copy(wsi, uri, sizeof uri, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
        if (!post && strcmp(uri, "/metrics") == 0) {
            if (!(hs->buf = malloc(LWS_PRE + METRICS_CAP)))
                return -1;
            hs->len = core_metrics_text(c, process_rss_bytes(), process_cpu_seconds(), (char *)hs->buf + LWS_PRE,
                                        METRICS_CAP);
            return respond(wsi, hs, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8");
        }
        if (post && strcmp(uri, "/api/join") == 0 && core_demo_mode(c)) {
            /* Answer once the (ignored) request body has been read. */
            if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
                hs->api_join = 1;
                return 0;
            }
            return api_join(c, wsi, hs);
        }
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* /api/join takes no body: read and drop */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (hs && hs->api_join) {
            hs->api_join = 0;
            return api_join(c, wsi, hs);
        }
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!hs || !hs->buf)
            break;
        int rc = lws_write(wsi, hs->buf + LWS_PRE, hs->len, LWS_WRITE_HTTP_FINAL) < (int)hs->len ? -1 : 0;
        free(hs->buf);
        hs->buf = NULL;
        if (rc || lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (hs) {
            free(hs->buf);
            hs->buf = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
