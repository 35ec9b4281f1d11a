/* spawn: see spawn.h. */
#include "spawn.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* In the child, between fork and exec: async-signal-safe calls only (the
 * test may have threads). */
static void child_redirect(int fd, const char *path)
{
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f < 0)
        _exit(126);
    dup2(f, fd);
    close(f);
}

/* Forks and execs; the child's stdout is out_fd when >= 0. */
static int start(spawn_proc *p, const spawn_desc *d, int out_fd, char *err, size_t errlen)
{
    assert(d->argv && d->argv[0]);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "%s: fork: %s", d->argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test never leaves a server behind */
        if (out_fd >= 0)
            dup2(out_fd, 1);
        else if (d->stdout_path)
            child_redirect(1, d->stdout_path);
        if (d->stderr_path)
            child_redirect(2, d->stderr_path);
        execv(d->argv[0], (char *const *)d->argv);
        _exit(127);
    }
    p->pid = pid;
    return 0;
}

int spawn_start(spawn_proc *p, const spawn_desc *desc, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->out_fd = -1;
    return start(p, desc, -1, err, errlen);
}

int spawn_serving_url(const char *line, char *url, size_t cap, int *port)
{
    const char *s = strstr(line, "serving ");
    if (!s)
        return -1;
    s += strlen("serving ");
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return -1;
    const char *host = strstr(s, "://") + 3;
    size_t hl = strcspn(host, "/ \t\r\n");
    const char *colon = NULL;
    for (size_t i = 0; i < hl; i++)
        if (host[i] == ':')
            colon = host + i;
    if (host[hl] != '/' || !colon)
        return -1;
    const char *digits = colon + 1, *end = host + hl;
    long n = 0;
    if (digits == end || end - digits > 5)
        return -1;
    for (const char *d = digits; d < end; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        n = n * 10 + (*d - '0');
    }
    size_t ul = strcspn(s, " \t\r\n");
    if (n < 1 || n > 65535 || ul >= cap)
        return -1;
    memcpy(url, s, ul);
    url[ul] = '\0';
    *port = (int)n;
    return 0;
}

/* Reads the child's stdout until the serving line, the end of the output
 * or the deadline. Returns 1 found, 0 end of output, -1 deadline or error. */
static int read_serving(spawn_proc *p, double deadline)
{
    char buf[1024];
    size_t len = 0;
    for (;;) {
        char *nl;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            *nl = '\0';
            if (spawn_serving_url(buf, p->url, sizeof p->url, &p->port) == 0)
                return 1;
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len);
        }
        if (len == sizeof buf - 1)
            len = 0; /* a line this long is not the one */
        int left = (int)(deadline - check_now_ms());
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        ssize_t n = read(p->out_fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        len += (size_t)n;
    }
}

int spawn_server_start(spawn_proc *p, const spawn_desc *desc, char *err, size_t errlen)
{
    assert(!desc->stdout_path);
    memset(p, 0, sizeof *p);
    p->out_fd = -1;
    int fds[2];
    if (pipe(fds) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    /* Only this child holds the write end: later children must not keep
     * the pipe open, or its end would not show this one's exit. */
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    int rc = start(p, desc, fds[1], err, errlen);
    close(fds[1]);
    if (rc < 0) {
        close(fds[0]);
        return -1;
    }
    p->out_fd = fds[0];
    int timeout = desc->timeout_ms > 0 ? desc->timeout_ms : SPAWN_START_TIMEOUT_MS;
    int found = read_serving(p, check_now_ms() + timeout);
    if (found == 1)
        return 0;
    if (found == 0) {
        int status = spawn_wait(p, 1000);
        snprintf(err, errlen, "%s exited with status %d before printing its URL%s", desc->argv[0], status,
                 status == 127 ? " (127: it could not be run)" : "");
    } else {
        kill(p->pid, SIGKILL);
        spawn_wait(p, 1000);
        snprintf(err, errlen, "%s printed no \"serving\" line within %d ms", desc->argv[0], timeout);
    }
    return -1;
}

int spawn_wait(spawn_proc *p, int timeout_ms)
{
    assert(p->pid > 0);
    double deadline = check_now_ms() + (timeout_ms > 0 ? timeout_ms : SPAWN_STOP_TIMEOUT_MS);
    int status = 0, rc = -1;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
        if (check_now_ms() >= deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        usleep(5000); /* polling a child's exit: there is no fd to wait on */
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->out_fd = -1;
    p->pid = 0;
    return rc;
}

int spawn_stop(spawn_proc *p, int timeout_ms, double *took_ms)
{
    assert(p->pid > 0); /* kill(0, ...) would signal the whole process group */
    double t0 = check_now_ms();
    kill(p->pid, SIGTERM);
    int rc = spawn_wait(p, timeout_ms);
    if (took_ms)
        *took_ms = check_now_ms() - t0;
    return rc;
}
