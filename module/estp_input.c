// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP input, the counterpart of net/ipv4/tcp_input.c: the state switch for
 * segments that reach a full sock.
 */
#include <net/ip.h>
#include <net/sock.h>

#include "estp.h"

/**
 * estp_reset - the peer reset the connection (tcp_reset)
 * @sk: the socket, locked or owned by the receive path
 *
 * The owner sees ECONNREFUSED for a refused connect(), EPIPE after it had
 * received the peer's FIN, ECONNRESET otherwise.
 */
void estp_reset(struct sock *sk)
{
	int err;

	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		err = ECONNREFUSED;
		break;
	case TCP_CLOSE_WAIT:
		err = EPIPE;
		break;
	case TCP_CLOSE:
		return;
	default:
		err = ECONNRESET;
	}
	WRITE_ONCE(sk->sk_err, err);
	/* sk_err before the state change that the owner may be waiting on */
	smp_wmb();
	estp_done(sk);
	if (!sock_flag(sk, SOCK_DEAD))
		sk_error_report(sk);
}

/**
 * estp_parse_mss - the MSS option of a SYN
 * @th: the header, options included (estp_v4_rcv() pulled them)
 *
 * Return: the peer's MSS, or 0 without the option (RFC 9293: then 536).
 */
u16 estp_parse_mss(const struct estphdr *th)
{
	const u8 *opt = (const u8 *)(th + 1);
	int len = th->doff * 4 - sizeof(*th);

	while (len > 0) {
		if (opt[0] == 0)		/* end of options */
			break;
		if (opt[0] == 1) {		/* no-op */
			opt++;
			len--;
			continue;
		}
		if (len < 2 || opt[1] < 2 || opt[1] > len)
			break;
		if (opt[0] == 2 && opt[1] == 4)
			return get_unaligned_be16(opt + 2);
		len -= opt[1];
		opt += opt[1];
	}
	return 0;
}

/*
 * RFC 6298 2.2 and 2.3 (tcp_rtt_estimator): SRTT and RTTVAR from one RTT
 * measurement, kept scaled as TCP keeps them: srtt_us is 8 * SRTT, so that
 * SRTT += (R - SRTT) / 8 is one addition, and rttvar_us is 4 * RTTVAR, so
 * that RTTVAR += (|R - SRTT| - RTTVAR) / 4 is one too, and is the 4 * RTTVAR
 * of the RTO itself.
 */
static void estp_rtt_estimator(struct estp_sock *esk, u32 rtt_us)
{
	s32 err;

	if (!esk->srtt_us) {
		/* The first: SRTT = R, RTTVAR = R / 2. */
		esk->srtt_us = rtt_us << 3;
		esk->rttvar_us = rtt_us << 1;
		return;
	}
	err = (s32)(rtt_us - (esk->srtt_us >> 3));
	esk->rttvar_us += abs(err) - (esk->rttvar_us >> 2);
	esk->srtt_us += err;
	/* Nothing measures under a microsecond: keep "no sample" apart. */
	esk->srtt_us = max(esk->srtt_us, 1U);
}

/*
 * RFC 6298 2.3 and 2.4 (tcp_set_rto): RTO = SRTT + max(G, 4 * RTTVAR), G
 * being the timer's granularity (a jiffy), within TCP's 200 ms and 120 s.
 */
static void estp_set_rto(struct estp_sock *esk)
{
	u32 g = jiffies_to_usecs(1);
	u64 rto_us = (esk->srtt_us >> 3) + max(g, esk->rttvar_us);
	unsigned long rto = usecs_to_jiffies(min_t(u64, rto_us, U32_MAX));

	esk->rto = clamp_t(unsigned long, rto, ESTP_RTO_MIN, ESTP_RTO_MAX);
}

/**
 * estp_rtt_sample - an RTT measurement, from a segment never sent twice
 *	(tcp_ack_update_rtt)
 * @sk: the socket, locked or owned by the receive path
 * @rtt_us: the measurement; negative ones (a clock gone backwards) are ignored
 */
void estp_rtt_sample(struct sock *sk, long rtt_us)
{
	struct estp_sock *esk = estp_sk(sk);

	if (rtt_us < 0)
		return;
	estp_rtt_estimator(esk, min_t(long, rtt_us, U32_MAX >> 3));
	estp_set_rto(esk);
}

/**
 * estp_init_transfer - a connection becomes ESTABLISHED (tcp_init_transfer)
 * @sk: the socket, locked or owned by the receive path
 *
 * The MSS from the path and the peer's option, keepalives if asked for, and
 * congestion control: RFC 6928's initial window of 10 segments, or 1 when
 * the handshake had to be resent (RFC 5681 3.1); an RTO of 3 s (RFC 6298
 * 5.7) when it was and gave no RTT sample.
 */
void estp_init_transfer(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct dst_entry *dst = __sk_dst_get(sk);

	/* A child has sent nothing itself yet: it may have no route. */
	if (!dst && !esk->af_ops->rebuild_header(sk))
		dst = __sk_dst_get(sk);
	estp_sync_mss(sk, dst ? dst_mtu(dst) : IPV4_MIN_MTU);
	esk->rcv_tstamp = jiffies;
	esk->probes_out = 0;
	if (sock_flag(sk, SOCK_KEEPOPEN))
		estp_reset_keepalive_timer(sk, estp_keepalive_time_when(esk));

	if (esk->syn_retrans && !esk->srtt_us)
		esk->rto = ESTP_TIMEOUT_FALLBACK;
	esk->snd_cwnd = esk->syn_retrans ? 1 : ESTP_INIT_CWND;
	esk->snd_cwnd_cnt = 0;
	esk->snd_ssthresh = ESTP_INFINITE_SSTHRESH;
	esk->prior_cwnd = esk->snd_cwnd;
	esk->cwnd_limited = 0;
	esk->ca_state = ESTP_CA_OPEN;
	estp_init_congestion_control(sk);
}

/* The handshake of an active open ends (tcp_finish_connect). */
static void estp_finish_connect(struct sock *sk)
{
	estp_set_state(sk, TCP_ESTABLISHED);
	estp_clear_xmit_timers(sk);
	estp_init_transfer(sk);
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
	}
}

/*
 * A segment for a sock in SYN_SENT (tcp_rcv_synsent_state_process).
 * Return: 1 when the caller must answer it with a RST, 0 when consumed.
 */
static int estp_rcv_synsent_state_process(struct sock *sk, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct estp_sock *esk = estp_sk(sk);

	if (th->ack) {
		/* RFC 9293 3.10.7.3: only an ACK of our SYN is acceptable. */
		if (ntohl(th->ack_seq) != esk->snd_nxt)
			return !th->rst;
		if (th->rst) {
			estp_reset(sk);
			return 0;
		}
		if (!th->syn)
			return 0;
		esk->rcv_nxt = ntohl(th->seq) + 1;
		esk->copied_seq = esk->rcv_nxt;
		/* Our SYN's window was relative to nothing: start afresh. */
		esk->rcv_wup = esk->rcv_nxt;
		esk->rcv_wnd = 0;
		esk->snd_una = ntohl(th->ack_seq);
		esk->snd_wnd = ntohs(th->window);
		esk->snd_wl1 = ntohl(th->seq);
		esk->max_window = esk->snd_wnd;
		esk->mss_clamp = estp_parse_mss(th) ? : ESTP_MSS_DEFAULT;
		/* Karn: only a SYN sent once measures the path. */
		if (!esk->syn_retrans)
			estp_rtt_sample(sk, estp_clock_us() - esk->syn_tx_us);
		estp_finish_connect(sk);
		estp_send_ack(sk);
		return 0;
	}
	if (th->syn && !th->rst) {
		/*
		 * Simultaneous open (RFC 9293 3.5): the peer's SYN crossed ours.
		 * SYN_RECV, and our SYN again, now with an ACK of theirs.
		 */
		esk->rcv_nxt = ntohl(th->seq) + 1;
		esk->copied_seq = esk->rcv_nxt;
		/* Our SYN's window was relative to nothing: start afresh. */
		esk->rcv_wup = esk->rcv_nxt;
		esk->rcv_wnd = 0;
		esk->mss_clamp = estp_parse_mss(th) ? : ESTP_MSS_DEFAULT;
		estp_set_state(sk, TCP_SYN_RECV);
		estp_send_syn(sk);
		return 0;
	}
	/* A RST without ACK: not for this connection. */
	return 0;
}

/* The peer's FIN, in order (tcp_fin). */
static void estp_fin(struct sock *sk)
{
	estp_sk(sk)->rcv_nxt++;
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
	sock_set_flag(sk, SOCK_DONE);

	switch (sk->sk_state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		estp_set_state(sk, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT1:
		/* Both sides closed at once: RFC 9293's simultaneous close. */
		estp_send_ack(sk);
		estp_set_state(sk, TCP_CLOSING);
		return;
	case TCP_FIN_WAIT2:
		estp_send_ack(sk);
		estp_time_wait(sk, TCP_TIME_WAIT, 0);
		return;
	default:
		/* CLOSE_WAIT, CLOSING, LAST_ACK: a FIN already counted. */
		return;
	}
	estp_send_ack(sk);
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_HUP);
	}
}

/* Our FIN is acknowledged: FIN_WAIT1 -> FIN_WAIT2, CLOSING -> TIME_WAIT,
 * LAST_ACK -> done.  Return: true when sk is gone from the caller's hands.
 */
static bool estp_fin_acked(struct sock *sk)
{
	estp_clear_xmit_timers(sk);
	switch (sk->sk_state) {
	case TCP_FIN_WAIT1:
		estp_set_state(sk, TCP_FIN_WAIT2);
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | SEND_SHUTDOWN);
		if (sock_flag(sk, SOCK_DEAD)) {
			/*
			 * An orphan waits for the peer's FIN as a minisock, or
			 * with ESTP_LINGER2 < 0 not at all (TCP counts that as
			 * TCPAbortOnData, ESTP as AbortOnLinger).
			 */
			if (READ_ONCE(estp_sk(sk)->linger2) < 0) {
				estp_send_active_reset(sk, GFP_ATOMIC);
				ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONLINGER);
				estp_done(sk);
				return true;
			}
			estp_time_wait(sk, TCP_FIN_WAIT2, estp_fin_time(sk));
			return true;
		}
		sk->sk_state_change(sk);
		return false;
	case TCP_CLOSING:
		estp_time_wait(sk, TCP_TIME_WAIT, 0);
		return true;
	case TCP_LAST_ACK:
		estp_done(sk);
		return true;
	}
	return false;
}

/*
 * Free what the peer acknowledged and count it out of flight
 * (tcp_clean_rtx_queue).  The RTT sample is the oldest acknowledged
 * segment's, as TCP's seq_rtt, and there is none when any of them was sent
 * twice (Karn's algorithm, RFC 6298 3).
 */
static void estp_clean_rtx_queue(struct sock *sk, u32 ack,
				 struct estp_ack_sample *sample)
{
	struct estp_sock *esk = estp_sk(sk);
	bool retrans_acked = false;
	u64 first_tx = 0;
	struct sk_buff *skb;

	while ((skb = skb_peek(&sk->sk_write_queue)) && skb != esk->send_head) {
		struct estp_skb_cb *cb = ESTP_SKB_CB(skb);

		if (estp_after(cb->end_seq, ack))
			break;
		if (cb->sacked & ESTP_CB_EVER_RETRANS)
			retrans_acked = true;
		else if (!first_tx)
			first_tx = cb->tx_us;
		if (cb->sacked & ESTP_CB_LOST)
			esk->lost_out--;
		if (cb->sacked & ESTP_CB_RETRANS)
			esk->retrans_out--;
		esk->packets_out--;
		sample->pkts_acked++;
		__skb_unlink(skb, &sk->sk_write_queue);
		sk_wmem_queued_add(sk, -skb->truesize);
		consume_skb(skb);
	}
	if (first_tx && !retrans_acked) {
		sample->rtt_us = min_t(u64, estp_clock_us() - first_tx, S32_MAX);
		estp_rtt_sample(sk, sample->rtt_us);
	}
}

/**
 * estp_enter_loss - a retransmission timeout (tcp_enter_loss)
 * @sk: the socket, owned by its timer
 *
 * Everything in flight is taken for lost and will be sent again as the
 * window allows; the window restarts at one segment (RFC 5681 3.1), and
 * the algorithm sets the threshold, once per episode: a timeout of a
 * resent segment does not halve it again.
 */
void estp_enter_loss(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	if (esk->ca_state != ESTP_CA_LOSS || !esk->retransmits) {
		esk->prior_cwnd = esk->snd_cwnd;
		esk->snd_ssthresh = esk->ca_ops->ssthresh(sk);
		estp_ca_event(sk, ESTP_CA_EVENT_LOSS);
	}
	esk->snd_cwnd = 1;
	esk->snd_cwnd_cnt = 0;
	esk->retrans_out = 0;
	esk->lost_out = 0;
	esk->sacked_out = 0;
	esk->dupacks = 0;
	skb_queue_walk(&sk->sk_write_queue, skb) {
		if (skb == esk->send_head)
			break;
		ESTP_SKB_CB(skb)->sacked &= ~ESTP_CB_RETRANS;
		ESTP_SKB_CB(skb)->sacked |= ESTP_CB_LOST;
		esk->lost_out++;
	}
	esk->high_seq = esk->snd_nxt;
	esk->in_recovery = 1;
	estp_set_ca_state(sk, ESTP_CA_LOSS);
}

/*
 * An acceptable ACK (tcp_ack): the peer is alive, its window is news, and
 * an ACK past snd_una frees data, restarts the retransmit timer (RFC 6298
 * 5.3) and, after a timeout, sends the next hole at once.  The caller
 * checked that ack is not beyond snd_nxt.
 */
/* Mark the first unacknowledged segment lost, unless it is already. */
static void estp_mark_head_lost(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb = skb_peek(&sk->sk_write_queue);

	if (!skb || skb == esk->send_head || ESTP_SKB_CB(skb)->sacked & ESTP_CB_LOST)
		return;
	ESTP_SKB_CB(skb)->sacked |= ESTP_CB_LOST;
	esk->lost_out++;
}

/*
 * Three duplicate ACKs: the first unacknowledged segment is taken for lost
 * and sent again at once, and the window drops to the algorithm's
 * threshold (RFC 5681 3.2, NewReno's RFC 6582; tcp_enter_recovery).
 */
static void estp_enter_recovery(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->prior_cwnd = esk->snd_cwnd;
	esk->snd_ssthresh = esk->ca_ops->ssthresh(sk);
	esk->snd_cwnd = max(esk->snd_ssthresh, 2U);
	esk->snd_cwnd_cnt = 0;
	/* Each dupACK stands for a segment that arrived (Reno's SACK). */
	esk->sacked_out = min_t(u32, esk->dupacks, esk->packets_out - 1);
	estp_mark_head_lost(sk);
	esk->high_seq = esk->snd_nxt;
	esk->in_recovery = 1;
	estp_set_ca_state(sk, ESTP_CA_RECOVERY);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_FASTRETRANS);
	estp_xmit_retransmit_queue(sk);
}

/* An ACK that acknowledges nothing new, carries nothing, keeps the window. */
static void estp_dupack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->dupacks = min_t(u32, esk->dupacks + 1, U8_MAX);
	if (esk->ca_state == ESTP_CA_RECOVERY) {
		/* Another segment left the network: room for one more. */
		if (esk->sacked_out + esk->lost_out < esk->packets_out)
			esk->sacked_out++;
		return;
	}
	if (esk->ca_state == ESTP_CA_OPEN && esk->dupacks >= ESTP_REORDERING)
		estp_enter_recovery(sk);
}

static void estp_ack(struct sock *sk, u32 ack, u32 seq, u16 window, bool pure)
{
	struct estp_sock *esk = estp_sk(sk);
	struct estp_ack_sample sample = { .rtt_us = -1 };
	u32 old_wnd = esk->snd_wnd;

	esk->rcv_tstamp = jiffies;
	esk->probes_out = 0;
	if (estp_before(ack, esk->snd_una))
		return;
	/* RFC 9293 3.10.7.4: an older segment must not undo a newer window. */
	if (estp_after(ack, esk->snd_una) || estp_after(seq, esk->snd_wl1) ||
	    (seq == esk->snd_wl1 && window > esk->snd_wnd)) {
		esk->snd_wl1 = seq;
		esk->snd_wnd = window;
		esk->max_window = max(esk->max_window, esk->snd_wnd);
	}
	if (!estp_after(ack, esk->snd_una)) {
		/* RFC 5681 2: a duplicate ACK only while data is out. */
		if (pure && window == old_wnd && esk->packets_out)
			estp_dupack(sk);
		else
			esk->dupacks = 0;
		estp_xmit_retransmit_queue(sk);
		estp_push(sk);
		return;
	}
	esk->snd_una = ack;
	esk->dupacks = 0;
	/* New data acknowledged: the backoff ends (RFC 6298 5.7's spirit). */
	esk->retransmits = 0;
	sample.in_flight = estp_packets_in_flight(esk);
	esk->prior_in_flight = sample.in_flight;
	estp_clean_rtx_queue(sk, ack, &sample);
	/* The first segment acked was the hole; the rest had been counted. */
	if (sample.pkts_acked)
		esk->sacked_out -= min_t(u32, sample.pkts_acked - 1, esk->sacked_out);
	if (sample.pkts_acked) {
		if (esk->ca_ops->pkts_acked)
			esk->ca_ops->pkts_acked(sk, &sample);
		/*
		 * Slow start also runs in Loss, as TCP's tcp_cong_control();
		 * in Recovery the window holds at the threshold.
		 */
		if (esk->ca_state != ESTP_CA_RECOVERY)
			esk->ca_ops->cong_avoid(sk, ack, sample.pkts_acked);
	}
	if (esk->in_recovery && !estp_before(ack, esk->high_seq)) {
		/* RFC 6582 3.2 (6): a full ACK ends recovery at ssthresh. */
		if (esk->ca_state == ESTP_CA_RECOVERY)
			esk->snd_cwnd = max(esk->snd_ssthresh, 2U);
		esk->in_recovery = 0;
		esk->sacked_out = 0;
		estp_set_ca_state(sk, ESTP_CA_OPEN);
	} else if (esk->ca_state == ESTP_CA_RECOVERY) {
		/* RFC 6582 3.2 (5): a partial ACK, the next hole goes now. */
		estp_mark_head_lost(sk);
	}
	if (esk->in_recovery)
		estp_xmit_retransmit_queue(sk);
	if (esk->snd_una == esk->snd_nxt && !esk->send_head)
		sk_stop_timer(sk, &esk->retransmit_timer);
	else
		estp_reset_xmit_timer(sk);
	estp_push(sk);
	if (sk->sk_socket && !sock_flag(sk, SOCK_DEAD))
		sk->sk_write_space(sk);
}

/*
 * What the bytes of this skb cost the receive buffer: the ratio the
 * advertised window is scaled by (estp_rcv_space()).
 */
static void estp_rcv_ratio_update(struct sock *sk, const struct sk_buff *skb, u32 len)
{
	u32 ratio = div_u64((u64)len << 8, skb->truesize);

	estp_sk(sk)->rcv_ratio = clamp_t(u32, ratio, 16, 255);
}

/* Charge a received segment's data to the socket, header pulled off. */
static bool estp_rcv_own(struct sock *sk, struct sk_buff *skb, u32 pull)
{
	if (!pskb_pull(skb, pull))
		return false;
	skb_get(skb);
	/* The route is the receive path's, borrowed under RCU. */
	skb_dst_drop(skb);
	skb_set_owner_r(skb, sk);
	return true;
}

/*
 * Data past a hole waits in the out-of-order queue, sorted by sequence
 * (tcp_data_queue_ofo); one that an earlier segment there covers is a
 * duplicate.  Overlaps are trimmed when the queue drains.
 */
static void estp_data_queue_ofo(struct sock *sk, struct sk_buff *skb, u32 seq,
				u32 len, bool fin)
{
	struct estp_sock *esk = estp_sk(sk);
	struct rb_node **p = &esk->out_of_order_queue.rb_node, *parent = NULL;
	struct estp_skb_cb *cb;

	if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize > READ_ONCE(sk->sk_rcvbuf)) {
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OFODROP);
		return;
	}
	while (*p) {
		const struct estp_skb_cb *q = ESTP_SKB_CB(rb_to_skb(*p));

		parent = *p;
		if (estp_before(seq, q->seq)) {
			p = &parent->rb_left;
		} else {
			if (!estp_after(seq + len, q->end_seq) && (!fin || q->fin))
				return;
			p = &parent->rb_right;
		}
	}
	estp_rcv_ratio_update(sk, skb, len);
	if (!estp_rcv_own(sk, skb, estp_hdr(skb)->doff * 4))
		return;
	cb = ESTP_SKB_CB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->seq = seq;
	cb->end_seq = seq + len;
	cb->fin = fin;
	rb_link_node(&skb->rbnode, parent, p);
	rb_insert_color(&skb->rbnode, &esk->out_of_order_queue);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OFOQUEUE);
}

/*
 * The hole before the out-of-order queue filled: move what is now in
 * order to the receive queue (tcp_ofo_queue).  Return: true when a FIN
 * came with it, which estp_fin() took.
 */
static bool estp_ofo_queue(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct rb_node *p;

	while ((p = rb_first(&esk->out_of_order_queue))) {
		struct sk_buff *skb = rb_to_skb(p);
		struct estp_skb_cb *cb = ESTP_SKB_CB(skb);
		bool fin = cb->fin;

		if (estp_after(cb->seq, esk->rcv_nxt))
			break;
		rb_erase(p, &esk->out_of_order_queue);
		if (estp_after(cb->end_seq, esk->rcv_nxt) &&
		    pskb_pull(skb, esk->rcv_nxt - cb->seq)) {
			cb->seq = esk->rcv_nxt;
			__skb_queue_tail(&sk->sk_receive_queue, skb);
			WRITE_ONCE(esk->rcv_nxt, cb->end_seq);
		} else {
			/* Old by now, or no memory to trim it: it comes again. */
			fin = fin && cb->end_seq == esk->rcv_nxt;
			kfree_skb(skb);
		}
		if (fin) {
			/* Nothing can follow the FIN. */
			estp_ofo_purge(sk);
			estp_fin(sk);
			return true;
		}
	}
	return false;
}

/*
 * In-order data (tcp_data_queue): the new bytes join the receive queue,
 * and whatever the out-of-order queue now continues.  The skb stays the
 * caller's; the queue takes its own reference.
 *
 * Return: 0 when dropped, 1 when queued, 2 when queued and a FIN from the
 * out-of-order queue was taken with it (and ACKed).
 */
static int estp_data_queue(struct sock *sk, struct sk_buff *skb, u32 seq, u32 len)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 skip = esk->rcv_nxt - seq;
	bool fin = false;

	if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize > READ_ONCE(sk->sk_rcvbuf)) {
		/* No room: the sender sends it again later. */
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RCVQDROP);
		return 0;
	}
	estp_rcv_ratio_update(sk, skb, len);
	if (!estp_rcv_own(sk, skb, estp_hdr(skb)->doff * 4 + skip))
		return 0;
	ESTP_SKB_CB(skb)->seq = esk->rcv_nxt;
	ESTP_SKB_CB(skb)->end_seq = seq + len;
	__skb_queue_tail(&sk->sk_receive_queue, skb);
	WRITE_ONCE(esk->rcv_nxt, seq + len);
	if (!RB_EMPTY_ROOT(&esk->out_of_order_queue))
		fin = estp_ofo_queue(sk);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_data_ready(sk);
	return fin ? 2 : 1;
}

/*
 * Synchronized states (RFC 9293 3.10.7.4): RSTs and SYNs by RFC 5961, then
 * the sequence check, the ACK, the data and the FIN.  Data past a hole
 * waits in the out-of-order queue.
 */
static int estp_rcv_synchronized(struct sock *sk, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct estp_sock *esk = estp_sk(sk);
	u32 seq = ntohl(th->seq), ack;
	u32 len = skb->len - th->doff * 4;
	bool fin = th->fin, ofo = false;
	int queued;

	if (th->rst) {
		/* RFC 5961 3.2: only an exact RST resets; others get a challenge. */
		if (seq == esk->rcv_nxt)
			estp_reset(sk);
		else if (seq - esk->rcv_nxt < max_t(u32, sk->sk_rcvbuf, 1))
			estp_send_challenge_ack(sk);
		return 0;
	}
	if (th->syn) {
		/*
		 * The peer's SYN-ACK after a simultaneous open completes it;
		 * any other SYN gets a challenge ACK (RFC 5961 4.2).
		 */
		if (!(sk->sk_state == TCP_SYN_RECV && th->ack &&
		      seq + 1 == esk->rcv_nxt && ntohl(th->ack_seq) == esk->snd_nxt)) {
			estp_send_challenge_ack(sk);
			return 0;
		}
		seq++;
	}
	if (!th->ack)
		return 0;
	/*
	 * RFC 9293 3.10.7.4's acceptability, as tcp_sequence(): not wholly
	 * before where our last window started, not past the buffer.  An
	 * ACK on a retransmission, or on a segment past a hole, still counts:
	 * with data both ways, ignoring it stalls both sides.
	 */
	if (estp_before(seq + len + fin, esk->rcv_wup) ||
	    (estp_after(seq, esk->rcv_nxt) &&
	     seq - esk->rcv_nxt >= (u32)max(READ_ONCE(sk->sk_rcvbuf), 1))) {
		estp_send_ack(sk);
		return 0;
	}
	if (len && estp_after(seq, esk->rcv_nxt))
		ofo = true;
	ack = ntohl(th->ack_seq);
	if (estp_after(ack, esk->snd_nxt)) {
		/* RFC 9293: an ACK of something not yet sent is answered. */
		estp_send_ack(sk);
		return 0;
	}
	if (sk->sk_state == TCP_SYN_RECV) {
		/* The final ACK: of a passive open, or of a simultaneous one. */
		if (ack != esk->snd_nxt)
			return 1;
		esk->snd_una = ack;
		esk->snd_wnd = ntohs(th->window);
		esk->snd_wl1 = seq;
		estp_clear_xmit_timers(sk);
		estp_set_state(sk, TCP_ESTABLISHED);
		estp_init_transfer(sk);
		if (!sock_flag(sk, SOCK_DEAD)) {
			sk->sk_state_change(sk);
			sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
		}
	}
	estp_ack(sk, ack, seq, ntohs(th->window), !len && !fin);
	if (esk->fin_sent && esk->snd_una == esk->snd_nxt &&
	    (1 << sk->sk_state) & (TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK) &&
	    estp_fin_acked(sk))
		return 0;
	if (len && !estp_after(seq + len, esk->rcv_nxt)) {
		/* All of it came before: tell the peer what we have. */
		estp_send_ack(sk);
		return 0;
	}
	if (len) {
		if (!((1 << sk->sk_state) &
		      (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)))
			/* After the peer's FIN: nothing more can be in order. */
			return 0;
		if (sk->sk_shutdown & RCV_SHUTDOWN &&
		    (1 << sk->sk_state) & (TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)) {
			/* RFC 1122 4.2.2.13: data for a closed reader resets. */
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONDATA);
			estp_reset(sk);
			return 1;
		}
		if (ofo) {
			estp_data_queue_ofo(sk, skb, seq, len, fin);
			/* At once: the sender counts these for fast retransmit. */
			estp_send_ack(sk);
			return 0;
		}
		queued = estp_data_queue(sk, skb, seq, len);
		if (!queued) {
			estp_send_ack(sk);
			return 0;
		}
		if (queued == 2)
			return 0;
	}
	if (fin && seq + len == esk->rcv_nxt)
		estp_fin(sk);
	else if (len || fin)
		/* Data to acknowledge, or a FIN past a hole: it comes again. */
		estp_send_ack(sk);
	return 0;
}

/**
 * estp_rcv_state_process - the state switch (tcp_rcv_state_process)
 * @sk: the socket, locked or owned by the receive path
 * @skb: the segment, validated by estp_v4_rcv()
 *
 * Return: 1 when the caller must answer the segment with a RST, 0 otherwise.
 * The caller frees the skb.
 */
int estp_rcv_state_process(struct sock *sk, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);

	switch (sk->sk_state) {
	case TCP_CLOSE:
		return !th->rst;
	case TCP_LISTEN:
		if (th->ack)
			return 1;
		if (th->syn && !th->rst)
			estp_sk(sk)->af_ops->conn_request(sk, skb);
		return 0;
	case TCP_SYN_SENT:
		return estp_rcv_synsent_state_process(sk, skb);
	}
	return estp_rcv_synchronized(sk, skb);
}

/**
 * estp_openreq_init - a request sock from the segment that opens it
 *	(tcp_openreq_init)
 * @req: the new request sock
 * @skb: the SYN, or a cookie's final ACK
 * @rcv_isn: the peer's ISN
 * @mss: the peer's MSS option, 0 if none
 */
void estp_openreq_init(struct request_sock *req, const struct sk_buff *skb,
		       u32 rcv_isn, u16 mss)
{
	const struct estphdr *th = estp_hdr(skb);
	const struct iphdr *iph = ip_hdr(skb);
	struct inet_request_sock *ireq = inet_rsk(req);

	ireq->ir_loc_addr = iph->daddr;
	ireq->ir_rmt_addr = iph->saddr;
	ireq->ir_num = ntohs(th->dest);
	ireq->ir_rmt_port = th->source;
	ireq->ir_iif = inet_iif(skb);
	estp_rsk(req)->rcv_isn = rcv_isn;
	estp_rsk(req)->mss = mss;
}

/*
 * The half-open count is at the backlog: answer with a cookie, or drop
 * (tcp_syn_flood_action).  Logged once a listener, as TCP does.
 */
static bool estp_syn_flood_action(struct sock *listener)
{
	struct estp_accept_queue *queue = &estp_sk(listener)->accept_queue;
	int syncookies = READ_ONCE(estp_pernet(sock_net(listener))->syncookies);

	if (syncookies != 2 && !READ_ONCE(queue->synflood_warned) &&
	    !xchg(&queue->synflood_warned, true))
		net_info_ratelimited("estp: possible SYN flooding on port %u. %s.\n",
				     inet_sk(listener)->inet_num,
				     syncookies ? "Sending cookies" : "Dropping request");
	return syncookies;
}

/**
 * estp_conn_request - a SYN for a listener (tcp_conn_request)
 * @listener: the listener, not locked: listeners take SYNs locklessly
 * @skb: the SYN
 *
 * A full accept queue drops the SYN.  A half-open count at the backlog
 * (or net.estp.syncookies = 2) makes the SYN-ACK carry a SYN cookie and
 * keeps nothing, or drops the SYN with cookies off.  Otherwise a request
 * sock enters the established hash with its timer and the SYN-ACK goes out.
 *
 * Return: 0; the caller frees the skb.
 */
int estp_conn_request(struct sock *listener, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	const struct iphdr *iph = ip_hdr(skb);
	struct net *net = sock_net(listener);
	struct estp_request_sock *ereq;
	struct request_sock *req;
	bool want_cookie = false;

	/* Full only past the backlog, as inet_csk_reqsk_queue_is_full(). */
	if (READ_ONCE(estp_pernet(net)->syncookies) == 2 ||
	    atomic_read(&estp_sk(listener)->accept_queue.qlen) >
	    READ_ONCE(listener->sk_max_ack_backlog)) {
		want_cookie = estp_syn_flood_action(listener);
		if (!want_cookie)
			goto drop;
	}
	if (sk_acceptq_is_full(listener)) {
		ESTP_INC_STATS(net, ESTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	req = estp_reqsk_alloc(listener);
	if (!req)
		goto drop;
	estp_openreq_init(req, skb, ntohl(th->seq), estp_parse_mss(th));
	ereq = estp_rsk(req);
	if (want_cookie) {
		/* Everything the final ACK needs is in the SYN-ACK: keep nothing. */
		ereq->mss = ereq->mss ? : ESTP_MSS_DEFAULT;
		ereq->snt_isn = estp_v4_cookie_init_sequence(listener, skb, &ereq->mss);
		refcount_set(&req->rsk_refcnt, 1);
		estp_v4_send_synack(listener, req);
		estp_reqsk_put(req);
		return 0;
	}
	ereq->snt_isn = estp_v4_init_seq(iph->daddr, iph->saddr, th->dest, th->source);
	if (estp_reqsk_queue_hash_add(listener, req)) {
		estp_reqsk_put(req);
		goto drop;
	}
	/* A SYN-ACK lost here is sent again by the request's timer. */
	estp_v4_send_synack(listener, req);
	/* The listener may have closed and purged while this was hashed. */
	if (inet_sk_state_load(listener) != TCP_LISTEN)
		estp_reqsk_queue_drop(listener, req);
	estp_reqsk_put(req);
	return 0;
drop:
	ESTP_INC_STATS(net, ESTP_MIB_LISTENDROPS);
	return 0;
}
