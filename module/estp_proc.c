// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/estp: one line a hashed sock, in /proc/net/tcp's format, with
 * the state in hex with TCP's numbers (0A is LISTEN), so that people and
 * tests can watch states as they do TCP's.  /proc/net/estp6 the same for
 * IPv6 socks (v4-mapped ones too), as /proc/net/tcp6.
 */
#include <linux/proc_fs.h>
#include <linux/ipv6.h>
#include <linux/seq_file.h>
#include <net/sock.h>

#include "estp.h"

/*
 * One line for a full sock, a request sock or a time-wait minisock, as
 * /proc/net/tcp shows TCP's: request socks as SYN_RECV (03), minisocks by
 * their substate (TIME_WAIT, or FIN_WAIT2 for an orphan).  Minisocks are
 * only a sock_common: nothing past it is read.
 */
/*
 * /proc/net/tcp's timer column: 1 the retransmit timer (retransmission,
 * RACK or loss probe), 4 the same timer probing a closed window, 2 the
 * keepalive timer, 0 none; with jiffies to its expiry.
 */
static int estp_proc_timer(const struct sock *sk, unsigned long *expires)
{
	const struct estp_sock *esk = estp_sk(sk);

	if (timer_pending(&esk->retransmit_timer)) {
		*expires = esk->retransmit_timer.expires;
		return READ_ONCE(esk->snd_una) == READ_ONCE(esk->snd_nxt) ? 4 : 1;
	}
	if (timer_pending(&sk->sk_timer)) {
		*expires = sk->sk_timer.expires;
		return 2;
	}
	*expires = jiffies;
	return 0;
}

static void estp_proc_show_sock(struct seq_file *seq, struct sock *sk, int i)
{
	bool full = sk->sk_state != TCP_NEW_SYN_RECV && sk->sk_state != TCP_TIME_WAIT;
	int state = sk->sk_state, timer = 0;
	u32 txq = 0, rxq = 0, retrans = 0, probes = 0;
	unsigned long expires = jiffies;

	if (state == TCP_NEW_SYN_RECV)
		state = TCP_SYN_RECV;
	else if (state == TCP_TIME_WAIT)
		state = inet_twsk(sk)->tw_substate;
	if (full) {
		const struct estp_sock *esk = estp_sk(sk);

		timer = estp_proc_timer(sk, &expires);
		retrans = READ_ONCE(esk->retransmits);
		probes = READ_ONCE(esk->probes_out);
		if (state == TCP_LISTEN) {
			/* As /proc/net/tcp: the accept queue and its limit. */
			rxq = READ_ONCE(sk->sk_ack_backlog);
			txq = READ_ONCE(sk->sk_max_ack_backlog);
		} else {
			/* As /proc/net/tcp: unacknowledged and unread bytes. */
			/* TCP's write_seq counts a queued FIN; ESTP's does not. */
			txq = READ_ONCE(esk->write_seq) + esk->fin_queued -
			      READ_ONCE(esk->snd_una);
			rxq = max_t(int, READ_ONCE(esk->rcv_nxt) -
					 READ_ONCE(esk->copied_seq), 0);
		}
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		const __be32 *src = sk->sk_v6_rcv_saddr.s6_addr32;
		const __be32 *dst = sk->sk_v6_daddr.s6_addr32;

		seq_printf(seq, "%4d: %08X%08X%08X%08X:%04X %08X%08X%08X%08X:%04X ",
			   i, src[0], src[1], src[2], src[3], sk->sk_num,
			   dst[0], dst[1], dst[2], dst[3], ntohs(sk->sk_dport));
	} else {
#else
	{
#endif
		seq_printf(seq, "%4d: %08X:%04X %08X:%04X ", i, sk->sk_rcv_saddr,
			   sk->sk_num, sk->sk_daddr, ntohs(sk->sk_dport));
	}
	seq_printf(seq, "%02X %08X:%08X %02X:%08lX %08X %5u %8d %lu",
		   state, txq, rxq, timer,
		   jiffies_delta_to_clock_t((long)(expires - jiffies)), retrans,
		   full ? from_kuid_munged(seq_user_ns(seq), READ_ONCE(sk->sk_uid)) : 0,
		   probes, full ? (unsigned long)sock_i_ino(sk) : 0UL);
	if (full) {
		const struct estp_sock *esk = estp_sk(sk);
		u32 ssthresh = READ_ONCE(esk->snd_ssthresh);

		/* /proc/net/tcp's: refcnt, sock, RTO, ATO, quickack, cwnd, ssthresh */
		seq_printf(seq, " %d %pK %lu %lu %u %u %d",
			   refcount_read(&sk->sk_refcnt), sk,
			   jiffies_to_clock_t(READ_ONCE(esk->rto)),
			   jiffies_to_clock_t(READ_ONCE(esk->ack_ato)),
			   (READ_ONCE(esk->ack_quick) << 1) | READ_ONCE(esk->ack_pingpong),
			   READ_ONCE(esk->snd_cwnd),
			   ssthresh >= ESTP_INFINITE_SSTHRESH ? -1 : (int)ssthresh);
	}
	seq_putc(seq, '\n');
}

/* Every sock of this netns and @family in one table's buckets, each under its lock. */
static void estp_proc_show_table(struct seq_file *seq, struct estp_nulls_bucket *table,
				 unsigned int mask, int family, int *i)
{
	struct net *net = seq->private;	/* single_open_net() */
	struct hlist_nulls_node *node;
	unsigned int b;
	struct sock *sk;

	for (b = 0; b <= mask; b++) {
		struct estp_nulls_bucket *head = &table[b];

		if (hlist_nulls_empty(&head->chain))
			continue;
		spin_lock_bh(&head->lock);
		sk_nulls_for_each(sk, node, &head->chain)
			if (net_eq(sock_net(sk), net) && sk->sk_family == family)
				estp_proc_show_sock(seq, sk, (*i)++);
		spin_unlock_bh(&head->lock);
	}
}

/*
 * The whole table in one pass, each bucket under its lock: the output is
 * small until connections come, and then this turns into a seq iterator.
 */
/*
 * The whole table in one pass: fine for tests and people watching states;
 * a seq iterator is the way once tables hold many thousands of socks.
 */
static int estp_proc_show(struct seq_file *seq, void *v)
{
	int i = 0;

	seq_puts(seq, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
	estp_proc_show_table(seq, estp_hashinfo.lhash, estp_hashinfo.port_mask, AF_INET, &i);
	estp_proc_show_table(seq, estp_hashinfo.ehash, estp_hashinfo.ehash_mask, AF_INET, &i);
	return 0;
}

/* /proc/net/estp6, as /proc/net/tcp6 (tcp6_seq_show). */
static int estp_proc_show6(struct seq_file *seq, void *v)
{
	int i = 0;

	seq_puts(seq, "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
	estp_proc_show_table(seq, estp_hashinfo.lhash, estp_hashinfo.port_mask, AF_INET6, &i);
	estp_proc_show_table(seq, estp_hashinfo.ehash, estp_hashinfo.ehash_mask, AF_INET6, &i);
	return 0;
}

/**
 * estp_proc_net_init - create /proc/net/estp and estp6 in a netns
 * @net: the netns
 *
 * With IPv6 disabled (ipv6.disable=1) there is no estp6, as there is no
 * tcp6: estp_v6_init() registered no IPv6 socket to list.
 *
 * Return: 0 or -ENOMEM.
 */
int estp_proc_net_init(struct net *net)
{
	if (!proc_create_net_single("estp", 0444, net->proc_net, estp_proc_show, NULL))
		return -ENOMEM;
	if (!ipv6_mod_enabled())
		return 0;
	if (!proc_create_net_single("estp6", 0444, net->proc_net, estp_proc_show6, NULL)) {
		remove_proc_entry("estp", net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

/**
 * estp_proc_net_exit - remove /proc/net/estp and estp6
 * @net: the netns
 */
void estp_proc_net_exit(struct net *net)
{
	/* remove_proc_entry() warns about a name it does not find. */
	if (ipv6_mod_enabled())
		remove_proc_entry("estp6", net->proc_net);
	remove_proc_entry("estp", net->proc_net);
}
