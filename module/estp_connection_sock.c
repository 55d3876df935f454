// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP connection sockets, the counterpart of
 * net/ipv4/inet_connection_sock.c: listen start and stop, the accept queue
 * and accept().
 */
#include <linux/delay.h>
#include <linux/sched/signal.h>
#include <net/xfrm.h>
#include <linux/wait.h>
#include <net/sock.h>

#include "estp.h"

/**
 * estp_reqsk_queue_alloc - an empty accept queue (reqsk_queue_alloc)
 * @queue: the listener's queue, empty: the sock does not listen
 *
 * Neither the lock nor the counts: requests of a previous session may
 * still be counted in qlen and young, and leave them later.
 */
void estp_reqsk_queue_alloc(struct estp_accept_queue *queue)
{
	queue->head = NULL;
	queue->tail = NULL;
}

/* A request leaves the listener's counts (reqsk_queue_removed). */
static void estp_reqsk_queue_removed(struct estp_accept_queue *queue,
				     const struct request_sock *req)
{
	if (!req->num_timeout)
		atomic_dec(&queue->young);
	/* Each request is counted once, by estp_reqsk_queue_hash_add(). */
	WARN_ON_ONCE(atomic_dec_return(&queue->qlen) < 0);
}

/**
 * estp_csk_listen_start - move a CLOSE sock to LISTEN (inet_csk_listen_start)
 * @sk: the socket, locked by the caller
 *
 * The state is LISTEN before the port is checked again, so that the bind
 * rules for listeners apply; on failure the sock goes back to CLOSE.
 *
 * Return: 0 or the error of estp_get_port().
 */
int estp_csk_listen_start(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	int err;

	estp_reqsk_queue_alloc(&estp_sk(sk)->accept_queue);
	sk->sk_ack_backlog = 0;

	/* Receive-path lookups use a listener under RCU without a reference. */
	sock_set_flag(sk, SOCK_RCU_FREE);
	inet_sk_set_state(sk, TCP_LISTEN);
	err = sk->sk_prot->get_port(sk, inet->inet_num);
	if (!err) {
		inet->inet_sport = htons(inet->inet_num);
		sk_dst_reset(sk);
		err = sk->sk_prot->hash(sk);
		if (!err)
			return 0;
	}
	inet_sk_set_state(sk, TCP_CLOSE);
	return err;
}

/* Take the first request sock off the accept queue, or NULL. */
static struct request_sock *estp_reqsk_queue_remove(struct sock *sk)
{
	struct estp_accept_queue *queue = &estp_sk(sk)->accept_queue;
	struct request_sock *req;

	spin_lock_bh(&queue->lock);
	req = queue->head;
	if (req) {
		WRITE_ONCE(queue->head, req->dl_next);
		if (!queue->head)
			queue->tail = NULL;
		sk_acceptq_removed(sk);
	}
	spin_unlock_bh(&queue->lock);
	return req;
}

/*
 * A child nobody will accept: reset it and let it die as an orphan
 * (inet_child_forget).  Our own reference keeps it until we unlock it.
 */
static void estp_child_forget(struct sock *child)
{
	sock_hold(child);
	local_bh_disable();
	bh_lock_sock(child);
	sock_orphan(child);
	estp_orphan_inc();
	if (child->sk_state != TCP_CLOSE)
		estp_send_active_reset(child, GFP_ATOMIC);
	estp_done(child, ESTP_DONE_CHILD_FORGET);
	bh_unlock_sock(child);
	local_bh_enable();
	sock_put(child);
}

/**
 * estp_csk_listen_stop - a listener closes (inet_csk_listen_stop)
 * @sk: the socket, locked, already in CLOSE and unhashed
 *
 * Children nobody accepted are reset and destroyed; request socks still in
 * the handshake are freed.
 */
void estp_csk_listen_stop(struct sock *sk)
{
	struct request_sock *req;

	/*
	 * Fault point "listen_purge": the purge misses the requests, as it
	 * misses one that a SYN hashes behind its walk, and that
	 * estp_conn_request() keeps if the sock listens again by its check.
	 */
	if (!estp_fault("listen_purge"))
		estp_reqsk_purge(sk);
	/*
	 * A Fast Open child still in its handshake leaves the fastopen queue
	 * in its estp_done(); its request is then the accept queue's alone.
	 */
	while ((req = estp_reqsk_queue_remove(sk)) != NULL) {
		estp_child_forget(req->sk);
		estp_reqsk_put(req);
		cond_resched();
	}
	estp_fastopen_purge_rst(sk);
}

/*
 * Sleep until the accept queue has a child, the sock stops listening, the
 * timeout ends or a signal comes (inet_csk_wait_for_connect).  Exclusive
 * wait: one child wakes one acceptor.
 */
static int estp_csk_wait_for_connect(struct sock *sk, long timeo)
{
	DEFINE_WAIT(wait);
	int err;

	for (;;) {
		prepare_to_wait_exclusive(sk_sleep(sk), &wait, TASK_INTERRUPTIBLE);
		release_sock(sk);
		if (estp_accept_queue_empty(sk))
			timeo = schedule_timeout(timeo);
		sched_annotate_sleep();
		lock_sock(sk);
		err = 0;
		if (!estp_accept_queue_empty(sk))
			break;
		err = -EINVAL;
		if (sk->sk_state != TCP_LISTEN)
			break;
		err = sock_intr_errno(timeo);
		if (signal_pending(current))
			break;
		err = -EAGAIN;
		if (!timeo)
			break;
	}
	finish_wait(sk_sleep(sk), &wait);
	return err;
}

/**
 * estp_csk_accept - take the first child of the accept queue
 * @sk: the listening socket
 * @flags: file flags of the listener (O_NONBLOCK)
 * @err: where the error goes when no child is returned
 *
 * Blocks unless O_NONBLOCK (then -EAGAIN), for at most SO_RCVTIMEO.
 *
 * Return: the child, or NULL with the error set for the caller.
 */
struct sock *estp_csk_accept(struct sock *sk, int flags, int *err)
{
	struct sock *newsk = NULL;
	struct request_sock *req;
	int error;

	lock_sock(sk);
	error = -EINVAL;
	if (sk->sk_state != TCP_LISTEN)
		goto out;
	if (estp_accept_queue_empty(sk)) {
		long timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);

		error = -EAGAIN;
		if (!timeo)
			goto out;
		error = estp_csk_wait_for_connect(sk, timeo);
		if (error)
			goto out;
	}
	req = estp_reqsk_queue_remove(sk);
	if (req) {
		struct estp_fastopen_queue *fq = &estp_sk(sk)->accept_queue.fastopenq;

		newsk = req->sk;
		/*
		 * A Fast Open child still in its handshake keeps the request:
		 * req->sk NULL tells estp_reqsk_fastopen_remove() to drop it.
		 */
		if (estp_rsk(req)->tfo_listener) {
			spin_lock_bh(&fq->lock);
			if (estp_rsk(req)->tfo_listener) {
				req->sk = NULL;
				req = NULL;
			}
			spin_unlock_bh(&fq->lock);
		}
		if (req)
			estp_reqsk_put(req);
		error = 0;
	} else {
		error = -EAGAIN;
	}
out:
	release_sock(sk);
	*err = error;
	return newsk;
}

/**
 * estp_csk_destroy_sock - free a closed, orphaned sock (inet_csk_destroy_sock)
 * @sk: the socket: CLOSE, DEAD, unhashed
 *
 * The warnings are the seed's: a sock reaching here in any other shape is a
 * bug in a caller.  Drops the reference the owner held.
 */
void estp_csk_destroy_sock(struct sock *sk)
{
	WARN_ON(sk->sk_state != TCP_CLOSE);
	WARN_ON(!sock_flag(sk, SOCK_DEAD));
	/* It cannot be in a hash table. */
	WARN_ON(!sk_unhashed(sk));
	/* A sock with a port number must own it in the bind hash. */
	WARN_ON(inet_sk(sk)->inet_num && !estp_sk(sk)->bind_hash);

	sk->sk_prot->destroy(sk);
	sk_stream_kill_queues(sk);
	xfrm_sk_free_policy(sk);
	percpu_counter_dec(&estp_orphan_count);
	sock_put(sk);
}

/*
 * A request from the SLAB_TYPESAFE_BY_RCU slab, zeroed but for the hash
 * node and the reference count, which lookups of the object's previous
 * life may still be reading (sk_prot_clear_nulls()): never
 * kmem_cache_zalloc(), which would clear them under those readers.
 */
static void estp_reqsk_clear(struct estp_request_sock *ereq)
{
	const size_t end = offsetof(struct sock_common, skc_dontcopy_end);

	memset(ereq, 0, offsetof(struct sock_common, skc_dontcopy_begin));
	memset((u8 *)ereq + end, 0, sizeof(*ereq) - end);
}

/**
 * estp_reqsk_alloc - a request sock bound to its listener (inet_reqsk_alloc)
 * @listener: the listening socket, found under RCU without a reference;
 *	the request takes one, unless the listener is already being freed
 * @ctl: the family of the segment that opens it
 *
 * The slab is SLAB_TYPESAFE_BY_RCU: the sock_common's hash node may still be
 * read by lookups and is not cleared; every other field is set here.
 *
 * Return: the request sock (reference count 0 until hashed) or NULL.
 */
struct request_sock *estp_reqsk_alloc(struct sock *listener,
				      const struct estp_ctl_ops *ctl)
{
	struct request_sock *req;
	struct inet_request_sock *ireq;
	struct estp_request_sock *ereq;

	ereq = kmem_cache_alloc(estp_request_sock_ops.slab, GFP_ATOMIC | __GFP_NOWARN);
	if (!ereq)
		return NULL;
	estp_reqsk_clear(ereq);
	req = &ereq->ireq.req;
	ireq = inet_rsk(req);
	req->rsk_ops = &estp_request_sock_ops;
	ereq->ctl = ctl;
	/* Fault point "reqsk_alloc": a close() of the listener ends here. */
	estp_fault_hold("reqsk_alloc", !refcount_read(&listener->sk_refcnt));
	/*
	 * close() may have dropped the last reference since the lookup; the
	 * memory stays until the RCU grace period (reqsk_alloc_noprof).
	 */
	if (unlikely(!refcount_inc_not_zero(&listener->sk_refcnt))) {
		kmem_cache_free(estp_request_sock_ops.slab, ereq);
		return NULL;
	}
	req->rsk_listener = listener;
	/* sock_diag_destroy() reaches estp_abort() through it, as TCP's. */
	req_to_sk(req)->sk_prot = listener->sk_prot;
	req->sk = NULL;
	req->dl_next = NULL;
	req->saved_syn = NULL;
	req->num_retrans = 0;
	req->num_timeout = 0;
	req->timeout = ESTP_TIMEOUT_INIT;
	ireq->ireq_state = TCP_NEW_SYN_RECV;
	ireq->ireq_family = ctl->family;
	write_pnet(&ireq->ireq_net, sock_net(listener));
	ireq->ireq_opt = NULL;
	refcount_set(&req->rsk_refcnt, 0);
	return req;
}

/**
 * estp_reqsk_put - drop a reference on a request sock (reqsk_put)
 * @req: the request sock
 *
 * The last one frees it as the core's reqsk_free() would, which newer
 * kernels do not export.  The listener's reference goes last: it may be
 * what keeps estp.ko and the netns.
 */
void estp_reqsk_put(struct request_sock *req)
{
	struct sock *listener = req->rsk_listener;

	if (!refcount_dec_and_test(&req->rsk_refcnt))
		return;
	req->rsk_ops->destructor(req);
	kmem_cache_free(req->rsk_ops->slab, req);
	sock_put(listener);
}

/* Unlink req from the established hash; true if this call did it. */
static bool estp_reqsk_unhash(struct request_sock *req)
{
	struct sock *sk = req_to_sk(req);

	/* estp_ehash_insert() with no new sock only removes. */
	return estp_ehash_insert(NULL, sk);
}

/*
 * The end of a request sock and its SYN-ACK timer.  A request holds its
 * listener, and the listener holds estp.ko and its netns: a request that
 * outlived its listener's close (estp_csk_listen_stop()) would keep both.
 * So nothing may re-arm the timer of a request that is ending:
 * - references (rsk_refcnt): the established hash's, dropped by whoever
 *   unhashes it; the timer's, dropped by the handler when it gives up or
 *   by whoever deletes the pending timer; the caller's, or a lookup's.
 * - only the handler re-arms the timer; a retransmitted SYN only moves a
 *   pending one (mod_timer_pending() in estp_check_req(), as TCP's), which
 *   arms nothing.  Anyone else who ends a request
 *   first deletes the timer with timer_delete_sync(): a handler already
 *   running finishes (its re-arm included, which the delete then undoes),
 *   and no other can start.  Then num_timeout is stable for the count of
 *   young requests, and the request leaves the hash and the counts.
 * - the handler ends a request without deleting its own timer, which is
 *   not pending while it runs.
 */
static bool __estp_reqsk_queue_drop(struct sock *listener, struct request_sock *req,
				    bool from_timer)
{
	if (!from_timer && timer_delete_sync(&req->rsk_timer))
		estp_reqsk_put(req);		/* the timer's */
	if (!estp_reqsk_unhash(req))
		return false;
	estp_reqsk_queue_removed(&estp_sk(listener)->accept_queue, req);
	estp_reqsk_put(req);			/* the hash's */
	return true;
}

/**
 * estp_reqsk_queue_drop - end a request sock's handshake (inet_csk_reqsk_queue_drop)
 * @listener: its listener
 * @req: the request sock, with a reference the caller keeps
 *
 * Stops its timer, waiting for a handler that runs, with the timer's
 * reference; takes it out of the established hash, with the hash's
 * reference, and out of the listener's count.  Either may already have
 * happened on another CPU.  Not for the request's own timer handler.  It
 * does not sleep: it spins while that handler runs on another CPU, so
 * softirqs may call it, as long as they hold no lock the handler takes.
 *
 * Return: true when this call took it out of the hash.
 */
bool estp_reqsk_queue_drop(struct sock *listener, struct request_sock *req)
{
	return __estp_reqsk_queue_drop(listener, req, false);
}

/*
 * Fault point "reqsk_timer": once armed, the SYN-ACK timer's next run stops
 * between its look at the listener and the re-arm, until the listener leaves
 * LISTEN (at most 2 s) and 100 ms more, so that a test can close the
 * listener while a handler is in that window.
 */
static void estp_reqsk_timer_fault(const struct sock *listener)
{
	int ms;

	if (!estp_fault("reqsk_timer"))
		return;
	for (ms = 0; ms < 2000 && inet_sk_state_load(listener) == TCP_LISTEN; ms++)
		mdelay(1);
	mdelay(100);
}

/*
 * Whether a request's time is up, and whether its SYN-ACK goes again
 * (syn_ack_recalc).  Under ESTP_DEFER_ACCEPT (@defer timeouts) a request
 * whose bare ACK came lives until @defer timeouts have passed as well,
 * and its SYN-ACK is not resent before the last of them: the peer is
 * established and sends its data when it has some; the resend at the end
 * gives its ACK a last chance to make the connection.
 */
static void estp_synack_recalc(const struct request_sock *req, int max_retries,
			       u8 defer, bool *expire, bool *resend)
{
	bool acked = inet_rsk(req)->acked;

	if (!defer) {
		*expire = req->num_timeout >= max_retries;
		*resend = true;
		return;
	}
	*expire = req->num_timeout >= max_retries &&
		  (!acked || req->num_timeout >= defer);
	*resend = !acked || req->num_timeout >= defer - 1;
}

/*
 * The SYN-ACK timer (reqsk_timer_handler): send the SYN-ACK again with
 * exponential backoff; give up after net.estp.synack_retries, or at once when
 * the listener has stopped listening.  ESTP_DEFER_ACCEPT stretches the
 * retries to its timeouts and holds the resends (estp_synack_recalc()).
 */
static void estp_reqsk_timer_handler(struct timer_list *t)
{
	struct request_sock *req = container_of(t, struct request_sock, rsk_timer);
	struct sock *listener = req->rsk_listener;
	int max_retries = READ_ONCE(estp_pernet(sock_net(listener))->synack_retries);
	u8 defer = READ_ONCE(estp_sk(listener)->accept_queue.defer_accept);
	bool expire, resend;

	if (defer)
		max_retries = max_t(int, max_retries, defer);
	estp_synack_recalc(req, max_retries, defer, &expire, &resend);
	if (inet_sk_state_load(listener) != TCP_LISTEN || expire) {
		__estp_reqsk_queue_drop(listener, req, true);
		estp_reqsk_put(req);		/* the timer's */
		return;
	}
	estp_reqsk_timer_fault(listener);
	if (!req->num_timeout)
		atomic_dec(&estp_sk(listener)->accept_queue.young);
	req->num_timeout++;
	/* Fault point "reqsk_backoff": as after 32 timeouts, without the wait. */
	if (estp_fault("reqsk_backoff"))
		req->num_timeout = 32;
	if (resend)
		estp_rtx_synack(listener, req);
	/* The timer's reference stays with the timer. */
	mod_timer(&req->rsk_timer, jiffies + estp_reqsk_timeout(req));
}

/**
 * estp_reqsk_queue_hash_add - hash a request sock and arm its timer
 *	(inet_csk_reqsk_queue_hash_add, reqsk_queue_hash_req)
 * @listener: its listener, which counts it in qlen
 * @req: the new request sock, reference count 0 (estp_reqsk_alloc())
 *
 * The request goes into the hash with reference count 0: lookups and
 * estp_reqsk_purge() (refcount_inc_not_zero()) pass it by until it is
 * counted and its timer armed.  Then the count becomes 2 + 1: the hash,
 * the timer, and the caller, who drops it after sending the SYN-ACK.
 *
 * Return: 0, or -EEXIST when another request for the same 4-tuple won;
 * then the request was never visible, and only the caller holds it.
 */
int estp_reqsk_queue_hash_add(struct sock *listener, struct request_sock *req)
{
	timer_setup(&req->rsk_timer, estp_reqsk_timer_handler, TIMER_PINNED);
	if (!estp_ehash_insert(req_to_sk(req), NULL)) {
		refcount_set(&req->rsk_refcnt, 1);
		return -EEXIST;
	}
	/* Fault point "reqsk_hash": until another CPU unhashes it. */
	estp_fault_hold("reqsk_hash", sk_unhashed(req_to_sk(req)));
	atomic_inc(&estp_sk(listener)->accept_queue.qlen);
	atomic_inc(&estp_sk(listener)->accept_queue.young);
	mod_timer(&req->rsk_timer, jiffies + req->timeout);
	/* Its keys and timer before the count that lets lookups take it. */
	smp_wmb();
	refcount_set(&req->rsk_refcnt, 2 + 1);
	return 0;
}

/**
 * estp_csk_complete_hashdance - the child replaced req in the hash: queue
 *	it for accept() (inet_csk_complete_hashdance)
 * @listener: the listener
 * @req: the request sock; the caller's reference passes to the accept queue
 * @child: the new sock, established
 *
 * The request leaves the listener's half-open count and loses its timer.
 */
void estp_csk_complete_hashdance(struct sock *listener, struct request_sock *req,
				 struct sock *child)
{
	struct estp_accept_queue *queue = &estp_sk(listener)->accept_queue;

	/* As __estp_reqsk_queue_drop(): a running handler must not re-arm it. */
	if (timer_delete_sync(&req->rsk_timer))
		estp_reqsk_put(req);			/* the timer's */
	/* estp_ehash_insert() already took req out of the hash for the child. */
	estp_reqsk_queue_removed(queue, req);
	estp_reqsk_put(req);				/* the hash's */
	estp_csk_reqsk_queue_add(listener, req, child);
}

/**
 * estp_csk_reqsk_queue_add - queue a child for accept() (inet_csk_reqsk_queue_add)
 * @listener: the listener
 * @req: the child's request sock, hashed no more; the caller's reference
 *	passes to the accept queue
 * @child: the new sock, established
 *
 * A listener that stopped meanwhile gets nothing: the check is made under
 * the queue's lock, which estp_csk_listen_stop() empties the queue under.
 */
void estp_csk_reqsk_queue_add(struct sock *listener, struct request_sock *req,
			      struct sock *child)
{
	struct estp_accept_queue *queue = &estp_sk(listener)->accept_queue;
	bool queued = false;

	req->sk = child;
	req->dl_next = NULL;
	spin_lock(&queue->lock);
	/* The fault point plays a listener that stopped after its state check. */
	if (inet_sk_state_load(listener) == TCP_LISTEN &&
	    !estp_fault("reqsk_queue_add")) {
		if (queue->tail)
			queue->tail->dl_next = req;
		else
			WRITE_ONCE(queue->head, req);
		queue->tail = req;
		sk_acceptq_added(listener);
		queued = true;
	}
	spin_unlock(&queue->lock);
	if (queued) {
		listener->sk_data_ready(listener);
		return;
	}
	estp_child_forget(child);
	estp_reqsk_put(req);
}

/**
 * estp_csk_clone - a new sock from the listener, for req (inet_csk_clone_lock)
 * @listener: the listener
 * @req: the request sock with the connection's addresses
 *
 * Return: the child, in SYN_RECV, not yet visible to anyone, with a
 * reference for the established hash and one for its owner; or NULL.
 */
struct sock *estp_csk_clone(const struct sock *listener,
			    const struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct estp_sock *esk;
	struct inet_sock *inet;
	struct sock *newsk;

	newsk = sk_clone_lock(listener, GFP_ATOMIC);
	if (!newsk)
		return NULL;
	/*
	 * sk_clone_lock() returns the clone locked; nobody can reach it before
	 * it is hashed, and estp_child_process() locks it for the final ACK.
	 * A Fast Open child stays locked until its SYN-ACK is out
	 * (estp_conn_request()): segments may find it as soon as it is hashed.
	 */
	__acquire(&newsk->sk_lock.slock);
	if (!estp_rsk(req)->tfo_listener)
		bh_unlock_sock(newsk);
	else	/* for sparse: the caller holds it now (estp_conn_request()) */
		__release(&newsk->sk_lock.slock);
	/* Only listeners are freed after a grace period. */
	sock_reset_flag(newsk, SOCK_RCU_FREE);
	inet_sk_set_state(newsk, TCP_SYN_RECV);
	inet = inet_sk(newsk);
	inet->inet_dport = ireq->ir_rmt_port;
	inet->inet_daddr = ireq->ir_rmt_addr;
	inet->inet_rcv_saddr = ireq->ir_loc_addr;
	inet->inet_saddr = ireq->ir_loc_addr;
	inet->inet_num = ireq->ir_num;
	inet->inet_sport = htons(ireq->ir_num);
	/*
	 * sk_clone_lock() copied the listener's inet_sock whole: its IP
	 * options and multicast memberships are the listener's, freed by it
	 * (inet_sock_destruct(), ip_mc_drop_socket()).  A child sharing them
	 * would free them again.  The SYN carried no options we keep, so the
	 * child starts with none, as TCP's does for a SYN without any.
	 */
	RCU_INIT_POINTER(inet->inet_opt, NULL);
	inet->mc_list = NULL;
	/* The listener's SO_BINDTODEVICE or VRF (tcp_v4_syn_recv_sock). */
	newsk->sk_bound_dev_if = ireq->ir_iif;
	newsk->sk_ack_backlog = 0;
	newsk->sk_max_ack_backlog = 0;
	esk = estp_sk(newsk);
	esk->bind_hash = NULL;
	/* The listener's queue was copied, its lock maybe held: a new one. */
	estp_init_csk_locks(newsk);
	estp_reqsk_queue_alloc(&esk->accept_queue);
	atomic_set(&esk->accept_queue.qlen, 0);
	atomic_set(&esk->accept_queue.young, 0);
	/* Not the listener's: TCP's child starts with an empty queue struct. */
	esk->accept_queue.defer_accept = 0;
	/* Nor its Fast Open queue and keys, which the listener frees. */
	esk->accept_queue.fastopenq.qlen = 0;
	esk->accept_queue.fastopenq.max_qlen = 0;
	esk->accept_queue.fastopenq.rst_head = NULL;
	esk->accept_queue.fastopenq.rst_tail = NULL;
	RCU_INIT_POINTER(esk->accept_queue.fastopenq.ctx, NULL);
	RCU_INIT_POINTER(esk->fastopen_rsk, NULL);
	esk->fastopen_req = NULL;
	esk->syn_fastopen = 0;
	esk->syn_fastopen_exp = 0;
	esk->syn_fastopen_ch = 0;
	esk->syn_data = 0;
	esk->syn_data_acked = 0;
	esk->fastopen_client_fail = 0;
	estp_init_xmit_timers(newsk);
	/* The listener may have been connected once (review B2). */
	estp_reset_stream_state(newsk);
	esk->send_head = NULL;
	esk->out_of_order_queue = RB_ROOT;
	esk->max_window = 0;
	esk->deferred = 0;
	esk->last_oow_ack_time = 0;
	esk->rcv_tstamp = jiffies;
	/*
	 * inet_csk_clone_lock() calls security_inet_csk_clone() here, which
	 * no kernel of the matrix exports: the child keeps the listener's
	 * labels that sk_clone_lock() copied (security_sk_clone()), not the
	 * ones security_inet_conn_request() gave req.
	 */
	sock_prot_inuse_add(sock_net(newsk), newsk->sk_prot, 1);
	return newsk;
}
