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
	if (old_state == TCP_LISTEN)
		estp_csk_listen_stop(sk);
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
	int state;

	sock_poll_wait(file, sock, wait);
	state = inet_sk_state_load(sk);
	if (state == TCP_LISTEN)
		return estp_accept_queue_empty(sk) ? 0 : EPOLLIN | EPOLLRDNORM;
	/* An unconnected stream socket polls writable and hung up. */
	if (state == TCP_CLOSE)
		mask |= EPOLLOUT | EPOLLHUP;
	if (READ_ONCE(sk->sk_err))
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
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	return 0;
}

/**
 * estp_destroy_sock - proto->destroy: release what estp_init_sock() took
 * @sk: the socket being destroyed
 */
void estp_destroy_sock(struct sock *sk)
{
	estp_put_port(sk);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

/**
 * estp_close - proto->close, called by inet_release() on the last close
 * @sk: the socket
 * @timeout: linger time (unused until sockets carry data)
 *
 * A listener stops listening; then sk_common_release() destroys the socket,
 * orphans it and drops the reference that the struct socket held.
 */
void estp_close(struct sock *sk, long timeout)
{
	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (sk->sk_state == TCP_LISTEN) {
		estp_set_state(sk, TCP_CLOSE);
		estp_csk_listen_stop(sk);
	}
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
 * Return: -ENOPROTOOPT for ESTP's own levels: no ESTP option exists yet.
 */
int estp_setsockopt(struct sock *sk, int level, int optname,
		    sockptr_t optval, unsigned int optlen)
{
	if (level != SOL_ESTP && level != SOL_TCP)
		return ip_setsockopt(sk, level, optname, optval, optlen);
	return -ENOPROTOOPT;
}

/**
 * estp_getsockopt - proto->getsockopt for levels other than SOL_SOCKET
 * @sk: the socket
 * @level: option level
 * @optname: option
 * @optval: user buffer
 * @optlen: user length in/out
 *
 * Return: -ENOPROTOOPT for ESTP's own levels: no ESTP option exists yet.
 */
int estp_getsockopt(struct sock *sk, int level, int optname,
		    char __user *optval, int __user *optlen)
{
	if (level != SOL_ESTP && level != SOL_TCP)
		return ip_getsockopt(sk, level, optname, optval, optlen);
	return -ENOPROTOOPT;
}
