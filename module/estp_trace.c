// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP's trace events (estp_trace.h) are created here, once for the module;
 * every other file includes the header without CREATE_TRACE_POINTS.
 */
#define CREATE_TRACE_POINTS
#include "estp_trace.h"
