// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP over IPv4, the counterpart of net/ipv4/tcp_ipv4.c.
 */
#include <linux/filter.h>
#include <linux/skbuff.h>
#include <net/icmp.h>
#include <net/inet_ecn.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/route.h>
#include <linux/siphash.h>

#include "estp.h"
#include "estp_trace.h"

/* The initial sequence number of a connection, keyed as RFC 6528 asks. */
static siphash_key_t estp_isn_secret __read_mostly;

/**
 * estp_v4_init_seq - the ISN of a connection (secure_tcp_seq)
 * @saddr: local address
 * @daddr: peer address
 * @sport: local port
 * @dport: peer port
 *
 * Return: a keyed hash of the 4-tuple plus a 64 ns clock (RFC 6528).
 */
u32 estp_v4_init_seq(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport)
{
	u32 hash;

	net_get_random_once(&estp_isn_secret, sizeof(estp_isn_secret));
	hash = siphash_3u32((__force u32)saddr, (__force u32)daddr,
			    (__force u32)sport << 16 | (__force u32)dport,
			    &estp_isn_secret);
	/* RFC 6528's clock: one tick every 64 ns, as secure_tcp_seq(). */
	return hash + (u32)(ktime_get_real_ns() >> 6);
}

/**
 * estp_v4_connect - proto->connect: start an active open (tcp_v4_connect)
 * @sk: the socket, locked, in CLOSE
 * @uaddr: the peer's address
 * @addr_len: its length
 *
 * Route, addresses, SYN_SENT (before the SYN leaves), a port and a place in
 * the established hash, the ISN, then estp_connect() sends the SYN.
 *
 * Return: 0, -EINVAL, -EAFNOSUPPORT, a routing error (-ENETUNREACH...),
 * or -EADDRNOTAVAIL when no local port gives a free 4-tuple.
 */
int estp_v4_connect(struct sock *sk, struct estp_sockaddr *uaddr, int addr_len)
{
	struct sockaddr_in *usin = (struct sockaddr_in *)uaddr;
	struct inet_sock *inet = inet_sk(sk);
	__be16 orig_sport, orig_dport;
	struct flowi4 *fl4;
	struct rtable *rt;
	int err;

	if (addr_len < sizeof(struct sockaddr_in))
		return -EINVAL;
	if (usin->sin_family != AF_INET)
		return -EAFNOSUPPORT;

	orig_sport = inet->inet_sport;
	orig_dport = usin->sin_port;
	fl4 = &inet->cork.fl.u.ip4;
	rt = ip_route_connect(fl4, usin->sin_addr.s_addr, inet->inet_saddr,
			      sk->sk_bound_dev_if, estp_ipproto, orig_sport,
			      orig_dport, sk);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	if (rt->rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST)) {
		ip_rt_put(rt);
		return -ENETUNREACH;
	}
	if (!inet->inet_saddr) {
		inet->inet_saddr = fl4->saddr;
		inet->inet_rcv_saddr = fl4->saddr;
	}
	inet->inet_dport = usin->sin_port;
	inet->inet_daddr = fl4->daddr;

	/* As the seed shows: SYN_SENT first, then the port and the hash. */
	estp_set_state(sk, TCP_SYN_SENT);
	/* A time-wait minisock this connection replaces sets it. */
	estp_sk(sk)->iss = 0;
	err = estp_hash_connect(sk);
	if (err)
		goto failure;

	rt = ip_route_newports(fl4, rt, orig_sport, orig_dport,
			       inet->inet_sport, inet->inet_dport, sk);
	if (IS_ERR(rt)) {
		err = PTR_ERR(rt);
		rt = NULL;
		goto failure;
	}
	sk->sk_gso_type = 0;
	sk_setup_caps(sk, &rt->dst);
	/* Until the peer's MSS option, RFC 9293's default bounds ours. */
	estp_sk(sk)->mss_clamp = ESTP_MSS_DEFAULT;
	estp_sync_mss(sk, dst_mtu(&rt->dst));
	rt = NULL;

	if (!estp_sk(sk)->iss)
		estp_sk(sk)->iss = estp_v4_init_seq(inet->inet_saddr, inet->inet_daddr,
						    inet->inet_sport, inet->inet_dport);
	atomic_set(&inet->inet_id, get_random_u16());
	/* ESTP_FASTOPEN_CONNECT with a cookie: the SYN waits for data. */
	if (estp_fastopen_defer_connect(sk, &err))
		return err;
	if (err)
		goto failure;
	return estp_connect(sk);

failure:
	/* Unhashes the sock and gives back the port, as the success path took. */
	estp_set_state(sk, TCP_CLOSE);
	if (rt)
		ip_rt_put(rt);
	sk->sk_route_caps = 0;
	inet->inet_dport = 0;
	inet->inet_daddr = 0;
	if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK)) {
		inet->inet_saddr = 0;
		inet->inet_rcv_saddr = 0;
	}
	return err;
}

static void estp_v4_reqsk_destructor(struct request_sock *req)
{
}

/* Request socks: proto_register() creates their slab (rsk_prot). */
struct request_sock_ops estp_request_sock_ops __read_mostly = {
	.family		= PF_INET,
	.obj_size	= sizeof(struct estp_request_sock),
	.destructor	= estp_v4_reqsk_destructor,
};

/**
 * estp_v4_syn_recv_sock - the child of a completed passive open
 *	(tcp_v4_syn_recv_sock)
 * @listener: the listener
 * @skb: the final ACK
 * @req: the request sock, still in the established hash
 *
 * The child takes req's place in the established hash and shares the
 * listener's port.  If req is gone meanwhile (another ACK, or its timer,
 * won), or the child cannot own its port (the listener is closing), the
 * child dies through estp_done(), one of the seed's exits; the fault
 * points "syn_recv_sock" and "inherit_port" provoke them.
 *
 * Return: the child, hashed, in SYN_RECV; or NULL.
 */
struct sock *estp_v4_syn_recv_sock(const struct sock *listener, struct sk_buff *skb,
				   struct request_sock *req)
{
	struct sock *newsk;

	newsk = estp_create_openreq_child(listener, req, skb);
	if (!newsk) {
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_LISTENDROPS);
		return NULL;
	}
	return estp_syn_recv_sock_hash(listener, req, newsk, ESTP_DONE_SYN_RECV_SOCK);
}

/**
 * estp_syn_recv_sock_hash - a new child takes its port and req's place in
 *	the established hash, or dies (the end of tcp_v4_syn_recv_sock and
 *	tcp_v6_syn_recv_sock)
 * @listener: the listener
 * @req: the request sock
 * @newsk: the child, its addresses final (they choose its hash bucket)
 * @reason: the exit a failure takes, for the estp:estp_done event
 *
 * Return: @newsk, hashed; or NULL, @newsk gone.
 */
struct sock *estp_syn_recv_sock_hash(const struct sock *listener, struct request_sock *req,
				     struct sock *newsk, enum estp_done_reason reason)
{
	if (estp_inherit_port(listener, newsk)) {
		/*
		 * It owns no port: estp_put_port() has nothing to give back,
		 * and estp_csk_destroy_sock() must not expect one
		 * (inet_csk_prepare_forced_close()).
		 */
		inet_sk(newsk)->inet_num = 0;
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_LISTENDROPS);
		goto put_and_exit;
	}
	/*
	 * The child replaces req in the hash; a cookie's or a Fast Open req
	 * was never there, so the child goes in if its 4-tuple is free.
	 * Fault point "syn_recv_sock": lose the race, to test this exit.
	 */
	if (estp_fault("syn_recv_sock") ||
	    !estp_ehash_insert(newsk, estp_rsk(req)->cookie || estp_rsk(req)->tfo_listener ?
			       NULL : req_to_sk(req)))
		goto put_and_exit;
	return newsk;

put_and_exit:
	/* A Fast Open child comes locked (estp_csk_clone()). */
	if (estp_rsk(req)->tfo_listener) {
		__acquire(&newsk->sk_lock.slock);	/* for sparse, as there */
		bh_unlock_sock(newsk);
	}
	/* Never hashed: give back the hash's reference, then die. */
	sock_put(newsk);
	sock_set_flag(newsk, SOCK_DEAD);
	estp_orphan_inc();
	estp_done(newsk, reason);
	return NULL;
}

/**
 * estp_v4_do_rcv - a segment for a full sock, with the sock owned (backlog_rcv)
 * @sk: the socket, locked by the caller or from release_sock()'s backlog
 * @skb: the segment
 *
 * Return: 0; the skb is consumed.
 */
int estp_v4_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	return estp_do_rcv(sk, skb, &estp_v4_ctl_ops);
}

/**
 * estp_do_rcv - a segment for a full sock, with the sock owned, answered
 *	with a RST in the family it came in
 * @sk: the socket
 * @skb: the segment
 * @ctl: the family
 *
 * Return: 0; the skb is consumed.
 */
int estp_do_rcv(struct sock *sk, struct sk_buff *skb, const struct estp_ctl_ops *ctl)
{
	if (estp_rcv_state_process(sk, skb))
		ctl->send_reset(sock_net(sk), sk, skb);
	kfree_skb(skb);
	return 0;
}

/*
 * Flag mixes no valid segment carries: SYN with FIN or RST, RST with FIN,
 * and segments with none of SYN, RST and ACK.  A sock of ours drops them,
 * counted; where no sock is, or a listener, they are answered as TCP
 * answers them (estp_v4_rcv()).
 */
static bool estp_flags_impossible(u8 flags)
{
	if ((flags & ESTP_FLAG_SYN) && (flags & (ESTP_FLAG_FIN | ESTP_FLAG_RST)))
		return true;
	if ((flags & ESTP_FLAG_RST) && (flags & ESTP_FLAG_FIN))
		return true;
	return !(flags & (ESTP_FLAG_SYN | ESTP_FLAG_RST | ESTP_FLAG_ACK));
}

/**
 * estp_v4_send_reset_sk - answer a segment with a RST (tcp_v4_send_reset)
 * @net: the netns the segment arrived in
 * @sk: the sock that answers (a full sock, a listener or a time-wait
 *	minisock), or NULL when none does
 * @skb: the segment, data at its ESTP header
 *
 * RFC 9293 3.10.7.1: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>; any
 * other gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.  A RST is never
 * answered.  As TCP's control socket sends it: the segment's TOS without
 * its ECN bits, the route's TTL, and @sk's SO_MARK and (before 6.14)
 * SO_PRIORITY; none without a sock.
 */
void estp_v4_send_reset_sk(struct net *net, const struct sock *sk,
			   struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct sk_buff *rskb = estp_make_reset(sk, skb);

	if (!rskb)
		return;
	trace_estp_send_reset(sk, skb);
	ESTP_INC_STATS(net, ESTP_MIB_OUTRSTS);
	estp_v4_send_ctl(net, rskb, iph->daddr, iph->saddr,
			 iph->tos & ~INET_ECN_MASK);
}

/**
 * estp_v4_send_reset - answer a segment no sock of ours takes with a RST
 * @net: the netns the segment arrived in
 * @skb: the segment, data at its ESTP header
 */
void estp_v4_send_reset(struct net *net, struct sk_buff *skb)
{
	estp_v4_send_reset_sk(net, NULL, skb);
}

/*
 * The sock's filters see a segment before it is processed or queued
 * (tcp_filter): SO_ATTACH_FILTER/SO_ATTACH_BPF, cgroup-BPF ingress and the
 * LSM's sock_rcv_skb; and a pfmemalloc skb is refused to a sock that is not
 * SOCK_MEMALLOC.  The filter may trim the data but never the header.
 * sk_filter_trim_cap() returns an errno on older kernels and a drop
 * reason on newer ones: nonzero is a drop either way.
 */
static bool estp_filter_drop(struct sock *sk, struct sk_buff *skb)
{
	if (!sk_filter_trim_cap(sk, skb, estp_hdr(skb)->doff * 4))
		return false;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_FILTERDROP);
	return true;
}

/*
 * IP_MINTTL (RFC 5082, GTSM): a full sock takes no segment whose TTL is
 * below the minimum, as tcp_v4_rcv() checks before any processing.
 */
static bool estp_v4_min_ttl_drop(struct sock *sk, const struct sk_buff *skb)
{
	/* min_ttl can change at any time under do_ip_setsockopt() */
	if (likely(ip_hdr(skb)->ttl >= READ_ONCE(inet_sk(sk)->min_ttl)))
		return false;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_MINTTLDROP);
	return true;
}

/*
 * A segment for a request sock: the final ACK makes the child, which the
 * accept queue then holds with the lookup's reference on req.
 */
static int estp_rcv_reqsk(struct net *net, struct sk_buff *skb,
			  struct request_sock *req, const struct estp_ctl_ops *ctl)
{
	struct sock *listener = req->rsk_listener;
	struct sock *child;

	/* Signatures first, as tcp_v4_rcv() checks them for a request. */
	if (estp_inbound_auth_drop(net, skb, true)) {
		estp_reqsk_put(req);
		kfree_skb(skb);
		return 0;
	}
	if (unlikely(inet_sk_state_load(listener) != TCP_LISTEN)) {
		/* The listener is closing: the request goes with it. */
		estp_reqsk_queue_drop(listener, req);
		estp_reqsk_put(req);
		ESTP_INC_STATS(net, ESTP_MIB_INNOSOCKET);
		ctl->send_reset(net, NULL, skb);
		kfree_skb(skb);
		return 0;
	}
	/* The listener's filters, as tcp_v4_rcv(); req holds the listener. */
	if (estp_filter_drop(listener, skb)) {
		estp_reqsk_put(req);
		kfree_skb(skb);
		return 0;
	}
	child = estp_check_req(listener, skb, req);
	if (child == listener) {
		ctl->send_reset(net, listener, skb);
	} else if (child) {
		/*
		 * Data in the ACK is charged to the child, which the accept
		 * queue may reset and free at once: hold it until the skb is.
		 */
		sock_hold(child);
		if (estp_child_process(listener, child, skb))
			ctl->send_reset(net, child, skb);
		estp_csk_complete_hashdance(listener, req, child);
		req = NULL;
	}
	if (req)
		estp_reqsk_put(req);
	kfree_skb(skb);
	if (child && child != listener)
		sock_put(child);
	return 0;
}

/*
 * How many bytes of segments a sock's backlog holds while its owner runs,
 * as tcp_add_backlog() (since "tcp: avoid premature drops", in every
 * kernel of the matrix): the receive buffer twice, half the send buffer,
 * and 64 KiB of headroom, as only the owner can prune its queues.
 * TCP also coalesces contiguous segments there; ESTP does not yet.
 */
static u64 estp_backlog_limit(const struct sock *sk)
{
	u64 limit = ((u64)READ_ONCE(sk->sk_rcvbuf) << 1) +
		    ((u32)READ_ONCE(sk->sk_sndbuf) >> 1) + SZ_64K;

	return min_t(u64, limit, UINT_MAX);
}

/**
 * estp_rcv_validate - the checks of a segment before any lookup, both
 *	families' (the start of tcp_v4_rcv and tcp_v6_rcv)
 * @net: the netns it arrived in
 * @skb: the segment, data at the transport header
 * @ctl: the family it arrived in
 *
 * Return: true when the segment may go on; false when it was counted, and
 * the caller frees it.
 */
bool estp_rcv_validate(struct net *net, struct sk_buff *skb,
		       const struct estp_ctl_ops *ctl)
{
	const struct estphdr *th;

	if (skb->pkt_type != PACKET_HOST)
		return false;
	ESTP_INC_STATS(net, ESTP_MIB_INSEGS);
	if (!pskb_may_pull(skb, sizeof(struct estphdr)))
		goto hdr_error;
	th = estp_hdr(skb);
	if (th->doff < sizeof(struct estphdr) / 4 ||
	    !pskb_may_pull(skb, th->doff * 4))
		goto hdr_error;
	/* Over the pseudo-header of the family it came in. */
	if (skb_checksum_init(skb, estp_ipproto, (ctl->family == AF_INET6 ?
			      ip6_compute_pseudo : inet_compute_pseudo)) ||
	    skb_checksum_complete(skb)) {
		trace_estp_bad_csum(skb);
		ESTP_INC_STATS(net, ESTP_MIB_INCSUMERRORS);
		return false;
	}
	return true;
hdr_error:
	ESTP_INC_STATS(net, ESTP_MIB_INHDRERRORS);
	return false;
}

/**
 * estp_rcv_established - a segment for what the established hash gave
 * @net: the netns it arrived in
 * @skb: the segment, validated
 * @sk: a full sock, request sock or time-wait minisock, with the
 *	lookup's reference, which this drops
 * @ctl: the family it arrived in
 *
 * A full sock processes it now, or from its backlog when the user holds
 * it (sk->sk_backlog_rcv: a v6 sock with a v4-mapped peer has IPv4's).
 *
 * Return: true when a new SYN ended a time-wait minisock and the caller
 * must look for a listener; false when the segment is consumed.
 */
bool estp_rcv_established(struct net *net, struct sk_buff *skb, struct sock *sk,
			  const struct estp_ctl_ops *ctl)
{
	if (estp_flags_impossible(estp_flag_byte(estp_hdr(skb)))) {
		estp_sock_gen_put(sk);
		ESTP_INC_STATS(net, ESTP_MIB_INBADFLAGS);
		goto discard;
	}
	if (sk->sk_state == TCP_NEW_SYN_RECV) {
		estp_rcv_reqsk(net, skb, inet_reqsk(sk), ctl);
		return false;
	}
	if (sk->sk_state == TCP_TIME_WAIT) {
		if (estp_timewait_state_process(inet_twsk(sk), skb))
			return true;
		goto discard;
	}
	if (ctl->min_ttl_drop(sk, skb) || estp_inbound_auth_drop(net, skb, false) ||
	    estp_filter_drop(sk, skb)) {
		sock_put(sk);
		goto discard;
	}
	bh_lock_sock_nested(sk);
	estp_segs_in(estp_sk(sk), skb);
	if (!sock_owned_by_user(sk)) {
		sk->sk_backlog_rcv(sk, skb);
	} else if (sk_add_backlog(sk, skb, estp_backlog_limit(sk))) {
		ESTP_INC_STATS(net, ESTP_MIB_BACKLOGDROPS);
		kfree_skb(skb);
	}
	bh_unlock_sock(sk);
	sock_put(sk);
	return false;
discard:
	kfree_skb(skb);
	return false;
}

/**
 * estp_rcv_listener - a segment that no established sock takes
 * @net: the netns it arrived in
 * @skb: the segment, validated
 * @sk: the listener the lookup gave (no reference: RCU), or NULL
 * @ctl: the family it arrived in
 *
 * Segments for no sock get a RST; a listener takes a SYN, or a SYN
 * cookie's final ACK where the family has cookies.
 */
void estp_rcv_listener(struct net *net, struct sk_buff *skb, struct sock *sk,
		       const struct estp_ctl_ops *ctl)
{
	const struct estphdr *th = estp_hdr(skb);
	bool bad_flags = estp_flags_impossible(estp_flag_byte(th));

	if (sk) {
		if (ctl->min_ttl_drop(sk, skb) || estp_inbound_auth_drop(net, skb, false) ||
		    estp_filter_drop(sk, skb))
			goto discard;
		/* The filter may have moved the header. */
		th = estp_hdr(skb);
		/*
		 * tcp_rcv_state_process() in LISTEN: any ACK gets a RST, a
		 * SYN with FIN and whatever has none of SYN and ACK is dropped.
		 */
		if (bad_flags) {
			if (th->ack && !th->rst)
				goto no_socket;
			goto bad_flags;
		}
		/* Listeners take segments without their lock, as TCP's. */
		if (th->ack && !th->syn && !th->rst) {
			/* No request sock: the final ACK of a SYN cookie? */
			if (!ctl->cookie_check || ctl->cookie_check(sk, skb))
				goto no_socket;
			return;
		}
		if (estp_rcv_state_process(sk, skb))
			goto no_socket;
		goto discard;
	}
	/* No sock: a RST for anything but a RST, as tcp_v4_send_reset(). */
	if (bad_flags && th->rst)
		goto bad_flags;
no_socket:
	ESTP_INC_STATS(net, ESTP_MIB_INNOSOCKET);
	/* sk: the listener that refuses it, or NULL. */
	ctl->send_reset(net, sk, skb);
	goto discard;

bad_flags:
	ESTP_INC_STATS(net, ESTP_MIB_INBADFLAGS);
discard:
	kfree_skb(skb);
}

/**
 * estp_v4_rcv - IPv4 receive handler for the ESTP protocol number
 * @skb: the segment, its network header set, data at the transport header
 *
 * Called in softirq under rcu_read_lock().  Validates the header (length,
 * data offset, checksum, flags), then finds the sock the segment is for:
 * a connected sock in the established hash, or a listener (an IPv6 one
 * without IPV6_V6ONLY too); segments for no sock get a RST.
 *
 * Return: 0 (the skb is always consumed).
 */
int estp_v4_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	const struct estphdr *th;
	const struct iphdr *iph;
	struct sock *sk;

	if (!estp_rcv_validate(net, skb, &estp_v4_ctl_ops)) {
		kfree_skb(skb);
		return 0;
	}
	th = estp_hdr(skb);
	iph = ip_hdr(skb);
	sk = estp_lookup_established(net, iph->saddr, th->source, iph->daddr,
				     th->dest, inet_iif(skb));
	if (sk && !estp_rcv_established(net, skb, sk, &estp_v4_ctl_ops))
		return 0;
	/* A new SYN may have ended a minisock: it may open a new connection. */
	th = estp_hdr(skb);
	iph = ip_hdr(skb);
	sk = estp_lookup_listener(net, skb, iph->saddr, th->source, iph->daddr,
				  th->dest, inet_iif(skb));
	estp_rcv_listener(net, skb, sk, &estp_v4_ctl_ops);
	return 0;
}

/*
 * af_ops->rebuild_header: route a connected sock again, e.g. after its
 * route went stale (inet_sk_rebuild_header, not exported by newer kernels).
 */
int estp_v4_rebuild_header(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	struct rtable *rt;

	rt = ip_route_output_ports(sock_net(sk), &inet->cork.fl.u.ip4, sk,
				   inet->inet_daddr, inet->inet_saddr,
				   inet->inet_dport, inet->inet_sport,
				   sk->sk_protocol, ip_sock_rt_tos(sk),
				   sk->sk_bound_dev_if);
	if (IS_ERR(rt)) {
		sk->sk_route_caps = 0;
		WRITE_ONCE(sk->sk_err_soft, -PTR_ERR(rt));
		return PTR_ERR(rt);
	}
	sk_setup_caps(sk, &rt->dst);
	return 0;
}

/**
 * estp_req_err - an ICMP error for a request sock (tcp_req_err)
 * @net: the netns
 * @req: the request sock, with the lookup's reference, which this drops
 * @seq: the sequence number the error quotes
 * @abort: the error is fatal for the SYN-ACK's peer
 */
void estp_req_err(struct net *net, struct request_sock *req, u32 seq, bool abort)
{
	if (seq != estp_rsk(req)->snt_isn) {
		ESTP_INC_STATS(net, ESTP_MIB_OUTOFWINDOWICMPS);
	} else if (abort) {
		/* RFC 1122 4.2.3.9: the peer is unreachable; forget the SYN. */
		estp_reqsk_queue_drop(req->rsk_listener, req);
		ESTP_INC_STATS(net, ESTP_MIB_LISTENDROPS);
	}
	estp_reqsk_put(req);
}

/**
 * estp_v4_mtu_reduced - af_ops->mtu_reduced: the path MTU fell
 *	(tcp_v4_mtu_reduced)
 * @sk: the socket, locked or owned by the ICMP handler
 *
 * The route learns the new MTU, and the MSS follows it unless the socket
 * ignores path MTU discovery (IP_MTU_DISCOVER).
 */
void estp_v4_mtu_reduced(struct sock *sk)
{
	u32 mtu = READ_ONCE(estp_sk(sk)->mtu_info);
	struct dst_entry *dst;

	if ((1 << sk->sk_state) & (TCPF_LISTEN | TCPF_CLOSE))
		return;
	dst = __sk_dst_check(sk, 0);
	if (!dst) {
		if (estp_sk(sk)->af_ops->rebuild_header(sk))
			return;
		dst = __sk_dst_get(sk);
	}
	dst->ops->update_pmtu(dst, sk, NULL, mtu, true);
	/* The update may have replaced the route: find the current one. */
	dst = __sk_dst_check(sk, 0);
	if (!dst) {
		if (estp_sk(sk)->af_ops->rebuild_header(sk))
			return;
		dst = __sk_dst_get(sk);
	}
	if (inet_sk(sk)->pmtudisc != IP_PMTUDISC_DONT && ip_sk_accept_pmtu(sk)) {
		estp_sync_mss(sk, dst_mtu(dst));
		/* What was sent at the old size was dropped (review C2). */
		estp_simple_retransmit(sk);
	}
}

/**
 * estp_release_cb - proto->release_cb: work the receive path left to the
 *	owner (tcp_release_cb)
 * @sk: the socket, still owned by the caller of release_sock()
 */
void estp_release_cb(struct sock *sk)
{
	if (test_and_clear_bit(ESTP_MTU_REDUCED_DEFERRED, &estp_sk(sk)->deferred)) {
		estp_sk(sk)->af_ops->mtu_reduced(sk);
		__sock_put(sk);		/* estp_v4_err()'s; the owner holds one */
	}
	if (test_and_clear_bit(ESTP_DELACK_DEFERRED, &estp_sk(sk)->deferred)) {
		estp_delack_timer_handler(sk);
		__sock_put(sk);		/* the delayed-ACK timer's */
	}
	if (test_and_clear_bit(ESTP_WRITE_TIMER_DEFERRED, &estp_sk(sk)->deferred)) {
		estp_write_timer_handler(sk);
		__sock_put(sk);		/* the retransmit timer's */
	}
}

/**
 * estp_v4_err - ICMP error handler for ESTP segments we sent (tcp_v4_err)
 * @skb: the ICMP message, data at the quoted IP header, which icmp_rcv()
 *	checked to be followed by 8 bytes of our header
 * @info: ICMP-specific information (the next-hop MTU for "fragmentation
 *	needed")
 *
 * The quoted segment names the connection; its sequence number must be in
 * flight, or the message is counted (OutOfWindowIcmps) and ignored.
 * "Fragmentation needed" lowers the path MTU.  Other errors abort a
 * connection still in its handshake (the owner sees the errno) and are
 * only recorded (SO_ERROR after a timeout) on an established one, unless
 * the owner asked for IP_RECVERR.  TCP also queues them on the error queue;
 * ip_icmp_error() is not exported, so ESTP does not.
 *
 * Return: 0, or -ENOENT when no socket matches.
 */
int estp_v4_err(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct estphdr *th = (const struct estphdr *)(skb->data + (iph->ihl << 2));
	const int type = icmp_hdr(skb)->type;
	const int code = icmp_hdr(skb)->code;
	struct net *net = dev_net(skb->dev);
	struct estp_sock *esk;
	struct sock *sk;
	u32 seq;
	int err;

	sk = estp_lookup_established(net, iph->daddr, th->dest, iph->saddr,
				     th->source, inet_iif(skb));
	if (!sk) {
		__ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
		return -ENOENT;
	}
	if (sk->sk_state == TCP_TIME_WAIT) {
		estp_twsk_put(inet_twsk(sk));
		return 0;
	}
	seq = ntohl(th->seq);
	if (sk->sk_state == TCP_NEW_SYN_RECV) {
		estp_req_err(net, inet_reqsk(sk), seq,
			     type == ICMP_PARAMETERPROB || type == ICMP_TIME_EXCEEDED ||
			     (type == ICMP_DEST_UNREACH &&
			      (code == ICMP_NET_UNREACH || code == ICMP_HOST_UNREACH)));
		return 0;
	}

	esk = estp_sk(sk);
	bh_lock_sock(sk);
	if (sk->sk_state == TCP_CLOSE)
		goto out;
	if (estp_before(seq, esk->snd_una) || estp_after(seq, esk->snd_nxt)) {
		ESTP_INC_STATS(net, ESTP_MIB_OUTOFWINDOWICMPS);
		goto out;
	}

	switch (type) {
	case ICMP_PARAMETERPROB:
		err = EPROTO;
		break;
	case ICMP_DEST_UNREACH:
		if (code > NR_ICMP_UNREACH)
			goto out;
		if (code == ICMP_FRAG_NEEDED) {
			WRITE_ONCE(esk->mtu_info, info);
			if (!sock_owned_by_user(sk))
				esk->af_ops->mtu_reduced(sk);
			else if (!test_and_set_bit(ESTP_MTU_REDUCED_DEFERRED, &esk->deferred))
				sock_hold(sk);
			goto out;
		}
		err = icmp_err_convert[code].errno;
		break;
	case ICMP_TIME_EXCEEDED:
		err = EHOSTUNREACH;
		break;
	default:
		/* Redirects are the route's business; source quench is dead. */
		goto out;
	}

	estp_icmp_err_apply(sk, err, estp_recverr(sk), ESTP_DONE_V4_ERR);
out:
	bh_unlock_sock(sk);
	sock_put(sk);
	return 0;
}

/**
 * estp_icmp_err_apply - what an ICMP or ICMPv6 error does to a sock
 * @sk: the sock, bh-locked
 * @err: the errno the error converts to
 * @recverr: IP_RECVERR or IPV6_RECVERR is on
 * @reason: the exit a connection in its handshake takes (the seed's
 *	tcp_v4_err or tcp_v6_err)
 *
 * A connection still in its handshake ends (the owner sees the errno);
 * a synchronized one only records it (SO_ERROR after a timeout), unless
 * the owner asked for the errors at once (RFC 1122 4.2.3.9).
 */
void estp_icmp_err_apply(struct sock *sk, int err, bool recverr,
			 enum estp_done_reason reason)
{
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		if (!sock_owned_by_user(sk)) {
			WRITE_ONCE(sk->sk_err, err);
			/* sk_err before the state change the owner waits on */
			smp_wmb();
			sk_error_report(sk);
			estp_done(sk, reason);
		} else {
			WRITE_ONCE(sk->sk_err_soft, err);
		}
		return;
	}
	if (!sock_owned_by_user(sk) && recverr) {
		WRITE_ONCE(sk->sk_err, err);
		sk_error_report(sk);
	} else {
		WRITE_ONCE(sk->sk_err_soft, err);
	}
}

/**
 * estp_v4_conn_request - af_ops->conn_request for IPv4 (tcp_v4_conn_request)
 * @listener: the listener
 * @skb: the SYN
 *
 * Return: 0; the caller frees the skb.
 */
int estp_v4_conn_request(struct sock *listener, struct sk_buff *skb)
{
	/* No SYN to a broadcast or multicast address opens a connection. */
	if (skb_rtable(skb)->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST))
		return 0;
	return estp_conn_request(&estp_v4_ctl_ops, listener, skb);
}

/*
 * ctl->init_req: the addresses of a request from its IPv4 segment, and
 * the listener's device (or l3mdev master), not the segment's: the final
 * ACK may come in on another link.
 */
static void estp_v4_init_req(struct request_sock *req, const struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);

	inet_rsk(req)->ir_loc_addr = iph->daddr;
	inet_rsk(req)->ir_rmt_addr = iph->saddr;
	inet_rsk(req)->ir_iif = inet_request_bound_dev_if(req->rsk_listener,
							  (struct sk_buff *)skb);
}

/* ctl->init_seq: the ISN of a passive open, from the SYN's 4-tuple. */
static u32 estp_v4_init_seq_skb(const struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);

	return estp_v4_init_seq(ip_hdr(skb)->daddr, ip_hdr(skb)->saddr, th->dest,
				th->source);
}

/* ctl->send_reset for IPv4. */
static void estp_v4_ctl_reset(struct net *net, const struct sock *sk, struct sk_buff *skb)
{
	estp_v4_send_reset_sk(net, sk, skb);
}

/* IPv4's answers for what is no full sock (tcp_request_sock_ipv4_ops). */
const struct estp_ctl_ops estp_v4_ctl_ops = {
	.family			= AF_INET,
	.min_mtu		= IPV4_MIN_MTU,
	.mss_for_mtu		= estp_v4_mss_for_mtu,
	.init_req		= estp_v4_init_req,
	.init_seq		= estp_v4_init_seq_skb,
	.cookie_init_seq	= estp_v4_cookie_init_sequence,
	.cookie_ts_offset	= estp_v4_cookie_ts_offset,
	.send_synack		= estp_v4_send_synack,
	.route_mss		= estp_v4_route_mss,
	.send_reqsk_ack		= estp_v4_send_reqsk_ack,
	.send_tw_ack		= estp_v4_send_tw_ack,
	.send_reset		= estp_v4_ctl_reset,
	.min_ttl_drop		= estp_v4_min_ttl_drop,
	.cookie_check		= estp_v4_cookie_check,
};

/* The IPv4 operations under the state machine (ipv4_specific). */
const struct estp_af_ops estp_ipv4_specific = {
	.ctl		= &estp_v4_ctl_ops,
	.queue_xmit	= ip_queue_xmit,
	.send_check	= estp_v4_send_check,
	.rebuild_header	= estp_v4_rebuild_header,
	.conn_request	= estp_v4_conn_request,
	.syn_recv_sock	= estp_v4_syn_recv_sock,
	.net_header_len	= sizeof(struct iphdr),
	.setsockopt	= ip_setsockopt,
	.getsockopt	= ip_getsockopt,
	.mtu_reduced	= estp_v4_mtu_reduced,
};
