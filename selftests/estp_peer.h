/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A raw peer: a raw socket (estp_pkt.h) that plays the client of a TCP or
 * ESTP listener segment by segment, in a netns of its own.
 *
 * The raw peer's ports have no socket, so the stack answers every segment
 * the listener sends there (SYN-ACK, ACK, FIN) with a RST that would end
 * the connection before the test can look at it.  peer_open() moves the
 * calling process into a fresh netns and installs a tc filter on its lo that
 * drops those RSTs on egress: the listener then sees a peer that is silent
 * unless the test speaks, as a real remote one that loses segments, or a
 * SYN flood, would be.  The raw peer's own segments carry the TOS mark
 * PEER_TOS, which the filter lets through, so that a test can still send
 * RSTs of its own.
 *
 * In the fresh netns the counters start at zero, the sysctls at their
 * defaults, and no other test's sockets share the ports or /proc.
 */
#ifndef ESTP_PEER_H
#define ESTP_PEER_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "estp_lib.h"
#include "estp_pkt.h"

#define PEER_ADDR	"127.0.0.1"
/*
 * The raw peer's ports: below 16384, which one u32 mask (top two bits 0)
 * tells from the listeners' ports (tests use 20000 and up) and from
 * ip_local_port_range (32768-60999), whose RSTs must pass.
 */
#define PEER_PORT_MIN	1024
#define PEER_PORT_MAX	16383
/* DSCP CS1: marks the raw peer's own segments, so that its RSTs pass. */
#define PEER_TOS	0x20
#define PEER_WIN	65535
/* How long an answer may take: a TCG guest can be slow. */
#define PEER_ANSWER_MS	2000

/* TCP's states as /proc/net/{tcp,estp} print them. */
#define PEER_ST_ESTABLISHED	0x01
#define PEER_ST_SYN_SENT	0x02
#define PEER_ST_SYN_RECV	0x03
#define PEER_ST_LISTEN		0x0a

struct estp_peer {
	int proto;		/* IPPROTO_TCP or IPPROTO_ESTP */
	int home;		/* the netns we came from */
	int raw;		/* pkt_open(proto, PEER_ADDR), marked PEER_TOS */
};

/* One connection of the raw peer to a listener on PEER_ADDR. */
struct peer_conn {
	uint16_t port;		/* the raw peer's */
	uint16_t lport;		/* the listener's */
	uint32_t seq;		/* the raw peer's next sequence number */
	uint32_t ack;		/* the listener's: the SYN-ACK's seq + 1 */
	struct pkt_seg synack;	/* the answer to the SYN, as received */
};

/*
 * Drop, on lo's egress, segments of @proto with RST set from a port below
 * 16384 (the raw peer's) without the PEER_TOS mark: the stack's answers to
 * what the listener sends to the raw peer.  u32 offsets are from the IP
 * header: "nexthdr+" only works below a hashing link, so the header is
 * checked to be 20 bytes long and the fields are read at fixed offsets
 * (byte 1 TOS, 20 source port, 33 flags).
 */
#define PEER_TC_QDISC	"tc qdisc add dev lo root handle 1: prio"
#define PEER_TC_FILTER	"tc filter add dev lo parent 1: prio 1 protocol ip u32" \
			" match ip protocol %d 0xff match u8 0x45 0xff at 0"	\
			" match u8 0x00 0xfc at 1 match u16 0x0000 0xc000 at 20"	\
			" match u8 0x04 0x04 at 33 action drop"

/* Installs the RST filter for @proto on lo: 0 or -1. */
static inline int peer_filter(int proto)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "exec >/dev/null 2>&1; " PEER_TC_QDISC " && " PEER_TC_FILTER,
		 proto);
	return system(cmd) == 0 ? 0 : -1;
}

/* Sets lo up in the current netns: 0 or -1. */
static inline int peer_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;

	if (fd < 0)
		return -1;
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr) ? -1 : 0;
	}
	close(fd);
	return ret;
}

/* Leaves the raw peer's netns for the one peer_open() was called in. */
static inline void peer_close(struct estp_peer *p)
{
	if (p->raw >= 0)
		close(p->raw);
	p->raw = -1;
	if (p->home >= 0) {
		if (setns(p->home, CLONE_NEWNET))
			perror("setns");
		close(p->home);
	}
	p->home = -1;
}

/*
 * Moves the calling process into a fresh netns with lo up and the RST filter
 * for @proto, and opens the raw peer's socket there.  NULL, or what failed
 * (then everything is undone).
 */
static inline const char *peer_open(struct estp_peer *p, int proto)
{
	int tos = PEER_TOS;

	p->proto = proto;
	p->raw = -1;
	p->home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->home < 0)
		return "open /proc/self/ns/net";
	if (unshare(CLONE_NEWNET)) {
		close(p->home);
		p->home = -1;
		return "unshare(CLONE_NEWNET)";
	}
	if (peer_lo_up()) {
		peer_close(p);
		return "lo up";
	}
	if (peer_filter(proto)) {
		peer_close(p);
		return "tc qdisc/filter on lo";
	}
	p->raw = pkt_open(proto, PEER_ADDR);
	if (p->raw < 0 || setsockopt(p->raw, IPPROTO_IP, IP_TOS, &tos, sizeof(tos))) {
		peer_close(p);
		return "raw socket";
	}
	return NULL;
}

/* Discards what the raw socket has received so far. */
static inline void peer_drain(struct estp_peer *p)
{
	char buf[1500];

	while (recv(p->raw, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/*
 * A segment of @c with @flags: seq is the raw peer's next, ack (with ACK)
 * the listener's next, for the caller to change before peer_send().
 */
static inline struct pkt_seg peer_seg(const struct peer_conn *c, uint8_t flags)
{
	struct pkt_seg s = {
		.sport = c->port,
		.dport = c->lport,
		.seq = c->seq,
		.ack = flags & PKT_ACK ? c->ack : 0,
		.flags = flags,
		.win = PEER_WIN,
	};

	return s;
}

static inline int peer_send(struct estp_peer *p, const struct pkt_seg *s)
{
	return pkt_send(p->raw, s, PEER_ADDR);
}

/*
 * Sends the segment of @len bytes at @seg, laid out by the caller (header,
 * options and payload), after filling in its checksum: 0 or -1.
 */
static inline int peer_send_buf(struct estp_peer *p, uint8_t *seg, int len)
{
	struct sockaddr_in dst = estp_sin4(PEER_ADDR, 0);

	pkt_put16(seg + 16, 0);
	pkt_put16(seg + 16, pkt_csum(dst.sin_addr.s_addr, dst.sin_addr.s_addr, p->proto,
				     seg, len));
	if (sendto(p->raw, seg, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != len)
		return -1;
	return 0;
}

/* The next segment from the listener's side of @c: 1, 0 on timeout, -1. */
static inline int peer_recv(struct estp_peer *p, const struct peer_conn *c,
			    int timeout_ms, struct pkt_seg *r)
{
	return pkt_recv(p->raw, c->lport, c->port, timeout_ms, r);
}

/*
 * Sends a SYN from @port with sequence number @isn (and an MSS option of
 * @mss when non-zero) to the listener on @lport, and waits for the answer
 * into @c->synack: 1 when one came (a SYN-ACK also sets @c->ack), 0 when
 * none did, -1 on error.
 */
static inline int peer_syn(struct estp_peer *p, struct peer_conn *c, uint16_t port,
			   uint16_t lport, uint32_t isn, uint16_t mss)
{
	struct pkt_seg s;
	int ret;

	memset(c, 0, sizeof(*c));
	c->port = port;
	c->lport = lport;
	c->seq = isn;
	s = peer_seg(c, PKT_SYN);
	s.mss = mss;
	if (peer_send(p, &s))
		return -1;
	c->seq = isn + 1;
	ret = peer_recv(p, c, PEER_ANSWER_MS, &c->synack);
	if (ret == 1 && c->synack.flags == (PKT_SYN | PKT_ACK))
		c->ack = c->synack.seq + 1;
	return ret;
}

/* The final ACK of the handshake of @c: 0 or -1. */
static inline int peer_ack(struct estp_peer *p, const struct peer_conn *c)
{
	struct pkt_seg s = peer_seg(c, PKT_ACK);

	return peer_send(p, &s);
}

/*
 * The three-way handshake from @port to the listener on @lport: 0 once the
 * final ACK is sent, -1 when the answer to the SYN was not a SYN-ACK that
 * acknowledges it.
 */
static inline int peer_connect(struct estp_peer *p, struct peer_conn *c, uint16_t port,
			       uint16_t lport, uint32_t isn)
{
	if (peer_syn(p, c, port, lport, isn, 1460) != 1 ||
	    c->synack.flags != (PKT_SYN | PKT_ACK) || c->synack.ack != isn + 1)
		return -1;
	return peer_ack(p, c);
}

/*
 * The rows of /proc/net/{tcp,estp} for @proto with local port @lport,
 * remote port @rport and state @state, each -1 for any: how many there are,
 * the state of the last one in @st when @st is not NULL.
 */
static inline int peer_rows(int proto, int lport, int rport, int state, int *st)
{
	char line[256];
	int n = 0;
	FILE *f;

	f = fopen(proto == IPPROTO_TCP ? "/proc/net/tcp" : "/proc/net/estp", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int l, r, s;

		if (sscanf(line, "%*s %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x", &l, &r, &s) != 3)
			continue;
		if ((lport >= 0 && (int)l != lport) || (rport >= 0 && (int)r != rport) ||
		    (state >= 0 && (int)s != state))
			continue;
		if (st)
			*st = s;
		n++;
	}
	fclose(f);
	return n;
}

/* The state of the socket @lport - @rport of @proto, or -1 when not listed. */
static inline int peer_state(int proto, int lport, int rport)
{
	int st = -1;

	return peer_rows(proto, lport, rport, -1, &st) > 0 ? st : -1;
}

/*
 * Waits up to @ms for peer_rows(@proto, @lport, @rport, @state) to be @want
 * (a segment's effect may wait for a softirq): the last count seen.
 */
static inline int peer_wait_rows(int proto, int lport, int rport, int state, int want,
				 int ms)
{
	long end = pkt_now_ms() + ms;
	int n;

	while ((n = peer_rows(proto, lport, rport, state, NULL)) != want && pkt_now_ms() < end)
		usleep(5000);
	return n;
}

/*
 * Reads sysctl @path into @old (@len bytes, newline cut) when @old is not
 * NULL, then writes @val when it is not NULL: 0 or an errno.
 */
static inline int peer_sysctl(const char *path, char *old, size_t len, const char *val)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return errno;
	if (old) {
		n = pread(fd, old, len - 1, 0);
		if (n < 0) {
			err = errno;
		} else {
			old[n] = '\0';
			old[strcspn(old, "\n")] = '\0';
		}
	}
	if (!err && val && pwrite(fd, val, strlen(val), 0) < 0)
		err = errno;
	close(fd);
	return err;
}

/* SO_COOKIE of @fd, 0 on error. */
static inline uint64_t peer_sock_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len))
		return 0;
	return c;
}

/*
 * SOCK_DESTROY for the socket of @proto on PEER_ADDR:@sport -
 * PEER_ADDR:@dport with cookie @cookie (estp_sock_destroy()): 0 or -errno.
 */
static inline int peer_sock_destroy(int proto, int sport, int dport, uint64_t cookie)
{
	struct in_addr a;

	inet_pton(AF_INET, PEER_ADDR, &a);
	return estp_sock_destroy(proto, AF_INET, &a, sport, &a, dport, cookie);
}

/*
 * Packets the loopback's per-CPU input queues dropped (net.core.
 * netdev_max_backlog): a flood from a raw socket can outrun the protocol,
 * and the SYNs lost there never reach it.  Column 2 of softnet_stat;
 * -1 when it cannot be read.
 */
static inline long peer_softnet_drops(void)
{
	unsigned int processed, dropped;
	char line[512];
	long sum = 0;
	FILE *f;

	f = fopen("/proc/net/softnet_stat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %x", &processed, &dropped) == 2)
			sum += dropped;
	fclose(f);
	return sum;
}

#endif /* ESTP_PEER_H */
