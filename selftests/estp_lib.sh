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
