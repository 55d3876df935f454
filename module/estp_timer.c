// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP timers, the counterpart of net/ipv4/tcp_timer.c.
 *
 * Every armed timer holds a reference on its sock (sk_reset_timer()); the
 * handler drops it when it ends, and estp_clear_xmit_timers() drops it for
 * a timer it stops before it fires.
 */
#include <net/sock.h>

#include "estp.h"

/**
 * estp_write_err - the peer does not answer: end with ETIMEDOUT
 * @sk: the socket, locked or owned by the timer (tcp_write_err)
 */
void estp_write_err(struct sock *sk)
{
	WRITE_ONCE(sk->sk_err, READ_ONCE(sk->sk_err_soft) ? : ETIMEDOUT);
	sk_error_report(sk);
	estp_done(sk);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONTIMEOUT);
}

/*
 * An orphan's FIN goes unanswered: with too many orphans it is killed
 * rather than retried (tcp_out_of_resources).  One that has seen an ICMP
 * error counts double.
 *
 * Return: true when the sock is done.
 */
static bool estp_out_of_resources(struct sock *sk)
{
	int shift = READ_ONCE(sk->sk_err_soft) ? 1 : 0;

	if (!estp_too_many_orphans(sk, shift))
		return false;
	estp_send_active_reset(sk, GFP_ATOMIC);
	estp_done(sk);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONMEMORY);
	return true;
}

static unsigned int estp_syn_retries(const struct sock *sk)
{
	return estp_sk(sk)->syn_retries ? : READ_ONCE(estp_pernet(sock_net(sk))->syn_retries);
}

/**
 * estp_reset_xmit_timer - arm the retransmit timer for the current backoff
 * @sk: the socket
 */
void estp_reset_xmit_timer(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	unsigned long when = min_t(unsigned long,
				   (unsigned long)esk->rto << esk->retransmits,
				   ESTP_RTO_MAX);

	sk_reset_timer(sk, &esk->retransmit_timer, jiffies + when);
}

/*
 * The retransmit timer fired on a sock the user does not hold: the SYN, or
 * the first unacknowledged segment (data or FIN), goes again with the
 * timeout doubled, until the retries run out and the connection ends with
 * ETIMEDOUT.  With nothing in flight but data the window holds back, the
 * same timer probes the window (tcp_probe_timer).
 */
static void estp_retransmit_timer(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	switch (sk->sk_state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:	/* a simultaneous open: only full socks here */
		if (esk->retransmits >= estp_syn_retries(sk)) {
			estp_write_err(sk);
			return;
		}
		esk->retransmits++;
		/* Karn: the SYN-ACK that comes can measure nothing. */
		esk->syn_retrans = 1;
		estp_send_syn(sk);
		break;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		if (esk->snd_una == esk->snd_nxt && !esk->send_head)
			return;
		if (sock_flag(sk, SOCK_DEAD) && estp_out_of_resources(sk))
			return;
		if (esk->snd_una == esk->snd_nxt) {
			/*
			 * Zero window: an old ACK makes the peer tell its
			 * window.  A peer that answers is alive; the backoff
			 * alone grows.
			 */
			if (esk->retransmits < ESTP_RETRIES2)
				esk->retransmits++;
			estp_write_wakeup(sk);
			break;
		}
		/* As net.ipv4.tcp_orphan_retries = 0: 8 for an orphan. */
		if (esk->retransmits >= (sock_flag(sk, SOCK_DEAD) ?
					 ESTP_ORPHAN_RETRIES : ESTP_RETRIES2)) {
			estp_write_err(sk);
			return;
		}
		/*
		 * Before the count grows: a first timeout, or one after
		 * ACKs reset it, is a new loss episode.  The rest is resent
		 * as ACKs come and the window allows (estp_ack()).
		 */
		estp_enter_loss(sk);
		esk->retransmits++;
		skb = skb_peek(&sk->sk_write_queue);
		if (skb && skb != esk->send_head)
			estp_retransmit_skb(sk, skb);
		else if (esk->fin_sent)
			estp_retransmit_fin(sk);
		break;
	default:
		return;
	}
	estp_reset_xmit_timer(sk);
}

static void estp_write_timer(struct timer_list *t)
{
	struct estp_sock *esk = container_of(t, struct estp_sock, retransmit_timer);
	struct sock *sk = &esk->inet.sk;

	bh_lock_sock(sk);
	if (sock_owned_by_user(sk))
		/* Try again shortly; the reference moves to the new expiry. */
		sk_reset_timer(sk, t, jiffies + HZ / 20);
	else
		estp_retransmit_timer(sk);
	bh_unlock_sock(sk);
	sock_put(sk);
}

/**
 * estp_reset_keepalive_timer - arm the keepalive timer (sk_timer)
 * @sk: the socket
 * @len: jiffies from now
 */
void estp_reset_keepalive_timer(struct sock *sk, unsigned long len)
{
	sk_reset_timer(sk, &sk->sk_timer, jiffies + len);
}

/**
 * estp_delete_keepalive_timer - stop the keepalive timer, with its reference
 * @sk: the socket
 */
void estp_delete_keepalive_timer(struct sock *sk)
{
	sk_stop_timer(sk, &sk->sk_timer);
}

/**
 * estp_set_keepalive - proto->keepalive, from SO_KEEPALIVE (tcp_set_keepalive)
 * @sk: the socket, locked
 * @val: on or off
 */
void estp_set_keepalive(struct sock *sk, int val)
{
	if ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))
		return;
	if (val && !sock_flag(sk, SOCK_KEEPOPEN))
		estp_reset_keepalive_timer(sk, estp_keepalive_time_when(estp_sk(sk)));
	else if (!val)
		estp_delete_keepalive_timer(sk);
}

/*
 * The keepalive timer (tcp_keepalive_timer): after keepalive_time without
 * a segment from the peer, a probe every keepalive_intvl; keepalive_probes
 * unanswered ones end the connection with ETIMEDOUT.  A sock with a SYN or
 * FIN in flight is alive by its retransmit timer.
 */
static void estp_keepalive_timer(struct timer_list *t)
{
	struct sock *sk = container_of(t, struct sock, sk_timer);
	struct estp_sock *esk = estp_sk(sk);
	u32 elapsed;

	bh_lock_sock(sk);
	if (sock_owned_by_user(sk)) {
		/* Try again shortly; the reference moves to the new expiry. */
		estp_reset_keepalive_timer(sk, HZ / 20);
		goto out;
	}
	if (!sock_flag(sk, SOCK_KEEPOPEN) ||
	    (1 << sk->sk_state) & (TCPF_CLOSE | TCPF_SYN_SENT | TCPF_LISTEN))
		goto out;
	elapsed = estp_keepalive_time_when(esk);
	if (esk->snd_una != esk->snd_nxt || esk->send_head)
		goto resched;
	elapsed = jiffies - esk->rcv_tstamp;
	if (elapsed >= estp_keepalive_time_when(esk)) {
		if (esk->probes_out >= estp_keepalive_probes(esk)) {
			estp_send_active_reset(sk, GFP_ATOMIC);
			estp_write_err(sk);
			goto out;
		}
		if (!estp_write_wakeup(sk)) {
			esk->probes_out++;
			elapsed = estp_keepalive_intvl_when(esk);
		} else {
			/* No buffer for the probe: try again soon. */
			elapsed = HZ / 2;
		}
	} else {
		elapsed = estp_keepalive_time_when(esk) - elapsed;
	}
resched:
	estp_reset_keepalive_timer(sk, elapsed);
out:
	bh_unlock_sock(sk);
	sock_put(sk);
}

/**
 * estp_init_xmit_timers - set up the timers of a new sock
 * @sk: the socket
 */
void estp_init_xmit_timers(struct sock *sk)
{
	timer_setup(&estp_sk(sk)->retransmit_timer, estp_write_timer, 0);
	timer_setup(&sk->sk_timer, estp_keepalive_timer, 0);
}

/**
 * estp_clear_xmit_timers - stop every timer (inet_csk_clear_xmit_timers)
 * @sk: the socket
 *
 * A timer stopped before it fired gives back its reference.
 */
void estp_clear_xmit_timers(struct sock *sk)
{
	estp_sk(sk)->retransmits = 0;
	sk_stop_timer(sk, &estp_sk(sk)->retransmit_timer);
}
