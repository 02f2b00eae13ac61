#ifndef CSANDBOX_H
#define CSANDBOX_H

// What Swift cannot import from the kernel's seccomp, BPF, audit and prctl headers (function-like
// macros, and system calls glibc has no wrapper for), as `static const` values and small
// functions that return -1 and set errno like the libc calls they stand beside.

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

static const uint32_t CSANDBOX_AUDIT_ARCH_X86_64 = AUDIT_ARCH_X86_64;

static const uint32_t CSANDBOX_SECCOMP_RET_KILL_PROCESS = SECCOMP_RET_KILL_PROCESS;
static const uint32_t CSANDBOX_SECCOMP_RET_TRAP = SECCOMP_RET_TRAP;
static const uint32_t CSANDBOX_SECCOMP_RET_LOG = SECCOMP_RET_LOG;
static const uint32_t CSANDBOX_SECCOMP_RET_ALLOW = SECCOMP_RET_ALLOW;

// Offsets into `struct seccomp_data`, which a filter reads with absolute loads.
static const uint32_t CSANDBOX_SECCOMP_DATA_NR = offsetof(struct seccomp_data, nr);
static const uint32_t CSANDBOX_SECCOMP_DATA_ARCH = offsetof(struct seccomp_data, arch);
static const uint32_t CSANDBOX_SECCOMP_DATA_ARGS = offsetof(struct seccomp_data, args);

static const uint16_t CSANDBOX_BPF_MAXINSNS = BPF_MAXINSNS;

// prctl options the allowlists name (libdispatch names its threads).
static const uint64_t CSANDBOX_PR_SET_NAME = PR_SET_NAME;
static const uint64_t CSANDBOX_PR_GET_NAME = PR_GET_NAME;
static const uint64_t CSANDBOX_PR_SET_NO_NEW_PRIVS = PR_SET_NO_NEW_PRIVS;
static const uint64_t CSANDBOX_SECCOMP_SET_MODE_FILTER = SECCOMP_SET_MODE_FILTER;

// prctl(2) is variadic, which Swift cannot call.
int csandbox_set_no_new_privs(void);

// Installs a classic BPF program as a seccomp filter on the calling thread, or on every thread
// of the process with `all_threads` (SECCOMP_FILTER_FLAG_TSYNC). The caller sets
// PR_SET_NO_NEW_PRIVS first.
int csandbox_seccomp_set_filter(const struct sock_filter *instructions, unsigned short count, int all_threads);

// For the debug mode that traps instead of killing: a SIGSYS handler that writes
// "swiftlet: seccomp: <kind> thread made forbidden system call <nr> (<name>)" to stderr with
// write(2) only, then lets the signal kill the process. `names[nr]` may be NULL and `names`
// must stay valid for the life of the process. The kind label is per thread (copied, 15 bytes).
int csandbox_install_sigsys_reporter(const char *const *names, unsigned count);
void csandbox_set_thread_kind_label(const char *label);

// System calls without a glibc wrapper.
int csandbox_pivot_root(const char *new_root, const char *put_old);
// Marks every descriptor from `first` up close-on-exec (close_range with CLOSE_RANGE_CLOEXEC):
// they vanish at execve, while the runtime's own descriptors keep working until then.
int csandbox_mark_close_on_exec_from(unsigned first);

// Namespace and credential calls that <sched.h> and <unistd.h> declare only under _GNU_SOURCE.
int csandbox_unshare_mount_namespace(void);
int csandbox_unshare_pid_namespace(void);
int csandbox_join_network_namespace(int descriptor);
// setgroups(0), then setresgid, then setresuid: every id of the process becomes uid/gid.
int csandbox_drop_privileges(uid_t uid, gid_t gid);

// syscall(2) is variadic, which Swift cannot call; the probe of the seccomp tests makes
// arbitrary calls through this.
long csandbox_syscall6(long number, long a0, long a1, long a2, long a3, long a4, long a5);

// makedev(3) is a macro.
static inline dev_t csandbox_makedev(unsigned major, unsigned minor) { return makedev(major, minor); }

#endif
