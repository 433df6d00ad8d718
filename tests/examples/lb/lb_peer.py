#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Peers of the mizar-lb end-to-end test.

  serve NAME PORT tcp|udp    answer every line (TCP) or datagram (UDP) with
                             "NAME CLIENT_IP LINE"
  conns VIP PORT N           N short TCP connections to VIP:PORT, one
                             exchange each; JSON {"ok", "fail", "by": {NAME: n},
                             "peer_ok", "client_seen": [...]} on stdout
  udp VIP PORT N             the same with N UDP flows (one socket each,
                             connect()ed: only datagrams from VIP:PORT count)
  hold VIP PORT N DIR        N TCP connections held open: one exchange, then
                             DIR/ready; waits for DIR/go; a second exchange on
                             each; JSON {"first": [...], "second": [...]}

A connected socket only accepts replies from the address it connected to,
so every successful exchange proves the reply came from the VIP.
"""
import json
import os
import socket
import sys
import threading
import time


def serve(name, port, proto):
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        while True:
            data, addr = s.recvfrom(2048)
            s.sendto(f"{name} {addr[0]} {data.decode(errors='replace').strip()}\n"
                     .encode(), addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(128)

    def handle(c, addr):
        with c, c.makefile("rwb", buffering=0) as f:
            for line in f:
                f.write(f"{name} {addr[0]} {line.decode().strip()}\n".encode())

    while True:
        c, addr = s.accept()
        threading.Thread(target=handle, args=(c, addr), daemon=True).start()


def exchange(sock, msg):
    sock.sendall((msg + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1024)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf.decode().split()


def conns(vip, port, n):
    res = {"ok": 0, "fail": 0, "by": {}, "peer_ok": 0, "client_seen": [],
           "errors": []}
    for i in range(n):
        try:
            with socket.create_connection((vip, port), timeout=2) as s:
                if s.getpeername() == (vip, port):
                    res["peer_ok"] += 1
                name, client, _ = exchange(s, f"c{i}")
                res["ok"] += 1
                res["by"][name] = res["by"].get(name, 0) + 1
                if client not in res["client_seen"]:
                    res["client_seen"].append(client)
        except (OSError, ValueError) as e:
            res["fail"] += 1
            if len(res["errors"]) < 3:
                res["errors"].append(str(e))
    print(json.dumps(res))


def udp(vip, port, n):
    res = {"ok": 0, "fail": 0, "by": {}, "client_seen": []}
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1)
        s.connect((vip, port))
        got = None
        for _ in range(3):
            try:
                s.send(f"u{i}".encode())
                got = s.recv(2048).decode().split()
                break
            except OSError:
                continue
        s.close()
        if got:
            res["ok"] += 1
            res["by"][got[0]] = res["by"].get(got[0], 0) + 1
            if got[1] not in res["client_seen"]:
                res["client_seen"].append(got[1])
        else:
            res["fail"] += 1
    print(json.dumps(res))


def hold(vip, port, n, d):
    socks, first, second = [], [], []
    for i in range(n):
        try:
            s = socket.create_connection((vip, port), timeout=2)
            first.append(exchange(s, f"h{i}")[0])
            socks.append(s)
        except OSError:
            first.append(None)
            socks.append(None)
    open(os.path.join(d, "ready"), "w").close()
    for _ in range(300):
        if os.path.exists(os.path.join(d, "go")):
            break
        time.sleep(0.1)
    for i, s in enumerate(socks):
        try:
            second.append(exchange(s, f"h{i}")[0] if s else None)
        except OSError:
            second.append(None)
    print(json.dumps({"first": first, "second": second}))


def main():
    a = sys.argv[1:]
    if a[:1] == ["serve"]:
        serve(a[1], int(a[2]), a[3])
    elif a[:1] == ["conns"]:
        conns(a[1], int(a[2]), int(a[3]))
    elif a[:1] == ["udp"]:
        udp(a[1], int(a[2]), int(a[3]))
    elif a[:1] == ["hold"]:
        hold(a[1], int(a[2]), int(a[3]), a[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
