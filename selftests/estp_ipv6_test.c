// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 and dual stack (issue 13): connect, accept, data and close over
 * ::1; a v6 socket to a v4-mapped peer; a dual-stack listener serving an
 * IPv4 and an IPv6 client at once; IPV6_V6ONLY; a link-local peer with a
 * scope id; flow labels and traffic class on the wire; ICMPv6 errors in
 * SYN_SENT (the seed's v6_err exit); the failed child of a v6 listener
 * (v6_syn_recv_sock); PMTU through a 1280-byte IPv6 link; /proc/net/estp6.
 * TCP is the specification: every TEST_F runs for TCP and ESTP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/in6.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

/* Fixed ports below ip_local_port_range; each test its own. */
#define PORT_BASE	24000

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

FIXTURE(ipv6) {
	int lfd, cfd, afd, lfd4;
};

FIXTURE_VARIANTS_TCP_ESTP(ipv6);

FIXTURE_SETUP(ipv6)
{
	self->lfd = self->cfd = self->afd = self->lfd4 = -1;
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
		strcpy(peer6, p1);
		strcpy(peer4, p2);
		ASSERT_EQ(0, exchange(c6, a1, 20000));
		ASSERT_EQ(0, exchange(c4, a2, 20000));
		ASSERT_EQ(0, exchange(a2, c4, 20000));
	} else {
		strcpy(peer6, p2);
		strcpy(peer4, p1);
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
	snprintf(want_l, sizeof(want_l), "00000000000000000000000001000000:%04X 00000000000000000000000000000000:0000 0A",
		 PORT_BASE + 7);
	snprintf(want_e, sizeof(want_e), "00000000000000000000000001000000:%04X 00000000000000000000000001000000:%04X 01",
		 local_port6(self->cfd), PORT_BASE + 7);
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

TEST_HARNESS_MAIN
