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

static siphash_aligned_key_t estp_cookie_secret[2];

/* TCP's IPv4 table: the common MSSes, so the cookie needs only 2 bits. */
static const u16 estp_msstab[] = { 536, 1300, 1440, 1460 };

static u32 estp_cookie_time(void)
{
	return (u32)(ktime_get_seconds() / ESTP_COOKIE_TICK);
}

static u32 estp_cookie_hash(const struct iphdr *iph, const struct estphdr *th,
			    u32 count, int c)
{
	net_get_random_once(estp_cookie_secret, sizeof(estp_cookie_secret));
	return siphash_4u32((__force u32)iph->saddr, (__force u32)iph->daddr,
			    (__force u32)th->source << 16 | (__force u32)th->dest,
			    count, &estp_cookie_secret[c]);
}

/**
 * estp_v4_cookie_init_sequence - the ISN of a cookie SYN-ACK
 *	(cookie_v4_init_sequence)
 * @listener: the listener, which remembers that it sent a cookie
 * @skb: the SYN
 * @mssp: in: the peer's MSS; out: the table's MSS the cookie carries
 *
 * Return: the cookie, our ISN for this connection.
 */
u32 estp_v4_cookie_init_sequence(struct sock *listener, const struct sk_buff *skb,
				 u16 *mssp)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct estphdr *th = estp_hdr(skb);
	u32 t = estp_cookie_time();
	int mssind;

	for (mssind = ARRAY_SIZE(estp_msstab) - 1; mssind > 0; mssind--)
		if (*mssp >= estp_msstab[mssind])
			break;
	*mssp = estp_msstab[mssind];
	WRITE_ONCE(estp_sk(listener)->synq_overflow, jiffies);
	ESTP_INC_STATS(sock_net(listener), ESTP_MIB_SYNCOOKIESSENT);
	return estp_cookie_hash(iph, th, 0, 0) + ntohl(th->seq) +
	       (t << ESTP_COOKIE_BITS) +
	       ((estp_cookie_hash(iph, th, t, 1) + mssind) & ESTP_COOKIE_MASK);
}

/* The MSS a final ACK's cookie carries, or 0 if it is no valid cookie. */
static u16 estp_v4_cookie_mss(const struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct estphdr *th = estp_hdr(skb);
	u32 cookie = ntohl(th->ack_seq) - 1;
	u32 t = estp_cookie_time(), age, mssind;

	cookie -= estp_cookie_hash(iph, th, 0, 0) + ntohl(th->seq) - 1;
	/* The clock's low 8 bits are in the top of the cookie. */
	age = (t - (cookie >> ESTP_COOKIE_BITS)) & (U32_MAX >> ESTP_COOKIE_BITS);
	if (age >= ESTP_COOKIE_MAX_AGE)
		return 0;
	mssind = (cookie - estp_cookie_hash(iph, th, t - age, 1)) & ESTP_COOKIE_MASK;
	return mssind < ARRAY_SIZE(estp_msstab) ? estp_msstab[mssind] : 0;
}

/**
 * estp_v4_cookie_check - an ACK for a listener: a cookie's final ACK?
 *	(cookie_v4_check and tcp_get_cookie_sock)
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
int estp_v4_cookie_check(struct sock *listener, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct net *net = sock_net(listener);
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
	mss = estp_v4_cookie_mss(skb);
	if (!mss) {
		ESTP_INC_STATS(net, ESTP_MIB_SYNCOOKIESFAILED);
		return 1;
	}
	ESTP_INC_STATS(net, ESTP_MIB_SYNCOOKIESRECV);
	if (sk_acceptq_is_full(listener)) {
		ESTP_INC_STATS(net, ESTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	req = estp_reqsk_alloc(listener);
	if (!req)
		goto drop;
	estp_openreq_init(req, skb, ntohl(th->seq) - 1, mss);
	/* As estp_conn_request(): the listener's device, not the ACK's. */
	inet_rsk(req)->ir_iif = inet_request_bound_dev_if(listener, skb);
	ereq = estp_rsk(req);
	ereq->snt_isn = ntohl(th->ack_seq) - 1;
	ereq->cookie = true;
	/* Ours; estp_csk_reqsk_queue_add() passes it to the accept queue. */
	refcount_set(&req->rsk_refcnt, 1);
	/* The LSM labels the request or refuses it (cookie_v4_check). */
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
		estp_v4_send_reset(net, skb);
	estp_csk_reqsk_queue_add(listener, req, child);
	kfree_skb(skb);
	sock_put(child);
	return 0;
drop:
	ESTP_INC_STATS(net, ESTP_MIB_LISTENDROPS);
	kfree_skb(skb);
	return 0;
}
