#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Send hand-made Mizar Geneve frames, as an attacker would (the
adversary_*.sh tests). Built byte by byte (docs/wire-format.md): Geneve
version 0, protocol 0x6558, VNI, Mizar options RTS and FLAGS (class
0x0111), around an inner Ethernet + IPv4 + UDP/ICMP frame.

  geneve_send.py udp DST [options]     the Geneve frame as the payload of
                                       an ordinary UDP datagram to DST:6081
                                       (a tenant, or any underlay machine)
  geneve_send.py raw SRC DST [options] a raw IPv4/UDP datagram whose source
                                       is SRC (spoofed) to DST:6081
"""
import argparse
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000,
                      ttl, proto, 0, socket.inet_aton(src),
                      socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def inner_frame(a):
    data = b"mizar-adversary" + bytes(16)
    if a.proto == "icmp":
        l4 = struct.pack("!BBHHH", 8, 0, 0, 0x4d5a, 1) + data
        l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
        ip = ipv4(a.inner_src, a.inner_dst, 1, l4)
    else:
        l4 = struct.pack("!HHHH", 40000, a.dport, 8 + len(data), 0) + data
        ip = ipv4(a.inner_src, a.inner_dst, 17, l4)
    return mac(a.inner_dmac) + mac(a.inner_smac) + b"\x08\x00" + ip


def geneve(a):
    opts = struct.pack("!HBB4s", 0x0111, 0x01, 1, socket.inet_aton(a.rts))
    opts += struct.pack("!HBBI", 0x0111, 0x02, 1, a.flags)
    hdr = struct.pack("!BBHI", len(opts) // 4, 0, 0x6558, a.vni << 8)
    return hdr + opts + inner_frame(a)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=["udp", "raw"])
    p.add_argument("addrs", nargs="+", help="DST (udp) or SRC DST (raw)")
    p.add_argument("--vni", type=int, required=True)
    p.add_argument("--rts", required=True, help="RTS option (underlay IP)")
    p.add_argument("--flags", type=int, default=0)
    p.add_argument("--inner-src", required=True)
    p.add_argument("--inner-dst", required=True)
    p.add_argument("--inner-smac", default="0e:00:00:00:00:66")
    p.add_argument("--inner-dmac", required=True)
    p.add_argument("--proto", choices=["icmp", "udp"], default="icmp")
    p.add_argument("--dport", type=int, default=9)
    p.add_argument("--count", type=int, default=3)
    a = p.parse_args()
    payload = geneve(a)
    if a.mode == "udp":
        if len(a.addrs) != 1:
            p.error("udp takes DST")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(a.count):
            s.sendto(payload, (a.addrs[0], 6081))
    else:
        if len(a.addrs) != 2:
            p.error("raw takes SRC DST")
        src, dst = a.addrs
        udp = struct.pack("!HHHH", 51000, 6081, 8 + len(payload), 0)
        pkt = ipv4(src, dst, 17, udp + payload)
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for _ in range(a.count):
            s.sendto(pkt, (dst, 0))
    print("sent %d frame(s) of %d bytes" % (a.count, len(payload)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
