// The init's last steps before exec: capabilities, no_new_privs, descriptors.
// See contain_shim.h for why each is here.
#define _GNU_SOURCE
#include "contain_shim.h"

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int cshim_capbset_drop(int cap) { return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); }

int cshim_capset(unsigned long long effective, unsigned long long permitted, unsigned long long inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {
        {(__u32)effective, (__u32)permitted, (__u32)inheritable},
        {(__u32)(effective >> 32), (__u32)(permitted >> 32), (__u32)(inheritable >> 32)},
    };
    return (int)syscall(SYS_capset, &header, data);
}

int cshim_cap_ambient_clear(void) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); }

int cshim_cap_ambient_raise(int cap) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0); }

int cshim_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int cshim_cloexec_from(int first) { return (int)syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC); }

int cshim_seccomp_set_filter(const void *instructions, unsigned int count) {
    struct sock_fprog program = {(unsigned short)count, (struct sock_filter *)instructions};
    if (count == 0 || count > 0xffff) { errno = EINVAL; return -1; }
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
}
