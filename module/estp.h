/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ESTP internal API, the counterpart of include/net/tcp.h.
 */
#ifndef _ESTP_H
#define _ESTP_H

#include <linux/percpu.h>
#include <linux/percpu_counter.h>
#include <linux/siphash.h>
#include <linux/skbuff.h>
#include <linux/win_minmax.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/inet_timewait_sock.h>
#include <net/request_sock.h>
#include <net/timewait_sock.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <uapi/linux/estp.h>

#include "compat.h"

struct tcp_info;
union tcp_cc_info;
struct estp_fastopen_cookie;

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

/* Sequence-space comparisons modulo 2^32 (RFC 9293 3.4), as TCP's before(). */
static inline bool estp_before(u32 seq1, u32 seq2)
{
	return (s32)(seq1 - seq2) < 0;
}

#define estp_after(seq2, seq1)	estp_before(seq1, seq2)

/* The flags byte (byte 13), as TCP's tcp_flag_byte(). */
#define ESTP_FLAG_FIN	0x01
#define ESTP_FLAG_SYN	0x02
#define ESTP_FLAG_RST	0x04
#define ESTP_FLAG_PSH	0x08
#define ESTP_FLAG_ACK	0x10
#define ESTP_FLAG_URG	0x20
#define ESTP_FLAG_ECE	0x40
#define ESTP_FLAG_CWR	0x80

static inline struct estphdr *estp_hdr(const struct sk_buff *skb)
{
	return (struct estphdr *)skb_transport_header(skb);
}

static inline u8 estp_flag_byte(const struct estphdr *th)
{
	return ((const u8 *)th)[13];
}

/*
 * Hash tables, the counterpart of struct inet_hashinfo (estp_hashtables.c).
 * Every bucket is keyed with the netns (net_hash_mix()) and has its own lock,
 * taken with BH disabled because the receive path changes the tables too.
 */
struct estp_hashbucket {
	spinlock_t		lock;		/* the chain and its buckets */
	struct hlist_head	chain;
};

struct estp_nulls_bucket {
	spinlock_t		lock;		/* changes; lookups are RCU */
	struct hlist_nulls_head	chain;
};

/*
 * One bind bucket a (netns, port) in use; its owners hang on sk_bind_node.
 * connect_only: every owner got the port from connect(), so another
 * connect() may share it for a different 4-tuple.
 */
struct estp_bind_bucket {
	possible_net_t		net;
	unsigned short		port;
	bool			connect_only;
	struct hlist_node	node;
	struct hlist_head	owners;
};

struct estp_hashinfo {
	struct estp_hashbucket		*bhash;		/* port -> bind bucket */
	struct estp_nulls_bucket	*lhash;		/* port -> listeners */
	struct estp_nulls_bucket	*ehash;		/* 4-tuple -> sock */
	unsigned int			ehash_mask;
	unsigned int			port_mask;	/* of bhash and lhash */
	struct kmem_cache		*bind_bucket_cachep;
};

extern struct estp_hashinfo estp_hashinfo;

/*
 * The accept queue, as struct request_sock_queue: established children wait
 * here for accept().  As in TCP there is no half-open queue: request socks
 * live in the established hash and the listener only counts them (qlen).
 */
/*
 * A listener's Fast Open state (struct fastopen_queue): its children
 * still in their handshake (qlen, against max_qlen, ESTP_FASTOPEN), and
 * the request socks of those that a RST ended after accept(), kept
 * 60 s in qlen against spoofed SYNs (rst_head); its own keys, if set
 * (ESTP_FASTOPEN_KEY), else the netns's.
 */
struct estp_fastopen_queue {
	spinlock_t			lock;	/* qlen and the rst list */
	int				qlen;
	int				max_qlen;	/* 0: Fast Open off */
	struct request_sock		*rst_head;
	struct request_sock		*rst_tail;
	struct estp_fastopen_ctx __rcu	*ctx;
};

struct estp_accept_queue {
	spinlock_t		lock;		/* head and tail */
	struct request_sock	*head;
	struct request_sock	*tail;
	atomic_t		qlen;
	atomic_t		young;
	bool			synflood_warned; /* logged once a listener */
	/* ESTP_DEFER_ACCEPT: SYN-ACK timeouts a bare final ACK is dropped */
	u8			defer_accept;
	struct estp_fastopen_queue fastopenq;
};

/*
 * struct estp_sock mirrors sock -> inet_sock -> inet_connection_sock ->
 * tcp_sock: the inet part first (the core casts to it), then the connection
 * part, then the stream part, which comes with the state machine.
 */
struct estp_sock {
	struct inet_sock		inet;

	/* connection part (inet_connection_sock) */
	struct estp_accept_queue	accept_queue;
	struct estp_bind_bucket		*bind_hash;	/* under the bucket lock */
	struct timer_list		retransmit_timer; /* holds a sock ref */
	u32				rto;		/* jiffies, before backoff */
	u8				retransmits;	/* unanswered (re)sends */
	u8				syn_retries;	/* ESTP_SYNCNT; 0: default */
	u8				fin_sent:1;	/* snd_nxt counts our FIN */
	u8				syn_unacked:1;	/* snd_una is our SYN, not yet acked */
	u8				probes_out;	/* keepalives unanswered */
	u8				keepalive_probes; /* ESTP_KEEPCNT; 0: default */
	u32				keepalive_time;	/* ESTP_KEEPIDLE, jiffies; 0: default */
	u32				keepalive_intvl; /* ESTP_KEEPINTVL, jiffies; 0: default */
	int				linger2;	/* ESTP_LINGER2, jiffies; <0: RST */
	u32				rcv_tstamp;	/* jiffies of the last segment in */
	u32				last_oow_ack_time; /* of the last challenge ACK */
	const struct estp_af_ops	*af_ops;	/* the IP version's ops */
	unsigned long			synq_overflow;	/* listener: last cookie sent */
	unsigned long			deferred;	/* ESTP_*_DEFERRED bits */
	u32				mtu_info;	/* from ICMP, for mtu_reduced */

	/* stream part (tcp_sock) */
	u32				iss;		/* initial send sequence */
	u32				snd_una;
	u32				snd_nxt;	/* highest sent + 1 */
	u32				write_seq;	/* end of what the user queued */
	u32				pushed_seq;	/* end of the last PSH marked */
	u32				snd_up;		/* urgent pointer; == snd_una: none */
	u32				snd_wnd;	/* the peer's window */
	u32				max_window;	/* the largest it offered */
	u32				snd_wl1;	/* seq of the segment that set it */
	u32				rcv_nxt;
	u32				copied_seq;	/* first byte not yet read */
	u32				urg_seq;	/* the peer's urgent byte */
	u16				urg_data;	/* ESTP_URG_* | the byte */
	u32				rcv_wnd;	/* the window last advertised */
	u32				rcv_wup;	/* rcv_nxt when it was */
	struct rb_root			out_of_order_queue; /* by seq; charged to rmem */
	u8				rcv_ratio;	/* payload per 256 bytes of truesize */
	u32				high_seq;	/* recovery ends when acked */
	struct sk_buff			*send_head;	/* first unsent, or NULL */
	u8				fin_queued:1;	/* FIN goes after the data */
	u8				in_recovery:1;	/* after an RTO, to high_seq */
	u16				mss_clamp;	/* peer's MSS option */
	u16				mss_cache;	/* current MSS: peer's and path's */
	u16				user_mss;	/* ESTP_MAXSEG; 0: none */

	/* RTT estimation (RFC 6298), microseconds */
	u32				srtt_us;	/* smoothed RTT << 3; 0: no sample yet */
	u32				mdev_us;	/* RTT variation << 2 (RFC 6298's) */
	u32				mdev_max_us;	/* the largest mdev_us this RTT */
	u32				rttvar_us;	/* the RTO's share: mdev_max_us, smoothed */
	u32				rtt_seq;	/* snd_nxt when this RTT began */
	u64				syn_tx_us;	/* when our first SYN went out */
	u8				syn_retrans:1;	/* the handshake was resent */

	/* Nagle, corking and timeouts set by the user */
	u8				nonagle;	/* ESTP_NAGLE_* bits */
	u32				user_timeout;	/* ESTP_USER_TIMEOUT, ms; 0: none */
	u32				retrans_stamp;	/* jiffies of the first resend; 0: none */
	u32				snd_sml;	/* end of the last small segment sent */

	/* options negotiated in the handshake (struct tcp_options_received) */
	u8				tstamp_ok:1;	/* RFC 7323 timestamps */
	u8				sack_ok:1;	/* RFC 2018 SACK */
	u8				wscale_ok:1;	/* RFC 7323 window scaling */
	u8				snd_wscale:4;	/* the peer's shift */
	u8				rcv_wscale:4;	/* ours */
	u8				ecn_flags;	/* ESTP_ECN_* (estp_ecn.h) */
	u32				ts_recent;	/* TSval to echo (RFC 7323 4.3) */
	u32				ts_recent_stamp; /* seconds when it was set, PAWS */
	u32				ts_offset;	/* added to our TSval clock */
	u32				rcv_rtt_us;	/* receiver's RTT, from TSecr */
	u64				rack_xmit_us;	/* RACK: sent when, the latest delivered */
	u32				rack_end_seq;	/* and its end */
	u32				rack_rtt_us;	/* and its RTT */
	u32				reord_seen;	/* reorderings seen (tcp_sock's) */
	u32				reordering;	/* the most reordering seen, segments */
	u32				fack;		/* end of the highest SACKed segment */
	u64				reo_wnd_stamp_us; /* RACK's window last widened */
	u8				reo_wnd_steps;	/* RACK's window, in min_rtt / 4 */
	u8				reo_wnd_persist:5; /* recoveries it stays widened */
	u8				rack_dsack_seen:1; /* a D-SACK may widen it */
	u8				early_timer;	/* ESTP_EARLY_*: timer armed for */
	u32				tlp_high_seq;	/* snd_nxt at the loss probe; 0: none out */
	u8				tlp_retrans:1;	/* and the probe was a resend */
	u32				window_clamp;	/* the most we ever advertise */
	u32				rcv_ssthresh;	/* window growth limit (tcp's) */
	u32				notsent_lowat;	/* ESTP_NOTSENT_LOWAT; 0: the sysctl's */
	u8				recvmsg_inq:1;	/* ESTP_INQ: recvmsg() gives ESTP_CM_INQ */
	u8				num_sacks;	/* blocks in selective_acks */
	/* the D-SACK block (RFC 2883), sent in front of sack_blocks */
	u32				duplicate_sack[1][2];
	u32				sack_blocks[4][2]; /* ours to send: start, end */

	/* delayed ACKs (inet_connection_sock's icsk_ack) */
	struct timer_list		delack_timer;	/* holds a sock ref */
	u8				ack_pending;	/* ESTP_ACK_* bits */
	u8				ack_quick;	/* ACKs still to send at once */
	u8				ack_pingpong;	/* interactive: delay ACKs */
	u32				ack_ato;	/* delayed-ACK timeout, jiffies */
	u32				ack_lrcvtime;	/* jiffies of the last data in */
	u16				rcv_mss;	/* estimate of the peer's MSS */

	/* receive buffer autotuning (tcp_rcv_space_adjust) */
	u32				rcvq_space;	/* bytes copied in the last RTT */
	u32				rcvq_seq;	/* copied_seq when it began */
	u64				rcvq_time_us;	/* when it began */

	/* congestion control (tcp_sock and inet_connection_sock parts) */
	u8				ca_state;	/* ESTP_CA_* */
	u8				ca_initialized:1; /* ops->init() ran */
	u8				ca_setsockopt:1; /* chosen by ESTP_CONGESTION */
	u8				cwnd_limited:1;	/* last push stopped at cwnd */
	u32				snd_cwnd;	/* segments */
	u32				snd_cwnd_cnt;	/* ACKs towards the next +1 */
	u32				snd_cwnd_clamp;
	u32				snd_ssthresh;
	u32				prior_cwnd;	/* before the last loss */
	u32				prior_ssthresh;	/* before the last loss, for undo */
	u32				undo_tsval;	/* our TSval when it began; 0: no undo */
	u32				undo_marker;	/* snd_una when it began; 0: no undo */
	int				undo_retrans; /* its resends not D-SACKed; <0: none */
	u32				dsack_dups;	/* segments D-SACKs reported */
	u32				prr_delivered;	/* PRR (RFC 6937): delivered in Recovery */
	u32				prr_out;	/* and sent in it */
	u8				frto:1;		/* F-RTO (RFC 5682) runs in this Loss */
	u8				dsack:1;	/* duplicate_sack goes on the next ACK */
	u32				packets_out;	/* segments in [snd_una, snd_nxt) */
	u32				lost_out;	/* of those, marked lost by an RTO */
	u32				retrans_out;	/* lost ones sent again, unacked */
	u32				sacked_out;	/* dupACKs counted as left (NewReno) */
	u8				dupacks;	/* in a row, for fast retransmit */
	u32				prior_in_flight; /* before the ACK in hand */
	/* the socket's reference on ca_ops->owner: see estp_cong.c */
	const struct estp_congestion_ops *ca_ops;
	u64				ca_priv[13] __aligned(8); /* the ops' own state */

	/*
	 * What TCP_INFO and inet_diag report (estp_get_info()), counted where
	 * TCP counts its namesakes.  Written under the socket lock (or by the
	 * softirq that owns it), read by estp_get_info() under it too; the
	 * segs_in pair is also read locklessly, hence WRITE_ONCE.
	 */
	u16				advmss;		/* MSS we announced, less TS room */
	u32				pmtu_cookie;	/* path MTU estp_sync_mss() used */
	u32				lsndtime;	/* jiffies of the last data sent */
	u32				segs_in;	/* segments in, SYN and final ACK too */
	u32				data_segs_in;	/* of them, with payload */
	u32				segs_out;	/* sent, ACKs, RSTs and resends too */
	u32				data_segs_out;	/* of them, with payload */
	u32				total_retrans;	/* segments resent, SYNs and FINs too */
	u32				delivered;	/* segments the peer acknowledged */
	u32				rcv_ooopack;	/* segments queued out of order */
	u16				total_rto;	/* retransmission timeouts */
	u16				total_rto_recoveries; /* episodes that began with one */
	u32				total_rto_time;	/* ms in the ended episodes */
	u32				rto_stamp;	/* ms the current one began; 0: none */
	u64				bytes_acked;	/* snd_una's advance, SYN, FIN too */
	u64				bytes_received;	/* rcv_nxt's advance, FIN too */
	u64				bytes_sent;	/* payload sent, resends too */
	u64				bytes_retrans;	/* payload resent */
	struct minmax			rtt_min;	/* windowed least RTT, us */
	/* what limits sending (tcp_chrono_*): ESTP_CHRONO_*, since when */
	u8				chrono_type;
	u32				chrono_start;	/* jiffies */
	u32				chrono_stat[3];	/* jiffies in each, but the current */

	/*
	 * Fast Open (RFC 7413, estp_fastopen.c).  fastopen_rsk: a passive
	 * child's request sock until its handshake ends, under the sock's
	 * lock; it shares the one reference of the request with the accept
	 * queue (estp_reqsk_fastopen_remove()).  fastopen_req: an active
	 * open's data for the SYN, during sendmsg() only.
	 */
	struct request_sock __rcu	*fastopen_rsk;
	struct estp_fastopen_request	*fastopen_req;
	u8				fastopen_connect:1; /* ESTP_FASTOPEN_CONNECT */
	u8				fastopen_no_cookie:1; /* ESTP_FASTOPEN_NO_COOKIE */
	u8				syn_fastopen:1;	/* our SYN had the option */
	u8				syn_fastopen_exp:1; /* in its experimental form */
	u8				syn_fastopen_ch:1; /* blackhole check passed */
	u8				syn_data:1;	/* our SYN carried data */
	u8				syn_data_acked:1; /* and the SYN-ACK took it */
	u8				fastopen_client_fail:2; /* TFO_* of tcp_info */
};

/* What holds sending back, least interesting first (enum tcp_chrono). */
enum estp_chrono {
	ESTP_CHRONO_UNSPEC,
	ESTP_CHRONO_BUSY,		/* data in flight or waiting */
	ESTP_CHRONO_RWND_LIMITED,	/* the peer's window holds it */
	ESTP_CHRONO_SNDBUF_LIMITED,	/* the send buffer is full */
};

/*
 * What an IP version does for segments of no full sock, as
 * tcp_request_sock_ops with request_sock_ops' send_ack and send_reset:
 * a request sock keeps its family's table (estp_request_sock's ctl), a
 * time-wait minisock its sock's (estp_timewait_sock's ctl), and a segment
 * that finds no sock is answered by the table of the family it came in.
 * @family: AF_INET or AF_INET6, as the request sock's ireq_family
 * @min_mtu: the MTU a sock without a route assumes
 * @mss_for_mtu: our MSS for a route's MTU (the family's default_advmss)
 * @init_req: a request's addresses and device from the segment opening it
 *	(req->rsk_listener set)
 * @init_seq: the ISN of a passive open (secure_tcp_seq)
 * @cookie_init_seq: a SYN cookie for the SYN; NULL: the family has none
 * @cookie_ts_offset: the TSval offset a cookie's connection keeps
 * @send_synack: a request's SYN-ACK, with a Fast Open cookie if @foc;
 *	from a Fast Open child, @listener is the child
 * @route_mss: our MSS on the route back to a request's peer, or an error
 * @send_reqsk_ack: an ACK from a request sock
 * @send_tw_ack: an ACK from a time-wait minisock
 * @send_reset: a RST answering a segment, for a sock or none
 * @min_ttl_drop: the segment's TTL or hop limit is under the sock's
 *	minimum (IP_MINTTL, IPV6_MINHOPCOUNT): counted, to drop
 * @cookie_check: a bare ACK for a listener: 0 when a cookie's child took
 *	it; 1 to answer it with a RST.  NULL: the family has no cookies.
 */
struct estp_ctl_ops {
	sa_family_t	family;
	u16		min_mtu;
	u16	(*mss_for_mtu)(unsigned int mtu);
	void	(*init_req)(struct request_sock *req, const struct sk_buff *skb);
	u32	(*init_seq)(const struct sk_buff *skb);
	u32	(*cookie_init_seq)(struct sock *listener, const struct sk_buff *skb,
				   u16 *mssp);
	u32	(*cookie_ts_offset)(const struct sk_buff *skb);
	int	(*send_synack)(const struct sock *listener, struct request_sock *req,
			       const struct estp_fastopen_cookie *foc);
	int	(*route_mss)(const struct sock *listener, const struct request_sock *req);
	void	(*send_reqsk_ack)(const struct sock *listener, const struct sk_buff *skb,
				  const struct request_sock *req);
	void	(*send_tw_ack)(struct inet_timewait_sock *tw);
	void	(*send_reset)(struct net *net, const struct sock *sk, struct sk_buff *skb);
	bool	(*min_ttl_drop)(struct sock *sk, const struct sk_buff *skb);
	int	(*cookie_check)(struct sock *listener, struct sk_buff *skb);
};

extern const struct estp_ctl_ops estp_v4_ctl_ops;
extern const struct estp_ctl_ops estp_v6_ctl_ops;

/*
 * What the state machine asks of the IP version under it, as
 * struct inet_connection_sock_af_ops: IPv4 is estp_ipv4_specific, IPv6
 * estp_ipv6_specific, and a v6 sock with a v4-mapped peer
 * estp_ipv6_mapped (estp_ipv6.c).  The state machine never tests the
 * family; @ctl is the family's table for what is no full sock.
 */
struct estp_af_ops {
	const struct estp_ctl_ops *ctl;
	int	(*queue_xmit)(struct sock *sk, struct sk_buff *skb, struct flowi *fl);
	void	(*send_check)(struct sock *sk, struct sk_buff *skb);
	int	(*rebuild_header)(struct sock *sk);
	int	(*conn_request)(struct sock *listener, struct sk_buff *skb);
	struct sock *(*syn_recv_sock)(const struct sock *listener, struct sk_buff *skb,
				      struct request_sock *req);
	u16	net_header_len;
	int	(*setsockopt)(struct sock *sk, int level, int optname,
			      sockptr_t optval, unsigned int optlen);
	int	(*getsockopt)(struct sock *sk, int level, int optname,
			      char __user *optval, int __user *optlen);
	void	(*mtu_reduced)(struct sock *sk);
};

extern const struct estp_af_ops estp_ipv4_specific;

/*
 * A request sock: a SYN received by a listener, in the established hash in
 * state TCP_NEW_SYN_RECV until the final ACK.  struct inet_request_sock
 * (and in it struct request_sock) comes first: the core reads any
 * sock_common in TCP_NEW_SYN_RECV as one (sock_gen_put(), sk_fullsock()).
 *
 * References (rsk_refcnt): one for the established hash, one for the
 * SYN-ACK timer while armed, one for each lookup in progress; once the
 * handshake completes, the accept queue holds the last one.
 */
struct estp_request_sock {
	struct inet_request_sock	ireq;
	const struct estp_ctl_ops	*ctl;		/* its family's */
	u32				rcv_isn;
	u32				snt_isn;
	u64				snt_synack_us;	/* first SYN-ACK, for an RTT sample */
	u16				mss;		/* peer's MSS option */
	bool				cookie;		/* rebuilt from a SYN cookie */
	/* what the SYN offered and the SYN-ACK agreed to */
	u8				tstamp_ok:1;
	u8				sack_ok:1;
	u8				wscale_ok:1;
	u8				snd_wscale:4;
	u8				rcv_wscale:4;
	u32				ts_recent;	/* the SYN's TSval */
	u32				ts_offset;	/* our TSval clock's offset */
	u32				rcv_wnd;	/* the SYN-ACK's window */
	u32				window_clamp;
	u32				last_oow_ack_time; /* jiffies, tcp_oow_rate_limited */
	__be32				flowlabel;	/* IPv6: the SYN's, to reflect */
	u32				rcv_nxt;	/* a Fast Open child's, for its SYN-ACKs */
	bool				tfo_listener;	/* its child is in fastopenq's qlen */
};

/*
 * Options of a received segment (struct tcp_options_received's per-segment
 * part), filled by estp_parse_options().
 */
struct estp_options_received {
	u16	mss;		/* 0: none */
	u8	saw_wscale:1,
		sack_ok:1,	/* SACK-permitted */
		saw_tstamp:1;
	u8	wscale;
	u8	num_sacks;	/* blocks at sack_ptr */
	u32	tsval;
	u32	tsecr;
	const u8 *sack_ptr;	/* first SACK block, in the header */
	/* a SYN's Fast Open option: -1 none, 0 a cookie request, else its length */
	s8	fo_len;
	u8	fo_exp:1;	/* the experimental option (kind 254) */
	const u8 *fo_ptr;	/* the cookie, in the header */
};

#define ESTP_MAX_WSCALE		14		/* RFC 7323 2.3, TCP_MAX_WSCALE */
#define ESTP_MAX_SACKS		4		/* blocks in one option */
#define ESTP_OPT_MSS		2		/* option kinds */
#define ESTP_OPT_WSCALE		3
#define ESTP_OPT_SACK_PERM	4
#define ESTP_OPT_SACK		5
#define ESTP_OPT_TIMESTAMP	8
#define ESTP_OPT_MD5SIG		19		/* RFC 2385: ESTP signs nothing */
#define ESTP_OPT_MD5SIG_LEN	18
#define ESTP_OPT_AO		29		/* RFC 5925: nor this */
#define ESTP_OPT_FASTOPEN	34		/* RFC 7413 */
#define ESTP_OPT_EXP		254		/* RFC 6994, with a magic */
#define ESTP_OPT_FASTOPEN_MAGIC	0xF989		/* Fast Open's, in kind 254 */
#define ESTP_OPTLEN_TS_ALIGNED	12		/* NOP, NOP, TS */
#define ESTP_MAX_OPTION_SPACE	40
/*
 * Room in front of a sock's segment for every header it will carry: link
 * layer, and 128 bytes for IPv4 and ESTP, both with their most options
 * (60 + 60), as MAX_TCP_HEADER: IP options are pushed unchecked
 * (review C3).
 */
#define ESTP_SKB_HEADROOM	L1_CACHE_ALIGN(128 + MAX_HEADER)
#define ESTP_PAWS_24DAYS	(60 * 60 * 24 * 24) /* RFC 7323 5.5, seconds */
#define ESTP_PAWS_WINDOW	1	/* TSval ticks PAWS forgives, TCP_PAWS_WINDOW */
#define ESTP_ATO_MIN		(HZ / 25)	/* TCP_ATO_MIN */
#define ESTP_DELACK_MAX		(HZ / 5)	/* TCP_DELACK_MAX */
#define ESTP_MAX_QUICKACKS	16		/* TCP_MAX_QUICKACKS */

/* urg_data states (TCP_URG_*); with VALID, the low byte is the urgent byte */
#define ESTP_URG_VALID		0x0100		/* received, not yet read */
#define ESTP_URG_NOTYET		0x0200		/* pointer seen, byte not yet in */
#define ESTP_URG_READ		0x0400		/* read with MSG_OOB */

/* ack_pending bits (ICSK_ACK_*) */
#define ESTP_ACK_SCHED		1		/* an ACK is owed */
#define ESTP_ACK_TIMER		2		/* the delayed-ACK timer runs for it */
#define ESTP_ACK_PUSHED		4		/* a PSH or a small segment came */
#define ESTP_ACK_NOW		8		/* this one may not wait */

/* early_timer: the retransmit timer armed before the RTO for */
#define ESTP_EARLY_REO		1		/* RACK's reordering window */
#define ESTP_EARLY_TLP		2		/* a tail loss probe */

/*
 * Per-segment data in skb->cb while an skb is on a write or receive queue
 * (struct tcp_skb_cb): the sequence space it covers.
 */
struct estp_skb_cb {
	u32	seq;
	u32	end_seq;
	u64	tx_us;		/* last (re)transmission, estp_clock_us() */
	u8	sacked;		/* ESTP_CB_*, as TCP's TCPCB_* bits */
	u8	fin;		/* out-of-order queue: the segment had a FIN */
	u8	psh:1,		/* write queue: sent with PSH (tcp_mark_push) */
		eor:1;		/* write queue: MSG_EOR, nothing may join it */
};

#define ESTP_CB_LOST		0x01	/* marked lost (RTO, dupACKs): lost_out */
#define ESTP_CB_RETRANS		0x02	/* its resend is in flight: retrans_out */
#define ESTP_CB_EVER_RETRANS	0x04	/* sent more than once: no RTT sample (Karn) */
#define ESTP_CB_SACKED		0x08	/* the peer SACKed it: sacked_out */

#define ESTP_SKB_CB(skb)	((struct estp_skb_cb *)&((skb)->cb[0]))

static inline struct estp_request_sock *estp_rsk(const struct request_sock *req)
{
	return (struct estp_request_sock *)req;
}

/*
 * A time-wait minisock: what is left of a connection in TIME_WAIT (or an
 * orphan in FIN_WAIT2), in the established hash and its port's bind bucket.
 * struct inet_timewait_sock comes first: the core reads any sock_common in
 * TCP_TIME_WAIT as one (sock_gen_put() frees it with inet_twsk_free()).
 *
 * References (tw_refcnt): one for the established hash, one for the timer,
 * one for each lookup in progress.
 */
struct estp_timewait_sock {
	struct inet_timewait_sock	tw;
	struct estp_bind_bucket		*bind_hash;	/* under the bucket lock */
	const struct estp_ctl_ops	*ctl;		/* its sock's family's */
	u32				snd_nxt;
	u32				rcv_nxt;
	u32				rcv_wnd;	/* left of the last window offered */
	bool				tstamp_ok;	/* its ACKs carry timestamps */
	u32				ts_recent;	/* TSval to echo */
	u32				ts_recent_stamp; /* seconds when it was set, PAWS */
	u32				ts_offset;	/* of our TSval clock */
	u32				last_oow_ack_time; /* jiffies, tcp_oow_rate_limited */
};

static inline struct estp_timewait_sock *estp_twsk(const struct inet_timewait_sock *tw)
{
	return (struct estp_timewait_sock *)tw;
}

#define ESTP_TIMEOUT_INIT	(1 * HZ)	/* RFC 6298 2.1, TCP_TIMEOUT_INIT */
#define ESTP_TIMEOUT_FALLBACK	(3 * HZ)	/* RFC 6298 5.7, TCP_TIMEOUT_FALLBACK */
#define ESTP_RTO_MIN		(HZ / 5)	/* TCP_RTO_MIN */
#define ESTP_RTO_MAX		(120 * HZ)
#define ESTP_INIT_CWND		10		/* RFC 6928, TCP_INIT_CWND */
#define ESTP_INFINITE_SSTHRESH	0x7fffffff	/* TCP_INFINITE_SSTHRESH */
#define ESTP_SYN_RETRIES	6		/* net.ipv4.tcp_syn_retries */
#define ESTP_SYNACK_RETRIES	5		/* net.ipv4.tcp_synack_retries */
#define ESTP_MAX_SYNCNT		127		/* MAX_TCP_SYNCNT */
#define ESTP_ORPHAN_RETRIES	8		/* tcp_orphan_retries() at 0 */
#define ESTP_MAX_REORDERING	300		/* tcp_max_reordering's default */
#define ESTP_RACK_RECOVERY_THRESH 16	/* recoveries a widened window lasts */
#define ESTP_MSS_DEFAULT	536		/* RFC 9293 3.7.1, TCP_MSS_DEFAULT */
#define ESTP_FIN_TIMEOUT_MAX	(120 * HZ)	/* TCP_FIN_TIMEOUT_MAX */
/* The longest a time-wait minisock lives (TCP_TIMEWAIT_LEN) */
#define ESTP_TIMEWAIT_LEN	(60 * HZ)
/* nonagle bits, as TCP_NAGLE_*: ESTP_NODELAY, ESTP_CORK, one forced push */
#define ESTP_NAGLE_OFF		1
#define ESTP_NAGLE_CORK		2
#define ESTP_NAGLE_PUSH		4

#define ESTP_KEEPALIVE_TIME	7200		/* seconds, tcp_keepalive_time */
#define ESTP_KEEPALIVE_INTVL	75		/* seconds, tcp_keepalive_intvl */
#define ESTP_KEEPALIVE_PROBES	9		/* tcp_keepalive_probes */
#define ESTP_MAX_KEEPIDLE	32767		/* MAX_TCP_KEEPIDLE */
#define ESTP_MAX_KEEPINTVL	32767		/* MAX_TCP_KEEPINTVL */
#define ESTP_MAX_KEEPCNT	127		/* MAX_TCP_KEEPCNT */

/*
 * Work the receive path leaves to the owner's release_sock(), as TCP's
 * TSQ flags; each bit holds a sock reference until done.
 */
enum {
	ESTP_MTU_REDUCED_DEFERRED,
	ESTP_DELACK_DEFERRED,
	ESTP_WRITE_TIMER_DEFERRED,
};

static inline struct estp_sock *estp_sk(const struct sock *sk)
{
	return (struct estp_sock *)sk;
}

/*
 * Congestion control (estp_cong.c), the counterpart of the
 * tcp_congestion_ops part of include/net/tcp.h.  A module adds an
 * algorithm with estp_register_congestion_control(); every socket that
 * uses it, and every netns whose default it is, holds a reference on
 * ->owner, so that the module cannot go while it is in use.
 */
#define ESTP_CA_NAME_MAX	16		/* TCP_CA_NAME_MAX */
#define ESTP_CA_BUF_MAX		(ESTP_CA_NAME_MAX * 8) /* TCP_CA_BUF_MAX */

/* The congestion states, as enum tcp_ca_state (no SACK: no Disorder yet). */
enum estp_ca_state {
	ESTP_CA_OPEN = 0,
	ESTP_CA_DISORDER = 1,
	ESTP_CA_CWR = 2,
	ESTP_CA_RECOVERY = 3,
	ESTP_CA_LOSS = 4,
};

/* Events for ->cwnd_event, as enum tcp_ca_event. */
enum estp_ca_event {
	ESTP_CA_EVENT_TX_START,		/* first segment out after idle */
	ESTP_CA_EVENT_CWND_RESTART,	/* not sent yet */
	ESTP_CA_EVENT_COMPLETE_CWR,	/* not sent yet */
	ESTP_CA_EVENT_LOSS,		/* a retransmission timeout */
};

/* What an ACK acknowledged, for ->pkts_acked (struct ack_sample). */
struct estp_ack_sample {
	u32	pkts_acked;	/* segments newly acknowledged */
	s32	rtt_us;		/* RTT of a never-resent one, or -1 (Karn) */
	u32	in_flight;	/* segments in flight before the ACK */
};

/**
 * struct estp_congestion_ops - a congestion control algorithm
 * @list: on the registered list, under estp_cong_list_lock; RCU readers
 * @ssthresh: required: the slow-start threshold after a loss
 * @cong_avoid: required: grow snd_cwnd for @acked segments acknowledged
 * @set_state: optional: the socket enters ESTP_CA_* @new_state
 * @cwnd_event: optional: an ESTP_CA_EVENT_*
 * @pkts_acked: optional: every ACK of new data, with its RTT sample
 * @undo_cwnd: required: snd_cwnd once a loss proves spurious (the ACK
 *	that ends the episode echoes a timestamp older than the first resend)
 * @init: optional: the connection is established (or the socket switched
 *	to this algorithm while established)
 * @release: optional: the socket is done with the algorithm
 * @name: what ESTP_CONGESTION and the sysctls call it
 * @owner: the module holding the code; NULL for those built into estp.ko
 *	(every socket holds estp.ko already)
 *
 * Every callback runs with the socket locked or owned by the receive path
 * or a timer.  Private state goes in estp_ca(sk), zeroed before ->init().
 */
struct estp_congestion_ops {
	u32	(*ssthresh)(struct sock *sk);
	void	(*cong_avoid)(struct sock *sk, u32 ack, u32 acked);
	void	(*set_state)(struct sock *sk, u8 new_state);
	void	(*cwnd_event)(struct sock *sk, enum estp_ca_event ev);
	void	(*pkts_acked)(struct sock *sk, const struct estp_ack_sample *sample);
	u32	(*undo_cwnd)(struct sock *sk);
	void	(*init)(struct sock *sk);
	void	(*release)(struct sock *sk);
	/* TCP_CC_INFO and inet_diag: fill @info, return its size (optional) */
	size_t	(*get_info)(struct sock *sk, u32 ext, int *attr,
			    union tcp_cc_info *info);

	char			name[ESTP_CA_NAME_MAX];
	struct module		*owner;
	struct list_head	list;
};

/* The algorithm's private state (inet_csk_ca()). */
static inline void *estp_ca(const struct sock *sk)
{
	return (void *)estp_sk(sk)->ca_priv;
}

/* Microseconds of a monotonic clock, for send times and RTT (tcp_clock_us). */
static inline u64 estp_clock_us(void)
{
	return div_u64(ktime_get_ns(), NSEC_PER_USEC);
}

/*
 * Segments in the network (tcp_packets_in_flight): without SACK, each
 * dupACK stands for one segment that left it (sacked_out, as TCP's Reno
 * emulation).
 */
static inline u32 estp_packets_in_flight(const struct estp_sock *esk)
{
	u32 left = esk->lost_out + esk->sacked_out;

	return (esk->packets_out > left ? esk->packets_out - left : 0) + esk->retrans_out;
}

/*
 * Receive buffer room in payload bytes: the free buffer scaled by the
 * payload/truesize ratio of what arrives (TCP's scaling_ratio), so that a
 * window we offer fits in the buffer whatever the segment size.
 */
static inline int estp_rcv_space(const struct sock *sk)
{
	int space = READ_ONCE(sk->sk_rcvbuf) - atomic_read(&sk->sk_rmem_alloc);

	return space > 0 ? (int)(((u64)space * estp_sk(sk)->rcv_ratio) >> 8) : 0;
}

/*
 * Enough in-order data to wake a reader (tcp_epollin_ready): @target
 * bytes (SO_RCVLOWAT), or any once the receive buffer is nearly full or
 * what is left of the window offered is under a segment, so that a mark
 * the peer cannot reach never stalls the reader.  Lockless, for poll().
 */
static inline bool estp_epollin_ready(const struct sock *sk, int target)
{
	const struct estp_sock *esk = estp_sk(sk);
	int avail = READ_ONCE(esk->rcv_nxt) - READ_ONCE(esk->copied_seq);
	int rcvbuf = READ_ONCE(sk->sk_rcvbuf);
	s32 win;

	if (avail <= 0)
		return false;
	if (avail >= target || sk_under_memory_pressure(sk) ||
	    atomic_read(&sk->sk_rmem_alloc) > rcvbuf - (rcvbuf >> 3))
		return true;
	win = (s32)(READ_ONCE(esk->rcv_wup) + READ_ONCE(esk->rcv_wnd) - READ_ONCE(esk->rcv_nxt));
	return win <= (s32)READ_ONCE(esk->rcv_mss);
}

/*
 * A segment's size: the MSS, but at most half the largest window the peer
 * offered, so that a window never holds back a segment it could take half
 * of (tcp_bound_to_half_wnd; ESTP has no segment splitting).  Segments of
 * this size are full ones to Nagle.
 */
static inline u32 estp_size_goal(const struct estp_sock *esk)
{
	u32 cutoff = esk->max_window > ESTP_MSS_DEFAULT ? esk->max_window / 2 : esk->max_window;

	if (cutoff && esk->mss_cache > cutoff)
		return max_t(u32, cutoff, 48);
	return esk->mss_cache;
}

/* Urgent data is in flight or queued (tcp_urg_mode). */
static inline bool estp_urg_mode(const struct estp_sock *esk)
{
	return esk->snd_una != esk->snd_up;
}

/*
 * The peer acknowledged up to @ack (tcp_snd_una_update): an urgent pointer
 * it reached is acked, and urgent mode ends (tcp_clean_rtx_queue).
 */
static inline void estp_snd_una_update(struct estp_sock *esk, u32 ack)
{
	u32 prior = esk->snd_una;

	esk->bytes_acked += ack - prior;
	WRITE_ONCE(esk->snd_una, ack);
	if (ack - prior >= esk->snd_up - prior)
		esk->snd_up = ack;
}

/* rcv_nxt moves to @seq: data or a FIN came in order (tcp_rcv_nxt_update). */
static inline void estp_rcv_nxt_update(struct estp_sock *esk, u32 seq)
{
	esk->bytes_received += seq - esk->rcv_nxt;
	WRITE_ONCE(esk->rcv_nxt, seq);
}

/*
 * A segment for a full sock, before the receive path or its backlog takes
 * it (tcp_segs_in); estp_get_info() reads these without the lock.
 */
static inline void estp_segs_in(struct estp_sock *esk, const struct sk_buff *skb)
{
	WRITE_ONCE(esk->segs_in, esk->segs_in + 1);
	if (skb->len > estp_hdr(skb)->doff * 4)
		WRITE_ONCE(esk->data_segs_in, esk->data_segs_in + 1);
}

/* Milliseconds of estp_clock_us()'s clock (tcp_clock_ms). */
static inline u32 estp_clock_ms(void)
{
	return div_u64(ktime_get_ns(), NSEC_PER_MSEC);
}

/* A segment of @len payload bytes went again (__tcp_retransmit_skb). */
static inline void estp_count_retrans(struct estp_sock *esk, u32 len)
{
	WRITE_ONCE(esk->total_retrans, esk->total_retrans + 1);
	WRITE_ONCE(esk->bytes_retrans, esk->bytes_retrans + len);
}

/* A timeout episode ended: its time counts (tcp_update_rto_time). */
static inline void estp_rto_episode_end(struct estp_sock *esk)
{
	if (esk->rto_stamp) {
		esk->total_rto_time += estp_clock_ms() - esk->rto_stamp;
		esk->rto_stamp = 0;
	}
}

static inline bool estp_in_slow_start(const struct estp_sock *esk)
{
	return esk->snd_cwnd < esk->snd_ssthresh;
}

int estp_register_congestion_control(struct estp_congestion_ops *ca);
void estp_unregister_congestion_control(struct estp_congestion_ops *ca);
bool estp_is_cwnd_limited(const struct sock *sk);
u32 estp_slow_start(struct sock *sk, u32 acked);
void estp_cong_avoid_ai(struct sock *sk, u32 w, u32 acked);
void estp_reno_cong_avoid(struct sock *sk, u32 ack, u32 acked);
u32 estp_reno_ssthresh(struct sock *sk);
u32 estp_reno_undo_cwnd(struct sock *sk);

/* Internal to estp.ko. */
void estp_assign_congestion_control(struct sock *sk);
void estp_ca_openreq_child(struct sock *sk);
void estp_init_congestion_control(struct sock *sk);
void estp_cleanup_congestion_control(struct sock *sk);
int estp_set_congestion_control(struct sock *sk, const char *name);
void estp_set_ca_state(struct sock *sk, u8 ca_state);
void estp_ca_event(struct sock *sk, enum estp_ca_event event);
void estp_cong_net_init(struct net *net);
void estp_cong_net_exit(struct net *net);
void estp_get_default_congestion_control(struct net *net, char *name);
int estp_set_default_congestion_control(struct net *net, const char *name);
void estp_get_available_congestion_control(char *buf, size_t len);
int estp_cong_init(void);
void estp_cong_exit(void);
int estp_cubic_register(void);
void estp_cubic_unregister(void);

/* MIB counters, per netns; names as printed in /proc/net/estp_stat. */
enum estp_mib_field {
	ESTP_MIB_INSEGS,	/* segments handed to estp_v4_rcv */
	ESTP_MIB_INHDRERRORS,	/* truncated, or a bad data offset */
	ESTP_MIB_INCSUMERRORS,	/* bad checksum */
	ESTP_MIB_INBADFLAGS,	/* a flag mix no valid segment has */
	ESTP_MIB_INNOSOCKET,	/* no sock for it: answered with a RST */
	ESTP_MIB_LISTENOVERFLOWS, /* SYN or final ACK with the accept queue full */
	ESTP_MIB_LISTENDROPS,	/* SYN dropped at a listener, for any reason */
	ESTP_MIB_BACKLOGDROPS,	/* dropped: the owned sock's backlog was full */
	ESTP_MIB_OUTSEGS,	/* segments sent */
	ESTP_MIB_OUTRSTS,	/* RSTs sent */
	ESTP_MIB_SYNCOOKIESSENT, /* SYN-ACKs that carry a cookie */
	ESTP_MIB_SYNCOOKIESRECV, /* final ACKs with a valid cookie */
	ESTP_MIB_SYNCOOKIESFAILED, /* ACKs to a listener with a bad cookie */
	ESTP_MIB_CHALLENGEACK,	/* RFC 5961 challenge ACKs sent */
	ESTP_MIB_ABORTONMEMORY,	/* orphans reset: too many, or no memory */
	ESTP_MIB_ABORTONTIMEOUT, /* ended by retransmit or keepalive timeout */
	ESTP_MIB_ABORTONLINGER,	/* closed in FIN_WAIT2 with ESTP_LINGER2 < 0 */
	ESTP_MIB_OUTOFWINDOWICMPS, /* ICMP errors quoting no sequence in flight */
	ESTP_MIB_ABORTONCLOSE,	/* closed with unread data: RST sent */
	ESTP_MIB_ABORTONDATA,	/* data after close: RST sent */
	ESTP_MIB_RETRANSSEGS,	/* segments sent again */
	ESTP_MIB_RCVQDROP,	/* in-order data dropped: receive buffer full */
	ESTP_MIB_OFODROP,	/* out-of-order data dropped: no room */
	ESTP_MIB_OFOQUEUE,	/* out-of-order segments queued */
	ESTP_MIB_FASTRETRANS,	/* segments resent outside Loss (TCPFastRetrans) */
	ESTP_MIB_MEMORYPRESSURES, /* times the protocol entered memory pressure */
	ESTP_MIB_SACKRECOVERY,	/* recoveries entered with SACK */
	ESTP_MIB_PAWSESTAB,	/* segments dropped by PAWS (RFC 7323 5) */
	ESTP_MIB_DELAYEDACKS,	/* ACKs the delayed-ACK timer sent */
	ESTP_MIB_TIMEOUTS,	/* retransmission timeouts of data or FIN */
	ESTP_MIB_LOSSPROBES,	/* tail loss probes sent */
	ESTP_MIB_FULLUNDO,	/* Recovery undone at its end (TCPFullUndo) */
	ESTP_MIB_OFOPRUNED,	/* times out-of-order data was dropped for room */
	ESTP_MIB_SACKRENEGING,	/* the peer dropped data it had SACKed */
	ESTP_MIB_FILTERDROP,	/* dropped by the socket's filters (sk_filter) */
	ESTP_MIB_MINTTLDROP,	/* dropped: TTL below IP_MINTTL (TCPMinTTLDrop) */
	/* closed without a minisock: max_tw_buckets or no memory (TCPTimeWaitOverflow) */
	ESTP_MIB_TIMEWAITOVERFLOW,
	ESTP_MIB_ACKSKIPPEDSYNRECV, /* a request's ACKs rate-limited (TCPACKSkippedSynRecv) */
	ESTP_MIB_ATTEMPTFAILS,	/* handshakes ended in SYN_SENT or SYN_RECV */
	ESTP_MIB_EMBRYONICRSTS,	/* request socks ended by a RST or a new SYN */
	ESTP_MIB_PAWSOLDACK,	/* old pure ACKs PAWS dropped unanswered (6.14 on) */
	ESTP_MIB_SYNRETRANS,	/* SYNs and SYN-ACKs sent again */
	ESTP_MIB_PRUNECALLED,	/* receive buffer over its size: queues pruned */
	ESTP_MIB_RCVPRUNED,	/* data dropped, pruning did not make room */
	ESTP_MIB_RCVCOLLAPSED,	/* skbs whose bytes went into compact copies */
	ESTP_MIB_DEFERACCEPTDROP, /* bare final ACKs dropped: ESTP_DEFER_ACCEPT */
	/* loss recovery, TCP's TcpExt names without "TCP" */
	ESTP_MIB_PARTIALUNDO,	/* Recovery undone by a partial ACK */
	ESTP_MIB_LOSSUNDO,	/* Loss (an RTO) undone */
	ESTP_MIB_DSACKUNDO,	/* undone: every resend D-SACKed */
	ESTP_MIB_SPURIOUSRTOS,	/* RTOs F-RTO found spurious */
	ESTP_MIB_DSACKOLDSENT,	/* D-SACKs sent for data below rcv_nxt */
	ESTP_MIB_DSACKOFOSENT,	/* D-SACKs sent for out-of-order data */
	ESTP_MIB_DSACKRECV,	/* D-SACKs received below the ACK */
	ESTP_MIB_DSACKOFORECV,	/* D-SACKs received inside a SACK block */
	ESTP_MIB_DSACKIGNOREDOLD, /* D-SACKs below the episode's start */
	ESTP_MIB_DSACKIGNOREDNOUNDO, /* D-SACKs with no episode to undo */
	ESTP_MIB_DSACKIGNOREDDUBIOUS, /* D-SACKs of more than was ever resent */
	ESTP_MIB_DELAYEDACKLOST, /* duplicate data: our ACK was lost or late */
	ESTP_MIB_SACKREORDER,	/* reordering found by SACK (TCPSACKReorder) */
	ESTP_MIB_TSREORDER,	/* reordering found by a timestamp (TCPTSReorder) */
	ESTP_MIB_LOSSPROBERECOVERY, /* losses a loss probe repaired */
	ESTP_MIB_SLOWSTARTRETRANS, /* segments resent in Loss, after the first */
	ESTP_MIB_RENORECOVERY,	/* recoveries without SACK (TCPRenoRecovery) */
	/* Fast Open (RFC 7413), TCP's TCPFastOpen* without "TCP" */
	ESTP_MIB_FASTOPENACTIVE, /* SYN-ACKs that took our SYN's data */
	ESTP_MIB_FASTOPENACTIVEFAIL, /* the data was not taken, or timeouts */
	ESTP_MIB_FASTOPENPASSIVE, /* children made from a SYN with a cookie */
	ESTP_MIB_FASTOPENPASSIVEFAIL, /* a bad cookie, or no child could be made */
	ESTP_MIB_FASTOPENLISTENOVERFLOW, /* the listener's fastopen queue was full */
	ESTP_MIB_FASTOPENCOOKIEREQD, /* SYNs asking for a cookie */
	ESTP_MIB_FASTOPENBLACKHOLE, /* active Fast Open paused in the netns */
	ESTP_MIB_FASTOPENPASSIVEALTKEY, /* cookies valid with the backup key */
	/* signatures ESTP has no key for, TCP's TcpExt names without "TCP" */
	ESTP_MIB_MD5UNEXPECTED,	/* an MD5 option (TCPMD5Unexpected) */
	ESTP_MIB_AOBAD,		/* a TCP-AO option to a request sock (TCPAOBad) */
	ESTP_MIB_AOKEYNOTFOUND,	/* a TCP-AO option to a full sock (TCPAOKeyNotFound) */
	__ESTP_MIB_MAX
};

struct estp_mib {
	unsigned long	mibs[__ESTP_MIB_MAX];
};

/* Per-netns state of the module (net_generic). */
struct estp_net {
	struct estp_mib __percpu	*mib;
	struct ctl_table_header		*sysctl_hdr;
	/* net.estp.congestion_control; holds a reference on its owner */
	const struct estp_congestion_ops __rcu *ca_default;
	int				syn_retries;	/* net.estp.* */
	int				syn_linear_timeouts; /* SYN timeouts not doubled */
	int				synack_retries;
	int				fin_timeout;	/* seconds */
	int				tw_timeout;	/* seconds */
	int				syncookies;	/* 0 off, 1 on overflow, 2 always */
	int				max_tw_buckets;	/* limit of tw_count */
	int				tw_reuse_mode;	/* net.estp.tw_reuse: 0, 1, 2 loopback */
	int				keepalive_time;	/* seconds */
	int				keepalive_intvl; /* seconds */
	int				keepalive_probes;
	int				invalid_ratelimit; /* ms between challenge ACKs */
	int				retries2;	/* tcp_retries2 */
	int				rmem[3];	/* tcp_rmem: min, default, max */
	int				wmem[3];	/* tcp_wmem */
	int				timestamps;	/* RFC 7323 timestamps, 0/1 */
	int				sack;		/* RFC 2018 SACK, 0/1 */
	int				window_scaling;	/* RFC 7323 window scaling, 0/1 */
	int				ecn;		/* RFC 3168: 0 off, 1 ask, 2 accept */
	int				ecn_fallback;	/* resent SYNs ask no more, 0/1 */
	unsigned int			notsent_lowat;	/* tcp_notsent_lowat */
	int				dsack;		/* tcp_dsack: send D-SACKs, 0/1 */
	int				frto;		/* tcp_frto: F-RTO on, 0-2 */
	int				reordering;	/* tcp_reordering: dupACK threshold */
	int				max_reordering;	/* tcp_max_reordering */
	int				min_rtt_wlen;	/* tcp_min_rtt_wlen: seconds */
	int				challenge_ack_limit; /* per second, per netns */
	u32				challenge_timestamp; /* second of the count */
	atomic_t			challenge_count;
	/* time-wait minisocks not yet freed: estp_twsk_purge() waits for 0 */
	atomic_t			tw_count;
	/* Fast Open: net.estp.fastopen (ESTP_TFO_* bits) and its keys */
	int				fastopen;
	int				fastopen_blackhole_timeout; /* seconds; 0 off */
	struct estp_fastopen_ctx __rcu	*fastopen_ctx;
	atomic_t			tfo_active_disable_times;
	unsigned long			tfo_active_disable_stamp; /* jiffies */
	struct estp_fastopen_cache	*fastopen_cache; /* the client's cookies */
};

extern unsigned int estp_net_id;
extern struct percpu_counter estp_orphan_count;
extern struct proto estp_prot;
extern struct request_sock_ops estp_request_sock_ops;
extern struct timewait_sock_ops estp_timewait_sock_ops;
extern int estp_ipproto;

static inline struct estp_net *estp_pernet(const struct net *net)
{
	return net_generic(net, estp_net_id);
}

/* ESTP_NOTSENT_LOWAT, or net.estp.notsent_lowat when unset (tcp_notsent_lowat). */
static inline u32 estp_notsent_lowat(const struct estp_sock *esk)
{
	u32 val = READ_ONCE(esk->notsent_lowat);

	return val ? : READ_ONCE(estp_pernet(sock_net(&esk->inet.sk))->notsent_lowat);
}

#define ESTP_INC_STATS(net, field) \
	this_cpu_inc(estp_pernet(net)->mib->mibs[field])

/*
 * __tcp_oow_rate_limited(): true when an ACK to an out-of-window segment
 * is the second within net.estp.invalid_ratelimit ms of *@last, so that two
 * ends that disagree cannot loop ACKs.  Lockless for the TIME_WAIT minisock.
 */
static inline bool estp_oow_rate_limited(const struct net *net, u32 *last)
{
	u32 gap = msecs_to_jiffies(READ_ONCE(estp_pernet(net)->invalid_ratelimit));
	u32 now = jiffies, prev = READ_ONCE(*last);

	if (prev && (s32)(now - prev) >= 0 && now - prev < gap)
		return true;
	WRITE_ONCE(*last, now ? : 1);
	return false;
}

/*
 * A request's timeout after num_timeout backoffs, at most ESTP_RTO_MAX
 * (reqsk_timeout): in u64, with the shift bounded, since
 * net.estp.synack_retries allows up to 127 timeouts.
 */
static inline unsigned long estp_reqsk_timeout(const struct request_sock *req)
{
	u64 timeout = (u64)req->timeout << min_t(u8, req->num_timeout, 31);

	return min_t(u64, timeout, ESTP_RTO_MAX);
}

/* As TCP's default: one orphan for every two established-hash buckets. */
static inline int estp_max_orphans_default(void)
{
	return (estp_hashinfo.ehash_mask + 1) / 2;
}

/*
 * Every sock that estp_csk_destroy_sock() frees was counted as an orphan
 * first: by close(), by a closing listener, or by a failed passive open.
 */
static inline void estp_orphan_inc(void)
{
	percpu_counter_inc(&estp_orphan_count);
}

/*
 * Fast Open (RFC 7413), estp_fastopen.c, as net/ipv4/tcp_fastopen.c.
 * net.estp.fastopen has net.ipv4.tcp_fastopen's bits (TFO_*).
 */
#define ESTP_TFO_CLIENT_ENABLE		0x1
#define ESTP_TFO_SERVER_ENABLE		0x2
#define ESTP_TFO_CLIENT_NO_COOKIE	0x4	/* data in the SYN without a cookie */
#define ESTP_TFO_SERVER_COOKIE_NOT_REQD	0x200	/* take it without one */
#define ESTP_TFO_SERVER_WO_SOCKOPT1	0x400	/* every listener, qlen = backlog */
#define ESTP_FASTOPEN_KEY_LENGTH	16	/* TCP_FASTOPEN_KEY_LENGTH */
#define ESTP_FASTOPEN_KEY_MAX		2	/* the primary and a backup */
#define ESTP_FASTOPEN_COOKIE_MIN	4	/* RFC 7413 4.1.1 */
#define ESTP_FASTOPEN_COOKIE_MAX	16
#define ESTP_FASTOPEN_COOKIE_SIZE	8	/* the size ours have (SipHash) */

/* A cookie, ours or the peer's (struct tcp_fastopen_cookie). */
struct estp_fastopen_cookie {
	u8	val[ESTP_FASTOPEN_COOKIE_MAX];
	s8	len;	/* -1: none, 0: a request */
	bool	exp;	/* in the experimental option */
};

/* Keys, replaced whole under RCU (struct tcp_fastopen_context). */
struct estp_fastopen_ctx {
	siphash_key_t	key[ESTP_FASTOPEN_KEY_MAX];
	int		num;
	struct rcu_head	rcu;
};

/* What an active open puts in its SYN (struct tcp_fastopen_request). */
struct estp_fastopen_request {
	struct estp_fastopen_cookie	cookie;	/* for the SYN's option */
	struct msghdr			*data;	/* the sendmsg() being made */
	size_t				size;
	int				copied;	/* of it, in the SYN */
};

struct estp_fastopen_cache;

static inline bool estp_passive_fastopen(const struct sock *sk)
{
	return sk->sk_state == TCP_SYN_RECV &&
	       rcu_access_pointer(estp_sk(sk)->fastopen_rsk);
}

/* estp_fastopen.c */
int estp_fastopen_net_init(struct net *net);
void estp_fastopen_net_exit(struct net *net);
void estp_fastopen_init_key_once(struct net *net);
int estp_fastopen_reset_cipher(struct net *net, struct sock *sk, const void *primary,
			       const void *backup);
int estp_fastopen_get_cipher(struct net *net, struct sock *sk, u64 *key);
void estp_fastopen_destroy_cipher(struct sock *sk);
void estp_fastopen_queue_tune(struct sock *sk, int backlog);
struct sock *estp_try_fastopen(struct sock *listener, struct sk_buff *skb,
			       struct request_sock *req,
			       struct estp_fastopen_cookie *foc);
void estp_reqsk_fastopen_remove(struct sock *sk, struct request_sock *req, bool reset);
void estp_fastopen_purge_rst(struct sock *listener);
bool estp_fastopen_cookie_check(struct sock *sk, u16 *mss,
				struct estp_fastopen_cookie *cookie);
bool estp_fastopen_defer_connect(struct sock *sk, int *err);
void estp_fastopen_cache_set(struct sock *sk, u16 mss,
			     const struct estp_fastopen_cookie *cookie,
			     bool syn_lost, u8 try_exp);
void estp_fastopen_active_disable(struct sock *sk);
void estp_fastopen_active_disable_ofo_check(struct sock *sk);
void estp_fastopen_active_detect_blackhole(struct sock *sk, bool expired);
void estp_free_fastopen_req(struct estp_sock *esk);

/* af_estp.c: estp_prot's methods and accounting, estpv6_prot's too */
int estp_listen(struct socket *sock, int backlog);
int estp_set_rcvlowat(struct sock *sk, int val);
void estp_enter_memory_pressure(struct sock *sk);
void estp_leave_memory_pressure(struct sock *sk);
extern atomic_long_t estp_memory_allocated;
DECLARE_PER_CPU(int, estp_memory_per_cpu_fw_alloc);
extern struct percpu_counter estp_sockets_allocated;
extern unsigned long estp_memory_pressure;

/* estp_ipv6.c */
extern struct proto estpv6_prot;
int estp_v6_init(void);
void estp_v6_exit(void);
void estp_v6_proto_exit(void);

/*
 * Which exit ended a socket, for the estp:estp_done trace event: the callers
 * of tcp_done() the first seed lists (its number after each), some split
 * where ESTP's counterpart has distinct paths.  Trace users see the values:
 * new ones go at the end, and in estp_trace.h's list of names.
 */
enum estp_done_reason {
	ESTP_DONE_ABORT,		/* 1: SOCK_DESTROY (tcp_abort) */
	ESTP_DONE_RESET,		/* 2: a RST taken (tcp_reset) */
	ESTP_DONE_LAST_ACK,		/* 3: our FIN acked in LAST_ACK */
	ESTP_DONE_LINGER2,		/* 3: orphan FIN_WAIT1, linger2 < 0 */
	ESTP_DONE_ABORT_ON_DATA,	/* 3: data for a closed reader */
	ESTP_DONE_V4_ERR,		/* 4: ICMP error in SYN_SENT/SYN_RECV */
	ESTP_DONE_SYN_RECV_SOCK,	/* 5: a child that could not be hashed */
	ESTP_DONE_TIME_WAIT,		/* 6: a minisock took over */
	ESTP_DONE_WRITE_ERR,		/* 7: retries or user timeout spent */
	ESTP_DONE_OUT_OF_RESOURCES,	/* 8: too many orphans, or memory */
	ESTP_DONE_KEEPALIVE,		/* 9 (via 7 as TCP): probes unanswered */
	ESTP_DONE_FIN_WAIT2,		/* 9: orphan FIN_WAIT2 timed out */
	ESTP_DONE_V6_ERR,		/* 10: ICMPv6 error in SYN_SENT/SYN_RECV */
	ESTP_DONE_V6_SYN_RECV_SOCK,	/* 11: an IPv6 child not hashed */
	ESTP_DONE_CHILD_FORGET,		/* a child nobody accepts (inet_child_forget) */
};

/* estp_core.c (tcp.c: estp.o is the module itself) */
void estp_set_state(struct sock *sk, int state);
void estp_done(struct sock *sk, enum estp_done_reason reason);
int estp_abort(struct sock *sk, int err);
void estp_get_info(struct sock *sk, struct tcp_info *info);
/*
 * The accept queue's lock is initialised once for a sock, at its creation
 * or clone (inet_init_csk_locks), never by listen(): a softirq of an
 * earlier listening session may still hold it.
 */
static inline void estp_init_csk_locks(struct sock *sk)
{
	spin_lock_init(&estp_sk(sk)->accept_queue.lock);
	spin_lock_init(&estp_sk(sk)->accept_queue.fastopenq.lock);
}

int estp_disconnect(struct sock *sk, int flags);
void estp_reset_stream_state(struct sock *sk);
void estp_shutdown(struct sock *sk, int how);
int estp_stream_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			int flags);
int estp_stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);
void estp_write_queue_purge(struct sock *sk);
struct sk_buff *estp_fastopen_queue_data(struct sock *sk, struct iov_iter *from, int space);
void estp_wmem_free_skb(struct sock *sk, struct sk_buff *skb);
void estp_forced_mem_schedule(struct sock *sk, int size);
void estp_ofo_purge(struct sock *sk);
__poll_t estp_poll(struct file *file, struct socket *sock, poll_table *wait);
bool estp_stream_memory_free(const struct sock *sk, int wake);
void estp_check_space(struct sock *sk);
int estp_init_sock(struct sock *sk);
void estp_destroy_sock(struct sock *sk);
void estp_close(struct sock *sk, long timeout);
int estp_setsockopt(struct sock *sk, int level, int optname,
		    sockptr_t optval, unsigned int optlen);
int estp_getsockopt(struct sock *sk, int level, int optname,
		    char __user *optval, int __user *optlen);
bool estp_too_many_orphans(const struct sock *sk, int shift);
int estp_fin_time(const struct sock *sk);
bool estp_orphan_fin_wait2(struct sock *sk);
int estp_ioctl(struct sock *sk, int cmd, int *karg);

/* estp_connection_sock.c (inet_connection_sock.c) */
void estp_reqsk_queue_alloc(struct estp_accept_queue *queue);
int estp_csk_listen_start(struct sock *sk);
void estp_csk_listen_stop(struct sock *sk);
struct sock *estp_csk_accept(struct sock *sk, int flags, int *err);
void estp_csk_destroy_sock(struct sock *sk);
struct request_sock *estp_reqsk_alloc(struct sock *listener,
				      const struct estp_ctl_ops *ctl);
void estp_reqsk_put(struct request_sock *req);
int estp_reqsk_queue_hash_add(struct sock *listener, struct request_sock *req);
bool estp_reqsk_queue_drop(struct sock *listener, struct request_sock *req);
void estp_csk_complete_hashdance(struct sock *listener, struct request_sock *req,
				 struct sock *child);
void estp_csk_reqsk_queue_add(struct sock *listener, struct request_sock *req,
			      struct sock *child);
struct sock *estp_csk_clone(const struct sock *listener,
			    const struct request_sock *req);

static inline bool estp_accept_queue_empty(const struct sock *sk)
{
	return !READ_ONCE(estp_sk(sk)->accept_queue.head);
}

/* estp_hashtables.c (inet_hashtables.c) */
int estp_hashinfo_init(void);
void estp_hashinfo_destroy(void);
int estp_get_port(struct sock *sk, unsigned short snum);
void estp_put_port(struct sock *sk);
int estp_hash(struct sock *sk);
struct sock *estp_lookup_listener(struct net *net, struct sk_buff *skb,
				  __be32 saddr, __be16 sport, __be32 daddr,
				  __be16 dport, int dif);
struct sock *estp_lookup_established(struct net *net, __be32 saddr, __be16 sport,
				     __be32 daddr, __be16 dport, int dif);
int estp_hash_connect(struct sock *sk);
struct sock *estp_lookup_established6(struct net *net, const struct in6_addr *saddr,
				      __be16 sport, const struct in6_addr *daddr,
				      __be16 dport, int dif);
struct sock *estp_lookup_listener6(struct net *net, struct sk_buff *skb,
				   const struct in6_addr *saddr, __be16 sport,
				   const struct in6_addr *daddr, __be16 dport, int dif);
void estp_sock_gen_put(struct sock *sk);
struct inet_timewait_sock *estp_ehash_find_tw(const struct net *net,
					      unsigned int *slot);
bool estp_ehash_insert(struct sock *sk, struct sock *osk);
int estp_inherit_port(const struct sock *listener, struct sock *child);
void estp_twsk_bind(struct inet_timewait_sock *tw, struct sock *sk);
void estp_twsk_unbind(struct inet_timewait_sock *tw);
void estp_reqsk_purge(struct sock *listener);
void estp_unhash(struct sock *sk);
struct estp_nulls_bucket *estp_lhash_bucket(const struct net *net, unsigned short port);

/* estp_diag.c (tcp_diag.c) */
int estp_diag_init(void);
void estp_diag_exit(void);

/* estp_syncookies.c (syncookies.c) */

/**
 * struct estp_cookie_family - what SYN cookies differ in between families
 * @hash: a keyed hash of the segment's 4-tuple (its source the peer's)
 *	and @count: key 0 and 1 for the cookie, 2 for the TSval offset
 * @msstab: the MSS values a cookie can carry, ascending
 * @msstab_len: their number
 */
struct estp_cookie_family {
	u32		(*hash)(const struct sk_buff *skb, u32 count, int c);
	const u16	*msstab;
	unsigned int	msstab_len;
};

u32 estp_cookie_init_sequence(const struct estp_cookie_family *f, struct sock *listener,
			      const struct sk_buff *skb, u16 *mssp);
int estp_cookie_check(const struct estp_cookie_family *f, const struct estp_ctl_ops *ctl,
		      struct sock *listener, struct sk_buff *skb);
u32 estp_v4_cookie_init_sequence(struct sock *listener, const struct sk_buff *skb,
				 u16 *mssp);
int estp_v4_cookie_check(struct sock *listener, struct sk_buff *skb);
u32 estp_v4_cookie_ts_offset(const struct sk_buff *skb);
u32 estp_cookie_init_timestamp(const struct request_sock *req, u32 now);

/* estp_syncookies6.c (net/ipv6/syncookies.c) */
u32 estp_v6_cookie_init_sequence(struct sock *listener, const struct sk_buff *skb,
				 u16 *mssp);
u32 estp_v6_cookie_ts_offset(const struct sk_buff *skb);
int estp_v6_cookie_check(struct sock *listener, struct sk_buff *skb);

/* estp_sysctl.c */
extern long estp_sysctl_mem[3];
extern int estp_sysctl_max_orphans;
void estp_sysctl_global_init(void);
int estp_sysctl_net_init(struct net *net);
void estp_sysctl_net_exit(struct net *net);

/* estp_proc.c */
int estp_proc_net_init(struct net *net);
void estp_proc_net_exit(struct net *net);

/* estp_output.c (tcp_output.c) */
void estp_v4_csum(struct sk_buff *skb, __be32 saddr, __be32 daddr);
int estp_v4_send_ctl(struct net *net, struct sk_buff *skb, __be32 saddr,
		     __be32 daddr, u8 tos);
struct sk_buff *estp_alloc_ctl_skb(unsigned int len, gfp_t gfp);
int estp_send_syn(struct sock *sk);
int estp_v4_send_synack(const struct sock *listener, struct request_sock *req,
			const struct estp_fastopen_cookie *foc);
int estp_v4_route_mss(const struct sock *listener, const struct request_sock *req);
int estp_synack_window(const struct sock *listener, struct request_sock *req);
int estp_rtx_synack(const struct sock *listener, struct request_sock *req);
void estp_openreq_window(const struct sock *listener, struct request_sock *req, u16 mss);
int estp_connect(struct sock *sk);
void estp_send_ack(struct sock *sk);
void estp_send_delayed_ack(struct sock *sk);
void estp_delack_timer_handler(struct sock *sk);
void estp_write_timer_handler(struct sock *sk);
void estp_send_fin(struct sock *sk);
void estp_retransmit_fin(struct sock *sk);
void estp_v4_send_tw_ack(struct inet_timewait_sock *tw);
struct sk_buff *estp_make_synack(const struct sock *listener, struct request_sock *req,
				 u16 mss, const struct estp_fastopen_cookie *foc);
struct sk_buff *estp_make_reqsk_ack(const struct request_sock *req);
struct sk_buff *estp_make_tw_ack(const struct inet_timewait_sock *tw);
struct sk_buff *estp_make_reset(const struct sock *sk, const struct sk_buff *skb);
void estp_v4_send_reqsk_ack(const struct sock *listener, const struct sk_buff *skb,
			    const struct request_sock *req);
void estp_send_active_reset(struct sock *sk, gfp_t gfp);
int estp_write_wakeup(struct sock *sk);
void estp_push(struct sock *sk);
void __estp_push(struct sock *sk, int nonagle);
int estp_retransmit_skb(struct sock *sk, struct sk_buff *skb);
void estp_xmit_retransmit_queue(struct sock *sk);
void estp_simple_retransmit(struct sock *sk);
void estp_non_congestion_loss_retransmit(struct sock *sk);
u16 estp_select_window(struct sock *sk);
u32 __estp_select_window(struct sock *sk);
void estp_send_challenge_ack(struct sock *sk);
void estp_reqsk_send_challenge_ack(const struct sock *listener, const struct sk_buff *skb,
				   struct request_sock *req);
u32 estp_mtu_to_mss(struct sock *sk, u32 pmtu);
void estp_sync_mss(struct sock *sk, u32 pmtu);
void estp_chrono_start(struct sock *sk, enum estp_chrono type);
void estp_chrono_stop(struct sock *sk, enum estp_chrono type);
u16 estp_advertised_mss(struct sock *sk);
void estp_send_check_partial(struct sk_buff *skb, __sum16 pseudo);
void estp_v4_send_check(struct sock *sk, struct sk_buff *skb);
u16 estp_v4_mss_for_mtu(unsigned int mtu);

/* estp_input.c (tcp_input.c) */
void estp_reset(struct sock *sk);
int estp_rcv_state_process(struct sock *sk, struct sk_buff *skb);
u16 estp_parse_mss(const struct estphdr *th);
void estp_parse_options(const struct estphdr *th, struct estp_options_received *opt);
bool estp_inbound_auth_drop(struct net *net, const struct sk_buff *skb, bool req);
void estp_openreq_options(struct request_sock *req, const struct sock *listener,
			  const struct estp_options_received *opt);
void estp_select_initial_window(const struct sock *sk, int space, u32 mss,
				u32 *rcv_wnd, u32 *window_clamp, bool wscale_ok,
				u8 *rcv_wscale);
void estp_enter_quickack_mode(struct sock *sk);
int estp_conn_request(const struct estp_ctl_ops *ctl, struct sock *listener,
		      struct sk_buff *skb);
void estp_openreq_init(struct request_sock *req, const struct sk_buff *skb,
		       u32 rcv_isn, u16 mss);
void estp_init_transfer(struct sock *sk);
void estp_fastopen_add_skb(struct sock *sk, struct sk_buff *skb);
void estp_rtt_sample(struct sock *sk, long rtt_us);
void estp_enter_loss(struct sock *sk);
void estp_rcv_space_adjust(struct sock *sk);
bool estp_early_timeout(struct sock *sk);
void estp_schedule_loss_probe(struct sock *sk);

/* estp_minisocks.c (tcp_minisocks.c) */
struct sock *estp_create_openreq_child(const struct sock *listener,
				       struct request_sock *req,
				       struct sk_buff *skb);
struct sock *estp_check_req(struct sock *listener, struct sk_buff *skb,
			    struct request_sock *req);
int estp_fastopen_check_req(struct sock *sk, struct sk_buff *skb,
			    struct request_sock *req);
int estp_child_process(struct sock *listener, struct sock *child,
		       struct sk_buff *skb);
void estp_time_wait(struct sock *sk, int state, int timeo);
void estp_twsk_put(struct inet_timewait_sock *tw);
void estp_twsk_deschedule_put(struct inet_timewait_sock *tw);
void estp_twsk_purge(struct net *net);
bool estp_timewait_state_process(struct inet_timewait_sock *tw, struct sk_buff *skb);

/* estp_timer.c (tcp_timer.c) */
void estp_init_xmit_timers(struct sock *sk);
void estp_clear_xmit_timers(struct sock *sk);
void estp_reset_xmit_timer(struct sock *sk);
void estp_write_err(struct sock *sk, enum estp_done_reason reason);
void estp_reset_keepalive_timer(struct sock *sk, unsigned long len);
void estp_delete_keepalive_timer(struct sock *sk);
void estp_set_keepalive(struct sock *sk, int val);

/* Per socket, or the netns's default (keepalive_time_when() and friends). */
static inline u32 estp_keepalive_time_when(const struct estp_sock *esk)
{
	return READ_ONCE(esk->keepalive_time) ? :
	       READ_ONCE(estp_pernet(sock_net(&esk->inet.sk))->keepalive_time) * HZ;
}

static inline u32 estp_keepalive_intvl_when(const struct estp_sock *esk)
{
	return READ_ONCE(esk->keepalive_intvl) ? :
	       READ_ONCE(estp_pernet(sock_net(&esk->inet.sk))->keepalive_intvl) * HZ;
}

static inline int estp_keepalive_probes(const struct estp_sock *esk)
{
	return READ_ONCE(esk->keepalive_probes) ? :
	       READ_ONCE(estp_pernet(sock_net(&esk->inet.sk))->keepalive_probes);
}

/* estp_fault.c: debugfs fault injection for exits only failures reach */
bool estp_fault(const char *point);
int estp_fault_init(void);

/*
 * Fault point @point for races: once armed, the caller stops here (it may
 * be a softirq: it spins) until @cond holds, 2 s at most, so that a test can
 * make another CPU act inside this window.  Needs <linux/delay.h>.
 */
#define estp_fault_hold(point, cond)					\
	do {								\
		int __ms;						\
									\
		if (estp_fault(point))					\
			for (__ms = 0; __ms < 2000 && !(cond); __ms++)	\
				mdelay(1);				\
	} while (0)

/*
 * The same for a caller in process context: it sleeps, so that the other
 * side of the race may run on this CPU meanwhile, and holds 10 s at most:
 * a debug kernel under TCG on a loaded host can take seconds to bring the
 * other side in, and @cond normally ends the wait long before.  Needs
 * <linux/delay.h>.
 */
#define estp_fault_wait(point, cond)					\
	do {								\
		unsigned long __end = jiffies + 10 * HZ;		\
									\
		if (estp_fault(point))					\
			while (!(cond) && time_before(jiffies, __end))	\
				usleep_range(1000, 2000);		\
	} while (0)
void estp_fault_exit(void);

/* estp_ipv4.c */
int estp_v4_connect(struct sock *sk, struct estp_sockaddr *uaddr, int addr_len);
void estp_v4_send_reset(struct net *net, struct sk_buff *skb);
void estp_v4_send_reset_sk(struct net *net, const struct sock *sk,
			   struct sk_buff *skb);
int estp_v4_rcv(struct sk_buff *skb);
int estp_v4_do_rcv(struct sock *sk, struct sk_buff *skb);
int estp_do_rcv(struct sock *sk, struct sk_buff *skb, const struct estp_ctl_ops *ctl);
bool estp_rcv_validate(struct net *net, struct sk_buff *skb,
		       const struct estp_ctl_ops *ctl);
bool estp_rcv_established(struct net *net, struct sk_buff *skb, struct sock *sk,
			  const struct estp_ctl_ops *ctl);
void estp_rcv_listener(struct net *net, struct sk_buff *skb, struct sock *sk,
		       const struct estp_ctl_ops *ctl);
u32 estp_v4_init_seq(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport);
struct sock *estp_v4_syn_recv_sock(const struct sock *listener, struct sk_buff *skb,
				   struct request_sock *req);
struct sock *estp_syn_recv_sock_hash(const struct sock *listener, struct request_sock *req,
				     struct sock *newsk, enum estp_done_reason reason);
int estp_v4_err(struct sk_buff *skb, u32 info);
int estp_v4_conn_request(struct sock *listener, struct sk_buff *skb);
int estp_v4_rebuild_header(struct sock *sk);
void estp_req_err(struct net *net, struct request_sock *req, u32 seq, bool abort);
void estp_icmp_err_apply(struct sock *sk, int err, bool recverr,
			 enum estp_done_reason reason);
void estp_v4_mtu_reduced(struct sock *sk);
void estp_release_cb(struct sock *sk);

/* estp_mib.c */
int estp_mib_net_init(struct net *net);
void estp_mib_net_exit(struct net *net);

#endif /* _ESTP_H */
