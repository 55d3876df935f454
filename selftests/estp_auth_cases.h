/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signature options in a SYN, for estp_packet_test (IPv4) and
 * estp_ipv6_test.
 * What TCP's tcp_inbound_hash() drops at a listener with no key, ESTP
 * must drop too (estp_inbound_auth_drop()).  Which are dropped depends on
 * the kernel: 6.1 drops an MD5 signature only; from 6.7 malformed options
 * too while a signature could still follow (18 bytes, or 5 where the
 * kernel has TCP-AO, which then also refuses an AO option).  So each SYN
 * goes to a TCP and an ESTP listener and the two are compared.
 */
#ifndef ESTP_AUTH_CASES_H
#define ESTP_AUTH_CASES_H

#include <stdint.h>

#include "estp_lib.h"

struct auth_case {
	const char *what;
	uint8_t opts[40];
	int optlen;
};

static const struct auth_case auth_cases[] = {
	{ "MD5 signature", { 19, 18, [18] = 1, 1 }, 20 },
	{ "MD5 of length 10, 20 bytes of options", { 19, 10, [10] = 1, 1, 1, 1, 1, 1, 1,
						     1, 1, 1 }, 20 },
	{ "length 1, 20 bytes of options", { 200, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					     1, 1, 1, 1, 1, 1, 1 }, 20 },
	{ "length 1, 8 bytes of options", { 200, 1, 1, 1, 1, 1, 1, 1 }, 8 },
	{ "length past the end, 20 bytes", { 200, 30 }, 20 },
	{ "TCP-AO option", { 29, 16, 1, 1, [16] = 1, 1, 1, 1 }, 20 },
	{ "MD5 and TCP-AO", { 19, 18, [18] = 29, 16, [36] = 1, 1, 1, 1 }, 40 },
	{ "unknown kind, well formed", { 200, 20 }, 20 },
};

/* The counters of those drops (TCP's with "TCP" before each name). */
static const char *const auth_counters[] = {
	"MD5Unexpected", "AOBad", "AOKeyNotFound",
};

#define AUTH_NCOUNTERS	ARRAY_SIZE(auth_counters)

/* @proto's auth_counters into @v, less @base's values when not NULL. */
static inline void auth_counts(int proto, long *v, const long *base)
{
	size_t j;

	for (j = 0; j < AUTH_NCOUNTERS; j++)
		v[j] = estp_counter(proto, auth_counters[j]) - (base ? base[j] : 0);
}

#endif /* ESTP_AUTH_CASES_H */
