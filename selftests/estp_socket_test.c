// SPDX-License-Identifier: GPL-2.0
/*
 * Socket creation and registration, with estp.ko loaded:
 * socket() for the registered and unregistered (type, protocol) pairs,
 * /proc/net/protocols, and the receive handler's drop counters.  Where TCP
 * defines the behaviour, the test runs for TCP and ESTP as fixture variants,
 * on IPv4, IPv6 and v4-mapped IPv6 unless it is about IPv4 itself (fresh4:
 * IP_TOS, IP_TTL, IP_OPTIONS).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

/* An IP protocol number nothing registers on the test kernels. */
#define UNREGISTERED_PROTO	(IPPROTO_ESTP - 1)

TEST(stream_socket)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
}

/* Types ESTP does not register fail as any unregistered pair does. */
TEST(other_types_unsupported)
{
	/* What the kernel answers for these types when nothing registers them. */
	static const struct { int type, err; } t[] = {
		{ SOCK_DGRAM, EPROTONOSUPPORT },
		{ SOCK_SEQPACKET, ESOCKTNOSUPPORT },
	};
	int i;

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(-1, socket(AF_INET, t[i].type, UNREGISTERED_PROTO));
		EXPECT_EQ(t[i].err, errno) TH_LOG("type %d, unregistered", t[i].type);
		errno = 0;
		EXPECT_EQ(-1, socket(AF_INET, t[i].type, IPPROTO_ESTP));
		EXPECT_EQ(t[i].err, errno) TH_LOG("type %d, ESTP", t[i].type);
	}
}

TEST(proc_protocols)
{
	long size, sockets, before;
	int fd[3], i;

	ASSERT_EQ(0, estp_proto_line("ESTP", &size, &before));
	/* The object holds at least a struct inet_sock, over 700 bytes. */
	EXPECT_LT(700, size);
	for (i = 0; i < 3; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
		ASSERT_LE(0, fd[i]);
	}
	ASSERT_EQ(0, estp_proto_line("ESTP", NULL, &sockets));
	EXPECT_EQ(before + 3, sockets);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	ASSERT_EQ(0, estp_proto_line("ESTP", NULL, &sockets));
	EXPECT_EQ(before, sockets);
	EXPECT_EQ(0, sockets);
}

FIXTURE(fresh)
{
	int fd;
};

FIXTURE_VARIANTS_FAMILIES(fresh);

FIXTURE_SETUP(fresh)
{
	self->fd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->fd) TH_LOG("socket: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fresh)
{
	close(self->fd);
}

/* An IPv4 socket, for what IPv4 alone has (IP_TOS, IP_TTL, IP_OPTIONS). */
FIXTURE(fresh4)
{
	int fd;
};

FIXTURE_VARIANTS_TCP_ESTP(fresh4);

FIXTURE_SETUP(fresh4)
{
	self->fd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(fresh4)
{
	close(self->fd);
}

/* A new, unconnected stream socket polls writable and hung up. */
TEST_F(fresh, poll_events)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN | POLLOUT | POLLRDHUP };

	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT | POLLHUP, pfd.revents);
}

TEST_F(fresh, getsockname_unbound)
{
	struct sockaddr_storage ss, any;
	socklen_t len = sizeof(ss);
	socklen_t alen = estp_sockaddr(variant->fam, "0.0.0.0", 0, &any);

	memset(&ss, 0xa5, sizeof(ss));
	ASSERT_EQ(0, getsockname(self->fd, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(alen, len);
	EXPECT_EQ(estp_fam_domain(variant->fam), ss.ss_family);
	EXPECT_EQ(0, estp_sockaddr_port(&ss));
	EXPECT_TRUE(estp_sockaddr_eq(&any, &ss));
}

TEST_F(fresh, getsockopt_type_protocol)
{
	int val = 0;
	socklen_t len = sizeof(val);

	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_TYPE, &val, &len));
	EXPECT_EQ(SOCK_STREAM, val);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_PROTOCOL, &val, &len));
	EXPECT_EQ(variant->proto, val);
}

/*
 * IP-level options are taken and read back through the protocol, as TCP's
 * are.  What they put in the IP headers on the wire (the TOS and TTL bytes
 * of the client's, the SYN-ACK's and the accepted socket's segments) is
 * checked beside TCP's in estp_wire_test (iphdr.*).
 */
TEST_F(fresh4, ip_tos_roundtrip)
{
	int tos = 0x20, ttl = 33, val = 0;
	socklen_t len = sizeof(val);

	ASSERT_EQ(0, setsockopt(self->fd, SOL_IP, IP_TOS, &tos, sizeof(tos)));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_IP, IP_TOS, &val, &len));
	EXPECT_EQ(tos, val);
	ASSERT_EQ(0, setsockopt(self->fd, SOL_IP, IP_TTL, &ttl, sizeof(ttl)));
	len = sizeof(val);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_IP, IP_TTL, &val, &len));
	EXPECT_EQ(ttl, val);
}

/*
 * Segments to the protocol number reach estp_v4_rcv(), which counts them;
 * malformed headers are dropped and counted (estp_packet_test has the rest).
 */
static void send_raw(struct __test_metadata *_metadata, const void *buf, size_t len)
{
	struct sockaddr_in dst = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ESTP);

	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)));
	close(fd);
}

/*
 * IP options set on a listener are the listener's: its children must not
 * share (and free) them.  Two children accepted, one aborted, the other
 * still sends, then everything closes.  Before each child got its own
 * options pointer, ESTP's children freed the listener's: a use-after-free
 * on the next send and a double free at close (SLUB's debugging stops the
 * kernel in kfree_rcu_work; KASAN reports it).  Review B1.
 */
TEST_F(fresh4, listener_ip_options_not_shared)
{
	static const char nops[] = { IPOPT_NOP, IPOPT_NOP, IPOPT_NOP, IPOPT_END };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	socklen_t len = sizeof(sin);
	int c[2], a[2], i;
	char b = 'x';

	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_IP, IP_OPTIONS, nops, sizeof(nops)));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(self->fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(self->fd, (struct sockaddr *)&sin, &len));
	ASSERT_EQ(0, listen(self->fd, 8));
	for (i = 0; i < 2; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM, variant->proto);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, connect(c[i], (struct sockaddr *)&sin, sizeof(sin)));
		a[i] = accept(self->fd, NULL, NULL);
		ASSERT_LE(0, a[i]);
	}
	ASSERT_EQ(0, setsockopt(a[0], SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)));
	close(a[0]);
	ASSERT_EQ(1, send(a[1], &b, 1, 0));
	b = 0;
	ASSERT_EQ(1, recv(c[1], &b, 1, 0));
	EXPECT_EQ('x', b);
	close(a[1]);
	close(c[0]);
	close(c[1]);
}

/*
 * recvmsg(MSG_ERRQUEUE) reads the error queue, empty here: EAGAIN, and
 * the stream's bytes stay for the next read (tcp_recvmsg() hands it to
 * inet_recv_error()).  Before, ESTP returned, and consumed, stream data
 * (review C8).
 */
TEST_F(fresh, errqueue_is_not_the_stream)
{
	struct pollfd pfd = { .events = POLLIN };
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(variant->fam, 0, &ss);
	char buf[16] = "";
	int c, a;

	ASSERT_EQ(0, bind(self->fd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, getsockname(self->fd, (struct sockaddr *)&ss, &len));
	ASSERT_EQ(0, listen(self->fd, 1));
	c = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, connect(c, (struct sockaddr *)&ss, len));
	a = accept(self->fd, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(5, send(a, "hello", 5, 0));
	pfd.fd = c;
	ASSERT_EQ(1, poll(&pfd, 1, 2000));
	EXPECT_EQ(-1, recv(c, buf, sizeof(buf), MSG_ERRQUEUE | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(5, recv(c, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_STREQ("hello", buf);
	close(a);
	close(c);
}

TEST(rcv_counts_header_errors)
{
	/* Ports 12345 -> 12346, data offset 0: below the 5 words of a header. */
	unsigned char seg[20] = { 0x30, 0x39, 0x30, 0x3a };
	long segs = estp_stat("InSegs");
	long hdr = estp_stat("InHdrErrors");
	long rsts = estp_stat("OutRsts");

	ASSERT_LE(0, segs);
	send_raw(_metadata, seg, sizeof(seg));
	EXPECT_EQ(segs + 1, estp_stat("InSegs"));
	EXPECT_EQ(hdr + 1, estp_stat("InHdrErrors"));
	/* Shorter than a header. */
	send_raw(_metadata, seg, 7);
	EXPECT_EQ(segs + 2, estp_stat("InSegs"));
	EXPECT_EQ(hdr + 2, estp_stat("InHdrErrors"));
	EXPECT_EQ(rsts, estp_stat("OutRsts"));
}

ESTP_HARNESS_MAIN("poll_events", "errqueue_is_not_the_stream")
