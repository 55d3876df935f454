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

/* The handshake of an active open ends (tcp_finish_connect). */
static void estp_finish_connect(struct sock *sk)
{
	estp_set_state(sk, TCP_ESTABLISHED);
	estp_clear_xmit_timers(sk);
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
		esk->snd_una = ntohl(th->ack_seq);
		esk->mss_clamp = estp_parse_mss(th) ? : 536;
		estp_finish_connect(sk);
		estp_send_ack(sk);
		return 0;
	}
	/* A RST without ACK, or a SYN (simultaneous open, not yet): drop. */
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
			estp_conn_request(sk, skb);
		return 0;
	case TCP_SYN_SENT:
		return estp_rcv_synsent_state_process(sk, skb);
	case TCP_SYN_RECV:
		/* The final ACK of a passive open reaches the new child. */
		if (!th->ack || th->rst)
			return 0;
		if (ntohl(th->ack_seq) != estp_sk(sk)->snd_nxt)
			return 1;
		estp_sk(sk)->snd_una = ntohl(th->ack_seq);
		estp_set_state(sk, TCP_ESTABLISHED);
		sk->sk_state_change(sk);
		return 0;
	}
	/* Synchronized states: an exact RST ends the connection. */
	if (th->rst && ntohl(th->seq) == estp_sk(sk)->rcv_nxt)
		estp_reset(sk);
	return 0;
}

/**
 * estp_conn_request - a SYN for a listener (tcp_conn_request)
 * @listener: the listener, not locked: listeners take SYNs locklessly
 * @skb: the SYN
 *
 * A full accept queue drops the SYN, and so does a full half-open count;
 * otherwise a request sock enters the established hash with its timer and
 * the SYN-ACK goes out.
 *
 * Return: 0; the caller frees the skb.
 */
int estp_conn_request(struct sock *listener, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	const struct iphdr *iph = ip_hdr(skb);
	struct net *net = sock_net(listener);
	struct inet_request_sock *ireq;
	struct estp_request_sock *ereq;
	struct request_sock *req;

	if (sk_acceptq_is_full(listener)) {
		ESTP_INC_STATS(net, ESTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	if (atomic_read(&estp_sk(listener)->accept_queue.qlen) >=
	    READ_ONCE(listener->sk_max_ack_backlog))
		goto drop;
	req = estp_reqsk_alloc(listener);
	if (!req)
		goto drop;
	ireq = inet_rsk(req);
	ereq = estp_rsk(req);
	ireq->ir_loc_addr = iph->daddr;
	ireq->ir_rmt_addr = iph->saddr;
	ireq->ir_num = ntohs(th->dest);
	ireq->ir_rmt_port = th->source;
	ireq->ir_iif = inet_iif(skb);
	ereq->rcv_isn = ntohl(th->seq);
	ereq->mss = estp_parse_mss(th);
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
