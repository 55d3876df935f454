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
 * the FIN, goes again with the timeout doubled, until the retries run out
 * and the connection ends with ETIMEDOUT.
 */
static void estp_retransmit_timer(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	switch (sk->sk_state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:	/* a simultaneous open: only full socks here */
		if (esk->retransmits >= estp_syn_retries(sk)) {
			estp_write_err(sk);
			return;
		}
		esk->retransmits++;
		estp_send_syn(sk);
		break;
	case TCP_FIN_WAIT1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		if (!esk->fin_sent || esk->snd_una == esk->snd_nxt)
			return;
		if (esk->retransmits >= ESTP_RETRIES2) {
			estp_write_err(sk);
			return;
		}
		esk->retransmits++;
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
 * estp_init_xmit_timers - set up the timers of a new sock
 * @sk: the socket
 */
void estp_init_xmit_timers(struct sock *sk)
{
	timer_setup(&estp_sk(sk)->retransmit_timer, estp_write_timer, 0);
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
