/* check: how the test programs that are not cmocka (tests/integration,
 * tests/bench) report a failed check and time their waits.
 *
 * CHECK_OR(on_fail, cond, fmt, ...) prints "FAIL file:line: cond: message"
 * to stderr, counts the failure and runs on_fail (`return`, `goto out`), so
 * each program picks how a case gives up and defines its CHECK from it.
 * The count is the process's one piece of shared state: a program checks
 * from one thread, and exits with check_failures != 0 when any failed.
 *
 * Not for: unit tests, which use cmocka's asserts. */
#ifndef TW_TEST_CHECK_H
#define TW_TEST_CHECK_H

/* Failed checks so far in this process. */
extern int check_failures;

/* Reports one failure and counts it; CHECK_OR is the usual way in. */
void check_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK_OR(on_fail, cond, ...)                                  \
    do {                                                              \
        if (!(cond)) {                                                \
            check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);       \
            on_fail;                                                  \
        }                                                             \
    } while (0)

/* Milliseconds on the monotonic clock, for the deadlines of a test's waits. */
double check_now_ms(void);

#endif
