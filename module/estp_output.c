// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP output, the counterpart of net/ipv4/tcp_output.c: segment checksums
 * and the path for segments that no full sock sends (RSTs for now).
 */
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/route.h>

#include "estp.h"
#include "estp_trace.h"
#include "estp_ecn.h"

/**
 * estp_v4_csum - fill in the checksum of an outgoing segment
 * @skb: the segment, data at the ESTP header, nothing after the payload
 * @saddr: IPv4 source address
 * @daddr: IPv4 destination address
 *
 * The checksum is mandatory and covers the pseudo-header with ESTP's
 * protocol number; it is computed here in full: the segments of no full
 * sock (estp_send_check_partial() for the others).
 */
void estp_v4_csum(struct sk_buff *skb, __be32 saddr, __be32 daddr)
{
	struct estphdr *th = estp_hdr(skb);

	th->check = 0;
	th->check = csum_tcpudp_magic(saddr, daddr, skb->len, estp_ipproto,
				      skb_checksum(skb, 0, skb->len, 0));
	skb->ip_summed = CHECKSUM_NONE;
}

/* A route for a segment that belongs to no full sock. */
static struct rtable *estp_v4_route_ctl_ports(struct net *net, struct flowi4 *fl4,
					      __be16 sport, __be16 dport,
					      __be32 saddr, __be32 daddr)
{
	*fl4 = (struct flowi4) {
		.daddr = daddr,
		.saddr = saddr,
		.flowi4_proto = estp_ipproto,
		.fl4_sport = sport,
		.fl4_dport = dport,
	};
	return ip_route_output_key(net, fl4);
}

static struct rtable *estp_v4_route_ctl(struct net *net, struct flowi4 *fl4,
					const struct estphdr *th, __be32 saddr,
					__be32 daddr)
{
	return estp_v4_route_ctl_ports(net, fl4, th->source, th->dest, saddr, daddr);
}

/*
 * Checksum, prepend the IPv4 header and send on the route found for it,
 * with @ttl, or the route's hop limit when it is negative (ip_select_ttl()).
 */
static int estp_v4_xmit_ctl(struct net *net, struct sk_buff *skb,
			    struct rtable *rt, const struct flowi4 *fl4, u8 tos,
			    int ttl)
{
	struct iphdr *iph;

	estp_v4_csum(skb, fl4->saddr, fl4->daddr);
	skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph = ip_hdr(skb);
	iph->version = 4;
	iph->ihl = sizeof(*iph) >> 2;
	iph->tos = tos;
	iph->tot_len = htons(skb->len);
	iph->frag_off = htons(IP_DF);
	iph->ttl = ttl < 0 ? ip4_dst_hoplimit(&rt->dst) : ttl;
	iph->protocol = estp_ipproto;
	iph->saddr = fl4->saddr;
	iph->daddr = fl4->daddr;
	skb_dst_set(skb, &rt->dst);
	ip_select_ident(net, skb, NULL);
	ip_send_check(iph);
	skb->protocol = htons(ETH_P_IP);
	ESTP_INC_STATS(net, ESTP_MIB_OUTSEGS);
	return ip_local_out(net, NULL, skb);
}

/**
 * estp_v4_send_ctl - send a segment that belongs to no full sock
 * @net: the netns to send in
 * @skb: the segment, data at its ESTP header, headroom for IP and link
 * @saddr: source address (the address the segment we answer was sent to)
 * @daddr: destination address
 * @tos: IP TOS
 *
 * Routes, checksums and prepends the IPv4 header itself: ip_build_and_send_pkt()
 * and ip_send_unicast_reply() are not exported.  The skb has no owner.
 *
 * Return: 0 or a negative error; the skb is consumed either way.
 */
int estp_v4_send_ctl(struct net *net, struct sk_buff *skb, __be32 saddr,
		     __be32 daddr, u8 tos)
{
	struct flowi4 fl4;
	struct rtable *rt;

	rt = estp_v4_route_ctl(net, &fl4, estp_hdr(skb), saddr, daddr);
	if (IS_ERR(rt)) {
		kfree_skb(skb);
		return PTR_ERR(rt);
	}
	/* Not-ECT, whatever the segment answered was (ip_send_unicast_reply). */
	return estp_v4_xmit_ctl(net, skb, rt, &fl4, tos & ~INET_ECN_MASK, -1);
}

/**
 * estp_v4_mss_for_mtu - our MSS for a route: its MTU less the IPv4 and
 *	ESTP headers, the MTU taken at most as IPv4's 65535
 *	(ipv4_default_advmss): 65495 on loopback
 * @mtu: the route's MTU
 *
 * Return: the MSS.
 */
u16 estp_v4_mss_for_mtu(unsigned int mtu)
{
	return min_t(unsigned int, mtu, IP_MAX_MTU) - sizeof(struct iphdr) -
	       sizeof(struct estphdr);
}

/**
 * estp_advertised_mss - the MSS a sock announces: from its cached route,
 *	clamped by ESTP_MAXSEG (tcp_mss_clamp(tcp_dst_advmss()))
 * @sk: the socket
 *
 * Return: the MSS, the timestamps option's room not taken off.
 */
u16 estp_advertised_mss(struct sock *sk)
{
	const struct estp_ctl_ops *ctl = estp_sk(sk)->af_ops->ctl;
	const struct dst_entry *dst = __sk_dst_get(sk);
	u16 user_mss = READ_ONCE(estp_sk(sk)->user_mss);
	u16 mss;

	mss = ctl->mss_for_mtu(dst ? dst_mtu(dst) : ctl->min_mtu);
	return user_mss ? min(mss, user_mss) : mss;
}

/*
 * The options of one outgoing segment (struct tcp_out_options).  They are
 * laid out as Linux TCP lays them out, so that a capture of ESTP reads
 * like one of TCP: MSS, then SACK-permitted in the two bytes the
 * timestamps option would pad with NOPs, then NOP and window scale; data
 * segments carry NOP, NOP, timestamps, then NOP, NOP and the SACK blocks.
 */
struct estp_out_options {
	u8	mss_opt:1,
		sack_perm:1,
		tstamp:1,
		wscale_opt:1;
	u8	ws;
	u8	num_sacks;
	u16	mss;
	u32	tsval;
	u32	tsecr;
	const u32 (*sacks)[2];
	/* a Fast Open option, last, as tcp_options_write() puts it */
	const struct estp_fastopen_cookie *foc;
};

/* The room a Fast Open option takes, padded to 32 bits; 0: none. */
static unsigned int estp_fastopen_opt_size(const struct estp_fastopen_cookie *foc)
{
	if (!foc || foc->len < 0)
		return 0;
	return (foc->len + (foc->exp ? 4 : 2) + 3) & ~3U;
}

static unsigned int estp_options_size(const struct estp_out_options *o)
{
	unsigned int size = 0;

	if (o->mss_opt)
		size += 4;
	if (o->tstamp)
		size += ESTP_OPTLEN_TS_ALIGNED;	/* SACK-permitted rides in it */
	else if (o->sack_perm)
		size += 4;
	if (o->wscale_opt)
		size += 4;
	if (o->num_sacks)
		size += 4 + 8 * o->num_sacks;
	return size + estp_fastopen_opt_size(o->foc);
}

static void estp_options_write(u8 *p, const struct estp_out_options *o)
{
	int i;

	if (o->mss_opt) {
		*p++ = ESTP_OPT_MSS;
		*p++ = 4;
		put_unaligned_be16(o->mss, p);
		p += 2;
	}
	if (o->tstamp) {
		*p++ = o->sack_perm ? ESTP_OPT_SACK_PERM : 1;
		*p++ = o->sack_perm ? 2 : 1;
		*p++ = ESTP_OPT_TIMESTAMP;
		*p++ = 10;
		put_unaligned_be32(o->tsval, p);
		put_unaligned_be32(o->tsecr, p + 4);
		p += 8;
	} else if (o->sack_perm) {
		*p++ = 1;
		*p++ = 1;
		*p++ = ESTP_OPT_SACK_PERM;
		*p++ = 2;
	}
	if (o->wscale_opt) {
		*p++ = 1;
		*p++ = ESTP_OPT_WSCALE;
		*p++ = 3;
		*p++ = o->ws;
	}
	if (o->num_sacks) {
		*p++ = 1;
		*p++ = 1;
		*p++ = ESTP_OPT_SACK;
		*p++ = 2 + 8 * o->num_sacks;
		for (i = 0; i < o->num_sacks; i++) {
			put_unaligned_be32(o->sacks[i][0], p);
			put_unaligned_be32(o->sacks[i][1], p + 4);
			p += 8;
		}
	}
	if (estp_fastopen_opt_size(o->foc)) {
		const struct estp_fastopen_cookie *foc = o->foc;
		unsigned int len;

		/* RFC 7413's kind 34, or kind 254 with its magic (RFC 6994). */
		if (foc->exp) {
			len = 4 + foc->len;
			*p++ = ESTP_OPT_EXP;
			*p++ = len;
			put_unaligned_be16(ESTP_OPT_FASTOPEN_MAGIC, p);
			p += 2;
		} else {
			len = 2 + foc->len;
			*p++ = ESTP_OPT_FASTOPEN;
			*p++ = len;
		}
		memcpy(p, foc->val, foc->len);
		p += foc->len;
		if ((len & 3) == 2) {
			*p++ = 1;
			*p++ = 1;
		}
	}
}

/* Push the header and its options in front of the payload at skb->data. */
static struct estphdr *estp_push_header(struct sk_buff *skb,
					const struct estp_out_options *o)
{
	unsigned int optlen = estp_options_size(o);
	struct estphdr *th;

	th = skb_push(skb, sizeof(*th) + optlen);
	skb_reset_transport_header(skb);
	memset(th, 0, sizeof(*th));
	th->doff = (sizeof(*th) + optlen) >> 2;
	estp_options_write((u8 *)(th + 1), o);
	return th;
}

/* Our timestamp clock: milliseconds, as TCP's TSval, from a random origin. */
static u32 estp_ts_now(u32 offset)
{
	return (u32)div_u64(estp_clock_us(), USEC_PER_MSEC) + offset;
}

/**
 * estp_alloc_ctl_skb - a buffer for a header-only segment
 * @len: header length, options included, a multiple of 4
 * @gfp: allocation flags
 *
 * Return: the skb with its ESTP header zeroed but for the data offset, or NULL.
 */
struct sk_buff *estp_alloc_ctl_skb(unsigned int len, gfp_t gfp)
{
	struct sk_buff *skb;

	/* Room for the larger network header: IPv6's. */
	skb = alloc_skb(MAX_HEADER + sizeof(struct ipv6hdr) + len, gfp);
	if (!skb)
		return NULL;
	skb_reserve(skb, MAX_HEADER + sizeof(struct ipv6hdr));
	skb_reset_transport_header(skb);
	memset(skb_put(skb, len), 0, len);
	estp_hdr(skb)->doff = len >> 2;
	return skb;
}

/* An empty buffer with room for every header, and @room bytes after them. */
static struct sk_buff *estp_alloc_sk_skb_room(unsigned int room, gfp_t gfp)
{
	struct sk_buff *skb = alloc_skb(ESTP_SKB_HEADROOM + room, gfp);

	if (skb)
		skb_reserve(skb, ESTP_SKB_HEADROOM);
	return skb;
}

/* An empty buffer for a sock's header-only segment. */
static struct sk_buff *estp_alloc_sk_skb(gfp_t gfp)
{
	return estp_alloc_sk_skb_room(0, gfp);
}

/*
 * The options of a sock's segment (tcp_established_options, and
 * tcp_syn_options for the SYN).  @len is the payload: SACK blocks that
 * would take the segment past the path's MSS are left for the next ACK.
 */
static void estp_sk_options(struct sock *sk, u8 flags, unsigned int len,
			    struct estp_out_options *o)
{
	struct estp_sock *esk = estp_sk(sk);
	const struct estp_net *en = estp_pernet(sock_net(sk));
	unsigned int room;

	memset(o, 0, sizeof(*o));
	if (flags & ESTP_FLAG_SYN) {
		o->mss_opt = 1;
		o->mss = estp_advertised_mss(sk);
		o->tstamp = !!READ_ONCE(en->timestamps);
		o->sack_perm = !!READ_ONCE(en->sack);
		o->wscale_opt = !!READ_ONCE(en->window_scaling);
		o->ws = esk->rcv_wscale;
		o->tsval = estp_ts_now(esk->ts_offset);
		o->tsecr = esk->ts_recent;
		/* The first SYN of an active Fast Open (tcp_syn_options). */
		if (esk->fastopen_req && esk->fastopen_req->cookie.len >= 0 &&
		    estp_options_size(o) + estp_fastopen_opt_size(&esk->fastopen_req->cookie) <=
		    ESTP_MAX_OPTION_SPACE) {
			o->foc = &esk->fastopen_req->cookie;
			esk->syn_fastopen = 1;
			esk->syn_fastopen_exp = o->foc->exp;
		}
		return;
	}
	if (esk->tstamp_ok) {
		o->tstamp = 1;
		o->tsval = estp_ts_now(esk->ts_offset);
		o->tsecr = esk->ts_recent;
	}
	if (!esk->sack_ok || !(flags & ESTP_FLAG_ACK)) {
		esk->num_sacks = 0;
		esk->dsack = 0;
		return;
	}
	if (RB_EMPTY_ROOT(&esk->out_of_order_queue))
		esk->num_sacks = 0;
	if (!esk->num_sacks && !esk->dsack)
		return;
	room = ESTP_MAX_OPTION_SPACE - (o->tstamp ? ESTP_OPTLEN_TS_ALIGNED : 0);
	if (len) {
		/* Header and payload within what a full-sized segment takes. */
		u32 limit = esk->mss_cache > len ? esk->mss_cache - len : 0;

		room = min_t(u32, room, limit);
	}
	if (room < 4 + 8)
		return;
	/*
	 * The first blocks, newest first (estp_sack_new_ofo()), behind the
	 * D-SACK block if one is owed (RFC 2883 4): duplicate_sack lies just
	 * before sack_blocks, as in TCP's tcp_sock.  It goes once.
	 */
	BUILD_BUG_ON(offsetof(struct estp_sock, sack_blocks) !=
		     offsetof(struct estp_sock, duplicate_sack[1]));
	o->num_sacks = min_t(u32, esk->num_sacks + esk->dsack, (room - 4) / 8);
	o->sacks = esk->dsack ? (const u32 (*)[2])esk->duplicate_sack :
				(const u32 (*)[2])esk->sack_blocks;
	esk->dsack = 0;
}

/*
 * An ACK goes out with this segment: the owed one is paid
 * (tcp_event_ack_sent).
 */
static void estp_event_ack_sent(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->ack_quick)
		esk->ack_quick--;
	if (esk->ack_pending & ESTP_ACK_TIMER)
		sk_stop_timer(sk, &esk->delack_timer);
	esk->ack_pending = 0;
}

/*
 * Send a segment of a full sock, its payload at skb->data: push the header
 * and options, checksum, and hand it to IP with the sock's route
 * (tcp_transmit_skb).  The skb is charged to the sock, so the sock
 * outlives it.
 */
static int estp_transmit_skb(struct sock *sk, struct sk_buff *skb, u32 seq,
			     u8 flags)
{
	struct inet_sock *inet = inet_sk(sk);
	struct estp_sock *esk = estp_sk(sk);
	unsigned int len = skb->len;
	struct estp_out_options opts;
	struct estphdr *th;
	int err;

	estp_sk_options(sk, flags, len, &opts);
	th = estp_push_header(skb, &opts);
	th->source = inet->inet_sport;
	th->dest = inet->inet_dport;
	th->seq = htonl(seq);
	((u8 *)th)[13] = flags;
	if (flags & ESTP_FLAG_ACK)
		th->ack_seq = htonl(esk->rcv_nxt);
	/*
	 * Every segment before the urgent pointer carries it, a window probe
	 * below snd_una too; one 64 KiB or more ahead, 0xFFFF while the
	 * segment ends within 64 KiB of snd_nxt, as __tcp_transmit_skb()
	 * (Linux's pointer: the byte after the urgent one, RFC 6093 3).
	 */
	if (unlikely(estp_urg_mode(esk) && estp_before(seq, esk->snd_up))) {
		if (estp_before(esk->snd_up, seq + 0x10000)) {
			th->urg_ptr = htons(esk->snd_up - seq);
			th->urg = 1;
		} else if (estp_after(seq + 0xFFFF, esk->snd_nxt)) {
			th->urg_ptr = htons(0xFFFF);
			th->urg = 1;
		}
	}
	/* RFC 7323 2.2: a SYN's window is never scaled. */
	if (flags & ESTP_FLAG_SYN) {
		th->window = htons(min_t(u32, esk->rcv_wnd, U16_MAX));
	} else {
		th->window = htons(estp_select_window(sk));
		estp_ecn_send(sk, th, seq, len);
	}
	if (flags & ESTP_FLAG_ACK)
		estp_event_ack_sent(sk);
	skb_set_owner_w(skb, sk);
	esk->af_ops->send_check(sk, skb);
	/*
	 * The clone carries our estp_skb_cb, which IP would read as IPCB():
	 * tx_us's high bits become option lengths and offsets for
	 * ip_options_fragment() and __ip_options_echo() (review C1).  Clear
	 * IP's part, as __tcp_transmit_skb() does.
	 */
	memset(skb->cb, 0, max(sizeof(struct inet_skb_parm),
			       sizeof(struct inet6_skb_parm)));
	/* Fault-point tests of estp_transmit_data() check that it holds. */
	WARN_ON_ONCE(IPCB(skb)->opt.optlen);
	/* Counted whether IP takes it or not, as __tcp_transmit_skb(). */
	if (len) {
		esk->lsndtime = jiffies;	/* tcp_event_data_sent */
		WRITE_ONCE(esk->data_segs_out, esk->data_segs_out + 1);
		WRITE_ONCE(esk->bytes_sent, esk->bytes_sent + len);
	}
	esk->segs_out++;
	err = esk->af_ops->queue_xmit(sk, skb, &inet->cork.fl);
	if (!err)
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OUTSEGS);
	return net_xmit_eval(err);
}

/**
 * estp_select_initial_window - the window of our SYN or SYN-ACK and our
 *	window scale (tcp_select_initial_window)
 * @sk: the socket, or the listener
 * @space: the receive buffer in payload bytes
 * @mss: the MSS we announce, less the timestamps option when it is on
 * @rcv_wnd: the initial window
 * @window_clamp: in: a clamp set by the user, or 0; out: the most we offer
 * @wscale_ok: whether window scaling may be offered
 * @rcv_wscale: our shift
 *
 * As Linux TCP chooses them, so that the handshake looks the same: the
 * buffer rounded down to whole segments, at most 64 KiB unscaled, and a
 * scale large enough for net.estp.rmem's maximum or net.core.rmem_max.
 */
void estp_select_initial_window(const struct sock *sk, int space, u32 mss,
				u32 *rcv_wnd, u32 *window_clamp, bool wscale_ok,
				u8 *rcv_wscale)
{
	u32 sp = max(space, 0);

	if (!*window_clamp)
		*window_clamp = U16_MAX << ESTP_MAX_WSCALE;
	sp = min(*window_clamp, sp);
	if (sp > mss)
		sp = rounddown(sp, mss);
	*rcv_wnd = min_t(u32, sp, U16_MAX);
	*rcv_wscale = 0;
	if (wscale_ok) {
		sp = max_t(u32, sp, READ_ONCE(estp_pernet(sock_net(sk))->rmem[2]));
		sp = max_t(u32, sp, READ_ONCE(sysctl_rmem_max));
		sp = min(sp, *window_clamp);
		*rcv_wscale = clamp_t(int, ilog2(sp) - 15, 0, ESTP_MAX_WSCALE);
	}
	*window_clamp = min_t(u32, U16_MAX << *rcv_wscale, *window_clamp);
}

/* The whole receive buffer in payload bytes (tcp_full_space). */
static u32 estp_full_space(const struct sock *sk)
{
	return ((u64)READ_ONCE(sk->sk_rcvbuf) * estp_sk(sk)->rcv_ratio) >> 8;
}

/**
 * __estp_select_window - the window the buffer allows now
 *	(__tcp_select_window)
 * @sk: the socket, locked or owned by the receive path
 *
 * The free buffer in payload bytes, held to rcv_ssthresh while the window
 * grows, zero when less than a segment is free and the buffer is more
 * than half full.
 *
 * Return: the window in bytes, before our scale is applied.
 */
u32 __estp_select_window(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 mss = max_t(u32, esk->rcv_mss, 1);
	u32 full = min(esk->window_clamp, estp_full_space(sk));
	u32 free_space = max(estp_rcv_space(sk), 0);
	u32 window;

	free_space = round_down(free_space, 1U << esk->rcv_wscale);
	if (free_space < full / 2) {
		if (sk_under_memory_pressure(sk))
			esk->rcv_ssthresh = min(esk->rcv_ssthresh, 4 * esk->mss_cache);
		if (free_space < mss)
			return 0;
	}
	free_space = min(free_space, esk->rcv_ssthresh);
	if (esk->rcv_wscale)
		return ALIGN(free_space, 1U << esk->rcv_wscale);
	/* Unscaled: whole segments, and no change for less than one. */
	window = esk->rcv_wnd;
	if (window <= free_space - mss || window > free_space)
		window = rounddown(free_space, mss);
	return window;
}

/**
 * estp_select_window - the receive window to advertise (tcp_select_window)
 * @sk: the socket
 *
 * Never less than what is left of the last window, which RFC 9293 forbids
 * taking back.
 *
 * Return: the window field, scaled by our shift.
 */
u16 estp_select_window(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	s32 cur = (s32)(esk->rcv_wup + esk->rcv_wnd - esk->rcv_nxt);
	u32 win = __estp_select_window(sk);

	if (cur > 0 && win < (u32)cur)
		win = ALIGN((u32)cur, 1U << esk->rcv_wscale);
	win = min_t(u32, win, (u32)U16_MAX << esk->rcv_wscale);
	esk->rcv_wnd = win;
	esk->rcv_wup = esk->rcv_nxt;
	return win >> esk->rcv_wscale;
}

/**
 * estp_send_check_partial - leave a sock's segment's checksum to the device
 * @skb: the segment, data at the ESTP header
 * @pseudo: the folded sum of the pseudo-header, length included
 *
 * As __tcp_v4_send_check(): the header holds the pseudo-header's sum, and
 * csum_start and csum_offset say where the rest goes.  A device with
 * NETIF_F_HW_CSUM (loopback, veth, virtio_net) fills it in for any
 * protocol, or delivers it unchecked to a local receiver, which trusts
 * CHECKSUM_PARTIAL; for any other, validate_xmit_skb() or the driver
 * computes it with skb_checksum_help().  The wire carries the same bytes;
 * the sender no longer reads every payload byte once more to sum it.
 * Segments of no full sock (RSTs, SYN-ACKs, time-wait ACKs) are summed in
 * full, as TCP's replies through ip_send_unicast_reply().
 */
void estp_send_check_partial(struct sk_buff *skb, __sum16 pseudo)
{
	estp_hdr(skb)->check = pseudo;
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct estphdr, check);
}

/**
 * estp_v4_send_check - af_ops->send_check: the checksum of a sock's segment
 * @sk: the socket, for its addresses
 * @skb: the segment, data at the ESTP header
 */
void estp_v4_send_check(struct sock *sk, struct sk_buff *skb)
{
	estp_send_check_partial(skb, ~csum_tcpudp_magic(inet_sk(sk)->inet_saddr,
							inet_sk(sk)->inet_daddr,
							skb->len, estp_ipproto, 0));
}

/*
 * Whether the segments of @sk carry the timestamps option.  Once the
 * handshake has settled it, when both ends took it; before, in SYN_SENT,
 * when our SYN offers it: as tcp_connect_init() counts the option in
 * tcp_header_len until the SYN-ACK tells, the room is kept for it from the
 * start, and the MSS does not shrink when the peer agrees.
 */
static bool estp_tstamp_room(const struct sock *sk)
{
	if (sk->sk_state == TCP_SYN_SENT)
		return READ_ONCE(estp_pernet(sock_net(sk))->timestamps);
	return estp_sk(sk)->tstamp_ok;
}

/**
 * estp_mtu_to_mss - the MSS segments would carry on a path of @pmtu
 *	(tcp_mtu_to_mss)
 * @sk: the socket
 * @pmtu: the path MTU
 *
 * The least of what the path takes, what the peer announced and ESTP_MAXSEG,
 * less the room of the timestamps option when the segments carry it.
 *
 * Return: the MSS.
 */
u32 estp_mtu_to_mss(struct sock *sk, u32 pmtu)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 mss = pmtu - esk->af_ops->net_header_len - sizeof(struct estphdr);
	struct ip_options_rcu *inet_opt;

	/*
	 * IP options (IP_OPTIONS) ride in every packet: TCP keeps their
	 * length in icsk_ext_hdr_len, which ip_setsockopt() updates only for
	 * connection socks, so it is read here (review C3).
	 */
	rcu_read_lock();
	inet_opt = rcu_dereference(inet_sk(sk)->inet_opt);
	if (inet_opt)
		mss -= inet_opt->opt.optlen;
	rcu_read_unlock();

	if (esk->mss_clamp)
		mss = min_t(u32, mss, esk->mss_clamp);
	if (esk->user_mss)
		mss = min_t(u32, mss, esk->user_mss);
	/* RFC 9293 3.7.1's floor, as TCP's tcp_mtu_to_mss() keeps 48 bytes. */
	mss = max_t(u32, mss, 48);
	/* Every segment carries the timestamps option: its room is not data's. */
	if (estp_tstamp_room(sk))
		mss -= ESTP_OPTLEN_TS_ALIGNED;
	return mss;
}

/**
 * estp_sync_mss - the MSS segments may carry, from the path MTU (tcp_sync_mss)
 * @sk: the socket
 * @pmtu: the path MTU
 *
 * Sets mss_cache to estp_mtu_to_mss() and remembers @pmtu.
 */
void estp_sync_mss(struct sock *sk, u32 pmtu)
{
	struct estp_sock *esk = estp_sk(sk);

	WRITE_ONCE(esk->mss_cache, estp_mtu_to_mss(sk, pmtu));
	esk->pmtu_cookie = pmtu;	/* icsk_pmtu_cookie, for TCP_INFO */
}

/* A SYN's flags: its ACK after a simultaneous open, and ECN's. */
static u8 estp_syn_flags(struct sock *sk)
{
	u8 flags = ESTP_FLAG_SYN;

	/*
	 * After a simultaneous open the SYN acknowledges the peer's: in
	 * SYN_RECV, or after a close() there (FIN_WAIT1, CLOSING).
	 */
	if (sk->sk_state != TCP_SYN_SENT)
		flags |= ESTP_FLAG_ACK;
	return flags | estp_ecn_syn_flags(sk, flags);
}

/**
 * estp_send_syn - (re)send the SYN of a connecting sock
 * @sk: the socket, in SYN_SENT, or after a simultaneous open with its SYN
 *	not yet acknowledged; locked or owned by its timer
 *
 * Return: 0 or the transmit error.
 */
int estp_send_syn(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;
	u8 flags = estp_syn_flags(sk);

	skb = estp_alloc_sk_skb(sk_gfp_mask(sk, GFP_ATOMIC));
	if (!skb)
		return -ENOBUFS;
	return estp_transmit_skb(sk, skb, esk->iss, flags);
}

/*
 * The data an active Fast Open SYN may carry (tcp_send_syn_data): the
 * segment's MSS without any option, less the most options may take, so
 * that a middlebox adding its own still fits; one page at most.
 */
static int estp_syn_data_room(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	int mss = esk->pmtu_cookie - esk->af_ops->net_header_len - sizeof(struct estphdr);

	mss = min_t(int, mss, esk->mss_clamp);
	if (esk->user_mss)
		mss = min_t(int, mss, esk->user_mss);
	mss = max(mss, 48) - ESTP_MAX_OPTION_SPACE;
	return clamp_t(int, mss, 0, PAGE_SIZE);
}

/*
 * The first SYN of an active Fast Open (tcp_send_syn_data): with a cookie
 * (or none needed) it carries the first bytes of the write, which wait on
 * the write queue as a segment sent; without one, it asks for a cookie
 * and the data waits for the handshake.
 */
static int estp_send_syn_data(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct estp_fastopen_request *fo = esk->fastopen_req;
	struct sk_buff *data = NULL, *syn;
	u16 mss = estp_advertised_mss(sk);
	int space, err;

	if (!estp_fastopen_cookie_check(sk, &mss, &fo->cookie))
		goto fallback;
	/* The server's MSS from the cache bounds the SYN's data. */
	esk->mss_clamp = esk->user_mss ? min(mss, esk->user_mss) : mss;
	estp_sync_mss(sk, esk->pmtu_cookie);
	space = min_t(size_t, estp_syn_data_room(sk), fo->size);
	/* A copy that fails falls back; the write then fails on its own. */
	if (space) {
		data = estp_fastopen_queue_data(sk, &fo->data->msg_iter, space);
		if (!data)
			goto fallback;
		fo->copied = data->len;
	}
	syn = estp_alloc_sk_skb_room(data ? data->len : 0, sk->sk_allocation);
	if (syn && data && skb_copy_bits(data, 0, skb_put(syn, data->len), data->len)) {
		kfree_skb(syn);
		syn = NULL;
	}
	/* Queued already, the data then waits for the handshake. */
	if (!syn)
		goto fallback;
	err = estp_transmit_skb(sk, syn, esk->iss, estp_syn_flags(sk));
	if (data) {
		/* In flight, as if sent on its own: a resend is a data segment. */
		ESTP_SKB_CB(data)->tx_us = estp_clock_us();
		ESTP_SKB_CB(data)->sacked = 0;
		esk->packets_out++;
		esk->snd_nxt = ESTP_SKB_CB(data)->end_seq;
		esk->send_head = skb_queue_is_last(&sk->sk_write_queue, data) ? NULL : data->next;
		esk->syn_data = 1;
	}
	fo->cookie.len = -1;	/* resent SYNs carry neither option nor data */
	return err;

fallback:
	/* A plain SYN asking for a cookie (if Fast Open is not paused). */
	if (fo->cookie.len > 0)
		fo->cookie.len = 0;
	err = estp_send_syn(sk);
	fo->cookie.len = -1;
	return err;
}

/**
 * estp_connect - send the SYN and arm its timer (tcp_connect)
 * @sk: the socket, locked, in SYN_SENT, hashed, its ISS chosen
 *
 * The SYN is sent again by the retransmit timer until the handshake ends or
 * the retries run out.
 *
 * Return: 0; a failed first transmission is left to the timer, as in TCP.
 */
int estp_connect(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	const struct estp_net *en = estp_pernet(sock_net(sk));
	u32 mss = estp_advertised_mss(sk);
	u8 ws;

	esk->snd_una = esk->iss;
	esk->snd_up = esk->iss;
	esk->snd_nxt = esk->iss + 1;
	esk->write_seq = esk->iss + 1;
	esk->pushed_seq = esk->write_seq;
	esk->rcv_nxt = 0;
	esk->rcv_wup = 0;
	esk->max_window = 0;
	/* tcp_connect_init: the window and scale our SYN offers. */
	esk->tstamp_ok = 0;
	esk->sack_ok = 0;
	esk->wscale_ok = 0;
	esk->snd_wscale = 0;
	esk->ts_recent = 0;
	esk->ts_recent_stamp = 0;
	/* net.estp.timestamps = 2: TSval is the bare clock, as TCP's. */
	esk->ts_offset = READ_ONCE(en->timestamps) == 1 ? get_random_u32() : 0;
	esk->num_sacks = 0;
	esk->rack_xmit_us = 0;
	esk->early_timer = 0;
	esk->tlp_high_seq = 0;
	/* ESTP_WINDOW_CLAMP set before connect() stays (tcp_connect_init()). */
	estp_select_initial_window(sk, estp_full_space(sk), mss, &esk->rcv_wnd,
				   &esk->window_clamp, READ_ONCE(en->window_scaling), &ws);
	esk->rcv_wscale = ws;
	esk->rcv_ssthresh = esk->rcv_wnd;
	esk->retransmits = 0;
	/* A connect's time runs from its first SYN (tcp_connect). */
	esk->retrans_stamp = (u32)jiffies ? : 1;
	esk->fin_sent = 0;	/* a sock may connect again after a disconnect */
	esk->fin_queued = 0;
	esk->syn_unacked = 1;
	esk->in_recovery = 0;
	esk->rto = ESTP_TIMEOUT_INIT;
	esk->srtt_us = 0;
	esk->rttvar_us = 0;
	esk->syn_retrans = 0;
	esk->syn_tx_us = estp_clock_us();
	esk->syn_fastopen = 0;
	esk->syn_fastopen_exp = 0;
	esk->syn_data = 0;
	esk->syn_data_acked = 0;
	estp_ecn_init_syn(sk);
	if (esk->fastopen_req)
		estp_send_syn_data(sk);
	else
		estp_send_syn(sk);
	estp_reset_xmit_timer(sk);
	return 0;
}

/**
 * estp_send_ack - send a pure ACK for what has been received
 * @sk: the socket, locked or owned by the receive path
 */
void estp_send_ack(struct sock *sk)
{
	struct sk_buff *skb;

	if (sk->sk_state == TCP_CLOSE)
		return;
	skb = estp_alloc_sk_skb(GFP_ATOMIC);
	if (skb)
		estp_transmit_skb(sk, skb, estp_sk(sk)->snd_nxt, ESTP_FLAG_ACK);
}

/**
 * estp_send_delayed_ack - owe an ACK, sent by the delayed-ACK timer unless
 *	data or another ACK carries it first (tcp_send_delayed_ack)
 * @sk: the socket, locked or owned by the receive path
 *
 * The delay is the ACK timeout estimate (ato), at most 200 ms, and less
 * for a connection that is interactive or whose RTT is short.
 */
void estp_send_delayed_ack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	unsigned long ato = esk->ack_ato;
	unsigned long max_ato = HZ / 2;
	unsigned long timeout;

	if (ato > ESTP_ATO_MIN) {
		/* Half a second at most; 200 ms when interactive or pushed. */
		if (esk->ack_pingpong || (esk->ack_pending & ESTP_ACK_PUSHED))
			max_ato = ESTP_DELACK_MAX;
		/* Not longer than the RTT, when we know it. */
		if (esk->srtt_us)
			max_ato = clamp_t(unsigned long,
					  usecs_to_jiffies(esk->srtt_us >> 3),
					  ESTP_ATO_MIN, max_ato);
		ato = min(ato, max_ato);
	}
	timeout = jiffies + ato;
	if (esk->ack_pending & ESTP_ACK_TIMER) {
		/* Do not let an owed ACK slip further. */
		if (time_before_eq(esk->delack_timer.expires, jiffies + (ato >> 2))) {
			estp_send_ack(sk);
			return;
		}
		if (time_before(esk->delack_timer.expires, timeout))
			timeout = esk->delack_timer.expires;
	}
	esk->ack_pending |= ESTP_ACK_SCHED | ESTP_ACK_TIMER;
	sk_reset_timer(sk, &esk->delack_timer, timeout);
}

/**
 * estp_delack_timer_handler - the delayed-ACK timer's work, with the sock
 *	owned (tcp_delack_timer_handler)
 * @sk: the socket
 */
void estp_delack_timer_handler(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN) ||
	    !(esk->ack_pending & ESTP_ACK_TIMER))
		return;
	if (time_after(esk->delack_timer.expires, jiffies)) {
		sk_reset_timer(sk, &esk->delack_timer, esk->delack_timer.expires);
		return;
	}
	esk->ack_pending &= ~ESTP_ACK_TIMER;
	if (!(esk->ack_pending & ESTP_ACK_SCHED))
		return;
	if (!esk->ack_pingpong) {
		/* The timer fired in bulk transfer: ACK sooner from now on. */
		esk->ack_ato = min_t(u32, esk->ack_ato << 1, esk->rto);
	} else {
		/* Interactive, and the reply did not come: stop waiting for it. */
		esk->ack_pingpong = 0;
		esk->ack_ato = ESTP_ATO_MIN;
	}
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_DELAYEDACKS);
	estp_send_ack(sk);
}

/*
 * A clone of a segment sent may still be in a qdisc or a driver: before
 * its frags are rewritten the head must be ours.  The copy keeps the
 * charge the queue holds for it, as skb_unclone_keeptruesize(), which 6.1
 * does not export.
 */
static int estp_unclone_keeptruesize(struct sock *sk, struct sk_buff *skb)
{
	unsigned int truesize = skb->truesize;

	if (!skb_cloned(skb))
		return 0;
	if (skb_unclone(skb, sk_gfp_mask(sk, GFP_ATOMIC)))
		return -ENOMEM;
	skb->truesize = truesize;
	return 0;
}

/*
 * The peer acknowledged the first @len bytes of @skb, a segment that
 * straddles snd_una: they go, so that its resend starts at snd_una as
 * TCP's does (tcp_trim_head).  The bytes dropped from page frags give
 * their charge back; those of a linear head were never charged apart.
 */
static int estp_trim_head(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	u32 eat, frag_len;
	int i, k = 0;

	if (estp_unclone_keeptruesize(sk, skb))
		return -ENOMEM;
	ESTP_SKB_CB(skb)->seq += len;
	eat = min_t(u32, len, skb_headlen(skb));
	__skb_pull(skb, eat);
	frag_len = len - eat;
	if (!frag_len)
		return 0;
	eat = frag_len;
	for (i = 0; i < shinfo->nr_frags; i++) {
		u32 size = skb_frag_size(&shinfo->frags[i]);

		if (size <= eat) {
			skb_frag_unref(skb, i);
			eat -= size;
			continue;
		}
		shinfo->frags[k] = shinfo->frags[i];
		if (eat) {
			skb_frag_off_add(&shinfo->frags[k], eat);
			skb_frag_size_sub(&shinfo->frags[k], eat);
			eat = 0;
		}
		k++;
	}
	shinfo->nr_frags = k;
	skb->data_len -= frag_len;
	skb->len -= frag_len;
	skb->truesize -= frag_len;
	sk_wmem_queued_add(sk, -frag_len);
	sk_mem_uncharge(sk, frag_len);
	return 0;
}

/*
 * Split @skb so that it keeps @len bytes and the rest follows it in the
 * write queue as a segment of its own (tcp_fragment).  Its data is all in
 * page frags (estp_skb_append()), which skb_split() shares out; the new
 * skb's own overhead is charged to the socket.  A segment already sent
 * becomes two in flight: the new one inherits its scoreboard marks and
 * send time, and counts in the totals as the old one does
 * (tcp_fragment_tstamp(), tcp_adjust_pcount()).
 */
static int estp_fragment(struct sock *sk, struct sk_buff *skb, u32 len)
{
	struct estp_skb_cb *cb = ESTP_SKB_CB(skb), *ncb;
	struct estp_sock *esk = estp_sk(sk);
	u32 nlen = skb->len - len;
	struct sk_buff *buff;
	bool sent;

	/* skb_split() rewrites the frags of the shared info (review M2). */
	if (estp_unclone_keeptruesize(sk, skb))
		return -ENOMEM;
	buff = alloc_skb(ESTP_SKB_HEADROOM, sk_gfp_mask(sk, GFP_ATOMIC));
	if (!buff)
		return -ENOMEM;
	if (!sk_wmem_schedule(sk, buff->truesize)) {
		kfree_skb(buff);
		return -ENOMEM;
	}
	skb_reserve(buff, ESTP_SKB_HEADROOM);
	sk_wmem_queued_add(sk, buff->truesize);
	sk_mem_charge(sk, buff->truesize);
	skb_split(skb, buff, len);
	/* The moved bytes keep their charge; only the owner changes. */
	skb->truesize -= nlen;
	buff->truesize += nlen;
	ncb = ESTP_SKB_CB(buff);
	memset(ncb, 0, sizeof(*ncb));
	ncb->seq = cb->seq + len;
	ncb->end_seq = cb->end_seq;
	cb->end_seq = ncb->seq;
	/* PSH and the record's end go with the last byte. */
	ncb->psh = cb->psh;
	ncb->eor = cb->eor;
	cb->psh = 0;
	cb->eor = 0;
	sent = estp_before(cb->seq, esk->snd_nxt);
	if (sent) {
		ncb->sacked = cb->sacked;
		ncb->tx_us = cb->tx_us;
		esk->packets_out++;
		if (cb->sacked & ESTP_CB_LOST)
			esk->lost_out++;
		if (cb->sacked & ESTP_CB_RETRANS)
			esk->retrans_out++;
		if (cb->sacked & ESTP_CB_SACKED)
			esk->sacked_out++;
	}
	__skb_queue_after(&sk->sk_write_queue, skb, buff);
	return 0;
}

/*
 * @skb is longer than a segment may now be, after the path MTU fell: what
 * IP would refuse (DF) or fragment is cut to the current size first
 * (tcp_fragment() in __tcp_retransmit_skb() and tcp_write_xmit()).
 */
static int estp_fit_mss(struct sock *sk, struct sk_buff *skb)
{
	u32 mss = estp_sk(sk)->mss_cache;

	if (skb->len <= mss)
		return 0;
	return estp_fragment(sk, skb, mss);
}

static int estp_send_new_segment(struct sock *sk, struct sk_buff *skb);

/**
 * estp_write_wakeup - probe the peer (tcp_write_wakeup)
 * @sk: the socket, owned by its timer
 *
 * With data waiting and any room left in the peer's window, as much of
 * the next segment as fits goes, split off if need be: a window smaller
 * than our segments would open no further, since the peer has no reason
 * to tell us more.  Otherwise an ACK one below snd_una, old to the peer,
 * which answers with an ACK that tells its window.
 *
 * Return: 0 when something was sent, a negative error otherwise.
 */
int estp_write_wakeup(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb = esk->send_head;
	u32 wnd_end = esk->snd_una + esk->snd_wnd;

	if (skb && estp_before(ESTP_SKB_CB(skb)->seq, wnd_end)) {
		u32 room = min(wnd_end - ESTP_SKB_CB(skb)->seq, estp_size_goal(esk));

		if (estp_before(esk->pushed_seq, ESTP_SKB_CB(skb)->end_seq))
			esk->pushed_seq = ESTP_SKB_CB(skb)->end_seq;
		/* The probe and, when split, what follows it carry PSH, as TCP's. */
		ESTP_SKB_CB(skb)->psh = 1;
		if (skb->len > room && estp_fragment(sk, skb, room))
			skb = NULL;
		else
			ESTP_SKB_CB(skb)->psh = 1;
		if (skb && !estp_send_new_segment(sk, skb)) {
			/* Whatever fits behind it, and the FIN after the last. */
			estp_push(sk);
			return 0;
		}
	}
	/*
	 * Urgent data not yet acked: a probe at snd_una first, whose pointer
	 * the peer takes, as the old one below is not (tcp_write_wakeup).
	 */
	if (esk->snd_up - (esk->snd_una + 1) <= 0xFFFF - 1) {
		skb = estp_alloc_sk_skb(GFP_ATOMIC);
		if (skb)
			estp_transmit_skb(sk, skb, esk->snd_una, ESTP_FLAG_ACK);
	}
	skb = estp_alloc_sk_skb(GFP_ATOMIC);
	if (!skb)
		return -ENOBUFS;
	return estp_transmit_skb(sk, skb, esk->snd_una - 1, ESTP_FLAG_ACK);
}

/*
 * RFC 5961 7: at most net.estp.challenge_ack_limit challenge ACKs a second
 * in a netns, with a random share of the second's budget as TCP does, so
 * that an attacker cannot count them.
 */
static bool estp_challenge_ack_allowed(struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	int limit = READ_ONCE(en->challenge_ack_limit);
	u32 now = jiffies / HZ;
	int count;

	if (limit >= INT_MAX)
		return true;
	if (!limit)
		return false;
	if (now != READ_ONCE(en->challenge_timestamp)) {
		u64 budget = ((limit + 1) >> 1) + (u64)get_random_u32_below(limit);

		WRITE_ONCE(en->challenge_timestamp, now);
		/* In an int: a limit near INT_MAX must not wrap it negative. */
		atomic_set(&en->challenge_count, min_t(u64, budget, INT_MAX));
	}
	count = atomic_read(&en->challenge_count);
	return count > 0 && atomic_dec_return(&en->challenge_count) >= 0;
}

/**
 * estp_send_challenge_ack - an ACK for a suspicious RST or SYN
 *	(tcp_send_challenge_ack)
 * @sk: the socket, locked or owned by the receive path
 *
 * One per socket per net.estp.invalid_ratelimit ms, then the netns's limit.
 */
void estp_send_challenge_ack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct net *net = sock_net(sk);
	u32 gap = msecs_to_jiffies(READ_ONCE(estp_pernet(net)->invalid_ratelimit));
	u32 now = jiffies;

	if (esk->last_oow_ack_time && now - esk->last_oow_ack_time < gap)
		return;
	esk->last_oow_ack_time = now ? : 1;
	if (!estp_challenge_ack_allowed(net))
		return;
	ESTP_INC_STATS(net, ESTP_MIB_CHALLENGEACK);
	estp_send_ack(sk);
}

/**
 * estp_reqsk_send_challenge_ack - an ACK for a RST to a request sock that is
 *	in its window but not at its left edge (tcp_reqsk_send_challenge_ack)
 * @listener: the request's listener
 * @skb: the RST
 * @req: the request sock
 *
 * One per request per net.estp.invalid_ratelimit ms, then the netns's limit.
 */
void estp_reqsk_send_challenge_ack(const struct sock *listener, const struct sk_buff *skb,
				   struct request_sock *req)
{
	struct net *net = sock_net(listener);

	if (estp_oow_rate_limited(net, &estp_rsk(req)->last_oow_ack_time))
		return;
	if (!estp_challenge_ack_allowed(net))
		return;
	ESTP_INC_STATS(net, ESTP_MIB_CHALLENGEACK);
	estp_rsk(req)->ctl->send_reqsk_ack(listener, skb, req);
}

/**
 * estp_send_active_reset - abort the connection towards the peer
 * @sk: the socket, locked
 * @gfp: allocation flags
 */
void estp_send_active_reset(struct sock *sk, gfp_t gfp)
{
	struct sk_buff *skb = estp_alloc_sk_skb(gfp);

	if (!skb)
		return;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OUTRSTS);
	estp_transmit_skb(sk, skb, estp_sk(sk)->snd_nxt, ESTP_FLAG_RST | ESTP_FLAG_ACK);
	trace_estp_send_reset(sk, NULL);
}

/**
 * estp_openreq_window - the window and scale of a SYN-ACK, from the
 *	listener's buffer (tcp_openreq_init_rwin)
 * @listener: the listener
 * @req: the request sock, its options settled
 * @mss: the MSS the window is rounded to
 */
void estp_openreq_window(const struct sock *listener, struct request_sock *req, u16 mss)
{
	struct estp_request_sock *ereq = estp_rsk(req);
	u32 wnd, clamp = READ_ONCE(estp_sk(listener)->window_clamp);
	u8 ws;

	/* The listener's ESTP_WINDOW_CLAMP is its SYN-ACK's. */
	estp_select_initial_window(listener, estp_full_space(listener), mss,
				   &wnd, &clamp, ereq->wscale_ok, &ws);
	ereq->rcv_wnd = wnd;
	ereq->window_clamp = clamp;
	ereq->rcv_wscale = ws;
}

/*
 * The SYN-ACK's MSS, the route's within the listener's ESTP_MAXSEG; the
 * first one fixes the window, which resent ones repeat.
 */
static u16 estp_synack_mss(const struct sock *listener, struct request_sock *req,
			   u16 mss)
{
	struct estp_request_sock *ereq = estp_rsk(req);

	if (READ_ONCE(estp_sk(listener)->user_mss))
		mss = min(mss, READ_ONCE(estp_sk(listener)->user_mss));
	if (!ereq->rcv_wnd)
		estp_openreq_window(listener, req, mss -
				    (ereq->tstamp_ok ? ESTP_OPTLEN_TS_ALIGNED : 0));
	return mss;
}

/**
 * estp_synack_window - fix a request's window before its first SYN-ACK
 *	(tcp_openreq_init_rwin), for a Fast Open child that takes it first
 * @listener: the listener
 * @req: the request sock
 *
 * Return: 0, or the error of the route back to the peer.
 */
int estp_synack_window(const struct sock *listener, struct request_sock *req)
{
	int mss = estp_rsk(req)->ctl->route_mss(listener, req);

	if (mss < 0)
		return mss;
	estp_synack_mss(listener, req, mss);
	return 0;
}

/**
 * estp_make_synack - the SYN-ACK of a request sock, without its network
 *	header (the segment part of tcp_make_synack)
 * @listener: the listener
 * @req: the request sock
 * @mss: our MSS from the route back to the peer
 * @foc: a Fast Open cookie for the peer, or NULL
 *
 * Sent without an owner: the request sock is no full sock (see estp.h).
 *
 * Return: the segment, data at its ESTP header, or NULL.
 */
struct sk_buff *estp_make_synack(const struct sock *listener, struct request_sock *req,
				 u16 mss, const struct estp_fastopen_cookie *foc)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct estp_request_sock *ereq = estp_rsk(req);
	struct estp_out_options opts;
	struct estphdr *th;
	struct sk_buff *skb;

	skb = estp_alloc_sk_skb(GFP_ATOMIC);
	if (!skb)
		return NULL;
	mss = estp_synack_mss(listener, req, mss);
	/* tcp_synack_options: what the SYN offered and we take up. */
	memset(&opts, 0, sizeof(opts));
	opts.mss_opt = 1;
	opts.mss = mss;
	opts.tstamp = ereq->tstamp_ok;
	/* A cookie's TSval carries the options, which no request keeps. */
	opts.tsval = ereq->cookie ? estp_cookie_init_timestamp(req, estp_ts_now(0)) +
				    ereq->ts_offset : estp_ts_now(ereq->ts_offset);
	opts.tsecr = ereq->ts_recent;
	opts.sack_perm = ereq->sack_ok;
	opts.wscale_opt = ereq->wscale_ok;
	opts.ws = ereq->rcv_wscale;
	/* A cookie for the client (tcp_synack_options), if there is room. */
	if (foc && foc->len >= 0 &&
	    estp_options_size(&opts) + estp_fastopen_opt_size(foc) <= ESTP_MAX_OPTION_SPACE)
		opts.foc = foc;
	th = estp_push_header(skb, &opts);
	th->source = htons(ireq->ir_num);
	th->dest = ireq->ir_rmt_port;
	th->seq = htonl(ereq->snt_isn);
	/* A Fast Open child's acknowledges the SYN's data too. */
	th->ack_seq = htonl(ereq->rcv_nxt);
	th->syn = 1;
	th->ack = 1;
	/*
	 * tcp_ecn_make_synack: ECE agrees to the SYN's ECE|CWR; on newer
	 * kernels only until the request's first timeout, whose resend
	 * counted already here (estp_reqsk_timer_handler()).
	 */
	th->ece = ireq->ecn_ok &&
		  (!ESTP_SYNACK_ECE_FIRST_TIMEOUT_ONLY || req->num_timeout <= 1);
	th->window = htons(min_t(u32, ereq->rcv_wnd, U16_MAX));
	/* The child's RTT sample, if this one is never resent. */
	ereq->snt_synack_us = estp_clock_us();
	/* The listener's SO_PRIORITY and SO_MARK (ip_build_and_send_pkt()). */
	skb->priority = READ_ONCE(listener->sk_priority);
	skb->mark = READ_ONCE(listener->sk_mark);
	return skb;
}

/**
 * estp_v4_send_synack - send the SYN-ACK of a request sock over IPv4
 * @listener: the listener, for the netns and the TOS (or a Fast Open child)
 * @req: the request sock
 * @foc: a Fast Open cookie for the peer, or NULL
 *
 * Return: 0 or a negative error.
 */
int estp_v4_send_synack(const struct sock *listener, struct request_sock *req,
			const struct estp_fastopen_cookie *foc)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct net *net = sock_net(listener);
	struct sk_buff *skb;
	struct flowi4 fl4;
	struct rtable *rt;

	rt = estp_v4_route_ctl_ports(net, &fl4, htons(ireq->ir_num), ireq->ir_rmt_port,
				     ireq->ir_loc_addr, ireq->ir_rmt_addr);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	/* Our own MSS, from the route back to the peer. */
	skb = estp_make_synack(listener, req, estp_v4_mss_for_mtu(dst_mtu(&rt->dst)), foc);
	if (!skb) {
		ip_rt_put(rt);
		return -ENOBUFS;
	}
	/* The listener's IP_TOS and IP_TTL, as ip_build_and_send_pkt() sets. */
	return estp_v4_xmit_ctl(net, skb, rt, &fl4, inet_sk(listener)->tos,
				READ_ONCE(inet_sk(listener)->uc_ttl));
}

/**
 * estp_v4_route_mss - the MSS of the route back to a request's peer
 * @listener: the listener
 * @req: the request sock
 *
 * Return: the MSS, or the routing error.
 */
int estp_v4_route_mss(const struct sock *listener, const struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct flowi4 fl4;
	struct rtable *rt;
	int mss;

	rt = estp_v4_route_ctl_ports(sock_net(listener), &fl4, htons(ireq->ir_num),
				     ireq->ir_rmt_port, ireq->ir_loc_addr, ireq->ir_rmt_addr);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	mss = estp_v4_mss_for_mtu(dst_mtu(&rt->dst));
	ip_rt_put(rt);
	return mss;
}

/**
 * estp_rtx_synack - send a request sock's SYN-ACK again (tcp_rtx_synack)
 * @listener: the listener, or a Fast Open child, locked
 * @req: the request sock
 *
 * A resend that went out counts in RetransSegs and SynRetrans, as TCP's.
 *
 * Return: 0 or a negative error.
 */
int estp_rtx_synack(const struct sock *listener, struct request_sock *req)
{
	int err = estp_rsk(req)->ctl->send_synack(listener, req, NULL);

	if (!err) {
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_RETRANSSEGS);
		ESTP_INC_STATS(sock_net(listener), ESTP_MIB_SYNRETRANS);
		req->num_retrans++;
		/* A Fast Open child's own count, under its lock (TCP's too). */
		if (estp_passive_fastopen(listener))
			estp_count_retrans(estp_sk(listener), 0);
	}
	return err;
}

/*
 * Send one segment of the write queue, new or again: a clone goes out, the
 * original stays queued until acknowledged (tcp_transmit_skb's clone_it).
 * A clone still in flight shares the headroom, so a copy goes instead.
 * The original keeps the send time, for the RTT sample its ACK gives.
 */
static int estp_transmit_data(struct sock *sk, struct sk_buff *skb)
{
	struct sk_buff *nskb;

	ESTP_SKB_CB(skb)->tx_us = estp_clock_us();
	/* PRR counts what a reduction sends, new data and resends alike. */
	if (estp_sk(sk)->ca_state == ESTP_CA_RECOVERY || estp_sk(sk)->ca_state == ESTP_CA_CWR)
		estp_sk(sk)->prr_out++;

	if (skb_cloned(skb))
		nskb = pskb_copy(skb, GFP_ATOMIC);
	else
		nskb = skb_clone(skb, GFP_ATOMIC);
	if (!nskb)
		return -ENOBUFS;
	/*
	 * Fault point "xmit_cb_high": the copy's send time has bits 32-47
	 * set, as after 12 days of uptime, where IPv4 would find an option
	 * length and a source-route offset in IPCB() (review C1).
	 */
	if (estp_fault("xmit_cb_high"))
		ESTP_SKB_CB(nskb)->tx_us |= 0x025bULL << 32;
	/* Fault point "xmit_data": the segment is lost on the way. */
	if (estp_fault("xmit_data")) {
		kfree_skb(nskb);
		return 0;
	}
	return estp_transmit_skb(sk, nskb, ESTP_SKB_CB(skb)->seq, ESTP_FLAG_ACK |
				 (ESTP_SKB_CB(skb)->psh ? ESTP_FLAG_PSH : 0));
}

/**
 * estp_retransmit_skb - send a queued segment again (tcp_retransmit_skb)
 * @sk: the socket, locked or owned by its timer
 * @skb: the segment, on the write queue
 *
 * Return: 0 or the transmit error.
 */
int estp_retransmit_skb(struct sock *sk, struct sk_buff *skb)
{
	struct estp_skb_cb *cb = ESTP_SKB_CB(skb);
	u32 snd_una = estp_sk(sk)->snd_una;
	int err;

	/* Partly acknowledged (a partial ACK of Fast Open's SYN data, say). */
	if (estp_before(cb->seq, snd_una)) {
		if (WARN_ON_ONCE(!estp_before(snd_una, cb->end_seq)))
			return -EINVAL;
		if (estp_trim_head(sk, skb, snd_una - cb->seq))
			return -ENOMEM;
	}
	err = estp_fit_mss(sk, skb);
	if (!err)
		err = estp_transmit_data(sk, skb);
	if (err)
		return err;
	trace_estp_retransmit_skb(sk, skb);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RETRANSSEGS);
	estp_count_retrans(estp_sk(sk), skb->len);
	/* The user timeout and retries2 count from the first resend. */
	if (!estp_sk(sk)->retrans_stamp)
		estp_sk(sk)->retrans_stamp = jiffies ? : 1;
	/* A D-SACK of each resend of the episode may prove it spurious. */
	if (estp_sk(sk)->undo_retrans < 0)
		estp_sk(sk)->undo_retrans = 0;
	estp_sk(sk)->undo_retrans++;
	/* Its ACK can no longer tell which copy it answers (Karn). */
	cb->sacked |= ESTP_CB_EVER_RETRANS;
	if (!(cb->sacked & ESTP_CB_RETRANS)) {
		cb->sacked |= ESTP_CB_RETRANS;
		estp_sk(sk)->retrans_out++;
	}
	return 0;
}

/**
 * estp_xmit_retransmit_queue - resend what an RTO marked lost, as far as
 *	the congestion window allows (tcp_xmit_retransmit_queue)
 * @sk: the socket, locked or owned by the receive path
 */
void estp_xmit_retransmit_queue(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	skb_queue_walk(&sk->sk_write_queue, skb) {
		u8 sacked = ESTP_SKB_CB(skb)->sacked;

		if (skb == esk->send_head ||
		    estp_packets_in_flight(esk) >= esk->snd_cwnd)
			break;
		if (!(sacked & ESTP_CB_LOST) || (sacked & ESTP_CB_RETRANS))
			continue;
		if (estp_retransmit_skb(sk, skb))
			break;
		ESTP_INC_STATS(sock_net(sk), esk->ca_state == ESTP_CA_LOSS ?
			       ESTP_MIB_SLOWSTARTRETRANS : ESTP_MIB_FASTRETRANS);
		/* The head went again: its RTO counts from now, as TCP's. */
		if (skb == skb_peek(&sk->sk_write_queue) && esk->early_timer != ESTP_EARLY_REO)
			estp_reset_xmit_timer(sk);
	}
}

/**
 * estp_simple_retransmit - resend at once what the path MTU no longer takes
 *	(tcp_simple_retransmit)
 * @sk: the socket, locked or owned by the ICMP handler, its MSS just synced
 *
 * The segments in flight longer than the new MSS were dropped on the way
 * (DF): they are marked lost and go again, cut to size, without waiting
 * for an RTO and without counting as congestion: the window stays, and the
 * episode is a Loss one nothing may undo (tcp_non_congestion_loss_retransmit).
 */
void estp_simple_retransmit(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 prior_lost = esk->lost_out;
	u32 mss = esk->mss_cache;
	struct sk_buff *skb;

	skb_queue_walk(&sk->sk_write_queue, skb) {
		struct estp_skb_cb *cb = ESTP_SKB_CB(skb);

		if (skb == esk->send_head)
			break;
		if (skb->len <= mss || cb->sacked & (ESTP_CB_SACKED | ESTP_CB_LOST))
			continue;
		/* Its resend was as big: that copy is lost too. */
		if (cb->sacked & ESTP_CB_RETRANS) {
			cb->sacked &= ~ESTP_CB_RETRANS;
			esk->retrans_out--;
		}
		cb->sacked |= ESTP_CB_LOST;
		esk->lost_out++;
	}
	if (esk->lost_out == prior_lost)
		return;
	estp_non_congestion_loss_retransmit(sk);
}

/**
 * estp_non_congestion_loss_retransmit - resend what is marked lost, in a
 *	Loss episode nothing may undo, the window untouched
 *	(tcp_non_congestion_loss_retransmit)
 * @sk: the socket, locked or owned by the receive path
 */
void estp_non_congestion_loss_retransmit(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (esk->ca_state != ESTP_CA_LOSS) {
		esk->high_seq = esk->snd_nxt;
		esk->in_recovery = 1;
		esk->undo_tsval = 0;
		esk->undo_marker = 0;
		esk->frto = 0;
		estp_set_ca_state(sk, ESTP_CA_LOSS);
	}
	estp_xmit_retransmit_queue(sk);
}

/* The FIN that ends snd_nxt: 0 or the transmit error. */
static int estp_xmit_fin(struct sock *sk)
{
	struct sk_buff *skb;

	skb = estp_alloc_sk_skb(sk_gfp_mask(sk, GFP_ATOMIC));
	if (!skb)
		return -ENOBUFS;
	return estp_transmit_skb(sk, skb, estp_sk(sk)->snd_nxt - 1,
				 ESTP_FLAG_FIN | ESTP_FLAG_ACK);
}

/* Our FIN, now that every byte before it has been sent. */
static void estp_send_fin_now(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->fin_sent = 1;
	esk->snd_nxt = esk->write_seq + 1;
	estp_xmit_fin(sk);
	if (!timer_pending(&esk->retransmit_timer))
		estp_reset_xmit_timer(sk);
	/* A FIN is a segment sent: a probe may follow it (tcp_write_xmit). */
	estp_schedule_loss_probe(sk);
}

/*
 * Nagle's algorithm (RFC 896, tcp_nagle_test): a segment shorter than the
 * MSS waits while the user corks, or while earlier data is unacknowledged
 * unless ESTP_NODELAY; the last segment before a queued FIN never waits,
 * nor does a push the user forced.
 */
static bool estp_nagle_test(const struct sock *sk, const struct sk_buff *skb,
			    int nonagle)
{
	const struct estp_sock *esk = estp_sk(sk);

	if (nonagle & ESTP_NAGLE_PUSH || skb->len >= estp_size_goal(esk))
		return true;
	if (esk->fin_queued && skb_queue_is_last(&sk->sk_write_queue, skb))
		return true;
	/* Urgent data waits neither for ACKs nor for a cork. */
	if (estp_urg_mode(esk))
		return true;
	if (nonagle & ESTP_NAGLE_CORK)
		return false;
	/* Minshall's variant: wait only behind an unacknowledged small one. */
	return nonagle & ESTP_NAGLE_OFF || !esk->packets_out ||
	       !estp_after(esk->snd_sml, esk->snd_una);
}

/*
 * @skb, the first unsent segment, goes out (tcp_event_new_data_sent).  The
 * first one in flight restarts the retransmit timer: until now it probed
 * the window, and that backoff ends with the probing (tcp_ack_probe).
 */
static int estp_send_new_segment(struct sock *sk, struct sk_buff *skb)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 prior_packets = esk->packets_out;
	int err;

	if (!prior_packets)
		estp_ca_event(sk, ESTP_CA_EVENT_TX_START);
	/* A reply within the ACK timeout: interactive (tcp_event_data_sent). */
	if (esk->ack_ato && jiffies - esk->ack_lrcvtime < esk->ack_ato)
		esk->ack_pingpong = 1;
	err = estp_transmit_data(sk, skb);
	if (err)
		return err;
	ESTP_SKB_CB(skb)->sacked = 0;
	esk->packets_out++;
	esk->snd_nxt = ESTP_SKB_CB(skb)->end_seq;
	if (skb->len < estp_size_goal(esk))
		esk->snd_sml = esk->snd_nxt;
	esk->send_head = skb_queue_is_last(&sk->sk_write_queue, skb) ? NULL : skb->next;
	/* A Fast Open child's timer and its count are the SYN-ACK's. */
	if (!prior_packets && !rcu_access_pointer(esk->fastopen_rsk)) {
		esk->retransmits = 0;
		esk->retrans_stamp = 0;
		estp_reset_xmit_timer(sk);
	}
	estp_check_space(sk);
	return 0;
}

/* Close the current chronograph's interval and start @type's. */
static void estp_chrono_set(struct estp_sock *esk, enum estp_chrono type)
{
	u32 now = jiffies;

	if (esk->chrono_type > ESTP_CHRONO_UNSPEC)
		esk->chrono_stat[esk->chrono_type - 1] += now - esk->chrono_start;
	esk->chrono_start = now;
	esk->chrono_type = type;
}

/**
 * estp_chrono_start - what holds sending back became @type, if that is
 *	more interesting than the current one (tcp_chrono_start)
 * @sk: the socket, locked or owned
 * @type: ESTP_CHRONO_*
 *
 * TCP_INFO's tcpi_busy_time, tcpi_rwnd_limited and tcpi_sndbuf_limited.
 */
void estp_chrono_start(struct sock *sk, enum estp_chrono type)
{
	struct estp_sock *esk = estp_sk(sk);

	if (type > esk->chrono_type)
		estp_chrono_set(esk, type);
}

/**
 * estp_chrono_stop - @type no longer holds sending back (tcp_chrono_stop)
 * @sk: the socket, locked or owned
 * @type: ESTP_CHRONO_*
 *
 * With nothing queued every chronograph stops; else the current one, if
 * it is @type, gives way to "busy".
 */
void estp_chrono_stop(struct sock *sk, enum estp_chrono type)
{
	struct estp_sock *esk = estp_sk(sk);

	if (skb_queue_empty(&sk->sk_write_queue))
		estp_chrono_set(esk, ESTP_CHRONO_UNSPEC);
	else if (type == esk->chrono_type)
		estp_chrono_set(esk, ESTP_CHRONO_BUSY);
}

/**
 * estp_push - send what the windows let go (tcp_write_xmit)
 * @sk: the socket, locked or owned by the receive path or a timer
 *
 * Queued segments go in order while fewer than snd_cwnd are in flight and
 * they fit in the peer's window, then the FIN
 * if one is queued behind them.  The retransmit timer runs while anything
 * is unacknowledged; with nothing in flight and the window closed it probes
 * the window instead (the persist timer).
 */
void estp_push(struct sock *sk)
{
	__estp_push(sk, estp_sk(sk)->nonagle);
}

/**
 * __estp_push - estp_push() with the Nagle mode given
 * @sk: the socket, locked or owned by the receive path or a timer
 * @nonagle: ESTP_NAGLE_* bits for this push (sendmsg passes CORK for MSG_MORE)
 */
void __estp_push(struct sock *sk, int nonagle)
{
	struct estp_sock *esk = estp_sk(sk);
	bool sent = false, rwnd_limited = false;
	struct sk_buff *skb;

	/*
	 * A closed sock keeps what the user queued until close(), but sends
	 * none of it (__tcp_push_pending_frames(), review C7).
	 */
	if (unlikely(sk->sk_state == TCP_CLOSE))
		return;
	esk->cwnd_limited = 0;
	while ((skb = esk->send_head)) {
		if (estp_packets_in_flight(esk) >= esk->snd_cwnd) {
			esk->cwnd_limited = 1;
			break;
		}
		/* Built for a larger MSS than the path now takes (review C2). */
		if (estp_fit_mss(sk, skb))
			break;
		if (estp_after(ESTP_SKB_CB(skb)->end_seq, esk->snd_una + esk->snd_wnd)) {
			rwnd_limited = true;
			break;
		}
		/* Nagle holds the queue's last segment only (tcp_write_xmit). */
		if (!estp_nagle_test(sk, skb,
				     skb_queue_is_last(&sk->sk_write_queue, skb) ?
				     nonagle : ESTP_NAGLE_PUSH))
			break;
		if (estp_send_new_segment(sk, skb))
			break;
		sent = true;
	}
	if (rwnd_limited)
		estp_chrono_start(sk, ESTP_CHRONO_RWND_LIMITED);
	else
		estp_chrono_stop(sk, ESTP_CHRONO_RWND_LIMITED);
	/*
	 * All sent, the window and cwnd not the limit, and a writer waits
	 * for room: the send buffer is (tcp_cwnd_validate()).
	 */
	if (sent && !esk->cwnd_limited && !esk->send_head && sk->sk_socket &&
	    test_bit(SOCK_NOSPACE, &sk->sk_socket->flags) &&
	    (1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT))
		estp_chrono_start(sk, ESTP_CHRONO_SNDBUF_LIMITED);
	if (!esk->send_head && esk->fin_queued && !esk->fin_sent) {
		estp_send_fin_now(sk);
		return;
	}
	/*
	 * The retransmit timer runs while anything is in flight.  With
	 * nothing in flight and data queued, whether the peer's window, a
	 * cork or a failed send holds it back, it runs as the persist timer
	 * (tcp_check_probe_timer), whose probe sends what the window takes:
	 * nothing else may ever come to send it.
	 */
	if (!timer_pending(&esk->retransmit_timer) &&
	    (esk->snd_una != esk->snd_nxt || esk->send_head))
		estp_reset_xmit_timer(sk);
	if (sent)
		estp_schedule_loss_probe(sk);
}

/**
 * estp_send_fin - queue our FIN behind the data (tcp_send_fin)
 * @sk: the socket, locked, just moved to FIN_WAIT1 or LAST_ACK
 *
 * It goes when every queued byte has been sent; the retransmit timer sends
 * it again until it is acknowledged.
 */
void estp_send_fin(struct sock *sk)
{
	estp_sk(sk)->fin_queued = 1;
	estp_push(sk);
}

/**
 * estp_retransmit_fin - send the FIN that ends snd_nxt again
 * @sk: the socket, locked or owned by its timer
 *
 * Counted in RetransSegs, as TCP counts its FIN's skb.
 */
void estp_retransmit_fin(struct sock *sk)
{
	if (estp_xmit_fin(sk))
		return;
	/* A FIN is no skb of the queue: the event has none (NULL). */
	trace_estp_retransmit_skb(sk, NULL);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RETRANSSEGS);
	estp_count_retrans(estp_sk(sk), 0);
}

/**
 * estp_make_reqsk_ack - ACK from a request sock, without its network header
 * @req: the request sock
 *
 * The SYN-ACK's sequence space and window; timestamps as TCP's: only with a
 * TSval to echo.
 *
 * Return: the segment, data at its ESTP header, or NULL.
 */
struct sk_buff *estp_make_reqsk_ack(const struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	const struct estp_request_sock *ereq = estp_rsk(req);
	struct sk_buff *rskb = estp_alloc_sk_skb(GFP_ATOMIC);
	struct estp_out_options opts = {
		.tstamp = ereq->tstamp_ok && ereq->ts_recent,
		.tsval = estp_ts_now(ereq->ts_offset),
		.tsecr = ereq->ts_recent,
	};
	struct estphdr *th;

	if (!rskb)
		return NULL;
	th = estp_push_header(rskb, &opts);
	th->source = htons(ireq->ir_num);
	th->dest = ireq->ir_rmt_port;
	th->seq = htonl(ereq->snt_isn + 1);
	th->ack_seq = htonl(ereq->rcv_isn + 1);
	th->ack = 1;
	th->window = htons(min_t(u32, ereq->rcv_wnd, U16_MAX) >> ereq->rcv_wscale);
	return rskb;
}

/**
 * estp_v4_send_reqsk_ack - ACK from a request sock (tcp_v4_reqsk_send_ack)
 * @listener: the request's listener, for the netns
 * @skb: the segment answered
 * @req: the request sock
 */
void estp_v4_send_reqsk_ack(const struct sock *listener, const struct sk_buff *skb,
			    const struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct sk_buff *rskb = estp_make_reqsk_ack(req);

	if (rskb)
		estp_v4_send_ctl(sock_net(listener), rskb, ireq->ir_loc_addr,
				 ireq->ir_rmt_addr, ip_hdr(skb)->tos);
}

/**
 * estp_make_tw_ack - ACK from a time-wait minisock, without its network
 *	header
 * @tw: the minisock
 *
 * Return: the segment, data at its ESTP header, or NULL.
 */
struct sk_buff *estp_make_tw_ack(const struct inet_timewait_sock *tw)
{
	const struct estp_timewait_sock *etw = estp_twsk(tw);
	struct sk_buff *skb = estp_alloc_sk_skb(GFP_ATOMIC);
	struct estp_out_options opts = {
		/* As tcp_v4_timewait_ack: the connection's timestamps go on. */
		.tstamp = etw->tstamp_ok,
		.tsval = estp_ts_now(etw->ts_offset),
		.tsecr = etw->ts_recent,
	};
	struct estphdr *th;

	if (!skb)
		return NULL;
	th = estp_push_header(skb, &opts);
	th->source = tw->tw_sport;
	th->dest = tw->tw_dport;
	th->seq = htonl(etw->snd_nxt);
	th->ack_seq = htonl(etw->rcv_nxt);
	th->ack = 1;
	return skb;
}

/**
 * estp_v4_send_tw_ack - ACK from a time-wait minisock (tcp_v4_timewait_ack)
 * @tw: the minisock
 */
void estp_v4_send_tw_ack(struct inet_timewait_sock *tw)
{
	struct sk_buff *skb = estp_make_tw_ack(tw);

	if (skb)
		estp_v4_send_ctl(twsk_net(tw), skb, tw->tw_rcv_saddr, tw->tw_daddr, 0);
}

/**
 * estp_make_reset - the RST answering a segment, without its network header
 * @sk: the sock that answers (a full sock, a listener or a time-wait
 *	minisock), or NULL when none does
 * @skb: the segment, data at its ESTP header
 *
 * RFC 9293 3.10.7.1: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>; any
 * other gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.  @sk's SO_MARK and
 * (before 6.14) SO_PRIORITY go with it, as TCP's control socket sends them.
 *
 * Return: the RST, or NULL for a RST (never answered) or without memory.
 */
struct sk_buff *estp_make_reset(const struct sock *sk, const struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct estphdr *rth;
	struct sk_buff *rskb;

	if (th->rst)
		return NULL;
	rskb = estp_alloc_ctl_skb(sizeof(*rth), GFP_ATOMIC);
	if (!rskb)
		return NULL;
	rth = estp_hdr(rskb);
	rth->source = th->dest;
	rth->dest = th->source;
	rth->rst = 1;
	if (th->ack) {
		rth->seq = th->ack_seq;
	} else {
		rth->ack = 1;
		rth->ack_seq = htonl(ntohl(th->seq) + th->syn + th->fin +
				     skb->len - th->doff * 4);
	}
	if (sk && sk->sk_state == TCP_TIME_WAIT) {
		rskb->mark = inet_twsk(sk)->tw_mark;
		if (ESTP_RST_SK_PRIORITY)
			rskb->priority = inet_twsk(sk)->tw_priority;
	} else if (sk) {
		rskb->mark = READ_ONCE(sk->sk_mark);
		if (ESTP_RST_SK_PRIORITY)
			rskb->priority = READ_ONCE(sk->sk_priority);
	}
	return rskb;
}
