/*
 * payload: the integration tests' helper, compiled statically into the test rootfs as
 * /usr/bin/payload (Scripts/build-rootfs.sh with CONTAIN_TEST_PAYLOAD=1).
 *
 * busybox cannot make a process die of its own fault: signals that a shell sends to itself as
 * PID 1 are dropped by the kernel, and no applet segfaults or allocates on demand. These can.
 *
 *   payload segv              dereference NULL: killed by SIGSEGV (exit 139 through contain)
 *   payload alloc MIB         allocate and touch MIB mebibytes, then print "allocated MIB"
 *   payload spin SECONDS      burn CPU for SECONDS of wall time, print the CPU seconds used
 *   payload fork N            fork N children that sleep; print how many forks succeeded
 *   payload signals           print "ready", then report each caught signal by name until SIGTERM
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int segv(void) {
    volatile int *p = NULL;
    *p = 1;
    return 0;
}

static int alloc(long mib) {
    for (long i = 0; i < mib; i++) {
        char *block = malloc(1 << 20);
        if (block == NULL) { perror("malloc"); return 1; }
        memset(block, (int)i + 1, 1 << 20);
    }
    printf("allocated %ld\n", mib);
    return 0;
}

static int spin(double seconds) {
    double end = now() + seconds;
    volatile unsigned long n = 0;
    while (now() < end) n++;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cpu %.2f\n", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6);
    return 0;
}

static int forks(int n) {
    pid_t *children = calloc((size_t)n, sizeof *children);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) { pause(); _exit(0); }
        if (pid < 0) break;
        children[ok++] = pid;
    }
    printf("forked %d\n", ok);
    for (int i = 0; i < ok; i++) kill(children[i], SIGKILL);
    for (int i = 0; i < ok; i++) waitpid(children[i], NULL, 0);
    return 0;
}

static volatile sig_atomic_t caught;
static void on_signal(int sig) { caught = sig; }

static int signals(void) {
    int list[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGTERM };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    // The signals stay blocked except inside sigsuspend: one that arrives while a report is
    // being printed waits for the next sigsuspend instead of being missed by a pause().
    sigset_t blocked, during;
    sigemptyset(&blocked);
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        sigaction(list[i], &sa, NULL);
        sigaddset(&blocked, list[i]);
    }
    sigprocmask(SIG_BLOCK, &blocked, &during);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        sigsuspend(&during);
        int sig = caught;
        caught = 0;
        if (sig == 0) continue;
        printf("caught %s\n", sigabbrev_np(sig));
        fflush(stdout);
        if (sig == SIGTERM) return 0;
    }
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "segv") == 0) return segv();
    if (argc >= 3 && strcmp(argv[1], "alloc") == 0) return alloc(atol(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "spin") == 0) return spin(atof(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "fork") == 0) return forks(atoi(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "signals") == 0) return signals();
    fprintf(stderr, "usage: payload segv | alloc MIB | spin SECONDS | fork N | signals\n");
    return 2;
}
