// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP over IPv4, the counterpart of net/ipv4/tcp_ipv4.c.
 */
#include <linux/skbuff.h>
#include <net/ip.h>

#include "estp.h"

/**
 * estp_v4_connect - proto->connect, from inet_stream_connect() on a CLOSE sock
 * @sk: the socket, locked
 * @uaddr: the peer's address
 * @addr_len: its length
 *
 * Return: -EOPNOTSUPP until the handshake lands.
 */
int estp_v4_connect(struct sock *sk, struct estp_sockaddr *uaddr, int addr_len)
{
	return -EOPNOTSUPP;
}

/**
 * estp_v4_rcv - IPv4 receive handler for the ESTP protocol number
 * @skb: the segment, its network header set, data at the transport header
 *
 * Called in softirq under rcu_read_lock().  Until the state machine lands
 * nothing can take a segment, so every segment is counted and dropped.
 *
 * Return: 0 (the skb is always consumed).
 */
int estp_v4_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);

	ESTP_INC_STATS(net, ESTP_MIB_INSEGS);
	if (!pskb_may_pull(skb, sizeof(struct estphdr)))
		ESTP_INC_STATS(net, ESTP_MIB_INHDRERRORS);
	else
		ESTP_INC_STATS(net, ESTP_MIB_INUNHANDLED);
	kfree_skb(skb);
	return 0;
}

/**
 * estp_v4_err - ICMP error handler for ESTP segments we sent
 * @skb: the ICMP message, data at the quoted IP header's payload
 * @info: ICMP-specific information (e.g. the next-hop MTU)
 *
 * Return: 0; no socket can own a segment yet.
 */
int estp_v4_err(struct sk_buff *skb, u32 info)
{
	return 0;
}
