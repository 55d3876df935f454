// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 and dual stack (issue 13): connect, accept, data and close over
 * ::1; a v6 socket to a v4-mapped peer; a dual-stack listener serving an
 * IPv4 and an IPv6 client at once; IPV6_V6ONLY; a link-local peer with a
 * scope id; flow labels and traffic class on the wire; ICMPv6 errors in
 * SYN_SENT (the seed's v6_err exit); the failed child of a v6 listener
 * (v6_syn_recv_sock); PMTU through a 1280-byte IPv6 link; /proc/net/estp6;
 * SYN cookies over ::1 and v4-mapped (always, and past the backlog).
 * TCP is the specification: every TEST_F runs for TCP and ESTP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/in6.h>
#include <linux/tcp.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"
#include "estp_auth_cases.h"

/* Fixed ports below ip_local_port_range; each test its own. */
#define PORT_BASE	24000

/* ::1 and :: as /proc/net/tcp6 prints them: four words in host order. */
#define LO6_HEX		"00000000000000000000000001000000"
#define ANY6_HEX	"00000000000000000000000000000000"

/* From <linux/in6.h>, which glibc's <netinet/in.h> may hide. */
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND	33
#endif
#ifndef IPV6_FLOWLABEL_MGR
#define IPV6_FLOWLABEL_MGR	32
#endif

static struct sockaddr_in6 sin6(const char *ip, int port)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	if (inet_pton(AF_INET6, ip, &a.sin6_addr) != 1)
		a.sin6_family = AF_UNSPEC;
	return a;
}

/* A listener of @family on @ip:@port; @v6only: IPV6_V6ONLY's value, or -1. */
static int listen_on(int family, int proto, const char *ip, int port, int v6only)
{
	int fd = socket(family, SOCK_STREAM, proto), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6only >= 0 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto fail;
	if (family == AF_INET6) {
		struct sockaddr_in6 a = sin6(ip, port);

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			goto fail;
	} else {
		struct sockaddr_in a = estp_sin4(ip, port);

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			goto fail;
	}
	if (listen(fd, 16))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* A blocking connect() of an AF_INET6 socket: the fd, or -errno. */
static int connect6(int proto, const char *ip, int port, int scope)
{
	struct sockaddr_in6 a = sin6(ip, port);
	int fd = socket(AF_INET6, SOCK_STREAM, proto), err;

	if (fd < 0)
		return -errno;
	a.sin6_scope_id = scope;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* @len bytes each way between @a and @b, content checked: 0 or -1. */
static int exchange(int a, int b, size_t len)
{
	static unsigned char out[1 << 16], in[1 << 16];
	size_t done = 0;

	if (len > sizeof(out))
		return -1;
	estp_pattern_fill(out, len, 0, 6);
	if (send(a, out, len, 0) != (ssize_t)len)
		return -1;
	while (done < len) {
		ssize_t n = recv(b, in + done, len - done, 0);

		if (n <= 0)
			return -1;
		done += n;
	}
	if (memcmp(in, out, len))
		return -1;
	if (send(b, "pong", 4, 0) != 4 || recv(a, in, 4, MSG_WAITALL) != 4 ||
	    memcmp(in, "pong", 4))
		return -1;
	return 0;
}

/* The local port of an AF_INET6 socket, or -1. */
static int local_port6(int fd)
{
	struct sockaddr_in6 a;
	socklen_t sl = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &sl))
		return -1;
	return ntohs(a.sin6_port);
}

/* The peer address accept() gave, as text. */
static int accept_peer(int lfd, char *buf, size_t len, int *family)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept(lfd, (struct sockaddr *)&ss, &sl);

	if (fd < 0)
		return -1;
	*family = ss.ss_family;
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, len);
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, len);
	return fd;
}

/* The trace instance of this program's tests, or "". */
static char trace_inst[192];

/* Turns estp:estp_done on or off in the instance: 0 or an errno. */
static int trace_done_event(const char *on)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/estp/estp_done/enable", trace_inst);
	return estp_sysctl_set(path, on);
}

/*
 * A fresh tracefs instance with estp:estp_done on, tracefs mounted first
 * if it is not (as estp_trace_test.c reads the events): 0 or -1.
 */
static int trace_start(void)
{
	const char *root = "/sys/kernel/tracing";

	snprintf(trace_inst, sizeof(trace_inst), "%s/instances", root);
	if (access(trace_inst, F_OK) && mount("nodev", root, "tracefs", 0, NULL))
		return trace_inst[0] = '\0', -1;
	snprintf(trace_inst, sizeof(trace_inst), "%s/instances/estp_ipv6_test", root);
	rmdir(trace_inst);
	if (mkdir(trace_inst, 0700))
		return trace_inst[0] = '\0', -1;
	return trace_done_event("1") ? -1 : 0;
}

static void trace_stop(void)
{
	if (!trace_inst[0])
		return;
	trace_done_event("0");
	rmdir(trace_inst);
	trace_inst[0] = '\0';
}

/* Whether, within 5 s, an estp_done line holds both @a and @b. */
static int trace_has(const char *a, const char *b)
{
	static char buf[1 << 18];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char path[256];
	int tries;

	snprintf(path, sizeof(path), "%s/trace", trace_inst);
	for (tries = 0; tries < 250; tries++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = 0, r;
		char *line;

		if (fd < 0)
			return 0;
		while (n < (ssize_t)sizeof(buf) - 1 &&
		       (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += r;
		close(fd);
		buf[n] = '\0';
		for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			if (strstr(line, "estp_done:") && strstr(line, a) && strstr(line, b))
				return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

FIXTURE(ipv6) {
	int lfd, cfd, afd, lfd4;
};

FIXTURE_VARIANTS_TCP_ESTP(ipv6);

FIXTURE_SETUP(ipv6)
{
	self->lfd = -1;
	self->cfd = -1;
	self->afd = -1;
	self->lfd4 = -1;
	ASSERT_EQ(0, estp_netns_private());
}

FIXTURE_TEARDOWN(ipv6)
{
	if (self->afd >= 0)
		close(self->afd);
	if (self->cfd >= 0)
		close(self->cfd);
	if (self->lfd >= 0)
		close(self->lfd);
	if (self->lfd4 >= 0)
		close(self->lfd4);
}

/* ::1 end to end: addresses, data both ways, FIN both ways. */
TEST_F(ipv6, loopback_lifecycle)
{
	struct sockaddr_in6 name;
	socklen_t sl = sizeof(name);
	char peer[INET6_ADDRSTRLEN];
	int fam = 0;
	char c;

	self->lfd = listen_on(AF_INET6, variant->proto, "::1", PORT_BASE + 1, -1);
	ASSERT_LE(0, self->lfd);
	self->cfd = connect6(variant->proto, "::1", PORT_BASE + 1, 0);
	ASSERT_LE(0, self->cfd);
	self->afd = accept_peer(self->lfd, peer, sizeof(peer), &fam);
	ASSERT_LE(0, self->afd);
	EXPECT_EQ(AF_INET6, fam);
	EXPECT_STREQ("::1", peer);
	ASSERT_EQ(0, getsockname(self->cfd, (struct sockaddr *)&name, &sl));
	EXPECT_EQ(AF_INET6, name.sin6_family);
	EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&name.sin6_addr));
	ASSERT_EQ(0, getpeername(self->afd, (struct sockaddr *)&name, &sl));
	EXPECT_EQ(AF_INET6, name.sin6_family);
	EXPECT_EQ(ntohs(name.sin6_port), local_port6(self->cfd));
	ASSERT_EQ(0, exchange(self->cfd, self->afd, 60000));
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	EXPECT_EQ(0, recv(self->afd, &c, 1, 0));
	close(self->afd);
	self->afd = -1;
	EXPECT_EQ(0, recv(self->cfd, &c, 1, 0));
}

/* An AF_INET6 socket to ::ffff:127.0.0.1, served by an IPv4 listener. */
TEST_F(ipv6, v4mapped_connect)
{
	struct sockaddr_in6 name;
	socklen_t sl = sizeof(name);
	char peer[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN];
	int fam = 0;

	self->lfd = listen_on(AF_INET, variant->proto, "127.0.0.1", PORT_BASE + 2, -1);
	ASSERT_LE(0, self->lfd);
	self->cfd = connect6(variant->proto, "::ffff:127.0.0.1", PORT_BASE + 2, 0);
	ASSERT_LE(0, self->cfd);
	self->afd = accept_peer(self->lfd, peer, sizeof(peer), &fam);
	ASSERT_LE(0, self->afd);
	EXPECT_EQ(AF_INET, fam);
	EXPECT_STREQ("127.0.0.1", peer);
	/* The v6 socket names both ends v4-mapped. */
	ASSERT_EQ(0, getsockname(self->cfd, (struct sockaddr *)&name, &sl));
	inet_ntop(AF_INET6, &name.sin6_addr, buf, sizeof(buf));
	EXPECT_STREQ("::ffff:127.0.0.1", buf);
	ASSERT_EQ(0, getpeername(self->cfd, (struct sockaddr *)&name, &sl));
	inet_ntop(AF_INET6, &name.sin6_addr, buf, sizeof(buf));
	EXPECT_STREQ("::ffff:127.0.0.1", buf);
	ASSERT_EQ(0, exchange(self->cfd, self->afd, 30000));
	ASSERT_EQ(0, exchange(self->afd, self->cfd, 30000));
}

/* One listener on :: serves an IPv4 and an IPv6 client at once. */
TEST_F(ipv6, dual_stack_listener)
{
	char peer4[INET6_ADDRSTRLEN], peer6[INET6_ADDRSTRLEN];
	int c4, c6, a1, a2, f1 = 0, f2 = 0;
	char p1[INET6_ADDRSTRLEN], p2[INET6_ADDRSTRLEN];

	self->lfd = listen_on(AF_INET6, variant->proto, "::", PORT_BASE + 3, 0);
	ASSERT_LE(0, self->lfd);
	c4 = estp_connect_to(variant->proto, "127.0.0.1", PORT_BASE + 3);
	ASSERT_LE(0, c4);
	c6 = connect6(variant->proto, "::1", PORT_BASE + 3, 0);
	ASSERT_LE(0, c6);
	a1 = accept_peer(self->lfd, p1, sizeof(p1), &f1);
	a2 = accept_peer(self->lfd, p2, sizeof(p2), &f2);
	ASSERT_LE(0, a1);
	ASSERT_LE(0, a2);
	/* Both children are AF_INET6; the IPv4 client's peer is v4-mapped. */
	EXPECT_EQ(AF_INET6, f1);
	EXPECT_EQ(AF_INET6, f2);
	if (!strcmp(p1, "::1")) {
		snprintf(peer6, sizeof(peer6), "%s", p1);
		snprintf(peer4, sizeof(peer4), "%s", p2);
		ASSERT_EQ(0, exchange(c6, a1, 20000));
		ASSERT_EQ(0, exchange(c4, a2, 20000));
		ASSERT_EQ(0, exchange(a2, c4, 20000));
	} else {
		snprintf(peer6, sizeof(peer6), "%s", p2);
		snprintf(peer4, sizeof(peer4), "%s", p1);
		ASSERT_EQ(0, exchange(c6, a2, 20000));
		ASSERT_EQ(0, exchange(c4, a1, 20000));
		ASSERT_EQ(0, exchange(a1, c4, 20000));
	}
	EXPECT_STREQ("::1", peer6);
	EXPECT_STREQ("::ffff:127.0.0.1", peer4);
	close(c4);
	close(c6);
	close(a1);
	close(a2);
}

/* IPV6_V6ONLY: IPv4 clients are refused; a v4 listener may share the port. */
TEST_F(ipv6, v6only_refuses_v4)
{
	struct sockaddr_in6 mapped = sin6("::ffff:127.0.0.1", PORT_BASE + 4);
	int c, fd, fd4, one = 1;

	self->lfd = listen_on(AF_INET6, variant->proto, "::", PORT_BASE + 4, 1);
	ASSERT_LE(0, self->lfd);
	c = estp_connect_to(variant->proto, "127.0.0.1", PORT_BASE + 4);
	EXPECT_EQ(-1, c);
	EXPECT_EQ(ECONNREFUSED, errno);
	if (c >= 0)
		close(c);
	/* A v4-mapped connect of a V6ONLY socket: ENETUNREACH, as TCP's. */
	fd = socket(AF_INET6, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&mapped, sizeof(mapped)));
	EXPECT_EQ(ENETUNREACH, errno);
	close(fd);
	/* The port's IPv4 side is free: an IPv4 listener binds it. */
	self->lfd4 = listen_on(AF_INET, variant->proto, "0.0.0.0", PORT_BASE + 4, -1);
	EXPECT_LE(0, self->lfd4);
	/* Without V6ONLY, :: holds IPv4's 0.0.0.0 too. */
	fd = listen_on(AF_INET6, variant->proto, "::", PORT_BASE + 5, 0);
	fd4 = listen_on(AF_INET, variant->proto, "0.0.0.0", PORT_BASE + 5, -1);
	EXPECT_LE(0, fd);
	EXPECT_EQ(-1, fd4);
	EXPECT_EQ(EADDRINUSE, errno);
	if (fd >= 0)
		close(fd);
	if (fd4 >= 0)
		close(fd4);
}

/* A refused IPv6 connect: a RST over IPv6, ECONNREFUSED. */
TEST_F(ipv6, refused)
{
	EXPECT_EQ(-ECONNREFUSED, connect6(variant->proto, "::1", PORT_BASE + 6, 0));
}

/*
 * A SYN to an on-link address nobody answers (a veth whose other end
 * lacks it): neighbour discovery fails
 * and ICMPv6 address unreachable comes back to the SYN_SENT socket, which
 * fails with EHOSTUNREACH, as TCP's; for ESTP through the seed's v6_err
 * exit (estp:estp_done reason=v6_err).
 */
TEST_F(ipv6, icmpv6_unreachable_syn_sent)
{
	int tracing = variant->proto == IPPROTO_ESTP && !trace_start();
	int fd;

	if (variant->proto == IPPROTO_ESTP)
		ASSERT_TRUE(tracing);
	/* The peer end has no 2001:db8:6::2: nobody answers the solicitation. */
	ASSERT_EQ(0, estp_run("ip link add estp6d type veth peer name estp6e"));
	ASSERT_EQ(0, estp_run("ip -6 addr add 2001:db8:6::1/64 dev estp6d nodad"));
	ASSERT_EQ(0, estp_run("ip link set estp6e up"));
	ASSERT_EQ(0, estp_run("ip link set estp6d up"));
	/* One solicitation, 100 ms: the failure comes within a second. */
	ASSERT_EQ(0, estp_sysctl_set("/proc/sys/net/ipv6/neigh/estp6d/mcast_solicit", "1"));
	ASSERT_EQ(0, estp_sysctl_set("/proc/sys/net/ipv6/neigh/estp6d/retrans_time_ms", "100"));
	fd = connect6(variant->proto, "2001:db8:6::2", PORT_BASE + 8, 0);
	EXPECT_EQ(-EHOSTUNREACH, fd);
	if (fd >= 0)
		close(fd);
	if (tracing) {
		EXPECT_TRUE(trace_has("reason=v6_err", "state=TCP_SYN_SENT"));
		EXPECT_TRUE(trace_has("family=AF_INET6", "daddrv6=2001:db8:6::2"));
		trace_stop();
	}
}

/*
 * Flow labels and traffic class on the wire, read with a packet socket on
 * lo: the client's IPV6_FLOWINFO_SEND label and IPV6_TCLASS on its
 * segments; with net.ipv6.flowlabel_reflect = 1 the SYN-ACK carries the
 * client's label back, and so do the child's segments on 6.1 and 6.12;
 * 7.x's child sends a label of its own (ESTP_CHILD_REFLECTS_FLOWLABEL).
 */
TEST_F(ipv6, flowlabel_tclass_on_wire)
{
	const unsigned int label = 0xabcde;
	struct in6_flowlabel_req freq;
	struct sockaddr_in6 a = sin6("::1", PORT_BASE + 11);
	struct sockaddr_ll ll;
	int ps, one = 1, tclass = 0x28, cport, fwd = 0, rev = 0, synack = 0;
	int bad_fwd = 0, bad_rev = 0, bad_tc = 0, bad_synack = 0;
	unsigned char pkt[2048];
	char peer[INET6_ADDRSTRLEN];
	int fam;

	ASSERT_EQ(0, estp_sysctl_set("/proc/sys/net/ipv6/flowlabel_reflect", "1"));
	ps = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IPV6));
	ASSERT_LE(0, ps);
	memset(&ll, 0, sizeof(ll));
	ll.sll_family = AF_PACKET;
	ll.sll_protocol = htons(ETH_P_IPV6);
	ll.sll_ifindex = if_nametoindex("lo");
	ASSERT_EQ(0, bind(ps, (struct sockaddr *)&ll, sizeof(ll)));
	self->lfd = listen_on(AF_INET6, variant->proto, "::1", PORT_BASE + 11, -1);
	ASSERT_LE(0, self->lfd);
	self->cfd = socket(AF_INET6, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->cfd);
	memset(&freq, 0, sizeof(freq));
	freq.flr_dst = a.sin6_addr;
	freq.flr_label = htonl(label);
	freq.flr_action = IPV6_FL_A_GET;
	freq.flr_flags = IPV6_FL_F_CREATE;
	freq.flr_share = IPV6_FL_S_EXCL;
	ASSERT_EQ(0, setsockopt(self->cfd, IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, &freq, sizeof(freq)));
	ASSERT_EQ(0, setsockopt(self->cfd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(self->cfd, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass)));
	a.sin6_flowinfo = htonl(label);
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&a, sizeof(a)));
	self->afd = accept_peer(self->lfd, peer, sizeof(peer), &fam);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(0, exchange(self->cfd, self->afd, 2000));
	cport = local_port6(self->cfd);
	for (;;) {
		ssize_t n = recv(ps, pkt, sizeof(pkt), 0);
		unsigned int flow, tc;
		int sport, dport;

		if (n < 0)
			break;
		if (n < 44 || pkt[6] != variant->proto)
			continue;
		flow = (pkt[1] & 0x0f) << 16 | pkt[2] << 8 | pkt[3];
		tc = (pkt[0] & 0x0f) << 4 | pkt[1] >> 4;
		sport = pkt[40] << 8 | pkt[41];
		dport = pkt[42] << 8 | pkt[43];
		if (sport == cport) {
			fwd++;
			bad_fwd += flow != label;
			bad_tc += (tc & ~3U) != (unsigned int)tclass;
		} else if (dport == cport) {
			/* SYN and ACK: the SYN-ACK's flags byte */
			if ((pkt[40 + 13] & 0x12) == 0x12) {
				synack++;
				bad_synack += flow != label;
			} else {
				/* The child's: ACKs and data */
				rev++;
				bad_rev += flow != label;
			}
		}
	}
	close(ps);
	EXPECT_LE(3, fwd);
	EXPECT_LE(1, synack);
	EXPECT_EQ(0, bad_synack);
	EXPECT_EQ(0, bad_fwd);
	EXPECT_EQ(0, bad_tc);
	ASSERT_LE(2, rev);	/* the ACK of the data, and the pong */
	if (estp_kernel_at_least(7, 0)) {
		EXPECT_EQ(rev, bad_rev);
	} else {
		EXPECT_EQ(0, bad_rev);
	}
}

/*
 * A link-local peer needs its scope: connect() without one is EINVAL; with
 * the device's index it connects, and the child is bound to the device,
 * as getpeername()'s sin6_scope_id shows.
 */
TEST_F(ipv6, link_local_scope_id)
{
	struct sockaddr_in6 a = sin6("fe80::b", PORT_BASE + 12), name;
	socklen_t sl = sizeof(name);
	char peer[INET6_ADDRSTRLEN];
	int fam, ifb;

	ASSERT_EQ(0, estp_run("ip link add estp6a type veth peer name estp6b"));
	ASSERT_EQ(0, estp_run("ip -6 addr add fe80::a/64 dev estp6a nodad"));
	ASSERT_EQ(0, estp_run("ip -6 addr add fe80::b/64 dev estp6b nodad"));
	ASSERT_EQ(0, estp_run("ip link set estp6a up"));
	ASSERT_EQ(0, estp_run("ip link set estp6b up"));
	ifb = if_nametoindex("estp6b");
	ASSERT_LT(0, ifb);
	self->lfd = socket(AF_INET6, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->lfd);
	/* bind() to a link-local address needs the scope too. */
	EXPECT_EQ(-1, bind(self->lfd, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EINVAL, errno);
	a.sin6_scope_id = ifb;
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	EXPECT_EQ(-EINVAL, connect6(variant->proto, "fe80::b", PORT_BASE + 12, 0));
	self->cfd = connect6(variant->proto, "fe80::b", PORT_BASE + 12, ifb);
	ASSERT_LE(0, self->cfd);
	self->afd = accept_peer(self->lfd, peer, sizeof(peer), &fam);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(0, getpeername(self->afd, (struct sockaddr *)&name, &sl));
	EXPECT_EQ(ifb, (int)name.sin6_scope_id);
	ASSERT_EQ(0, exchange(self->cfd, self->afd, 20000));
}

/* In the named netns @name (ip netns): 0 or -1. */
static int enter_netns(const char *name)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	return ret;
}

#define PMTU_BYTES	(256 * 1024)

/*
 * Path MTU over IPv6 with data in flight: this netns -- 1500 -- router --
 * 1280 -- server, whose own link says 1500, so the handshake agrees on a
 * 1440-byte MSS.  The first full segments die at the router, whose ICMPv6
 * Packet Too Big makes the sender resend at 1280 (estp_v6_err(),
 * mtu_reduced); every byte arrives intact.  Three netns and their links
 * take a debug guest on a loaded host past the harness's 30 s.
 */
TEST_F_TIMEOUT(ipv6, pmtu_1280_in_flight, 180)
{
	static unsigned char buf[PMTU_BYTES];
	struct linger lin = { .l_onoff = 1, .l_linger = 10 };
	size_t off;
	pid_t pid;
	int status, pfd[2];
	char ok = 0;

	estp_run("ip netns del e6r 2>/dev/null");
	estp_run("ip netns del e6s 2>/dev/null");
	ASSERT_EQ(0, estp_run("ip netns add e6r"));
	ASSERT_EQ(0, estp_run("ip netns add e6s"));
	ASSERT_EQ(0, estp_run("ip link add e6c0 type veth peer name e6r0 netns e6r"));
	ASSERT_EQ(0, estp_run("ip -n e6r link add e6r1 type veth peer name e6s0 netns e6s"));
	ASSERT_EQ(0, estp_run("ip -n e6r link set e6r1 mtu 1280"));
	ASSERT_EQ(0, estp_run("ip -6 addr add 2001:db8:61::1/64 dev e6c0 nodad"));
	ASSERT_EQ(0, estp_run("ip -n e6r -6 addr add 2001:db8:61::2/64 dev e6r0 nodad"));
	ASSERT_EQ(0, estp_run("ip -n e6r -6 addr add 2001:db8:62::1/64 dev e6r1 nodad"));
	ASSERT_EQ(0, estp_run("ip -n e6s -6 addr add 2001:db8:62::2/64 dev e6s0 nodad"));
	ASSERT_EQ(0, estp_run("ip link set e6c0 up"));
	ASSERT_EQ(0, estp_run("ip -n e6r link set e6r0 up"));
	ASSERT_EQ(0, estp_run("ip -n e6r link set e6r1 up"));
	ASSERT_EQ(0, estp_run("ip -n e6r link set lo up"));
	ASSERT_EQ(0, estp_run("ip -n e6s link set e6s0 up"));
	ASSERT_EQ(0, estp_run("ip -n e6s link set lo up"));
	ASSERT_EQ(0, estp_run("ip netns exec e6r sysctl -qw net.ipv6.conf.all.forwarding=1"));
	ASSERT_EQ(0, estp_run("ip -6 route add 2001:db8:62::/64 via 2001:db8:61::2"));
	ASSERT_EQ(0, estp_run("ip -n e6s -6 route add 2001:db8:61::/64 via 2001:db8:62::1"));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int lfd, afd;
		char res = 'n';

		close(pfd[0]);
		if (enter_netns("e6s"))
			_exit(2);
		lfd = listen_on(AF_INET6, variant->proto, "2001:db8:62::2", PORT_BASE + 13, -1);
		if (lfd < 0 || write(pfd[1], "L", 1) != 1)
			_exit(3);
		afd = accept(lfd, NULL, NULL);
		if (afd < 0)
			_exit(4);
		for (off = 0; off < PMTU_BYTES;) {
			ssize_t n = recv(afd, buf + off, PMTU_BYTES - off, 0);

			if (n <= 0)
				_exit(5);
			off += n;
		}
		if (estp_pattern_check(buf, PMTU_BYTES, 0, 13) < 0)
			res = 'y';
		/* Our FIN first: the client's close ends in CLOSED, not an orphan. */
		if (send(afd, &res, 1, 0) != 1 || shutdown(afd, SHUT_WR) ||
		    recv(afd, &res, 1, 0) != 0)
			_exit(6);
		close(afd);
		_exit(0);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &ok, 1));
	close(pfd[0]);
	self->cfd = connect6(variant->proto, "2001:db8:62::2", PORT_BASE + 13, 0);
	ASSERT_LE(0, self->cfd);
	estp_pattern_fill(buf, PMTU_BYTES, 0, 13);
	for (off = 0; off < PMTU_BYTES;) {
		ssize_t n = send(self->cfd, buf + off, PMTU_BYTES - off, 0);

		ASSERT_LT(0, n);
		off += n;
	}
	ok = 0;
	EXPECT_EQ(1, recv(self->cfd, &ok, 1, MSG_WAITALL));
	EXPECT_EQ('y', ok);
	/* The path's MTU, as the socket learnt it. */
	EXPECT_EQ(1280, estp_getsockopt_int(self->cfd, IPPROTO_IPV6, IPV6_MTU));
	/*
	 * The server's FIN, then ours, acknowledged before close() returns
	 * (SO_LINGER): nothing outlives the namespaces deleted below.
	 */
	EXPECT_EQ(0, recv(self->cfd, &ok, 1, 0));
	EXPECT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)));
	close(self->cfd);
	self->cfd = -1;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	estp_run("ip netns del e6r");
	estp_run("ip netns del e6s");
}

/* The socket's lines in /proc/net/tcp6 or /proc/net/estp6: both ends. */
TEST_F(ipv6, proc_net_lines)
{
	const char *path = variant->proto == IPPROTO_TCP ? "/proc/net/tcp6" : "/proc/net/estp6";
	char line[512], want_l[128], want_e[128];
	int found_l = 0, found_e = 0;
	FILE *f;

	self->lfd = listen_on(AF_INET6, variant->proto, "::1", PORT_BASE + 7, -1);
	ASSERT_LE(0, self->lfd);
	self->cfd = connect6(variant->proto, "::1", PORT_BASE + 7, 0);
	ASSERT_LE(0, self->cfd);
	/* ::1 is 00000000000000000000000001000000 in the kernel's word order. */
	snprintf(want_l, sizeof(want_l), "%s:%04X %s:0000 0A", LO6_HEX, PORT_BASE + 7, ANY6_HEX);
	snprintf(want_e, sizeof(want_e), "%s:%04X %s:%04X 01", LO6_HEX,
		 local_port6(self->cfd), LO6_HEX, PORT_BASE + 7);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		found_l |= !!strstr(line, want_l);
		found_e |= !!strstr(line, want_e);
	}
	fclose(f);
	EXPECT_TRUE(found_l);
	EXPECT_TRUE(found_e);
}

/* net.ipv4.tcp_syncookies or net.estp.syncookies of the test's netns. */
static int syncookies_set(int proto, const char *val)
{
	return estp_sysctl_set(proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_syncookies" :
			       "/proc/sys/net/estp/syncookies", val);
}

/*
 * connect() of an AF_INET6 socket that gives up after @ms (a SYN the
 * listener drops would be sent again for minutes): the fd, or -errno.
 */
static int connect6_within(int proto, const char *ip, int port, int ms)
{
	struct sockaddr_in6 a = sin6(ip, port);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, proto), err = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)
		err = errno;
	else if (poll(&p, 1, ms) != 1)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl))
		err = errno;
	if (!err && fcntl(fd, F_SETFL, 0))
		err = errno;
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}

/*
 * One segment of @proto, its IPv6 header written here (IPPROTO_RAW), so
 * that its source may be an address of no interface, with the @optlen
 * bytes of options @opts (a multiple of 4, at most 40): 0 or -1.
 */
static int raw6_send_opts(int proto, const char *src, const char *dst, int sport, int dport,
			  uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *opts,
			  int optlen)
{
	struct sockaddr_in6 to = sin6(dst, 0);
	uint8_t pkt[40 + 60], ph[40];
	int len = 20 + optlen, fd, ret;
	uint32_t sum;

	if (optlen < 0 || optlen > 40 || optlen % 4)
		return -1;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x60;
	pkt_put16(pkt + 4, len);
	pkt[6] = proto;
	pkt[7] = 64;
	if (inet_pton(AF_INET6, src, pkt + 8) != 1 || inet_pton(AF_INET6, dst, pkt + 24) != 1)
		return -1;
	pkt_put16(pkt + 40, sport);
	pkt_put16(pkt + 42, dport);
	pkt_put32(pkt + 44, seq);
	pkt_put32(pkt + 48, ack);
	pkt[52] = len / 4 << 4;
	pkt[53] = flags;
	pkt_put16(pkt + 54, 65535);
	if (optlen)
		memcpy(pkt + 60, opts, optlen);
	/* The pseudo-header: addresses, upper-layer length, next header. */
	memset(ph, 0, sizeof(ph));
	memcpy(ph, pkt + 8, 32);
	pkt_put32(ph + 32, len);
	ph[39] = proto;
	sum = pkt_sum(pkt_sum(0, ph, sizeof(ph)), pkt + 40, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	pkt_put16(pkt + 56, ~sum);
	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -1;
	ret = sendto(fd, pkt, 40 + len, 0, (struct sockaddr *)&to, sizeof(to)) == 40 + len ?
	      0 : -1;
	close(fd);
	return ret;
}

/* As raw6_send_opts(), with an MSS option of @mss or, if 0, none. */
static int raw6_send(int proto, const char *src, const char *dst, int sport, int dport,
		     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t mss)
{
	uint8_t opt[4] = { 2, 4, mss >> 8, mss & 0xff };

	return raw6_send_opts(proto, src, dst, sport, dport, seq, ack, flags, opt,
			      mss ? 4 : 0);
}

/* The requests (SYN_RECV rows) of @proto's IPv6 listener on @lport, or -1. */
static int syn_recv_rows(int proto, int lport)
{
	unsigned int lp, st;
	char line[256];
	int n = 0;
	FILE *f = fopen(ESTP_PROC_NET6(proto), "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*x:%x %*x:%*x %x", &lp, &st) == 2 &&
		    (int)lp == lport && st == ST_SYN_RECV)
			n++;
	fclose(f);
	return n;
}

struct cookie_counts {
	long sent, recvd, failed;
};

static void cookie_counts(int proto, struct cookie_counts *c)
{
	c->sent = estp_counter(proto, "SyncookiesSent");
	c->recvd = estp_counter(proto, "SyncookiesRecv");
	c->failed = estp_counter(proto, "SyncookiesFailed");
}

/*
 * A client of the listener @lfd on @port through @ip, which answers its
 * SYN with a cookie: it connects, the child has the options of the SYN
 * (TCP's client asks for all) and the cookie's MSS, @mss less the
 * timestamps' 12 bytes, and data flows both ways.  One cookie sent and one
 * taken, none failed.
 */
static void cookie_client(struct __test_metadata *_metadata, int proto, int lfd,
			  const char *ip, int port, int mss)
{
	const unsigned int opts = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;
	struct cookie_counts was, now;
	struct tcp_info ci, ai;
	socklen_t len;
	int cfd, afd;

	cookie_counts(proto, &was);
	ASSERT_LE(0, was.sent);
	ASSERT_LE(0, was.recvd);
	ASSERT_LE(0, was.failed);
	cfd = connect6_within(proto, ip, port, 5000);
	ASSERT_LE(0, cfd) TH_LOG("connect to %s: %s", ip, strerror(-cfd));
	afd = accept(lfd, NULL, NULL);
	EXPECT_LE(0, afd);
	if (afd < 0)
		goto out;
	cookie_counts(proto, &now);
	EXPECT_EQ(was.sent + 1, now.sent);
	EXPECT_EQ(was.recvd + 1, now.recvd);
	EXPECT_EQ(was.failed, now.failed);
	/* No request sock was kept: the cookie made the child. */
	EXPECT_EQ(mss - 12, estp_getsockopt_int(afd, IPPROTO_TCP, TCP_MAXSEG));
	len = sizeof(ai);
	memset(&ai, 0, sizeof(ai));
	EXPECT_EQ(0, getsockopt(afd, IPPROTO_TCP, TCP_INFO, &ai, &len));
	len = sizeof(ci);
	memset(&ci, 0, sizeof(ci));
	EXPECT_EQ(0, getsockopt(cfd, IPPROTO_TCP, TCP_INFO, &ci, &len));
	EXPECT_EQ(opts, ai.tcpi_options & opts);
	EXPECT_EQ(opts, ci.tcpi_options & opts);
	/* The scale the client sent came back in the cookie's TSecr. */
	EXPECT_EQ((int)ci.tcpi_rcv_wscale, (int)ai.tcpi_snd_wscale);
	EXPECT_EQ((int)ai.tcpi_rcv_wscale, (int)ci.tcpi_snd_wscale);
	EXPECT_NE(0, (int)ai.tcpi_snd_wscale);
	EXPECT_EQ(0, exchange(cfd, afd, 30000));
	EXPECT_EQ(0, exchange(afd, cfd, 30000));
	close(afd);
out:
	close(cfd);
}

/*
 * syncookies = 2: a dual-stack listener answers every SYN with a cookie,
 * an IPv6 one (TCP's IPv6 MSS table: 8940 of lo's 65476) over ::1 and an
 * IPv4 one (1460 of 65495) to a v4-mapped client; the children have the
 * SYN's options.  A final ACK with a bad cookie is counted and reset.
 */
TEST_F(ipv6, syncookies_always)
{
	int proto = variant->proto, port = PORT_BASE + 40;
	struct cookie_counts was, now;
	long rsts, n;
	int i;

	ASSERT_EQ(0, syncookies_set(proto, "2"));
	self->lfd = listen_on(AF_INET6, proto, "::", port, 0);
	ASSERT_LE(0, self->lfd);
	cookie_client(_metadata, proto, self->lfd, "::1", port, 8940);
	cookie_client(_metadata, proto, self->lfd, "::ffff:127.0.0.1", port, 1460);

	/* An ACK from ::1 that no SYN-ACK asked for: a bad cookie, a RST. */
	cookie_counts(proto, &was);
	rsts = estp_counter(proto, "OutRsts");
	n = rsts;
	ASSERT_EQ(0, raw6_send(proto, "::1", "::1", 41000, port, 1000, 0x12345678,
			       0x10, 0));
	now = was;
	for (i = 0; i < 100 && (now.failed == was.failed || n == rsts); i++) {
		usleep(20000);
		cookie_counts(proto, &now);
		n = estp_counter(proto, "OutRsts");
	}
	EXPECT_EQ(was.failed + 1, now.failed);
	EXPECT_EQ(was.recvd, now.recvd);
	EXPECT_EQ(was.sent, now.sent);
	EXPECT_EQ(rsts + 1, n);
	EXPECT_EQ(-1, estp_proc_state(proto, port, 41000));
}

/*
 * syncookies = 1: cookies once the requests outnumber the backlog.  Two
 * SYNs from 2001:db8::2, which no one answers (their SYN-ACKs go out lo
 * and die unforwarded), fill a backlog of 1; the clients that come next,
 * over ::1 and v4-mapped, get cookies and connect.
 */
TEST_F(ipv6, syncookies_backlog_overflow)
{
	int proto = variant->proto, port = PORT_BASE + 41, n = -1, i;

	ASSERT_EQ(0, syncookies_set(proto, "1"));
	ASSERT_EQ(0, estp_run("ip -6 route add 2001:db8::/64 dev lo"));
	self->lfd = listen_on(AF_INET6, proto, "::", port, 0);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, listen(self->lfd, 1));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, raw6_send(proto, "2001:db8::2", "::1", 42000 + i, port,
				       1000 + i, 0, 0x02, 1440));
	for (i = 0; i < 100 && n != 2; i++) {
		n = syn_recv_rows(proto, port);
		if (n != 2)
			usleep(20000);
	}
	ASSERT_EQ(2, n);
	EXPECT_EQ(0, estp_counter(proto, "SyncookiesSent"));
	cookie_client(_metadata, proto, self->lfd, "::1", port, 8940);
	cookie_client(_metadata, proto, self->lfd, "::ffff:127.0.0.1", port, 1460);
	EXPECT_EQ(2, syn_recv_rows(proto, port));
}

/*
 * @c's SYN, from 2001:db8::2 (its SYN-ACK dies unforwarded, so an answered
 * SYN leaves its request in SYN_RECV), to @proto's listener on ::1 @port:
 * 1 if it was answered, 0 if dropped, -1 on error; @d gets the counters'
 * growth.  A plain SYN follows it from @sport + 1: the caller runs on one
 * CPU, so lo's backlog is one queue, and once that SYN has its request the
 * one before it has been handled.
 */
static int auth6_syn(int proto, int port, int sport, const struct auth_case *c, long *d)
{
	long before[AUTH_NCOUNTERS];
	int rows, i, st = -1;

	auth_counts(proto, before, NULL);
	rows = syn_recv_rows(proto, port);
	if (rows < 0 ||
	    raw6_send_opts(proto, "2001:db8::2", "::1", sport, port, 1000, 0, 0x02,
			   c->opts, c->optlen) ||
	    raw6_send_opts(proto, "2001:db8::2", "::1", sport + 1, port, 1000, 0, 0x02,
			   NULL, 0))
		return -1;
	for (i = 0; i < 250 && st != ST_SYN_RECV; i++) {
		st = estp_proc_state(proto, port, sport + 1);
		if (st != ST_SYN_RECV)
			usleep(20000);
	}
	if (st != ST_SYN_RECV)
		return -1;
	auth_counts(proto, d, before);
	return syn_recv_rows(proto, port) - rows - 1;
}

/*
 * estp_packet_test's auth_options_as_tcp over IPv6: a signature option
 * TCP's tcp_v6_rcv() drops at a listener with no key, ESTP drops too, and
 * counts it as TCP does (estp_auth_cases.h).
 */
TEST(auth_options_as_tcp)
{
	long dt[AUTH_NCOUNTERS], de[AUTH_NCOUNTERS];
	int lt, le, at, ae, port = PORT_BASE + 42;
	cpu_set_t all, one;
	size_t i, j;

	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, estp_run("ip -6 route add 2001:db8::/64 dev lo"));
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	lt = listen_on(AF_INET6, IPPROTO_TCP, "::", port, 0);
	le = listen_on(AF_INET6, IPPROTO_ESTP, "::", port, 0);
	ASSERT_LE(0, lt);
	ASSERT_LE(0, le);
	for (i = 0; i < ARRAY_SIZE(auth_cases); i++) {
		at = auth6_syn(IPPROTO_TCP, port, 43000 + 2 * i, &auth_cases[i], dt);
		ae = auth6_syn(IPPROTO_ESTP, port, 43000 + 2 * i, &auth_cases[i], de);
		ASSERT_LE(0, at) TH_LOG("%s: TCP's control SYN got no request",
					auth_cases[i].what);
		ASSERT_LE(0, ae) TH_LOG("%s: ESTP's control SYN got no request",
					auth_cases[i].what);
		TH_LOG("%s: TCP %s, ESTP %s", auth_cases[i].what,
		       at ? "answers" : "drops", ae ? "answers" : "drops");
		EXPECT_EQ(at, ae) TH_LOG("%s", auth_cases[i].what);
		for (j = 0; j < AUTH_NCOUNTERS; j++) {
			EXPECT_EQ(dt[j], de[j]) TH_LOG("%s: %s", auth_cases[i].what,
						       auth_counters[j]);
		}
	}
	/* A well-formed option of no known kind is answered everywhere. */
	EXPECT_EQ(1, at);
	close(lt);
	close(le);
	sched_setaffinity(0, sizeof(all), &all);
}

/*
 * A dual-stack listener on :: whose next child cannot take its place in
 * the established hash (fault point "syn_recv_sock"), for a client of
 * @family: the estp:estp_done line of its exit holds @reason.
 */
static int syn_recv_sock_exit(int family, int port, const char *reason)
{
	struct sockaddr_in6 a6 = sin6("::1", port);
	struct sockaddr_in a4 = estp_sin4("127.0.0.1", port);
	int lfd, cfd, ret = -1;

	if (estp_netns_private() || trace_start())
		return -1;
	lfd = listen_on(AF_INET6, IPPROTO_ESTP, "::", port, 0);
	cfd = socket(family, SOCK_STREAM, IPPROTO_ESTP);
	if (lfd >= 0 && cfd >= 0 && !estp_fault_arm("syn_recv_sock") &&
	    !connect(cfd, family == AF_INET6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
		     family == AF_INET6 ? sizeof(a6) : sizeof(a4)) &&
	    trace_has(reason, "state=TCP_SYN_RECV") && trace_has(reason, "family=AF_INET6"))
		ret = 0;
	trace_stop();
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return ret;
}

/*
 * The seed's eleventh exit: a v6 listener's child that cannot be hashed
 * dies through estp_v6_syn_recv_sock (reason=v6_syn_recv_sock).  ESTP
 * only: TCP has no fault point to provoke it.
 */
TEST(estp_v6_syn_recv_sock_exit)
{
	ASSERT_EQ(0, syn_recv_sock_exit(AF_INET6, PORT_BASE + 9, "reason=v6_syn_recv_sock"));
}

/*
 * The same for an IPv4 client of the dual-stack listener: the mapped
 * child (an AF_INET6 sock) goes through IPv4's exit, as TCP's through
 * tcp_v4_syn_recv_sock().
 */
TEST(estp_v4mapped_syn_recv_sock_exit)
{
	ASSERT_EQ(0, syn_recv_sock_exit(AF_INET, PORT_BASE + 10, "reason=syn_recv_sock"));
}

TEST_HARNESS_MAIN
