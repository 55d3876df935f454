// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP over IPv6, the counterpart of net/ipv6/tcp_ipv6.c: the AF_INET6
 * socket type and the IPv6 handler of the same protocol number.
 *
 * An IPv6 sock runs on one of two af_ops tables: estp_ipv6_specific, or,
 * once its peer is v4-mapped (::ffff:a.b.c.d), estp_ipv6_mapped, whose
 * segments are IPv4's.  A dual-stack listener (no IPV6_V6ONLY) takes
 * IPv4 SYNs too: their request socks are IPv4's, and their children IPv6
 * socks on the mapped table, as TCP's.  What is no full sock (request
 * socks, time-wait minisocks, RSTs for no sock) goes through the family's
 * estp_ctl_ops: estp_v6_ctl_ops here.
 *
 * Nothing here runs when IPv6 is disabled (ipv6.disable=1): estp_v6_init()
 * then registers nothing and the module serves IPv4 alone.
 */
#define pr_fmt(fmt) "estp: " fmt

#include <linux/icmpv6.h>
#include <linux/ipv6.h>
#include <linux/siphash.h>
#include <net/addrconf.h>
#include <net/dsfield.h>
#include <net/inet6_connection_sock.h>
#include <net/inet_common.h>
#include <net/inet_ecn.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/protocol.h>
#include <net/transp_v6.h>

#include "estp.h"
#include "estp_trace.h"

/*
 * The sock of an IPv6 ESTP socket, as struct tcp6_sock: struct ipv6_pinfo
 * last, where inet6_sk_generic() (before 6.5) looks for it.
 */
struct estp6_sock {
	struct estp_sock	esk;
	struct ipv6_pinfo	inet6;
};

static siphash_key_t estp_v6_isn_secret __read_mostly;

/* Whether IPv6 is registered: not with ipv6.disable=1. */
static bool estp_v6_registered;
static bool estp_v6_proto_registered;

/* The initial sequence number of a connection (secure_tcpv6_seq). */
static u32 estp_v6_init_seq(const struct in6_addr *saddr, const struct in6_addr *daddr,
			    __be16 sport, __be16 dport)
{
	const struct {
		struct in6_addr saddr;
		struct in6_addr daddr;
		__be16 sport;
		__be16 dport;
	} __aligned(SIPHASH_ALIGNMENT) combined = {
		.saddr = *saddr,
		.daddr = *daddr,
		.sport = sport,
		.dport = dport,
	};
	u32 hash;

	net_get_random_once(&estp_v6_isn_secret, sizeof(estp_v6_isn_secret));
	hash = siphash(&combined, offsetofend(typeof(combined), dport),
		       &estp_v6_isn_secret);
	/* RFC 6528's clock, as estp_v4_init_seq(). */
	return hash + (u32)(ktime_get_real_ns() >> 6);
}

/* The checksum over the IPv6 pseudo-header (RFC 8200 8.1). */
static void estp_v6_csum(struct sk_buff *skb, const struct in6_addr *saddr,
			 const struct in6_addr *daddr)
{
	struct estphdr *th = estp_hdr(skb);

	th->check = 0;
	th->check = csum_ipv6_magic(saddr, daddr, skb->len, estp_ipproto,
				    skb_checksum(skb, 0, skb->len, 0));
	skb->ip_summed = CHECKSUM_NONE;
}

/*
 * af_ops->send_check: a sock's segment, from its source to its peer, summed
 * by the device (estp_send_check_partial(), __tcp_v6_send_check()).
 */
static void estp_v6_send_check(struct sock *sk, struct sk_buff *skb)
{
	estp_send_check_partial(skb, ~csum_ipv6_magic(&inet6_sk(sk)->saddr,
						      &sk->sk_v6_daddr, skb->len,
						      estp_ipproto, 0));
}

/*
 * Route, checksum and send a segment of no full sock over IPv6, as
 * tcp_v6_send_response() through its control socket: @oif for a
 * link-local peer, the traffic class @tclass, the flow label @label (or
 * the automatic one, net.ipv6.auto_flowlabels), @hlimit or the route's
 * hop limit when negative.  The skb's mark routes it.
 */
static int estp_v6_send_ctl(struct net *net, struct sk_buff *skb,
			    const struct in6_addr *saddr, const struct in6_addr *daddr,
			    int oif, u8 tclass, __be32 label, int hlimit)
{
	const struct estphdr *th = estp_hdr(skb);
	struct flowi6 fl6 = {
		.daddr = *daddr,
		.saddr = *saddr,
		.flowi6_proto = estp_ipproto,
		.flowi6_oif = oif,
		.flowi6_mark = skb->mark,
		.fl6_sport = th->source,
		.fl6_dport = th->dest,
		.flowlabel = label,
	};
	struct dst_entry *dst;
	struct ipv6hdr *ip6h;

	if (!oif && rt6_need_strict(daddr))
		fl6.flowi6_oif = skb->skb_iif;
	dst = ip6_dst_lookup_flow(net, NULL, &fl6, NULL);
	if (IS_ERR(dst)) {
		kfree_skb(skb);
		return PTR_ERR(dst);
	}
	estp_v6_csum(skb, &fl6.saddr, &fl6.daddr);
	skb_push(skb, sizeof(*ip6h));
	skb_reset_network_header(skb);
	ip6h = ipv6_hdr(skb);
	ip6_flow_hdr(ip6h, tclass,
		     ip6_make_flowlabel(net, skb, label, ip6_default_np_autolabel(net), &fl6));
	ip6h->payload_len = htons(skb->len - sizeof(*ip6h));
	ip6h->nexthdr = estp_ipproto;
	ip6h->hop_limit = hlimit < 0 ? ip6_dst_hoplimit(dst) : hlimit;
	ip6h->saddr = fl6.saddr;
	ip6h->daddr = fl6.daddr;
	skb_dst_set(skb, dst);
	skb->protocol = htons(ETH_P_IPV6);
	ESTP_INC_STATS(net, ESTP_MIB_OUTSEGS);
	return ip6_local_out(net, NULL, skb);
}

/*
 * Our MSS for a route (ip6_default_advmss): the MTU less the IPv6 and ESTP
 * headers, at most IPV6_MAXPLEN: 65476 on loopback.
 */
static u16 estp_v6_mss_for_mtu(unsigned int mtu)
{
	unsigned int mss = mtu - sizeof(struct ipv6hdr) - sizeof(struct estphdr);

	return min_t(unsigned int, mss, IPV6_MAXPLEN);
}

/*
 * ctl->init_req: a request's addresses from its SYN; a link-local peer
 * binds it to the SYN's device, unless the listener is bound
 * (tcp_v6_init_req).  The SYN's flow label, for a reflecting listener.
 */
static void estp_v6_init_req(struct request_sock *req, const struct sk_buff *skb)
{
	const struct sock *listener = req->rsk_listener;
	struct inet_request_sock *ireq = inet_rsk(req);
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);

	ireq->ir_v6_rmt_addr = ip6h->saddr;
	ireq->ir_v6_loc_addr = ip6h->daddr;
	ireq->ir_iif = READ_ONCE(listener->sk_bound_dev_if);
	if (!ireq->ir_iif && ipv6_addr_type(&ireq->ir_v6_rmt_addr) & IPV6_ADDR_LINKLOCAL)
		ireq->ir_iif = inet6_iif(skb);
	estp_rsk(req)->flowlabel = ip6_flowlabel(ip6h);
}

static u32 estp_v6_init_seq_skb(const struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);

	return estp_v6_init_seq(&ipv6_hdr(skb)->daddr, &ipv6_hdr(skb)->saddr,
				th->dest, th->source);
}

/* The route of a request's SYN-ACKs (inet6_csk_route_req). */
static struct dst_entry *estp_v6_route_req(const struct sock *listener,
					   const struct request_sock *req,
					   struct flowi6 *fl6)
{
	const struct inet_request_sock *ireq = inet_rsk(req);

	memset(fl6, 0, sizeof(*fl6));
	fl6->daddr = ireq->ir_v6_rmt_addr;
	fl6->saddr = ireq->ir_v6_loc_addr;
	fl6->flowi6_proto = estp_ipproto;
	fl6->flowi6_oif = ireq->ir_iif;
	fl6->flowi6_mark = READ_ONCE(listener->sk_mark);
	fl6->fl6_sport = htons(ireq->ir_num);
	fl6->fl6_dport = ireq->ir_rmt_port;
	return ip6_dst_lookup_flow(sock_net(listener), listener, fl6, NULL);
}

/* ctl->route_mss: the MSS of the route back to the request's peer. */
static int estp_v6_route_mss(const struct sock *listener, const struct request_sock *req)
{
	struct dst_entry *dst;
	struct flowi6 fl6;
	int mss;

	dst = estp_v6_route_req(listener, req, &fl6);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	mss = estp_v6_mss_for_mtu(dst_mtu(dst));
	dst_release(dst);
	return mss;
}

/*
 * ctl->send_synack (tcp_v6_send_synack): the listener's traffic class and
 * hop limit; its flow label reflects the SYN's when the listener reflects
 * (IPV6_FL_F_REFLECT, net.ipv6.flowlabel_reflect & 1).
 */
static int estp_v6_send_synack(const struct sock *listener, struct request_sock *req,
			       const struct estp_fastopen_cookie *foc)
{
	const struct ipv6_pinfo *np = inet6_sk(listener);
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct net *net = sock_net(listener);
	__be32 label = estp_inet6_repflow(listener) ? estp_rsk(req)->flowlabel : 0;
	struct dst_entry *dst;
	struct sk_buff *skb;
	struct flowi6 fl6;

	dst = estp_v6_route_req(listener, req, &fl6);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	skb = estp_make_synack(listener, req, estp_v6_mss_for_mtu(dst_mtu(dst)), foc);
	dst_release(dst);
	if (!skb)
		return -ENOBUFS;
	return estp_v6_send_ctl(net, skb, &fl6.saddr, &fl6.daddr, ireq->ir_iif,
				READ_ONCE(np->tclass), label, np->hop_limit);
}

/* ctl->send_reqsk_ack (tcp_v6_reqsk_send_ack): the segment's class. */
static void estp_v6_send_reqsk_ack(const struct sock *listener, const struct sk_buff *skb,
				   const struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct sk_buff *rskb = estp_make_reqsk_ack(req);

	if (rskb)
		estp_v6_send_ctl(sock_net(listener), rskb, &ireq->ir_v6_loc_addr,
				 &ireq->ir_v6_rmt_addr, ireq->ir_iif,
				 ipv6_get_dsfield(ipv6_hdr(skb)) & ~INET_ECN_MASK, 0, -1);
}

/* ctl->send_tw_ack (tcp_v6_timewait_ack). */
static void estp_v6_send_tw_ack(struct inet_timewait_sock *tw)
{
	struct sk_buff *skb = estp_make_tw_ack(tw);

	if (skb)
		estp_v6_send_ctl(twsk_net(tw), skb, &tw->tw_v6_rcv_saddr, &tw->tw_v6_daddr,
				 tw->tw_bound_dev_if, tw->tw_tclass,
				 cpu_to_be32(tw->tw_flowlabel), -1);
}

/*
 * ctl->send_reset (tcp_v6_send_reset): as estp_v4_send_reset_sk(), with
 * the segment's traffic class less ECN; the flow label reflects the
 * segment's for a reflecting sock, or with net.ipv6.flowlabel_reflect & 2
 * when no sock answers.
 */
static void estp_v6_send_reset_sk(struct net *net, const struct sock *sk,
				  struct sk_buff *skb)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct sk_buff *rskb;
	__be32 label = 0;
	int oif = 0;

	/* No RST to a multicast address (tcp_v6_send_reset). */
	if (!ipv6_unicast_destination(skb))
		return;
	rskb = estp_make_reset(sk, skb);
	if (!rskb)
		return;
	if (sk && sk->sk_state == TCP_TIME_WAIT) {
		oif = inet_twsk(sk)->tw_bound_dev_if;
		label = cpu_to_be32(inet_twsk(sk)->tw_flowlabel);
	} else if (sk) {
		oif = READ_ONCE(sk->sk_bound_dev_if);
		if (sk_fullsock(sk) && estp_inet6_repflow(sk))
			label = ip6_flowlabel(ip6h);
	} else if (READ_ONCE(net->ipv6.sysctl.flowlabel_reflect) &
		   FLOWLABEL_REFLECT_TCP_RESET) {
		label = ip6_flowlabel(ip6h);
	}
	rskb->skb_iif = inet6_iif(skb);
	trace_estp_send_reset(sk, skb);
	ESTP_INC_STATS(net, ESTP_MIB_OUTRSTS);
	estp_v6_send_ctl(net, rskb, &ip6h->daddr, &ip6h->saddr, oif,
			 ipv6_get_dsfield(ip6h) & ~INET_ECN_MASK, label, -1);
}

/* IPV6_MINHOPCOUNT (RFC 5082) for a full sock, as tcp_v6_rcv(). */
static bool estp_v6_min_ttl_drop(struct sock *sk, const struct sk_buff *skb)
{
	if (likely(ipv6_hdr(skb)->hop_limit >= READ_ONCE(inet6_sk(sk)->min_hopcount)))
		return false;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_MINTTLDROP);
	return true;
}

/*
 * IPv6's answers for what is no full sock (tcp_request_sock_ipv6_ops),
 * its SYN cookies in estp_syncookies6.c.  A v4-mapped peer's segments
 * come in IPv4 and take IPv4's (estp_v4_ctl_ops).
 */
const struct estp_ctl_ops estp_v6_ctl_ops = {
	.family			= AF_INET6,
	.min_mtu		= IPV6_MIN_MTU,
	.mss_for_mtu		= estp_v6_mss_for_mtu,
	.init_req		= estp_v6_init_req,
	.init_seq		= estp_v6_init_seq_skb,
	.cookie_init_seq	= estp_v6_cookie_init_sequence,
	.cookie_ts_offset	= estp_v6_cookie_ts_offset,
	.send_synack		= estp_v6_send_synack,
	.route_mss		= estp_v6_route_mss,
	.send_reqsk_ack		= estp_v6_send_reqsk_ack,
	.send_tw_ack		= estp_v6_send_tw_ack,
	.send_reset		= estp_v6_send_reset_sk,
	.min_ttl_drop		= estp_v6_min_ttl_drop,
	.cookie_check		= estp_v6_cookie_check,
};

/* proto->backlog_rcv of an IPv6 sock (tcp_v6_do_rcv). */
static int estp_v6_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	return estp_do_rcv(sk, skb, &estp_v6_ctl_ops);
}

/*
 * The IPv6 receive handler (tcp_v6_rcv): as estp_v4_rcv(), with IPv6's
 * lookups, which find IPv6 socks only.
 */
static int estp_v6_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	const struct ipv6hdr *ip6h;
	const struct estphdr *th;
	struct sock *sk;

	if (!estp_rcv_validate(net, skb, &estp_v6_ctl_ops)) {
		kfree_skb(skb);
		return 0;
	}
	th = estp_hdr(skb);
	ip6h = ipv6_hdr(skb);
	sk = estp_lookup_established6(net, &ip6h->saddr, th->source, &ip6h->daddr,
				      th->dest, inet6_iif(skb));
	if (sk && !estp_rcv_established(net, skb, sk, &estp_v6_ctl_ops))
		return 0;
	th = estp_hdr(skb);
	ip6h = ipv6_hdr(skb);
	sk = estp_lookup_listener6(net, skb, &ip6h->saddr, th->source, &ip6h->daddr,
				   th->dest, inet6_iif(skb));
	estp_rcv_listener(net, skb, sk, &estp_v6_ctl_ops);
	return 0;
}

/*
 * af_ops->rebuild_header: route a connected sock again
 * (inet6_sk_rebuild_header, which 7.x no longer exports).  Without the
 * routing header of IPV6_RTHDR, which fl6_update_dst() would follow.
 */
static int estp_v6_rebuild_header(struct sock *sk)
{
	/* 7.x's inet6_csk_xmit() sends on the flow kept with the route. */
	struct flowi6 *fl6 = &inet_sk(sk)->cork.fl.u.ip6;
	const struct ipv6_pinfo *np = inet6_sk(sk);
	struct dst_entry *dst;

	*fl6 = (struct flowi6) {
		.flowi6_proto = sk->sk_protocol,
		.daddr = sk->sk_v6_daddr,
		.saddr = np->saddr,
		.flowlabel = np->flow_label,
		.flowi6_oif = sk->sk_bound_dev_if,
		.flowi6_mark = sk->sk_mark,
		.fl6_sport = inet_sk(sk)->inet_sport,
		.fl6_dport = inet_sk(sk)->inet_dport,
		.flowi6_uid = sk->sk_uid,
	};
	security_sk_classify_flow(sk, flowi6_to_flowi_common(fl6));
	dst = ip6_dst_lookup_flow(sock_net(sk), sk, fl6, NULL);
	if (IS_ERR(dst)) {
		sk->sk_route_caps = 0;
		WRITE_ONCE(sk->sk_err_soft, -PTR_ERR(dst));
		return PTR_ERR(dst);
	}
	estp_ip6_dst_store(sk, dst);
	return 0;
}

/*
 * af_ops->mtu_reduced (tcp_v6_mtu_reduced): the route learns the MTU of
 * an ICMPv6 Packet Too Big that lowers the MSS, and the MSS follows.
 */
static void estp_v6_mtu_reduced(struct sock *sk)
{
	u32 mtu = READ_ONCE(estp_sk(sk)->mtu_info);
	struct dst_entry *dst;

	if ((1 << sk->sk_state) & (TCPF_LISTEN | TCPF_CLOSE))
		return;
	/*
	 * A Packet Too Big that would not lower the MSS (one in SYN_SENT,
	 * whose MSS is clamped to what 1280 bytes carry, or one above a
	 * clamp of the peer's or TCP_MAXSEG's) never reaches the route, as
	 * TCP's: __ip6_rt_update_pmtu() would lower the route's MTU all the
	 * same, and IPV6_MTU would tell.
	 */
	if (estp_mtu_to_mss(sk, mtu) >= READ_ONCE(estp_sk(sk)->mss_cache))
		return;
	dst = __sk_dst_check(sk, inet6_sk(sk)->dst_cookie);
	if (!dst) {
		if (estp_v6_rebuild_header(sk))
			return;
		dst = __sk_dst_get(sk);
	}
	dst->ops->update_pmtu(dst, sk, NULL, mtu, true);
	/* The update replaced the route's entry: find the current one. */
	dst = __sk_dst_check(sk, inet6_sk(sk)->dst_cookie);
	if (!dst) {
		if (estp_v6_rebuild_header(sk))
			return;
		dst = __sk_dst_get(sk);
	}
	if (estp_sk(sk)->pmtu_cookie > dst_mtu(dst)) {
		estp_sync_mss(sk, dst_mtu(dst));
		/* What was sent at the old size was dropped. */
		estp_simple_retransmit(sk);
	}
}

/*
 * The ICMPv6 error handler (tcp_v6_err): Packet Too Big lowers the path
 * MTU (at once, or from release_sock() when the user holds the sock); a
 * fatal error ends a connection in its handshake with the errno
 * icmpv6_err_convert() gives (the seed's tenth exit, ESTP_DONE_V6_ERR),
 * and is recorded on a synchronized one (SO_ERROR at once only with
 * IPV6_RECVERR).
 */
static int estp_v6_err(struct sk_buff *skb, struct inet6_skb_parm *opt, u8 type,
		       u8 code, int offset, __be32 info)
{
	const struct ipv6hdr *hdr = (const struct ipv6hdr *)skb->data;
	const struct estphdr *th = (const struct estphdr *)(skb->data + offset);
	struct net *net = dev_net(skb->dev);
	struct estp_sock *esk;
	struct sock *sk;
	bool fatal;
	int err;
	u32 seq;

	sk = estp_lookup_established6(net, &hdr->daddr, th->dest, &hdr->saddr,
				      th->source, skb->dev->ifindex);
	if (!sk) {
		__ICMP6_INC_STATS(net, __in6_dev_get(skb->dev), ICMP6_MIB_INERRORS);
		return -ENOENT;
	}
	if (sk->sk_state == TCP_TIME_WAIT) {
		estp_twsk_put(inet_twsk(sk));
		return 0;
	}
	seq = ntohl(th->seq);
	fatal = icmpv6_err_convert(type, code, &err);
	if (sk->sk_state == TCP_NEW_SYN_RECV) {
		estp_req_err(net, inet_reqsk(sk), seq, fatal);
		return 0;
	}

	esk = estp_sk(sk);
	bh_lock_sock(sk);
	if (sk->sk_state == TCP_CLOSE)
		goto out;
	if (ipv6_hdr(skb)->hop_limit < READ_ONCE(inet6_sk(sk)->min_hopcount)) {
		ESTP_INC_STATS(net, ESTP_MIB_MINTTLDROP);
		goto out;
	}
	if (estp_before(seq, esk->snd_una) || estp_after(seq, esk->snd_nxt)) {
		ESTP_INC_STATS(net, ESTP_MIB_OUTOFWINDOWICMPS);
		goto out;
	}
	if (type == NDISC_REDIRECT) {
		if (!sock_owned_by_user(sk)) {
			struct dst_entry *dst = __sk_dst_check(sk, inet6_sk(sk)->dst_cookie);

			if (dst)
				dst->ops->redirect(dst, sk, skb);
		}
		goto out;
	}
	if (type == ICMPV6_PKT_TOOBIG) {
		u32 mtu = ntohl(info);

		if (!ip6_sk_accept_pmtu(sk) || mtu < IPV6_MIN_MTU)
			goto out;
		WRITE_ONCE(esk->mtu_info, mtu);
		if (!sock_owned_by_user(sk))
			esk->af_ops->mtu_reduced(sk);
		else if (!test_and_set_bit(ESTP_MTU_REDUCED_DEFERRED, &esk->deferred))
			sock_hold(sk);
		goto out;
	}

	estp_icmp_err_apply(sk, err, estp_inet6_recverr(sk), ESTP_DONE_V6_ERR);
out:
	bh_unlock_sock(sk);
	sock_put(sk);
	return 0;
}

/*
 * af_ops->conn_request (tcp_v6_conn_request): an IPv4 SYN for a
 * dual-stack listener is IPv4's business; no connection opens to a
 * multicast address or from a non-unicast one.
 */
static int estp_v6_conn_request(struct sock *listener, struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		return estp_v4_conn_request(listener, skb);
	if (!ipv6_unicast_destination(skb)) {
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_LISTENDROPS);
		return 0;
	}
	if (ipv6_addr_v4mapped(&ipv6_hdr(skb)->saddr)) {
		__IP6_INC_STATS(sock_net(listener), NULL, IPSTATS_MIB_INHDRERRORS);
		return 0;
	}
	return estp_conn_request(&estp_v6_ctl_ops, listener, skb);
}

static const struct estp_af_ops estp_ipv6_mapped;

/*
 * A child of an IPv6 listener has IPv6 state of its own: the listener's
 * ipv6_pinfo copied, without what the listener alone owns and frees
 * (tcp_v6_syn_recv_sock).
 */
static void estp_v6_child_pinfo(const struct sock *listener, struct sock *newsk)
{
	struct ipv6_pinfo *newnp = &((struct estp6_sock *)newsk)->inet6;

	inet_sk(newsk)->pinet6 = newnp;
	memcpy(newnp, inet6_sk(listener), sizeof(*newnp));
	newnp->ipv6_mc_list = NULL;
	newnp->ipv6_ac_list = NULL;
	estp_inet6_fl_list(newsk) = NULL;
	newnp->pktoptions = NULL;
	RCU_INIT_POINTER(newnp->opt, NULL);
}

/*
 * af_ops->syn_recv_sock (tcp_v6_syn_recv_sock): the child of an IPv4
 * request (a dual-stack listener's) is an IPv6 sock with v4-mapped
 * addresses on the mapped table; that of an IPv6 one has the request's
 * IPv6 addresses.  A child that cannot be hashed dies through the seed's
 * eleventh exit (ESTP_DONE_V6_SYN_RECV_SOCK; the mapped one through
 * IPv4's, as TCP's goes through tcp_v4_syn_recv_sock()).
 */
static struct sock *estp_v6_syn_recv_sock(const struct sock *listener, struct sk_buff *skb,
					  struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct ipv6_pinfo *newnp;
	struct sock *newsk;

	newsk = estp_create_openreq_child(listener, req, skb);
	if (!newsk) {
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_LISTENDROPS);
		return NULL;
	}
	estp_v6_child_pinfo(listener, newsk);
	newnp = inet6_sk(newsk);
	if (ireq->ireq_family == AF_INET) {
		/* v4-mapped: IPv4's segments, IPv6's socket API. */
		ipv6_addr_set_v4mapped(inet_sk(newsk)->inet_daddr, &newsk->sk_v6_daddr);
		ipv6_addr_set_v4mapped(inet_sk(newsk)->inet_saddr, &newnp->saddr);
		newsk->sk_v6_rcv_saddr = newnp->saddr;
		WRITE_ONCE(estp_sk(newsk)->af_ops, &estp_ipv6_mapped);
		newsk->sk_backlog_rcv = estp_v4_do_rcv;
		newnp->mcast_oif = inet_iif(skb);
		newnp->mcast_hops = ip_hdr(skb)->ttl;
		newnp->flow_label = 0;
		return estp_syn_recv_sock_hash(listener, req, newsk, ESTP_DONE_SYN_RECV_SOCK);
	}
	newsk->sk_v6_daddr = ireq->ir_v6_rmt_addr;
	newnp->saddr = ireq->ir_v6_loc_addr;
	newsk->sk_v6_rcv_saddr = ireq->ir_v6_loc_addr;
	/* No IPv4 segment is for it (tcp_v6_syn_recv_sock). */
	inet_sk(newsk)->inet_daddr = LOOPBACK4_IPV6;
	inet_sk(newsk)->inet_saddr = LOOPBACK4_IPV6;
	inet_sk(newsk)->inet_rcv_saddr = LOOPBACK4_IPV6;
	newnp->mcast_oif = inet6_iif(skb);
	newnp->mcast_hops = ipv6_hdr(skb)->hop_limit;
	/* A reflecting listener's child echoes the final ACK's label. */
	if (ESTP_CHILD_REFLECTS_FLOWLABEL && estp_inet6_repflow(listener))
		newnp->flow_label = ip6_flowlabel(ipv6_hdr(skb));
	return estp_syn_recv_sock_hash(listener, req, newsk, ESTP_DONE_V6_SYN_RECV_SOCK);
}

static const struct estp_af_ops estp_ipv6_specific;

/*
 * proto->connect (tcp_v6_connect): a v4-mapped peer switches the sock to
 * the mapped table and connects over IPv4 (estp_v4_connect()); an IPv6
 * one routes with the sock's flow label (IPV6_FLOWINFO_SEND) and traffic
 * class, and a link-local peer needs a device (sin6_scope_id or
 * SO_BINDTODEVICE).
 */
static int estp_v6_connect(struct sock *sk, struct estp_sockaddr *uaddr, int addr_len)
{
	struct sockaddr_in6 *usin = (struct sockaddr_in6 *)uaddr;
	struct estp_sock *esk = estp_sk(sk);
	struct ipv6_pinfo *np = inet6_sk(sk);
	struct inet_sock *inet = inet_sk(sk);
	struct in6_addr *saddr = NULL;
	/* Kept with the route: 7.x's inet6_csk_xmit() sends on it. */
	struct flowi6 *fl6 = &inet->cork.fl.u.ip6;
	struct dst_entry *dst;
	int addr_type;
	int err;

	if (addr_len < SIN6_LEN_RFC2133)
		return -EINVAL;
	if (usin->sin6_family != AF_INET6)
		return -EAFNOSUPPORT;

	memset(fl6, 0, sizeof(*fl6));
	if (estp_inet6_sndflow(sk)) {
		fl6->flowlabel = usin->sin6_flowinfo & IPV6_FLOWINFO_MASK;
		IP6_ECN_flow_init(fl6->flowlabel);
		if (fl6->flowlabel & IPV6_FLOWLABEL_MASK) {
			struct ip6_flowlabel *flowlabel = fl6_sock_lookup(sk, fl6->flowlabel);

			if (IS_ERR(flowlabel))
				return -EINVAL;
			fl6_sock_release(flowlabel);
		}
	}
	/* connect() to :: means loopback (a BSD'ism TCP keeps). */
	if (ipv6_addr_any(&usin->sin6_addr)) {
		if (ipv6_addr_v4mapped(&sk->sk_v6_rcv_saddr))
			ipv6_addr_set_v4mapped(htonl(INADDR_LOOPBACK), &usin->sin6_addr);
		else
			usin->sin6_addr = in6addr_loopback;
	}
	addr_type = ipv6_addr_type(&usin->sin6_addr);
	if (addr_type & IPV6_ADDR_MULTICAST)
		return -ENETUNREACH;
	if (addr_type & IPV6_ADDR_LINKLOCAL) {
		if (addr_len >= sizeof(struct sockaddr_in6) && usin->sin6_scope_id) {
			/* A device bound before must be the scope's. */
			if (!sk_dev_equal_l3scope(sk, usin->sin6_scope_id))
				return -EINVAL;
			sk->sk_bound_dev_if = usin->sin6_scope_id;
		}
		if (!sk->sk_bound_dev_if)
			return -EINVAL;
	}
	sk->sk_v6_daddr = usin->sin6_addr;
	np->flow_label = fl6->flowlabel;

	if (addr_type & IPV6_ADDR_MAPPED) {
		struct sockaddr_in sin = {
			.sin_family = AF_INET,
			.sin_port = usin->sin6_port,
			.sin_addr.s_addr = usin->sin6_addr.s6_addr32[3],
		};

		if (ipv6_only_sock(sk))
			return -ENETUNREACH;
		WRITE_ONCE(esk->af_ops, &estp_ipv6_mapped);
		sk->sk_backlog_rcv = estp_v4_do_rcv;
		err = estp_v4_connect(sk, (struct estp_sockaddr *)&sin, sizeof(sin));
		if (err) {
			WRITE_ONCE(esk->af_ops, &estp_ipv6_specific);
			sk->sk_backlog_rcv = estp_v6_do_rcv;
			return err;
		}
		/* The IPv4 source the route chose, as getsockname() shows it. */
		ipv6_addr_set_v4mapped(inet->inet_saddr, &np->saddr);
		ipv6_addr_set_v4mapped(inet->inet_rcv_saddr, &sk->sk_v6_rcv_saddr);
		return 0;
	}
	/* A sock that had a mapped peer before (connect(AF_UNSPEC)) is IPv6's again. */
	WRITE_ONCE(esk->af_ops, &estp_ipv6_specific);
	sk->sk_backlog_rcv = estp_v6_do_rcv;

	if (!ipv6_addr_any(&sk->sk_v6_rcv_saddr))
		saddr = &sk->sk_v6_rcv_saddr;
	fl6->flowi6_proto = estp_ipproto;
	fl6->daddr = sk->sk_v6_daddr;
	fl6->saddr = saddr ? *saddr : np->saddr;
	fl6->flowlabel = ip6_make_flowinfo(np->tclass, np->flow_label);
	fl6->flowi6_oif = sk->sk_bound_dev_if;
	fl6->flowi6_mark = sk->sk_mark;
	fl6->fl6_dport = usin->sin6_port;
	fl6->fl6_sport = inet->inet_sport;
	fl6->flowi6_uid = sk->sk_uid;
	security_sk_classify_flow(sk, flowi6_to_flowi_common(fl6));
	dst = ip6_dst_lookup_flow(sock_net(sk), sk, fl6, NULL);
	if (IS_ERR(dst)) {
		err = PTR_ERR(dst);
		goto failure;
	}
	if (!saddr) {
		saddr = &fl6->saddr;
		sk->sk_v6_rcv_saddr = *saddr;
	}
	np->saddr = *saddr;
	inet->inet_rcv_saddr = LOOPBACK4_IPV6;
	inet->inet_saddr = LOOPBACK4_IPV6;
	inet->inet_daddr = LOOPBACK4_IPV6;
	sk->sk_gso_type = 0;
	estp_ip6_dst_store(sk, dst);
	/* Until the peer's MSS option, IPv6's minimum MTU bounds ours. */
	esk->mss_clamp = IPV6_MIN_MTU - sizeof(struct estphdr) - sizeof(struct ipv6hdr);
	inet->inet_dport = usin->sin6_port;

	estp_set_state(sk, TCP_SYN_SENT);
	esk->iss = 0;
	err = estp_hash_connect(sk);
	if (err)
		goto late_failure;
	fl6->fl6_sport = inet->inet_sport;
	sk_set_txhash(sk);
	estp_sync_mss(sk, dst_mtu(dst));
	if (!esk->iss)
		esk->iss = estp_v6_init_seq(&np->saddr, &sk->sk_v6_daddr, inet->inet_sport,
					    inet->inet_dport);
	/* ESTP_FASTOPEN_CONNECT with a cookie: the SYN waits for data. */
	if (estp_fastopen_defer_connect(sk, &err))
		return err;
	if (err)
		goto late_failure;
	return estp_connect(sk);

late_failure:
	estp_set_state(sk, TCP_CLOSE);
failure:
	inet->inet_dport = 0;
	sk->sk_route_caps = 0;
	if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK))
		inet_reset_saddr(sk);
	return err;
}

/*
 * proto->init: an ESTP sock on the IPv6 table (tcp_v6_init_sock).
 */
static int estp_v6_init_sock(struct sock *sk)
{
	estp_init_sock(sk);
	estp_sk(sk)->af_ops = &estp_ipv6_specific;
	return 0;
}

/*
 * proto->destroy (tcp_v6_destroy_sock): IPv4's, "as if tcp_ipv6 were a
 * subclass of tcp_ipv4"; then, before 6.2, the IPv6 state, which later
 * kernels free from sk_destruct (inet6_sock_destruct()).
 */
static void estp_v6_destroy_sock(struct sock *sk)
{
	estp_destroy_sock(sk);
	estp_inet6_destroy_sock(sk);
}

/* The IPv6 operations under the state machine (ipv6_specific). */
static const struct estp_af_ops estp_ipv6_specific = {
	.ctl		= &estp_v6_ctl_ops,
	.queue_xmit	= inet6_csk_xmit,
	.send_check	= estp_v6_send_check,
	.rebuild_header	= estp_v6_rebuild_header,
	.conn_request	= estp_v6_conn_request,
	.syn_recv_sock	= estp_v6_syn_recv_sock,
	.net_header_len	= sizeof(struct ipv6hdr),
	.setsockopt	= ipv6_setsockopt,
	.getsockopt	= ipv6_getsockopt,
	.mtu_reduced	= estp_v6_mtu_reduced,
};

/* An IPv6 sock with a v4-mapped peer: IPv4 under it (ipv6_mapped). */
static const struct estp_af_ops estp_ipv6_mapped = {
	.ctl		= &estp_v4_ctl_ops,
	.queue_xmit	= ip_queue_xmit,
	.send_check	= estp_v4_send_check,
	.rebuild_header	= estp_v4_rebuild_header,
	.conn_request	= estp_v6_conn_request,
	.syn_recv_sock	= estp_v6_syn_recv_sock,
	.net_header_len	= sizeof(struct iphdr),
	.setsockopt	= ipv6_setsockopt,
	.getsockopt	= ipv6_getsockopt,
	.mtu_reduced	= estp_v4_mtu_reduced,
};

/* IPv6 socks' minisocks, mapped ones too (tcp6_timewait_sock_ops). */
static struct timewait_sock_ops estp6_timewait_sock_ops = {
	.twsk_obj_size	= sizeof(struct estp_timewait_sock),
};

/* estp_prot for AF_INET6 (tcpv6_prot): its accounting is estp_prot's. */
struct proto estpv6_prot = {
	.name		= "ESTPv6",
	.owner		= THIS_MODULE,
	.init		= estp_v6_init_sock,
	.destroy	= estp_v6_destroy_sock,
	.close		= estp_close,
	.diag_destroy	= estp_abort,
	.connect	= estp_v6_connect,
	.disconnect	= estp_disconnect,
	.shutdown	= estp_shutdown,
	.hash		= estp_hash,
	.unhash		= estp_unhash,
	.get_port	= estp_get_port,
	.put_port	= estp_put_port,
	.backlog_rcv	= estp_v6_do_rcv,
	.release_cb	= estp_release_cb,
	.keepalive	= estp_set_keepalive,
	.stream_memory_free = estp_stream_memory_free,
	.slab_flags	= SLAB_TYPESAFE_BY_RCU,
	/* Request socks live in estp_prot's slab. */
	.twsk_prot	= &estp6_timewait_sock_ops,
	.setsockopt	= estp_setsockopt,
	.getsockopt	= estp_getsockopt,
	.obj_size	= sizeof(struct estp6_sock),
	ESTP_IPV6_PINFO_OFFSET(struct estp6_sock, inet6)
	.enter_memory_pressure	= estp_enter_memory_pressure,
	.leave_memory_pressure	= estp_leave_memory_pressure,
	.memory_allocated	= &estp_memory_allocated,
	.per_cpu_fw_alloc	= &estp_memory_per_cpu_fw_alloc,
	.sockets_allocated	= &estp_sockets_allocated,
	.memory_pressure	= &estp_memory_pressure,
	.sysctl_mem		= estp_sysctl_mem,
	.max_header		= L1_CACHE_ALIGN(128 + MAX_HEADER),
};

/* As inet6_stream_ops, with ESTP's stream methods. */
static const struct proto_ops estp6_stream_ops = {
	.family		= PF_INET6,
	.owner		= THIS_MODULE,
	.release	= inet6_release,
	.bind		= inet6_bind,
	.connect	= inet_stream_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= inet_accept,
	.getname	= inet6_getname,
	.poll		= estp_poll,
	.ioctl		= inet6_ioctl,
	.listen		= estp_listen,
	.shutdown	= inet_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= estp_stream_sendmsg,
	.recvmsg	= estp_stream_recvmsg,
	.mmap		= sock_no_mmap,
	.set_rcvlowat	= estp_set_rcvlowat,
	.set_peek_off	= ESTP_SET_PEEK_OFF,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= inet6_compat_ioctl,
#endif
};

static struct inet_protosw estp6_protosw = {
	.type		= SOCK_STREAM,
	.protocol	= IPPROTO_ESTP,		/* set from ipproto at load */
	.prot		= &estpv6_prot,
	.ops		= &estp6_stream_ops,
	/* Not INET_PROTOSW_PERMANENT, as IPv4's: rmmod must take it out. */
};

static const struct inet6_protocol estp6_protocol = {
	.handler	= estp_v6_rcv,
	.err_handler	= estp_v6_err,
	.flags		= INET6_PROTO_NOPOLICY | INET6_PROTO_FINAL,
};

/**
 * estp_v6_init - register the IPv6 family, unless IPv6 is disabled
 *
 * With ipv6.disable=1 the IPv6 stack never initialised its protocol and
 * protosw tables: registering in them would touch uninitialised lists, so
 * nothing is registered and AF_INET6 ESTP sockets fail as TCP's do
 * (EAFNOSUPPORT from the socket layer).  IPv4 is served either way.
 *
 * Return: 0, or the error of a registration.
 */
int estp_v6_init(void)
{
	int err;

	if (!ipv6_mod_enabled()) {
		pr_info("IPv6 is disabled: serving IPv4 only\n");
		return 0;
	}
	err = proto_register(&estpv6_prot, 1);
	if (err)
		return err;
	estp_v6_proto_registered = true;
	estpv6_prot.sysctl_rmem = estp_prot.sysctl_rmem;
	estpv6_prot.sysctl_wmem = estp_prot.sysctl_wmem;
	/* estp_prot's: their signatures differ between kernels (compat.h). */
	estpv6_prot.accept = estp_prot.accept;
	estpv6_prot.ioctl = estp_prot.ioctl;
	/* The handler first: a socket must never exist without it. */
	err = inet6_add_protocol(&estp6_protocol, estp_ipproto);
	if (err) {
		pr_err("IPv6 protocol %d is already taken\n", estp_ipproto);
		goto out_proto;
	}
	estp6_protosw.protocol = estp_ipproto;
	err = inet6_register_protosw(&estp6_protosw);
	if (err)
		goto out_protocol;
	estp_v6_registered = true;
	return 0;

out_protocol:
	inet6_del_protocol(&estp6_protocol, estp_ipproto);
	synchronize_net();
out_proto:
	estp_v6_proto_exit();
	return err;
}

/**
 * estp_v6_exit - unregister the IPv6 family's handler and protosw
 *
 * Its proto stays: time-wait minisocks in its slab outlive the handler
 * until unregister_pernet_subsys() purges them (estp_v6_proto_exit()).
 */
void estp_v6_exit(void)
{
	if (!estp_v6_registered)
		return;
	inet6_unregister_protosw(&estp6_protosw);
	inet6_del_protocol(&estp6_protocol, estp_ipproto);
	synchronize_net();
	estp_v6_registered = false;
}

/**
 * estp_v6_proto_exit - unregister estpv6_prot, once no minisock is left
 *	in its slab (after unregister_pernet_subsys())
 */
void estp_v6_proto_exit(void)
{
	if (!estp_v6_proto_registered)
		return;
	proto_unregister(&estpv6_prot);
	estp_v6_proto_registered = false;
}
