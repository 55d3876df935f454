#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every case passes, but the program exits 1: the run must fail.
echo "TAP version 13"; echo "1..1"; echo "ok 1 passes"; exit 1
