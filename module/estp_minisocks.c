// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP minisocks, the counterpart of net/ipv4/tcp_minisocks.c: the segment
 * that completes a passive open, and the child it creates.
 */
#include <net/sock.h>

#include "estp.h"

/**
 * estp_create_openreq_child - the stream part of a new child
 *	(tcp_create_openreq_child)
 * @listener: the listener
 * @req: the request sock
 * @skb: the final ACK
 *
 * Return: the child, in SYN_RECV, or NULL.
 */
struct sock *estp_create_openreq_child(const struct sock *listener,
				       struct request_sock *req,
				       struct sk_buff *skb)
{
	const struct estp_request_sock *ereq = estp_rsk(req);
	struct sock *newsk = estp_csk_clone(listener, req);
	struct estp_sock *esk;

	if (!newsk)
		return NULL;
	esk = estp_sk(newsk);
	esk->iss = ereq->snt_isn;
	esk->snd_una = ereq->snt_isn + 1;
	esk->snd_nxt = ereq->snt_isn + 1;
	esk->rcv_nxt = ereq->rcv_isn + 1;
	esk->mss_clamp = ereq->mss ? : 536;
	esk->rto = ESTP_TIMEOUT_INIT;
	return newsk;
}

/**
 * estp_check_req - a segment for a request sock (tcp_check_req)
 * @listener: the request's listener
 * @skb: the segment
 * @req: the request sock, with a reference held by the caller
 *
 * A retransmitted SYN gets the SYN-ACK again; an exact RST ends the
 * request; an ACK of our SYN-ACK creates the child, unless the accept
 * queue is full: then the ACK is dropped and the request waits for its
 * timer, as in TCP.
 *
 * Return: the child, hashed in SYN_RECV, for the caller to process the ACK
 * on and queue for accept(); the listener when the caller must answer with
 * a RST; NULL when the segment is consumed.
 */
struct sock *estp_check_req(struct sock *listener, struct sk_buff *skb,
			    struct request_sock *req)
{
	const struct estp_request_sock *ereq = estp_rsk(req);
	const struct estphdr *th = estp_hdr(skb);
	u32 seq = ntohl(th->seq);

	if (th->rst) {
		if (seq == ereq->rcv_isn + 1)
			estp_reqsk_queue_drop(listener, req);
		return NULL;
	}
	if (th->syn && !th->ack) {
		if (seq == ereq->rcv_isn && !estp_v4_send_synack(listener, req))
			req->num_retrans++;
		return NULL;
	}
	if (ntohl(th->ack_seq) != ereq->snt_isn + 1)
		return listener;
	if (th->syn || seq != ereq->rcv_isn + 1)
		return NULL;
	if (sk_acceptq_is_full(listener)) {
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_LISTENOVERFLOWS);
		return NULL;
	}
	return estp_v4_syn_recv_sock(listener, skb, req);
}

/**
 * estp_child_process - the final ACK reaches the new child (tcp_child_process)
 * @listener: the listener
 * @child: the child, hashed, not yet on the accept queue
 * @skb: the final ACK
 *
 * No user holds the child yet, so it is processed at once, under its lock.
 *
 * Return: 1 when the ACK must be answered with a RST, 0 otherwise.
 */
int estp_child_process(struct sock *listener, struct sock *child,
		       struct sk_buff *skb)
{
	int ret;

	bh_lock_sock(child);
	ret = estp_rcv_state_process(child, skb);
	bh_unlock_sock(child);
	return ret;
}
