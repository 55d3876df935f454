// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag for ESTP, the counterpart of net/ipv4/tcp_diag.c: an inet_diag
 * handler for ESTP's protocol number, so that ss-style tools list ESTP's
 * listeners, connections, request socks and time-wait minisocks in the
 * format they read for TCP, and SOCK_DESTROY ends one through estp_abort().
 *
 * inet_diag_dump_icsk() and inet_diag_find_one_icsk() walk TCP's
 * inet_hashinfo and read inet_connection_sock, neither of which ESTP has
 * (and 6.18 no longer exports them): the walk over ESTP's own tables and
 * the message of a full sock are here; the kernel's helpers fill the parts
 * that read only struct sock (inet_diag_msg_common_fill(),
 * inet_diag_msg_attrs_fill()) and run the bytecode filter.
 *
 * References: a dump takes one on each sock it reports, under the bucket's
 * lock, a batch of at most ESTP_DIAG_BATCH at a time, and fills their
 * messages after dropping the lock, since a message may not fit and the
 * walk then resumes at the same place in the next call (cb->args: phase,
 * bucket, position within the bucket).  A lookup by 4-tuple or cookie
 * (dump_one, destroy) holds one until it is done.
 */
#include <linux/inet_diag.h>
#include <linux/module.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "estp.h"

#define ESTP_DIAG_BATCH	16	/* socks held at a time (SKARR_SZ) */
/* INET_DIAG_INFO: the kernel's struct tcp_info, as TCP_INFO (estp_get_info()) */
#define ESTP_DIAG_INFO_SIZE	sizeof(struct tcp_info)

/* Where a dump stands, across calls (cb->args) */
enum {
	ESTP_DIAG_PHASE,	/* ESTP_DIAG_LISTEN ... ESTP_DIAG_DONE */
	ESTP_DIAG_BUCKET,
	ESTP_DIAG_NUM,		/* socks of this netns already passed in it */
};

/* The tables a dump walks, in order */
enum {
	ESTP_DIAG_LISTEN,	/* listen hash */
	ESTP_DIAG_BOUND,	/* bind hash: socks bound, not listening */
	ESTP_DIAG_EHASH,	/* established hash */
	ESTP_DIAG_DONE,
};

/* rqueue and wqueue, as tcp_diag_get_info(); the tcp_info when asked. */
static void estp_diag_get_info(struct sock *sk, struct inet_diag_msg *r, void *info)
{
	const struct estp_sock *esk = estp_sk(sk);

	if (inet_sk_state_load(sk) == TCP_LISTEN) {
		r->idiag_rqueue = READ_ONCE(sk->sk_ack_backlog);
		r->idiag_wqueue = READ_ONCE(sk->sk_max_ack_backlog);
	} else {
		r->idiag_rqueue = max_t(int, READ_ONCE(esk->rcv_nxt) -
					     READ_ONCE(esk->copied_seq), 0);
		/* TCP's write_seq counts a FIN once queued; ESTP's does not. */
		r->idiag_wqueue = READ_ONCE(esk->write_seq) + esk->fin_queued -
				  READ_ONCE(esk->snd_una);
	}
	if (info)
		estp_get_info(sk, info);
}

/*
 * The timer columns, as inet_sk_diag_fill(): 1 the retransmit timer (its
 * count), 4 the same timer probing a closed window (probes), 2 keepalive.
 */
static void estp_diag_timer(const struct sock *sk, struct inet_diag_msg *r)
{
	const struct estp_sock *esk = estp_sk(sk);
	const struct timer_list *t = &esk->retransmit_timer;

	if (timer_pending(t)) {
		bool probe = READ_ONCE(esk->snd_una) == READ_ONCE(esk->snd_nxt) &&
			     READ_ONCE(esk->send_head);

		r->idiag_timer = probe ? 4 : 1;
		r->idiag_retrans = probe ? READ_ONCE(esk->probes_out) :
					   READ_ONCE(esk->retransmits);
		r->idiag_expires = jiffies_delta_to_msecs(READ_ONCE(t->expires) - jiffies);
	} else if (timer_pending(&sk->sk_timer)) {
		r->idiag_timer = 2;
		r->idiag_retrans = READ_ONCE(esk->probes_out);
		r->idiag_expires =
			jiffies_delta_to_msecs(READ_ONCE(sk->sk_timer.expires) - jiffies);
	}
}

/* A message's header, answering the request's sequence number. */
static struct nlmsghdr *estp_diag_put(struct sk_buff *skb, struct netlink_callback *cb,
				      u16 nlmsg_flags)
{
	return nlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			 cb->nlh->nlmsg_type, sizeof(struct inet_diag_msg), nlmsg_flags);
}

/* A full sock's message (inet_sk_diag_fill() for an inet_connection_sock). */
static int estp_diag_fill_sk(struct sock *sk, struct sk_buff *skb,
			     struct netlink_callback *cb,
			     const struct inet_diag_req_v2 *req,
			     u16 nlmsg_flags, bool net_admin)
{
	int ext = req->idiag_ext;

	/* Only bound (TCP_BOUND_INACTIVE): no timer, info or algorithm, as TCP's. */
	if (inet_sk_state_load(sk) == TCP_CLOSE)
		ext &= ~((1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_CONG - 1)));
	struct inet_diag_msg *r;
	struct nlmsghdr *nlh;
	void *info = NULL;

	nlh = estp_diag_put(skb, cb, nlmsg_flags);
	if (!nlh)
		return -EMSGSIZE;
	r = nlmsg_data(nlh);
	inet_diag_msg_common_fill(r, sk);
	r->idiag_state = inet_sk_state_load(sk);
	r->idiag_timer = 0;
	r->idiag_retrans = 0;
	r->idiag_expires = 0;
	/* SHUTDOWN, TOS, MARK, CLASS_ID, CGROUP_ID, SOCKOPT, uid and inode */
	if (inet_diag_msg_attrs_fill(sk, skb, r, ext,
				     sk_user_ns(NETLINK_CB(cb->skb).sk), net_admin))
		goto errout;

	if (ext & (1 << (INET_DIAG_MEMINFO - 1))) {
		struct inet_diag_meminfo minfo = {
			.idiag_rmem = sk_rmem_alloc_get(sk),
			.idiag_wmem = READ_ONCE(sk->sk_wmem_queued),
			.idiag_fmem = READ_ONCE(sk->sk_forward_alloc),
			.idiag_tmem = sk_wmem_alloc_get(sk),
		};

		if (nla_put(skb, INET_DIAG_MEMINFO, sizeof(minfo), &minfo) < 0)
			goto errout;
	}
	if ((ext & (1 << (INET_DIAG_SKMEMINFO - 1))) &&
	    sock_diag_put_meminfo(sk, skb, INET_DIAG_SKMEMINFO))
		goto errout;

	estp_diag_timer(sk, r);

	if (ext & (1 << (INET_DIAG_INFO - 1))) {
		struct nlattr *attr = nla_reserve_64bit(skb, INET_DIAG_INFO,
							ESTP_DIAG_INFO_SIZE,
							INET_DIAG_PAD);

		if (!attr)
			goto errout;
		info = nla_data(attr);
	}
	if (ext & (1 << (INET_DIAG_CONG - 1))) {
		const struct estp_congestion_ops *ca;
		int err = 0;

		/* The sock holds its algorithm's module while it uses it. */
		rcu_read_lock();
		ca = READ_ONCE(estp_sk(sk)->ca_ops);
		if (ca)
			err = nla_put_string(skb, INET_DIAG_CONG, ca->name);
		rcu_read_unlock();
		if (err < 0)
			goto errout;
	}
	estp_diag_get_info(sk, r, info);
	nlmsg_end(skb, nlh);
	return 0;

errout:
	nlmsg_cancel(skb, nlh);
	return -EMSGSIZE;
}

/*
 * The message of a request sock or a time-wait minisock: the 4-tuple,
 * cookie, state and timer; no owner, queues or attributes but the mark.
 */
static int estp_diag_fill_mini(struct sock *sk, struct sk_buff *skb,
			       struct netlink_callback *cb, u16 nlmsg_flags,
			       bool net_admin, const struct inet_diag_msg *m, u32 mark)
{
	struct inet_diag_msg *r;
	struct nlmsghdr *nlh;

	nlh = estp_diag_put(skb, cb, nlmsg_flags);
	if (!nlh)
		return -EMSGSIZE;
	r = nlmsg_data(nlh);
	*r = *m;
	inet_diag_msg_common_fill(r, sk);
	if (net_admin && nla_put_u32(skb, INET_DIAG_MARK, mark)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}

/* A time-wait minisock's message (inet_twsk_diag_fill()). */
static int estp_diag_fill_tw(struct sock *sk, struct sk_buff *skb,
			     struct netlink_callback *cb, u16 nlmsg_flags,
			     bool net_admin)
{
	struct inet_timewait_sock *tw = inet_twsk(sk);
	struct inet_diag_msg m = {
		.idiag_state = READ_ONCE(tw->tw_substate),
		.idiag_timer = 3,
		.idiag_expires =
			jiffies_delta_to_msecs(READ_ONCE(tw->tw_timer.expires) - jiffies),
	};

	return estp_diag_fill_mini(sk, skb, cb, nlmsg_flags, net_admin, &m, tw->tw_mark);
}

/* A request sock's message (inet_req_diag_fill()): SYN_RECV to the user. */
static int estp_diag_fill_req(struct sock *sk, struct sk_buff *skb,
			      struct netlink_callback *cb, u16 nlmsg_flags,
			      bool net_admin)
{
	struct request_sock *req = inet_reqsk(sk);
	struct inet_diag_msg m = {
		.idiag_state = TCP_SYN_RECV,
		.idiag_timer = 1,
		.idiag_retrans = READ_ONCE(req->num_retrans),
		.idiag_expires =
			jiffies_delta_to_msecs(READ_ONCE(req->rsk_timer.expires) - jiffies),
	};

	/* The cookie is read where a full sock keeps it. */
	BUILD_BUG_ON(offsetof(struct inet_request_sock, ir_cookie) !=
		     offsetof(struct sock, sk_cookie));
	return estp_diag_fill_mini(sk, skb, cb, nlmsg_flags, net_admin, &m,
				   inet_rsk(req)->ir_mark);
}

static int estp_diag_fill(struct sock *sk, struct sk_buff *skb,
			  struct netlink_callback *cb,
			  const struct inet_diag_req_v2 *req,
			  u16 nlmsg_flags, bool net_admin)
{
	if (sk->sk_state == TCP_TIME_WAIT)
		return estp_diag_fill_tw(sk, skb, cb, nlmsg_flags, net_admin);
	if (sk->sk_state == TCP_NEW_SYN_RECV)
		return estp_diag_fill_req(sk, skb, cb, nlmsg_flags, net_admin);
	return estp_diag_fill_sk(sk, skb, cb, req, nlmsg_flags, net_admin);
}

/* The most a full sock's message takes (inet_sk_attr_size()). */
static size_t estp_diag_msg_size(void)
{
	return nla_total_size(sizeof(struct tcp_info)) +
	       nla_total_size(sizeof(struct inet_diag_msg)) +
	       inet_diag_msg_attrs_size() +
	       nla_total_size(sizeof(struct inet_diag_meminfo)) +
	       nla_total_size(SK_MEMINFO_VARS * sizeof(u32)) +
	       nla_total_size(ESTP_CA_NAME_MAX) + 64;
}

/* The state a dump's mask is tested with: a minisock's substate. */
static int estp_diag_state(const struct sock *sk)
{
	return sk->sk_state == TCP_TIME_WAIT ?
	       READ_ONCE(inet_twsk(sk)->tw_substate) : sk->sk_state;
}

/*
 * Whether a dump reports sk: family, state, ports and the bytecode filter,
 * as inet_diag_dump_icsk() tests them.  Under the bucket's lock.
 */
static bool estp_diag_wanted(struct sock *sk, struct netlink_callback *cb,
			     const struct inet_diag_req_v2 *r, u32 states)
{
	if (!(states & (1 << estp_diag_state(sk))))
		return false;
	if (r->sdiag_family != AF_UNSPEC && sk->sk_family != r->sdiag_family)
		return false;
	if (r->id.idiag_sport && r->id.idiag_sport != htons(sk->sk_num))
		return false;
	if (r->id.idiag_dport && r->id.idiag_dport != sk->sk_dport)
		return false;
	return estp_inet_diag_bc_sk(cb->data, sk);
}

/* A batch of socks taken under a bucket's lock, with their positions. */
struct estp_diag_batch {
	struct sock *sk[ESTP_DIAG_BATCH];
	int num[ESTP_DIAG_BATCH];	/* socks of the netns up to and with it */
	int n;
};

/* Adds sk to the batch if it is not going away: true once the batch is full. */
static bool estp_diag_take(struct estp_diag_batch *batch, struct sock *sk, int num)
{
	/* The chain holds one; it is about to go if zero. */
	if (!refcount_inc_not_zero(&sk->sk_refcnt))
		return false;
	batch->sk[batch->n] = sk;
	batch->num[batch->n] = num;
	return ++batch->n == ESTP_DIAG_BATCH;
}

/* An established- or listen-hash bucket's socks from position s_num on. */
static void estp_diag_collect_nulls(struct estp_nulls_bucket *head, struct net *net,
				    struct netlink_callback *cb,
				    const struct inet_diag_req_v2 *r, u32 states,
				    int s_num, struct estp_diag_batch *batch)
{
	struct hlist_nulls_node *node;
	struct sock *sk;
	int num = 0;

	spin_lock_bh(&head->lock);
	sk_nulls_for_each(sk, node, &head->chain) {
		if (!net_eq(sock_net(sk), net) || num++ < s_num)
			continue;
		if (estp_diag_wanted(sk, cb, r, states) && estp_diag_take(batch, sk, num))
			break;
	}
	spin_unlock_bh(&head->lock);
}

#if ESTP_DIAG_BOUND_INACTIVE
/*
 * A bind-hash bucket's socks bound but neither listening nor connected
 * (TCP_BOUND_INACTIVE), from position s_num on.  Owners may be time-wait
 * minisocks: only their sock_common is read.
 */
static void estp_diag_collect_bound(struct estp_hashbucket *head, struct net *net,
				    struct netlink_callback *cb,
				    const struct inet_diag_req_v2 *r, int s_num,
				    struct estp_diag_batch *batch)
{
	struct estp_bind_bucket *tb;
	struct sock *sk;
	int num = 0;

	spin_lock_bh(&head->lock);
	hlist_for_each_entry(tb, &head->chain, node) {
		if (!net_eq(read_pnet(&tb->net), net))
			continue;
		sk_for_each_bound(sk, &tb->owners) {
			if (num++ < s_num || sk->sk_state != TCP_CLOSE || !sk->sk_num)
				continue;
			if (r->sdiag_family != AF_UNSPEC && sk->sk_family != r->sdiag_family)
				continue;
			if (!estp_inet_diag_bc_sk(cb->data, sk))
				continue;
			if (estp_diag_take(batch, sk, num))
				goto out;
		}
	}
out:
	spin_unlock_bh(&head->lock);
}
#endif

/*
 * The messages of a batch, each reference dropped.  Return: 0, or <0 when
 * the skb is full, with cb->args at the sock that did not fit.
 */
static int estp_diag_emit(struct estp_diag_batch *batch, unsigned int b, struct sk_buff *skb,
			  struct netlink_callback *cb, const struct inet_diag_req_v2 *r,
			  bool net_admin)
{
	int i, res = 0;

	for (i = 0; i < batch->n; i++) {
		if (res >= 0) {
			res = estp_diag_fill(batch->sk[i], skb, cb, r, NLM_F_MULTI, net_admin);
			if (res < 0) {
				cb->args[ESTP_DIAG_BUCKET] = b;
				cb->args[ESTP_DIAG_NUM] = batch->num[i] - 1;
			}
		}
		estp_sock_gen_put(batch->sk[i]);
	}
	return res < 0 ? res : 0;
}

/*
 * One table of the dump (ESTP_DIAG_PHASE's), from cb->args' bucket and
 * position on: each bucket's socks of this netns, a batch at a time under
 * its lock, then their messages.  Return: 0 once the table is done, <0
 * when the skb is full (cb->args say where to resume).
 */
static int estp_diag_dump_table(struct sk_buff *skb, struct netlink_callback *cb,
				const struct inet_diag_req_v2 *r, u32 states,
				bool net_admin)
{
	int phase = cb->args[ESTP_DIAG_PHASE], s_num = cb->args[ESTP_DIAG_NUM];
	struct net *net = sock_net(skb->sk);
	unsigned int b = cb->args[ESTP_DIAG_BUCKET];
	/* The listen and bind hashes are keyed by port: fewer buckets. */
	unsigned int mask = phase == ESTP_DIAG_LISTEN || phase == ESTP_DIAG_BOUND ?
			    estp_hashinfo.port_mask : estp_hashinfo.ehash_mask;
	struct estp_diag_batch batch;

	for (; b <= mask; b++, s_num = 0) {
		do {
			batch.n = 0;
			if (phase == ESTP_DIAG_LISTEN)
				estp_diag_collect_nulls(&estp_hashinfo.lhash[b], net, cb, r,
							TCPF_LISTEN, s_num, &batch);
#if ESTP_DIAG_BOUND_INACTIVE
			else if (phase == ESTP_DIAG_BOUND)
				estp_diag_collect_bound(&estp_hashinfo.bhash[b], net, cb, r,
							s_num, &batch);
#endif
			else
				estp_diag_collect_nulls(&estp_hashinfo.ehash[b], net, cb, r,
							states, s_num, &batch);
			if (estp_diag_emit(&batch, b, skb, cb, r, net_admin) < 0)
				return -EMSGSIZE;
			cond_resched();
			if (batch.n)
				s_num = batch.num[batch.n - 1];
		} while (batch.n == ESTP_DIAG_BATCH);
	}
	cb->args[ESTP_DIAG_BUCKET] = 0;
	cb->args[ESTP_DIAG_NUM] = 0;
	return 0;
}

/*
 * inet_diag_handler->dump: listeners, then (6.8 on, when asked) socks only
 * bound, then the established hash, as inet_diag_dump_icsk().
 */
static void estp_diag_dump(struct sk_buff *skb, struct netlink_callback *cb,
			   const struct inet_diag_req_v2 *r)
{
	bool net_admin = netlink_net_capable(cb->skb, CAP_NET_ADMIN);
	u32 states = r->idiag_states;
	bool want[ESTP_DIAG_DONE];

	/* A request sock is SYN_RECV to the user. */
	if (states & TCPF_SYN_RECV)
		states |= TCPF_NEW_SYN_RECV;
	/* No listener has a peer port. */
	want[ESTP_DIAG_LISTEN] = (states & TCPF_LISTEN) && !r->id.idiag_dport;
	want[ESTP_DIAG_BOUND] = ESTP_DIAG_BOUND_INACTIVE &&
				(states & ESTP_TCPF_BOUND_INACTIVE);
	states &= ~(TCPF_LISTEN | ESTP_TCPF_BOUND_INACTIVE);
	want[ESTP_DIAG_EHASH] = states;

	while (cb->args[ESTP_DIAG_PHASE] < ESTP_DIAG_DONE) {
		if (want[cb->args[ESTP_DIAG_PHASE]] &&
		    estp_diag_dump_table(skb, cb, r, states, net_admin) < 0)
			return;
		/* Once ESTP_DIAG_DONE, the next call adds nothing: the dump ends. */
		cb->args[ESTP_DIAG_PHASE]++;
	}
}

/* Bound to no address: 0.0.0.0, or :: for an IPv6 sock. */
static bool estp_diag_any_addr(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		return ipv6_addr_any(&sk->sk_v6_rcv_saddr);
#endif
	return !sk->sk_rcv_saddr;
}

/* Bound to the address a request names: @addr, or @addr6 for IPv6. */
static bool estp_diag_addr_is(const struct sock *sk, __be32 addr,
			      const struct in6_addr *addr6)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		return ipv6_addr_equal(&sk->sk_v6_rcv_saddr, addr6);
#endif
	return sk->sk_rcv_saddr == addr;
}

/*
 * The listener a request names: its port, and its address or the wildcard,
 * the exact address first (inet_lhash2_lookup()'s order; no SO_REUSEPORT
 * pick, the cookie tells members apart).  With a reference, or NULL.
 */
static struct sock *estp_diag_find_listener(struct net *net,
					    const struct inet_diag_req_v2 *req)
{
	const struct in6_addr *addr6 = (const struct in6_addr *)req->id.idiag_src;
	u16 port = ntohs(req->id.idiag_sport);
	__be32 addr = req->id.idiag_src[0];
	struct hlist_nulls_node *node;
	struct estp_nulls_bucket *head;
	struct sock *sk, *best = NULL;
	int score, best_score = 0;

	head = estp_lhash_bucket(net, port);
	spin_lock_bh(&head->lock);
	sk_nulls_for_each(sk, node, &head->chain) {
		if (sk->sk_num != port || !net_eq(sock_net(sk), net) ||
		    sk->sk_family != req->sdiag_family)
			continue;
		if (!estp_diag_any_addr(sk) && !estp_diag_addr_is(sk, addr, addr6))
			continue;
		if (req->id.idiag_if && sk->sk_bound_dev_if &&
		    sk->sk_bound_dev_if != req->id.idiag_if)
			continue;
		if (sock_diag_check_cookie(sk, req->id.idiag_cookie))
			continue;
		score = 1 + !estp_diag_any_addr(sk) + !!sk->sk_bound_dev_if;
		if (score > best_score) {
			best_score = score;
			best = sk;
		}
	}
	if (best)
		sock_hold(best);
	spin_unlock_bh(&head->lock);
	return best;
}

/*
 * The sock a dump_one or destroy request names (inet_diag_find_one_icsk()):
 * by its 4-tuple in the established hash, else a listener; the cookie,
 * unless INET_DIAG_NOCOOKIE, must be its own.  With a reference for
 * estp_sock_gen_put(), or an ERR_PTR.
 */
static struct sock *estp_diag_find_one(struct net *net,
				       const struct inet_diag_req_v2 *req)
{
	const struct in6_addr *dst6 = (const struct in6_addr *)req->id.idiag_dst;
	struct sock *sk;

	rcu_read_lock();
	if (req->sdiag_family == AF_INET)
		sk = estp_lookup_established(net, req->id.idiag_dst[0], req->id.idiag_dport,
					     req->id.idiag_src[0], req->id.idiag_sport,
					     req->id.idiag_if);
#if IS_ENABLED(CONFIG_IPV6)
	/* A v4-mapped 4-tuple is IPv4's in the hash (inet_diag_find_one_icsk). */
	else if (req->sdiag_family == AF_INET6 && ipv6_addr_v4mapped(dst6))
		sk = estp_lookup_established(net, req->id.idiag_dst[3], req->id.idiag_dport,
					     req->id.idiag_src[3], req->id.idiag_sport,
					     req->id.idiag_if);
	else if (req->sdiag_family == AF_INET6)
		sk = estp_lookup_established6(net, dst6, req->id.idiag_dport,
					      (const struct in6_addr *)req->id.idiag_src,
					      req->id.idiag_sport, req->id.idiag_if);
#endif
	else
		sk = ERR_PTR(-EINVAL);
	rcu_read_unlock();
	if (IS_ERR(sk))
		return sk;
	if (sk && sock_diag_check_cookie(sk, req->id.idiag_cookie)) {
		estp_sock_gen_put(sk);
		return ERR_PTR(-ENOENT);
	}
	if (!sk && !req->id.idiag_dport && !req->id.idiag_dst[0] &&
	    !req->id.idiag_dst[1] && !req->id.idiag_dst[2] && !req->id.idiag_dst[3])
		sk = estp_diag_find_listener(net, req);
	return sk ? : ERR_PTR(-ENOENT);
}

/* inet_diag_handler->dump_one (inet_diag_dump_one_icsk()). */
static int estp_diag_dump_one(struct netlink_callback *cb,
			      const struct inet_diag_req_v2 *req)
{
	struct sk_buff *in_skb = cb->skb;
	bool net_admin = netlink_net_capable(in_skb, CAP_NET_ADMIN);
	struct net *net = sock_net(in_skb->sk);
	struct sk_buff *rep;
	struct sock *sk;
	int err;

	sk = estp_diag_find_one(net, req);
	if (IS_ERR(sk))
		return PTR_ERR(sk);
	rep = nlmsg_new(estp_diag_msg_size(), GFP_KERNEL);
	if (!rep) {
		err = -ENOMEM;
		goto out;
	}
	err = estp_diag_fill(sk, rep, cb, req, 0, net_admin);
	if (err < 0) {
		WARN_ON(err == -EMSGSIZE);
		nlmsg_free(rep);
		goto out;
	}
	err = nlmsg_unicast(net->diag_nlsk, rep, NETLINK_CB(in_skb).portid);
out:
	estp_sock_gen_put(sk);
	return err;
}

/*
 * inet_diag_handler->destroy (tcp_diag_destroy()): sock_diag_destroy()
 * checks CAP_NET_ADMIN over the sock's netns and calls estp_abort()
 * through estp_prot.diag_destroy; the lookup's reference keeps the sock
 * until it returns.
 */
static int estp_diag_destroy(struct sk_buff *in_skb,
			     const struct inet_diag_req_v2 *req)
{
	struct net *net = sock_net(in_skb->sk);
	struct sock *sk;
	int err;

	sk = estp_diag_find_one(net, req);
	if (IS_ERR(sk))
		return PTR_ERR(sk);
	err = sock_diag_destroy(sk, ECONNABORTED);
	estp_sock_gen_put(sk);
	return err;
}

static struct inet_diag_handler estp_diag_handler = {
	ESTP_DIAG_OWNER
	.dump			= estp_diag_dump,
	.dump_one		= estp_diag_dump_one,
	.idiag_get_info		= estp_diag_get_info,
	.destroy		= estp_diag_destroy,
	.idiag_info_size	= ESTP_DIAG_INFO_SIZE,
};

/**
 * estp_diag_init - answer sock_diag requests for ESTP's protocol number
 *
 * After the tables and the receive handler: a dump may come at once.
 *
 * Return: 0 or the error of inet_diag_register().
 */
int estp_diag_init(void)
{
	estp_diag_handler.idiag_type = estp_ipproto;
	return inet_diag_register(&estp_diag_handler);
}

/**
 * estp_diag_exit - stop answering them
 *
 * Before the tables go.  No dump or destroy is left running once it
 * returns: inet_diag_unregister() waits for them (6.1: its mutex; later:
 * each call holds estp.ko through the handler's owner, so rmmod cannot
 * even begin while one runs).
 */
void estp_diag_exit(void)
{
	inet_diag_unregister(&estp_diag_handler);
}

/*
 * sock_diag asks for "net-pf-16-proto-4-type-2-<protocol>" (PF_NETLINK,
 * NETLINK_SOCK_DIAG, AF_INET, protocol) when no handler is registered:
 * an ss for protocol 253 loads estp.ko, as one for TCP loads tcp_diag.
 */
MODULE_ALIAS("net-pf-" __stringify(PF_NETLINK) "-proto-" __stringify(NETLINK_SOCK_DIAG)
	     "-type-" __stringify(AF_INET) "-" __stringify(IPPROTO_ESTP));
