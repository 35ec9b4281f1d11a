/* Unit tests for server/replay_list.c (GET /api/replays): which names are
 * replays (exactly the recorder's: no path, no .tmp, no other file), and
 * the listing of a folder holding the committed fixture under two names,
 * a .tmp, a corrupt file, a symlink and other files: newest first,
 * bounded by the limit, the fixture's header and end record in it, the
 * corrupt one listed as not playable, the others not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include <cmocka.h>

#include "replay_list.h"

static void test_names(void **state)
{
    (void)state;
    static const char *const good[] = {"tw-1796337979077-m1-r1.twr", "tw-0000000000001-m65535-r4294967295.twr",
                                       "tw-1700000000000-m12-r3.twr"};
    static const char *const bad[] = {
        "", "tw-.twr", "tw-179633797907-m1-r1.twr" /* 12 digits */, "tw-17963379790770-m1-r1.twr" /* 14 */,
        "tw-1796337979077-m1-r1.twr.tmp", "tw-1796337979077-m1-r1.tw", "tw-1796337979077-m-r1.twr",
        "tw-1796337979077-m123456-r1.twr", "tw-1796337979077-m1-r12345678901.twr", "../tw-1796337979077-m1-r1.twr",
        "tw-1796337979077-m1-r1.twr/..", "x/tw-1796337979077-m1-r1.twr", "tw-1796337979077-m1-r1.twrx",
        "TW-1796337979077-m1-r1.twr", "tw-1796337979077-m1-r1.twr\n", "tw-1796337979077-m+1-r1.twr", "..", ".",
        "/etc/passwd"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(replay_list_name_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (replay_list_name_ok(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
}

static void put_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void test_listing(void **state)
{
    (void)state;
    const char *fx = getenv("TW_REPLAY_FIXTURE");
    if (!fx)
        skip();
    FILE *f = fopen(fx, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char dir[] = "/tmp/tw-replay-list-XXXXXX";
    assert_non_null(mkdtemp(dir));
    put_file(dir, "tw-1700000000000-m1-r1.twr", buf, n);
    put_file(dir, "tw-1700000000500-m2-r7.twr", buf, n);
    put_file(dir, "tw-1700000000900-m1-r2.twr.tmp", buf, n / 2);
    put_file(dir, "tw-1700000000800-m1-r9.twr", buf, n / 3); /* cut: no footer */
    put_file(dir, "notes.twr", buf, n);
    char link[600];
    snprintf(link, sizeof link, "%s/tw-1700000000999-m1-r1.twr", dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);

    replay_list *l = replay_list_create(dir);
    assert_non_null(l);
    static char out[1 << 16];
    int err = 0;
    for (int pass = 0; pass < 2; pass++) { /* the second from the cache */
        size_t len = replay_list_json(l, 50, out, sizeof out, &err);
        assert_true(len > 0);
        assert_int_equal(strlen(out), len);
        /* newest first; the .tmp and notes.twr not listed */
        const char *a = strstr(out, "tw-1700000000999"), *b = strstr(out, "tw-1700000000800"),
                   *c = strstr(out, "tw-1700000000500"), *d = strstr(out, "tw-1700000000000");
        assert_true(a && b && c && d && a < b && b < c && c < d);
        assert_null(strstr(out, ".tmp"));
        assert_null(strstr(out, "notes"));
        assert_non_null(strstr(out, "\"total\":4,\"limit\":50}"));
        /* the symlink is not followed, the cut file is not playable */
        assert_non_null(strstr(a, "\"playable\":false"));
        assert_non_null(strstr(b, "\"playable\":false,\"error\":\"truncated: no footer\""));
        assert_non_null(strstr(c, "\"playable\":true,\"match_id\":1,\"label\":\"\",\"round\":1,"));
        assert_non_null(strstr(c, "\"ticks\":600,\"tick_rate\":60,\"duration_s\":10.000,\"players\":6,"
                                  "\"end_reason\":\"time\",\"top\":{\"name\":\"bot-2\",\"kills\":7,"));
        assert_non_null(strstr(c, "\"map\":{\"width\":2048,\"height\":2048,\"walls\":10}"));
    }
    size_t len = replay_list_json(l, 1, out, sizeof out, &err);
    assert_true(len > 0);
    assert_non_null(strstr(out, "tw-1700000000999"));
    assert_null(strstr(out, "tw-1700000000800"));
    assert_non_null(strstr(out, "\"total\":4,\"limit\":1}"));
    /* a buffer too small: 0, nothing half-written is used */
    assert_int_equal(replay_list_json(l, 50, out, 100, &err), 0);

    uint64_t size = 0;
    int fd = replay_list_open(l, "tw-1700000000000-m1-r1.twr", &size);
    assert_true(fd >= 0);
    assert_int_equal(size, n);
    close(fd);
    assert_int_equal(replay_list_open(l, "tw-1700000000900-m1-r2.twr.tmp", &size), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(replay_list_open(l, "../../etc/passwd", &size), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(replay_list_open(l, "tw-1700000000999-m1-r1.twr", &size), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(replay_list_open(l, "tw-1700000000001-m1-r1.twr", &size), -1);
    assert_int_equal(errno, ENOENT);
    replay_list_destroy(l);

    /* a folder that is gone */
    static const char *const names[] = {"tw-1700000000000-m1-r1.twr", "tw-1700000000500-m2-r7.twr",
                                        "tw-1700000000900-m1-r2.twr.tmp", "tw-1700000000800-m1-r9.twr",
                                        "notes.twr", "tw-1700000000999-m1-r1.twr"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        assert_int_equal(unlink(p), 0);
    }
    assert_int_equal(rmdir(dir), 0);
    l = replay_list_create(dir);
    assert_int_equal(replay_list_json(l, 5, out, sizeof out, &err), 0);
    assert_int_equal(err, ENOENT);
    replay_list_destroy(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_listing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
