#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A minimal "VM" on a tap device, for tests/e2e/tap_ep.sh: the program
holds the tap's fd as a hypervisor does and plays the guest's NIC. It
answers ARP requests for its address and ICMP echo requests to it.

tap_vm.py TAP MAC IP [ping DST COUNT]: with ping, it also sends COUNT
echo requests to DST (resolving DST's MAC by ARP first; DST is in its
subnet), prints "replies N" and exits 0 when all were answered, 1 if not.
"""
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def mac_b(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip_b(s):
    return bytes(int(x) for x in s.split("."))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                    0x4000, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def icmp(typ, ident, seq, data):
    m = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def main():
    tap, mac, ip = sys.argv[1], mac_b(sys.argv[2]), ip_b(sys.argv[3])
    ping = len(sys.argv) > 4 and sys.argv[4] == "ping"
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(),
                                           IFF_TAP | IFF_NO_PI))
    dst = ip_b(sys.argv[5]) if ping else None
    count = int(sys.argv[6]) if ping else 0
    dst_mac = None
    sent = replies = 0
    next_tx = time.monotonic()
    deadline = time.monotonic() + 20
    ident = os.getpid() & 0xFFFF

    while True:
        now = time.monotonic()
        if ping:
            if replies == count or now > deadline:
                print("replies %d" % replies, flush=True)
                sys.exit(0 if replies == count else 1)
            if now >= next_tx:
                next_tx = now + 0.2
                if dst_mac is None:
                    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1,
                                      mac, ip, b"\0" * 6, dst)
                    os.write(fd, b"\xff" * 6 + mac + b"\x08\x06" + arp)
                elif sent < count + 10:
                    sent += 1
                    pkt = ipv4(ip, dst, 1, icmp(8, ident, sent, b"x" * 56),
                               sent)
                    os.write(fd, dst_mac + mac + b"\x08\x00" + pkt)
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r:
            continue
        f = os.read(fd, 65536)
        if len(f) < 14:
            continue
        etype = struct.unpack("!H", f[12:14])[0]
        if etype == 0x0806 and len(f) >= 42:
            op, sha, spa, tpa = (struct.unpack("!H", f[20:22])[0], f[22:28],
                                 f[28:32], f[38:42])
            if op == 1 and tpa == ip:
                arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac,
                                  ip, sha, spa)
                os.write(fd, sha + mac + b"\x08\x06" + arp)
            elif op == 2 and ping and spa == dst:
                dst_mac = sha
        elif etype == 0x0800 and len(f) >= 34:
            ihl = (f[14] & 0xF) * 4
            proto, src, to = f[23], f[26:30], f[30:34]
            body = f[14 + ihl:]
            if proto != 1 or to != ip or len(body) < 8:
                continue
            if body[0] == 8:
                rep = icmp(0, *struct.unpack("!HH", body[4:8]), body[8:])
                os.write(fd, f[6:12] + mac + b"\x08\x00" +
                         ipv4(ip, src, 1, rep))
            elif body[0] == 0 and ping and src == dst:
                replies += 1


if __name__ == "__main__":
    main()
