#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Outlives the runner's timeout: the run must fail.
echo "TAP version 13"; echo "1..1"; sleep 60; echo "ok 1 too late"
