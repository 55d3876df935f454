#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# estp.ko on a kernel booted with ipv6.disable=1 (make check boots each
# kernel once more for it: scripts/check): it loads, serves IPv4, and has
# no IPv6 family, exactly as TCP has none there.  socket(AF_INET6, ...,
# 253) fails with TCP's errno, /proc/net/estp6 is absent as tcp6 is, and
# /proc/net/protocols lists no ESTPv6 as it lists no TCPv6 (estp_v6_init()
# registers nothing); then the module unloads.  It is not in the normal
# list of programs: with IPv6 enabled its first case fails.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

estp_python_netns "$PWD/$(basename "$0")" "$@"
if ! ip link set lo up; then
	echo "1..0 # cannot set lo up in the netns"
	exit 1
fi

estp_plan 7

disabled=$(cat /sys/module/ipv6/parameters/disable 2>/dev/null)
echo "# /sys/module/ipv6/parameters/disable: ${disabled:-absent}"
[ "$disabled" = 1 ]
estp_result "the kernel runs with ipv6.disable=1" $?

grep -q '^estp ' /proc/modules
estp_result "estp.ko is loaded" $?

python3 - <<'PY'
import socket
def recv_n(s, n):
    got = b""
    while len(got) < n:
        b = s.recv(65536)
        if not b:
            break
        got += b
    return got
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 253)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 253)
cli.settimeout(30)
cli.connect(srv.getsockname())
acc, _ = srv.accept()
acc.settimeout(30)
data = bytes(range(256)) * 64
cli.sendall(data)
got = recv_n(acc, len(data))
acc.sendall(got[::-1])
back = recv_n(cli, len(data))
print(f"# {len(got)} bytes one way, {len(back)} back")
assert got == data and back == data[::-1], "the data differ"
PY
estp_result "an IPv4 ESTP connection carries data both ways" $?

python3 - <<'PY'
import socket
def err(proto):
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM, proto).close()
    except OSError as e:
        return e.errno
    return 0
tcp, estp = err(socket.IPPROTO_TCP), err(253)
print(f"# socket(AF_INET6, SOCK_STREAM, tcp): errno {tcp}, estp: errno {estp}")
assert tcp != 0, "TCP's IPv6 socket was created: is IPv6 disabled?"
assert estp == tcp
PY
estp_result "socket(AF_INET6, SOCK_STREAM, 253) fails with TCP's errno" $?

rc=0
for f in estp tcp; do
	[ -e "/proc/net/$f" ] || { echo "# /proc/net/$f is missing"; rc=1; }
done
for f in estp6 tcp6; do
	[ ! -e "/proc/net/$f" ] || { echo "# /proc/net/$f exists"; rc=1; }
done
estp_result "/proc/net/estp6 is absent as /proc/net/tcp6 is" $rc

# proto_register() lists a proto here: estpv6_prot, had it been registered.
protos=$(awk 'NR > 1 {print $1}' /proc/net/protocols | tr '\n' ' ')
echo "# /proc/net/protocols: $protos"
rc=0
for p in ESTP TCP; do
	grep -qw "$p" <<<"$protos" || { echo "# no $p in /proc/net/protocols"; rc=1; }
done
for p in ESTPv6 TCPv6; do
	! grep -qw "$p" <<<"$protos" || { echo "# $p in /proc/net/protocols"; rc=1; }
done
estp_result "no ESTPv6 in /proc/net/protocols, as no TCPv6" $rc

rc=0
if ! rmmod estp; then
	rc=1
elif grep -q '^estp ' /proc/modules; then
	echo "# estp is still in /proc/modules after rmmod"
	rc=1
elif grep -qw ESTP /proc/net/protocols; then
	echo "# ESTP is still in /proc/net/protocols after rmmod"
	rc=1
fi
estp_result "the module unloads" $rc
estp_exit
