// contain's bpf(2) wrappers: the cgroup v2 device filter (cgroup_bpf.c).
//
// Why they exist: bpf(2) has no glibc wrapper, and union bpf_attr, struct bpf_insn and the
// BPF_* opcodes and BPF_DEVCG_* values are not in Swift's Glibc module. Including <linux/bpf.h>
// here also gives Swift those constants, so the program generator never re-declares them.
//   cshim_bpf_load_device_filter    bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program.
//   cshim_bpf_attach_device_filter  bpf(BPF_PROG_ATTACH) of it to a cgroup, BPF_F_ALLOW_MULTI.
#ifndef CSHIM_BPF_H
#define CSHIM_BPF_H

#include <stddef.h>
#include <linux/bpf.h>

/// Loads `count` instructions as a BPF_PROG_TYPE_CGROUP_DEVICE program under `license`.
/// Returns the program's fd (close-on-exec), or -1 with errno. When `log` is not NULL the
/// verifier's log (level 1) is written there, NUL-terminated; a log that does not fit in
/// `log_size` makes the load fail with ENOSPC, so pass it only to explain a failed load.
int cshim_bpf_load_device_filter(const struct bpf_insn *instructions, unsigned int count,
                                 const char *license, char *log, unsigned int log_size);

/// Attaches the program `program_fd` to the cgroup whose directory is open as `cgroup_fd`
/// (attach type BPF_CGROUP_DEVICE, flag BPF_F_ALLOW_MULTI: the programs of ancestors still
/// run). The cgroup keeps the program until it is removed. Returns 0, or -1 with errno.
int cshim_bpf_attach_device_filter(int program_fd, int cgroup_fd);

#endif
