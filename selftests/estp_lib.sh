# SPDX-License-Identifier: GPL-2.0
# Helpers for the shell selftests: KTAP output in the harness's format.
# shellcheck shell=bash

ESTP_T_NUM=0
ESTP_T_FAIL=0

estp_plan() { echo "TAP version 13"; echo "1..$1"; }

# estp_result NAME RC: ok / not ok for the test NAME.
estp_result() {
	ESTP_T_NUM=$((ESTP_T_NUM + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $ESTP_T_NUM $1"
	else
		echo "not ok $ESTP_T_NUM $1"
		ESTP_T_FAIL=$((ESTP_T_FAIL + 1))
	fi
}

estp_exit() {
	[ "$ESTP_T_FAIL" -eq 0 ] && exit 0
	exit 1
}

# estp_python_netns SCRIPT ARGS...: a Python program's precondition and
# isolation: without python3 the program is skipped (a precondition, not a
# result); otherwise SCRIPT is run again in a netns of its own (unshare
# --net), whose sockets, counters and sysctls go with it however it ends.
estp_python_netns() {
	if ! command -v python3 >/dev/null; then
		echo "1..0 # SKIP no python3"
		exit 4
	fi
	if [ -z "${ESTP_OWN_NETNS:-}" ]; then
		ESTP_OWN_NETNS=1 exec unshare --net -- "$@"
		echo "1..0 # unshare --net failed"
		exit 1
	fi
}

# estp_insegs: ESTP's InSegs in this netns (/proc/net/estp_stat, nstat's
# two-line layout).
estp_insegs() {
	awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "InSegs") c = i } NR == 2 { print $c }' \
		/proc/net/estp_stat
}

# estp_autoload_check MODPROBE: unloads estp, points the kernel's modprobe
# at MODPROBE and calls socket(AF_INET, SOCK_STREAM, 253), which must load
# estp again (its net-pf-2-proto-253-type-1 alias).  0, or 1 with the reason
# as TAP comments.  The caller puts /proc/sys/kernel/modprobe back.
estp_autoload_check() {
	# estp must be gone before socket(), or the case proves nothing.
	if ! rmmod estp; then
		echo "# rmmod estp failed (in use?):"
		grep '^estp ' /proc/modules | sed 's/^/# /'
		return 1
	fi
	if grep -q '^estp ' /proc/modules; then
		echo "# estp is still in /proc/modules after rmmod"
		return 1
	fi
	echo "$1" >/proc/sys/kernel/modprobe
	if ! python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 253).close()'; then
		echo "# socket(AF_INET, SOCK_STREAM, 253) failed"
		return 1
	fi
	if ! grep -q '^estp ' /proc/modules; then
		echo "# socket() worked but estp is not in /proc/modules"
		return 1
	fi
}
