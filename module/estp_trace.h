/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ESTP's trace events, system "estp": the counterparts of the tcp: events of
 * include/trace/events/tcp.h (6.12) with their fields and output format, so
 * that scripts written for one read the other, plus estp_done, which names
 * the exit that ended a socket.  estp_trace.c creates them.
 *
 * Addresses are stored as TCP's events store them, in room for IPv6; the
 * helpers are ESTP's own because the kernel's net_probe_common.h differs
 * between the kernels the module builds for.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM estp

#if !defined(_ESTP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _ESTP_TRACE_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/sock_diag.h>
#include <linux/tracepoint.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "estp.h"

#ifndef _ESTP_TRACE_HELPERS
#define _ESTP_TRACE_HELPERS

/*
 * sock_gen_cookie(): the kernel exports only sock_diag_save_cookie(), which
 * makes the cookie once, as SO_COOKIE and sock_diag do, and then reads it.
 */
static inline u64 estp_trace_cookie(struct sock *sk)
{
	u64 cookie = atomic64_read(&sk->sk_cookie);
	u32 c[2];

	if (cookie)
		return cookie;
	sock_diag_save_cookie(sk, c);
	return (u64)c[1] << 32 | c[0];
}

/* The ssthresh tcp_probe shows (tcp_current_ssthresh). */
static inline u32 estp_trace_ssthresh(const struct sock *sk)
{
	const struct estp_sock *esk = estp_sk(sk);

	if ((1 << esk->ca_state) & ((1 << ESTP_CA_CWR) | (1 << ESTP_CA_RECOVERY)))
		return esk->snd_ssthresh;
	return max(esk->snd_ssthresh, (esk->snd_cwnd >> 1) + (esk->snd_cwnd >> 2));
}

/*
 * The IPv6 addresses of a sock, as TP_STORE_ADDRS: an IPv6 sock's own
 * (v4-mapped ones for a mapped peer), an IPv4 sock's v4-mapped.
 */
static inline void estp_trace_v6_addrs(struct in6_addr *s, struct in6_addr *d,
				       const struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		*s = sk->sk_v6_rcv_saddr;
		*d = sk->sk_v6_daddr;
		return;
	}
#endif
	ipv6_addr_set_v4mapped(inet_sk(sk)->inet_saddr, s);
	ipv6_addr_set_v4mapped(inet_sk(sk)->inet_daddr, d);
}

/* The saddr/daddr and saddr_v6/daddr_v6 arrays of tcp_event_sk. */
#define ESTP_TP_STORE_ADDRS(__entry, sk)				\
	do {								\
		const struct inet_sock *__inet = inet_sk(sk);		\
									\
		*(__be32 *)__entry->saddr = __inet->inet_saddr;		\
		*(__be32 *)__entry->daddr = __inet->inet_daddr;		\
		estp_trace_v6_addrs((struct in6_addr *)__entry->saddr_v6, \
				    (struct in6_addr *)__entry->daddr_v6, sk); \
	} while (0)

/* A sockaddr_in for each end, as TP_STORE_ADDR_PORTS_V4. */
#define ESTP_TP_STORE_SOCKADDRS(__saddr, __daddr, s, sp, d, dp)	\
	do {								\
		struct sockaddr_in *__v4 = (void *)(__saddr);		\
									\
		__v4->sin_family = AF_INET;				\
		__v4->sin_port = (sp);					\
		__v4->sin_addr.s_addr = (s);				\
		__v4 = (void *)(__daddr);				\
		__v4->sin_family = AF_INET;				\
		__v4->sin_port = (dp);					\
		__v4->sin_addr.s_addr = (d);				\
	} while (0)

/* A sockaddr_in6 of an IPv6 address and port. */
static inline void estp_trace_sin6(void *sa, const struct in6_addr *addr, __be16 port)
{
	struct sockaddr_in6 *sin6 = sa;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = port;
	sin6->sin6_addr = *addr;
}

/*
 * A sock's ends as sockaddrs (TP_STORE_ADDR_PORTS): sockaddr_in6 for an
 * IPv6 sock, sockaddr_in for an IPv4 one.  The arrays are zeroed.
 */
static inline void estp_trace_sk_sockaddrs(void *s, void *d, const struct sock *sk)
{
	const struct inet_sock *inet = inet_sk(sk);

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		estp_trace_sin6(s, &sk->sk_v6_rcv_saddr, inet->inet_sport);
		estp_trace_sin6(d, &sk->sk_v6_daddr, inet->inet_dport);
		return;
	}
#endif
	ESTP_TP_STORE_SOCKADDRS(s, d, inet->inet_saddr, inet->inet_sport,
				inet->inet_daddr, inet->inet_dport);
}

/*
 * A segment's ends as sockaddrs, of either family (TP_STORE_ADDR_PORTS_SKB):
 * @answer, those of an answer to it (the segment's reversed).
 */
static inline void estp_trace_skb_sockaddrs(void *s, void *d, const struct sk_buff *skb,
					    bool answer)
{
	const struct estphdr *th = estp_hdr(skb);

	if (answer)
		swap(s, d);
#if IS_ENABLED(CONFIG_IPV6)
	if (skb->protocol == htons(ETH_P_IPV6)) {
		estp_trace_sin6(s, &ipv6_hdr(skb)->saddr, th->source);
		estp_trace_sin6(d, &ipv6_hdr(skb)->daddr, th->dest);
		return;
	}
#endif
	ESTP_TP_STORE_SOCKADDRS(s, d, ip_hdr(skb)->saddr, th->source,
				ip_hdr(skb)->daddr, th->dest);
}

/*
 * The sock's ports and addresses as tcp_event_sk and tcp_event_sk_skb hold
 * and print them (fields sport through daddr_v6); expanded in each pass of
 * the events below, where __field() and __entry have their meaning.
 */
#define ESTP_TP_SK_ENTRY						\
	__field(__u16, sport)						\
	__field(__u16, dport)						\
	__field(__u16, family)						\
	__array(__u8, saddr, 4)						\
	__array(__u8, daddr, 4)						\
	__array(__u8, saddr_v6, 16)					\
	__array(__u8, daddr_v6, 16)

#define ESTP_TP_SK_ASSIGN(sk)						\
	do {								\
		__entry->sport = ntohs(inet_sk(sk)->inet_sport);	\
		__entry->dport = ntohs(inet_sk(sk)->inet_dport);	\
		__entry->family = (sk)->sk_family;			\
		ESTP_TP_STORE_ADDRS(__entry, sk);			\
	} while (0)

#define ESTP_TP_SK_FMT							\
	"family=%s sport=%hu dport=%hu saddr=%pI4 daddr=%pI4 saddrv6=%pI6c daddrv6=%pI6c"

#define ESTP_TP_SK_ARGS							\
	estp_show_family(__entry->family),				\
	__entry->sport, __entry->dport,					\
	__entry->saddr, __entry->daddr,					\
	__entry->saddr_v6, __entry->daddr_v6

#endif /* _ESTP_TRACE_HELPERS */

/* TCP_* states and families by name, as the sock: and tcp: events print them. */
#define estp_trace_state_names			\
	EM(TCP_ESTABLISHED)			\
	EM(TCP_SYN_SENT)			\
	EM(TCP_SYN_RECV)			\
	EM(TCP_FIN_WAIT1)			\
	EM(TCP_FIN_WAIT2)			\
	EM(TCP_TIME_WAIT)			\
	EM(TCP_CLOSE)				\
	EM(TCP_CLOSE_WAIT)			\
	EM(TCP_LAST_ACK)			\
	EM(TCP_LISTEN)				\
	EM(TCP_CLOSING)				\
	EMe(TCP_NEW_SYN_RECV)

/* enum estp_done_reason by name, in its order. */
#define estp_trace_done_reasons				\
	DR(ABORT, abort)				\
	DR(RESET, reset)				\
	DR(LAST_ACK, last_ack)				\
	DR(LINGER2, linger2)				\
	DR(ABORT_ON_DATA, abort_on_data)		\
	DR(V4_ERR, v4_err)				\
	DR(SYN_RECV_SOCK, syn_recv_sock)		\
	DR(TIME_WAIT, time_wait)			\
	DR(WRITE_ERR, write_err)			\
	DR(OUT_OF_RESOURCES, out_of_resources)		\
	DR(KEEPALIVE, keepalive)			\
	DR(FIN_WAIT2, fin_wait2)			\
	DR(V6_ERR, v6_err)				\
	DR(V6_SYN_RECV_SOCK, v6_syn_recv_sock)		\
	DRe(CHILD_FORGET, child_forget)

#undef EM
#undef EMe
#undef DR
#undef DRe
#define EM(a)	TRACE_DEFINE_ENUM(a);
#define EMe(a)	TRACE_DEFINE_ENUM(a);
estp_trace_state_names

#define DR(r, name)	TRACE_DEFINE_ENUM(ESTP_DONE_##r);
#define DRe(r, name)	TRACE_DEFINE_ENUM(ESTP_DONE_##r);
estp_trace_done_reasons

#undef EM
#undef EMe
#define EM(a)	{ a, #a },
#define EMe(a)	{ a, #a }

#define estp_show_state(val)	__print_symbolic(val, estp_trace_state_names)
#define estp_show_family(val)	__print_symbolic(val, { AF_INET, "AF_INET" }, \
						 { AF_INET6, "AF_INET6" })

#undef DR
#undef DRe
#define DR(r, name)	{ ESTP_DONE_##r, #name },
#define DRe(r, name)	{ ESTP_DONE_##r, #name }
#define estp_show_done_reason(val)	__print_symbolic(val, estp_trace_done_reasons)

/* tcp_event_sk_skb: the sock and, maybe NULL, the segment. */
DECLARE_EVENT_CLASS(estp_event_sk_skb,

	TP_PROTO(const struct sock *sk, const struct sk_buff *skb),

	TP_ARGS(sk, skb),

	TP_STRUCT__entry(
		__field(const void *, skbaddr)
		__field(const void *, skaddr)
		__field(int, state)
		ESTP_TP_SK_ENTRY
	),

	TP_fast_assign(
		__entry->skbaddr = skb;
		__entry->skaddr = sk;
		__entry->state = sk->sk_state;
		ESTP_TP_SK_ASSIGN(sk);
	),

	TP_printk("skbaddr=%p skaddr=%p " ESTP_TP_SK_FMT " state=%s",
		  __entry->skbaddr, __entry->skaddr, ESTP_TP_SK_ARGS,
		  estp_show_state(__entry->state))
);

/* A queued segment sent again (tcp_retransmit_skb). */
DEFINE_EVENT(estp_event_sk_skb, estp_retransmit_skb,

	TP_PROTO(const struct sock *sk, const struct sk_buff *skb),

	TP_ARGS(sk, skb)
);

/*
 * A RST sent (tcp_send_reset): @skb is the segment it answers, NULL for an
 * active reset; @sk is NULL when no sock answers.  Without 6.10's reason.
 */
TRACE_EVENT(estp_send_reset,

	TP_PROTO(const struct sock *sk, const struct sk_buff *skb),

	TP_ARGS(sk, skb),

	TP_STRUCT__entry(
		__field(const void *, skbaddr)
		__field(const void *, skaddr)
		__field(int, state)
		__array(__u8, saddr, sizeof(struct sockaddr_in6))
		__array(__u8, daddr, sizeof(struct sockaddr_in6))
	),

	TP_fast_assign(
		__entry->skbaddr = skb;
		__entry->skaddr = sk;
		/* Zero means unknown state. */
		__entry->state = sk ? sk->sk_state : 0;

		memset(__entry->saddr, 0, sizeof(struct sockaddr_in6));
		memset(__entry->daddr, 0, sizeof(struct sockaddr_in6));

		if (sk && sk_fullsock(sk))
			estp_trace_sk_sockaddrs(__entry->saddr, __entry->daddr, sk);
		else if (skb)
			/* The answer's direction: the segment's reversed. */
			estp_trace_skb_sockaddrs(__entry->saddr, __entry->daddr, skb, true);
	),

	TP_printk("skbaddr=%p skaddr=%p src=%pISpc dest=%pISpc state=%s",
		  __entry->skbaddr, __entry->skaddr,
		  __entry->saddr, __entry->daddr,
		  __entry->state ? estp_show_state(__entry->state) : "UNKNOWN")
);

/* tcp_event_sk: a full sock. */
DECLARE_EVENT_CLASS(estp_event_sk,

	TP_PROTO(struct sock *sk),

	TP_ARGS(sk),

	TP_STRUCT__entry(
		__field(const void *, skaddr)
		ESTP_TP_SK_ENTRY
		__field(__u64, sock_cookie)
	),

	TP_fast_assign(
		__entry->skaddr = sk;
		ESTP_TP_SK_ASSIGN(sk);
		__entry->sock_cookie = estp_trace_cookie(sk);
	),

	TP_printk(ESTP_TP_SK_FMT " sock_cookie=%llx",
		  ESTP_TP_SK_ARGS, __entry->sock_cookie)
);

/* A RST taken (tcp_receive_reset). */
DEFINE_EVENT(estp_event_sk, estp_receive_reset,

	TP_PROTO(struct sock *sk),

	TP_ARGS(sk)
);

/* proto->destroy (tcp_destroy_sock). */
DEFINE_EVENT(estp_event_sk, estp_destroy_sock,

	TP_PROTO(struct sock *sk),

	TP_ARGS(sk)
);

/*
 * The sock is over (no tcp: counterpart): tcp_event_sk's fields, the state
 * it ended in and the exit that ended it.
 */
TRACE_EVENT(estp_done,

	TP_PROTO(struct sock *sk, enum estp_done_reason reason),

	TP_ARGS(sk, reason),

	TP_STRUCT__entry(
		__field(const void *, skaddr)
		ESTP_TP_SK_ENTRY
		__field(__u64, sock_cookie)
		__field(int, state)
		__field(int, reason)
	),

	TP_fast_assign(
		__entry->skaddr = sk;
		ESTP_TP_SK_ASSIGN(sk);
		__entry->sock_cookie = estp_trace_cookie(sk);
		__entry->state = sk->sk_state;
		__entry->reason = reason;
	),

	TP_printk(ESTP_TP_SK_FMT " sock_cookie=%llx state=%s reason=%s",
		  ESTP_TP_SK_ARGS, __entry->sock_cookie,
		  estp_show_state(__entry->state),
		  estp_show_done_reason(__entry->reason))
);

/*
 * A Fast Open child's request sock leaves its listener's fastopen queue
 * (reqsk_fastopen_remove, which TCP does not trace): once a request,
 * whatever ends the handshake.  reset: a RST ended it.
 */
TRACE_EVENT(estp_fastopen_remove,

	TP_PROTO(struct sock *sk, bool reset),

	TP_ARGS(sk, reset),

	TP_STRUCT__entry(
		__field(const void *, skaddr)
		ESTP_TP_SK_ENTRY
		__field(__u64, sock_cookie)
		__field(int, state)
		__field(bool, reset)
	),

	TP_fast_assign(
		__entry->skaddr = sk;
		ESTP_TP_SK_ASSIGN(sk);
		__entry->sock_cookie = estp_trace_cookie(sk);
		__entry->state = sk->sk_state;
		__entry->reset = reset;
	),

	TP_printk(ESTP_TP_SK_FMT " sock_cookie=%llx state=%s reset=%d",
		  ESTP_TP_SK_ARGS, __entry->sock_cookie,
		  estp_show_state(__entry->state), __entry->reset)
);

/* A segment for an ESTABLISHED sock, before it is processed (tcp_probe). */
TRACE_EVENT(estp_probe,

	TP_PROTO(struct sock *sk, const struct sk_buff *skb),

	TP_ARGS(sk, skb),

	TP_STRUCT__entry(
		/* sockaddr_in6 is always bigger than sockaddr_in */
		__array(__u8, saddr, sizeof(struct sockaddr_in6))
		__array(__u8, daddr, sizeof(struct sockaddr_in6))
		__field(__u16, sport)
		__field(__u16, dport)
		__field(__u16, family)
		__field(__u32, mark)
		__field(__u16, data_len)
		__field(__u32, snd_nxt)
		__field(__u32, snd_una)
		__field(__u32, snd_cwnd)
		__field(__u32, ssthresh)
		__field(__u32, snd_wnd)
		__field(__u32, srtt)
		__field(__u32, rcv_wnd)
		__field(__u64, sock_cookie)
		__field(const void *, skbaddr)
		__field(const void *, skaddr)
	),

	TP_fast_assign(
		const struct inet_sock *inet = inet_sk(sk);
		const struct estp_sock *esk = estp_sk(sk);

		memset(__entry->saddr, 0, sizeof(struct sockaddr_in6));
		memset(__entry->daddr, 0, sizeof(struct sockaddr_in6));
		estp_trace_sk_sockaddrs(__entry->saddr, __entry->daddr, sk);

		/* For filtering use */
		__entry->sport = ntohs(inet->inet_sport);
		__entry->dport = ntohs(inet->inet_dport);
		__entry->mark = skb->mark;
		__entry->family = sk->sk_family;

		__entry->data_len = skb->len - estp_hdr(skb)->doff * 4;
		__entry->snd_nxt = esk->snd_nxt;
		__entry->snd_una = esk->snd_una;
		__entry->snd_cwnd = esk->snd_cwnd;
		__entry->snd_wnd = esk->snd_wnd;
		__entry->rcv_wnd = esk->rcv_wnd;
		__entry->ssthresh = estp_trace_ssthresh(sk);
		__entry->srtt = esk->srtt_us >> 3;
		__entry->sock_cookie = estp_trace_cookie(sk);

		__entry->skbaddr = skb;
		__entry->skaddr = sk;
	),

	TP_printk("family=%s src=%pISpc dest=%pISpc mark=%#x data_len=%d snd_nxt=%#x snd_una=%#x snd_cwnd=%u ssthresh=%u snd_wnd=%u srtt=%u rcv_wnd=%u sock_cookie=%llx skbaddr=%p skaddr=%p",
		  estp_show_family(__entry->family),
		  __entry->saddr, __entry->daddr, __entry->mark,
		  __entry->data_len, __entry->snd_nxt, __entry->snd_una,
		  __entry->snd_cwnd, __entry->ssthresh, __entry->snd_wnd,
		  __entry->srtt, __entry->rcv_wnd, __entry->sock_cookie,
		  __entry->skbaddr, __entry->skaddr)
);

/* A segment whose checksum is wrong, before any lookup (tcp_bad_csum). */
TRACE_EVENT(estp_bad_csum,

	TP_PROTO(const struct sk_buff *skb),

	TP_ARGS(skb),

	TP_STRUCT__entry(
		__field(const void *, skbaddr)
		__array(__u8, saddr, sizeof(struct sockaddr_in6))
		__array(__u8, daddr, sizeof(struct sockaddr_in6))
	),

	TP_fast_assign(
		__entry->skbaddr = skb;

		memset(__entry->saddr, 0, sizeof(struct sockaddr_in6));
		memset(__entry->daddr, 0, sizeof(struct sockaddr_in6));
		estp_trace_skb_sockaddrs(__entry->saddr, __entry->daddr, skb, false);
	),

	TP_printk("skbaddr=%p src=%pISpc dest=%pISpc",
		  __entry->skbaddr, __entry->saddr, __entry->daddr)
);

#endif /* _ESTP_TRACE_H */

/* Out of the tree: define_trace.h finds this file through -I$(src)/module. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE estp_trace
#include <trace/define_trace.h>
