"""Control-socket clients: Firecracker-style HTTP/1.1 over a Unix socket (Swiftlet) and QMP (QEMU).

Both keep one connection open, as a real orchestrator would, so that round-trip timings measure
the VMM and not connection set-up. Every read has a deadline.
"""

import json
import socket
import time

from children import BenchError

POLL_INTERVAL = 0.00025


def wait_for_socket(path, child, timeout):
    """Polls until `path` accepts a connection; returns the perf_counter time it did."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            now = time.perf_counter()
            sock.close()
            return now
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
        if child.proc.poll() is not None:
            raise BenchError("%s exited before its socket accepted connections (%s)" % (child.name, child.diagnostics()))
        if time.monotonic() > deadline:
            raise BenchError("%s: socket %s not accepting within %.0f s" % (child.name, path, timeout))
        time.sleep(POLL_INTERVAL)


class _LineSocket:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise BenchError("control socket: no answer in time")
        if not chunk:
            raise BenchError("control socket closed by the VMM")
        self.buffer += chunk

    def read_until(self, marker):
        while marker not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def read_exactly(self, count):
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def close(self):
        self.sock.close()


class SwiftletAPI:
    """A keep-alive HTTP/1.1 client for Swiftlet's (Firecracker-dialect) API socket."""

    def __init__(self, path, timeout=30.0):
        self.conn = _LineSocket(path, timeout)

    def request(self, method, target, body=None):
        payload = b"" if body is None else json.dumps(body).encode()
        head = "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n" % (method, target)
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += "Content-Length: %d\r\n\r\n" % len(payload)
        self.conn.sock.sendall(head.encode() + payload)
        lines = self.conn.read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        text = self.conn.read_exactly(length).decode("utf-8", "replace")
        return status, text

    def expect(self, method, target, body=None, status=204):
        got, text = self.request(method, target, body)
        if got != status:
            raise BenchError("%s %s answered %d, expected %d: %s" % (method, target, got, status, text.strip()))
        return text

    def close(self):
        self.conn.close()


class QMP:
    """A QMP client: greeting, capabilities negotiation, then synchronous commands."""

    def __init__(self, path, timeout=30.0):
        self.conn = _LineSocket(path, timeout)
        self.events = []
        greeting = self._message()
        if "QMP" not in greeting:
            raise BenchError("QMP: unexpected greeting %r" % greeting)
        self.execute("qmp_capabilities")

    def _message(self):
        return json.loads(self.conn.read_until(b"\n"))

    def execute(self, command, arguments=None):
        message = {"execute": command}
        if arguments is not None:
            message["arguments"] = arguments
        self.conn.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._message()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise BenchError("QMP %s failed: %s" % (command, reply["error"].get("desc", reply["error"])))
            self.events.append(reply)

    def wait_migration(self, timeout):
        """Polls query-migrate until the (outgoing or incoming) migration completes."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.execute("query-migrate").get("status")
            if status == "completed":
                return time.perf_counter()
            if status in ("failed", "cancelled"):
                raise BenchError("QEMU migration %s" % status)
            if time.monotonic() > deadline:
                raise BenchError("QEMU migration still %r after %.0f s" % (status, timeout))
            time.sleep(0.0005)

    def close(self):
        self.conn.close()
