"""Resident memory of a VMM process, split into guest RAM and everything else (from /proc/PID/smaps)."""

import re

from children import BenchError

_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$")

# QEMU rounds a RAM block up and may keep an alignment guard in the same mapping; accept a little slack.
_GUEST_SLACK = 4 << 20


def mappings(pid):
    """[(size_bytes, rss_bytes, anonymous_bytes, inode, pathname)] for every mapping of `pid`."""
    result = []
    current = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                header = _HEADER.match(line)
                if header:
                    if current:
                        result.append(tuple(current))
                    start, end = int(header.group(1), 16), int(header.group(2), 16)
                    current = [end - start, 0, 0, int(header.group(3)), header.group(4).strip()]
                elif line.startswith("Rss:") and current:
                    current[1] = int(line.split()[1]) * 1024
                elif line.startswith("Anonymous:") and current:
                    current[2] = int(line.split()[1]) * 1024
    except OSError as error:
        raise BenchError("cannot read smaps of %d: %s" % (pid, error))
    if current:
        result.append(tuple(current))
    return result


def split_guest_ram(pid, guest_bytes):
    """Returns (vmm_rss, vmm_anonymous, guest_rss), in bytes.

    Guest RAM is every anonymous mapping (no inode, no file name) whose size is the guest's RAM
    size, up to a little slack. A VMM that splits RAM below/above the 32-bit hole would need more.
    """
    vmm = vmm_anonymous = guest = found = 0
    for size, rss, anonymous_bytes, inode, path in mappings(pid):
        anonymous = inode == 0 and (path == "" or path.startswith("[anon"))
        if anonymous and guest_bytes <= size <= guest_bytes + _GUEST_SLACK:
            guest += rss
            found += 1
        else:
            vmm += rss
            vmm_anonymous += anonymous_bytes
    if found == 0:
        raise BenchError("no anonymous mapping of %d MiB in process %d: cannot tell guest RAM apart" % (guest_bytes >> 20, pid))
    return vmm, vmm_anonymous, guest
