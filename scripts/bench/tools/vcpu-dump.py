#!/usr/bin/env python3
"""Prints each vCPU's MP state, registers of interest and local APIC from the snapshot state
files that the testbed scenario bench-smp-hunt dumps to L1's console (SMP-HUNT-DUMP lines).
Usage: scripts/bench/tools/vcpu-dump.py CONSOLE_LOG
The state file is SnapshotFile's container (24-byte header, JSON payload, CRC); registers and the
LAPIC page are raw struct kvm_regs / kvm_lapic_state bytes, base64 in the JSON."""
import base64
import json
import re
import struct
import sys

text = open(sys.argv[1], errors='replace').read().replace('\r', '')
dumps = re.findall(r'SMP-HUNT-DUMP-BEGIN (\d+)\n(.*?)SMP-HUNT-DUMP-END', text, re.S)
for run, body in dumps:
    b64 = ''.join(l.split('SMP-HUNT-DUMP ', 1)[1] for l in body.splitlines() if 'SMP-HUNT-DUMP ' in l)
    raw = base64.b64decode(b64)
    n = struct.unpack_from('<Q', raw, 16)[0]
    snap = json.loads(raw[24:24 + n])
    print('boot', run)
    for v in snap.get('vcpus', []):
        regs = struct.unpack('<18Q', base64.b64decode(v['registers'])[:144])
        names = 'rax rbx rcx rdx rsi rdi rsp rbp r8 r9 r10 r11 r12 r13 r14 r15 rip rflags'.split()
        r = dict(zip(names, regs))
        lapic = base64.b64decode(v['lapic'])
        def lr(off): return struct.unpack_from('<I', lapic, off)[0]
        print(' vcpu', v['id'], 'mp', v['mpState'], 'rip %x rflags %x rsp %x' % (r['rip'], r['rflags'], r['rsp']),
              'apicid %x tpr %x isr %s irr %s lvtt %x tmict %x tmcct %x' % (lr(0x20) >> 24, lr(0x80),
              [hex(lr(0x100 + 16*i)) for i in range(8)], [hex(lr(0x200 + 16*i)) for i in range(8)], lr(0x320), lr(0x380), lr(0x390)))
