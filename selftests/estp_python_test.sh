#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A real program written for TCP moves data over ESTP, changed only in its
# protocol argument: Python's http.server serves a 4 MiB file and
# http.client (and a raw socket speaking HTTP/1.0) fetches it, over TCP
# (protocol 6, the reference) and over ESTP (253); the SHA-256 of what
# arrived must be the file's, and both ends' SO_PROTOCOL the protocol asked
# for (estp_http.py).  ESTP's segments must show in /proc/net/estp_stat.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh

estp_plan 6
command -v python3 >/dev/null
rc=$?
estp_result "python3 is there ($(python3 --version 2>&1))" $rc
[ $rc -eq 0 ] || { echo "# no python3: the other cases cannot run"; exit 1; }

# ESTP's TIME_WAIT down to 1 s, so that the closed connections are gone
# before estp.ko is unloaded.
tw=/proc/sys/net/estp/tw_timeout
tw_saved=$(cat $tw)
trap 'echo "$tw_saved" >$tw' EXIT
echo 1 >$tw

insegs() {
	awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "InSegs") c = i } NR == 2 { print $c }' \
		/proc/net/estp_stat
}

for proto in 6 253; do
	name=TCP
	[ $proto = 253 ] && name=ESTP
	for client in http.client raw; do
		before=$(insegs)
		python3 ./estp_http.py $proto $client 4
		rc=$?
		after=$(insegs)
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
# Every connection closed, through TIME_WAIT: /proc/net/estp empties.
for _ in $(seq 50); do
	[ "$(wc -l </proc/net/estp)" -le 1 ] && break
	sleep 0.2
done
[ "$(wc -l </proc/net/estp)" -le 1 ]
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' /proc/net/estp
estp_result "no ESTP connection left behind" $rc
estp_exit
