// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP's IPv6 SYN cookies, the counterpart of net/ipv6/syncookies.c.
 *
 * The cookie, the options in the TSval and the final ACK's check are
 * IPv4's (estp_syncookies.c); IPv6 hashes its own 4-tuple with keys of its
 * own and carries MSSes of IPv6 links.  A v4-mapped peer of a dual-stack
 * listener talks IPv4 and gets IPv4's cookies.
 */
#include <linux/siphash.h>
#include <net/ipv6.h>

#include "estp.h"

/* [0] and [1] the cookie's hashes, [2] the TSval offset. */
static siphash_aligned_key_t estp_cookie6_secret[3];

/*
 * TCP's IPv6 table: the MSS of 1280-byte (the IPv6 minimum), 1480-byte
 * (IPv6 in IPv4), 1500-byte and 9000-byte links, 60 bytes of headers off.
 */
static const u16 estp_msstab6[] = { 1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60 };

static u32 estp_v6_cookie_hash(const struct sk_buff *skb, u32 count, int c)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	const struct estphdr *th = estp_hdr(skb);
	const struct {
		struct in6_addr saddr;
		struct in6_addr daddr;
		u32 count;
		__be16 sport;
		__be16 dport;
	} __aligned(SIPHASH_ALIGNMENT) in = {
		.saddr = ip6h->saddr,
		.daddr = ip6h->daddr,
		.count = count,
		.sport = th->source,
		.dport = th->dest,
	};

	net_get_random_once(estp_cookie6_secret, sizeof(estp_cookie6_secret));
	return siphash(&in, offsetofend(typeof(in), dport), &estp_cookie6_secret[c]);
}

static const struct estp_cookie_family estp_v6_cookie = {
	.hash		= estp_v6_cookie_hash,
	.msstab		= estp_msstab6,
	.msstab_len	= ARRAY_SIZE(estp_msstab6),
};

/**
 * estp_v6_cookie_init_sequence - the ISN of an IPv6 cookie SYN-ACK
 *	(cookie_v6_init_sequence)
 * @listener: the listener
 * @skb: the SYN, arrived over IPv6
 * @mssp: in: the peer's MSS; out: the table's MSS the cookie carries
 *
 * Return: the cookie.
 */
u32 estp_v6_cookie_init_sequence(struct sock *listener, const struct sk_buff *skb,
				 u16 *mssp)
{
	return estp_cookie_init_sequence(&estp_v6_cookie, listener, skb, mssp);
}

/**
 * estp_v6_cookie_ts_offset - the TSval offset of an IPv6 cookie's connection
 * @skb: the SYN or the final ACK, from the peer
 *
 * Return: a keyed hash of the 4-tuple, the same for both.
 */
u32 estp_v6_cookie_ts_offset(const struct sk_buff *skb)
{
	return estp_v6_cookie_hash(skb, 0, 2);
}

/**
 * estp_v6_cookie_check - an IPv6 ACK for a listener: a cookie's final ACK?
 *	(cookie_v6_check)
 * @listener: the listener, not locked
 * @skb: a segment with ACK and without SYN or RST, arrived over IPv6
 *
 * Return: as estp_cookie_check().
 */
int estp_v6_cookie_check(struct sock *listener, struct sk_buff *skb)
{
	return estp_cookie_check(&estp_v6_cookie, &estp_v6_ctl_ops, listener, skb);
}
