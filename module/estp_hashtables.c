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
 *   holds a reference on each listener (sk_nulls_add_node_rcu()).  A
 *   listener with SO_REUSEPORT joins its port's group there
 *   (sock_reuseport.c, whose lock nests inside the bucket's), and leaves
 *   it when it is unhashed.
 * - established hash: the same, keyed by the 4-tuple; readers take a
 *   reference with refcount_inc_not_zero() and check the keys again, since
 *   the sock slab is SLAB_TYPESAFE_BY_RCU.
 * Lock order: a bind bucket's lock, then an established bucket's.
 *
 * Both families share the tables and the port space, as TCP's: an IPv6
 * sock is keyed by its IPv6 addresses (inet6_hashtables.c), unless its
 * peer is v4-mapped: then by the IPv4 ones, which its segments carry.
 * An IPv6 sock with IPv6 addresses keeps LOOPBACK4_IPV6 as its IPv4
 * local address, which no IPv4 segment is sent to.
 */
#define pr_fmt(fmt) "estp: " fmt

#include <linux/delay.h>
#include <linux/jhash.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netns/hash.h>
#include <net/sock.h>
#include <net/sock_reuseport.h>

#include "estp.h"

static unsigned int hash_entries;
module_param(hash_entries, uint, 0444);
MODULE_PARM_DESC(hash_entries, "buckets of the established hash (0: one per 128 KiB of memory)");

struct estp_hashinfo estp_hashinfo;
static u32 estp_ehash_secret __read_mostly;
static siphash_key_t estp_port_secret __read_mostly;

static unsigned int estp_port_hash(const struct net *net, unsigned short port)
{
	return (net_hash_mix(net) + port) & estp_hashinfo.port_mask;
}

static struct estp_hashbucket *estp_bhash_bucket(const struct net *net,
						 unsigned short port)
{
	return &estp_hashinfo.bhash[estp_port_hash(net, port)];
}

/**
 * estp_lhash_bucket - the listen-hash bucket of a port
 * @net: the netns
 * @port: the port, host order
 *
 * Return: the bucket, whose chain may hold listeners of other ports and
 * netns.
 */
struct estp_nulls_bucket *estp_lhash_bucket(const struct net *net, unsigned short port)
{
	return &estp_hashinfo.lhash[estp_port_hash(net, port)];
}

/**
 * estp_hashinfo_init - allocate the hash tables at module load
 *
 * The established hash is sized as TCP's (tcp_init()): one bucket for every
 * 128 KiB of memory, 256 to 2^19, unless the hash_entries parameter (TCP's
 * thash_entries) asks for up to 2^23, so that a chain stays short when more
 * connections are planned than memory alone suggests.  The bind and listen
 * hashes are keyed by port alone: more than 65536 buckets would stay empty.
 *
 * Return: 0 or -ENOMEM.
 */
int estp_hashinfo_init(void)
{
	struct estp_hashinfo *h = &estp_hashinfo;
	unsigned long n = hash_entries, np;
	unsigned int i;

	if (!n)
		n = clamp(totalram_pages() >> (17 - PAGE_SHIFT), 256UL, 1UL << 19);
	n = roundup_pow_of_two(clamp(n, 16UL, 1UL << 23));
	np = min(n, 65536UL);
	h->ehash_mask = n - 1;
	h->port_mask = np - 1;

	h->bind_bucket_cachep = kmem_cache_create("estp_bind_bucket",
						  sizeof(struct estp_bind_bucket),
						  0, SLAB_HWCACHE_ALIGN, NULL);
	h->bhash = kvmalloc_array(np, sizeof(*h->bhash), GFP_KERNEL);
	h->lhash = kvmalloc_array(np, sizeof(*h->lhash), GFP_KERNEL);
	h->ehash = kvmalloc_array(n, sizeof(*h->ehash), GFP_KERNEL);
	if (!h->bind_bucket_cachep || !h->bhash || !h->lhash || !h->ehash) {
		estp_hashinfo_destroy();
		return -ENOMEM;
	}
	for (i = 0; i < np; i++) {
		spin_lock_init(&h->bhash[i].lock);
		INIT_HLIST_HEAD(&h->bhash[i].chain);
		spin_lock_init(&h->lhash[i].lock);
		INIT_HLIST_NULLS_HEAD(&h->lhash[i].chain, i);
	}
	for (i = 0; i < n; i++) {
		spin_lock_init(&h->ehash[i].lock);
		INIT_HLIST_NULLS_HEAD(&h->ehash[i].chain, i);
	}
	pr_info("established hash table entries: %lu, bind and listen: %lu\n", n, np);
	estp_ehash_secret = get_random_u32();
	get_random_bytes(&estp_port_secret, sizeof(estp_port_secret));
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

	kvfree(h->ehash);
	kvfree(h->lhash);
	kvfree(h->bhash);
	kmem_cache_destroy(h->bind_bucket_cachep);
	h->ehash = NULL;
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

/*
 * Whether a sock_common (full, request or time-wait) is keyed by IPv6
 * addresses: an IPv6 one whose peer is not v4-mapped (sk_ehashfn()).
 */
static bool estp_sk_v6(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	return sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr);
#else
	return false;
#endif
}

/* Bound to no address: 0.0.0.0, or :: for an IPv6 sock. */
static bool estp_rcv_saddr_any(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		return ipv6_addr_any(&sk->sk_v6_rcv_saddr);
#endif
	return !sk->sk_rcv_saddr;
}

/* Two IPv4 addresses overlap: equal, or either the wildcard. */
static bool estp_v4_saddr_overlap(__be32 a, __be32 b, bool wildcard)
{
	return a == b || (wildcard && (!a || !b));
}

/*
 * TCP's address rules for sharing a port (inet_rcv_saddr_equal(), which
 * not every kernel exports): an IPv6 wildcard without IPV6_V6ONLY covers
 * IPv4 too, a v4-mapped address is its IPv4 one, and a V6ONLY sock never
 * meets IPv4.  @wildcard: a wildcard address overlaps every address
 * (bind()); without, only the same address does (SO_REUSEPORT groups).
 * @sk2 may be a time-wait minisock: only its sock_common is read.
 */
static bool estp_saddr_equal(const struct sock *sk, const struct sock *sk2, bool wildcard)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		int t1 = ipv6_addr_type(&sk->sk_v6_rcv_saddr), t2;

		/* An IPv4 sock's address counts as v4-mapped. */
		t2 = sk2->sk_family == AF_INET6 ? ipv6_addr_type(&sk2->sk_v6_rcv_saddr) :
						  IPV6_ADDR_MAPPED;
		if (t1 == IPV6_ADDR_MAPPED && t2 == IPV6_ADDR_MAPPED)
			return !ipv6_only_sock(sk2) &&
			       estp_v4_saddr_overlap(sk->sk_rcv_saddr, sk2->sk_rcv_saddr,
						     wildcard);
		if (t1 == IPV6_ADDR_ANY && t2 == IPV6_ADDR_ANY)
			return true;
		/* A wildcard covers the other unless V6ONLY keeps IPv4 out. */
		if (wildcard && t2 == IPV6_ADDR_ANY &&
		    !(ipv6_only_sock(sk2) && t1 == IPV6_ADDR_MAPPED))
			return true;
		if (wildcard && t1 == IPV6_ADDR_ANY &&
		    !(ipv6_only_sock(sk) && t2 == IPV6_ADDR_MAPPED))
			return true;
		return sk2->sk_family == AF_INET6 &&
		       ipv6_addr_equal(&sk->sk_v6_rcv_saddr, &sk2->sk_v6_rcv_saddr);
	}
#endif
	/* sk is IPv4: sk2's IPv4 address, LOOPBACK4_IPV6 for an IPv6 one. */
	return !ipv6_only_sock(sk2) &&
	       estp_v4_saddr_overlap(sk->sk_rcv_saddr, sk2->sk_rcv_saddr, wildcard);
}

static bool estp_rcv_saddr_overlap(const struct sock *sk, const struct sock *sk2)
{
	return estp_saddr_equal(sk, sk2, true);
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

	/* Owners may be time-wait minisocks: read only their sock_common. */
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
		    (sk2->sk_state == TCP_TIME_WAIT ||
		     uid_eq(uid, READ_ONCE(sk2->sk_uid))))
			continue;
		return true;
	}
	return false;
}

/* Take an owner off its bind bucket, freeing the bucket when it empties. */
static void estp_unbind(struct sock *sk, struct estp_bind_bucket *tb)
{
	__sk_del_bind_node(sk);
	if (hlist_empty(&tb->owners)) {
		hlist_del(&tb->node);
		kmem_cache_free(estp_hashinfo.bind_bucket_cachep, tb);
	}
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
	tb->connect_only = false;
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

/*
 * Offer try() the ports of net.ipv4.ip_local_port_range but the reserved
 * ones, from offset plus a random step, until it answers anything but busy.
 */
static int estp_walk_ports(struct sock *sk, u32 offset,
			   int (*try)(struct sock *sk, unsigned short port), int busy)
{
	struct net *net = sock_net(sk);
	u32 remaining, i;
	int low, high, err;

	inet_sk_get_local_port_range(sk, &low, &high);
	remaining = high - low + 1;
	offset += get_random_u32_below(remaining);
	for (i = 0; i < remaining; i++) {
		unsigned short port = low + (offset + i) % remaining;

		if (inet_is_local_reserved_port(net, port))
			continue;
		err = try(sk, port);
		if (err != busy)
			return err;
		cond_resched();
	}
	return busy;
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
	if (snum)
		return estp_try_port(sk, snum);
	return estp_walk_ports(sk, 0, estp_try_port, -EADDRINUSE);
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
	esk->bind_hash = NULL;
	inet_sk(sk)->inet_num = 0;
	estp_unbind(sk, tb);
	spin_unlock_bh(&head->lock);
}

static unsigned int estp_ehashfn(const struct net *net, __be32 laddr, u16 lport,
				 __be32 faddr, __be16 fport)
{
	return jhash_3words((__force u32)laddr, (__force u32)faddr,
			    ((u32)lport) << 16 | (__force u32)fport,
			    estp_ehash_secret + net_hash_mix(net));
}

static struct estp_nulls_bucket *estp_ehash_bucket(const struct net *net,
						   __be32 laddr, u16 lport,
						   __be32 faddr, __be16 fport)
{
	unsigned int hash = estp_ehashfn(net, laddr, lport, faddr, fport);

	return &estp_hashinfo.ehash[hash & estp_hashinfo.ehash_mask];
}

#if IS_ENABLED(CONFIG_IPV6)
/* inet6_ehashfn(): the local address's last word, the peer's all. */
static unsigned int estp_ehashfn6(const struct net *net, const struct in6_addr *laddr,
				  u16 lport, const struct in6_addr *faddr, __be16 fport)
{
	return jhash_3words((__force u32)laddr->s6_addr32[3],
			    __ipv6_addr_jhash(faddr, estp_ehash_secret),
			    ((u32)lport) << 16 | (__force u32)fport,
			    estp_ehash_secret + net_hash_mix(net));
}
#endif

static struct estp_nulls_bucket *estp_sk_ehash_bucket(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (estp_sk_v6(sk)) {
		unsigned int hash = estp_ehashfn6(sock_net(sk), &sk->sk_v6_rcv_saddr,
						  sk->sk_num, &sk->sk_v6_daddr,
						  sk->sk_dport);

		return &estp_hashinfo.ehash[hash & estp_hashinfo.ehash_mask];
	}
#endif
	return estp_ehash_bucket(sock_net(sk), sk->sk_rcv_saddr, sk->sk_num,
				 sk->sk_daddr, sk->sk_dport);
}

/*
 * Whether a sock_common in the established hash has this IPv4 4-tuple: an
 * IPv4 sock, or an IPv6 one with a v4-mapped peer (INET_MATCH).
 */
static bool estp_match(const struct sock *sk, const struct net *net,
		       __be32 faddr, __be16 fport, __be32 laddr, u16 lport, int dif)
{
	return sk->sk_daddr == faddr && sk->sk_rcv_saddr == laddr &&
	       sk->sk_dport == fport && sk->sk_num == lport &&
	       net_eq(sock_net(sk), net) &&
	       (!sk->sk_bound_dev_if || sk->sk_bound_dev_if == dif);
}

#if IS_ENABLED(CONFIG_IPV6)
/* The same for an IPv6 4-tuple (INET6_MATCH). */
static bool estp_match6(const struct sock *sk, const struct net *net,
			const struct in6_addr *faddr, __be16 fport,
			const struct in6_addr *laddr, u16 lport, int dif)
{
	return sk->sk_family == AF_INET6 &&
	       sk->sk_dport == fport && sk->sk_num == lport &&
	       ipv6_addr_equal(&sk->sk_v6_daddr, faddr) &&
	       ipv6_addr_equal(&sk->sk_v6_rcv_saddr, laddr) &&
	       net_eq(sock_net(sk), net) &&
	       (!sk->sk_bound_dev_if || sk->sk_bound_dev_if == dif);
}
#endif

/**
 * estp_sock_gen_put - drop a lookup's reference on whatever sk is
 *	(sock_gen_put)
 * @sk: a full sock, a request sock or a time-wait minisock
 */
void estp_sock_gen_put(struct sock *sk)
{
	if (sk->sk_state == TCP_TIME_WAIT)
		estp_twsk_put(inet_twsk(sk));
	else if (sk->sk_state == TCP_NEW_SYN_RECV)
		estp_reqsk_put(inet_reqsk(sk));
	else
		sock_put(sk);
}

/**
 * estp_ehash_find_tw - the next time-wait minisock of a netns, with a
 *	reference
 * @net: the netns
 * @slot: the bucket to look from; set to the bucket it was found in
 *
 * The caller unhashes what it is given and asks again from the same
 * bucket, so that the purge is one walk of the table, restarted only
 * within a bucket (inet_twsk_purge()).
 *
 * Return: the minisock or NULL when the netns has none left from @slot on.
 */
struct inet_timewait_sock *estp_ehash_find_tw(const struct net *net, unsigned int *slot)
{
	unsigned int b;

	for (b = *slot; b <= estp_hashinfo.ehash_mask; b++) {
		struct estp_nulls_bucket *head = &estp_hashinfo.ehash[b];
		struct inet_timewait_sock *tw = NULL;
		struct hlist_nulls_node *node;
		struct sock *sk;

		if (hlist_nulls_empty(&head->chain))
			continue;
		spin_lock_bh(&head->lock);
		sk_nulls_for_each(sk, node, &head->chain) {
			if (sk->sk_state == TCP_TIME_WAIT && net_eq(sock_net(sk), net) &&
			    refcount_inc_not_zero(&sk->sk_refcnt)) {
				tw = inet_twsk(sk);
				break;
			}
		}
		spin_unlock_bh(&head->lock);
		if (tw) {
			*slot = b;
			return tw;
		}
	}
	*slot = b;
	return NULL;
}

/*
 * A 4-tuple looked up: IPv4 addresses, or IPv6 ones (@faddr6 set).  The
 * walk is one for both families (__inet_lookup_established and
 * __inet6_lookup_established).
 */
struct estp_ehash_key {
	const struct net	*net;
	__be32			faddr;
	__be32			laddr;
	const struct in6_addr	*faddr6;
	const struct in6_addr	*laddr6;
	__be16			fport;
	u16			lport;
	int			dif;
};

static bool estp_key_match(const struct sock *sk, const struct estp_ehash_key *k)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (k->faddr6)
		return estp_match6(sk, k->net, k->faddr6, k->fport, k->laddr6, k->lport,
				   k->dif);
#endif
	return estp_match(sk, k->net, k->faddr, k->fport, k->laddr, k->lport, k->dif);
}

/*
 * Called under rcu_read_lock().  The sock slab is SLAB_TYPESAFE_BY_RCU, so a
 * sock found may be freed and reused meanwhile: take a reference only if the
 * count is not zero, check the keys again, and start over if the walk ended
 * on another chain's nulls marker.
 */
static struct sock *estp_ehash_lookup(const struct estp_ehash_key *k, unsigned int slot)
{
	struct estp_nulls_bucket *head = &estp_hashinfo.ehash[slot];
	struct hlist_nulls_node *node;
	struct sock *sk;

begin:
	sk_nulls_for_each_rcu(sk, node, &head->chain) {
		if (!estp_key_match(sk, k))
			continue;
		if (unlikely(!refcount_inc_not_zero(&sk->sk_refcnt)))
			return NULL;
		if (unlikely(!estp_key_match(sk, k))) {
			estp_sock_gen_put(sk);
			goto begin;
		}
		return sk;
	}
	if (get_nulls_value(node) != slot)
		goto begin;
	return NULL;
}

/**
 * estp_lookup_established - the sock of a 4-tuple (__inet_lookup_established)
 * @net: the netns
 * @saddr: the segment's source address (the sock's peer)
 * @sport: its source port
 * @daddr: the segment's destination address (the sock's own)
 * @dport: its destination port
 * @dif: the device the segment arrived on
 *
 * Called under rcu_read_lock().
 *
 * Return: the sock with a reference the caller drops, or NULL.
 */
struct sock *estp_lookup_established(struct net *net, __be32 saddr, __be16 sport,
				     __be32 daddr, __be16 dport, int dif)
{
	const struct estp_ehash_key k = {
		.net = net, .faddr = saddr, .laddr = daddr,
		.fport = sport, .lport = ntohs(dport), .dif = dif,
	};

	return estp_ehash_lookup(&k, estp_ehashfn(net, daddr, k.lport, saddr, sport) &
				 estp_hashinfo.ehash_mask);
}

/* What in an established bucket holds the 4-tuple of sk, or NULL.  Under its lock. */
static struct sock *estp_ehash_holder(const struct estp_nulls_bucket *head,
				      const struct sock *sk)
{
	struct hlist_nulls_node *node;
	struct sock *sk2;

	sk_nulls_for_each(sk2, node, &head->chain) {
#if IS_ENABLED(CONFIG_IPV6)
		if (estp_sk_v6(sk)) {
			if (estp_match6(sk2, sock_net(sk), &sk->sk_v6_daddr, sk->sk_dport,
					&sk->sk_v6_rcv_saddr, sk->sk_num,
					sk->sk_bound_dev_if))
				return sk2;
			continue;
		}
#endif
		if (estp_match(sk2, sock_net(sk), sk->sk_daddr, sk->sk_dport,
			       sk->sk_rcv_saddr, sk->sk_num, sk->sk_bound_dev_if))
			return sk2;
	}
	return NULL;
}

/*
 * A time-wait minisock with sk's 4-tuple may give way to it
 * (tcp_twsk_unique): when it saw timestamps, PAWS keeps the old segments
 * apart, for a port the user bound at once, for one connect() picked with
 * net.estp.tw_reuse (2: over loopback only) once a second has passed since
 * its last TSval.  Not a FIN_WAIT2 orphan's.  The new connection's ISN
 * starts past all the old one sent.  Under the established bucket's lock.
 *
 * Return: true, with a reference on @sktw for the caller to kill it with.
 */
static bool estp_twsk_unique(struct sock *sk, struct sock *sktw, bool bound)
{
	struct inet_timewait_sock *tw = inet_twsk(sktw);
	const struct estp_timewait_sock *etw = estp_twsk(tw);
	int reuse = READ_ONCE(estp_pernet(sock_net(sk))->tw_reuse_mode);
	u32 stamp = READ_ONCE(etw->ts_recent_stamp);
	u32 iss;

	if (READ_ONCE(tw->tw_substate) == TCP_FIN_WAIT2)
		reuse = 0;
	if (reuse == 2 && tw->tw_bound_dev_if != LOOPBACK_IFINDEX) {
		bool loopback;

#if IS_ENABLED(CONFIG_IPV6)
		if (estp_sk_v6(sktw))
			loopback = ipv6_addr_loopback(&tw->tw_v6_daddr) ||
				   ipv6_addr_loopback(&tw->tw_v6_rcv_saddr);
		else
#endif
			loopback = ipv4_is_loopback(tw->tw_daddr) ||
				   ipv4_is_loopback(tw->tw_rcv_saddr);
		if (!loopback)
			reuse = 0;
	}
	if (!stamp || !(bound || (reuse && (s32)((u32)ktime_get_seconds() - stamp) > 0)))
		return false;
	if (!refcount_inc_not_zero(&tw->tw_refcnt))
		return false;
	/* estp_connect() makes the first sequence number iss + 1. */
	iss = etw->snd_nxt + 65535 + 1;
	estp_sk(sk)->iss = iss ? : 1;
	return true;
}

/*
 * Put sk, bound to port, into the established hash if its 4-tuple is free
 * (__inet_check_established), or held by a time-wait minisock that gives
 * way (estp_twsk_unique(); @bound: the user chose the port).  Under the
 * bind bucket's lock, which a minisock's end takes: the caller kills the
 * one returned in @twp, with its reference, after unlocking.
 */
static int estp_ehash_insert_unique(struct sock *sk, bool bound,
				    struct inet_timewait_sock **twp)
{
	struct estp_nulls_bucket *head = estp_sk_ehash_bucket(sk);
	struct sock *sk2;

	*twp = NULL;
	spin_lock(&head->lock);
	sk2 = estp_ehash_holder(head, sk);
	if (sk2) {
		if (sk2->sk_state != TCP_TIME_WAIT || !estp_twsk_unique(sk, sk2, bound)) {
			spin_unlock(&head->lock);
			return -EADDRNOTAVAIL;
		}
		*twp = inet_twsk(sk2);
	}
	sk_nulls_add_node_rcu(sk, &head->chain);
	spin_unlock(&head->lock);
	return 0;
}

/* Try port for connect(): 0 when sk now owns it and is hashed. */
static int estp_connect_try_port(struct sock *sk, unsigned short port)
{
	struct estp_hashbucket *head = estp_bhash_bucket(sock_net(sk), port);
	struct inet_timewait_sock *tw = NULL;
	struct estp_sock *esk = estp_sk(sk);
	struct estp_bind_bucket *tb;
	int err = -EADDRNOTAVAIL;

	spin_lock_bh(&head->lock);
	tb = estp_bind_bucket_find(head, sock_net(sk), port);
	/* A port someone bound or listens on is theirs alone. */
	if (tb && !tb->connect_only)
		goto out;
	if (!tb) {
		tb = kmem_cache_alloc(estp_hashinfo.bind_bucket_cachep, GFP_ATOMIC);
		err = -ENOBUFS;
		if (!tb)
			goto out;
		write_pnet(&tb->net, sock_net(sk));
		tb->port = port;
		tb->connect_only = true;
		INIT_HLIST_HEAD(&tb->owners);
		hlist_add_head(&tb->node, &head->chain);
	}
	inet_sk(sk)->inet_num = port;
	inet_sk(sk)->inet_sport = htons(port);
	err = estp_ehash_insert_unique(sk, false, &tw);
	if (!err) {
		sk_add_bind_node(sk, &tb->owners);
		esk->bind_hash = tb;
	} else {
		inet_sk(sk)->inet_num = 0;
		inet_sk(sk)->inet_sport = 0;
		if (hlist_empty(&tb->owners)) {
			hlist_del(&tb->node);
			kmem_cache_free(estp_hashinfo.bind_bucket_cachep, tb);
		}
	}
out:
	spin_unlock_bh(&head->lock);
	if (tw)
		estp_twsk_deschedule_put(tw);
	return err;
}

/**
 * estp_hash_connect - bind a connecting sock and hash it (inet_hash_connect)
 * @sk: the socket, locked, with both addresses and the peer's port set
 *
 * A sock bound by the user keeps its port if the 4-tuple is free.  Otherwise
 * the search of net.ipv4.ip_local_port_range starts at an offset keyed by
 * the addresses and the peer's port (RFC 6056 algorithm 3), plus a random
 * step so that repeated connections to one peer do not walk in order.
 *
 * Return: 0, or -EADDRNOTAVAIL when no port gives a free 4-tuple.
 */
int estp_hash_connect(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	struct net *net = sock_net(sk);
	u32 offset;
	int err;

	if (inet->inet_num) {
		struct estp_hashbucket *head = estp_bhash_bucket(net, inet->inet_num);
		struct inet_timewait_sock *tw;

		spin_lock_bh(&head->lock);
		err = estp_ehash_insert_unique(sk, true, &tw);
		spin_unlock_bh(&head->lock);
		if (tw)
			estp_twsk_deschedule_put(tw);
		return err;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (estp_sk_v6(sk))
		offset = siphash_3u32(__ipv6_addr_jhash(&sk->sk_v6_rcv_saddr, 0),
				      __ipv6_addr_jhash(&sk->sk_v6_daddr, 0),
				      (__force u32)inet->inet_dport, &estp_port_secret);
	else
#endif
		offset = siphash_3u32((__force u32)inet->inet_rcv_saddr,
				      (__force u32)inet->inet_daddr,
				      (__force u32)inet->inet_dport, &estp_port_secret);
	return estp_walk_ports(sk, offset, estp_connect_try_port, -EADDRNOTAVAIL);
}

/*
 * @new takes @old's place in its chain with one pointer store, so that a
 * lockless lookup finds the one or the other wherever it is in the chain
 * (hlist_nulls_replace_init_rcu() of 7.x; 6.1 and 6.12 lack it).  @old
 * keeps its next pointer for a lookup standing on it, and reads as unhashed.
 */
static void estp_nulls_replace_rcu(struct hlist_nulls_node *old,
				   struct hlist_nulls_node *new)
{
	struct hlist_nulls_node *next = old->next;

	new->next = next;
	WRITE_ONCE(new->pprev, old->pprev);
	rcu_assign_pointer(*(struct hlist_nulls_node __rcu __force **)new->pprev, new);
	if (!is_a_nulls(next))
		WRITE_ONCE(next->pprev, &new->next);
	WRITE_ONCE(old->pprev, NULL);
}

/**
 * estp_ehash_insert - put sk into the established hash in place of osk
 *	(inet_ehash_insert)
 * @sk: the sock to insert, or NULL to only remove @osk
 * @osk: the sock it replaces, or NULL to insert @sk if its 4-tuple is free
 *
 * The hash's reference moves with the node: @sk must already count one,
 * and the caller drops the one @osk had.  With @osk, nothing is inserted if
 * another CPU removed @osk first: the race of two final ACKs, or of an ACK
 * and the SYN-ACK timer.  @sk replaces @osk in one store: removing @osk and
 * then adding @sk left a moment in which a lookup found neither, and the
 * peer's segment got a RST (a FIN for a sock becoming a minisock; a
 * segment right after the final ACK for a request sock becoming a child).
 *
 * Return: true if the hash changed as asked.
 */
bool estp_ehash_insert(struct sock *sk, struct sock *osk)
{
	struct estp_nulls_bucket *head = estp_sk_ehash_bucket(sk ? : osk);
	bool done = false;

	spin_lock_bh(&head->lock);
	if (osk && sk) {
		if (!sk_unhashed(osk)) {
			estp_nulls_replace_rcu(&osk->sk_nulls_node, &sk->sk_nulls_node);
			done = true;
			/*
			 * Fault point "ehash_replace": a minisock that took
			 * its sock's place waits here for the peer's FIN from
			 * another CPU, which must find it (2 s at most).
			 */
			if (sk->sk_state == TCP_TIME_WAIT)
				estp_fault_hold("ehash_replace",
						READ_ONCE(inet_twsk(sk)->tw_substate) ==
						TCP_TIME_WAIT);
		}
	} else if (osk) {
		done = __sk_nulls_del_node_init_rcu(osk);
	} else {
		done = !estp_ehash_holder(head, sk);
		if (done)
			__sk_nulls_add_node_rcu(sk, &head->chain);
	}
	spin_unlock_bh(&head->lock);
	return done;
}

/**
 * estp_inherit_port - a child owns its port in the bind hash with its
 *	listener (__inet_inherit_port)
 * @listener: the listener, which owns the port, or owned it
 * @child: the new sock, its inet_num the port of its request
 *
 * A listener that stopped and listens again on another port (an ephemeral
 * one) no longer owns the child's port: the child then owns that port's
 * bucket, found or made here.  A listener that is closing may own no
 * bucket any more (fault point "inherit_port" acts as if so).
 *
 * Return: 0; -ENOENT when the listener has no bucket, -ENOBUFS when the
 * port's bucket cannot be made.  The child owns no port then.
 */
int estp_inherit_port(const struct sock *listener, struct sock *child)
{
	unsigned short port = inet_sk(child)->inet_num;
	struct estp_hashbucket *head = estp_bhash_bucket(sock_net(child), port);
	struct estp_bind_bucket *tb;
	int err = 0;

	spin_lock_bh(&head->lock);
	tb = estp_sk(listener)->bind_hash;
	if (estp_fault("inherit_port"))
		tb = NULL;
	if (unlikely(!tb)) {
		err = -ENOENT;
	} else if (unlikely(tb->port != port)) {
		/* The lock is this port's: tb, another port's, is not ours. */
		tb = estp_bind_bucket_find(head, sock_net(child), port);
		err = estp_bind_hash(child, head, tb, port);
	} else {
		sk_add_bind_node(child, &tb->owners);
		estp_sk(child)->bind_hash = tb;
	}
	spin_unlock_bh(&head->lock);
	return err;
}

/**
 * estp_twsk_bind - a time-wait minisock takes over sk's place in the bind
 *	bucket, so that its port stays taken (inet_twsk_hashdance)
 * @tw: the minisock
 * @sk: the sock it replaces, which keeps its own place until it is gone
 */
void estp_twsk_bind(struct inet_timewait_sock *tw, struct sock *sk)
{
	struct estp_hashbucket *head = estp_bhash_bucket(sock_net(sk), sk->sk_num);
	struct estp_bind_bucket *tb;

	spin_lock_bh(&head->lock);
	tb = estp_sk(sk)->bind_hash;
	if (tb) {
		sk_add_bind_node((struct sock *)tw, &tb->owners);
		estp_twsk(tw)->bind_hash = tb;
	}
	spin_unlock_bh(&head->lock);
}

/**
 * estp_twsk_unbind - a time-wait minisock gives its port back
 * @tw: the minisock
 */
void estp_twsk_unbind(struct inet_timewait_sock *tw)
{
	struct estp_hashbucket *head = estp_bhash_bucket(twsk_net(tw), tw->tw_num);
	struct estp_timewait_sock *etw = estp_twsk(tw);

	spin_lock_bh(&head->lock);
	if (etw->bind_hash) {
		estp_unbind((struct sock *)tw, etw->bind_hash);
		etw->bind_hash = NULL;
	}
	spin_unlock_bh(&head->lock);
}

/**
 * estp_reqsk_purge - free the request socks of a listener that stops
 * @listener: the listener, no longer in LISTEN
 *
 * Walks the whole established hash once: a listener closes rarely, and its
 * request socks must not wait for their timers (nor hold the module).
 */
void estp_reqsk_purge(struct sock *listener)
{
	unsigned int b;

	for (b = 0; b <= estp_hashinfo.ehash_mask; b++) {
		struct estp_nulls_bucket *head = &estp_hashinfo.ehash[b];
		struct hlist_nulls_node *node;
		struct request_sock *req;
		struct sock *sk;

		if (hlist_nulls_empty(&head->chain))
			continue;
again:
		req = NULL;
		spin_lock_bh(&head->lock);
		sk_nulls_for_each(sk, node, &head->chain) {
			if (sk->sk_state == TCP_NEW_SYN_RECV &&
			    inet_reqsk(sk)->rsk_listener == listener &&
			    refcount_inc_not_zero(&sk->sk_refcnt)) {
				req = inet_reqsk(sk);
				break;
			}
		}
		spin_unlock_bh(&head->lock);
		if (req) {
			estp_reqsk_queue_drop(listener, req);
			estp_reqsk_put(req);
			goto again;
		}
	}
}

/*
 * A listener with SO_REUSEPORT joins the group of another on its port, as
 * inet_reuseport_add_sock(): same device, same address, same user, both
 * listening with SO_REUSEPORT; or it starts a group of its own.  Under the
 * listen bucket's lock.
 */
static int estp_reuseport_add_sock(struct sock *sk, struct estp_nulls_bucket *head)
{
	const struct estp_bind_bucket *tb = estp_sk(sk)->bind_hash;
	bool any = estp_rcv_saddr_any(sk);
	kuid_t uid = READ_ONCE(sk->sk_uid);
	struct hlist_nulls_node *node;
	struct sock *sk2;

	sk_nulls_for_each(sk2, node, &head->chain) {
		if (sk2 != sk && sk2->sk_family == sk->sk_family &&
		    ipv6_only_sock(sk2) == ipv6_only_sock(sk) &&
		    sk2->sk_bound_dev_if == sk->sk_bound_dev_if &&
		    estp_sk(sk2)->bind_hash == tb && sk2->sk_reuseport &&
		    uid_eq(uid, READ_ONCE(sk2->sk_uid)) &&
		    estp_saddr_equal(sk, sk2, false))
			return reuseport_add_sock(sk, sk2, any);
	}
	return reuseport_alloc(sk, any);
}

/**
 * estp_hash - proto->hash: make sk visible to the receive path
 * @sk: a listening socket; a connecting one is hashed by estp_hash_connect()
 *
 * Return: 0, or -ENOMEM when a listener with SO_REUSEPORT gets no group.
 */
int estp_hash(struct sock *sk)
{
	struct estp_nulls_bucket *head;
	int err = 0;

	if (sk->sk_state != TCP_LISTEN)
		return 0;
	head = estp_lhash_bucket(sock_net(sk), inet_sk(sk)->inet_num);
	spin_lock_bh(&head->lock);
	if (sk->sk_reuseport)
		err = estp_reuseport_add_sock(sk, head);
	if (!err)
		sk_nulls_add_node_rcu(sk, &head->chain);
	spin_unlock_bh(&head->lock);
	return err;
}

/*
 * How well a listener fits a segment to @k, 0 when it does not
 * (compute_score()): see estp_lookup_listener() and
 * estp_lookup_listener6().
 */
static int estp_listener_score(const struct sock *sk, const struct estp_ehash_key *k)
{
	if (inet_sk(sk)->inet_num != k->lport || !net_eq(sock_net(sk), k->net))
		return 0;
	if (sk->sk_bound_dev_if && sk->sk_bound_dev_if != k->dif)
		return 0;
#if IS_ENABLED(CONFIG_IPV6)
	if (k->laddr6) {
		bool any;

		if (sk->sk_family != AF_INET6)
			return 0;
		any = ipv6_addr_any(&sk->sk_v6_rcv_saddr);
		if (!any && !ipv6_addr_equal(&sk->sk_v6_rcv_saddr, k->laddr6))
			return 0;
		return 1 + 2 * !any + !!sk->sk_bound_dev_if;
	}
#endif
	if (ipv6_only_sock(sk))
		return 0;
	if (sk->sk_rcv_saddr && sk->sk_rcv_saddr != k->laddr)
		return 0;
	return 1 + 4 * !!sk->sk_rcv_saddr + 2 * !!sk->sk_bound_dev_if +
	       (sk->sk_family == AF_INET);
}

/*
 * The best listener for @k, or the member of its SO_REUSEPORT group that
 * the group's program (SO_ATTACH_REUSEPORT_CBPF/EBPF) or else the
 * 4-tuple's hash picks, as TCP's inet_lookup_reuseport().
 */
static struct sock *estp_listener_lookup(const struct estp_ehash_key *k,
					 struct sk_buff *skb)
{
	struct estp_nulls_bucket *head = estp_lhash_bucket(k->net, k->lport);
	struct sock *sk, *result = NULL;
	struct hlist_nulls_node *node;
	int score, best = 0;

	sk_nulls_for_each_rcu(sk, node, &head->chain) {
		score = estp_listener_score(sk, k);
		if (score <= best)
			continue;
		if (sk->sk_reuseport) {
			struct sock *member;
			u32 hash;

#if IS_ENABLED(CONFIG_IPV6)
			if (k->laddr6)
				hash = estp_ehashfn6(k->net, k->laddr6, k->lport, k->faddr6,
						     k->fport);
			else
#endif
				hash = estp_ehashfn(k->net, k->laddr, k->lport, k->faddr,
						    k->fport);
			member = reuseport_select_sock(sk, hash, skb,
						       estp_hdr(skb)->doff * 4);
			if (member)
				return member;
		}
		best = score;
		result = sk;
	}
	return result;
}

/**
 * estp_lookup_listener - the listener a segment for daddr:dport goes to
 *	(inet_lhash2_lookup)
 * @net: the netns the segment arrived in
 * @skb: the segment, data at its ESTP header
 * @saddr: source address
 * @sport: source port
 * @daddr: destination address
 * @dport: destination port
 * @dif: the device it arrived on
 *
 * A listener bound to daddr wins over one bound to the wildcard address,
 * one bound to a device over one that is not, and then an IPv4 listener
 * over an IPv6 one without IPV6_V6ONLY (or bound to daddr v4-mapped),
 * which takes IPv4 too (compute_score()); a listener bound to another
 * device does not match.  Of an SO_REUSEPORT
 * group, the member its program (SO_ATTACH_REUSEPORT_CBPF/EBPF) picks, or
 * else the one the 4-tuple's hash picks, as TCP's inet_lookup_reuseport().
 * Called under rcu_read_lock(); listeners are freed after a grace period
 * (SOCK_RCU_FREE), so the result is valid until rcu_read_unlock() without a
 * reference.
 *
 * Return: the listener or NULL.
 */
struct sock *estp_lookup_listener(struct net *net, struct sk_buff *skb,
				  __be32 saddr, __be16 sport, __be32 daddr,
				  __be16 dport, int dif)
{
	const struct estp_ehash_key k = {
		.net = net, .faddr = saddr, .laddr = daddr,
		.fport = sport, .lport = ntohs(dport), .dif = dif,
	};

	return estp_listener_lookup(&k, skb);
}

#if IS_ENABLED(CONFIG_IPV6)
/**
 * estp_lookup_established6 - the sock of an IPv6 4-tuple
 *	(__inet6_lookup_established)
 * @net: the netns
 * @saddr: the segment's source address (the sock's peer)
 * @sport: its source port
 * @daddr: the segment's destination address (the sock's own)
 * @dport: its destination port
 * @dif: the device the segment arrived on
 *
 * As estp_lookup_established(), under rcu_read_lock().
 *
 * Return: the sock with a reference the caller drops, or NULL.
 */
struct sock *estp_lookup_established6(struct net *net, const struct in6_addr *saddr,
				      __be16 sport, const struct in6_addr *daddr,
				      __be16 dport, int dif)
{
	const struct estp_ehash_key k = {
		.net = net, .faddr6 = saddr, .laddr6 = daddr,
		.fport = sport, .lport = ntohs(dport), .dif = dif,
	};

	return estp_ehash_lookup(&k, estp_ehashfn6(net, daddr, k.lport, saddr, sport) &
				 estp_hashinfo.ehash_mask);
}

/**
 * estp_lookup_listener6 - the IPv6 listener a segment for daddr:dport goes
 *	to (inet6_lhash2_lookup)
 * @net: the netns the segment arrived in
 * @skb: the segment, data at its ESTP header
 * @saddr: source address
 * @sport: source port
 * @daddr: destination address
 * @dport: destination port
 * @dif: the device it arrived on
 *
 * Only IPv6 listeners take IPv6 segments; one bound to daddr wins over one
 * bound to ::, one bound to a device over one that is not.  As
 * estp_lookup_listener(), under rcu_read_lock(), without a reference.
 *
 * Return: the listener or NULL.
 */
struct sock *estp_lookup_listener6(struct net *net, struct sk_buff *skb,
				   const struct in6_addr *saddr, __be16 sport,
				   const struct in6_addr *daddr, __be16 dport, int dif)
{
	const struct estp_ehash_key k = {
		.net = net, .faddr6 = saddr, .laddr6 = daddr,
		.fport = sport, .lport = ntohs(dport), .dif = dif,
	};

	return estp_listener_lookup(&k, skb);
}
#endif

/**
 * estp_unhash - proto->unhash: the reverse of estp_hash()
 * @sk: the socket, still in the state it was hashed in
 */
void estp_unhash(struct sock *sk)
{
	struct estp_nulls_bucket *head;

	if (sk_unhashed(sk))
		return;
	if (sk->sk_state == TCP_LISTEN)
		head = estp_lhash_bucket(sock_net(sk), inet_sk(sk)->inet_num);
	else
		head = estp_sk_ehash_bucket(sk);
	spin_lock_bh(&head->lock);
	/*
	 * It leaves its SO_REUSEPORT group at once: the group goes on with
	 * the others, and no new connection is given to it.  TCP may keep it
	 * in the group's closed section to migrate its requests
	 * (net.ipv4.tcp_migrate_req), which ESTP does not.
	 */
	if (rcu_access_pointer(sk->sk_reuseport_cb))
		reuseport_detach_sock(sk);
	sk_nulls_del_node_init_rcu(sk);
	spin_unlock_bh(&head->lock);
}
