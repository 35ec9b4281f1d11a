/* map: see map.h. */
#include "map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_line(const char *line, sim_map *m, int *have_size, char *err, size_t errlen)
{
    char word[16];
    long a, b, c, d;
    char extra;
    if (sscanf(line, " %15s", word) != 1 || word[0] == '#')
        return 0;
    if (strcmp(word, "size") == 0) {
        /* Once: a second one could shrink the arena under earlier walls. */
        if (*have_size) {
            snprintf(err, errlen, "'size' given twice");
            return -1;
        }
        if (sscanf(line, " size %ld %ld %c", &a, &b, &extra) != 2 || a < 64 || b < 64 ||
            a > MAP_MAX_SIZE || b > MAP_MAX_SIZE) {
            snprintf(err, errlen, "expected 'size W H' with 64 <= W,H <= %d", MAP_MAX_SIZE);
            return -1;
        }
        m->width = (uint16_t)a;
        m->height = (uint16_t)b;
        *have_size = 1;
        return 0;
    }
    if (strcmp(word, "wall") == 0) {
        if (!*have_size) {
            snprintf(err, errlen, "'wall' before 'size'");
            return -1;
        }
        if (sscanf(line, " wall %ld %ld %ld %ld %c", &a, &b, &c, &d, &extra) != 4 || a >= c ||
            b >= d || a < 0 || b < 0 || c > m->width || d > m->height) {
            snprintf(err, errlen, "expected 'wall X0 Y0 X1 Y1' with X0 < X1, Y0 < Y1 inside the arena");
            return -1;
        }
        if (m->nwalls >= SIM_MAX_WALLS) {
            snprintf(err, errlen, "more than %d walls", SIM_MAX_WALLS);
            return -1;
        }
        m->walls[m->nwalls++] = (sim_wall){(int16_t)a, (int16_t)b, (int16_t)c, (int16_t)d};
        return 0;
    }
    snprintf(err, errlen, "unknown keyword '%s'", word);
    return -1;
}

int map_parse(const char *text, sim_map *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int have_size = 0, lineno = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char line[256];
        lineno++;
        if (n >= sizeof line) {
            snprintf(err, errlen, "line %d: too long", lineno);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        char msg[160];
        if (parse_line(line, out, &have_size, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "line %d: %s", lineno, msg);
            return -1;
        }
        p = end ? end + 1 : p + n;
    }
    if (!have_size) {
        snprintf(err, errlen, "no 'size' line");
        return -1;
    }
    return 0;
}

int map_load(const char *path, sim_map *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    int failed = ferror(f), too_big = !feof(f);
    int e = errno;
    fclose(f);
    if (failed) { /* e.g. a directory: "Is a directory" */
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -1;
    }
    if (too_big) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, sizeof text - 1);
        return -1;
    }
    text[n] = '\0';
    char msg[200];
    if (map_parse(text, out, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return -1;
    }
    return 0;
}
