/* replay_verify: `tickwire-server replay verify FILE`: reads a replay file
 * whole and re-simulates it headless (replay_verify in shared/replay_fmt.c),
 * comparing every hash, keyframe and the final scoreboard.
 *
 * Exit 0: one line, "replay ok: ..." (ticks, players, hashes checked, the
 * top of the final scoreboard). Exit 1: "replay diverged at tick T: ..."
 * naming the player and the field. Exit 2: a file that cannot be
 * replayed (not a replay, another format or simulation version,
 * truncated, corrupt, unreadable) with the reason, or bad usage. */
#include "replay_verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_fmt.h"

#define MAX_FILE (1u << 30)

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s replay verify FILE\n"
            "  re-simulates a replay file (--replay-dir) and checks every state hash:\n"
            "  exit 0 when it matches, 1 when it diverges (the first tick, player and\n"
            "  field are named), 2 when the file cannot be replayed (truncated, corrupt,\n"
            "  another format or simulation version)\n",
            prog);
}

/* The whole file in memory (replays are small: ~10 KB per player-minute). */
static uint8_t *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            uint8_t *more = cap < MAX_FILE ? realloc(buf, cap * 2) : NULL;
            if (!more) {
                snprintf(err, errlen, "%s: too large", path);
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    if (!buf && !*err)
        snprintf(err, errlen, "out of memory");
    fclose(f);
    *len = n;
    return buf;
}

/* The top line: the best score (the lowest id on a tie). */
static void print_ok(const char *path, const replay_reader *r)
{
    const replay_score *top = NULL;
    for (int i = 0; i < r->nscores; i++)
        if (!top || r->scores[i].score > top->score)
            top = &r->scores[i];
    static const char *const why[] = {"?", "time", "score", "interrupted"};
    printf("replay ok: %s: match %u round %u, %u ticks (%.1f s), %d players, %u hashes and %u keyframes checked, "
           "ended by %s; top: ",
           path, (unsigned)r->h.match_id, (unsigned)r->h.round, (unsigned)r->ticks,
           (double)r->ticks / r->h.tick_rate, r->nscores, (unsigned)r->hashes, (unsigned)r->keyframes,
           why[r->end_reason & 3]);
    if (top)
        printf("%s kills %u deaths %u score %u\n", top->name, top->kills, top->deaths, top->score);
    else
        printf("nobody\n");
}

int replay_verify_main(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (argc != 4 || strcmp(argv[2], "verify") != 0) {
        fprintf(stderr, "%s replay: %s\n", argv[0],
                argc < 3 ? "missing the command (verify)"
                : strcmp(argv[2], "verify") != 0 ? "unknown command (only verify)"
                : argc < 4 ? "missing the FILE" : "one FILE only");
        usage(stderr, argv[0]);
        return 2;
    }
    const char *path = argv[3];
    char err[512] = "";
    size_t len = 0;
    uint8_t *data = read_all(path, &len, err, sizeof err);
    if (!data) {
        fprintf(stderr, "replay unreadable: %s\n", err);
        return 2;
    }
    replay_reader *r = malloc(sizeof *r);
    sim_world *w = malloc(sizeof *w);
    sim_tick_inputs *in = malloc(sizeof *in);
    int rc = 2;
    if (!r || !w || !in) {
        fprintf(stderr, "replay: out of memory\n");
    } else if ((rc = replay_open(r, data, len, w, in)) == REPLAY_OK && (rc = replay_verify(r)) == REPLAY_OK) {
        print_ok(path, r);
    } else if (rc == REPLAY_DIVERGED) {
        const replay_diff *d = &r->diff;
        if (d->player >= 0)
            printf("replay diverged at tick %u: player %d (%s) field %s (re-simulated 0x%08x), after %u ticks "
                   "and %u matching hashes: %s\n",
                   (unsigned)d->tick, d->player, d->name, d->field, (unsigned)d->value, (unsigned)r->ticks,
                   (unsigned)r->hashes, path);
        else
            printf("replay diverged at tick %u: world field %s (re-simulated 0x%08x), after %u ticks and %u "
                   "matching hashes: %s\n",
                   (unsigned)d->tick, d->field, (unsigned)d->value, (unsigned)r->ticks, (unsigned)r->hashes, path);
    } else {
        fprintf(stderr, "replay bad file: %s: %s\n", path, r->err);
    }
    free(in);
    free(w);
    free(r);
    free(data);
    return rc;
}
