#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Send COUNT ARP requests from IFACE (its own MAC and SRC_IP) for
addresses of TARGET_PREFIX/24 as fast as possible (an endpoint flooding
its bouncers); prints the seconds it took."""
import socket
import struct
import sys
import time


def main():
    iface, src_ip, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    mac = s.getsockname()[4]
    spa = socket.inet_aton(src_ip)
    base = prefix.rsplit(".", 1)[0]
    t0 = time.monotonic()
    for i in range(count):
        tpa = socket.inet_aton("%s.%d" % (base, 2 + i % 250))
        frame = (b"\xff" * 6 + mac + struct.pack("!H", 0x0806) +
                 struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
                 mac + spa + b"\x00" * 6 + tpa)
        s.send(frame)
    print("%.3f" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
