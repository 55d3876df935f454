// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP socket calls, the counterpart of net/ipv4/tcp.c.
 *
 * Sockets are created, bound, listen, connect and close; they carry no data
 * yet.  Socket options at SOL_ESTP take TCP's numbers, and SOL_TCP is
 * accepted for the ones whose meaning is TCP's.
 */
#include <linux/delay.h>
#include <linux/sched/signal.h>
#include <linux/sockios.h>
#include <linux/inet_diag.h>
#include <linux/tcp.h>
#include <asm/ioctls.h>
#include <net/ip.h>
#include <net/sock.h>

#include "estp.h"
#include "estp_ecn.h"
#include "estp_trace.h"

/**
 * estp_set_state - change sk's state (tcp_set_state)
 * @sk: the socket, locked or owned by the receive path
 * @state: the new TCP_* state
 *
 * Entering CLOSE unhashes the sock and, unless the user bound the port
 * explicitly, gives the port back.  The state itself goes through
 * inet_sk_set_state() so that the sock:inet_sock_set_state tracepoint fires.
 */
void estp_set_state(struct sock *sk, int state)
{
	if (state == TCP_CLOSE) {
		sk->sk_prot->unhash(sk);
		if (!(sk->sk_userlocks & SOCK_BINDPORT_LOCK))
			estp_put_port(sk);
	}
	inet_sk_set_state(sk, state);
}

/**
 * estp_done - the connection is over (tcp_done)
 * @sk: the socket, locked or owned by the receive path or a timer
 * @reason: which exit ends it, for the estp:estp_done trace event
 *
 * CLOSE, timers stopped, a Fast Open child's request sock out of its
 * listener's queue (reqsk_fastopen_remove), both directions shut; the
 * owner, if any, is woken, and a sock nobody owns any more is destroyed.
 */
void estp_done(struct sock *sk, enum estp_done_reason reason)
{
	/* A Fast Open child still in its handshake (tcp_done's first read). */
	struct request_sock *req = rcu_dereference_protected(estp_sk(sk)->fastopen_rsk, 1);

	trace_estp_done(sk, reason);
	if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV))
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ATTEMPTFAILS);
	estp_set_state(sk, TCP_CLOSE);
	estp_clear_xmit_timers(sk);
	if (req)
		estp_reqsk_fastopen_remove(sk, req, false);
	estp_delete_keepalive_timer(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
	else
		estp_csk_destroy_sock(sk);
}

/* States whose abort tells the peer with a RST (tcp_need_reset). */
static bool estp_need_reset(int state)
{
	return (1 << state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT | TCPF_FIN_WAIT1 |
			       TCPF_FIN_WAIT2 | TCPF_SYN_RECV);
}

/**
 * estp_abort - end a socket for SOCK_DESTROY (tcp_abort): proto->diag_destroy
 * @sk: a full sock, a request sock or a time-wait minisock, with a
 *	reference the caller (the diag lookup) holds and drops after
 * @err: what the owner's calls fail with (ECONNABORTED)
 *
 * A request sock leaves the established hash and its listener's count; a
 * time-wait minisock loses its timer and leaves the hashes.  A listener
 * stops listening (its request socks and unaccepted children go, as on
 * close()), and its acceptors wake.  A connection records @err for its
 * owner, sends a RST where TCP's would, and ends through estp_done(): an
 * orphan is destroyed there, an owned sock waits for close().  No counter
 * moves for the abort itself, as in TCP (RSTs count in OutRsts).
 *
 * Locking and references:
 * - the caller's reference keeps the memory of all three kinds until it
 *   is dropped, even if the sock is destroyed here or meanwhile.
 * - a request sock or a minisock has no lock: estp_reqsk_queue_drop() and
 *   estp_twsk_deschedule_put() let only one of their callers unhash it and
 *   drop the hash's reference (the bucket lock decides), and stop its
 *   timer; a timer handler or a second destroy that comes later finds it
 *   unhashed.  The minisock's put here is of a reference taken for it.
 * - a full sock: lock_sock() serialises with close(), setsockopt() and a
 *   second destroy, which then finds it CLOSE (-ENOENT), as does one that
 *   comes after a close() that ended it.  The BH lock, taken inside,
 *   keeps the receive path and timers of other CPUs out while the state
 *   changes (they would otherwise only queue to the backlog); a timer that
 *   fires meanwhile defers to release_sock(), and its handler finds CLOSE.
 *   estp_done() of an orphan (SOCK_DEAD: closed before the destroy got
 *   the lock) drops the orphan's reference in estp_csk_destroy_sock(); the
 *   caller's is still held, so the unlocks below touch live memory.
 *
 * Fault point "abort": the destroy stops after the lookup, before the lock,
 * until the sock is closed or CLOSE (10 s at most), so that a test can
 * close it, or destroy it a second time, inside that window.  Fault point
 * "abort_locked": it stops with the sock owned until the retransmit timer
 * has fired and deferred its work to release_sock() (10 s at most).
 *
 * Return: 0, or -ENOENT when the sock was already CLOSE.
 */
int estp_abort(struct sock *sk, int err)
{
	int state = inet_sk_state_load(sk);

	if (state == TCP_NEW_SYN_RECV) {
		struct request_sock *req = inet_reqsk(sk);

		local_bh_disable();
		estp_reqsk_queue_drop(req->rsk_listener, req);
		local_bh_enable();
		return 0;
	}
	if (state == TCP_TIME_WAIT) {
		struct inet_timewait_sock *tw = inet_twsk(sk);

		/* estp_twsk_deschedule_put() drops one: not the caller's. */
		refcount_inc(&tw->tw_refcnt);
		local_bh_disable();
		estp_twsk_deschedule_put(tw);
		local_bh_enable();
		return 0;
	}

	estp_fault_wait("abort",
			sock_flag(sk, SOCK_DEAD) || inet_sk_state_load(sk) == TCP_CLOSE);
	lock_sock(sk);
	if (sk->sk_state == TCP_CLOSE) {
		release_sock(sk);
		return -ENOENT;
	}
	estp_fault_wait("abort_locked",
			test_bit(ESTP_WRITE_TIMER_DEFERRED, &estp_sk(sk)->deferred));
	if (sk->sk_state == TCP_LISTEN) {
		estp_set_state(sk, TCP_CLOSE);
		estp_csk_listen_stop(sk);
	}

	local_bh_disable();
	bh_lock_sock(sk);
	WRITE_ONCE(sk->sk_err, err);
	/* sk_err before the state change the owner may wait on (estp_poll()) */
	smp_wmb();
	if (estp_need_reset(sk->sk_state))
		estp_send_active_reset(sk, GFP_ATOMIC);
	/* Nothing queued may leave an aborted sock (tcp_done_with_error). */
	estp_write_queue_purge(sk);
	estp_done(sk, ESTP_DONE_ABORT);
	if (!sock_flag(sk, SOCK_DEAD))
		sk_error_report(sk);
	bh_unlock_sock(sk);
	local_bh_enable();
	release_sock(sk);
	return 0;
}

/**
 * estp_reset_stream_state - forget what a past connection of this sock left
 * @sk: the socket: one disconnected, or a child just cloned from a listener
 *	that may once have been connected
 *
 * tcp_disconnect() and tcp_create_openreq_child() leave none of these
 * behind: a stale fin_sent keeps a FIN from ever going out, a stale
 * tlp_high_seq or RACK state disables loss detection for a while.
 */
void estp_reset_stream_state(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->fin_sent = 0;
	esk->fin_queued = 0;
	esk->syn_unacked = 0;
	esk->in_recovery = 0;
	esk->retransmits = 0;
	esk->probes_out = 0;
	esk->high_seq = 0;
	esk->retrans_stamp = 0;
	esk->snd_sml = 0;
	esk->rcv_rtt_us = 0;
	esk->rack_xmit_us = 0;
	esk->rack_end_seq = 0;
	esk->rack_rtt_us = 0;
	esk->reord_seen = 0;
	esk->fack = 0;
	esk->reo_wnd_steps = 1;
	esk->reo_wnd_persist = 0;
	esk->rack_dsack_seen = 0;
	esk->reo_wnd_stamp_us = 0;
	esk->tlp_high_seq = 0;
	esk->undo_tsval = 0;
	esk->undo_marker = 0;
	esk->undo_retrans = -1;
	esk->dsack_dups = 0;
	esk->frto = 0;
	esk->dsack = 0;
	esk->prior_ssthresh = 0;
	esk->dupacks = 0;
	esk->num_sacks = 0;
	WRITE_ONCE(esk->urg_data, 0);
	/* TCP_INFO's counters (tcp_disconnect() zeroes its namesakes). */
	esk->advmss = 0;
	esk->pmtu_cookie = 0;
	esk->lsndtime = 0;
	WRITE_ONCE(esk->segs_in, 0);
	WRITE_ONCE(esk->data_segs_in, 0);
	esk->segs_out = 0;
	esk->data_segs_out = 0;
	esk->total_retrans = 0;
	esk->delivered = 0;
	esk->rcv_ooopack = 0;
	esk->total_rto = 0;
	esk->total_rto_recoveries = 0;
	esk->total_rto_time = 0;
	esk->rto_stamp = 0;
	esk->bytes_acked = 0;
	esk->bytes_received = 0;
	esk->bytes_sent = 0;
	esk->bytes_retrans = 0;
	minmax_reset(&esk->rtt_min, jiffies, ~0U);
	esk->chrono_type = ESTP_CHRONO_UNSPEC;
	memset(esk->chrono_stat, 0, sizeof(esk->chrono_stat));
}

/**
 * estp_disconnect - proto->disconnect, from shutdown() of a listener and
 *	connect(AF_UNSPEC)
 * @sk: the socket, locked
 * @flags: unused
 *
 * Return: 0; the sock is in CLOSE, ready for listen() or connect() again.
 */
int estp_disconnect(struct sock *sk, int flags)
{
	struct estp_sock *esk = estp_sk(sk);
	int old_state = sk->sk_state;
	struct request_sock *req;

	if (old_state != TCP_CLOSE)
		estp_set_state(sk, TCP_CLOSE);
	/*
	 * A Fast Open child's request goes now, not at close() as TCP's:
	 * the sock may connect again, and must not look like a child.
	 */
	req = rcu_dereference_protected(esk->fastopen_rsk, lockdep_sock_is_held(sk));
	if (req)
		estp_reqsk_fastopen_remove(sk, req, false);
	if (old_state == TCP_LISTEN) {
		estp_csk_listen_stop(sk);
	} else if (old_state != TCP_CLOSE) {
		/* A synchronized connection is aborted towards the peer. */
		if (old_state != TCP_SYN_SENT)
			estp_send_active_reset(sk, gfp_any());
		WRITE_ONCE(sk->sk_err, ECONNRESET);
	}
	estp_clear_xmit_timers(sk);
	estp_delete_keepalive_timer(sk);
	estp_write_queue_purge(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	estp_fastopen_active_disable_ofo_check(sk);
	estp_ofo_purge(sk);
	/* Fast Open's active state goes with the connection (tcp_disconnect). */
	estp_free_fastopen_req(esk);
	estp_set_defer_connect(sk, false);
	esk->fastopen_client_fail = 0;
	estp_reset_stream_state(sk);
	/* Nothing is left to read (SIOCINQ), nor a route to the old peer. */
	estp_sk(sk)->copied_seq = estp_sk(sk)->rcv_nxt;
	/* The clamp and the peek offset go with the connection, as TCP's. */
	WRITE_ONCE(estp_sk(sk)->window_clamp, 0);
	WRITE_ONCE(sk->sk_peek_off, -1);
	__sk_dst_reset(sk);
	/* The algorithm stays, its state does not (as tcp_disconnect()). */
	if (estp_sk(sk)->ca_initialized && estp_sk(sk)->ca_ops->release)
		estp_sk(sk)->ca_ops->release(sk);
	estp_sk(sk)->ca_initialized = 0;
	memset(estp_sk(sk)->ca_priv, 0, sizeof(estp_sk(sk)->ca_priv));
	estp_sk(sk)->ca_state = ESTP_CA_OPEN;
	estp_sk(sk)->snd_cwnd = ESTP_INIT_CWND;
	estp_sk(sk)->snd_ssthresh = ESTP_INFINITE_SSTHRESH;
	inet_sk(sk)->inet_dport = 0;
	inet_sk(sk)->inet_daddr = 0;
	/* Both families' source addresses (tcp_disconnect). */
	if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK))
		inet_reset_saddr(sk);
	WRITE_ONCE(sk->sk_shutdown, 0);
	sock_reset_flag(sk, SOCK_DONE);
	/*
	 * connect(AF_UNSPEC) wakes nobody else: threads blocked in recv(),
	 * accept() or poll() on this sock learn of it here (tcp_disconnect).
	 */
	smp_wmb();
	sk_error_report(sk);
	return 0;
}

/*
 * Room on the write queue for any byte: the send buffer's share of
 * sk_stream_memory_free(), whose indirect call names
 * tcp_stream_memory_free, which newer kernels do not export.
 */
static bool estp_sndbuf_free(const struct sock *sk)
{
	return READ_ONCE(sk->sk_wmem_queued) < READ_ONCE(sk->sk_sndbuf);
}

/*
 * Fewer bytes unsent than ESTP_NOTSENT_LOWAT (or net.estp.notsent_lowat):
 * a writer may queue a new segment (tcp_stream_memory_free).  A wakeup
 * (@wake 1) waits for half of that, as sock_def_write_space() does, so
 * that a writer woken has room for more than a few bytes.
 */
static bool estp_notsent_free(const struct sock *sk, int wake)
{
	const struct estp_sock *esk = estp_sk(sk);
	u32 notsent = READ_ONCE(esk->write_seq) - READ_ONCE(esk->snd_nxt);

	return ((u64)notsent << wake) < estp_notsent_lowat(esk);
}

/**
 * estp_stream_memory_free - proto->stream_memory_free: may the writer
 *	queue more (__sk_stream_memory_free() with tcp_stream_memory_free)
 * @sk: the socket
 * @wake: 1 when deciding a wakeup, 0 for a writer
 *
 * The core's sk_stream_wait_memory() waits on it.
 *
 * Return: whether the send buffer and the unsent bytes leave room.
 */
bool estp_stream_memory_free(const struct sock *sk, int wake)
{
	return estp_sndbuf_free(sk) && estp_notsent_free(sk, wake);
}

/* What poll() says and writers are woken for (__sk_stream_is_writeable). */
static bool estp_stream_is_writeable(const struct sock *sk, int wake)
{
	return sk_stream_wspace(sk) >= sk_stream_min_wspace(sk) &&
	       estp_stream_memory_free(sk, wake);
}

/**
 * estp_poll - proto_ops->poll (tcp_poll)
 * @file: the file of the socket
 * @sock: the socket
 * @wait: poll table
 *
 * Return: the events, as TCP gives them for the same state.
 */
__poll_t estp_poll(struct file *file, struct socket *sock, poll_table *wait)
{
	struct sock *sk = sock->sk;
	const struct estp_sock *esk = estp_sk(sk);
	__poll_t mask = 0;
	int state, target;
	u16 urg_data;
	u8 shutdown;

	sock_poll_wait(file, sock, wait);
	state = inet_sk_state_load(sk);
	if (state == TCP_LISTEN)
		return estp_accept_queue_empty(sk) ? 0 : EPOLLIN | EPOLLRDNORM;

	shutdown = READ_ONCE(sk->sk_shutdown);
	if (shutdown == SHUTDOWN_MASK || state == TCP_CLOSE)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	/*
	 * SO_RCVLOWAT bytes, or what must be read for more to come (tcp_poll);
	 * an urgent byte taken out of band at the reader's place is no data.
	 */
	target = sock_rcvlowat(sk, 0, INT_MAX);
	urg_data = READ_ONCE(esk->urg_data);
	if (unlikely(urg_data) && READ_ONCE(esk->urg_seq) == READ_ONCE(esk->copied_seq) &&
	    !sock_flag(sk, SOCK_URGINLINE))
		target++;
	if (estp_epollin_ready(sk, target))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (urg_data & ESTP_URG_VALID)
		mask |= EPOLLPRI;
	/*
	 * A sock still in its handshake is not writable, but for a Fast Open
	 * child, and a ESTP_FASTOPEN_CONNECT sock whose SYN waits for its
	 * first write (tcp_poll).
	 */
	if (state != TCP_SYN_SENT &&
	    (state != TCP_SYN_RECV || rcu_access_pointer(esk->fastopen_rsk))) {
		if (shutdown & SEND_SHUTDOWN || estp_stream_is_writeable(sk, 1)) {
			mask |= EPOLLOUT | EPOLLWRNORM;
		} else {
			/* Ask estp_write_space() for the wakeup (tcp_poll). */
			sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
			set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
			/* Room made between the test and the bits: look again. */
			smp_mb__after_atomic();
			if (estp_stream_is_writeable(sk, 1))
				mask |= EPOLLOUT | EPOLLWRNORM;
		}
	} else if (state == TCP_SYN_SENT && estp_defer_connect(sk)) {
		mask |= EPOLLOUT | EPOLLWRNORM;
	}
	/* sk_err before the state: estp_reset() orders them so. */
	smp_rmb();
	if (READ_ONCE(sk->sk_err) || !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	return mask;
}

/*
 * Wake writers once the write queue has room (sk_stream_write_space, which
 * is not exported): stream sockets wait on sk_wmem_queued, not on the
 * sk_wmem_alloc that sock_def_write_space() watches.
 */
static void estp_write_space(struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	struct socket_wq *wq;

	if (!sock || !estp_stream_is_writeable(sk, 1))
		return;
	clear_bit(SOCK_NOSPACE, &sock->flags);
	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
	if (wq && wq->fasync_list && !(sk->sk_shutdown & SEND_SHUTDOWN))
		sock_wake_async(wq, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

/**
 * estp_check_space - new data went out: a writer or poll() that waits for
 *	the unsent bytes to fall under ESTP_NOTSENT_LOWAT may go on
 *	(tcp_check_space as tcp_event_new_data_sent() calls it)
 * @sk: the socket, locked or owned by the receive path or a timer
 *
 * Only a waiter that found no room (SOCK_NOSPACE) is woken, so that an
 * edge-triggered poller sees no event per segment sent.
 */
void estp_check_space(struct sock *sk)
{
	/* Pairs with the barrier in estp_poll() after it sets the bit. */
	smp_mb();
	if (sk->sk_socket && test_bit(SOCK_NOSPACE, &sk->sk_socket->flags)) {
		sk->sk_write_space(sk);
		if (!test_bit(SOCK_NOSPACE, &sk->sk_socket->flags))
			estp_chrono_stop(sk, ESTP_CHRONO_SNDBUF_LIMITED);
	}
}

/**
 * estp_init_sock - proto->init for a new ESTP socket
 * @sk: the socket, fresh from sk_alloc() and sock_init_data()
 *
 * Return: 0.
 */
int estp_init_sock(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	estp_init_xmit_timers(sk);
	estp_init_csk_locks(sk);
	esk->rto = ESTP_TIMEOUT_INIT;
	esk->mss_cache = ESTP_MSS_DEFAULT;
	esk->out_of_order_queue = RB_ROOT;
	/* Until data shows the real overhead: half the buffer is payload. */
	esk->rcv_ratio = 128;
	esk->snd_cwnd = ESTP_INIT_CWND;
	esk->snd_ssthresh = ESTP_INFINITE_SSTHRESH;
	esk->snd_cwnd_clamp = ~0U;
	esk->reordering = READ_ONCE(estp_pernet(sock_net(sk))->reordering);
	esk->reo_wnd_steps = 1;
	minmax_reset(&esk->rtt_min, jiffies, ~0U);	/* no sample: ~0U, as TCP */
	/* Takes a reference on the algorithm's module, until destroy. */
	estp_assign_congestion_control(sk);
	esk->af_ops = &estp_ipv4_specific;
	sk->sk_write_space = estp_write_space;
	/*
	 * Writers wait for the write queue, which ACKs empty (estp_ack()
	 * calls sk_write_space): sock_wfree() must not call it for every
	 * transmitted clone, from TX completion, without the socket lock
	 * (tcp_init_sock; review M1, part C).
	 */
	sock_set_flag(sk, SOCK_USE_WRITE_QUEUE);
	/* net.estp.wmem[1] and rmem[1], unless SO_SNDBUF/SO_RCVBUF came first. */
	if (!(sk->sk_userlocks & SOCK_SNDBUF_LOCK))
		WRITE_ONCE(sk->sk_sndbuf, READ_ONCE(estp_pernet(sock_net(sk))->wmem[1]));
	if (!(sk->sk_userlocks & SOCK_RCVBUF_LOCK))
		WRITE_ONCE(sk->sk_rcvbuf, READ_ONCE(estp_pernet(sock_net(sk))->rmem[1]));
	/* Children are counted by sk_clone_lock(); all by estp_destroy_sock(). */
	sk_sockets_allocated_inc(sk);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	return 0;
}

/**
 * estp_destroy_sock - proto->destroy: release what estp_init_sock() took
 *	(tcp_v4_destroy_sock)
 * @sk: the socket being destroyed
 */
void estp_destroy_sock(struct sock *sk)
{
	trace_estp_destroy_sock(sk);
	estp_clear_xmit_timers(sk);
	estp_delete_keepalive_timer(sk);
	estp_write_queue_purge(sk);
	estp_fastopen_active_disable_ofo_check(sk);
	/* Its data holds receive memory, which must be back by sk_destruct. */
	estp_ofo_purge(sk);
	/* An active open aborted in connect(), a listener's own keys. */
	estp_free_fastopen_req(estp_sk(sk));
	estp_fastopen_destroy_cipher(sk);
	estp_cleanup_congestion_control(sk);
	estp_put_port(sk);
	sk_sockets_allocated_dec(sk);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

/*
 * The state a close() or shutdown(SHUT_WR) leads to, and whether a FIN
 * goes with it (tcp_close_state).
 */
static bool estp_close_state(struct sock *sk)
{
	switch (sk->sk_state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		estp_set_state(sk, TCP_FIN_WAIT1);
		return true;
	case TCP_CLOSE_WAIT:
		estp_set_state(sk, TCP_LAST_ACK);
		return true;
	case TCP_SYN_SENT:
		estp_set_state(sk, TCP_CLOSE);
		return false;
	default:
		return false;
	}
}

/**
 * estp_shutdown - proto->shutdown, from inet_shutdown() (tcp_shutdown)
 * @sk: the socket, locked
 * @how: RCV_SHUTDOWN and/or SEND_SHUTDOWN
 *
 * Shutting down the sending side sends our FIN, from ESTABLISHED or
 * CLOSE_WAIT.
 */
void estp_shutdown(struct sock *sk, int how)
{
	if (!(how & SEND_SHUTDOWN))
		return;
	/*
	 * Not in SYN_RECV after a simultaneous open: the FIN waits until the
	 * handshake completes (__estp_rcv_synchronized()), so that the timer
	 * resends our SYN, not the FIN (review M7 of part C).  A Fast Open
	 * child's goes now, as TCP's: its timer resends the SYN-ACK only.
	 */
	if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_SYN_SENT | TCPF_CLOSE_WAIT) ||
	    estp_passive_fastopen(sk)) {
		if (estp_close_state(sk))
			estp_send_fin(sk);
	}
}

/* close() still waits for its FIN to be acknowledged (sk_stream_closing). */
static bool estp_closing(const struct sock *sk)
{
	return (1 << READ_ONCE(sk->sk_state)) &
	       (TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK);
}

/*
 * SO_LINGER's wait: until the FIN is acknowledged, @timeout passes or a
 * signal comes (sk_stream_wait_close, which 7.x does not export).
 */
static void estp_wait_close(struct sock *sk, long timeout)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	if (!timeout)
		return;
	add_wait_queue(sk_sleep(sk), &wait);
	do {
		if (sk_wait_event(sk, &timeout, !estp_closing(sk), &wait))
			break;
	} while (!signal_pending(current) && timeout);
	remove_wait_queue(sk_sleep(sk), &wait);
}

/**
 * estp_close - proto->close, called by inet_release() on the last close
 *	(tcp_close)
 * @sk: the socket
 * @timeout: SO_LINGER time in jiffies, 0 without SO_LINGER
 *
 * A listener stops listening; SO_LINGER with a zero time aborts with a RST;
 * a connection sends its FIN, with SO_LINGER waits up to @timeout for it
 * to be acknowledged, and lives on as an orphan
 * until the close completes (FIN_WAIT2 and TIME_WAIT as minisocks, the
 * first 60 s of a longer FIN_WAIT2 whole: estp_orphan_fin_wait2()).  An
 * orphan in FIN_WAIT2 with ESTP_LINGER2 < 0, or one too many
 * (net.estp.max_orphans), is reset instead.  A sock that is CLOSE by then
 * is destroyed here.
 */
void estp_close(struct sock *sk, long timeout)
{
	struct sk_buff *skb;
	u32 unread = 0;
	int state;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	/* What the user never read, the peer must not think delivered. */
	while ((skb = __skb_dequeue(&sk->sk_receive_queue)) != NULL) {
		unread += skb->len;
		kfree_skb(skb);
	}
	state = sk->sk_state;
	if (state == TCP_LISTEN) {
		estp_set_state(sk, TCP_CLOSE);
		estp_csk_listen_stop(sk);
	} else if (unread && state != TCP_CLOSE) {
		/* RFC 2525 2.17: unread data aborts the connection. */
		estp_set_state(sk, TCP_CLOSE);
		estp_send_active_reset(sk, sk->sk_allocation);
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONCLOSE);
	} else if (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime) {
		/* Abort (RFC 9293 3.10.4): RST for a synchronized connection. */
		sk->sk_prot->disconnect(sk, 0);
		/* Counted as tcp_close() does, for any socket not yet closed. */
		if (state != TCP_CLOSE)
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONDATA);
	} else if (estp_close_state(sk)) {
		estp_send_fin(sk);
	}
	/* SO_LINGER: until the data and FIN are acked, or the time is up. */
	estp_wait_close(sk, timeout);

	state = sk->sk_state;
	sock_hold(sk);
	sock_orphan(sk);
	release_sock(sk);

	/* From here the sock is the kernel's: the BH lock is enough. */
	local_bh_disable();
	bh_lock_sock(sk);
	estp_orphan_inc();
	/* The backlog may have closed it meanwhile; then it is destroyed. */
	if (state != TCP_CLOSE && sk->sk_state == TCP_CLOSE)
		goto out;
	if (sk->sk_state == TCP_FIN_WAIT2) {
		if (READ_ONCE(estp_sk(sk)->linger2) < 0) {
			estp_set_state(sk, TCP_CLOSE);
			estp_send_active_reset(sk, GFP_ATOMIC);
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONLINGER);
		} else if (estp_orphan_fin_wait2(sk)) {
			goto out;
		}
	}
	/* Also an orphan kept whole in FIN_WAIT2: it counts as one. */
	if (sk->sk_state != TCP_CLOSE && estp_too_many_orphans(sk, 0)) {
		estp_set_state(sk, TCP_CLOSE);
		estp_send_active_reset(sk, GFP_ATOMIC);
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONMEMORY);
	}
	if (sk->sk_state == TCP_CLOSE) {
		struct request_sock *req;

		/* A Fast Open child aborted (unread data) in its handshake. */
		req = rcu_dereference_protected(estp_sk(sk)->fastopen_rsk, 1);
		if (req)
			estp_reqsk_fastopen_remove(sk, req, false);
		estp_csk_destroy_sock(sk);
	}
out:
	bh_unlock_sock(sk);
	local_bh_enable();
	sock_put(sk);
}

/* Unread bytes, the peer's FIN not counted (tcp_inq). */
static int estp_inq(const struct sock *sk)
{
	const struct estp_sock *esk = estp_sk(sk);
	int answ;

	if ((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV))
		return 0;
	/* Data before an urgent mark taken out of band: up to the mark. */
	if (!sock_flag(sk, SOCK_URGINLINE) && esk->urg_data &&
	    !estp_before(esk->urg_seq, esk->copied_seq) &&
	    estp_before(esk->urg_seq, esk->rcv_nxt))
		return esk->urg_seq - esk->copied_seq;
	answ = READ_ONCE(esk->rcv_nxt) - READ_ONCE(esk->copied_seq);
	if (answ && sock_flag(sk, SOCK_DONE))
		answ--;
	return answ;
}

/**
 * estp_ioctl - proto->ioctl (tcp_ioctl)
 * @sk: the socket
 * @cmd: SIOCINQ, SIOCATMARK, SIOCOUTQ or SIOCOUTQNSD
 * @karg: the answer
 *
 * SIOCINQ: bytes not yet read; SIOCOUTQ: bytes not yet acknowledged;
 * SIOCOUTQNSD: bytes not yet sent.  As TCP, a queued FIN counts as a byte
 * of the send queue, and a sock in its handshake has empty queues.
 *
 * Return: 0, -EINVAL on a listener, -ENOIOCTLCMD for another @cmd.
 */
int estp_ioctl(struct sock *sk, int cmd, int *karg)
{
	struct estp_sock *esk = estp_sk(sk);
	int state = inet_sk_state_load(sk);
	bool slow;

	switch (cmd) {
	case SIOCINQ:
		if (state == TCP_LISTEN)
			return -EINVAL;
		slow = lock_sock_fast(sk);
		*karg = estp_inq(sk);
		unlock_sock_fast(sk, slow);
		return 0;
	case SIOCATMARK:
		/* The next byte to read is the urgent one. */
		*karg = READ_ONCE(esk->urg_data) &&
			READ_ONCE(esk->urg_seq) == READ_ONCE(esk->copied_seq);
		return 0;
	case SIOCOUTQ:
	case SIOCOUTQNSD:
		if (state == TCP_LISTEN)
			return -EINVAL;
		if ((1 << state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)) {
			*karg = 0;
			return 0;
		}
		/* write_seq does not count the FIN, which TCP's does. */
		*karg = READ_ONCE(esk->write_seq) + esk->fin_queued -
			(cmd == SIOCOUTQ ? READ_ONCE(esk->snd_una) :
					   READ_ONCE(esk->snd_nxt));
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

/*
 * The user read some data: if the window we could offer now has grown
 * enough over what the peer still sees, tell it (tcp_cleanup_rbuf).
 */
static void estp_cleanup_rbuf(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	s32 cur = (s32)(esk->rcv_wup + esk->rcv_wnd - esk->rcv_nxt);
	bool ack = false;

	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)))
		return;
	/* An owed ACK goes now once a full segment waits for it, or ... */
	if (esk->ack_pending & ESTP_ACK_SCHED &&
	    (esk->rcv_nxt - esk->rcv_wup > esk->rcv_mss ||
	     (esk->ack_pending & ESTP_ACK_PUSHED && !esk->ack_pingpong &&
	      !atomic_read(&sk->sk_rmem_alloc))))
		ack = true;
	/* ... reading doubled a window that had shrunk (RFC 1122 4.2.3.3). */
	cur = max(cur, 0);
	if (!ack && !(sk->sk_shutdown & RCV_SHUTDOWN) &&
	    2 * (u32)cur <= esk->window_clamp) {
		u32 win = __estp_select_window(sk);

		ack = win && win >= 2 * (u32)cur;
	}
	if (ack)
		estp_send_ack(sk);
}

/*
 * What ESTP_CM_INQ and msg_inq report after a read (tcp_inq_hint): the
 * bytes left, the peer's FIN counted, and at least 1 once the FIN came,
 * so that the reader reads on to the end of the stream.
 */
static int estp_inq_hint(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 copied_seq = READ_ONCE(esk->copied_seq);
	int inq = READ_ONCE(esk->rcv_nxt) - copied_seq;

	/* A reader raced us: the locked values, as TCP. */
	if (unlikely(inq < 0 || copied_seq != READ_ONCE(esk->copied_seq))) {
		lock_sock(sk);
		inq = esk->rcv_nxt - esk->copied_seq;
		release_sock(sk);
	}
	if (!inq && sock_flag(sk, SOCK_DONE))
		inq = 1;
	return inq;
}

/* Sleep until the receive queue grows past @last, or timeout/signal/event. */
static int estp_recv_wait(struct sock *sk, long *timeo, struct sk_buff *last)
{
	return sk_wait_data(sk, timeo, last);
}

/*
 * recv(MSG_OOB) (tcp_recv_urg): the urgent byte, once, and never a wait.
 * EINVAL with none held, inline or read already; EAGAIN while its byte is
 * on the way; 0 at end of stream.
 */
static int estp_recv_urg(struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	struct estp_sock *esk = estp_sk(sk);
	u16 urg_data = esk->urg_data;

	if (sock_flag(sk, SOCK_URGINLINE) || !urg_data || urg_data == ESTP_URG_READ)
		return -EINVAL;
	if (sk->sk_state == TCP_CLOSE && !sock_flag(sk, SOCK_DONE))
		return -ENOTCONN;
	if (urg_data & ESTP_URG_VALID) {
		u8 c = urg_data;

		if (!(flags & MSG_PEEK))
			WRITE_ONCE(esk->urg_data, ESTP_URG_READ);
		msg->msg_flags |= MSG_OOB;
		if (!len) {
			msg->msg_flags |= MSG_TRUNC;
			return 0;
		}
		if (!(flags & MSG_TRUNC) && memcpy_to_msg(msg, &c, 1))
			return -EFAULT;
		return 1;
	}
	if (sk->sk_state == TCP_CLOSE || (sk->sk_shutdown & RCV_SHUTDOWN))
		return 0;
	return -EAGAIN;
}

/**
 * estp_stream_recvmsg - proto_ops->recvmsg (tcp_recvmsg)
 * @sock: the socket
 * @msg: where the data goes
 * @len: its size
 * @flags: MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, MSG_TRUNC, MSG_OOB
 *
 * Copies in-order data, waiting for at least SO_RCVLOWAT bytes (all of
 * @len with MSG_WAITALL).  With nothing copied: 0 at end of stream, the
 * pending error, ENOTCONN, EAGAIN or a wait.  A read stops at an urgent
 * mark and starts after it, skipping the byte unless SO_OOBINLINE.
 * MSG_PEEK starts SO_PEEK_OFF bytes in and moves that offset on; a read
 * moves it back.  With ESTP_INQ on, an ESTP_CM_INQ cmsg (level SOL_TCP, as
 * TCP's) says what is left.
 *
 * Return: the bytes copied, or a negative error.
 */
int estp_stream_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			int flags)
{
	struct sock *sk = sock->sk;
	struct estp_sock *esk = estp_sk(sk);
	u32 peek_seq, *seq, peek_offset = 0;
	int copied = 0, target, ret;
	bool cm_inq = false;
	long timeo;

	/* The error queue, never the stream (tcp_recvmsg): review C8. */
	if (unlikely(flags & MSG_ERRQUEUE))
		return estp_recv_error(sk, msg, len);
	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		copied = -ENOTCONN;
		goto out;
	}
	if (flags & MSG_OOB) {
		copied = estp_recv_urg(sk, msg, len, flags);
		goto out;
	}
	cm_inq = esk->recvmsg_inq;
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	seq = &esk->copied_seq;
	if (flags & MSG_PEEK) {
		/* -1, SO_PEEK_OFF off, is 0. */
		peek_offset = max(sk_peek_offset(sk, flags), 0);
		peek_seq = esk->copied_seq + peek_offset;
		seq = &peek_seq;
	}

	do {
		struct sk_buff *skb, *last = skb_peek_tail(&sk->sk_receive_queue);
		u32 offset;
		size_t used;

		/* An urgent mark ends a read; a SIGURG for it, an empty one. */
		if (unlikely(esk->urg_data) && esk->urg_seq == *seq) {
			if (copied)
				break;
			if (signal_pending(current)) {
				copied = timeo ? sock_intr_errno(timeo) : -EAGAIN;
				break;
			}
		}
		skb_queue_walk(&sk->sk_receive_queue, skb) {
			offset = *seq - ESTP_SKB_CB(skb)->seq;
			if (offset < skb->len)
				goto found;
		}
		/* Nothing (more) to copy. */
		if (copied >= target)
			break;
		if (copied) {
			if (sk->sk_err || sk->sk_state == TCP_CLOSE ||
			    (sk->sk_shutdown & RCV_SHUTDOWN) || !timeo ||
			    signal_pending(current))
				break;
		} else {
			if (sock_flag(sk, SOCK_DONE))
				break;
			if (sk->sk_err) {
				copied = sock_error(sk);
				break;
			}
			if (sk->sk_shutdown & RCV_SHUTDOWN)
				break;
			if (sk->sk_state == TCP_CLOSE) {
				copied = -ENOTCONN;
				break;
			}
			if (!timeo) {
				copied = -EAGAIN;
				break;
			}
			if (signal_pending(current)) {
				copied = sock_intr_errno(timeo);
				break;
			}
		}
		estp_cleanup_rbuf(sk);
		/* -EPIPE: a disconnect while we slept (tcp_recvmsg_locked). */
		ret = estp_recv_wait(sk, &timeo, last);
		if (ret < 0) {
			if (!copied)
				copied = ret;
			break;
		}
		/* Another reader took data while we slept: peek from its end. */
		if ((flags & MSG_PEEK) &&
		    peek_seq - peek_offset - copied != esk->copied_seq)
			peek_seq = esk->copied_seq + peek_offset;
		continue;

found:
		used = min_t(size_t, skb->len - offset, len - copied);
		/* Up to the urgent byte; past it unless it is read inline. */
		if (unlikely(esk->urg_data) && esk->urg_seq - *seq < used) {
			if (esk->urg_seq != *seq) {
				used = esk->urg_seq - *seq;
			} else if (!sock_flag(sk, SOCK_URGINLINE)) {
				WRITE_ONCE(*seq, *seq + 1);
				offset++;
				used--;
				if (!used)
					goto skip_copy;
			}
		}
		if (!(flags & MSG_TRUNC)) {
			int err = skb_copy_datagram_msg(skb, offset, msg, used);

			if (err) {
				if (!copied)
					copied = -EFAULT;
				break;
			}
		}
		WRITE_ONCE(*seq, *seq + used);
		copied += used;
		if (flags & MSG_PEEK)
			sk_peek_offset_fwd(sk, used);
		else
			sk_peek_offset_bwd(sk, used);
skip_copy:
		if (unlikely(esk->urg_data) && estp_after(esk->copied_seq, esk->urg_seq))
			WRITE_ONCE(esk->urg_data, 0);
		if (!(flags & MSG_PEEK) && offset + used == skb->len) {
			__skb_unlink(skb, &sk->sk_receive_queue);
			consume_skb(skb);
		}
	} while (copied < len);

	if (copied > 0 && !(flags & MSG_PEEK)) {
		/* Autotuning first, so the window update offers what it grew. */
		estp_rcv_space_adjust(sk);
		estp_cleanup_rbuf(sk);
		/* What the read freed goes back to the protocol's pool. */
		sk_mem_reclaim(sk);
	}
out:
	release_sock(sk);
	/* After a read, an end of stream or an error to come (tcp_recvmsg). */
	if (copied >= 0 && (cm_inq || msg->msg_get_inq)) {
		msg->msg_inq = estp_inq_hint(sk);
		if (cm_inq)
			put_cmsg(msg, SOL_TCP, ESTP_CM_INQ, sizeof(msg->msg_inq),
				 &msg->msg_inq);
	}
	return copied;
}

/*
 * The write queue's memory: every byte queued is charged here, whether a
 * new segment or data appended to one, so that accounting has one place.
 */
static void estp_wmem_charge(struct sock *sk, int size)
{
	sk_wmem_queued_add(sk, size);
	/* Scheduled by the caller (sk_wmem_schedule()): cannot fail. */
	sk_mem_charge(sk, size);
}

/* An empty segment with headroom for every header below; data goes in frags. */
static struct sk_buff *estp_alloc_data_skb(struct sock *sk)
{
	struct sk_buff *skb;

	skb = alloc_skb(ESTP_SKB_HEADROOM, sk->sk_allocation);
	if (!skb)
		return NULL;
	/*
	 * No memory for it in net.estp.mem: wait, as for SO_SNDBUF, unless
	 * nothing is queued, which would wait for ever: that one is forced
	 * (tcp_stream_alloc_skb() with force_schedule).
	 */
	if (skb_queue_empty(&sk->sk_write_queue)) {
		estp_forced_mem_schedule(sk, skb->truesize);
	} else if (!sk_wmem_schedule(sk, skb->truesize)) {
		__kfree_skb(skb);
		return NULL;
	}
	skb_reserve(skb, ESTP_SKB_HEADROOM);
	return skb;
}

/* Put @skb, still empty, at the tail of the write queue (skb_entail). */
static void estp_queue_skb(struct sock *sk, struct sk_buff *skb)
{
	struct estp_sock *esk = estp_sk(sk);

	ESTP_SKB_CB(skb)->seq = esk->write_seq;
	ESTP_SKB_CB(skb)->end_seq = esk->write_seq;
	__skb_queue_tail(&sk->sk_write_queue, skb);
	estp_wmem_charge(sk, skb->truesize);
	if (!esk->send_head) {
		esk->send_head = skb;
		estp_chrono_start(sk, ESTP_CHRONO_BUSY);
	}
	/* A forced push covers what was queued before it only. */
	esk->nonagle &= ~ESTP_NAGLE_PUSH;
}

/*
 * The tail of the write queue if it was never sent and can take more data
 * (tcp_write_queue_tail() with skb->len < size_goal): the unsent segments
 * run from send_head to the tail.
 */
static struct sk_buff *estp_unsent_tail(struct sock *sk, int size_goal)
{
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);

	if (!skb || !estp_sk(sk)->send_head || skb->len >= size_goal ||
	    skb_shinfo(skb)->nr_frags >= MAX_SKB_FRAGS || skb_cloned(skb) ||
	    ESTP_SKB_CB(skb)->eor)
		return NULL;
	return skb;
}

/*
 * PSH ends a write, and comes at least every half of the largest window
 * the peer offered (tcp_mark_push, forced_push).
 */
static void estp_mark_push(struct estp_sock *esk, struct sk_buff *skb)
{
	ESTP_SKB_CB(skb)->psh = 1;
	esk->pushed_seq = esk->write_seq;
}

static bool estp_forced_push(const struct estp_sock *esk)
{
	return estp_after(esk->write_seq, esk->pushed_seq + (esk->max_window >> 1));
}

/*
 * The end of a write, or of what it could queue before waiting (tcp_push):
 * its last segment carries PSH unless more follows at once (MSG_MORE).
 */
static void estp_push_write(struct sock *sk, int flags, int nonagle)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);

	if (!skb)
		return;
	if (!(flags & MSG_MORE) || estp_forced_push(esk))
		estp_mark_push(esk, skb);
	/* MSG_OOB: the last byte written is urgent (tcp_mark_urg). */
	if (flags & MSG_OOB)
		esk->snd_up = esk->write_seq;
	__estp_push(sk, nonagle);
}

/*
 * A segment left empty by a failed copy must not stay queued: the lock may
 * be released next, and the push would send it (tcp_remove_empty_skb).
 */
static void estp_remove_empty_skb(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);

	if (!skb || skb->len || !esk->send_head)
		return;
	if (esk->send_head == skb)
		esk->send_head = NULL;
	__skb_unlink(skb, &sk->sk_write_queue);
	estp_wmem_free_skb(sk, skb);
	estp_chrono_stop(sk, ESTP_CHRONO_BUSY);
}

/*
 * Append up to @copy bytes of @from to @skb, an unsent segment, in the
 * socket's page fragment, merged with its last frag when contiguous.
 *
 * Return: the bytes appended, -ENOMEM with no page (wait for memory) or
 * -EFAULT.
 */
static int estp_skb_append(struct sock *sk, struct sk_buff *skb,
			   struct iov_iter *from, int copy)
{
	struct page_frag *pfrag = sk_page_frag(sk);
	int i = skb_shinfo(skb)->nr_frags;
	bool merge;
	size_t n;

	if (!sk_page_frag_refill(sk, pfrag))
		return -ENOMEM;
	merge = skb_can_coalesce(skb, i, pfrag->page, pfrag->offset);
	copy = min_t(int, copy, pfrag->size - pfrag->offset);
	if (!sk_wmem_schedule(sk, copy)) {
		/* Up to wmem[0] queued always goes, as tcp_wmem_schedule(). */
		int left = READ_ONCE(estp_pernet(sock_net(sk))->wmem[0]) -
			   sk->sk_wmem_queued;

		if (left > 0)
			estp_forced_mem_schedule(sk, min(left, copy));
		copy = min(copy, sk->sk_forward_alloc);
		if (copy <= 0)
			return -ENOMEM;
	}
	n = copy_page_from_iter(pfrag->page, pfrag->offset, copy, from);
	if (n != copy) {
		iov_iter_revert(from, n);
		return -EFAULT;
	}
	if (merge) {
		skb_frag_size_add(&skb_shinfo(skb)->frags[i - 1], copy);
	} else {
		skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset, copy);
		get_page(pfrag->page);
	}
	pfrag->offset += copy;
	skb->len += copy;
	skb->data_len += copy;
	skb->truesize += copy;
	estp_wmem_charge(sk, copy);
	ESTP_SKB_CB(skb)->end_seq += copy;
	WRITE_ONCE(estp_sk(sk)->write_seq, estp_sk(sk)->write_seq + copy);
	return copy;
}

/**
 * estp_fastopen_queue_data - the data of an active Fast Open SYN, queued as
 *	the first segment (the syn_data skb of tcp_send_syn_data)
 * @sk: the socket, locked, in SYN_SENT, its write queue empty
 * @from: the write's data
 * @space: the most the SYN may carry
 *
 * Return: the segment, with at least one byte; NULL when none could be
 * copied (no memory, a fault), and nothing is queued.
 */
struct sk_buff *estp_fastopen_queue_data(struct sock *sk, struct iov_iter *from, int space)
{
	struct sk_buff *skb = estp_alloc_data_skb(sk);
	int copied;

	if (!skb)
		return NULL;
	estp_queue_skb(sk, skb);
	copied = estp_skb_append(sk, skb, from, space);
	if (copied <= 0) {
		__skb_unlink(skb, &sk->sk_write_queue);
		estp_sk(sk)->send_head = NULL;
		estp_wmem_free_skb(sk, skb);
		estp_chrono_stop(sk, ESTP_CHRONO_BUSY);
		return NULL;
	}
	return skb;
}

/*
 * sendto() with MSG_FASTOPEN, or the first write after connect() with
 * ESTP_FASTOPEN_CONNECT (tcp_sendmsg_fastopen): the connect happens here,
 * its SYN carrying what of the data it can (estp_send_syn_data()).
 * *@copied: how much the SYN took.
 */
static int estp_sendmsg_fastopen(struct sock *sk, struct msghdr *msg, int *copied,
				 size_t size)
{
	struct sockaddr *uaddr = msg->msg_name;
	struct estp_sock *esk = estp_sk(sk);
	int err, flags;

	if (!(READ_ONCE(estp_pernet(sock_net(sk))->fastopen) & ESTP_TFO_CLIENT_ENABLE) ||
	    (uaddr && msg->msg_namelen >= sizeof(uaddr->sa_family) &&
	     uaddr->sa_family == AF_UNSPEC))
		return -EOPNOTSUPP;
	if (esk->fastopen_req)
		return -EALREADY;	/* another Fast Open is on its way */
	esk->fastopen_req = kzalloc_obj(*esk->fastopen_req, sk->sk_allocation);
	if (unlikely(!esk->fastopen_req))
		return -ENOBUFS;
	esk->fastopen_req->data = msg;
	esk->fastopen_req->size = size;
	if (estp_defer_connect(sk)) {
		err = estp_connect(sk);
		/* Undone as a failed estp_v4_connect() undoes it. */
		if (err) {
			estp_set_state(sk, TCP_CLOSE);
			inet_sk(sk)->inet_dport = 0;
			sk->sk_route_caps = 0;
		}
	}
	flags = (msg->msg_flags & MSG_DONTWAIT) ? O_NONBLOCK : 0;
	/*
	 * A write waits for the handshake: the SYN-ACK's ACK waits for its
	 * data, as the core's writebias makes it for TCP alone.
	 */
	sk->sk_write_pending++;
	err = __inet_stream_connect(sk->sk_socket, (struct estp_sockaddr *)uaddr,
				    msg->msg_namelen, flags, 1);
	sk->sk_write_pending--;
	/* A RST or a timeout in the wait may have freed it already. */
	if (esk->fastopen_req) {
		*copied = esk->fastopen_req->copied;
		estp_free_fastopen_req(esk);
		estp_set_defer_connect(sk, false);
	}
	return err;
}

/**
 * estp_stream_sendmsg - proto_ops->sendmsg (tcp_sendmsg)
 * @sock: the socket
 * @msg: the data
 * @size: its length
 *
 * Appends the data to the last unsent segment while it is shorter than the
 * segment size, then to new ones, and sends what the windows, Nagle and
 * corking let go: MSG_MORE corks this call's last partial segment, and
 * MSG_OOB makes its last byte urgent.  Waits for room in SO_SNDBUF unless
 * non-blocking.
 *
 * Return: the bytes queued, or a negative error (EPIPE with SIGPIPE
 * unless MSG_NOSIGNAL, EAGAIN, the socket's error).
 */
int estp_stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t size)
{
	struct sock *sk = sock->sk;
	struct estp_sock *esk = estp_sk(sk);
	int flags = msg->msg_flags, copied = 0, process_backlog = 0, err;
	int copied_syn = 0;
	long timeo;

	lock_sock(sk);
	if (unlikely((flags & MSG_FASTOPEN) || estp_defer_connect(sk))) {
		err = estp_sendmsg_fastopen(sk, msg, &copied_syn, size);
		if (err == -EINPROGRESS && copied_syn > 0)
			goto out;
		else if (err)
			goto out_err;
	}
	timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);
	/* A Fast Open child may send before its handshake ends. */
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)) &&
	    !estp_passive_fastopen(sk)) {
		err = sk_stream_wait_connect(sk, &timeo);
		if (err)
			goto do_error;
	}
	sk_clear_bit(SOCKWQ_ASYNC_NOSPACE, sk);

	while (msg_data_left(msg)) {
		int goal = estp_size_goal(esk);
		struct sk_buff *skb;
		int copy;

		err = -EPIPE;
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN))
			goto do_error;
		/*
		 * A full send buffer takes no byte more, appended or not: what
		 * poll() says (TCP checks it for new segments only).
		 */
		if (!estp_sndbuf_free(sk))
			goto wait_for_space;
		skb = estp_unsent_tail(sk, goal);
		if (!skb) {
			/* ESTP_NOTSENT_LOWAT holds back new segments only, as TCP. */
			if (!estp_notsent_free(sk, 0))
				goto wait_for_space;
			/*
			 * A long write holds the socket: every 16 segments, the
			 * ACKs queued meanwhile are taken, as tcp_sendmsg_locked()
			 * does, or RACK would judge their SACKs late and the
			 * backlog could overflow.  Then look again: they may
			 * have changed the state and the segment size.
			 */
			if (unlikely(process_backlog >= 16)) {
				process_backlog = 0;
				if (sk_flush_backlog(sk))
					continue;
			}
			skb = estp_alloc_data_skb(sk);
			if (!skb)
				goto wait_for_space;
			process_backlog++;
			estp_queue_skb(sk, skb);
		}
		copy = min_t(size_t, msg_data_left(msg), goal - skb->len);
		err = estp_skb_append(sk, skb, &msg->msg_iter, copy);
		if (err == -ENOMEM)
			goto wait_for_space;
		if (err < 0)
			goto do_error;
		/* A write that joins a pushed segment moves its PSH to its own end. */
		if (!copied)
			ESTP_SKB_CB(skb)->psh = 0;
		copied += err;
		if (!msg_data_left(msg)) {
			if (flags & MSG_EOR)
				ESTP_SKB_CB(skb)->eor = 1;
			break;
		}
		/* Full segments go now; a partial one waits for the end. */
		if (skb->len < goal)
			continue;
		if (estp_forced_push(esk)) {
			estp_mark_push(esk, skb);
			__estp_push(sk, ESTP_NAGLE_PUSH);
		} else {
			__estp_push(sk, esk->nonagle);
		}
		continue;

wait_for_space:
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		estp_remove_empty_skb(sk);
		/*
		 * Only ACKs make room: what a cork or an earlier MSG_MORE
		 * holds goes before the wait, as tcp_sendmsg_locked() does.
		 */
		if (copied)
			estp_push_write(sk, flags & ~MSG_MORE, ESTP_NAGLE_PUSH);
		else if (esk->send_head)
			__estp_push(sk, ESTP_NAGLE_PUSH);
		err = sk_stream_wait_memory(sk, &timeo);
		if (err)
			goto do_error;
	}
out:
	if (copied)
		estp_push_write(sk, flags, (flags & MSG_MORE) ? ESTP_NAGLE_CORK : esk->nonagle);
	release_sock(sk);
	return copied + copied_syn;

do_error:
	estp_remove_empty_skb(sk);
	if (copied + copied_syn)
		goto out;
out_err:
	err = sk_stream_error(sk, flags, err);
	release_sock(sk);
	return err;
}

/**
 * estp_ofo_purge - drop the out-of-order queue
 * @sk: the socket, locked or being destroyed
 */
void estp_ofo_purge(struct sock *sk)
{
	struct rb_root *root = &estp_sk(sk)->out_of_order_queue;
	struct rb_node *p;

	/* skb_rbtree_purge() is not exported. */
	while ((p = rb_first(root))) {
		rb_erase(p, root);
		kfree_skb(rb_to_skb(p));
	}
}

/**
 * estp_write_queue_purge - drop everything not yet acknowledged
 *	(tcp_write_queue_purge)
 * @sk: the socket, locked or being destroyed
 */
void estp_write_queue_purge(struct sock *sk)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&sk->sk_write_queue)) != NULL) {
		sk_wmem_queued_add(sk, -skb->truesize);
		sk_mem_uncharge(sk, skb->truesize);
		kfree_skb(skb);
	}
	estp_sk(sk)->send_head = NULL;
	estp_sk(sk)->packets_out = 0;
	estp_sk(sk)->lost_out = 0;
	estp_sk(sk)->retrans_out = 0;
	estp_sk(sk)->sacked_out = 0;
	estp_sk(sk)->dupacks = 0;
	estp_chrono_stop(sk, ESTP_CHRONO_BUSY);
}

/**
 * estp_wmem_free_skb - free an skb taken off the write queue, giving back
 *	the memory it was charged (tcp_wmem_free_skb)
 * @sk: the socket, locked or owned by the receive path
 * @skb: the skb, already unlinked
 */
void estp_wmem_free_skb(struct sock *sk, struct sk_buff *skb)
{
	sk_wmem_queued_add(sk, -skb->truesize);
	/* Returns whole pages past the socket's reserve to the protocol. */
	sk_mem_uncharge(sk, skb->truesize);
	consume_skb(skb);
}

/**
 * estp_forced_mem_schedule - charge @size to @sk whatever the limits
 *	(sk_forced_mem_schedule)
 * @sk: the socket, locked or owned by the receive path
 * @size: bytes about to be charged with sk_mem_charge() or skb_set_owner_r()
 *
 * For the one segment that must be taken though net.estp.mem says no: the
 * first of an empty receive or write queue, or up to wmem[0] queued, so
 * that a reader or writer cannot stall for good.  The pages are counted in
 * the protocol's memory, so the limits see them, and given back as any
 * others.  sk_forced_mem_schedule() is not exported: this adds straight
 * to the global counter (the per-CPU reserve of sk_memory_allocated_add()
 * needs a symbol 6.1 does not export; the sums are the same).  A memory
 * cgroup cannot be charged without failing from a module: for a socket
 * charged to one, the segment stays uncounted and sk_forward_alloc goes
 * below 0 until it is freed, the charge and its refund still balanced.
 */
void estp_forced_mem_schedule(struct sock *sk, int size)
{
	int delta = size - sk->sk_forward_alloc, amt;

	if (delta <= 0 || estp_sk_memcg_charged(sk))
		return;
	amt = sk_mem_pages(delta);
	sk_forward_alloc_add(sk, amt << PAGE_SHIFT);
	atomic_long_add(amt, sk->sk_prot->memory_allocated);
}

/*
 * ESTP as a whole is over net.estp.mem[2], and this socket holds more than
 * a minimal send buffer of it (tcp_out_of_memory).
 */
static bool estp_out_of_memory(const struct sock *sk)
{
	return READ_ONCE(sk->sk_wmem_queued) > SOCK_MIN_SNDBUF &&
	       sk_memory_allocated(sk) > sk_prot_mem_limits(sk, 2);
}

/**
 * estp_too_many_orphans - should an orphan die for want of resources?
 *	(tcp_check_oom)
 * @sk: the orphan, or the socket being closed
 * @shift: weight of the orphan count, raised for orphans that look dead
 *
 * Yes when there are too many orphans (the count and its limit,
 * net.estp.max_orphans, are global, as TCP's), or when ESTP is out of
 * memory and @sk holds some of it.
 *
 * Return: true when the caller should reset it (AbortOnMemory).
 */
bool estp_too_many_orphans(const struct sock *sk, int shift)
{
	int max = READ_ONCE(estp_sysctl_max_orphans);
	bool orphans, oom;

	/* Exact near the limit, cheap far from it. */
	orphans = percpu_counter_compare(&estp_orphan_count, max >> shift) > 0;
	oom = estp_out_of_memory(sk);
	if (orphans)
		net_info_ratelimited("estp: too many orphaned sockets\n");
	if (oom)
		net_info_ratelimited("estp: out of memory -- consider tuning net.estp.mem\n");
	return orphans || oom;
}

/**
 * estp_fin_time - how long an orphan may wait in FIN_WAIT2 (tcp_fin_time)
 * @sk: the socket
 *
 * TCP also keeps it at least 3.5 RTOs; ESTP does not yet.
 *
 * Return: ESTP_LINGER2 if set, else net.estp.fin_timeout, in jiffies.
 */
int estp_fin_time(const struct sock *sk)
{
	int linger2 = READ_ONCE(estp_sk(sk)->linger2);

	return linger2 > 0 ? linger2 :
	       READ_ONCE(estp_pernet(sock_net(sk))->fin_timeout) * HZ;
}

/**
 * estp_orphan_fin_wait2 - an orphan now waits for the peer's FIN in
 *	FIN_WAIT2 (tcp_close(), tcp_rcv_state_process())
 * @sk: the orphan, in FIN_WAIT2, locked or owned by the receive path
 *
 * Up to ESTP_TIMEWAIT_LEN, a minisock waits for it.  A longer wait keeps
 * the full sock, counted as an orphan against net.estp.max_orphans, until
 * the last ESTP_TIMEWAIT_LEN, when its keepalive timer hands it to a
 * minisock (estp_keepalive_timer()): no minisock, which no orphan limit
 * counts, lives longer than TIME_WAIT (review C5).
 *
 * Return: true when a minisock took @sk's place and @sk is done.
 */
bool estp_orphan_fin_wait2(struct sock *sk)
{
	int tmo = estp_fin_time(sk);

	if (tmo > ESTP_TIMEWAIT_LEN) {
		estp_reset_keepalive_timer(sk, tmo - ESTP_TIMEWAIT_LEN);
		return false;
	}
	estp_time_wait(sk, TCP_FIN_WAIT2, tmo);
	return true;
}

/* The value of an int option, as do_tcp_setsockopt() reads it. */
static int estp_get_int(sockptr_t optval, unsigned int optlen, int *val)
{
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(val, optval, sizeof(*val)))
		return -EFAULT;
	return 0;
}

/* ESTP_KEEPIDLE: a keepalive already pending is moved to the new time. */
static void estp_set_keepidle(struct sock *sk, int val)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 elapsed;

	esk->keepalive_time = val * HZ;
	if (!sock_flag(sk, SOCK_KEEPOPEN) ||
	    (1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))
		return;
	elapsed = jiffies - esk->rcv_tstamp;
	estp_reset_keepalive_timer(sk, esk->keepalive_time > elapsed ?
				   esk->keepalive_time - elapsed : 0);
}

/* Send what is queued, as far as the Nagle mode now set lets it go. */
static void estp_push_pending(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->send_head)
		__estp_push(sk, esk->nonagle);
}

/* ESTP_NODELAY, as tcp_sock_set_nodelay(): turning it on flushes. */
static void estp_set_nodelay(struct sock *sk, int on)
{
	struct estp_sock *esk = estp_sk(sk);

	if (on) {
		esk->nonagle |= ESTP_NAGLE_OFF | ESTP_NAGLE_PUSH;
		estp_push_pending(sk);
	} else {
		esk->nonagle &= ~ESTP_NAGLE_OFF;
	}
}

/* ESTP_CORK, as tcp_sock_set_cork(): pulling the cork flushes. */
static void estp_set_cork(struct sock *sk, int on)
{
	struct estp_sock *esk = estp_sk(sk);

	if (on) {
		esk->nonagle |= ESTP_NAGLE_CORK;
		return;
	}
	esk->nonagle &= ~ESTP_NAGLE_CORK;
	if (esk->nonagle & ESTP_NAGLE_OFF)
		esk->nonagle |= ESTP_NAGLE_PUSH;
	estp_push_pending(sk);
}

/* ACKs sent at once after ESTP_QUICKACK, as TCP's quick-ACK mode burst. */
#define ESTP_QUICKACK_BURST	16

/*
 * ESTP_QUICKACK, as __tcp_sock_set_quickack(): 0 delays ACKs (pingpong);
 * else ACK at once from now on, and a delayed ACK still pending goes out
 * now.  An even value re-enters pingpong once that ACK is sent, as TCP.
 */
static void estp_set_quickack(struct sock *sk, int val)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!val) {
		esk->ack_pingpong = 1;
		return;
	}
	esk->ack_pingpong = 0;
	esk->ack_quick = ESTP_QUICKACK_BURST;
	if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT) &&
	    esk->ack_pending) {
		estp_send_ack(sk);
		if (!(val & 1))
			esk->ack_pingpong = 1;
	}
}

/*
 * ESTP_WINDOW_CLAMP, as tcp_set_window_clamp(): 0 (back to the default)
 * before connect() only; else at least half of SOCK_MIN_RCVBUF, compared
 * as the kernel's TCP does (compat.h: a negative value is huge before
 * 6.15, the least after).  A lower clamp holds the window's growth at
 * once; a higher one lets it grow up to the window offered already.
 */
static int estp_set_window_clamp(struct sock *sk, int val)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 clamp, old = esk->window_clamp;

	if (!val) {
		if (sk->sk_state != TCP_CLOSE)
			return -EINVAL;
		WRITE_ONCE(esk->window_clamp, 0);
		return 0;
	}
	if (ESTP_WINDOW_CLAMP_SIGNED)
		clamp = max_t(int, SOCK_MIN_RCVBUF / 2, val);
	else
		clamp = val < SOCK_MIN_RCVBUF / 2 ? SOCK_MIN_RCVBUF / 2 : val;
	if (clamp == old)
		return 0;
	WRITE_ONCE(esk->window_clamp, clamp);
	if (clamp < old)
		esk->rcv_ssthresh = min(esk->rcv_ssthresh, clamp);
	else if (ESTP_WINDOW_CLAMP_SIGNED)
		esk->rcv_ssthresh = min(max(clamp, esk->rcv_ssthresh), esk->rcv_wnd);
	else
		esk->rcv_ssthresh = max(min(esk->rcv_wnd, clamp), esk->rcv_ssthresh);
	return 0;
}

/*
 * ESTP_DEFER_ACCEPT's seconds as SYN-ACK timeouts, and back
 * (secs_to_retrans() and retrans_to_secs() of tcp.c): the timeouts
 * double from ESTP_TIMEOUT_INIT up to ESTP_RTO_MAX.
 */
static u8 estp_secs_to_retrans(int seconds)
{
	int timeout = ESTP_TIMEOUT_INIT / HZ, period = timeout;
	u8 res = 1;

	if (seconds <= 0)
		return 0;
	while (seconds > period && res < 255) {
		res++;
		timeout = min(timeout << 1, ESTP_RTO_MAX / HZ);
		period += timeout;
	}
	return res;
}

static int estp_retrans_to_secs(u8 retrans)
{
	int timeout = ESTP_TIMEOUT_INIT / HZ, period = timeout;

	if (!retrans)
		return 0;
	while (--retrans) {
		timeout = min(timeout << 1, ESTP_RTO_MAX / HZ);
		period += timeout;
	}
	return period;
}

/* ESTP_CONGESTION, as do_tcp_setsockopt()'s TCP_CONGESTION. */
static int estp_setsockopt_congestion(struct sock *sk, sockptr_t optval,
				      unsigned int optlen)
{
	char name[ESTP_CA_NAME_MAX];
	long len;
	int err;

	if (optlen < 1)
		return -EINVAL;
	len = strncpy_from_sockptr(name, optval,
				   min_t(long, ESTP_CA_NAME_MAX - 1, optlen));
	if (len < 0)
		return -EFAULT;
	name[len] = '\0';
	lock_sock(sk);
	err = estp_set_congestion_control(sk, name);
	release_sock(sk);
	return err;
}

/*
 * IP options ride in every packet, so the MSS of a connected sock changes
 * with them at once, as ip_setsockopt() has a TCP sock's icsk_sync_mss()
 * do: otherwise the next full segments would exceed the path MTU and come
 * back through the local PMTU path first.
 */
static int estp_setsockopt_ip_options(struct sock *sk, sockptr_t optval,
				      unsigned int optlen)
{
	struct dst_entry *dst;
	int err;

	err = estp_sk(sk)->af_ops->setsockopt(sk, SOL_IP, IP_OPTIONS, optval, optlen);
	if (err)
		return err;
	lock_sock(sk);
	dst = __sk_dst_get(sk);
	if (dst && !((1 << sk->sk_state) & (TCPF_LISTEN | TCPF_CLOSE)))
		estp_sync_mss(sk, dst_mtu(dst));
	release_sock(sk);
	return 0;
}

/*
 * ESTP_FASTOPEN_KEY (TCP_FASTOPEN_KEY): the socket's own key, or a primary
 * and a backup, which validate cookies instead of the netns's.
 */
static int estp_setsockopt_fastopen_key(struct sock *sk, sockptr_t optval,
					unsigned int optlen)
{
	u8 key[ESTP_FASTOPEN_KEY_LENGTH * ESTP_FASTOPEN_KEY_MAX];
	int err;

	if (optlen != ESTP_FASTOPEN_KEY_LENGTH && optlen != sizeof(key))
		return -EINVAL;
	if (copy_from_sockptr(key, optval, optlen))
		return -EFAULT;
	err = estp_fastopen_reset_cipher(sock_net(sk), sk, key,
					 optlen == sizeof(key) ? key + ESTP_FASTOPEN_KEY_LENGTH :
								 NULL);
	memzero_explicit(key, sizeof(key));
	return err;
}

/**
 * estp_setsockopt - proto->setsockopt for levels other than SOL_SOCKET
 *	(do_tcp_setsockopt)
 * @sk: the socket
 * @level: option level
 * @optname: option
 * @optval: user buffer
 * @optlen: its length
 *
 * SOL_ESTP and SOL_TCP take the same options with TCP's numbers, ranges
 * and errors; other levels go to IP through the af_ops.
 *
 * Return: 0, -EINVAL for a bad value or length, -EFAULT, or -ENOPROTOOPT
 * for an option ESTP does not have (yet).
 */
int estp_setsockopt(struct sock *sk, int level, int optname,
		    sockptr_t optval, unsigned int optlen)
{
	struct estp_sock *esk = estp_sk(sk);
	int val, err;

	if (level == SOL_IP && optname == IP_OPTIONS)
		return estp_setsockopt_ip_options(sk, optval, optlen);
	/*
	 * IP refuses multicast groups to a connection-oriented sock by its
	 * inet_connection_sock bit, which ESTP's socks, no icsk, do not have:
	 * TCP's errno here (do_ip_setsockopt(); an AF_INET6 sock's SOL_IP
	 * comes here too).  IPv6 checks the length first, then the same bit.
	 */
	if (level == SOL_IP &&
	    (optname == IP_ADD_MEMBERSHIP || optname == IP_DROP_MEMBERSHIP))
		return -EPROTO;
	if (level == SOL_IPV6 && sk->sk_family == AF_INET6 &&
	    (optname == IPV6_ADD_MEMBERSHIP || optname == IPV6_DROP_MEMBERSHIP))
		return optlen < sizeof(struct ipv6_mreq) ? -EINVAL : -EPROTO;
	if (level != SOL_ESTP && level != SOL_TCP)
		return esk->af_ops->setsockopt(sk, level, optname, optval, optlen);
	switch (optname) {
	case ESTP_CONGESTION:
		return estp_setsockopt_congestion(sk, optval, optlen);
	case ESTP_FASTOPEN_KEY:
		return estp_setsockopt_fastopen_key(sk, optval, optlen);
	}
	/* The rest are ints: their length and copy come first, as TCP's. */
	err = estp_get_int(optval, optlen, &val);
	if (err)
		return err;
	switch (optname) {
	case ESTP_FASTOPEN:
	case ESTP_FASTOPEN_CONNECT:
	case ESTP_FASTOPEN_NO_COOKIE:
	case ESTP_NODELAY:
	case ESTP_CORK:
	case ESTP_QUICKACK:
	case ESTP_USER_TIMEOUT:
	case ESTP_MAXSEG:
	case ESTP_KEEPIDLE:
	case ESTP_KEEPINTVL:
	case ESTP_KEEPCNT:
	case ESTP_SYNCNT:
	case ESTP_LINGER2:
	case ESTP_DEFER_ACCEPT:
	case ESTP_WINDOW_CLAMP:
	case ESTP_NOTSENT_LOWAT:
	case ESTP_INQ:
		break;
	default:
		return -ENOPROTOOPT;
	}
	/* Any state, the sock unlocked: the listener reads it per request. */
	if (optname == ESTP_DEFER_ACCEPT) {
		WRITE_ONCE(esk->accept_queue.defer_accept, estp_secs_to_retrans(val));
		return 0;
	}

	lock_sock(sk);
	switch (optname) {
	case ESTP_NODELAY:
		estp_set_nodelay(sk, val);
		break;
	case ESTP_CORK:
		estp_set_cork(sk, val);
		break;
	case ESTP_QUICKACK:
		estp_set_quickack(sk, val);
		break;
	case ESTP_USER_TIMEOUT:
		/* As TCP: any value in ms, 0 for the default; never negative. */
		if (val < 0)
			err = -EINVAL;
		else
			WRITE_ONCE(esk->user_timeout, val);
		break;
	case ESTP_MAXSEG:
		/* TCP's bounds: TCP_MIN_MSS and MAX_TCP_WINDOW; 0 clears. */
		if (val && (val < 88 || val > 32767))
			err = -EINVAL;
		else
			esk->user_mss = val;
		break;
	case ESTP_KEEPIDLE:
		if (val < 1 || val > ESTP_MAX_KEEPIDLE)
			err = -EINVAL;
		else
			estp_set_keepidle(sk, val);
		break;
	case ESTP_KEEPINTVL:
		if (val < 1 || val > ESTP_MAX_KEEPINTVL)
			err = -EINVAL;
		else
			WRITE_ONCE(esk->keepalive_intvl, val * HZ);
		break;
	case ESTP_KEEPCNT:
		if (val < 1 || val > ESTP_MAX_KEEPCNT)
			err = -EINVAL;
		else
			WRITE_ONCE(esk->keepalive_probes, val);
		break;
	case ESTP_SYNCNT:
		if (val < 1 || val > ESTP_MAX_SYNCNT)
			err = -EINVAL;
		else
			WRITE_ONCE(esk->syn_retries, val);
		break;
	case ESTP_LINGER2:
		/* As TCP: negative means reset, too large is capped. */
		if (val < 0)
			WRITE_ONCE(esk->linger2, -1);
		else if (val > ESTP_FIN_TIMEOUT_MAX / HZ)
			WRITE_ONCE(esk->linger2, ESTP_FIN_TIMEOUT_MAX);
		else
			WRITE_ONCE(esk->linger2, val * HZ);
		break;
	case ESTP_WINDOW_CLAMP:
		err = estp_set_window_clamp(sk, val);
		break;
	case ESTP_NOTSENT_LOWAT:
		/* Any value, a negative one a huge mark; writers may go now. */
		WRITE_ONCE(esk->notsent_lowat, val);
		sk->sk_write_space(sk);
		break;
	case ESTP_INQ:
		if (val < 0 || val > 1)
			err = -EINVAL;
		else
			esk->recvmsg_inq = val;
		break;
	case ESTP_FASTOPEN:
		/* A listener's queue of Fast Open children; the netns's key. */
		if (val >= 0 && ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))) {
			estp_fastopen_init_key_once(sock_net(sk));
			estp_fastopen_queue_tune(sk, val);
		} else {
			err = -EINVAL;
		}
		break;
	case ESTP_FASTOPEN_CONNECT:
		if (val < 0 || val > 1)
			err = -EINVAL;
		else if (!(READ_ONCE(estp_pernet(sock_net(sk))->fastopen) &
			   ESTP_TFO_CLIENT_ENABLE))
			err = -EOPNOTSUPP;
		else if (sk->sk_state != TCP_CLOSE)
			err = -EINVAL;
		else
			esk->fastopen_connect = val;
		break;
	case ESTP_FASTOPEN_NO_COOKIE:
		if (val < 0 || val > 1 ||
		    !((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN)))
			err = -EINVAL;
		else
			esk->fastopen_no_cookie = val;
		break;
	}
	release_sock(sk);
	return err;
}

/* A pacing rate as TCP_INFO gives it: ~0ULL for "none" (~0UL). */
static u64 estp_info_rate(unsigned long rate)
{
	return rate != ~0UL ? rate : ~0ULL;
}

/* The chronographs in µs, busy time their sum (tcp_get_info_chrono_stats). */
static void estp_info_chrono(const struct estp_sock *esk, struct tcp_info *info)
{
	u64 us[ARRAY_SIZE(esk->chrono_stat)], total = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(us); i++) {
		u32 j = esk->chrono_stat[i];

		if (esk->chrono_type == i + 1)
			j += (u32)jiffies - esk->chrono_start;
		us[i] = (u64)jiffies_to_usecs(1) * j;
		total += us[i];
	}
	info->tcpi_busy_time = total;
	info->tcpi_rwnd_limited = us[ESTP_CHRONO_RWND_LIMITED - 1];
	info->tcpi_sndbuf_limited = us[ESTP_CHRONO_SNDBUF_LIMITED - 1];
}

/**
 * estp_get_info - fill struct tcp_info from an ESTP sock (tcp_get_info)
 * @sk: the socket, a full one in any state; not locked by the caller
 * @info: filled whole: every field TCP has and ESTP keeps, with TCP's
 *	meaning and units; zero where ESTP keeps nothing behind a field
 *
 * For TCP_INFO and inet_diag's INET_DIAG_INFO.  The struct is the one of
 * the kernel built against (compat.h), so its size is the running
 * kernel's TCP's.  A listener reports, as TCP's does, its accept queue's
 * length in tcpi_unacked and its backlog in tcpi_sacked, read without the
 * socket lock; any other sock is read under lock_sock_fast(), which the
 * receive path and the timers hold while they change it.
 *
 * ESTP keeps no pacing rate (tcpi_pacing_rate and tcpi_max_pacing_rate are
 * the socket's, ~0 unless SO_MAX_PACING_RATE set one), no delivery-rate
 * samples, no busy/rwnd/sndbuf-limited chronographs, no D-SACK, no Fast
 * Open and no AccECN: their fields are 0.
 */
void estp_get_info(struct sock *sk, struct tcp_info *info)
{
	struct estp_sock *esk = estp_sk(sk);
	bool slow;
	u32 now;

	memset(info, 0, sizeof(*info));
	info->tcpi_state = inet_sk_state_load(sk);
	info->tcpi_pacing_rate = estp_info_rate(READ_ONCE(sk->sk_pacing_rate));
	info->tcpi_max_pacing_rate = estp_info_rate(READ_ONCE(sk->sk_max_pacing_rate));
	info->tcpi_reordering = esk->reordering;
	info->tcpi_snd_cwnd = READ_ONCE(esk->snd_cwnd);
	if (info->tcpi_state == TCP_LISTEN) {
		info->tcpi_unacked = READ_ONCE(sk->sk_ack_backlog);
		info->tcpi_sacked = READ_ONCE(sk->sk_max_ack_backlog);
		return;
	}

	slow = lock_sock_fast(sk);
	info->tcpi_ca_state = esk->ca_state;
	info->tcpi_retransmits = esk->retransmits;
	info->tcpi_probes = esk->probes_out;
	/* ESTP's backoff is its timeout count (estp_rto_backoff()). */
	info->tcpi_backoff = esk->retransmits;
	if (esk->tstamp_ok)
		info->tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (esk->sack_ok)
		info->tcpi_options |= TCPI_OPT_SACK;
	if (esk->wscale_ok) {
		info->tcpi_options |= TCPI_OPT_WSCALE;
		info->tcpi_snd_wscale = esk->snd_wscale;
		info->tcpi_rcv_wscale = esk->rcv_wscale;
	}
	if (esk->ecn_flags & ESTP_ECN_OK)
		info->tcpi_options |= TCPI_OPT_ECN;
	if (esk->ecn_flags & ESTP_ECN_SEEN)
		info->tcpi_options |= TCPI_OPT_ECN_SEEN;
	if (esk->syn_data_acked)
		info->tcpi_options |= TCPI_OPT_SYN_DATA;
	info->tcpi_fastopen_client_fail = esk->fastopen_client_fail;

	info->tcpi_rto = jiffies_to_usecs(esk->rto);
	info->tcpi_ato = jiffies_to_usecs(min_t(u32, esk->ack_ato, ESTP_DELACK_MAX));
	/* TCP's mss_cache is held to half the largest window; ESTP's is not. */
	info->tcpi_snd_mss = estp_size_goal(esk);
	info->tcpi_rcv_mss = esk->rcv_mss;
	info->tcpi_unacked = esk->packets_out;
	info->tcpi_sacked = esk->sacked_out;
	info->tcpi_lost = esk->lost_out;
	info->tcpi_retrans = esk->retrans_out;

	now = jiffies;
	info->tcpi_last_data_sent = jiffies_to_msecs(now - esk->lsndtime);
	info->tcpi_last_data_recv = jiffies_to_msecs(now - esk->ack_lrcvtime);
	info->tcpi_last_ack_recv = jiffies_to_msecs(now - esk->rcv_tstamp);

	info->tcpi_pmtu = esk->pmtu_cookie;
	info->tcpi_rcv_ssthresh = esk->rcv_ssthresh;
	info->tcpi_rtt = esk->srtt_us >> 3;
	info->tcpi_rttvar = esk->mdev_us >> 2;
	info->tcpi_snd_ssthresh = esk->snd_ssthresh;
	info->tcpi_advmss = esk->advmss;
	info->tcpi_rcv_rtt = esk->rcv_rtt_us;	/* kept unscaled */
	info->tcpi_rcv_space = esk->rcvq_space;
	info->tcpi_total_retrans = esk->total_retrans;

	estp_info_chrono(esk, info);
	info->tcpi_bytes_acked = esk->bytes_acked;
	info->tcpi_bytes_received = esk->bytes_received;
	info->tcpi_notsent_bytes = max_t(int, 0, esk->write_seq - esk->snd_nxt);
	info->tcpi_segs_out = esk->segs_out;
	info->tcpi_segs_in = READ_ONCE(esk->segs_in);
	info->tcpi_data_segs_in = READ_ONCE(esk->data_segs_in);
	info->tcpi_min_rtt = minmax_get(&esk->rtt_min);
	info->tcpi_data_segs_out = esk->data_segs_out;
	info->tcpi_delivered = esk->delivered;
	info->tcpi_bytes_sent = esk->bytes_sent;
	info->tcpi_bytes_retrans = esk->bytes_retrans;
	info->tcpi_rcv_ooopack = esk->rcv_ooopack;
	info->tcpi_dsack_dups = esk->dsack_dups;
	info->tcpi_reord_seen = esk->reord_seen;
	info->tcpi_snd_wnd = esk->snd_wnd;
#if ESTP_TCPI_RCV_WND
	info->tcpi_rcv_wnd = esk->rcv_wnd;
#endif
#if ESTP_TCPI_TOTAL_RTO
	info->tcpi_total_rto = esk->total_rto;
	info->tcpi_total_rto_recoveries = esk->total_rto_recoveries;
	info->tcpi_total_rto_time = esk->total_rto_time;
	if (esk->rto_stamp)
		info->tcpi_total_rto_time += estp_clock_ms() - esk->rto_stamp;
#endif
#if ESTP_TCPI_ECN_MODE
	if (esk->ecn_flags & ESTP_ECN_OK)
		info->tcpi_ecn_mode = TCPI_ECN_MODE_RFC3168;
#endif
	unlock_sock_fast(sk, slow);
}

/*
 * TCP_INFO and TCP_CC_INFO (do_tcp_getsockopt's): as much of the answer
 * as @len asks for, that length written back, as TCP's.
 */
static int estp_getsockopt_info(struct sock *sk, int optname, char __user *optval,
				int __user *optlen, unsigned int len)
{
	struct estp_sock *esk = estp_sk(sk);
	union tcp_cc_info cc_info;
	struct tcp_info info;
	const void *from;
	size_t sz = 0;
	int attr;

	if (optname == ESTP_INFO) {
		estp_get_info(sk, &info);
		from = &info;
		sz = sizeof(info);
	} else {
		/*
		 * The lock keeps ca_ops and the reference the sock holds on
		 * its module (estp_cong.c); TCP's algorithms other than
		 * Vegas, DCTCP and BBR have no get_info: 0 bytes.
		 */
		lock_sock(sk);
		if (esk->ca_ops->get_info)
			sz = esk->ca_ops->get_info(sk, ~0U, &attr, &cc_info);
		release_sock(sk);
		from = &cc_info;
	}
	len = min_t(unsigned int, len, sz);
	if (put_user(len, optlen) || copy_to_user(optval, from, len))
		return -EFAULT;
	return 0;
}

/**
 * estp_getsockopt - proto->getsockopt for levels other than SOL_SOCKET
 *	(do_tcp_getsockopt)
 * @sk: the socket
 * @level: option level
 * @optname: option
 * @optval: user buffer
 * @optlen: user length in/out
 *
 * Return: 0, -EINVAL, -EFAULT, or -ENOPROTOOPT for an option ESTP does not
 * have (yet).
 */
int estp_getsockopt(struct sock *sk, int level, int optname,
		    char __user *optval, int __user *optlen)
{
	struct estp_sock *esk = estp_sk(sk);
	int val, len;

	if (level != SOL_ESTP && level != SOL_TCP)
		return esk->af_ops->getsockopt(sk, level, optname, optval, optlen);
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (optname == ESTP_INFO || optname == ESTP_CC_INFO)
		return estp_getsockopt_info(sk, optname, optval, optlen, len);
	if (optname == ESTP_FASTOPEN_KEY) {
		/* The socket's own keys only; none: 0 bytes (as TCP). */
		u64 key[ESTP_FASTOPEN_KEY_MAX * 2];
		unsigned int key_len;

		key_len = estp_fastopen_get_cipher(sock_net(sk), sk, key) *
			  ESTP_FASTOPEN_KEY_LENGTH;
		len = min_t(unsigned int, len, key_len);
		if (put_user(len, optlen) || copy_to_user(optval, key, len))
			len = -EFAULT;
		memzero_explicit(key, sizeof(key));
		return len < 0 ? len : 0;
	}
	if (optname == ESTP_CONGESTION) {
		/* At most ESTP_CA_NAME_MAX bytes, NUL padding included, as TCP. */
		char name[ESTP_CA_NAME_MAX] = "";

		len = min_t(unsigned int, len, ESTP_CA_NAME_MAX);
		lock_sock(sk);
		strscpy(name, esk->ca_ops->name, sizeof(name));
		release_sock(sk);
		if (put_user(len, optlen) || copy_to_user(optval, name, len))
			return -EFAULT;
		return 0;
	}
	len = min_t(unsigned int, len, sizeof(int));

	switch (optname) {
	case ESTP_NODELAY:
		val = !!(READ_ONCE(esk->nonagle) & ESTP_NAGLE_OFF);
		break;
	case ESTP_CORK:
		val = !!(READ_ONCE(esk->nonagle) & ESTP_NAGLE_CORK);
		break;
	case ESTP_QUICKACK:
		val = !READ_ONCE(esk->ack_pingpong);
		break;
	case ESTP_USER_TIMEOUT:
		val = READ_ONCE(esk->user_timeout);
		break;
	case ESTP_MAXSEG:
		val = READ_ONCE(esk->mss_cache);
		if (esk->user_mss && (1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))
			val = esk->user_mss;
		break;
	case ESTP_KEEPIDLE:
		val = estp_keepalive_time_when(esk) / HZ;
		break;
	case ESTP_KEEPINTVL:
		val = estp_keepalive_intvl_when(esk) / HZ;
		break;
	case ESTP_KEEPCNT:
		val = estp_keepalive_probes(esk);
		break;
	case ESTP_SYNCNT:
		val = READ_ONCE(esk->syn_retries) ? :
		      READ_ONCE(estp_pernet(sock_net(sk))->syn_retries);
		break;
	case ESTP_LINGER2:
		val = READ_ONCE(esk->linger2);
		if (val >= 0)
			val = (val ? : READ_ONCE(estp_pernet(sock_net(sk))->fin_timeout) * HZ) / HZ;
		break;
	case ESTP_DEFER_ACCEPT:
		val = estp_retrans_to_secs(READ_ONCE(esk->accept_queue.defer_accept));
		break;
	case ESTP_WINDOW_CLAMP:
		val = READ_ONCE(esk->window_clamp);
		break;
	case ESTP_NOTSENT_LOWAT:
		val = READ_ONCE(esk->notsent_lowat);
		break;
	case ESTP_INQ:
		val = esk->recvmsg_inq;
		break;
	case ESTP_FASTOPEN:
		val = READ_ONCE(esk->accept_queue.fastopenq.max_qlen);
		break;
	case ESTP_FASTOPEN_CONNECT:
		val = esk->fastopen_connect;
		break;
	case ESTP_FASTOPEN_NO_COOKIE:
		val = esk->fastopen_no_cookie;
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}
