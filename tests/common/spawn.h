/* spawn: runs a program a test needs, above all a server started on port 0
 * (tickwire-server, tickwire-floor), and stops it.
 *
 * spawn_server_start puts the child's stdout on a pipe and reads it until a
 * line holding "serving SCHEME://HOST:PORT/", which the servers print once
 * they listen (server/main.c, tests/bench/floor_server.c), and returns the
 * port and the URL. spawn_start starts any program without waiting;
 * spawn_wait and spawn_stop (SIGTERM first) collect its exit status.
 *
 * Every wait has a timeout, and a child dies with the test that started it
 * (PR_SET_PDEATHSIG): a failed or killed test leaves no process behind.
 * Costs a fork and an exec; a wait polls waitpid every 5 ms.
 *
 * Not for: talking to the server (tests/integration/wsclient.h); reading a
 * child's output beyond the serving line (pass stdout/stderr files). */
#ifndef TW_TEST_SPAWN_H
#define TW_TEST_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#define SPAWN_START_TIMEOUT_MS 15000 /* a sanitizer build starts slowly */
#define SPAWN_STOP_TIMEOUT_MS 5000

/* What to run; zero means default. */
typedef struct spawn_desc {
    const char *const *argv; /* the program's path, then its arguments; NULL-terminated */
    const char *stdout_path; /* spawn_start: the child's stdout goes to this file; NULL: the test's */
    const char *stderr_path; /* the child's stderr goes to this file (truncated); NULL: the test's */
    int timeout_ms;          /* spawn_server_start: wait this long for the line; 0: SPAWN_START_TIMEOUT_MS */
} spawn_desc;

/* A running child. The caller owns the memory; zero it before a start. */
typedef struct spawn_proc {
    pid_t pid;     /* 0: none (never started, or collected) */
    int port;      /* spawn_server_start: the port it listens on */
    char url[96];  /* spawn_server_start: the URL as printed, "http://127.0.0.1:PORT/" */
    int out_fd;    /* spawn_server_start: read end of the child's stdout, open until collected */
} spawn_proc;

/* Starts desc->argv. Returns 0 with p->pid set, or -1 with the reason in err. */
int spawn_start(spawn_proc *p, const spawn_desc *desc, char *err, size_t errlen);

/* Starts desc->argv (its stdout on a pipe; desc->stdout_path must be NULL)
 * and waits for its serving line. Returns 0 with p->pid, p->port and p->url
 * set; or -1 with the reason in err (it could not be started, exited first,
 * printed no such line in time), the child then collected. */
int spawn_server_start(spawn_proc *p, const spawn_desc *desc, char *err, size_t errlen);

/* Waits up to timeout_ms (<= 0: SPAWN_STOP_TIMEOUT_MS) for the child to
 * exit, SIGKILLs it past that. Returns its exit status, 128 + N for a death
 * by signal N, or -1 when it had to be killed. Collects it: p->pid is 0 and
 * out_fd closed after. */
int spawn_wait(spawn_proc *p, int timeout_ms);

/* Sends SIGTERM, then spawn_wait. took_ms (may be NULL) gets the time from
 * the signal to the exit. */
int spawn_stop(spawn_proc *p, int timeout_ms, double *took_ms);

/* Finds "serving SCHEME://HOST:PORT/..." in one line of a server's stdout
 * (SCHEME http or https). Returns 0 with the URL (up to the next space) in
 * url and its port, or -1 when the line holds none or url is too small. */
int spawn_serving_url(const char *line, char *url, size_t cap, int *port);

#endif
