"""Child VMM processes with timestamped console lines, and guaranteed clean-up.

Every child runs in its own session (process group), so killing it also kills anything it spawned
(QEMU's `exec:` migration helpers). All children ever started are remembered and killed when the
benchmark exits, however it exits.
"""

import os
import signal
import subprocess
import threading
import time

_live = []
_live_lock = threading.Lock()


class BenchError(Exception):
    """A measurement could not be taken; the message says why."""


class Child:
    """A started process whose stdout lines are collected with their arrival time."""

    def __init__(self, argv, name, log_dir, capture_stdout=True, stdin_pipe=False):
        self.name = name
        self.argv = argv
        self.lines = []  # (perf_counter time, text)
        self._cond = threading.Condition()
        self._stdout_closed = False
        self.stderr_path = os.path.join(log_dir, "%s-%d.stderr" % (name, time.monotonic_ns()))
        self._stderr = open(self.stderr_path, "wb")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
        )
        with _live_lock:
            _live.append(self)
        if capture_stdout:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        else:
            self._stdout_closed = True

    @property
    def pid(self):
        return self.proc.pid

    def _read(self):
        pending = b""
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            now = time.perf_counter()
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            if complete:
                with self._cond:
                    for raw in complete:
                        self.lines.append((now, raw.decode("utf-8", "replace").rstrip("\r")))
                    self._cond.notify_all()
        with self._cond:
            self._stdout_closed = True
            self._cond.notify_all()

    def wait_line(self, predicate, timeout, after=0):
        """Returns (time, text) of the first line at index >= `after` that matches."""
        deadline = time.monotonic() + timeout
        index = after
        with self._cond:
            while True:
                while index < len(self.lines):
                    stamp, text = self.lines[index]
                    if predicate(text):
                        return index, stamp, text
                    index += 1
                if self._stdout_closed:
                    raise BenchError("%s exited before the expected console line (%s)" % (self.name, self.diagnostics()))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BenchError("%s: no expected console line within %.0f s (%s)" % (self.name, timeout, self.diagnostics()))
                self._cond.wait(remaining)

    def send(self, text):
        """Writes `text` to the child's stdin (its guest console input)."""
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (OSError, AttributeError) as error:
            raise BenchError("%s: cannot write to its console: %s" % (self.name, error))

    def line_count(self):
        with self._cond:
            return len(self.lines)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("%s did not exit within %.0f s" % (self.name, timeout))

    def diagnostics(self):
        status = self.proc.poll()
        tail = ""
        try:
            self._stderr.flush()
            with open(self.stderr_path, "rb") as f:
                tail = f.read()[-600:].decode("utf-8", "replace").strip().replace("\n", " | ")
        except OSError:
            pass
        last = self.lines[-1][1] if self.lines else ""
        return "exit status %s, last console line %r, stderr: %s" % (status, last, tail or "(empty)")

    def stop(self, grace=2.0):
        """SIGTERM to the process group, SIGKILL after `grace` seconds; always reaps."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        self._stderr.close()
        with _live_lock:
            if self in _live:
                _live.remove(self)


def _signal_group(pid, number):
    try:
        os.killpg(pid, number)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all():
    with _live_lock:
        children = list(_live)
    for child in children:
        child.stop(grace=0.5)
