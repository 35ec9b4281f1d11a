/* replay_list: the finished replay files of --replay-dir, for GET
 * /api/replays (a JSON listing, newest first) and GET /api/replays/<name>
 * (one file's bytes). Only names the recorder itself makes
 * (tw-<13 digits>-m<match>-r<round>.twr, recorder.h) are ever listed or
 * opened: a NAME.tmp being written, anything else in the folder, and any
 * name with a path in it are not replays.
 *
 * What each file holds (its header and end record, replay_info in
 * shared/replay_fmt.h) is read once with three small reads and cached:
 * a finished file never changes. A listing costs one readdir, a sort of
 * the names and those reads for files not seen before, on the caller's
 * thread (the service thread: it is bounded by the limit).
 *
 * No libwebsockets here (server/http.c answers); not thread-safe (one
 * service thread). */
#ifndef TW_REPLAY_LIST_H
#define TW_REPLAY_LIST_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_LIST_NAME_MAX 48      /* the longest recorder name is 39 bytes */
#define REPLAY_LIST_DEFAULT_LIMIT 50
#define REPLAY_LIST_MAX_LIMIT 200
/* Bytes of JSON per file at most (a 32-byte label and a 16-byte name,
 * each escaped 6-fold, and the numbers): a caller's buffer of limit
 * times this always fits. */
#define REPLAY_LIST_ENTRY_JSON_MAX 1024

typedef struct replay_list replay_list;

/* NULL when out of memory. `dir` is copied. */
replay_list *replay_list_create(const char *dir);
void replay_list_destroy(replay_list *l);

/* 1 when name is exactly a name the recorder makes, else 0. */
int replay_list_name_ok(const char *name);

/* {"replays":[...],"total":N,"limit":L}: the newest `limit` (clamped to
 * 1..REPLAY_LIST_MAX_LIMIT) files, newest first; total counts every
 * replay file in the folder. Returns the length (NUL-terminated), 0 when
 * it did not fit `cap` or the folder cannot be read (*err set). */
size_t replay_list_json(replay_list *l, int limit, char *out, size_t cap, int *err);

/* Opens a file for reading: its fd (>= 0) and *size; -1 with errno
 * (EINVAL: not a replay name; ENOENT: none such; anything else the
 * system's). A regular file in the folder only (no symlink followed). */
int replay_list_open(replay_list *l, const char *name, uint64_t *size);

#endif
