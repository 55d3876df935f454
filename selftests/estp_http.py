#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Python's http.server and http.client, programs written for TCP, over a
stream socket of another protocol: the only change is the third argument of
socket.socket().

    estp_http.py PROTO CLIENT MIB

serves a directory holding a file of MIB MiB of random bytes with
http.server.SimpleHTTPRequestHandler on 127.0.0.1, fetches it with CLIENT
("http.client", or "raw": a socket speaking HTTP/1.0 by hand), and exits 0
when the SHA-256 of what arrived is the file's and both ends' sockets were
of PROTO (SO_PROTOCOL).  Prints what it saw on lines starting with "# ".
"""
import hashlib
import http.client
import http.server
import os
import socket
import sys
import tempfile
import threading

PROTO, CLIENT, MIB = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
seen = {}


class Server(http.server.ThreadingHTTPServer):
    """HTTPServer as it is, on a socket of PROTO."""

    def __init__(self, addr, handler):
        super().__init__(addr, handler, bind_and_activate=False)
        self.socket.close()
        self.socket = socket.socket(self.address_family, self.socket_type, PROTO)
        self.server_bind()
        self.server_activate()

    def get_request(self):
        conn, addr = super().get_request()
        seen["server"] = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
        return conn, addr


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Connection(http.client.HTTPConnection):
    """HTTPConnection as it is, on a socket of PROTO."""

    def connect(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))
        seen["client"] = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)


def fetch_http_client(port):
    c = Connection("127.0.0.1", port, timeout=60)
    c.request("GET", "/blob")
    r = c.getresponse()
    h = hashlib.sha256()
    n = 0
    while True:
        b = r.read(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    return r.status, n, h.hexdigest()


def fetch_raw(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
    s.settimeout(60)
    s.connect(("127.0.0.1", port))
    seen["client"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
    s.sendall(b"GET /blob HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(4096)
        if not b:
            break
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head else 0
    h = hashlib.sha256(body)
    n = len(body)
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    s.close()
    return status, n, h.hexdigest()


def main():
    with tempfile.TemporaryDirectory() as d:
        data = os.urandom(MIB << 20)
        with open(os.path.join(d, "blob"), "wb") as f:
            f.write(data)
        want = hashlib.sha256(data).hexdigest()
        os.chdir(d)
        srv = Server(("127.0.0.1", 0), Handler)
        port = srv.server_address[1]
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        try:
            fetch = fetch_raw if CLIENT == "raw" else fetch_http_client
            status, n, got = fetch(port)
        finally:
            srv.shutdown()
            srv.server_close()
    print("# proto %d, %s: HTTP %d, %d bytes, SHA-256 sent %s" % (PROTO, CLIENT, status, n, want))
    print("# SHA-256 received %s; SO_PROTOCOL server %s, client %s" %
          (got, seen.get("server"), seen.get("client")))
    ok = (status == 200 and n == MIB << 20 and got == want and
          seen.get("server") == PROTO and seen.get("client") == PROTO)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
