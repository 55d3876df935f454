#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The sockets estp_ss_test.sh lists, for protocol PROTO (6 or 253).

  127.0.0.1:7001 LISTEN, with an established pair 127.0.0.1:7101 -> :7001
                 (the client sent 1000 bytes the server has not read)
  127.0.0.1:7002 LISTEN with TCP_DEFER_ACCEPT: 127.0.0.1:7102 connected and
                 sent nothing, so the server's side stays a request sock
                 (SYN-RECV) while the client's is ESTABLISHED: for 600 s,
                 the SYN-ACK's retransmissions that long (the bare ACKs they
                 draw are dropped until then)
  127.0.0.1:7103 -> :7003 closed by the client first: TIME-WAIT
Prints "ready" once all are there, then answers commands on stdin:
  reset   the pair's ends after estp-ss -K destroyed the client's: what
          recv() on each ends with ("client ECONNABORTED server ECONNRESET")
  quit    close everything and exit
"""
import errno
import socket
import sys

proto = int(sys.argv[1])


def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def listener(port, defer=0):
    s = sock()
    if defer:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, defer)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s


def client(port, to):
    s = sock()
    s.bind(("127.0.0.1", port))
    s.connect(("127.0.0.1", to))
    return s


def ends_with(s):
    """Read until recv() fails or sees the end: the errno name, or 'EOF'."""
    s.settimeout(10)
    try:
        while True:
            if not s.recv(65536):
                return "EOF"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


l1 = listener(7001)
c1 = client(7101, 7001)
a1, _ = l1.accept()
c1.sendall(b"x" * 1000)

l2 = listener(7002, defer=600)
c2 = client(7102, 7002)

l3 = listener(7003)
c3 = client(7103, 7003)
a3, _ = l3.accept()
c3.close()
a3.recv(1)          # the client's FIN
a3.close()          # the server's FIN: the client's side goes to TIME-WAIT

print("ready", flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "reset":
        print("client %s server %s" % (ends_with(c1), ends_with(a1)), flush=True)
    elif cmd == "quit":
        break
for s in (c1, a1, l1, c2, l2, l3):
    s.close()
