// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP hash tables, the counterpart of net/ipv4/inet_hashtables.c and the
 * port allocator of inet_connection_sock.c: ESTP's own port space, apart
 * from TCP's.
 *
 * Locking and references:
 * - bind hash: a bucket's lock covers its chain, every bind bucket on it,
 *   their owner lists and the owners' estp_sk()->bind_hash.  Owners hold no
 *   reference: a sock leaves its bucket (estp_put_port()) before it is freed.
 * - listen hash: changed under the bucket lock, read under RCU; the chain
 *   holds a reference on each listener (sk_nulls_add_node_rcu()).
 */
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/random.h>
#include <net/ip.h>
#include <net/netns/hash.h>
#include <net/sock.h>

#include "estp.h"

static unsigned int hash_entries;
module_param(hash_entries, uint, 0444);
MODULE_PARM_DESC(hash_entries, "buckets of each hash table (0: from memory size)");

struct estp_hashinfo estp_hashinfo;

static unsigned int estp_port_hash(const struct net *net, unsigned short port)
{
	return (net_hash_mix(net) + port) & estp_hashinfo.mask;
}

static struct estp_hashbucket *estp_bhash_bucket(const struct net *net,
						 unsigned short port)
{
	return &estp_hashinfo.bhash[estp_port_hash(net, port)];
}

static struct estp_nulls_bucket *estp_lhash_bucket(const struct net *net,
						   unsigned short port)
{
	return &estp_hashinfo.lhash[estp_port_hash(net, port)];
}

/**
 * estp_hashinfo_init - allocate the hash tables at module load
 *
 * One bucket for every 64 pages of memory, 256 to 65536, unless the
 * hash_entries parameter says otherwise.
 *
 * Return: 0 or -ENOMEM.
 */
int estp_hashinfo_init(void)
{
	struct estp_hashinfo *h = &estp_hashinfo;
	unsigned long n = hash_entries;
	unsigned int i;

	if (!n)
		n = clamp(totalram_pages() >> 6, 256UL, 65536UL);
	n = roundup_pow_of_two(clamp(n, 16UL, 1UL << 20));
	h->mask = n - 1;

	h->bind_bucket_cachep = kmem_cache_create("estp_bind_bucket",
						  sizeof(struct estp_bind_bucket),
						  0, SLAB_HWCACHE_ALIGN, NULL);
	h->bhash = kvmalloc_array(n, sizeof(*h->bhash), GFP_KERNEL);
	h->lhash = kvmalloc_array(n, sizeof(*h->lhash), GFP_KERNEL);
	if (!h->bind_bucket_cachep || !h->bhash || !h->lhash) {
		estp_hashinfo_destroy();
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		spin_lock_init(&h->bhash[i].lock);
		INIT_HLIST_HEAD(&h->bhash[i].chain);
		spin_lock_init(&h->lhash[i].lock);
		INIT_HLIST_NULLS_HEAD(&h->lhash[i].chain, i);
	}
	return 0;
}

/**
 * estp_hashinfo_destroy - free the hash tables at module unload
 *
 * Every sock is gone by then: each one holds a reference on the module.
 */
void estp_hashinfo_destroy(void)
{
	struct estp_hashinfo *h = &estp_hashinfo;

	kvfree(h->lhash);
	kvfree(h->bhash);
	kmem_cache_destroy(h->bind_bucket_cachep);
	h->lhash = NULL;
	h->bhash = NULL;
	h->bind_bucket_cachep = NULL;
}

static struct estp_bind_bucket *estp_bind_bucket_find(struct estp_hashbucket *head,
						      const struct net *net,
						      unsigned short port)
{
	struct estp_bind_bucket *tb;

	hlist_for_each_entry(tb, &head->chain, node)
		if (tb->port == port && net_eq(read_pnet(&tb->net), net))
			return tb;
	return NULL;
}

static bool estp_rcv_saddr_overlap(const struct sock *sk, const struct sock *sk2)
{
	__be32 a = inet_sk(sk)->inet_rcv_saddr, b = inet_sk(sk2)->inet_rcv_saddr;

	return !a || !b || a == b;
}

/*
 * TCP's bind rules: two socks may share a port when their devices or
 * addresses differ, when both set SO_REUSEADDR and the other one is not
 * listening, or when both set SO_REUSEPORT under the same user.  Called for
 * bind() and again from listen(), with sk's new state already LISTEN.
 */
static bool estp_bind_conflict(struct sock *sk, const struct estp_bind_bucket *tb)
{
	kuid_t uid = READ_ONCE(sk->sk_uid);
	struct sock *sk2;

	sk_for_each_bound(sk2, &tb->owners) {
		if (sk2 == sk)
			continue;
		if (sk->sk_bound_dev_if && sk2->sk_bound_dev_if &&
		    sk->sk_bound_dev_if != sk2->sk_bound_dev_if)
			continue;
		if (!estp_rcv_saddr_overlap(sk, sk2))
			continue;
		if (sk->sk_reuse && sk2->sk_reuse && sk2->sk_state != TCP_LISTEN)
			continue;
		if (sk->sk_reuseport && sk2->sk_reuseport &&
		    uid_eq(uid, READ_ONCE(sk2->sk_uid)))
			continue;
		return true;
	}
	return false;
}

/* Make sk an owner of port, creating its bucket.  Under head->lock. */
static int estp_bind_hash(struct sock *sk, struct estp_hashbucket *head,
			  struct estp_bind_bucket *tb, unsigned short port)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!tb) {
		tb = kmem_cache_alloc(estp_hashinfo.bind_bucket_cachep, GFP_ATOMIC);
		if (!tb)
			return -ENOBUFS;
		write_pnet(&tb->net, sock_net(sk));
		tb->port = port;
		INIT_HLIST_HEAD(&tb->owners);
		hlist_add_head(&tb->node, &head->chain);
	}
	if (!esk->bind_hash) {
		sk_add_bind_node(sk, &tb->owners);
		inet_sk(sk)->inet_num = port;
		esk->bind_hash = tb;
	}
	return 0;
}

/* Try one port for sk: 0 when sk now owns it. */
static int estp_try_port(struct sock *sk, unsigned short port)
{
	struct estp_hashbucket *head = estp_bhash_bucket(sock_net(sk), port);
	struct estp_bind_bucket *tb;
	int err = -EADDRINUSE;

	spin_lock_bh(&head->lock);
	tb = estp_bind_bucket_find(head, sock_net(sk), port);
	if (!tb || !estp_bind_conflict(sk, tb))
		err = estp_bind_hash(sk, head, tb, port);
	spin_unlock_bh(&head->lock);
	return err;
}

/**
 * estp_get_port - proto->get_port: bind sk to a port of ESTP's port space
 * @sk: the socket, its inet_rcv_saddr already set by inet_bind()
 * @snum: the port, or 0 for an ephemeral one
 *
 * An ephemeral port is searched from a random point of
 * net.ipv4.ip_local_port_range, skipping ip_local_reserved_ports.  Also
 * called by estp_csk_listen_start() on a bound sock, to check the port
 * again under the rules for listeners.
 *
 * Return: 0, -EADDRINUSE, or -ENOBUFS when a bucket cannot be allocated.
 */
int estp_get_port(struct sock *sk, unsigned short snum)
{
	struct net *net = sock_net(sk);
	u32 remaining, offset, i;
	int low, high, err;

	if (snum)
		return estp_try_port(sk, snum);

	inet_sk_get_local_port_range(sk, &low, &high);
	remaining = high - low + 1;
	offset = get_random_u32_below(remaining);
	for (i = 0; i < remaining; i++) {
		unsigned short port = low + (offset + i) % remaining;

		if (inet_is_local_reserved_port(net, port))
			continue;
		err = estp_try_port(sk, port);
		if (err != -EADDRINUSE)
			return err;
		cond_resched();
	}
	return -EADDRINUSE;
}

/**
 * estp_put_port - release sk's port (inet_put_port)
 * @sk: the socket; no-op when it is not bound
 */
void estp_put_port(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct estp_hashbucket *head;
	struct estp_bind_bucket *tb;

	if (!esk->bind_hash)
		return;
	head = estp_bhash_bucket(sock_net(sk), inet_sk(sk)->inet_num);
	spin_lock_bh(&head->lock);
	tb = esk->bind_hash;
	__sk_del_bind_node(sk);
	esk->bind_hash = NULL;
	inet_sk(sk)->inet_num = 0;
	if (hlist_empty(&tb->owners)) {
		hlist_del(&tb->node);
		kmem_cache_free(estp_hashinfo.bind_bucket_cachep, tb);
	}
	spin_unlock_bh(&head->lock);
}

/**
 * estp_hash - proto->hash: make sk visible to the receive path
 * @sk: a listening socket (connected ones come with the established hash)
 *
 * Return: 0.
 */
int estp_hash(struct sock *sk)
{
	struct estp_nulls_bucket *head;

	if (sk->sk_state != TCP_LISTEN)
		return 0;
	head = estp_lhash_bucket(sock_net(sk), inet_sk(sk)->inet_num);
	spin_lock_bh(&head->lock);
	sk_nulls_add_node_rcu(sk, &head->chain);
	spin_unlock_bh(&head->lock);
	return 0;
}

/**
 * estp_unhash - proto->unhash: the reverse of estp_hash()
 * @sk: the socket, still in the state it was hashed in
 */
void estp_unhash(struct sock *sk)
{
	struct estp_nulls_bucket *head;

	if (sk_unhashed(sk))
		return;
	head = estp_lhash_bucket(sock_net(sk), inet_sk(sk)->inet_num);
	spin_lock_bh(&head->lock);
	sk_nulls_del_node_init_rcu(sk);
	spin_unlock_bh(&head->lock);
}
