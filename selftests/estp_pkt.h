/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One IPv4 segment with TCP's header layout, for protocol 6 (TCP) or 253
 * (ESTP), sent and received on raw sockets.  The kernel builds the IP header
 * (no IP_HDRINCL); the checksum covers the pseudo-header with the protocol
 * number the segment goes out with.
 */
#ifndef ESTP_PKT_H
#define ESTP_PKT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT_FIN		0x01
#define PKT_SYN		0x02
#define PKT_RST		0x04
#define PKT_PSH		0x08
#define PKT_ACK		0x10
#define PKT_URG		0x20
#define PKT_ECE		0x40
#define PKT_CWR		0x80

#define PKT_HDR_LEN	20
/* For pkt_seg.doff: a data offset field of 0 (0 there means "compute it"). */
#define PKT_DOFF_ZERO	16
#define PKT_MAX_LEN	80

/* A segment to send, or the one received. */
struct pkt_seg {
	uint16_t sport, dport;		/* host order, as all fields here */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t urg;
	uint16_t mss;		/* an MSS option when non-zero; received: 0 if none */
	/* Sending only. */
	int doff;		/* 0: the real header length / 4; else put as is */
	int len;		/* 0: the whole header; else send only @len bytes */
	int bad_csum;		/* send a checksum that does not verify */
	const uint8_t *opts;	/* more option bytes, after the MSS; a multiple of 4 */
	int optlen;
	/* Receiving only. */
	int hdr_len;		/* doff * 4 */
	int seg_len;		/* the IP payload's length */
	int csum_ok;		/* the checksum verifies for the IP header's protocol */
};

static inline uint32_t pkt_sum(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (; len > 1; len -= 2, p += 2)
		sum += (p[0] << 8) | p[1];
	if (len)
		sum += p[0] << 8;
	return sum;
}

/* Internet checksum over the IPv4 pseudo-header and @len bytes of @seg. */
static inline uint16_t pkt_csum(uint32_t saddr, uint32_t daddr, int proto,
				const void *seg, size_t len)
{
	uint8_t ph[12];
	uint32_t sum;

	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = len >> 8;
	ph[11] = len & 0xff;
	sum = pkt_sum(pkt_sum(0, ph, sizeof(ph)), seg, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, v >> 16);
	pkt_put16(p + 2, v);
}

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (p[0] << 8) | p[1];
}

static inline uint32_t pkt_get32(const uint8_t *p)
{
	return ((uint32_t)pkt_get16(p) << 16) | pkt_get16(p + 2);
}

/*
 * Lays @s out in @buf for @proto from @saddr to @daddr (network order):
 * returns the number of bytes to send.
 */
static inline int pkt_build(uint8_t *buf, const struct pkt_seg *s, int proto,
			    uint32_t saddr, uint32_t daddr)
{
	int hlen = PKT_HDR_LEN + (s->mss ? 4 : 0) + s->optlen;
	int len = s->len ? s->len : hlen;
	uint16_t check;

	memset(buf, 0, PKT_MAX_LEN);
	pkt_put16(buf, s->sport);
	pkt_put16(buf + 2, s->dport);
	pkt_put32(buf + 4, s->seq);
	pkt_put32(buf + 8, s->ack);
	buf[12] = ((s->doff ? s->doff : hlen / 4) & 0xf) << 4;
	buf[13] = s->flags;
	pkt_put16(buf + 14, s->win);
	pkt_put16(buf + 18, s->urg);
	if (s->mss) {
		buf[20] = 2;	/* kind MSS */
		buf[21] = 4;
		pkt_put16(buf + 22, s->mss);
	}
	if (s->optlen)
		memcpy(buf + hlen - s->optlen, s->opts, s->optlen);
	/* A truncated segment is checksummed as sent: only its length is wrong. */
	check = pkt_csum(saddr, daddr, proto, buf, len);
	/*
	 * Any other value fails; 0x0000 and 0xffff are the same number in
	 * one's complement, so the bad one is neither.
	 */
	if (s->bad_csum)
		check = check == 0x1234 ? 0x4321 : 0x1234;
	if (len >= 18)
		pkt_put16(buf + 16, check);
	return len;
}

/*
 * A raw socket for @proto bound to @saddr (so the segments' source, which
 * the checksum covers, is known): receives every segment of @proto the host
 * gets, and sends with an IP header the kernel builds.  An fd or -1.
 */
static inline int pkt_open(int proto, const char *saddr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd;

	if (inet_pton(AF_INET, saddr, &sin.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends @s on @fd (from pkt_open()) to @daddr: 0 or -1. */
static inline int pkt_send(int fd, const struct pkt_seg *s, const char *daddr)
{
	struct sockaddr_in src, dst = { .sin_family = AF_INET };
	socklen_t slen = sizeof(src);
	uint8_t buf[PKT_MAX_LEN];
	int proto, len;

	if (inet_pton(AF_INET, daddr, &dst.sin_addr) != 1)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&src, &slen))
		return -1;
	slen = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &slen))
		return -1;
	len = pkt_build(buf, s, proto, src.sin_addr.s_addr, dst.sin_addr.s_addr);
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != len)
		return -1;
	return 0;
}

static inline long pkt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The fixed header of a segment of @seg_len bytes at @th into @s (zeroed first). */
static inline void pkt_parse_th(const uint8_t *th, int seg_len, struct pkt_seg *s)
{
	memset(s, 0, sizeof(*s));
	s->sport = pkt_get16(th);
	s->dport = pkt_get16(th + 2);
	s->seq = pkt_get32(th + 4);
	s->ack = pkt_get32(th + 8);
	s->hdr_len = (th[12] >> 4) * 4;
	s->flags = th[13];
	s->win = pkt_get16(th + 14);
	s->urg = pkt_get16(th + 18);
	s->seg_len = seg_len;
}

/*
 * Parses one IP packet of @len bytes into @s: 0, or -1 when it is not a
 * segment of @proto with a whole header.
 */
static inline int pkt_parse(const uint8_t *pkt, size_t len, int proto,
			    struct pkt_seg *s)
{
	size_t ihl, tot;
	const uint8_t *th;
	uint32_t saddr, daddr;
	int i;

	if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != proto)
		return -1;
	ihl = (pkt[0] & 0xf) * 4;
	tot = pkt_get16(pkt + 2);
	if (tot > len)
		tot = len;
	if (ihl < 20 || tot < ihl + PKT_HDR_LEN)
		return -1;
	th = pkt + ihl;
	pkt_parse_th(th, tot - ihl, s);
	memcpy(&saddr, pkt + 12, 4);
	memcpy(&daddr, pkt + 16, 4);
	s->csum_ok = pkt_csum(saddr, daddr, proto, th, s->seg_len) == 0;
	/* Options: only MSS is read. */
	for (i = PKT_HDR_LEN; i < s->hdr_len && i < s->seg_len;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= s->seg_len || th[i + 1] < 2)
			break;
		if (th[i] == 2 && th[i + 1] == 4 && i + 4 <= s->seg_len)
			s->mss = pkt_get16(th + i + 2);
		i += th[i + 1];
	}
	return 0;
}

/*
 * Waits up to @timeout_ms for a segment of @proto from port @sport to port
 * @dport on raw socket @fd, received into @buf of @size bytes: the packet's
 * length and @s filled, 0 on timeout, -1 on error.
 */
static inline ssize_t pkt_recv_buf(int fd, int proto, uint16_t sport, uint16_t dport,
				   int timeout_ms, uint8_t *buf, size_t size,
				   struct pkt_seg *s)
{
	long end = pkt_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = end - pkt_now_ms();
		ssize_t n;
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0) {
			if (left == 0)
				return 0;
			continue;
		}
		n = recv(fd, buf, size, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (!pkt_parse(buf, n, proto, s) && s->sport == sport && s->dport == dport)
			return n;
	}
}

/*
 * Waits up to @timeout_ms for a segment from port @sport to port @dport on
 * @fd (from pkt_open()): 1 and @s filled, 0 on timeout, -1 on error.
 */
static inline int pkt_recv(int fd, uint16_t sport, uint16_t dport,
			   int timeout_ms, struct pkt_seg *s)
{
	uint8_t buf[1500];
	socklen_t plen;
	ssize_t n;
	int proto;

	plen = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen))
		return -1;
	n = pkt_recv_buf(fd, proto, sport, dport, timeout_ms, buf, sizeof(buf), s);
	return n > 0 ? 1 : (int)n;
}

#endif /* ESTP_PKT_H */
