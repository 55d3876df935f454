#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An installed estp.ko autoloads on socket(AF_INET, SOCK_STREAM, 253), through
# its net-pf-2-proto-253-type-1 alias, as SCTP's module does.  The socket()
# case counts only if estp was gone from /proc/modules before it.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

# Preconditions, not results: without them the program is skipped (exit 4).
skip() { echo "1..0 # SKIP $1"; exit 4; }
[ -n "${ESTP_KO:-}" ] || skip "ESTP_KO is not set: run through scripts/vm-run"
command -v python3 >/dev/null || skip "no python3 to call socket() with"

estp_plan 2

tmp=$(mktemp -d)
rel=$(uname -r)
old_modprobe=$(cat /proc/sys/kernel/modprobe)
cleanup() {
	echo "$old_modprobe" >/proc/sys/kernel/modprobe
	if ! grep -q '^estp ' /proc/modules && ! insmod "$ESTP_KO"; then
		echo "# cannot load $ESTP_KO again: later tests will fail"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

loaded() { grep -q '^estp ' /proc/modules; }

modinfo -F alias "$ESTP_KO" | grep -qx 'net-pf-2-proto-253-type-1'
estp_result "module alias net-pf-2-proto-253-type-1" $?

# A modules tree of its own that holds estp.ko, and a modprobe that uses it.
rc=0
mkdir -p "$tmp/lib/modules/$rel/extra"
cp "$ESTP_KO" "$tmp/lib/modules/$rel/extra/"
# No built-in modules here: empty lists, so that what depmod prints matters.
touch "$tmp/lib/modules/$rel/"{modules.order,modules.builtin,modules.builtin.modinfo}
out=$(depmod -b "$tmp" "$rel" 2>&1)
drc=$?
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# depmod: /'
if [ $drc -ne 0 ]; then
	echo "# depmod failed (exit $drc)"
	rc=1
fi
printf '#!/bin/sh\nexec /usr/sbin/modprobe -d %s "$@"\n' "$tmp" >"$tmp/modprobe"
chmod +x "$tmp/modprobe"

[ $rc -ne 0 ] || estp_autoload_check "$tmp/modprobe" || rc=1
estp_result "socket() autoloads estp" $rc
estp_exit
