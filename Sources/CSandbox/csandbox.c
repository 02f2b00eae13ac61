#define _GNU_SOURCE
#include "csandbox.h"

#include <errno.h>
#include <linux/close_range.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int csandbox_seccomp_set_filter(const struct sock_filter *instructions, unsigned short count, int all_threads) {
    struct sock_fprog program = {.len = count, .filter = (struct sock_filter *)instructions};
    unsigned long flags = all_threads ? SECCOMP_FILTER_FLAG_TSYNC : 0;
    long result = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
    // With TSYNC, a positive result is the id of a thread that could not be synchronized.
    if (result > 0) {
        errno = ESRCH;
        return -1;
    }
    return (int)result;
}

int csandbox_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

static const char *const *reporter_names;
static unsigned reporter_name_count;
static __thread char thread_kind_label[16];

void csandbox_set_thread_kind_label(const char *label) {
    strncpy(thread_kind_label, label, sizeof thread_kind_label - 1);
    thread_kind_label[sizeof thread_kind_label - 1] = '\0';
}

static void write_text(const char *text) {
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t written = write(STDERR_FILENO, text, length);
        if (written <= 0) return;
        text += written;
        length -= (size_t)written;
    }
}

static void write_number(unsigned value) {
    char digits[12];
    int index = sizeof digits - 1;
    digits[index] = '\0';
    do {
        digits[--index] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && index > 0);
    write_text(&digits[index]);
}

static void report_sigsys(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    unsigned number = (unsigned)info->si_syscall;
    write_text("swiftlet: seccomp: ");
    write_text(thread_kind_label[0] ? thread_kind_label : "inherited-filter");
    write_text(" thread made forbidden system call ");
    write_number(number);
    if (number < reporter_name_count && reporter_names[number] != NULL) {
        write_text(" (");
        write_text(reporter_names[number]);
        write_text(")");
    }
    write_text("; stopping\n");
    // SIGSYS is blocked while this handler runs, so the kernel forces its default action (kill
    // the process) when the same call traps again: the process dies as it would without the
    // debug mode.
    syscall(number, 0, 0, 0, 0, 0, 0);
    _exit(159);
}

int csandbox_install_sigsys_reporter(const char *const *names, unsigned count) {
    reporter_names = names;
    reporter_name_count = count;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = report_sigsys;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGSYS, &action, NULL);
}

int csandbox_pivot_root(const char *new_root, const char *put_old) { return (int)syscall(SYS_pivot_root, new_root, put_old); }

int csandbox_mark_close_on_exec_from(unsigned first) { return (int)syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC); }

long csandbox_syscall6(long number, long a0, long a1, long a2, long a3, long a4, long a5) { return syscall(number, a0, a1, a2, a3, a4, a5); }

int csandbox_unshare_mount_namespace(void) { return unshare(CLONE_NEWNS); }

int csandbox_unshare_pid_namespace(void) { return unshare(CLONE_NEWPID); }

int csandbox_join_network_namespace(int descriptor) { return setns(descriptor, CLONE_NEWNET); }

int csandbox_drop_privileges(uid_t uid, gid_t gid) {
    if (setgroups(0, NULL) != 0) return -1;
    if (setresgid(gid, gid, gid) != 0) return -1;
    return setresuid(uid, uid, uid);
}
