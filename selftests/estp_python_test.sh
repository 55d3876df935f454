#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A real program written for TCP moves data over ESTP, changed only in its
# protocol argument: Python's http.server serves a 4 MiB file and
# http.client (and a raw socket speaking HTTP/1.0) fetches it, over TCP
# (protocol 6, the reference) and over ESTP (253); the SHA-256 of what
# arrived must be the file's, and both ends' SO_PROTOCOL the protocol asked
# for (estp_http.py).  ESTP's segments must show in /proc/net/estp_stat.  It
# runs in a netns of its own (unshare --net), whose counters start at zero
# and whose sysctls go with it, however the program ends.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

estp_python_netns "$PWD/$(basename "$0")" "$@"
# ESTP's TIME_WAIT 1 s in this netns, so that the last case sees every
# closed connection end.
if ! ip link set lo up || ! echo 1 >/proc/sys/net/estp/tw_timeout; then
	echo "1..0 # cannot set up the netns (lo up, net.estp.tw_timeout 1)"
	exit 1
fi
estp_plan 5
echo "# $(python3 --version 2>&1)"

for proto in 6 253; do
	name=TCP
	[ $proto = 253 ] && name=ESTP
	for client in http.client raw; do
		before=$(estp_insegs)
		python3 ./estp_http.py $proto $client 4
		rc=$?
		after=$(estp_insegs)
		echo "# ESTP InSegs $before -> $after"
		if [ $proto = 253 ] && [ $rc -eq 0 ] && ! [ "${after:-0}" -ge $((${before:-0} + 64)) ]; then
			echo "# the transfer did not go through ESTP"
			rc=1
		fi
		if [ $proto = 6 ] && [ "$before" != "$after" ]; then
			echo "# TCP's transfer went through ESTP"
			rc=1
		fi
		estp_result "http.server and $client over $name: 4 MiB, SHA-256 matches" $rc
	done
done
# Every connection closed, through a TIME_WAIT of 1 s: /proc/net/estp
# empties, within a deadline of 10 s.
for _ in $(seq 100); do
	[ "$(wc -l </proc/net/estp)" -le 1 ] && break
	sleep 0.1
done
[ "$(wc -l </proc/net/estp)" -le 1 ]
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' /proc/net/estp
estp_result "no ESTP connection left behind" $rc
estp_exit
