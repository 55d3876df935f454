// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP input, the counterpart of net/ipv4/tcp_input.c: the state switch for
 * segments that reach a full sock.
 */
#include <linux/security.h>
#include <net/ip.h>
#include <net/sock.h>

#include "estp.h"
#include "estp_trace.h"
#include "estp_ecn.h"

/**
 * estp_reset - the peer reset the connection (tcp_reset)
 * @sk: the socket, locked or owned by the receive path
 *
 * The owner sees ECONNREFUSED for a refused connect(), EPIPE after it had
 * received the peer's FIN, ECONNRESET otherwise.
 */
void estp_reset(struct sock *sk)
{
	int err;

	trace_estp_receive_reset(sk);
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		err = ECONNREFUSED;
		break;
	case TCP_CLOSE_WAIT:
		err = EPIPE;
		break;
	case TCP_CLOSE:
		return;
	default:
		err = ECONNRESET;
	}
	WRITE_ONCE(sk->sk_err, err);
	/* sk_err before the state change that the owner may be waiting on */
	smp_wmb();
	/* Nothing queued may leave a reset sock (tcp_done_with_error). */
	estp_write_queue_purge(sk);
	estp_done(sk, ESTP_DONE_RESET);
	if (!sock_flag(sk, SOCK_DEAD))
		sk_error_report(sk);
}

/**
 * estp_parse_mss - the MSS option of a SYN
 * @th: the header, options included (estp_v4_rcv() pulled them)
 *
 * Return: the peer's MSS, or 0 without the option (RFC 9293: then 536).
 */
u16 estp_parse_mss(const struct estphdr *th)
{
	struct estp_options_received opt;

	estp_parse_options(th, &opt);
	return opt.mss;
}

/*
 * A SYN's Fast Open option (tcp_parse_fastopen_option): an even cookie
 * of 4 to 16 bytes, none (a request), or another length, taken as no
 * option.  Other segments' are ignored.
 */
static void estp_parse_fastopen_option(const struct estphdr *th, const u8 *cookie,
				       int len, bool exp, struct estp_options_received *opt)
{
	if (!th->syn || len & 1)
		return;
	if (len && (len < ESTP_FASTOPEN_COOKIE_MIN || len > ESTP_FASTOPEN_COOKIE_MAX))
		len = -1;
	opt->fo_len = len;
	opt->fo_exp = exp;
	opt->fo_ptr = len > 0 ? cookie : NULL;
}

/**
 * estp_parse_options - the options of a received segment (tcp_parse_options)
 * @th: the header, options included (estp_v4_rcv() pulled them)
 * @opt: filled in; an option with a wrong length is ignored, as TCP does
 *
 * MSS, SACK-permitted and window scale count only on a SYN (RFC 7323 2.2,
 * RFC 2018 2), timestamps and SACK blocks on any segment, Fast Open's
 * on a SYN or SYN-ACK (RFC 7413).
 */
void estp_parse_options(const struct estphdr *th, struct estp_options_received *opt)
{
	const u8 *ptr = (const u8 *)(th + 1);
	int len = th->doff * 4 - sizeof(*th);

	memset(opt, 0, sizeof(*opt));
	opt->fo_len = -1;
	while (len > 0) {
		u8 kind = ptr[0], size;

		if (kind == 0)			/* end of options */
			break;
		if (kind == 1) {		/* no-op */
			ptr++;
			len--;
			continue;
		}
		if (len < 2)
			break;
		size = ptr[1];
		if (size < 2 || size > len)
			break;
		switch (kind) {
		case ESTP_OPT_MSS:
			if (size == 4 && th->syn)
				opt->mss = get_unaligned_be16(ptr + 2);
			break;
		case ESTP_OPT_WSCALE:
			if (size == 3 && th->syn) {
				opt->saw_wscale = 1;
				/* RFC 7323 2.3: a larger shift is taken as 14. */
				opt->wscale = min_t(u8, ptr[2], ESTP_MAX_WSCALE);
			}
			break;
		case ESTP_OPT_SACK_PERM:
			if (size == 2 && th->syn)
				opt->sack_ok = 1;
			break;
		case ESTP_OPT_TIMESTAMP:
			if (size == 10) {
				opt->saw_tstamp = 1;
				opt->tsval = get_unaligned_be32(ptr + 2);
				opt->tsecr = get_unaligned_be32(ptr + 6);
			}
			break;
		case ESTP_OPT_SACK:
			if (size >= 2 + 8 && !((size - 2) % 8) && !th->syn) {
				opt->num_sacks = (size - 2) / 8;
				opt->sack_ptr = ptr + 2;
			}
			break;
		case ESTP_OPT_FASTOPEN:
			estp_parse_fastopen_option(th, ptr + 2, size - 2, false, opt);
			break;
		case ESTP_OPT_EXP:
			/* Fast Open's form in the shared kind, by its magic. */
			if (size >= 4 && get_unaligned_be16(ptr + 2) == ESTP_OPT_FASTOPEN_MAGIC)
				estp_parse_fastopen_option(th, ptr + 4, size - 4, true, opt);
			break;
		}
		ptr += size;
		len -= size;
	}
}

/*
 * The signature option a segment carries for tcp_inbound_hash(): 0 for
 * none, ESTP_OPT_MD5SIG or ESTP_OPT_AO, or -EINVAL when the options are
 * malformed (or carry two signatures) while a signature could still
 * follow.  Before 6.7 (tcp_parse_md5sig_option()) only a well-formed MD5
 * option counts, and anything malformed ends the search with none.
 */
static int estp_auth_option(const struct estphdr *th)
{
	int minlen = ESTP_AUTH_STRICT && IS_ENABLED(CONFIG_TCP_AO) ? 5 : ESTP_OPT_MD5SIG_LEN;
	int len = th->doff * 4 - sizeof(*th), found = 0;
	const int bad = ESTP_AUTH_STRICT ? -EINVAL : 0;
	const u8 *ptr = (const u8 *)(th + 1);
	u8 kind, size;

	while (len >= minlen) {
		kind = *ptr++;
		if (kind == 0)
			break;
		if (kind == 1) {
			len--;
			continue;
		}
		size = *ptr++;
		if (size < 2 || size > len)
			return bad;
		if (kind == ESTP_OPT_MD5SIG) {
			if (size != ESTP_OPT_MD5SIG_LEN || found)
				return bad;
			if (!ESTP_AUTH_STRICT)
				return kind;
			found = kind;
		} else if (kind == ESTP_OPT_AO && ESTP_AUTH_STRICT) {
			/* kind, length, KeyID, RNextKeyID and a MAC */
			if (size <= 4 || found)
				return -EINVAL;
			found = kind;
		}
		ptr += size - 2;
		len -= size;
	}
	return found;
}

/**
 * estp_inbound_auth_drop - tcp_inbound_hash() for a sock with no key
 * @net: the netns
 * @skb: the segment, for a full sock, a listener or a request sock
 * @req: the segment is for a request sock
 *
 * ESTP signs nothing, so it drops what a TCP sock with no TCP-MD5 or
 * TCP-AO key drops on the same kernel, before the segment is processed:
 * malformed options (6.7 on, uncounted), an MD5 signature
 * (MD5Unexpected), a TCP-AO one (AOBad for a request sock, which did not
 * use TCP-AO; AOKeyNotFound for a full sock where the kernel has TCP-AO).
 * A kernel without TCP-MD5 or TCP-AO drops none of these.
 *
 * Return: true when the caller must drop the segment.
 */
bool estp_inbound_auth_drop(struct net *net, const struct sk_buff *skb, bool req)
{
	int opt;

	if (!IS_ENABLED(CONFIG_TCP_MD5SIG) && !IS_ENABLED(CONFIG_TCP_AO))
		return false;
	opt = estp_auth_option(estp_hdr(skb));
	if (likely(!opt))
		return false;
	if (opt == ESTP_OPT_AO && req) {
		ESTP_INC_STATS(net, ESTP_MIB_AOBAD);
	} else if (opt == ESTP_OPT_AO) {
		if (!IS_ENABLED(CONFIG_TCP_AO))
			return false;
		ESTP_INC_STATS(net, ESTP_MIB_AOKEYNOTFOUND);
	} else if (opt == ESTP_OPT_MD5SIG) {
		if (!IS_ENABLED(CONFIG_TCP_MD5SIG))
			return false;
		ESTP_INC_STATS(net, ESTP_MIB_MD5UNEXPECTED);
	}
	return true;
}

/* Seconds, for the age of ts_recent (PAWS's 24 days). */
static u32 estp_seconds(void)
{
	return (u32)ktime_get_seconds();
}

/* Our timestamp clock, as estp_output.c's: milliseconds plus the offset. */
static u32 estp_ts_clock(const struct estp_sock *esk)
{
	return (u32)div_u64(estp_clock_us(), USEC_PER_MSEC) + esk->ts_offset;
}

/*
 * RFC 6298 2.2 and 2.3 as tcp_rtt_estimator() does them: srtt_us is
 * 8 * SRTT, so that SRTT += (R - SRTT) / 8 is one addition, and mdev_us
 * 4 * RTTVAR, so that RTTVAR += (|R - SRTT| - RTTVAR) / 4 is one too.  As
 * TCP's, a sample under SRTT moves mdev_us an eighth as much (an RTT that
 * falls is no reason for a longer RTO), and the RTO takes rttvar_us: the
 * largest mdev_us of the last RTT, at least the 200 ms minimum, falling
 * back towards it a quarter of the way each RTT.
 */
static void estp_rtt_estimator(struct estp_sock *esk, u32 rtt_us)
{
	u32 rto_min = jiffies_to_usecs(ESTP_RTO_MIN);
	s32 m = rtt_us;

	if (!esk->srtt_us) {
		/* The first: SRTT = R, RTTVAR = R / 2, so the RTO is 3 R or more. */
		esk->srtt_us = rtt_us << 3;
		esk->mdev_us = rtt_us << 1;
		esk->rttvar_us = max(esk->mdev_us, rto_min);
		esk->mdev_max_us = esk->rttvar_us;
		esk->rtt_seq = esk->snd_nxt;
		return;
	}
	m -= esk->srtt_us >> 3;
	esk->srtt_us += m;
	if (m < 0) {
		m = -m - (esk->mdev_us >> 2);
		if (m > 0)
			m >>= 3;
	} else {
		m -= esk->mdev_us >> 2;
	}
	esk->mdev_us += m;
	if (esk->mdev_us > esk->mdev_max_us) {
		esk->mdev_max_us = esk->mdev_us;
		esk->rttvar_us = max(esk->rttvar_us, esk->mdev_max_us);
	}
	if (estp_after(esk->snd_una, esk->rtt_seq)) {
		if (esk->mdev_max_us < esk->rttvar_us)
			esk->rttvar_us -= (esk->rttvar_us - esk->mdev_max_us) >> 2;
		esk->rtt_seq = esk->snd_nxt;
		esk->mdev_max_us = rto_min;
	}
	/* Nothing measures under a microsecond: keep "no sample" apart. */
	esk->srtt_us = max(esk->srtt_us, 1U);
}

/*
 * RFC 6298 2.4 as tcp_set_rto(): RTO = SRTT + rttvar_us, which holds the
 * 200 ms minimum itself, so that the RTO always exceeds the RTT by it; at
 * most 120 s.
 */
static void estp_set_rto(struct estp_sock *esk)
{
	u64 rto_us = (esk->srtt_us >> 3) + esk->rttvar_us;
	unsigned long rto = usecs_to_jiffies(min_t(u64, rto_us, U32_MAX));

	esk->rto = clamp_t(unsigned long, rto, ESTP_RTO_MIN, ESTP_RTO_MAX);
}

/*
 * The least RTT of the last @win jiffies, Kathleen Nichols' windowed
 * minimum as TCP keeps it (lib/win_minmax.c, which 6.1 does not export):
 * the best sample, and the best of the window's later quarter and half,
 * so that when the best ages out a recent one takes its place.
 */
static void estp_min_rtt_update(struct minmax *m, u32 win, u32 now, u32 rtt)
{
	struct minmax_sample val = { .t = now, .v = rtt };
	u32 age;

	if (rtt <= m->s[0].v || now - m->s[2].t > win) {
		m->s[0] = val;
		m->s[1] = val;
		m->s[2] = val;
		return;
	}
	if (rtt <= m->s[1].v)
		m->s[1] = val;
	if (rtt <= m->s[2].v)
		m->s[2] = val;

	age = now - m->s[0].t;
	if (age > win) {
		/* The best is too old: the next ones move up. */
		m->s[0] = m->s[1];
		m->s[1] = m->s[2];
		m->s[2] = val;
		if (now - m->s[0].t > win) {
			m->s[0] = m->s[1];
			m->s[1] = m->s[2];
		}
	} else if (m->s[1].t == m->s[0].t && age > win / 4) {
		m->s[1] = val;
		m->s[2] = val;
	} else if (m->s[2].t == m->s[1].t && age > win / 2) {
		m->s[2] = val;
	}
}

/**
 * estp_rtt_sample - an RTT measurement, from a segment never sent twice
 *	(tcp_ack_update_rtt)
 * @sk: the socket, locked or owned by the receive path
 * @rtt_us: the measurement; negative ones (a clock gone backwards) are ignored
 */
void estp_rtt_sample(struct sock *sk, long rtt_us)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 wlen = READ_ONCE(estp_pernet(sock_net(sk))->min_rtt_wlen) * HZ;

	if (rtt_us < 0)
		return;
	/*
	 * The least RTT of the last net.estp.min_rtt_wlen seconds, the path's
	 * own delay without queues (tcp_update_rtt_min): TCP_INFO's
	 * tcpi_min_rtt, and what RACK's reordering window is sized from.
	 */
	estp_min_rtt_update(&esk->rtt_min, wlen, jiffies,
			    min_t(long, rtt_us, U32_MAX) ? : jiffies_to_usecs(1));
	estp_rtt_estimator(esk, min_t(long, rtt_us, U32_MAX >> 3));
	estp_set_rto(esk);
}

/*
 * Room in the send buffer for twice the congestion window, so that a
 * window can be resent while new data waits (tcp_sndbuf_expand), within
 * net.estp.wmem's maximum, unless the user fixed SO_SNDBUF.
 */
static void estp_sndbuf_expand(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 per_mss = max_t(u32, esk->mss_clamp, esk->mss_cache) + MAX_HEADER + 128 +
		      SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	u32 segs = max3(esk->snd_cwnd, (u32)ESTP_INIT_CWND, esk->reordering + 1);
	u64 sndmem;

	if (sk->sk_userlocks & SOCK_SNDBUF_LOCK)
		return;
	per_mss = roundup_pow_of_two(per_mss) + SKB_DATA_ALIGN(sizeof(struct sk_buff));
	sndmem = 2ULL * segs * per_mss;
	if (READ_ONCE(sk->sk_sndbuf) < sndmem)
		WRITE_ONCE(sk->sk_sndbuf,
			   min_t(u64, sndmem, READ_ONCE(estp_pernet(sock_net(sk))->wmem[2])));
}

/* After an ACK freed data (tcp_new_space): grow while the window grows. */
static void estp_new_space(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!sk_under_memory_pressure(sk) && estp_packets_in_flight(esk) < esk->snd_cwnd &&
	    sk_memory_allocated(sk) < sk_prot_mem_limits(sk, 0))
		estp_sndbuf_expand(sk);
}

/**
 * estp_init_transfer - a connection becomes ESTABLISHED (tcp_init_transfer)
 * @sk: the socket, locked or owned by the receive path
 *
 * The MSS from the path and the peer's option, keepalives if asked for, and
 * congestion control: RFC 6928's initial window of 10 segments, or 1 when
 * the handshake had to be resent (RFC 5681 3.1); an RTO of 3 s (RFC 6298
 * 5.7) when it was and gave no RTT sample.
 */
void estp_init_transfer(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct dst_entry *dst = __sk_dst_get(sk);

	/* A child has sent nothing itself yet: it may have no route. */
	if (!dst && !esk->af_ops->rebuild_header(sk))
		dst = __sk_dst_get(sk);
	estp_sync_mss(sk, dst ? dst_mtu(dst) : IPV4_MIN_MTU);
	/* What we announced, less the room of timestamps (tp->advmss). */
	esk->advmss = estp_advertised_mss(sk) -
		      (esk->tstamp_ok ? ESTP_OPTLEN_TS_ALIGNED : 0);
	/* tcp_initialize_rcv_mss: a guess of the peer's segments. */
	esk->rcv_mss = clamp_t(u32, min3((u32)esk->mss_cache, esk->rcv_wnd / 2,
					 (u32)ESTP_MSS_DEFAULT), 88, ESTP_MSS_DEFAULT);
	esk->ack_ato = 0;
	esk->ack_quick = 0;
	esk->ack_pingpong = 0;
	esk->ack_pending = 0;
	esk->rcv_ssthresh = min(esk->rcv_ssthresh, esk->window_clamp);
	esk->rcvq_space = min_t(u32, esk->rcv_wnd, 10 * (u32)esk->mss_cache);
	esk->rcvq_seq = esk->copied_seq;
	esk->rcvq_time_us = estp_clock_us();
	esk->rcv_tstamp = jiffies;
	esk->probes_out = 0;
	if (sock_flag(sk, SOCK_KEEPOPEN))
		estp_reset_keepalive_timer(sk, estp_keepalive_time_when(esk));

	if (esk->syn_retrans && !esk->srtt_us)
		esk->rto = ESTP_TIMEOUT_FALLBACK;
	esk->snd_cwnd = esk->syn_retrans ? 1 : ESTP_INIT_CWND;
	esk->snd_cwnd_cnt = 0;
	esk->snd_ssthresh = ESTP_INFINITE_SSTHRESH;
	esk->prior_cwnd = esk->snd_cwnd;
	esk->cwnd_limited = 0;
	/* A handshake resent on timeouts ends its episode here. */
	estp_rto_episode_end(esk);
	esk->ca_state = ESTP_CA_OPEN;
	estp_init_congestion_control(sk);
	estp_sndbuf_expand(sk);
}

/* The handshake of an active open ends (tcp_finish_connect). */
static void estp_finish_connect(struct sock *sk, struct sk_buff *skb)
{
	/* The LSM labels the connection from the SYN-ACK. */
	security_inet_conn_established(sk, skb);
	estp_set_state(sk, TCP_ESTABLISHED);
	/* TCP_INFO's last data times count from here, as tcp_finish_connect's. */
	estp_sk(sk)->ack_lrcvtime = jiffies;
	estp_clear_xmit_timers(sk);
	estp_init_transfer(sk);
	estp_sk(sk)->lsndtime = jiffies;
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
	}
}

/*
 * What the peer's SYN or SYN-ACK agreed to (the options part of
 * tcp_rcv_synsent_state_process): an option counts when we offered it too.
 * Without window scaling on both sides, neither side scales (RFC 7323 2.2).
 */
static void estp_synack_options(struct sock *sk, const struct sk_buff *skb)
{
	const struct estp_net *en = estp_pernet(sock_net(sk));
	struct estp_sock *esk = estp_sk(sk);
	struct estp_options_received opt;

	estp_parse_options(estp_hdr(skb), &opt);
	esk->mss_clamp = opt.mss ? : ESTP_MSS_DEFAULT;
	esk->sack_ok = opt.sack_ok && READ_ONCE(en->sack);
	esk->tstamp_ok = opt.saw_tstamp && READ_ONCE(en->timestamps);
	if (esk->tstamp_ok) {
		esk->ts_recent = opt.tsval;
		esk->ts_recent_stamp = estp_seconds();
	}
	esk->wscale_ok = opt.saw_wscale && READ_ONCE(en->window_scaling);
	if (esk->wscale_ok) {
		esk->snd_wscale = opt.wscale;
	} else {
		esk->snd_wscale = 0;
		esk->rcv_wscale = 0;
		esk->window_clamp = min_t(u32, esk->window_clamp, U16_MAX);
		esk->rcv_ssthresh = min(esk->rcv_ssthresh, esk->window_clamp);
	}
}

/*
 * The SYN-ACK acknowledged the data our SYN carried, as far as @ack: off
 * the write queue.  One delivery for SYN and data, as TCP counts them.
 */
static void estp_fastopen_data_acked(struct sock *sk, u32 ack)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	estp_snd_una_update(esk, ack);
	while ((skb = skb_peek(&sk->sk_write_queue)) && skb != esk->send_head &&
	       !estp_after(ESTP_SKB_CB(skb)->end_seq, ack)) {
		esk->packets_out--;
		__skb_unlink(skb, &sk->sk_write_queue);
		estp_wmem_free_skb(sk, skb);
	}
	if (!skb || skb == esk->send_head)
		estp_chrono_stop(sk, ESTP_CHRONO_BUSY);
}

/*
 * The SYN-ACK of an active Fast Open (tcp_rcv_fastopen_synack), once
 * ESTABLISHED: its cookie and MSS go to the cache; data it did not
 * acknowledge goes again at once, without counting as congestion.
 *
 * Return: true when data was resent (it carries the handshake's ACK).
 */
static bool estp_rcv_fastopen_synack(struct sock *sk, struct sk_buff *synack, u32 ack)
{
	struct estp_fastopen_cookie cookie = { .len = -1 };
	struct estp_sock *esk = estp_sk(sk);
	struct estp_options_received opt;
	bool syn_drop = false, lost;
	struct sk_buff *skb;
	u8 try_exp = 0;

	estp_parse_options(estp_hdr(synack), &opt);
	if (opt.fo_len >= 0) {
		cookie.len = opt.fo_len;
		cookie.exp = opt.fo_exp;
		if (cookie.len > 0)
			memcpy(cookie.val, opt.fo_ptr, cookie.len);
	}
	lost = esk->syn_data && ack != esk->snd_nxt;
	if (!esk->syn_fastopen) {
		/* A cookie we did not ask for is not taken. */
		cookie.len = -1;
	} else if (esk->total_retrans) {
		/* Resent SYNs: the SYN with data, or its SYN-ACK, was lost. */
		syn_drop = cookie.len < 0 && lost;
	} else if (cookie.len < 0 && !esk->syn_data) {
		/* Asked and got none: try the other form of the option next. */
		try_exp = esk->syn_fastopen_exp ? 2 : 1;
	}
	estp_fastopen_cache_set(sk, opt.mss, &cookie, syn_drop, try_exp);
	if (lost) {
		esk->fastopen_client_fail = esk->total_retrans ? TFO_SYN_RETRANSMITTED :
								  TFO_DATA_NOT_ACKED;
		skb_queue_walk(&sk->sk_write_queue, skb) {
			if (skb == esk->send_head)
				break;
			if (!(ESTP_SKB_CB(skb)->sacked & ESTP_CB_LOST)) {
				ESTP_SKB_CB(skb)->sacked |= ESTP_CB_LOST;
				esk->lost_out++;
			}
		}
		estp_non_congestion_loss_retransmit(sk);
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_FASTOPENACTIVEFAIL);
		return true;
	}
	esk->syn_data_acked = esk->syn_data;
	if (esk->syn_data_acked)
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_FASTOPENACTIVE);
	estp_fastopen_add_skb(sk, synack);
	return false;
}

/*
 * A segment for a sock in SYN_SENT (tcp_rcv_synsent_state_process).
 * Return: 1 when the caller must answer it with a RST, 0 when consumed.
 */
static int estp_rcv_synsent_state_process(struct sock *sk, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct estp_sock *esk = estp_sk(sk);
	u32 ack = ntohl(th->ack_seq);

	if (th->ack) {
		/*
		 * RFC 9293 3.10.7.3: only an ACK of our SYN is acceptable,
		 * with as much of its Fast Open data as the peer took.
		 */
		if (!estp_after(ack, esk->snd_una) || estp_after(ack, esk->snd_nxt))
			return !th->rst;
		if (th->rst) {
			estp_reset(sk);
			return 0;
		}
		if (!th->syn)
			return 0;
		esk->rcv_nxt = ntohl(th->seq) + 1;
		esk->copied_seq = esk->rcv_nxt;
		/* Our SYN's window now counts from the peer's ISN. */
		esk->rcv_wup = esk->rcv_nxt;
		/* Our SYN is acknowledged: one byte, one segment delivered. */
		estp_snd_una_update(esk, esk->iss + 1);
		esk->delivered++;
		/*
		 * And as much of the data it carried as the peer took: what
		 * it did not goes again (estp_rcv_fastopen_synack()).
		 */
		if (esk->syn_data && estp_after(ack, esk->snd_una))
			estp_fastopen_data_acked(sk, ack);
		esk->snd_up = esk->snd_una;
		esk->syn_unacked = 0;
		/* RFC 7323 2.2: a SYN's window is never scaled. */
		esk->snd_wnd = ntohs(th->window);
		esk->snd_wl1 = ntohl(th->seq);
		esk->max_window = esk->snd_wnd;
		estp_synack_options(sk, skb);
		estp_ecn_rcv_synack(esk, th);
		/* Karn: only a SYN sent once measures the path. */
		if (!esk->syn_retrans)
			estp_rtt_sample(sk, estp_clock_us() - esk->syn_tx_us);
		estp_finish_connect(sk, skb);
		if ((esk->syn_fastopen || esk->syn_data) &&
		    estp_rcv_fastopen_synack(sk, skb, ack))
			return 0;
		/*
		 * A writer waits (or ESTP_DEFER_ACCEPT, or interactive): its
		 * data will carry the ACK, or the delayed-ACK timer will.
		 */
		if (sk->sk_write_pending || READ_ONCE(esk->accept_queue.defer_accept) ||
		    esk->ack_pingpong) {
			estp_enter_quickack_mode(sk);
			esk->ack_pending |= ESTP_ACK_SCHED | ESTP_ACK_TIMER;
			sk_reset_timer(sk, &esk->delack_timer, jiffies + ESTP_DELACK_MAX);
			return 0;
		}
		estp_send_ack(sk);
		return 0;
	}
	if (th->syn && !th->rst) {
		/*
		 * Simultaneous open (RFC 9293 3.5): the peer's SYN crossed ours.
		 * SYN_RECV, and our SYN again, now with an ACK of theirs.
		 */
		esk->rcv_nxt = ntohl(th->seq) + 1;
		esk->copied_seq = esk->rcv_nxt;
		/* Our SYN's window now counts from the peer's ISN. */
		esk->rcv_wup = esk->rcv_nxt;
		estp_synack_options(sk, skb);
		estp_ecn_rcv_syn(esk, th);
		estp_set_state(sk, TCP_SYN_RECV);
		estp_send_syn(sk);
		return 0;
	}
	/* A RST without ACK: not for this connection. */
	return 0;
}

static void estp_ack_snd_check(struct sock *sk);

/*
 * The peer's FIN, in order (tcp_fin).  In ESTABLISHED its ACK is sent or
 * delayed as a data segment's is: the peer closing likely means a reply
 * comes, so ACKs wait for it (pingpong), as TCP's.
 */
static void estp_fin(struct sock *sk)
{
	estp_rcv_nxt_update(estp_sk(sk), estp_sk(sk)->rcv_nxt + 1);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
	sock_set_flag(sk, SOCK_DONE);

	switch (sk->sk_state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		estp_set_state(sk, TCP_CLOSE_WAIT);
		estp_sk(sk)->ack_pingpong = 1;
		estp_sk(sk)->ack_pending |= ESTP_ACK_SCHED;
		estp_ack_snd_check(sk);
		goto wake;
	case TCP_FIN_WAIT1:
		/*
		 * Both sides closed at once: RFC 9293's simultaneous close.
		 * A reader after shutdown(SHUT_WR) sees EOF now (tcp_fin).
		 */
		estp_set_state(sk, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT2:
		estp_send_ack(sk);
		estp_time_wait(sk, TCP_TIME_WAIT, 0);
		return;
	default:
		/* CLOSE_WAIT, CLOSING, LAST_ACK: a FIN already counted. */
		return;
	}
	estp_send_ack(sk);
wake:
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		/* SIGIO's si_code: a half close leaves data to read (tcp_fin). */
		if (sk->sk_shutdown == SHUTDOWN_MASK || sk->sk_state == TCP_CLOSE)
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_HUP);
		else
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_IN);
	}
}

/*
 * Our FIN is acknowledged by a segment with @len bytes from @seq and @fin:
 * FIN_WAIT1 -> FIN_WAIT2, CLOSING -> TIME_WAIT, LAST_ACK -> done.  Only the
 * retransmit timer stops: an ACK we owe for data still goes out.
 *
 * Return: -1 when the caller goes on with the segment, else what
 * estp_rcv_synchronized() returns at once (sk is gone from its hands; 1
 * when the segment gets a RST).
 */
static int estp_fin_acked(struct sock *sk, u32 seq, u32 len, bool fin)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->delivered++;	/* the FIN, off the write queue in ESTP */
	esk->retransmits = 0;
	esk->retrans_stamp = 0;
	esk->early_timer = 0;
	sk_stop_timer(sk, &esk->retransmit_timer);
	switch (sk->sk_state) {
	case TCP_FIN_WAIT1:
		estp_set_state(sk, TCP_FIN_WAIT2);
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | SEND_SHUTDOWN);
		if (!sock_flag(sk, SOCK_DEAD)) {
			sk->sk_state_change(sk);
			return -1;
		}
		/*
		 * An orphan waits for the peer's FIN as a minisock, or with
		 * ESTP_LINGER2 < 0 not at all: the ACK is answered with a RST
		 * and counted as TCP counts it, AbortOnData (AbortOnLinger
		 * is estp_close()'s, for an orphan already in FIN_WAIT2).
		 */
		if (READ_ONCE(esk->linger2) < 0) {
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONDATA);
			estp_done(sk, ESTP_DONE_LINGER2);
			return 1;
		}
		/* New data, or a FIN past a hole, for a closed reader. */
		if ((len || fin) && estp_after(seq + len, esk->rcv_nxt)) {
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONDATA);
			estp_done(sk, ESTP_DONE_ABORT_ON_DATA);
			return 1;
		}
		/*
		 * A FIN in this segment is taken by the full sock, which the
		 * minisock would drop (tcp_rcv_state_process: "We could lose
		 * such FIN otherwise"); estp_rcv_synchronized() hands the
		 * orphan over when the segment did not end it.  So it does
		 * for a long wait, which keeps the full sock for a while.
		 */
		if (fin || estp_fin_time(sk) > ESTP_TIMEWAIT_LEN)
			return -1;
		estp_time_wait(sk, TCP_FIN_WAIT2, estp_fin_time(sk));
		return 0;
	case TCP_CLOSING:
		estp_time_wait(sk, TCP_TIME_WAIT, 0);
		return 0;
	case TCP_LAST_ACK:
		estp_done(sk, ESTP_DONE_LAST_ACK);
		return 0;
	}
	return -1;
}

/* What an ACK did, as tcp_ack()'s FLAG_* bits */
#define ESTP_AF_UNA_ADVANCED	0x01	/* snd_una moved */
#define ESTP_AF_DATA_SACKED	0x02	/* new SACK marks */
#define ESTP_AF_ORIG_ACKED	0x04	/* a never resent segment below high_seq (S)ACKed */
#define ESTP_AF_DUPACK		0x08	/* a duplicate ACK (RFC 5681 2) */
#define ESTP_AF_DSACK_TLP	0x10	/* a D-SACK of the loss probe's resend */

/* After estp_fastretrans(): what the ACK may resend (tcp_ack()'s REXMIT_*). */
enum { ESTP_REXMIT_NONE, ESTP_REXMIT_LOST, ESTP_REXMIT_NEW };

/* One ACK's effect on the scoreboard. */
struct estp_ack_state {
	int	flag;		/* ESTP_AF_* */
	u32	sacked;		/* segments it newly SACKed */
	u32	acked_sacked;	/* segments it acknowledged that were SACKed */
	u32	prior_fack;	/* the highest SACKed end before it */
	u32	reord;		/* its lowest newly delivered original below that */
	u64	last_tx_us;	/* sent when, the latest segment it delivered */
};

/*
 * A segment never resent arrived after one above it (tcp_check_sack_reordering):
 * the path reorders.  The distance in segments raises the dupACK
 * threshold, and RACK's window opens from now on.  @ts: found by a
 * timestamp (partial undo), not by SACK.
 */
static void estp_check_sack_reordering(struct sock *sk, u32 low_seq, u32 fack, bool ts)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 mss = esk->mss_cache, metric;

	if (!estp_before(low_seq, fack))
		return;
	metric = fack - low_seq;
	if (mss && metric > esk->reordering * mss)
		esk->reordering = min_t(u32, DIV_ROUND_UP(metric, mss),
					READ_ONCE(estp_pernet(sock_net(sk))->max_reordering));
	esk->reord_seen++;
	ESTP_INC_STATS(sock_net(sk), ts ? ESTP_MIB_TSREORDER : ESTP_MIB_SACKREORDER);
}

/* The end of the highest SACKed segment, or snd_una (tcp_highest_sack_seq). */
static u32 estp_fack(const struct estp_sock *esk)
{
	return esk->sacked_out && estp_after(esk->fack, esk->snd_una) ? esk->fack : esk->snd_una;
}

/*
 * RACK (RFC 8985, tcp_rack_advance): remember the most recently sent
 * segment the peer has, and its RTT.  A resent one whose ACK came sooner
 * than the least RTT answers the first copy and says nothing.
 */
static void estp_rack_advance(struct estp_sock *esk, const struct estp_skb_cb *cb,
			      struct estp_ack_state *st)
{
	u64 now = estp_clock_us();
	u32 rtt = min_t(u64, now - cb->tx_us, U32_MAX);

	st->last_tx_us = max(st->last_tx_us, cb->tx_us);
	if (cb->sacked & ESTP_CB_EVER_RETRANS && rtt < minmax_get(&esk->rtt_min))
		return;
	if (cb->tx_us > esk->rack_xmit_us ||
	    (cb->tx_us == esk->rack_xmit_us && estp_after(cb->end_seq, esk->rack_end_seq))) {
		esk->rack_xmit_us = cb->tx_us;
		esk->rack_end_seq = cb->end_seq;
		esk->rack_rtt_us = rtt;
	}
}

/*
 * Free what the peer acknowledged and count it out of flight
 * (tcp_clean_rtx_queue).  The RTT sample is the oldest acknowledged
 * segment's, as TCP's seq_rtt, and there is none when any of them was sent
 * twice (Karn's algorithm, RFC 6298 3).
 */
static void estp_clean_rtx_queue(struct sock *sk, u32 ack,
				 struct estp_ack_sample *sample, struct estp_ack_state *st)
{
	struct estp_sock *esk = estp_sk(sk);
	bool retrans_acked = false;
	u64 first_tx = 0;
	struct sk_buff *skb;

	while ((skb = skb_peek(&sk->sk_write_queue)) && skb != esk->send_head) {
		struct estp_skb_cb *cb = ESTP_SKB_CB(skb);

		if (estp_after(cb->end_seq, ack))
			break;
		if (cb->sacked & ESTP_CB_EVER_RETRANS)
			retrans_acked = true;
		else if (!first_tx)
			first_tx = cb->tx_us;
		/* F-RTO's evidence: an original arrived (FLAG_ORIG_SACK_ACKED). */
		if (!(cb->sacked & (ESTP_CB_EVER_RETRANS | ESTP_CB_SACKED)) &&
		    !estp_after(cb->end_seq, esk->high_seq))
			st->flag |= ESTP_AF_ORIG_ACKED;
		if (cb->sacked & ESTP_CB_SACKED)
			st->acked_sacked++;
		if (cb->sacked & ESTP_CB_LOST)
			esk->lost_out--;
		if (cb->sacked & ESTP_CB_RETRANS)
			esk->retrans_out--;
		if (cb->sacked & ESTP_CB_SACKED) {
			esk->sacked_out--;
		} else {
			estp_rack_advance(esk, cb, st);
			esk->delivered++;	/* a SACKed one was counted then */
		}
		/* An original the ACK reaches below what was SACKed came late. */
		if (!(cb->sacked & (ESTP_CB_SACKED | ESTP_CB_EVER_RETRANS)) &&
		    estp_before(cb->seq, st->reord))
			st->reord = cb->seq;
		esk->packets_out--;
		sample->pkts_acked++;
		__skb_unlink(skb, &sk->sk_write_queue);
		estp_wmem_free_skb(sk, skb);
	}
	/* Nothing left in flight: busy no more unless data waits. */
	if (!skb || skb == esk->send_head)
		estp_chrono_stop(sk, ESTP_CHRONO_BUSY);
	if (first_tx && !retrans_acked) {
		sample->rtt_us = min_t(u64, estp_clock_us() - first_tx, S32_MAX);
		estp_rtt_sample(sk, sample->rtt_us);
	}
}

/*
 * The threshold an undo goes back to (tcp_current_ssthresh): outside a
 * reduction, at least three quarters of the window, which may have grown
 * past the threshold.
 */
static u32 estp_current_ssthresh(const struct estp_sock *esk)
{
	if (esk->ca_state == ESTP_CA_CWR || esk->ca_state == ESTP_CA_RECOVERY)
		return esk->snd_ssthresh;
	return max(esk->snd_ssthresh, (esk->snd_cwnd >> 1) + (esk->snd_cwnd >> 2));
}

/*
 * A loss episode starts: the timestamp its first resend carries, and the
 * resends that D-SACKs must all report before it is undone
 * (tcp_init_undo).  The caller saves the window to go back to.
 */
static void estp_undo_mark(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	/*
	 * An echo older than this proves the originals arrived; with resends
	 * of an earlier episode (or a loss probe) still in flight, their
	 * echoes would pass for that, so the mark stays at the first of them,
	 * as TCP's retrans_stamp does (0, no undo by timestamps, if unknown).
	 */
	if (!esk->retrans_out)
		esk->undo_tsval = esk->tstamp_ok ? estp_ts_clock(esk) : 0;
	esk->undo_marker = esk->snd_una;
	/* Resends still in flight may be D-SACKed too; 0 would mean "undo". */
	esk->undo_retrans = esk->retrans_out ? : -1;
}

/*
 * The ACK echoes a timestamp older than the first resend: the originals
 * arrived (the Eifel algorithm, RFC 3522; tcp_packet_delayed).
 */
static bool estp_packet_delayed(const struct estp_sock *esk,
				const struct estp_options_received *opt)
{
	return esk->undo_tsval && opt->saw_tstamp && opt->tsecr &&
	       (s32)(opt->tsecr - esk->undo_tsval) < 0;
}

/* The episode was spurious: timestamps or D-SACKs say so (tcp_may_undo). */
static bool estp_may_undo(const struct estp_sock *esk,
			  const struct estp_options_received *opt)
{
	return esk->undo_marker && (!esk->undo_retrans || estp_packet_delayed(esk, opt));
}

/*
 * Take back the episode's reduction (tcp_undo_cwnd_reduction): the window
 * and threshold go back, and with @unmark_loss nothing more is resent.
 */
static void estp_undo_cwnd_reduction(struct sock *sk, bool unmark_loss)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	if (unmark_loss) {
		skb_queue_walk(&sk->sk_write_queue, skb) {
			if (skb == esk->send_head)
				break;
			ESTP_SKB_CB(skb)->sacked &= ~ESTP_CB_LOST;
		}
		esk->lost_out = 0;
	}
	if (esk->prior_ssthresh) {
		esk->snd_cwnd = max(esk->snd_cwnd, esk->ca_ops->undo_cwnd(sk));
		if (esk->prior_ssthresh > esk->snd_ssthresh) {
			esk->snd_ssthresh = esk->prior_ssthresh;
			estp_ecn_withdraw_cwr(esk);
		}
	}
	esk->undo_marker = 0;
	esk->undo_tsval = 0;
}

/* Out of Recovery or Loss, to Disorder while anything is still out (tcp_try_keep_open). */
static void estp_try_keep_open(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u8 state = esk->sacked_out || esk->lost_out || esk->retrans_out ?
		   ESTP_CA_DISORDER : ESTP_CA_OPEN;

	esk->in_recovery = 0;
	if (esk->ca_state != state) {
		estp_set_ca_state(sk, state);
		esk->high_seq = esk->snd_nxt;
	}
}

/* The ACK of high_seq ends the episode: undo it if it was spurious (tcp_try_undo_recovery). */
static bool estp_try_undo_recovery(struct sock *sk, const struct estp_options_received *opt)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!estp_may_undo(esk, opt)) {
		/* A real loss: one recovery less with RACK's window widened. */
		if (esk->reo_wnd_persist)
			esk->reo_wnd_persist--;
		return false;
	}
	estp_undo_cwnd_reduction(sk, false);
	ESTP_INC_STATS(sock_net(sk), esk->ca_state == ESTP_CA_LOSS ? ESTP_MIB_LOSSUNDO :
				     ESTP_MIB_FULLUNDO);
	return true;
}

/* Every resend of the episode was D-SACKed: none was needed (tcp_try_undo_dsack). */
static bool estp_try_undo_dsack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!esk->undo_marker || esk->undo_retrans)
		return false;
	esk->reo_wnd_persist = min_t(u32, ESTP_RACK_RECOVERY_THRESH, esk->reo_wnd_persist + 1);
	estp_undo_cwnd_reduction(sk, false);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_DSACKUNDO);
	return true;
}

/*
 * A partial ACK in Recovery that echoes a timestamp from before the first
 * resend: the hole filled with the original (tcp_try_undo_partial).
 * Return: true when the ACK must resend nothing.
 */
static bool estp_try_undo_partial(struct sock *sk, const struct estp_options_received *opt,
				  u32 prior_snd_una)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!esk->undo_marker || !estp_packet_delayed(esk, opt))
		return false;
	/* The hole filled with the original, late: reordering. */
	estp_check_sack_reordering(sk, prior_snd_una, estp_fack(esk), true);
	/* Resends in flight may still be D-SACKed: hold Recovery. */
	if (esk->retrans_out)
		return true;
	estp_undo_cwnd_reduction(sk, true);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_PARTIALUNDO);
	estp_try_keep_open(sk);
	return true;
}

/*
 * In Loss, undo what the RTO did (tcp_try_undo_loss): by timestamps or
 * D-SACKs, or with @frto_undo because F-RTO saw an original delivered.
 */
static bool estp_try_undo_loss(struct sock *sk, const struct estp_options_received *opt,
			       bool frto_undo)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!frto_undo && !estp_may_undo(esk, opt))
		return false;
	estp_undo_cwnd_reduction(sk, true);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_LOSSUNDO);
	if (frto_undo)
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_SPURIOUSRTOS);
	esk->retransmits = 0;
	if (frto_undo || esk->sack_ok) {
		esk->in_recovery = 0;
		estp_set_ca_state(sk, ESTP_CA_OPEN);
	}
	return true;
}

/* The first unacknowledged segment was SACKed: the peer reneged. */
static bool estp_head_sacked(const struct sock *sk)
{
	const struct sk_buff *skb = skb_peek(&sk->sk_write_queue);

	return skb && skb != estp_sk(sk)->send_head &&
	       ESTP_SKB_CB(skb)->sacked & ESTP_CB_SACKED;
}

/**
 * estp_enter_loss - a retransmission timeout (tcp_enter_loss)
 * @sk: the socket, owned by its timer
 *
 * Everything in flight is taken for lost and will be sent again as the
 * window allows; the window restarts at one segment (RFC 5681 3.1), and
 * the algorithm sets the threshold, once per episode: a timeout of a
 * resent segment does not halve it again.
 */
void estp_enter_loss(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb;

	/*
	 * F-RTO (RFC 5682 3.1 step 1): unless a recovery other than this
	 * timeout's own is under way, the next ACKs tell whether it was
	 * spurious (tcp_enter_loss).
	 */
	bool new_recovery = esk->ca_state < ESTP_CA_RECOVERY;

	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_TIMEOUTS);
	esk->frto = READ_ONCE(estp_pernet(sock_net(sk))->frto) &&
		    (new_recovery || esk->retransmits);
	if (estp_head_sacked(sk)) {
		/*
		 * The peer ACKed up to a segment it had SACKed: it dropped
		 * what it held (RFC 2018 8).  No SACK counts any more, and
		 * everything goes again (tcp_timeout_mark_lost).
		 */
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_SACKRENEGING);
		skb_queue_walk(&sk->sk_write_queue, skb) {
			if (skb == esk->send_head)
				break;
			ESTP_SKB_CB(skb)->sacked &= ~ESTP_CB_SACKED;
		}
		esk->sacked_out = 0;
	}
	/*
	 * A new episode, not a timeout inside a reduction that set the
	 * threshold already (tcp_enter_loss).
	 */
	if (esk->ca_state <= ESTP_CA_DISORDER || !estp_after(esk->high_seq, esk->snd_una) ||
	    (esk->ca_state == ESTP_CA_LOSS && !esk->retransmits)) {
		esk->prior_ssthresh = estp_current_ssthresh(esk);
		esk->prior_cwnd = esk->snd_cwnd;
		estp_undo_mark(sk);
		esk->snd_ssthresh = esk->ca_ops->ssthresh(sk);
		estp_ca_event(sk, ESTP_CA_EVENT_LOSS);
	}
	esk->snd_cwnd = 1;
	esk->snd_cwnd_cnt = 0;
	esk->retrans_out = 0;
	esk->lost_out = 0;
	if (!esk->sack_ok)
		esk->sacked_out = 0;
	esk->dupacks = 0;
	/* What the peer SACKed it holds: only the rest goes again. */
	skb_queue_walk(&sk->sk_write_queue, skb) {
		if (skb == esk->send_head)
			break;
		ESTP_SKB_CB(skb)->sacked &= ~ESTP_CB_RETRANS;
		if (ESTP_SKB_CB(skb)->sacked & ESTP_CB_SACKED)
			continue;
		ESTP_SKB_CB(skb)->sacked |= ESTP_CB_LOST;
		esk->lost_out++;
	}
	esk->high_seq = esk->snd_nxt;
	esk->in_recovery = 1;
	esk->tlp_high_seq = 0;
	estp_ecn_queue_cwr(esk);
	estp_set_ca_state(sk, ESTP_CA_LOSS);
}

/*
 * An acceptable ACK (tcp_ack): the peer is alive, its window is news, and
 * an ACK past snd_una frees data, restarts the retransmit timer (RFC 6298
 * 5.3) and, after a timeout, sends the next hole at once.  The caller
 * checked that ack is not beyond snd_nxt.
 */
/* Mark the first unacknowledged segment lost, unless it is already. */
static void estp_mark_head_lost(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb = skb_peek(&sk->sk_write_queue);

	if (!skb || skb == esk->send_head || ESTP_SKB_CB(skb)->sacked & ESTP_CB_LOST)
		return;
	ESTP_SKB_CB(skb)->sacked |= ESTP_CB_LOST;
	esk->lost_out++;
}

/*
 * Arm the retransmit timer for an event before the RTO: RACK's reordering
 * window or a loss probe.  estp_reset_xmit_timer() re-arms it for the RTO
 * and clears early_timer.
 */
static void estp_arm_early_timer(struct sock *sk, u8 kind, unsigned long when)
{
	struct estp_sock *esk = estp_sk(sk);

	if (timer_pending(&esk->retransmit_timer) &&
	    !time_before(when, esk->retransmit_timer.expires))
		return;
	esk->early_timer = kind;
	sk_reset_timer(sk, &esk->retransmit_timer, when);
}

/*
 * RACK's reordering window (RFC 8985 6.2, tcp_rack_reo_wnd): none before
 * any reordering was seen, in recovery or once the dupACK threshold is
 * reached; else a quarter of the least RTT for each step D-SACKs added
 * (estp_rack_update_reo_wnd()), at most an SRTT.
 */
static u32 estp_rack_reo_wnd(const struct sock *sk)
{
	const struct estp_sock *esk = estp_sk(sk);
	u32 min_rtt = minmax_get(&esk->rtt_min);	/* ~0U: no sample yet */

	if (!esk->reord_seen && (esk->ca_state >= ESTP_CA_RECOVERY ||
				 esk->sacked_out >= esk->reordering))
		return 0;
	return min_t(u64, (u64)(min_rtt >> 2) * esk->reo_wnd_steps, esk->srtt_us >> 3);
}

/*
 * D-SACKs after reordering say RACK resent too soon: widen its window by a
 * step, at most once a round trip (no segment sent since the last step
 * was delivered yet), and keep it for 16 recoveries; then back to one step
 * (tcp_rack_update_reo_wnd).
 */
static void estp_rack_update_reo_wnd(struct sock *sk, const struct estp_ack_state *st)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!st->last_tx_us)
		return;
	if (st->last_tx_us < esk->reo_wnd_stamp_us)
		esk->rack_dsack_seen = 0;
	if (esk->rack_dsack_seen) {
		esk->reo_wnd_steps = min_t(u32, U8_MAX, esk->reo_wnd_steps + 1);
		esk->rack_dsack_seen = 0;
		esk->reo_wnd_stamp_us = estp_clock_us();
		esk->reo_wnd_persist = ESTP_RACK_RECOVERY_THRESH;
	} else if (!esk->reo_wnd_persist) {
		esk->reo_wnd_steps = 1;
	}
}

/*
 * RACK's loss detection (RFC 8985 6.2, tcp_rack_detect_loss): a segment
 * sent before one the peer has, and older than that one's RTT plus a
 * quarter SRTT of reordering, is lost; a resend that is lost too is
 * found the same way, which three duplicate ACKs never find.
 */
static void estp_rack_mark_lost(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 reo_wnd = estp_rack_reo_wnd(sk);
	u64 now = estp_clock_us(), wait_us = U64_MAX;
	struct sk_buff *skb;

	if (!esk->rack_xmit_us)
		return;
	skb_queue_walk(&sk->sk_write_queue, skb) {
		struct estp_skb_cb *cb = ESTP_SKB_CB(skb);

		u64 deadline;

		if (skb == esk->send_head)
			break;
		/* Resent segments go out of order: look at every one. */
		if (cb->tx_us > esk->rack_xmit_us ||
		    (cb->tx_us == esk->rack_xmit_us &&
		     !estp_before(cb->end_seq, esk->rack_end_seq)))
			continue;
		if (cb->sacked & (ESTP_CB_SACKED | ESTP_CB_LOST))
			continue;
		deadline = cb->tx_us + esk->rack_rtt_us + reo_wnd;
		if (now < deadline) {
			wait_us = min(wait_us, deadline - now);
			continue;
		}
		if (cb->sacked & ESTP_CB_RETRANS)
			esk->retrans_out--;
		cb->sacked &= ~ESTP_CB_RETRANS;
		cb->sacked |= ESTP_CB_LOST;
		esk->lost_out++;
	}
	/*
	 * A segment still inside the window is lost if nothing comes before
	 * the window closes: the retransmit timer wakes then, RACK's
	 * reordering timer (tcp_rack_reo_timeout).
	 */
	if (wait_us != U64_MAX)
		estp_arm_early_timer(sk, ESTP_EARLY_REO, jiffies +
				     max_t(unsigned long, usecs_to_jiffies(wait_us), 1));
}

/*
 * Whether a SACK block may be used (tcp_is_sackblock_valid): within what
 * was sent, or for a D-SACK below @una (snd_una after this ACK), about
 * this episode's data.
 */
static bool estp_sack_block_valid(const struct estp_sock *esk, bool dsack,
				  u32 una, u32 start, u32 end)
{
	if (estp_after(end, esk->snd_nxt) || !estp_before(start, end))
		return false;
	if (!estp_before(start, una))
		return true;
	if (!dsack || !esk->undo_marker || estp_after(end, una))
		return false;
	if (!estp_before(start, esk->undo_marker))
		return true;
	if (!estp_after(end, esk->undo_marker))
		return false;
	return !estp_before(start, end - esk->max_window);
}

/*
 * A D-SACK (RFC 2883 4, tcp_check_dsack): the first block lies below the
 * ACK, or within the second block.  It reports a segment that arrived
 * twice; one of this episode's resends, if below snd_una, was not needed.
 * One reporting more than was ever resent is ignored (tcp_dsack_seen).
 */
static bool estp_check_dsack(struct sock *sk, const struct estp_options_received *opt,
			     u32 ack)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 start = get_unaligned_be32(opt->sack_ptr);
	u32 end = get_unaligned_be32(opt->sack_ptr + 4);
	u32 segs = 1;

	if (estp_before(start, ack)) {
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_DSACKRECV);
	} else if (opt->num_sacks > 1 &&
		   !estp_after(end, get_unaligned_be32(opt->sack_ptr + 12)) &&
		   !estp_before(start, get_unaligned_be32(opt->sack_ptr + 8))) {
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_DSACKOFORECV);
	} else {
		return false;
	}
	if (end == start || end - start > esk->max_window) {
		segs = 0;
	} else {
		if (end - start > esk->mss_cache)
			segs = DIV_ROUND_UP(end - start, esk->mss_cache);
		esk->dsack_dups += segs;
		if (esk->dsack_dups > esk->total_retrans)
			segs = 0;
	}
	if (!segs) {
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_DSACKIGNOREDDUBIOUS);
		return false;
	}
	/*
	 * Reordering may have made RACK resend this: widen its window
	 * (estp_rack_update_reo_wnd()); not for a loss probe's duplicate,
	 * which a timer sent, not RACK.
	 */
	if (esk->reord_seen && !(end - start <= esk->mss_cache && esk->tlp_high_seq &&
				 esk->tlp_high_seq == end))
		esk->rack_dsack_seen = 1;
	/* Below snd_una the segments are gone: count them blindly. */
	if (esk->undo_marker && esk->undo_retrans > 0 &&
	    !estp_after(end, esk->snd_una) && estp_after(end, esk->undo_marker))
		esk->undo_retrans = max_t(int, 0, esk->undo_retrans - segs);
	return true;
}

/*
 * Mark what the peer's SACK blocks cover (tcp_sacktag_write_queue): a
 * SACKed segment leaves the network, is no longer lost, and is never sent
 * again.  A D-SACK of a resent segment counts towards undo; blocks
 * outside what is in flight are ignored.
 */
static void estp_sacktag(struct sock *sk, const struct estp_options_received *opt,
			 u32 ack, struct estp_ack_state *st)
{
	struct estp_sock *esk = estp_sk(sk);
	bool dup = estp_check_dsack(sk, opt, ack);
	/* The blocks are judged against the snd_una this ACK makes, as TCP's are. */
	u32 una = estp_after(ack, esk->snd_una) ? ack : esk->snd_una;
	int i;

	/* The probe's resend came as well as the original: nothing was lost. */
	if (dup && esk->tlp_high_seq && esk->tlp_retrans &&
	    get_unaligned_be32(opt->sack_ptr + 4) == esk->tlp_high_seq &&
	    esk->tlp_high_seq - get_unaligned_be32(opt->sack_ptr) <= esk->mss_cache)
		st->flag |= ESTP_AF_DSACK_TLP;

	for (i = 0; i < opt->num_sacks; i++) {
		u32 start = get_unaligned_be32(opt->sack_ptr + 8 * i);
		u32 end = get_unaligned_be32(opt->sack_ptr + 8 * i + 4);
		bool dsack = dup && !i;
		struct sk_buff *skb;

		if (!estp_sack_block_valid(esk, dsack, una, start, end)) {
			if (dsack)
				ESTP_INC_STATS(sock_net(sk), esk->undo_marker ?
					       ESTP_MIB_DSACKIGNOREDOLD :
					       ESTP_MIB_DSACKIGNOREDNOUNDO);
			continue;
		}
		if (!estp_after(end, una))
			continue;	/* a D-SACK estp_check_dsack() counted */
		skb_queue_walk(&sk->sk_write_queue, skb) {
			struct estp_skb_cb *cb = ESTP_SKB_CB(skb);

			if (skb == esk->send_head || estp_after(cb->end_seq, end))
				break;
			if (estp_before(cb->seq, start))
				continue;
			if (dsack && cb->sacked & ESTP_CB_EVER_RETRANS &&
			    esk->undo_marker && esk->undo_retrans > 0 &&
			    estp_after(cb->end_seq, esk->undo_marker))
				esk->undo_retrans--;
			if (cb->sacked & ESTP_CB_SACKED)
				continue;
			if (!(cb->sacked & ESTP_CB_EVER_RETRANS) &&
			    !estp_after(cb->end_seq, esk->high_seq))
				st->flag |= ESTP_AF_ORIG_ACKED;
			if (cb->sacked & ESTP_CB_LOST)
				esk->lost_out--;
			if (cb->sacked & ESTP_CB_RETRANS)
				esk->retrans_out--;
			estp_rack_advance(esk, cb, st);
			if (!(cb->sacked & ESTP_CB_EVER_RETRANS) &&
			    estp_before(cb->seq, st->prior_fack) && estp_before(cb->seq, st->reord))
				st->reord = cb->seq;
			if (!estp_before(cb->end_seq, estp_fack(esk)))
				esk->fack = cb->end_seq;
			cb->sacked &= ~(ESTP_CB_LOST | ESTP_CB_RETRANS);
			cb->sacked |= ESTP_CB_SACKED;
			esk->sacked_out++;
			st->sacked++;
			st->flag |= ESTP_AF_DATA_SACKED;
			esk->delivered++;
		}
	}
}

/*
 * Loss detected by ACKs: three duplicate ACKs, or with SACK the scoreboard
 * (RFC 6675 5).  The first unacknowledged segment is taken for lost; the
 * algorithm sets the threshold the window comes down to, proportionally
 * as ACKs arrive (PRR, estp_cwnd_reduction()), and the caller sends the
 * resend (RFC 5681 3.2, NewReno's RFC 6582; tcp_enter_recovery).
 */
static void estp_enter_recovery(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	estp_undo_mark(sk);
	/*
	 * After an ECE the window is coming down already, and that reduction
	 * is not undone (tcp_enter_recovery).
	 */
	if (esk->ca_state < ESTP_CA_CWR) {
		esk->prior_ssthresh = estp_current_ssthresh(esk);
		estp_init_cwnd_reduction(sk);
	}
	/* Without SACK the dupACKs counted in sacked_out (estp_dupack()). */
	if (!esk->sack_ok)
		estp_mark_head_lost(sk);
	esk->high_seq = esk->snd_nxt;
	esk->in_recovery = 1;
	estp_set_ca_state(sk, ESTP_CA_RECOVERY);
	ESTP_INC_STATS(sock_net(sk), esk->sack_ok ? ESTP_MIB_SACKRECOVERY :
		       ESTP_MIB_RENORECOVERY);
}

/*
 * Proportional Rate Reduction (RFC 6937, tcp_cwnd_reduction): in
 * Recovery, of each @delivered segments the ACK reports, send
 * ssthresh/prior_cwnd as many while the flight is above ssthresh, and
 * with slow start's growth (at most up to ssthresh) once it is below.
 * The first call lets the fast retransmit go.
 */
static void estp_cwnd_reduction(struct sock *sk, u32 delivered, u32 newly_lost,
				bool una_advanced)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 in_flight = estp_packets_in_flight(esk);
	int delta = (int)esk->snd_ssthresh - (int)in_flight;
	int sndcnt;

	if (!delivered || !esk->prior_cwnd)
		return;
	esk->prr_delivered += delivered;
	if (delta < 0) {
		u64 dividend = (u64)esk->snd_ssthresh * esk->prr_delivered +
			       esk->prior_cwnd - 1;

		sndcnt = (int)div_u64(dividend, esk->prior_cwnd) - (int)esk->prr_out;
	} else {
		sndcnt = max_t(int, esk->prr_delivered - esk->prr_out, delivered);
		if (una_advanced && !newly_lost)
			sndcnt++;
		sndcnt = min(delta, sndcnt);
	}
	sndcnt = max(sndcnt, esk->prr_out ? 0 : 1);
	esk->snd_cwnd = max_t(int, in_flight + sndcnt, 1);
}

/* An ACK that acknowledges nothing new, carries nothing, keeps the window. */
static void estp_dupack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	esk->dupacks = min_t(u32, esk->dupacks + 1, U8_MAX);
	/* The scoreboard counts instead; in Loss, estp_process_loss(). */
	if (esk->sack_ok || esk->ca_state == ESTP_CA_LOSS)
		return;
	/*
	 * TCP's Reno emulation (tcp_add_reno_sack): another segment left
	 * the network, which makes room for one more, new data in Disorder
	 * too (RFC 3042's limited transmit); the third starts recovery.
	 */
	if (esk->sacked_out + max(esk->lost_out, 1U) < esk->packets_out)
		esk->sacked_out++;
	if (esk->ca_state == ESTP_CA_RECOVERY)
		return;
	if (esk->sacked_out >= esk->reordering)
		estp_enter_recovery(sk);
	else if (esk->sacked_out)
		estp_set_ca_state(sk, ESTP_CA_DISORDER);
}

/*
 * With SACK (tcp_fastretrans_alert's part): Disorder while anything is
 * SACKed, Recovery once RACK finds a loss; in Recovery and Loss, newly
 * lost segments are marked for estp_xmit_retransmit_queue().
 */
static void estp_sack_state(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!esk->sack_ok)
		return;
	estp_rack_mark_lost(sk);
	if (esk->ca_state <= ESTP_CA_CWR) {
		/* As TCP with RACK: only a loss RACK proved starts recovery. */
		if (esk->lost_out) {
			estp_enter_recovery(sk);
			return;
		}
		if (esk->ca_state != ESTP_CA_CWR)
			estp_set_ca_state(sk, esk->sacked_out ? ESTP_CA_DISORDER : ESTP_CA_OPEN);
	}
}

/**
 * estp_schedule_loss_probe - arm a tail loss probe (RFC 8985 7.2,
 *	tcp_schedule_loss_probe)
 * @sk: the socket, locked or owned by the receive path
 *
 * In Open state with SACK, if nothing acknowledges the flight within two
 * SRTTs (more for a lone segment the peer may hold for its delayed ACK),
 * at the latest when the RTO would fire, one segment is sent to draw an
 * ACK whose SACK shows what is lost, so that recovery starts without the
 * RTO's collapse of the window.
 */
void estp_schedule_loss_probe(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 srtt = esk->srtt_us >> 3, out = esk->packets_out;
	unsigned long pto, when;

	/* None before a Fast Open child's handshake ends (tcp_schedule_loss_probe). */
	if (rcu_access_pointer(esk->fastopen_rsk))
		return;
	/* Our FIN in flight counts as a segment, as TCP's FIN skb does. */
	if (esk->fin_sent && esk->snd_una != esk->snd_nxt)
		out++;
	if (!esk->sack_ok || !out || esk->ca_state != ESTP_CA_OPEN ||
	    esk->tlp_high_seq || !srtt || esk->early_timer)
		return;
	pto = usecs_to_jiffies(2 * srtt);
	if (out == 1)
		pto = max(pto, usecs_to_jiffies(srtt + srtt / 2) + ESTP_DELACK_MAX);
	pto = max_t(unsigned long, pto, msecs_to_jiffies(10));
	when = jiffies + pto;
	/* Not after the RTO: the probe goes in its place (tcp_rto_delta_us()). */
	if (timer_pending(&esk->retransmit_timer) &&
	    time_before(esk->retransmit_timer.expires, when))
		when = esk->retransmit_timer.expires;
	esk->early_timer = ESTP_EARLY_TLP;
	sk_reset_timer(sk, &esk->retransmit_timer, when);
}

/*
 * What an ACK says of the loss probe out (tcp_process_tlp_ack): new data
 * acknowledged, or a resend that a D-SACK or a pure duplicate ACK shows
 * came with its original, lost nothing; an ACK past a resend without that
 * means the probe repaired a loss, which costs a window reduction, at
 * once and without undo, as a recovery would have (LossProbeRecovery).
 */
static void estp_process_tlp_ack(struct sock *sk, u32 ack, int flag)
{
	struct estp_sock *esk = estp_sk(sk);

	if (estp_before(ack, esk->tlp_high_seq))
		return;
	if (!esk->tlp_retrans || flag & ESTP_AF_DSACK_TLP) {
		esk->tlp_high_seq = 0;
	} else if (estp_after(ack, esk->tlp_high_seq)) {
		/* A reduction that ends at once, as TCP's. */
		estp_init_cwnd_reduction(sk);
		estp_set_ca_state(sk, ESTP_CA_CWR);
		estp_end_cwnd_reduction(sk);
		estp_try_keep_open(sk);
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_LOSSPROBERECOVERY);
	} else if (flag & ESTP_AF_DUPACK && !(flag & ESTP_AF_DATA_SACKED)) {
		esk->tlp_high_seq = 0;
	}
}

/*
 * The probe (tcp_send_loss_probe): a new segment if the peer's window
 * takes one, even past the congestion window, else the last one again.
 */
static void estp_send_loss_probe(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb = esk->send_head;
	u32 nxt = esk->snd_nxt;

	if (esk->tlp_high_seq)
		return;		/* one probe a flight */
	/* Set first: the push below must not schedule a probe of the probe. */
	esk->tlp_high_seq = nxt;
	if (skb && !estp_after(ESTP_SKB_CB(skb)->end_seq, esk->snd_una + esk->snd_wnd)) {
		esk->snd_cwnd++;
		__estp_push(sk, ESTP_NAGLE_PUSH);
		esk->snd_cwnd--;
	}
	esk->tlp_retrans = esk->snd_nxt == nxt;
	if (esk->snd_nxt == nxt && esk->fin_sent) {
		/* The FIN went last: it alone goes again. */
		estp_retransmit_fin(sk);
	} else if (esk->snd_nxt == nxt) {
		skb = skb ? skb->prev : skb_peek_tail(&sk->sk_write_queue);
		if (!skb || skb == (struct sk_buff *)&sk->sk_write_queue ||
		    ESTP_SKB_CB(skb)->sacked & ESTP_CB_SACKED ||
		    estp_retransmit_skb(sk, skb)) {
			esk->tlp_high_seq = 0;
			return;
		}
	}
	esk->tlp_high_seq = esk->snd_nxt;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_LOSSPROBES);
}

/**
 * estp_early_timeout - the retransmit timer fired before the RTO
 *	(tcp_rack_reo_timeout, tcp_send_loss_probe)
 * @sk: the socket, owned by the timer
 *
 * Return: true when it was armed for RACK's reordering window or a loss
 * probe and that is done (the timer armed for the RTO again); false for
 * a real timeout, and when nothing is in flight: then the timer probes
 * the window for data that waits.
 */
bool estp_early_timeout(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u8 kind = esk->early_timer, state;

	esk->early_timer = 0;
	/*
	 * With nothing in flight, data may still wait for the window: the
	 * timer is the persist timer now, and its probe must not be lost.
	 */
	if (!kind || esk->snd_una == esk->snd_nxt)
		return false;
	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT | TCPF_FIN_WAIT1 |
				     TCPF_CLOSING | TCPF_LAST_ACK)))
		return true;
	estp_reset_xmit_timer(sk);
	if (kind == ESTP_EARLY_TLP) {
		estp_send_loss_probe(sk);
		return true;
	}
	state = esk->ca_state;
	estp_sack_state(sk);
	/* Recovery without an ACK: PRR lets the first resend go (tcp_rack_reo_timeout). */
	if (state != ESTP_CA_RECOVERY && esk->ca_state == ESTP_CA_RECOVERY)
		estp_cwnd_reduction(sk, 1, 0, false);
	estp_xmit_retransmit_queue(sk);
	estp_push(sk);
	return true;
}

/* An RTT from the echoed timestamp, when Karn forbids the send time's. */
static void estp_ts_rtt(struct sock *sk, const struct estp_options_received *opt,
			struct estp_ack_sample *sample)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 delta;

	if (sample->rtt_us >= 0 || !esk->tstamp_ok || !opt->saw_tstamp ||
	    !opt->tsecr || !sample->pkts_acked)
		return;
	delta = estp_ts_clock(esk) - opt->tsecr;
	if ((s32)delta < 0)
		return;
	sample->rtt_us = min_t(u64, (u64)delta * USEC_PER_MSEC, S32_MAX);
	estp_rtt_sample(sk, sample->rtt_us);
}

/*
 * In Loss after an RTO (tcp_process_loss): undo when the timeout proves
 * spurious, by timestamps, D-SACKs or F-RTO (RFC 5682 3.1 with SACK's
 * enhancement): after the first ACK that advances snd_una new data goes
 * instead of resends (step 2.b), and an ACK of a segment never resent
 * then shows the originals were only late (step 3.b); a duplicate ACK or
 * a SACK of the new data shows the loss was real (step 3.a).
 */
static int estp_process_loss(struct sock *sk, int flag,
			     const struct estp_options_received *opt)
{
	struct estp_sock *esk = estp_sk(sk);
	bool recovered = !estp_before(esk->snd_una, esk->high_seq);

	if (flag & ESTP_AF_UNA_ADVANCED && estp_try_undo_loss(sk, opt, false))
		return ESTP_REXMIT_NONE;
	if (esk->frto) {
		if (flag & ESTP_AF_ORIG_ACKED && estp_try_undo_loss(sk, opt, true))
			return ESTP_REXMIT_NONE;
		if (estp_after(esk->snd_nxt, esk->high_seq)) {
			if (flag & (ESTP_AF_DATA_SACKED | ESTP_AF_DUPACK))
				esk->frto = 0;
		} else if (flag & ESTP_AF_UNA_ADVANCED && !recovered) {
			esk->high_seq = esk->snd_nxt;
			if (esk->send_head &&
			    estp_after(esk->snd_una + esk->snd_wnd, esk->snd_nxt))
				return ESTP_REXMIT_NEW;
			esk->frto = 0;
		}
	}
	if (recovered) {
		estp_try_undo_recovery(sk, opt);
		if (!esk->sack_ok)
			esk->sacked_out = 0;
		estp_try_keep_open(sk);
		return ESTP_REXMIT_NONE;
	}
	if (!esk->sack_ok) {
		/* A dupACK after F-RTO's new data: one more left the network. */
		if (estp_after(esk->snd_nxt, esk->high_seq) && flag & ESTP_AF_DUPACK) {
			if (esk->sacked_out + esk->lost_out < esk->packets_out)
				esk->sacked_out++;
		} else if (flag & ESTP_AF_UNA_ADVANCED) {
			esk->sacked_out = 0;
		}
	}
	return ESTP_REXMIT_LOST;
}

/*
 * The loss state machine on an ACK (tcp_fastretrans_alert): the end of
 * an episode, undo, NewReno's partial ACKs, F-RTO, and RACK's marks.
 * Return: ESTP_REXMIT_*, what the ACK may send.
 */
static int estp_fastretrans(struct sock *sk, int flag, u32 prior_snd_una, bool reneged,
			    const struct estp_options_received *opt)
{
	struct estp_sock *esk = estp_sk(sk);
	int rexmit = ESTP_REXMIT_LOST;

	if (esk->ca_state == ESTP_CA_RECOVERY &&
	    !estp_before(esk->snd_una, esk->high_seq)) {
		/* RFC 6582 3.2 (6): a full ACK ends recovery at ssthresh. */
		if (!esk->sack_ok)
			esk->sacked_out = 0;
		if (!estp_try_undo_recovery(sk, opt))
			esk->snd_cwnd = max(esk->snd_ssthresh, 2U);
		esk->in_recovery = 0;
		estp_set_ca_state(sk, esk->sacked_out ? ESTP_CA_DISORDER : ESTP_CA_OPEN);
	}
	switch (esk->ca_state) {
	case ESTP_CA_RECOVERY:
		if (flag & ESTP_AF_UNA_ADVANCED) {
			if (estp_try_undo_partial(sk, opt, prior_snd_una))
				return ESTP_REXMIT_NONE;
			/*
			 * RFC 6582 3.2 (5): a partial ACK, the next hole goes
			 * now (tcp_newreno_mark_lost); with SACK, RACK decides.
			 */
			if (!esk->sack_ok)
				estp_mark_head_lost(sk);
		}
		if (estp_try_undo_dsack(sk))
			estp_try_keep_open(sk);
		break;
	case ESTP_CA_LOSS:
		rexmit = estp_process_loss(sk, flag, opt);
		break;
	default:
		/* Reno: an ACK of the hole ends what dupACKs counted. */
		if (!esk->sack_ok && flag & ESTP_AF_UNA_ADVANCED) {
			esk->sacked_out = 0;
			if (esk->ca_state == ESTP_CA_DISORDER)
				estp_set_ca_state(sk, ESTP_CA_OPEN);
		}
		if (esk->ca_state <= ESTP_CA_DISORDER)
			estp_try_undo_dsack(sk);
		break;
	}
	if (!reneged)
		estp_sack_state(sk);
	return rexmit;
}

static void estp_ack(struct sock *sk, u32 ack, u32 seq, u32 window, bool pure,
		     const struct estp_options_received *opt)
{
	struct estp_sock *esk = estp_sk(sk);
	struct estp_ack_sample sample = { .rtt_us = -1 };
	struct estp_ack_state st = { };
	u32 old_wnd = esk->snd_wnd, prior_sacked, prior_lost, delivered;
	u32 prior_snd_una = esk->snd_una;
	bool reneged = false;
	int rexmit;

	esk->rcv_tstamp = jiffies;
	esk->probes_out = 0;
	if (estp_before(ack, esk->snd_una))
		return;
	prior_sacked = esk->sacked_out;
	st.prior_fack = estp_fack(esk);
	st.reord = esk->snd_nxt;
	if (esk->sack_ok && opt->num_sacks)
		estp_sacktag(sk, opt, ack, &st);
	/* RFC 9293 3.10.7.4: an older segment must not undo a newer window. */
	if (estp_after(ack, esk->snd_una) || estp_after(seq, esk->snd_wl1) ||
	    (seq == esk->snd_wl1 && window > esk->snd_wnd)) {
		esk->snd_wl1 = seq;
		esk->snd_wnd = window;
		esk->max_window = max(esk->max_window, esk->snd_wnd);
	}
	if (!estp_after(ack, esk->snd_una)) {
		/* RFC 5681 2: a duplicate ACK only while data is out. */
		if (pure && window == old_wnd && esk->packets_out) {
			st.flag |= ESTP_AF_DUPACK;
			estp_dupack(sk);
		} else {
			esk->dupacks = 0;
		}
		goto recovery;
	}
	st.flag |= ESTP_AF_UNA_ADVANCED;
	estp_snd_una_update(esk, ack);
	/* snd_una starts at our SYN: any advance acknowledges it. */
	esk->syn_unacked = 0;
	esk->dupacks = 0;
	/* New data acknowledged: the backoff ends (RFC 6298 5.7's spirit). */
	esk->retransmits = 0;
	esk->retrans_stamp = 0;
	sample.in_flight = estp_packets_in_flight(esk);
	esk->prior_in_flight = sample.in_flight;
	estp_clean_rtx_queue(sk, ack, &sample, &st);
	estp_ts_rtt(sk, opt, &sample);
	/* The first segment acked was the hole; the rest had been counted. */
	if (sample.pkts_acked && !esk->sack_ok) {
		st.acked_sacked = min_t(u32, sample.pkts_acked - 1, esk->sacked_out);
		esk->sacked_out -= st.acked_sacked;
	}
	if (sample.pkts_acked && esk->ca_ops->pkts_acked)
		esk->ca_ops->pkts_acked(sk, &sample);
	/*
	 * The ACK stops at a segment the peer SACKed: it reneged, dropping
	 * what it held.  Nothing is resent on this ACK; a timeout after half
	 * an SRTT, unless an ACK comes to say otherwise, resends all it
	 * dropped (tcp_check_sack_reneging).
	 */
	reneged = esk->sack_ok && estp_head_sacked(sk);
	/* RFC 6298 5.2, 5.3; estp_push() arms it for the persist case. */
	if (esk->snd_una == esk->snd_nxt) {
		esk->early_timer = 0;
		sk_stop_timer(sk, &esk->retransmit_timer);
	} else if (reneged) {
		estp_reset_xmit_timer(sk);
		sk_reset_timer(sk, &esk->retransmit_timer,
			       jiffies + max(usecs_to_jiffies(esk->srtt_us >> 4),
					     msecs_to_jiffies(10)));
	} else {
		estp_reset_xmit_timer(sk);
	}
recovery:
	if (esk->sack_ok && estp_before(st.reord, st.prior_fack))
		estp_check_sack_reordering(sk, st.reord, estp_fack(esk), false);
	estp_rack_update_reo_wnd(sk, &st);
	if (esk->tlp_high_seq)
		estp_process_tlp_ack(sk, ack, st.flag);
	/* Segments that left the network: newly acked or SACKed (PRR's). */
	if (esk->sack_ok)
		delivered = sample.pkts_acked - st.acked_sacked + st.sacked;
	else if (st.flag & ESTP_AF_UNA_ADVANCED)
		delivered = max_t(int, sample.pkts_acked - prior_sacked, 1);
	else
		delivered = !!(st.flag & ESTP_AF_DUPACK);
	prior_lost = esk->lost_out;
	if (st.flag & ESTP_AF_UNA_ADVANCED)
		estp_cwr_check_exit(sk);
	rexmit = estp_fastretrans(sk, st.flag, prior_snd_una, reneged, opt);
	/* PRR takes the window down in CWR as in Recovery (tcp_cong_control). */
	if (esk->ca_state == ESTP_CA_RECOVERY || esk->ca_state == ESTP_CA_CWR)
		estp_cwnd_reduction(sk, delivered, esk->lost_out > prior_lost ?
				    esk->lost_out - prior_lost : 0,
				    st.flag & ESTP_AF_UNA_ADVANCED);
	else if (sample.pkts_acked && delivered)
		/*
		 * Slow start also runs in Loss, as TCP's tcp_cong_control(),
		 * by what newly left the network: not again for what a SACK
		 * had reported.
		 */
		esk->ca_ops->cong_avoid(sk, ack, delivered);
	if (rexmit == ESTP_REXMIT_NEW) {
		/* F-RTO step 2.b: new data, not resends, if any can go. */
		__estp_push(sk, ESTP_NAGLE_PUSH);
		if (!estp_after(esk->snd_nxt, esk->high_seq)) {
			esk->frto = 0;
			rexmit = ESTP_REXMIT_LOST;
		}
	}
	if (rexmit == ESTP_REXMIT_LOST && !reneged)
		estp_xmit_retransmit_queue(sk);
	if (!(st.flag & ESTP_AF_UNA_ADVANCED)) {
		estp_push(sk);
		return;
	}
	estp_schedule_loss_probe(sk);
	estp_push(sk);
	if (sk->sk_socket && !sock_flag(sk, SOCK_DEAD)) {
		estp_new_space(sk);
		sk->sk_write_space(sk);
	}
}

/*
 * What the bytes of this skb cost the receive buffer: the ratio the
 * advertised window is scaled by (estp_rcv_space()).
 */
static void estp_rcv_ratio_update(struct sock *sk, const struct sk_buff *skb, u32 len)
{
	u32 ratio = div_u64((u64)len << 8, skb->truesize);

	estp_sk(sk)->rcv_ratio = clamp_t(u32, ratio, 16, 255);
}

/* Charge a received segment's data to the socket, header pulled off. */
static bool estp_rcv_own(struct sock *sk, struct sk_buff *skb, u32 pull)
{
	if (!pskb_pull(skb, pull))
		return false;
	skb_get(skb);
	/* The route is the receive path's, borrowed under RCU. */
	skb_dst_drop(skb);
	skb_set_owner_r(skb, sk);
	return true;
}

/*
 * A duplicate of data we have (tcp_dsack_set): its range goes in a D-SACK
 * block, in front of the SACK blocks, on the ACK that answers it
 * (RFC 2883 4).
 */
static void estp_dsack_set(struct sock *sk, u32 seq, u32 end)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!esk->sack_ok || !READ_ONCE(estp_pernet(sock_net(sk))->dsack))
		return;
	ESTP_INC_STATS(sock_net(sk), estp_before(seq, esk->rcv_nxt) ?
		       ESTP_MIB_DSACKOLDSENT : ESTP_MIB_DSACKOFOSENT);
	esk->dsack = 1;
	esk->duplicate_sack[0][0] = seq;
	esk->duplicate_sack[0][1] = end;
}

/*
 * Answer a segment we do not take (tcp_send_dupack): data we had already
 * means our ACK was lost or late, so ACK at once for a while, with a
 * D-SACK of what came twice.
 */
static void estp_send_dupack(struct sock *sk, u32 seq, u32 end)
{
	struct estp_sock *esk = estp_sk(sk);

	if (end != seq && estp_before(seq, esk->rcv_nxt)) {
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_DELAYEDACKLOST);
		estp_enter_quickack_mode(sk);
		estp_dsack_set(sk, seq, estp_after(end, esk->rcv_nxt) ? esk->rcv_nxt : end);
	}
	estp_send_ack(sk);
}

/* Whether two ranges overlap or touch. */
static bool estp_sack_joins(const u32 *sp, u32 seq, u32 end)
{
	return !estp_after(seq, sp[1]) && !estp_after(sp[0], end);
}

/*
 * A segment joined the out-of-order queue (tcp_sack_new_ofo_skb): the
 * block holding it moves to the front, RFC 2018 4's "most recent first",
 * swallowing any block it now meets; the others keep their order, and a
 * fifth falls off.
 */
static void estp_sack_new_ofo(struct estp_sock *esk, u32 seq, u32 end)
{
	u32 (*sp)[2] = esk->sack_blocks;
	int i, n = esk->num_sacks;

	for (i = 0; i < n; i++) {
		if (!estp_sack_joins(sp[i], seq, end))
			continue;
		if (estp_before(sp[i][0], seq))
			seq = sp[i][0];
		if (estp_after(sp[i][1], end))
			end = sp[i][1];
		/* Take it out; it comes back at the front. */
		memmove(&sp[i], &sp[i + 1], (n - i - 1) * sizeof(sp[0]));
		n--;
		i = -1;		/* the grown block may meet an earlier one */
	}
	n = min(n, ESTP_MAX_SACKS - 1);
	memmove(&sp[1], &sp[0], n * sizeof(sp[0]));
	sp[0][0] = seq;
	sp[0][1] = end;
	esk->num_sacks = n + 1;
}

/* rcv_nxt moved: blocks it covers are no news (tcp_sack_remove). */
static void estp_sack_remove(struct estp_sock *esk)
{
	u32 (*sp)[2] = esk->sack_blocks;
	int i = 0, n = esk->num_sacks;

	if (RB_EMPTY_ROOT(&esk->out_of_order_queue)) {
		esk->num_sacks = 0;
		return;
	}
	while (i < n) {
		if (!estp_after(sp[i][1], esk->rcv_nxt)) {
			memmove(&sp[i], &sp[i + 1], (n - i - 1) * sizeof(sp[0]));
			n--;
			continue;
		}
		i++;
	}
	esk->num_sacks = n;
}

/*
 * Out-of-order data goes, the highest first, to make room for a segment
 * at @seq (tcp_prune_ofo_queue): at least an eighth of the buffer at a
 * time, so that a flood of tiny segments cannot make this a loop per
 * segment, and never data before @seq, so that the hole can fill.  The
 * peer sends it again; the SACK blocks that reported it are dropped (a
 * renege, RFC 2018 8, which the sender detects).
 *
 * Return: true when something went.
 */
static bool estp_prune_ofo_queue(struct sock *sk, u32 seq)
{
	struct estp_sock *esk = estp_sk(sk);
	int goal = READ_ONCE(sk->sk_rcvbuf) >> 3;
	struct rb_node *p = rb_last(&esk->out_of_order_queue), *prev;
	bool pruned = false;

	while (p) {
		struct sk_buff *skb = rb_to_skb(p);

		if (estp_after(seq, ESTP_SKB_CB(skb)->seq))
			break;
		pruned = true;
		prev = rb_prev(p);
		rb_erase(p, &esk->out_of_order_queue);
		goal -= skb->truesize;
		kfree_skb(skb);
		if (!prev || goal <= 0) {
			if (atomic_read(&sk->sk_rmem_alloc) <= READ_ONCE(sk->sk_rcvbuf) &&
			    !sk_under_memory_pressure(sk))
				break;
			goal = READ_ONCE(sk->sk_rcvbuf) >> 3;
		}
		p = prev;
	}
	if (!pruned)
		return false;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OFOPRUNED);
	esk->num_sacks = 0;
	sk_mem_reclaim(sk);
	return true;
}

/* The next skb of a receive queue (@list) or of the out-of-order tree. */
static struct sk_buff *estp_skb_next(struct sk_buff *skb, struct sk_buff_head *list)
{
	if (list)
		return skb_queue_is_last(list, skb) ? NULL : skb->next;
	return skb_rb_next(skb);
}

/* Insert @skb in the out-of-order tree by its sequence (tcp_rbtree_insert). */
static void estp_rbtree_insert(struct rb_root *root, struct sk_buff *skb)
{
	struct rb_node **p = &root->rb_node, *parent = NULL;

	while (*p) {
		parent = *p;
		if (estp_before(ESTP_SKB_CB(skb)->seq, ESTP_SKB_CB(rb_to_skb(parent))->seq))
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	rb_link_node(&skb->rbnode, parent, p);
	rb_insert_color(&skb->rbnode, root);
}

/* @skb's bytes went into a compact copy: free it (tcp_collapse_one). */
static struct sk_buff *estp_collapse_one(struct sock *sk, struct sk_buff *skb,
					 struct sk_buff_head *list, struct rb_root *root)
{
	struct sk_buff *next = estp_skb_next(skb, list);

	if (list)
		__skb_unlink(skb, list);
	else
		rb_erase(&skb->rbnode, root);
	kfree_skb(skb);
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RCVCOLLAPSED);
	return next;
}

/*
 * Copy the bytes [@start, @end) of the contiguous skbs from @head to
 * @tail (NULL: the end) of @list, or of the out-of-order tree @root, into
 * skbs with no slack, freeing those copied (tcp_collapse): tiny segments
 * each cost a whole buffer's truesize.  It starts at the first skb that
 * wastes room, holds bytes before @start or overlaps the next; an skb
 * with a FIN ends it.
 */
static void estp_collapse(struct sock *sk, struct sk_buff_head *list, struct rb_root *root,
			  struct sk_buff *head, struct sk_buff *tail, u32 start, u32 end)
{
	u8 ratio = estp_sk(sk)->rcv_ratio;
	struct sk_buff *skb = head, *n;
	struct sk_buff_head tmp;
	bool end_of_skbs;

restart:
	for (end_of_skbs = true; skb && skb != tail; skb = n) {
		const struct estp_skb_cb *cb = ESTP_SKB_CB(skb);

		n = estp_skb_next(skb, list);
		/* Nothing new in it: it goes (possible in the out-of-order tree). */
		if (!estp_before(start, cb->end_seq)) {
			skb = estp_collapse_one(sk, skb, list, root);
			if (!skb)
				break;
			goto restart;
		}
		if (!cb->fin && ((((u64)skb->truesize * ratio) >> 8) > skb->len ||
				 estp_before(cb->seq, start))) {
			end_of_skbs = false;
			break;
		}
		if (n && n != tail && cb->end_seq != ESTP_SKB_CB(n)->seq) {
			end_of_skbs = false;
			break;
		}
		start = cb->end_seq;
	}
	if (end_of_skbs || ESTP_SKB_CB(skb)->fin)
		return;

	__skb_queue_head_init(&tmp);
	while (estp_before(start, end)) {
		int copy = min_t(int, SKB_MAX_ORDER(0, 0), end - start);
		struct sk_buff *nskb = alloc_skb(copy, GFP_ATOMIC);
		struct estp_skb_cb *ncb;

		if (!nskb)
			break;
		ncb = ESTP_SKB_CB(nskb);
		memset(ncb, 0, sizeof(*ncb));
		ncb->seq = start;
		ncb->end_seq = start;
		if (list)
			__skb_queue_before(list, skb, nskb);
		else
			__skb_queue_tail(&tmp, nskb);	/* into the tree below */
		skb_set_owner_r(nskb, sk);

		while (copy > 0) {
			int offset = start - ESTP_SKB_CB(skb)->seq;
			int size = ESTP_SKB_CB(skb)->end_seq - start;

			if (WARN_ON_ONCE(offset < 0))
				goto end;
			if (size > 0) {
				size = min(copy, size);
				if (WARN_ON_ONCE(skb_copy_bits(skb, offset,
							       skb_put(nskb, size), size)))
					goto end;
				ncb->end_seq += size;
				copy -= size;
				start += size;
			}
			if (!estp_before(start, ESTP_SKB_CB(skb)->end_seq)) {
				skb = estp_collapse_one(sk, skb, list, root);
				if (!skb || skb == tail || ESTP_SKB_CB(skb)->fin)
					goto end;
			}
		}
	}
end:
	while ((skb = __skb_dequeue(&tmp)))
		estp_rbtree_insert(root, skb);
}

/*
 * Collapse each contiguous range of the out-of-order tree
 * (tcp_collapse_ofo_queue), but for ranges of one small skb, which gain
 * nothing, once they add up to an eighth of the buffer.
 */
static void estp_collapse_ofo_queue(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct sk_buff *skb = skb_rb_first(&esk->out_of_order_queue), *head;
	u32 range_truesize, sum_tiny = 0, start, end;

	while (skb) {
		start = ESTP_SKB_CB(skb)->seq;
		end = ESTP_SKB_CB(skb)->end_seq;
		range_truesize = skb->truesize;
		for (head = skb;;) {
			skb = skb_rb_next(skb);
			if (!skb || estp_after(ESTP_SKB_CB(skb)->seq, end) ||
			    estp_before(ESTP_SKB_CB(skb)->end_seq, start))
				break;
			range_truesize += skb->truesize;
			if (estp_before(ESTP_SKB_CB(skb)->seq, start))
				start = ESTP_SKB_CB(skb)->seq;
			if (estp_after(ESTP_SKB_CB(skb)->end_seq, end))
				end = ESTP_SKB_CB(skb)->end_seq;
		}
		if (range_truesize != head->truesize ||
		    end - start >= SKB_WITH_OVERHEAD(PAGE_SIZE)) {
			estp_collapse(sk, NULL, &esk->out_of_order_queue, head, skb, start, end);
		} else {
			sum_tiny += range_truesize;
			if (sum_tiny > READ_ONCE(sk->sk_rcvbuf) >> 3)
				return;
		}
	}
}

/*
 * The buffer is full (tcp_clamp_window): no more quick ACKs, and the
 * window stops growing; a buffer the user did not size grows to what is
 * queued, while the protocol has memory to spare.
 */
static void estp_clamp_window(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	int rmem2 = READ_ONCE(estp_pernet(sock_net(sk))->rmem[2]);

	esk->ack_quick = 0;
	if (sk->sk_rcvbuf < rmem2 && !(sk->sk_userlocks & SOCK_RCVBUF_LOCK) &&
	    !sk_under_memory_pressure(sk) &&
	    sk_memory_allocated(sk) < sk_prot_mem_limits(sk, 0))
		WRITE_ONCE(sk->sk_rcvbuf, min(atomic_read(&sk->sk_rmem_alloc), rmem2));
	if (atomic_read(&sk->sk_rmem_alloc) > sk->sk_rcvbuf)
		esk->rcv_ssthresh = min(esk->window_clamp, 2U * esk->mss_cache);
}

/*
 * The receive buffer is over its size (tcp_prune_queue): collapse both
 * queues first, then drop out-of-order data for a segment at @seq.
 *
 * Return: 0 when the buffer is back within its size, -1 when the segment
 * must be dropped until the reader makes room.
 */
static int estp_prune_queue(struct sock *sk, u32 seq)
{
	struct estp_sock *esk = estp_sk(sk);

	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_PRUNECALLED);
	if (atomic_read(&sk->sk_rmem_alloc) >= sk->sk_rcvbuf)
		estp_clamp_window(sk);
	else if (sk_under_memory_pressure(sk))
		esk->rcv_ssthresh = min(esk->rcv_ssthresh, 4U * esk->mss_cache);
	if (atomic_read(&sk->sk_rmem_alloc) <= sk->sk_rcvbuf)
		return 0;
	estp_collapse_ofo_queue(sk);
	if (!skb_queue_empty(&sk->sk_receive_queue))
		estp_collapse(sk, &sk->sk_receive_queue, NULL,
			      skb_peek(&sk->sk_receive_queue), NULL,
			      esk->copied_seq, esk->rcv_nxt);
	if (atomic_read(&sk->sk_rmem_alloc) <= sk->sk_rcvbuf)
		return 0;
	/* Collapsing was not enough: destructive from here. */
	estp_prune_ofo_queue(sk, seq);
	if (atomic_read(&sk->sk_rmem_alloc) <= sk->sk_rcvbuf)
		return 0;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RCVPRUNED);
	return -1;
}

/*
 * Room for @skb, whose data starts at @seq (tcp_try_rmem_schedule): a
 * buffer not over its size takes it whole, as TCP's; otherwise the queues
 * are pruned first.
 *
 * Return: true when @skb fits.
 */
static bool estp_try_rmem_schedule(struct sock *sk, struct sk_buff *skb, u32 seq)
{
	if (atomic_read(&sk->sk_rmem_alloc) <= READ_ONCE(sk->sk_rcvbuf) &&
	    sk_rmem_schedule(sk, skb, skb->truesize))
		return true;
	if (estp_prune_queue(sk, seq) < 0)
		return false;
	while (!sk_rmem_schedule(sk, skb, skb->truesize))
		if (!estp_prune_ofo_queue(sk, seq))
			return false;
	return true;
}

/*
 * Data past a hole waits in the out-of-order queue, sorted by sequence
 * (tcp_data_queue_ofo); one that an earlier segment there covers is a
 * duplicate.  Overlaps are trimmed when the queue drains.
 */
static void estp_data_queue_ofo(struct sock *sk, struct sk_buff *skb, u32 seq,
				u32 len, bool fin)
{
	struct estp_sock *esk = estp_sk(sk);
	struct rb_node **p = &esk->out_of_order_queue.rb_node, *parent = NULL;
	struct estp_skb_cb *cb;

	estp_ecn_check_ce(sk, skb);
	if (!estp_try_rmem_schedule(sk, skb, seq)) {
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OFODROP);
		return;
	}
	/* Duplicates included, as tcp_data_queue_ofo() counts them. */
	esk->rcv_ooopack++;
	ESTP_INC_STATS(sock_net(sk), ESTP_MIB_OFOQUEUE);
	while (*p) {
		const struct estp_skb_cb *q = ESTP_SKB_CB(rb_to_skb(*p));

		parent = *p;
		if (estp_before(seq, q->seq)) {
			p = &parent->rb_left;
		} else {
			if (!estp_after(seq + len, q->end_seq) && (!fin || q->fin)) {
				/* All of it is queued already. */
				estp_dsack_set(sk, seq, seq + len);
				return;
			}
			p = &parent->rb_right;
		}
	}
	estp_rcv_ratio_update(sk, skb, len);
	if (!estp_rcv_own(sk, skb, estp_hdr(skb)->doff * 4))
		return;
	cb = ESTP_SKB_CB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->seq = seq;
	cb->end_seq = seq + len;
	cb->fin = fin;
	rb_link_node(&skb->rbnode, parent, p);
	rb_insert_color(&skb->rbnode, &esk->out_of_order_queue);
	estp_sack_new_ofo(esk, seq, seq + len);
}

/*
 * The hole before the out-of-order queue filled: move what is now in
 * order to the receive queue (tcp_ofo_queue).  Return: true when a FIN
 * came with it, which estp_fin() took.
 */
static bool estp_ofo_queue(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct rb_node *p;

	while ((p = rb_first(&esk->out_of_order_queue))) {
		struct sk_buff *skb = rb_to_skb(p);
		struct estp_skb_cb *cb = ESTP_SKB_CB(skb);
		bool fin = cb->fin;

		if (estp_after(cb->seq, esk->rcv_nxt))
			break;
		rb_erase(p, &esk->out_of_order_queue);
		if (estp_after(cb->end_seq, esk->rcv_nxt) &&
		    pskb_pull(skb, esk->rcv_nxt - cb->seq)) {
			cb->seq = esk->rcv_nxt;
			__skb_queue_tail(&sk->sk_receive_queue, skb);
			estp_rcv_nxt_update(esk, cb->end_seq);
		} else {
			/* Old by now, or no memory to trim it: it comes again. */
			fin = fin && cb->end_seq == esk->rcv_nxt;
			kfree_skb(skb);
		}
		if (fin) {
			/* Nothing can follow the FIN. */
			estp_ofo_purge(sk);
			estp_fin(sk);
			return true;
		}
	}
	return false;
}

/* ACK the next few segments at once (tcp_incr_quickack). */
static void estp_incr_quickack(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 quick = esk->rcv_wnd / (2 * max_t(u32, esk->rcv_mss, 1));

	quick = clamp_t(u32, quick, 2, ESTP_MAX_QUICKACKS);
	if (quick > esk->ack_quick)
		esk->ack_quick = quick;
}

/**
 * estp_enter_quickack_mode - ACK every segment for a while
 *	(tcp_enter_quickack_mode)
 * @sk: the socket, locked or owned by the receive path
 *
 * At the start of a transfer, so the sender's window opens fast, and when
 * segments come out of order, so that its recovery starts fast.
 */
void estp_enter_quickack_mode(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	estp_incr_quickack(sk);
	esk->ack_pingpong = 0;
	esk->ack_ato = ESTP_ATO_MIN;
}

/*
 * Let the window grow towards the buffer (tcp_grow_window): two of the
 * peer's segments at a time, as data shows the buffer holds them.
 */
static void estp_grow_window(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 room = max(estp_rcv_space(sk), 0);

	if (esk->rcv_ssthresh >= esk->window_clamp || esk->rcv_ssthresh >= room ||
	    sk_under_memory_pressure(sk))
		return;
	esk->rcv_ssthresh = min3(esk->rcv_ssthresh + 2 * esk->rcv_mss,
				 esk->window_clamp, room);
}

/*
 * In-order data arrived (tcp_event_data_recv, tcp_measure_rcv_mss): learn
 * the peer's segment size, and the ACK timeout from the gaps between
 * segments.  A short segment, or a full one with PSH, likely ends a write
 * of the sender, which may wait for the ACK: a reader that empties the
 * queue then sends it at once (estp_cleanup_rbuf()).
 */
static void estp_event_data_recv(struct sock *sk, u32 len, bool psh)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 now = jiffies;

	if (len >= esk->rcv_mss)
		esk->rcv_mss = min_t(u32, len, U16_MAX);
	if (len < esk->rcv_mss || psh)
		esk->ack_pending |= ESTP_ACK_PUSHED;
	if (!esk->ack_ato) {
		/* The first data: ACK quickly while the sender's window opens. */
		estp_incr_quickack(sk);
		esk->ack_ato = ESTP_ATO_MIN;
	} else {
		u32 m = now - esk->ack_lrcvtime;

		if (m <= ESTP_ATO_MIN / 2) {
			esk->ack_ato = (esk->ack_ato >> 1) + ESTP_ATO_MIN / 2;
		} else if (m < esk->ack_ato) {
			esk->ack_ato = min((esk->ack_ato >> 1) + m, esk->rto);
		} else if (m > esk->rto) {
			/* A long pause: the sender restarts its window. */
			estp_incr_quickack(sk);
		}
	}
	esk->ack_lrcvtime = now;
	estp_grow_window(sk);
}

/*
 * The receiver's RTT, from the TSecr of a full segment (tcp_rcv_rtt_measure_ts),
 * for autotuning: a sender-only connection has no samples of its own.
 */
static void estp_rcv_rtt_measure(struct sock *sk, const struct estp_options_received *opt,
				 u32 len)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 delta, us;

	if (!esk->tstamp_ok || !opt->saw_tstamp || !opt->tsecr || len < esk->rcv_mss)
		return;
	delta = estp_ts_clock(esk) - opt->tsecr;
	if ((s32)delta < 0 || delta > 60 * MSEC_PER_SEC)
		return;
	us = max_t(u32, delta * USEC_PER_MSEC, 1);
	/* A moving average, 1/8 of each new sample. */
	if (esk->rcv_rtt_us)
		us = esk->rcv_rtt_us - (esk->rcv_rtt_us >> 3) + (us >> 3);
	esk->rcv_rtt_us = us;
}

/*
 * Whether the owed ACK goes now or later (__tcp_ack_snd_check): now for
 * more than a full segment not yet acknowledged when the window can
 * follow, in quick-ACK mode, for a filled hole, and while segments are
 * out of order; otherwise the delayed-ACK timer sends it.
 */
static void estp_ack_snd_check(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);

	if (!(esk->ack_pending & ESTP_ACK_SCHED))
		return;
	if ((esk->rcv_nxt - esk->rcv_wup > esk->rcv_mss &&
	     __estp_select_window(sk) >= esk->rcv_wnd) ||
	    (esk->ack_quick && !esk->ack_pingpong) ||
	    esk->ack_pending & ESTP_ACK_NOW ||
	    !RB_EMPTY_ROOT(&esk->out_of_order_queue)) {
		estp_send_ack(sk);
		return;
	}
	estp_send_delayed_ack(sk);
}

/*
 * In-order data (tcp_data_queue): the new bytes join the receive queue,
 * and whatever the out-of-order queue now continues.  The skb stays the
 * caller's; the queue takes its own reference.
 *
 * Return: 0 when dropped, 1 when queued, 2 when queued and a FIN from the
 * out-of-order queue was taken with it (and ACKed, or its ACK delayed).
 */
static int estp_data_queue(struct sock *sk, struct sk_buff *skb, u32 seq, u32 len,
			   bool psh)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 skip = esk->rcv_nxt - seq;
	bool fin = false;

	/*
	 * An empty receive queue always takes the segment, charged by force
	 * as tcp_data_queue() does: otherwise per-cpu reserves, or
	 * out-of-order data that cannot be pruned, could stall a reader for
	 * good.
	 */
	if (skb_queue_empty(&sk->sk_receive_queue)) {
		estp_forced_mem_schedule(sk, skb->truesize);
	} else if (!estp_try_rmem_schedule(sk, skb, seq)) {
		/* No room: the sender sends it again later. */
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_RCVQDROP);
		return 0;
	}
	/* Its head came before (seq < rcv_nxt < end): report that part. */
	if (skip)
		estp_dsack_set(sk, seq, esk->rcv_nxt);
	estp_rcv_ratio_update(sk, skb, len);
	if (!estp_rcv_own(sk, skb, estp_hdr(skb)->doff * 4 + skip))
		return 0;
	ESTP_SKB_CB(skb)->seq = esk->rcv_nxt;
	ESTP_SKB_CB(skb)->end_seq = seq + len;
	__skb_queue_tail(&sk->sk_receive_queue, skb);
	estp_rcv_nxt_update(esk, seq + len);
	esk->ack_pending |= ESTP_ACK_SCHED;
	estp_event_data_recv(sk, len, psh);
	estp_ecn_check_ce(sk, skb);
	if (!RB_EMPTY_ROOT(&esk->out_of_order_queue)) {
		fin = estp_ofo_queue(sk);
		estp_sack_remove(esk);
		/* RFC 5681 4.2: a filled hole is ACKed at once. */
		if (RB_EMPTY_ROOT(&esk->out_of_order_queue))
			esk->ack_pending |= ESTP_ACK_NOW;
	}
	/* Readers wake at SO_RCVLOWAT, as tcp_data_ready() has them. */
	if (!sock_flag(sk, SOCK_DEAD) && estp_epollin_ready(sk, READ_ONCE(sk->sk_rcvlowat)))
		sk->sk_data_ready(sk);
	return fin ? 2 : 1;
}

/*
 * A pure duplicate ACK that changes no window and is only a little older
 * than TS.Recent (tcp_disordered_ack): ACKs reordered on the way, which
 * PAWS must not drop, or the sender would miss the dupACKs and SACKs.
 */
static bool estp_disordered_ack(const struct sock *sk, const struct estphdr *th,
				u32 len, const struct estp_options_received *opt)
{
	const struct estp_sock *esk = estp_sk(sk);
	u32 seq = ntohl(th->seq), win = (u32)ntohs(th->window) << esk->snd_wscale;

	return th->ack && !len && !th->fin && !th->syn && seq == esk->rcv_nxt &&
	       ntohl(th->ack_seq) == esk->snd_una &&
	       !estp_after(seq, esk->snd_wl1) &&
	       !(seq == esk->snd_wl1 && (win > esk->snd_wnd || !win)) &&
	       (s32)(esk->ts_recent - opt->tsval) <= (s32)jiffies_to_msecs(esk->rto);
}

/*
 * PAWS (RFC 7323 5, tcp_paws_discard): a TSval older than the one we
 * echo by more than a clock tick is an old duplicate, unless ts_recent is
 * over 24 days old or the segment is a reordered duplicate ACK.
 */
static bool estp_paws_discard(const struct sock *sk, const struct estphdr *th, u32 len,
			      const struct estp_options_received *opt)
{
	const struct estp_sock *esk = estp_sk(sk);

	if ((s32)(esk->ts_recent - opt->tsval) <= ESTP_PAWS_WINDOW)
		return false;
	if (estp_seconds() - esk->ts_recent_stamp >= ESTP_PAWS_24DAYS)
		return false;
	return !estp_disordered_ack(sk, th, len, opt);
}

/* What is left of the window we last advertised (tcp_receive_window). */
static u32 estp_receive_window(const struct estp_sock *esk)
{
	s32 win = (s32)(esk->rcv_wup + esk->rcv_wnd - esk->rcv_nxt);

	return max(win, 0);
}

/*
 * tcp_oow_rate_limited(): data or a FIN without SYN is no ACK loop's, and
 * is always answered; anything else at most once per invalid_ratelimit.
 */
static bool estp_oow_ack_limited(struct sock *sk, const struct estphdr *th, u32 len)
{
	if ((len || th->fin) && !th->syn)
		return false;
	return estp_oow_rate_limited(sock_net(sk), &estp_sk(sk)->last_oow_ack_time);
}

/*
 * tcp_replace_ts_recent(): the TSval to echo is of the segment at our
 * window's left edge (RFC 7323 4.3), and never goes back (tcp_paws_check).
 * Only for a segment known to be acceptable, ACK field included.
 */
static void estp_replace_ts_recent(struct estp_sock *esk, u32 seq,
				   const struct estp_options_received *opt)
{
	if (!esk->tstamp_ok || !opt->saw_tstamp || estp_after(seq, esk->rcv_wup))
		return;
	if ((s32)(esk->ts_recent - opt->tsval) > 0 && esk->ts_recent &&
	    estp_seconds() - esk->ts_recent_stamp < ESTP_PAWS_24DAYS)
		return;
	esk->ts_recent = opt->tsval;
	esk->ts_recent_stamp = estp_seconds();
}

/*
 * A segment with URG (tcp_check_urg).  Linux's pointer, as BSD's, is the
 * byte after the urgent one (RFC 6093 3: TCP's never took RFC 1122's).
 * A pointer already read past, behind rcv_nxt, or not past the one we
 * hold is old; a new one signals the owner (SIGURG, F_SETOWN) and waits
 * for its byte.
 */
static void estp_check_urg(struct sock *sk, const struct estphdr *th)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 ptr = ntohs(th->urg_ptr);

	if (ptr)
		ptr--;
	ptr += ntohl(th->seq);
	if (estp_after(esk->copied_seq, ptr) || estp_before(ptr, esk->rcv_nxt))
		return;
	if (esk->urg_data && !estp_after(ptr, esk->urg_seq))
		return;
	sk_send_sigurg(sk);
	/*
	 * The reader stands at an urgent byte taken out of band that was
	 * not read yet: it is skipped now, as a new mark replaces it, and
	 * the head skb goes once that byte was its last.
	 */
	if (esk->urg_seq == esk->copied_seq && esk->urg_data &&
	    !sock_flag(sk, SOCK_URGINLINE) && esk->copied_seq != esk->rcv_nxt) {
		struct sk_buff *skb = skb_peek(&sk->sk_receive_queue);

		WRITE_ONCE(esk->copied_seq, esk->copied_seq + 1);
		if (skb && !estp_before(esk->copied_seq, ESTP_SKB_CB(skb)->end_seq)) {
			__skb_unlink(skb, &sk->sk_receive_queue);
			consume_skb(skb);
		}
	}
	WRITE_ONCE(esk->urg_data, ESTP_URG_NOTYET);
	WRITE_ONCE(esk->urg_seq, ptr);
}

/*
 * The URG bit, step 6 of RFC 9293 3.10.7.4 (tcp_urg): a new pointer, and
 * the urgent byte once a segment carries it, held for recv(MSG_OOB) and
 * announced to poll() (EPOLLPRI).  @skb starts at the header.
 */
static void estp_urg(struct sock *sk, struct sk_buff *skb, const struct estphdr *th)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 ptr;
	u8 byte;

	if (unlikely(th->urg))
		estp_check_urg(sk, th);
	if (likely(esk->urg_data != ESTP_URG_NOTYET))
		return;
	ptr = esk->urg_seq - ntohl(th->seq) + th->doff * 4 - th->syn;
	if (ptr >= skb->len || skb_copy_bits(skb, ptr, &byte, 1))
		return;
	WRITE_ONCE(esk->urg_data, ESTP_URG_VALID | byte);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_data_ready(sk);
}

/*
 * The final ACK of a Fast Open child, in SYN_RECV or after a close() in
 * FIN_WAIT1 (tcp_rcv_synrecv_state_fastopen): its request goes, the
 * SYN-ACK's timeouts end, and the timer now guards the data it sent.
 */
static void estp_fastopen_synrecv_done(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct request_sock *req;

	req = rcu_dereference_protected(esk->fastopen_rsk, 1);
	/* An RTT from a SYN-ACK sent once (tcp_synack_rtt_meas). */
	if (!esk->srtt_us && !req->num_retrans && estp_rsk(req)->snt_synack_us)
		estp_rtt_sample(sk, estp_clock_us() - estp_rsk(req)->snt_synack_us);
	estp_rto_episode_end(esk);
	esk->retransmits = 0;
	esk->retrans_stamp = 0;
	estp_reqsk_fastopen_remove(sk, req, false);
	sk_stop_timer(sk, &esk->retransmit_timer);
	if (esk->snd_una != esk->snd_nxt)
		estp_reset_xmit_timer(sk);
}

/**
 * estp_fastopen_add_skb - the data of a SYN (a Fast Open child's) or of a
 *	SYN-ACK (an active open's) goes to the receive queue
 *	(tcp_fastopen_add_skb)
 * @sk: the socket, locked, rcv_nxt just past the SYN
 * @skb: the SYN or SYN-ACK; a clone of it is queued
 */
void estp_fastopen_add_skb(struct sock *sk, struct sk_buff *skb)
{
	struct estp_sock *esk = estp_sk(sk);
	const struct estphdr *th = estp_hdr(skb);
	u32 seq = ntohl(th->seq) + 1, len = skb->len - th->doff * 4;

	if (!len || seq != esk->rcv_nxt)
		return;
	skb = skb_clone(skb, GFP_ATOMIC);
	if (!skb)
		return;
	/* The SYN was counted with the child; now with its data (tcp_segs_in). */
	esk->segs_in = 0;
	estp_segs_in(esk, skb);
	if (!pskb_pull(skb, th->doff * 4)) {
		kfree_skb(skb);
		return;
	}
	skb_dst_drop(skb);
	estp_forced_mem_schedule(sk, skb->truesize);
	skb_set_owner_r(skb, sk);
	memset(ESTP_SKB_CB(skb), 0, sizeof(struct estp_skb_cb));
	ESTP_SKB_CB(skb)->seq = seq;
	ESTP_SKB_CB(skb)->end_seq = seq + len;
	__skb_queue_tail(&sk->sk_receive_queue, skb);
	estp_rcv_nxt_update(esk, seq + len);
	esk->syn_data_acked = 1;
}

/*
 * Synchronized states (RFC 9293 3.10.7.4): RSTs and SYNs by RFC 5961, then
 * the sequence check, the ACK, the data and the FIN.  Data past a hole
 * waits in the out-of-order queue.
 */
static int __estp_rcv_synchronized(struct sock *sk, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct estp_sock *esk = estp_sk(sk);
	u32 seq = ntohl(th->seq), ack;
	u32 len = skb->len - th->doff * 4;
	bool fin = th->fin, ofo = false, synced = false, old_ack, fastopen;
	struct estp_options_received opt;
	int queued;

	estp_parse_options(th, &opt);
	if (esk->tstamp_ok && opt.saw_tstamp && estp_paws_discard(sk, th, len, &opt) &&
	    !th->rst) {
		/*
		 * An old pure ACK, below rcv_nxt, is common and answers
		 * nothing: dropped silently where TCP does so (6.14 on).
		 */
		if (ESTP_PAWS_OLD_ACK_SILENT && th->ack && !len && !th->fin && !th->syn &&
		    estp_before(seq, esk->rcv_nxt)) {
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_PAWSOLDACK);
			return 0;
		}
		/* RFC 7323 5.3: an old duplicate; ACK what we have. */
		ESTP_INC_STATS(sock_net(sk), ESTP_MIB_PAWSESTAB);
		if (!estp_oow_ack_limited(sk, th, len))
			estp_send_dupack(sk, seq, seq + len);
		return 0;
	}
	if (th->rst) {
		/* RFC 5961 3.2: only an exact RST resets; others get a challenge. */
		if (seq == esk->rcv_nxt) {
			estp_reset(sk);
		} else if (seq - esk->rcv_nxt <= estp_receive_window(esk)) {
			/* Before any data of an active Fast Open: a blackhole's sign. */
			if (esk->syn_fastopen && !esk->data_segs_in &&
			    sk->sk_state == TCP_ESTABLISHED)
				estp_fastopen_active_disable(sk);
			estp_send_challenge_ack(sk);
		}
		return 0;
	}
	if (th->syn) {
		/*
		 * The peer's SYN-ACK after a simultaneous open completes it;
		 * any other SYN gets a challenge ACK (RFC 5961 4.2).
		 */
		if (!(sk->sk_state == TCP_SYN_RECV && th->ack &&
		      seq + 1 == esk->rcv_nxt && ntohl(th->ack_seq) == esk->snd_nxt)) {
			estp_send_challenge_ack(sk);
			return 0;
		}
		seq++;
	}
	if (!th->ack)
		return 0;
	/*
	 * RFC 9293 3.10.7.4's acceptability, as tcp_sequence(): not wholly
	 * before where our last window started, not past the window we
	 * advertised.  An ACK on a retransmission, or on a segment past a
	 * hole, still counts: with data both ways, ignoring it stalls both.
	 */
	if (estp_before(seq + len + fin, esk->rcv_wup) ||
	    estp_after(seq, esk->rcv_nxt + estp_receive_window(esk))) {
		if (!estp_oow_ack_limited(sk, th, len))
			estp_send_dupack(sk, seq, seq + len + fin);
		return 0;
	}
	/*
	 * The ACK field before anything is taken from the segment, as
	 * tcp_ack(): RFC 5961 5.2 challenges an ACK older than the peer's
	 * largest window; an ACK of unsent data is dropped, silently when
	 * ESTABLISHED (tcp_rcv_established), else with a challenge ACK
	 * (tcp_rcv_state_process).  Either ends the segment: its data, FIN,
	 * window and TSval are a blind attacker's.
	 */
	ack = ntohl(th->ack_seq);
	fastopen = rcu_access_pointer(esk->fastopen_rsk);
	if (sk->sk_state == TCP_SYN_RECV) {
		/*
		 * The final ACK: of a passive open, or of a simultaneous one;
		 * a Fast Open child's may also ack data it sent since.
		 */
		if (fastopen ? estp_before(ack, esk->snd_una) || estp_after(ack, esk->snd_nxt) :
			       ack != esk->snd_nxt)
			return 1;
	} else if (estp_before(ack, esk->snd_una - esk->max_window)) {
		estp_send_challenge_ack(sk);
		return 0;
	} else if (estp_after(ack, esk->snd_nxt)) {
		if (sk->sk_state != TCP_ESTABLISHED)
			estp_send_challenge_ack(sk);
		return 0;
	}
	estp_replace_ts_recent(esk, ntohl(th->seq), &opt);
	if (len && estp_after(seq, esk->rcv_nxt))
		ofo = true;
	/* A Fast Open child closed before its final ACK: that ACK ends the handshake. */
	if (fastopen && sk->sk_state == TCP_FIN_WAIT1)
		estp_fastopen_synrecv_done(sk);
	if (sk->sk_state == TCP_SYN_RECV) {
		/* A Fast Open child's ACK of its data is estp_ack()'s. */
		if (!fastopen)
			estp_snd_una_update(esk, ack);
		esk->delivered++;	/* the SYN-ACK, as tcp_rcv_state_process() */
		esk->syn_unacked = 0;
		esk->snd_wnd = ntohs(th->window) << esk->snd_wscale;
		/* The segment size is held to half of it (estp_size_goal()). */
		esk->max_window = max(esk->max_window, esk->snd_wnd);
		esk->snd_wl1 = seq;
		if (fastopen) {
			estp_fastopen_synrecv_done(sk);
			estp_set_state(sk, TCP_ESTABLISHED);
		} else {
			estp_clear_xmit_timers(sk);
			estp_set_state(sk, TCP_ESTABLISHED);
			estp_init_transfer(sk);
		}
		if (!sock_flag(sk, SOCK_DEAD)) {
			sk->sk_state_change(sk);
			sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
		}
		synced = true;
	}
	/*
	 * ECE of an ACK that is not old, with something in flight
	 * (tcp_ack()'s FLAG_ECE and tcp_try_to_open()), reduces the window
	 * before the ACK could grow it; its CWR stops our ECE.
	 */
	old_ack = estp_before(ack, esk->snd_una);
	if (!old_ack && esk->snd_una != esk->snd_nxt && estp_ecn_rcv_ecn_echo(esk, th))
		estp_enter_cwr(sk);
	estp_ack(sk, ack, seq, (u32)ntohs(th->window) << esk->snd_wscale, !len && !fin,
		 &opt);
	if (!old_ack)
		estp_ecn_accept_cwr(sk, th, len);
	/*
	 * A shutdown(SHUT_WR) in SYN_RECV, after a simultaneous open, sent
	 * nothing: its FIN goes now (tcp_rcv_state_process()).
	 */
	if (synced && sk->sk_shutdown & SEND_SHUTDOWN)
		estp_shutdown(sk, SEND_SHUTDOWN);
	if (esk->fin_sent && esk->snd_una == esk->snd_nxt &&
	    (1 << sk->sk_state) & (TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK)) {
		int ret = estp_fin_acked(sk, seq, len, fin);

		if (ret >= 0)
			return ret;
	}
	estp_urg(sk, skb, th);
	/*
	 * After the peer's FIN nothing is new, not a second FIN either
	 * (tcp_rcv_state_process): it would move rcv_nxt past the stream.
	 */
	if ((1 << sk->sk_state) & (TCPF_CLOSE_WAIT | TCPF_CLOSING | TCPF_LAST_ACK) &&
	    !estp_before(seq, esk->rcv_nxt))
		return 0;
	/* Only the ACK that answers a duplicate carries its D-SACK. */
	if (len)
		esk->dsack = 0;
	if (len && !estp_after(seq + len, esk->rcv_nxt)) {
		estp_dsack_set(sk, seq, seq + len);
		if (!(fin && seq + len == esk->rcv_nxt)) {
			/* All of it came before: the sender resends; ACK at once. */
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_DELAYEDACKLOST);
			estp_enter_quickack_mode(sk);
			estp_send_ack(sk);
			return 0;
		}
		/* Old data with a new FIN: the FIN is taken (tcp_data_queue()). */
		seq += len;
		len = 0;
	}
	if (len) {
		if (!((1 << sk->sk_state) &
		      (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)))
			/* After the peer's FIN: nothing more can be in order. */
			return 0;
		if (sk->sk_shutdown & RCV_SHUTDOWN &&
		    (1 << sk->sk_state) & (TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)) {
			/* RFC 1122 4.2.2.13: data for a closed reader resets. */
			if (esk->syn_fastopen && fin)
				estp_fastopen_active_disable(sk);
			ESTP_INC_STATS(sock_net(sk), ESTP_MIB_ABORTONDATA);
			estp_reset(sk);
			return 1;
		}
		if (ofo) {
			estp_data_queue_ofo(sk, skb, seq, len, fin);
			/* At once: the sender counts these for fast retransmit. */
			estp_enter_quickack_mode(sk);
			estp_send_ack(sk);
			return 0;
		}
		estp_rcv_rtt_measure(sk, &opt, len);
		queued = estp_data_queue(sk, skb, seq, len, th->psh);
		if (!queued) {
			estp_send_ack(sk);
			return 0;
		}
		if (queued == 2)
			return 0;
	}
	if (fin && seq + len == esk->rcv_nxt) {
		estp_fin(sk);
		/* A bare FIN wakes readers as data does (tcp_data_ready(), SOCK_DONE). */
		if (!len && !sock_flag(sk, SOCK_DEAD))
			sk->sk_data_ready(sk);
	} else if (fin) {
		/* A FIN past a hole: it comes again. */
		estp_send_ack(sk);
	} else if (len) {
		estp_ack_snd_check(sk);
	}
	return 0;
}

static int estp_rcv_synchronized(struct sock *sk, struct sk_buff *skb)
{
	int state = sk->sk_state;
	int ret;

	if (state == TCP_ESTABLISHED)
		trace_estp_probe(sk, skb);
	ret = __estp_rcv_synchronized(sk, skb);

	/*
	 * An orphan this segment moved to FIN_WAIT2, kept whole for a FIN
	 * the segment did not deliver, or for a wait longer than TIME_WAIT.
	 * Not one already waiting whole: its timer stays.
	 */
	if (state == TCP_FIN_WAIT1 && sk->sk_state == TCP_FIN_WAIT2 &&
	    sock_flag(sk, SOCK_DEAD))
		estp_orphan_fin_wait2(sk);
	return ret;
}

/**
 * estp_rcv_state_process - the state switch (tcp_rcv_state_process)
 * @sk: the socket, locked or owned by the receive path
 * @skb: the segment, validated by estp_v4_rcv()
 *
 * Return: 1 when the caller must answer the segment with a RST, 0 otherwise.
 * The caller frees the skb.
 */
int estp_rcv_state_process(struct sock *sk, struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct request_sock *req;

	/* A Fast Open child in its handshake: its request's checks first. */
	req = rcu_dereference_protected(estp_sk(sk)->fastopen_rsk, 1);
	if (unlikely(req)) {
		WARN_ON_ONCE(sk->sk_state != TCP_SYN_RECV && sk->sk_state != TCP_FIN_WAIT1);
		if (estp_fastopen_check_req(sk, skb, req) >= 0)
			return 0;
	}

	switch (sk->sk_state) {
	case TCP_CLOSE:
		/*
		 * Dropped, as tcp_rcv_state_process() drops it: the sock
		 * closed while the segment waited for its lock (its minisock
		 * took its place, or an abort), and a RST would end a peer
		 * that the minisock still serves.
		 */
		return 0;
	case TCP_LISTEN:
		if (th->ack)
			return 1;
		if (th->syn && !th->rst)
			estp_sk(sk)->af_ops->conn_request(sk, skb);
		return 0;
	case TCP_SYN_SENT:
		return estp_rcv_synsent_state_process(sk, skb);
	}
	return estp_rcv_synchronized(sk, skb);
}

/**
 * estp_openreq_init - a request sock from the segment that opens it
 *	(tcp_openreq_init)
 * @req: the new request sock
 * @skb: the SYN, or a cookie's final ACK
 * @rcv_isn: the peer's ISN
 * @mss: the peer's MSS option, 0 if none
 */
void estp_openreq_init(struct request_sock *req, const struct sk_buff *skb,
		       u32 rcv_isn, u16 mss)
{
	struct estp_request_sock *ereq = estp_rsk(req);
	const struct estphdr *th = estp_hdr(skb);
	struct inet_request_sock *ireq = inet_rsk(req);
	int tsmode;

	ereq->ctl->init_req(req, skb);
	ireq->ir_num = ntohs(th->dest);
	ireq->ir_rmt_port = th->source;
	ereq->rcv_isn = rcv_isn;
	ereq->rcv_nxt = rcv_isn + 1;
	ereq->mss = mss;
	ireq->ecn_ok = 0;
	/* net.estp.timestamps = 2: TSval is the bare clock, as TCP's. */
	tsmode = READ_ONCE(estp_pernet(read_pnet(&ireq->ireq_net))->timestamps);
	ereq->ts_offset = tsmode == 1 ? get_random_u32() : 0;
}

/**
 * estp_openreq_options - what a SYN offered and the listener takes up
 *	(the options part of tcp_openreq_init)
 * @req: the request sock
 * @listener: the listener, for its netns's settings
 * @opt: the SYN's options
 */
void estp_openreq_options(struct request_sock *req, const struct sock *listener,
			  const struct estp_options_received *opt)
{
	const struct estp_net *en = estp_pernet(sock_net(listener));
	struct estp_request_sock *ereq = estp_rsk(req);

	ereq->tstamp_ok = opt->saw_tstamp && READ_ONCE(en->timestamps);
	ereq->ts_recent = ereq->tstamp_ok ? opt->tsval : 0;
	ereq->sack_ok = opt->sack_ok && READ_ONCE(en->sack);
	ereq->wscale_ok = opt->saw_wscale && READ_ONCE(en->window_scaling);
	ereq->snd_wscale = ereq->wscale_ok ? opt->wscale : 0;
}

/*
 * The half-open count is at the backlog: answer with a cookie, or drop
 * (tcp_syn_flood_action).  Logged once a listener, as TCP does.
 */
static bool estp_syn_flood_action(struct sock *listener)
{
	struct estp_accept_queue *queue = &estp_sk(listener)->accept_queue;
	int syncookies = READ_ONCE(estp_pernet(sock_net(listener))->syncookies);

	if (syncookies != 2 && !READ_ONCE(queue->synflood_warned) &&
	    !xchg(&queue->synflood_warned, true))
		net_info_ratelimited("estp: possible SYN flooding on port %u. %s.\n",
				     inet_sk(listener)->inet_num,
				     syncookies ? "Sending cookies" : "Dropping request");
	return syncookies;
}

/**
 * estp_conn_request - a SYN for a listener (tcp_conn_request)
 * @ctl: the family the SYN came in
 * @listener: the listener, not locked: listeners take SYNs locklessly
 * @skb: the SYN
 *
 * A full accept queue drops the SYN.  A half-open count at the backlog
 * (or net.estp.syncookies = 2) makes the SYN-ACK carry a SYN cookie and
 * keeps nothing, or drops the SYN with cookies off.  Otherwise a request
 * sock enters the established hash with its timer and the SYN-ACK goes out.
 *
 * Return: 0; the caller frees the skb.
 */
int estp_conn_request(const struct estp_ctl_ops *ctl, struct sock *listener,
		      struct sk_buff *skb)
{
	const struct estphdr *th = estp_hdr(skb);
	struct net *net = sock_net(listener);
	struct estp_fastopen_cookie foc = { .len = -1 };
	struct estp_options_received opt;
	struct estp_request_sock *ereq;
	struct sock *fastopen_sk;
	struct request_sock *req;
	bool want_cookie = false;

	/* Full only past the backlog, as inet_csk_reqsk_queue_is_full(). */
	if (READ_ONCE(estp_pernet(net)->syncookies) == 2 ||
	    atomic_read(&estp_sk(listener)->accept_queue.qlen) >
	    READ_ONCE(listener->sk_max_ack_backlog)) {
		/* A family without cookie hooks would drop the SYN. */
		want_cookie = estp_syn_flood_action(listener) && ctl->cookie_init_seq;
		if (!want_cookie)
			goto drop;
	}
	if (sk_acceptq_is_full(listener)) {
		ESTP_INC_STATS(net, ESTP_MIB_LISTENOVERFLOWS);
		goto drop;
	}
	req = estp_reqsk_alloc(listener, ctl);
	if (!req)
		goto drop;
	estp_parse_options(th, &opt);
	estp_openreq_init(req, skb, ntohl(th->seq), opt.mss);
	/* The LSM labels the request or refuses it (tcp_v4_route_req). */
	if (security_inet_conn_request(listener, skb, req)) {
		refcount_set(&req->rsk_refcnt, 1);
		estp_reqsk_put(req);
		goto drop;
	}
	ereq = estp_rsk(req);
	/*
	 * A cookie carries the other options in our TSval, which the final
	 * ACK echoes: without timestamps it keeps only the MSS, and the
	 * SYN-ACK offers no other option (tcp_conn_request()).
	 */
	if (!want_cookie || (opt.saw_tstamp && READ_ONCE(estp_pernet(net)->timestamps)))
		estp_openreq_options(req, listener, &opt);
	estp_ecn_create_request(req, skb, listener);
	if (want_cookie) {
		/* Everything the final ACK needs is in the SYN-ACK: keep nothing. */
		ereq->mss = ereq->mss ? : ESTP_MSS_DEFAULT;
		ereq->snt_isn = ctl->cookie_init_seq(listener, skb, &ereq->mss);
		ereq->cookie = true;
		if (!ereq->tstamp_ok)
			inet_rsk(req)->ecn_ok = 0;
		else if (READ_ONCE(estp_pernet(net)->timestamps) == 1)
			ereq->ts_offset = ctl->cookie_ts_offset(skb);
		refcount_set(&req->rsk_refcnt, 1);
		ctl->send_synack(listener, req, NULL);
		estp_reqsk_put(req);
		return 0;
	}
	ereq->snt_isn = ctl->init_seq(skb);
	if (opt.fo_len >= 0) {
		foc.len = opt.fo_len;
		foc.exp = opt.fo_exp;
		if (foc.len > 0)
			memcpy(foc.val, opt.fo_ptr, foc.len);
	}
	fastopen_sk = estp_try_fastopen(listener, skb, req, &foc);
	if (fastopen_sk) {
		/*
		 * The child took the SYN's data and is hashed, locked until
		 * its SYN-ACK is out.  The request's one reference is the
		 * accept queue's and the child's (estp_reqsk_fastopen_remove()).
		 */
		refcount_set(&req->rsk_refcnt, 1);
		ctl->send_synack(fastopen_sk, req, foc.len >= 0 ? &foc : NULL);
		__acquire(&fastopen_sk->sk_lock.slock);	/* for sparse: estp_csk_clone()'s */
		bh_unlock_sock(fastopen_sk);
		estp_csk_reqsk_queue_add(listener, req, fastopen_sk);
		return 0;
	}
	if (estp_reqsk_queue_hash_add(listener, req)) {
		estp_reqsk_put(req);
		goto drop;
	}
	/* A SYN-ACK lost here is sent again by the request's timer. */
	ctl->send_synack(listener, req, foc.len >= 0 ? &foc : NULL);
	/* The listener may have closed and purged while this was hashed. */
	if (inet_sk_state_load(listener) != TCP_LISTEN)
		estp_reqsk_queue_drop(listener, req);
	estp_reqsk_put(req);
	return 0;
drop:
	ESTP_INC_STATS(net, ESTP_MIB_LISTENDROPS);
	return 0;
}

/**
 * estp_rcv_space_adjust - receive buffer autotuning (tcp_rcv_space_adjust)
 * @sk: the socket, locked; called by recvmsg after it copied data
 */
void estp_rcv_space_adjust(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	u32 rtt = max(esk->rcv_rtt_us, esk->srtt_us >> 3);
	u64 now = estp_clock_us();
	u32 copied;

	if (!rtt || now - esk->rcvq_time_us < rtt)
		return;
	/* Bytes the application read in the last RTT. */
	copied = esk->copied_seq - esk->rcvq_seq;
	if (copied > esk->rcvq_space) {
		/*
		 * The sender may double its window in the next RTT: make room
		 * for twice what was read, and some segments more, within
		 * net.estp.rmem's maximum, unless the user fixed SO_RCVBUF.
		 */
		u64 rcvwin = ((u64)copied << 1) + 16 * (u64)esk->mss_cache;
		int rmax = READ_ONCE(estp_pernet(sock_net(sk))->rmem[2]);
		int rcvbuf = min_t(u64, div_u64(rcvwin << 8, esk->rcv_ratio), rmax);

		if (!(sk->sk_userlocks & SOCK_RCVBUF_LOCK) && rcvbuf > READ_ONCE(sk->sk_rcvbuf)) {
			WRITE_ONCE(sk->sk_rcvbuf, rcvbuf);
			esk->window_clamp = min_t(u32, ((u64)rcvbuf * esk->rcv_ratio) >> 8,
						  (u32)U16_MAX << esk->rcv_wscale);
		}
		esk->rcvq_space = copied;
	}
	esk->rcvq_seq = esk->copied_seq;
	esk->rcvq_time_us = now;
}
