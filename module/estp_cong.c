// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP congestion control: the pluggable framework and NewReno (RFC 5681,
 * RFC 6582 without fast recovery yet), the counterpart of
 * net/ipv4/tcp_cong.c.
 *
 * References on an algorithm's module (ops->owner):
 *  - every socket holds one on its ca_ops, taken when it is assigned
 *    (estp_assign_congestion_control(), estp_ca_openreq_child(),
 *    estp_set_congestion_control()) and dropped by
 *    estp_cleanup_congestion_control() from estp_destroy_sock();
 *  - every netns holds one on its default (net.estp.congestion_control)
 *    until the default changes or the netns goes.
 * The list holds none: a module unregisters from its exit, when nothing
 * holds it any more, and synchronize_rcu() there lets RCU readers that
 * found it (and failed try_module_get()) finish before its memory goes.
 * The algorithms built into estp.ko have no owner: every socket already
 * holds estp.ko through estp_prot.owner.
 */
#define pr_fmt(fmt) "estp: " fmt

#include <linux/module.h>
#include <linux/rculist.h>
#include <linux/spinlock.h>
#include <net/sock.h>

#include "estp.h"

/* The registered list and the netns defaults change under it. */
static DEFINE_SPINLOCK(estp_cong_list_lock);
static LIST_HEAD(estp_cong_list);

/* The default of init_net at load, as TCP's. */
#define ESTP_CA_DEFAULT	"cubic"

static struct estp_congestion_ops estp_reno;

/* Under rcu_read_lock() or estp_cong_list_lock. */
static const struct estp_congestion_ops *estp_ca_find(const char *name)
{
	const struct estp_congestion_ops *e;

	list_for_each_entry_rcu(e, &estp_cong_list, list,
				lockdep_is_held(&estp_cong_list_lock)) {
		if (!strcmp(e->name, name))
			return e;
	}
	return NULL;
}

/**
 * estp_register_congestion_control - add an algorithm
 *	(tcp_register_congestion_control)
 * @ca: the ops, with a unique name; ssthresh, cong_avoid and undo_cwnd
 *	are required
 *
 * Context: process; the caller's module is live (its init).
 * Return: 0, -EINVAL for missing callbacks or name, -EEXIST for a name
 * already registered.
 */
int estp_register_congestion_control(struct estp_congestion_ops *ca)
{
	int ret = 0;

	if (!ca->ssthresh || !ca->cong_avoid || !ca->undo_cwnd ||
	    !ca->name[0] || strnlen(ca->name, ESTP_CA_NAME_MAX) == ESTP_CA_NAME_MAX) {
		pr_err("congestion control %.*s lacks a name or required ops\n",
		       ESTP_CA_NAME_MAX, ca->name);
		return -EINVAL;
	}
	spin_lock(&estp_cong_list_lock);
	if (estp_ca_find(ca->name)) {
		pr_notice("congestion control %s already registered\n", ca->name);
		ret = -EEXIST;
	} else {
		list_add_tail_rcu(&ca->list, &estp_cong_list);
		pr_debug("congestion control %s registered\n", ca->name);
	}
	spin_unlock(&estp_cong_list_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(estp_register_congestion_control);

/**
 * estp_unregister_congestion_control - remove an algorithm
 *	(tcp_unregister_congestion_control)
 * @ca: the ops given to estp_register_congestion_control()
 *
 * Context: process, from the owner's module exit: no socket and no netns
 * default refers to @ca any more (each would hold the module).
 */
void estp_unregister_congestion_control(struct estp_congestion_ops *ca)
{
	spin_lock(&estp_cong_list_lock);
	list_del_rcu(&ca->list);
	spin_unlock(&estp_cong_list_lock);
	/* Lookups that found it may still be trying to take its module. */
	synchronize_rcu();
}
EXPORT_SYMBOL_GPL(estp_unregister_congestion_control);

/**
 * estp_assign_congestion_control - a new socket takes its netns's default
 *	(tcp_assign_congestion_control)
 * @sk: the socket, not yet visible to anyone
 *
 * The default's module is held by the netns, so taking it can only fail
 * while that module is going; then Reno stands in.
 */
void estp_assign_congestion_control(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	const struct estp_congestion_ops *ca;

	rcu_read_lock();
	ca = rcu_dereference(estp_pernet(sock_net(sk))->ca_default);
	if (unlikely(!try_module_get(ca->owner)))
		ca = &estp_reno;
	esk->ca_ops = ca;
	rcu_read_unlock();
	esk->ca_initialized = 0;
	esk->ca_setsockopt = 0;
	memset(esk->ca_priv, 0, sizeof(esk->ca_priv));
}

/**
 * estp_ca_openreq_child - the algorithm of a passive open's child
 *	(tcp_ca_openreq_child)
 * @sk: the child, fresh from estp_csk_clone(), which copied the listener's
 *	ca_ops but took no reference for it
 *
 * The listener's choice if it made one with ESTP_CONGESTION, else the
 * netns's current default.
 */
void estp_ca_openreq_child(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->ca_setsockopt && try_module_get(esk->ca_ops->owner)) {
		esk->ca_initialized = 0;
		memset(esk->ca_priv, 0, sizeof(esk->ca_priv));
	} else {
		estp_assign_congestion_control(sk);
	}
	esk->ca_state = ESTP_CA_OPEN;
}

/**
 * estp_init_congestion_control - start the algorithm
 *	(tcp_init_congestion_control)
 * @sk: the socket, locked or owned by the receive path, becoming
 *	ESTABLISHED or switching algorithm
 */
void estp_init_congestion_control(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->ca_ops->init)
		esk->ca_ops->init(sk);
	esk->ca_initialized = 1;
}

/* Switch a socket to @ca, whose module reference the caller took. */
static void estp_reinit_congestion_control(struct sock *sk,
					   const struct estp_congestion_ops *ca)
{
	struct estp_sock *esk = estp_sk(sk);

	estp_cleanup_congestion_control(sk);
	esk->ca_ops = ca;
	esk->ca_setsockopt = 1;
	memset(esk->ca_priv, 0, sizeof(esk->ca_priv));
	/* A connection in progress starts the new one now; others later. */
	if (!((TCPF_CLOSE | TCPF_LISTEN) & (1 << sk->sk_state)))
		estp_init_congestion_control(sk);
}

/**
 * estp_cleanup_congestion_control - release the algorithm and its module
 *	(tcp_cleanup_congestion_control)
 * @sk: the socket, from estp_destroy_sock() or a switch of algorithm
 */
void estp_cleanup_congestion_control(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->ca_initialized && esk->ca_ops->release)
		esk->ca_ops->release(sk);
	esk->ca_initialized = 0;
	module_put(esk->ca_ops->owner);
}

/**
 * estp_set_congestion_control - ESTP_CONGESTION (tcp_set_congestion_control)
 * @sk: the socket, locked
 * @name: the algorithm's name, NUL-terminated
 *
 * Unlike TCP, no module is loaded on demand, and every algorithm is open
 * to every user (TCP restricts some to CAP_NET_ADMIN).
 *
 * Return: 0 (also when @name is the current one), -ENOENT for an unknown
 * name, -EBUSY when its module is going.
 */
int estp_set_congestion_control(struct sock *sk, const char *name)
{
	struct estp_sock *esk = estp_sk(sk);
	const struct estp_congestion_ops *ca;
	int err = 0;

	rcu_read_lock();
	ca = estp_ca_find(name);
	if (ca == esk->ca_ops) {
		esk->ca_setsockopt = 1;
		goto out;
	}
	if (!ca)
		err = -ENOENT;
	else if (!try_module_get(ca->owner))
		err = -EBUSY;
	else
		estp_reinit_congestion_control(sk, ca);
out:
	rcu_read_unlock();
	return err;
}

/**
 * estp_set_ca_state - enter an ESTP_CA_* state (tcp_set_ca_state)
 * @sk: the socket, locked or owned
 * @ca_state: the new state
 */
void estp_set_ca_state(struct sock *sk, u8 ca_state)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->ca_ops->set_state)
		esk->ca_ops->set_state(sk, ca_state);
	if (esk->ca_state == ESTP_CA_LOSS && ca_state != ESTP_CA_LOSS)
		estp_rto_episode_end(esk);
	esk->ca_state = ca_state;
}

/**
 * estp_ca_event - tell the algorithm of an event (tcp_ca_event)
 * @sk: the socket, locked or owned
 * @event: what happened
 */
void estp_ca_event(struct sock *sk, enum estp_ca_event event)
{
	const struct estp_congestion_ops *ca = estp_sk(sk)->ca_ops;

	if (ca->cwnd_event)
		ca->cwnd_event(sk, event);
}

/**
 * estp_cong_net_init - the default algorithm of a new netns
 * @net: the netns
 *
 * A new netns starts with init_net's current default, as TCP's; init_net
 * with CUBIC, or Reno should CUBIC be missing.
 */
void estp_cong_net_init(struct net *net)
{
	const struct estp_congestion_ops *ca = NULL;

	if (!net_eq(net, &init_net)) {
		/* init_net is set up first: it heads the list of netns. */
		rcu_read_lock();
		ca = rcu_dereference(estp_pernet(&init_net)->ca_default);
		if (ca && !try_module_get(ca->owner))
			ca = NULL;
		rcu_read_unlock();
	}
	if (!ca) {
		/* Built in: no module reference to take. */
		spin_lock(&estp_cong_list_lock);
		ca = estp_ca_find(ESTP_CA_DEFAULT) ? : &estp_reno;
		spin_unlock(&estp_cong_list_lock);
	}
	RCU_INIT_POINTER(estp_pernet(net)->ca_default, ca);
}

/**
 * estp_cong_net_exit - drop the netns's reference on its default
 * @net: the netns, with no socket left
 */
void estp_cong_net_exit(struct net *net)
{
	const struct estp_congestion_ops *ca;

	ca = rcu_dereference_protected(estp_pernet(net)->ca_default, true);
	module_put(ca->owner);
}

/**
 * estp_get_default_congestion_control - net.estp.congestion_control, read
 * @net: the netns
 * @name: ESTP_CA_NAME_MAX bytes for the name
 */
void estp_get_default_congestion_control(struct net *net, char *name)
{
	rcu_read_lock();
	strscpy(name, rcu_dereference(estp_pernet(net)->ca_default)->name,
		ESTP_CA_NAME_MAX);
	rcu_read_unlock();
}

/**
 * estp_set_default_congestion_control - net.estp.congestion_control, written
 *	(tcp_set_default_congestion_control)
 * @net: the netns
 * @name: a registered algorithm
 *
 * Sockets created from now on take it; existing ones keep theirs.
 *
 * Return: 0, -ENOENT for an unknown name, -EBUSY when its module is going.
 */
int estp_set_default_congestion_control(struct net *net, const char *name)
{
	struct estp_net *en = estp_pernet(net);
	const struct estp_congestion_ops *ca, *prev;
	int ret = 0;

	spin_lock(&estp_cong_list_lock);
	ca = estp_ca_find(name);
	if (!ca) {
		ret = -ENOENT;
	} else if (!try_module_get(ca->owner)) {
		ret = -EBUSY;
	} else {
		prev = rcu_dereference_protected(en->ca_default,
						 lockdep_is_held(&estp_cong_list_lock));
		rcu_assign_pointer(en->ca_default, ca);
		/* Readers that still see prev try_module_get() it first. */
		module_put(prev->owner);
	}
	spin_unlock(&estp_cong_list_lock);
	return ret;
}

/**
 * estp_get_available_congestion_control - the registered names
 *	(tcp_get_available_congestion_control)
 * @buf: where they go, separated by spaces, in registration order
 * @len: its size
 */
void estp_get_available_congestion_control(char *buf, size_t len)
{
	const struct estp_congestion_ops *ca;
	size_t offs = 0;

	buf[0] = '\0';
	rcu_read_lock();
	list_for_each_entry_rcu(ca, &estp_cong_list, list)
		offs += scnprintf(buf + offs, len - offs, "%s%s",
				  offs ? " " : "", ca->name);
	rcu_read_unlock();
}

/**
 * estp_is_cwnd_limited - is the window what holds the sender back?
 *	(tcp_is_cwnd_limited)
 * @sk: the socket
 *
 * Growing a window the sender does not fill would let it burst later.  In
 * slow start a window up to twice what was in flight before the ACK still
 * grows.
 *
 * Return: true when cong_avoid should grow snd_cwnd.
 */
bool estp_is_cwnd_limited(const struct sock *sk)
{
	const struct estp_sock *esk = estp_sk(sk);

	if (esk->cwnd_limited)
		return true;
	return estp_in_slow_start(esk) && esk->snd_cwnd < 2 * esk->prior_in_flight;
}
EXPORT_SYMBOL_GPL(estp_is_cwnd_limited);

/**
 * estp_slow_start - RFC 5681 slow start: one segment per segment acked
 * @sk: the socket
 * @acked: segments newly acknowledged
 *
 * Stops at snd_ssthresh.
 *
 * Return: the acked segments that slow start did not use, for congestion
 * avoidance.
 */
u32 estp_slow_start(struct sock *sk, u32 acked)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 room = esk->snd_ssthresh - esk->snd_cwnd;
	u32 used = min(acked, room);

	esk->snd_cwnd = min(esk->snd_cwnd + used, esk->snd_cwnd_clamp);
	return acked - used;
}
EXPORT_SYMBOL_GPL(estp_slow_start);

/**
 * estp_cong_avoid_ai - additive increase: one segment per @w acknowledged
 * @sk: the socket
 * @w: segments to acknowledge for one more (snd_cwnd: one per RTT)
 * @acked: segments newly acknowledged
 */
void estp_cong_avoid_ai(struct sock *sk, u32 w, u32 acked)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 more;

	w = max(w, 1U);
	esk->snd_cwnd_cnt += acked;
	if (esk->snd_cwnd_cnt < w)
		return;
	more = esk->snd_cwnd_cnt / w;
	esk->snd_cwnd_cnt -= more * w;
	esk->snd_cwnd = min(esk->snd_cwnd + more, esk->snd_cwnd_clamp);
}
EXPORT_SYMBOL_GPL(estp_cong_avoid_ai);

/**
 * estp_reno_cong_avoid - NewReno's growth (RFC 5681 3.1)
 * @sk: the socket
 * @ack: the acknowledgment number
 * @acked: segments newly acknowledged
 */
void estp_reno_cong_avoid(struct sock *sk, u32 ack, u32 acked)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!estp_is_cwnd_limited(sk))
		return;
	if (estp_in_slow_start(esk)) {
		acked = estp_slow_start(sk, acked);
		if (!acked)
			return;
	}
	estp_cong_avoid_ai(sk, esk->snd_cwnd, acked);
}
EXPORT_SYMBOL_GPL(estp_reno_cong_avoid);

/**
 * estp_reno_ssthresh - half the window, at least two segments (RFC 5681 (4))
 * @sk: the socket
 *
 * Return: the new snd_ssthresh.
 */
u32 estp_reno_ssthresh(struct sock *sk)
{
	return max(estp_sk(sk)->snd_cwnd >> 1, 2U);
}
EXPORT_SYMBOL_GPL(estp_reno_ssthresh);

/**
 * estp_reno_undo_cwnd - the window from before a loss found spurious
 * @sk: the socket
 *
 * Return: the larger of the current window and the one before the loss.
 */
u32 estp_reno_undo_cwnd(struct sock *sk)
{
	const struct estp_sock *esk = estp_sk(sk);

	return max(esk->snd_cwnd, esk->prior_cwnd);
}
EXPORT_SYMBOL_GPL(estp_reno_undo_cwnd);

static struct estp_congestion_ops estp_reno = {
	.name		= "reno",
	.ssthresh	= estp_reno_ssthresh,
	.cong_avoid	= estp_reno_cong_avoid,
	.undo_cwnd	= estp_reno_undo_cwnd,
};

/**
 * estp_cong_init - register the built-in algorithms, before any netns
 *	picks its default
 *
 * Return: 0 or the error of a registration.
 */
int estp_cong_init(void)
{
	int err = estp_register_congestion_control(&estp_reno);

	if (err)
		return err;
	err = estp_cubic_register();
	if (err)
		estp_unregister_congestion_control(&estp_reno);
	return err;
}

/**
 * estp_cong_exit - unregister the built-in algorithms, after every netns
 */
void estp_cong_exit(void)
{
	estp_cubic_unregister();
	estp_unregister_congestion_control(&estp_reno);
}
