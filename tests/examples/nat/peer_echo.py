#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A server that tells each client where it came from: every TCP line or
UDP datagram is answered with "peer IP:PORT <what it sent>", so a test can
check the source address a NAT gave the connection and that replies get
back. Usage: peer_echo.py PORT (serves TCP and UDP on 0.0.0.0:PORT)."""
import selectors
import socket
import sys

port = int(sys.argv[1])
sel = selectors.DefaultSelector()
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", port))
tcp.listen(64)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", port))
sel.register(tcp, selectors.EVENT_READ, "tcp")
sel.register(udp, selectors.EVENT_READ, "udp")
peers = {}
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if key.data == "tcp":
            c, addr = s.accept()
            peers[c] = addr
            sel.register(c, selectors.EVENT_READ, "conn")
        elif key.data == "udp":
            data, addr = s.recvfrom(65535)
            s.sendto(b"peer %s:%d %s" % (addr[0].encode(), addr[1],
                                          data.strip()) + b"\n", addr)
        else:
            try:
                data = s.recv(65535)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                peers.pop(s, None)
                s.close()
                continue
            addr = peers[s]
            s.sendall(b"peer %s:%d %s" % (addr[0].encode(), addr[1],
                                           data.strip()) + b"\n")
