/* The test vectors of docs/SIMULATION.md, checked against shared/sim.c.
 *
 * The document is the contract an outside client re-implements the step
 * from; this test reads every ```vectors block out of it (the path is
 * compiled in) and runs each line through the real sim, so a wrong number
 * in the document, or a change to the sim the document does not follow,
 * fails `make test`. Line formats (one vector per line, `#` starts a
 * comment, floats are exact decimals or IEEE-754 binary32 bits as 0x....):
 *
 *   map NAME W H [X0,Y0,X1,Y1 ...]
 *   step MAP [rate=HZ] pos=X,Y vel=X,Y [cd=N] [dead=1] [btn=B] [aim=A] [n=K]
 *        -> pos=X,Y vel=X,Y cd=N flags=F fired=K
 *   aim A -> X Y
 *   hitscan MAP from=X,Y aim=A [target=X,Y ...] -> hit=I dist=D
 *   spawn MAP seed=S id=I join=J -> pos=X,Y
 *   respawn MAP seed=S tick=T id=I life=L [other=X,Y ...] -> pos=X,Y
 *
 * Run as `test_simdoc --fill FILE` it prints FILE with the right-hand side
 * of every vector recomputed: a tool for adding vectors, whose output is
 * reviewed, not pasted blindly. */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"

#ifndef TW_SIMULATION_MD
#error "TW_SIMULATION_MD: the path of docs/SIMULATION.md"
#endif

#define MAX_MAPS 8
#define MAX_TOK 48
#define MAX_TARGETS 8

typedef struct named_map {
    char name[32];
    sim_map map;
} named_map;

typedef struct doc {
    named_map maps[MAX_MAPS];
    int nmaps;
    int lineno;
    int fill;          /* print the line with the computed right-hand side */
    int failed;        /* vectors that disagree (or do not parse) */
    int count[6];      /* vectors checked, by kind */
    char msg[512];     /* the first failure */
} doc;

enum { K_STEP, K_AIM, K_HITSCAN, K_SPAWN, K_RESPAWN, K_MAP };

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A float as the document writes it: 0x.... (its bits) or a decimal that
 * is exactly a binary32 value (so the document never states an
 * approximation). Returns 0 on a bad number. */
static int parse_float(const char *s, float *out)
{
    char *end;
    if (strncmp(s, "0x", 2) == 0) {
        unsigned long u = strtoul(s, &end, 16);
        if (*end || end == s + 2 || u > 0xffffffffUL)
            return 0;
        *out = bits_float((uint32_t)u);
        return 1;
    }
    double d = strtod(s, &end);
    if (*end || end == s || !(d >= -FLT_MAX && d <= FLT_MAX) || (double)(float)d != d)
        return 0;
    *out = (float)d;
    return 1;
}

static int parse_pair(const char *s, float out[2])
{
    char a[MAX_TOK];
    const char *comma = strchr(s, ',');
    if (!comma || (size_t)(comma - s) >= sizeof a)
        return 0;
    memcpy(a, s, (size_t)(comma - s));
    a[comma - s] = '\0';
    return parse_float(a, &out[0]) && parse_float(comma + 1, &out[1]);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || end == s || v > max)
        return 0;
    *out = v;
    return 1;
}

/* Grid values and other exact floats as the document writes them. */
static void print_float(float f, char *buf, size_t cap)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.10f", (double)f);
    char *dot = strchr(tmp, '.');
    if (dot) {
        size_t n = strlen(tmp);
        while (n > 0 && tmp[n - 1] == '0')
            tmp[--n] = '\0';
        if (tmp[n - 1] == '.')
            tmp[n - 1] = '\0';
    }
    float back;
    if (parse_float(tmp, &back) && float_bits(back) == float_bits(f) && strlen(tmp) <= 12)
        snprintf(buf, cap, "%s", tmp);
    else
        snprintf(buf, cap, "0x%08x", float_bits(f));
}

typedef struct line {
    char *tok[64];
    int n;
    int arrow; /* index of "->" */
} line;

static const char *find_key(const line *l, int from, int to, const char *key)
{
    size_t k = strlen(key);
    for (int i = from; i < to; i++)
        if (strncmp(l->tok[i], key, k) == 0 && l->tok[i][k] == '=')
            return l->tok[i] + k + 1;
    return NULL;
}

static const sim_map *find_map(const doc *d, const char *name)
{
    for (int i = 0; i < d->nmaps; i++)
        if (strcmp(d->maps[i].name, name) == 0)
            return &d->maps[i].map;
    return NULL;
}

static void doc_fail(doc *d, const char *fmt, ...)
{
    d->failed++;
    if (d->msg[0])
        return;
    int n = snprintf(d->msg, sizeof d->msg, "SIMULATION.md line %d: ", d->lineno);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg + n, sizeof d->msg - (size_t)n, fmt, ap);
    va_end(ap);
}

static int do_map(doc *d, const line *l)
{
    if (l->n < 4 || d->nmaps == MAX_MAPS || l->n - 4 > SIM_MAX_WALLS)
        return 0;
    named_map *m = &d->maps[d->nmaps];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", l->tok[1]);
    unsigned long long w, h;
    if (!parse_uint(l->tok[2], 4095, &w) || !parse_uint(l->tok[3], 4095, &h))
        return 0;
    m->map.width = (uint16_t)w;
    m->map.height = (uint16_t)h;
    for (int i = 4; i < l->n; i++) {
        int v[4];
        char tail;
        if (sscanf(l->tok[i], "%d,%d,%d,%d%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4 || v[0] >= v[2] ||
            v[1] >= v[3])
            return 0;
        m->map.walls[m->map.nwalls++] = (sim_wall){(int16_t)v[0], (int16_t)v[1], (int16_t)v[2], (int16_t)v[3]};
    }
    d->nmaps++;
    return 1;
}

/* The right-hand side computed, as the document writes it. */
static int do_step(doc *d, const line *l, char *rhs, size_t cap)
{
    const sim_map *map = find_map(d, l->tok[1]);
    const char *v;
    unsigned long long rate = 60, cd = 0, dead = 0, btn = 0, aim = 0, n = 1;
    sim_player p;
    memset(&p, 0, sizeof p);
    if (!map || !(v = find_key(l, 2, l->arrow, "pos")) || !parse_pair(v, p.pos) ||
        !(v = find_key(l, 2, l->arrow, "vel")) || !parse_pair(v, p.vel))
        return 0;
    if (((v = find_key(l, 2, l->arrow, "rate")) && !parse_uint(v, 65535, &rate)) || rate == 0 ||
        ((v = find_key(l, 2, l->arrow, "cd")) && !parse_uint(v, 255, &cd)) ||
        ((v = find_key(l, 2, l->arrow, "dead")) && !parse_uint(v, 1, &dead)) ||
        ((v = find_key(l, 2, l->arrow, "btn")) && !parse_uint(v, SIM_BTN_ALL, &btn)) ||
        ((v = find_key(l, 2, l->arrow, "aim")) && !parse_uint(v, 65535, &aim)) ||
        ((v = find_key(l, 2, l->arrow, "n")) && !parse_uint(v, 100000, &n)))
        return 0;
    p.fire_cd = (uint8_t)cd;
    p.flags = dead ? SIM_FLAG_DEAD : 0;
    sim_input in = {.buttons = (uint8_t)btn, .aim = (uint16_t)aim};
    const float dt = 1.0f / (float)rate; /* as sim_world_step and the client compute it */
    unsigned fired = 0;
    for (unsigned long long k = 0; k < n; k++)
        fired += (unsigned)sim_player_step(map, &p, &in, dt);
    char x[32], y[32], vx[32], vy[32];
    print_float(p.pos[0], x, sizeof x);
    print_float(p.pos[1], y, sizeof y);
    print_float(p.vel[0], vx, sizeof vx);
    print_float(p.vel[1], vy, sizeof vy);
    snprintf(rhs, cap, "pos=%s,%s vel=%s,%s cd=%u flags=0x%02x fired=%u", x, y, vx, vy, p.fire_cd, p.flags, fired);
    return 1;
}

static int do_aim(const line *l, char *rhs, size_t cap)
{
    unsigned long long aim;
    if (l->arrow != 2 || !parse_uint(l->tok[1], 65535, &aim))
        return 0;
    float dir[2];
    sim_aim_dir((uint16_t)aim, dir);
    snprintf(rhs, cap, "0x%08x 0x%08x", float_bits(dir[0]), float_bits(dir[1]));
    return 1;
}

static int do_hitscan(doc *d, const line *l, char *rhs, size_t cap)
{
    const sim_map *map = find_map(d, l->tok[1]);
    float from[2], pos[MAX_TARGETS][2];
    uint8_t alive[MAX_TARGETS];
    unsigned long long aim;
    const char *v;
    if (!map || !(v = find_key(l, 2, l->arrow, "from")) || !parse_pair(v, from) ||
        !(v = find_key(l, 2, l->arrow, "aim")) || !parse_uint(v, 65535, &aim))
        return 0;
    int n = 0;
    for (int i = 2; i < l->arrow; i++) {
        if (strncmp(l->tok[i], "target=", 7) != 0)
            continue;
        if (n == MAX_TARGETS || !parse_pair(l->tok[i] + 7, pos[n]))
            return 0;
        alive[n++] = 1;
    }
    float dist;
    int hit = sim_hitscan(map, from, (uint16_t)aim, (const float (*)[2])pos, alive, n, -1, &dist);
    char ds[32];
    print_float(dist, ds, sizeof ds);
    snprintf(rhs, cap, "hit=%d dist=%s", hit, ds);
    return 1;
}

static int do_spawn(doc *d, const line *l, int re, char *rhs, size_t cap)
{
    const sim_map *map = find_map(d, l->tok[1]);
    unsigned long long seed, id, join = 0, tick = 0, life = 0;
    const char *v;
    if (!map || !(v = find_key(l, 2, l->arrow, "seed")) || !parse_uint(v, UINT64_MAX, &seed) ||
        !(v = find_key(l, 2, l->arrow, "id")) || !parse_uint(v, SIM_MAX_PLAYERS - 1, &id))
        return 0;
    static sim_world w;
    sim_world_init(&w, map, 60, seed);
    if (!re) {
        if (!(v = find_key(l, 2, l->arrow, "join")) || !parse_uint(v, UINT32_MAX, &join))
            return 0;
        sim_world_spawn(&w, (int)id, (uint32_t)join);
    } else {
        if (!(v = find_key(l, 2, l->arrow, "tick")) || !parse_uint(v, UINT32_MAX - 1, &tick) ||
            !(v = find_key(l, 2, l->arrow, "life")) || !parse_uint(v, 255, &life))
            return 0;
        /* The others in the slots after `id`, alive; `id` dead, its
         * respawn due in this tick's step. */
        int o = (int)id;
        for (int i = 2; i < l->arrow; i++) {
            if (strncmp(l->tok[i], "other=", 6) != 0)
                continue;
            if (++o >= SIM_MAX_PLAYERS)
                return 0;
            sim_world_spawn(&w, o, 0);
            if (!parse_pair(l->tok[i] + 6, w.players[o].pos))
                return 0;
        }
        sim_world_spawn(&w, (int)id, 0);
        sim_player *p = &w.players[id];
        p->flags = SIM_FLAG_DEAD;
        p->health = 0;
        p->respawn = 1;
        p->life = (uint8_t)life;
        w.tick = (uint32_t)tick;
        static sim_tick_inputs none;
        sim_world_step(&w, &none);
        if (p->flags & SIM_FLAG_DEAD)
            return 0;
    }
    char x[32], y[32];
    print_float(w.players[id].pos[0], x, sizeof x);
    print_float(w.players[id].pos[1], y, sizeof y);
    snprintf(rhs, cap, "pos=%s,%s", x, y);
    return 1;
}

/* The expected side equals the computed one, float by float: decimals and
 * bits compare as the floats they name (so 0.5 and 0x3f000000 agree), and
 * for positions and velocities -0 equals +0 (the sign of a zero state is
 * never observable: section 2 of the document). */
static int same_rhs(const line *l, char *computed)
{
    char *save = NULL, *tok[32];
    int n = 0;
    for (char *t = strtok_r(computed, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    if (n != l->n - l->arrow - 1)
        return 0;
    for (int i = 0; i < n; i++) {
        const char *want = l->tok[l->arrow + 1 + i], *got = tok[i];
        const char *we = strchr(want, '='), *ge = strchr(got, '=');
        if ((we == NULL) != (ge == NULL) || (we && (we - want != ge - got || strncmp(want, got, (size_t)(we - want)))))
            return 0;
        const char *wv = we ? we + 1 : want, *gv = ge ? ge + 1 : got;
        float wf[2], gf[2];
        int pair = strchr(gv, ',') != NULL;
        if (pair) {
            if (!parse_pair(wv, wf) || !parse_pair(gv, gf) || wf[0] != gf[0] || wf[1] != gf[1])
                return 0;
        } else if (we && (!strncmp(want, "dist=", 5))) {
            if (!parse_float(wv, wf) || !parse_float(gv, gf) || float_bits(wf[0]) != float_bits(gf[0]))
                return 0;
        } else if (!we) {
            if (!parse_float(wv, wf) || !parse_float(gv, gf) || float_bits(wf[0]) != float_bits(gf[0]))
                return 0;
        } else {
            unsigned long long a, b;
            if (!strcmp(wv, gv))
                continue;
            if (*wv == '-' || *gv == '-' || !parse_uint(wv, UINT64_MAX, &a) || !parse_uint(gv, UINT64_MAX, &b) ||
                a != b)
                return 0;
        }
    }
    return 1;
}

static void do_line(doc *d, char *text, FILE *out)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", text);
    char *hash = strchr(copy, '#');
    const char *comment = hash ? text + (hash - copy) : NULL;
    if (hash)
        *hash = '\0';
    line l = {.n = 0, .arrow = -1};
    char *save = NULL;
    for (char *t = strtok_r(copy, " \t\r\n", &save); t && l.n < 64; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (!strcmp(t, "->"))
            l.arrow = l.n;
        l.tok[l.n++] = t;
    }
    if (l.n == 0) {
        if (out)
            fputs(text, out);
        return;
    }
    char rhs[256] = "";
    int kind, ok;
    if (!strcmp(l.tok[0], "map")) {
        kind = K_MAP;
        ok = l.arrow < 0 && do_map(d, &l);
    } else if (l.arrow < 2 || l.arrow == l.n - 1) {
        kind = -1;
        ok = 0;
    } else if (!strcmp(l.tok[0], "step")) {
        kind = K_STEP;
        ok = do_step(d, &l, rhs, sizeof rhs);
    } else if (!strcmp(l.tok[0], "aim")) {
        kind = K_AIM;
        ok = do_aim(&l, rhs, sizeof rhs);
    } else if (!strcmp(l.tok[0], "hitscan")) {
        kind = K_HITSCAN;
        ok = do_hitscan(d, &l, rhs, sizeof rhs);
    } else if (!strcmp(l.tok[0], "spawn") || !strcmp(l.tok[0], "respawn")) {
        kind = l.tok[0][0] == 's' ? K_SPAWN : K_RESPAWN;
        ok = do_spawn(d, &l, kind == K_RESPAWN, rhs, sizeof rhs);
    } else {
        kind = -1;
        ok = 0;
    }
    if (out) {
        if (!ok || kind == K_MAP) {
            fputs(text, out);
            if (!ok)
                fprintf(stderr, "line %d: cannot read: %s", d->lineno, text);
            return;
        }
        /* Everything up to the arrow as written, the computed rest, the comment. */
        size_t upto = (size_t)(strstr(text, "->") - text);
        fprintf(out, "%.*s-> %s%s%s", (int)upto, text, rhs, comment ? "  " : "\n", comment ? comment : "");
        return;
    }
    if (!ok) {
        doc_fail(d, "cannot read this vector: %s", text);
        return;
    }
    d->count[kind]++;
    if (kind == K_MAP)
        return;
    char computed[256];
    snprintf(computed, sizeof computed, "%s", rhs);
    if (!same_rhs(&l, computed))
        doc_fail(d, "the document says\n    %s  the sim computes\n    -> %s", text, rhs);
}

/* Runs every vector of the document; with out, prints the document with
 * the computed right-hand sides instead of checking them. */
static void run(doc *d, const char *path, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        doc_fail(d, "cannot open %s", path);
        return;
    }
    char text[1024];
    int in_block = 0;
    while (fgets(text, sizeof text, f)) {
        d->lineno++;
        if (!strncmp(text, "```", 3)) {
            in_block = !in_block && !strncmp(text, "```vectors", 10);
            if (out)
                fputs(text, out);
            continue;
        }
        if (in_block)
            do_line(d, text, out);
        else if (out)
            fputs(text, out);
    }
    fclose(f);
}

static void test_vectors(void **state)
{
    (void)state;
    static doc d;
    run(&d, TW_SIMULATION_MD, NULL);
    if (d.failed)
        fail_msg("%d vector(s) wrong; the first: %s", d.failed, d.msg);
    print_message("%d maps, %d step, %d aim, %d hitscan, %d spawn, %d respawn vectors agree with sim.c\n",
                  d.count[K_MAP], d.count[K_STEP], d.count[K_AIM], d.count[K_HITSCAN], d.count[K_SPAWN],
                  d.count[K_RESPAWN]);
    /* The document covers each kind (a block lost to a markdown edit fails). */
    assert_true(d.count[K_MAP] >= 2);
    assert_true(d.count[K_STEP] >= 10);
    assert_true(d.count[K_AIM] >= 8);
    assert_true(d.count[K_HITSCAN] >= 4);
    assert_true(d.count[K_SPAWN] >= 1);
    assert_true(d.count[K_RESPAWN] >= 1);
}

/* The checker itself: a vector one grid step off fails, and so does a
 * decimal that is not exactly a float. */
static void test_checker_catches_a_wrong_number(void **state)
{
    (void)state;
    static doc d;
    char text[][160] = {
        "map open 2048 2048\n",
        "step open pos=1024,1024 vel=0,0 btn=0x08 -> pos=1024.6875,1024 vel=40,0 cd=0 flags=0x00 fired=0\n",
        "step open pos=1024,1024 vel=0,0 btn=0x08 -> pos=1024.75,1024 vel=40,0 cd=0 flags=0x00 fired=0\n",
        "step open pos=1024,1024 vel=0,0 btn=0x08 -> pos=1024.6875,1024 vel=40.1,0 cd=0 flags=0x00 fired=0\n",
        "aim 0 -> 0x3f800000 0x00000001\n",
    };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        d.lineno = (int)i + 1;
        do_line(&d, text[i], NULL);
        assert_int_equal(d.failed, i < 2 ? 0 : (int)i - 1);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--fill")) {
        static doc d;
        run(&d, argv[2], stdout);
        return d.failed != 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_checker_catches_a_wrong_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
