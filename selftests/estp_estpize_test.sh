#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# estpize runs real, unmodified TCP programs over ESTP (scripts/estpize):
# curl against python3's http.server and against nginx, iperf3 client and
# server, ssh to an sshd, redis-cli and redis-benchmark against
# redis-server, all under "estpize run" (LD_PRELOAD), and busybox's static
# httpd and wget under "estpize --bpf run" (an fmod_ret program on
# update_socket_protocol(), Linux 6.6+).  Each case: the data's SHA-256
# right at the other end, the server listening in /proc/net/estp (never
# TCP's), ESTP's InSegs (/proc/net/estp_stat) grown by the transfer and
# TCP's (/proc/net/snmp) not at all.  ESTPIZE_STRICT=1: no fallback to TCP.
# Plus "estpize enable/disable" writing and removing a systemd drop-in
# (ESTPIZE_SYSTEMD_DIR).  A program not installed is a SKIP, not a pass.
# It runs in a netns of its own (unshare --net).  Build first on the host:
# make -C scripts/estpize.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

ESTPIZE=${ESTPIZE:-$PWD/../scripts/estpize/estpize}
if [ ! -r "$(dirname "$ESTPIZE")/libestpize.so" ] && [ -z "${ESTPIZE_LIB:-}" ]; then
	echo "1..0 # scripts/estpize/libestpize.so is not built (make -C scripts/estpize)"
	exit 1
fi
estp_python_netns "$PWD/$(basename "$0")" "$@"
if ! ip link set lo up || ! echo 1 >/proc/sys/net/estp/tw_timeout; then
	echo "1..0 # cannot set up the netns (lo up, net.estp.tw_timeout 1)"
	exit 1
fi
estp_plan 9
START=$SECONDS
export ESTPIZE_STRICT=1

W=$(mktemp -d /tmp/estpize.XXXXXX) || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/www"
head -c 4194304 /dev/urandom >"$W/www/blob"
SUM=$(sha256sum <"$W/www/blob" | cut -d' ' -f1)
head -c 1048576 "$W/www/blob" >"$W/small"
SUM1=$(sha256sum <"$W/small" | cut -d' ' -f1)

# estp_skip NAME REASON: a case that could not run (never a pass).
estp_skip() {
	ESTP_T_NUM=$((ESTP_T_NUM + 1))
	echo "ok $ESTP_T_NUM $1 # SKIP $2"
}

tcp_insegs() {
	awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InSegs") c = i } else print $c }' \
		/proc/net/snmp
}

# listening PROCFILE PORT: a listener on PORT in /proc/net/{estp,tcp}.
listening() {
	grep -Eq "^ *[0-9]+: [0-9A-F]+:$(printf '%04X' "$2") [0-9A-F]+:0000 0A " "$1" 2>/dev/null
}

# wait_listen PORT PID: until an ESTP listener is on PORT (30 s at most,
# the server PID alive); a TCP listener there instead fails at once.
wait_listen() {
	local i
	for i in $(seq 300); do
		listening /proc/net/estp "$1" && return 0
		if listening /proc/net/tcp "$1"; then
			echo "# port $1 listens on TCP, not ESTP"
			return 1
		fi
		kill -0 "$2" 2>/dev/null || { echo "# the server for port $1 died"; return 1; }
		sleep 0.1
	done
	echo "# nothing listens on ESTP port $1 after 30 s"
	return 1
}

# begin; ...; check NAME MIN_ESTP_SEGS RC: ESTP's InSegs grew by MIN at
# least, TCP's not at all, and the case's own RC.
begin() {
	B0=$SECONDS
	E0=$(estp_insegs)
	T0=$(tcp_insegs)
}

check() {
	local e1 t1 rc=$3

	e1=$(estp_insegs)
	t1=$(tcp_insegs)
	echo "# ESTP InSegs $E0 -> $e1, TCP InSegs $T0 -> $t1 ($((SECONDS - B0)) s)"
	if ! [ "${e1:-0}" -ge $((${E0:-0} + $2)) ]; then
		echo "# fewer than $2 ESTP segments: not over ESTP"
		rc=1
	fi
	if [ "$t1" != "$T0" ]; then
		echo "# TCP segments were received: not (only) over ESTP"
		rc=1
	fi
	estp_result "$1" "$rc"
}

stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

py=$(command -v /usr/bin/python3 python3 | head -1)

# fetch_blob PORT PID: once the server PID listens on PORT (ESTP), curl
# under estpize fetches /blob; rc 0 if its SHA-256 is the file's.  Then the
# server is stopped.
fetch_blob() {
	local got
	PIDS+=("$2")
	rc=1
	if wait_listen "$1" "$2"; then
		got=$("$ESTPIZE" run curl -sSf "http://127.0.0.1:$1/blob" | sha256sum | cut -d' ' -f1)
		echo "# sent $SUM, received $got"
		[ "$got" = "$SUM" ] && rc=0
	fi
	stop "$2"
}

# 1. python3 -m http.server and curl.
name="curl and python3 http.server: 4 MiB, SHA-256 matches, over ESTP"
if ! command -v curl >/dev/null; then
	estp_skip "$name" "no curl"
else
	begin
	"$ESTPIZE" run "$py" -m http.server --bind 127.0.0.1 -d "$W/www" 18001 \
		>"$W/http.log" 2>&1 &
	fetch_blob 18001 $!
	check "$name" 64 $rc
fi

# 2. nginx (own config, daemon off, sendfile on) and curl.
name="curl and nginx: 4 MiB, SHA-256 matches, over ESTP"
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
	estp_skip "$name" "no nginx"
elif ! command -v curl >/dev/null; then
	estp_skip "$name" "no curl"
else
	mkdir -p "$W/nginx"
	cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	sendfile on;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	server {
		listen 127.0.0.1:18002;
		root $W/www;
	}
}
EOF
	begin
	"$ESTPIZE" run /usr/sbin/nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" \
		-e "$W/nginx/error.log" >"$W/nginx/out.log" 2>&1 &
	fetch_blob 18002 $!
	[ $rc -eq 0 ] || sed 's/^/# nginx: /' "$W/nginx/error.log" "$W/nginx/out.log" 2>/dev/null | tail -5
	check "$name" 64 $rc
fi

# 3. iperf3 server and client, 4 MiB.
name="iperf3 client and server: 4 MiB sent, both exit 0, over ESTP"
if ! command -v iperf3 >/dev/null; then
	estp_skip "$name" "no iperf3"
else
	begin
	"$ESTPIZE" run iperf3 -s -1 -B 127.0.0.1 -p 18003 >"$W/iperf3s.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	rc=1
	if wait_listen 18003 "$pid"; then
		"$ESTPIZE" run iperf3 -c 127.0.0.1 -p 18003 -n 4M -J >"$W/iperf3.json" 2>&1
		rc=$?
		# iperf3's server stops counting when the client says the test
		# ended, before it has read everything (TCP shows it too: 4194304
		# sent, 3929088 counted on the host): all 4 MiB must be sent,
		# both ends exit 0; the count is only shown
		set -- $("$py" -c 'import json, sys; e = json.load(open(sys.argv[1]))["end"]; print(e["sum_sent"]["bytes"], e["sum_received"]["bytes"])' \
			"$W/iperf3.json" 2>/dev/null)
		echo "# iperf3 rc $rc, sent ${1:-?} bytes, the server counted ${2:-?}"
		[ "${1:-0}" -ge 4194304 ] && [ "${2:-0}" -gt 0 ] || rc=1
		[ $rc -eq 0 ] || sed 's/^/# iperf3: /' "$W/iperf3.json" | tail -5
		wait "$pid" 2>/dev/null || rc=1
	else
		stop "$pid"	# a one-off server no client reached
	fi
	check "$name" 64 $rc
fi

# 4. ssh to sshd (key authentication for root, host key in /tmp).
name="ssh to sshd: 1 MiB through sha256sum, SHA-256 matches, over ESTP"
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
	estp_skip "$name" "no openssh-server or openssh-client"
else
	mkdir -p "$W/ssh" && chmod 700 "$W/ssh"
	mkdir -p -m 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host" &&
		ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/id" &&
		cp "$W/ssh/id.pub" "$W/ssh/authorized_keys"
	cat >"$W/ssh/sshd_config" <<EOF
HostKey $W/ssh/host
AuthorizedKeysFile $W/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $W/ssh/sshd.pid
ListenAddress 127.0.0.1
EOF
	begin
	"$ESTPIZE" run /usr/sbin/sshd -D -e -f "$W/ssh/sshd_config" -p 18004 >"$W/ssh/log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	rc=1
	if wait_listen 18004 "$pid"; then
		got=$("$ESTPIZE" run ssh -i "$W/ssh/id" -o StrictHostKeyChecking=no \
			-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
			-p 18004 root@127.0.0.1 sha256sum <"$W/small" 2>"$W/ssh/client.log" |
			tail -1 | cut -d' ' -f1)
		echo "# sent $SUM1, sshd's sha256sum says $got"
		[ "$got" = "$SUM1" ] && rc=0
	fi
	stop "$pid"
	[ $rc -eq 0 ] || sed 's/^/# ssh: /' "$W/ssh/log" "$W/ssh/client.log" | tail -8
	check "$name" 16 $rc
fi

# 5. redis-server: redis-cli SET and GET of 48 KiB, redis-benchmark.
name="redis-cli and redis-benchmark against redis-server: value matches, over ESTP"
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	estp_skip "$name" "no redis-server or redis-tools"
else
	mkdir -p "$W/redis"
	head -c 49152 /dev/urandom | base64 -w0 >"$W/redis/val"
	begin
	"$ESTPIZE" run redis-server --port 18005 --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$W/redis" --protected-mode no \
		--daemonize no --logfile "$W/redis/log" &
	pid=$!
	PIDS+=("$pid")
	rc=1
	if wait_listen 18005 "$pid"; then
		"$ESTPIZE" run redis-cli -p 18005 -x SET k <"$W/redis/val" >/dev/null &&
			"$ESTPIZE" run redis-cli -p 18005 --raw GET k | head -c -1 >"$W/redis/got"
		if cmp -s "$W/redis/val" "$W/redis/got"; then
			rc=0
		else
			echo "# GET returned other bytes than SET stored"
		fi
		if command -v redis-benchmark >/dev/null; then
			"$ESTPIZE" run redis-benchmark -p 18005 -n 200 -c 4 -q -t set,get \
				>"$W/redis/bench" 2>&1 || rc=1
			tr '\r' '\n' <"$W/redis/bench" | grep 'requests per second' | sed 's/^/# /'
		fi
	fi
	stop "$pid"
	check "$name" 100 $rc
fi

# 6. The library's choices: SO_PROTOCOL says 253 (6 with
# ESTPIZE_SO_PROTOCOL_TCP=1); a protocol not there (ESTP_PROTO=254) is a
# failed socket() with ESTPIZE_STRICT=1, else TCP and a warning; UDP and
# an explicit protocol untouched.  (Perl: it starts faster than python3.)
B0=$SECONDS
probe='use Socket;
sub p {
	my ($f, $t, $n) = @_;
	socket(my $s, $f, $t, $n) or return "errno" . ($! + 0);
	return unpack("i", getsockopt($s, SOL_SOCKET, 38));	# SO_PROTOCOL
}
print join(" ", p(AF_INET, SOCK_STREAM, 0), p(AF_INET6, SOCK_STREAM | 2048, 6),
	p(AF_INET, SOCK_DGRAM, 0), p(AF_INET, SOCK_STREAM, 253)), "\n";'
a=$("$ESTPIZE" run perl -e "$probe" 2>&1)
b=$(ESTPIZE_SO_PROTOCOL_TCP=1 "$ESTPIZE" run perl -e "$probe" 2>&1)
c=$(ESTP_PROTO=254 "$ESTPIZE" run perl -e "$probe" 2>&1)
d=$(ESTP_PROTO=254 ESTPIZE_STRICT=0 "$ESTPIZE" run perl -e "$probe" 2>&1 | tr '\n' ' ')
echo "# SO_PROTOCOL: '$a'; ESTPIZE_SO_PROTOCOL_TCP=1: '$b'; ESTP_PROTO=254: '$c'; not strict: '$d'"
[ "$a" = "253 253 17 253" ] && [ "$b" = "6 6 17 6" ] &&
	[ "$c" = "errno93 errno93 17 253" ] &&
	[ "$d" = "estpize: protocol 254 not available (Protocol not supported), using TCP 6 6 17 253 " ]
rc=$?
echo "# $((SECONDS - B0)) s"
estp_result "libestpize: SO_PROTOCOL, ESTPIZE_SO_PROTOCOL_TCP, ESTPIZE_STRICT and the TCP fallback" $rc

# 7. estpize enable/disable: the systemd drop-in written and removed.
B0=$SECONDS
sd="$W/systemd"
export ESTPIZE_SYSTEMD_DIR=$sd
"$ESTPIZE" enable foo >"$W/sd.log" 2>&1 &&
	grep -qx "Environment=LD_PRELOAD=.*/libestpize.so" "$sd/foo.service.d/estpize.conf" 2>/dev/null &&
	grep -qx '\[Service\]' "$sd/foo.service.d/estpize.conf" &&
	"$ESTPIZE" disable foo >>"$W/sd.log" 2>&1 &&
	[ ! -e "$sd/foo.service.d" ] &&
	! "$ESTPIZE" disable foo >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$W/sd.log"
echo "# $((SECONDS - B0)) s"
estp_result "estpize enable/disable write and remove UNIT.d/estpize.conf" $rc

# 8-9. --bpf: busybox's static httpd and wget, no LD_PRELOAD possible.
bpf_why=""
if ! command -v busybox >/dev/null || ! file -L "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked'; then
	bpf_why="no static busybox (busybox-static)"
elif ! why=$("$ESTPIZE" --bpf check 2>&1); then
	bpf_why="estpize --bpf unavailable here: $why"
else
	[ -e /sys/fs/cgroup/cgroup.procs ] || mount -t cgroup2 none /sys/fs/cgroup
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
fi
BB=$(command -v busybox)

name="estpize --bpf run: static busybox httpd and wget, 4 MiB, SHA-256 matches, over ESTP"
if [ -n "$bpf_why" ]; then
	estp_skip "$name" "$bpf_why"
else
	begin
	"$ESTPIZE" --bpf run "$BB" httpd -f -p 127.0.0.1:18006 -h "$W/www" >"$W/bb.log" 2>&1 &
	lpid=$!
	PIDS+=("$lpid")
	rc=1
	if wait_listen 18006 "$lpid"; then
		got=$("$ESTPIZE" --bpf run "$BB" wget -q -O - http://127.0.0.1:18006/blob | sha256sum | cut -d' ' -f1)
		echo "# sent $SUM, received $got"
		[ "$got" = "$SUM" ] && rc=0
	fi
	# the loader waits for its child, busybox httpd: end that
	for c in $(cat "/proc/$lpid/task/$lpid/children" 2>/dev/null); do
		kill "$c"
	done
	wait "$lpid" 2>/dev/null
	[ $rc -eq 0 ] || sed 's/^/# /' "$W/bb.log" | tail -5
	check "$name" 64 $rc
fi

name="estpize --bpf cgroup: static busybox httpd and wget in that cgroup over ESTP, outside it TCP"
if [ -n "$bpf_why" ]; then
	estp_skip "$name" "$bpf_why"
else
	cg=/sys/fs/cgroup/estpize-test.$$
	mkdir "$cg"
	begin
	rc=1
	if "$ESTPIZE" --bpf cgroup "$cg" | sed 's/^/# /'; then
		sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" httpd -f -p 127.0.0.1:18007 -h "$3"' sh \
			"$cg" "$BB" "$W/www" >"$W/bb7.log" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		if wait_listen 18007 "$pid"; then
			got=$(sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" wget -q -O - "$3"' sh \
				"$cg" "$BB" http://127.0.0.1:18007/blob | sha256sum | cut -d' ' -f1)
			echo "# sent $SUM, received $got"
			[ "$got" = "$SUM" ] && rc=0
			# outside the cgroup: TCP, refused (nothing listens on TCP)
			if "$BB" wget -q -O /dev/null http://127.0.0.1:18007/blob 2>/dev/null; then
				echo "# wget outside the cgroup reached the ESTP server"
				rc=1
			fi
			T0=$(tcp_insegs)	# that refused TCP attempt's RST is TCP's
		fi
		stop "$pid"
		"$ESTPIZE" --bpf uncgroup "$cg" || rc=1
	fi
	rmdir "$cg" 2>/dev/null
	check "$name" 64 $rc
fi
echo "# $((SECONDS - START)) s"
estp_exit
