// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP timers, the counterpart of net/ipv4/tcp_timer.c.
 *
 * Every armed timer holds a reference on its sock (sk_reset_timer()); the
 * handler drops it when it ends, and estp_clear_xmit_timers() drops it for
 * a timer it stops before it fires.
 */
#include <linux/log2.h>
#include <net/sock.h>

#include "estp.h"
#include "estp_ecn.h"

/**
 * estp_write_err - the peer does not answer: end with ETIMEDOUT
 * @sk: the socket, locked or owned by the timer (tcp_write_err)
 * @reason: which timer gave up: ESTP_DONE_WRITE_ERR or ESTP_DONE_KEEPALIVE
 */
void estp_write_err(struct sock *sk, enum estp_done_reason reason)
{
	WRITE_ONCE(sk->sk_err, READ_ONCE(sk->sk_err_soft) ? : ETIMEDOUT);
	sk_error_report(sk);
	/*
	 * Nothing queued may go from the closed sock, nor stay charged to it
	 * until close() (tcp_write_queue_purge() in tcp_done_with_error(),
	 * review C7).
	 */
	estp_write_queue_purge(sk);
	estp_done(sk, reason);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONTIMEOUT);
}

/*
 * An orphan's data or FIN goes unanswered: with too many orphans, or with
 * ESTP out of memory (net.estp.mem[2]), it is killed rather than retried
 * (tcp_out_of_resources).  One that has seen an ICMP error counts double.
 *
 * Return: true when the sock is done.
 */
static bool estp_out_of_resources(struct sock *sk)
{
	int shift = READ_ONCE(sk->sk_err_soft) ? 1 : 0;

	if (!estp_too_many_orphans(sk, shift))
		return false;
	estp_send_active_reset(sk, GFP_ATOMIC);
	estp_done(sk, ESTP_DONE_OUT_OF_RESOURCES);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONMEMORY);
	return true;
}

static unsigned int estp_syn_retries(const struct sock *sk)
{
	return estp_sk(sk)->syn_retries ? : READ_ONCE(estp_pernet(sock_net(sk))->syn_retries);
}

/*
 * SYN timeouts of a connect that keep the RTO rather than double it
 * (tcp_syn_linear_timeouts): so many, and as many retries more.
 */
static unsigned int estp_syn_linear(const struct sock *sk)
{
	if (sk->sk_state != TCP_SYN_SENT)
		return 0;
	return READ_ONCE(estp_pernet(sock_net(sk))->syn_linear_timeouts);
}

/*
 * The RTO after backoff, at most ESTP_RTO_MAX (inet_csk_rto_backoff): one
 * doubling a timeout, but for a connect's first linear ones.
 */
static unsigned long estp_rto_backoff(const struct sock *sk)
{
	const struct estp_sock *esk = estp_sk(sk);
	unsigned int linear = estp_syn_linear(sk);
	unsigned int shift = esk->retransmits > linear ? esk->retransmits - linear : 0;
	u64 when = (u64)esk->rto << min(shift, 31U);

	return min_t(u64, when, ESTP_RTO_MAX);
}

/* Jiffies since the first resend of this loss episode (retrans_stamp). */
static u32 estp_retrans_elapsed(const struct estp_sock *esk)
{
	return (u32)jiffies - esk->retrans_stamp;
}

/*
 * The clock of a loss episode, or of zero-window probing, starts at its
 * first resend or probe, if the sender has not started it already.  New
 * data acknowledged stops it (estp_ack()).
 */
static void estp_retrans_stamp_start(struct estp_sock *esk)
{
	if (!esk->retrans_stamp)
		esk->retrans_stamp = (u32)jiffies ? : 1;
}

/*
 * How long @boundary retransmissions take with an RTO starting at
 * @rto_base and doubling up to ESTP_RTO_MAX (tcp_model_timeout): the
 * retries sysctls are time budgets, whatever the RTO really was.
 */
static unsigned long estp_model_timeout(unsigned int boundary,
					unsigned long rto_base)
{
	unsigned int thresh = ilog2(ESTP_RTO_MAX / rto_base);

	if (boundary <= thresh)
		return ((2UL << boundary) - 1) * rto_base;
	return ((2UL << thresh) - 1) * rto_base +
	       (unsigned long)(boundary - thresh) * ESTP_RTO_MAX;
}

/*
 * Has this loss episode lasted too long (retransmits_timed_out)?  From the
 * first resend, or a connect's first SYN: ESTP_USER_TIMEOUT if set, else the
 * time @boundary retransmissions take from ESTP_RTO_MIN, or from the
 * initial RTO for a SYN.
 */
static bool estp_retransmits_timed_out(const struct sock *sk,
				       unsigned int boundary)
{
	const struct estp_sock *esk = estp_sk(sk);
	u32 user_timeout = READ_ONCE(esk->user_timeout);
	unsigned long timeout;

	if (!esk->retransmits || !esk->retrans_stamp)
		return false;
	if (user_timeout)
		timeout = msecs_to_jiffies(user_timeout);
	else if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV))
		timeout = estp_model_timeout(boundary, ESTP_TIMEOUT_INIT);
	else
		timeout = estp_model_timeout(boundary, ESTP_RTO_MIN);
	return estp_retrans_elapsed(esk) >= timeout;
}

/*
 * Retransmissions allowed: net.estp.retries2; for an orphan, as
 * tcp_orphan_retries() with tcp_orphan_retries = 0: ESTP_ORPHAN_RETRIES
 * while the RTO is below its maximum, none once it is there.
 */
static unsigned int estp_retry_until(const struct sock *sk)
{
	if (!sock_flag(sk, SOCK_DEAD))
		return READ_ONCE(estp_pernet(sock_net(sk))->retries2);
	return estp_rto_backoff(sk) < ESTP_RTO_MAX ? ESTP_ORPHAN_RETRIES : 0;
}

/*
 * Has a zero window been probed too long (tcp_probe_timer)?  A peer that
 * answers the probes may keep its window shut for ever (RFC 1122
 * 4.2.2.17), unless ESTP_USER_TIMEOUT has passed since the first probe or
 * the sock is an orphan whose backoff is at its maximum.  One that does not
 * answer is dead once it has been silent as long as net.estp.retries2
 * retransmissions would take.
 */
static bool estp_probe_timed_out(const struct sock *sk)
{
	const struct estp_sock *esk = estp_sk(sk);
	u32 user_timeout = READ_ONCE(esk->user_timeout);
	u32 silent = (u32)jiffies - esk->rcv_tstamp;
	unsigned int retries2;

	if (!esk->retransmits || !esk->retrans_stamp)
		return false;
	if (user_timeout && estp_retrans_elapsed(esk) >= msecs_to_jiffies(user_timeout))
		return true;
	if (sock_flag(sk, SOCK_DEAD) && estp_rto_backoff(sk) >= ESTP_RTO_MAX)
		return true;
	retries2 = READ_ONCE(estp_pernet(sock_net(sk))->retries2);
	return silent >= estp_model_timeout(retries2, ESTP_RTO_MIN);
}

/**
 * estp_reset_xmit_timer - arm the retransmit timer for the current backoff
 * @sk: the socket
 *
 * In a loss episode with ESTP_USER_TIMEOUT set, the timer fires when that
 * runs out rather than a whole backoff later
 * (tcp_clamp_rto_to_user_timeout).
 */
void estp_reset_xmit_timer(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	unsigned long when = estp_rto_backoff(sk);
	u32 user_timeout = READ_ONCE(esk->user_timeout);

	/* A Fast Open child's timer resends its SYN-ACK until the final ACK. */
	if (rcu_access_pointer(esk->fastopen_rsk))
		return;
	esk->early_timer = 0;	/* armed for the RTO itself now */

	if (user_timeout && esk->retransmits && esk->retrans_stamp) {
		u32 elapsed = estp_retrans_elapsed(esk);
		u32 limit = msecs_to_jiffies(user_timeout);

		when = elapsed < limit ? min_t(unsigned long, when, limit - elapsed) : 1;
	}
	sk_reset_timer(sk, &esk->retransmit_timer, jiffies + when);
}

/* Our SYN again, counted as TCP counts its SYN skb's resends. */
static void estp_retransmit_syn(struct sock *sk)
{
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RETRANSSEGS);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_SYNRETRANS);
	estp_count_retrans(estp_sk(sk), 0);
	estp_send_syn(sk);
}

/*
 * A retransmission timeout, for TCP_INFO (tcp_update_rto_stats): the
 * first of an episode starts its clock, which estp_rto_episode_end()
 * stops.  Before the retransmits count grows.
 */
static void estp_update_rto_stats(struct estp_sock *esk)
{
	if (!esk->retransmits) {
		esk->total_rto_recoveries++;
		esk->rto_stamp = estp_clock_ms() ? : 1;
	}
	esk->total_rto++;
}

/*
 * The retransmit timer fired on a sock the user does not hold: the SYN, or
 * the first unacknowledged segment (data or FIN), goes again with the
 * timeout doubled, until the retries run out and the connection ends with
 * ETIMEDOUT (tcp_write_timeout): SYNs by count, data by time since the
 * first resend.  With nothing in flight but data the window holds back,
 * the same timer probes the window (tcp_probe_timer).
 */
/*
 * A Fast Open child's SYN-ACK went unanswered (tcp_fastopen_synack_timer):
 * again, with one retry more than net.estp.synack_retries, since the
 * child may be accepted already; the second timeout takes the window to
 * one segment, as an RTO would.  Nothing else is resent before the final
 * ACK.  The retries spent end the child (ETIMEDOUT).
 */
static void estp_fastopen_synack_timer(struct sock *sk, struct request_sock *req)
{
	struct estp_sock *esk = estp_sk(sk);
	int max_retries;

	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_TIMEOUTS);
	max_retries = READ_ONCE(esk->syn_retries) ? :
		      READ_ONCE(estp_pernet(sock_net(sk))->synack_retries) + 1;
	if (req->num_timeout >= max_retries) {
		estp_write_err(sk, ESTP_DONE_WRITE_ERR);
		return;
	}
	if (esk->retransmits == 1)
		estp_enter_loss(sk);
	/* Its error ignored, unlike a request's: the child must not give up early. */
	estp_rtx_synack(sk, req);
	req->num_timeout++;
	estp_update_rto_stats(esk);
	esk->retransmits++;
	if (!esk->retrans_stamp)
		esk->retrans_stamp = jiffies ? : 1;
	sk_reset_timer(sk, &esk->retransmit_timer, jiffies + estp_reqsk_timeout(req));
}

static void estp_retransmit_timer(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct request_sock *req;
	struct sk_buff *skb;
	bool expired;

	req = rcu_dereference_protected(esk->fastopen_rsk, lockdep_sock_is_held(sk));
	if (req) {
		WARN_ON_ONCE(sk->sk_state != TCP_SYN_RECV && sk->sk_state != TCP_FIN_WAIT1);
		estp_fastopen_synack_timer(sk, req);
		return;
	}
	/* Armed for RACK's reordering window or a loss probe, not a timeout. */
	if (estp_early_timeout(sk))
		return;

	switch (sk->sk_state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:	/* a simultaneous open: only full socks here */
		/* By count or by time, whichever runs out first. */
		expired = esk->retransmits >= estp_syn_retries(sk) + estp_syn_linear(sk) ||
			  estp_retransmits_timed_out(sk, estp_syn_retries(sk));
		estp_fastopen_active_detect_blackhole(sk, expired);
		if (expired) {
			estp_write_err(sk, ESTP_DONE_WRITE_ERR);
			return;
		}
		estp_update_rto_stats(esk);
		esk->retransmits++;
		/* Karn: the SYN-ACK that comes can measure nothing. */
		esk->syn_retrans = 1;
		/* tcp_enter_loss() runs here too: the first data carries CWR. */
		estp_ecn_queue_cwr(esk);
		estp_retransmit_syn(sk);
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
			 * The persist timer (tcp_probe_timer): data waits and
			 * nothing is in flight.  What the window takes goes,
			 * and its RTO runs; else an old ACK makes the peer
			 * tell its window.  A peer that answers is alive; the
			 * backoff alone grows.
			 */
			if (estp_probe_timed_out(sk)) {
				estp_write_err(sk, ESTP_DONE_WRITE_ERR);
				return;
			}
			if (!estp_write_wakeup(sk) && esk->packets_out)
				return;
			if (esk->retransmits < U8_MAX)
				esk->retransmits++;
			estp_retrans_stamp_start(esk);
			break;
		}
		expired = estp_retransmits_timed_out(sk, estp_retry_until(sk));
		estp_fastopen_active_detect_blackhole(sk, expired);
		if (expired) {
			estp_write_err(sk, ESTP_DONE_WRITE_ERR);
			return;
		}
		/*
		 * Before the count grows: a first timeout, or one after
		 * ACKs reset it, is a new loss episode.  The rest is resent
		 * as ACKs come and the window allows (estp_ack()).
		 */
		estp_enter_loss(sk);
		estp_update_rto_stats(esk);
		if (esk->retransmits < U8_MAX)
			esk->retransmits++;
		skb = skb_peek(&sk->sk_write_queue);
		/*
		 * First in sequence, TCP's retransmission queue head: our SYN,
		 * still unacknowledged after a simultaneous open and a close()
		 * in SYN_RECV (tcp_retransmit_timer); the FIN waits behind it.
		 */
		if (esk->syn_unacked)
			estp_retransmit_syn(sk);
		else if (skb && skb != esk->send_head)
			estp_retransmit_skb(sk, skb);
		else if (esk->fin_sent)
			estp_retransmit_fin(sk);
		estp_retrans_stamp_start(esk);
		break;
	default:
		return;
	}
	estp_reset_xmit_timer(sk);
}

/**
 * estp_write_timer_handler - the retransmit timer's work, when it is due
 *	(tcp_write_timer_handler)
 * @sk: the socket, locked (by the timer, or the owner in release_cb)
 *
 * The timer's expiry is its deadline (as icsk_timeout() reads it).  Re-armed
 * since it fired, by an ACK that raced it for the lock: the new expiry
 * holds, with its own reference, and this run is stale.  A deadline still
 * ahead without a pending timer was re-armed and then stopped: nothing is
 * due (review C6).
 */
void estp_write_timer_handler(struct sock *sk)
{
	struct timer_list *t = &estp_sk(sk)->retransmit_timer;

	if (timer_pending(t) || time_after(READ_ONCE(t->expires), jiffies))
		return;
	estp_retransmit_timer(sk);
}

/*
 * The retransmit timer (tcp_write_timer): its work now, or in
 * estp_release_cb() when the user holds the sock, never a guess 50 ms
 * later; the deferred bit keeps the timer's reference until then.
 */
static void estp_write_timer(struct timer_list *t)
{
	struct estp_sock *esk = container_of(t, struct estp_sock, retransmit_timer);
	struct sock *sk = &esk->inet.sk;

	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk)) {
		estp_write_timer_handler(sk);
	} else if (!test_and_set_bit(ESTP_WRITE_TIMER_DEFERRED, &esk->deferred)) {
		bh_unlock_sock(sk);
		return;		/* the reference goes with the bit */
	}
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
 * An orphan kept whole in FIN_WAIT2 (estp_orphan_fin_wait2()) reached the
 * last ESTP_TIMEWAIT_LEN of its wait: a minisock takes over, or with
 * ESTP_LINGER2 < 0 or a wait shortened meanwhile it is reset
 * (tcp_keepalive_timer()).  The minisock gets the fin time less
 * ESTP_TIMEWAIT_LEN again, as TCP's does: more than is left once that
 * exceeds 120 s, but the same on the wire, and net.estp.max_tw_buckets
 * counts it.
 */
static void estp_orphan_fin_wait2_timer(struct sock *sk)
{
	int tmo = estp_fin_time(sk) - ESTP_TIMEWAIT_LEN;

	if (READ_ONCE(estp_sk(sk)->linger2) >= 0 && tmo > 0) {
		estp_time_wait(sk, TCP_FIN_WAIT2, tmo);
		return;
	}
	estp_send_active_reset(sk, GFP_ATOMIC);
	estp_done(sk, ESTP_DONE_FIN_WAIT2);
}

/*
 * The keepalive timer (tcp_keepalive_timer): after keepalive_time without
 * a segment from the peer, a probe every keepalive_intvl; keepalive_probes
 * unanswered ones end the connection with ETIMEDOUT.  A sock with a SYN or
 * FIN in flight is alive by its retransmit timer.  It also ends the long
 * FIN_WAIT2 of an orphan.
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
	if (sk->sk_state == TCP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD)) {
		estp_orphan_fin_wait2_timer(sk);
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
		u32 user_timeout = READ_ONCE(esk->user_timeout);
		bool dead;

		/* ESTP_USER_TIMEOUT, when set, replaces the probe count. */
		if (user_timeout)
			dead = esk->probes_out &&
			       elapsed >= msecs_to_jiffies(user_timeout);
		else
			dead = esk->probes_out >= estp_keepalive_probes(esk);
		if (dead) {
			estp_send_active_reset(sk, GFP_ATOMIC);
			estp_write_err(sk, ESTP_DONE_KEEPALIVE);
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

/*
 * The delayed-ACK timer (tcp_delack_timer): sends the owed ACK, or leaves
 * it to release_sock() when the user holds the sock; the deferred bit then
 * keeps the timer's reference until estp_release_cb() is done.
 */
static void estp_delack_timer(struct timer_list *t)
{
	struct estp_sock *esk = container_of(t, struct estp_sock, delack_timer);
	struct sock *sk = &esk->inet.sk;

	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk)) {
		estp_delack_timer_handler(sk);
	} else if (!test_and_set_bit(ESTP_DELACK_DEFERRED, &esk->deferred)) {
		bh_unlock_sock(sk);
		return;		/* the reference goes with the bit */
	}
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
	timer_setup(&estp_sk(sk)->delack_timer, estp_delack_timer, 0);
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
	estp_sk(sk)->retrans_stamp = 0;
	estp_sk(sk)->ack_pending = 0;
	estp_sk(sk)->early_timer = 0;
	sk_stop_timer(sk, &estp_sk(sk)->retransmit_timer);
	sk_stop_timer(sk, &estp_sk(sk)->delack_timer);
}
