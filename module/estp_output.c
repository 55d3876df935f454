// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP output, the counterpart of net/ipv4/tcp_output.c: segment checksums
 * and the path for segments that no full sock sends (RSTs for now).
 */
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/route.h>

#include "estp.h"

/**
 * estp_v4_csum - fill in the checksum of an outgoing segment
 * @skb: the segment, data at the ESTP header, nothing after the payload
 * @saddr: IPv4 source address
 * @daddr: IPv4 destination address
 *
 * The checksum is mandatory and covers the pseudo-header with ESTP's
 * protocol number; it is computed here in full (no offload knows ESTP).
 */
void estp_v4_csum(struct sk_buff *skb, __be32 saddr, __be32 daddr)
{
	struct estphdr *th = estp_hdr(skb);

	th->check = 0;
	th->check = csum_tcpudp_magic(saddr, daddr, skb->len, estp_ipproto,
				      skb_checksum(skb, 0, skb->len, 0));
	skb->ip_summed = CHECKSUM_NONE;
}

/* A route for a segment that belongs to no full sock. */
static struct rtable *estp_v4_route_ctl(struct net *net, struct flowi4 *fl4,
					const struct estphdr *th, __be32 saddr,
					__be32 daddr)
{
	*fl4 = (struct flowi4) {
		.daddr = daddr,
		.saddr = saddr,
		.flowi4_proto = estp_ipproto,
		.fl4_sport = th->source,
		.fl4_dport = th->dest,
	};
	return ip_route_output_key(net, fl4);
}

/* Checksum, prepend the IPv4 header and send on the route found for it. */
static int estp_v4_xmit_ctl(struct net *net, struct sk_buff *skb,
			    struct rtable *rt, const struct flowi4 *fl4, u8 tos)
{
	struct iphdr *iph;

	estp_v4_csum(skb, fl4->saddr, fl4->daddr);
	skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph = ip_hdr(skb);
	iph->version = 4;
	iph->ihl = sizeof(*iph) >> 2;
	iph->tos = tos;
	iph->tot_len = htons(skb->len);
	iph->frag_off = htons(IP_DF);
	iph->ttl = ip4_dst_hoplimit(&rt->dst);
	iph->protocol = estp_ipproto;
	iph->saddr = fl4->saddr;
	iph->daddr = fl4->daddr;
	skb_dst_set(skb, &rt->dst);
	ip_select_ident(net, skb, NULL);
	ip_send_check(iph);
	skb->protocol = htons(ETH_P_IP);
	ESTP_INC_STATS(net, ESTP_MIB_OUTSEGS);
	return ip_local_out(net, NULL, skb);
}

/**
 * estp_v4_send_ctl - send a segment that belongs to no full sock
 * @net: the netns to send in
 * @skb: the segment, data at its ESTP header, headroom for IP and link
 * @saddr: source address (the address the segment we answer was sent to)
 * @daddr: destination address
 * @tos: IP TOS
 *
 * Routes, checksums and prepends the IPv4 header itself: ip_build_and_send_pkt()
 * and ip_send_unicast_reply() are not exported.  The skb has no owner.
 *
 * Return: 0 or a negative error; the skb is consumed either way.
 */
int estp_v4_send_ctl(struct net *net, struct sk_buff *skb, __be32 saddr,
		     __be32 daddr, u8 tos)
{
	struct flowi4 fl4;
	struct rtable *rt;

	rt = estp_v4_route_ctl(net, &fl4, estp_hdr(skb), saddr, daddr);
	if (IS_ERR(rt)) {
		kfree_skb(skb);
		return PTR_ERR(rt);
	}
	return estp_v4_xmit_ctl(net, skb, rt, &fl4, tos);
}

/* Our MSS for a route: its MTU less the IPv4 and ESTP headers. */
static u16 estp_mss_for_mtu(unsigned int mtu)
{
	return min_t(unsigned int, mtu - sizeof(struct iphdr) - sizeof(struct estphdr),
		     U16_MAX);
}

/* The MSS option (kind 2, length 4), right after the 20-byte header. */
static void estp_put_mss_option(struct estphdr *th, u16 mss)
{
	u8 *opt = (u8 *)(th + 1);

	opt[0] = 2;
	opt[1] = 4;
	put_unaligned_be16(mss, opt + 2);
}

/**
 * estp_alloc_ctl_skb - a buffer for a header-only segment
 * @len: header length, options included, a multiple of 4
 * @gfp: allocation flags
 *
 * Return: the skb with its ESTP header zeroed but for the data offset, or NULL.
 */
struct sk_buff *estp_alloc_ctl_skb(unsigned int len, gfp_t gfp)
{
	struct sk_buff *skb;

	skb = alloc_skb(MAX_HEADER + sizeof(struct iphdr) + len, gfp);
	if (!skb)
		return NULL;
	skb_reserve(skb, MAX_HEADER + sizeof(struct iphdr));
	skb_reset_transport_header(skb);
	memset(skb_put(skb, len), 0, len);
	estp_hdr(skb)->doff = len >> 2;
	return skb;
}

/*
 * Send a header-only segment of a full sock: fill in the header, checksum,
 * and hand it to IP with the sock's route (tcp_transmit_skb).  The skb is
 * charged to the sock, so the sock outlives it.
 */
static int estp_transmit_skb(struct sock *sk, struct sk_buff *skb, u32 seq,
			     u8 flags)
{
	struct inet_sock *inet = inet_sk(sk);
	struct estp_sock *esk = estp_sk(sk);
	struct estphdr *th = estp_hdr(skb);
	int err;

	th->source = inet->inet_sport;
	th->dest = inet->inet_dport;
	th->seq = htonl(seq);
	((u8 *)th)[13] = flags;
	if (flags & ESTP_FLAG_ACK)
		th->ack_seq = htonl(esk->rcv_nxt);
	th->window = htons(estp_select_window(sk));
	skb_set_owner_w(skb, sk);
	esk->af_ops->send_check(sk, skb);
	err = esk->af_ops->queue_xmit(sk, skb, &inet->cork.fl);
	if (!err)
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OUTSEGS);
	return net_xmit_eval(err);
}

/**
 * estp_select_window - the receive window to advertise (tcp_select_window)
 * @sk: the socket
 *
 * The free receive buffer in payload bytes (estp_rcv_space()); never less
 * than what is left of the last window, which RFC 9293 forbids taking
 * back.  No window scaling yet: at most 64 KiB.
 *
 * Return: the window, for the header.
 */
u16 estp_select_window(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	int space = estp_rcv_space(sk);
	s32 cur = (s32)(esk->rcv_wup + esk->rcv_wnd - esk->rcv_nxt);
	u32 win = clamp_t(int, space, 0, U16_MAX);

	if (cur > 0 && win < cur)
		win = min_t(u32, cur, U16_MAX);
	esk->rcv_wnd = win;
	esk->rcv_wup = esk->rcv_nxt;
	return win;
}

/**
 * estp_v4_send_check - af_ops->send_check: the checksum of a sock's segment
 * @sk: the socket, for its addresses
 * @skb: the segment, data at the ESTP header
 */
void estp_v4_send_check(struct sock *sk, struct sk_buff *skb)
{
	estp_v4_csum(skb, inet_sk(sk)->inet_saddr, inet_sk(sk)->inet_daddr);
}

/*
 * The MSS a connecting sock announces: from its cached route, clamped by
 * ESTP_MAXSEG.
 */
static u16 estp_advertised_mss(struct sock *sk)
{
	const struct dst_entry *dst = __sk_dst_get(sk);
	u16 user_mss = READ_ONCE(estp_sk(sk)->user_mss);
	u16 mss;

	mss = estp_mss_for_mtu(dst ? dst_mtu(dst) : IPV4_MIN_MTU);
	return user_mss ? min(mss, user_mss) : mss;
}

/**
 * estp_sync_mss - the MSS segments may carry, from the path MTU (tcp_sync_mss)
 * @sk: the socket
 * @pmtu: the path MTU
 *
 * The least of what the path takes, what the peer announced and ESTP_MAXSEG.
 */
void estp_sync_mss(struct sock *sk, u32 pmtu)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 mss = pmtu - esk->af_ops->net_header_len - sizeof(struct estphdr);

	if (esk->mss_clamp)
		mss = min_t(u32, mss, esk->mss_clamp);
	if (esk->user_mss)
		mss = min_t(u32, mss, esk->user_mss);
	/* RFC 9293 3.7.1's floor, as TCP's tcp_mtu_to_mss() keeps 48 bytes. */
	WRITE_ONCE(esk->mss_cache, max_t(u32, mss, 48));
}

/**
 * estp_send_syn - (re)send the SYN of a connecting sock
 * @sk: the socket, in SYN_SENT, or SYN_RECV after a simultaneous open;
 *	locked or owned by its timer
 *
 * Return: 0 or the transmit error.
 */
int estp_send_syn(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;
	u8 flags = ESTP_FLAG_SYN;

	/* After a simultaneous open the SYN acknowledges the peer's (SYN_RECV). */
	if (sk->sk_state == TCP_SYN_RECV)
		flags |= ESTP_FLAG_ACK;
	skb = estp_alloc_ctl_skb(sizeof(struct estphdr) + 4, sk_gfp_mask(sk, GFP_ATOMIC));
	if (!skb)
		return -ENOBUFS;
	estp_put_mss_option(estp_hdr(skb), estp_advertised_mss(sk));
	return estp_transmit_skb(sk, skb, esk->iss, flags);
}

/**
 * estp_connect - send the SYN and arm its timer (tcp_connect)
 * @sk: the socket, locked, in SYN_SENT, hashed, its ISS chosen
 *
 * The SYN is sent again by the retransmit timer until the handshake ends or
 * the retries run out.
 *
 * Return: 0; a failed first transmission is left to the timer, as in TCP.
 */
int estp_connect(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->snd_una = esk->iss;
	esk->snd_nxt = esk->iss + 1;
	esk->write_seq = esk->iss + 1;
	esk->rcv_nxt = 0;
	esk->rcv_wnd = 0;
	esk->rcv_wup = 0;
	esk->max_window = 0;
	esk->retransmits = 0;
	esk->fin_sent = 0;	/* a sock may connect again after a disconnect */
	esk->fin_queued = 0;
	esk->in_recovery = 0;
	esk->rto = ESTP_TIMEOUT_INIT;
	esk->srtt_us = 0;
	esk->rttvar_us = 0;
	esk->syn_retrans = 0;
	esk->syn_tx_us = estp_clock_us();
	estp_send_syn(sk);
	estp_reset_xmit_timer(sk);
	return 0;
}

/**
 * estp_send_ack - send a pure ACK for what has been received
 * @sk: the socket, locked or owned by the receive path
 */
void estp_send_ack(struct sock *sk)
{
	struct sk_buff *skb = estp_alloc_ctl_skb(sizeof(struct estphdr), GFP_ATOMIC);

	if (skb)
		estp_transmit_skb(sk, skb, estp_sk(sk)->snd_nxt, ESTP_FLAG_ACK);
}

/**
 * estp_write_wakeup - a keepalive probe (tcp_write_wakeup without data)
 * @sk: the socket, owned by its timer
 *
 * An ACK one below snd_una: old to the peer, which answers with an ACK.
 *
 * Return: 0 when sent, -ENOBUFS otherwise.
 */
int estp_write_wakeup(struct sock *sk)
{
	struct sk_buff *skb = estp_alloc_ctl_skb(sizeof(struct estphdr), GFP_ATOMIC);

	if (!skb)
		return -ENOBUFS;
	estp_transmit_skb(sk, skb, estp_sk(sk)->snd_una - 1, ESTP_FLAG_ACK);
	return 0;
}

/*
 * RFC 5961 7: at most net.estp.challenge_ack_limit challenge ACKs a second
 * in a netns, with a random share of the second's budget as TCP does, so
 * that an attacker cannot count them.
 */
static bool estp_challenge_ack_allowed(struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	int limit = READ_ONCE(en->challenge_ack_limit);
	u32 now = jiffies / HZ;
	int count;

	if (limit >= INT_MAX)
		return true;
	if (!limit)
		return false;
	if (now != READ_ONCE(en->challenge_timestamp)) {
		u32 half = (limit + 1) >> 1;

		WRITE_ONCE(en->challenge_timestamp, now);
		atomic_set(&en->challenge_count, half + get_random_u32_below(limit));
	}
	count = atomic_read(&en->challenge_count);
	return count > 0 && atomic_dec_return(&en->challenge_count) >= 0;
}

/**
 * estp_send_challenge_ack - an ACK for a suspicious RST or SYN
 *	(tcp_send_challenge_ack)
 * @sk: the socket, locked or owned by the receive path
 *
 * One per socket per net.estp.invalid_ratelimit ms, then the netns's limit.
 */
void estp_send_challenge_ack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct net *net = sock_net(sk);
	u32 gap = msecs_to_jiffies(READ_ONCE(estp_pernet(net)->invalid_ratelimit));
	u32 now = jiffies;

	if (esk->last_oow_ack_time && now - esk->last_oow_ack_time < gap)
		return;
	esk->last_oow_ack_time = now ? : 1;
	if (!estp_challenge_ack_allowed(net))
		return;
	ESTP_INC_STATS(net, ESTP_MIB_CHALLENGEACK);
	estp_send_ack(sk);
}

/**
 * estp_send_active_reset - abort the connection towards the peer
 * @sk: the socket, locked
 * @gfp: allocation flags
 */
void estp_send_active_reset(struct sock *sk, gfp_t gfp)
{
	struct sk_buff *skb = estp_alloc_ctl_skb(sizeof(struct estphdr), gfp);

	if (!skb)
		return;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OUTRSTS);
	estp_transmit_skb(sk, skb, estp_sk(sk)->snd_nxt, ESTP_FLAG_RST | ESTP_FLAG_ACK);
}

/**
 * estp_v4_send_synack - send the SYN-ACK of a request sock
 * @listener: the listener, for the netns and the TOS
 * @req: the request sock
 *
 * Sent without an owner: the request sock is no full sock (see estp.h).
 *
 * Return: 0 or a negative error.
 */
int estp_v4_send_synack(const struct sock *listener, struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	const struct estp_request_sock *ereq = estp_rsk(req);
	struct net *net = sock_net(listener);
	struct estphdr *th;
	struct sk_buff *skb;
	struct flowi4 fl4;
	struct rtable *rt;

	skb = estp_alloc_ctl_skb(sizeof(*th) + 4, GFP_ATOMIC);
	if (!skb)
		return -ENOBUFS;
	th = estp_hdr(skb);
	th->source = htons(ireq->ir_num);
	th->dest = ireq->ir_rmt_port;
	th->seq = htonl(ereq->snt_isn);
	th->ack_seq = htonl(ereq->rcv_isn + 1);
	th->syn = 1;
	th->ack = 1;
	th->window = htons(min_t(u32, READ_ONCE(listener->sk_rcvbuf), U16_MAX));
	/* The child's RTT sample, if this one is never resent. */
	estp_rsk(req)->snt_synack_us = estp_clock_us();
	rt = estp_v4_route_ctl(net, &fl4, th, ireq->ir_loc_addr, ireq->ir_rmt_addr);
	if (IS_ERR(rt)) {
		kfree_skb(skb);
		return PTR_ERR(rt);
	}
	/* Our own MSS, from the route back to the peer. */
	estp_put_mss_option(th, estp_mss_for_mtu(dst_mtu(&rt->dst)));
	return estp_v4_xmit_ctl(net, skb, rt, &fl4, inet_sk(listener)->tos);
}

/*
 * Send one segment of the write queue, new or again: a clone goes out, the
 * original stays queued until acknowledged (tcp_transmit_skb's clone_it).
 * A clone still in flight shares the headroom, so a copy goes instead.
 * The original keeps the send time, for the RTT sample its ACK gives.
 */
static int estp_transmit_data(struct sock *sk, struct sk_buff *skb)
{
	struct sk_buff *nskb;

	ESTP_SKB_CB(skb)->tx_us = estp_clock_us();

	if (skb_cloned(skb))
		nskb = pskb_copy(skb, GFP_ATOMIC);
	else
		nskb = skb_clone(skb, GFP_ATOMIC);
	if (!nskb)
		return -ENOBUFS;
	/* Fault point "xmit_data": the segment is lost on the way. */
	if (estp_fault("xmit_data")) {
		kfree_skb(nskb);
		return 0;
	}
	skb_push(nskb, sizeof(struct estphdr));
	skb_reset_transport_header(nskb);
	memset(nskb->data, 0, sizeof(struct estphdr));
	estp_hdr(nskb)->doff = sizeof(struct estphdr) >> 2;
	return estp_transmit_skb(sk, nskb, ESTP_SKB_CB(skb)->seq,
				 ESTP_FLAG_ACK | ESTP_FLAG_PSH);
}

/**
 * estp_retransmit_skb - send a queued segment again (tcp_retransmit_skb)
 * @sk: the socket, locked or owned by its timer
 * @skb: the segment, on the write queue
 *
 * Return: 0 or the transmit error.
 */
int estp_retransmit_skb(struct sock *sk, struct sk_buff *skb)
{
	struct estp_skb_cb *cb = ESTP_SKB_CB(skb);
	int err = estp_transmit_data(sk, skb);

	if (err)
		return err;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RETRANSSEGS);
	/* Its ACK can no longer tell which copy it answers (Karn). */
	cb->sacked |= ESTP_CB_EVER_RETRANS;
	if (!(cb->sacked & ESTP_CB_RETRANS)) {
		cb->sacked |= ESTP_CB_RETRANS;
		estp_sk(sk)->retrans_out++;
	}
	return 0;
}

/**
 * estp_xmit_retransmit_queue - resend what an RTO marked lost, as far as
 *	the congestion window allows (tcp_xmit_retransmit_queue)
 * @sk: the socket, locked or owned by the receive path
 */
void estp_xmit_retransmit_queue(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	skb_queue_walk(&sk->sk_write_queue, skb) {
		u8 sacked = ESTP_SKB_CB(skb)->sacked;

		if (skb == esk->send_head ||
		    estp_packets_in_flight(esk) >= esk->snd_cwnd)
			break;
		if ((sacked & ESTP_CB_LOST) && !(sacked & ESTP_CB_RETRANS) &&
		    estp_retransmit_skb(sk, skb))
			break;
	}
}

/* Our FIN, now that every byte before it has been sent. */
static void estp_send_fin_now(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->fin_sent = 1;
	esk->snd_nxt = esk->write_seq + 1;
	estp_retransmit_fin(sk);
	if (!timer_pending(&esk->retransmit_timer))
		estp_reset_xmit_timer(sk);
}

/**
 * estp_push - send what the windows let go (tcp_write_xmit)
 * @sk: the socket, locked or owned by the receive path or a timer
 *
 * Queued segments go in order while fewer than snd_cwnd are in flight and
 * they fit in the peer's window, then the FIN
 * if one is queued behind them.  The retransmit timer runs while anything
 * is unacknowledged; with nothing in flight and the window closed it probes
 * the window instead (the persist timer).
 */
void estp_push(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	esk->cwnd_limited = 0;
	while ((skb = esk->send_head)) {
		if (estp_packets_in_flight(esk) >= esk->snd_cwnd) {
			esk->cwnd_limited = 1;
			break;
		}
		if (estp_after(ESTP_SKB_CB(skb)->end_seq, esk->snd_una + esk->snd_wnd))
			break;
		if (!esk->packets_out)
			estp_ca_event(sk, ESTP_CA_EVENT_TX_START);
		if (estp_transmit_data(sk, skb))
			break;
		ESTP_SKB_CB(skb)->sacked = 0;
		esk->packets_out++;
		esk->snd_nxt = ESTP_SKB_CB(skb)->end_seq;
		esk->send_head = skb_queue_is_last(&sk->sk_write_queue, skb) ?
				 NULL : skb->next;
	}
	if (!esk->send_head && esk->fin_queued && !esk->fin_sent) {
		estp_send_fin_now(sk);
		return;
	}
	if ((esk->snd_una != esk->snd_nxt || esk->send_head) &&
	    !timer_pending(&esk->retransmit_timer))
		estp_reset_xmit_timer(sk);
}

/**
 * estp_send_fin - queue our FIN behind the data (tcp_send_fin)
 * @sk: the socket, locked, just moved to FIN_WAIT1 or LAST_ACK
 *
 * It goes when every queued byte has been sent; the retransmit timer sends
 * it again until it is acknowledged.
 */
void estp_send_fin(struct sock *sk)
{
	estp_sk(sk)->fin_queued = 1;
	estp_push(sk);
}

/**
 * estp_retransmit_fin - (re)send the FIN that ends snd_nxt
 * @sk: the socket, locked or owned by its timer
 */
void estp_retransmit_fin(struct sock *sk)
{
	struct sk_buff *skb;

	skb = estp_alloc_ctl_skb(sizeof(struct estphdr), sk_gfp_mask(sk, GFP_ATOMIC));
	if (skb)
		estp_transmit_skb(sk, skb, estp_sk(sk)->snd_nxt - 1,
				  ESTP_FLAG_FIN | ESTP_FLAG_ACK);
}

/**
 * estp_v4_send_tw_ack - ACK from a time-wait minisock (tcp_v4_timewait_ack)
 * @tw: the minisock
 */
void estp_v4_send_tw_ack(struct inet_timewait_sock *tw)
{
	const struct estp_timewait_sock *etw = estp_twsk(tw);
	struct sk_buff *skb = estp_alloc_ctl_skb(sizeof(struct estphdr), GFP_ATOMIC);
	struct estphdr *th;

	if (!skb)
		return;
	th = estp_hdr(skb);
	th->source = tw->tw_sport;
	th->dest = tw->tw_dport;
	th->seq = htonl(etw->snd_nxt);
	th->ack_seq = htonl(etw->rcv_nxt);
	th->ack = 1;
	estp_v4_send_ctl(twsk_net(tw), skb, tw->tw_rcv_saddr, tw->tw_daddr, 0);
}
