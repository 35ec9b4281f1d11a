/* fuzz_map: server/map.c's map_parse on arbitrary text (a NUL-terminated
 * copy of the input; map files are read the same way by map_load).
 *
 * Checks: a map that parses keeps map.h's promises (64 <= size <= arena,
 * at most SIM_MAX_WALLS walls, each non-empty and inside); printed back as
 * text it parses to the same map; sent in a WELCOME it decodes to the same
 * map. A map that does not parse has a NUL-terminated message that fits the
 * caller's buffer, whatever its size (exact-size heap buffers, so ASan sees
 * any overrun). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "map.h"
#include "proto.h"
#include "sim.h"

static void check_same_map(const sim_map *a, const sim_map *b)
{
    FZ_CHECK(a->width == b->width && a->height == b->height && a->nwalls == b->nwalls);
    for (int i = 0; i < a->nwalls; i++)
        FZ_CHECK(memcmp(&a->walls[i], &b->walls[i], sizeof a->walls[i]) == 0);
}

static void check_map(const sim_map *m)
{
    FZ_CHECK(m->width >= 64 && m->width <= MAP_MAX_SIZE);
    FZ_CHECK(m->height >= 64 && m->height <= MAP_MAX_SIZE);
    FZ_CHECK(m->nwalls <= SIM_MAX_WALLS);
    for (int i = 0; i < m->nwalls; i++) {
        const sim_wall *w = &m->walls[i];
        FZ_CHECK(w->x0 >= 0 && w->y0 >= 0 && w->x0 < w->x1 && w->y0 < w->y1);
        FZ_CHECK(w->x1 <= m->width && w->y1 <= m->height);
    }
}

static void check_reprint(const sim_map *m)
{
    static char text[32 + SIM_MAX_WALLS * 40];
    int n = snprintf(text, sizeof text, "size %u %u\n", m->width, m->height);
    for (int i = 0; i < m->nwalls; i++) {
        const sim_wall *w = &m->walls[i];
        n += snprintf(text + n, sizeof text - (size_t)n, "wall %d %d %d %d\n", w->x0, w->y0, w->x1, w->y1);
    }
    FZ_CHECK((size_t)n < sizeof text);
    sim_map again;
    char err[200];
    FZ_CHECK(map_parse(text, &again, err, sizeof err) == 0);
    check_same_map(m, &again);
}

static void check_welcome(const sim_map *m)
{
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.tick_rate = 60;
    w.snapshot_rate = 30;
    w.max_players = 1;
    w.map = *m;
    uint8_t buf[PROTO_MAX_WELCOME];
    size_t n = proto_welcome_write(&w, buf, sizeof buf);
    FZ_CHECK(n == 23u + 8u * m->nwalls + PROTO_RESUME_LEN + 1u);
    proto_welcome got;
    FZ_CHECK(proto_welcome_read(buf, n, &got) == PROTO_OK);
    check_same_map(m, &got.map);
}

/* A failing parse with an error buffer of exactly errlen bytes. */
static void check_error_buffer(const char *text, size_t errlen)
{
    char *err = malloc(errlen ? errlen : 1);
    FZ_CHECK(err != NULL);
    sim_map m;
    FZ_CHECK(map_parse(text, &m, err, errlen) == -1);
    if (errlen)
        FZ_CHECK(memchr(err, '\0', errlen) != NULL);
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';

    sim_map m;
    char err[256];
    memset(err, 0x55, sizeof err);
    if (map_parse(text, &m, err, sizeof err) == 0) {
        check_map(&m);
        check_reprint(&m);
        check_welcome(&m);
    } else {
        FZ_CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        check_error_buffer(text, 1);
        check_error_buffer(text, 7 + size % 41);
    }
    free(text);
    return 0;
}
