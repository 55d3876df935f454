#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Passes: the control.
echo "TAP version 13"; echo "1..1"; echo "ok 1 passes"
