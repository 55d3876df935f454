#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The runner's own tests: each rule by which make check fails a run is shown
# to fail one.
#   selftests/runner_test.sh [--full] KVER
# On every kernel, three boots: a clean run passes; a WARN_ON from the
# test-only module estp_test_warn fails the run; a socket left open, which
# keeps estp.ko in use, fails the run.  With --full (make check gives it to
# the first kernel: these rules do not depend on the kernel), also:
#   - host-side, the splat, taint and leak checks (scripts/dmesg-check) on
#     a sample of every report they must catch, tap-summary's rules on
#     streams with a program missing or no result at all, and kernel-fetch's
#     handling of a preferred release (kept, or gone from the archive);
#   - the deliberately broken programs of selftests/runner/, run through
#     make check's own path (scripts/check-kernel): a crash, a timeout, a
#     non-zero exit, no plan, a plan of 0, fewer results than the plan, an
#     XPASS and a tainted kernel each fail by name, a skip counts as a skip;
#   - a T=prog:case filter that selects nothing fails;
#   - an estp.ko that will not load fails.
cd "$(dirname "$0")" || exit 1
. ./estp_lib.sh
full=0
[ "${1:-}" = --full ] && { full=1; shift; }
kver=${1:?usage: $0 [--full] KVER}
top=$(cd .. && pwd)
vmrun=$top/scripts/vm-run
chk=$top/scripts/dmesg-check
log=$top/.cache/runs/runner-test-$kver
rm -rf "$log"
mkdir -p "$log"

if [ $full = 1 ]; then
	estp_plan 35
else
	estp_plan 3
fi

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
	sh -c "setsid python3 -c 'import socket, time; s = socket.socket(2, 1, 253); time.sleep(1e6)' </dev/null >/dev/null 2>&1 &
	       for i in \$(seq 300); do awk '\$1 == \"ESTP\" && \$3 > 0 {f = 1} END {exit !f}' /proc/net/protocols && exit 0; sleep 0.1; done; exit 1" \
	>"$log/inuse.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'would not unload: estp' "$log/inuse.out"
estp_result "$kver: a module left in use fails the run (exit $rc)" $?

if [ $full = 0 ]; then
	[ "$ESTP_T_FAIL" -eq 0 ] || echo "# vm-run's output: $log/*.out"
	estp_exit
fi

# --- host side: every report the splat check must catch -------------------
splat() {	# splat NAME LINE: a dmesg holding LINE fails the check
	printf '[    1.000000] booted\n[    2.000000] %s\n' "$2" >"$log/dmesg.$1"
	! "$chk" splat "$log/dmesg.$1" >/dev/null
	estp_result "dmesg-check catches $1" $?
}
splat WARNING 'WARNING: CPU: 1 PID: 73 at net/estp/estp_core.c:10 estp_close+0x1/0x2 [estp]'
splat KASAN 'BUG: KASAN: slab-use-after-free in estp_rcv+0x10/0x20 [estp]'
splat UBSAN 'UBSAN: shift-out-of-bounds in module/estp_timer.c:99:12'
splat KFENCE 'BUG: KFENCE: use-after-free read in estp_done+0x1/0x2 [estp]'
splat lockdep 'WARNING: possible circular locking dependency detected'
splat slub 'BUG kmalloc-64 (Tainted: G           O      ): Poison overwritten'
splat netdev 'unregister_netdevice: waiting for lo to become free. Usage count = 2'
splat cache 'kmem_cache_destroy estp_tw: Slab cache still has objects when called from estp_exit+0x1/0x2 [estp]'
splat objects 'BUG estp_request_sock (Tainted: G O): Objects remaining in estp_request_sock on __kmem_cache_shutdown()'
splat rcu-stall 'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'
splat hung-task 'INFO: task rmmod:312 blocked for more than 120 seconds.'
splat refcount 'refcount_t: underflow; use-after-free.'
splat odebug 'ODEBUG: free active (active state 0) object: 0000 object type: timer_list hint: estp_write_timer+0x0/0x10 [estp]'
printf '[    1.000000] booted\n[    2.000000] estp: registered protocol 253\n' >"$log/dmesg.clean"
"$chk" splat "$log/dmesg.clean" >/dev/null
estp_result "dmesg-check passes a clean dmesg" $?

echo 0 >"$log/taint0"
echo $(((1 << 12) | (1 << 13))) >"$log/taint.oe"
echo $(((1 << 12) | (1 << 9))) >"$log/taint.w"
"$chk" taint "$log/taint0" "$log/taint.oe" >/dev/null &&
	! "$chk" taint "$log/taint0" "$log/taint.w" >/dev/null
estp_result "taint: O and E pass, W fails" $?

cat >"$log/leak.estp" <<'EOF'
unreferenced object 0xffff888004a1b000 (size 232):
  comm "estp_data_test", pid 312, jiffies 4294937296
  backtrace (crc 0):
    [<ffffffff812c7a2e>] kmem_cache_alloc_node_noprof+0x1ee/0x3c0
    [<ffffffff81a0c1d1>] __alloc_skb+0x91/0x1e0
    [<ffffffffa0012345>] estp_sendmsg_locked+0x345/0x900 [estp]
EOF
cat >"$log/leak.gone" <<'EOF'
unreferenced object 0xffff888004a1b000 (size 232):
  comm "estp_data_test", pid 312, jiffies 4294937296
  backtrace (crc 0):
    [<ffffffff812c7a2e>] kmem_cache_alloc_node_noprof+0x1ee/0x3c0
    [<ffffffffa0012345>] 0xffffffffa0012345
EOF
cat >"$log/leak.kernel" <<'EOF'
unreferenced object 0xffff888004a1b000 (size 64):
  comm "swapper/0", pid 1, jiffies 4294937296
  backtrace (crc 0):
    [<ffffffff812c7a2e>] __kmalloc_noprof+0x1ee/0x3c0
    [<ffffffff81a0c1d1>] virtio_dev_probe+0x91/0x1e0
EOF
! "$chk" leaks "$log/leak.estp" >/dev/null 2>&1 &&
	! "$chk" leaks "$log/leak.gone" >/dev/null 2>&1 &&
	"$chk" leaks "$log/leak.kernel" >/dev/null 2>&1
estp_result "kmemleak: reports through estp.ko fail, the kernel's own do not" $?

# tap-summary: a program that never ran, and a stream with nothing in it.
printf '# expect: estp_a estp_b\n# 1..1\n# ok 1 case\nok 1 selftests: estp: estp_a\n' >"$log/missing.tap"
"$top/scripts/tap-summary" "$log/missing.tap" >"$log/missing.out"
[ $? -ne 0 ] && grep -q 'FAILED kernel missing: estp_b: did not run' "$log/missing.out"
estp_result "tap-summary: an expected program without a verdict fails" $?
: >"$log/empty.tap"
"$top/scripts/tap-summary" "$log/empty.tap" >"$log/empty.out"
[ $? -ne 0 ] && grep -q 'FAILED kernel empty: no result at all' "$log/empty.out"
estp_result "tap-summary: a stream with no result fails" $?

# kernel-fetch: a preferred release the archive still holds is kept (with
# its kbuild at kbuild's own newest version); one it lost gives a warning
# and the newest ABI of the series.
printf '%s\n' 'kept bookworm-security 6.1 host 6.1.0-56-amd64 all' \
	'gone bookworm-security 6.1 host 6.1.0-40-amd64 all' >"$log/prefer.conf"
ESTP_MATRIX=$log/prefer.conf ESTP_CACHE=$log/prefer "$top/scripts/kernel-fetch" --resolve \
	kept gone >"$log/prefer.out" 2>&1
grep -q '^kernel-fetch: kept: 6\.1\.0-56-amd64 ' "$log/prefer.out" &&
	grep -q '^kernel-fetch: warning: gone: 6\.1\.0-40-amd64 is no longer' "$log/prefer.out" &&
	! grep -q '^kernel-fetch: gone: 6\.1\.0-40-amd64 ' "$log/prefer.out"
estp_result "kernel-fetch keeps a preference the archive holds, warns and moves on from one it lost" $?

# --- the broken programs, through make check's own path ------------------
make -s -C runner all >"$log/build.out" 2>&1
estp_result "the broken programs build" $?
ESTP_SUITE=selftests/runner "$top/scripts/check-kernel" "$kver" "$log/broken" \
	>"$log/broken.out" 2>&1
"$top/scripts/tap-summary" "$log/broken/$kver.tap" >"$log/broken.sum"
sum=$?
named() {	# named WHAT PATTERN: the summary names this failure
	grep -q "^# FAILED kernel $kver: $2" "$log/broken.sum"
	estp_result "a run fails by name: $1" $?
}
[ $sum -ne 0 ]
estp_result "a run of broken programs fails" $?
named "a crash" 'broken_crash: exit=139'
named "a timeout" 'broken_timeout.sh: TIMEOUT'
named "a non-zero exit" 'broken_exit.sh: exit=1'
named "no TAP plan" 'broken_noplan.sh: printed no TAP plan'
named "a plan of 0" 'broken_plan0.sh: a plan of 0'
named "fewer results than planned" 'broken_short.sh: 1 results for a plan of 3'
named "an XPASS" 'broken_xpass.sh: divergence: passed although marked XFAIL'
named "a tainted kernel" 'no taint beyond O/E: kernel tainted: U'
! grep -q 'FAILED.*good.sh' "$log/broken.sum" &&
	grep -Eq "^# kernel $kver: [0-9]+ passed, [0-9]+ failed, [1-9][0-9]* skipped" "$log/broken.sum"
estp_result "the control passes and the skip is counted as a skip" $?

ESTP_SUITE=selftests/runner "$top/scripts/check-kernel" "$kver" "$log/nocase" \
	broken_harness:no.such.case >"$log/nocase.out" 2>&1
"$top/scripts/tap-summary" "$log/nocase/$kver.tap" >"$log/nocase.sum"
[ $? -ne 0 ] && grep -q "FAILED kernel $kver: broken_harness: a plan of 0" "$log/nocase.sum"
estp_result "a T=prog:case filter that selects nothing fails" $?

# Not a module at all: insmod fails.
ESTP_VM_KO=$top/selftests/runner/good.sh ESTP_SUITE=selftests/runner \
	"$top/scripts/check-kernel" "$kver" "$log/insmod" good.sh >"$log/insmod.out" 2>&1
"$top/scripts/tap-summary" "$log/insmod/$kver.tap" >"$log/insmod.sum"
[ $? -ne 0 ] && grep -q "FAILED kernel $kver: estp.ko loads" "$log/insmod.sum" &&
	grep -q "FAILED kernel $kver: the guest command exits 0 (exit 126)" "$log/insmod.sum" &&
	grep -q "FAILED kernel $kver: good.sh: did not run" "$log/insmod.sum"
estp_result "an estp.ko that does not load fails" $?

[ "$ESTP_T_FAIL" -eq 0 ] || echo "# logs: $log"
estp_exit
