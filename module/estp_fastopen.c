// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP Fast Open (RFC 7413), the counterpart of net/ipv4/tcp_fastopen.c:
 * the keys and cookies of a server, the child a SYN with a valid cookie
 * makes before the handshake ends, its request sock's end
 * (reqsk_fastopen_remove), and a client's cookie cache (TCP keeps it in
 * tcp_metrics) with its blackhole detection.
 *
 * A passive Fast Open child and its request sock:
 * - the child is a full sock in SYN_RECV, hashed in ehash in place of a
 *   request sock (the request is never hashed), queued for accept() at
 *   once; esk->fastopen_rsk points at the request until the final ACK,
 *   a RST or the child's end, all under the child's lock.
 * - the request has one reference, which the accept queue and the
 *   child's fastopen_rsk share: whichever of accept() and
 *   estp_reqsk_fastopen_remove() comes second drops it.  req->sk set
 *   means "not accepted yet"; accept() clears it while the handshake
 *   runs, under the fastopen queue's lock.
 * - the listener counts such children in fastopenq.qlen, under
 *   fastopenq.lock; estp_reqsk_fastopen_remove() takes one out, once.
 */
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <net/inet_common.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "estp.h"
#include "estp_trace.h"

/* A cookie cache of ESTP_FO_CACHE_BUCKETS chains of up to DEPTH entries. */
#define ESTP_FO_CACHE_BITS	6
#define ESTP_FO_CACHE_BUCKETS	BIT(ESTP_FO_CACHE_BITS)
#define ESTP_FO_CACHE_DEPTH	4

/*
 * What a client remembers of a server (struct tcp_fastopen_metrics),
 * keyed by both addresses as tcp_metrics is: the server's cookie covers
 * our address too.
 */
struct estp_fastopen_cache_entry {
	struct hlist_node		node;
	struct in6_addr			saddr;	/* IPv4: v4-mapped */
	struct in6_addr			daddr;
	unsigned long			stamp;	/* jiffies of the last use */
	u16				mss;	/* the server's MSS option */
	u8				try_exp; /* 1: ask in kind 254 next, 2: back to 34 */
	struct estp_fastopen_cookie	cookie;
};

struct estp_fastopen_cache {
	spinlock_t		lock;		/* every chain */
	struct hlist_head	chain[ESTP_FO_CACHE_BUCKETS];
};

static void estp_fastopen_ctx_free(struct rcu_head *head)
{
	kfree_sensitive(container_of(head, struct estp_fastopen_ctx, rcu));
}

/**
 * estp_fastopen_reset_cipher - set the netns's or a listener's keys
 *	(tcp_fastopen_reset_cipher)
 * @net: the netns
 * @sk: the socket whose own keys these are, or NULL for the netns's
 * @primary: ESTP_FASTOPEN_KEY_LENGTH bytes, the key new cookies use
 * @backup: as many more, a key that still validates cookies, or NULL
 *
 * Return: 0 or -ENOMEM.
 */
int estp_fastopen_reset_cipher(struct net *net, struct sock *sk, const void *primary,
			       const void *backup)
{
	struct estp_fastopen_ctx *ctx, *octx;
	struct estp_fastopen_ctx __rcu **slot;

	ctx = kmalloc_obj(*ctx, GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->key[0].key[0] = get_unaligned_le64(primary);
	ctx->key[0].key[1] = get_unaligned_le64(primary + 8);
	ctx->num = 1;
	if (backup) {
		ctx->key[1].key[0] = get_unaligned_le64(backup);
		ctx->key[1].key[1] = get_unaligned_le64(backup + 8);
		ctx->num = 2;
	}
	slot = sk ? &estp_sk(sk)->accept_queue.fastopenq.ctx :
		    &estp_pernet(net)->fastopen_ctx;
	octx = unrcu_pointer(xchg(slot, RCU_INITIALIZER(ctx)));
	if (octx)
		call_rcu(&octx->rcu, estp_fastopen_ctx_free);
	return 0;
}

/**
 * estp_fastopen_init_key_once - a random key for the netns, if it has none
 *	(tcp_fastopen_init_key_once)
 * @net: the netns
 *
 * Two callers may race; the last key stays, and a cookie made with the
 * other fails as a stale one would.
 */
void estp_fastopen_init_key_once(struct net *net)
{
	u8 key[ESTP_FASTOPEN_KEY_LENGTH];

	if (rcu_access_pointer(estp_pernet(net)->fastopen_ctx))
		return;
	get_random_bytes(key, sizeof(key));
	estp_fastopen_reset_cipher(net, NULL, key, NULL);
	memzero_explicit(key, sizeof(key));
}

/**
 * estp_fastopen_get_cipher - the keys, for ESTP_FASTOPEN_KEY and the sysctl
 *	(tcp_fastopen_get_cipher)
 * @net: the netns
 * @sk: the socket whose own keys to read, or NULL for the netns's
 * @key: room for ESTP_FASTOPEN_KEY_MAX keys, as two little-endian u64 each
 *
 * Return: how many keys were written.
 */
int estp_fastopen_get_cipher(struct net *net, struct sock *sk, u64 *key)
{
	struct estp_fastopen_ctx *ctx;
	int i, n = 0;

	rcu_read_lock();
	if (sk)
		ctx = rcu_dereference(estp_sk(sk)->accept_queue.fastopenq.ctx);
	else
		ctx = rcu_dereference(estp_pernet(net)->fastopen_ctx);
	if (ctx) {
		n = ctx->num;
		for (i = 0; i < n; i++) {
			put_unaligned_le64(ctx->key[i].key[0], key + i * 2);
			put_unaligned_le64(ctx->key[i].key[1], key + i * 2 + 1);
		}
	}
	rcu_read_unlock();
	return n;
}

/**
 * estp_fastopen_destroy_cipher - a socket's own keys go with it
 * @sk: the socket, being destroyed
 */
void estp_fastopen_destroy_cipher(struct sock *sk)
{
	struct estp_fastopen_ctx *ctx;

	ctx = rcu_dereference_protected(estp_sk(sk)->accept_queue.fastopenq.ctx, 1);
	if (ctx) {
		RCU_INIT_POINTER(estp_sk(sk)->accept_queue.fastopenq.ctx, NULL);
		call_rcu(&ctx->rcu, estp_fastopen_ctx_free);
	}
}

/* The listener's keys, else its netns's (tcp_fastopen_get_ctx). Under RCU. */
static struct estp_fastopen_ctx *estp_fastopen_get_ctx(const struct sock *sk)
{
	struct estp_fastopen_ctx *ctx;

	ctx = rcu_dereference(estp_sk(sk)->accept_queue.fastopenq.ctx);
	return ctx ? : rcu_dereference(estp_pernet(sock_net(sk))->fastopen_ctx);
}

/*
 * SipHash of the SYN's source and destination addresses, as TCP's cookie
 * (__tcp_fastopen_cookie_gen_cipher): the client's address, and ours.
 */
static void estp_fastopen_cookie_gen_key(const struct request_sock *req,
					 const struct sk_buff *syn,
					 const siphash_key_t *key,
					 struct estp_fastopen_cookie *foc)
{
	u64 hash;

	if (inet_rsk(req)->ireq_family == AF_INET) {
		const struct iphdr *iph = ip_hdr(syn);

		hash = siphash(&iph->saddr, sizeof(iph->saddr) + sizeof(iph->daddr), key);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(syn);

		hash = siphash(&ip6h->saddr, sizeof(ip6h->saddr) + sizeof(ip6h->daddr), key);
	}
	put_unaligned_le64(hash, foc->val);
	foc->len = ESTP_FASTOPEN_COOKIE_SIZE;
}

/* The cookie of the primary key, for a SYN that asks for one. */
static void estp_fastopen_cookie_gen(const struct sock *listener,
				     const struct request_sock *req,
				     const struct sk_buff *syn,
				     struct estp_fastopen_cookie *foc)
{
	struct estp_fastopen_ctx *ctx;

	rcu_read_lock();
	ctx = estp_fastopen_get_ctx(listener);
	if (ctx)
		estp_fastopen_cookie_gen_key(req, syn, &ctx->key[0], foc);
	rcu_read_unlock();
}

static bool estp_fastopen_cookie_match(const struct estp_fastopen_cookie *foc,
				       const struct estp_fastopen_cookie *orig)
{
	return orig->len == ESTP_FASTOPEN_COOKIE_SIZE && orig->len == foc->len &&
	       !memcmp(foc->val, orig->val, foc->len);
}

/*
 * Which key the SYN's cookie @orig was made with (tcp_fastopen_cookie_gen_check):
 * 0 none, 1 the primary, 2 the backup.  @valid gets the primary's cookie.
 */
static int estp_fastopen_cookie_gen_check(const struct sock *listener,
					  const struct request_sock *req,
					  const struct sk_buff *syn,
					  const struct estp_fastopen_cookie *orig,
					  struct estp_fastopen_cookie *valid)
{
	struct estp_fastopen_cookie other = { .len = -1 };
	struct estp_fastopen_cookie *foc = valid;
	struct estp_fastopen_ctx *ctx;
	int i, ret = 0;

	rcu_read_lock();
	ctx = estp_fastopen_get_ctx(listener);
	for (i = 0; ctx && i < ctx->num; i++) {
		estp_fastopen_cookie_gen_key(req, syn, &ctx->key[i], foc);
		if (estp_fastopen_cookie_match(foc, orig)) {
			ret = i + 1;
			break;
		}
		foc = &other;
	}
	rcu_read_unlock();
	return ret;
}

/**
 * estp_fastopen_queue_tune - the most Fast Open children a listener keeps
 *	in their handshake (fastopen_queue_tune)
 * @sk: the socket, locked, in CLOSE or LISTEN
 * @backlog: ESTP_FASTOPEN's value, or listen()'s backlog
 */
void estp_fastopen_queue_tune(struct sock *sk, int backlog)
{
	int somaxconn = READ_ONCE(sock_net(sk)->core.sysctl_somaxconn);

	WRITE_ONCE(estp_sk(sk)->accept_queue.fastopenq.max_qlen, min(backlog, somaxconn));
}

/*
 * Room for one more Fast Open child (tcp_fastopen_queue_check): under
 * max_qlen, or the oldest request a RST ended has served its 60 s and
 * makes room.
 */
static bool estp_fastopen_queue_check(struct sock *listener)
{
	struct estp_fastopen_queue *q = &estp_sk(listener)->accept_queue.fastopenq;
	int max_qlen = READ_ONCE(q->max_qlen);
	struct request_sock *req;

	if (!max_qlen)
		return false;
	if (READ_ONCE(q->qlen) < max_qlen)
		return true;
	spin_lock(&q->lock);
	req = q->rst_head;
	if (!req || time_after(req->rsk_timer.expires, jiffies)) {
		spin_unlock(&q->lock);
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_FASTOPENLISTENOVERFLOW);
		return false;
	}
	q->rst_head = req->dl_next;
	q->qlen--;
	spin_unlock(&q->lock);
	estp_reqsk_put(req);
	return true;
}

/*
 * No cookie needed (tcp_fastopen_no_cookie): the netns's @flag, or the
 * socket's ESTP_FASTOPEN_NO_COOKIE.  TCP's per-route fastopen_no_cookie
 * metric has no ESTP counterpart.
 */
static bool estp_fastopen_no_cookie(const struct sock *sk, int flag)
{
	return (READ_ONCE(estp_pernet(sock_net(sk))->fastopen) & flag) ||
	       estp_sk(sk)->fastopen_no_cookie;
}

/*
 * The child of a SYN with a valid cookie (tcp_fastopen_create_child): a
 * full sock in SYN_RECV, hashed, that has taken the SYN's data and may
 * send before the final ACK.  Returned locked; req->sk points at it, so
 * that its end before the accept queue takes it leaves the request to the
 * queue (estp_reqsk_fastopen_remove()).
 */
static struct sock *estp_fastopen_create_child(struct sock *listener,
					       struct sk_buff *skb,
					       struct request_sock *req)
{
	struct estp_fastopen_queue *q = &estp_sk(listener)->accept_queue.fastopenq;
	struct estp_request_sock *ereq = estp_rsk(req);
	struct estp_sock *esk;
	struct sock *child;

	/* The SYN-ACK's window, which the child takes (tcp_openreq_init_rwin). */
	if (!ereq->rcv_wnd && estp_synack_window(listener, req))
		return NULL;
	/* estp_csk_clone() keeps the child locked for it. */
	ereq->tfo_listener = true;
	child = estp_sk(listener)->af_ops->syn_recv_sock(listener, skb, req);
	if (!child) {
		ereq->tfo_listener = false;
		return NULL;
	}
	spin_lock(&q->lock);
	q->qlen++;
	spin_unlock(&q->lock);

	esk = estp_sk(child);
	rcu_assign_pointer(esk->fastopen_rsk, req);
	req->sk = child;
	/* RFC 7323 2.2: the SYN's window is not scaled. */
	esk->snd_wnd = ntohs(estp_hdr(skb)->window);
	esk->max_window = esk->snd_wnd;
	esk->snd_wl1 = ntohl(estp_hdr(skb)->seq);
	/* The SYN-ACK goes again on the child's retransmit timer. */
	req->timeout = ESTP_TIMEOUT_INIT;
	sk_reset_timer(child, &esk->retransmit_timer, jiffies + req->timeout);
	estp_init_transfer(child);
	estp_fastopen_add_skb(child, skb);
	ereq->rcv_nxt = esk->rcv_nxt;
	esk->rcv_wup = esk->rcv_nxt;
	return child;
}

/**
 * estp_try_fastopen - whether a SYN makes a child at once (tcp_try_fastopen)
 * @listener: the listener
 * @skb: the SYN
 * @req: its request sock, not hashed
 * @foc: in: the SYN's Fast Open option (len -1 if none); out: the cookie
 *	the SYN-ACK carries (len -1: none)
 *
 * With net.estp.fastopen's server bit and the listener's queue not full,
 * a SYN asking for a cookie gets one; a valid cookie (or none needed)
 * makes the child; an invalid one falls back to the handshake and the
 * SYN-ACK carries a fresh cookie.
 *
 * Return: the child, locked, hashed in SYN_RECV; or NULL.
 */
struct sock *estp_try_fastopen(struct sock *listener, struct sk_buff *skb,
			       struct request_sock *req,
			       struct estp_fastopen_cookie *foc)
{
	const struct estphdr *th = estp_hdr(skb);
	bool syn_data = skb->len > th->doff * 4;
	int fastopen = READ_ONCE(estp_pernet(sock_net(listener))->fastopen);
	struct estp_fastopen_cookie valid = { .len = -1 };
	struct net *net = sock_net(listener);
	struct sock *child;
	int ret = 0;

	if (foc->len == 0)
		ESTP_INC_STATS(net, ESTP_MIB_FASTOPENCOOKIEREQD);
	if (!((fastopen & ESTP_TFO_SERVER_ENABLE) && (syn_data || foc->len >= 0) &&
	      estp_fastopen_queue_check(listener))) {
		foc->len = -1;
		return NULL;
	}
	if (estp_fastopen_no_cookie(listener, ESTP_TFO_SERVER_COOKIE_NOT_REQD))
		goto fastopen;
	if (foc->len == 0) {
		estp_fastopen_cookie_gen(listener, req, skb, &valid);
	} else if (foc->len > 0) {
		ret = estp_fastopen_cookie_gen_check(listener, req, skb, foc, &valid);
		if (!ret) {
			ESTP_INC_STATS(net, ESTP_MIB_FASTOPENPASSIVEFAIL);
		} else {
			/*
			 * A valid cookie: the child takes the SYN's data, or
			 * may send first if there is none.  Without a child
			 * the SYN-ACK acks the ISN only, with the cookie.
			 */
fastopen:
			child = estp_fastopen_create_child(listener, skb, req);
			if (child) {
				if (ret == 2) {
					/* The backup key's: the primary's goes back. */
					valid.exp = foc->exp;
					*foc = valid;
					ESTP_INC_STATS(net, ESTP_MIB_FASTOPENPASSIVEALTKEY);
				} else {
					foc->len = -1;
				}
				ESTP_INC_STATS(net, ESTP_MIB_FASTOPENPASSIVE);
				return child;
			}
			ESTP_INC_STATS(net, ESTP_MIB_FASTOPENPASSIVEFAIL);
		}
	}
	valid.exp = foc->exp;
	*foc = valid;
	return NULL;
}

/**
 * estp_reqsk_fastopen_remove - a Fast Open child's handshake is over: its
 *	request sock leaves the listener's count (reqsk_fastopen_remove)
 * @sk: the child, locked, whose fastopen_rsk is @req
 * @req: the request sock
 * @reset: a RST ended the handshake: a request already accepted stays
 *	60 s in the count, against spoofed SYNs (the rst list)
 *
 * Called once for a request: by the final ACK, by a RST, and by
 * estp_done() for every other end.
 */
void estp_reqsk_fastopen_remove(struct sock *sk, struct request_sock *req, bool reset)
{
	struct sock *listener = req->rsk_listener;
	struct estp_fastopen_queue *q = &estp_sk(listener)->accept_queue.fastopenq;

	trace_estp_fastopen_remove(sk, reset);
	RCU_INIT_POINTER(estp_sk(sk)->fastopen_rsk, NULL);
	spin_lock_bh(&q->lock);
	q->qlen--;
	estp_rsk(req)->tfo_listener = false;
	/* Not accepted yet: the accept queue's reference is the request's. */
	if (req->sk)
		goto out;
	if (!reset || inet_sk_state_load(listener) != TCP_LISTEN) {
		spin_unlock_bh(&q->lock);
		estp_reqsk_put(req);
		return;
	}
	req->rsk_timer.expires = jiffies + 60 * HZ;
	if (!q->rst_head)
		q->rst_head = req;
	else
		q->rst_tail->dl_next = req;
	req->dl_next = NULL;
	q->rst_tail = req;
	q->qlen++;
out:
	spin_unlock_bh(&q->lock);
}

/**
 * estp_fastopen_purge_rst - a listener stops: the requests RSTs ended go
 * @listener: the listener, locked, out of LISTEN
 */
void estp_fastopen_purge_rst(struct sock *listener)
{
	struct estp_fastopen_queue *q = &estp_sk(listener)->accept_queue.fastopenq;
	struct request_sock *req, *next;

	spin_lock_bh(&q->lock);
	req = q->rst_head;
	q->rst_head = NULL;
	q->rst_tail = NULL;
	for (next = req; next; next = next->dl_next)
		q->qlen--;
	spin_unlock_bh(&q->lock);
	for (; req; req = next) {
		next = req->dl_next;
		estp_reqsk_put(req);
	}
}

/* The cache's key of a connecting sock: both addresses, IPv4 mapped. */
static void estp_fastopen_cache_key(const struct sock *sk, struct in6_addr *saddr,
				    struct in6_addr *daddr)
{
#if IS_ENABLED(CONFIG_IPV6)
	/*
	 * A v4-mapped peer's connect sets the IPv6 view of the source only
	 * after the SYN: its IPv4 addresses are the key, mapped.
	 */
	if (sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		*saddr = sk->sk_v6_rcv_saddr;
		*daddr = sk->sk_v6_daddr;
		return;
	}
#endif
	ipv6_addr_set_v4mapped(sk->sk_rcv_saddr, saddr);
	ipv6_addr_set_v4mapped(sk->sk_daddr, daddr);
}

static struct hlist_head *estp_fastopen_cache_chain(struct estp_fastopen_cache *c,
						    const struct in6_addr *saddr,
						    const struct in6_addr *daddr)
{
	u32 hash = jhash2((const u32 *)daddr, 4, ipv6_addr_hash(saddr));

	return &c->chain[hash_32(hash, ESTP_FO_CACHE_BITS)];
}

/* The entry for @sk's addresses, under the cache's lock; NULL if none. */
static struct estp_fastopen_cache_entry *
estp_fastopen_cache_find(struct hlist_head *chain, const struct in6_addr *saddr,
			 const struct in6_addr *daddr, int *depth,
			 struct estp_fastopen_cache_entry **oldest)
{
	struct estp_fastopen_cache_entry *e;

	*depth = 0;
	*oldest = NULL;
	hlist_for_each_entry(e, chain, node) {
		if (ipv6_addr_equal(&e->saddr, saddr) && ipv6_addr_equal(&e->daddr, daddr))
			return e;
		if (!*oldest || time_before(e->stamp, (*oldest)->stamp))
			*oldest = e;
		(*depth)++;
	}
	return NULL;
}

/*
 * What the cache holds for @sk's server (tcp_fastopen_cache_get): its MSS
 * (into *@mss if known) and cookie; without a cookie, whether to ask in
 * the experimental option.
 */
static void estp_fastopen_cache_get(struct sock *sk, u16 *mss,
				    struct estp_fastopen_cookie *cookie)
{
	struct estp_fastopen_cache *c = estp_pernet(sock_net(sk))->fastopen_cache;
	struct estp_fastopen_cache_entry *e, *oldest;
	struct in6_addr saddr, daddr;
	int depth;

	estp_fastopen_cache_key(sk, &saddr, &daddr);
	spin_lock_bh(&c->lock);
	e = estp_fastopen_cache_find(estp_fastopen_cache_chain(c, &saddr, &daddr),
				     &saddr, &daddr, &depth, &oldest);
	if (e) {
		e->stamp = jiffies;
		if (e->mss)
			*mss = e->mss;
		*cookie = e->cookie;
		if (cookie->len <= 0 && e->try_exp == 1)
			cookie->exp = true;
	}
	spin_unlock_bh(&c->lock);
}

/**
 * estp_fastopen_cache_set - remember what a SYN-ACK told of its server
 *	(tcp_fastopen_cache_set)
 * @sk: the connecting socket
 * @mss: the server's MSS option, or 0
 * @cookie: its cookie, or NULL or len <= 0 for none
 * @syn_lost: unused by the kernels of the matrix since TCP dropped its
 *	SYN-loss heuristic; kept for the call's shape
 * @try_exp: 1: ask in the experimental option next time; 2: back to 34
 *
 * A full chain gives its least recently used entry.
 */
void estp_fastopen_cache_set(struct sock *sk, u16 mss,
			     const struct estp_fastopen_cookie *cookie,
			     bool syn_lost, u8 try_exp)
{
	struct estp_fastopen_cache *c = estp_pernet(sock_net(sk))->fastopen_cache;
	struct estp_fastopen_cache_entry *e, *oldest;
	struct in6_addr saddr, daddr;
	struct hlist_head *chain;
	int depth;

	estp_fastopen_cache_key(sk, &saddr, &daddr);
	chain = estp_fastopen_cache_chain(c, &saddr, &daddr);
	spin_lock_bh(&c->lock);
	e = estp_fastopen_cache_find(chain, &saddr, &daddr, &depth, &oldest);
	if (!e) {
		if (depth >= ESTP_FO_CACHE_DEPTH) {
			e = oldest;
		} else {
			e = kzalloc_obj(*e, GFP_ATOMIC);
			if (!e)
				goto out;
			hlist_add_head(&e->node, chain);
		}
		e->saddr = saddr;
		e->daddr = daddr;
		e->mss = 0;
		e->try_exp = 0;
		e->cookie.len = -1;
		e->cookie.exp = false;
	}
	e->stamp = jiffies;
	if (mss)
		e->mss = mss;
	if (cookie && cookie->len > 0)
		e->cookie = *cookie;
	else if (try_exp > e->try_exp && e->cookie.len <= 0 && !e->cookie.exp)
		e->try_exp = try_exp;
out:
	spin_unlock_bh(&c->lock);
}

/*
 * Active Fast Open paused in the netns after a blackhole (as TCP's, since
 * net.ipv4.tcp_fastopen_blackhole_timeout_sec): an hour the first time,
 * doubling each time up to 64 hours, until a Fast Open connection off
 * loopback gets data through.
 */

/**
 * estp_fastopen_active_disable - a blackhole was seen: pause active Fast
 *	Open in the netns (tcp_fastopen_active_disable)
 * @sk: the connection that saw it
 */
void estp_fastopen_active_disable(struct sock *sk)
{
	struct estp_net *en = estp_pernet(sock_net(sk));

	if (!READ_ONCE(en->fastopen_blackhole_timeout))
		return;
	WRITE_ONCE(en->tfo_active_disable_stamp, jiffies);
	/* The stamp before the count that makes it read. */
	smp_mb__before_atomic();
	atomic_inc(&en->tfo_active_disable_times);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_FASTOPENBLACKHOLE);
}

/* Whether active Fast Open is paused (tcp_fastopen_active_should_disable). */
static bool estp_fastopen_active_should_disable(struct sock *sk)
{
	struct estp_net *en = estp_pernet(sock_net(sk));
	unsigned int timeout = READ_ONCE(en->fastopen_blackhole_timeout);
	int times;

	if (!timeout)
		return false;
	times = atomic_read(&en->tfo_active_disable_times);
	if (!times)
		return false;
	/* The count before the stamp: estp_fastopen_active_disable() wrote them so. */
	smp_rmb();
	if (time_before(jiffies, READ_ONCE(en->tfo_active_disable_stamp) +
			((unsigned long)timeout * HZ << min(times - 1, 6))))
		return true;
	/* Past the pause: a success of this one ends it for the netns. */
	estp_sk(sk)->syn_fastopen_ch = 1;
	return false;
}

/**
 * estp_fastopen_active_disable_ofo_check - a blackhole's sign, or the end
 *	of the pause (tcp_fastopen_active_disable_ofo_check)
 * @sk: an active Fast Open connection, locked, that received data or a
 *	FIN out of order
 *
 * A FIN alone out of order with no data in: the path lost the server's
 * data.  Data in, off loopback, after the pause: the pause ends.
 */
void estp_fastopen_active_disable_ofo_check(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct estp_net *en = estp_pernet(sock_net(sk));
	struct dst_entry *dst;
	struct rb_node *p;

	if (!esk->syn_fastopen)
		return;
	if (!esk->data_segs_in) {
		p = rb_first(&esk->out_of_order_queue);
		if (p && !rb_next(p) && ESTP_SKB_CB(rb_to_skb(p))->fin)
			estp_fastopen_active_disable(sk);
		return;
	}
	if (esk->syn_fastopen_ch && atomic_read(&en->tfo_active_disable_times)) {
		rcu_read_lock();
		dst = __sk_dst_get(sk);
		if (!(dst && dst->dev && (dst->dev->flags & IFF_LOOPBACK)))
			atomic_set(&en->tfo_active_disable_times, 0);
		rcu_read_unlock();
	}
}

/**
 * estp_fastopen_active_detect_blackhole - a retransmission timeout of an
 *	active Fast Open connection (tcp_fastopen_active_detect_blackhole)
 * @sk: the connection, locked
 * @expired: its retries are spent
 *
 * The third timeout in a row, or the end of the retries before it, pauses
 * active Fast Open: a middlebox may drop what follows a SYN with data.
 */
void estp_fastopen_active_detect_blackhole(struct sock *sk, bool expired)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 timeouts = esk->retransmits;

	if ((esk->syn_fastopen || esk->syn_data || esk->syn_data_acked) &&
	    (timeouts == 2 || (timeouts < 2 && expired))) {
		estp_fastopen_active_disable(sk);
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_FASTOPENACTIVEFAIL);
	}
}

/**
 * estp_fastopen_cookie_check - the cookie our SYN carries
 *	(tcp_fastopen_cookie_check)
 * @sk: the connecting socket
 * @mss: in: our MSS; out: the server's, if the cache knows it
 * @cookie: out: the cached cookie (len -1: none)
 *
 * Return: true when the SYN may carry data: a cookie is cached, or none
 * is needed; false to send a SYN that asks for one (or no option at all
 * while active Fast Open is paused).
 */
bool estp_fastopen_cookie_check(struct sock *sk, u16 *mss,
				struct estp_fastopen_cookie *cookie)
{
	estp_fastopen_cache_get(sk, mss, cookie);
	if (estp_fastopen_active_should_disable(sk)) {
		cookie->len = -1;
		return false;
	}
	if (estp_fastopen_no_cookie(sk, ESTP_TFO_CLIENT_NO_COOKIE)) {
		cookie->len = -1;
		return true;
	}
	if (cookie->len > 0)
		return true;
	estp_sk(sk)->fastopen_client_fail = TFO_COOKIE_UNAVAILABLE;
	return false;
}

/**
 * estp_fastopen_defer_connect - connect() with ESTP_FASTOPEN_CONNECT
 *	(tcp_fastopen_defer_connect)
 * @sk: the socket, locked, in SYN_SENT, hashed, its ISS chosen
 * @err: out: -ENOBUFS when the SYN's option cannot be prepared
 *
 * With a cookie (or none needed), the SYN waits for the first write,
 * whose data it carries: connect() returns 0 at once.  Without one, the
 * SYN goes now and asks for a cookie.
 *
 * Return: true when the SYN waits.
 */
bool estp_fastopen_defer_connect(struct sock *sk, int *err)
{
	struct estp_fastopen_cookie cookie = { .len = 0 };
	struct estp_sock *esk = estp_sk(sk);
	u16 mss;

	if (!esk->fastopen_connect || esk->fastopen_req)
		return false;
	if (estp_fastopen_cookie_check(sk, &mss, &cookie)) {
		estp_set_defer_connect(sk, true);
		return true;
	}
	/* A request for the SYN's option, with no data. */
	esk->fastopen_req = kzalloc_obj(*esk->fastopen_req, sk->sk_allocation);
	if (esk->fastopen_req)
		esk->fastopen_req->cookie = cookie;
	else
		*err = -ENOBUFS;
	return false;
}

/**
 * estp_free_fastopen_req - an active open's Fast Open request is done
 * @esk: the socket
 */
void estp_free_fastopen_req(struct estp_sock *esk)
{
	kfree(esk->fastopen_req);
	esk->fastopen_req = NULL;
}

/**
 * estp_fastopen_net_init - a netns's Fast Open state
 * @net: the netns
 *
 * net.estp.fastopen starts as net.ipv4.tcp_fastopen does (the client
 * bit), the blackhole pause off, as TCP's defaults.
 *
 * Return: 0 or -ENOMEM.
 */
int estp_fastopen_net_init(struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	struct estp_fastopen_cache *c;
	int i;

	c = kzalloc_obj(*c, GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	spin_lock_init(&c->lock);
	for (i = 0; i < ESTP_FO_CACHE_BUCKETS; i++)
		INIT_HLIST_HEAD(&c->chain[i]);
	en->fastopen_cache = c;
	en->fastopen = ESTP_TFO_CLIENT_ENABLE;
	en->fastopen_blackhole_timeout = 0;
	atomic_set(&en->tfo_active_disable_times, 0);
	RCU_INIT_POINTER(en->fastopen_ctx, NULL);
	return 0;
}

/**
 * estp_fastopen_net_exit - free a netns's keys and cookie cache
 * @net: the netns, with no ESTP socket left
 */
void estp_fastopen_net_exit(struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	struct estp_fastopen_cache_entry *e;
	struct estp_fastopen_ctx *ctx;
	struct hlist_node *tmp;
	int i;

	ctx = unrcu_pointer(xchg(&en->fastopen_ctx, NULL));
	if (ctx)
		call_rcu(&ctx->rcu, estp_fastopen_ctx_free);
	for (i = 0; i < ESTP_FO_CACHE_BUCKETS; i++)
		hlist_for_each_entry_safe(e, tmp, &en->fastopen_cache->chain[i], node)
			kfree(e);
	kfree(en->fastopen_cache);
	en->fastopen_cache = NULL;
}
