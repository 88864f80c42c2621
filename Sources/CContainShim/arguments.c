// The process's own argument vector, captured before Swift runs.
//
// Swift's runtime, linked statically, finds CommandLine.arguments by reading /proc/self/cmdline.
// That is wrong or missing in the processes that run inside a container: exec's helper has
// joined the container's mount namespace, where /proc is the container's and shows no
// /proc/self for a process of another PID namespace. glibc passes argc and argv to every ELF
// constructor, so the vector is kept here and read by main.swift instead.
#include "contain_shim.h"

static int captured_argc;
static char **captured_argv;

__attribute__((constructor)) static void cshim_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}

int cshim_argc(void) { return captured_argc; }
char **cshim_argv(void) { return captured_argv; }
