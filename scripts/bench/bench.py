#!/usr/bin/env python3
"""Swiftlet against QEMU on this host's /dev/kvm: start-up, memory overhead, pause/resume,
snapshot/restore and launch density; with --linux also Linux boot (against QEMU -M pc and -M microvm)
and virtio-blk throughput in the nested testbed. Called by scripts/bench.sh, which builds the inputs.

Prints a Markdown table (medians with min–max and the Swiftlet/QEMU ratio) and writes the same
figures as JSON. Exits non-zero if any measurement failed.
"""

import argparse
import atexit
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time

# Keep the source tree clean: no __pycache__ next to the helper modules.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from children import BenchError, Child, stop_all  # noqa: E402
from control import QMP, SwiftletAPI, wait_for_socket  # noqa: E402
import report  # noqa: E402
import smaps  # noqa: E402

QEMU = "qemu-system-x86_64"
SOCKET_TIMEOUT = 15.0
LINE_TIMEOUT = 15.0
MIB = 1 << 20
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TimeLimitExceeded(BenchError):
    """Raised from SIGALRM when the whole benchmark overruns --time-limit."""


def _time_limit_reached(_signal, _frame):
    raise TimeLimitExceeded("the benchmark overran its time limit; later rows were not run")


def is_count(text):
    return text.startswith("count ")


def count_value(text):
    try:
        return int(text.split()[1])
    except (IndexError, ValueError):
        return -1


def disk_usage(*paths):
    """Bytes allocated on disk (holes in sparse files do not count)."""
    try:
        return sum(os.stat(path).st_blocks * 512 for path in paths)
    except OSError as error:
        raise BenchError("snapshot file missing: %s" % error)


class Bench:
    def __init__(self, options, workdir):
        self.o = options
        self.dir = workdir
        self.runs = 1 if options.quick else options.runs
        self.serial = 0

    def path(self, name):
        self.serial += 1
        return os.path.join(self.dir, "%s-%d" % (name, self.serial))

    # ---- process launchers -------------------------------------------------------------

    def swiftlet(self, *args, name="swiftlet"):
        return Child([self.o.swiftlet, "run", *args], name, self.dir)

    def swiftlet_guest(self, test, memory, sock):
        return self.swiftlet("--kernel", self.o.test_guest, "--cmdline", "test=" + test,
                             "--memory", str(memory), "--api-sock", sock)

    def qemu_guest_argv(self, mode, memory, extra=()):
        """QEMU microvm running the multiboot bench guest (the counterpart of Swiftlet's test guest)."""
        return [QEMU, "-M", "microvm", "-enable-kvm", "-m", str(memory), "-nographic", "-nodefaults",
                "-no-reboot", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-kernel", self.o.qemu_guest, "-append", "mode=" + mode, *extra]

    def qemu_guest(self, mode, memory, qmp_sock, extra=()):
        return Child(self.qemu_guest_argv(mode, memory, ["-qmp", "unix:%s,server,nowait" % qmp_sock, *extra]),
                     "qemu", self.dir)

    # ---- row 1: start-up ---------------------------------------------------------------

    def startup_once(self, argv, sock, name):
        child = Child(argv, name, self.dir, capture_stdout=False)
        try:
            ready = wait_for_socket(sock, child, SOCKET_TIMEOUT)
            return (ready - child.started) * 1000
        finally:
            child.stop()
            if os.path.exists(sock):
                os.unlink(sock)

    def row_startup(self, machine):
        row = report.Row("startup." + machine, "Start-up to control socket (QEMU -M %s)" % machine, "ms", "lower",
                         "exec until the API socket (Swiftlet) / QMP socket (QEMU, -S) accepts a connection")
        for _ in range(self.runs):
            sock = self.path("api.sock")
            row.swiftlet.append(self.startup_once([self.o.swiftlet, "run", "--api-sock", sock], sock, "swiftlet"))
            sock = self.path("qmp.sock")
            argv = [QEMU, "-M", machine, "-enable-kvm", "-m", "128", "-S", "-nographic", "-nodefaults",
                    "-qmp", "unix:%s,server,nowait" % sock]
            row.qemu.append(self.startup_once(argv, sock, "qemu"))
        return row

    # ---- row 2: memory overhead --------------------------------------------------------

    def rows_memory(self):
        memory = 256
        how = ("/proc/PID/smaps of a paused 256 MiB guest that ran until its first console line, all "
               "mappings but the anonymous guest-RAM mapping")
        rss = report.Row("memory.vmm_rss", "VMM RSS excluding guest RAM, paused 256 MiB guest", "MiB", "lower",
                         how + ": sum of Rss")
        anon = report.Row("memory.vmm_anonymous", "… of which anonymous (not shared file pages)", "MiB", "lower",
                          how + ": sum of Anonymous; what each extra VM really costs, since binary and "
                          "library pages are shared between VMM processes")
        for _ in range(self.runs):
            sock = self.path("api.sock")
            vm = self.swiftlet_guest("count", memory, sock)
            try:
                vm.wait_line(is_count, LINE_TIMEOUT)
                api = SwiftletAPI(sock)
                api.expect("PATCH", "/vm", {"state": "Paused"})
                total, anonymous, _ = smaps.split_guest_ram(vm.pid, memory * MIB)
                rss.swiftlet.append(total / MIB)
                anon.swiftlet.append(anonymous / MIB)
                api.close()
            finally:
                vm.stop()
            sock = self.path("qmp.sock")
            vm = self.qemu_guest("count", memory, sock)
            try:
                vm.wait_line(is_count, LINE_TIMEOUT)
                qmp = QMP(sock)
                qmp.execute("stop")
                total, anonymous, _ = smaps.split_guest_ram(vm.pid, memory * MIB)
                rss.qemu.append(total / MIB)
                anon.qemu.append(anonymous / MIB)
                qmp.close()
            finally:
                vm.stop()
        return [rss, anon]

    # ---- row 3: pause + resume ---------------------------------------------------------

    def check_paused(self, vm, scenario, pause, resume):
        """Once per VMM: the guest makes no progress while paused, and does again after resume."""
        pause()
        time.sleep(0.05)  # a line already in flight may still arrive
        before = vm.line_count()
        if scenario == "echo":
            vm.send("paused\n")
        time.sleep(0.35)
        if vm.line_count() != before:
            raise BenchError("%s's guest made progress while paused" % vm.name)
        resume()
        expected = is_count if scenario == "count" else (lambda text: text == "echo: paused")
        vm.wait_line(expected, 5.0, after=before)

    def row_pause_resume(self, scenario):
        samples = max(3, self.runs * 4)
        if scenario == "count":
            title = "Pause + resume round trip, guest in its PIT delay loop (count)"
            what = "the count guest, which between lines polls the PIT (handled inside KVM) for 100 ms"
        else:
            title = "Pause + resume round trip, guest polling the UART (echo)"
            what = "the echo guest, which polls the UART's line status and so exits to the VMM constantly"
        row = report.Row("pause_resume." + scenario, title, "ms", "lower",
                         "PATCH /vm Paused then Resumed (Swiftlet) vs QMP stop then cont (QEMU), one open "
                         "connection, %d round trips each, 20 ms apart; guest: %s" % (samples, what))
        ready = self.SCENARIOS[scenario]["ready"]
        sock = self.path("api.sock")
        vm = Child([self.o.swiftlet, "run", "--kernel", self.o.test_guest, "--cmdline", "test=" + scenario,
                    "--api-sock", sock], "swiftlet", self.dir, stdin_pipe=True)
        try:
            vm.wait_line(ready, LINE_TIMEOUT)
            api = SwiftletAPI(sock)
            self.check_paused(vm, scenario, lambda: api.expect("PATCH", "/vm", {"state": "Paused"}),
                              lambda: api.expect("PATCH", "/vm", {"state": "Resumed"}))
            for _ in range(samples):
                time.sleep(0.02)
                start = time.perf_counter()
                api.expect("PATCH", "/vm", {"state": "Paused"})
                api.expect("PATCH", "/vm", {"state": "Resumed"})
                row.swiftlet.append((time.perf_counter() - start) * 1000)
            api.close()
        finally:
            vm.stop()
        sock = self.path("qmp.sock")
        vm = Child(self.qemu_guest_argv(scenario, 128, ["-qmp", "unix:%s,server,nowait" % sock]), "qemu", self.dir,
                   stdin_pipe=True)
        try:
            vm.wait_line(ready, LINE_TIMEOUT)
            qmp = QMP(sock)
            self.check_paused(vm, scenario, lambda: qmp.execute("stop"), lambda: qmp.execute("cont"))
            for _ in range(samples):
                time.sleep(0.02)
                start = time.perf_counter()
                qmp.execute("stop")
                qmp.execute("cont")
                row.qemu.append((time.perf_counter() - start) * 1000)
            qmp.close()
        finally:
            vm.stop()
        return row

    # ---- row 4: snapshot create / restore ----------------------------------------------

    # The guest scenarios a snapshot is taken of. `count` answers "when does the restored guest
    # print its next line" (as asked), but that includes whatever is left of the guest's 100 ms
    # delay; `echo` answers "when does the restored guest respond", which has no such wait.
    SCENARIOS = {
        "count": {"ready": is_count},
        "echo": {"ready": lambda text: text.endswith("echo ready")},
    }

    def after_restore(self, vm, scenario, last_count, start):
        """Waits for the restored guest's first sign of life; returns its perf_counter time."""
        if scenario == "count":
            _, printed, text = vm.wait_line(is_count, LINE_TIMEOUT)
            if count_value(text) <= last_count:
                raise BenchError("restored %s guest printed %r, expected a count after %d" % (vm.name, text, last_count))
            return printed
        vm.send("ping\n")
        _, printed, _ = vm.wait_line(lambda text: text == "echo: ping", LINE_TIMEOUT)
        return printed

    def swiftlet_snapshot_once(self, memory, scenario):
        state, mem = self.path("vm.state"), self.path("vm.mem")
        try:
            sock = self.path("api.sock")
            vm = self.swiftlet_guest(scenario, memory, sock)
            try:
                vm.wait_line(self.SCENARIOS[scenario]["ready"], LINE_TIMEOUT)
                api = SwiftletAPI(sock, timeout=120)
                api.expect("PATCH", "/vm", {"state": "Paused"})
                last = count_value(vm.lines[-1][1])
                start = time.perf_counter()
                api.expect("PUT", "/snapshot/create", {"snapshot_path": state, "mem_file_path": mem})
                create = time.perf_counter() - start
                size = disk_usage(state, mem)
                api.close()
            finally:
                vm.stop()
            sock = self.path("api.sock")
            vm = Child([self.o.swiftlet, "run", "--api-sock", sock], "swiftlet", self.dir, stdin_pipe=True)
            try:
                wait_for_socket(sock, vm, SOCKET_TIMEOUT)
                api = SwiftletAPI(sock, timeout=120)
                start = time.perf_counter()
                api.expect("PUT", "/snapshot/load", {"snapshot_path": state, "resume_vm": True,
                                                     "mem_backend": {"backend_type": "File", "backend_path": mem}})
                load = time.perf_counter() - start
                alive = self.after_restore(vm, scenario, last, start)
                api.close()
            finally:
                vm.stop()
            return create * 1000, load * 1000, (alive - start) * 1000, size
        finally:
            for leftover in (state, mem):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def qemu_snapshot_once(self, memory, scenario):
        image = self.path("qemu.migration")
        try:
            sock = self.path("qmp.sock")
            vm = self.qemu_guest(scenario, memory, sock)
            try:
                vm.wait_line(self.SCENARIOS[scenario]["ready"], LINE_TIMEOUT)
                qmp = QMP(sock, timeout=120)
                # The default bandwidth cap (128 MiB/s) would throttle a file target; Swiftlet has none.
                qmp.execute("migrate-set-parameters", {"max-bandwidth": 1 << 40})
                qmp.execute("stop")
                last = count_value(vm.lines[-1][1])
                start = time.perf_counter()
                qmp.execute("migrate", {"uri": "exec:cat > %s" % image})
                create = qmp.wait_migration(120) - start
                size = disk_usage(image)
                qmp.close()
            finally:
                vm.stop()
            sock = self.path("qmp.sock")
            vm = Child(self.qemu_guest_argv(scenario, memory, ["-qmp", "unix:%s,server,nowait" % sock,
                                                               "-incoming", "defer"]),
                       "qemu", self.dir, stdin_pipe=True)
            try:
                wait_for_socket(sock, vm, SOCKET_TIMEOUT)
                qmp = QMP(sock, timeout=120)
                qmp.execute("migrate-set-parameters", {"max-bandwidth": 1 << 40})
                start = time.perf_counter()
                qmp.execute("migrate-incoming", {"uri": "exec:cat %s" % image})
                qmp.wait_migration(120)
                # The stream carries the source's run state (stopped), so the VM stays paused until
                # `cont`: the counterpart of Swiftlet's resume_vm.
                qmp.execute("cont")
                load = time.perf_counter() - start
                alive = self.after_restore(vm, scenario, last, start)
                qmp.close()
            finally:
                vm.stop()
            return create * 1000, load * 1000, (alive - start) * 1000, size
        finally:
            if os.path.exists(image):
                os.unlink(image)

    def rows_snapshot(self, memory):
        label = "%d MiB" % memory if memory < 1024 else "%d GiB" % (memory // 1024)
        create = report.Row("snapshot.create.%d" % memory, "Snapshot create, %s guest" % label, "ms", "lower",
                            "Swiftlet PUT /snapshot/create on a paused VM vs QEMU stop, then migrate to "
                            "exec:cat > FILE until query-migrate says completed")
        load = report.Row("snapshot.load.%d" % memory, "Snapshot load (API, resumed), %s guest" % label, "ms", "lower",
                          "fresh VMM: PUT /snapshot/load with resume_vm vs migrate-incoming exec:cat FILE on "
                          "QEMU -incoming defer, until completed, then cont")
        count = report.Row("snapshot.next_count.%d" % memory, "Snapshot load → next `count` line, %s guest" % label,
                           "ms", "lower", "from sending the load request until the restored count guest prints "
                           "its next line (includes the rest of the guest's 100 ms delay)")
        echo = report.Row("snapshot.echo.%d" % memory, "Snapshot load → guest echoes input, %s guest" % label,
                          "ms", "lower", "from sending the load request until the restored echo guest answers a "
                          "line written to the console right after the load call returned")
        size = report.Row("snapshot.disk.%d" % memory, "Snapshot files on disk, %s guest" % label, "MiB", "lower",
                          "allocated blocks of the state and memory files (Swiftlet) / the migration stream (QEMU)")
        for _ in range(self.runs):
            for vmm, once in (("swiftlet", self.swiftlet_snapshot_once), ("qemu", self.qemu_snapshot_once)):
                c, l, f, d = once(memory, "count")
                getattr(create, vmm).append(c)
                getattr(load, vmm).append(l)
                getattr(count, vmm).append(f)
                getattr(size, vmm).append(d / MIB)
                _, _, e, _ = once(memory, "echo")
                getattr(echo, vmm).append(e)
        return [create, load, count, echo, size]

    # ---- row 5: launch density ---------------------------------------------------------

    def launch_many(self, make_argv, expected_line, total, parallel, accept_status):
        """Keeps `parallel` VMs in flight until `total` have printed their line and exited; VMs/s."""
        pending, running, done = total, [], 0
        start = time.perf_counter()
        deadline = time.monotonic() + 120
        while done < total:
            while pending and len(running) < parallel:
                running.append(Child(make_argv(), "density", self.dir))
                pending -= 1
            for vm in list(running):
                status = vm.proc.poll()
                if status is None:
                    continue
                vm.wait_line(lambda text: expected_line in text, 5.0)  # raises if it never printed
                vm.stop()
                running.remove(vm)
                if status not in accept_status:
                    raise BenchError("a %s VM exited with status %d (%s)" % (vm.argv[0], status, vm.diagnostics()))
                done += 1
            if time.monotonic() > deadline:
                for vm in running:
                    vm.stop()
                raise BenchError("launch density: only %d of %d VMs finished within 120 s" % (done, total))
            time.sleep(0.0005)
        return total / (time.perf_counter() - start)

    def row_first_output(self):
        row = report.Row("first_output", "Exec to first guest output, one 128 MiB VM (hello)", "ms", "lower",
                         "exec of the VMM with the guest on its command line until the guest's line "
                         "appears on the VMM's stdout")
        for _ in range(self.runs):
            for column, argv, line in (
                    (row.swiftlet, [self.o.swiftlet, "run", "--kernel", self.o.test_guest, "--cmdline", "test=hello",
                                    "--memory", "128"], "swiftlet-testguest: hello"),
                    (row.qemu, self.qemu_guest_argv("hello", 128), "bench-guest: hello")):
                vm = Child(argv, "first-output", self.dir)
                try:
                    _, printed, _ = vm.wait_line(lambda text: line in text, LINE_TIMEOUT)
                    column.append((printed - vm.started) * 1000)
                    vm.wait_exit(10)
                finally:
                    vm.stop()
        return row

    def row_exits(self):
        count = 20000 if self.o.quick else 200000
        row = report.Row("exits", "Port-I/O exit rate (exits)", "exits/s", "higher",
                         "the guest writes %d bytes to port 0x80, each a VM exit handled by the VMM; timed from "
                         "the guest's 'exits start' line to its 'exits done' line" % count)
        for _ in range(self.runs):
            for column, argv in (
                    (row.swiftlet, [self.o.swiftlet, "run", "--kernel", self.o.test_guest, "--cmdline",
                                    "test=exits exits=%d" % count, "--memory", "128"]),
                    (row.qemu, self.qemu_guest_argv("exits exits=%d" % count, 128))):
                vm = Child(argv, "exits", self.dir)
                try:
                    index, started, _ = vm.wait_line(lambda text: "exits start %d" % count in text, LINE_TIMEOUT)
                    _, finished, _ = vm.wait_line(lambda text: "exits done %d" % count in text, 120, after=index)
                    column.append(count / max(finished - started, 1e-6))
                    vm.wait_exit(10)
                finally:
                    vm.stop()
        return row

    def row_density(self):
        total = 8 if self.o.quick else 20
        parallel = 2 * (os.cpu_count() or 1)
        row = report.Row("density", "Launch density: VMs started to first output", "VMs/s", "higher",
                         "%d VMs of 128 MiB, %d in flight at a time; each boots, prints one line, reboots and its "
                         "VMM exits" % (total, parallel))
        for _ in range(self.runs):
            row.swiftlet.append(self.launch_many(
                lambda: [self.o.swiftlet, "run", "--kernel", self.o.test_guest, "--cmdline", "test=hello",
                         "--memory", "128"],
                "swiftlet-testguest: hello", total, parallel, accept_status=(0,)))
            # isa-debug-exit ends QEMU with status 1 on microvm (no i8042 there to reset through).
            row.qemu.append(self.launch_many(
                lambda: self.qemu_guest_argv("hello", 128), "bench-guest: hello", total, parallel,
                accept_status=(0, 1)))
        return row

    # ---- optional: Linux in the nested testbed -----------------------------------------

    # Scenarios (guest/linux/testbed/scenarios/) run in one L1 per VMM and run. linux-boot comes
    # first, in a fresh L1, as it did when it ran alone. bench-boot-microvm needs QEMU inside L1,
    # which the testbed packs only with --vmm qemu.
    TESTBED_SCENARIOS = {
        "swiftlet": ["linux-boot", "bench-disk"],
        "qemu": ["linux-boot", "bench-disk", "bench-boot-microvm"],
    }

    # In their own L1, which gets 4 vCPUs for them (scripts/testbed.sh), so that the rows above
    # keep their 1-vCPU L1.
    TESTBED_SMP_SCENARIOS = ["bench-smp-boot1", "bench-smp-boot4", "bench-smp-pause"]

    def testbed_run(self, vmm, scenarios=None, env=None):
        """One `scripts/testbed.sh` run; returns {scenario: its result details} for `scenarios`
        (default TESTBED_SCENARIOS). `env`: more environment for that run (QEMU_NET_VHOST=on)."""
        scenarios = scenarios or self.TESTBED_SCENARIOS[vmm]
        argv = [os.path.join(REPO_ROOT, "scripts", "testbed.sh"), *scenarios]
        extra = dict(env or {})
        if vmm == "qemu":
            argv[1:1] = ["--vmm", "qemu"]
        else:
            extra["SWIFTLET_BIN"] = os.path.abspath(self.o.swiftlet)
        saved = {name: os.environ.get(name) for name in extra}
        os.environ.update(extra)
        child = Child(argv, "testbed-" + vmm + "".join("-%s=%s" % item for item in sorted((env or {}).items())), self.dir)
        try:
            child.wait_line(lambda text: text.startswith("TESTBED summary:"), 900)
            status = child.wait_exit(120)
        finally:
            child.stop()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        results = {}
        for _, text in list(child.lines):
            found = re.match(r"TESTBED ([a-z0-9-]+): (ok|FAIL) ?(.*)", text)
            if found:
                results[found.group(1)] = (found.group(2), found.group(3))
        for name in scenarios:
            outcome, details = results.get(name, ("missing", "no result line"))
            if outcome != "ok":
                raise BenchError("testbed %s with %s: %s %s" % (name, vmm, outcome, details))
            if "not run:" in details:
                raise BenchError("testbed %s with %s did not run: %s" % (name, vmm, details))
        if status != 0:
            raise BenchError("scripts/testbed.sh with %s exited %d" % (vmm, status))
        for name in scenarios:
            print("bench: testbed %s, %s: %s" % (vmm, name, results[name][1]), file=sys.stderr, flush=True)
        return {name: results[name][1] for name in scenarios}

    @staticmethod
    def boot_figures(details):
        """(VMM wall seconds, guest uptime at init) from a boot scenario's result details."""
        ran = re.search(r"swiftlet ran ([0-9.]+) s", details)
        init = re.search(r"init at ([0-9.]+) s guest uptime", details)
        if not ran or not init:
            raise BenchError("unexpected testbed result: %s" % details)
        return float(ran.group(1)), float(init.group(1))

    @staticmethod
    def disk_rate(details, direction):
        """MiB/s of bench-disk's write or read, from its note `write 256 MiB in 1.99 s (...)`."""
        found = re.search(direction + r" ([0-9]+) MiB in ([0-9.]+) s", details)
        if not found or float(found.group(2)) <= 0:
            raise BenchError("no %s figure in the bench-disk result: %s" % (direction, details))
        return int(found.group(1)) / float(found.group(2))

    # What every testbed row's description says about where it ran and what QEMU was.
    TESTBED_WHERE = ("inside the nested testbed (Debian's cloud kernel and busybox initramfs, 256 MiB, under "
                     "L1's kvm-amd, L1 itself under QEMU's TCG emulator). Emulator timings: compare ratios only")
    TESTBED_PC = "QEMU: scripts/lib/qemu-as-swiftlet.sh, -M pc with SeaBIOS"

    def rows_linux(self):
        where, pc = self.TESTBED_WHERE, self.TESTBED_PC
        microvm = "QEMU: -M microvm with qboot (testbed scenario bench-boot-microvm, guest also given reboot=t)"
        boot_wall = "scripts/testbed.sh linux-boot: exec of the VMM until it exits after the guest's init rebooted; "
        boot_init = "scripts/testbed.sh linux-boot: the guest kernel's own uptime when its init runs (excludes firmware); "
        wall_pc = report.Row("linux.boot_wall", "Linux boot to reboot, VMM run time (nested testbed, QEMU -M pc)",
                             "s", "lower", boot_wall + pc + "; " + where)
        init_pc = report.Row("linux.init_uptime", "Linux guest uptime when init starts (nested testbed, QEMU -M pc)",
                             "s", "lower", boot_init + pc + "; " + where)
        wall_microvm = report.Row("linux.boot_wall.microvm",
                                  "Linux boot to reboot, VMM run time (nested testbed, QEMU -M microvm)", "s", "lower",
                                  boot_wall + microvm + "; Swiftlet's samples are the -M pc row's; " + where)
        init_microvm = report.Row("linux.init_uptime.microvm",
                                  "Linux guest uptime when init starts (nested testbed, QEMU -M microvm)", "s",
                                  "lower", boot_init + microvm + "; Swiftlet's samples are the -M pc row's; " + where)
        disk = ("scripts/testbed.sh bench-disk: busybox dd, 256 MiB in 1 MiB blocks, O_DIRECT, on /dev/vda backed "
                "by a fresh sparse 300 MiB raw file in L1's tmpfs, timed with the guest's /proc/uptime; Swiftlet's "
                "virtio-blk (PCI) against QEMU's virtio-blk-pci (-M pc, cache=writeback); " + where)
        write = report.Row("linux.disk_write", "virtio-blk sequential write, 256 MiB O_DIRECT (nested testbed)",
                           "MiB/s", "higher", "dd if=/dev/zero of=/dev/vda oflag=direct; " + disk)
        read = report.Row("linux.disk_read", "virtio-blk sequential read, 256 MiB O_DIRECT (nested testbed)",
                          "MiB/s", "higher", "dd if=/dev/vda of=/dev/null iflag=direct, after the write; " + disk)
        for _ in range(self.runs):
            for vmm in ("swiftlet", "qemu"):
                results = self.testbed_run(vmm)
                seconds, uptime = self.boot_figures(results["linux-boot"])
                getattr(wall_pc, vmm).append(seconds)
                getattr(init_pc, vmm).append(uptime)
                getattr(write, vmm).append(self.disk_rate(results["bench-disk"], "write"))
                getattr(read, vmm).append(self.disk_rate(results["bench-disk"], "read"))
                if vmm == "swiftlet":
                    wall_microvm.swiftlet.append(seconds)
                    init_microvm.swiftlet.append(uptime)
                else:
                    seconds, uptime = self.boot_figures(results["bench-boot-microvm"])
                    wall_microvm.qemu.append(seconds)
                    init_microvm.qemu.append(uptime)
        return [wall_pc, init_pc, wall_microvm, init_microvm, write, read]


    def rows_linux_smp(self):
        where, pc = self.TESTBED_WHERE, self.TESTBED_PC
        smp = ("scripts/testbed.sh bench-smp-boot1/bench-smp-boot4: linux-boot's guest with --cpus 1 or 4 "
               "(QEMU -smp 1 or 4), both in one L1 with 4 vCPUs; the guest must report as many CPUs brought up; ")
        rows = {}
        for cpus in (1, 4):
            rows[cpus] = (
                report.Row("linux.boot_wall.smp%d" % cpus, "Linux boot to reboot with %d vCPU(s), VMM run time (nested testbed)" % cpus,
                           "s", "lower", smp + pc + "; " + where),
                report.Row("linux.init_uptime.smp%d" % cpus, "Linux guest uptime when init starts, %d vCPU(s) (nested testbed)" % cpus,
                           "s", "lower", smp + pc + "; " + where))
        pause = report.Row("linux.pause_resume.smp4", "Pause + resume round trip, 4 busy vCPUs (nested testbed)", "ms",
                           "lower", "scripts/testbed.sh bench-smp-pause: a busy loop pinned to each of the guest's 4 CPUs; "
                           "scripts/bench/tools/pause-rtt times 20 round trips over one open connection, PATCH /vm "
                           "Paused + Resumed (Swiftlet) vs QMP stop + cont (QEMU -smp 4), median per run; " + where)
        for _ in range(self.runs):
            for vmm in ("swiftlet", "qemu"):
                results = self.testbed_run(vmm, self.TESTBED_SMP_SCENARIOS)
                for cpus in (1, 4):
                    seconds, uptime = self.boot_figures(results["bench-smp-boot%d" % cpus])
                    getattr(rows[cpus][0], vmm).append(seconds)
                    getattr(rows[cpus][1], vmm).append(uptime)
                found = re.search(r"pause\+resume median ([0-9.]+) ms", results["bench-smp-pause"])
                if not found:
                    raise BenchError("no median in the bench-smp-pause result: %s" % results["bench-smp-pause"])
                getattr(pause, vmm).append(float(found.group(1)))
        return [row for cpus in (1, 4) for row in rows[cpus]] + [pause]

    def rows_linux_net(self):
        where = self.TESTBED_WHERE
        net = ("scripts/testbed.sh bench-net: the guest's virtio-net on tap0 in L1 (Swiftlet's device against "
               "QEMU's virtio-net-pci, vhost=off, data path in the VMM process for both); ")
        stream = net + "16 MiB of zeros through busybox nc, thrown away by the receiver; "
        rows = {
            "ping L1 → guest": report.Row("linux.net.ping_in", "virtio-net ping round trip, L1 → guest (nested testbed)", "ms",
                                          "lower", net + "20 pings 5 a second, busybox's average; " + where),
            "ping guest → L1": report.Row("linux.net.ping_out", "virtio-net ping round trip, guest → L1 (nested testbed)", "ms",
                                          "lower", net + "20 pings 5 a second from the guest, busybox's average; " + where),
            "L1 → guest": report.Row("linux.net.rx", "virtio-net TCP throughput, L1 → guest (nested testbed)", "MiB/s",
                                     "higher", stream + "timed with L1's clock; " + where),
            "guest → L1": report.Row("linux.net.tx", "virtio-net TCP throughput, guest → L1 (nested testbed)", "MiB/s",
                                     "higher", stream + "timed with the guest's clock; " + where),
        }
        # The same two streams against QEMU with vhost=on (QEMU_NET_VHOST, qemu-as-swiftlet.sh): the
        # data path in L1's kernel (vhost_net), not in QEMU's process. Swiftlet's samples are the rows above's.
        vhost = ("scripts/testbed.sh bench-net with QEMU_NET_VHOST=on: the guest's virtio-net on tap0 in L1 "
                 "(Swiftlet's device, data path in its process, against QEMU's virtio-net-pci with vhost=on, data "
                 "path in L1's kernel: vhost-net); Swiftlet's samples are the vhost=off rows'; "
                 "16 MiB of zeros through busybox nc, thrown away by the receiver; ")
        vhost_rows = {
            "L1 → guest": report.Row("linux.net.rx.vhost", "virtio-net TCP throughput, L1 → guest, QEMU vhost=on (nested testbed)",
                                     "MiB/s", "higher", vhost + "timed with L1's clock; " + where),
            "guest → L1": report.Row("linux.net.tx.vhost", "virtio-net TCP throughput, guest → L1, QEMU vhost=on (nested testbed)",
                                     "MiB/s", "higher", vhost + "timed with the guest's clock; " + where),
        }
        for _ in range(self.runs):
            for vmm, env in (("swiftlet", None), ("qemu", None), ("qemu", {"QEMU_NET_VHOST": "on"})):
                details = self.testbed_run(vmm, ["bench-net"], env)["bench-net"]
                if env and "QEMU net vhost=on" not in details:
                    raise BenchError("QEMU_NET_VHOST=on, but bench-net does not say QEMU ran with vhost=on: %s" % details)
                for label, row in rows.items():
                    if env and label not in vhost_rows:
                        continue
                    if label.startswith("ping"):
                        found = re.search(re.escape(label) + r" avg ([0-9.]+) ms", details)
                    else:
                        # From the size and the time: the note's own rate has one decimal.
                        found = re.search(re.escape(label) + r" ([0-9]+) MiB in ([0-9.]+) s", details)
                    if not found or (not label.startswith("ping") and float(found.group(2)) <= 0):
                        raise BenchError("no '%s' figure in the bench-net result: %s" % (label, details))
                    value = float(found.group(1)) if label.startswith("ping") else int(found.group(1)) / float(found.group(2))
                    if env:
                        vhost_rows[label].qemu.append(value)
                        continue
                    getattr(row, vmm).append(value)
                    if label in vhost_rows and vmm == "swiftlet":
                        vhost_rows[label].swiftlet.append(value)
        return list(rows.values()) + list(vhost_rows.values())

    def rows_linux_vsock(self):
        where = self.TESTBED_WHERE
        vsock = ("scripts/testbed.sh bench-vsock: 16 MiB of zeros one way over the guest's virtio-vsock (CID 3), "
                 "counted and thrown away by guest/vsock-echo's sink, which closes when all has arrived; Swiftlet's "
                 "device with Firecracker's Unix-socket host side (data path in Swiftlet's process) against QEMU's "
                 "vhost-vsock-pci, whose data path is in L1's kernel (vhost_vsock; host side AF_VSOCK in L1, "
                 "QEMU's process only sets it up); ")
        rows = {
            "host → guest": report.Row("linux.vsock.rx", "virtio-vsock throughput, L1 → guest (nested testbed; QEMU vhost-vsock, data path in L1's kernel)",
                                       "MiB/s", "higher", vsock + "L1 connects (CONNECT 52 on the Unix socket, or AF_VSOCK "
                                       "CID 3 port 52), timed with L1's clock; " + where),
            "guest → host": report.Row("linux.vsock.tx", "virtio-vsock throughput, guest → L1 (nested testbed; QEMU vhost-vsock, data path in L1's kernel)",
                                       "MiB/s", "higher", vsock + "the guest connects to CID 2 port 1234 (Swiftlet: L1's "
                                       "uds_1234), timed with the guest's clock; " + where),
        }
        for _ in range(self.runs):
            for vmm in ("swiftlet", "qemu"):
                details = self.testbed_run(vmm, ["bench-vsock"])["bench-vsock"]
                for label, row in rows.items():
                    found = re.search(re.escape(label) + r" ([0-9]+) MiB in ([0-9.]+) s", details)
                    if not found or float(found.group(2)) <= 0:
                        raise BenchError("no '%s' figure in the bench-vsock result: %s" % (label, details))
                    getattr(row, vmm).append(int(found.group(1)) / float(found.group(2)))
        return list(rows.values())

    def rows_linux_fio(self):
        where = self.TESTBED_WHERE
        fio = ("scripts/testbed.sh bench-fio: Debian's fio in the guest on the first 256 MiB of the raw /dev/vda "
               "(filled first), ioengine=libaio, direct=1, 10 s per figure, one terse line each; the disk a fresh "
               "sparse raw file on ext4 on a RAM disk in L1 (L1's tmpfs takes no O_DIRECT); Swiftlet --disk "
               "FILE$FIO_DISK_OPTIONS (default ,io=async,direct) against QEMU's virtio-blk-pci with "
               "aio=io_uring,cache=none (aio=native if QEMU refuses io_uring; the run's notes say which); ")
        rows = [
            (report.Row("linux.fio.randread_qd1_lat", "virtio-blk 4 KiB random read latency, iodepth 1, fio (nested testbed)",
                        "µs", "lower", fio + "mean of fio's lat (submission + completion); " + where),
             r"randread 4k qd1 lat ([0-9.]+) us"),
            (report.Row("linux.fio.randread_qd32_iops", "virtio-blk 4 KiB random read, iodepth 32, fio (nested testbed)",
                        "IOPS", "higher", fio + where), r"randread 4k qd32 ([0-9.]+) IOPS"),
            (report.Row("linux.fio.randwrite_qd32_iops", "virtio-blk 4 KiB random write, iodepth 32, fio (nested testbed)",
                        "IOPS", "higher", fio + where), r"randwrite 4k qd32 ([0-9.]+) IOPS"),
            (report.Row("linux.fio.read_1m", "virtio-blk 1 MiB sequential read, iodepth 8, fio (nested testbed)",
                        "MiB/s", "higher", fio + where), r"read 1M qd8 ([0-9.]+) MiB/s"),
            (report.Row("linux.fio.write_1m", "virtio-blk 1 MiB sequential write, iodepth 8, fio (nested testbed)",
                        "MiB/s", "higher", fio + where), r"write 1M qd8 ([0-9.]+) MiB/s"),
        ]
        for _ in range(self.runs):
            for vmm in ("swiftlet", "qemu"):
                details = self.testbed_run(vmm, ["bench-fio"])["bench-fio"]
                for row, pattern in rows:
                    found = re.search(pattern, details)
                    if not found or float(found.group(1)) <= 0:
                        raise BenchError("no '%s' figure in the bench-fio result: %s" % (pattern, details))
                    getattr(row, vmm).append(float(found.group(1)))
        return [row for row, _ in rows]

    # ---- driver ------------------------------------------------------------------------

    def all_rows(self):
        plan = [
            lambda: [self.row_startup("microvm")],
            lambda: [self.row_startup("pc")],
            lambda: self.rows_memory(),
            lambda: [self.row_pause_resume("count")],
            lambda: [self.row_pause_resume("echo")],
            lambda: self.rows_snapshot(128),
            lambda: self.rows_snapshot(1024),
            lambda: [self.row_first_output()],
            lambda: [self.row_exits()],
            lambda: [self.row_density()],
        ]
        names = ["startup microvm", "startup pc", "memory", "pause/resume count", "pause/resume echo", "snapshot 128 MiB",
                 "snapshot 1 GiB", "first output", "exits", "density"]
        if self.o.linux:
            plan += [self.rows_linux, self.rows_linux_smp, self.rows_linux_net, self.rows_linux_vsock, self.rows_linux_fio]
            names += ["linux in the testbed", "linux smp in the testbed", "linux net in the testbed",
                      "linux vsock in the testbed", "linux fio in the testbed"]
        if self.o.only:
            wanted = [name.strip() for name in self.o.only.split(",")]
            unknown = [name for name in wanted if name not in names]
            if unknown:
                raise SystemExit("bench: unknown row(s) for --only: %s (known: %s)" % (", ".join(unknown), ", ".join(names)))
            kept = [(name, step) for name, step in zip(names, plan) if name in wanted]
            names, plan = [name for name, _ in kept], [step for _, step in kept]
        rows = []
        out_of_time = False
        for name, step in zip(names, plan):
            if out_of_time:
                skipped = report.Row(name.replace(" ", "_"), name, "", "lower")
                skipped.error = "not run: the time limit was reached"
                rows.append(skipped)
                continue
            began = time.monotonic()
            print("bench: %s ..." % name, file=sys.stderr, flush=True)
            try:
                rows.extend(step())
            except BenchError as error:
                out_of_time = isinstance(error, TimeLimitExceeded)
                failed = report.Row(name.replace(" ", "_"), name, "", "lower")
                failed.error = str(error)
                rows.append(failed)
                print("bench: %s FAILED: %s" % (name, error), file=sys.stderr, flush=True)
            print("bench: %s took %.1f s" % (name, time.monotonic() - began), file=sys.stderr, flush=True)
        return rows


def machine_facts():
    def first_line(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    modules = sorted(m for m in os.listdir("/sys/module") if m.startswith("kvm")) if os.path.isdir("/sys/module") else []
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "kvm_modules": modules,
        "qemu": first_line([QEMU, "--version"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--swiftlet", required=True)
    parser.add_argument("--test-guest", required=True, help="Swiftlet's test guest ELF")
    parser.add_argument("--qemu-guest", required=True, help="the multiboot bench guest for QEMU")
    parser.add_argument("--quick", action="store_true", help="one run per figure")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", help="comma-separated row groups to run, e.g. 'exits,first output'")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--linux", action="store_true",
                        help="also boot Linux with both VMMs in the nested testbed (scripts/testbed.sh; minutes)")
    parser.add_argument("--time-limit", type=int,
                        help="fail and skip the remaining rows after this many seconds "
                             "(default 100 with --quick, else 1200; 5400 more with --linux)")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    time_limit = options.time_limit or (100 if options.quick else 1200) + (5400 if options.linux else 0)
    if options.linux and not os.access(os.path.join(REPO_ROOT, "scripts", "testbed.sh"), os.X_OK):
        parser.error("--linux needs scripts/testbed.sh")

    atexit.register(stop_all)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda received, _frame: sys.exit(128 + received))

    machine = machine_facts()
    signal.signal(signal.SIGALRM, _time_limit_reached)
    signal.alarm(time_limit)
    with tempfile.TemporaryDirectory(prefix="swiftlet-bench-") as workdir:
        bench = Bench(options, workdir)
        try:
            rows = bench.all_rows()
        finally:
            signal.alarm(0)
            stop_all()
    settings = {"quick": options.quick, "runs": bench.runs}
    print("Swiftlet vs QEMU on /dev/kvm — %s; %s CPUs (%s); kernel %s; %s; %d run(s) per figure\n" % (
        machine["date"], machine["nproc"], machine["cpu"], machine["kernel"], machine["qemu"], bench.runs))
    print(report.markdown(rows))
    if options.json:
        report.write_json(options.json, machine, settings, rows)
    failed = [row for row in rows if row.error]
    if failed:
        print("\nbench: %d measurement(s) failed" % len(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
