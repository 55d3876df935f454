/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ECN (RFC 3168) for ESTP, the counterpart of include/net/tcp_ecn.h and of
 * the tcp_ecn_* helpers in tcp_input.c and tcp_output.c, classic ECN only.
 *
 * Negotiated in the handshake as net.estp.ecn says (TCP's tcp_ecn: 0 off,
 * 1 request and accept, 2 accept only): a SYN asks with ECE|CWR, the
 * SYN-ACK agrees with ECE.  Then new data goes out ECT(0) and everything
 * else Not-ECT, through the socket's TOS as INET_ECN_xmit() sets it; a
 * receiver that sees CE sets ECE on its segments until one with CWR comes;
 * a sender that sees ECE reduces its window once per window of data
 * (estp_enter_cwr()) and sets CWR on its next new data segment.
 */
#ifndef _ESTP_ECN_H
#define _ESTP_ECN_H

#include <net/inet_ecn.h>
#include <net/ip.h>

#include "estp.h"

/* ecn_flags bits, TCP's TCP_ECN_* */
#define ESTP_ECN_OK		1	/* both ends agreed */
#define ESTP_ECN_QUEUE_CWR	2	/* CWR goes on the next new data */
#define ESTP_ECN_DEMAND_CWR	4	/* ECE on all we send until a CWR comes */
#define ESTP_ECN_SEEN		8	/* an ECT or CE segment came */

/* A connect(): whether our SYN asks for ECN (tcp_ecn_send_syn). */
static inline void estp_ecn_init_syn(struct sock *sk)
{
	estp_sk(sk)->ecn_flags =
		READ_ONCE(estp_pernet(sock_net(sk))->ecn) == 1 ? ESTP_ECN_OK : 0;
}

/*
 * The ECN flags of our SYN, or of the SYN-ACK a simultaneous open sends
 * (tcp_ecn_send_syn, tcp_ecn_send_synack).  With net.estp.ecn_fallback a
 * resent SYN asks no more (RFC 3168 6.1.1.1, tcp_ecn_clear_syn): a
 * middlebox may drop SYNs with ECE|CWR.  The SYN-ACK's ECE alone still
 * turns ECN on then, as TCP's.
 */
static inline u8 estp_ecn_syn_flags(const struct sock *sk, u8 flags)
{
	const struct estp_sock *esk = estp_sk(sk);

	if (!(esk->ecn_flags & ESTP_ECN_OK))
		return 0;
	if (esk->syn_retrans && READ_ONCE(estp_pernet(sock_net(sk))->ecn_fallback))
		return 0;
	return flags & ESTP_FLAG_ACK ? ESTP_FLAG_ECE : ESTP_FLAG_ECE | ESTP_FLAG_CWR;
}

/* The SYN-ACK of our active open agrees with ECE alone (tcp_ecn_rcv_synack). */
static inline void estp_ecn_rcv_synack(struct estp_sock *esk, const struct estphdr *th)
{
	if (!th->ece || th->cwr)
		esk->ecn_flags &= ~ESTP_ECN_OK;
}

/* A SYN crossed ours: it must ask too (tcp_ecn_rcv_syn). */
static inline void estp_ecn_rcv_syn(struct estp_sock *esk, const struct estphdr *th)
{
	if (!th->ece || !th->cwr)
		esk->ecn_flags &= ~ESTP_ECN_OK;
}

/*
 * A listener's SYN asks with ECE|CWR (tcp_ecn_create_request): taken with
 * net.estp.ecn 1 or 2, unless the SYN itself is ECT, which RFC 3168 6.1.1
 * forbids (a reserved bit set excuses it, as AccECN's SYNs may be).
 */
static inline void estp_ecn_create_request(struct request_sock *req,
					   const struct sk_buff *skb,
					   const struct sock *listener)
{
	const struct estphdr *th = estp_hdr(skb);

	if (!th->ece || !th->cwr || !READ_ONCE(estp_pernet(sock_net(listener))->ecn))
		return;
	if (INET_ECN_is_not_ect(ipv4_get_dsfield(ip_hdr(skb))) || th->res1)
		inet_rsk(req)->ecn_ok = 1;
}

/* A child takes what its request agreed (tcp_ecn_openreq_child). */
static inline void estp_ecn_openreq_child(struct estp_sock *esk,
					  const struct request_sock *req)
{
	esk->ecn_flags = inet_rsk(req)->ecn_ok ? ESTP_ECN_OK : 0;
}

/* A window reduction starts: the peer learns it by CWR (tcp_ecn_queue_cwr). */
static inline void estp_ecn_queue_cwr(struct estp_sock *esk)
{
	if (esk->ecn_flags & ESTP_ECN_OK)
		esk->ecn_flags |= ESTP_ECN_QUEUE_CWR;
}

/* The reduction was undone: nothing to tell (tcp_ecn_withdraw_cwr). */
static inline void estp_ecn_withdraw_cwr(struct estp_sock *esk)
{
	esk->ecn_flags &= ~ESTP_ECN_QUEUE_CWR;
}

/*
 * An acceptable ACK with CWR: the sender reduced its window, our ECE stops
 * (tcp_ecn_accept_cwr; TCP takes it on pure ACKs too).  Data with it is
 * ACKed at once: the sender's window may be down to one segment.
 */
static inline void estp_ecn_accept_cwr(struct sock *sk, const struct estphdr *th,
				       u32 len)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!(esk->ecn_flags & ESTP_ECN_OK) || !th->cwr)
		return;
	esk->ecn_flags &= ~ESTP_ECN_DEMAND_CWR;
	if (len)
		esk->ack_pending |= ESTP_ACK_NOW;
}

/* The ACK echoes a CE mark (tcp_ecn_rcv_ecn_echo). */
static inline bool estp_ecn_rcv_ecn_echo(const struct estp_sock *esk,
					 const struct estphdr *th)
{
	return th->ece && !th->syn && (esk->ecn_flags & ESTP_ECN_OK);
}

/*
 * Quick ACKs for the next two segments at most (tcp_enter_quickack_mode()
 * with max_quickacks 2): a sender told of congestion may have a tiny window.
 */
static inline void estp_ecn_quickack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 quick = esk->rcv_wnd / (2 * max_t(u32, esk->rcv_mss, 1));

	quick = min_t(u32, quick ? : 2, 2);
	if (quick > esk->ack_quick)
		esk->ack_quick = quick;
	esk->ack_pingpong = 0;
	esk->ack_ato = ESTP_ATO_MIN;
}

/*
 * The IP ECN field of received data (tcp_ecn_check_ce): CE makes our
 * segments carry ECE until the sender's CWR; Not-ECT after ECT was seen
 * is likely a retransmission, ACKed quickly.
 */
static inline void estp_ecn_check_ce(struct sock *sk, const struct sk_buff *skb)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!(esk->ecn_flags & ESTP_ECN_OK))
		return;
	switch (ipv4_get_dsfield(ip_hdr(skb)) & INET_ECN_MASK) {
	case INET_ECN_NOT_ECT:
		if (esk->ecn_flags & ESTP_ECN_SEEN)
			estp_ecn_quickack(sk);
		break;
	case INET_ECN_CE:
		if (!(esk->ecn_flags & ESTP_ECN_DEMAND_CWR)) {
			estp_ecn_quickack(sk);
			esk->ecn_flags |= ESTP_ECN_DEMAND_CWR;
		}
		esk->ecn_flags |= ESTP_ECN_SEEN;
		break;
	default:
		esk->ecn_flags |= ESTP_ECN_SEEN;
		break;
	}
}

/*
 * The ECN part of a segment of a full sock, SYNs aside (tcp_ecn_send):
 * ECT(0) and any queued CWR on new data only; retransmissions, pure ACKs,
 * a bare FIN or RST go Not-ECT (RFC 3168 6.1.5, 6.1.4).  The sock's TOS
 * keeps the mark, as TCP's, so IP_TOS reads it back.  ECE while owed.
 */
static inline void estp_ecn_send(struct sock *sk, struct estphdr *th, u32 seq,
				 unsigned int len)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!(esk->ecn_flags & ESTP_ECN_OK))
		return;
	if (len && !estp_before(seq, esk->snd_nxt)) {
		INET_ECN_xmit(sk);
		if (esk->ecn_flags & ESTP_ECN_QUEUE_CWR) {
			esk->ecn_flags &= ~ESTP_ECN_QUEUE_CWR;
			th->cwr = 1;
		}
	} else {
		INET_ECN_dontxmit(sk);
	}
	if (esk->ecn_flags & ESTP_ECN_DEMAND_CWR)
		th->ece = 1;
}

/*
 * A window reduction starts (tcp_init_cwnd_reduction), for CWR, Recovery
 * or a loss a probe repaired: the threshold from the algorithm, which PRR
 * takes the window down to as ACKs come, and CWR for the peer.
 */
static inline void estp_init_cwnd_reduction(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->high_seq = esk->snd_nxt;
	esk->tlp_high_seq = 0;
	esk->snd_cwnd_cnt = 0;
	esk->prior_cwnd = esk->snd_cwnd;
	esk->prr_delivered = 0;
	esk->prr_out = 0;
	esk->snd_ssthresh = esk->ca_ops->ssthresh(sk);
	estp_ecn_queue_cwr(esk);
}

/* A reduction is over: the window is the threshold (tcp_end_cwnd_reduction). */
static inline void estp_end_cwnd_reduction(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->snd_ssthresh < ESTP_INFINITE_SSTHRESH) {
		esk->snd_cwnd = esk->snd_ssthresh;
		estp_ca_event(sk, ESTP_CA_EVENT_COMPLETE_CWR);
	}
}

/*
 * The peer echoed congestion: the window goes down once per window of
 * data, to the algorithm's threshold by PRR as ACKs come (estp_ack()),
 * and CWR goes with the next new data (tcp_enter_cwr).  Not in Recovery
 * or Loss, which reduced it already; nor to be undone.
 */
static inline void estp_enter_cwr(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->prior_ssthresh = 0;
	if (esk->ca_state >= ESTP_CA_CWR)
		return;
	esk->undo_marker = 0;
	estp_init_cwnd_reduction(sk);
	estp_set_ca_state(sk, ESTP_CA_CWR);
}

/*
 * CWR ends once the ACK passes high_seq, so that the segment with CWR has
 * reached the peer (tcp_fastretrans_alert's TCP_CA_CWR case,
 * tcp_end_cwnd_reduction): the window is the threshold.
 */
static inline void estp_cwr_check_exit(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->ca_state != ESTP_CA_CWR || !estp_after(esk->snd_una, esk->high_seq))
		return;
	estp_end_cwnd_reduction(sk);
	estp_set_ca_state(sk, ESTP_CA_OPEN);
}

#endif /* _ESTP_ECN_H */
