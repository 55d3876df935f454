// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP socket calls, the counterpart of net/ipv4/tcp.c.
 *
 * Sockets can be created, bound, listen and be closed; connect and data
 * answer -EOPNOTSUPP until the state machine lands, and ESTP's own socket
 * options -ENOPROTOOPT.
 */
#include <linux/sched/signal.h>
#include <net/ip.h>
#include <net/sock.h>

#include "estp.h"

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
 *
 * CLOSE, timers stopped, both directions shut; the owner, if any, is woken,
 * and a sock nobody owns any more is destroyed.
 */
void estp_done(struct sock *sk)
{
	estp_set_state(sk, TCP_CLOSE);
	estp_clear_xmit_timers(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
	else
		estp_csk_destroy_sock(sk);
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
	int old_state = sk->sk_state;

	if (old_state != TCP_CLOSE)
		estp_set_state(sk, TCP_CLOSE);
	if (old_state == TCP_LISTEN) {
		estp_csk_listen_stop(sk);
	} else if (old_state != TCP_CLOSE) {
		/* A synchronized connection is aborted towards the peer. */
		if (old_state != TCP_SYN_SENT)
			estp_send_active_reset(sk, gfp_any());
		WRITE_ONCE(sk->sk_err, ECONNRESET);
	}
	estp_clear_xmit_timers(sk);
	inet_sk(sk)->inet_dport = 0;
	inet_sk(sk)->inet_daddr = 0;
	if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK)) {
		inet_sk(sk)->inet_saddr = 0;
		inet_sk(sk)->inet_rcv_saddr = 0;
	}
	WRITE_ONCE(sk->sk_shutdown, 0);
	sock_reset_flag(sk, SOCK_DONE);
	return 0;
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
	__poll_t mask = 0;
	u8 shutdown;
	int state;

	sock_poll_wait(file, sock, wait);
	state = inet_sk_state_load(sk);
	if (state == TCP_LISTEN)
		return estp_accept_queue_empty(sk) ? 0 : EPOLLIN | EPOLLRDNORM;

	shutdown = READ_ONCE(sk->sk_shutdown);
	if (shutdown == SHUTDOWN_MASK || state == TCP_CLOSE)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	/* A sock still in its handshake is neither readable nor writable. */
	if (state != TCP_SYN_SENT && state != TCP_SYN_RECV) {
		if (shutdown & SEND_SHUTDOWN ||
		    sk_stream_wspace(sk) >= sk_stream_min_wspace(sk))
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	/* sk_err before the state: estp_reset() orders them so. */
	smp_rmb();
	if (READ_ONCE(sk->sk_err) || !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	return mask;
}

/**
 * estp_init_sock - proto->init for a new ESTP socket
 * @sk: the socket, fresh from sk_alloc() and sock_init_data()
 *
 * Return: 0.
 */
int estp_init_sock(struct sock *sk)
{
	estp_init_xmit_timers(sk);
	estp_sk(sk)->rto = ESTP_TIMEOUT_INIT;
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	return 0;
}

/**
 * estp_destroy_sock - proto->destroy: release what estp_init_sock() took
 * @sk: the socket being destroyed
 */
void estp_destroy_sock(struct sock *sk)
{
	estp_clear_xmit_timers(sk);
	estp_put_port(sk);
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
 * Shutting down the sending side sends our FIN.
 */
void estp_shutdown(struct sock *sk, int how)
{
	if (!(how & SEND_SHUTDOWN))
		return;
	if ((1 << sk->sk_state) &
	    (TCPF_ESTABLISHED | TCPF_SYN_SENT | TCPF_SYN_RECV | TCPF_CLOSE_WAIT)) {
		if (estp_close_state(sk))
			estp_send_fin(sk);
	}
}

/**
 * estp_close - proto->close, called by inet_release() on the last close
 *	(tcp_close)
 * @sk: the socket
 * @timeout: SO_LINGER time (unused until sockets carry data)
 *
 * A listener stops listening; SO_LINGER with a zero time aborts with a RST;
 * a connection sends its FIN and lives on as an orphan until the close
 * completes (FIN_WAIT2 and TIME_WAIT as minisocks).  A sock that is CLOSE
 * by then is destroyed here.
 */
void estp_close(struct sock *sk, long timeout)
{
	int state;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	state = sk->sk_state;
	if (state == TCP_LISTEN) {
		estp_set_state(sk, TCP_CLOSE);
		estp_csk_listen_stop(sk);
	} else if (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime) {
		/* Abort (RFC 9293 3.10.4): RST for a synchronized connection. */
		sk->sk_prot->disconnect(sk, 0);
	} else if (estp_close_state(sk)) {
		estp_send_fin(sk);
	}

	state = sk->sk_state;
	sock_hold(sk);
	sock_orphan(sk);
	release_sock(sk);

	/* From here the sock is the kernel's: the BH lock is enough. */
	local_bh_disable();
	bh_lock_sock(sk);
	/* The backlog may have closed it meanwhile; then it is destroyed. */
	if (state != TCP_CLOSE && sk->sk_state == TCP_CLOSE)
		goto out;
	if (sk->sk_state == TCP_FIN_WAIT2) {
		estp_time_wait(sk, TCP_FIN_WAIT2,
			       READ_ONCE(estp_pernet(sock_net(sk))->fin_timeout) * HZ);
		goto out;
	}
	if (sk->sk_state == TCP_CLOSE)
		estp_csk_destroy_sock(sk);
out:
	bh_unlock_sock(sk);
	local_bh_enable();
	sock_put(sk);
}

/**
 * estp_stream_recvmsg - proto_ops->recvmsg
 * @sock: the socket
 * @msg: where data would go
 * @len: its size
 * @flags: MSG_* flags
 *
 * No data is carried yet, so this is TCP's recvmsg() for an empty receive
 * queue: 0 at end of stream, the pending error, ENOTCONN, or a wait.
 *
 * Return: 0 or a negative error.
 */
int estp_stream_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			int flags)
{
	struct sock *sk = sock->sk;
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long timeo;
	int err = 0;

	if (flags & MSG_OOB)
		return -EINVAL;
	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		err = -ENOTCONN;
		goto out;
	}
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		if (sock_flag(sk, SOCK_DONE))
			break;
		if (sk->sk_err) {
			err = sock_error(sk);
			break;
		}
		if (sk->sk_shutdown & RCV_SHUTDOWN)
			break;
		if (sk->sk_state == TCP_CLOSE) {
			err = -ENOTCONN;
			break;
		}
		if (!timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(timeo);
			break;
		}
		sk_wait_event(sk, &timeo, sock_flag(sk, SOCK_DONE) || sk->sk_err ||
			      (sk->sk_shutdown & RCV_SHUTDOWN) ||
			      sk->sk_state == TCP_CLOSE, &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
out:
	release_sock(sk);
	return err;
}

/**
 * estp_setsockopt - proto->setsockopt for levels other than SOL_SOCKET/SOL_IP
 * @sk: the socket
 * @level: option level
 * @optname: option
 * @optval: user buffer
 * @optlen: its length
 *
 * Other levels go to IP, as TCP's do through its af_ops.
 *
 * Return: 0, -EINVAL for a bad value or length, -ENOPROTOOPT for an
 * option ESTP does not have (yet).
 */
int estp_setsockopt(struct sock *sk, int level, int optname,
		    sockptr_t optval, unsigned int optlen)
{
	int val;

	if (level != SOL_ESTP && level != SOL_TCP)
		return ip_setsockopt(sk, level, optname, optval, optlen);
	if (optname != ESTP_SYNCNT)
		return -ENOPROTOOPT;
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (val < 1 || val > ESTP_MAX_SYNCNT)
		return -EINVAL;
	lock_sock(sk);
	estp_sk(sk)->syn_retries = val;
	release_sock(sk);
	return 0;
}

/**
 * estp_getsockopt - proto->getsockopt for levels other than SOL_SOCKET
 * @sk: the socket
 * @level: option level
 * @optname: option
 * @optval: user buffer
 * @optlen: user length in/out
 *
 * Return: 0, or -ENOPROTOOPT for an option ESTP does not have (yet).
 */
int estp_getsockopt(struct sock *sk, int level, int optname,
		    char __user *optval, int __user *optlen)
{
	int val, len;

	if (level != SOL_ESTP && level != SOL_TCP)
		return ip_getsockopt(sk, level, optname, optval, optlen);
	if (optname != ESTP_SYNCNT)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	len = min_t(unsigned int, len, sizeof(int));
	val = estp_sk(sk)->syn_retries ? : READ_ONCE(estp_pernet(sock_net(sk))->syn_retries);
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}
