#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The tshark dissector (scripts/tshark/estp.lua) against real ESTP segments:
# in a netns of its own, tcpdump captures an ESTP transfer of known bytes
# on lo, over IPv4 and IPv6; tshark with the dissector must show the ports,
# the flags of the handshake and the close, the SYN's options, relative
# sequence numbers, good checksums, and, through estp-follow.lua, the bytes
# each side sent.  Then hand-made segments (a pcap written here): a bad
# checksum and a bad option length must be marked, a repeated data segment
# flagged as a retransmission, and another protocol number decoded through
# -o estp.proto:N and ESTP_IPPROTO=N; a partial checksum (CHECKSUM_PARTIAL
# caught before the device) is not bad.  ESTP_TSHARK_DIR overrides the
# dissector's directory (to show that a broken dissector fails the test).
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

# Preconditions, not results: without them the program is skipped (exit 4).
skip() { echo "1..0 # SKIP $1"; exit 4; }
command -v tshark >/dev/null || skip "no tshark (apt-get install tshark)"
command -v tcpdump >/dev/null || skip "no tcpdump (apt-get install tcpdump)"
command -v python3 >/dev/null || skip "no python3"
[ "$(id -u)" -eq 0 ] || skip "not root (tcpdump, unshare)"
if [ -z "${ESTP_OWN_NETNS:-}" ]; then
	ESTP_OWN_NETNS=1 exec unshare --net -- "$PWD/$(basename "$0")" "$@"
	echo "1..0 # unshare --net failed"
	exit 1
fi
if ! ip link set lo up; then
	echo "1..0 # cannot set up the netns (lo up)"
	exit 1
fi

dir=${ESTP_TSHARK_DIR:-$PWD/../scripts/tshark}
lua=$dir/estp.lua
follow=$dir/estp-follow.lua
tmp=$(mktemp -d)
tcpdump_pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$tcpdump_pid" ] && kill "$tcpdump_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# tshark's own files (profiles, recent) under $tmp: / is read-only in a guest.
export HOME=$tmp XDG_CONFIG_HOME=$tmp/.config

estp_plan 12
echo "# $(tshark --version 2>/dev/null | head -1)"

# The Python side: transfer, wait for the close in the capture, craft pcaps.
cat >"$tmp/helper.py" <<'EOF'
import socket, struct, sys, threading, time

ESTP = 253
C2S = b"hello estp\n" + bytes(range(256)) * 20 + b"bye\n"
S2C = b"ok: got it\n"

def transfer(fam, addr, cport, sport):
    af = socket.AF_INET6 if fam == "6" else socket.AF_INET
    ls = socket.socket(af, socket.SOCK_STREAM, ESTP)
    cport, sport = int(cport), int(sport)
    ls.bind((addr, sport))
    ls.listen(1)
    got = []
    def serve():
        c, _ = ls.accept()
        while True:
            b = c.recv(65536)
            if not b:
                break
            got.append(b)
        c.sendall(S2C)
        c.close()
    t = threading.Thread(target=serve)
    t.start()
    s = socket.socket(af, socket.SOCK_STREAM, ESTP)
    s.bind((addr, cport))
    s.connect((addr, sport))
    s.sendall(C2S[:11])
    s.sendall(C2S[11:])
    s.shutdown(socket.SHUT_WR)
    back = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        back += b
    s.close()
    t.join()
    ls.close()
    if b"".join(got) != C2S or back != S2C:
        sys.exit("the transfer lost bytes")

def packets(path):
    with open(path, "rb") as f:
        d = f.read()
    if len(d) < 24:
        return None
    off = 24
    while off + 16 <= len(d):
        incl = struct.unpack_from("<I", d, off + 8)[0]
        if off + 16 + incl > len(d):
            break
        yield d[off + 16:off + 16 + incl]
        off += 16 + incl

def closed(path, ports):
    # Both FINs and an ACK after the second, for each client port: the
    # capture holds the whole close (Ethernet frames of lo).
    for cport in ports:
        fins, last_ack = 0, False
        for p in packets(path) or []:
            et = struct.unpack_from("!H", p, 12)[0]
            if et == 0x0800:
                hl = (p[14] & 15) * 4
                seg = p[14 + hl:]
            elif et == 0x86DD:
                seg = p[54:]
            else:
                continue
            sp, dp = struct.unpack_from("!HH", seg)
            if cport not in (sp, dp):
                continue
            fl = seg[13]
            if fl & 1:
                fins += 1
            last_ack = fins == 2 and fl == 0x10
        if not last_ack:
            return False
    return True

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def seg(sp, dp, seq, ack, flags, win, opts=b"", data=b""):
    return struct.pack("!HHIIBBHHH", sp, dp, seq, ack, (5 + len(opts) // 4) << 4,
                       flags, win, 0, 0) + opts + data

def v4(s, proto=ESTP, bad=False, partial=False):
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    if s[0:2] == struct.pack("!H", 5000):
        src, dst = dst, src
    ph = src + dst + struct.pack("!BBH", 0, proto, len(s))
    c = csum(ph + s)
    if bad:
        c ^= 0x5A5A
    if partial:     # CHECKSUM_PARTIAL before the device: the pseudo-header's sum
        c = ~csum(ph) & 0xFFFF
    s = s[:16] + struct.pack("!H", c) + s[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(s), 1, 0x4000, 64, proto, 0, src, dst)
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + s

def craft(path, proto):
    syn_opts = bytes.fromhex("020405b4" "0402" "080a0000007b00000000" "01030307")
    ts = bytes.fromhex("0101080a0000007c0000007b")
    p = [
        v4(seg(40000, 5000, 1000, 0, 0x02, 65495, syn_opts), proto),          # 1 good SYN
        v4(seg(5000, 40000, 9000, 1001, 0x12, 65483, syn_opts), proto),       # 2 SYN-ACK
        v4(seg(40000, 5000, 1001, 9001, 0x10, 512, ts), proto),               # 3 ACK
        v4(seg(40000, 5000, 1001, 9001, 0x18, 512, ts, b"hello "), proto),    # 4 data
        v4(seg(40000, 5000, 1001, 9001, 0x18, 512, ts, b"hello "), proto),    # 5 again
        v4(seg(40000, 5000, 1007, 9001, 0x18, 512, ts, b"world"), proto),     # 6 data
        v4(seg(5000, 40000, 9001, 1012, 0x10, 512, ts), proto, bad=True),     # 7 bad csum
        v4(seg(40000, 5000, 1012, 9001, 0x10, 512,                            # 8 bad optlen
               bytes.fromhex("0101080b0000007c0000007b")), proto),
        v4(seg(40000, 5000, 1012, 9001, 0x18, 512, b"", b"!"), proto, partial=True),  # 9 partial
    ]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, b in enumerate(p):
            f.write(struct.pack("<IIII", 1000 + i, 0, len(b), len(b)) + b)

if sys.argv[1] == "transfer":
    transfer(*sys.argv[2:6])
elif sys.argv[1] == "closed":
    deadline = time.monotonic() + 10
    while not closed(sys.argv[2], [int(x) for x in sys.argv[3:]]):
        if time.monotonic() > deadline:
            sys.exit("the capture does not hold both closes")
        time.sleep(0.05)
elif sys.argv[1] == "hex":
    print((C2S if sys.argv[2] == "c2s" else S2C).hex())
elif sys.argv[1] == "craft":
    craft(sys.argv[2], int(sys.argv[3]))
EOF

# tshark FILE ARGS...: tshark with the dissector; its messages kept.
ts() {
	local f=$1
	shift
	tshark -r "$f" -X lua_script:"$lua" "$@" 2>>"$tmp/tshark.err"
}
# check NAME: the result of the case from $fail (the reasons collected).
fail=
bad() { fail="$fail$1; "; }
check() {
	[ -n "$fail" ] && echo "# $fail"
	[ -z "$fail" ]
	estp_result "$1" $?
	fail=
}

# 1: the capture.  tcpdump is ready when it said "listening on" (after
# pcap_activate() and the filter) and wrote the pcap header.
cap=$tmp/cap.pcap
tcpdump -i lo -U -Z root -w "$cap" 'ip proto 253 or ip6 proto 253' \
	2>"$tmp/tcpdump.err" &
tcpdump_pid=$!
for _ in $(seq 200); do
	grep -q 'listening on' "$tmp/tcpdump.err" && [ "$(stat -c %s "$cap" 2>/dev/null || echo 0)" -ge 24 ] && break
	kill -0 "$tcpdump_pid" 2>/dev/null || break
	sleep 0.05
done
grep -q 'listening on' "$tmp/tcpdump.err" || bad "tcpdump did not start: $(tr '\n' ' ' <"$tmp/tcpdump.err")"
if [ -z "$fail" ]; then
	python3 "$tmp/helper.py" transfer 4 127.0.0.1 40000 5000 || bad "IPv4 transfer failed"
	python3 "$tmp/helper.py" transfer 6 ::1 40001 5001 || bad "IPv6 transfer failed"
	python3 "$tmp/helper.py" closed "$cap" 40000 40001 || bad "closes not captured"
fi
kill -INT "$tcpdump_pid" 2>/dev/null
wait "$tcpdump_pid" 2>/dev/null
tcpdump_pid=
sed 's/^/# tcpdump: /' "$tmp/tcpdump.err" | grep -v 'listening on'
[ -r "$lua" ] || bad "no dissector at $lua"
: >"$tmp/real.txt"
: >"$tmp/follow.txt"
# One tshark run (each takes long under TCG): the fields of every packet,
# then estp-follow.lua's streams after the line of '='.
fx=()
[ -r "$follow" ] && fx=(-X lua_script:"$follow")
if [ -z "$fail" ]; then
	ESTP_FOLLOW=all ts "$cap" "${fx[@]}" -T fields -E separator='|' -e frame.number -e _ws.col.Protocol \
		-e estp.stream -e estp.srcport -e estp.dstport -e estp.flags \
		-e estp.seq -e estp.ack -e estp.len -e estp.checksum.status \
		-e estp.options.mss_val -e estp.options.wscale.shift \
		-e estp.options.sack_perm -e estp.options.timestamp.tsval \
		-e estp.options.timestamp.tsecr -e _ws.col.Info -e estp.checksum.partial >"$tmp/all.txt"
	sed '/^=====/,$d' "$tmp/all.txt" >"$tmp/real.txt"
	sed -n '/^=====/,$p' "$tmp/all.txt" >"$tmp/follow.txt"
	sed 's/^/# /' "$tmp/real.txt" | head -12
	[ -s "$tmp/real.txt" ] || bad "tshark printed nothing"
	n=$(wc -l <"$tmp/real.txt")
	echo "# $n segments captured"
	[ "$(cut -d'|' -f2 "$tmp/real.txt" | sort -u)" = ESTP ] || bad "not every packet decoded as ESTP"
fi
check "the transfers captured and every packet decoded as ESTP"

# Fields of stream S: field N (1-based, as above) of each of its lines.
col() { awk -F'|' -v s="$1" -v c="$2" '$3 == s { print $c }' "$tmp/real.txt"; }

for fam in 4 6; do
	s=$((fam == 4 ? 0 : 1))
	cport=$((fam == 4 ? 40000 : 40001))
	sport=$((fam == 4 ? 5000 : 5001))
	# 2/3: ports and flags
	[ "$(col $s 4 | head -1)" = $cport ] || bad "SYN's source port $(col $s 4 | head -1), not $cport"
	[ "$(col $s 5 | head -1)" = $sport ] || bad "SYN's destination port $(col $s 5 | head -1), not $sport"
	[ "$(col $s 4 | sort -u | tr '\n' ' ')" = "$cport $sport " ] || bad "stream $s holds other ports: $(col $s 4 | sort -u | tr '\n' ' ')"
	flags=$(col $s 6 | tr '\n' ' ')
	case $flags in
	"0x02 0x12 "*) ;;
	*) bad "handshake flags $flags" ;;
	esac
	# The handshake's ACK: the client's, seq 1 ack 1 (relative).  Not
	# necessarily third: two CPUs can put lo's packets in the capture
	# out of the order they were sent in.
	awk -F'|' -v s=$s -v p=$cport '$3 == s && $4 == p && $6 == "0x10" && $7 == 1 && $8 == 1 { f = 1 } END { exit !f }' \
		"$tmp/real.txt" || bad "no ACK Seq=1 Ack=1 from the client: $flags"
	# both FIN|ACK, the last segment an ACK, data pushed with PSH|ACK
	[ "$(col $s 6 | grep -c '^0x11$')" -eq 2 ] || bad "not two FIN|ACK: $flags"
	[ "$(col $s 6 | tail -1)" = 0x10 ] || bad "the last segment is not an ACK: $flags"
	col $s 6 | grep -q '^0x18$' || bad "no PSH|ACK: $flags"
	# relative sequence numbers: SYN 0, SYN-ACK 0 and acks 1
	[ "$(col $s 7 | head -2 | tr '\n' ' ')" = "0 0 " ] || bad "relative seqs $(col $s 7 | head -2 | tr '\n' ' ')"
	[ "$(col $s 8 | sed -n 2p)" = 1 ] || bad "SYN-ACK's relative ack $(col $s 8 | sed -n 2p)"
	check "IPv$fam: ports $cport/$sport, flags SYN, SYN|ACK, ACK 1/1 ... PSH|ACK ... FIN|ACK x2, ACK; relative seq/ack"

	# 4: the SYN's options (loopback: MSS 65495 for IPv4, 65476 for IPv6)
	mss=$((fam == 4 ? 65495 : 65476))
	syn=$(awk -F'|' -v s=$s '$3 == s' "$tmp/real.txt" | head -1)
	IFS='|' read -r _ _ _ _ _ _ _ _ _ _ o_mss o_ws o_sp o_tsv o_tse info <<<"$syn"
	[ "$o_mss" = $mss ] || bad "MSS '$o_mss', not $mss"
	if [ -z "$o_ws" ] || [ "$o_ws" -gt 14 ]; then bad "window scale '$o_ws'"; fi
	[ -n "$o_sp" ] || bad "no SACK_PERM"
	if [ -z "$o_tsv" ] || [ "$o_tse" != 0 ]; then bad "timestamps '$o_tsv' '$o_tse'"; fi
	case $info in
	"$cport → $sport [SYN] Seq=0 Win="*" Len=0 MSS=$mss SACK_PERM TSval=$o_tsv TSecr=0 WS="*) ;;
	*) bad "Info '$info'" ;;
	esac
	check "IPv$fam: SYN options MSS=$mss SACK_PERM TSval TSecr=0 WS=$((1 << ${o_ws:-0})), Info as TCP's"

	# 5: checksums.  The module may leave a sock's segments' checksum to
	# the device (CHECKSUM_PARTIAL): on lo the capture then holds the
	# pseudo-header's sum, which the dissector must recognise as partial
	# (status 2, estp.checksum.partial), never bad; segments of no sock
	# (the SYN-ACK) are summed in full and must verify.
	st=$(col $s 10 | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
	echo "# IPv$fam checksum status:count (1 good, 2 partial): $st"
	[ "$(col $s 10 | grep -c '^0$')" -eq 0 ] || bad "checksums marked bad: $st"
	col $s 10 | grep -q '^1$' || bad "no checksum verified good: $st"
	np=$(awk -F'|' -v s=$s '$3 == s && $10 == 2 && $17 != 1' "$tmp/real.txt" | wc -l)
	[ "$np" -eq 0 ] || bad "$np unverified checksums not recognised as partial"
	check "IPv$fam: no checksum bad; full ones verify, partial (offload) ones recognised"
done

# 8: the payload, through estp-follow.lua, both directions of both streams.
[ -r "$follow" ] || bad "no $follow"
c2s=$(python3 "$tmp/helper.py" hex c2s)
s2c=$(python3 "$tmp/helper.py" hex s2c)
for s in 0 1; do
	got=$(awk -v s="$s" '/^Filter:/ { on = ($4 == s) } on && /^Node 0 -> Node 1/ { getline; print }' "$tmp/follow.txt")
	[ "$got" = "$c2s" ] || bad "stream $s client->server: ${#got} hex digits, not the ${#c2s} sent"
	got=$(awk -v s="$s" '/^Filter:/ { on = ($4 == s) } on && /^Node 1 -> Node 0/ { getline; print }' "$tmp/follow.txt")
	[ "$got" = "$s2c" ] || bad "stream $s server->client: '$got', not '$s2c'"
done
[ -n "$fail" ] && sed 's/^/# /' "$tmp/follow.txt" | cut -c1-100 | head -20
check "follow: each direction's payload equals the bytes sent (IPv4 and IPv6)"

# 9-12: hand-made segments
python3 "$tmp/helper.py" craft "$tmp/craft.pcap" 253
python3 "$tmp/helper.py" craft "$tmp/craft200.pcap" 200
ts "$tmp/craft.pcap" "${fx[@]}" -T fields -E separator='|' -e frame.number \
	-e estp.checksum.status -e estp.analysis.retransmission \
	-e _ws.expert.message -e _ws.col.Info -e estp.checksum.partial >"$tmp/call.txt"
sed '/^=====/,$d' "$tmp/call.txt" >"$tmp/craft.txt"
sed 's/^/# /' "$tmp/craft.txt"
cst=$(cut -d'|' -f2 "$tmp/craft.txt" | tr '\n' ' ')
[ "$cst" = "1 1 1 1 1 1 0 1 2 " ] || bad "checksum status '$cst' (frame 7 alone is bad, 9 partial)"
grep -q '^7|.*Bad checksum' "$tmp/craft.txt" || bad "no Bad checksum expert info on frame 7"
grep -q 'Bad checksum' <(grep -v '^7|' "$tmp/craft.txt") && bad "Bad checksum on a good frame"
grep -q '^9|.*|1$' "$tmp/craft.txt" || bad "frame 9's partial checksum not recognised"
check "a corrupted checksum is marked bad (estp.checksum.status 0, expert info), a partial one not"

ol=$(grep 'Option length' "$tmp/craft.txt" | cut -d'|' -f1 | tr '\n' ' ')
[ "$ol" = "8 " ] || bad "bad option length flagged on frames '$ol', not 8"
check "a bad option length is flagged (expert info estp.option.len.invalid)"

rt=$(awk -F'|' '$3 != "" { print $1 }' "$tmp/craft.txt" | tr '\n' ' ')
[ "$rt" = "5 " ] || bad "retransmissions on frames '$rt', not 5"
grep -q '^5|.*\[ESTP Retransmission\]' "$tmp/craft.txt" || bad "no [ESTP Retransmission] in frame 5's Info"
got=$(awk '/^Node 0 -> Node 1/ { getline; print }' "$tmp/call.txt")
[ "$got" = "68656c6c6f20776f726c6421" ] || bad "follow of the crafted stream: '$got' (hello world!, the repeat once)"
check "a repeated data segment is a retransmission, and follow takes it once"

p1=$(ts "$tmp/craft200.pcap" -o estp.proto:200 -T fields -e estp.checksum.status | tr '\n' ' ')
p2=$(ESTP_IPPROTO=200 ts "$tmp/craft200.pcap" -T fields -e estp.checksum.status | tr '\n' ' ')
[ "$p1" = "1 1 1 1 1 1 0 1 2 " ] || bad "-o estp.proto:200: '$p1'"
[ "$p2" = "1 1 1 1 1 1 0 1 2 " ] || bad "ESTP_IPPROTO=200: '$p2'"
check "another protocol number: -o estp.proto:200 and ESTP_IPPROTO=200"

if grep -v -e 'Running as user' -e '^$' "$tmp/tshark.err" | grep -q .; then
	echo "# tshark's messages:"
	grep -v -e 'Running as user' -e '^$' "$tmp/tshark.err" | sort -u | head -20 | sed 's/^/#   /'
fi
estp_exit
