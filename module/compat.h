/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels of the matrix (kernels.conf) lives
 * here, so that the rest of the module reads as one kernel's code.  Prefer a
 * feature test over a version test where a distribution may backport.
 */
#ifndef _ESTP_COMPAT_H
#define _ESTP_COMPAT_H

#include <linux/bpf-cgroup.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/inet_common.h>
#include <net/ip6_fib.h>

/*
 * TCP's check of signature options on a sock with no key
 * (tcp_inbound_hash(), estp_inbound_auth_drop()): from 6.7, where the
 * kernel has TCP-MD5 or TCP-AO, options malformed while a signature could
 * still follow drop the segment, and TCP-AO's option is known; before,
 * only a well-formed MD5 option does.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define ESTP_AUTH_STRICT	(IS_ENABLED(CONFIG_TCP_MD5SIG) || IS_ENABLED(CONFIG_TCP_AO))
#else
#define ESTP_AUTH_STRICT	0
#endif

/* 6.12 moved <asm/unaligned.h> to <linux/unaligned.h>. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * proto->accept: 6.10 folded flags, err and kern into struct
 * proto_accept_arg.  A method is declared as
 *	static struct sock *f(struct sock *sk, ESTP_ACCEPT_PARAMS)
 * and reads ESTP_ACCEPT_FLAGS and ESTP_ACCEPT_ERR.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define ESTP_ACCEPT_PARAMS	struct proto_accept_arg *arg
#define ESTP_ACCEPT_FLAGS	(arg->flags)
#define ESTP_ACCEPT_ERR		(&arg->err)
#else
#define ESTP_ACCEPT_PARAMS	int flags, int *err, bool kern
#define ESTP_ACCEPT_FLAGS	(flags)
#define ESTP_ACCEPT_ERR		(err)
#endif

/*
 * SO_PEEK_OFF: TCP takes it since 6.9 (inet_stream_ops.set_peek_off);
 * before, the core refuses it for TCP with EOPNOTSUPP, and so for ESTP.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#define ESTP_SET_PEEK_OFF	sk_set_peek_off
#else
#define ESTP_SET_PEEK_OFF	NULL
#endif

/*
 * SO_RCVLOWAT and the window clamp: "tcp: take care of zero
 * tp->window_clamp in tcp_set_rcvlowat()" (6.18, and 6.12's stable
 * updates) raises only a clamp that is set and below the mark; 6.1's TCP
 * sets the clamp to the mark whenever the buffer grows.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define ESTP_RCVLOWAT_KEEPS_CLAMP	1
#else
#define ESTP_RCVLOWAT_KEEPS_CLAMP	0
#endif

/*
 * TCP_WINDOW_CLAMP: 6.15 ("tcp: tcp_set_window_clamp() cleanup") compares
 * a value with SOCK_MIN_RCVBUF / 2 as an int, so that a negative one is
 * raised to it; before, unsigned, so that it is a huge clamp.  A higher
 * clamp's rcv_ssthresh changed with it (estp_set_window_clamp()).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define ESTP_WINDOW_CLAMP_SIGNED	1
#else
#define ESTP_WINDOW_CLAMP_SIGNED	0
#endif

/*
 * ESTP_FASTOPEN_CONNECT's deferred SYN: 6.6 moved inet->defer_connect
 * into inet->inet_flags (DEFER_CONNECT).  __inet_stream_connect() reads
 * it, so ESTP sets TCP's own flag.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
static inline bool estp_defer_connect(const struct sock *sk)
{
	return inet_test_bit(DEFER_CONNECT, sk);
}

static inline void estp_set_defer_connect(struct sock *sk, bool on)
{
	inet_assign_bit(DEFER_CONNECT, sk, on);
}
#else
static inline bool estp_defer_connect(const struct sock *sk)
{
	return inet_sk(sk)->defer_connect;
}

static inline void estp_set_defer_connect(struct sock *sk, bool on)
{
	inet_sk(sk)->defer_connect = on;
}
#endif

/*
 * kmalloc_obj() and kzalloc_obj() size an allocation by its type (7.0;
 * Debian's 6.12 has them from its stable updates); the rest of the
 * matrix gets them with the same meaning.
 */
#ifndef kmalloc_obj
#define kmalloc_obj(VAR_OR_TYPE, GFP)	kmalloc(sizeof(VAR_OR_TYPE), GFP)
#endif
#ifndef kzalloc_obj
#define kzalloc_obj(VAR_OR_TYPE, GFP)	kzalloc(sizeof(VAR_OR_TYPE), GFP)
#endif

/* 6.19 gave proto->connect a struct sockaddr_unsized. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define estp_sockaddr		sockaddr_unsized
#else
#define estp_sockaddr		sockaddr
#endif

/*
 * The error queue (MSG_ERRQUEUE) as TCP reads it: 6.19 dropped the
 * addr_len argument of the recvmsg handlers, and the name's length is
 * set in msg_namelen instead.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define estp_recv_error(sk, msg, len)	inet_recv_error(sk, msg, len)
#else
static inline int estp_recv_error(struct sock *sk, struct msghdr *msg, int len)
{
	int addr_len = 0;
	int err = inet_recv_error(sk, msg, len, &addr_len);

	if (err >= 0)
		msg->msg_namelen = addr_len;
	return err;
}
#endif

/*
 * 6.7 gave the cgroup sock_addr programs the address's length, which they
 * may change; before, they took none.  Runs cgroup connect4 programs.
 */
static inline int estp_cgroup_inet4_connect(struct sock *sk,
					    struct estp_sockaddr *uaddr,
					    int *addr_len)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	return BPF_CGROUP_RUN_PROG_INET4_CONNECT(sk, uaddr, addr_len);
#else
	return BPF_CGROUP_RUN_PROG_INET4_CONNECT(sk, uaddr);
#endif
}

/*
 * 6.5 added the table size to register_net_sysctl(), a macro since; 6.13
 * made the table const.  The table is the caller's own copy either way.
 */
static inline struct ctl_table_header *
estp_register_net_sysctl(struct net *net, const char *path,
			 const struct ctl_table *table, size_t n)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	return register_net_sysctl_sz(net, path, table, n);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return register_net_sysctl_sz(net, path, (void *)table, n);
#else
	return register_net_sysctl(net, path, (void *)table);
#endif
}

/*
 * 6.11 made the table of a proc_handler const.  Before, it must not be: the
 * name goes on a line of its own so that checkpatch does not ask for const.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define ESTP_CTL_TABLE		const struct ctl_table
#else
#define ESTP_CTL_TABLE		struct \
				ctl_table
#endif

/*
 * 6.5 made the first tcp_syn_linear_timeouts (4) SYN timeouts of a connect
 * linear, and added as many retries; before, every one doubled.
 */
static inline int estp_tcp_syn_linear_timeouts(const struct net *net)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return READ_ONCE(net->ipv4.sysctl_tcp_syn_linear_timeouts);
#else
	return 0;
#endif
}

/*
 * 6.14 stopped answering a PAWS-rejected pure ACK below rcv_nxt (counted
 * in PAWSOldAck, not PAWSEstabRejected); 6.1 and 6.12 send a dupACK.
 */
#define ESTP_PAWS_OLD_ACK_SILENT \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0))

/* 6.6 turned inet_sock's flags into bits (inet_test_bit()). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define estp_recverr(sk)	inet_test_bit(RECVERR, sk)
#else
#define estp_recverr(sk)	(inet_sk(sk)->recverr)
#endif

/*
 * proto->ioctl: 6.5 gave it the answer in kernel memory (int *karg), which
 * sk_ioctl() copies out; before, the method wrote to the user's arg.  A
 * method is declared as f(struct sock *sk, int cmd, ESTP_IOCTL_PARAMS) and
 * hands its answer over with ESTP_IOCTL_PUT(answ), which evaluates to 0 or
 * -EFAULT.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define ESTP_IOCTL_PARAMS	int *karg
#define ESTP_IOCTL_PUT(answ)	(*karg = (answ), 0)
#else
#define ESTP_IOCTL_PARAMS	unsigned long arg
#define ESTP_IOCTL_PUT(answ)	put_user(answ, (int __user *)arg)
#endif

/*
 * 6.10 moved sk_memory_allocated() and the memory-pressure helpers from
 * <net/sock.h> to <net/proto_memory.h>.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#include <net/proto_memory.h>
#endif

/* 6.11 moved skb_frag_unref() to <linux/skbuff_ref.h>. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#include <linux/skbuff_ref.h>
#endif

/*
 * Whether @sk's memory is charged to a memory cgroup as well as to the
 * protocol: 6.12 named the test mem_cgroup_sk_enabled().
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define estp_sk_memcg_charged(sk)	mem_cgroup_sk_enabled(sk)
#elif defined(CONFIG_MEMCG)
#define estp_sk_memcg_charged(sk)	(mem_cgroup_sockets_enabled && (sk)->sk_memcg)
#else
#define estp_sk_memcg_charged(sk)	((void)(sk), false)
#endif

/*
 * Whether a child of a listener with flow-label reflection (IPV6_FL_F_REFLECT,
 * net.ipv6.flowlabel_reflect & 1) sends the final ACK's label: TCP's does
 * on 6.1 and 6.12; 7.3's sends its own automatic label, only its SYN-ACK
 * reflecting (estp_ipv6_test flowlabel_tclass_on_wire).  The cut is taken
 * at 7.0, the first release past the matrix's 6.12 seen.
 */
#define ESTP_CHILD_REFLECTS_FLOWLABEL \
	(LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0))

/*
 * Since AccECN's negotiation (6.18), a SYN-ACK resent after the request's
 * first timeout no longer carries classic ECN's ECE (tcp_ecn_make_synack()).
 */
#define ESTP_SYNACK_ECE_FIRST_TIMEOUT_ONLY \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0))

/*
 * Whether TCP's RSTs carry the answering sock's SO_PRIORITY: until 6.14,
 * whose ip_send_unicast_reply() takes the priority from an ipcm_cookie it
 * leaves at 0 ("net: support SO_PRIORITY cmsg"); the mark it still sets.
 */
#define ESTP_RST_SK_PRIORITY	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 14, 0))

/*
 * inet_diag: 6.8 gave struct inet_diag_handler the module that holds it
 * (each request holds it while the handler runs); before, a mutex kept
 * inet_diag_unregister() waiting for them.  6.18 made inet_diag_bc_sk()
 * take the dump's data rather than its bytecode attribute.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define ESTP_DIAG_OWNER		.owner = THIS_MODULE,
#else
#define ESTP_DIAG_OWNER
#endif

/* 6.8 dumps socks only bound on request (TCP_BOUND_INACTIVE). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define ESTP_DIAG_BOUND_INACTIVE	1
#define ESTP_TCPF_BOUND_INACTIVE	TCPF_BOUND_INACTIVE
#else
#define ESTP_DIAG_BOUND_INACTIVE	0
#define ESTP_TCPF_BOUND_INACTIVE	0
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
#define estp_inet_diag_bc_sk(cb_data, sk)	inet_diag_bc_sk(cb_data, sk)
#else
#define estp_inet_diag_bc_sk(cb_data, sk) \
	inet_diag_bc_sk(((const struct inet_diag_dump_data *)(cb_data))->inet_diag_nla_bc, sk)
#endif

/*
 * struct tcp_info grew: 6.2 added tcpi_rcv_wnd and tcpi_rehash, 6.7 the
 * tcpi_total_rto* fields, 6.18 AccECN's counters and tcpi_ecn_mode.
 * estp_get_info() fills what the kernel built against has, so that
 * TCP_INFO's size is the running kernel's TCP's.
 */
#define ESTP_TCPI_RCV_WND	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0))
#define ESTP_TCPI_TOTAL_RTO	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0))
#define ESTP_TCPI_ECN_MODE	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0))

/*
 * IPv6 (estp_ipv6.c).  6.6 turned ipv6_pinfo's flags into bits of
 * inet_sock (inet6_test_bit()): IPV6_FLOWINFO_SEND, flow label
 * reflection and IPV6_RECVERR.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define estp_inet6_sndflow(sk)	inet6_test_bit(SNDFLOW, sk)
#define estp_inet6_repflow(sk)	inet6_test_bit(REPFLOW, sk)
#define estp_inet6_recverr(sk)	inet6_test_bit(RECVERR6, sk)
#define estp_inet6_fl_list(sk)	(inet_sk(sk)->ipv6_fl_list)
#else
#define estp_inet6_fl_list(sk)	(inet6_sk(sk)->ipv6_fl_list)
#define estp_inet6_sndflow(sk)	(inet6_sk(sk)->sndflow)
#define estp_inet6_repflow(sk)	(inet6_sk(sk)->repflow)
#define estp_inet6_recverr(sk)	(inet6_sk(sk)->recverr)
#endif

/*
 * 6.5 (or so) let struct proto name where its sock's ipv6_pinfo is
 * (ipv6_pinfo_offset); before, inet6_sk_generic() took it as the last
 * member of the object.  estp6_sock keeps it last for both.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define ESTP_IPV6_PINFO_OFFSET(type, member) \
	.ipv6_pinfo_offset = offsetof(type, member),
#else
#define ESTP_IPV6_PINFO_OFFSET(type, member)
#endif

/*
 * ip6_dst_store() without its route-cache hints, whose types went from
 * addresses to bools (saddr in 6.12's stable updates, daddr in 6.18): a
 * connected sock passes none, and nothing sets them on an ESTP sock, so
 * they stay as the sock began, none.  The rest is ip6_dst_store()'s.
 */
static inline void estp_ip6_dst_store(struct sock *sk, struct dst_entry *dst)
{
	inet6_sk(sk)->dst_cookie = rt6_get_cookie(container_of(dst, struct rt6_info, dst));
	sk_setup_caps(sk, dst);
}

/*
 * Before 6.2 a transport freed the IPv6 state of a sock in its
 * proto->destroy (inet6_destroy_sock()); since, sk_destruct does
 * (inet6_sock_destruct()).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define estp_inet6_destroy_sock(sk)	((void)(sk))
#else
#define estp_inet6_destroy_sock(sk)	inet6_destroy_sock(sk)
#endif

#endif /* _ESTP_COMPAT_H */
