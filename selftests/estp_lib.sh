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
