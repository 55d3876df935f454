// SPDX-License-Identifier: GPL-2.0
/*
 * Listeners that share a port, what accepted sockets inherit, the marks on
 * SYN-ACKs and RSTs, and one socket used from several places at once:
 * SO_REUSEPORT groups, SO_BINDTODEVICE and the IP options of children,
 * IP_TTL/IP_TOS/SO_MARK/SO_PRIORITY on control segments, epoll's edge and
 * exclusive wakeups, EINTR and SA_RESTART on blocking calls, descriptors
 * shared by dup/fork/SCM_RIGHTS, threads on one socket, and sequence numbers
 * that wrap.  Every case runs for TCP and ESTP as fixture variants; those
 * tied to no family (fixture conc) on IPv4, IPv6 and v4-mapped IPv6 too,
 * those tied to IPv4 (conc4: IP options, IPv4 headers, the raw peer) on
 * IPv4.
 *
 * SO_MARK and SO_PRIORITY are seen through a prio qdisc on lo: priority
 * 1:3 (0x10003) and, by an fw filter, mark 7 put a packet in class 1:3,
 * whose packet count tells whether a control segment carried them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <netinet/ip.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF	51
#endif
#ifndef ESTP_NODELAY
#define ESTP_NODELAY	1	/* TCP_NODELAY */
#endif

#define LADDR		"127.0.0.1"
#define WAIT_MS		5000	/* what must happen happens by then */
#define QUIET_MS	300	/* what must not happen has not within this */
#define MARK		7
#define PRIO_BAND3	0x10003	/* prio qdisc 1:, band 3 */

/*
 * The family of the running test (enum estp_fam), which its fixture's setup
 * sets: each test runs in a process of its own, so the helpers below read
 * it rather than take it through every call.
 */
static int fam;

/* LADDR:@port in the test's family (::1, ::ffff:LADDR) in @ss: its length. */
static socklen_t laddr(int port, struct sockaddr_storage *ss)
{
	return estp_sockaddr(fam, LADDR, port, ss);
}

/* A listener on LADDR:@port (0: any), with SO_REUSEPORT if @reuseport. */
static int listener(int proto, int port, int reuseport, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = laddr(port, &ss);
	int one = 1, fd;

	fd = socket(estp_fam_domain(fam), SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -1;
	if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A connected socket to LADDR:@port, or -1. */
static int connect_to(int proto, int port)
{
	return estp_connect_fam(proto, fam, LADDR, port);
}

/* A connected pair through a fresh listener: 0 or -1. */
static int make_pair(int proto, int *l, int *c, int *a)
{
	*c = *a = -1;
	*l = listener(proto, 0, 0, 16);
	if (*l < 0)
		return -1;
	*c = connect_to(proto, estp_local_port(*l));
	if (*c < 0)
		return -1;
	*a = accept4(*l, NULL, NULL, SOCK_CLOEXEC);
	return *a < 0 ? -1 : 0;
}

/*
 * Accepts, without blocking, from each of the @n listeners in @l until
 * @want connections are taken or WAIT_MS pass; @count[i] gets listener i's
 * share, @fds (if not NULL) the sockets in accept order.  Returns the total.
 */
static int accept_all(const int *l, int n, int want, int *count, int *fds)
{
	long end = pkt_now_ms() + WAIT_MS;
	struct pollfd pfd[8];
	int i, total = 0;

	for (i = 0; i < n; i++) {
		pfd[i].fd = l[i];
		pfd[i].events = POLLIN;
		count[i] = 0;
		/* accept4()'s SOCK_NONBLOCK is the new socket's, not the listener's */
		fcntl(l[i], F_SETFL, fcntl(l[i], F_GETFL) | O_NONBLOCK);
	}
	while (total < want && pkt_now_ms() < end) {
		if (poll(pfd, n, end - pkt_now_ms()) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			int fd;

			while (total < want &&
			       (fd = accept4(l[i], NULL, NULL,
					      SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				count[i]++;
				if (fds)
					fds[total] = fd;
				else
					close(fd);
				total++;
			}
		}
	}
	return total;
}

/*
 * conc: the cases tied to no family, for TCP and ESTP on IPv4, IPv6 and
 * v4-mapped IPv6; conc4: those tied to IPv4 (IP_TTL/IP_TOS, a u32 filter
 * on IPv4 headers, the raw peer of estp_pkt.h, which speaks IPv4 only), on
 * IPv4 alone.
 */
FIXTURE(conc)
{
	int unused;
};

FIXTURE_VARIANTS_FAMILIES(conc);

FIXTURE_SETUP(conc)
{
	fam = variant->fam;
	ASSERT_EQ(0, estp_netns_private());
}

FIXTURE_TEARDOWN(conc)
{
}

FIXTURE(conc4)
{
	int unused;
};

FIXTURE_VARIANTS_TCP_ESTP(conc4);

FIXTURE_SETUP(conc4)
{
	fam = ESTP_FAM4;
	ASSERT_EQ(0, estp_netns_private());
}

FIXTURE_TEARDOWN(conc4)
{
}

/*
 * Four listeners in one SO_REUSEPORT group: 64 connections from varied
 * source ports are spread by the 4-tuple's hash, each member gets some.
 */
TEST_F(conc, reuseport_distribution)
{
	int l[4], count[4], i, port, c[64];

	l[0] = listener(variant->proto, 0, 1, 128);
	ASSERT_LE(0, l[0]);
	port = estp_local_port(l[0]);
	for (i = 1; i < 4; i++)
		ASSERT_LE(0, l[i] = listener(variant->proto, port, 1, 128));
	for (i = 0; i < 64; i++)
		ASSERT_LE(0, c[i] = connect_to(variant->proto, port));
	ASSERT_EQ(64, accept_all(l, 4, 64, count, NULL));
	for (i = 0; i < 4; i++) {
		TH_LOG("listener %d: %d connections", i, count[i]);
		EXPECT_LT(0, count[i]);
	}
	for (i = 0; i < 64; i++)
		close(c[i]);
	for (i = 0; i < 4; i++)
		close(l[i]);
}

/* A second listener without SO_REUSEPORT cannot join: EADDRINUSE. */
TEST_F(conc, reuseport_needs_option)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, fd;

	l = listener(variant->proto, 0, 1, 8);
	ASSERT_LE(0, l);
	len = laddr(estp_local_port(l), &ss);
	fd = estp_socket(variant->proto, fam);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&ss, len));
	EXPECT_EQ(EADDRINUSE, errno);
	close(fd);
	close(l);
}

/*
 * Polls the rows of the family's /proc/net table with local port @lport in
 * @state for WAIT_MS until there are @want: the last count.
 */
static int wait_rows_fam(int proto, int lport, int state, int want)
{
	long end = pkt_now_ms() + WAIT_MS;
	int pfd = open(estp_proc_net(proto, fam), O_RDONLY | O_CLOEXEC), n = -1;
	int lp, rp, st;
	unsigned long ino;
	char *buf, *line, *save;

	if (pfd < 0)
		return -1;
	for (;;) {
		n = 0;
		buf = estp_proc_read(pfd);
		for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save))
			if (!estp_proc_row(line, &lp, &rp, &st, &ino) && lp == lport &&
			    st == state)
				n++;
		if (n == want || pkt_now_ms() >= end)
			break;
		usleep(5000);
	}
	close(pfd);
	return n;
}

/*
 * A member closes with connections in its accept queue: they are reset, as
 * TCP resets them (no net.ipv4.tcp_migrate_req); the other members keep
 * theirs, and new connections go to them only.
 */
TEST_F(conc, reuseport_member_close)
{
	int l[3], count[3], c[48], a[48], i, port, reset = 0, kept = 0;
	char id[48] = { 0 };

	l[0] = listener(variant->proto, 0, 1, 64);
	ASSERT_LE(0, l[0]);
	port = estp_local_port(l[0]);
	for (i = 1; i < 3; i++)
		ASSERT_LE(0, l[i] = listener(variant->proto, port, 1, 64));
	for (i = 0; i < 32; i++) {
		unsigned char b = i;

		ASSERT_LE(0, c[i] = connect_to(variant->proto, port));
		ASSERT_EQ(1, send(c[i], &b, 1, 0));
	}
	/* Every child is in an accept queue once the server side shows 32. */
	ASSERT_EQ(32, wait_rows_fam(variant->proto, port, PEER_ST_ESTABLISHED, 32));
	close(l[0]);
	kept = accept_all(l + 1, 2, 32, count + 1, a);
	TH_LOG("kept by the others: %d", kept);
	EXPECT_LT(0, kept);
	EXPECT_GT(32, kept);
	for (i = 0; i < kept; i++) {
		unsigned char b;
		struct pollfd p = { .fd = a[i], .events = POLLIN };

		ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
		ASSERT_EQ(1, recv(a[i], &b, 1, 0));
		ASSERT_GT(32, b);
		id[b] = 1;
		close(a[i]);
	}
	for (i = 0; i < 32; i++) {
		struct pollfd p = { .fd = c[i], .events = POLLIN };
		char b;
		ssize_t r;

		if (id[i])
			continue;
		/* The connection ends: reset (or, once its error is read, EOF). */
		EXPECT_EQ(1, poll(&p, 1, WAIT_MS));
		r = recv(c[i], &b, 1, MSG_DONTWAIT);
		EXPECT_TRUE(r == 0 || (r == -1 && errno == ECONNRESET))
			TH_LOG("recv %zd errno %d", r, errno);
		EXPECT_EQ(-1, send(c[i], "x", 1, MSG_NOSIGNAL));
		EXPECT_TRUE(errno == EPIPE || errno == ECONNRESET);
		reset++;
	}
	EXPECT_EQ(32, kept + reset);
	/* New connections: all to the two left, none reset. */
	for (i = 32; i < 48; i++)
		ASSERT_LE(0, c[i] = connect_to(variant->proto, port));
	ASSERT_EQ(16, accept_all(l + 1, 2, 16, count + 1, a));
	for (i = 32; i < 48; i++) {
		char b;

		EXPECT_EQ(-1, recv(c[i], &b, 1, MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
	}
	for (i = 0; i < 16; i++)
		close(a[i]);
	for (i = 0; i < 48; i++)
		close(c[i]);
	close(l[1]);
	close(l[2]);
}

/* SO_ATTACH_REUSEPORT_CBPF: a program that answers 1 sends all to member 1. */
TEST_F(conc, reuseport_cbpf)
{
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 1) };
	struct sock_fprog prog = { .len = 1, .filter = code };
	struct sockaddr_storage ss;
	socklen_t len = laddr(0, &ss);
	int l[3], count[3], c[8], i, port;

	l[0] = estp_socket(variant->proto, fam);
	ASSERT_LE(0, l[0]);
	i = 1;
	ASSERT_EQ(0, setsockopt(l[0], SOL_SOCKET, SO_REUSEPORT, &i, sizeof(i)));
	ASSERT_EQ(0, setsockopt(l[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
				sizeof(prog)));
	ASSERT_EQ(0, bind(l[0], (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(l[0], 16));
	port = estp_local_port(l[0]);
	for (i = 1; i < 3; i++)
		ASSERT_LE(0, l[i] = listener(variant->proto, port, 1, 16));
	for (i = 0; i < 8; i++)
		ASSERT_LE(0, c[i] = connect_to(variant->proto, port));
	ASSERT_EQ(8, accept_all(l, 3, 8, count, NULL));
	EXPECT_EQ(0, count[0]);
	EXPECT_EQ(8, count[1]);
	EXPECT_EQ(0, count[2]);
	for (i = 0; i < 8; i++)
		close(c[i]);
	for (i = 0; i < 3; i++)
		close(l[i]);
}

/* An accepted socket inherits SO_BINDTODEVICE and the listener's IP options. */
TEST_F(conc4, child_inherits)
{
	int l, c, a, ttl = 33, tos = 0x28, mark = MARK, prio = 5, val;
	char dev[IFNAMSIZ] = "lo";
	struct sockaddr_in sin = estp_sin4(LADDR, 0);
	socklen_t len;

	l = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev) + 1));
	ASSERT_EQ(0, setsockopt(l, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)));
	ASSERT_EQ(0, setsockopt(l, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)));
	ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)));
	ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio)));
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_LE(0, c = connect_to(variant->proto, estp_local_port(l)));
	ASSERT_LE(0, a = accept(l, NULL, NULL));
	memset(dev, 0, sizeof(dev));
	len = sizeof(dev);
	ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_BINDTODEVICE, dev, &len));
	EXPECT_STREQ("lo", dev);
	EXPECT_EQ(if_nametoindex("lo"), (unsigned int)estp_getsockopt_int(a, SOL_SOCKET,
									  SO_BINDTOIFINDEX));
	EXPECT_EQ(ttl, estp_getsockopt_int(a, IPPROTO_IP, IP_TTL));
	EXPECT_EQ(tos, estp_getsockopt_int(a, IPPROTO_IP, IP_TOS));
	EXPECT_EQ(mark, estp_getsockopt_int(a, SOL_SOCKET, SO_MARK));
	/* sk_clone_lock() starts every child at priority 0. */
	val = estp_getsockopt_int(a, SOL_SOCKET, SO_PRIORITY);
	EXPECT_EQ(0, val);
	EXPECT_EQ(prio, estp_getsockopt_int(l, SOL_SOCKET, SO_PRIORITY));
	close(a);
	close(c);
	close(l);
}

/* Packets lo has sent in prio class 1:3, or -1. */
static long band3_pkts(void)
{
	char line[256];
	long pkts = -1;
	int found = 0;
	FILE *f = popen("tc -s class show dev lo 2>/dev/null", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "class prio 1:3 ", 15)) {
			found = 1;
			continue;
		}
		if (found && sscanf(line, " Sent %*u bytes %ld pkt", &pkts) == 1)
			break;
	}
	pclose(f);
	return pkts;
}

static int band3_setup(void)
{
	return estp_run("tc qdisc add dev lo root handle 1: prio && "
			"tc filter add dev lo parent 1: prio 1 handle 7 fw classid 1:3");
}

/*
 * Sets the IP and socket marks of @fd: IP_TTL @ttl, IP_TOS @tos, and
 * SO_MARK 7 or SO_PRIORITY 1:3 as @by_prio says.  0 or -1.
 */
static int set_marks(int fd, int ttl, int tos, int by_prio)
{
	int mark = MARK, prio = PRIO_BAND3;

	if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) ||
	    setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)))
		return -1;
	if (by_prio)
		return setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
	return setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
}

/* The IP header of a segment a raw socket received. */
struct seen {
	int ttl, tos;
};

static int recv_seg(int raw, int proto, int sport, int dport, uint8_t flags,
		    struct seen *seen)
{
	long end = pkt_now_ms() + WAIT_MS;
	uint8_t buf[1500];
	struct pkt_seg s;

	while (pkt_now_ms() < end) {
		ssize_t n = pkt_recv_buf(raw, proto, sport, dport, end - pkt_now_ms(),
					 buf, sizeof(buf), &s);

		if (n <= 0)
			return -1;
		if ((s.flags & flags) == flags) {
			seen->ttl = buf[8];
			seen->tos = buf[1];
			return 0;
		}
	}
	return -1;
}

/*
 * The SYN-ACK carries the listener's IP_TTL, IP_TOS, SO_MARK and
 * SO_PRIORITY (ip_build_and_send_pkt()).
 */
TEST_F(conc4, synack_marks)
{
	int by_prio, band3 = !band3_setup();

	for (by_prio = 0; by_prio < 2; by_prio++) {
		struct sockaddr_in sin = estp_sin4(LADDR, 0);
		int l, c, a, raw, port;
		struct seen seen;
		long before;

		ASSERT_LE(0, raw = pkt_open(variant->proto, LADDR));
		l = socket(AF_INET, SOCK_STREAM, variant->proto);
		ASSERT_LE(0, l);
		ASSERT_EQ(0, set_marks(l, 33, 0x28, by_prio));
		ASSERT_EQ(0, bind(l, (struct sockaddr *)&sin, sizeof(sin)));
		ASSERT_EQ(0, listen(l, 4));
		port = estp_local_port(l);
		before = band3_pkts();
		ASSERT_LE(0, c = connect_to(variant->proto, port));
		ASSERT_LE(0, a = accept(l, NULL, NULL));
		ASSERT_EQ(0, recv_seg(raw, variant->proto, port, estp_local_port(c),
				      PKT_SYN | PKT_ACK, &seen));
		EXPECT_EQ(33, seen.ttl);
		EXPECT_EQ(0x28, seen.tos);
		if (band3)
			EXPECT_EQ(before + 1, band3_pkts())
				TH_LOG("by %s", by_prio ? "priority" : "mark");
		estp_close_abort(&a);
		estp_close_abort(&c);
		close(l);
		close(raw);
	}
	if (!band3)
		SKIP(return, "no prio qdisc or fw classifier: SO_MARK/SO_PRIORITY unchecked");
}

/*
 * RSTs: one a listener sends for an ACK it has no request for takes the
 * segment's TOS without ECN, the default TTL, and the listener's SO_MARK
 * and SO_PRIORITY (tcp_v4_send_reset() with the listener; the priority
 * only before 6.14, see ESTP_RST_SK_PRIORITY); one for a
 * closed port the same TOS and TTL and no mark; one a socket sends by
 * SO_LINGER 0 all of the socket's own.
 */
TEST_F(conc4, rst_marks)
{
	int newer = estp_kernel_at_least(6, 14), band3 = !band3_setup();
	int by_prio, tos = 0x21, rst_prio = !newer;

	ASSERT_LE(0, newer);
	for (by_prio = 0; by_prio < 2; by_prio++) {
		struct pkt_seg s = { .sport = 1234, .seq = 1000, .ack = 5000,
				     .flags = PKT_ACK, .win = 1000 };
		int l, c, a, raw, port, cport;
		struct seen seen;
		long before;

		ASSERT_LE(0, raw = pkt_open(variant->proto, LADDR));
		ASSERT_EQ(0, setsockopt(raw, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)));
		ASSERT_LE(0, l = listener(variant->proto, 0, 0, 4));
		port = estp_local_port(l);
		ASSERT_EQ(0, set_marks(l, 33, 0x28, by_prio));

		/* A listener's answer to a stray ACK. */
		before = band3_pkts();
		s.dport = port;
		ASSERT_EQ(0, pkt_send(raw, &s, LADDR));
		ASSERT_EQ(0, recv_seg(raw, variant->proto, port, 1234, PKT_RST, &seen));
		EXPECT_EQ(64, seen.ttl);
		EXPECT_EQ(0x20, seen.tos);
		if (band3)
			EXPECT_EQ(before + (by_prio ? rst_prio : 1), band3_pkts())
				TH_LOG("listener, by %s", by_prio ? "priority" : "mark");

		/* A closed port's. */
		before = band3_pkts();
		s.dport = port + 1;
		ASSERT_EQ(0, pkt_send(raw, &s, LADDR));
		ASSERT_EQ(0, recv_seg(raw, variant->proto, port + 1, 1234, PKT_RST, &seen));
		EXPECT_EQ(64, seen.ttl);
		EXPECT_EQ(0x20, seen.tos);
		if (band3)
			EXPECT_EQ(before, band3_pkts());

		/* A socket's own, by SO_LINGER 0. */
		ASSERT_LE(0, c = connect_to(variant->proto, port));
		ASSERT_LE(0, a = accept(l, NULL, NULL));
		cport = estp_local_port(c);
		ASSERT_EQ(0, set_marks(c, 44, 0x48, by_prio));
		before = band3_pkts();
		estp_close_abort(&c);
		ASSERT_EQ(0, recv_seg(raw, variant->proto, cport, port, PKT_RST, &seen));
		EXPECT_EQ(44, seen.ttl);
		EXPECT_EQ(0x48, seen.tos);
		if (band3)
			EXPECT_EQ(before + 1, band3_pkts());
		close(a);
		close(l);
		close(raw);
	}
	if (!band3)
		SKIP(return, "no prio qdisc or fw classifier: SO_MARK/SO_PRIORITY unchecked");
}

/* epoll_wait() on @ep for up to @ms: the events of its one fd, 0 for none. */
static int ep_events(int ep, int ms)
{
	struct epoll_event ev;

	if (epoll_wait(ep, &ev, 1, ms) != 1)
		return 0;
	return (int)ev.events;
}

/*
 * Edge-triggered EPOLLIN comes again for each segment that arrives, read
 * or not; EPOLLRDHUP with the peer's FIN.
 */
TEST_F(conc, epoll_et_in_rdhup)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
	int l, c, a, ep, one = 1, i;

	ASSERT_EQ(0, make_pair(variant->proto, &l, &c, &a));
	ASSERT_EQ(0, setsockopt(c, IPPROTO_TCP, ESTP_NODELAY, &one, sizeof(one)));
	ASSERT_LE(0, ep = epoll_create1(EPOLL_CLOEXEC));
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev));
	EXPECT_EQ(0, ep_events(ep, 0));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, send(c, "x", 1, 0));
		EXPECT_EQ(EPOLLIN, ep_events(ep, WAIT_MS)) TH_LOG("segment %d", i);
		EXPECT_EQ(0, ep_events(ep, 0));
	}
	ASSERT_EQ(0, shutdown(c, SHUT_WR));
	EXPECT_EQ(EPOLLIN | EPOLLRDHUP, ep_events(ep, WAIT_MS));
	close(ep);
	close(a);
	close(c);
	close(l);
}

/* Edge-triggered EPOLLOUT comes when the peer's ACKs free the send buffer. */
TEST_F(conc, epoll_et_out)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	int l, c, a, ep, sndbuf = 16384;
	struct sockaddr_storage ss;
	static char buf[65536];
	socklen_t len;
	ssize_t n;

	ASSERT_LE(0, l = listener(variant->proto, 0, 0, 4));
	c = estp_socket(variant->proto, fam);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	len = laddr(estp_local_port(l), &ss);
	ASSERT_EQ(0, connect(c, (struct sockaddr *)&ss, len));
	ASSERT_LE(0, a = accept(l, NULL, NULL));
	ASSERT_LE(0, ep = epoll_create1(EPOLL_CLOEXEC));
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	EXPECT_EQ(EPOLLOUT, ep_events(ep, WAIT_MS));
	EXPECT_EQ(0, ep_events(ep, 0));
	/* Fill until the send buffer stays full. */
	for (;;) {
		struct pollfd p = { .fd = c, .events = POLLOUT };

		while (send(c, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		ASSERT_EQ(EAGAIN, errno);
		if (poll(&p, 1, QUIET_MS) == 0)
			break;
	}
	/* Drain what the edges so far left. */
	while (ep_events(ep, 0))
		;
	/* The reader takes it all: the ACKs free the buffer, one edge. */
	do {
		n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
	} while (n > 0 || (n < 0 && errno == EINTR));
	EXPECT_EQ(EPOLLOUT, ep_events(ep, WAIT_MS));
	close(ep);
	close(a);
	close(c);
	close(l);
}

struct excl_waiter {
	atomic_int tid;
	int ep;
	int report;	/* pipe: the waiter's index when it wakes */
	int idx;
	int stop;	/* eventfd in ep too: end */
};

static void *excl_wait(void *arg)
{
	struct excl_waiter *w = arg;
	struct epoll_event ev;
	char b = w->idx;

	atomic_store(&w->tid, (int)syscall(SYS_gettid));

	for (;;) {
		if (epoll_wait(w->ep, &ev, 1, -1) != 1)
			continue;
		if (ev.data.fd == w->stop)
			return NULL;
		if (write(w->report, &b, 1) != 1)
			return NULL;
		/* Once woken, the waiter stays out until told to end. */
		epoll_ctl(w->ep, EPOLL_CTL_DEL, ev.data.fd, NULL);
	}
}

/*
 * Waits up to WAIT_MS for the thread whose id *@tid will hold to block in
 * epoll_wait() or epoll_pwait(), per /proc/self/task/TID/syscall: 0 or -1.
 */
static int in_epoll_wait(atomic_int *tid)
{
	long end = pkt_now_ms() + WAIT_MS;

	while (pkt_now_ms() < end) {
		char path[64], line[64] = "";
		FILE *f;
		int nr = -1;

		if (atomic_load(tid)) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/syscall",
				 atomic_load(tid));
			f = fopen(path, "r");
			if (f) {
				if (fgets(line, sizeof(line), f) && sscanf(line, "%d", &nr) != 1)
					nr = -1;
				fclose(f);
			}
			if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait)
				return 0;
		}
		sched_yield();
	}
	return -1;
}

/* EPOLLEXCLUSIVE on a listener: one connection wakes one of two waiters. */
TEST_F(conc, epoll_exclusive_listener)
{
	struct excl_waiter w[2];
	pthread_t t[2];
	int l, c, a, p[2], stop, i;
	struct pollfd pfd;
	char b;

	ASSERT_LE(0, l = listener(variant->proto, 0, 0, 8));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_LE(0, stop = eventfd(0, EFD_CLOEXEC));
	for (i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = l };
		struct epoll_event sev = { .events = EPOLLIN, .data.fd = stop };

		w[i].ep = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_LE(0, w[i].ep);
		ASSERT_EQ(0, epoll_ctl(w[i].ep, EPOLL_CTL_ADD, l, &ev));
		ASSERT_EQ(0, epoll_ctl(w[i].ep, EPOLL_CTL_ADD, stop, &sev));
		atomic_store(&w[i].tid, 0);
		w[i].report = p[1];
		w[i].idx = i;
		w[i].stop = stop;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, excl_wait, &w[i]));
	}
	/* Both are asleep in epoll_wait()... */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, in_epoll_wait(&w[i].tid));
	ASSERT_LE(0, c = connect_to(variant->proto, estp_local_port(l)));
	pfd.fd = p[0];
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, WAIT_MS));
	ASSERT_EQ(1, read(p[0], &b, 1));
	ASSERT_LE(0, a = accept(l, NULL, NULL));
	/* ...and the other one stays asleep. */
	EXPECT_EQ(0, poll(&pfd, 1, QUIET_MS));
	ASSERT_EQ(0, eventfd_write(stop, 1));
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		close(w[i].ep);
	}
	close(stop);
	close(p[0]);
	close(p[1]);
	close(a);
	close(c);
	close(l);
}

/*
 * EINTR and SA_RESTART.  A periodic SIGALRM hits the test thread while it
 * blocks in connect, accept, recv or send; a helper thread (with SIGALRM
 * blocked) makes the call able to finish once the handler has run three
 * times.  Without SA_RESTART the call fails with EINTR; with it, it is
 * restarted, unless a socket timeout (SO_RCVTIMEO/SO_SNDTIMEO) is set,
 * which makes it EINTR again (sock_intr_errno()).  A restarted connect()
 * finds the connection under way and waits on for it (inet_stream_connect()).
 */
static atomic_int alarms;
static int alarm_pipe[2];

static void on_alarm(int sig)
{
	char b = 0;

	(void)sig;
	if (atomic_fetch_add(&alarms, 1) + 1 == 3 && write(alarm_pipe[1], &b, 1) < 0)
		return;
}

enum blocking_op { OP_CONNECT, OP_ACCEPT, OP_RECV, OP_SEND };

struct intr_ctx {
	enum blocking_op op;
	int proto, l, c, a, port;
};

/* The helper: after the third alarm, let the blocked call finish. */
static void *intr_helper(void *arg)
{
	struct intr_ctx *x = arg;
	static char buf[1 << 20];
	char b;

	if (read(alarm_pipe[0], &b, 1) != 1)
		return NULL;
	switch (x->op) {
	case OP_ACCEPT:
		x->c = connect_to(x->proto, x->port);
		break;
	case OP_RECV:
		if (send(x->c, "y", 1, 0) != 1)
			return NULL;
		break;
	case OP_SEND:
		while (recv(x->a, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		break;
	case OP_CONNECT:
		/* The next SYN (1 s on) gets through, to a listener. */
		x->l = listener(x->proto, 9, 0, 4);
		if (estp_run("tc filter del dev lo parent 1: prio 1"))
			return NULL;
		break;
	}
	return NULL;
}

/*
 * Fills @fd's send buffer (the peer not reading) until it stays full: poll()
 * reports POLLOUT only once a third of it is free, while a byte fits as soon
 * as any is, so a quiet poll() is followed by one more try.
 */
static int fill(int fd)
{
	static char buf[65536];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		while (send(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		if (errno != EAGAIN)
			return -1;
		if (poll(&p, 1, QUIET_MS) == 0 && send(fd, buf, 1, MSG_DONTWAIT) < 0)
			return errno == EAGAIN ? 0 : -1;
	}
}

/* Runs @op blocked under alarms; returns its result, errno in *@err. */
static int intr_case(struct __test_metadata *_metadata, int proto, enum blocking_op op,
		     int restart, int timeo)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
	struct itimerval it = { .it_interval = { 0, 100000 }, .it_value = { 0, 100000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct intr_ctx x = { .op = op, .proto = proto, .l = -1, .c = -1, .a = -1 };
	struct timeval tv = { .tv_sec = 30 };
	sigset_t set;
	pthread_t t;
	int ret, err = 0, fd = -1, sndbuf = 16384;
	char b;

	atomic_store(&alarms, 0);
	if (pipe2(alarm_pipe, O_CLOEXEC))
		return -2;
	if (op == OP_CONNECT) {
		/* A SYN nobody answers: lo drops what goes to port 9. */
		struct sockaddr_in sin = estp_sin4(LADDR, 9);

		if (estp_run("tc qdisc replace dev lo root handle 1: prio && "
			     "tc filter add dev lo parent 1: prio 1 protocol ip u32 "
			     "match u8 0x45 0xff at 0 match u16 9 0xffff at 22 action drop"))
			return -2;
		fd = socket(AF_INET, SOCK_STREAM, proto);
		if (timeo)
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		sigemptyset(&set);
		sigaddset(&set, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		pthread_create(&t, NULL, intr_helper, &x);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		err = errno;
		goto out;
	}
	x.l = listener(proto, 0, 0, 4);
	x.port = estp_local_port(x.l);
	if (op != OP_ACCEPT) {
		x.c = estp_socket(proto, fam);
		setsockopt(x.c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		{
			struct sockaddr_storage ss;
			socklen_t len = laddr(x.port, &ss);

			if (connect(x.c, (struct sockaddr *)&ss, len))
				return -2;
		}
		x.a = accept(x.l, NULL, NULL);
		if (op == OP_SEND && fill(x.c))
			return -2;
	}
	fd = op == OP_ACCEPT ? x.l : op == OP_RECV ? x.a : x.c;
	if (timeo)
		setsockopt(fd, SOL_SOCKET, op == OP_SEND ? SO_SNDTIMEO : SO_RCVTIMEO,
			   &tv, sizeof(tv));
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&t, NULL, intr_helper, &x);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	switch (op) {
	case OP_ACCEPT:
		ret = accept(fd, NULL, NULL);
		err = errno;
		if (ret >= 0) {
			close(ret);
			ret = 0;
		}
		break;
	case OP_RECV:
		ret = recv(fd, &b, 1, 0);
		err = errno;
		break;
	default:
		ret = send(fd, "z", 1, 0);
		err = errno;
		break;
	}
out:
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	/* The helper may still wait for its third alarm. */
	if (atomic_load(&alarms) < 3 && write(alarm_pipe[1], "", 1) < 0)
		err = -1;
	pthread_join(t, NULL);
	close(alarm_pipe[0]);
	close(alarm_pipe[1]);
	TH_LOG("op %d restart %d timeo %d: %d errno %d, %d alarms", op, restart, timeo,
	       ret, ret < 0 ? err : 0, atomic_load(&alarms));
	if (x.c >= 0)
		estp_close_abort(&x.c);
	if (x.a >= 0)
		estp_close_abort(&x.a);
	if (x.l >= 0)
		close(x.l);
	if (op == OP_CONNECT)
		close(fd);
	return ret < 0 ? -err : ret;
}

/*
 * Each blocking call three times: without SA_RESTART, with it, and with it
 * and a socket timeout; @want are the results intr_case() must give.
 */
static void intr_cases(struct __test_metadata *_metadata, int proto,
		       enum blocking_op op, const int want[3])
{
	static const struct { int restart, timeo; } mode[3] = {
		{ 0, 0 }, { 1, 0 }, { 1, 1 },
	};
	int i;

	for (i = 0; i < 3; i++)
		EXPECT_EQ(want[i], intr_case(_metadata, proto, op, mode[i].restart,
					     mode[i].timeo));
}

/* The SYN comes through only on its retransmission, 1 or 3 s on. */
TEST_F_TIMEOUT(conc4, eintr_connect, 120)
{
	static const int want[3] = { -EINTR, 0, -EINTR };

	intr_cases(_metadata, variant->proto, OP_CONNECT, want);
}

TEST_F(conc, eintr_accept)
{
	static const int want[3] = { -EINTR, 0, -EINTR };

	intr_cases(_metadata, variant->proto, OP_ACCEPT, want);
}

TEST_F(conc, eintr_recv)
{
	static const int want[3] = { -EINTR, 1, -EINTR };

	intr_cases(_metadata, variant->proto, OP_RECV, want);
}

TEST_F(conc, eintr_send)
{
	static const int want[3] = { -EINTR, 1, -EINTR };

	intr_cases(_metadata, variant->proto, OP_SEND, want);
}

/* Whether @fd has nothing to read and no end of file: 1, or 0. */
static int quiet(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN;
}

/*
 * One socket, several descriptors (dup, fork, SCM_RIGHTS): closing one
 * leaves the connection to the others; shutdown() ends it for all.
 */
TEST_F(conc, shared_descriptors)
{
	int l, c, a, d, sv[2], r;
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	pid_t pid;
	int status;

	ASSERT_EQ(0, make_pair(variant->proto, &l, &c, &a));
	/* dup */
	ASSERT_LE(0, d = dup(c));
	ASSERT_EQ(0, close(c));
	EXPECT_EQ(1, quiet(a));
	ASSERT_EQ(1, send(d, "1", 1, 0));
	ASSERT_EQ(1, recv(a, &b, 1, 0));
	/* fork: the child's copy goes with it */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(d);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(1, quiet(a));
	ASSERT_EQ(1, send(d, "2", 1, 0));
	ASSERT_EQ(1, recv(a, &b, 1, 0));
	/* SCM_RIGHTS */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &d, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &m, 0));
	ASSERT_EQ(0, close(d));
	EXPECT_EQ(1, quiet(a));
	m.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(1, recvmsg(sv[1], &m, 0));
	cm = CMSG_FIRSTHDR(&m);
	ASSERT_NE(NULL, cm);
	memcpy(&r, CMSG_DATA(cm), sizeof(int));
	ASSERT_EQ(1, send(r, "3", 1, 0));
	ASSERT_EQ(1, recv(a, &b, 1, 0));
	EXPECT_EQ('3', b);
	/* shutdown through one descriptor ends it for every holder */
	ASSERT_LE(0, d = dup(r));
	ASSERT_EQ(0, shutdown(d, SHUT_WR));
	EXPECT_EQ(0, recv(a, &b, 1, 0));
	EXPECT_EQ(-1, send(r, "4", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	close(d);
	close(r);
	close(sv[0]);
	close(sv[1]);
	close(a);
	close(l);
}

/* Threads on one socket: four send, two receive, every byte is counted. */
#define TX_THREADS	4
#define TX_BYTES	(256 * 1024)

struct thr {
	int fd;
	int idx;
	long counts[TX_THREADS];
};

static void *tx_thread(void *arg)
{
	struct thr *t = arg;
	unsigned char buf[3000];
	long left = TX_BYTES;

	memset(buf, 'a' + t->idx, sizeof(buf));
	while (left > 0) {
		ssize_t n = send(t->fd, buf, left < (long)sizeof(buf) ? left : (long)sizeof(buf),
				 0);

		if (n <= 0)
			return NULL;
		left -= n;
	}
	return NULL;
}

static void *rx_thread(void *arg)
{
	struct thr *t = arg;
	unsigned char buf[4096];
	ssize_t n, i;

	while ((n = recv(t->fd, buf, sizeof(buf), 0)) > 0)
		for (i = 0; i < n; i++) {
			unsigned int k = buf[i] - 'a';

			if (k < TX_THREADS)
				t->counts[k]++;
			else
				t->counts[0] = -1000000000L;
		}
	return NULL;
}

TEST_F(conc, threads_one_socket)
{
	struct thr tx[TX_THREADS], rx[2];
	pthread_t tt[TX_THREADS], rt[2];
	int l, c, a, i, k;

	ASSERT_EQ(0, make_pair(variant->proto, &l, &c, &a));
	memset(rx, 0, sizeof(rx));
	for (i = 0; i < 2; i++) {
		rx[i].fd = a;
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, rx_thread, &rx[i]));
	}
	for (i = 0; i < TX_THREADS; i++) {
		tx[i].fd = c;
		tx[i].idx = i;
		ASSERT_EQ(0, pthread_create(&tt[i], NULL, tx_thread, &tx[i]));
	}
	for (i = 0; i < TX_THREADS; i++)
		pthread_join(tt[i], NULL);
	ASSERT_EQ(0, shutdown(c, SHUT_WR));
	for (i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	for (k = 0; k < TX_THREADS; k++)
		EXPECT_EQ(TX_BYTES, rx[0].counts[k] + rx[1].counts[k]) TH_LOG("thread %d", k);
	close(a);
	close(c);
	close(l);
}

/*
 * Sequence numbers wrap: a raw peer whose ISN is just below 2^32 sends
 * three segments across the wrap; all 150 bytes reach the reader and the
 * ACKs follow the wrap.  The raw peer's segments carry zeros.
 */
TEST_F(conc4, seq_wrap_raw_peer)
{
	const uint32_t isn = 0xffffffb0;
	struct pkt_seg s, r;
	int l, raw, port, a, i, one = 1;
	uint32_t seq, rack;
	char buf[256];
	ssize_t n;
	long got = 0;

	ASSERT_LE(0, l = listener(variant->proto, 0, 0, 4));
	port = estp_local_port(l);
	ASSERT_LE(0, raw = pkt_open(variant->proto, LADDR));
	/* The stack would reset what comes to the raw peer's port: drop it. */
	ASSERT_EQ(0, estp_run("tc qdisc add dev lo root handle 1: prio && "
			      "tc filter add dev lo parent 1: prio 1 protocol ip u32 "
			      "match u8 0x45 0xff at 0 match u16 4321 0xffff at 20 "
			      "match u8 0x04 0x04 at 33 action drop"));
	memset(&s, 0, sizeof(s));
	s.sport = 4321;
	s.dport = port;
	s.seq = isn;
	s.flags = PKT_SYN;
	s.win = 65535;
	s.mss = 1460;
	ASSERT_EQ(0, pkt_send(raw, &s, LADDR));
	ASSERT_EQ(1, pkt_recv(raw, port, 4321, WAIT_MS, &r));
	ASSERT_EQ(PKT_SYN | PKT_ACK, r.flags);
	ASSERT_EQ(isn + 1, r.ack);
	rack = r.seq + 1;
	seq = isn + 1;
	s.mss = 0;
	s.flags = PKT_ACK;
	s.seq = seq;
	s.ack = rack;
	ASSERT_EQ(0, pkt_send(raw, &s, LADDR));
	ASSERT_LE(0, a = accept(l, NULL, NULL));
	ASSERT_EQ(0, setsockopt(a, IPPROTO_TCP, ESTP_NODELAY, &one, sizeof(one)));
	for (i = 0; i < 3; i++) {
		s.flags = PKT_ACK | PKT_PSH;
		s.seq = seq;
		s.len = PKT_HDR_LEN + 50;
		ASSERT_EQ(0, pkt_send(raw, &s, LADDR));
		seq += 50;
		/* Its ACK, perhaps delayed, acknowledges up to here. */
		do {
			ASSERT_EQ(1, pkt_recv(raw, port, 4321, WAIT_MS, &r));
		} while (!(r.flags & PKT_ACK) || r.ack != seq);
	}
	EXPECT_GT(isn, seq);
	EXPECT_EQ((uint32_t)(isn + 151), seq);
	while (got < 150 && (n = recv(a, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		got += n;
	EXPECT_EQ(150, got);
	/* And data back: its ACK field wraps too. */
	ASSERT_EQ(5, send(a, "hello", 5, 0));
	do {
		ASSERT_EQ(1, pkt_recv(raw, port, 4321, WAIT_MS, &r));
	} while (r.seg_len - r.hdr_len != 5);
	EXPECT_EQ(seq, r.ack);
	EXPECT_EQ(rack, r.seq);
	/* The raw peer acknowledges nothing: no orphan may wait on it. */
	estp_close_abort(&a);
	close(raw);
	close(l);
}

ESTP_HARNESS_MAIN("reuseport_distribution", "epoll_et_in_rdhup", "eintr_recv",
		  "shared_descriptors")
