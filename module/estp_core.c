// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP socket calls, the counterpart of net/ipv4/tcp.c.
 *
 * Sockets can be created, bound, listen and be closed; connect and data
 * answer -EOPNOTSUPP until the state machine lands, and ESTP's own socket
 * options -ENOPROTOOPT.
 */
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

/**
 * estp_close - proto->close, called by inet_release() on the last close
 * @sk: the socket
 * @timeout: linger time (unused until sockets carry data)
 *
 * A listener stops listening and a connecting sock gives up.  Until FIN
 * processing lands, a connected sock is aborted with a RST (as TCP does for
 * SO_LINGER with a zero timeout).  Then sk_common_release() destroys the
 * socket, orphans it and drops the reference that the struct socket held.
 */
void estp_close(struct sock *sk, long timeout)
{
	int old_state;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	old_state = sk->sk_state;
	if (old_state != TCP_CLOSE) {
		if (old_state != TCP_LISTEN && old_state != TCP_SYN_SENT)
			estp_send_active_reset(sk, sk->sk_allocation);
		estp_set_state(sk, TCP_CLOSE);
	}
	if (old_state == TCP_LISTEN)
		estp_csk_listen_stop(sk);
	estp_clear_xmit_timers(sk);
	release_sock(sk);
	sk_common_release(sk);
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
	val = estp_sk(sk)->syn_retries ? : ESTP_SYN_RETRIES;
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}
