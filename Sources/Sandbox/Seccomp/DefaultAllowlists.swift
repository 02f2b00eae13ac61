import CSandbox

#if canImport(Glibc)
import Glibc
#endif

/// The built-in allowlist of each thread kind: the system calls Swiftlet was seen making, found
/// by tracing (`strace -f`) boots of the tiny test guest (`test=hello`, `test=blk` with a disk,
/// `test=count` with the API: pause, resume, snapshot, restore in a fresh process), and the
/// ioctl requests its code issues. Keep each list to what that kind of thread needs; when a new
/// feature needs a call, add it here with the reason, and the seccomp tests show the change.
extension Allowlist {
    public static func builtIn(for kind: ThreadKind) -> Allowlist {
        switch kind {
        case .vcpu: return vcpu
        case .api: return api
        case .deviceIO: return deviceIO
        case .main: return main
        }
    }

    /// What every Swift thread needs: memory, locks, signals, thread start and exit.
    ///
    /// Creating threads (`threadCreation`) is not here: libdispatch starts pool threads from
    /// whichever thread enqueues work, but a narrowed thread has the spawner, which carries the
    /// `main` filter only, create them (`ThreadSandbox`), so only `main` needs `clone`.
    static let threadRuntime: [SystemCallRule] = [
        .init("futex"), .init("mmap"), .init("munmap"), .init("mprotect"), .init("madvise"), .init("mremap"), .init("brk"),
        .init("rt_sigprocmask"), .init("rt_sigreturn"), .init("sigaltstack"),
        .init("gettid"), .init("getpid"), .init("tgkill"), .init("sched_yield"), .init("sched_getaffinity"),
        .init("clock_gettime"), .init("clock_nanosleep"), .init("nanosleep"),
        // The vDSO answers these without entering the kernel only when it can read the host's
        // clocksource; in a nested L1 (the testbed) it often cannot and makes the system call.
        .init("gettimeofday"), .init("time"),
        .init("set_robust_list"), .init("rseq"), .init("setpriority"),
        .init("exit"), .init("exit_group"),
        // libdispatch names its threads.
        .call("prctl", argument: 0, in: [CSANDBOX_PR_SET_NAME, CSANDBOX_PR_GET_NAME]),
        // Log lines and the serial console go to stdout and stderr. Each log line's timestamp
        // goes through glibc's tzset, which stats /etc/localtime to see whether it changed.
        .init("write"), .init("writev"), .init("newfstatat"),
        // getrandom: the Swift runtime's hash seeds, and virtio-rng's entropy (on a device queue).
        .init("close"), .init("getrandom"),
    ]

    static let threadCreation: [SystemCallRule] = [.init("clone"), .init("clone3")]

    /// The requests a vCPU thread issues: running, the interrupts its device emulation raises,
    /// and reading its registers for the message when the guest stops it (a triple fault's rip).
    static let vcpuIoctls = IoctlRequest.values([
        "KVM_RUN", "KVM_GET_REGS", "KVM_IRQ_LINE", "KVM_IRQ_LINE_STATUS", "KVM_SIGNAL_MSI", "KVM_IOEVENTFD", "KVM_IRQFD", "KVM_KVMCLOCK_CTRL",
    ])

    static let vcpu = Allowlist(
        [
            // First, so the hottest call is matched after two comparisons.
            .call("ioctl", argument: 1, in: vcpuIoctls),
            // eventfds of ioeventfd and irqfd, and device work handed to other queues. A BAR the
            // guest moves moves its ioeventfds, which the device's thread waits on with epoll.
            .init("read"), .init("eventfd2"), .init("epoll_ctl"),
        ] + threadRuntime)

    /// The event loop thread narrows itself once it runs (`APIServer.start`), after NIO made its
    /// epoll, eventfd and timerfd: from then on it waits, accepts Unix stream connections, reads
    /// and writes them and sets timers (traced with `strace -ff` through requests, pauses,
    /// snapshots and dropped slow clients). No datagram calls, no descriptor creation but accept.
    static let api = Allowlist(
        [
            .init("epoll_wait"), .init("epoll_pwait"), .init("epoll_ctl"), .init("timerfd_settime"),
            .init("accept4"), .init("read"),
            .init("getsockname"), .init("getpeername"), .init("getsockopt"), .init("setsockopt"), .init("shutdown"),
            .init("fcntl"), .call("ioctl", argument: 1, in: IoctlRequest.values(["FIONBIO", "FIONREAD"])),
        ] + threadRuntime)

    /// A virtio device's own thread (`DeviceWorker`): disk reads and writes, tap frames, and
    /// vsock's host side, which accepts connections on the listener that the control thread
    /// opened and connects out to `<uds_path>_<port>` for the guest (Unix sockets only).
    /// The thread waits on its ioeventfds, tap and sockets with epoll. A disk's
    /// async engine submits to and reaps from its io_uring (io_uring_enter), or runs its
    /// thread pool under this same list.
    static let deviceIO = Allowlist(
        [
            .init("pread64"), .init("pwrite64"), .init("preadv"), .init("pwritev"), .init("fdatasync"), .init("fsync"),
            .init("io_uring_enter"),
            .init("read"), .init("lseek"), .init("fstat"), .init("flock"), .init("fallocate"),
            .init("epoll_wait"), .init("epoll_pwait"), .init("epoll_ctl"), .init("eventfd2"),
            .call("socket", argument: 0, in: [UInt64(AF_UNIX)]), .init("connect"), .init("accept4"),
            .init("recvfrom"), .init("sendto"), .init("shutdown"),
            .call(
                "ioctl", argument: 1,
                in: IoctlRequest.values(["KVM_IRQ_LINE", "KVM_IRQ_LINE_STATUS", "KVM_SIGNAL_MSI", "KVM_IOEVENTFD", "KVM_IRQFD", "TUNSETOFFLOAD"])),
        ] + threadRuntime)

    static let mainIoctls: [UInt64] =
        (IoctlRequest.kvm + IoctlRequest.terminal + IoctlRequest.tap).map { UInt64($0.1) }

    static let mainFiles: [SystemCallRule] = [
        .init("openat"), .init("read"), .init("readv"), .init("pread64"), .init("pwrite64"), .init("preadv"), .init("pwritev"),
        .init("lseek"), .init("fstat"), .init("statx"), .init("readlink"), .init("getcwd"),
        .init("ftruncate"), .init("fallocate"), .init("fsync"), .init("fdatasync"), .init("flock"),
        .init("rename"), .init("renameat"), .init("renameat2"), .init("unlink"), .init("unlinkat"), .init("chmod"), .init("fchmod"),
        .init("fcntl"), .init("dup"), .init("dup3"), .init("pipe2"),
        // A disk's async engine makes its io_uring here (setup, then the restrictions and
        // enabling through register), and a released disk stops its reaper (enter).
        .init("io_uring_setup"), .init("io_uring_register"), .init("io_uring_enter"),
    ]

    static let mainSockets: [SystemCallRule] = [
        // The API socket is a Unix socket; other families are refused.
        .call("socket", argument: 0, in: [UInt64(AF_UNIX)]),
        .init("bind"), .init("listen"), .init("accept4"), .init("connect"), .init("getsockname"), .init("getpeername"),
        .init("getsockopt"), .init("setsockopt"), .init("shutdown"), .init("recvfrom"), .init("recvmsg"), .init("sendmsg"), .init("sendto"),
    ]

    static let mainEvents: [SystemCallRule] = [
        .init("epoll_create1"), .init("epoll_create"), .init("epoll_ctl"), .init("epoll_wait"), .init("epoll_pwait"),
        .init("eventfd2"), .init("timerfd_create"), .init("timerfd_settime"), .init("signalfd4"),
        .init("rt_sigaction"), .init("rt_sigsuspend"), .init("prlimit64"),
        // The console input thread waits for the terminal (and a stop) with poll.
        .init("poll"), .init("ppoll"),
        // A thread of this kind may narrow itself further with a second filter.
        .call("seccomp", argument: 0, in: [CSANDBOX_SECCOMP_SET_MODE_FILTER]),
        .call("prctl", argument: 0, in: [CSANDBOX_PR_SET_NAME, CSANDBOX_PR_GET_NAME, CSANDBOX_PR_SET_NO_NEW_PRIVS]),
    ]

    /// The control thread builds and restores VMs (so every KVM request), opens kernel, disk
    /// and snapshot files, writes snapshots, serves the API's backend calls, puts the terminal
    /// in raw mode and handles signals through libdispatch's signal sources.
    static let main = Allowlist(
        [.call("ioctl", argument: 1, in: mainIoctls)] + mainFiles + mainSockets + mainEvents
            + threadRuntime.filter { $0.name != "prctl" } + threadCreation)
}
