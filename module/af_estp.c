// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP: Experimental Stream Transport Protocol.
 *
 * Module init and exit, the counterpart of the TCP parts of
 * net/ipv4/af_inet.c: struct proto, proto_ops, the SOCK_STREAM protosw and
 * the IP protocol handler, and the per-netns state.
 */
#define pr_fmt(fmt) "estp: " fmt

#include <linux/module.h>
#include <linux/net.h>
#include <net/inet_common.h>
#include <net/protocol.h>
#include <net/sock.h>

#include "estp.h"

int estp_ipproto = IPPROTO_ESTP;
module_param_named(ipproto, estp_ipproto, int, 0444);
MODULE_PARM_DESC(ipproto, "IP protocol number (1-254, default 253)");

unsigned int estp_net_id __read_mostly;

/* Orphaned socks of every netns, as tcp_orphan_count. */
struct percpu_counter estp_orphan_count;

/*
 * Memory accounting of every netns, as TCP's: pages charged to ESTP
 * sockets (the core batches them per cpu in the fw_alloc reserve), the
 * sockets that count, and since when the protocol is under pressure
 * (jiffies, 0: not).
 */
atomic_long_t estp_memory_allocated ____cacheline_aligned_in_smp;
DEFINE_PER_CPU(int, estp_memory_per_cpu_fw_alloc);
struct percpu_counter estp_sockets_allocated;
unsigned long estp_memory_pressure;

/* Over net.estp.mem[1] (tcp_enter_memory_pressure). */
void estp_enter_memory_pressure(struct sock *sk)
{
	unsigned long val;

	if (READ_ONCE(estp_memory_pressure))
		return;
	val = jiffies ? : 1;
	if (!cmpxchg(&estp_memory_pressure, 0, val))
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_MEMORYPRESSURES);
}

/* Back under net.estp.mem[0] (tcp_leave_memory_pressure). */
void estp_leave_memory_pressure(struct sock *sk)
{
	if (READ_ONCE(estp_memory_pressure))
		WRITE_ONCE(estp_memory_pressure, 0);
}

static struct sock *estp_accept(struct sock *sk, ESTP_ACCEPT_PARAMS)
{
	return estp_csk_accept(sk, ESTP_ACCEPT_FLAGS, ESTP_ACCEPT_ERR);
}

static int estp_proto_ioctl(struct sock *sk, int cmd, ESTP_IOCTL_PARAMS)
{
	int answ, err = estp_ioctl(sk, cmd, &answ);

	return err ? : ESTP_IOCTL_PUT(answ);
}

/*
 * proto->pre_connect (tcp_v4_pre_connect): cgroup connect4 programs see,
 * and may rewrite or refuse, the address before estp_v4_connect() does.
 * __inet_stream_connect() calls it only while such a program is attached.
 */
static int estp_v4_pre_connect(struct sock *sk, struct estp_sockaddr *uaddr,
			       int addr_len)
{
	if (addr_len < sizeof(struct sockaddr_in))
		return -EINVAL;
	sock_owned_by_me(sk);
	return estp_cgroup_inet4_connect(sk, uaddr, &addr_len);
}

struct proto estp_prot = {
	.name		= "ESTP",
	.owner		= THIS_MODULE,
	.init		= estp_init_sock,
	.destroy	= estp_destroy_sock,
	.close		= estp_close,
	.diag_destroy	= estp_abort,
	.pre_connect	= estp_v4_pre_connect,
	.connect	= estp_v4_connect,
	.disconnect	= estp_disconnect,
	.shutdown	= estp_shutdown,
	.accept		= estp_accept,
	.hash		= estp_hash,
	.unhash		= estp_unhash,
	.get_port	= estp_get_port,
	/* __inet_bind() gives the port back when cgroup post_bind4 refuses */
	.put_port	= estp_put_port,
	.backlog_rcv	= estp_v4_do_rcv,
	.release_cb	= estp_release_cb,
	.keepalive	= estp_set_keepalive,
	/* ESTP_NOTSENT_LOWAT for sk_stream_wait_memory() */
	.stream_memory_free = estp_stream_memory_free,
	.ioctl		= estp_proto_ioctl,
	.slab_flags	= SLAB_TYPESAFE_BY_RCU,
	.rsk_prot	= &estp_request_sock_ops,
	.twsk_prot	= &estp_timewait_sock_ops,
	.setsockopt	= estp_setsockopt,
	.getsockopt	= estp_getsockopt,
	.obj_size	= sizeof(struct estp_sock),
	.enter_memory_pressure	= estp_enter_memory_pressure,
	.leave_memory_pressure	= estp_leave_memory_pressure,
	.memory_allocated	= &estp_memory_allocated,
	.per_cpu_fw_alloc	= &estp_memory_per_cpu_fw_alloc,
	.sockets_allocated	= &estp_sockets_allocated,
	.memory_pressure	= &estp_memory_pressure,
	.sysctl_mem		= estp_sysctl_mem,
	/* .sysctl_rmem and .sysctl_wmem: the init netns's, set at load */
	/* IP and a header with full options, as MAX_TCP_HEADER */
	.max_header		= L1_CACHE_ALIGN(128 + MAX_HEADER),
};

/**
 * estp_listen - proto_ops->listen (inet_listen, __inet_listen_sk)
 * @sock: the socket
 * @backlog: accept queue limit, already clamped to net.core.somaxconn
 *
 * A sock already listening only takes the new backlog: its queues are never
 * flushed by a second listen().
 *
 * Return: 0, -EINVAL for a sock that is connected or not in CLOSE/LISTEN,
 * or the error of estp_csk_listen_start(), which leaves the sock in CLOSE.
 */
int estp_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	int err = -EINVAL;

	lock_sock(sk);
	if (sock->state != SS_UNCONNECTED || sock->type != SOCK_STREAM)
		goto out;
	if (!((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN)))
		goto out;
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	err = 0;
	if (sk->sk_state != TCP_LISTEN) {
		int fastopen = READ_ONCE(estp_pernet(sock_net(sk))->fastopen);

		/* Fast Open on every listener, its queue the backlog (inet_listen). */
		if ((fastopen & ESTP_TFO_SERVER_WO_SOCKOPT1) &&
		    (fastopen & ESTP_TFO_SERVER_ENABLE) &&
		    !estp_sk(sk)->accept_queue.fastopenq.max_qlen) {
			estp_fastopen_queue_tune(sk, backlog);
			estp_fastopen_init_key_once(sock_net(sk));
		}
		err = estp_csk_listen_start(sk);
	}
out:
	release_sock(sk);
	return err;
}

/*
 * SO_RCVLOWAT, as tcp_set_rcvlowat(): at most half the largest receive
 * buffer the socket may have, and unless the user fixed SO_RCVBUF the
 * buffer grows to hold the mark in payload, so that a reader can always
 * be woken; the window clamp becomes the mark (6.1), or only one set
 * and below the mark grows to it (compat.h).  Data already there may be
 * enough now.  Called with the sock locked (sock_setsockopt()).
 */
int estp_set_rcvlowat(struct sock *sk, int val)
{
	struct estp_sock *esk = estp_sk(sk);
	int cap;
	u64 space;

	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK)
		cap = READ_ONCE(sk->sk_rcvbuf) >> 1;
	else
		cap = READ_ONCE(estp_pernet(sock_net(sk))->rmem[2]) >> 1;
	val = min(val, cap);
	WRITE_ONCE(sk->sk_rcvlowat, val ? : 1);
	if (estp_epollin_ready(sk, READ_ONCE(sk->sk_rcvlowat)))
		sk->sk_data_ready(sk);
	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK)
		return 0;
	/* The buffer whose payload share is @val (tcp_space_from_win()). */
	space = div_u64((u64)val << 8, max_t(u8, esk->rcv_ratio, 1));
	if (space > READ_ONCE(sk->sk_rcvbuf)) {
		WRITE_ONCE(sk->sk_rcvbuf, min_t(u64, space, INT_MAX));
		/* The clamp follows the mark as the kernel's TCP has it. */
		if (!ESTP_RCVLOWAT_KEEPS_CLAMP ||
		    (esk->window_clamp && esk->window_clamp < val))
			WRITE_ONCE(esk->window_clamp, val);
	}
	return 0;
}

/*
 * What ESTP does not offer is sock_no_*(): a clear -EOPNOTSUPP, never a
 * NULL method of estp_prot reached through inet_*().
 */
static const struct proto_ops estp_stream_ops = {
	.family		= PF_INET,
	.owner		= THIS_MODULE,
	.release	= inet_release,
	.bind		= inet_bind,
	.connect	= inet_stream_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= inet_accept,
	.getname	= inet_getname,
	.poll		= estp_poll,
	.ioctl		= inet_ioctl,
	.listen		= estp_listen,
	.shutdown	= inet_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= estp_stream_sendmsg,
	.recvmsg	= estp_stream_recvmsg,
	.mmap		= sock_no_mmap,
	.set_rcvlowat	= estp_set_rcvlowat,
	.set_peek_off	= ESTP_SET_PEEK_OFF,
};

static struct inet_protosw estp_protosw = {
	.type		= SOCK_STREAM,
	.protocol	= IPPROTO_ESTP,		/* set from ipproto at load */
	.prot		= &estp_prot,
	.ops		= &estp_stream_ops,
};

static struct net_protocol estp_protocol = {
	.handler	= estp_v4_rcv,
	.err_handler	= estp_v4_err,
};

static int __net_init estp_net_init(struct net *net)
{
	int err = estp_mib_net_init(net);

	if (err)
		return err;
	/* Before the sysctls that show them. */
	estp_cong_net_init(net);
	err = estp_fastopen_net_init(net);
	if (err)
		goto out_cong;
	err = estp_sysctl_net_init(net);
	if (err)
		goto out_fastopen;
	err = estp_proc_net_init(net);
	if (err)
		goto out_sysctl;
	return 0;

out_sysctl:
	estp_sysctl_net_exit(net);
out_fastopen:
	estp_fastopen_net_exit(net);
out_cong:
	estp_cong_net_exit(net);
	estp_mib_net_exit(net);
	return err;
}

static void __net_exit estp_net_exit(struct net *net)
{
	/*
	 * Sockets are gone (they hold the netns), and request socks with their
	 * listeners; minisocks are not, and are freed here.
	 */
	estp_twsk_purge(net);
	estp_proc_net_exit(net);
	estp_sysctl_net_exit(net);
	estp_fastopen_net_exit(net);
	estp_cong_net_exit(net);
	estp_mib_net_exit(net);
}

static struct pernet_operations estp_net_ops = {
	.init	= estp_net_init,
	.exit	= estp_net_exit,
	.id	= &estp_net_id,
	.size	= sizeof(struct estp_net),
};

static int __init estp_init(void)
{
	int err;

	/* 0 is IPPROTO_IP and 255 IPPROTO_RAW: neither can name a transport. */
	if (estp_ipproto <= 0 || estp_ipproto >= IPPROTO_RAW) {
		pr_err("ipproto=%d is out of range (1-254)\n", estp_ipproto);
		return -EINVAL;
	}
	estp_protosw.protocol = estp_ipproto;

	err = percpu_counter_init(&estp_orphan_count, 0, GFP_KERNEL);
	if (err)
		return err;
	err = percpu_counter_init(&estp_sockets_allocated, 0, GFP_KERNEL);
	if (err)
		goto out_orphans;
	err = estp_hashinfo_init();
	if (err)
		goto out_sockets;
	estp_sysctl_global_init();
	/* Before any netns picks its default algorithm from them. */
	err = estp_cong_init();
	if (err)
		goto out_hash;
	err = proto_register(&estp_prot, 1);
	if (err)
		goto out_cong;
	err = register_pernet_subsys(&estp_net_ops);
	if (err)
		goto out_proto;
	/*
	 * The core's minimums under pressure (sk_get_rmem0()) read these: the
	 * init netns's net.estp.rmem and wmem, which live as long as the
	 * module, set before any socket can exist.
	 */
	estp_prot.sysctl_rmem = estp_pernet(&init_net)->rmem;
	estp_prot.sysctl_wmem = estp_pernet(&init_net)->wmem;
	/* The receive handler goes first: a socket must never exist without it. */
	if (inet_add_protocol(&estp_protocol, estp_ipproto) < 0) {
		pr_err("IP protocol %d is already taken; load with ipproto=<free number>\n",
		       estp_ipproto);
		err = -EBUSY;
		goto out_pernet;
	}
	inet_register_protosw(&estp_protosw);
	/* Nothing with IPv6 disabled (estp_ipv6.c). */
	err = estp_v6_init();
	if (err)
		goto out_protosw;
	/* Last: a dump or SOCK_DESTROY may come at once and walk the tables. */
	err = estp_diag_init();
	if (err) {
		pr_err("inet_diag for IP protocol %d: error %d\n", estp_ipproto, err);
		goto out_v6;
	}
	estp_fault_init();
	pr_info("registered as IP protocol %d\n", estp_ipproto);
	return 0;

out_v6:
	estp_v6_exit();
out_protosw:
	inet_unregister_protosw(&estp_protosw);
	inet_del_protocol(&estp_protocol, estp_ipproto);
	synchronize_net();
out_pernet:
	unregister_pernet_subsys(&estp_net_ops);
	estp_v6_proto_exit();
out_proto:
	proto_unregister(&estp_prot);
out_cong:
	estp_cong_exit();
out_hash:
	estp_hashinfo_destroy();
out_sockets:
	percpu_counter_destroy(&estp_sockets_allocated);
out_orphans:
	percpu_counter_destroy(&estp_orphan_count);
	return err;
}

static void __exit estp_exit(void)
{
	/*
	 * No socket exists here: each one holds a reference on the module, and
	 * each request sock one on its listener.  Time-wait minisocks hold
	 * none: with the receive handler gone, unregister_pernet_subsys()
	 * frees those of every netns (estp_twsk_purge()), timers included,
	 * before their slab and the hash tables go.
	 */
	estp_fault_exit();
	/* First: no dump or destroy may walk the tables while they go. */
	estp_diag_exit();
	estp_v6_exit();
	inet_unregister_protosw(&estp_protosw);
	inet_del_protocol(&estp_protocol, estp_ipproto);
	/* Let readers of inet_protos that still see the handler finish. */
	synchronize_net();
	unregister_pernet_subsys(&estp_net_ops);
	/* Fast Open keys go by call_rcu(): their callback is our text. */
	rcu_barrier();
	/* After the purge: IPv6 minisocks live in its slab. */
	estp_v6_proto_exit();
	proto_unregister(&estp_prot);
	estp_cong_exit();
	estp_hashinfo_destroy();
	percpu_counter_destroy(&estp_sockets_allocated);
	percpu_counter_destroy(&estp_orphan_count);
}

module_init(estp_init);
module_exit(estp_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The ESTP developers");
MODULE_DESCRIPTION("ESTP: Experimental Stream Transport Protocol");
/*
 * socket(AF_INET, SOCK_STREAM, 253) autoloads the module, as SCTP's does.
 * SOCK_STREAM is an enum in the kernel, so it cannot be stringified: 1.
 */
MODULE_ALIAS_NET_PF_PROTO_TYPE(PF_INET, IPPROTO_ESTP, 1);
MODULE_ALIAS_NET_PF_PROTO_TYPE(PF_INET6, IPPROTO_ESTP, 1);
