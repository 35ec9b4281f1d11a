/* recorder: see recorder.h. The tick side and the writer meet at one
 * mutex, held to take or give a chunk and to queue an item: once per full
 * chunk and per file, never per tick, and never across a disk call. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "recorder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"

#define DEFAULT_CHUNKS 64
#define DEFAULT_CHUNK_SIZE (64 * 1024)
#define MAX_OPEN_FILES 256   /* rounds recorded at once */
#define PATH_CAP 1024

typedef struct rec_chunk {
    struct rec_chunk *next;  /* free list */
    size_t len;
    uint8_t *data;
} rec_chunk;

/* A file, as the writer sees it. Made at a round's begin, freed by the
 * writer after its CLOSE or ABORT. */
typedef struct rec_file {
    char path[PATH_CAP + 64]; /* final name; the writer writes path + ".tmp" */
    int fd;                  /* -1: not open yet */
    int failed;              /* a write failed: the rest is dropped */
} rec_file;

enum { ITEM_DATA = 1, ITEM_CLOSE, ITEM_ABORT };

typedef struct rec_item {
    int kind;
    rec_file *f;
    rec_chunk *c;            /* DATA */
} rec_item;

struct rec_match {
    recorder *rc;
    rec_file *file;
    rec_chunk *cur;
    int dead;                /* abandoned: records are ignored until the end */
    rec_match *next_free;
    rec_match *all_next;     /* every state the recorder made, for close */
    uint8_t *scratch;        /* REPLAY_RECORD_MAX: one record at a time */
    replay_writer w;
};

struct recorder {
    recorder_opts o;
    char dir[PATH_CAP];
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rec_chunk *chunks;       /* the pool's headers */
    uint8_t *chunk_mem;
    rec_chunk *free_chunks;
    rec_item *queue;         /* ring */
    int qcap, qhead, qn;
    int open_files;
    int stopping;
    int held;                /* recorder_hold_writer */
    recorder_stats st;
    rec_match *free_matches; /* pooled states (tick thread only) */
    rec_match *all_matches;  /* every state made, for close (tick thread only) */
    uint64_t tick_ns;        /* time recorder_tick took (written by the tick thread, atomic) */
};

/* ---- queue and pool (any thread, takes the lock) -------------------------------- */

static rec_chunk *chunk_take(recorder *rc)
{
    pthread_mutex_lock(&rc->mu);
    rec_chunk *c = rc->free_chunks;
    if (c)
        rc->free_chunks = c->next;
    pthread_mutex_unlock(&rc->mu);
    if (c)
        c->len = 0;
    return c;
}

static void push_locked(recorder *rc, int kind, rec_file *f, rec_chunk *c)
{
    /* Cannot overflow: a DATA item holds a chunk, and each file queues one
     * CLOSE or ABORT; qcap counts both. */
    rc->queue[(rc->qhead + rc->qn) % rc->qcap] = (rec_item){kind, f, c};
    rc->qn++;
    pthread_cond_signal(&rc->cv);
}

static void push(recorder *rc, int kind, rec_file *f, rec_chunk *c)
{
    pthread_mutex_lock(&rc->mu);
    push_locked(rc, kind, f, c);
    pthread_mutex_unlock(&rc->mu);
}

/* ---- tick side -------------------------------------------------------------------- */

static void abandon(rec_match *rm, const char *why)
{
    recorder *rc = rm->rc;
    pthread_mutex_lock(&rc->mu);
    if (rm->cur) {
        rm->cur->next = rc->free_chunks;
        rc->free_chunks = rm->cur;
        rm->cur = NULL;
    }
    rc->st.dropped++;
    push_locked(rc, ITEM_ABORT, rm->file, NULL);
    pthread_mutex_unlock(&rc->mu);
    char q[2 * PATH_CAP + 160];
    log_event(LOG_ERROR, "replay_dropped", "file=\"%s\" reason=\"%s\"", log_quote(rm->file->path, q, sizeof q), why);
    rm->file = NULL;
    rm->dead = 1;
}

/* Appends one encoded record (or a few) to the match's chunks. */
static void append(rec_match *rm, const uint8_t *p, size_t n)
{
    recorder *rc = rm->rc;
    if (rm->dead)
        return;
    if (n == 0) {
        abandon(rm, "a record did not fit the scratch buffer");
        return;
    }
    while (n) {
        if (!rm->cur && !(rm->cur = chunk_take(rc))) {
            abandon(rm, "the writer is behind: no free chunk");
            return;
        }
        size_t room = rc->o.chunk_size - rm->cur->len, k = n < room ? n : room;
        memcpy(rm->cur->data + rm->cur->len, p, k);
        rm->cur->len += k;
        p += k;
        n -= k;
        if (rm->cur->len == rc->o.chunk_size) {
            push(rc, ITEM_DATA, rm->file, rm->cur);
            rm->cur = NULL;
        }
    }
}

static void match_state_free(rec_match *rm)
{
    rm->next_free = rm->rc->free_matches;
    rm->rc->free_matches = rm;
}

rec_match *recorder_round_begin(recorder *rc, uint16_t match_id, const char *label, uint32_t round,
                                const sim_world *w, const char (*names)[REPLAY_NAME_MAX + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pthread_mutex_lock(&rc->mu);
    int full = rc->open_files >= MAX_OPEN_FILES;
    if (full)
        rc->st.dropped++;
    else
        rc->open_files++;
    pthread_mutex_unlock(&rc->mu);
    if (full) {
        log_event(LOG_ERROR, "replay_dropped", "match=%u round=%" PRIu32 " reason=\"%d files open\"", match_id,
                  round, MAX_OPEN_FILES);
        return NULL;
    }
    rec_match *rm = rc->free_matches;
    if (rm) {
        rc->free_matches = rm->next_free;
    } else {
        rm = calloc(1, sizeof *rm);
        uint8_t *scratch = rm ? malloc(REPLAY_RECORD_MAX) : NULL;
        if (!scratch) {
            free(rm);
            rm = NULL;
        } else {
            rm->scratch = scratch;
            rm->rc = rc;
            rm->all_next = rc->all_matches;
            rc->all_matches = rm;
        }
    }
    rec_file *f = rm ? malloc(sizeof *f) : NULL;
    if (!f) {
        if (rm)
            match_state_free(rm);
        pthread_mutex_lock(&rc->mu);
        rc->open_files--;
        rc->st.dropped++;
        pthread_mutex_unlock(&rc->mu);
        log_event(LOG_ERROR, "replay_dropped", "match=%u round=%" PRIu32 " reason=\"out of memory\"", match_id, round);
        return NULL;
    }
    f->fd = -1;
    f->failed = 0;
    snprintf(f->path, sizeof f->path, "%s/tw-%013" PRId64 "-m%u-r%" PRIu32 ".twr", rc->dir, now_ms, match_id, round);
    rm->file = f;
    rm->cur = NULL;
    rm->dead = 0;
    replay_header h = {
        .proto_version = PROTO_VERSION,
        .tick_rate = w->tick_rate,
        .hash_interval = (uint16_t)(rc->o.hash_every > 0 ? rc->o.hash_every
                                                           : (w->tick_rate / 15 ? w->tick_rate / 15 : 1)),
        .keyframe_interval = (uint16_t)((rc->o.keyframe_seconds > 0 ? rc->o.keyframe_seconds : 10) * w->tick_rate),
        .seed = w->seed,
        .match_id = match_id,
        .round = round,
        .start_ms = now_ms,
        .map = w->map,
    };
    snprintf(h.label, sizeof h.label, "%s", label);
    append(rm, rm->scratch, replay_write_begin(&rm->w, &h, rm->scratch, REPLAY_RECORD_MAX));
    append(rm, rm->scratch, replay_write_keyframe(&rm->w, w, names, rm->scratch, REPLAY_RECORD_MAX));
    return rm;
}

void recorder_spawn(rec_match *rm, int id, uint32_t join_count, const char *name)
{
    if (!rm->dead)
        append(rm, rm->scratch, replay_write_spawn(&rm->w, id, join_count, name, rm->scratch, REPLAY_RECORD_MAX));
}

void recorder_remove(rec_match *rm, int id)
{
    if (!rm->dead)
        append(rm, rm->scratch, replay_write_remove(&rm->w, id, rm->scratch, REPLAY_RECORD_MAX));
}

void recorder_tick(rec_match *rm, const sim_world *w, const sim_tick_inputs *in,
                   const char (*names)[REPLAY_NAME_MAX + 1])
{
    if (rm->dead)
        return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    append(rm, rm->scratch, replay_write_tick(&rm->w, w, in, rm->scratch, REPLAY_RECORD_MAX));
    size_t n = replay_write_after_step(&rm->w, w, names, rm->scratch, REPLAY_RECORD_MAX);
    if (n)
        append(rm, rm->scratch, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
    __atomic_fetch_add(&rm->rc->tick_ns, (uint64_t)(ns > 0 ? ns : 0), __ATOMIC_RELAXED);
}

void recorder_round_end(rec_match *rm, const sim_world *w, const char (*names)[REPLAY_NAME_MAX + 1], int reason)
{
    recorder *rc = rm->rc;
    if (!rm->dead)
        append(rm, rm->scratch, replay_write_end(&rm->w, w, names, reason, rm->scratch, REPLAY_RECORD_MAX));
    if (!rm->dead) {
        pthread_mutex_lock(&rc->mu);
        if (rm->cur && rm->cur->len)
            push_locked(rc, ITEM_DATA, rm->file, rm->cur);
        else if (rm->cur) {
            rm->cur->next = rc->free_chunks;
            rc->free_chunks = rm->cur;
        }
        push_locked(rc, ITEM_CLOSE, rm->file, NULL);
        pthread_mutex_unlock(&rc->mu);
    }
    rm->cur = NULL;
    rm->file = NULL;
    match_state_free(rm);
}

/* ---- the writer thread ------------------------------------------------------------- */

static void write_failed(recorder *rc, rec_file *f, const char *what, int err)
{
    char q[2 * PATH_CAP + 160];
    log_event(LOG_ERROR, "replay_write_failed", "file=\"%s\" what=%s error=\"%s\"",
              log_quote(f->path, q, sizeof q), what, strerror(err));
    pthread_mutex_lock(&rc->mu);
    rc->st.write_errors++;
    pthread_mutex_unlock(&rc->mu);
    f->failed = 1;
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    char tmp[PATH_CAP + 72];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    unlink(tmp);
}

static void write_chunk(recorder *rc, rec_file *f, const rec_chunk *c)
{
    if (f->failed)
        return;
    char tmp[PATH_CAP + 72];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    if (f->fd < 0 && (f->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        write_failed(rc, f, "open", errno);
        return;
    }
    size_t off = 0;
    while (off < c->len) {
        ssize_t k = write(f->fd, c->data + off, c->len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            write_failed(rc, f, "write", k < 0 ? errno : ENOSPC);
            return;
        }
        off += (size_t)k;
    }
    pthread_mutex_lock(&rc->mu);
    rc->st.bytes_written += c->len;
    pthread_mutex_unlock(&rc->mu);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_replay_name(const char *n)
{
    size_t len = strlen(n);
    return strncmp(n, "tw-", 3) == 0 && len > 7 && strcmp(n + len - 4, ".twr") == 0;
}

/* Deletes the oldest complete files beyond keep (names sort by age). */
static void prune(recorder *rc)
{
    if (rc->o.keep <= 0)
        return;
    DIR *d = opendir(rc->dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_replay_name(e->d_name))
            continue;
        if (n == cap) {
            char **more = realloc(names, (cap ? 2 * cap : 64) * sizeof *names);
            if (!more)
                break;
            names = more;
            cap = cap ? 2 * cap : 64;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i + (size_t)rc->o.keep < n; i++) {
        char path[2 * PATH_CAP];
        snprintf(path, sizeof path, "%s/%s", rc->dir, names[i]);
        if (unlink(path) == 0) {
            pthread_mutex_lock(&rc->mu);
            rc->st.pruned++;
            pthread_mutex_unlock(&rc->mu);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void finish_file(recorder *rc, rec_file *f)
{
    if (!f->failed && f->fd < 0)
        write_failed(rc, f, "open", ENOENT); /* nothing was ever written: cannot happen */
    if (!f->failed && fdatasync(f->fd) != 0)
        write_failed(rc, f, "sync", errno);
    if (!f->failed) {
        int fd = f->fd;
        f->fd = -1;
        char tmp[PATH_CAP + 72];
        snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
        if (close(fd) != 0) {
            write_failed(rc, f, "close", errno);
        } else if (rename(tmp, f->path) != 0) {
            write_failed(rc, f, "rename", errno);
        } else {
            pthread_mutex_lock(&rc->mu);
            rc->st.files_written++;
            pthread_mutex_unlock(&rc->mu);
            char q[2 * PATH_CAP + 160];
            log_event(LOG_INFO, "replay_written", "file=\"%s\"", log_quote(f->path, q, sizeof q));
            prune(rc);
        }
    }
    pthread_mutex_lock(&rc->mu);
    rc->open_files--;
    pthread_mutex_unlock(&rc->mu);
    free(f);
}

static void abort_file(recorder *rc, rec_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    char tmp[PATH_CAP + 72];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    unlink(tmp);
    pthread_mutex_lock(&rc->mu);
    rc->open_files--;
    pthread_mutex_unlock(&rc->mu);
    free(f);
}

static void *writer_main(void *arg)
{
    recorder *rc = arg;
    for (;;) {
        pthread_mutex_lock(&rc->mu);
        while ((!rc->qn || rc->held) && !rc->stopping)
            pthread_cond_wait(&rc->cv, &rc->mu);
        if (!rc->qn) {
            pthread_mutex_unlock(&rc->mu);
            return NULL;
        }
        rec_item it = rc->queue[rc->qhead];
        rc->qhead = (rc->qhead + 1) % rc->qcap;
        rc->qn--;
        pthread_mutex_unlock(&rc->mu);
        if (it.kind == ITEM_DATA) {
            write_chunk(rc, it.f, it.c);
            pthread_mutex_lock(&rc->mu);
            it.c->next = rc->free_chunks;
            rc->free_chunks = it.c;
            pthread_mutex_unlock(&rc->mu);
        } else if (it.kind == ITEM_CLOSE) {
            finish_file(rc, it.f);
        } else {
            abort_file(rc, it.f);
        }
    }
}

/* ---- lifecycle ------------------------------------------------------------------------ */

void recorder_get_stats(recorder *rc, recorder_stats *out)
{
    pthread_mutex_lock(&rc->mu);
    *out = rc->st;
    pthread_mutex_unlock(&rc->mu);
    out->tick_seconds = (double)__atomic_load_n(&rc->tick_ns, __ATOMIC_RELAXED) / 1e9;
}

void recorder_hold_writer(recorder *rc, int hold)
{
    pthread_mutex_lock(&rc->mu);
    rc->held = hold;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
}

static void free_recorder(recorder *rc)
{
    for (rec_match *rm = rc->all_matches, *next; rm; rm = next) {
        next = rm->all_next;
        free(rm->scratch);
        free(rm);
    }
    pthread_cond_destroy(&rc->cv);
    pthread_mutex_destroy(&rc->mu);
    free(rc->chunks);
    free(rc->chunk_mem);
    free(rc->queue);
    free(rc);
}

recorder *recorder_open(const recorder_opts *o, char *err, size_t errlen)
{
    if (!o->dir || !*o->dir || strlen(o->dir) > PATH_CAP - 64) {
        snprintf(err, errlen, "--replay-dir: give a folder (at most %d bytes)", PATH_CAP - 64);
        return NULL;
    }
    if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--replay-dir %s: cannot create it: %s", o->dir, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (stat(o->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "--replay-dir %s: not a folder", o->dir);
        return NULL;
    }
    if (access(o->dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "--replay-dir %s: not writable: %s", o->dir, strerror(errno));
        return NULL;
    }
    recorder *rc = calloc(1, sizeof *rc);
    if (!rc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rc->o = *o;
    rc->o.chunks = o->chunks > 0 ? o->chunks : DEFAULT_CHUNKS;
    rc->o.chunk_size = o->chunk_size > 0 ? o->chunk_size : DEFAULT_CHUNK_SIZE;
    snprintf(rc->dir, sizeof rc->dir, "%s", o->dir);
    rc->o.dir = rc->dir;
    pthread_mutex_init(&rc->mu, NULL);
    pthread_cond_init(&rc->cv, NULL);
    rc->chunks = calloc((size_t)rc->o.chunks, sizeof *rc->chunks);
    rc->chunk_mem = malloc((size_t)rc->o.chunks * rc->o.chunk_size);
    rc->qcap = rc->o.chunks + MAX_OPEN_FILES;
    rc->queue = calloc((size_t)rc->qcap, sizeof *rc->queue);
    if (!rc->chunks || !rc->chunk_mem || !rc->queue) {
        snprintf(err, errlen, "out of memory");
        free_recorder(rc);
        return NULL;
    }
    for (int i = 0; i < rc->o.chunks; i++) {
        rc->chunks[i].data = rc->chunk_mem + (size_t)i * rc->o.chunk_size;
        rc->chunks[i].next = rc->free_chunks;
        rc->free_chunks = &rc->chunks[i];
    }
    prune(rc);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&rc->writer, NULL, writer_main, rc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc == 0)
        pthread_setname_np(rc->writer, "tw-replay"); /* its CPU apart in /proc (make bench) */
    if (prc != 0) {
        snprintf(err, errlen, "cannot start the replay writer thread");
        free_recorder(rc);
        return NULL;
    }
    char q[2 * PATH_CAP + 160];
    log_event(LOG_INFO, "replay_open", "dir=\"%s\" keep=%d", log_quote(rc->dir, q, sizeof q), rc->o.keep);
    return rc;
}

void recorder_close(recorder *rc)
{
    if (!rc)
        return;
    pthread_mutex_lock(&rc->mu);
    rc->stopping = 1;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
    pthread_join(rc->writer, NULL);
    log_event(LOG_INFO, "replay_close", "files_written=%" PRIu64 " write_errors=%" PRIu64 " dropped=%" PRIu64,
              rc->st.files_written, rc->st.write_errors, rc->st.dropped);
    free_recorder(rc);
}
