// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP connection sockets, the counterpart of
 * net/ipv4/inet_connection_sock.c: listen start and stop, the accept queue
 * and accept().
 */
#include <linux/sched/signal.h>
#include <net/xfrm.h>
#include <linux/wait.h>
#include <net/sock.h>

#include "estp.h"

/**
 * estp_reqsk_queue_alloc - an empty accept queue (reqsk_queue_alloc)
 * @queue: the listener's queue
 */
void estp_reqsk_queue_alloc(struct estp_accept_queue *queue)
{
	spin_lock_init(&queue->lock);
	queue->head = NULL;
	queue->tail = NULL;
	atomic_set(&queue->qlen, 0);
	atomic_set(&queue->young, 0);
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

/**
 * estp_csk_listen_stop - a listener closes (inet_csk_listen_stop)
 * @sk: the socket, locked, already in CLOSE and unhashed
 *
 * Children waiting in the accept queue will be reset here once the
 * handshake creates them; until then the queue is always empty.
 */
void estp_csk_listen_stop(struct sock *sk)
{
	WARN_ON_ONCE(!estp_accept_queue_empty(sk));
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
 * Return: the child, or NULL with the error set for the caller.  Until the
 * handshake creates children, always NULL.
 */
struct sock *estp_csk_accept(struct sock *sk, int flags, int *err)
{
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
	/* Only the handshake queues children, and it is not there yet. */
	error = -EAGAIN;
out:
	release_sock(sk);
	*err = error;
	return NULL;
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
	sock_put(sk);
}
