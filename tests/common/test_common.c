/* Unit tests for tests/common, the helpers the test programs, the bots and
 * the bench floor share: number flags at and past their ranges with the
 * exact error text; token secret files the way the server reads them; the
 * servers' "serving" line; and starting, waiting for and stopping real
 * children (/bin/sh scripts standing in for a server), including the ones
 * that exit early, print nothing or will not stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "parse.h"
#include "secret.h"
#include "spawn.h"

/* ---- parse --------------------------------------------------------------------- */

static void test_parse_long_and_int(void **state)
{
    (void)state;
    char err[128] = "";
    long n = -1;
    assert_int_equal(parse_long("--port", "0", 0, 65535, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(parse_long("--port", "65535", 0, 65535, &n, err, sizeof err), 0);
    assert_int_equal(n, 65535);
    assert_int_equal(parse_long("--port", "-3", -5, 5, &n, err, sizeof err), 0);
    assert_int_equal(n, -3);

    static const char *const BAD[] = {"70000", "-1", "", "12abc", "abc", "1.5", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        n = 7;
        assert_int_equal(parse_long("--port", BAD[i], 0, 65535, &n, err, sizeof err), -1);
        assert_int_equal(n, 7); /* untouched on failure */
    }
    assert_int_equal(parse_long("--port", "70000", 0, 65535, &n, err, sizeof err), -1);
    assert_string_equal(err, "--port: '70000' is not a whole number in 0..65535");

    int v = 0;
    assert_int_equal(parse_int("--tick-rate", "240", 1, 240, &v, err, sizeof err), 0);
    assert_int_equal(v, 240);
    assert_int_equal(parse_int("--tick-rate", "241", 1, 240, &v, err, sizeof err), -1);
    assert_string_equal(err, "--tick-rate: '241' is not a whole number in 1..240");
    assert_int_equal(v, 240);
}

static void test_parse_double(void **state)
{
    (void)state;
    char err[128] = "";
    double d = -1;
    assert_int_equal(parse_double("--chaos-prob", "0.25", 0, 1, &d, err, sizeof err), 0);
    assert_true(d == 0.25);
    assert_int_equal(parse_double("--duration", "1e2", 0.1, 86400, &d, err, sizeof err), 0);
    assert_true(d == 100);
    assert_int_equal(parse_double("--chaos-prob", "1", 0, 1, &d, err, sizeof err), 0);
    assert_true(d == 1);

    static const char *const BAD[] = {"1.01", "-0.1", "", "0.5x", "nan", "inf", "1e999"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        d = 7;
        assert_int_equal(parse_double("--chaos-prob", BAD[i], 0, 1, &d, err, sizeof err), -1);
        assert_true(d == 7);
    }
    assert_int_equal(parse_double("--duration", "0.05", 0.1, 86400, &d, err, sizeof err), -1);
    assert_string_equal(err, "--duration: '0.05' is not a number in 0.1..86400");
}

/* ---- secret -------------------------------------------------------------------- */

/* Writes len bytes of `bytes` to a new temporary file; path gets its name. */
static void write_temp(char *path, const void *bytes, size_t len)
{
    strcpy(path, "/tmp/tw-common-secret-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

static void test_secret_read(void **state)
{
    (void)state;
    static uint8_t buf[SECRET_MAX], big[SECRET_MAX + 1];
    char path[64], err[256];

    write_temp(path, "0123456789abcdef-the-secret\r\n", 29); /* trailing CR/LF are not part of it */
    assert_int_equal(secret_read(path, buf, sizeof buf, err, sizeof err), 27);
    assert_memory_equal(buf, "0123456789abcdef-the-secret", 27);
    unlink(path);

    write_temp(path, "0123456789abcdef", 16); /* the shortest */
    assert_int_equal(secret_read(path, buf, sizeof buf, err, sizeof err), 16);
    unlink(path);

    write_temp(path, "0123456789abcde\n", 16); /* 15 without the newline */
    assert_int_equal(secret_read(path, buf, sizeof buf, err, sizeof err), -1);
    assert_non_null(strstr(err, "must be 16..4096 bytes"));
    unlink(path);

    memset(big, 'x', sizeof big);
    write_temp(path, big, SECRET_MAX); /* the longest */
    assert_int_equal(secret_read(path, buf, sizeof buf, err, sizeof err), SECRET_MAX);
    unlink(path);
    write_temp(path, big, SECRET_MAX + 1);
    assert_int_equal(secret_read(path, buf, sizeof buf, err, sizeof err), -1);
    unlink(path);

    assert_int_equal(secret_read(path, buf, sizeof buf, err, sizeof err), -1); /* gone */
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
}

/* ---- spawn --------------------------------------------------------------------- */

static void test_spawn_serving_url(void **state)
{
    (void)state;
    char url[96];
    int port = 0;
    assert_int_equal(spawn_serving_url("tickwire: serving http://127.0.0.1:8080/ (open it in a browser; Ctrl-C stops)",
                                       url, sizeof url, &port), 0);
    assert_string_equal(url, "http://127.0.0.1:8080/");
    assert_int_equal(port, 8080);
    assert_int_equal(spawn_serving_url("tickwire: serving https://localhost:443/", url, sizeof url, &port), 0);
    assert_int_equal(port, 443);
    assert_int_equal(spawn_serving_url("tickwire-floor: serving http://127.0.0.1:1/ (snapshot 300 bytes)", url,
                                       sizeof url, &port), 0);
    assert_int_equal(port, 1);
    assert_int_equal(spawn_serving_url("serving http://[::1]:9000/game", url, sizeof url, &port), 0);
    assert_string_equal(url, "http://[::1]:9000/game");
    assert_int_equal(port, 9000);

    static const char *const BAD[] = {
        "tickwire: listening",           "serving ws://127.0.0.1:80/",   "serving http://127.0.0.1/",
        "serving http://127.0.0.1:0/",   "serving http://127.0.0.1:65536/", "serving http://127.0.0.1:80",
        "serving http://127.0.0.1:8x/",  "serving http://127.0.0.1:/",   "serving http://[::1]/",
        "serving http://h:123456/",      "",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        assert_int_equal(spawn_serving_url(BAD[i], url, sizeof url, &port), -1);
    char small[8];
    assert_int_equal(spawn_serving_url("serving http://127.0.0.1:8080/", small, sizeof small, &port), -1);
}

static void test_spawn_server_start_stop(void **state)
{
    (void)state;
    /* Noise first, the line in two writes, then a child that stops on SIGTERM. */
    const char *argv[] = {"/bin/sh", "-c",
                          "echo starting; printf 'x: serving http://127.0.0.1:'; sleep 0.05; "
                          "printf '4321/ (test)\\n'; exec sleep 30",
                          NULL};
    spawn_proc p;
    char err[256] = "";
    assert_int_equal(spawn_server_start(&p, &(spawn_desc){.argv = argv}, err, sizeof err), 0);
    assert_int_equal(p.port, 4321);
    assert_string_equal(p.url, "http://127.0.0.1:4321/");
    assert_true(p.pid > 0);
    double took = -1;
    assert_int_equal(spawn_stop(&p, 0, &took), 128 + 15); /* sleep dies of SIGTERM */
    assert_true(took >= 0 && took < 2000);
    assert_int_equal(p.pid, 0);
    assert_int_equal(p.out_fd, -1);
}

static void test_spawn_server_start_fails(void **state)
{
    (void)state;
    spawn_proc p;
    char err[256] = "";
    const char *early[] = {"/bin/sh", "-c", "echo no url here; exit 3", NULL};
    assert_int_equal(spawn_server_start(&p, &(spawn_desc){.argv = early}, err, sizeof err), -1);
    assert_non_null(strstr(err, "exited with status 3 before printing its URL"));
    assert_int_equal(p.pid, 0);

    const char *missing[] = {"/nonexistent/tickwire-server", NULL};
    assert_int_equal(spawn_server_start(&p, &(spawn_desc){.argv = missing}, err, sizeof err), -1);
    assert_non_null(strstr(err, "127: it could not be run"));

    const char *silent[] = {"/bin/sh", "-c", "exec sleep 30", NULL};
    double t0 = check_now_ms();
    assert_int_equal(spawn_server_start(&p, &(spawn_desc){.argv = silent, .timeout_ms = 200}, err, sizeof err), -1);
    assert_true(check_now_ms() - t0 < 2000);
    assert_string_equal(err, "/bin/sh printed no \"serving\" line within 200 ms");
    assert_int_equal(p.pid, 0);
}

static void test_spawn_start_wait(void **state)
{
    (void)state;
    char out[] = "/tmp/tw-common-out-XXXXXX", errpath[] = "/tmp/tw-common-err-XXXXXX";
    close(mkstemp(out));
    close(mkstemp(errpath));
    const char *argv[] = {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 5", NULL};
    spawn_proc p;
    char err[256] = "";
    spawn_desc d = {.argv = argv, .stdout_path = out, .stderr_path = errpath};
    assert_int_equal(spawn_start(&p, &d, err, sizeof err), 0);
    assert_int_equal(spawn_wait(&p, 0), 5);

    char text[64] = "";
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "to-stdout\n");
    f = fopen(errpath, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "to-stderr\n");
    unlink(out);
    unlink(errpath);

    /* One that outlives its wait is killed. */
    const char *slow[] = {"/bin/sh", "-c", "exec sleep 30", NULL};
    assert_int_equal(spawn_start(&p, &(spawn_desc){.argv = slow}, err, sizeof err), 0);
    assert_int_equal(spawn_wait(&p, 100), -1);
    assert_int_equal(p.pid, 0);
}

/* ---- check --------------------------------------------------------------------- */

static int check_twice(int a)
{
    CHECK_OR(return 1, a == 1, "a is %d", a);
    CHECK_OR(return 2, a == 2, "a is %d (an expected failure: the test of CHECK_OR)", a);
    return 0;
}

static void test_check_or(void **state)
{
    (void)state;
    int before = check_failures;
    assert_int_equal(check_twice(1), 2); /* the first passes, the second fails and returns */
    assert_int_equal(check_failures, before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_long_and_int),
        cmocka_unit_test(test_parse_double),
        cmocka_unit_test(test_secret_read),
        cmocka_unit_test(test_spawn_serving_url),
        cmocka_unit_test(test_spawn_server_start_stop),
        cmocka_unit_test(test_spawn_server_start_fails),
        cmocka_unit_test(test_spawn_start_wait),
        cmocka_unit_test(test_check_or),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
