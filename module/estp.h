/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ESTP internal API, the counterpart of include/net/tcp.h.
 */
#ifndef _ESTP_H
#define _ESTP_H

#include <linux/percpu.h>
#include <net/inet_sock.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <uapi/linux/estp.h>

#include "compat.h"

/* Header without options, as TCP's. */
struct estphdr {
	__be16	source;
	__be16	dest;
	__be32	seq;
	__be32	ack_seq;
#if defined(__LITTLE_ENDIAN_BITFIELD)
	__u16	res1:4,
		doff:4,
		fin:1,
		syn:1,
		rst:1,
		psh:1,
		ack:1,
		urg:1,
		ece:1,
		cwr:1;
#elif defined(__BIG_ENDIAN_BITFIELD)
	__u16	doff:4,
		res1:4,
		cwr:1,
		ece:1,
		urg:1,
		ack:1,
		psh:1,
		rst:1,
		syn:1,
		fin:1;
#else
#error "Adjust your <asm/byteorder.h> defines"
#endif
	__be16	window;
	__sum16	check;
	__be16	urg_ptr;
};

/*
 * struct estp_sock mirrors sock -> inet_sock -> inet_connection_sock ->
 * tcp_sock: the inet part first (the core casts to it), then the connection
 * part, then the stream part.  The later parts grow with the state machine.
 */
struct estp_sock {
	struct inet_sock	inet;
};

static inline struct estp_sock *estp_sk(const struct sock *sk)
{
	return (struct estp_sock *)sk;
}

/* MIB counters, per netns; names as printed in /proc/net/estp_stat. */
enum estp_mib_field {
	ESTP_MIB_INSEGS,	/* segments handed to estp_v4_rcv */
	ESTP_MIB_INHDRERRORS,	/* too short for a header */
	ESTP_MIB_INUNHANDLED,	/* well formed but nothing handles it yet */
	__ESTP_MIB_MAX
};

struct estp_mib {
	unsigned long	mibs[__ESTP_MIB_MAX];
};

/* Per-netns state of the module (net_generic). */
struct estp_net {
	struct estp_mib __percpu	*mib;
};

extern unsigned int estp_net_id;
extern struct proto estp_prot;
extern int estp_ipproto;

static inline struct estp_net *estp_pernet(const struct net *net)
{
	return net_generic(net, estp_net_id);
}

#define ESTP_INC_STATS(net, field) \
	this_cpu_inc(estp_pernet(net)->mib->mibs[field])

/* estp_core.c (tcp.c: estp.o is the module itself) */
int estp_init_sock(struct sock *sk);
void estp_destroy_sock(struct sock *sk);
int estp_hash(struct sock *sk);
void estp_unhash(struct sock *sk);
void estp_close(struct sock *sk, long timeout);
int estp_setsockopt(struct sock *sk, int level, int optname,
		    sockptr_t optval, unsigned int optlen);
int estp_getsockopt(struct sock *sk, int level, int optname,
		    char __user *optval, int __user *optlen);

/* estp_ipv4.c */
int estp_v4_rcv(struct sk_buff *skb);
int estp_v4_err(struct sk_buff *skb, u32 info);

/* estp_mib.c */
int estp_mib_net_init(struct net *net);
void estp_mib_net_exit(struct net *net);

#endif /* _ESTP_H */
