/* replay_list: see replay_list.h. */
#include "replay_list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay_fmt.h"

/* What the listing says of one file (read once). */
typedef struct entry {
    char name[REPLAY_LIST_NAME_MAX];
    uint64_t size;
    int ok;                       /* replay_info read; else err says why */
    char err[REPLAY_ERR_MAX];
    replay_info info;
} entry;

struct replay_list {
    char dir[1024];
    entry *cache;                 /* the last listing's entries, newest first */
    int ncache;
};

replay_list *replay_list_create(const char *dir)
{
    replay_list *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    snprintf(l->dir, sizeof l->dir, "%s", dir);
    return l;
}

void replay_list_destroy(replay_list *l)
{
    if (!l)
        return;
    free(l->cache);
    free(l);
}

/* n decimal digits at s, at least min and at most max of them. */
static int digits(const char **s, int min, int max)
{
    int n = 0;
    while (n < max && (*s)[n] >= '0' && (*s)[n] <= '9')
        n++;
    if (n < min || ((*s)[n] >= '0' && (*s)[n] <= '9'))
        return 0;
    *s += n;
    return 1;
}

/* recorder.c: "tw-%013" PRId64 "-m%u-r%" PRIu32 ".twr" (match ids are
 * u16, rounds u32). */
int replay_list_name_ok(const char *name)
{
    const char *s = name;
    if (strncmp(s, "tw-", 3) != 0)
        return 0;
    s += 3;
    if (!digits(&s, 13, 13) || strncmp(s, "-m", 2) != 0)
        return 0;
    s += 2;
    if (!digits(&s, 1, 5) || strncmp(s, "-r", 2) != 0)
        return 0;
    s += 2;
    if (!digits(&s, 1, 10))
        return 0;
    return strcmp(s, ".twr") == 0;
}

int replay_list_open(replay_list *l, const char *name, uint64_t *size)
{
    if (!replay_list_name_ok(name)) {
        errno = EINVAL;
        return -1;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", l->dir, name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            errno = ENOENT; /* a symlink is not one of ours */
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = ENOENT;
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* Reads what a file holds into e (name set): its header, its first
 * keyframe's tick, its end record's reason, tick and top score. */
static void entry_read(replay_list *l, entry *e)
{
    e->ok = 0;
    e->err[0] = '\0';
    uint64_t size = 0;
    int fd = replay_list_open(l, e->name, &size);
    if (fd < 0) {
        snprintf(e->err, sizeof e->err, "cannot open: %s", strerror(errno));
        return;
    }
    e->size = size;
    uint8_t head[REPLAY_INFO_HEAD], foot[REPLAY_FOOTER_LEN], end[REPLAY_INFO_END];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n < 0) {
        snprintf(e->err, sizeof e->err, "cannot read: %s", strerror(errno));
    } else if (replay_info_head(head, (size_t)n, &e->info, e->err) == REPLAY_OK) {
        uint64_t at = 0;
        if (size < (uint64_t)n + REPLAY_FOOTER_LEN ||
            pread(fd, foot, sizeof foot, (off_t)(size - REPLAY_FOOTER_LEN)) != (ssize_t)sizeof foot ||
            (at = replay_info_footer(foot)) == 0 || at >= size - REPLAY_FOOTER_LEN) {
            snprintf(e->err, sizeof e->err, "truncated: no footer");
        } else {
            size_t want = size - REPLAY_FOOTER_LEN - at < sizeof end ? (size_t)(size - REPLAY_FOOTER_LEN - at)
                                                                    : sizeof end;
            if (pread(fd, end, want, (off_t)at) != (ssize_t)want || replay_info_end(end, want, &e->info) != REPLAY_OK)
                snprintf(e->err, sizeof e->err, "corrupt: a bad end record");
            else
                e->ok = 1;
        }
    }
    close(fd);
}

static int name_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

typedef struct jb {
    char *p;
    size_t n, cap;
    int over;
} jb;

static void jp(jb *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jp(jb *j, const char *fmt, ...)
{
    if (j->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(j->p + j->n, j->cap - j->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= j->cap - j->n)
        j->over = 1;
    else
        j->n += (size_t)k;
}

/* A JSON string: printable ASCII as is (quote and backslash escaped),
 * every other byte \u00XX. */
static void jstr(jb *j, const char *s)
{
    jp(j, "\"");
    for (; *s && !j->over; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            jp(j, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            jp(j, "\\u%04x", c);
        else
            jp(j, "%c", c);
    }
    jp(j, "\"");
}

static void entry_json(jb *j, const entry *e)
{
    static const char *const why[] = {"", "time", "score", "interrupted"};
    jp(j, "{\"name\":");
    jstr(j, e->name);
    jp(j, ",\"bytes\":%" PRIu64, e->size);
    if (!e->ok) {
        jp(j, ",\"playable\":false,\"error\":");
        jstr(j, e->err);
        jp(j, "}");
        return;
    }
    const replay_info *in = &e->info;
    const replay_header *h = &in->h;
    uint32_t ticks = in->end_tick - in->start_tick;
    jp(j, ",\"playable\":true,\"match_id\":%u,\"label\":", (unsigned)h->match_id);
    jstr(j, h->label);
    jp(j,
       ",\"round\":%" PRIu32 ",\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64 ",\"ticks\":%" PRIu32
       ",\"tick_rate\":%u,\"duration_s\":%.3f,\"players\":%d,\"end_reason\":\"%s\"",
       h->round, h->start_ms, h->start_ms + (int64_t)ticks * 1000 / h->tick_rate, ticks, (unsigned)h->tick_rate,
       (double)ticks / h->tick_rate, in->nplayers, why[in->end_reason & 3]);
    if (in->nplayers > 0) {
        jp(j, ",\"top\":{\"name\":");
        jstr(j, in->top.name);
        jp(j, ",\"kills\":%u,\"deaths\":%u,\"score\":%u}", in->top.kills, in->top.deaths, in->top.score);
    }
    jp(j,
       ",\"map\":{\"width\":%u,\"height\":%u,\"walls\":%u},\"seed\":\"%" PRIu64 "\",\"format_version\":%u,"
       "\"sim_version\":%u,\"proto_version\":%u,\"hash_interval\":%u,\"keyframe_interval\":%u}",
       h->map.width, h->map.height, h->map.nwalls, h->seed, h->format_version, h->sim_version, h->proto_version,
       h->hash_interval, h->keyframe_interval);
}

size_t replay_list_json(replay_list *l, int limit, char *out, size_t cap, int *err)
{
    *err = 0;
    limit = limit < 1 ? 1 : limit > REPLAY_LIST_MAX_LIMIT ? REPLAY_LIST_MAX_LIMIT : limit;
    DIR *d = opendir(l->dir);
    if (!d) {
        *err = errno;
        return 0;
    }
    char **names = NULL;
    size_t nn = 0, ncap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!replay_list_name_ok(de->d_name))
            continue;
        if (nn == ncap) {
            size_t c2 = ncap ? ncap * 2 : 64;
            char **more = realloc(names, c2 * sizeof *names);
            if (!more)
                break;
            names = more;
            ncap = c2;
        }
        if (!(names[nn] = strdup(de->d_name)))
            break;
        nn++;
    }
    closedir(d);
    qsort(names, nn, sizeof *names, name_desc);
    int n = nn < (size_t)limit ? (int)nn : limit;
    entry *fresh = n ? calloc((size_t)n, sizeof *fresh) : NULL;
    jb j = {out, 0, cap, cap == 0 || (n && !fresh)};
    /* Both newest first: one walk finds the files already read. */
    int c = 0;
    for (int i = 0; i < n && fresh; i++) {
        while (c < l->ncache && strcmp(l->cache[c].name, names[i]) > 0)
            c++;
        if (c < l->ncache && strcmp(l->cache[c].name, names[i]) == 0 && l->cache[c].ok) {
            fresh[i] = l->cache[c];
        } else {
            snprintf(fresh[i].name, sizeof fresh[i].name, "%s", names[i]);
            entry_read(l, &fresh[i]);
        }
    }
    jp(&j, "{\"replays\":[");
    for (int i = 0; i < n && fresh; i++) {
        if (i)
            jp(&j, ",");
        entry_json(&j, &fresh[i]);
    }
    jp(&j, "],\"total\":%zu,\"limit\":%d}", nn, limit);
    if (fresh) {
        free(l->cache);
        l->cache = fresh;
        l->ncache = n;
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    return j.over ? 0 : j.n;
}
