#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Server and clients of tests/e2e/scaled_ep.sh.

serve ID PORT: answer each connection with "ID\\n", then one 64 KiB chunk
of a known pattern per request byte, 16 chunks (1 MiB) in all, then close.
Every chunk needs a request from the client: a connection whose client
packets go to another host breaks at the next chunk.

client DIR TAG PORT0 N DST PORT: N concurrent connections from source
ports PORT0.. (fixed, so the flows and the hosts they meet are the same
on every run). Each reads its server's ID and half the data, writes
DIR/half.TAG.SPORT (the ID), waits for DIR/go, reads the rest, checks it
and writes DIR/done.TAG.SPORT: "ID ok" or "ID fail REASON".
"""
import hashlib
import os
import socket
import sys
import threading
import time

CHUNK = 64 * 1024
CHUNKS = 16


def chunk(i):
    return bytes([(i * 7 + j) & 0xFF for j in range(256)]) * (CHUNK // 256)


EXPECT = hashlib.sha256(b"".join(chunk(i) for i in range(CHUNKS))).hexdigest()


def serve(ident, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(128)

    def one(c):
        try:
            c.sendall(ident.encode() + b"\n")
            for i in range(CHUNKS):
                if not c.recv(1):
                    return
                c.sendall(chunk(i))
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise OSError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += b
    return bytes(buf)


def client(d, tag, port0, n, dst, dport):
    def one(sport):
        ident = "?"
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.settimeout(20)
            s.bind(("0.0.0.0", sport))
            s.connect((dst, dport))
            line = b""
            while not line.endswith(b"\n"):
                line += recv_exact(s, 1)
            ident = line.decode().strip()
            h = hashlib.sha256()
            for i in range(CHUNKS):
                if i == CHUNKS // 2:
                    with open("%s/half.%s.%d" % (d, tag, sport), "w") as f:
                        f.write(ident + "\n")
                    while not os.path.exists(d + "/go"):
                        time.sleep(0.05)
                s.sendall(b"n")
                h.update(recv_exact(s, CHUNK))
            s.close()
            res = "ok" if h.hexdigest() == EXPECT else "fail corrupt"
        except OSError as e:
            res = "fail " + (str(e) or type(e).__name__).replace(" ", "_")
        with open("%s/done.%s.%d" % (d, tag, sport), "w") as f:
            f.write("%s %s\n" % (ident, res))

    ts = [threading.Thread(target=one, args=(port0 + i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
               sys.argv[6], int(sys.argv[7]))
