// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP minisocks, the counterpart of net/ipv4/tcp_minisocks.c: the segment
 * that completes a passive open, and the child it creates.
 */
#include <linux/delay.h>
#include <linux/wait_bit.h>
#include <net/sock.h>

#include "estp.h"
#include "estp_ecn.h"

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
	esk->snd_up = ereq->snt_isn + 1;
	esk->snd_nxt = ereq->snt_isn + 1;
	esk->write_seq = ereq->snt_isn + 1;
	esk->pushed_seq = esk->write_seq;
	esk->rcv_nxt = ereq->rcv_isn + 1;
	esk->copied_seq = esk->rcv_nxt;
	/* What our SYN-ACK advertised and agreed to (estp_v4_send_synack()). */
	esk->tstamp_ok = ereq->tstamp_ok;
	esk->sack_ok = ereq->sack_ok;
	esk->wscale_ok = ereq->wscale_ok;
	esk->snd_wscale = ereq->snd_wscale;
	esk->rcv_wscale = ereq->rcv_wscale;
	esk->ts_offset = ereq->ts_offset;
	esk->ts_recent = ereq->ts_recent;
	esk->ts_recent_stamp = ereq->tstamp_ok ? (u32)ktime_get_seconds() : 0;
	esk->num_sacks = 0;
	estp_ecn_openreq_child(esk, req);
	if (ereq->rcv_wnd) {
		esk->rcv_wnd = ereq->rcv_wnd;
		esk->window_clamp = ereq->window_clamp;
	} else {
		/* No window was chosen: 64 KiB, unscaled. */
		esk->rcv_wnd = U16_MAX;
		esk->window_clamp = U16_MAX;
	}
	esk->rcv_ssthresh = esk->rcv_wnd;
	esk->rcv_wup = esk->rcv_nxt;
	esk->mss_clamp = ereq->mss ? : ESTP_MSS_DEFAULT;
	esk->rto = ESTP_TIMEOUT_INIT;
	esk->srtt_us = 0;
	esk->rttvar_us = 0;
	esk->packets_out = 0;
	esk->lost_out = 0;
	esk->retrans_out = 0;
	esk->sacked_out = 0;
	esk->dupacks = 0;
	/*
	 * TCP_INFO's counters start from the handshake, as
	 * tcp_create_openreq_child()'s: the SYN is in, our SYN-ACKs resent
	 * and their timeouts count, the final ACK is counted by
	 * estp_child_process().
	 */
	esk->segs_in = 1;
	esk->lsndtime = jiffies;
	esk->ack_lrcvtime = jiffies;
	esk->total_retrans = req->num_retrans;
	if (req->num_timeout) {
		esk->total_rto = req->num_timeout;
		esk->total_rto_recoveries = 1;
		esk->total_rto_time = div_u64(estp_clock_us() - ereq->snt_synack_us,
					      USEC_PER_MSEC);
	}
	/* Its own reference on the algorithm, released by its destroy. */
	estp_ca_openreq_child(newsk);
	/* A cookie's request remembers no send time; a resent one, no use. */
	esk->syn_retrans = req->num_retrans > 0;
	if (!ereq->cookie && !req->num_retrans && ereq->snt_synack_us)
		estp_rtt_sample(newsk, estp_clock_us() - ereq->snt_synack_us);
	return newsk;
}

/* The seconds after which a RST is exempt from PAWS (TCP_PAWS_MSL). */
#define ESTP_PAWS_MSL	60

/*
 * Whether a segment touches a window (tcp_in_window()): it starts at its
 * left edge, overlaps it, or is empty at its right edge.
 */
static bool estp_in_window(u32 seq, u32 end_seq, u32 s_win, u32 e_win)
{
	if (seq == s_win)
		return true;
	if (estp_after(end_seq, s_win) && estp_before(seq, e_win))
		return true;
	return seq == e_win && seq == end_seq;
}

/*
 * PAWS for a request sock (tcp_paws_reject() as tcp_check_req() calls
 * it): the SYN's TSval is TS.Recent.  A request keeps no time for it:
 * as TCP, it is taken to be one timeout old, so that a RST is exempt only
 * once the SYN-ACK's backoff reaches ESTP_PAWS_MSL.
 */
static bool estp_reqsk_paws_reject(const struct request_sock *req,
				   const struct estp_options_received *opt, bool rst)
{
	u32 recent = estp_rsk(req)->ts_recent;

	if ((s32)(recent - opt->tsval) <= 0 || !recent)
		return false;
	return !rst || estp_reqsk_timeout(req) / HZ < ESTP_PAWS_MSL;
}

/*
 * tcp_oow_rate_limited() for a request: data without SYN is no ACK loop's
 * and is always answered; anything else at most once per
 * net.estp.invalid_ratelimit, the rest counted (ACKSkippedSynRecv).
 * Lockless, as TCP's: two CPUs may both answer.
 */
static bool estp_reqsk_oow_limited(const struct sock *listener, struct request_sock *req,
				   const struct estphdr *th, u32 seq, u32 end_seq)
{
	struct net *net = sock_net(listener);

	if (seq != end_seq && !th->syn)
		return false;
	if (!estp_oow_rate_limited(net, &estp_rsk(req)->last_oow_ack_time))
		return false;
	ESTP_INC_STATS(net, ESTP_MIB_ACKSKIPPEDSYNRECV);
	return true;
}

/**
 * estp_check_req - a segment for a request sock (tcp_check_req)
 * @listener: the request's listener
 * @skb: the segment
 * @req: the request sock, with a reference held by the caller
 *
 * The checks of tcp_check_req(), in its order.  A retransmitted SYN (the
 * peer's ISN, SYN alone, PAWS-accepted) gets the SYN-ACK again, at most
 * once per net.estp.invalid_ratelimit, and restarts the SYN-ACK timer.  An
 * ACK of anything but our SYN-ACK is answered by the caller with a RST.  A
 * segment out of the window, or older than TS.Recent (PAWSEstab), gets a
 * rate-limited ACK, unless it is a RST.  In the window, a RST not at its
 * left edge gets a challenge ACK (RFC 5961 3.2); the exact RST or a new SYN
 * (RFC 9293 3.10.7.4: "fourth, check the SYN bit") ends the request
 * (AttemptFails, EmbryonicRsts), the SYN with a RST.  While the
 * listener's ESTP_DEFER_ACCEPT lasts, a bare ACK (no data, no FIN) is
 * dropped (DeferAcceptDrop) and marks the request acked for its timer.
 * An ACK creates the child, unless the accept queue is full: then the ACK
 * is dropped and the request waits for its timer.
 *
 * Return: the child, hashed in SYN_RECV, for the caller to process the ACK
 * on and queue for accept(); the listener when the caller must answer with
 * a RST; NULL when the segment is consumed.
 */
struct sock *estp_check_req(struct sock *listener, struct sk_buff *skb,
			    struct request_sock *req)
{
	struct estp_request_sock *ereq = estp_rsk(req);
	const struct estphdr *th = estp_hdr(skb);
	struct estp_options_received opt = {};
	struct net *net = sock_net(listener);
	u32 seq = ntohl(th->seq), end_seq;
	u32 rcv_nxt = ereq->rcv_isn + 1;
	bool paws_reject = false, syn = th->syn;

	end_seq = seq + th->syn + th->fin + skb->len - th->doff * 4;
	if (th->doff > sizeof(*th) / 4) {
		estp_parse_options(th, &opt);
		if (opt.saw_tstamp)
			paws_reject = estp_reqsk_paws_reject(req, &opt, th->rst);
	}

	if (seq == ereq->rcv_isn && th->syn && !th->ack && !th->rst && !paws_reject) {
		/* Lost SYN-ACK: again, and its timer restarts from now. */
		if (!estp_reqsk_oow_limited(listener, req, th, seq, end_seq) &&
		    !estp_rtx_synack(listener, req)) {
			mod_timer_pending(&req->rsk_timer, jiffies + estp_reqsk_timeout(req));
		}
		return NULL;
	}
	/* RFC 9293 3.10.7.3: an unacceptable ACK gets a RST. */
	if (th->ack && !th->rst && ntohl(th->ack_seq) != ereq->snt_isn + 1)
		return listener;
	if (paws_reject ||
	    !estp_in_window(seq, end_seq, rcv_nxt,
			    rcv_nxt + min_t(u32, ereq->rcv_wnd, U16_MAX))) {
		if (!th->rst && !estp_reqsk_oow_limited(listener, req, th, seq, end_seq))
			ereq->ctl->send_reqsk_ack(listener, skb, req);
		if (paws_reject)
			ESTP_INC_STATS(net, ESTP_MIB_PAWSESTAB);
		return NULL;
	}
	/* The SYN at rcv_isn is left of the window: what is left is an ACK. */
	if (seq == ereq->rcv_isn)
		syn = false;
	/* RFC 5961 3.2, RFC 9293 3.10.7.4: only the exact RST resets. */
	if (th->rst && seq != rcv_nxt) {
		estp_reqsk_send_challenge_ack(listener, skb, req);
		return NULL;
	}
	if (th->rst || syn) {
		ESTP_INC_STATS(net, ESTP_MIB_ATTEMPTFAILS);
		if (!th->rst)
			ereq->ctl->send_reset(net, NULL, skb);
		if (estp_reqsk_queue_drop(listener, req))
			ESTP_INC_STATS(net, ESTP_MIB_EMBRYONICRSTS);
		return NULL;
	}
	if (!th->ack)
		return NULL;
	/* Wait for data; SYN-ACK timeouts count the time (tcp_check_req). */
	if (req->num_timeout < READ_ONCE(estp_sk(listener)->accept_queue.defer_accept) &&
	    end_seq == rcv_nxt) {
		inet_rsk(req)->acked = 1;
		ESTP_INC_STATS(net, ESTP_MIB_DEFERACCEPTDROP);
		return NULL;
	}
	if (sk_acceptq_is_full(listener)) {
		ESTP_INC_STATS(net, ESTP_MIB_LISTENOVERFLOWS);
		ESTP_INC_STATS(net, ESTP_MIB_LISTENDROPS);
		return NULL;
	}
	return estp_sk(listener)->af_ops->syn_recv_sock(listener, skb, req);
}

/**
 * estp_fastopen_check_req - a segment for a Fast Open child still in its
 *	handshake (tcp_check_req() with fastopen true)
 * @sk: the child, locked, in SYN_RECV or FIN_WAIT1, its fastopen_rsk @req
 * @skb: the segment
 * @req: the child's request sock
 *
 * The checks estp_check_req() makes for a request, on the child: a
 * resent SYN gets the SYN-ACK again (rate-limited), a segment out of the
 * window an ACK, a RST not at the window's edge a challenge ACK; the
 * exact RST ends the request (kept 60 s if accepted) and resets the
 * child; a new SYN is answered with a RST and changes nothing.  The ACK
 * itself is left to the state machine, as TCP's.
 *
 * Return: -1 when the caller goes on with the segment, 0 when it is
 * consumed.
 */
int estp_fastopen_check_req(struct sock *sk, struct sk_buff *skb,
			    struct request_sock *req)
{
	struct estp_request_sock *ereq = estp_rsk(req);
	const struct estphdr *th = estp_hdr(skb);
	struct estp_options_received opt = {};
	struct net *net = sock_net(sk);
	u32 seq = ntohl(th->seq), end_seq;
	u32 rcv_nxt = ereq->rcv_nxt;
	bool paws_reject = false, syn = th->syn;

	end_seq = seq + th->syn + th->fin + skb->len - th->doff * 4;
	if (th->doff > sizeof(*th) / 4) {
		estp_parse_options(th, &opt);
		if (opt.saw_tstamp)
			paws_reject = estp_reqsk_paws_reject(req, &opt, th->rst);
	}
	if (seq == ereq->rcv_isn && th->syn && !th->ack && !th->rst && !paws_reject) {
		/* The SYN again: its SYN-ACK was lost (the child's timer runs on). */
		if (!estp_reqsk_oow_limited(sk, req, th, seq, end_seq))
			estp_rtx_synack(sk, req);
		return 0;
	}
	if (paws_reject ||
	    !estp_in_window(seq, end_seq, rcv_nxt,
			    rcv_nxt + min_t(u32, ereq->rcv_wnd, U16_MAX))) {
		if (!th->rst && !estp_reqsk_oow_limited(sk, req, th, seq, end_seq))
			estp_send_ack(sk);
		if (paws_reject)
			ESTP_INC_STATS(net, ESTP_MIB_PAWSESTAB);
		return 0;
	}
	if (seq == ereq->rcv_isn)
		syn = false;
	if (th->rst && seq != rcv_nxt) {
		estp_send_challenge_ack(sk);
		return 0;
	}
	if (th->rst || syn) {
		ESTP_INC_STATS(net, ESTP_MIB_ATTEMPTFAILS);
		if (!th->rst) {
			ereq->ctl->send_reset(net, NULL, skb);
		} else {
			estp_reqsk_fastopen_remove(sk, req, true);
			estp_reset(sk);
		}
		return 0;
	}
	if (!th->ack)
		return 0;
	return -1;
}

/**
 * estp_child_process - the final ACK reaches the new child (tcp_child_process)
 * @listener: the listener
 * @child: the child, hashed, not yet on the accept queue
 * @skb: the final ACK
 *
 * No user holds the child yet, so it is processed at once, under its lock.
 * Data in @skb is charged to @child: the caller holds @child until it has
 * freed @skb, since the accept queue may reset and free the child first.
 *
 * Return: 1 when the ACK must be answered with a RST, 0 otherwise.
 */
int estp_child_process(struct sock *listener, struct sock *child,
		       struct sk_buff *skb)
{
	int ret;

	bh_lock_sock(child);
	estp_segs_in(estp_sk(child), skb);
	ret = estp_rcv_state_process(child, skb);
	bh_unlock_sock(child);
	return ret;
}

/* Time-wait minisocks: proto_register() creates their slab (twsk_prot). */
struct timewait_sock_ops estp_timewait_sock_ops = {
	.twsk_obj_size	= sizeof(struct estp_timewait_sock),
};

/*
 * The life of a time-wait minisock.  It holds no reference on estp.ko (so
 * TIME_WAIT never blocks rmmod) nor on its netns (so it never keeps one
 * alive); the core's inet_twsk_free(), which would drop one, never sees it
 * (estp_sock_gen_put()).  Instead:
 * - references (tw_refcnt): the established hash's, dropped by whoever
 *   unhashes it (its timer's handler, a RST or SYN for it, the purge); the
 *   timer's, dropped by the handler or by whoever deletes the pending
 *   timer; a lookup's, dropped by the one who looked it up.
 * - its netns counts it (estp_net.tw_count) from its allocation to its
 *   free.  estp_twsk_purge() runs at netns exit, and for every netns at
 *   rmmod (unregister_pernet_subsys()): it unhashes each minisock of the
 *   netns and deletes its timer (timer_delete_sync(): a handler already
 *   running finishes first), then waits for the count to reach zero, i.e.
 *   for those who held one it could no longer find (a handler that had
 *   unhashed it already, a segment being processed) to drop it.
 * - the free is the last touch of the netns and of estp.ko's data; what is
 *   left of its caller's run is estp.ko's text, which module unload frees
 *   only after an RCU grace period, and the callers that may run then
 *   (timers, the receive path) are softirqs, which hold one off.
 */

/**
 * estp_twsk_put - drop a reference on a time-wait minisock (inet_twsk_put)
 * @tw: the minisock
 *
 * The last one frees it, and its netns stops counting it.
 */
void estp_twsk_put(struct inet_timewait_sock *tw)
{
	struct estp_net *en;

	if (!refcount_dec_and_test(&tw->tw_refcnt))
		return;
	en = estp_pernet(twsk_net(tw));
	kmem_cache_free(tw->tw_prot->twsk_prot->twsk_slab, tw);
	if (atomic_dec_and_test(&en->tw_count))
		wake_up_var(&en->tw_count);
}

/* Out of the established hash and the bind bucket (inet_twsk_kill). */
static void estp_twsk_kill(struct inet_timewait_sock *tw)
{
	if (estp_ehash_insert(NULL, (struct sock *)tw))
		estp_twsk_put(tw);		/* the hash's */
	estp_twsk_unbind(tw);
}

/**
 * estp_twsk_deschedule_put - stop a minisock's timer and kill it
 *	(inet_twsk_deschedule_put)
 * @tw: the minisock; the caller's reference on it is dropped
 *
 * Takes the bind bucket's lock: not to be called under it.
 */
void estp_twsk_deschedule_put(struct inet_timewait_sock *tw)
{
	if (timer_delete(&tw->tw_timer))
		estp_twsk_put(tw);		/* the timer's */
	estp_twsk_kill(tw);
	estp_twsk_put(tw);			/* the caller's */
}

/**
 * estp_twsk_purge - end every time-wait minisock of a netns
 * @net: the netns going away, or every netns at rmmod
 *
 * Minisocks hold no reference on their netns nor on the module: they must
 * not outlive either.  No full sock of @net is left to make new ones.
 * Returns once the last of them is freed: waits for timers already
 * running, and for references held by those that unhashed one first.
 */
void estp_twsk_purge(struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	struct inet_timewait_sock *tw;
	unsigned int slot = 0;

	/* One walk of the table: each search resumes at the last bucket. */
	while ((tw = estp_ehash_find_tw(net, &slot)) != NULL) {
		if (timer_delete_sync(&tw->tw_timer))
			estp_twsk_put(tw);	/* the timer's */
		estp_twsk_kill(tw);
		estp_twsk_put(tw);		/* estp_ehash_find_tw()'s */
		cond_resched();
	}
	wait_var_event(&en->tw_count, !atomic_read(&en->tw_count));
}

static void estp_tw_timer_handler(struct timer_list *t)
{
	struct inet_timewait_sock *tw = container_of(t, struct inet_timewait_sock, tw_timer);

	estp_twsk_kill(tw);
	estp_twsk_put(tw);			/* the timer's */
}

static unsigned long estp_tw_timeout(const struct net *net)
{
	return READ_ONCE(estp_pernet(net)->tw_timeout) * HZ;
}

/**
 * estp_time_wait - a minisock replaces sk, and sk is done (tcp_time_wait)
 * @sk: the socket, in FIN_WAIT2, CLOSING or with the peer's FIN received
 * @state: TCP_TIME_WAIT, or TCP_FIN_WAIT2 for an orphan still waiting for
 *	the peer's FIN
 * @timeo: how long, in jiffies, for TCP_FIN_WAIT2 (net.estp.fin_timeout)
 *
 * With net.estp.max_tw_buckets minisocks in the netns already, or without
 * memory for one, the connection just ends, counted as TimeWaitOverflow,
 * as in TCP (inet_twsk_alloc()).
 */
void estp_time_wait(struct sock *sk, int state, int timeo)
{
	const struct estp_sock *esk = estp_sk(sk);
	struct estp_net *en = estp_pernet(sock_net(sk));
	struct estp_timewait_sock *etw = NULL;
	struct inet_timewait_sock *tw;
	const size_t end = offsetof(struct sock_common, skc_dontcopy_end);

	/* Racy as TCP's check: a few over the limit at most, one a CPU. */
	if (atomic_read(&en->tw_count) < READ_ONCE(en->max_tw_buckets) &&
	    !estp_fault("time_wait"))
		etw = kmem_cache_alloc(sk->sk_prot->twsk_prot->twsk_slab, GFP_ATOMIC);
	if (!etw) {
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_TIMEWAITOVERFLOW);
		goto done;
	}
	/* Counted until estp_twsk_put() frees it, whatever happens below. */
	atomic_inc(&en->tw_count);
	/* All but the hash node and the count, which lookups may be reading. */
	memset(etw, 0, offsetof(struct sock_common, skc_dontcopy_begin));
	memset((u8 *)etw + end, 0, sizeof(*etw) - end);
	tw = &etw->tw;
	tw->tw_daddr = sk->sk_daddr;
	tw->tw_rcv_saddr = sk->sk_rcv_saddr;
	tw->tw_dport = sk->sk_dport;
	tw->tw_num = sk->sk_num;
	tw->tw_sport = inet_sk(sk)->inet_sport;
	tw->tw_family = sk->sk_family;
#if IS_ENABLED(CONFIG_IPV6)
	/* An IPv6 sock's keys, for the hash and diag (inet_twsk_alloc()). */
	tw->tw_v6_daddr = sk->sk_v6_daddr;
	tw->tw_v6_rcv_saddr = sk->sk_v6_rcv_saddr;
	tw->tw_ipv6only = sk->sk_ipv6only;
#endif
	tw->tw_reuse = sk->sk_reuse;
	tw->tw_reuseport = sk->sk_reuseport;
	tw->tw_bound_dev_if = sk->sk_bound_dev_if;
	/* For its RSTs, as tcp_time_wait() keeps them. */
	tw->tw_mark = READ_ONCE(sk->sk_mark);
	tw->tw_priority = READ_ONCE(sk->sk_priority);
	/* Its family's slab, as TCP's tw_sock_TCP and tw_sock_TCPv6. */
	tw->tw_prot = sk->sk_prot;
	twsk_net_set(tw, sock_net(sk));
	tw->tw_state = TCP_TIME_WAIT;
	tw->tw_substate = state;
	etw->ctl = esk->af_ops->ctl;
	etw->snd_nxt = esk->snd_nxt;
	etw->rcv_nxt = esk->rcv_nxt;
	/* What is left of the window last offered (tcp_receive_window()). */
	etw->rcv_wnd = max_t(s32, esk->rcv_wup + esk->rcv_wnd - esk->rcv_nxt, 0);
	etw->tstamp_ok = esk->tstamp_ok;
	etw->ts_recent = esk->ts_recent;
	etw->ts_recent_stamp = esk->ts_recent_stamp;
	etw->ts_offset = esk->ts_offset;
	timer_setup(&tw->tw_timer, estp_tw_timer_handler, TIMER_PINNED);
	/*
	 * The slab is SLAB_TYPESAFE_BY_RCU: a lookup that still holds this
	 * object from its last life must see the keys above before a count
	 * it can take (review X3; sk_clone_lock's smp_wmb()).
	 */
	smp_wmb();
	refcount_set(&tw->tw_refcnt, 2);	/* the hash's and the timer's */

	/*
	 * Fault point "tw_locked": the sock, bh-locked, waits until another
	 * CPU's lookup has found it (its reference taken; 2 s at most).  That
	 * segment then meets the sock closed, after the minisock took over.
	 */
	if (state == TCP_FIN_WAIT2) {
		unsigned int ref = refcount_read(&sk->sk_refcnt);

		estp_fault_hold("tw_locked", refcount_read(&sk->sk_refcnt) > ref);
	}
	estp_twsk_bind(tw, sk);
	if (!estp_ehash_insert((struct sock *)tw, sk)) {
		/* sk was not hashed: nothing to stand for. */
		estp_twsk_unbind(tw);
		refcount_set(&tw->tw_refcnt, 1);
		estp_twsk_put(tw);
		goto done;
	}
	__sock_put(sk);				/* the hash's, now tw's */
	/* Tests: a FIN meets the minisock before its timer is armed. */
	if (state == TCP_FIN_WAIT2)
		estp_fault_hold("tw_timer", READ_ONCE(tw->tw_substate) == TCP_TIME_WAIT);
	mod_timer(&tw->tw_timer, jiffies +
		  (state == TCP_TIME_WAIT ? estp_tw_timeout(sock_net(sk)) : timeo));
	/*
	 * The minisock was in the hash before its timer ran: a FIN that met it
	 * there moved it to TIME_WAIT and found no timer to push back
	 * (mod_timer_pending()), so the one just armed is FIN_WAIT2's.  Give
	 * it TIME_WAIT's; if the minisock has already been killed, the timer
	 * is not pending and stays so.
	 */
	if (state == TCP_FIN_WAIT2 && READ_ONCE(tw->tw_substate) == TCP_TIME_WAIT)
		mod_timer_pending(&tw->tw_timer, jiffies + estp_tw_timeout(sock_net(sk)));
done:
	estp_done(sk, ESTP_DONE_TIME_WAIT);
}

/*
 * PAWS for a minisock (tcp_paws_reject()): a TSval older than the one it
 * echoes is an old duplicate, unless ts_recent is unset or over 24 days
 * old; a RST only while ts_recent is younger than ESTP_PAWS_MSL.
 */
static bool estp_tw_paws_reject(const struct estp_timewait_sock *etw,
				const struct estp_options_received *opt, bool rst)
{
	u32 recent = READ_ONCE(etw->ts_recent);
	u32 age = (u32)ktime_get_seconds() - READ_ONCE(etw->ts_recent_stamp);

	if ((s32)(recent - opt->tsval) <= 0 || !recent || age >= ESTP_PAWS_24DAYS)
		return false;
	return !rst || age < ESTP_PAWS_MSL;
}

/*
 * ACK an out-of-window segment, at most once per net.estp.invalid_ratelimit
 * ms per minisock, and drop the lookup's reference
 * (tcp_timewait_check_oow_rate_limit(), tcp_oow_rate_limited()).  Data or
 * a FIN without SYN cannot be part of an ACK loop: always acknowledged.
 * Lockless as in TCP: two CPUs may both send one.
 */
static void estp_tw_oow_ack(struct inet_timewait_sock *tw, bool limit)
{
	struct estp_timewait_sock *etw = estp_twsk(tw);

	if (!limit || !estp_oow_rate_limited(twsk_net(tw), &etw->last_oow_ack_time))
		etw->ctl->send_tw_ack(tw);
	estp_twsk_put(tw);
}

/* The timestamp of a segment taken in sequence becomes the one to echo. */
static void estp_tw_ts_update(struct estp_timewait_sock *etw,
			      const struct estp_options_received *opt)
{
	if (!opt->saw_tstamp)
		return;
	WRITE_ONCE(etw->ts_recent, opt->tsval);
	WRITE_ONCE(etw->ts_recent_stamp, (u32)ktime_get_seconds());
}

/**
 * estp_timewait_state_process - a segment for a time-wait minisock
 *	(tcp_timewait_state_process)
 * @tw: the minisock, with the lookup's reference, which this drops
 * @skb: the segment, data at its ESTP header
 *
 * As TCP's, this runs without a lock: two copies of a segment may be
 * processed at once, so sequence numbers are assigned, never incremented.
 *
 * FIN_WAIT2 repeats the checks of a full sock: an out-of-window segment
 * gets a rate-limited ACK; an in-window RST ends the minisock; new data,
 * a SYN or a FIN that is not alone at rcv_nxt get a RST (the half-duplex
 * close cannot take them) and end it; the FIN enters TIME_WAIT.
 *
 * TIME_WAIT: only a RST at rcv_nxt that PAWS accepts ends it (no RFC 1337
 * protection, TCP's default); a SYN above the old sequence space ends it
 * and may open a new connection; anything else out of window gets a
 * rate-limited ACK.
 *
 * Return: true when the caller must give the segment to a listener.
 */
bool estp_timewait_state_process(struct inet_timewait_sock *tw, struct sk_buff *skb)
{
	struct estp_timewait_sock *etw = estp_twsk(tw);
	const struct estphdr *th = estp_hdr(skb);
	u32 rcv_nxt = READ_ONCE(etw->rcv_nxt);
	struct estp_options_received opt = {};
	u32 seq = ntohl(th->seq), end_seq;
	bool paws_reject = false;

	end_seq = seq + th->syn + th->fin + skb->len - th->doff * 4;
	if (etw->tstamp_ok && READ_ONCE(etw->ts_recent_stamp) &&
	    th->doff > sizeof(*th) / 4) {
		estp_parse_options(th, &opt);
		if (opt.saw_tstamp)
			paws_reject = estp_tw_paws_reject(etw, &opt, th->rst);
	}

	if (READ_ONCE(tw->tw_substate) == TCP_FIN_WAIT2) {
		if (paws_reject ||
		    !estp_in_window(seq, end_seq, rcv_nxt, rcv_nxt + etw->rcv_wnd)) {
			estp_tw_oow_ack(tw, seq == end_seq || th->syn);
			return false;
		}
		if (th->rst)
			goto kill;
		if (th->syn && !estp_before(seq, rcv_nxt))
			goto reset;
		/* A duplicate ACK, or nothing new. */
		if (!th->ack || !estp_after(end_seq, rcv_nxt) || end_seq == seq) {
			estp_twsk_put(tw);
			return false;
		}
		if (!th->fin || end_seq != rcv_nxt + 1)
			goto reset;
		WRITE_ONCE(tw->tw_substate, TCP_TIME_WAIT);
		WRITE_ONCE(etw->rcv_nxt, end_seq);
		estp_tw_ts_update(etw, &opt);
		mod_timer_pending(&tw->tw_timer, jiffies + estp_tw_timeout(twsk_net(tw)));
		etw->ctl->send_tw_ack(tw);
		estp_twsk_put(tw);
		return false;
	}

	if (!paws_reject && seq == rcv_nxt && (seq == end_seq || th->rst)) {
		/* In window: a RST (TIME_WAIT assassination) or a bare ACK. */
		if (th->rst)
			goto kill;
		mod_timer_pending(&tw->tw_timer, jiffies + estp_tw_timeout(twsk_net(tw)));
		estp_tw_ts_update(etw, &opt);
		estp_twsk_put(tw);
		return false;
	}
	if (th->syn && !th->rst && !th->ack && !paws_reject && estp_after(seq, rcv_nxt)) {
		estp_twsk_deschedule_put(tw);
		return true;
	}
	if (paws_reject)
		ESTP_INC_STATS(twsk_net(tw), ESTP_MIB_PAWSESTAB);
	if (th->rst) {
		estp_twsk_put(tw);
		return false;
	}
	/* Our last ACK was lost, or a stray segment: ACK again. */
	if (paws_reject || th->ack)
		mod_timer_pending(&tw->tw_timer, jiffies + estp_tw_timeout(twsk_net(tw)));
	estp_tw_oow_ack(tw, seq == end_seq || th->syn);
	return false;

reset:
	/* TCP_TW_RST: tcp_v4_rcv() answers and ends the minisock. */
	etw->ctl->send_reset(twsk_net(tw), (struct sock *)tw, skb);
kill:
	estp_twsk_deschedule_put(tw);
	return false;
}
