/* Unit tests for tests/common, the helpers the test programs, the bots and
 * the bench floor share: number flags at and past their ranges with the
 * exact error text; token secret files the way the server reads them; the
 * servers' "serving" line; and starting, waiting for and stopping real
 * children (/bin/sh scripts standing in for a server), including the ones
 * that exit early, print nothing or will not stop; and the strict
 * Prometheus text reader on good text and on each rule broken. */
#include <math.h>
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
#include "promtext.h"
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

/* ---- promtext ------------------------------------------------------------------ */

static const char GOOD_TEXT[] =
    "# HELP a_total Things, with \\\\ and \\n in the help.\n"
    "# TYPE a_total counter\n"
    "a_total{reason=\"x\",code=\"200\"} 3\n"
    "a_total{reason=\"y \\\"q\\\" \\\\ \\n\"} 0 1700000000000\n"
    "# a free comment\n"
    "# HELP g A gauge.\n"
    "# TYPE g gauge\n"
    "g -1.5e-3\n"
    "# HELP h_seconds A histogram.\n"
    "# TYPE h_seconds histogram\n"
    "h_seconds_bucket{le=\"5e-06\"} 1\n"
    "h_seconds_bucket{le=\"0.1\"} 4\n"
    "h_seconds_bucket{le=\"+Inf\"} 5\n"
    "h_seconds_sum 0.25\n"
    "h_seconds_count 5\n"
    "# HELP n Not a number, infinities.\n"
    "# TYPE n gauge\n"
    "n{k=\"a\"} NaN\n"
    "n{k=\"b\"} +Inf\n"
    "n{k=\"c\"} -Inf\n";

static void test_promtext_good(void **state)
{
    (void)state;
    promtext p = {0};
    if (promtext_parse(&p, GOOD_TEXT) < 0)
        fail_msg("%s", p.err);
    assert_int_equal(p.nfamilies, 4);
    assert_int_equal(p.nsamples, 11);
    assert_string_equal(promtext_family_of(&p, "h_seconds")->type, "histogram");
    assert_null(promtext_family_of(&p, "h_seconds_bucket"));
    /* labels in any order; escapes as written */
    assert_true(promtext_value(&p, "a_total{code=\"200\",reason=\"x\"}") == 3);
    assert_true(promtext_value(&p, "a_total{reason=\"x\",code=\"200\"}") == 3);
    assert_true(promtext_value(&p, "a_total{reason=\"y \\\"q\\\" \\\\ \\n\"}") == 0);
    assert_true(promtext_value(&p, "g") == -0.0015);
    assert_true(promtext_value(&p, "h_seconds_bucket{le=\"+Inf\"}") == 5);
    assert_true(isnan(promtext_value(&p, "a_total{reason=\"z\"}")));
    assert_true(isnan(promtext_value(&p, "g{")));
    assert_true(isinf(promtext_value(&p, "n{k=\"b\"}")));
    assert_int_equal(promtext_count(&p, "h_seconds_bucket"), 3);
    assert_int_equal(promtext_count(&p, "a_total"), 2);
    promtext_free(&p);
}

/* Each rule broken once, in an otherwise good text: refused, and the
 * reason names it. */
static void test_promtext_bad(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"# HELP g G.\n# TYPE g gauge\ng 1", "does not end"},
        {"# HELP g G.\n# TYPE g gauge\n\ng 1\n", "blank line"},
        {"# HELP g G.\n# TYPE g gauge\ng 1 \n", "blanks"},
        {"# HELP g G.\n# TYPE g gauge\n g 1\n", "blanks"},
        {"# HELP g G.\n# TYPE g gauge\ng  1\n", "not a number"},
        {"# HELP g G.\n# TYPE g gauge\ng 1x\n", "not a number"},
        {"# HELP g G.\n# TYPE g gauge\ng 0x10\n", "not a number"},
        {"# HELP g G.\n# TYPE g gauge\ng inf\n", "not a number"},
        {"# HELP g G.\n# TYPE g gauge\ng 1 2.5\n", "timestamp"},
        {"# HELP g G.\n# TYPE g gauge\n1g 1\n", "bad metric name"},
        {"# HELP g G.\n# TYPE g gauge\ng{1a=\"x\"} 1\n", "bad label name"},
        {"# HELP g G.\n# TYPE g gauge\ng{__a=\"x\"} 1\n", "bad label name"},
        {"# HELP g G.\n# TYPE g gauge\ng{a=x} 1\n", "expected =\""},
        {"# HELP g G.\n# TYPE g gauge\ng{a=\"x} 1\n", "unterminated"},
        {"# HELP g G.\n# TYPE g gauge\ng{a=\"\\x\"} 1\n", "bad escape"},
        {"# HELP g G.\n# TYPE g gauge\ng{a=\"x\",a=\"y\"} 1\n", "twice"},
        {"# HELP g G.\n# TYPE g gauge\ng{a=\"x\" b=\"y\"} 1\n", "expected , or }"},
        {"# HELP g G.\n# TYPE g gauge\ng{a=\"x\"} 1\ng{a=\"x\"} 2\n", "twice"},
        {"# HELP g G.\n# TYPE g gauge\ng 1\ng 2\n", "twice"},
        {"g 1\n", "no TYPE"},
        {"# HELP g G.\ng 1\n", "no TYPE"},
        {"# TYPE g gauge\ng 1\n", "no HELP"},
        {"# HELP g G.\n# TYPE g gauge\n# TYPE g gauge\ng 1\n", "second TYPE"},
        {"# HELP g G.\n# HELP g G.\n# TYPE g gauge\ng 1\n", "second HELP"},
        {"# HELP g G.\n# TYPE g gauge\ng 1\n# HELP g G.\n", "after its samples"},
        {"# HELP g G \\x.\n# TYPE g gauge\ng 1\n", "bad escape in HELP"},
        {"# HELP g G.\n# TYPE g gauges\ng 1\n", "unknown type"},
        {"#HELP g G.\n", "starts with"},
        {"# HELP g G.\n# TYPE g gauge\ng 1\n# HELP f F.\n# TYPE f gauge\nf 1\ng{a=\"b\"} 1\n", "not together"},
        {"# HELP c C.\n# TYPE c counter\nc 1\n", "_total"},
        {"# HELP c_total C.\n# TYPE c_total counter\nc_total -1\n", "counter"},
        {"# HELP c_total C.\n# TYPE c_total counter\nc_total NaN\n", "counter"},
        {"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "no +Inf"},
        {"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
         "below"},
        {"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
         "h_sum 1\nh_count 1\n", "does not rise"},
        {"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "!= _count"},
        {"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", "no _sum"},
        {"# HELP h H.\n# TYPE h histogram\nh_bucket 2\nh_sum 1\nh_count 2\n", "without le"},
        {"# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"x\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
         "not a bound"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        promtext p = {0};
        int rc = promtext_parse(&p, cases[i].text);
        if (rc == 0 || !strstr(p.err, cases[i].why))
            fail_msg("case %zu (%s): rc %d, err \"%s\"", i, cases[i].why, rc, p.err);
        promtext_free(&p);
    }
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
        cmocka_unit_test(test_promtext_good),
        cmocka_unit_test(test_promtext_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
