#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An installed estp.ko autoloads on socket(AF_INET, SOCK_STREAM, 253), through
# its net-pf-2-proto-253-type-1 alias, as SCTP's module does.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

estp_plan 2
[ -n "${ESTP_KO:-}" ] || { echo "# ESTP_KO is not set: run through scripts/vm-run"; exit 4; }

tmp=$(mktemp -d)
rel=$(uname -r)
old_modprobe=$(cat /proc/sys/kernel/modprobe)
cleanup() {
	echo "$old_modprobe" >/proc/sys/kernel/modprobe
	grep -q '^estp ' /proc/modules || insmod "$ESTP_KO"
	rm -rf "$tmp"
}
trap cleanup EXIT

# A modules tree of its own that holds estp.ko, and a modprobe that uses it.
mkdir -p "$tmp/lib/modules/$rel/extra"
cp "$ESTP_KO" "$tmp/lib/modules/$rel/extra/"
depmod -b "$tmp" "$rel" 2>/dev/null
printf '#!/bin/sh\nexec /usr/sbin/modprobe -d %s "$@"\n' "$tmp" >"$tmp/modprobe"
chmod +x "$tmp/modprobe"

modinfo -F alias "$ESTP_KO" | grep -qx 'net-pf-2-proto-253-type-1'
estp_result "module alias net-pf-2-proto-253-type-1" $?

rmmod estp
echo "$tmp/modprobe" >/proc/sys/kernel/modprobe
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 253).close()' &&
	grep -q '^estp ' /proc/modules
estp_result "socket() autoloads estp" $?
estp_exit
