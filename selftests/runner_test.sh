#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host-side test of scripts/vm-run: each of its checks can fail a run.
#   selftests/runner_test.sh KVER
# Boots KVER three times: a clean run passes; a WARN_ON from the test-only
# module estp_test_warn fails the run; a socket left open, which keeps
# estp.ko in use, fails the run.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh
kver=${1:?usage: $0 KVER}
vmrun=../scripts/vm-run
log=../.cache/runs/runner-test-$kver
mkdir -p "$log"

estp_plan 3

$vmrun --kver "$kver" --log "$log/clean" -- true >"$log/clean.out" 2>&1
estp_result "$kver: a clean run passes" $?

# The test module sits beside estp.ko in the per-kernel build tree.
$vmrun --kver "$kver" --log "$log/warn" -- \
	sh -c 'insmod "$(dirname "$ESTP_KO")/../selftests/modules/estp_test_warn.ko"' \
	>"$log/warn.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "splat in the guest's dmesg" "$log/warn.out" &&
	grep -q 'WARNING:.*estp_test_warn' "$log/warn/dmesg"
estp_result "$kver: a WARN_ON in dmesg fails the run (exit $rc)" $?

$vmrun --kver "$kver" --log "$log/inuse" -- \
	sh -c "setsid python3 -c 'import socket, time; s = socket.socket(2, 1, 253); time.sleep(600)' </dev/null >/dev/null 2>&1 &
	       for i in \$(seq 300); do awk '\$1 == \"ESTP\" && \$3 > 0 {f = 1} END {exit !f}' /proc/net/protocols && exit 0; sleep 0.1; done; exit 1" \
	>"$log/inuse.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'would not unload: estp' "$log/inuse.out"
estp_result "$kver: a module left in use fails the run (exit $rc)" $?

[ "$ESTP_T_FAIL" -eq 0 ] || echo "# vm-run's output: $log/{clean,warn,inuse}.out"
estp_exit
