// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP socket calls, the counterpart of net/ipv4/tcp.c.
 *
 * The foundation only creates and destroys sockets; the calls that need the
 * state machine (bind, listen, connect, data) answer -EOPNOTSUPP until the
 * lifecycle lands, and the options answer -ENOPROTOOPT.
 */
#include <net/ip.h>
#include <net/sock.h>

#include "estp.h"

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
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

/**
 * estp_hash - proto->hash: nothing is hashed until the lifecycle lands
 * @sk: the socket
 *
 * Return: 0.
 */
int estp_hash(struct sock *sk)
{
	return 0;
}

/**
 * estp_unhash - proto->unhash, the counterpart of estp_hash()
 * @sk: the socket
 */
void estp_unhash(struct sock *sk)
{
}

/**
 * estp_close - proto->close, called by inet_release() on the last close
 * @sk: the socket
 * @timeout: linger time (unused until sockets carry data)
 *
 * sk_common_release() destroys the socket, orphans it and drops the
 * reference that the struct socket held.
 */
void estp_close(struct sock *sk, long timeout)
{
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
