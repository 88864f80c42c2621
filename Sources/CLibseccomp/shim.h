// libseccomp (Debian's libseccomp-dev), for ContainRuntime's seccomp filters: contain builds
// every filter with it and writes no BPF by hand. Each helper below exists because what it
// wraps does not import into Swift.
#include <seccomp.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/memfd.h>
#include <linux/sched.h>   // CLONE_NEW*: the flags the default profile refuses clone

// SCMP_ACT_ERRNO(x) and SCMP_ACT_TRACE(x) are function-like macros.
static inline uint32_t cseccomp_act_errno(uint16_t value) { return SCMP_ACT_ERRNO(value); }
static inline uint32_t cseccomp_act_trace(uint16_t value) { return SCMP_ACT_TRACE(value); }

// memfd_create is declared only under _GNU_SOURCE, which Swift's Glibc module is not built
// with: the anonymous file seccomp_export_bpf writes the program into.
static inline int cseccomp_memfd(void) { return (int)syscall(SYS_memfd_create, "contain-seccomp", MFD_CLOEXEC); }
