// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP SYN cookies, the counterpart of net/ipv4/syncookies.c.
 *
 * When a listener's half-open count reaches its backlog (or always, with
 * net.estp.syncookies = 2), the SYN-ACK's sequence number encodes the
 * connection instead of a request sock: a keyed hash of the 4-tuple, the
 * peer's ISN, a 64-second clock and the index of the peer's MSS in a small
 * table.  The final ACK then proves the peer saw our SYN-ACK, and the
 * request sock is rebuilt from it.
 *
 *   cookie = H0(4-tuple) + peer ISN + (t << 24) + ((H1(4-tuple, t) + mssind) & 0xffffff)
 *
 * When the SYN has timestamps, the low 6 bits of our TSval carry the other
 * options, as TCP's cookie_init_timestamp() puts them, and the final ACK
 * echoes them in its TSecr:
 *
 *   | 31 ... 6: clock | 5: ECN | 4: SACK | 3 ... 0: peer's wscale, 0xf none |
 *
 * The TSval offset of such a connection is a keyed hash of the 4-tuple
 * (TCP's secure_tcp_ts_off()), so that the ACK can be read without state.
 *
 * All of this but the hash and the MSS table is the same for IPv6: a
 * family gives those in a struct estp_cookie_family (IPv6's in
 * estp_syncookies6.c, as net/ipv6/syncookies.c uses net/ipv4's).
 */
#include <linux/delay.h>
#include <linux/security.h>
#include <linux/siphash.h>
#include <net/ip.h>

#include "estp.h"

#define ESTP_COOKIE_BITS	24
#define ESTP_COOKIE_MASK	((1u << ESTP_COOKIE_BITS) - 1)
/* A cookie is good for two ticks of its clock: 64 to 128 seconds. */
#define ESTP_COOKIE_MAX_AGE	2
#define ESTP_COOKIE_TICK	64	/* seconds */

/* The options in the TSval's low bits (TS_OPT_*). */
#define ESTP_TS_OPT_WSCALE_MASK	0xf
#define ESTP_TS_OPT_SACK	BIT(4)
#define ESTP_TS_OPT_ECN		BIT(5)
#define ESTP_TSBITS		6

/* [0] and [1] the cookie's hashes, [2] the TSval offset. */
static siphash_aligned_key_t estp_cookie_secret[3];

/* TCP's IPv4 table: the common MSSes, so the cookie needs only 2 bits. */
static const u16 estp_msstab[] = { 536, 1300, 1440, 1460 };

static u32 estp_cookie_time(void)
{
	return (u32)(ktime_get_seconds() / ESTP_COOKIE_TICK);
}

static u32 estp_v4_cookie_hash(const struct sk_buff *skb, u32 count, int c)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct estphdr *th = estp_hdr(skb);

	net_get_random_once(estp_cookie_secret, sizeof(estp_cookie_secret));
	return siphash_4u32((__force u32)iph->saddr, (__force u32)iph->daddr,
			    (__force u32)th->source << 16 | (__force u32)th->dest,
			    count, &estp_cookie_secret[c]);
}

static const struct estp_cookie_family estp_v4_cookie = {
	.hash		= estp_v4_cookie_hash,
	.msstab		= estp_msstab,
	.msstab_len	= ARRAY_SIZE(estp_msstab),
};

/**
 * estp_cookie_init_sequence - the ISN of a cookie SYN-ACK, for any family
 *	(__cookie_v4_init_sequence, __cookie_v6_init_sequence)
 * @f: the SYN's family
 * @listener: the listener, which remembers that it sent a cookie
 * @skb: the SYN
 * @mssp: in: the peer's MSS; out: the table's MSS the cookie carries
 *
 * Return: the cookie, our ISN for this connection.
 */
u32 estp_cookie_init_sequence(const struct estp_cookie_family *f, struct sock *listener,
			      const struct sk_buff *skb, u16 *mssp)
{
	const struct estphdr *th = estp_hdr(skb);
	u32 t = estp_cookie_time();
	int mssind;

	for (mssind = f->msstab_len - 1; mssind > 0; mssind--)
		if (*mssp >= f->msstab[mssind])
			break;
	*mssp = f->msstab[mssind];
	WRITE_ONCE(estp_sk(listener)->synq_overflow, jiffies);
	ESTP_INC_STATS(sock_net(listener), ESTP_MIB_SYNCOOKIESSENT);
	return f->hash(skb, 0, 0) + ntohl(th->seq) + (t << ESTP_COOKIE_BITS) +
	       ((f->hash(skb, t, 1) + mssind) & ESTP_COOKIE_MASK);
}

/**
 * estp_v4_cookie_init_sequence - the ISN of an IPv4 cookie SYN-ACK
 *	(cookie_v4_init_sequence)
 * @listener: the listener
 * @skb: the SYN
 * @mssp: in: the peer's MSS; out: the table's MSS the cookie carries
 *
 * Return: the cookie.
 */
u32 estp_v4_cookie_init_sequence(struct sock *listener, const struct sk_buff *skb,
				 u16 *mssp)
{
	return estp_cookie_init_sequence(&estp_v4_cookie, listener, skb, mssp);
}

/**
 * estp_v4_cookie_ts_offset - the TSval offset of a cookie's connection
 * @skb: the SYN or the final ACK, from the peer
 *
 * Return: a keyed hash of the 4-tuple, the same for both.
 */
u32 estp_v4_cookie_ts_offset(const struct sk_buff *skb)
{
	return estp_v4_cookie_hash(skb, 0, 2);
}

/**
 * estp_cookie_init_timestamp - a cookie SYN-ACK's TSval, before the offset
 *	(cookie_init_timestamp)
 * @req: the request, its options settled
 * @now: our timestamp clock, without offset
 *
 * The options replace the clock's low bits, taken back one tick of 64 ms
 * if that put the value ahead: later TSvals must not be older.
 *
 * Return: the TSval less the connection's offset.
 */
u32 estp_cookie_init_timestamp(const struct request_sock *req, u32 now)
{
	const struct estp_request_sock *ereq = estp_rsk(req);
	u32 options, ts;

	options = ereq->wscale_ok ? ereq->snd_wscale : ESTP_TS_OPT_WSCALE_MASK;
	if (ereq->sack_ok)
		options |= ESTP_TS_OPT_SACK;
	if (inet_rsk(req)->ecn_ok)
		options |= ESTP_TS_OPT_ECN;
	ts = (now >> ESTP_TSBITS << ESTP_TSBITS) | options;
	if (estp_after(ts, now))
		ts -= 1U << ESTP_TSBITS;
	return ts;
}

/*
 * The options a final ACK's TSecr carries back (cookie_timestamp_decode):
 * none without timestamps; false when one of them is off here now.
 */
static bool estp_cookie_timestamp_decode(const struct net *net, struct request_sock *req,
					 const struct estp_options_received *opt)
{
	const struct estp_net *en = estp_pernet(net);
	struct estp_request_sock *ereq = estp_rsk(req);
	u32 options = opt->tsecr;

	if (!opt->saw_tstamp || !READ_ONCE(en->timestamps))
		return true;
	ereq->tstamp_ok = 1;
	ereq->ts_recent = opt->tsval;
	ereq->sack_ok = !!(options & ESTP_TS_OPT_SACK);
	if (ereq->sack_ok && !READ_ONCE(en->sack))
		return false;
	/* cookie_ecn_ok(): as the listener's sysctl allows now. */
	inet_rsk(req)->ecn_ok = (options & ESTP_TS_OPT_ECN) && READ_ONCE(en->ecn);
	if ((options & ESTP_TS_OPT_WSCALE_MASK) == ESTP_TS_OPT_WSCALE_MASK)
		return true;
	ereq->wscale_ok = 1;
	ereq->snd_wscale = min_t(u8, options & ESTP_TS_OPT_WSCALE_MASK, ESTP_MAX_WSCALE);
	return READ_ONCE(en->window_scaling);
}

/* The MSS a final ACK's cookie carries, or 0 if it is no valid cookie. */
static u16 estp_cookie_mss(const struct estp_cookie_family *f, const struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	u32 cookie = ntohl(th->ack_seq) - 1;
	u32 t = estp_cookie_time(), age, mssind;

	cookie -= f->hash(skb, 0, 0) + ntohl(th->seq) - 1;
	/* The clock's low 8 bits are in the top of the cookie. */
	age = (t - (cookie >> ESTP_COOKIE_BITS)) & (U32_MAX >> ESTP_COOKIE_BITS);
	if (age >= ESTP_COOKIE_MAX_AGE)
		return 0;
	mssind = (cookie - f->hash(skb, t - age, 1)) & ESTP_COOKIE_MASK;
	return mssind < f->msstab_len ? f->msstab[mssind] : 0;
}

/**
 * estp_cookie_check - an ACK for a listener: a cookie's final ACK?
 *	(cookie_v4_check, cookie_v6_check and tcp_get_cookie_sock)
 * @f: the ACK's family, for the cookie
 * @ctl: the ACK's family, for the request sock and a RST
 * @listener: the listener, not locked
 * @skb: a segment with ACK and without SYN or RST
 *
 * Cookies are checked only while they are on and the listener sent one
 * recently.  A valid one rebuilds the request sock; the child is made
 * from it as from a hashed one, and queued for accept().
 *
 * Return: 0 when the ACK made a child or was dropped (as it is when the
 * listener no longer listens), and @skb is freed; 1 when the caller must
 * answer it with a RST, @skb left to the caller.
 */
int estp_cookie_check(const struct estp_cookie_family *f, const struct estp_ctl_ops *ctl,
		      struct sock *listener, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct net *net = sock_net(listener);
	struct estp_options_received opt;
	struct estp_request_sock *ereq;
	struct request_sock *req;
	struct sock *child;
	u16 mss;

	/* Fault point "cookie_check": a close() of the listener starts here. */
	estp_fault_hold("cookie_check", inet_sk_state_load(listener) != TCP_LISTEN);
	/*
	 * The lookup took the listener without a lock: it may have stopped
	 * since.  Its child would not be accepted and, if the listener gave
	 * its port back, not own its port (tcp_v4_do_rcv() checks the state).
	 */
	if (inet_sk_state_load(listener) != TCP_LISTEN) {
		kfree_skb(skb);
		return 0;
	}
	if (!READ_ONCE(estp_pernet(net)->syncookies) ||
	    time_after(jiffies, READ_ONCE(estp_sk(listener)->synq_overflow) +
		       ESTP_COOKIE_MAX_AGE * ESTP_COOKIE_TICK * HZ))
		return 1;
	mss = estp_cookie_mss(f, skb);
	if (!mss) {
		ESTP_INC_STATS(net, ESTP_MIB_SYNCOOKIESFAILED);
		return 1;
	}
	ESTP_INC_STATS(net, ESTP_MIB_SYNCOOKIESRECV);
	estp_parse_options(th, &opt);
	if (opt.saw_tstamp && opt.tsecr &&
	    READ_ONCE(estp_pernet(net)->timestamps) == 1)
		opt.tsecr -= f->hash(skb, 0, 2);
	if (sk_acceptq_is_full(listener)) {
		ESTP_INC_STATS(net, ESTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	req = estp_reqsk_alloc(listener, ctl);
	if (!req)
		goto drop;
	/* Ours; estp_csk_reqsk_queue_add() passes it to the accept queue. */
	refcount_set(&req->rsk_refcnt, 1);
	estp_openreq_init(req, skb, ntohl(th->seq) - 1, mss);
	ereq = estp_rsk(req);
	ereq->snt_isn = ntohl(th->ack_seq) - 1;
	ereq->cookie = true;
	if (!estp_cookie_timestamp_decode(net, req, &opt)) {
		/* An option turned off since: as no cookie (cookie_tcp_check()). */
		estp_reqsk_put(req);
		return 1;
	}
	if (ereq->tstamp_ok)
		ereq->ts_offset = READ_ONCE(estp_pernet(net)->timestamps) == 1 ?
				  f->hash(skb, 0, 2) : 0;
	/* The window redone as the SYN-ACK's, rounded to the cookie's MSS. */
	estp_openreq_window(listener, req, mss);
	/* The LSM labels the request or refuses it (cookie_v4/v6_check). */
	if (security_inet_conn_request(listener, skb, req)) {
		estp_reqsk_put(req);
		goto drop;
	}
	child = estp_sk(listener)->af_ops->syn_recv_sock(listener, skb, req);
	if (!child) {
		estp_reqsk_put(req);
		goto drop;
	}
	/*
	 * As estp_v4_rcv_reqsk(): data in the ACK is charged to the child,
	 * which the accept queue may reset and free at once.
	 */
	sock_hold(child);
	if (estp_child_process(listener, child, skb))
		ctl->send_reset(net, NULL, skb);
	estp_csk_reqsk_queue_add(listener, req, child);
	kfree_skb(skb);
	sock_put(child);
	return 0;
drop:
	ESTP_INC_STATS(net, ESTP_MIB_LISTENDROPS);
	kfree_skb(skb);
	return 0;
}

/**
 * estp_v4_cookie_check - an ACK for an IPv4 listener or a dual-stack one
 *	from an IPv4 peer: a cookie's final ACK? (cookie_v4_check)
 * @listener: the listener, not locked
 * @skb: a segment with ACK and without SYN or RST
 *
 * Return: as estp_cookie_check().
 */
int estp_v4_cookie_check(struct sock *listener, struct sk_buff *skb)
{
	return estp_cookie_check(&estp_v4_cookie, &estp_v4_ctl_ops, listener, skb);
}
